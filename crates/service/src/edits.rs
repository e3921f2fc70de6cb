//! Editing statuses (Mastodon's `UpdateStatusService`), their history and source.

use ferrodon_model::{AccountId, StatusId};
use ferrodon_storage::accounts::Account;
use ferrodon_storage::polls::{self, StatusEdit};
use ferrodon_storage::statuses::{self, Status, StatusChange};
use ferrodon_storage::tags;

use crate::jobs::Notify;
use crate::polls::{PollInput, options_json, parse_options};
use crate::statuses::{RenderedText, normalize_language};
use crate::views::StatusView;
use crate::{Result, ServiceError, Services};

/// Input for `PUT /api/v1/statuses/:id`. As in Mastodon, what is left out
/// is reset: no `spoiler_text` clears it, no `poll` removes the poll.
#[derive(Debug, Clone, Default)]
pub struct EditPost {
    pub text: Option<String>,
    pub spoiler_text: Option<String>,
    pub sensitive: Option<bool>,
    pub language: Option<String>,
    pub poll: Option<PollInput>,
    /// Who may quote it from now on (none: the author's default, as
    /// Mastodon's `quote_approval_policy` concern has it). The quote a status
    /// makes cannot be changed.
    pub quote_approval_policy: Option<String>,
}

/// One revision of a status, as `GET /api/v1/statuses/:id/history` lists it.
#[derive(Debug, Clone)]
pub struct EditView {
    pub edit: StatusEdit,
    pub account: Account,
    pub poll_options: Option<Vec<String>>,
    /// The status's quote: a quote cannot be changed by an edit, so every
    /// revision of a quote post shows it (Mastodon's `StatusEditSerializer`).
    pub quote: Option<crate::views::QuoteView>,
}

/// `GET /api/v1/statuses/:id/source`.
#[derive(Debug, Clone)]
pub struct StatusSource {
    pub id: StatusId,
    pub text: String,
    pub spoiler_text: String,
}

impl Services {
    /// The viewer's own status (not a reblog) for editing or its source:
    /// anyone else's is a 404, as Mastodon looks it up among the viewer's.
    async fn own_status(&self, viewer: AccountId, id: StatusId) -> Result<Status> {
        let status = statuses::get(self.db(), id)
            .await?
            .filter(|s| s.account_id == viewer)
            .ok_or_else(ServiceError::not_found)?;
        if status.reblog_of_id.is_some() {
            return Err(ServiceError::not_allowed());
        }
        Ok(status)
    }

