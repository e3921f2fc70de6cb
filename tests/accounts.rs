//! Accounts: sign-up in every registration mode, the admin CLI, credentials,
//! profiles, lookup, follows, relationships and account timelines.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use ferrodon_testkit::{Lane, ServerOptions, TestServer, lane_test};
use serde_json::{Value, json};

/// An app token fit for `POST /api/v1/accounts`, as Mastodon.py gets one.
async fn sign_up_client(api: &Api) -> (App, Api) {
    let app = register_app_with(api, "read write follow push", "urn:ietf:wg:oauth:2.0:oob").await;
    let token = app_token(api, &app, "read write follow push").await;
    (app, api.with_token(&token))
}

/// The form Mastodon.py's `create_account` sends.
fn sign_up_form<'a>(app: &'a App, username: &'a str, email: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("username", username),
        ("password", PASSWORD),
        ("email", email),
        ("agreement", "1"),
        ("locale", "en"),
        ("return_detailed_error", "0"),
        ("client_id", &app.client_id),
        ("client_secret", &app.client_secret),
    ]
}

/// (what, username, email, password, agreement, field in error, error code)
type SignUpCase<'a> = (
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    Option<&'a str>,
    &'a str,
    &'a str,
);

/// Asserts a sign-up validation failure with `code` on `field`.
#[track_caller]
fn assert_detail(resp: &Resp, field: &str, code: &str) {
    let err = resp.err(422);
    assert!(
        err.starts_with("Validation failed: "),
        "sign-up errors start with \"Validation failed: \": {}",
        resp.describe()
    );
    let v = resp.json();
    let entries = v["details"][field]
        .as_array()
        .unwrap_or_else(|| panic!("no details.{field}: {}", resp.describe()));
    assert!(
        entries
            .iter()
            .any(|e| e["error"] == code && e["description"].is_string()),
        "expected {code} on {field}: {}",
        resp.describe()
    );
}

lane_test!(sign_up_open, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let (app, client) = sign_up_client(&api).await;

    // Form-encoded, as Mastodon.py does it.
    let resp = client
        .post(
            "/api/v1/accounts",
            &sign_up_form(&app, "alice", "alice@example.com"),
        )
        .await;
    let v = resp.ok_json();
    assert_keys(&v, TOKEN_KEYS, "Token");
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["scope"], "read write follow push");
    assert!(v["created_at"].is_i64());
    let alice = api.with_token(&str_field(&v, "access_token"));
    let me = alice
        .get("/api/v1/accounts/verify_credentials")
        .await
        .ok_json();
    assert_eq!(me["username"], "alice");
    post_status(&alice, "signed up and posting").await;
    // The new user can log in with the password grant.
    password_grant(&api, &app, "alice@example.com", PASSWORD, "read")
        .await
        .ok_json();

    // JSON with a boolean agreement.
    let v = client
        .post_json(
            "/api/v1/accounts",
            json!({"username": "bob", "email": "bob@example.com", "password": PASSWORD,
                   "agreement": true, "locale": "en", "reason": "hi"}),
        )
        .await
        .ok_json();
    assert_keys(&v, TOKEN_KEYS, "Token");
    // Multipart.
    client
        .post_multipart(
            "/api/v1/accounts",
            &[
                ("username", "carol"),
                ("email", "carol@example.com"),
                ("password", PASSWORD),
                ("agreement", "true"),
                ("locale", "en"),
            ],
        )
        .await
        .ok_json();

    // Validation, one problem at a time.
    let long = "a".repeat(31);
    let cases: Vec<SignUpCase> = vec![
        // (what, username, email, password, agreement, field, code)
        (
            "taken username",
            "alice",
            "x1@example.com",
            PASSWORD,
            Some("1"),
            "username",
            "ERR_TAKEN",
        ),
        (
            "taken username, other case",
            "ALICE",
            "x2@example.com",
            PASSWORD,
            Some("1"),
            "username",
            "ERR_TAKEN",
        ),
        (
            "taken e-mail",
            "newone",
            "alice@example.com",
            PASSWORD,
            Some("1"),
            "email",
            "ERR_TAKEN",
        ),
        (
            "blank username",
            "",
            "x3@example.com",
            PASSWORD,
            Some("1"),
            "username",
            "ERR_BLANK",
        ),
        (
            "invalid username",
            "bad name!",
            "x4@example.com",
            PASSWORD,
            Some("1"),
            "username",
            "ERR_INVALID",
        ),
        (
            "long username",
            long.as_str(),
            "x5@example.com",
            PASSWORD,
            Some("1"),
            "username",
            "ERR_TOO_LONG",
        ),
        (
            "reserved username",
            "admin",
            "x6@example.com",
            PASSWORD,
            Some("1"),
            "username",
            "ERR_RESERVED",
        ),
        (
            "blank e-mail",
            "newtwo",
            "",
            PASSWORD,
            Some("1"),
            "email",
            "ERR_BLANK",
        ),
        (
            "invalid e-mail",
            "newthree",
            "not-an-email",
            PASSWORD,
            Some("1"),
            "email",
            "ERR_INVALID",
        ),
        (
            "short password",
            "newfour",
            "x7@example.com",
            "short",
            Some("1"),
            "password",
            "ERR_TOO_SHORT",
        ),
        (
            "blank password",
            "newfive",
            "x8@example.com",
            "",
            Some("1"),
            "password",
            "ERR_BLANK",
        ),
        (
            "no agreement",
            "newsix",
            "x9@example.com",
            PASSWORD,
            None,
            "agreement",
            "ERR_ACCEPTED",
        ),
        (
            "agreement refused",
            "newseven",
            "x10@example.com",
            PASSWORD,
            Some("0"),
            "agreement",
            "ERR_ACCEPTED",
        ),
    ];
    for (what, username, email, password, agreement, field, code) in cases {
        let mut form = vec![
            ("username", username),
            ("email", email),
            ("password", password),
            ("locale", "en"),
        ];
        if let Some(a) = agreement {
            form.push(("agreement", a));
        }
        let resp = client.post("/api/v1/accounts", &form).await;
        assert_eq!(resp.status, 422, "{what}: {}", resp.describe());
        assert_detail(&resp, field, code);
    }

    // Several problems are reported together.
    let resp = client
        .post(
            "/api/v1/accounts",
            &[
                ("username", ""),
                ("email", "nope"),
                ("password", "x"),
                ("locale", "en"),
            ],
        )
        .await;
    assert_detail(&resp, "username", "ERR_BLANK");
    assert_detail(&resp, "email", "ERR_INVALID");
    assert_detail(&resp, "password", "ERR_TOO_SHORT");
    assert_detail(&resp, "agreement", "ERR_ACCEPTED");

    // None of the failed attempts created an account.
    for name in ["newone", "newfour", "newsix"] {
        api.get(&format!("/api/v1/accounts/lookup?acct={name}"))
            .await
            .err(404);
    }

    // Token requirements: an app token with write or write:accounts.
    api.post(
        "/api/v1/accounts",
        &sign_up_form(&app, "dave", "dave@example.com"),
    )
    .await
    .err_is(401, "The access token is invalid");
    let read_only = api.with_token(&app_token(&api, &app, "read").await);
    read_only
        .post(
            "/api/v1/accounts",
            &sign_up_form(&app, "dave", "dave@example.com"),
        )
        .await
        .err_is(403, "This action is outside the authorized scopes");
    let granular_app = register_app_with(&api, "write:accounts", "urn:ietf:wg:oauth:2.0:oob").await;
    let granular = api.with_token(&app_token(&api, &granular_app, "write:accounts").await);
    granular
        .post(
            "/api/v1/accounts",
            &sign_up_form(&granular_app, "dave", "dave@example.com"),
        )
        .await
        .ok_json();

    // The new user's token carries the app's scopes (Mastodon's
    // AppSignUpService), not the narrower scope of the app token used to sign up.
    let write_only = api.with_token(&app_token(&api, &app, "write").await);
    let v = write_only
        .post(
            "/api/v1/accounts",
            &sign_up_form(&app, "erin", "erin@example.com"),
        )
        .await
        .ok_json();
    assert_eq!(v["scope"], "read write follow push", "{v}");
    api.with_token(&str_field(&v, "access_token"))
        .get("/api/v1/accounts/verify_credentials")
        .await
        .ok_json();
});

