//! What each role starts, and how it stops (SIGTERM or Ctrl-C: stop taking
//! work, finish what is in flight, exit 0).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ferrodon_api::{AppState, RateLimiter};
use ferrodon_config::{Config, LogFormat, Secrets};
use ferrodon_jobs::{Queue, Worker, WorkerOptions};
use ferrodon_service::{Instance, Services};
use ferrodon_storage::feeds::{FeedStore, RedisFeedStore, SqlFeedStore};
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

async fn services(config: &Config, db: Db, port: u16) -> Result<Services> {
    let secrets =
        Secrets::load_or_generate(config).map_err(|e| RoleError::Config(e.to_string()))?;
    let feeds = feed_store(config, &db).await?;
    Ok(Services::new(
        db,
        feeds,
        Instance::from_config(config, port),
        secrets,
    ))
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

fn worker_options(
    config: &Config,
    queues: Vec<Queue>,
    concurrency: Option<usize>,
) -> WorkerOptions {
    WorkerOptions {
        queues,
        concurrency: concurrency.unwrap_or(config.worker.concurrency),
        poll_interval: Duration::from_millis(config.worker.poll_interval_ms),
        ..WorkerOptions::default()
    }
}

fn app_state(config: &Config, services: Services, metrics: Option<PrometheusHandle>) -> AppState {
    AppState {
        services,
        metrics,
        limiter: Arc::new(RateLimiter::default()),
        rate_limits: config.rate_limits,
        max_body_bytes: config.max_body_bytes,
    }
}

/// `ferrodon serve`: migrate, then web, streaming and a worker on every queue.
pub async fn serve(config: Config) -> Result<()> {
    let (listener, addr) = bind(&config).await?;
    let direct = connect(&config, true).await?;
    direct.migrate().await?;
    direct.close().await;
    let db = connect(&config, false).await?;
    let metrics = metrics_handle();
    let services = services(&config, db.clone(), addr.port()).await?;
    let shutdown = shutdown_channel();

    let worker = Worker::new(
        db.clone(),
        ferrodon_service::jobs::registry(),
        services.clone(),
        worker_options(&config, Queue::ALL.to_vec(), None),
    );
    let worker_task = tokio::spawn(worker.run(stopped(shutdown.clone())));

    let router = ferrodon_api::router(app_state(&config, services.clone(), metrics))
        .merge(ferrodon_streaming::router());
    info!(addr = %addr, domain = %services.instance().domain, role = "serve", "listening");
    ferrodon_api::serve(listener, router, stopped(shutdown)).await?;
    let _ = worker_task.await;
    db.close().await;
    info!("stopped");
    Ok(())
}

/// `ferrodon web`.
pub async fn web(config: Config) -> Result<()> {
    let (listener, addr) = bind(&config).await?;
    let db = connect(&config, false).await?;
    require_migrated(&db).await?;
    let metrics = metrics_handle();
    let services = services(&config, db.clone(), addr.port()).await?;
    let router = ferrodon_api::router(app_state(&config, services.clone(), metrics));
    info!(addr = %addr, domain = %services.instance().domain, role = "web", "listening");
    ferrodon_api::serve(listener, router, stopped(shutdown_channel())).await?;
    db.close().await;
    info!("stopped");
    Ok(())
}

/// `ferrodon streaming`.
pub async fn streaming(config: Config) -> Result<()> {
    let (listener, addr) = bind(&config).await?;
    let db = connect(&config, false).await?;
    require_migrated(&db).await?;
    let router =
        ferrodon_api::ops_router(db.clone(), metrics_handle()).merge(ferrodon_streaming::router());
    info!(addr = %addr, role = "streaming", "listening");
    ferrodon_api::serve(listener, router, stopped(shutdown_channel())).await?;
    db.close().await;
    info!("stopped");
    Ok(())
}

/// Parses `default:8,push:6,mailers` into queues (weights checked; weighted
/// selection arrives with the jobs issue, until then queues are served by age).
fn parse_queues(specs: &[String]) -> Result<Vec<Queue>> {
    if specs.is_empty() {
        return Ok(Queue::ALL.to_vec());
    }
    let mut queues = Vec::new();
    for spec in specs.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        let (name, weight) = match spec.split_once(':') {
            Some((n, w)) => (n, Some(w)),
            None => (spec, None),
        };
        if let Some(w) = weight
            && w.parse::<u32>().map_or(true, |w| w == 0)
        {
            return Err(RoleError::Config(format!(
                "--queues: weight of {name:?} must be a positive number"
            )));
        }
        let queue: Queue = name
            .parse()
            .map_err(|e| RoleError::Config(format!("--queues: {e}")))?;
        if !queues.contains(&queue) {
            queues.push(queue);
        }
    }
    Ok(queues)
}

/// `ferrodon worker`.
pub async fn worker(config: Config, queues: &[String], concurrency: Option<usize>) -> Result<()> {
    let queues = parse_queues(queues)?;
    if concurrency == Some(0) {
        return Err(RoleError::Config(
            "--concurrency must be at least 1".to_owned(),
        ));
    }
    let (listener, addr) = bind(&config).await?;
    let db = connect(&config, false).await?;
    require_migrated(&db).await?;
    let metrics = metrics_handle();
    let services = services(&config, db.clone(), addr.port()).await?;
    let shutdown = shutdown_channel();
    let worker = Worker::new(
        db.clone(),
        ferrodon_service::jobs::registry(),
        services,
        worker_options(&config, queues, concurrency),
    );
    let worker_task = tokio::spawn(worker.run(stopped(shutdown.clone())));
    info!(addr = %addr, role = "worker", "listening");
    ferrodon_api::serve(
        listener,
        ferrodon_api::ops_router(db.clone(), metrics),
        stopped(shutdown),
    )
    .await?;
    let _ = worker_task.await;
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
    };
    services.db().close().await;
    println!("{}", result?);
    Ok(())
}
