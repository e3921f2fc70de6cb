//! Quote posts (Mastodon 4.5): quoting, who may quote (policies), how a
//! quote reads for each viewer, the list of a status's quotes, revoking,
//! deleted quoted statuses, edits (`quoted_update`) and scheduled quotes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use ferrodon_testkit::{Lane, lane_test};
use reqwest::Method;
use serde_json::{Value, json};

async fn put(api: &Api, path: &str, form: &[(&str, &str)]) -> Resp {
    api.send(Method::PUT, path, Body::form(form), &[]).await
}

async fn quote(api: &Api, id: &str, fields: &[(&str, &str)]) -> Resp {
    let mut form = vec![("quoted_status_id", id)];
    form.extend_from_slice(fields);
    api.post("/api/v1/statuses", &form).await
}

async fn status(api: &Api, id: &str) -> Value {
    api.get(&format!("/api/v1/statuses/{id}")).await.ok_json()
}

async fn notifications_of(api: &Api, kind: &str) -> Vec<Value> {
    api.get(&format!("/api/v1/notifications?types[]={kind}"))
        .await
        .ok_json()
        .as_array()
        .unwrap()
        .clone()
}

async fn wait_notification(api: &Api, kind: &str, status_id: &str) -> Value {
    wait_until(
        &format!("a {kind} notification about {status_id}"),
        || async {
            notifications_of(api, kind)
                .await
                .into_iter()
                .find(|n| n["status"]["id"] == status_id)
        },
    )
    .await
}

const NOT_FOUND: &str = "The post you are trying to quote does not appear to exist.";

