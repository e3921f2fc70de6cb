//! What each role starts, and how it stops (SIGTERM or Ctrl-C: stop taking
//! work, finish what is in flight, exit 0).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ferrodon_api::{AppState, RateLimiter, ServeOptions};
use ferrodon_config::{Config, LogFormat, MetricsListen, Secrets};
use ferrodon_jobs::{JobQueue, Queue, WeightedQueues, Worker, WorkerOptions};
use ferrodon_model::IdGenerator;
use ferrodon_service::{Instance, Services};
use ferrodon_storage::feeds::{FeedStore, RedisFeedStore, SqlFeedStore};
use ferrodon_storage::redis_jobs::RedisQueue;
use ferrodon_storage::{Db, DbOptions, StorageError};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::info;

/// Why a role could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    /// Bad configuration (exit code 2).
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Storage(#[from] StorageError),
    #[error("{0}")]
    Service(#[from] ferrodon_service::ServiceError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error(
        "the database has {0} pending migration(s); run `ferrodon migrate` first (it uses DATABASE_DIRECT_URL)"
    )]
    PendingMigrations(usize),
}

type Result<T> = std::result::Result<T, RoleError>;

/// JSON (default) or text log lines, filtered by `log.level`: on stdout for
/// the long-running roles, on stderr for one-shot commands (whose stdout is
/// their answer, e.g. the id `admin accounts create` prints).
pub fn init_logging(config: &Config, to_stderr: bool) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let writer = if to_stderr {
        tracing_subscriber::fmt::writer::BoxMakeWriter::new(std::io::stderr)
    } else {
        tracing_subscriber::fmt::writer::BoxMakeWriter::new(std::io::stdout)
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let _ = match config.log_format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Text => builder.with_ansi(false).try_init(),
    };
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    info!("shutting down");
}

/// A shutdown signal many tasks can wait on.
fn shutdown_channel() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = tx.send(true);
    });
    rx
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

async fn connect(config: &Config, direct: bool) -> Result<Db> {
    let db = &config.database;
    Ok(Db::connect(&DbOptions {
        url: if direct {
            db.direct_url.clone()
        } else {
            db.url.clone()
        },
        pool: db.pool,
        prepared_statements: db.prepared_statements || direct,
    })
    .await?)
}

/// Refuses to run against a database that is not fully migrated.
async fn require_migrated(db: &Db) -> Result<()> {
    let pending = db.pending_migrations().await?;
    if pending.is_empty() {
        Ok(())
    } else {
        Err(RoleError::PendingMigrations(pending.len()))
    }
}

/// Installs the Prometheus recorder (once per process).
fn metrics_handle() -> Option<PrometheusHandle> {
    const LATENCY_BUCKETS: &[f64] = &[
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ];
    PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Suffix("duration_seconds".to_owned()),
            LATENCY_BUCKETS,
        )
        .ok()?
        .install_recorder()
        .ok()
}

async fn feed_store(config: &Config, db: &Db) -> Result<Arc<dyn FeedStore>> {
    match &config.redis.url {
        Some(url) => {
            let store = RedisFeedStore::connect(url, &config.redis.key_prefix()).await?;
            info!(redis = %ferrodon_config::redact_url(url), "home feeds in Redis");
            Ok(Arc::new(store))
        }
        None => Ok(Arc::new(SqlFeedStore::new(db.clone()))),
    }
}

/// The job queue: Redis when `QUEUE_REDIS_URL`/`REDIS_URL` is set (the
/// database is its outbox), else the database alone.
async fn job_queue(config: &Config, db: &Db) -> Result<JobQueue> {
    let redis = match &config.redis.queue_url {
        Some(url) => {
            let queue = RedisQueue::connect(url, &config.redis.key_prefix()).await?;
            Some(queue)
        }
        None => None,
    };
    Ok(JobQueue::new(db.clone(), redis))
}

async fn services(config: &Config, db: Db, port: u16) -> Result<Services> {
    let secrets =
        Secrets::load_or_generate(config).map_err(|e| RoleError::Config(e.to_string()))?;
    let feeds = feed_store(config, &db).await?;
    let jobs = job_queue(config, &db).await?;
    let instance = Instance::from_config(config, port);
    let fetcher = ferrodon_fetch::Fetcher::new(ferrodon_fetch::FetchOptions {
        allowed_private: config.allowed_private_addresses.clone(),
        allow_public: config.outbound_public,
        ..ferrodon_fetch::FetchOptions::new(ferrodon_fetch::FetchOptions::user_agent_for(
            &instance.base_url,
        ))
    })
    .map_err(|e| RoleError::Config(e.to_string()))?;
    Ok(Services::new(db, feeds, jobs, instance, secrets, fetcher))
}

