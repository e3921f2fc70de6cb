//! What federation's inbound side calls, with plain Rust types: remote
//! actors, follows, blocks, favourites, reblogs and moves (statuses are in
//! `remote_statuses`). Inputs were verified by federation (signatures,
//! origins); these methods keep the database's invariants (uniqueness,
//! counters) and are idempotent: the same activity twice has one effect.
//! Each runs in its own transaction with the jobs it causes.

use chrono::{DateTime, Utc};
use ferrodon_model::{AccountId, FollowId, StatusId, Visibility};
use ferrodon_storage::accounts::{self, Account};
use ferrodon_storage::follows::{self, Follow, Kind};
use ferrodon_storage::marks::{self, Mark};
use ferrodon_storage::relations::{self, Relation};
use ferrodon_storage::remote::{self as store, RemoteAccountRow};
use ferrodon_storage::statuses::{self, NewStatus};
use ferrodon_storage::{StorageError, Tx, notifications};

use crate::federate::Federate;
use crate::jobs::{FanOutStatus, MergeIntoHome, Notify};
use crate::{Result, ServiceError, Services};

/// A custom emoji a remote object uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteEmoji {
    pub shortcode: String,
    pub image_url: String,
}

/// A remote actor as federation read it (HTML already sanitised).
#[derive(Debug, Clone)]
pub struct RemoteAccount {
    pub uri: String,
    pub username: String,
    /// `host[:port]`, normalised.
    pub domain: String,
    pub display_name: String,
    pub note_html: String,
    /// `(name, value_html)`.
    pub fields: Vec<(String, String)>,
    pub locked: bool,
    pub bot: bool,
    pub discoverable: bool,
    pub indexable: bool,
    pub url: Option<String>,
    pub inbox_url: String,
    pub shared_inbox_url: Option<String>,
    pub outbox_url: String,
    pub followers_url: String,
    pub following_url: String,
    pub featured_url: Option<String>,
    pub public_key_id: String,
    pub public_key_pem: String,
    pub avatar_remote_url: Option<String>,
    pub header_remote_url: Option<String>,
    pub also_known_as: Vec<String>,
    pub moved_to_uri: Option<String>,
    pub memorial: bool,
    pub suspended: bool,
    pub created_at: Option<DateTime<Utc>>,
    pub emojis: Vec<RemoteEmoji>,
}

/// How a remote follow of a local account ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowOutcome {
    /// A follow; `Federate::AcceptFollow` was enqueued.
    Accepted,
    /// A follow request the local account must answer.
    Pending,
    /// Refused (a block either way); `Federate::RejectFollow` was enqueued.
    Rejected,
}

fn json(value: &impl serde::Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(|e| ServiceError::Internal(e.to_string()))
}

impl Services {
    /// A remote account (`domain` set), or 404.
    pub(crate) async fn remote_account(&self, id: AccountId) -> Result<Account> {
        let account = self.account(id).await?;
        if account.is_local() {
            Err(ServiceError::not_found())
        } else {
            Ok(account)
        }
    }

    /// A local account, or 404.
    async fn local_target(&self, id: AccountId) -> Result<Account> {
        let account = self.account(id).await?;
        if account.is_local() {
            Ok(account)
        } else {
            Err(ServiceError::not_found())
        }
    }

    /// Inserts or updates a remote account by `uri`. If another row holds
    /// the same `username@domain` under another uri, the newer actor takes
    /// the name (the old row is renamed and will be re-resolved). Its emoji
    /// are upserted by shortcode and domain. Idempotent; never a conflict.
    pub async fn upsert_remote_account(&self, input: &RemoteAccount) -> Result<Account> {
        match self.try_upsert_remote_account(input).await {
            // A concurrent upsert of the same actor won the race: try again.
            Err(ServiceError::Storage(StorageError::Conflict(_))) => {
                self.try_upsert_remote_account(input).await
            }
            other => other,
        }
    }

