//! OAuth 2 endpoints: the sign-in and consent page, token, revoke, and the
//! authorization server metadata.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::Engine as _;
use ferrodon_model::scope;
use ferrodon_model::scope::ALL_SCOPES;
use ferrodon_service::ServiceError;
use ferrodon_service::auth::{AuthorizeOutcome, AuthorizeRequest, TokenRequest};
use ferrodon_service::text::escape;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::Auth;
use crate::entities;
use crate::error::{ApiError, ApiResult};
use crate::params::{Params, de};

#[derive(Debug, Default, Deserialize)]
pub struct AuthorizeParams {
    #[serde(default, deserialize_with = "de::opt_string")]
    client_id: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    redirect_uri: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    response_type: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    scope: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    state: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    code_challenge: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    code_challenge_method: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    csrf: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    email: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    password: Option<String>,
}

impl AuthorizeParams {
    fn request(&self) -> AuthorizeRequest {
        AuthorizeRequest {
            client_id: self.client_id.clone().unwrap_or_default(),
            redirect_uri: self.redirect_uri.clone().unwrap_or_default(),
            response_type: self.response_type.clone().unwrap_or_default(),
            scope: self.scope.clone().filter(|s| !s.is_empty()),
            state: self.state.clone().filter(|s| !s.is_empty() && s != "None"),
            code_challenge: self.code_challenge.clone().filter(|s| !s.is_empty()),
            code_challenge_method: self.code_challenge_method.clone().filter(|s| !s.is_empty()),
        }
    }
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title}</title><style>body{{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#222}}\
label{{display:block;margin:.8rem 0 .2rem}}input[type=email],input[type=password],input[type=text]{{width:100%;padding:.5rem;box-sizing:border-box}}\
button{{margin-top:1rem;padding:.6rem 1.2rem}}.error{{color:#b00020}}code{{display:block;padding:.8rem;background:#eee;word-break:break-all}}</style></head>\
<body>{body}</body></html>",
        title = escape(title)
    )
}

/// An HTML page; `form_action` is the CSP `form-action` source list (the
/// sign-in form posts to itself, and the browser then follows the redirect to
/// the client, which `form-action` governs too).
fn html(status: StatusCode, title: &str, body: &str, form_action: &str) -> Response {
    let mut res = (status, Html(page(title, body))).into_response();
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; form-action {form_action}; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&csp) {
        res.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    res.headers_mut()
        .insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The `form-action` sources of the sign-in form for a (validated) redirect
/// URI: itself, plus where the redirect after signing in goes — the origin
/// of an http(s) URI, the scheme of a custom-scheme one (`com.example.app:`),
/// nothing more for the out-of-band URI, which shows the code instead.
pub fn form_action_sources(redirect_uri: &str) -> String {
    let own = "'self'".to_owned();
    if redirect_uri == ferrodon_service::auth::OOB_REDIRECT {
        return own;
    }
    let Ok(url) = url::Url::parse(redirect_uri) else {
        return own;
    };
    let scheme = url.scheme();
    let plain = |s: &str| {
        !s.is_empty()
            && s.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+' | b'[' | b']' | b':')
            })
    };
    match (scheme, url.host_str()) {
        ("http" | "https", Some(host)) if plain(host) => match url.port() {
            Some(port) => format!("{own} {scheme}://{host}:{port}"),
            None => format!("{own} {scheme}://{host}"),
        },
        ("http" | "https", _) => format!("{own} {scheme}:"),
        // A URL's scheme is letters, digits, `+`, `-` and `.`: a valid source.
        (other, _) if plain(other) && !other.contains([':', '[', ']']) => {
            format!("{own} {other}:")
        }
        _ => own,
    }
}

fn error_page(message: &str) -> Response {
    error_page_with(StatusCode::BAD_REQUEST, message)
}

fn error_page_with(status: StatusCode, message: &str) -> Response {
    html(
        status,
        "Authorization error",
        &format!(
            "<h1>Authorization error</h1><p class=\"error\">{}</p>",
            escape(message)
        ),
        "'none'",
    )
}

/// The sign-in cookie's name: a `__Host-` cookie (Secure, whole host, no
/// Domain) when the instance is served over https; browsers refuse those
/// over plain http, where it is a plain one.
fn binding_cookie_name(state: &AppState) -> &'static str {
    if state.services.instance().base_url.starts_with("https://") {
        "__Host-ferrodon_signin"
    } else {
        "ferrodon_signin"
    }
}

/// The browser's sign-in cookie, if it sent a well-formed one.
fn binding_cookie(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let name = binding_cookie_name(state);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, v)| *k == name && ferrodon_service::auth::valid_form_binding(v))
        .map(|(_, v)| v.to_owned())
}

