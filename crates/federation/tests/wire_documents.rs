//! Actors, objects, collections, WebFinger and NodeInfo from real payloads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use ferrodon_federation::wire::{self, ActivityType, ActorType, Item, ObjectType, WireError};

// ---- actors ----

#[test]
fn mastodon_person() {
    let a = actor("actors/mastodon-person.json");
    assert_eq!(a.kind, ActorType::Person);
    assert_eq!(a.preferred_username.as_deref(), Some("Gargron"));
    assert_eq!(a.shared_inbox(), Some("https://mastodon.social/inbox"));
    assert!(
        a.public_key_pem("https://mastodon.social/users/Gargron#main-key")
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    assert_eq!(
        a.public_key_pem("https://mastodon.social/users/Gargron#other"),
        None
    );
    assert!(a.fields().any(|(name, _)| name == "Patreon"));
    assert!(a.avatar().unwrap().ends_with(".png"));
    assert!(a.header().is_some());
    assert!(a.featured.is_some());
    assert!(a.url().is_some());
    assert!(a.published.is_some());
    assert_eq!(a.discoverable, Some(true));
    assert!(!a.is_bot());
}

#[test]
fn service_bot_flags() {
    let a = actor("actors/mastodon-service-bot.json");
    assert!(a.is_bot());
    assert!(a.indexable.is_some());
    assert_eq!(a.memorial, Some(false));
    assert!(a.fields().count() >= 2);
    assert!(a.header().is_some());
}

#[test]
fn key_id_spellings() {
    for (file, key_id) in [
        (
            "actors/gotosocial-person-single-tag.json",
            "http://localhost:8080/users/the_mighty_zork/main-key",
        ),
        (
            "actors/honk-person.json",
            "https://honk.example.org/u/honk_user#key",
        ),
        (
            "actors/streams-person-multikey.json",
            "https://macgirvin.com/channel/mike?operation=rsakey",
        ),
        (
            "actors/misskey-person.json",
            "https://misskey.io/users/7rkrarq81i#main-key",
        ),
    ] {
        assert!(actor(file).public_key_pem(key_id).is_some(), "{file}");
    }
    let streams = actor("actors/streams-person-multikey.json");
    assert!(
        streams
            .assertion_method
            .iter()
            .any(|k| k.public_key_multibase.is_some())
    );
}

#[test]
fn key_of_another_owner_is_not_offered() {
    let body = br#"{"type":"Person","id":"https://a.example/u/a","inbox":"https://a.example/u/a/inbox",
        "publicKey":[{"id":"https://a.example/u/a#k","owner":"https://b.example/u/b","publicKeyPem":"X"},
                     {"id":"https://a.example/u/a#k2","owner":"https://a.example/u/a","publicKeyPem":"Y"}]}"#;
    let a = wire::parse_actor(body).unwrap();
    assert_eq!(a.public_key_pem("https://a.example/u/a#k"), None);
    assert_eq!(a.public_key_pem("https://a.example/u/a#k2"), Some("Y"));
}

#[test]
fn single_object_tag_and_attachment() {
    let a = actor("actors/gotosocial-person-single-tag.json");
    let e: Vec<_> = a.emojis().collect();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].shortcode, "rainbow");
    assert_eq!(a.shared_inbox(), None);

    let a = actor("actors/owncast-service.json");
    let fields: Vec<_> = a.fields().collect();
    assert_eq!(fields.len(), 1);
    assert_eq!(fields[0].0, "Stream");
    assert!(a.is_bot());
}

#[test]
fn emoji_in_names_and_misc_actors() {
    let a = actor("actors/misskey-person.json");
    assert!(a.name.as_deref().unwrap().contains(":peroro_sama:"));
    assert!(a.emojis().any(|e| e.shortcode == "peroro_sama"));
    assert!(a.fields().count() >= 1);

    let a = actor("actors/pleroma-person.json");
    assert!(a.emojis().count() >= 1);

    let a = actor("actors/friendica-person.json");
    assert_eq!(a.fields().count(), 6);

    let a = actor("actors/pixelfed-person.json");
    assert_eq!(a.shared_inbox(), Some("https://pixelfed.social/f/inbox"));

    let a = actor("actors/mastodon-person-legacy.json");
    assert_eq!(a.name.as_deref(), Some(""));
    assert!(a.featured.is_none());
}

#[test]
fn groups_and_applications() {
    let g = actor("actors/lemmy-group.json");
    assert!(g.is_group());
    assert_eq!(g.shared_inbox(), Some("https://enterprise.lemmy.ml/inbox"));

    let p = actor("actors/peertube-group-channel.json");
    assert!(p.is_group());
    assert!(p.icon.len() > 1, "PeerTube sends an icon per size");
    let best = wire::Image::best(&p.icon).unwrap();
    assert!(p.icon.iter().all(|i| i.width <= best.width));
    assert_eq!(p.avatar(), best.url());

    let i = actor("actors/lemmy-application-instance.json");
    assert_eq!(i.kind, ActorType::Application);
    assert!(i.is_bot());

    let l = actor("actors/lemmy-person.json");
    assert_eq!(l.kind, ActorType::Person);
}

