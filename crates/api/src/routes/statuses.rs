//! `/api/v1/statuses`.

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use ferrodon_model::{Page, StatusId, scope};
use ferrodon_service::edits::EditPost;
use ferrodon_service::interactions::Acted;
use ferrodon_service::polls::PollInput;
use ferrodon_service::statuses::NewPost;
use ferrodon_service::views::StatusView;
use ferrodon_storage::marks::Mark;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{IdsParams, Paging, ids_param, link_header, path_id, with_link};
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
    #[serde(default, deserialize_with = "de::opt_string")]
    quoted_status_id: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    quote_approval_policy: Option<String>,
}

/// `quoted_status_id`: blank is none; an id that is not a number matches
/// nothing (as Rails' `find`), which is the quote's 404.
fn quoted_status_id(raw: Option<&str>) -> Option<StatusId> {
    let raw = raw.map(str::trim).filter(|r| !r.is_empty())?;
    Some(StatusId(raw.parse().unwrap_or(0)))
}

/// `poll[options][]`, `poll[expires_in]`, `poll[multiple]`, `poll[hide_totals]`.
#[derive(Debug, Deserialize)]
struct PollParams {
    #[serde(default, deserialize_with = "de::string_list")]
    options: Vec<String>,
    #[serde(default, deserialize_with = "de::opt_i64_lenient")]
    expires_in: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    multiple: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    hide_totals: Option<bool>,
}

/// The `poll` parameter; absent when missing or blank (as Rails' `present?`).
fn poll_input(raw: Option<&Value>) -> ApiResult<Option<PollInput>> {
    let Some(raw) = raw else { return Ok(None) };
    let blank = match raw {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    };
    if blank {
        return Ok(None);
    }
    let p: PollParams = crate::params::read(raw.clone())
        .map_err(|_| ApiError::BadRequest("Invalid value for `poll`".into()))?;
    Ok(Some(PollInput {
        options: p.options,
        expires_in: p.expires_in,
        multiple: p.multiple.unwrap_or(false),
        hide_totals: p.hide_totals.unwrap_or(false),
    }))
}

/// Media cannot go with a poll (Mastodon's "too many" message).
fn check_media(media_ids: &[String], with_poll: bool) -> ApiResult<()> {
    if !media_ids.is_empty() && with_poll {
        return Err(ApiError::Unprocessable(
            ferrodon_service::media::too_many_media(),
        ));
    }
    Ok(())
}

/// `POST /api/v1/statuses`.
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Params(p): Params<CreateStatus>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:statuses")])?;
    let poll = poll_input(p.poll.as_ref())?;
    check_media(&p.media_ids, poll.is_some())?;
    // A time in the past publishes at once, as Mastodon does.
    let scheduled_at = match p.scheduled_at.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(raw) => {
            Some(super::scheduled::parse_time(raw)?).filter(|at| *at > ferrodon_storage::now())
        }
        None => None,
    };
    let principal = auth.token(&[])?;
    let input = NewPost {
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
        poll,
        // As Rails' `to_i`: an id that is not a number matches nothing.
        media_ids: p
            .media_ids
            .iter()
            .map(|id| id.trim().parse().unwrap_or(0))
            .collect(),
        quoted_status_id: quoted_status_id(p.quoted_status_id.as_deref()),
        quote_approval_policy: p.quote_approval_policy,
    };
    if let Some(at) = scheduled_at {
        if !input.media_ids.is_empty() {
            return Err(ApiError::Unprocessable(
                "Scheduled statuses with media are not supported yet".into(),
            ));
        }
        let v = state
            .services
            .schedule_post(user.account_id, input, at)
            .await?;
        return Ok(Json(super::scheduled::scheduled_status(&v)));
    }
    let view = state.services.post(user.account_id, input).await?;
    Ok(Json(entities::status(state.services.instance(), &view)))
}