lane_test!(quoting_and_how_quotes_read, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let carol = user_token(&server, "carol").await;
    let (a, b, c) = (alice.api(&api), bob.api(&api), carol.api(&api));

    let original = post_status(&a, "Something worth quoting").await;
    let oid = str_field(&original, "id");
    // A new status: quotable by anyone (the default policy), quoting nothing.
    assert_eq!(original["quote"], Value::Null);
    assert_eq!(original["quotes_count"], 0);
    assert_eq!(
        original["quote_approval"],
        json!({"automatic": ["public"], "manual": [], "current_user": "automatic"})
    );
    assert_eq!(
        status(&b, &oid).await["quote_approval"]["current_user"],
        "automatic"
    );
    assert_eq!(
        status(&api, &oid).await["quote_approval"]["current_user"],
        "denied",
        "an anonymous reader may not quote"
    );

    // Bob quotes it: accepted at once, the quoted status in full.
    let q = quote(&b, &oid, &[("status", "So true")]).await.ok_json();
    let qid = str_field(&q, "id");
    assert_eq!(q["quote"]["state"], "accepted", "{q}");
    let quoted = &q["quote"]["quoted_status"];
    assert_eq!(quoted["id"], oid.as_str());
    assert_eq!(quoted["account"]["id"], alice.id.as_str());
    assert_eq!(quoted["quote"], Value::Null);
    assert_eq!(quoted["quotes_count"], 1);
    assert_keys(
        quoted,
        &["favourited", "quote_approval", "filtered"],
        "quoted",
    );
    // The text did not link the quoted status: Mastodon's RE: fallback comes first.
    let content = q["content"].as_str().unwrap();
    assert!(
        content.starts_with("<p class=\"quote-inline\">RE: <a href=\""),
        "{content}"
    );
    assert!(content.contains(&format!("/{oid}\"")), "{content}");
    assert!(content.ends_with("<p>So true</p>"), "{content}");
    // The quoted author is not mentioned in the entity.
    assert_eq!(q["mentions"], json!([]));
    assert_eq!(status(&a, &oid).await["quotes_count"], 1);
    // Anyone reads the quote the same way.
    let anon = status(&api, &qid).await;
    assert_eq!(anon["quote"]["state"], "accepted");
    assert_eq!(anon["quote"]["quoted_status"]["id"], oid.as_str());

    // Alice is told, v1 and grouped v2.
    let n = wait_notification(&a, "quote", &qid).await;
    assert_eq!(n["account"]["id"], bob.id.as_str());
    assert_eq!(n["status"]["quote"]["quoted_status"]["id"], oid.as_str());
    let grouped = a.get("/api/v2/notifications?types[]=quote").await.ok_json();
    let group = &grouped["notification_groups"][0];
    assert_eq!(group["type"], "quote", "{grouped}");
    assert_eq!(group["status_id"], qid.as_str());
    assert!(
        group["group_key"]
            .as_str()
            .unwrap()
            .starts_with("ungrouped-")
    );
    assert!(ids(&grouped["statuses"]).contains(&qid));

    // A text that links the quoted status needs no fallback; no text at all is fine.
    let url = str_field(&original, "url");
    let linked = quote(&c, &oid, &[("status", &format!("see {url}"))])
        .await
        .ok_json();
    assert!(
        !linked["content"].as_str().unwrap().contains("quote-inline"),
        "{linked}"
    );
    let bare = quote(&c, &oid, &[]).await.ok_json();
    assert_eq!(bare["quote"]["state"], "accepted");
    assert_eq!(status(&a, &oid).await["quotes_count"], 3);

    // Quoting a boost quotes the boosted status.
    let boost = b
        .post(&format!("/api/v1/statuses/{oid}/reblog"), &[])
        .await
        .ok_json();
    let via_boost = quote(&c, &str_field(&boost, "id"), &[("status", "via a boost")])
        .await
        .ok_json();
    assert_eq!(via_boost["quote"]["quoted_status"]["id"], oid.as_str());

    // A quote of a quote: the inner one is shallow (an id only).
    let nested = quote(&c, &qid, &[("status", "quote-ception")])
        .await
        .ok_json();
    let inner = &nested["quote"]["quoted_status"];
    assert_eq!(inner["id"], qid.as_str());
    assert_eq!(
        inner["quote"],
        json!({"state": "accepted", "quoted_status_id": oid})
    );
    // Boosting a quote shows the quote inside the boost.
    let boosted_quote = a
        .post(&format!("/api/v1/statuses/{qid}/reblog"), &[])
        .await
        .ok_json();
    assert_eq!(boosted_quote["quote"], Value::Null);
    assert_eq!(
        boosted_quote["reblog"]["quote"]["quoted_status"]["id"],
        oid.as_str()
    );
    assert_eq!(
        boosted_quote["quote_approval"]["current_user"], "denied",
        "a boost itself cannot be quoted"
    );

    // Timelines carry quotes too (one batch per page).
    let listed = a
        .get(&format!("/api/v1/accounts/{}/statuses", carol.id))
        .await
        .ok_json();
    let with_quotes = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["quote"]["state"] == "accepted")
        .count();
    assert_eq!(with_quotes, 4, "{listed}");

    // Unknown and malformed ids: the quote's 404.
    quote(&b, "999999999", &[("status", "x")])
        .await
        .err_is(404, NOT_FOUND);
    quote(&b, "abc", &[("status", "x")])
        .await
        .err_is(404, NOT_FOUND);
    // An unknown policy name.
    quote(
        &b,
        &oid,
        &[("status", "x"), ("quote_approval_policy", "everyone")],
    )
    .await
    .err_is(422, "Record invalid");
    assert_no_panics(&server);
});

