//! What an account does about others besides following: blocks, mutes,
//! answering follow requests, endorsements, private notes and blocking whole
//! domains. Each action answers with the new relationship, as Mastodon's do.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use ferrodon_model::{AccountId, FollowId, Page, PageBounds};
use ferrodon_storage::accounts::{self, Account};
use ferrodon_storage::follows::{self, Follow, Kind};
use ferrodon_storage::notifications;
use ferrodon_storage::relations::{self, Relation};

use crate::federate::Federate;
use crate::jobs::{MergeIntoHome, UnmergeFromHome};
use crate::views::RelationshipView;
use crate::{Result, ServiceError, Services};

/// The longest private note about an account, in characters.
pub const NOTE_MAX_CHARS: usize = 2000;

/// Options of `POST /api/v1/accounts/:id/mute`.
#[derive(Debug, Clone, Copy)]
pub struct MuteOptions {
    /// Hide their notifications too (the default).
    pub notifications: bool,
    /// Seconds until the mute ends; 0 keeps it until undone.
    pub duration: i64,
}

impl Default for MuteOptions {
    fn default() -> Self {
        MuteOptions {
            notifications: true,
            duration: 0,
        }
    }
}

impl Services {
    /// `POST /api/v1/accounts/:id/block`: ends follows and requests both ways,
    /// drops their notifications to the blocker and their statuses from the
    /// blocker's home.
    pub async fn block(&self, viewer: AccountId, target: AccountId) -> Result<RelationshipView> {
        if viewer == target {
            return Err(ServiceError::not_allowed());
        }
        self.account(target).await?;
        let mut tx = self.db().begin().await?;
        relations::insert(
            &mut tx,
            Relation::Block,
            self.ids().next().0,
            viewer,
            target,
        )
        .await?;
        for (a, b) in [(viewer, target), (target, viewer)] {
            self.end_follow(&mut tx, a, b).await?;
            self.drop_request(&mut tx, a, b).await?;
            relations::delete(&mut tx, Relation::Endorse, a, b).await?;
        }
        notifications::delete_from(&mut tx, viewer, target).await?;
        if self.is_remote(&mut tx, target).await? {
            let job = Federate::Block {
                account_id: viewer,
                target_id: target,
            };
            self.federate(&mut tx, &job).await?;
        }
        ferrodon_jobs::enqueue(
            &mut tx,
            self.ids(),
            &UnmergeFromHome {
                account_id: viewer,
                target_account_id: target,
            },
        )
        .await?;
        tx.commit().await?;
        self.relationship(viewer, target).await
    }

    /// `POST /api/v1/accounts/:id/unblock`.
    pub async fn unblock(&self, viewer: AccountId, target: AccountId) -> Result<RelationshipView> {
        self.account(target).await?;
        let mut tx = self.db().begin().await?;
        if relations::delete(&mut tx, Relation::Block, viewer, target).await?
            && self.is_remote(&mut tx, target).await?
        {
            let job = Federate::UndoBlock {
                account_id: viewer,
                target_id: target,
            };
            self.federate(&mut tx, &job).await?;
        }
        tx.commit().await?;
        self.relationship(viewer, target).await
    }

    /// `POST /api/v1/accounts/:id/mute`: muting again changes the options.
    pub async fn mute(
        &self,
        viewer: AccountId,
        target: AccountId,
        options: MuteOptions,
    ) -> Result<RelationshipView> {
        if viewer == target {
            return Err(ServiceError::not_allowed());
        }
        if options.duration < 0 {
            return Err(ServiceError::invalid(
                "Duration must be greater than or equal to 0",
            ));
        }
        self.account(target).await?;
        let expires_at = match options.duration {
            0 => None,
            secs => Some(crate::time::after_seconds(
                ferrodon_storage::now(),
                secs,
                "Duration",
            )?),
        };
        let mut tx = self.db().begin().await?;
        relations::mute(
            &mut tx,
            self.ids().next().0,
            viewer,
            target,
            options.notifications,
            expires_at,
        )
        .await?;
        ferrodon_jobs::enqueue(
            &mut tx,
            self.ids(),
            &UnmergeFromHome {
                account_id: viewer,
                target_account_id: target,
            },
        )
        .await?;
        tx.commit().await?;
        self.relationship(viewer, target).await
    }

    /// `POST /api/v1/accounts/:id/unmute`: followed accounts' statuses come back home.
    pub async fn unmute(&self, viewer: AccountId, target: AccountId) -> Result<RelationshipView> {
        self.account(target).await?;
        let mut tx = self.db().begin().await?;
        if relations::delete(&mut tx, Relation::Mute, viewer, target).await? {
            ferrodon_jobs::enqueue(
                &mut tx,
                self.ids(),
                &MergeIntoHome {
                    account_id: viewer,
                    target_account_id: target,
                },
            )
            .await?;
        }
        tx.commit().await?;
        self.relationship(viewer, target).await
    }

