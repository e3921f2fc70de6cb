//! Ferrodon's outbound HTTP client: every request the server makes to other
//! hosts (link previews, federation) goes through [`Fetcher`].
//!
//! The guard against server-side request forgery has four parts, because a
//! request can reach an address by several roads:
//! - **DNS**: the client's resolver drops every address the
//!   [`AddressGuard`] refuses, at connect time, so a name that resolves to a
//!   private address (or is rebound to one after a check) cannot be reached;
//! - **IP literals** (`http://127.0.0.1/`, `http://[::1]/`, `http://2130706433/`)
//!   never touch the resolver: the URL's host is checked before sending;
//! - **redirects**: reqwest follows none; the [`Fetcher`] checks each hop's
//!   target like a first request (scheme, IP literal; names go through the
//!   resolver again), at most [`MAX_REDIRECTS`] hops;
//! - **the connection**: a connector layer checks the peer address of every
//!   new connection and drops it if refused (a backstop; see `connect.rs`).
//!
//! Two purposes, two scheme rules ([`Purpose`]):
//! - **link previews** ([`Fetcher::get`]): http and https, public addresses
//!   (plus `ALLOWED_PRIVATE_ADDRESSES`); redirects followed;
//! - **federation** ([`Fetcher::send`], [`Fetcher::send_following`]): https
//!   only; with [`FetchOptions::allow_http`] plain http too, but only to
//!   addresses in [`FetchOptions::allowed_private`] — enforced on IP literals
//!   and, after DNS, by a second client whose resolver and connection check
//!   allow nothing else. A redirect from https to http obeys the same rule.
//!
//! Federation signs its requests, and a signature names the URL, so a
//! redirect must be signed anew: [`Fetcher::send`] never follows redirects
//! (it returns the 3xx; [`Fetcher::redirect_target`] validates the
//! `Location` and [`Request::redirected`] builds the next request), and
//! [`Fetcher::send_following`] follows them itself, calling the caller's
//! signing callback before every hop.
//!
//! Requests have a connect timeout (5 s), a read timeout between bytes
//! (10 s) and a total deadline (30 s, over all hops and the body); bodies are
//! read in chunks up to a size cap ([`Overflow`] says whether reaching it is
//! an error or cuts the body), no environment proxy is used, no `Referer` is
//! sent, and the `User-Agent` names Ferrodon and the instance.
//!
//! Tests inject a [`DnsResolver`] ([`StaticResolver`]) and a [`DialLog`]
//! recording every address the client is about to connect to.

pub mod address;
mod connect;
pub mod host;
mod resolve;

use std::error::Error as StdError;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

pub use address::{AddressGuard, is_public};
pub use ipnet::IpNet;
pub use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
pub use resolve::{Dial, DialLog, DnsResolver, LookupFuture, StaticResolver, SystemResolver};
pub use url::Url;

use reqwest::header;
use reqwest::redirect;
use tokio::time::Instant;

use crate::connect::PeerCheckLayer;
use crate::resolve::GuardedResolver;

/// Most redirects followed for one request.
pub const MAX_REDIRECTS: usize = 3;

/// The most [`Response::json`] reads.
pub const JSON_LIMIT: usize = 1024 * 1024;

/// How the client is built.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// `Ferrodon/0.1.0 (+https://example.com/)`.
    pub user_agent: String,
    /// Private ranges an operator allowed (`ALLOWED_PRIVATE_ADDRESSES`).
    pub allowed_private: Vec<IpNet>,
    /// Whether public addresses may be reached (off: only `allowed_private`).
    pub allow_public: bool,
    /// Whether federation may use plain http, to `allowed_private` only
    /// (`FERRODON_FEDERATION_ALLOW_HTTP`).
    pub allow_http: bool,
    /// Time to resolve and open a connection.
    pub connect_timeout: Duration,
    /// Longest wait for the next bytes of a response.
    pub read_timeout: Duration,
    /// Deadline for a whole request, redirects and body included.
    pub timeout: Duration,
    /// Resolves names (`None`: the system's resolver).
    pub resolver: Option<Arc<dyn DnsResolver>>,
    /// Records every address about to be dialled (tests).
    pub dial_log: Option<DialLog>,
}

