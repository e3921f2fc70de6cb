//! OAuth 2 as Mastodon does it: applications, authorization codes with PKCE,
//! the `authorization_code`, `client_credentials` and `password` grants,
//! revocation, and authenticating a bearer token; plus password hashing.

use std::str::FromStr;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine;
use chrono::{DateTime, Utc};
use ferrodon_model::{AppId, GrantId, Role, ScopeSet, TokenId, UserId};
use ferrodon_storage::oauth::{self, App, Grant, NewToken};
use ferrodon_storage::users::{self, User};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::{OAuthErrorKind, Principal, Result, ServiceError, Services, UserContext};

/// The redirect URI that shows the code instead of redirecting.
pub const OOB_REDIRECT: &str = "urn:ietf:wg:oauth:2.0:oob";

/// A random secret: 32 bytes, URL-safe base64.
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A new value for the browser's sign-in cookie, which the sign-in form's
/// token is bound to.
pub fn new_form_binding() -> String {
    random_token()
}

/// Whether a sign-in cookie's value has the shape [`new_form_binding`] gives.
pub fn valid_form_binding(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// How tokens and codes are stored: SHA-256, hex.
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hashes a password with argon2id (on a blocking thread: it is slow on purpose).
pub async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt: [u8; 16] = rand::random();
        Argon2::default()
            .hash_password_with_salt(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ServiceError::Internal(format!("hash: {e}")))
    })
    .await
    .map_err(|e| ServiceError::Internal(format!("hash task: {e}")))?
}

/// Whether `password` matches `hash`: argon2 (ours) or bcrypt (imported from
/// Mastodon, `$2a$…`). The second value says the hash should be replaced.
pub async fn verify_password(password: String, hash: String) -> Result<(bool, bool)> {
    tokio::task::spawn_blocking(move || {
        if hash.starts_with("$2") {
            let ok = bcrypt::verify(password.as_bytes(), &hash).unwrap_or(false);
            Ok((ok, ok))
        } else {
            let Ok(parsed) = PasswordHash::new(&hash) else {
                return Ok((false, false));
            };
            Ok((
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok(),
                false,
            ))
        }
    })
    .await
    .map_err(|e| ServiceError::Internal(format!("verify task: {e}")))?
}

/// Input for `POST /api/v1/apps`.
#[derive(Debug, Clone, Default)]
pub struct NewApp {
    pub name: Option<String>,
    pub redirect_uris: Vec<String>,
    pub scopes: Option<String>,
    pub website: Option<String>,
}

/// A newly issued access token.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub access_token: String,
    pub scopes: ScopeSet,
    pub created_at: DateTime<Utc>,
}

/// What the authorize form carries between its GET and POST.
#[derive(Debug, Clone, Default)]
pub struct AuthorizeRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub response_type: String,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
}

/// A checked authorize request: the app and what it asks for.
#[derive(Debug, Clone)]
pub struct ValidAuthorize {
    pub app: App,
    pub scopes: ScopeSet,
    pub redirect_uri: String,
}

/// Where the browser goes after the sign-in form.
#[derive(Debug, Clone)]
pub enum AuthorizeOutcome {
    /// Redirect to the client with `code` and `state`.
    Redirect(String),
    /// Show the code (out-of-band redirect URI).
    ShowCode(String),
}

/// Input for `POST /oauth/token`.
#[derive(Debug, Clone, Default)]
pub struct TokenRequest {
    pub grant_type: String,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub scope: Option<String>,
}

fn valid_redirect_uri(uri: &str) -> std::result::Result<(), &'static str> {
    if uri == OOB_REDIRECT {
        return Ok(());
    }
    let parsed = url::Url::parse(uri).map_err(|_| "must be an absolute URI.")?;
    if matches!(parsed.scheme(), "javascript" | "data" | "vbscript") {
        return Err("is forbidden by the server.");
    }
    if parsed.fragment().is_some() {
        return Err("cannot contain a fragment.");
    }
    Ok(())
}

