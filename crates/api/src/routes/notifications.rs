//! `/api/v1/notifications`, `/api/v2/notifications` (grouped) and `/api/v1/markers`.

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::response::Response;
use ferrodon_model::{AccountId, scope};
use ferrodon_service::notification_requests::{PolicyChange, PolicyView, RequestView};
use ferrodon_service::notifications::{GroupedPage, ListOptions, NotificationView};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Paging, link_header, list_page, path_id, with_link};
use crate::AppState;
use crate::auth::Auth;
use crate::entities;
use crate::error::{ApiError, ApiResult};
use crate::params::{Params, de};

#[derive(Debug, Deserialize)]
pub struct ListParams {
    #[serde(flatten)]
    paging: Paging,
    #[serde(default, deserialize_with = "de::string_list")]
    types: Vec<String>,
    #[serde(default, deserialize_with = "de::string_list")]
    exclude_types: Vec<String>,
    #[serde(default, deserialize_with = "de::opt_id")]
    account_id: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    include_filtered: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_string")]
    expand_accounts: Option<String>,
}

impl ListParams {
    fn options(&self) -> ListOptions {
        ListOptions {
            types: self.types.clone(),
            exclude_types: self.exclude_types.clone(),
            account_id: self.account_id.map(AccountId),
            include_filtered: self.include_filtered.unwrap_or(false),
        }
    }
}

fn notification_json(state: &AppState, v: &NotificationView) -> Value {
    let i = state.services.instance();
    let n = &v.notification;
    let mut out = json!({
        "id": n.id.to_string(),
        "type": n.kind,
        "created_at": entities::time(n.created_at),
        "group_key": v.group_key(),
        "account": entities::account(i, &v.account),
    });
    if n.filtered {
        out["filtered"] = json!(true);
    }
    if let Some(status) = &v.status {
        out["status"] = entities::status(i, status);
    }
    out
}

/// `GET /api/v1/notifications`.
pub async fn index(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    auth: Auth,
    Params(p): Params<ListParams>,
) -> ApiResult<Response> {
    let user = auth.user(&[scope!("read:notifications")])?;
    let views = state
        .services
        .notifications(user.account_id, &p.options(), &p.paging.bounds(40, 80))
        .await?;
    let body = Value::Array(views.iter().map(|v| notification_json(&state, v)).collect());
    let link = link_header(
        &state.services.instance().base_url,
        &uri,
        &[
            "limit",
            "account_id",
            "types[]",
            "exclude_types[]",
            "include_filtered",
        ],
        views.last().map(|v| v.notification.id),
        views.first().map(|v| ("min_id", v.notification.id)),
    );
    Ok(with_link(body, link))
}

/// `GET /api/v1/notifications/:id`.
pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("read:notifications")])?;
    let id: i64 = path_id::<i64>(&id)?;
    let view = state.services.notification(user.account_id, id).await?;
    Ok(Json(notification_json(&state, &view)))
}

/// `POST /api/v1/notifications/:id/dismiss`.
pub async fn dismiss(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:notifications")])?;
    state
        .services
        .dismiss_notification(user.account_id, path_id::<i64>(&id)?)
        .await?;
    Ok(Json(json!({})))
}

/// `POST /api/v1/notifications/clear` (and v2).
pub async fn clear(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:notifications")])?;
    state.services.clear_notifications(user.account_id).await?;
    Ok(Json(json!({})))
}

/// `limit` for unread counts: 100 by default, at most 1,000.
fn count_limit(p: &ListParams) -> i64 {
    p.paging.limit.map_or(100, |l| l.saturating_abs().min(1000))
}

/// `GET /api/v1/notifications/unread_count`.
pub async fn unread_count(
    State(state): State<AppState>,
    auth: Auth,
    Params(p): Params<ListParams>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("read:notifications")])?;
    let count = state
        .services
        .unread_count(user.account_id, &p.options(), count_limit(&p))
        .await?;
    Ok(Json(json!({ "count": count })))
}

/// `GET /api/v2/notifications/unread_count`: unread groups.
pub async fn grouped_unread_count(
    State(state): State<AppState>,
    auth: Auth,
    Params(p): Params<ListParams>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("read:notifications")])?;
    let limit = u32::try_from(count_limit(&p)).unwrap_or(100);
    let count = state
        .services
        .unread_group_count(user.account_id, &p.options(), limit)
        .await?;
    Ok(Json(json!({ "count": count })))
}

