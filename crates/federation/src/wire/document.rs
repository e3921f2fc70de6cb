//! The documents that nest in one another, kept in one module because
//! their types are recursive: objects (notes, questions, pages…), which
//! carry reply collections; activities, whose `object` is an [`Item`] (an
//! id or an embedded activity, actor, object or collection); and
//! collections, whose items are [`Item`]s.
//!
//! Objects: `Note`, `Question`, `Article`, `Page`, `Video`, `Image`, `Event`, `Tombstone`…
//!
//! Activities: Activities and what they act on.
//!
//! Collections: `Collection`, `OrderedCollection` and their pages.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::actor::{Actor, ActorType};
use super::common::{self, Attachment, Emoji, HasId, Hashtag, Links, Mention, Reference, Tag};
use super::de::{self, DepthGuard, LangMap, type_enum};
use super::limits;

type_enum! {
    /// An object's `type`.
    ObjectType { Note, Question, Article, Page, Video, Image, Audio, Document, Event, Tombstone }
}

/// The public collection, in each spelling servers use.
pub const PUBLIC: [&str; 3] = [
    "https://www.w3.org/ns/activitystreams#Public",
    "as:Public",
    "Public",
];

/// A post (or other object) as other servers send it. Nothing but `type`
/// is required here; [`super::parse_object`] insists on `id`.
///
/// HTML fields (`content`, `summary` as sent by some) are the sender's
/// markup, unsanitised: see [`crate::sanitize::sanitize_html`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Object {
    #[serde(default, deserialize_with = "de::opt")]
    pub id: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: ObjectType,
    /// Authors: ids or embedded actors (PeerTube sends a `Person` and a
    /// `Group`). See [`Object::attributed_to`].
    #[serde(default, deserialize_with = "de::many::<_, _, 8>")]
    pub attributed_to: Vec<AttributedTo>,
    #[serde(default, deserialize_with = "de::opt")]
    pub content: Option<String>,
    #[serde(default)]
    pub content_map: LangMap,
    #[serde(default, deserialize_with = "de::opt")]
    pub summary: Option<String>,
    #[serde(default)]
    pub summary_map: LangMap,
    #[serde(default, deserialize_with = "de::opt")]
    pub name: Option<String>,
    #[serde(default)]
    pub name_map: LangMap,
    /// `true`/`false`; `null` (Pleroma) and odd shapes are `None`.
    #[serde(default, deserialize_with = "de::flag")]
    pub sensitive: Option<bool>,
    #[serde(default, deserialize_with = "de::id")]
    pub in_reply_to: Option<String>,
    #[serde(default, deserialize_with = "de::time")]
    pub published: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "de::time")]
    pub updated: Option<DateTime<Utc>>,
    #[serde(default)]
    pub url: Links,
    /// Recipients, at most [`limits::RECIPIENTS`] each.
    #[serde(default, deserialize_with = "de::ids::<_, { limits::RECIPIENTS }>")]
    pub to: Vec<String>,
    #[serde(default, deserialize_with = "de::ids::<_, { limits::RECIPIENTS }>")]
    pub cc: Vec<String>,
    /// At most [`limits::TAGS`].
    #[serde(default, deserialize_with = "de::many::<_, _, { limits::TAGS }>")]
    pub tag: Vec<Tag>,
    /// At most [`limits::ATTACHMENTS`].
    #[serde(
        default,
        deserialize_with = "de::many::<_, _, { limits::ATTACHMENTS }>"
    )]
    pub attachment: Vec<Attachment>,
    #[serde(default, deserialize_with = "de::opt")]
    pub replies: Option<Reference<Collection>>,
    /// FEP-044f.
    #[serde(default, deserialize_with = "de::id")]
    pub quote: Option<String>,
    /// FEP-044f: the quoted author's approval stamp.
    #[serde(default, deserialize_with = "de::id")]
    pub quote_authorization: Option<String>,
    #[serde(default, deserialize_with = "de::id")]
    pub quote_url: Option<String>,
    /// Fedibird.
    #[serde(default, deserialize_with = "de::id")]
    pub quote_uri: Option<String>,
    /// Misskey.
    #[serde(rename = "_misskey_quote", default, deserialize_with = "de::id")]
    pub misskey_quote: Option<String>,
    /// Single-choice poll options, at most [`limits::POLL_OPTIONS`].
    #[serde(
        default,
        deserialize_with = "de::many::<_, _, { limits::POLL_OPTIONS }>"
    )]
    pub one_of: Vec<PollOption>,
    /// Multiple-choice poll options, at most [`limits::POLL_OPTIONS`].
    #[serde(
        default,
        deserialize_with = "de::many::<_, _, { limits::POLL_OPTIONS }>"
    )]
    pub any_of: Vec<PollOption>,
    #[serde(default, deserialize_with = "de::time")]
    pub end_time: Option<DateTime<Utc>>,
    /// A timestamp (Mastodon), a naive one (Pleroma) or `true`; other
    /// shapes are dropped.
    #[serde(default, deserialize_with = "closed")]
    pub closed: Option<Value>,
    #[serde(default, deserialize_with = "de::opt")]
    pub voters_count: Option<u64>,
    #[serde(default, deserialize_with = "de::opt")]
    pub source: Option<Source>,
    /// Lemmy and PeerTube: `{"identifier": "fr", "name": "Français"}`.
    #[serde(default, deserialize_with = "de::opt")]
    pub language: Option<Language>,
    /// A `Tombstone`'s former type.
    #[serde(default, deserialize_with = "de::opt")]
    pub former_type: Option<String>,
}

