//! Instance-level endpoints: `/api/v1/instance`, `/api/v2/instance`, custom
//! emojis, health, metrics and WebFinger.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use ferrodon_testkit::{Lane, lane_test};
use serde_json::{Value, json};

/// Mastodon.py's version parsing: the text before the first space must be
/// at least three dot-separated parts that start with digits.
fn assert_mastodon_py_version(version: &str) {
    let head = version.split(' ').next().unwrap_or_default();
    let parts: Vec<&str> = head
        .split('+')
        .next()
        .unwrap_or_default()
        .split('.')
        .collect();
    assert!(
        parts.len() >= 3,
        "version {version:?} needs three parts before the first space"
    );
    for part in &parts[..3] {
        let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
        assert!(
            !digits.is_empty(),
            "version {version:?}: {part:?} has no leading digits"
        );
    }
    assert!(
        version.starts_with("4.5.0 (compatible; Ferrodon "),
        "version announces Mastodon 4.5.0 compatibility: {version:?}"
    );
}

lane_test!(instance_entities, |lane: Lane| async move {
    let server = spawn_with(
        lane,
        &[
            ("FERRODON_INSTANCE_TITLE", "Test Instance"),
            ("FERRODON_CONTACT_EMAIL", "admin@example.com"),
        ],
    )
    .await;
    let api = Api::of(&server);
    let d = domain(&server);
    let streaming = format!("ws://{d}");
    let alice = user_token(&server, "alice").await;
    post_status(&alice.api(&api), "counted").await;

    for (client, path) in [
        (api.anon(), "/api/v1/instance"),
        (api.anon(), "/api/v1/instance/"),
        (alice.api(&api), "/api/v1/instance"),
    ] {
        let v = client.get(path).await.ok_json();
        assert_keys(
            &v,
            &[
                "uri",
                "title",
                "short_description",
                "description",
                "email",
                "version",
                "urls",
                "stats",
                "thumbnail",
                "languages",
                "registrations",
                "approval_required",
                "invites_enabled",
                "configuration",
                "contact_account",
                "rules",
            ],
            "V1 Instance",
        );
        assert_eq!(v["uri"], d.as_str(), "{path}");
        assert_eq!(v["title"], "Test Instance");
        assert_eq!(v["email"], "admin@example.com");
        assert_mastodon_py_version(&str_field(&v, "version"));
        assert_eq!(v["urls"]["streaming_api"], streaming.as_str(), "{v}");
        assert_eq!(v["stats"]["user_count"], 1, "{v}");
        assert_eq!(v["stats"]["status_count"], 1, "{v}");
        assert_eq!(v["stats"]["domain_count"], 0, "{v}");
        assert_eq!(v["registrations"], true);
        assert_eq!(v["approval_required"], false);
        assert!(v["languages"].is_array() && v["rules"].is_array(), "{v}");
        let statuses = &v["configuration"]["statuses"];
        assert_eq!(statuses["max_characters"], 500, "{v}");
        assert_eq!(statuses["max_media_attachments"], 4, "{v}");
        assert_eq!(statuses["characters_reserved_per_url"], 23, "{v}");
        assert_keys(
            &v["configuration"]["media_attachments"],
            &[
                "supported_mime_types",
                "image_size_limit",
                "image_matrix_limit",
                "video_size_limit",
                "video_frame_rate_limit",
                "video_matrix_limit",
            ],
            "configuration.media_attachments",
        );
        assert_keys(
            &v["configuration"]["polls"],
            &[
                "max_options",
                "max_characters_per_option",
                "min_expiration",
                "max_expiration",
            ],
            "configuration.polls",
        );
    }

    for (client, path) in [
        (api.anon(), "/api/v2/instance"),
        (api.anon(), "/api/v2/instance/"),
        (alice.api(&api), "/api/v2/instance"),
    ] {
        let v = client.get(path).await.ok_json();
        assert_keys(
            &v,
            &[
                "domain",
                "title",
                "version",
                "source_url",
                "description",
                "usage",
                "thumbnail",
                "icon",
                "languages",
                "configuration",
                "registrations",
                "api_versions",
                "contact",
                "rules",
            ],
            "Instance",
        );
        assert_eq!(v["domain"], d.as_str(), "{path}");
        assert_eq!(v["title"], "Test Instance");
        assert_mastodon_py_version(&str_field(&v, "version"));
        assert!(v["source_url"].is_string());
        assert!(v["usage"]["users"]["active_month"].is_u64(), "{v}");
        assert!(v["thumbnail"]["url"].is_string(), "{v}");
        assert!(v["icon"].is_array(), "{v}");
        let config = &v["configuration"];
        assert_keys(
            config,
            &[
                "urls",
                "accounts",
                "statuses",
                "media_attachments",
                "polls",
                "translation",
            ],
            "configuration",
        );
        assert_eq!(config["urls"]["streaming"], streaming.as_str(), "{v}");
        assert_eq!(config["statuses"]["max_characters"], 500);
        assert_eq!(config["statuses"]["max_media_attachments"], 4);
        assert_eq!(config["statuses"]["characters_reserved_per_url"], 23);
        assert_keys(
            &config["accounts"],
            &["max_featured_tags", "max_pinned_statuses"],
            "configuration.accounts",
        );
        assert!(config["translation"]["enabled"].is_boolean(), "{v}");
        assert_eq!(v["registrations"]["enabled"], true);
        assert_eq!(v["registrations"]["approval_required"], false);
        assert_keys(&v["registrations"], &["message"], "registrations");
        let api_version = v["api_versions"]["mastodon"]
            .as_u64()
            .unwrap_or_else(|| panic!("api_versions.mastodon must be an integer: {v}"));
        assert_eq!(
            api_version, 7,
            "Mastodon 4.5's API version (quote posts): {v}"
        );
        assert_eq!(v["contact"]["email"], "admin@example.com");
        assert_keys(&v["contact"], &["account"], "contact");
    }

    // Custom emojis: none, as an empty list.
    assert_eq!(api.get("/api/v1/custom_emojis").await.ok_json(), json!([]));
    // Health.
    let resp = api.get("/health").await;
    assert_eq!(resp.status, 200, "{}", resp.describe());
});

