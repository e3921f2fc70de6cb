//! The job queue on every backend (SQLite, PostgreSQL, PostgreSQL through
//! PgBouncer, Redis with PostgreSQL as outbox): retry delays on a virtual
//! clock, the dead set and `retry_dead`, unique jobs, the outbox relay.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use ferrodon_jobs::{
    Clock, Job, JobError, JobKind, JobQueue, Queue, Registry, Schedule, Worker, WorkerOptions,
};
use ferrodon_model::IdGenerator;
use ferrodon_storage::redis_jobs::RedisQueue;
use ferrodon_storage::{Db, DbOptions};
use ferrodon_testkit::{Lane, TestDatabase};
use serde::{Deserialize, Serialize};

#[derive(Debug)]
struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    fn advance(&self, secs: i64) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t += chrono::Duration::seconds(secs);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[derive(Clone)]
struct Ctx {
    clock: Arc<ManualClock>,
    runs: Arc<Mutex<Vec<DateTime<Utc>>>>,
    done: Arc<Mutex<Vec<String>>>,
}

impl Ctx {
    fn runs(&self) -> Vec<DateTime<Utc>> {
        self.runs.lock().map(|r| r.clone()).unwrap_or_default()
    }
    fn done(&self) -> Vec<String> {
        self.done.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

#[derive(Serialize, Deserialize)]
struct AlwaysFails;

impl JobKind for AlwaysFails {
    const KIND: &'static str = "test_always_fails";
    const QUEUE: Queue = Queue::Pull;
    const MAX_ATTEMPTS: i32 = 4;
}

impl Job for AlwaysFails {
    type Context = Ctx;

    async fn run(&self, ctx: &Ctx) -> Result<(), JobError> {
        if let Ok(mut runs) = ctx.runs.lock() {
            runs.push(ctx.clock.now());
        }
        Err(JobError::new("always fails"))
    }
}

#[derive(Serialize, Deserialize)]
struct Unique {
    key: String,
}

impl JobKind for Unique {
    const KIND: &'static str = "test_unique";
    fn unique_key(&self) -> Option<String> {
        Some(self.key.clone())
    }
}

impl Job for Unique {
    type Context = Ctx;

    async fn run(&self, ctx: &Ctx) -> Result<(), JobError> {
        if let Ok(mut done) = ctx.done.lock() {
            done.push(self.key.clone());
        }
        Ok(())
    }
}

/// A migrated database (and for the redis lane a Redis queue under a fresh prefix).
async fn queue_for(lane: Lane) -> Option<(JobQueue, TestDatabase)> {
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
    direct.close().await;
    let db = Db::connect(&DbOptions {
        url: t.url.clone(),
        pool: 4,
        prepared_statements: t.prepared_statements,
    })
    .await
    .ok()?;
    let redis = match lane {
        Lane::Redis => {
            let url = ferrodon_testkit::redis_url()?;
            let prefix = format!("{}:", ferrodon_testkit::unique_namespace());
            Some(RedisQueue::connect(&url, &prefix).await.ok()?)
        }
        _ => None,
    };
    Some((JobQueue::new(db, redis), t))
}

fn start(
    queue: &JobQueue,
    ctx: &Ctx,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let mut registry = Registry::new();
    registry.register::<AlwaysFails>().register::<Unique>();
    let options = WorkerOptions {
        concurrency: 2,
        poll_interval: Duration::from_millis(10),
        maintenance_interval: Duration::from_millis(10),
        clock: ctx.clock.clone(),
        ..WorkerOptions::default()
    };
    let worker = Worker::new(
        queue.clone(),
        registry,
        ctx.clone(),
        options,
        Schedule::new(),
    );
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(worker.run(async move {
        let _ = rx.await;
    }));
    (tx, handle)
}

async fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn ctx() -> Ctx {
    Ctx {
        // A little ahead of real time, so jobs enqueued now are due on it.
        clock: Arc::new(ManualClock(Mutex::new(
            ferrodon_storage::now() + chrono::Duration::seconds(2),
        ))),
        runs: Arc::new(Mutex::new(Vec::new())),
        done: Arc::new(Mutex::new(Vec::new())),
    }
}

async fn dead_in(queue: &JobQueue, name: &str, now: DateTime<Utc>) -> i64 {
    let stats = queue.stats(now).await.unwrap_or_else(|e| panic!("{e}"));
    stats
        .queues
        .iter()
        .find(|q| q.queue == name)
        .map_or(0, |q| q.dead)
}

/// Each retry waits Sidekiq's `count⁴ + 15 + rand(10) × (count + 1)`
/// seconds of the (virtual) clock; after the last attempt the job is dead;
/// `retry_dead` runs it again.
async fn retries_follow_the_formula(lane: Lane) {
    let Some((queue, _db)) = queue_for(lane).await else {
        return;
    };
    let ctx = ctx();
    let (stop, handle) = start(&queue, &ctx);
    let ids = IdGenerator::new();
    assert_eq!(queue.push(&ids, &[AlwaysFails]).await.unwrap_or(0), 1);
    wait_for("the first run", || ctx.runs().len() == 1).await;
    for run in 1..AlwaysFails::MAX_ATTEMPTS as usize {
        // Advance virtual time a second at a time until the next run.
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while ctx.runs().len() == run {
            assert!(
                std::time::Instant::now() < deadline,
                "retry {run} never ran"
            );
            ctx.clock.advance(1);
            // Several worker polls per virtual second, so a due retry runs
            // before the clock moves on much (the check allows for some).
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
        let runs = ctx.runs();
        let delay = (runs[run] - runs[run - 1]).num_seconds();
        let count = (run - 1) as i64;
        let min = count.pow(4) + 15;
        let max = min + 9 * (count + 1);
        // Slack for the steps the clock may take past the due time on a busy machine.
        assert!(
            (min..=max + 5).contains(&delay),
            "{lane:?}: retry {run} came after {delay} s, expected {min}..={max}"
        );
    }
    // The last attempt failed: the job is dead, and stays dead.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while dead_in(&queue, "pull", ctx.clock.now()).await != 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "{lane:?}: the job never reached the dead set"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    ctx.clock.advance(100_000);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        ctx.runs().len(),
        AlwaysFails::MAX_ATTEMPTS as usize,
        "a dead job ran again"
    );

    // retry-dead brings it back with fresh attempts.
    assert_eq!(
        queue
            .retry_dead(Some(Queue::Pull), ctx.clock.now())
            .await
            .unwrap_or(0),
        1
    );
    wait_for("the resurrected run", || {
        ctx.runs().len() == AlwaysFails::MAX_ATTEMPTS as usize + 1
    })
    .await;
    assert_eq!(dead_in(&queue, "pull", ctx.clock.now()).await, 0);
    let _ = stop.send(());
    let _ = handle.await;
}

/// A unique job is enqueued once while one with its key waits (or runs);
/// after it finished, the key is free again.
async fn unique_jobs_dedupe(lane: Lane) {
    let Some((queue, _db)) = queue_for(lane).await else {
        return;
    };
    let ctx = ctx();
    let ids = IdGenerator::new();
    let job = || Unique { key: "same".into() };
    assert_eq!(queue.push(&ids, &[job()]).await.unwrap_or(9), 1);
    assert_eq!(queue.push(&ids, &[job(), job()]).await.unwrap_or(9), 0);
    let other = Unique {
        key: "other".into(),
    };
    assert_eq!(queue.push(&ids, &[other]).await.unwrap_or(9), 1);
    let (stop, handle) = start(&queue, &ctx);
    wait_for("both unique jobs", || ctx.done().len() == 2).await;
    let mut done = ctx.done();
    done.sort();
    assert_eq!(done, vec!["other".to_owned(), "same".to_owned()]);
    // Finished: the key can be used again.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        if queue.push(&ids, &[job()]).await.unwrap_or(0) == 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{lane:?}: the unique key was never released"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    wait_for("the third run", || ctx.done().len() == 3).await;
    let _ = stop.send(());
    let _ = handle.await;
}

/// Jobs written in a database transaction (the outbox) run; with Redis they
/// go through the relay first.
async fn transactional_jobs_run(lane: Lane) {
    let Some((queue, _db)) = queue_for(lane).await else {
        return;
    };
    let ctx = ctx();
    let ids = IdGenerator::new();
    let mut tx = queue.db().begin().await.unwrap_or_else(|e| panic!("{e}"));
    for key in ["t1", "t2", "t3"] {
        ferrodon_jobs::enqueue(&mut tx, &ids, &Unique { key: key.into() })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
    // Rolled back: never runs.
    let mut rolled_back = queue.db().begin().await.unwrap_or_else(|e| panic!("{e}"));
    ferrodon_jobs::enqueue(
        &mut rolled_back,
        &ids,
        &Unique {
            key: "ghost".into(),
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    drop(rolled_back);
    let (stop, handle) = start(&queue, &ctx);
    wait_for("the three committed jobs", || ctx.done().len() == 3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !ctx.done().contains(&"ghost".to_owned()),
        "a rolled-back job ran"
    );
    let stats = queue
        .stats(ctx.clock.now())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stats.outbox, 0, "{stats:?}");
    let _ = stop.send(());
    let _ = handle.await;
}

/// A delayed job waits until its time on the (virtual) clock, then runs.
async fn delayed_jobs_wait(lane: Lane) {
    let Some((queue, _db)) = queue_for(lane).await else {
        return;
    };
    let ctx = ctx();
    let ids = IdGenerator::new();
    let at = ctx.clock.now() + chrono::Duration::seconds(60);
    let job = Unique {
        key: "later".into(),
    };
    assert_eq!(queue.push_at(&ids, &[job], at).await.unwrap_or(0), 1);
    let stats = queue
        .stats(ctx.clock.now())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let scheduled: i64 = stats.queues.iter().map(|q| q.scheduled).sum();
    assert_eq!(scheduled, 1, "{stats:?}");
    let (stop, handle) = start(&queue, &ctx);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(ctx.done().is_empty(), "{lane:?}: a delayed job ran early");
    ctx.clock.advance(61);
    wait_for("the delayed job", || ctx.done().len() == 1).await;
    let _ = stop.send(());
    let _ = handle.await;
}

macro_rules! on_every_backend {
    ($($name:ident),*) => {$(
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() { super::$name(Lane::Sqlite).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() { super::$name(Lane::Postgres).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn pgbouncer() { super::$name(Lane::PgBouncer).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn redis() { super::$name(Lane::Redis).await }
        }
    )*};
}

on_every_backend!(
    retries_follow_the_formula,
    unique_jobs_dedupe,
    transactional_jobs_run,
    delayed_jobs_wait
);
