//! The background jobs the services cause (fan-out, notifications, feed
//! upkeep, clean-up). Which kinds a worker runs, and the periodic ticks,
//! are listed in `worker` (apart, so that this module imports no feature
//! module and every feature module can enqueue these jobs).

use ferrodon_jobs::{Job, JobError, JobKind, Queue};
use ferrodon_model::{AccountId, PageBounds, StatusId, Visibility};
use ferrodon_storage::feeds::FeedEntry;
use ferrodon_storage::follows::{self, FanOutQuery};
use ferrodon_storage::statuses::{self, AccountTimeline, Audience, Status};
use serde::{Deserialize, Serialize};

use crate::{ServiceError, Services};

/// Followers handled per batch of a fan-out.
pub(crate) const FAN_OUT_BATCH: i64 = 1000;

fn fan_out_query(status: &Status, author: AccountId) -> FanOutQuery {
    FanOutQuery {
        author,
        is_reblog: status.reblog_of_id.is_some(),
        reply_to_other: status.in_reply_to_account().filter(|a| *a != author),
        mentioned_in: (status.visibility() == Visibility::Direct).then_some(status.id),
    }
}

fn feed_entry(status: &Status) -> FeedEntry {
    FeedEntry {
        status_id: status.id,
        reblog_of_id: status.reblog_of(),
    }
}

/// Puts a new status (or reblog) into its author's home feed and splits the
/// delivery to local followers into [`FanOutBatch`] jobs of about 1,000 each.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FanOutStatus {
    pub status_id: StatusId,
}

impl JobKind for FanOutStatus {
    const KIND: &'static str = "fan_out_status";
    const QUEUE: Queue = Queue::Default;
}

impl Job for FanOutStatus {
    type Context = Services;

    async fn run(&self, services: &Services) -> Result<(), JobError> {
        let db = services.db();
        // Deleted in the meantime: nothing to do.
        let Some(status) = statuses::get(db, self.status_id).await? else {
            return Ok(());
        };
        let Some(author) = ferrodon_storage::accounts::get(db, status.account_id).await? else {
            return Ok(());
        };
        if author.is_local() {
            services
                .feeds()
                .push(&[author.id], feed_entry(&status))
                .await?;
        }
        services.record_direct(&status).await?;
        // Mentioned local accounts are notified, whatever the visibility.
        for (_, mentioned) in statuses::mentions_of(db, &[status.id]).await? {
            services
                .notify(
                    AccountId(mentioned),
                    author.id,
                    "mention",
                    status.id.0,
                    Some(status.id),
                )
                .await?;
        }
        let query = fan_out_query(&status, author.id);
        let mut batches = Vec::new();
        let mut after = 0;
        loop {
            let ids =
                follows::fan_out_recipients(db, &query, after, i64::MAX, FAN_OUT_BATCH).await?;
            let Some(last) = ids.last().copied() else {
                break;
            };
            batches.push(FanOutBatch {
                status_id: status.id,
                after,
                upto: last,
            });
            after = last;
            if (ids.len() as i64) < FAN_OUT_BATCH {
                break;
            }
        }
        services.jobs().push(services.ids(), &batches).await?;
        // Public statuses (not reblogs) also reach those following their hashtags.
        if status.visibility() == Visibility::Public && status.reblog_of_id.is_none() {
            services.deliver_to_tag_followers(&status).await?;
        }
        Ok(())
    }
}

/// Delivers a status to the home feeds of its author's local followers with
/// account ids in `(after, upto]`, in one pipelined write.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FanOutBatch {
    pub status_id: StatusId,
    pub after: i64,
    pub upto: i64,
}

impl JobKind for FanOutBatch {
    const KIND: &'static str = "fan_out_batch";
    const QUEUE: Queue = Queue::Default;
}

impl Job for FanOutBatch {
    type Context = Services;

    async fn run(&self, services: &Services) -> Result<(), JobError> {
        let db = services.db();
        let Some(status) = statuses::get(db, self.status_id).await? else {
            return Ok(());
        };
        let query = fan_out_query(&status, status.account_id);
        // The range was one batch when it was cut; follows made since may add a few.
        let ids =
            follows::fan_out_recipients(db, &query, self.after, self.upto, 10 * FAN_OUT_BATCH)
                .await?;
        let accounts: Vec<AccountId> = ids.into_iter().map(AccountId).collect();
        services
            .feeds()
            .push(&accounts, feed_entry(&status))
            .await?;
        // Followers who asked to be told of new posts (not of reblogs or replies to others).
        let notifies = status.reblog_of_id.is_none() && query.reply_to_other.is_none();
        if notifies {
            for follower in follows::notifying_among(db, status.account_id, &accounts).await? {
                services
                    .notify(
                        AccountId(follower),
                        status.account_id,
                        "status",
                        status.id.0,
                        Some(status.id),
                    )
                    .await?;
            }
        }
        Ok(())
    }
}

