//! Helpers shared by the end-to-end tests: an HTTP client bound to one
//! server, OAuth shortcuts, polling, form/multipart encoding and small HTML
//! and `Link` header parsers.
//!
//! Every test binary includes this module and uses a different subset.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::io::Read as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub mod interop;
pub mod peer;

use ferrodon_testkit::{Lane, ServerOptions, TestServer};
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::Value;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_ferrodon");

/// How long polling helpers wait for background work (fan-out and the like).
pub const POLL_TIMEOUT: Duration = Duration::from_secs(30);

/// A valid 3×2 PNG.
pub const PNG_3X2: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x02, 0x08, 0x06, 0x00, 0x00, 0x00, 0x9d, 0x74, 0x66,
    0x1a, 0x00, 0x00, 0x00, 0x11, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
    0x1f, 0x86, 0x19, 0x90, 0x39, 0x00, 0x9b, 0x7e, 0x0b, 0xf5, 0x72, 0xb0, 0xb9, 0x3c, 0x00, 0x00,
    0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// A password that passes any sensible length rule.
pub const PASSWORD: &str = "correct horse battery staple";

/// Every scope an app registered by the helpers asks for, so that tokens
/// with any narrower scope can be requested from it.
pub const ALL_TEST_SCOPES: &str = "read write follow push profile read:accounts read:statuses \
     read:follows write:accounts write:statuses write:follows write:favourites";

/// Required keys of Mastodon's Account entity (`schema.json`, `Account.required`).
pub const ACCOUNT_KEYS: &[&str] = &[
    "id",
    "username",
    "acct",
    "url",
    "uri",
    "display_name",
    "note",
    "avatar",
    "avatar_static",
    "header",
    "header_static",
    "locked",
    "bot",
    "group",
    "discoverable",
    "indexable",
    "created_at",
    "last_status_at",
    "statuses_count",
    "followers_count",
    "following_count",
    "emojis",
    "fields",
];

/// Required keys of the Status entity (`schema.json`, `Status.required`, plus
/// the nullable ones Mastodon always sends).
pub const STATUS_KEYS: &[&str] = &[
    "id",
    "uri",
    "url",
    "created_at",
    "account",
    "content",
    "visibility",
    "sensitive",
    "spoiler_text",
    "media_attachments",
    "mentions",
    "tags",
    "emojis",
    "reblogs_count",
    "favourites_count",
    "replies_count",
    "in_reply_to_id",
    "in_reply_to_account_id",
    "reblog",
    "language",
    "poll",
    "card",
    "edited_at",
];

/// Keys only an authenticated viewer gets on a Status.
pub const STATUS_VIEWER_KEYS: &[&str] = &["favourited", "reblogged", "muted", "bookmarked"];

/// Required keys of the Relationship entity.
pub const RELATIONSHIP_KEYS: &[&str] = &[
    "id",
    "following",
    "showing_reblogs",
    "notifying",
    "followed_by",
    "blocking",
    "blocked_by",
    "muting",
    "muting_notifications",
    "requested",
    "requested_by",
    "domain_blocking",
    "endorsed",
    "note",
];

/// Required keys of the Token entity.
pub const TOKEN_KEYS: &[&str] = &["access_token", "token_type", "scope", "created_at"];

// ---------------------------------------------------------------------------
// Servers

/// A server for `lane` with default options.
pub async fn spawn(lane: Lane) -> TestServer {
    TestServer::spawn(ServerOptions::new(BIN, lane)).await
}

/// A server for `lane` with extra environment.
pub async fn spawn_with(lane: Lane, env: &[(&str, &str)]) -> TestServer {
    let mut options = ServerOptions::new(BIN, lane);
    for (k, v) in env {
        options = options.env(k, v);
    }
    TestServer::spawn(options).await
}

/// The bound port of a server.
pub fn port(server: &TestServer) -> u16 {
    server
        .authority
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("authority ends with a port")
}

/// The instance's domain when none is configured: `localhost:PORT`.
pub fn domain(server: &TestServer) -> String {
    format!("localhost:{}", port(server))
}

/// The instance's own URL prefix: `http://localhost:PORT`.
pub fn public_url(server: &TestServer) -> String {
    format!("http://{}", domain(server))
}

/// Fails the test if the server logged a panic.
pub fn assert_no_panics(server: &TestServer) {
    let panics: Vec<String> = server
        .logs()
        .into_iter()
        .filter(|l| l.contains("panicked"))
        .collect();
    assert!(
        panics.is_empty(),
        "server logged panics:\n{}",
        panics.join("\n")
    );
}

// ---------------------------------------------------------------------------
// Encoding

