//! Notification policies (Mastodon 4.3): which notifications from whom are
//! accepted, set aside as requests, or dropped; and the requests that
//! gather the set-aside ones per sender until accepted or dismissed.

use chrono::Duration;
use ferrodon_model::{AccountId, Page, PageBounds, StatusId, Visibility};
use ferrodon_storage::accounts::{self, Account};
use ferrodon_storage::notification_policies::{self as store, Policy, Request};
use ferrodon_storage::{follows, statuses};

use crate::views::StatusView;
use crate::{Result, ServiceError, Services};

/// What a policy may do with a notification.
pub const ACTIONS: [&str; 3] = ["accept", "filter", "drop"];
/// Kinds of notifications a policy applies to (the others always arrive).
const FILTERABLE: [&str; 6] = [
    "mention",
    "follow",
    "follow_request",
    "favourite",
    "reblog",
    "quote",
];
/// Accounts younger than this are "new".
const NEW_ACCOUNT_DAYS: i64 = 30;
/// Followers of less than this long do not count as followers.
const FOLLOWER_SINCE_DAYS: i64 = 3;

/// What happens to one notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Decision {
    Accept,
    Filter,
    Drop,
}

fn decision(action: &str) -> Decision {
    match action {
        "drop" => Decision::Drop,
        "filter" => Decision::Filter,
        _ => Decision::Accept,
    }
}

/// The policy with its pending counts.
#[derive(Debug, Clone)]
pub struct PolicyView {
    pub policy: Policy,
    pub pending_requests: i64,
    pub pending_notifications: i64,
}

/// Changes to a policy (absent fields stay).
#[derive(Debug, Clone, Default)]
pub struct PolicyChange {
    pub for_not_following: Option<String>,
    pub for_not_followers: Option<String>,
    pub for_new_accounts: Option<String>,
    pub for_private_mentions: Option<String>,
    pub for_limited_accounts: Option<String>,
}

/// A request as its owner sees it.
#[derive(Debug, Clone)]
pub struct RequestView {
    pub request: Request,
    pub account: Account,
    pub last_status: Option<StatusView>,
}

impl Services {
    /// Whether a notification of `kind` from `from` to `recipient` is
    /// accepted, set aside or dropped under the recipient's policy.
    pub(crate) async fn policy_decision(
        &self,
        recipient: AccountId,
        from: AccountId,
        kind: &str,
        status: Option<StatusId>,
    ) -> Result<Decision> {
        if !FILTERABLE.contains(&kind) {
            return Ok(Decision::Accept);
        }
        let db = self.db();
        let policy = store::policy(db, recipient).await?;
        if policy.accepts_everything() {
            return Ok(Decision::Accept);
        }
        if store::is_permitted(db, recipient, from).await? {
            return Ok(Decision::Accept);
        }
        let following = follows::follows(db, recipient, from).await?;
        let now = ferrodon_storage::now();
        let follower = store::followed_since(db, from, recipient)
            .await?
            .is_some_and(|since| since <= now - Duration::days(FOLLOWER_SINCE_DAYS));
        let sender = accounts::get(db, from).await?;
        let new_account = sender
            .as_ref()
            .is_some_and(|a| a.created_at > now - Duration::days(NEW_ACCOUNT_DAYS));
        let private_mention = if kind == "mention"
            && let Some(id) = status
            && let Some(s) = statuses::get(db, id).await?
            && s.visibility() == Visibility::Direct
        {
            // A reply to the recipient is a conversation they started.
            match s.in_reply_to_account() {
                Some(parent_author) => parent_author != recipient,
                None => true,
            }
        } else {
            false
        };
        let mut outcome = Decision::Accept;
        let mut apply = |applies: bool, action: &str| {
            if applies {
                outcome = outcome.max(decision(action));
            }
        };
        apply(!following, &policy.for_not_following);
        apply(!follower, &policy.for_not_followers);
        apply(new_account, &policy.for_new_accounts);
        apply(!following && private_mention, &policy.for_private_mentions);
        // Accounts a moderator silenced (limited), unless the recipient follows them.
        let limited = sender.as_ref().is_some_and(|a| a.silenced_at.is_some());
        apply(!following && limited, &policy.for_limited_accounts);
        Ok(outcome)
    }

    /// `GET /api/v2/notifications/policy`.
    pub async fn notification_policy(&self, viewer: AccountId) -> Result<PolicyView> {
        let policy = store::policy(self.db(), viewer).await?;
        let (pending_requests, pending_notifications) = store::summary(self.db(), viewer).await?;
        Ok(PolicyView {
            policy,
            pending_requests,
            pending_notifications,
        })
    }

