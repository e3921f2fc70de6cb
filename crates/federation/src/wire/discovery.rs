//! WebFinger (RFC 7033 JRD) and NodeInfo 2.0/2.1 documents, parsing only.

use serde::Deserialize;

use super::de;

/// A WebFinger answer. `subject` may differ in case from what was asked
/// (Mastodon) and `aliases` may be missing (Misskey).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct WebFinger {
    #[serde(default, deserialize_with = "de::opt")]
    pub subject: Option<String>,
    #[serde(default, deserialize_with = "de::many::<_, _, 32>")]
    pub aliases: Vec<String>,
    #[serde(default, deserialize_with = "de::many::<_, _, 64>")]
    pub links: Vec<JrdLink>,
}

/// A JRD link: `rel`, `type`, and `href` or `template` (OStatus subscribe).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct JrdLink {
    #[serde(default, deserialize_with = "de::opt")]
    pub rel: Option<String>,
    #[serde(rename = "type", default, deserialize_with = "de::opt")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "de::opt")]
    pub href: Option<String>,
    #[serde(default, deserialize_with = "de::opt")]
    pub template: Option<String>,
}

impl WebFinger {
    /// The ActivityPub actor: the `self` link of type
    /// `application/activity+json` or ActivityStreams `application/ld+json`.
    pub fn actor_url(&self) -> Option<&str> {
        self.links
            .iter()
            .filter(|l| l.rel.as_deref() == Some("self"))
            .find(|l| {
                l.kind.as_deref().is_some_and(|t| {
                    t.starts_with("application/activity+json")
                        || (t.starts_with("application/ld+json") && t.contains("activitystreams"))
                })
            })
            .and_then(|l| l.href.as_deref())
    }

    /// The first link with this `rel`'s `href`.
    pub fn link(&self, rel: &str) -> Option<&str> {
        self.links
            .iter()
            .find(|l| l.rel.as_deref() == Some(rel))
            .and_then(|l| l.href.as_deref())
    }
}

/// `/.well-known/nodeinfo`: links to the NodeInfo documents.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct NodeInfoLinks {
    #[serde(default, deserialize_with = "de::many::<_, _, 16>")]
    pub links: Vec<JrdLink>,
}

impl NodeInfoLinks {
    /// The newest schema offered among 2.1 and 2.0.
    pub fn best(&self) -> Option<&str> {
        [
            "http://nodeinfo.diaspora.software/ns/schema/2.1",
            "http://nodeinfo.diaspora.software/ns/schema/2.0",
        ]
        .iter()
        .find_map(|rel| {
            self.links
                .iter()
                .find(|l| l.rel.as_deref() == Some(*rel))
                .and_then(|l| l.href.as_deref())
        })
    }
}

/// A NodeInfo 2.0 or 2.1 document (`metadata` ignored).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfo {
    #[serde(default, deserialize_with = "de::opt")]
    pub version: Option<String>,
    #[serde(default, deserialize_with = "de::opt")]
    pub software: Option<Software>,
    #[serde(default, deserialize_with = "de::many::<_, _, 16>")]
    pub protocols: Vec<String>,
    #[serde(default, deserialize_with = "de::opt")]
    pub usage: Option<Usage>,
    #[serde(default, deserialize_with = "de::flag")]
    pub open_registrations: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Software {
    #[serde(default, deserialize_with = "de::opt")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "de::opt")]
    pub version: Option<String>,
    #[serde(default, deserialize_with = "de::opt")]
    pub repository: Option<String>,
    #[serde(default, deserialize_with = "de::opt")]
    pub homepage: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    #[serde(default, deserialize_with = "de::opt")]
    pub users: Option<UserCounts>,
    #[serde(default, deserialize_with = "de::opt")]
    pub local_posts: Option<u64>,
    #[serde(default, deserialize_with = "de::opt")]
    pub local_comments: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserCounts {
    #[serde(default, deserialize_with = "de::opt")]
    pub total: Option<u64>,
    #[serde(default, deserialize_with = "de::opt")]
    pub active_month: Option<u64>,
    #[serde(default, deserialize_with = "de::opt")]
    pub active_halfyear: Option<u64>,
}
