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

use std::path::PathBuf;

use common::*;
use ferrodon_testkit::{Lane, lane_test};

/// The `node_modules` directory holding masto.js, or `None` to skip.
fn node_modules() -> Option<String> {
    let p = client_env("FERRODON_TEST_NODE_MODULES", "masto.js")?;
    assert!(
        PathBuf::from(&p).join("masto/package.json").exists(),
        "FERRODON_TEST_NODE_MODULES={p} has no masto.js (run `npm ci` in tests/clients/js)"
    );
    Some(p)
}

lane_test!(mastojs_journey, |lane: Lane| async move {
    let Some(node_modules) = node_modules() else {
        return;
    };
    let server = spawn(lane).await;
    let base_url = server.base_url.clone();
    let (code, output) = tokio::task::spawn_blocking(move || {
        run_client_script(
            "node",
            &["tests/clients/js/journey.mjs", &base_url],
            &[("FERRODON_TEST_NODE_MODULES", &node_modules)],
        )
    })
    .await
    .unwrap();
    assert_eq!(code, Some(0), "the masto.js journey failed\n{output}");
    assert!(output.contains("masto.js journey: OK"), "{output}");
    // Ferrodon takes images: the script skips the avatar only on servers that do not.
    assert!(output.contains("avatar: uploaded"), "{output}");
    assert_no_panics(&server);
});
