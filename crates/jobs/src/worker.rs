//! Running jobs: the registry of job kinds and the worker.
//!
//! A worker fetches jobs from its queues in weighted order, up to its free
//! slots, under a lease; each job runs in its own task; outcomes go to one
//! acknowledging task that finishes successes in batches and schedules
//! retries or burials. Side tasks keep leases alive (heartbeat), promote
//! due and recover lapsed jobs (Redis), relay the outbox (Redis), run the
//! scheduler and publish queue figures as metrics.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrodon_model::{IdGenerator, JobId};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tracing::{info, warn};

use crate::backend::{Claimed, JobQueue};
use crate::scheduler::Schedule;
use crate::{Job, JobError, JobKind, SharedClock, SystemClock, WeightedQueues};

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

    /// Runs jobs of kind `K` with `f`, for a kind declared in a crate below
    /// the one that knows how to run it (the service layer declares
    /// "federate this", `federation` runs it). `f` gets the decoded job and
    /// the worker's context; what else it needs it captures.
    pub fn handle<K, F, Fut>(&mut self, f: F) -> &mut Self
    where
        K: JobKind,
        F: Fn(K, C) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), JobError>> + Send + 'static,
    {
        let f = Arc::new(f);
        let handler: Handler<C> = Arc::new(move |payload: String, ctx: C| {
            let f = f.clone();
            Box::pin(async move {
                let job: K = serde_json::from_str(&payload)
                    .map_err(|e| JobError::new(format!("bad payload for {}: {e}", K::KIND)))?;
                f(job, ctx).await
            })
        });
        self.handlers.insert(K::KIND, handler);
        self
    }

    /// Whether a kind has a handler.
    pub fn handles(&self, kind: &str) -> bool {
        self.handlers.contains_key(kind)
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
    pub queues: WeightedQueues,
    /// Jobs run at once.
    pub concurrency: usize,
    /// How often an idle worker looks for jobs (it is also woken at once by
    /// this process's commits and relays).
    pub poll_interval: Duration,
    /// How long a claimed job stays ours without a heartbeat.
    pub lease: Duration,
    /// How long a stopping worker waits for running jobs before handing them back.
    pub shutdown_deadline: Duration,
    /// How often Redis queues are maintained (due jobs promoted, lapsed leases recovered).
    pub maintenance_interval: Duration,
    pub clock: SharedClock,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            queues: WeightedQueues::all(),
            concurrency: 5,
            poll_interval: Duration::from_millis(250),
            lease: Duration::from_secs(300),
            shutdown_deadline: Duration::from_secs(25),
            maintenance_interval: Duration::from_secs(1),
            clock: Arc::new(SystemClock),
        }
    }
}

/// Claims and runs jobs until told to stop.
pub struct Worker<C> {
    queue: JobQueue,
    registry: Arc<Registry<C>>,
    ctx: C,
    options: WorkerOptions,
    schedule: Schedule,
    ids: Arc<IdGenerator>,
    id: String,
}

/// Jobs this worker holds, by id.
type Held = Arc<Mutex<HashMap<JobId, Claimed>>>;

