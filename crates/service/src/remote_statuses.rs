//! Remote statuses arriving through federation (`Create`, `Update`,
//! `Delete` of a Note or Question), with plain Rust types. They land in
//! the same tables as local posts and take the same fan-out
//! (`FanOutStatus`: local followers' homes, tag followers, mentions of
//! local accounts under their notification policy). Idempotent by uri.

use chrono::{DateTime, Utc};
use ferrodon_model::{AccountId, StatusId, Visibility};
use ferrodon_storage::accounts;
use ferrodon_storage::polls::{self, NewPoll, StatusEdit};
use ferrodon_storage::remote::{self as store, RemoteMediaRow};
use ferrodon_storage::statuses::{self, NewStatus, StatusChange};
use ferrodon_storage::{StorageError, conversations, tags};

use crate::jobs::{FanOutStatus, Notify};
use crate::remote::RemoteEmoji;
use crate::{Result, ServiceError, Services};

/// An attachment of a remote status, known by its URL (not downloaded).
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteMedia {
    pub remote_url: String,
    pub content_type: String,
    pub description: Option<String>,
    pub blurhash: Option<String>,
    pub focus: Option<(f64, f64)>,
    pub width: Option<i32>,
    pub height: Option<i32>,
}

/// A remote poll (a `Question`) with the counts its server reports.
#[derive(Debug, Clone, PartialEq)]
pub struct RemotePoll {
    pub options: Vec<String>,
    pub multiple: bool,
    pub expires_at: DateTime<Utc>,
    /// Votes per option, in the order of `options`.
    pub votes: Vec<i64>,
    pub voters_count: Option<i64>,
}

/// A remote status as federation read it (HTML sanitised, mentions
/// resolved to accounts, visibility computed from `to`/`cc`).
#[derive(Debug, Clone)]
pub struct RemoteStatus {
    pub uri: String,
    pub url: Option<String>,
    pub account_id: AccountId,
    pub content_html: String,
    pub spoiler_text: String,
    pub sensitive: bool,
    pub visibility: Visibility,
    pub language: Option<String>,
    pub in_reply_to_uri: Option<String>,
    pub published: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub mentions: Vec<AccountId>,
    pub tags: Vec<String>,
    pub media: Vec<RemoteMedia>,
    pub poll: Option<RemotePoll>,
    /// The status it quotes (FEP-044f `quote`, or an older property).
    pub quote_uri: Option<String>,
    /// Whether federation verified a `quoteAuthorization` by the quoted
    /// status's author for this quote (for quotes of remote statuses;
    /// quotes of local ones are decided by the local policy).
    pub quote_approved: bool,
    pub emojis: Vec<RemoteEmoji>,
}

/// The text of HTML, for search: tags dropped, a few entities decoded.
fn plain_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn media_kind(content_type: &str) -> &'static str {
    match content_type.split('/').next() {
        Some("image") if content_type == "image/gif" => "gifv",
        Some("image") => "image",
        Some("video") => "video",
        Some("audio") => "audio",
        _ => "unknown",
    }
}

