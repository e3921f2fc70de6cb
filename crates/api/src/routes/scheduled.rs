//! `/api/v1/scheduled_statuses` (scheduling itself is `POST /api/v1/statuses`
//! with `scheduled_at`).

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::response::Response;
use chrono::{DateTime, NaiveDateTime, Utc};
use ferrodon_model::scope;
use ferrodon_service::scheduled::ScheduledView;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Paging, list_page, path_id};
use crate::AppState;
use crate::auth::Auth;
use crate::entities::time;
use crate::error::{ApiError, ApiResult};
use crate::params::{Params, de};

/// An ISO 8601 time as clients send `scheduled_at` (with an offset, or UTC without one).
pub fn parse_time(raw: &str) -> ApiResult<DateTime<Utc>> {
    let raw = raw.trim();
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f").map(|t| t.and_utc())
        })
        .map_err(|_| ApiError::Unprocessable("Validation failed: Scheduled at is invalid".into()))
}

/// A ScheduledStatus entity.
pub fn scheduled_status(v: &ScheduledView) -> Value {
    let p = &v.params;
    json!({
        "id": v.scheduled.id.to_string(),
        "scheduled_at": time(v.scheduled.scheduled_at),
        "params": {
            "text": p.text,
            "spoiler_text": p.spoiler_text,
            "sensitive": p.sensitive,
            "visibility": p.visibility,
            "in_reply_to_id": p.in_reply_to_id,
            "language": p.language,
            "application_id": p.application_id,
            "poll": p.poll.as_ref().map(|poll| json!({
                "options": poll.options,
                "expires_in": poll.expires_in,
                "multiple": poll.multiple,
                "hide_totals": poll.hide_totals,
            })),
            "media_ids": null,
            "scheduled_at": null,
            "idempotency": p.idempotency,
            "with_rate_limit": false,
            "quoted_status_id": p.quoted_status_id.map(|id| id.to_string()),
            "quote_approval_policy": p.quote_approval_policy,
        },
        "media_attachments": [],
    })
}

/// `GET /api/v1/scheduled_statuses`: 20 by default, at most 40.
pub async fn index(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    auth: Auth,
    Params(p): Params<Paging>,
) -> ApiResult<Response> {
    let user = auth.user(&[scope!("read:statuses")])?;
    let bounds = p.bounds(20, 40);
    let page = state
        .services
        .scheduled_statuses(user.account_id, &bounds)
        .await?;
    let base = state.services.instance().base_url.clone();
    Ok(list_page(&base, &uri, &page, &bounds, scheduled_status))
}

/// `GET /api/v1/scheduled_statuses/:id`.
pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("read:statuses")])?;
    let v = state
        .services
        .scheduled_status(user.account_id, path_id(&id)?)
        .await?;
    Ok(Json(scheduled_status(&v)))
}

#[derive(Debug, Deserialize)]
pub struct UpdateParams {
    #[serde(default, deserialize_with = "de::opt_string")]
    scheduled_at: Option<String>,
}

/// `PUT /api/v1/scheduled_statuses/:id`: a new `scheduled_at`.
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
    Params(p): Params<UpdateParams>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:statuses")])?;
    let at = match p.scheduled_at.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(raw) => Some(parse_time(raw)?),
        None => None,
    };
    let v = state
        .services
        .reschedule(user.account_id, path_id(&id)?, at)
        .await?;
    Ok(Json(scheduled_status(&v)))
}

/// `DELETE /api/v1/scheduled_statuses/:id`: answers `{}`.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:statuses")])?;
    state
        .services
        .cancel_scheduled(user.account_id, path_id(&id)?)
        .await?;
    Ok(Json(json!({})))
}
