//! Admin endpoints of Ferrodon's own (Mastodon has no equivalent).

use axum::Json;
use axum::extract::State;
use ferrodon_model::{Role, scope};
use serde_json::Value;

use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};

/// `GET /api/v1/admin/jobs`: the job queues' figures (admins only, `admin:read`).
pub async fn jobs(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("admin:read")])?;
    if user.role != Role::Admin {
        return Err(ApiError::Service(
            ferrodon_service::ServiceError::not_allowed(),
        ));
    }
    let stats = state
        .services
        .jobs()
        .stats(ferrodon_storage::now())
        .await
        .map_err(|e| ApiError::Service(e.into()))?;
    Ok(Json(serde_json::to_value(stats).unwrap_or_default()))
}

#[derive(Debug, serde::Deserialize)]
pub struct DeliveriesParams {
    #[serde(default, deserialize_with = "crate::params::de::opt_id")]
    status_id: Option<i64>,
}

/// `GET /api/v1/admin/federation/deliveries?status_id=ID`: what was
/// delivered of a status's activities, per inbox (staff, `admin:read`).
pub async fn deliveries(
    State(state): State<AppState>,
    auth: Auth,
    crate::params::Params(p): crate::params::Params<DeliveriesParams>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("admin:read")])?;
    if !matches!(user.role, Role::Admin | Role::Moderator) {
        return Err(ApiError::Service(
            ferrodon_service::ServiceError::not_allowed(),
        ));
    }
    let status_id = p.status_id.ok_or_else(|| {
        ApiError::BadRequest("param is missing or the value is empty: status_id".into())
    })?;
    let list = state
        .services
        .deliveries_of(ferrodon_model::StatusId(status_id))
        .await?;
    Ok(Json(Value::Array(
        list.iter()
            .map(|d| {
                serde_json::json!({
                    "inbox": d.inbox_url,
                    "host": d.host,
                    "state": d.state,
                    "attempts": d.attempts,
                    "last_error": d.last_error,
                    "updated_at": d.updated_at.to_rfc3339(),
                })
            })
            .collect(),
    )))
}
