//! Ferrodon's rules, between the HTTP layer and storage.
//!
//! Every use case is a method on [`Services`]: it validates input, checks
//! who may do what, writes through `ferrodon-storage` in one transaction
//! together with the jobs the change causes, and returns views (records plus
//! what a reader needs to see them). Nothing here knows HTTP or SQL; errors
//! are [`ServiceError`], which the API maps to status codes in one place.

pub mod accounts;
pub mod auth;
pub mod conversations;
pub mod discovery;
pub mod domain_policy;
pub mod edits;
pub mod emojis;
pub mod federate;
pub mod federation_reads;
pub mod filter_matching;
pub mod filters;
pub mod follows;
pub mod interactions;
pub mod jobs;
pub mod link_details;
pub mod lists;
pub mod media;
pub mod migration;
pub mod moderation;
pub mod notification_requests;
pub mod notifications;
pub mod outbound;
pub mod polls;
pub mod preview_cards;
pub mod quote_policy;
pub mod quotes;
pub mod relations;
pub mod remote;
pub mod remote_extras;
pub mod remote_quotes;
pub mod remote_statuses;
pub mod scheduled;
pub mod search;
pub mod server_content;
pub mod statuses;
pub mod tags;
pub mod text;
pub mod time;
pub mod timelines;
pub mod trends;
pub mod views;
pub mod visibility;
pub mod worker;

use std::collections::BTreeMap;
use std::sync::Arc;

use ferrodon_config::{Config, RegistrationMode, Secrets};
use ferrodon_model::{IdGenerator, Role};
use ferrodon_storage::feeds::FeedStore;
use ferrodon_storage::{Db, StorageError};

/// One field's validation error, as Mastodon's registration `details`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// `ERR_BLANK`, `ERR_TAKEN`, …
    pub code: &'static str,
    pub description: String,
}

/// OAuth 2 error codes (RFC 6749 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthErrorKind {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    InvalidScope,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    AccessDenied,
}

impl OAuthErrorKind {
    pub fn code(self) -> &'static str {
        match self {
            OAuthErrorKind::InvalidRequest => "invalid_request",
            OAuthErrorKind::InvalidClient => "invalid_client",
            OAuthErrorKind::InvalidGrant => "invalid_grant",
            OAuthErrorKind::InvalidScope => "invalid_scope",
            OAuthErrorKind::UnauthorizedClient => "unauthorized_client",
            OAuthErrorKind::UnsupportedGrantType => "unsupported_grant_type",
            OAuthErrorKind::UnsupportedResponseType => "unsupported_response_type",
            OAuthErrorKind::AccessDenied => "access_denied",
        }
    }

    /// Doorkeeper's description, which clients show.
    pub fn description(self) -> &'static str {
        match self {
            OAuthErrorKind::InvalidRequest => {
                "The request is missing a required parameter, includes an unsupported parameter value, or is otherwise malformed."
            }
            OAuthErrorKind::InvalidClient => {
                "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method."
            }
            OAuthErrorKind::InvalidGrant => {
                "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client."
            }
            OAuthErrorKind::InvalidScope => {
                "The requested scope is invalid, unknown, or malformed."
            }
            OAuthErrorKind::UnauthorizedClient => "You are not authorized to revoke this token",
            OAuthErrorKind::UnsupportedGrantType => {
                "The authorization grant type is not supported by the authorization server."
            }
            OAuthErrorKind::UnsupportedResponseType => {
                "The authorization server does not support this response type."
            }
            OAuthErrorKind::AccessDenied => {
                "The resource owner or authorization server denied the request."
            }
        }
    }
}

/// Why a use case did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The record does not exist, or the caller may not know it exists.
    #[error("{0}")]
    NotFound(&'static str),
    /// No valid credentials.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// Valid credentials, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// The input breaks a rule; `details` per field when the client can use them.
    #[error("{message}")]
    Unprocessable {
        message: String,
        details: Option<BTreeMap<&'static str, Vec<FieldError>>>,
    },
    /// The input is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// The resource existed and is gone for good.
    #[error("{0}")]
    Gone(&'static str),
    #[error("{}", .0.description())]
    OAuth(OAuthErrorKind),
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A bug or an unavailable dependency.
    #[error("{0}")]
    Internal(String),
}

impl ServiceError {
    pub fn not_found() -> Self {
        ServiceError::NotFound("Record not found")
    }

    pub fn not_allowed() -> Self {
        ServiceError::Forbidden("This action is not allowed".to_owned())
    }

    /// `Validation failed: …` without per-field details.
    pub fn invalid(message: impl Into<String>) -> Self {
        ServiceError::Unprocessable {
            message: format!("Validation failed: {}", message.into()),
            details: None,
        }
    }
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

/// Limits published in the instance entity and enforced on input.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_status_chars: usize,
    pub characters_reserved_per_url: usize,
    pub max_display_name_chars: usize,
    pub max_note_chars: usize,
    pub max_fields: usize,
    pub max_field_chars: usize,
    pub max_poll_options: usize,
    pub max_poll_option_chars: usize,
    /// Shortest and longest poll duration, in seconds.
    pub min_poll_expiration: i64,
    pub max_poll_expiration: i64,
    /// How far ahead a status must be scheduled, in seconds.
    pub min_schedule_offset: i64,
    /// Scheduled statuses per account, in all and per day.
    pub max_scheduled_total: i64,
    pub max_scheduled_daily: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_status_chars: 500,
            characters_reserved_per_url: 23,
            max_display_name_chars: 30,
            max_note_chars: 500,
            max_fields: 4,
            max_field_chars: 255,
            max_poll_options: 4,
            max_poll_option_chars: 50,
            min_poll_expiration: 300,
            // One month, as Rails counts it (30.436875 days).
            max_poll_expiration: 2_629_746,
            min_schedule_offset: 300,
            max_scheduled_total: 300,
            max_scheduled_daily: 25,
        }
    }
}

