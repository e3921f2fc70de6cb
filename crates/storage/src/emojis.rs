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
