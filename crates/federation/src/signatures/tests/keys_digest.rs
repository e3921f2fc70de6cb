//! Key parsing and digest headers.

use super::key;
use crate::signatures::{PrivateKey, PublicKey, SignatureError, digest};

#[test]
fn digest_headers() {
    let body = b"{\"hello\": \"world\"}";
    let ok = "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=";
    digest::check_digest_header(ok.as_bytes(), body).unwrap();
    digest::check_digest_header(
        ok.to_ascii_lowercase().replace("x48e9", "X48E9").as_bytes(),
        body,
    )
    .unwrap_err();
    digest::check_digest_header(
        b"sha-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
        body,
    )
    .unwrap();
    digest::check_digest_header(format!("MD5=abc, {ok}, unknown=zz").as_bytes(), body).unwrap();
    assert_eq!(
        digest::check_digest_header(b"SHA-512=AAAA", body),
        Err(SignatureError::UnsupportedDigest {
            header: "Digest",
            need: "SHA-256"
        })
    );
    let hex = format!("SHA-256={}", "ab".repeat(32));
    assert!(matches!(
        digest::check_digest_header(hex.as_bytes(), body),
        Err(SignatureError::Malformed { .. })
    ));
    assert_eq!(digest::digest_header_value(body), ok);

    let cd = digest::content_digest_header_value(body);
    assert_eq!(cd, "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:");
    digest::check_content_digest(cd.as_bytes(), body).unwrap();
    digest::check_content_digest(format!("md5=:AA==:, {cd}").as_bytes(), body).unwrap();
    assert_eq!(
        digest::check_content_digest(b"md5=:AA==:", body),
        Err(SignatureError::UnsupportedDigest {
            header: "Content-Digest",
            need: "sha-256 or sha-512"
        })
    );
    assert_eq!(
        digest::check_content_digest(b"sha-512=:AA==:", body),
        Err(SignatureError::DigestMismatch {
            header: "Content-Digest",
            algorithm: "sha-512"
        })
    );
}

#[test]
fn key_parsing() {
    let generated = crate::signatures::generate_rsa_2048().unwrap();
    // CRLF and odd whitespace inside the PEM are tolerated.
    let crlf = generated.public_key_pem.replace('\n', "\r\n  ");
    let public = PublicKey::from_pem(&crlf).unwrap();
    let private = PrivateKey::from_pem(&generated.private_key_pem).unwrap();
    assert_eq!(private.public_key().unwrap(), public);
    assert_eq!(private.public_key_pem().unwrap(), generated.public_key_pem);
    assert_ne!(public, key().1);

    assert!(matches!(
        PublicKey::from_pem(&" ".repeat(17 * 1024)),
        Err(SignatureError::TooLong { .. })
    ));
    for bad in [
        "",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        "-----BEGIN PUBLIC KEY-----\n!!\n-----END PUBLIC KEY-----\n",
        "-----BEGIN PUBLIC KEY-----\nMIIB\n",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    ] {
        assert!(
            matches!(PublicKey::from_pem(bad), Err(SignatureError::InvalidKey(_))),
            "{bad}"
        );
    }
    // A public key is not a private key.
    assert!(matches!(
        PrivateKey::from_pem(&generated.public_key_pem),
        Err(SignatureError::InvalidKey(_))
    ));
}
