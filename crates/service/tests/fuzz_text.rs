//! Property tests of the text formatter (`text`: links, mentions, hashtags,
//! paragraphs) and of the link-preview reader (`link_details`: its HTML
//! tokenizer, entity decoding, JSON-LD, charsets). Whatever the input: no
//! panic, well-nested HTML out of the formatter that shows exactly the text
//! that went in, output bounded by the input's size, and time linear in it
//! for inputs built to be quadratic (runs of `)`, `#`, `@`, attributes).
//!
//! Case counts are small so the whole file runs in seconds; raise
//! `PROPTEST_CASES` to search longer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use ferrodon_service::link_details;
use ferrodon_service::text::{self, MentionTarget};
use proptest::prelude::*;
use url::Url;

const DOMAIN: &str = "social.example";

fn tag_url(name: &str) -> String {
    format!("https://{DOMAIN}/tags/{name}")
}

/// Pieces status texts are made of: what starts links, mentions and tags,
/// what ends them, what must be escaped, line breaks and multi-byte text.
fn text_fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("https://".to_owned()),
        Just("http://".to_owned()),
        Just("www.".to_owned()),
        Just("example.com".to_owned()),
        Just("/path?q=1&r=2#frag".to_owned()),
        Just("://".to_owned()),
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just(".".to_owned()),
        Just(",".to_owned()),
        Just("!".to_owned()),
        Just("@".to_owned()),
        Just("@alice".to_owned()),
        Just("@bob@remote.example".to_owned()),
        Just(format!("@carol@{DOMAIN}")),
        Just("#".to_owned()),
        Just("#tag".to_owned()),
        Just("\u{FF03}".to_owned()),
        Just("_".to_owned()),
        Just("-".to_owned()),
        Just("=".to_owned()),
        Just(" ".to_owned()),
        Just("\n".to_owned()),
        Just("\n\n".to_owned()),
        Just("\r\n".to_owned()),
        Just("\r".to_owned()),
        Just("\t".to_owned()),
        Just("<".to_owned()),
        Just(">".to_owned()),
        Just("&".to_owned()),
        Just("&amp;".to_owned()),
        Just("&lt;".to_owned()),
        Just("\"".to_owned()),
        Just("'".to_owned()),
        Just("\u{00B7}".to_owned()),
        Just("\u{30FB}".to_owned()),
        Just("\u{200C}".to_owned()),
        Just("\u{a0}".to_owned()),
        Just("é".to_owned()),
        Just("日本".to_owned()),
        Just("😀".to_owned()),
        Just("\u{0}".to_owned()),
        "[a-zA-Z0-9]{1,5}",
        any::<char>().prop_map(String::from),
    ]
}

fn status_text() -> impl Strategy<Value = String> {
    prop::collection::vec(text_fragment(), 0..80).prop_map(|parts| parts.concat())
}

/// Checks that `html` is made of the formatter's elements only (`a`, `span`,
/// `p`, `br`), properly nested, with every `&` starting an entity the
/// escaper writes; returns the message of the first fault.
fn well_formed(html: &str) -> Result<(), String> {
    let mut stack: Vec<&str> = Vec::new();
    let mut rest = html;
    while let Some(lt) = rest.find(['<', '>', '&']) {
        let at = &rest[lt..];
        let shown: String = at.chars().take(40).collect();
        if at.starts_with('>') {
            return Err(format!("a stray `>` at {shown:?}"));
        }
        if let Some(after) = at.strip_prefix('&') {
            let ok = ["amp;", "lt;", "gt;", "quot;", "#39;"]
                .iter()
                .any(|e| after.starts_with(e));
            if !ok {
                return Err(format!("a bare `&` at {shown:?}"));
            }
            rest = after;
            continue;
        }
        let end = at.find('>').ok_or("an unclosed tag")?;
        let tag = &at[1..end];
        if tag.contains('<') {
            return Err(format!("`<` inside a tag: {tag:?}"));
        }
        if let Some(name) = tag.strip_prefix('/') {
            match stack.pop() {
                Some(open) if open == name => {}
                other => return Err(format!("</{name}> closes {other:?}")),
            }
        } else if tag == "br /" {
        } else {
            let name = tag.split(' ').next().unwrap_or("");
            if !["a", "span", "p"].contains(&name) {
                return Err(format!("unexpected element <{tag}>"));
            }
            // Attribute values are quoted and hold no quote.
            if !tag.matches('"').count().is_multiple_of(2) {
                return Err(format!("unbalanced quotes in <{tag}>"));
            }
            stack.push(name);
        }
        rest = &at[end + 1..];
    }
    if stack.is_empty() {
        Ok(())
    } else {
        Err(format!("unclosed elements {stack:?}"))
    }
}

