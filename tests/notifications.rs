//! Notifications (v1 and grouped v2) and markers, as clients use them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use ferrodon_testkit::{Lane, lane_test};
use serde_json::Value;

/// Waits until `api`'s v1 notifications satisfy `pred`; returns them.
async fn wait_notifications(api: &Api, what: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    wait_until(what, || async {
        let v = api.get("/api/v1/notifications").await.ok_json();
        let list = v.as_array().cloned().unwrap_or_default();
        pred(&list).then_some(list)
    })
    .await
}

fn of_type<'a>(list: &'a [Value], kind: &str) -> Vec<&'a Value> {
    list.iter().filter(|n| n["type"] == kind).collect()
}

lane_test!(notifications_v1, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let (a, b) = (alice.api(&api), bob.api(&api));

    let post = post_status(&a, "hello from alice").await;
    let post_id = str_field(&post, "id");
    // Acting on your own status notifies nobody.
    a.post(&format!("/api/v1/statuses/{post_id}/favourite"), &[])
        .await
        .ok_json();

    follow(&b, &alice.id).await;
    b.post(&format!("/api/v1/statuses/{post_id}/favourite"), &[])
        .await
        .ok_json();
    b.post(&format!("/api/v1/statuses/{post_id}/reblog"), &[])
        .await
        .ok_json();
    post_status(&b, "hi @alice").await;
    // alice follows bob and asks to be told when he posts.
    a.post(
        &format!("/api/v1/accounts/{}/follow", bob.id),
        &[("notify", "true")],
    )
    .await
    .ok_json();
    let bobs_post = post_status(&b, "a new post by bob").await;

    let list = wait_notifications(&a, "five kinds of notifications", |l| {
        ["follow", "favourite", "reblog", "mention"]
            .iter()
            .all(|k| !of_type(l, k).is_empty())
    })
    .await;
    assert!(
        list.iter().all(|n| n["account"]["id"] == bob.id.as_str()),
        "{list:?}"
    );
    for n in &list {
        for key in ["id", "type", "created_at", "group_key", "account"] {
            assert!(n.get(key).is_some(), "{key} missing: {n}");
        }
    }
    let fav = of_type(&list, "favourite")[0];
    assert_eq!(fav["status"]["id"], post_id.as_str());
    assert!(
        fav["group_key"]
            .as_str()
            .unwrap()
            .starts_with(&format!("favourite-{post_id}-")),
        "{fav}"
    );
    // A reblog notification carries the original status, not the reblog.
    assert_eq!(
        of_type(&list, "reblog")[0]["status"]["id"],
        post_id.as_str()
    );
    let mention = of_type(&list, "mention")[0];
    assert!(
        mention["status"]["content"]
            .as_str()
            .unwrap()
            .contains("hi"),
        "{mention}"
    );
    assert_eq!(
        mention["group_key"],
        format!("ungrouped-{}", str_field(mention, "id")).as_str()
    );
    assert!(of_type(&list, "follow")[0].get("status").is_none());
    // bob's new post: a `status` notification for alice (she follows him with notify).
    let bobs_id = str_field(&bobs_post, "id");
    wait_notifications(&a, "a status notification", |l| {
        of_type(l, "status")
            .iter()
            .any(|n| n["status"]["id"] == bobs_id.as_str())
    })
    .await;
    // bob was followed by alice: one follow notification for him.
    let bobs = wait_notifications(&b, "bob's follow notification", |l| {
        !of_type(l, "follow").is_empty()
    })
    .await;
    assert_eq!(
        of_type(&bobs, "follow")[0]["account"]["id"],
        alice.id.as_str()
    );

    // Filters.
    let only = a
        .get("/api/v1/notifications?types[]=mention")
        .await
        .ok_json();
    assert!(
        only.as_array()
            .unwrap()
            .iter()
            .all(|n| n["type"] == "mention")
            && !only.as_array().unwrap().is_empty()
    );
    let without = a
        .get("/api/v1/notifications?exclude_types[]=follow&exclude_types[]=status")
        .await
        .ok_json();
    assert!(
        without
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["type"] != "follow" && n["type"] != "status")
    );
    let unknown = a
        .get("/api/v1/notifications?types[]=nonsense")
        .await
        .ok_json();
    assert_eq!(unknown, serde_json::json!([]));
    let from = a
        .get(&format!("/api/v1/notifications?account_id={}", bob.id))
        .await
        .ok_json();
    assert_eq!(
        from.as_array().unwrap().len(),
        a.get("/api/v1/notifications")
            .await
            .ok_json()
            .as_array()
            .unwrap()
            .len()
    );
    // Paging and the Link header.
    let first = a.get("/api/v1/notifications?limit=2").await;
    let page = first.ok_json();
    assert_eq!(page.as_array().unwrap().len(), 2);
    let next = link(&first, "next").expect("next link");
    assert!(
        next.contains("limit=2") && next.contains("max_id="),
        "{next}"
    );

    // Undoing an action takes its notification away.
    b.post(&format!("/api/v1/statuses/{post_id}/unfavourite"), &[])
        .await
        .ok_json();
    let after = a.get("/api/v1/notifications").await.ok_json();
    assert!(
        of_type(after.as_array().unwrap(), "favourite").is_empty(),
        "{after}"
    );
    b.post(&format!("/api/v1/accounts/{}/unfollow", alice.id), &[])
        .await
        .ok_json();
    let after = a.get("/api/v1/notifications").await.ok_json();
    assert!(
        of_type(after.as_array().unwrap(), "follow").is_empty(),
        "{after}"
    );

    // One notification, dismiss, clear.
    let id = str_field(mention, "id");
    let one = a
        .get(&format!("/api/v1/notifications/{id}"))
        .await
        .ok_json();
    assert_eq!(one["id"], id.as_str());
    b.get(&format!("/api/v1/notifications/{id}"))
        .await
        .err_is(404, "Record not found");
    a.post(&format!("/api/v1/notifications/{id}/dismiss"), &[])
        .await
        .ok_json();
    a.get(&format!("/api/v1/notifications/{id}")).await.err(404);
    a.post(&format!("/api/v1/notifications/{id}/dismiss"), &[])
        .await
        .err(404);
    a.get("/api/v1/notifications/nope").await.err(404);
    // Scopes: reading needs read:notifications, clearing write:notifications.
    let granular = register_app_with(
        &api,
        "read:notifications read:statuses write:notifications",
        "urn:ietf:wg:oauth:2.0:oob",
    )
    .await;
    let reader =
        api.with_token(&password_token(&api, &granular, &alice.email, "read:notifications").await);
    reader.get("/api/v1/notifications").await.ok_json();
    reader
        .post("/api/v1/notifications/clear", &[])
        .await
        .err_is(403, "This action is outside the authorized scopes");
    let statuses_only =
        api.with_token(&password_token(&api, &granular, &alice.email, "read:statuses").await);
    statuses_only.get("/api/v1/notifications").await.err(403);
    api.anon().get("/api/v1/notifications").await.err(401);
    a.post("/api/v1/notifications/clear", &[]).await.ok_json();
    assert_eq!(
        a.get("/api/v1/notifications").await.ok_json(),
        serde_json::json!([])
    );
});

