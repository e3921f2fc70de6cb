//! The inbox against forged requests: a fake remote server ([`Peer`])
//! signs activities for `POST /inbox` and `POST /users/alice/inbox` and
//! breaks one part of the HTTP signature at a time. Each forgery must be
//! answered at once with a 4xx of the expected class and Mastodon's JSON
//! error body, and change nothing: the rows of `statuses`, `follows`,
//! `follow_requests`, `favourites`, `notifications`, `accounts` and the
//! `ingest` jobs are counted before and after.
//!
//! `accounts` leaves out the peers' own actors: verifying a signature
//! means fetching the key, and the key's owner is stored when it is fetched
//! (Mastodon does the same), before the signature is known to be good. No
//! other account may appear. With Redis, `ingest` jobs are pushed to Redis,
//! not the table: there the queues going idle and the rows are what show
//! that nothing was queued and run.
//!
//! Not here: a signed GET with `host` left out (signed fetches are not
//! required: actors and public objects are served to anyone, as Mastodon
//! does by default, so there is nothing to refuse).
//!
//! The controls: correctly signed `Follow`s (draft-cavage and RFC 9421)
//! are accepted and followed (an `Accept` comes back to the peer for an
//! unlocked account, a follow request waits for a locked one), and a
//! `Create` whose object is on another host is accepted at the inbox but
//! has no effect once processed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use common::peer::{DigestMode, Forge, PEER_ENV, Peer, PeerActor, SignedRequest};
use common::*;
use ferrodon_federation::signatures::{PrivateKey, digest, generate_rsa_2048};
use ferrodon_testkit::{Lane, TestServer, lane_test};
use serde_json::{Value, json};

const AS: &str = "https://www.w3.org/ns/activitystreams";
const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// The tables an inbound activity can add rows to (besides `accounts`).
const TABLES: &[&str] = &[
    "statuses",
    "follows",
    "follow_requests",
    "favourites",
    "notifications",
];

// ---------------------------------------------------------------------------
// Counting rows

async fn count(server: &TestServer, sql: &str, binds: &[&str]) -> i64 {
    sql_fetch_text(server, sql, binds)
        .await
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count from {sql}"))
}

/// Row counts that no refused request may change.
async fn counts(server: &TestServer, exempt: &[&PeerActor]) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for table in TABLES {
        let sql = format!("SELECT CAST(COUNT(*) AS TEXT) FROM {table}");
        out.push(((*table).to_owned(), count(server, &sql, &[]).await));
    }
    let mut accounts = count(server, "SELECT CAST(COUNT(*) AS TEXT) FROM accounts", &[]).await;
    for actor in exempt {
        accounts -= count(
            server,
            "SELECT CAST(COUNT(*) AS TEXT) FROM accounts WHERE uri = $1",
            &[&actor.uri],
        )
        .await;
    }
    out.push(("accounts (but the peers' actors)".to_owned(), accounts));
    let jobs = count(
        server,
        "SELECT CAST(COUNT(*) AS TEXT) FROM jobs WHERE kind = 'ingest'",
        &[],
    )
    .await;
    out.push(("jobs of kind ingest".to_owned(), jobs));
    out
}

// ---------------------------------------------------------------------------
// Activities

fn follow(actor: &PeerActor, object: &str, tag: &str) -> Vec<u8> {
    json!({
        "@context": AS,
        "id": format!("{}/follows/{tag}", actor.uri),
        "type": "Follow",
        "actor": actor.uri,
        "object": object,
    })
    .to_string()
    .into_bytes()
}

fn like(actor: &PeerActor, object: &str, tag: &str) -> Vec<u8> {
    json!({
        "@context": AS,
        "id": format!("{}/likes/{tag}", actor.uri),
        "type": "Like",
        "actor": actor.uri,
        "object": object,
    })
    .to_string()
    .into_bytes()
}

/// A public `Note` mentioning `mention` (an actor URI).
fn note(id: &str, attributed_to: &str, mention: &str) -> Value {
    json!({
        "id": id,
        "type": "Note",
        "attributedTo": attributed_to,
        "content": "<p>hello <span class=\"h-card\"><a href=\"#\">@alice</a></span></p>",
        "to": [PUBLIC],
        "cc": [mention],
        "tag": [{ "type": "Mention", "href": mention }],
        "published": "2025-01-01T00:00:00Z",
    })
}

