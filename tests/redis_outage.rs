//! With home feeds in Redis, a Redis outage does not take timelines down:
//! reads fall back to the database, and posting still works.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use ferrodon_testkit::Lane;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_timeline_survives_a_redis_outage() {
    let Some(mut redis) = OwnRedis::new() else {
        assert!(
            !ferrodon_testkit::require_all(),
            "redis-server is needed for this test"
        );
        eprintln!("skipping: cannot start redis-server");
        return;
    };
    let url = redis.url();
    let server = spawn_with(Lane::Sqlite, &[("REDIS_URL", &url)]).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    follow(&alice.api(&api), &bob.id).await;
    let before = str_field(
        &post_status(&bob.api(&api), "before the outage").await,
        "id",
    );
    wait_home(&alice.api(&api), "fan-out through Redis", |ids| {
        ids.contains(&before)
    })
    .await;

    redis.stop();
    // Reads come from the database now.
    let home = alice
        .api(&api)
        .get("/api/v1/timelines/home")
        .await
        .ok_json();
    let ids: Vec<&str> = home
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert!(ids.contains(&before.as_str()), "{home}");
    // Writes do not depend on Redis: the post is stored and visible.
    let during = str_field(
        &post_status(&bob.api(&api), "during the outage").await,
        "id",
    );
    let home = alice
        .api(&api)
        .get("/api/v1/timelines/home")
        .await
        .ok_json();
    let ids: Vec<&str> = home
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert!(ids.contains(&during.as_str()), "{home}");
}
