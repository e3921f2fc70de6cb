//! `/api/v1/trends/*` (and `/api/v1/trends`, the hashtags, as Mastodon):
//! public lists paged by `offset`, empty when trends are turned off.

use axum::extract::{OriginalUri, State};
use axum::http::Uri;
use axum::response::Response;
use ferrodon_model::scope;
use serde::Deserialize;
use serde_json::Value;

use super::discovery::limit;
use super::{cursor_links, with_link};
use crate::AppState;
use crate::auth::Auth;
use crate::entities;
use crate::error::ApiResult;
use crate::params::{Params, de};

#[derive(Debug, Deserialize)]
pub struct TrendsParams {
    #[serde(default, deserialize_with = "de::opt_i64_lenient")]
    limit: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_i64_lenient")]
    offset: Option<i64>,
}

impl TrendsParams {
    /// `(offset, limit)` with Mastodon's default and cap (twice the default).
    fn window(&self, default: i64) -> (i64, i64) {
        (self.offset.unwrap_or(0).max(0), limit(self.limit, default))
    }
}

/// The page with Mastodon's offset `Link`s: `next` when the page is full,
/// `prev` when the offset is past the first page.
fn offset_page(
    state: &AppState,
    uri: &Uri,
    body: Vec<Value>,
    (offset, limit): (i64, i64),
) -> Response {
    let next = (body.len() as i64 == limit).then_some(("offset", offset.saturating_add(limit)));
    let prev = (offset > limit).then_some(("offset", offset - limit));
    let link = cursor_links(
        &state.services.instance().base_url,
        uri,
        &["limit"],
        next,
        prev,
    );
    with_link(Value::Array(body), link)
}

/// `GET /api/v1/trends/tags` (default 10, at most 20).
pub async fn tags(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    auth: Auth,
    Params(p): Params<TrendsParams>,
) -> ApiResult<Response> {
    let viewer = auth.viewer(&[scope!("read")])?.map(|u| u.account_id);
    let window = p.window(10);
    let found = state
        .services
        .trending_tags(viewer, window.0, window.1)
        .await?;
    let i = state.services.instance();
    let body = found.iter().map(|t| entities::tag(i, t)).collect();
    Ok(offset_page(&state, &uri, body, window))
}

/// `GET /api/v1/trends/links` (default 10, at most 20): TrendsLink entities,
/// a PreviewCard with a week of history.
pub async fn links(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    auth: Auth,
    Params(p): Params<TrendsParams>,
) -> ApiResult<Response> {
    // A token, when sent, must be valid; the list is the same for everyone.
    auth.viewer(&[scope!("read")])?;
    let window = p.window(10);
    let found = state.services.trending_links(window.0, window.1).await?;
    let body = found
        .iter()
        .map(|l| {
            let mut card = entities::preview_card(&l.card, None);
            card["history"] = entities::history(&l.history);
            card
        })
        .collect();
    Ok(offset_page(&state, &uri, body, window))
}

/// `GET /api/v1/trends/statuses` (default 20, at most 40).
pub async fn statuses(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    auth: Auth,
    Params(p): Params<TrendsParams>,
) -> ApiResult<Response> {
    let viewer = auth
        .viewer(&[scope!("read:statuses")])?
        .map(|u| u.account_id);
    let window = p.window(20);
    let found = state
        .services
        .trending_statuses(viewer, window.0, window.1)
        .await?;
    let i = state.services.instance();
    let body = found.iter().map(|v| entities::status(i, v)).collect();
    Ok(offset_page(&state, &uri, body, window))
}