lane_test!(sign_up_closed, |lane: Lane| async move {
    let server = spawn_with(lane, &[("FERRODON_REGISTRATIONS", "closed")]).await;
    let api = Api::of(&server);
    let (app, client) = sign_up_client(&api).await;
    let resp = client
        .post(
            "/api/v1/accounts",
            &sign_up_form(&app, "alice", "alice@example.com"),
        )
        .await;
    resp.err(403);
    api.get("/api/v1/accounts/lookup?acct=alice").await.err(404);
    let v2 = api.get("/api/v2/instance").await.ok_json();
    assert_eq!(v2["registrations"]["enabled"], false);
    let v1 = api.get("/api/v1/instance").await.ok_json();
    assert_eq!(v1["registrations"], false);
    // The admin CLI still creates accounts.
    create_account(&server, "alice", &[]);
});

lane_test!(sign_up_with_approval, |lane: Lane| async move {
    let server = spawn_with(lane, &[("FERRODON_REGISTRATIONS", "approval")]).await;
    let api = Api::of(&server);
    let v2 = api.get("/api/v2/instance").await.ok_json();
    assert_eq!(v2["registrations"]["enabled"], true);
    assert_eq!(v2["registrations"]["approval_required"], true);
    let v1 = api.get("/api/v1/instance").await.ok_json();
    assert_eq!(v1["approval_required"], true);

    let (app, client) = sign_up_client(&api).await;
    let mut form = sign_up_form(&app, "alice", "alice@example.com");
    form.push(("reason", "I would like to join"));
    let v = client.post("/api/v1/accounts", &form).await.ok_json();
    let alice = api.with_token(&str_field(&v, "access_token"));
    let pending = "Your login is currently pending approval";
    alice
        .get("/api/v1/accounts/verify_credentials")
        .await
        .err_is(403, pending);
    alice
        .post("/api/v1/statuses", &[("status", "too early")])
        .await
        .err_is(403, pending);
    alice
        .get("/api/v1/timelines/home")
        .await
        .err_is(403, pending);

    let (code, stdout, stderr) = server.command(&["admin", "accounts", "approve", "alice"]);
    assert_eq!(
        code, 0,
        "approve failed\nstdout: {stdout}\nstderr: {stderr}"
    );
    let me = alice
        .get("/api/v1/accounts/verify_credentials")
        .await
        .ok_json();
    assert_eq!(me["username"], "alice");
    post_status(&alice, "approved").await;
    api.get("/api/v1/accounts/lookup?acct=alice")
        .await
        .ok_json();

    let (code, _, _) = server.command(&["admin", "accounts", "approve", "nobody"]);
    assert_ne!(code, 0, "approving an unknown account must fail");
});

