//! Published vectors: draft-cavage-12 Appendix C and RFC 9421 Appendix B.

use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::Method;
use serde_json::Value;

use super::parse_message;
use crate::signatures::keys::Algorithm;
use crate::signatures::{
    PrivateKey, PublicKey, Scheme, SignatureError, cavage, digest, rfc9421, verify_request,
};

fn cavage_fixture() -> Value {
    serde_json::from_str(include_str!("../testdata/draft-cavage-12-appendix-c.json")).unwrap()
}

fn rfc9421_fixture() -> Value {
    serde_json::from_str(include_str!("../testdata/rfc9421-appendix-b.json")).unwrap()
}

fn case<'a>(fixture: &'a Value, field: &str, section: &str) -> &'a Value {
    fixture["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c[field].as_str().unwrap().starts_with(section))
        .unwrap()
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap()
}

#[test]
fn cavage_key_is_1024_bits_and_refused_in_production() {
    let f = cavage_fixture();
    assert_eq!(
        PublicKey::from_pem(s(&f["publicKeyPem"])),
        Err(SignatureError::KeySize(1024))
    );
    assert!(matches!(
        PrivateKey::from_pem(s(&f["privateKeyPem"])),
        Err(SignatureError::InvalidKey(_))
    ));
    assert!(PublicKey::from_pem_legacy(s(&f["publicKeyPem"])).is_ok());
}

#[test]
fn cavage_c1_default_test() {
    let f = cavage_fixture();
    let c = case(&f, "section", "C.1");
    let (method, uri, headers, _) = parse_message(s(&f["request"]));
    let sig = cavage::parse_signature_header(s(&c["signature_header"]).as_bytes()).unwrap();
    assert_eq!(sig.key_id, "Test");
    assert_eq!(sig.algorithm.as_deref(), Some("rsa-sha256"));
    assert_eq!(sig.headers, ["date"]);
    assert_eq!(STANDARD.encode(&sig.signature), s(&c["expected_signature"]));
    let base = cavage::signing_string(&sig, &method, &uri, &headers).unwrap();
    assert_eq!(base, s(&c["signing_string"]).as_bytes());
    let key = PublicKey::from_pem_legacy(s(&f["publicKeyPem"])).unwrap();
    key.verify(Algorithm::RsaPkcs1Sha256, &base, &sig.signature)
        .unwrap();
    assert_eq!(
        key.verify(Algorithm::RsaPkcs1Sha256, b"date: x", &sig.signature),
        Err(SignatureError::BadSignature)
    );
}

#[test]
fn cavage_c2_basic_test() {
    let f = cavage_fixture();
    let c = case(&f, "section", "C.2");
    let (method, uri, mut headers, body) = parse_message(s(&f["request"]));
    let authorization = s(&c["authorization_header"]);
    let sig = cavage::parse_signature_header(
        authorization.strip_prefix("Signature ").unwrap().as_bytes(),
    )
    .unwrap();
    assert_eq!(sig.headers, ["(request-target)", "host", "date"]);
    let base = cavage::signing_string(&sig, &method, &uri, &headers).unwrap();
    assert_eq!(base, s(&c["signing_string"]).as_bytes());
    let key = PublicKey::from_pem_legacy(s(&f["publicKeyPem"])).unwrap();
    key.verify(Algorithm::RsaPkcs1Sha256, &base, &sig.signature)
        .unwrap();
    assert_eq!(STANDARD.encode(&sig.signature), s(&c["expected_signature"]));

    // The body's Digest is right, but the draft's example does not sign it:
    // Mastodon (and we) refuse such a POST.
    digest::check_digest_header(headers["digest"].as_bytes(), &body).unwrap();
    headers.insert("authorization", authorization.parse().unwrap());
    let at = UNIX_EPOCH + Duration::from_secs(1_388_957_500);
    assert_eq!(
        verify_request(&method, &uri, &headers, Some(&body), at),
        Err(SignatureError::MustBeSigned("digest"))
    );
}

