//! Quote posts (Mastodon 4.5): quoting, the list of a status's quotes,
//! revoking a quote and changing a status's policy. The rules themselves
//! (policies, states) are in `quote_policy`.

use std::collections::{HashMap, HashSet};

use ferrodon_model::{AccountId, Page, PageBounds, StatusId, Visibility};
use ferrodon_storage::quotes::{self, QuoteState};
use ferrodon_storage::statuses::{self, Status};
use ferrodon_storage::users;

use crate::jobs::Notify;
pub use crate::quote_policy::*;
use crate::views::StatusView;
use crate::visibility::Hide;
use crate::{Result, ServiceError, Services};

impl Services {
    /// Records that new status `id` of `author` quotes `quoted`, inside the
    /// post's transaction: accepted at once (a local quoted status), counted,
    /// the quoted author mentioned silently so they can see a private quote
    /// (Mastodon's `ensure_quoted_access`) and told (`quote`).
    pub(crate) async fn attach_quote(
        &self,
        tx: &mut ferrodon_storage::Tx,
        id: StatusId,
        author: AccountId,
        quoted: &Status,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        self.attach_quote_in(tx, id, author, quoted, QuoteState::Accepted, now)
            .await
    }

    /// Records the quote status `id` makes in `state`; an accepted one is
    /// counted, and the quoted author (if local) is mentioned silently and
    /// notified.
    pub(crate) async fn attach_quote_in(
        &self,
        tx: &mut ferrodon_storage::Tx,
        id: StatusId,
        author: AccountId,
        quoted: &Status,
        state: QuoteState,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        let quote_id = self.ids().next().0;
        quotes::insert(
            &mut *tx,
            &quotes::NewQuote {
                id: quote_id,
                status_id: id,
                account_id: author,
                quoted_status_id: quoted.id,
                quoted_account_id: quoted.account_id,
                state,
                created_at: now,
            },
        )
        .await?;
        if state != QuoteState::Accepted {
            return Ok(());
        }
        statuses::adjust_quotes_count(&mut *tx, quoted.id, 1).await?;
        if quoted.account_id != author {
            statuses::insert_silent_mention(&mut *tx, self.ids().next().0, id, quoted.account_id)
                .await?;
        }
        if !quoted.local {
            return Ok(());
        }
        ferrodon_jobs::enqueue(
            tx,
            self.ids(),
            &Notify {
                recipient: quoted.account_id,
                from: author,
                kind: "quote".into(),
                activity_id: quote_id,
                status_id: Some(id),
            },
        )
        .await?;
        Ok(())
    }

    /// The status `author` asks to quote (the original of a reblog), if it
    /// exists and they may quote it (Mastodon's `StatusPolicy#quote?`:
    /// visible, and not denied by its policy); otherwise 404.
    pub(crate) async fn quotable(&self, author: AccountId, id: StatusId) -> Result<Status> {
        let not_found = || ServiceError::NotFound(QUOTED_NOT_FOUND);
        let mut status = statuses::get(self.db(), id).await?.ok_or_else(not_found)?;
        if let Some(original) = status.reblog_of() {
            status = statuses::get(self.db(), original)
                .await?
                .ok_or_else(not_found)?;
        }
        if !self.can_see(Some(author), &status).await? {
            return Err(not_found());
        }
        let ties = if author != status.account_id && needs_ties(status.quote_approval_policy) {
            let pairs = quotes::follows_with(self.db(), author, &[status.account_id]).await?;
            Ties {
                follows_author: pairs.contains(&(author.0, status.account_id.0)),
                followed_by_author: pairs.contains(&(status.account_id.0, author.0)),
            }
        } else {
            Ties::default()
        };
        match policy_for(&status, Some(author), ties) {
            "automatic" | "manual" | "unknown" => Ok(status),
            _ => Err(not_found()),
        }
    }

    /// `GET /api/v1/statuses/:id/quotes`: accepted quotes of one of the
    /// viewer's own statuses, newest first, paged by quote id (as Mastodon
    /// 4.5, only the author may list them; 403 for anyone else).
    pub async fn status_quotes(
        &self,
        viewer: AccountId,
        id: StatusId,
        bounds: &PageBounds,
    ) -> Result<Page<StatusView>> {
        let status = self.visible_status(Some(viewer), id).await?;
        if status.account_id != viewer {
            return Err(ServiceError::not_allowed());
        }
        let rows = quotes::accepted_page(self.db(), status.id, bounds).await?;
        let newest = rows.first().map(|(q, _)| *q);
        let oldest = rows.last().map(|(q, _)| *q);
        let ids: Vec<StatusId> = rows.iter().map(|(_, s)| StatusId(*s)).collect();
        let views = self.hydrate_ids(Some(viewer), &ids).await?;
        let views = self
            .visible(Some(viewer), views, Hide::HiddenAuthors)
            .await?;
        Ok(Page {
            items: views,
            // As Mastodon: a next page when this one was full before hidden
            // authors were dropped.
            next_max_id: oldest.filter(|_| rows.len() == bounds.limit as usize),
            prev_min_id: newest,
        })
    }