lane_test!(markers_and_unread_counts, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let (a, b) = (alice.api(&api), bob.api(&api));
    for i in 0..3 {
        post_status(&b, &format!("@alice number {i}")).await;
    }
    let list = wait_notifications(&a, "three mentions", |l| l.len() == 3).await;
    assert_eq!(
        a.get("/api/v1/notifications/unread_count").await.ok_json()["count"],
        3
    );
    assert_eq!(
        a.get("/api/v1/notifications/unread_count?limit=2")
            .await
            .ok_json()["count"],
        2
    );
    assert_eq!(
        a.get("/api/v2/notifications/unread_count").await.ok_json()["count"],
        3
    );

    assert_eq!(
        a.get("/api/v1/markers?timeline[]=notifications")
            .await
            .ok_json(),
        serde_json::json!({})
    );
    let middle = str_field(&list[1], "id");
    let saved = a
        .post(
            "/api/v1/markers",
            &[("notifications[last_read_id]", middle.as_str())],
        )
        .await
        .ok_json();
    assert_eq!(saved["notifications"]["last_read_id"], middle.as_str());
    assert_eq!(saved["notifications"]["version"], 1);
    assert_eq!(
        a.get("/api/v1/notifications/unread_count").await.ok_json()["count"],
        1
    );
    // Saving the same position again keeps the version; a new one bumps it. JSON works too.
    let again = a
        .post_json(
            "/api/v1/markers",
            serde_json::json!({"notifications": {"last_read_id": middle}}),
        )
        .await
        .ok_json();
    assert_eq!(again["notifications"]["version"], 1);
    let newest = str_field(&list[0], "id");
    let moved = a
        .post_json(
            "/api/v1/markers",
            serde_json::json!({"notifications": {"last_read_id": newest}, "home": {"last_read_id": "12345"}, "bogus": {"last_read_id": "1"}}),
        )
        .await
        .ok_json();
    assert_eq!(moved["notifications"]["version"], 2);
    assert!(moved.get("bogus").is_none());
    assert_eq!(
        a.get("/api/v1/notifications/unread_count").await.ok_json()["count"],
        0
    );
    let both = a
        .get("/api/v1/markers?timeline[]=home&timeline[]=notifications&timeline[]=nope")
        .await
        .ok_json();
    assert_eq!(both["home"]["last_read_id"], "12345");
    assert_eq!(both["notifications"]["last_read_id"], newest.as_str());
    assert!(both["home"]["updated_at"].as_str().unwrap().ends_with('Z'));
    a.post("/api/v1/markers", &[("home[last_read_id]", "")])
        .await
        .err(422);
    b.get("/api/v1/markers?timeline[]=notifications")
        .await
        .ok_json();
    assert_eq!(
        b.get("/api/v1/markers?timeline[]=notifications")
            .await
            .ok_json(),
        serde_json::json!({})
    );
});

