//! Around every request: a request id, a JSON access log line and metrics;
//! the client's address; rate limits with Mastodon's numbers and headers;
//! JSON bodies for errors that would otherwise have none; a panic guard.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
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
        .layer(axum::middleware::from_fn(observe))
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

/// Whether an address is a proxy we trust to tell us the client's address.
fn trusted_proxy(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private() || v4.is_link_local(),
        IpAddr::V6(v6) => v6.is_loopback() || (v6.segments()[0] & 0xfe00) == 0xfc00,
    }
}

/// The client address: the peer, or behind trusted proxies the rightmost
/// `X-Forwarded-For` entry that is not itself a trusted proxy.
fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap) -> IpAddr {
    let peer = peer.unwrap_or(IpAddr::from([127, 0, 0, 1]));
    if !trusted_proxy(peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !trusted_proxy(*ip))
        .unwrap_or(peer)
}

/// Outermost layer: request id, client address, access log, metrics.
async fn observe(mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(req.headers());
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let ip = client_ip(peer, req.headers());
    req.extensions_mut().insert(ClientIp(ip));
    let method = req.method().clone();
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
            method = %method,
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
        "method" => method.to_string(),
        "route" => route.clone(),
        "status" => status.to_string()
    )
    .increment(1);
    metrics::histogram!(
        "ferrodon_http_request_duration_seconds",
        "method" => method.to_string(),
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
/// the limit on its own share of the traffic.
#[derive(Debug, Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<String, (i64, u32)>>,
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
    /// Counts a request for `key` in the current `period_secs` window.
    pub fn hit(&self, key: &str, limit: u32, period_secs: i64, now: DateTime<Utc>) -> Decision {
        let ts = now.timestamp();
        let window = ts - ts.rem_euclid(period_secs);
        let reset = DateTime::from_timestamp(window + period_secs, 0).unwrap_or(now);
        let Ok(mut map) = self.windows.lock() else {
            return Decision {
                allowed: true,
                limit,
                remaining: limit,
                reset,
            };
        };
        if map.len() > 100_000 {
            map.retain(|_, (start, _)| *start + period_secs > ts);
        }
        let entry = map.entry(key.to_owned()).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
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

/// Mastodon's throttles: sign-ups and logins per IP, API calls per token
/// (or per IP without one), with `X-RateLimit-*` headers on API responses.
async fn rate_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limits = state.rate_limits;
    let ip = req
        .extensions()
        .get::<ClientIp>()
        .map(|c| c.0)
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let path = req.uri().path().trim_end_matches('/').to_owned();
    let now = Utc::now();
    let specific = match (req.method(), path.as_str()) {
        (&Method::POST, "/api/v1/accounts") if limits.sign_up > 0 => {
            Some((format!("sign_up:{}", ip_key(ip)), limits.sign_up, 1800))
        }
        (&Method::POST, "/oauth/token" | "/oauth/authorize") if limits.login > 0 => {
            Some((format!("login:{}", ip_key(ip)), limits.login, 300))
        }
        _ => None,
    };
    if let Some((key, limit, period)) = specific {
        let d = state.limiter.hit(&key, limit, period, now);
        if !d.allowed {
            return ApiError::RateLimited(rate_headers(&d)).into_response();
        }
    }
    let api = path.starts_with("/api/") && limits.api > 0;
    let decision = api.then(|| {
        let key = match req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        {
            Some(token) => format!("api:token:{}", ferrodon_service::auth::token_hash(token)),
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
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("203.0.113.9, 10.0.0.2"),
        );
        let proxy: IpAddr = "10.0.0.1".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let public: IpAddr = "198.51.100.7".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        assert_eq!(client_ip(Some(proxy), &h).to_string(), "203.0.113.9");
        assert_eq!(client_ip(Some(public), &h), public);
    }
}
