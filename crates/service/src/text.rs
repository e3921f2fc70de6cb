//! Plain text to HTML, as Mastodon renders a local status or profile note:
//! links, mentions and hashtags become anchors, everything else is escaped,
//! blank lines make paragraphs and single newlines `<br />`.

use std::sync::LazyLock;

use regex::Regex;
use unicode_normalization::UnicodeNormalization;

/// A mention as written: `@user` or `@user@domain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MentionRef {
    pub username: String,
    pub domain: Option<String>,
}

/// What a piece of text refers to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extracted {
    pub mentions: Vec<MentionRef>,
    /// Hashtags as written (without `#`), in order, duplicates removed by normalised name.
    pub hashtags: Vec<String>,
}

#[derive(Debug, Clone)]
enum Entity {
    Url(String),
    Mention(MentionRef, String),
    Hashtag(String),
}

static URL_RE: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"https?://[^\s<>]+").ok());
static MENTION_RE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    // A domain may carry a port (`@bob@localhost:3001`): instances in
    // development and on loopback have one in their handles.
    Regex::new(
        r"^@([a-zA-Z0-9_]+(?:[a-zA-Z0-9_.\-]+[a-zA-Z0-9_]+)?)(?:@([\w.\-]+\w+(?::[0-9]{1,5})?))?",
    )
    .ok()
});
/// A hashtag's name, right after its `#` (or `＃`).
static HASHTAG_RE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^[\w\u{00B7}\u{30FB}\u{200C}]+").ok());

const HASHTAG_SEPARATORS: [char; 3] = ['\u{00B7}', '\u{30FB}', '\u{200C}'];

/// Where each entity sits: (start, end, entity), sorted and non-overlapping.
fn scan(text: &str, local_domain: &str) -> Vec<(usize, usize, Entity)> {
    let mut found: Vec<(usize, usize, Entity)> = Vec::new();
    if let Some(re) = URL_RE.as_ref() {
        for m in re.find_iter(text) {
            let url = trim_url(m.as_str());
            if url.len() > "https://".len() {
                found.push((
                    m.start(),
                    m.start() + url.len(),
                    Entity::Url(url.to_owned()),
                ));
            }
        }
    }
    // `found` holds only URLs so far, in order and apart: one cursor walks
    // them as the position grows.
    let mut url = 0;
    let mut extra = Vec::new();
    for (i, c) in text.char_indices() {
        if c != '@' && c != '#' && c != '\u{FF03}' {
            continue;
        }
        while found.get(url).is_some_and(|(_, end, _)| *end <= i) {
            url += 1;
        }
        if found.get(url).is_some_and(|(start, _, _)| *start <= i) {
            continue;
        }
        let before = text[..i].chars().next_back();
        let rest = &text[i..];
        if c == '@' {
            if before.is_some_and(|b| b == '=' || b == '/' || b.is_alphanumeric() || b == '_') {
                continue;
            }
            let Some(caps) = MENTION_RE.as_ref().and_then(|re| re.captures(rest)) else {
                continue;
            };
            let (Some(whole), Some(user)) = (caps.get(0), caps.get(1)) else {
                continue;
            };
            // `@a@b` must not run on into another `@` or a scheme.
            let after = &rest[whole.end()..];
            if after.starts_with('@') || after.starts_with("://") {
                continue;
            }
            let domain = caps
                .get(2)
                .map(|d| d.as_str().to_ascii_lowercase())
                .filter(|d| d != local_domain);
            extra.push((
                i,
                i + whole.end(),
                Entity::Mention(
                    MentionRef {
                        username: user.as_str().to_owned(),
                        domain,
                    },
                    whole.as_str().to_owned(),
                ),
            ));
        } else {
            if before.is_some_and(|b| b == '=' || b == '/' || b == ')' || b.is_alphanumeric()) {
                continue;
            }
            let hash_len = c.len_utf8();
            let Some(m) = HASHTAG_RE
                .as_ref()
                .and_then(|re| re.find(&rest[hash_len..]))
            else {
                continue;
            };
            let mut name = m.as_str().trim_end_matches(HASHTAG_SEPARATORS).to_owned();
            // `#foohttps://…`: the scheme is not part of the tag.
            let after_tag = &rest[hash_len + name.len()..];
            if after_tag.starts_with("://") {
                for scheme in ["https", "http"] {
                    if let Some(stripped) = name.strip_suffix(scheme) {
                        name = stripped.to_owned();
                        break;
                    }
                }
            }
            if !name.chars().any(char::is_alphabetic) {
                continue;
            }
            extra.push((i, i + hash_len + name.len(), Entity::Hashtag(name)));
        }
    }
    found.extend(extra);
    found.sort_by_key(|(s, _, _)| *s);
    // Drop anything overlapping an earlier entity.
    let mut out: Vec<(usize, usize, Entity)> = Vec::new();
    for item in found {
        if out.last().is_none_or(|(_, end, _)| item.0 >= *end) {
            out.push(item);
        }
    }
    out
}

