//! Two `ferrodon serve` instances on loopback federating with each other,
//! driven only through the client API: resolving a remote account, a
//! follow (accepted by the other server), a post delivered to the
//! follower's home with its mention notified, a favourite and a reply
//! going back, a deletion, an unfollow.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use ferrodon_testkit::{Lane, TestServer, lane_test};
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

/// The account `acct` as `api` finds it by `search?resolve=true`.
async fn resolve(api: &Api, acct: &str) -> Value {
    let found = api
        .get_q(
            "/api/v2/search",
            &[("q", acct), ("resolve", "true"), ("type", "accounts")],
        )
        .await
        .ok_json();
    let accounts = found["accounts"].as_array().cloned().unwrap_or_default();
    assert_eq!(accounts.len(), 1, "{acct}: {found}");
    accounts[0].clone()
}

/// `api` follows the remote account `id` and waits until its server accepted.
async fn follow_remote(api: &Api, id: &str) {
    api.post(&format!("/api/v1/accounts/{id}/follow"), &[])
        .await
        .ok_json();
    wait_until("the remote server to accept the follow", || async {
        let rel = api
            .get_q("/api/v1/accounts/relationships", &[("id[]", id)])
            .await
            .ok_json();
        (rel[0]["following"] == true).then_some(())
    })
    .await;
}

