//! Interop: ActivityPub implementations written by others exchange
//! `Follow`, `Accept`, `Create(Note)`, `Like` and `Undo` with a real
//! `ferrodon serve`, both ways, on every lane.
//!
//! - **bovine** (PyPI): `tests/interop/bovine_peer.py`, run by the Python of
//!   `FERRODON_TEST_PYTHON` (a venv with `tests/clients/requirements.txt`).
//!   bovine builds the activities, signs with draft-cavage and verifies what
//!   Ferrodon sends with its own `SignatureChecker`.
//! - **Fedify** (npm): `tests/interop/fedify/peer.mjs`, run by `node` from
//!   `PATH` with Fedify from `FERRODON_TEST_FEDIFY_MODULES` (a
//!   `node_modules` where `npm ci` installed
//!   `tests/interop/fedify/package-lock.json`). Fedify signs with RFC 9421
//!   first (draft-cavage only if refused) and verifies what Ferrodon sends
//!   before its inbox listeners see it.
//!
//! ```sh
//! python3 -m venv /tmp/venv && /tmp/venv/bin/pip install -r tests/clients/requirements.txt
//! (cd tests/interop/fedify && npm ci)
//! FERRODON_TEST_PYTHON=/tmp/venv/bin/python \
//! FERRODON_TEST_FEDIFY_MODULES=$PWD/tests/interop/fedify/node_modules \
//!   cargo test --test federation_interop
//! ```
//!
//! Each peer serves two actors: `peer_a` acts towards Ferrodon (follows,
//! posts, likes, undoes: Ferrodon learns of it from its signature's keyId),
//! `peer_b` is found by Ferrodon through WebFinger and followed. A test
//! whose variable is missing is skipped, unless `FERRODON_TEST_REQUIRE_ALL=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;

use common::interop::{InteropPeer, object_id};
use common::peer::PEER_ENV;
use common::*;
use ferrodon_testkit::{Lane, TestServer, lane_test};
use serde_json::{Value, json};

/// The `node_modules` holding Fedify, or `None` to skip.
fn fedify_modules() -> Option<String> {
    let p = client_env("FERRODON_TEST_FEDIFY_MODULES", "Fedify interop")?;
    assert!(
        PathBuf::from(&p)
            .join("@fedify/fedify/package.json")
            .exists(),
        "FERRODON_TEST_FEDIFY_MODULES={p} has no Fedify (run `npm ci` in tests/interop/fedify)"
    );
    Some(p)
}

lane_test!(bovine, |lane: Lane| async move {
    let Some(python) = client_env("FERRODON_TEST_PYTHON", "bovine interop") else {
        return;
    };
    let (server, peer) = tokio::join!(
        spawn_with(lane, PEER_ENV),
        InteropPeer::start(
            &python,
            &["tests/interop/bovine_peer.py", "peer_a", "peer_b"],
            &[("PYTHONUNBUFFERED", "1")],
        )
    );
    journey(&server, &peer).await;
});

lane_test!(fedify, |lane: Lane| async move {
    let Some(modules) = fedify_modules() else {
        return;
    };
    let env = [("FERRODON_TEST_FEDIFY_MODULES", modules.as_str())];
    let (server, peer) = tokio::join!(
        spawn_with(lane, PEER_ENV),
        InteropPeer::start(
            "node",
            &["tests/interop/fedify/peer.mjs", "peer_a", "peer_b"],
            &env,
        )
    );
    journey(&server, &peer).await;
});

/// Asserts that the peer's library verified an inbox event's signature as
/// `actor`'s.
#[track_caller]
fn assert_verified(peer: &InteropPeer, event: &Value, actor: &str) {
    let what = format!("{} {}", peer.library, event["type"]);
    assert_eq!(
        event["verified"], true,
        "{what}: the peer's library did not verify Ferrodon's signature ({}): {event}",
        event["error"]
    );
    assert_eq!(event["signer"], actor, "{what}: signer: {event}");
    assert_eq!(event["actor"], actor, "{what}: actor: {event}");
}

