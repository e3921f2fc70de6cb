//! Blocks, mutes, follow requests, endorsements, notes and domain blocks,
//! and what they change in timelines, threads and notifications.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use ferrodon_testkit::{Lane, lane_test};
use serde_json::Value;

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn relationship(api: &Api, id: &str) -> Value {
    let v = api
        .get(&format!("/api/v1/accounts/relationships?id[]={id}"))
        .await
        .ok_json();
    v[0].clone()
}

async fn notification_senders(api: &Api) -> Vec<String> {
    let v = api.get("/api/v1/notifications").await.ok_json();
    v.as_array()
        .unwrap()
        .iter()
        .map(|n| n["account"]["id"].as_str().unwrap().to_owned())
        .collect()
}

lane_test!(blocking, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let admin = jobs_admin(&server, "boss").await;
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let carol = user_token(&server, "carol").await;
    let (a, b, c) = (alice.api(&api), bob.api(&api), carol.api(&api));

    follow(&a, &bob.id).await;
    follow(&b, &alice.id).await;
    let alices_post = str_field(&post_status(&a, "alice says hi").await, "id");
    let bobs_post = str_field(&post_status(&b, "bob says hi").await, "id");
    b.post(&format!("/api/v1/statuses/{alices_post}/favourite"), &[])
        .await
        .ok_json();
    wait_until("bob's favourite reaches alice", || async {
        notification_senders(&a)
            .await
            .contains(&bob.id)
            .then_some(())
    })
    .await;
    wait_until("bob's post in alice's home", || async {
        timeline_ids(&a, "/api/v1/timelines/home")
            .await
            .contains(&bobs_post)
            .then_some(())
    })
    .await;

    let rel = a
        .post(&format!("/api/v1/accounts/{}/block", bob.id), &[])
        .await
        .ok_json();
    assert_eq!(rel["blocking"], true, "{rel}");
    assert_eq!(rel["following"], false, "{rel}");
    assert_eq!(rel["followed_by"], false, "{rel}");
    assert_eq!(relationship(&b, &alice.id).await["blocked_by"], true);
    // Blocking again is fine.
    a.post(&format!("/api/v1/accounts/{}/block", bob.id), &[])
        .await
        .ok_json();
    let me = a
        .get(&format!("/api/v1/accounts/{}", alice.id))
        .await
        .ok_json();
    assert_eq!(me["followers_count"], 0, "{me}");
    assert_eq!(me["following_count"], 0, "{me}");
    // His notifications and his statuses are gone from her view at once.
    assert!(!notification_senders(&a).await.contains(&bob.id));
    assert!(
        !timeline_ids(&a, "/api/v1/timelines/home")
            .await
            .contains(&bobs_post)
    );
    assert!(
        !timeline_ids(&a, "/api/v1/timelines/public")
            .await
            .contains(&bobs_post)
    );
    // Neither may follow the other.
    for (who, target) in [(&a, &bob.id), (&b, &alice.id)] {
        who.post(&format!("/api/v1/accounts/{target}/follow"), &[])
            .await
            .err_is(403, "This action is not allowed");
    }
    // bob no longer sees alice's statuses; alice may not act on his.
    b.get(&format!("/api/v1/statuses/{alices_post}"))
        .await
        .err(404);
    b.post(&format!("/api/v1/statuses/{alices_post}/favourite"), &[])
        .await
        .err(404);
    assert_eq!(
        b.get(&format!("/api/v1/accounts/{}/statuses", alice.id))
            .await
            .ok_json(),
        serde_json::json!([])
    );
    assert!(
        !timeline_ids(&b, "/api/v1/timelines/public")
            .await
            .contains(&alices_post)
    );
    a.post(&format!("/api/v1/statuses/{bobs_post}/favourite"), &[])
        .await
        .err_is(403, "This action is not allowed");
    a.post(&format!("/api/v1/statuses/{bobs_post}/reblog"), &[])
        .await
        .err_is(403, "This action is not allowed");
    // Anyone else still sees both.
    c.get(&format!("/api/v1/statuses/{alices_post}"))
        .await
        .ok_json();
    // A reply by bob in alice's thread is left out of her context.
    let reply = post_status_with(
        &c,
        &[
            ("status", "carol replies"),
            ("in_reply_to_id", &alices_post),
        ],
    )
    .await;
    let bobs_reply = post_status_with(
        &b,
        &[
            ("status", "bob replies to carol"),
            ("in_reply_to_id", &str_field(&reply, "id")),
        ],
    )
    .await;
    let context = a
        .get(&format!("/api/v1/statuses/{alices_post}/context"))
        .await
        .ok_json();
    assert_eq!(ids(&context["descendants"]), vec![str_field(&reply, "id")]);
    let context = c
        .get(&format!("/api/v1/statuses/{alices_post}/context"))
        .await
        .ok_json();
    assert_eq!(
        ids(&context["descendants"]),
        vec![str_field(&reply, "id"), str_field(&bobs_reply, "id")]
    );
    // A mention from bob does not notify alice.
    post_status(&b, "@alice are you there?").await;
    jobs_idle(&admin).await;
    assert!(!notification_senders(&a).await.contains(&bob.id));

    // The list of blocks, paged.
    a.post(&format!("/api/v1/accounts/{}/block", carol.id), &[])
        .await
        .ok_json();
    let first = a.get("/api/v1/blocks?limit=1").await;
    assert_eq!(ids(&first.ok_json()), vec![carol.id.clone()]);
    let next = link(&first, "next").expect("next link");
    let rest = a.get(&next.replace(&public_url(&server), "")).await;
    assert_eq!(ids(&rest.ok_json()), vec![bob.id.clone()]);
    assert!(
        b.get("/api/v1/blocks")
            .await
            .ok_json()
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Unblocking does not bring the follows back.
    let rel = a
        .post(&format!("/api/v1/accounts/{}/unblock", bob.id), &[])
        .await
        .ok_json();
    assert_eq!(rel["blocking"], false, "{rel}");
    assert_eq!(rel["following"], false, "{rel}");
    b.get(&format!("/api/v1/statuses/{alices_post}"))
        .await
        .ok_json();
    assert_eq!(
        ids(&a.get("/api/v1/blocks").await.ok_json()),
        vec![carol.id.clone()]
    );

    // Mistakes.
    a.post(&format!("/api/v1/accounts/{}/block", alice.id), &[])
        .await
        .err_is(403, "This action is not allowed");
    a.post("/api/v1/accounts/999999/block", &[]).await.err(404);
    api.anon()
        .post(&format!("/api/v1/accounts/{}/block", bob.id), &[])
        .await
        .err(401);
    assert_no_panics(&server);
});

