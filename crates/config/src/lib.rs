//! Ferrodon's configuration: one typed [`Config`], read from an optional TOML
//! file and then from environment variables (which win).
//!
//! Every setting is declared once in [`SETTINGS`] with its TOML key, the
//! environment variables that set it (Ferrodon's own name first, then
//! Mastodon's where the meaning is the same) and a one-line description; the
//! README's configuration table and `ferrodon config check` come from there.
//! A bad value is a [`ConfigError`] that names the key it came from.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

mod secrets;

pub use secrets::{SecretError, Secrets};

/// How people may sign up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationMode {
    /// Anyone may sign up and use the account at once.
    Open,
    /// Anyone may sign up; a moderator approves the account before it can be used.
    Approval,
    /// Nobody may sign up; operators create accounts with `ferrodon admin`.
    Closed,
}

impl RegistrationMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RegistrationMode::Open => "open",
            RegistrationMode::Approval => "approval",
            RegistrationMode::Closed => "closed",
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

/// Which relational database a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    Sqlite,
    Postgres,
}

/// The relational database.
#[derive(Clone)]
pub struct DatabaseConfig {
    /// `sqlite:…` or `postgres://…`; through PgBouncer in production.
    pub url: String,
    /// Straight to PostgreSQL, for `migrate` (PgBouncer breaks session locks).
    pub direct_url: String,
    /// `false` sends only unnamed statements (PgBouncer < 1.21 in transaction mode).
    pub prepared_statements: bool,
    /// Connections per process.
    pub pool: u32,
}

impl DatabaseConfig {
    pub fn kind(&self) -> DatabaseKind {
        database_kind(&self.url).unwrap_or(DatabaseKind::Sqlite)
    }
}

impl fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &redact_url(&self.url))
            .field("direct_url", &redact_url(&self.direct_url))
            .field("prepared_statements", &self.prepared_statements)
            .field("pool", &self.pool)
            .finish()
    }
}

/// The Redis-API store (Redis, Valkey, Dragonfly).
#[derive(Clone, Default)]
pub struct RedisConfig {
    /// When unset, Ferrodon uses in-process and SQL equivalents.
    pub url: Option<String>,
    /// The job queues' store; falls back to `url`.
    pub queue_url: Option<String>,
    /// Prefix for every key, so several instances (or test runs) share a server.
    pub namespace: Option<String>,
}

impl RedisConfig {
    /// The key prefix, ending in `:` when a namespace is set.
    pub fn key_prefix(&self) -> String {
        match &self.namespace {
            Some(ns) if !ns.is_empty() => format!("{ns}:"),
            _ => String::new(),
        }
    }
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &self.url.as_deref().map(redact_url))
            .field("queue_url", &self.queue_url.as_deref().map(redact_url))
            .field("namespace", &self.namespace)
            .finish()
    }
}

/// Request rate limits, with Mastodon's numbers as defaults (0 turns one off).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Requests per 5 minutes per valid access token (or per client address without one).
    pub api: u32,
    /// Sign-ups through the API per 30 minutes per IP.
    pub sign_up: u32,
    /// Password logins (`/oauth/token` password grant, the sign-in form) per 5 minutes per IP.
    pub login: u32,
    /// Media uploads (`POST /api/v1/media`, `/api/v2/media`) per 30 minutes per account,
    /// whatever `api` is (Mastodon's `throttle_api_media`).
    pub media: u32,
}

/// How the server treats connections (every listener of every role).
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Seconds a client has to send a request's headers (from the connection's
    /// start, or from the first byte of a later request on a kept-alive one).
    pub header_read_timeout_s: u64,
    /// The longest pause between request body bytes, in seconds.
    pub body_read_timeout_s: u64,
    /// Seconds a connection with no request in flight stays open.
    pub keepalive_timeout_s: u64,
    /// Connections served at once per process; more wait in the listen backlog.
    pub max_connections: usize,
    /// Proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXY_IP`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl HttpConfig {
    /// Rails' default trusted proxies: loopback, private and link-local ranges.
    pub fn default_trusted_proxies() -> Vec<ipnet::IpNet> {
        parse_cidr_list(DEFAULT_TRUSTED_PROXIES).unwrap_or_default()
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            header_read_timeout_s: 10,
            body_read_timeout_s: 30,
            keepalive_timeout_s: 20,
            max_connections: 4096,
            trusted_proxies: HttpConfig::default_trusted_proxies(),
        }
    }
}

const DEFAULT_TRUSTED_PROXIES: &str = "127.0.0.0/8, ::1, 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 169.254.0.0/16, fc00::/7, fe80::/10";

/// Where `/metrics` is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsListen {
    /// `off`: no metrics listener.
    Off,
    /// The default address: if it is taken (several roles on one host), the
    /// process warns and runs without it.
    Default(SocketAddr),
    /// An address the operator set: the process refuses to start without it.
    Explicit(SocketAddr),
}

/// Public facts about the instance.
#[derive(Debug, Clone)]
pub struct InstanceConfig {
    pub title: String,
    pub description: String,
    pub contact_email: String,
}

/// Background work.
#[derive(Debug, Clone, Copy)]
pub struct WorkerConfig {
    /// How often an idle worker looks for new jobs, in milliseconds.
    pub poll_interval_ms: u64,
    /// Seconds between scheduled clean-ups.
    pub cleanup_interval_s: u64,
    /// Seconds between recomputations of the trends.
    pub trends_interval_s: u64,
    /// Seconds a claimed job stays leased without a heartbeat.
    pub lease_s: u64,
    /// Seconds a stopping worker waits for running jobs.
    pub shutdown_timeout_s: u64,
    /// Jobs run at once by one worker process.
    pub concurrency: usize,
}

/// Uploaded media: where the files live and how large they may be.
#[derive(Debug, Clone)]
pub struct MediaConfig {
    /// Root of the stored files (`media_attachments/…`, `accounts/…`), served at `/system/`.
    pub dir: PathBuf,
    /// Largest image upload, in bytes.
    pub max_image_bytes: u64,
    /// Largest video or audio upload, in bytes.
    pub max_video_bytes: u64,
    /// Most bytes of uploads one account may keep unattached (0: no limit).
    pub unattached_quota_bytes: u64,
    /// Most uploads one account may keep unattached (0: no limit).
    pub unattached_quota_files: u64,
}

