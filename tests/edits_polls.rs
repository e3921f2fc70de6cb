//! Polls (create, validation, votes, hidden totals, expiry notifications)
//! and status edits (history, source, notifications to boosters).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use ferrodon_testkit::{Lane, lane_test};
use reqwest::Method;
use serde_json::{Value, json};

async fn put(api: &Api, path: &str, form: &[(&str, &str)]) -> Resp {
    api.send(Method::PUT, path, Body::form(form), &[]).await
}

fn poll_form<'a>(
    text: &'a str,
    options: &[&'a str],
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![("status", text)];
    for o in options {
        form.push(("poll[options][]", *o));
    }
    form.extend_from_slice(extra);
    form
}

fn option_counts(poll: &Value) -> Vec<Value> {
    poll["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["votes_count"].clone())
        .collect()
}

async fn notifications_of(api: &Api, kind: &str) -> Vec<Value> {
    api.get(&format!("/api/v1/notifications?types[]={kind}"))
        .await
        .ok_json()
        .as_array()
        .unwrap()
        .clone()
}

lane_test!(polls_create_validate_and_vote, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let carol = user_token(&server, "carol").await;
    let (a, b, c) = (alice.api(&api), bob.api(&api), carol.api(&api));

    // Form parameters.
    let status = post_status_with(
        &a,
        &poll_form(
            "Lunch?",
            &["pizza", " soup ", "salad"],
            &[("poll[expires_in]", "3600")],
        ),
    )
    .await;
    let poll = &status["poll"];
    assert_eq!(poll["multiple"], false, "{poll}");
    assert_eq!(poll["expired"], false);
    assert_eq!(poll["votes_count"], 0);
    assert_eq!(poll["voters_count"], 0);
    assert_eq!(poll["emojis"], json!([]));
    let titles: Vec<&str> = poll["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, vec!["pizza", "soup", "salad"]);
    assert_eq!(option_counts(poll), vec![json!(0), json!(0), json!(0)]);
    assert_timestamp(poll["expires_at"].as_str().unwrap(), "expires_at");
    // The author counts as having voted (Mastodon: they cannot vote).
    assert_eq!(poll["voted"], true);
    assert_eq!(poll["own_votes"], json!([]));
    let poll_id = str_field(poll, "id");
    let status_id = str_field(&status, "id");

    // A JSON body, multiple choice.
    let multi = a
        .post_json(
            "/api/v1/statuses",
            json!({"status": "Which days?", "poll": {"options": ["mon", "tue", "wed", "thu"],
                   "expires_in": 86400, "multiple": true}}),
        )
        .await
        .ok_json();
    assert_eq!(multi["poll"]["multiple"], true, "{multi}");
    let multi_id = str_field(&multi["poll"], "id");

    // Invalid polls, one rule at a time, with Mastodon's messages.
    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (
            vec!["only"],
            "600",
            "Validation failed: Choices must have more than one item",
        ),
        (
            vec!["a", "b", "c", "d", "e"],
            "600",
            "Validation failed: Choices can't contain more than 4 items",
        ),
        (
            vec!["a", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"],
            "600",
            "Validation failed: Choices cannot be longer than 50 characters each",
        ),
        (
            vec!["a", "a"],
            "600",
            "Validation failed: Choices contain duplicate items",
        ),
        (
            vec!["a", "b"],
            "299",
            "Validation failed: Deadline is too soon",
        ),
        (
            vec!["a", "b"],
            "2629747",
            "Validation failed: Deadline is too far into the future",
        ),
    ];
    for (options, expires_in, message) in cases {
        a.post(
            "/api/v1/statuses",
            &poll_form("bad", &options, &[("poll[expires_in]", expires_in)]),
        )
        .await
        .err_is(422, message);
    }
    a.post_json(
        "/api/v1/statuses",
        json!({"status": "no deadline", "poll": {"options": ["a", "b"]}}),
    )
    .await
    .err_is(
        422,
        "Validation failed: Deadline can't be blank, Deadline is too far into the future",
    );
    // A poll and media together.
    a.post(
        "/api/v1/statuses",
        &poll_form(
            "both",
            &["a", "b"],
            &[("poll[expires_in]", "600"), ("media_ids[]", "1")],
        ),
    )
    .await
    .err_is(422, "Cannot attach more than 4 files");
    // The limits are the instance's.
    let instance = api.get("/api/v2/instance").await.ok_json();
    assert_eq!(
        instance["configuration"]["polls"],
        json!({"max_options": 4, "max_characters_per_option": 50,
               "min_expiration": 300, "max_expiration": 2_629_746})
    );

    // Voting on a single-choice poll.
    let path = format!("/api/v1/polls/{poll_id}/votes");
    a.post(&path, &[("choices[]", "0")])
        .await
        .err_is(422, "Validation failed: You cannot vote in your own polls");
    b.post(&path, &[("choices[]", "3")]).await.err_is(
        422,
        "Validation failed: The chosen vote option does not exist",
    );
    b.post(&path, &[("choices[]", "0"), ("choices[]", "1")])
        .await
        .err_is(
            422,
            "Validation failed: You have already voted on this poll",
        );
    b.post(&path, &[]).await.err(400);
    let voted = b.post(&path, &[("choices[]", "1")]).await.ok_json();
    assert_eq!(voted["voted"], true, "{voted}");
    assert_eq!(voted["own_votes"], json!([1]));
    assert_eq!(voted["votes_count"], 1);
    assert_eq!(voted["voters_count"], 1);
    assert_eq!(option_counts(&voted), vec![json!(0), json!(1), json!(0)]);
    b.post(&path, &[("choices[]", "0")]).await.err_is(
        422,
        "Validation failed: You have already voted on this poll",
    );
    let voted = c.post_json(&path, json!({"choices": [1]})).await.ok_json();
    assert_eq!(voted["votes_count"], 2);
    assert_eq!(voted["voters_count"], 2);

    // Multiple choice: votes and voters counted apart; no option twice.
    let mpath = format!("/api/v1/polls/{multi_id}/votes");
    let v = b
        .post(&mpath, &[("choices[]", "0"), ("choices[]", "2")])
        .await
        .ok_json();
    assert_eq!(v["own_votes"], json!([0, 2]), "{v}");
    assert_eq!(
        (v["votes_count"].clone(), v["voters_count"].clone()),
        (json!(2), json!(1))
    );
    b.post(&mpath, &[("choices[]", "2")]).await.err_is(
        422,
        "Validation failed: You have already voted on this poll",
    );
    // Another option later is allowed (as Mastodon); still one voter.
    let v = b.post(&mpath, &[("choices[]", "3")]).await.ok_json();
    assert_eq!(v["own_votes"], json!([0, 2, 3]));
    assert_eq!(
        (v["votes_count"].clone(), v["voters_count"].clone()),
        (json!(3), json!(1))
    );
    let v = c.post(&mpath, &[("choices[]", "2")]).await.ok_json();
    assert_eq!(
        (v["votes_count"].clone(), v["voters_count"].clone()),
        (json!(4), json!(2))
    );
    assert_eq!(
        option_counts(&v),
        vec![json!(1), json!(0), json!(2), json!(1)]
    );

    // GET /api/v1/polls/:id per viewer; anonymous readers get no `voted`.
    let seen = c.get(&format!("/api/v1/polls/{poll_id}")).await.ok_json();
    assert_eq!(seen["own_votes"], json!([1]));
    let anon = api.get(&format!("/api/v1/polls/{poll_id}")).await.ok_json();
    assert!(
        anon.get("voted").is_none() && anon.get("own_votes").is_none(),
        "{anon}"
    );
    assert_eq!(anon["votes_count"], 2);
    api.get("/api/v1/polls/12345").await.err(404);

    // The poll in the status and in timelines, with each viewer's votes.
    let shown = b
        .get(&format!("/api/v1/statuses/{status_id}"))
        .await
        .ok_json();
    assert_eq!(shown["poll"]["own_votes"], json!([1]), "{shown}");
    assert_eq!(shown["poll"]["voted"], true);
    follow(&c, &alice.id).await;
    let home = wait_until("the poll in carol's home", || async {
        let list = c.get("/api/v1/timelines/home").await.ok_json();
        list.as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == status_id.as_str())
            .cloned()
    })
    .await;
    assert_eq!(home["poll"]["own_votes"], json!([1]), "{home}");
    let dave = user_token(&server, "dave").await;
    let public = dave
        .api(&api)
        .get("/api/v1/timelines/public")
        .await
        .ok_json();
    let in_public = public
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == status_id.as_str())
        .expect("the poll on the public timeline")
        .clone();
    assert_eq!(in_public["poll"]["voted"], false, "{in_public}");
    assert_eq!(in_public["poll"]["own_votes"], json!([]));
    assert_eq!(in_public["poll"]["votes_count"], 2);

    // Hidden totals: null per option until the end, for everyone.
    let hidden = post_status_with(
        &a,
        &poll_form(
            "Secret ballot",
            &["yes", "no"],
            &[("poll[expires_in]", "600"), ("poll[hide_totals]", "true")],
        ),
    )
    .await;
    let hidden_id = str_field(&hidden["poll"], "id");
    let v = b
        .post(
            &format!("/api/v1/polls/{hidden_id}/votes"),
            &[("choices[]", "0")],
        )
        .await
        .ok_json();
    assert_eq!(option_counts(&v), vec![Value::Null, Value::Null], "{v}");
    assert_eq!(v["votes_count"], 1);
    let own = a.get(&format!("/api/v1/polls/{hidden_id}")).await.ok_json();
    assert_eq!(option_counts(&own), vec![Value::Null, Value::Null]);

    // A poll on a followers-only status is hidden from others.
    let private = post_status_with(
        &a,
        &poll_form(
            "Friends only",
            &["x", "y"],
            &[("poll[expires_in]", "600"), ("visibility", "private")],
        ),
    )
    .await;
    let private_poll = str_field(&private["poll"], "id");
    b.get(&format!("/api/v1/polls/{private_poll}"))
        .await
        .err(404);
    b.post(
        &format!("/api/v1/polls/{private_poll}/votes"),
        &[("choices[]", "0")],
    )
    .await
    .err(404);
    let v = c
        .post(
            &format!("/api/v1/polls/{private_poll}/votes"),
            &[("choices[]", "0")],
        )
        .await
        .ok_json();
    assert_eq!(v["voted"], true);
    assert_no_panics(&server);
});

