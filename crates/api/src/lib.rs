//! The HTTP layer: the only crate that knows HTTP.
//!
//! [`router`] builds every route of the web role: the Mastodon REST API,
//! OAuth 2, WebFinger, the default images and `/health`. Handlers extract
//! parameters ([`params::Params`]) and credentials ([`auth::Auth`]), call
//! `ferrodon-service`, and shape Mastodon's JSON ([`entities`]); every error
//! becomes Mastodon's error JSON in [`error`]. Around them sit request ids
//! and JSON access logs, metrics, rate limits and a panic guard
//! ([`middleware`]). [`serve()`] runs a router on a listener with timeouts
//! and a connection cap; [`metrics_router`] is the separate Prometheus
//! listener's (`/metrics` is never on the public port).

pub mod auth;
pub mod entities;
pub mod error;
pub mod middleware;
pub mod params;
pub mod routes;
pub mod routing;
pub mod serve;

use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ferrodon_config::RateLimits;
use ferrodon_service::Services;
use metrics_exporter_prometheus::PrometheusHandle;

pub use middleware::RateLimiter;
pub use serve::{ServeOptions, serve};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    pub limiter: Arc<RateLimiter>,
    pub rate_limits: RateLimits,
    /// Proxies whose `X-Forwarded-For` names the client (`TRUSTED_PROXY_IP`).
    pub trusted_proxies: Arc<[ipnet::IpNet]>,
    /// Largest request body read (`limits.max_body_bytes`); larger ones get 413.
    pub max_body_bytes: usize,
}

/// The client's address (behind a trusted proxy, from `X-Forwarded-For`).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<ClientIp>()
            .copied()
            .unwrap_or(ClientIp(IpAddr::from([127, 0, 0, 1]))))
    }
}

/// `GET /health`: 200 when the database answers, as Mastodon's `/health`.
async fn health(State(state): State<AppState>) -> Response {
    db_health(state.services.db()).await
}

/// Prometheus text, with the database pool's figures taken now.
fn render_metrics(db: &ferrodon_storage::Db, handle: Option<&PrometheusHandle>) -> Response {
    let (open, idle) = db.pool_stats();
    metrics::gauge!("ferrodon_db_pool_connections", "state" => "open").set(f64::from(open));
    metrics::gauge!("ferrodon_db_pool_connections", "state" => "idle").set(idle as f64);
    match handle {
        Some(h) => (
            StatusCode::OK,
            [("content-type", "text/plain; version=0.0.4")],
            h.render(),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "metrics are not enabled").into_response(),
    }
}

