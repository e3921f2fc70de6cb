//! draft-cavage: sign → verify round trips, and every refusal with its own reason.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderValue, Method, Uri};

use super::{BODY, INBOX, KEY_ID, check, full_check, key, now, parts, secs};
use crate::signatures::cavage::{self, CavageSignature};
use crate::signatures::{
    PrivateKey, PublicKey, Scheme, SignatureError, digest, sign_cavage, verify_request,
};

fn signed_post() -> http::request::Parts {
    let mut p = parts(Method::POST, INBOX);
    sign_cavage(&mut p, Some(BODY), KEY_ID, &key().0, now()).unwrap();
    p
}

/// Signs `p` with draft-cavage over exactly `headers` (and `algorithm`).
fn sign_custom(p: &mut http::request::Parts, headers: &[&str], algorithm: Option<&str>) {
    let sig = CavageSignature {
        key_id: KEY_ID.to_owned(),
        algorithm: None,
        headers: headers.iter().map(|h| (*h).to_owned()).collect(),
        signature: Vec::new(),
        created: None,
        expires: None,
    };
    let base = cavage::signing_string(&sig, &p.method, &p.uri, &p.headers).unwrap();
    let signature = STANDARD.encode(key().0.sign_rsa_sha256(&base).unwrap());
    let alg = algorithm.map_or(String::new(), |a| format!("algorithm=\"{a}\","));
    let value = format!(
        "keyId=\"{KEY_ID}\",{alg}headers=\"{}\",signature=\"{signature}\"",
        headers.join(" ")
    );
    p.headers.insert("signature", value.parse().unwrap());
}

/// A POST with Host, Date and Digest set, not yet signed.
fn unsigned_post() -> http::request::Parts {
    let mut p = parts(Method::POST, INBOX);
    p.headers
        .insert("host", HeaderValue::from_static("local.example"));
    let date = httpdate::fmt_http_date(now());
    p.headers.insert("date", date.parse().unwrap());
    let d = digest::digest_header_value(BODY);
    p.headers.insert("digest", d.parse().unwrap());
    p
}

#[test]
fn cavage_post_round_trip() {
    let p = signed_post();
    let signature = p.headers["signature"].to_str().unwrap();
    assert!(signature.starts_with(&format!("keyId=\"{KEY_ID}\",algorithm=\"rsa-sha256\",headers=\"(request-target) host date digest\",signature=\"")));
    assert_eq!(p.headers["host"], "local.example");
    assert_eq!(p.headers["date"], "Tue, 14 Nov 2023 22:13:20 GMT");
    let pending = check(&p, Some(BODY)).unwrap();
    assert_eq!(pending.key_id, KEY_ID);
    assert_eq!(pending.scheme, Scheme::Cavage);
    assert_eq!(pending.signed_at, 1_700_000_000);
    assert!(
        String::from_utf8_lossy(pending.signed_bytes())
            .starts_with("(request-target): post /users/bob/inbox\nhost: local.example\n")
    );
    pending.verify(&key().1).unwrap();
}

#[test]
fn cavage_get_round_trip_signs_accept() {
    let mut p = parts(Method::GET, "https://local.example:8443/users/bob?page=1");
    sign_cavage(&mut p, None, KEY_ID, &key().0, now()).unwrap();
    assert!(
        p.headers["signature"]
            .to_str()
            .unwrap()
            .contains("headers=\"(request-target) host date accept\"")
    );
    assert_eq!(p.headers["host"], "local.example:8443");
    let pending = check(&p, None).unwrap();
    assert!(
        String::from_utf8_lossy(pending.signed_bytes())
            .starts_with("(request-target): get /users/bob?page=1\n")
    );
    pending.verify(&key().1).unwrap();
}

