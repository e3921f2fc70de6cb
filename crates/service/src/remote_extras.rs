//! Inbound votes on local polls, reports from other servers, and remote
//! accounts' pinned statuses (`Add`/`Remove` on their featured collection).

use ferrodon_model::{AccountId, StatusId, Visibility};
use ferrodon_storage::marks::{self, Mark};
use ferrodon_storage::server_content::{self, Report};
use ferrodon_storage::{polls, statuses};

use crate::federate::Federate;
use crate::{Result, ServiceError, Services};

impl Services {
    /// Votes of a remote account on a local poll (Notes with a `name`
    /// replying to the Question): each name is matched to an option; a
    /// single-choice poll takes the first vote only; ended polls, unknown
    /// names and the author's own poll are ignored. Counts are recounted
    /// and `Federate::UpdateStatus` tells the voters' servers. Idempotent
    /// (one vote per account, poll and choice). Whether a vote was added.
    pub async fn remote_vote(
        &self,
        account: AccountId,
        status: StatusId,
        choices: &[String],
    ) -> Result<bool> {
        self.remote_account(account).await?;
        let db = self.db();
        let poll = polls::of_status(db, status)
            .await?
            .ok_or_else(ServiceError::not_found)?;
        let local = statuses::get(db, status)
            .await?
            .is_some_and(|s| s.local && s.account_id != account);
        let now = ferrodon_storage::now();
        if !local || poll.expired(now) {
            return Ok(false);
        }
        let options = crate::polls::parse_options(&poll.options);
        let mut tx = db.begin().await?;
        if !polls::lock(&mut tx, poll.id, now).await? {
            return Ok(false);
        }
        let mut already = polls::votes_of(&mut tx, account, &[poll.id]).await?.len();
        let mut added = false;
        for name in choices {
            let Some(choice) = options.iter().position(|o| o == name) else {
                continue;
            };
            if !poll.multiple && already > 0 {
                break;
            }
            let choice = i64::try_from(choice).unwrap_or(i64::MAX);
            if polls::add_vote(&mut tx, self.ids().next().0, poll.id, account, choice, now).await? {
                added = true;
                already += 1;
            }
        }
        if added {
            polls::recount(&mut tx, poll.id).await?;
            self.federate(&mut tx, &Federate::UpdateStatus { status_id: status })
                .await?;
        }
        tx.commit().await?;
        Ok(added)
    }

    /// A `Flag` from another server: one report per reported local account,
    /// with those of `statuses` that are theirs, reported by the remote
    /// account (Mastodon reports as the instance actor; a moderator sees the
    /// remote reporter instead). Remote targets are left out.
    pub async fn remote_report(
        &self,
        reporter: AccountId,
        targets: &[AccountId],
        statuses: &[StatusId],
        comment: &str,
    ) -> Result<()> {
        self.remote_account(reporter).await?;
        let db = self.db();
        let reported = statuses::get_many(db, statuses).await?;
        let now = ferrodon_storage::now();
        let mut tx = db.begin().await?;
        for target in targets {
            let Ok(account) = self.account(*target).await else {
                continue;
            };
            if !account.is_local() {
                continue;
            }
            let ids: Vec<String> = reported
                .iter()
                .filter(|s| s.account_id == *target)
                .map(|s| s.id.0.to_string())
                .collect();
            let report = Report {
                id: self.ids().next().0,
                account_id: reporter.0,
                target_account_id: target.0,
                status_ids: serde_json::to_string(&ids)
                    .map_err(|e| ServiceError::Internal(e.to_string()))?,
                rule_ids: "[]".to_owned(),
                comment: comment.chars().take(1000).collect(),
                category: "other".to_owned(),
                forward: false,
                action_taken_at: None,
                created_at: now,
            };
            server_content::insert_report(&mut tx, &report).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A remote account pins one of its statuses (`Add` to its featured
    /// collection): shown with `pinned=true` on its profile here. Not for
    /// boosts, direct statuses or others' statuses (403); at most
    /// [`MAX_REMOTE_PINS`] per account (the oldest pin is dropped).
    /// Idempotent.
    pub async fn remote_pin(&self, account: AccountId, status: StatusId) -> Result<()> {
        self.remote_account(account).await?;
        let Some(row) = statuses::get(self.db(), status).await? else {
            return Err(ServiceError::not_found());
        };
        if row.account_id != account
            || row.reblog_of_id.is_some()
            || row.visibility() == Visibility::Direct
        {
            return Err(ServiceError::not_allowed());
        }
        let mut tx = self.db().begin().await?;
        if marks::insert(&mut tx, Mark::Pin, self.ids().next().0, account, status).await? {
            marks::keep_newest(&mut tx, Mark::Pin, account, MAX_REMOTE_PINS).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// `Remove` from a remote account's featured collection (idempotent).
    pub async fn remote_unpin(&self, account: AccountId, status: StatusId) -> Result<()> {
        self.remote_account(account).await?;
        marks::delete(self.db(), Mark::Pin, account, status).await?;
        Ok(())
    }
}

/// Pins kept per remote account (Mastodon's own limit for local accounts
/// is 5; remote servers may allow more, but not without bound here).
pub const MAX_REMOTE_PINS: i64 = 20;
