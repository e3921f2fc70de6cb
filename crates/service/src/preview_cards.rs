//! Preview cards: after a status is posted, or its text edited, the
//! [`FetchLinkCard`] job fetches the first link it carries through the
//! guarded client and stores what the page says about itself as a card
//! shared by every status linking there (Mastodon's `LinkCrawlWorker` and
//! `FetchLinkCardService`). Also the link timeline.

use ferrodon_fetch::Overflow;
use ferrodon_jobs::{Job, JobError, JobKind, Queue};
use ferrodon_model::{AccountId, PageBounds, StatusId};
use ferrodon_storage::preview_cards::{self, MAX_URL_BYTES, PreviewCard};
use ferrodon_storage::statuses::{self, Status};
use ferrodon_storage::{Tx, accounts};
use serde::{Deserialize, Serialize};

use crate::views::StatusView;
use crate::{Result, ServiceError, Services, link_details};

/// Most bytes of a page read: the head, where the metadata is, comes first
/// (Mastodon reads 1 MB and cuts the rest).
pub const HTML_LIMIT: usize = 1024 * 1024;

/// A card older than this is fetched again when a new status links to it
/// (Mastodon's two weeks); statuses that already show it keep it.
const REFRESH_AFTER_DAYS: i64 = 14;

/// Fetches the card of a status's first link and shows it on the status.
/// On the `pull` queue and never retried, as Mastodon's `LinkCrawlWorker`: a
/// page that cannot be fetched just leaves the status without a card.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FetchLinkCard {
    pub status_id: StatusId,
}

impl JobKind for FetchLinkCard {
    const KIND: &'static str = "fetch_link_card";
    const QUEUE: Queue = Queue::Pull;
    const MAX_ATTEMPTS: i32 = 1;
}

impl Job for FetchLinkCard {
    type Context = Services;

    async fn run(&self, services: &Services) -> Result<(), JobError> {
        Ok(services.fetch_link_card(self.status_id).await?)
    }
}

/// `url` as fetched and stored: parsed and normalised (lower-case host,
/// percent-encoding), when it is an http(s) URL with a host that is not this
/// instance and not absurdly long (Mastodon's `bad_url?`).
fn eligible(url: &str, local_domain: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return None;
    }
    let host = parsed.host_str().filter(|h| !h.is_empty())?;
    let authority = match parsed.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    };
    if authority.eq_ignore_ascii_case(local_domain) || host.eq_ignore_ascii_case(local_domain) {
        return None;
    }
    let normalised = parsed.to_string();
    (normalised.len() <= MAX_URL_BYTES).then_some(normalised)
}

impl Services {
    /// The link a local status text's card would come from: the first
    /// http(s) link not pointing at this instance.
    pub(crate) fn card_link_of_text(&self, text: &str) -> Option<String> {
        let domain = &self.instance().domain;
        crate::text::urls(text, domain)
            .iter()
            .find_map(|u| eligible(u, domain))
    }

    /// The link a status's card comes from: in a local status's text, or
    /// among the links of a remote status's HTML that are not mentions or
    /// hashtags (Mastodon's `FetchLinkCardService#parse_urls`).
    async fn card_link(&self, status: &Status) -> Result<Option<String>> {
        if status.local {
            return Ok(self.card_link_of_text(&status.text));
        }
        let mentioned: Vec<AccountId> = statuses::mentions_of(self.db(), &[status.id])
            .await?
            .into_iter()
            .map(|(_, a)| AccountId(a))
            .collect();
        let mention_urls: Vec<String> = accounts::get_many(self.db(), &mentioned)
            .await?
            .iter()
            .map(|a| self.instance().url_of(a))
            .collect();
        let domain = &self.instance().domain;
        Ok(link_details::status_links(&status.content, &mention_urls)
            .iter()
            .find_map(|u| eligible(u, domain)))
    }

    /// Inside a posting or editing transaction: queues the card fetch when
    /// the text has a link to fetch.
    pub(crate) async fn queue_link_card(
        &self,
        tx: &mut Tx,
        status: StatusId,
        text: &str,
    ) -> Result<()> {
        if self.card_link_of_text(text).is_some() {
            ferrodon_jobs::enqueue(tx, self.ids(), &FetchLinkCard { status_id: status }).await?;
        }
        Ok(())
    }