/// A `Create` by `actor` (the activity's id on the actor's host) of `object`.
fn create(actor: &PeerActor, object: Value, tag: &str) -> Vec<u8> {
    json!({
        "@context": AS,
        "id": format!("{}/activities/{tag}", actor.uri),
        "type": "Create",
        "actor": actor.uri,
        "to": [PUBLIC],
        "object": object,
    })
    .to_string()
    .into_bytes()
}

/// The URL the server sees for `path` (its configured domain) and the one
/// it listens on.
fn urls(server: &TestServer, path: &str) -> (String, String) {
    (
        format!("{}{path}", public_url(server)),
        format!("{}{path}", server.base_url),
    )
}

/// Sends a signed request and checks it is refused with `status`, a JSON
/// error body and no change to any counted row.
async fn assert_refused(
    server: &TestServer,
    exempt: &[&PeerActor],
    what: &str,
    status: u16,
    request: &SignedRequest,
    connect_url: &str,
) {
    let before = counts(server, exempt).await;
    let resp = request.send_via(connect_url).await;
    assert_eq!(
        resp.status,
        status,
        "{what}: expected {status}: {}",
        resp.describe()
    );
    let error = resp.json_error();
    eprintln!("{what}: {} {error}", resp.status);
    let after = counts(server, exempt).await;
    assert_eq!(before, after, "{what}: refused, yet rows changed");
}

/// A minute-precise point `minutes` from now (negative: in the past).
fn minutes_from_now(minutes: i64) -> SystemTime {
    let offset = Duration::from_secs(minutes.unsigned_abs() * 60);
    if minutes < 0 {
        SystemTime::now() - offset
    } else {
        SystemTime::now() + offset
    }
}

fn another_key() -> Arc<PrivateKey> {
    let pair = generate_rsa_2048().expect("generate a key");
    Arc::new(PrivateKey::from_pem(&pair.private_key_pem).expect("read the key"))
}

