//! Around every request: a request id, a JSON access log line and metrics;
//! the client's address; rate limits with Mastodon's numbers and headers;
//! JSON bodies for errors that would otherwise have none; a panic guard.
//!
//! Metric labels never come from the client: methods outside the standard
//! nine are `other`, requests that matched no route are `unmatched`, and the
//! route label is the matched pattern (`/api/v1/statuses/{id}`).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use axum::Router;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::json;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{Any, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tracing::Instrument;

use crate::auth::{ResolvedToken, bearer};
use crate::error::{ApiError, error_response, reason};
use crate::{AppState, ClientIp};

/// The route pattern that matched, carried out to the outer layers.
#[derive(Clone)]
struct RouteTag(String);

/// Inner layer: records which route matched (for logs and metrics).
pub async fn tag_route(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let mut res = next.run(req).await;
    if let Some(route) = route {
        res.extensions_mut().insert(RouteTag(route));
    }
    res
}

/// Unknown routes: Mastodon's JSON 404.
pub async fn not_found() -> Response {
    error_response(StatusCode::NOT_FOUND, json!({"error": "Not Found"}))
}

/// Keeps the custom emoji snapshot the renderers use fresh (a reload at
/// most every few seconds); a failed reload keeps the old one.
async fn fresh_emojis(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let Err(e) = state.services.refresh_emojis().await {
        tracing::warn!(error = %e, "cannot reload custom emojis");
    }
    next.run(req).await
}

/// Applies the outer layers to `router`.
pub fn wrap(router: Router<AppState>, state: AppState) -> Router<AppState> {
    router
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            fresh_emojis,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            rate_limit,
        ))
        .layer(axum::middleware::from_fn(json_errors))
        .layer(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods(Any)
                .allow_headers(Any)
                .expose_headers([
                    header::LINK,
                    HeaderName::from_static("x-ratelimit-limit"),
                    HeaderName::from_static("x-ratelimit-remaining"),
                    HeaderName::from_static("x-ratelimit-reset"),
                    HeaderName::from_static("x-request-id"),
                ]),
        )
        .layer(CatchPanicLayer::custom(
            |_panic: Box<dyn std::any::Any + Send>| {
                tracing::error!("handler panicked");
                error_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({"error": "Internal server error"}),
                )
            },
        ))
        .layer(axum::middleware::from_fn_with_state(state.clone(), observe))
        .layer(axum::extract::DefaultBodyLimit::max(state.max_body_bytes))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
}

fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{:016x}", rand::random::<u64>()))
}

/// The client address: the peer, or behind trusted proxies the rightmost
/// `X-Forwarded-For` entry that is not itself a trusted proxy (as Rails'
/// `remote_ip`). IPv4-mapped IPv6 addresses count as the IPv4 address.
fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[ipnet::IpNet]) -> IpAddr {
    let trusted_proxy = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let peer = peer
        .map(|ip| ip.to_canonical())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    if !trusted_proxy(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .map(|ip| ip.to_canonical())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !trusted_proxy(ip))
        .unwrap_or(peer)
}

/// The method as a metric label: the standard methods by name, anything
/// else (extension methods, up to the request line's size) as `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// Outermost layer: request id, client address, access log, metrics.
async fn observe(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(req.headers());
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let ip = client_ip(peer, req.headers(), &state.trusted_proxies);
    req.extensions_mut().insert(ClientIp(ip));
    let method = method_label(req.method());
    let path = req.uri().path().to_owned();
    let span = tracing::info_span!("request", request_id = %id);
    let mut res = next.run(req).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let status = res.status().as_u16();
    let route = res
        .extensions()
        .get::<RouteTag>()
        .map(|r| r.0.clone())
        .unwrap_or_else(|| "unmatched".to_owned());
    span.in_scope(|| {
        tracing::info!(
            method,
            path = %path,
            route = %route,
            status,
            duration_ms = elapsed.as_secs_f64() * 1000.0,
            client_ip = %ip,
            "request"
        );
    });
    metrics::counter!(
        "ferrodon_http_requests_total",
        "method" => method,
        "route" => route.clone(),
        "status" => status.to_string()
    )
    .increment(1);
    metrics::histogram!(
        "ferrodon_http_request_duration_seconds",
        "method" => method,
        "route" => route
    )
    .record(elapsed.as_secs_f64());
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert("x-request-id", v);
    }
    res
}