lane_test!(muting, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let admin = jobs_admin(&server, "boss").await;
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let carol = user_token(&server, "carol").await;
    let (a, b, c) = (alice.api(&api), bob.api(&api), carol.api(&api));

    follow(&a, &bob.id).await;
    let before = str_field(&post_status(&b, "bob before the mute").await, "id");
    wait_until("bob's post in alice's home", || async {
        timeline_ids(&a, "/api/v1/timelines/home")
            .await
            .contains(&before)
            .then_some(())
    })
    .await;

    let rel = a
        .post(&format!("/api/v1/accounts/{}/mute", bob.id), &[])
        .await
        .ok_json();
    assert_eq!(rel["muting"], true, "{rel}");
    assert_eq!(rel["muting_notifications"], true, "{rel}");
    assert_eq!(rel["muting_expires_at"], Value::Null, "{rel}");
    assert_eq!(rel["following"], true, "a mute keeps the follow: {rel}");
    let during = str_field(&post_status(&b, "bob during the mute").await, "id");
    let alices_post = str_field(&post_status(&a, "alice posts").await, "id");
    b.post(&format!("/api/v1/statuses/{alices_post}/favourite"), &[])
        .await
        .ok_json();
    // A mute without notifications hides statuses only.
    let rel = a
        .post_json(
            &format!("/api/v1/accounts/{}/mute", carol.id),
            serde_json::json!({"notifications": false, "duration": 3600}),
        )
        .await
        .ok_json();
    assert_eq!(rel["muting_notifications"], false, "{rel}");
    assert!(rel["muting_expires_at"].is_string(), "{rel}");
    c.post(&format!("/api/v1/statuses/{alices_post}/favourite"), &[])
        .await
        .ok_json();
    let carols = str_field(&post_status(&c, "carol posts in public").await, "id");
    jobs_idle(&admin).await;
    let senders = notification_senders(&a).await;
    assert!(senders.contains(&carol.id), "{senders:?}");
    assert!(!senders.contains(&bob.id), "{senders:?}");
    let home = timeline_ids(&a, "/api/v1/timelines/home").await;
    assert!(
        !home.contains(&before) && !home.contains(&during),
        "{home:?}"
    );
    assert!(home.contains(&alices_post), "{home:?}");
    let public = timeline_ids(&a, "/api/v1/timelines/public").await;
    assert!(
        !public.contains(&carols) && !public.contains(&during),
        "{public:?}"
    );
    assert!(public.contains(&alices_post), "{public:?}");
    // A profile still shows the muted account's own statuses.
    assert!(
        timeline_ids(&a, &format!("/api/v1/accounts/{}/statuses", bob.id))
            .await
            .contains(&during)
    );

    let mutes = a.get("/api/v1/mutes").await.ok_json();
    assert_eq!(ids(&mutes), vec![carol.id.clone(), bob.id.clone()]);
    assert!(mutes[0]["mute_expires_at"].is_string(), "{mutes}");
    assert_eq!(mutes[1]["mute_expires_at"], Value::Null, "{mutes}");

    // Unmuting brings his statuses (also those from during the mute) back home.
    let rel = a
        .post(&format!("/api/v1/accounts/{}/unmute", bob.id), &[])
        .await
        .ok_json();
    assert_eq!(rel["muting"], false, "{rel}");
    wait_until("bob's statuses back in alice's home", || async {
        let home = timeline_ids(&a, "/api/v1/timelines/home").await;
        (home.contains(&before) && home.contains(&during)).then_some(())
    })
    .await;

    // A short mute ends by itself.
    a.post(
        &format!("/api/v1/accounts/{}/mute", bob.id),
        &[("duration", "1")],
    )
    .await
    .ok_json();
    wait_until("the one-second mute to end", || async {
        (relationship(&a, &bob.id).await["muting"] == false).then_some(())
    })
    .await;
    a.post(
        &format!("/api/v1/accounts/{}/mute", bob.id),
        &[("duration", "-5")],
    )
    .await
    .err(422);
    a.post(&format!("/api/v1/accounts/{}/mute", alice.id), &[])
        .await
        .err_is(403, "This action is not allowed");
    assert_no_panics(&server);
});