/// `GET /api/v1/statuses?id[]=…` (Mastodon 4.3): up to 20 statuses at once,
/// those the reader may see, in the order asked for.
pub async fn index(
    State(state): State<AppState>,
    auth: Auth,
    Params(p): Params<IdsParams>,
) -> ApiResult<Json<Value>> {
    let viewer = auth
        .viewer(&[scope!("read:statuses")])?
        .map(|u| u.account_id);
    let ids: Vec<StatusId> = ids_param(&p.id, 20)?;
    let found = state.services.statuses_by_ids(viewer, &ids).await?;
    let i = state.services.instance();
    Ok(Json(Value::Array(
        found.iter().map(|v| entities::status(i, v)).collect(),
    )))
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

macro_rules! status_action {
    ($(#[$doc:meta])* $name:ident, $scope:literal, $method:ident) => {
        $(#[$doc])*
        pub async fn $name(
            State(state): State<AppState>,
            Path(id): Path<String>,
            auth: Auth,
        ) -> ApiResult<Json<Value>> {
            let user = auth.user(&[scope!($scope)])?;
            let view = state.services.$method(user.account_id, path_id(&id)?).await?;
            Ok(Json(entities::status(state.services.instance(), &view)))
        }
    };
}

status_action!(
    /// `POST /api/v1/statuses/:id/favourite` (idempotent).
    favourite, "write:favourites", favourite
);
status_action!(
    /// `POST /api/v1/statuses/:id/unfavourite` (idempotent).
    unfavourite, "write:favourites", unfavourite
);
status_action!(
    /// `POST /api/v1/statuses/:id/unreblog`: answers with the original.
    unreblog, "write:statuses", unreblog
);
status_action!(
    /// `POST /api/v1/statuses/:id/bookmark`.
    bookmark, "write:bookmarks", bookmark
);
status_action!(
    /// `POST /api/v1/statuses/:id/unbookmark`.
    unbookmark, "write:bookmarks", unbookmark
);
status_action!(
    /// `POST /api/v1/statuses/:id/mute`: no notifications from its thread.
    mute, "write:mutes", mute_conversation
);
status_action!(
    /// `POST /api/v1/statuses/:id/unmute`.
    unmute, "write:mutes", unmute_conversation
);
status_action!(
    /// `POST /api/v1/statuses/:id/pin`.
    pin, "write:accounts", pin
);
status_action!(
    /// `POST /api/v1/statuses/:id/unpin`.
    unpin, "write:accounts", unpin
);

/// Statuses with the mark ids as cursors (`Link`: next by `max_id`, prev by `min_id`).
fn marked_page(state: &AppState, uri: &axum::http::Uri, page: &Page<StatusView>) -> Response {
    let i = state.services.instance();
    let body = Value::Array(page.items.iter().map(|v| entities::status(i, v)).collect());
    let link = link_header(
        &i.base_url,
        uri,
        &["limit"],
        page.next_max_id,
        page.prev_min_id.map(|id| ("min_id", id)),
    );
    with_link(body, link)
}

/// `GET /api/v1/favourites`.
pub async fn favourites(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    auth: Auth,
    Params(p): Params<Paging>,
) -> ApiResult<Response> {
    let user = auth.user(&[scope!("read:favourites")])?;
    let page = state
        .services
        .marked_statuses(
            Some(user.account_id),
            user.account_id,
            Mark::Favourite,
            &p.bounds(20, 40),
        )
        .await?;
    Ok(marked_page(&state, &uri, &page))
}

/// `GET /api/v1/bookmarks`.
pub async fn bookmarks(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    auth: Auth,
    Params(p): Params<Paging>,
) -> ApiResult<Response> {
    let user = auth.user(&[scope!("read:bookmarks")])?;
    let page = state
        .services
        .marked_statuses(
            Some(user.account_id),
            user.account_id,
            Mark::Bookmark,
            &p.bounds(20, 40),
        )
        .await?;
    Ok(marked_page(&state, &uri, &page))
}

async fn acted_on_by(
    state: AppState,
    uri: axum::http::Uri,
    id: String,
    auth: Auth,
    paging: Paging,
    acted: Acted,
) -> ApiResult<Response> {
    let viewer = auth
        .viewer(&[scope!("read:accounts")])?
        .map(|u| u.account_id);
    let bounds = paging.bounds(40, 80);
    let page = state
        .services
        .acted_on_by(viewer, path_id(&id)?, acted, &bounds)
        .await?;
    let i = state.services.instance();
    let body = Value::Array(
        page.items
            .iter()
            .map(|a| serde_json::to_value(entities::account(i, a)).unwrap_or_default())
            .collect(),
    );
    let next = page
        .next_max_id
        .filter(|_| page.items.len() == bounds.limit as usize);
    let link = link_header(
        &i.base_url,
        &uri,
        &["limit"],
        next,
        page.prev_min_id.map(|id| ("since_id", id)),
    );
    Ok(with_link(body, link))
}

/// `GET /api/v1/statuses/:id/favourited_by`.
pub async fn favourited_by(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
    auth: Auth,
    Params(p): Params<Paging>,
) -> ApiResult<Response> {
    acted_on_by(state, uri, id, auth, p, Acted::Favourited).await
}

/// `GET /api/v1/statuses/:id/reblogged_by`.
pub async fn reblogged_by(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
    auth: Auth,
    Params(p): Params<Paging>,
) -> ApiResult<Response> {
    acted_on_by(state, uri, id, auth, p, Acted::Reblogged).await
}

/// `PUT /api/v1/statuses/:id`.
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
    Params(p): Params<CreateStatus>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:statuses")])?;
    let poll = poll_input(p.poll.as_ref())?;
    check_media(&p.media_ids, poll.is_some())?;
    let view = state
        .services
        .edit_status(
            user.account_id,
            path_id(&id)?,
            EditPost {
                text: p.status,
                spoiler_text: p.spoiler_text,
                sensitive: p.sensitive,
                language: p.language,
                poll,
                quote_approval_policy: p.quote_approval_policy,
            },
        )
        .await?;
    Ok(Json(entities::status(state.services.instance(), &view)))
}

/// `GET /api/v1/statuses/:id/history`.
pub async fn history(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let viewer = auth
        .viewer(&[scope!("read:statuses")])?
        .map(|u| u.account_id);
    let edits = state.services.status_history(viewer, path_id(&id)?).await?;
    let i = state.services.instance();
    Ok(Json(Value::Array(
        edits.iter().map(|e| entities::status_edit(i, e)).collect(),
    )))
}

/// `GET /api/v1/statuses/:id/source`.
pub async fn source(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("read:statuses")])?;
    let source = state
        .services
        .status_source(user.account_id, path_id(&id)?)
        .await?;
    Ok(Json(json!({
        "id": source.id.to_string(),
        "text": source.text,
        "spoiler_text": source.spoiler_text,
    })))
}