impl Services {
    /// Registers an OAuth application.
    pub async fn create_app(&self, input: NewApp) -> Result<App> {
        let name = input.name.unwrap_or_default().trim().to_owned();
        if name.is_empty() {
            return Err(ServiceError::invalid("Application name can't be blank"));
        }
        if name.chars().count() > 60 {
            return Err(ServiceError::invalid(
                "Application name is too long (maximum is 60 characters)",
            ));
        }
        let uris: Vec<String> = input
            .redirect_uris
            .iter()
            .flat_map(|u| u.split_whitespace())
            .map(str::to_owned)
            .collect();
        if uris.is_empty() {
            return Err(ServiceError::invalid("Redirect URI can't be blank"));
        }
        for uri in &uris {
            if uri.len() > 2000 {
                return Err(ServiceError::invalid(
                    "Redirect URI is too long (maximum is 2000 characters)",
                ));
            }
            valid_redirect_uri(uri)
                .map_err(|m| ServiceError::invalid(format!("Redirect URI {m}")))?;
        }
        let scopes = ScopeSet::parse(input.scopes.as_deref().unwrap_or("read"))
            .map_err(|_| ServiceError::invalid("Scopes doesn't match configured on the server."))?;
        let scopes = if scopes.is_empty() {
            ScopeSet::parse("read").unwrap_or_default()
        } else {
            scopes
        };
        let website = input
            .website
            .map(|w| w.trim().to_owned())
            .filter(|w| !w.is_empty());
        if let Some(w) = &website
            && (w.len() > 2000 || url::Url::parse(w).is_err())
        {
            return Err(ServiceError::invalid("Website is invalid"));
        }
        let app = App {
            id: AppId::from(self.ids().next()),
            name,
            website,
            redirect_uris: uris.join("\n"),
            scopes: scopes.to_string(),
            client_id: random_token(),
            client_secret: random_token(),
            created_at: ferrodon_storage::now(),
        };
        oauth::insert_app(self.db(), &app).await?;
        Ok(app)
    }

    pub async fn app(&self, id: AppId) -> Result<App> {
        oauth::get_app(self.db(), id)
            .await?
            .ok_or_else(ServiceError::not_found)
    }

    /// Resolves a bearer token, or `None` if it is unknown or revoked.
    pub async fn authenticate(&self, bearer: &str) -> Result<Option<Principal>> {
        let Some(grant) = oauth::authenticate(self.db(), &token_hash(bearer)).await? else {
            return Ok(None);
        };
        let scopes = ScopeSet::parse(&grant.scopes).unwrap_or_default();
        let user = grant.user().map(|(user_id, account_id)| UserContext {
            user_id,
            account_id,
            role: grant
                .role
                .as_deref()
                .and_then(|r| Role::from_str(r).ok())
                .unwrap_or_default(),
            approved: grant.approved.unwrap_or(false),
            disabled: grant.disabled.unwrap_or(true),
            suspended: grant.suspended_at.is_some(),
        });
        // Record use at most once an hour: no write on every request.
        let now = ferrodon_storage::now();
        if grant
            .last_used_at
            .is_none_or(|t| now - t > chrono::Duration::hours(1))
        {
            oauth::touch_token(self.db(), grant.token_id, now).await?;
            if let Some(u) = &user {
                users::touch_sign_in(self.db(), u.user_id, now).await?;
            }
        }
        Ok(Some(Principal {
            token_id: grant.token_id,
            app_id: grant.application_id,
            scopes,
            user,
        }))
    }

    async fn issue_token(
        &self,
        app: AppId,
        user: Option<UserId>,
        scopes: ScopeSet,
    ) -> Result<IssuedToken> {
        let access_token = random_token();
        let created_at = ferrodon_storage::now();
        oauth::insert_token(
            self.db(),
            &NewToken {
                id: TokenId::from(self.ids().next()),
                token_hash: token_hash(&access_token),
                application_id: app,
                user_id: user,
                scopes: scopes.to_string(),
                created_at,
            },
        )
        .await?;
        Ok(IssuedToken {
            access_token,
            scopes,
            created_at,
        })
    }

    /// A user token for a newly registered account (same app as the app token).
    pub(crate) async fn issue_user_token(
        &self,
        app: AppId,
        user: UserId,
        scopes: ScopeSet,
    ) -> Result<IssuedToken> {
        self.issue_token(app, Some(user), scopes).await
    }