impl MediaConfig {
    /// Mastodon's limits (16 MB images, 99 MB video and audio) under `dir`,
    /// and at most 20 unattached uploads of 200 MB in all per account.
    pub fn new(dir: PathBuf) -> MediaConfig {
        MediaConfig {
            dir,
            max_image_bytes: 16 * 1024 * 1024,
            max_video_bytes: 99 * 1024 * 1024,
            unattached_quota_bytes: 200 * 1024 * 1024,
            unattached_quota_files: 20,
        }
    }
}

/// The whole configuration of one Ferrodon process.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// The instance's domain, possibly with a port (`localhost:3000`). `None`
    /// means "localhost and the port actually bound", resolved at start.
    pub domain: Option<String>,
    /// Whether the instance's own URLs use https; `None` means "decide from the domain".
    pub https: Option<bool>,
    pub data_dir: PathBuf,
    pub database: DatabaseConfig,
    pub redis: RedisConfig,
    pub registrations: RegistrationMode,
    /// Whether `/oauth/token` accepts the resource-owner password grant.
    pub password_grant: bool,
    /// Whether trending hashtags, statuses and links are computed and shown.
    pub trends: bool,
    /// Overrides the streaming URL published in the instance entity.
    pub streaming_url: Option<String>,
    /// From `SECRET_KEY_BASE`; when unset one is generated into the data dir.
    pub secret_key_base: Option<String>,
    pub instance: InstanceConfig,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Shortest poll duration accepted, in seconds (Mastodon's 300; lowered only by tests).
    pub poll_min_expiration_s: u64,
    /// How far ahead a status must be scheduled, in seconds (Mastodon's 300; lowered only by tests).
    pub scheduled_min_offset_s: u64,
    pub media: MediaConfig,
    pub rate_limits: RateLimits,
    pub http: HttpConfig,
    /// The Prometheus listener (`metrics.listen`), apart from the public port.
    pub metrics_listen: MetricsListen,
    pub log_level: String,
    pub log_format: LogFormat,
    pub worker: WorkerConfig,
    /// Private ranges outbound requests may reach (`ALLOWED_PRIVATE_ADDRESSES`);
    /// every other non-public address is refused.
    pub allowed_private_addresses: Vec<ipnet::IpNet>,
    /// Whether outbound requests may reach public addresses at all (tests
    /// and air-gapped instances turn it off).
    pub outbound_public: bool,
}

impl Config {
    /// The domain once the listening port is known.
    pub fn resolved_domain(&self, bound_port: u16) -> String {
        self.domain
            .clone()
            .unwrap_or_else(|| format!("localhost:{bound_port}"))
    }

    /// Whether the instance's URLs use https, given its resolved domain:
    /// explicit setting, else false for localhost or a domain with a port.
    pub fn https_for(&self, domain: &str) -> bool {
        self.https.unwrap_or_else(|| {
            let host = domain.split(':').next().unwrap_or(domain);
            !(host == "localhost" || host.ends_with(".localhost") || domain.contains(':'))
        })
    }
}

/// A configuration value that cannot be used, with the key it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {key}: {message}")]
pub struct ConfigError {
    /// The environment variable or TOML key (or the file) at fault.
    pub key: String,
    pub message: String,
}

impl ConfigError {
    fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// One setting: where it is read from and what it means.
#[derive(Debug)]
pub struct Setting {
    /// Dotted TOML key.
    pub key: &'static str,
    /// Environment variables, the first being Ferrodon's own name.
    pub env: &'static [&'static str],
    /// Default, as text for the documentation.
    pub default: &'static str,
    pub secret: bool,
    pub doc: &'static str,
}

