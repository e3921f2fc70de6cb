//! Custom emojis: the instance's own, added by the operator
//! (`ferrodon admin emojis add`), listed by `/api/v1/custom_emojis` and
//! shown wherever a local text names them as `:shortcode:` (statuses,
//! polls, edits, profiles, announcements).
//!
//! Renderers are synchronous, so each process keeps a snapshot of the
//! enabled local emojis ([`EmojiSet`]) that is reloaded when it is older
//! than a few seconds (checked once per request), which also picks up
//! emojis another process added. Remote emojis are stored with their domain as federation receives them
//! and shown on remote statuses (`views`).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use ferrodon_storage::emojis::{self, CustomEmoji};

use crate::media::Upload;
pub use crate::text::{shortcodes, valid_shortcode};
use crate::{Result, ServiceError, Services};

/// How old the snapshot may get before a request reloads it.
const SNAPSHOT_TTL: Duration = Duration::from_secs(3);
/// Largest local emoji file (Mastodon's `CustomEmoji::LOCAL_LIMIT`, 256 KB).
pub const MAX_EMOJI_BYTES: u64 = 256 * 1024;

#[derive(Debug, Default)]
struct Snapshot {
    loaded_at: Option<Instant>,
    /// By shortcode.
    emojis: Arc<HashMap<String, CustomEmoji>>,
}

/// The enabled local emojis as last loaded.
#[derive(Debug, Default)]
pub struct EmojiSet {
    inner: RwLock<Snapshot>,
}

impl EmojiSet {
    /// Whether the snapshot is due for a reload; if so, marks it reloaded
    /// now, so that of the requests arriving together only one reloads.
    fn claim_reload(&self) -> bool {
        let Ok(mut s) = self.inner.write() else {
            return false;
        };
        if s.loaded_at.is_some_and(|at| at.elapsed() < SNAPSHOT_TTL) {
            return false;
        }
        s.loaded_at = Some(Instant::now());
        true
    }

    fn replace(&self, emojis: Vec<CustomEmoji>) {
        if let Ok(mut s) = self.inner.write() {
            s.emojis = Arc::new(
                emojis
                    .into_iter()
                    .map(|e| (e.shortcode.clone(), e))
                    .collect(),
            );
        }
    }

    /// The enabled local emoji `shortcode`.
    pub fn get(&self, shortcode: &str) -> Option<CustomEmoji> {
        let s = self.inner.read().ok()?;
        s.emojis.get(shortcode).cloned()
    }

    /// The emojis named in `texts`, in order of first use, each once.
    pub fn in_texts<'a>(&self, texts: impl IntoIterator<Item = &'a str>) -> Vec<CustomEmoji> {
        let all = match self.inner.read() {
            Ok(s) if !s.emojis.is_empty() => s.emojis.clone(),
            _ => return Vec::new(),
        };
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for text in texts {
            for code in shortcodes(text) {
                if seen.insert(code)
                    && let Some(e) = all.get(code)
                {
                    out.push(e.clone());
                }
            }
        }
        out
    }
}

impl Services {
    /// Reloads the emoji snapshot when it is older than a few seconds.
    pub async fn refresh_emojis(&self) -> Result<()> {
        let set = &self.instance().emojis;
        if set.claim_reload() {
            // On failure the old snapshot stays until the next period.
            set.replace(emojis::local(self.db()).await?);
        }
        Ok(())
    }

    /// `ferrodon admin emojis add`: stores `file` (PNG, GIF or WebP, at most
    /// 256 KB) as the local emoji `:shortcode:`; returns its id.
    pub async fn admin_add_emoji(
        &self,
        shortcode: &str,
        file: &Path,
        category: Option<&str>,
        visible_in_picker: bool,
    ) -> Result<i64> {
        if !valid_shortcode(shortcode) {
            return Err(ServiceError::invalid(
                "Shortcode must be at least 2 characters and only contain letters, digits and underscores",
            ));
        }
        if emojis::find_local(self.db(), shortcode).await?.is_some() {
            return Err(ServiceError::invalid("Shortcode has already been taken"));
        }
        // A copy in the upload directory, so that keeping it is a rename.
        let tmp = self
            .upload_dir()
            .await?
            .join(format!("{:032x}", rand::random::<u128>()));
        let size = tokio::fs::copy(file, &tmp)
            .await
            .map_err(|e| ServiceError::invalid(format!("{}: {e}", file.display())))?;
        let upload = Upload { path: tmp, size };
        let stored = self.store_emoji_image(&upload, MAX_EMOJI_BYTES).await;
        if stored.is_err() {
            let _ = tokio::fs::remove_file(&upload.path).await;
        }
        let (id, path) = stored?;
        let inserted = emojis::insert(
            self.db(),
            &emojis::NewEmoji {
                id,
                shortcode,
                image_path: &path,
                category: category.filter(|c| !c.trim().is_empty()),
                visible_in_picker,
                created_at: ferrodon_storage::now(),
            },
        )
        .await;
        if let Err(e) = inserted {
            self.remove_stored(&path).await;
            return Err(e.into());
        }
        Ok(id)
    }

    /// `ferrodon admin emojis remove`: deletes the local emoji and its file.
    pub async fn admin_remove_emoji(&self, shortcode: &str) -> Result<()> {
        let Some(path) = emojis::delete_local(self.db(), shortcode).await? else {
            return Err(ServiceError::not_found());
        };
        self.remove_stored(&path).await;
        Ok(())
    }

    /// `ferrodon admin emojis enable|disable`.
    pub async fn admin_set_emoji_disabled(&self, shortcode: &str, disabled: bool) -> Result<()> {
        if !emojis::set_disabled(self.db(), shortcode, disabled).await? {
            return Err(ServiceError::not_found());
        }
        Ok(())
    }

    /// `ferrodon admin emojis list`: every local emoji, disabled ones too.
    pub async fn admin_emojis(&self) -> Result<Vec<emojis::AdminEmoji>> {
        Ok(emojis::all_local(self.db()).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortcodes_are_found_as_mastodon_finds_them() {
        assert_eq!(
            shortcodes(":blobcat: hi :ms_party:"),
            vec!["blobcat", "ms_party"]
        );
        assert_eq!(shortcodes("<p>:blobcat:</p>"), vec!["blobcat"]);
        assert_eq!(shortcodes(":a: is too short"), Vec::<&str>::new());
        // Glued to a word or another emoji's colon: not a shortcode.
        assert_eq!(shortcodes("x:blobcat:"), Vec::<&str>::new());
        assert_eq!(shortcodes(":blobcat:x"), Vec::<&str>::new());
        assert_eq!(shortcodes("10:30:45"), Vec::<&str>::new());
        assert_eq!(shortcodes("::blobcat::"), Vec::<&str>::new());
        assert_eq!(shortcodes(":blobcat::blobfox:"), Vec::<&str>::new());
        assert_eq!(
            shortcodes(":blobcat: :blobfox:"),
            vec!["blobcat", "blobfox"]
        );
        assert_eq!(shortcodes("é:blobcat:!"), Vec::<&str>::new());
        assert_eq!(shortcodes("(:blobcat:)"), vec!["blobcat"]);
    }

    #[test]
    fn shortcode_rules() {
        assert!(valid_shortcode("blob_cat2"));
        assert!(!valid_shortcode("b"));
        assert!(!valid_shortcode("blob-cat"));
        assert!(!valid_shortcode("blob cat"));
    }
}
