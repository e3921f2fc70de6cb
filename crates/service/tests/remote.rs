//! `service::remote`: what federation's inbound side calls, and the
//! `Federate` jobs local writes enqueue, against a real database on each
//! lane (SQLite always; PostgreSQL when `FERRODON_TEST_DATABASE_URL` is set).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::Utc;
use ferrodon_jobs::{Job, JobQueue};
use ferrodon_model::{AccountId, Role, Visibility};
use ferrodon_service::follows::FollowOptions;
use ferrodon_service::jobs::FanOutStatus;
use ferrodon_service::remote::{FollowOutcome, RemoteAccount};
use ferrodon_service::remote_statuses::RemoteStatus;
use ferrodon_service::statuses::NewPost;
use ferrodon_service::{Instance, Services};
use ferrodon_storage::accounts::{self, ProfileUpdate};
use ferrodon_storage::feeds::SqlFeedStore;
use ferrodon_storage::remote as store;
use ferrodon_storage::{Db, DbOptions};
use ferrodon_testkit::{Lane, TestDatabase};

async fn services(lane: Lane) -> Option<(Services, TestDatabase)> {
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
    .unwrap();
    direct.migrate().await.unwrap();
    direct.close().await;
    let db = Db::connect(&DbOptions {
        url: test_db.url.clone(),
        pool: 4,
        prepared_statements: test_db.prepared_statements,
    })
    .await
    .unwrap();
    let env = |k: &str| match k {
        "SECRET_KEY_BASE" => Some("k".repeat(64)),
        "FERRODON_DOMAIN" => Some("local.test".to_owned()),
        _ => None,
    };
    let (config, _) = ferrodon_config::load(None, env).unwrap();
    let instance = Instance::from_config(&config, 3000);
    let secrets = ferrodon_config::Secrets::load_or_generate(&config).unwrap();
    let fetcher =
        ferrodon_fetch::Fetcher::new(ferrodon_fetch::FetchOptions::new("ferrodon-test")).unwrap();
    let services = Services::new(
        db.clone(),
        Arc::new(SqlFeedStore::new(db.clone())),
        JobQueue::new(db, None),
        instance,
        secrets,
        fetcher,
    );
    Some((services, test_db))
}

macro_rules! lanes {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                if let Some((s, _db)) = super::services(ferrodon_testkit::Lane::Sqlite).await {
                    super::$name(&s).await;
                }
            }
            #[tokio::test]
            async fn postgres() {
                if let Some((s, _db)) = super::services(ferrodon_testkit::Lane::Postgres).await {
                    super::$name(&s).await;
                }
            }
        }
    };
}

fn actor(name: &str, uri: &str) -> RemoteAccount {
    RemoteAccount {
        uri: uri.to_owned(),
        username: name.to_owned(),
        domain: "remote.test".to_owned(),
        display_name: format!("{name} display"),
        note_html: "<p>hi</p>".to_owned(),
        fields: vec![("site".to_owned(), "<a href=\"https://x\">x</a>".to_owned())],
        locked: false,
        bot: false,
        discoverable: true,
        indexable: true,
        url: Some(format!("https://remote.test/@{name}")),
        inbox_url: format!("{uri}/inbox"),
        shared_inbox_url: Some("https://remote.test/inbox".to_owned()),
        outbox_url: format!("{uri}/outbox"),
        followers_url: format!("{uri}/followers"),
        following_url: format!("{uri}/following"),
        featured_url: None,
        public_key_id: format!("{uri}#main-key"),
        public_key_pem: "-----BEGIN PUBLIC KEY-----".to_owned(),
        avatar_remote_url: None,
        header_remote_url: None,
        also_known_as: vec![],
        moved_to_uri: None,
        memorial: false,
        suspended: false,
        created_at: None,
        emojis: vec![ferrodon_service::remote::RemoteEmoji {
            shortcode: "blob".to_owned(),
            image_url: "https://remote.test/blob.png".to_owned(),
        }],
    }
}

fn note(uri: &str, author: AccountId, mentions: Vec<AccountId>) -> RemoteStatus {
    RemoteStatus {
        uri: uri.to_owned(),
        url: Some(uri.to_owned()),
        account_id: author,
        content_html: "<p>hello @bob</p>".to_owned(),
        spoiler_text: String::new(),
        sensitive: false,
        visibility: Visibility::Public,
        language: Some("en".to_owned()),
        in_reply_to_uri: None,
        published: Utc::now(),
        edited_at: None,
        mentions,
        tags: vec!["fediverse".to_owned()],
        media: vec![],
        poll: None,
        quote_uri: None,
        quote_approved: false,
        emojis: vec![],
    }
}

