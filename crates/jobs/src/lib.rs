//! Background jobs that never lose work.
//!
//! A job is a plain serializable struct implementing [`Job`]: it carries ids,
//! re-reads what it needs when it runs, and is safe to run twice (delivery is
//! at least once).
//!
//! - [`enqueue`] writes a job into the `jobs` table inside the caller's
//!   database transaction, so a job exists exactly when the change that
//!   caused it commits.
//! - Without Redis that table *is* the queue. With Redis (`QUEUE_REDIS_URL`
//!   or `REDIS_URL`) it is an outbox: a relay in every worker moves its rows
//!   to Redis; while Redis is down, jobs wait there and writes keep working.
//! - [`JobQueue::push`] adds jobs directly (work caused by other work, ticks).
//! - A [`Worker`] takes jobs from weighted queues under a lease, runs them,
//!   acknowledges in batches, retries failures with Sidekiq's backoff until
//!   [`Job::MAX_ATTEMPTS`], keeps the dead set bounded, and drains on stop.
//! - The [`Scheduler`] runs periodic ticks in whichever worker claims each
//!   time slot first — no singleton process.

mod backend;
mod message;
mod queue;
mod scheduler;
mod worker;

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use ferrodon_model::{IdGenerator, JobId};
use ferrodon_storage::{StorageError, Tx, jobs as store};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use backend::{JobQueue, QueueStats, Stats};
pub use queue::{Queue, WeightedQueues};
pub use scheduler::{Schedule, Tick};
pub use worker::{Registry, Worker, WorkerOptions, backoff, spawn_relay};

/// Why a job run failed.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct JobError {
    pub message: String,
}

impl JobError {
    pub fn new(message: impl Into<String>) -> Self {
        JobError {
            message: message.into(),
        }
    }
}

impl From<StorageError> for JobError {
    fn from(e: StorageError) -> Self {
        JobError::new(e.to_string())
    }
}

/// What is stored for a kind of background work: its name, queue, attempts
/// and payload. Enqueueing needs only this, so a crate can declare a job
/// that a crate above it runs (the service layer's "federate this" jobs are
/// run by `federation`; see [`Registry::handle`]).
pub trait JobKind: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Stable name stored with the job; never rename one that may be queued.
    const KIND: &'static str;
    const QUEUE: Queue = Queue::Default;
    /// Runs before the job goes to the dead set (Sidekiq's default is 25).
    const MAX_ATTEMPTS: i32 = 25;

    /// While a job with this key waits or runs, enqueueing another is a no-op.
    fn unique_key(&self) -> Option<String> {
        None
    }
}

/// A kind of background work that knows how to run itself.
pub trait Job: JobKind {
    /// What the job needs to run (services, pools).
    type Context: Clone + Send + Sync + 'static;

    fn run(&self, ctx: &Self::Context) -> impl Future<Output = Result<(), JobError>> + Send;
}

/// What time it is, for leases and retry schedules (tests use a virtual clock).
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        ferrodon_storage::now()
    }
}

/// A shared clock.
pub type SharedClock = Arc<dyn Clock>;

fn new_job<J: JobKind>(
    ids: &IdGenerator,
    job: &J,
    at: DateTime<Utc>,
) -> Result<store::NewJob, StorageError> {
    let payload = serde_json::to_string(job)
        .map_err(|e| StorageError::Corrupt(format!("job {} does not serialize: {e}", J::KIND)))?;
    Ok(store::NewJob {
        id: JobId::from(ids.next()),
        queue: J::QUEUE.as_str().to_owned(),
        kind: J::KIND.to_owned(),
        payload,
        unique_key: job.unique_key().map(|k| format!("{}:{k}", J::KIND)),
        max_attempts: J::MAX_ATTEMPTS,
        run_at: at,
    })
}

/// Adds `job` inside `tx`, to run now. Returns `false` when a unique job
/// with the same key is already waiting.
pub async fn enqueue<J: JobKind>(
    tx: &mut Tx,
    ids: &IdGenerator,
    job: &J,
) -> Result<bool, StorageError> {
    enqueue_at(tx, ids, job, ferrodon_storage::now()).await
}

/// Adds `job` inside `tx`, to run at `at` (a delayed job).
pub async fn enqueue_at<J: JobKind>(
    tx: &mut Tx,
    ids: &IdGenerator,
    job: &J,
    at: DateTime<Utc>,
) -> Result<bool, StorageError> {
    store::insert(tx, &new_job(ids, job, at)?).await
}
