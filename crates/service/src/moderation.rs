//! What operators do to accounts (`ferrodon admin accounts …`): approving
//! a sign-up, suspending and lifting a suspension, silencing.

use ferrodon_storage::{accounts, users};

use crate::{Result, ServiceError, Services};

impl Services {
    /// Approves a pending sign-up.
    pub async fn approve_account(&self, username: &str) -> Result<()> {
        let account = self.local_account(username).await?;
        let user = users::by_account(self.db(), account.id)
            .await?
            .ok_or_else(ServiceError::not_found)?;
        users::set_approved(self.db(), user.id, true).await?;
        Ok(())
    }

    /// Suspends an account: its tokens stop working, its profile is hidden,
    /// and every status of it (and every reblog of one) leaves every reader's
    /// view at once, since each read checks the author; its statuses also
    /// leave its followers' home feeds ([`crate::jobs::AccountFeeds`], in
    /// the same transaction).
    pub async fn suspend_account(&self, username: &str) -> Result<()> {
        let account = self.local_account(username).await?;
        let mut tx = self.db().begin().await?;
        accounts::set_suspended(&mut tx, account.id, Some(ferrodon_storage::now())).await?;
        ferrodon_jobs::enqueue(
            &mut tx,
            self.ids(),
            &crate::jobs::AccountFeeds {
                account_id: account.id,
                merge: false,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Lifts a suspension: the account's recent statuses return to its
    /// followers' home feeds.
    pub async fn unsuspend_account(&self, username: &str) -> Result<()> {
        let account = self.local_account(username).await?;
        let mut tx = self.db().begin().await?;
        accounts::set_suspended(&mut tx, account.id, None).await?;
        ferrodon_jobs::enqueue(
            &mut tx,
            self.ids(),
            &crate::jobs::AccountFeeds {
                account_id: account.id,
                merge: true,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Silences (limits) an account, as a Mastodon moderator does: its
    /// statuses stay visible to its followers, in threads and by link, but
    /// leave the public and hashtag timelines, the link timeline and trends;
    /// the account shows as `limited`.
    pub async fn silence_account(&self, username: &str, silenced: bool) -> Result<()> {
        let account = self.local_account(username).await?;
        let at = silenced.then(ferrodon_storage::now);
        accounts::set_silenced(self.db(), account.id, at).await?;
        Ok(())
    }
}