impl FetchOptions {
    /// Mastodon's timeouts (5 s to connect, 10 s between reads, 30 s in
    /// all), public addresses only, federation over https only.
    pub fn new(user_agent: impl Into<String>) -> FetchOptions {
        FetchOptions {
            user_agent: user_agent.into(),
            allowed_private: Vec::new(),
            allow_public: true,
            allow_http: false,
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            resolver: None,
            dial_log: None,
        }
    }

    /// The User-Agent of an instance at `base_url` (`https://example.com`).
    pub fn user_agent_for(base_url: &str) -> String {
        format!(
            "Ferrodon/{} (+{}/)",
            env!("CARGO_PKG_VERSION"),
            base_url.trim_end_matches('/')
        )
    }
}

/// Why a fetch failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    #[error("invalid host: {0}")]
    InvalidHost(String),
    /// Not http(s), or http where only https is allowed.
    #[error("scheme not allowed: {0}")]
    Scheme(String),
    /// The host is (or resolves only to) an address the guard refuses: a
    /// non-public one not in `allowed_private`, or, for federation over
    /// plain http, any address outside `allowed_private`.
    #[error("refusing to connect to a non-public address (or one plain http may not reach): {0}")]
    PrivateAddress(String),
    #[error("more than {MAX_REDIRECTS} redirects")]
    TooManyRedirects,
    /// A redirect without a usable `Location`.
    #[error("bad redirect: {0}")]
    BadRedirect(String),
    #[error("response body larger than {0} bytes")]
    TooLarge(usize),
    #[error("invalid JSON: {0}")]
    Json(String),
    /// A header the caller gave is not a valid HTTP header.
    #[error("invalid header: {0}")]
    Header(String),
    /// A signing callback's own failure.
    #[error("signing failed: {0}")]
    Signing(String),
    #[error("timed out")]
    Timeout,
    /// Anything else: DNS failure, connection refused, TLS, protocol errors.
    #[error("{0}")]
    Http(String),
}

/// What a request is for, which decides the schemes allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// http and https to allowed addresses.
    Preview,
    /// https; http only with `allow_http`, and only to `allowed_private`.
    Federation,
}

/// What to do when a body reaches the size cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    /// Fail with [`FetchError::TooLarge`] (a document that must be whole).
    Fail,
    /// Keep the first bytes and stop reading (Mastodon's `truncated_body`,
    /// used for HTML whose metadata sits at the top).
    Truncate,
}

/// A body read up to its cap.
#[derive(Debug, Clone)]
pub struct Body {
    pub bytes: Vec<u8>,
    /// The body went on past the cap and was cut (only with [`Overflow::Truncate`]).
    pub truncated: bool,
}

/// The methods the fetcher sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// A request, as the caller (and its signer) sees it: the URL it goes to,
/// the headers sent besides `User-Agent` and `Host` (which reqwest adds;
/// a signer signs `host` as [`host::origin_host`] of `url`), and the body.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub url: Url,
    pub headers: HeaderMap,
    pub body: Option<Vec<u8>>,
}

/// Headers describing a body, dropped when a redirect turns a POST into a GET.
const BODY_HEADERS: [&str; 5] = [
    "content-type",
    "content-length",
    "content-encoding",
    "digest",
    "content-digest",
];

/// Credentials, dropped when a redirect leaves the host (the signing
/// callback signs again for the new host).
const CREDENTIAL_HEADERS: [&str; 5] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "signature",
    "signature-input",
];

impl Request {
    pub fn get(url: Url) -> Request {
        Request {
            method: Method::Get,
            url,
            headers: HeaderMap::new(),
            body: None,
        }
    }