lane_test!(who_may_quote_what, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let carol = user_token(&server, "carol").await;
    let (a, b, c) = (alice.api(&api), bob.api(&api), carol.api(&api));
    follow(&b, &alice.id).await;

    // Followers-only: bob sees it but may not quote it; alice may, and her
    // quote stays among followers.
    let private = post_status_with(
        &a,
        &[("status", "for followers"), ("visibility", "private")],
    )
    .await;
    let pid = str_field(&private, "id");
    assert_eq!(
        private["quote_approval"],
        json!({"automatic": [], "manual": [], "current_user": "automatic"}),
        "followers-only statuses are quotable by nobody but the author"
    );
    assert_eq!(
        status(&b, &pid).await["quote_approval"]["current_user"],
        "denied"
    );
    quote(&b, &pid, &[("status", "leak")])
        .await
        .err_is(404, NOT_FOUND);
    let own = quote(
        &a,
        &pid,
        &[("status", "me again"), ("visibility", "public")],
    )
    .await
    .ok_json();
    assert_eq!(own["visibility"], "private", "{own}");
    assert_eq!(own["quote"]["state"], "accepted");
    // Asking for a public policy on a followers-only post gives nobody.
    let p2 = post_status_with(
        &a,
        &[
            ("status", "still private"),
            ("visibility", "private"),
            ("quote_approval_policy", "public"),
        ],
    )
    .await;
    assert_eq!(p2["quote_approval"]["automatic"], json!([]));

    // Direct statuses cannot be quoted, not even by their author.
    let dm = post_status_with(&a, &[("status", "@bob psst"), ("visibility", "direct")]).await;
    let dmid = str_field(&dm, "id");
    quote(&a, &dmid, &[("status", "x")])
        .await
        .err_is(404, NOT_FOUND);
    quote(&b, &dmid, &[("status", "x")])
        .await
        .err_is(404, NOT_FOUND);

    // A direct quote must mention whom it quotes.
    let public = post_status(&a, "public words").await;
    let pub_id = str_field(&public, "id");
    quote(&b, &pub_id, &[("status", "look"), ("visibility", "direct")])
        .await
        .err_is(
            422,
            "Validation failed: Cannot quote a non-mentioned user in a Private Mention post.",
        );
    let dq = quote(
        &b,
        &pub_id,
        &[("status", "look @alice"), ("visibility", "direct")],
    )
    .await
    .ok_json();
    assert_eq!(dq["quote"]["state"], "accepted");

    // A followers-only quote by someone alice does not follow: alice (the
    // quoted author) still sees it, others do not.
    let hidden = quote(
        &c,
        &pub_id,
        &[("status", "between us"), ("visibility", "private")],
    )
    .await
    .ok_json();
    let hid = str_field(&hidden, "id");
    let seen = status(&a, &hid).await;
    assert_eq!(seen["mentions"], json!([]), "the access mention is silent");
    b.get(&format!("/api/v1/statuses/{hid}")).await.err(404);

    // Policy `nobody`: only the author.
    let mine = post_status_with(
        &a,
        &[("status", "mine"), ("quote_approval_policy", "nobody")],
    )
    .await;
    let mine_id = str_field(&mine, "id");
    assert_eq!(
        mine["quote_approval"],
        json!({"automatic": [], "manual": [], "current_user": "automatic"})
    );
    assert_eq!(
        status(&b, &mine_id).await["quote_approval"]["current_user"],
        "denied"
    );
    quote(&b, &mine_id, &[("status", "x")])
        .await
        .err_is(404, NOT_FOUND);
    quote(&a, &mine_id, &[("status", "self")]).await.ok_json();

    // Policy `followers`: bob follows alice, carol does not.
    let fol = post_status_with(
        &a,
        &[
            ("status", "followers may"),
            ("quote_approval_policy", "followers"),
        ],
    )
    .await;
    let fol_id = str_field(&fol, "id");
    assert_eq!(fol["quote_approval"]["automatic"], json!(["followers"]));
    assert_eq!(
        status(&b, &fol_id).await["quote_approval"]["current_user"],
        "automatic"
    );
    assert_eq!(
        status(&c, &fol_id).await["quote_approval"]["current_user"],
        "denied"
    );
    quote(&b, &fol_id, &[("status", "ok")]).await.ok_json();
    quote(&c, &fol_id, &[("status", "no")])
        .await
        .err_is(404, NOT_FOUND);

    // The default comes from the user's preference.
    let me = a
        .patch(
            "/api/v1/accounts/update_credentials",
            &[("source[quote_policy]", "followers")],
        )
        .await
        .ok_json();
    assert_eq!(me["source"]["quote_policy"], "followers");
    assert_eq!(
        a.get("/api/v1/preferences").await.ok_json()["posting:default:quote_policy"],
        "followers"
    );
    a.patch(
        "/api/v1/accounts/update_credentials",
        &[("source[quote_policy]", "anyone")],
    )
    .await
    .err(422);
    let defaulted = post_status(&a, "default policy").await;
    assert_eq!(
        defaulted["quote_approval"]["automatic"],
        json!(["followers"])
    );

    // PUT /interaction_policy changes it without an edit.
    let opened = put(
        &a,
        &format!("/api/v1/statuses/{mine_id}/interaction_policy"),
        &[("quote_approval_policy", "public")],
    )
    .await
    .ok_json();
    assert_eq!(opened["quote_approval"]["automatic"], json!(["public"]));
    assert_eq!(opened["edited_at"], Value::Null);
    let later = quote(&c, &mine_id, &[("status", "now I may")])
        .await
        .ok_json();
    // Closing it again leaves past quotes as they are.
    put(
        &a,
        &format!("/api/v1/statuses/{mine_id}/interaction_policy"),
        &[("quote_approval_policy", "nobody")],
    )
    .await
    .ok_json();
    assert_eq!(
        status(&c, &str_field(&later, "id")).await["quote"]["state"],
        "accepted"
    );
    quote(&c, &mine_id, &[("status", "not any more")])
        .await
        .err(404);
    // No policy given: the default (followers); on a followers-only status, nobody.
    let reset = put(
        &a,
        &format!("/api/v1/statuses/{mine_id}/interaction_policy"),
        &[],
    )
    .await
    .ok_json();
    assert_eq!(reset["quote_approval"]["automatic"], json!(["followers"]));
    let still = put(
        &a,
        &format!("/api/v1/statuses/{pid}/interaction_policy"),
        &[("quote_approval_policy", "public")],
    )
    .await
    .ok_json();
    assert_eq!(still["quote_approval"]["automatic"], json!([]));
    // Someone else's status, an unknown one, an unknown policy.
    put(
        &b,
        &format!("/api/v1/statuses/{mine_id}/interaction_policy"),
        &[("quote_approval_policy", "public")],
    )
    .await
    .err_is(403, "This action is not allowed");
    put(
        &a,
        "/api/v1/statuses/999999999/interaction_policy",
        &[("quote_approval_policy", "public")],
    )
    .await
    .err(404);
    put(
        &a,
        &format!("/api/v1/statuses/{mine_id}/interaction_policy"),
        &[("quote_approval_policy", "friends")],
    )
    .await
    .err_is(422, "Record invalid");
    assert_no_panics(&server);
});

