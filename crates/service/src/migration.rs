//! Account migration, as Mastodon's: the new account first lists the old
//! one among its aliases (`alsoKnownAs`); the old account then moves to it
//! (`movedTo`), its remote followers' servers hear a `Move`, and its local
//! followers follow the new account (a follow request when that is
//! remote). A `Move` received from another server ends the same way
//! ([`Services::move_account`]).

use ferrodon_model::AccountId;
use ferrodon_storage::follows;
use ferrodon_storage::remote as store;

use crate::federate::Federate;
use crate::{Result, ServiceError, Services};

/// Aliases an account may list (Mastodon's limit is not documented; a
/// handful is what migration needs).
pub const MAX_ALIASES: usize = 10;

fn aliases_of(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

impl Services {
    /// Adds the account `alias` (local or remote) to local `username`'s
    /// aliases, so that it may move here; returns the aliases.
    pub async fn add_alias(&self, username: &str, alias: AccountId) -> Result<Vec<String>> {
        let account = self.local_account(username).await?;
        let other = self.account(alias).await?;
        if other.id == account.id {
            return Err(ServiceError::invalid("An account cannot be its own alias"));
        }
        let other_uri = self.instance().uri_of(&other);
        let mut aliases = aliases_of(&account.also_known_as);
        if !aliases.contains(&other_uri) {
            if aliases.len() >= MAX_ALIASES {
                return Err(ServiceError::invalid("Too many aliases"));
            }
            aliases.push(other_uri);
        }
        let json =
            serde_json::to_string(&aliases).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let mut tx = self.db().begin().await?;
        store::set_also_known_as(&mut tx, account.id, &json).await?;
        if store::has_remote_followers(&mut tx, account.id).await? {
            let job = Federate::UpdateAccount {
                account_id: account.id,
            };
            self.federate(&mut tx, &job).await?;
        }
        tx.commit().await?;
        Ok(aliases)
    }

    /// Moves local `username` to `target`, which must list it among its
    /// aliases (422 otherwise; for a remote target, fetch it afresh first).
    /// The account shows `movedTo`; remote followers' servers get a `Move`
    /// (`Federate::Move`); local followers follow `target` instead.
    pub async fn move_local_account(&self, username: &str, target: AccountId) -> Result<()> {
        let account = self.local_account(username).await?;
        let new = self.account(target).await?;
        if new.id == account.id || new.suspended_at.is_some() {
            return Err(ServiceError::invalid("This account cannot be moved there"));
        }
        if !aliases_of(&new.also_known_as).contains(&self.instance().uri_of(&account)) {
            return Err(ServiceError::invalid(
                "The new account must list this one among its aliases first",
            ));
        }
        let mut tx = self.db().begin().await?;
        store::set_moved_to(&mut tx, account.id, new.id, &new.uri).await?;
        if store::has_remote_followers(&mut tx, account.id).await? {
            let job = Federate::Move {
                account_id: account.id,
                target_id: new.id,
            };
            self.federate(&mut tx, &job).await?;
        }
        tx.commit().await?;
        self.move_followers(account.id, new.id).await
    }

    /// Each local follower of `old` follows `new` (a request with
    /// `Federate::Follow` when `new` is remote and locked or remote at all)
    /// and stops following `old`. A follower who blocks `new`, or whom it
    /// blocks, simply does not follow it.
    pub(crate) async fn move_followers(&self, old: AccountId, new: AccountId) -> Result<()> {
        let mut after = 0;
        loop {
            let batch = follows::local_follower_ids(self.db(), old, after, 100).await?;
            let Some(last) = batch.last().copied() else {
                break;
            };
            for follower in batch {
                let follower = AccountId(follower);
                if follower == new {
                    continue;
                }
                match self
                    .follow(follower, new, crate::follows::FollowOptions::default())
                    .await
                {
                    Ok(_) | Err(ServiceError::Forbidden(_)) => {}
                    Err(e) => return Err(e),
                }
                self.unfollow(follower, old).await?;
            }
            after = last;
        }
        Ok(())
    }
}