lane_test!(webfinger, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let d = domain(&server);
    let base = public_url(&server);
    create_account(&server, "alice", &[]);
    create_account(&server, "mallory", &[]);

    // (Mastodon also accepts a bare `alice@domain`; RFC 7033 wants a URI, so
    // that leniency is not required here.)
    for resource in [format!("acct:alice@{d}"), format!("acct:ALICE@{d}")] {
        let resp = api
            .get_q("/.well-known/webfinger", &[("resource", &resource)])
            .await;
        assert_eq!(resp.status, 200, "{resource}: {}", resp.describe());
        assert!(
            resp.content_type().starts_with("application/jrd+json"),
            "WebFinger answers JRD: {}",
            resp.describe()
        );
        let v = resp.json();
        assert_eq!(v["subject"], format!("acct:alice@{d}"), "{v}");
        let links = v["links"].as_array().cloned().unwrap_or_default();
        let self_link = links
            .iter()
            .find(|l| l["rel"] == "self")
            .unwrap_or_else(|| panic!("no self link: {v}"));
        assert_eq!(self_link["type"], "application/activity+json");
        assert_eq!(self_link["href"], format!("{base}/users/alice"));
        let profile = links
            .iter()
            .find(|l| l["rel"] == "http://webfinger.net/rel/profile-page")
            .unwrap_or_else(|| panic!("no profile-page link: {v}"));
        assert_eq!(profile["href"], format!("{base}/@alice"));
        let aliases = v["aliases"].as_array().cloned().unwrap_or_default();
        assert!(
            aliases.contains(&Value::String(format!("{base}/users/alice"))),
            "{v}"
        );
    }

    for resource in [
        format!("acct:nobody@{d}"),
        "acct:alice@other.example".to_owned(),
    ] {
        let resp = api
            .get_q("/.well-known/webfinger", &[("resource", &resource)])
            .await;
        assert_eq!(resp.status, 404, "{resource}: {}", resp.describe());
    }
    let resp = api.get("/.well-known/webfinger").await;
    assert_eq!(resp.status, 400, "missing resource: {}", resp.describe());

    let (code, stdout, stderr) = server.command(&["admin", "accounts", "suspend", "mallory"]);
    assert_eq!(
        code, 0,
        "suspend failed\nstdout: {stdout}\nstderr: {stderr}"
    );
    let resp = api
        .get_q(
            "/.well-known/webfinger",
            &[("resource", &format!("acct:mallory@{d}"))],
        )
        .await;
    assert_eq!(
        resp.status,
        410,
        "a suspended account is gone: {}",
        resp.describe()
    );
});

