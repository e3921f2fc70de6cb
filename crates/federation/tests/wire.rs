//! The wire types against real payloads (`tests/fixtures/activitypub/`, see
//! its README for where each came from): every file, activities, and
//! hostile input. Actors, objects and other documents: `wire_documents.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use ferrodon_federation::wire::{
    self, ActivityType, ActorType, Item, ObjectType, WireError, limits,
};

// ---- every file parses ----

#[test]
fn every_fixture_parses() {
    for p in fixtures_in("activities") {
        let a = wire::parse_activity(&std::fs::read(&p).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(a.actor_id().is_some(), "{}", p.display());
        assert!(a.object().is_some(), "{}", p.display());
        assert!(!matches!(a.kind, ActivityType::Other(_)), "{}", p.display());
    }
    for p in fixtures_in("actors") {
        let a = wire::parse_actor(&std::fs::read(&p).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(a.inbox.is_some(), "{}", p.display());
        assert!(a.preferred_username.is_some(), "{}", p.display());
        let key = &a.public_key[0];
        let key_id = key.id.as_deref().unwrap();
        assert!(
            a.public_key_pem(key_id).unwrap().contains("PUBLIC KEY"),
            "{}",
            p.display()
        );
    }
    for p in fixtures_in("objects") {
        let bytes = std::fs::read(&p).unwrap();
        if p.ends_with("fep044f-quote-authorization.json") {
            let item = wire::parse_item(&bytes).unwrap();
            assert!(item.as_quote_authorization().is_some());
            continue;
        }
        let o = wire::parse_object(&bytes).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        // The Mastodon documentation's poll example has no author.
        if !p.ends_with("mastodon-question-anyof.json") {
            assert!(o.attributed_to().is_some(), "{}", p.display());
        }
        assert!(
            o.content_html().is_some() || o.name().is_some(),
            "{}",
            p.display()
        );
    }
    for p in fixtures_in("collections") {
        wire::parse_collection(&std::fs::read(&p).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    }
    for p in fixtures_in("webfinger") {
        let w = wire::parse_webfinger(&std::fs::read(&p).unwrap()).unwrap();
        assert!(w.actor_url().is_some(), "{}", p.display());
    }
}

// ---- activities ----

#[test]
fn create_note_with_content_warning_and_mention() {
    let a = activity("activities/mastodon-create-note-mention-cw.json");
    assert_eq!(a.kind, ActivityType::Create);
    assert!(a.is_public());
    let o = embedded_object(&a);
    assert_eq!(o.kind, ObjectType::Note);
    assert_eq!(o.summary(), Some("cw"));
    assert_eq!(o.sensitive, Some(true));
    let m: Vec<_> = o.mentions().collect();
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].href, "http://localtesting.pleroma.lol/users/lain");
    assert_eq!(m[0].name, Some("@lain@localtesting.pleroma.lol"));
    let replies = o.replies.as_ref().unwrap().embedded().unwrap();
    assert!(replies.first_page().unwrap().next.is_some());
    assert!(o.content_html().unwrap().contains("h-card"));
}

#[test]
fn content_map_only() {
    let a = activity("activities/mastodon-create-note-contentmap-only.json");
    let o = embedded_object(&a);
    assert!(o.content.is_none());
    assert!(o.content_html().unwrap().contains("@<span>lain</span>"));
    assert_eq!(o.content_html_in(Some("fr")), o.content_html());
    assert_eq!(o.language(), Some("en"));
}

#[test]
fn hashtags_and_emoji() {
    let a = activity("activities/mastodon-create-note-hashtags-emoji.json");
    let o = embedded_object(&a);
    let tags: Vec<_> = o.hashtags().map(|h| h.name).collect();
    assert_eq!(tags, ["tags", "emoji"]);
    let emoji: Vec<_> = o.emojis().collect();
    assert_eq!(emoji.len(), 3);
    assert_eq!(emoji[0].shortcode, "party_parrot");
    assert_eq!(emoji[0].media_type, Some("image/gif"));
    assert!(emoji[0].url.ends_with(".gif"));
    assert!(emoji[0].updated.is_some());
    assert!(o.published.is_some());
}

#[test]
fn question_one_of_with_counts() {
    let a = activity("activities/mastodon-create-question-oneof.json");
    let o = embedded_object(&a);
    let poll = o.poll().unwrap();
    assert!(!poll.multiple);
    assert_eq!(poll.options.len(), 4);
    assert_eq!(poll.options[1], ("Everyone knows that!", Some(1)));
    assert!(poll.expires_at.is_some());
    assert!(!poll.closed);
}

#[test]
fn poll_vote_is_a_named_reply() {
    let a = activity("activities/mastodon-create-poll-vote.json");
    let o = embedded_object(&a);
    assert!(o.name().is_some());
    assert!(o.in_reply_to.is_some());
    assert_eq!(o.to.len(), 1, "`to` as a single string");
    assert!(o.poll().is_none());
}

#[test]
fn announce_by_url_and_lemmy_announce_of_create() {
    let a = activity("activities/mastodon-announce.json");
    assert_eq!(a.kind, ActivityType::Announce);
    assert_eq!(
        a.object_id(),
        Some("http://mastodon.example.org/@admin/99541947525187367")
    );
    assert!(matches!(a.object(), Some(Item::Id(_))));

    let a = activity("activities/lemmy-announce-create-page.json");
    let create = a.object().and_then(Item::as_activity).unwrap();
    assert_eq!(create.kind, ActivityType::Create);
    assert_eq!(
        create.actor_id(),
        Some("http://enterprise.lemmy.ml/u/lemmy_beta")
    );
    let page = create.object().and_then(Item::as_object).unwrap();
    assert_eq!(page.kind, ObjectType::Page);
    assert!(page.name().is_some());
}

#[test]
fn follow_accept_reject_undo() {
    let f = activity("activities/mastodon-follow.json");
    assert_eq!(f.kind, ActivityType::Follow);
    assert_eq!(f.object_id(), Some("https://ds9.lemmy.ml/c/testcom"));
    assert!(f.to.is_empty() || f.recipients().count() > 0);

    for (file, kind) in [
        (
            "activities/mastodon-accept-follow.json",
            ActivityType::Accept,
        ),
        (
            "activities/mastodon-reject-follow.json",
            ActivityType::Reject,
        ),
    ] {
        let a = activity(file);
        assert_eq!(a.kind, kind);
        let follow = a.object().and_then(Item::as_activity).unwrap();
        assert_eq!(follow.kind, ActivityType::Follow);
        assert_eq!(
            follow.object_id(),
            Some("http://mastodon.example.org/users/admin")
        );
    }

    let u = activity("activities/mastodon-undo-follow.json");
    let inner = u.object().and_then(Item::as_activity).unwrap();
    assert_eq!(inner.kind, ActivityType::Follow);
    assert_eq!(inner.actor_id(), u.actor_id());

    let u = activity("activities/mastodon-undo-block.json");
    let inner = u.object().and_then(Item::as_activity).unwrap();
    assert_eq!(inner.kind, ActivityType::Block);
}

#[test]
fn deletes() {
    let d = activity("activities/mastodon-delete-note-tombstone.json");
    let t = embedded_object(&d);
    assert_eq!(t.kind, ObjectType::Tombstone);
    assert_eq!(d.object_id(), t.id.as_deref());

    let d = activity("activities/mastodon-delete-actor.json");
    let who = d.object().and_then(Item::as_actor).unwrap();
    assert_eq!(who.kind, ActorType::Person);
    assert_eq!(d.object_id(), d.actor_id());

    let d = activity("activities/gotosocial-delete-note.json");
    assert!(d.id.is_none(), "GoToSocial sends Delete without an id");
    assert!(d.object_id().unwrap().contains("/statuses/"));
    assert!(d.is_public());
}

#[test]
fn flags() {
    let f = activity("activities/mastodon-flag.json");
    assert_eq!(f.kind, ActivityType::Flag);
    assert!(f.object.len() > 1);
    assert_eq!(f.object_id(), Some("https://example.com/users/1"));
    assert!(f.content.is_some());
    assert_eq!(f.to.len(), 1);

    let f = activity("activities/gotosocial-flag.json");
    assert_eq!(
        f.actor_id(),
        Some("http://localhost:8080/users/localhost:8080")
    );
    assert!(f.to.is_empty());
    assert!(f.object.len() > 1);
}

#[test]
fn move_block_like_reactions() {
    let m = activity("activities/gotosocial-move.json");
    assert_eq!(m.kind, ActivityType::Move);
    assert_eq!(m.object_id(), m.actor_id());
    assert!(m.target.as_ref().and_then(Item::id).is_some());

    let b = activity("activities/mastodon-block.json");
    assert_eq!(b.kind, ActivityType::Block);

    let l = activity("activities/mastodon-like.json");
    assert_eq!(l.kind, ActivityType::Like);
    assert_eq!(l.reaction(), None);

    let l = activity("activities/misskey-like-custom-emoji.json");
    assert_eq!(l.reaction(), Some(":hanapog:"));
    assert_eq!(l.emojis().next().unwrap().shortcode, "hanapog");

    let r = activity("activities/pleroma-emojireact.json");
    assert_eq!(r.kind, ActivityType::EmojiReact);
    assert_eq!(r.reaction(), Some("👌"));
}

#[test]
fn update_person_and_edited_note() {
    let u = activity("activities/mastodon-update-person.json");
    let p = u.object().and_then(Item::as_actor).unwrap();
    assert_eq!(p.preferred_username.as_deref(), Some("gargron"));
    assert!(p.fields().count() >= 1);

    let u = activity("activities/friendica-update-note-edit.json");
    assert_eq!(u.kind, ActivityType::Update);
    let o = embedded_object(&u);
    assert!(o.updated.is_some());
    assert!(o.source.is_some());
    assert!(o.content_html().is_some());
}

#[test]
fn misc_creates() {
    for f in [
        "activities/misskey-create-note.json",
        "activities/mitra-create-note-proof.json",
        "activities/pleroma-create-reply.json",
    ] {
        let a = activity(f);
        let o = embedded_object(&a);
        assert!(o.content_html().is_some(), "{f}");
        assert!(o.published.is_some(), "{f}");
        assert_eq!(o.attributed_to(), a.actor_id(), "{f}");
    }
    let a = activity("activities/pleroma-create-reply.json");
    assert!(embedded_object(&a).in_reply_to.is_some());
}

#[test]
fn quote_request_accept() {
    let a = activity("activities/fep044f-accept-quote-request.json");
    let req = a.object().and_then(Item::as_activity).unwrap();
    assert_eq!(req.kind, ActivityType::QuoteRequest);
    assert_eq!(
        req.instrument.as_ref().and_then(Item::id),
        Some("https://example.org/users/bob/statuses/1")
    );
    assert_eq!(
        a.result.as_ref().and_then(Item::id),
        Some("https://example.com/users/alice/stamps/1")
    );
    let stamp = wire::parse_item(&fixture("objects/fep044f-quote-authorization.json")).unwrap();
    let stamp = stamp.as_quote_authorization().unwrap();
    assert_eq!(
        stamp.interaction_target.as_deref(),
        Some("https://example.com/users/alice/statuses/1")
    );
    assert_eq!(
        stamp.interacting_object.as_deref(),
        Some("https://example.org/users/bob/statuses/1")
    );
}

// ---- bounds ----

#[test]
fn refuses_large_bodies() {
    let mut body = br#"{"type":"Create","actor":"https://a.example/u","content":""#.to_vec();
    body.resize(limits::BODY_BYTES + 1, b'x');
    assert!(matches!(
        wire::parse_activity(&body),
        Err(WireError::TooLarge { .. })
    ));
}

#[test]
fn refuses_deep_nesting() {
    for field in ["object", "unknownField"] {
        let depth = 200;
        let body = format!(
            r#"{{"type":"Create","actor":"https://a.example/u","{field}":{}{}}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        );
        assert_eq!(
            wire::parse_activity(body.as_bytes()),
            Err(WireError::TooDeep),
            "{field}"
        );
    }
}

#[test]
fn deep_embedding_is_cut_to_ids() {
    let mut body = r#""https://a.example/note""#.to_string();
    for i in 0..20 {
        body = format!(
            r#"{{"type":"Announce","id":"https://a.example/{i}","actor":"https://a.example/u","object":{body}}}"#
        );
    }
    let mut a = wire::parse_activity(body.as_bytes()).unwrap();
    let mut levels = 0;
    while let Some(inner) = a.object().and_then(Item::as_activity) {
        a = inner.clone();
        levels += 1;
    }
    assert_eq!(levels, wire::MAX_EMBED_DEPTH);
    assert!(matches!(a.object(), Some(Item::Id(_))));
}

#[test]
fn caps_lists_without_failing() {
    let tags: Vec<String> = (0..500)
        .map(|i| format!(r##"{{"type":"Hashtag","name":"#t{i}"}}"##))
        .collect();
    let to: Vec<String> = (0..5000)
        .map(|i| format!(r#""https://a.example/u{i}""#))
        .collect();
    let att: Vec<String> = (0..50)
        .map(|i| format!(r#"{{"type":"Document","url":"https://a.example/{i}.png"}}"#))
        .collect();
    let opts: Vec<String> = (0..500)
        .map(|i| format!(r#"{{"type":"Note","name":"o{i}"}}"#))
        .collect();
    let body = format!(
        r#"{{"type":"Question","id":"https://a.example/q","tag":[{}],"to":[{}],"attachment":[{}],"oneOf":[{}]}}"#,
        tags.join(","),
        to.join(","),
        att.join(","),
        opts.join(",")
    );
    let o = wire::parse_object(body.as_bytes()).unwrap();
    assert_eq!(o.tag.len(), limits::TAGS);
    assert_eq!(o.to.len(), limits::RECIPIENTS);
    assert_eq!(o.attachment.len(), limits::ATTACHMENTS);
    assert_eq!(o.poll().unwrap().options.len(), limits::POLL_OPTIONS);
}

#[test]
fn activity_requirements_and_errors() {
    let e = wire::parse_activity(br#"{"type":"Create","object":"https://a.example/1"}"#);
    assert!(matches!(e, Err(WireError::Missing { field: "actor", .. })));
    let e = wire::parse_activity(br#"{"actor":"https://a.example/u"}"#);
    assert!(matches!(e, Err(WireError::Missing { field: "type", .. })));
    assert!(matches!(
        wire::parse_activity(b"{"),
        Err(WireError::Syntax(_))
    ));
    let e = wire::parse_activity(&fixture("objects/pleroma-note-reply.json"));
    assert!(matches!(e, Err(WireError::WrongType { .. })), "{e:?}");
    assert!(matches!(
        wire::parse_activity(b"[1]"),
        Err(WireError::Shape(_))
    ));
    let a = wire::parse_activity(
        br#"{"type":"Wave","actor":{"id":"https://a.example/u"},"to":"https://b.example/u"}"#,
    )
    .unwrap();
    assert_eq!(a.kind, ActivityType::Other("Wave".into()));
    assert_eq!(a.actor_id(), Some("https://a.example/u"));
    assert_eq!(a.to, ["https://b.example/u"]);
}

#[test]
fn odd_shapes_degrade_to_absent() {
    let body = br#"{"type":["Note","as:Note"],"id":"https://a.example/1","sensitive":"yes",
        "published":"yesterday","to":[1,"https://b.example/u",null],"tag":"nope",
        "attachment":[{"type":"Image","url":{"href":"https://a.example/i.png"},"focalPoint":[9,-9]}],
        "contentMap":{"de":"<p>Hallo</p>","und":"<p>Hi</p>","x":3},"inReplyTo":{"id":"https://c.example/2"}}"#;
    let o = wire::parse_object(body).unwrap();
    assert_eq!(o.kind, ObjectType::Note);
    assert_eq!(o.sensitive, None);
    assert_eq!(o.published, None);
    assert_eq!(o.to, ["https://b.example/u"]);
    assert!(o.tag.is_empty());
    assert_eq!(o.attachment[0].url(), Some("https://a.example/i.png"));
    assert_eq!(o.attachment[0].focal_point(), Some((1.0, -1.0)));
    assert_eq!(o.content_html(), Some("<p>Hi</p>"));
    assert_eq!(o.content_html_in(Some("de")), Some("<p>Hallo</p>"));
    assert_eq!(o.in_reply_to.as_deref(), Some("https://c.example/2"));
}

#[test]
fn large_hostile_payload_is_parsed_within_bounds() {
    // Close to 1 MiB: six levels of embedding, each with long lists.
    let filler: Vec<String> = (0..3000)
        .map(|i| format!(r#""https://a.example/{i}""#))
        .collect();
    let filler = filler.join(",");
    let mut body = format!(
        r#"{{"type":"Note","id":"https://a.example/n","to":[{filler}],"closed":{{"x":[{filler}]}}}}"#
    );
    for i in 0..6 {
        body = format!(
            r#"{{"type":"Announce","id":"https://a.example/{i}","actor":"https://a.example/u","cc":[{filler}],"object":{body}}}"#
        );
    }
    assert!(body.len() < limits::BODY_BYTES, "{}", body.len());
    let a = wire::parse_activity(body.as_bytes()).unwrap();
    assert_eq!(a.cc.len(), limits::RECIPIENTS);
}
