//! Notifications (Mastodon's v1 list and v2 grouped list) and markers.
//!
//! Notifications are created by the [`Notify`](crate::jobs::Notify) job,
//! enqueued in the transaction of the action that causes them (a favourite,
//! reblog, follow, follow request, quote, edit of a quoted status), and by the fan-out jobs (mentions; new
//! statuses of accounts followed with `notify`). The unique (recipient,
//! activity, type) key makes a second run harmless. Undoing the action
//! deletes its notification.

use std::collections::{HashMap, HashSet};

use ferrodon_model::{AccountId, PageBounds, StatusId};
use ferrodon_storage::accounts::{self, Account};
use ferrodon_storage::notifications::{self as store, Filter, GroupSummary, Marker, Notification};

use crate::notification_requests::Decision;
use crate::views::StatusView;
use crate::visibility::Hide;
use crate::{Result, ServiceError, Services};

/// Every notification type Ferrodon creates or knows.
pub const TYPES: &[&str] = &[
    "mention",
    "status",
    "reblog",
    "follow",
    "follow_request",
    "favourite",
    "poll",
    "update",
    "quote",
    "quoted_update",
    "admin.sign_up",
    "admin.report",
    "severed_relationships",
    "moderation_warning",
];

/// Types whose notifications are grouped (Mastodon 4.3).
const GROUPED: &[&str] = &["favourite", "reblog", "follow"];

/// How many hours one group spans at most.
const GROUP_SPAN_HOURS: i64 = 12;

/// A notification as a reader sees it.
#[derive(Debug, Clone)]
pub struct NotificationView {
    pub notification: Notification,
    pub account: Account,
    pub status: Option<StatusView>,
}

impl NotificationView {
    /// The group key clients see: `ungrouped-{id}` for ungrouped ones.
    pub fn group_key(&self) -> String {
        group_key_of(&self.notification)
    }
}

fn group_key_of(n: &Notification) -> String {
    n.group_key
        .clone()
        .unwrap_or_else(|| format!("ungrouped-{}", n.id))
}

/// One group of a grouped page.
#[derive(Debug, Clone)]
pub struct GroupView {
    pub group_key: String,
    pub kind: String,
    pub count: i64,
    pub most_recent_id: i64,
    pub page_min_id: i64,
    pub page_max_id: i64,
    pub latest_at: chrono::DateTime<chrono::Utc>,
    pub sample_account_ids: Vec<AccountId>,
    pub status_id: Option<StatusId>,
}

/// A page of groups with the accounts and statuses they refer to.
#[derive(Debug, Clone, Default)]
pub struct GroupedPage {
    pub groups: Vec<GroupView>,
    pub accounts: Vec<Account>,
    pub statuses: Vec<StatusView>,
    /// Cursors: the newest and the oldest representative notification ids.
    pub newest_id: Option<i64>,
    pub oldest_id: Option<i64>,
}

/// Which notifications a list shows, from request parameters.
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    pub types: Vec<String>,
    pub exclude_types: Vec<String>,
    pub account_id: Option<AccountId>,
    pub include_filtered: bool,
}

impl ListOptions {
    fn filter(&self) -> Filter {
        let types = if self.types.is_empty() {
            None
        } else {
            Some(
                self.types
                    .iter()
                    .filter(|t| TYPES.contains(&t.as_str()))
                    .cloned()
                    .collect(),
            )
        };
        Filter {
            types,
            exclude_types: self.exclude_types.clone(),
            from_account: self.account_id,
            // As Mastodon's v1: asking for one account shows its filtered ones too.
            include_filtered: self.include_filtered || self.account_id.is_some(),
        }
    }
}

