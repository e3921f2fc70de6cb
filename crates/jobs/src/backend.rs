//! The two queue backends behind one [`JobQueue`]: the SQL `jobs` table, and
//! Redis with the table as its outbox.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use ferrodon_model::{IdGenerator, JobId};
use ferrodon_storage::jobs::{self as store, ClaimedJob};
use ferrodon_storage::redis_jobs::{Push, RedisQueue};
use ferrodon_storage::{Db, StorageError};
use serde::Serialize;
use tokio::sync::Notify;

use crate::message::Message;
use crate::{JobKind, Queue, new_job};

/// Dead jobs kept at most (Sidekiq's default), and for how long.
pub(crate) const DEAD_MAX: i64 = 10_000;
pub(crate) const DEAD_MAX_AGE_DAYS: i64 = 182;

/// A job a worker holds.
#[derive(Debug, Clone)]
pub(crate) struct Claimed {
    pub id: JobId,
    pub queue: String,
    pub kind: String,
    pub payload: String,
    /// This run's number, from 1.
    pub attempt: i32,
    pub max_attempts: i32,
    pub unique_key: Option<String>,
    /// When the job became due (for latency figures).
    pub due_at: DateTime<Utc>,
    /// The Redis member, for Redis jobs.
    pub member: Option<String>,
}

impl Claimed {
    fn from_row(row: ClaimedJob) -> Claimed {
        Claimed {
            id: row.id,
            queue: row.queue,
            kind: row.kind,
            payload: row.payload,
            attempt: row.attempts,
            max_attempts: row.max_attempts,
            unique_key: row.unique_key,
            due_at: row.run_at,
            member: None,
        }
    }

    fn from_member(member: String) -> Option<Claimed> {
        let m = Message::decode(&member)?;
        Some(Claimed {
            id: JobId(m.id),
            queue: m.queue,
            kind: m.kind,
            payload: m.payload,
            attempt: m.failures + 1,
            max_attempts: m.max_attempts,
            unique_key: m.unique_key,
            due_at: DateTime::from_timestamp_millis(m.enqueued_ms).unwrap_or_default(),
            member: Some(member),
        })
    }

    /// The message for this job after this run failed.
    fn failed_message(&self, error: &str) -> Message {
        let enqueued_ms = self
            .member
            .as_deref()
            .and_then(Message::decode)
            .map(|m| m.enqueued_ms)
            .unwrap_or_else(|| self.due_at.timestamp_millis());
        Message {
            id: self.id.0,
            queue: self.queue.clone(),
            kind: self.kind.clone(),
            payload: self.payload.clone(),
            failures: self.attempt,
            max_attempts: self.max_attempts,
            unique_key: self.unique_key.clone(),
            enqueued_ms,
            error: Some(error.chars().take(1000).collect()),
        }
    }
}

/// One queue's figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QueueStats {
    pub queue: String,
    /// Jobs due and waiting for a worker.
    pub size: i64,
    /// How long the oldest waiting job has waited, in seconds.
    pub latency_seconds: f64,
    pub busy: i64,
    pub scheduled: i64,
    pub retries: i64,
    pub dead: i64,
}

/// Figures for every queue.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    /// `sql` or `redis`.
    pub backend: &'static str,
    pub queues: Vec<QueueStats>,
    /// With Redis: jobs written by the database that the relay has not moved yet.
    pub outbox: i64,
}

/// The job queue: the SQL table alone, or Redis fed by the table as outbox.
#[derive(Clone)]
pub struct JobQueue {
    db: Db,
    redis: Option<RedisQueue>,
    /// Wakes the fetchers of this process when the relay moved jobs.
    pub(crate) moved: Arc<Notify>,
}

impl std::fmt::Debug for JobQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JobQueue({})", self.backend_name())
    }
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

