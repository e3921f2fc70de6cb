//! What a linked HTML page says about itself, for its preview card, as
//! Mastodon's `LinkDetailsExtractor` reads it: JSON-LD (`NewsArticle`,
//! `WebPage`), OpenGraph and Twitter `<meta>` tags, `<title>`,
//! `<meta name=description>`, `<link rel=canonical>` and `<html lang>`.
//!
//! The page is scanned once by a small tokenizer that knows just enough HTML
//! to be safe: comments, doctypes and processing instructions are skipped,
//! the text of `<script>`, `<style>` and the other raw-text elements is never
//! read as markup (a `<meta>` inside a script string does not count), quoted
//! and unquoted attribute values and character references are handled, and
//! nothing it sees can make it loop or recurse. It builds no tree: it only
//! collects the few elements a card needs, and only so many of them (time and
//! memory stay linear in the page).

use chrono::{DateTime, NaiveDate, Utc};
use ferrodon_storage::preview_cards::{CardData, CardType, MAX_URL_BYTES};
use url::Url;

/// One start tag's attributes: lower-cased names, decoded values.
type Attrs = Vec<(String, String)>;

/// The elements of a page a card is made from, in document order.
#[derive(Debug, Default)]
struct Scanned {
    metas: Vec<Attrs>,
    links: Vec<Attrs>,
    anchors: Vec<Attrs>,
    title: Option<String>,
    html_lang: Option<String>,
    json_ld: Vec<String>,
}

/// Attributes kept per element (the rest are read past): a tag with
/// thousands of them made the duplicate check quadratic.
const MAX_ATTRS: usize = 64;
/// Elements of each kind kept (`meta`, `link`, `a`): the card needs the first
/// few, and the page's size no longer decides the memory held.
const MAX_ELEMENTS: usize = 2_000;

/// Elements whose content is text up to their end tag, never markup.
const RAW_TEXT: [&str; 8] = [
    "script", "style", "xmp", "iframe", "noembed", "noframes", "textarea", "title",
];

fn attr<'a>(attrs: &'a Attrs, name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Finds `needle` (ASCII, lower-case) in `hay` ignoring ASCII case, from `from`.
fn find_ci(hay: &str, needle: &str, from: usize) -> Option<usize> {
    let h = hay.as_bytes();
    let n = needle.as_bytes();
    if n.is_empty() || from >= h.len() || h.len() - from < n.len() {
        return None;
    }
    (from..=h.len() - n.len()).find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

fn scan(html: &str) -> Scanned {
    let bytes = html.as_bytes();
    let mut out = Scanned::default();
    let mut i = 0;
    while let Some(off) = html[i..].find('<') {
        let start = i + off;
        let rest = &html[start..];
        if let Some(comment) = rest.strip_prefix("<!--") {
            i = comment
                .find("-->")
                .map_or(bytes.len(), |e| start + 4 + e + 3);
            continue;
        }
        if rest.starts_with("<!") || rest.starts_with("<?") || rest.starts_with("</") {
            i = rest.find('>').map_or(bytes.len(), |e| start + e + 1);
            continue;
        }
        let name_len = rest[1..]
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b':')
            .count();
        if name_len == 0 || !bytes[start + 1].is_ascii_alphabetic() {
            i = start + 1;
            continue;
        }
        let name = rest[1..1 + name_len].to_ascii_lowercase();
        let (attrs, end) = parse_attrs(html, start + 1 + name_len);
        i = end;
        if RAW_TEXT.contains(&name.as_str()) {
            let close = format!("</{name}");
            let text_end = find_ci(html, &close, i).unwrap_or(bytes.len());
            let text = &html[i..text_end];
            if name == "title" && out.title.is_none() {
                out.title = Some(collapse_whitespace(&decode_entities(text)));
            } else if name == "script"
                && attr(&attrs, "type")
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/ld+json"))
            {
                out.json_ld.push(text.to_owned());
            }
            i = html[text_end..]
                .find('>')
                .map_or(bytes.len(), |e| text_end + e + 1);
            continue;
        }
        match name.as_str() {
            "meta" if out.metas.len() < MAX_ELEMENTS => out.metas.push(attrs),
            "link" if out.links.len() < MAX_ELEMENTS => out.links.push(attrs),
            "a" if out.anchors.len() < MAX_ELEMENTS => out.anchors.push(attrs),
            "html" if out.html_lang.is_none() => {
                out.html_lang = attr(&attrs, "lang").map(str::to_owned);
            }
            _ => {}
        }
    }
    out
}