/// Facts about this instance that shape URLs and rules.
#[derive(Debug, Clone)]
pub struct Instance {
    /// `example.com` or `localhost:3000`.
    pub domain: String,
    /// `https://example.com`.
    pub base_url: String,
    pub streaming_url: String,
    pub title: String,
    pub description: String,
    pub contact_email: String,
    pub registrations: RegistrationMode,
    pub password_grant: bool,
    pub limits: Limits,
    /// Where uploads live and how large they may be.
    pub media: ferrodon_config::MediaConfig,
    /// Whether trends are computed and shown (Mastodon's `Setting.trends`).
    pub trends: bool,
    /// The enabled local custom emojis, as last loaded (see [`emojis`]).
    pub emojis: std::sync::Arc<emojis::EmojiSet>,
}

impl Instance {
    /// The instance as configured, once the listening port is known.
    pub fn from_config(config: &Config, bound_port: u16) -> Instance {
        let domain = config.resolved_domain(bound_port);
        let https = config.https_for(&domain);
        let base_url = format!("{}://{domain}", if https { "https" } else { "http" });
        let streaming_url = config
            .streaming_url
            .clone()
            .unwrap_or_else(|| format!("{}://{domain}", if https { "wss" } else { "ws" }));
        Instance {
            domain,
            base_url,
            streaming_url,
            title: config.instance.title.clone(),
            description: config.instance.description.clone(),
            contact_email: config.instance.contact_email.clone(),
            registrations: config.registrations,
            password_grant: config.password_grant,
            limits: Limits {
                min_poll_expiration: i64::try_from(config.poll_min_expiration_s).unwrap_or(300),
                min_schedule_offset: i64::try_from(config.scheduled_min_offset_s).unwrap_or(300),
                ..Limits::default()
            },
            media: config.media.clone(),
            trends: config.trends,
            emojis: Default::default(),
        }
    }

    /// Profile page of a local account.
    pub fn account_url(&self, username: &str) -> String {
        format!("{}/@{username}", self.base_url)
    }
    /// ActivityPub id of a local account.
    pub fn account_uri(&self, username: &str) -> String {
        format!("{}/users/{username}", self.base_url)
    }
    pub fn status_uri(&self, username: &str, id: i64) -> String {
        format!("{}/users/{username}/statuses/{id}", self.base_url)
    }
    pub fn status_url(&self, username: &str, id: i64) -> String {
        format!("{}/@{username}/{id}", self.base_url)
    }
    /// Public URL of a file stored under the media directory.
    pub fn media_url(&self, path: &str) -> String {
        format!("{}/system/{path}", self.base_url)
    }
    pub fn tag_url(&self, name: &str) -> String {
        let encoded: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
        format!("{}/tags/{}", self.base_url, encoded.replace('+', "%20"))
    }
    /// An account's ActivityPub id. Local ids come from the instance's
    /// domain as configured now, so they are right even for accounts made by
    /// an operator command that ran without the server's port.
    pub fn uri_of(&self, account: &ferrodon_storage::accounts::Account) -> String {
        if account.is_local() {
            self.account_uri(&account.username)
        } else {
            account.uri.clone()
        }
    }

