//! OAuth 2 as Mastodon does it: app registration, the token endpoint's
//! grants, the authorize page with PKCE and oob, revocation, server
//! metadata and scope enforcement.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use ferrodon_testkit::{Lane, lane_test};
use serde_json::{Value, json};

const OOB: &str = "urn:ietf:wg:oauth:2.0:oob";
const CALLBACK: &str = "https://app.example/callback";

lane_test!(apps_are_registered_and_validated, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);

    // Form-encoded, as Mastodon.py sends it.
    let v = api
        .post(
            "/api/v1/apps",
            &[
                ("client_name", "My App"),
                ("redirect_uris", OOB),
                ("scopes", "read write follow"),
                ("website", "https://myapp.example"),
            ],
        )
        .await
        .ok_json();
    assert_keys(
        &v,
        &[
            "id",
            "name",
            "website",
            "scopes",
            "redirect_uri",
            "redirect_uris",
            "client_id",
            "client_secret",
            "vapid_key",
        ],
        "CredentialApplication",
    );
    assert_id(&v["id"], "application id");
    assert_eq!(v["name"], "My App");
    assert_eq!(v["website"], "https://myapp.example");
    assert_eq!(v["scopes"], json!(["read", "write", "follow"]));
    assert_eq!(v["redirect_uris"], json!([OOB]));
    assert_eq!(v["redirect_uri"], OOB);
    assert!(!str_field(&v, "client_id").is_empty());
    assert!(!str_field(&v, "client_secret").is_empty());
    assert_eq!(v["client_secret_expires_at"], 0);

    // JSON with an array of redirect URIs; scopes default to `read`; a blank
    // website is null.
    let v = api
        .post_json(
            "/api/v1/apps",
            json!({"client_name": "Two", "redirect_uris": [CALLBACK, OOB], "website": ""}),
        )
        .await
        .ok_json();
    assert_eq!(v["redirect_uris"], json!([CALLBACK, OOB]));
    assert_eq!(v["redirect_uri"], format!("{CALLBACK}\n{OOB}"));
    assert_eq!(v["scopes"], json!(["read"]));
    assert_eq!(v["website"], Value::Null);

    // Newline-separated URIs in one string, as Mastodon.py joins a list.
    let v = api
        .post(
            "/api/v1/apps",
            &[
                ("client_name", "Three"),
                ("redirect_uris", &format!("{CALLBACK}\n{OOB}")),
            ],
        )
        .await
        .ok_json();
    assert_eq!(v["redirect_uris"], json!([CALLBACK, OOB]));

    // Multipart is accepted too.
    let v = api
        .post_multipart(
            "/api/v1/apps",
            &[
                ("client_name", "Multi"),
                ("redirect_uris", OOB),
                ("scopes", "read"),
            ],
        )
        .await
        .ok_json();
    assert_eq!(v["name"], "Multi");

    // Validation failures: 422 with Mastodon's "Validation failed: …".
    for (what, form) in [
        ("missing redirect_uris", vec![("client_name", "x")]),
        (
            "blank redirect_uris",
            vec![("client_name", "x"), ("redirect_uris", "")],
        ),
        (
            "relative redirect URI",
            vec![("client_name", "x"), ("redirect_uris", "/callback")],
        ),
        (
            "not a URI",
            vec![("client_name", "x"), ("redirect_uris", "not a uri")],
        ),
        (
            "fragment in redirect URI",
            vec![
                ("client_name", "x"),
                ("redirect_uris", "https://app.example/cb#frag"),
            ],
        ),
        (
            "javascript: redirect URI",
            vec![
                ("client_name", "x"),
                ("redirect_uris", "javascript:alert(1)"),
            ],
        ),
        ("missing client_name", vec![("redirect_uris", OOB)]),
        (
            "unknown scope",
            vec![
                ("client_name", "x"),
                ("redirect_uris", OOB),
                ("scopes", "read nonsense"),
            ],
        ),
        (
            "removed scope crypto",
            vec![
                ("client_name", "x"),
                ("redirect_uris", OOB),
                ("scopes", "crypto"),
            ],
        ),
    ] {
        let resp = api.post("/api/v1/apps", &form).await;
        let err = resp.err(422);
        assert!(
            err.starts_with("Validation failed"),
            "{what}: expected a validation message: {}",
            resp.describe()
        );
    }
    let long_name = "n".repeat(61);
    api.post(
        "/api/v1/apps",
        &[("client_name", &long_name), ("redirect_uris", OOB)],
    )
    .await
    .err(422);

    // verify_credentials: any valid token, app or user; no secrets in it.
    let app = register_app_with(&api, "read write", OOB).await;
    let token = app_token(&api, &app, "read").await;
    let v = api
        .with_token(&token)
        .get("/api/v1/apps/verify_credentials")
        .await
        .ok_json();
    assert_eq!(v["name"], "ferrodon e2e");
    assert_eq!(v["scopes"], json!(["read", "write"]));
    assert!(
        v.get("client_secret").is_none(),
        "verify_credentials leaks the secret: {v}"
    );
    let user = user_token(&server, "alice").await;
    let v = user
        .api(&api)
        .get("/api/v1/apps/verify_credentials")
        .await
        .ok_json();
    assert_eq!(v["name"], "ferrodon e2e");
    api.get("/api/v1/apps/verify_credentials")
        .await
        .err_is(401, "The access token is invalid");
    api.with_token("not-a-token")
        .get("/api/v1/apps/verify_credentials")
        .await
        .err_is(401, "The access token is invalid");
});

