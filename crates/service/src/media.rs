//! Media: uploads kept as files under the media directory, their rows, and
//! local avatars and headers.
//!
//! The content type comes from the file's first bytes, never from what the
//! client declared or the file name; then the file's structure is checked
//! ([`probe`]: images decoded, other containers walked) and an upload that
//! does not parse is refused, as is an image of more than
//! [`probe::MAX_PIXELS`] pixels; its dimensions are the decoder's. An account
//! keeps at most `limits.unattached_media_files` uploads of
//! `limits.unattached_media_bytes` in all unattached. Files are not
//! processed (no thumbnails, no transcoding, no blurhash): the preview is the
//! file itself. Stored paths are `<kind dir>/<id split in threes>/original/<random>.<ext>`,
//! so a URL cannot be guessed from an id.

pub mod probe;

use std::path::{Path, PathBuf};

use ferrodon_model::{AccountId, StatusId};
use ferrodon_storage::Tx;
use ferrodon_storage::accounts::{self, ProfileImage};
use ferrodon_storage::media::{self, MediaAttachment, NewMedia};

use crate::{Result, ServiceError, Services};

/// Attachments per status (Mastodon's `Status::MEDIA_ATTACHMENTS_LIMIT`).
pub const MAX_MEDIA_ATTACHMENTS: usize = 4;
/// Characters of a description (Mastodon's `MediaAttachment::MAX_DESCRIPTION_LENGTH`).
pub const MAX_DESCRIPTION_CHARS: usize = 1500;
/// Largest avatar or header (Mastodon's `AVATAR_LIMIT`, 8 MB).
pub const MAX_PROFILE_IMAGE_BYTES: u64 = 8 * 1024 * 1024;
/// Bytes read from the start of a file to recognise it.
pub const HEAD_BYTES: usize = 64;
/// Unattached uploads are removed after this long (Mastodon: one day).
const UNATTACHED_TTL_HOURS: i64 = 24;

/// Mastodon's error for too many attachments (also its answer to media with a poll).
pub fn too_many_media() -> String {
    format!("Cannot attach more than {MAX_MEDIA_ATTACHMENTS} files")
}

/// What a file is, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sniffed {
    pub content_type: &'static str,
    /// `image`, `video` or `audio` (animated GIFs stay `image`: nothing converts them to `gifv`).
    pub kind: &'static str,
    pub ext: &'static str,
}

const fn sniffed(content_type: &'static str, kind: &'static str, ext: &'static str) -> Sniffed {
    Sniffed {
        content_type,
        kind,
        ext,
    }
}

/// Every type accepted, for the instance entity's `supported_mime_types` and
/// for the content type of a served file (by its extension).
pub const SUPPORTED: &[Sniffed] = &[
    sniffed("image/jpeg", "image", "jpg"),
    sniffed("image/png", "image", "png"),
    sniffed("image/gif", "image", "gif"),
    sniffed("image/webp", "image", "webp"),
    sniffed("image/avif", "image", "avif"),
    sniffed("video/mp4", "video", "mp4"),
    sniffed("video/quicktime", "video", "mov"),
    sniffed("video/webm", "video", "webm"),
    sniffed("audio/mpeg", "audio", "mp3"),
    sniffed("audio/aac", "audio", "aac"),
    sniffed("audio/mp4", "audio", "m4a"),
    sniffed("audio/ogg", "audio", "ogg"),
    sniffed("audio/wave", "audio", "wav"),
    sniffed("audio/flac", "audio", "flac"),
];

fn by_type(content_type: &str) -> Option<Sniffed> {
    SUPPORTED
        .iter()
        .copied()
        .find(|s| s.content_type == content_type)
}

/// The content type of a stored file, from its extension (which we chose).
pub fn content_type_of_ext(ext: &str) -> Option<&'static str> {
    SUPPORTED
        .iter()
        .find(|s| s.ext == ext)
        .map(|s| s.content_type)
}