lane_test!(metrics, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let id = create_account(&server, "alice", &[]);
    api.get("/api/v1/instance").await.ok_json();
    api.get(&format!("/api/v1/accounts/{id}")).await.ok_json();
    api.get("/api/v1/accounts/99999999").await.err(404);
    api.get("/api/v1/no-such-route-x7q").await.err(404);

    // Not on the public port: Mastodon's JSON 404 there.
    api.get("/metrics").await.err_is(404, "Not Found");
    let resp = Api::new(server.metrics()).get("/metrics").await;
    assert_eq!(resp.status, 200, "{}", resp.describe());
    assert!(
        resp.content_type().starts_with("text/plain"),
        "Prometheus text format: {:?}",
        resp.content_type()
    );
    let text = &resp.text;
    let samples: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect();
    assert!(
        text.lines().any(|l| l.starts_with("# TYPE")),
        "no # TYPE lines:\n{text}"
    );
    // Requests by route and status.
    assert!(
        samples
            .iter()
            .any(|l| l.contains("/api/v1/instance") && l.contains("200")),
        "no request counter for /api/v1/instance with status 200:\n{text}"
    );
    assert!(
        samples
            .iter()
            .any(|l| l.contains("/api/v1/accounts/") && l.contains("404")),
        "no request counter for the 404 on /api/v1/accounts/:id:\n{text}"
    );
    // Routes are templates: no raw ids or arbitrary paths as label values.
    let labels: Vec<&str> = samples
        .iter()
        .filter_map(|l| Some(&l[l.find('{')?..=l.rfind('}')?]))
        .collect();
    assert!(
        !labels
            .iter()
            .any(|l| l.contains(&id) || l.contains("99999999")),
        "ids leak into metric labels:\n{text}"
    );
    assert!(
        !text.contains("no-such-route-x7q"),
        "unknown paths leak into metric labels:\n{text}"
    );
    // A latency histogram.
    assert!(
        samples
            .iter()
            .any(|l| l.contains("_bucket{") && l.contains("le=\"")),
        "no histogram buckets:\n{text}"
    );
    // Database pool gauges.
    assert!(
        text.lines().any(|l| l.starts_with("# TYPE")
            && l.to_ascii_lowercase().contains("pool")
            && l.ends_with("gauge")),
        "no database pool gauge:\n{text}"
    );
});

lane_test!(request_ids_in_json_logs, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let resp = api.get("/api/v1/instance").await;
    let id = resp
        .header("x-request-id")
        .unwrap_or_else(|| panic!("no X-Request-Id: {:?}", resp.headers));
    assert!(!id.is_empty());
    // A request id from the client (e.g. the ingress) is kept.
    let resp = api
        .send(
            reqwest::Method::GET,
            "/api/v1/accounts/99999999",
            Body::None,
            &[("x-request-id", "e2e-request-4711")],
        )
        .await;
    resp.err(404);
    assert_eq!(
        resp.header("x-request-id").as_deref(),
        Some("e2e-request-4711")
    );
    for wanted in [id.as_str(), "e2e-request-4711"] {
        let line = wait_until("the request's log line", || async {
            server.logs().into_iter().find(|l| l.contains(wanted))
        })
        .await;
        let v: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("log lines are JSON ({e}): {line}"));
        assert!(v.is_object(), "{line}");
    }
});

lane_test!(health_reflects_the_database, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let resp = api.get("/health").await;
    assert_eq!(resp.status, 200, "{}", resp.describe());
    if lane == Lane::Sqlite {
        // An open SQLite file cannot be taken away from under the server.
        return;
    }
    // Take the PostgreSQL database away.
    let admin = std::env::var("FERRODON_TEST_DATABASE_URL").expect("a PostgreSQL lane");
    let direct = &server.db.direct_url;
    let name = direct
        .rsplit('/')
        .next()
        .and_then(|n| n.split('?').next())
        .expect("database name")
        .to_owned();
    {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await
        .unwrap();
    }
    let resp = wait_until("/health to report the missing database", || async {
        let resp = api.get("/health").await;
        (resp.status != 200).then_some(resp)
    })
    .await;
    assert_eq!(resp.status, 503, "{}", resp.describe());
    // The API reports the outage as a JSON error instead of hanging.
    let resp = api.get("/api/v1/timelines/public").await;
    assert_eq!(resp.status, 503, "{}", resp.describe());
    resp.json_error();
});