/// Every setting Ferrodon reads.
pub const SETTINGS: &[Setting] = &[
    Setting {
        key: "listen",
        env: &["FERRODON_LISTEN"],
        default: "127.0.0.1:3000",
        secret: false,
        doc: "Address and port to listen on (port 0 picks a free port). Mastodon's BIND and PORT are read when this is unset.",
    },
    Setting {
        key: "domain",
        env: &["FERRODON_DOMAIN", "LOCAL_DOMAIN"],
        default: "localhost:<port>",
        secret: false,
        doc: "The instance's domain as people see it in handles; may carry a port.",
    },
    Setting {
        key: "https",
        env: &["FERRODON_HTTPS", "LOCAL_HTTPS"],
        default: "false for localhost or a domain with a port, else true",
        secret: false,
        doc: "Whether the instance's own URLs use https.",
    },
    Setting {
        key: "data_dir",
        env: &["FERRODON_DATA_DIR"],
        default: "./data",
        secret: false,
        doc: "Where the SQLite database and generated secrets live.",
    },
    Setting {
        key: "database.url",
        env: &["DATABASE_URL"],
        default: "sqlite:<data_dir>/ferrodon.sqlite3",
        secret: true,
        doc: "sqlite:PATH or postgres://… (through PgBouncer in production). Mastodon's DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_PASS build one when this is unset.",
    },
    Setting {
        key: "database.direct_url",
        env: &["DATABASE_DIRECT_URL"],
        default: "database.url",
        secret: true,
        doc: "Straight to PostgreSQL, bypassing PgBouncer; used by `migrate`.",
    },
    Setting {
        key: "database.prepared_statements",
        env: &["PREPARED_STATEMENTS"],
        default: "true",
        secret: false,
        doc: "false sends only unnamed statements, for PgBouncer < 1.21 in transaction mode.",
    },
    Setting {
        key: "database.pool",
        env: &["DB_POOL"],
        default: "10",
        secret: false,
        doc: "Database connections per process.",
    },
    Setting {
        key: "redis.url",
        env: &["REDIS_URL"],
        default: "unset (in-process and SQL equivalents)",
        secret: true,
        doc: "Redis-API store for home feeds. Mastodon's REDIS_HOST, REDIS_PORT, REDIS_PASSWORD build one when this is unset.",
    },
    Setting {
        key: "redis.queue_url",
        env: &["QUEUE_REDIS_URL", "SIDEKIQ_REDIS_URL"],
        default: "redis.url",
        secret: true,
        doc: "Redis-API store for the job queues (Mastodon's SIDEKIQ_REDIS_URL); without either URL, jobs stay in the SQL database.",
    },
    Setting {
        key: "redis.namespace",
        env: &["REDIS_NAMESPACE"],
        default: "unset",
        secret: false,
        doc: "Prefix for every Redis key.",
    },
    Setting {
        key: "registrations",
        env: &["FERRODON_REGISTRATIONS"],
        default: "open",
        secret: false,
        doc: "Sign-up mode: open, approval or closed.",
    },
    Setting {
        key: "oauth.password_grant",
        env: &["FERRODON_PASSWORD_GRANT"],
        default: "true",
        secret: false,
        doc: "Whether /oauth/token accepts grant_type=password.",
    },
    Setting {
        key: "trends.enabled",
        env: &["FERRODON_TRENDS"],
        default: "true",
        secret: false,
        doc: "Whether trending hashtags, statuses and links are computed and shown (/api/v1/trends/*).",
    },
    Setting {
        key: "streaming_url",
        env: &["STREAMING_API_BASE_URL"],
        default: "wss://<domain> (ws:// without https)",
        secret: false,
        doc: "Streaming API base URL published to clients.",
    },
    Setting {
        key: "secret_key_base",
        env: &["SECRET_KEY_BASE"],
        default: "generated into <data_dir>/secrets.toml",
        secret: true,
        doc: "Key for signed tokens; give every process of a multi-process instance the same value.",
    },
    Setting {
        key: "instance.title",
        env: &["FERRODON_INSTANCE_TITLE"],
        default: "Ferrodon",
        secret: false,
        doc: "Instance name shown to clients.",
    },
    Setting {
        key: "instance.description",
        env: &["FERRODON_INSTANCE_DESCRIPTION"],
        default: "A Ferrodon instance.",
        secret: false,
        doc: "Short description shown to clients.",
    },
    Setting {
        key: "instance.contact_email",
        env: &["FERRODON_CONTACT_EMAIL"],
        default: "empty",
        secret: false,
        doc: "Contact address published in the instance entity.",
    },
    Setting {
        key: "limits.max_body_bytes",
        env: &["FERRODON_MAX_BODY_BYTES"],
        default: "1048576",
        secret: false,
        doc: "Largest request body accepted; larger ones get 413.",
    },
    Setting {
        key: "limits.poll_min_expiration_s",
        env: &["FERRODON_POLL_MIN_EXPIRATION"],
        default: "300",
        secret: false,
        doc: "Shortest poll duration accepted, in seconds (Mastodon's five minutes); meant to be lowered only by tests.",
    },
    Setting {
        key: "limits.scheduled_min_offset_s",
        env: &["FERRODON_SCHEDULED_MIN_OFFSET"],
        default: "300",
        secret: false,
        doc: "How far ahead a status must be scheduled, in seconds (Mastodon's five minutes); meant to be lowered only by tests.",
    },
    Setting {
        key: "media.dir",
        env: &["FERRODON_MEDIA_DIR"],
        default: "<data_dir>/media",
        secret: false,
        doc: "Where uploaded media, avatars and headers are stored; the web role serves them at /system/.",
    },
    Setting {
        key: "limits.max_image_bytes",
        env: &["FERRODON_MAX_IMAGE_SIZE", "MAX_IMAGE_SIZE"],
        default: "16777216",
        secret: false,
        doc: "Largest image upload (bytes); published in the instance entity.",
    },
    Setting {
        key: "limits.max_video_bytes",
        env: &["FERRODON_MAX_VIDEO_SIZE", "MAX_VIDEO_SIZE"],
        default: "103809024",
        secret: false,
        doc: "Largest video or audio upload (bytes); larger request bodies get 413.",
    },
    Setting {
        key: "limits.unattached_media_bytes",
        env: &["FERRODON_UNATTACHED_MEDIA_QUOTA"],
        default: "209715200",
        secret: false,
        doc: "Most bytes of uploads one account may keep unattached (not yet in a post; they are removed after a day); more is refused with 422. 0 = no limit.",
    },
    Setting {
        key: "limits.unattached_media_files",
        env: &["FERRODON_UNATTACHED_MEDIA_FILES"],
        default: "20",
        secret: false,
        doc: "Most uploads one account may keep unattached; more is refused with 422. 0 = no limit.",
    },
    Setting {
        key: "rate_limits.api",
        env: &["FERRODON_RATE_LIMIT_API"],
        default: "300",
        secret: false,
        doc: "API requests per 5 minutes per valid access token, otherwise per client address (IPv6 per /64; an invalid token counts as none); 0 = unlimited.",
    },
    Setting {
        key: "rate_limits.sign_up",
        env: &["FERRODON_RATE_LIMIT_SIGN_UP"],
        default: "5",
        secret: false,
        doc: "API sign-ups per 30 minutes per IP; 0 = unlimited.",
    },
    Setting {
        key: "rate_limits.login",
        env: &["FERRODON_RATE_LIMIT_LOGIN"],
        default: "25",
        secret: false,
        doc: "Password logins per 5 minutes per IP; 0 = unlimited.",
    },
    Setting {
        key: "rate_limits.media",
        env: &["FERRODON_RATE_LIMIT_MEDIA"],
        default: "30",
        secret: false,
        doc: "Media uploads (POST /api/v1/media, /api/v2/media) per 30 minutes per account, whatever rate_limits.api is; 0 = unlimited.",
    },
    Setting {
        key: "http.trusted_proxies",
        env: &["TRUSTED_PROXY_IP"],
        default: "127.0.0.0/8, ::1, 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 169.254.0.0/16, fc00::/7, fe80::/10",
        secret: false,
        doc: "Comma-separated CIDRs (or addresses) of the reverse proxies whose X-Forwarded-For names the client (for rate limits and logs); replaces the default list; none trusts no proxy.",
    },
    Setting {
        key: "http.header_read_timeout_s",
        env: &["FERRODON_HEADER_READ_TIMEOUT"],
        default: "10",
        secret: false,
        doc: "Seconds a client has to send a request's headers (from the connection's start, or from the first byte of a later request); then the connection is closed.",
    },
    Setting {
        key: "http.body_read_timeout_s",
        env: &["FERRODON_BODY_READ_TIMEOUT"],
        default: "30",
        secret: false,
        doc: "The longest pause between request body bytes, in seconds; a stalled request gets 408 (or its connection is closed once the answer has started).",
    },
    Setting {
        key: "http.keepalive_timeout_s",
        env: &["FERRODON_KEEPALIVE_TIMEOUT"],
        default: "20",
        secret: false,
        doc: "Seconds a kept-alive connection with no request in flight stays open.",
    },
    Setting {
        key: "http.max_connections",
        env: &["FERRODON_MAX_CONNECTIONS"],
        default: "4096",
        secret: false,
        doc: "Connections one process serves at once; further ones wait in the listen backlog until one closes.",
    },
    Setting {
        key: "metrics.listen",
        env: &["FERRODON_METRICS_LISTEN"],
        default: "127.0.0.1:9394",
        secret: false,
        doc: "Address and port of the Prometheus /metrics listener (never the public port, where /metrics is 404), or off. If the default is taken (several roles on one host) the process warns and runs without it; an address set here must be free.",
    },
    Setting {
        key: "log.level",
        env: &["FERRODON_LOG", "RUST_LOG"],
        default: "info",
        secret: false,
        doc: "Log filter (tracing-subscriber syntax, e.g. info,ferrodon_storage=debug).",
    },
    Setting {
        key: "log.format",
        env: &["FERRODON_LOG_FORMAT"],
        default: "json",
        secret: false,
        doc: "json or text.",
    },
    Setting {
        key: "worker.poll_interval_ms",
        env: &["FERRODON_WORKER_POLL_MS"],
        default: "250",
        secret: false,
        doc: "How often an idle worker looks for jobs (with Redis it waits on a wake-up list up to this long).",
    },
    Setting {
        key: "worker.lease_s",
        env: &["FERRODON_JOB_LEASE"],
        default: "300",
        secret: false,
        doc: "Seconds a running job stays claimed without a heartbeat; a crashed worker's jobs run again after this.",
    },
    Setting {
        key: "worker.shutdown_timeout_s",
        env: &["FERRODON_WORKER_SHUTDOWN_TIMEOUT"],
        default: "25",
        secret: false,
        doc: "On SIGTERM, seconds a worker lets running jobs finish before handing them back.",
    },
    Setting {
        key: "worker.cleanup_interval_s",
        env: &["FERRODON_CLEANUP_INTERVAL"],
        default: "300",
        secret: false,
        doc: "Seconds between runs of the scheduled clean-up (run by one worker per period).",
    },
    Setting {
        key: "worker.trends_interval_s",
        env: &["FERRODON_TRENDS_INTERVAL"],
        default: "300",
        secret: false,
        doc: "Seconds between recomputations of the trends (run by one worker per period).",
    },
    Setting {
        key: "worker.concurrency",
        env: &["FERRODON_WORKER_CONCURRENCY"],
        default: "5",
        secret: false,
        doc: "Jobs one worker process runs at once.",
    },
    Setting {
        key: "outbound.allowed_private_addresses",
        env: &["ALLOWED_PRIVATE_ADDRESSES"],
        default: "none",
        secret: false,
        doc: "Comma-separated CIDRs (or addresses) of private networks that outgoing requests (link previews, later federation) may reach; every other loopback, private, link-local or reserved address is refused.",
    },
    Setting {
        key: "outbound.public",
        env: &["FERRODON_OUTBOUND_PUBLIC"],
        default: "true",
        secret: false,
        doc: "false: outgoing requests reach no public address, only outbound.allowed_private_addresses (an instance kept off the internet; the test servers run so).",
    },
];