    /// `POST /api/v1/accounts/:id/remove_from_followers`.
    pub async fn remove_from_followers(
        &self,
        viewer: AccountId,
        follower: AccountId,
    ) -> Result<RelationshipView> {
        self.account(follower).await?;
        let mut tx = self.db().begin().await?;
        let follow = follows::get(&mut tx, Kind::Follow, follower, viewer).await?;
        if self.end_follow(&mut tx, follower, viewer).await?
            && let Some(follow_uri) = follow.and_then(|f| f.uri)
            && self.is_remote(&mut tx, follower).await?
        {
            let job = Federate::RejectFollow {
                account_id: viewer,
                follower_id: follower,
                follow_uri,
            };
            self.federate(&mut tx, &job).await?;
        }
        tx.commit().await?;
        self.relationship(viewer, follower).await
    }

    /// `GET /api/v1/blocks` and `/api/v1/endorsements`: newest first, paged by the relation id.
    pub async fn relation_list(
        &self,
        account: AccountId,
        rel: Relation,
        bounds: &PageBounds,
    ) -> Result<Page<Account>> {
        let rows =
            relations::list(self.db(), rel, account, ferrodon_storage::now(), bounds).await?;
        Ok(Page::from_items(rows, |r| r.follow_id).map(|r| r.account))
    }

    /// `GET /api/v1/mutes`: muted accounts with when each mute ends.
    pub async fn mutes(
        &self,
        account: AccountId,
        bounds: &PageBounds,
    ) -> Result<Page<(Account, Option<DateTime<Utc>>)>> {
        let page = self.relation_list(account, Relation::Mute, bounds).await?;
        let ids: Vec<AccountId> = page.items.iter().map(|a| a.id).collect();
        let rows = relations::between(self.db(), account, &ids, ferrodon_storage::now()).await?;
        let expiry: HashMap<i64, Option<DateTime<Utc>>> = rows
            .into_iter()
            .filter(|r| r.kind == "mute" && r.account_id == account.0)
            .map(|r| (r.target_account_id, r.expires_at))
            .collect();
        Ok(page.map(|a| {
            let ends = expiry.get(&a.id.0).copied().flatten();
            (a, ends)
        }))
    }

    /// `GET /api/v1/follow_requests`: accounts waiting for an answer.
    pub async fn follow_requests(
        &self,
        account: AccountId,
        bounds: &PageBounds,
    ) -> Result<Page<Account>> {
        let rows = follows::list_requests(self.db(), account, bounds).await?;
        Ok(Page::from_items(rows, |r| r.follow_id).map(|r| r.account))
    }

    /// `POST /api/v1/follow_requests/:id/authorize`: the request becomes a
    /// follow with the options it was made with.
    pub async fn authorize_follow_request(
        &self,
        viewer: AccountId,
        requester: AccountId,
    ) -> Result<RelationshipView> {
        let mut tx = self.db().begin().await?;
        let request = self
            .drop_request(&mut tx, requester, viewer)
            .await?
            .ok_or_else(ServiceError::not_found)?;
        let follow = Follow {
            id: FollowId::from(self.ids().next()),
            created_at: ferrodon_storage::now(),
            ..request
        };
        if let Some(follow_uri) = follow.uri.clone()
            && self.is_remote(&mut tx, requester).await?
        {
            let job = Federate::AcceptFollow {
                account_id: viewer,
                follower_id: requester,
                follow_uri,
            };
            self.federate(&mut tx, &job).await?;
        }
        if follows::insert(&mut tx, Kind::Follow, &follow).await? {
            accounts::adjust_counts(&mut tx, requester, 0, 0, 1).await?;
            accounts::adjust_counts(&mut tx, viewer, 0, 1, 0).await?;
            ferrodon_jobs::enqueue(
                &mut tx,
                self.ids(),
                &MergeIntoHome {
                    account_id: requester,
                    target_account_id: viewer,
                },
            )
            .await?;
        }
        tx.commit().await?;
        self.relationship(viewer, requester).await
    }

    /// `POST /api/v1/follow_requests/:id/reject`.
    pub async fn reject_follow_request(
        &self,
        viewer: AccountId,
        requester: AccountId,
    ) -> Result<RelationshipView> {
        let mut tx = self.db().begin().await?;
        let request = self
            .drop_request(&mut tx, requester, viewer)
            .await?
            .ok_or_else(ServiceError::not_found)?;
        if let Some(follow_uri) = request.uri
            && self.is_remote(&mut tx, requester).await?
        {
            let job = Federate::RejectFollow {
                account_id: viewer,
                follower_id: requester,
                follow_uri,
            };
            self.federate(&mut tx, &job).await?;
        }
        tx.commit().await?;
        self.relationship(viewer, requester).await
    }

    /// `POST /api/v1/accounts/:id/endorse` (and `/pin`): only followed accounts.
    pub async fn endorse(&self, viewer: AccountId, target: AccountId) -> Result<RelationshipView> {
        self.account(target).await?;
        if !follows::follows(self.db(), viewer, target).await? {
            return Err(ServiceError::invalid(
                "You must be already following the person you want to endorse",
            ));
        }
        relations::insert(
            self.db(),
            Relation::Endorse,
            self.ids().next().0,
            viewer,
            target,
        )
        .await?;
        self.relationship(viewer, target).await
    }

