//! Finding people and the user's preferences: `/api/v1/accounts/search`,
//! `/api/v1/directory`, `/api/v1/accounts/familiar_followers`,
//! `/api/v2/suggestions`, `/api/v1/preferences`.

use axum::Json;
use axum::extract::{Path, State};
use ferrodon_model::{AccountId, scope};
use ferrodon_service::discovery::AccountSearch;
use ferrodon_storage::accounts::Account;
use ferrodon_storage::discovery::DirectoryOrder;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{IdsParams, path_id};
use crate::AppState;
use crate::auth::Auth;
use crate::entities;
use crate::error::{ApiError, ApiResult};
use crate::params::{Params, de};
use axum::http::StatusCode;

/// Mastodon's `limit_param`: the default when absent, at most twice the default.
pub(crate) fn limit(raw: Option<i64>, default: i64) -> i64 {
    match raw {
        None => default,
        Some(n) => n.saturating_abs().clamp(1, default * 2),
    }
}

fn accounts_json(state: &AppState, list: &[Account]) -> Value {
    let i = state.services.instance();
    Value::Array(
        list.iter()
            .map(|a| serde_json::to_value(entities::account(i, a)).unwrap_or_default())
            .collect(),
    )
}

#[derive(Debug, Deserialize)]
pub struct SearchParams {
    #[serde(default, deserialize_with = "de::opt_string")]
    q: Option<String>,
    #[serde(default, deserialize_with = "de::opt_i64_lenient")]
    limit: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_i64_lenient")]
    offset: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    following: Option<bool>,
}

/// `GET /api/v1/accounts/search`.
pub async fn search(
    State(state): State<AppState>,
    auth: Auth,
    Params(p): Params<SearchParams>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("read:accounts")])?;
    let found = state
        .services
        .search_accounts(
            user.account_id,
            &AccountSearch {
                q: p.q.unwrap_or_default(),
                limit: limit(p.limit, 40),
                offset: p.offset.unwrap_or(0).max(0),
                following: p.following.unwrap_or(false),
            },
        )
        .await?;
    Ok(Json(accounts_json(&state, &found)))
}

#[derive(Debug, Deserialize)]
pub struct DirectoryParams {
    #[serde(default, deserialize_with = "de::opt_string")]
    order: Option<String>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    local: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_i64_lenient")]
    limit: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_i64_lenient")]
    offset: Option<i64>,
}

/// `GET /api/v1/directory` (public): discoverable accounts.
pub async fn directory(
    State(state): State<AppState>,
    Params(p): Params<DirectoryParams>,
) -> ApiResult<Json<Value>> {
    let order = match p.order.as_deref() {
        Some("new") => DirectoryOrder::New,
        _ => DirectoryOrder::Active,
    };
    let found = state
        .services
        .directory(
            order,
            p.local.unwrap_or(false),
            limit(p.limit, 40),
            p.offset.unwrap_or(0).max(0),
        )
        .await?;
    Ok(Json(accounts_json(&state, &found)))
}

/// `GET /api/v1/accounts/familiar_followers?id[]=…` (unknown ids are left out).
pub async fn familiar_followers(
    State(state): State<AppState>,
    auth: Auth,
    Params(p): Params<IdsParams>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("read:follows")])?;
    let mut ids: Vec<AccountId> = Vec::new();
    for raw in p.id.iter().take(40) {
        if let Ok(id) = path_id::<AccountId>(raw)
            && !ids.contains(&id)
        {
            ids.push(id);
        }
    }
    let found = state.services.existing_accounts(&ids).await?;
    let ordered: Vec<AccountId> = ids.into_iter().filter(|i| found.contains(i)).collect();
    let list = state
        .services
        .familiar_followers(user.account_id, &ordered)
        .await?;
    Ok(Json(Value::Array(
        list.iter()
            .map(|(id, accounts)| {
                json!({"id": id.to_string(), "accounts": accounts_json(&state, accounts)})
            })
            .collect(),
    )))
}

#[derive(Debug, Deserialize)]
pub struct LimitParams {
    #[serde(default, deserialize_with = "de::opt_i64_lenient")]
    limit: Option<i64>,
}

