//! `GET /api/v2/search`: accounts, hashtags, and full-text status search
//! limited to what Mastodon lets a reader search.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use ferrodon_testkit::{Lane, lane_test};
use serde_json::Value;

async fn search(api: &Api, query: &[(&str, &str)]) -> Value {
    api.get_q("/api/v2/search", query).await.ok_json()
}

fn status_ids(found: &Value) -> Vec<String> {
    ids(&found["statuses"])
}

lane_test!(full_text_status_search, |lane: Lane| async move {
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
    // Carol opts in to search; bob does not.
    c.patch(
        "/api/v1/accounts/update_credentials",
        &[("indexable", "true")],
    )
    .await
    .ok_json();

    let own = post_status(&a, "Baking sourdough bread today").await;
    let carols = post_status(&c, "My SOURDOUGH starter is alive").await;
    let carols_cw = post_status_with(
        &c,
        &[("status", "the loaf"), ("spoiler_text", "sourdough photos")],
    )
    .await;
    let carols_private = post_status_with(
        &c,
        &[
            ("status", "private sourdough notes"),
            ("visibility", "private"),
        ],
    )
    .await;
    let bobs = post_status(&b, "bob's sourdough secret").await;
    let bobs_faved = post_status(&b, "sourdough crumb shot").await;
    let bobs_mention = post_status(&b, "@alice try this sourdough recipe").await;
    let bobs_other = post_status(&b, "rye bread instead").await;
    a.post(
        &format!(
            "/api/v1/statuses/{}/favourite",
            bobs_faved["id"].as_str().unwrap()
        ),
        &[],
    )
    .await
    .ok_json();
    let id = |v: &Value| v["id"].as_str().unwrap().to_owned();

    let found = search(&a, &[("q", "sourdough"), ("type", "statuses")]).await;
    assert_eq!(
        status_ids(&found),
        vec![
            id(&bobs_mention),
            id(&bobs_faved),
            id(&carols_cw),
            id(&carols),
            id(&own)
        ],
        "own, interacted with, mentioned in, and opted-in public posts, newest first: {found}"
    );
    assert!(
        !status_ids(&found).contains(&id(&bobs)),
        "bob did not opt in"
    );
    assert!(!status_ids(&found).contains(&id(&carols_private)));
    assert_keys(&found["statuses"][0], STATUS_KEYS, "a found status");

    // Every word must match; case and punctuation do not matter.
    let both = search(&a, &[("q", "Sourdough, BREAD!"), ("type", "statuses")]).await;
    assert_eq!(status_ids(&both), vec![id(&own)]);
    assert!(
        status_ids(&search(&a, &[("q", "rye"), ("type", "statuses")]).await).is_empty(),
        "bob's unrelated post is not searchable by alice"
    );
    // Query syntax of the engines is not exposed.
    for odd in [
        "\"sourdough",
        "sourdough OR rye",
        "sour*",
        "-sourdough",
        "sourdough:",
        "NEAR(a b)",
    ] {
        let r = a
            .get_q("/api/v2/search", &[("q", odd), ("type", "statuses")])
            .await;
        assert_eq!(r.status, 200, "{odd}: {}", r.describe());
    }

    // Narrowing: by author, by id range, paging with offset and limit.
    let by_carol = search(
        &a,
        &[
            ("q", "sourdough"),
            ("type", "statuses"),
            ("account_id", &carol.id),
        ],
    )
    .await;
    assert_eq!(status_ids(&by_carol), vec![id(&carols_cw), id(&carols)]);
    let older = search(
        &a,
        &[
            ("q", "sourdough"),
            ("type", "statuses"),
            ("max_id", &id(&carols_cw)),
        ],
    )
    .await;
    assert_eq!(status_ids(&older), vec![id(&carols), id(&own)]);
    let newer = search(
        &a,
        &[
            ("q", "sourdough"),
            ("type", "statuses"),
            ("min_id", &id(&carols_cw)),
        ],
    )
    .await;
    assert_eq!(status_ids(&newer), vec![id(&bobs_mention), id(&bobs_faved)]);
    let page2 = search(
        &a,
        &[
            ("q", "sourdough"),
            ("type", "statuses"),
            ("limit", "2"),
            ("offset", "2"),
        ],
    )
    .await;
    assert_eq!(status_ids(&page2), vec![id(&carols_cw), id(&carols)]);

    // Another reader sees their own set: dave follows carol and sees her
    // private post; bob's are his own.
    follow(&d, &carol.id).await;
    let davids = search(&d, &[("q", "sourdough"), ("type", "statuses")]).await;
    assert_eq!(
        status_ids(&davids),
        vec![id(&carols_cw), id(&carols)],
        "private posts are not searchable unless interacted with"
    );
    let bobs_view = search(&b, &[("q", "sourdough"), ("type", "statuses")]).await;
    assert!(status_ids(&bobs_view).contains(&id(&bobs)));
    assert!(
        !status_ids(&bobs_view).contains(&id(&own)),
        "alice did not opt in"
    );

    // Edits and deletes reach the index.
    b.delete(&format!("/api/v1/statuses/{}", id(&bobs_faved)))
        .await
        .ok_json();
    let after = search(&a, &[("q", "sourdough"), ("type", "statuses")]).await;
    assert!(!status_ids(&after).contains(&id(&bobs_faved)));
    let _ = bobs_other;

    // A blocked author's posts are not found.
    a.post(&format!("/api/v1/accounts/{}/block", carol.id), &[])
        .await
        .ok_json();
    let blocked = search(&a, &[("q", "sourdough"), ("type", "statuses")]).await;
    assert!(!status_ids(&blocked).contains(&id(&carols)), "{blocked}");

    // Anonymous readers get no statuses, and may not page or resolve.
    let anon = search(&api.anon(), &[("q", "sourdough")]).await;
    assert_eq!(anon["statuses"], serde_json::json!([]));
    api.anon()
        .get_q("/api/v2/search", &[("q", "sourdough"), ("offset", "5")])
        .await
        .err_is(
            401,
            "Search queries pagination is not supported without authentication",
        );
    api.anon()
        .get_q("/api/v2/search", &[("q", "x"), ("resolve", "true")])
        .await
        .err(401);
    a.get("/api/v2/search").await.err(400);
    a.get_q("/api/v2/search", &[("q", "  ")]).await.err(400);
    assert_no_panics(&server);
});

