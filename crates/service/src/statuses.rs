//! Statuses: posting, reading one or several (through the one visibility
//! function, `visibility`), threads, deleting.

use ferrodon_model::{AccountId, AppId, StatusId, Visibility};
use ferrodon_storage::accounts;
use ferrodon_storage::statuses::{self, NewStatus, Status};
use ferrodon_storage::{conversations, idempotency, notifications, tags, users};

use crate::jobs::{FanOutStatus, RemoveFromFeeds};
use crate::text::{self, MentionTarget};
use crate::views::StatusView;
use crate::visibility::Hide;
use crate::{Result, ServiceError, Services};

/// How long an `Idempotency-Key` is remembered (Mastodon: one hour).
const IDEMPOTENCY_WINDOW_HOURS: i64 = 1;

/// Input for `POST /api/v1/statuses`.
#[derive(Debug, Clone, Default)]
pub struct NewPost {
    pub text: Option<String>,
    pub spoiler_text: Option<String>,
    pub sensitive: Option<bool>,
    pub visibility: Option<String>,
    pub in_reply_to_id: Option<StatusId>,
    pub language: Option<String>,
    pub idempotency_key: Option<String>,
    pub application: Option<AppId>,
    pub poll: Option<crate::polls::PollInput>,
    /// Uploads to attach, in this order (`media_ids[]`).
    pub media_ids: Vec<i64>,
    /// The status to quote (`quoted_status_id`).
    pub quoted_status_id: Option<StatusId>,
    /// Who may quote this one: `public`, `followers` or `nobody` (none: the
    /// author's default).
    pub quote_approval_policy: Option<String>,
}

/// A status text rendered to HTML, with what it mentions and tags.
pub(crate) struct RenderedText {
    pub content: String,
    pub mentioned: Vec<AccountId>,
    pub hashtags: Vec<String>,
}

/// A language code as stored: ISO 639 (two or three letters), lower-case;
/// `None` when it is not one.
pub fn normalize_language(code: &str) -> Option<String> {
    let code = code.trim();
    let base = code.split(['-', '_']).next().unwrap_or(code);
    (matches!(base.len(), 2 | 3) && base.chars().all(|c| c.is_ascii_alphabetic()))
        .then(|| base.to_ascii_lowercase())
}

/// Characters a status counts against the limit: URLs count as a fixed
/// number, remote mentions only by their username (as Mastodon counts).
fn counted_length(text: &str, url_weight: usize) -> usize {
    let mut count = 0;
    for word in text.split_inclusive(char::is_whitespace) {
        let bare = word.trim_end();
        let trailing = word.chars().count() - bare.chars().count();
        if bare.starts_with("https://") || bare.starts_with("http://") {
            count += url_weight + trailing;
        } else if let Some(rest) = bare.strip_prefix('@')
            && let Some((user, _domain)) = rest.split_once('@')
        {
            count += 1 + user.chars().count() + trailing;
        } else {
            count += word.chars().count();
        }
    }
    count
}

impl Services {
    /// Mastodon's length rule: URLs count as a fixed number of characters,
    /// the content warning counts too.
    pub(crate) fn check_length(&self, text: &str, spoiler_text: &str) -> Result<()> {
        let limits = &self.instance().limits;
        if counted_length(text, limits.characters_reserved_per_url) + spoiler_text.chars().count()
            > limits.max_status_chars
        {
            return Err(ServiceError::invalid(format!(
                "Text character limit of {} exceeded",
                limits.max_status_chars
            )));
        }
        Ok(())
    }

    /// Renders a status text: mentions resolved and linked, hashtags linked.
    pub(crate) async fn render_text(&self, text: &str) -> Result<RenderedText> {
        let domain = self.instance().domain.clone();
        let extracted = text::extract(text, &domain);
        let targets = self.mention_targets(&extracted.mentions).await?;
        let mentioned: Vec<AccountId> = targets.iter().map(|(a, _)| a.id).collect();
        let link_targets: Vec<MentionTarget> = targets.into_iter().map(|(_, t)| t).collect();
        let i = self.instance();
        let content = text::render(text, &domain, &link_targets, |t| i.tag_url(t), true);
        Ok(RenderedText {
            content,
            mentioned,
            hashtags: extracted.hashtags,
        })
    }