async fn local(s: &Services, name: &str) -> AccountId {
    s.admin_create_account(
        name,
        &format!("{name}@local.test"),
        "password-123",
        Role::User,
    )
    .await
    .unwrap()
}

async fn jobs(s: &Services, kind: &str) -> Vec<String> {
    store::pending_job_payloads(s.db(), kind).await.unwrap()
}

async fn upsert_is_idempotent_and_the_newer_actor_takes_the_name(s: &Services) {
    let first = s
        .upsert_remote_account(&actor("alice", "https://remote.test/users/alice"))
        .await
        .unwrap();
    let again = s
        .upsert_remote_account(&actor("alice", "https://remote.test/users/alice"))
        .await
        .unwrap();
    assert_eq!(first.id, again.id);
    assert_eq!(again.display_name, "alice display");
    let by_key = s
        .account_by_key_id("https://remote.test/users/alice#main-key")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_key.id, first.id);
    // Another actor with the same name: it takes the name, no conflict.
    let newer = s
        .upsert_remote_account(&actor("alice", "https://remote.test/users/alice2"))
        .await
        .unwrap();
    assert_ne!(newer.id, first.id);
    let by_acct = s
        .account_by_acct("alice", Some("remote.test"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_acct.id, newer.id);
    let old = s.account(first.id).await.unwrap();
    assert_ne!(old.username.to_lowercase(), "alice");
    assert!(
        s.known_domains()
            .await
            .unwrap()
            .contains(&"remote.test".to_owned())
    );
}
lanes!(upsert_is_idempotent_and_the_newer_actor_takes_the_name);

async fn a_remote_status_twice_is_one_status_and_one_notification(s: &Services) {
    let bob = local(s, "bob").await;
    let alice = s
        .upsert_remote_account(&actor("alice", "https://remote.test/users/alice"))
        .await
        .unwrap();
    let status = note("https://remote.test/notes/1", alice.id, vec![bob]);
    let id = s.create_remote_status(&status).await.unwrap().unwrap();
    let again = s.create_remote_status(&status).await.unwrap().unwrap();
    assert_eq!(id, again);
    let fan_outs = jobs(s, "fan_out_status").await;
    assert_eq!(fan_outs.len(), 1, "{fan_outs:?}");
    assert_eq!(s.account(alice.id).await.unwrap().statuses_count, 1);
    // The fan-out runs (twice, as a lease may lapse): one mention.
    let job = FanOutStatus { status_id: id };
    job.run(s).await.unwrap();
    job.run(s).await.unwrap();
    assert_eq!(
        store::notification_count(s.db(), bob, "mention")
            .await
            .unwrap(),
        1
    );
    // A reply to it is threaded and counted.
    let mut reply = note("https://remote.test/notes/2", alice.id, vec![]);
    reply.in_reply_to_uri = Some(status.uri.clone());
    let reply_id = s.create_remote_status(&reply).await.unwrap().unwrap();
    let stored = s.status(None, reply_id).await.unwrap();
    assert_eq!(stored.status.in_reply_to(), Some(id));
    // Deleted by someone else: refused; by its author: gone, uncounted.
    let bob_is_not_the_author = s.delete_remote_status(&status.uri, bob).await;
    assert!(bob_is_not_the_author.is_err());
    s.delete_remote_status(&reply.uri, alice.id).await.unwrap();
    assert!(s.status(None, reply_id).await.is_err());
    assert_eq!(s.account(alice.id).await.unwrap().statuses_count, 1);
    // And an Update edits it with history.
    let mut edited = status.clone();
    edited.content_html = "<p>edited</p>".to_owned();
    edited.edited_at = Some(Utc::now());
    s.update_remote_status(&edited).await.unwrap();
    let history = s.status_history(None, id).await.unwrap();
    assert_eq!(history.len(), 2);
}
lanes!(a_remote_status_twice_is_one_status_and_one_notification);

