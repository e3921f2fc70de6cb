//! What a remote actor may do besides posting, and what the instance's
//! policy makes of it, driven by a fake remote server ([`Peer`]) that signs
//! its activities (draft-cavage, as Mastodon):
//!
//! - `Add`/`Remove` on the actor's featured collection pin and unpin its
//!   statuses (an unknown one is fetched from its origin); other targets and
//!   other actors' statuses are ignored.
//! - `Block` and `Undo(Block)` of a local account: the follow ends and the
//!   relationship shows `blocked_by`.
//! - A domain block with `reject_media` keeps the domain's attachments as
//!   links (`unknown`) and its custom emoji out; with `reject_reports` its
//!   `Flag`s file no report.
//! - Followers-only and direct statuses are served to signed fetches of
//!   accounts allowed to see them, and to nobody else (404, as a status
//!   that does not exist); an unverifiable signature is served as anonymous.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::peer::{AP, Forge, PEER_ENV, Peer, PeerActor};
use common::*;
use ferrodon_federation::signatures::{PrivateKey, generate_rsa_2048};
use ferrodon_testkit::{Lane, TestServer, lane_test};
use reqwest::Method;
use serde_json::{Value, json};

const AS: &str = "https://www.w3.org/ns/activitystreams";
const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// The URL the server sees for `path` (its configured domain) and the one
/// it listens on.
fn urls(server: &TestServer, path: &str) -> (String, String) {
    (
        format!("{}{path}", public_url(server)),
        format!("{}{path}", server.base_url),
    )
}

/// Sends `activity` (its `@context` added) from `actor` to the shared inbox;
/// it must be accepted (202).
async fn deliver(server: &TestServer, actor: &PeerActor, mut activity: Value) {
    activity["@context"] = json!(AS);
    let body = activity.to_string().into_bytes();
    let (inbox, inbox_at) = urls(server, "/inbox");
    let resp = Forge::cavage()
        .post(actor, &inbox, &body)
        .send_via(&inbox_at)
        .await;
    assert_eq!(
        resp.status,
        202,
        "{}: {}",
        activity["type"],
        resp.describe()
    );
}

/// A public `Note` by `actor` with id `{actor}/statuses/{n}`.
fn note(actor: &PeerActor, n: u32, extra: Value) -> Value {
    let mut note = json!({
        "id": format!("{}/statuses/{n}", actor.uri),
        "type": "Note",
        "attributedTo": actor.uri,
        "content": format!("<p>note {n}</p>"),
        "to": [PUBLIC],
        "cc": [format!("{}/followers", actor.uri)],
        "published": "2025-01-01T00:00:00Z",
    });
    if let (Value::Object(n), Value::Object(e)) = (&mut note, extra) {
        n.extend(e);
    }
    note
}

fn create(actor: &PeerActor, object: Value) -> Value {
    json!({
        "id": format!("{}/activity", object["id"].as_str().unwrap()),
        "type": "Create",
        "actor": actor.uri,
        "to": [PUBLIC],
        "object": object,
    })
}

async fn count(server: &TestServer, sql: &str, binds: &[&str]) -> i64 {
    sql_fetch_text(server, sql, binds)
        .await
        .unwrap()
        .parse()
        .unwrap()
}

/// The local id of the account with ActivityPub id `uri` (once stored).
async fn account_id(server: &TestServer, uri: &str) -> String {
    wait_until(&format!("{uri} to be stored"), || async {
        sql_fetch_text(
            server,
            "SELECT CAST(id AS TEXT) FROM accounts WHERE uri = $1",
            &[uri],
        )
        .await
    })
    .await
}