lane_test!(sign_up_rate_limit, |lane: Lane| async move {
    let mut options = ServerOptions::new(BIN, lane);
    options.default_rate_limits = true;
    let server = TestServer::spawn(options).await;
    let api = Api::of(&server);
    let (app, client) = sign_up_client(&api).await;
    for i in 0..5 {
        let name = format!("user{i}");
        let email = format!("user{i}@example.com");
        client
            .post("/api/v1/accounts", &sign_up_form(&app, &name, &email))
            .await
            .ok_json();
    }
    let resp = client
        .post(
            "/api/v1/accounts",
            &sign_up_form(&app, "user5", "user5@example.com"),
        )
        .await;
    resp.err_is(429, "Too many requests");
    assert_eq!(
        resp.header("x-ratelimit-limit").as_deref(),
        Some("5"),
        "{:?}",
        resp.headers
    );
    assert_eq!(
        resp.header("x-ratelimit-remaining").as_deref(),
        Some("0"),
        "{:?}",
        resp.headers
    );
    let reset = resp
        .header("x-ratelimit-reset")
        .unwrap_or_else(|| panic!("X-RateLimit-Reset missing: {:?}", resp.headers));
    assert_timestamp(&reset, "X-RateLimit-Reset");
    // The throttled attempt created nothing.
    api.get("/api/v1/accounts/lookup?acct=user5").await.err(404);
    // Other API calls are not affected by the sign-up limit.
    api.get("/api/v1/accounts/lookup?acct=user0")
        .await
        .ok_json();
});

lane_test!(admin_cli, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let id = create_account(&server, "alice", &[]);
    let v = api.get(&format!("/api/v1/accounts/{id}")).await.ok_json();
    assert_eq!(v["username"], "alice");
    assert_eq!(v["id"], id.as_str());

    for (what, args) in [
        (
            "duplicate name",
            vec!["alice", "--email", "other@example.com"],
        ),
        (
            "duplicate e-mail",
            vec!["alice2", "--email", "alice@example.com"],
        ),
        (
            "invalid name",
            vec!["bad name", "--email", "bad@example.com"],
        ),
        ("invalid e-mail", vec!["alice3", "--email", "not-an-email"]),
        (
            "unknown role",
            vec!["alice4", "--email", "a4@example.com", "--role", "emperor"],
        ),
    ] {
        let mut full = vec!["admin", "accounts", "create"];
        full.extend(args);
        full.extend(["--password", PASSWORD]);
        let (code, stdout, stderr) = server.command(&full);
        assert_ne!(
            code, 0,
            "{what}: must fail\nstdout: {stdout}\nstderr: {stderr}"
        );
        assert!(!stderr.trim().is_empty(), "{what}: no error message");
        assert!(!stderr.contains("panicked"), "{what}: panicked: {stderr}");
    }

    // Roles show up in the credential account.
    let plain = user_token(&server, "plain").await;
    let role = plain
        .api(&api)
        .get("/api/v1/accounts/verify_credentials")
        .await
        .ok_json()["role"]
        .clone();
    assert_keys(
        &role,
        &["id", "name", "permissions", "color", "highlighted"],
        "Role",
    );
    assert_eq!(
        role["id"], "-99",
        "users without a role get the everyone role: {role}"
    );
    assert_eq!(role["name"], "");
    assert_eq!(role["permissions"], "65536");

    let app = register_app(&api).await;
    for (name, role_arg) in [("root", "admin"), ("mod", "moderator")] {
        create_account(&server, name, &["--role", role_arg]);
        let token = password_token(&api, &app, &email_of(name), "read").await;
        let role = api
            .with_token(&token)
            .get("/api/v1/accounts/verify_credentials")
            .await
            .ok_json()["role"]
            .clone();
        assert!(
            str_field(&role, "name").eq_ignore_ascii_case(role_arg),
            "--role {role_arg}: {role}"
        );
        let permissions = str_field(&role, "permissions");
        let bits: u64 = permissions
            .parse()
            .unwrap_or_else(|_| panic!("permissions must be a number string: {role}"));
        assert_ne!(
            bits, 65536,
            "--role {role_arg} has no extra permissions: {role}"
        );
        let role_id = str_field(&role, "id");
        assert!(
            role_id.parse::<i64>().is_ok(),
            "role id is a number string: {role}"
        );
        assert_ne!(
            role_id, "-99",
            "--role {role_arg} is not the everyone role: {role}"
        );
    }

    // Suspension: the token stops working; the account shows as suspended.
    let victim = user_token(&server, "victim").await;
    let victim_post = str_field(
        &post_status(&victim.api(&api), "before suspension").await,
        "id",
    );
    let (code, stdout, stderr) = server.command(&["admin", "accounts", "suspend", "victim"]);
    assert_eq!(
        code, 0,
        "suspend failed\nstdout: {stdout}\nstderr: {stderr}"
    );
    victim
        .api(&api)
        .get("/api/v1/accounts/verify_credentials")
        .await
        .err_is(403, "Your login is currently disabled");
    victim
        .api(&api)
        .post("/api/v1/statuses", &[("status", "after suspension")])
        .await
        .err(403);
    let v = api
        .get(&format!("/api/v1/accounts/{}", victim.id))
        .await
        .ok_json();
    assert_eq!(v["suspended"], true, "{v}");
    // Their statuses disappear with them.
    api.get(&format!("/api/v1/statuses/{victim_post}"))
        .await
        .err(404);
    let victim_statuses = format!("/api/v1/accounts/{}/statuses", victim.id);
    let listed = api.get(&victim_statuses).await;
    if listed.status == 200 {
        assert_eq!(
            listed.json(),
            json!([]),
            "a suspended account's statuses are hidden"
        );
    } else {
        listed.err(404);
    }
    let public = timeline_ids(&api, "/api/v1/timelines/public").await;
    assert!(
        public.is_empty(),
        "a suspended account's statuses leave the public timeline: {public:?}"
    );
    let (code, _, _) = server.command(&["admin", "accounts", "suspend", "nobody"]);
    assert_ne!(code, 0, "suspending an unknown account must fail");
});

