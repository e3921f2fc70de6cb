//! Bookmarks, pins, the favourites and bookmarks lists, and who favourited
//! or reblogged a status.
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

lane_test!(bookmarks_and_favourites, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let (a, b) = (alice.api(&api), bob.api(&api));
    let mut posts = Vec::new();
    for i in 0..3 {
        posts.push(str_field(
            &post_status(&b, &format!("bob's post {i}")).await,
            "id",
        ));
    }
    // Bookmark two (idempotent), favourite all three.
    for p in [&posts[0], &posts[2], &posts[2]] {
        let s = a
            .post(&format!("/api/v1/statuses/{p}/bookmark"), &[])
            .await
            .ok_json();
        assert_eq!(s["bookmarked"], true);
    }
    for p in &posts {
        a.post(&format!("/api/v1/statuses/{p}/favourite"), &[])
            .await
            .ok_json();
    }
    // Newest mark first.
    let marks = a.get("/api/v1/bookmarks").await.ok_json();
    assert_eq!(ids(&marks), vec![posts[2].clone(), posts[0].clone()]);
    assert_eq!(
        a.get(&format!("/api/v1/statuses/{}", posts[0]))
            .await
            .ok_json()["bookmarked"],
        true
    );
    assert_eq!(
        b.get(&format!("/api/v1/statuses/{}", posts[0]))
            .await
            .ok_json()["bookmarked"],
        false
    );
    let first = a.get("/api/v1/favourites?limit=2").await;
    let favs = first.ok_json();
    assert_eq!(ids(&favs), vec![posts[2].clone(), posts[1].clone()]);
    let next = link(&first, "next").expect("next link");
    let rest = a
        .get(&next.replace(&public_url(&server), ""))
        .await
        .ok_json();
    assert_eq!(ids(&rest), vec![posts[0].clone()]);
    let s = a
        .post(&format!("/api/v1/statuses/{}/unbookmark", posts[0]), &[])
        .await
        .ok_json();
    assert_eq!(s["bookmarked"], false);
    assert_eq!(
        ids(&a.get("/api/v1/bookmarks").await.ok_json()),
        vec![posts[2].clone()]
    );
    // Another user's lists are their own; scopes are checked.
    assert_eq!(
        b.get("/api/v1/bookmarks").await.ok_json(),
        serde_json::json!([])
    );
    api.anon().get("/api/v1/favourites").await.err(401);
    a.post("/api/v1/statuses/999/bookmark", &[]).await.err(404);

    // Who favourited, who reblogged.
    let carol = user_token(&server, "carol").await;
    carol
        .api(&api)
        .post(&format!("/api/v1/statuses/{}/favourite", posts[1]), &[])
        .await
        .ok_json();
    carol
        .api(&api)
        .post(&format!("/api/v1/statuses/{}/reblog", posts[1]), &[])
        .await
        .ok_json();
    let by = api
        .anon()
        .get(&format!("/api/v1/statuses/{}/favourited_by", posts[1]))
        .await
        .ok_json();
    assert_eq!(ids(&by), vec![carol.id.clone(), alice.id.clone()]);
    let re = api
        .anon()
        .get(&format!("/api/v1/statuses/{}/reblogged_by", posts[1]))
        .await
        .ok_json();
    assert_eq!(ids(&re), vec![carol.id.clone()]);
    api.anon()
        .get("/api/v1/statuses/123/favourited_by")
        .await
        .err(404);
});

lane_test!(pins, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let a = alice.api(&api);
    let mut posts = Vec::new();
    for i in 0..6 {
        posts.push(str_field(
            &post_status(&a, &format!("post {i}")).await,
            "id",
        ));
    }
    for p in &posts[..5] {
        let s = a
            .post(&format!("/api/v1/statuses/{p}/pin"), &[])
            .await
            .ok_json();
        assert_eq!(s["pinned"], true);
    }
    // Pinning again is fine; a sixth is refused.
    a.post(&format!("/api/v1/statuses/{}/pin", posts[0]), &[])
        .await
        .ok_json();
    let err = a
        .post(&format!("/api/v1/statuses/{}/pin", posts[5]), &[])
        .await
        .err(422);
    assert!(err.contains("maximum"), "{err}");
    // Only your own posts, no direct ones.
    let bobs = str_field(&post_status(&bob.api(&api), "bob's").await, "id");
    a.post(&format!("/api/v1/statuses/{bobs}/pin"), &[])
        .await
        .err(422);
    let secret = post_status_with(&a, &[("status", "psst"), ("visibility", "direct")]).await;
    a.post(&format!("/api/v1/statuses/{}/unpin", posts[4]), &[])
        .await
        .ok_json();
    a.post(
        &format!("/api/v1/statuses/{}/pin", str_field(&secret, "id")),
        &[],
    )
    .await
    .err(422);
    // The profile's pinned list, newest pin first, for anyone.
    let pinned = api
        .anon()
        .get(&format!(
            "/api/v1/accounts/{}/statuses?pinned=true",
            alice.id
        ))
        .await
        .ok_json();
    assert_eq!(
        ids(&pinned),
        vec![
            posts[3].clone(),
            posts[2].clone(),
            posts[1].clone(),
            posts[0].clone()
        ]
    );
    assert_eq!(
        a.get(&format!("/api/v1/statuses/{}", posts[4]))
            .await
            .ok_json()["pinned"],
        false
    );
    assert_eq!(
        a.get(&format!("/api/v1/statuses/{}", posts[0]))
            .await
            .ok_json()["pinned"],
        true
    );
});
