//! Custom emojis.

use crate::sql::{self, args};
use crate::{Exec, Result};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CustomEmoji {
    pub shortcode: String,
    pub image_url: String,
    pub static_image_url: String,
    pub visible_in_picker: bool,
    pub category: Option<String>,
}

/// The instance's own enabled emojis, by shortcode.
pub async fn local<'a>(ex: impl Exec<'a>) -> Result<Vec<CustomEmoji>> {
    sql::fetch_all(
        ex,
        "SELECT shortcode, image_url, static_image_url, visible_in_picker, category \
         FROM custom_emojis WHERE domain IS NULL AND disabled = FALSE ORDER BY shortcode",
        args![],
    )
    .await
}

/// A remote server's emoji, with its domain.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RemoteEmoji {
    pub domain: String,
    #[sqlx(flatten)]
    pub emoji: CustomEmoji,
}

/// Remote emojis of `domains` named by one of `shortcodes` (the caller
/// pairs them; at most a few dozen of each per page of statuses).
pub async fn remote_named<'a>(
    ex: impl Exec<'a>,
    domains: &[String],
    shortcodes: &[String],
) -> Result<Vec<RemoteEmoji>> {
    if domains.is_empty() || shortcodes.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT domain, shortcode, image_url, static_image_url, visible_in_picker, category \
         FROM custom_emojis WHERE disabled = FALSE AND domain IN ({}) AND shortcode IN ({})",
        sql::placeholders(1, domains.len()),
        sql::placeholders(1 + domains.len(), shortcodes.len())
    );
    let mut a: Vec<sql::Arg> = domains.iter().map(|d| d.clone().into()).collect();
    a.extend(shortcodes.iter().map(|c| c.clone().into()));
    sql::fetch_all(ex, sql, a).await
}

/// A local emoji to store; `image_path` is relative to the media directory.
#[derive(Debug)]
pub struct NewEmoji<'a> {
    pub id: i64,
    pub shortcode: &'a str,
    pub image_path: &'a str,
    pub category: Option<&'a str>,
    pub visible_in_picker: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

pub async fn insert<'a>(ex: impl Exec<'a>, e: &NewEmoji<'_>) -> Result<()> {
    sql::execute(
        ex,
        "INSERT INTO custom_emojis (id, shortcode, domain, image_url, static_image_url, \
         visible_in_picker, disabled, category, created_at) \
         VALUES ($1, $2, NULL, $3, $3, $4, FALSE, $5, $6)",
        args![
            e.id,
            e.shortcode,
            e.image_path,
            e.visible_in_picker,
            e.category,
            e.created_at
        ],
    )
    .await
    .map(|_| ())
}

/// The id of the local emoji `shortcode`, enabled or not.
pub async fn find_local<'a>(ex: impl Exec<'a>, shortcode: &str) -> Result<Option<i64>> {
    sql::fetch_optional_scalar(
        ex,
        "SELECT id FROM custom_emojis WHERE domain IS NULL AND shortcode = $1",
        args![shortcode],
    )
    .await
}

/// Deletes the local emoji `shortcode`; its image path, if it existed.
pub async fn delete_local<'a>(ex: impl Exec<'a>, shortcode: &str) -> Result<Option<String>> {
    sql::fetch_optional_scalar(
        ex,
        "DELETE FROM custom_emojis WHERE domain IS NULL AND shortcode = $1 RETURNING image_url",
        args![shortcode],
    )
    .await
}

/// Enables or disables the local emoji `shortcode`; whether it exists.
pub async fn set_disabled<'a>(ex: impl Exec<'a>, shortcode: &str, disabled: bool) -> Result<bool> {
    sql::execute(
        ex,
        "UPDATE custom_emojis SET disabled = $1 WHERE domain IS NULL AND shortcode = $2",
        args![disabled, shortcode],
    )
    .await
    .map(|n| n > 0)
}

/// A local emoji as the operator sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AdminEmoji {
    pub id: i64,
    pub shortcode: String,
    pub image_url: String,
    pub disabled: bool,
    pub visible_in_picker: bool,
    pub category: Option<String>,
}

/// Every local emoji, disabled ones too, by shortcode.
pub async fn all_local<'a>(ex: impl Exec<'a>) -> Result<Vec<AdminEmoji>> {
    sql::fetch_all(
        ex,
        "SELECT id, shortcode, image_url, disabled, visible_in_picker, category \
         FROM custom_emojis WHERE domain IS NULL ORDER BY shortcode",
        args![],
    )
    .await
}