    /// `PUT /api/v1/statuses/:id`: records the original (first time) and the
    /// new revision, re-renders the text (mentions, hashtags), replaces or
    /// removes the poll (changed options reset its votes) and tells those who
    /// reblogged it. An edit that changes nothing records nothing.
    pub async fn edit_status(
        &self,
        viewer: AccountId,
        id: StatusId,
        input: EditPost,
    ) -> Result<StatusView> {
        let db = self.db();
        let status = self.own_status(viewer, id).await?;
        let now = ferrodon_storage::now();

        // Mastodon: a blank text takes the content warning's place (which then stays as it was).
        let given_text = input.text.as_deref().map(str::trim).unwrap_or("");
        let (text, spoiler_text, spoiler_given) = if given_text.is_empty() {
            match input.spoiler_text.as_deref().map(str::trim) {
                Some(cw) if !cw.is_empty() => (cw.to_owned(), status.spoiler_text.clone(), false),
                _ => (String::new(), String::new(), true),
            }
        } else {
            let cw = input
                .spoiler_text
                .as_deref()
                .unwrap_or("")
                .trim()
                .to_owned();
            (given_text.to_owned(), cw, true)
        };
        if text.is_empty() {
            return Err(ServiceError::invalid("Text can't be blank"));
        }
        self.check_length(&text, &spoiler_text)?;
        let sensitive =
            input.sensitive.unwrap_or(false) || (spoiler_given && !spoiler_text.is_empty());
        let language = input
            .language
            .as_deref()
            .and_then(normalize_language)
            .or(status.language.clone());

        let quote_policy = self
            .quote_policy_for_post(
                viewer,
                input.quote_approval_policy.as_deref(),
                status.visibility(),
            )
            .await?;
        let previous_poll = polls::of_status(db, status.id).await?;
        let new_poll = match &input.poll {
            Some(p) => Some(crate::polls::validate(p, &self.instance().limits, now)?),
            None => None,
        };
        // A new end date alone counts as a change, as in Mastodon.
        let poll_changed = previous_poll.is_some() || new_poll.is_some();
        let text_changed = text != status.text
            || spoiler_text != status.spoiler_text
            || sensitive != status.sensitive
            || language != status.language;
        if !text_changed && !poll_changed {
            // A new quote policy alone is no edit.
            if statuses::set_quote_approval_policy(db, status.id, quote_policy).await? {
                let stored = statuses::get(db, status.id)
                    .await?
                    .ok_or_else(ServiceError::not_found)?;
                return self.hydrate_one(Some(viewer), stored).await;
            }
            return self.hydrate_one(Some(viewer), status).await;
        }

        let RenderedText {
            mut content,
            mentioned,
            hashtags,
        } = self.render_text(&text).await?;
        let quote = ferrodon_storage::quotes::of_status(db, status.id).await?;
        if let Some(quoted_id) = quote.as_ref().and_then(|q| q.quoted_status())
            && let Some(quoted) = statuses::get(db, quoted_id).await?
        {
            content = crate::quote_policy::with_fallback_link(&content, &text, &quoted);
        }
        // Mastodon fetches the card again only when the text itself changed.
        let body_changed = text != status.text;
        let new_text = text.clone();
        let rebloggers = statuses::reblogs_of(db, status.id).await?;
        let quoters = ferrodon_storage::quotes::accepted_quoters(db, status.id).await?;

        let mut tx = db.begin().await?;
        // One edit of a status at a time: the row lock is taken first, and
        // what the edit replaces (poll, first revision) is read under it, so
        // two concurrent edits never both insert a poll or a first revision.
        statuses::lock(&mut tx, status.id).await?;
        let previous_poll = polls::of_status(&mut tx, status.id).await?;
        let had_edits = !polls::edits_of(&mut tx, status.id).await?.is_empty();
        statuses::set_quote_approval_policy(&mut tx, status.id, quote_policy).await?;
        if !had_edits {
            // The original becomes the first revision.
            polls::insert_edit(
                &mut tx,
                &StatusEdit {
                    id: self.ids().next().0,
                    status_id: status.id,
                    account_id: Some(viewer.0),
                    text: status.text.clone(),
                    content: status.content.clone(),
                    spoiler_text: status.spoiler_text.clone(),
                    sensitive: status.sensitive,
                    poll_options: previous_poll.as_ref().map(|p| p.options.clone()),
                    created_at: status.created_at,
                },
            )
            .await?;
        }
        let mut poll_options = None;
        match (&previous_poll, &new_poll) {
            (Some(old), Some(new)) => {
                let options = new.options_json();
                if parse_options(&old.options) != new.options || old.multiple != new.multiple {
                    polls::reset_votes(&mut tx, old.id).await?;
                }
                polls::update(
                    &mut tx,
                    old.id,
                    &options,
                    new.multiple,
                    new.hide_totals,
                    new.expires_at,
                    now,
                )
                .await?;
                crate::polls::queue_expiry(&mut tx, self.ids(), old.id, new.expires_at).await?;
                poll_options = Some(options);
            }
            (None, Some(new)) => {
                let poll_id = self.ids().next().0;
                polls::insert(
                    &mut tx,
                    &polls::NewPoll {
                        id: poll_id,
                        status_id: status.id,
                        account_id: viewer,
                        expires_at: new.expires_at,
                        options: new.options_json(),
                        multiple: new.multiple,
                        hide_totals: new.hide_totals,
                        created_at: now,
                    },
                )
                .await?;
                crate::polls::queue_expiry(&mut tx, self.ids(), poll_id, new.expires_at).await?;
                poll_options = Some(options_json(&new.options));
            }
            (Some(old), None) => {
                polls::delete(&mut tx, old.id).await?;
            }
            (None, None) => {}
        }
        statuses::update_content(
            &mut tx,
            status.id,
            &StatusChange {
                text: text.clone(),
                content: content.clone(),
                spoiler_text: spoiler_text.clone(),
                sensitive,
                language,
                edited_at: now,
            },
        )
        .await?;
        let added = statuses::replace_mentions(&mut tx, self.ids(), status.id, &mentioned).await?;
        // The quoted author keeps seeing the quote, mentioned or not.
        if let Some(q) = &quote
            && let Some(quoted_author) = q.quoted_account_id.filter(|a| *a != viewer.0)
        {
            statuses::insert_silent_mention(
                &mut tx,
                self.ids().next().0,
                status.id,
                AccountId(quoted_author),
            )
            .await?;
        }
        tags::detach_all(&mut tx, status.id).await?;
        self.attach_tags(&mut tx, status.id, &hashtags).await?;
        let edit_id = self.ids().next().0;
        polls::insert_edit(
            &mut tx,
            &StatusEdit {
                id: edit_id,
                status_id: status.id,
                account_id: Some(viewer.0),
                text,
                content,
                spoiler_text,
                sensitive,
                poll_options,
                created_at: now,
            },
        )
        .await?;
        if body_changed {
            ferrodon_storage::preview_cards::detach(&mut tx, status.id).await?;
            self.queue_link_card(&mut tx, status.id, &new_text).await?;
        }
        // Newly mentioned accounts hear of it as of a new mention.
        for account in added {
            ferrodon_jobs::enqueue(
                &mut tx,
                self.ids(),
                &Notify {
                    recipient: account,
                    from: viewer,
                    kind: "mention".into(),
                    activity_id: status.id.0,
                    status_id: Some(status.id),
                },
            )
            .await?;
        }
        // Those who boosted it are told it changed (Mastodon's `notify_about_update!`).
        for (_, reblogger) in &rebloggers {
            ferrodon_jobs::enqueue(
                &mut tx,
                self.ids(),
                &Notify {
                    recipient: AccountId(*reblogger),
                    from: viewer,
                    kind: "update".into(),
                    activity_id: edit_id,
                    status_id: Some(status.id),
                },
            )
            .await?;
        }
        // Those who quoted it are told it changed (Mastodon's `quoted_update`,
        // about their own quote).
        for (quoting, quoter) in &quoters {
            ferrodon_jobs::enqueue(
                &mut tx,
                self.ids(),
                &Notify {
                    recipient: AccountId(*quoter),
                    from: viewer,
                    kind: "quoted_update".into(),
                    activity_id: self.ids().next().0,
                    status_id: Some(StatusId(*quoting)),
                },
            )
            .await?;
        }
        self.federate_status(&mut tx, status.id, true).await?;
        tx.commit().await?;
        let stored = statuses::get(db, status.id)
            .await?
            .ok_or_else(ServiceError::not_found)?;
        self.hydrate_one(Some(viewer), stored).await
    }