    pub fn post(url: Url, body: Vec<u8>) -> Request {
        Request {
            method: Method::Post,
            url,
            headers: HeaderMap::new(),
            body: Some(body),
        }
    }

    /// Sets a header (replacing one of the same name).
    pub fn header(mut self, name: &str, value: &str) -> Result<Request, FetchError> {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| FetchError::Header(format!("{name}: {e}")))?;
        let value =
            HeaderValue::from_str(value).map_err(|e| FetchError::Header(format!("{name}: {e}")))?;
        self.headers.insert(name, value);
        Ok(self)
    }

    /// The request to send after a `status` redirect to `target` (checked by
    /// [`Fetcher::redirect_target`]): 303, and 301/302 after a POST, become
    /// a GET without body (as browsers and Mastodon's client do); 307/308
    /// repeat the method and body. A `Host` header is dropped, and so are
    /// credentials and signatures when the host changes — sign again.
    pub fn redirected(&self, status: u16, target: Url) -> Request {
        let mut next = self.clone();
        let to_get = status == 303 || (matches!(status, 301 | 302) && self.method == Method::Post);
        if to_get {
            next.method = Method::Get;
            next.body = None;
            for name in BODY_HEADERS {
                next.headers.remove(name);
            }
        }
        next.headers.remove(header::HOST);
        if !host::same_url_host(&self.url, &target) || self.url.scheme() != target.scheme() {
            for name in CREDENTIAL_HEADERS {
                next.headers.remove(name);
            }
        }
        next.url = target;
        next
    }
}

/// The guarded client. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Fetcher {
    /// Public addresses (unless turned off) and `allowed_private`.
    open: Client,
    /// Only `allowed_private`: federation over plain http.
    local: Option<Client>,
    timeout: Duration,
    dial_log: Option<DialLog>,
}

#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    guard: Arc<AddressGuard>,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("allowed_private", &self.open.guard.allowed())
            .field("allow_http", &self.local.is_some())
            .finish()
    }
}

/// A response whose headers arrived; the body is read by [`Response::body`]
/// or [`Response::json`].
#[derive(Debug)]
pub struct Response {
    inner: reqwest::Response,
}

impl Response {
    pub fn status(&self) -> u16 {
        self.inner.status().as_u16()
    }

    /// The URL that answered (the last hop's).
    pub fn url(&self) -> &Url {
        self.inner.url()
    }

    pub fn headers(&self) -> &HeaderMap {
        self.inner.headers()
    }