/// A listener on `[::1]` (a loopback address outside the allowed
/// 127.0.0.0/8) that counts the connections it gets.
async fn ipv6_tripwire() -> Option<(u16, Arc<AtomicUsize>)> {
    let listener = tokio::net::TcpListener::bind("[::1]:0").await.ok()?;
    let port = listener.local_addr().ok()?.port();
    let hits = Arc::new(AtomicUsize::new(0));
    let seen = hits.clone();
    tokio::spawn(async move {
        while let Ok((_socket, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
        }
    });
    Some((port, hits))
}

// ---------------------------------------------------------------------------
// Forgeries: refused at once, nothing changes

lane_test!(forgeries_are_refused, |lane: Lane| async move {
    let server = spawn_with(lane, PEER_ENV).await;
    let admin = jobs_admin(&server, "admin").await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let liked = post_status(&alice.api(&api), "a status to like").await;
    let liked_uri = str_field(&liked, "uri");
    let alice_uri = format!("{}/users/alice", public_url(&server));

    let peer = Peer::start().await;
    let mallory = peer.add_actor("mallory");
    let trudy = peer.add_actor("trudy");
    // Another host (another port): an actor of its own, and a key document
    // claiming mallory (on the first host) as its owner.
    let other = Peer::start().await;
    let far = other.add_actor("mallory");
    let far_key_id = format!("{}/keys/mallory", other.base);
    other.serve_json(
        "/keys/mallory",
        &json!({
            "@context": "https://w3id.org/security/v1",
            "id": far_key_id,
            "type": "Key",
            "owner": mallory.uri,
            "publicKeyPem": mallory.public_key_pem,
        }),
    );
    let exempt = [&mallory, &trudy, &far];
    let initial = counts(&server, &exempt).await;

    let (inbox, inbox_at) = urls(&server, "/inbox");
    let (alice_inbox, alice_inbox_at) = urls(&server, "/users/alice/inbox");
    let f = |tag: &str| follow(&mallory, &alice_uri, tag);
    let strange_key = another_key();
    // Each a Follow of alice with an id of its own, to the shared inbox.
    let content_digest_of_another = digest::content_digest_header_value(b"another body");
    let huge = format!(
        "keyId=\"{}\",algorithm=\"rsa-sha256\",headers=\"(request-target) host date digest\",signature=\"{}\"",
        mallory.key_id,
        "A".repeat(10 * 1024)
    );
    let changed = like(&mallory, &liked_uri, "changed");
    let cases: Vec<(&str, Forge)> = vec![
        ("unsigned", Forge::unsigned()),
        (
            "signed with another key",
            Forge::cavage().signing_key(strange_key.clone()),
        ),
        (
            "RFC 9421 signed with another key",
            Forge::rfc9421().signing_key(strange_key.clone()),
        ),
        (
            "Date 66 minutes old",
            Forge::cavage().dated(minutes_from_now(-66)),
        ),
        (
            "Date 61 minutes ahead",
            Forge::cavage().dated(minutes_from_now(61)),
        ),
        (
            "RFC 9421 created 66 minutes ago",
            Forge::rfc9421().dated(minutes_from_now(-66)),
        ),
        (
            "no Date (neither sent nor signed)",
            Forge::cavage()
                .covering(&["(request-target)", "host", "digest"])
                .without_date_header(),
        ),
        (
            "Date signed but not sent",
            Forge::cavage().without_date_header(),
        ),
        (
            "body changed after signing",
            Forge::cavage().body_after_signing(changed.clone()),
        ),
        (
            "body changed after signing, Digest recomputed",
            Forge::cavage()
                .header_after_signing("digest", &digest::digest_header_value(&changed))
                .body_after_signing(changed.clone()),
        ),
        (
            "no Digest on a POST",
            Forge::cavage().digest(DigestMode::Missing),
        ),
        (
            "Digest sent but not signed",
            Forge::cavage().covering(&["(request-target)", "host", "date"]),
        ),
        (
            "(request-target) not signed",
            Forge::cavage().covering(&["host", "date", "digest"]),
        ),
        (
            "signed for another path",
            Forge::cavage().signed_for_path("/users/alice/inbox"),
        ),
        (
            "RFC 9421 signed for another path",
            Forge::rfc9421().signed_for_path("/users/alice/inbox"),
        ),
        (
            "unsupported algorithm hmac-sha256",
            Forge::cavage().algorithm(Some("hmac-sha256")),
        ),
        (
            "RFC 9421 algorithm hmac-sha256",
            Forge::rfc9421().algorithm(Some("hmac-sha256")),
        ),
        (
            "malformed Signature header",
            Forge::cavage().raw_signature("keyId=\"unterminated,signature=:::"),
        ),
        (
            "a 10 KB Signature header",
            Forge::cavage().raw_signature(&huge),
        ),
        (
            "keyId on another host (its own actor)",
            Forge::cavage()
                .key_id(&far.key_id)
                .signing_key(far.key.clone()),
        ),
        (
            "keyId on another host claiming the actor as owner",
            Forge::cavage().key_id(&far_key_id),
        ),
        (
            "signed by another actor of the same host",
            Forge::cavage()
                .key_id(&trudy.key_id)
                .signing_key(trudy.key.clone()),
        ),
        (
            "RFC 9421 with a bad Content-Digest",
            Forge::rfc9421().digest(DigestMode::Value(content_digest_of_another)),
        ),
        (
            "RFC 9421 without Content-Digest",
            Forge::rfc9421().digest(DigestMode::Missing),
        ),
    ];
    for (i, (what, forge)) in cases.iter().enumerate() {
        let request = forge.post(&mallory, &inbox, &f(&format!("case-{i}")));
        assert_refused(&server, &exempt, what, 401, &request, &inbox_at).await;
    }
    // And to alice's own inbox (a Like of her status).
    let to_alice = [
        ("unsigned, to alice's inbox", Forge::unsigned()),
        (
            "another key, to alice's inbox",
            Forge::cavage().signing_key(strange_key.clone()),
        ),
    ];
    for (i, (what, forge)) in to_alice.iter().enumerate() {
        let body = like(&mallory, &liked_uri, &format!("alice-{i}"));
        let request = forge.post(&mallory, &alice_inbox, &body);
        assert_refused(&server, &exempt, what, 401, &request, &alice_inbox_at).await;
    }
    // A key that does not verify is fetched again once (it may have
    // rotated), not more.
    let fetches = peer.hits("/users/mallory");
    assert_refused(
        &server,
        &exempt,
        "signed with another key, once more",
        401,
        &Forge::cavage().signing_key(strange_key.clone()).post(
            &mallory,
            &inbox,
            &f("wrong-key-again"),
        ),
        &inbox_at,
    )
    .await;
    let refetches = peer.hits("/users/mallory") - fetches;
    assert_eq!(
        refetches, 1,
        "a key that does not verify was fetched {refetches} times"
    );

    // keyId on a private address outside ALLOWED_PRIVATE_ADDRESSES:
    // refused without connecting (a connection attempt to 10.255.255.1
    // would take the 5 s connect timeout).
    let started = Instant::now();
    assert_refused(
        &server,
        &exempt,
        "keyId on 10.255.255.1",
        401,
        &Forge::cavage()
            .key_id("http://10.255.255.1/users/mallory#main-key")
            .post(&mallory, &inbox, &f("private-10")),
        &inbox_at,
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "a keyId on 10.255.255.1 took {:?}: was it connected to?",
        started.elapsed()
    );
    // [::1] is loopback but not in 127.0.0.0/8: a listener there must see
    // no connection at all.
    if let Some((port, hits)) = ipv6_tripwire().await {
        assert_refused(
            &server,
            &exempt,
            "keyId on [::1]",
            401,
            &Forge::cavage()
                .key_id(&format!("http://[::1]:{port}/users/mallory#main-key"))
                .post(&mallory, &inbox, &f("private-v6")),
            &inbox_at,
        )
        .await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            hits.load(Ordering::SeqCst),
            0,
            "the server connected to [::1] for a keyId"
        );
    }

    // Not an activity (signed all the same): 400.
    let not_activity = json!({ "@context": AS, "id": format!("{}/notes/1", mallory.uri), "type": "Note", "content": "x" });
    assert_refused(
        &server,
        &exempt,
        "a signed Note, not an activity",
        400,
        &Forge::cavage().post(&mallory, &inbox, not_activity.to_string().as_bytes()),
        &inbox_at,
    )
    .await;
    // Over 1 MiB: 413 (sent raw: the server may answer before reading it all).
    let mut big: Value = serde_json::from_slice(&f("big")).expect("JSON");
    big["padding"] = Value::String("x".repeat(1024 * 1024));
    let big = big.to_string().into_bytes();
    let request = Forge::cavage().post(&mallory, &inbox, &big);
    let headers: Vec<(String, String)> = request
        .headers
        .iter()
        .filter(|(name, _)| *name != "host")
        .map(|(name, value)| (name.to_string(), value.to_str().expect("ASCII").to_owned()))
        .collect();
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let before = counts(&server, &exempt).await;
    let resp = raw_request(&server.base_url, "POST", "/inbox", &headers, big).await;
    assert_eq!(resp.status, 413, "over 1 MiB: {}", resp.describe());
    resp.json_error();
    assert_eq!(
        counts(&server, &exempt).await,
        before,
        "over 1 MiB: rows changed"
    );

    // Nothing was queued by any of them.
    jobs_idle(&admin).await;
    assert_eq!(
        counts(&server, &exempt).await,
        initial,
        "rows changed once the queues went idle"
    );
    assert_no_panics(&server);
});