    /// Attaches hashtags (creating the tags) to a status inside `tx`.
    pub(crate) async fn attach_tags(
        &self,
        tx: &mut ferrodon_storage::Tx,
        status: StatusId,
        hashtags: &[String],
    ) -> Result<()> {
        for name in hashtags {
            let normalized = text::normalize_hashtag(name);
            let tag = tags::find_or_create(&mut *tx, self.ids(), &normalized, name).await?;
            tags::attach(&mut *tx, status, tag.id).await?;
        }
        Ok(())
    }

    /// `GET /api/v1/statuses?id[]=…`: of `ids`, the statuses `viewer` may see
    /// and has not hidden (blocked, muted, domain-blocked authors), in the
    /// order asked for; unknown ids are left out.
    pub async fn statuses_by_ids(
        &self,
        viewer: Option<AccountId>,
        ids: &[StatusId],
    ) -> Result<Vec<StatusView>> {
        let views = self.hydrate_ids(viewer, ids).await?;
        self.visible(viewer, views, Hide::HiddenAuthors).await
    }

    /// The ActivityPub ids of these statuses (local ones from the instance's
    /// URL as configured now), for those that exist.
    pub async fn status_uris(
        &self,
        ids: &[StatusId],
    ) -> Result<std::collections::HashMap<StatusId, String>> {
        let list = statuses::get_many(self.db(), ids).await?;
        let authors: Vec<AccountId> = list.iter().map(|s| s.account_id).collect();
        let authors: std::collections::HashMap<AccountId, accounts::Account> =
            accounts::get_many(self.db(), &authors)
                .await?
                .into_iter()
                .map(|a| (a.id, a))
                .collect();
        let i = self.instance();
        Ok(list
            .into_iter()
            .map(|s| {
                let uri = match authors.get(&s.account_id) {
                    Some(a) if s.local => i.status_uri(&a.username, s.id.0),
                    _ => s.uri.clone(),
                };
                (s.id, uri)
            })
            .collect())
    }

    /// A status `viewer` may see, or 404.
    pub(crate) async fn visible_status(
        &self,
        viewer: Option<AccountId>,
        id: StatusId,
    ) -> Result<Status> {
        let status = statuses::get(self.db(), id)
            .await?
            .ok_or_else(ServiceError::not_found)?;
        if !self.can_see(viewer, &status).await? {
            return Err(ServiceError::NotFound("Record not found"));
        }
        Ok(status)
    }

    /// `GET /api/v1/statuses/:id`.
    pub async fn status(&self, viewer: Option<AccountId>, id: StatusId) -> Result<StatusView> {
        let status = self.visible_status(viewer, id).await?;
        self.hydrate_one(viewer, status).await
    }

