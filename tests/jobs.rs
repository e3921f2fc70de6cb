//! Background jobs with real worker processes: killed with -9 mid-run,
//! stopped with SIGTERM, three of them sharing the scheduler, Redis going
//! away, and `web` + `worker` as separate processes delivering a busy
//! author's posts to every follower.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use ferrodon_testkit::{Lane, TestDatabase};
use sqlx::Connection;

/// A database (and for the redis lane a Redis namespace) with migrations applied.
struct Instance {
    lane: Lane,
    env: Vec<(String, String)>,
    db: TestDatabase,
    _dir: tempfile::TempDir,
}

impl Instance {
    async fn new(lane: Lane, extra: &[(&str, &str)]) -> Option<Instance> {
        if !ferrodon_testkit::lane_available(lane) {
            return None;
        }
        let db = TestDatabase::create(lane).await;
        let dir = tempfile::tempdir().unwrap();
        let mut env: Vec<(String, String)> = vec![
            ("FERRODON_DATA_DIR".into(), dir.path().display().to_string()),
            ("DATABASE_URL".into(), db.url.clone()),
            ("DATABASE_DIRECT_URL".into(), db.direct_url.clone()),
            (
                "PREPARED_STATEMENTS".into(),
                db.prepared_statements.to_string(),
            ),
            (
                "SECRET_KEY_BASE".into(),
                format!(
                    "{:032x}{:032x}",
                    rand::random::<u128>(),
                    rand::random::<u128>()
                ),
            ),
            ("FERRODON_DOMAIN".into(), "jobs.test".into()),
            ("FERRODON_JOB_LEASE".into(), "3".into()),
            ("FERRODON_WORKER_POLL_MS".into(), "50".into()),
            ("FERRODON_RATE_LIMIT_API".into(), "0".into()),
            ("FERRODON_RATE_LIMIT_SIGN_UP".into(), "0".into()),
            ("FERRODON_RATE_LIMIT_LOGIN".into(), "0".into()),
        ];
        if lane == Lane::Redis {
            env.push(("REDIS_URL".into(), ferrodon_testkit::redis_url().unwrap()));
            env.push((
                "REDIS_NAMESPACE".into(),
                ferrodon_testkit::unique_namespace(),
            ));
        }
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let inst = Instance {
            lane,
            env,
            db,
            _dir: dir,
        };
        let (code, out, err) = inst.cmd(&["migrate"]);
        assert_eq!(code, 0, "migrate: {out}\n{err}");
        Some(inst)
    }

    fn cmd(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(BIN)
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("FERRODON_LOG", "warn")
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Starts a long-running role; returns it once it listens.
    fn start(&self, args: &[&str]) -> Proc {
        let mut env = self.env.clone();
        env.push(("FERRODON_LISTEN".into(), "127.0.0.1:0".into()));
        env.push(("FERRODON_LOG_FORMAT".into(), "json".into()));
        let (child, logs, addr) = ferrodon_testkit::start(&PathBuf::from(BIN), args, &env);
        Proc {
            child: Some(child),
            logs,
            addr,
        }
    }

    /// (probes with `prefix` that ran, how many of them ran more than once).
    async fn probes(&self, prefix: &str) -> (i64, i64) {
        let q = "SELECT COUNT(*), COALESCE(SUM(CASE WHEN runs > 1 THEN 1 ELSE 0 END), 0) FROM job_probes WHERE key LIKE $1";
        let like = format!("{prefix}%");
        if self.lane == Lane::Sqlite {
            let mut c = sqlx::SqliteConnection::connect(&self.db.direct_url)
                .await
                .unwrap();
            sqlx::query_as(q)
                .bind(like)
                .fetch_one(&mut c)
                .await
                .unwrap()
        } else {
            let mut c = sqlx::PgConnection::connect(&self.db.direct_url)
                .await
                .unwrap();
            sqlx::query_as(q)
                .bind(like)
                .fetch_one(&mut c)
                .await
                .unwrap()
        }
    }

    /// Runs one query returning (i64, i64) rows.
    async fn pairs(&self, q: &'static str) -> Vec<(i64, i64)> {
        if self.lane == Lane::Sqlite {
            let mut c = sqlx::SqliteConnection::connect(&self.db.direct_url)
                .await
                .unwrap();
            sqlx::query_as(q).fetch_all(&mut c).await.unwrap()
        } else {
            let mut c = sqlx::PgConnection::connect(&self.db.direct_url)
                .await
                .unwrap();
            sqlx::query_as(q).fetch_all(&mut c).await.unwrap()
        }
    }
}

/// A running `ferrodon` process.
struct Proc {
    child: Option<Child>,
    logs: Arc<Mutex<Vec<String>>>,
    addr: String,
}

impl Proc {
    fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-KILL", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then the exit code (None if it did not stop within `timeout`).
    fn terminate(&mut self, timeout: Duration) -> Option<i32> {
        let child = self.child.as_mut()?;
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some(status.code().unwrap_or(-1));
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            let logs = self.logs.lock().map(|l| l.clone()).unwrap_or_default();
            let tail = logs.len().saturating_sub(40);
            eprintln!(
                "---- ferrodon log ({}) ----\n{}",
                self.addr,
                logs[tail..].join("\n")
            );
        }
    }
}

