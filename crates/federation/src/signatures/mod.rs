//! HTTP Signatures: how an inbox knows which actor sent a request, and how
//! our deliveries prove they come from us.
//!
//! Two schemes are spoken, both over RSASSA-PKCS1-v1_5 with SHA-256 and
//! 2048–8192-bit RSA keys (the keys every ActivityPub actor publishes as
//! `publicKey.publicKeyPem`):
//!
//! * [`cavage`]: draft-cavage-http-signatures-12, the `Signature` header that
//!   Mastodon and nearly every fediverse server sends and accepts;
//! * [`rfc9421`]: RFC 9421 HTTP Message Signatures (`Signature-Input` +
//!   `Signature`), which Mastodon 4.5 verifies and Fedify sends. We verify it,
//!   and sign with it as the second knock of a "double-knock" delivery when a
//!   peer refuses draft-cavage.
//!
//! Everything here is a pure function over `http` types: no I/O, no clock
//! (the caller passes `now`), no database. Verification is split in two so
//! the caller can fetch (and cache, and on failure refresh once) the key:
//! [`verify_request`] does every check that needs no key and returns a
//! [`PendingVerification`] naming the `key_id` to fetch; then
//! [`PendingVerification::verify`] checks the signature with that key.
//!
//! # Rules (Mastodon's, so that we accept and refuse what it does)
//!
//! draft-cavage (`SignatureVerification` in Mastodon):
//! * `algorithm` absent, `rsa-sha256` or `hs2019` (the key decides: it must
//!   be RSA); anything else is refused;
//! * `(request-target)` must be signed: otherwise a signature taken from one
//!   request could be replayed on another path;
//! * on GET/HEAD `host` must be signed (a fetch signed for one server must not
//!   be replayable against another);
//! * on POST (or any request with a body) `digest` must be signed and the
//!   `Digest` header must carry a SHA-256 equal to the body's: the signature
//!   covers the body only through the digest;
//! * `(created)`/`(expires)` only with `hs2019` (or no algorithm), and then
//!   `headers` defaults to `(created)`; with `rsa-sha256` it defaults to `date`;
//! * a signature whose `(request-target)` lacks the query string is accepted
//!   too (older Mastodon versions signed that way, and Mastodon still accepts it);
//! * `date` or `(created)` must be signed, and the time must be within
//!   now − 1 h 5 min … now + 1 h: a signature is valid for 5 minutes (or until
//!   `expires`, at most 12 hours) plus one hour of clock skew either way. This
//!   bounds replay without a nonce store.
//!
//! RFC 9421 (Mastodon 4.5, with linzer):
//! * `created` and `keyid` are required, `created` within the same window
//!   (and `expires`, if given, is honoured the same way);
//! * `@method` and `@target-uri` (or `@authority` + `@path`) must be covered;
//! * with a body, `content-digest` must be covered and match the body
//!   (RFC 9530, `sha-256` or `sha-512`);
//! * `alg` absent (the key decides), `rsa-v1_5-sha256`, and — cheap with
//!   aws-lc-rs, tested on the RFC's vectors — `rsa-pss-sha512` and `ed25519`;
//!   HMAC and ECDSA are refused;
//! * one signature is used: the first label that passes these checks.
//!
//! Bounds: `Signature`/`Signature-Input` ≤ 8 KiB, digest headers ≤ 4 KiB,
//! PEM ≤ 16 KiB, at most 32 signed headers / 64 components. No input makes
//! these functions panic (property-tested).
//!
//! # Signing
//!
//! [`sign_cavage`] signs as Mastodon does: `Host`, `Date` and (with a body)
//! `Digest` are set, and `Signature` covers `(request-target) host date
//! digest` on POST, `(request-target) host date accept` on GET.
//! [`sign_rfc9421`] is the second knock: `sig1` covers `@method @target-uri
//! @authority date` (+ `content-digest` with a body) with `created`, `keyid`
//! and `alg="rsa-v1_5-sha256"`. It covers the derived `@authority` rather
//! than the `host` field, which an HTTP/2 receiver may not see as a header.
//!
//! # API
//!
//! * [`generate_rsa_2048`], [`PrivateKey::from_pem`], [`PublicKey::from_pem`];
//! * [`verify_request`] → [`PendingVerification`] (`key_id`, `scheme`,
//!   `signed_at`) → [`PendingVerification::verify`];
//! * [`sign_cavage`], [`sign_rfc9421`] on `http::request::Parts`;
//! * lower level, for tests and tools: [`cavage::parse_signature_header`],
//!   [`cavage::signing_string`], [`rfc9421::parse`],
//!   [`rfc9421::signature_base`], [`digest`]'s makers and checkers;
//! * every failure is a [`SignatureError`] whose message can go in a 401 body.
//!
//! The caller passes the request's absolute URI (`https://our.host/inbox`),
//! rebuilt from the configured domain, since RFC 9421's `@target-uri` and
//! `@authority` need it; draft-cavage only uses its path and query. When a
//! request has no `Host` header (HTTP/2), the URI's authority stands in for it.

