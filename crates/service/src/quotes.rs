//! Quote posts (Mastodon 4.5): who may quote a status, quoting, the list of
//! a status's quotes, revoking a quote and changing a status's policy.
//!
//! A status's policy is Mastodon's bitmap (automatic approval in the high
//! 16 bits, manual approval in the low ones). Mastodon lets its users set
//! only automatic policies (`public`, `followers`, `nobody`) and approves
//! quotes of local statuses at once, so every local quote is either
//! accepted when made or refused; `manual` only ever comes from elsewhere.

use std::collections::{HashMap, HashSet};

use ferrodon_model::{AccountId, Page, PageBounds, StatusId, Visibility};
use ferrodon_storage::quotes::{self, QuoteState};
use ferrodon_storage::statuses::{self, Status};
use ferrodon_storage::users;

use crate::jobs::Notify;
use crate::relations::HiddenBy;
use crate::views::StatusView;
use crate::{Result, ServiceError, Services};

/// A sub-policy bit: a policy this server cannot represent.
pub const UNSUPPORTED: i32 = 1;
/// A sub-policy bit: anyone.
pub const PUBLIC: i32 = 1 << 1;
/// A sub-policy bit: the author's followers.
pub const FOLLOWERS: i32 = 1 << 2;
/// A sub-policy bit: accounts the author follows.
pub const FOLLOWING: i32 = 1 << 3;

/// The names `quote_approval_policy` and `source[quote_policy]` accept.
pub const POLICY_NAMES: [&str; 3] = ["public", "followers", "nobody"];

/// What the status a quote is refused for is called (Mastodon's
/// `quoted_status_not_found`; a status that exists but may not be quoted
/// gets the same answer).
pub const QUOTED_NOT_FOUND: &str = "The post you are trying to quote does not appear to exist.";

/// Mastodon's answer to an unknown policy name (a bare `RecordInvalid`).
pub(crate) fn record_invalid() -> ServiceError {
    ServiceError::Unprocessable {
        message: "Record invalid".to_owned(),
        details: None,
    }
}

/// The bitmap of a policy name (automatic approval only, as Mastodon sets).
pub fn policy_bits(name: &str) -> Option<i32> {
    match name {
        "public" => Some(PUBLIC << 16),
        "followers" => Some(FOLLOWERS << 16),
        "nobody" => Some(0),
        _ => None,
    }
}

/// The bitmap a status gets: what was asked (or the author's default), or
/// nobody for followers-only and direct statuses (Mastodon's
/// `downgrade_quote_policy`).
pub(crate) fn effective_policy(
    asked: Option<&str>,
    default: &str,
    visibility: Visibility,
) -> Result<i32> {
    let name = asked.unwrap_or(default);
    let bits = policy_bits(name).ok_or_else(record_invalid)?;
    Ok(if visibility.is_public_ish() { bits } else { 0 })
}

/// The names of the bits of a sub-policy, in Mastodon's order.
pub fn policy_keys(sub: i32) -> Vec<&'static str> {
    [
        (UNSUPPORTED, "unsupported_policy"),
        (PUBLIC, "public"),
        (FOLLOWERS, "followers"),
        (FOLLOWING, "following"),
    ]
    .into_iter()
    .filter(|(bit, _)| sub & bit != 0)
    .map(|(_, name)| name)
    .collect()
}

/// A status's quote policy as a reader sees it (the QuoteApproval entity).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteApproval {
    pub automatic: Vec<&'static str>,
    pub manual: Vec<&'static str>,
    /// `automatic`, `manual`, `unknown` or `denied`.
    pub current_user: &'static str,
}

/// How `viewer` relates to a status's author, for its policy.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Ties {
    /// The viewer follows the author.
    pub follows_author: bool,
    /// The author follows the viewer.
    pub followed_by_author: bool,
}

/// Whether a policy needs to know who follows whom.
pub(crate) fn needs_ties(policy: i32) -> bool {
    let bits = (policy >> 16) | (policy & 0xFFFF);
    bits & (FOLLOWERS | FOLLOWING) != 0
}

/// Mastodon's `quote_policy_for_account`: how `viewer` may quote `status`.
pub(crate) fn policy_for(status: &Status, viewer: Option<AccountId>, ties: Ties) -> &'static str {
    let Some(viewer) = viewer else {
        return "denied";
    };
    if status.visibility() == Visibility::Direct || status.reblog_of_id.is_some() {
        return "denied";
    }
    // The author may always quote their own status.
    if viewer == status.account_id {
        return "automatic";
    }
    let matches = |sub: i32| {
        sub & PUBLIC != 0
            || (sub & FOLLOWERS != 0 && ties.follows_author)
            || (sub & FOLLOWING != 0 && ties.followed_by_author)
    };
    let automatic = status.quote_approval_policy >> 16;
    let manual = status.quote_approval_policy & 0xFFFF;
    if matches(automatic) {
        "automatic"
    } else if matches(manual) {
        "manual"
    } else if (automatic | manual) & UNSUPPORTED != 0 {
        "unknown"
    } else {
        "denied"
    }
}