async fn bind(config: &Config) -> Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(config.listen).await.map_err(|e| {
        RoleError::Config(format!(
            "cannot listen on {} (FERRODON_LISTEN): {e}",
            config.listen
        ))
    })?;
    let addr = listener.local_addr()?;
    Ok((listener, addr))
}

/// The metrics listener, if any: `off` has none; the default address may be
/// taken by another role on the same host (a warning, then none); an address
/// the operator set must be free.
async fn bind_metrics(config: &Config) -> Result<Option<(TcpListener, SocketAddr)>> {
    let (addr, explicit) = match config.metrics_listen {
        MetricsListen::Off => return Ok(None),
        MetricsListen::Default(addr) => (addr, false),
        MetricsListen::Explicit(addr) => (addr, true),
    };
    match TcpListener::bind(addr).await {
        Ok(listener) => {
            let bound = listener.local_addr()?;
            Ok(Some((listener, bound)))
        }
        Err(e) if explicit => Err(RoleError::Config(format!(
            "cannot listen on {addr} (FERRODON_METRICS_LISTEN): {e}"
        ))),
        Err(e) => {
            tracing::warn!(
                addr = %addr,
                error = %e,
                "cannot listen for metrics on the default address; running without /metrics (set FERRODON_METRICS_LISTEN to another address, or off)"
            );
            Ok(None)
        }
    }
}

/// Connections the metrics listener serves at once (scrapers and health checks).
const METRICS_MAX_CONNECTIONS: usize = 64;

/// Serves `/metrics` (and `/health`) on the metrics listener until shutdown.
fn spawn_metrics(
    config: &Config,
    listener: Option<(TcpListener, SocketAddr)>,
    db: &Db,
    handle: Option<PrometheusHandle>,
    shutdown: watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    let (listener, _) = listener?;
    let options = ServeOptions {
        max_connections: METRICS_MAX_CONNECTIONS,
        ..ServeOptions::from_config(&config.http)
    };
    let router = ferrodon_api::metrics_router(db.clone(), handle);
    Some(tokio::spawn(async move {
        if let Err(e) = ferrodon_api::serve(listener, router, options, stopped(shutdown)).await {
            tracing::error!(error = %e, "metrics listener failed");
        }
    }))
}

/// The metrics address for the "listening" log line.
fn metrics_shown(listener: &Option<(TcpListener, SocketAddr)>) -> String {
    listener
        .as_ref()
        .map(|(_, addr)| addr.to_string())
        .unwrap_or_else(|| "off".to_owned())
}

fn worker_options(
    config: &Config,
    queues: WeightedQueues,
    concurrency: Option<usize>,
) -> WorkerOptions {
    WorkerOptions {
        queues,
        concurrency: concurrency.unwrap_or(config.worker.concurrency),
        poll_interval: Duration::from_millis(config.worker.poll_interval_ms),
        lease: Duration::from_secs(config.worker.lease_s),
        shutdown_deadline: Duration::from_secs(config.worker.shutdown_timeout_s),
        ..WorkerOptions::default()
    }
}

/// A worker running every job kind and the scheduled ticks.
fn new_worker(
    config: &Config,
    services: &Services,
    queues: WeightedQueues,
    concurrency: Option<usize>,
) -> Worker<Services> {
    Worker::new(
        services.jobs().clone(),
        ferrodon_service::worker::registry(),
        services.clone(),
        worker_options(config, queues, concurrency),
        ferrodon_service::worker::schedule(
            Duration::from_secs(config.worker.cleanup_interval_s),
            Duration::from_secs(config.worker.trends_interval_s),
        ),
    )
}

fn app_state(config: &Config, services: Services) -> AppState {
    AppState {
        services,
        limiter: Arc::new(RateLimiter::default()),
        rate_limits: config.rate_limits,
        trusted_proxies: config.http.trusted_proxies.clone().into(),
        max_body_bytes: config.max_body_bytes,
    }
}