/// Where a value came from, for error messages and `config check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    File(String),
    Env(&'static str),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File(k) => write!(f, "file: {k}"),
            Source::Env(name) => write!(f, "env: {name}"),
        }
    }
}

/// The raw values gathered from the file and the environment, by TOML key.
struct Raw {
    values: BTreeMap<&'static str, (String, Source)>,
}

impl Raw {
    fn get(&self, key: &str) -> Option<&(String, Source)> {
        self.values.get(key)
    }

    /// Parses one value with `parse`, naming its source on failure.
    fn parse<T>(
        &self,
        key: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some((value, source)) => parse(value.trim()).map(Some).map_err(|message| {
                let name = match source {
                    Source::Env(name) => (*name).to_owned(),
                    Source::File(k) => k.clone(),
                    Source::Default => key.to_owned(),
                };
                ConfigError::new(name, message)
            }),
        }
    }
}

/// What `config check` prints: each setting's key, shown value and source.
pub type Report = Vec<(&'static str, String, Source)>;

/// Reads the configuration from an optional TOML file and the environment.
///
/// `env` looks a variable up (`|k| std::env::var(k).ok()` in production; tests pass a map).
pub fn load(
    file: Option<&Path>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(Config, Report), ConfigError> {
    let mut raw = Raw {
        values: BTreeMap::new(),
    };
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::new(path.display().to_string(), format!("cannot read: {e}"))
        })?;
        read_toml(&text, &path.display().to_string(), &mut raw)?;
    }
    for setting in SETTINGS {
        for name in setting.env {
            if let Some(value) = env(name).filter(|v| !v.is_empty()) {
                raw.values.insert(setting.key, (value, Source::Env(name)));
                break;
            }
        }
    }
    mastodon_compat(&env, &mut raw)?;
    let config = build(&raw)?;
    let report = SETTINGS
        .iter()
        .map(|s| {
            let (value, source) = raw
                .get(s.key)
                .cloned()
                .unwrap_or_else(|| (s.default.to_owned(), Source::Default));
            let shown = if !s.secret || matches!(source, Source::Default) {
                value
            } else if s.key.ends_with("url") {
                redact_url(&value)
            } else {
                "[redacted]".to_owned()
            };
            (s.key, shown, source)
        })
        .collect();
    Ok((config, report))
}