/// Recognises a supported file from its first bytes.
pub fn sniff(b: &[u8]) -> Option<Sniffed> {
    let at = |i: usize, pat: &[u8]| b.get(i..i + pat.len()) == Some(pat);
    let t = if at(0, &[0xFF, 0xD8, 0xFF]) {
        "image/jpeg"
    } else if at(0, b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if at(0, b"GIF87a") || at(0, b"GIF89a") {
        "image/gif"
    } else if at(0, b"RIFF") && at(8, b"WEBP") {
        "image/webp"
    } else if at(0, b"RIFF") && at(8, b"WAVE") {
        "audio/wave"
    } else if at(4, b"ftyp") {
        let brand = b.get(8..12)?;
        match brand {
            b"avif" | b"avis" => "image/avif",
            b"qt  " => "video/quicktime",
            b"M4A " | b"M4B " => "audio/mp4",
            // HEIF stills are not shown by browsers and nothing converts them yet.
            b"heic" | b"heix" | b"heim" | b"heis" | b"hevc" | b"hevx" | b"mif1" | b"msf1" => {
                return None;
            }
            _ => "video/mp4",
        }
    } else if at(0, &[0x1A, 0x45, 0xDF, 0xA3]) {
        "video/webm"
    } else if at(0, b"OggS") {
        "audio/ogg"
    } else if at(0, b"fLaC") {
        "audio/flac"
    } else if at(0, b"ID3") {
        "audio/mpeg"
    } else if b.len() >= 4 && b[0] == 0xFF && (b[1] & 0xE0) == 0xE0 {
        // An MPEG audio frame: layer bits 00 are ADTS (AAC), anything else MP3.
        if (b[1] >> 1) & 0b11 == 0 {
            "audio/aac"
        } else {
            "audio/mpeg"
        }
    } else {
        return None;
    };
    by_type(t)
}

/// `1234567890123456789` → `001/234/567/890/123/456/789`: a directory per
/// three digits, as Mastodon's `id_partition`.
pub fn id_partition(id: i64) -> String {
    let mut digits = format!("{:018}", id.unsigned_abs());
    while digits.len() % 3 != 0 {
        digits.insert(0, '0');
    }
    digits
        .as_bytes()
        .chunks(3)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether `path` is one we could have stored: `<kind dir>/<digits>/original/<hex>.<ext>`,
/// so serving it can never leave the media directory.
pub fn is_stored_path(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    let Some(rest) = parts
        .strip_prefix(&["media_attachments", "files"][..])
        .or_else(|| {
            parts
                .strip_prefix(&["accounts", "avatars"][..])
                .or_else(|| parts.strip_prefix(&["accounts", "headers"][..]))
                .or_else(|| parts.strip_prefix(&["custom_emojis", "images"][..]))
        })
    else {
        return false;
    };
    let Some((file, dirs)) = rest.split_last() else {
        return false;
    };
    let Some((style, digits)) = dirs.split_last() else {
        return false;
    };
    let Some((name, ext)) = file.split_once('.') else {
        return false;
    };
    *style == "original"
        && (6..=7).contains(&digits.len())
        && digits
            .iter()
            .all(|d| d.len() == 3 && d.bytes().all(|c| c.is_ascii_digit()))
        && name.len() == 32
        && name.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
        && content_type_of_ext(ext).is_some()
}

/// An uploaded file waiting in the media directory's `tmp/`.
#[derive(Debug, Clone)]
pub struct Upload {
    pub path: PathBuf,
    pub size: u64,
}

/// Rails' `number_to_human_size`, as Paperclip's size messages show it.
fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1024 {
        return format!("{bytes} Bytes");
    }
    let mut value = bytes as f64;
    let mut unit = "";
    for u in UNITS {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = u;
    }
    // Three significant digits, trailing zeros dropped.
    let decimals = if value >= 100.0 {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    };
    let text = format!("{value:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    };
    format!("{text} {unit}")
}

/// A focal point `x,y` with both in -1..1, as stored; `None` for blank input.
pub fn parse_focus(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    let mut parts = raw.split(',').map(|p| {
        p.trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .unwrap_or(0.0)
            .clamp(-1.0, 1.0)
    });
    let x = parts.next().unwrap_or(0.0);
    let y = parts.next().unwrap_or(0.0);
    Some(format!("{x},{y}"))
}

/// The stored focus as numbers.
pub fn focus_point(stored: &str) -> Option<(f64, f64)> {
    let (x, y) = stored.split_once(',')?;
    Some((x.parse().ok()?, y.parse().ok()?))
}

async fn read_head(path: &Path) -> std::io::Result<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let file = tokio::fs::File::open(path).await?;
    let mut head = Vec::with_capacity(HEAD_BYTES);
    file.take(HEAD_BYTES as u64).read_to_end(&mut head).await?;
    Ok(head)
}

fn io_error(e: std::io::Error) -> ServiceError {
    ServiceError::Internal(format!("media storage: {e}"))
}

fn check_description(description: &Option<String>) -> Result<()> {
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS)
    {
        return Err(ServiceError::invalid(format!(
            "Description is too long (maximum is {MAX_DESCRIPTION_CHARS} characters)"
        )));
    }
    Ok(())
}