lane_test!(quote_states_for_each_viewer, |lane: Lane| async move {
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

    let original = post_status(&a, "quote me").await;
    let oid = str_field(&original, "id");
    let q = quote(&b, &oid, &[("status", "quoted")]).await.ok_json();
    let qid = str_field(&q, "id");

    // Carol mutes alice: the quote says so but still carries the status.
    c.post(&format!("/api/v1/accounts/{}/mute", alice.id), &[])
        .await
        .ok_json();
    let muted = status(&c, &qid).await;
    assert_eq!(muted["quote"]["state"], "muted_account", "{muted}");
    assert_eq!(muted["quote"]["quoted_status"]["id"], oid.as_str());
    // Dave blocks alice: blocked_account.
    d.post(&format!("/api/v1/accounts/{}/block", alice.id), &[])
        .await
        .ok_json();
    assert_eq!(status(&d, &qid).await["quote"]["state"], "blocked_account");
    // Alice blocks carol: carol may no longer see alice's status.
    c.post(&format!("/api/v1/accounts/{}/unmute", alice.id), &[])
        .await
        .ok_json();
    a.post(&format!("/api/v1/accounts/{}/block", carol.id), &[])
        .await
        .ok_json();
    let unauthorized = status(&c, &qid).await;
    assert_eq!(
        unauthorized["quote"],
        json!({"state": "unauthorized", "quoted_status": null})
    );
    // Bob still reads it as accepted.
    assert_eq!(status(&b, &qid).await["quote"]["state"], "accepted");

    // The quoted status is deleted: `deleted`, nothing to show.
    a.delete(&format!("/api/v1/statuses/{oid}")).await.ok_json();
    assert_eq!(
        status(&b, &qid).await["quote"],
        json!({"state": "deleted", "quoted_status": null})
    );
    // A shallow quote reads the same way.
    let second = post_status(&a, "another").await;
    let sid = str_field(&second, "id");
    let inner = quote(&b, &sid, &[("status", "inner")]).await.ok_json();
    let outer = quote(&b, &str_field(&inner, "id"), &[("status", "outer")])
        .await
        .ok_json();
    a.delete(&format!("/api/v1/statuses/{sid}")).await.ok_json();
    assert_eq!(
        status(&b, &str_field(&outer, "id")).await["quote"]["quoted_status"]["quote"],
        json!({"state": "deleted", "quoted_status_id": null})
    );
    assert_no_panics(&server);
});

