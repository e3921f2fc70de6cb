//! Timelines: home (fan-out on write by a background job, merge on follow,
//! unmerge on unfollow, Mastodon's home filters), public, hashtag, and
//! Mastodon's id pagination with `Link` headers.
//!
//! Fan-out is asynchronous: tests poll for what must appear, and check what
//! must not appear only after a later status by the same author has arrived.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use ferrodon_testkit::{Lane, lane_test};
use serde_json::json;

fn sorted_newest_first(ids: &[String]) -> bool {
    ids.windows(2).all(|w| num(&w[0]) > num(&w[1]))
}

lane_test!(home_fan_out, |lane: Lane| async move {
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
    let id_of = |v: serde_json::Value| str_field(&v, "id");

    // Your own statuses reach your home.
    let own = id_of(post_status(&a, "alice's own").await);
    wait_home(&a, "alice's own status in her home", |ids| {
        ids.contains(&own)
    })
    .await;

    // Following merges the followee's earlier statuses.
    let b_before = id_of(post_status(&b, "bob before the follow").await);
    let b_private_before = id_of(
        post_status_with(
            &b,
            &[("status", "bob private before"), ("visibility", "private")],
        )
        .await,
    );
    let c_post = id_of(post_status(&c, "carol's post").await);
    assert_eq!(follow(&a, &bob.id).await["following"], true);
    wait_home(&a, "bob's earlier statuses merged on follow", |ids| {
        ids.contains(&b_before) && ids.contains(&b_private_before)
    })
    .await;

    // New statuses fan out: public, unlisted, private.
    let b_public = id_of(post_status(&b, "bob public").await);
    let b_unlisted = id_of(
        post_status_with(
            &b,
            &[("status", "bob unlisted"), ("visibility", "unlisted")],
        )
        .await,
    );
    let b_private =
        id_of(post_status_with(&b, &[("status", "bob private"), ("visibility", "private")]).await);
    // A direct message to alice (a follower) reaches her home.
    let b_dm_alice =
        id_of(post_status_with(&b, &[("status", "@alice psst"), ("visibility", "direct")]).await);
    // Replies: to alice, to himself: shown. To carol, whom alice does not follow: not.
    let b_reply_alice =
        id_of(post_status_with(&b, &[("status", "@alice re"), ("in_reply_to_id", &own)]).await);
    let b_self_reply = id_of(
        post_status_with(
            &b,
            &[("status", "thread 2/2"), ("in_reply_to_id", &b_public)],
        )
        .await,
    );
    let b_reply_carol =
        id_of(post_status_with(&b, &[("status", "@carol re"), ("in_reply_to_id", &c_post)]).await);
    // A DM to carol is none of alice's business.
    let b_dm_carol =
        id_of(post_status_with(&b, &[("status", "@carol secret"), ("visibility", "direct")]).await);
    // Bob reblogs carol: alice sees the reblog.
    let b_reblog = id_of(
        b.post(&format!("/api/v1/statuses/{c_post}/reblog"), &[])
            .await
            .ok_json(),
    );
    let d_post = id_of(post_status(&d, "dave, not followed").await);
    let marker = id_of(post_status(&b, "bob's marker").await);

    let expected = [
        &b_public,
        &b_unlisted,
        &b_private,
        &b_dm_alice,
        &b_reply_alice,
        &b_self_reply,
        &b_reblog,
        &marker,
    ];
    let home = wait_home(&a, "bob's new statuses in alice's home", |ids| {
        expected.iter().all(|id| ids.contains(id))
    })
    .await;
    for (what, id) in [
        ("bob's reply to carol (not followed)", &b_reply_carol),
        ("bob's DM to carol", &b_dm_carol),
        ("dave's post (not followed)", &d_post),
        ("carol's post (not followed)", &c_post),
    ] {
        assert!(
            !home.contains(id),
            "{what} must not be in alice's home: {home:?}"
        );
    }
    assert!(sorted_newest_first(&home), "home is newest first: {home:?}");

    // The home entries are full statuses; the reblog wraps carol's post.
    let v = a.get("/api/v1/timelines/home?limit=40").await.ok_json();
    let reblog = v
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == b_reblog.as_str())
        .cloned()
        .unwrap();
    assert_keys(&reblog, STATUS_KEYS, "home entry");
    assert_eq!(reblog["reblog"]["id"], c_post.as_str());

    // Following with reblogs=false hides that account's reblogs.
    follow(&a, &dave.id).await;
    a.post(
        &format!("/api/v1/accounts/{}/follow", dave.id),
        &[("reblogs", "false")],
    )
    .await
    .ok_json();
    let d_reblog = id_of(
        d.post(&format!("/api/v1/statuses/{own}/reblog"), &[])
            .await
            .ok_json(),
    );
    let d_reblog_carol = id_of(
        d.post(&format!("/api/v1/statuses/{c_post}/reblog"), &[])
            .await
            .ok_json(),
    );
    let d_marker = id_of(post_status(&d, "dave's marker").await);
    let home = wait_home(&a, "dave's statuses after the follow", |ids| {
        ids.contains(&d_marker) && ids.contains(&d_post)
    })
    .await;
    assert!(
        !home.contains(&d_reblog) && !home.contains(&d_reblog_carol),
        "reblogs of an account followed with reblogs=false: {home:?}"
    );

    // Unfollowing removes the account's statuses from the home.
    unfollow(&a, &bob.id).await;
    let bobs: Vec<String> = [
        &b_before,
        &b_private_before,
        &b_public,
        &b_unlisted,
        &b_private,
        &b_dm_alice,
        &b_reply_alice,
        &b_self_reply,
        &b_reblog,
        &marker,
    ]
    .into_iter()
    .cloned()
    .collect();
    let home = wait_home(&a, "bob's statuses to leave alice's home", |ids| {
        !ids.iter().any(|id| bobs.contains(id))
    })
    .await;
    assert!(home.contains(&own), "alice's own status stays: {home:?}");
    assert!(home.contains(&d_marker), "dave's statuses stay: {home:?}");

    // Bob's own home has his statuses, and not alice's (he does not follow her).
    let bob_home = wait_home(&b, "bob's own statuses in his home", |ids| {
        ids.contains(&marker)
    })
    .await;
    assert!(!bob_home.contains(&own), "{bob_home:?}");

    // Auth.
    api.get("/api/v1/timelines/home")
        .await
        .err_is(401, "The access token is invalid");
});

