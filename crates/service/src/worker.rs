//! What a worker runs: every job kind, and the periodic ticks.
//!
//! Kept apart from the job definitions (`jobs` and the feature modules), so
//! that registering a feature's job never makes a module import cycle.

use std::time::Duration;

use ferrodon_jobs::{Registry, Schedule};

use crate::Services;
use crate::jobs::{
    AccountFeeds, Cleanup, FanOutBatch, FanOutStatus, MergeIntoHome, Noop, Notify, Probe,
    RemoveFromFeeds, UnmergeFromHome,
};

/// Every job kind the workers run.
pub fn registry() -> Registry<Services> {
    let mut r = Registry::new();
    r.register::<FanOutStatus>()
        .register::<FanOutBatch>()
        .register::<Notify>()
        .register::<RemoveFromFeeds>()
        .register::<MergeIntoHome>()
        .register::<UnmergeFromHome>()
        .register::<AccountFeeds>()
        .register::<Probe>()
        .register::<Noop>()
        .register::<Cleanup>()
        .register::<crate::polls::PollExpired>()
        .register::<crate::scheduled::PublishScheduledStatus>()
        .register::<crate::trends::RefreshTrends>()
        .register::<crate::preview_cards::FetchLinkCard>();
    r
}

/// The periodic ticks: Mastodon's clean-ups (expired authorization codes,
/// revoked tokens, idempotency keys, old tick records, the dead set, media
/// left unattached for a day). (Scheduled statuses and poll ends are delayed
/// jobs, not ticks.) And the trends, recomputed every `trends_every`.
pub fn schedule(cleanup_every: Duration, trends_every: Duration) -> Schedule {
    Schedule::new()
        .every("cleanup", cleanup_every, |slot| Cleanup { slot })
        .every("trends", trends_every, |slot| {
            crate::trends::RefreshTrends { slot }
        })
}
