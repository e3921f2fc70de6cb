//! `/api/v1/conversations`: direct-message conversations.

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::response::Response;
use ferrodon_model::scope;
use ferrodon_service::Instance;
use ferrodon_service::conversations::ConversationView;
use serde_json::{Value, json};

use super::{Paging, link_header, path_id, with_link};
use crate::AppState;
use crate::auth::Auth;
use crate::entities;
use crate::error::ApiResult;
use crate::params::Params;

fn conversation(i: &Instance, c: &ConversationView) -> Value {
    json!({
        "id": c.id.to_string(),
        "unread": c.unread,
        "accounts": c.accounts.iter().map(|a| entities::account(i, a)).collect::<Vec<_>>(),
        "last_status": c.last_status.as_ref().map(|s| entities::status(i, s)),
    })
}

/// `GET /api/v1/conversations` (limit 20, at most 40; `Link` by the last status id).
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
        .conversations(user.account_id, &bounds)
        .await?;
    let i = state.services.instance();
    let body = Value::Array(page.items.iter().map(|c| conversation(i, c)).collect());
    let next = page
        .next_max_id
        .filter(|_| page.items.len() == bounds.limit as usize);
    let link = link_header(
        &i.base_url,
        &uri,
        &["limit"],
        next,
        page.prev_min_id.map(|p| ("min_id", p)),
    );
    Ok(with_link(body, link))
}

/// `POST /api/v1/conversations/:id/read`.
pub async fn read(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:conversations")])?;
    let c = state
        .services
        .read_conversation(user.account_id, path_id(&id)?)
        .await?;
    Ok(Json(conversation(state.services.instance(), &c)))
}

/// `DELETE /api/v1/conversations/:id`: answers `{}`.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:conversations")])?;
    state
        .services
        .delete_conversation(user.account_id, path_id(&id)?)
        .await?;
    Ok(Json(json!({})))
}