    /// `PATCH /api/v2/notifications/policy` (and v1's `PUT`).
    pub async fn update_notification_policy(
        &self,
        viewer: AccountId,
        change: PolicyChange,
    ) -> Result<PolicyView> {
        let mut policy = store::policy(self.db(), viewer).await?;
        let fields = [
            (change.for_not_following, &mut policy.for_not_following),
            (change.for_not_followers, &mut policy.for_not_followers),
            (change.for_new_accounts, &mut policy.for_new_accounts),
            (
                change.for_private_mentions,
                &mut policy.for_private_mentions,
            ),
            (
                change.for_limited_accounts,
                &mut policy.for_limited_accounts,
            ),
        ];
        for (new, slot) in fields {
            if let Some(action) = new {
                if !ACTIONS.contains(&action.as_str()) {
                    return Err(ServiceError::invalid(format!(
                        "{action:?} is not a notification policy (accept, filter or drop)"
                    )));
                }
                *slot = action;
            }
        }
        store::set_policy(self.db(), viewer, &policy).await?;
        self.notification_policy(viewer).await
    }

    async fn request_views(
        &self,
        viewer: AccountId,
        list: Vec<Request>,
    ) -> Result<Vec<RequestView>> {
        let ids: Vec<AccountId> = list.iter().map(|r| r.from_account_id).collect();
        let accounts = accounts::get_many(self.db(), &ids).await?;
        let status_ids: Vec<StatusId> = list
            .iter()
            .filter_map(|r| r.last_status_id.map(StatusId))
            .collect();
        let views = self.hydrate_ids(Some(viewer), &status_ids).await?;
        let statuses = self
            .visible(Some(viewer), views, crate::visibility::Hide::Nothing)
            .await?;
        Ok(list
            .into_iter()
            .filter_map(|request| {
                let account = accounts
                    .iter()
                    .find(|a| a.id == request.from_account_id)?
                    .clone();
                let last_status = request
                    .last_status_id
                    .and_then(|id| statuses.iter().find(|s| s.status.id.0 == id).cloned());
                Some(RequestView {
                    request,
                    account,
                    last_status,
                })
            })
            .collect())
    }

    /// `GET /api/v1/notifications/requests`.
    pub async fn notification_requests(
        &self,
        viewer: AccountId,
        bounds: &PageBounds,
    ) -> Result<Page<RequestView>> {
        let rows = store::requests(self.db(), viewer, bounds).await?;
        let page = Page::from_items(rows, |r| r.id);
        let views = self.request_views(viewer, page.items).await?;
        Ok(Page {
            items: views,
            next_max_id: page.next_max_id,
            prev_min_id: page.prev_min_id,
        })
    }

    /// `GET /api/v1/notifications/requests/:id`.
    pub async fn notification_request(&self, viewer: AccountId, id: i64) -> Result<RequestView> {
        let request = store::request(self.db(), viewer, id)
            .await?
            .ok_or_else(ServiceError::not_found)?;
        self.request_views(viewer, vec![request])
            .await?
            .pop()
            .ok_or_else(ServiceError::not_found)
    }

    /// `POST /api/v1/notifications/requests/:id/accept`: the sender's
    /// notifications join the others, and later ones are never filtered.
    pub async fn accept_notification_request(&self, viewer: AccountId, id: i64) -> Result<()> {
        let request = store::request(self.db(), viewer, id)
            .await?
            .ok_or_else(ServiceError::not_found)?;
        let mut tx = self.db().begin().await?;
        store::permit(
            &mut tx,
            self.ids().next().0,
            viewer,
            request.from_account_id,
        )
        .await?;
        store::unfilter_from(&mut tx, viewer, request.from_account_id).await?;
        store::delete_request(&mut tx, request.id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `POST /api/v1/notifications/requests/:id/dismiss`: the request and
    /// its notifications go away (later ones start a new request).
    pub async fn dismiss_notification_request(&self, viewer: AccountId, id: i64) -> Result<()> {
        let request = store::request(self.db(), viewer, id)
            .await?
            .ok_or_else(ServiceError::not_found)?;
        let mut tx = self.db().begin().await?;
        store::delete_filtered_from(&mut tx, viewer, request.from_account_id).await?;
        store::delete_request(&mut tx, request.id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The bulk forms of accept (`accept`) and dismiss: ids that are not
    /// the viewer's requests are skipped.
    pub async fn settle_notification_requests(
        &self,
        viewer: AccountId,
        ids: &[i64],
        accept: bool,
    ) -> Result<()> {
        for &id in ids {
            let done = if accept {
                self.accept_notification_request(viewer, id).await
            } else {
                self.dismiss_notification_request(viewer, id).await
            };
            match done {
                Ok(()) | Err(ServiceError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