lane_test!(token_endpoint_grants_and_errors, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let app = register_app_with(&api, "read write", OOB).await;
    let token = |form: Vec<(&'static str, String)>| {
        let api = api.clone();
        async move {
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            api.post("/oauth/token", &pairs).await
        }
    };
    let cid = app.client_id.clone();
    let secret = app.client_secret.clone();

    // client_credentials with an explicit scope.
    let resp = token(vec![
        ("grant_type", "client_credentials".into()),
        ("client_id", cid.clone()),
        ("client_secret", secret.clone()),
        ("scope", "read write".into()),
    ])
    .await;
    let v = resp.ok_json();
    assert_keys(&v, TOKEN_KEYS, "Token");
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["scope"], "read write");
    assert!(
        v["created_at"].is_i64(),
        "created_at must be an integer epoch: {v}"
    );
    assert!(!str_field(&v, "access_token").is_empty());
    assert!(v.get("refresh_token").is_none() || v["refresh_token"].is_null());
    let cache = resp.header("cache-control").unwrap_or_default();
    assert!(
        cache.contains("no-store"),
        "token responses must not be cached: {cache:?}"
    );

    // Without `scope`, Doorkeeper's default scope `read` is granted.
    let v = token(vec![
        ("grant_type", "client_credentials".into()),
        ("client_id", cid.clone()),
        ("client_secret", secret.clone()),
    ])
    .await
    .ok_json();
    assert_eq!(v["scope"], "read");

    // JSON bodies work as well.
    let v = api
        .post_json(
            "/oauth/token",
            json!({"grant_type": "client_credentials", "client_id": cid, "client_secret": secret, "scope": "read"}),
        )
        .await
        .ok_json();
    assert_eq!(v["token_type"], "Bearer");

    // A scope the app did not register.
    let resp = token(vec![
        ("grant_type", "client_credentials".into()),
        ("client_id", cid.clone()),
        ("client_secret", secret.clone()),
        ("scope", "follow".into()),
    ])
    .await;
    assert_eq!(resp.err(400), "invalid_scope", "{}", resp.describe());
    assert!(resp.json()["error_description"].is_string());

    // Wrong secret, unknown client.
    let resp = token(vec![
        ("grant_type", "client_credentials".into()),
        ("client_id", cid.clone()),
        ("client_secret", "wrong".into()),
    ])
    .await;
    assert_eq!(resp.err(401), "invalid_client");
    let resp = token(vec![
        ("grant_type", "client_credentials".into()),
        ("client_id", "nope".into()),
        ("client_secret", "nope".into()),
    ])
    .await;
    assert_eq!(resp.err(401), "invalid_client");

    // Unknown or missing grant type.
    let resp = token(vec![
        ("grant_type", "bogus".into()),
        ("client_id", cid.clone()),
        ("client_secret", secret.clone()),
    ])
    .await;
    assert_eq!(resp.err(400), "unsupported_grant_type");
    let resp = token(vec![
        ("client_id", cid.clone()),
        ("client_secret", secret.clone()),
    ])
    .await;
    let err = resp.err(400);
    assert!(
        err == "invalid_request" || err == "unsupported_grant_type",
        "missing grant_type: {}",
        resp.describe()
    );

    // authorization_code with a code that was never issued.
    let resp = token(vec![
        ("grant_type", "authorization_code".into()),
        ("client_id", cid.clone()),
        ("client_secret", secret.clone()),
        ("redirect_uri", OOB.into()),
        ("code", "never-issued".into()),
    ])
    .await;
    assert_eq!(resp.err(400), "invalid_grant");

    // The metadata document advertises the password grant by default.
    let v = api
        .get("/.well-known/oauth-authorization-server")
        .await
        .ok_json();
    let grants = v["grant_types_supported"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for grant in ["authorization_code", "client_credentials", "password"] {
        assert!(grants.contains(&json!(grant)), "{grant} missing from {v}");
    }
});

