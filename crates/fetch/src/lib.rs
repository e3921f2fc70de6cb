//! Ferrodon's outbound HTTP client: every request the server makes to other
//! hosts (link previews today, federation later) goes through [`Fetcher`].
//!
//! The guard against server-side request forgery has three parts, because a
//! request can reach an address by three roads:
//! - **DNS**: the client's resolver ([`GuardedResolver`]) drops every
//!   address the [`AddressGuard`] refuses, at connect time, so a name that
//!   resolves to a private address (or is rebound to one after a check)
//!   cannot be reached;
//! - **IP literals** (`http://127.0.0.1/`, `http://[::1]/`, `http://2130706433/`)
//!   never touch the resolver: the URL's host is checked before sending;
//! - **redirects**: each hop's target is checked again (scheme http or https,
//!   IP-literal hosts), at most [`MAX_REDIRECTS`] hops; names go through the
//!   resolver again.
//!
//! Requests have a connect timeout and a total deadline, bodies are read in
//! chunks up to a size cap ([`Overflow`] says whether reaching it is an
//! error or cuts the body), no environment proxy is used, no `Referer` is
//! sent, and the `User-Agent` names Ferrodon and the instance.

pub mod address;

use std::error::Error as StdError;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

pub use address::{AddressGuard, is_public};
pub use ipnet::IpNet;
pub use url::Url;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect;

/// Most redirects followed for one request.
pub const MAX_REDIRECTS: usize = 5;

/// How the client is built.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// `Ferrodon/0.1.0 (+https://example.com/)`.
    pub user_agent: String,
    /// Private ranges an operator allowed (`ALLOWED_PRIVATE_ADDRESSES`).
    pub allowed_private: Vec<IpNet>,
    /// Whether public addresses may be reached (off: only `allowed_private`).
    pub allow_public: bool,
    /// Time to resolve and open a connection.
    pub connect_timeout: Duration,
    /// Deadline for a whole request, body included.
    pub timeout: Duration,
}

impl FetchOptions {
    /// Mastodon's timeouts (5 s to connect, 30 s in all), no private ranges.
    pub fn new(user_agent: impl Into<String>) -> FetchOptions {
        FetchOptions {
            user_agent: user_agent.into(),
            allowed_private: Vec::new(),
            allow_public: true,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
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
    #[error("only http and https URLs are fetched: {0}")]
    Scheme(String),
    /// The host is (or resolves only to) an address the guard refuses.
    #[error("refusing to connect to a non-public address: {0}")]
    PrivateAddress(String),
    #[error("more than {MAX_REDIRECTS} redirects")]
    TooManyRedirects,
    #[error("response body larger than {0} bytes")]
    TooLarge(usize),
    #[error("timed out")]
    Timeout,
    /// Anything else: DNS failure, connection refused, TLS, protocol errors.
    #[error("{0}")]
    Http(String),
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

/// The guarded client. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    guard: Arc<AddressGuard>,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("allowed_private", &self.guard.allowed())
            .finish()
    }
}

/// A response whose headers arrived; the body is read by [`Response::body`].
#[derive(Debug)]
pub struct Response {
    inner: reqwest::Response,
}

impl Response {
    pub fn status(&self) -> u16 {
        self.inner.status().as_u16()
    }

    /// The URL that answered, after redirects.
    pub fn url(&self) -> &Url {
        self.inner.url()
    }

    fn content_type(&self) -> Option<&str> {
        self.inner
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
    }

    /// The media type without parameters, lower-cased (`text/html`).
    pub fn mime_type(&self) -> Option<String> {
        let ct = self.content_type()?;
        let essence = ct.split(';').next().unwrap_or("").trim();
        (!essence.is_empty()).then(|| essence.to_ascii_lowercase())
    }

    /// The `charset` parameter of `Content-Type`, if any.
    pub fn charset(&self) -> Option<String> {
        self.content_type()?.split(';').skip(1).find_map(|param| {
            let (k, v) = param.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("charset")
                .then(|| v.trim().trim_matches('"').to_owned())
        })
    }

