//! Remote HTML reduced to what Mastodon keeps (`Sanitize::Config::MASTODON_STRICT`).
//!
//! Posts, bios and profile field values from other servers are HTML we did
//! not write. [`sanitize_html`] keeps the markup Mastodon keeps, and nothing
//! that can run, load or restyle:
//!
//! - elements `p br span a del s pre blockquote code b strong u i em ul ol
//!   li ruby rt rp`; headings `h1`–`h6` become `<p><strong>…</strong></p>`
//!   (as Mastodon); any other element is replaced by its text, except
//!   `script style iframe math noembed noframes noscript plaintext svg
//!   template textarea title xmp`, which go with their content;
//! - attributes `lang` (any element but headings), `a[href class
//!   translate]`, `span[class translate]`, `p[class]`, `ol[start reversed]`,
//!   `li[value]`; `translate` only as `"no"`, `start`/`value` only integers;
//! - classes only microformats (`h-* p-* u-* dt-* e-*`), `mention`,
//!   `hashtag`, `ellipsis`, `invisible`, `quote-inline`;
//! - links only with an absolute URL of scheme `http https dat dweb ipfs
//!   ipns ssb gopher xmpp magnet gemini`; any other link (`javascript:`,
//!   `data:`, relative, none) is replaced by its text; kept links get
//!   `rel="nofollow noopener"` and `target="_blank"`;
//! - comments removed.
//!
//! Mastodon's `<math>` handling (FEP-dc88: show the TeX annotation) is not
//! done: math is removed with its content.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use ammonia::{Builder, UrlRelative};

const ELEMENTS: &[&str] = &[
    "p",
    "br",
    "span",
    "a",
    "del",
    "s",
    "pre",
    "blockquote",
    "code",
    "b",
    "strong",
    "u",
    "i",
    "em",
    "ul",
    "ol",
    "li",
    "ruby",
    "rt",
    "rp",
];
const HEADINGS: &[&str] = &["h1", "h2", "h3", "h4", "h5", "h6"];
const DROPPED_WITH_CONTENT: &[&str] = &[
    "script",
    "style",
    "iframe",
    "math",
    "noembed",
    "noframes",
    "noscript",
    "plaintext",
    "svg",
    "template",
    "textarea",
    "title",
    "xmp",
];
/// Tags after which [`plain_text`] puts a space.
const BREAKS: &[(&str, &str)] = &[
    ("<br>", "<br> "),
    ("</p>", "</p> "),
    ("</li>", "</li> "),
    ("</blockquote>", "</blockquote> "),
    ("</pre>", "</pre> "),
];
/// Mastodon's `LINK_PROTOCOLS`.
pub const LINK_SCHEMES: &[&str] = &[
    "http", "https", "dat", "dweb", "ipfs", "ipns", "ssb", "gopher", "xmpp", "magnet", "gemini",
];

static STRICT: LazyLock<Builder<'static>> = LazyLock::new(|| {
    let mut b = Builder::default();
    b.tags(ELEMENTS.iter().chain(HEADINGS).copied().collect())
        .clean_content_tags(DROPPED_WITH_CONTENT.iter().copied().collect())
        .generic_attributes(HashSet::from(["lang"]))
        .tag_attributes(HashMap::from([
            ("a", HashSet::from(["href", "class", "translate"])),
            ("span", HashSet::from(["class", "translate"])),
            ("p", HashSet::from(["class"])),
            ("ol", HashSet::from(["start", "reversed"])),
            ("li", HashSet::from(["value"])),
        ]))
        .url_schemes(LINK_SCHEMES.iter().copied().collect())
        .url_relative(UrlRelative::Deny)
        .link_rel(Some("nofollow noopener"))
        .set_tag_attribute_value("a", "target", "_blank")
        .strip_comments(true)
        .attribute_filter(filter_attribute);
    b
});

static TEXT_ONLY: LazyLock<Builder<'static>> = LazyLock::new(|| {
    let mut b = Builder::default();
    b.tags(HashSet::new())
        .clean_content_tags(DROPPED_WITH_CONTENT.iter().copied().collect())
        .generic_attributes(HashSet::new())
        .tag_attributes(HashMap::new())
        .link_rel(None)
        .strip_comments(true);
    b
});