impl Services {
    /// A remote `Create`: stores the status once (a second call answers the
    /// stored id and does nothing else); `None` when a tombstone says it was
    /// deleted already. The parent is found by `in_reply_to_uri` (an unknown
    /// one leaves the status unthreaded). Counters, mentions, tags, media
    /// (remote URLs), poll, emoji, and `FanOutStatus` in one transaction.
    pub async fn create_remote_status(&self, s: &RemoteStatus) -> Result<Option<StatusId>> {
        let db = self.db();
        match store::status_or_tombstone(db, &s.uri).await? {
            (Some(id), _) => return Ok(Some(id)),
            (None, true) => return Ok(None),
            (None, false) => {}
        }
        let author = self.remote_account(s.account_id).await?;
        // Only media and emoji are affected by `reject_media`.
        let reject_media = (!s.media.is_empty() || !s.emojis.is_empty())
            && self.media_rejected(author.domain.as_deref()).await?;
        let parent = match &s.in_reply_to_uri {
            Some(uri) => match store::status_id_by_uri(db, uri).await? {
                Some(id) => statuses::get(db, id)
                    .await?
                    .filter(|p| p.reblog_of_id.is_none()),
                None => None,
            },
            None => None,
        };
        let quote = match &s.quote_uri {
            Some(uri) => self.remote_quote_state(s, uri).await?,
            None => None,
        };
        let id = StatusId::from(self.ids().next());
        let thread = match &parent {
            Some(p) => conversations::conversation_of(db, p.id)
                .await?
                .unwrap_or(p.id.0),
            None => id.0,
        };
        let new = NewStatus {
            id,
            uri: s.uri.clone(),
            url: s.url.clone(),
            account_id: s.account_id,
            text: plain_text(&s.content_html),
            content: s.content_html.clone(),
            spoiler_text: s.spoiler_text.clone(),
            sensitive: s.sensitive || !s.spoiler_text.is_empty(),
            visibility: s.visibility,
            language: s
                .language
                .as_deref()
                .and_then(crate::statuses::normalize_language),
            in_reply_to_id: parent.as_ref().map(|p| p.id),
            in_reply_to_account_id: parent.as_ref().map(|p| p.account_id),
            reblog_of_id: None,
            application_id: None,
            local: false,
            created_at: s.published,
            quote_approval_policy: 0,
        };
        let mut tx = db.begin().await?;
        match statuses::insert(&mut tx, &new).await {
            // The same Create, delivered twice at once: the first one won.
            Err(StorageError::Conflict(_)) => {
                drop(tx);
                return Ok(store::status_id_by_uri(db, &s.uri).await?);
            }
            other => other?,
        }
        if let Some(edited_at) = s.edited_at {
            statuses::update_content(&mut tx, id, &change_of(s, &new.text, edited_at)).await?;
        }
        conversations::set_conversation(&mut tx, id, thread).await?;
        if let Some((quoted, state)) = &quote {
            self.attach_quote_in(&mut tx, id, s.account_id, quoted, *state, s.published)
                .await?;
        }
        let mut mentioned = s.mentions.clone();
        mentioned.sort();
        mentioned.dedup();
        statuses::insert_mentions(&mut tx, self.ids(), id, &mentioned).await?;
        self.attach_tags(&mut tx, id, &s.tags).await?;
        for (position, m) in s.media.iter().enumerate() {
            store::insert_media(
                &mut tx,
                &RemoteMediaRow {
                    id: self.ids().next().0,
                    account_id: s.account_id,
                    status_id: id,
                    position: i32::try_from(position).unwrap_or(i32::MAX),
                    kind: if reject_media {
                        "unknown"
                    } else {
                        media_kind(&m.content_type)
                    }
                    .to_owned(),
                    content_type: m.content_type.clone(),
                    remote_url: m.remote_url.clone(),
                    width: m.width,
                    height: m.height,
                    description: m.description.clone(),
                    focus: m.focus.map(|(x, y)| format!("{x},{y}")),
                    blurhash: m.blurhash.clone(),
                    created_at: s.published,
                },
            )
            .await?;
        }
        if let Some(p) = &s.poll {
            let poll_id = self.ids().next().0;
            polls::insert(
                &mut tx,
                &NewPoll {
                    id: poll_id,
                    status_id: id,
                    account_id: s.account_id,
                    expires_at: p.expires_at,
                    options: serde_json::to_string(&p.options)
                        .map_err(|e| ServiceError::Internal(e.to_string()))?,
                    multiple: p.multiple,
                    hide_totals: false,
                    created_at: s.published,
                },
            )
            .await?;
            store::set_poll_counts(
                &mut tx,
                poll_id,
                poll_votes(p),
                poll_voters(p),
                &tallies(p)?,
            )
            .await?;
            crate::polls::queue_expiry(&mut tx, self.ids(), poll_id, p.expires_at).await?;
        }
        if let Some(domain) = author.domain.as_ref().filter(|_| !reject_media) {
            for emoji in &s.emojis {
                store::upsert_emoji(
                    &mut tx,
                    self.ids().next().0,
                    &emoji.shortcode,
                    domain,
                    &emoji.image_url,
                    s.published,
                )
                .await?;
            }
        }
        if s.visibility != Visibility::Direct {
            accounts::adjust_counts(&mut tx, s.account_id, 1, 0, 0).await?;
            accounts::set_last_status_at(&mut tx, s.account_id, s.published).await?;
        }
        if let Some(p) = &parent
            && s.visibility.is_public_ish()
        {
            statuses::adjust_counts(&mut tx, p.id, 1, 0, 0).await?;
        }
        ferrodon_jobs::enqueue(&mut tx, self.ids(), &FanOutStatus { status_id: id }).await?;
        tx.commit().await?;
        Ok(Some(id))
    }

