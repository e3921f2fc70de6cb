//! Shapes shared by actors and objects: links, images, tags, attachments
//! and references.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer};
use serde_json::Value;

use super::de::{self, DepthGuard};

/// An id string or an embedded object (`"actor": "https://…"` or
/// `"actor": {"id": "https://…", …}`). An embedded object of a shape we
/// cannot read, or one past [`de::MAX_EMBED_DEPTH`], is kept as its id; for
/// an array, the first entry is used.
///
/// Embedded objects are claims of the sender, not verified copies: callers
/// that need the truth fetch [`Reference::id`] from its origin.
#[derive(Debug, Clone, PartialEq)]
pub enum Reference<T> {
    Id(String),
    Embedded(Box<T>),
}

impl<T> Reference<T> {
    pub fn embedded(&self) -> Option<&T> {
        match self {
            Reference::Embedded(t) => Some(t),
            Reference::Id(_) => None,
        }
    }
}

impl<T: HasId> Reference<T> {
    /// The referenced id (an embedded object's `id`; may be absent for one).
    pub fn id(&self) -> Option<&str> {
        match self {
            Reference::Id(s) => Some(s),
            Reference::Embedded(t) => t.id(),
        }
    }
}

/// Types with an `id`.
pub trait HasId {
    fn id(&self) -> Option<&str>;
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Reference<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        reference_from(v)
            .ok_or_else(|| serde::de::Error::custom("expected an id or an object with an id"))
    }
}

fn reference_from<T: DeserializeOwned>(v: Value) -> Option<Reference<T>> {
    match v {
        Value::String(s) => Some(Reference::Id(s)),
        Value::Array(items) => items.into_iter().find_map(reference_from),
        Value::Object(_) => {
            if let Some(_guard) = DepthGuard::enter()
                && let Ok(t) = T::deserialize(&v)
            {
                return Some(Reference::Embedded(Box::new(t)));
            }
            de::id_in(&v).map(Reference::Id)
        }
        _ => None,
    }
}

/// A link: `href` (or `url`, or `id` for objects standing in for links),
/// with what the sender says of it. A bare string is a link with only `href`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Link {
    pub href: String,
    pub media_type: Option<String>,
    pub rel: Vec<String>,
    pub name: Option<String>,
    pub width: Option<u64>,
    pub height: Option<u64>,
}

impl<'de> Deserialize<'de> for Link {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        link_from(&v).ok_or_else(|| serde::de::Error::custom("expected a link"))
    }
}

fn link_from(v: &Value) -> Option<Link> {
    match v {
        Value::String(s) => Some(Link {
            href: s.clone(),
            ..Link::default()
        }),
        Value::Object(m) => {
            let str_of = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_owned);
            let href = str_of("href")
                .or_else(|| m.get("url").and_then(link_from).map(|l| l.href))
                .or_else(|| str_of("id"))?;
            Some(Link {
                href,
                media_type: str_of("mediaType"),
                rel: m
                    .get("rel")
                    .map(|r| de::many_from(r.clone(), 8))
                    .unwrap_or_default(),
                name: str_of("name"),
                width: m.get("width").and_then(Value::as_u64),
                height: m.get("height").and_then(Value::as_u64),
            })
        }
        _ => None,
    }
}

/// `url`: a string, a `Link`, or an array of those (PeerTube). At most 32.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Links(pub Vec<Link>);

impl<'de> Deserialize<'de> for Links {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Links(de::many_from(Value::deserialize(d)?, 32)))
    }
}

impl Links {
    /// The link for people: the first `text/html` one, else the first.
    pub fn html(&self) -> Option<&str> {
        self.0
            .iter()
            .find(|l| l.media_type.as_deref() == Some("text/html"))
            .or_else(|| self.0.first())
            .map(|l| l.href.as_str())
    }

    pub fn first(&self) -> Option<&str> {
        self.0.first().map(|l| l.href.as_str())
    }
}

/// An `Image` (avatar, header, emoji picture): its `url` (string or link).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    #[serde(default)]
    pub url: Links,
    #[serde(default, deserialize_with = "de::opt")]
    pub media_type: Option<String>,
    #[serde(default, deserialize_with = "de::opt")]
    pub width: Option<u64>,
    #[serde(default, deserialize_with = "de::opt")]
    pub height: Option<u64>,
}

impl Image {
    pub fn url(&self) -> Option<&str> {
        self.url.first()
    }

    /// Of several sizes (PeerTube), the largest by area; ties and missing
    /// sizes keep the first.
    pub fn best(images: &[Image]) -> Option<&Image> {
        let area = |i: &Image| i.width.unwrap_or(0).saturating_mul(i.height.unwrap_or(0));
        images
            .iter()
            .filter(|i| i.url().is_some())
            .fold(None, |best: Option<&Image>, i| match best {
                Some(b) if area(b) >= area(i) => Some(b),
                _ => Some(i),
            })
    }
}