/// `ferrodon serve`: migrate, then web, streaming and a worker on every queue.
pub async fn serve(config: Config) -> Result<()> {
    let (listener, addr) = bind(&config).await?;
    let metrics_listener = bind_metrics(&config).await?;
    let direct = connect(&config, true).await?;
    direct.migrate().await?;
    direct.close().await;
    let db = connect(&config, false).await?;
    let metrics = metrics_handle();
    let services = services(&config, db.clone(), addr.port()).await?;
    let shutdown = shutdown_channel();

    let worker = new_worker(&config, &services, WeightedQueues::all(), None);
    let worker_task = tokio::spawn(worker.run(stopped(shutdown.clone())));

    let router = ferrodon_api::router(app_state(&config, services.clone()))
        .merge(ferrodon_streaming::router());
    let metrics_addr = metrics_shown(&metrics_listener);
    let metrics_task = spawn_metrics(&config, metrics_listener, &db, metrics, shutdown.clone());
    info!(addr = %addr, metrics_addr = %metrics_addr, domain = %services.instance().domain, role = "serve", "listening");
    let options = ServeOptions::from_config(&config.http);
    ferrodon_api::serve(listener, router, options, stopped(shutdown)).await?;
    let _ = worker_task.await;
    if let Some(task) = metrics_task {
        let _ = task.await;
    }
    db.close().await;
    info!("stopped");
    Ok(())
}

/// `ferrodon web`.
pub async fn web(config: Config) -> Result<()> {
    let (listener, addr) = bind(&config).await?;
    let metrics_listener = bind_metrics(&config).await?;
    let db = connect(&config, false).await?;
    require_migrated(&db).await?;
    let metrics = metrics_handle();
    let services = services(&config, db.clone(), addr.port()).await?;
    let router = ferrodon_api::router(app_state(&config, services.clone()));
    // Jobs this process writes reach Redis right after their commit.
    let relay = ferrodon_jobs::spawn_relay(
        services.jobs(),
        Duration::from_millis(config.worker.poll_interval_ms),
    );
    let shutdown = shutdown_channel();
    let metrics_addr = metrics_shown(&metrics_listener);
    let metrics_task = spawn_metrics(&config, metrics_listener, &db, metrics, shutdown.clone());
    info!(addr = %addr, metrics_addr = %metrics_addr, domain = %services.instance().domain, role = "web", "listening");
    let options = ServeOptions::from_config(&config.http);
    ferrodon_api::serve(listener, router, options, stopped(shutdown)).await?;
    if let Some(relay) = relay {
        relay.abort();
    }
    if let Some(task) = metrics_task {
        let _ = task.await;
    }
    db.close().await;
    info!("stopped");
    Ok(())
}

/// `ferrodon streaming`.
pub async fn streaming(config: Config) -> Result<()> {
    let (listener, addr) = bind(&config).await?;
    let metrics_listener = bind_metrics(&config).await?;
    let db = connect(&config, false).await?;
    require_migrated(&db).await?;
    let router = ferrodon_api::ops_router(db.clone()).merge(ferrodon_streaming::router());
    let shutdown = shutdown_channel();
    let metrics_addr = metrics_shown(&metrics_listener);
    let metrics_task = spawn_metrics(
        &config,
        metrics_listener,
        &db,
        metrics_handle(),
        shutdown.clone(),
    );
    info!(addr = %addr, metrics_addr = %metrics_addr, role = "streaming", "listening");
    let options = ServeOptions::from_config(&config.http);
    ferrodon_api::serve(listener, router, options, stopped(shutdown)).await?;
    if let Some(task) = metrics_task {
        let _ = task.await;
    }
    db.close().await;
    info!("stopped");
    Ok(())
}