async fn a_delete_before_its_create_wins(s: &Services) {
    let alice = s
        .upsert_remote_account(&actor("alice", "https://remote.test/users/alice"))
        .await
        .unwrap();
    let status = note("https://remote.test/notes/9", alice.id, vec![]);
    s.delete_remote_status(&status.uri, alice.id).await.unwrap();
    assert_eq!(s.create_remote_status(&status).await.unwrap(), None);
    assert!(jobs(s, "fan_out_status").await.is_empty());
    assert_eq!(s.account(alice.id).await.unwrap().statuses_count, 0);
}
lanes!(a_delete_before_its_create_wins);

async fn remote_follows_of_locked_and_unlocked_accounts(s: &Services) {
    let open = local(s, "open").await;
    let shut = local(s, "shut").await;
    accounts::update_profile(
        s.db(),
        shut,
        &ProfileUpdate {
            locked: Some(true),
            ..ProfileUpdate::default()
        },
        Utc::now(),
    )
    .await
    .unwrap();
    let alice = s
        .upsert_remote_account(&actor("alice", "https://remote.test/users/alice"))
        .await
        .unwrap();
    let follow_uri = "https://remote.test/follows/1";
    assert_eq!(
        s.remote_follow(alice.id, open, follow_uri).await.unwrap(),
        FollowOutcome::Accepted
    );
    let federate = jobs(s, "federate").await;
    assert_eq!(federate.len(), 1, "{federate:?}");
    assert!(federate[0].contains("\"accept_follow\""), "{federate:?}");
    assert!(federate[0].contains(follow_uri), "{federate:?}");
    assert_eq!(s.account(open).await.unwrap().followers_count, 1);
    // The same Follow again: still one follow.
    s.remote_follow(alice.id, open, follow_uri).await.unwrap();
    assert_eq!(s.account(open).await.unwrap().followers_count, 1);

    assert_eq!(
        s.remote_follow(alice.id, shut, "https://remote.test/follows/2")
            .await
            .unwrap(),
        FollowOutcome::Pending
    );
    assert_eq!(s.account(shut).await.unwrap().followers_count, 0);
    let notifies = jobs(s, "notify").await;
    assert!(
        notifies.iter().any(|n| n.contains("follow_request")),
        "{notifies:?}"
    );
    // Authorizing it through the client API accepts the remote Follow.
    s.authorize_follow_request(shut, alice.id).await.unwrap();
    let federate = jobs(s, "federate").await;
    assert!(
        federate
            .iter()
            .any(|j| j.contains("accept_follow") && j.contains("https://remote.test/follows/2")),
        "{federate:?}"
    );
    s.undo_remote_follow(alice.id, open).await.unwrap();
    assert_eq!(s.account(open).await.unwrap().followers_count, 0);
}
lanes!(remote_follows_of_locked_and_unlocked_accounts);

async fn following_a_remote_account_is_a_request_until_accepted(s: &Services) {
    let bob = local(s, "bob").await;
    let alice = s
        .upsert_remote_account(&actor("alice", "https://remote.test/users/alice"))
        .await
        .unwrap();
    let rel = s
        .follow(bob, alice.id, FollowOptions::default())
        .await
        .unwrap();
    assert!(rel.requested && !rel.following);
    let federate = jobs(s, "federate").await;
    assert_eq!(federate.len(), 1, "{federate:?}");
    assert!(federate[0].contains("\"follow\""), "{federate:?}");
    assert!(s.follow_accepted(bob, alice.id, None).await.unwrap());
    assert!(!s.follow_accepted(bob, alice.id, None).await.unwrap());
    assert_eq!(s.account(bob).await.unwrap().following_count, 1);
    s.unfollow(bob, alice.id).await.unwrap();
    let federate = jobs(s, "federate").await;
    assert!(
        federate.iter().any(|j| j.contains("undo_follow")),
        "{federate:?}"
    );
}
lanes!(following_a_remote_account_is_a_request_until_accepted);