#[test]
fn cavage_c3_parses_but_printed_string_omits_created_and_expires() {
    let f = cavage_fixture();
    let c = case(&f, "section", "C.3");
    let (method, uri, headers, _) = parse_message(s(&f["request"]));
    let sig = cavage::parse_signature_header(s(&c["signature_header"]).as_bytes()).unwrap();
    assert_eq!(sig.created, Some(1_402_170_695));
    assert_eq!(sig.expires, Some(1_402_170_699));
    assert_eq!(sig.headers.len(), 8);
    let key = PublicKey::from_pem_legacy(s(&f["publicKeyPem"])).unwrap();
    // The signature is over the string as printed (see the fixture's notes)…
    let printed = s(&c["signing_string_as_printed"]).as_bytes();
    key.verify(Algorithm::RsaPkcs1Sha256, printed, &sig.signature)
        .unwrap();
    // …not over the one the draft describes, which we build.
    let base = cavage::signing_string(&sig, &method, &uri, &headers).unwrap();
    let text = String::from_utf8(base.clone()).unwrap();
    assert!(text.contains("\n(created): 1402170695\n(expires): 1402170699\n"));
    assert_eq!(
        key.verify(Algorithm::RsaPkcs1Sha256, &base, &sig.signature),
        Err(SignatureError::BadSignature)
    );
}

fn rfc_key(f: &Value, name: &str) -> PublicKey {
    PublicKey::from_pem(s(&f["keys"][name]["publicKeyPem"])).unwrap()
}

/// Checks the signature base of an RFC 9421 case and, when `algorithm` is
/// given, verifies the signature.
fn rfc9421_case(section: &str, algorithm: Option<Algorithm>) {
    let f = rfc9421_fixture();
    let c = case(&f, "rfc_section", section);
    let (method, uri, headers, _) = parse_message(s(&f["messages"]["request"]));
    let sigs = rfc9421::parse(
        s(&c["signature_input_header"]).as_bytes(),
        s(&c["signature_header"]).as_bytes(),
    )
    .unwrap();
    assert_eq!(sigs.len(), 1);
    let sig = &sigs[0];
    assert_eq!(sig.label, s(&c["label"]));
    assert_eq!(sig.key_id.as_deref(), Some(s(&c["keyid"])));
    assert_eq!(sig.created, Some(1_618_884_473));
    let base = rfc9421::signature_base(sig, &method, &uri, &headers).unwrap();
    assert_eq!(
        String::from_utf8(base.clone()).unwrap(),
        s(&c["expected_signature_base"])
    );
    if let Some(algorithm) = algorithm {
        let key = rfc_key(&f, s(&c["keyid"]));
        key.verify(algorithm, &base, &sig.signature).unwrap();
        let mut tampered = base.clone();
        tampered[0] ^= 1;
        assert_eq!(
            key.verify(algorithm, &tampered, &sig.signature),
            Err(SignatureError::BadSignature)
        );
    }
}

#[test]
fn rfc9421_b21_minimal_rsa_pss() {
    rfc9421_case("B.2.1", Some(Algorithm::RsaPssSha512));
}

#[test]
fn rfc9421_b23_full_coverage_rsa_pss() {
    rfc9421_case("B.2.3", Some(Algorithm::RsaPssSha512));
}

#[test]
fn rfc9421_b25_hmac_base_only() {
    // HMAC is never accepted (no shared secrets between servers), but the
    // base is built right.
    rfc9421_case("B.2.5", None);
}

#[test]
fn rfc9421_b26_ed25519() {
    rfc9421_case("B.2.6", Some(Algorithm::Ed25519));
}

#[test]
fn rfc9421_b22_query_param_and_b24_status_are_unsupported() {
    let f = rfc9421_fixture();
    let (method, uri, headers, _) = parse_message(s(&f["messages"]["request"]));
    for (section, component) in [
        ("B.2.2", "\"@query-param\";name=\"Pet\""),
        ("B.2.4", "@status"),
    ] {
        let c = case(&f, "rfc_section", section);
        let sigs = rfc9421::parse(
            s(&c["signature_input_header"]).as_bytes(),
            s(&c["signature_header"]).as_bytes(),
        )
        .unwrap();
        assert_eq!(
            rfc9421::signature_base(&sigs[0], &method, &uri, &headers),
            Err(SignatureError::UnsupportedComponent(component.to_owned()))
        );
    }
}