lane_test!(credentials_and_profile, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let base = public_url(&server);
    let alice = user_token(&server, "alice").await;
    let me_api = alice.api(&api);

    let me = me_api
        .get("/api/v1/accounts/verify_credentials")
        .await
        .ok_json();
    assert_keys(&me, ACCOUNT_KEYS, "CredentialAccount");
    assert_keys(&me, &["source", "role"], "CredentialAccount");
    assert_keys(
        &me["source"],
        &[
            "privacy",
            "sensitive",
            "language",
            "note",
            "fields",
            "follow_requests_count",
        ],
        "source",
    );
    assert_eq!(me["id"], alice.id.as_str());
    assert_eq!(me["username"], "alice");
    assert_eq!(me["acct"], "alice");
    assert_eq!(me["url"], format!("{base}/@alice"));
    assert_eq!(me["uri"], format!("{base}/users/alice"));
    assert_eq!(me["display_name"], "");
    assert_eq!(me["note"], "");
    assert_eq!(me["locked"], false);
    assert_eq!(me["bot"], false);
    assert_eq!(me["group"], false);
    assert_eq!(me["avatar"], format!("{base}/avatars/original/missing.png"));
    assert_eq!(me["avatar_static"], me["avatar"]);
    assert_eq!(me["header"], format!("{base}/headers/original/missing.png"));
    assert_eq!(me["header_static"], me["header"]);
    let created = str_field(&me, "created_at");
    assert!(
        created.ends_with("T00:00:00.000Z"),
        "Account created_at is the creation date at midnight: {created}"
    );
    assert_eq!(me["last_status_at"], Value::Null);
    assert_eq!(me["statuses_count"], 0);
    assert_eq!(me["followers_count"], 0);
    assert_eq!(me["following_count"], 0);
    assert_eq!(me["emojis"], json!([]));
    assert_eq!(me["fields"], json!([]));
    assert_eq!(me["source"]["privacy"], "public");
    assert_eq!(me["source"]["sensitive"], false);
    assert_eq!(me["source"]["note"], "");
    assert_eq!(me["source"]["fields"], json!([]));
    assert_eq!(me["source"]["follow_requests_count"], 0);

    // The default images are served.
    for path in [
        "/avatars/original/missing.png",
        "/headers/original/missing.png",
    ] {
        let resp = api
            .http
            .get(format!("{}{path}", server.base_url))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert_eq!(ct, "image/png", "{path}");
        let bytes = resp.bytes().await.unwrap();
        assert!(
            bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
            "{path} is not a PNG"
        );
    }

    // Posting updates the counters and last_status_at (a date).
    let s = post_status(&me_api, "first").await;
    let me = me_api
        .get("/api/v1/accounts/verify_credentials")
        .await
        .ok_json();
    assert_eq!(me["statuses_count"], 1);
    let day = &str_field(&s, "created_at")[..10];
    assert_eq!(me["last_status_at"], day, "last_status_at is a date: {me}");

    // update_credentials, form-encoded with Rails-style nested keys.
    let v = me_api
        .patch(
            "/api/v1/accounts/update_credentials",
            &[
                ("display_name", "Alice A."),
                ("note", "Hello world"),
                ("locked", "1"),
                ("bot", "true"),
                ("discoverable", "0"),
                ("fields_attributes[0][name]", "Pronouns"),
                ("fields_attributes[0][value]", "she/her"),
                ("fields_attributes[1][name]", "Site"),
                ("fields_attributes[1][value]", "https://example.com"),
                ("source[privacy]", "private"),
                ("source[sensitive]", "1"),
                ("source[language]", "de"),
            ],
        )
        .await
        .ok_json();
    let check = |v: &Value| {
        assert_eq!(v["display_name"], "Alice A.", "{v}");
        assert_eq!(v["note"], "<p>Hello world</p>", "{v}");
        assert_eq!(v["locked"], true, "{v}");
        assert_eq!(v["bot"], true, "{v}");
        assert_eq!(v["discoverable"], false, "{v}");
        let fields = v["fields"].as_array().cloned().unwrap_or_default();
        assert_eq!(fields.len(), 2, "{v}");
        assert_eq!(fields[0]["name"], "Pronouns");
        assert_eq!(fields[0]["value"], "she/her");
        assert_eq!(fields[1]["name"], "Site");
        assert!(
            fields[1]["value"]
                .as_str()
                .is_some_and(|h| h.contains("href=\"https://example.com\"")),
            "a URL in a field value becomes a link: {v}"
        );
    };
    check(&v);
    assert_eq!(v["source"]["privacy"], "private", "{v}");
    assert_eq!(v["source"]["sensitive"], true, "{v}");
    assert_eq!(v["source"]["language"], "de", "{v}");
    assert_eq!(v["source"]["note"], "Hello world", "{v}");
    assert_eq!(
        v["source"]["fields"][1]["value"], "https://example.com",
        "source.fields are plain: {v}"
    );
    // Persisted, and public.
    let me = me_api
        .get("/api/v1/accounts/verify_credentials")
        .await
        .ok_json();
    check(&me);
    assert_eq!(me["source"]["privacy"], "private");
    let public = api
        .get(&format!("/api/v1/accounts/{}", alice.id))
        .await
        .ok_json();
    check(&public);
    assert!(
        public.get("source").is_none(),
        "source is private: {public}"
    );

    // New statuses take the defaults from source[…].
    let s = post_status(&me_api, "defaults apply").await;
    assert_eq!(s["visibility"], "private", "{s}");
    assert_eq!(s["sensitive"], true, "{s}");
    assert_eq!(s["language"], "de", "{s}");
    // Explicit values still win.
    let s = post_status_with(
        &me_api,
        &[
            ("status", "explicit"),
            ("visibility", "public"),
            ("sensitive", "false"),
            ("language", "en"),
        ],
    )
    .await;
    assert_eq!(s["visibility"], "public");
    assert_eq!(s["sensitive"], false);
    assert_eq!(s["language"], "en");

    // JSON, with fields as an array and real booleans.
    let v = me_api
        .send(
            reqwest::Method::PATCH,
            "/api/v1/accounts/update_credentials",
            Body::Json(json!({
                "display_name": "Alice J.",
                "locked": false,
                "bot": false,
                "discoverable": true,
                "fields_attributes": [{"name": "Only", "value": "one"}],
                "source": {"privacy": "unlisted", "sensitive": false}
            })),
            &[],
        )
        .await
        .ok_json();
    assert_eq!(v["display_name"], "Alice J.");
    assert_eq!(v["locked"], false);
    assert_eq!(v["bot"], false);
    assert_eq!(v["discoverable"], true);
    assert_eq!(v["fields"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v["source"]["privacy"], "unlisted");
    assert_eq!(v["source"]["sensitive"], false);
    // Untouched attributes stay.
    assert_eq!(v["note"], "<p>Hello world</p>");

    // Multipart, as clients send it with an avatar.
    let v = me_api
        .send(
            reqwest::Method::PATCH,
            "/api/v1/accounts/update_credentials",
            Body::multipart(&[("display_name", "Alice M.")]),
            &[],
        )
        .await
        .ok_json();
    assert_eq!(v["display_name"], "Alice M.");

    // Limits: display name 30 characters, note 500.
    let thirty = "é".repeat(30);
    me_api
        .patch(
            "/api/v1/accounts/update_credentials",
            &[("display_name", &thirty)],
        )
        .await
        .ok_json();
    let resp = me_api
        .patch(
            "/api/v1/accounts/update_credentials",
            &[("display_name", &"x".repeat(31))],
        )
        .await;
    assert!(
        resp.err(422).starts_with("Validation failed"),
        "{}",
        resp.describe()
    );
    let resp = me_api
        .patch(
            "/api/v1/accounts/update_credentials",
            &[("note", &"x".repeat(501))],
        )
        .await;
    assert!(
        resp.err(422).starts_with("Validation failed"),
        "{}",
        resp.describe()
    );
    let me = me_api
        .get("/api/v1/accounts/verify_credentials")
        .await
        .ok_json();
    assert_eq!(
        me["display_name"],
        thirty.as_str(),
        "a refused update changed nothing"
    );

    // Auth.
    api.patch(
        "/api/v1/accounts/update_credentials",
        &[("display_name", "x")],
    )
    .await
    .err_is(401, "The access token is invalid");
});

