//! `Create` of a `Note` (or `Question`, `Article`, `Page`): a remote post.
//! Verify: the object is embedded, its id is on the actor's host and it is
//! attributed to the actor (CVE-2024-23832 was accepting objects whose host
//! differs from the actor's). Receive: the status with its mentions, tags,
//! emoji, attachments (recorded by URL) and poll, threaded under its
//! parent, fanned out and notified as a local post.

use ferrodon_model::{StatusId, Visibility};
use ferrodon_service::remote::RemoteEmoji;
use ferrodon_service::remote_statuses::{RemoteMedia, RemotePoll, RemoteStatus};
use ferrodon_storage::accounts::Account;

use super::{refuse, same_origin};
use crate::Federation;
use crate::error::{FedResult, FederationError};
use crate::sanitize;
use crate::wire::is_public;
use crate::wire::{self, Activity, Object};

/// Mentions of accounts not stored yet that one post may make us fetch.
const MAX_MENTION_FETCHES: usize = 5;

pub(super) async fn receive(
    fed: &Federation,
    actor: &Account,
    activity: &Activity,
) -> FedResult<()> {
    let object = activity
        .object()
        .ok_or_else(|| refuse("a Create without an object"))?;
    let Some(note) = object.as_object() else {
        tracing::info!(actor = %actor.uri, "Create of something that is not an object; dropped");
        return Ok(());
    };
    // A vote: a Note with only a `name` (the option), replying to a local poll.
    if let (Some(name), Some(poll_uri)) = (note.name(), note.in_reply_to.as_deref())
        && note.content_html().is_none_or(str::is_empty)
        && let Some(local) = fed.status_by_uri(poll_uri).await?
    {
        fed.services()
            .remote_vote(actor.id, local, &[name.to_owned()])
            .await?;
        return Ok(());
    }
    let mut remote = note_to_remote(fed, actor, note).await?;
    // A quoted status not known here is fetched from its origin first (as
    // Mastodon does), so the quote can be recorded (and its stamp checked);
    // failing that, the post is stored without it.
    if let Some(quoted) = remote.quote_uri.clone()
        && fed.status_by_uri(&quoted).await?.is_none()
    {
        match fed.fetch_status(&quoted).await {
            Ok(Some(_)) => {
                if let Some(stamp) = note.quote_authorization.as_deref() {
                    remote.quote_approved =
                        fed.quote_stamp_valid(stamp, &remote.uri, &quoted).await;
                }
            }
            Ok(None) => {}
            Err(e) => tracing::info!(quoted, error = %e, "quoted status not fetched"),
        }
    }
    fed.services().create_remote_status(&remote).await?;
    Ok(())
}

/// Who a status is for, from its addressing (as Mastodon reads it).
fn visibility(note: &Object, actor: &Account) -> Visibility {
    if note.to.iter().any(|r| is_public(r)) {
        return Visibility::Public;
    }
    if note.cc.iter().any(|r| is_public(r)) {
        return Visibility::Unlisted;
    }
    let followers = actor.followers_url.as_deref();
    if followers.is_some_and(|f| note.to.iter().chain(&note.cc).any(|r| r == f)) {
        return Visibility::Private;
    }
    Visibility::Direct
}

