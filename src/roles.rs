//! What each role starts, and how it stops (SIGTERM or Ctrl-C: stop taking
//! work, finish what is in flight, exit 0).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ferrodon_api::{AppState, RateLimiter, ServeOptions};
use ferrodon_config::{Config, LogFormat, MetricsListen, Secrets};
use ferrodon_jobs::{JobQueue, WeightedQueues, Worker, WorkerOptions};
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

pub(crate) type Result<T> = std::result::Result<T, RoleError>;

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

pub(crate) async fn connect(config: &Config, direct: bool) -> Result<Db> {
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
pub(crate) async fn require_migrated(db: &Db) -> Result<()> {
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
pub(crate) async fn job_queue(config: &Config, db: &Db) -> Result<JobQueue> {
    let redis = match &config.redis.queue_url {
        Some(url) => {
            let queue = RedisQueue::connect(url, &config.redis.key_prefix()).await?;
            Some(queue)
        }
        None => None,
    };
    Ok(JobQueue::new(db.clone(), redis))
}

pub(crate) async fn services(config: &Config, db: Db, port: u16) -> Result<Services> {
    let secrets =
        Secrets::load_or_generate(config).map_err(|e| RoleError::Config(e.to_string()))?;
    let feeds = feed_store(config, &db).await?;
    let jobs = job_queue(config, &db).await?;
    let instance = Instance::from_config(config, port);
    let fetcher = ferrodon_fetch::Fetcher::new(ferrodon_fetch::FetchOptions {
        allowed_private: config.allowed_private_addresses.clone(),
        allow_public: config.outbound_public,
        allow_http: config.federation_allow_http,
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
    let mut registry = ferrodon_service::worker::registry();
    federation(config, services).register(&mut registry);
    Worker::new(
        services.jobs().clone(),
        registry,
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

/// Federation as configured.
pub(crate) fn federation(config: &Config, services: &Services) -> ferrodon_federation::Federation {
    ferrodon_federation::Federation::with_options(
        services.clone(),
        ferrodon_federation::FederationOptions {
            authorized_fetch: config.authorized_fetch,
            limited: config.limited_federation,
        },
    )
}

/// The web role's routes: the client API and federation's, behind one
/// set of middleware.
fn web_router(config: &Config, services: &Services) -> axum::Router {
    let federation = federation(config, services);
    services.set_resolver(std::sync::Arc::new(federation.clone()));
    ferrodon_api::router_with(app_state(config, services.clone()), federation.router())
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

    let router = web_router(&config, &services).merge(ferrodon_streaming::router());
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
    let router = web_router(&config, &services);
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
