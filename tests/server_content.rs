//! Rules, announcements, reports and the public instance figures; rules
//! and announcements come from the operator commands.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use ferrodon_testkit::{Lane, TestServer, lane_test};
use serde_json::{Value, json};

/// Runs `ferrodon ARGS` against the server's database; its stdout on success.
fn admin(server: &TestServer, args: &[&str]) -> String {
    let (code, stdout, stderr) = server.command(args);
    assert_eq!(code, 0, "`ferrodon {}` failed: {stderr}", args.join(" "));
    stdout.trim().to_owned()
}

lane_test!(rules_and_announcements, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let (a, b) = (alice.api(&api), bob.api(&api));

    let first = admin(
        &server,
        &["admin", "rules", "add", "Be kind", "--hint", "Really."],
    );
    let second = admin(&server, &["admin", "rules", "add", "No spam"]);
    let rules = api.anon().get("/api/v1/instance/rules").await.ok_json();
    assert_eq!(
        rules,
        json!([
            {"id": first, "text": "Be kind", "hint": "Really."},
            {"id": second, "text": "No spam", "hint": ""},
        ])
    );
    assert_eq!(
        api.anon().get("/api/v2/instance").await.ok_json()["rules"],
        rules
    );
    assert_eq!(
        api.anon().get("/api/v1/instance").await.ok_json()["rules"],
        rules
    );
    let listed = admin(&server, &["admin", "rules", "list"]);
    assert!(
        listed.contains("Be kind") && listed.contains("No spam"),
        "{listed}"
    );
    admin(&server, &["admin", "rules", "remove", &second]);
    assert_eq!(
        api.anon()
            .get("/api/v1/instance/rules")
            .await
            .ok_json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (code, _, stderr) = server.command(&["admin", "rules", "remove", &second]);
    assert_ne!(code, 0, "removing a missing rule must fail");
    assert!(!stderr.contains("panicked"), "{stderr}");

    // Announcements.
    let id = admin(
        &server,
        &[
            "admin",
            "announcements",
            "create",
            "Maintenance tonight, see https://status.example/",
        ],
    );
    admin(
        &server,
        &[
            "admin",
            "announcements",
            "create",
            "Over already",
            "--ends-at",
            "2020-01-01T00:00:00Z",
        ],
    );
    let (code, _, stderr) = server.command(&[
        "admin",
        "announcements",
        "create",
        "x",
        "--starts-at",
        "tomorrow",
    ]);
    assert_eq!(code, 2, "a bad time is a configuration error: {stderr}");
    let list = a.get("/api/v1/announcements").await.ok_json();
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "ended announcements are gone: {list}"
    );
    let ann = &list[0];
    assert_eq!(ann["id"], id.as_str());
    assert_eq!(ann["read"], false);
    let content = ann["content"].as_str().unwrap();
    assert!(
        content.starts_with("<p>") && content.contains("href=\"https://status.example/\""),
        "{content}"
    );
    for r in ["👍", "❤️", "👍"] {
        let path = format!("/api/v1/announcements/{id}/reactions/{}", encode(r));
        let resp = a.send(reqwest::Method::PUT, &path, Body::None, &[]).await;
        assert_eq!(resp.ok_json(), json!({}));
    }
    b.send(
        reqwest::Method::PUT,
        &format!("/api/v1/announcements/{id}/reactions/{}", encode("👍")),
        Body::None,
        &[],
    )
    .await
    .ok_json();
    let seen_by_bob = b.get("/api/v1/announcements").await.ok_json();
    assert_eq!(
        seen_by_bob[0]["reactions"],
        json!([{"name": "👍", "count": 2, "me": true}, {"name": "❤️", "count": 1, "me": false}])
    );
    a.send(
        reqwest::Method::PUT,
        &format!("/api/v1/announcements/{id}/reactions/notanemoji"),
        Body::None,
        &[],
    )
    .await
    .err_is(422, "Validation failed: Name is not a recognized emoji");
    a.delete(&format!(
        "/api/v1/announcements/{id}/reactions/{}",
        encode("❤️")
    ))
    .await
    .ok_json();
    let mine = a.get("/api/v1/announcements").await.ok_json();
    assert_eq!(
        mine[0]["reactions"],
        json!([{"name": "👍", "count": 2, "me": true}])
    );
    assert_eq!(
        a.post(&format!("/api/v1/announcements/{id}/dismiss"), &[])
            .await
            .ok_json(),
        json!({})
    );
    assert_eq!(a.get("/api/v1/announcements").await.ok_json(), json!([]));
    let all = a
        .get("/api/v1/announcements?with_dismissed=true")
        .await
        .ok_json();
    assert_eq!(all[0]["read"], true, "{all}");
    assert_eq!(
        b.get("/api/v1/announcements").await.ok_json()[0]["read"],
        false
    );
    a.post("/api/v1/announcements/424242/dismiss", &[])
        .await
        .err(404);
    assert!(admin(&server, &["admin", "announcements", "list"]).contains("Maintenance"));
    admin(&server, &["admin", "announcements", "delete", &id]);
    assert_eq!(b.get("/api/v1/announcements").await.ok_json(), json!([]));
    api.anon().get("/api/v1/announcements").await.err(401);
    assert_no_panics(&server);
});