lane_test!(
    poll_expiry_notifies_author_and_voters,
    |lane: Lane| async move {
        // A poll may last one second here (test-only setting).
        let server = spawn_with(lane, &[("FERRODON_POLL_MIN_EXPIRATION", "1")]).await;
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
        let instance = api.get("/api/v2/instance").await.ok_json();
        assert_eq!(instance["configuration"]["polls"]["min_expiration"], 1);

        let status = post_status_with(
            &a,
            &poll_form(
                "Quick!",
                &["a", "b"],
                &[("poll[expires_in]", "3"), ("poll[hide_totals]", "true")],
            ),
        )
        .await;
        let poll_id = str_field(&status["poll"], "id");
        let status_id = str_field(&status, "id");
        let votes = format!("/api/v1/polls/{poll_id}/votes");
        b.post(&votes, &[("choices[]", "0")]).await.ok_json();
        c.post(&votes, &[("choices[]", "1")]).await.ok_json();

        for (who, client) in [("alice", &a), ("bob", &b), ("carol", &c)] {
            let list = wait_until(&format!("{who}'s poll notification"), || async {
                let list = notifications_of(client, "poll").await;
                (!list.is_empty()).then_some(list)
            })
            .await;
            assert_eq!(list.len(), 1, "{who}: {list:?}");
            assert_eq!(list[0]["type"], "poll");
            assert_eq!(list[0]["account"]["id"], alice.id.as_str());
            assert_eq!(list[0]["status"]["id"], status_id.as_str());
            assert_eq!(list[0]["status"]["poll"]["expired"], true);
        }
        assert!(notifications_of(&d, "poll").await.is_empty());

        // Ended: totals shown, votes refused.
        let ended = d.get(&format!("/api/v1/polls/{poll_id}")).await.ok_json();
        assert_eq!(ended["expired"], true, "{ended}");
        assert_eq!(option_counts(&ended), vec![json!(1), json!(1)]);
        d.post(&votes, &[("choices[]", "0")])
            .await
            .err_is(422, "Validation failed: The poll has already ended");
        // Still one each a moment later (the job is unique per poll and end).
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        assert_eq!(notifications_of(&b, "poll").await.len(), 1);
        assert_no_panics(&server);
    }
);

