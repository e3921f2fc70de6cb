//! The one place where errors become HTTP responses, in Mastodon's JSON shape:
//! `{"error": "…"}`, plus `error_description` for OAuth and `details` for
//! sign-up validation.
//!
//! Unexpected errors (storage, bugs) are logged with the request id and
//! answered with a plain 500 that reveals nothing.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferrodon_service::{OAuthErrorKind, ServiceError};
use serde_json::json;

/// An API failure.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// Missing, unknown or revoked token.
    #[error("The access token is invalid")]
    InvalidToken,
    /// The token lacks every scope the route accepts.
    #[error("This action is outside the authorized scopes")]
    OutOfScope,
    /// An app token where a user token is needed.
    #[error("This method requires an authenticated user")]
    RequireUser,
    #[error("{0}")]
    UserState(&'static str),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("Request body is too large")]
    PayloadTooLarge,
    #[error("Unsupported media type")]
    UnsupportedMediaType,
    #[error("Too many requests")]
    RateLimited(HeaderMap),
    #[error("{0}")]
    Status(StatusCode, String),
}

pub type ApiResult<T> = Result<T, ApiError>;

/// A JSON error response.
pub fn error_response(status: StatusCode, body: serde_json::Value) -> Response {
    let mut res = (status, axum::Json(body)).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    res
}

fn oauth_status(kind: OAuthErrorKind) -> StatusCode {
    match kind {
        OAuthErrorKind::InvalidClient => StatusCode::UNAUTHORIZED,
        OAuthErrorKind::UnauthorizedClient | OAuthErrorKind::AccessDenied => StatusCode::FORBIDDEN,
        _ => StatusCode::BAD_REQUEST,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let simple =
            |status: StatusCode, message: &str| error_response(status, json!({ "error": message }));
        match self {
            ApiError::Service(e) => match e {
                ServiceError::NotFound(m) => simple(StatusCode::NOT_FOUND, m),
                ServiceError::Unauthorized(m) => simple(StatusCode::UNAUTHORIZED, m),
                ServiceError::Forbidden(m) => simple(StatusCode::FORBIDDEN, &m),
                ServiceError::BadRequest(m) => simple(StatusCode::BAD_REQUEST, &m),
                ServiceError::Gone(m) => simple(StatusCode::GONE, m),
                ServiceError::Unprocessable { message, details } => {
                    let mut body = json!({ "error": message });
                    if let Some(details) = details {
                        let details: BTreeMap<&str, Vec<serde_json::Value>> = details
                            .into_iter()
                            .map(|(field, errors)| {
                                let list = errors
                                    .into_iter()
                                    .map(|e| json!({"error": e.code, "description": e.description}))
                                    .collect();
                                (field, list)
                            })
                            .collect();
                        body["details"] = json!(details);
                    }
                    error_response(StatusCode::UNPROCESSABLE_ENTITY, body)
                }
                ServiceError::OAuth(kind) => error_response(
                    oauth_status(kind),
                    json!({"error": kind.code(), "error_description": kind.description()}),
                ),
                ServiceError::Storage(e @ ferrodon_storage::StorageError::Unavailable(_)) => {
                    tracing::warn!(error = %e, "database unavailable");
                    simple(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "There was a temporary problem serving your request, please try again",
                    )
                }
                ServiceError::Storage(e) => {
                    tracing::error!(error = %e, "storage error");
                    simple(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
                }
                ServiceError::Internal(m) => {
                    tracing::error!(error = %m, "internal error");
                    simple(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
                }
            },
            ApiError::InvalidToken => {
                let mut res = simple(StatusCode::UNAUTHORIZED, "The access token is invalid");
                res.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(
                        "Bearer realm=\"Doorkeeper\", error=\"invalid_token\"",
                    ),
                );
                res
            }
            ApiError::OutOfScope => simple(
                StatusCode::FORBIDDEN,
                "This action is outside the authorized scopes",
            ),
            ApiError::RequireUser => simple(
                StatusCode::UNPROCESSABLE_ENTITY,
                "This method requires an authenticated user",
            ),
            ApiError::UserState(m) => simple(StatusCode::FORBIDDEN, m),
            ApiError::BadRequest(m) => simple(StatusCode::BAD_REQUEST, &m),
            ApiError::Unprocessable(m) => simple(StatusCode::UNPROCESSABLE_ENTITY, &m),
            ApiError::PayloadTooLarge => {
                simple(StatusCode::PAYLOAD_TOO_LARGE, "Request body is too large")
            }
            ApiError::UnsupportedMediaType => simple(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported content type; send JSON, form data or multipart",
            ),
            ApiError::RateLimited(headers) => {
                let mut res = simple(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
                res.headers_mut().extend(headers);
                res
            }
            ApiError::Status(status, m) => simple(status, &m),
        }
    }
}

/// Reason phrase for a status, as Mastodon's generic errors use it.
pub fn reason(status: StatusCode) -> &'static str {
    status.canonical_reason().unwrap_or("Error")
}
