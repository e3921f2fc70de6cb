//! Statuses: posting (text to HTML as Mastodon renders it), validation,
//! idempotency, visibility, deletion, threads, favourites and reblogs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use ferrodon_testkit::{Lane, lane_test};
use reqwest::Method;
use serde_json::{Value, json};

/// Mastodon's HTML for a link to `url` (TextFormatter.shortened_link, 4.3).
fn link_html(url: &str) -> String {
    let prefix = ["https://www.", "http://www.", "https://", "http://"]
        .into_iter()
        .find(|p| url.starts_with(p))
        .unwrap_or("");
    let rest: Vec<char> = url[prefix.len()..].chars().collect();
    let display: String = rest.iter().take(30).collect();
    let suffix: String = rest.iter().skip(30).collect();
    let class = if rest.len() > 30 { "ellipsis" } else { "" };
    format!(
        "<a href=\"{url}\" target=\"_blank\" rel=\"nofollow noopener noreferrer\" translate=\"no\">\
         <span class=\"invisible\">{prefix}</span><span class=\"{class}\">{display}</span>\
         <span class=\"invisible\">{suffix}</span></a>"
    )
}

fn mention_html(base: &str, username: &str) -> String {
    format!(
        "<span class=\"h-card\" translate=\"no\"><a href=\"{base}/@{username}\" class=\"u-url mention\">@<span>{username}</span></a></span>"
    )
}

fn hashtag_html(base: &str, tag: &str) -> String {
    format!(
        "<a href=\"{base}/tags/{tag}\" class=\"mention hashtag\" rel=\"tag\">#<span>{tag}</span></a>"
    )
}

