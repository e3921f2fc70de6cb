//! Hashtags as things of their own: usage history, following a hashtag
//! (its public statuses reach the home feed) and featuring hashtags on a
//! profile.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, TimeZone, Utc};
use ferrodon_model::{AccountId, Page, PageBounds, Snowflake, StatusId, TagId};
use ferrodon_storage::relations;
use ferrodon_storage::statuses::Status;
use ferrodon_storage::tags::{self, FeaturedTag, Tag, TagRelation};

use crate::text;
use crate::{Result, ServiceError, Services};

/// Days of history a Tag carries.
const HISTORY_DAYS: i64 = 7;
/// Uses read per history computation (a bound on a very busy tag's cost).
const HISTORY_ROWS: i64 = 50_000;
/// Most hashtags one account may feature (Mastodon's `FeaturedTag::LIMIT`).
pub const FEATURED_TAGS_LIMIT: usize = 10;
/// Tag followers handled per feed write.
const TAG_FAN_OUT_BATCH: i64 = 1000;

/// Uses of a tag on one day (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayUses {
    /// Midnight UTC, as a Unix timestamp.
    pub day: i64,
    pub uses: i64,
    pub accounts: i64,
}

/// A hashtag as a reader sees it.
#[derive(Debug, Clone)]
pub struct TagView {
    /// `None` when nobody used the tag yet.
    pub id: Option<TagId>,
    /// The name as first written.
    pub name: String,
    /// Newest day first.
    pub history: Vec<DayUses>,
    /// Viewer-relative; `None` without a signed-in viewer.
    pub following: Option<bool>,
    pub featuring: Option<bool>,
}

/// A hashtag featured on a profile.
#[derive(Debug, Clone)]
pub struct FeaturedTagView {
    pub id: i64,
    pub name: String,
    pub statuses_count: i64,
    pub last_status_at: Option<DateTime<Utc>>,
}

impl From<FeaturedTag> for FeaturedTagView {
    fn from(f: FeaturedTag) -> Self {
        FeaturedTagView {
            id: f.relation_id,
            name: f.tag.display_name,
            statuses_count: f.statuses_count,
            last_status_at: f.last_status_at,
        }
    }
}

/// The normalised key of a hashtag name from a path or form, or `None`
/// when it is not one hashtag (Mastodon answers 404 or 422 then).
pub(crate) fn tag_key(raw: &str) -> Option<(String, String)> {
    let name = raw.trim().trim_start_matches('#');
    let found = text::extract(&format!("#{name}"), "");
    match found.hashtags.as_slice() {
        [only] if only == name => Some((text::normalize_hashtag(name), name.to_owned())),
        _ => None,
    }
}

pub(crate) fn midnight(t: DateTime<Utc>) -> DateTime<Utc> {
    let d = t.date_naive();
    Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
}

/// Uses and distinct accounts per item and UTC day, gathered from single
/// uses, then read back as a history of `days` days ending today.
#[derive(Debug, Default)]
pub(crate) struct DailyUses {
    /// item → day → (uses, accounts)
    by_item: HashMap<i64, HashMap<i64, (i64, HashSet<i64>)>>,
}

impl DailyUses {
    pub(crate) fn add(&mut self, item: i64, at: DateTime<Utc>, account: i64) {
        let slot = self
            .by_item
            .entry(item)
            .or_default()
            .entry(midnight(at).timestamp())
            .or_default();
        slot.0 += 1;
        slot.1.insert(account);
    }

    /// `item`'s last `days` days, today first.
    pub(crate) fn history(&self, item: i64, today: DateTime<Utc>, days: i64) -> Vec<DayUses> {
        let found = self.by_item.get(&item);
        (0..days)
            .map(|back| {
                let day = (today - Duration::days(back)).timestamp();
                let (uses, accounts) = found
                    .and_then(|d| d.get(&day))
                    .map_or((0, 0), |(n, who)| (*n, who.len() as i64));
                DayUses {
                    day,
                    uses,
                    accounts,
                }
            })
            .collect()
    }
}