lane_test!(two_instances, |lane: Lane| async move {
    let a_server = federating(lane).await;
    let b_server = federating(lane).await;
    let (a_api, b_api) = (Api::of(&a_server), Api::of(&b_server));
    let alice = user_token(&a_server, "alice").await;
    let bob = user_token(&b_server, "bob").await;
    let (a, b) = (alice.api(&a_api), bob.api(&b_api));
    let (a_domain, b_domain) = (domain(&a_server), domain(&b_server));

    // Alice finds bob on the other server and follows him.
    let bob_at_a = resolve(&a, &format!("bob@{b_domain}")).await;
    assert_eq!(bob_at_a["acct"], format!("bob@{b_domain}"));
    assert_eq!(bob_at_a["username"], "bob");
    let bob_id = str_field(&bob_at_a, "id");
    follow_remote(&a, &bob_id).await;
    let followers = b
        .get(&format!("/api/v1/accounts/{}/followers", bob.id))
        .await
        .ok_json();
    assert_eq!(
        followers[0]["acct"],
        format!("alice@{a_domain}"),
        "{followers}"
    );

    // Bob posts, mentioning alice: it reaches her home and notifies her.
    let post = post_status(&b, &format!("hello from B #fediverse @alice@{a_domain}")).await;
    let post_uri = str_field(&post, "uri");
    let at_a = wait_until("bob's post in alice's home", || async {
        let home = a.get("/api/v1/timelines/home").await.ok_json();
        home.as_array()
            .and_then(|l| l.iter().find(|s| s["uri"] == post_uri.as_str()).cloned())
    })
    .await;
    assert_eq!(at_a["account"]["acct"], format!("bob@{b_domain}"));
    assert!(
        at_a["content"].as_str().unwrap().contains("hello from B"),
        "{at_a}"
    );
    assert_eq!(at_a["tags"][0]["name"], "fediverse", "{at_a}");
    assert_eq!(at_a["mentions"][0]["acct"], "alice", "{at_a}");
    let remote_status_id = str_field(&at_a, "id");
    wait_until("the mention notification", || async {
        let n = a.get("/api/v1/notifications").await.ok_json();
        n.as_array().and_then(|l| {
            l.iter()
                .find(|n| n["type"] == "mention" && n["status"]["uri"] == post_uri.as_str())
                .map(|_| ())
        })
    })
    .await;

    // Alice favourites and replies: bob is notified of both.
    a.post(
        &format!("/api/v1/statuses/{remote_status_id}/favourite"),
        &[],
    )
    .await
    .ok_json();
    let reply = post_status_with(
        &a,
        &[
            ("status", &format!("@bob@{b_domain} hi back")),
            ("in_reply_to_id", &remote_status_id),
        ],
    )
    .await;
    let reply_uri = str_field(&reply, "uri");
    wait_until("bob's favourite and mention notifications", || async {
        let n = b.get("/api/v1/notifications").await.ok_json();
        let list = n.as_array()?;
        let fav = list.iter().any(|n| {
            n["type"] == "favourite" && n["account"]["acct"] == format!("alice@{a_domain}").as_str()
        });
        let mention = list
            .iter()
            .any(|n| n["type"] == "mention" && n["status"]["uri"] == reply_uri.as_str());
        (fav && mention).then_some(())
    })
    .await;
    let context = b
        .get(&format!(
            "/api/v1/statuses/{}/context",
            str_field(&post, "id")
        ))
        .await
        .ok_json();
    assert_eq!(
        context["descendants"][0]["uri"],
        reply_uri.as_str(),
        "{context}"
    );

    // A poll on B, voted on from A: the vote reaches B.
    let poll = post_status_with(
        &b,
        &[
            ("status", "tea or coffee?"),
            ("poll[options][]", "tea"),
            ("poll[options][]", "coffee"),
            ("poll[expires_in]", "3600"),
        ],
    )
    .await;
    let poll_uri = str_field(&poll, "uri");
    let poll_at_a = wait_until("the poll in alice's home", || async {
        let home = a.get("/api/v1/timelines/home").await.ok_json();
        home.as_array()?
            .iter()
            .find(|s| s["uri"] == poll_uri.as_str())
            .cloned()
    })
    .await;
    assert_eq!(
        poll_at_a["poll"]["options"][1]["title"], "coffee",
        "{poll_at_a}"
    );
    let poll_id_at_a = str_field(&poll_at_a["poll"], "id");
    a.post(
        &format!("/api/v1/polls/{poll_id_at_a}/votes"),
        &[("choices[]", "1")],
    )
    .await
    .ok_json();
    let b_poll_id = str_field(&poll["poll"], "id");
    wait_until("alice's vote counted on B", || async {
        let p = b.get(&format!("/api/v1/polls/{b_poll_id}")).await.ok_json();
        (p["votes_count"] == 1 && p["options"][1]["votes_count"] == 1).then_some(())
    })
    .await;

    // Bob deletes his post: it leaves alice's server.
    b.delete(&format!("/api/v1/statuses/{}", str_field(&post, "id")))
        .await
        .ok_json();
    wait_until("the deletion to reach alice's server", || async {
        let r = a.get(&format!("/api/v1/statuses/{remote_status_id}")).await;
        (r.status == 404).then_some(())
    })
    .await;

    // Alice unfollows: bob's server forgets the follow.
    a.post(&format!("/api/v1/accounts/{bob_id}/unfollow"), &[])
        .await
        .ok_json();
    wait_until("the unfollow to reach bob's server", || async {
        let followers = b
            .get(&format!("/api/v1/accounts/{}/followers", bob.id))
            .await
            .ok_json();
        followers
            .as_array()
            .is_some_and(Vec::is_empty)
            .then_some(())
    })
    .await;
    assert_no_panics(&a_server);
    assert_no_panics(&b_server);
});

