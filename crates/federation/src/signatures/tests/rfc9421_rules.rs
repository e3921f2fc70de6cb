//! RFC 9421: sign → verify round trips, the Fedify form, refusals, structured fields.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderValue, Method, Uri};

use super::{BODY, INBOX, KEY_ID, check, full_check, key, now, parts};
use crate::signatures::{
    Scheme, SignatureError, digest, rfc9421, sign_cavage, sign_rfc9421, verify_request,
};

fn signed_9421(method: Method, body: Option<&[u8]>) -> http::request::Parts {
    let mut p = parts(method, INBOX);
    sign_rfc9421(&mut p, body, KEY_ID, &key().0, now()).unwrap();
    p
}

#[test]
fn rfc9421_round_trips() {
    let p = signed_9421(Method::POST, Some(BODY));
    assert_eq!(
        p.headers["signature-input"],
        format!(
            "sig1=(\"@method\" \"@target-uri\" \"@authority\" \"date\" \"content-digest\");created=1700000000;keyid=\"{KEY_ID}\";alg=\"rsa-v1_5-sha256\""
        )
    );
    let pending = check(&p, Some(BODY)).unwrap();
    assert_eq!(pending.scheme, Scheme::Rfc9421);
    assert_eq!(pending.label.as_deref(), Some("sig1"));
    assert_eq!(pending.key_id, KEY_ID);
    pending.verify(&key().1).unwrap();

    let p = signed_9421(Method::GET, None);
    full_check(&p, None).unwrap();
}

#[test]
fn rfc9421_fedify_form_is_accepted() {
    let mut p = parts(Method::POST, INBOX);
    p.headers
        .insert("host", HeaderValue::from_static("local.example"));
    p.headers
        .insert("date", httpdate::fmt_http_date(now()).parse().unwrap());
    let cd = digest::content_digest_header_value(BODY);
    p.headers.insert("content-digest", cd.parse().unwrap());
    let input = format!(
        "sig1=(\"@method\" \"@target-uri\" \"@authority\" \"host\" \"date\" \"content-digest\");alg=\"rsa-v1_5-sha256\";keyid=\"{KEY_ID}\";created=1700000000"
    );
    let sig = &rfc9421::parse(input.as_bytes(), b"sig1=:AA==:").unwrap()[0];
    let base = rfc9421::signature_base(sig, &p.method, &p.uri, &p.headers).unwrap();
    assert!(String::from_utf8_lossy(&base).starts_with(
        "\"@method\": POST\n\"@target-uri\": https://local.example/users/bob/inbox\n\"@authority\": local.example\n\"host\": local.example\n"
    ));
    let signature = STANDARD.encode(key().0.sign_rsa_sha256(&base).unwrap());
    p.headers.insert("signature-input", input.parse().unwrap());
    p.headers
        .insert("signature", format!("sig1=:{signature}:").parse().unwrap());
    full_check(&p, Some(BODY)).unwrap();
}

#[test]
fn rfc9421_bad_content_digest_is_refused() {
    let p = signed_9421(Method::POST, Some(BODY));
    assert_eq!(
        check(&p, Some(b"{}")),
        Err(SignatureError::DigestMismatch {
            header: "Content-Digest",
            algorithm: "sha-256"
        })
    );
    let mut p = signed_9421(Method::POST, Some(BODY));
    p.headers
        .insert("content-digest", HeaderValue::from_static("sha-256=AAAA"));
    assert!(matches!(
        check(&p, Some(BODY)),
        Err(SignatureError::Malformed { .. })
    ));
}

/// Replaces the `Signature-Input` header text.
fn edit_input(p: &mut http::request::Parts, from: &str, to: &str) {
    let input = p.headers["signature-input"]
        .to_str()
        .unwrap()
        .replace(from, to);
    p.headers.insert("signature-input", input.parse().unwrap());
}