    /// `POST /api/v1/statuses`.
    pub async fn post(&self, author: AccountId, input: NewPost) -> Result<StatusView> {
        let db = self.db();
        let now = ferrodon_storage::now();
        let window_start = now - chrono::Duration::hours(IDEMPOTENCY_WINDOW_HOURS);
        let key = input
            .idempotency_key
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(|k| k.chars().take(255).collect::<String>());
        if let Some(key) = &key
            && let Some(existing) = idempotency::find(db, author, key, window_start).await?
            && let Some(status) = statuses::get(db, existing).await?
        {
            return self.hydrate_one(Some(author), status).await;
        }

        let account = self.account(author).await?;
        let user = users::by_account(db, author)
            .await?
            .ok_or_else(ServiceError::not_found)?;
        let text = input.text.unwrap_or_default().trim().to_owned();
        let spoiler_text = input.spoiler_text.unwrap_or_default().trim().to_owned();
        // A status may be only media or only a quote (Mastodon:
        // `unless: -> { with_media? || reblog? || with_quote? }`).
        if text.is_empty() && input.media_ids.is_empty() && input.quoted_status_id.is_none() {
            return Err(ServiceError::invalid("Text can't be blank"));
        }
        self.check_length(&text, &spoiler_text)?;
        let poll = match &input.poll {
            Some(p) => Some(crate::polls::validate(p, &self.instance().limits, now)?),
            None => None,
        };
        let mut visibility = match input.visibility.as_deref().filter(|v| !v.is_empty()) {
            Some(v) => v
                .parse::<Visibility>()
                .map_err(|_| ServiceError::invalid("Visibility is not included in the list"))?,
            None => user.default_privacy.parse().unwrap_or(Visibility::Public),
        };
        let parent = match input.in_reply_to_id {
            Some(id) => {
                let parent = statuses::get(db, id).await?;
                match parent {
                    Some(p)
                        if p.reblog_of_id.is_none() && self.can_see(Some(author), &p).await? =>
                    {
                        Some(p)
                    }
                    _ => {
                        return Err(ServiceError::NotFound(
                            "The post you are trying to reply to does not appear to exist.",
                        ));
                    }
                }
            }
            None => None,
        };
        let quoted = match input.quoted_status_id {
            Some(id) => Some(self.quotable(author, id).await?),
            None => None,
        };
        // A reply to a direct message stays direct unless asked otherwise.
        if input.visibility.is_none()
            && let Some(p) = &parent
            && p.visibility() == Visibility::Direct
        {
            visibility = Visibility::Direct;
        }
        // Quoting a followers-only status keeps the quote among followers.
        if let Some(q) = &quoted
            && q.visibility() == Visibility::Private
            && visibility.is_public_ish()
        {
            visibility = Visibility::Private;
        }
        let quote_policy = self
            .quote_policy_for_post(author, input.quote_approval_policy.as_deref(), visibility)
            .await?;
        let language = input
            .language
            .as_deref()
            .and_then(normalize_language)
            .or(user.default_language.clone());
        let sensitive =
            input.sensitive.unwrap_or(user.default_sensitive) || !spoiler_text.is_empty();

        let media_ids = self.media_for_post(author, &input.media_ids).await?;

        let RenderedText {
            mut content,
            mentioned,
            hashtags,
        } = self.render_text(&text).await?;
        let i = self.instance();
        if let Some(q) = &quoted {
            // A direct quote must mention whom it quotes (Mastodon's
            // `safeguard_private_mention_quote!`).
            if visibility == Visibility::Direct
                && q.account_id != author
                && !mentioned.contains(&q.account_id)
            {
                return Err(ServiceError::invalid(
                    "Cannot quote a non-mentioned user in a Private Mention post.",
                ));
            }
            content = crate::quote_policy::with_fallback_link(&content, &text, q);
        }

        let id = StatusId::from(self.ids().next());
        let status = NewStatus {
            id,
            uri: i.status_uri(&account.username, id.0),
            url: Some(i.status_url(&account.username, id.0)),
            account_id: author,
            text,
            content,
            spoiler_text,
            sensitive,
            visibility,
            language,
            in_reply_to_id: parent.as_ref().map(|p| p.id),
            in_reply_to_account_id: parent.as_ref().map(|p| p.account_id),
            reblog_of_id: None,
            application_id: input.application,
            local: true,
            created_at: now,
            quote_approval_policy: quote_policy,
        };

        let thread = match &parent {
            Some(p) => conversations::conversation_of(db, p.id)
                .await?
                .unwrap_or(p.id.0),
            None => id.0,
        };
        let mut tx = db.begin().await?;
        statuses::insert(&mut tx, &status).await?;
        conversations::set_conversation(&mut tx, id, thread).await?;
        if let Some(key) = &key
            && !idempotency::claim(&mut tx, author, key, id, window_start).await?
        {
            // Another request with this key won: answer with its status.
            drop(tx);
            let existing = idempotency::find(db, author, key, window_start)
                .await?
                .ok_or_else(ServiceError::not_found)?;
            let status = statuses::get(db, existing)
                .await?
                .ok_or_else(ServiceError::not_found)?;
            return self.hydrate_one(Some(author), status).await;
        }
        self.attach_media(&mut tx, author, id, &media_ids).await?;
        statuses::insert_mentions(&mut tx, self.ids(), id, &mentioned).await?;
        self.attach_tags(&mut tx, id, &hashtags).await?;
        if let Some(p) = &poll {
            let poll_id = self.ids().next().0;
            ferrodon_storage::polls::insert(
                &mut tx,
                &ferrodon_storage::polls::NewPoll {
                    id: poll_id,
                    status_id: id,
                    account_id: author,
                    expires_at: p.expires_at,
                    options: p.options_json(),
                    multiple: p.multiple,
                    hide_totals: p.hide_totals,
                    created_at: now,
                },
            )
            .await?;
            crate::polls::queue_expiry(&mut tx, self.ids(), poll_id, p.expires_at).await?;
        }
        if visibility != Visibility::Direct {
            accounts::adjust_counts(&mut tx, author, 1, 0, 0).await?;
            accounts::set_last_status_at(&mut tx, author, now).await?;
        }
        if let Some(p) = &parent
            && visibility.is_public_ish()
        {
            statuses::adjust_counts(&mut tx, p.id, 1, 0, 0).await?;
        }
        if let Some(q) = &quoted {
            self.attach_quote(&mut tx, id, author, q, now).await?;
        }
        ferrodon_jobs::enqueue(&mut tx, self.ids(), &FanOutStatus { status_id: id }).await?;
        self.queue_link_card(&mut tx, id, &status.text).await?;
        self.federate_status(&mut tx, id, false).await?;
        tx.commit().await?;

        let stored = statuses::get(db, id)
            .await?
            .ok_or_else(ServiceError::not_found)?;
        self.hydrate_one(Some(author), stored).await
    }

