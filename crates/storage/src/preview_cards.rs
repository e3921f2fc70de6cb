//! Preview cards (migration 0018): one row per linked page, keyed by its
//! canonical URL, and `preview_cards_statuses` saying which card a status
//! shows and with which URL the status linked to it.

use chrono::{DateTime, Utc};
use ferrodon_model::{AccountId, StatusId};

use crate::sql::{self, args, placeholders};
use crate::{Exec, Result};

const CARD_COLUMNS: &str = "pc.id, pc.url, pc.title, pc.description, pc.type, pc.link_type, \
     pc.html, pc.author_name, pc.author_url, pc.provider_name, pc.provider_url, pc.width, \
     pc.height, pc.image_url, pc.image_description, pc.embed_url, pc.blurhash, pc.language, \
     pc.published_at, pc.created_at, pc.updated_at";

/// Longest URL stored (Mastodon's limit, safe for PostgreSQL's unique index).
pub const MAX_URL_BYTES: usize = 2692;

/// The kind of card (Mastodon's `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardType {
    Link,
    Photo,
    Video,
    Rich,
}

impl CardType {
    pub fn as_i16(self) -> i16 {
        match self {
            CardType::Link => 0,
            CardType::Photo => 1,
            CardType::Video => 2,
            CardType::Rich => 3,
        }
    }

    pub fn from_i16(v: i16) -> CardType {
        match v {
            1 => CardType::Photo,
            2 => CardType::Video,
            3 => CardType::Rich,
            _ => CardType::Link,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CardType::Link => "link",
            CardType::Photo => "photo",
            CardType::Video => "video",
            CardType::Rich => "rich",
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PreviewCard {
    pub id: i64,
    /// The page's canonical URL.
    pub url: String,
    pub title: String,
    pub description: String,
    #[sqlx(rename = "type")]
    kind: i16,
    /// 1 when the page calls itself an article (`og:type` article, JSON-LD
    /// NewsArticle), else 0.
    pub link_type: i16,
    /// An embed (an iframe for `twitter:player`), else empty.
    pub html: String,
    pub author_name: String,
    pub author_url: String,
    pub provider_name: String,
    pub provider_url: String,
    pub width: i32,
    pub height: i32,
    /// The remote image as the page names it (not downloaded).
    pub image_url: Option<String>,
    pub image_description: String,
    pub embed_url: String,
    pub blurhash: Option<String>,
    pub language: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl PreviewCard {
    pub fn card_type(&self) -> CardType {
        CardType::from_i16(self.kind)
    }

    /// Whether the page calls itself an article.
    pub fn is_article(&self) -> bool {
        self.link_type == 1
    }
}

/// What a fetch learned about a page.
#[derive(Debug, Clone, Default)]
pub struct CardData {
    pub title: String,
    pub description: String,
    pub card_type: Option<CardType>,
    pub article: bool,
    pub html: String,
    pub author_name: String,
    pub author_url: String,
    pub provider_name: String,
    pub provider_url: String,
    pub width: i32,
    pub height: i32,
    pub image_url: Option<String>,
    pub image_description: String,
    pub embed_url: String,
    pub language: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
}

/// The card stored for `url`, if any.
pub async fn by_url<'a>(ex: impl Exec<'a>, url: &str) -> Result<Option<PreviewCard>> {
    sql::fetch_optional(
        ex,
        format!("SELECT {CARD_COLUMNS} FROM preview_cards pc WHERE pc.url = $1"),
        args![url],
    )
    .await
}

/// The cards with these ids, in no particular order.
pub async fn get_many<'a>(ex: impl Exec<'a>, ids: &[i64]) -> Result<Vec<PreviewCard>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {CARD_COLUMNS} FROM preview_cards pc WHERE pc.id IN ({})",
        placeholders(1, ids.len())
    );
    sql::fetch_all(ex, sql, ids.iter().map(|i| (*i).into()).collect()).await
}

