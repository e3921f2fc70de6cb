//! Hashtags (show with history, follow, feature) and finding people
//! (account search, directory, familiar followers, suggestions), and
//! preferences.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use ferrodon_testkit::{Lane, lane_test};
use serde_json::{Value, json};

fn names(v: &Value, key: &str) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x[key].as_str().unwrap().to_owned())
        .collect()
}

fn usernames(v: &Value) -> Vec<String> {
    names(v, "username")
}

async fn discoverable(api: &Api) {
    api.patch(
        "/api/v1/accounts/update_credentials",
        &[("discoverable", "true")],
    )
    .await
    .ok_json();
}

lane_test!(hashtags, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let admin = jobs_admin(&server, "boss").await;
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let carol = user_token(&server, "carol").await;
    let (a, b, c) = (alice.api(&api), bob.api(&api), carol.api(&api));

    // A tag nobody used: no id, a week of zeros, no viewer fields without a token.
    let fresh = api.anon().get("/api/v1/tags/Rust").await.ok_json();
    assert_eq!(fresh["id"], "", "{fresh}");
    assert_eq!(fresh["name"], "Rust");
    assert!(
        fresh["url"].as_str().unwrap().ends_with("/tags/Rust"),
        "{fresh}"
    );
    assert_eq!(fresh["history"].as_array().unwrap().len(), 7, "{fresh}");
    assert!(fresh.get("following").is_none(), "{fresh}");
    assert_eq!(
        c.get("/api/v1/tags/rust").await.ok_json()["following"],
        false
    );

    post_status(&a, "#Rust is fun").await;
    post_status(&b, "#rust again, and #cats").await;
    post_status_with(&b, &[("status", "quiet #rust"), ("visibility", "unlisted")]).await;
    post_status_with(&b, &[("status", "secret #rust"), ("visibility", "private")]).await;
    let tag = api.anon().get("/api/v1/tags/RUST").await.ok_json();
    assert_ne!(tag["id"], "", "{tag}");
    let today = tag["history"][0].clone();
    assert_eq!(
        today["uses"], "2",
        "only public statuses count, as Mastodon: {tag}"
    );
    assert_eq!(today["accounts"], "2", "{tag}");
    let now = chrono::Utc::now().timestamp();
    let day: i64 = today["day"].as_str().unwrap().parse().unwrap();
    assert_eq!(day % 86_400, 0, "days start at midnight UTC: {tag}");
    assert!(now - day < 86_400, "{tag}");
    assert_eq!(tag["history"][1]["uses"], "0", "{tag}");

    // Following a hashtag brings its public statuses home.
    let followed = c.post("/api/v1/tags/rust/follow", &[]).await.ok_json();
    assert_eq!(followed["following"], true, "{followed}");
    assert_eq!(
        names(&c.get("/api/v1/followed_tags").await.ok_json(), "name"),
        vec!["Rust"]
    );
    c.post("/api/v1/tags/cats/follow", &[]).await.ok_json();
    let first = c.get("/api/v1/followed_tags?limit=1").await;
    assert_eq!(names(&first.ok_json(), "name"), vec!["cats"]);
    let next = link(&first, "next").expect("next link");
    assert_eq!(
        names(
            &c.get(&next.replace(&public_url(&server), ""))
                .await
                .ok_json(),
            "name"
        ),
        vec!["Rust"]
    );
    let post = str_field(&post_status(&a, "more #rust news").await, "id");
    wait_home(&c, "a followed hashtag's status at home", |ids| {
        ids.contains(&post)
    })
    .await;
    // Not from accounts carol mutes, not unlisted ones.
    c.post(&format!("/api/v1/accounts/{}/mute", bob.id), &[])
        .await
        .ok_json();
    let muted = str_field(&post_status(&b, "bob on #rust").await, "id");
    let unlisted = str_field(
        &post_status_with(
            &a,
            &[("status", "unlisted #rust"), ("visibility", "unlisted")],
        )
        .await,
        "id",
    );
    jobs_idle(&admin).await;
    let home = timeline_ids(&c, "/api/v1/timelines/home").await;
    assert!(
        !home.contains(&muted) && !home.contains(&unlisted),
        "{home:?}"
    );
    let gone = c.post("/api/v1/tags/Rust/unfollow", &[]).await.ok_json();
    assert_eq!(gone["following"], false, "{gone}");
    // Not a hashtag.
    c.post("/api/v1/tags/no%20way/follow", &[]).await.err(404);
    api.anon().get("/api/v1/tags/%23%23").await.err(404);
    c.post("/api/v1/tags/rust/follow", &[]).await.ok_json();
    c.with_token("bogus")
        .post("/api/v1/tags/rust/follow", &[])
        .await
        .err(401);

    // Hashtag timelines with any/all/none.
    let cats_only = str_field(&post_status(&a, "#cats only").await, "id");
    let anon = api.anon();
    let contents = |v: Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s["content"].as_str().unwrap().to_owned())
            .collect()
    };
    let both = contents(
        anon.get("/api/v1/timelines/tag/rust?all[]=cats")
            .await
            .ok_json(),
    );
    assert_eq!(both.len(), 1, "{both:?}");
    assert!(both[0].contains("again"), "{both:?}");
    let either = anon
        .get("/api/v1/timelines/tag/cats?any[]=rust&any[]=nosuchtag")
        .await
        .ok_json();
    let either_ids: Vec<String> = either
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(either_ids[0], cats_only, "{either}");
    assert_eq!(
        either_ids.len(),
        5,
        "public statuses with either tag: {either}"
    );
    let without = contents(
        anon.get("/api/v1/timelines/tag/rust?none[]=cats")
            .await
            .ok_json(),
    );
    assert_eq!(without.len(), 3, "{without:?}");
    assert!(without.iter().all(|c| !c.contains("cats")), "{without:?}");
    assert_eq!(
        anon.get("/api/v1/timelines/tag/rust?all[]=nosuchtag")
            .await
            .ok_json(),
        json!([])
    );

    // Featured hashtags.
    let f = a
        .post("/api/v1/featured_tags", &[("name", "#Rust")])
        .await
        .ok_json();
    assert_eq!(f["name"], "Rust", "{f}");
    assert_eq!(f["statuses_count"], "3", "alice's public and unlisted: {f}");
    assert!(f["last_status_at"].as_str().unwrap().len() == 10, "{f}");
    assert!(
        f["url"].as_str().unwrap().ends_with("/@alice/tagged/Rust"),
        "{f}"
    );
    a.post("/api/v1/featured_tags", &[("name", "rust")])
        .await
        .err_is(422, "Validation failed: Name has already been taken");
    a.post("/api/v1/featured_tags", &[("name", "two words")])
        .await
        .err(422);
    a.post("/api/v1/featured_tags", &[]).await.err(400);
    let tagged = a.post("/api/v1/tags/cats/feature", &[]).await.ok_json();
    assert_eq!(tagged["featuring"], true, "{tagged}");
    let list = api
        .anon()
        .get(&format!("/api/v1/accounts/{}/featured_tags", alice.id))
        .await
        .ok_json();
    assert_eq!(names(&list, "name"), vec!["Rust", "cats"]);
    assert_eq!(list[1]["statuses_count"], "1");
    assert!(list[1]["last_status_at"].is_string(), "{list}");
    let none_yet = a
        .post("/api/v1/featured_tags", &[("name", "unused")])
        .await
        .ok_json();
    assert_eq!(none_yet["statuses_count"], "0", "{none_yet}");
    assert_eq!(none_yet["last_status_at"], Value::Null, "{none_yet}");
    for i in 0..7 {
        a.post("/api/v1/featured_tags", &[("name", &format!("tag{i}x"))])
            .await
            .ok_json();
    }
    a.post("/api/v1/featured_tags", &[("name", "onetoomany")])
        .await
        .err_is(
            422,
            "Validation failed: You have already featured the maximum number of hashtags",
        );
    let id = str_field(&f, "id");
    assert_eq!(
        a.delete(&format!("/api/v1/featured_tags/{id}"))
            .await
            .ok_json(),
        json!({})
    );
    a.delete(&format!("/api/v1/featured_tags/{id}"))
        .await
        .err(404);
    b.delete(&format!(
        "/api/v1/featured_tags/{}",
        str_field(&list[1], "id")
    ))
    .await
    .err(404);
    // Suggestions: hashtags alice used and does not feature now.
    let s = a.get("/api/v1/featured_tags/suggestions").await.ok_json();
    assert_eq!(names(&s, "name"), vec!["Rust"]);
    assert_no_panics(&server);
});

