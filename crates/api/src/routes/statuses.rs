//! `/api/v1/statuses`.

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use ferrodon_model::{Page, StatusId, scope};
use ferrodon_service::statuses::{Acted, NewPost};
use ferrodon_service::views::StatusView;
use ferrodon_storage::marks::Mark;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Paging, link_header, path_id, with_link};
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
    // Mastodon refuses media beside a poll with its "too many" message.
    if !p.media_ids.is_empty() && p.poll.as_ref().is_some_and(|v| !v.is_null()) {
        return Err(ApiError::Unprocessable(
            ferrodon_service::media::too_many_media(),
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
                // As Rails' `to_i`: an id that is not a number matches nothing.
                media_ids: p
                    .media_ids
                    .iter()
                    .map(|id| id.trim().parse().unwrap_or(0))
                    .collect(),
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