/// Stores what was learned about `url`: a new card with id `id`, or the
/// existing card for that URL refreshed (its id kept).
pub async fn upsert<'a>(
    ex: impl Exec<'a>,
    id: i64,
    url: &str,
    d: &CardData,
    now: DateTime<Utc>,
) -> Result<PreviewCard> {
    sql::fetch_one(
        ex,
        format!(
            "INSERT INTO preview_cards (id, url, title, description, type, link_type, html, \
             author_name, author_url, provider_name, provider_url, width, height, image_url, \
             image_description, embed_url, language, published_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
             $18, $19, $19) \
             ON CONFLICT (url) DO UPDATE SET title = excluded.title, \
             description = excluded.description, type = excluded.type, \
             link_type = excluded.link_type, html = excluded.html, \
             author_name = excluded.author_name, author_url = excluded.author_url, \
             provider_name = excluded.provider_name, provider_url = excluded.provider_url, \
             width = excluded.width, height = excluded.height, image_url = excluded.image_url, \
             image_description = excluded.image_description, embed_url = excluded.embed_url, \
             language = excluded.language, published_at = excluded.published_at, \
             updated_at = excluded.updated_at \
             RETURNING {}",
            CARD_COLUMNS.replace("pc.", "")
        ),
        args![
            id,
            url,
            &d.title,
            &d.description,
            d.card_type.unwrap_or(CardType::Link).as_i16(),
            i16::from(d.article),
            &d.html,
            &d.author_name,
            &d.author_url,
            &d.provider_name,
            &d.provider_url,
            d.width,
            d.height,
            d.image_url.clone(),
            &d.image_description,
            &d.embed_url,
            d.language.clone(),
            d.published_at,
            now
        ],
    )
    .await
}

/// Shows `card` on `status`, unless it already shows one; `url` is the link
/// as the status wrote it. Returns whether it was attached.
pub async fn attach<'a>(ex: impl Exec<'a>, status: StatusId, card: i64, url: &str) -> Result<bool> {
    sql::execute(
        ex,
        "INSERT INTO preview_cards_statuses (status_id, preview_card_id, url) VALUES ($1, $2, $3) \
         ON CONFLICT (status_id) DO NOTHING",
        args![status, card, url],
    )
    .await
    .map(|n| n > 0)
}

/// Takes the card off a status (its text changed).
pub async fn detach<'a>(ex: impl Exec<'a>, status: StatusId) -> Result<()> {
    sql::execute(
        ex,
        "DELETE FROM preview_cards_statuses WHERE status_id = $1",
        args![status],
    )
    .await
    .map(|_| ())
}

/// The card a status shows, with the URL the status linked to it by.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StatusCard {
    pub status_id: i64,
    /// The link as the status wrote it (Mastodon's `original_url`).
    pub shared_url: Option<String>,
    #[sqlx(flatten)]
    pub card: PreviewCard,
}

/// The cards of these statuses (at most one each), in one query.
pub async fn of_statuses<'a>(ex: impl Exec<'a>, statuses: &[StatusId]) -> Result<Vec<StatusCard>> {
    if statuses.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT pcs.status_id, pcs.url AS shared_url, {CARD_COLUMNS} FROM preview_cards_statuses pcs \
         JOIN preview_cards pc ON pc.id = pcs.preview_card_id WHERE pcs.status_id IN ({})",
        placeholders(1, statuses.len())
    );
    sql::fetch_all(ex, sql, statuses.iter().map(|s| (*s).into()).collect()).await
}

/// One share of a card, for link trends.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CardShare {
    pub preview_card_id: i64,
    /// The sharing status: the one carrying the card, or a reblog of it.
    #[sqlx(try_from = "i64")]
    pub status_id: StatusId,
    /// Who shared it (the author, or the reblogger).
    #[sqlx(try_from = "i64")]
    pub account_id: AccountId,
    /// When it was shared.
    pub created_at: DateTime<Utc>,
}

