//! `/api/v1/trends/*`: hashtags and statuses scored by the scheduled
//! `trends` tick (here every second) as Mastodon scores them, filtered for
//! the reader and paged by offset.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use ferrodon_testkit::{Lane, lane_test};
use serde_json::Value;

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array, got {v}"))
        .iter()
        .map(|t| str_field(t, "name"))
        .collect()
}

async fn favourite(api: &Api, id: &str) {
    api.post(&format!("/api/v1/statuses/{id}/favourite"), &[])
        .await
        .ok_json();
}

async fn discoverable(api: &Api) {
    api.patch(
        "/api/v1/accounts/update_credentials",
        &[("discoverable", "true")],
    )
    .await
    .ok_json();
}

lane_test!(hashtags_and_statuses_trend, |lane: Lane| async move {
    let server = spawn_with(lane, &[("FERRODON_TRENDS_INTERVAL", "1")]).await;
    let api = Api::of(&server);
    let mut users = Vec::new();
    for name in ["ann", "ben", "cat", "dan", "eve", "fay"] {
        users.push(user_token(&server, name).await.api(&api));
    }
    let anon = api.anon();
    assert_eq!(
        anon.get("/api/v1/trends/tags").await.ok_json(),
        Value::Array(vec![])
    );

    // Five accounts use #Rustacean and #ferris in public posts; an unlisted
    // post and a reblog do not count; four accounts are below the threshold.
    for (i, u) in users.iter().take(5).enumerate() {
        post_status(u, &format!("Day {i} as a #Rustacean with #ferris")).await;
    }
    post_status_with(
        &users[5],
        &[
            ("status", "#Rustacean too, quietly"),
            ("visibility", "unlisted"),
        ],
    )
    .await;
    for u in users.iter().take(4) {
        post_status(u, "a #quiet one").await;
    }

    // A discoverable account's plain public post favourited by five others trends.
    discoverable(&users[0]).await;
    discoverable(&users[1]).await;
    let popular = str_field(&post_status(&users[0], "A post everyone likes").await, "id");
    let with_cw = str_field(
        &post_status_with(
            &users[0],
            &[("status", "hidden bits"), ("spoiler_text", "spoilers")],
        )
        .await,
        "id",
    );
    let reply = str_field(
        &post_status_with(
            &users[1],
            &[("status", "a liked reply"), ("in_reply_to_id", &popular)],
        )
        .await,
        "id",
    );
    // Not discoverable: does not trend whatever its favourites.
    let undiscoverable = str_field(
        &post_status(&users[2], "liked but private person").await,
        "id",
    );
    let few = str_field(&post_status(&users[1], "liked by four").await, "id");
    for u in &users[1..6] {
        for id in [&popular, &with_cw, &reply, &undiscoverable] {
            favourite(u, id).await;
        }
    }
    for u in &users[2..6] {
        favourite(u, &few).await;
    }

    let tags = wait_until("two trending hashtags", || async {
        let v = anon.get("/api/v1/trends/tags").await.ok_json();
        (v.as_array().map(Vec::len) == Some(2)).then_some(v)
    })
    .await;
    let mut found = names(&tags);
    found.sort();
    assert_eq!(found, vec!["Rustacean", "ferris"], "{tags}");
    for t in tags.as_array().unwrap() {
        let today = &t["history"][0];
        assert_eq!(today["accounts"], "5", "{t}");
        assert_keys(t, &["name", "url", "history"], "trending tag");
    }
    // `/api/v1/trends` is the same list.
    assert_eq!(anon.get("/api/v1/trends").await.ok_json(), tags);

    // Paging by offset: a full page links to the next.
    let first = anon.get("/api/v1/trends/tags?limit=1").await;
    let first_json = first.ok_json();
    assert_eq!(names(&first_json), names(&tags)[..1].to_vec());
    let next = link(&first, "next").expect("a next link");
    assert_eq!(query_param(&next, "offset").as_deref(), Some("1"));
    assert_eq!(query_param(&next, "limit").as_deref(), Some("1"));
    let second = anon.get(&path_and_query(&next)).await;
    assert_eq!(names(&second.ok_json()), names(&tags)[1..].to_vec());
    let third = anon.get("/api/v1/trends/tags?limit=1&offset=2").await;
    assert_eq!(third.ok_json(), Value::Array(vec![]));
    assert!(link(&third, "next").is_none());
    assert!(link(&third, "prev").is_some(), "offset past the first page");

    let trending = wait_until("the favourited status trends", || async {
        let v = anon.get("/api/v1/trends/statuses").await.ok_json();
        (!v.as_array()?.is_empty()).then_some(v)
    })
    .await;
    assert_eq!(ids(&trending), vec![popular.clone()], "{trending}");
    assert_keys(&trending[0], STATUS_KEYS, "trending status");
    assert_eq!(trending[0]["favourites_count"], 5);
    // A signed-in reader sees their own relation to it.
    let seen_by_ben = users[1].get("/api/v1/trends/statuses").await.ok_json();
    assert_eq!(seen_by_ben[0]["favourited"], true);

    // A reader who muted the author does not see it; others still do.
    let ann_id = str_field(
        &users[0]
            .get("/api/v1/accounts/verify_credentials")
            .await
            .ok_json(),
        "id",
    );
    users[2]
        .post(&format!("/api/v1/accounts/{ann_id}/mute"), &[])
        .await
        .ok_json();
    assert_eq!(
        users[2].get("/api/v1/trends/statuses").await.ok_json(),
        Value::Array(vec![])
    );
    assert_eq!(
        ids(&users[3].get("/api/v1/trends/statuses").await.ok_json()),
        vec![popular.clone()]
    );

    // A deleted status leaves the list at once.
    users[0]
        .delete(&format!("/api/v1/statuses/{popular}"))
        .await
        .ok_json();
    assert_eq!(
        anon.get("/api/v1/trends/statuses").await.ok_json(),
        Value::Array(vec![])
    );
    // Junk paging parameters are read leniently, as Mastodon does.
    anon.get("/api/v1/trends/statuses?limit=abc&offset=-3")
        .await
        .ok_json();
    assert_no_panics(&server);
});

