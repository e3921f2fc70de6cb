//! What one account does about another besides following: blocks, mutes,
//! endorsements (profile pins), private notes, and user-level domain blocks.

use chrono::{DateTime, Utc};
use ferrodon_model::{AccountId, PageBounds};

use crate::accounts::account_columns;
use crate::follows::Listed;
use crate::sql::{self, Query, args, placeholders};
use crate::{Exec, Result};

/// A relation kept in a table of (account, target) pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    Block,
    Mute,
    Endorse,
}

impl Relation {
    fn table(self) -> &'static str {
        match self {
            Relation::Block => "blocks",
            Relation::Mute => "mutes",
            Relation::Endorse => "account_pins",
        }
    }
}

/// Adds a block or endorsement; `false` if it existed.
pub async fn insert<'a>(
    ex: impl Exec<'a>,
    rel: Relation,
    id: i64,
    account: AccountId,
    target: AccountId,
) -> Result<bool> {
    let sql = format!(
        "INSERT INTO {} (id, account_id, target_account_id, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (account_id, target_account_id) DO NOTHING",
        rel.table()
    );
    sql::execute(ex, sql, args![id, account, target, crate::now()])
        .await
        .map(|n| n > 0)
}

/// Mutes `target` (or changes an existing mute's options).
pub async fn mute<'a>(
    ex: impl Exec<'a>,
    id: i64,
    account: AccountId,
    target: AccountId,
    hide_notifications: bool,
    expires_at: Option<DateTime<Utc>>,
) -> Result<()> {
    sql::execute(
        ex,
        "INSERT INTO mutes (id, account_id, target_account_id, hide_notifications, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (account_id, target_account_id) DO UPDATE SET \
         hide_notifications = excluded.hide_notifications, expires_at = excluded.expires_at",
        args![id, account, target, hide_notifications, expires_at, crate::now()],
    )
    .await
    .map(|_| ())
}

/// Removes a relation; whether it existed.
pub async fn delete<'a>(
    ex: impl Exec<'a>,
    rel: Relation,
    account: AccountId,
    target: AccountId,
) -> Result<bool> {
    let sql = format!(
        "DELETE FROM {} WHERE account_id = $1 AND target_account_id = $2",
        rel.table()
    );
    sql::execute(ex, sql, args![account, target])
        .await
        .map(|n| n > 0)
}

/// One relation between `viewer` and another account, for relationships.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RelationRow {
    pub kind: String,
    pub account_id: i64,
    pub target_account_id: i64,
    pub hide_notifications: bool,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Blocks (both ways), live mutes and endorsements between `viewer` and `others`.
pub async fn between<'a>(
    ex: impl Exec<'a>,
    viewer: AccountId,
    others: &[AccountId],
    now: DateTime<Utc>,
) -> Result<Vec<RelationRow>> {
    if others.is_empty() {
        return Ok(Vec::new());
    }
    let list = placeholders(3, others.len());
    let sql = format!(
        "SELECT 'block' AS kind, account_id, target_account_id, FALSE AS hide_notifications, \
         CAST(NULL AS TIMESTAMP) AS expires_at FROM blocks \
         WHERE (account_id = $1 AND target_account_id IN ({list})) OR (target_account_id = $1 AND account_id IN ({list})) \
         UNION ALL SELECT 'mute', account_id, target_account_id, hide_notifications, expires_at FROM mutes \
         WHERE account_id = $1 AND target_account_id IN ({list}) AND (expires_at IS NULL OR expires_at > $2) \
         UNION ALL SELECT 'endorse', account_id, target_account_id, FALSE, CAST(NULL AS TIMESTAMP) FROM account_pins \
         WHERE account_id = $1 AND target_account_id IN ({list})"
    );
    let mut a = args![viewer, now];
    a.extend(others.iter().map(|o| (*o).into()));
    sql::fetch_all(ex, sql, a).await
}

/// Whether `account` has `rel` to `target` (a mute only while it lasts).
pub async fn exists<'a>(
    ex: impl Exec<'a>,
    rel: Relation,
    account: AccountId,
    target: AccountId,
) -> Result<bool> {
    let mut sql = format!(
        "SELECT CAST(1 AS BIGINT) FROM {} r WHERE r.account_id = $1 AND r.target_account_id = $2",
        rel.table()
    );
    let mut a = args![account, target];
    if rel == Relation::Mute {
        sql.push_str(" AND (r.expires_at IS NULL OR r.expires_at > $3)");
        a.push(crate::now().into());
    }
    sql::fetch_optional_scalar::<i64>(ex, sql, a)
        .await
        .map(|r| r.is_some())
}