fn closed<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Ok(match Value::deserialize(d)? {
        v @ (Value::String(_) | Value::Bool(_)) => Some(v),
        _ => None,
    })
}

/// An `attributedTo` entry: an id, or an embedded actor with its `type`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AttributedTo {
    pub id: String,
    pub kind: Option<String>,
}

impl<'de> Deserialize<'de> for AttributedTo {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let id = match &v {
            Value::String(_) | Value::Object(_) => de::id_in(&v),
            _ => None,
        }
        .ok_or_else(|| serde::de::Error::custom("expected an id"))?;
        let kind = v.get("type").and_then(de::type_name).map(str::to_owned);
        Ok(AttributedTo { id, kind })
    }
}

/// `source`: the author's text before rendering (Misskey MFM, Lemmy and
/// PeerTube Markdown, Friendica BBCode); a bare string is Pleroma's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Source {
    pub content: String,
    pub media_type: Option<String>,
}

impl<'de> Deserialize<'de> for Source {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(content) => Ok(Source {
                content,
                media_type: None,
            }),
            Value::Object(m) => Ok(Source {
                content: m
                    .get("content")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                media_type: m
                    .get("mediaType")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            }),
            _ => Err(serde::de::Error::custom("expected a source")),
        }
    }
}

/// Lemmy/PeerTube `language`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Language {
    #[serde(default, deserialize_with = "de::opt")]
    pub identifier: Option<String>,
    #[serde(default, deserialize_with = "de::opt")]
    pub name: Option<String>,
}

/// A poll option as sent: a `Note` with `name` and `replies.totalItems`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PollOption {
    #[serde(default, deserialize_with = "de::opt")]
    pub name: Option<String>,
    #[serde(default)]
    pub name_map: LangMap,
    #[serde(default, deserialize_with = "de::opt")]
    pub replies: Option<OptionVotes>,
}

/// `replies` of a poll option: only the count.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OptionVotes {
    #[serde(default, deserialize_with = "de::opt")]
    pub total_items: Option<u64>,
}

/// A poll, whichever way it was spelled.
#[derive(Debug, Clone, PartialEq)]
pub struct Poll<'a> {
    /// `anyOf` (several choices allowed) rather than `oneOf`.
    pub multiple: bool,
    /// Options in order: title and vote count (absent when not disclosed).
    pub options: Vec<(&'a str, Option<u64>)>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Closed: by `closed` (a time, or `true`).
    pub closed: bool,
    pub closed_at: Option<DateTime<Utc>>,
    pub voters_count: Option<u64>,
}

impl HasId for Object {
    fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
}

impl Object {
    /// The content as remote HTML (unsanitised): `content`, else the
    /// `contentMap` entry (`und`, else the first).
    pub fn content_html(&self) -> Option<&str> {
        self.content_html_in(None)
    }

    /// As [`Object::content_html`], preferring `lang` in `contentMap` when
    /// `content` is absent.
    pub fn content_html_in(&self, lang: Option<&str>) -> Option<&str> {
        de::text_or_map(self.content.as_deref(), &self.content_map, lang)
    }

    /// The content warning (or summary): `summary`, else `summaryMap`.
    pub fn summary(&self) -> Option<&str> {
        de::text_or_map(self.summary.as_deref(), &self.summary_map, None)
    }

    /// The title (`Article`, `Page`, `Video`) or poll vote choice.
    pub fn name(&self) -> Option<&str> {
        de::text_or_map(self.name.as_deref(), &self.name_map, None)
    }