/// Mastodon's split variables, read only when the combined one is absent.
fn mastodon_compat(
    env: &impl Fn(&str) -> Option<String>,
    raw: &mut Raw,
) -> Result<(), ConfigError> {
    let get = |k: &str| env(k).filter(|v| !v.is_empty());
    if raw.get("listen").is_none() && (get("BIND").is_some() || get("PORT").is_some()) {
        let bind = get("BIND").unwrap_or_else(|| "127.0.0.1".to_owned());
        let port = get("PORT").unwrap_or_else(|| "3000".to_owned());
        let host = if bind.contains(':') {
            format!("[{bind}]")
        } else {
            bind
        };
        raw.values
            .insert("listen", (format!("{host}:{port}"), Source::Env("BIND")));
    }
    if raw.get("database.url").is_none() && (get("DB_HOST").is_some() || get("DB_NAME").is_some()) {
        let mut url = url::Url::parse("postgres://localhost/")
            .map_err(|e| ConfigError::new("DB_HOST", e.to_string()))?;
        let host = get("DB_HOST").unwrap_or_else(|| "localhost".to_owned());
        url.set_host(Some(&host))
            .map_err(|e| ConfigError::new("DB_HOST", e.to_string()))?;
        if let Some(port) = get("DB_PORT") {
            let port: u16 = port
                .parse()
                .map_err(|_| ConfigError::new("DB_PORT", "expected a port number"))?;
            let _ = url.set_port(Some(port));
        }
        let _ = url.set_username(&get("DB_USER").unwrap_or_else(|| "postgres".to_owned()));
        if let Some(pass) = get("DB_PASS") {
            let _ = url.set_password(Some(&pass));
        }
        url.set_path(&get("DB_NAME").unwrap_or_else(|| "mastodon_production".to_owned()));
        raw.values
            .insert("database.url", (url.to_string(), Source::Env("DB_HOST")));
    }
    if raw.get("redis.url").is_none() && get("REDIS_HOST").is_some() {
        let host = get("REDIS_HOST").unwrap_or_default();
        let port = get("REDIS_PORT").unwrap_or_else(|| "6379".to_owned());
        let auth = get("REDIS_PASSWORD")
            .map(|p| format!(":{p}@"))
            .unwrap_or_default();
        raw.values.insert(
            "redis.url",
            (
                format!("redis://{auth}{host}:{port}"),
                Source::Env("REDIS_HOST"),
            ),
        );
    }
    Ok(())
}

/// Flattens a TOML document into dotted keys, refusing keys we do not know.
fn read_toml(text: &str, file: &str, raw: &mut Raw) -> Result<(), ConfigError> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].lines().count().max(1))
            .unwrap_or(0);
        ConfigError::new(
            format!("{file}:{line}"),
            e.message().replace('\n', " ").trim().to_owned(),
        )
    })?;
    flatten(&table, "", file, raw)
}

fn flatten(
    table: &toml::Table,
    prefix: &str,
    file: &str,
    raw: &mut Raw,
) -> Result<(), ConfigError> {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(inner) => flatten(inner, &key, file, raw)?,
            other => {
                let setting = SETTINGS.iter().find(|s| s.key == key).ok_or_else(|| {
                    ConfigError::new(key.clone(), format!("unknown setting in {file}"))
                })?;
                let text = match other {
                    toml::Value::String(s) => s.clone(),
                    toml::Value::Integer(i) => i.to_string(),
                    toml::Value::Boolean(b) => b.to_string(),
                    toml::Value::Float(f) => f.to_string(),
                    _ => {
                        return Err(ConfigError::new(
                            key,
                            "expected a string, number or boolean",
                        ));
                    }
                };
                raw.values
                    .insert(setting.key, (text, Source::File(key.clone())));
            }
        }
    }
    Ok(())
}

fn parse_bool(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(format!("expected true or false, got {v:?}")),
    }
}

fn parse_num<T: std::str::FromStr>(v: &str) -> Result<T, String> {
    v.parse()
        .map_err(|_| format!("expected a non-negative whole number, got {v:?}"))
}

/// A comma-separated list of CIDRs or single addresses (`10.0.0.0/8,
/// 192.168.1.5, fd00::/8`), as Mastodon's `ALLOWED_PRIVATE_ADDRESSES`.
pub fn parse_cidr_list(list: &str) -> Result<Vec<ipnet::IpNet>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map(|n| n.trunc())
                .map_err(|_| format!("expected CIDRs such as 10.0.0.0/8 or addresses, got {s:?}"))
        })
        .collect()
}

fn database_kind(url: &str) -> Option<DatabaseKind> {
    if url.starts_with("sqlite:") {
        Some(DatabaseKind::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Some(DatabaseKind::Postgres)
    } else {
        None
    }
}

fn parse_db_url(v: &str) -> Result<String, String> {
    match database_kind(v) {
        Some(DatabaseKind::Postgres) => url::Url::parse(v)
            .map(|_| v.to_owned())
            .map_err(|e| format!("not a valid URL: {e}")),
        Some(DatabaseKind::Sqlite) => Ok(v.to_owned()),
        None => Err("expected sqlite:PATH or postgres://…".to_owned()),
    }
}

fn parse_domain(v: &str) -> Result<String, String> {
    let v = v.trim().trim_end_matches('/').to_ascii_lowercase();
    let (host, port) = match v.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (v.as_str(), None),
    };
    let host_ok = !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
    if host_ok && port_ok {
        Ok(v)
    } else {
        Err(format!(
            "expected a domain such as example.com or localhost:3000, got {v:?}"
        ))
    }
}

