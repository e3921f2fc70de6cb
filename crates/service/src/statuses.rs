//! Statuses: posting, reading with visibility rules, deleting, favourites
//! and reblogs.

use ferrodon_model::{AccountId, AppId, Page, PageBounds, StatusId, Visibility};
use ferrodon_storage::accounts;
use ferrodon_storage::marks::{self, Mark};
use ferrodon_storage::statuses::{self, NewStatus, Status};
use ferrodon_storage::{
    StorageError, conversations, follows, idempotency, notifications, tags, users,
};

use crate::jobs::{FanOutStatus, Notify, RemoveFromFeeds};
use crate::relations::HiddenBy;
use crate::text::{self, MentionTarget};
use crate::views::StatusView;
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

    /// Whether `viewer` may see `status` (Mastodon's `StatusPolicy#show?`).
    pub(crate) async fn can_see(&self, viewer: Option<AccountId>, status: &Status) -> Result<bool> {
        let author = accounts::get(self.db(), status.account_id).await?;
        if author.is_none_or(|a| a.suspended_at.is_some()) {
            return Ok(false);
        }
        if self.blocked_by_author(viewer, status.account_id).await? {
            return Ok(false);
        }
        let visibility = status.visibility();
        if visibility.is_public_ish() {
            return Ok(true);
        }
        let Some(viewer) = viewer else {
            return Ok(false);
        };
        if viewer == status.account_id
            || statuses::is_mentioned(self.db(), status.id, viewer).await?
        {
            return Ok(true);
        }
        Ok(visibility == Visibility::Private
            && follows::follows(self.db(), viewer, status.account_id).await?)
    }

    /// The hydrated statuses `viewer` may see, as [`Self::can_see`] decides,
    /// with two queries for the whole batch instead of a few per status:
    /// authors and mentions come with the views, blocks and follows are
    /// looked up for all authors at once. A reblog is also left out when its
    /// original's author is suspended or blocks the viewer.
    pub(crate) async fn visible_views(
        &self,
        viewer: AccountId,
        views: Vec<StatusView>,
    ) -> Result<Vec<StatusView>> {
        // A reblog also needs its original's author in good standing.
        let original = |v: &StatusView| v.reblog.as_ref().map(|r| r.account.id);
        let views: Vec<StatusView> = views
            .into_iter()
            .filter(|v| {
                v.account.suspended_at.is_none()
                    && v.reblog
                        .as_ref()
                        .is_none_or(|r| r.account.suspended_at.is_none())
            })
            .collect();
        let mut authors: Vec<AccountId> = views
            .iter()
            .flat_map(|v| std::iter::once(v.account.id).chain(original(v)))
            .filter(|a| *a != viewer)
            .collect();
        authors.sort_unstable_by_key(|a| a.0);
        authors.dedup();
        let blockers: std::collections::HashSet<i64> = ferrodon_storage::relations::between(
            self.db(),
            viewer,
            &authors,
            ferrodon_storage::now(),
        )
        .await?
        .into_iter()
        .filter(|r| r.kind == "block" && r.target_account_id == viewer.0)
        .map(|r| r.account_id)
        .collect();
        let needs_follow = |v: &StatusView| {
            v.status.visibility() == Visibility::Private
                && v.account.id != viewer
                && !v.mentions.iter().any(|m| m.id == viewer)
        };
        let followed: std::collections::HashSet<i64> = if views.iter().any(needs_follow) {
            follows::between(self.db(), follows::Kind::Follow, viewer, &authors)
                .await?
                .into_iter()
                .filter(|f| f.account_id == viewer)
                .map(|f| f.target_account_id.0)
                .collect()
        } else {
            Default::default()
        };
        Ok(views
            .into_iter()
            .filter(|v| {
                let author = v.account.id;
                let blocked = |a: AccountId| a != viewer && blockers.contains(&a.0);
                if blocked(author) || original(v).is_some_and(blocked) {
                    return false;
                }
                let visibility = v.status.visibility();
                visibility.is_public_ish()
                    || author == viewer
                    || v.mentions.iter().any(|m| m.id == viewer)
                    || (visibility == Visibility::Private && followed.contains(&author.0))
            })
            .collect())
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
        let visible = match viewer {
            Some(v) => self.visible_views(v, views).await?,
            None => views
                .into_iter()
                .filter(|v| {
                    v.account.suspended_at.is_none() && v.status.visibility().is_public_ish()
                })
                .collect(),
        };
        self.drop_hidden(viewer, visible, HiddenBy::AnyAuthor).await
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
            content = crate::quotes::with_fallback_link(&content, &text, q);
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
        tx.commit().await?;

        let stored = statuses::get(db, id)
            .await?
            .ok_or_else(ServiceError::not_found)?;
        self.hydrate_one(Some(author), stored).await
    }

    /// Deletes `status` and what hangs on it; the caller has checked ownership.
    async fn remove_status(&self, status: &Status) -> Result<()> {
        let db = self.db();
        let reblogs = statuses::reblogs_of(db, status.id).await?;
        let thread = conversations::conversation_of(db, status.id).await?;
        let mut tx = db.begin().await?;
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
        let mut ancestors = Vec::new();
        for s in statuses::ancestors(self.db(), status.id, ancestor_limit).await? {
            if self.can_see(viewer, &s).await? {
                ancestors.push(s);
            }
        }
        let mut visible = Vec::new();
        for s in statuses::descendants(self.db(), status.id, descendant_limit).await? {
            if self.can_see(viewer, &s).await? {
                visible.push(s);
            }
        }
        let descendants = depth_first(status.id, visible);
        let ancestors = self.hydrate(viewer, ancestors).await?;
        let descendants = self.hydrate(viewer, descendants).await?;
        Ok((
            self.drop_hidden(viewer, ancestors, HiddenBy::AnyAuthor)
                .await?,
            self.drop_hidden(viewer, descendants, HiddenBy::AnyAuthor)
                .await?,
        ))
    }

    /// `POST /api/v1/statuses/:id/favourite` (idempotent).
    pub async fn favourite(&self, viewer: AccountId, id: StatusId) -> Result<StatusView> {
        let status = self.visible_status(Some(viewer), id).await?;
        if self.blocks(viewer, status.account_id).await? {
            return Err(ServiceError::not_allowed());
        }
        let mut tx = self.db().begin().await?;
        let favourite_id = self.ids().next().0;
        if marks::insert(&mut tx, Mark::Favourite, favourite_id, viewer, status.id).await? {
            statuses::adjust_counts(&mut tx, status.id, 0, 0, 1).await?;
            ferrodon_jobs::enqueue(
                &mut tx,
                self.ids(),
                &Notify {
                    recipient: status.account_id,
                    from: viewer,
                    kind: "favourite".into(),
                    activity_id: favourite_id,
                    status_id: Some(status.id),
                },
            )
            .await?;
        }
        tx.commit().await?;
        self.status(Some(viewer), id).await
    }

    /// `POST /api/v1/statuses/:id/unfavourite` (idempotent).
    pub async fn unfavourite(&self, viewer: AccountId, id: StatusId) -> Result<StatusView> {
        let status = self.visible_status(Some(viewer), id).await?;
        let mut tx = self.db().begin().await?;
        if let Some(favourite_id) =
            marks::delete(&mut tx, Mark::Favourite, viewer, status.id).await?
        {
            statuses::adjust_counts(&mut tx, status.id, 0, 0, -1).await?;
            notifications::delete_for_activity(&mut tx, "favourite", favourite_id).await?;
        }
        tx.commit().await?;
        self.status(Some(viewer), id).await
    }

    /// `POST /api/v1/statuses/:id/reblog`: answers with the reblog (an
    /// existing one if the viewer already reblogged).
    pub async fn reblog(
        &self,
        viewer: AccountId,
        id: StatusId,
        visibility: Option<String>,
    ) -> Result<StatusView> {
        let mut original = self.visible_status(Some(viewer), id).await?;
        if let Some(of) = original.reblog_of() {
            original = self.visible_status(Some(viewer), of).await?;
        }
        if self.blocks(viewer, original.account_id).await? {
            return Err(ServiceError::not_allowed());
        }
        let own = original.account_id == viewer;
        match original.visibility() {
            Visibility::Direct => return Err(ServiceError::not_allowed()),
            Visibility::Private if !own => return Err(ServiceError::not_allowed()),
            _ => {}
        }
        if let Some(existing) = statuses::find_reblog(self.db(), viewer, original.id).await? {
            return self.hydrate_one(Some(viewer), existing).await;
        }
        let account = self.account(viewer).await?;
        let user = users::by_account(self.db(), viewer)
            .await?
            .ok_or_else(ServiceError::not_found)?;
        let visibility = if original.visibility() == Visibility::Private {
            Visibility::Private
        } else {
            match visibility.as_deref().filter(|v| !v.is_empty()) {
                Some(v) => match v.parse::<Visibility>() {
                    Ok(Visibility::Direct) | Err(_) => {
                        return Err(ServiceError::invalid(
                            "Visibility is not included in the list",
                        ));
                    }
                    Ok(v) => v,
                },
                None => match user.default_privacy.parse().unwrap_or(Visibility::Public) {
                    Visibility::Direct => Visibility::Private,
                    v => v,
                },
            }
        };
        let now = ferrodon_storage::now();
        let reblog_id = StatusId::from(self.ids().next());
        let i = self.instance();
        let new = NewStatus {
            id: reblog_id,
            uri: format!("{}/activity", i.status_uri(&account.username, reblog_id.0)),
            url: None,
            account_id: viewer,
            text: String::new(),
            content: String::new(),
            spoiler_text: String::new(),
            sensitive: false,
            visibility,
            language: None,
            in_reply_to_id: None,
            in_reply_to_account_id: None,
            reblog_of_id: Some(original.id),
            application_id: None,
            local: true,
            created_at: now,
            quote_approval_policy: 0,
        };
        let mut tx = self.db().begin().await?;
        match statuses::insert(&mut tx, &new).await {
            // A concurrent reblog by the same account won; answer with it.
            Err(StorageError::Conflict(_)) => {
                drop(tx);
                let existing = statuses::find_reblog(self.db(), viewer, original.id)
                    .await?
                    .ok_or_else(ServiceError::not_found)?;
                return self.hydrate_one(Some(viewer), existing).await;
            }
            other => other?,
        }
        statuses::adjust_counts(&mut tx, original.id, 0, 1, 0).await?;
        accounts::adjust_counts(&mut tx, viewer, 1, 0, 0).await?;
        accounts::set_last_status_at(&mut tx, viewer, now).await?;
        ferrodon_jobs::enqueue(
            &mut tx,
            self.ids(),
            &Notify {
                recipient: original.account_id,
                from: viewer,
                kind: "reblog".into(),
                activity_id: reblog_id.0,
                status_id: Some(original.id),
            },
        )
        .await?;
        ferrodon_jobs::enqueue(
            &mut tx,
            self.ids(),
            &FanOutStatus {
                status_id: reblog_id,
            },
        )
        .await?;
        tx.commit().await?;
        let stored = statuses::get(self.db(), reblog_id)
            .await?
            .ok_or_else(ServiceError::not_found)?;
        self.hydrate_one(Some(viewer), stored).await
    }

    /// `POST /api/v1/statuses/:id/unreblog`: answers with the original.
    pub async fn unreblog(&self, viewer: AccountId, id: StatusId) -> Result<StatusView> {
        let mut original = self.visible_status(Some(viewer), id).await?;
        if let Some(of) = original.reblog_of() {
            original = self.visible_status(Some(viewer), of).await?;
        }
        if let Some(reblog) = statuses::find_reblog(self.db(), viewer, original.id).await? {
            self.remove_status(&reblog).await?;
        }
        self.status(Some(viewer), original.id).await
    }
}