    /// The language: Lemmy/PeerTube's `language`, else the only
    /// `contentMap` language.
    pub fn language(&self) -> Option<&str> {
        if let Some(l) = self.language.as_ref().and_then(|l| l.identifier.as_deref()) {
            return Some(l);
        }
        match self.content_map.0.as_slice() {
            [(lang, _)] => Some(lang),
            _ => None,
        }
    }

    /// The author: the first `Person`-typed entry, else the first that is
    /// not a `Group` (PeerTube lists the channel too), else the first.
    pub fn attributed_to(&self) -> Option<&str> {
        let a = &self.attributed_to;
        a.iter()
            .find(|e| e.kind.as_deref() == Some("Person"))
            .or_else(|| a.iter().find(|e| e.kind.as_deref() != Some("Group")))
            .or_else(|| a.first())
            .map(|e| e.id.as_str())
    }

    pub fn url(&self) -> Option<&str> {
        self.url.html()
    }

    pub fn mentions(&self) -> impl Iterator<Item = Mention<'_>> {
        common::mentions(&self.tag)
    }

    pub fn hashtags(&self) -> impl Iterator<Item = Hashtag<'_>> {
        common::hashtags(&self.tag)
    }

    pub fn emojis(&self) -> impl Iterator<Item = Emoji<'_>> {
        common::emojis(&self.tag)
    }

    /// The quoted post's URI, by precedence: `quote` (FEP-044f),
    /// `quoteUrl`, `quoteUri` (Fedibird), `_misskey_quote`, then an
    /// FEP-e232 `Link` tag whose `mediaType` is ActivityStreams.
    pub fn quote_uri(&self) -> Option<&str> {
        self.quote
            .as_deref()
            .or(self.quote_url.as_deref())
            .or(self.quote_uri.as_deref())
            .or(self.misskey_quote.as_deref())
            .or_else(|| {
                self.tag
                    .iter()
                    .filter(|t| t.is("Link"))
                    .find(|t| t.media_type.as_deref().is_some_and(is_activitystreams_type))
                    .and_then(|t| t.href.as_deref())
            })
    }

    /// The poll, if this is a `Question` or has options.
    pub fn poll(&self) -> Option<Poll<'_>> {
        let multiple = self.one_of.is_empty() && !self.any_of.is_empty();
        let options = if multiple { &self.any_of } else { &self.one_of };
        if options.is_empty() && self.kind != ObjectType::Question {
            return None;
        }
        let closed_at = self
            .closed
            .as_ref()
            .and_then(Value::as_str)
            .and_then(de::parse_time);
        Some(Poll {
            multiple,
            options: options
                .iter()
                .filter_map(|o| {
                    let title = de::text_or_map(o.name.as_deref(), &o.name_map, None)?;
                    Some((title, o.replies.as_ref().and_then(|r| r.total_items)))
                })
                .collect(),
            expires_at: self.end_time,
            closed: closed_at.is_some() || self.closed == Some(Value::Bool(true)),
            closed_at,
            voters_count: self.voters_count,
        })
    }

    /// The replies collection's id (inline or a bare URL).
    pub fn replies_id(&self) -> Option<&str> {
        self.replies.as_ref()?.id()
    }

    /// Whether `to` or `cc` name the public collection.
    pub fn is_public(&self) -> bool {
        self.to.iter().chain(&self.cc).any(|r| is_public(r))
    }
}

/// Whether a recipient is the public collection.
pub fn is_public(recipient: &str) -> bool {
    PUBLIC.contains(&recipient)
}

fn is_activitystreams_type(media_type: &str) -> bool {
    let m = media_type.trim();
    m.starts_with("application/activity+json")
        || (m.starts_with("application/ld+json")
            && m.contains("https://www.w3.org/ns/activitystreams"))
}

type_enum! {
    /// An activity's `type`.
    ActivityType {
        Create, Update, Delete, Follow, Accept, Reject, Undo, Announce, Like,
        EmojiReact, Block, Move, Flag, Add, Remove, QuoteRequest, Dislike,
        Invite, Join, Leave, View, Read, Listen
    }
}

impl ActivityType {
    fn is_activity_name(name: &str) -> bool {
        !matches!(Self::from_name(name), Self::Other(_))
    }
}

