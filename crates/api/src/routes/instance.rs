//! The instance entities, custom emojis, default images and health
//! (WebFinger is federation's, with the rest of discovery).

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferrodon_config::RegistrationMode;
use serde_json::{Value, json};

use crate::AppState;
use crate::entities;
use crate::error::ApiResult;

/// The Mastodon API version we follow, and our own.
pub fn version() -> String {
    format!("4.5.0 (compatible; Ferrodon {})", env!("CARGO_PKG_VERSION"))
}

fn media_configuration(i: &ferrodon_service::Instance) -> Value {
    use ferrodon_service::media;
    let types: Vec<&str> = media::SUPPORTED.iter().map(|s| s.content_type).collect();
    json!({
        "supported_mime_types": types,
        "image_size_limit": i.media.max_image_bytes,
        "image_matrix_limit": 33_177_600,
        "video_size_limit": i.media.max_video_bytes,
        "video_frame_rate_limit": 120,
        "video_matrix_limit": 8_294_400,
        "description_limit": media::MAX_DESCRIPTION_CHARS,
    })
}

fn polls_configuration(limits: &ferrodon_service::Limits) -> Value {
    json!({
        "max_options": limits.max_poll_options,
        "max_characters_per_option": limits.max_poll_option_chars,
        "min_expiration": limits.min_poll_expiration,
        "max_expiration": limits.max_poll_expiration,
    })
}

async fn rules_json(state: &AppState) -> ApiResult<Value> {
    let rules = state.services.rules().await?;
    Ok(Value::Array(
        rules
            .iter()
            .map(|r| json!({"id": r.id.to_string(), "text": r.text, "hint": r.hint}))
            .collect(),
    ))
}

/// `GET /api/v1/instance/rules`.
pub async fn rules(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    Ok(Json(rules_json(&state).await?))
}

/// `GET /api/v1/instance/peers`: domains of the remote accounts this server knows.
pub async fn peers(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    Ok(Json(json!(state.services.peers().await?)))
}

/// `GET /api/v1/instance/activity`: 12 weeks, newest first, numbers as strings.
pub async fn activity(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let weeks = state.services.activity().await?;
    Ok(Json(Value::Array(
        weeks
            .iter()
            .map(|w| {
                json!({
                    "week": w.week.timestamp().to_string(),
                    "statuses": w.statuses.to_string(),
                    "logins": w.logins.to_string(),
                    "registrations": w.registrations.to_string(),
                })
            })
            .collect(),
    )))
}

/// `GET /api/v1/instance/domain_blocks`: the server blocks no domains yet
/// (moderation of remote servers comes with federation).
pub async fn domain_blocks() -> Json<Value> {
    Json(json!([]))
}

/// `GET /api/v1/instance/extended_description`: the configured description.
pub async fn extended_description(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let i = state.services.instance();
    let content = if i.description.is_empty() {
        String::new()
    } else {
        format!("<p>{}</p>", ferrodon_service::text::escape(&i.description))
    };
    Ok(Json(json!({"updated_at": null, "content": content})))
}

/// `GET /api/v1/instance/translation_languages`: no translation service is configured.
pub async fn translation_languages() -> Json<Value> {
    Json(json!({}))
}

/// `GET /api/v2/instance`.
pub async fn v2(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let i = state.services.instance();
    let active = state.services.instance_stats().await?.active_month;
    let limits = &i.limits;
    Ok(Json(json!({
        "domain": i.domain,
        "title": i.title,
        "version": version(),
        "source_url": "https://example.invalid/ferrodon",
        "description": i.description,
        "usage": {"users": {"active_month": active}},
        "thumbnail": {"url": format!("{}/avatars/original/missing.png", i.base_url), "blurhash": null, "versions": {}},
        "icon": [],
        "languages": ["en"],
        "configuration": {
            "urls": {"streaming": i.streaming_url, "status": null, "about": null, "privacy_policy": null, "terms_of_service": null},
            "vapid": {"public_key": ""},
            "accounts": {
                "max_featured_tags": 10,
                "max_pinned_statuses": 5,
                "max_display_name_length": limits.max_display_name_chars,
                "max_note_length": limits.max_note_chars,
                "max_profile_fields": limits.max_fields,
                "profile_field_name_limit": limits.max_field_chars,
                "profile_field_value_limit": limits.max_field_chars,
            },
            "statuses": {
                "max_characters": limits.max_status_chars,
                "max_media_attachments": ferrodon_service::media::MAX_MEDIA_ATTACHMENTS,
                "characters_reserved_per_url": limits.characters_reserved_per_url,
            },
            "media_attachments": media_configuration(i),
            "polls": polls_configuration(limits),
            "translation": {"enabled": false},
            "limited_federation": false,
            "timelines_access": {
                "live_feeds": {"local": "public", "remote": "public"},
                "hashtag_feeds": {"local": "public", "remote": "public"},
                "trending_link_feeds": {"local": "public", "remote": "public"},
            },
        },
        "registrations": {
            "enabled": i.registrations != RegistrationMode::Closed,
            "approval_required": i.registrations == RegistrationMode::Approval,
            "reason_required": false,
            "message": null,
            "url": null,
            "min_age": null,
        },
        "api_versions": {"mastodon": 7},
        "contact": {"email": i.contact_email, "account": null},
        "rules": rules_json(&state).await?,
    })))
}

/// `GET /api/v1/instance` (deprecated in Mastodon, still read by clients).
pub async fn v1(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let i = state.services.instance();
    let stats = state.services.instance_stats().await?;
    let limits = &i.limits;
    Ok(Json(json!({
        "uri": i.domain,
        "title": i.title,
        "short_description": i.description,
        "description": i.description,
        "email": i.contact_email,
        "version": version(),
        "urls": {"streaming_api": i.streaming_url},
        "stats": {"user_count": stats.users, "status_count": stats.statuses, "domain_count": stats.domains},
        "thumbnail": format!("{}/avatars/original/missing.png", i.base_url),
        "languages": ["en"],
        "registrations": i.registrations != RegistrationMode::Closed,
        "approval_required": i.registrations == RegistrationMode::Approval,
        "invites_enabled": false,
        "configuration": {
            "accounts": {"max_featured_tags": 10},
            "statuses": {
                "max_characters": limits.max_status_chars,
                "max_media_attachments": ferrodon_service::media::MAX_MEDIA_ATTACHMENTS,
                "characters_reserved_per_url": limits.characters_reserved_per_url,
            },
            "media_attachments": media_configuration(i),
            "polls": polls_configuration(limits),
        },
        "contact_account": null,
        "rules": rules_json(&state).await?,
    })))
}

/// `GET /api/v1/custom_emojis`.
pub async fn custom_emojis(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let emojis = state.services.custom_emojis().await?;
    Ok(Json(Value::Array(
        emojis
            .iter()
            .map(|e| entities::custom_emoji(state.services.instance(), e))
            .collect(),
    )))
}

fn png(bytes: &'static [u8]) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        bytes,
    )
        .into_response()
}

/// The default avatar, as Mastodon's `/avatars/original/missing.png`.
pub async fn missing_avatar() -> Response {
    png(include_bytes!("../../assets/missing-avatar.png"))
}

/// The default header image.
pub async fn missing_header() -> Response {
    png(include_bytes!("../../assets/missing-header.png"))
}
