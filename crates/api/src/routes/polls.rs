//! `/api/v1/polls`.

use axum::Json;
use axum::extract::{Path, State};
use ferrodon_model::scope;
use serde::Deserialize;
use serde_json::Value;

use super::path_id;
use crate::AppState;
use crate::auth::Auth;
use crate::entities;
use crate::error::{ApiError, ApiResult};
use crate::params::{Params, de};

/// `GET /api/v1/polls/:id`.
pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let viewer = auth
        .viewer(&[scope!("read:statuses")])?
        .map(|u| u.account_id);
    let view = state.services.poll(viewer, path_id(&id)?).await?;
    Ok(Json(entities::poll(state.services.instance(), &view)))
}

#[derive(Debug, Deserialize)]
pub struct VoteParams {
    #[serde(default, deserialize_with = "de::string_list")]
    choices: Vec<String>,
}

/// `POST /api/v1/polls/:id/votes`.
pub async fn vote(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
    Params(p): Params<VoteParams>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:statuses")])?;
    let poll_id: i64 = path_id(&id)?;
    if p.choices.is_empty() {
        return Err(ApiError::BadRequest(
            "param is missing or the value is empty: choices".into(),
        ));
    }
    let view = state
        .services
        .vote(user.account_id, poll_id, &p.choices)
        .await?;
    Ok(Json(entities::poll(state.services.instance(), &view)))
}