lane_test!(password_grant, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    create_account(&server, "alice", &[]);
    let app = register_app(&api).await;

    // The username parameter is the e-mail address, as in Mastodon.
    let v = password_grant(
        &api,
        &app,
        "alice@example.com",
        PASSWORD,
        "read write follow push",
    )
    .await
    .ok_json();
    assert_keys(&v, TOKEN_KEYS, "Token");
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["scope"], "read write follow push");
    let token = str_field(&v, "access_token");
    let me = api
        .with_token(&token)
        .get("/api/v1/accounts/verify_credentials")
        .await
        .ok_json();
    assert_eq!(me["username"], "alice");

    // (Mastodon only looks the e-mail up; also accepting the username is a
    // harmless extension, so it is not tested either way.)
    for (username, password) in [
        ("alice@example.com", "wrong password"),
        ("nobody@example.com", PASSWORD),
        ("alice@example.com", ""),
    ] {
        let resp = password_grant(&api, &app, username, password, "read").await;
        assert_eq!(
            resp.status,
            400,
            "username {username:?}, password {password:?}: {}",
            resp.describe()
        );
        assert_eq!(resp.err(400), "invalid_grant", "{}", resp.describe());
    }
    // A scope the app lacks.
    let narrow = register_app_with(&api, "read", OOB).await;
    let resp = password_grant(&api, &narrow, "alice@example.com", PASSWORD, "write").await;
    assert_eq!(resp.err(400), "invalid_scope");
});

lane_test!(password_grant_can_be_disabled, |lane: Lane| async move {
    let server = spawn_with(lane, &[("FERRODON_PASSWORD_GRANT", "false")]).await;
    let api = Api::of(&server);
    create_account(&server, "alice", &[]);
    let app = register_app(&api).await;
    let resp = password_grant(&api, &app, "alice@example.com", PASSWORD, "read").await;
    assert_eq!(
        resp.err(400),
        "unsupported_grant_type",
        "{}",
        resp.describe()
    );
    let v = api
        .get("/.well-known/oauth-authorization-server")
        .await
        .ok_json();
    let grants = v["grant_types_supported"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        !grants.contains(&json!("password")),
        "password still advertised: {v}"
    );
    assert!(grants.contains(&json!("authorization_code")));
    // Other grants still work.
    app_token(&api, &app, "read").await;
});