fn lock(held: &Held) -> std::sync::MutexGuard<'_, HashMap<JobId, Claimed>> {
    held.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<C: Clone + Send + Sync + 'static> Worker<C> {
    pub fn new(
        queue: JobQueue,
        registry: Registry<C>,
        ctx: C,
        options: WorkerOptions,
        schedule: Schedule,
    ) -> Self {
        let id = format!(
            "worker-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        );
        Worker {
            queue,
            registry: Arc::new(registry),
            ctx,
            options,
            schedule,
            ids: Arc::new(IdGenerator::new()),
            id,
        }
    }

    /// This worker's name (as it appears in leases and logs).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Runs until `shutdown` resolves: then stops fetching, lets running jobs
    /// finish within the deadline, and hands back any that did not.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        let Worker {
            queue,
            registry,
            ctx,
            options,
            schedule,
            ids,
            id,
        } = self;
        let concurrency = options.concurrency.max(1);
        let permits = Arc::new(Semaphore::new(concurrency));
        let running: Held = Arc::new(Mutex::new(HashMap::new()));
        let (done_tx, done_rx) = mpsc::unbounded_channel::<(Claimed, Result<(), JobError>)>();
        let (finish_tx, finish_rx) = oneshot::channel::<()>();
        let acker = tokio::spawn(acker(
            queue.clone(),
            id.clone(),
            options.clock.clone(),
            done_rx,
            finish_rx,
        ));
        let mut side = vec![
            tokio::spawn(heartbeat(
                queue.clone(),
                id.clone(),
                options.clone(),
                running.clone(),
            )),
            tokio::spawn(publish_metrics(queue.clone(), options.clock.clone())),
            tokio::spawn(schedule.run(queue.clone(), ids.clone(), options.clock.clone())),
        ];
        if queue.uses_redis() {
            side.push(tokio::spawn(maintain(queue.clone(), options.clone())));
            side.push(tokio::spawn(relay(
                queue.clone(),
                id.clone(),
                options.poll_interval,
                options.clock.clone(),
            )));
        }
        let wake = if queue.uses_redis() {
            queue.moved.clone()
        } else {
            queue.db().jobs_notify()
        };
        info!(worker = %id, backend = queue.backend_name(), queues = ?options.queues.queues(), concurrency, "worker started");
        tokio::pin!(shutdown);
        let mut idle_errors = 0u32;
        // Queues found empty, skipped until the instant given (or a wake-up).
        let mut skip: HashMap<crate::Queue, std::time::Instant> = HashMap::new();
        let mut waiter: Option<ferrodon_storage::redis_jobs::RedisWaiter> = None;
        loop {
            let first = tokio::select! {
                _ = &mut shutdown => break,
                p = permits.clone().acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => break,
                },
            };
            let free = 1 + permits.available_permits();
            let instant = std::time::Instant::now();
            skip.retain(|_, until| *until > instant);
            let mut order = options.queues.order(&mut rand::rng());
            if order.iter().any(|q| !skip.contains_key(q)) {
                order.retain(|q| !skip.contains_key(q));
            }
            let now = options.clock.now();
            let lease_until = now + chrono::Duration::from_std(options.lease).unwrap_or_default();
            let fetched = queue
                .fetch(&order, free.min(100), &id, now, lease_until)
                .await;
            let jobs = match fetched {
                Ok((jobs, empty)) => {
                    idle_errors = 0;
                    for q in empty {
                        skip.insert(q, instant + options.poll_interval);
                    }
                    jobs
                }
                Err(e) => {
                    drop(first);
                    idle_errors = idle_errors.saturating_add(1);
                    if idle_errors == 1 || idle_errors.is_multiple_of(60) {
                        warn!(worker = %id, error = %e, "cannot fetch jobs");
                    }
                    tokio::select! {
                        _ = &mut shutdown => break,
                        _ = tokio::time::sleep(options.poll_interval.max(Duration::from_millis(500))) => {}
                    }
                    continue;
                }
            };
            if jobs.is_empty() {
                drop(first);
                if queue.uses_redis() && waiter.is_none() {
                    waiter = queue.waiter().await;
                }
                match waiter.as_mut() {
                    // Redis: block on the wake-up list, so work enqueued by
                    // any process starts at once.
                    Some(w) => {
                        let timeout = options.poll_interval.as_secs_f64().max(0.05);
                        let woken = tokio::select! {
                            _ = &mut shutdown => break,
                            _ = wake.notified() => Ok(true),
                            r = w.wait(timeout) => r,
                        };
                        if woken.is_err() {
                            waiter = None;
                            tokio::time::sleep(options.poll_interval).await;
                        }
                    }
                    None => {
                        tokio::select! {
                            _ = &mut shutdown => break,
                            _ = wake.notified() => skip.clear(),
                            _ = tokio::time::sleep(options.poll_interval) => {}
                        }
                    }
                }
                continue;
            }
            let mut first = Some(first);
            for job in jobs {
                let permit = match first.take() {
                    Some(p) => p,
                    None => match permits.clone().try_acquire_owned() {
                        Ok(p) => p,
                        // Cannot happen (we fetched no more than the free slots);
                        // if it did, the job's lease would bring it back.
                        Err(_) => break,
                    },
                };
                lock(&running).insert(job.id, job.clone());
                let handler = registry.handlers.get(job.kind.as_str()).cloned();
                let ctx = ctx.clone();
                let done = done_tx.clone();
                let running = running.clone();
                tokio::spawn(async move {
                    let started = std::time::Instant::now();
                    let outcome = match handler {
                        // A panicking job must not take the worker down: run it as a task.
                        Some(h) => match tokio::spawn(h(job.payload.clone(), ctx)).await {
                            Ok(result) => result,
                            Err(e) => Err(JobError::new(format!("job panicked: {e}"))),
                        },
                        None => Err(JobError::new(format!(
                            "no handler for job kind {:?}",
                            job.kind
                        ))),
                    };
                    metrics::histogram!("ferrodon_job_duration_seconds", "kind" => job.kind.clone())
                        .record(started.elapsed().as_secs_f64());
                    lock(&running).remove(&job.id);
                    let _ = done.send((job, outcome));
                    drop(permit);
                });
            }
        }
        info!(worker = %id, "worker stopping");
        let all = u32::try_from(concurrency).unwrap_or(u32::MAX);
        let drained =
            tokio::time::timeout(options.shutdown_deadline, permits.acquire_many(all)).await;
        if drained.is_err() {
            let unfinished: Vec<Claimed> = lock(&running).values().cloned().collect();
            match queue.release(&unfinished, &id).await {
                Ok(n) => warn!(worker = %id, jobs = n, "handed back unfinished jobs"),
                Err(e) => {
                    warn!(worker = %id, error = %e, "cannot hand back jobs; their leases will lapse")
                }
            }
        }
        let _ = finish_tx.send(());
        let _ = tokio::time::timeout(Duration::from_secs(10), acker).await;
        for task in side {
            task.abort();
        }
        info!(worker = %id, "worker stopped");
    }
}

