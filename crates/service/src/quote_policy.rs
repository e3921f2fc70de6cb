//! Who may quote a status, and how a quote reads for one viewer: the rules
//! of Mastodon 4.5's quote posts, as plain functions (no storage).
//!
//! A status's policy is Mastodon's bitmap (automatic approval in the high
//! 16 bits, manual approval in the low ones). Mastodon lets its users set
//! only automatic policies (`public`, `followers`, `nobody`) and approves
//! quotes of local statuses at once, so every local quote is either
//! accepted when made or refused; `manual` only ever comes from elsewhere.

use ferrodon_model::{AccountId, Visibility};
use ferrodon_storage::quotes::QuoteState;
use ferrodon_storage::statuses::Status;
use ferrodon_storage::visibility;

use crate::{Result, ServiceError};

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
/// `StatusFilter#filter_state_for_quote`), from the [`visibility::access`] flags
/// of the quoted status: `None` when it can be shown as accepted.
pub(crate) fn filter_state(
    viewer: Option<AccountId>,
    author: AccountId,
    flags: i64,
) -> Option<&'static str> {
    if viewer == Some(author) {
        None
    } else if flags & visibility::VISIBLE == 0 {
        Some("unauthorized")
    } else if flags & visibility::DOMAIN_BLOCKED != 0 {
        Some("blocked_domain")
    } else if flags & visibility::ACCOUNT_BLOCKED != 0 {
        Some("blocked_account")
    } else if flags & visibility::ACCOUNT_MUTED != 0 {
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
        let visible = visibility::VISIBLE;
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
                Some((author, visible | visibility::ACCOUNT_MUTED)),
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
