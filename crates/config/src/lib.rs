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
mod settings;

pub use secrets::{SecretError, Secrets};
pub use settings::{SETTINGS, Setting};

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
    /// Whether federation may use plain http to `allowed_private_addresses`
    /// (`FERRODON_FEDERATION_ALLOW_HTTP`); https only otherwise.
    pub federation_allow_http: bool,
    /// Signed requests required for ActivityPub GETs (`AUTHORIZED_FETCH`).
    pub authorized_fetch: bool,
    /// Federate only with allowed domains (`LIMITED_FEDERATION_MODE`).
    pub limited_federation: bool,
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
        federation_allow_http: raw
            .parse("federation.allow_http", parse_bool)?
            .unwrap_or(false),
        authorized_fetch: raw
            .parse("federation.authorized_fetch", parse_bool)?
            .unwrap_or(false),
        limited_federation: raw
            .parse("federation.limited", parse_bool)?
            .unwrap_or(false),
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
mod tests;
