//! Bearer-token authentication and scope checks, as Mastodon's
//! `doorkeeper_authorize!`, `authorize_if_got_token!` and `require_user!`.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use ferrodon_model::Scope;
use ferrodon_service::{Principal, UserContext};

use crate::AppState;
use crate::error::ApiError;

/// The request's credentials: `None` when no token was sent. An invalid
/// token fails the request (401) even where a token is optional.
#[derive(Debug, Clone)]
pub struct Auth(pub Option<Principal>);

/// The outcome of looking the request's bearer token up, once per request:
/// the rate limiter (which keys on valid tokens) or the first extraction of
/// [`Auth`] stores it in the request's extensions, and later extractions
/// reuse it. `None`: the token is unknown, revoked or expired.
#[derive(Debug, Clone)]
pub struct ResolvedToken(pub Option<Principal>);

/// The bearer token of a request, if any.
pub fn bearer(headers: &HeaderMap) -> Option<String> {
    let header = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = header.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty())
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(token) = bearer(&parts.headers) else {
            return Ok(Auth(None));
        };
        let found = match parts.extensions.get::<ResolvedToken>() {
            Some(ResolvedToken(found)) => found.clone(),
            None => {
                let found = state.services.authenticate(&token).await?;
                parts.extensions.insert(ResolvedToken(found.clone()));
                found
            }
        };
        match found {
            Some(principal) => Ok(Auth(Some(principal))),
            None => Err(ApiError::InvalidToken),
        }
    }
}

fn check_user(user: UserContext) -> Result<UserContext, ApiError> {
    if user.disabled || user.suspended {
        return Err(ApiError::UserState("Your login is currently disabled"));
    }
    if !user.approved {
        return Err(ApiError::UserState(
            "Your login is currently pending approval",
        ));
    }
    Ok(user)
}

impl Auth {
    /// A token holding one of `scopes` (app or user token).
    pub fn token(&self, scopes: &[Scope]) -> Result<&Principal, ApiError> {
        let principal = self.0.as_ref().ok_or(ApiError::InvalidToken)?;
        if !scopes.is_empty() && !principal.scopes.grants_any(scopes) {
            return Err(ApiError::OutOfScope);
        }
        Ok(principal)
    }

    /// A user token holding one of `scopes`, for a user in good standing.
    pub fn user(&self, scopes: &[Scope]) -> Result<UserContext, ApiError> {
        let principal = self.token(scopes)?;
        check_user(principal.user.ok_or(ApiError::RequireUser)?)
    }

    /// The viewer, if a token was sent: its scopes are checked then (an app
    /// token reads as anonymous).
    pub fn viewer(&self, scopes: &[Scope]) -> Result<Option<UserContext>, ApiError> {
        match &self.0 {
            None => Ok(None),
            Some(_) => {
                let principal = self.token(scopes)?;
                principal.user.map(check_user).transpose()
            }
        }
    }
}