/// A `tag` entry: `Mention`, `Hashtag`, `Emoji` (with `icon`), or an
/// FEP-e232 `Link` (quotes). Other types are kept with their name.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tag {
    #[serde(rename = "type", default, deserialize_with = "de::opt")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "de::opt")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "de::opt")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "de::opt")]
    pub href: Option<String>,
    #[serde(default, deserialize_with = "de::opt")]
    pub media_type: Option<String>,
    #[serde(default, deserialize_with = "de::many::<_, _, 8>")]
    pub rel: Vec<String>,
    #[serde(default, deserialize_with = "de::many::<_, _, 4>")]
    pub icon: Vec<Image>,
    #[serde(default, deserialize_with = "de::time")]
    pub updated: Option<DateTime<Utc>>,
}

impl Tag {
    pub fn is(&self, kind: &str) -> bool {
        self.kind.as_deref() == Some(kind)
    }
}

/// A mention of an account: the actor's id (`href`) and the handle as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Mention<'a> {
    pub href: &'a str,
    pub name: Option<&'a str>,
}

/// A hashtag: the name without `#`, and the sender's link for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Hashtag<'a> {
    pub name: &'a str,
    pub href: Option<&'a str>,
}

/// A custom emoji: the shortcode without colons and its picture.
#[derive(Debug, Clone, PartialEq)]
pub struct Emoji<'a> {
    pub shortcode: &'a str,
    pub id: Option<&'a str>,
    pub url: &'a str,
    pub media_type: Option<&'a str>,
    pub updated: Option<DateTime<Utc>>,
}

pub(crate) fn mentions(tags: &[Tag]) -> impl Iterator<Item = Mention<'_>> {
    tags.iter().filter(|t| t.is("Mention")).filter_map(|t| {
        Some(Mention {
            href: t.href.as_deref()?,
            name: t.name.as_deref(),
        })
    })
}

pub(crate) fn hashtags(tags: &[Tag]) -> impl Iterator<Item = Hashtag<'_>> {
    tags.iter().filter(|t| t.is("Hashtag")).filter_map(|t| {
        let name = t.name.as_deref()?;
        let name = name.strip_prefix('#').unwrap_or(name);
        (!name.is_empty()).then_some(Hashtag {
            name,
            href: t.href.as_deref(),
        })
    })
}

pub(crate) fn emojis(tags: &[Tag]) -> impl Iterator<Item = Emoji<'_>> {
    tags.iter().filter(|t| t.is("Emoji")).filter_map(|t| {
        let name = t.name.as_deref()?;
        let shortcode = name.trim_matches(':');
        let icon = t.icon.first()?;
        (!shortcode.is_empty()).then_some(Emoji {
            shortcode,
            id: t.id.as_deref(),
            url: icon.url()?,
            media_type: icon.media_type.as_deref(),
            updated: t.updated,
        })
    })
}

/// A media `attachment` (`Document`, `Image`, `Video`, `Audio`, `Link`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    #[serde(rename = "type", default, deserialize_with = "de::opt")]
    pub kind: Option<String>,
    #[serde(default)]
    pub url: Links,
    #[serde(default, deserialize_with = "de::opt")]
    pub href: Option<String>,
    #[serde(default, deserialize_with = "de::opt")]
    pub media_type: Option<String>,
    #[serde(default, deserialize_with = "de::opt")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "de::opt")]
    pub summary: Option<String>,
    #[serde(default, deserialize_with = "de::opt")]
    pub blurhash: Option<String>,
    #[serde(default, deserialize_with = "de::point")]
    pub focal_point: Option<[f64; 2]>,
    #[serde(default, deserialize_with = "de::opt")]
    pub width: Option<u64>,
    #[serde(default, deserialize_with = "de::opt")]
    pub height: Option<u64>,
}

impl Attachment {
    /// Where the media is: `url` (or a `Link`'s `href`).
    pub fn url(&self) -> Option<&str> {
        self.url.first().or(self.href.as_deref())
    }

    /// The description: `name` (Mastodon), else `summary` (GoToSocial).
    pub fn alt(&self) -> Option<&str> {
        self.name
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .or_else(|| self.summary.as_deref().filter(|s| !s.trim().is_empty()))
    }

    /// The focal point, each coordinate clamped to -1..=1.
    pub fn focal_point(&self) -> Option<(f64, f64)> {
        self.focal_point
            .map(|[x, y]| (x.clamp(-1.0, 1.0), y.clamp(-1.0, 1.0)))
    }
}