/// An activity envelope. `type` and `actor` are required by
/// [`super::parse_activity`]; an `id` is not (GoToSocial sends `Delete`s
/// without one).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    #[serde(default, deserialize_with = "de::opt")]
    pub id: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: ActivityType,
    #[serde(default, deserialize_with = "de::opt")]
    pub actor: Option<Reference<Actor>>,
    /// What the activity acts on; a list only for `Flag` (at most
    /// [`limits::OBJECTS`]).
    #[serde(default, deserialize_with = "de::many::<_, _, { limits::OBJECTS }>")]
    pub object: Vec<Item>,
    #[serde(default, deserialize_with = "de::opt")]
    pub target: Option<Item>,
    #[serde(default, deserialize_with = "de::opt")]
    pub instrument: Option<Item>,
    #[serde(default, deserialize_with = "de::opt")]
    pub result: Option<Item>,
    #[serde(default, deserialize_with = "de::ids::<_, { limits::RECIPIENTS }>")]
    pub to: Vec<String>,
    #[serde(default, deserialize_with = "de::ids::<_, { limits::RECIPIENTS }>")]
    pub cc: Vec<String>,
    #[serde(default, deserialize_with = "de::time")]
    pub published: Option<DateTime<Utc>>,
    /// A `Flag`'s comment, or an emoji reaction.
    #[serde(default, deserialize_with = "de::opt")]
    pub content: Option<String>,
    /// Misskey's reaction on a `Like`.
    #[serde(rename = "_misskey_reaction", default, deserialize_with = "de::opt")]
    pub misskey_reaction: Option<String>,
    /// Custom emoji of a reaction.
    #[serde(default, deserialize_with = "de::many::<_, _, { limits::TAGS }>")]
    pub tag: Vec<Tag>,
}

impl HasId for Activity {
    fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
}

impl Activity {
    /// The actor's id (a string or an embedded actor's `id`).
    pub fn actor_id(&self) -> Option<&str> {
        self.actor.as_ref()?.id()
    }

    /// The (first) object.
    pub fn object(&self) -> Option<&Item> {
        self.object.first()
    }

    /// The (first) object's id.
    pub fn object_id(&self) -> Option<&str> {
        self.object()?.id()
    }

    /// `to` then `cc`.
    pub fn recipients(&self) -> impl Iterator<Item = &str> {
        self.to.iter().chain(&self.cc).map(String::as_str)
    }

    pub fn is_public(&self) -> bool {
        self.recipients().any(is_public)
    }

    /// The reaction: `_misskey_reaction`, else `content` (for `Like` and
    /// `EmojiReact`).
    pub fn reaction(&self) -> Option<&str> {
        self.misskey_reaction
            .as_deref()
            .or(self.content.as_deref())
            .filter(|r| !r.is_empty())
    }

    pub fn emojis(&self) -> impl Iterator<Item = Emoji<'_>> {
        common::emojis(&self.tag)
    }
}

/// FEP-044f approval stamp for a quote.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuoteAuthorization {
    #[serde(default, deserialize_with = "de::opt")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "de::id")]
    pub attributed_to: Option<String>,
    /// The quoting post.
    #[serde(default, deserialize_with = "de::id")]
    pub interacting_object: Option<String>,
    /// The quoted post.
    #[serde(default, deserialize_with = "de::id")]
    pub interaction_target: Option<String>,
}

/// An activity's object (or target, instrument, result; a collection's
/// entry): an id, or an embedded activity, actor, object, collection or
/// quote stamp, told apart by `type` (an unknown type with an `actor` is
/// taken for an activity, Pleroma's `Note`s carry `actor` too). Embedded things past
/// [`de::MAX_EMBED_DEPTH`], or that cannot be read, are kept as their id.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Id(String),
    Activity(Box<Activity>),
    Actor(Box<Actor>),
    Object(Box<Object>),
    Collection(Box<Collection>),
    QuoteAuthorization(Box<QuoteAuthorization>),
}

impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        item_from(&v).ok_or_else(|| serde::de::Error::custom("expected an id or an object"))
    }
}