// ---------------------------------------------------------------------------
// A Create whose object is on another host: accepted, then dropped

lane_test!(foreign_objects_are_dropped, |lane: Lane| async move {
    let server = spawn_with(lane, PEER_ENV).await;
    let admin = jobs_admin(&server, "admin").await;
    user_token(&server, "alice").await;
    let alice_uri = format!("{}/users/alice", public_url(&server));
    let peer = Peer::start().await;
    let mallory = peer.add_actor("mallory");
    // The other host serves the note and its author, so that following
    // either would work: nothing but the origin check stops them.
    let other = Peer::start().await;
    let victim = other.add_actor("victim");
    let foreign_id = format!("{}/statuses/1", victim.uri);
    other.serve_json(
        "/users/victim/statuses/1",
        &note(&foreign_id, &victim.uri, &alice_uri),
    );
    let (inbox, inbox_at) = urls(&server, "/inbox");

    // The first accepted request stores mallory (its key's owner).
    let exempt = [&mallory];
    let mut before = counts(&server, &exempt).await;
    let creates = [
        (
            "a Note on another host attributed to another actor",
            note(&foreign_id, &victim.uri, &alice_uri),
        ),
        (
            "a Note on another host attributed to the actor",
            note(&foreign_id, &mallory.uri, &alice_uri),
        ),
        (
            "a Note on the actor's host attributed to another host's actor",
            note(
                &format!("{}/statuses/2", mallory.uri),
                &victim.uri,
                &alice_uri,
            ),
        ),
    ];
    for (i, (what, object)) in creates.into_iter().enumerate() {
        let body = create(&mallory, object, &format!("foreign-{i}"));
        let resp = Forge::cavage()
            .post(&mallory, &inbox, &body)
            .send_via(&inbox_at)
            .await;
        assert_eq!(resp.status, 202, "{what}: {}", resp.describe());
        jobs_idle(&admin).await;
        let after = counts(&server, &exempt).await;
        assert_eq!(before, after, "{what}: accepted and it had an effect");
        before = after;
    }
    assert_eq!(
        other.hits("/users/victim/statuses/1"),
        0,
        "the foreign note was fetched"
    );

    // The control: the same Create with the note on the actor's host is
    // stored (so the above were dropped, not lost).
    let own_id = format!("{}/statuses/3", mallory.uri);
    let body = create(&mallory, note(&own_id, &mallory.uri, &alice_uri), "own");
    let resp = Forge::cavage()
        .post(&mallory, &inbox, &body)
        .send_via(&inbox_at)
        .await;
    assert_eq!(resp.status, 202, "{}", resp.describe());
    wait_until("the actor's own note to be stored", || async {
        let n = count(
            &server,
            "SELECT CAST(COUNT(*) AS TEXT) FROM statuses WHERE uri = $1",
            &[&own_id],
        )
        .await;
        (n == 1).then_some(())
    })
    .await;
    assert_eq!(
        count(
            &server,
            "SELECT CAST(COUNT(*) AS TEXT) FROM statuses WHERE uri = $1",
            &[&foreign_id],
        )
        .await,
        0
    );
    assert_no_panics(&server);
});