/// Reads attributes from `pos` (just after the tag name) to the end of the
/// tag; returns them and the position after `>`.
fn parse_attrs(html: &str, mut pos: usize) -> (Attrs, usize) {
    let b = html.as_bytes();
    let mut attrs = Attrs::new();
    loop {
        while pos < b.len() && (b[pos].is_ascii_whitespace() || b[pos] == b'/') {
            pos += 1;
        }
        if pos >= b.len() {
            return (attrs, b.len());
        }
        if b[pos] == b'>' {
            return (attrs, pos + 1);
        }
        let name_start = pos;
        while pos < b.len()
            && !b[pos].is_ascii_whitespace()
            && !matches!(b[pos], b'=' | b'>' | b'/')
        {
            pos += 1;
        }
        // A stray `=` or quote where a name should start: take it as a name.
        if pos == name_start {
            pos += 1;
        }
        let name = html[name_start..pos].to_ascii_lowercase();
        let mut p = pos;
        while p < b.len() && b[p].is_ascii_whitespace() {
            p += 1;
        }
        let mut value = String::new();
        if p < b.len() && b[p] == b'=' {
            p += 1;
            while p < b.len() && b[p].is_ascii_whitespace() {
                p += 1;
            }
            if p < b.len() && (b[p] == b'"' || b[p] == b'\'') {
                let quote = b[p] as char;
                let v_start = p + 1;
                let v_end = html[v_start..].find(quote).map_or(b.len(), |e| v_start + e);
                value = decode_entities(&html[v_start..v_end]);
                p = (v_end + 1).min(b.len());
            } else {
                let v_start = p;
                while p < b.len() && !b[p].is_ascii_whitespace() && b[p] != b'>' {
                    p += 1;
                }
                value = decode_entities(&html[v_start..p]);
            }
            pos = p;
        }
        if !name.is_empty() && attrs.len() < MAX_ATTRS && !attrs.iter().any(|(k, _)| *k == name) {
            attrs.push((name, value));
        }
    }
}