lane_test!(posting_and_rendering, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let base = public_url(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let a = alice.api(&api);

    // The entity.
    let s = post_status(&a, "Hello world").await;
    assert_keys(&s, STATUS_KEYS, "Status");
    assert_keys(&s, STATUS_VIEWER_KEYS, "Status (as its author)");
    assert_keys(&s["account"], ACCOUNT_KEYS, "Status.account");
    assert_id(&s["id"], "status id");
    let id = str_field(&s, "id");
    assert_eq!(s["content"], "<p>Hello world</p>");
    assert_eq!(s["visibility"], "public");
    assert_eq!(s["sensitive"], false);
    assert_eq!(s["spoiler_text"], "");
    assert_eq!(s["uri"], format!("{base}/users/alice/statuses/{id}"));
    assert_eq!(s["url"], format!("{base}/@alice/{id}"));
    assert_eq!(s["account"]["id"], alice.id.as_str());
    assert_eq!(s["account"]["statuses_count"], 1);
    assert_eq!(s["in_reply_to_id"], Value::Null);
    assert_eq!(s["in_reply_to_account_id"], Value::Null);
    assert_eq!(s["reblog"], Value::Null);
    assert_eq!(s["media_attachments"], json!([]));
    assert_eq!(s["mentions"], json!([]));
    assert_eq!(s["tags"], json!([]));
    assert_eq!(s["emojis"], json!([]));
    assert_eq!(s["reblogs_count"], 0);
    assert_eq!(s["favourites_count"], 0);
    assert_eq!(s["replies_count"], 0);
    assert_eq!(s["favourited"], false);
    assert_eq!(s["reblogged"], false);
    let created = str_field(&s, "created_at");
    assert_timestamp(&created, "Status.created_at");
    assert!(
        created.contains('.'),
        "Status.created_at has milliseconds: {created}"
    );

    // Paragraphs and line breaks.
    for (text, html) in [
        ("a\n\nb\nc", "<p>a</p><p>b<br />c</p>"),
        ("a\r\n\r\nb\r\nc", "<p>a</p><p>b<br />c</p>"),
        ("a\n\n\n\nb", "<p>a</p><p>b</p>"),
        (
            "<b>hi</b> & \"you\" 'x'",
            "<p>&lt;b&gt;hi&lt;/b&gt; &amp; &quot;you&quot; &#39;x&#39;</p>",
        ),
    ] {
        let s = post_status(&a, text).await;
        assert_eq!(s["content"], html, "rendering {text:?}");
    }

    // Links.
    for url in [
        "https://example.com/",
        "https://www.example.com/page",
        "http://example.org/a",
        "https://example.com/a/very/long/path/that/goes/on/and/on?x=1",
    ] {
        let s = post_status(&a, &format!("see {url} now")).await;
        assert_eq!(
            s["content"],
            format!("<p>see {} now</p>", link_html(url).replace('&', "&amp;")),
            "rendering a link to {url}"
        );
    }

    // Mentions: resolved ones link and are listed; unknown ones stay text.
    let s = post_status(&a, "hi @bob and @nobody").await;
    assert_eq!(
        s["content"],
        format!("<p>hi {} and @nobody</p>", mention_html(&base, "bob"))
    );
    let mentions = s["mentions"].as_array().cloned().unwrap_or_default();
    assert_eq!(mentions.len(), 1, "{s}");
    assert_keys(&mentions[0], &["id", "username", "acct", "url"], "Mention");
    assert_eq!(mentions[0]["id"], bob.id.as_str());
    assert_eq!(mentions[0]["username"], "bob");
    assert_eq!(mentions[0]["acct"], "bob");
    assert_eq!(mentions[0]["url"], format!("{base}/@bob"));

    // Hashtags keep their case in the HTML and are normalised in `tags`.
    let s = post_status(&a, "I like #Rust").await;
    assert_eq!(
        s["content"],
        format!("<p>I like {}</p>", hashtag_html(&base, "Rust"))
    );
    let tags = s["tags"].as_array().cloned().unwrap_or_default();
    assert_eq!(tags.len(), 1, "{s}");
    assert_keys(&tags[0], &["name", "url"], "Status.tags[]");
    assert_eq!(tags[0]["name"], "rust");
    assert_eq!(tags[0]["url"], format!("{base}/tags/rust"));
    let s = post_status(&a, "un #Café noir").await;
    let content = str_field(&s, "content");
    assert!(
        content.contains("class=\"mention hashtag\" rel=\"tag\">#<span>Café</span></a>"),
        "a non-ASCII hashtag is linked as typed: {content}"
    );
    assert_eq!(
        s["tags"][0]["name"], "cafe",
        "tag names are folded to ASCII: {s}"
    );
    // Not hashtags: inside a URL fragment, after a letter, digits only.
    let s = post_status(&a, "a#b #123 https://example.com/#frag").await;
    assert_eq!(s["tags"], json!([]), "{s}");
    assert!(!s["content"].as_str().unwrap().contains("hashtag"), "{s}");

    // Everything together, in order.
    let s = post_status(&a, "@bob look: #Rust https://example.com/").await;
    assert_eq!(
        s["content"],
        format!(
            "<p>{} look: {} {}</p>",
            mention_html(&base, "bob"),
            hashtag_html(&base, "Rust"),
            link_html("https://example.com/")
        )
    );

    // Content warning, language, visibility.
    let s = post_status_with(&a, &[("status", "spoiled"), ("spoiler_text", "CW")]).await;
    assert_eq!(s["sensitive"], true);
    assert_eq!(s["spoiler_text"], "CW");
    let s = post_status_with(&a, &[("status", "hallo"), ("language", "de")]).await;
    assert_eq!(s["language"], "de");
    for visibility in ["public", "unlisted", "private", "direct"] {
        let s = post_status_with(&a, &[("status", "@bob v"), ("visibility", visibility)]).await;
        assert_eq!(s["visibility"], visibility);
    }
    let s = post_status_with(&a, &[("status", "sensitive"), ("sensitive", "true")]).await;
    assert_eq!(s["sensitive"], true);

    // JSON and multipart bodies.
    let s = a
        .post_json(
            "/api/v1/statuses",
            json!({"status": "via json", "visibility": "unlisted", "sensitive": false}),
        )
        .await
        .ok_json();
    assert_eq!(s["content"], "<p>via json</p>");
    assert_eq!(s["visibility"], "unlisted");
    let s = a
        .post_multipart(
            "/api/v1/statuses",
            &[("status", "via multipart"), ("visibility", "private")],
        )
        .await
        .ok_json();
    assert_eq!(s["content"], "<p>via multipart</p>");
    assert_eq!(s["visibility"], "private");
    // Query parameters on a POST count as well (Rails merges them).
    let s = a
        .post(
            "/api/v1/statuses?status=via%20query&visibility=unlisted",
            &[],
        )
        .await
        .ok_json();
    assert_eq!(s["content"], "<p>via query</p>");
    assert_eq!(s["visibility"], "unlisted");
});