    /// `GET /api/v1/statuses/:id/history`: revisions oldest first, the
    /// original included; a status never edited has one.
    pub async fn status_history(
        &self,
        viewer: Option<AccountId>,
        id: StatusId,
    ) -> Result<Vec<EditView>> {
        let status = self.visible_status(viewer, id).await?;
        let account = self.account(status.account_id).await?;
        let quote = match ferrodon_storage::quotes::of_status(self.db(), status.id).await? {
            Some(_) => self.hydrate_one(viewer, status.clone()).await?.quote,
            None => None,
        };
        let mut edits = polls::edits_of(self.db(), status.id).await?;
        if edits.is_empty() {
            let poll = polls::of_status(self.db(), status.id).await?;
            edits.push(StatusEdit {
                id: status.id.0,
                status_id: status.id,
                account_id: Some(status.account_id.0),
                text: status.text.clone(),
                content: status.content.clone(),
                spoiler_text: status.spoiler_text.clone(),
                sensitive: status.sensitive,
                poll_options: poll.map(|p| p.options),
                created_at: status.edited_at.unwrap_or(status.created_at),
            });
        }
        Ok(edits
            .into_iter()
            .map(|edit| EditView {
                poll_options: edit.poll_options.as_deref().map(parse_options),
                edit,
                account: account.clone(),
                quote: quote.clone(),
            })
            .collect())
    }

    /// `GET /api/v1/statuses/:id/source`: the author's own statuses only.
    pub async fn status_source(&self, viewer: AccountId, id: StatusId) -> Result<StatusSource> {
        let status = statuses::get(self.db(), id)
            .await?
            .filter(|s| s.account_id == viewer)
            .ok_or_else(ServiceError::not_found)?;
        Ok(StatusSource {
            id: status.id,
            text: status.text,
            spoiler_text: status.spoiler_text,
        })
    }
}