lane_test!(authorization_code_flow_with_pkce, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    create_account(&server, "alice", &[]);
    let app = register_app_with(&api, "read write", &format!("{CALLBACK}\n{OOB}")).await;
    let email = "alice@example.com";

    let auth_query = |challenge: &str, state: &str| -> Vec<(String, String)> {
        vec![
            ("response_type".into(), "code".into()),
            ("client_id".into(), app.client_id.clone()),
            ("redirect_uri".into(), CALLBACK.into()),
            ("scope".into(), "read write".into()),
            ("state".into(), state.into()),
            ("code_challenge".into(), challenge.into()),
            ("code_challenge_method".into(), "S256".into()),
        ]
    };
    let get_code = |resp: &Resp, state: &str| -> String {
        // Doorkeeper answers 302; 303 See Other is as good after a POST.
        assert!(
            resp.status == 302 || resp.status == 303,
            "expected a redirect to the app: {}",
            resp.describe()
        );
        let location = resp.header("location").expect("Location header");
        assert!(
            location.starts_with(&format!("{CALLBACK}?")),
            "redirect must go to the registered URI: {location}"
        );
        assert_eq!(
            query_param(&location, "state").as_deref(),
            Some(state),
            "{location}"
        );
        query_param(&location, "code").expect("code in the redirect")
    };
    let exchange = |code: String, verifier: Option<String>, redirect: &'static str| {
        let api = api.clone();
        let app = app.clone();
        async move {
            let mut form = vec![
                ("grant_type", "authorization_code".to_owned()),
                ("client_id", app.client_id.clone()),
                ("client_secret", app.client_secret.clone()),
                ("redirect_uri", redirect.to_owned()),
                ("code", code),
            ];
            if let Some(v) = verifier {
                form.push(("code_verifier", v));
            }
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            api.post("/oauth/token", &pairs).await
        }
    };
    let run_authorize = |query: Vec<(String, String)>, password: &'static str| {
        let api = api.clone();
        async move {
            let pairs: Vec<(&str, &str)> = query
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            authorize(&api, &pairs, email, password).await
        }
    };

    // The sign-in page tolerates the stray parameters Mastodon.py sends.
    let (verifier, challenge) = pkce_pair();
    let mut query = auth_query(&challenge, "s1");
    query.push(("force_login".into(), "False".into()));
    query.push(("lang".into(), "None".into()));
    let pairs: Vec<(&str, &str)> = query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let page = api.get_q("/oauth/authorize", &pairs).await;
    assert_eq!(page.status, 200, "{}", page.describe());
    assert!(
        page.content_type().starts_with("text/html"),
        "{}",
        page.describe()
    );

    // A wrong password does not issue a code.
    let resp = run_authorize(query.clone(), "wrong password").await;
    let leaked = resp
        .header("location")
        .is_some_and(|l| query_param(&l, "code").is_some());
    assert!(!leaked, "wrong password issued a code: {}", resp.describe());
    assert!(resp.status < 500, "{}", resp.describe());

    // The right password: 302 to the app with code and state.
    let resp = run_authorize(query, PASSWORD).await;
    let code = get_code(&resp, "s1");

    // Exchange without the verifier, then with a wrong one: invalid_grant
    // (each with a code of its own, in case a failed attempt burns the code).
    let (_, other_challenge) = pkce_pair();
    let resp = run_authorize(auth_query(&other_challenge, "s2"), PASSWORD).await;
    let code2 = get_code(&resp, "s2");
    let resp = exchange(code2, None, CALLBACK).await;
    assert_eq!(
        resp.err(400),
        "invalid_grant",
        "no code_verifier: {}",
        resp.describe()
    );
    let resp = run_authorize(auth_query(&other_challenge, "s3"), PASSWORD).await;
    let code3 = get_code(&resp, "s3");
    let resp = exchange(code3, Some(verifier.clone()), CALLBACK).await;
    assert_eq!(
        resp.err(400),
        "invalid_grant",
        "wrong code_verifier: {}",
        resp.describe()
    );

    // A redirect_uri other than the one authorized.
    let (v4, c4) = pkce_pair();
    let resp = run_authorize(auth_query(&c4, "s4"), PASSWORD).await;
    let code4 = get_code(&resp, "s4");
    let resp = exchange(code4, Some(v4), OOB).await;
    assert_eq!(
        resp.err(400),
        "invalid_grant",
        "redirect mismatch: {}",
        resp.describe()
    );

    // The right verifier: a token with the authorized scopes.
    let v = exchange(code.clone(), Some(verifier.clone()), CALLBACK)
        .await
        .ok_json();
    assert_eq!(v["scope"], "read write");
    assert_eq!(v["token_type"], "Bearer");
    let user_api = api.with_token(&str_field(&v, "access_token"));
    let me = user_api
        .get("/api/v1/accounts/verify_credentials")
        .await
        .ok_json();
    assert_eq!(me["username"], "alice");
    post_status(&user_api, "posted with a code-flow token").await;

    // Codes are single-use.
    let resp = exchange(code, Some(verifier), CALLBACK).await;
    assert_eq!(
        resp.err(400),
        "invalid_grant",
        "code reuse: {}",
        resp.describe()
    );

    // Authorization requests that must not show a sign-in form or redirect
    // with a code: unknown client, unregistered redirect URI, plain PKCE,
    // a scope the app lacks.
    let bad_requests: Vec<(&str, Vec<(&str, String)>)> = vec![
        (
            "unknown client",
            vec![
                ("response_type", "code".into()),
                ("client_id", "nope".into()),
                ("redirect_uri", CALLBACK.into()),
            ],
        ),
        (
            "unregistered redirect_uri",
            vec![
                ("response_type", "code".into()),
                ("client_id", app.client_id.clone()),
                ("redirect_uri", "https://evil.example/steal".into()),
            ],
        ),
        (
            "plain PKCE method",
            vec![
                ("response_type", "code".into()),
                ("client_id", app.client_id.clone()),
                ("redirect_uri", CALLBACK.into()),
                (
                    "code_challenge",
                    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopq".into(),
                ),
                ("code_challenge_method", "plain".into()),
            ],
        ),
        (
            "scope outside the app's",
            vec![
                ("response_type", "code".into()),
                ("client_id", app.client_id.clone()),
                ("redirect_uri", CALLBACK.into()),
                ("scope", "follow".into()),
            ],
        ),
        (
            "unsupported response_type",
            vec![
                ("response_type", "token".into()),
                ("client_id", app.client_id.clone()),
                ("redirect_uri", CALLBACK.into()),
            ],
        ),
    ];
    for (what, query) in bad_requests {
        let pairs: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let resp = api.get_q("/oauth/authorize", &pairs).await;
        match resp.status {
            400..=499 => {}
            302 | 303 => {
                let location = resp.header("location").unwrap_or_default();
                assert!(
                    location.starts_with(CALLBACK) && query_param(&location, "error").is_some(),
                    "{what}: a redirect must carry an OAuth error to the registered URI: {}",
                    resp.describe()
                );
            }
            _ => panic!("{what}: expected an error: {}", resp.describe()),
        }
        assert!(
            !hidden_inputs(&resp.text).iter().any(|(k, _)| k == "csrf"),
            "{what}: a sign-in form was shown: {}",
            resp.describe()
        );
    }

    // POST without a valid csrf token is refused.
    let (_, c5) = pkce_pair();
    let query = auth_query(&c5, "s5");
    let mut form: Vec<(String, String)> = query;
    form.push(("email".into(), email.into()));
    form.push(("password".into(), PASSWORD.into()));
    form.push(("csrf".into(), "forged".into()));
    let resp = api
        .send(
            reqwest::Method::POST,
            "/oauth/authorize",
            Body::Form(form),
            &[],
        )
        .await;
    let leaked = resp
        .header("location")
        .is_some_and(|l| query_param(&l, "code").is_some());
    assert!(
        !leaked,
        "a forged csrf token issued a code: {}",
        resp.describe()
    );
    assert!(resp.status < 500, "forged csrf: {}", resp.describe());
});

