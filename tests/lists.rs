//! Lists: CRUD and validation, members, `accounts/:id/lists`, the list
//! timeline with its replies policies, exclusive lists and home, and what
//! unfollowing and blocking do to lists.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use ferrodon_testkit::{Lane, lane_test};
use reqwest::Method;
use serde_json::{Value, json};

async fn put(api: &Api, path: &str, form: &[(&str, &str)]) -> Resp {
    api.send(Method::PUT, path, Body::form(form), &[]).await
}

async fn create_list(api: &Api, title: &str) -> String {
    let v = api
        .post("/api/v1/lists", &[("title", title)])
        .await
        .ok_json();
    str_field(&v, "id")
}

async fn add(api: &Api, list: &str, accounts: &[&str]) -> Resp {
    let form: Vec<(&str, &str)> = accounts.iter().map(|a| ("account_ids[]", *a)).collect();
    api.post(&format!("/api/v1/lists/{list}/accounts"), &form)
        .await
}

async fn member_ids(api: &Api, list: &str) -> Vec<String> {
    ids(&api
        .get(&format!("/api/v1/lists/{list}/accounts?limit=0"))
        .await
        .ok_json())
}

async fn list_timeline(api: &Api, list: &str) -> Vec<String> {
    timeline_ids(api, &format!("/api/v1/timelines/list/{list}?limit=40")).await
}

fn titles(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|l| str_field(l, "title"))
        .collect()
}