lane_test!(validation_and_idempotency, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let a = alice.api(&api);

    // Length: 500 characters (not bytes); URLs count as 23.
    let too_long = "a".repeat(501);
    post_status(&a, &"a".repeat(500)).await;
    post_status(&a, &"é".repeat(500)).await;
    let long_url = format!("https://example.com/{}", "p".repeat(600));
    post_status(&a, &format!("{} {long_url}", "x".repeat(470))).await;
    for (what, form) in [
        ("empty", vec![("status", "")]),
        ("blank", vec![("status", "   \n ")]),
        ("missing", vec![("visibility", "public")]),
        ("too long", vec![("status", too_long.as_str())]),
        (
            "bad visibility",
            vec![("status", "x"), ("visibility", "everyone")],
        ),
    ] {
        let resp = a.post("/api/v1/statuses", &form).await;
        let err = resp.err(422);
        assert!(
            err.starts_with("Validation failed"),
            "{what}: {}",
            resp.describe()
        );
    }
    let me = a.get("/api/v1/accounts/verify_credentials").await.ok_json();
    assert_eq!(me["statuses_count"], 3, "refused statuses were not counted");

    // Replies: unknown or invisible parents are 404.
    a.post(
        "/api/v1/statuses",
        &[("status", "x"), ("in_reply_to_id", "99999999")],
    )
    .await
    .err(404);
    let hidden = post_status_with(
        &bob.api(&api),
        &[("status", "followers only"), ("visibility", "private")],
    )
    .await;
    a.post(
        "/api/v1/statuses",
        &[
            ("status", "x"),
            ("in_reply_to_id", &str_field(&hidden, "id")),
        ],
    )
    .await
    .err(404);
    let parent = post_status(&bob.api(&api), "parent").await;
    let parent_id = str_field(&parent, "id");
    let reply = post_status_with(
        &a,
        &[("status", "@bob reply"), ("in_reply_to_id", &parent_id)],
    )
    .await;
    assert_eq!(reply["in_reply_to_id"], parent_id.as_str());
    assert_eq!(reply["in_reply_to_account_id"], bob.id.as_str());
    let parent = api
        .get(&format!("/api/v1/statuses/{parent_id}"))
        .await
        .ok_json();
    assert_eq!(parent["replies_count"], 1);

    // Idempotency-Key: the same key gives the same status.
    let post_with_key = |text: &'static str, key: &'static str| {
        let a = a.clone();
        async move {
            a.send(
                Method::POST,
                "/api/v1/statuses",
                Body::form(&[("status", text)]),
                &[("Idempotency-Key", key)],
            )
            .await
            .ok_json()
        }
    };
    let first = post_with_key("once", "key-1").await;
    let again = post_with_key("once", "key-1").await;
    assert_eq!(first["id"], again["id"]);
    let other = post_with_key("once", "key-2").await;
    assert_ne!(first["id"], other["id"]);
    // The key belongs to the user: bob's identical key is his own.
    let bobs = bob
        .api(&api)
        .send(
            Method::POST,
            "/api/v1/statuses",
            Body::form(&[("status", "once")]),
            &[("Idempotency-Key", "key-1")],
        )
        .await
        .ok_json();
    assert_ne!(bobs["id"], first["id"]);
    assert_eq!(bobs["account"]["id"], bob.id.as_str());
    let me = a.get("/api/v1/accounts/verify_credentials").await.ok_json();
    assert_eq!(
        me["statuses_count"], 6,
        "a replayed key does not post twice"
    );
});

/// Whether `client` may see status `id` (404 otherwise).
async fn can_see(client: &Api, id: &str) -> bool {
    let resp = client.get(&format!("/api/v1/statuses/{id}")).await;
    match resp.status {
        200 => {
            assert_eq!(resp.json()["id"], id, "{}", resp.describe());
            true
        }
        404 => {
            resp.json_error();
            false
        }
        _ => panic!("unexpected: {}", resp.describe()),
    }
}

async fn expect_visible(who: &str, client: &Api, rules: Vec<(&str, String, bool)>) {
    for (what, id, want) in rules {
        assert_eq!(
            can_see(client, &id).await,
            want,
            "{who} viewing the {what} status"
        );
    }
}