/// Sets the sign-in cookie: HttpOnly, SameSite=Lax (a cross-site form post
/// does not carry it), Secure over https; it lasts the browser session.
fn set_binding_cookie(state: &AppState, res: &mut Response, value: &str) {
    let secure = if state.services.instance().base_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Lax{secure}",
        binding_cookie_name(state)
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
}

fn hidden(name: &str, value: Option<&str>) -> String {
    value
        .map(|v| {
            format!(
                "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
                escape(v)
            )
        })
        .unwrap_or_default()
}

/// The sign-in and consent form, bound to the browser's sign-in cookie
/// (`binding`, set again on the answer).
fn form(
    state: &AppState,
    req: &AuthorizeRequest,
    binding: &str,
    app_name: &str,
    scopes: &str,
    error: Option<&str>,
) -> Response {
    let token = state
        .services
        .authorize_form_token(req, binding, ferrodon_storage::now());
    let error_html = error
        .map(|e| format!("<p class=\"error\">{}</p>", escape(e)))
        .unwrap_or_default();
    let fields = [
        hidden("client_id", Some(&req.client_id)),
        hidden("redirect_uri", Some(&req.redirect_uri)),
        hidden("response_type", Some(&req.response_type)),
        hidden("scope", req.scope.as_deref()),
        hidden("state", req.state.as_deref()),
        hidden("code_challenge", req.code_challenge.as_deref()),
        hidden(
            "code_challenge_method",
            req.code_challenge_method.as_deref(),
        ),
        hidden("csrf", Some(&token)),
    ]
    .concat();
    let instance = state.services.instance();
    let body = format!(
        "<h1>{title}</h1><p><strong>{app}</strong> wants to use your account with these permissions: <code>{scopes}</code></p>\
{error_html}<form method=\"post\" action=\"/oauth/authorize\">{fields}\
<label for=\"email\">E-mail address</label><input id=\"email\" type=\"email\" name=\"email\" autocomplete=\"username\" required>\
<label for=\"password\">Password</label><input id=\"password\" type=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
<button type=\"submit\">Authorize</button></form>",
        title = escape(&instance.title),
        app = escape(app_name),
        scopes = escape(scopes),
    );
    let status = if error.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    let mut res = html(
        status,
        "Authorize",
        &body,
        &form_action_sources(&req.redirect_uri),
    );
    set_binding_cookie(state, &mut res, binding);
    res
}

/// Sends an error to the (verified) redirect URI, as RFC 6749 §4.1.2.1 asks.
fn redirect_error(redirect_uri: &str, kind: &str, state: Option<&str>) -> Response {
    match url::Url::parse(redirect_uri) {
        Ok(mut url) if redirect_uri != ferrodon_service::auth::OOB_REDIRECT => {
            url.query_pairs_mut().append_pair("error", kind);
            if let Some(s) = state {
                url.query_pairs_mut().append_pair("state", s);
            }
            Redirect::to(url.as_str()).into_response()
        }
        _ => error_page(kind),
    }
}

/// `GET /oauth/authorize`.
pub async fn authorize_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Params(p): Params<AuthorizeParams>,
) -> Response {
    let req = p.request();
    let binding =
        binding_cookie(&state, &headers).unwrap_or_else(ferrodon_service::auth::new_form_binding);
    match state.services.validate_authorize(&req).await {
        Ok(valid) => form(
            &state,
            &req,
            &binding,
            &valid.app.name,
            &valid.scopes.to_string(),
            None,
        ),
        Err(ServiceError::OAuth(kind))
            if matches!(
                kind,
                ferrodon_service::OAuthErrorKind::InvalidScope
                    | ferrodon_service::OAuthErrorKind::UnsupportedResponseType
                    | ferrodon_service::OAuthErrorKind::InvalidRequest
            ) && !req.redirect_uri.is_empty() =>
        {
            redirect_error(&req.redirect_uri, kind.code(), req.state.as_deref())
        }
        Err(e) => error_page(&e.to_string()),
    }
}