impl Services {
    fn media_dir(&self) -> &Path {
        &self.instance().media.dir
    }

    /// Where uploads are written while they arrive (in the media directory,
    /// so that keeping one is a rename).
    pub async fn upload_dir(&self) -> Result<PathBuf> {
        let dir = self.media_dir().join("tmp");
        tokio::fs::create_dir_all(&dir).await.map_err(io_error)?;
        Ok(dir)
    }

    /// The file at a stored path (checked with [`is_stored_path`]).
    pub fn stored_file(&self, path: &str) -> Option<PathBuf> {
        is_stored_path(path).then(|| self.media_dir().join(path))
    }

    /// Moves `upload` to its place for record `id`; returns the relative path.
    async fn keep_upload(&self, upload: &Upload, dir: &str, id: i64, ext: &str) -> Result<String> {
        let relative = format!(
            "{dir}/{}/original/{:032x}.{ext}",
            id_partition(id),
            rand::random::<u128>()
        );
        let target = self.media_dir().join(&relative);
        if let Some(parent) = target.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(io_error)?;
        }
        tokio::fs::rename(&upload.path, &target)
            .await
            .map_err(io_error)?;
        Ok(relative)
    }

    /// Removes a stored file; a missing one is already gone.
    pub(crate) async fn remove_stored(&self, path: &str) {
        if let Some(file) = self.stored_file(path)
            && let Err(e) = tokio::fs::remove_file(&file).await
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(error = %e, path, "cannot remove a media file");
        }
    }

    /// Recognises an upload and checks its size against its kind's limit.
    async fn identify(
        &self,
        upload: &Upload,
        attribute: &str,
        images_only: bool,
        limit: Option<u64>,
    ) -> Result<Sniffed> {
        let head = read_head(&upload.path).await.map_err(io_error)?;
        let found = sniff(&head)
            .filter(|s| {
                !images_only
                    || matches!(
                        s.content_type,
                        "image/jpeg" | "image/png" | "image/gif" | "image/webp"
                    )
            })
            .ok_or_else(|| ServiceError::invalid(format!("{attribute} content type is invalid")))?;
        let media = &self.instance().media;
        let limit = limit.unwrap_or(if found.kind == "image" {
            media.max_image_bytes
        } else {
            media.max_video_bytes
        });
        if upload.size > limit {
            return Err(ServiceError::invalid(format!(
                "{attribute} file size must be less than {}",
                human_size(limit)
            )));
        }
        Ok(found)
    }

    /// Checks an upload's structure (see [`probe`]) off the async workers;
    /// images are decoded one at a time per process, which bounds the
    /// memory decoding takes. `unverified` is the 422 message for a file
    /// that does not parse.
    async fn verify(
        &self,
        upload: &Upload,
        found: Sniffed,
        unverified: &str,
    ) -> Result<probe::Probed> {
        static DECODING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);
        let permit = if found.kind == "image" {
            Some(
                DECODING
                    .acquire()
                    .await
                    .map_err(|e| ServiceError::Internal(format!("media checks: {e}")))?,
            )
        } else {
            None
        };
        let path = upload.path.clone();
        let content_type = found.content_type;
        let checked = tokio::task::spawn_blocking(move || {
            // Held until the check ends, even if the request goes away first.
            let _permit = permit;
            let file = std::fs::File::open(&path).map_err(|e| probe::Problem::Io(e.to_string()))?;
            probe::check(content_type, std::io::BufReader::new(file))
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("media checks: {e}")))?;
        match checked {
            Ok(probed) => Ok(probed),
            Err(probe::Problem::Malformed(why)) => {
                tracing::info!(content_type, why, "an upload does not parse");
                Err(ServiceError::Unprocessable {
                    message: unverified.to_owned(),
                    details: None,
                })
            }
            Err(probe::Problem::TooManyPixels(w, h)) => Err(ServiceError::Unprocessable {
                message: format!("{w}x{h} images are not supported"),
                details: None,
            }),
            Err(probe::Problem::Io(e)) => Err(io_error(std::io::Error::other(e))),
        }
    }

    /// Refuses an upload that would take `account` past its quota of
    /// unattached uploads (files or bytes).
    async fn check_unattached_quota(&self, account: AccountId, size: u64) -> Result<()> {
        let media = &self.instance().media;
        let (files, bytes) = media::unattached_usage(self.db(), account).await?;
        let files = u64::try_from(files).unwrap_or(0);
        let bytes = u64::try_from(bytes).unwrap_or(0);
        let max_files = media.unattached_quota_files;
        if max_files > 0 && files >= max_files {
            return Err(ServiceError::invalid(format!(
                "You have {files} uploads not attached to a post (at most {max_files}); \
                 post or delete some first"
            )));
        }
        let max_bytes = media.unattached_quota_bytes;
        if max_bytes > 0 && bytes.saturating_add(size) > max_bytes {
            return Err(ServiceError::invalid(format!(
                "Your uploads not attached to a post would take {} (at most {}); \
                 post or delete some first",
                human_size(bytes.saturating_add(size)),
                human_size(max_bytes)
            )));
        }
        Ok(())
    }

    /// `POST /api/v2/media`: stores an upload, unattached.
    pub async fn create_media(
        &self,
        account: AccountId,
        upload: &Upload,
        description: Option<String>,
        focus: Option<String>,
    ) -> Result<MediaAttachment> {
        check_description(&description)?;
        let found = self.identify(upload, "File", false, None).await?;
        self.check_unattached_quota(account, upload.size).await?;
        let dims = self
            .verify(
                upload,
                found,
                "File type of uploaded media could not be verified",
            )
            .await?
            .size
            // Videos' sizes are checked but not shown until they are processed.
            .filter(|_| found.kind == "image");
        let id = self.ids().next().0;
        let file_path = self
            .keep_upload(upload, "media_attachments/files", id, found.ext)
            .await?;
        let new = NewMedia {
            id,
            account_id: account,
            kind: found.kind.to_owned(),
            content_type: found.content_type.to_owned(),
            file_path: file_path.clone(),
            file_size: i64::try_from(upload.size).unwrap_or(i64::MAX),
            width: dims.and_then(|(w, _)| i32::try_from(w).ok()),
            height: dims.and_then(|(_, h)| i32::try_from(h).ok()),
            description,
            focus: focus.as_deref().and_then(parse_focus),
        };
        if let Err(e) = media::insert(self.db(), &new).await {
            self.remove_stored(&file_path).await;
            return Err(e.into());
        }
        self.own_unattached_media(account, id).await
    }

    /// One of `account`'s unattached uploads (Mastodon shows and edits only
    /// those here; attached ones are edited with their status), or 404.
    pub async fn own_unattached_media(
        &self,
        account: AccountId,
        id: i64,
    ) -> Result<MediaAttachment> {
        media::get_own(self.db(), account, id)
            .await?
            .filter(|m| m.status_id.is_none())
            .ok_or_else(ServiceError::not_found)
    }

    /// `PUT /api/v1/media/:id`: description and focus.
    pub async fn update_media(
        &self,
        account: AccountId,
        id: i64,
        description: Option<String>,
        focus: Option<String>,
    ) -> Result<MediaAttachment> {
        let current = self.own_unattached_media(account, id).await?;
        check_description(&description)?;
        let description = description.or(current.description);
        let focus = match focus {
            Some(f) => parse_focus(&f).or(current.focus),
            None => current.focus,
        };
        media::update_meta(self.db(), id, description.as_deref(), focus.as_deref()).await?;
        self.own_unattached_media(account, id).await
    }

    /// `DELETE /api/v1/media/:id`: only unattached uploads (as Mastodon 4.4).
    pub async fn delete_media(&self, account: AccountId, id: i64) -> Result<()> {
        let m = media::get_own(self.db(), account, id)
            .await?
            .ok_or_else(ServiceError::not_found)?;
        if m.status_id.is_some() || !media::delete_unattached(self.db(), id).await? {
            return Err(ServiceError::Unprocessable {
                message: "Media attachment is currently used by a status".into(),
                details: None,
            });
        }
        self.remove_stored(&m.file_path).await;
        Ok(())
    }

    /// Checks `media_ids` of a new status (Mastodon's `validate_media!`):
    /// at most four, the author's own and unattached, no video or audio
    /// beside other media. Returns the ids in order, without repeats.
    pub async fn media_for_post(&self, author: AccountId, ids: &[i64]) -> Result<Vec<i64>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let plain = |m: &str| ServiceError::Unprocessable {
            message: m.to_owned(),
            details: None,
        };
        if ids.len() > MAX_MEDIA_ATTACHMENTS {
            return Err(plain(&too_many_media()));
        }
        let mut unique: Vec<i64> = Vec::with_capacity(ids.len());
        for id in ids {
            if !unique.contains(id) {
                unique.push(*id);
            }
        }
        let ids = unique;
        let found = media::unattached_among(self.db(), author, &ids).await?;
        let missing: Vec<String> = ids
            .iter()
            .filter(|id| !found.iter().any(|m| m.id == **id))
            .map(i64::to_string)
            .collect();
        if !missing.is_empty() {
            return Err(plain(&format!(
                "Media {} not found or already attached to another post",
                missing.join(", ")
            )));
        }
        if found.len() > 1 && found.iter().any(|m| m.kind == "video" || m.kind == "audio") {
            return Err(plain(
                "Cannot attach a video to a post that already contains images",
            ));
        }
        Ok(ids)
    }

    /// Attaches checked media to a new status, in the poster's transaction;
    /// an upload attached meanwhile by another post fails the whole post.
    pub(crate) async fn attach_media(
        &self,
        tx: &mut Tx,
        author: AccountId,
        status: StatusId,
        ids: &[i64],
    ) -> Result<()> {
        for (position, id) in ids.iter().enumerate() {
            let position = i32::try_from(position).unwrap_or(i32::MAX);
            if !media::attach(&mut *tx, author, *id, status, position).await? {
                return Err(ServiceError::Unprocessable {
                    message: format!("Media {id} not found or already attached to another post"),
                    details: None,
                });
            }
        }
        Ok(())
    }

    /// The scheduled clean-up: uploads left unattached for a day (never
    /// posted, or their status deleted and not redrafted) go with their files.
    pub async fn remove_stale_media(&self) -> Result<usize> {
        let cutoff = ferrodon_storage::now() - chrono::Duration::hours(UNATTACHED_TTL_HOURS);
        let mut removed = 0;
        loop {
            let batch = media::unattached_before(self.db(), cutoff, 500).await?;
            let full = batch.len() == 500;
            for m in batch {
                if media::delete_unattached(self.db(), m.id).await? {
                    // A remote attachment never downloaded has no file.
                    if !m.file_path.is_empty() {
                        self.remove_stored(&m.file_path).await;
                    }
                    removed += 1;
                }
            }
            if !full {
                return Ok(removed);
            }
        }
    }

    /// A custom emoji's image (PNG, GIF or WebP of at most `max_bytes`, as
    /// Mastodon's `CustomEmoji`): its new id and stored path.
    pub(crate) async fn store_emoji_image(
        &self,
        upload: &Upload,
        max_bytes: u64,
    ) -> Result<(i64, String)> {
        let found = self
            .identify(upload, "Image", true, Some(max_bytes))
            .await?;
        if found.content_type == "image/jpeg" {
            return Err(ServiceError::invalid("Image content type is invalid"));
        }
        self.verify(
            upload,
            found,
            "Validation failed: Image could not be verified",
        )
        .await?;
        let id = self.ids().next().0;
        let path = self
            .keep_upload(upload, "custom_emojis/images", id, found.ext)
            .await?;
        Ok((id, path))
    }

    /// `update_credentials` with `avatar` or `header`: images only, 8 MB at most.
    pub(crate) async fn store_profile_image(
        &self,
        account: AccountId,
        which: ProfileImage,
        upload: &Upload,
    ) -> Result<String> {
        let attribute = match which {
            ProfileImage::Avatar => "Avatar",
            ProfileImage::Header => "Header",
        };
        let found = self
            .identify(upload, attribute, true, Some(MAX_PROFILE_IMAGE_BYTES))
            .await?;
        self.verify(
            upload,
            found,
            &format!("Validation failed: {attribute} could not be verified"),
        )
        .await?;
        let dir = match which {
            ProfileImage::Avatar => "accounts/avatars",
            ProfileImage::Header => "accounts/headers",
        };
        self.keep_upload(upload, dir, account.0, found.ext).await
    }

    /// Sets (or with `None` removes) a local account's avatar or header;
    /// the previous file is deleted.
    pub(crate) async fn set_profile_image(
        &self,
        account: AccountId,
        which: ProfileImage,
        path: Option<&str>,
    ) -> Result<()> {
        let before = self.account(account).await?;
        let old = match which {
            ProfileImage::Avatar => before.avatar_file,
            ProfileImage::Header => before.header_file,
        };
        if let Err(e) = self.record_profile_image(account, which, path).await {
            if let Some(p) = path {
                self.remove_stored(p).await;
            }
            return Err(e);
        }
        if let Some(old) = old.filter(|o| Some(o.as_str()) != path) {
            self.remove_stored(&old).await;
        }
        Ok(())
    }

    /// Records the image, and tells remote followers of the new profile
    /// (`Federate::UpdateAccount`) in the same transaction.
    async fn record_profile_image(
        &self,
        account: AccountId,
        which: ProfileImage,
        path: Option<&str>,
    ) -> Result<()> {
        let mut tx = self.db().begin().await?;
        accounts::set_image(&mut tx, account, which, path).await?;
        if ferrodon_storage::remote::has_remote_followers(&mut tx, account).await? {
            let job = crate::federate::Federate::UpdateAccount {
                account_id: account,
            };
            self.federate(&mut tx, &job).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// `DELETE /api/v1/profile/avatar` and `/header`.
    pub async fn delete_profile_image(
        &self,
        account: AccountId,
        which: ProfileImage,
    ) -> Result<crate::views::CredentialAccountView> {
        self.set_profile_image(account, which, None).await?;
        self.credential_account(account).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG_1X1: &[u8] = &[
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R', 0, 0,
        0, 3, 0, 0, 0, 2, 8, 6, 0, 0, 0,
    ];

    #[test]
    fn sniffs_by_content_not_name() {
        assert_eq!(sniff(PNG_1X1).map(|s| s.content_type), Some("image/png"));
        assert_eq!(sniff(b"GIF89a\x05\x00\x07\x00").map(|s| s.ext), Some("gif"));
        assert_eq!(sniff(b"hello, I am text").map(|s| s.kind), None);
        assert_eq!(
            sniff(b"\x00\x00\x00\x18ftypmp42").map(|s| s.kind),
            Some("video")
        );
        assert_eq!(
            sniff(b"\x00\x00\x00\x18ftypM4A ").map(|s| s.kind),
            Some("audio")
        );
        assert_eq!(sniff(b"\x00\x00\x00\x18ftypheic"), None);
        assert_eq!(sniff(b"ID3\x04\x00").map(|s| s.kind), Some("audio"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVEfmt ").map(|s| s.ext), Some("wav"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]).map(|s| s.ext), Some("jpg"));
    }

    #[test]
    fn paths_are_partitioned_and_checked() {
        assert_eq!(
            id_partition(116_000_000_000_000_001),
            "116/000/000/000/000/001"
        );
        assert_eq!(id_partition(5), "000/000/000/000/000/005");
        let ok = format!(
            "media_attachments/files/{}/original/{}.png",
            id_partition(42),
            "0123456789abcdef0123456789abcdef"
        );
        assert!(is_stored_path(&ok));
        assert!(!is_stored_path(&ok.replace("original", "..")));
        assert!(!is_stored_path(&ok.replace(".png", ".html")));
        assert!(!is_stored_path(
            "media_attachments/files/../../../etc/passwd"
        ));
        assert!(!is_stored_path(&format!("/{ok}")));
        assert!(!is_stored_path(&ok.replace("000/", "0a0/")));
    }

    #[test]
    fn sizes_and_focus() {
        assert_eq!(human_size(16 * 1024 * 1024), "16 MB");
        assert_eq!(human_size(1000), "1000 Bytes");
        assert_eq!(human_size(1536), "1.5 KB");
        assert_eq!(parse_focus("0.5,-0.25").as_deref(), Some("0.5,-0.25"));
        assert_eq!(parse_focus("3,nan").as_deref(), Some("1,0"));
        assert_eq!(parse_focus(" "), None);
        assert_eq!(focus_point("0.5,-1"), Some((0.5, -1.0)));
    }
}