async fn a_post_federates_only_with_remote_followers(s: &Services) {
    let lonely = local(s, "lonely").await;
    let post = |text: &str| NewPost {
        text: Some(text.to_owned()),
        ..NewPost::default()
    };
    s.post(lonely, post("nobody remote hears this"))
        .await
        .unwrap();
    assert!(jobs(s, "federate").await.is_empty());

    let popular = local(s, "popular").await;
    let alice = s
        .upsert_remote_account(&actor("alice", "https://remote.test/users/alice"))
        .await
        .unwrap();
    s.remote_follow(alice.id, popular, "https://remote.test/follows/3")
        .await
        .unwrap();
    let before = jobs(s, "federate").await.len();
    s.post(popular, post("hello fediverse")).await.unwrap();
    let federate = jobs(s, "federate").await;
    assert_eq!(federate.len(), before + 1, "{federate:?}");
    assert!(
        federate
            .last()
            .is_some_and(|j| j.contains("\"create_status\"")),
        "{federate:?}"
    );
    // A remote favourite of it is counted once.
    let view = s.post(popular, post("like me")).await.unwrap();
    s.remote_favourite(alice.id, view.status.id, "https://remote.test/likes/1")
        .await
        .unwrap();
    s.remote_favourite(alice.id, view.status.id, "https://remote.test/likes/1")
        .await
        .unwrap();
    let stored = s.status(None, view.status.id).await.unwrap();
    assert_eq!(stored.status.favourites_count, 1);
}
lanes!(a_post_federates_only_with_remote_followers);

async fn reblogs_blocks_and_votes_from_remote_accounts(s: &Services) {
    let bob = local(s, "bob").await;
    let alice = s
        .upsert_remote_account(&actor("alice", "https://remote.test/users/alice"))
        .await
        .unwrap();
    let view = s
        .post(
            bob,
            NewPost {
                text: Some("which one?".to_owned()),
                poll: Some(ferrodon_service::polls::PollInput {
                    options: vec!["tea".to_owned(), "coffee".to_owned()],
                    expires_in: Some(3600),
                    multiple: false,
                    hide_totals: false,
                }),
                ..NewPost::default()
            },
        )
        .await
        .unwrap();
    let id = view.status.id;
    // An Announce twice is one reblog; its Undo removes it and stays.
    let announce = "https://remote.test/announces/1";
    let now = Utc::now();
    let r1 = s.remote_reblog(alice.id, id, announce, now).await.unwrap();
    let r2 = s.remote_reblog(alice.id, id, announce, now).await.unwrap();
    assert!(r1.is_some() && r1 == r2);
    assert_eq!(s.status(None, id).await.unwrap().status.reblogs_count, 1);
    s.undo_remote_reblog(announce, alice.id).await.unwrap();
    assert_eq!(s.status(None, id).await.unwrap().status.reblogs_count, 0);
    assert_eq!(
        s.remote_reblog(alice.id, id, announce, now).await.unwrap(),
        None
    );
    // Votes by option name: one for a single-choice poll, counted once.
    let names = ["coffee".to_owned(), "tea".to_owned()];
    assert!(s.remote_vote(alice.id, id, &names).await.unwrap());
    assert!(!s.remote_vote(alice.id, id, &names).await.unwrap());
    let poll = s.status(None, id).await.unwrap().poll.unwrap();
    assert_eq!(poll.poll.votes_count, 1);
    // A remote block ends the follows both ways.
    s.remote_follow(alice.id, bob, "https://remote.test/follows/9")
        .await
        .unwrap();
    assert_eq!(s.account(bob).await.unwrap().followers_count, 1);
    s.remote_block(alice.id, bob).await.unwrap();
    assert_eq!(s.account(bob).await.unwrap().followers_count, 0);
    assert_eq!(
        s.remote_follow(alice.id, bob, "https://remote.test/follows/10")
            .await
            .unwrap(),
        FollowOutcome::Rejected
    );
}
lanes!(reblogs_blocks_and_votes_from_remote_accounts);

