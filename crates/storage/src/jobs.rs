//! The `jobs` table: the SQL job queue, and in front of the Redis queue the
//! transactional outbox (a job caused by a database change is written in the
//! same transaction and moved to Redis by the relay).
//!
//! Claiming uses a lease (`locked_by`, `locked_until`): a job held by a worker
//! that died comes back once the lease lapses. Bookkeeping writes (finishing,
//! retrying, extending leases) may be lost in a crash without losing a job —
//! the job then runs again — so on PostgreSQL they commit without waiting for
//! the WAL flush (`SET LOCAL synchronous_commit TO off`, transaction-scoped,
//! safe behind PgBouncer).

use chrono::{DateTime, Utc};
use ferrodon_model::JobId;

use crate::sql::{self, Query, args};
use crate::{Db, Dialect, Exec, Result, Tx};

#[derive(Debug, Clone)]
pub struct NewJob {
    pub id: JobId,
    pub queue: String,
    pub kind: String,
    pub payload: String,
    /// While a live job with this key exists, inserting another is a no-op.
    pub unique_key: Option<String>,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
}

const INSERT: &str = "INSERT INTO jobs (id, queue, kind, payload, unique_key, max_attempts, run_at, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING";

fn insert_args(job: &NewJob, now: DateTime<Utc>) -> Vec<sql::Arg> {
    args![
        job.id,
        &job.queue,
        &job.kind,
        &job.payload,
        job.unique_key.clone(),
        job.max_attempts,
        job.run_at,
        now
    ]
}

/// Adds a job inside the caller's transaction, so it exists exactly when the
/// change that caused it commits. Returns `false` when a unique job with the
/// same key was already waiting.
pub async fn insert(tx: &mut Tx, job: &NewJob) -> Result<bool> {
    let n = sql::execute(&mut *tx, INSERT, insert_args(job, crate::now())).await?;
    if n > 0 {
        tx.mark_enqueued();
    }
    Ok(n > 0)
}

/// Adds jobs in one transaction of their own; returns how many were new.
pub async fn insert_many(db: &Db, jobs: &[NewJob]) -> Result<u64> {
    if jobs.is_empty() {
        return Ok(0);
    }
    let mut tx = db.begin().await?;
    let now = crate::now();
    let mut added = 0;
    for job in jobs {
        added += sql::execute(&mut tx, INSERT, insert_args(job, now)).await?;
    }
    if added > 0 {
        tx.mark_enqueued();
    }
    tx.commit().await?;
    Ok(added)
}

/// A job a worker holds until `locked_until`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedJob {
    #[sqlx(try_from = "i64")]
    pub id: JobId,
    pub queue: String,
    pub kind: String,
    pub payload: String,
    /// Including this run.
    pub attempts: i32,
    pub max_attempts: i32,
    pub unique_key: Option<String>,
    pub run_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

const CLAIMED_COLUMNS: &str =
    "id, queue, kind, payload, attempts, max_attempts, unique_key, run_at, created_at";