/// `full` (every sample account in `accounts`) or `partial_avatars`.
fn partial_avatars(p: &ListParams) -> ApiResult<bool> {
    match p.expand_accounts.as_deref() {
        None | Some("") | Some("full") => Ok(false),
        Some("partial_avatars") => Ok(true),
        Some(other) => Err(ApiError::BadRequest(format!(
            "Invalid value for 'expand_accounts': '{other}', allowed values are 'full' and 'partial_avatars'"
        ))),
    }
}

fn grouped_json(state: &AppState, page: &GroupedPage, paginated: bool, partial: bool) -> Value {
    let i = state.services.instance();
    let groups: Vec<Value> = page
        .groups
        .iter()
        .map(|g| {
            let mut out = json!({
                "group_key": g.group_key,
                "notifications_count": g.count,
                "type": g.kind,
                "most_recent_notification_id": g.most_recent_id,
                "sample_account_ids": g.sample_account_ids.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
            });
            if paginated {
                out["page_min_id"] = json!(g.page_min_id.to_string());
                out["page_max_id"] = json!(g.page_max_id.to_string());
                out["latest_page_notification_at"] = json!(entities::time(g.latest_at));
            }
            if let Some(s) = g.status_id {
                out["status_id"] = json!(s.to_string());
            }
            out
        })
        .collect();
    // With partial avatars, only each group's newest sender is in full.
    let full_ids: Vec<AccountId> = if partial {
        page.groups
            .iter()
            .filter_map(|g| g.sample_account_ids.first().copied())
            .collect()
    } else {
        page.accounts.iter().map(|a| a.id).collect()
    };
    let accounts: Vec<Value> = page
        .accounts
        .iter()
        .filter(|a| full_ids.contains(&a.id))
        .map(|a| serde_json::to_value(entities::account(i, a)).unwrap_or_default())
        .collect();
    let mut out = json!({
        "accounts": accounts,
        "statuses": page.statuses.iter().map(|s| entities::status(i, s)).collect::<Vec<_>>(),
        "notification_groups": groups,
    });
    if partial {
        let partial_accounts: Vec<Value> = page
            .accounts
            .iter()
            .filter(|a| !full_ids.contains(&a.id))
            .map(|a| {
                let full = entities::account(i, a);
                json!({
                    "id": full.id, "acct": full.acct, "locked": full.locked, "bot": full.bot,
                    "url": full.url, "avatar": full.avatar, "avatar_static": full.avatar_static,
                })
            })
            .collect();
        out["partial_accounts"] = json!(partial_accounts);
    }
    out
}

/// `GET /api/v2/notifications`.
pub async fn grouped_index(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    auth: Auth,
    Params(p): Params<ListParams>,
) -> ApiResult<Response> {
    let user = auth.user(&[scope!("read:notifications")])?;
    let partial = partial_avatars(&p)?;
    let page = state
        .services
        .grouped_notifications(user.account_id, &p.options(), &p.paging.bounds(40, 80))
        .await?;
    let link = link_header(
        &state.services.instance().base_url,
        &uri,
        &[
            "limit",
            "include_filtered",
            "types[]",
            "exclude_types[]",
            "grouped_types[]",
        ],
        page.oldest_id,
        page.newest_id.map(|id| ("min_id", id)),
    );
    Ok(with_link(grouped_json(&state, &page, true, partial), link))
}

/// `GET /api/v2/notifications/:group_key`.
pub async fn group(
    State(state): State<AppState>,
    Path(key): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("read:notifications")])?;
    let page = state
        .services
        .notification_group(user.account_id, &key)
        .await?;
    Ok(Json(grouped_json(&state, &page, false, false)))
}

/// `GET /api/v2/notifications/:group_key/accounts`.
pub async fn group_accounts(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Path(key): Path<String>,
    auth: Auth,
    Params(p): Params<Paging>,
) -> ApiResult<Response> {
    let user = auth.user(&[scope!("read:notifications")])?;
    let bounds = p.bounds(40, 80);
    let (accounts, newest, oldest) = state
        .services
        .notification_group_accounts(user.account_id, &key, &bounds)
        .await?;
    let i = state.services.instance();
    let body = Value::Array(
        accounts
            .iter()
            .map(|a| serde_json::to_value(entities::account(i, a)).unwrap_or_default())
            .collect(),
    );
    let next = oldest.filter(|_| accounts.len() == bounds.limit as usize);
    let link = link_header(
        &i.base_url,
        &uri,
        &["limit"],
        next,
        newest.map(|id| ("min_id", id)),
    );
    Ok(with_link(body, link))
}