impl JobQueue {
    pub fn new(db: Db, redis: Option<RedisQueue>) -> Self {
        JobQueue {
            db,
            redis,
            moved: Arc::new(Notify::new()),
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn backend_name(&self) -> &'static str {
        if self.redis.is_some() { "redis" } else { "sql" }
    }

    pub(crate) fn uses_redis(&self) -> bool {
        self.redis.is_some()
    }

    /// Redis: a connection to block on until work is enqueued.
    pub(crate) async fn waiter(&self) -> Option<ferrodon_storage::redis_jobs::RedisWaiter> {
        match &self.redis {
            Some(r) => r.waiter().await.ok(),
            None => None,
        }
    }

    /// Adds jobs directly (not tied to a database transaction), to run now.
    pub async fn push<J: JobKind>(
        &self,
        ids: &IdGenerator,
        jobs: &[J],
    ) -> Result<u64, StorageError> {
        self.push_at(ids, jobs, ferrodon_storage::now()).await
    }

    /// Adds jobs directly, to run at `at`. Returns how many were added
    /// (unique jobs already waiting are not).
    pub async fn push_at<J: JobKind>(
        &self,
        ids: &IdGenerator,
        jobs: &[J],
        at: DateTime<Utc>,
    ) -> Result<u64, StorageError> {
        let rows = jobs
            .iter()
            .map(|j| new_job(ids, j, at))
            .collect::<Result<Vec<_>, _>>()?;
        match &self.redis {
            None => store::insert_many(&self.db, &rows).await,
            Some(redis) => {
                let now = ferrodon_storage::now();
                let pushes: Vec<Push> = rows.iter().map(|r| to_push(r, now)).collect();
                let added = redis.push(&pushes, ms(now)).await?;
                self.moved.notify_waiters();
                Ok(u64::try_from(added).unwrap_or(0))
            }
        }
    }

    /// Takes up to `max` jobs from `order` (first queue first) under a lease.
    /// Also says which queues turned out empty (SQL: each costs a query, so
    /// the worker skips them for a moment).
    pub(crate) async fn fetch(
        &self,
        order: &[Queue],
        max: usize,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<(Vec<Claimed>, Vec<Queue>), StorageError> {
        match &self.redis {
            None => {
                let mut out = Vec::new();
                let mut empty = Vec::new();
                for q in order {
                    let want = max.saturating_sub(out.len());
                    if want == 0 {
                        break;
                    }
                    let rows =
                        store::claim(&self.db, q.as_str(), worker, now, lease_until, want as i64)
                            .await?;
                    if rows.is_empty() {
                        empty.push(*q);
                    }
                    out.extend(rows.into_iter().map(Claimed::from_row));
                }
                Ok((out, empty))
            }
            Some(redis) => {
                let names: Vec<&str> = order.iter().map(|q| q.as_str()).collect();
                let got = redis.fetch(&names, max, ms(lease_until)).await?;
                let mut out = Vec::with_capacity(got.len());
                for (queue, member) in got {
                    match Claimed::from_member(member.clone()) {
                        Some(c) => out.push(c),
                        None => {
                            // Not ours to run: keep it in the dead set for inspection.
                            tracing::warn!(queue = %queue, "unreadable job in Redis; moving it to the dead set");
                            let now_ms = ms(now);
                            redis
                                .bury(
                                    &queue,
                                    &member,
                                    &member,
                                    None,
                                    0,
                                    now_ms,
                                    DEAD_MAX,
                                    now_ms - DEAD_MAX_AGE_DAYS * 86_400_000,
                                )
                                .await?;
                        }
                    }
                }
                Ok((out, Vec::new()))
            }
        }
    }

    /// Acknowledges finished jobs.
    pub(crate) async fn ack(&self, done: &[Claimed], worker: &str) -> Result<(), StorageError> {
        match &self.redis {
            None => {
                let ids: Vec<JobId> = done.iter().map(|c| c.id).collect();
                store::complete(&self.db, &ids, worker).await.map(|_| ())
            }
            Some(redis) => {
                let items: Vec<(String, String, Option<String>, i64)> = done
                    .iter()
                    .filter_map(|c| {
                        c.member
                            .clone()
                            .map(|m| (c.queue.clone(), m, c.unique_key.clone(), c.id.0))
                    })
                    .collect();
                redis.ack(&items).await
            }
        }
    }

    /// Schedules the next attempt of a failed job at `at`.
    pub(crate) async fn retry(
        &self,
        job: &Claimed,
        worker: &str,
        at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StorageError> {
        match (&self.redis, &job.member) {
            (Some(redis), Some(member)) => {
                let next = job.failed_message(error).encode();
                redis.retry(&job.queue, member, &next, ms(at)).await
            }
            _ => store::retry(&self.db, job.id, worker, at, error).await,
        }
    }

    /// Moves a job that used up its attempts to the dead set.
    pub(crate) async fn bury(
        &self,
        job: &Claimed,
        worker: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        match (&self.redis, &job.member) {
            (Some(redis), Some(member)) => {
                let dead = job.failed_message(error).encode();
                let now_ms = ms(now);
                redis
                    .bury(
                        &job.queue,
                        member,
                        &dead,
                        job.unique_key.as_deref(),
                        job.id.0,
                        now_ms,
                        DEAD_MAX,
                        now_ms - DEAD_MAX_AGE_DAYS * 86_400_000,
                    )
                    .await
            }
            _ => store::bury(&self.db, job.id, worker, error).await,
        }
    }

    /// Extends the leases of the jobs this worker holds.
    pub(crate) async fn extend(
        &self,
        held: &[Claimed],
        worker: &str,
        until: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        match &self.redis {
            None => store::extend_leases(&self.db, worker, until)
                .await
                .map(|_| ()),
            Some(redis) => {
                let members: Vec<(String, String)> = held
                    .iter()
                    .filter_map(|c| c.member.clone().map(|m| (c.queue.clone(), m)))
                    .collect();
                redis.extend(&members, ms(until)).await
            }
        }
    }

    /// Hands unfinished jobs back to run again at once.
    pub(crate) async fn release(
        &self,
        held: &[Claimed],
        worker: &str,
    ) -> Result<u64, StorageError> {
        match &self.redis {
            None => {
                let ids: Vec<JobId> = held.iter().map(|c| c.id).collect();
                store::release(&self.db, worker, Some(&ids)).await
            }
            Some(redis) => {
                let mut n = 0;
                for q in Queue::ALL {
                    let members: Vec<String> = held
                        .iter()
                        .filter(|c| c.queue == q.as_str())
                        .filter_map(|c| c.member.clone())
                        .collect();
                    n += redis.release(q.as_str(), &members).await?;
                }
                Ok(u64::try_from(n).unwrap_or(0))
            }
        }
    }

    /// Redis: promotes due scheduled and retry jobs, recovers lapsed leases.
    pub(crate) async fn maintain(&self, now: DateTime<Utc>) -> Result<i64, StorageError> {
        match &self.redis {
            None => Ok(0),
            Some(redis) => {
                let names: Vec<&str> = Queue::ALL.iter().map(|q| q.as_str()).collect();
                let moved = redis.maintain(&names, ms(now)).await?;
                if moved > 0 {
                    self.moved.notify_waiters();
                }
                Ok(moved)
            }
        }
    }

    /// Redis: moves up to `limit` outbox rows to Redis. Returns how many moved.
    pub(crate) async fn relay(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<usize, StorageError> {
        let Some(redis) = &self.redis else {
            return Ok(0);
        };
        let lease = now + chrono::Duration::seconds(60);
        let rows = store::claim_outbox(&self.db, worker, now, lease, limit).await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let ids: Vec<JobId> = rows.iter().map(|r| r.id).collect();
        let pushes: Vec<Push> = rows
            .iter()
            .map(|r| {
                let message = Message {
                    id: r.id.0,
                    queue: r.queue.clone(),
                    kind: r.kind.clone(),
                    payload: r.payload.clone(),
                    failures: 0,
                    max_attempts: r.max_attempts,
                    unique_key: r.unique_key.clone(),
                    enqueued_ms: ms(r.created_at),
                    error: None,
                };
                Push {
                    queue: r.queue.clone(),
                    member: message.encode(),
                    run_at_ms: ms(r.run_at),
                    unique_key: r.unique_key.clone(),
                    id: r.id.0,
                }
            })
            .collect();
        if let Err(e) = redis.push(&pushes, ms(now)).await {
            // Leave them in the outbox for the next attempt.
            let _ = store::release(&self.db, worker, Some(&ids)).await;
            return Err(e);
        }
        // Pushed but not deleted (a crash here) means a second push later:
        // a duplicate run, which jobs tolerate; never a lost job.
        store::delete_moved(&self.db, &ids, worker).await?;
        self.moved.notify_waiters();
        Ok(rows.len())
    }

    /// Figures for every queue.
    pub async fn stats(&self, now: DateTime<Utc>) -> Result<Stats, StorageError> {
        match &self.redis {
            None => {
                let rows = store::stats(&self.db, now).await?;
                let queues = Queue::ALL
                    .iter()
                    .map(|q| {
                        let row = rows.iter().find(|r| r.queue == q.as_str());
                        QueueStats {
                            queue: q.as_str().to_owned(),
                            size: row.map_or(0, |r| r.ready),
                            latency_seconds: row.and_then(|r| r.oldest_ready_at).map_or(0.0, |t| {
                                ((now - t).num_milliseconds().max(0) as f64) / 1000.0
                            }),
                            busy: row.map_or(0, |r| r.busy),
                            scheduled: row.map_or(0, |r| r.scheduled),
                            retries: row.map_or(0, |r| r.retries),
                            dead: row.map_or(0, |r| r.dead),
                        }
                    })
                    .collect();
                Ok(Stats {
                    backend: "sql",
                    queues,
                    outbox: 0,
                })
            }
            Some(redis) => {
                let names: Vec<&str> = Queue::ALL.iter().map(|q| q.as_str()).collect();
                let rows = redis.stats(&names).await?;
                let queues = names
                    .iter()
                    .zip(rows)
                    .map(|(name, r)| QueueStats {
                        queue: (*name).to_owned(),
                        size: r.ready,
                        latency_seconds: r
                            .oldest
                            .as_deref()
                            .and_then(Message::decode)
                            .map_or(0.0, |m| ((ms(now) - m.enqueued_ms).max(0) as f64) / 1000.0),
                        busy: r.busy,
                        scheduled: r.scheduled,
                        retries: r.retries,
                        dead: r.dead,
                    })
                    .collect();
                Ok(Stats {
                    backend: "redis",
                    queues,
                    outbox: store::count_pending(&self.db).await?,
                })
            }
        }
    }

    /// Brings dead jobs (of one queue or all) back to run now, with fresh attempts.
    pub async fn retry_dead(
        &self,
        queue: Option<Queue>,
        now: DateTime<Utc>,
    ) -> Result<u64, StorageError> {
        let mut n = store::retry_dead(&self.db, queue.map(|q| q.as_str()), now).await?;
        if let Some(redis) = &self.redis {
            for q in Queue::ALL
                .into_iter()
                .filter(|q| queue.is_none_or(|only| only == *q))
            {
                loop {
                    let members = redis.dead_members(q.as_str(), 500).await?;
                    if members.is_empty() {
                        break;
                    }
                    let pairs: Vec<(String, String)> = members
                        .into_iter()
                        .map(|old| {
                            let new = Message::decode(&old).map(|mut m| {
                                m.failures = 0;
                                m.error = None;
                                m.encode()
                            });
                            (old.clone(), new.unwrap_or(old))
                        })
                        .collect();
                    let moved = redis.resurrect(q.as_str(), &pairs).await?;
                    n += u64::try_from(moved).unwrap_or(0);
                    if moved == 0 {
                        break;
                    }
                }
            }
            self.moved.notify_waiters();
        }
        Ok(n)
    }

    /// Deletes dead jobs (of one queue or all).
    pub async fn clear_dead(&self, queue: Option<Queue>) -> Result<u64, StorageError> {
        let mut n = store::clear_dead(&self.db, queue.map(|q| q.as_str())).await?;
        if let Some(redis) = &self.redis {
            for q in Queue::ALL
                .into_iter()
                .filter(|q| queue.is_none_or(|only| only == *q))
            {
                n += u64::try_from(redis.clear_dead(q.as_str()).await?).unwrap_or(0);
            }
        }
        Ok(n)
    }

    /// Keeps the SQL dead set bounded (Redis bounds its own when burying).
    pub async fn prune_dead(&self, now: DateTime<Utc>) -> Result<u64, StorageError> {
        store::prune_dead(
            &self.db,
            DEAD_MAX,
            now - chrono::Duration::days(DEAD_MAX_AGE_DAYS),
        )
        .await
    }
}

fn to_push(row: &store::NewJob, now: DateTime<Utc>) -> Push {
    let message = Message {
        id: row.id.0,
        queue: row.queue.clone(),
        kind: row.kind.clone(),
        payload: row.payload.clone(),
        failures: 0,
        max_attempts: row.max_attempts,
        unique_key: row.unique_key.clone(),
        enqueued_ms: ms(now),
        error: None,
    };
    Push {
        queue: row.queue.clone(),
        member: message.encode(),
        run_at_ms: ms(row.run_at),
        unique_key: row.unique_key.clone(),
        id: row.id.0,
    }
}