lane_test!(visibility_rules, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let carol = user_token(&server, "carol").await;
    let a = alice.api(&api);
    let b = bob.api(&api);
    let c = carol.api(&api);

    let post = |text: &'static str, visibility: &'static str| {
        let a = a.clone();
        async move {
            str_field(
                &post_status_with(&a, &[("status", text), ("visibility", visibility)]).await,
                "id",
            )
        }
    };
    let public = post("public", "public").await;
    let unlisted = post("unlisted", "unlisted").await;
    let private = post("private", "private").await;
    let direct = post("@carol direct", "direct").await;
    let private_mention = post("@carol private with mention", "private").await;
    let all = |p: bool, u: bool, pr: bool, d: bool, pm: bool| {
        vec![
            ("public", public.clone(), p),
            ("unlisted", unlisted.clone(), u),
            ("private", private.clone(), pr),
            ("direct", direct.clone(), d),
            ("private mentioning carol", private_mention.clone(), pm),
        ]
    };
    expect_visible(
        "anonymous",
        &api.anon(),
        all(true, true, false, false, false),
    )
    .await;
    expect_visible("the author", &a, all(true, true, true, true, true)).await;
    expect_visible("bob (stranger)", &b, all(true, true, false, false, false)).await;
    expect_visible("carol (mentioned)", &c, all(true, true, false, true, true)).await;
    follow(&b, &alice.id).await;
    expect_visible("bob (follower)", &b, all(true, true, true, false, true)).await;
    unfollow(&b, &alice.id).await;
    expect_visible(
        "bob (former follower)",
        &b,
        all(true, true, false, false, false),
    )
    .await;

    api.get("/api/v1/statuses/99999999")
        .await
        .err_is(404, "Record not found");
    for id in ["abc", "-1", "99999999999999999999999"] {
        api.get(&format!("/api/v1/statuses/{id}")).await.err(404);
    }
    // Hidden statuses cannot be acted upon either.
    for path in ["favourite", "reblog", "context"] {
        let resp = if path == "context" {
            b.get(&format!("/api/v1/statuses/{private}/context")).await
        } else {
            b.post(&format!("/api/v1/statuses/{private}/{path}"), &[])
                .await
        };
        resp.err(404);
    }
    let private_status = a
        .get(&format!("/api/v1/statuses/{private}"))
        .await
        .ok_json();
    assert_eq!(private_status["favourites_count"], 0);
});

lane_test!(deletion, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let a = alice.api(&api);
    let b = bob.api(&api);

    let text = "to be deleted #gone @bob";
    let s = post_status_with(&a, &[("status", text), ("spoiler_text", "cw")]).await;
    let id = str_field(&s, "id");
    let reblog = b
        .post(&format!("/api/v1/statuses/{id}/reblog"), &[])
        .await
        .ok_json();
    let reblog_id = str_field(&reblog, "id");
    let reply = post_status_with(&b, &[("status", "@alice reply"), ("in_reply_to_id", &id)]).await;

    // Only the author may delete: others get 404 and nothing changes.
    b.delete(&format!("/api/v1/statuses/{id}"))
        .await
        .err_is(404, "Record not found");
    api.get(&format!("/api/v1/statuses/{id}")).await.ok_json();
    // Scope and token checks.
    let read = api.with_token(&token_for(&api, &alice, "read").await);
    read.delete(&format!("/api/v1/statuses/{id}"))
        .await
        .err_is(403, "This action is outside the authorized scopes");
    api.delete(&format!("/api/v1/statuses/{id}"))
        .await
        .err_is(401, "The access token is invalid");

    // The author deletes: the response carries the source text.
    let v = a.delete(&format!("/api/v1/statuses/{id}")).await.ok_json();
    assert_eq!(v["id"], id.as_str());
    assert_eq!(
        v["text"], text,
        "DELETE returns the source for redrafting: {v}"
    );
    assert_eq!(v["spoiler_text"], "cw");
    api.get(&format!("/api/v1/statuses/{id}")).await.err(404);
    a.delete(&format!("/api/v1/statuses/{id}")).await.err(404);
    api.get(&format!("/api/v1/statuses/{id}/context"))
        .await
        .err(404);
    // Counters, reblogs and timelines follow (possibly through a background job).
    wait_until("statuses_count to drop to 0", || async {
        let me = a.get("/api/v1/accounts/verify_credentials").await.ok_json();
        (me["statuses_count"] == 0).then_some(())
    })
    .await;
    wait_until("the reblog to go with the original", || async {
        (api.get(&format!("/api/v1/statuses/{reblog_id}"))
            .await
            .status
            == 404)
            .then_some(())
    })
    .await;
    wait_until("the deleted status to leave the timelines", || async {
        let public = timeline_ids(&api, "/api/v1/timelines/public?limit=40").await;
        let tagged = timeline_ids(&api, "/api/v1/timelines/tag/gone").await;
        let own = timeline_ids(&api, &format!("/api/v1/accounts/{}/statuses", alice.id)).await;
        let gone = !public.contains(&id)
            && !public.contains(&reblog_id)
            && tagged.is_empty()
            && own.is_empty();
        gone.then_some(())
    })
    .await;
    // Replies stay.
    let r = api
        .get(&format!("/api/v1/statuses/{}", str_field(&reply, "id")))
        .await
        .ok_json();
    assert_eq!(r["content"], reply["content"]);
});

