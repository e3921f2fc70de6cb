//! OAuth applications, authorization grants and access tokens.
//!
//! Secrets that grant access (codes and tokens) are stored as SHA-256 hashes
//! computed by the caller; a database leak does not leak usable tokens.

use chrono::{DateTime, Utc};
use ferrodon_model::{AccountId, AppId, GrantId, TokenId, UserId};

use crate::sql::{self, args};
use crate::{Exec, Result};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct App {
    #[sqlx(try_from = "i64")]
    pub id: AppId,
    pub name: String,
    pub website: Option<String>,
    /// Newline-separated.
    pub redirect_uris: String,
    /// Space-separated.
    pub scopes: String,
    pub client_id: String,
    pub client_secret: String,
    pub created_at: DateTime<Utc>,
}

impl App {
    pub fn redirect_uri_list(&self) -> Vec<&str> {
        self.redirect_uris
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect()
    }
}

const APP_COLUMNS: &str =
    "id, name, website, redirect_uris, scopes, client_id, client_secret, created_at";

pub async fn insert_app<'a>(ex: impl Exec<'a>, app: &App) -> Result<()> {
    sql::execute(
        ex,
        "INSERT INTO oauth_applications (id, name, website, redirect_uris, scopes, client_id, \
         client_secret, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        args![
            app.id,
            &app.name,
            app.website.clone(),
            &app.redirect_uris,
            &app.scopes,
            &app.client_id,
            &app.client_secret,
            app.created_at
        ],
    )
    .await
    .map(|_| ())
}

pub async fn app_by_client_id<'a>(ex: impl Exec<'a>, client_id: &str) -> Result<Option<App>> {
    sql::fetch_optional(
        ex,
        format!("SELECT {APP_COLUMNS} FROM oauth_applications WHERE client_id = $1"),
        args![client_id],
    )
    .await
}

pub async fn get_app<'a>(ex: impl Exec<'a>, id: AppId) -> Result<Option<App>> {
    sql::fetch_optional(
        ex,
        format!("SELECT {APP_COLUMNS} FROM oauth_applications WHERE id = $1"),
        args![id],
    )
    .await
}

/// An authorization code awaiting exchange.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Grant {
    #[sqlx(try_from = "i64")]
    pub id: GrantId,
    pub code_hash: String,
    #[sqlx(try_from = "i64")]
    pub application_id: AppId,
    #[sqlx(try_from = "i64")]
    pub user_id: UserId,
    pub redirect_uri: String,
    pub scopes: String,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

pub async fn insert_grant<'a>(ex: impl Exec<'a>, g: &Grant) -> Result<()> {
    sql::execute(
        ex,
        "INSERT INTO oauth_grants (id, code_hash, application_id, user_id, redirect_uri, scopes, \
         code_challenge, code_challenge_method, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        args![
            g.id,
            &g.code_hash,
            g.application_id,
            g.user_id,
            &g.redirect_uri,
            &g.scopes,
            g.code_challenge.clone(),
            g.code_challenge_method.clone(),
            g.expires_at,
            g.created_at
        ],
    )
    .await
    .map(|_| ())
}

/// Removes and returns the grant with this code hash: a code works once.
pub async fn take_grant<'a>(ex: impl Exec<'a>, code_hash: &str) -> Result<Option<Grant>> {
    sql::fetch_optional(
        ex,
        "DELETE FROM oauth_grants WHERE code_hash = $1 RETURNING id, code_hash, application_id, \
         user_id, redirect_uri, scopes, code_challenge, code_challenge_method, expires_at, created_at",
        args![code_hash],
    )
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Token {
    #[sqlx(try_from = "i64")]
    pub id: TokenId,
    #[sqlx(try_from = "i64")]
    pub application_id: AppId,
    pub user_id: Option<i64>,
    pub scopes: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl Token {
    pub fn user(&self) -> Option<UserId> {
        self.user_id.map(UserId)
    }
}

#[derive(Debug, Clone)]
pub struct NewToken {
    pub id: TokenId,
    pub token_hash: String,
    pub application_id: AppId,
    pub user_id: Option<UserId>,
    pub scopes: String,
    pub created_at: DateTime<Utc>,
}

pub async fn insert_token<'a>(ex: impl Exec<'a>, t: &NewToken) -> Result<()> {
    sql::execute(
        ex,
        "INSERT INTO oauth_tokens (id, token_hash, application_id, user_id, scopes, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        args![
            t.id,
            &t.token_hash,
            t.application_id,
            t.user_id,
            &t.scopes,
            t.created_at
        ],
    )
    .await
    .map(|_| ())
}

/// Everything needed to authenticate a request, in one query.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenGrant {
    #[sqlx(try_from = "i64")]
    pub token_id: TokenId,
    #[sqlx(try_from = "i64")]
    pub application_id: AppId,
    pub scopes: String,
    pub last_used_at: Option<DateTime<Utc>>,
    pub user_id: Option<i64>,
    pub account_id: Option<i64>,
    pub role: Option<String>,
    pub approved: Option<bool>,
    pub disabled: Option<bool>,
    pub suspended_at: Option<DateTime<Utc>>,
}

impl TokenGrant {
    pub fn user(&self) -> Option<(UserId, AccountId)> {
        Some((UserId(self.user_id?), AccountId(self.account_id?)))
    }
}

/// The live (unrevoked) token with this hash, with its user's state.
pub async fn authenticate<'a>(ex: impl Exec<'a>, token_hash: &str) -> Result<Option<TokenGrant>> {
    sql::fetch_optional(
        ex,
        "SELECT t.id AS token_id, t.application_id, t.scopes, t.last_used_at, t.user_id, \
         u.account_id, u.role, u.approved, u.disabled, a.suspended_at \
         FROM oauth_tokens t \
         LEFT JOIN users u ON u.id = t.user_id \
         LEFT JOIN accounts a ON a.id = u.account_id \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
        args![token_hash],
    )
    .await
}

pub async fn touch_token<'a>(ex: impl Exec<'a>, id: TokenId, at: DateTime<Utc>) -> Result<()> {
    sql::execute(
        ex,
        "UPDATE oauth_tokens SET last_used_at = $2 WHERE id = $1",
        args![id, at],
    )
    .await
    .map(|_| ())
}

/// Revokes the token with this hash if it belongs to `app`. Returns whether one was revoked.
pub async fn revoke_token<'a>(ex: impl Exec<'a>, token_hash: &str, app: AppId) -> Result<bool> {
    sql::execute(
        ex,
        "UPDATE oauth_tokens SET revoked_at = $3 \
         WHERE token_hash = $1 AND application_id = $2 AND revoked_at IS NULL",
        args![token_hash, app, crate::now()],
    )
    .await
    .map(|n| n > 0)
}

/// Deletes authorization codes past their expiry.
pub async fn delete_expired_grants<'a>(ex: impl Exec<'a>, now: DateTime<Utc>) -> Result<u64> {
    sql::execute(
        ex,
        "DELETE FROM oauth_grants WHERE expires_at < $1",
        args![now],
    )
    .await
}

/// Deletes tokens revoked before `before`.
pub async fn delete_revoked_tokens<'a>(ex: impl Exec<'a>, before: DateTime<Utc>) -> Result<u64> {
    sql::execute(
        ex,
        "DELETE FROM oauth_tokens WHERE revoked_at IS NOT NULL AND revoked_at < $1",
        args![before],
    )
    .await
}