lane_test!(out_of_band_authorization, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    create_account(&server, "alice", &[]);
    let app = register_app_with(&api, "read write follow push", OOB).await;
    let resp = authorize(
        &api,
        &[
            ("response_type", "code"),
            ("client_id", &app.client_id),
            ("redirect_uri", OOB),
            ("scope", "read write follow push"),
        ],
        "alice@example.com",
        PASSWORD,
    )
    .await;
    assert_eq!(
        resp.status,
        200,
        "oob shows the code on a page: {}",
        resp.describe()
    );
    assert!(
        resp.content_type().starts_with("text/html"),
        "{}",
        resp.describe()
    );
    let code = element_text_by_id(&resp.text, "code")
        .unwrap_or_else(|| panic!("no element with id=\"code\": {}", resp.describe()));
    assert!(!code.is_empty());
    let v = api
        .post(
            "/oauth/token",
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &app.client_id),
                ("client_secret", &app.client_secret),
                ("redirect_uri", OOB),
                ("code", &code),
            ],
        )
        .await
        .ok_json();
    // No scope asked at the token endpoint: the grant's scopes apply.
    assert_eq!(v["scope"], "read write follow push");
    let me = api
        .with_token(&str_field(&v, "access_token"))
        .get("/api/v1/accounts/verify_credentials")
        .await
        .ok_json();
    assert_eq!(me["username"], "alice");

    // Without `scope` the grant gets the default `read`.
    let resp = authorize(
        &api,
        &[
            ("response_type", "code"),
            ("client_id", &app.client_id),
            ("redirect_uri", OOB),
        ],
        "alice@example.com",
        PASSWORD,
    )
    .await;
    let code = element_text_by_id(&resp.text, "code").expect("code element");
    let v = api
        .post(
            "/oauth/token",
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &app.client_id),
                ("client_secret", &app.client_secret),
                ("redirect_uri", OOB),
                ("code", &code),
            ],
        )
        .await
        .ok_json();
    assert_eq!(v["scope"], "read");
});