/// `actor` follows the local account `local_uri` (unlocked: at once); waits
/// until `local_api`'s user sees the follower, and returns its local id.
async fn follow_local(
    server: &TestServer,
    actor: &PeerActor,
    local_api: &Api,
    local_uri: &str,
) -> String {
    deliver(
        server,
        actor,
        json!({"id": format!("{}/follows/1", actor.uri), "type": "Follow",
               "actor": actor.uri, "object": local_uri}),
    )
    .await;
    let id = account_id(server, &actor.uri).await;
    wait_until("the follow", || async {
        let rel = local_api
            .get(&format!("/api/v1/accounts/relationships?id[]={id}"))
            .await
            .ok_json();
        (rel[0]["followed_by"] == true).then_some(())
    })
    .await;
    id
}

/// The ActivityPub ids of the statuses `account` has pinned, as the client
/// API lists them.
async fn pinned_uris(api: &Api, account: &str) -> Vec<String> {
    let v = api
        .get(&format!("/api/v1/accounts/{account}/statuses?pinned=true"))
        .await
        .ok_json();
    let mut uris: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["uri"].as_str().unwrap().to_owned())
        .collect();
    uris.sort();
    uris
}

lane_test!(pins_blocks_and_domain_rejections, |lane: Lane| async move {
    let server = spawn_with(lane, PEER_ENV).await;
    let admin = jobs_admin(&server, "admin").await;
    let alice = user_token(&server, "alice").await;
    let api = Api::of(&server);
    let alice_api = alice.api(&api);
    let alice_uri = format!("{}/users/alice", public_url(&server));
    let peer = Peer::start().await;
    let mallory = peer.add_actor("mallory");
    let featured = format!("{}/collections/featured", mallory.uri);

    // mallory follows alice (unlocked: at once).
    let mallory_id = follow_local(&server, &mallory, &alice_api, &alice_uri).await;

    // --- Add / Remove on the featured collection ----------------------------
    let first = note(&mallory, 1, json!({}));
    let first_id = first["id"].as_str().unwrap().to_owned();
    deliver(&server, &mallory, create(&mallory, first)).await;
    wait_until("the first note to be stored", || async {
        let n = count(
            &server,
            "SELECT CAST(COUNT(*) AS TEXT) FROM statuses WHERE uri = $1",
            &[&first_id],
        )
        .await;
        (n == 1).then_some(())
    })
    .await;
    deliver(
        &server,
        &mallory,
        json!({"id": format!("{}#pins/1", mallory.uri), "type": "Add", "actor": mallory.uri,
               "object": first_id, "target": featured}),
    )
    .await;
    // An unknown status is fetched from its origin, then pinned.
    let second = note(&mallory, 2, json!({}));
    let second_id = second["id"].as_str().unwrap().to_owned();
    peer.serve_json("/users/mallory/statuses/2", &second);
    deliver(
        &server,
        &mallory,
        json!({"id": format!("{}#pins/2", mallory.uri), "type": "Add", "actor": mallory.uri,
               "object": second_id, "target": featured}),
    )
    .await;
    let mut both = vec![first_id.clone(), second_id.clone()];
    both.sort();
    wait_until("both notes to be pinned", || async {
        (pinned_uris(&api, &mallory_id).await == both).then_some(())
    })
    .await;
    assert_eq!(peer.hits("/users/mallory/statuses/2"), 1);
    // Added to another collection, or someone else's status: nothing.
    let third = note(&mallory, 3, json!({}));
    let third_id = third["id"].as_str().unwrap().to_owned();
    deliver(&server, &mallory, create(&mallory, third)).await;
    deliver(
        &server,
        &mallory,
        json!({"id": format!("{}#pins/3", mallory.uri), "type": "Add", "actor": mallory.uri,
               "object": third_id, "target": format!("{}/collections/other", mallory.uri)}),
    )
    .await;
    let alices = post_status(&alice_api, "alice's own").await;
    deliver(
        &server,
        &mallory,
        json!({"id": format!("{}#pins/4", mallory.uri), "type": "Add", "actor": mallory.uri,
               "object": alices["uri"], "target": featured}),
    )
    .await;
    jobs_idle(&admin).await;
    assert_eq!(pinned_uris(&api, &mallory_id).await, both);
    assert!(
        pinned_uris(&api, &alice.id).await.is_empty(),
        "a remote Add pinned a local status"
    );
    deliver(
        &server,
        &mallory,
        json!({"id": format!("{}#unpins/1", mallory.uri), "type": "Remove", "actor": mallory.uri,
               "object": first_id, "target": featured}),
    )
    .await;
    wait_until("the first note to be unpinned", || async {
        (pinned_uris(&api, &mallory_id).await == vec![second_id.clone()]).then_some(())
    })
    .await;

    // --- alice's pins go to her remote follower ------------------------------
    let pinned = alices["id"].as_str().unwrap().to_owned();
    alice_api
        .post(&format!("/api/v1/statuses/{pinned}/pin"), &[])
        .await
        .ok_json();
    let featured_of = |kind: &'static str| {
        let object = alices["uri"].clone();
        let target = format!("{alice_uri}/collections/featured");
        move |r: &common::peer::Received| {
            r.method == "POST"
                && r.json().is_some_and(|v| {
                    v["type"] == kind && v["object"] == object && v["target"] == target.as_str()
                })
        }
    };
    let add = peer.wait_for("alice's Add", featured_of("Add")).await;
    peer.verify_received(&add)
        .await
        .unwrap_or_else(|e| panic!("the Add's signature: {e}: {}", add.describe()));
    alice_api
        .post(&format!("/api/v1/statuses/{pinned}/unpin"), &[])
        .await
        .ok_json();
    peer.wait_for("alice's Remove", featured_of("Remove")).await;

    // --- Block / Undo(Block) ----------------------------------------------
    let block = json!({"id": format!("{}#blocks/1", mallory.uri), "type": "Block",
                       "actor": mallory.uri, "object": alice_uri});
    deliver(&server, &mallory, block.clone()).await;
    wait_until("mallory's block to be recorded", || async {
        let rel = alice_api
            .get(&format!("/api/v1/accounts/relationships?id[]={mallory_id}"))
            .await
            .ok_json();
        (rel[0]["blocked_by"] == true && rel[0]["followed_by"] == false).then_some(())
    })
    .await;
    deliver(
        &server,
        &mallory,
        json!({"id": format!("{}#blocks/1/undo", mallory.uri), "type": "Undo",
               "actor": mallory.uri, "object": block}),
    )
    .await;
    wait_until("mallory's block to be lifted", || async {
        let rel = alice_api
            .get(&format!("/api/v1/accounts/relationships?id[]={mallory_id}"))
            .await
            .ok_json();
        (rel[0]["blocked_by"] == false).then_some(())
    })
    .await;

    // --- reject_media and reject_reports ----------------------------------
    let with_media = |n: u32| {
        note(
            &mallory,
            n,
            json!({
                "content": format!("<p>picture {n} :blob:</p>"),
                "attachment": [{"type": "Document", "mediaType": "image/png",
                                "url": format!("{}/media/{n}.png", mallory.uri),
                                "name": "a picture"}],
                "tag": [{"type": "Emoji", "name": ":blob:",
                         "icon": {"type": "Image", "url": format!("{}/emoji/blob.png", mallory.uri)}}],
            }),
        )
    };
    let flag = |n: u32| {
        json!({"id": format!("{}/flags/{n}", mallory.uri), "type": "Flag",
               "actor": mallory.uri, "object": [alice_uri], "content": "spam"})
    };
    let reports = || count(&server, "SELECT CAST(COUNT(*) AS TEXT) FROM reports", &[]);
    let media_of = |uri: String| {
        let api = api.clone();
        let server = &server;
        async move {
            let id = sql_fetch_text(
                server,
                "SELECT CAST(id AS TEXT) FROM statuses WHERE uri = $1",
                &[&uri],
            )
            .await?;
            let status = api.get(&format!("/api/v1/statuses/{id}")).await.ok_json();
            Some(status)
        }
    };
    // Before the block: an image, an emoji, a report.
    deliver(&server, &mallory, create(&mallory, with_media(10))).await;
    deliver(&server, &mallory, flag(1)).await;
    let status = wait_until("the picture to be stored", || {
        media_of(format!("{}/statuses/10", mallory.uri))
    })
    .await;
    assert_eq!(status["media_attachments"][0]["type"], "image", "{status}");
    assert_eq!(status["emojis"][0]["shortcode"], "blob", "{status}");
    wait_until("the first report", || async {
        (reports().await == 1).then_some(())
    })
    .await;

    let peer_domain = mallory.uri.split('/').nth(2).unwrap().to_owned();
    let (code, out, err) = server.command(&[
        "admin",
        "domains",
        "block",
        &peer_domain,
        "--severity",
        "noop",
        "--reject-media",
        "--reject-reports",
    ]);
    assert_eq!(code, 0, "domains block: {out} {err}");
    let new_emoji = note(
        &mallory,
        12,
        json!({"tag": [{"type": "Emoji", "name": ":other:",
                        "icon": {"type": "Image", "url": format!("{}/emoji/other.png", mallory.uri)}}],
               "content": "<p>:other:</p>"}),
    );
    deliver(&server, &mallory, create(&mallory, with_media(11))).await;
    deliver(&server, &mallory, create(&mallory, new_emoji)).await;
    deliver(&server, &mallory, flag(2)).await;
    let status = wait_until("the second picture to be stored", || {
        media_of(format!("{}/statuses/11", mallory.uri))
    })
    .await;
    let attachment = &status["media_attachments"][0];
    assert_eq!(attachment["type"], "unknown", "{status}");
    assert_eq!(
        attachment["remote_url"],
        format!("{}/media/11.png", mallory.uri),
        "{status}"
    );
    jobs_idle(&admin).await;
    let other = media_of(format!("{}/statuses/12", mallory.uri))
        .await
        .expect("the emoji note is stored");
    assert_eq!(other["emojis"], json!([]), "{other}");
    assert_eq!(
        count(
            &server,
            "SELECT CAST(COUNT(*) AS TEXT) FROM custom_emojis WHERE shortcode = 'other'",
            &[],
        )
        .await,
        0
    );
    assert_eq!(
        reports().await,
        1,
        "a report from a domain whose reports are rejected"
    );
    assert_no_panics(&server);
});

