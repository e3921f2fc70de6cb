//! The visibility rule: who may see a status, written once, in SQL.
//!
//! Every path that shows statuses (one by id, several by id, timelines,
//! threads, conversations, notifications, search, quotes, reports) asks
//! [`access`] and reads the same bits, so a status is shown to a reader on
//! all of them or on none. The rule is Mastodon's `StatusPolicy#show?`:
//!
//! - the author is not suspended, and does not block the reader;
//! - public and unlisted statuses are seen by anyone (also anonymously);
//! - followers-only statuses by the author, their followers and the
//!   accounts mentioned in them (silent mentions included: a quoted author
//!   keeps seeing the quote, a mention removed by an edit keeps its access);
//! - direct statuses by the author and the accounts mentioned in them.
//!
//! Beside it come the reader's own choices, which lists apply and a status
//! asked for by id does not: the reader blocks or mutes the author, or
//! blocks the author's domain. A reblog is seen only when both the reblog
//! and its original pass (the service layer asks for both).

use chrono::{DateTime, Utc};
use ferrodon_model::{AccountId, StatusId};

use crate::sql::{self, args, placeholders};
use crate::{Exec, Result};

/// The reader may see the status.
pub const VISIBLE: i64 = 1;
/// The reader blocks the author's domain.
pub const DOMAIN_BLOCKED: i64 = 2;
/// The reader blocks the author.
pub const ACCOUNT_BLOCKED: i64 = 4;
/// The reader mutes the author (a mute that has not expired).
pub const ACCOUNT_MUTED: i64 = 8;
/// The author is silenced (limited): left out of public timelines and trends.
pub const AUTHOR_SILENCED: i64 = 16;

/// How one reader stands to one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Access {
    #[sqlx(try_from = "i64")]
    pub status_id: StatusId,
    #[sqlx(try_from = "i64")]
    pub account_id: AccountId,
    /// The original, when the status is a reblog.
    pub reblog_of_id: Option<i64>,
    pub flags: i64,
}

impl Access {
    /// Whether the reader may see the status ([`VISIBLE`]).
    pub fn visible(&self) -> bool {
        self.flags & VISIBLE != 0
    }

    /// Whether the reader chose not to see its author (blocks, mutes, or
    /// blocks the domain of); never true of the reader's own statuses.
    pub fn hidden_author(&self) -> bool {
        self.flags & (DOMAIN_BLOCKED | ACCOUNT_BLOCKED | ACCOUNT_MUTED) != 0
    }
}

/// How `viewer` (none: anonymous) stands to each of these statuses, in one
/// query. Missing statuses (and statuses whose author row is gone) are left
/// out, which callers read as "not visible".
pub async fn access<'a>(
    ex: impl Exec<'a>,
    viewer: Option<AccountId>,
    statuses: &[StatusId],
    now: DateTime<Utc>,
) -> Result<Vec<Access>> {
    if statuses.is_empty() {
        return Ok(Vec::new());
    }
    // No account has id 0: an anonymous viewer matches no relation.
    let viewer = viewer.map_or(0, |v| v.0);
    let sql = format!(
        "SELECT s.id AS status_id, s.account_id, s.reblog_of_id, CAST( \
           (CASE WHEN a.suspended_at IS NULL \
              AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.account_id = s.account_id AND b.target_account_id = $1) \
              AND (s.visibility IN (0, 1) OR s.account_id = $1 \
                   OR EXISTS (SELECT 1 FROM mentions m WHERE m.status_id = s.id AND m.account_id = $1) \
                   OR (s.visibility = 2 AND EXISTS (SELECT 1 FROM follows f \
                       WHERE f.account_id = $1 AND f.target_account_id = s.account_id))) \
            THEN {VISIBLE} ELSE 0 END) \
         + (CASE WHEN s.account_id <> $1 AND EXISTS (SELECT 1 FROM account_domain_blocks d \
              WHERE d.account_id = $1 AND d.domain = a.domain) THEN {DOMAIN_BLOCKED} ELSE 0 END) \
         + (CASE WHEN EXISTS (SELECT 1 FROM blocks b2 \
              WHERE b2.account_id = $1 AND b2.target_account_id = s.account_id) THEN {ACCOUNT_BLOCKED} ELSE 0 END) \
         + (CASE WHEN EXISTS (SELECT 1 FROM mutes mu WHERE mu.account_id = $1 \
              AND mu.target_account_id = s.account_id AND (mu.expires_at IS NULL OR mu.expires_at > $2)) \
            THEN {ACCOUNT_MUTED} ELSE 0 END) \
         + (CASE WHEN a.silenced_at IS NOT NULL THEN {AUTHOR_SILENCED} ELSE 0 END) AS BIGINT) AS flags \
         FROM statuses s JOIN accounts a ON a.id = s.account_id WHERE s.id IN ({})",
        placeholders(3, statuses.len())
    );
    let mut a = args![viewer, now];
    a.extend(statuses.iter().map(|s| (*s).into()));
    sql::fetch_all(ex, sql, a).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(flags: i64) -> Access {
        Access {
            status_id: StatusId(1),
            account_id: AccountId(2),
            reblog_of_id: None,
            flags,
        }
    }

    #[test]
    fn bits_read_as_named() {
        assert!(access(VISIBLE).visible());
        assert!(!access(ACCOUNT_MUTED).visible());
        assert!(!access(VISIBLE | AUTHOR_SILENCED).hidden_author());
        for bit in [DOMAIN_BLOCKED, ACCOUNT_BLOCKED, ACCOUNT_MUTED] {
            assert!(access(VISIBLE | bit).hidden_author());
        }
    }
}