/// `ferrodon worker`.
pub async fn worker(config: Config, queues: &[String], concurrency: Option<usize>) -> Result<()> {
    let queues =
        WeightedQueues::parse(queues).map_err(|e| RoleError::Config(format!("--queues: {e}")))?;
    if concurrency == Some(0) {
        return Err(RoleError::Config(
            "--concurrency must be at least 1".to_owned(),
        ));
    }
    let (listener, addr) = bind(&config).await?;
    let metrics_listener = bind_metrics(&config).await?;
    let db = connect(&config, false).await?;
    require_migrated(&db).await?;
    let metrics = metrics_handle();
    let services = services(&config, db.clone(), addr.port()).await?;
    let shutdown = shutdown_channel();
    let worker = new_worker(&config, &services, queues, concurrency);
    let worker_task = tokio::spawn(worker.run(stopped(shutdown.clone())));
    let metrics_addr = metrics_shown(&metrics_listener);
    let metrics_task = spawn_metrics(&config, metrics_listener, &db, metrics, shutdown.clone());
    info!(addr = %addr, metrics_addr = %metrics_addr, role = "worker", "listening");
    let options = ServeOptions::from_config(&config.http);
    ferrodon_api::serve(
        listener,
        ferrodon_api::ops_router(db.clone()),
        options,
        stopped(shutdown),
    )
    .await?;
    let _ = worker_task.await;
    if let Some(task) = metrics_task {
        let _ = task.await;
    }
    db.close().await;
    info!("stopped");
    Ok(())
}

/// `ferrodon migrate`.
pub async fn migrate(config: Config) -> Result<()> {
    let db = connect(&config, true).await?;
    let pending = db.pending_migrations().await?;
    db.migrate().await?;
    info!(applied = pending.len(), "database is up to date");
    println!(
        "applied {} migration(s); the database is up to date",
        pending.len()
    );
    db.close().await;
    Ok(())
}

/// An operator command on accounts.
pub enum AccountAction {
    Create {
        username: String,
        email: String,
        password: String,
        role: String,
    },
    Approve(String),
    Suspend(String),
    Unsuspend(String),
    /// Silence (true) or lift it (false).
    Silence(String, bool),
}

/// `ferrodon admin accounts …`: runs on the configured database (URLs use
/// the configured domain) and prints the result on stdout.
pub async fn admin_accounts(config: Config, action: AccountAction) -> Result<()> {
    let role = match &action {
        AccountAction::Create { role, .. } => Some(role.parse().map_err(|_| {
            RoleError::Config(format!(
                "--role: expected user, moderator or admin, got {role:?}"
            ))
        })?),
        _ => None,
    };
    let db = connect(&config, false).await?;
    require_migrated(&db).await?;
    let services = services(&config, db, config.listen.port()).await?;
    let result = match action {
        AccountAction::Create {
            username,
            email,
            password,
            ..
        } => services
            .admin_create_account(&username, &email, &password, role.unwrap_or_default())
            .await
            .map(|id| id.to_string()),
        AccountAction::Approve(username) => services
            .approve_account(&username)
            .await
            .map(|()| format!("approved {username}")),
        AccountAction::Suspend(username) => services
            .suspend_account(&username)
            .await
            .map(|()| format!("suspended {username}")),
        AccountAction::Unsuspend(username) => services
            .unsuspend_account(&username)
            .await
            .map(|()| format!("unsuspended {username}")),
        AccountAction::Silence(username, on) => services
            .silence_account(&username, on)
            .await
            .map(|()| format!("{} {username}", if on { "silenced" } else { "unsilenced" })),
    };
    services.db().close().await;
    println!("{}", result?);
    Ok(())
}

/// An operator command on what the server publishes (rules, announcements) or receives (reports).
pub enum ContentAction {
    AddRule {
        text: String,
        hint: String,
    },
    ListRules,
    RemoveRule(i64),
    Announce {
        text: String,
        starts_at: Option<String>,
        ends_at: Option<String>,
        all_day: bool,
    },
    ListAnnouncements,
    DeleteAnnouncement(i64),
    ListReports(i64),
    AddEmoji {
        shortcode: String,
        file: std::path::PathBuf,
        category: Option<String>,
        listed: bool,
    },
    ListEmojis,
    SetEmojiDisabled(String, bool),
    RemoveEmoji(String),
}

fn time_arg(name: &str, raw: Option<String>) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
    raw.map(|r| {
        chrono::DateTime::parse_from_rfc3339(&r)
            .map(|t| t.with_timezone(&chrono::Utc))
            .map_err(|e| RoleError::Config(format!("--{name}: expected an RFC 3339 time ({e})")))
    })
    .transpose()
}

