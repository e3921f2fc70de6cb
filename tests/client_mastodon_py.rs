//! Client compatibility: Mastodon.py (a real client library from PyPI) walks
//! a user journey against a real server on every lane.
//!
//! The Python comes from `FERRODON_TEST_PYTHON`, a venv with
//! `tests/clients/requirements.txt` installed:
//!
//! ```sh
//! python3 -m venv /tmp/mpy && /tmp/mpy/bin/pip install -r tests/clients/requirements.txt
//! FERRODON_TEST_PYTHON=/tmp/mpy/bin/python cargo test --test client_mastodon_py
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

/// The Python to run, or `None` to skip.
fn python() -> Option<String> {
    match std::env::var("FERRODON_TEST_PYTHON") {
        Ok(p) if !p.is_empty() => Some(p),
        _ if ferrodon_testkit::require_all() => {
            panic!("FERRODON_TEST_REQUIRE_ALL=1 but FERRODON_TEST_PYTHON is not set")
        }
        _ => {
            eprintln!("skipping the Mastodon.py test: FERRODON_TEST_PYTHON is not set");
            None
        }
    }
}

/// Runs the journey script against `base_url`; returns (exit code, output).
fn run_script(python: &str, base_url: &str) -> (Option<i32>, String) {
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients/mastodon_py_journey.py");
    let mut child = Command::new(python)
        .arg(&script)
        .arg(base_url)
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

lane_test!(mastodon_py_journey, |lane: Lane| async move {
    let Some(python) = python() else {
        return;
    };
    let server = spawn(lane).await;
    let base_url = server.base_url.clone();
    let (code, output) = tokio::task::spawn_blocking(move || run_script(&python, &base_url))
        .await
        .unwrap();
    assert_eq!(code, Some(0), "the Mastodon.py journey failed\n{output}");
    assert!(output.contains("Mastodon.py journey: OK"), "{output}");
    assert_no_panics(&server);
});