lane_test!(list_crud_and_validation, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let (a, b) = (alice.api(&api), bob.api(&api));

    let created = a
        .post("/api/v1/lists", &[("title", "Friends")])
        .await
        .ok_json();
    assert_keys(
        &created,
        &["id", "title", "replies_policy", "exclusive"],
        "List",
    );
    assert_id(&created["id"], "list id");
    assert_eq!(created["title"], "Friends");
    assert_eq!(created["replies_policy"], "list");
    assert_eq!(created["exclusive"], false);
    let friends = str_field(&created, "id");

    let work = a
        .post_json(
            "/api/v1/lists",
            json!({"title": "Work", "replies_policy": "followed", "exclusive": true}),
        )
        .await
        .ok_json();
    assert_eq!(work["replies_policy"], "followed");
    assert_eq!(work["exclusive"], true);
    let work_id = str_field(&work, "id");

    // Validation: Mastodon's 422 shapes.
    for bad in [vec![("title", "")], vec![("title", "   ")], vec![]] {
        a.post("/api/v1/lists", &bad)
            .await
            .err_is(422, "Validation failed: Title can't be blank");
    }
    let long = "x".repeat(257);
    a.post("/api/v1/lists", &[("title", &long)]).await.err_is(
        422,
        "Validation failed: Title is too long (maximum is 256 characters)",
    );
    a.post(
        "/api/v1/lists",
        &[("title", "Odd"), ("replies_policy", "everyone")],
    )
    .await
    .err_is(
        422,
        "Validation failed: Replies policy is not included in the list",
    );
    a.post(
        "/api/v1/lists",
        &[("title", "Odd"), ("exclusive", "perhaps")],
    )
    .await
    .client_error();

    let all = a.get("/api/v1/lists").await.ok_json();
    assert_eq!(titles(&all), vec!["Friends", "Work"]);
    let shown = a.get(&format!("/api/v1/lists/{friends}")).await.ok_json();
    assert_eq!(shown, created);

    // Update: only what is sent changes.
    let renamed = put(
        &a,
        &format!("/api/v1/lists/{friends}"),
        &[("title", "Close friends"), ("replies_policy", "none")],
    )
    .await
    .ok_json();
    assert_eq!(renamed["title"], "Close friends");
    assert_eq!(renamed["replies_policy"], "none");
    assert_eq!(renamed["exclusive"], false);
    let patched = a
        .patch(
            &format!("/api/v1/lists/{friends}"),
            &[("exclusive", "true")],
        )
        .await
        .ok_json();
    assert_eq!(patched["title"], "Close friends");
    assert_eq!(patched["exclusive"], true);
    put(&a, &format!("/api/v1/lists/{friends}"), &[("title", "")])
        .await
        .err_is(422, "Validation failed: Title can't be blank");
    put(
        &a,
        &format!("/api/v1/lists/{friends}"),
        &[("replies_policy", "all")],
    )
    .await
    .err(422);
    assert_eq!(
        a.get(&format!("/api/v1/lists/{friends}")).await.ok_json()["title"],
        "Close friends"
    );

    // Unknown and other people's lists are not found.
    for path in ["/api/v1/lists/999999", "/api/v1/lists/nope"] {
        a.get(path).await.err_is(404, "Record not found");
    }
    put(&a, "/api/v1/lists/999999", &[("title", "x")])
        .await
        .err(404);
    assert!(b.get("/api/v1/lists").await.ok_json() == json!([]));
    b.get(&format!("/api/v1/lists/{friends}"))
        .await
        .err_is(404, "Record not found");
    put(
        &b,
        &format!("/api/v1/lists/{friends}"),
        &[("title", "mine")],
    )
    .await
    .err(404);
    b.delete(&format!("/api/v1/lists/{friends}")).await.err(404);
    b.get(&format!("/api/v1/timelines/list/{friends}"))
        .await
        .err(404);
    assert_eq!(
        a.get(&format!("/api/v1/lists/{friends}")).await.ok_json()["title"],
        "Close friends"
    );

    // Scopes: `read`/`write` cover `read:lists`/`write:lists`; others do not.
    let read_only = api.with_token(&token_for(&api, &alice, "read").await);
    assert_eq!(
        titles(&read_only.get("/api/v1/lists").await.ok_json()),
        vec!["Close friends", "Work"]
    );
    read_only
        .post("/api/v1/lists", &[("title", "No")])
        .await
        .err_is(403, "This action is outside the authorized scopes");
    let write_only = api.with_token(&token_for(&api, &alice, "write").await);
    write_only
        .get("/api/v1/lists")
        .await
        .err_is(403, "This action is outside the authorized scopes");
    let accounts_only = api.with_token(&token_for(&api, &alice, "read:accounts").await);
    accounts_only.get("/api/v1/lists").await.err(403);
    accounts_only
        .get(&format!("/api/v1/timelines/list/{friends}"))
        .await
        .err(403);
    api.get("/api/v1/lists").await.err(401);

    // Delete.
    assert_eq!(
        a.delete(&format!("/api/v1/lists/{work_id}"))
            .await
            .ok_json(),
        json!({})
    );
    a.get(&format!("/api/v1/lists/{work_id}")).await.err(404);
    a.delete(&format!("/api/v1/lists/{work_id}")).await.err(404);

    // At most 50 lists per account.
    for n in 1..50 {
        create_list(&a, &format!("list {n}")).await;
    }
    assert_eq!(
        a.get("/api/v1/lists")
            .await
            .ok_json()
            .as_array()
            .unwrap()
            .len(),
        50
    );
    a.post("/api/v1/lists", &[("title", "one too many")])
        .await
        .err_is(
            422,
            "Validation failed: You have reached the maximum number of lists",
        );
    // Others are not affected by alice's count.
    create_list(&b, "bob's").await;
    assert_no_panics(&server);
});

