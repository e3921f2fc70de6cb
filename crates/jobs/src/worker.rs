//! Running jobs: the registry of job kinds and the worker loop.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use ferrodon_storage::Db;
use ferrodon_storage::jobs::{self as store, ClaimedJob};
use tokio::sync::Semaphore;
use tracing::{info, warn};

use crate::{Job, JobError, Queue};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type Handler<C> = Arc<dyn Fn(String, C) -> BoxFuture<Result<(), JobError>> + Send + Sync>;

/// The job kinds a worker can run, by [`Job::KIND`].
pub struct Registry<C> {
    handlers: HashMap<&'static str, Handler<C>>,
}

impl<C: Clone + Send + Sync + 'static> Default for Registry<C> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C: Clone + Send + Sync + 'static> Registry<C> {
    pub fn new() -> Self {
        Registry {
            handlers: HashMap::new(),
        }
    }

    /// Makes `J` runnable.
    pub fn register<J: Job<Context = C>>(&mut self) -> &mut Self {
        let handler: Handler<C> = Arc::new(|payload: String, ctx: C| {
            Box::pin(async move {
                let job: J = serde_json::from_str(&payload)
                    .map_err(|e| JobError::new(format!("bad payload for {}: {e}", J::KIND)))?;
                job.run(&ctx).await
            })
        });
        self.handlers.insert(J::KIND, handler);
        self
    }
}

/// Sidekiq's retry delay after the `retry_count`-th failure (0-based):
/// `count⁴ + 15 + rand(10) × (count + 1)` seconds.
pub fn backoff(retry_count: i32, jitter: u32) -> Duration {
    let count = u64::try_from(retry_count.max(0)).unwrap_or(0);
    let jitter = u64::from(jitter % 10);
    Duration::from_secs(count.pow(4) + 15 + jitter * (count + 1))
}

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    pub queues: Vec<Queue>,
    /// Jobs run at once.
    pub concurrency: usize,
    /// How often an idle worker looks for jobs (it is also woken at once by
    /// commits in its own process that enqueued jobs).
    pub poll_interval: Duration,
    /// How long a claimed job stays ours without a heartbeat.
    pub lease: Duration,
    /// How long a stopping worker waits for running jobs before handing them back.
    pub shutdown_deadline: Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            queues: Queue::ALL.to_vec(),
            concurrency: 5,
            poll_interval: Duration::from_secs(1),
            lease: Duration::from_secs(300),
            shutdown_deadline: Duration::from_secs(25),
        }
    }
}

/// Claims and runs jobs until told to stop.
pub struct Worker<C> {
    db: Db,
    registry: Arc<Registry<C>>,
    ctx: C,
    options: WorkerOptions,
    id: String,
}

impl<C: Clone + Send + Sync + 'static> Worker<C> {
    pub fn new(db: Db, registry: Registry<C>, ctx: C, options: WorkerOptions) -> Self {
        let id = format!(
            "worker-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        );
        Worker {
            db,
            registry: Arc::new(registry),
            ctx,
            options,
            id,
        }
    }

    /// Runs until `shutdown` resolves: then stops claiming, lets running jobs
    /// finish within the deadline, and hands back any that did not.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        let Worker {
            db,
            registry,
            ctx,
            options,
            id,
        } = self;
        let queues: Vec<&'static str> = options.queues.iter().map(|q| q.as_str()).collect();
        let permits = Arc::new(Semaphore::new(options.concurrency.max(1)));
        let notify = db.jobs_notify();
        let heartbeat = tokio::spawn(heartbeat(db.clone(), id.clone(), options.lease));
        info!(worker = %id, queues = ?queues, concurrency = options.concurrency, "worker started");
        tokio::pin!(shutdown);
        loop {
            let permit = tokio::select! {
                _ = &mut shutdown => break,
                p = permits.clone().acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => break,
                },
            };
            let now = ferrodon_storage::now();
            let lease_until = now + chrono::Duration::from_std(options.lease).unwrap_or_default();
            match store::claim(&db, &queues, &id, now, lease_until).await {
                Ok(Some(job)) => {
                    let db = db.clone();
                    let registry = registry.clone();
                    let ctx = ctx.clone();
                    let worker = id.clone();
                    tokio::spawn(async move {
                        run_one(&db, &registry, ctx, &worker, job).await;
                        drop(permit);
                    });
                }
                Ok(None) => {
                    drop(permit);
                    tokio::select! {
                        _ = &mut shutdown => break,
                        _ = notify.notified() => {}
                        _ = tokio::time::sleep(options.poll_interval) => {}
                    }
                }
                Err(e) => {
                    drop(permit);
                    warn!(worker = %id, error = %e, "cannot claim jobs");
                    tokio::select! {
                        _ = &mut shutdown => break,
                        _ = tokio::time::sleep(options.poll_interval.max(Duration::from_millis(500))) => {}
                    }
                }
            }
        }
        info!(worker = %id, "worker stopping");
        let all = u32::try_from(options.concurrency.max(1)).unwrap_or(u32::MAX);
        let drained =
            tokio::time::timeout(options.shutdown_deadline, permits.acquire_many(all)).await;
        heartbeat.abort();
        if drained.is_err() {
            match store::release_all(&db, &id).await {
                Ok(n) => warn!(worker = %id, jobs = n, "handed back unfinished jobs"),
                Err(e) => {
                    warn!(worker = %id, error = %e, "cannot hand back jobs; their leases will lapse")
                }
            }
        }
        info!(worker = %id, "worker stopped");
    }
}