impl Services {
    /// Tag views for `tags`, with history and (for a viewer) following/featuring.
    pub(crate) async fn tag_views(
        &self,
        viewer: Option<AccountId>,
        tags: Vec<Tag>,
    ) -> Result<Vec<TagView>> {
        let db = self.db();
        let ids: Vec<TagId> = tags.iter().map(|t| t.id).collect();
        let today = midnight(ferrodon_storage::now());
        let first_day = today - Duration::days(HISTORY_DAYS - 1);
        let uses = tags::uses_since(
            db,
            &ids,
            StatusId(Snowflake::lower_bound_at(first_day).0),
            HISTORY_ROWS,
        )
        .await?;
        let mut daily = DailyUses::default();
        for u in uses {
            daily.add(u.tag_id, u.created_at, u.account_id);
        }
        let (following, featuring): (HashSet<i64>, HashSet<i64>) = match viewer {
            Some(v) => (
                tags::related_among(db, TagRelation::Follow, v, &ids)
                    .await?
                    .into_iter()
                    .collect(),
                tags::related_among(db, TagRelation::Feature, v, &ids)
                    .await?
                    .into_iter()
                    .collect(),
            ),
            None => Default::default(),
        };
        Ok(tags
            .into_iter()
            .map(|t| {
                let history = daily.history(t.id.0, today, HISTORY_DAYS);
                TagView {
                    id: Some(t.id),
                    name: t.display_name,
                    history,
                    following: viewer.map(|_| following.contains(&t.id.0)),
                    featuring: viewer.map(|_| featuring.contains(&t.id.0)),
                }
            })
            .collect())
    }

    /// `GET /api/v1/tags/:name`: a tag nobody used yet still answers (no id, empty history).
    pub async fn tag(&self, viewer: Option<AccountId>, name: &str) -> Result<TagView> {
        let (key, display) = tag_key(name).ok_or_else(ServiceError::not_found)?;
        match tags::find(self.db(), &key).await? {
            Some(tag) => self
                .tag_views(viewer, vec![tag])
                .await?
                .pop()
                .ok_or_else(ServiceError::not_found),
            None => {
                let today = midnight(ferrodon_storage::now());
                Ok(TagView {
                    id: None,
                    name: display,
                    history: (0..HISTORY_DAYS)
                        .map(|back| DayUses {
                            day: (today - Duration::days(back)).timestamp(),
                            uses: 0,
                            accounts: 0,
                        })
                        .collect(),
                    following: viewer.map(|_| false),
                    featuring: viewer.map(|_| false),
                })
            }
        }
    }

    /// The tag named `name` (created if new), or 404 for a name that is no hashtag.
    async fn tag_for_action(&self, name: &str) -> Result<Tag> {
        let (key, display) = tag_key(name).ok_or_else(ServiceError::not_found)?;
        let mut tx = self.db().begin().await?;
        let tag = tags::find_or_create(&mut tx, self.ids(), &key, &display).await?;
        tx.commit().await?;
        Ok(tag)
    }

    /// `POST /api/v1/tags/:name/follow` and `/unfollow`.
    pub async fn follow_tag(&self, viewer: AccountId, name: &str, follow: bool) -> Result<TagView> {
        let tag = self.tag_for_action(name).await?;
        if follow {
            tags::relate(
                self.db(),
                TagRelation::Follow,
                self.ids().next().0,
                viewer,
                tag.id,
            )
            .await?;
        } else {
            tags::unrelate(self.db(), TagRelation::Follow, viewer, tag.id).await?;
        }
        self.tag(Some(viewer), &tag.display_name).await
    }

    /// `GET /api/v1/followed_tags`: newest follow first, paged by the follow id.
    pub async fn followed_tags(
        &self,
        viewer: AccountId,
        bounds: &PageBounds,
    ) -> Result<Page<TagView>> {
        let rows = tags::followed(self.db(), viewer, bounds).await?;
        let page = Page::from_items(rows, |r| r.relation_id);
        let views = self
            .tag_views(
                Some(viewer),
                page.items.iter().map(|r| r.tag.clone()).collect(),
            )
            .await?;
        Ok(Page {
            items: views,
            next_max_id: page.next_max_id,
            prev_min_id: page.prev_min_id,
        })
    }

    /// `GET /api/v1/featured_tags` and `/api/v1/accounts/:id/featured_tags`.
    pub async fn featured_tags(&self, account: AccountId) -> Result<Vec<FeaturedTagView>> {
        let owner = self.account(account).await?;
        if owner.suspended_at.is_some() {
            return Ok(Vec::new());
        }
        Ok(tags::featured(self.db(), account)
            .await?
            .into_iter()
            .map(FeaturedTagView::from)
            .collect())
    }

    /// `POST /api/v1/featured_tags` (and `/api/v1/tags/:name/feature`, which
    /// answers with the tag instead).
    pub async fn feature_tag(&self, viewer: AccountId, name: &str) -> Result<FeaturedTagView> {
        let name = name.trim().trim_start_matches('#');
        if name.is_empty() {
            return Err(ServiceError::invalid("Name can't be blank"));
        }
        let Some((key, display)) = tag_key(name) else {
            return Err(ServiceError::invalid("Name is invalid"));
        };
        let current = tags::featured(self.db(), viewer).await?;
        if current.iter().any(|f| f.tag.name == key) {
            return Err(ServiceError::invalid("Name has already been taken"));
        }
        if current.len() >= FEATURED_TAGS_LIMIT {
            return Err(ServiceError::invalid(
                "You have already featured the maximum number of hashtags",
            ));
        }
        let mut tx = self.db().begin().await?;
        let tag = tags::find_or_create(&mut tx, self.ids(), &key, &display).await?;
        tags::relate(
            &mut tx,
            TagRelation::Feature,
            self.ids().next().0,
            viewer,
            tag.id,
        )
        .await?;
        tx.commit().await?;
        // A concurrent unfeature may have removed it again since the commit:
        // then it is gone, as for any record deleted meanwhile.
        tags::featured(self.db(), viewer)
            .await?
            .into_iter()
            .find(|f| f.tag.id == tag.id)
            .map(FeaturedTagView::from)
            .ok_or_else(ServiceError::not_found)
    }