lane_test!(grouped_notifications, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let a = alice.api(&api);
    let post = post_status(&a, "favourite me").await;
    let post_id = str_field(&post, "id");
    let mut fans = Vec::new();
    for name in ["bob", "carol", "dave"] {
        let u = user_token(&server, name).await;
        u.api(&api)
            .post(&format!("/api/v1/statuses/{post_id}/favourite"), &[])
            .await
            .ok_json();
        fans.push(u);
    }
    post_status(&fans[0].api(&api), "@alice look").await;
    wait_notifications(&a, "three favourites and a mention", |l| l.len() == 4).await;

    let resp = a.get("/api/v2/notifications").await;
    let v = resp.ok_json();
    let groups = v["notification_groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "{v}");
    let fav = groups.iter().find(|g| g["type"] == "favourite").unwrap();
    assert_eq!(fav["notifications_count"], 3);
    assert!(fav["most_recent_notification_id"].is_i64(), "{fav}");
    assert_eq!(fav["status_id"], post_id.as_str());
    let samples: Vec<&str> = fav["sample_account_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(samples.len(), 3);
    assert_eq!(samples[0], fans[2].id.as_str(), "newest first");
    for key in ["page_min_id", "page_max_id", "latest_page_notification_at"] {
        assert!(fav.get(key).is_some(), "{key} missing: {fav}");
    }
    let mention = groups.iter().find(|g| g["type"] == "mention").unwrap();
    assert!(
        mention["group_key"]
            .as_str()
            .unwrap()
            .starts_with("ungrouped-")
    );
    let accounts: Vec<&str> = v["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    for fan in &fans {
        assert!(accounts.contains(&fan.id.as_str()), "{accounts:?}");
    }
    assert_eq!(
        v["statuses"].as_array().unwrap().len(),
        2,
        "the favourited post and the mention"
    );
    assert!(link(&resp, "next").is_some());
    assert_eq!(
        a.get("/api/v2/notifications/unread_count").await.ok_json()["count"],
        2
    );

    // partial_avatars: each group's newest sender in full (dave for the
    // favourites, bob for the mention), the others partial (carol).
    let partial = a
        .get("/api/v2/notifications?expand_accounts=partial_avatars")
        .await
        .ok_json();
    let partials = partial["partial_accounts"].as_array().unwrap();
    assert_eq!(partials.len(), 1, "{partial}");
    assert_eq!(partials[0]["id"], fans[1].id.as_str());
    assert!(partials[0].get("avatar_static").is_some() && partials[0].get("note").is_none());
    a.get("/api/v2/notifications?expand_accounts=nope")
        .await
        .err(400);

    // One group, its accounts, and dismissing it.
    let key = str_field(fav, "group_key");
    let one = a
        .get(&format!("/api/v2/notifications/{key}"))
        .await
        .ok_json();
    assert_eq!(one["notification_groups"][0]["notifications_count"], 3);
    assert!(one["notification_groups"][0].get("page_min_id").is_none());
    let who = a
        .get(&format!("/api/v2/notifications/{key}/accounts"))
        .await
        .ok_json();
    assert_eq!(who.as_array().unwrap().len(), 3);
    a.get("/api/v2/notifications/favourite-1-1").await.err(404);
    let mkey = str_field(mention, "group_key");
    assert_eq!(
        a.get(&format!("/api/v2/notifications/{mkey}"))
            .await
            .ok_json()["notification_groups"][0]["type"],
        "mention"
    );
    a.post(&format!("/api/v2/notifications/{key}/dismiss"), &[])
        .await
        .ok_json();
    a.post("/api/v2/notifications/nothing-here/dismiss", &[])
        .await
        .ok_json();
    let left = a.get("/api/v2/notifications").await.ok_json();
    assert_eq!(
        left["notification_groups"].as_array().unwrap().len(),
        1,
        "{left}"
    );
    // The probes clients make: policy (Mastodon's default filters private
    // mentions from strangers) and requests (none here).
    assert_eq!(
        a.get("/api/v2/notifications/policy").await.ok_json()["for_private_mentions"],
        "filter"
    );
    assert_eq!(
        a.get("/api/v1/notifications/requests").await.ok_json(),
        serde_json::json!([])
    );
    a.post("/api/v2/notifications/clear", &[]).await.ok_json();
    assert_eq!(
        a.get("/api/v2/notifications").await.ok_json(),
        serde_json::json!({"accounts": [], "statuses": [], "notification_groups": []})
    );
});
