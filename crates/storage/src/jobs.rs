//! The durable job table: the SQL job queue (and, later, the outbox in front
//! of the Redis queue). Claiming uses a lease (`locked_until`), so a job held
//! by a worker that died comes back once the lease lapses.

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

/// Adds a job inside the caller's transaction, so it exists exactly when the
/// change that caused it commits. Returns `false` when a unique job with the
/// same key was already waiting.
pub async fn insert(tx: &mut Tx, job: &NewJob) -> Result<bool> {
    let n = sql::execute(
        &mut *tx,
        "INSERT INTO jobs (id, queue, kind, payload, unique_key, max_attempts, run_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
        args![
            job.id,
            &job.queue,
            &job.kind,
            &job.payload,
            job.unique_key.clone(),
            job.max_attempts,
            job.run_at,
            crate::now()
        ],
    )
    .await?;
    if n > 0 {
        tx.mark_enqueued();
    }
    Ok(n > 0)
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
}

/// Takes the oldest runnable job from `queues` for `worker` until `lease_until`.
pub async fn claim(
    db: &Db,
    queues: &[&str],
    worker: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<Option<ClaimedJob>> {
    if queues.is_empty() {
        return Ok(None);
    }
    let mut q = Query::new("UPDATE jobs SET locked_until = ");
    let until = q.bind(lease_until);
    let by = q.bind(worker);
    let at = q.bind(now);
    q.push(&format!(
        "{until}, locked_by = {by}, attempts = attempts + 1 WHERE id = (SELECT id FROM jobs \
         WHERE dead_at IS NULL AND run_at <= {at} AND (locked_until IS NULL OR locked_until < {at}) \
         AND queue IN ("
    ));
    let list: Vec<String> = queues.iter().map(|name| q.bind(*name)).collect();
    q.push(&list.join(", "));
    q.push(") ORDER BY run_at, id LIMIT 1");
    match db.dialect() {
        // Concurrent claimers skip rows another transaction holds.
        Dialect::Postgres => q.push(" FOR UPDATE SKIP LOCKED"),
        // SQLite runs one writer at a time, so the sub-select cannot race.
        Dialect::Sqlite => {}
    }
    q.push(") RETURNING id, queue, kind, payload, attempts, max_attempts");
    sql::fetch_optional(db, q.sql, q.args).await
}

/// Removes a finished job (only if `worker` still holds it).
pub async fn complete<'a>(ex: impl Exec<'a>, id: JobId, worker: &str) -> Result<()> {
    sql::execute(
        ex,
        "DELETE FROM jobs WHERE id = $1 AND locked_by = $2",
        args![id, worker],
    )
    .await
    .map(|_| ())
}

/// Schedules another attempt at `run_at`, releasing the lease.
pub async fn retry<'a>(
    ex: impl Exec<'a>,
    id: JobId,
    worker: &str,
    run_at: DateTime<Utc>,
    error: &str,
) -> Result<()> {
    sql::execute(
        ex,
        "UPDATE jobs SET run_at = $3, locked_until = NULL, locked_by = NULL, last_error = $4 \
         WHERE id = $1 AND locked_by = $2",
        args![id, worker, run_at, error],
    )
    .await
    .map(|_| ())
}

/// Moves a job that used up its attempts to the dead set.
pub async fn bury<'a>(ex: impl Exec<'a>, id: JobId, worker: &str, error: &str) -> Result<()> {
    sql::execute(
        ex,
        "UPDATE jobs SET dead_at = $3, locked_until = NULL, locked_by = NULL, last_error = $4 \
         WHERE id = $1 AND locked_by = $2",
        args![id, worker, crate::now(), error],
    )
    .await
    .map(|_| ())
}

/// Extends the leases a live worker holds.
pub async fn extend_leases<'a>(
    ex: impl Exec<'a>,
    worker: &str,
    until: DateTime<Utc>,
) -> Result<u64> {
    sql::execute(
        ex,
        "UPDATE jobs SET locked_until = $2 WHERE locked_by = $1 AND dead_at IS NULL",
        args![worker, until],
    )
    .await
}

/// Hands back every job `worker` holds (a graceful stop), to run again at once.
pub async fn release_all<'a>(ex: impl Exec<'a>, worker: &str) -> Result<u64> {
    sql::execute(
        ex,
        "UPDATE jobs SET locked_until = NULL, locked_by = NULL, attempts = CASE WHEN attempts > 0 \
         THEN attempts - 1 ELSE 0 END WHERE locked_by = $1 AND dead_at IS NULL",
        args![worker],
    )
    .await
}

/// Per-queue figures: (queue, waiting, running, dead).
pub async fn stats<'a>(
    ex: impl Exec<'a>,
    now: DateTime<Utc>,
) -> Result<Vec<(String, i64, i64, i64)>> {
    sql::fetch_all(
        ex,
        "SELECT queue, \
         SUM(CASE WHEN dead_at IS NULL AND (locked_until IS NULL OR locked_until < $1) THEN 1 ELSE 0 END), \
         SUM(CASE WHEN dead_at IS NULL AND locked_until >= $1 THEN 1 ELSE 0 END), \
         SUM(CASE WHEN dead_at IS NOT NULL THEN 1 ELSE 0 END) \
         FROM jobs GROUP BY queue ORDER BY queue",
        args![now],
    )
    .await
}