    async fn try_upsert_remote_account(&self, input: &RemoteAccount) -> Result<Account> {
        let db = self.db();
        let now = ferrodon_storage::now();
        let moved_to_account_id = match &input.moved_to_uri {
            Some(uri) => store::account_by_uri(db, uri).await?.map(|a| a.id),
            None => None,
        };
        let reject_media = self.media_rejected(Some(&input.domain)).await?;
        let fields: Vec<serde_json::Value> = input
            .fields
            .iter()
            .map(|(name, value)| serde_json::json!({"name": name, "value": value}))
            .collect();
        let row = RemoteAccountRow {
            uri: input.uri.clone(),
            username: input.username.clone(),
            domain: input.domain.clone(),
            display_name: input.display_name.clone(),
            note: input.note_html.clone(),
            fields: json(&fields)?,
            locked: input.locked,
            bot: input.bot,
            discoverable: input.discoverable,
            indexable: input.indexable,
            url: input.url.clone(),
            inbox_url: input.inbox_url.clone(),
            shared_inbox_url: input.shared_inbox_url.clone(),
            outbox_url: input.outbox_url.clone(),
            followers_url: input.followers_url.clone(),
            following_url: input.following_url.clone(),
            featured_url: input.featured_url.clone(),
            public_key_id: input.public_key_id.clone(),
            public_key_pem: input.public_key_pem.clone(),
            avatar_remote_url: input.avatar_remote_url.clone().filter(|_| !reject_media),
            header_remote_url: input.header_remote_url.clone().filter(|_| !reject_media),
            also_known_as: json(&input.also_known_as)?,
            moved_to_uri: input.moved_to_uri.clone(),
            moved_to_account_id,
            memorial: input.memorial,
            suspended: input.suspended,
            created_at: input.created_at.unwrap_or(now),
            fetched_at: now,
        };
        let mut tx = db.begin().await?;
        store::release_acct(&mut tx, &row.username, &row.domain, &row.uri).await?;
        if store::update_account(&mut tx, &row).await? == 0 {
            let id = AccountId::from(self.ids().next());
            if !store::insert_account(&mut tx, id, &row).await? {
                // The uri belongs to a local account: not for a remote actor.
                return Err(ServiceError::not_allowed());
            }
        }
        for emoji in input.emojis.iter().filter(|_| !reject_media) {
            store::upsert_emoji(
                &mut tx,
                self.ids().next().0,
                &emoji.shortcode,
                &input.domain,
                &emoji.image_url,
                now,
            )
            .await?;
        }
        tx.commit().await?;
        store::account_by_uri(db, &input.uri)
            .await?
            .ok_or_else(ServiceError::not_found)
    }

    /// The remote account with this ActivityPub id.
    pub async fn remote_account_by_uri(&self, uri: &str) -> Result<Option<Account>> {
        Ok(store::account_by_uri(self.db(), uri)
            .await?
            .filter(|a| !a.is_local()))
    }

    /// The account whose public key has this id (a signature's `keyId`).
    pub async fn account_by_key_id(&self, key_id: &str) -> Result<Option<Account>> {
        Ok(store::account_by_key_id(self.db(), key_id).await?)
    }

    /// The account `username@domain` (`domain` `None`: a local one).
    pub async fn account_by_acct(
        &self,
        username: &str,
        domain: Option<&str>,
    ) -> Result<Option<Account>> {
        Ok(accounts::find_by_username(self.db(), username, domain).await?)
    }

    /// Domains of the known remote accounts (`/api/v1/instance/peers`).
    pub async fn known_domains(&self) -> Result<Vec<String>> {
        self.peers().await
    }

