//! Passwords imported from Mastodon: bcrypt hashes (Devise, `$2a$`) still
//! log in, and are replaced with argon2id at that login.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use ferrodon_testkit::{Lane, lane_test};
use sqlx::Connection;

/// Runs one statement on the server's database, straight (not through the server).
async fn sql(
    server: &ferrodon_testkit::TestServer,
    lane: Lane,
    query: &str,
    bind: &str,
) -> Option<String> {
    let url = &server.db.direct_url;
    if lane == Lane::Sqlite {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(query.to_owned()))
            .bind(bind.to_owned())
            .fetch_optional(&mut conn)
            .await
            .unwrap()
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(query.to_owned()))
            .bind(bind.to_owned())
            .fetch_optional(&mut conn)
            .await
            .unwrap()
    }
}

lane_test!(
    imported_bcrypt_password_logs_in_and_is_rehashed,
    |lane: Lane| async move {
        let server = spawn(lane).await;
        let api = Api::of(&server);
        create_account(&server, "imported", &[]);
        let email = email_of("imported");
        // The hash Mastodon would have stored for this password (bcrypt cost 10, `$2a$`).
        let hash = bcrypt::hash_with_result("mastodon password 1", 10)
            .unwrap()
            .format_for_version(bcrypt::Version::TwoA);
        sql(
            &server,
            lane,
            &format!("UPDATE users SET password_hash = '{hash}' WHERE email = $1 RETURNING email"),
            &email,
        )
        .await
        .expect("user row updated");

        let app = register_app(&api).await;
        password_grant(&api, &app, &email, "wrong password", "read")
            .await
            .err(400);
        let token = password_grant(&api, &app, &email, "mastodon password 1", "read")
            .await
            .ok_json();
        assert!(
            token["access_token"]
                .as_str()
                .is_some_and(|t| !t.is_empty())
        );

        let stored = sql(
            &server,
            lane,
            "SELECT password_hash FROM users WHERE email = $1",
            &email,
        )
        .await
        .unwrap();
        assert!(stored.starts_with("$argon2id$"), "not rehashed: {stored}");
        // The new hash works, the old bcrypt one is gone.
        password_grant(&api, &app, &email, "mastodon password 1", "read")
            .await
            .ok_json();
    }
);
