//! Timelines: home (from the feed store), public, hashtag and an account's statuses.

use ferrodon_model::{AccountId, Page, PageBounds, StatusId};
use ferrodon_storage::feeds::{FeedEntry, HOME_FEED_MAX};
use ferrodon_storage::statuses::{self, AccountTimeline, Audience, Locality, Status, TagQuery};
use ferrodon_storage::{follows, tags};

use crate::views::StatusView;
use crate::visibility::Hide;
use crate::{Result, Services};

/// Most names per mode of a hashtag timeline.
const TAG_MODE_LIMIT: usize = 4;

/// The extra tags of a hashtag timeline.
#[derive(Debug, Clone, Default)]
pub struct TagFilter {
    pub any: Vec<String>,
    pub all: Vec<String>,
    pub none: Vec<String>,
}

/// Options of an account's statuses list.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccountStatusesOptions {
    pub exclude_replies: bool,
    pub exclude_reblogs: bool,
    pub only_media: bool,
    pub pinned: bool,
}

impl Services {
    /// Rebuilds `account`'s home feed from the database.
    pub(crate) async fn rebuild_home(&self, account: AccountId) -> Result<()> {
        let rows =
            statuses::home(self.db(), account, &PageBounds::first(HOME_FEED_MAX as u32)).await?;
        let entries: Vec<FeedEntry> = rows
            .into_iter()
            .map(|(id, reblog_of)| FeedEntry {
                status_id: StatusId(id),
                reblog_of_id: reblog_of.map(StatusId),
            })
            .collect();
        self.feeds().merge(account, &entries).await?;
        self.feeds().mark_built(account).await?;
        Ok(())
    }

    /// `GET /api/v1/timelines/home`. A missing feed is rebuilt first, never
    /// served empty; past the feed's end, older statuses come from the database.
    ///
    /// The page's cursors come from the feed entries read, not from the
    /// statuses left after filtering, so an entry that is dropped (a status
    /// deleted while its removal from feeds is still queued, a muted author)
    /// never ends a client's paging early; `next_max_id` is set only when the
    /// feed gave a full page, as Mastodon links `next` only then.
    pub async fn home_timeline(
        &self,
        account: AccountId,
        bounds: &PageBounds,
    ) -> Result<Page<StatusView>> {
        let (ids, views) = self.home_entries(account, bounds).await?;
        let full = ids.len() >= bounds.limit as usize;
        Ok(Page {
            items: views,
            next_max_id: ids.iter().map(|id| id.0).min().filter(|_| full),
            prev_min_id: ids.iter().map(|id| id.0).max(),
        })
    }

    /// The entries of a home page and what is shown of them.
    async fn home_entries(
        &self,
        account: AccountId,
        bounds: &PageBounds,
    ) -> Result<(Vec<StatusId>, Vec<StatusView>)> {
        let from_feed = async {
            if !self.feeds().exists(account).await? {
                self.rebuild_home(account).await?;
            }
            Ok::<_, crate::ServiceError>(self.feeds().page(account, bounds).await?)
        }
        .await;
        let mut ids = match from_feed {
            Ok(ids) => ids,
            Err(e) => {
                // The feed store (Redis) is unreachable: read from the database instead.
                tracing::warn!(error = %e, "home feed unavailable; reading from the database");
                let rows = statuses::home(self.db(), account, bounds).await?;
                let ids: Vec<StatusId> = rows.iter().map(|(id, _)| StatusId(*id)).collect();
                let views = self.hydrate_ids(Some(account), &ids).await?;
                let views = self
                    .visible(Some(account), views, Hide::HiddenAuthors)
                    .await?;
                return Ok((ids, self.drop_exclusive(account, views).await?));
            }
        };
        if ids.len() < bounds.limit as usize && !bounds.ascending() {
            let older_than = ids.last().map(|id| id.0).or(bounds.max_id);
            let rest = PageBounds {
                max_id: older_than,
                since_id: bounds.since_id,
                min_id: None,
                limit: bounds.limit - ids.len() as u32,
            };
            for (id, _) in statuses::home(self.db(), account, &rest).await? {
                if !ids.contains(&StatusId(id)) {
                    ids.push(StatusId(id));
                }
            }
        }
        // The feed holds what fan-out delivered; whether it may still be
        // seen (a suspended author, a block, an edit) is decided now.
        let views = self.hydrate_ids(Some(account), &ids).await?;
        let views = self
            .visible(Some(account), views, Hide::HiddenAuthors)
            .await?;
        // Members of exclusive lists stay out, whatever the feed holds.
        Ok((ids, self.drop_exclusive(account, views).await?))
    }

