//! Notification policies and the requests that gather filtered
//! notifications per sender.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use ferrodon_testkit::{Lane, lane_test};
use reqwest::Method;
use serde_json::{Value, json};

async fn notification_statuses(api: &Api) -> Vec<String> {
    api.get("/api/v1/notifications")
        .await
        .ok_json()
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["status"]["id"].as_str().map(str::to_owned))
        .collect()
}

async fn requests(api: &Api) -> Vec<Value> {
    api.get("/api/v1/notifications/requests")
        .await
        .ok_json()
        .as_array()
        .unwrap()
        .clone()
}

lane_test!(
    private_mentions_from_strangers_wait_as_requests,
    |lane: Lane| async move {
        let server = spawn(lane).await;
        let api = Api::of(&server);
        let alice = user_token(&server, "alice").await;
        let bob = user_token(&server, "bob").await;
        let carol = user_token(&server, "carol").await;
        let (a, b, c) = (alice.api(&api), bob.api(&api), carol.api(&api));
        let admin = jobs_admin(&server, "boss").await;
        // Alice follows carol: carol's private mentions arrive as usual.
        follow(&a, &carol.id).await;

        let policy = a.get("/api/v2/notifications/policy").await.ok_json();
        assert_eq!(
            policy,
            json!({
                "for_not_following": "accept", "for_not_followers": "accept",
                "for_new_accounts": "accept", "for_private_mentions": "filter",
                "for_limited_accounts": "filter",
                "summary": {"pending_requests_count": 0, "pending_notifications_count": 0}
            })
        );

        let dm1 = post_status_with(
            &b,
            &[("status", "@alice hi there"), ("visibility", "direct")],
        )
        .await;
        let dm2 =
            post_status_with(&b, &[("status", "@alice hello?"), ("visibility", "direct")]).await;
        let public = post_status(&b, "@alice a public mention").await;
        let from_carol = post_status_with(
            &c,
            &[("status", "@alice from a friend"), ("visibility", "direct")],
        )
        .await;
        let id = |v: &Value| v["id"].as_str().unwrap().to_owned();
        wait_until("the public mention and carol's", || async {
            let got = notification_statuses(&a).await;
            (got.contains(&id(&public)) && got.contains(&id(&from_carol))).then_some(())
        })
        .await;
        let list = wait_until("bob's request with two notifications", || async {
            let list = requests(&a).await;
            (list.len() == 1 && list[0]["notifications_count"] == "2").then_some(list)
        })
        .await;
        jobs_idle(&admin).await;
        let shown = notification_statuses(&a).await;
        assert!(
            !shown.contains(&id(&dm1)) && !shown.contains(&id(&dm2)),
            "{shown:?}"
        );
        let request = &list[0];
        assert_eq!(request["account"]["id"], bob.id.as_str());
        assert_eq!(request["last_status"]["id"], id(&dm2).as_str());
        assert_timestamp(request["created_at"].as_str().unwrap(), "created_at");
        let rid = str_field(request, "id");
        assert_eq!(
            a.get(&format!("/api/v1/notifications/requests/{rid}"))
                .await
                .ok_json(),
            *request
        );
        let summary = a.get("/api/v2/notifications/policy").await.ok_json()["summary"].clone();
        assert_eq!(
            summary,
            json!({"pending_requests_count": 1, "pending_notifications_count": 2})
        );
        // The filtered ones are still there for those who ask.
        let all = a
            .get_q("/api/v1/notifications", &[("include_filtered", "true")])
            .await
            .ok_json();
        assert!(
            all.as_array()
                .unwrap()
                .iter()
                .any(|n| n["status"]["id"] == id(&dm1).as_str())
        );
        // Nobody else sees alice's requests.
        c.get(&format!("/api/v1/notifications/requests/{rid}"))
            .await
            .err(404);
        c.post(&format!("/api/v1/notifications/requests/{rid}/accept"), &[])
            .await
            .err(404);

        // Accepting: the notifications join the others, and bob is not filtered again.
        assert_eq!(
            a.post(&format!("/api/v1/notifications/requests/{rid}/accept"), &[])
                .await
                .ok_json(),
            json!({})
        );
        let shown = notification_statuses(&a).await;
        assert!(
            shown.contains(&id(&dm1)) && shown.contains(&id(&dm2)),
            "{shown:?}"
        );
        assert!(requests(&a).await.is_empty());
        let dm3 =
            post_status_with(&b, &[("status", "@alice again"), ("visibility", "direct")]).await;
        wait_until("bob's next private mention", || async {
            notification_statuses(&a)
                .await
                .contains(&id(&dm3))
                .then_some(())
        })
        .await;
        assert_eq!(
            a.get("/api/v1/notifications/requests/merged")
                .await
                .ok_json(),
            json!({"merged": true})
        );
        assert_no_panics(&server);
    }
);