    /// The job's work: finds the status's link, reuses a recent card for it
    /// or fetches the page, and attaches the card. A page that cannot be
    /// fetched or says nothing usable is logged and left alone.
    pub async fn fetch_link_card(&self, id: StatusId) -> Result<()> {
        let db = self.db();
        let Some(status) = statuses::get(db, id).await? else {
            return Ok(());
        };
        if status.reblog_of_id.is_some() || !preview_cards::of_statuses(db, &[id]).await?.is_empty()
        {
            return Ok(());
        }
        let Some(url) = self.card_link(&status).await? else {
            return Ok(());
        };
        let now = ferrodon_storage::now();
        let known = preview_cards::by_url(db, &url).await?;
        let card = match known {
            Some(card) if card.updated_at > now - chrono::Duration::days(REFRESH_AFTER_DAYS) => {
                Some(card)
            }
            // A stale card is still shown when the page cannot be read again.
            stale => self.crawl(&url).await?.or(stale),
        };
        let Some(card) = card else {
            return Ok(());
        };
        // Edited while the page was fetched: the new text's job decides.
        let Some(current) = statuses::get(db, id).await? else {
            return Ok(());
        };
        if current.text != status.text || current.content != status.content {
            return Ok(());
        }
        preview_cards::attach(db, id, card.id, &url).await?;
        Ok(())
    }

    /// Fetches `url` (HTML only, at most [`HTML_LIMIT`] bytes) and stores
    /// its card, keyed by the page's canonical URL.
    async fn crawl(&self, url: &str) -> Result<Option<PreviewCard>> {
        let skip = |reason: &dyn std::fmt::Display| -> Result<Option<PreviewCard>> {
            tracing::info!(url, reason = %reason, "no preview card");
            Ok(None)
        };
        let response = match self.fetcher().get(url, "text/html").await {
            Ok(r) => r,
            Err(e) => return skip(&e),
        };
        if response.status() != 200 {
            return skip(&format!("status {}", response.status()));
        }
        let mime = response.mime_type();
        if mime.as_deref() != Some("text/html") {
            return skip(&format!("not HTML ({})", mime.unwrap_or_default()));
        }
        let page_url = response.url().clone();
        let charset = response.charset();
        let body = match response.body(HTML_LIMIT, Overflow::Truncate).await {
            Ok(b) => b,
            Err(e) => return skip(&e),
        };
        let html = link_details::decode_page(&body.bytes, charset.as_deref());
        let details = link_details::extract(&page_url, &html);
        if !details.is_usable() {
            return skip(&"the page has no title");
        }
        let card = preview_cards::upsert(
            self.db(),
            self.ids().next().0,
            &details.canonical_url,
            &details.data,
            ferrodon_storage::now(),
        )
        .await?;
        tracing::debug!(
            url,
            card = card.id,
            truncated = body.truncated,
            "preview card stored"
        );
        Ok(Some(card))
    }

    /// `GET /api/v1/timelines/link?url=`: public statuses showing the card
    /// for `url`, by authors who opted into discovery. 404 when no card has
    /// that URL. (Mastodon also requires the card to be an allowed trend;
    /// Ferrodon answers for any stored card, since nothing here reviews
    /// trends, and the statuses listed are public ones of discoverable authors.)
    pub async fn link_timeline(
        &self,
        viewer: Option<AccountId>,
        url: &str,
        bounds: &PageBounds,
    ) -> Result<Vec<StatusView>> {
        let db = self.db();
        let url = url.trim();
        let mut card = preview_cards::by_url(db, url).await?;
        if card.is_none()
            && let Ok(parsed) = url::Url::parse(url)
            && parsed.as_str() != url
        {
            card = preview_cards::by_url(db, parsed.as_str()).await?;
        }
        let card = card.ok_or_else(ServiceError::not_found)?;
        let list = statuses::by_preview_card(db, card.id, bounds).await?;
        self.hydrate_visible(viewer, list).await
    }
}

#[cfg(test)]
mod tests {
    use super::eligible;

    #[test]
    fn eligible_links_are_remote_http_urls() {
        let local = "social.example";
        assert_eq!(
            eligible("https://News.Example/a b", local).as_deref(),
            Some("https://news.example/a%20b")
        );
        assert_eq!(eligible("https://social.example/@alice", local), None);
        assert_eq!(eligible("https://SOCIAL.example/tags/x", local), None);
        assert_eq!(eligible("ftp://news.example/", local), None);
        assert_eq!(eligible("https://", local), None);
        assert!(eligible(&format!("https://a.example/{}", "x".repeat(3000)), local).is_none());
        assert_eq!(eligible("http://localhost:3000/x", "localhost:3000"), None);
        assert_eq!(
            eligible("http://localhost:4000/x", "localhost:3000").as_deref(),
            Some("http://localhost:4000/x")
        );
    }
}
