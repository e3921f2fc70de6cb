//! ActivityStreams as other servers send it: serde types for inbound
//! documents (activities, actors, objects, collections, WebFinger,
//! NodeInfo) and the `parse_*` entry points that bound them.
//!
//! # Lenient where real servers differ
//!
//! `@context` is ignored, unknown fields are ignored, unknown `type`s are
//! kept as strings (`Other`), and a field of an unexpected shape counts as
//! absent rather than refusing the document: one-or-many (`"to": "x"` or
//! `["x"]`), an id or an embedded object (`{"id": …}`), language maps,
//! `sensitive: null`, timestamps without a timezone (read as UTC). The
//! accessors (`Object::content_html`, `Object::quote_uri`, `Object::poll`,
//! `Actor::public_key_pem`, …) hide these variants from callers.
//!
//! # Strict where safety needs it
//!
//! - Bodies over [`limits::BODY_BYTES`] are refused ([`WireError::TooLarge`]).
//! - JSON nested beyond `serde_json`'s recursion limit (128) is refused
//!   ([`WireError::TooDeep`]), in ignored fields too; embedded objects past
//!   [`de::MAX_EMBED_DEPTH`] are kept as their ids only.
//! - Lists are capped (see [`limits`]): entries past a cap are dropped, not
//!   an error, so a hostile payload cannot make us keep (or store) more.
//! - Only a JSON object is a document (`[…]` is refused: serde would
//!   otherwise read an array into a struct field by field).
//! - The entry points require what identifies a document: an activity's
//!   `type` and `actor`, an actor's or object's `id`.
//!
//! Nothing here is verified: ids, embedded objects and keys are the
//! sender's claims. Callers check origins (and signatures) before trusting
//! them, and sanitise HTML with [`crate::sanitize`].

pub(crate) mod de;

mod actor;
mod common;
mod discovery;
mod document;

pub use actor::{Actor, ActorType, Endpoints, Multikey, ProfileField, PublicKey};
pub use common::{Attachment, Emoji, HasId, Hashtag, Image, Link, Links, Mention, Reference, Tag};
pub use de::{LangMap, MAX_EMBED_DEPTH};
pub use discovery::{JrdLink, NodeInfo, NodeInfoLinks, Software, Usage, UserCounts, WebFinger};
pub use document::{Activity, ActivityType, Item, QuoteAuthorization};
pub use document::{
    AttributedTo, Language, Object, ObjectType, OptionVotes, PUBLIC, Poll, PollOption, Source,
    is_public,
};
pub use document::{Collection, CollectionType};

use serde::de::DeserializeOwned;

/// How much of a payload is kept. Entries past a cap are silently dropped
/// (the document still parses).
pub mod limits {
    /// Largest body accepted by the `parse_*` functions: 1 MiB.
    pub const BODY_BYTES: usize = 1024 * 1024;
    /// `tag` entries kept (mentions, hashtags, emoji, links).
    pub const TAGS: usize = 100;
    /// Media `attachment`s kept on an object.
    pub const ATTACHMENTS: usize = 20;
    /// Options kept in each of `oneOf` / `anyOf`.
    pub const POLL_OPTIONS: usize = 100;
    /// Entries kept in each of `to` and `cc`.
    pub const RECIPIENTS: usize = 1000;
    /// Objects kept from an activity's `object` array (`Flag`).
    pub const OBJECTS: usize = 100;
    /// Entries kept from a collection page (`items` and `orderedItems`).
    pub const COLLECTION_ITEMS: usize = 1000;
    /// Keys kept from `publicKey` and `assertionMethod`.
    pub const KEYS: usize = 10;
    /// Pictures kept from `icon` / `image`.
    pub const IMAGES: usize = 10;
    /// Actor `attachment` entries (profile fields) kept.
    pub const FIELDS: usize = 50;
    /// `alsoKnownAs` / `attributionDomains` entries kept.
    pub const ALIASES: usize = 100;
}

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("body of {size} bytes is over the {max}-byte limit")]
    TooLarge { size: usize, max: usize },
    #[error("JSON is nested too deeply")]
    TooDeep,
    #[error("not valid JSON: {0}")]
    Syntax(String),
    #[error("not a JSON object of the expected shape: {0}")]
    Shape(String),
    #[error("{what} has no `{field}`")]
    Missing {
        what: &'static str,
        field: &'static str,
    },
    #[error("`type` {found:?} is not {expected}")]
    WrongType {
        found: String,
        expected: &'static str,
    },
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, WireError> {
    if bytes.len() > limits::BODY_BYTES {
        return Err(WireError::TooLarge {
            size: bytes.len(),
            max: limits::BODY_BYTES,
        });
    }
    if json_depth(bytes) > MAX_JSON_DEPTH {
        return Err(WireError::TooDeep);
    }
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(WireError::Shape("expected a JSON object".into()));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            _ if e.to_string().starts_with("recursion limit exceeded") => WireError::TooDeep,
            Category::Data => WireError::Shape(e.to_string()),
            Category::Syntax | Category::Eof | Category::Io => WireError::Syntax(e.to_string()),
        }
    })
}

