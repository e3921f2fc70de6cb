//! Direct-message conversations and muted threads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use ferrodon_testkit::{Lane, lane_test};
use serde_json::{Value, json};

async fn conversations(api: &Api) -> Vec<Value> {
    api.get("/api/v1/conversations")
        .await
        .ok_json()
        .as_array()
        .unwrap()
        .clone()
}

fn participants(c: &Value) -> Vec<String> {
    let mut names: Vec<String> = c["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["username"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

async fn wait_conversations(api: &Api, what: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    wait_until(what, || async {
        let list = conversations(api).await;
        pred(&list).then_some(list)
    })
    .await
}

lane_test!(direct_conversations, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let carol = user_token(&server, "carol").await;
    let (a, b, c) = (alice.api(&api), bob.api(&api), carol.api(&api));

    let dm = post_status_with(&a, &[("status", "@bob psst"), ("visibility", "direct")]).await;
    let dm_id = str_field(&dm, "id");
    let bobs = wait_conversations(&b, "bob's conversation", |l| l.len() == 1).await;
    assert_eq!(bobs[0]["unread"], true, "{bobs:?}");
    assert_eq!(participants(&bobs[0]), vec!["alice"]);
    assert_eq!(bobs[0]["last_status"]["id"], dm_id.as_str());
    let alices = wait_conversations(&a, "alice's conversation", |l| l.len() == 1).await;
    assert_eq!(
        alices[0]["unread"], false,
        "the author has read it: {alices:?}"
    );
    assert_eq!(participants(&alices[0]), vec!["bob"]);
    assert!(conversations(&c).await.is_empty());

    // A reply in the same thread among the same people: the same conversation.
    let reply = post_status_with(
        &b,
        &[
            ("status", "@alice what is it"),
            ("visibility", "direct"),
            ("in_reply_to_id", &dm_id),
        ],
    )
    .await;
    let reply_id = str_field(&reply, "id");
    let alices = wait_conversations(&a, "the reply in alice's conversation", |l| {
        l.len() == 1 && l[0]["last_status"]["id"] == reply_id.as_str()
    })
    .await;
    assert_eq!(alices[0]["unread"], true, "{alices:?}");
    let conv_id = str_field(&alices[0], "id");
    let read = a
        .post(&format!("/api/v1/conversations/{conv_id}/read"), &[])
        .await
        .ok_json();
    assert_eq!(read["unread"], false, "{read}");
    assert_eq!(read["id"], conv_id.as_str());
    // Not someone else's.
    c.post(&format!("/api/v1/conversations/{conv_id}/read"), &[])
        .await
        .err(404);
    c.delete(&format!("/api/v1/conversations/{conv_id}"))
        .await
        .err(404);

    // More people: another conversation.
    let group = post_status_with(
        &a,
        &[("status", "@bob @carol party?"), ("visibility", "direct")],
    )
    .await;
    let alices = wait_conversations(&a, "two conversations", |l| l.len() == 2).await;
    assert_eq!(participants(&alices[0]), vec!["bob", "carol"]);
    assert_eq!(alices[0]["last_status"]["id"], group["id"]);
    let first = a.get("/api/v1/conversations?limit=1").await;
    assert_eq!(first.ok_json().as_array().unwrap().len(), 1);
    let next = link(&first, "next").expect("next link");
    let rest = a
        .get(&next.replace(&public_url(&server), ""))
        .await
        .ok_json();
    assert_eq!(participants(&rest[0]), vec!["bob"], "{rest}");
    wait_conversations(&c, "carol's conversation", |l| l.len() == 1).await;

    // Deleting the only status of a conversation removes it for everyone.
    a.delete(&format!("/api/v1/statuses/{}", str_field(&group, "id")))
        .await
        .ok_json();
    assert!(conversations(&c).await.is_empty());
    assert_eq!(conversations(&a).await.len(), 1);
    // Deleting the newest falls back to the one before.
    b.delete(&format!("/api/v1/statuses/{reply_id}"))
        .await
        .ok_json();
    let alices = conversations(&a).await;
    assert_eq!(alices[0]["last_status"]["id"], dm_id.as_str(), "{alices:?}");

    // Removing a conversation hides it until the next message.
    assert_eq!(
        b.delete(&format!(
            "/api/v1/conversations/{}",
            str_field(&conversations(&b).await[0], "id")
        ))
        .await
        .ok_json(),
        json!({})
    );
    assert!(conversations(&b).await.is_empty());
    post_status_with(
        &a,
        &[
            ("status", "@bob still there?"),
            ("visibility", "direct"),
            ("in_reply_to_id", &dm_id),
        ],
    )
    .await;
    wait_conversations(&b, "the conversation back", |l| l.len() == 1).await;
    api.anon().get("/api/v1/conversations").await.err(401);
    assert_no_panics(&server);
});

lane_test!(muted_threads, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let admin = jobs_admin(&server, "boss").await;
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let carol = user_token(&server, "carol").await;
    let (a, b, c) = (alice.api(&api), bob.api(&api), carol.api(&api));
    let senders = |api: Api| async move {
        let v = api.get("/api/v1/notifications").await.ok_json();
        v.as_array()
            .unwrap()
            .iter()
            .map(|n| {
                (
                    n["type"].as_str().unwrap().to_owned(),
                    n["account"]["username"].as_str().unwrap().to_owned(),
                )
            })
            .collect::<Vec<_>>()
    };

    let root = str_field(&post_status(&a, "a thread starts").await, "id");
    let reply = post_status_with(
        &b,
        &[("status", "@alice replying"), ("in_reply_to_id", &root)],
    )
    .await;
    wait_until("bob's mention", || async {
        senders(a.clone())
            .await
            .contains(&("mention".to_owned(), "bob".to_owned()))
            .then_some(())
    })
    .await;
    let muted = a
        .post(&format!("/api/v1/statuses/{root}/mute"), &[])
        .await
        .ok_json();
    assert_eq!(muted["muted"], true, "{muted}");
    // Any status of the thread shows it muted for alice, not for others.
    let reply_id = str_field(&reply, "id");
    assert_eq!(
        a.get(&format!("/api/v1/statuses/{reply_id}"))
            .await
            .ok_json()["muted"],
        true
    );
    assert_eq!(
        b.get(&format!("/api/v1/statuses/{reply_id}"))
            .await
            .ok_json()["muted"],
        false
    );
    post_status_with(
        &c,
        &[("status", "@alice me too"), ("in_reply_to_id", &reply_id)],
    )
    .await;
    c.post(&format!("/api/v1/statuses/{root}/favourite"), &[])
        .await
        .ok_json();
    // Outside the thread carol still gets through.
    post_status(&c, "@alice elsewhere").await;
    wait_until("carol's other mention", || async {
        senders(a.clone())
            .await
            .contains(&("mention".to_owned(), "carol".to_owned()))
            .then_some(())
    })
    .await;
    jobs_idle(&admin).await;
    let got = senders(a.clone()).await;
    assert!(
        !got.contains(&("favourite".to_owned(), "carol".to_owned())),
        "{got:?}"
    );
    assert_eq!(
        got.iter()
            .filter(|(t, w)| t == "mention" && w == "carol")
            .count(),
        1,
        "{got:?}"
    );
    let unmuted = a
        .post(&format!("/api/v1/statuses/{reply_id}/unmute"), &[])
        .await
        .ok_json();
    assert_eq!(unmuted["muted"], false, "{unmuted}");
    b.post(&format!("/api/v1/statuses/{root}/favourite"), &[])
        .await
        .ok_json();
    wait_until("bob's favourite after unmuting", || async {
        senders(a.clone())
            .await
            .contains(&("favourite".to_owned(), "bob".to_owned()))
            .then_some(())
    })
    .await;
    // Only statuses one can see.
    let private = str_field(
        &post_status_with(
            &b,
            &[("status", "followers only"), ("visibility", "private")],
        )
        .await,
        "id",
    );
    c.post(&format!("/api/v1/statuses/{private}/mute"), &[])
        .await
        .err(404);
    assert_no_panics(&server);
});