/// Text without whitespace, with `＃` read as `#` (the formatter writes tags
/// with `#`) and line-break characters gone.
fn visible(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| if c == '\u{FF03}' { '#' } else { c })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    /// Rendering without known accounts: well-formed HTML whose text is the
    /// input's (whitespace aside), of bounded size.
    #[test]
    fn render_shows_the_text(t in status_text(), multiline in any::<bool>()) {
        let html = text::render(&t, DOMAIN, &[], tag_url, multiline);
        if let Err(e) = well_formed(&html) {
            prop_assert!(false, "{e}\ninput: {t:?}\noutput: {html}");
        }
        prop_assert!(html.len() <= 64 * t.len() + 64, "{} bytes from {}", html.len(), t.len());
        let shown = text::plain_text(&html);
        prop_assert_eq!(visible(&shown), visible(&t), "output: {}", html);
    }

    /// Rendering with accounts to link: well-formed and bounded.
    #[test]
    fn render_with_mentions(t in status_text(), multiline in any::<bool>()) {
        let accounts = [
            MentionTarget { username: "alice".into(), domain: None, url: format!("https://{DOMAIN}/@alice") },
            MentionTarget { username: "bob".into(), domain: Some("remote.example".into()), url: "https://remote.example/@bob\"<x>".into() },
            MentionTarget { username: "bob".into(), domain: None, url: format!("https://{DOMAIN}/@bob") },
        ];
        let html = text::render(&t, DOMAIN, &accounts, tag_url, multiline);
        if let Err(e) = well_formed(&html) {
            prop_assert!(false, "{e}\ninput: {t:?}\noutput: {html}");
        }
        prop_assert!(html.len() <= 64 * t.len() + 64);
    }

    /// What `extract` and `urls` find is in the text.
    #[test]
    fn extract_finds_what_is_written(t in status_text()) {
        let found = text::extract(&t, DOMAIN);
        for tag in &found.hashtags {
            prop_assert!(t.contains(tag.as_str()), "#{tag} not in {t:?}");
            prop_assert!(!text::normalize_hashtag(tag).is_empty());
        }
        for m in &found.mentions {
            let written = format!("@{}", m.username);
            prop_assert!(t.contains(&written), "{written} not in {t:?}");
            prop_assert!(m.domain.as_deref() != Some(DOMAIN));
        }
        for u in text::urls(&t, DOMAIN) {
            prop_assert!(t.contains(&u) && u.starts_with("http"), "{u:?} from {t:?}");
        }
    }

    /// `plain_text` of any string (also of HTML it did not write): bounded.
    #[test]
    fn plain_text_of_anything(s in ".{0,300}") {
        prop_assert!(text::plain_text(&s).len() <= s.len());
    }
}

/// HTML pieces: markup the tokenizer must skip or read, attributes in every
/// quoting, character references, JSON-LD, charsets.
fn html_fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("<".to_owned()),
        Just(">".to_owned()),
        Just("/".to_owned()),
        Just("</".to_owned()),
        Just("<!--".to_owned()),
        Just("-->".to_owned()),
        Just("<!DOCTYPE html>".to_owned()),
        Just("<?xml".to_owned()),
        Just("<html lang=".to_owned()),
        Just("<meta ".to_owned()),
        Just("<meta property=\"og:title\" content=\"".to_owned()),
        Just("<meta name=description content=".to_owned()),
        Just("<meta property='og:image' content='".to_owned()),
        Just("<meta name=\"twitter:player\" content=\"https://v.example/e\">".to_owned()),
        Just("<meta charset=".to_owned()),
        Just("<meta http-equiv=content-type content=\"text/html; charset=".to_owned()),
        Just("<link rel=canonical href=".to_owned()),
        Just("<a href=\"https://x.example/\" rel=tag class=\"u-url h-card\">".to_owned()),
        Just("<title>".to_owned()),
        Just("</title>".to_owned()),
        Just("<script>".to_owned()),
        Just("<script type=\"application/ld+json\">".to_owned()),
        Just("</script>".to_owned()),
        Just("<style>".to_owned()),
        Just("<textarea>".to_owned()),
        Just("{\"@type\":\"NewsArticle\",\"headline\":\"".to_owned()),
        Just("\"author\":[{\"name\":\"".to_owned()),
        Just("[".to_owned()),
        Just("{".to_owned()),
        Just("\"".to_owned()),
        Just("'".to_owned()),
        Just("=".to_owned()),
        Just(" ".to_owned()),
        Just("&".to_owned()),
        Just("&#".to_owned()),
        Just("&#x".to_owned()),
        Just("&#0;".to_owned()),
        Just("&#x110000;".to_owned()),
        Just("&#99999999999999999999;".to_owned()),
        Just("&amp;".to_owned()),
        Just("&nbsp".to_owned()),
        Just(";".to_owned()),
        Just("utf-16".to_owned()),
        Just("windows-1252".to_owned()),
        Just("https://news.example/a".to_owned()),
        Just("javascript:alert(1)".to_owned()),
        Just("//other.example/x".to_owned()),
        Just("2024-13-45T99:99:99Z".to_owned()),
        Just("é".to_owned()),
        Just("\u{0}".to_owned()),
        "[a-z0-9:]{1,6}",
        any::<char>().prop_map(String::from),
    ]
}

fn html_page() -> impl Strategy<Value = String> {
    prop::collection::vec(html_fragment(), 0..120).prop_map(|parts| parts.concat())
}

