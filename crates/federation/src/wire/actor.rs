//! Actors: `Person`, `Service`, `Application`, `Group`, `Organization`.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::common::{self, Emoji, HasId, Image, Links, Tag};
use super::de::{self, type_enum};
use super::limits;

type_enum! {
    /// An actor's `type`.
    ActorType { Person, Service, Application, Group, Organization }
}

impl ActorType {
    /// Whether a `type` name is one of the five actor types.
    pub fn is_actor(name: &str) -> bool {
        !matches!(Self::from_name(name), Self::Other(_))
    }
}

/// An actor as other servers serve it. Every field but `type` may be absent
/// here; [`super::parse_actor`] insists on `id` and `inbox`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    #[serde(default, deserialize_with = "de::opt")]
    pub id: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: ActorType,
    #[serde(default, deserialize_with = "de::opt")]
    pub preferred_username: Option<String>,
    /// Display name: plain text as sent (may contain `:shortcode:`s); see
    /// [`crate::sanitize::plain_text`].
    #[serde(default, deserialize_with = "de::opt")]
    pub name: Option<String>,
    /// Biography, remote HTML (unsanitised).
    #[serde(default, deserialize_with = "de::opt")]
    pub summary: Option<String>,
    #[serde(default)]
    pub url: Links,
    #[serde(default, deserialize_with = "de::id")]
    pub inbox: Option<String>,
    #[serde(default, deserialize_with = "de::id")]
    pub outbox: Option<String>,
    #[serde(default, deserialize_with = "de::id")]
    pub followers: Option<String>,
    #[serde(default, deserialize_with = "de::id")]
    pub following: Option<String>,
    #[serde(default, deserialize_with = "de::id")]
    pub featured: Option<String>,
    #[serde(default, deserialize_with = "de::id")]
    pub featured_tags: Option<String>,
    #[serde(default, deserialize_with = "de::opt")]
    pub endpoints: Option<Endpoints>,
    /// RSA keys (one or an array), at most [`limits::KEYS`].
    #[serde(default, deserialize_with = "de::many::<_, _, { limits::KEYS }>")]
    pub public_key: Vec<PublicKey>,
    /// FEP-521a keys (`Multikey`), at most [`limits::KEYS`].
    #[serde(default, deserialize_with = "de::many::<_, _, { limits::KEYS }>")]
    pub assertion_method: Vec<Multikey>,
    #[serde(default, deserialize_with = "de::many::<_, _, { limits::IMAGES }>")]
    pub icon: Vec<Image>,
    #[serde(default, deserialize_with = "de::many::<_, _, { limits::IMAGES }>")]
    pub image: Vec<Image>,
    /// Profile fields (`PropertyValue`) and whatever else servers attach.
    #[serde(default, deserialize_with = "de::many::<_, _, { limits::FIELDS }>")]
    pub attachment: Vec<ProfileField>,
    #[serde(default, deserialize_with = "de::many::<_, _, { limits::TAGS }>")]
    pub tag: Vec<Tag>,
    #[serde(default, deserialize_with = "de::flag")]
    pub manually_approves_followers: Option<bool>,
    #[serde(default, deserialize_with = "de::flag")]
    pub discoverable: Option<bool>,
    #[serde(default, deserialize_with = "de::flag")]
    pub indexable: Option<bool>,
    #[serde(default, deserialize_with = "de::flag")]
    pub memorial: Option<bool>,
    #[serde(default, deserialize_with = "de::flag")]
    pub suspended: Option<bool>,
    #[serde(default, deserialize_with = "de::ids::<_, { limits::ALIASES }>")]
    pub also_known_as: Vec<String>,
    #[serde(default, deserialize_with = "de::id")]
    pub moved_to: Option<String>,
    #[serde(default, deserialize_with = "de::many::<_, _, { limits::ALIASES }>")]
    pub attribution_domains: Vec<String>,
    #[serde(default, deserialize_with = "de::time")]
    pub published: Option<DateTime<Utc>>,
}

/// `endpoints`: only `sharedInbox` matters to us.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    #[serde(default, deserialize_with = "de::id")]
    pub shared_inbox: Option<String>,
}

/// A `publicKey` entry (with or without `type: Key`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKey {
    #[serde(default, deserialize_with = "de::opt")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "de::id")]
    pub owner: Option<String>,
    #[serde(default, deserialize_with = "de::opt")]
    pub public_key_pem: Option<String>,
}

/// An FEP-521a `assertionMethod` entry.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Multikey {
    #[serde(default, deserialize_with = "de::opt")]
    pub id: Option<String>,
    #[serde(rename = "type", default, deserialize_with = "de::opt")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "de::id")]
    pub controller: Option<String>,
    #[serde(default, deserialize_with = "de::opt")]
    pub public_key_multibase: Option<String>,
}

/// An actor `attachment` entry; profile fields are `PropertyValue`s with
/// `name` and `value` (remote HTML).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ProfileField {
    #[serde(rename = "type", default, deserialize_with = "de::opt")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "de::opt")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "de::opt")]
    pub value: Option<String>,
}

impl HasId for Actor {
    fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
}

impl Actor {
    /// The PEM of the key `key_id`, if this actor lists it and the key does
    /// not name another owner. The caller must still check that the actor
    /// was fetched from the key id's origin.
    pub fn public_key_pem(&self, key_id: &str) -> Option<&str> {
        self.public_key
            .iter()
            .filter(|k| k.id.as_deref() == Some(key_id))
            .filter(|k| k.owner.is_none() || k.owner.as_deref() == self.id.as_deref())
            .find_map(|k| k.public_key_pem.as_deref())
    }

    /// The shared inbox (`endpoints.sharedInbox`), if any.
    pub fn shared_inbox(&self) -> Option<&str> {
        self.endpoints.as_ref()?.shared_inbox.as_deref()
    }

    /// The profile page for people.
    pub fn url(&self) -> Option<&str> {
        self.url.html()
    }

    /// The avatar (the largest if there are several).
    pub fn avatar(&self) -> Option<&str> {
        Image::best(&self.icon)?.url()
    }

    /// The header picture (the largest if there are several).
    pub fn header(&self) -> Option<&str> {
        Image::best(&self.image)?.url()
    }

    /// Profile fields: `(name, value)` of each `PropertyValue`, value being
    /// remote HTML.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.attachment
            .iter()
            .filter(|a| a.kind.as_deref() == Some("PropertyValue"))
            .filter_map(|a| Some((a.name.as_deref()?, a.value.as_deref()?)))
    }

    /// Custom emoji used in the name, bio and fields.
    pub fn emojis(&self) -> impl Iterator<Item = Emoji<'_>> {
        common::emojis(&self.tag)
    }

    pub fn is_bot(&self) -> bool {
        matches!(self.kind, ActorType::Service | ActorType::Application)
    }

    pub fn is_group(&self) -> bool {
        self.kind == ActorType::Group
    }
}