/// Creates one notification (for a favourite, reblog, follow or follow request).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Notify {
    pub recipient: AccountId,
    pub from: AccountId,
    pub kind: String,
    pub activity_id: i64,
    pub status_id: Option<StatusId>,
}

impl JobKind for Notify {
    const KIND: &'static str = "notify";
}

impl Job for Notify {
    type Context = Services;

    async fn run(&self, services: &Services) -> Result<(), JobError> {
        Ok(services
            .notify(
                self.recipient,
                self.from,
                &self.kind,
                self.activity_id,
                self.status_id,
            )
            .await?)
    }
}

/// Records that it ran (`ferrodon jobs probe`): an end-to-end check of the
/// job pipeline, and how the crash test counts runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Probe {
    pub key: String,
    /// How long the probe takes, to see how workers behave with slow jobs.
    #[serde(default)]
    pub hold_ms: u64,
}

impl JobKind for Probe {
    const KIND: &'static str = "probe";
}

impl Job for Probe {
    type Context = Services;

    async fn run(&self, services: &Services) -> Result<(), JobError> {
        if self.hold_ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(self.hold_ms.min(600_000))).await;
        }
        ferrodon_storage::jobs::record_probe(services.db(), &self.key, ferrodon_storage::now())
            .await?;
        Ok(())
    }
}

/// Does nothing (`ferrodon jobs bench` measures the queue itself with it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Noop;

impl JobKind for Noop {
    const KIND: &'static str = "noop";
}

impl Job for Noop {
    type Context = Services;

    async fn run(&self, _: &Services) -> Result<(), JobError> {
        Ok(())
    }
}

/// The periodic clean-up. Records its slot as a probe, so tests and
/// operators can see each slot ran once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cleanup {
    pub slot: i64,
}

impl JobKind for Cleanup {
    const KIND: &'static str = "cleanup";
    const QUEUE: Queue = Queue::Scheduler;
    fn unique_key(&self) -> Option<String> {
        Some(self.slot.to_string())
    }
}

impl Job for Cleanup {
    type Context = Services;

    async fn run(&self, services: &Services) -> Result<(), JobError> {
        let db = services.db();
        let now = ferrodon_storage::now();
        ferrodon_storage::oauth::delete_expired_grants(db, now).await?;
        ferrodon_storage::oauth::delete_revoked_tokens(db, now - chrono::Duration::days(7)).await?;
        ferrodon_storage::idempotency::delete_before(db, now - chrono::Duration::hours(2)).await?;
        ferrodon_storage::jobs::prune_ticks(db, now - chrono::Duration::days(2)).await?;
        ferrodon_storage::relations::delete_expired_mutes(db, now).await?;
        services.remove_stale_media().await?;
        services.jobs().prune_dead(now).await?;
        ferrodon_storage::jobs::record_probe(db, &format!("tick:cleanup:{}", self.slot), now)
            .await?;
        Ok(())
    }
}

/// Takes a deleted status out of the feeds it was pushed to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RemoveFromFeeds {
    pub status_id: StatusId,
    /// Its author, whose followers received it.
    pub account_id: AccountId,
}

impl JobKind for RemoveFromFeeds {
    const KIND: &'static str = "remove_from_feeds";
}

impl Job for RemoveFromFeeds {
    type Context = Services;

    async fn run(&self, services: &Services) -> Result<(), JobError> {
        let mut after = 0;
        let mut first = true;
        loop {
            let batch =
                follows::local_follower_ids(services.db(), self.account_id, after, FAN_OUT_BATCH)
                    .await?;
            let mut accounts: Vec<AccountId> = batch.iter().map(|a| AccountId(*a)).collect();
            if first {
                accounts.push(self.account_id);
                first = false;
            }
            services
                .feeds()
                .remove_from(&accounts, self.status_id)
                .await?;
            match batch.last() {
                Some(last) if (batch.len() as i64) == FAN_OUT_BATCH => after = *last,
                _ => break,
            }
        }
        Ok(())
    }
}