/// Deletes mutes that have run out.
pub async fn delete_expired_mutes<'a>(ex: impl Exec<'a>, now: DateTime<Utc>) -> Result<u64> {
    sql::execute(
        ex,
        "DELETE FROM mutes WHERE expires_at IS NOT NULL AND expires_at <= $1",
        args![now],
    )
    .await
}

/// Whether either account blocks the other.
pub async fn blocked_either_way<'a>(ex: impl Exec<'a>, a: AccountId, b: AccountId) -> Result<bool> {
    sql::fetch_optional_scalar::<i64>(
        ex,
        "SELECT CAST(1 AS BIGINT) FROM blocks WHERE (account_id = $1 AND target_account_id = $2) \
         OR (account_id = $2 AND target_account_id = $1)",
        args![a, b],
    )
    .await
    .map(|r| r.is_some())
}

/// Whether `account` should not hear from `sender`: blocks, a live mute
/// that hides notifications, or a domain block (unless `account` follows them).
pub async fn silences<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    sender: AccountId,
    now: DateTime<Utc>,
) -> Result<bool> {
    sql::fetch_optional_scalar::<i64>(
        ex,
        "SELECT CAST(1 AS BIGINT) WHERE EXISTS (SELECT 1 FROM blocks WHERE account_id = $1 AND target_account_id = $2) \
         OR EXISTS (SELECT 1 FROM mutes WHERE account_id = $1 AND target_account_id = $2 \
                    AND hide_notifications AND (expires_at IS NULL OR expires_at > $3)) \
         OR (EXISTS (SELECT 1 FROM account_domain_blocks d JOIN accounts s ON s.domain = d.domain \
                     WHERE d.account_id = $1 AND s.id = $2) \
             AND NOT EXISTS (SELECT 1 FROM follows WHERE account_id = $1 AND target_account_id = $2))",
        args![account, sender, now],
    )
    .await
    .map(|r| r.is_some())
}

/// Of `authors`, those whose statuses `viewer` does not see: blocked (either
/// way), muted, or on a domain the viewer blocks.
pub async fn hidden_among<'a>(
    ex: impl Exec<'a>,
    viewer: AccountId,
    authors: &[AccountId],
    now: DateTime<Utc>,
) -> Result<Vec<i64>> {
    if authors.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT a.id FROM accounts a WHERE a.id IN ({}) AND ({})",
        placeholders(3, authors.len()),
        HIDDEN_AUTHOR
            .replace("{author}", "a.id")
            .replace("{viewer}", "$1")
            .replace("{now}", "$2")
    );
    let mut a = args![viewer, now];
    a.extend(authors.iter().map(|x| (*x).into()));
    sql::fetch_column(ex, sql, a).await
}

/// Of `viewers`, those who do not see statuses by `author` (the other side of [`hidden_among`]).
pub async fn hiding_author<'a>(
    ex: impl Exec<'a>,
    author: AccountId,
    viewers: &[AccountId],
    now: DateTime<Utc>,
) -> Result<Vec<i64>> {
    if viewers.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT v.id FROM accounts v WHERE v.id IN ({}) AND ({})",
        placeholders(3, viewers.len()),
        HIDDEN_AUTHOR
            .replace("{author}", "$1")
            .replace("{viewer}", "v.id")
            .replace("{now}", "$2")
    );
    let mut a = args![author, now];
    a.extend(viewers.iter().map(|x| (*x).into()));
    sql::fetch_column(ex, sql, a).await
}

/// SQL that is true when `{viewer}` does not see statuses by `{author}`.
pub(crate) const HIDDEN_AUTHOR: &str = "EXISTS (SELECT 1 FROM blocks hb WHERE (hb.account_id = {viewer} AND hb.target_account_id = {author}) \
     OR (hb.account_id = {author} AND hb.target_account_id = {viewer})) \
     OR EXISTS (SELECT 1 FROM mutes hm WHERE hm.account_id = {viewer} AND hm.target_account_id = {author} \
                AND (hm.expires_at IS NULL OR hm.expires_at > {now})) \
     OR EXISTS (SELECT 1 FROM account_domain_blocks hd JOIN accounts ha ON ha.domain = hd.domain \
                WHERE hd.account_id = {viewer} AND ha.id = {author})";

