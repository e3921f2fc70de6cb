//! draft-cavage-http-signatures-12: the `Signature` header Mastodon sends.
//!
//! `Signature: keyId="…",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="…"`
//! (or the same after `Authorization: Signature `). The signing string is one
//! `name: value` line per listed header, lowercased names, joined by `\n`;
//! `(request-target)` is the lowercased method, a space and the path with its
//! query; a header sent several times is joined by `, `.

use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, Method, Uri};

use super::keys::{Algorithm, PrivateKey};
use super::{
    DeclaredAlgorithm, PendingVerification, Scheme, SignatureError, authority, check_clock, digest,
    header_value, request_has_body, unix_seconds,
};

/// The largest `Signature` header we parse.
pub const MAX_SIGNATURE_HEADER_LEN: usize = 8 * 1024;
/// The most entries we accept in `headers="…"`.
const MAX_SIGNED_HEADERS: usize = 32;

/// A parsed `Signature` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CavageSignature {
    /// `keyId`: the URL of the key (`https://host/users/a#main-key`).
    pub key_id: String,
    /// `algorithm`, lowercased, if given.
    pub algorithm: Option<String>,
    /// `headers`, lowercased. When absent, as Mastodon: `["(created)"]` for
    /// `hs2019` or no algorithm, `["date"]` otherwise.
    pub headers: Vec<String>,
    /// The decoded `signature`.
    pub signature: Vec<u8>,
    /// `created` (unix seconds).
    pub created: Option<i64>,
    /// `expires` (unix seconds; a fraction is dropped).
    pub expires: Option<i64>,
}

impl CavageSignature {
    fn covers(&self, name: &str) -> bool {
        self.headers.iter().any(|h| h == name)
    }
}

const WHAT: &str = "Signature header";

/// Parses a `Signature` header value (without any `Signature ` scheme prefix).
pub fn parse_signature_header(value: &[u8]) -> Result<CavageSignature, SignatureError> {
    if value.len() > MAX_SIGNATURE_HEADER_LEN {
        return Err(SignatureError::TooLong {
            what: WHAT,
            len: value.len(),
            limit: MAX_SIGNATURE_HEADER_LEN,
        });
    }
    let mut params: Vec<(String, String)> = Vec::new();
    let mut pos = 0;
    let skip_ows = |pos: &mut usize| {
        while matches!(value.get(*pos), Some(b' ' | b'\t')) {
            *pos += 1;
        }
    };
    loop {
        skip_ows(&mut pos);
        if pos >= value.len() {
            break;
        }
        let start = pos;
        while matches!(value.get(pos), Some(c) if c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_')
        {
            pos += 1;
        }
        if start == pos {
            return Err(SignatureError::malformed(
                WHAT,
                format!("expected a parameter name at byte {pos}"),
            ));
        }
        let name = String::from_utf8_lossy(&value[start..pos]).to_ascii_lowercase();
        skip_ows(&mut pos);
        if value.get(pos) != Some(&b'=') {
            return Err(SignatureError::malformed(
                WHAT,
                format!("`{name}` has no value"),
            ));
        }
        pos += 1;
        skip_ows(&mut pos);
        let mut raw = Vec::new();
        if value.get(pos) == Some(&b'"') {
            pos += 1;
            loop {
                match value.get(pos) {
                    None => {
                        return Err(SignatureError::malformed(
                            WHAT,
                            format!("unterminated quoted value for `{name}`"),
                        ));
                    }
                    Some(b'"') => {
                        pos += 1;
                        break;
                    }
                    Some(b'\\') => {
                        let escaped = value.get(pos + 1).ok_or_else(|| {
                            SignatureError::malformed(WHAT, "backslash at the end")
                        })?;
                        raw.push(*escaped);
                        pos += 2;
                    }
                    Some(c) => {
                        raw.push(*c);
                        pos += 1;
                    }
                }
            }
        } else {
            while let Some(c) = value.get(pos) {
                if c.is_ascii_alphanumeric() || b"+/=._-".contains(c) {
                    raw.push(*c);
                    pos += 1;
                } else {
                    break;
                }
            }
            if raw.is_empty() {
                return Err(SignatureError::malformed(
                    WHAT,
                    format!("`{name}` has an empty or invalid value"),
                ));
            }
        }
        let text = String::from_utf8(raw)
            .map_err(|_| SignatureError::malformed(WHAT, format!("`{name}` is not UTF-8")))?;
        if params.iter().any(|(n, _)| *n == name) {
            return Err(SignatureError::DuplicateParameter(name));
        }
        params.push((name, text));
        skip_ows(&mut pos);
        match value.get(pos) {
            None => break,
            Some(b',') => pos += 1,
            Some(_) => {
                return Err(SignatureError::malformed(
                    WHAT,
                    format!("expected `,` at byte {pos}"),
                ));
            }
        }
    }
    let take = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let key_id = take("keyid").ok_or(SignatureError::MissingParameter("keyId"))?;
    if key_id.trim().is_empty() {
        return Err(SignatureError::malformed(WHAT, "keyId is empty"));
    }
    let signature_b64 = take("signature").ok_or(SignatureError::MissingParameter("signature"))?;
    if signature_b64.trim().is_empty() {
        return Err(SignatureError::EmptySignature);
    }
    let signature = STANDARD
        .decode(signature_b64.trim())
        .map_err(|_| SignatureError::malformed(WHAT, "signature is not base64"))?;
    let algorithm = take("algorithm").map(|a| a.to_ascii_lowercase());
    let headers: Vec<String> = match take("headers") {
        None if matches!(algorithm.as_deref(), None | Some("hs2019")) => {
            vec!["(created)".to_owned()]
        }
        None => vec!["date".to_owned()],
        Some(list) => list
            .split_ascii_whitespace()
            .map(str::to_ascii_lowercase)
            .collect(),
    };
    if headers.is_empty() {
        return Err(SignatureError::malformed(WHAT, "headers is empty"));
    }
    if headers.len() > MAX_SIGNED_HEADERS {
        return Err(SignatureError::malformed(WHAT, "too many signed headers"));
    }
    Ok(CavageSignature {
        key_id,
        algorithm,
        headers,
        signature,
        created: take("created")
            .map(|v| parse_time("created", &v))
            .transpose()?,
        expires: take("expires")
            .map(|v| parse_time("expires", &v))
            .transpose()?,
    })
}

/// Unix seconds; `expires` may carry a fraction, which is dropped.
fn parse_time(name: &str, value: &str) -> Result<i64, SignatureError> {
    let int = value.split_once('.').map_or(value, |(int, _)| int);
    if int.is_empty() || int.len() > 15 || !int.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SignatureError::InvalidDate(format!(
            "`{name}` is not a unix time"
        )));
    }
    int.parse()
        .map_err(|_| SignatureError::InvalidDate(format!("`{name}` is not a unix time")))
}