    /// Deletes `status` and what hangs on it; the caller has checked ownership.
    pub(crate) async fn remove_status(&self, status: &Status) -> Result<()> {
        let db = self.db();
        let reblogs = statuses::reblogs_of(db, status.id).await?;
        let thread = conversations::conversation_of(db, status.id).await?;
        let uris = match status.local {
            true => {
                let ids: Vec<StatusId> = std::iter::once(status.id)
                    .chain(status.reblog_of())
                    .collect();
                self.status_uris(&ids).await?
            }
            false => std::collections::HashMap::new(),
        };
        let mut tx = db.begin().await?;
        self.federate_delete(&mut tx, status, &uris).await?;
        // Its media stay a day, unattached, so a redraft can reuse them.
        ferrodon_storage::media::detach_all(&mut tx, status.id).await?;
        let quote = ferrodon_storage::quotes::delete_of_status(&mut tx, status.id).await?;
        if !statuses::delete(&mut tx, status.id).await? {
            return Ok(());
        }
        if let Some(thread) = thread
            && status.visibility() == Visibility::Direct
        {
            conversations::remove_status(&mut tx, thread, status.id).await?;
        }
        if status.visibility() != Visibility::Direct {
            accounts::adjust_counts(&mut tx, status.account_id, -1, 0, 0).await?;
        }
        if let Some(parent) = status.in_reply_to()
            && status.visibility().is_public_ish()
        {
            statuses::adjust_counts(&mut tx, parent, -1, 0, 0).await?;
        }
        if let Some(original) = status.reblog_of() {
            statuses::adjust_counts(&mut tx, original, 0, -1, 0).await?;
            notifications::delete_for_activity(&mut tx, "reblog", status.id.0).await?;
        }
        // Its quote goes with it; an accepted one was counted.
        if let Some(q) = &quote
            && q.state() == ferrodon_storage::quotes::QuoteState::Accepted
            && let Some(quoted) = q.quoted_status()
        {
            statuses::adjust_quotes_count(&mut tx, quoted, -1).await?;
        }
        for (reblog_id, reblogger) in &reblogs {
            accounts::adjust_counts(&mut tx, AccountId(*reblogger), -1, 0, 0).await?;
            ferrodon_jobs::enqueue(
                &mut tx,
                self.ids(),
                &RemoveFromFeeds {
                    status_id: StatusId(*reblog_id),
                    account_id: AccountId(*reblogger),
                },
            )
            .await?;
        }
        ferrodon_jobs::enqueue(
            &mut tx,
            self.ids(),
            &RemoveFromFeeds {
                status_id: status.id,
                account_id: status.account_id,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// `DELETE /api/v1/statuses/:id`: own statuses only; answers with the
    /// deleted status and its source text, for redrafting.
    pub async fn delete_status(&self, viewer: AccountId, id: StatusId) -> Result<StatusView> {
        let status = statuses::get(self.db(), id)
            .await?
            .filter(|s| s.account_id == viewer && s.reblog_of_id.is_none())
            .ok_or_else(ServiceError::not_found)?;
        let mut view = self.hydrate_one(Some(viewer), status.clone()).await?;
        self.remove_status(&status).await?;
        view.source_requested = true;
        view.account = self.account(viewer).await?;
        Ok(view)
    }

    /// `GET /api/v1/statuses/:id/context`: visible ancestors (oldest first)
    /// and descendants (depth first).
    pub async fn context(
        &self,
        viewer: Option<AccountId>,
        id: StatusId,
    ) -> Result<(Vec<StatusView>, Vec<StatusView>)> {
        let status = self.visible_status(viewer, id).await?;
        let (ancestor_limit, descendant_limit) = if viewer.is_some() {
            (4096, 4096)
        } else {
            (40, 60)
        };
        let ancestors = statuses::ancestors(self.db(), status.id, ancestor_limit).await?;
        let descendants = statuses::descendants(self.db(), status.id, descendant_limit).await?;
        // What the reader may not see is left out before the tree is walked
        // (replies to it go with it); replies by authors the reader hides
        // are left out after, so the replies to them stay.
        let all = [ancestors.as_slice(), descendants.as_slice()].concat();
        let permitted = self.visible_ids(viewer, &all, Hide::Nothing).await?;
        let ancestors = ancestors
            .into_iter()
            .filter(|s| permitted.contains(&s.id))
            .collect();
        let descendants = depth_first(
            status.id,
            descendants
                .into_iter()
                .filter(|s| permitted.contains(&s.id))
                .collect(),
        );
        let ancestors = self.hydrate(viewer, ancestors).await?;
        let descendants = self.hydrate(viewer, descendants).await?;
        Ok((
            self.visible(viewer, ancestors, Hide::HiddenAuthors).await?,
            self.visible(viewer, descendants, Hide::HiddenAuthors)
                .await?,
        ))
    }
}

/// Orders replies depth first: each reply right after its parent, siblings by id.
fn depth_first(root: StatusId, replies: Vec<Status>) -> Vec<Status> {
    let mut children: std::collections::HashMap<Option<StatusId>, Vec<Status>> =
        std::collections::HashMap::new();
    for s in replies {
        children.entry(s.in_reply_to()).or_default().push(s);
    }
    for list in children.values_mut() {
        list.sort_by_key(|s| s.id);
    }
    let mut out = Vec::new();
    let mut stack: Vec<Status> = children.remove(&Some(root)).unwrap_or_default();
    stack.reverse();
    while let Some(s) = stack.pop() {
        let id = s.id;
        out.push(s);
        if let Some(mut kids) = children.remove(&Some(id)) {
            kids.reverse();
            stack.extend(kids);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_remote_mentions_count_as_mastodon_counts() {
        let url = format!("https://example.com/{}", "a".repeat(100));
        assert_eq!(counted_length(&format!("see {url}"), 23), 4 + 23);
        assert_eq!(counted_length("hi @bob@remote.example", 23), 3 + 4);
        assert_eq!(counted_length("héllo wörld", 23), 11);
    }

    #[test]
    fn languages() {
        assert_eq!(normalize_language("EN"), Some("en".into()));
        assert_eq!(normalize_language("pt-BR"), Some("pt".into()));
        assert_eq!(normalize_language("english"), None);
        assert_eq!(normalize_language(""), None);
    }
}