    /// A remote `Update` of a status by its author: the edit is applied with
    /// its history in `status_edits` (the original revision first), new
    /// mentions notified and tags replaced; poll counts follow the remote
    /// ones. Nothing happens when the content is unchanged or the update is
    /// not newer than what is stored. `None` for an unknown status.
    pub async fn update_remote_status(&self, s: &RemoteStatus) -> Result<Option<StatusId>> {
        let db = self.db();
        let Some(id) = store::status_id_by_uri(db, &s.uri).await? else {
            return Ok(None);
        };
        let mut tx = db.begin().await?;
        if !statuses::lock(&mut tx, id).await? {
            return Ok(None);
        }
        let status = statuses::get(&mut tx, id)
            .await?
            .ok_or_else(ServiceError::not_found)?;
        if status.account_id != s.account_id || status.local {
            return Err(ServiceError::not_allowed());
        }
        let poll = polls::of_status(&mut tx, id).await?;
        if let (Some(stored), Some(remote)) = (&poll, &s.poll) {
            store::set_poll_counts(
                &mut tx,
                stored.id,
                poll_votes(remote),
                poll_voters(remote),
                &tallies(remote)?,
            )
            .await?;
        }
        let edited_at = s.edited_at.unwrap_or(s.published);
        let stored_at = status.edited_at.unwrap_or(status.created_at);
        let text = plain_text(&s.content_html);
        let sensitive = s.sensitive || !s.spoiler_text.is_empty();
        let unchanged = status.content == s.content_html
            && status.spoiler_text == s.spoiler_text
            && status.sensitive == sensitive;
        if unchanged || edited_at <= stored_at {
            tx.commit().await?;
            return Ok(Some(id));
        }
        let poll_options = poll.as_ref().map(|p| p.options.clone());
        if polls::edits_of(&mut tx, id).await?.is_empty() {
            polls::insert_edit(
                &mut tx,
                &StatusEdit {
                    id: self.ids().next().0,
                    status_id: id,
                    account_id: Some(status.account_id.0),
                    text: status.text.clone(),
                    content: status.content.clone(),
                    spoiler_text: status.spoiler_text.clone(),
                    sensitive: status.sensitive,
                    poll_options: poll_options.clone(),
                    created_at: status.created_at,
                },
            )
            .await?;
        }
        statuses::update_content(&mut tx, id, &change_of(s, &text, edited_at)).await?;
        polls::insert_edit(
            &mut tx,
            &StatusEdit {
                id: self.ids().next().0,
                status_id: id,
                account_id: Some(status.account_id.0),
                text,
                content: s.content_html.clone(),
                spoiler_text: s.spoiler_text.clone(),
                sensitive,
                poll_options,
                created_at: edited_at,
            },
        )
        .await?;
        let mut mentioned = s.mentions.clone();
        mentioned.sort();
        mentioned.dedup();
        let added = statuses::replace_mentions(&mut tx, self.ids(), id, &mentioned).await?;
        for account in added {
            let notify = Notify {
                recipient: account,
                from: status.account_id,
                kind: "mention".into(),
                activity_id: id.0,
                status_id: Some(id),
            };
            ferrodon_jobs::enqueue(&mut tx, self.ids(), &notify).await?;
        }
        tags::detach_all(&mut tx, id).await?;
        self.attach_tags(&mut tx, id, &s.tags).await?;
        for (reblog_id, reblogger) in statuses::reblogs_of(&mut tx, id).await? {
            let notify = Notify {
                recipient: AccountId(reblogger),
                from: status.account_id,
                kind: "update".into(),
                activity_id: reblog_id,
                status_id: Some(id),
            };
            ferrodon_jobs::enqueue(&mut tx, self.ids(), &notify).await?;
        }
        tx.commit().await?;
        Ok(Some(id))
    }

    /// A remote `Delete` of a status (or `Undo(Announce)` of a reblog) by
    /// `by`: only its author may; it goes as a local deletion does (feeds,
    /// notifications, counters) and a tombstone keeps a late `Create` out.
    /// An unknown uri only records the tombstone. Idempotent.
    pub async fn delete_remote_status(&self, uri: &str, by: AccountId) -> Result<()> {
        let db = self.db();
        let status = match store::status_id_by_uri(db, uri).await? {
            Some(id) => statuses::get(db, id).await?,
            None => None,
        };
        if let Some(status) = &status {
            if status.account_id != by || status.local {
                return Err(ServiceError::not_allowed());
            }
            self.remove_status(status).await?;
        }
        store::insert_tombstone(db, uri, by, ferrodon_storage::now()).await?;
        Ok(())
    }
}

fn change_of(s: &RemoteStatus, text: &str, edited_at: DateTime<Utc>) -> StatusChange {
    StatusChange {
        text: text.to_owned(),
        content: s.content_html.clone(),
        spoiler_text: s.spoiler_text.clone(),
        sensitive: s.sensitive || !s.spoiler_text.is_empty(),
        language: s
            .language
            .as_deref()
            .and_then(crate::statuses::normalize_language),
        edited_at,
    }
}

fn poll_votes(p: &RemotePoll) -> i64 {
    p.votes.iter().copied().filter(|v| *v > 0).sum()
}

/// Votes per option as stored (one per option, missing ones 0).
fn tallies(p: &RemotePoll) -> Result<String> {
    let counts: Vec<i64> = (0..p.options.len())
        .map(|i| p.votes.get(i).copied().unwrap_or(0).max(0))
        .collect();
    serde_json::to_string(&counts).map_err(|e| ServiceError::Internal(e.to_string()))
}

fn poll_voters(p: &RemotePoll) -> i64 {
    p.voters_count.unwrap_or_else(|| poll_votes(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_drops_markup() {
        assert_eq!(
            plain_text("<p>Hello <a href=\"x\">@bob</a> &amp; you</p><p>2</p>"),
            "Hello @bob & you 2"
        );
    }

    #[test]
    fn kinds() {
        assert_eq!(media_kind("image/png"), "image");
        assert_eq!(media_kind("video/mp4"), "video");
        assert_eq!(media_kind("application/x"), "unknown");
    }
}