/// `POST /api/v2/notifications/:group_key/dismiss` (always `{}`).
pub async fn dismiss_group(
    State(state): State<AppState>,
    Path(key): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:notifications")])?;
    state.services.dismiss_group(user.account_id, &key).await?;
    Ok(Json(json!({})))
}

fn policy_json(v: &PolicyView) -> Value {
    let p = &v.policy;
    json!({
        "for_not_following": p.for_not_following,
        "for_not_followers": p.for_not_followers,
        "for_new_accounts": p.for_new_accounts,
        "for_private_mentions": p.for_private_mentions,
        "for_limited_accounts": p.for_limited_accounts,
        "summary": {
            "pending_requests_count": v.pending_requests,
            "pending_notifications_count": v.pending_notifications,
        },
    })
}

/// The v1 shape: `true` where the v2 policy does not accept.
fn policy_v1_json(v: &PolicyView) -> Value {
    let p = &v.policy;
    let filters = |a: &str| a != "accept";
    json!({
        "filter_not_following": filters(&p.for_not_following),
        "filter_not_followers": filters(&p.for_not_followers),
        "filter_new_accounts": filters(&p.for_new_accounts),
        "filter_private_mentions": filters(&p.for_private_mentions),
        "summary": {
            "pending_requests_count": v.pending_requests,
            "pending_notifications_count": v.pending_notifications,
        },
    })
}

/// `GET /api/v2/notifications/policy`.
pub async fn policy(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("read:notifications")])?;
    let v = state.services.notification_policy(user.account_id).await?;
    Ok(Json(policy_json(&v)))
}

/// `GET /api/v1/notifications/policy`.
pub async fn policy_v1(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("read:notifications")])?;
    let v = state.services.notification_policy(user.account_id).await?;
    Ok(Json(policy_v1_json(&v)))
}

#[derive(Debug, Deserialize)]
pub struct PolicyParams {
    #[serde(default, deserialize_with = "de::opt_string")]
    for_not_following: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    for_not_followers: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    for_new_accounts: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    for_private_mentions: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    for_limited_accounts: Option<String>,
}

/// `PATCH /api/v2/notifications/policy`.
pub async fn update_policy(
    State(state): State<AppState>,
    auth: Auth,
    Params(p): Params<PolicyParams>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:notifications")])?;
    let v = state
        .services
        .update_notification_policy(
            user.account_id,
            PolicyChange {
                for_not_following: p.for_not_following,
                for_not_followers: p.for_not_followers,
                for_new_accounts: p.for_new_accounts,
                for_private_mentions: p.for_private_mentions,
                for_limited_accounts: p.for_limited_accounts,
            },
        )
        .await?;
    Ok(Json(policy_json(&v)))
}

#[derive(Debug, Deserialize)]
pub struct PolicyV1Params {
    #[serde(default, deserialize_with = "de::opt_bool")]
    filter_not_following: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    filter_not_followers: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    filter_new_accounts: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    filter_private_mentions: Option<bool>,
}

/// `PUT /api/v1/notifications/policy`: `true` filters, `false` accepts.
pub async fn update_policy_v1(
    State(state): State<AppState>,
    auth: Auth,
    Params(p): Params<PolicyV1Params>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:notifications")])?;
    let action = |b: Option<bool>| b.map(|f| if f { "filter" } else { "accept" }.to_owned());
    let v = state
        .services
        .update_notification_policy(
            user.account_id,
            PolicyChange {
                for_not_following: action(p.filter_not_following),
                for_not_followers: action(p.filter_not_followers),
                for_new_accounts: action(p.filter_new_accounts),
                for_private_mentions: action(p.filter_private_mentions),
                for_limited_accounts: None,
            },
        )
        .await?;
    Ok(Json(policy_v1_json(&v)))
}

fn request_json(state: &AppState, r: &RequestView) -> Value {
    let i = state.services.instance();
    json!({
        "id": r.request.id.to_string(),
        "created_at": entities::time(r.request.created_at),
        "updated_at": entities::time(r.request.updated_at),
        "account": entities::account(i, &r.account),
        "notifications_count": r.request.notifications_count.to_string(),
        "last_status": r.last_status.as_ref().map(|s| entities::status(i, s)),
    })
}

/// `GET /api/v1/notifications/requests`.
pub async fn requests(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    auth: Auth,
    Params(paging): Params<Paging>,
) -> ApiResult<Response> {
    let user = auth.user(&[scope!("read:notifications")])?;
    let bounds = paging.bounds(40, 80);
    let page = state
        .services
        .notification_requests(user.account_id, &bounds)
        .await?;
    let base = state.services.instance().base_url.clone();
    Ok(list_page(&base, &uri, &page, &bounds, |r| {
        request_json(&state, r)
    }))
}