#[test]
fn actor_parser_refuses_non_actors() {
    let e = wire::parse_actor(&fixture("objects/lemmy-page.json")).unwrap_err();
    assert!(matches!(e, WireError::WrongType { .. }), "{e}");
    let e = wire::parse_actor(br#"{"type":"Person"}"#).unwrap_err();
    assert!(matches!(e, WireError::Missing { field: "id", .. }), "{e}");
}

// ---- objects ----

#[test]
fn quotes_in_every_spelling() {
    let quoted = "https://example.com/objects/43479e20-c0f8-4f49-bf7f-13fab8234924";
    assert_eq!(
        object("objects/misskey-note-quote.json").quote_uri(),
        Some(quoted)
    );
    assert_eq!(
        object("objects/fedibird-note-quoteuri.json").quote_uri(),
        Some(quoted)
    );
    assert_eq!(
        object("objects/fep044f-note-quote.json").quote_uri(),
        Some("https://example.com/users/alice/statuses/1")
    );
    // Only the FEP-e232 link tag.
    let body = br#"{"type":"Note","id":"https://a.example/1","content":"x",
        "tag":{"type":"Link","mediaType":"application/activity+json","href":"https://b.example/2"}}"#;
    assert_eq!(
        wire::parse_object(body).unwrap().quote_uri(),
        Some("https://b.example/2")
    );
    // Precedence: FEP-044f `quote` first.
    let body = br#"{"type":"Note","id":"https://a.example/1","_misskey_quote":"https://m/1",
        "quoteUri":"https://f/1","quoteUrl":"https://u/1","quote":{"id":"https://q/1"}}"#;
    assert_eq!(
        wire::parse_object(body).unwrap().quote_uri(),
        Some("https://q/1")
    );
    assert_eq!(
        object("objects/mastodon-note-image-blurhash.json").quote_uri(),
        None
    );
}

#[test]
fn image_attachments() {
    let o = object("objects/mastodon-note-image-blurhash.json");
    let a = &o.attachment[0];
    assert_eq!(a.media_type.as_deref(), Some("image/jpeg"));
    assert!(a.alt().unwrap().starts_with("The KDE dragons"));
    assert!(a.blurhash.is_some());
    assert!(a.focal_point().is_some());
    assert!(a.width.is_some() && a.height.is_some());
    assert!(a.url().unwrap().ends_with(".jpg"));
    assert!(o.in_reply_to.is_some());
    assert_eq!(o.mentions().count(), 1);

    let o = object("objects/gotosocial-note-tags-attachment.json");
    let a = &o.attachment[0];
    assert_eq!(
        a.alt(),
        Some("Black and white image of some 50's style text saying: Welcome On Board")
    );
    assert_eq!(a.focal_point(), Some((-0.5, 0.5)));
    assert_eq!(a.blurhash.as_deref(), Some("LIIE|gRj00WB-;j[t7j[4nWBj[Rj"));
    assert_eq!(o.to, ["https://www.w3.org/ns/activitystreams#Public"]);
    assert_eq!(o.cc, ["http://localhost:8080/users/admin/followers"]);
    assert!(o.is_public());
    assert_eq!(o.emojis().next().unwrap().shortcode, "rainbow");
    assert_eq!(o.hashtags().next().unwrap().name, "welcome");
}

#[test]
fn polls() {
    let p = object("objects/mastodon-question-anyof.json");
    let poll = p.poll().unwrap();
    assert!(poll.multiple);
    assert_eq!(
        poll.options,
        [("apple", Some(3)), ("orange", Some(7)), ("banana", Some(6))]
    );
    assert_eq!(poll.voters_count, Some(7));
    assert!(poll.expires_at.is_some());

    let p = object("objects/misskey-question-no-endtime.json");
    let poll = p.poll().unwrap();
    assert_eq!(poll.expires_at, None);
    assert_eq!(poll.options, [("Working", Some(0)), ("Broken af", Some(1))]);

    let p = object("objects/pleroma-question-naive-time.json");
    let poll = p.poll().unwrap();
    assert!(poll.closed);
    assert_eq!(
        poll.closed_at.unwrap().to_rfc3339(),
        "2019-09-19T00:32:36.785333+00:00"
    );
    assert_eq!(poll.options, [("yes", Some(4)), ("no", Some(0))]);

    let p = object("objects/smithereen-question-public-votes.json");
    let poll = p.poll().unwrap();
    assert_eq!(poll.voters_count, Some(14));
    assert_eq!(poll.options[0], ("тестовый ответ 1", Some(4)));
}

