//! The federation layer's one error type and how it answers over HTTP.
//!
//! Answers use Mastodon's JSON error shape (`{"error": "…"}`). A request
//! another server gets wrong is its fault (4xx with the reason); anything
//! unexpected is logged and answered 500 without detail.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ferrodon_service::ServiceError;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    #[error("Record not found")]
    NotFound,
    /// The account or object existed and is gone (suspended, deleted).
    #[error("Gone")]
    Gone,
    #[error("{0}")]
    BadRequest(String),
    /// A signature is missing or does not verify.
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("{0}")]
    Internal(String),
}

pub type FedResult<T> = Result<T, FederationError>;

impl From<ferrodon_storage::StorageError> for FederationError {
    fn from(e: ferrodon_storage::StorageError) -> Self {
        FederationError::Service(ServiceError::Storage(e))
    }
}

impl FederationError {
    /// Whether this is the other side's fault (a 4xx).
    pub fn is_client_error(&self) -> bool {
        self.status_and_message().0.is_client_error()
    }

    fn status_and_message(&self) -> (StatusCode, String) {
        match self {
            FederationError::NotFound => (StatusCode::NOT_FOUND, self.to_string()),
            FederationError::Gone => (StatusCode::GONE, self.to_string()),
            FederationError::BadRequest(m) => (StatusCode::BAD_REQUEST, m.clone()),
            FederationError::Unauthorized(m) => (StatusCode::UNAUTHORIZED, m.clone()),
            FederationError::Forbidden(m) => (StatusCode::FORBIDDEN, m.clone()),
            FederationError::PayloadTooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, m.clone()),
            FederationError::Unprocessable(m) => (StatusCode::UNPROCESSABLE_ENTITY, m.clone()),
            FederationError::Service(ServiceError::NotFound(m)) => {
                (StatusCode::NOT_FOUND, (*m).to_owned())
            }
            FederationError::Service(ServiceError::Gone(m)) => (StatusCode::GONE, (*m).to_owned()),
            FederationError::Service(ServiceError::Forbidden(m)) => {
                (StatusCode::FORBIDDEN, m.clone())
            }
            FederationError::Service(ServiceError::Unauthorized(m)) => {
                (StatusCode::UNAUTHORIZED, (*m).to_owned())
            }
            FederationError::Service(ServiceError::BadRequest(m)) => {
                (StatusCode::BAD_REQUEST, m.clone())
            }
            FederationError::Service(ServiceError::Storage(
                ferrodon_storage::StorageError::Unavailable(_),
            )) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Service Unavailable".to_owned(),
            ),
            FederationError::Service(_) | FederationError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal server error".to_owned(),
            ),
        }
    }
}

impl IntoResponse for FederationError {
    fn into_response(self) -> Response {
        let (status, message) = self.status_and_message();
        if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
            tracing::error!(error = %self, "federation request failed");
        }
        (status, Json(json!({ "error": message }))).into_response()
    }
}
