//! The binary's roles and operator commands: `web`, `worker` and
//! `streaming` refuse an unmigrated database, start after `migrate`, answer
//! `/health`, run an instance together, and stop cleanly on SIGTERM;
//! `config check` redacts secrets and rejects bad values with exit code 2.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use ferrodon_testkit::{Lane, TestDatabase, lane_test};

const ROLES: [&str; 3] = ["web", "worker", "streaming"];
const STOP: Duration = Duration::from_secs(30);

/// The environment of an instance on `db`, without starting anything.
fn instance_env(
    lane: Lane,
    db: &TestDatabase,
    data_dir: &tempfile::TempDir,
) -> Vec<(String, String)> {
    let mut env = vec![
        (
            "FERRODON_DATA_DIR".to_owned(),
            data_dir.path().display().to_string(),
        ),
        ("DATABASE_URL".to_owned(), db.url.clone()),
        ("DATABASE_DIRECT_URL".to_owned(), db.direct_url.clone()),
        (
            "PREPARED_STATEMENTS".to_owned(),
            db.prepared_statements.to_string(),
        ),
        (
            "SECRET_KEY_BASE".to_owned(),
            format!(
                "{:032x}{:032x}",
                rand::random::<u128>(),
                rand::random::<u128>()
            ),
        ),
        ("FERRODON_LOG_FORMAT".to_owned(), "json".to_owned()),
    ];
    if lane == Lane::Redis {
        env.push((
            "REDIS_URL".into(),
            ferrodon_testkit::redis_url().expect("lane checked"),
        ));
        env.push((
            "REDIS_NAMESPACE".into(),
            ferrodon_testkit::unique_namespace(),
        ));
    }
    env
}

/// Runs a one-shot command (`migrate`, `admin …`) against `env`.
fn run_cmd(args: &[&str], env: &[(String, String)]) -> (i32, String, String) {
    let (code, stdout, stderr) = run_to_exit(args, env, Duration::from_secs(120));
    let code = code.unwrap_or_else(|| panic!("`ferrodon {}` did not finish", args.join(" ")));
    (code, stdout, stderr)
}

async fn health(base: &str, path: &str) -> Resp {
    Api::new(base).get(path).await
}

lane_test!(
    roles_need_migrations_then_start_and_stop,
    |lane: Lane| async move {
        let db = TestDatabase::create(lane).await;
        let data_dir = tempfile::tempdir().unwrap();
        let mut env = instance_env(lane, &db, &data_dir);
        env.push(("FERRODON_LISTEN".into(), "127.0.0.1:0".into()));

        // Unmigrated: each role refuses to start, and says why.
        for role in ROLES {
            let (code, stdout, stderr) = run_to_exit(&[role], &env, Duration::from_secs(30));
            let code = code.unwrap_or_else(|| {
                panic!(
                    "`ferrodon {role}` kept running on an unmigrated database\n{stdout}\n{stderr}"
                )
            });
            assert_ne!(
                code, 0,
                "`ferrodon {role}` on an unmigrated database must fail"
            );
            let out = format!("{stdout}\n{stderr}").to_ascii_lowercase();
            assert!(
                out.contains("migrat"),
                "`ferrodon {role}` must mention migrations:\n{out}"
            );
            assert!(
                !out.contains("panicked"),
                "`ferrodon {role}` panicked:\n{out}"
            );
        }

        // Migrate (twice: it is idempotent).
        for _ in 0..2 {
            let (code, stdout, stderr) = run_cmd(&["migrate"], &env);
            assert_eq!(
                code, 0,
                "migrate failed\nstdout: {stdout}\nstderr: {stderr}"
            );
        }

        // Now each role starts, answers /health, and exits 0 on SIGTERM.
        for role in ROLES {
            let mut p = RoleProcess::start(&[role], &env);
            let resp = health(&p.base_url(), "/health").await;
            assert_eq!(resp.status, 200, "{role} /health: {}", resp.describe());
            if role == "streaming" {
                let resp = health(&p.base_url(), "/api/v1/streaming/health").await;
                assert_eq!(resp.status, 200, "{}", resp.describe());
                assert_eq!(resp.text.trim(), "OK");
            }
            assert_eq!(p.terminate(STOP), Some(0), "`ferrodon {role}` on SIGTERM");
        }
    }
);