    /// A header's value, if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.inner.headers().get(name).and_then(|v| v.to_str().ok())
    }

    /// Whether the status is a redirect (301, 302, 303, 307, 308).
    pub fn is_redirect(&self) -> bool {
        matches!(self.status(), 301 | 302 | 303 | 307 | 308)
    }

    /// `Retry-After` in seconds (its delay-seconds form; an HTTP date is
    /// left to the caller through [`Response::header`]).
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.header("retry-after")?.trim().parse().ok()
    }

    /// How long `Retry-After` asks to wait, from either form (seconds, or an
    /// HTTP date, a date already past giving zero); `None` when absent or
    /// unreadable.
    pub fn retry_after(&self) -> Option<Duration> {
        let value = self.header("retry-after")?.trim();
        if let Ok(secs) = value.parse::<u64>() {
            return Some(Duration::from_secs(secs));
        }
        let at = httpdate::parse_http_date(value).ok()?;
        Some(
            at.duration_since(std::time::SystemTime::now())
                .unwrap_or(Duration::ZERO),
        )
    }

    /// The media type without parameters, lower-cased (`text/html`).
    pub fn mime_type(&self) -> Option<String> {
        let ct = self.header("content-type")?;
        let essence = ct.split(';').next().unwrap_or("").trim();
        (!essence.is_empty()).then(|| essence.to_ascii_lowercase())
    }

    /// The `charset` parameter of `Content-Type`, if any.
    pub fn charset(&self) -> Option<String> {
        self.header("content-type")?
            .split(';')
            .skip(1)
            .find_map(|param| {
                let (k, v) = param.split_once('=')?;
                k.trim()
                    .eq_ignore_ascii_case("charset")
                    .then(|| v.trim().trim_matches('"').to_owned())
            })
    }

    /// Reads the body, at most `limit` bytes (after decompression). With
    /// [`Overflow::Fail`], a declared `Content-Length` over the limit is
    /// refused before reading.
    pub async fn body(mut self, limit: usize, overflow: Overflow) -> Result<Body, FetchError> {
        if overflow == Overflow::Fail
            && self
                .inner
                .content_length()
                .is_some_and(|n| n > limit as u64)
        {
            return Err(FetchError::TooLarge(limit));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = self.inner.chunk().await.map_err(classify)? {
            let room = limit - bytes.len();
            if chunk.len() > room {
                return match overflow {
                    Overflow::Fail => Err(FetchError::TooLarge(limit)),
                    Overflow::Truncate => {
                        bytes.extend_from_slice(&chunk[..room]);
                        Ok(Body {
                            bytes,
                            truncated: true,
                        })
                    }
                };
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Body {
            bytes,
            truncated: false,
        })
    }

    /// The body parsed as JSON, at most [`JSON_LIMIT`] (1 MiB) read; a
    /// larger body (declared or not) is [`FetchError::TooLarge`]. The
    /// status and media type are the caller's to check.
    pub async fn json<T: serde::de::DeserializeOwned>(self) -> Result<T, FetchError> {
        let body = self.body(JSON_LIMIT, Overflow::Fail).await?;
        serde_json::from_slice(&body.bytes).map_err(|e| FetchError::Json(e.to_string()))
    }
}

/// Why the guard stopped a request; travels inside reqwest's error chain.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum GuardError {
    #[error("{0}")]
    Refused(FetchError),
}