lane_test!(revocation, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let me = alice.api(&api);
    me.get("/api/v1/accounts/verify_credentials")
        .await
        .ok_json();

    // Another app may not revoke alice's token.
    let other = register_app(&api).await;
    let resp = api
        .post(
            "/oauth/revoke",
            &[
                ("client_id", &other.client_id),
                ("client_secret", &other.client_secret),
                ("token", &alice.token),
            ],
        )
        .await;
    assert_eq!(resp.err(403), "unauthorized_client", "{}", resp.describe());
    me.get("/api/v1/accounts/verify_credentials")
        .await
        .ok_json();

    // Wrong client secret: refused, token intact.
    let resp = api
        .post(
            "/oauth/revoke",
            &[
                ("client_id", &alice.app.client_id),
                ("client_secret", "wrong"),
                ("token", &alice.token),
            ],
        )
        .await;
    assert!(
        resp.status == 401 || resp.status == 403,
        "bad client auth: {}",
        resp.describe()
    );
    resp.json_error();
    me.get("/api/v1/accounts/verify_credentials")
        .await
        .ok_json();

    // The owner revokes: 200 {} and the token is dead everywhere.
    let v = api
        .post(
            "/oauth/revoke",
            &[
                ("client_id", &alice.app.client_id),
                ("client_secret", &alice.app.client_secret),
                ("token", &alice.token),
            ],
        )
        .await
        .ok_json();
    assert_eq!(v, json!({}));
    for path in [
        "/api/v1/accounts/verify_credentials",
        "/api/v1/timelines/home",
    ] {
        let resp = me.get(path).await;
        let err = resp.err(401);
        assert!(
            err == "The access token was revoked" || err == "The access token is invalid",
            "{}",
            resp.describe()
        );
    }
    me.post("/api/v1/statuses", &[("status", "after revoke")])
        .await
        .err(401);

    // Revoking again, or an unknown token, is still 200.
    for token in [alice.token.as_str(), "never-issued"] {
        let resp = api
            .post(
                "/oauth/revoke",
                &[
                    ("client_id", &alice.app.client_id),
                    ("client_secret", &alice.app.client_secret),
                    ("token", token),
                ],
            )
            .await;
        assert_eq!(resp.status, 200, "{}", resp.describe());
    }
});

lane_test!(server_metadata, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let base = public_url(&server);
    let v = api
        .get("/.well-known/oauth-authorization-server")
        .await
        .ok_json();
    assert_keys(
        &v,
        &[
            "issuer",
            "authorization_endpoint",
            "token_endpoint",
            "revocation_endpoint",
            "app_registration_endpoint",
            "scopes_supported",
            "response_types_supported",
            "grant_types_supported",
            "token_endpoint_auth_methods_supported",
        ],
        "OAuth metadata",
    );
    assert_eq!(v["issuer"], format!("{base}/"));
    assert_eq!(
        v["authorization_endpoint"],
        format!("{base}/oauth/authorize")
    );
    assert_eq!(v["token_endpoint"], format!("{base}/oauth/token"));
    assert_eq!(v["revocation_endpoint"], format!("{base}/oauth/revoke"));
    assert_eq!(
        v["app_registration_endpoint"],
        format!("{base}/api/v1/apps")
    );
    assert_eq!(v["response_types_supported"], json!(["code"]));
    let scopes = v["scopes_supported"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for scope in [
        "read",
        "write",
        "follow",
        "push",
        "read:statuses",
        "write:statuses",
    ] {
        assert!(scopes.contains(&json!(scope)), "{scope} missing from {v}");
    }
    // Mastodon.py refuses OAuth URLs with a query, fragment or userinfo.
    let token_endpoint = str_field(&v, "token_endpoint");
    assert!(
        !token_endpoint.contains(['?', '#', '@']),
        "{token_endpoint}"
    );
});

