//! Finding accounts: search by name, the profile directory, familiar
//! followers and follow suggestions.

use ferrodon_model::AccountId;

use crate::accounts::{Account, account_columns};
use crate::sql::{self, args, placeholders};
use crate::{Exec, Result};

/// `pattern` for `LIKE … ESCAPE '\'`, matching values that start with `prefix`.
pub(crate) fn like_prefix(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// What an account search looks for.
#[derive(Debug, Clone)]
pub struct AccountQuery {
    /// Lower-cased start of a username or display name.
    pub term: String,
    /// Only this domain (`Some("")` for local accounts), from `user@domain`.
    pub domain: Option<String>,
    /// Who searches: accounts they follow rank first.
    pub viewer: AccountId,
    pub only_following: bool,
    pub limit: i64,
    pub offset: i64,
}

/// Accounts whose username or display name starts with the term (exact
/// usernames first, then accounts the viewer follows, then by followers).
pub async fn search_accounts<'a>(ex: impl Exec<'a>, q: &AccountQuery) -> Result<Vec<Account>> {
    let (local_only, domain) = match q.domain.as_deref() {
        None => ("", String::new()),
        Some("") => (" AND a.domain IS NULL", String::new()),
        Some(d) => ("", d.to_lowercase()),
    };
    let following = if q.only_following {
        " AND EXISTS (SELECT 1 FROM follows f WHERE f.account_id = $1 AND f.target_account_id = a.id)"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {} FROM accounts a WHERE a.suspended_at IS NULL \
         AND (LOWER(a.username) LIKE $2 ESCAPE '\\' OR LOWER(a.display_name) LIKE $2 ESCAPE '\\') \
         AND ($6 = '' OR LOWER(a.domain) = $6){local_only}{following} \
         ORDER BY CASE WHEN LOWER(a.username) = $3 THEN 0 ELSE 1 END, \
         CASE WHEN EXISTS (SELECT 1 FROM follows f2 WHERE f2.account_id = $1 AND f2.target_account_id = a.id) \
         THEN 0 ELSE 1 END, a.followers_count DESC, a.id LIMIT $4 OFFSET $5",
        account_columns!()
    );
    let a = args![
        q.viewer,
        like_prefix(&q.term),
        q.term.as_str(),
        q.limit,
        q.offset,
        domain
    ];
    sql::fetch_all(ex, sql, a).await
}

/// Order of the profile directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectoryOrder {
    /// Most recently posting first.
    Active,
    /// Newest accounts first.
    New,
}

/// Discoverable accounts in good standing.
pub async fn directory<'a>(
    ex: impl Exec<'a>,
    order: DirectoryOrder,
    local_only: bool,
    limit: i64,
    offset: i64,
) -> Result<Vec<Account>> {
    let order_by = match order {
        DirectoryOrder::Active => {
            "CASE WHEN a.last_status_at IS NULL THEN 1 ELSE 0 END, a.last_status_at DESC, a.id DESC"
        }
        DirectoryOrder::New => "a.id DESC",
    };
    let sql = format!(
        "SELECT {} FROM accounts a WHERE a.discoverable = TRUE AND a.suspended_at IS NULL \
         AND ($1 = FALSE OR a.domain IS NULL) ORDER BY {order_by} LIMIT $2 OFFSET $3",
        account_columns!()
    );
    sql::fetch_all(ex, sql, args![local_only, limit, offset]).await
}

/// An account that follows one of the viewer's follows.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FamiliarFollower {
    pub target_id: i64,
    #[sqlx(flatten)]
    pub account: Account,
}

/// For each of `targets`, the accounts `viewer` follows that follow it
/// (leaving out followees who hide their network).
pub async fn familiar_followers<'a>(
    ex: impl Exec<'a>,
    viewer: AccountId,
    targets: &[AccountId],
) -> Result<Vec<FamiliarFollower>> {
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT f.target_account_id AS target_id, {} FROM follows f JOIN accounts a ON a.id = f.account_id \
         WHERE f.target_account_id IN ({}) AND a.hide_collections = FALSE AND a.suspended_at IS NULL \
         AND EXISTS (SELECT 1 FROM follows mine WHERE mine.account_id = $1 AND mine.target_account_id = f.account_id) \
         ORDER BY f.id DESC",
        account_columns!(),
        placeholders(2, targets.len())
    );
    let mut a = args![viewer];
    a.extend(targets.iter().map(|t| (*t).into()));
    sql::fetch_all(ex, sql, a).await
}

/// SQL true when `a` may be suggested to `$1`: discoverable, in good
/// standing, not `$1`, not followed or requested, no block or mute either
/// way, not dismissed.
const SUGGESTIBLE: &str = "a.discoverable = TRUE AND a.suspended_at IS NULL AND a.id <> $1 \
     AND NOT EXISTS (SELECT 1 FROM follows x WHERE x.account_id = $1 AND x.target_account_id = a.id) \
     AND NOT EXISTS (SELECT 1 FROM follow_requests x WHERE x.account_id = $1 AND x.target_account_id = a.id) \
     AND NOT EXISTS (SELECT 1 FROM blocks x WHERE (x.account_id = $1 AND x.target_account_id = a.id) \
                     OR (x.account_id = a.id AND x.target_account_id = $1)) \
     AND NOT EXISTS (SELECT 1 FROM mutes x WHERE x.account_id = $1 AND x.target_account_id = a.id) \
     AND NOT EXISTS (SELECT 1 FROM follow_recommendation_mutes x WHERE x.account_id = $1 AND x.target_account_id = a.id)";

/// Accounts followed by the accounts `viewer` follows, most shared first.
pub async fn friends_of_friends<'a>(
    ex: impl Exec<'a>,
    viewer: AccountId,
    limit: i64,
) -> Result<Vec<Account>> {
    let sql = format!(
        "SELECT {} FROM accounts a JOIN (SELECT f.target_account_id AS id, COUNT(*) AS n FROM follows f \
         WHERE f.account_id IN (SELECT target_account_id FROM follows WHERE account_id = $1) \
         GROUP BY f.target_account_id) fof ON fof.id = a.id \
         WHERE {SUGGESTIBLE} ORDER BY fof.n DESC, a.followers_count DESC, a.id LIMIT $2",
        account_columns!()
    );
    sql::fetch_all(ex, sql, args![viewer, limit]).await
}

/// Local accounts with the most followers.
pub async fn most_followed<'a>(
    ex: impl Exec<'a>,
    viewer: AccountId,
    limit: i64,
) -> Result<Vec<Account>> {
    let sql = format!(
        "SELECT {} FROM accounts a WHERE a.domain IS NULL AND {SUGGESTIBLE} \
         ORDER BY a.followers_count DESC, a.id LIMIT $2",
        account_columns!()
    );
    sql::fetch_all(ex, sql, args![viewer, limit]).await
}

/// Stops suggesting `target` to `account`.
pub async fn dismiss_suggestion<'a>(
    ex: impl Exec<'a>,
    id: i64,
    account: AccountId,
    target: AccountId,
) -> Result<()> {
    sql::execute(
        ex,
        "INSERT INTO follow_recommendation_mutes (id, account_id, target_account_id, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, target_account_id) DO NOTHING",
        args![id, account, target, crate::now()],
    )
    .await
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::like_prefix;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_prefix("al"), "al%");
        assert_eq!(like_prefix("5%_a\\"), "5\\%\\_a\\\\%");
    }
}
