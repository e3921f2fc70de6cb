//! Periodic ticks without a singleton: every worker runs the scheduler, and
//! each tick's time slot (`now / period`) runs in whichever worker first
//! inserts the row `(tick, slot)` into `scheduler_runs`. The job the tick
//! causes is written in that same transaction, so a slot is neither lost
//! (Redis down: the job waits in the outbox) nor run twice.

use std::sync::Arc;
use std::time::Duration;

use ferrodon_model::IdGenerator;
use ferrodon_storage::{StorageError, jobs as store};

use crate::{JobKind, JobQueue, SharedClock};

type MakeJob = Arc<
    dyn Fn(
            ferrodon_storage::Tx,
            Arc<IdGenerator>,
            i64,
        )
            -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), StorageError>> + Send>>
        + Send
        + Sync,
>;

/// One periodic tick: enqueue a job every `every`.
#[derive(Clone)]
pub struct Tick {
    pub name: &'static str,
    pub every: Duration,
    enqueue: MakeJob,
}

impl std::fmt::Debug for Tick {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tick({}, every {:?})", self.name, self.every)
    }
}

/// The ticks a worker runs.
#[derive(Debug, Clone, Default)]
pub struct Schedule {
    ticks: Vec<Tick>,
}

impl Schedule {
    pub fn new() -> Self {
        Schedule::default()
    }

    /// Every `every`, enqueue the job `make(slot)` (`slot` = the period's number since the epoch).
    pub fn every<J: JobKind>(
        mut self,
        name: &'static str,
        every: Duration,
        make: impl Fn(i64) -> J + Send + Sync + 'static,
    ) -> Self {
        let make = Arc::new(make);
        let enqueue: MakeJob = Arc::new(move |mut tx, ids, slot| {
            let make = make.clone();
            Box::pin(async move {
                crate::enqueue(&mut tx, &ids, &make(slot)).await?;
                tx.commit().await
            })
        });
        self.ticks.push(Tick {
            name,
            every: every.max(Duration::from_secs(1)),
            enqueue,
        });
        self
    }

    pub fn ticks(&self) -> &[Tick] {
        &self.ticks
    }

    /// Checks the ticks a few times a second and runs each slot once across all workers.
    pub(crate) async fn run(self, queue: JobQueue, ids: Arc<IdGenerator>, clock: SharedClock) {
        if self.ticks.is_empty() {
            return;
        }
        let mut last: Vec<Option<i64>> = vec![None; self.ticks.len()];
        loop {
            let now = clock.now();
            for (tick, seen) in self.ticks.iter().zip(last.iter_mut()) {
                let period_ms = i64::try_from(tick.every.as_millis())
                    .unwrap_or(i64::MAX)
                    .max(1);
                let slot = now.timestamp_millis().div_euclid(period_ms);
                if *seen == Some(slot) {
                    continue;
                }
                match run_slot(&queue, &ids, tick, slot, now).await {
                    Ok(ran) => {
                        *seen = Some(slot);
                        if ran {
                            tracing::debug!(tick = tick.name, slot, "tick enqueued");
                        }
                    }
                    Err(e) => {
                        tracing::warn!(tick = tick.name, error = %e, "cannot run a scheduled tick")
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// Claims `slot` of `tick` and enqueues its job in one transaction; `false`
/// when another worker had it.
async fn run_slot(
    queue: &JobQueue,
    ids: &Arc<IdGenerator>,
    tick: &Tick,
    slot: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, StorageError> {
    let mut tx = queue.db().begin().await?;
    if !store::claim_tick(&mut tx, tick.name, slot, now).await? {
        return Ok(false);
    }
    (tick.enqueue)(tx, ids.clone(), slot).await?;
    Ok(true)
}