lane_test!(threads, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let carol = user_token(&server, "carol").await;
    let (a, b, c) = (alice.api(&api), bob.api(&api), carol.api(&api));

    let reply = |client: Api, text: &'static str, to: String, visibility: &'static str| async move {
        str_field(
            &post_status_with(
                &client,
                &[
                    ("status", text),
                    ("in_reply_to_id", &to),
                    ("visibility", visibility),
                ],
            )
            .await,
            "id",
        )
    };
    let root = str_field(&post_status(&a, "root").await, "id");
    let r1 = reply(b.clone(), "@alice r1", root.clone(), "public").await;
    let r2 = reply(a.clone(), "@bob r2", r1.clone(), "public").await;
    let r3 = reply(c.clone(), "@alice r3", root.clone(), "public").await;
    let r4 = reply(b.clone(), "@alice r4 private", root.clone(), "private").await;
    let r5 = reply(a.clone(), "@bob r5", r2.clone(), "unlisted").await;

    let context = |client: Api, id: String| async move {
        let v = client
            .get(&format!("/api/v1/statuses/{id}/context"))
            .await
            .ok_json();
        assert_keys(&v, &["ancestors", "descendants"], "Context");
        (ids(&v["ancestors"]), ids(&v["descendants"]))
    };

    // Ancestors oldest first; descendants depth first.
    let (anc, desc) = context(a.clone(), root.clone()).await;
    assert!(anc.is_empty());
    assert_eq!(
        desc,
        vec![r1.clone(), r2.clone(), r5.clone(), r3.clone(), r4.clone()]
    );
    let (anc, desc) = context(a.clone(), r2.clone()).await;
    assert_eq!(anc, vec![root.clone(), r1.clone()]);
    assert_eq!(desc, vec![r5.clone()]);
    let (anc, desc) = context(a.clone(), r5.clone()).await;
    assert_eq!(anc, vec![root.clone(), r1.clone(), r2.clone()]);
    assert!(desc.is_empty());

    // The private reply is hidden from those who may not see it.
    let (_, desc) = context(api.anon(), root.clone()).await;
    assert_eq!(desc, vec![r1.clone(), r2.clone(), r5.clone(), r3.clone()]);
    let (_, desc) = context(c.clone(), root.clone()).await;
    assert!(
        !desc.contains(&r4),
        "carol is not a follower of bob: {desc:?}"
    );

    let root_status = api.get(&format!("/api/v1/statuses/{root}")).await.ok_json();
    // Mastodon counts only public and unlisted replies (private ones stay hidden).
    assert_eq!(root_status["replies_count"], 2, "{root_status}");
    api.get("/api/v1/statuses/99999999/context")
        .await
        .err_is(404, "Record not found");
});