fn build(raw: &Raw) -> Result<Config, ConfigError> {
    let listen = raw
        .parse("listen", |v| {
            v.parse::<SocketAddr>()
                .map_err(|_| format!("expected address:port, got {v:?}"))
        })?
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 3000)));
    let domain = raw.parse("domain", parse_domain)?;
    let https = raw.parse("https", parse_bool)?;
    let data_dir = raw
        .parse("data_dir", |v| Ok(PathBuf::from(v)))?
        .unwrap_or_else(|| PathBuf::from("./data"));
    let url = raw
        .parse("database.url", parse_db_url)?
        .unwrap_or_else(|| format!("sqlite:{}", data_dir.join("ferrodon.sqlite3").display()));
    let direct_url = raw
        .parse("database.direct_url", parse_db_url)?
        .unwrap_or_else(|| url.clone());
    if database_kind(&url) != database_kind(&direct_url) {
        return Err(ConfigError::new(
            "DATABASE_DIRECT_URL",
            "must point at the same kind of database as DATABASE_URL",
        ));
    }
    let pool = raw
        .parse("database.pool", |v| {
            parse_num::<u32>(v).and_then(|n| {
                if n == 0 {
                    Err("must be at least 1".to_owned())
                } else {
                    Ok(n)
                }
            })
        })?
        .unwrap_or(10);
    let redis_url_parser = |v: &str| {
        url::Url::parse(v)
            .map_err(|e| format!("not a valid URL: {e}"))
            .and_then(|u| match u.scheme() {
                "redis" | "rediss" | "unix" | "redis+unix" => Ok(v.to_owned()),
                other => Err(format!("expected redis://…, got scheme {other:?}")),
            })
    };
    let redis_url = raw.parse("redis.url", redis_url_parser)?;
    let queue_redis_url = raw.parse("redis.queue_url", redis_url_parser)?;
    let registrations = raw
        .parse("registrations", |v| match v.to_ascii_lowercase().as_str() {
            "open" => Ok(RegistrationMode::Open),
            "approval" | "approved" => Ok(RegistrationMode::Approval),
            "closed" | "none" => Ok(RegistrationMode::Closed),
            _ => Err(format!("expected open, approval or closed, got {v:?}")),
        })?
        .unwrap_or(RegistrationMode::Open);
    let streaming_url = raw.parse("streaming_url", |v| {
        url::Url::parse(v)
            .map(|_| v.trim_end_matches('/').to_owned())
            .map_err(|e| format!("not a valid URL: {e}"))
    })?;
    let secret_key_base = raw.parse("secret_key_base", |v| {
        if v.len() < 32 {
            Err("must be at least 32 characters".to_owned())
        } else {
            Ok(v.to_owned())
        }
    })?;
    let text = |key: &str, default: &str| -> String {
        raw.get(key)
            .map(|(v, _)| v.clone())
            .unwrap_or_else(|| default.to_owned())
    };
    let log_format = raw
        .parse("log.format", |v| match v.to_ascii_lowercase().as_str() {
            "json" => Ok(LogFormat::Json),
            "text" | "plain" => Ok(LogFormat::Text),
            _ => Err(format!("expected json or text, got {v:?}")),
        })?
        .unwrap_or(LogFormat::Json);
    let concurrency = raw
        .parse("worker.concurrency", |v| {
            parse_num::<usize>(v).and_then(|n| {
                if n == 0 {
                    Err("must be at least 1".to_owned())
                } else {
                    Ok(n)
                }
            })
        })?
        .unwrap_or(5);
    let media_dir = raw
        .parse("media.dir", |v| Ok(PathBuf::from(v)))?
        .unwrap_or_else(|| data_dir.join("media"));
    let mut media = MediaConfig::new(media_dir);
    let positive = |v: &str| {
        parse_num::<u64>(v).and_then(|n| {
            if n == 0 {
                Err("must be at least 1".to_owned())
            } else {
                Ok(n)
            }
        })
    };
    if let Some(n) = raw.parse("limits.max_image_bytes", positive)? {
        media.max_image_bytes = n;
    }
    if let Some(n) = raw.parse("limits.max_video_bytes", positive)? {
        media.max_video_bytes = n;
    }
    if let Some(n) = raw.parse("limits.unattached_media_bytes", parse_num::<u64>)? {
        media.unattached_quota_bytes = n;
    }
    if let Some(n) = raw.parse("limits.unattached_media_files", parse_num::<u64>)? {
        media.unattached_quota_files = n;
    }
    let mut http = HttpConfig::default();
    if let Some(n) = raw.parse("http.header_read_timeout_s", positive)? {
        http.header_read_timeout_s = n;
    }
    if let Some(n) = raw.parse("http.body_read_timeout_s", positive)? {
        http.body_read_timeout_s = n;
    }
    if let Some(n) = raw.parse("http.keepalive_timeout_s", positive)? {
        http.keepalive_timeout_s = n;
    }
    if let Some(n) = raw.parse("http.max_connections", |v| {
        parse_num::<usize>(v).and_then(|n| {
            if (1..=1_000_000).contains(&n) {
                Ok(n)
            } else {
                Err(format!("expected 1 to 1000000, got {n}"))
            }
        })
    })? {
        http.max_connections = n;
    }
    if let Some(list) = raw.parse("http.trusted_proxies", |v| {
        if v.eq_ignore_ascii_case("none") {
            return Ok(Vec::new());
        }
        // Mastodon separates them by commas and/or spaces.
        parse_cidr_list(&v.split_whitespace().collect::<Vec<_>>().join(","))
    })? {
        http.trusted_proxies = list;
    }
    let metrics_listen = raw
        .parse("metrics.listen", |v| {
            if v.eq_ignore_ascii_case("off") {
                Ok(MetricsListen::Off)
            } else {
                v.parse::<SocketAddr>()
                    .map(MetricsListen::Explicit)
                    .map_err(|_| format!("expected address:port or off, got {v:?}"))
            }
        })?
        .unwrap_or(MetricsListen::Default(SocketAddr::from((
            [127, 0, 0, 1],
            9394,
        ))));
    Ok(Config {
        listen,
        domain,
        https,
        database: DatabaseConfig {
            url,
            direct_url,
            prepared_statements: raw
                .parse("database.prepared_statements", parse_bool)?
                .unwrap_or(true),
            pool,
        },
        redis: RedisConfig {
            queue_url: queue_redis_url.or_else(|| redis_url.clone()),
            url: redis_url,
            namespace: raw.get("redis.namespace").map(|(v, _)| v.clone()),
        },
        data_dir,
        registrations,
        password_grant: raw
            .parse("oauth.password_grant", parse_bool)?
            .unwrap_or(true),
        trends: raw.parse("trends.enabled", parse_bool)?.unwrap_or(true),
        streaming_url,
        secret_key_base,
        instance: InstanceConfig {
            title: text("instance.title", "Ferrodon"),
            description: text("instance.description", "A Ferrodon instance."),
            contact_email: text("instance.contact_email", ""),
        },
        max_body_bytes: raw
            .parse("limits.max_body_bytes", parse_num::<usize>)?
            .unwrap_or(1024 * 1024),
        poll_min_expiration_s: raw
            .parse("limits.poll_min_expiration_s", parse_num::<u64>)?
            .unwrap_or(300)
            .max(1),
        scheduled_min_offset_s: raw
            .parse("limits.scheduled_min_offset_s", parse_num::<u64>)?
            .unwrap_or(300)
            .max(1),
        media,
        rate_limits: RateLimits {
            api: raw.parse("rate_limits.api", parse_num)?.unwrap_or(300),
            sign_up: raw.parse("rate_limits.sign_up", parse_num)?.unwrap_or(5),
            login: raw.parse("rate_limits.login", parse_num)?.unwrap_or(25),
            media: raw.parse("rate_limits.media", parse_num)?.unwrap_or(30),
        },
        http,
        metrics_listen,
        log_level: text("log.level", "info"),
        log_format,
        worker: WorkerConfig {
            poll_interval_ms: raw
                .parse("worker.poll_interval_ms", parse_num::<u64>)?
                .unwrap_or(250)
                .max(10),
            lease_s: raw
                .parse("worker.lease_s", parse_num::<u64>)?
                .unwrap_or(300)
                .max(2),
            shutdown_timeout_s: raw
                .parse("worker.shutdown_timeout_s", parse_num::<u64>)?
                .unwrap_or(25),
            cleanup_interval_s: raw
                .parse("worker.cleanup_interval_s", parse_num::<u64>)?
                .unwrap_or(300)
                .max(1),
            trends_interval_s: raw
                .parse("worker.trends_interval_s", parse_num::<u64>)?
                .unwrap_or(300)
                .max(1),
            concurrency,
        },
        allowed_private_addresses: raw
            .parse("outbound.allowed_private_addresses", parse_cidr_list)?
            .unwrap_or_default(),
        outbound_public: raw.parse("outbound.public", parse_bool)?.unwrap_or(true),
    })
}