/// Waits for an activity of `kind` from Ferrodon in the peer's inbox
/// matching `pred`, verified by the peer's library as `actor`'s; with
/// Fedify, also waits until its inbox listener was handed it.
async fn received(
    peer: &InteropPeer,
    kind: &str,
    actor: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let event = peer.wait_inbox(kind, pred).await;
    assert_verified(peer, &event, actor);
    if peer.library == "@fedify/fedify" {
        let id = event["id"].clone();
        peer.wait_event(&format!("Fedify's {kind} listener"), |e| {
            e["event"] == "handled" && e["type"] == kind && e["id"] == id
        })
        .await;
    }
    event
}

/// Asserts that Ferrodon's inbox took a peer's activity (202).
#[track_caller]
fn assert_delivered(peer: &InteropPeer, what: &str, answer: &Value) {
    assert_eq!(
        answer["status"], 202,
        "Ferrodon's inbox refused the {} peer's {what}: {answer}",
        peer.library
    );
}

/// The favourites count of a status as its author sees it.
async fn favourites(api: &Api, id: &str) -> i64 {
    let status = api.get(&format!("/api/v1/statuses/{id}")).await.ok_json();
    status["favourites_count"].as_i64().unwrap_or(-1)
}

/// The accts of the followers of a local account.
async fn follower_accts(api: &Api, id: &str) -> Vec<String> {
    let list = api
        .get(&format!("/api/v1/accounts/{id}/followers"))
        .await
        .ok_json();
    list.as_array()
        .map(|l| {
            l.iter()
                .filter_map(|a| a["acct"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn journey(server: &TestServer, peer: &InteropPeer) {
    let started = std::time::Instant::now();
    let api = Api::of(server);
    let alice = user_token(server, "alice").await;
    let a = alice.api(&api);
    let alice_uri = format!("{}/users/alice", public_url(server));
    // `bovine` or `fedify`, for the texts.
    let lib = peer.library.trim_start_matches("@fedify/").to_owned();
    let peer_a_handle = peer.handle("peer_a");
    let (peer_b, peer_b_handle) = (peer.actor("peer_b"), peer.handle("peer_b"));

    // ---- (a) the peer acts, Ferrodon answers ----

    // peer_a follows alice; Ferrodon accepts at once and the peer's library
    // verifies the Accept.
    let follow_out = peer.command("follow", json!({ "object": alice_uri })).await;
    assert_delivered(peer, "Follow", &follow_out);
    let follow_id = str_field(&follow_out, "id");
    received(peer, "Accept", &alice_uri, |e| {
        object_id(&e["object"]) == Some(follow_id.as_str())
    })
    .await;
    wait_until("peer_a among alice's followers", || async {
        follower_accts(&a, &alice.id)
            .await
            .contains(&peer_a_handle)
            .then_some(())
    })
    .await;
    if lib == "fedify" {
        // Fedify knocks with RFC 9421 first; Ferrodon takes it at once.
        peer.wait_event("Fedify's report of its Follow", |e| {
            e["event"] == "sent" && e["id"] == follow_id.as_str()
        })
        .await;
        let knocks: Vec<Value> = peer
            .events()
            .into_iter()
            .filter(|e| e["event"] == "sent" && e["id"] == follow_id.as_str())
            .collect();
        assert_eq!(knocks.len(), 1, "{knocks:?}");
        assert_eq!(knocks[0]["scheme"], "rfc9421", "{knocks:?}");
        assert_eq!(knocks[0]["status"], 202, "{knocks:?}");
    }

    // peer_a posts, mentioning alice: a mention notification and the status.
    let content = format!(
        "<p>Hello <span class=\"h-card\"><a href=\"{alice_uri}\" class=\"u-url mention\">@<span>alice</span></a></span>, greetings from {lib}</p>"
    );
    let note = peer
        .command("note", json!({ "content": content, "mention": alice_uri }))
        .await;
    assert_delivered(peer, "Create(Note)", &note);
    let note_uri = str_field(&note, "object_id");
    let mention = wait_until("the mention notification", || async {
        let n = a.get("/api/v1/notifications").await.ok_json();
        n.as_array()?
            .iter()
            .find(|n| n["type"] == "mention" && n["status"]["uri"] == note_uri.as_str())
            .cloned()
    })
    .await;
    assert_eq!(
        mention["account"]["acct"],
        peer_a_handle.as_str(),
        "{mention}"
    );
    let peer_status = &mention["status"];
    assert!(
        peer_status["content"]
            .as_str()
            .is_some_and(|c| c.contains(&format!("greetings from {lib}"))),
        "{peer_status}"
    );
    assert_eq!(peer_status["mentions"][0]["acct"], "alice", "{peer_status}");
    assert_eq!(peer_status["visibility"], "public", "{peer_status}");
    let peer_status_id = str_field(peer_status, "id");
    let shown = a
        .get(&format!("/api/v1/statuses/{peer_status_id}"))
        .await
        .ok_json();
    assert_eq!(shown["uri"], note_uri.as_str(), "{shown}");

    // peer_a likes a post of alice's, then takes it back.
    let post = post_status(&a, &format!("a post for {lib} to like")).await;
    let (post_id, post_uri) = (str_field(&post, "id"), str_field(&post, "uri"));
    let like = peer.command("like", json!({ "object": post_uri })).await;
    assert_delivered(peer, "Like", &like);
    wait_until("favourites_count to reach 1", || async {
        (favourites(&a, &post_id).await == 1).then_some(())
    })
    .await;
    wait_until("the favourite notification", || async {
        let n = a.get("/api/v1/notifications").await.ok_json();
        n.as_array()?
            .iter()
            .any(|n| {
                n["type"] == "favourite"
                    && n["status"]["id"] == post_id.as_str()
                    && n["account"]["acct"] == peer_a_handle.as_str()
            })
            .then_some(())
    })
    .await;
    let undo_like = peer
        .command(
            "undo",
            json!({ "activity": str_field(&like, "id"), "embed": true }),
        )
        .await;
    assert_delivered(peer, "Undo(Like)", &undo_like);
    wait_until("favourites_count to fall back to 0", || async {
        (favourites(&a, &post_id).await == 0).then_some(())
    })
    .await;

    // peer_a unfollows alice.
    let undo_follow = peer
        .command("undo", json!({ "activity": follow_id, "embed": true }))
        .await;
    assert_delivered(peer, "Undo(Follow)", &undo_follow);
    wait_until("peer_a to leave alice's followers", || async {
        (!follower_accts(&a, &alice.id).await.contains(&peer_a_handle)).then_some(())
    })
    .await;

    // ---- (b) Ferrodon acts, the peer answers ----

    // alice finds peer_b through WebFinger and follows it; the peer's
    // library verifies the Follow and accepts it.
    let found = a
        .get_q(
            "/api/v2/search",
            &[
                ("q", &format!("@{peer_b_handle}")),
                ("resolve", "true"),
                ("type", "accounts"),
            ],
        )
        .await
        .ok_json();
    let accounts = found["accounts"].as_array().cloned().unwrap_or_default();
    assert_eq!(accounts.len(), 1, "search for @{peer_b_handle}: {found}");
    let peer_b_account = &accounts[0];
    assert_eq!(peer_b_account["acct"], peer_b_handle.as_str(), "{found}");
    assert_eq!(peer_b_account["uri"], peer_b.as_str(), "{found}");
    let peer_b_id = str_field(peer_b_account, "id");
    follow(&a, &peer_b_id).await;
    let follow_in = received(peer, "Follow", &alice_uri, |e| {
        object_id(&e["object"]) == Some(peer_b.as_str())
    })
    .await;
    let follow_in_id = follow_in["id"].clone();
    let accept_out = peer
        .wait_event("the peer's Accept of alice's Follow", |e| {
            e["event"] == "sent"
                && e["type"] == "Accept"
                && e["inbox"]
                    .as_str()
                    .is_some_and(|i| i.starts_with(&public_url(server)))
                && e["status"] != 401
        })
        .await;
    assert_eq!(
        accept_out["status"], 202,
        "Ferrodon's inbox refused the peer's Accept of {follow_in_id}: {accept_out}"
    );
    wait_until("following=true once the peer accepted", || async {
        let rel = a
            .get_q("/api/v1/accounts/relationships", &[("id[]", &peer_b_id)])
            .await
            .ok_json();
        (rel[0]["following"] == true).then_some(())
    })
    .await;

    // alice posts, mentioning peer_b: the peer gets the Create(Note).
    let hello = post_status(&a, &format!("@{peer_b_handle} hello {lib}, from Ferrodon")).await;
    let hello_uri = str_field(&hello, "uri");
    let create = received(peer, "Create", &alice_uri, |e| {
        object_id(&e["object"]) == Some(hello_uri.as_str())
    })
    .await;
    let object = &create["activity"]["object"];
    assert_eq!(object["type"], "Note", "{create}");
    assert_eq!(object["attributedTo"], alice_uri.as_str(), "{create}");
    assert!(
        object["content"]
            .as_str()
            .is_some_and(|c| c.contains(&format!("hello {lib}, from Ferrodon"))),
        "{create}"
    );
    assert!(
        object["tag"].as_array().is_some_and(|tags| tags
            .iter()
            .any(|t| t["type"] == "Mention" && t["href"] == peer_b.as_str())),
        "{create}"
    );

    // alice favourites peer_a's note: the peer gets the Like; then the Undo.
    let faved = a
        .post(&format!("/api/v1/statuses/{peer_status_id}/favourite"), &[])
        .await
        .ok_json();
    assert_eq!(faved["favourited"], true, "{faved}");
    let like_in = received(peer, "Like", &alice_uri, |e| {
        object_id(&e["object"]) == Some(note_uri.as_str())
    })
    .await;
    let like_in_id = like_in["id"].clone();
    a.post(
        &format!("/api/v1/statuses/{peer_status_id}/unfavourite"),
        &[],
    )
    .await
    .ok_json();
    let undo_in = received(peer, "Undo", &alice_uri, |e| {
        object_id(&e["object"]).is_some_and(|o| Some(o) == like_in_id.as_str())
    })
    .await;
    let undone = &undo_in["activity"]["object"];
    if undone.is_object() {
        assert_eq!(undone["type"], "Like", "{undo_in}");
        assert_eq!(undone["object"], note_uri.as_str(), "{undo_in}");
    }

    // alice unfollows peer_b: the peer gets the Undo(Follow).
    unfollow(&a, &peer_b_id).await;
    received(peer, "Undo", &alice_uri, |e| {
        object_id(&e["object"]).is_some_and(|o| Some(o) == follow_in_id.as_str())
    })
    .await;

    assert_no_panics(server);
    eprintln!(
        "{lib} {}: the interop journey took {:.1} s",
        peer.version,
        started.elapsed().as_secs_f64()
    );
}

/// bovine's own form of `Undo`: `ActivityFactory.undo` names the undone
/// activity by its id unless told to embed it. Mastodon takes this for a
/// `Follow` (its `Undo` looks follows up by their uri), and so does
/// Ferrodon (this test found that it did not).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bovine_undo_follow_by_id() {
    let Some(python) = client_env("FERRODON_TEST_PYTHON", "bovine interop") else {
        return;
    };
    let (server, peer) = tokio::join!(
        spawn_with(Lane::Sqlite, PEER_ENV),
        InteropPeer::start(
            &python,
            &["tests/interop/bovine_peer.py", "peer_a"],
            &[("PYTHONUNBUFFERED", "1")],
        )
    );
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let a = alice.api(&api);
    let alice_uri = format!("{}/users/alice", public_url(&server));
    let handle = peer.handle("peer_a");
    let follow_out = peer.command("follow", json!({ "object": alice_uri })).await;
    assert_delivered(&peer, "Follow", &follow_out);
    wait_until("peer_a among alice's followers", || async {
        follower_accts(&a, &alice.id)
            .await
            .contains(&handle)
            .then_some(())
    })
    .await;
    let undo = peer
        .command(
            "undo",
            json!({ "activity": str_field(&follow_out, "id"), "embed": false }),
        )
        .await;
    assert_delivered(&peer, "Undo(Follow) by id", &undo);
    let undo_id = str_field(&undo, "id");
    let sent = peer
        .wait_event("bovine's report of its Undo", |e| {
            e["event"] == "sent" && e["id"] == undo_id.as_str()
        })
        .await;
    assert_eq!(
        sent["activity"]["object"],
        str_field(&follow_out, "id"),
        "bovine names the Follow by its id: {sent}"
    );
    wait_until("peer_a to leave alice's followers", || async {
        (!follower_accts(&a, &alice.id).await.contains(&handle)).then_some(())
    })
    .await;
    assert_no_panics(&server);
}
