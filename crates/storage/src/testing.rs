//! Storage tests run on every available lane (SQLite always; PostgreSQL,
//! PgBouncer and Redis when their variables are set).

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