/// Trailing punctuation is not part of a URL; a closing parenthesis is only
/// when the URL opened one. The brackets are counted once (a URL may be as
/// long as a request body, and recounting per stripped character was
/// quadratic).
fn trim_url(url: &str) -> &str {
    let count = |c: u8| url.bytes().filter(|b| *b == c).count();
    let (open_paren, open_bracket) = (count(b'('), count(b'['));
    let (mut close_paren, mut close_bracket) = (count(b')'), count(b']'));
    let mut end = url.len();
    while let Some(last) = url[..end].chars().next_back() {
        let strip = match last {
            '.' | ',' | ':' | ';' | '!' | '?' | '"' | '\'' | '*' => true,
            ')' => open_paren < close_paren,
            ']' => open_bracket < close_bracket,
            _ => false,
        };
        if !strip {
            break;
        }
        match last {
            ')' => close_paren -= 1,
            ']' => close_bracket -= 1,
            _ => {}
        }
        end -= last.len_utf8();
    }
    &url[..end]
}

/// Mentions and hashtags in `text`.
pub fn extract(text: &str, local_domain: &str) -> Extracted {
    let mut out = Extracted::default();
    let mut seen_tags = std::collections::HashSet::new();
    let mut seen_mentions = std::collections::HashSet::new();
    for (_, _, e) in scan(text, local_domain) {
        match e {
            Entity::Mention(m, _) => {
                if seen_mentions.insert((m.username.to_ascii_lowercase(), m.domain.clone())) {
                    out.mentions.push(m);
                }
            }
            Entity::Hashtag(h) => {
                let n = normalize_hashtag(&h);
                if !n.is_empty() && seen_tags.insert(n) {
                    out.hashtags.push(h);
                }
            }
            Entity::Url(_) => {}
        }
    }
    out
}

/// The http(s) links in `text`, in order, as the renderer links them.
pub fn urls(text: &str, local_domain: &str) -> Vec<String> {
    scan(text, local_domain)
        .into_iter()
        .filter_map(|(_, _, e)| match e {
            Entity::Url(u) => Some(u),
            _ => None,
        })
        .collect()
}

/// A hashtag's key: NFKC, lower-cased, Latin diacritics folded, separators
/// and other invalid characters removed.
pub fn normalize_hashtag(name: &str) -> String {
    let lowered: String = name.nfkc().collect::<String>().to_lowercase();
    let mut folded = String::with_capacity(lowered.len());
    for c in lowered.chars() {
        let mut decomposed = c.to_string().nfd().collect::<Vec<char>>();
        if decomposed.first().is_some_and(char::is_ascii_alphabetic) {
            decomposed.truncate(1);
        }
        folded.extend(decomposed.into_iter().collect::<String>().nfc());
    }
    folded
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '_' || HASHTAG_SEPARATORS.contains(c))
        .collect()
}

