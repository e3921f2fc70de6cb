//! Files an instance keeps: the data directory and the SQLite database (with
//! its `-wal` and `-shm` files and `secrets.toml`) are the owner's alone.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(unix)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use common::*;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_dir_and_database_are_private() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let db = data.join("ferrodon.sqlite3");
    let env = vec![
        ("FERRODON_DATA_DIR".to_owned(), data.display().to_string()),
        (
            "DATABASE_URL".to_owned(),
            format!("sqlite:{}", db.display()),
        ),
        ("FERRODON_OUTBOUND_PUBLIC".to_owned(), "false".to_owned()),
    ];
    let mut server = RoleProcess::start(&["serve"], &env);
    // Something written, so the write-ahead log is in use.
    let api = Api::new(&server.base_url());
    register_app(&api).await;
    assert_eq!(mode(&data), 0o700, "the data dir");
    assert_eq!(mode(&db), 0o600, "the database");
    assert_eq!(mode(&data.join("secrets.toml")), 0o600, "the secrets");
    for suffix in ["-wal", "-shm"] {
        let file = data.join(format!("ferrodon.sqlite3{suffix}"));
        assert!(file.exists(), "{} is in use", file.display());
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    assert_eq!(server.terminate(Duration::from_secs(30)), Some(0));

    // A database made readable by others (an older version, a copy) is
    // made private again when the instance starts.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut server = RoleProcess::start(&["serve"], &env);
    assert_eq!(mode(&db), 0o600, "the database, tightened");
    assert!(
        server.log_text().contains("now 0600"),
        "{}",
        server.log_text()
    );
    assert_eq!(server.terminate(Duration::from_secs(30)), Some(0));
}