    /// Reads the body, at most `limit` bytes (after decompression).
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
}

/// Why the guard stopped a request; travels inside reqwest's error chain.
#[derive(Debug, Clone, thiserror::Error)]
enum GuardError {
    #[error("{0}")]
    Refused(FetchError),
}

/// The resolver: the system's (getaddrinfo, on tokio's blocking pool), with
/// the addresses the guard refuses dropped.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    guard: Arc<AddressGuard>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.guard.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            // Nothing could be reached: not even a DNS query.
            if guard.reaches_nothing() {
                return Err(
                    Box::new(GuardError::Refused(FetchError::PrivateAddress(host)))
                        as Box<dyn StdError + Send + Sync>,
                );
            }
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> =
                found.into_iter().filter(|a| guard.allows(a.ip())).collect();
            if allowed.is_empty() {
                return Err(
                    Box::new(GuardError::Refused(FetchError::PrivateAddress(host)))
                        as Box<dyn StdError + Send + Sync>,
                );
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// Checks a URL before it is requested: scheme, and an IP-literal host.
fn check_url(guard: &AddressGuard, url: &Url) -> Result<(), FetchError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FetchError::Scheme(url.scheme().to_owned()));
    }
    let ip = match url.host() {
        Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
        Some(url::Host::Domain(d)) if !d.is_empty() => return Ok(()),
        _ => return Err(FetchError::InvalidUrl(url.to_string())),
    };
    if guard.allows(ip) {
        Ok(())
    } else {
        Err(FetchError::PrivateAddress(ip.to_string()))
    }
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
    } else if e.is_redirect() {
        FetchError::TooManyRedirects
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

impl Fetcher {
    pub fn new(options: FetchOptions) -> Result<Fetcher, FetchError> {
        let guard = Arc::new(if options.allow_public {
            AddressGuard::new(options.allowed_private.clone())
        } else {
            AddressGuard::only(options.allowed_private.clone())
        });
        let builder = || {
            let redirect_guard = guard.clone();
            let policy = redirect::Policy::custom(move |attempt| {
                // `previous` holds the first URL and every hop so far.
                if attempt.previous().len() > MAX_REDIRECTS {
                    return attempt.error(GuardError::Refused(FetchError::TooManyRedirects));
                }
                match check_url(&redirect_guard, attempt.url()) {
                    Ok(()) => attempt.follow(),
                    Err(e) => attempt.error(GuardError::Refused(e)),
                }
            });
            reqwest::Client::builder()
                .user_agent(options.user_agent.clone())
                .dns_resolver(GuardedResolver {
                    guard: guard.clone(),
                })
                .redirect(policy)
                .referer(false)
                .no_proxy()
                .connect_timeout(options.connect_timeout)
                .timeout(options.timeout)
                .pool_idle_timeout(Duration::from_secs(60))
        };
        let client = match builder().build() {
            Ok(client) => client,
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
                    .map_err(|e| FetchError::Http(format!("cannot build the HTTP client: {e}")))?
            }
        };
        Ok(Fetcher { client, guard })
    }

    /// The rule this client applies to addresses.
    pub fn guard(&self) -> &AddressGuard {
        &self.guard
    }

    /// `GET url` with `Accept: accept`, following at most [`MAX_REDIRECTS`]
    /// redirects, each checked. Any status comes back as a [`Response`].
    pub async fn get(&self, url: &str, accept: &str) -> Result<Response, FetchError> {
        let parsed = Url::parse(url).map_err(|e| FetchError::InvalidUrl(format!("{url}: {e}")))?;
        check_url(&self.guard, &parsed)?;
        let inner = self
            .client
            .get(parsed)
            .header(reqwest::header::ACCEPT, accept)
            .send()
            .await
            .map_err(classify)?;
        Ok(Response { inner })
    }
}