/// A URL with its password replaced, for logs and `config check`.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("[redacted]"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load_env(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        load(None, |k| map.get(k).cloned()).map(|(c, _)| c)
    }

    #[test]
    fn zero_configuration_works() -> Result<(), ConfigError> {
        let c = load_env(&[])?;
        assert_eq!(c.listen.to_string(), "127.0.0.1:3000");
        assert_eq!(c.resolved_domain(3000), "localhost:3000");
        assert!(!c.https_for("localhost:3000"));
        assert_eq!(c.database.kind(), DatabaseKind::Sqlite);
        assert!(c.database.url.ends_with("data/ferrodon.sqlite3"));
        assert_eq!(c.database.direct_url, c.database.url);
        assert_eq!(c.registrations, RegistrationMode::Open);
        assert!(c.password_grant);
        assert!(c.media.dir.ends_with("data/media"));
        assert_eq!(c.media.max_image_bytes, 16_777_216);
        assert_eq!(c.media.max_video_bytes, 103_809_024);
        assert_eq!(c.media.unattached_quota_bytes, 209_715_200);
        assert_eq!(c.media.unattached_quota_files, 20);
        Ok(())
    }

    #[test]
    fn https_defaults_follow_the_domain() -> Result<(), ConfigError> {
        let c = load_env(&[("LOCAL_DOMAIN", "Example.COM")])?;
        assert_eq!(c.domain.as_deref(), Some("example.com"));
        assert!(c.https_for("example.com"));
        assert!(!c.https_for("example.com:8443"));
        let forced = load_env(&[("LOCAL_DOMAIN", "example.com"), ("FERRODON_HTTPS", "false")])?;
        assert!(!forced.https_for("example.com"));
        Ok(())
    }

    #[test]
    fn bad_values_name_their_key() {
        let err = load_env(&[("FERRODON_LISTEN", "nonsense")]).err();
        assert_eq!(err.map(|e| e.key), Some("FERRODON_LISTEN".to_owned()));
        let err = load_env(&[("DATABASE_URL", "mysql://x")]).err();
        assert_eq!(err.map(|e| e.key), Some("DATABASE_URL".to_owned()));
        let err = load_env(&[("PREPARED_STATEMENTS", "maybe")]).err();
        assert_eq!(err.map(|e| e.key), Some("PREPARED_STATEMENTS".to_owned()));
        let err = load_env(&[("FERRODON_REGISTRATIONS", "sometimes")]).err();
        assert_eq!(
            err.map(|e| e.key),
            Some("FERRODON_REGISTRATIONS".to_owned())
        );
    }

    #[test]
    fn environment_overrides_the_file() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("ferrodon.toml");
        std::fs::write(
            &path,
            "domain = \"social.example\"\nregistrations = \"approval\"\n[database]\npool = 3\nprepared_statements = false\n",
        )?;
        let env: HashMap<&str, &str> = [("FERRODON_REGISTRATIONS", "closed")].into();
        let (c, report) = load(Some(&path), |k| env.get(k).map(|v| (*v).to_owned()))?;
        assert_eq!(c.domain.as_deref(), Some("social.example"));
        assert_eq!(c.registrations, RegistrationMode::Closed);
        assert_eq!(c.database.pool, 3);
        assert!(!c.database.prepared_statements);
        let reg = report.iter().find(|(k, _, _)| *k == "registrations");
        assert_eq!(
            reg.map(|r| &r.2),
            Some(&Source::Env("FERRODON_REGISTRATIONS"))
        );
        Ok(())
    }

    #[test]
    fn unknown_file_keys_are_errors() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "[database]\nurll = \"x\"\n")?;
        let err = load(Some(&path), |_| None).err();
        assert_eq!(err.map(|e| e.key), Some("database.urll".to_owned()));
        std::fs::write(&path, "domain = \n")?;
        let err = load(Some(&path), |_| None).err();
        assert!(err.is_some_and(|e| e.key.ends_with(":1") && !e.message.contains('\n')));
        Ok(())
    }

    #[test]
    fn mastodon_split_variables_build_urls() -> Result<(), ConfigError> {
        let c = load_env(&[
            ("DB_HOST", "db.internal"),
            ("DB_USER", "mastodon"),
            ("DB_PASS", "s3cret"),
            ("DB_NAME", "mastodon_production"),
            ("REDIS_HOST", "redis.internal"),
        ])?;
        assert_eq!(
            c.database.url,
            "postgres://mastodon:s3cret@db.internal/mastodon_production"
        );
        assert_eq!(c.redis.url.as_deref(), Some("redis://redis.internal:6379"));
        Ok(())
    }

    #[test]
    fn allowed_private_addresses_are_typed() -> Result<(), ConfigError> {
        assert!(load_env(&[])?.allowed_private_addresses.is_empty());
        let c = load_env(&[(
            "ALLOWED_PRIVATE_ADDRESSES",
            "127.0.0.1/32, 10.0.0.7/8,fd00::5",
        )])?;
        let shown: Vec<String> = c
            .allowed_private_addresses
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(shown, ["127.0.0.1/32", "10.0.0.0/8", "fd00::5/128"]);
        let err = load_env(&[("ALLOWED_PRIVATE_ADDRESSES", "10.0.0.0/33")]).err();
        assert_eq!(
            err.map(|e| e.key),
            Some("ALLOWED_PRIVATE_ADDRESSES".to_owned())
        );
        assert!(parse_cidr_list("localhost").is_err());
        assert_eq!(parse_cidr_list(" , ").map(|v| v.len()), Ok(0));
        Ok(())
    }

    #[test]
    fn http_limits_and_the_metrics_listener() -> Result<(), ConfigError> {
        let c = load_env(&[])?;
        assert_eq!(c.http.header_read_timeout_s, 10);
        assert_eq!(c.http.body_read_timeout_s, 30);
        assert_eq!(c.http.keepalive_timeout_s, 20);
        assert_eq!(c.http.max_connections, 4096);
        assert_eq!(c.rate_limits.media, 30);
        assert_eq!(
            c.metrics_listen,
            MetricsListen::Default(SocketAddr::from(([127, 0, 0, 1], 9394)))
        );
        let loopback: std::net::IpAddr = [127, 0, 0, 1].into();
        let private: std::net::IpAddr = [10, 1, 2, 3].into();
        let public: std::net::IpAddr = [203, 0, 113, 1].into();
        let trusted = |c: &Config, ip: &std::net::IpAddr| {
            c.http.trusted_proxies.iter().any(|n| n.contains(ip))
        };
        assert!(trusted(&c, &loopback) && trusted(&c, &private) && !trusted(&c, &public));

        let c = load_env(&[
            ("FERRODON_METRICS_LISTEN", "off"),
            ("TRUSTED_PROXY_IP", "203.0.113.0/24 198.51.100.7"),
            ("FERRODON_MAX_CONNECTIONS", "8"),
            ("FERRODON_RATE_LIMIT_MEDIA", "0"),
        ])?;
        assert_eq!(c.metrics_listen, MetricsListen::Off);
        assert!(trusted(&c, &public) && !trusted(&c, &loopback));
        assert_eq!(c.http.trusted_proxies.len(), 2);
        assert_eq!(c.http.max_connections, 8);
        assert_eq!(c.rate_limits.media, 0);
        let c = load_env(&[("FERRODON_METRICS_LISTEN", "0.0.0.0:9400")])?;
        assert_eq!(
            c.metrics_listen,
            MetricsListen::Explicit(SocketAddr::from(([0, 0, 0, 0], 9400)))
        );
        assert!(
            load_env(&[("TRUSTED_PROXY_IP", "none")])?
                .http
                .trusted_proxies
                .is_empty()
        );
        for (key, value) in [
            ("FERRODON_METRICS_LISTEN", "9394"),
            ("FERRODON_HEADER_READ_TIMEOUT", "0"),
            ("FERRODON_KEEPALIVE_TIMEOUT", "soon"),
            ("FERRODON_MAX_CONNECTIONS", "0"),
            ("TRUSTED_PROXY_IP", "proxy.internal"),
        ] {
            let err = load_env(&[(key, value)]).err();
            assert_eq!(err.map(|e| e.key), Some(key.to_owned()), "{key}={value}");
        }
        Ok(())
    }

    #[test]
    fn secrets_are_redacted_in_the_report() -> Result<(), ConfigError> {
        let env: HashMap<&str, &str> = [
            ("DATABASE_URL", "postgres://u:hunter2@db/x"),
            ("SECRET_KEY_BASE", "0123456789abcdef0123456789abcdef0123"),
        ]
        .into();
        let (_, report) = load(None, |k| env.get(k).map(|v| (*v).to_owned()))?;
        let text = format!("{report:?}");
        assert!(!text.contains("hunter2"));
        assert!(!text.contains("0123456789abcdef"));
        Ok(())
    }
}

#[cfg(test)]
mod readme_tests {
    /// The README's configuration table row of a setting.
    fn row(s: &super::Setting) -> String {
        let envs: Vec<String> = s.env.iter().map(|e| format!("`{e}`")).collect();
        let secret = if s.secret { " (secret)" } else { "" };
        format!(
            "| {} | `{}` | {} | {}{secret} |",
            envs.join(", "),
            s.key,
            s.default,
            s.doc
        )
    }

    /// The README's configuration table is current: one row per setting,
    /// exactly as `SETTINGS` declares it (on failure, the expected table is printed).
    #[test]
    fn readme_documents_every_setting() {
        let readme = include_str!("../../../README.md");
        let table: Vec<String> = super::SETTINGS.iter().map(row).collect();
        let missing: Vec<&String> = table
            .iter()
            .filter(|r| !readme.contains(r.as_str()))
            .collect();
        assert!(
            missing.is_empty(),
            "README's configuration table is stale; rows to use:\n{}",
            table.join("\n")
        );
    }
}