lane_test!(accounts_hashtags_and_addresses, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bobby").await;
    let a = alice.api(&api);
    let b = bob.api(&api);

    post_status(&b, "#Cooking and #cookies and #cook").await;
    let found = search(&a, &[("q", "#cook")]).await;
    let names: Vec<&str> = found["hashtags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["cook", "cookies", "Cooking"],
        "exact first, then shorter"
    );
    assert_eq!(found["hashtags"][0]["history"].as_array().unwrap().len(), 7);
    assert_eq!(found["hashtags"][0]["following"], false);
    assert!(
        found["statuses"].as_array().unwrap().is_empty(),
        "#queries are not text searches"
    );

    let people = search(&a, &[("q", "bob"), ("type", "accounts")]).await;
    assert_eq!(ids(&people["accounts"]), vec![bob.id.clone()]);
    assert_eq!(people["hashtags"], serde_json::json!([]));
    assert_keys(&people["accounts"][0], ACCOUNT_KEYS, "a found account");
    let following = search(
        &a,
        &[("q", "bob"), ("type", "accounts"), ("following", "true")],
    )
    .await;
    assert!(ids(&following["accounts"]).is_empty());
    // Anonymous readers find accounts and hashtags.
    let anon = search(&api.anon(), &[("q", "bobby")]).await;
    assert_eq!(ids(&anon["accounts"]), vec![bob.id.clone()]);

    // An address finds the status or the profile it names.
    let post = post_status(&b, "find me by address").await;
    let url = post["url"].as_str().unwrap();
    let by_url = search(&a, &[("q", url)]).await;
    assert_eq!(
        status_ids(&by_url),
        vec![post["id"].as_str().unwrap().to_owned()]
    );
    let uri = post["uri"].as_str().unwrap();
    assert_eq!(
        status_ids(&search(&a, &[("q", uri), ("resolve", "true")]).await).len(),
        1
    );
    let profile = b.get("/api/v1/accounts/verify_credentials").await.ok_json();
    let by_profile = search(&a, &[("q", profile["url"].as_str().unwrap())]).await;
    assert_eq!(ids(&by_profile["accounts"]), vec![bob.id.clone()]);
    let unknown = search(&a, &[("q", "https://elsewhere.example/@nobody")]).await;
    assert!(ids(&unknown["accounts"]).is_empty() && status_ids(&unknown).is_empty());
    // A private status found by address only for those who may see it.
    let private = post_status_with(&b, &[("status", "secret"), ("visibility", "private")]).await;
    let hidden = search(&a, &[("q", private["url"].as_str().unwrap())]).await;
    assert!(status_ids(&hidden).is_empty(), "{hidden}");

    // An unknown type finds nothing.
    let none = search(&a, &[("q", "bob"), ("type", "groups")]).await;
    assert!(ids(&none["accounts"]).is_empty());
    assert_no_panics(&server);
});