lane_test!(
    quotes_list_revoke_delete_and_edit,
    |lane: Lane| async move {
        let server = spawn(lane).await;
        let api = Api::of(&server);
        let alice = user_token(&server, "alice").await;
        let bob = user_token(&server, "bob").await;
        let carol = user_token(&server, "carol").await;
        let (a, b, c) = (alice.api(&api), bob.api(&api), carol.api(&api));

        let original = post_status(&a, "the original").await;
        let oid = str_field(&original, "id");
        let mut quote_ids = Vec::new();
        for n in 0..5 {
            let q = quote(&b, &oid, &[("status", &format!("quote {n}"))])
                .await
                .ok_json();
            quote_ids.push(str_field(&q, "id"));
        }
        let cq = quote(&c, &oid, &[("status", "carol's")]).await.ok_json();
        let cqid = str_field(&cq, "id");
        quote_ids.push(cqid.clone());
        assert_eq!(status(&a, &oid).await["quotes_count"], 6);

        // Only the author lists them, newest first, two by two through Link.
        let path = format!("/api/v1/statuses/{oid}/quotes");
        b.get(&path).await.err_is(403, "This action is not allowed");
        api.get(&path).await.err(401);
        a.get("/api/v1/statuses/999999999/quotes").await.err(404);
        let mut seen = Vec::new();
        let mut next = Some(format!("{path}?limit=4"));
        let mut pages = 0;
        while let Some(p) = next {
            let resp = a.get(&p).await;
            let page = resp.ok_json();
            seen.extend(ids(&page));
            pages += 1;
            next = link(&resp, "next").map(|u| path_and_query(&u));
            if pages == 1 {
                assert!(link(&resp, "prev").unwrap().contains("since_id="));
            }
            assert!(pages < 5, "paging does not end");
        }
        let mut expected = quote_ids.clone();
        expected.reverse();
        assert_eq!(seen, expected);
        assert_eq!(pages, 2);
        // since_id pages newer ones.
        let newer = a.get(&format!("{path}?limit=2&since_id=0")).await.ok_json();
        assert_eq!(ids(&newer).len(), 2);

        // Alice revokes carol's quote: revoked, gone from the list and the count.
        let revoked = a
            .post(&format!("{path}/{cqid}/revoke"), &[])
            .await
            .ok_json();
        assert_eq!(revoked["id"], cqid.as_str());
        assert_eq!(
            revoked["quote"],
            json!({"state": "revoked", "quoted_status": null})
        );
        assert_eq!(status(&c, &cqid).await["quote"]["state"], "revoked");
        assert_eq!(status(&a, &oid).await["quotes_count"], 5);
        assert!(!ids(&a.get(&path).await.ok_json()).contains(&cqid));
        // Again: nothing changes.
        a.post(&format!("{path}/{cqid}/revoke"), &[])
            .await
            .ok_json();
        assert_eq!(status(&a, &oid).await["quotes_count"], 5);
        // Not alice's to revoke, not a quote of it, not a status.
        b.post(&format!("{path}/{}/revoke", quote_ids[0]), &[])
            .await
            .err_is(403, "This action is not allowed");
        a.post(&format!("{path}/{oid}/revoke"), &[]).await.err(404);
        a.post("/api/v1/statuses/999999999/quotes/1/revoke", &[])
            .await
            .err(404);

        // Deleting a quote takes it out of the count.
        b.delete(&format!("/api/v1/statuses/{}", quote_ids[0]))
            .await
            .ok_json();
        assert_eq!(status(&a, &oid).await["quotes_count"], 4);

        // Alice edits the original: those who quoted it hear of it, about their quote.
        let edited = put(
            &a,
            &format!("/api/v1/statuses/{oid}"),
            &[
                ("status", "the original, edited"),
                ("quote_approval_policy", "nobody"),
            ],
        )
        .await
        .ok_json();
        assert_eq!(edited["quote_approval"]["automatic"], json!([]));
        let n = wait_notification(&b, "quoted_update", &quote_ids[4]).await;
        assert_eq!(n["account"]["id"], alice.id.as_str());
        assert_eq!(
            n["status"]["quote"]["quoted_status"]["content"],
            "<p>the original, edited</p>"
        );
        let grouped = b
            .get("/api/v2/notifications?types[]=quoted_update")
            .await
            .ok_json();
        assert_eq!(
            grouped["notification_groups"].as_array().unwrap().len(),
            4,
            "one per quote: {grouped}"
        );
        assert_eq!(grouped["notification_groups"][0]["type"], "quoted_update");
        // Carol's quote was revoked: she is not told.
        assert!(notifications_of(&c, "quoted_update").await.is_empty());

        // Editing a quote keeps it (a quote cannot be changed) and its fallback.
        let q1 = &quote_ids[1];
        let re = put(
            &b,
            &format!("/api/v1/statuses/{q1}"),
            &[("status", "quote 1, edited"), ("quoted_status_id", &cqid)],
        )
        .await
        .ok_json();
        assert_eq!(re["quote"]["quoted_status"]["id"], oid.as_str());
        assert!(
            re["content"]
                .as_str()
                .unwrap()
                .starts_with("<p class=\"quote-inline\">")
        );
        // Deleting (and redrafting) a quote: its source, with the quote.
        let gone = b.delete(&format!("/api/v1/statuses/{q1}")).await.ok_json();
        assert_eq!(gone["text"], "quote 1, edited");
        assert_eq!(gone["quote"]["quoted_status"]["id"], oid.as_str());
        assert_eq!(status(&a, &oid).await["quotes_count"], 3);
        assert_no_panics(&server);
    }
);

