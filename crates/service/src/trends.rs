//! Trends: hashtags, statuses and links (preview cards) scored by the
//! `trends` tick, as Mastodon scores them, and read by `/api/v1/trends/*`.
//!
//! Hashtags (and links) compare today's distinct accounts with yesterday's
//! (`(observed − expected)² / expected` once at least five accounts took
//! part and more than yesterday), remember the peak for two days and decay
//! from it. Statuses score their reblogs and favourites the same way against
//! an expectation of one, decaying with the status's age. Unlike Mastodon,
//! nothing waits for a moderator's review: everything that scores trends.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use ferrodon_jobs::{Job, JobError, JobKind, Queue};
use ferrodon_model::{AccountId, Snowflake, StatusId, TagId};
use ferrodon_storage::preview_cards::{self, CardType, PreviewCard};
use ferrodon_storage::trends::{self, Trend, TrendKind};
use ferrodon_storage::{statuses, tags};
use serde::{Deserialize, Serialize};

use crate::tags::{DailyUses, DayUses, TagView, midnight};
use crate::views::StatusView;
use crate::{Result, Services};

/// Mastodon's `Trends::Tags` options.
const TAG_RULE: PeakRule = PeakRule {
    threshold: 5.0,
    cooldown_hours: 48,
    halflife_hours: 4.0,
    decay_threshold: 1.0,
};

/// Mastodon's `Trends::Links` options.
const LINK_RULE: PeakRule = PeakRule {
    threshold: 5.0,
    cooldown_hours: 48,
    halflife_hours: 8.0,
    decay_threshold: 1.0,
};

/// Days of history a trending link carries (as a hashtag's).
const LINK_HISTORY_DAYS: i64 = 7;

/// Mastodon's `Trends::Statuses` options.
const STATUS_THRESHOLD: i64 = 5;
const STATUS_HALFLIFE_HOURS: f64 = 2.0;
const STATUS_DECAY_THRESHOLD: f64 = 0.3;
/// How far back statuses are considered: beyond three days a status needs
/// about 150,000 interactions to stay above the decay threshold.
const STATUS_WINDOW_DAYS: i64 = 3;

/// How a score built from daily distinct accounts rises and decays.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PeakRule {
    /// Fewest accounts today for any score.
    threshold: f64,
    /// How long a peak is remembered.
    cooldown_hours: i64,
    /// Half-life of the decay from the peak.
    halflife_hours: f64,
    /// Below this the item is not trending.
    decay_threshold: f64,
}

fn spike(observed: f64, expected: f64, threshold: f64) -> f64 {
    let expected = if expected <= 0.0 { 1.0 } else { expected };
    if expected > observed || observed < threshold {
        0.0
    } else {
        (observed - expected).powi(2) / expected
    }
}

fn halved(score: f64, elapsed: Duration, halflife_hours: f64) -> f64 {
    let hours = elapsed.num_milliseconds().max(0) as f64 / 3_600_000.0;
    score * 0.5_f64.powf(hours / halflife_hours)
}

/// The item's new state from today's and yesterday's distinct accounts and
/// its previous state; `None` when there is nothing to remember.
pub(crate) fn peak_score(
    rule: &PeakRule,
    item_id: i64,
    observed: i64,
    expected: i64,
    previous: Option<&Trend>,
    now: DateTime<Utc>,
) -> Option<Trend> {
    let score = spike(observed as f64, expected as f64, rule.threshold);
    let cutoff = now - Duration::hours(rule.cooldown_hours);
    let (mut max_score, mut max_at) = previous
        .filter(|p| p.max_score_at >= cutoff)
        .map_or((0.0, now), |p| (p.max_score, p.max_score_at));
    if score > max_score {
        max_score = score;
        max_at = now;
    }
    if max_score <= 0.0 {
        return None;
    }
    let decaying = halved(max_score, now - max_at, rule.halflife_hours);
    Some(Trend {
        item_id,
        score: if decaying >= rule.decay_threshold {
            decaying
        } else {
            0.0
        },
        max_score,
        max_score_at: max_at,
        language: previous.and_then(|p| p.language.clone()),
    })
}