fn page_url() -> Url {
    Url::parse("https://news.example/story?id=1").unwrap()
}

/// Every text field of a card stays within a bound of the page's size.
fn card_bounded(d: &link_details::LinkDetails, len: usize) -> Result<(), TestCaseError> {
    let c = &d.data;
    let bound = 6 * len + 400;
    for (name, field) in [
        ("title", &c.title),
        ("description", &c.description),
        ("html", &c.html),
        ("author_name", &c.author_name),
        ("author_url", &c.author_url),
        ("provider_name", &c.provider_name),
        ("provider_url", &c.provider_url),
        ("image_description", &c.image_description),
        ("embed_url", &c.embed_url),
        ("canonical_url", &d.canonical_url),
    ] {
        prop_assert!(
            field.len() <= bound,
            "{name}: {} bytes from {len}",
            field.len()
        );
    }
    for u in [&c.image_url, &Some(d.canonical_url.clone())]
        .into_iter()
        .flatten()
    {
        let parsed = Url::parse(u);
        prop_assert!(
            parsed.is_ok_and(|u| matches!(u.scheme(), "http" | "https")),
            "{u}"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any page: a card of bounded size with http(s) URLs only.
    #[test]
    fn link_details_of_any_page(html in html_page()) {
        let d = link_details::extract(&page_url(), &html);
        card_bounded(&d, html.len())?;
        let links = link_details::status_links(&html, &[]);
        prop_assert!(links.iter().map(String::len).sum::<usize>() <= html.len());
    }

    /// Any bytes, with any declared charset: decoded text of bounded size.
    #[test]
    fn decode_any_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..400),
        prefix in html_page(),
        charset in prop::option::of(prop_oneof![Just("utf-8"), Just("utf-16le"), Just("shift_jis"), Just("bogus"), Just("")]),
    ) {
        let mut all = prefix.into_bytes();
        all.extend(bytes);
        let text = link_details::decode_page(&all, charset);
        prop_assert!(text.len() <= 3 * all.len() + 3);
        let d = link_details::extract(&page_url(), &text);
        card_bounded(&d, text.len())?;
    }
}

/// Runs `f` on its own thread and fails when it takes longer than a bound
/// far above linear time (milliseconds here) and far below what the
/// quadratic versions took (minutes to hours), without waiting for them.
fn timed(what: &str, f: impl FnOnce() + Send + 'static) {
    let (done, finished) = std::sync::mpsc::channel();
    let start = Instant::now();
    std::thread::spawn(move || {
        f();
        let _ = done.send(());
    });
    match finished.recv_timeout(Duration::from_secs(10)) {
        Ok(()) => eprintln!("{what}: {:?}", start.elapsed()),
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what} did not finish within 10 s")
        }
        Err(e) => panic!("{what} failed: {e}"),
    }
}

#[test]
fn inputs_built_to_be_quadratic_take_linear_time() {
    let n = 200_000;
    // A URL counts as 23 characters whatever its length, so a status may
    // carry one as long as the body limit.
    let parens = format!("see https://a.example/{}", ")".repeat(n));
    timed("a URL ending in `)`s", move || {
        let _ = text::render(&parens, DOMAIN, &[], tag_url, true);
    });
    let brackets = format!("https://a.example/{}", "]".repeat(n));
    timed("a URL ending in `]`s", move || {
        let _ = text::urls(&brackets, DOMAIN);
    });
    let urls_and_marks = format!(
        "{}{}",
        "https://a.example/x ".repeat(2_000),
        "@# ".repeat(n / 4)
    );
    timed("mentions and tags after many links", move || {
        let _ = text::extract(&urls_and_marks, DOMAIN);
    });
    let tags = "#a ".repeat(n / 4);
    timed("many tags", move || {
        let _ = text::extract(&tags, DOMAIN);
    });
    let distinct: String = (0..n / 8).map(|i| format!("#t{i} @u{i} ")).collect();
    timed("many distinct tags and mentions", move || {
        let found = text::extract(&distinct, DOMAIN);
        assert_eq!(found.hashtags.len(), n / 8);
        assert_eq!(found.mentions.len(), n / 8);
    });
    let attrs: String = (0..n / 4).map(|i| format!(" a{i}=1")).collect();
    let page = format!("<meta{attrs}><title>t</title>");
    timed("a tag with many attributes", move || {
        let d = link_details::extract(&page_url(), &page);
        assert_eq!(d.data.title, "t");
    });
    let metas = "<meta property=x content=y>".repeat(n / 10);
    timed("many meta elements", move || {
        let _ = link_details::extract(&page_url(), &metas);
    });
    let deep_json = format!(
        "<script type=application/ld+json>{}</script><title>t</title>",
        "[".repeat(n)
    );
    timed("deep JSON-LD", move || {
        let d = link_details::extract(&page_url(), &deep_json);
        assert_eq!(d.data.title, "t");
    });
    let entities = "&#x".repeat(n / 3);
    timed("broken character references", move || {
        let _ = link_details::extract(&page_url(), &format!("<title>{entities}</title>"));
    });
}
