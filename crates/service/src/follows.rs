//! Follows between accounts: following (or asking to, for locked
//! accounts), unfollowing, how a viewer relates to other accounts, and the
//! follower and following lists.

use std::collections::{HashMap, HashSet};

use ferrodon_model::{AccountId, FollowId, Page, PageBounds};
use ferrodon_storage::accounts::{self, Account};
use ferrodon_storage::follows::{self, Direction, Follow, Kind};
use ferrodon_storage::relations::{self, Relation};
use ferrodon_storage::{Tx, notifications};

use crate::jobs::{MergeIntoHome, Notify, UnmergeFromHome};
use crate::views::RelationshipView;
use crate::{Result, ServiceError, Services};

/// Options of `POST /api/v1/accounts/:id/follow`.
#[derive(Debug, Clone, Default)]
pub struct FollowOptions {
    pub reblogs: Option<bool>,
    pub notify: Option<bool>,
    pub languages: Option<Vec<String>>,
}

impl Services {
    /// `GET /api/v1/accounts/relationships`.
    pub async fn relationships(
        &self,
        viewer: AccountId,
        ids: &[AccountId],
    ) -> Result<Vec<RelationshipView>> {
        let db = self.db();
        let follows = follows::between(db, Kind::Follow, viewer, ids).await?;
        let requests = follows::between(db, Kind::Request, viewer, ids).await?;
        let others = relations::between(db, viewer, ids, ferrodon_storage::now()).await?;
        let notes = relations::notes(db, viewer, ids).await?;
        let domains: HashMap<AccountId, String> = accounts::get_many(db, ids)
            .await?
            .into_iter()
            .filter_map(|a| Some((a.id, a.domain?)))
            .collect();
        let unique: Vec<String> = domains
            .values()
            .cloned()
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let blocked_domains = relations::domains_blocked_among(db, viewer, &unique).await?;
        Ok(ids
            .iter()
            .map(|id| {
                let out = follows
                    .iter()
                    .find(|f| f.account_id == viewer && f.target_account_id == *id);
                let out_request = requests
                    .iter()
                    .find(|f| f.account_id == viewer && f.target_account_id == *id);
                let options = out.or(out_request);
                let has = |kind: &str, from: AccountId, to: AccountId| {
                    others.iter().find(|r| {
                        r.kind == kind && r.account_id == from.0 && r.target_account_id == to.0
                    })
                };
                let mute = has("mute", viewer, *id);
                RelationshipView {
                    id: *id,
                    following: out.is_some(),
                    showing_reblogs: options.is_some_and(|f| f.show_reblogs),
                    notifying: options.is_some_and(|f| f.notify),
                    languages: options
                        .and_then(|f| f.languages.as_deref())
                        .and_then(|l| serde_json::from_str(l).ok()),
                    followed_by: follows
                        .iter()
                        .any(|f| f.account_id == *id && f.target_account_id == viewer),
                    requested: out_request.is_some(),
                    requested_by: requests
                        .iter()
                        .any(|f| f.account_id == *id && f.target_account_id == viewer),
                    blocking: has("block", viewer, *id).is_some(),
                    blocked_by: has("block", *id, viewer).is_some(),
                    muting: mute.is_some(),
                    muting_notifications: mute.is_some_and(|m| m.hide_notifications),
                    muting_expires_at: mute.and_then(|m| m.expires_at),
                    domain_blocking: domains.get(id).is_some_and(|d| blocked_domains.contains(d)),
                    endorsed: has("endorse", viewer, *id).is_some(),
                    note: notes
                        .iter()
                        .find(|(target, _)| *target == id.0)
                        .map(|(_, comment)| comment.clone())
                        .unwrap_or_default(),
                }
            })
            .collect())
    }

    /// Whether `viewer` may not follow or otherwise reach `target`: a block
    /// either way, or `viewer` blocks `target`'s domain.
    pub(crate) async fn refuses_contact(
        &self,
        viewer: AccountId,
        target: &Account,
    ) -> Result<bool> {
        let db = self.db();
        if relations::blocked_either_way(db, viewer, target.id).await? {
            return Ok(true);
        }
        Ok(match &target.domain {
            Some(domain) => {
                !relations::domains_blocked_among(db, viewer, std::slice::from_ref(domain))
                    .await?
                    .is_empty()
            }
            None => false,
        })
    }

    pub(crate) async fn relationship(
        &self,
        viewer: AccountId,
        target: AccountId,
    ) -> Result<RelationshipView> {
        self.relationships(viewer, &[target])
            .await?
            .pop()
            .ok_or_else(|| ServiceError::Internal("relationship missing".into()))
    }