/// The QuoteApproval of `status` for `viewer`.
pub(crate) fn approval(status: &Status, viewer: Option<AccountId>, ties: Ties) -> QuoteApproval {
    QuoteApproval {
        automatic: policy_keys(status.quote_approval_policy >> 16),
        manual: policy_keys(status.quote_approval_policy & 0xFFFF),
        current_user: policy_for(status, viewer, ties),
    }
}

/// The state of an accepted quote as `viewer` sees it (Mastodon's
/// `StatusFilter#filter_state_for_quote`), from the [`quotes::access`] flags
/// of the quoted status: `None` when it can be shown as accepted.
pub(crate) fn filter_state(
    viewer: Option<AccountId>,
    author: AccountId,
    flags: i64,
) -> Option<&'static str> {
    if viewer == Some(author) {
        None
    } else if flags & quotes::VISIBLE == 0 {
        Some("unauthorized")
    } else if flags & quotes::DOMAIN_BLOCKED != 0 {
        Some("blocked_domain")
    } else if flags & quotes::ACCOUNT_BLOCKED != 0 {
        Some("blocked_account")
    } else if flags & quotes::ACCOUNT_MUTED != 0 {
        Some("muted_account")
    } else {
        None
    }
}

/// How a quote reads for one viewer: its state, and whether the quoted
/// status is shown (Mastodon's `BaseQuoteSerializer`).
pub(crate) fn shown_state(
    state: QuoteState,
    quoted: Option<(AccountId, i64)>,
    viewer: Option<AccountId>,
) -> (&'static str, bool) {
    let filtered = quoted.map(|(author, flags)| filter_state(viewer, author, flags));
    if state != QuoteState::Accepted {
        return (state.as_str(), false);
    }
    match filtered {
        // The quoted status is gone.
        None => ("deleted", false),
        Some(Some("unauthorized")) => ("unauthorized", false),
        Some(Some(other)) => (other, true),
        Some(None) => ("accepted", true),
    }
}

/// `content` with the `RE:` link to the quoted status first, unless the
/// text already links it (Mastodon's fallback for clients without quotes).
pub(crate) fn with_fallback_link(content: &str, text: &str, quoted: &Status) -> String {
    let url = quoted.url.as_deref().unwrap_or(&quoted.uri);
    if text.contains(url) || text.contains(quoted.uri.as_str()) {
        content.to_owned()
    } else {
        format!("{}{content}", crate::text::quote_fallback(url))
    }
}

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
        let quote_id = self.ids().next().0;
        quotes::insert(
            &mut *tx,
            &quotes::NewQuote {
                id: quote_id,
                status_id: id,
                account_id: author,
                quoted_status_id: quoted.id,
                quoted_account_id: quoted.account_id,
                state: QuoteState::Accepted,
                created_at: now,
            },
        )
        .await?;
        statuses::adjust_quotes_count(&mut *tx, quoted.id, 1).await?;
        if quoted.account_id != author {
            statuses::insert_silent_mention(&mut *tx, self.ids().next().0, id, quoted.account_id)
                .await?;
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
            .drop_hidden(Some(viewer), views, HiddenBy::AnyAuthor)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_names_map_to_mastodon_bits() {
        assert_eq!(policy_bits("public"), Some(0b10 << 16));
        assert_eq!(policy_bits("followers"), Some(0b100 << 16));
        assert_eq!(policy_bits("nobody"), Some(0));
        assert_eq!(policy_bits("everyone"), None);
        assert_eq!(policy_keys(0b0101), vec!["unsupported_policy", "followers"]);
        assert!(policy_keys(0).is_empty());
    }

    #[test]
    fn private_and_direct_statuses_are_quotable_by_nobody() {
        assert_eq!(
            effective_policy(Some("public"), "public", Visibility::Private).ok(),
            Some(0)
        );
        assert_eq!(
            effective_policy(None, "followers", Visibility::Unlisted).ok(),
            Some(FOLLOWERS << 16)
        );
        assert!(effective_policy(Some("all"), "public", Visibility::Public).is_err());
    }

    #[test]
    fn quote_states_follow_the_viewer() {
        let me = AccountId(1);
        let author = AccountId(2);
        let visible = quotes::VISIBLE;
        assert_eq!(
            shown_state(QuoteState::Accepted, Some((author, visible)), Some(me)),
            ("accepted", true)
        );
        assert_eq!(
            shown_state(QuoteState::Accepted, Some((author, 0)), Some(me)),
            ("unauthorized", false)
        );
        assert_eq!(
            shown_state(
                QuoteState::Accepted,
                Some((author, visible | quotes::ACCOUNT_MUTED)),
                Some(me)
            ),
            ("muted_account", true)
        );
        assert_eq!(
            shown_state(QuoteState::Accepted, None, Some(me)),
            ("deleted", false)
        );
        assert_eq!(
            shown_state(QuoteState::Revoked, Some((author, visible)), Some(me)),
            ("revoked", false)
        );
        // The quoted author always sees their own status.
        assert_eq!(
            shown_state(QuoteState::Accepted, Some((author, 0)), Some(author)),
            ("accepted", true)
        );
    }
}
