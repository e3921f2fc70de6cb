//! Background jobs.
//!
//! A job is a plain serializable struct implementing [`Job`]: it carries ids,
//! re-reads what it needs when it runs, and is safe to run twice (delivery is
//! at least once). [`enqueue`] writes a job inside the caller's database
//! transaction, so a job exists exactly when the change that caused it
//! commits. A [`Worker`] claims jobs with a lease, runs them, and retries
//! failures with Sidekiq's backoff until [`Job::MAX_ATTEMPTS`], after which
//! the job is kept in the dead set.
//!
//! This is the SQL backend (SQLite and PostgreSQL); the Redis backend
//! implements the same interface later.

mod queue;
mod worker;

use std::future::Future;

use chrono::{DateTime, Utc};
use ferrodon_model::{IdGenerator, JobId};
use ferrodon_storage::{StorageError, Tx, jobs as store};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use queue::Queue;
pub use worker::{Registry, Worker, WorkerOptions, backoff};

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

/// A kind of background work.
pub trait Job: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Stable name stored with the job; never rename one that may be queued.
    const KIND: &'static str;
    const QUEUE: Queue = Queue::Default;
    /// Runs before the job goes to the dead set (Sidekiq's default is 25).
    const MAX_ATTEMPTS: i32 = 25;
    /// What the job needs to run (services, pools).
    type Context: Clone + Send + Sync + 'static;

    /// While a job with this key waits, enqueueing another is a no-op.
    fn unique_key(&self) -> Option<String> {
        None
    }

    fn run(&self, ctx: &Self::Context) -> impl Future<Output = Result<(), JobError>> + Send;
}

/// Adds `job` to its queue inside `tx`, to run now. Returns `false` when a
/// unique job with the same key is already waiting.
pub async fn enqueue<J: Job>(
    tx: &mut Tx,
    ids: &IdGenerator,
    job: &J,
) -> Result<bool, StorageError> {
    enqueue_at(tx, ids, job, ferrodon_storage::now()).await
}

/// Adds `job` to run at `at` (a delayed job).
pub async fn enqueue_at<J: Job>(
    tx: &mut Tx,
    ids: &IdGenerator,
    job: &J,
    at: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let payload = serde_json::to_string(job)
        .map_err(|e| StorageError::Corrupt(format!("job {} does not serialize: {e}", J::KIND)))?;
    store::insert(
        tx,
        &store::NewJob {
            id: JobId::from(ids.next()),
            queue: J::QUEUE.as_str().to_owned(),
            kind: J::KIND.to_owned(),
            payload,
            unique_key: job.unique_key().map(|k| format!("{}:{k}", J::KIND)),
            max_attempts: J::MAX_ATTEMPTS,
            run_at: at,
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use ferrodon_storage::{Db, DbOptions};
    use ferrodon_testkit::{Lane, TestDatabase};
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Clone, Default)]
    struct Counters {
        ok: Arc<AtomicUsize>,
        failed: Arc<AtomicUsize>,
    }

    #[derive(Serialize, Deserialize)]
    struct Succeeds;
    impl Job for Succeeds {
        const KIND: &'static str = "test_succeeds";
        type Context = Counters;
        async fn run(&self, ctx: &Counters) -> Result<(), JobError> {
            ctx.ok.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    #[derive(Serialize, Deserialize)]
    struct Fails;
    impl Job for Fails {
        const KIND: &'static str = "test_fails";
        const MAX_ATTEMPTS: i32 = 1;
        type Context = Counters;
        fn unique_key(&self) -> Option<String> {
            Some("only-one".into())
        }
        async fn run(&self, ctx: &Counters) -> Result<(), JobError> {
            ctx.failed.fetch_add(1, Ordering::SeqCst);
            Err(JobError::new("boom"))
        }
    }

    async fn db_for(lane: Lane) -> Option<(Db, TestDatabase)> {
        if !ferrodon_testkit::lane_available(lane) {
            return None;
        }
        let t = TestDatabase::create(lane).await;
        let direct = Db::connect(&DbOptions {
            url: t.direct_url.clone(),
            pool: 2,
            prepared_statements: true,
        })
        .await
        .ok()?;
        direct.migrate().await.ok()?;
        let db = Db::connect(&DbOptions {
            url: t.url.clone(),
            pool: 4,
            prepared_statements: t.prepared_statements,
        })
        .await
        .ok()?;
        Some((db, t))
    }

    async fn enqueue_run_and_bury(lane: Lane) {
        let Some((db, _guard)) = db_for(lane).await else {
            return;
        };
        let ids = IdGenerator::new();
        let mut tx = db.begin().await.unwrap_or_else(|e| panic!("{e}"));
        for _ in 0..3 {
            assert!(enqueue(&mut tx, &ids, &Succeeds).await.unwrap_or(false));
        }
        assert!(enqueue(&mut tx, &ids, &Fails).await.unwrap_or(false));
        // A second unique job with the same key while one waits is a no-op.
        assert!(!enqueue(&mut tx, &ids, &Fails).await.unwrap_or(true));
        tx.commit().await.unwrap_or_else(|e| panic!("{e}"));

        let counters = Counters::default();
        let mut registry = Registry::new();
        registry.register::<Succeeds>().register::<Fails>();
        let options = WorkerOptions {
            poll_interval: Duration::from_millis(50),
            ..WorkerOptions::default()
        };
        let worker = Worker::new(db.clone(), registry, counters.clone(), options);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(worker.run(async move {
            let _ = stop_rx.await;
        }));
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while (counters.ok.load(Ordering::SeqCst) < 3 || counters.failed.load(Ordering::SeqCst) < 1)
            && std::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = stop_tx.send(());
        let _ = handle.await;
        assert_eq!(counters.ok.load(Ordering::SeqCst), 3);
        assert_eq!(counters.failed.load(Ordering::SeqCst), 1);
        let stats = store::stats(&db, ferrodon_storage::now())
            .await
            .unwrap_or_default();
        // Finished jobs are gone; the failed one (one attempt allowed) is dead.
        assert_eq!(stats, vec![("default".to_owned(), 0, 0, 1)]);
    }

    #[tokio::test]
    async fn sqlite_jobs_run_and_exhausted_jobs_die() {
        enqueue_run_and_bury(Lane::Sqlite).await;
    }

    #[tokio::test]
    async fn postgres_jobs_run_and_exhausted_jobs_die() {
        enqueue_run_and_bury(Lane::Postgres).await;
    }

    #[tokio::test]
    async fn pgbouncer_jobs_run_and_exhausted_jobs_die() {
        enqueue_run_and_bury(Lane::PgBouncer).await;
    }
}