/// Error responses without a JSON body (axum's 405, a 413 from the body
/// limit) get Mastodon's `{"error": …}`; HTML pages keep theirs.
async fn json_errors(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.contains("json") || content_type.contains("html") {
        return res;
    }
    let mut replaced = error_response(status, json!({"error": reason(status)}));
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(v) = res.headers().get(&name) {
            replaced.headers_mut().insert(name, v.clone());
        }
    }
    replaced
}

/// Fixed-window request counters, as Rack::Attack keeps them.
///
/// Counters live in this process: with several web processes each enforces
/// the limit on its own share of the traffic. The table holds at most
/// `max_keys` keys. When it is full, windows that have ended are swept out
/// (at most once a second, so a full table costs no more than that); if it
/// is still full, a request under a *new* key is let through uncounted
/// (fail open), logged and counted in `ferrodon_rate_limit_untracked_total`,
/// while keys already in the table stay limited. Failing closed would let
/// whoever fills the table (every key is a distinct client address, /64 or
/// valid token) lock out every client not yet seen; failing open costs only
/// the per-client limit of newcomers until windows end (5 to 30 minutes),
/// and memory stays bounded either way.
#[derive(Debug)]
pub struct RateLimiter {
    windows: Mutex<Windows>,
    max_keys: usize,
}

#[derive(Debug, Default)]
struct Windows {
    /// Key → (end of its window, unix seconds; requests counted in it).
    map: HashMap<String, (i64, u32)>,
    last_sweep: i64,
    last_warning: i64,
}

/// Keys a limiter holds by default (about 10 MB at most).
pub const DEFAULT_MAX_KEYS: usize = 100_000;

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter::with_max_keys(DEFAULT_MAX_KEYS)
    }
}

/// The outcome of one counted request.
#[derive(Debug, Clone, Copy)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    pub reset: DateTime<Utc>,
}

impl RateLimiter {
    /// A limiter holding at most `max_keys` keys.
    pub fn with_max_keys(max_keys: usize) -> RateLimiter {
        RateLimiter {
            windows: Mutex::new(Windows::default()),
            max_keys: max_keys.max(1),
        }
    }