#[test]
fn pleroma_null_sensitive_and_string_source() {
    let o = object("objects/pleroma-note-reply.json");
    assert_eq!(o.sensitive, None);
    assert_eq!(o.summary(), None, "empty summary is no summary");
    let src = o.source.as_ref().unwrap();
    assert!(src.media_type.is_none());
    assert!(!src.content.is_empty());
    assert_eq!(
        o.in_reply_to.as_deref(),
        Some("https://enterprise.lemmy.ml/post/55143")
    );
}

#[test]
fn peertube_video() {
    let o = object("objects/peertube-video.json");
    assert_eq!(o.kind, ObjectType::Video);
    assert_eq!(
        o.attributed_to(),
        Some("https://tilvids.com/accounts/thelinuxexperiment")
    );
    assert_eq!(
        o.url(),
        Some("https://tilvids.com/videos/watch/e7946124-7b72-4ad7-9d22-844a84bb2de1")
    );
    assert!(o.name().is_some());
    assert!(o.language().is_some());
}

#[test]
fn lemmy_page() {
    let o = object("objects/lemmy-page.json");
    assert_eq!(o.kind, ObjectType::Page);
    assert_eq!(o.language(), Some("fr"));
    assert_eq!(
        o.attachment[0].url(),
        Some("https://enterprise.lemmy.ml/pictrs/image/eOtYb9iEiB.png")
    );
    assert!(o.name().is_some());
}

#[test]
fn object_parser_refuses_activities_and_actors() {
    let e = wire::parse_object(&fixture("activities/mastodon-like.json")).unwrap_err();
    assert!(matches!(e, WireError::WrongType { .. }), "{e}");
    let e = wire::parse_object(&fixture("actors/honk-person.json")).unwrap_err();
    assert!(matches!(e, WireError::WrongType { .. }), "{e}");
    let o = wire::parse_object(br#"{"type":"ChatMessage","id":"https://a.example/1"}"#).unwrap();
    assert_eq!(o.kind, ObjectType::Other("ChatMessage".into()));
}

// ---- collections, WebFinger, NodeInfo ----

#[test]
fn collections() {
    let c = wire::parse_collection(&fixture("collections/mastodon-featured.json")).unwrap();
    let note = c.entries().next().and_then(Item::as_object).unwrap();
    assert_eq!(note.hashtags().count(), 3);
    assert_eq!(c.total_items, Some(c.entries().count() as u64));

    let c = wire::parse_collection(&fixture("collections/mastodon-followers-page.json")).unwrap();
    assert!(c.entries().all(|i| matches!(i, Item::Id(_))));
    assert!(c.part_of.is_some());

    let c = wire::parse_collection(&fixture("collections/gotosocial-outbox-page.json")).unwrap();
    let create = c.entries().next().and_then(Item::as_activity).unwrap();
    assert_eq!(create.kind, ActivityType::Create);
    assert!(matches!(create.object(), Some(Item::Id(_))));
    assert!(c.next.is_some());
}

#[test]
fn webfinger() {
    let w = wire::parse_webfinger(&fixture("webfinger/mastodon.json")).unwrap();
    assert_eq!(w.subject.as_deref(), Some("acct:Gargron@mastodon.social"));
    assert_eq!(w.actor_url(), Some("https://mastodon.social/users/Gargron"));
    assert!(!w.aliases.is_empty());
    let w = wire::parse_webfinger(&fixture("webfinger/misskey.json")).unwrap();
    assert!(w.aliases.is_empty());
    assert!(w.actor_url().is_some());
    let w = wire::parse_webfinger(&fixture("webfinger/pixelfed.json")).unwrap();
    assert_eq!(w.actor_url(), Some("https://pixelfed.social/users/dansup"));
}

#[test]
fn nodeinfo() {
    let l = wire::parse_nodeinfo_links(&fixture("nodeinfo/mastodon-well-known.json")).unwrap();
    assert!(l.best().unwrap().ends_with("/nodeinfo/2.0"));
    let n = wire::parse_nodeinfo(&fixture("nodeinfo/mastodon-2.0.json")).unwrap();
    let sw = n.software.unwrap();
    assert_eq!(sw.name.as_deref(), Some("mastodon"));
    assert_eq!(sw.version.as_deref(), Some("4.1.0"));
    assert!(n.usage.unwrap().users.unwrap().total.unwrap() > 0);
    let n = wire::parse_nodeinfo(&fixture("nodeinfo/wildebeest-2.1.json")).unwrap();
    assert_eq!(n.version.as_deref(), Some("2.1"));
    assert!(n.software.unwrap().repository.is_some());
}
