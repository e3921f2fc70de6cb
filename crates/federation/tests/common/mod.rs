//! Helpers shared by the wire tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use ferrodon_federation::wire::{self, Item};

pub fn fixture(rel: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/activitypub")
        .join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn fixtures_in(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/activitypub")
        .join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{}", dir.display());
    files
}

pub fn activity(rel: &str) -> wire::Activity {
    wire::parse_activity(&fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

pub fn actor(rel: &str) -> wire::Actor {
    wire::parse_actor(&fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

pub fn object(rel: &str) -> wire::Object {
    wire::parse_object(&fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

pub fn embedded_object(a: &wire::Activity) -> &wire::Object {
    a.object()
        .and_then(Item::as_object)
        .unwrap_or_else(|| panic!("no embedded object in {:?}", a.id))
}