/// A status's score from its interactions and age; `None` when it does not trend.
pub(crate) fn status_score(interactions: i64, age: Duration) -> Option<f64> {
    if interactions < STATUS_THRESHOLD {
        return None;
    }
    let score = halved(
        spike(interactions as f64, 1.0, STATUS_THRESHOLD as f64),
        age,
        STATUS_HALFLIFE_HOURS,
    );
    (score >= STATUS_DECAY_THRESHOLD).then_some(score)
}

/// The first status id at or after `t`.
fn id_at(t: DateTime<Utc>) -> StatusId {
    StatusId(Snowflake::lower_bound_at(t).0)
}

/// Scores every item in `observed` ∪ `previous` by [`peak_score`].
pub(crate) fn score_peaks(
    rule: &PeakRule,
    observed: &HashMap<i64, i64>,
    expected: &HashMap<i64, i64>,
    previous: Vec<Trend>,
    now: DateTime<Utc>,
) -> Vec<Trend> {
    let previous: HashMap<i64, Trend> = previous.into_iter().map(|t| (t.item_id, t)).collect();
    let ids: HashSet<i64> = observed.keys().chain(previous.keys()).copied().collect();
    ids.into_iter()
        .filter_map(|id| {
            peak_score(
                rule,
                id,
                observed.get(&id).copied().unwrap_or(0),
                expected.get(&id).copied().unwrap_or(0),
                previous.get(&id),
                now,
            )
        })
        .collect()
}

/// Puts `found` in the order of `ids`, leaving out ids not found.
fn in_order<T>(ids: &[i64], found: Vec<T>, id_of: impl Fn(&T) -> i64) -> Vec<T> {
    let mut by_id: HashMap<i64, T> = found.into_iter().map(|t| (id_of(&t), t)).collect();
    ids.iter().filter_map(|id| by_id.remove(id)).collect()
}

impl Services {
    fn trends_enabled(&self) -> bool {
        self.instance().trends
    }