/// The delivery report lines (`inbox state attempts error`) of a status.
fn deliveries(server: &TestServer, status_id: &str) -> Vec<Vec<String>> {
    let (code, out, err) = server.command(&["admin", "federation", "deliveries", status_id]);
    assert_eq!(code, 0, "{err}");
    out.lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

lane_test!(domain_blocks, |lane: Lane| async move {
    let a_server = federating(lane).await;
    let b_server = federating(lane).await;
    let (a_api, b_api) = (Api::of(&a_server), Api::of(&b_server));
    let alice = user_token(&a_server, "alice").await;
    let bob = user_token(&b_server, "bob").await;
    let (a, b) = (alice.api(&a_api), bob.api(&b_api));
    let (a_domain, b_domain) = (domain(&a_server), domain(&b_server));
    let bob_id = str_field(&resolve(&a, &format!("bob@{b_domain}")).await, "id");
    follow_remote(&a, &bob_id).await;

    // Silence: bob's posts reach alice's home, not A's public timelines.
    let (code, out, err) = a_server.command(&[
        "admin",
        "domains",
        "block",
        &b_domain,
        "--severity",
        "silence",
    ]);
    assert_eq!(code, 0, "{err}");
    // bob, and B's instance actor: B signed its fetch of alice's key, and
    // A verified that signature (a signed GET names its reader), storing
    // the signer as it does every key owner.
    assert!(out.contains("2 known accounts"), "{out}");
    let quiet = post_status(&b, "a silenced post").await;
    let quiet_uri = str_field(&quiet, "uri");
    wait_until("the silenced post in alice's home", || async {
        let home = a.get("/api/v1/timelines/home").await.ok_json();
        home.as_array()?
            .iter()
            .any(|s| s["uri"] == quiet_uri.as_str())
            .then_some(())
    })
    .await;
    for path in [
        "/api/v1/timelines/public",
        "/api/v1/timelines/public?remote=true",
    ] {
        let public = a.get(path).await.ok_json();
        assert!(
            !public
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["uri"] == quiet_uri.as_str()),
            "{path}: {public}"
        );
    }
    let bob_at_a = a.get(&format!("/api/v1/accounts/{bob_id}")).await.ok_json();
    assert_eq!(bob_at_a["limited"], true, "{bob_at_a}");
    // A still talks to a silenced domain; the delivery report says so, on
    // the CLI and to staff through the admin API.
    let hello = post_status(&a, &format!("@bob@{b_domain} hello")).await;
    let hello_id = str_field(&hello, "id");
    let report = wait_until("A's delivery to B", || async {
        let lines = deliveries(&a_server, &hello_id);
        (lines.len() == 1 && lines[0][1] == "delivered").then_some(lines)
    })
    .await;
    assert_eq!(
        report[0][0],
        format!("http://{b_domain}/users/bob/inbox"),
        "{report:?}"
    );
    assert_eq!(report[0][2], "1", "{report:?}");
    create_account(&a_server, "boss", &["--role", "admin"]);
    let app = register_app_with(&a_api, "read write admin:read", "urn:ietf:wg:oauth:2.0:oob").await;
    let boss =
        a_api.with_token(&password_token(&a_api, &app, &email_of("boss"), "admin:read").await);
    let list = boss
        .get_q(
            "/api/v1/admin/federation/deliveries",
            &[("status_id", &hello_id)],
        )
        .await
        .ok_json();
    assert_eq!(list[0]["state"], "delivered", "{list}");
    assert_eq!(list[0]["inbox"], report[0][0].as_str(), "{list}");
    let pleb =
        a_api.with_token(&password_token(&a_api, &app, &email_of("alice"), "admin:read").await);
    pleb.get_q(
        "/api/v1/admin/federation/deliveries",
        &[("status_id", &hello_id)],
    )
    .await
    .err(403);
    a_api
        .anon()
        .get_q(
            "/api/v1/admin/federation/deliveries",
            &[("status_id", &hello_id)],
        )
        .await
        .err(401);

    // Suspend: A refuses what B sends and sends B nothing.
    let (code, _, err) = a_server.command(&[
        "admin",
        "domains",
        "block",
        &b_domain,
        "--severity",
        "suspend",
    ]);
    assert_eq!(code, 0, "{err}");
    let (_, listed, _) = a_server.command(&["admin", "domains", "list"]);
    assert!(
        listed.contains(&format!("block\t{b_domain}\tsuspend")),
        "{listed}"
    );
    let refused = post_status(&b, "after the suspension").await;
    let refused_id = str_field(&refused, "id");
    let report = wait_until("B's delivery to A to be refused", || async {
        let lines = deliveries(&b_server, &refused_id);
        (lines.len() == 1 && lines[0][1] == "failed").then_some(lines)
    })
    .await;
    assert_eq!(
        report[0][0],
        format!("http://{a_domain}/inbox"),
        "{report:?}"
    );
    assert!(report[0][3].contains("403"), "{report:?}");
    // Nothing is sent to a suspended domain (its accounts are suspended
    // here, so not even a mention of them reaches the queue).
    let mention = post_status(&a, &format!("@bob@{b_domain} are you there?")).await;
    jobs_idle(&boss).await;
    assert!(deliveries(&a_server, &str_field(&mention, "id")).is_empty());
    // Unblocked, B is heard again.
    let (code, _, err) = a_server.command(&["admin", "domains", "unblock", &b_domain]);
    assert_eq!(code, 0, "{err}");
    let again = post_status(&b, "back again").await;
    let again_uri = str_field(&again, "uri");
    wait_until("the post after the unblock", || async {
        let home = a.get("/api/v1/timelines/home").await.ok_json();
        home.as_array()?
            .iter()
            .any(|s| s["uri"] == again_uri.as_str())
            .then_some(())
    })
    .await;
    assert_no_panics(&a_server);
    assert_no_panics(&b_server);
});