/// The shares of cards by statuses with ids at or above `$1`, as Mastodon's
/// `Trends::Links#register` counts them: public statuses carrying a card,
/// and public reblogs of them, when the carrying status has no content
/// warning and is not sensitive. With `cards`, a placeholder list, only
/// those cards' shares.
fn shares_union(cards: Option<&str>) -> String {
    let only = |alias: &str| {
        cards.map_or(String::new(), |list| {
            format!(" AND {alias}.preview_card_id IN ({list})")
        })
    };
    format!(
        "SELECT pcs.preview_card_id, s.id AS status_id, s.account_id, s.created_at \
         FROM preview_cards_statuses pcs JOIN statuses s ON s.id = pcs.status_id \
         WHERE pcs.status_id >= $1 AND s.visibility = 0 AND s.spoiler_text = '' \
         AND s.sensitive = FALSE{} \
         UNION ALL \
         SELECT pcs.preview_card_id, r.id AS status_id, r.account_id, r.created_at \
         FROM statuses r JOIN preview_cards_statuses pcs ON pcs.status_id = r.reblog_of_id \
         JOIN statuses o ON o.id = pcs.status_id \
         WHERE r.id >= $1 AND r.reblog_of_id IS NOT NULL AND r.visibility = 0 \
         AND o.visibility = 0 AND o.spoiler_text = '' AND o.sensitive = FALSE{}",
        only("pcs"),
        only("pcs"),
    )
}

/// Every share of a card by a status with an id at or above `since_id`
/// (ids are time-ordered: `Snowflake::lower_bound_at(t)` gives the first id
/// of a moment), oldest first (see [`shares_union`] for what counts).
/// Whether a card itself may trend (an article with a title, description,
/// image and provider, in Mastodon) is for the caller to judge on the card.
pub async fn shares_since<'a>(ex: impl Exec<'a>, since_id: i64) -> Result<Vec<CardShare>> {
    let sql = format!(
        "SELECT preview_card_id, status_id, account_id, created_at FROM ({}) shares \
         ORDER BY status_id",
        shares_union(None)
    );
    sql::fetch_all(ex, sql, args![since_id]).await
}

/// Distinct accounts that shared each card by statuses with ids in
/// `[from_id, to_id)`, counted by the database (for link trends).
pub async fn share_accounts<'a>(
    ex: impl Exec<'a>,
    from_id: i64,
    to_id: i64,
) -> Result<Vec<(i64, i64)>> {
    let sql = format!(
        "SELECT preview_card_id, COUNT(DISTINCT account_id) FROM ({}) shares \
         WHERE status_id < $2 GROUP BY preview_card_id",
        shares_union(None)
    );
    sql::fetch_all(ex, sql, args![from_id, to_id]).await
}