/// Leases up to `limit` runnable jobs of one queue, oldest first.
pub async fn claim(
    db: &Db,
    queue: &str,
    worker: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<ClaimedJob>> {
    let mut q = Query::new("UPDATE jobs SET locked_until = ");
    let until = q.bind(lease_until);
    let by = q.bind(worker);
    let at = q.bind(now);
    let name = q.bind(queue);
    let n = q.bind(limit);
    q.push(&format!(
        "{until}, locked_by = {by}, attempts = attempts + 1 WHERE id IN (SELECT id FROM jobs \
         WHERE queue = {name} AND dead_at IS NULL AND run_at <= {at} \
         AND (locked_until IS NULL OR locked_until < {at}) ORDER BY run_at, id LIMIT {n}"
    ));
    push_skip_locked(&mut q, db.dialect());
    q.push(&format!(") RETURNING {CLAIMED_COLUMNS}"));
    // A claim lost in a database crash only leaves the job unclaimed.
    let mut tx = bookkeeping(db).await?;
    let mut jobs: Vec<ClaimedJob> = sql::fetch_all(&mut tx, q.sql, q.args).await?;
    tx.commit().await?;
    jobs.sort_by_key(|j| (j.run_at, j.id));
    Ok(jobs)
}

/// Leases up to `limit` outbox rows of any queue, due or not, for the relay
/// to move to Redis. The attempt counter is left alone.
pub async fn claim_outbox(
    db: &Db,
    worker: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<ClaimedJob>> {
    let mut q = Query::new("UPDATE jobs SET locked_until = ");
    let until = q.bind(lease_until);
    let by = q.bind(worker);
    let at = q.bind(now);
    let n = q.bind(limit);
    q.push(&format!(
        "{until}, locked_by = {by} WHERE id IN (SELECT id FROM jobs WHERE dead_at IS NULL \
         AND (locked_until IS NULL OR locked_until < {at}) ORDER BY id LIMIT {n}"
    ));
    push_skip_locked(&mut q, db.dialect());
    q.push(&format!(") RETURNING {CLAIMED_COLUMNS}"));
    let mut jobs: Vec<ClaimedJob> = sql::fetch_all(db, q.sql, q.args).await?;
    jobs.sort_by_key(|j| j.id);
    Ok(jobs)
}

fn push_skip_locked(q: &mut Query, dialect: Dialect) {
    match dialect {
        // Concurrent claimers skip rows another transaction holds.
        Dialect::Postgres => q.push(" FOR UPDATE SKIP LOCKED"),
        // SQLite runs one writer at a time, so the sub-select cannot race.
        Dialect::Sqlite => {}
    }
}

/// `id IN ($k, …)` for a list of job ids, appended to `q`.
fn push_ids(q: &mut Query, ids: &[JobId]) {
    let list: Vec<String> = ids.iter().map(|id| q.bind(*id)).collect();
    q.push(&format!("id IN ({})", list.join(", ")));
}

/// A transaction for queue bookkeeping: on PostgreSQL its commit does not
/// wait for the WAL flush (a lost acknowledgement only means a re-run).
async fn bookkeeping(db: &Db) -> Result<Tx> {
    let mut tx = db.begin().await?;
    if tx.dialect() == Dialect::Postgres {
        sql::execute(&mut tx, "SET LOCAL synchronous_commit TO off", args![]).await?;
    }
    Ok(tx)
}

/// Removes finished jobs (only those `worker` still holds).
pub async fn complete(db: &Db, ids: &[JobId], worker: &str) -> Result<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let mut q = Query::new("DELETE FROM jobs WHERE locked_by = ");
    let by = q.bind(worker);
    q.push(&by);
    q.push(" AND ");
    push_ids(&mut q, ids);
    let mut tx = bookkeeping(db).await?;
    let n = sql::execute(&mut tx, q.sql, q.args).await?;
    tx.commit().await?;
    Ok(n)
}

/// Deletes outbox rows the relay has moved to Redis.
pub async fn delete_moved(db: &Db, ids: &[JobId], worker: &str) -> Result<u64> {
    complete(db, ids, worker).await
}

/// Schedules another attempt at `run_at`, releasing the lease.
pub async fn retry(
    db: &Db,
    id: JobId,
    worker: &str,
    run_at: DateTime<Utc>,
    error: &str,
) -> Result<()> {
    let mut tx = bookkeeping(db).await?;
    sql::execute(
        &mut tx,
        "UPDATE jobs SET run_at = $3, locked_until = NULL, locked_by = NULL, last_error = $4 \
         WHERE id = $1 AND locked_by = $2",
        args![id, worker, run_at, error],
    )
    .await?;
    tx.commit().await
}

/// Moves a job that used up its attempts to the dead set (a unique job's key is freed).
pub async fn bury(db: &Db, id: JobId, worker: &str, error: &str) -> Result<()> {
    let mut tx = bookkeeping(db).await?;
    sql::execute(
        &mut tx,
        "UPDATE jobs SET dead_at = $3, locked_until = NULL, locked_by = NULL, last_error = $4 \
         WHERE id = $1 AND locked_by = $2",
        args![id, worker, crate::now(), error],
    )
    .await?;
    tx.commit().await
}

/// Extends the leases a live worker holds.
pub async fn extend_leases(db: &Db, worker: &str, until: DateTime<Utc>) -> Result<u64> {
    let mut tx = bookkeeping(db).await?;
    let n = sql::execute(
        &mut tx,
        "UPDATE jobs SET locked_until = $2 WHERE locked_by = $1 AND dead_at IS NULL",
        args![worker, until],
    )
    .await?;
    tx.commit().await?;
    Ok(n)
}

/// Hands back jobs `worker` holds (a graceful stop) to run again at once; the
/// interrupted run does not count as an attempt. `None` hands back all of them.
pub async fn release<'a>(ex: impl Exec<'a>, worker: &str, ids: Option<&[JobId]>) -> Result<u64> {
    let mut q = Query::new(
        "UPDATE jobs SET locked_until = NULL, locked_by = NULL, attempts = CASE WHEN attempts > 0 \
         THEN attempts - 1 ELSE 0 END WHERE dead_at IS NULL AND locked_by = ",
    );
    let by = q.bind(worker);
    q.push(&by);
    if let Some(ids) = ids {
        if ids.is_empty() {
            return Ok(0);
        }
        q.push(" AND ");
        push_ids(&mut q, ids);
    }
    sql::execute(ex, q.sql, q.args).await
}