/// `POST /oauth/authorize`: signs in, then redirects with a code or shows it.
pub async fn authorize(
    State(state): State<AppState>,
    headers: HeaderMap,
    Params(p): Params<AuthorizeParams>,
) -> Response {
    let req = p.request();
    let binding = binding_cookie(&state, &headers);
    let outcome = state
        .services
        .authorize(
            &req,
            p.csrf.as_deref().unwrap_or(""),
            binding.as_deref(),
            p.email.as_deref().unwrap_or(""),
            p.password.as_deref().unwrap_or(""),
        )
        .await;
    // The form again, with `message`, under `status`; a browser without a
    // valid sign-in cookie gets a new one.
    let again = |status: StatusCode, message: String| {
        let state = state.clone();
        let req = req.clone();
        let binding = binding.clone();
        async move {
            match state.services.validate_authorize(&req).await {
                Ok(valid) => {
                    let binding = binding.unwrap_or_else(ferrodon_service::auth::new_form_binding);
                    let mut res = form(
                        &state,
                        &req,
                        &binding,
                        &valid.app.name,
                        &valid.scopes.to_string(),
                        Some(&message),
                    );
                    *res.status_mut() = status;
                    res
                }
                Err(e) => error_page(&e.to_string()),
            }
        }
    };
    match outcome {
        Ok(AuthorizeOutcome::Redirect(to)) => Redirect::to(&to).into_response(),
        Ok(AuthorizeOutcome::ShowCode(code)) => html(
            StatusCode::OK,
            "Authorization code",
            &format!(
                "<h1>Authorization code</h1><p>Copy this code and paste it into the application.</p><code id=\"code\">{}</code>",
                escape(&code)
            ),
            "'none'",
        ),
        Err(ServiceError::Unauthorized(m)) | Err(ServiceError::NotFound(m)) => {
            again(StatusCode::UNAUTHORIZED, m.to_owned()).await
        }
        Err(ServiceError::Forbidden(m)) => again(StatusCode::FORBIDDEN, m).await,
        // The form's token does not belong to this browser (login CSRF, or
        // cookies off): nothing was checked; a fresh form to try again.
        Err(ServiceError::Unprocessable { message, .. }) => {
            again(StatusCode::UNPROCESSABLE_ENTITY, message).await
        }
        Err(e) => {
            if matches!(e, ServiceError::Storage(_) | ServiceError::Internal(_)) {
                tracing::error!(error = %e, "authorize failed");
                return error_page("Something went wrong; please try again.");
            }
            error_page(&e.to_string())
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct TokenParams {
    #[serde(default, deserialize_with = "de::opt_string")]
    grant_type: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    client_id: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    client_secret: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    code: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    redirect_uri: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    code_verifier: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    username: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    password: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    scope: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    token: Option<String>,
}

/// Client credentials from HTTP Basic (`client_secret_basic`), if sent.
fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .map(|c| c.into_owned())
            .unwrap_or_else(|_| s.to_owned())
    };
    Some((decode(id), decode(secret)))
}

fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

/// `POST /oauth/token`.
pub async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    Params(p): Params<TokenParams>,
) -> ApiResult<Response> {
    let (client_id, client_secret) = match basic_auth(&headers) {
        Some((id, secret)) => (Some(id), Some(secret)),
        None => (p.client_id, p.client_secret),
    };
    let issued = state
        .services
        .token(TokenRequest {
            grant_type: p.grant_type.unwrap_or_default(),
            client_id,
            client_secret,
            code: p.code,
            redirect_uri: p.redirect_uri,
            code_verifier: p.code_verifier,
            username: p.username,
            password: p.password,
            scope: p.scope,
        })
        .await?;
    Ok(no_store(Json(entities::token(&issued)).into_response()))
}

/// `POST /oauth/revoke`.
pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    Params(p): Params<TokenParams>,
) -> ApiResult<Json<Value>> {
    let (client_id, client_secret) = match basic_auth(&headers) {
        Some((id, secret)) => (Some(id), Some(secret)),
        None => (p.client_id, p.client_secret),
    };
    let token = p.token.ok_or_else(|| {
        ApiError::BadRequest("param is missing or the value is empty: token".into())
    })?;
    state
        .services
        .revoke(client_id.as_deref(), client_secret.as_deref(), &token)
        .await?;
    Ok(Json(json!({})))
}

/// `GET`/`POST /oauth/userinfo`: OpenID Connect claims about the token's
/// user (Mastodon 4.4), for tokens with the `profile` scope.
pub async fn userinfo(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("profile")])?;
    let view = state.services.credential_account(user.account_id).await?;
    let a = entities::credential_account(state.services.instance(), &view);
    Ok(Json(json!({
        "iss": format!("{}/", state.services.instance().base_url),
        "sub": a["uri"],
        "name": a["display_name"],
        "preferred_username": a["username"],
        "profile": a["url"],
        "picture": a["avatar"],
    })))
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414).
pub async fn metadata(State(state): State<AppState>) -> Json<Value> {
    let i = state.services.instance();
    let base = &i.base_url;
    let mut grants = vec!["authorization_code", "client_credentials"];
    if i.password_grant {
        grants.push("password");
    }
    Json(json!({
        "issuer": format!("{base}/"),
        "service_documentation": "https://docs.joinmastodon.org/",
        "authorization_endpoint": format!("{base}/oauth/authorize"),
        "token_endpoint": format!("{base}/oauth/token"),
        "revocation_endpoint": format!("{base}/oauth/revoke"),
        "userinfo_endpoint": format!("{base}/oauth/userinfo"),
        "app_registration_endpoint": format!("{base}/api/v1/apps"),
        "scopes_supported": ALL_SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "grant_types_supported": grants,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
    }))
}
