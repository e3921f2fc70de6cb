//! When a local write concerns someone remote: the checks the write paths
//! make before enqueueing a [`Federate`] job in their own transaction.
//! Nothing is enqueued when no remote account is concerned.

use ferrodon_model::{AccountId, StatusId};
use ferrodon_storage::Tx;
use ferrodon_storage::remote as store;
use ferrodon_storage::statuses::{self, Status};

use crate::federate::Federate;
use crate::{Result, Services};

impl Services {
    /// Enqueues `job` in `tx`.
    pub(crate) async fn federate(&self, tx: &mut Tx, job: &Federate) -> Result<()> {
        ferrodon_jobs::enqueue(tx, self.ids(), job).await?;
        Ok(())
    }

    /// Whether `account` is remote (`false` for an unknown one).
    pub(crate) async fn is_remote(&self, tx: &mut Tx, account: AccountId) -> Result<bool> {
        Ok(!store::remote_among(&mut *tx, &[account]).await?.is_empty())
    }

    /// Whether a local status concerns someone remote: its author has a
    /// remote follower, or it mentions a remote account, or replies to or
    /// reblogs a remote account's status. `others` are the accounts it
    /// mentions, replies to or reblogs.
    pub(crate) async fn concerns_remote(
        &self,
        tx: &mut Tx,
        author: AccountId,
        others: &[AccountId],
    ) -> Result<bool> {
        if !store::remote_among(&mut *tx, others).await?.is_empty() {
            return Ok(true);
        }
        Ok(store::has_remote_followers(&mut *tx, author).await?)
    }

    /// The accounts a stored status mentions, replies to or reblogs.
    pub(crate) async fn others_of(&self, tx: &mut Tx, status: &Status) -> Result<Vec<AccountId>> {
        let mut others: Vec<AccountId> = statuses::mentions_of(&mut *tx, &[status.id])
            .await?
            .into_iter()
            .map(|(_, a)| AccountId(a))
            .collect();
        others.extend(status.in_reply_to_account());
        if let Some(original) = status.reblog_of()
            && let Some(o) = statuses::get(&mut *tx, original).await?
        {
            others.push(o.account_id);
        }
        Ok(others)
    }

    /// Enqueues `Federate::CreateStatus` (or `UpdateStatus` when `update`)
    /// for a local status when someone remote is concerned.
    pub(crate) async fn federate_status(
        &self,
        tx: &mut Tx,
        status_id: StatusId,
        update: bool,
    ) -> Result<()> {
        let Some(status) = statuses::get(&mut *tx, status_id).await? else {
            return Ok(());
        };
        if !status.local {
            return Ok(());
        }
        let others = self.others_of(tx, &status).await?;
        if self.concerns_remote(tx, status.account_id, &others).await? {
            let job = if update {
                Federate::UpdateStatus { status_id }
            } else {
                Federate::CreateStatus { status_id }
            };
            self.federate(tx, &job).await?;
        }
        Ok(())
    }

    /// Enqueues `Federate::DeleteStatus` for a local status about to be
    /// deleted in `tx` (call it before the rows go) when someone remote is
    /// concerned.
    /// `uris` are the ActivityPub ids of the status and of its original (as
    /// [`Services::status_uris`] gives them, read before `tx` began).
    pub(crate) async fn federate_delete(
        &self,
        tx: &mut Tx,
        status: &Status,
        uris: &std::collections::HashMap<StatusId, String>,
    ) -> Result<()> {
        if !status.local {
            return Ok(());
        }
        let others = self.others_of(tx, status).await?;
        if !self.concerns_remote(tx, status.account_id, &others).await? {
            return Ok(());
        }
        let mentioned = store::remote_among(&mut *tx, &others)
            .await?
            .into_iter()
            .map(AccountId)
            .collect();
        let reblog_of_uri = status.reblog_of().and_then(|o| uris.get(&o).cloned());
        let uri = uris
            .get(&status.id)
            .cloned()
            .unwrap_or_else(|| status.uri.clone());
        let job = Federate::DeleteStatus {
            status_id: status.id,
            account_id: status.account_id,
            uri,
            reblog_of_uri,
            mentioned,
        };
        self.federate(tx, &job).await
    }

    /// The id of the `Follow` activity of a local follow request.
    pub(crate) fn follow_uri(&self, request_id: i64) -> String {
        format!("{}/follows/{request_id}", self.instance().base_url)
    }
}
