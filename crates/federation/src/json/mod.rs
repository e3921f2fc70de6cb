//! Local accounts and statuses as ActivityPub JSON, in the shapes Mastodon
//! emits (so every implementation that reads Mastodon reads us).
//!
//! Documents carry one `@context`: ActivityStreams, the security vocabulary
//! and the extension terms Mastodon defines (toot:, schema:, FEP-044f's
//! quote terms). A superset of what each document uses is valid JSON-LD and
//! what plain-JSON readers ignore.

pub mod activities;
pub mod actor;
pub mod note;

use serde_json::{Value, json};

/// The ActivityPub media type.
pub const ACTIVITY_JSON: &str = "application/activity+json";

/// `as:Public`.
pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// The `@context` of every document we serve or send.
pub fn context() -> Value {
    json!([
        "https://www.w3.org/ns/activitystreams",
        "https://w3id.org/security/v1",
        {
            "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
            "sensitive": "as:sensitive",
            "Hashtag": "as:Hashtag",
            "movedTo": {"@id": "as:movedTo", "@type": "@id"},
            "alsoKnownAs": {"@id": "as:alsoKnownAs", "@type": "@id"},
            "toot": "http://joinmastodon.org/ns#",
            "Emoji": "toot:Emoji",
            "featured": {"@id": "toot:featured", "@type": "@id"},
            "featuredTags": {"@id": "toot:featuredTags", "@type": "@id"},
            "discoverable": "toot:discoverable",
            "indexable": "toot:indexable",
            "suspended": "toot:suspended",
            "memorial": "toot:memorial",
            "attributionDomains": {"@id": "toot:attributionDomains", "@type": "@id"},
            "blurhash": "toot:blurhash",
            "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
            "votersCount": "toot:votersCount",
            "schema": "http://schema.org#",
            "PropertyValue": "schema:PropertyValue",
            "value": "schema:value",
            "gts": "https://gotosocial.org/ns#",
            "interactionPolicy": {"@id": "gts:interactionPolicy", "@type": "@id"},
            "canQuote": {"@id": "gts:canQuote", "@type": "@id"},
            "automaticApproval": {"@id": "gts:automaticApproval", "@type": "@id"},
            "manualApproval": {"@id": "gts:manualApproval", "@type": "@id"},
            "quote": {"@id": "https://w3id.org/fep/044f#quote", "@type": "@id"},
            "quoteUri": "http://fedibird.com/ns#quoteUri",
            "_misskey_quote": "https://misskey-hub.net/ns#_misskey_quote",
            "quoteAuthorization": {"@id": "https://w3id.org/fep/044f#quoteAuthorization", "@type": "@id"},
            "QuoteRequest": "https://w3id.org/fep/044f#QuoteRequest",
            "QuoteAuthorization": "https://w3id.org/fep/044f#QuoteAuthorization",
            "interactingObject": {"@id": "gts:interactingObject", "@type": "@id"},
            "interactionTarget": {"@id": "gts:interactionTarget", "@type": "@id"},
        }
    ])
}

/// Whether an `Accept` header asks for ActivityPub JSON
/// (`application/activity+json`, or `application/ld+json` with or without
/// the ActivityStreams profile, as Mastodon serves both).
pub fn wants_activity_json(accept: Option<&str>) -> bool {
    accept.is_some_and(|accept| {
        accept.split(',').any(|part| {
            let media = part.split(';').next().unwrap_or("").trim();
            media.eq_ignore_ascii_case(ACTIVITY_JSON)
                || media.eq_ignore_ascii_case("application/ld+json")
        })
    })
}

/// An RFC 3339 time as Mastodon writes it (seconds, `Z`).
pub fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation() {
        assert!(wants_activity_json(Some("application/activity+json")));
        assert!(wants_activity_json(Some(
            "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\""
        )));
        assert!(wants_activity_json(Some(
            "text/html, application/activity+json;q=0.9"
        )));
        assert!(!wants_activity_json(Some(
            "text/html,application/xhtml+xml"
        )));
        assert!(!wants_activity_json(Some("application/json")));
        assert!(!wants_activity_json(None));
    }
}