/// Keeps this worker's leases alive while it runs.
async fn heartbeat(db: Db, worker: String, lease: Duration) {
    let every = (lease / 3).max(Duration::from_secs(1));
    loop {
        tokio::time::sleep(every).await;
        let until = ferrodon_storage::now() + chrono::Duration::from_std(lease).unwrap_or_default();
        if let Err(e) = store::extend_leases(&db, &worker, until).await {
            warn!(worker = %worker, error = %e, "cannot extend job leases");
        }
    }
}

async fn run_one<C: Clone + Send + Sync + 'static>(
    db: &Db,
    registry: &Registry<C>,
    ctx: C,
    worker: &str,
    job: ClaimedJob,
) {
    let started = std::time::Instant::now();
    let outcome = match registry.handlers.get(job.kind.as_str()) {
        Some(handler) => {
            // A panicking job must not take the worker down: run it as a task.
            let fut = handler(job.payload.clone(), ctx);
            match tokio::spawn(fut).await {
                Ok(result) => result,
                Err(e) => Err(JobError::new(format!("job panicked: {e}"))),
            }
        }
        None => Err(JobError::new(format!(
            "no handler for job kind {:?}",
            job.kind
        ))),
    };
    let elapsed = started.elapsed();
    let kind = job.kind.clone();
    metrics::histogram!("ferrodon_job_duration_seconds", "kind" => kind.clone())
        .record(elapsed.as_secs_f64());
    let result = match outcome {
        Ok(()) => {
            metrics::counter!("ferrodon_jobs_processed_total", "kind" => kind).increment(1);
            store::complete(db, job.id, worker).await
        }
        Err(e) => {
            metrics::counter!("ferrodon_jobs_failed_total", "kind" => kind).increment(1);
            if job.attempts >= job.max_attempts {
                warn!(job = %job.id, kind = %job.kind, attempts = job.attempts, error = %e, "job is dead");
                store::bury(db, job.id, worker, &e.message).await
            } else {
                let delay = backoff(job.attempts - 1, rand::random::<u32>());
                let at = Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
                warn!(job = %job.id, kind = %job.kind, attempts = job.attempts, retry_in_s = delay.as_secs(), error = %e, "job failed");
                store::retry(db, job.id, worker, at, &e.message).await
            }
        }
    };
    if let Err(e) = result {
        warn!(job = %job.id, error = %e, "cannot record job outcome; its lease will lapse and it will run again");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_follows_sidekiq() {
        assert_eq!(backoff(0, 0), Duration::from_secs(15));
        assert_eq!(backoff(1, 0), Duration::from_secs(16));
        assert_eq!(backoff(2, 3), Duration::from_secs(16 + 15 + 3 * 3));
        assert_eq!(
            backoff(24, 9),
            Duration::from_secs(24u64.pow(4) + 15 + 9 * 25)
        );
    }
}