lane_test!(scheduled_quotes, |lane: Lane| async move {
    let server = spawn_with(lane, &[("FERRODON_SCHEDULED_MIN_OFFSET", "1")]).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let (a, b) = (alice.api(&api), bob.api(&api));

    let original = post_status(&a, "for later").await;
    let oid = str_field(&original, "id");
    let at = (chrono::Utc::now() + chrono::Duration::seconds(3)).to_rfc3339();
    let scheduled = b
        .post(
            "/api/v1/statuses",
            &[
                ("status", "scheduled quote"),
                ("quoted_status_id", &oid),
                ("quote_approval_policy", "nobody"),
                ("scheduled_at", &at),
            ],
        )
        .await
        .ok_json();
    assert_eq!(scheduled["params"]["quoted_status_id"], oid.as_str());
    assert_eq!(scheduled["params"]["quote_approval_policy"], "nobody");
    // A quote that may not be made is refused when scheduling.
    b.post(
        "/api/v1/statuses",
        &[
            ("status", "x"),
            ("quoted_status_id", "999999999"),
            ("scheduled_at", &at),
        ],
    )
    .await
    .err_is(404, NOT_FOUND);

    let published = wait_until("the scheduled quote", || async {
        let list = b
            .get(&format!("/api/v1/accounts/{}/statuses", bob.id))
            .await
            .ok_json();
        list.as_array().unwrap().first().cloned()
    })
    .await;
    assert_eq!(published["quote"]["quoted_status"]["id"], oid.as_str());
    assert_eq!(published["quote_approval"]["automatic"], json!([]));
    assert_eq!(status(&a, &oid).await["quotes_count"], 1);
    assert_no_panics(&server);
});