/// `GET /api/v2/suggestions` (limit 40 by default, at most 80).
pub async fn suggestions(
    State(state): State<AppState>,
    auth: Auth,
    Params(p): Params<LimitParams>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("read:accounts")])?;
    let list = state
        .services
        .suggestions(user.account_id, limit(p.limit, 40))
        .await?;
    let i = state.services.instance();
    Ok(Json(Value::Array(
        list.iter()
            .map(|(account, sources)| {
                json!({
                    "source": sources.first().map(|s| s.legacy()),
                    "sources": sources.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
                    "account": entities::account(i, account),
                })
            })
            .collect(),
    )))
}

/// `DELETE /api/v1/suggestions/:account_id`: answers `{}`.
pub async fn dismiss_suggestion(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:accounts")])?;
    state
        .services
        .dismiss_suggestion(user.account_id, path_id(&id)?)
        .await?;
    Ok(Json(json!({})))
}

/// `GET /api/v1/preferences`.
pub async fn preferences(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("read:accounts")])?;
    let p = state.services.preferences(user.account_id).await?;
    Ok(Json(json!({
        "posting:default:visibility": p.visibility,
        "posting:default:sensitive": p.sensitive,
        "posting:default:language": p.language,
        "posting:default:quote_policy": p.quote_policy,
        "reading:expand:media": "default",
        "reading:expand:spoilers": false,
        "reading:autoplay:gifs": false,
    })))
}

#[derive(Debug, Deserialize)]
pub struct SearchV2Params {
    #[serde(default, deserialize_with = "de::opt_string")]
    q: Option<String>,
    #[serde(default, rename = "type", deserialize_with = "de::opt_string")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    resolve: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    following: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_id")]
    account_id: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_i64_lenient")]
    max_id: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_i64_lenient")]
    min_id: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_i64_lenient")]
    limit: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_i64_lenient")]
    offset: Option<i64>,
}

/// `GET /api/v2/search`: signed in or not (then without statuses, paging
/// or `resolve`, as Mastodon).
pub async fn search_v2(
    State(state): State<AppState>,
    auth: Auth,
    Params(p): Params<SearchV2Params>,
) -> ApiResult<Json<Value>> {
    use ferrodon_service::search::{Search, SearchType};
    let viewer = auth.viewer(&[scope!("read:search")])?.map(|u| u.account_id);
    let q = p.q.unwrap_or_default();
    if q.trim().is_empty() {
        return Err(ApiError::BadRequest(
            "param is missing or the value is empty: q".into(),
        ));
    }
    if viewer.is_none() && p.offset.is_some_and(|o| o > 0) {
        return Err(ApiError::Status(
            StatusCode::UNAUTHORIZED,
            "Search queries pagination is not supported without authentication".into(),
        ));
    }
    if viewer.is_none() && p.resolve.unwrap_or(false) {
        return Err(ApiError::Status(
            StatusCode::UNAUTHORIZED,
            "Search queries that resolve remote resources are not supported without authentication"
                .into(),
        ));
    }
    let kind = match p.kind.as_deref().filter(|k| !k.is_empty()) {
        None => None,
        Some(k) => match SearchType::parse(k) {
            Some(kind) => Some(kind),
            // As Mastodon: a type it does not know finds nothing.
            None => {
                return Ok(Json(
                    json!({"accounts": [], "statuses": [], "hashtags": []}),
                ));
            }
        },
    };
    let found = state
        .services
        .search(
            viewer,
            &Search {
                q,
                kind,
                following: p.following.unwrap_or(false),
                account_id: p.account_id.map(AccountId),
                min_id: p.min_id,
                max_id: p.max_id,
                limit: limit(p.limit, 20),
                offset: p.offset.unwrap_or(0).max(0),
                resolve: p.resolve.unwrap_or(false),
            },
        )
        .await?;
    let i = state.services.instance();
    Ok(Json(json!({
        "accounts": accounts_json(&state, &found.accounts),
        "statuses": found.statuses.iter().map(|v| entities::status(i, v)).collect::<Vec<_>>(),
        "hashtags": found.hashtags.iter().map(|t| entities::tag(i, t)).collect::<Vec<_>>(),
    })))
}