/// `GET /api/v1/notifications/requests/:id`.
pub async fn request(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("read:notifications")])?;
    let r = state
        .services
        .notification_request(user.account_id, path_id(&id)?)
        .await?;
    Ok(Json(request_json(&state, &r)))
}

/// `POST /api/v1/notifications/requests/:id/accept`: answers `{}`.
pub async fn accept_request(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:notifications")])?;
    state
        .services
        .accept_notification_request(user.account_id, path_id(&id)?)
        .await?;
    Ok(Json(json!({})))
}

/// `POST /api/v1/notifications/requests/:id/dismiss`: answers `{}`.
pub async fn dismiss_request(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:notifications")])?;
    state
        .services
        .dismiss_notification_request(user.account_id, path_id(&id)?)
        .await?;
    Ok(Json(json!({})))
}

#[derive(Debug, Deserialize)]
pub struct RequestIds {
    #[serde(default, deserialize_with = "de::string_list")]
    id: Vec<String>,
}

/// `POST /api/v1/notifications/requests/accept` (`id[]`): unknown ids are skipped.
pub async fn accept_requests(
    State(state): State<AppState>,
    auth: Auth,
    Params(p): Params<RequestIds>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:notifications")])?;
    let ids: Vec<i64> = p.id.iter().filter_map(|i| i.parse().ok()).collect();
    state
        .services
        .settle_notification_requests(user.account_id, &ids, true)
        .await?;
    Ok(Json(json!({})))
}

/// `POST /api/v1/notifications/requests/dismiss` (`id[]`): unknown ids are skipped.
pub async fn dismiss_requests(
    State(state): State<AppState>,
    auth: Auth,
    Params(p): Params<RequestIds>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:notifications")])?;
    let ids: Vec<i64> = p.id.iter().filter_map(|i| i.parse().ok()).collect();
    state
        .services
        .settle_notification_requests(user.account_id, &ids, false)
        .await?;
    Ok(Json(json!({})))
}

/// `GET /api/v1/notifications/requests/merged`: accepting merges at once here.
pub async fn requests_merged(auth: Auth) -> ApiResult<Json<Value>> {
    auth.user(&[scope!("read:notifications")])?;
    Ok(Json(json!({"merged": true})))
}

#[derive(Debug, Deserialize)]
pub struct MarkerQuery {
    #[serde(default, deserialize_with = "de::string_list")]
    timeline: Vec<String>,
}

fn markers_json(markers: &[ferrodon_storage::notifications::Marker]) -> Value {
    let mut out = serde_json::Map::new();
    for m in markers {
        out.insert(
            m.timeline.clone(),
            json!({
                "last_read_id": m.last_read_id.to_string(),
                "version": m.version,
                "updated_at": entities::time(m.updated_at),
            }),
        );
    }
    Value::Object(out)
}

/// `GET /api/v1/markers?timeline[]=home&timeline[]=notifications`.
pub async fn markers(
    State(state): State<AppState>,
    auth: Auth,
    Params(p): Params<MarkerQuery>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("read:statuses")])?;
    let markers = state.services.markers(user.account_id, &p.timeline).await?;
    Ok(Json(markers_json(&markers)))
}

#[derive(Debug, Default, Deserialize)]
pub struct MarkerPosition {
    #[serde(default, deserialize_with = "de::opt_id")]
    last_read_id: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct SaveMarkers {
    #[serde(default)]
    home: Option<MarkerPosition>,
    #[serde(default)]
    notifications: Option<MarkerPosition>,
}

/// `POST /api/v1/markers` with `home[last_read_id]` and/or `notifications[last_read_id]`.
pub async fn save_markers(
    State(state): State<AppState>,
    auth: Auth,
    Params(p): Params<SaveMarkers>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:statuses")])?;
    let mut positions = Vec::new();
    for (timeline, position) in [("home", p.home), ("notifications", p.notifications)] {
        if let Some(position) = position {
            let id = position.last_read_id.ok_or_else(|| {
                ApiError::Unprocessable(format!(
                    "Validation failed: Last read id can't be blank ({timeline})"
                ))
            })?;
            positions.push((timeline.to_owned(), id));
        }
    }
    let saved = state
        .services
        .save_markers(user.account_id, &positions)
        .await?;
    Ok(Json(markers_json(&saved)))
}