/// Percent-encodes one component for a query string or a form body.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `application/x-www-form-urlencoded` (and query-string) encoding of pairs.
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Decodes `%XX` and `+` in a query component.
pub fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The decoded value of `key` in the query part of `url`.
pub fn query_param(url: &str, key: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or(query);
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(k) == key).then(|| decode(v))
    })
}

/// A multipart/form-data body; returns (content type, body).
pub fn multipart(fields: &[(&str, &str)]) -> (String, Vec<u8>) {
    let boundary = format!("ferrodon-test-{:016x}", rand::random::<u64>());
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        body.extend_from_slice(
            format!("Content-Disposition: form-data; name=\"{k}\"\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(v.as_bytes());
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// One file part of a multipart body: field name, file name, declared content type, bytes.
pub struct FilePart<'a> {
    pub name: &'a str,
    pub file_name: &'a str,
    pub content_type: &'a str,
    pub bytes: &'a [u8],
}

/// A multipart/form-data body with text fields and file parts; returns (content type, body).
pub fn multipart_with_files(fields: &[(&str, &str)], files: &[FilePart]) -> (String, Vec<u8>) {
    let (content_type, mut body) = multipart(fields);
    let boundary = content_type
        .rsplit_once("boundary=")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    // Drop the closing delimiter, add the files, close again.
    body.truncate(body.len() - format!("--{boundary}--\r\n").len());
    for f in files {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        body.extend_from_slice(
            format!(
                "Content-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\nContent-Type: {}\r\n\r\n",
                f.name, f.file_name, f.content_type
            )
            .as_bytes(),
        );
        body.extend_from_slice(f.bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (content_type, body)
}

// ---------------------------------------------------------------------------
// HTTP

/// A request body.
pub enum Body {
    None,
    Form(Vec<(String, String)>),
    Json(Value),
    Raw {
        content_type: String,
        bytes: Vec<u8>,
    },
}

impl Body {
    pub fn form(pairs: &[(&str, &str)]) -> Body {
        Body::Form(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    pub fn multipart(fields: &[(&str, &str)]) -> Body {
        let (content_type, bytes) = multipart(fields);
        Body::Raw {
            content_type,
            bytes,
        }
    }

    /// Multipart with file parts.
    pub fn multipart_files(fields: &[(&str, &str)], files: &[FilePart]) -> Body {
        let (content_type, bytes) = multipart_with_files(fields, files);
        Body::Raw {
            content_type,
            bytes,
        }
    }

    pub fn raw(content_type: &str, bytes: impl Into<Vec<u8>>) -> Body {
        Body::Raw {
            content_type: content_type.to_owned(),
            bytes: bytes.into(),
        }
    }
}

/// A response, fully read.
#[derive(Debug, Clone)]
pub struct Resp {
    pub method: String,
    pub url: String,
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Resp {
    /// One line describing the exchange, for assertion messages.
    pub fn describe(&self) -> String {
        let mut text = self.text.clone();
        if text.len() > 2000 {
            let mut cut = 2000;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push('…');
        }
        format!("{} {} → {} {}", self.method, self.url, self.status, text)
    }

    /// The body as JSON (panics with the exchange when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("response is not JSON ({e}): {}", self.describe()))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    pub fn content_type(&self) -> String {
        self.header("content-type").unwrap_or_default()
    }

    /// Asserts the status and returns the JSON body.
    #[track_caller]
    pub fn ok_json(&self) -> Value {
        assert_eq!(self.status, 200, "expected 200: {}", self.describe());
        assert!(
            self.content_type().starts_with("application/json"),
            "expected a JSON content type, got {:?}: {}",
            self.content_type(),
            self.describe()
        );
        self.json()
    }

    /// Asserts `status` with a JSON `{"error": "..."}` body; returns the error string.
    #[track_caller]
    pub fn err(&self, status: u16) -> String {
        assert_eq!(
            self.status,
            status,
            "unexpected status: {}",
            self.describe()
        );
        self.json_error()
    }

    /// Asserts `status` and the exact error string.
    #[track_caller]
    pub fn err_is(&self, status: u16, message: &str) {
        let got = self.err(status);
        assert_eq!(
            got,
            message,
            "unexpected error message: {}",
            self.describe()
        );
    }

    /// Asserts a 4xx status (never 5xx) with a JSON error body; returns the status.
    #[track_caller]
    pub fn client_error(&self) -> u16 {
        assert!(
            (400..500).contains(&self.status),
            "expected a 4xx status: {}",
            self.describe()
        );
        self.json_error();
        self.status
    }

    /// Asserts the body is a JSON object with a string `error`; returns it.
    #[track_caller]
    pub fn json_error(&self) -> String {
        assert!(
            self.content_type().starts_with("application/json"),
            "error body must be JSON, got content type {:?}: {}",
            self.content_type(),
            self.describe()
        );
        let v = self.json();
        match v.get("error") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => panic!("error body lacks a string \"error\": {}", self.describe()),
        }
    }
}

/// An HTTP client for one server, with an optional bearer token.
#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub token: Option<String>,
}

impl Api {
    /// A client that does not follow redirects (so 302s stay visible).
    pub fn new(base: &str) -> Api {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .build()
            .expect("http client");
        Api {
            http,
            base: base.trim_end_matches('/').to_owned(),
            token: None,
        }
    }

    pub fn of(server: &TestServer) -> Api {
        Api::new(&server.base_url)
    }

    /// The same client with `token`.
    pub fn with_token(&self, token: &str) -> Api {
        Api {
            token: Some(token.to_owned()),
            ..self.clone()
        }
    }

    /// The same client without a token.
    pub fn anon(&self) -> Api {
        Api {
            token: None,
            ..self.clone()
        }
    }

    /// `path` made absolute; full URLs pass through.
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}{}", self.base, path)
        }
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Body,
        headers: &[(&str, &str)],
    ) -> Resp {
        let url = self.url(path);
        let mut req = self.http.request(method.clone(), &url);
        if let Some(token) = &self.token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req = match body {
            Body::None => req,
            Body::Form(pairs) => {
                let pairs: Vec<(&str, &str)> = pairs
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                req.header("content-type", "application/x-www-form-urlencoded")
                    .body(form_encode(&pairs))
            }
            Body::Json(v) => req
                .header("content-type", "application/json")
                .body(serde_json::to_vec(&v).expect("serialize")),
            Body::Raw {
                content_type,
                bytes,
            } if content_type.is_empty() => req.body(bytes),
            Body::Raw {
                content_type,
                bytes,
            } => req.header("content-type", content_type).body(bytes),
        };
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {url} failed: {e}"));
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp
            .text()
            .await
            .unwrap_or_else(|e| panic!("{method} {url}: reading the body failed: {e}"));
        Resp {
            method: method.to_string(),
            url,
            status,
            headers,
            text,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, Body::None, &[]).await
    }

    /// GET with query pairs appended to `path`.
    pub async fn get_q(&self, path: &str, query: &[(&str, &str)]) -> Resp {
        let sep = if path.contains('?') { '&' } else { '?' };
        self.get(&format!("{path}{sep}{}", form_encode(query)))
            .await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Resp {
        self.send(Method::POST, path, Body::form(form), &[]).await
    }

    pub async fn post_json(&self, path: &str, json: Value) -> Resp {
        self.send(Method::POST, path, Body::Json(json), &[]).await
    }

    pub async fn post_multipart(&self, path: &str, fields: &[(&str, &str)]) -> Resp {
        self.send(Method::POST, path, Body::multipart(fields), &[])
            .await
    }

    pub async fn patch(&self, path: &str, form: &[(&str, &str)]) -> Resp {
        self.send(Method::PATCH, path, Body::form(form), &[]).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.send(Method::DELETE, path, Body::None, &[]).await
    }
}

/// Sends one HTTP/1.1 request over a raw TCP connection, writing the body
/// while reading the response, and tolerating a connection reset once the
/// response has arrived. For oversized bodies a server may answer early and
/// close the connection; an HTTP client library would report the failed
/// write instead of the response.
pub async fn raw_request(
    base_url: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Resp {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let authority = base_url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let stream = tokio::net::TcpStream::connect(&authority)
        .await
        .unwrap_or_else(|e| panic!("connect {authority}: {e}"));
    let (mut reader, mut writer) = stream.into_split();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let write = tokio::spawn(async move {
        if writer.write_all(head.as_bytes()).await.is_ok() {
            for chunk in body.chunks(64 * 1024) {
                if writer.write_all(chunk).await.is_err() {
                    break;
                }
            }
            let _ = writer.flush().await;
        }
        writer
    });
    let mut raw = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let read = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "{method} {path}: no complete response within 60 s"
    );
    write.abort();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| {
            panic!(
                "{method} {path}: no response head in {:?}",
                String::from_utf8_lossy(&raw)
            )
        });
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("{method} {path}: bad status line in {head:?}"));
    let mut map = HeaderMap::new();
    for line in lines {
        if let Some((k, v)) = line.split_once(':')
            && let (Ok(name), Ok(value)) = (
                reqwest::header::HeaderName::from_bytes(k.trim().as_bytes()),
                reqwest::header::HeaderValue::from_str(v.trim()),
            )
        {
            map.append(name, value);
        }
    }
    let mut body = raw[split + 4..].to_vec();
    let chunked = map
        .get("transfer-encoding")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
            let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..eol]).trim(), 16)
                .unwrap_or(0);
            if size == 0 || rest.len() < eol + 2 + size {
                break;
            }
            out.extend_from_slice(&rest[eol + 2..eol + 2 + size]);
            rest = &rest[(eol + 4 + size).min(rest.len())..];
        }
        body = out;
    }
    Resp {
        method: method.to_owned(),
        url: format!("{base_url}{path}"),
        status,
        headers: map,
        text: String::from_utf8_lossy(&body).into_owned(),
    }
}