lane_test!(favourites_and_reblogs, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let carol = user_token(&server, "carol").await;
    let (a, b, c) = (alice.api(&api), bob.api(&api), carol.api(&api));
    let s = post_status(&a, "likeable").await;
    let id = str_field(&s, "id");

    // Favourite: idempotent, counted, undone.
    for _ in 0..2 {
        let v = b
            .post(&format!("/api/v1/statuses/{id}/favourite"), &[])
            .await
            .ok_json();
        assert_eq!(v["id"], id.as_str());
        assert_eq!(v["favourited"], true);
        assert_eq!(v["favourites_count"], 1);
    }
    let v = c
        .post(&format!("/api/v1/statuses/{id}/favourite"), &[])
        .await
        .ok_json();
    assert_eq!(v["favourites_count"], 2);
    let v = a.get(&format!("/api/v1/statuses/{id}")).await.ok_json();
    assert_eq!(v["favourited"], false, "alice did not favourite it");
    assert_eq!(v["favourites_count"], 2);
    for _ in 0..2 {
        let v = b
            .post(&format!("/api/v1/statuses/{id}/unfavourite"), &[])
            .await
            .ok_json();
        assert_eq!(v["favourited"], false);
        assert_eq!(v["favourites_count"], 1);
    }
    b.post("/api/v1/statuses/99999999/favourite", &[])
        .await
        .err(404);
    b.post("/api/v1/statuses/99999999/unfavourite", &[])
        .await
        .err(404);

    // Reblog: a wrapper status; idempotent; undone.
    let w = b
        .post(&format!("/api/v1/statuses/{id}/reblog"), &[])
        .await
        .ok_json();
    assert_keys(&w, STATUS_KEYS, "reblog wrapper");
    let wrapper = str_field(&w, "id");
    assert_ne!(wrapper, id);
    assert_eq!(w["account"]["id"], bob.id.as_str());
    assert_eq!(w["reblog"]["id"], id.as_str());
    assert_eq!(w["reblog"]["reblogged"], true);
    assert_eq!(w["reblog"]["reblogs_count"], 1);
    assert_eq!(w["visibility"], "public");
    let again = b
        .post(&format!("/api/v1/statuses/{id}/reblog"), &[])
        .await
        .ok_json();
    assert_eq!(
        again["id"],
        wrapper.as_str(),
        "reblogging twice returns the same reblog"
    );
    let v = b.get(&format!("/api/v1/statuses/{id}")).await.ok_json();
    assert_eq!(v["reblogged"], true);
    assert_eq!(v["reblogs_count"], 1);
    let v = api
        .get(&format!("/api/v1/statuses/{wrapper}"))
        .await
        .ok_json();
    assert_eq!(v["reblog"]["id"], id.as_str());
    // Reblogging the wrapper reblogs the original.
    let cw = c
        .post(&format!("/api/v1/statuses/{wrapper}/reblog"), &[])
        .await
        .ok_json();
    assert_eq!(cw["reblog"]["id"], id.as_str());
    let v = api.get(&format!("/api/v1/statuses/{id}")).await.ok_json();
    assert_eq!(v["reblogs_count"], 2);
    // A visibility for the reblog.
    let cu = c
        .post(&format!("/api/v1/statuses/{id}/unreblog"), &[])
        .await
        .ok_json();
    assert_eq!(cu["id"], id.as_str());
    let cw = c
        .post(
            &format!("/api/v1/statuses/{id}/reblog"),
            &[("visibility", "unlisted")],
        )
        .await
        .ok_json();
    assert_eq!(cw["visibility"], "unlisted");

    // Unreblog returns the original; twice is fine.
    for _ in 0..2 {
        let v = b
            .post(&format!("/api/v1/statuses/{id}/unreblog"), &[])
            .await
            .ok_json();
        assert_eq!(v["id"], id.as_str());
        assert_eq!(v["reblogged"], false);
        assert_eq!(v["reblogs_count"], 1);
    }
    api.get(&format!("/api/v1/statuses/{wrapper}"))
        .await
        .err(404);

    // Private and direct statuses.
    follow(&b, &alice.id).await;
    let private = str_field(
        &post_status_with(&a, &[("status", "private"), ("visibility", "private")]).await,
        "id",
    );
    let direct = str_field(
        &post_status_with(&a, &[("status", "@bob direct"), ("visibility", "direct")]).await,
        "id",
    );
    let not_allowed = "This action is not allowed";
    b.post(&format!("/api/v1/statuses/{private}/reblog"), &[])
        .await
        .err_is(403, not_allowed);
    b.post(&format!("/api/v1/statuses/{direct}/reblog"), &[])
        .await
        .err_is(403, not_allowed);
    a.post(&format!("/api/v1/statuses/{direct}/reblog"), &[])
        .await
        .err_is(403, not_allowed);
    // Carol cannot see the private one at all.
    c.post(&format!("/api/v1/statuses/{private}/reblog"), &[])
        .await
        .err(404);
    c.post(&format!("/api/v1/statuses/{private}/favourite"), &[])
        .await
        .err(404);
    // The author may reblog her own private status; it stays private.
    let own = a
        .post(&format!("/api/v1/statuses/{private}/reblog"), &[])
        .await
        .ok_json();
    assert_eq!(own["visibility"], "private");
    assert_eq!(own["reblog"]["id"], private.as_str());
    // Followers and mentioned accounts may favourite what they can see.
    let v = b
        .post(&format!("/api/v1/statuses/{private}/favourite"), &[])
        .await
        .ok_json();
    assert_eq!(v["favourited"], true);
    let v = b
        .post(&format!("/api/v1/statuses/{direct}/favourite"), &[])
        .await
        .ok_json();
    assert_eq!(v["favourited"], true);

    // Tokens.
    let read = api.with_token(&token_for(&api, &bob, "read").await);
    read.post(&format!("/api/v1/statuses/{id}/favourite"), &[])
        .await
        .err_is(403, "This action is outside the authorized scopes");
    read.post(&format!("/api/v1/statuses/{id}/reblog"), &[])
        .await
        .err_is(403, "This action is outside the authorized scopes");
    let fav = api.with_token(&token_for(&api, &bob, "write:favourites").await);
    fav.post(&format!("/api/v1/statuses/{id}/favourite"), &[])
        .await
        .ok_json();
    api.post(&format!("/api/v1/statuses/{id}/favourite"), &[])
        .await
        .err_is(401, "The access token is invalid");
});

