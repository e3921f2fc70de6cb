//! With home feeds in Redis, a Redis outage does not take timelines down:
//! reads fall back to the database, and posting still works.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use ferrodon_testkit::Lane;

/// A private `redis-server` on a free port, stopped on drop.
struct OwnRedis {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl OwnRedis {
    fn start() -> Option<OwnRedis> {
        let port = TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let dir = tempfile::tempdir().ok()?;
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if std::time::Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(OwnRedis {
            child,
            port,
            _dir: dir,
        })
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_timeline_survives_a_redis_outage() {
    let Some(mut redis) = OwnRedis::start() else {
        assert!(
            !ferrodon_testkit::require_all(),
            "redis-server is needed for this test"
        );
        eprintln!("skipping: cannot start redis-server");
        return;
    };
    let url = format!("redis://127.0.0.1:{}/0", redis.port);
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
