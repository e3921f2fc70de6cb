//! Actors: local accounts as `Person` (`Service` for bots) and the instance
//! actor as `Application`, with everything Mastodon publishes (keys,
//! collections, shared inbox, images, fields, emoji, flags).

use ferrodon_service::Instance;
use ferrodon_service::accounts::profile_fields;
use ferrodon_storage::accounts::Account;
use ferrodon_storage::emojis::CustomEmoji;
use serde_json::{Map, Value, json};

use super::{context, time};

/// The key id of an actor's main key.
pub fn key_id(actor_uri: &str) -> String {
    format!("{actor_uri}#main-key")
}

/// The shared inbox of this instance.
pub fn shared_inbox(i: &Instance) -> String {
    format!("{}/inbox", i.base_url)
}

/// The instance actor's id.
pub fn instance_actor_uri(i: &Instance) -> String {
    format!("{}/actor", i.base_url)
}

fn image(url: String) -> Value {
    let media_type = match url
        .rsplit('.')
        .next()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("png") => "image/png",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("avif") => "image/avif",
        _ => "image/jpeg",
    };
    json!({"type": "Image", "mediaType": media_type, "url": url})
}

/// An emoji as a `tag` entry.
pub fn emoji_tag(i: &Instance, e: &CustomEmoji) -> Value {
    json!({
        "id": format!("{}/emojis/{}", i.base_url, e.shortcode),
        "type": "Emoji",
        "name": format!(":{}:", e.shortcode),
        "updated": "1970-01-01T00:00:00Z",
        "icon": image(e.image_url.clone()),
    })
}

/// A local account as an actor. A suspended account is published as
/// Mastodon does: its id, names, key and `suspended: true`, nothing else.
pub fn person(i: &Instance, a: &Account) -> Value {
    let uri = i.uri_of(a);
    let mut doc = Map::new();
    doc.insert("@context".into(), context());
    doc.insert("id".into(), json!(uri));
    doc.insert(
        "type".into(),
        json!(if a.bot { "Service" } else { "Person" }),
    );
    doc.insert("following".into(), json!(format!("{uri}/following")));
    doc.insert("followers".into(), json!(format!("{uri}/followers")));
    doc.insert("inbox".into(), json!(format!("{uri}/inbox")));
    doc.insert("outbox".into(), json!(format!("{uri}/outbox")));
    doc.insert(
        "featured".into(),
        json!(format!("{uri}/collections/featured")),
    );
    doc.insert(
        "featuredTags".into(),
        json!(format!("{uri}/collections/tags")),
    );
    doc.insert("preferredUsername".into(), json!(a.username));
    doc.insert("url".into(), json!(i.url_of(a)));
    doc.insert(
        "publicKey".into(),
        json!({"id": key_id(&uri), "owner": uri, "publicKeyPem": a.public_key_pem}),
    );
    doc.insert("endpoints".into(), json!({"sharedInbox": shared_inbox(i)}));
    doc.insert(
        "published".into(),
        json!(time(
            a.created_at
                .date_naive()
                .and_hms_opt(0, 0, 0)
                .map(|t| t.and_utc())
                .unwrap_or(a.created_at)
        )),
    );
    if a.suspended_at.is_some() {
        doc.insert("name".into(), json!(a.username));
        doc.insert("summary".into(), json!(""));
        doc.insert("suspended".into(), json!(true));
        return Value::Object(doc);
    }
    doc.insert("name".into(), json!(a.display_name));
    doc.insert("summary".into(), json!(a.note));
    doc.insert("manuallyApprovesFollowers".into(), json!(a.locked));
    doc.insert("discoverable".into(), json!(a.discoverable));
    doc.insert("indexable".into(), json!(a.indexable));
    doc.insert("memorial".into(), json!(false));
    doc.insert("attributionDomains".into(), json!([]));
    let aliases: Vec<String> = serde_json::from_str(&a.also_known_as).unwrap_or_default();
    if !aliases.is_empty() {
        doc.insert("alsoKnownAs".into(), json!(aliases));
    }
    if let Some(moved_to) = &a.moved_to_uri {
        doc.insert("movedTo".into(), json!(moved_to));
    }
    let fields = profile_fields(a);
    let texts = std::iter::once(a.display_name.as_str())
        .chain(std::iter::once(a.note.as_str()))
        .chain(
            fields
                .iter()
                .flat_map(|f| [f.name.as_str(), f.value.as_str()]),
        );
    let emojis = i.emojis.in_texts(texts);
    doc.insert(
        "tag".into(),
        Value::Array(emojis.iter().map(|e| emoji_tag(i, e)).collect()),
    );
    doc.insert(
        "attachment".into(),
        Value::Array(
            fields
                .iter()
                .map(|f| {
                    let value = if f.value_html.is_empty() {
                        ferrodon_service::text::escape(&f.value)
                    } else {
                        f.value_html.clone()
                    };
                    json!({"type": "PropertyValue", "name": f.name, "value": value})
                })
                .collect(),
        ),
    );
    if let Some(file) = &a.avatar_file {
        doc.insert("icon".into(), image(i.media_url(file)));
    }
    if let Some(file) = &a.header_file {
        doc.insert("image".into(), image(i.media_url(file)));
    }
    Value::Object(doc)
}

/// The instance actor (`/actor`): an `Application` that signs fetches made
/// for the instance itself; it never follows, posts or accepts follows.
pub fn instance_actor(i: &Instance, public_key_pem: &str) -> Value {
    let uri = instance_actor_uri(i);
    json!({
        "@context": context(),
        "id": uri,
        "type": "Application",
        "inbox": format!("{uri}/inbox"),
        "outbox": format!("{uri}/outbox"),
        "preferredUsername": i.domain,
        "url": format!("{}/about/more?instance_actor=true", i.base_url),
        "manuallyApprovesFollowers": true,
        "publicKey": {"id": key_id(&uri), "owner": uri, "publicKeyPem": public_key_pem},
        "endpoints": {"sharedInbox": shared_inbox(i)},
    })
}