lane_test!(list_members, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let carol = user_token(&server, "carol").await;
    let dave = user_token(&server, "dave").await;
    let erin = user_token(&server, "erin").await;
    let (a, b) = (alice.api(&api), bob.api(&api));
    for u in [&bob, &carol, &erin] {
        follow(&a, &u.id).await;
    }
    let list = create_list(&a, "Friends").await;
    let other = create_list(&a, "Other").await;

    // Form and JSON bodies.
    assert_eq!(add(&a, &list, &[&bob.id]).await.ok_json(), json!({}));
    a.post_json(
        &format!("/api/v1/lists/{list}/accounts"),
        json!({"account_ids": [carol.id]}),
    )
    .await
    .ok_json();
    add(&a, &other, &[&bob.id]).await.ok_json();

    // Rules: followed only, once, known accounts; all or nothing.
    add(&a, &list, &[&dave.id])
        .await
        .err_is(422, "Validation failed: Account must be a followed account");
    add(&a, &list, &[&bob.id])
        .await
        .err_is(422, "Validation failed: Account is already on the list");
    add(&a, &list, &["999999"]).await.err(404);
    add(&a, &list, &["someone"]).await.err(404);
    add(&a, &list, &[&erin.id, &dave.id]).await.err(422);
    add(&a, &list, &[&alice.id]).await.err(422);
    add(&a, "999999", &[&bob.id]).await.err(404);
    assert_eq!(add(&a, &list, &[]).await.ok_json(), json!({}));

    // Members: newest account first; every Account key.
    let members = a
        .get(&format!("/api/v1/lists/{list}/accounts"))
        .await
        .ok_json();
    assert_eq!(ids(&members), vec![carol.id.clone(), bob.id.clone()]);
    for m in members.as_array().unwrap() {
        assert_keys(m, ACCOUNT_KEYS, "list member");
    }

    // Pages with Link headers; limit=0 is everything without one.
    let first = a
        .get(&format!("/api/v1/lists/{list}/accounts?limit=1"))
        .await;
    assert_eq!(ids(&first.ok_json()), vec![carol.id.clone()]);
    let next = link(&first, "next").expect("next link");
    assert_eq!(
        query_param(&next, "max_id").as_deref(),
        Some(carol.id.as_str())
    );
    assert_eq!(query_param(&next, "limit").as_deref(), Some("1"));
    let prev = link(&first, "prev").expect("prev link");
    assert_eq!(
        query_param(&prev, "since_id").as_deref(),
        Some(carol.id.as_str())
    );
    let second = a.get(&path_and_query(&next)).await;
    assert_eq!(ids(&second.ok_json()), vec![bob.id.clone()]);
    let third = a
        .get(&path_and_query(&link(&second, "next").expect("next link")))
        .await;
    assert!(third.ok_json().as_array().unwrap().is_empty());
    assert!(link(&third, "next").is_none());
    let newer = a
        .get(&format!(
            "/api/v1/lists/{list}/accounts?since_id={}",
            bob.id
        ))
        .await
        .ok_json();
    assert_eq!(ids(&newer), vec![carol.id.clone()]);
    let everything = a
        .get(&format!("/api/v1/lists/{list}/accounts?limit=0"))
        .await;
    assert_eq!(ids(&everything.ok_json()).len(), 2);
    assert!(everything.header("link").is_none());

    // accounts/:id/lists: the viewer's lists holding that account.
    let holding = a
        .get(&format!("/api/v1/accounts/{}/lists", bob.id))
        .await
        .ok_json();
    assert_eq!(titles(&holding), vec!["Friends", "Other"]);
    assert_keys(
        &holding[0],
        &["id", "title", "replies_policy", "exclusive"],
        "List",
    );
    assert_eq!(
        titles(
            &a.get(&format!("/api/v1/accounts/{}/lists", carol.id))
                .await
                .ok_json()
        ),
        vec!["Friends"]
    );
    assert_eq!(
        a.get(&format!("/api/v1/accounts/{}/lists", dave.id))
            .await
            .ok_json(),
        json!([])
    );
    a.get("/api/v1/accounts/999999/lists").await.err(404);
    // Bob sees only his own lists (none), never alice's.
    assert_eq!(
        b.get(&format!("/api/v1/accounts/{}/lists", bob.id))
            .await
            .ok_json(),
        json!([])
    );

    // Other users cannot read or change alice's members.
    b.get(&format!("/api/v1/lists/{list}/accounts"))
        .await
        .err_is(404, "Record not found");
    add(&b, &list, &[&alice.id]).await.err(404);
    b.send(
        Method::DELETE,
        &format!("/api/v1/lists/{list}/accounts?account_ids[]={}", bob.id),
        Body::None,
        &[],
    )
    .await
    .err(404);
    assert_eq!(member_ids(&a, &list).await.len(), 2);

    // Removing: by query string, then by JSON body; non-members are ignored.
    a.send(
        Method::DELETE,
        &format!(
            "/api/v1/lists/{other}/accounts?account_ids[]={}&account_ids[]={}",
            bob.id, dave.id
        ),
        Body::None,
        &[],
    )
    .await
    .ok_json();
    assert!(member_ids(&a, &other).await.is_empty());
    add(&a, &other, &[&bob.id, &carol.id]).await.ok_json();
    a.send(
        Method::DELETE,
        &format!("/api/v1/lists/{other}/accounts"),
        Body::Json(json!({"account_ids": [carol.id]})),
        &[],
    )
    .await
    .ok_json();
    assert_eq!(member_ids(&a, &other).await, vec![bob.id.clone()]);

    // Unfollowing removes the account from every list of the follower.
    unfollow(&a, &bob.id).await;
    assert_eq!(member_ids(&a, &list).await, vec![carol.id.clone()]);
    assert!(member_ids(&a, &other).await.is_empty());
    assert_eq!(
        a.get(&format!("/api/v1/accounts/{}/lists", bob.id))
            .await
            .ok_json(),
        json!([])
    );
    // Following again does not put it back.
    follow(&a, &bob.id).await;
    assert_eq!(member_ids(&a, &list).await, vec![carol.id.clone()]);

    // Blocking (either way) ends the follow, and the membership with it.
    add(&a, &list, &[&erin.id, &bob.id]).await.ok_json();
    a.post(&format!("/api/v1/accounts/{}/block", erin.id), &[])
        .await
        .ok_json();
    b.post(&format!("/api/v1/accounts/{}/block", alice.id), &[])
        .await
        .ok_json();
    assert_eq!(member_ids(&a, &list).await, vec![carol.id.clone()]);

    // Deleting a list deletes its memberships.
    a.delete(&format!("/api/v1/lists/{list}")).await.ok_json();
    assert_eq!(
        a.get(&format!("/api/v1/accounts/{}/lists", carol.id))
            .await
            .ok_json(),
        json!([])
    );
    a.get(&format!("/api/v1/lists/{list}/accounts"))
        .await
        .err(404);
    assert_no_panics(&server);
});