/// A page of the accounts `account` blocks, mutes or endorses, with the relation id as cursor.
pub async fn list<'a>(
    ex: impl Exec<'a>,
    rel: Relation,
    account: AccountId,
    now: DateTime<Utc>,
    bounds: &PageBounds,
) -> Result<Vec<Listed>> {
    let mut q = Query::new(format!(
        "SELECT r.id AS follow_id, {} FROM {} r JOIN accounts a ON a.id = r.target_account_id WHERE r.account_id = ",
        account_columns!(),
        rel.table()
    ));
    let p = q.bind(account);
    q.push(&p);
    if rel == Relation::Mute {
        let n = q.bind(now);
        q.push(&format!(
            " AND (r.expires_at IS NULL OR r.expires_at > {n})"
        ));
    }
    q.page("r.id", bounds);
    let mut rows: Vec<Listed> = sql::fetch_all(ex, q.sql, q.args).await?;
    if bounds.ascending() {
        rows.reverse();
    }
    Ok(rows)
}

/// Sets (or with an empty comment clears) `account`'s note about `target`.
pub async fn set_note<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    target: AccountId,
    comment: &str,
) -> Result<()> {
    if comment.is_empty() {
        return sql::execute(
            ex,
            "DELETE FROM account_notes WHERE account_id = $1 AND target_account_id = $2",
            args![account, target],
        )
        .await
        .map(|_| ());
    }
    sql::execute(
        ex,
        "INSERT INTO account_notes (account_id, target_account_id, comment, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (account_id, target_account_id) DO UPDATE SET comment = excluded.comment, updated_at = excluded.updated_at",
        args![account, target, comment, crate::now()],
    )
    .await
    .map(|_| ())
}

/// `account`'s notes about `others`: (target, comment).
pub async fn notes<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    others: &[AccountId],
) -> Result<Vec<(i64, String)>> {
    if others.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT target_account_id, comment FROM account_notes WHERE account_id = $1 AND target_account_id IN ({})",
        placeholders(2, others.len())
    );
    let mut a = args![account];
    a.extend(others.iter().map(|o| (*o).into()));
    sql::fetch_all(ex, sql, a).await
}

/// Blocks a domain for `account`; `false` if already blocked.
pub async fn block_domain<'a>(
    ex: impl Exec<'a>,
    id: i64,
    account: AccountId,
    domain: &str,
) -> Result<bool> {
    sql::execute(
        ex,
        "INSERT INTO account_domain_blocks (id, account_id, domain, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (account_id, domain) DO NOTHING",
        args![id, account, domain, crate::now()],
    )
    .await
    .map(|n| n > 0)
}

pub async fn unblock_domain<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    domain: &str,
) -> Result<bool> {
    sql::execute(
        ex,
        "DELETE FROM account_domain_blocks WHERE account_id = $1 AND domain = $2",
        args![account, domain],
    )
    .await
    .map(|n| n > 0)
}

/// A page of `account`'s blocked domains: (id, domain), newest first.
pub async fn blocked_domains<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    bounds: &PageBounds,
) -> Result<Vec<(i64, String)>> {
    let mut q = Query::new("SELECT id, domain FROM account_domain_blocks WHERE account_id = ");
    let p = q.bind(account);
    q.push(&p);
    q.page("id", bounds);
    let mut rows: Vec<(i64, String)> = sql::fetch_all(ex, q.sql, q.args).await?;
    if bounds.ascending() {
        rows.reverse();
    }
    Ok(rows)
}