#[test]
fn rfc9421_vectors_fail_our_rules_for_their_own_reasons() {
    let f = rfc9421_fixture();
    let (method, uri, mut headers, body) = parse_message(s(&f["messages"]["request"]));
    let at = UNIX_EPOCH + Duration::from_secs(1_618_884_473);
    let c = case(&f, "rfc_section", "B.2.3");
    headers.insert(
        "signature-input",
        s(&c["signature_input_header"]).parse().unwrap(),
    );
    headers.insert("signature", s(&c["signature_header"]).parse().unwrap());
    // B.2.3 covers @method, @path + @authority (accepted instead of
    // @target-uri), created, and content-digest, which is right for the body:
    // every check without the key passes.
    let pending = verify_request(&method, &uri, &headers, Some(&body), at).unwrap();
    assert_eq!(pending.label.as_deref(), Some("sig-b23"));
    assert_eq!(pending.key_id, "test-key-rsa-pss");
    // Without `alg`, an RSA key means RSASSA-PKCS1-v1_5 (as Mastodon assumes),
    // so this RSA-PSS signature does not verify through the inbox path.
    let key = rfc_key(&f, "test-key-rsa-pss");
    assert_eq!(pending.verify(&key), Err(SignatureError::BadSignature));
    // An hour and six minutes later it has expired.
    assert!(matches!(
        verify_request(
            &method,
            &uri,
            &headers,
            Some(&body),
            at + Duration::from_secs(66 * 60)
        ),
        Err(SignatureError::Expired { .. })
    ));
    // B.2.6 does not cover content-digest.
    let c = case(&f, "rfc_section", "B.2.6");
    headers.insert(
        "signature-input",
        s(&c["signature_input_header"]).parse().unwrap(),
    );
    headers.insert("signature", s(&c["signature_header"]).parse().unwrap());
    assert_eq!(
        verify_request(&method, &uri, &headers, Some(&body), at),
        Err(SignatureError::MustBeSigned("content-digest"))
    );
    // Its Content-Digest is the body's SHA-512.
    digest::check_content_digest(headers["content-digest"].as_bytes(), &body).unwrap();
}

#[test]
fn rfc9421_keys_parse() {
    let f = rfc9421_fixture();
    // PKCS#1 public key (BEGIN RSA PUBLIC KEY), PKCS#1 private key.
    let public = rfc_key(&f, "test-key-rsa");
    let private = PrivateKey::from_pem(s(&f["keys"]["test-key-rsa"]["privateKeyPem"])).unwrap();
    assert_eq!(private.public_key().unwrap(), public);
    assert!(public.is_rsa());
    assert_eq!(rfc_key(&f, "test-key-ed25519").kind_name(), "Ed25519");
    // P-256 keys are not accepted.
    assert!(matches!(
        PublicKey::from_pem(s(&f["keys"]["test-key-ecc-p256"]["publicKeyPem"])),
        Err(SignatureError::InvalidKey(_))
    ));
}

#[test]
fn rfc9421_pkcs1_key_signs_and_verifies() {
    // What Mastodon stores (PKCS#1 PEM) signs a request we then accept.
    let f = rfc9421_fixture();
    let private = PrivateKey::from_pem(s(&f["keys"]["test-key-rsa"]["privateKeyPem"])).unwrap();
    let public = rfc_key(&f, "test-key-rsa");
    let mut parts = super::parts(Method::POST, super::INBOX);
    crate::signatures::sign_rfc9421(
        &mut parts,
        Some(super::BODY),
        super::KEY_ID,
        &private,
        super::now(),
    )
    .unwrap();
    let pending = verify_request(
        &parts.method,
        &parts.uri,
        &parts.headers,
        Some(super::BODY),
        super::now(),
    )
    .unwrap();
    assert_eq!(pending.scheme, Scheme::Rfc9421);
    pending.verify(&public).unwrap();
}