    /// `DELETE /api/v1/featured_tags/:id`.
    pub async fn unfeature_tag(&self, viewer: AccountId, id: i64) -> Result<()> {
        tags::unfeature_by_id(self.db(), viewer, id)
            .await?
            .ok_or_else(ServiceError::not_found)?;
        Ok(())
    }

    /// `POST /api/v1/tags/:name/feature` and `/unfeature` (Mastodon 4.4).
    pub async fn feature_tag_by_name(
        &self,
        viewer: AccountId,
        name: &str,
        feature: bool,
    ) -> Result<TagView> {
        let tag = self.tag_for_action(name).await?;
        if feature {
            let already =
                tags::related_among(self.db(), TagRelation::Feature, viewer, &[tag.id]).await?;
            if already.is_empty() {
                match self.feature_tag(viewer, &tag.display_name).await {
                    // Unfeatured again by a concurrent request: the answer
                    // below shows the state as it is.
                    Ok(_) | Err(ServiceError::NotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        } else {
            tags::unrelate(self.db(), TagRelation::Feature, viewer, tag.id).await?;
        }
        self.tag(Some(viewer), &tag.display_name).await
    }

    /// `GET /api/v1/featured_tags/suggestions`: the viewer's most used tags not featured yet.
    pub async fn featured_tag_suggestions(&self, viewer: AccountId) -> Result<Vec<TagView>> {
        let db = self.db();
        let used = tags::most_used_by(db, viewer, 10 + FEATURED_TAGS_LIMIT as i64).await?;
        let ids: Vec<TagId> = used.iter().map(|(t, _)| TagId(*t)).collect();
        let featured: HashSet<i64> = tags::related_among(db, TagRelation::Feature, viewer, &ids)
            .await?
            .into_iter()
            .collect();
        let wanted: Vec<TagId> = ids
            .into_iter()
            .filter(|t| !featured.contains(&t.0))
            .take(10)
            .collect();
        let mut found = tags::get_many(db, &wanted).await?;
        found.sort_by_key(|t| wanted.iter().position(|w| *w == t.id));
        self.tag_views(Some(viewer), found).await
    }

    /// Puts a new public status into the home feeds of local accounts that
    /// follow one of its hashtags (unless they hide its author).
    pub(crate) async fn deliver_to_tag_followers(&self, status: &Status) -> Result<()> {
        let db = self.db();
        let tag_ids: Vec<TagId> = tags::of_statuses(db, &[status.id])
            .await?
            .into_iter()
            .map(|t| t.tag.id)
            .collect();
        if tag_ids.is_empty() {
            return Ok(());
        }
        let mut after = 0;
        loop {
            let batch = tags::local_followers(db, &tag_ids, after, TAG_FAN_OUT_BATCH).await?;
            let Some(last) = batch.last().copied() else {
                break;
            };
            after = last;
            let candidates: Vec<AccountId> = batch
                .iter()
                .map(|a| AccountId(*a))
                .filter(|a| *a != status.account_id)
                .collect();
            let hiding: HashSet<i64> = relations::hiding_author(
                db,
                status.account_id,
                &candidates,
                ferrodon_storage::now(),
            )
            .await?
            .into_iter()
            .collect();
            let recipients: Vec<AccountId> = candidates
                .into_iter()
                .filter(|a| !hiding.contains(&a.0))
                .collect();
            self.feeds()
                .push(
                    &recipients,
                    ferrodon_storage::feeds::FeedEntry {
                        status_id: status.id,
                        reblog_of_id: None,
                    },
                )
                .await?;
            if (batch.len() as i64) < TAG_FAN_OUT_BATCH {
                break;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::tag_key;

    #[test]
    fn tag_names_from_paths() {
        assert_eq!(
            tag_key("#Rust"),
            Some(("rust".to_owned(), "Rust".to_owned()))
        );
        assert_eq!(tag_key("Café").map(|(k, _)| k), Some("cafe".to_owned()));
        for bad in ["", "#", "two words", "123", "a-b", "tag!"] {
            assert!(tag_key(bad).is_none(), "{bad:?} accepted");
        }
    }
}