lane_test!(
    private_statuses_go_to_signed_fetches_of_those_who_may_see_them,
    |lane: Lane| async move {
        let server = spawn_with(lane, PEER_ENV).await;
        let admin = jobs_admin(&server, "admin").await;
        let alice = user_token(&server, "alice").await;
        let api = Api::of(&server);
        let alice_api = alice.api(&api);
        let alice_uri = format!("{}/users/alice", public_url(&server));
        let peer = Peer::start().await;
        let mallory = peer.add_actor("mallory");
        let trudy = peer.add_actor("trudy");
        let peer_domain = mallory.uri.split('/').nth(2).unwrap().to_owned();

        let private = post_status_with(
            &alice_api,
            &[("status", "for followers"), ("visibility", "private")],
        )
        .await;
        let path = format!("/users/alice/statuses/{}", private["id"].as_str().unwrap());
        let (url, url_at) = urls(&server, &path);
        let signed_get = |actor: &PeerActor| Forge::cavage().get(actor, &url);

        // Before mallory follows: nobody gets it.
        let anonymous = api
            .send(Method::GET, &path, Body::None, &[("accept", AP)])
            .await;
        assert_eq!(anonymous.status, 404, "{}", anonymous.describe());
        let resp = signed_get(&mallory).send_via(&url_at).await;
        assert_eq!(resp.status, 404, "{}", resp.describe());

        let mallory_id = follow_local(&server, &mallory, &alice_api, &alice_uri).await;
        jobs_idle(&admin).await;

        // A follower's signed fetch: the object, addressed to the followers.
        let resp = signed_get(&mallory).send_via(&url_at).await;
        assert_eq!(resp.status, 200, "{}", resp.describe());
        let object = resp.json();
        assert_eq!(object["id"], url, "{object}");
        assert_eq!(object["type"], "Note", "{object}");
        assert!(
            !object["to"].to_string().contains(PUBLIC)
                && !object["cc"].to_string().contains(PUBLIC),
            "a followers-only note addressed to the public: {object}"
        );
        // Its Create, too.
        let activity_url = format!("{url}/activity");
        let resp = Forge::cavage()
            .get(&mallory, &activity_url)
            .send_via(&format!("{url_at}/activity"))
            .await;
        assert_eq!(resp.status, 200, "{}", resp.describe());
        // Not a follower (trudy), a signature by another key for mallory, or
        // no signature: 404, exactly as for a status that does not exist.
        let resp = signed_get(&trudy).send_via(&url_at).await;
        assert_eq!(resp.status, 404, "trudy: {}", resp.describe());
        let forged = Forge::cavage()
            .signing_key(std::sync::Arc::new(
                PrivateKey::from_pem(&generate_rsa_2048().unwrap().private_key_pem).unwrap(),
            ))
            .get(&mallory, &url)
            .send_via(&url_at)
            .await;
        assert_eq!(forged.status, 404, "another key: {}", forged.describe());
        let anonymous = api
            .send(Method::GET, &path, Body::None, &[("accept", AP)])
            .await;
        assert_eq!(anonymous.status, 404, "{}", anonymous.describe());

        // A direct status: the mentioned account only.
        let direct = post_status_with(
            &alice_api,
            &[
                ("status", &format!("@mallory@{peer_domain} only you")),
                ("visibility", "direct"),
            ],
        )
        .await;
        assert_eq!(direct["mentions"][0]["id"], mallory_id.as_str(), "{direct}");
        let path = format!("/users/alice/statuses/{}", direct["id"].as_str().unwrap());
        let (url, url_at) = urls(&server, &path);
        let resp = Forge::cavage().get(&mallory, &url).send_via(&url_at).await;
        assert_eq!(resp.status, 200, "{}", resp.describe());
        let resp = Forge::cavage().get(&trudy, &url).send_via(&url_at).await;
        assert_eq!(resp.status, 404, "{}", resp.describe());

        // alice's suspension reaches her follower's server as an Update.
        let (code, out, err) = server.command(&["admin", "accounts", "suspend", "alice"]);
        assert_eq!(code, 0, "suspend: {out} {err}");
        let update = peer
            .wait_for("alice's suspension", |r| {
                r.method == "POST"
                    && r.json().is_some_and(|v| {
                        v["type"] == "Update"
                            && v["object"]["id"] == alice_uri
                            && v["object"]["suspended"] == true
                    })
            })
            .await;
        peer.verify_received(&update)
            .await
            .unwrap_or_else(|e| panic!("the Update's signature: {e}: {}", update.describe()));

        // A signer on a suspended domain is anonymous again (bob's direct
        // status to mallory: served to mallory, then no longer).
        let bob = user_token(&server, "bob").await;
        let to_mallory = post_status_with(
            &bob.api(&api),
            &[
                ("status", &format!("@mallory@{peer_domain} from bob")),
                ("visibility", "direct"),
            ],
        )
        .await;
        let path = format!("/users/bob/statuses/{}", to_mallory["id"].as_str().unwrap());
        let (url, url_at) = urls(&server, &path);
        let resp = Forge::cavage().get(&mallory, &url).send_via(&url_at).await;
        assert_eq!(resp.status, 200, "{}", resp.describe());
        let (code, out, err) = server.command(&[
            "admin",
            "domains",
            "block",
            &peer_domain,
            "--severity",
            "suspend",
        ]);
        assert_eq!(code, 0, "domains block: {out} {err}");
        let resp = Forge::cavage().get(&mallory, &url).send_via(&url_at).await;
        assert_eq!(resp.status, 404, "{}", resp.describe());
        assert_no_panics(&server);
    }
);