    /// Recomputes every trend (the `trends` tick).
    pub async fn refresh_trends(&self) -> Result<()> {
        if !self.trends_enabled() {
            return Ok(());
        }
        let db = self.db();
        let now = ferrodon_storage::now();
        let today = midnight(now);
        let yesterday = today - Duration::days(1);
        let counts = |from, to| async move {
            trends::tag_accounts(db, id_at(from), to)
                .await
                .map(|rows| rows.into_iter().collect::<HashMap<i64, i64>>())
        };
        let observed = counts(today, StatusId(i64::MAX)).await?;
        let expected = counts(yesterday, id_at(today)).await?;
        let previous = trends::all(db, TrendKind::Tag).await?;
        let tag_trends = score_peaks(&TAG_RULE, &observed, &expected, previous, now);

        let candidates = trends::status_candidates(
            db,
            id_at(now - Duration::days(STATUS_WINDOW_DAYS)),
            STATUS_THRESHOLD,
        )
        .await?;
        let status_trends: Vec<Trend> = candidates
            .into_iter()
            .filter_map(|c| {
                let score = status_score(c.interactions, now - c.created_at)?;
                Some(Trend {
                    item_id: c.id,
                    score,
                    max_score: score,
                    max_score_at: c.created_at,
                    language: c.language,
                })
            })
            .collect();

        let link_trends = self.score_links(today, yesterday, now).await?;

        let mut tx = db.begin().await?;
        trends::replace(&mut tx, TrendKind::Tag, &tag_trends, now).await?;
        trends::replace(&mut tx, TrendKind::Status, &status_trends, now).await?;
        trends::replace(&mut tx, TrendKind::Link, &link_trends, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Links: distinct accounts sharing each card today against yesterday,
    /// for cards Mastodon finds fit (`PreviewCard#appropriate_for_trends?`:
    /// an article link with a title, description, image and provider).
    async fn score_links(
        &self,
        today: DateTime<Utc>,
        yesterday: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Trend>> {
        let db = self.db();
        let counts = |from: DateTime<Utc>, to: StatusId| async move {
            preview_cards::share_accounts(db, id_at(from).0, to.0)
                .await
                .map(|rows| rows.into_iter().collect::<HashMap<i64, i64>>())
        };
        let mut observed = counts(today, StatusId(i64::MAX)).await?;
        let mut expected = counts(yesterday, id_at(today)).await?;
        let mut card_ids: Vec<i64> = observed.keys().chain(expected.keys()).copied().collect();
        card_ids.sort_unstable();
        card_ids.dedup();
        let fit: HashMap<i64, PreviewCard> = preview_cards::get_many(db, &card_ids)
            .await?
            .into_iter()
            .filter(appropriate_for_trends)
            .map(|c| (c.id, c))
            .collect();
        observed.retain(|id, _| fit.contains_key(id));
        expected.retain(|id, _| fit.contains_key(id));
        let previous = trends::all(db, TrendKind::Link).await?;
        let mut scored = score_peaks(&LINK_RULE, &observed, &expected, previous, now);
        for t in &mut scored {
            if let Some(card) = fit.get(&t.item_id) {
                t.language = card.language.clone();
            }
        }
        Ok(scored)
    }

    /// `GET /api/v1/trends/tags`: the trending hashtags, highest score first.
    pub async fn trending_tags(
        &self,
        viewer: Option<AccountId>,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<TagView>> {
        if !self.trends_enabled() {
            return Ok(Vec::new());
        }
        let ids = trends::top(self.db(), TrendKind::Tag, offset, limit).await?;
        let tag_ids: Vec<TagId> = ids.iter().map(|id| TagId(*id)).collect();
        let found = tags::get_many(self.db(), &tag_ids).await?;
        self.tag_views(viewer, in_order(&ids, found, |t| t.id.0))
            .await
    }

    /// `GET /api/v1/trends/statuses`: the trending statuses the viewer may
    /// see, highest score first.
    pub async fn trending_statuses(
        &self,
        viewer: Option<AccountId>,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<StatusView>> {
        if !self.trends_enabled() {
            return Ok(Vec::new());
        }
        let ids = trends::top(self.db(), TrendKind::Status, offset, limit).await?;
        let status_ids: Vec<StatusId> = ids.iter().map(|id| StatusId(*id)).collect();
        let found = statuses::get_many(self.db(), &status_ids).await?;
        self.hydrate_visible(viewer, in_order(&ids, found, |s| s.id.0))
            .await
    }
}

/// `GET /api/v1/trends/links`: the trending links, highest score first, each
/// with a week of daily shares (uses) and distinct sharers (accounts).
impl Services {
    pub async fn trending_links(&self, offset: i64, limit: i64) -> Result<Vec<TrendingLink>> {
        if !self.trends_enabled() {
            return Ok(Vec::new());
        }
        let db = self.db();
        let ids = trends::top(db, TrendKind::Link, offset, limit).await?;
        let cards = in_order(&ids, preview_cards::get_many(db, &ids).await?, |c| c.id);
        let today = midnight(ferrodon_storage::now());
        let first_day = today - Duration::days(LINK_HISTORY_DAYS - 1);
        let shares = preview_cards::shares_of(db, &ids, id_at(first_day).0).await?;
        let mut daily = DailyUses::default();
        for s in shares {
            daily.add(s.preview_card_id, s.created_at, s.account_id.0);
        }
        Ok(cards
            .into_iter()
            .map(|card| {
                let history = daily.history(card.id, today, LINK_HISTORY_DAYS);
                TrendingLink { card, history }
            })
            .collect())
    }
}

/// A trending link: its card and a week of shares, newest day first.
#[derive(Debug, Clone)]
pub struct TrendingLink {
    pub card: PreviewCard,
    pub history: Vec<DayUses>,
}

/// Mastodon's `PreviewCard#appropriate_for_trends?`.
fn appropriate_for_trends(c: &PreviewCard) -> bool {
    c.card_type() == CardType::Link
        && c.is_article()
        && !c.title.trim().is_empty()
        && !c.description.trim().is_empty()
        && c.image_url.as_deref().is_some_and(|u| !u.is_empty())
        && !c.provider_name.trim().is_empty()
}

/// Recomputes the trends; one per tick slot.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshTrends {
    pub slot: i64,
}

impl JobKind for RefreshTrends {
    const KIND: &'static str = "refresh_trends";
    const QUEUE: Queue = Queue::Scheduler;
    fn unique_key(&self) -> Option<String> {
        Some(self.slot.to_string())
    }
}

impl Job for RefreshTrends {
    type Context = Services;

    async fn run(&self, services: &Services) -> std::result::Result<(), JobError> {
        services.refresh_trends().await?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap() + Duration::hours(h)
    }

    #[test]
    fn a_tag_needs_five_accounts_and_more_than_yesterday() {
        assert!(peak_score(&TAG_RULE, 1, 4, 0, None, at(0)).is_none());
        assert!(peak_score(&TAG_RULE, 1, 6, 7, None, at(0)).is_none());
        let t = peak_score(&TAG_RULE, 1, 5, 0, None, at(0)).unwrap();
        // Yesterday's zero counts as one: (5 − 1)² / 1.
        assert_eq!(t.score, 16.0);
        assert_eq!(t.max_score, 16.0);
        let t = peak_score(&TAG_RULE, 1, 12, 4, None, at(0)).unwrap();
        assert_eq!(t.score, 16.0);
    }

    #[test]
    fn a_tag_decays_from_its_peak_and_is_forgotten_after_the_cooldown() {
        let peak = peak_score(&TAG_RULE, 1, 5, 0, None, at(0)).unwrap();
        // Four hours later, nobody new: half the peak.
        let later = peak_score(&TAG_RULE, 1, 0, 0, Some(&peak), at(4)).unwrap();
        assert_eq!(later.score, 8.0);
        assert_eq!(later.max_score_at, at(0));
        // Sixteen hours: 16 / 16 = 1, still at the threshold; twenty: below it.
        assert_eq!(
            peak_score(&TAG_RULE, 1, 0, 0, Some(&peak), at(16))
                .unwrap()
                .score,
            1.0
        );
        let faded = peak_score(&TAG_RULE, 1, 0, 0, Some(&peak), at(20)).unwrap();
        assert_eq!(faded.score, 0.0);
        assert_eq!(faded.max_score, 16.0);
        // Past the cooldown the peak is dropped.
        assert!(peak_score(&TAG_RULE, 1, 0, 0, Some(&peak), at(49)).is_none());
        // A higher spike replaces the peak.
        let higher = peak_score(&TAG_RULE, 1, 9, 0, Some(&peak), at(2)).unwrap();
        assert_eq!((higher.score, higher.max_score_at), (64.0, at(2)));
    }

    #[test]
    fn a_status_scores_interactions_and_decays_with_age() {
        assert_eq!(status_score(4, Duration::zero()), None);
        assert_eq!(status_score(5, Duration::zero()), Some(16.0));
        assert_eq!(status_score(5, Duration::hours(2)), Some(8.0));
        // 16 / 2^(12/2) = 0.25 < 0.3.
        assert_eq!(status_score(5, Duration::hours(12)), None);
    }

    #[test]
    fn peaks_cover_new_and_remembered_items() {
        let observed = HashMap::from([(1, 5), (2, 2)]);
        let expected = HashMap::new();
        let old = Trend {
            item_id: 3,
            score: 4.0,
            max_score: 4.0,
            max_score_at: at(-4),
            language: None,
        };
        let mut out = score_peaks(&TAG_RULE, &observed, &expected, vec![old], at(0));
        out.sort_by_key(|t| t.item_id);
        let ids: Vec<(i64, f64)> = out.iter().map(|t| (t.item_id, t.score)).collect();
        assert_eq!(ids, vec![(1, 16.0), (3, 2.0)]);
    }
}
