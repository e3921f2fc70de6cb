//! What operators do to accounts (`ferrodon admin accounts …`): approving
//! a sign-up, suspending and lifting a suspension, silencing.

use ferrodon_storage::accounts::{self, Sanction};
use ferrodon_storage::users;

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
    /// the same transaction). Remote followers' servers get an
    /// `Update(Person)` with `suspended: true`.
    pub async fn suspend_account(&self, username: &str) -> Result<()> {
        self.set_suspension(username, true).await
    }

    /// Lifts a suspension: the account's recent statuses return to its
    /// followers' home feeds.
    pub async fn unsuspend_account(&self, username: &str) -> Result<()> {
        self.set_suspension(username, false).await
    }

    async fn set_suspension(&self, username: &str, suspended: bool) -> Result<()> {
        let account = self.local_account(username).await?;
        let mut tx = self.db().begin().await?;
        let at = suspended.then(ferrodon_storage::now);
        accounts::set_sanction(&mut tx, account.id, Sanction::Suspended, at).await?;
        let feeds = crate::jobs::AccountFeeds {
            account_id: account.id,
            merge: !suspended,
        };
        ferrodon_jobs::enqueue(&mut tx, self.ids(), &feeds).await?;
        // Other servers hear of it as Mastodon tells them: an
        // `Update(Person)` carrying `suspended`.
        if ferrodon_storage::remote::has_remote_followers(&mut tx, account.id).await? {
            let job = crate::federate::Federate::UpdateAccount {
                account_id: account.id,
            };
            self.federate(&mut tx, &job).await?;
        }
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
        accounts::set_sanction(self.db(), account.id, Sanction::Silenced, at).await?;
        Ok(())
    }
}
