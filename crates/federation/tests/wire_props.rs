//! Property tests: no input makes the parsers or the sanitiser panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ferrodon_federation::{sanitize, wire};
use proptest::prelude::*;

/// JSON-ish text: fragments of real payload shapes glued at random, so the
/// parsers get past the first byte more often than with arbitrary bytes.
fn jsonish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("{".to_string()),
        Just("}".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just(",".to_string()),
        Just(":".to_string()),
        Just("null".to_string()),
        Just("true".to_string()),
        Just("-1e999".to_string()),
        Just("18446744073709551616".to_string()),
        Just(r#""type":"Create""#.to_string()),
        Just(r#""type":"Note""#.to_string()),
        Just(r#""type":"Person""#.to_string()),
        Just(r#""type":"Question""#.to_string()),
        Just(r#""type":"OrderedCollection""#.to_string()),
        Just(r#""actor":"https://a.example/u""#.to_string()),
        Just(r#""id":"https://a.example/1""#.to_string()),
        Just(r#""object""#.to_string()),
        Just(r#""tag""#.to_string()),
        Just(r#""attachment""#.to_string()),
        Just(r#""oneOf""#.to_string()),
        Just(r#""contentMap""#.to_string()),
        Just(r#""publicKey""#.to_string()),
        Just(r#""icon""#.to_string()),
        Just(r#""url""#.to_string()),
        Just(r#""focalPoint":[1e308,-1e308]"#.to_string()),
        Just(r#""closed":"2019-09-19T00:32:36""#.to_string()),
        "\"[^\"\\\\]{0,12}\"",
    ];
    proptest::collection::vec(piece, 0..64).prop_map(|v| v.concat())
}

fn html() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("<p>".to_string()),
        Just("</p>".to_string()),
        Just("<a href=\"https://a.example/<h1>\">".to_string()),
        Just("<a href=\"javascript:x\">".to_string()),
        Just("</a>".to_string()),
        Just("<h2>".to_string()),
        Just("</h2>".to_string()),
        Just("<script>".to_string()),
        Just("<span class=\"h-card evil\">".to_string()),
        Just("<!--".to_string()),
        Just("-->".to_string()),
        Just("<img src=x onerror=y>".to_string()),
        Just("&amp;&lt;&#0;".to_string()),
        Just("\"".to_string()),
        "[^<>]{0,8}",
    ];
    proptest::collection::vec(piece, 0..48).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn parsers_never_panic_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = wire::parse_activity(&bytes);
        let _ = wire::parse_actor(&bytes);
        let _ = wire::parse_object(&bytes);
        let _ = wire::parse_collection(&bytes);
        let _ = wire::parse_item(&bytes);
        let _ = wire::parse_webfinger(&bytes);
        let _ = wire::parse_nodeinfo(&bytes);
    }

    #[test]
    fn parsers_never_panic_on_jsonish(s in jsonish()) {
        for body in [s.clone(), format!("{{{s}}}"), format!(r#"{{"type":"Create","actor":"https://a.example/u","object":{{{s}}}}}"#)] {
            let b = body.as_bytes();
            let _ = wire::parse_activity(b);
            let _ = wire::parse_actor(b);
            if let Ok(o) = wire::parse_object(b) {
                let _ = (o.content_html(), o.poll(), o.quote_uri(), o.attributed_to(), o.url());
                let _ = (o.mentions().count(), o.hashtags().count(), o.emojis().count());
                for a in &o.attachment {
                    let _ = (a.url(), a.alt(), a.focal_point());
                }
            }
            let _ = wire::parse_collection(b);
            let _ = wire::parse_item(b);
        }
    }

    #[test]
    fn sanitiser_never_panics(s in html()) {
        let out = sanitize::sanitize_html(&s);
        prop_assert!(!out.contains("<script"));
        prop_assert!(!out.contains("onerror"));
        prop_assert!(!out.contains("javascript:"));
        prop_assert!(!out.contains("evil"));
        let _ = sanitize::plain_text(&s);
    }

    #[test]
    fn sanitiser_never_panics_on_any_text(s in "\\PC{0,200}") {
        let _ = sanitize::sanitize_html(&s);
        let _ = sanitize::plain_text(&s);
    }
}