/// A verified object as the plain type the service layer stores.
pub(crate) async fn note_to_remote(
    fed: &Federation,
    actor: &Account,
    note: &Object,
) -> FedResult<RemoteStatus> {
    let id = note
        .id
        .as_deref()
        .ok_or_else(|| refuse("an object without an id"))?;
    if !same_origin(id, actor) {
        return Err(refuse(format!("{id} is not on {}'s host", actor.uri)));
    }
    if note.attributed_to() != Some(actor.uri.as_str()) {
        return Err(refuse(format!("{id} is not attributed to {}", actor.uri)));
    }
    let mut content = sanitize::sanitize_html(note.content_html().unwrap_or(""));
    if content.is_empty()
        && let Some(name) = note.name()
    {
        // A titled post (Lemmy's Page, an Article) without a body.
        content = format!("<p>{}</p>", ferrodon_service::text::escape(name));
    }
    let mut mentions = Vec::new();
    let mut fetches = 0;
    for m in note.mentions() {
        if let Some(local) = fed.local_by_uri(m.href).await? {
            mentions.push(local.id);
        } else if let Some(known) = fed.services().remote_account_by_uri(m.href).await? {
            mentions.push(known.id);
        } else if fetches < MAX_MENTION_FETCHES {
            fetches += 1;
            match fed.fetch_actor(m.href).await {
                Ok(a) => mentions.push(a.id),
                Err(e) => tracing::info!(href = m.href, error = %e, "mention not resolved"),
            }
        }
    }
    mentions.sort_unstable_by_key(|a| a.0);
    mentions.dedup();
    let media = note
        .attachment
        .iter()
        .filter_map(|a| {
            let url = a.url()?.to_owned();
            Some(RemoteMedia {
                remote_url: url,
                content_type: a.media_type.clone().unwrap_or_default(),
                description: a.alt().map(|s| s.chars().take(1500).collect()),
                blurhash: a.blurhash.clone().filter(|b| b.len() <= 100),
                focus: a.focal_point(),
                width: a.width.and_then(|w| i32::try_from(w).ok()),
                height: a.height.and_then(|h| i32::try_from(h).ok()),
            })
        })
        .collect();
    let published = note.published.unwrap_or_else(ferrodon_storage::now);
    let quote_uri = note.quote_uri().map(str::to_owned);
    let quote_approved = match (&quote_uri, note.quote_authorization.as_deref()) {
        (Some(quoted), Some(stamp)) => fed.quote_stamp_valid(stamp, id, quoted).await,
        _ => false,
    };
    let poll = note.poll().map(|p| RemotePoll {
        options: p
            .options
            .iter()
            .map(|(n, _)| sanitize::plain_text(n))
            .collect(),
        multiple: p.multiple,
        // A poll without an end (Misskey's `endTime: null`) stays open for
        // ten years here.
        expires_at: p
            .expires_at
            .or(p.closed_at)
            .unwrap_or(published + chrono::Duration::days(3650)),
        votes: p
            .options
            .iter()
            .map(|(_, v)| v.and_then(|v| i64::try_from(v).ok()).unwrap_or(0))
            .collect(),
        voters_count: p.voters_count.and_then(|v| i64::try_from(v).ok()),
    });
    Ok(RemoteStatus {
        uri: id.to_owned(),
        url: note.url().map(str::to_owned),
        account_id: actor.id,
        content_html: content,
        spoiler_text: sanitize::plain_text(note.summary().unwrap_or("")),
        sensitive: note.sensitive.unwrap_or(false) || note.summary().is_some_and(|s| !s.is_empty()),
        visibility: visibility(note, actor),
        language: note.language().map(str::to_owned),
        in_reply_to_uri: note.in_reply_to.clone(),
        published,
        edited_at: note.updated,
        mentions,
        tags: note.hashtags().map(|h| h.name.to_owned()).collect(),
        media,
        poll,
        quote_uri,
        quote_approved,
        emojis: note
            .emojis()
            .map(|e| RemoteEmoji {
                shortcode: e.shortcode.to_owned(),
                image_url: e.url.to_owned(),
            })
            .collect(),
    })
}

impl Federation {
    /// Whether `stamp` is a `QuoteAuthorization` by the author of remote
    /// status `quoted` (known here) for `quoting`, served from the author's
    /// host. Quotes of local statuses are decided by the local policy, so
    /// their stamps are not fetched. Any failure is a `false`, logged.
    async fn quote_stamp_valid(&self, stamp: &str, quoting: &str, quoted: &str) -> bool {
        let author = match self.status_by_uri(quoted).await {
            Ok(Some(id)) => match self.services().status_for_federation(id).await {
                Ok(Some(v)) if !v.account.is_local() => v.account,
                _ => return false,
            },
            _ => return false,
        };
        if !same_origin(stamp, &author) {
            tracing::info!(
                stamp,
                quoted,
                "a quote authorization not on the quoted author's host"
            );
            return false;
        }
        let bytes = match self.fetch_checked(stamp).await {
            Ok((_, bytes)) => bytes,
            Err(e) => {
                tracing::info!(stamp, error = %e, "quote authorization not fetched");
                return false;
            }
        };
        let valid = wire::parse_item(&bytes).ok().is_some_and(|item| {
            item.as_quote_authorization().is_some_and(|q| {
                q.attributed_to.as_deref() == Some(author.uri.as_str())
                    && q.interacting_object.as_deref() == Some(quoting)
                    && q.interaction_target.as_deref() == Some(quoted)
            })
        });
        if !valid {
            tracing::info!(stamp, quoting, quoted, "quote authorization does not match");
        }
        valid
    }

    /// Fetches a status from its own origin (its author fetched too) and
    /// stores it; `None` when it is gone or was deleted.
    pub async fn fetch_status(&self, uri: &str) -> FedResult<Option<StatusId>> {
        let (id, bytes) = match self.fetch_checked(uri).await {
            Ok(found) => found,
            Err(FederationError::Gone) => return Ok(None),
            Err(e) => return Err(e),
        };
        let note = wire::parse_object(&bytes)
            .map_err(|e| FederationError::Unprocessable(format!("{id}: {e}")))?;
        let author = note
            .attributed_to()
            .ok_or_else(|| refuse(format!("{id} has no author")))?
            .to_owned();
        let actor = self.actor(&author, false).await?;
        let remote = note_to_remote(self, &actor, &note).await?;
        Ok(self.services().create_remote_status(&remote).await?)
    }
}
