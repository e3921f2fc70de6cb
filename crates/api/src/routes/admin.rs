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