    /// A remote `Follow` of a local account. Unlocked: a follow at once and
    /// `Federate::AcceptFollow`; locked: a follow request (notified); a
    /// block either way, a block of the follower's domain by the target or
    /// a suspended target: `Federate::RejectFollow`. Again for an existing
    /// follow: accepted again (the remote may have lost our Accept), with
    /// the new uri stored; for an existing request: still pending.
    pub async fn remote_follow(
        &self,
        follower: AccountId,
        target: AccountId,
        follow_uri: &str,
    ) -> Result<FollowOutcome> {
        let follower_account = self.remote_account(follower).await?;
        let target_account = self.local_target(target).await?;
        let domain_blocked = match &follower_account.domain {
            Some(domain) => {
                !relations::domains_blocked_among(self.db(), target, std::slice::from_ref(domain))
                    .await?
                    .is_empty()
            }
            None => false,
        };
        let db = self.db();
        let accept = Federate::AcceptFollow {
            account_id: target,
            follower_id: follower,
            follow_uri: follow_uri.to_owned(),
        };
        let mut tx = db.begin().await?;
        if target_account.suspended_at.is_some()
            || domain_blocked
            || relations::blocked_either_way(&mut tx, follower, target).await?
        {
            let reject = Federate::RejectFollow {
                account_id: target,
                follower_id: follower,
                follow_uri: follow_uri.to_owned(),
            };
            ferrodon_jobs::enqueue(&mut tx, self.ids(), &reject).await?;
            tx.commit().await?;
            return Ok(FollowOutcome::Rejected);
        }
        if follows::get(&mut tx, Kind::Follow, follower, target)
            .await?
            .is_some()
        {
            store::set_follow_uri(&mut tx, false, follower, target, follow_uri).await?;
            ferrodon_jobs::enqueue(&mut tx, self.ids(), &accept).await?;
            tx.commit().await?;
            return Ok(FollowOutcome::Accepted);
        }
        if follows::get(&mut tx, Kind::Request, follower, target)
            .await?
            .is_some()
        {
            store::set_follow_uri(&mut tx, true, follower, target, follow_uri).await?;
            tx.commit().await?;
            return Ok(FollowOutcome::Pending);
        }
        let follow = Follow {
            id: FollowId::from(self.ids().next()),
            account_id: follower,
            target_account_id: target,
            uri: Some(follow_uri.to_owned()),
            show_reblogs: true,
            notify: false,
            languages: None,
            created_at: ferrodon_storage::now(),
        };
        let notify = |kind: &str| Notify {
            recipient: target,
            from: follower,
            kind: kind.to_owned(),
            activity_id: follow.id.0,
            status_id: None,
        };
        let outcome = if target_account.locked {
            if follows::insert(&mut tx, Kind::Request, &follow).await? {
                ferrodon_jobs::enqueue(&mut tx, self.ids(), &notify("follow_request")).await?;
            }
            FollowOutcome::Pending
        } else {
            if follows::insert(&mut tx, Kind::Follow, &follow).await? {
                accounts::adjust_counts(&mut tx, follower, 0, 0, 1).await?;
                accounts::adjust_counts(&mut tx, target, 0, 1, 0).await?;
                ferrodon_jobs::enqueue(&mut tx, self.ids(), &notify("follow")).await?;
            }
            ferrodon_jobs::enqueue(&mut tx, self.ids(), &accept).await?;
            FollowOutcome::Accepted
        };
        tx.commit().await?;
        Ok(outcome)
    }