/// How mentions are linked while rendering.
pub struct MentionTarget {
    pub username: String,
    pub domain: Option<String>,
    /// The profile URL the mention links to.
    pub url: String,
}

/// Renders `text` (already trimmed) to HTML.
///
/// `accounts` are the accounts the text may mention (resolved by the
/// caller); a mention of anyone else stays plain text. `tag_url` makes the
/// link of a hashtag from its name as written. `multiline` makes paragraphs
/// (statuses, notes); without it newlines are kept as `<br />` only.
pub fn render(
    text: &str,
    local_domain: &str,
    accounts: &[MentionTarget],
    tag_url: impl Fn(&str) -> String,
    multiline: bool,
) -> String {
    if text.trim().is_empty() {
        return String::new();
    }
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut html = String::with_capacity(text.len() * 2);
    let mut pos = 0;
    for (start, end, entity) in scan(&text, local_domain) {
        html.push_str(&escape(&text[pos..start]));
        match entity {
            Entity::Url(url) => html.push_str(&link(&url)),
            Entity::Mention(m, written) => {
                let target = accounts.iter().find(|a| {
                    a.username.eq_ignore_ascii_case(&m.username)
                        && a.domain.as_deref().map(str::to_ascii_lowercase) == m.domain
                });
                match target {
                    Some(t) => {
                        // Show the domain only when the same username appears twice.
                        let ambiguous = accounts
                            .iter()
                            .filter(|a| a.username.eq_ignore_ascii_case(&t.username))
                            .count()
                            > 1;
                        let shown = match (&t.domain, ambiguous) {
                            (Some(d), true) => format!("{}@{}", t.username, d),
                            _ => t.username.clone(),
                        };
                        html.push_str(&format!(
                            "<span class=\"h-card\" translate=\"no\"><a href=\"{}\" class=\"u-url mention\">@<span>{}</span></a></span>",
                            escape(&t.url),
                            escape(&shown)
                        ));
                    }
                    None => html.push_str(&escape(&written)),
                }
            }
            Entity::Hashtag(name) => html.push_str(&format!(
                "<a href=\"{}\" class=\"mention hashtag\" rel=\"tag\">#<span>{}</span></a>",
                escape(&tag_url(&name)),
                escape(&name)
            )),
        }
        pos = end;
    }
    html.push_str(&escape(&text[pos..]));
    if multiline {
        paragraphs(&html)
    } else {
        html.replace('\n', "<br />")
    }
}

/// Rails' `simple_format`: blank lines separate paragraphs, a single newline is a line break.
fn paragraphs(html: &str) -> String {
    let mut out = String::with_capacity(html.len() + 16);
    let mut chunk = String::new();
    let mut newlines = 0;
    let flush = |chunk: &mut String, out: &mut String| {
        if !chunk.is_empty() {
            out.push_str("<p>");
            out.push_str(chunk);
            out.push_str("</p>");
            chunk.clear();
        }
    };
    for c in html.chars() {
        if c == '\n' {
            newlines += 1;
            continue;
        }
        match newlines {
            0 => {}
            1 => {
                if !chunk.is_empty() {
                    chunk.push_str("<br />");
                }
            }
            _ => flush(&mut chunk, &mut out),
        }
        newlines = 0;
        chunk.push(c);
    }
    flush(&mut chunk, &mut out);
    out
}