    /// `GET /api/v1/timelines/public`.
    pub async fn public_timeline(
        &self,
        viewer: Option<AccountId>,
        locality: Locality,
        only_media: bool,
        bounds: &PageBounds,
    ) -> Result<Vec<StatusView>> {
        let list = statuses::public_with(self.db(), locality, only_media, bounds).await?;
        self.hydrate_visible(viewer, list).await
    }

    /// `GET /api/v1/timelines/tag/:hashtag`, with `any[]`, `all[]` and
    /// `none[]` (at most four names each, as Mastodon).
    pub async fn tag_timeline(
        &self,
        viewer: Option<AccountId>,
        name: &str,
        filter: &TagFilter,
        locality: Locality,
        only_media: bool,
        bounds: &PageBounds,
    ) -> Result<Vec<StatusView>> {
        let find = |names: &[String]| {
            let keys: Vec<String> = names
                .iter()
                .take(TAG_MODE_LIMIT)
                .map(|n| crate::text::normalize_hashtag(n.trim_start_matches('#')))
                .filter(|n| !n.is_empty())
                .collect();
            async move { tags::find_many(self.db(), &keys).await.map(|t| (keys, t)) }
        };
        let main = crate::text::normalize_hashtag(name.trim_start_matches('#'));
        let (_, mut any) = find(std::slice::from_ref(&main)).await?;
        if any.is_empty() {
            return Ok(Vec::new());
        }
        any.extend(find(&filter.any).await?.1);
        let (all_keys, all) = find(&filter.all).await?;
        if all.len()
            < all_keys
                .iter()
                .collect::<std::collections::HashSet<_>>()
                .len()
        {
            // A required tag nobody used: nothing can match.
            return Ok(Vec::new());
        }
        let none = find(&filter.none).await?.1;
        let mut any_ids: Vec<_> = any.iter().map(|t| t.id).collect();
        any_ids.sort_unstable_by_key(|t| t.0);
        any_ids.dedup();
        let query = TagQuery {
            any: any_ids,
            all: all.iter().map(|t| t.id).collect(),
            none: none.iter().map(|t| t.id).collect(),
            only_media,
        };
        let list = statuses::by_tag(self.db(), &query, locality, bounds).await?;
        self.hydrate_visible(viewer, list).await
    }

    /// `GET /api/v1/accounts/:id/statuses`: what `viewer` may see of the account.
    pub async fn account_statuses(
        &self,
        viewer: Option<AccountId>,
        account: AccountId,
        options: AccountStatusesOptions,
        bounds: &PageBounds,
    ) -> Result<Vec<StatusView>> {
        let owner = self.account(account).await?;
        if owner.suspended_at.is_some() || self.blocked_by_author(viewer, account).await? {
            return Ok(Vec::new());
        }
        if options.pinned {
            let pins = self
                .marked_statuses(viewer, account, ferrodon_storage::marks::Mark::Pin, bounds)
                .await?;
            return Ok(pins.items);
        }
        let audience = match viewer {
            Some(v) if v == account => Audience::Author,
            Some(v) if follows::follows(self.db(), v, account).await? => Audience::Follower(v),
            other => Audience::Anyone(other),
        };
        let list = statuses::by_account(
            self.db(),
            account,
            audience,
            AccountTimeline {
                exclude_replies: options.exclude_replies,
                exclude_reblogs: options.exclude_reblogs,
                only_media: options.only_media,
            },
            bounds,
        )
        .await?;
        let views = self.hydrate(viewer, list).await?;
        self.visible(viewer, views, Hide::HiddenReblogged).await
    }

    /// Hydrates statuses of a public list (public, hashtag and link
    /// timelines, trends): what the reader may see, without authors they
    /// hide or silenced authors.
    pub(crate) async fn hydrate_visible(
        &self,
        viewer: Option<AccountId>,
        list: Vec<Status>,
    ) -> Result<Vec<StatusView>> {
        let views = self.hydrate(viewer, list).await?;
        self.visible(viewer, views, Hide::HiddenAndSilenced).await
    }
}