// ---------------------------------------------------------------------------
// Positive controls: correctly signed Follows

/// Follow rows (`follows` or `follow_requests`) from `actor` to `target_id`.
async fn follow_rows(server: &TestServer, table: &str, actor: &PeerActor, target_id: &str) -> i64 {
    let sql = format!(
        "SELECT CAST(COUNT(*) AS TEXT) FROM {table} f JOIN accounts a ON a.id = f.account_id \
         WHERE a.uri = $1 AND f.target_account_id = CAST($2 AS BIGINT)"
    );
    count(server, &sql, &[&actor.uri, target_id]).await
}

/// Waits for an `Accept` of `follow_id` at the peer and checks its signature.
async fn wait_accept(peer: &Peer, follow_id: &str, signer: &str) {
    let accept = peer
        .wait_for(&format!("an Accept of {follow_id}"), |r| {
            r.method == "POST"
                && r.activity_type().as_deref() == Some("Accept")
                && r.json()
                    .is_some_and(|v| v["object"] == follow_id || v["object"]["id"] == follow_id)
        })
        .await;
    assert!(
        accept.path == "/inbox" || accept.path.ends_with("/inbox"),
        "the Accept went to {}",
        accept.path
    );
    let key_id = peer
        .verify_received(&accept)
        .await
        .unwrap_or_else(|e| panic!("the Accept's signature: {e}: {}", accept.describe()));
    assert_eq!(
        key_id,
        format!("{signer}#main-key"),
        "{}",
        accept.describe()
    );
    let accept = accept.json().expect("JSON");
    assert_eq!(accept["actor"], signer, "{accept}");
}