/// Checks Mastodon's paging on `path` whose full content (newest first) is `all`.
async fn check_paging(api: &Api, base: &str, path: &str, all: &[String]) {
    let sep = if path.contains('?') { '&' } else { '?' };
    let get = |query: String| {
        let api = api.clone();
        let url = format!("{path}{sep}{query}");
        async move { api.get(&url).await }
    };
    let page = |query: String| {
        let get = &get;
        async move { ids(&get(query).await.ok_json()) }
    };
    assert!(all.len() > 40, "the fixture must exceed the maximum page");

    // Default 20, maximum 40.
    let first = api.get(path).await;
    assert_eq!(
        ids(&first.ok_json()),
        all[..20].to_vec(),
        "{path}: default page"
    );
    assert_eq!(
        page("limit=100".into()).await,
        all[..40].to_vec(),
        "{path}: limit is capped at 40"
    );
    assert_eq!(
        page("limit=5".into()).await,
        all[..5].to_vec(),
        "{path}: limit=5"
    );
    // Unparseable or odd limits never fail.
    for bad in [
        "limit=abc",
        "limit=-5",
        "limit=0",
        "limit=",
        "limit=99999999999999999999",
    ] {
        let resp = get(bad.into()).await;
        assert_eq!(resp.status, 200, "{path} {bad}: {}", resp.describe());
        assert!(resp.json().is_array(), "{path} {bad}");
    }
    // Empty paging parameters are ignored.
    assert_eq!(
        page("max_id=&since_id=&min_id=".into()).await,
        all[..20].to_vec(),
        "{path}: empty max_id/since_id/min_id"
    );

    // Link header: next = max_id of the oldest, prev = min_id of the newest.
    let resp = get("limit=5".into()).await;
    let next =
        link(&resp, "next").unwrap_or_else(|| panic!("{path}: no next link: {:?}", resp.headers));
    let prev =
        link(&resp, "prev").unwrap_or_else(|| panic!("{path}: no prev link: {:?}", resp.headers));
    assert!(next.starts_with(base), "{path}: links are absolute: {next}");
    assert_eq!(
        query_param(&next, "max_id").as_deref(),
        Some(all[4].as_str()),
        "{next}"
    );
    assert_eq!(query_param(&next, "limit").as_deref(), Some("5"), "{next}");
    assert_eq!(
        query_param(&prev, "min_id").as_deref(),
        Some(all[0].as_str()),
        "{prev}"
    );
    assert!(
        path_and_query(&next).starts_with(path.split('?').next().unwrap()),
        "{path}: next link points at the same endpoint: {next}"
    );

    // Walking `next` visits everything once, in order, and ends empty.
    let mut seen = Vec::new();
    let mut url = format!("{path}{sep}limit=7");
    for _ in 0..20 {
        let resp = api.get(&url).await;
        let batch = ids(&resp.ok_json());
        if batch.is_empty() {
            assert!(
                link(&resp, "next").is_none(),
                "{path}: an empty page has no next link"
            );
            break;
        }
        seen.extend(batch);
        // Timelines always link onwards; account statuses stop at a short page.
        match link(&resp, "next") {
            Some(next) => url = path_and_query(&next),
            None => break,
        }
    }
    assert_eq!(seen, all.to_vec(), "{path}: walking the next links");

    // min_id from the oldest item returns the ones right above it.
    let oldest = &all[all.len() - 1];
    let resp = get(format!("limit=3&min_id={}", all[all.len() - 1])).await;
    let ids_up = ids(&resp.ok_json());
    let n = all.len();
    assert_eq!(
        ids_up,
        vec![all[n - 4].clone(), all[n - 3].clone(), all[n - 2].clone()],
        "{path}: min_id returns the items right after it, newest first"
    );
    let prev = link(&resp, "prev").expect("prev link");
    assert_eq!(
        query_param(&prev, "min_id").as_deref(),
        Some(all[n - 4].as_str())
    );

    // max_id, since_id, min_id semantics.
    let pivot = &all[10];
    assert_eq!(
        page(format!("max_id={pivot}&limit=3")).await,
        all[11..14].to_vec(),
        "{path}: max_id is an exclusive upper bound"
    );
    assert_eq!(
        page(format!("since_id={pivot}&limit=3")).await,
        all[..3].to_vec(),
        "{path}: since_id returns the newest items above it"
    );
    assert_eq!(
        page(format!("min_id={pivot}&limit=3")).await,
        all[7..10].to_vec(),
        "{path}: min_id returns the items right above it"
    );
    assert_eq!(
        page(format!("min_id={pivot}&since_id={oldest}&limit=3")).await,
        all[7..10].to_vec(),
        "{path}: min_id wins over since_id"
    );
    assert_eq!(
        page(format!("max_id={}&since_id={}", all[5], all[9])).await,
        all[6..9].to_vec(),
        "{path}: max_id and since_id together"
    );
    assert_eq!(
        page(format!("min_id={}", all[0])).await,
        Vec::<String>::new()
    );
    assert_eq!(page(format!("max_id={oldest}")).await, Vec::<String>::new());
    // An empty result has no Link header.
    let resp = get(format!("max_id={oldest}")).await;
    assert!(
        resp.header("link").is_none(),
        "{path}: Link on an empty page: {:?}",
        resp.headers
    );
    // Garbage ids never produce a server error.
    for bad in [
        "max_id=abc",
        "since_id=abc",
        "min_id=abc",
        "max_id=-1",
        "max_id=99999999999999999999999",
    ] {
        let resp = get(bad.into()).await;
        if resp.status != 200 {
            resp.client_error();
        } else {
            assert!(resp.json().is_array(), "{path} {bad}");
        }
    }
}