lane_test!(show_and_lookup, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = create_account(&server, "alice", &[]);

    let v = api
        .get(&format!("/api/v1/accounts/{alice}"))
        .await
        .ok_json();
    assert_keys(&v, ACCOUNT_KEYS, "Account");
    assert_id(&v["id"], "account id");
    assert_eq!(v["username"], "alice");
    assert!(v.get("source").is_none());

    for id in ["99999999", "abc", "99999999999999999999999", "-1", "1.5"] {
        let resp = api.get(&format!("/api/v1/accounts/{id}")).await;
        resp.err(404);
        if id == "99999999" {
            resp.err_is(404, "Record not found");
        }
    }

    let d = domain(&server);
    for acct in [
        "alice",
        "ALICE",
        &format!("alice@{d}"),
        &format!("@alice@{d}"),
    ] {
        let resp = api
            .get_q("/api/v1/accounts/lookup", &[("acct", acct)])
            .await;
        if acct.starts_with('@') {
            // Mastodon strips a leading @; accept a 404 too but never an error page.
            if resp.status == 404 {
                resp.json_error();
                continue;
            }
        }
        assert_eq!(resp.ok_json()["id"], alice.as_str(), "lookup {acct}");
    }
    for acct in ["nobody", "alice@other.example", ""] {
        let resp = api
            .get_q("/api/v1/accounts/lookup", &[("acct", acct)])
            .await;
        resp.client_error();
    }
    api.get("/api/v1/accounts/lookup").await.client_error();
});