/// `serde_json`'s default recursion limit, applied to the whole document
/// (including fields we ignore, which `serde_json` skips without counting).
const MAX_JSON_DEPTH: usize = 128;

/// The deepest nesting of arrays and objects in `bytes`, strings skipped
/// (a linear scan; invalid JSON is left to the parser).
fn json_depth(bytes: &[u8]) -> usize {
    let (mut depth, mut max, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in bytes {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// An inbox payload: requires `type` and `actor` (an id or an object with
/// one). Unknown types are accepted (kept as `ActivityType::Other`); actor,
/// object and collection types are not (a Pleroma `Note` has an `actor`
/// too, but is not an activity). The `object` may be an id or an embedded activity, actor or object.
pub fn parse_activity(bytes: &[u8]) -> Result<Activity, WireError> {
    let a: Activity = parse(bytes)?;
    let name = a.kind.as_str();
    if name.is_empty() {
        return Err(WireError::Missing {
            what: "activity",
            field: "type",
        });
    }
    if ActorType::is_actor(name)
        || !matches!(ObjectType::from_name(name), ObjectType::Other(_))
        || !matches!(CollectionType::from_name(name), CollectionType::Other(_))
    {
        return Err(WireError::WrongType {
            found: name.to_owned(),
            expected: "an activity type",
        });
    }
    if a.actor_id().is_none() {
        return Err(WireError::Missing {
            what: "activity",
            field: "actor",
        });
    }
    Ok(a)
}

/// A fetched actor: requires an actor `type` and an `id`.
pub fn parse_actor(bytes: &[u8]) -> Result<Actor, WireError> {
    let a: Actor = parse(bytes)?;
    if let ActorType::Other(found) = &a.kind {
        return Err(WireError::WrongType {
            found: found.clone(),
            expected: "an actor type",
        });
    }
    if a.id.is_none() {
        return Err(WireError::Missing {
            what: "actor",
            field: "id",
        });
    }
    Ok(a)
}

/// A fetched object (a post, or a `Tombstone`): requires `type` and `id`.
/// Unknown object types are accepted (kept as `ObjectType::Other`); actor,
/// activity and collection types are not.
pub fn parse_object(bytes: &[u8]) -> Result<Object, WireError> {
    let o: Object = parse(bytes)?;
    let name = o.kind.as_str();
    if name.is_empty() {
        return Err(WireError::Missing {
            what: "object",
            field: "type",
        });
    }
    if ActorType::is_actor(name)
        || !matches!(ActivityType::from_name(name), ActivityType::Other(_))
        || !matches!(CollectionType::from_name(name), CollectionType::Other(_))
    {
        return Err(WireError::WrongType {
            found: name.to_owned(),
            expected: "an object type",
        });
    }
    if o.id.is_none() {
        return Err(WireError::Missing {
            what: "object",
            field: "id",
        });
    }
    Ok(o)
}

/// A fetched collection or collection page.
pub fn parse_collection(bytes: &[u8]) -> Result<Collection, WireError> {
    let c: Collection = parse(bytes)?;
    if !c.is_collection() {
        return Err(WireError::WrongType {
            found: c.kind.as_str().to_owned(),
            expected: "a collection type",
        });
    }
    Ok(c)
}

/// Anything an id may point at (an object fetched to resolve a reference),
/// told apart by `type`; a document without one is refused.
pub fn parse_item(bytes: &[u8]) -> Result<Item, WireError> {
    match parse::<Item>(bytes)? {
        Item::Id(_) => Err(WireError::Missing {
            what: "document",
            field: "type",
        }),
        item => Ok(item),
    }
}

/// A WebFinger JRD.
pub fn parse_webfinger(bytes: &[u8]) -> Result<WebFinger, WireError> {
    parse(bytes)
}

/// `/.well-known/nodeinfo`.
pub fn parse_nodeinfo_links(bytes: &[u8]) -> Result<NodeInfoLinks, WireError> {
    parse(bytes)
}

/// A NodeInfo 2.0/2.1 document.
pub fn parse_nodeinfo(bytes: &[u8]) -> Result<NodeInfo, WireError> {
    parse(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_ignores_strings() {
        assert_eq!(json_depth(br#"{"a":[{"b":"[[[{{{\"]]"}]}"#), 3);
        assert_eq!(json_depth(b"[]"), 1);
        assert_eq!(json_depth(b""), 0);
    }
}