lane_test!(pagination, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let base = public_url(&server);
    let alice = user_token(&server, "alice").await;
    let a = alice.api(&api);
    let mut posted = Vec::new();
    for i in 0..45 {
        posted.push(str_field(
            &post_status(&a, &format!("status {i} #paging")).await,
            "id",
        ));
    }
    posted.reverse();
    let all = posted;
    assert!(sorted_newest_first(&all), "ids are time-ordered: {all:?}");

    check_paging(&api, &base, "/api/v1/timelines/public", &all).await;
    check_paging(&api, &base, "/api/v1/timelines/tag/paging", &all).await;
    check_paging(
        &api,
        &base,
        &format!("/api/v1/accounts/{}/statuses", alice.id),
        &all,
    )
    .await;
    // Home, once the fan-out has delivered all 45 (the home holds at least 400).
    let newest_40 = all[..40].to_vec();
    wait_home(&a, "45 statuses in alice's home", |ids| {
        ids == newest_40.as_slice()
    })
    .await;
    wait_until("the oldest status in alice's home", || async {
        let page = ids(&a
            .get(&format!("/api/v1/timelines/home?max_id={}", all[40]))
            .await
            .ok_json());
        (page == all[41..]).then_some(())
    })
    .await;
    check_paging(&a, &base, "/api/v1/timelines/home", &all).await;
});