/// Which accounts acted on a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acted {
    Favourited,
    Reblogged,
}

/// Pins an account may have at once (Mastodon's limit).
const MAX_PINS: i64 = 5;

impl Services {
    /// `POST /api/v1/statuses/:id/bookmark` (idempotent).
    pub async fn bookmark(&self, viewer: AccountId, id: StatusId) -> Result<StatusView> {
        let status = self.visible_status(Some(viewer), id).await?;
        marks::insert(
            self.db(),
            Mark::Bookmark,
            self.ids().next().0,
            viewer,
            status.id,
        )
        .await?;
        self.hydrate_one(Some(viewer), status).await
    }

    /// `POST /api/v1/statuses/:id/unbookmark` (idempotent).
    pub async fn unbookmark(&self, viewer: AccountId, id: StatusId) -> Result<StatusView> {
        let status = self.visible_status(Some(viewer), id).await?;
        marks::delete(self.db(), Mark::Bookmark, viewer, status.id).await?;
        self.hydrate_one(Some(viewer), status).await
    }

    /// `POST /api/v1/statuses/:id/pin`: own statuses, not reblogs or direct, five at most.
    pub async fn pin(&self, viewer: AccountId, id: StatusId) -> Result<StatusView> {
        let status = self.visible_status(Some(viewer), id).await?;
        if status.reblog_of_id.is_some() {
            return Err(ServiceError::invalid("Boosts cannot be pinned"));
        }
        if status.account_id != viewer {
            return Err(ServiceError::invalid(
                "Someone else's post cannot be pinned",
            ));
        }
        if status.visibility() == Visibility::Direct {
            return Err(ServiceError::invalid(
                "Posts that are only visible to mentioned users cannot be pinned",
            ));
        }
        let mut tx = self.db().begin().await?;
        let pinned = marks::among(&mut tx, Mark::Pin, viewer, &[status.id]).await?;
        if pinned.is_empty() {
            if marks::count(&mut tx, Mark::Pin, viewer).await? >= MAX_PINS {
                return Err(ServiceError::invalid(
                    "You have already pinned the maximum number of posts",
                ));
            }
            marks::insert(&mut tx, Mark::Pin, self.ids().next().0, viewer, status.id).await?;
        }
        tx.commit().await?;
        self.hydrate_one(Some(viewer), status).await
    }