    /// `POST /api/v1/statuses/:id/quotes/:quoting_status_id/revoke`: the
    /// quoted author withdraws their approval (accepted → revoked, pending →
    /// rejected); answers with the quoting status.
    pub async fn revoke_quote(
        &self,
        viewer: AccountId,
        id: StatusId,
        quoting: StatusId,
    ) -> Result<StatusView> {
        let status = self.visible_status(Some(viewer), id).await?;
        let quote = quotes::find(self.db(), status.id, quoting)
            .await?
            .ok_or_else(ServiceError::not_found)?;
        if quote.quoted_account_id != Some(viewer.0) {
            return Err(ServiceError::not_allowed());
        }
        let now = ferrodon_storage::now();
        let mut tx = self.db().begin().await?;
        match quote.state() {
            QuoteState::Accepted => {
                if quotes::set_state(&mut tx, quote.id, QuoteState::Revoked, now).await? {
                    statuses::adjust_quotes_count(&mut tx, status.id, -1).await?;
                }
            }
            QuoteState::Revoked => {}
            _ => {
                quotes::set_state(&mut tx, quote.id, QuoteState::Rejected, now).await?;
            }
        }
        tx.commit().await?;
        let quoting = statuses::get(self.db(), quote.status_id)
            .await?
            .ok_or_else(ServiceError::not_found)?;
        self.hydrate_one(Some(viewer), quoting).await
    }

    /// `PUT /api/v1/statuses/:id/interaction_policy`: a new quote policy for
    /// one of the viewer's statuses (none given: their default; followers-only
    /// and direct statuses stay at nobody). Past quotes stay as they are.
    pub async fn set_interaction_policy(
        &self,
        viewer: AccountId,
        id: StatusId,
        policy: Option<String>,
    ) -> Result<StatusView> {
        let status = self.visible_status(Some(viewer), id).await?;
        if status.account_id != viewer {
            return Err(ServiceError::not_allowed());
        }
        let bits = self
            .quote_policy_for_post(viewer, policy.as_deref(), status.visibility())
            .await?;
        statuses::set_quote_approval_policy(self.db(), status.id, bits).await?;
        let stored = statuses::get(self.db(), status.id)
            .await?
            .ok_or_else(ServiceError::not_found)?;
        self.hydrate_one(Some(viewer), stored).await
    }

    /// The policy bitmap for a post of `author` with `visibility`.
    pub(crate) async fn quote_policy_for_post(
        &self,
        author: AccountId,
        asked: Option<&str>,
        visibility: Visibility,
    ) -> Result<i32> {
        let asked = asked.map(str::trim).filter(|p| !p.is_empty());
        // Checked before the default is looked up, as Mastodon's concern does.
        if let Some(p) = asked
            && policy_bits(p).is_none()
        {
            return Err(record_invalid());
        }
        let default = match asked {
            Some(_) => String::new(),
            None => users::by_account(self.db(), author)
                .await?
                .map_or_else(|| "public".to_owned(), |u| u.default_quote_policy),
        };
        effective_policy(asked, &default, visibility)
    }

    /// Who follows whom between `viewer` and the authors of `list` whose
    /// policy depends on it (one query, none when no policy needs it).
    pub(crate) async fn quote_ties(
        &self,
        viewer: Option<AccountId>,
        list: &[&Status],
    ) -> Result<HashMap<AccountId, Ties>> {
        let Some(viewer) = viewer else {
            return Ok(HashMap::new());
        };
        let authors: Vec<AccountId> = list
            .iter()
            .filter(|s| s.account_id != viewer && needs_ties(s.quote_approval_policy))
            .map(|s| s.account_id)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if authors.is_empty() {
            return Ok(HashMap::new());
        }
        let mut ties: HashMap<AccountId, Ties> = HashMap::new();
        for (follower, followed) in quotes::follows_with(self.db(), viewer, &authors).await? {
            if follower == viewer.0 {
                ties.entry(AccountId(followed)).or_default().follows_author = true;
            } else {
                ties.entry(AccountId(follower))
                    .or_default()
                    .followed_by_author = true;
            }
        }
        Ok(ties)
    }
}