// ---------------------------------------------------------------------------
// OAuth and users

/// A registered OAuth application.
#[derive(Debug, Clone)]
pub struct App {
    pub id: String,
    pub client_id: String,
    pub client_secret: String,
}

/// Registers an app with `scopes` and `redirect_uris` (newline-separated).
pub async fn register_app_with(api: &Api, scopes: &str, redirect_uris: &str) -> App {
    let v = api
        .anon()
        .post(
            "/api/v1/apps",
            &[
                ("client_name", "ferrodon e2e"),
                ("redirect_uris", redirect_uris),
                ("scopes", scopes),
                ("website", "https://ferrodon.example/"),
            ],
        )
        .await
        .ok_json();
    App {
        id: str_field(&v, "id"),
        client_id: str_field(&v, "client_id"),
        client_secret: str_field(&v, "client_secret"),
    }
}

/// Registers an app asking for [`ALL_TEST_SCOPES`] with the oob redirect URI.
pub async fn register_app(api: &Api) -> App {
    register_app_with(api, ALL_TEST_SCOPES, "urn:ietf:wg:oauth:2.0:oob").await
}

/// A `client_credentials` token for `app`.
pub async fn app_token(api: &Api, app: &App, scope: &str) -> String {
    let v = api
        .anon()
        .post(
            "/oauth/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &app.client_id),
                ("client_secret", &app.client_secret),
                ("scope", scope),
            ],
        )
        .await
        .ok_json();
    str_field(&v, "access_token")
}

