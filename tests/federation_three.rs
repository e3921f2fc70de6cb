//! Three `ferrodon serve` instances on loopback, driven through the client
//! API and the CLI:
//!
//! - a boost crosses servers: carl (C) boosts ann's post (A), and ann2 (B),
//!   who follows carl, gets the boost with the original fetched from A;
//! - an account moves: ann2 (B) lists ann (A) as an alias, ann moves to
//!   ann2; her follower on C (carl) and her local follower on A (dan) follow
//!   ann2 at B instead, and the actors say so (`movedTo`, `alsoKnownAs`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use ferrodon_testkit::{Lane, TestServer, lane_test};
use reqwest::Method;
use serde_json::Value;

/// What every federating test server needs: it may reach 127.0.0.0/8, and
/// over plain http.
const FEDERATING: [(&str, &str); 2] = [
    ("ALLOWED_PRIVATE_ADDRESSES", "127.0.0.0/8"),
    ("FERRODON_FEDERATION_ALLOW_HTTP", "true"),
];

async fn federating(lane: Lane) -> TestServer {
    spawn_with(lane, &FEDERATING).await
}

/// The id of account `acct` as `api`'s server knows it (`search?resolve=true`).
async fn resolve(api: &Api, acct: &str) -> String {
    let found = api
        .get_q(
            "/api/v2/search",
            &[("q", acct), ("resolve", "true"), ("type", "accounts")],
        )
        .await
        .ok_json();
    let accounts = found["accounts"].as_array().cloned().unwrap_or_default();
    assert_eq!(accounts.len(), 1, "{acct}: {found}");
    str_field(&accounts[0], "id")
}

async fn relationship(api: &Api, id: &str) -> Value {
    let rel = api
        .get_q("/api/v1/accounts/relationships", &[("id[]", id)])
        .await
        .ok_json();
    rel[0].clone()
}

/// Waits until `api`'s user follows `id` (the other server accepted).
async fn wait_following(api: &Api, id: &str, what: &str) {
    wait_until(what, || async {
        (relationship(api, id).await["following"] == true).then_some(())
    })
    .await;
}

async fn actor_document(server: &TestServer, name: &str) -> Value {
    let resp = Api::of(server)
        .send(
            Method::GET,
            &format!("/users/{name}"),
            Body::None,
            &[("accept", "application/activity+json")],
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.describe());
    resp.json()
}

fn cli(server: &TestServer, args: &[&str]) -> String {
    let (code, out, err) = server.command(args);
    assert_eq!(code, 0, "ferrodon {}: {out} {err}", args.join(" "));
    out
}