lane_test!(quote_requests_and_authorizations, |lane: Lane| async move {
    let server = spawn_with(lane, PEER_ENV).await;
    let admin = jobs_admin(&server, "admin").await;
    let alice = user_token(&server, "alice").await;
    let api = Api::of(&server);
    let alice_api = alice.api(&api);
    let peer = Peer::start().await;
    let mallory = peer.add_actor("mallory");
    let trudy = peer.add_actor("trudy");

    let open = post_status(&alice_api, "quote me").await;
    let closed = post_status_with(
        &alice_api,
        &[
            ("status", "do not quote me"),
            ("quote_approval_policy", "nobody"),
        ],
    )
    .await;
    let open_uri = str_field(&open, "uri");
    let closed_uri = str_field(&closed, "uri");

    // A QuoteRequest of a status anyone may quote: accepted, with a stamp.
    let quoting = note(
        &mallory,
        1,
        json!({"quote": open_uri, "content": "<p>look</p>"}),
    );
    let request_id = format!("{}/quote_requests/1", mallory.uri);
    deliver(
        &server,
        &mallory,
        json!({"id": request_id, "type": "QuoteRequest", "actor": mallory.uri,
               "object": open_uri, "instrument": quoting}),
    )
    .await;
    let accept = peer
        .wait_for("the Accept of the QuoteRequest", |r| {
            r.method == "POST"
                && r.json()
                    .is_some_and(|v| v["type"] == "Accept" && v["object"] == request_id.as_str())
        })
        .await;
    peer.verify_received(&accept)
        .await
        .unwrap_or_else(|e| panic!("the Accept's signature: {e}: {}", accept.describe()));
    let stamp_url = accept.json().unwrap()["result"]
        .as_str()
        .expect("a result")
        .to_owned();
    let stamp_path = stamp_url
        .strip_prefix(&public_url(&server))
        .expect("the stamp is served here")
        .to_owned();
    let stamp = api
        .send(Method::GET, &stamp_path, Body::None, &[("accept", AP)])
        .await;
    assert_eq!(stamp.status, 200, "{}", stamp.describe());
    let stamp = stamp.json();
    assert_eq!(stamp["type"], "QuoteAuthorization", "{stamp}");
    assert_eq!(stamp["id"], stamp_url.as_str(), "{stamp}");
    assert_eq!(
        stamp["attributedTo"],
        format!("{}/users/alice", public_url(&server))
    );
    assert_eq!(
        stamp["interactingObject"],
        format!("{}/statuses/1", mallory.uri)
    );
    assert_eq!(stamp["interactionTarget"], open_uri.as_str());
    let quotes = alice_api
        .get(&format!(
            "/api/v1/statuses/{}/quotes",
            str_field(&open, "id")
        ))
        .await
        .ok_json();
    assert_eq!(
        quotes[0]["uri"],
        format!("{}/statuses/1", mallory.uri),
        "{quotes}"
    );
    assert_eq!(quotes[0]["quote"]["state"], "accepted", "{quotes}");
    wait_until("alice's quote notification", || async {
        let n = alice_api.get("/api/v1/notifications").await.ok_json();
        n.as_array()
            .and_then(|l| l.iter().find(|n| n["type"] == "quote").map(|_| ()))
    })
    .await;
    // The same request again changes nothing (one quote).
    deliver(
        &server,
        &mallory,
        json!({"id": request_id, "type": "QuoteRequest", "actor": mallory.uri,
               "object": open_uri, "instrument": note(&mallory, 1, json!({"quote": open_uri}))}),
    )
    .await;
    jobs_idle(&admin).await;
    let again = alice_api
        .get(&format!("/api/v1/statuses/{}", str_field(&open, "id")))
        .await
        .ok_json();
    assert_eq!(again["quotes_count"], 1, "{again}");

    // A status nobody may quote: rejected, and no stamp.
    let request_id = format!("{}/quote_requests/2", mallory.uri);
    deliver(
        &server,
        &mallory,
        json!({"id": request_id, "type": "QuoteRequest", "actor": mallory.uri,
               "object": closed_uri,
               "instrument": note(&mallory, 2, json!({"quote": closed_uri}))}),
    )
    .await;
    peer.wait_for("the Reject of the QuoteRequest", |r| {
        r.method == "POST"
            && r.json()
                .is_some_and(|v| v["type"] == "Reject" && v["object"] == request_id.as_str())
    })
    .await;
    let quotes = alice_api
        .get(&format!(
            "/api/v1/statuses/{}/quotes",
            str_field(&closed, "id")
        ))
        .await
        .ok_json();
    assert_eq!(quotes, json!([]), "{quotes}");

    // Quotes of another remote status: accepted only with its author's
    // stamp, served by its host and naming this very quote.
    let trudys = note(&trudy, 10, json!({}));
    let trudys_uri = trudys["id"].as_str().unwrap().to_owned();
    deliver(&server, &trudy, create(&trudy, trudys)).await;
    // Inbound activities run concurrently: the quoted status first.
    wait_until("trudy's status to be stored", || async {
        sql_fetch_text(
            &server,
            "SELECT CAST(id AS TEXT) FROM statuses WHERE uri = $1",
            &[&trudys_uri],
        )
        .await
    })
    .await;
    let good_stamp = format!("{}/stamps/1", trudy.uri);
    peer.serve_json(
        "/users/trudy/stamps/1",
        &json!({"@context": AS, "id": good_stamp, "type": "QuoteAuthorization",
                "attributedTo": trudy.uri, "interactingObject": format!("{}/statuses/3", mallory.uri),
                "interactionTarget": trudys_uri}),
    );
    let wrong_stamp = format!("{}/stamps/2", trudy.uri);
    peer.serve_json(
        "/users/trudy/stamps/2",
        &json!({"@context": AS, "id": wrong_stamp, "type": "QuoteAuthorization",
                "attributedTo": trudy.uri, "interactingObject": format!("{}/statuses/999", mallory.uri),
                "interactionTarget": trudys_uri}),
    );
    for (n, stamp) in [(3, &good_stamp), (4, &wrong_stamp)] {
        deliver(
            &server,
            &mallory,
            create(
                &mallory,
                note(
                    &mallory,
                    n,
                    json!({"quote": trudys_uri, "quoteAuthorization": stamp}),
                ),
            ),
        )
        .await;
    }
    deliver(
        &server,
        &mallory,
        create(&mallory, note(&mallory, 5, json!({"quote": trudys_uri}))),
    )
    .await;
    let state_of = |n: u32| {
        let uri = format!("{}/statuses/{n}", mallory.uri);
        let api = api.clone();
        let server = &server;
        async move {
            let id = sql_fetch_text(
                server,
                "SELECT CAST(id AS TEXT) FROM statuses WHERE uri = $1",
                &[&uri],
            )
            .await?;
            let status = api.get(&format!("/api/v1/statuses/{id}")).await.ok_json();
            Some(status["quote"]["state"].clone())
        }
    };
    assert_eq!(
        wait_until("the stamped quote", || state_of(3)).await,
        "accepted"
    );
    assert_eq!(
        wait_until("the wrongly stamped quote", || state_of(4)).await,
        "pending"
    );
    assert_eq!(
        wait_until("the unstamped quote", || state_of(5)).await,
        "pending"
    );
    assert_no_panics(&server);
});
