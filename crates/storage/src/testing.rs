//! Storage tests run on every available lane (SQLite always; PostgreSQL,
//! PgBouncer and Redis when their variables are set).

use ferrodon_model::AccountId;
use ferrodon_testkit::{Lane, TestDatabase};

use crate::{Db, DbOptions};

/// A migrated database for `lane`, or `None` when the lane is skipped.
pub async fn migrated(lane: Lane) -> Option<(Db, TestDatabase)> {
    if !ferrodon_testkit::lane_available(lane) {
        return None;
    }
    let test_db = TestDatabase::create(lane).await;
    let direct = Db::connect(&DbOptions {
        url: test_db.direct_url.clone(),
        pool: 2,
        prepared_statements: true,
    })
    .await
    .ok()?;
    direct.migrate().await.ok()?;
    direct.close().await;
    let db = Db::connect(&DbOptions {
        url: test_db.url.clone(),
        pool: 4,
        prepared_statements: test_db.prepared_statements,
    })
    .await
    .ok()?;
    Some((db, test_db))
}

/// Runs a storage test on each lane: `storage_test!(name, |db| async move { … })`.
macro_rules! storage_test {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run(lane: ferrodon_testkit::Lane) {
                let Some((db, _guard)) = $crate::testing::migrated(lane).await else {
                    return;
                };
                let body = $body;
                body(db).await;
            }
            #[tokio::test]
            async fn sqlite() {
                run(ferrodon_testkit::Lane::Sqlite).await
            }
            #[tokio::test]
            async fn postgres() {
                run(ferrodon_testkit::Lane::Postgres).await
            }
            #[tokio::test]
            async fn pgbouncer() {
                run(ferrodon_testkit::Lane::PgBouncer).await
            }
        }
    };
}
pub(crate) use storage_test;

/// A new local account with a random id.
pub async fn local_account(db: &Db) -> AccountId {
    let id = AccountId(rand::random::<i64>().abs());
    crate::accounts::insert_local(
        db,
        &crate::accounts::NewLocalAccount {
            id,
            username: format!("u{}", id.0),
            uri: format!("https://x.example/users/{}", id.0),
            url: String::new(),
            inbox_url: String::new(),
            shared_inbox_url: String::new(),
            outbox_url: String::new(),
            followers_url: String::new(),
            created_at: crate::now(),
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    id
}

/// A new remote account on `domain` with a random id.
pub async fn remote_account(db: &Db, domain: &str) -> AccountId {
    let id = AccountId(rand::random::<i64>().abs());
    crate::accounts::insert_remote(
        db,
        &crate::accounts::NewRemoteAccount {
            id,
            username: format!("r{}", id.0),
            domain: domain.to_owned(),
            display_name: String::new(),
            note: String::new(),
            uri: format!("https://{domain}/users/{}", id.0),
            url: None,
            inbox_url: None,
            shared_inbox_url: None,
            public_key_pem: String::new(),
            locked: false,
            bot: false,
            created_at: crate::now(),
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    id
}