lane_test!(
    authorized_fetch_and_limited_federation,
    |lane: Lane| async move {
        let mut secure_env = FEDERATING.to_vec();
        secure_env.push(("AUTHORIZED_FETCH", "true"));
        let secure = spawn_with(lane, &secure_env).await;
        let mut limited_env = FEDERATING.to_vec();
        limited_env.push(("LIMITED_FEDERATION_MODE", "true"));
        let limited = spawn_with(lane, &limited_env).await;
        let (s_api, l_api) = (Api::of(&secure), Api::of(&limited));
        let alice = user_token(&secure, "alice").await;
        let carol = user_token(&limited, "carol").await;
        let c = carol.api(&l_api);
        let s_domain = domain(&secure);

        // Unsigned ActivityPub fetches are refused; pages, discovery and the
        // instance actor stay open.
        let ap = [("accept", "application/activity+json")];
        for path in [
            "/users/alice",
            "/@alice",
            "/users/alice/outbox",
            "/users/alice/followers",
        ] {
            let r = s_api
                .send(reqwest::Method::GET, path, Body::None, &ap)
                .await;
            assert_eq!(r.status, 401, "{path}: {}", r.describe());
            r.json_error();
        }
        let page = s_api
            .send(
                reqwest::Method::GET,
                "/@alice",
                Body::None,
                &[("accept", "text/html")],
            )
            .await;
        assert_eq!(page.status, 200);
        let actor = s_api
            .send(reqwest::Method::GET, "/actor", Body::None, &ap)
            .await;
        assert_eq!(actor.status, 200, "{}", actor.describe());
        let wf = s_api
            .get_q(
                "/.well-known/webfinger",
                &[("resource", &format!("acct:alice@{s_domain}"))],
            )
            .await;
        assert_eq!(wf.status, 200);

        // A server in limited-federation mode finds nobody until the domain is
        // allowed; then its signed fetch gets through authorized-fetch mode.
        let q = format!("alice@{s_domain}");
        let none = c
            .get_q(
                "/api/v2/search",
                &[("q", &q), ("resolve", "true"), ("type", "accounts")],
            )
            .await
            .ok_json();
        assert_eq!(none["accounts"].as_array().map(Vec::len), Some(0), "{none}");
        let (code, _, err) = limited.command(&["admin", "domains", "allow", &s_domain]);
        assert_eq!(code, 0, "{err}");
        let found = resolve(&c, &q).await;
        assert_eq!(found["username"], "alice");
        assert_eq!(found["acct"], q.as_str());
        let _ = alice;
        assert_no_panics(&secure);
        assert_no_panics(&limited);
    }
);