lane_test!(scopes_are_enforced, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let bob_status = post_status(&bob.api(&api), "hello from bob").await;
    let bob_status_id = str_field(&bob_status, "id");
    let outside = "This action is outside the authorized scopes";
    let scoped = |scope: &'static str| {
        let api = api.clone();
        let alice = alice.clone();
        async move { api.with_token(&token_for(&api, &alice, scope).await) }
    };
    let follow_path = format!("/api/v1/accounts/{}/follow", bob.id);
    let unfollow_path = format!("/api/v1/accounts/{}/unfollow", bob.id);
    let favourite_path = format!("/api/v1/statuses/{bob_status_id}/favourite");
    let relationships = format!("/api/v1/accounts/relationships?id[]={}", bob.id);

    // read: reads everything, writes nothing.
    let read = scoped("read").await;
    read.get("/api/v1/accounts/verify_credentials")
        .await
        .ok_json();
    read.get("/api/v1/timelines/home").await.ok_json();
    read.get(&relationships).await.ok_json();
    read.post("/api/v1/statuses", &[("status", "nope")])
        .await
        .err_is(403, outside);
    read.post(&follow_path, &[]).await.err_is(403, outside);
    read.post(&favourite_path, &[]).await.err_is(403, outside);
    read.patch(
        "/api/v1/accounts/update_credentials",
        &[("display_name", "x")],
    )
    .await
    .err_is(403, outside);

    // write:statuses posts and nothing else.
    let ws = scoped("write:statuses").await;
    let s = post_status(&ws, "granular scope").await;
    ws.get("/api/v1/timelines/home").await.err_is(403, outside);
    ws.get("/api/v1/accounts/verify_credentials")
        .await
        .err_is(403, outside);
    ws.post(&follow_path, &[]).await.err_is(403, outside);
    ws.post(&favourite_path, &[]).await.err_is(403, outside);
    ws.delete(&format!("/api/v1/statuses/{}", str_field(&s, "id")))
        .await
        .ok_json();

    // write: every write:* scope.
    let write = scoped("write").await;
    post_status(&write, "write scope").await;
    write.post(&favourite_path, &[]).await.ok_json();
    write.post(&follow_path, &[]).await.ok_json();
    write.post(&unfollow_path, &[]).await.ok_json();
    write
        .get("/api/v1/timelines/home")
        .await
        .err_is(403, outside);

    // follow: follow/unfollow and relationships, no posting.
    let follow = scoped("follow").await;
    let rel = follow.post(&follow_path, &[]).await.ok_json();
    assert_eq!(rel["following"], true);
    follow.get(&relationships).await.ok_json();
    follow.post(&unfollow_path, &[]).await.ok_json();
    follow
        .post("/api/v1/statuses", &[("status", "nope")])
        .await
        .err_is(403, outside);
    follow
        .get("/api/v1/timelines/home")
        .await
        .err_is(403, outside);

    // write:follows is enough to follow.
    let wf = scoped("write:follows").await;
    assert_eq!(
        wf.post(&follow_path, &[]).await.ok_json()["following"],
        true
    );
    wf.post(&unfollow_path, &[]).await.ok_json();

    // read:statuses reads timelines but not relationships or credentials.
    let rs = scoped("read:statuses").await;
    rs.get("/api/v1/timelines/home").await.ok_json();
    rs.get(&relationships).await.err_is(403, outside);

    // read:accounts and profile read the credentials.
    scoped("read:accounts")
        .await
        .get("/api/v1/accounts/verify_credentials")
        .await
        .ok_json();
    let profile = scoped("profile").await;
    profile
        .get("/api/v1/accounts/verify_credentials")
        .await
        .ok_json();
    profile
        .get("/api/v1/timelines/home")
        .await
        .err_is(403, outside);

    // push alone grants no REST access.
    let push = scoped("push").await;
    push.get("/api/v1/timelines/home")
        .await
        .err_is(403, outside);
    push.post("/api/v1/statuses", &[("status", "nope")])
        .await
        .err_is(403, outside);

    // An app token on user endpoints: 422.
    let app = register_app(&api).await;
    let app_api = api.with_token(&app_token(&api, &app, "read write follow").await);
    let needs_user = "This method requires an authenticated user";
    app_api
        .get("/api/v1/accounts/verify_credentials")
        .await
        .err_is(422, needs_user);
    app_api
        .post("/api/v1/statuses", &[("status", "app")])
        .await
        .err_is(422, needs_user);
    app_api
        .get("/api/v1/timelines/home")
        .await
        .err_is(422, needs_user);
    app_api
        .post(&follow_path, &[])
        .await
        .err_is(422, needs_user);
    // …but it may read public things.
    app_api
        .get(&format!("/api/v1/statuses/{bob_status_id}"))
        .await
        .ok_json();

    // No or an unknown token: 401.
    let invalid = "The access token is invalid";
    for client in [api.anon(), api.with_token("garbage-token")] {
        client
            .get("/api/v1/accounts/verify_credentials")
            .await
            .err_is(401, invalid);
        client
            .post("/api/v1/statuses", &[("status", "x")])
            .await
            .err_is(401, invalid);
        client
            .get("/api/v1/timelines/home")
            .await
            .err_is(401, invalid);
        client.post(&follow_path, &[]).await.err_is(401, invalid);
    }
    // An unknown token on an endpoint where a token is optional is still an error.
    api.with_token("garbage-token")
        .get(&format!("/api/v1/statuses/{bob_status_id}"))
        .await
        .err_is(401, invalid);
    // A malformed Authorization header.
    let resp = api
        .send(
            reqwest::Method::GET,
            "/api/v1/accounts/verify_credentials",
            Body::None,
            &[("authorization", "Basic Zm9vOmJhcg==")],
        )
        .await;
    resp.err_is(401, invalid);
});

