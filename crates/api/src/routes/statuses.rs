//! `/api/v1/statuses`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use ferrodon_model::{StatusId, scope};
use ferrodon_service::statuses::NewPost;
use serde::Deserialize;
use serde_json::{Value, json};

use super::path_id;
use crate::AppState;
use crate::auth::Auth;
use crate::entities;
use crate::error::{ApiError, ApiResult};
use crate::params::{Params, de};

#[derive(Debug, Deserialize)]
pub struct CreateStatus {
    #[serde(default, deserialize_with = "de::opt_string")]
    status: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    spoiler_text: Option<String>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    sensitive: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_string")]
    visibility: Option<String>,
    #[serde(default, deserialize_with = "de::opt_id")]
    in_reply_to_id: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_string")]
    language: Option<String>,
    #[serde(default, deserialize_with = "de::string_list")]
    media_ids: Vec<String>,
    #[serde(default)]
    poll: Option<Value>,
    #[serde(default, deserialize_with = "de::opt_string")]
    scheduled_at: Option<String>,
}

/// `POST /api/v1/statuses`.
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Params(p): Params<CreateStatus>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:statuses")])?;
    // Not silently dropped: posting without them would publish something else.
    if !p.media_ids.is_empty() {
        return Err(ApiError::Unprocessable(
            "Media attachments are not supported yet".into(),
        ));
    }
    if p.poll.as_ref().is_some_and(|v| !v.is_null()) {
        return Err(ApiError::Unprocessable(
            "Polls are not supported yet".into(),
        ));
    }
    if p.scheduled_at.as_deref().is_some_and(|s| !s.is_empty()) {
        return Err(ApiError::Unprocessable(
            "Scheduled statuses are not supported yet".into(),
        ));
    }
    let principal = auth.token(&[])?;
    let view = state
        .services
        .post(
            user.account_id,
            NewPost {
                text: p.status,
                spoiler_text: p.spoiler_text,
                sensitive: p.sensitive,
                visibility: p.visibility,
                in_reply_to_id: p.in_reply_to_id.map(StatusId),
                language: p.language,
                idempotency_key: headers
                    .get("idempotency-key")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
                application: Some(principal.app_id),
            },
        )
        .await?;
    Ok(Json(entities::status(state.services.instance(), &view)))
}

/// `GET /api/v1/statuses/:id`.
pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let viewer = auth
        .viewer(&[scope!("read:statuses")])?
        .map(|u| u.account_id);
    let view = state.services.status(viewer, path_id(&id)?).await?;
    Ok(Json(entities::status(state.services.instance(), &view)))
}

/// `DELETE /api/v1/statuses/:id`.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:statuses")])?;
    let view = state
        .services
        .delete_status(user.account_id, path_id(&id)?)
        .await?;
    Ok(Json(entities::status(state.services.instance(), &view)))
}

/// `GET /api/v1/statuses/:id/context`.
pub async fn context(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let viewer = auth
        .viewer(&[scope!("read:statuses")])?
        .map(|u| u.account_id);
    let (ancestors, descendants) = state.services.context(viewer, path_id(&id)?).await?;
    let i = state.services.instance();
    Ok(Json(json!({
        "ancestors": ancestors.iter().map(|v| entities::status(i, v)).collect::<Vec<_>>(),
        "descendants": descendants.iter().map(|v| entities::status(i, v)).collect::<Vec<_>>(),
    })))
}

pub async fn favourite(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:favourites")])?;
    let view = state
        .services
        .favourite(user.account_id, path_id(&id)?)
        .await?;
    Ok(Json(entities::status(state.services.instance(), &view)))
}

pub async fn unfavourite(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:favourites")])?;
    let view = state
        .services
        .unfavourite(user.account_id, path_id(&id)?)
        .await?;
    Ok(Json(entities::status(state.services.instance(), &view)))
}

#[derive(Debug, Deserialize)]
pub struct ReblogParams {
    #[serde(default, deserialize_with = "de::opt_string")]
    visibility: Option<String>,
}

pub async fn reblog(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
    Params(p): Params<ReblogParams>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:statuses")])?;
    let view = state
        .services
        .reblog(user.account_id, path_id(&id)?, p.visibility)
        .await?;
    Ok(Json(entities::status(state.services.instance(), &view)))
}

pub async fn unreblog(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:statuses")])?;
    let view = state
        .services
        .unreblog(user.account_id, path_id(&id)?)
        .await?;
    Ok(Json(entities::status(state.services.instance(), &view)))
}
