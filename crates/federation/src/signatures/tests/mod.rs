//! Tests of the signatures module: the published vectors ([`vectors`]), our
//! acceptance rules ([`rules`]) and parsers fed arbitrary input ([`props`]).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cavage_rules;
mod keys_digest;
mod props;
mod rfc9421_rules;
mod vectors;

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};

use super::{PendingVerification, PrivateKey, PublicKey, SignatureError, verify_request};

/// One generated RSA-2048 key pair for the whole test binary (generation is slow).
pub(super) fn key() -> &'static (PrivateKey, PublicKey) {
    static KEY: OnceLock<(PrivateKey, PublicKey)> = OnceLock::new();
    KEY.get_or_init(|| {
        let generated = super::generate_rsa_2048().unwrap();
        assert!(
            generated
                .private_key_pem
                .starts_with("-----BEGIN PRIVATE KEY-----\n")
        );
        assert!(
            generated
                .public_key_pem
                .starts_with("-----BEGIN PUBLIC KEY-----\n")
        );
        let private = PrivateKey::from_pem(&generated.private_key_pem).unwrap();
        let public = PublicKey::from_pem(&generated.public_key_pem).unwrap();
        assert_eq!(private.public_key().unwrap(), public);
        (private, public)
    })
}

/// A fixed "now": 2023-11-14T22:13:20Z.
pub(super) fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

pub(super) fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub(super) const KEY_ID: &str = "https://remote.example/users/alice#main-key";
pub(super) const INBOX: &str = "https://local.example/users/bob/inbox";
pub(super) const BODY: &[u8] = br#"{"type":"Follow","actor":"https://remote.example/users/alice"}"#;

/// Request parts for `method uri`, with a Content-Type or Accept header.
pub(super) fn parts(method: Method, uri: &str) -> http::request::Parts {
    let builder = http::Request::builder().method(method.clone()).uri(uri);
    let builder = if method == Method::GET {
        builder.header("accept", "application/activity+json")
    } else {
        builder.header("content-type", "application/activity+json")
    };
    builder.body(()).unwrap().into_parts().0
}

/// Builds a header map from `(name, value)` pairs.
pub(super) fn header_map(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

/// A raw HTTP/1.1 request (as in the fixtures) as method, absolute URI
/// (scheme https, authority from Host), headers and body.
pub(super) fn parse_message(text: &str) -> (Method, Uri, HeaderMap, Vec<u8>) {
    let (head, body) = text.split_once("\n\n").unwrap();
    let mut lines = head.lines();
    let request_line = lines.next().unwrap();
    let mut words = request_line.split(' ');
    let method: Method = words.next().unwrap().parse().unwrap();
    let target = words.next().unwrap();
    let pairs: Vec<(&str, &str)> = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n, v.trim())
        })
        .collect();
    let headers = header_map(&pairs);
    let host = headers["host"].to_str().unwrap();
    let uri: Uri = format!("https://{host}{target}").parse().unwrap();
    let body = body.strip_suffix('\n').unwrap_or(body);
    (method, uri, headers, body.as_bytes().to_vec())
}

/// The checks that need no key, at [`now`].
pub(super) fn check(
    p: &http::request::Parts,
    body: Option<&[u8]>,
) -> Result<PendingVerification, SignatureError> {
    verify_request(&p.method, &p.uri, &p.headers, body, now())
}

/// All checks, with the test key.
pub(super) fn full_check(
    p: &http::request::Parts,
    body: Option<&[u8]>,
) -> Result<(), SignatureError> {
    check(p, body)?.verify(&key().1)
}