/// The sign-in form's token only works in the browser it was shown to (its
/// sign-in cookie), so nobody can sign a victim's browser into their own
/// account (login CSRF); its CSP lets it post only to itself and to where
/// the client's redirect goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_form_is_bound_to_the_browser() {
    let server = spawn(Lane::Sqlite).await;
    let api = Api::of(&server);
    create_account(&server, "mallory", &[]);
    let custom = "com.example.app:/oauth";
    let app = register_app_with(&api, "read", &format!("{CALLBACK}\n{custom}\n{OOB}")).await;
    let query = |redirect: &str| -> Vec<(String, String)> {
        vec![
            ("response_type".into(), "code".into()),
            ("client_id".into(), app.client_id.clone()),
            ("redirect_uri".into(), redirect.into()),
            ("scope".into(), "read".into()),
        ]
    };
    let page_for = |redirect: &str| {
        let api = api.anon();
        let q = query(redirect);
        async move {
            let pairs: Vec<(&str, &str)> =
                q.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let page = api.get_q("/oauth/authorize", &pairs).await;
            assert_eq!(page.status, 200, "{}", page.describe());
            page
        }
    };
    // Mallory fetches a form (with its cookie) and hands the form to a victim.
    let mallory_page = page_for(CALLBACK).await;
    let mallory_cookie = signin_cookie(&mallory_page).expect("a sign-in cookie");
    let set_cookie = mallory_page.header("set-cookie").unwrap_or_default();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    let mut fields = hidden_inputs(&mallory_page.text);
    fields.push(("email".into(), email_of("mallory")));
    fields.push(("password".into(), PASSWORD.into()));
    let post = |cookie: Option<String>| {
        let api = api.anon();
        let fields = fields.clone();
        async move {
            let headers: Vec<(&str, &str)> = cookie
                .as_deref()
                .map(|c| vec![("cookie", c)])
                .unwrap_or_default();
            api.send(
                reqwest::Method::POST,
                "/oauth/authorize",
                Body::Form(fields),
                &headers,
            )
            .await
        }
    };
    let issued = |resp: &Resp| {
        resp.header("location")
            .is_some_and(|l| query_param(&l, "code").is_some())
    };
    // A cross-site post carries no cookie (SameSite=Lax): refused, 422.
    let resp = post(None).await;
    assert_eq!(resp.status, 422, "no cookie: {}", resp.describe());
    assert!(!issued(&resp), "{}", resp.describe());
    assert!(
        resp.text.contains("could not be verified"),
        "{}",
        resp.describe()
    );
    // The victim's own cookie does not match Mallory's form either.
    let victim_cookie = signin_cookie(&page_for(CALLBACK).await).expect("a sign-in cookie");
    assert_ne!(victim_cookie, mallory_cookie);
    let resp = post(Some(victim_cookie)).await;
    assert_eq!(
        resp.status,
        422,
        "another browser's cookie: {}",
        resp.describe()
    );
    assert!(!issued(&resp), "{}", resp.describe());
    // A forged cookie value is no better.
    let forged = format!("ferrodon_signin={}", "A".repeat(43));
    let resp = post(Some(forged)).await;
    assert_eq!(resp.status, 422, "forged cookie: {}", resp.describe());
    // The browser the form was shown to signs in.
    let resp = post(Some(mallory_cookie.clone())).await;
    assert!(matches!(resp.status, 302 | 303), "{}", resp.describe());
    assert!(issued(&resp), "{}", resp.describe());
    // A browser that has a cookie keeps it for the next form.
    let again = api
        .anon()
        .send(
            reqwest::Method::GET,
            &format!(
                "/oauth/authorize?{}",
                form_encode(
                    &query(CALLBACK)
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect::<Vec<_>>()
                )
            ),
            Body::None,
            &[("cookie", &mallory_cookie)],
        )
        .await;
    assert_eq!(signin_cookie(&again), Some(mallory_cookie));

    // The CSP: the form posts to itself, then the browser follows the
    // redirect to the client, which `form-action` also governs.
    let csp = |page: &Resp| page.header("content-security-policy").unwrap_or_default();
    let form_action = |page: &Resp| {
        csp(page)
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("form-action"))
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(
        form_action(&mallory_page),
        "form-action 'self' https://app.example"
    );
    assert_eq!(
        form_action(&page_for(custom).await),
        "form-action 'self' com.example.app:"
    );
    assert_eq!(form_action(&page_for(OOB).await), "form-action 'self'");
    assert!(!csp(&mallory_page).contains('*'), "{}", csp(&mallory_page));
    assert!(csp(&mallory_page).contains("frame-ancestors 'none'"));
}