/// Hands back every job `worker` holds.
pub async fn release_all<'a>(ex: impl Exec<'a>, worker: &str) -> Result<u64> {
    release(ex, worker, None).await
}

/// One queue's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct QueueStats {
    pub queue: String,
    /// Due and not held by a worker.
    pub ready: i64,
    /// Held by a live worker.
    pub busy: i64,
    /// Waiting for their first run at a later time.
    pub scheduled: i64,
    /// Waiting to be retried after a failure.
    pub retries: i64,
    pub dead: i64,
    /// When the oldest ready job became due.
    pub oldest_ready_at: Option<DateTime<Utc>>,
}

/// Per-queue figures of the table.
pub async fn stats<'a>(ex: impl Exec<'a>, now: DateTime<Utc>) -> Result<Vec<QueueStats>> {
    sql::fetch_all(
        ex,
        "SELECT queue, \
         SUM(CASE WHEN dead_at IS NULL AND run_at <= $1 AND (locked_until IS NULL OR locked_until < $1) THEN 1 ELSE 0 END) AS ready, \
         SUM(CASE WHEN dead_at IS NULL AND locked_until >= $1 THEN 1 ELSE 0 END) AS busy, \
         SUM(CASE WHEN dead_at IS NULL AND run_at > $1 AND attempts = 0 AND (locked_until IS NULL OR locked_until < $1) THEN 1 ELSE 0 END) AS scheduled, \
         SUM(CASE WHEN dead_at IS NULL AND run_at > $1 AND attempts > 0 AND (locked_until IS NULL OR locked_until < $1) THEN 1 ELSE 0 END) AS retries, \
         SUM(CASE WHEN dead_at IS NOT NULL THEN 1 ELSE 0 END) AS dead, \
         MIN(CASE WHEN dead_at IS NULL AND run_at <= $1 AND (locked_until IS NULL OR locked_until < $1) THEN run_at END) AS oldest_ready_at \
         FROM jobs GROUP BY queue ORDER BY queue",
        args![now],
    )
    .await
}

/// A job in the dead set, for operators.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeadJob {
    #[sqlx(try_from = "i64")]
    pub id: JobId,
    pub queue: String,
    pub kind: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub dead_at: Option<DateTime<Utc>>,
}

/// Brings dead jobs (of one queue, or all) back to run now with fresh attempts.
pub async fn retry_dead<'a>(
    ex: impl Exec<'a>,
    queue: Option<&str>,
    now: DateTime<Utc>,
) -> Result<u64> {
    sql::execute(
        ex,
        "UPDATE jobs SET dead_at = NULL, attempts = 0, run_at = $1, locked_until = NULL, locked_by = NULL \
         WHERE dead_at IS NOT NULL AND ($2 = '' OR queue = $2)",
        args![now, queue.unwrap_or("")],
    )
    .await
}

/// Deletes dead jobs (of one queue, or all).
pub async fn clear_dead<'a>(ex: impl Exec<'a>, queue: Option<&str>) -> Result<u64> {
    sql::execute(
        ex,
        "DELETE FROM jobs WHERE dead_at IS NOT NULL AND ($1 = '' OR queue = $1)",
        args![queue.unwrap_or("")],
    )
    .await
}