lane_test!(split_roles_run_an_instance, |lane: Lane| async move {
    let db = TestDatabase::create(lane).await;
    let data_dir = tempfile::tempdir().unwrap();
    let env = instance_env(lane, &db, &data_dir);
    let (code, stdout, stderr) = run_cmd(&["migrate"], &env);
    assert_eq!(
        code, 0,
        "migrate failed\nstdout: {stdout}\nstderr: {stderr}"
    );

    let mut web = RoleProcess::start(&["web"], &env);
    let mut worker = RoleProcess::start(&["worker"], &env);
    let mut streaming = RoleProcess::start(&["streaming"], &env);
    let api = Api::new(&web.base_url());

    let mut users = Vec::new();
    for name in ["alice", "bob"] {
        let email = email_of(name);
        let (code, stdout, stderr) = run_cmd(
            &[
                "admin",
                "accounts",
                "create",
                name,
                "--email",
                &email,
                "--password",
                PASSWORD,
            ],
            &env,
        );
        assert_eq!(code, 0, "create {name}\nstdout: {stdout}\nstderr: {stderr}");
        // At the default log level, stdout holds only the id (scripts capture it).
        let id = stdout.trim().to_owned();
        assert!(
            !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()),
            "`admin accounts create` must print only the account id on stdout, got {stdout:?}"
        );
        let app = register_app(&api).await;
        let token = password_token(&api, &app, &email, "read write follow push").await;
        users.push((id, api.with_token(&token)));
    }
    let (bob_id, bob) = users.pop().unwrap();
    let (_, alice) = users.pop().unwrap();

    // A follow, a post, and the worker's fan-out into alice's home.
    follow(&alice, &bob_id).await;
    let s = post_status(&bob, "posted through the web role").await;
    let id = str_field(&s, "id");
    wait_home(&alice, "the worker's fan-out", |ids| ids.contains(&id)).await;
    assert_eq!(
        health(&streaming.base_url(), "/api/v1/streaming/health")
            .await
            .text
            .trim(),
        "OK"
    );
    assert_eq!(health(&worker.base_url(), "/health").await.status, 200);

    for (name, p) in [
        ("web", &mut web),
        ("worker", &mut worker),
        ("streaming", &mut streaming),
    ] {
        assert_eq!(p.terminate(STOP), Some(0), "`ferrodon {name}` on SIGTERM");
    }
});

lane_test!(serve_stops_cleanly, |lane: Lane| async move {
    let mut server = spawn(lane).await;
    let api = Api::of(&server);
    assert_eq!(api.get("/health").await.status, 200);
    let alice = user_token(&server, "alice").await;
    post_status(&alice.api(&api), "before shutdown").await;
    assert_eq!(
        server.terminate(STOP),
        Some(0),
        "`ferrodon serve` on SIGTERM"
    );
});

/// A minimal environment for commands that must not touch a database.
fn bare_env(data_dir: &tempfile::TempDir, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = vec![(
        "FERRODON_DATA_DIR".to_owned(),
        data_dir.path().display().to_string(),
    )];
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    env
}

#[test]
fn config_check_redacts_secrets() {
    let data_dir = tempfile::tempdir().unwrap();
    let secret = format!(
        "{:032x}{:032x}",
        rand::random::<u128>(),
        rand::random::<u128>()
    );
    let env = bare_env(
        &data_dir,
        &[
            (
                "DATABASE_URL",
                "postgres://ferro:s3cr3t-db-pw@db.example:5432/ferrodon",
            ),
            (
                "DATABASE_DIRECT_URL",
                "postgres://ferro:s3cr3t-direct-pw@db.example:5432/ferrodon",
            ),
            ("REDIS_URL", "redis://:s3cr3t-redis-pw@127.0.0.1:6379/0"),
            ("SECRET_KEY_BASE", &secret),
            ("FERRODON_DOMAIN", "social.example"),
            ("FERRODON_REGISTRATIONS", "approval"),
        ],
    );
    let (code, stdout, stderr) = run_to_exit(&["config", "check"], &env, Duration::from_secs(60));
    assert_eq!(
        code,
        Some(0),
        "config check failed\nstdout: {stdout}\nstderr: {stderr}"
    );
    let all = format!("{stdout}\n{stderr}");
    for leaked in [
        "s3cr3t-db-pw",
        "s3cr3t-direct-pw",
        "s3cr3t-redis-pw",
        secret.as_str(),
    ] {
        assert!(
            !all.contains(leaked),
            "config check printed a secret ({leaked}):\n{all}"
        );
    }
    // The effective values are shown.
    assert!(
        stdout.contains("social.example"),
        "domain missing:\n{stdout}"
    );
    assert!(
        stdout.contains("approval"),
        "registrations missing:\n{stdout}"
    );
    assert!(stdout.contains("listen"), "listen missing:\n{stdout}");
}

#[test]
fn bad_configuration_is_a_one_line_error() {
    let data_dir = tempfile::tempdir().unwrap();
    for (key, value) in [
        ("FERRODON_LISTEN", "nonsense"),
        ("FERRODON_REGISTRATIONS", "sometimes"),
        ("FERRODON_PASSWORD_GRANT", "perhaps"),
        ("DB_POOL", "many"),
        ("FERRODON_MAX_BODY_BYTES", "-1"),
        ("FERRODON_HTTPS", "maybe"),
        ("DATABASE_URL", "mysql://nope"),
    ] {
        for args in [&["config", "check"][..], &["serve"][..]] {
            let env = bare_env(&data_dir, &[(key, value), ("FERRODON_LOG_FORMAT", "text")]);
            let (code, stdout, stderr) = run_to_exit(args, &env, Duration::from_secs(30));
            let cmd = args.join(" ");
            assert_eq!(
                code,
                Some(2),
                "`ferrodon {cmd}` with {key}={value}: exit code\nstdout: {stdout}\nstderr: {stderr}"
            );
            let message = stderr.trim();
            assert_eq!(
                message.lines().count(),
                1,
                "`ferrodon {cmd}` with {key}={value}: one line on stderr, got:\n{stderr}"
            );
            assert!(
                message.contains(key),
                "`ferrodon {cmd}` with {key}={value}: the error names the key: {message}"
            );
            assert!(!message.contains("panicked"), "{message}");
        }
    }
}