pub mod cavage;
pub mod digest;
mod error;
pub mod keys;
pub mod rfc9421;
pub mod sfv;

#[cfg(test)]
mod tests;

use std::time::{SystemTime, UNIX_EPOCH};

use http::{HeaderMap, Method, Uri};

pub use cavage::sign_cavage;
pub use error::SignatureError;
pub use keys::{Algorithm, GeneratedKeyPair, PrivateKey, PublicKey, generate_rsa_2048};
pub use rfc9421::sign_rfc9421;

/// Clock skew allowed either way, in seconds.
pub const CLOCK_SKEW_SECS: i64 = 60 * 60;
/// How long a signature without `expires` is valid, in seconds.
pub const DEFAULT_VALIDITY_SECS: i64 = 5 * 60;
/// The longest validity `expires` can ask for, in seconds.
pub const MAX_VALIDITY_SECS: i64 = 12 * 60 * 60;

/// Which scheme signed a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// draft-cavage-http-signatures-12 (`Signature`).
    Cavage,
    /// RFC 9421 (`Signature-Input` + `Signature`).
    Rfc9421,
}

/// What the signature says about its algorithm, before the key is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeclaredAlgorithm {
    /// This algorithm, whatever the key.
    Known(Algorithm),
    /// The key decides, and it must be RSA (draft-cavage `hs2019` or absent).
    RsaFromKey,
    /// The key decides: RSA or Ed25519 (RFC 9421 without `alg`).
    FromKey,
}

/// A request whose signature passed every check that needs no key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingVerification {
    /// The key to fetch (`https://host/users/alice#main-key`).
    pub key_id: String,
    /// The scheme used.
    pub scheme: Scheme,
    /// When the request was signed (`Date` or `created`), unix seconds.
    pub signed_at: i64,
    /// The RFC 9421 label (`sig1`), if any.
    pub label: Option<String>,
    declared: DeclaredAlgorithm,
    base: Vec<u8>,
    /// draft-cavage only: the signing string with `(request-target)`
    /// lacking the query, as older Mastodon versions signed it.
    alternate_base: Option<Vec<u8>>,
    signature: Vec<u8>,
}

impl PendingVerification {
    /// The signing string (draft-cavage) or signature base (RFC 9421).
    pub fn signed_bytes(&self) -> &[u8] {
        &self.base
    }

    /// Verifies the signature with the sender's key.
    pub fn verify(&self, key: &PublicKey) -> Result<(), SignatureError> {
        let algorithm = match self.declared {
            DeclaredAlgorithm::Known(a) => a,
            DeclaredAlgorithm::RsaFromKey if key.is_rsa() => Algorithm::RsaPkcs1Sha256,
            DeclaredAlgorithm::RsaFromKey => {
                return Err(SignatureError::AlgorithmKeyMismatch {
                    algorithm: "hs2019".to_owned(),
                    key: key.kind_name(),
                });
            }
            DeclaredAlgorithm::FromKey if key.is_rsa() => Algorithm::RsaPkcs1Sha256,
            DeclaredAlgorithm::FromKey => Algorithm::Ed25519,
        };
        match (
            key.verify(algorithm, &self.base, &self.signature),
            &self.alternate_base,
        ) {
            (Err(SignatureError::BadSignature), Some(alternate)) => {
                key.verify(algorithm, alternate, &self.signature)
            }
            (result, _) => result,
        }
    }
}

