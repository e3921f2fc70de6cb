//! Lists: `/api/v1/lists` (CRUD and members), `/api/v1/accounts/:id/lists`
//! and `/api/v1/timelines/list/:list_id`.

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::response::Response;
use ferrodon_model::{AccountId, scope};
use ferrodon_service::lists::ListInput;
use ferrodon_storage::lists::List;
use serde::Deserialize;
use serde_json::{Value, json};

use super::timelines::statuses_page;
use super::{Paging, list_page, path_id, with_link};
use crate::AppState;
use crate::auth::Auth;
use crate::entities;
use crate::error::{ApiError, ApiResult};
use crate::params::{Params, de};

/// Mastodon's List entity.
fn list(l: &List) -> Value {
    json!({
        "id": l.id.to_string(),
        "title": l.title,
        "replies_policy": l.replies_policy().as_str(),
        "exclusive": l.exclusive,
    })
}

#[derive(Debug, Deserialize)]
pub struct ListParams {
    #[serde(default, deserialize_with = "de::opt_string")]
    title: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    replies_policy: Option<String>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    exclusive: Option<bool>,
}

impl ListParams {
    fn input(self) -> ListInput {
        ListInput {
            title: self.title,
            replies_policy: self.replies_policy,
            exclusive: self.exclusive,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct AccountIdsParams {
    #[serde(default, deserialize_with = "de::string_list")]
    account_ids: Vec<String>,
}

impl AccountIdsParams {
    /// The ids; anything but a positive number is an unknown account (404).
    fn ids(&self) -> Result<Vec<AccountId>, ApiError> {
        self.account_ids.iter().map(|raw| path_id(raw)).collect()
    }
}

/// `GET /api/v1/lists`.
pub async fn index(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("read:lists")])?;
    let lists = state.services.lists(user.account_id).await?;
    Ok(Json(Value::Array(lists.iter().map(list).collect())))
}

/// `GET /api/v1/lists/:id`.
pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("read:lists")])?;
    let found = state.services.list(user.account_id, path_id(&id)?).await?;
    Ok(Json(list(&found)))
}

/// `POST /api/v1/lists`.
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    Params(p): Params<ListParams>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:lists")])?;
    let created = state
        .services
        .create_list(user.account_id, p.input())
        .await?;
    Ok(Json(list(&created)))
}

/// `PUT /api/v1/lists/:id` (and `PATCH`).
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
    Params(p): Params<ListParams>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:lists")])?;
    let updated = state
        .services
        .update_list(user.account_id, path_id(&id)?, p.input())
        .await?;
    Ok(Json(list(&updated)))
}

/// `DELETE /api/v1/lists/:id`: answers `{}`.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:lists")])?;
    state
        .services
        .delete_list(user.account_id, path_id(&id)?)
        .await?;
    Ok(Json(json!({})))
}

/// `GET /api/v1/lists/:id/accounts`: limit 40 by default, at most 80;
/// `limit=0` gives every member without `Link` header, as Mastodon.
pub async fn accounts(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
    auth: Auth,
    Params(p): Params<Paging>,
) -> ApiResult<Response> {
    let user = auth.user(&[scope!("read:lists")])?;
    let id = path_id(&id)?;
    let i = state.services.instance();
    if p.limit == Some(0) {
        let page = state
            .services
            .list_members(user.account_id, id, None)
            .await?;
        let body = Value::Array(
            page.items
                .iter()
                .map(|a| serde_json::to_value(entities::account(i, a)).unwrap_or_default())
                .collect(),
        );
        return Ok(with_link(body, None));
    }
    let bounds = p.bounds(40, 80);
    let page = state
        .services
        .list_members(user.account_id, id, Some(&bounds))
        .await?;
    Ok(list_page(&i.base_url, &uri, &page, &bounds, |a| {
        serde_json::to_value(entities::account(i, a)).unwrap_or_default()
    }))
}

/// `POST /api/v1/lists/:id/accounts` with `account_ids[]`: answers `{}`.
pub async fn add_accounts(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
    Params(p): Params<AccountIdsParams>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:lists")])?;
    let id = path_id(&id)?;
    let accounts = p.ids()?;
    state
        .services
        .add_to_list(user.account_id, id, &accounts)
        .await?;
    Ok(Json(json!({})))
}

/// `DELETE /api/v1/lists/:id/accounts` with `account_ids[]` (query or body): answers `{}`.
pub async fn remove_accounts(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
    Params(p): Params<AccountIdsParams>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:lists")])?;
    // Ids that are not numbers cannot be members: nothing to remove.
    let ids: Vec<AccountId> = p
        .account_ids
        .iter()
        .filter_map(|raw| raw.trim().parse::<i64>().ok().map(AccountId))
        .collect();
    state
        .services
        .remove_from_list(user.account_id, path_id(&id)?, &ids)
        .await?;
    Ok(Json(json!({})))
}

/// `GET /api/v1/accounts/:id/lists`: the viewer's lists containing the account.
pub async fn of_account(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("read:lists")])?;
    let lists = state
        .services
        .lists_with_account(user.account_id, path_id(&id)?)
        .await?;
    Ok(Json(Value::Array(lists.iter().map(list).collect())))
}

/// `GET /api/v1/timelines/list/:list_id` (limit 20, at most 40).
pub async fn timeline(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
    auth: Auth,
    Params(p): Params<Paging>,
) -> ApiResult<Response> {
    let user = auth.user(&[scope!("read:lists")])?;
    let views = state
        .services
        .list_timeline(user.account_id, path_id(&id)?, &p.bounds(20, 40))
        .await?;
    Ok(statuses_page(&state, &uri, &["limit"], &views))
}