/// Of `domains`, those `account` blocks.
pub async fn domains_blocked_among<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    domains: &[String],
) -> Result<Vec<String>> {
    if domains.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT domain FROM account_domain_blocks WHERE account_id = $1 AND domain IN ({})",
        placeholders(2, domains.len())
    );
    let mut a = args![account];
    a.extend(domains.iter().map(|d| d.as_str().into()));
    sql::fetch_column(ex, sql, a).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Db;
    use crate::testing::{local_account, remote_account, storage_test};

    storage_test!(blocks_mutes_and_domain_blocks, |db: Db| async move {
        let now = crate::now();
        let me = local_account(&db).await;
        let blocked = local_account(&db).await;
        let blocker = local_account(&db).await;
        let muted = local_account(&db).await;
        let quiet = local_account(&db).await;
        let expired = local_account(&db).await;
        let remote = remote_account(&db, "spam.example").await;
        let followed_remote = remote_account(&db, "spam.example").await;
        let elsewhere = remote_account(&db, "fine.example").await;
        let ok = |r: Result<bool>| r.unwrap_or_else(|e| panic!("{e}"));
        assert!(ok(insert(&db, Relation::Block, 1, me, blocked).await));
        assert!(
            !ok(insert(&db, Relation::Block, 2, me, blocked).await),
            "a second block is a no-op"
        );
        assert!(ok(insert(&db, Relation::Block, 3, blocker, me).await));
        let mute_at =
            |id, target, notifications, expires| mute(&db, id, me, target, notifications, expires);
        mute_at(4, muted, true, None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        mute_at(5, quiet, false, Some(now + chrono::Duration::hours(1)))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        mute_at(6, expired, true, Some(now - chrono::Duration::seconds(1)))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(ok(block_domain(&db, 7, me, "spam.example").await));
        let follow = crate::follows::Follow {
            id: ferrodon_model::FollowId(8),
            account_id: me,
            target_account_id: followed_remote,
            uri: None,
            show_reblogs: true,
            notify: false,
            languages: None,
            created_at: now,
        };
        assert!(ok(crate::follows::insert(
            &db,
            crate::follows::Kind::Follow,
            &follow
        )
        .await));

        let everyone = [
            blocked,
            blocker,
            muted,
            quiet,
            expired,
            remote,
            followed_remote,
            elsewhere,
        ];
        let mut hidden = hidden_among(&db, me, &everyone, now)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        hidden.sort_unstable();
        let mut expected: Vec<i64> = [blocked, blocker, muted, quiet, remote, followed_remote]
            .iter()
            .map(|a| a.0)
            .collect();
        expected.sort_unstable();
        assert_eq!(
            hidden, expected,
            "blocks both ways, live mutes and the blocked domain hide statuses"
        );

        let silenced = |sender| silences(&db, me, sender, now);
        assert!(ok(silenced(blocked).await));
        assert!(
            !ok(silenced(blocker).await),
            "being blocked does not silence the blocker"
        );
        assert!(ok(silenced(muted).await));
        assert!(
            !ok(silenced(quiet).await),
            "a mute without notifications lets them through"
        );
        assert!(!ok(silenced(expired).await), "an expired mute is over");
        assert!(ok(silenced(remote).await));
        assert!(
            !ok(silenced(followed_remote).await),
            "followed accounts on a blocked domain still notify"
        );
        assert!(!ok(silenced(elsewhere).await));

        let rows = between(&db, me, &everyone, now)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let kinds: Vec<(String, i64, i64)> = rows
            .iter()
            .map(|r| (r.kind.clone(), r.account_id, r.target_account_id))
            .collect();
        assert!(kinds.contains(&("block".into(), me.0, blocked.0)));
        assert!(kinds.contains(&("block".into(), blocker.0, me.0)));
        assert!(!kinds.iter().any(|(_, _, t)| *t == expired.0), "{kinds:?}");
        let q = rows
            .iter()
            .find(|r| r.target_account_id == quiet.0)
            .unwrap_or_else(|| panic!("{kinds:?}"));
        assert!(!q.hide_notifications);
        assert!(q.expires_at.is_some_and(|t| t > now));
        assert_eq!(
            domains_blocked_among(&db, me, &["spam.example".into(), "fine.example".into()])
                .await
                .unwrap_or_else(|e| panic!("{e}")),
            vec!["spam.example".to_owned()]
        );

        assert!(ok(exists(&db, Relation::Mute, me, muted).await));
        assert!(!ok(exists(&db, Relation::Mute, me, expired).await));
        assert_eq!(
            delete_expired_mutes(&db, now)
                .await
                .unwrap_or_else(|e| panic!("{e}")),
            1
        );
        assert!(ok(delete(&db, Relation::Block, me, blocked).await));
        assert!(!ok(delete(&db, Relation::Block, me, blocked).await));
        assert!(!ok(blocked_either_way(&db, me, blocked).await));
        assert!(ok(blocked_either_way(&db, blocker, me).await));
        assert!(ok(unblock_domain(&db, me, "spam.example").await));
        assert!(!ok(silenced(remote).await));
    });
}
