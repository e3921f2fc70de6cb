//! `/api/v1/timelines/*`.

use axum::extract::{OriginalUri, Path, State};
use axum::response::Response;
use ferrodon_model::scope;
use ferrodon_service::timelines::TagFilter;
use ferrodon_service::views::StatusView;
use ferrodon_storage::statuses::Locality;
use serde::Deserialize;
use serde_json::Value;

use super::{Paging, link_header, with_link};
use crate::AppState;
use crate::auth::Auth;
use crate::entities;
use crate::error::ApiResult;
use crate::params::{Params, de};

#[derive(Debug, Deserialize)]
pub struct TimelineParams {
    #[serde(flatten)]
    paging: Paging,
    #[serde(default, deserialize_with = "de::opt_bool")]
    local: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    remote: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    only_media: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub struct TagTimelineParams {
    #[serde(flatten)]
    timeline: TimelineParams,
    #[serde(default, deserialize_with = "de::string_list")]
    any: Vec<String>,
    #[serde(default, deserialize_with = "de::string_list")]
    all: Vec<String>,
    #[serde(default, deserialize_with = "de::string_list")]
    none: Vec<String>,
}

impl TimelineParams {
    fn locality(&self) -> Locality {
        match (self.local.unwrap_or(false), self.remote.unwrap_or(false)) {
            (true, _) => Locality::Local,
            (false, true) => Locality::Remote,
            _ => Locality::All,
        }
    }
}

/// A page of statuses with Mastodon's `Link` header (`next` by `max_id`, `prev` by `min_id`).
pub(crate) fn statuses_page(
    state: &AppState,
    uri: &axum::http::Uri,
    keep: &[&str],
    views: &[StatusView],
) -> Response {
    let i = state.services.instance();
    let body = Value::Array(views.iter().map(|v| entities::status(i, v)).collect());
    let link = link_header(
        &i.base_url,
        uri,
        keep,
        views.last().map(|v| v.status.id.0),
        views.first().map(|v| ("min_id", v.status.id.0)),
    );
    with_link(body, link)
}

/// `GET /api/v1/timelines/home`.
pub async fn home(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    auth: Auth,
    Params(p): Params<TimelineParams>,
) -> ApiResult<Response> {
    let user = auth.user(&[scope!("read:statuses")])?;
    let page = state
        .services
        .home_timeline(user.account_id, &p.paging.bounds(20, 40))
        .await?;
    // Cursors from the feed entries read (see `home_timeline`).
    let i = state.services.instance();
    let body = Value::Array(page.items.iter().map(|v| entities::status(i, v)).collect());
    let link = link_header(
        &i.base_url,
        &uri,
        &["limit", "local"],
        page.next_max_id,
        page.prev_min_id.map(|m| ("min_id", m)),
    );
    Ok(with_link(body, link))
}

/// `GET /api/v1/timelines/public`.
pub async fn public(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    auth: Auth,
    Params(p): Params<TimelineParams>,
) -> ApiResult<Response> {
    let viewer = auth
        .viewer(&[scope!("read:statuses")])?
        .map(|u| u.account_id);
    let views = state
        .services
        .public_timeline(
            viewer,
            p.locality(),
            p.only_media.unwrap_or(false),
            &p.paging.bounds(20, 40),
        )
        .await?;
    Ok(statuses_page(
        &state,
        &uri,
        &["limit", "local", "remote", "only_media"],
        &views,
    ))
}

/// `GET /api/v1/timelines/tag/:hashtag`.
pub async fn tag(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Path(name): Path<String>,
    auth: Auth,
    Params(p): Params<TagTimelineParams>,
) -> ApiResult<Response> {
    let viewer = auth
        .viewer(&[scope!("read:statuses")])?
        .map(|u| u.account_id);
    let t = &p.timeline;
    let views = state
        .services
        .tag_timeline(
            viewer,
            &name,
            &TagFilter {
                any: p.any.clone(),
                all: p.all.clone(),
                none: p.none.clone(),
            },
            t.locality(),
            t.only_media.unwrap_or(false),
            &t.paging.bounds(20, 40),
        )
        .await?;
    Ok(statuses_page(
        &state,
        &uri,
        &[
            "limit",
            "local",
            "remote",
            "only_media",
            "any[]",
            "all[]",
            "none[]",
        ],
        &views,
    ))
}

#[derive(Debug, Deserialize)]
pub struct LinkTimelineParams {
    #[serde(flatten)]
    paging: Paging,
    #[serde(default)]
    url: Option<String>,
}

/// `GET /api/v1/timelines/link?url=` (Mastodon 4.3): public statuses
/// showing the preview card of `url`.
pub async fn link(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    auth: Auth,
    Params(p): Params<LinkTimelineParams>,
) -> ApiResult<Response> {
    let viewer = auth
        .viewer(&[scope!("read:statuses")])?
        .map(|u| u.account_id);
    let url = p.url.as_deref().map(str::trim).unwrap_or_default();
    let views = state
        .services
        .link_timeline(viewer, url, &p.paging.bounds(20, 40))
        .await?;
    Ok(statuses_page(&state, &uri, &["limit", "url"], &views))
}
