//! The instance's domain blocks and allows (not a user's own domain blocks,
//! which are `relations`).

use chrono::{DateTime, Utc};

use crate::sql::{self, args};
use crate::{Exec, Result};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DomainBlock {
    pub domain: String,
    /// `noop`, `silence` or `suspend`.
    pub severity: String,
    pub reject_media: bool,
    pub reject_reports: bool,
    pub created_at: DateTime<Utc>,
}

/// Adds or replaces the block of `b.domain`.
pub async fn upsert_block<'a>(ex: impl Exec<'a>, b: &DomainBlock) -> Result<()> {
    sql::execute(
        ex,
        "INSERT INTO domain_blocks (domain, severity, reject_media, reject_reports, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (domain) DO UPDATE SET \
         severity = EXCLUDED.severity, reject_media = EXCLUDED.reject_media, \
         reject_reports = EXCLUDED.reject_reports, updated_at = EXCLUDED.updated_at",
        args![
            &b.domain,
            &b.severity,
            b.reject_media,
            b.reject_reports,
            b.created_at
        ],
    )
    .await
    .map(|_| ())
}

/// Removes a block; whether there was one.
pub async fn delete_block<'a>(ex: impl Exec<'a>, domain: &str) -> Result<bool> {
    sql::execute(
        ex,
        "DELETE FROM domain_blocks WHERE domain = $1",
        args![domain],
    )
    .await
    .map(|n| n > 0)
}

/// Every block, by domain.
pub async fn blocks<'a>(ex: impl Exec<'a>) -> Result<Vec<DomainBlock>> {
    sql::fetch_all(
        ex,
        "SELECT domain, severity, reject_media, reject_reports, created_at FROM domain_blocks \
         ORDER BY domain",
        args![],
    )
    .await
}

/// The blocks of any of `domains` (a host and its parent domains).
pub async fn blocks_of<'a>(ex: impl Exec<'a>, domains: &[String]) -> Result<Vec<DomainBlock>> {
    if domains.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT domain, severity, reject_media, reject_reports, created_at FROM domain_blocks \
         WHERE domain IN ({})",
        sql::placeholders(1, domains.len())
    );
    sql::fetch_all(ex, sql, domains.iter().map(|d| d.as_str().into()).collect()).await
}

pub async fn insert_allow<'a>(ex: impl Exec<'a>, domain: &str, at: DateTime<Utc>) -> Result<()> {
    sql::execute(
        ex,
        "INSERT INTO domain_allows (domain, created_at) VALUES ($1, $2) \
         ON CONFLICT (domain) DO NOTHING",
        args![domain, at],
    )
    .await
    .map(|_| ())
}

pub async fn delete_allow<'a>(ex: impl Exec<'a>, domain: &str) -> Result<bool> {
    sql::execute(
        ex,
        "DELETE FROM domain_allows WHERE domain = $1",
        args![domain],
    )
    .await
    .map(|n| n > 0)
}

pub async fn allows<'a>(ex: impl Exec<'a>) -> Result<Vec<String>> {
    sql::fetch_column(
        ex,
        "SELECT domain FROM domain_allows ORDER BY domain",
        args![],
    )
    .await
}

/// Whether any of `domains` is allowed.
pub async fn allowed<'a>(ex: impl Exec<'a>, domains: &[String]) -> Result<bool> {
    if domains.is_empty() {
        return Ok(false);
    }
    let sql = format!(
        "SELECT COUNT(*) FROM domain_allows WHERE domain IN ({})",
        sql::placeholders(1, domains.len())
    );
    let n: i64 =
        sql::fetch_scalar(ex, sql, domains.iter().map(|d| d.as_str().into()).collect()).await?;
    Ok(n > 0)
}

/// `WHERE` for the remote accounts on a domain (`$1`) or its subdomains,
/// on any port when the domain has none (`$2`…`$4`: the patterns of
/// [`domain_patterns`]).
const ON_DOMAIN: &str = "domain IS NOT NULL AND (lower(domain) = $1 \
     OR lower(domain) LIKE $2 ESCAPE '\\' OR lower(domain) LIKE $3 ESCAPE '\\' \
     OR lower(domain) LIKE $4 ESCAPE '\\')";

fn domain_patterns(domain: &str) -> Vec<crate::Arg> {
    let escaped = domain
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    args![
        domain,
        format!("%.{escaped}"),
        format!("{escaped}:%"),
        format!("%.{escaped}:%")
    ]
}

/// Local ids of the remote accounts on `domain` or its subdomains (on any
/// port when `domain` has none).
pub async fn accounts_on<'a>(ex: impl Exec<'a>, domain: &str) -> Result<Vec<i64>> {
    sql::fetch_column(
        ex,
        format!("SELECT id FROM accounts WHERE {ON_DOMAIN}"),
        domain_patterns(domain),
    )
    .await
}

/// Sets (or, with `None`, lifts) a sanction on every remote account on
/// `domain` or its subdomains, in one statement.
pub async fn sanction_accounts_on<'a>(
    ex: impl Exec<'a>,
    domain: &str,
    sanction: crate::accounts::Sanction,
    at: Option<DateTime<Utc>>,
) -> Result<u64> {
    let column = match sanction {
        crate::accounts::Sanction::Suspended => "suspended_at",
        crate::accounts::Sanction::Silenced => "silenced_at",
    };
    let mut a = domain_patterns(domain);
    a.push(at.into());
    a.push(crate::now().into());
    sql::execute(
        ex,
        format!("UPDATE accounts SET {column} = $5, updated_at = $6 WHERE {ON_DOMAIN}"),
        a,
    )
    .await
}