/// Decodes character references: numeric ones and the named ones pages use
/// in titles and descriptions. Unknown names stay as written.
pub(crate) fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let body_end = rest[1..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '#'))
            .map_or(rest.len(), |e| e + 1);
        let body = &rest[1..body_end];
        let has_semicolon = rest[body_end..].starts_with(';');
        let decoded = if let Some(num) = body.strip_prefix('#') {
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok(),
                None => num.parse::<u32>().ok(),
            };
            code.map(|c| match c {
                0 => '\u{FFFD}',
                c => char::from_u32(c).unwrap_or('\u{FFFD}'),
            })
        } else if has_semicolon {
            named_entity(body)
        } else {
            None
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[body_end + usize::from(has_semicolon)..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn named_entity(name: &str) -> Option<char> {
    Some(match name {
        "amp" | "AMP" => '&',
        "lt" | "LT" => '<',
        "gt" | "GT" => '>',
        "quot" | "QUOT" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "ndash" => '–',
        "mdash" => '—',
        "hellip" => '…',
        "lsquo" => '‘',
        "rsquo" => '’',
        "sbquo" => '‚',
        "ldquo" => '“',
        "rdquo" => '”',
        "bdquo" => '„',
        "laquo" => '«',
        "raquo" => '»',
        "lsaquo" => '‹',
        "rsaquo" => '›',
        "middot" => '·',
        "bull" => '•',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "deg" => '°',
        "times" => '×',
        "euro" => '€',
        "pound" => '£',
        "yen" => '¥',
        "cent" => '¢',
        "sect" => '§',
        "para" => '¶',
        "shy" => '\u{ad}',
        "zwj" => '\u{200d}',
        "zwnj" => '\u{200c}',
        "eacute" => 'é',
        "egrave" => 'è',
        "agrave" => 'à',
        "aacute" => 'á',
        "ccedil" => 'ç',
        "ouml" => 'ö',
        "uuml" => 'ü',
        "auml" => 'ä',
        "szlig" => 'ß',
        "ntilde" => 'ñ',
        _ => return None,
    })
}

fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The page's text from its bytes: a byte-order mark, else the
/// `Content-Type` charset, else a `<meta charset>` near the top, else UTF-8
/// when the bytes are valid UTF-8, else windows-1252 (as browsers guess).
pub fn decode_page(bytes: &[u8], header_charset: Option<&str>) -> String {
    use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};
    let declared = header_charset
        .and_then(|c| Encoding::for_label(c.trim().as_bytes()))
        .or_else(|| {
            let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]);
            scan(&head).metas.iter().find_map(|m| {
                let label = attr(m, "charset").map(str::to_owned).or_else(|| {
                    let equiv = attr(m, "http-equiv")?;
                    if !equiv.trim().eq_ignore_ascii_case("content-type") {
                        return None;
                    }
                    let content = attr(m, "content")?.to_ascii_lowercase();
                    let at = content.find("charset=")?;
                    Some(
                        content[at + 8..]
                            .trim_matches(|c: char| c == '"' || c == '\'' || c.is_whitespace())
                            .split([';', ' '])
                            .next()
                            .unwrap_or("")
                            .to_owned(),
                    )
                })?;
                Encoding::for_label(label.trim().as_bytes())
            })
        });
    let encoding = declared
        // A page cannot declare itself UTF-16 in ASCII (the spec reads that as UTF-8).
        .map(|e| e.output_encoding())
        .unwrap_or_else(|| {
            if std::str::from_utf8(bytes).is_ok() {
                UTF_8
            } else {
                WINDOWS_1252
            }
        });
    // `decode` lets a byte-order mark win over everything else.
    let (text, _, _) = encoding.decode(bytes);
    text.into_owned()
}

/// What JSON-LD says (the first `NewsArticle` or `WebPage` object).
#[derive(Debug, Default)]
struct StructuredData {
    kind: String,
    headline: Option<String>,
    description: Option<String>,
    language: Option<String>,
    date_published: Option<String>,
    author_name: Option<String>,
    author_url: Option<String>,
    publisher_name: Option<String>,
}

fn structured_data(scripts: &[String]) -> Option<StructuredData> {
    use serde_json::Value;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    let first = |v: Option<&Value>| -> Option<Value> {
        match v? {
            Value::Array(a) => a.first().cloned(),
            other => Some(other.clone()),
        }
    };
    for script in scripts {
        // Some pages wrap their JSON in commented-out CDATA lines.
        let cleaned: String = script
            .lines()
            .filter(|l| {
                let t = l.trim();
                !matches!(
                    t,
                    "/*<![CDATA[*/" | "/* <![CDATA[ */" | "//<![CDATA[" | "// <![CDATA["
                ) && !matches!(t, "/*]]>*/" | "/* ]]> */" | "//]]>" | "// ]]>")
            })
            .collect::<Vec<_>>()
            .join("\n");
        let Ok(root) = serde_json::from_str::<Value>(cleaned.trim()) else {
            continue;
        };
        let candidates = match root {
            Value::Array(a) => a,
            other => vec![other],
        };
        for obj in candidates {
            let kind = obj.get("@type").and_then(Value::as_str).unwrap_or("");
            if kind != "NewsArticle" && kind != "WebPage" {
                continue;
            }
            let author = first(obj.get("author"));
            let publisher = first(obj.get("publisher"));
            return Some(StructuredData {
                kind: kind.to_owned(),
                headline: text(obj.get("headline")),
                description: text(obj.get("description")),
                language: text(obj.get("inLanguage")),
                date_published: text(obj.get("datePublished")),
                author_name: text(author.as_ref().and_then(|a| a.get("name"))),
                author_url: text(author.as_ref().and_then(|a| a.get("url"))),
                publisher_name: text(publisher.as_ref().and_then(|p| p.get("name"))),
            });
        }
    }
    None
}