lane_test!(follow_requests, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let carol = user_token(&server, "carol").await;
    let (a, b, c) = (alice.api(&api), bob.api(&api), carol.api(&api));
    a.patch("/api/v1/accounts/update_credentials", &[("locked", "true")])
        .await
        .ok_json();
    let secret = str_field(
        &post_status_with(
            &a,
            &[("status", "followers only"), ("visibility", "private")],
        )
        .await,
        "id",
    );
    assert_eq!(follow(&b, &alice.id).await["requested"], true);
    assert_eq!(follow(&c, &alice.id).await["requested"], true);
    assert_eq!(relationship(&a, &bob.id).await["requested_by"], true);

    let first = a.get("/api/v1/follow_requests?limit=1").await;
    assert_eq!(ids(&first.ok_json()), vec![carol.id.clone()]);
    let next = link(&first, "next").expect("next link");
    let rest = a.get(&next.replace(&public_url(&server), "")).await;
    assert_eq!(ids(&rest.ok_json()), vec![bob.id.clone()]);
    wait_until("two follow_request notifications", || async {
        let v = a
            .get("/api/v1/notifications?types[]=follow_request")
            .await
            .ok_json();
        (v.as_array().unwrap().len() == 2).then_some(())
    })
    .await;

    let rel = a
        .post(
            &format!("/api/v1/follow_requests/{}/authorize", bob.id),
            &[],
        )
        .await
        .ok_json();
    assert_eq!(rel["followed_by"], true, "{rel}");
    assert_eq!(rel["requested_by"], false, "{rel}");
    let rel = relationship(&b, &alice.id).await;
    assert_eq!(rel["following"], true, "{rel}");
    assert_eq!(rel["requested"], false, "{rel}");
    let me = a
        .get(&format!("/api/v1/accounts/{}", alice.id))
        .await
        .ok_json();
    assert_eq!(me["followers_count"], 1, "{me}");
    // The new follower gets the followers-only posts, at home and directly.
    wait_until("alice's private post in bob's home", || async {
        timeline_ids(&b, "/api/v1/timelines/home")
            .await
            .contains(&secret)
            .then_some(())
    })
    .await;
    b.get(&format!("/api/v1/statuses/{secret}")).await.ok_json();

    let rel = a
        .post(&format!("/api/v1/follow_requests/{}/reject", carol.id), &[])
        .await
        .ok_json();
    assert_eq!(rel["requested_by"], false, "{rel}");
    assert_eq!(relationship(&c, &alice.id).await["requested"], false);
    c.get(&format!("/api/v1/statuses/{secret}")).await.err(404);
    assert!(
        a.get("/api/v1/follow_requests")
            .await
            .ok_json()
            .as_array()
            .unwrap()
            .is_empty()
    );
    // Answered requests take their notifications with them.
    let left = a
        .get("/api/v1/notifications?types[]=follow_request")
        .await
        .ok_json();
    assert_eq!(left, serde_json::json!([]));
    // Nothing left to answer.
    for action in ["authorize", "reject"] {
        a.post(
            &format!("/api/v1/follow_requests/{}/{action}", carol.id),
            &[],
        )
        .await
        .err(404);
    }
    // Removing a follower.
    let rel = a
        .post(
            &format!("/api/v1/accounts/{}/remove_from_followers", bob.id),
            &[],
        )
        .await
        .ok_json();
    assert_eq!(rel["followed_by"], false, "{rel}");
    assert_eq!(relationship(&b, &alice.id).await["following"], false);
    b.get(&format!("/api/v1/statuses/{secret}")).await.err(404);
    assert_no_panics(&server);
});