#[test]
fn cavage_in_authorization_header_and_hs2019() {
    let mut p = signed_post();
    let value = p.headers.remove("signature").unwrap();
    let mut auth = b"Signature ".to_vec();
    auth.extend_from_slice(value.as_bytes());
    p.headers
        .insert("authorization", HeaderValue::from_bytes(&auth).unwrap());
    full_check(&p, Some(BODY)).unwrap();

    let mut p = unsigned_post();
    sign_custom(
        &mut p,
        &["(request-target)", "host", "date", "digest"],
        Some("hs2019"),
    );
    full_check(&p, Some(BODY)).unwrap();
}

#[test]
fn host_header_falls_back_to_uri_authority() {
    // HTTP/2 requests carry :authority, not Host.
    let mut p = signed_post();
    p.headers.remove("host");
    full_check(&p, Some(BODY)).unwrap();
}

#[test]
fn unsigned_is_refused() {
    let p = unsigned_post();
    assert_eq!(check(&p, Some(BODY)), Err(SignatureError::Unsigned));
}

#[test]
fn wrong_key_is_refused() {
    let other = PrivateKey::from_pem(
        serde_json::from_str::<serde_json::Value>(include_str!(
            "../testdata/rfc9421-appendix-b.json"
        ))
        .unwrap()["keys"]["test-key-rsa"]["privateKeyPem"]
            .as_str()
            .unwrap(),
    )
    .unwrap()
    .public_key()
    .unwrap();
    let pending = check(&signed_post(), Some(BODY)).unwrap();
    assert_eq!(pending.verify(&other), Err(SignatureError::BadSignature));
    let ed = PublicKey::from_pem(
        "-----BEGIN PUBLIC KEY-----\r\nMCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=\r\n-----END PUBLIC KEY-----\r\n",
    )
    .unwrap();
    assert!(matches!(
        pending.verify(&ed),
        Err(SignatureError::AlgorithmKeyMismatch { .. })
    ));
}

#[test]
fn clock_window() {
    // Signed at now(); checked at other times. Date 66 min old / 61 min ahead.
    let p = signed_post();
    let at = |t| verify_request(&p.method, &p.uri, &p.headers, Some(BODY), t);
    assert_eq!(
        at(now() + secs(66 * 60)),
        Err(SignatureError::Expired {
            signed_at: 1_700_000_000,
            now: 1_700_003_960
        })
    );
    assert_eq!(
        at(now() - secs(61 * 60)),
        Err(SignatureError::FromTheFuture {
            signed_at: 1_700_000_000,
            now: 1_699_996_340
        })
    );
    at(now() + secs(64 * 60)).unwrap().verify(&key().1).unwrap();
    at(now() - secs(59 * 60)).unwrap().verify(&key().1).unwrap();
    // `expires` can extend validity up to 12 hours (plus the skew), no more.
    assert_eq!(
        crate::signatures::check_clock(0, Some(13 * 3600), 13 * 3600),
        Ok(())
    );
    assert!(crate::signatures::check_clock(0, Some(99 * 3600), 13 * 3600 + 1).is_err());
    assert!(crate::signatures::check_clock(0, Some(10), 3611).is_err());
}

#[test]
fn missing_or_unsigned_date_is_refused() {
    let mut p = signed_post();
    p.headers.remove("date");
    assert_eq!(
        check(&p, Some(BODY)),
        Err(SignatureError::MissingHeader("date".to_owned()))
    );
    let mut p = unsigned_post();
    sign_custom(&mut p, &["(request-target)", "host", "digest"], None);
    assert_eq!(
        check(&p, Some(BODY)),
        Err(SignatureError::MustBeSigned("date"))
    );
    let mut p = unsigned_post();
    p.headers
        .insert("date", HeaderValue::from_static("yesterday"));
    sign_custom(
        &mut p,
        &["(request-target)", "host", "date", "digest"],
        None,
    );
    assert!(matches!(
        check(&p, Some(BODY)),
        Err(SignatureError::InvalidDate(_))
    ));
}