/// `GET /health` result for a database.
async fn db_health(db: &ferrodon_storage::Db) -> Response {
    match db.ping().await {
        Ok(()) => (StatusCode::OK, "OK").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

/// Every route of the web role.
pub fn router(state: AppState) -> Router {
    router_with(state, Router::new())
}

/// The web role's routes plus `extra` (federation's, whose state is already
/// applied), all behind the same middleware: request ids, access log,
/// metrics, rate limits, JSON errors, the panic guard.
pub fn router_with(state: AppState, extra: Router) -> Router {
    // Uploads have their own body limits (the largest file plus the form).
    let api = routes(
        routes::media::upload_body_limit(&state),
        routes::accounts::update_credentials_body_limit(&state),
    )
    .into_router()
    .merge(extra.with_state::<AppState>(()))
    .fallback(middleware::not_found)
    .route_layer(axum::middleware::from_fn(middleware::tag_route));
    middleware::wrap(api, state.clone()).with_state(state)
}

/// Every (method, path template) [`router`] serves, from the same calls that
/// build it (`ferrodon routes` prints it; the adversarial suite walks it).
pub fn route_table() -> Vec<(axum::http::Method, &'static str)> {
    routes(0, 0).table()
}

/// The routes of [`router`], recorded as they are added.
fn routes(upload_limit: usize, profile_limit: usize) -> routing::Routes<AppState> {
    use axum::extract::DefaultBodyLimit;
    use routes::{
        accounts, announcements, apps, conversations, discovery, filters, instance, lists, media,
        notifications, oauth, polls, relations, statuses, tags, timelines, trends,
    };
    use routing::{delete, get, patch, post, put};
    let upload_limit = DefaultBodyLimit::max(upload_limit);
    let profile_limit = DefaultBodyLimit::max(profile_limit);
    routing::Routes::new()
        .route("/api/v1/apps", post(apps::create))
        .route(
            "/api/v1/apps/verify_credentials",
            get(apps::verify_credentials),
        )
        .route(
            "/api/v1/accounts",
            post(accounts::create).get(accounts::index),
        )
        .route(
            "/api/v1/accounts/verify_credentials",
            get(accounts::verify_credentials),
        )
        .route(
            "/api/v1/accounts/update_credentials",
            patch(accounts::update_credentials)
                .put(accounts::update_credentials)
                .layer(profile_limit),
        )
        .route("/api/v1/profile/avatar", delete(accounts::delete_avatar))
        .route("/api/v1/profile/header", delete(accounts::delete_header))
        .route("/api/v2/media", post(media::create).layer(upload_limit))
        .route("/api/v1/media", post(media::create).layer(upload_limit))
        .route(
            "/api/v1/media/{id}",
            get(media::show).put(media::update).delete(media::delete),
        )
        .route("/system/{*path}", get(media::file))
        .route(
            "/api/v1/accounts/relationships",
            get(accounts::relationships),
        )
        .route("/api/v1/accounts/lookup", get(accounts::lookup))
        .route("/api/v1/accounts/search", get(discovery::search))
        .route("/api/v2/search", get(discovery::search_v2))
        .route(
            "/api/v1/accounts/familiar_followers",
            get(discovery::familiar_followers),
        )
        .route(
            "/api/v1/accounts/{id}/featured_tags",
            get(tags::account_featured),
        )
        .route("/api/v1/directory", get(discovery::directory))
        .route("/api/v2/suggestions", get(discovery::suggestions))
        .route(
            "/api/v1/suggestions/{id}",
            delete(discovery::dismiss_suggestion),
        )
        .route("/api/v1/preferences", get(discovery::preferences))
        .route("/api/v1/tags/{name}", get(tags::show))
        .route("/api/v1/trends", get(trends::tags))
        .route("/api/v1/trends/tags", get(trends::tags))
        .route("/api/v1/trends/statuses", get(trends::statuses))
        .route("/api/v1/trends/links", get(trends::links))
        .route("/api/v1/tags/{name}/follow", post(tags::follow))
        .route("/api/v1/tags/{name}/unfollow", post(tags::unfollow))
        .route("/api/v1/tags/{name}/feature", post(tags::feature))
        .route("/api/v1/tags/{name}/unfeature", post(tags::unfeature))
        .route("/api/v1/followed_tags", get(tags::followed))
        .route(
            "/api/v1/featured_tags",
            get(tags::featured).post(tags::create_featured),
        )
        .route(
            "/api/v1/featured_tags/suggestions",
            get(tags::featured_suggestions),
        )
        .route("/api/v1/featured_tags/{id}", delete(tags::delete_featured))
        .route("/api/v1/accounts/{id}", get(accounts::show))
        .route("/api/v1/accounts/{id}/statuses", get(accounts::statuses))
        .route("/api/v1/accounts/{id}/followers", get(accounts::followers))
        .route("/api/v1/accounts/{id}/following", get(accounts::following))
        .route("/api/v1/accounts/{id}/follow", post(accounts::follow))
        .route("/api/v1/accounts/{id}/unfollow", post(accounts::unfollow))
        .route("/api/v1/accounts/{id}/block", post(relations::block))
        .route("/api/v1/accounts/{id}/unblock", post(relations::unblock))
        .route("/api/v1/accounts/{id}/mute", post(relations::mute))
        .route("/api/v1/accounts/{id}/unmute", post(relations::unmute))
        .route("/api/v1/accounts/{id}/endorse", post(relations::endorse))
        .route(
            "/api/v1/accounts/{id}/unendorse",
            post(relations::unendorse),
        )
        .route("/api/v1/accounts/{id}/pin", post(relations::endorse))
        .route("/api/v1/accounts/{id}/unpin", post(relations::unendorse))
        .route("/api/v1/accounts/{id}/note", post(relations::note))
        .route(
            "/api/v1/accounts/{id}/remove_from_followers",
            post(relations::remove_from_followers),
        )
        .route(
            "/api/v1/accounts/{id}/endorsements",
            get(relations::account_endorsements),
        )
        .route("/api/v1/blocks", get(relations::blocks))
        .route("/api/v1/mutes", get(relations::mutes))
        .route("/api/v1/endorsements", get(relations::endorsements))
        .route("/api/v1/follow_requests", get(relations::follow_requests))
        .route(
            "/api/v1/follow_requests/{id}/authorize",
            post(relations::authorize),
        )
        .route(
            "/api/v1/follow_requests/{id}/reject",
            post(relations::reject),
        )
        .route(
            "/api/v1/domain_blocks",
            get(relations::domain_blocks)
                .post(relations::block_domain)
                .delete(relations::unblock_domain),
        )
        .route(
            "/api/v1/statuses",
            post(statuses::create).get(statuses::index),
        )
        .route(
            "/api/v1/statuses/{id}",
            get(statuses::show)
                .delete(statuses::delete)
                .put(statuses::update),
        )
        .route("/api/v1/statuses/{id}/history", get(statuses::history))
        .route("/api/v1/statuses/{id}/source", get(statuses::source))
        .route("/api/v1/polls/{id}", get(polls::show))
        .route("/api/v1/polls/{id}/votes", post(polls::vote))
        .route("/api/v1/statuses/{id}/context", get(statuses::context))
        .route("/api/v1/statuses/{id}/favourite", post(statuses::favourite))
        .route(
            "/api/v1/statuses/{id}/unfavourite",
            post(statuses::unfavourite),
        )
        .route("/api/v1/statuses/{id}/reblog", post(statuses::reblog))
        .route("/api/v1/statuses/{id}/unreblog", post(statuses::unreblog))
        .route("/api/v1/statuses/{id}/bookmark", post(statuses::bookmark))
        .route(
            "/api/v1/statuses/{id}/unbookmark",
            post(statuses::unbookmark),
        )
        .route("/api/v1/statuses/{id}/pin", post(statuses::pin))
        .route("/api/v1/statuses/{id}/mute", post(statuses::mute))
        .route("/api/v1/statuses/{id}/unmute", post(statuses::unmute))
        .route("/api/v1/conversations", get(conversations::index))
        .route("/api/v1/conversations/{id}", delete(conversations::delete))
        .route("/api/v1/conversations/{id}/read", post(conversations::read))
        .route("/api/v1/statuses/{id}/unpin", post(statuses::unpin))
        .route(
            "/api/v1/statuses/{id}/favourited_by",
            get(statuses::favourited_by),
        )
        .route(
            "/api/v1/statuses/{id}/reblogged_by",
            get(statuses::reblogged_by),
        )
        .route("/api/v1/statuses/{id}/quotes", get(statuses::quotes))
        .route(
            "/api/v1/statuses/{id}/quotes/{quoting_status_id}/revoke",
            post(statuses::revoke_quote),
        )
        .route(
            "/api/v1/statuses/{id}/interaction_policy",
            put(statuses::interaction_policy),
        )
        .route("/api/v1/favourites", get(statuses::favourites))
        .route("/api/v1/bookmarks", get(statuses::bookmarks))
        .route("/api/v1/timelines/home", get(timelines::home))
        .route("/api/v1/timelines/public", get(timelines::public))
        .route("/api/v1/timelines/tag/{hashtag}", get(timelines::tag))
        .route("/api/v1/timelines/link", get(timelines::link))
        .route("/api/v1/timelines/list/{list_id}", get(lists::timeline))
        .route("/api/v1/lists", get(lists::index).post(lists::create))
        .route(
            "/api/v1/lists/{id}",
            get(lists::show)
                .put(lists::update)
                .patch(lists::update)
                .delete(lists::delete),
        )
        .route(
            "/api/v1/lists/{id}/accounts",
            get(lists::accounts)
                .post(lists::add_accounts)
                .delete(lists::remove_accounts),
        )
        .route("/api/v1/accounts/{id}/lists", get(lists::of_account))
        .route("/api/v1/instance", get(instance::v1))
        .route("/api/v2/instance", get(instance::v2))
        .route("/api/v1/custom_emojis", get(instance::custom_emojis))
        .route("/api/v1/instance/rules", get(instance::rules))
        .route("/api/v1/instance/peers", get(instance::peers))
        .route("/api/v1/instance/activity", get(instance::activity))
        .route(
            "/api/v1/instance/domain_blocks",
            get(instance::domain_blocks),
        )
        .route(
            "/api/v1/instance/extended_description",
            get(instance::extended_description),
        )
        .route(
            "/api/v1/instance/translation_languages",
            get(instance::translation_languages),
        )
        .route("/api/v1/announcements", get(announcements::index))
        .route(
            "/api/v1/announcements/{id}/dismiss",
            post(announcements::dismiss),
        )
        .route(
            "/api/v1/announcements/{id}/reactions/{name}",
            put(announcements::react).delete(announcements::unreact),
        )
        .route("/api/v1/reports", post(announcements::report))
        .route("/api/v1/scheduled_statuses", get(routes::scheduled::index))
        .route(
            "/api/v1/scheduled_statuses/{id}",
            get(routes::scheduled::show)
                .put(routes::scheduled::update)
                .delete(routes::scheduled::delete),
        )
        .route("/api/v2/filters", get(filters::index).post(filters::create))
        .route(
            "/api/v2/filters/{id}",
            get(filters::show)
                .put(filters::update)
                .delete(filters::delete),
        )
        .route(
            "/api/v2/filters/{id}/keywords",
            get(filters::keywords).post(filters::add_keyword),
        )
        .route(
            "/api/v2/filters/keywords/{id}",
            get(filters::show_keyword)
                .put(filters::update_keyword)
                .delete(filters::delete_keyword),
        )
        .route(
            "/api/v2/filters/{id}/statuses",
            get(filters::statuses).post(filters::add_status),
        )
        .route(
            "/api/v2/filters/statuses/{id}",
            get(filters::show_status).delete(filters::delete_status),
        )
        .route(
            "/api/v1/filters",
            get(filters::v1_index).post(filters::v1_create),
        )
        .route(
            "/api/v1/filters/{id}",
            get(filters::v1_show)
                .put(filters::v1_update)
                .delete(filters::v1_delete),
        )
        .route("/api/v1/admin/jobs", get(routes::admin::jobs))
        .route(
            "/api/v1/admin/federation/deliveries",
            get(routes::admin::deliveries),
        )
        .route("/api/v1/notifications", get(notifications::index))
        .route("/api/v1/notifications/clear", post(notifications::clear))
        .route(
            "/api/v1/notifications/unread_count",
            get(notifications::unread_count),
        )
        .route(
            "/api/v1/notifications/requests",
            get(notifications::requests),
        )
        .route(
            "/api/v1/notifications/requests/merged",
            get(notifications::requests_merged),
        )
        .route(
            "/api/v1/notifications/requests/accept",
            post(notifications::accept_requests),
        )
        .route(
            "/api/v1/notifications/requests/dismiss",
            post(notifications::dismiss_requests),
        )
        .route(
            "/api/v1/notifications/requests/{id}",
            get(notifications::request),
        )
        .route(
            "/api/v1/notifications/requests/{id}/accept",
            post(notifications::accept_request),
        )
        .route(
            "/api/v1/notifications/requests/{id}/dismiss",
            post(notifications::dismiss_request),
        )
        .route(
            "/api/v1/notifications/policy",
            get(notifications::policy_v1).put(notifications::update_policy_v1),
        )
        .route("/api/v1/notifications/{id}", get(notifications::show))
        .route(
            "/api/v1/notifications/{id}/dismiss",
            post(notifications::dismiss),
        )
        .route("/api/v2/notifications", get(notifications::grouped_index))
        .route("/api/v2/notifications/clear", post(notifications::clear))
        .route(
            "/api/v2/notifications/unread_count",
            get(notifications::grouped_unread_count),
        )
        .route(
            "/api/v2/notifications/policy",
            get(notifications::policy).patch(notifications::update_policy),
        )
        .route(
            "/api/v2/notifications/{group_key}",
            get(notifications::group),
        )
        .route(
            "/api/v2/notifications/{group_key}/accounts",
            get(notifications::group_accounts),
        )
        .route(
            "/api/v2/notifications/{group_key}/dismiss",
            post(notifications::dismiss_group),
        )
        .route(
            "/api/v1/markers",
            get(notifications::markers).post(notifications::save_markers),
        )
        .route(
            "/oauth/authorize",
            get(oauth::authorize_form).post(oauth::authorize),
        )
        .route("/oauth/token", post(oauth::token))
        .route("/oauth/revoke", post(oauth::revoke))
        .route(
            "/oauth/userinfo",
            get(oauth::userinfo).post(oauth::userinfo),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(oauth::metadata),
        )
        .route(
            "/avatars/original/missing.png",
            get(instance::missing_avatar),
        )
        .route(
            "/headers/original/missing.png",
            get(instance::missing_header),
        )
        .route("/health", get(health))
}

/// `/health` alone (and Mastodon's 404 for anything else), for the public
/// port of roles that serve no API (worker, streaming).
pub fn ops_router(db: ferrodon_storage::Db) -> Router {
    async fn ops_health(State(db): State<ferrodon_storage::Db>) -> Response {
        db_health(&db).await
    }
    Router::new()
        .route("/health", get(ops_health))
        .fallback(middleware::not_found)
        .with_state(db)
}

/// The metrics listener's routes: `/metrics` (Prometheus text) and `/health`.
pub fn metrics_router(db: ferrodon_storage::Db, metrics: Option<PrometheusHandle>) -> Router {
    #[derive(Clone)]
    struct Ops {
        db: ferrodon_storage::Db,
        metrics: Option<PrometheusHandle>,
    }
    async fn ops_health(State(ops): State<Ops>) -> Response {
        db_health(&ops.db).await
    }
    async fn ops_metrics(State(ops): State<Ops>) -> Response {
        render_metrics(&ops.db, ops.metrics.as_ref())
    }
    Router::new()
        .route("/health", get(ops_health))
        .route("/metrics", get(ops_metrics))
        .fallback(middleware::not_found)
        .with_state(Ops { db, metrics })
}
