//! Arbitrary input to every parser: errors, never panics.

use http::{HeaderMap, HeaderValue, Method, Uri};
use proptest::prelude::*;

use super::now;
use crate::signatures::{PublicKey, cavage, digest, rfc9421, verify_request};

/// Strings over the characters these grammars care about.
fn grammar_text() -> impl Strategy<Value = String> {
    let alphabet: Vec<char> = "aAzZ09=,;:\"()*?\\- \t.+/@_#keyIdsignaturecrehdxp"
        .chars()
        .collect();
    prop::collection::vec(prop::sample::select(alphabet), 0..300)
        .prop_map(|chars| chars.into_iter().collect())
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![grammar_text(), any::<String>()]
}

fn any_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..600)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn cavage_parser_never_panics(text in any_text(), bytes in any_bytes()) {
        let _ = cavage::parse_signature_header(text.as_bytes());
        let _ = cavage::parse_signature_header(&bytes);
        let prefixed = format!("keyId=\"k\",headers=\"{text}\",signature=\"AA==\"");
        let _ = cavage::parse_signature_header(prefixed.as_bytes());
    }

    #[test]
    fn rfc9421_parser_never_panics(a in any_text(), b in any_text(), bytes in any_bytes()) {
        let _ = rfc9421::parse(a.as_bytes(), b.as_bytes());
        let _ = rfc9421::parse(&bytes, b.as_bytes());
        let input = format!("sig1=({a});created=1;keyid=\"k\"");
        let _ = rfc9421::parse(input.as_bytes(), b"sig1=:AA==:");
    }

    #[test]
    fn digest_parsers_never_panic(text in any_text(), bytes in any_bytes(), body in any_bytes()) {
        let _ = digest::check_digest_header(text.as_bytes(), &body);
        let _ = digest::check_digest_header(&bytes, &body);
        let _ = digest::check_content_digest(text.as_bytes(), &body);
        let _ = digest::check_content_digest(&bytes, &body);
    }

    #[test]
    fn pem_parser_never_panics(text in any_text()) {
        let _ = PublicKey::from_pem(&text);
        let _ = PublicKey::from_pem(&format!("-----BEGIN PUBLIC KEY-----\n{text}\n-----END PUBLIC KEY-----"));
    }

    #[test]
    fn verify_request_never_panics(
        sig in any_text(),
        input in any_text(),
        date in any_text(),
        body in any_bytes(),
        use_input in any::<bool>(),
    ) {
        let mut headers = HeaderMap::new();
        for (name, value) in [("signature", &sig), ("date", &date)] {
            if let Ok(v) = HeaderValue::from_str(value) {
                headers.insert(name, v);
            }
        }
        if use_input && let Ok(v) = HeaderValue::from_str(&input) {
            headers.insert("signature-input", v);
        }
        for uri in ["https://local.example/inbox", "/inbox"] {
            let uri: Uri = uri.parse().unwrap();
            let result = verify_request(&Method::POST, &uri, &headers, Some(&body), now());
            prop_assert!(result.is_err());
            let _ = verify_request(&Method::GET, &uri, &headers, None, now());
        }
    }
}

/// Inner lists of component names with parameters, as signers write them.
fn inner_list() -> impl Strategy<Value = String> {
    let components = prop::sample::subsequence(
        vec![
            "\"@method\"",
            "\"@target-uri\"",
            "\"content-digest\"",
            "\"@query-param\";name=\"a\"",
            "\"x\";sf",
            "\"y\";key=\"k\";bs",
        ],
        0..=6,
    );
    let param = prop::sample::select(vec![
        ";created=1618884473",
        ";expires=-5",
        ";keyid=\"a \\\" b\"",
        ";alg=\"ed25519\"",
        ";nonce=\"n\"",
        ";tag=\"t\"",
        ";x=?0",
        ";y",
        ";z=1.50",
        ";w=tok/en:1",
        ";v=:AAE=:",
    ]);
    (components, prop::collection::vec(param, 0..6))
        .prop_map(|(c, p)| format!("({}){}", c.join(" "), p.concat()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// `@signature-params` is the inner list re-serialised: for canonical
    /// input that is the input itself (with parameters de-duplicated).
    #[test]
    fn signature_params_round_trip(list in inner_list()) {
        let input = format!("sig1={list}");
        let parsed = rfc9421::parse(input.as_bytes(), b"sig1=:AA==:");
        let sig = &parsed.unwrap()[0];
        let again = rfc9421::parse(format!("sig1={}", sig.signature_params).as_bytes(), b"sig1=:AA==:");
        prop_assert_eq!(&again.unwrap()[0].signature_params, &sig.signature_params);
    }
}