async fn wait_probes(
    inst: &Instance,
    prefix: &str,
    at_least: i64,
    timeout: Duration,
) -> (i64, i64) {
    let deadline = Instant::now() + timeout;
    loop {
        let (ran, dup) = inst.probes(prefix).await;
        if ran >= at_least {
            return (ran, dup);
        }
        assert!(
            Instant::now() < deadline,
            "only {ran} of {at_least} probes ran in {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// 10,000 jobs whose effect is a row keyed by the job; the worker is killed
/// with -9 twice during the run and restarted. Every effect is there; the
/// jobs that ran more than once (at-least-once) are counted and reported.
async fn crash_test(lane: Lane) {
    let Some(inst) = Instance::new(lane, &[]).await else {
        return;
    };
    let prefix = "crash-";
    // Each job takes 5 ms, so the run lasts seconds and the kills land mid-run.
    let (code, out, err) = inst.cmd(&[
        "jobs",
        "probe",
        "--count",
        "10000",
        "--prefix",
        prefix,
        "--wait",
        "0",
        "--hold-ms",
        "5",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    let mut worker = inst.start(&[
        "worker",
        "--queues",
        "default:8,push:6,ingress:4,mailers:2,pull:1",
        "--concurrency",
        "20",
    ]);
    for kill_after in [2500, 6000] {
        wait_probes(&inst, prefix, kill_after, Duration::from_secs(120)).await;
        worker.kill9();
        let (ran, _) = inst.probes(prefix).await;
        assert!(
            ran < 10_000,
            "all jobs ran before the kill; the test proves nothing"
        );
        worker = inst.start(&[
            "worker",
            "--queues",
            "default:8,push:6,ingress:4,mailers:2,pull:1",
            "--concurrency",
            "20",
        ]);
    }
    let (ran, dup) = wait_probes(&inst, prefix, 10_000, Duration::from_secs(180)).await;
    assert_eq!(ran, 10_000);
    eprintln!(
        "crash test on {}: all 10000 jobs applied; {dup} ran more than once",
        lane.name()
    );
    assert_eq!(worker.terminate(Duration::from_secs(30)), Some(0));
}

/// SIGTERM: running jobs finish within the deadline, the worker exits 0, and
/// nothing is lost; jobs still running at the deadline are handed back.
async fn sigterm_drains(lane: Lane) {
    let Some(inst) = Instance::new(lane, &[("FERRODON_WORKER_SHUTDOWN_TIMEOUT", "10")]).await
    else {
        return;
    };
    // 40 one-second jobs, 8 at a time.
    let (code, out, err) = inst.cmd(&[
        "jobs",
        "probe",
        "--count",
        "40",
        "--prefix",
        "drain-",
        "--wait",
        "0",
        "--hold-ms",
        "1000",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    let mut worker = inst.start(&["worker", "--concurrency", "8"]);
    wait_probes(&inst, "drain-", 8, Duration::from_secs(60)).await;
    let stopped = Instant::now();
    assert_eq!(
        worker.terminate(Duration::from_secs(30)),
        Some(0),
        "worker on SIGTERM"
    );
    assert!(
        stopped.elapsed() < Duration::from_secs(12),
        "drain took {:?}",
        stopped.elapsed()
    );
    let (ran_before, _) = inst.probes("drain-").await;
    assert!(
        ran_before < 40,
        "everything ran before the stop; the test proves nothing"
    );
    let mut worker = inst.start(&["worker", "--concurrency", "8"]);
    let (ran, dup) = wait_probes(&inst, "drain-", 40, Duration::from_secs(60)).await;
    assert_eq!(
        (ran, dup),
        (40, 0),
        "drained jobs must have been acknowledged"
    );
    assert_eq!(worker.terminate(Duration::from_secs(30)), Some(0));

    // A job that outlives the deadline is handed back and runs again later.
    let inst = Instance::new(lane, &[("FERRODON_WORKER_SHUTDOWN_TIMEOUT", "1")])
        .await
        .unwrap();
    let (code, out, err) = inst.cmd(&[
        "jobs",
        "probe",
        "--count",
        "1",
        "--prefix",
        "slow-",
        "--wait",
        "0",
        "--hold-ms",
        "4000",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    let mut worker = inst.start(&["worker"]);
    // Wait until the worker holds the job, then stop it.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, out, _) = inst.cmd(&["jobs", "stats", "--json"]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
        let busy: i64 = v["queues"]
            .as_array()
            .map(|qs| qs.iter().filter_map(|q| q["busy"].as_i64()).sum())
            .unwrap_or(0);
        if busy > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the worker never took the slow job"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(worker.terminate(Duration::from_secs(10)), Some(0));
    let log = worker.logs.lock().map(|l| l.join("\n")).unwrap_or_default();
    assert!(log.contains("handed back unfinished jobs"), "{log}");
    assert_eq!(
        inst.probes("slow-").await.0,
        0,
        "the slow job cannot have finished yet"
    );
    let mut worker = inst.start(&["worker"]);
    assert_eq!(
        wait_probes(&inst, "slow-", 1, Duration::from_secs(30))
            .await
            .0,
        1
    );
    assert_eq!(worker.terminate(Duration::from_secs(30)), Some(0));
}

/// Three workers run the scheduler; each two-second slot of the clean-up
/// tick runs exactly once.
async fn ticks_run_once(lane: Lane) {
    let Some(inst) = Instance::new(lane, &[("FERRODON_CLEANUP_INTERVAL", "2")]).await else {
        return;
    };
    let mut workers: Vec<Proc> = (0..3).map(|_| inst.start(&["worker"])).collect();
    tokio::time::sleep(Duration::from_secs(8)).await;
    for w in &mut workers {
        assert_eq!(w.terminate(Duration::from_secs(30)), Some(0));
    }
    let claimed = inst.pairs("SELECT slot, CAST(0 AS BIGINT) FROM scheduler_runs WHERE name = 'cleanup' ORDER BY slot").await;
    let slots: Vec<i64> = claimed.iter().map(|(s, _)| *s).collect();
    assert!(slots.len() >= 3, "too few ticks: {slots:?}");
    for pair in slots.windows(2) {
        assert_eq!(pair[1], pair[0] + 1, "a slot was skipped: {slots:?}");
    }
    // Every claimed slot's job ran, once.
    let runs = inst
        .pairs("SELECT CAST(SUBSTR(key, 14) AS BIGINT), CAST(runs AS BIGINT) FROM job_probes WHERE key LIKE 'tick:cleanup:%' ORDER BY key")
        .await;
    let ran: Vec<i64> = runs.iter().map(|(slot, _)| *slot).collect();
    let mut expected = slots.clone();
    // The last slot's job may still have been waiting when the workers stopped.
    if ran.len() + 1 == expected.len() {
        expected.pop();
    }
    assert_eq!(ran, expected, "claimed slots and runs differ");
    assert!(
        runs.iter().all(|(_, n)| *n == 1),
        "a tick ran twice: {runs:?}"
    );
}

macro_rules! on_backends {
    ($($name:ident),*) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() { super::$name(ferrodon_testkit::Lane::Sqlite).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() { super::$name(ferrodon_testkit::Lane::Postgres).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn pgbouncer() { super::$name(ferrodon_testkit::Lane::PgBouncer).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn redis() { super::$name(ferrodon_testkit::Lane::Redis).await }
        }
    )*};
}

on_backends!(crash_test, sigterm_drains, ticks_run_once);

/// With Redis stopped, posting still succeeds (the jobs wait in the
/// database's outbox), and the jobs run once Redis is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_survive_a_redis_outage() {
    let Some(mut redis) = OwnRedis::new() else {
        assert!(
            !ferrodon_testkit::require_all(),
            "redis-server is needed for this test"
        );
        eprintln!("skipping: cannot start redis-server");
        return;
    };
    let server = spawn_with(Lane::Sqlite, &[("REDIS_URL", &redis.url())]).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    follow(&alice.api(&api), &bob.id).await;

    redis.stop();
    let post = post_status(&bob.api(&api), "posted while Redis is down").await;
    let id = str_field(&post, "id");
    let url = format!(
        "sqlite:{}",
        server.db.direct_url.trim_start_matches("sqlite:")
    );
    let outbox = || async {
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM jobs WHERE kind = 'fan_out_status'")
            .fetch_one(&mut c)
            .await
            .unwrap()
    };
    assert_eq!(outbox().await, 1, "the fan-out job waits in the outbox");

    assert!(redis.start(), "redis-server did not start again");
    // The relay moves the job; the fan-out puts the post into alice's feed in Redis.
    let client = redis::Client::open(redis.url()).unwrap();
    let member = format!("{:020}", id.parse::<i64>().unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut conn = client.get_connection().unwrap();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("*feed:home:{}", alice.id))
            .query(&mut conn)
            .unwrap();
        let mut found = false;
        for k in keys {
            let score: Option<f64> = redis::cmd("ZSCORE")
                .arg(&k)
                .arg(&member)
                .query(&mut conn)
                .unwrap();
            found |= score.is_some();
        }
        if found {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the fan-out never ran after Redis came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(outbox().await, 0, "the outbox drained");
}

/// `web` and `worker` as separate processes on PostgreSQL + Redis: an author
/// with 100 local followers posts 60 statuses while the worker is killed
/// with -9 and restarted; every follower's home feed gets all 60.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_roles_deliver_through_a_worker_crash() {
    let Some(inst) = Instance::new(Lane::Redis, &[]).await else {
        return;
    };
    let web = inst.start(&["web"]);
    let mut worker = inst.start(&["worker", "--concurrency", "10"]);
    let api = Api::new(&format!("http://{}", web.addr));

    let app = register_app(&api).await;
    let app_token = app_token(&api, &app, "write:accounts").await;
    let signup = api.with_token(&app_token);
    let sign_up = |name: String| {
        let signup = signup.clone();
        async move {
            let v = signup
                .post(
                    "/api/v1/accounts",
                    &[
                        ("username", name.as_str()),
                        ("email", &format!("{name}@example.com")),
                        ("password", PASSWORD),
                        ("agreement", "true"),
                    ],
                )
                .await
                .ok_json();
            str_field(&v, "access_token")
        }
    };
    let author_token = sign_up("author".into()).await;
    let author = api.with_token(&author_token);
    let author_id = str_field(
        &author
            .get("/api/v1/accounts/verify_credentials")
            .await
            .ok_json(),
        "id",
    );
    let mut followers = Vec::new();
    for i in 0..100 {
        let token = sign_up(format!("follower{i}")).await;
        let f = api.with_token(&token);
        follow(&f, &author_id).await;
        let id = str_field(
            &f.get("/api/v1/accounts/verify_credentials").await.ok_json(),
            "id",
        );
        followers.push(id);
    }

    let mut posted = Vec::new();
    for i in 0..60 {
        if i == 20 {
            worker.kill9();
        }
        if i == 40 {
            worker = inst.start(&["worker", "--concurrency", "10"]);
        }
        let s = post_status(&author, &format!("post number {i}")).await;
        posted.push(format!(
            "{:020}",
            str_field(&s, "id").parse::<i64>().unwrap()
        ));
    }

    // Every follower's feed in Redis holds all 60 (read straight from Redis:
    // reading the home timeline would rebuild a feed from the database).
    let namespace = inst
        .env
        .iter()
        .find(|(k, _)| k == "REDIS_NAMESPACE")
        .map(|(_, v)| v.clone())
        .unwrap();
    let client = redis::Client::open(ferrodon_testkit::redis_url().unwrap()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let mut conn = client.get_connection().unwrap();
        let mut missing = 0;
        for f in &followers {
            let members: Vec<String> = redis::cmd("ZRANGE")
                .arg(format!("{namespace}:feed:home:{f}"))
                .arg(0)
                .arg(-1)
                .query(&mut conn)
                .unwrap();
            missing += posted.iter().filter(|p| !members.contains(p)).count();
        }
        if missing == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{missing} deliveries still missing"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(worker.terminate(Duration::from_secs(30)), Some(0));
}

/// The job figures as JSON for admins (`admin:read`), refused to others.
async fn admin_jobs_endpoint(lane: Lane) {
    if !ferrodon_testkit::lane_available(lane) {
        return;
    }
    let server = spawn(lane).await;
    let api = Api::of(&server);
    create_account(&server, "boss", &["--role", "admin"]);
    let app = register_app_with(&api, "read write admin:read", "urn:ietf:wg:oauth:2.0:oob").await;
    let boss = api.with_token(&password_token(&api, &app, &email_of("boss"), "admin:read").await);
    let v = boss.get("/api/v1/admin/jobs").await.ok_json();
    let expected = if lane == Lane::Redis { "redis" } else { "sql" };
    assert_eq!(v["backend"], expected, "{v}");
    let queues: Vec<&str> = v["queues"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|q| q["queue"].as_str())
        .collect();
    assert_eq!(
        queues,
        ["default", "push", "ingress", "pull", "mailers", "scheduler"]
    );
    for key in [
        "size",
        "latency_seconds",
        "busy",
        "scheduled",
        "retries",
        "dead",
    ] {
        assert!(v["queues"][0].get(key).is_some(), "{key} missing: {v}");
    }
    // A token without admin:read, and a user who is not an admin.
    let read_only = api.with_token(&password_token(&api, &app, &email_of("boss"), "read").await);
    read_only
        .get("/api/v1/admin/jobs")
        .await
        .err_is(403, "This action is outside the authorized scopes");
    create_account(&server, "pleb", &[]);
    let pleb = api.with_token(&password_token(&api, &app, &email_of("pleb"), "admin:read").await);
    pleb.get("/api/v1/admin/jobs").await.err(403);
    api.anon().get("/api/v1/admin/jobs").await.err(401);
}

on_backends!(admin_jobs_endpoint);

/// A dead job comes back with `ferrodon jobs retry-dead` and runs;
/// `jobs stats` shows the dead set before and after; `clear-dead` empties it.
async fn retry_dead_command(lane: Lane) {
    let Some(inst) = Instance::new(lane, &[]).await else {
        return;
    };
    // Two jobs that used up their attempts (as a worker leaves them).
    for key in ["dead-a", "dead-b"] {
        let payload = format!("{{\"key\":\"{key}\",\"hold_ms\":0}}");
        let id = rand::random::<u32>() as i64 + 1;
        if lane == Lane::Redis {
            let ns = inst
                .env
                .iter()
                .find(|(k, _)| k == "REDIS_NAMESPACE")
                .map(|(_, v)| v.clone())
                .unwrap();
            let member = serde_json::json!({"id": id, "q": "default", "k": "probe", "p": payload, "a": 25, "m": 25, "t": 0, "e": "boom"});
            let client = redis::Client::open(ferrodon_testkit::redis_url().unwrap()).unwrap();
            let mut conn = client.get_connection().unwrap();
            let _: i64 = redis::cmd("ZADD")
                .arg(format!("{ns}:{{jobs}}:default:dead"))
                .arg(1)
                .arg(member.to_string())
                .query(&mut conn)
                .unwrap();
        } else {
            let q = "INSERT INTO jobs (id, queue, kind, payload, attempts, max_attempts, run_at, dead_at, last_error, created_at) \
                     VALUES ($1, 'default', 'probe', $2, 25, 25, $3, $3, 'boom', $3)";
            let now = chrono::Utc::now();
            if lane == Lane::Sqlite {
                let mut c = sqlx::SqliteConnection::connect(&inst.db.direct_url)
                    .await
                    .unwrap();
                sqlx::query(q)
                    .bind(id)
                    .bind(&payload)
                    .bind(now)
                    .execute(&mut c)
                    .await
                    .unwrap();
            } else {
                let mut c = sqlx::PgConnection::connect(&inst.db.direct_url)
                    .await
                    .unwrap();
                sqlx::query(q)
                    .bind(id)
                    .bind(&payload)
                    .bind(now)
                    .execute(&mut c)
                    .await
                    .unwrap();
            }
        }
    }
    let dead_in_default = |json: &str| -> i64 {
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        v["queues"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["queue"] == "default")
            .unwrap()["dead"]
            .as_i64()
            .unwrap()
    };
    let (code, out, err) = inst.cmd(&["jobs", "stats", "--json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(dead_in_default(&out), 2, "{out}");

    let mut worker = inst.start(&["worker"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(inst.probes("dead-").await.0, 0, "a dead job ran by itself");
    let (code, out, err) = inst.cmd(&["jobs", "retry-dead", "--queue", "default"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("2 dead job(s) queued again"), "{out}");
    assert_eq!(
        wait_probes(&inst, "dead-", 2, Duration::from_secs(30)).await,
        (2, 0)
    );
    let (_, out, _) = inst.cmd(&["jobs", "stats", "--json"]);
    assert_eq!(dead_in_default(&out), 0, "{out}");
    // The worker publishes the same figures, and per-kind counters, as metrics.
    // (The counters move when the outcome is recorded, just after the effect: poll.)
    let metrics_addr = ferrodon_testkit::metrics_addr(&worker.logs.lock().unwrap())
        .expect("the worker's metrics listener");
    let worker_api = Api::new(&format!("http://{metrics_addr}"));
    let deadline = Instant::now() + Duration::from_secs(15);
    let metrics = loop {
        let m = worker_api.get("/metrics").await;
        if m.text
            .contains("ferrodon_jobs_processed_total{kind=\"probe\"} 2")
            || Instant::now() > deadline
        {
            break m;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(metrics.status, 200);
    for needle in [
        "ferrodon_jobs_queue_size{queue=\"default\"}",
        "ferrodon_jobs_queue_latency_seconds{queue=\"default\"}",
        "ferrodon_jobs_dead{queue=\"default\"}",
        "ferrodon_jobs_processed_total{kind=\"probe\"} 2",
        "ferrodon_job_duration_seconds_bucket{kind=\"probe\"",
    ] {
        assert!(
            metrics.text.contains(needle),
            "{needle} missing from:\n{}",
            metrics.text
        );
    }
    assert_eq!(worker.terminate(Duration::from_secs(30)), Some(0));
    let (code, out, _) = inst.cmd(&["jobs", "clear-dead"]);
    assert_eq!(code, 0);
    assert!(out.contains("0 dead job(s) deleted"), "{out}");
    let (code, _, err) = inst.cmd(&["jobs", "retry-dead", "--queue", "nope"]);
    assert_eq!(code, 2, "an unknown queue is a usage error: {err}");
    let (code, _, err) = inst.cmd(&["worker", "--queues", "default:0"]);
    assert_eq!(code, 2, "a zero weight is a usage error: {err}");
    assert!(err.contains("--queues"), "{err}");
}

on_backends!(retry_dead_command);