lane_test!(public_and_hashtag_timelines, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let (a, b) = (alice.api(&api), bob.api(&api));
    let id_of = |v: serde_json::Value| str_field(&v, "id");

    let p1 = id_of(post_status(&a, "public #Rust").await);
    let u1 = id_of(
        post_status_with(
            &a,
            &[("status", "unlisted #rust"), ("visibility", "unlisted")],
        )
        .await,
    );
    let pr1 = id_of(
        post_status_with(
            &a,
            &[("status", "private #rust"), ("visibility", "private")],
        )
        .await,
    );
    let d1 = id_of(
        post_status_with(
            &a,
            &[("status", "@bob direct #rust"), ("visibility", "direct")],
        )
        .await,
    );
    let p2 = id_of(post_status(&b, "shouting #RUST").await);
    let other = id_of(post_status(&b, "about #go").await);
    let reblog = id_of(
        b.post(&format!("/api/v1/statuses/{p1}/reblog"), &[])
            .await
            .ok_json(),
    );

    // Public: public statuses only, no reblogs; anonymous allowed.
    let expected = vec![other.clone(), p2.clone(), p1.clone()];
    for client in [api.anon(), a.clone()] {
        for query in ["", "?local=true", "?local=1"] {
            let got = timeline_ids(&client, &format!("/api/v1/timelines/public{query}")).await;
            assert_eq!(got, expected, "public{query}");
        }
        for query in [
            "?remote=true",
            "?remote=1",
            "?only_media=true",
            "?only_media=1",
            "?local=true&only_media=true",
        ] {
            let got = timeline_ids(&client, &format!("/api/v1/timelines/public{query}")).await;
            assert_eq!(
                got,
                Vec::<String>::new(),
                "public{query}: no remote or media statuses here"
            );
        }
        for query in ["?local=false", "?remote=0", "?only_media=false"] {
            let got = timeline_ids(&client, &format!("/api/v1/timelines/public{query}")).await;
            assert_eq!(got, expected, "public{query}");
        }
    }
    for hidden in [&u1, &pr1, &d1, &reblog] {
        assert!(!expected.contains(hidden));
    }

    // Entities in a timeline are complete; the anonymous viewer gets no viewer flags.
    let v = api.get("/api/v1/timelines/public").await.ok_json();
    for s in v.as_array().unwrap() {
        assert_keys(s, STATUS_KEYS, "public timeline entry");
    }

    // Hashtag: case-insensitive, public statuses only.
    for tag in ["rust", "Rust", "RUST"] {
        for client in [api.anon(), b.clone()] {
            let got = timeline_ids(&client, &format!("/api/v1/timelines/tag/{tag}")).await;
            assert_eq!(got, vec![p2.clone(), p1.clone()], "tag/{tag}");
            let got =
                timeline_ids(&client, &format!("/api/v1/timelines/tag/{tag}?local=true")).await;
            assert_eq!(got, vec![p2.clone(), p1.clone()], "tag/{tag}?local=true");
        }
    }
    assert_eq!(
        timeline_ids(&api, "/api/v1/timelines/tag/rust?only_media=true").await,
        Vec::<String>::new()
    );
    assert_eq!(
        timeline_ids(&api, "/api/v1/timelines/tag/go").await,
        vec![other.clone()]
    );
    assert_eq!(
        timeline_ids(&api, "/api/v1/timelines/tag/nothingtaggedhere").await,
        Vec::<String>::new()
    );
    // A status entity's tags point at the tag timeline.
    let s = api.get(&format!("/api/v1/statuses/{p2}")).await.ok_json();
    assert_eq!(
        s["tags"],
        json!([{"name": "rust", "url": format!("{}/tags/rust", public_url(&server))}])
    );
});