#[test]
fn body_changed_after_signing_is_refused() {
    let p = signed_post();
    assert_eq!(
        check(&p, Some(b"{\"type\":\"Delete\"}")),
        Err(SignatureError::DigestMismatch {
            header: "Digest",
            algorithm: "SHA-256"
        })
    );
    // Same body, Digest header replaced after signing: the signature breaks.
    let mut p = signed_post();
    let other = b"{}";
    p.headers.insert(
        "digest",
        digest::digest_header_value(other).parse().unwrap(),
    );
    assert_eq!(
        full_check(&p, Some(other)),
        Err(SignatureError::BadSignature)
    );
}

#[test]
fn digest_missing_or_unsigned_on_post_is_refused() {
    let mut p = unsigned_post();
    sign_custom(&mut p, &["(request-target)", "host", "date"], None);
    assert_eq!(
        check(&p, Some(BODY)),
        Err(SignatureError::MustBeSigned("digest"))
    );
    p.headers.remove("digest");
    assert_eq!(
        check(&p, Some(BODY)),
        Err(SignatureError::MissingDigest("Digest"))
    );
    let mut p = signed_post();
    p.headers.remove("digest");
    assert_eq!(
        check(&p, Some(BODY)),
        Err(SignatureError::MissingHeader("digest".to_owned()))
    );
}

#[test]
fn host_unsigned_on_get_is_refused() {
    let mut p = parts(Method::GET, INBOX);
    p.headers
        .insert("host", HeaderValue::from_static("local.example"));
    p.headers
        .insert("date", httpdate::fmt_http_date(now()).parse().unwrap());
    sign_custom(&mut p, &["(request-target)", "date", "accept"], None);
    assert_eq!(check(&p, None), Err(SignatureError::MustBeSigned("host")));
}

#[test]
fn request_target_unsigned_is_refused() {
    let mut p = unsigned_post();
    sign_custom(&mut p, &["host", "date", "digest"], None);
    assert_eq!(
        check(&p, Some(BODY)),
        Err(SignatureError::MustBeSigned("(request-target)"))
    );
}

#[test]
fn another_path_is_refused() {
    let p = signed_post();
    let other: Uri = "https://local.example/inbox".parse().unwrap();
    let pending = verify_request(&p.method, &other, &p.headers, Some(BODY), now()).unwrap();
    assert_eq!(pending.verify(&key().1), Err(SignatureError::BadSignature));
}

#[test]
fn unsupported_algorithms_are_refused() {
    for alg in ["rsa-sha512", "hmac-sha256", "ecdsa-sha256", "ed25519"] {
        let mut p = unsigned_post();
        sign_custom(
            &mut p,
            &["(request-target)", "host", "date", "digest"],
            Some(alg),
        );
        assert_eq!(
            check(&p, Some(BODY)),
            Err(SignatureError::UnsupportedAlgorithm(alg.to_owned()))
        );
    }
}

