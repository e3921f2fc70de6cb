//! Route handlers, one module per part of the API. Handlers only extract,
//! call a service and shape the answer.

pub mod accounts;
pub mod admin;
pub mod announcements;
pub mod apps;
pub mod conversations;
pub mod discovery;
pub mod filters;
pub mod instance;
pub mod lists;
pub mod media;
pub mod notifications;
pub mod oauth;
pub mod polls;
pub mod relations;
pub mod scheduled;
pub mod statuses;
pub mod tags;
pub mod timelines;
pub mod trends;

use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use ferrodon_model::{Page, PageBounds};
use serde::Deserialize;

use crate::error::ApiError;
use crate::params::de;

/// A path id: anything but digits is an unknown record (404), as in Mastodon.
pub fn path_id<T: From<i64>>(raw: &str) -> Result<T, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|v| *v > 0)
        .map(T::from)
        .ok_or(ApiError::Service(
            ferrodon_service::ServiceError::not_found(),
        ))
}

/// `max_id`, `since_id`, `min_id`, `limit`, read leniently (empty values are ignored).
#[derive(Debug, Default, Deserialize)]
pub struct Paging {
    #[serde(default, deserialize_with = "de::opt_i64_lenient")]
    pub max_id: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_i64_lenient")]
    pub since_id: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_i64_lenient")]
    pub min_id: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_i64_lenient")]
    pub limit: Option<i64>,
}

impl Paging {
    pub fn bounds(&self, default: u32, max: u32) -> PageBounds {
        PageBounds::new(
            self.max_id,
            self.since_id,
            self.min_id,
            self.limit,
            default,
            max,
        )
    }
}

/// `id[]=…`, the parameter of the endpoints that take several ids.
#[derive(Debug, Deserialize)]
pub struct IdsParams {
    #[serde(default, deserialize_with = "de::string_list")]
    pub id: Vec<String>,
}

/// `id[]=…` of a multi-get: the distinct ids in request order, malformed
/// ones left out (Mastodon reads them as 0, which matches nothing); 422
/// when more than `max` are asked for, as Mastodon's `check_*_limit`.
pub fn ids_param<T: From<i64> + PartialEq>(raw: &[String], max: usize) -> Result<Vec<T>, ApiError> {
    let mut ids: Vec<T> = Vec::new();
    for r in raw {
        if let Ok(id) = path_id::<T>(r)
            && !ids.contains(&id)
        {
            // Stop at the first id past the limit: the work stays bounded
            // however many ids a request carries.
            if ids.len() == max {
                return Err(ApiError::Unprocessable(format!(
                    "Too many ids: at most {max} at once"
                )));
            }
            ids.push(id);
        }
    }
    Ok(ids)
}

/// Builds Mastodon's `Link` header: `next` pages older (`max_id`), `prev`
/// newer (`prev_param`, `min_id` for statuses, `since_id` for account lists).
/// Only `keep` parameters of the request are carried over.
pub fn link_header(
    base_url: &str,
    uri: &Uri,
    keep: &[&str],
    next_max_id: Option<i64>,
    prev: Option<(&str, i64)>,
) -> Option<HeaderValue> {
    cursor_links(
        base_url,
        uri,
        keep,
        next_max_id.map(|m| ("max_id", m)),
        prev,
    )
}

/// A `Link` header with any cursor parameter for `next` and `prev`
/// (`offset` for the lists Mastodon pages by offset, such as trends).
pub fn cursor_links(
    base_url: &str,
    uri: &Uri,
    keep: &[&str],
    next: Option<(&str, i64)>,
    prev: Option<(&str, i64)>,
) -> Option<HeaderValue> {
    let kept: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .filter(|(k, v)| keep.contains(&k.as_ref()) && !v.is_empty())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    let make = |cursor: (&str, i64)| {
        let mut pairs = kept.clone();
        pairs.push((cursor.0.to_owned(), cursor.1.to_string()));
        pairs.sort();
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        format!("{base_url}{}?{query}", uri.path())
    };
    let mut links = Vec::new();
    if let Some(next) = next {
        links.push(format!("<{}>; rel=\"next\"", make(next)));
    }
    if let Some(prev) = prev {
        links.push(format!("<{}>; rel=\"prev\"", make(prev)));
    }
    if links.is_empty() {
        return None;
    }
    HeaderValue::from_str(&links.join(", ")).ok()
}

/// A JSON body with an optional `Link` header.
pub fn with_link(body: serde_json::Value, link: Option<HeaderValue>) -> Response {
    let mut res = axum::Json(body).into_response();
    if let Some(link) = link {
        res.headers_mut().insert(header::LINK, link);
    }
    res
}

/// A page of an id-cursored list (accounts, domains) with its `Link` header:
/// `next` only when the page is full, `prev` by `since_id`.
pub fn list_page<T>(
    base_url: &str,
    uri: &Uri,
    page: &Page<T>,
    bounds: &PageBounds,
    to_json: impl Fn(&T) -> serde_json::Value,
) -> Response {
    let body = serde_json::Value::Array(page.items.iter().map(to_json).collect());
    let next = page
        .next_max_id
        .filter(|_| page.items.len() == bounds.limit as usize);
    let link = link_header(
        base_url,
        uri,
        &["limit"],
        next,
        page.prev_min_id.map(|p| ("since_id", p)),
    );
    with_link(body, link)
}