lane_test!(follow_unfollow_and_relationships, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let carol = user_token(&server, "carol").await;
    let a = alice.api(&api);

    let rel = follow(&a, &bob.id).await;
    assert_keys(&rel, RELATIONSHIP_KEYS, "Relationship");
    assert_eq!(rel["id"], bob.id.as_str());
    assert_eq!(rel["following"], true);
    assert_eq!(rel["requested"], false);
    assert_eq!(rel["showing_reblogs"], true);
    assert_eq!(rel["notifying"], false);
    assert_eq!(rel["followed_by"], false);

    // Following again updates the options (form booleans as Mastodon.py sends them).
    let rel = a
        .post(
            &format!("/api/v1/accounts/{}/follow", bob.id),
            &[("reblogs", "0"), ("notify", "1")],
        )
        .await
        .ok_json();
    assert_eq!(rel["following"], true);
    assert_eq!(rel["showing_reblogs"], false);
    assert_eq!(rel["notifying"], true);
    let rel = a
        .post_json(
            &format!("/api/v1/accounts/{}/follow", bob.id),
            json!({"reblogs": true, "notify": false}),
        )
        .await
        .ok_json();
    assert_eq!(rel["showing_reblogs"], true);
    assert_eq!(rel["notifying"], false);
    // …and as query parameters on the POST.
    let rel = a
        .post(
            &format!(
                "/api/v1/accounts/{}/follow?reblogs=false&notify=true",
                bob.id
            ),
            &[],
        )
        .await
        .ok_json();
    assert_eq!(rel["showing_reblogs"], false);
    assert_eq!(rel["notifying"], true);
    let rel = a
        .post_json(
            &format!("/api/v1/accounts/{}/follow", bob.id),
            json!({"reblogs": "true", "notify": "0"}),
        )
        .await
        .ok_json();
    assert_eq!(rel["showing_reblogs"], true, "booleans as strings in JSON");
    assert_eq!(rel["notifying"], false);

    // Relationships: array form, single form, unknown ids dropped.
    let v = a
        .get(&format!(
            "/api/v1/accounts/relationships?id[]={}&id[]={}",
            bob.id, carol.id
        ))
        .await
        .ok_json();
    let arr = v.as_array().cloned().unwrap_or_default();
    assert_eq!(arr.len(), 2, "{v}");
    assert_eq!(arr[0]["id"], bob.id.as_str());
    assert_eq!(arr[0]["following"], true);
    assert_eq!(arr[1]["id"], carol.id.as_str());
    assert_eq!(arr[1]["following"], false);
    for r in &arr {
        assert_keys(r, RELATIONSHIP_KEYS, "Relationship");
    }
    let v = a
        .get(&format!("/api/v1/accounts/relationships?id={}", bob.id))
        .await
        .ok_json();
    assert_eq!(ids(&v), vec![bob.id.clone()]);
    let v = a
        .get(&format!(
            "/api/v1/accounts/relationships?id[]={}&id[]=99999999",
            bob.id
        ))
        .await
        .ok_json();
    assert_eq!(ids(&v), vec![bob.id.clone()]);
    let v = bob
        .api(&api)
        .get(&format!("/api/v1/accounts/relationships?id[]={}", alice.id))
        .await
        .ok_json();
    assert_eq!(v[0]["followed_by"], true, "{v}");
    assert_eq!(v[0]["following"], false, "{v}");

    // Counters.
    let b = api
        .get(&format!("/api/v1/accounts/{}", bob.id))
        .await
        .ok_json();
    assert_eq!(b["followers_count"], 1);
    let al = api
        .get(&format!("/api/v1/accounts/{}", alice.id))
        .await
        .ok_json();
    assert_eq!(al["following_count"], 1);

    // Following yourself is refused; unknown accounts are 404.
    let resp = a
        .post(&format!("/api/v1/accounts/{}/follow", alice.id), &[])
        .await;
    resp.err(403);
    let al = api
        .get(&format!("/api/v1/accounts/{}", alice.id))
        .await
        .ok_json();
    assert_eq!(al["followers_count"], 0);
    a.post("/api/v1/accounts/99999999/follow", &[])
        .await
        .err_is(404, "Record not found");
    a.post("/api/v1/accounts/99999999/unfollow", &[])
        .await
        .err(404);

    // A locked account gets a request instead.
    carol
        .api(&api)
        .patch("/api/v1/accounts/update_credentials", &[("locked", "true")])
        .await
        .ok_json();
    let rel = follow(&a, &carol.id).await;
    assert_eq!(rel["following"], false);
    assert_eq!(rel["requested"], true);
    let c = carol
        .api(&api)
        .get("/api/v1/accounts/verify_credentials")
        .await
        .ok_json();
    assert_eq!(c["source"]["follow_requests_count"], 1);
    assert_eq!(c["followers_count"], 0);
    let v = carol
        .api(&api)
        .get(&format!("/api/v1/accounts/relationships?id={}", alice.id))
        .await
        .ok_json();
    assert_eq!(v[0]["requested_by"], true, "{v}");
    // Unfollowing withdraws the request.
    let rel = unfollow(&a, &carol.id).await;
    assert_eq!(rel["requested"], false);
    assert_eq!(rel["following"], false);
    let c = carol
        .api(&api)
        .get("/api/v1/accounts/verify_credentials")
        .await
        .ok_json();
    assert_eq!(c["source"]["follow_requests_count"], 0);

    // Unfollow; twice is fine.
    let rel = unfollow(&a, &bob.id).await;
    assert_eq!(rel["following"], false);
    assert_keys(&rel, RELATIONSHIP_KEYS, "Relationship");
    let rel = unfollow(&a, &bob.id).await;
    assert_eq!(rel["following"], false);
    let b = api
        .get(&format!("/api/v1/accounts/{}", bob.id))
        .await
        .ok_json();
    assert_eq!(b["followers_count"], 0);

    // Auth.
    let path = format!("/api/v1/accounts/{}/follow", bob.id);
    api.post(&path, &[])
        .await
        .err_is(401, "The access token is invalid");
    api.get(&format!("/api/v1/accounts/relationships?id={}", bob.id))
        .await
        .err_is(401, "The access token is invalid");
    let app = register_app(&api).await;
    let app_api = api.with_token(&app_token(&api, &app, "read write follow").await);
    app_api
        .get(&format!("/api/v1/accounts/relationships?id={}", bob.id))
        .await
        .err_is(422, "This method requires an authenticated user");
});