/// After a follow: the followed account's recent statuses join the follower's home.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MergeIntoHome {
    pub account_id: AccountId,
    pub target_account_id: AccountId,
}

impl JobKind for MergeIntoHome {
    const KIND: &'static str = "merge_into_home";
}

impl Job for MergeIntoHome {
    type Context = Services;

    async fn run(&self, services: &Services) -> Result<(), JobError> {
        merge_recent(services, self.account_id, self.target_account_id).await
    }
}

/// Merges `target`'s recent statuses into `account`'s home feed, if it
/// follows them and its feed exists.
async fn merge_recent(
    services: &Services,
    account: AccountId,
    target: AccountId,
) -> Result<(), JobError> {
    // A feed that does not exist yet will be built with these statuses anyway.
    if !services.feeds().exists(account).await? {
        return Ok(());
    }
    if !follows::follows(services.db(), account, target).await? {
        return Ok(());
    }
    let recent = statuses::by_account(
        services.db(),
        target,
        Audience::Follower(account),
        AccountTimeline {
            exclude_replies: true,
            exclude_reblogs: false,
            only_media: false,
        },
        &PageBounds::first(200),
    )
    .await?;
    let entries: Vec<FeedEntry> = recent
        .iter()
        .map(|s| FeedEntry {
            status_id: s.id,
            reblog_of_id: s.reblog_of(),
        })
        .collect();
    services.feeds().merge(account, &entries).await?;
    Ok(())
}

/// After an unfollow: the unfollowed account's statuses leave the home feed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UnmergeFromHome {
    pub account_id: AccountId,
    pub target_account_id: AccountId,
}

impl JobKind for UnmergeFromHome {
    const KIND: &'static str = "unmerge_from_home";
}

impl Job for UnmergeFromHome {
    type Context = Services;

    async fn run(&self, services: &Services) -> Result<(), JobError> {
        // Followed again since, and not muted or blocked: keep them.
        let db = services.db();
        if follows::follows(db, self.account_id, self.target_account_id).await?
            && ferrodon_storage::relations::hidden_among(
                db,
                self.account_id,
                &[self.target_account_id],
                ferrodon_storage::now(),
            )
            .await?
            .is_empty()
        {
            return Ok(());
        }
        let recent = statuses::by_account(
            services.db(),
            self.target_account_id,
            Audience::Author,
            AccountTimeline::default(),
            &PageBounds::first(ferrodon_storage::feeds::HOME_FEED_MAX as u32),
        )
        .await?;
        let ids: Vec<StatusId> = recent.iter().map(|s| s.id).collect();
        services.feeds().remove(self.account_id, &ids).await?;
        Ok(())
    }
}

impl From<ServiceError> for JobError {
    fn from(e: ServiceError) -> Self {
        JobError::new(e.to_string())
    }
}

/// After a suspension (`merge: false`): the account's recent statuses (and
/// its reblogs) leave the home feeds of its local followers; after the
/// suspension is lifted (`merge: true`) they come back. 1,000 followers at a
/// time. Readers stop seeing a suspended account's statuses at once anyway
/// (every read checks the author); this keeps feeds free of dead entries
/// and brings the statuses back when the account returns.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountFeeds {
    pub account_id: AccountId,
    pub merge: bool,
}

impl JobKind for AccountFeeds {
    const KIND: &'static str = "account_feeds";
}

impl Job for AccountFeeds {
    type Context = Services;

    async fn run(&self, services: &Services) -> Result<(), JobError> {
        let db = services.db();
        let recent = statuses::by_account(
            db,
            self.account_id,
            Audience::Author,
            AccountTimeline::default(),
            &PageBounds::first(ferrodon_storage::feeds::HOME_FEED_MAX as u32),
        )
        .await?;
        let ids: Vec<StatusId> = recent.iter().map(|s| s.id).collect();
        if ids.is_empty() {
            return Ok(());
        }
        let mut after = 0;
        loop {
            let batch =
                follows::local_follower_ids(db, self.account_id, after, FAN_OUT_BATCH).await?;
            for follower in &batch {
                if self.merge {
                    merge_recent(services, AccountId(*follower), self.account_id).await?;
                } else {
                    services.feeds().remove(AccountId(*follower), &ids).await?;
                }
            }
            match batch.last() {
                Some(last) if (batch.len() as i64) == FAN_OUT_BATCH => after = *last,
                _ => break,
            }
        }
        Ok(())
    }
}
