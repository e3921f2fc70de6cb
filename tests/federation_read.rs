//! Federation's read side against a real `ferrodon serve`: WebFinger,
//! host-meta, NodeInfo, actors (with keys that verify a signature made
//! with the private key), statuses as Note/Question, collections, and
//! content negotiation. Every ActivityPub document is read back with
//! federation's own inbound parser, as another server would read it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use ferrodon_federation::signatures::PublicKey;
use ferrodon_federation::wire;
use ferrodon_testkit::{Lane, lane_test};
use reqwest::Method;
use serde_json::Value;

const AP: &str = "application/activity+json";

async fn ap_get(api: &Api, path: &str) -> Resp {
    api.send(Method::GET, path, Body::None, &[("accept", AP)])
        .await
}

async fn ap_json(api: &Api, path: &str) -> Value {
    let resp = ap_get(api, path).await;
    assert_eq!(resp.status, 200, "{}", resp.describe());
    assert!(
        resp.content_type().starts_with(AP),
        "{path}: content type {}",
        resp.content_type()
    );
    resp.json()
}

lane_test!(discovery_and_actors, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let base = public_url(&server);
    let domain = domain(&server);
    let alice = user_token(&server, "alice").await;
    let a = alice.api(&api);
    a.patch(
        "/api/v1/accounts/update_credentials",
        &[
            ("display_name", "Alice A."),
            ("note", "Hello <there>"),
            ("fields_attributes[0][name]", "Site"),
            ("fields_attributes[0][value]", "https://example.org"),
            ("locked", "true"),
        ],
    )
    .await
    .ok_json();

    // WebFinger: acct: with the port, the actor URL, the instance actor.
    let wf = api
        .get_q(
            "/.well-known/webfinger",
            &[("resource", &format!("acct:alice@{domain}"))],
        )
        .await;
    assert_eq!(wf.status, 200, "{}", wf.describe());
    assert!(wf.content_type().starts_with("application/jrd+json"));
    let jrd = wire::parse_webfinger(wf.text.as_bytes()).expect("JRD parses");
    assert_eq!(
        jrd.actor_url(),
        Some(format!("{base}/users/alice").as_str())
    );
    let wf2 = api
        .get_q(
            "/.well-known/webfinger",
            &[("resource", &format!("{base}/users/alice"))],
        )
        .await;
    assert_eq!(wf2.status, 200, "{}", wf2.describe());
    let wf2 = wf2.json();
    assert_eq!(wf2["subject"], format!("acct:alice@{domain}"));
    for (resource, status) in [
        (
            format!("acct:alice@{}", domain.split(':').next().unwrap()),
            404,
        ),
        ("acct:alice@other.example".to_owned(), 404),
        (format!("acct:nobody@{domain}"), 404),
    ] {
        let r = api
            .get_q("/.well-known/webfinger", &[("resource", &resource)])
            .await;
        assert_eq!(r.status, status, "{resource}: {}", r.describe());
    }
    let inst = api
        .get_q(
            "/.well-known/webfinger",
            &[("resource", &format!("acct:{domain}@{domain}"))],
        )
        .await;
    let inst = wire::parse_webfinger(inst.text.as_bytes()).expect("JRD");
    assert_eq!(inst.actor_url(), Some(format!("{base}/actor").as_str()));

    // host-meta and NodeInfo.
    let hm = api.get("/.well-known/host-meta").await;
    assert_eq!(hm.status, 200);
    assert!(
        hm.text
            .contains(&format!("{base}/.well-known/webfinger?resource={{uri}}")),
        "{}",
        hm.text
    );
    let links = api.get("/.well-known/nodeinfo").await;
    let links = wire::parse_nodeinfo_links(links.text.as_bytes()).expect("nodeinfo links");
    let best = links.best().expect("a NodeInfo link").to_owned();
    assert!(best.ends_with("/nodeinfo/2.1"), "{best}");
    for version in ["2.0", "2.1"] {
        let ni = api.get(&format!("/nodeinfo/{version}")).await;
        assert_eq!(ni.status, 200, "{}", ni.describe());
        let doc = ni.json();
        assert_eq!(doc["version"], version);
        assert_eq!(doc["software"]["name"], "ferrodon");
        assert_eq!(doc["protocols"][0], "activitypub");
        assert_eq!(doc["usage"]["users"]["total"], 1, "{doc}");
        assert!(
            doc["usage"]["users"]["activeMonth"].as_i64().unwrap() >= 1,
            "{doc}"
        );
        wire::parse_nodeinfo(ni.text.as_bytes()).expect("NodeInfo parses");
    }

    // The actor, by content negotiation on both URLs; browsers get a page.
    let doc = ap_json(&api, "/users/alice").await;
    let actor = wire::parse_actor(doc.to_string().as_bytes()).expect("actor parses");
    assert_eq!(
        actor.id.as_deref(),
        Some(format!("{base}/users/alice").as_str())
    );
    assert_eq!(actor.preferred_username.as_deref(), Some("alice"));
    assert_eq!(actor.name.as_deref(), Some("Alice A."));
    assert_eq!(
        actor.inbox.as_deref(),
        Some(format!("{base}/users/alice/inbox").as_str())
    );
    assert_eq!(actor.shared_inbox(), Some(format!("{base}/inbox").as_str()));
    assert_eq!(doc["manuallyApprovesFollowers"], true);
    assert_eq!(doc["type"], "Person");
    let fields: Vec<(String, String)> = actor
        .fields()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    assert_eq!(fields.len(), 1);
    assert_eq!(fields[0].0, "Site");
    assert!(fields[0].1.contains("https://example.org"), "{fields:?}");
    assert!(
        doc["summary"]
            .as_str()
            .unwrap()
            .contains("Hello &lt;there&gt;"),
        "{doc}"
    );
    let key_id = format!("{base}/users/alice#main-key");
    let pem = actor
        .public_key_pem(&key_id)
        .expect("a key with the main-key id");
    PublicKey::from_pem(pem).expect("an RSA key of 2048 bits or more");
    // The same key on every fetch (made once), and on /@alice.
    let again = ap_json(&api, "/@alice").await;
    assert_eq!(again["publicKey"], doc["publicKey"]);
    let ld = api
        .send(
            Method::GET,
            "/users/alice",
            Body::None,
            &[(
                "accept",
                "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"",
            )],
        )
        .await;
    assert_eq!(ld.status, 200);
    assert_eq!(ld.json()["id"], doc["id"]);
    let html = api
        .send(
            Method::GET,
            "/users/alice",
            Body::None,
            &[("accept", "text/html")],
        )
        .await;
    assert!(
        matches!(html.status, 301 | 302 | 303 | 307 | 308),
        "{}",
        html.describe()
    );
    assert_eq!(
        html.header("location").as_deref(),
        Some(format!("{base}/@alice").as_str())
    );
    let page = api
        .send(
            Method::GET,
            "/@alice",
            Body::None,
            &[("accept", "text/html")],
        )
        .await;
    assert_eq!(page.status, 200);
    assert!(page.content_type().starts_with("text/html"));
    assert!(page.text.contains("Alice A."), "{}", page.text);
    assert!(
        page.text.contains(&format!("href=\"{base}/users/alice\"")),
        "{}",
        page.text
    );
    for path in ["/users/nobody", "/@nobody", "/users/nobody/outbox"] {
        assert_eq!(ap_get(&api, path).await.status, 404, "{path}");
    }

    // The instance actor.
    let inst = ap_json(&api, "/actor").await;
    assert_eq!(inst["type"], "Application");
    let inst = wire::parse_actor(inst.to_string().as_bytes()).expect("instance actor");
    PublicKey::from_pem(
        inst.public_key_pem(&format!("{base}/actor#main-key"))
            .unwrap(),
    )
    .expect("instance key");

    // A bot is a Service; a suspended account is published as suspended.
    let bob = user_token(&server, "bob").await;
    bob.api(&api)
        .patch("/api/v1/accounts/update_credentials", &[("bot", "true")])
        .await
        .ok_json();
    assert_eq!(ap_json(&api, "/users/bob").await["type"], "Service");
    let (code, _, err) = server.command(&["admin", "accounts", "suspend", "bob"]);
    assert_eq!(code, 0, "{err}");
    let gone = ap_json(&api, "/users/bob").await;
    assert_eq!(gone["suspended"], true, "{gone}");
    assert!(gone.get("attachment").is_none());
    assert_eq!(ap_get(&api, "/users/bob/outbox").await.status, 410);
    assert_no_panics(&server);
});