/// `(request-target)`: lowercased method, space, path and (if `with_query`) query.
fn request_target(method: &Method, uri: &Uri, with_query: bool) -> String {
    let path = if with_query {
        uri.path_and_query().map_or("/", |pq| pq.as_str())
    } else {
        uri.path()
    };
    let path = if path.is_empty() { "/" } else { path };
    format!("{} {}", method.as_str().to_ascii_lowercase(), path)
}

/// The signing string for `sig` over this request.
pub fn signing_string(
    sig: &CavageSignature,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Vec<u8>, SignatureError> {
    build_signing_string(sig, method, uri, headers, true)
}

fn build_signing_string(
    sig: &CavageSignature,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    with_query: bool,
) -> Result<Vec<u8>, SignatureError> {
    let mut out = Vec::new();
    for (i, name) in sig.headers.iter().enumerate() {
        if i > 0 {
            out.push(b'\n');
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        match name.as_str() {
            "(request-target)" => {
                out.extend_from_slice(request_target(method, uri, with_query).as_bytes())
            }
            "(created)" => {
                let created = sig
                    .created
                    .ok_or(SignatureError::MissingParameter("created"))?;
                out.extend_from_slice(created.to_string().as_bytes());
            }
            "(expires)" => {
                let expires = sig
                    .expires
                    .ok_or(SignatureError::MissingParameter("expires"))?;
                out.extend_from_slice(expires.to_string().as_bytes());
            }
            pseudo if pseudo.starts_with('(') => {
                return Err(SignatureError::UnsupportedComponent(pseudo.to_owned()));
            }
            field => {
                let value = header_value(headers, field)
                    .or_else(|| {
                        (field == "host")
                            .then(|| authority(uri))
                            .flatten()
                            .map(String::into_bytes)
                    })
                    .ok_or_else(|| SignatureError::MissingHeader(field.to_owned()))?;
                out.extend_from_slice(&value);
            }
        }
    }
    Ok(out)
}

/// Checks everything that does not need the key, Mastodon's way, and returns
/// what is left to verify.
pub(crate) fn prepare(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    header: &[u8],
    body: Option<&[u8]>,
    now: SystemTime,
) -> Result<PendingVerification, SignatureError> {
    let sig = parse_signature_header(header)?;
    let declared = match sig.algorithm.as_deref() {
        None | Some("hs2019") => DeclaredAlgorithm::RsaFromKey,
        Some("rsa-sha256") => DeclaredAlgorithm::Known(Algorithm::RsaPkcs1Sha256),
        Some(other) => return Err(SignatureError::UnsupportedAlgorithm(other.to_owned())),
    };
    if sig.algorithm.as_deref() == Some("rsa-sha256") {
        for pseudo in ["(created)", "(expires)"] {
            if sig.covers(pseudo) {
                return Err(SignatureError::malformed(
                    WHAT,
                    format!("{pseudo} is only allowed with hs2019"),
                ));
            }
        }
    }
    if !sig.covers("(request-target)") {
        return Err(SignatureError::MustBeSigned("(request-target)"));
    }
    if (method == Method::GET || method == Method::HEAD) && !sig.covers("host") {
        return Err(SignatureError::MustBeSigned("host"));
    }
    let has_body = request_has_body(method, body);
    if has_body && !sig.covers("digest") {
        if headers.contains_key("digest") {
            return Err(SignatureError::MustBeSigned("digest"));
        }
        return Err(SignatureError::MissingDigest("Digest"));
    }
    let signed_at = if sig.covers("(created)") {
        sig.created
            .ok_or(SignatureError::MissingParameter("created"))?
    } else if sig.covers("date") {
        let date = header_value(headers, "date")
            .ok_or_else(|| SignatureError::MissingHeader("date".to_owned()))?;
        let date = std::str::from_utf8(&date)
            .map_err(|_| SignatureError::InvalidDate("Date is not ASCII".to_owned()))?;
        let parsed = httpdate::parse_http_date(date)
            .map_err(|e| SignatureError::InvalidDate(format!("Date `{date}`: {e}")))?;
        unix_seconds(parsed)
    } else {
        return Err(SignatureError::MustBeSigned("date"));
    };
    check_clock(signed_at, sig.expires, unix_seconds(now))?;
    if sig.covers("digest") {
        let value = header_value(headers, "digest")
            .ok_or_else(|| SignatureError::MissingHeader("digest".to_owned()))?;
        digest::check_digest_header(&value, body.unwrap_or_default())?;
    }
    let base = signing_string(&sig, method, uri, headers)?;
    // Older Mastodon versions left the query out of (request-target); Mastodon
    // still accepts such signatures, and so do we.
    let alternate_base = if uri.query().is_some() && sig.covers("(request-target)") {
        Some(build_signing_string(&sig, method, uri, headers, false)?)
    } else {
        None
    };
    Ok(PendingVerification {
        key_id: sig.key_id,
        scheme: Scheme::Cavage,
        signed_at,
        label: None,
        declared,
        base,
        alternate_base,
        signature: sig.signature,
    })
}

/// Signs a request the way Mastodon does: sets `Host`, `Date`, `Digest`
/// (when there is a body) and `Signature` over
/// `(request-target) host date digest` (with a body) or
/// `(request-target) host date accept` (without; `accept` only if set).
/// `parts.uri` must be absolute (it gives `Host`).
pub fn sign_cavage(
    parts: &mut http::request::Parts,
    body: Option<&[u8]>,
    key_id: &str,
    key: &PrivateKey,
    now: SystemTime,
) -> Result<(), SignatureError> {
    let host = authority(&parts.uri)
        .ok_or_else(|| SignatureError::CannotSign("the URI has no host".to_owned()))?;
    if key_id.contains(['"', '\\']) {
        return Err(SignatureError::CannotSign(
            "keyId contains a quote".to_owned(),
        ));
    }
    super::set_header(&mut parts.headers, "host", &host)?;
    super::set_header(&mut parts.headers, "date", &httpdate::fmt_http_date(now))?;
    let mut signed = vec!["(request-target)", "host", "date"];
    if let Some(body) = body {
        super::set_header(
            &mut parts.headers,
            "digest",
            &digest::digest_header_value(body),
        )?;
        signed.push("digest");
    } else if parts.headers.contains_key("accept") {
        signed.push("accept");
    }
    let sig = CavageSignature {
        key_id: key_id.to_owned(),
        algorithm: Some("rsa-sha256".to_owned()),
        headers: signed.iter().map(|s| (*s).to_owned()).collect(),
        signature: Vec::new(),
        created: None,
        expires: None,
    };
    let base = signing_string(&sig, &parts.method, &parts.uri, &parts.headers)?;
    let signature = STANDARD.encode(key.sign_rsa_sha256(&base)?);
    let value = format!(
        "keyId=\"{key_id}\",algorithm=\"rsa-sha256\",headers=\"{}\",signature=\"{signature}\"",
        signed.join(" ")
    );
    super::set_header(&mut parts.headers, "signature", &value)
}