fn filter_attribute<'u>(element: &str, attribute: &str, value: &'u str) -> Option<Cow<'u, str>> {
    match attribute {
        "class" => {
            let kept: Vec<&str> = value
                .split(['\t', '\n', '\x0c', '\r', ' '])
                .filter(|c| allowed_class(c))
                .collect();
            (!kept.is_empty()).then(|| Cow::Owned(kept.join(" ")))
        }
        "translate" => (value == "no").then_some(Cow::Borrowed(value)),
        // The URL parser forgives surrounding blanks and controls; Mastodon
        // does not, and neither do we.
        "href" => (!value.starts_with(|c: char| c.is_whitespace() || c.is_control())
            && !value.ends_with(|c: char| c.is_whitespace() || c.is_control()))
        .then_some(Cow::Borrowed(value)),
        "lang" => (!HEADINGS.contains(&element)
            && !value.is_empty()
            && value.len() <= 35
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .then_some(Cow::Borrowed(value)),
        "start" | "value" => {
            let v = value.trim();
            v.parse::<i32>().ok().map(|_| Cow::Borrowed(v))
        }
        "reversed" => Some(Cow::Borrowed("")),
        _ => Some(Cow::Borrowed(value)),
    }
}

fn allowed_class(c: &str) -> bool {
    ["h-", "p-", "u-", "dt-", "e-"]
        .iter()
        .any(|p| c.starts_with(p))
        || matches!(
            c,
            "mention" | "hashtag" | "ellipsis" | "invisible" | "quote-inline"
        )
}

/// Remote HTML restricted to Mastodon's allow-list (see the module docs).
pub fn sanitize_html(html: &str) -> String {
    rewrite_tags(&STRICT.clean(html).to_string())
}

/// The text of remote HTML, for places that show no markup (display names,
/// field names, alt text, notification previews): tags removed (with the
/// content of `script`, `style` and the like; line breaks and paragraph
/// ends become spaces), entities decoded, runs of whitespace and control
/// characters collapsed to one space, trimmed.
/// The result is text, not HTML: escape it wherever it is put into HTML.
pub fn plain_text(html: &str) -> String {
    // Line breaks and block ends separate words; in sanitised HTML every
    // `<` outside an attribute value starts a tag, and attribute values
    // are dropped below, so plain replacement is enough.
    let mut spaced = sanitize_html(html);
    for (tag, with) in BREAKS {
        spaced = spaced.replace(tag, with);
    }
    let escaped = TEXT_ONLY.clean(&spaced).to_string();
    let decoded = escaped
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&");
    let mut out = String::with_capacity(decoded.len());
    for word in decoded.split(|c: char| c.is_whitespace() || c.is_control()) {
        if word.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Second pass over ammonia's output, which is well-formed: every `<` in
/// text is escaped, and attribute values are double-quoted with `"`
/// escaped, so a `<` outside quotes starts a tag. Headings become
/// `<p><strong>`, and links left without an `href` become their text
/// (markup inside them dropped too).
fn rewrite_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len() + 32);
    let mut rest = html;
    let mut in_dropped_link = false;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        rest = &rest[lt..];
        let Some(end) = tag_end(rest) else {
            break;
        };
        let (tag, after) = rest.split_at(end + 1);
        rest = after;
        if in_dropped_link {
            // Only the link's text survives, as with Mastodon.
            in_dropped_link = tag != "</a>";
        } else if let Some(h) = heading(tag) {
            out.push_str(if h { "</strong></p>" } else { "<p><strong>" });
        } else if (tag.starts_with("<a ") || tag == "<a>") && !tag.contains(" href=\"") {
            in_dropped_link = true;
        } else {
            out.push_str(tag);
        }
    }
    out.push_str(rest);
    out
}

/// The index of the `>` closing the tag that `s` starts with.
fn tag_end(s: &str) -> Option<usize> {
    let mut quoted = false;
    s.bytes().enumerate().find_map(|(i, b)| match b {
        b'"' => {
            quoted = !quoted;
            None
        }
        b'>' if !quoted => Some(i),
        _ => None,
    })
}