/// The links of a status's HTML (a remote status) a card may come from, in
/// order: not hashtags (`rel="tag"`), not mentions (microformat classes
/// `u-url`/`h-card`, or the profile URL of a mentioned account).
pub fn status_links(content: &str, mention_urls: &[String]) -> Vec<String> {
    scan(content)
        .anchors
        .iter()
        .filter(|a| {
            !attr(a, "rel").is_some_and(|r| r.split_ascii_whitespace().any(|t| t == "tag"))
                && !attr(a, "class").is_some_and(|c| c.contains("u-url") || c.contains("h-card"))
        })
        .filter_map(|a| attr(a, "href"))
        .filter(|href| !mention_urls.iter().any(|m| m == href))
        .map(str::to_owned)
        .collect()
}

/// A card's worth of facts about a page, and the URL it is known by.
#[derive(Debug, Clone)]
pub struct LinkDetails {
    /// `<link rel=canonical>` or `og:url` when on the same host, else the
    /// URL the page was fetched from.
    pub canonical_url: String,
    pub data: CardData,
}

impl LinkDetails {
    /// Whether the page says enough to make a card (Mastodon saves one
    /// only with a title or an embed).
    pub fn is_usable(&self) -> bool {
        !self.data.title.trim().is_empty() || !self.data.html.is_empty()
    }
}

/// `s` resolved against `base`, when it is an http(s) URL with a host (and
/// on `base`'s host when `same_host`).
fn valid_url(base: &Url, s: Option<&str>, same_host: bool) -> Option<String> {
    let s = s?.trim();
    if s.is_empty() || s == "null" {
        return None;
    }
    let url = base.join(s).ok()?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host_str().is_none_or(str::is_empty)
        || (same_host && url.host_str() != base.host_str())
        || url.as_str().len() > MAX_URL_BYTES
    {
        return None;
    }
    Some(url.to_string())
}

fn parse_time(s: Option<&str>) -> Option<DateTime<Utc>> {
    let s = s?.trim();
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            let date = NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()?;
            Some(date.and_hms_opt(0, 0, 0)?.and_utc())
        })
}

/// Mastodon decodes what the parser already decoded once more (pages that
/// double-escape their titles then read right).
fn text_field(s: Option<&str>) -> String {
    s.map(|s| collapse_whitespace(&decode_entities(s)))
        .unwrap_or_default()
}

