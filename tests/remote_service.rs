//! Local writes that concern remote accounts federate, and only those do:
//! read back from what the `federate` jobs store (`outbound_activities`,
//! one row per activity sent) once the job queues are idle. A remote account
//! is made with SQL: a local one whose row gets a domain and a remote inbox.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use ferrodon_testkit::{Lane, lane_test};

async fn make_remote(server: &ferrodon_testkit::TestServer, name: &str) {
    let changed = sql_execute(
        server,
        "UPDATE accounts SET domain = 'remote.test', uri = 'https://remote.test/users/' || username, \
         inbox_url = 'https://remote.test/users/' || username || '/inbox', shared_inbox_url = NULL \
         WHERE username = $1",
        &[name],
    )
    .await;
    assert_eq!(changed, 1);
}

/// How many activities of `kind` whose body contains `text` were stored to send.
async fn sent(server: &ferrodon_testkit::TestServer, kind: &str, text: &str) -> i64 {
    sql_fetch_text(
        server,
        "SELECT CAST(COUNT(*) AS TEXT) FROM outbound_activities WHERE kind = $1 AND body LIKE $2",
        &[kind, &format!("%{text}%")],
    )
    .await
    .unwrap()
    .parse()
    .unwrap()
}

async fn sent_total(server: &ferrodon_testkit::TestServer) -> i64 {
    sql_fetch_text(
        server,
        "SELECT CAST(COUNT(*) AS TEXT) FROM outbound_activities",
        &[],
    )
    .await
    .unwrap()
    .parse()
    .unwrap()
}

lane_test!(
    following_a_remote_account_is_a_pending_request_with_a_federate_job,
    |lane: Lane| async move {
        let server = spawn(lane).await;
        let api = Api::of(&server);
        let admin = jobs_admin(&server, "root").await;
        let bob = user_token(&server, "bob").await;
        let alice = user_token(&server, "alice").await;
        make_remote(&server, "alice").await;
        let rel = follow(&bob.api(&api), &alice.id).await;
        assert_eq!(rel["requested"], true, "{rel}");
        assert_eq!(rel["following"], false, "{rel}");
        jobs_idle(&admin).await;
        let uri = sql_fetch_text(&server, "SELECT uri FROM follow_requests", &[])
            .await
            .unwrap();
        assert_eq!(sent(&server, "Follow", &uri).await, 1);
        assert_eq!(sent_total(&server).await, 1);
        // Withdrawing it tells the remote server too.
        bob.api(&api)
            .post(&format!("/api/v1/accounts/{}/unfollow", alice.id), &[])
            .await
            .ok_json();
        jobs_idle(&admin).await;
        assert_eq!(sent(&server, "Undo", &uri).await, 1);
        assert_eq!(sent_total(&server).await, 2);
    }
);

lane_test!(
    a_post_federates_only_when_the_author_has_a_remote_follower,
    |lane: Lane| async move {
        let server = spawn(lane).await;
        let api = Api::of(&server);
        let admin = jobs_admin(&server, "root").await;
        let carol = user_token(&server, "carol").await;
        let dave = user_token(&server, "dave").await;
        let alice = user_token(&server, "alice").await;
        follow(&alice.api(&api), &carol.id).await;
        make_remote(&server, "alice").await;
        post_status(&dave.api(&api), "no one remote hears this").await;
        jobs_idle(&admin).await;
        assert_eq!(sent_total(&server).await, 0);
        post_status(&carol.api(&api), "hello fediverse").await;
        jobs_idle(&admin).await;
        assert_eq!(sent(&server, "Create", "hello fediverse").await, 1);
        assert_eq!(sent_total(&server).await, 1);
    }
);