    /// `Undo(Follow)`: ends the follow or withdraws the request (idempotent).
    pub async fn undo_remote_follow(&self, follower: AccountId, target: AccountId) -> Result<()> {
        let mut tx = self.db().begin().await?;
        self.end_follow(&mut tx, follower, target).await?;
        self.drop_request(&mut tx, follower, target).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `Accept(Follow)`: our pending request to a remote account becomes a
    /// follow (its statuses join the follower's home). `follow_uri`, when
    /// the request has one stored, must match it. Whether anything changed
    /// (`false` for a repeat or an unknown request).
    pub async fn follow_accepted(
        &self,
        follower: AccountId,
        target: AccountId,
        follow_uri: Option<&str>,
    ) -> Result<bool> {
        let mut tx = self.db().begin().await?;
        let Some(request) = follows::get(&mut tx, Kind::Request, follower, target).await? else {
            return Ok(false);
        };
        if let (Some(stored), Some(given)) = (&request.uri, follow_uri)
            && stored != given
        {
            return Ok(false);
        }
        self.drop_request(&mut tx, follower, target).await?;
        let follow = Follow {
            id: FollowId::from(self.ids().next()),
            created_at: ferrodon_storage::now(),
            ..request
        };
        let inserted = follows::insert(&mut tx, Kind::Follow, &follow).await?;
        if inserted {
            accounts::adjust_counts(&mut tx, follower, 0, 0, 1).await?;
            accounts::adjust_counts(&mut tx, target, 0, 1, 0).await?;
            let merge = MergeIntoHome {
                account_id: follower,
                target_account_id: target,
            };
            ferrodon_jobs::enqueue(&mut tx, self.ids(), &merge).await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }

    /// `Reject(Follow)`: our request to (or follow of) a remote account ends.
    /// Whether there was one.
    pub async fn follow_rejected(&self, follower: AccountId, target: AccountId) -> Result<bool> {
        let mut tx = self.db().begin().await?;
        let request = self.drop_request(&mut tx, follower, target).await?;
        let follow = self.end_follow(&mut tx, follower, target).await?;
        tx.commit().await?;
        Ok(request.is_some() || follow)
    }

    /// A remote account blocks a local one: follows and requests end both
    /// ways, as a local block does (idempotent).
    pub async fn remote_block(&self, remote: AccountId, local: AccountId) -> Result<()> {
        self.remote_account(remote).await?;
        self.local_target(local).await?;
        let mut tx = self.db().begin().await?;
        relations::insert(&mut tx, Relation::Block, self.ids().next().0, remote, local).await?;
        self.end_all_between(&mut tx, remote, local).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Follows, requests and endorsements between `a` and `b`, both ways.
    pub(crate) async fn end_all_between(
        &self,
        tx: &mut Tx,
        a: AccountId,
        b: AccountId,
    ) -> Result<()> {
        for (x, y) in [(a, b), (b, a)] {
            self.end_follow(&mut *tx, x, y).await?;
            self.drop_request(&mut *tx, x, y).await?;
            relations::delete(&mut *tx, Relation::Endorse, x, y).await?;
        }
        Ok(())
    }

    /// `Undo(Block)` (idempotent).
    pub async fn undo_remote_block(&self, remote: AccountId, local: AccountId) -> Result<()> {
        relations::delete(self.db(), Relation::Block, remote, local).await?;
        Ok(())
    }

    /// A remote `Like`: counted and notified once however often it arrives.
    /// Refused (403) when a block stands between them or the liker may not
    /// see the status.
    pub async fn remote_favourite(
        &self,
        account: AccountId,
        status: StatusId,
        _like_uri: &str,
    ) -> Result<()> {
        self.remote_account(account).await?;
        let status = statuses::get(self.db(), status)
            .await?
            .ok_or_else(ServiceError::not_found)?;
        if relations::blocked_either_way(self.db(), account, status.account_id).await?
            || !self.can_see(Some(account), &status).await?
        {
            return Err(ServiceError::not_allowed());
        }
        let mut tx = self.db().begin().await?;
        let favourite_id = self.ids().next().0;
        if marks::insert(&mut tx, Mark::Favourite, favourite_id, account, status.id).await? {
            statuses::adjust_counts(&mut tx, status.id, 0, 0, 1).await?;
            let notify = Notify {
                recipient: status.account_id,
                from: account,
                kind: "favourite".into(),
                activity_id: favourite_id,
                status_id: Some(status.id),
            };
            ferrodon_jobs::enqueue(&mut tx, self.ids(), &notify).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// `Undo(Like)`: uncounted, its notification deleted (idempotent).
    pub async fn undo_remote_favourite(&self, account: AccountId, status: StatusId) -> Result<()> {
        let mut tx = self.db().begin().await?;
        if let Some(favourite_id) = marks::delete(&mut tx, Mark::Favourite, account, status).await?
        {
            statuses::adjust_counts(&mut tx, status, 0, 0, -1).await?;
            notifications::delete_for_activity(&mut tx, "favourite", favourite_id).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A remote `Announce` of a stored status: a reblog stored under the
    /// announce's uri, counted, notified and fanned out once. The same
    /// announce again (or another by the same account) answers the stored
    /// reblog; `None` when it was undone already (tombstone) or the original
    /// may not be reblogged (followers-only or direct by someone else).
    pub async fn remote_reblog(
        &self,
        account: AccountId,
        original: StatusId,
        announce_uri: &str,
        published: DateTime<Utc>,
    ) -> Result<Option<StatusId>> {
        let db = self.db();
        if let Some(id) = store::status_id_by_uri(db, announce_uri).await? {
            return Ok(Some(id));
        }
        if store::is_tombstoned(db, announce_uri).await? {
            return Ok(None);
        }
        self.remote_account(account).await?;
        let original = statuses::get(db, original)
            .await?
            .ok_or_else(ServiceError::not_found)?;
        let own = original.account_id == account;
        if original.reblog_of_id.is_some()
            || original.visibility() == Visibility::Direct
            || (original.visibility() == Visibility::Private && !own)
            || relations::blocked_either_way(db, account, original.account_id).await?
        {
            return Ok(None);
        }
        if let Some(existing) = statuses::find_reblog(db, account, original.id).await? {
            return Ok(Some(existing.id));
        }
        let id = StatusId::from(self.ids().next());
        let new = NewStatus {
            id,
            uri: announce_uri.to_owned(),
            url: None,
            account_id: account,
            text: String::new(),
            content: String::new(),
            spoiler_text: String::new(),
            sensitive: false,
            visibility: original.visibility(),
            language: None,
            in_reply_to_id: None,
            in_reply_to_account_id: None,
            reblog_of_id: Some(original.id),
            application_id: None,
            local: false,
            created_at: published,
            quote_approval_policy: 0,
        };
        let mut tx = db.begin().await?;
        match statuses::insert(&mut tx, &new).await {
            Err(StorageError::Conflict(_)) => {
                drop(tx);
                return Ok(store::status_id_by_uri(db, announce_uri).await?.or(
                    statuses::find_reblog(db, account, original.id)
                        .await?
                        .map(|s| s.id),
                ));
            }
            other => other?,
        }
        statuses::adjust_counts(&mut tx, original.id, 0, 1, 0).await?;
        accounts::adjust_counts(&mut tx, account, 1, 0, 0).await?;
        accounts::set_last_status_at(&mut tx, account, published).await?;
        let notify = Notify {
            recipient: original.account_id,
            from: account,
            kind: "reblog".into(),
            activity_id: id.0,
            status_id: Some(original.id),
        };
        ferrodon_jobs::enqueue(&mut tx, self.ids(), &notify).await?;
        ferrodon_jobs::enqueue(&mut tx, self.ids(), &FanOutStatus { status_id: id }).await?;
        tx.commit().await?;
        Ok(Some(id))
    }

    /// `Undo(Announce)`: the reblog goes as a deleted reblog does, only by
    /// the account that made it; a tombstone keeps a late `Announce` out.
    pub async fn undo_remote_reblog(&self, announce_uri: &str, by: AccountId) -> Result<()> {
        self.delete_remote_status(announce_uri, by).await
    }

    /// A remote account is gone (`Delete` of the actor): it is suspended
    /// (every status of it leaves every view and its followers' feeds) and
    /// its follows and requests end both ways (idempotent).
    pub async fn delete_remote_account(&self, account: AccountId) -> Result<()> {
        let remote = self.remote_account(account).await?;
        let db = self.db();
        let pairs = store::follow_pairs_of(db, account).await?;
        let mut tx = db.begin().await?;
        accounts::set_sanction(
            &mut tx,
            account,
            accounts::Sanction::Suspended,
            Some(remote.suspended_at.unwrap_or_else(ferrodon_storage::now)),
        )
        .await?;
        for other in pairs {
            self.end_all_between(&mut tx, account, AccountId(other))
                .await?;
        }
        let feeds = crate::jobs::AccountFeeds {
            account_id: account,
            merge: false,
        };
        ferrodon_jobs::enqueue(&mut tx, self.ids(), &feeds).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `Move`: `old` moved to `new`, which must list `old` in its
    /// `also_known_as` (else 403). `old` gets `moved_to`; each local
    /// follower of `old` follows `new` (a request, since `new` is remote,
    /// with `Federate::Follow`) and stops following `old`. Idempotent.
    pub async fn move_account(&self, old: AccountId, new: AccountId) -> Result<()> {
        let old_account = self.remote_account(old).await?;
        let new_account = self.account(new).await?;
        let aliases: Vec<String> = store::also_known_as(self.db(), new)
            .await?
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default();
        if old == new || !aliases.contains(&old_account.uri) {
            return Err(ServiceError::not_allowed());
        }
        store::set_moved_to(self.db(), old, new, &new_account.uri).await?;
        self.move_followers(old, new).await
    }
}