/// Mastodon's shortened link: scheme (and `www.`) hidden, 30 characters
/// shown, the rest hidden behind an ellipsis.
fn link(url: &str) -> String {
    let prefix_len = ["https://www.", "http://www.", "https://", "http://"]
        .iter()
        .find(|p| url.starts_with(*p))
        .map(|p| p.len())
        .unwrap_or(0);
    let prefix = &url[..prefix_len];
    let rest = &url[prefix_len..];
    let cut = rest
        .char_indices()
        .nth(30)
        .map(|(i, _)| i)
        .unwrap_or(rest.len());
    let (display, suffix) = rest.split_at(cut);
    let class = if suffix.is_empty() { "" } else { "ellipsis" };
    format!(
        "<a href=\"{href}\" target=\"_blank\" rel=\"nofollow noopener noreferrer\" translate=\"no\"><span class=\"invisible\">{p}</span><span class=\"{class}\">{d}</span><span class=\"invisible\">{s}</span></a>",
        href = escape(url),
        p = escape(prefix),
        d = escape(display),
        s = escape(suffix)
    )
}

/// The paragraph Mastodon puts before a quote's text when the text does not
/// link the quoted status (hidden by clients that show quotes).
pub fn quote_fallback(url: &str) -> String {
    format!("<p class=\"quote-inline\">RE: {}</p>", link(url))
}

/// HTML-escapes `& < > " '` as Rails' `ERB::Util.h`.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// HTML as plain text: tags dropped, line and paragraph breaks kept as
/// newlines, the common entities decoded. For matching and search, not display.
pub fn plain_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        out.push_str(&decode_entities(&rest[..start]));
        let Some(end) = rest[start..].find('>') else {
            rest = "";
            break;
        };
        let tag = rest[start + 1..start + end].trim().to_ascii_lowercase();
        if tag.starts_with("br") {
            out.push('\n');
        } else if tag == "/p" {
            out.push_str("\n\n");
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(&decode_entities(rest));
    out.trim_end().to_owned()
}

fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

// Custom emoji shortcodes (here, with the other text rules, so that the
// emoji snapshot and status views both read them without importing each
// other).

fn shortcode_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `:name:` occurrences as Mastodon finds them: at least two word
/// characters, not glued to a letter, digit or colon on either side.
pub fn shortcodes(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut before: Option<char> = None;
    while let Some(start) = rest.find(':') {
        let prev = rest[..start].chars().next_back().or(before);
        let after = &rest[start + 1..];
        let len = after
            .find(|c: char| !shortcode_char(c))
            .unwrap_or(after.len());
        let closes = after[len..].starts_with(':');
        let next = after[len..].chars().nth(1);
        let free_before = prev.is_none_or(|p| !(p.is_alphanumeric() || p == ':'));
        let free_after = next.is_none_or(|n| !(n.is_alphanumeric() || n == ':'));
        if len >= 2 && closes && free_before && free_after {
            out.push(&after[..len]);
            before = Some(':');
            rest = &after[len + 1..];
        } else {
            before = Some(':');
            rest = after;
        }
    }
    out
}

/// Whether `code` is a valid shortcode (Mastodon: two or more of `[a-zA-Z0-9_]`).
pub fn valid_shortcode(code: &str) -> bool {
    code.len() >= 2 && code.chars().all(shortcode_char)
}

#[cfg(test)]
mod tests {
    #[test]
    fn plain_text_drops_tags_and_keeps_breaks() {
        assert_eq!(
            super::plain_text(
                "<p>Hello <a href=\"x\">@<span>bob</span></a> &amp; co</p><p>line<br>two &lt;3</p>"
            ),
            "Hello @bob & co\n\nline\ntwo <3"
        );
    }

    use super::*;

    fn tag_url(name: &str) -> String {
        format!("https://example.com/tags/{name}")
    }

    fn targets() -> Vec<MentionTarget> {
        vec![
            MentionTarget {
                username: "bob".into(),
                domain: None,
                url: "https://example.com/@bob".into(),
            },
            MentionTarget {
                username: "carol".into(),
                domain: Some("other.example".into()),
                url: "https://other.example/@carol".into(),
            },
        ]
    }

    #[test]
    fn paragraphs_and_line_breaks() {
        let html = render("a\n\nb\nc\n\n\nd", "example.com", &[], tag_url, true);
        assert_eq!(html, "<p>a</p><p>b<br />c</p><p>d</p>");
    }

