//! Client compatibility: masto.js (a real client library from npm, major
//! version 7) walks a two-user journey against a real server on every lane.
//!
//! Node comes from `PATH`; masto.js from `FERRODON_TEST_NODE_MODULES`, a
//! `node_modules` directory where `npm ci` installed
//! `tests/clients/js/package-lock.json`:
//!
//! ```sh
//! (cd tests/clients/js && npm ci)
//! FERRODON_TEST_NODE_MODULES=$PWD/tests/clients/js/node_modules cargo test --test client_mastojs
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
use ferrodon_testkit::{Lane, lane_test};

const SCRIPT_TIMEOUT: Duration = Duration::from_secs(300);

/// The `node_modules` directory holding masto.js, or `None` to skip.
fn node_modules() -> Option<String> {
    match std::env::var("FERRODON_TEST_NODE_MODULES") {
        Ok(p) if !p.is_empty() => {
            let masto = PathBuf::from(&p).join("masto/package.json");
            assert!(
                masto.exists(),
                "FERRODON_TEST_NODE_MODULES={p} has no masto.js (run `npm ci` in tests/clients/js)"
            );
            Some(p)
        }
        _ if ferrodon_testkit::require_all() => {
            panic!("FERRODON_TEST_REQUIRE_ALL=1 but FERRODON_TEST_NODE_MODULES is not set")
        }
        _ => {
            eprintln!("skipping the masto.js test: FERRODON_TEST_NODE_MODULES is not set");
            None
        }
    }
}

/// Runs the journey script against `base_url`; returns (exit code, output).
fn run_script(node_modules: &str, base_url: &str) -> (Option<i32>, String) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients/js/journey.mjs");
    let mut child = Command::new("node")
        .arg(&script)
        .arg(base_url)
        .env("FERRODON_TEST_NODE_MODULES", node_modules)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run node: {e}"));
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

lane_test!(mastojs_journey, |lane: Lane| async move {
    let Some(node_modules) = node_modules() else {
        return;
    };
    let server = spawn(lane).await;
    let base_url = server.base_url.clone();
    let (code, output) = tokio::task::spawn_blocking(move || run_script(&node_modules, &base_url))
        .await
        .unwrap();
    assert_eq!(code, Some(0), "the masto.js journey failed\n{output}");
    assert!(output.contains("masto.js journey: OK"), "{output}");
    // Ferrodon takes images: the script skips the avatar only on servers that do not.
    assert!(output.contains("avatar: uploaded"), "{output}");
    assert_no_panics(&server);
});