lane_test!(reports, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let a = alice.api(&api);
    let rule = admin(&server, &["admin", "rules", "add", "No spam"]);
    let spam = str_field(&post_status(&bob.api(&api), "buy now").await, "id");
    let own = str_field(&post_status(&a, "mine").await, "id");

    let r = a
        .post(
            "/api/v1/reports",
            &[
                ("account_id", &bob.id),
                ("status_ids[]", &spam),
                ("comment", "spam!"),
                ("category", "spam"),
            ],
        )
        .await
        .ok_json();
    assert_eq!(r["category"], "spam", "{r}");
    assert_eq!(r["status_ids"], json!([spam]), "{r}");
    assert_eq!(r["target_account"]["id"], bob.id.as_str());
    assert_eq!(r["action_taken"], false);
    assert_eq!(r["comment"], "spam!");
    let v = a
        .post_json(
            "/api/v1/reports",
            json!({"account_id": bob.id, "rule_ids": [rule]}),
        )
        .await
        .ok_json();
    assert_eq!(v["category"], "violation", "rules make it a violation: {v}");
    assert_eq!(v["rule_ids"], json!([rule]));
    assert_eq!(v["status_ids"], Value::Null);
    // Mistakes.
    a.post(
        "/api/v1/reports",
        &[("account_id", &bob.id), ("status_ids[]", &own)],
    )
    .await
    .err(404);
    a.post("/api/v1/reports", &[("account_id", "999999")])
        .await
        .err(404);
    a.post("/api/v1/reports", &[]).await.err(404);
    a.post(
        "/api/v1/reports",
        &[("account_id", &bob.id), ("category", "rude")],
    )
    .await
    .err(422);
    a.post(
        "/api/v1/reports",
        &[
            ("account_id", &bob.id),
            ("category", "violation"),
            ("rule_ids[]", "12345"),
        ],
    )
    .await
    .err(422);
    a.post(
        "/api/v1/reports",
        &[("account_id", &bob.id), ("comment", &"x".repeat(1001))],
    )
    .await
    .err(422);
    // The operators see them.
    let listed = admin(&server, &["admin", "reports", "list"]);
    let lines: Vec<Value> = listed
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{listed}");
    assert_eq!(lines[1]["comment"], "spam!");
    assert_eq!(lines[0]["account_id"], alice.id.as_str());
    assert_no_panics(&server);
});

lane_test!(instance_figures, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    post_status(&alice.api(&api), "one").await;
    post_status(&alice.api(&api), "two").await;
    let anon = api.anon();
    assert_eq!(
        anon.get("/api/v1/instance/peers").await.ok_json(),
        json!([])
    );
    let weeks = anon.get("/api/v1/instance/activity").await.ok_json();
    let weeks = weeks.as_array().unwrap();
    assert_eq!(weeks.len(), 12);
    assert_eq!(weeks[0]["statuses"], "2", "{weeks:?}");
    assert_eq!(weeks[0]["registrations"], "1", "{weeks:?}");
    assert_eq!(weeks[0]["logins"], "1", "{weeks:?}");
    assert_eq!(weeks[1]["statuses"], "0", "{weeks:?}");
    let w0: i64 = weeks[0]["week"].as_str().unwrap().parse().unwrap();
    let w1: i64 = weeks[1]["week"].as_str().unwrap().parse().unwrap();
    assert_eq!(w0 - w1, 7 * 86_400);
    assert_eq!(
        anon.get("/api/v1/instance/domain_blocks").await.ok_json(),
        json!([])
    );
    let ext = anon
        .get("/api/v1/instance/extended_description")
        .await
        .ok_json();
    assert!(
        ext.get("content").is_some() && ext.get("updated_at").is_some(),
        "{ext}"
    );
    assert_eq!(
        anon.get("/api/v1/instance/translation_languages")
            .await
            .ok_json(),
        json!({})
    );
    assert_no_panics(&server);
});
