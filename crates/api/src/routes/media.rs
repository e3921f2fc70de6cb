//! `/api/v1/media`, `/api/v2/media`, and the stored files at `/system/…`.

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferrodon_model::scope;
use ferrodon_service::ServiceError;
use serde::Deserialize;
use serde_json::{Value, json};

use super::path_id;
use crate::AppState;
use crate::auth::Auth;
use crate::entities;
use crate::error::ApiResult;
use crate::params::{self, FileRules, Params, de};

#[derive(Debug, Deserialize)]
pub struct MediaParams {
    #[serde(default, deserialize_with = "de::opt_string")]
    description: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    focus: Option<String>,
}

/// What an upload route accepts: one `file`, as large as the largest media kind.
pub async fn media_rules(state: &AppState) -> ApiResult<FileRules> {
    let media = &state.services.instance().media;
    Ok(FileRules {
        dir: state.services.upload_dir().await?,
        fields: &["file"],
        max_bytes: media.max_image_bytes.max(media.max_video_bytes),
    })
}

/// The request body limit of the upload routes.
pub fn upload_body_limit(state: &AppState) -> usize {
    let media = &state.services.instance().media;
    let largest = media.max_image_bytes.max(media.max_video_bytes);
    usize::try_from(largest)
        .unwrap_or(usize::MAX)
        .saturating_add(state.max_body_bytes)
        .saturating_add(64 * 1024)
}

/// `POST /api/v2/media` (and the deprecated `/api/v1/media`): the file is
/// stored and read at once, so the answer is always 200 with its URL (Mastodon
/// answers 202 with `url: null` only while it processes large files later).
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    req: Request,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:media")])?;
    let rules = media_rules(&state).await?;
    let (value, files) =
        params::collect_with_files(req, &state, state.max_body_bytes, &rules).await?;
    let p: MediaParams = params::read(value)?;
    let file = files
        .iter()
        .find(|f| f.field == "file")
        .ok_or_else(|| ServiceError::invalid("File can't be blank"))?;
    let media = state
        .services
        .create_media(user.account_id, &file.upload, p.description, p.focus)
        .await?;
    Ok(Json(entities::media_attachment(
        state.services.instance(),
        &media,
    )))
}

/// `GET /api/v1/media/:id`: one's own upload, while not attached.
pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:media")])?;
    let media = state
        .services
        .own_unattached_media(user.account_id, path_id(&id)?)
        .await?;
    Ok(Json(entities::media_attachment(
        state.services.instance(),
        &media,
    )))
}

/// `PUT /api/v1/media/:id`: description and focus.
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
    Params(p): Params<MediaParams>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:media")])?;
    let media = state
        .services
        .update_media(user.account_id, path_id(&id)?, p.description, p.focus)
        .await?;
    Ok(Json(entities::media_attachment(
        state.services.instance(),
        &media,
    )))
}

/// `DELETE /api/v1/media/:id`: unattached uploads only; answers `{}`.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:media")])?;
    state
        .services
        .delete_media(user.account_id, path_id(&id)?)
        .await?;
    Ok(Json(json!({})))
}

/// `GET /system/*path`: a stored file, streamed. Only paths shaped like the
/// ones we store are looked at (no traversal is possible); the content type
/// comes from the extension, which we chose from the file's content.
pub async fn file(State(state): State<AppState>, Path(path): Path<String>) -> ApiResult<Response> {
    use tokio::io::AsyncReadExt;
    let not_found = || ServiceError::NotFound("Not Found");
    let full = state.services.stored_file(&path).ok_or_else(not_found)?;
    let content_type = path
        .rsplit_once('.')
        .and_then(|(_, ext)| ferrodon_service::media::content_type_of_ext(ext))
        .ok_or_else(not_found)?;
    let file = tokio::fs::File::open(&full)
        .await
        .map_err(|_| not_found())?;
    let meta = file.metadata().await.map_err(|_| not_found())?;
    if !meta.is_file() {
        return Err(not_found().into());
    }
    let stream = futures_util::stream::unfold(Some(file), |state| async move {
        let mut file = state?;
        let mut buf = vec![0u8; 64 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(bytes::Bytes::from(buf)), Some(file)))
            }
            Err(e) => Some((Err::<bytes::Bytes, _>(e), None)),
        }
    });
    let mut res = (StatusCode::OK, axum::body::Body::from_stream(stream)).into_response();
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(meta.len()));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=315576000, immutable"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    Ok(res)
}