/// The raw response of a password grant.
pub async fn password_grant(
    api: &Api,
    app: &App,
    email: &str,
    password: &str,
    scope: &str,
) -> Resp {
    api.anon()
        .post(
            "/oauth/token",
            &[
                ("grant_type", "password"),
                ("client_id", &app.client_id),
                ("client_secret", &app.client_secret),
                ("username", email),
                ("password", password),
                ("scope", scope),
            ],
        )
        .await
}

/// A password-grant token with `scope`.
pub async fn password_token(api: &Api, app: &App, email: &str, scope: &str) -> String {
    let v = password_grant(api, app, email, PASSWORD, scope)
        .await
        .ok_json();
    str_field(&v, "access_token")
}

/// A local user with a token.
#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub email: String,
    pub id: String,
    pub token: String,
    pub app: App,
}

impl User {
    /// A client for `api`'s server acting as this user.
    pub fn api(&self, api: &Api) -> Api {
        api.with_token(&self.token)
    }
}

pub fn email_of(name: &str) -> String {
    format!("{name}@example.com")
}

/// Creates an account with the admin CLI; returns its id.
pub fn create_account(server: &TestServer, name: &str, extra: &[&str]) -> String {
    let email = email_of(name);
    let mut args = vec![
        "admin",
        "accounts",
        "create",
        name,
        "--email",
        &email,
        "--password",
        PASSWORD,
    ];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = server.command(&args);
    assert_eq!(
        code,
        0,
        "`ferrodon {}` failed\nstdout: {stdout}\nstderr: {stderr}",
        args.join(" ")
    );
    let id = stdout.trim().to_owned();
    assert!(
        !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()),
        "`admin accounts create` must print the account id, got {stdout:?}"
    );
    id
}

/// Creates `name` with the admin CLI and logs in with the password grant
/// (scopes `read write follow push`).
pub async fn user_token(server: &TestServer, name: &str) -> User {
    user_with_scope(server, name, "read write follow push").await
}

/// Like [`user_token`], with the token's scope chosen.
pub async fn user_with_scope(server: &TestServer, name: &str, scope: &str) -> User {
    let id = create_account(server, name, &[]);
    let api = Api::of(server);
    let app = register_app(&api).await;
    let email = email_of(name);
    let token = password_token(&api, &app, &email, scope).await;
    User {
        name: name.to_owned(),
        email,
        id,
        token,
        app,
    }
}