lane_test!(list_timeline_and_replies_policy, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let carol = user_token(&server, "carol").await;
    let dave = user_token(&server, "dave").await;
    let erin = user_token(&server, "erin").await;
    let (a, b, c, d, e) = (
        alice.api(&api),
        bob.api(&api),
        carol.api(&api),
        dave.api(&api),
        erin.api(&api),
    );
    for u in [&bob, &carol, &dave] {
        follow(&a, &u.id).await;
    }
    let list = create_list(&a, "Friends").await;
    add(&a, &list, &[&bob.id, &carol.id]).await.ok_json();

    let id = |v: Value| str_field(&v, "id");
    let alices = id(post_status(&a, "alice's own").await);
    let carols = id(post_status(&c, "carol's").await);
    let daves = id(post_status(&d, "dave is followed but not listed").await);
    let erins = id(post_status(&e, "erin is a stranger").await);
    let plain = id(post_status(&b, "bob plain").await);
    let private =
        id(post_status_with(&b, &[("status", "bob private"), ("visibility", "private")]).await);
    let direct =
        id(post_status_with(&b, &[("status", "@alice secret"), ("visibility", "direct")]).await);
    let reply = |to: String, text: &'static str| {
        let b = b.clone();
        async move { id(post_status_with(&b, &[("status", text), ("in_reply_to_id", &to)]).await) }
    };
    let self_reply = reply(plain.clone(), "bob threads on").await;
    let to_alice = reply(alices.clone(), "bob answers alice").await;
    let to_carol = reply(carols.clone(), "bob answers carol").await;
    let to_dave = reply(daves.clone(), "bob answers dave").await;
    let to_erin = reply(erins.clone(), "bob answers erin").await;
    let boost = c
        .post(&format!("/api/v1/statuses/{erins}/reblog"), &[])
        .await
        .ok_json();
    let boost = id(boost);

    let check = |got: &[String], yes: &[&String], no: &[&String], what: &str| {
        for s in yes {
            assert!(got.contains(s), "{what}: {s} missing from {got:?}");
        }
        for s in no {
            assert!(!got.contains(s), "{what}: {s} must not be in {got:?}");
        }
    };
    let always = [&plain, &private, &self_reply, &to_alice, &carols, &boost];
    let never = [&direct, &alices, &daves, &erins, &to_erin];

    // 'list' (the default): replies to members and to the owner.
    let got = list_timeline(&a, &list).await;
    check(&got, &always, &never, "list policy");
    check(&got, &[&to_carol], &[&to_dave], "list policy");
    let full = a
        .get(&format!("/api/v1/timelines/list/{list}"))
        .await
        .ok_json();
    for s in full.as_array().unwrap() {
        assert_keys(s, STATUS_KEYS, "list timeline status");
        assert_keys(s, STATUS_VIEWER_KEYS, "list timeline status");
    }
    let boosted = full
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == boost.as_str())
        .unwrap();
    assert_eq!(boosted["reblog"]["id"], erins.as_str());

    // 'followed': replies to anyone alice follows.
    put(
        &a,
        &format!("/api/v1/lists/{list}"),
        &[("replies_policy", "followed")],
    )
    .await
    .ok_json();
    let got = list_timeline(&a, &list).await;
    check(&got, &always, &never, "followed policy");
    check(&got, &[&to_carol, &to_dave], &[], "followed policy");

    // 'none': no replies to others (threads and replies to alice stay, as Mastodon).
    put(
        &a,
        &format!("/api/v1/lists/{list}"),
        &[("replies_policy", "none")],
    )
    .await
    .ok_json();
    let got = list_timeline(&a, &list).await;
    check(&got, &always, &never, "none policy");
    check(&got, &[], &[&to_carol, &to_dave], "none policy");
    // Newest first.
    let mut sorted = got.clone();
    sorted.sort_by_key(|s| std::cmp::Reverse(num(s)));
    assert_eq!(got, sorted);

    // Paging like the home timeline.
    let first = a
        .get(&format!("/api/v1/timelines/list/{list}?limit=2"))
        .await;
    assert_eq!(ids(&first.ok_json()), got[..2].to_vec());
    let next = link(&first, "next").expect("next link");
    assert_eq!(
        query_param(&next, "max_id").as_deref(),
        Some(got[1].as_str())
    );
    let prev = link(&first, "prev").expect("prev link");
    assert_eq!(
        query_param(&prev, "min_id").as_deref(),
        Some(got[0].as_str())
    );
    assert_eq!(
        timeline_ids(&a, &path_and_query(&next)).await,
        got[2..4].to_vec()
    );
    assert_eq!(
        timeline_ids(
            &a,
            &format!("/api/v1/timelines/list/{list}?min_id={}&limit=2", got[3])
        )
        .await,
        got[1..3].to_vec()
    );
    assert_eq!(
        timeline_ids(
            &a,
            &format!("/api/v1/timelines/list/{list}?since_id={}&limit=2", got[3])
        )
        .await,
        got[..2].to_vec()
    );

    // A muted member's statuses leave the list timeline.
    a.post(&format!("/api/v1/accounts/{}/mute", carol.id), &[])
        .await
        .ok_json();
    let got = list_timeline(&a, &list).await;
    check(&got, &[&plain], &[&carols, &boost], "carol muted");

    // Removed from the list: gone from it.
    a.send(
        Method::DELETE,
        &format!("/api/v1/lists/{list}/accounts?account_ids[]={}", bob.id),
        Body::None,
        &[],
    )
    .await
    .ok_json();
    assert!(list_timeline(&a, &list).await.is_empty());

    // Not someone else's, not an unknown one.
    b.get(&format!("/api/v1/timelines/list/{list}"))
        .await
        .err_is(404, "Record not found");
    a.get("/api/v1/timelines/list/999999").await.err(404);
    assert_no_panics(&server);
});