    /// `POST /api/v1/accounts/:id/follow`. Locked and remote accounts get a
    /// follow request; following again only updates the options.
    pub async fn follow(
        &self,
        viewer: AccountId,
        target_id: AccountId,
        options: FollowOptions,
    ) -> Result<RelationshipView> {
        if viewer == target_id {
            return Err(ServiceError::Forbidden(
                "Following your own account is not allowed".to_owned(),
            ));
        }
        let target = self.account(target_id).await?;
        if target.suspended_at.is_some() || self.refuses_contact(viewer, &target).await? {
            return Err(ServiceError::not_allowed());
        }
        let languages = match &options.languages {
            None => None,
            Some(l) if l.is_empty() => Some(None),
            Some(l) => Some(Some(
                serde_json::to_string(l).map_err(|e| ServiceError::Internal(e.to_string()))?,
            )),
        };
        let db = self.db();
        for kind in [Kind::Follow, Kind::Request] {
            if follows::get(db, kind, viewer, target_id).await?.is_some() {
                follows::update_options(
                    db,
                    kind,
                    viewer,
                    target_id,
                    options.reblogs,
                    options.notify,
                    languages,
                )
                .await?;
                return self.relationship(viewer, target_id).await;
            }
        }
        let follow_id = FollowId::from(self.ids().next());
        // A follow of a remote account is a request until its server accepts
        // it; the `Follow` activity's id is stored with it.
        let uri = (!target.is_local()).then(|| self.follow_uri(follow_id.0));
        let follow = Follow {
            id: follow_id,
            account_id: viewer,
            target_account_id: target_id,
            uri: uri.clone(),
            show_reblogs: options.reblogs.unwrap_or(true),
            notify: options.notify.unwrap_or(false),
            languages: languages.flatten(),
            created_at: ferrodon_storage::now(),
        };
        let mut tx = db.begin().await?;
        let notify = |kind: &str| Notify {
            recipient: target_id,
            from: viewer,
            kind: kind.to_owned(),
            activity_id: follow.id.0,
            status_id: None,
        };
        if target.locked || !target.is_local() {
            // Remote accounts answer with Accept once federation delivers the request.
            if follows::insert(&mut tx, Kind::Request, &follow).await? {
                ferrodon_jobs::enqueue(&mut tx, self.ids(), &notify("follow_request")).await?;
                if let Some(uri) = uri {
                    let job = crate::federate::Federate::Follow {
                        account_id: viewer,
                        target_id,
                        uri,
                    };
                    self.federate(&mut tx, &job).await?;
                }
            }
        } else if follows::insert(&mut tx, Kind::Follow, &follow).await? {
            accounts::adjust_counts(&mut tx, viewer, 0, 0, 1).await?;
            accounts::adjust_counts(&mut tx, target_id, 0, 1, 0).await?;
            ferrodon_jobs::enqueue(
                &mut tx,
                self.ids(),
                &MergeIntoHome {
                    account_id: viewer,
                    target_account_id: target_id,
                },
            )
            .await?;
            ferrodon_jobs::enqueue(&mut tx, self.ids(), &notify("follow")).await?;
        }
        tx.commit().await?;
        self.relationship(viewer, target_id).await
    }

    /// `POST /api/v1/accounts/:id/unfollow`: also withdraws a pending request.
    pub async fn unfollow(
        &self,
        viewer: AccountId,
        target_id: AccountId,
    ) -> Result<RelationshipView> {
        let target = self.account(target_id).await?;
        let mut tx = self.db().begin().await?;
        let follow = follows::get(&mut tx, Kind::Follow, viewer, target_id).await?;
        let ended = self.end_follow(&mut tx, viewer, target_id).await?;
        let request = self.drop_request(&mut tx, viewer, target_id).await?;
        if !target.is_local()
            && let Some(f) = request.or(follow.filter(|_| ended))
        {
            let job = crate::federate::Federate::UndoFollow {
                account_id: viewer,
                target_id,
                uri: f.uri.unwrap_or_else(|| self.follow_uri(f.id.0)),
            };
            self.federate(&mut tx, &job).await?;
        }
        tx.commit().await?;
        self.relationship(viewer, target_id).await
    }

    /// Ends `follower`'s follow of `followee` in `tx`: the counts, the
    /// follow's notification, the endorsement that needed it, the followee's
    /// places on the follower's lists, and (by a job)
    /// the followee's statuses in the follower's home. Whether there was one.
    pub(crate) async fn end_follow(
        &self,
        tx: &mut Tx,
        follower: AccountId,
        followee: AccountId,
    ) -> Result<bool> {
        let Some(follow) = follows::get(&mut *tx, Kind::Follow, follower, followee).await? else {
            return Ok(false);
        };
        if !follows::delete(&mut *tx, Kind::Follow, follower, followee).await? {
            return Ok(false);
        }
        notifications::delete_for_activity(&mut *tx, "follow", follow.id.0).await?;
        relations::delete(&mut *tx, Relation::Endorse, follower, followee).await?;
        ferrodon_storage::lists::remove_from_owner_lists(&mut *tx, follower, followee).await?;
        accounts::adjust_counts(&mut *tx, follower, 0, 0, -1).await?;
        accounts::adjust_counts(&mut *tx, followee, 0, -1, 0).await?;
        ferrodon_jobs::enqueue(
            &mut *tx,
            self.ids(),
            &UnmergeFromHome {
                account_id: follower,
                target_account_id: followee,
            },
        )
        .await?;
        Ok(true)
    }

    /// Withdraws `from`'s follow request to `to` and its notification, in `tx`.
    pub(crate) async fn drop_request(
        &self,
        tx: &mut Tx,
        from: AccountId,
        to: AccountId,
    ) -> Result<Option<Follow>> {
        let Some(request) = follows::get(&mut *tx, Kind::Request, from, to).await? else {
            return Ok(None);
        };
        follows::delete(&mut *tx, Kind::Request, from, to).await?;
        notifications::delete_for_activity(&mut *tx, "follow_request", request.id.0).await?;
        Ok(Some(request))
    }

    /// `GET /api/v1/accounts/:id/followers` and `/following`, paged by follow id.
    /// Hidden collections are empty to everyone but the owner.
    pub async fn follow_list(
        &self,
        viewer: Option<AccountId>,
        account: AccountId,
        direction: Direction,
        bounds: &PageBounds,
    ) -> Result<Page<Account>> {
        let owner = self.account(account).await?;
        if owner.suspended_at.is_some() || (owner.hide_collections && viewer != Some(account)) {
            return Ok(Page::from_items(Vec::new(), |_: &Account| 0));
        }
        let rows = follows::list(self.db(), account, direction, bounds).await?;
        let page = Page::from_items(rows, |r| r.follow_id);
        Ok(page.map(|r| r.account))
    }
}