    /// `POST /api/v1/statuses/:id/unpin`.
    pub async fn unpin(&self, viewer: AccountId, id: StatusId) -> Result<StatusView> {
        let status = self.visible_status(Some(viewer), id).await?;
        marks::delete(self.db(), Mark::Pin, viewer, status.id).await?;
        self.hydrate_one(Some(viewer), status).await
    }

    /// `GET /api/v1/favourites`, `/api/v1/bookmarks` (and an account's pins):
    /// statuses `account` marked that `viewer` may see, newest mark first,
    /// with the mark ids as cursors.
    pub async fn marked_statuses(
        &self,
        viewer: Option<AccountId>,
        account: AccountId,
        mark: Mark,
        bounds: &PageBounds,
    ) -> Result<Page<StatusView>> {
        let rows = marks::statuses(self.db(), mark, account, bounds).await?;
        let newest = rows.first().map(|(m, _)| *m);
        let oldest = rows.last().map(|(m, _)| *m);
        let ids: Vec<StatusId> = rows.iter().map(|(_, s)| StatusId(*s)).collect();
        let mut visible = Vec::new();
        for s in statuses::get_many(self.db(), &ids).await? {
            if self.can_see(viewer, &s).await? {
                visible.push(s);
            }
        }
        visible.sort_by_key(|s| ids.iter().position(|id| *id == s.id));
        Ok(Page {
            items: self.hydrate(viewer, visible).await?,
            next_max_id: oldest,
            prev_min_id: newest,
        })
    }

    /// `GET /api/v1/statuses/:id/favourited_by` and `/reblogged_by`.
    pub async fn acted_on_by(
        &self,
        viewer: Option<AccountId>,
        id: StatusId,
        acted: Acted,
        bounds: &PageBounds,
    ) -> Result<Page<ferrodon_storage::accounts::Account>> {
        let status = self.visible_status(viewer, id).await?;
        let rows = match acted {
            Acted::Favourited => {
                marks::accounts(self.db(), Mark::Favourite, status.id, bounds).await?
            }
            Acted::Reblogged => marks::rebloggers(self.db(), status.id, bounds).await?,
        };
        Ok(Page::from_items(rows, |r| r.follow_id).map(|r| r.account))
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