lane_test!(followers_and_following_pages, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let bob = user_token(&server, "bob").await;
    let mut fans = Vec::new();
    for name in ["alice", "carol", "dave", "erin"] {
        let u = user_token(&server, name).await;
        follow(&u.api(&api), &bob.id).await;
        fans.push(u);
    }
    // Bob follows three of them back, in order.
    for u in &fans[..3] {
        follow(&bob.api(&api), &u.id).await;
    }
    let newest_first: Vec<String> = fans.iter().rev().map(|u| u.id.clone()).collect();

    // No token needed; the newest follow first.
    let all = ids(&api
        .get(&format!("/api/v1/accounts/{}/followers", bob.id))
        .await
        .ok_json());
    assert_eq!(all, newest_first);

    // Pages of two, walked through the Link header.
    let first = api
        .get(&format!("/api/v1/accounts/{}/followers?limit=2", bob.id))
        .await;
    let page = first.ok_json();
    for a in page.as_array().unwrap() {
        assert_keys(a, ACCOUNT_KEYS, "Account");
    }
    assert_eq!(ids(&page), newest_first[..2].to_vec());
    let next = link(&first, "next").unwrap_or_else(|| panic!("no next link: {:?}", first.headers));
    let prev = link(&first, "prev").unwrap_or_else(|| panic!("no prev link: {:?}", first.headers));
    assert!(
        next.starts_with(&public_url(&server)),
        "links are absolute: {next}"
    );
    let max_id = query_param(&next, "max_id").expect("next has max_id");
    assert_ne!(
        max_id, newest_first[1],
        "followers are paginated by the follow's id, not the account's"
    );
    assert!(
        query_param(&prev, "since_id").is_some(),
        "prev uses since_id: {prev}"
    );
    assert_eq!(query_param(&next, "limit").as_deref(), Some("2"));
    let second = api.get(&path_and_query(&next)).await;
    assert_eq!(ids(&second.ok_json()), newest_first[2..].to_vec());
    if let Some(next) = link(&second, "next") {
        let third = api.get(&path_and_query(&next)).await.ok_json();
        assert_eq!(third, json!([]));
    }
    // since_id from the second page's prev link returns the newer ones.
    let prev2 = link(&second, "prev").expect("prev link on the second page");
    let newer = ids(&api.get(&path_and_query(&prev2)).await.ok_json());
    assert_eq!(newer, newest_first[..2].to_vec());

    // Following.
    let following = ids(&api
        .get(&format!("/api/v1/accounts/{}/following", bob.id))
        .await
        .ok_json());
    let expected: Vec<String> = fans[..3].iter().rev().map(|u| u.id.clone()).collect();
    assert_eq!(following, expected);
    let resp = api
        .get(&format!("/api/v1/accounts/{}/following?limit=1", bob.id))
        .await;
    assert_eq!(ids(&resp.ok_json()), vec![expected[0].clone()]);
    let next = link(&resp, "next").expect("next link");
    assert_eq!(
        ids(&api.get(&path_and_query(&next)).await.ok_json()),
        vec![expected[1].clone()]
    );

    // Unknown account.
    api.get("/api/v1/accounts/99999999/followers")
        .await
        .err(404);
    api.get("/api/v1/accounts/99999999/following")
        .await
        .err(404);
});

