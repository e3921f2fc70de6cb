//! Local users: the login, role and preferences behind a local account.

use chrono::{DateTime, Utc};
use ferrodon_model::{AccountId, UserId};

use crate::sql::{self, args};
use crate::{Exec, Result};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct User {
    #[sqlx(try_from = "i64")]
    pub id: UserId,
    #[sqlx(try_from = "i64")]
    pub account_id: AccountId,
    pub email: String,
    pub password_hash: String,
    /// `user`, `moderator` or `admin`.
    pub role: String,
    pub approved: bool,
    pub disabled: bool,
    pub locale: Option<String>,
    pub sign_up_reason: Option<String>,
    pub default_privacy: String,
    pub default_sensitive: bool,
    pub default_language: Option<String>,
    /// Who may quote new posts by default: `public`, `followers` or `nobody`.
    pub default_quote_policy: String,
    pub last_sign_in_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

const USER_COLUMNS: &str = "id, account_id, email, password_hash, role, approved, disabled, \
    locale, sign_up_reason, default_privacy, default_sensitive, default_language, \
    default_quote_policy, last_sign_in_at, created_at";

#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: UserId,
    pub account_id: AccountId,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub approved: bool,
    pub locale: Option<String>,
    pub sign_up_reason: Option<String>,
    pub sign_up_ip: Option<String>,
    pub created_at: DateTime<Utc>,
}

pub async fn insert<'a>(ex: impl Exec<'a>, new: &NewUser) -> Result<()> {
    sql::execute(
        ex,
        "INSERT INTO users (id, account_id, email, password_hash, role, approved, locale, \
         sign_up_reason, sign_up_ip, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        args![
            new.id,
            new.account_id,
            &new.email,
            &new.password_hash,
            &new.role,
            new.approved,
            new.locale.clone(),
            new.sign_up_reason.clone(),
            new.sign_up_ip.clone(),
            new.created_at
        ],
    )
    .await
    .map(|_| ())
}

pub async fn get<'a>(ex: impl Exec<'a>, id: UserId) -> Result<Option<User>> {
    sql::fetch_optional(
        ex,
        format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"),
        args![id],
    )
    .await
}

pub async fn by_account<'a>(ex: impl Exec<'a>, account: AccountId) -> Result<Option<User>> {
    sql::fetch_optional(
        ex,
        format!("SELECT {USER_COLUMNS} FROM users WHERE account_id = $1"),
        args![account],
    )
    .await
}

/// A user by e-mail address (case-insensitive).
pub async fn by_email<'a>(ex: impl Exec<'a>, email: &str) -> Result<Option<User>> {
    sql::fetch_optional(
        ex,
        format!("SELECT {USER_COLUMNS} FROM users WHERE lower(email) = lower($1)"),
        args![email],
    )
    .await
}

pub async fn set_password_hash<'a>(ex: impl Exec<'a>, id: UserId, hash: &str) -> Result<()> {
    sql::execute(
        ex,
        "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1",
        args![id, hash, crate::now()],
    )
    .await
    .map(|_| ())
}

pub async fn touch_sign_in<'a>(ex: impl Exec<'a>, id: UserId, at: DateTime<Utc>) -> Result<()> {
    sql::execute(
        ex,
        "UPDATE users SET last_sign_in_at = $2 WHERE id = $1",
        args![id, at],
    )
    .await
    .map(|_| ())
}

pub async fn set_approved<'a>(ex: impl Exec<'a>, id: UserId, approved: bool) -> Result<()> {
    sql::execute(
        ex,
        "UPDATE users SET approved = $2, updated_at = $3 WHERE id = $1",
        args![id, approved, crate::now()],
    )
    .await
    .map(|_| ())
}

/// Posting defaults (`source[privacy]`, `source[sensitive]`, `source[language]`).
#[derive(Debug, Clone, Default)]
pub struct PostingDefaults {
    pub privacy: Option<String>,
    pub sensitive: Option<bool>,
    /// `Some(None)` clears the default language.
    pub language: Option<Option<String>>,
    pub quote_policy: Option<String>,
}

pub async fn update_posting_defaults<'a>(
    ex: impl Exec<'a>,
    id: UserId,
    d: &PostingDefaults,
) -> Result<()> {
    let (set_language, language) = match &d.language {
        Some(l) => (true, l.clone()),
        None => (false, None),
    };
    sql::execute(
        ex,
        "UPDATE users SET default_privacy = COALESCE($2, default_privacy), \
         default_sensitive = COALESCE($3, default_sensitive), \
         default_language = CASE WHEN $4 THEN $5 ELSE default_language END, updated_at = $6, \
         default_quote_policy = COALESCE($7, default_quote_policy) \
         WHERE id = $1",
        args![
            id,
            d.privacy.clone(),
            d.sensitive,
            set_language,
            language,
            crate::now(),
            d.quote_policy.clone()
        ],
    )
    .await
    .map(|_| ())
}

/// Number of users who signed in within `since`.
pub async fn count_active_since<'a>(ex: impl Exec<'a>, since: DateTime<Utc>) -> Result<i64> {
    sql::fetch_scalar(
        ex,
        "SELECT COUNT(*) FROM users WHERE last_sign_in_at >= $1",
        args![since],
    )
    .await
}
