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

use common::*;
use ferrodon_testkit::{Lane, TestServer, lane_test};
use serde_json::{Value, json};

/// What the script prints before its coverage report.
const COVERAGE_MARKER: &str = "=== conformance coverage ===";

/// The Python to run, or `None` to skip.
fn python() -> Option<String> {
    client_env("FERRODON_TEST_PYTHON", "conformance")
}

/// A 1×1 PNG.
const PNG_DOT: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
    0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

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
    for name in ["alice", "bob", "carol", "dave", "erin", "frank"] {
        let id = create_account(server, name, &[]);
        users.insert(name.into(), json!({"id": id, "email": email_of(name)}));
    }
    let rule_id = admin(
        server,
        &["admin", "rules", "add", "No spam", "--hint", "Really."],
    );
    // A custom emoji, from a 1×1 PNG.
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("blobcat.png");
    std::fs::write(&png, PNG_DOT).unwrap();
    admin(
        server,
        &[
            "admin",
            "emojis",
            "add",
            "blobcat",
            &png.to_string_lossy(),
            "--category",
            "Blobs",
        ],
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

lane_test!(openapi_conformance, |lane: Lane| async move {
    let Some(python) = python() else {
        return;
    };
    // Polls may end after a second, so that one ends during the walk; trends
    // are recomputed every second, so that the walk sees some; the page the
    // preview-card step links to is served on 127.0.0.1.
    let server = spawn_with(
        lane,
        &[
            ("FERRODON_POLL_MIN_EXPIRATION", "1"),
            ("FERRODON_TRENDS_INTERVAL", "1"),
            ("ALLOWED_PRIVATE_ADDRESSES", "127.0.0.1/32"),
        ],
    )
    .await;
    let setup = setup(&server).to_string();
    let base_url = server.base_url.clone();
    let (code, output) = tokio::task::spawn_blocking(move || {
        run_client_script(
            &python,
            &["tests/conformance/conformance.py", &base_url, &setup],
            &[("PYTHONUNBUFFERED", "1")],
        )
    })
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
