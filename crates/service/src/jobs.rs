//! The background jobs the services cause, and the registry that runs them.

use ferrodon_jobs::{Job, JobError, Queue, Registry};
use ferrodon_model::{AccountId, PageBounds, StatusId, Visibility};
use ferrodon_storage::feeds::FeedEntry;
use ferrodon_storage::follows::{self, FanOutQuery};
use ferrodon_storage::statuses::{self, AccountTimeline, Audience};
use serde::{Deserialize, Serialize};

use crate::Services;

/// Followers handled per batch of a fan-out.
const FAN_OUT_BATCH: i64 = 1000;

/// Every job kind the workers run.
pub fn registry() -> Registry<Services> {
    let mut r = Registry::new();
    r.register::<FanOutStatus>()
        .register::<RemoveFromFeeds>()
        .register::<MergeIntoHome>()
        .register::<UnmergeFromHome>();
    r
}

/// Puts a new status (or reblog) into the home feeds of its author and of
/// the local followers who should see it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FanOutStatus {
    pub status_id: StatusId,
}

impl Job for FanOutStatus {
    const KIND: &'static str = "fan_out_status";
    const QUEUE: Queue = Queue::Default;
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
        let entry = FeedEntry {
            status_id: status.id,
            reblog_of_id: status.reblog_of(),
        };
        if author.is_local() {
            services.feeds().push(&[author.id], entry).await?;
        }
        let query = FanOutQuery {
            author: author.id,
            is_reblog: status.reblog_of_id.is_some(),
            reply_to_other: status.in_reply_to_account().filter(|a| *a != author.id),
            mentioned_in: (status.visibility() == Visibility::Direct).then_some(status.id),
        };
        let mut after = 0;
        loop {
            let batch = follows::fan_out_recipients(db, &query, after, FAN_OUT_BATCH).await?;
            let Some(last) = batch.last() else { break };
            after = *last;
            let accounts: Vec<AccountId> = batch.iter().map(|a| AccountId(*a)).collect();
            services.feeds().push(&accounts, entry).await?;
            if (batch.len() as i64) < FAN_OUT_BATCH {
                break;
            }
        }
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

impl Job for RemoveFromFeeds {
    const KIND: &'static str = "remove_from_feeds";
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

impl Job for MergeIntoHome {
    const KIND: &'static str = "merge_into_home";
    type Context = Services;

    async fn run(&self, services: &Services) -> Result<(), JobError> {
        // A feed that does not exist yet will be built with these statuses anyway.
        if !services.feeds().exists(self.account_id).await? {
            return Ok(());
        }
        if !follows::follows(services.db(), self.account_id, self.target_account_id).await? {
            return Ok(());
        }
        let recent = statuses::by_account(
            services.db(),
            self.target_account_id,
            Audience::Follower(self.account_id),
            AccountTimeline {
                exclude_replies: true,
                exclude_reblogs: false,
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
        services.feeds().merge(self.account_id, &entries).await?;
        Ok(())
    }
}

/// After an unfollow: the unfollowed account's statuses leave the home feed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UnmergeFromHome {
    pub account_id: AccountId,
    pub target_account_id: AccountId,
}

impl Job for UnmergeFromHome {
    const KIND: &'static str = "unmerge_from_home";
    type Context = Services;

    async fn run(&self, services: &Services) -> Result<(), JobError> {
        // Followed again since: keep them.
        if follows::follows(services.db(), self.account_id, self.target_account_id).await? {
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