/// `ferrodon admin rules|announcements|reports|emojis …`: prints the result on stdout.
pub async fn admin_content(config: Config, action: ContentAction) -> Result<()> {
    let db = connect(&config, false).await?;
    require_migrated(&db).await?;
    let services = services(&config, db, config.listen.port()).await?;
    let result = match action {
        ContentAction::AddRule { text, hint } => services
            .admin_add_rule(&text, &hint)
            .await
            .map(|id| id.to_string()),
        ContentAction::ListRules => services.rules().await.map(|rules| {
            rules
                .iter()
                .map(|r| format!("{}\t{}", r.id, r.text))
                .collect::<Vec<_>>()
                .join("\n")
        }),
        ContentAction::RemoveRule(id) => services
            .admin_remove_rule(id)
            .await
            .map(|()| format!("removed rule {id}")),
        ContentAction::Announce {
            text,
            starts_at,
            ends_at,
            all_day,
        } => {
            let starts_at = time_arg("starts-at", starts_at)?;
            let ends_at = time_arg("ends-at", ends_at)?;
            services
                .admin_create_announcement(&text, starts_at, ends_at, all_day)
                .await
                .map(|id| id.to_string())
        }
        ContentAction::ListAnnouncements => services.admin_announcements().await.map(|list| {
            list.iter()
                .map(|a| format!("{}\t{}", a.id, a.text))
                .collect::<Vec<_>>()
                .join("\n")
        }),
        ContentAction::DeleteAnnouncement(id) => services
            .admin_delete_announcement(id)
            .await
            .map(|()| format!("deleted announcement {id}")),
        ContentAction::AddEmoji {
            shortcode,
            file,
            category,
            listed,
        } => services
            .admin_add_emoji(&shortcode, &file, category.as_deref(), listed)
            .await
            .map(|id| id.to_string()),
        ContentAction::ListEmojis => services.admin_emojis().await.map(|list| {
            list.iter()
                .map(|e| {
                    let state = match (e.disabled, e.visible_in_picker) {
                        (true, _) => "disabled",
                        (false, true) => "listed",
                        (false, false) => "unlisted",
                    };
                    let category = e.category.as_deref().unwrap_or("");
                    format!("{}\t{}\t{state}\t{category}", e.id, e.shortcode)
                })
                .collect::<Vec<_>>()
                .join("\n")
        }),
        ContentAction::SetEmojiDisabled(shortcode, disabled) => services
            .admin_set_emoji_disabled(&shortcode, disabled)
            .await
            .map(|()| {
                let done = if disabled { "disabled" } else { "enabled" };
                format!("{done} :{shortcode}:")
            }),
        ContentAction::RemoveEmoji(shortcode) => services
            .admin_remove_emoji(&shortcode)
            .await
            .map(|()| format!("removed :{shortcode}:")),
        ContentAction::ListReports(limit) => services.admin_reports(limit).await.map(|list| {
            list.iter()
                .map(|r| {
                    serde_json::json!({
                        "id": r.id.to_string(),
                        "account_id": r.account_id.to_string(),
                        "target_account_id": r.target_account_id.to_string(),
                        "category": r.category,
                        "comment": r.comment,
                        "status_ids": r.status_ids,
                        "rule_ids": r.rule_ids,
                        "created_at": r.created_at.to_rfc3339(),
                    })
                    .to_string()
                })
                .collect::<Vec<_>>()
                .join("\n")
        }),
    };
    services.db().close().await;
    println!("{}", result?);
    Ok(())
}

/// An operator command on the job queues.
pub enum JobsAction {
    Stats {
        json: bool,
    },
    RetryDead(Option<String>),
    ClearDead(Option<String>),
    Probe {
        count: u64,
        prefix: Option<String>,
        wait: u64,
        hold_ms: u64,
    },
    Bench {
        count: u64,
        timeout: u64,
    },
}

fn queue_arg(queue: Option<String>) -> Result<Option<Queue>> {
    queue
        .map(|q| {
            q.parse::<Queue>()
                .map_err(|e| RoleError::Config(format!("--queue: {e}")))
        })
        .transpose()
}

/// Whether every queue is empty (nothing ready, running or scheduled).
async fn drained(queue: &JobQueue) -> Result<bool> {
    let stats = queue.stats(ferrodon_storage::now()).await?;
    Ok(stats.outbox == 0
        && stats
            .queues
            .iter()
            .all(|q| q.size == 0 && q.busy == 0 && q.scheduled == 0 && q.retries == 0))
}