lane_test!(account_statuses, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let a = alice.api(&api);
    let b = bob.api(&api);

    let bob_post = post_status(&b, "bob's post").await;
    let bob_post_id = str_field(&bob_post, "id");
    let public = str_field(&post_status(&a, "public").await, "id");
    let reply = str_field(
        &post_status_with(
            &a,
            &[("status", "@bob reply"), ("in_reply_to_id", &bob_post_id)],
        )
        .await,
        "id",
    );
    let reblog = str_field(
        &a.post(&format!("/api/v1/statuses/{bob_post_id}/reblog"), &[])
            .await
            .ok_json(),
        "id",
    );
    let unlisted = str_field(
        &post_status_with(&a, &[("status", "unlisted"), ("visibility", "unlisted")]).await,
        "id",
    );
    let private = str_field(
        &post_status_with(&a, &[("status", "private"), ("visibility", "private")]).await,
        "id",
    );
    let direct = str_field(
        &post_status_with(&a, &[("status", "@bob direct"), ("visibility", "direct")]).await,
        "id",
    );
    let path = format!("/api/v1/accounts/{}/statuses", alice.id);

    // The owner sees everything, newest first.
    let own = timeline_ids(&a, &path).await;
    assert_eq!(
        own,
        vec![
            direct.clone(),
            private.clone(),
            unlisted.clone(),
            reblog.clone(),
            reply.clone(),
            public.clone()
        ]
    );
    // Anonymous: public and unlisted only.
    let anon = timeline_ids(&api, &path).await;
    assert_eq!(
        anon,
        vec![
            unlisted.clone(),
            reblog.clone(),
            reply.clone(),
            public.clone()
        ]
    );
    // A follower also sees private ones; the mentioned account sees the DM.
    follow(&b, &alice.id).await;
    let as_bob = timeline_ids(&b, &path).await;
    assert_eq!(
        as_bob,
        vec![
            direct.clone(),
            private.clone(),
            unlisted.clone(),
            reblog.clone(),
            reply.clone(),
            public.clone()
        ]
    );

    // Filters, with both boolean spellings.
    for t in ["true", "1"] {
        let v = timeline_ids(&a, &format!("{path}?exclude_replies={t}")).await;
        assert!(!v.contains(&reply), "exclude_replies={t}: {v:?}");
        assert!(v.contains(&public));
        let v = timeline_ids(&a, &format!("{path}?exclude_reblogs={t}")).await;
        assert!(!v.contains(&reblog), "exclude_reblogs={t}: {v:?}");
        assert!(v.contains(&reply));
        assert_eq!(
            timeline_ids(&a, &format!("{path}?only_media={t}")).await,
            Vec::<String>::new()
        );
        assert_eq!(
            timeline_ids(&a, &format!("{path}?pinned={t}")).await,
            Vec::<String>::new()
        );
    }
    for t in ["false", "0"] {
        let v = timeline_ids(
            &a,
            &format!("{path}?exclude_replies={t}&exclude_reblogs={t}"),
        )
        .await;
        assert_eq!(v.len(), 6, "{t}: {v:?}");
    }
    // The reblog entry wraps bob's post.
    let v = a.get(&format!("{path}?limit=40")).await.ok_json();
    let entry = v
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == reblog.as_str())
        .cloned()
        .expect("reblog listed");
    assert_eq!(entry["reblog"]["id"], bob_post_id.as_str());

    // Paging.
    let resp = a.get(&format!("{path}?limit=2")).await;
    assert_eq!(ids(&resp.ok_json()), vec![direct.clone(), private.clone()]);
    let next = link(&resp, "next").expect("next link");
    assert_eq!(
        query_param(&next, "max_id").as_deref(),
        Some(private.as_str())
    );
    let v = timeline_ids(&a, &path_and_query(&next)).await;
    assert_eq!(v, vec![unlisted.clone(), reblog.clone()]);
    let v = timeline_ids(&a, &format!("{path}?min_id={reply}&limit=2")).await;
    assert_eq!(v, vec![unlisted.clone(), reblog.clone()]);

    api.get("/api/v1/accounts/99999999/statuses").await.err(404);
});

lane_test!(concurrent_sign_ups_and_follows, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let (app, client) = sign_up_client(&api).await;

    // The same username four times at once: one account, the rest 422.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..4 {
        let client = client.clone();
        let app = app.clone();
        tasks.spawn(async move {
            let email = format!("racer{i}@example.com");
            client
                .post("/api/v1/accounts", &sign_up_form(&app, "racer", &email))
                .await
        });
    }
    let mut created = 0;
    while let Some(resp) = tasks.join_next().await {
        let resp = resp.unwrap();
        match resp.status {
            200 => created += 1,
            _ => assert_detail(&resp, "username", "ERR_TAKEN"),
        }
    }
    assert_eq!(created, 1, "exactly one of the racing sign-ups wins");

    // Following the same account several times at once: one follow.
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..5 {
        let a = alice.api(&api);
        let id = bob.id.clone();
        tasks.spawn(async move { a.post(&format!("/api/v1/accounts/{id}/follow"), &[]).await });
    }
    while let Some(resp) = tasks.join_next().await {
        let rel = resp.unwrap().ok_json();
        assert_eq!(rel["following"], true, "{rel}");
    }
    let b = api
        .get(&format!("/api/v1/accounts/{}", bob.id))
        .await
        .ok_json();
    assert_eq!(b["followers_count"], 1, "{b}");
    let a = api
        .get(&format!("/api/v1/accounts/{}", alice.id))
        .await
        .ok_json();
    assert_eq!(a["following_count"], 1, "{a}");
});