async fn remote_polls_count_as_their_server_reports(s: &Services) {
    let bob = local(s, "bob").await;
    let alice = s
        .upsert_remote_account(&actor("alice", "https://remote.test/users/alice"))
        .await
        .unwrap();
    let mut question = note("https://remote.test/questions/1", alice.id, vec![]);
    question.poll = Some(ferrodon_service::remote_statuses::RemotePoll {
        options: vec!["tea".to_owned(), "coffee".to_owned()],
        multiple: false,
        expires_at: Utc::now() + chrono::Duration::hours(1),
        votes: vec![3, 5],
        voters_count: Some(8),
    });
    question.media = vec![ferrodon_service::remote_statuses::RemoteMedia {
        remote_url: "https://remote.test/media/1.png".to_owned(),
        content_type: "image/png".to_owned(),
        description: Some("a cup".to_owned()),
        blurhash: None,
        focus: Some((0.5, -0.5)),
        width: Some(64),
        height: Some(48),
    }];
    let id = s.create_remote_status(&question).await.unwrap().unwrap();
    let view = s.status(Some(bob), id).await.unwrap();
    assert_eq!(view.media.len(), 1);
    assert_eq!(
        view.media[0].remote_url.as_deref(),
        Some("https://remote.test/media/1.png")
    );
    assert_eq!(view.media[0].kind, "image");
    let poll = view.poll.unwrap();
    assert_eq!(poll.tallies, vec![3, 5]);
    // A local vote counts at once and is sent to the poll's server.
    let before = jobs(s, "federate").await.len();
    let voted = s.vote(bob, poll.poll.id, &["1".to_owned()]).await.unwrap();
    assert_eq!(voted.tallies, vec![3, 6]);
    assert_eq!(voted.poll.votes_count, 9);
    let federate = jobs(s, "federate").await;
    assert_eq!(federate.len(), before + 1);
    assert!(
        federate.last().unwrap().contains("\"vote\""),
        "{federate:?}"
    );
    // The server's next counts replace them.
    let mut updated = question.clone();
    if let Some(p) = updated.poll.as_mut() {
        p.votes = vec![4, 6];
        p.voters_count = Some(10);
    }
    s.update_remote_status(&updated).await.unwrap();
    let poll = s.status(Some(bob), id).await.unwrap().poll.unwrap();
    assert_eq!(poll.tallies, vec![4, 6]);
    assert_eq!(poll.poll.voters_count, 10);
}
lanes!(remote_polls_count_as_their_server_reports);

async fn likes_need_sight_and_domain_blocks_refuse_follows(s: &Services) {
    let bob = local(s, "bob").await;
    let alice = s
        .upsert_remote_account(&actor("alice", "https://remote.test/users/alice"))
        .await
        .unwrap();
    let secret = s
        .post(
            bob,
            NewPost {
                text: Some("for my followers".to_owned()),
                visibility: Some("private".to_owned()),
                ..NewPost::default()
            },
        )
        .await
        .unwrap();
    let like = s
        .remote_favourite(alice.id, secret.status.id, "https://remote.test/likes/2")
        .await;
    assert!(like.is_err());
    s.block_domain(bob, "remote.test").await.unwrap();
    assert_eq!(
        s.remote_follow(alice.id, bob, "https://remote.test/follows/11")
            .await
            .unwrap(),
        FollowOutcome::Rejected
    );
    let federate = jobs(s, "federate").await;
    assert!(
        federate.iter().any(|j| j.contains("reject_follow")),
        "{federate:?}"
    );
}
lanes!(likes_need_sight_and_domain_blocks_refuse_follows);

async fn moves_and_deleted_actors(s: &Services) {
    let bob = local(s, "bob").await;
    let old = s
        .upsert_remote_account(&actor("alice", "https://remote.test/users/alice"))
        .await
        .unwrap();
    s.follow(bob, old.id, FollowOptions::default())
        .await
        .unwrap();
    assert!(s.follow_accepted(bob, old.id, None).await.unwrap());
    // The new account must name the old one as an alias.
    let mut new_actor = actor("alice2", "https://remote.test/users/alice2");
    let unrelated = s.upsert_remote_account(&new_actor).await.unwrap();
    assert!(s.move_account(old.id, unrelated.id).await.is_err());
    new_actor.also_known_as = vec![old.uri.clone()];
    let new = s.upsert_remote_account(&new_actor).await.unwrap();
    assert_eq!(new.id, unrelated.id);
    s.move_account(old.id, new.id).await.unwrap();
    let rels = s.relationships(bob, &[old.id, new.id]).await.unwrap();
    assert!(!rels[0].following && !rels[0].requested);
    assert!(rels[1].requested);
    // A deleted actor: suspended, its follows ended.
    s.remote_follow(new.id, bob, "https://remote.test/follows/20")
        .await
        .unwrap();
    assert_eq!(s.account(bob).await.unwrap().followers_count, 1);
    s.delete_remote_account(new.id).await.unwrap();
    assert_eq!(s.account(bob).await.unwrap().followers_count, 0);
    assert!(s.account(new.id).await.unwrap().suspended_at.is_some());
    let rels = s.relationships(bob, &[new.id]).await.unwrap();
    assert!(!rels[0].requested);
}
lanes!(moves_and_deleted_actors);