/// `Some(false)` for an opening heading tag, `Some(true)` for a closing one.
fn heading(tag: &str) -> Option<bool> {
    let (closing, name) = match tag.strip_prefix("</") {
        Some(n) => (true, n),
        None => (false, tag.strip_prefix('<')?),
    };
    let name = name.strip_suffix('>')?;
    HEADINGS.contains(&name).then_some(closing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_mastodon_markup() {
        let html = r#"<p>Hi <span class="h-card"><a href="https://a.example/@b" class="u-url mention">@<span>b</span></a></span> <a href="https://a.example/tags/x" class="mention hashtag" rel="tag">#<span>x</span></a></p>"#;
        assert_eq!(
            sanitize_html(html),
            r#"<p>Hi <span class="h-card"><a href="https://a.example/@b" class="u-url mention" target="_blank" rel="nofollow noopener">@<span>b</span></a></span> <a href="https://a.example/tags/x" class="mention hashtag" target="_blank" rel="nofollow noopener">#<span>x</span></a></p>"#
        );
    }

    #[test]
    fn removes_active_content() {
        let out = sanitize_html(
            r#"<p onclick="x()">a<script>alert(1)</script><style>p{}</style><iframe src="https://e.example"></iframe><img src=x onerror="alert(2)">b</p>"#,
        );
        assert_eq!(out, "<p>ab</p>");
    }

    #[test]
    fn unsafe_links_become_text() {
        for href in [
            "javascript:alert(1)",
            "data:text/html,x",
            "/relative",
            "vbscript:x",
        ] {
            let out = sanitize_html(&format!(r#"<p><a href="{href}">t</a></p>"#));
            assert_eq!(out, "<p>t</p>", "{href}");
        }
        assert_eq!(sanitize_html("<a>t</a> <a name=x>u</a>"), "t u");
        assert_eq!(
            sanitize_html(r#"<a><span class="invisible">x&amp;</span><br><span>y</span></a>"#),
            "x&amp;y"
        );
        assert_eq!(
            sanitize_html(r#"<a href="ftp://f">a&lt;a href="https://e.example"&gt;b</a>"#),
            r#"a&lt;a href="https://e.example"&gt;b"#
        );
        assert_eq!(sanitize_html(r#"<a href=" https://e.example">t</a>"#), "t");
        assert_eq!(sanitize_html("<a href=\"https://e.example\n\">t</a>"), "t");
    }

    #[test]
    fn ruby_kept() {
        let ruby = "<p><ruby>漢字 <rp>(</rp><rt>kanji</rt><rp>)</rp></ruby></p>";
        assert_eq!(sanitize_html(ruby), ruby);
    }

    #[test]
    fn other_schemes_kept() {
        let out = sanitize_html(r#"<a href="dweb:/a/b">d</a>"#);
        assert!(out.starts_with(r#"<a href="dweb:/a/b""#), "{out}");
        let out = sanitize_html(r#"<a href="gemini://g.example/">g</a>"#);
        assert!(out.starts_with(r#"<a href="gemini://g.example/""#), "{out}");
    }

    #[test]
    fn classes_filtered() {
        let out =
            sanitize_html(r#"<span class="invisible evil h-card">x</span><p class="nope">y</p>"#);
        assert_eq!(out, r#"<span class="invisible h-card">x</span><p>y</p>"#);
    }

    #[test]
    fn headings_and_unknown_elements() {
        assert_eq!(
            sanitize_html("<h1>T</h1><h6 lang=en>U</h6><table><tr><td>c</td></tr></table>"),
            "<p><strong>T</strong></p><p><strong>U</strong></p>c"
        );
    }

    #[test]
    fn lists_and_attributes() {
        assert_eq!(
            sanitize_html(
                r#"<ol start="3" reversed><li value="x">a</li><li value="5">b</li></ol>"#
            ),
            r#"<ol start="3" reversed=""><li>a</li><li value="5">b</li></ol>"#
        );
        assert_eq!(
            sanitize_html(
                r#"<span translate="yes">a</span><span translate="no" lang="fr">b</span>"#
            ),
            r#"<span>a</span><span translate="no" lang="fr">b</span>"#
        );
    }

    #[test]
    fn angle_brackets_in_href_do_not_confuse_the_rewrite() {
        let out = sanitize_html(r#"<a href="https://x.example/<h1>">l</a>"#);
        assert!(out.contains("https://x.example/"), "{out}");
        assert!(!out.contains("<strong>"), "{out}");
    }

    #[test]
    fn plain_text_strips_everything() {
        assert_eq!(
            plain_text("<b>Al</b>\n <script>x</script>&amp; <i>Bo</i> &lt;3"),
            "Al & Bo <3"
        );
        assert_eq!(plain_text("  "), "");
        assert_eq!(
            plain_text("<p>a<br>b</p><p>c</p><ul><li>d</li></ul>"),
            "a b c d"
        );
    }

    #[test]
    fn comments_math_and_raw_text_elements_go() {
        assert_eq!(
            sanitize_html(
                "a<!-- c --><math><mi>x</mi></math><textarea>t</textarea><title>u</title>b"
            ),
            "ab"
        );
        assert_eq!(
            sanitize_html("<svg><a href=\"https://x\">s</a></svg>z"),
            "z"
        );
        assert_eq!(sanitize_html("<p>x</p"), "<p>x</p>");
    }
}
