//! Test support shared by the storage tests and the end-to-end tests.
//!
//! A *lane* is one storage setup the whole suite runs on:
//! - `sqlite`: a SQLite file in a temporary directory (always available);
//! - `postgres`: a fresh PostgreSQL database (`FERRODON_TEST_DATABASE_URL`);
//! - `pgbouncer`: the same, reached through PgBouncer in transaction mode
//!   (`FERRODON_TEST_PGBOUNCER_URL`) with `PREPARED_STATEMENTS=false`;
//! - `redis`: PostgreSQL with home feeds in Redis (`FERRODON_TEST_REDIS_URL`).
//!
//! A lane whose variable is unset is skipped with a message, unless
//! `FERRODON_TEST_REQUIRE_ALL=1`, which turns the skip into a failure.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod server;

use std::path::PathBuf;

pub use server::{ServerOptions, TestServer, metrics_addr, start};

/// One storage setup the suite runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    Sqlite,
    Postgres,
    PgBouncer,
    Redis,
}

impl Lane {
    pub const ALL: [Lane; 4] = [Lane::Sqlite, Lane::Postgres, Lane::PgBouncer, Lane::Redis];

    pub fn name(self) -> &'static str {
        match self {
            Lane::Sqlite => "sqlite",
            Lane::Postgres => "postgres",
            Lane::PgBouncer => "pgbouncer",
            Lane::Redis => "redis",
        }
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Whether a missing lane must fail the test run.
pub fn require_all() -> bool {
    env("FERRODON_TEST_REQUIRE_ALL").is_some_and(|v| v == "1" || v == "true")
}

/// Decides whether `lane` can run here. Returns `false` (after saying why)
/// when it must be skipped; panics when it is missing under
/// `FERRODON_TEST_REQUIRE_ALL=1`.
pub fn lane_available(lane: Lane) -> bool {
    let missing = match lane {
        Lane::Sqlite => None,
        Lane::Postgres => env("FERRODON_TEST_DATABASE_URL")
            .is_none()
            .then_some("FERRODON_TEST_DATABASE_URL"),
        Lane::PgBouncer => {
            if env("FERRODON_TEST_DATABASE_URL").is_none() {
                Some("FERRODON_TEST_DATABASE_URL")
            } else if env("FERRODON_TEST_PGBOUNCER_URL").is_none() {
                Some("FERRODON_TEST_PGBOUNCER_URL")
            } else {
                None
            }
        }
        Lane::Redis => {
            if env("FERRODON_TEST_DATABASE_URL").is_none() {
                Some("FERRODON_TEST_DATABASE_URL")
            } else if env("FERRODON_TEST_REDIS_URL").is_none() {
                Some("FERRODON_TEST_REDIS_URL")
            } else {
                None
            }
        }
    };
    match missing {
        None => true,
        Some(var) if require_all() => {
            panic!(
                "lane {} required (FERRODON_TEST_REQUIRE_ALL=1) but {var} is not set",
                lane.name()
            )
        }
        Some(var) => {
            eprintln!("skipping lane {}: {var} is not set", lane.name());
            false
        }
    }
}

/// A database for one test: the URL the code under test uses, the direct
/// URL for migrations, and what to remove afterwards.
pub struct TestDatabase {
    pub url: String,
    pub direct_url: String,
    /// `false` when the URL goes through PgBouncer.
    pub prepared_statements: bool,
    pg_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    /// A fresh database for `lane`. Call only after [`lane_available`] said yes.
    pub async fn create(lane: Lane) -> TestDatabase {
        match lane {
            Lane::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite:{}", dir.path().join("test.sqlite3").display());
                TestDatabase {
                    url: url.clone(),
                    direct_url: url,
                    prepared_statements: true,
                    pg_name: None,
                    _dir: Some(dir),
                }
            }
            Lane::Postgres | Lane::Redis | Lane::PgBouncer => {
                let admin = env("FERRODON_TEST_DATABASE_URL").expect("checked by lane_available");
                let name = format!("ferrodon_t_{:016x}", rand::random::<u64>());
                let mut conn = connect_admin(&admin).await;
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                let direct_url = with_database(&admin, &name);
                let (url, prepared_statements) = if lane == Lane::PgBouncer {
                    let bouncer =
                        env("FERRODON_TEST_PGBOUNCER_URL").expect("checked by lane_available");
                    (with_database(&bouncer, &name), false)
                } else {
                    (direct_url.clone(), true)
                };
                TestDatabase {
                    url,
                    direct_url,
                    prepared_statements,
                    pg_name: Some(name),
                    _dir: None,
                }
            }
        }
    }
}

impl Drop for TestDatabase {
    /// Drops a PostgreSQL test database, also when the test failed (SQLite
    /// files go with their temporary directory).
    fn drop(&mut self) {
        let (Some(name), Some(admin)) = (self.pg_name.take(), env("FERRODON_TEST_DATABASE_URL"))
        else {
            return;
        };
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                let mut conn = connect_admin(&admin).await;
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await;
            });
        })
        .join();
    }
}

async fn connect_admin(url: &str) -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect(url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to FERRODON_TEST_DATABASE_URL: {e}"))
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, name: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("valid database URL");
    parsed.set_path(&format!("/{name}"));
    parsed.to_string()
}

/// The Redis URL for the redis lane.
pub fn redis_url() -> Option<String> {
    env("FERRODON_TEST_REDIS_URL")
}

/// A key prefix no other test run uses.
pub fn unique_namespace() -> String {
    format!("ferrodon-test-{:016x}", rand::random::<u64>())
}

/// The repository root (for fixtures and scripts).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .and_then(|p| p.parent())
        .map(PathBuf::from)
        .expect("crates/testkit sits two levels below the root")
}

/// Runs `body` once per available lane: `lane_test!(name, |lane| async move { … })`
/// makes a module `name` with one `#[tokio::test]` per lane.
#[macro_export]
macro_rules! lane_test {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run(lane: $crate::Lane) {
                if !$crate::lane_available(lane) {
                    return;
                }
                let body = $body;
                body(lane).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run($crate::Lane::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run($crate::Lane::Postgres).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn pgbouncer() {
                run($crate::Lane::PgBouncer).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn redis() {
                run($crate::Lane::Redis).await
            }
        }
    };
}