/// The shares of `cards` by statuses with ids at or above `since_id`, for
/// the history of trending links.
pub async fn shares_of<'a>(
    ex: impl Exec<'a>,
    cards: &[i64],
    since_id: i64,
) -> Result<Vec<CardShare>> {
    if cards.is_empty() {
        return Ok(Vec::new());
    }
    let list = placeholders(2, cards.len());
    let sql = format!(
        "SELECT preview_card_id, status_id, account_id, created_at FROM ({}) shares \
         ORDER BY status_id",
        shares_union(Some(&list))
    );
    let mut a = args![since_id];
    a.extend(cards.iter().map(|c| (*c).into()));
    sql::fetch_all(ex, sql, a).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Db;
    use crate::statuses::{self, NewStatus};
    use crate::testing::{local_account, storage_test};
    use ferrodon_model::{PageBounds, Snowflake, Visibility};

    static NEXT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1);

    /// A status by `author`; ids grow with each call.
    async fn post(
        db: &Db,
        author: AccountId,
        visibility: Visibility,
        spoiler: &str,
        reblog_of: Option<StatusId>,
    ) -> StatusId {
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = StatusId(Snowflake::lower_bound_at(crate::now()).0 + n);
        statuses::insert(
            db,
            &NewStatus {
                id,
                uri: format!("https://x.example/s/{}", id.0),
                url: None,
                account_id: author,
                text: String::new(),
                content: String::new(),
                spoiler_text: spoiler.to_owned(),
                sensitive: false,
                visibility,
                language: None,
                in_reply_to_id: None,
                in_reply_to_account_id: None,
                reblog_of_id: reblog_of,
                application_id: None,
                local: true,
                created_at: crate::now(),
                quote_approval_policy: 0,
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        id
    }

    fn ok<T>(r: Result<T>) -> T {
        r.unwrap_or_else(|e| panic!("{e}"))
    }

    storage_test!(cards_shares_and_link_timeline, |db: Db| async move {
        let since = Snowflake::lower_bound_at(crate::now()).0;
        let alice = local_account(&db).await;
        let bob = local_account(&db).await;
        ok(crate::accounts::update_profile(
            &db,
            alice,
            &crate::accounts::ProfileUpdate {
                discoverable: Some(true),
                ..Default::default()
            },
            crate::now(),
        )
        .await);

        let data = CardData {
            title: "First".into(),
            article: true,
            image_url: Some("https://news.example/a.png".into()),
            ..CardData::default()
        };
        let card = ok(upsert(&db, 1, "https://news.example/a", &data, crate::now()).await);
        assert_eq!((card.id, card.title.as_str()), (1, "First"));
        assert!(card.is_article());
        assert_eq!(card.card_type(), CardType::Link);
        // The same URL again: refreshed in place, the id kept.
        let refreshed = CardData {
            title: "Second".into(),
            card_type: Some(CardType::Video),
            ..CardData::default()
        };
        let card = ok(upsert(&db, 2, "https://news.example/a", &refreshed, crate::now()).await);
        assert_eq!((card.id, card.title.as_str()), (1, "Second"));
        assert_eq!(card.card_type(), CardType::Video);
        assert!(card.image_url.is_none());
        assert_eq!(
            ok(by_url(&db, "https://news.example/a").await).map(|c| c.id),
            Some(1)
        );
        assert!(ok(by_url(&db, "https://news.example/b").await).is_none());

        let shared = post(&db, alice, Visibility::Public, "", None).await;
        let unlisted = post(&db, alice, Visibility::Unlisted, "", None).await;
        let warned = post(&db, alice, Visibility::Public, "cw", None).await;
        let by_bob = post(&db, bob, Visibility::Public, "", None).await;
        for s in [shared, unlisted, warned, by_bob] {
            assert!(ok(attach(&db, s, 1, "https://short.example/x").await));
        }
        assert!(
            !ok(attach(&db, shared, 1, "https://other.example/").await),
            "one card per status"
        );
        let reblog = post(&db, bob, Visibility::Public, "", Some(shared)).await;
        let reblog_of_warned = post(&db, bob, Visibility::Public, "", Some(warned)).await;

        let cards = ok(of_statuses(&db, &[shared, reblog, by_bob]).await);
        assert_eq!(cards.len(), 2);
        assert!(
            cards
                .iter()
                .all(|c| c.card.id == 1
                    && c.shared_url.as_deref() == Some("https://short.example/x"))
        );

        // Shares as link trends count them.
        let shares = ok(shares_since(&db, since).await);
        let got: Vec<(i64, AccountId)> = shares
            .iter()
            .map(|s| (s.status_id.0, s.account_id))
            .collect();
        assert_eq!(
            got,
            [(shared.0, alice), (by_bob.0, bob), (reblog.0, bob)],
            "public, no content warning; reblogs of such statuses count for the reblogger"
        );
        assert!(shares.iter().all(|s| s.preview_card_id == 1));
        assert!(ok(shares_since(&db, reblog_of_warned.0 + 1).await).is_empty());

        // The link timeline: public statuses of discoverable authors (bob is
        // not), newest first; content warnings do not matter there.
        let listed = ok(statuses::by_preview_card(&db, 1, &PageBounds::first(20)).await);
        assert_eq!(
            listed.iter().map(|s| s.id).collect::<Vec<_>>(),
            [warned, shared]
        );

        ok(detach(&db, shared).await);
        assert!(ok(of_statuses(&db, &[shared]).await).is_empty());
        assert_eq!(ok(get_many(&db, &[1, 99]).await).len(), 1);
    });
}