lane_test!(three_instances, |lane: Lane| async move {
    let a_server = federating(lane).await;
    let b_server = federating(lane).await;
    let c_server = federating(lane).await;
    let (a_api, b_api, c_api) = (Api::of(&a_server), Api::of(&b_server), Api::of(&c_server));
    let ann = user_token(&a_server, "ann").await;
    let dan = user_token(&a_server, "dan").await;
    let ann2 = user_token(&b_server, "ann2").await;
    let carl = user_token(&c_server, "carl").await;
    let (a, d, b, c) = (
        ann.api(&a_api),
        dan.api(&a_api),
        ann2.api(&b_api),
        carl.api(&c_api),
    );
    let (a_domain, b_domain, c_domain) = (domain(&a_server), domain(&b_server), domain(&c_server));

    // carl (C) follows ann (A); dan follows her on A; ann2 (B) follows carl.
    let ann_at_c = resolve(&c, &format!("ann@{a_domain}")).await;
    c.post(&format!("/api/v1/accounts/{ann_at_c}/follow"), &[])
        .await
        .ok_json();
    wait_following(&c, &ann_at_c, "carl follows ann").await;
    follow(&d, &ann.id).await;
    let carl_at_b = resolve(&b, &format!("carl@{c_domain}")).await;
    b.post(&format!("/api/v1/accounts/{carl_at_b}/follow"), &[])
        .await
        .ok_json();
    wait_following(&b, &carl_at_b, "ann2 follows carl").await;

    // A boost across three servers.
    let post = post_status(&a, "original from A").await;
    let post_uri = str_field(&post, "uri");
    let at_c = wait_until("ann's post at C", || async {
        let home = c.get("/api/v1/timelines/home").await.ok_json();
        home.as_array()
            .and_then(|l| l.iter().find(|s| s["uri"] == post_uri.as_str()).cloned())
    })
    .await;
    c.post(
        &format!("/api/v1/statuses/{}/reblog", str_field(&at_c, "id")),
        &[],
    )
    .await
    .ok_json();
    let boost = wait_until("carl's boost in ann2's home at B", || async {
        let home = b.get("/api/v1/timelines/home").await.ok_json();
        home.as_array().and_then(|l| {
            l.iter()
                .find(|s| s["reblog"]["uri"] == post_uri.as_str())
                .cloned()
        })
    })
    .await;
    assert_eq!(
        boost["account"]["acct"],
        format!("carl@{c_domain}"),
        "{boost}"
    );
    assert_eq!(
        boost["reblog"]["account"]["acct"],
        format!("ann@{a_domain}"),
        "{boost}"
    );
    assert!(
        boost["reblog"]["content"]
            .as_str()
            .unwrap()
            .contains("original from A"),
        "{boost}"
    );
    // ann is told of the boost.
    wait_until("ann's reblog notification", || async {
        let n = a.get("/api/v1/notifications").await.ok_json();
        n.as_array().and_then(|l| {
            l.iter()
                .find(|n| {
                    n["type"] == "reblog" && n["account"]["acct"] == format!("carl@{c_domain}")
                })
                .map(|_| ())
        })
    })
    .await;

    // Moving without the alias is refused.
    let (code, _, err) = a_server.command(&[
        "admin",
        "accounts",
        "move",
        "ann",
        &format!("ann2@{b_domain}"),
    ]);
    assert_ne!(code, 0, "a move to an account without the alias succeeded");
    assert!(err.contains("alias"), "{err}");

    // ann2 lists ann as an alias, then ann moves to ann2.
    let out = cli(
        &b_server,
        &[
            "admin",
            "accounts",
            "alias",
            "ann2",
            &format!("ann@{a_domain}"),
        ],
    );
    let ann_uri = format!("{}/users/ann", public_url(&a_server));
    assert!(out.contains(&ann_uri), "{out}");
    let ann2_doc = actor_document(&b_server, "ann2").await;
    assert_eq!(ann2_doc["alsoKnownAs"][0], ann_uri, "{ann2_doc}");
    cli(
        &a_server,
        &[
            "admin",
            "accounts",
            "move",
            "ann",
            &format!("ann2@{b_domain}"),
        ],
    );
    let ann_doc = actor_document(&a_server, "ann").await;
    let ann2_uri = format!("{}/users/ann2", public_url(&b_server));
    assert_eq!(ann_doc["movedTo"], ann2_uri, "{ann_doc}");

    // carl's server heard the Move: carl follows ann2 and no longer ann.
    let ann2_at_c = resolve(&c, &format!("ann2@{b_domain}")).await;
    wait_following(&c, &ann2_at_c, "carl follows ann2 after the move").await;
    assert_eq!(relationship(&c, &ann_at_c).await["following"], false);
    // dan, on ann's own server, too.
    let ann2_at_a = resolve(&d, &format!("ann2@{b_domain}")).await;
    wait_following(&d, &ann2_at_a, "dan follows ann2 after the move").await;
    assert_eq!(relationship(&d, &ann.id).await["following"], false);
    // B sees both followers.
    let followers = b
        .get(&format!("/api/v1/accounts/{}/followers", ann2.id))
        .await
        .ok_json();
    let mut accts: Vec<String> = followers
        .as_array()
        .unwrap()
        .iter()
        .map(|f| str_field(f, "acct"))
        .collect();
    accts.sort();
    let mut expected = vec![format!("carl@{c_domain}"), format!("dan@{a_domain}")];
    expected.sort();
    assert_eq!(accts, expected);
    assert_no_panics(&a_server);
    assert_no_panics(&b_server);
    assert_no_panics(&c_server);
});