impl Services {
    /// Creates a notification for a local `recipient` (no-op for remote
    /// accounts, self-actions and suspended recipients; idempotent).
    pub(crate) async fn notify(
        &self,
        recipient: AccountId,
        from: AccountId,
        kind: &str,
        activity_id: i64,
        status_id: Option<StatusId>,
    ) -> Result<()> {
        if recipient == from
            && !matches!(
                kind,
                "poll" | "severed_relationships" | "moderation_warning"
            )
        {
            return Ok(());
        }
        let db = self.db();
        let Some(account) = accounts::get(db, recipient).await? else {
            return Ok(());
        };
        if !account.is_local() || account.suspended_at.is_some() {
            return Ok(());
        }
        let now = ferrodon_storage::now();
        // Blocked, muted with notifications, or on a domain they block.
        if ferrodon_storage::relations::silences(db, recipient, from, now).await? {
            return Ok(());
        }
        // A muted thread stays quiet.
        if let Some(status) = status_id
            && self.thread_muted(recipient, status).await?
        {
            return Ok(());
        }
        // The recipient's policy may set it aside, or drop it.
        let filtered = match self
            .policy_decision(recipient, from, kind, status_id)
            .await?
        {
            Decision::Drop => return Ok(()),
            Decision::Filter => true,
            Decision::Accept => false,
        };
        let group_key = if GROUPED.contains(&kind) {
            let prefix = match (kind, status_id) {
                ("follow", _) => "follow".to_owned(),
                (k, Some(s)) => format!("{k}-{}", s.0),
                (k, None) => k.to_owned(),
            };
            let mut bucket = now.timestamp().div_euclid(3600);
            if let Some(previous) = store::latest_group_key(db, recipient, &prefix).await?
                && let Some(start) = previous
                    .rsplit('-')
                    .next()
                    .and_then(|b| b.parse::<i64>().ok())
                && bucket < start + GROUP_SPAN_HOURS
            {
                bucket = start;
            }
            Some(format!("{prefix}-{bucket}"))
        } else {
            None
        };
        // A set-aside notification and its request's count change together.
        let mut tx = db.begin().await?;
        let inserted = store::insert(
            &mut tx,
            &Notification {
                id: self.ids().next().0,
                account_id: recipient,
                from_account_id: from,
                kind: kind.to_owned(),
                activity_id,
                status_id: status_id.map(|s| s.0),
                group_key,
                filtered,
                created_at: now,
            },
        )
        .await?;
        if inserted && filtered {
            ferrodon_storage::notification_policies::record(
                &mut tx,
                self.ids().next().0,
                recipient,
                from,
                status_id,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Views of notifications, in order (those whose sender or status is gone are skipped).
    async fn notification_views(
        &self,
        viewer: AccountId,
        list: Vec<Notification>,
    ) -> Result<Vec<NotificationView>> {
        let account_ids: Vec<AccountId> = list
            .iter()
            .map(|n| n.from_account_id)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let accounts: HashMap<AccountId, Account> = accounts::get_many(self.db(), &account_ids)
            .await?
            .into_iter()
            .map(|a| (a.id, a))
            .collect();
        let status_ids: Vec<StatusId> = list
            .iter()
            .filter_map(|n| n.status_id.map(StatusId))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let views = self.hydrate_ids(Some(viewer), &status_ids).await?;
        let statuses: HashMap<StatusId, StatusView> = self
            .visible(Some(viewer), views, Hide::Nothing)
            .await?
            .into_iter()
            .map(|v| (v.status.id, v))
            .collect();
        // A notification is shown only while its sender is in good standing
        // and its status (if any) is one the recipient may see.
        Ok(list
            .into_iter()
            .filter_map(|n| {
                let account = accounts
                    .get(&n.from_account_id)
                    .filter(|a| a.suspended_at.is_none())?
                    .clone();
                let status = match n.status_id {
                    Some(id) => Some(statuses.get(&StatusId(id))?.clone()),
                    None => None,
                };
                Some(NotificationView {
                    notification: n,
                    account,
                    status,
                })
            })
            .collect())
    }

    /// `GET /api/v1/notifications`.
    pub async fn notifications(
        &self,
        viewer: AccountId,
        options: &ListOptions,
        bounds: &PageBounds,
    ) -> Result<Vec<NotificationView>> {
        let list = store::list(self.db(), viewer, &options.filter(), bounds).await?;
        self.notification_views(viewer, list).await
    }

    /// `GET /api/v1/notifications/:id`.
    pub async fn notification(&self, viewer: AccountId, id: i64) -> Result<NotificationView> {
        let n = store::get(self.db(), viewer, id)
            .await?
            .ok_or_else(ServiceError::not_found)?;
        self.notification_views(viewer, vec![n])
            .await?
            .pop()
            .ok_or_else(ServiceError::not_found)
    }

    /// `POST /api/v1/notifications/:id/dismiss`.
    pub async fn dismiss_notification(&self, viewer: AccountId, id: i64) -> Result<()> {
        if store::delete(self.db(), viewer, id).await? {
            Ok(())
        } else {
            Err(ServiceError::not_found())
        }
    }

    /// `POST /api/v1/notifications/clear`.
    pub async fn clear_notifications(&self, viewer: AccountId) -> Result<()> {
        store::clear(self.db(), viewer).await?;
        Ok(())
    }

    /// `POST /api/v2/notifications/:group_key/dismiss` (always succeeds).
    pub async fn dismiss_group(&self, viewer: AccountId, group_key: &str) -> Result<()> {
        store::dismiss_group(self.db(), viewer, group_key).await?;
        Ok(())
    }

    /// `GET /api/v1/notifications/unread_count`: notifications after the
    /// notifications marker (at most `limit`).
    pub async fn unread_count(
        &self,
        viewer: AccountId,
        options: &ListOptions,
        limit: i64,
    ) -> Result<i64> {
        let after = self.marker_position(viewer, "notifications").await?;
        Ok(store::count_after(self.db(), viewer, &options.filter(), after, limit).await?)
    }

    /// `GET /api/v2/notifications/unread_count`: groups among the unread notifications.
    pub async fn unread_group_count(
        &self,
        viewer: AccountId,
        options: &ListOptions,
        limit: u32,
    ) -> Result<i64> {
        let after = self.marker_position(viewer, "notifications").await?;
        let bounds = PageBounds {
            max_id: None,
            since_id: None,
            min_id: Some(after),
            limit,
        };
        let options = ListOptions {
            account_id: None,
            ..options.clone()
        };
        let (groups, _) = self.collect_groups(viewer, &options, &bounds).await?;
        Ok(groups.len() as i64)
    }

    async fn marker_position(&self, viewer: AccountId, timeline: &str) -> Result<i64> {
        Ok(store::markers(self.db(), viewer, &[timeline])
            .await?
            .first()
            .map_or(0, |m| m.last_read_id))
    }

    /// Walks notifications in order until `bounds.limit` distinct groups are
    /// found; returns each group's first notification seen (its representative),
    /// in page order (newest first), and how far the walk went.
    async fn collect_groups(
        &self,
        viewer: AccountId,
        options: &ListOptions,
        bounds: &PageBounds,
    ) -> Result<(Vec<Notification>, usize)> {
        let filter = options.filter();
        let mut seen: HashSet<String> = HashSet::new();
        let mut representatives = Vec::new();
        let mut cursor = *bounds;
        cursor.limit = 200;
        let mut scanned = 0;
        loop {
            let batch = store::list(self.db(), viewer, &filter, &cursor).await?;
            if batch.is_empty() {
                break;
            }
            scanned += batch.len();
            // Oldest-first walks (min_id) must visit ascending ids.
            let ordered: Vec<Notification> = if cursor.ascending() {
                batch.iter().rev().cloned().collect()
            } else {
                batch.clone()
            };
            for n in ordered {
                if seen.insert(group_key_of(&n)) {
                    representatives.push(n);
                    if representatives.len() >= bounds.limit as usize {
                        break;
                    }
                }
            }
            if representatives.len() >= bounds.limit as usize
                || batch.len() < 200
                || scanned > 20_000
            {
                break;
            }
            if cursor.ascending() {
                cursor.min_id = batch.first().map(|n| n.id);
            } else {
                cursor.max_id = batch.last().map(|n| n.id);
            }
        }
        if bounds.ascending() {
            representatives.reverse();
        }
        Ok((representatives, scanned))
    }

    /// `GET /api/v2/notifications`.
    pub async fn grouped_notifications(
        &self,
        viewer: AccountId,
        options: &ListOptions,
        bounds: &PageBounds,
    ) -> Result<GroupedPage> {
        let options = ListOptions {
            account_id: None,
            ..options.clone()
        };
        let (reps, _) = self.collect_groups(viewer, &options, bounds).await?;
        self.grouped_page(viewer, reps).await
    }

    /// `GET /api/v2/notifications/:group_key`.
    pub async fn notification_group(
        &self,
        viewer: AccountId,
        group_key: &str,
    ) -> Result<GroupedPage> {
        let newest =
            store::group_members(self.db(), viewer, group_key, &PageBounds::first(1)).await?;
        if newest.is_empty() {
            return Err(ServiceError::not_found());
        }
        self.grouped_page(viewer, newest).await
    }

    /// The senders of a group's notifications, newest first (cursor: notification ids).
    pub async fn notification_group_accounts(
        &self,
        viewer: AccountId,
        group_key: &str,
        bounds: &PageBounds,
    ) -> Result<(Vec<Account>, Option<i64>, Option<i64>)> {
        if group_key.starts_with("ungrouped-") {
            return Ok((Vec::new(), None, None));
        }
        let members = store::group_members(self.db(), viewer, group_key, bounds).await?;
        let newest = members.first().map(|n| n.id);
        let oldest = members.last().map(|n| n.id);
        let views = self.notification_views(viewer, members).await?;
        Ok((
            views.into_iter().map(|v| v.account).collect(),
            newest,
            oldest,
        ))
    }

    async fn grouped_page(
        &self,
        viewer: AccountId,
        reps: Vec<Notification>,
    ) -> Result<GroupedPage> {
        if reps.is_empty() {
            return Ok(GroupedPage::default());
        }
        let newest_id = reps.first().map(|n| n.id);
        let oldest_id = reps.last().map(|n| n.id);
        let range_end = newest_id.unwrap_or(i64::MAX);
        let range_begin = oldest_id.unwrap_or(0);
        let keys: Vec<String> = reps.iter().filter_map(|n| n.group_key.clone()).collect();
        let summaries: HashMap<String, GroupSummary> =
            store::group_summaries(self.db(), viewer, &keys, range_begin, range_end, 8)
                .await?
                .into_iter()
                .collect();
        let mut groups = Vec::with_capacity(reps.len());
        let mut account_ids: Vec<AccountId> = Vec::new();
        let mut status_ids: Vec<StatusId> = Vec::new();
        for n in &reps {
            let group = match n.group_key.as_ref().and_then(|k| summaries.get(k)) {
                Some(s) if s.count > 0 => GroupView {
                    group_key: group_key_of(n),
                    kind: n.kind.clone(),
                    count: s.count,
                    most_recent_id: s.most_recent_id,
                    page_min_id: if s.page_min_id > 0 {
                        s.page_min_id
                    } else {
                        n.id
                    },
                    page_max_id: s.most_recent_id,
                    latest_at: s.latest_at.unwrap_or(n.created_at),
                    sample_account_ids: s
                        .sample_account_ids
                        .iter()
                        .map(|a| AccountId(*a))
                        .collect(),
                    status_id: n.status_id.map(StatusId),
                },
                _ => GroupView {
                    group_key: group_key_of(n),
                    kind: n.kind.clone(),
                    count: 1,
                    most_recent_id: n.id,
                    page_min_id: n.id,
                    page_max_id: n.id,
                    latest_at: n.created_at,
                    sample_account_ids: vec![n.from_account_id],
                    status_id: n.status_id.map(StatusId),
                },
            };
            for a in &group.sample_account_ids {
                if !account_ids.contains(a) {
                    account_ids.push(*a);
                }
            }
            if let Some(s) = group.status_id
                && !status_ids.contains(&s)
            {
                status_ids.push(s);
            }
            groups.push(group);
        }
        let mut accounts = accounts::get_many(self.db(), &account_ids).await?;
        accounts.sort_by_key(|a| account_ids.iter().position(|id| *id == a.id));
        accounts.retain(|a| a.suspended_at.is_none());
        let views = self.hydrate_ids(Some(viewer), &status_ids).await?;
        let statuses = self.visible(Some(viewer), views, Hide::Nothing).await?;
        // Groups about a status the recipient may not see, or whose senders
        // are all suspended, are left out (as their notifications would be).
        groups.retain(|g| {
            g.status_id
                .is_none_or(|id| statuses.iter().any(|s| s.status.id == id))
                && g.sample_account_ids
                    .iter()
                    .any(|a| accounts.iter().any(|known| known.id == *a))
        });
        Ok(GroupedPage {
            groups,
            accounts,
            statuses,
            newest_id,
            oldest_id,
        })
    }

    /// `GET /api/v1/markers`.
    pub async fn markers(&self, viewer: AccountId, timelines: &[String]) -> Result<Vec<Marker>> {
        let known: Vec<&str> = timelines
            .iter()
            .map(String::as_str)
            .filter(|t| matches!(*t, "home" | "notifications"))
            .collect();
        Ok(store::markers(self.db(), viewer, &known).await?)
    }

    /// `POST /api/v1/markers`: (timeline, last read id) pairs; unknown timelines are ignored.
    pub async fn save_markers(
        &self,
        viewer: AccountId,
        positions: &[(String, i64)],
    ) -> Result<Vec<Marker>> {
        let now = ferrodon_storage::now();
        let mut out = Vec::new();
        for (timeline, id) in positions {
            if matches!(timeline.as_str(), "home" | "notifications") {
                out.push(store::save_marker(self.db(), viewer, timeline, *id, now).await?);
            }
        }
        Ok(out)
    }
}