lane_test!(signed_follows_are_accepted, |lane: Lane| async move {
    let server = spawn_with(lane, PEER_ENV).await;
    let admin = jobs_admin(&server, "admin").await;
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let api = Api::of(&server);
    bob.api(&api)
        .patch("/api/v1/accounts/update_credentials", &[("locked", "true")])
        .await
        .ok_json();
    let base = public_url(&server);
    let peer = Peer::start().await;
    let mallory = peer.add_actor("mallory");
    let trudy = peer.add_actor("trudy");
    let (inbox, inbox_at) = urls(&server, "/inbox");
    let (alice_inbox, alice_inbox_at) = urls(&server, "/users/alice/inbox");

    // draft-cavage, to the shared inbox: alice is unlocked.
    let to_alice = follow(&mallory, &format!("{base}/users/alice"), "cavage");
    let request = Forge::cavage().post(&mallory, &inbox, &to_alice);
    let resp = request.send_via(&inbox_at).await;
    assert_eq!(resp.status, 202, "{}", resp.describe());
    wait_until("mallory follows alice", || async {
        (follow_rows(&server, "follows", &mallory, &alice.id).await == 1).then_some(())
    })
    .await;
    wait_accept(
        &peer,
        &format!("{}/follows/cavage", mallory.uri),
        &format!("{base}/users/alice"),
    )
    .await;
    // Replayed within the signature's window (there is no nonce store, as
    // in Mastodon): accepted, and it changes nothing.
    jobs_idle(&admin).await;
    let settled = counts(&server, &[&mallory, &trudy]).await;
    let resp = request.send_via(&inbox_at).await;
    assert_eq!(resp.status, 202, "replayed: {}", resp.describe());
    jobs_idle(&admin).await;
    assert_eq!(
        counts(&server, &[&mallory, &trudy]).await,
        settled,
        "a replayed Follow changed rows"
    );

    // RFC 9421, to alice's inbox.
    let to_alice = follow(&trudy, &format!("{base}/users/alice"), "rfc9421");
    let resp = Forge::rfc9421()
        .post(&trudy, &alice_inbox, &to_alice)
        .send_via(&alice_inbox_at)
        .await;
    assert_eq!(resp.status, 202, "{}", resp.describe());
    wait_until("trudy follows alice", || async {
        (follow_rows(&server, "follows", &trudy, &alice.id).await == 1).then_some(())
    })
    .await;
    wait_accept(
        &peer,
        &format!("{}/follows/rfc9421", trudy.uri),
        &format!("{base}/users/alice"),
    )
    .await;

    // RFC 9421 to a locked account: a follow request, no Accept yet.
    let to_bob = follow(&trudy, &format!("{base}/users/bob"), "locked");
    let resp = Forge::rfc9421()
        .post(&trudy, &inbox, &to_bob)
        .send_via(&inbox_at)
        .await;
    assert_eq!(resp.status, 202, "{}", resp.describe());
    wait_until("trudy asks to follow bob", || async {
        (follow_rows(&server, "follow_requests", &trudy, &bob.id).await == 1).then_some(())
    })
    .await;
    assert_eq!(follow_rows(&server, "follows", &trudy, &bob.id).await, 0);
    let requests = bob.api(&api).get("/api/v1/follow_requests").await.ok_json();
    assert_eq!(
        requests.as_array().map(Vec::len),
        Some(1),
        "bob's follow requests: {requests}"
    );
    let follow_id = format!("{}/follows/locked", trudy.uri);
    assert!(
        !peer.received().iter().any(|r| r.json().is_some_and(|v| {
            v["type"] == "Accept"
                && (v["object"] == follow_id.as_str() || v["object"]["id"] == follow_id.as_str())
        })),
        "a locked account's follow request was accepted on its own"
    );

    // The server's fetches of the peer's keys were signed (by its instance actor).
    let fetch = peer
        .received()
        .into_iter()
        .find(|r| r.method == "GET" && r.path == "/users/mallory")
        .expect("the server fetched mallory");
    peer.verify_received(&fetch)
        .await
        .unwrap_or_else(|e| panic!("the key fetch's signature: {e}: {}", fetch.describe()));
    assert_no_panics(&server);
});

// ---------------------------------------------------------------------------
// The harness itself: its correct signatures verify, its forgeries fail for
// the reason they are meant to (so a 401 above is not a harness bug).