fn item_from(v: &Value) -> Option<Item> {
    let m = match v {
        Value::String(s) => return Some(Item::Id(s.clone())),
        Value::Object(m) => m,
        _ => return None,
    };
    let fallback = || de::id_in(v).map(Item::Id);
    let Some(kind) = m.get("type").and_then(de::type_name) else {
        return fallback();
    };
    let Some(_guard) = DepthGuard::enter() else {
        return fallback();
    };
    let boxed = |r: Result<Item, serde_json::Error>| r.ok().or_else(fallback);
    if ActorType::is_actor(kind) {
        boxed(Actor::deserialize(v).map(|a| Item::Actor(Box::new(a))))
    } else if kind == "QuoteAuthorization" {
        boxed(QuoteAuthorization::deserialize(v).map(|q| Item::QuoteAuthorization(Box::new(q))))
    } else if !matches!(CollectionType::from_name(kind), CollectionType::Other(_)) {
        boxed(Collection::deserialize(v).map(|c| Item::Collection(Box::new(c))))
    } else if ActivityType::is_activity_name(kind)
        || (m.contains_key("actor") && matches!(ObjectType::from_name(kind), ObjectType::Other(_)))
    {
        boxed(Activity::deserialize(v).map(|a| Item::Activity(Box::new(a))))
    } else {
        boxed(Object::deserialize(v).map(|o| Item::Object(Box::new(o))))
    }
}

impl Item {
    /// The id (a bare one or the embedded thing's).
    pub fn id(&self) -> Option<&str> {
        match self {
            Item::Id(s) => Some(s),
            Item::Activity(a) => a.id(),
            Item::Actor(a) => a.id(),
            Item::Object(o) => o.id(),
            Item::Collection(c) => c.id(),
            Item::QuoteAuthorization(q) => q.id.as_deref(),
        }
    }

    /// The embedded thing's `type` (`None` for a bare id).
    pub fn kind(&self) -> Option<&str> {
        match self {
            Item::Id(_) => None,
            Item::Activity(a) => Some(a.kind.as_str()),
            Item::Actor(a) => Some(a.kind.as_str()),
            Item::Object(o) => Some(o.kind.as_str()),
            Item::Collection(c) => Some(c.kind.as_str()),
            Item::QuoteAuthorization(_) => Some("QuoteAuthorization"),
        }
    }

    pub fn as_activity(&self) -> Option<&Activity> {
        match self {
            Item::Activity(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_actor(&self) -> Option<&Actor> {
        match self {
            Item::Actor(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Item::Object(o) => Some(o),
            _ => None,
        }
    }

    pub fn as_collection(&self) -> Option<&Collection> {
        match self {
            Item::Collection(c) => Some(c),
            _ => None,
        }
    }

    pub fn as_quote_authorization(&self) -> Option<&QuoteAuthorization> {
        match self {
            Item::QuoteAuthorization(q) => Some(q),
            _ => None,
        }
    }
}

type_enum! {
    /// A collection's `type`.
    CollectionType { Collection, OrderedCollection, CollectionPage, OrderedCollectionPage }
}

/// A collection or a page of one. `items` and `orderedItems` are read into
/// one list, at most [`limits::COLLECTION_ITEMS`] (the rest are dropped).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Collection {
    #[serde(default, deserialize_with = "de::opt")]
    pub id: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: CollectionType,
    #[serde(default, deserialize_with = "de::opt")]
    pub total_items: Option<u64>,
    #[serde(default, deserialize_with = "de::opt")]
    pub first: Option<Reference<Collection>>,
    #[serde(default, deserialize_with = "de::id")]
    pub last: Option<String>,
    #[serde(default, deserialize_with = "de::id")]
    pub next: Option<String>,
    #[serde(default, deserialize_with = "de::id")]
    pub prev: Option<String>,
    #[serde(default, deserialize_with = "de::id")]
    pub part_of: Option<String>,
    #[serde(default, deserialize_with = "items")]
    pub items: Vec<Item>,
    #[serde(default, deserialize_with = "items")]
    pub ordered_items: Vec<Item>,
}

fn items<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Item>, D::Error> {
    Ok(de::many_from(
        Value::deserialize(d)?,
        limits::COLLECTION_ITEMS,
    ))
}

impl HasId for Collection {
    fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
}

impl Collection {
    /// The entries on this page, `items` then `orderedItems`, at most
    /// [`limits::COLLECTION_ITEMS`] in all.
    pub fn entries(&self) -> impl Iterator<Item = &Item> {
        self.items
            .iter()
            .chain(&self.ordered_items)
            .take(limits::COLLECTION_ITEMS)
    }

    /// The first page, if embedded.
    pub fn first_page(&self) -> Option<&Collection> {
        self.first.as_ref()?.embedded()
    }

    /// The first page's id (embedded or a URL).
    pub fn first_id(&self) -> Option<&str> {
        self.first.as_ref()?.id()
    }

    /// Whether `type` is one of the collection types.
    pub fn is_collection(&self) -> bool {
        !matches!(self.kind, CollectionType::Other(_))
    }
}