/// Checks a request's signature as far as possible without the key.
///
/// `target_uri` must be absolute (`https://our.host/users/a/inbox?x`);
/// `body` is `None` for requests without one. A request carrying
/// `Signature-Input` is RFC 9421; otherwise `Signature` (or
/// `Authorization: Signature …`) is draft-cavage.
pub fn verify_request(
    method: &Method,
    target_uri: &Uri,
    headers: &HeaderMap,
    body: Option<&[u8]>,
    now: SystemTime,
) -> Result<PendingVerification, SignatureError> {
    if headers.contains_key("signature-input") {
        return rfc9421::prepare(method, target_uri, headers, body, now);
    }
    if let Some(value) = header_value(headers, "signature") {
        return cavage::prepare(method, target_uri, headers, &value, body, now);
    }
    if let Some(value) = header_value(headers, "authorization")
        && value.len() > 10
        && value[..10].eq_ignore_ascii_case(b"signature ")
    {
        return cavage::prepare(method, target_uri, headers, &value[10..], body, now);
    }
    Err(SignatureError::Unsigned)
}

/// All values of a header, each trimmed, joined by `, `.
pub(crate) fn header_value(headers: &HeaderMap, name: &str) -> Option<Vec<u8>> {
    let mut values = headers.get_all(name).iter().peekable();
    values.peek()?;
    let mut out = Vec::new();
    for (i, value) in values.enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        out.extend_from_slice(value.as_bytes().trim_ascii());
    }
    Some(out)
}

/// `host[:port]` of an absolute URI, lowercased, without the scheme's default port.
pub(crate) fn authority(uri: &Uri) -> Option<String> {
    let host = uri.host()?.to_ascii_lowercase();
    let default_port = match uri.scheme_str() {
        Some(s) if s.eq_ignore_ascii_case("https") => Some(443),
        Some(s) if s.eq_ignore_ascii_case("http") => Some(80),
        _ => None,
    };
    Some(match uri.port_u16() {
        Some(port) if Some(port) != default_port => format!("{host}:{port}"),
        _ => host,
    })
}

/// Whether the request must prove its body with a digest.
pub(crate) fn request_has_body(method: &Method, body: Option<&[u8]>) -> bool {
    method == Method::POST || body.is_some_and(|b| !b.is_empty())
}

/// Unix seconds (negative before 1970, saturating).
pub(crate) fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

/// Mastodon's time window: not more than [`CLOCK_SKEW_SECS`] in the future,
/// and not past its expiry (`expires`, else `signed_at` +
/// [`DEFAULT_VALIDITY_SECS`], never beyond `signed_at` +
/// [`MAX_VALIDITY_SECS`]) by more than [`CLOCK_SKEW_SECS`].
pub(crate) fn check_clock(
    signed_at: i64,
    expires: Option<i64>,
    now: i64,
) -> Result<(), SignatureError> {
    if signed_at > now.saturating_add(CLOCK_SKEW_SECS) {
        return Err(SignatureError::FromTheFuture { signed_at, now });
    }
    let latest = signed_at.saturating_add(MAX_VALIDITY_SECS);
    let expiry = expires
        .unwrap_or(signed_at.saturating_add(DEFAULT_VALIDITY_SECS))
        .min(latest);
    if now > expiry.saturating_add(CLOCK_SKEW_SECS) {
        return Err(SignatureError::Expired { signed_at, now });
    }
    Ok(())
}

/// Sets a header a signer adds (`Host`, `Date`, digests, the signature).
pub(crate) fn set_header(
    headers: &mut HeaderMap,
    name: &'static str,
    value: &str,
) -> Result<(), SignatureError> {
    let value = http::HeaderValue::from_str(value)
        .map_err(|_| SignatureError::CannotSign(format!("invalid {name} value")))?;
    headers.insert(name, value);
    Ok(())
}