    /// Keys held now.
    pub fn len(&self) -> usize {
        self.windows
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .map
            .len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Counts a request for `key` in the current `period_secs` window.
    pub fn hit(&self, key: &str, limit: u32, period_secs: i64, now: DateTime<Utc>) -> Decision {
        let period_secs = period_secs.max(1);
        let ts = now.timestamp();
        let window_end = ts - ts.rem_euclid(period_secs) + period_secs;
        let reset = DateTime::from_timestamp(window_end, 0).unwrap_or(now);
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let w = &mut *windows;
        if !w.map.contains_key(key) && w.map.len() >= self.max_keys {
            if ts > w.last_sweep {
                w.map.retain(|_, (end, _)| *end > ts);
                w.last_sweep = ts;
            }
            if w.map.len() >= self.max_keys {
                metrics::counter!("ferrodon_rate_limit_untracked_total").increment(1);
                if ts >= w.last_warning + 60 {
                    w.last_warning = ts;
                    tracing::warn!(
                        keys = w.map.len(),
                        "rate limiter full: requests from new clients pass uncounted"
                    );
                }
                return Decision {
                    allowed: true,
                    limit,
                    remaining: limit,
                    reset,
                };
            }
        }
        let entry = w.map.entry(key.to_owned()).or_insert((window_end, 0));
        if entry.0 != window_end {
            *entry = (window_end, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        Decision {
            allowed: entry.1 <= limit,
            limit,
            remaining: limit.saturating_sub(entry.1),
            reset,
        }
    }
}

fn rate_headers(d: &Decision) -> HeaderMap {
    let mut h = HeaderMap::new();
    let reset = d.reset.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    for (name, value) in [
        ("x-ratelimit-limit", d.limit.to_string()),
        ("x-ratelimit-remaining", d.remaining.to_string()),
        ("x-ratelimit-reset", reset),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    h
}

/// IPv6 clients are counted per /64, as one host usually holds the whole prefix.
fn ip_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// Whether a request uploads media (Mastodon's `API_MEDIA_PATHS`).
fn media_upload(method: &Method, path: &str) -> bool {
    method == Method::POST && matches!(path, "/api/v1/media" | "/api/v2/media")
}

/// Looks the request's bearer token up once and leaves the outcome in its
/// extensions for [`crate::auth::Auth`]. A lookup that fails (database
/// down) leaves nothing: the extractor tries again and answers the error.
async fn resolve_token(state: &AppState, req: &mut Request) -> Option<ferrodon_service::Principal> {
    let token = bearer(req.headers())?;
    match state.services.authenticate(&token).await {
        Ok(found) => {
            req.extensions_mut().insert(ResolvedToken(found.clone()));
            found
        }
        Err(e) => {
            tracing::warn!(error = %e, "rate limit: cannot look the token up");
            None
        }
    }
}

/// Mastodon's throttles: sign-ups and logins per IP; media uploads per
/// account; API calls per valid token, or per client address (IPv6 per
/// /64) without one — an unknown token or another `Authorization` scheme
/// counts as none. `X-RateLimit-*` headers go on API responses.
async fn rate_limit(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let limits = state.rate_limits;
    let ip = req
        .extensions()
        .get::<ClientIp>()
        .map(|c| c.0)
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let path = req.uri().path().trim_end_matches('/').to_owned();
    let now = Utc::now();
    let media = media_upload(req.method(), &path) && limits.media > 0;
    let api = path.starts_with("/api/") && limits.api > 0;
    let principal = if api || media {
        resolve_token(&state, &mut req).await
    } else {
        None
    };
    let specific = match (req.method(), path.as_str()) {
        (&Method::POST, "/api/v1/accounts") if limits.sign_up > 0 => {
            Some((format!("sign_up:{}", ip_key(ip)), limits.sign_up, 1800))
        }
        (&Method::POST, "/oauth/token" | "/oauth/authorize") if limits.login > 0 => {
            Some((format!("login:{}", ip_key(ip)), limits.login, 300))
        }
        _ if media => principal
            .as_ref()
            .and_then(|p| p.user)
            .map(|u| (format!("media:{}", u.account_id), limits.media, 1800)),
        _ => None,
    };
    if let Some((key, limit, period)) = specific {
        let d = state.limiter.hit(&key, limit, period, now);
        if !d.allowed {
            return ApiError::RateLimited(rate_headers(&d)).into_response();
        }
    }
    let decision = api.then(|| {
        let key = match &principal {
            Some(p) => format!("api:token:{}", p.token_id),
            None => format!("api:ip:{}", ip_key(ip)),
        };
        state.limiter.hit(&key, limits.api, 300, now)
    });
    if let Some(d) = decision
        && !d.allowed
    {
        return ApiError::RateLimited(rate_headers(&d)).into_response();
    }
    let mut res = next.run(req).await;
    if let Some(d) = decision {
        res.headers_mut().extend(rate_headers(&d));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_count_and_reset() {
        let limiter = RateLimiter::default();
        let t = DateTime::from_timestamp(1_700_000_100, 0).unwrap_or_default();
        for i in 0..5 {
            let d = limiter.hit("k", 5, 300, t);
            assert!(d.allowed);
            assert_eq!(d.remaining, 4 - i);
        }
        assert!(!limiter.hit("k", 5, 300, t).allowed);
        let next_window = t + chrono::Duration::seconds(300);
        assert!(limiter.hit("k", 5, 300, next_window).allowed);
        assert_eq!(limiter.hit("other", 5, 300, t).remaining, 4);
    }

    #[test]
    fn forwarded_for_is_trusted_only_from_proxies() {
        let trusted = ferrodon_config::HttpConfig::default_trusted_proxies();
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("203.0.113.9, 10.0.0.2"),
        );
        let ip = |s: &str| s.parse::<IpAddr>().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let proxy = ip("10.0.0.1");
        let public = ip("198.51.100.7");
        assert_eq!(client_ip(Some(proxy), &h, &trusted), ip("203.0.113.9"));
        assert_eq!(client_ip(Some(public), &h, &trusted), public);
        // A mapped loopback peer is loopback.
        assert_eq!(
            client_ip(Some(ip("::ffff:127.0.0.1")), &h, &trusted),
            ip("203.0.113.9")
        );
        // Only the configured proxies are believed.
        let only: Vec<ipnet::IpNet> =
            ferrodon_config::parse_cidr_list("10.0.0.1").unwrap_or_default();
        assert_eq!(client_ip(Some(proxy), &h, &only), ip("10.0.0.2"));
        assert_eq!(client_ip(Some(ip("127.0.0.1")), &h, &only), ip("127.0.0.1"));
        assert_eq!(client_ip(Some(proxy), &h, &[]), proxy);
    }

    #[test]
    fn methods_outside_the_standard_nine_are_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::TRACE), "TRACE");
        let long = Method::from_bytes(&[b'X'; 5000]).unwrap_or(Method::GET);
        assert_ne!(long, Method::GET);
        assert_eq!(method_label(&long), "other");
        let short = Method::from_bytes(b"PROPFIND").unwrap_or(Method::GET);
        assert_eq!(method_label(&short), "other");
    }

    #[test]
    fn the_limiter_holds_at_most_its_cap() {
        let limiter = RateLimiter::with_max_keys(3);
        let t = DateTime::from_timestamp(1_700_000_100, 0).unwrap_or_default();
        for k in ["a", "b", "c"] {
            assert_eq!(limiter.hit(k, 2, 300, t).remaining, 1);
        }
        // Full of live windows: a new key passes uncounted, and is not stored.
        for _ in 0..10 {
            let d = limiter.hit("new", 2, 300, t);
            assert!(d.allowed);
            assert_eq!(d.remaining, 2);
        }
        assert_eq!(limiter.len(), 3);
        // Keys already held stay limited.
        assert!(limiter.hit("a", 2, 300, t).allowed);
        assert!(!limiter.hit("a", 2, 300, t).allowed);
        // Once their windows end they are swept out and new keys are counted.
        let later = t + chrono::Duration::seconds(300);
        assert_eq!(limiter.hit("new", 2, 300, later).remaining, 1);
        assert_eq!(limiter.len(), 1);
        for i in 0..1000 {
            limiter.hit(&format!("k{i}"), 2, 300, later);
        }
        assert_eq!(limiter.len(), 3, "the cap holds whatever the keys");
    }

    #[test]
    fn windows_of_different_periods_are_kept_apart() {
        let limiter = RateLimiter::with_max_keys(2);
        let t = DateTime::from_timestamp(1_700_000_100, 0).unwrap_or_default();
        // A 30-minute window is not swept when a 5-minute one ends.
        assert!(limiter.hit("media:1", 1, 1800, t).allowed);
        assert!(limiter.hit("api:1", 5, 300, t).allowed);
        let later = t + chrono::Duration::seconds(400);
        assert!(limiter.hit("api:2", 5, 300, later).allowed);
        assert!(
            !limiter.hit("media:1", 1, 1800, later).allowed,
            "the media window survived the sweep"
        );
    }
}