    /// An account's profile page.
    pub fn url_of(&self, account: &ferrodon_storage::accounts::Account) -> String {
        if account.is_local() {
            self.account_url(&account.username)
        } else {
            account.url.clone().unwrap_or_else(|| account.uri.clone())
        }
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub token_id: ferrodon_model::TokenId,
    pub app_id: ferrodon_model::AppId,
    pub scopes: ferrodon_model::ScopeSet,
    pub user: Option<UserContext>,
}

/// The user behind a user token.
#[derive(Debug, Clone, Copy)]
pub struct UserContext {
    pub user_id: ferrodon_model::UserId,
    pub account_id: ferrodon_model::AccountId,
    pub role: Role,
    pub approved: bool,
    pub disabled: bool,
    pub suspended: bool,
}

struct Inner {
    db: Db,
    feeds: Arc<dyn FeedStore>,
    search: Arc<dyn ferrodon_storage::search::SearchBackend>,
    jobs: ferrodon_jobs::JobQueue,
    ids: IdGenerator,
    instance: Instance,
    secrets: Secrets,
    /// The guarded client for every outbound request.
    fetcher: ferrodon_fetch::Fetcher,
    /// The instance's figures, recomputed at most once a minute (they count rows).
    stats: std::sync::Mutex<Option<(std::time::Instant, InstanceStats)>>,
    /// Compiled content filters of recently seen accounts.
    filter_cache: filter_matching::FilterCache,
    /// Lookups on other servers, once federation is started.
    resolver: std::sync::OnceLock<Arc<dyn federate::Resolver>>,
}

/// Figures for the instance entity.
#[derive(Debug, Clone, Copy, Default)]
pub struct InstanceStats {
    pub users: i64,
    pub statuses: i64,
    pub domains: i64,
    /// Local users seen in the last 30 days, and in the last 180 (NodeInfo).
    pub active_month: i64,
    pub active_halfyear: i64,
}

/// How long instance figures are served from memory.
const STATS_TTL: std::time::Duration = std::time::Duration::from_secs(60);

/// Every use case, sharing the database, the feed store and the id generator.
#[derive(Clone)]
pub struct Services {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Services({})", self.inner.instance.domain)
    }
}

impl Services {
    pub fn new(
        db: Db,
        feeds: Arc<dyn FeedStore>,
        jobs: ferrodon_jobs::JobQueue,
        instance: Instance,
        secrets: Secrets,
        fetcher: ferrodon_fetch::Fetcher,
    ) -> Self {
        Services {
            inner: Arc::new(Inner {
                search: Arc::new(ferrodon_storage::search::DatabaseSearch::new(db.clone())),
                db,
                feeds,
                jobs,
                ids: IdGenerator::new(),
                instance,
                secrets,
                fetcher,
                stats: std::sync::Mutex::new(None),
                filter_cache: filter_matching::FilterCache::default(),
                resolver: std::sync::OnceLock::new(),
            }),
        }
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }
    pub(crate) fn filter_cache(&self) -> &filter_matching::FilterCache {
        &self.inner.filter_cache
    }
    pub fn feeds(&self) -> &dyn FeedStore {
        self.inner.feeds.as_ref()
    }
    /// Where full-text status search runs (the database's own engine).
    pub fn search_backend(&self) -> &dyn ferrodon_storage::search::SearchBackend {
        self.inner.search.as_ref()
    }
    /// The job queue, for work not tied to a database transaction.
    pub fn jobs(&self) -> &ferrodon_jobs::JobQueue {
        &self.inner.jobs
    }
    pub fn ids(&self) -> &IdGenerator {
        &self.inner.ids
    }
    pub fn instance(&self) -> &Instance {
        &self.inner.instance
    }
    pub(crate) fn secrets(&self) -> &Secrets {
        &self.inner.secrets
    }
    /// The guarded outbound HTTP client.
    pub fn fetcher(&self) -> &ferrodon_fetch::Fetcher {
        &self.inner.fetcher
    }
    /// Gives the service layer federation's lookups (once; later calls are
    /// ignored).
    pub fn set_resolver(&self, resolver: Arc<dyn federate::Resolver>) {
        let _ = self.inner.resolver.set(resolver);
    }
    pub(crate) fn resolver(&self) -> Option<&Arc<dyn federate::Resolver>> {
        self.inner.resolver.get()
    }

    /// Figures for the instance entity, cached for a minute.
    pub async fn instance_stats(&self) -> Result<InstanceStats> {
        if let Ok(guard) = self.inner.stats.lock()
            && let Some((at, stats)) = *guard
            && at.elapsed() < STATS_TTL
        {
            return Ok(stats);
        }
        let db = self.db();
        let month_ago = ferrodon_storage::now() - chrono::Duration::days(30);
        let stats = InstanceStats {
            users: ferrodon_storage::accounts::count_local(db).await?,
            statuses: ferrodon_storage::statuses::count_local(db).await?,
            domains: ferrodon_storage::accounts::count_domains(db).await?,
            active_month: ferrodon_storage::users::count_active_since(db, month_ago).await?,
            active_halfyear: ferrodon_storage::users::count_active_since(
                db,
                ferrodon_storage::now() - chrono::Duration::days(180),
            )
            .await?,
        };
        if let Ok(mut guard) = self.inner.stats.lock() {
            *guard = Some((std::time::Instant::now(), stats));
        }
        Ok(stats)
    }

    /// The instance's enabled custom emojis.
    pub async fn custom_emojis(&self) -> Result<Vec<ferrodon_storage::emojis::CustomEmoji>> {
        // Mastodon's `CustomEmoji.listed`: enabled and shown in the picker.
        let mut all = ferrodon_storage::emojis::local(self.db()).await?;
        all.retain(|e| e.visible_in_picker);
        Ok(all)
    }
}
