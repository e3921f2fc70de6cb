//! The sanitiser on the fixtures' real HTML.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use ferrodon_federation::sanitize::{plain_text, sanitize_html};
use ferrodon_federation::wire;

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/activitypub")
            .join(rel),
    )
    .unwrap()
}

#[test]
fn mastodon_post_keeps_mentions_and_links() {
    let o = wire::parse_object(&fixture("objects/mastodon-note-image-blurhash.json")).unwrap();
    let out = sanitize_html(o.content_html().unwrap());
    assert!(out.contains(r#"<span class="h-card" translate="no"><a href="https://lemmy.kde.social/c/kde" class="u-url mention" target="_blank" rel="nofollow noopener">@<span>kde@lemmy.kde.social</span></a></span>"#), "{out}");
    assert!(out.contains("We also need funding 💶"), "{out}");
    assert!(
        out.contains(r#"<a href="https://kde.org/donate/""#),
        "{out}"
    );
}

#[test]
fn fedibird_quote_inline_kept_data_attributes_dropped() {
    let o = wire::parse_object(&fixture("objects/fedibird-note-quoteuri.json")).unwrap();
    let out = sanitize_html(o.content_html().unwrap());
    assert!(out.contains(r#"<span class="quote-inline">"#), "{out}");
    assert!(!out.contains("data-status"), "{out}");
    assert!(!out.contains("status-url-link"), "{out}");
}

#[test]
fn misskey_and_lemmy_markup() {
    let a = wire::parse_actor(&fixture("actors/misskey-person.json")).unwrap();
    let out = sanitize_html(a.summary.as_deref().unwrap());
    assert!(
        out.starts_with("<p><span>Misskeyを開発している人<br><br></span>"),
        "{out}"
    );
    // Lemmy's <hr /> is not on the list: it goes, the text stays.
    let g = wire::parse_actor(&fixture("actors/lemmy-group.json")).unwrap();
    let out = sanitize_html(g.summary.as_deref().unwrap());
    assert!(!out.contains("<hr"), "{out}");
    assert!(out.contains("Lounge and recreation facility"), "{out}");
    let p = wire::parse_actor(&fixture("actors/lemmy-person.json")).unwrap();
    assert_eq!(
        sanitize_html(p.summary.as_deref().unwrap()).trim_end(),
        "<p>Captain of the starship <strong>Enterprise</strong>.</p>"
    );
}

#[test]
fn profile_field_values() {
    let a = wire::parse_actor(&fixture("actors/mastodon-person.json")).unwrap();
    let (_, value) = a.fields().find(|(n, _)| *n == "Patreon").unwrap();
    let out = sanitize_html(value);
    assert!(
        out.starts_with(r#"<a href="https://www.patreon.com/mastodon" rel="nofollow noopener" target="_blank" translate="no">"#)
            || out.contains(r#"translate="no""#),
        "{out}"
    );
    assert!(
        out.contains(r#"<span class="invisible">https://www.</span>"#),
        "{out}"
    );
}

#[test]
fn display_names_as_text() {
    let a = wire::parse_actor(&fixture("actors/pleroma-person.json")).unwrap();
    assert_eq!(
        plain_text(a.name.as_deref().unwrap()),
        "Haelwenn /элвэн/ :bzh:"
    );
    assert_eq!(plain_text("<b>a</b>\t<i>b</i><script>c</script>"), "a b");
}

#[test]
fn every_fixture_post_sanitises_without_losing_its_text() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/activitypub/objects");
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let Ok(o) = wire::parse_object(&std::fs::read(&p).unwrap()) else {
            continue;
        };
        let Some(html) = o.content_html() else {
            continue;
        };
        let out = sanitize_html(html);
        let squeeze = |s: &str| -> String { s.chars().filter(|c| !c.is_whitespace()).collect() };
        assert_eq!(
            squeeze(&plain_text(&out)),
            squeeze(&naive_text(html)),
            "{}",
            p.display()
        );
        assert!(!out.contains("<script"), "{}", p.display());
    }
}

/// Text outside `<…>`, with the few entities the fixtures use decoded.
fn naive_text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