    /// `POST /api/v1/accounts/:id/unendorse` (and `/unpin`).
    pub async fn unendorse(
        &self,
        viewer: AccountId,
        target: AccountId,
    ) -> Result<RelationshipView> {
        self.account(target).await?;
        relations::delete(self.db(), Relation::Endorse, viewer, target).await?;
        self.relationship(viewer, target).await
    }

    /// `GET /api/v1/accounts/:id/endorsements`: who an account features.
    pub async fn endorsements_of(
        &self,
        account: AccountId,
        bounds: &PageBounds,
    ) -> Result<Page<Account>> {
        let owner = self.account(account).await?;
        if owner.suspended_at.is_some() {
            return Ok(Page::from_items(Vec::new(), |_: &Account| 0));
        }
        self.relation_list(account, Relation::Endorse, bounds).await
    }

    /// `POST /api/v1/accounts/:id/note`: an empty comment removes the note.
    pub async fn set_note(
        &self,
        viewer: AccountId,
        target: AccountId,
        comment: &str,
    ) -> Result<RelationshipView> {
        if comment.chars().count() > NOTE_MAX_CHARS {
            return Err(ServiceError::invalid(format!(
                "Comment is too long (maximum is {NOTE_MAX_CHARS} characters)"
            )));
        }
        self.account(target).await?;
        relations::set_note(self.db(), viewer, target, comment).await?;
        self.relationship(viewer, target).await
    }

    /// `POST /api/v1/domain_blocks`: hides the domain's accounts and removes
    /// the followers (and follow requests) the viewer has there.
    pub async fn block_domain(&self, viewer: AccountId, domain: &str) -> Result<()> {
        let domain = normalize_domain(domain)?;
        let mut tx = self.db().begin().await?;
        relations::block_domain(&mut tx, self.ids().next().0, viewer, &domain).await?;
        for follower in follows::from_domain(&mut tx, Kind::Follow, viewer, &domain).await? {
            self.end_follow(&mut tx, AccountId(follower), viewer)
                .await?;
        }
        for requester in follows::from_domain(&mut tx, Kind::Request, viewer, &domain).await? {
            self.drop_request(&mut tx, AccountId(requester), viewer)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// `DELETE /api/v1/domain_blocks` (not blocked is fine).
    pub async fn unblock_domain(&self, viewer: AccountId, domain: &str) -> Result<()> {
        let domain = normalize_domain(domain)?;
        relations::unblock_domain(self.db(), viewer, &domain).await?;
        Ok(())
    }

    /// `GET /api/v1/domain_blocks`.
    pub async fn blocked_domains(
        &self,
        viewer: AccountId,
        bounds: &PageBounds,
    ) -> Result<Page<String>> {
        let rows = relations::blocked_domains(self.db(), viewer, bounds).await?;
        Ok(Page::from_items(rows, |(id, _)| *id).map(|(_, domain)| domain))
    }

    /// Whether `author` blocks `viewer` (then `viewer` sees none of their statuses).
    pub(crate) async fn blocked_by_author(
        &self,
        viewer: Option<AccountId>,
        author: AccountId,
    ) -> Result<bool> {
        match viewer {
            Some(v) if v != author => {
                Ok(relations::exists(self.db(), Relation::Block, author, v).await?)
            }
            _ => Ok(false),
        }
    }

    /// Whether `viewer` blocks `author` (no favouriting or reblogging them then).
    pub(crate) async fn blocks(&self, viewer: AccountId, author: AccountId) -> Result<bool> {
        Ok(relations::exists(self.db(), Relation::Block, viewer, author).await?)
    }
}

/// A domain as typed by a user, checked and in its canonical (lowercase,
/// punycode) form.
fn normalize_domain(raw: &str) -> Result<String> {
    let trimmed = raw.trim().trim_end_matches('.');
    if trimmed.is_empty() {
        return Err(ServiceError::invalid("Domain can't be blank"));
    }
    let invalid = || ServiceError::invalid("Domain is not a valid domain name");
    if trimmed.contains(['/', '@', ':', '?', '#', ' ', '\\']) {
        return Err(invalid());
    }
    let url = url::Url::parse(&format!("https://{trimmed}/")).map_err(|_| invalid())?;
    match url.host() {
        Some(url::Host::Domain(d)) if d.contains('.') || d == "localhost" => Ok(d.to_lowercase()),
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::normalize_domain;

    #[test]
    fn domains_are_normalized_or_refused() {
        assert_eq!(
            normalize_domain(" Example.COM. ").ok().as_deref(),
            Some("example.com")
        );
        assert_eq!(
            normalize_domain("bücher.example").ok().as_deref(),
            Some("xn--bcher-kva.example")
        );
        for bad in [
            "",
            "  ",
            "https://example.com",
            "a@b.example",
            "example.com:443",
            "1.2.3.4",
            "nodot",
            "ex ample.com",
        ] {
            assert!(normalize_domain(bad).is_err(), "{bad:?} accepted");
        }
    }
}