/// `ferrodon jobs …`.
pub async fn jobs(config: Config, action: JobsAction) -> Result<()> {
    let db = connect(&config, false).await?;
    require_migrated(&db).await?;
    let queue = job_queue(&config, &db).await?;
    let ids = IdGenerator::new();
    match action {
        JobsAction::Stats { json } => {
            let stats = queue.stats(ferrodon_storage::now()).await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&stats).unwrap_or_default()
                );
            } else {
                println!("backend: {}   outbox: {}", stats.backend, stats.outbox);
                println!(
                    "{:<10} {:>8} {:>10} {:>6} {:>10} {:>8} {:>6}",
                    "queue", "size", "latency_s", "busy", "scheduled", "retries", "dead"
                );
                for q in &stats.queues {
                    println!(
                        "{:<10} {:>8} {:>10.1} {:>6} {:>10} {:>8} {:>6}",
                        q.queue, q.size, q.latency_seconds, q.busy, q.scheduled, q.retries, q.dead
                    );
                }
            }
        }
        JobsAction::RetryDead(q) => {
            let n = queue
                .retry_dead(queue_arg(q)?, ferrodon_storage::now())
                .await?;
            println!("{n} dead job(s) queued again");
        }
        JobsAction::ClearDead(q) => {
            let n = queue.clear_dead(queue_arg(q)?).await?;
            println!("{n} dead job(s) deleted");
        }
        JobsAction::Probe {
            count,
            prefix,
            wait,
            hold_ms,
        } => {
            let prefix = prefix.unwrap_or_else(|| format!("probe-{:016x}-", rand::random::<u64>()));
            let started = std::time::Instant::now();
            for chunk in (0..count).collect::<Vec<_>>().chunks(1000) {
                let probes: Vec<ferrodon_service::jobs::Probe> = chunk
                    .iter()
                    .map(|i| ferrodon_service::jobs::Probe {
                        key: format!("{prefix}{i}"),
                        hold_ms,
                    })
                    .collect();
                let added = queue.push(&ids, &probes).await?;
                if added != probes.len() as u64 {
                    return Err(RoleError::Config(format!(
                        "only {added} of {} probe jobs were enqueued",
                        probes.len()
                    )));
                }
            }
            println!("enqueued {count} probe job(s) with prefix {prefix}");
            if wait > 0 {
                let deadline = started + Duration::from_secs(wait);
                loop {
                    let (ran, repeated) =
                        ferrodon_storage::jobs::probe_counts(&db, &prefix).await?;
                    if u64::try_from(ran).unwrap_or(0) >= count {
                        println!(
                            "all {ran} probe(s) ran in {:.3} s; {repeated} ran more than once",
                            started.elapsed().as_secs_f64()
                        );
                        break;
                    }
                    if std::time::Instant::now() > deadline {
                        return Err(RoleError::Config(format!(
                            "only {ran} of {count} probe(s) ran within {wait} s: are workers running?"
                        )));
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        JobsAction::Bench { count, timeout } => {
            if !drained(&queue).await? {
                return Err(RoleError::Config(
                    "the queues are not empty; run the benchmark on an idle instance".to_owned(),
                ));
            }
            let started = std::time::Instant::now();
            let all: Vec<ferrodon_service::jobs::Noop> =
                (0..count).map(|_| ferrodon_service::jobs::Noop).collect();
            for chunk in all.chunks(1000) {
                let added = queue.push(&ids, chunk).await?;
                if added != chunk.len() as u64 {
                    return Err(RoleError::Config(format!(
                        "only {added} of {} jobs were enqueued",
                        chunk.len()
                    )));
                }
            }
            let enqueued = started.elapsed();
            let deadline = started + Duration::from_secs(timeout);
            while !drained(&queue).await? {
                if std::time::Instant::now() > deadline {
                    return Err(RoleError::Config(format!(
                        "the jobs did not finish within {timeout} s"
                    )));
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let total = started.elapsed().as_secs_f64();
            println!(
                "{count} no-op jobs on {}: enqueued in {:.3} s, all done in {total:.3} s: {:.0} jobs/s",
                queue.backend_name(),
                enqueued.as_secs_f64(),
                count as f64 / total
            );
        }
    }
    db.close().await;
    Ok(())
}