lane_test!(policies_filter_drop_and_dismiss, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let carol = user_token(&server, "carol").await;
    let dave = user_token(&server, "dave").await;
    let (a, b, c, d) = (
        alice.api(&api),
        bob.api(&api),
        carol.api(&api),
        dave.api(&api),
    );
    let admin = jobs_admin(&server, "boss").await;
    follow(&a, &carol.id).await;

    // Strangers' favourites are set aside, and new accounts (all of these) are dropped
    // unless alice follows them.
    let p = a
        .send(
            Method::PATCH,
            "/api/v2/notifications/policy",
            Body::form(&[
                ("for_not_following", "filter"),
                ("for_private_mentions", "accept"),
            ]),
            &[],
        )
        .await
        .ok_json();
    assert_eq!(p["for_not_following"], "filter");
    assert_eq!(p["for_private_mentions"], "accept");
    assert_eq!(p["for_new_accounts"], "accept", "unchanged");
    a.send(
        Method::PATCH,
        "/api/v2/notifications/policy",
        Body::form(&[("for_new_accounts", "ignore")]),
        &[],
    )
    .await
    .err(422);

    let post = post_status(&a, "like me").await;
    let pid = str_field(&post, "id");
    b.post(&format!("/api/v1/statuses/{pid}/favourite"), &[])
        .await
        .ok_json();
    c.post(&format!("/api/v1/statuses/{pid}/favourite"), &[])
        .await
        .ok_json();
    jobs_idle(&admin).await;
    let list = requests(&a).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["account"]["id"], bob.id.as_str());
    assert_eq!(list[0]["notifications_count"], "1");
    let types = |v: Value| -> Vec<(String, String)> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|n| {
                (
                    n["type"].as_str().unwrap().to_owned(),
                    n["account"]["id"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let shown = types(a.get("/api/v1/notifications").await.ok_json());
    assert_eq!(shown, vec![("favourite".to_owned(), carol.id.clone())]);
    // Grouped notifications leave it out too.
    let grouped = a.get("/api/v2/notifications").await.ok_json();
    assert_eq!(
        grouped["notification_groups"].as_array().unwrap().len(),
        1,
        "{grouped}"
    );

    // Dismissing drops the request and its notifications.
    let rid = str_field(&list[0], "id");
    a.post(
        &format!("/api/v1/notifications/requests/{rid}/dismiss"),
        &[],
    )
    .await
    .ok_json();
    assert!(requests(&a).await.is_empty());
    let all = a
        .get_q("/api/v1/notifications", &[("include_filtered", "true")])
        .await
        .ok_json();
    assert_eq!(types(all), vec![("favourite".to_owned(), carol.id.clone())]);

    // Drop: nothing arrives, not even as a request.
    a.send(
        Method::PATCH,
        "/api/v2/notifications/policy",
        Body::form(&[("for_not_following", "drop")]),
        &[],
    )
    .await
    .ok_json();
    d.post(&format!("/api/v1/statuses/{pid}/favourite"), &[])
        .await
        .ok_json();
    follow(&d, &alice.id).await;
    jobs_idle(&admin).await;
    assert!(requests(&a).await.is_empty());
    let all = a
        .get_q("/api/v1/notifications", &[("include_filtered", "true")])
        .await
        .ok_json();
    assert_eq!(types(all), vec![("favourite".to_owned(), carol.id.clone())]);

    // Bulk accept and dismiss skip unknown ids; v1 shows and sets the same policy.
    a.send(
        Method::PATCH,
        "/api/v2/notifications/policy",
        Body::form(&[("for_not_following", "filter")]),
        &[],
    )
    .await
    .ok_json();
    b.post(&format!("/api/v1/statuses/{pid}/reblog"), &[])
        .await
        .ok_json();
    let list = wait_until("bob's reblog set aside", || async {
        let list = requests(&a).await;
        (list.len() == 1).then_some(list)
    })
    .await;
    let rid = str_field(&list[0], "id");
    a.post(
        "/api/v1/notifications/requests/accept",
        &[("id[]", &rid), ("id[]", "12345")],
    )
    .await
    .ok_json();
    assert!(requests(&a).await.is_empty());
    let v1 = a.get("/api/v1/notifications/policy").await.ok_json();
    assert_eq!(v1["filter_not_following"], true);
    assert_eq!(v1["filter_private_mentions"], false);
    let v1 = a
        .send(
            Method::PUT,
            "/api/v1/notifications/policy",
            Body::form(&[("filter_not_following", "false")]),
            &[],
        )
        .await
        .ok_json();
    assert_eq!(v1["filter_not_following"], false);
    assert_eq!(
        a.get("/api/v2/notifications/policy").await.ok_json()["for_not_following"],
        "accept"
    );
    a.post("/api/v1/notifications/requests/dismiss", &[("id[]", "1")])
        .await
        .ok_json();
    assert_no_panics(&server);
});

// Mastodon's `for_limited_accounts` (filter by default): mentions from an
// account a moderator silenced are set aside unless the recipient follows it.
lane_test!(limited_accounts_are_filtered, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let admin = jobs_admin(&server, "boss").await;
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let (a, b) = (alice.api(&api), bob.api(&api));
    let (code, _, err) = server.command(&["admin", "accounts", "silence", "bob"]);
    assert_eq!(code, 0, "{err}");
    let account = api
        .get(&format!("/api/v1/accounts/{}", bob.id))
        .await
        .ok_json();
    assert_eq!(account["limited"], true, "{account}");
    let first = str_field(&post_status(&b, "@alice hello").await, "id");
    jobs_idle(&admin).await;
    assert!(!notification_statuses(&a).await.contains(&first));
    let pending = requests(&a).await;
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0]["account"]["id"], bob.id.as_str());
    // Accepting everything from limited accounts lets the next one through.
    a.send(
        Method::PATCH,
        "/api/v2/notifications/policy",
        Body::form(&[("for_limited_accounts", "accept")]),
        &[],
    )
    .await
    .ok_json();
    let second = str_field(&post_status(&b, "@alice again").await, "id");
    jobs_idle(&admin).await;
    assert!(notification_statuses(&a).await.contains(&second));
    // Lifting the silence removes the flag.
    let (code, _, err) = server.command(&["admin", "accounts", "unsilence", "bob"]);
    assert_eq!(code, 0, "{err}");
    let account = api
        .get(&format!("/api/v1/accounts/{}", bob.id))
        .await
        .ok_json();
    assert!(account.get("limited").is_none(), "{account}");
});