#[test]
fn rfc9421_refusals() {
    let mut p = signed_9421(Method::POST, Some(BODY));
    edit_input(&mut p, ";created=1700000000", "");
    assert_eq!(
        check(&p, Some(BODY)),
        Err(SignatureError::MissingParameter("created"))
    );

    let mut p = signed_9421(Method::POST, Some(BODY));
    edit_input(&mut p, "\"@method\" ", "");
    assert_eq!(
        check(&p, Some(BODY)),
        Err(SignatureError::MustBeSigned("@method"))
    );

    let mut p = signed_9421(Method::POST, Some(BODY));
    edit_input(&mut p, "\"@target-uri\" ", "");
    assert_eq!(
        check(&p, Some(BODY)),
        Err(SignatureError::MustBeSigned("@target-uri"))
    );

    let mut p = signed_9421(Method::POST, Some(BODY));
    edit_input(&mut p, " \"content-digest\"", "");
    assert_eq!(
        check(&p, Some(BODY)),
        Err(SignatureError::MustBeSigned("content-digest"))
    );

    let mut p = signed_9421(Method::POST, Some(BODY));
    edit_input(&mut p, "rsa-v1_5-sha256", "hmac-sha256");
    assert_eq!(
        check(&p, Some(BODY)),
        Err(SignatureError::UnsupportedAlgorithm(
            "hmac-sha256".to_owned()
        ))
    );

    let mut p = signed_9421(Method::POST, Some(BODY));
    edit_input(&mut p, "created=1700000000", "created=1699996000");
    assert!(matches!(
        check(&p, Some(BODY)),
        Err(SignatureError::Expired { .. })
    ));

    // Tampered parameters break the signature.
    let mut p = signed_9421(Method::POST, Some(BODY));
    edit_input(&mut p, "created=1700000000", "created=1700000001");
    assert_eq!(
        full_check(&p, Some(BODY)),
        Err(SignatureError::BadSignature)
    );

    let mut p = signed_9421(Method::POST, Some(BODY));
    p.headers
        .insert("signature", HeaderValue::from_static("other=:AA==:"));
    assert!(matches!(
        check(&p, Some(BODY)),
        Err(SignatureError::Malformed { .. })
    ));
}

#[test]
fn rfc9421_first_acceptable_label_is_used() {
    let mut p = signed_9421(Method::POST, Some(BODY));
    let input = p.headers["signature-input"].to_str().unwrap().to_owned();
    let sig = p.headers["signature"].to_str().unwrap().to_owned();
    let both_input = format!("old=(\"@method\");keyid=\"x\", {input}");
    p.headers
        .insert("signature-input", both_input.parse().unwrap());
    p.headers
        .insert("signature", format!("old=:AA==:, {sig}").parse().unwrap());
    let pending = check(&p, Some(BODY)).unwrap();
    assert_eq!(pending.label.as_deref(), Some("sig1"));
    pending.verify(&key().1).unwrap();
    // When none passes, the first one's reason is given.
    edit_input(&mut p, ";created=1700000000", "");
    assert_eq!(
        check(&p, Some(BODY)),
        Err(SignatureError::MissingParameter("created"))
    );
}

#[test]
fn structured_field_serialisation_is_canonical() {
    let input = "sig1=(  \"@method\"   \"x\";bs );alg=\"a\\\\b\";z=1.500;y=?1;created=1, sig2=()";
    let sigs = rfc9421::parse(input.as_bytes(), b"sig1=:AA==:, sig2=:AQ:").unwrap();
    assert_eq!(
        sigs[0].signature_params,
        "(\"@method\" \"x\";bs);alg=\"a\\\\b\";z=1.5;y;created=1"
    );
    assert_eq!(sigs[0].alg.as_deref(), Some("a\\b"));
    assert_eq!(sigs[1].signature, [1]);
    for bad in [
        "sig1=(\"a\"",
        "sig1=(\"a\"\"b\")",
        "sig1=(a)",
        "Sig1=()",
        "sig1=(),",
        "sig1=();created=\"1\"",
        "sig1=();created=1234567890123456",
        "sig1=\"not a list\"",
    ] {
        assert!(
            matches!(
                rfc9421::parse(bad.as_bytes(), b"sig1=:AA==:"),
                Err(SignatureError::Malformed { .. })
            ),
            "{bad}"
        );
    }
}

#[test]
fn rfc9421_needs_an_absolute_uri() {
    let p = signed_9421(Method::POST, Some(BODY));
    let relative: Uri = "/users/bob/inbox".parse().unwrap();
    assert!(matches!(
        verify_request(&p.method, &relative, &p.headers, Some(BODY), now()),
        Err(SignatureError::Malformed {
            what: "request URI",
            ..
        })
    ));
    let mut p = parts(Method::POST, "/users/bob/inbox");
    assert!(matches!(
        sign_rfc9421(&mut p, Some(BODY), KEY_ID, &key().0, now()),
        Err(SignatureError::CannotSign(_))
    ));
    assert!(matches!(
        sign_cavage(&mut p, Some(BODY), KEY_ID, &key().0, now()),
        Err(SignatureError::CannotSign(_))
    ));
}