lane_test!(finding_people, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let alicebot = user_token(&server, "alicebot").await;
    let bob = user_token(&server, "bob").await;
    let carol = user_token(&server, "carol").await;
    let dave = user_token(&server, "dave").await;
    let (a, b, c, d) = (
        alice.api(&api),
        bob.api(&api),
        carol.api(&api),
        dave.api(&api),
    );
    let ab = alicebot.api(&api);
    ab.patch(
        "/api/v1/accounts/update_credentials",
        &[("display_name", "Carol's helper")],
    )
    .await
    .ok_json();

    // Search: by the start of a username or display name, exact username first.
    let found = b.get("/api/v1/accounts/search?q=alice").await.ok_json();
    assert_eq!(usernames(&found), vec!["alice", "alicebot"]);
    let found = b.get("/api/v1/accounts/search?q=carol").await.ok_json();
    assert_eq!(usernames(&found), vec!["carol", "alicebot"]);
    // Accounts the searcher follows rank before others.
    follow(&b, &alicebot.id).await;
    let found = b
        .get("/api/v1/accounts/search?q=ali&limit=1")
        .await
        .ok_json();
    assert_eq!(usernames(&found), vec!["alicebot"]);
    let found = b
        .get("/api/v1/accounts/search?q=ali&limit=1&offset=1")
        .await
        .ok_json();
    assert_eq!(usernames(&found), vec!["alice"]);
    let found = b
        .get("/api/v1/accounts/search?q=alice&following=true")
        .await
        .ok_json();
    assert_eq!(usernames(&found), vec!["alicebot"]);
    let me = format!("@alice@{}", domain(&server));
    let found = b
        .get_q("/api/v1/accounts/search", &[("q", &me)])
        .await
        .ok_json();
    assert_eq!(usernames(&found), vec!["alice", "alicebot"]);
    let found = b
        .get_q(
            "/api/v1/accounts/search",
            &[("q", "alice@elsewhere.example")],
        )
        .await
        .ok_json();
    assert_eq!(found, json!([]));
    for q in ["%", "_", "a%"] {
        let found = b
            .get_q("/api/v1/accounts/search", &[("q", q)])
            .await
            .ok_json();
        assert_eq!(found, json!([]), "{q:?} is not a wildcard");
    }
    assert_eq!(b.get("/api/v1/accounts/search").await.ok_json(), json!([]));
    api.anon()
        .get("/api/v1/accounts/search?q=alice")
        .await
        .err(401);

    // Directory: discoverable accounts only.
    for who in [&a, &c, &d] {
        discoverable(who).await;
    }
    let dir = api
        .anon()
        .get("/api/v1/directory?order=new")
        .await
        .ok_json();
    assert_eq!(usernames(&dir), vec!["dave", "carol", "alice"]);
    post_status(&a, "alice was here").await;
    let dir = api
        .anon()
        .get("/api/v1/directory?local=true&limit=2")
        .await
        .ok_json();
    assert_eq!(
        usernames(&dir)[0],
        "alice",
        "most recently active first: {dir}"
    );
    assert_eq!(usernames(&dir).len(), 2);
    let dir = api
        .anon()
        .get("/api/v1/directory?order=new&offset=2")
        .await
        .ok_json();
    assert_eq!(usernames(&dir), vec!["alice"]);

    // Familiar followers: bob follows alicebot and carol; carol follows dave.
    follow(&b, &carol.id).await;
    follow(&c, &dave.id).await;
    follow(&ab, &dave.id).await;
    let fam = b
        .get(&format!(
            "/api/v1/accounts/familiar_followers?id[]={}&id[]={}&id[]=999999",
            dave.id, alice.id
        ))
        .await
        .ok_json();
    assert_eq!(fam.as_array().unwrap().len(), 2, "{fam}");
    assert_eq!(fam[0]["id"], dave.id.as_str());
    let mut fam_dave = usernames(&fam[0]["accounts"]);
    fam_dave.sort();
    assert_eq!(fam_dave, vec!["alicebot", "carol"]);
    assert_eq!(fam[1]["accounts"], json!([]));
    // A followee who hides their network is left out.
    c.patch(
        "/api/v1/accounts/update_credentials",
        &[("hide_collections", "true")],
    )
    .await
    .ok_json();
    let fam = b
        .get(&format!(
            "/api/v1/accounts/familiar_followers?id[]={}",
            dave.id
        ))
        .await
        .ok_json();
    assert_eq!(usernames(&fam[0]["accounts"]), vec!["alicebot"]);

    // Suggestions for bob: dave (followed by those he follows), then alice
    // (discoverable); never himself, his follows or dismissed accounts.
    let sugg = b.get("/api/v2/suggestions").await.ok_json();
    let accounts: Vec<String> = sugg
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["account"]["username"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(accounts, vec!["dave", "alice"], "{sugg}");
    assert_eq!(sugg[0]["sources"][0], "friends_of_friends", "{sugg}");
    assert_eq!(sugg[0]["source"], "past_interactions", "{sugg}");
    assert_eq!(sugg[1]["sources"], json!(["most_followed"]), "{sugg}");
    assert_eq!(
        b.delete(&format!("/api/v1/suggestions/{}", dave.id))
            .await
            .ok_json(),
        json!({})
    );
    let sugg = b.get("/api/v2/suggestions?limit=5").await.ok_json();
    assert_eq!(sugg.as_array().unwrap().len(), 1, "{sugg}");
    b.delete("/api/v1/suggestions/999999").await.err(404);

    // Preferences follow the posting defaults.
    let prefs = a.get("/api/v1/preferences").await.ok_json();
    assert_eq!(prefs["posting:default:visibility"], "public", "{prefs}");
    assert_eq!(prefs["reading:expand:spoilers"], false, "{prefs}");
    a.patch(
        "/api/v1/accounts/update_credentials",
        &[
            ("source[privacy]", "unlisted"),
            ("source[sensitive]", "true"),
        ],
    )
    .await
    .ok_json();
    let prefs = a.get("/api/v1/preferences").await.ok_json();
    assert_eq!(prefs["posting:default:visibility"], "unlisted", "{prefs}");
    assert_eq!(prefs["posting:default:sensitive"], true, "{prefs}");
    api.anon().get("/api/v1/preferences").await.err(401);
    assert_no_panics(&server);
});