lane_test!(endorsements_and_notes, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let carol = user_token(&server, "carol").await;
    let a = alice.api(&api);

    a.post(&format!("/api/v1/accounts/{}/endorse", bob.id), &[])
        .await
        .err_is(
            422,
            "Validation failed: You must be already following the person you want to endorse",
        );
    follow(&a, &bob.id).await;
    follow(&a, &carol.id).await;
    let rel = a
        .post(&format!("/api/v1/accounts/{}/endorse", bob.id), &[])
        .await
        .ok_json();
    assert_eq!(rel["endorsed"], true, "{rel}");
    // The older name of the same action.
    a.post(&format!("/api/v1/accounts/{}/pin", carol.id), &[])
        .await
        .ok_json();
    assert_eq!(
        ids(&a.get("/api/v1/endorsements").await.ok_json()),
        vec![carol.id.clone(), bob.id.clone()]
    );
    // Anyone may see whom alice features.
    assert_eq!(
        ids(&api
            .anon()
            .get(&format!("/api/v1/accounts/{}/endorsements", alice.id))
            .await
            .ok_json()),
        vec![carol.id.clone(), bob.id.clone()]
    );
    let rel = a
        .post(&format!("/api/v1/accounts/{}/unpin", carol.id), &[])
        .await
        .ok_json();
    assert_eq!(rel["endorsed"], false, "{rel}");
    // Unfollowing ends the endorsement.
    unfollow(&a, &bob.id).await;
    assert_eq!(relationship(&a, &bob.id).await["endorsed"], false);
    assert_eq!(
        a.get("/api/v1/endorsements").await.ok_json(),
        serde_json::json!([])
    );

    // Private notes.
    let rel = a
        .post(
            &format!("/api/v1/accounts/{}/note", bob.id),
            &[("comment", "met at the conference")],
        )
        .await
        .ok_json();
    assert_eq!(rel["note"], "met at the conference", "{rel}");
    assert_eq!(
        relationship(&a, &bob.id).await["note"],
        "met at the conference"
    );
    assert_eq!(relationship(&bob.api(&api), &alice.id).await["note"], "");
    let long = "x".repeat(2001);
    a.post(
        &format!("/api/v1/accounts/{}/note", bob.id),
        &[("comment", &long)],
    )
    .await
    .err(422);
    let rel = a
        .post(
            &format!("/api/v1/accounts/{}/note", bob.id),
            &[("comment", "")],
        )
        .await
        .ok_json();
    assert_eq!(rel["note"], "", "{rel}");
    a.post("/api/v1/accounts/999999/note", &[("comment", "who?")])
        .await
        .err(404);
    assert_no_panics(&server);
});

lane_test!(domain_blocks, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let a = alice.api(&api);
    for domain in ["Spam.EXAMPLE", "ads.example", "bücher.example"] {
        let v = a
            .post("/api/v1/domain_blocks", &[("domain", domain)])
            .await
            .ok_json();
        assert_eq!(v, serde_json::json!({}));
    }
    // Blocking again is fine.
    a.post_json(
        "/api/v1/domain_blocks",
        serde_json::json!({"domain": "spam.example"}),
    )
    .await
    .ok_json();
    let first = a.get("/api/v1/domain_blocks?limit=2").await;
    assert_eq!(
        first.ok_json(),
        serde_json::json!(["xn--bcher-kva.example", "ads.example"])
    );
    let next = link(&first, "next").expect("next link");
    assert_eq!(
        a.get(&next.replace(&public_url(&server), ""))
            .await
            .ok_json(),
        serde_json::json!(["spam.example"])
    );
    a.send(
        reqwest::Method::DELETE,
        "/api/v1/domain_blocks",
        Body::form(&[("domain", "ads.example")]),
        &[],
    )
    .await
    .ok_json();
    a.delete("/api/v1/domain_blocks?domain=not-blocked.example")
        .await
        .ok_json();
    assert_eq!(
        a.get("/api/v1/domain_blocks").await.ok_json(),
        serde_json::json!(["xn--bcher-kva.example", "spam.example"])
    );
    a.post("/api/v1/domain_blocks", &[("domain", "https://x.example/")])
        .await
        .err_is(422, "Validation failed: Domain is not a valid domain name");
    a.post("/api/v1/domain_blocks", &[]).await.err(400);
    // Someone else's list is their own; the scope is checked.
    let bob = user_with_scope(&server, "bob", "read:statuses write:statuses").await;
    let b = bob.api(&api);
    b.get("/api/v1/domain_blocks")
        .await
        .err_is(403, "This action is outside the authorized scopes");
    assert_no_panics(&server);
});