lane_test!(
    edits_history_source_and_notifications,
    |lane: Lane| async move {
        let server = spawn(lane).await;
        let api = Api::of(&server);
        let alice = user_token(&server, "alice").await;
        let bob = user_token(&server, "bob").await;
        let carol = user_token(&server, "carol").await;
        let (a, b, c) = (alice.api(&api), bob.api(&api), carol.api(&api));
        follow(&b, &alice.id).await;

        let status = post_status_with(&a, &[("status", "first #draft"), ("language", "en")]).await;
        let id = str_field(&status, "id");
        assert_eq!(status["edited_at"], Value::Null);
        // Never edited: a history of one.
        let history = api
            .get(&format!("/api/v1/statuses/{id}/history"))
            .await
            .ok_json();
        assert_eq!(history.as_array().unwrap().len(), 1, "{history}");
        assert_eq!(history[0]["content"], status["content"]);

        b.post(&format!("/api/v1/statuses/{id}/reblog"), &[])
            .await
            .ok_json();
        wait_home(&b, "alice's status in bob's home", |ids| ids.contains(&id)).await;

        // Only the author edits; others get 404 as in Mastodon.
        put(
            &b,
            &format!("/api/v1/statuses/{id}"),
            &[("status", "hijack")],
        )
        .await
        .err(404);
        b.get(&format!("/api/v1/statuses/{id}/source"))
            .await
            .err(404);
        put(&a, &format!("/api/v1/statuses/{id}"), &[("status", "  ")])
            .await
            .err_is(422, "Validation failed: Text can't be blank");
        put(&a, "/api/v1/statuses/999999", &[("status", "x")])
            .await
            .err(404);

        let edited = put(
            &a,
            &format!("/api/v1/statuses/{id}"),
            &[("status", "second @carol #final"), ("spoiler_text", "cw")],
        )
        .await
        .ok_json();
        assert_eq!(edited["id"], id.as_str());
        assert_timestamp(edited["edited_at"].as_str().unwrap(), "edited_at");
        assert!(
            edited["content"].as_str().unwrap().contains("second"),
            "{edited}"
        );
        assert_eq!(edited["spoiler_text"], "cw");
        assert_eq!(edited["sensitive"], true);
        assert_eq!(edited["language"], "en");
        let tags: Vec<&str> = edited["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(tags, vec!["final"]);
        assert_eq!(edited["mentions"][0]["username"], "carol");

        let source = a
            .get(&format!("/api/v1/statuses/{id}/source"))
            .await
            .ok_json();
        assert_eq!(
            source,
            json!({"id": id, "text": "second @carol #final", "spoiler_text": "cw"})
        );
        let history = api
            .get(&format!("/api/v1/statuses/{id}/history"))
            .await
            .ok_json();
        let history = history.as_array().unwrap();
        assert_eq!(history.len(), 2);
        assert!(history[0]["content"].as_str().unwrap().contains("first"));
        assert_eq!(history[0]["created_at"], status["created_at"]);
        assert_eq!(history[0]["sensitive"], false);
        assert!(history[1]["content"].as_str().unwrap().contains("second"));
        assert_eq!(history[1]["spoiler_text"], "cw");
        assert_eq!(history[1]["created_at"], edited["edited_at"]);
        assert_eq!(history[1]["account"]["id"], alice.id.as_str());
        assert_eq!(history[1]["media_attachments"], json!([]));
        assert_eq!(history[1]["emojis"], json!([]));
        assert!(history[1].get("poll").is_none());

        // The booster hears of the edit; the newly mentioned of the mention.
        let updates = wait_until("bob's update notification", || async {
            let list = notifications_of(&b, "update").await;
            (!list.is_empty()).then_some(list)
        })
        .await;
        assert_eq!(updates[0]["status"]["id"], id.as_str());
        assert_eq!(updates[0]["account"]["id"], alice.id.as_str());
        wait_until("carol's mention", || async {
            (!notifications_of(&c, "mention").await.is_empty()).then_some(())
        })
        .await;
        assert!(notifications_of(&c, "update").await.is_empty());
        // Bob's home shows the edited text.
        let home = b.get("/api/v1/timelines/home").await.ok_json();
        let entry = home
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id.as_str())
            .expect("the edited status in bob's home")
            .clone();
        assert!(
            entry["content"].as_str().unwrap().contains("second"),
            "{entry}"
        );

        // Changing nothing records nothing.
        put(
            &a,
            &format!("/api/v1/statuses/{id}"),
            &[("status", "second @carol #final"), ("spoiler_text", "cw")],
        )
        .await
        .ok_json();
        let again = api
            .get(&format!("/api/v1/statuses/{id}/history"))
            .await
            .ok_json();
        assert_eq!(again.as_array().unwrap().len(), 2);

        // A poll edited: its options change, its votes are reset.
        let with_poll = post_status_with(
            &a,
            &poll_form("Vote", &["a", "b"], &[("poll[expires_in]", "600")]),
        )
        .await;
        let pid = str_field(&with_poll, "id");
        let poll_id = str_field(&with_poll["poll"], "id");
        c.post(
            &format!("/api/v1/polls/{poll_id}/votes"),
            &[("choices[]", "0")],
        )
        .await
        .ok_json();
        let edited = a
            .send(
                Method::PUT,
                &format!("/api/v1/statuses/{pid}"),
                Body::Json(json!({"status": "Vote again",
                "poll": {"options": ["a", "b", "c"], "expires_in": 900}})),
                &[],
            )
            .await
            .ok_json();
        assert_eq!(edited["poll"]["id"], poll_id.as_str(), "{edited}");
        assert_eq!(edited["poll"]["votes_count"], 0);
        assert_eq!(edited["poll"]["voters_count"], 0);
        assert_eq!(
            option_counts(&edited["poll"]),
            vec![json!(0), json!(0), json!(0)]
        );
        let seen = c.get(&format!("/api/v1/polls/{poll_id}")).await.ok_json();
        assert_eq!(seen["voted"], false);
        assert_eq!(seen["own_votes"], json!([]));
        let history = api
            .get(&format!("/api/v1/statuses/{pid}/history"))
            .await
            .ok_json();
        assert_eq!(
            history[0]["poll"],
            json!({"options": [{"title": "a"}, {"title": "b"}]})
        );
        assert_eq!(
            history[1]["poll"],
            json!({"options": [{"title": "a"}, {"title": "b"}, {"title": "c"}]})
        );
        // Invalid poll on edit: 422, nothing changed.
        a.send(
            Method::PUT,
            &format!("/api/v1/statuses/{pid}"),
            Body::Json(json!({"status": "x", "poll": {"options": ["only"], "expires_in": 900}})),
            &[],
        )
        .await
        .err_is(
            422,
            "Validation failed: Choices must have more than one item",
        );
        // An edit without `poll` removes it (Mastodon: clients send the whole post).
        let removed = put(
            &a,
            &format!("/api/v1/statuses/{pid}"),
            &[("status", "no poll")],
        )
        .await
        .ok_json();
        assert_eq!(removed["poll"], Value::Null, "{removed}");
        api.get(&format!("/api/v1/polls/{poll_id}")).await.err(404);
        assert_no_panics(&server);
    }
);
