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

use common::*;
use ferrodon_testkit::{Lane, lane_test};

/// The Python to run, or `None` to skip.
fn python() -> Option<String> {
    client_env("FERRODON_TEST_PYTHON", "Mastodon.py")
}

lane_test!(mastodon_py_journey, |lane: Lane| async move {
    let Some(python) = python() else {
        return;
    };
    let server = spawn(lane).await;
    let base_url = server.base_url.clone();
    let (code, output) = tokio::task::spawn_blocking(move || {
        run_client_script(
            &python,
            &["tests/clients/mastodon_py_journey.py", &base_url],
            &[("PYTHONUNBUFFERED", "1")],
        )
    })
    .await
    .unwrap();
    assert_eq!(code, Some(0), "the Mastodon.py journey failed\n{output}");
    assert!(output.contains("Mastodon.py journey: OK"), "{output}");
    assert_no_panics(&server);
});
