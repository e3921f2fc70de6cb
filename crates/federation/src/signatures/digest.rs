//! Body digests: the legacy `Digest` header (RFC 3230, what draft-cavage
//! signers send: `SHA-256=<base64>`) and RFC 9530 `Content-Digest`
//! (`sha-256=:<base64>:`, a structured-field dictionary, what RFC 9421
//! signers cover).
//!
//! Rules (Mastodon's): `Digest` must carry SHA-256 (the algorithm name is
//! case-insensitive, several comma-separated values are allowed, unknown
//! algorithms are ignored, a SHA-512 value is checked too when present).
//! `Content-Digest` must carry `sha-256` or `sha-512`; every one of those two
//! present must match. A hex SHA-256 (a common peer bug) gets its own message.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest as _, Sha256, Sha512};

use super::SignatureError;
use super::sfv::{self, BareItem};

/// The largest `Digest`/`Content-Digest` header we parse.
pub const MAX_DIGEST_HEADER_LEN: usize = 4096;

/// `SHA-256=<base64>` for a `Digest` header.
pub fn digest_header_value(body: &[u8]) -> String {
    format!("SHA-256={}", STANDARD.encode(Sha256::digest(body)))
}

/// `sha-256=:<base64>:` for a `Content-Digest` header.
pub fn content_digest_header_value(body: &[u8]) -> String {
    format!("sha-256=:{}:", STANDARD.encode(Sha256::digest(body)))
}

fn check_len(what: &'static str, value: &[u8]) -> Result<(), SignatureError> {
    if value.len() > MAX_DIGEST_HEADER_LEN {
        return Err(SignatureError::TooLong {
            what,
            len: value.len(),
            limit: MAX_DIGEST_HEADER_LEN,
        });
    }
    Ok(())
}

/// Checks a `Digest` header value against `body`.
pub fn check_digest_header(value: &[u8], body: &[u8]) -> Result<(), SignatureError> {
    const WHAT: &str = "Digest header";
    check_len(WHAT, value)?;
    let text =
        std::str::from_utf8(value).map_err(|_| SignatureError::malformed(WHAT, "not ASCII"))?;
    let mut sha256 = None;
    let mut sha512 = None;
    for part in text.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (alg, encoded) = part
            .split_once('=')
            .ok_or_else(|| SignatureError::malformed(WHAT, format!("`{part}` has no `=`")))?;
        let slot = match alg.trim().to_ascii_lowercase().as_str() {
            "sha-256" => &mut sha256,
            "sha-512" => &mut sha512,
            _ => continue,
        };
        if slot.is_some() {
            return Err(SignatureError::malformed(
                WHAT,
                format!("{alg} given twice"),
            ));
        }
        *slot = Some(encoded.trim());
    }
    let Some(expected256) = sha256 else {
        return Err(SignatureError::UnsupportedDigest {
            header: "Digest",
            need: "SHA-256",
        });
    };
    compare("Digest", "SHA-256", expected256, &Sha256::digest(body))?;
    if let Some(expected512) = sha512 {
        compare("Digest", "SHA-512", expected512, &Sha512::digest(body))?;
    }
    Ok(())
}

fn compare(
    header: &'static str,
    algorithm: &'static str,
    given_b64: &str,
    actual: &[u8],
) -> Result<(), SignatureError> {
    if given_b64.len() == actual.len() * 2 && given_b64.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(SignatureError::malformed(
            "Digest header",
            format!("the {algorithm} value is hexadecimal, not base64"),
        ));
    }
    let given = STANDARD.decode(given_b64).map_err(|_| {
        SignatureError::malformed("Digest header", format!("{algorithm} value is not base64"))
    })?;
    compare_bytes(header, algorithm, &given, actual)
}

fn compare_bytes(
    header: &'static str,
    algorithm: &'static str,
    given: &[u8],
    actual: &[u8],
) -> Result<(), SignatureError> {
    if given != actual {
        return Err(SignatureError::DigestMismatch { header, algorithm });
    }
    Ok(())
}

/// Checks a `Content-Digest` header value against `body`.
pub fn check_content_digest(value: &[u8], body: &[u8]) -> Result<(), SignatureError> {
    const WHAT: &str = "Content-Digest header";
    check_len(WHAT, value)?;
    let dict = sfv::parse_dictionary(value).map_err(|e| SignatureError::malformed(WHAT, e))?;
    let mut checked = false;
    for (key, member) in &dict {
        let (algorithm, actual): (&'static str, Vec<u8>) = match key.as_str() {
            "sha-256" => ("sha-256", Sha256::digest(body).to_vec()),
            "sha-512" => ("sha-512", Sha512::digest(body).to_vec()),
            _ => continue,
        };
        let sfv::Member::Item(BareItem::ByteSeq(given), _) = member else {
            return Err(SignatureError::malformed(
                WHAT,
                format!("{algorithm} is not a byte sequence"),
            ));
        };
        compare_bytes("Content-Digest", algorithm, given, &actual)?;
        checked = true;
    }
    if !checked {
        return Err(SignatureError::UnsupportedDigest {
            header: "Content-Digest",
            need: "sha-256 or sha-512",
        });
    }
    Ok(())
}
