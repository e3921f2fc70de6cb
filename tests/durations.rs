//! Durations and times clients send: every one is bounded before any date
//! arithmetic, so a huge, negative or far-future value is a 422 with a clear
//! message, never a panic (500).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use ferrodon_testkit::{Lane, lane_test};
use reqwest::Method;
use serde_json::json;

const HUGE: &[&str] = &[
    "1000000000000000000",
    "9223372036854775807",
    "9223372036854775",
    "3153600001",
];

lane_test!(durations_are_bounded, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let a = alice.api(&api);
    let mute = format!("/api/v1/accounts/{}/mute", bob.id);

    // Mutes: a duration too long for any calendar is refused.
    for huge in [
        "1000000000000000000",
        "9223372036854775807",
        "9223372036854775",
    ] {
        let resp = a.post(&mute, &[("duration", huge)]).await;
        assert_eq!(
            resp.err(422),
            "Validation failed: Duration is too long",
            "{huge}"
        );
        let resp = a
            .post_json(&mute, json!({ "duration": huge.parse::<i64>().unwrap() }))
            .await;
        resp.err(422);
    }
    let resp = a.post(&mute, &[("duration", "-5")]).await;
    resp.err(422);
    let rel = a
        .get(&format!("/api/v1/accounts/relationships?id[]={}", bob.id))
        .await
        .ok_json();
    assert_eq!(rel[0]["muting"], false, "refused mutes left nothing behind");
    // A JSON float is not a whole number of seconds: no panic either way.
    let resp = a.post_json(&mute, json!({ "duration": 1e18 })).await;
    assert!(resp.status < 500, "{}", resp.describe());
    a.post(&format!("/api/v1/accounts/{}/unmute", bob.id), &[])
        .await
        .ok_json();
    // An ordinary duration still works.
    let rel = a.post(&mute, &[("duration", "86400")]).await.ok_json();
    assert_eq!(rel["muting"], true);
    assert_timestamp(
        rel["muting_expires_at"].as_str().unwrap_or_default(),
        "muting_expires_at",
    );

    // Filters, v2 and v1.
    for huge in HUGE {
        let resp = a
            .post(
                "/api/v2/filters",
                &[("title", "t"), ("context[]", "home"), ("expires_in", huge)],
            )
            .await;
        resp.err(422);
        let resp = a
            .post(
                "/api/v1/filters",
                &[("phrase", "t"), ("context[]", "home"), ("expires_in", huge)],
            )
            .await;
        resp.err(422);
    }
    let resp = a
        .post(
            "/api/v2/filters",
            &[("title", "t"), ("context[]", "home"), ("expires_in", "-1")],
        )
        .await;
    resp.err(422);

    // Polls.
    for huge in HUGE.iter().chain(&["-1"]) {
        let resp = a
            .post(
                "/api/v1/statuses",
                &[
                    ("status", "poll"),
                    ("poll[options][]", "a"),
                    ("poll[options][]", "b"),
                    ("poll[expires_in]", huge),
                ],
            )
            .await;
        resp.err(422);
    }

    // Scheduled statuses: past the year 9999 is refused, both when
    // scheduling and when rescheduling; the end of 9999 is kept.
    for far in [
        "+10000-01-01T00:00:00",
        "+262142-12-31T23:59:59",
        "+262143-12-31T23:59:59",
    ] {
        let resp = a
            .post(
                "/api/v1/statuses",
                &[("status", "later"), ("scheduled_at", far)],
            )
            .await;
        assert_eq!(resp.status, 422, "{far}: {}", resp.describe());
    }
    let s = a
        .post(
            "/api/v1/statuses",
            &[
                ("status", "much later"),
                ("scheduled_at", "9999-12-31T23:59:00Z"),
            ],
        )
        .await
        .ok_json();
    let sid = str_field(&s, "id");
    let resp = a
        .send(
            Method::PUT,
            &format!("/api/v1/scheduled_statuses/{sid}"),
            Body::form(&[("scheduled_at", "+10000-01-01T00:00:00")]),
            &[],
        )
        .await;
    assert_eq!(resp.status, 422, "{}", resp.describe());
    assert_no_panics(&server);
});