#[test]
fn malformed_signature_headers_are_refused() {
    type Expect = fn(&SignatureError) -> bool;
    let cases: &[(&str, Expect)] = &[
        ("keyId=\"a\",signature=\"", |e| {
            matches!(e, SignatureError::Malformed { .. })
        }),
        ("keyId=\"a\" signature=\"AA==\"", |e| {
            matches!(e, SignatureError::Malformed { .. })
        }),
        ("keyId=\"a\",signature=\"%%%\"", |e| {
            matches!(e, SignatureError::Malformed { .. })
        }),
        ("keyId=\"a\",keyid=\"b\",signature=\"AA==\"", |e| {
            *e == SignatureError::DuplicateParameter("keyid".to_owned())
        }),
        ("keyId=\"a\",signature=\"\"", |e| {
            *e == SignatureError::EmptySignature
        }),
        ("signature=\"AA==\"", |e| {
            *e == SignatureError::MissingParameter("keyId")
        }),
        ("keyId=\"a\"", |e| {
            *e == SignatureError::MissingParameter("signature")
        }),
        ("keyId=\"a\",signature=\"AA==\",created=soon", |e| {
            matches!(e, SignatureError::InvalidDate(_))
        }),
    ];
    for (value, expected) in cases {
        let err = cavage::parse_signature_header(value.as_bytes()).unwrap_err();
        assert!(expected(&err), "{value}: {err}");
    }
    // Unknown but well-formed parameters are ignored.
    let sig = cavage::parse_signature_header(b"keyId=\"a\", foo=bar ,signature=\"AA==\"").unwrap();
    assert_eq!(sig.signature, [0]);
    // 10 KB.
    let long = format!("keyId=\"{}\",signature=\"AA==\"", "a".repeat(10_000));
    let mut p = unsigned_post();
    p.headers.insert("signature", long.parse().unwrap());
    assert_eq!(
        check(&p, Some(BODY)),
        Err(SignatureError::TooLong {
            what: "Signature header",
            len: long.len(),
            limit: 8192
        })
    );
}

#[test]
fn request_target_without_query_is_accepted_for_old_mastodon() {
    let uri = "https://local.example/users/bob/outbox?page=true";
    let mut p = parts(Method::GET, uri);
    p.headers
        .insert("host", HeaderValue::from_static("local.example"));
    p.headers
        .insert("date", httpdate::fmt_http_date(now()).parse().unwrap());
    // Sign as if the URI had no query.
    let mut bare = parts(Method::GET, "https://local.example/users/bob/outbox");
    bare.headers = p.headers.clone();
    sign_custom(
        &mut bare,
        &["(request-target)", "host", "date"],
        Some("rsa-sha256"),
    );
    p.headers = bare.headers;
    full_check(&p, None).unwrap();
    // But not another path.
    let other: Uri = "https://local.example/users/eve/outbox?page=true"
        .parse()
        .unwrap();
    let pending = verify_request(&p.method, &other, &p.headers, None, now()).unwrap();
    assert_eq!(pending.verify(&key().1), Err(SignatureError::BadSignature));
}

#[test]
fn created_pseudo_header_with_hs2019() {
    let mut p = parts(Method::POST, INBOX);
    p.headers
        .insert("host", HeaderValue::from_static("local.example"));
    let d = digest::digest_header_value(BODY);
    p.headers.insert("digest", d.parse().unwrap());
    let sig = CavageSignature {
        key_id: KEY_ID.to_owned(),
        algorithm: Some("hs2019".to_owned()),
        headers: ["(request-target)", "(created)", "host", "digest"]
            .map(str::to_owned)
            .to_vec(),
        signature: Vec::new(),
        created: Some(1_700_000_000),
        expires: None,
    };
    let base = cavage::signing_string(&sig, &p.method, &p.uri, &p.headers).unwrap();
    let signature = STANDARD.encode(key().0.sign_rsa_sha256(&base).unwrap());
    let header = |alg: &str| {
        format!(
            "keyId=\"{KEY_ID}\",algorithm=\"{alg}\",created=1700000000,headers=\"(request-target) (created) host digest\",signature=\"{signature}\""
        )
    };
    p.headers
        .insert("signature", header("hs2019").parse().unwrap());
    let pending = check(&p, Some(BODY)).unwrap();
    assert_eq!(pending.signed_at, 1_700_000_000);
    pending.verify(&key().1).unwrap();
    // (created) is not allowed with rsa-sha256.
    p.headers
        .insert("signature", header("rsa-sha256").parse().unwrap());
    assert!(matches!(
        check(&p, Some(BODY)),
        Err(SignatureError::Malformed { .. })
    ));
    // Without `headers`, hs2019 means (created), which then must be present.
    let parsed = cavage::parse_signature_header(b"keyId=\"k\",signature=\"AA==\"").unwrap();
    assert_eq!(parsed.headers, ["(created)"]);
}