    async fn client(&self, client_id: Option<&str>, client_secret: Option<&str>) -> Result<App> {
        let (Some(id), Some(secret)) = (client_id, client_secret) else {
            return Err(ServiceError::OAuth(OAuthErrorKind::InvalidClient));
        };
        let app = oauth::app_by_client_id(self.db(), id)
            .await?
            .ok_or(ServiceError::OAuth(OAuthErrorKind::InvalidClient))?;
        if !constant_time_eq(app.client_secret.as_bytes(), secret.as_bytes()) {
            return Err(ServiceError::OAuth(OAuthErrorKind::InvalidClient));
        }
        Ok(app)
    }

    /// Scopes asked for (default `read`), which the app must have registered.
    fn requested_scopes(requested: Option<&str>, app: &App) -> Result<ScopeSet> {
        let scopes = ScopeSet::parse(requested.filter(|s| !s.trim().is_empty()).unwrap_or("read"))
            .map_err(|_| ServiceError::OAuth(OAuthErrorKind::InvalidScope))?;
        let app_scopes = ScopeSet::parse(&app.scopes).unwrap_or_default();
        if scopes.is_empty() || !scopes.is_subset_of(&app_scopes) {
            return Err(ServiceError::OAuth(OAuthErrorKind::InvalidScope));
        }
        Ok(scopes)
    }

    /// `POST /oauth/token`.
    pub async fn token(&self, req: TokenRequest) -> Result<IssuedToken> {
        match req.grant_type.as_str() {
            "client_credentials" => {
                let app = self
                    .client(req.client_id.as_deref(), req.client_secret.as_deref())
                    .await?;
                let scopes = Self::requested_scopes(req.scope.as_deref(), &app)?;
                self.issue_token(app.id, None, scopes).await
            }
            "password" if self.instance().password_grant => {
                let app = self
                    .client(req.client_id.as_deref(), req.client_secret.as_deref())
                    .await?;
                let scopes = Self::requested_scopes(req.scope.as_deref(), &app)?;
                let (Some(login), Some(password)) = (req.username, req.password) else {
                    return Err(ServiceError::OAuth(OAuthErrorKind::InvalidRequest));
                };
                let user = self
                    .check_credentials(&login, &password)
                    .await?
                    .ok_or(ServiceError::OAuth(OAuthErrorKind::InvalidGrant))?;
                self.issue_token(app.id, Some(user.id), scopes).await
            }
            "authorization_code" => {
                let app = self
                    .client(req.client_id.as_deref(), req.client_secret.as_deref())
                    .await?;
                let code = req
                    .code
                    .ok_or(ServiceError::OAuth(OAuthErrorKind::InvalidRequest))?;
                let grant = oauth::take_grant(self.db(), &token_hash(&code))
                    .await?
                    .ok_or(ServiceError::OAuth(OAuthErrorKind::InvalidGrant))?;
                let redirect_ok = req.redirect_uri.as_deref() == Some(grant.redirect_uri.as_str());
                if grant.application_id != app.id
                    || grant.expires_at < ferrodon_storage::now()
                    || !redirect_ok
                {
                    return Err(ServiceError::OAuth(OAuthErrorKind::InvalidGrant));
                }
                if let Some(challenge) = &grant.code_challenge {
                    let verifier = req
                        .code_verifier
                        .ok_or(ServiceError::OAuth(OAuthErrorKind::InvalidGrant))?;
                    let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
                        .encode(Sha256::digest(verifier.as_bytes()));
                    if !constant_time_eq(computed.as_bytes(), challenge.as_bytes()) {
                        return Err(ServiceError::OAuth(OAuthErrorKind::InvalidGrant));
                    }
                }
                let scopes = ScopeSet::parse(&grant.scopes).unwrap_or_default();
                self.issue_token(app.id, Some(grant.user_id), scopes).await
            }
            _ => Err(ServiceError::OAuth(OAuthErrorKind::UnsupportedGrantType)),
        }
    }

    /// `POST /oauth/revoke`: revoking an unknown token succeeds; another app's token does not.
    pub async fn revoke(
        &self,
        client_id: Option<&str>,
        client_secret: Option<&str>,
        token: &str,
    ) -> Result<()> {
        let app = self
            .client(client_id, client_secret)
            .await
            .map_err(|_| ServiceError::OAuth(OAuthErrorKind::UnauthorizedClient))?;
        let hash = token_hash(token);
        if oauth::revoke_token(self.db(), &hash, app.id).await? {
            return Ok(());
        }
        match oauth::authenticate(self.db(), &hash).await? {
            Some(other) if other.application_id != app.id => {
                Err(ServiceError::OAuth(OAuthErrorKind::UnauthorizedClient))
            }
            _ => Ok(()),
        }
    }