/// Another token for an existing user, with `scope`.
pub async fn token_for(api: &Api, user: &User, scope: &str) -> String {
    password_token(api, &user.app, &user.email, scope).await
}

// ---------------------------------------------------------------------------
// Common API calls

/// Posts a public status; returns its JSON.
pub async fn post_status(api: &Api, text: &str) -> Value {
    post_status_with(api, &[("status", text)]).await
}

/// Posts a status with arbitrary form fields; returns its JSON.
pub async fn post_status_with(api: &Api, fields: &[(&str, &str)]) -> Value {
    api.post("/api/v1/statuses", fields).await.ok_json()
}

/// `api`'s user follows `id`; returns the Relationship.
pub async fn follow(api: &Api, id: &str) -> Value {
    api.post(&format!("/api/v1/accounts/{id}/follow"), &[])
        .await
        .ok_json()
}

pub async fn unfollow(api: &Api, id: &str) -> Value {
    api.post(&format!("/api/v1/accounts/{id}/unfollow"), &[])
        .await
        .ok_json()
}

/// Ids in a JSON array of entities.
pub fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected a JSON array, got {v}"))
        .iter()
        .map(|e| str_field(e, "id"))
        .collect()
}

/// Ids of a timeline-like GET.
pub async fn timeline_ids(api: &Api, path: &str) -> Vec<String> {
    ids(&api.get(path).await.ok_json())
}

/// Polls the home timeline until `pred` holds on its ids (newest 40).
pub async fn wait_home(api: &Api, what: &str, pred: impl Fn(&[String]) -> bool) -> Vec<String> {
    wait_until(what, || async {
        let resp = api.get("/api/v1/timelines/home?limit=40").await;
        // 206 means "feed being rebuilt" in Mastodon; keep polling.
        if resp.status == 206 {
            return None;
        }
        let ids = ids(&resp.ok_json());
        pred(&ids).then_some(ids)
    })
    .await
}

// ---------------------------------------------------------------------------
// JSON

/// A string field (panics when missing or not a string).
#[track_caller]
pub fn str_field(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        other => panic!("expected string field {key:?}, got {other:?} in {v}"),
    }
}

/// Asserts `v` is an object with every key in `keys` (null allowed).
#[track_caller]
pub fn assert_keys(v: &Value, keys: &[&str], what: &str) {
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("{what}: expected an object, got {v}"));
    let missing: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| !obj.contains_key(*k))
        .collect();
    assert!(
        missing.is_empty(),
        "{what}: missing keys {missing:?} in {v}"
    );
}

/// Asserts an id is a JSON string of digits.
#[track_caller]
pub fn assert_id(v: &Value, what: &str) {
    match v {
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {}
        _ => panic!("{what}: id must be a string of digits, got {v}"),
    }
}

/// Numeric value of a string id.
pub fn num(id: &str) -> u64 {
    id.parse()
        .unwrap_or_else(|_| panic!("id {id:?} is not numeric"))
}

/// Asserts an ISO 8601 timestamp `YYYY-MM-DDTHH:MM:SS[.fff](Z|±hh:mm)`.
#[track_caller]
pub fn assert_timestamp(s: &str, what: &str) {
    let b = s.as_bytes();
    let ok = b.len() >= 20
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && (s.ends_with('Z') || s[19..].contains('+') || s[19..].contains('-'));
    assert!(ok, "{what}: not an ISO 8601 timestamp: {s:?}");
}

// ---------------------------------------------------------------------------
// Direct database access (to set up states the API cannot reach)

/// Runs one SQL statement with text binds on the server's database
/// (directly, not through PgBouncer); returns the affected row count.
pub async fn sql_execute(server: &TestServer, sql: &str, binds: &[&str]) -> u64 {
    use sqlx::Connection;
    let url = &server.db.direct_url;
    if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(url)
            .await
            .expect("connect to SQLite");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
        for b in binds {
            q = q.bind(*b);
        }
        q.execute(&mut conn)
            .await
            .expect("SQL statement")
            .rows_affected()
    } else {
        let mut conn = sqlx::PgConnection::connect(url)
            .await
            .expect("connect to PostgreSQL");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
        for b in binds {
            q = q.bind(*b);
        }
        q.execute(&mut conn)
            .await
            .expect("SQL statement")
            .rows_affected()
    }
}

