//! The streaming role.
//!
//! Mastodon's streaming API (`/api/v1/streaming`, WebSocket and SSE, fed by
//! pub/sub) lands with the streaming issue. What exists now is the part
//! load balancers and clients probe: `/api/v1/streaming/health`, answered
//! `OK` as Mastodon's streaming server does, so the role can be deployed,
//! health-checked and stopped like the others.

use axum::Router;
use axum::routing::get;

/// `GET /api/v1/streaming/health`.
async fn health() -> &'static str {
    "OK"
}

/// The streaming routes, to mount beside the web routes (`serve`) or alone (`streaming`).
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/api/v1/streaming/health", get(health))
}