lane_test!(exclusive_lists_stay_out_of_home, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let admin = jobs_admin(&server, "boss").await;
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let carol = user_token(&server, "carol").await;
    let (a, b, c) = (alice.api(&api), bob.api(&api), carol.api(&api));
    follow(&a, &bob.id).await;
    follow(&a, &carol.id).await;

    // Before any list: bob's post reaches alice's home.
    let before = str_field(&post_status(&b, "bob before").await, "id");
    wait_home(&a, "bob's first post at home", |ids| ids.contains(&before)).await;

    let list = a
        .post_json(
            "/api/v1/lists",
            json!({"title": "Bob only", "exclusive": true}),
        )
        .await
        .ok_json();
    let list = str_field(&list, "id");
    add(&a, &list, &[&bob.id]).await.ok_json();

    // What the feed already holds is filtered when read; new posts are not delivered.
    let home = timeline_ids(&a, "/api/v1/timelines/home?limit=40").await;
    assert!(!home.contains(&before), "{home:?}");
    let during = str_field(&post_status(&b, "bob during").await, "id");
    let boost = str_field(
        &b.post(&format!("/api/v1/statuses/{before}/reblog"), &[])
            .await
            .ok_json(),
        "id",
    );
    let carols = str_field(&post_status(&c, "carol meanwhile").await, "id");
    wait_home(&a, "carol's post at home", |ids| ids.contains(&carols)).await;
    jobs_idle(&admin).await;
    let home = timeline_ids(&a, "/api/v1/timelines/home?limit=40").await;
    for s in [&before, &during, &boost] {
        assert!(!home.contains(s), "{s} must stay out of home: {home:?}");
    }
    // Paging past the feed (the database lane of home) leaves them out too.
    let older = timeline_ids(
        &a,
        &format!("/api/v1/timelines/home?max_id={carols}&limit=40"),
    )
    .await;
    assert!(!older.contains(&before), "{older:?}");
    // The list timeline has them.
    let listed = list_timeline(&a, &list).await;
    for s in [&before, &during, &boost] {
        assert!(listed.contains(s), "{s} missing from the list: {listed:?}");
    }
    // Only alice's home is affected: carol follows bob and sees him.
    follow(&c, &bob.id).await;
    let late = str_field(&post_status(&b, "bob for carol").await, "id");
    wait_home(&c, "bob's post in carol's home", |ids| ids.contains(&late)).await;

    // A list that is not exclusive hides nothing: bob's statuses come back.
    let normal = create_list(&a, "Everyone").await;
    add(&a, &normal, &[&carol.id]).await.ok_json();
    put(
        &a,
        &format!("/api/v1/lists/{list}"),
        &[("exclusive", "false")],
    )
    .await
    .ok_json();
    let home = wait_home(&a, "bob's posts back at home", |ids| {
        ids.contains(&during) && ids.contains(&before) && ids.contains(&late)
    })
    .await;
    assert!(home.contains(&carols), "{home:?}");

    // Exclusive again, then bob leaves the list: he returns to home.
    a.patch(&format!("/api/v1/lists/{list}"), &[("exclusive", "true")])
        .await
        .ok_json();
    let home = timeline_ids(&a, "/api/v1/timelines/home?limit=40").await;
    assert!(!home.contains(&during), "{home:?}");
    a.send(
        Method::DELETE,
        &format!("/api/v1/lists/{list}/accounts"),
        Body::form(&[("account_ids[]", &bob.id)]),
        &[],
    )
    .await
    .ok_json();
    let after = str_field(&post_status(&b, "bob after").await, "id");
    wait_home(&a, "bob back at home", |ids| {
        ids.contains(&after) && ids.contains(&during)
    })
    .await;
    assert_no_panics(&server);
});