/// Keeps the dead set bounded: drops dead jobs older than `older_than` and
/// all but the newest `keep`.
pub async fn prune_dead(db: &Db, keep: i64, older_than: DateTime<Utc>) -> Result<u64> {
    let aged = sql::execute(
        db,
        "DELETE FROM jobs WHERE dead_at IS NOT NULL AND dead_at < $1",
        args![older_than],
    )
    .await?;
    let surplus = sql::execute(
        db,
        "DELETE FROM jobs WHERE dead_at IS NOT NULL AND id NOT IN \
         (SELECT id FROM jobs WHERE dead_at IS NOT NULL ORDER BY dead_at DESC, id DESC LIMIT $1)",
        args![keep],
    )
    .await?;
    Ok(aged + surplus)
}

/// Dead jobs, newest first.
pub async fn dead<'a>(ex: impl Exec<'a>, limit: i64) -> Result<Vec<DeadJob>> {
    sql::fetch_all(
        ex,
        "SELECT id, queue, kind, attempts, last_error, dead_at FROM jobs \
         WHERE dead_at IS NOT NULL ORDER BY dead_at DESC, id DESC LIMIT $1",
        args![limit],
    )
    .await
}

/// Claims the run of scheduled tick `name` for time slot `slot`; exactly one
/// caller gets `true`, however many workers try.
pub async fn claim_tick<'a>(
    ex: impl Exec<'a>,
    name: &str,
    slot: i64,
    now: DateTime<Utc>,
) -> Result<bool> {
    sql::execute(
        ex,
        "INSERT INTO scheduler_runs (name, slot, ran_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        args![name, slot, now],
    )
    .await
    .map(|n| n > 0)
}

/// Forgets tick runs older than `before`.
pub async fn prune_ticks<'a>(ex: impl Exec<'a>, before: DateTime<Utc>) -> Result<u64> {
    sql::execute(
        ex,
        "DELETE FROM scheduler_runs WHERE ran_at < $1",
        args![before],
    )
    .await
}

/// How often scheduled tick `name` ran, for tests and operators.
pub async fn tick_runs<'a>(ex: impl Exec<'a>, name: &str) -> Result<Vec<i64>> {
    sql::fetch_column(
        ex,
        "SELECT slot FROM scheduler_runs WHERE name = $1 ORDER BY slot",
        args![name],
    )
    .await
}

/// Records that probe `key` ran (probes check the job pipeline end to end).
pub async fn record_probe<'a>(ex: impl Exec<'a>, key: &str, now: DateTime<Utc>) -> Result<()> {
    sql::execute(
        ex,
        "INSERT INTO job_probes (key, runs, first_run_at, last_run_at) VALUES ($1, 1, $2, $2) \
         ON CONFLICT (key) DO UPDATE SET runs = job_probes.runs + 1, last_run_at = excluded.last_run_at",
        args![key, now],
    )
    .await
    .map(|_| ())
}

/// For probes whose key starts with `prefix`: (how many ran, how many ran more than once).
pub async fn probe_counts<'a>(ex: impl Exec<'a>, prefix: &str) -> Result<(i64, i64)> {
    sql::fetch_one(
        ex,
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN runs > 1 THEN 1 ELSE 0 END), 0) FROM job_probes \
         WHERE key LIKE $1 ESCAPE '\\'",
        args![format!("{}%", prefix.replace('%', "").replace('_', "\\_"))],
    )
    .await
}

/// Deletes the probe records whose key starts with `prefix`.
pub async fn clear_probes<'a>(ex: impl Exec<'a>, prefix: &str) -> Result<u64> {
    sql::execute(
        ex,
        "DELETE FROM job_probes WHERE key LIKE $1 ESCAPE '\\'",
        args![format!("{}%", prefix.replace('%', "").replace('_', "\\_"))],
    )
    .await
}

/// How many jobs are in the table (queue rows in SQL mode, outbox rows in Redis mode).
pub async fn count_pending<'a>(ex: impl Exec<'a>) -> Result<i64> {
    sql::fetch_scalar(
        ex,
        "SELECT COUNT(*) FROM jobs WHERE dead_at IS NULL",
        args![],
    )
    .await
}