/// What `signatures::verify_request` + `verify` say about a request.
fn verify_locally(request: &SignedRequest, actor: &PeerActor) -> Result<(), String> {
    use ferrodon_federation::signatures::{PublicKey, verify_request};
    let uri = request.url.parse().expect("a URL");
    let pending = verify_request(
        &request.method,
        &uri,
        &request.headers,
        request.body.as_deref(),
        SystemTime::now(),
    )
    .map_err(|e| e.to_string())?;
    if pending.key_id != actor.key_id {
        return Err(format!("keyId {}", pending.key_id));
    }
    let key = PublicKey::from_pem(&actor.public_key_pem).expect("a public key");
    pending.verify(&key).map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn harness_signs_like_mastodon_and_fedify() {
    let peer = Peer::start().await;
    let mallory = peer.add_actor("mallory");
    let url = "http://localhost:3000/inbox";
    let body = follow(&mallory, "http://localhost:3000/users/alice", "x");
    for forge in [Forge::cavage(), Forge::rfc9421()] {
        let request = forge.post(&mallory, url, &body);
        verify_locally(&request, &mallory).expect("a correct signature verifies");
    }
    let cavage = Forge::cavage().post(&mallory, url, &body);
    let signature = cavage.headers["signature"].to_str().expect("ASCII");
    assert!(
        signature.contains("headers=\"(request-target) host date digest\""),
        "{signature}"
    );
    let rfc = Forge::rfc9421().post(&mallory, url, &body);
    let input = rfc.headers["signature-input"].to_str().expect("ASCII");
    assert!(
        input.starts_with(
            "sig1=(\"@method\" \"@target-uri\" \"@authority\" \"host\" \"date\" \"content-digest\");created="
        ) && input.contains(&format!(";keyid=\"{}\"", mallory.key_id))
            && input.contains(";alg=\"rsa-v1_5-sha256\""),
        "{input}"
    );
    let get = Forge::cavage().get(&mallory, "http://localhost:3000/users/alice");
    verify_locally(&get, &mallory).expect("a signed GET verifies");

    let other_key = another_key();
    let forged = [
        (
            "another key",
            Forge::cavage().signing_key(other_key.clone()),
            "signature",
        ),
        (
            "old",
            Forge::cavage().dated(minutes_from_now(-66)),
            "expired",
        ),
        (
            "ahead",
            Forge::cavage().dated(minutes_from_now(61)),
            "future",
        ),
        (
            "changed body",
            Forge::cavage().body_after_signing(b"{}".to_vec()),
            "digest",
        ),
        (
            "no digest",
            Forge::cavage().digest(DigestMode::Missing),
            "digest",
        ),
        (
            "digest unsigned",
            Forge::cavage().covering(&["(request-target)", "host", "date"]),
            "digest",
        ),
        (
            "target unsigned",
            Forge::cavage().covering(&["host", "date", "digest"]),
            "request-target",
        ),
        (
            "another path",
            Forge::cavage().signed_for_path("/users/alice/inbox"),
            "signature",
        ),
        (
            "hmac",
            Forge::cavage().algorithm(Some("hmac-sha256")),
            "hmac",
        ),
        (
            "9421 bad digest",
            Forge::rfc9421().digest(DigestMode::Value(digest::content_digest_header_value(b"x"))),
            "digest",
        ),
        (
            "9421 another path",
            Forge::rfc9421().signed_for_path("/x"),
            "signature",
        ),
    ];
    for (what, forge, reason) in forged {
        let err = verify_locally(&forge.post(&mallory, url, &body), &mallory)
            .expect_err(what)
            .to_lowercase();
        assert!(
            err.contains(reason),
            "{what}: refused for {err:?}, not {reason:?}"
        );
    }

    // The peer records what it receives and verifies it.
    let resp = Forge::cavage()
        .post(&mallory, &format!("{}/inbox", peer.base), &body)
        .send()
        .await;
    assert_eq!(resp.status, 202, "{}", resp.describe());
    let received = peer
        .wait_for("the POST", |r| r.method == "POST" && r.path == "/inbox")
        .await;
    assert_eq!(received.activity_type().as_deref(), Some("Follow"));
    assert_eq!(
        peer.verify_received(&received).await,
        Ok(mallory.key_id.clone())
    );
    // Sent to another address than the one signed for, the signed Host stays.
    let port = peer.authority.rsplit(':').next().expect("a port");
    let resp = Forge::cavage()
        .post(
            &mallory,
            &format!("http://localhost:{port}/users/x/inbox"),
            &body,
        )
        .send_via(&format!("{}/users/x/inbox", peer.base))
        .await;
    assert_eq!(resp.status, 202, "{}", resp.describe());
    let received = peer
        .wait_for("the POST via", |r| r.path == "/users/x/inbox")
        .await;
    let hosts: Vec<_> = received.headers.get_all("host").iter().collect();
    assert_eq!(hosts, [format!("localhost:{port}").as_str()]);
    assert_eq!(
        peer.verify_received(&received).await,
        Ok(mallory.key_id.clone())
    );
    let actor = reqwest::get(&mallory.uri).await.expect("GET the actor");
    assert!(
        actor
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with(common::peer::AP))
    );
    let actor: Value = actor.json().await.expect("JSON");
    assert_eq!(actor["id"], mallory.uri.as_str());
    assert_eq!(actor["publicKey"]["id"], mallory.key_id.as_str());
}
