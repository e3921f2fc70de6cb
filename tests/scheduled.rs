//! Scheduled statuses: kept until their time, then published through the
//! normal posting path by a delayed job.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{Duration, SecondsFormat, Utc};
use common::*;
use ferrodon_testkit::{Lane, lane_test};
use reqwest::Method;
use serde_json::{Value, json};

fn in_secs(secs: i64) -> String {
    (Utc::now() + Duration::seconds(secs)).to_rfc3339_opts(SecondsFormat::Millis, true)
}

async fn own_statuses(api: &Api, account: &str) -> Vec<Value> {
    api.get(&format!("/api/v1/accounts/{account}/statuses"))
        .await
        .ok_json()
        .as_array()
        .unwrap()
        .clone()
}

lane_test!(scheduling_and_publishing, |lane: Lane| async move {
    // One second ahead is enough here (Mastodon's five minutes by default).
    let server = spawn_with(lane, &[("FERRODON_SCHEDULED_MIN_OFFSET", "1")]).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let (a, b) = (alice.api(&api), bob.api(&api));

    let s = a
        .post(
            "/api/v1/statuses",
            &[
                ("status", "Good morning, future"),
                ("spoiler_text", "later"),
                ("visibility", "unlisted"),
                ("language", "en"),
                ("scheduled_at", &in_secs(4)),
                ("poll[options][]", "yes"),
                ("poll[options][]", "no"),
                ("poll[expires_in]", "3600"),
            ],
        )
        .await
        .ok_json();
    let sid = str_field(&s, "id");
    assert_timestamp(s["scheduled_at"].as_str().unwrap(), "scheduled_at");
    assert_eq!(s["params"]["text"], "Good morning, future");
    assert_eq!(s["params"]["spoiler_text"], "later");
    assert_eq!(s["params"]["visibility"], "unlisted");
    assert_eq!(s["params"]["language"], "en");
    assert_eq!(s["params"]["poll"]["options"], json!(["yes", "no"]));
    assert_eq!(s["params"]["poll"]["expires_in"], 3600);
    assert_eq!(s["params"]["scheduled_at"], Value::Null);
    assert_eq!(s["media_attachments"], json!([]));
    assert!(
        s.get("content").is_none(),
        "a ScheduledStatus, not a Status"
    );

    let listed = a.get("/api/v1/scheduled_statuses").await.ok_json();
    assert_eq!(ids(&listed), vec![sid.clone()]);
    assert_eq!(
        a.get(&format!("/api/v1/scheduled_statuses/{sid}"))
            .await
            .ok_json(),
        s
    );
    b.get(&format!("/api/v1/scheduled_statuses/{sid}"))
        .await
        .err_is(404, "Record not found");
    assert!(ids(&b.get("/api/v1/scheduled_statuses").await.ok_json()).is_empty());
    assert!(
        own_statuses(&a, &alice.id).await.is_empty(),
        "not published yet"
    );

    // At its time it is published, once, with its poll and its options.
    let published = wait_until("the scheduled status to be published", || async {
        let list = own_statuses(&a, &alice.id).await;
        (!list.is_empty()).then_some(list)
    })
    .await;
    assert_eq!(published.len(), 1, "{published:?}");
    let p = &published[0];
    assert_eq!(p["spoiler_text"], "later");
    assert_eq!(p["visibility"], "unlisted");
    assert!(
        p["content"]
            .as_str()
            .unwrap()
            .contains("Good morning, future")
    );
    assert_eq!(p["poll"]["options"].as_array().unwrap().len(), 2);
    // (The scheduled status goes right after the post is made.)
    wait_until("the scheduled status to go", || async {
        let list = a.get("/api/v1/scheduled_statuses").await.ok_json();
        list.as_array().unwrap().is_empty().then_some(())
    })
    .await;
    a.get(&format!("/api/v1/scheduled_statuses/{sid}"))
        .await
        .err(404);

    // A time in the past publishes at once.
    let now = a
        .post(
            "/api/v1/statuses",
            &[("status", "already late"), ("scheduled_at", &in_secs(-60))],
        )
        .await
        .ok_json();
    assert!(now["content"].as_str().unwrap().contains("already late"));

    // Rescheduling moves it; cancelling drops it.
    let later = a
        .post(
            "/api/v1/statuses",
            &[("status", "moved up"), ("scheduled_at", &in_secs(3600))],
        )
        .await
        .ok_json();
    let later_id = str_field(&later, "id");
    let dropped = a
        .post_json(
            "/api/v1/statuses",
            json!({"status": "never", "scheduled_at": in_secs(3)}),
        )
        .await
        .ok_json();
    let dropped_id = str_field(&dropped, "id");
    assert_eq!(
        a.send(
            Method::DELETE,
            &format!("/api/v1/scheduled_statuses/{dropped_id}"),
            Body::None,
            &[]
        )
        .await
        .ok_json(),
        json!({})
    );
    let moved = a
        .send(
            Method::PUT,
            &format!("/api/v1/scheduled_statuses/{later_id}"),
            Body::form(&[("scheduled_at", &in_secs(3))]),
            &[],
        )
        .await
        .ok_json();
    assert_eq!(moved["params"]["text"], "moved up");
    b.send(
        Method::PUT,
        &format!("/api/v1/scheduled_statuses/{later_id}"),
        Body::form(&[("scheduled_at", &in_secs(3))]),
        &[],
    )
    .await
    .err(404);
    wait_until("the rescheduled status", || async {
        let list = own_statuses(&a, &alice.id).await;
        list.iter()
            .any(|s| s["content"].as_str().unwrap_or("").contains("moved up"))
            .then_some(())
    })
    .await;
    // Well past the cancelled one's time: it never appears.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let all = own_statuses(&a, &alice.id).await;
    assert!(
        !all.iter()
            .any(|s| s["content"].as_str().unwrap_or("").contains("never")),
        "{all:?}"
    );
    assert_eq!(all.len(), 3, "published once each: {all:?}");
    assert_no_panics(&server);
});