lane_test!(concurrent_actions, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let a = alice.api(&api);
    let mut fans = Vec::new();
    for i in 0..5 {
        fans.push(user_token(&server, &format!("fan{i}")).await);
    }
    let id = str_field(&post_status(&a, "popular").await, "id");

    // Five accounts favourite at once.
    let mut tasks = tokio::task::JoinSet::new();
    for fan in &fans {
        let c = fan.api(&api);
        let path = format!("/api/v1/statuses/{id}/favourite");
        tasks.spawn(async move { c.post(&path, &[]).await });
    }
    while let Some(resp) = tasks.join_next().await {
        assert_eq!(resp.unwrap().ok_json()["favourited"], true);
    }
    let v = api.get(&format!("/api/v1/statuses/{id}")).await.ok_json();
    assert_eq!(v["favourites_count"], 5, "{v}");

    // One account favourites and reblogs five times at once: counted once,
    // one reblog, never a server error on the unique constraint.
    let fan = fans[0].api(&api);
    let mut tasks = tokio::task::JoinSet::new();
    for action in ["favourite", "reblog"] {
        for _ in 0..5 {
            let c = fan.clone();
            let path = format!("/api/v1/statuses/{id}/{action}");
            tasks.spawn(async move { (action, c.post(&path, &[]).await) });
        }
    }
    let mut wrappers = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (action, resp) = joined.unwrap();
        let v = resp.ok_json();
        if action == "reblog" {
            wrappers.push(str_field(&v, "id"));
        }
    }
    wrappers.sort();
    wrappers.dedup();
    assert_eq!(
        wrappers.len(),
        1,
        "racing reblogs made several reblogs: {wrappers:?}"
    );
    let v = api.get(&format!("/api/v1/statuses/{id}")).await.ok_json();
    assert_eq!(v["favourites_count"], 5, "{v}");
    assert_eq!(v["reblogs_count"], 1, "{v}");

    // The same Idempotency-Key five times at once: one status.
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..5 {
        let c = a.clone();
        tasks.spawn(async move {
            c.send(
                Method::POST,
                "/api/v1/statuses",
                Body::form(&[("status", "exactly once")]),
                &[("Idempotency-Key", "racing-key")],
            )
            .await
        });
    }
    let mut posted = Vec::new();
    while let Some(resp) = tasks.join_next().await {
        posted.push(str_field(&resp.unwrap().ok_json(), "id"));
    }
    posted.sort();
    posted.dedup();
    assert_eq!(
        posted.len(),
        1,
        "racing requests with one Idempotency-Key: {posted:?}"
    );
    let me = a.get("/api/v1/accounts/verify_credentials").await.ok_json();
    assert_eq!(me["statuses_count"], 2, "{me}");
});