lane_test!(trends_can_be_turned_off, |lane: Lane| async move {
    let server = spawn_with(
        lane,
        &[
            ("FERRODON_TRENDS_INTERVAL", "1"),
            ("FERRODON_TRENDS", "false"),
        ],
    )
    .await;
    let api = Api::of(&server);
    let admin = jobs_admin(&server, "root").await;
    let mut users = Vec::new();
    for name in ["ann", "ben", "cat", "dan", "eve"] {
        users.push(user_token(&server, name).await.api(&api));
    }
    for u in &users {
        post_status(u, "#busy day").await;
    }
    // Ticks pass (their slots are recorded); nothing is scored or shown.
    wait_until("two trends ticks", || async {
        let n = sql_fetch_text(
            &server,
            "SELECT CAST(COUNT(*) AS TEXT) FROM scheduler_runs WHERE name = 'trends'",
            &[],
        )
        .await?;
        (n.parse::<i64>().ok()? >= 2).then_some(())
    })
    .await;
    jobs_idle(&admin).await;
    assert_eq!(
        sql_fetch_text(&server, "SELECT CAST(COUNT(*) AS TEXT) FROM trends", &[]).await,
        Some("0".to_owned())
    );
    for path in [
        "/api/v1/trends/tags",
        "/api/v1/trends/statuses",
        "/api/v1/trends",
    ] {
        assert_eq!(
            api.get(path).await.ok_json(),
            Value::Array(vec![]),
            "{path}"
        );
    }
    assert_no_panics(&server);
});

/// An article page Mastodon would let trend (title, description, image,
/// site name, `og:type` article) and a plain page it would not.
fn page_for(path: &str) -> Option<String> {
    let (kind, title) = match path {
        "/article" => ("article", "A story worth sharing"),
        "/plain" => ("website", "Just a page"),
        _ => return None,
    };
    Some(format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta property="og:title" content="{title}"><meta property="og:description" content="What it says.">
<meta property="og:image" content="/cover.png"><meta property="og:type" content="{kind}">
<meta property="og:site_name" content="Local News"></head><body>Hi</body></html>"#
    ))
}

/// Serves [`page_for`] on 127.0.0.1; returns the base URL.
async fn pages() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    serve_http(listener, |path| match page_for(path) {
        Some(body) => (
            "200 OK",
            "text/html; charset=utf-8",
            String::new(),
            body.into_bytes(),
        ),
        None => ("404 Not Found", "text/html", String::new(), Vec::new()),
    });
    base
}

lane_test!(shared_articles_trend_as_links, |lane: Lane| async move {
    let site = pages().await;
    let server = spawn_with(
        lane,
        &[
            ("FERRODON_TRENDS_INTERVAL", "1"),
            ("ALLOWED_PRIVATE_ADDRESSES", "127.0.0.1/32"),
        ],
    )
    .await;
    let api = Api::of(&server);
    let mut users = Vec::new();
    for name in ["ann", "ben", "cat", "dan", "eve", "fay"] {
        users.push(user_token(&server, name).await.api(&api));
    }
    let anon = api.anon();
    // Five accounts share the article and the plain page; a sixth boosts a share.
    let mut shares = Vec::new();
    for (i, u) in users.iter().take(5).enumerate() {
        let s = post_status(u, &format!("Read this {site}/article and {i}")).await;
        shares.push(str_field(&s, "id"));
        post_status(u, &format!("Also {site}/plain")).await;
    }
    users[5]
        .post(&format!("/api/v1/statuses/{}/reblog", shares[0]), &[])
        .await
        .ok_json();

    let links = wait_until("the article trends", || async {
        let v = anon.get("/api/v1/trends/links").await.ok_json();
        (!v.as_array()?.is_empty()).then_some(v)
    })
    .await;
    assert_eq!(
        links.as_array().unwrap().len(),
        1,
        "only the article: {links}"
    );
    let card = &links[0];
    assert_eq!(card["url"], format!("{site}/article"), "{card}");
    assert_eq!(card["title"], "A story worth sharing");
    assert_eq!(card["type"], "link");
    assert_eq!(card["provider_name"], "Local News");
    let today = &card["history"][0];
    assert_eq!(card["history"].as_array().unwrap().len(), 7, "{card}");
    // Five posts and a boost, by six accounts.
    assert_eq!(
        (today["uses"].as_str(), today["accounts"].as_str()),
        (Some("6"), Some("6")),
        "{card}"
    );

    // The link timeline lists the shares (of discoverable authors).
    for u in &users[..5] {
        discoverable(u).await;
    }
    let timeline = anon
        .get_q(
            "/api/v1/timelines/link",
            &[("url", &format!("{site}/article"))],
        )
        .await
        .ok_json();
    let mut newest_first = shares.clone();
    newest_first.reverse();
    assert_eq!(ids(&timeline), newest_first);

    // Offset paging as for the other trends.
    let page = anon.get("/api/v1/trends/links?limit=1").await;
    assert!(link(&page, "next").is_some());
    assert_eq!(
        anon.get("/api/v1/trends/links?offset=1").await.ok_json(),
        Value::Array(vec![])
    );
    assert_no_panics(&server);
});