    /// A local user by e-mail (or username) and password; rehashes imported bcrypt hashes.
    pub async fn check_credentials(&self, login: &str, password: &str) -> Result<Option<User>> {
        let user = match users::by_email(self.db(), login).await? {
            Some(u) => Some(u),
            None => {
                match ferrodon_storage::accounts::find_by_username(self.db(), login, None).await? {
                    Some(a) => users::by_account(self.db(), a.id).await?,
                    None => None,
                }
            }
        };
        let Some(user) = user else {
            // Spend the same time as a real check, so timing does not reveal addresses.
            let _ = verify_password(password.to_owned(), DUMMY_HASH.to_owned()).await;
            return Ok(None);
        };
        let (ok, rehash) = verify_password(password.to_owned(), user.password_hash.clone()).await?;
        if !ok {
            return Ok(None);
        }
        if rehash {
            let new_hash = hash_password(password.to_owned()).await?;
            users::set_password_hash(self.db(), user.id, &new_hash).await?;
        }
        Ok(Some(user))
    }

    /// Checks a `GET /oauth/authorize` request. Errors that must not be sent
    /// to an unverified redirect URI come back as `Err`.
    pub async fn validate_authorize(&self, req: &AuthorizeRequest) -> Result<ValidAuthorize> {
        let app = oauth::app_by_client_id(self.db(), &req.client_id)
            .await?
            .ok_or(ServiceError::OAuth(OAuthErrorKind::InvalidClient))?;
        let redirect_uri = if req.redirect_uri.is_empty() {
            match app.redirect_uri_list().as_slice() {
                [only] => (*only).to_owned(),
                _ => return Err(ServiceError::OAuth(OAuthErrorKind::InvalidRequest)),
            }
        } else {
            req.redirect_uri.clone()
        };
        if !app.redirect_uri_list().contains(&redirect_uri.as_str()) {
            return Err(ServiceError::BadRequest(
                "The redirect uri included is not valid.".to_owned(),
            ));
        }
        if req.response_type != "code" {
            return Err(ServiceError::OAuth(OAuthErrorKind::UnsupportedResponseType));
        }
        match (
            req.code_challenge.as_deref(),
            req.code_challenge_method.as_deref(),
        ) {
            (None, _) | (Some(_), Some("S256")) => {}
            _ => return Err(ServiceError::OAuth(OAuthErrorKind::InvalidRequest)),
        }
        let scopes = Self::requested_scopes(req.scope.as_deref(), &app)?;
        Ok(ValidAuthorize {
            app,
            scopes,
            redirect_uri,
        })
    }

    /// A token for the sign-in form that binds it to this request, to the
    /// browser's sign-in cookie (`binding`, see [`new_form_binding`]) and to
    /// the next hour: a form fetched by someone else is no use in this browser.
    pub fn authorize_form_token(
        &self,
        req: &AuthorizeRequest,
        binding: &str,
        now: DateTime<Utc>,
    ) -> String {
        let ts = now.timestamp();
        format!("{ts}.{}", self.form_mac(req, binding, ts))
    }