    #[test]
    fn escapes_html() {
        let html = render("<b>\"hi\" & 'bye'</b>", "example.com", &[], tag_url, true);
        assert_eq!(
            html,
            "<p>&lt;b&gt;&quot;hi&quot; &amp; &#39;bye&#39;&lt;/b&gt;</p>"
        );
    }

    #[test]
    fn links_are_shortened_as_mastodon_does() {
        let html = render(
            "see https://example.com/ now",
            "example.com",
            &[],
            tag_url,
            true,
        );
        assert_eq!(
            html,
            "<p>see <a href=\"https://example.com/\" target=\"_blank\" rel=\"nofollow noopener noreferrer\" translate=\"no\"><span class=\"invisible\">https://</span><span class=\"\">example.com/</span><span class=\"invisible\"></span></a> now</p>"
        );
        let long = render(
            "https://www.example.com/a/very/long/path/that/goes/on/and/on.",
            "example.com",
            &[],
            tag_url,
            true,
        );
        assert!(long.contains("<span class=\"invisible\">https://www.</span><span class=\"ellipsis\">example.com/a/very/long/path/t</span><span class=\"invisible\">hat/goes/on/and/on</span></a>.</p>"), "{long}");
    }

    #[test]
    fn mentions_link_known_accounts_only() {
        let html = render(
            "hi @bob and @carol@other.example and @nobody",
            "example.com",
            &targets(),
            tag_url,
            true,
        );
        assert_eq!(
            html,
            "<p>hi <span class=\"h-card\" translate=\"no\"><a href=\"https://example.com/@bob\" class=\"u-url mention\">@<span>bob</span></a></span> and <span class=\"h-card\" translate=\"no\"><a href=\"https://other.example/@carol\" class=\"u-url mention\">@<span>carol</span></a></span> and @nobody</p>"
        );
    }

    #[test]
    fn mentions_may_carry_a_port() {
        let e = extract(
            "hi @bob@localhost:3001, and @carol@example.com:x",
            "localhost:3000",
        );
        let found: Vec<(String, Option<String>)> = e
            .mentions
            .iter()
            .map(|m| (m.username.clone(), m.domain.clone()))
            .collect();
        assert_eq!(
            found,
            vec![
                ("bob".to_owned(), Some("localhost:3001".to_owned())),
                ("carol".to_owned(), Some("example.com".to_owned())),
            ]
        );
    }

    #[test]
    fn local_domain_mentions_are_local() {
        let e = extract("@bob@example.com @Bob", "example.com");
        assert_eq!(
            e.mentions,
            vec![MentionRef {
                username: "bob".into(),
                domain: None
            }]
        );
    }

    #[test]
    fn hashtags() {
        let html = render(
            "I like #Rust, not a#tag or #123",
            "example.com",
            &[],
            tag_url,
            true,
        );
        assert_eq!(
            html,
            "<p>I like <a href=\"https://example.com/tags/Rust\" class=\"mention hashtag\" rel=\"tag\">#<span>Rust</span></a>, not a#tag or #123</p>"
        );
        let e = extract(
            "#Rust #rust #Café #日本語 #foohttps://x.example",
            "example.com",
        );
        assert_eq!(e.hashtags, vec!["Rust", "Café", "日本語", "foo"]);
        assert_eq!(normalize_hashtag("Café"), "cafe");
        assert_eq!(normalize_hashtag("ＲＵＳＴ"), "rust");
    }

    #[test]
    fn entities_inside_urls_are_not_mentions_or_tags() {
        let e = extract("https://example.com/@bob#section", "example.com");
        assert!(e.mentions.is_empty() && e.hashtags.is_empty());
        assert!(
            extract("mail me: bob@example.com", "example.com")
                .mentions
                .is_empty()
        );
    }
}