lane_test!(scheduling_rules, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let a = alice.api(&api);

    // Mastodon's five minutes ahead.
    a.post(
        "/api/v1/statuses",
        &[("status", "soon"), ("scheduled_at", &in_secs(120))],
    )
    .await
    .err_is(
        422,
        "Validation failed: Scheduled at The scheduled date must be in the future",
    );
    a.post(
        "/api/v1/statuses",
        &[("status", "when?"), ("scheduled_at", "next tuesday")],
    )
    .await
    .err_is(422, "Validation failed: Scheduled at is invalid");
    a.post(
        "/api/v1/statuses",
        &[("status", ""), ("scheduled_at", &in_secs(3600))],
    )
    .await
    .err_is(422, "Validation failed: Text can't be blank");
    a.post(
        "/api/v1/statuses",
        &[
            ("status", "a reply"),
            ("in_reply_to_id", "12345"),
            ("scheduled_at", &in_secs(3600)),
        ],
    )
    .await
    .err(404);

    // 25 a day at most.
    let day = (Utc::now() + Duration::days(2))
        .date_naive()
        .and_hms_opt(9, 0, 0)
        .unwrap()
        .and_utc();
    for i in 0..25 {
        let at = (day + Duration::minutes(i)).to_rfc3339();
        a.post(
            "/api/v1/statuses",
            &[("status", &format!("post {i}")), ("scheduled_at", &at)],
        )
        .await
        .ok_json();
    }
    let at = (day + Duration::hours(5)).to_rfc3339();
    a.post(
        "/api/v1/statuses",
        &[("status", "one too many"), ("scheduled_at", &at)],
    )
    .await
    .err_is(
        422,
        "Validation failed: You have exceeded the limit of 25 scheduled posts for today",
    );
    let next_day = (day + Duration::days(1)).to_rfc3339();
    let other = a
        .post(
            "/api/v1/statuses",
            &[("status", "tomorrow"), ("scheduled_at", &next_day)],
        )
        .await
        .ok_json();
    // Moving one into the full day is refused too.
    a.send(
        Method::PUT,
        &format!("/api/v1/scheduled_statuses/{}", str_field(&other, "id")),
        Body::form(&[("scheduled_at", &at)]),
        &[],
    )
    .await
    .err(422);

    // Paging: 20 by default, Link to the rest.
    let first = a.get("/api/v1/scheduled_statuses").await;
    let next = link(&first, "next").expect("a next link");
    assert_eq!(first.ok_json().as_array().unwrap().len(), 20);
    let rest = a.get(&next).await.ok_json();
    assert_eq!(rest.as_array().unwrap().len(), 6);
    assert_no_panics(&server);
});