/// `GET /api/v1/statuses/:id/quotes`: the accepted quotes of one's own
/// status, paged by quote id (`Link`: next by `max_id`, prev by `since_id`).
pub async fn quotes(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
    auth: Auth,
    Params(p): Params<Paging>,
) -> ApiResult<Response> {
    let user = auth.user(&[scope!("read:statuses")])?;
    let bounds = p.bounds(20, 40);
    let page = state
        .services
        .status_quotes(user.account_id, path_id(&id)?, &bounds)
        .await?;
    let i = state.services.instance();
    let body = Value::Array(page.items.iter().map(|v| entities::status(i, v)).collect());
    let link = link_header(
        &i.base_url,
        &uri,
        &["limit"],
        page.next_max_id,
        page.prev_min_id
            .filter(|_| !page.items.is_empty())
            .map(|id| ("since_id", id)),
    );
    Ok(with_link(body, link))
}

/// `POST /api/v1/statuses/:id/quotes/:quoting_status_id/revoke`.
pub async fn revoke_quote(
    State(state): State<AppState>,
    Path((id, quoting)): Path<(String, String)>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:statuses")])?;
    let view = state
        .services
        .revoke_quote(user.account_id, path_id(&id)?, path_id(&quoting)?)
        .await?;
    Ok(Json(entities::status(state.services.instance(), &view)))
}

#[derive(Debug, Deserialize)]
pub struct InteractionPolicyParams {
    #[serde(default, deserialize_with = "de::opt_string")]
    quote_approval_policy: Option<String>,
}

/// `PUT /api/v1/statuses/:id/interaction_policy`.
pub async fn interaction_policy(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
    Params(p): Params<InteractionPolicyParams>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:statuses")])?;
    let view = state
        .services
        .set_interaction_policy(user.account_id, path_id(&id)?, p.quote_approval_policy)
        .await?;
    Ok(Json(entities::status(state.services.instance(), &view)))
}