/// Removes `account`'s home feed from wherever the lane keeps it.
async fn drop_home_feed(server: &ferrodon_testkit::TestServer, lane: Lane, account: &str) {
    if lane == Lane::Redis {
        let namespace =
            instance_var(server, "REDIS_NAMESPACE").expect("redis lane has a namespace");
        let url = instance_var(server, "REDIS_URL").expect("redis lane has a URL");
        let client = redis::Client::open(url).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{namespace}*feed:home:{account}*"))
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(
            !keys.is_empty(),
            "no Redis keys for the home feed of {account}"
        );
        let _: () = redis::cmd("DEL")
            .arg(&keys)
            .query_async(&mut conn)
            .await
            .unwrap();
    } else {
        let removed = sql_execute(
            server,
            "DELETE FROM home_feed_entries WHERE account_id = CAST($1 AS BIGINT)",
            &[account],
        )
        .await;
        assert!(removed > 0, "no feed rows for {account}");
        sql_execute(
            server,
            "DELETE FROM home_feeds WHERE account_id = CAST($1 AS BIGINT)",
            &[account],
        )
        .await;
    }
}

lane_test!(missing_home_feed_is_rebuilt, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let (a, b) = (alice.api(&api), bob.api(&api));
    follow(&a, &bob.id).await;
    let mut expected = vec![str_field(&post_status(&a, "alice's").await, "id")];
    for i in 0..3 {
        expected.push(str_field(&post_status(&b, &format!("bob {i}")).await, "id"));
    }
    let private =
        post_status_with(&b, &[("status", "bob private"), ("visibility", "private")]).await;
    expected.push(str_field(&private, "id"));
    expected.reverse();
    wait_home(&a, "the home before losing it", |ids| {
        ids == expected.as_slice()
    })
    .await;

    // The feed is lost (Redis flushed, rows deleted): it is rebuilt, never empty.
    drop_home_feed(&server, lane, &alice.id).await;
    let resp = a.get("/api/v1/timelines/home").await;
    assert!(
        resp.status == 200 || resp.status == 206,
        "{}",
        resp.describe()
    );
    let first = ids(&resp.json());
    assert!(!first.is_empty(), "a missing home feed was served empty");
    wait_home(&a, "the rebuilt home", |ids| ids == expected.as_slice()).await;
    // New statuses still arrive afterwards.
    let later = str_field(&post_status(&b, "after the rebuild").await, "id");
    wait_home(&a, "a status after the rebuild", |ids| {
        ids.first() == Some(&later)
    })
    .await;
});