/// Records outcomes: successes acknowledged in batches, failures retried
/// with backoff or buried. Ends when told to, after draining what is queued.
async fn acker(
    queue: JobQueue,
    worker: String,
    clock: SharedClock,
    mut rx: mpsc::UnboundedReceiver<(Claimed, Result<(), JobError>)>,
    mut finish: oneshot::Receiver<()>,
) {
    let mut finishing = false;
    loop {
        let first = if finishing {
            match rx.try_recv() {
                Ok(item) => item,
                Err(_) => break,
            }
        } else {
            tokio::select! {
                item = rx.recv() => match item {
                    Some(item) => item,
                    None => break,
                },
                _ = &mut finish => {
                    finishing = true;
                    continue;
                }
            }
        };
        let mut batch = vec![first];
        while batch.len() < 500 {
            match rx.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        let mut ok = Vec::new();
        for (job, outcome) in batch {
            match outcome {
                Ok(()) => {
                    metrics::counter!("ferrodon_jobs_processed_total", "kind" => job.kind.clone())
                        .increment(1);
                    ok.push(job);
                }
                Err(e) => {
                    metrics::counter!("ferrodon_jobs_failed_total", "kind" => job.kind.clone())
                        .increment(1);
                    record_failure(&queue, &worker, &clock, &job, &e).await;
                }
            }
        }
        if let Err(e) = queue.ack(&ok, &worker).await {
            warn!(worker = %worker, jobs = ok.len(), error = %e, "cannot acknowledge jobs; they will run again when their leases lapse");
        }
    }
}

async fn record_failure(
    queue: &JobQueue,
    worker: &str,
    clock: &SharedClock,
    job: &Claimed,
    e: &JobError,
) {
    let now = clock.now();
    let result = if job.attempt >= job.max_attempts {
        warn!(job = %job.id, kind = %job.kind, attempts = job.attempt, error = %e, "job is dead");
        queue.bury(job, worker, &e.message, now).await
    } else {
        let delay = backoff(job.attempt - 1, rand::random::<u32>());
        let at = now + chrono::Duration::from_std(delay).unwrap_or_default();
        warn!(job = %job.id, kind = %job.kind, attempts = job.attempt, retry_in_s = delay.as_secs(), error = %e, "job failed");
        queue.retry(job, worker, at, &e.message).await
    };
    if let Err(err) = result {
        warn!(job = %job.id, error = %err, "cannot record a job failure; it will run again when its lease lapses");
    }
}

/// Keeps this worker's leases alive while it runs.
async fn heartbeat(queue: JobQueue, worker: String, options: WorkerOptions, running: Held) {
    let every = (options.lease / 3).max(Duration::from_secs(1));
    loop {
        tokio::time::sleep(every).await;
        let held: Vec<Claimed> = lock(&running).values().cloned().collect();
        let until =
            options.clock.now() + chrono::Duration::from_std(options.lease).unwrap_or_default();
        if let Err(e) = queue.extend(&held, &worker, until).await {
            warn!(worker = %worker, error = %e, "cannot extend job leases");
        }
    }
}

/// Redis: promotes due jobs and recovers jobs whose worker died.
async fn maintain(queue: JobQueue, options: WorkerOptions) {
    loop {
        if let Err(e) = queue.maintain(options.clock.now()).await {
            tracing::debug!(error = %e, "cannot maintain the Redis queues");
        }
        tokio::time::sleep(options.maintenance_interval).await;
    }
}

/// Redis: moves jobs from the database outbox to Redis, as soon as this
/// process commits some and every poll interval for other processes'.
async fn relay(queue: JobQueue, worker: String, poll_interval: Duration, clock: SharedClock) {
    let notify = queue.db().jobs_notify();
    let mut failing = false;
    loop {
        match queue.relay(&worker, clock.now(), 500).await {
            Ok(n) if n > 0 => {
                failing = false;
                continue;
            }
            Ok(_) => failing = false,
            Err(e) => {
                if !failing {
                    warn!(error = %e, "cannot move jobs to Redis; they wait in the database");
                }
                failing = true;
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        }
        tokio::select! {
            _ = notify.notified() => {}
            _ = tokio::time::sleep(poll_interval) => {}
        }
    }
}

/// With Redis: a task that moves this process's (and, every
/// `poll_interval`, other processes') outbox rows to Redis. Web processes
/// run it so a job reaches Redis right after the commit that wrote it.
/// `None` without Redis (the table is the queue).
pub fn spawn_relay(
    queue: &JobQueue,
    poll_interval: Duration,
) -> Option<tokio::task::JoinHandle<()>> {
    queue.uses_redis().then(|| {
        let name = format!("relay-{}-{:08x}", std::process::id(), rand::random::<u32>());
        tokio::spawn(relay(
            queue.clone(),
            name,
            poll_interval,
            Arc::new(SystemClock),
        ))
    })
}

/// Queue figures as Prometheus gauges, every ten seconds.
async fn publish_metrics(queue: JobQueue, clock: SharedClock) {
    loop {
        if let Ok(stats) = queue.stats(clock.now()).await {
            for q in &stats.queues {
                let name = q.queue.clone();
                metrics::gauge!("ferrodon_jobs_queue_size", "queue" => name.clone())
                    .set(q.size as f64);
                metrics::gauge!("ferrodon_jobs_queue_latency_seconds", "queue" => name.clone())
                    .set(q.latency_seconds);
                metrics::gauge!("ferrodon_jobs_busy", "queue" => name.clone()).set(q.busy as f64);
                metrics::gauge!("ferrodon_jobs_scheduled", "queue" => name.clone())
                    .set(q.scheduled as f64);
                metrics::gauge!("ferrodon_jobs_retries", "queue" => name.clone())
                    .set(q.retries as f64);
                metrics::gauge!("ferrodon_jobs_dead", "queue" => name).set(q.dead as f64);
            }
            metrics::gauge!("ferrodon_jobs_outbox").set(stats.outbox as f64);
        }
        tokio::time::sleep(Duration::from_secs(10)).await;
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