lane_test!(statuses_and_accounts_by_ids, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let carol = user_token(&server, "carol").await;
    let (a, b, c) = (alice.api(&api), bob.api(&api), carol.api(&api));
    let public = str_field(&post_status(&b, "bob in public").await, "id");
    let private = str_field(
        &post_status_with(
            &b,
            &[("status", "bob to followers"), ("visibility", "private")],
        )
        .await,
        "id",
    );
    let direct = str_field(
        &post_status_with(
            &b,
            &[("status", "@carol just you"), ("visibility", "direct")],
        )
        .await,
        "id",
    );
    let alices = str_field(&post_status(&a, "alice in public").await, "id");
    let query = |ids: &[&str]| -> Vec<(&'static str, String)> {
        ids.iter().map(|id| ("id[]", (*id).to_owned())).collect()
    };
    let get = |api: Api, path: &'static str, ids: Vec<(&'static str, String)>| async move {
        let q: Vec<(&str, &str)> = ids.iter().map(|(k, v)| (*k, v.as_str())).collect();
        api.get_q(path, &q).await
    };

    // In the order asked for; unknown, malformed and invisible ids left out.
    let anon = get(
        api.anon(),
        "/api/v1/statuses",
        query(&[&alices, &private, "1", "abc", &public, &alices]),
    )
    .await
    .ok_json();
    assert_eq!(ids(&anon), vec![alices.clone(), public.clone()]);
    assert_keys(&anon[0], STATUS_KEYS, "status");
    // A mentioned reader sees the direct status; a stranger not the private one.
    let carols = get(c.clone(), "/api/v1/statuses", query(&[&private, &direct]))
        .await
        .ok_json();
    assert_eq!(ids(&carols), vec![direct.clone()]);
    // A follower sees the private one, with their own relation to it.
    follow(&a, &bob.id).await;
    let followers = get(a.clone(), "/api/v1/statuses", query(&[&private, &public]))
        .await
        .ok_json();
    assert_eq!(ids(&followers), vec![private.clone(), public.clone()]);
    assert_eq!(followers[0]["favourited"], false);
    // Muted authors are left out.
    a.post(&format!("/api/v1/accounts/{}/mute", bob.id), &[])
        .await
        .ok_json();
    let muted = get(a.clone(), "/api/v1/statuses", query(&[&public, &alices]))
        .await
        .ok_json();
    assert_eq!(ids(&muted), vec![alices.clone()]);
    // A boost of someone who blocks the reader is left out too.
    let dave = user_token(&server, "dave").await;
    let d = dave.api(&api);
    let daves = str_field(&post_status(&d, "dave in public").await, "id");
    let boost = str_field(
        &b.post(&format!("/api/v1/statuses/{daves}/reblog"), &[])
            .await
            .ok_json(),
        "id",
    );
    let seen = get(c.clone(), "/api/v1/statuses", query(&[&boost]))
        .await
        .ok_json();
    assert_eq!(ids(&seen), vec![boost.clone()]);
    d.post(&format!("/api/v1/accounts/{}/block", carol.id), &[])
        .await
        .ok_json();
    let seen = get(c.clone(), "/api/v1/statuses", query(&[&boost, &daves]))
        .await
        .ok_json();
    assert_eq!(seen, Value::Array(vec![]), "dave blocks carol");
    // At most 20 at once, as Mastodon.
    let many: Vec<String> = (1..=21).map(|n| n.to_string()).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    get(a.clone(), "/api/v1/statuses", query(&many))
        .await
        .err(422);

    // Accounts: in order, unknown ones left out, at most 40.
    let accounts = get(
        api.anon(),
        "/api/v1/accounts",
        query(&[&bob.id, "0", &alice.id, "x"]),
    )
    .await
    .ok_json();
    assert_eq!(ids(&accounts), vec![bob.id.clone(), alice.id.clone()]);
    assert_keys(&accounts[0], ACCOUNT_KEYS, "account");
    assert_eq!(accounts[0]["username"], "bob");
    let many: Vec<String> = (1..=41).map(|n| n.to_string()).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    get(b.clone(), "/api/v1/accounts", query(&many))
        .await
        .err(422);
    assert_eq!(
        get(b.clone(), "/api/v1/accounts", Vec::new())
            .await
            .ok_json(),
        Value::Array(vec![])
    );
    assert_no_panics(&server);
});