    fn form_mac(&self, req: &AuthorizeRequest, binding: &str, ts: i64) -> String {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.secrets().secret_key_base) else {
            return String::new();
        };
        mac.update(
            format!(
                "authorize|{binding}|{}|{}|{}|{}|{ts}",
                req.client_id,
                req.redirect_uri,
                req.scope.as_deref().unwrap_or(""),
                req.code_challenge.as_deref().unwrap_or("")
            )
            .as_bytes(),
        );
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Handles the sign-in form: checks the form token against the
    /// browser's sign-in cookie (`binding`) and the credentials, then issues
    /// a single-use code (valid ten minutes). A token that does not belong to
    /// this browser is 422 (login CSRF), an old one 403.
    pub async fn authorize(
        &self,
        req: &AuthorizeRequest,
        form_token: &str,
        binding: Option<&str>,
        login: &str,
        password: &str,
    ) -> Result<AuthorizeOutcome> {
        let valid = self.validate_authorize(req).await?;
        let now = ferrodon_storage::now();
        let parsed = form_token
            .split_once('.')
            .and_then(|(ts, mac)| ts.parse::<i64>().ok().map(|ts| (ts, mac)));
        let bound = match (parsed, binding.filter(|b| valid_form_binding(b))) {
            (Some((ts, mac)), Some(binding)) => {
                constant_time_eq(mac.as_bytes(), self.form_mac(req, binding, ts).as_bytes())
                    .then_some(ts)
            }
            _ => None,
        };
        let Some(ts) = bound else {
            return Err(ServiceError::Unprocessable {
                message: "The sign-in form could not be verified; make sure cookies are \
                          enabled and try again."
                    .to_owned(),
                details: None,
            });
        };
        if now.timestamp() - ts >= 3600 || ts > now.timestamp() + 60 {
            return Err(ServiceError::Forbidden(
                "The sign-in form expired; please try again.".to_owned(),
            ));
        }
        let user =
            self.check_credentials(login, password)
                .await?
                .ok_or(ServiceError::Unauthorized(
                    "Invalid e-mail address or password.",
                ))?;
        let account = ferrodon_storage::accounts::get(self.db(), user.account_id).await?;
        if user.disabled || account.is_none_or(|a| a.suspended_at.is_some()) {
            return Err(ServiceError::Forbidden(
                "Your login is currently disabled".to_owned(),
            ));
        }
        if !user.approved {
            return Err(ServiceError::Forbidden(
                "Your login is currently pending approval".to_owned(),
            ));
        }
        let code = random_token();
        oauth::insert_grant(
            self.db(),
            &Grant {
                id: GrantId::from(self.ids().next()),
                code_hash: token_hash(&code),
                application_id: valid.app.id,
                user_id: user.id,
                redirect_uri: valid.redirect_uri.clone(),
                scopes: valid.scopes.to_string(),
                code_challenge: req.code_challenge.clone(),
                code_challenge_method: req.code_challenge_method.clone(),
                expires_at: now + chrono::Duration::minutes(10),
                created_at: now,
            },
        )
        .await?;
        if valid.redirect_uri == OOB_REDIRECT {
            return Ok(AuthorizeOutcome::ShowCode(code));
        }
        let mut target = url::Url::parse(&valid.redirect_uri).map_err(|_| {
            ServiceError::BadRequest("The redirect uri included is not valid.".to_owned())
        })?;
        target.query_pairs_mut().append_pair("code", &code);
        if let Some(state) = req.state.as_deref().filter(|s| !s.is_empty()) {
            target.query_pairs_mut().append_pair("state", state);
        }
        Ok(AuthorizeOutcome::Redirect(target.to_string()))
    }
}

/// An argon2 hash of a random password, to spend verification time on unknown logins.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2VlyN0BrcwEeGn3XV0nZZCN6n+fT1kjDiaMEdAqUQU0";

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn argon2_round_trip() -> Result<()> {
        let hash = hash_password("correct horse".into()).await?;
        assert!(hash.starts_with("$argon2id$"));
        assert_eq!(
            verify_password("correct horse".into(), hash.clone()).await?,
            (true, false)
        );
        assert_eq!(verify_password("wrong".into(), hash).await?, (false, false));
        Ok(())
    }

    #[tokio::test]
    async fn imported_bcrypt_hashes_verify_and_ask_for_rehash() -> Result<()> {
        // As Mastodon (Devise) stores them: bcrypt, cost 10, `$2a$`.
        let hash = bcrypt::hash_with_result("hunter2hunter2", 10)
            .map(|h| h.format_for_version(bcrypt::Version::TwoA))
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        assert!(hash.starts_with("$2a$10$"));
        assert_eq!(
            verify_password("hunter2hunter2".into(), hash.clone()).await?,
            (true, true)
        );
        assert_eq!(verify_password("nope".into(), hash).await?, (false, false));
        Ok(())
    }

    #[test]
    fn pkce_s256_matches_rfc_7636_example() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(verifier.as_bytes()));
        assert_eq!(challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn redirect_uris() {
        assert!(valid_redirect_uri(OOB_REDIRECT).is_ok());
        assert!(valid_redirect_uri("https://app.example/cb").is_ok());
        assert!(valid_redirect_uri("myapp://callback").is_ok());
        assert!(valid_redirect_uri("/relative").is_err());
        assert!(valid_redirect_uri("javascript:alert(1)").is_err());
        assert!(valid_redirect_uri("https://app.example/cb#frag").is_err());
    }
}
