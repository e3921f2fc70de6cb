//! Conformance with Mastodon's API description: `tests/conformance/conformance.py`
//! calls every endpoint Ferrodon implements with realistic data and validates
//! each response against the community OpenAPI spec of Mastodon
//! (`tests/conformance/mastodon-openapi.json`), on every lane. Disagreements
//! of the spec with real Mastodon are listed in `tests/conformance/exceptions.json`.
//!
//! The Python comes from `FERRODON_TEST_PYTHON`, a venv with
//! `tests/clients/requirements.txt` installed (jsonschema, requests):
//!
//! ```sh
//! python3 -m venv /tmp/mpy && /tmp/mpy/bin/pip install -r tests/clients/requirements.txt
//! FERRODON_TEST_PYTHON=/tmp/mpy/bin/python cargo test --test conformance -- --nocapture
//! ```
//!
//! Without it the test is skipped, unless `FERRODON_TEST_REQUIRE_ALL=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Read as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use ferrodon_testkit::{Lane, TestServer, lane_test};
use serde_json::{Value, json};

const SCRIPT_TIMEOUT: Duration = Duration::from_secs(300);

/// What the script prints before its coverage report.
const COVERAGE_MARKER: &str = "=== conformance coverage ===";

/// The Python to run, or `None` to skip.
fn python() -> Option<String> {
    match std::env::var("FERRODON_TEST_PYTHON") {
        Ok(p) if !p.is_empty() => Some(p),
        _ if ferrodon_testkit::require_all() => {
            panic!("FERRODON_TEST_REQUIRE_ALL=1 but FERRODON_TEST_PYTHON is not set")
        }
        _ => {
            eprintln!("skipping the conformance test: FERRODON_TEST_PYTHON is not set");
            None
        }
    }
}

/// Runs `ferrodon ARGS` against the server's database; its stdout on success.
fn admin(server: &TestServer, args: &[&str]) -> String {
    let (code, stdout, stderr) = server.command(args);
    assert_eq!(code, 0, "`ferrodon {}` failed: {stderr}", args.join(" "));
    stdout.trim().to_owned()
}

/// Accounts, a rule and an announcement made with the operator commands,
/// as the JSON the script takes.
fn setup(server: &TestServer) -> Value {
    let mut users = serde_json::Map::new();
    for name in ["alice", "bob", "carol", "dave"] {
        let id = create_account(server, name, &[]);
        users.insert(name.into(), json!({"id": id, "email": email_of(name)}));
    }
    let rule_id = admin(
        server,
        &["admin", "rules", "add", "No spam", "--hint", "Really."],
    );
    let announcement_id = admin(
        server,
        &[
            "admin",
            "announcements",
            "create",
            "Tea party on **Sunday**",
            "--starts-at",
            "2030-01-01T15:00:00Z",
            "--ends-at",
            "2030-01-01T18:00:00Z",
        ],
    );
    json!({
        "password": PASSWORD,
        "users": users,
        "rule_id": rule_id,
        "announcement_id": announcement_id,
        "domain": domain(server),
    })
}

/// Runs the script; returns (exit code, output).
fn run_script(python: &str, base_url: &str, setup: &str) -> (Option<i32>, String) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/conformance.py");
    let mut child = Command::new(python)
        .arg(&script)
        .arg(base_url)
        .arg(setup)
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + SCRIPT_TIMEOUT;
    let code = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status.code(),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let output = format!(
        "stdout:\n{}\nstderr:\n{}",
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default()
    );
    (code, output)
}

lane_test!(openapi_conformance, |lane: Lane| async move {
    let Some(python) = python() else {
        return;
    };
    // Polls may end after a second, so that one ends during the walk.
    let server = spawn_with(lane, &[("FERRODON_POLL_MIN_EXPIRATION", "1")]).await;
    let setup = setup(&server).to_string();
    let base_url = server.base_url.clone();
    let (code, output) =
        tokio::task::spawn_blocking(move || run_script(&python, &base_url, &setup))
            .await
            .unwrap();
    assert_eq!(
        code,
        Some(0),
        "the conformance script failed on {}\n{output}",
        lane.name()
    );
    assert!(output.contains("conformance: OK"), "{output}");
    // The whole report once (SQLite), its headings for the other lanes.
    if let Some(at) = output.find(COVERAGE_MARKER) {
        let report = &output[at..];
        let report = &report[..report.find("\nstderr:").unwrap_or(report.len())];
        let shown: Vec<&str> = report
            .lines()
            .filter(|l| lane == Lane::Sqlite || !l.starts_with("  "))
            .collect();
        eprintln!("[{}] {}", lane.name(), shown.join("\n"));
    }
    assert_no_panics(&server);
});