lane_test!(
    home_paging_steps_over_hidden_entries,
    |lane: Lane| async move {
        // An entry the feed holds but the reader does not see (here: an
        // exclusive list member's post) must not end paging early.
        let server = spawn(lane).await;
        let api = Api::of(&server);
        let alice = user_token(&server, "alice").await;
        let bob = user_token(&server, "bob").await;
        let carol = user_token(&server, "carol").await;
        let (a, b, c) = (alice.api(&api), bob.api(&api), carol.api(&api));
        follow(&a, &bob.id).await;
        follow(&a, &carol.id).await;
        let first = str_field(&post_status(&c, "carol first").await, "id");
        wait_home(&a, "carol's first post", |ids| ids.contains(&first)).await;
        let middle = str_field(&post_status(&b, "bob in the middle").await, "id");
        wait_home(&a, "bob's post", |ids| ids.contains(&middle)).await;
        let last = str_field(&post_status(&c, "carol last").await, "id");
        wait_home(&a, "carol's last post", |ids| ids.contains(&last)).await;
        let list = a
            .post_json("/api/v1/lists", json!({"title": "Bob", "exclusive": true}))
            .await
            .ok_json();
        add(&a, &str_field(&list, "id"), &[&bob.id]).await.ok_json();

        let mut walked = Vec::new();
        let mut pages = Vec::new();
        let mut path = "/api/v1/timelines/home?limit=1".to_owned();
        loop {
            let resp = a.get(&path).await;
            let page = ids(&resp.ok_json());
            assert!(page.len() <= 1, "{page:?}");
            pages.push(page.clone());
            walked.extend(page);
            let Some(next) = link(&resp, "next") else {
                break;
            };
            assert!(pages.len() < 10, "paging does not end: {pages:?}");
            path = path_and_query(&next);
        }
        assert_eq!(walked, vec![last, first], "pages: {pages:?}");
        assert!(
            pages.iter().any(Vec::is_empty),
            "the hidden entry gave an empty page that still links on: {pages:?}"
        );
        assert_no_panics(&server);
    }
);