/// Our own refusal if it is somewhere in `e`'s chain, else a plain category.
fn classify(e: reqwest::Error) -> FetchError {
    let mut source: Option<&(dyn StdError + 'static)> = Some(&e);
    while let Some(s) = source {
        if let Some(GuardError::Refused(f)) = s.downcast_ref::<GuardError>() {
            return f.clone();
        }
        source = s.source();
    }
    if e.is_timeout() {
        FetchError::Timeout
    } else {
        // The chain names the cause (DNS, refused, TLS); keep it for the log.
        FetchError::Http(with_causes(&e))
    }
}

/// An error and its sources, `outer: inner: …`.
fn with_causes(e: &(dyn StdError + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The IP address of an IP-literal host, `None` for a name.
fn literal_ip(url: &Url) -> Result<Option<IpAddr>, FetchError> {
    match url.host() {
        Some(url::Host::Ipv4(v4)) => Ok(Some(IpAddr::V4(v4))),
        Some(url::Host::Ipv6(v6)) => Ok(Some(IpAddr::V6(v6))),
        Some(url::Host::Domain(d)) if !d.is_empty() => Ok(None),
        _ => Err(FetchError::InvalidUrl(url.to_string())),
    }
}

fn build_client(
    options: &FetchOptions,
    guard: Arc<AddressGuard>,
) -> Result<reqwest::Client, FetchError> {
    let resolver: Arc<dyn DnsResolver> = match &options.resolver {
        Some(r) => r.clone(),
        None => Arc::new(SystemResolver),
    };
    let builder = || {
        reqwest::Client::builder()
            .user_agent(options.user_agent.clone())
            .dns_resolver(GuardedResolver {
                guard: guard.clone(),
                inner: resolver.clone(),
                log: options.dial_log.clone(),
            })
            .connector_layer(PeerCheckLayer {
                guard: guard.clone(),
            })
            // Redirects are followed by the Fetcher, hop by hop, checked.
            .redirect(redirect::Policy::none())
            .referer(false)
            .no_proxy()
            .connect_timeout(options.connect_timeout)
            .read_timeout(options.read_timeout)
            .timeout(options.timeout)
            .pool_idle_timeout(Duration::from_secs(60))
    };
    match builder().build() {
        Ok(client) => Ok(client),
        // The system has no CA certificates (a bare container): the
        // instance still runs; https requests fail until they are installed.
        Err(e) => {
            tracing::error!(
                error = %with_causes(&e),
                "no TLS roots: outbound https requests will fail"
            );
            builder()
                .tls_certs_only(Vec::<reqwest::Certificate>::new())
                .build()
                .map_err(|e| FetchError::Http(format!("cannot build the HTTP client: {e}")))
        }
    }
}

impl Fetcher {
    pub fn new(options: FetchOptions) -> Result<Fetcher, FetchError> {
        let open_guard = Arc::new(if options.allow_public {
            AddressGuard::new(options.allowed_private.clone())
        } else {
            AddressGuard::only(options.allowed_private.clone())
        });
        let open = Client {
            http: build_client(&options, open_guard.clone())?,
            guard: open_guard,
        };
        let local = if options.allow_http {
            let guard = Arc::new(AddressGuard::only(options.allowed_private.clone()));
            Some(Client {
                http: build_client(&options, guard.clone())?,
                guard,
            })
        } else {
            None
        };
        Ok(Fetcher {
            open,
            local,
            timeout: options.timeout,
            dial_log: options.dial_log,
        })
    }

    /// The rule this client applies to addresses (link previews, https).
    pub fn guard(&self) -> &AddressGuard {
        &self.open.guard
    }

    /// Whether federation may use plain http (to `allowed_private` only).
    pub fn allows_http(&self) -> bool {
        self.local.is_some()
    }

    /// Checks `url` for `purpose` before anything is sent: the scheme, and an
    /// IP-literal host against the guard that scheme gets. Returns the
    /// client to send with. Names are checked later, by that client's
    /// resolver.
    fn route(&self, url: &Url, purpose: Purpose) -> Result<&Client, FetchError> {
        let client = match (purpose, url.scheme()) {
            (Purpose::Preview, "http" | "https") | (Purpose::Federation, "https") => &self.open,
            (Purpose::Federation, "http") => self.local.as_ref().ok_or_else(|| {
                FetchError::Scheme(format!(
                    "federation requires https (FERRODON_FEDERATION_ALLOW_HTTP is off): {url}"
                ))
            })?,
            (_, scheme) => return Err(FetchError::Scheme(scheme.to_owned())),
        };
        if purpose == Purpose::Federation
            && (!url.username().is_empty() || url.password().is_some())
        {
            return Err(FetchError::InvalidUrl(format!(
                "credentials in a federation URL: {}",
                host::origin_host(url)
            )));
        }
        if let Some(ip) = literal_ip(url)?
            && !client.guard.allows(ip)
        {
            return Err(FetchError::PrivateAddress(ip.to_string()));
        }
        Ok(client)
    }

    /// Checks a federation URL as [`Fetcher::send`] would before sending
    /// (scheme, credentials, IP literal); names are checked at connect time.
    pub fn check_federation_url(&self, url: &Url) -> Result<(), FetchError> {
        self.route(url, Purpose::Federation).map(|_| ())
    }

    /// The target of a redirect `response` to a federation request, checked
    /// as a first request would be (an https → http redirect only when http
    /// itself is allowed for that target); `None` if `response` is not a
    /// redirect. The caller counts hops (at most [`MAX_REDIRECTS`]).
    pub fn redirect_target(&self, response: &Response) -> Result<Option<Url>, FetchError> {
        if !response.is_redirect() {
            return Ok(None);
        }
        let location = response
            .header("location")
            .ok_or_else(|| FetchError::BadRedirect("no Location".to_owned()))?;
        self.check_redirect(response.url(), location).map(Some)
    }

    /// `location` (absolute or relative to `from`), checked for federation.
    pub fn check_redirect(&self, from: &Url, location: &str) -> Result<Url, FetchError> {
        let target = from
            .join(location)
            .map_err(|e| FetchError::BadRedirect(format!("{location}: {e}")))?;
        self.check_federation_url(&target)?;
        Ok(target)
    }

    /// One hop: checks `request.url`, sends it with what is left of the time.
    async fn hop(
        &self,
        request: &Request,
        purpose: Purpose,
        deadline: Instant,
    ) -> Result<Response, FetchError> {
        let client = self.route(&request.url, purpose)?;
        if let (Some(log), Some(ip)) = (&self.dial_log, literal_ip(&request.url)?) {
            log.record(&host::origin_host(&request.url), ip);
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(FetchError::Timeout);
        }
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
        };
        let mut builder = client
            .http
            .request(method, request.url.clone())
            .headers(request.headers.clone())
            .timeout(remaining);
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        let inner = builder.send().await.map_err(classify)?;
        Ok(Response { inner })
    }

    /// Sends `request` and follows at most [`MAX_REDIRECTS`] redirects,
    /// calling `prepare` before every hop (the first included).
    async fn follow(
        &self,
        mut request: Request,
        purpose: Purpose,
        prepare: &mut (dyn FnMut(&mut Request) -> Result<(), FetchError> + Send),
    ) -> Result<Response, FetchError> {
        let deadline = Instant::now() + self.timeout;
        let mut hops = 0;
        loop {
            prepare(&mut request)?;
            let response = self.hop(&request, purpose, deadline).await?;
            if !response.is_redirect() {
                return Ok(response);
            }
            let Some(location) = response.header("location") else {
                // A 3xx without a target is the answer.
                return Ok(response);
            };
            if hops == MAX_REDIRECTS {
                return Err(FetchError::TooManyRedirects);
            }
            hops += 1;
            let target = request
                .url
                .join(location)
                .map_err(|e| FetchError::BadRedirect(format!("{location}: {e}")))?;
            // Checked by `hop` (route) before anything is sent.
            request = request.redirected(response.status(), target);
        }
    }

    /// A link preview's `GET url` with `Accept: accept`, following at most
    /// [`MAX_REDIRECTS`] redirects, each checked (http or https, guarded
    /// addresses). Any final status comes back as a [`Response`].
    pub async fn get(&self, url: &str, accept: &str) -> Result<Response, FetchError> {
        let parsed = Url::parse(url).map_err(|e| FetchError::InvalidUrl(format!("{url}: {e}")))?;
        let request = Request::get(parsed).header(header::ACCEPT.as_str(), accept)?;
        self.follow(request, Purpose::Preview, &mut |_| Ok(()))
            .await
    }

    /// A federation request, one hop: redirects are *not* followed but
    /// returned (see [`Fetcher::redirect_target`] and
    /// [`Request::redirected`]). https only (see [`FetchOptions::allow_http`]).
    pub async fn send(&self, request: &Request) -> Result<Response, FetchError> {
        let deadline = Instant::now() + self.timeout;
        self.hop(request, Purpose::Federation, deadline).await
    }

    /// A federation request following at most [`MAX_REDIRECTS`] redirects,
    /// each target checked as a first request; `sign` is called before every
    /// hop with the request about to be sent (its final URL, method, body
    /// and headers, credentials already dropped if the host changed) and
    /// sets the signature headers. The deadline covers every hop.
    pub async fn send_following<F>(
        &self,
        request: Request,
        mut sign: F,
    ) -> Result<Response, FetchError>
    where
        F: FnMut(&mut Request) -> Result<(), FetchError> + Send,
    {
        self.follow(request, Purpose::Federation, &mut sign).await
    }
}