lane_test!(statuses_and_collections, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let base = public_url(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let a = alice.api(&api);
    let b = bob.api(&api);
    follow(&b, &alice.id).await;

    let parent = post_status(&b, "the parent").await;
    let status = post_status_with(
        &a,
        &[
            ("status", "Hi @bob, see #Rust"),
            ("in_reply_to_id", &str_field(&parent, "id")),
            ("spoiler_text", "cw"),
            ("language", "en"),
        ],
    )
    .await;
    let id = str_field(&status, "id");
    let poll = post_status_with(
        &a,
        &[
            ("status", "which?"),
            ("poll[options][]", "one"),
            ("poll[options][]", "two"),
            ("poll[expires_in]", "3600"),
            ("poll[multiple]", "true"),
        ],
    )
    .await;
    let private = post_status_with(
        &a,
        &[("status", "followers only"), ("visibility", "private")],
    )
    .await;
    let direct = post_status_with(&a, &[("status", "@bob psst"), ("visibility", "direct")]).await;

    // A Note, as another server reads it.
    let uri = format!("{base}/users/alice/statuses/{id}");
    let note = ap_json(&api, &format!("/users/alice/statuses/{id}")).await;
    let obj = wire::parse_object(note.to_string().as_bytes()).expect("note parses");
    assert_eq!(obj.id.as_deref(), Some(uri.as_str()));
    assert_eq!(note["type"], "Note");
    assert_eq!(
        obj.attributed_to(),
        Some(format!("{base}/users/alice").as_str())
    );
    assert_eq!(note["summary"], "cw");
    assert_eq!(note["sensitive"], true);
    assert_eq!(
        note["inReplyTo"],
        format!("{base}/users/bob/statuses/{}", str_field(&parent, "id"))
    );
    assert!(obj.is_public());
    assert!(
        obj.content_html().unwrap().contains("#<span>Rust</span>"),
        "{note}"
    );
    assert_eq!(note["contentMap"]["en"], note["content"]);
    let mentions: Vec<String> = obj.mentions().map(|m| m.href.to_owned()).collect();
    assert_eq!(mentions, vec![format!("{base}/users/bob")]);
    let tags: Vec<String> = obj.hashtags().map(|h| h.name.to_owned()).collect();
    assert_eq!(tags, vec!["Rust".to_owned()]);
    assert_eq!(note["cc"][0], format!("{base}/users/alice/followers"));
    // Its activity, and the same object at /@alice/:id.
    let create = ap_json(&api, &format!("/users/alice/statuses/{id}/activity")).await;
    assert_eq!(create["type"], "Create");
    assert_eq!(create["object"]["id"], uri);
    let act = wire::parse_activity(create.to_string().as_bytes()).expect("Create parses");
    assert_eq!(act.actor_id(), Some(format!("{base}/users/alice").as_str()));
    assert_eq!(ap_json(&api, &format!("/@alice/{id}")).await["id"], uri);
    let redirect = api
        .send(
            Method::GET,
            &format!("/users/alice/statuses/{id}"),
            Body::None,
            &[("accept", "text/html")],
        )
        .await;
    assert_eq!(
        redirect.header("location").as_deref(),
        Some(format!("{base}/@alice/{id}").as_str())
    );

    // A poll is a Question with anyOf.
    let q = ap_json(
        &api,
        &format!("/users/alice/statuses/{}", str_field(&poll, "id")),
    )
    .await;
    assert_eq!(q["type"], "Question");
    let q = wire::parse_object(q.to_string().as_bytes()).expect("question parses");
    let p = q.poll().expect("a poll");
    assert!(p.multiple);
    let names: Vec<&str> = p.options.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, vec!["one", "two"]);
    assert!(p.expires_at.is_some());

    // Followers-only and direct statuses are not served unsigned; nor are
    // statuses under another account's path.
    for path in [
        format!("/users/alice/statuses/{}", str_field(&private, "id")),
        format!("/users/alice/statuses/{}", str_field(&direct, "id")),
        format!("/users/bob/statuses/{id}"),
        "/users/alice/statuses/notanumber".to_owned(),
        "/users/alice/statuses/99999999999999".to_owned(),
    ] {
        assert_eq!(ap_get(&api, &path).await.status, 404, "{path}");
    }

    // A boost is an Announce of the original.
    let boost = b
        .post(&format!("/api/v1/statuses/{id}/reblog"), &[])
        .await
        .ok_json();
    let announce = ap_json(
        &api,
        &format!("/users/bob/statuses/{}", str_field(&boost, "id")),
    )
    .await;
    assert_eq!(announce["type"], "Announce");
    assert_eq!(announce["object"], uri);

    // The outbox: a count, then pages of activities; private ones left out.
    let outbox = ap_json(&api, "/users/alice/outbox").await;
    assert_eq!(outbox["type"], "OrderedCollection");
    // Direct messages are not counted (as Mastodon's statuses_count).
    assert_eq!(outbox["totalItems"], 3, "{outbox}");
    let page = ap_json(&api, "/users/alice/outbox?page=true").await;
    let items = page["orderedItems"].as_array().unwrap();
    let objects: Vec<&str> = items
        .iter()
        .filter_map(|i| i["object"]["id"].as_str())
        .collect();
    assert_eq!(objects.len(), 2, "{page}");
    assert!(objects.contains(&uri.as_str()));
    wire::parse_collection(page.to_string().as_bytes()).expect("page parses");

    // Followers and following, and a hidden collection shows a count only.
    let followers = ap_json(&api, "/users/alice/followers").await;
    assert_eq!(followers["totalItems"], 1);
    let page = ap_json(&api, "/users/alice/followers?page=1").await;
    assert_eq!(page["orderedItems"][0], format!("{base}/users/bob"));
    let following = ap_json(&api, "/users/bob/following?page=1").await;
    assert_eq!(following["orderedItems"][0], format!("{base}/users/alice"));
    a.patch(
        "/api/v1/accounts/update_credentials",
        &[("hide_collections", "true")],
    )
    .await
    .ok_json();
    let hidden = ap_json(&api, "/users/alice/followers?page=1").await;
    assert_eq!(hidden["totalItems"], 1);
    assert!(
        hidden.get("orderedItems").is_none() && hidden.get("first").is_none(),
        "{hidden}"
    );

    // Featured: pinned statuses and featured tags.
    a.post(&format!("/api/v1/statuses/{id}/pin"), &[])
        .await
        .ok_json();
    let featured = ap_json(&api, "/users/alice/collections/featured").await;
    assert_eq!(featured["orderedItems"][0]["id"], uri);
    a.post("/api/v1/featured_tags", &[("name", "Rust")])
        .await
        .ok_json();
    let tags = ap_json(&api, "/users/alice/collections/tags").await;
    assert_eq!(tags["items"][0]["name"], "#Rust", "{tags}");
    assert_no_panics(&server);
});