/// The first column of the first row of a query returning text.
pub async fn sql_fetch_text(server: &TestServer, sql: &str, binds: &[&str]) -> Option<String> {
    use sqlx::{Connection, Row};
    let url = &server.db.direct_url;
    if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(url)
            .await
            .expect("connect to SQLite");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
        for b in binds {
            q = q.bind(*b);
        }
        q.fetch_optional(&mut conn)
            .await
            .expect("SQL query")
            .map(|row| row.get::<String, _>(0))
    } else {
        let mut conn = sqlx::PgConnection::connect(url)
            .await
            .expect("connect to PostgreSQL");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
        for b in binds {
            q = q.bind(*b);
        }
        q.fetch_optional(&mut conn)
            .await
            .expect("SQL query")
            .map(|row| row.get::<String, _>(0))
    }
}

/// A value of the server's environment (`REDIS_NAMESPACE`, …).
pub fn instance_var(server: &TestServer, key: &str) -> Option<String> {
    server
        .instance_env
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
}

// ---------------------------------------------------------------------------
// Polling

/// Calls `check` until it returns `Some`, for up to [`POLL_TIMEOUT`].
pub async fn wait_until<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + POLL_TIMEOUT;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {POLL_TIMEOUT:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An admin of `server` who can read the job queues, for [`jobs_idle`].
pub async fn jobs_admin(server: &TestServer, name: &str) -> Api {
    create_account(server, name, &["--role", "admin"]);
    let api = Api::of(server);
    let app = register_app_with(&api, "read admin:read", "urn:ietf:wg:oauth:2.0:oob").await;
    api.with_token(&password_token(&api, &app, &email_of(name), "admin:read").await)
}

/// Waits until no job is waiting, running or still in the outbox (seen
/// three times in a row, 100 ms apart), so that what jobs would have done
/// by now has been done: for checking that something did *not* happen.
pub async fn jobs_idle(admin: &Api) {
    let deadline = Instant::now() + POLL_TIMEOUT;
    let mut quiet = 0;
    while quiet < 3 {
        let v = admin.get("/api/v1/admin/jobs").await.ok_json();
        let queues = v["queues"].as_array().cloned().unwrap_or_default();
        assert!(!queues.is_empty(), "no queues in {v}");
        let pending: i64 = queues
            .iter()
            .filter(|q| q["queue"] != "scheduler")
            .map(|q| q["size"].as_i64().unwrap_or(1) + q["busy"].as_i64().unwrap_or(1))
            .sum::<i64>()
            + v["outbox"].as_i64().unwrap_or(1);
        quiet = if pending == 0 { quiet + 1 } else { 0 };
        assert!(
            Instant::now() < deadline,
            "timed out after {POLL_TIMEOUT:?} waiting for the job queues to go idle: {v}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---------------------------------------------------------------------------
// Link headers

/// The `rel` → URL map of a `Link` header.
pub fn links(resp: &Resp) -> Vec<(String, String)> {
    let Some(header) = resp.header("link") else {
        return Vec::new();
    };
    header
        .split(',')
        .filter_map(|part| {
            let part = part.trim();
            let start = part.find('<')? + 1;
            let end = part.find('>')?;
            let url = part[start..end].to_owned();
            let rel = part[end..]
                .split(';')
                .filter_map(|p| p.trim().strip_prefix("rel="))
                .map(|r| r.trim_matches('"').to_owned())
                .next()?;
            Some((rel, url))
        })
        .collect()
}

/// The URL of `rel` in the `Link` header.
pub fn link(resp: &Resp, rel: &str) -> Option<String> {
    links(resp)
        .into_iter()
        .find(|(r, _)| r == rel)
        .map(|(_, url)| url)
}

/// The path and query of an absolute URL (to follow a link through `base_url`).
pub fn path_and_query(url: &str) -> String {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .unwrap_or(url);
    match rest.find('/') {
        Some(i) => rest[i..].to_owned(),
        None => "/".to_owned(),
    }
}

// ---------------------------------------------------------------------------
// HTML

/// Replaces the HTML entities a server is likely to emit in attribute values.
pub fn html_unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#x2F;", "/")
        .replace("&#47;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Attributes of one start tag's inner text (`input type="hidden" name="x"`).
pub fn tag_attrs(tag: &str) -> Vec<(String, String)> {
    let mut attrs = Vec::new();
    let bytes = tag.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        let start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'=' {
            i += 1;
        }
        let name = tag[start..i].to_ascii_lowercase();
        if name.is_empty() {
            break;
        }
        if i < bytes.len() && bytes[i] == b'=' {
            i += 1;
            let value = if i < bytes.len() && (bytes[i] == b'"' || bytes[i] == b'\'') {
                let quote = bytes[i];
                i += 1;
                let vstart = i;
                while i < bytes.len() && bytes[i] != quote {
                    i += 1;
                }
                let v = tag[vstart..i].to_owned();
                i += 1;
                v
            } else {
                let vstart = i;
                while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                tag[vstart..i].to_owned()
            };
            attrs.push((name, html_unescape(&value)));
        } else {
            attrs.push((name, String::new()));
        }
    }
    attrs
}

/// Every start tag `<name …>` in `html`, as attribute lists.
pub fn find_tags(html: &str, name: &str) -> Vec<Vec<(String, String)>> {
    let lower = html.to_ascii_lowercase();
    let open = format!("<{name}");
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = lower[from..].find(&open) {
        let start = from + pos + open.len();
        let Some(end) = html[start..].find('>') else {
            break;
        };
        let next = html.as_bytes().get(start).copied().unwrap_or(b'>');
        if next.is_ascii_whitespace() || next == b'>' || next == b'/' {
            out.push(tag_attrs(&html[start..start + end]));
        }
        from = start + end;
    }
    out
}

fn attr<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The hidden inputs of an HTML page, as (name, value).
pub fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    find_tags(html, "input")
        .into_iter()
        .filter(|a| attr(a, "type").is_some_and(|t| t.eq_ignore_ascii_case("hidden")))
        .filter_map(|a| {
            Some((
                attr(&a, "name")?.to_owned(),
                attr(&a, "value").unwrap_or("").to_owned(),
            ))
        })
        .collect()
}

/// The text (or `value`) of the element with `id="…"`.
pub fn element_text_by_id(html: &str, id: &str) -> Option<String> {
    let needle_dq = format!("id=\"{id}\"");
    let needle_sq = format!("id='{id}'");
    let pos = html.find(&needle_dq).or_else(|| html.find(&needle_sq))?;
    let tag_start = html[..pos].rfind('<')?;
    let tag_end = pos + html[pos..].find('>')?;
    let inner = &html[tag_start + 1..tag_end];
    let attrs = tag_attrs(inner.split_once(char::is_whitespace).map_or("", |x| x.1));
    if let Some(v) = attr(&attrs, "value") {
        return Some(v.trim().to_owned());
    }
    let rest = &html[tag_end + 1..];
    let text_end = rest.find('<').unwrap_or(rest.len());
    Some(html_unescape(rest[..text_end].trim()))
}

// ---------------------------------------------------------------------------
// PKCE

/// An S256 PKCE pair: (verifier, challenge).
pub fn pkce_pair() -> (String, String) {
    use base64::Engine;
    use sha2::Digest;
    let raw: [u8; 32] = rand::random();
    let verifier = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// Runs the browser part of the authorization-code flow: GET the sign-in
/// page, POST it back with the credentials; returns the final response.
pub async fn authorize(api: &Api, query: &[(&str, &str)], email: &str, password: &str) -> Resp {
    let page = api.anon().get_q("/oauth/authorize", query).await;
    assert_eq!(page.status, 200, "sign-in page: {}", page.describe());
    assert!(
        page.content_type().starts_with("text/html"),
        "sign-in page must be HTML: {}",
        page.describe()
    );
    let mut fields = hidden_inputs(&page.text);
    assert!(
        fields.iter().any(|(k, v)| k == "csrf" && !v.is_empty()),
        "sign-in page lacks a hidden csrf input: {}",
        page.describe()
    );
    fields.retain(|(k, _)| k != "email" && k != "password");
    fields.push(("email".into(), email.into()));
    fields.push(("password".into(), password.into()));
    // The form's token is bound to the sign-in cookie, as a browser keeps it.
    let cookie = signin_cookie(&page).expect("the sign-in page sets its cookie");
    api.anon()
        .send(
            Method::POST,
            "/oauth/authorize",
            Body::Form(fields),
            &[("cookie", &cookie)],
        )
        .await
}

/// The `name=value` of the sign-in cookie a sign-in page set.
pub fn signin_cookie(page: &Resp) -> Option<String> {
    page.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.contains("signin="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

// ---------------------------------------------------------------------------
// Processes

/// A `ferrodon` role process started outside the testkit (web, worker, …).
pub struct RoleProcess {
    pub addr: String,
    pub logs: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    child: Option<Child>,
}

impl RoleProcess {
    /// Starts `ferrodon args…` with `env` plus an ephemeral listen address and
    /// JSON logs; waits until it logs that it listens.
    pub fn start(args: &[&str], env: &[(String, String)]) -> RoleProcess {
        let mut env = env.to_vec();
        env.push(("FERRODON_LISTEN".into(), "127.0.0.1:0".into()));
        env.push(("FERRODON_LOG_FORMAT".into(), "json".into()));
        env.push(("FERRODON_WORKER_POLL_MS".into(), "100".into()));
        let (child, logs, addr) =
            ferrodon_testkit::start(&std::path::PathBuf::from(BIN), args, &env);
        RoleProcess {
            addr,
            logs,
            child: Some(child),
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sends SIGTERM and waits up to `timeout` for the exit code.
    pub fn terminate(&mut self, timeout: Duration) -> Option<i32> {
        let child = self.child.as_mut()?;
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some(status.code().unwrap_or(-1));
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log_text(&self) -> String {
        self.logs.lock().map(|l| l.join("\n")).unwrap_or_default()
    }
}

impl Drop for RoleProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "---- ferrodon role log ({}) ----\n{}",
                self.addr,
                self.log_text()
            );
        }
    }
}

/// Runs `ferrodon args…` with only `env` (plus `PATH`, `HOME`, `TMPDIR`) to
/// completion, killing it after `timeout`; returns (exit code, stdout,
/// stderr), the code being `None` on timeout.
pub fn run_to_exit(
    args: &[&str],
    env: &[(String, String)],
    timeout: Duration,
) -> (Option<i32>, String, String) {
    let inherited: Vec<(String, String)> = ["PATH", "HOME", "TMPDIR"]
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| ((*k).to_owned(), v)))
        .collect();
    let mut child = Command::new(BIN)
        .args(args)
        .env_clear()
        .envs(inherited.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ferrodon");
    let read = |stream: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut s) = stream {
                let _ = s.read_to_end(&mut buf);
            }
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let stdout = read(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    );
    let stderr = read(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    );
    let deadline = Instant::now() + timeout;
    let code = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status.code().unwrap_or(-1)),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    (
        code,
        stdout.join().unwrap_or_default(),
        stderr.join().unwrap_or_default(),
    )
}

/// A private `redis-server` on a fixed free port, which can be stopped and
/// started again.
pub struct OwnRedis {
    pub port: u16,
    child: Option<Child>,
    dir: tempfile::TempDir,
}

impl OwnRedis {
    pub fn new() -> Option<OwnRedis> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let mut r = OwnRedis {
            port,
            child: None,
            dir: tempfile::tempdir().ok()?,
        };
        r.start().then_some(r)
    }

    pub fn start(&mut self) -> bool {
        let Ok(child) = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        else {
            return false;
        };
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        true
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

// ---------------------------------------------------------------------------
// Client scripts (Mastodon.py, masto.js, the conformance walk)

/// How long a client script may run.
pub const SCRIPT_TIMEOUT: Duration = Duration::from_secs(300);

/// The value of `var` (a tool or a directory for the client tests), or
/// `None` to skip the test; with `FERRODON_TEST_REQUIRE_ALL=1` a missing
/// value fails instead.
pub fn client_env(var: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(p) if !p.is_empty() => Some(p),
        _ if ferrodon_testkit::require_all() => {
            panic!("FERRODON_TEST_REQUIRE_ALL=1 but {var} is not set")
        }
        _ => {
            eprintln!("skipping the {what} test: {var} is not set");
            None
        }
    }
}

/// Runs `program` with `args` (paths relative to the project root are
/// fine) and `envs`, killing it after [`SCRIPT_TIMEOUT`]; returns its exit
/// code (`None` when killed) and its stdout and stderr.
pub fn run_client_script(
    program: &str,
    args: &[&str],
    envs: &[(&str, &str)],
) -> (Option<i32>, String) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new(program)
        .current_dir(root)
        .args(args)
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + SCRIPT_TIMEOUT;
    let code = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status.code(),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let output = format!(
        "stdout:\n{}\nstderr:\n{}",
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default()
    );
    (code, output)
}

// ---------------------------------------------------------------------------
// A web site the instance fetches from (link previews)

/// What a test web server answers for one path: status line, content type,
/// extra header lines (each ending in CRLF) and body.
pub type Answer = (&'static str, &'static str, String, Vec<u8>);

/// Serves HTTP/1.1 on `listener` (one request per connection) with what
/// `answer(path)` gives, until the test ends.
pub fn serve_http(
    listener: tokio::net::TcpListener,
    answer: impl Fn(&str) -> Answer + Send + Sync + 'static,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let answer = std::sync::Arc::new(answer);
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 2048];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let request = String::from_utf8_lossy(&buf).to_string();
                let path = request.split(' ').nth(1).unwrap_or("/").to_owned();
                let (status, ctype, extra, body) = answer(&path);
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(&body).await;
                let _ = sock.shutdown().await;
            });
        }
    });
}