/// Reads a fetched page. `page_url` is where it was fetched from (after redirects).
pub fn extract(page_url: &Url, html: &str) -> LinkDetails {
    let doc = scan(html);
    let sd = structured_data(&doc.json_ld);
    // `<meta property=X>` or `<meta name=X>`, the first in the page.
    let og = |key: &str| -> Option<&str> {
        doc.metas.iter().find_map(|m| {
            let matches = attr(m, "property").is_some_and(|p| p.trim().eq_ignore_ascii_case(key))
                || attr(m, "name").is_some_and(|n| n.trim().eq_ignore_ascii_case(key));
            if matches { attr(m, "content") } else { None }
        })
    };
    let meta_name = |key: &str| -> Option<&str> {
        doc.metas.iter().find_map(|m| {
            attr(m, "name")
                .is_some_and(|n| n.trim().eq_ignore_ascii_case(key))
                .then(|| attr(m, "content"))
                .flatten()
        })
    };
    let link_rel = |rel: &str| -> Option<&str> {
        doc.links.iter().find_map(|l| {
            attr(l, "rel")
                .is_some_and(|r| {
                    r.split_ascii_whitespace()
                        .any(|t| t.eq_ignore_ascii_case(rel))
                })
                .then(|| attr(l, "href"))
                .flatten()
        })
    };
    let sd_ref = sd.as_ref();

    let player_url = valid_url(page_url, og("twitter:player"), false);
    let width = og("twitter:player:width")
        .and_then(|w| w.trim().parse::<i32>().ok())
        .filter(|w| *w > 0)
        .unwrap_or(0);
    let height = og("twitter:player:height")
        .and_then(|h| h.trim().parse::<i32>().ok())
        .filter(|h| *h > 0)
        .unwrap_or(0);
    let html_embed = player_url.as_ref().map(|src| {
        format!(
            "<iframe src=\"{}\" width=\"{width}\" height=\"{height}\" allowfullscreen=\"true\" \
             allowtransparency=\"true\" scrolling=\"no\" frameborder=\"0\"></iframe>",
            crate::text::escape(src)
        )
    });
    let title = text_field(
        sd_ref
            .and_then(|s| s.headline.as_deref())
            .or_else(|| og("og:title"))
            .or(doc.title.as_deref()),
    );
    let description = text_field(
        sd_ref
            .and_then(|s| s.description.as_deref())
            .or_else(|| og("og:description"))
            .or_else(|| meta_name("description")),
    );
    let provider_name = text_field(
        sd_ref
            .and_then(|s| s.publisher_name.as_deref())
            .or_else(|| og("og:site_name")),
    );
    let provider_url = og("og:site")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .and_then(|s| {
            let full = if s.starts_with("http://") || s.starts_with("https://") {
                s.to_owned()
            } else {
                format!("http://{s}")
            };
            valid_url(page_url, Some(&full), false)
        })
        .unwrap_or_default();
    let author_name = text_field(
        sd_ref
            .and_then(|s| s.author_name.as_deref())
            .or_else(|| og("og:author"))
            .or_else(|| og("og:author:username"))
            .or_else(|| og("article:author").filter(|a| !a.contains("://")))
            .or_else(|| meta_name("author")),
    );
    let author_url = valid_url(
        page_url,
        sd_ref.and_then(|s| s.author_url.as_deref()),
        false,
    )
    .unwrap_or_default();
    let language = sd_ref
        .and_then(|s| s.language.as_deref())
        .or_else(|| og("og:locale"))
        .or(doc.html_lang.as_deref())
        .and_then(crate::statuses::normalize_language);
    let published_at = parse_time(
        sd_ref
            .and_then(|s| s.date_published.as_deref())
            .or_else(|| og("article:published_time")),
    );
    let article = sd_ref.is_some_and(|s| s.kind == "NewsArticle")
        || og("og:type").is_some_and(|t| t.trim().eq_ignore_ascii_case("article"));
    let canonical_url = valid_url(
        page_url,
        link_rel("canonical").or_else(|| og("og:url")),
        true,
    )
    .unwrap_or_else(|| page_url.to_string());

    LinkDetails {
        canonical_url,
        data: CardData {
            title,
            description,
            card_type: Some(if player_url.is_some() {
                CardType::Video
            } else {
                CardType::Link
            }),
            article,
            html: html_embed.unwrap_or_default(),
            author_name,
            author_url,
            provider_name,
            provider_url,
            width,
            height,
            image_url: valid_url(page_url, og("og:image"), false),
            image_description: text_field(og("og:image:alt")),
            embed_url: valid_url(page_url, og("twitter:player:stream"), false).unwrap_or_default(),
            language,
            published_at,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(html: &str) -> LinkDetails {
        let url = Url::parse("https://news.example/story?id=1").unwrap_or_else(|e| panic!("{e}"));
        extract(&url, html)
    }

    #[test]
    fn opengraph_wins_over_title_and_description() {
        let d = page(
            r#"<!DOCTYPE html><html lang="en-GB"><head>
            <title>  Plain
              title </title>
            <meta name="description" content="Plain description">
            <meta property="og:title" content="OG &amp; title">
            <meta property='og:description' content='OG description'>
            <meta property=og:image content=/img/a.png>
            <meta property="og:image:alt" content="A picture">
            <meta property="og:type" content="article">
            <meta property="og:site_name" content="The News">
            <meta name="author" content="Jane Doe">
            <meta property="article:published_time" content="2024-05-06T07:08:09Z">
            <link rel="canonical" href="/story">
            </head><body></body></html>"#,
        );
        assert_eq!(d.data.title, "OG & title");
        assert_eq!(d.data.description, "OG description");
        assert_eq!(
            d.data.image_url.as_deref(),
            Some("https://news.example/img/a.png")
        );
        assert_eq!(d.data.image_description, "A picture");
        assert!(d.data.article);
        assert_eq!(d.data.provider_name, "The News");
        assert_eq!(d.data.author_name, "Jane Doe");
        assert_eq!(d.data.language.as_deref(), Some("en"));
        assert_eq!(
            d.data.published_at.map(|t| t.to_rfc3339()),
            Some("2024-05-06T07:08:09+00:00".to_owned())
        );
        assert_eq!(d.canonical_url, "https://news.example/story");
        assert_eq!(d.data.card_type, Some(CardType::Link));
        assert!(d.is_usable());
    }

    #[test]
    fn title_and_description_fall_back_to_plain_tags() {
        let d = page(
            "<html><head><TITLE>Caf&eacute; &#8212; &#x263A; &bogus; a&b</TITLE>\
             <META NAME=Description CONTENT=\"Plain &quot;quoted&quot;\"></head></html>",
        );
        assert_eq!(d.data.title, "Café — ☺ &bogus; a&b");
        assert_eq!(d.data.description, "Plain \"quoted\"");
        assert_eq!(d.canonical_url, "https://news.example/story?id=1");
        assert!(d.data.image_url.is_none());
        assert!(!d.data.article);
    }

    #[test]
    fn markup_inside_scripts_and_comments_does_not_count() {
        let d = page(
            r#"<head><!-- <meta property="og:title" content="In a comment"> -->
            <script>var s = '<meta property="og:title" content="In a script">'; </script>
            <style>/* <title>In a style</title> */</style>
            <title>Real</title>
            <meta property="og:description" content="Real description"></head>"#,
        );
        assert_eq!(d.data.title, "Real");
        assert_eq!(d.data.description, "Real description");
    }

    #[test]
    fn canonical_urls_must_stay_on_the_host() {
        let d =
            page(r#"<link rel="canonical" href="https://elsewhere.example/x"><title>t</title>"#);
        assert_eq!(d.canonical_url, "https://news.example/story?id=1");
        let d =
            page(r#"<meta property="og:url" content="https://news.example/s"><title>t</title>"#);
        assert_eq!(d.canonical_url, "https://news.example/s");
        let d = page(r#"<link rel="canonical" href="javascript:alert(1)"><title>t</title>"#);
        assert_eq!(d.canonical_url, "https://news.example/story?id=1");
    }

    #[test]
    fn a_twitter_player_makes_a_video_card() {
        let d = page(
            r#"<meta name="twitter:player" content="https://video.example/embed/1?a=1&amp;b=2">
            <meta name="twitter:player:width" content="640">
            <meta name="twitter:player:height" content="x">
            <meta name="twitter:player:stream" content="https://video.example/1.mp4">"#,
        );
        assert_eq!(d.data.card_type, Some(CardType::Video));
        assert_eq!(d.data.width, 640);
        assert_eq!(d.data.height, 0);
        assert_eq!(
            d.data.html,
            "<iframe src=\"https://video.example/embed/1?a=1&amp;b=2\" width=\"640\" height=\"0\" \
             allowfullscreen=\"true\" allowtransparency=\"true\" scrolling=\"no\" frameborder=\"0\"></iframe>"
        );
        assert_eq!(d.data.embed_url, "https://video.example/1.mp4");
        assert!(d.is_usable(), "an embed is enough without a title");
    }

    #[test]
    fn json_ld_comes_first() {
        let d = page(
            r#"<script type="application/ld+json">
            //<![CDATA[
            [{"@type":"Organization","name":"x"},
             {"@type":"NewsArticle","headline":"LD headline","description":"LD description",
              "inLanguage":"de-DE","datePublished":"2023-01-02",
              "author":[{"name":"Ann Author","url":"https://news.example/ann"}],
              "publisher":{"name":"LD Publisher"}}]
            //]]>
            </script>
            <script type="application/ld+json">{not json</script>
            <meta property="og:title" content="OG title">"#,
        );
        assert_eq!(d.data.title, "LD headline");
        assert_eq!(d.data.description, "LD description");
        assert_eq!(d.data.language.as_deref(), Some("de"));
        assert_eq!(d.data.author_name, "Ann Author");
        assert_eq!(d.data.author_url, "https://news.example/ann");
        assert_eq!(d.data.provider_name, "LD Publisher");
        assert!(d.data.article);
        assert_eq!(
            d.data.published_at.map(|t| t.to_rfc3339()),
            Some("2023-01-02T00:00:00+00:00".to_owned())
        );
    }

    #[test]
    fn broken_markup_ends_without_panicking() {
        for html in [
            "",
            "<",
            "<<<<",
            "<meta",
            "<meta content=\"unterminated",
            "<title>never closed",
            "<script>never closed",
            "<!-- never closed",
            "<a href=x =y ''=z>",
            "&#xFFFFFFFF; &#0; &#; &",
            "<meta property=\"og:title\" content=\"é\u{301}\">",
        ] {
            let _ = page(html);
        }
        assert!(!page("<title>   </title>").is_usable());
    }

    #[test]
    fn status_links_skip_mentions_and_hashtags() {
        let html = r#"<p><span class="h-card"><a href="https://a.example/@bob" class="u-url mention">@bob</a></span>
            <a href="https://a.example/tags/rust" class="mention hashtag" rel="tag">#rust</a>
            <a href="https://a.example/@carol">@carol</a>
            <a href="https://site.example/page" rel="nofollow noopener">site.example/page</a>
            <a href="https://other.example/">other</a></p>"#;
        assert_eq!(
            status_links(html, &["https://a.example/@carol".to_owned()]),
            ["https://site.example/page", "https://other.example/"]
        );
    }

    #[test]
    fn pages_decode_by_their_charset() {
        // "Café" in windows-1252.
        let latin = b"<meta charset=\"windows-1252\"><title>Caf\xe9</title>";
        assert!(decode_page(latin, None).contains("Café"));
        let equiv = b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=ISO-8859-1\"><title>Caf\xe9</title>";
        assert!(decode_page(equiv, None).contains("Café"));
        assert!(decode_page(b"<title>Caf\xe9</title>", Some("latin1")).contains("Café"));
        assert!(decode_page("<title>Café</title>".as_bytes(), None).contains("Café"));
        // Undeclared and not UTF-8: windows-1252.
        assert!(decode_page(b"<title>Caf\xe9</title>", None).contains("Café"));
        // A byte-order mark wins.
        let bom = b"\xef\xbb\xbf<meta charset=\"windows-1252\"><title>Caf\xc3\xa9</title>";
        assert!(decode_page(bom, None).contains("Café"));
    }
}
