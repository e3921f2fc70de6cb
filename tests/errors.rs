//! Every error status the API uses, with Mastodon's JSON error body, and
//! malformed input of every kind: never a 500, never a non-JSON error on /api.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use ferrodon_testkit::{Lane, lane_test};
use reqwest::Method;
use serde_json::json;

/// Asserts that a response to odd input is not a server error; a 4xx must
/// carry a JSON error. Returns the status.
#[track_caller]
fn never_5xx(resp: &Resp, what: &str) -> u16 {
    assert!(
        resp.status < 500,
        "{what}: server error: {}",
        resp.describe()
    );
    if resp.status >= 400 {
        resp.json_error();
    }
    resp.status
}

lane_test!(error_statuses, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let a = alice.api(&api);
    let status = str_field(&post_status(&a, "hello").await, "id");

    // 401.
    for client in [api.anon(), api.with_token("nope"), api.with_token("")] {
        client
            .get("/api/v1/accounts/verify_credentials")
            .await
            .err_is(401, "The access token is invalid");
        client
            .post("/api/v1/statuses", &[("status", "x")])
            .await
            .err_is(401, "The access token is invalid");
    }
    // 403.
    let read = api.with_token(&token_for(&api, &alice, "read").await);
    read.post("/api/v1/statuses", &[("status", "x")])
        .await
        .err_is(403, "This action is outside the authorized scopes");
    // 404: unknown records and unknown routes, JSON under /api.
    a.get("/api/v1/statuses/99999999")
        .await
        .err_is(404, "Record not found");
    a.get("/api/v1/accounts/99999999")
        .await
        .err_is(404, "Record not found");
    for (method, path) in [
        (Method::GET, "/api/v1/nope"),
        (Method::POST, "/api/v1/nope"),
        (Method::GET, "/api/v2/nope/deeper"),
        (Method::GET, &format!("/api/v1/statuses/{status}/nope")),
        (Method::GET, "/api/v9/instance"),
    ] {
        let resp = a.send(method, path, Body::None, &[]).await;
        resp.err(404);
    }
    let resp = api.get("/definitely/not/here").await;
    assert_eq!(resp.status, 404, "{}", resp.describe());
    let resp = api.get("/oauth/nope").await;
    assert_eq!(resp.status, 404, "{}", resp.describe());
    // 405: a known path with the wrong method.
    for (method, path) in [
        (Method::DELETE, "/api/v1/instance"),
        (Method::PUT, "/api/v1/apps"),
        (Method::POST, "/api/v1/timelines/public"),
        (
            Method::PATCH,
            &format!("/api/v1/statuses/{status}/favourite"),
        ),
    ] {
        let resp = a.send(method, path, Body::None, &[]).await;
        resp.err(405);
    }
    // 422.
    let resp = a.post("/api/v1/statuses", &[("status", "")]).await;
    assert!(
        resp.err(422).starts_with("Validation failed"),
        "{}",
        resp.describe()
    );
    let resp = a
        .post(
            "/api/v1/statuses",
            &[("status", "short"), ("spoiler_text", &"x".repeat(600))],
        )
        .await;
    assert!(
        resp.err(422).starts_with("Validation failed"),
        "the content warning counts towards the limit: {}",
        resp.describe()
    );
    let resp = api
        .post(
            "/api/v1/apps",
            &[
                ("client_name", &"n".repeat(10_000)),
                ("redirect_uris", "urn:ietf:wg:oauth:2.0:oob"),
            ],
        )
        .await;
    resp.err(422);
    // 410 on WebFinger of a suspended account.
    create_account(&server, "gone", &[]);
    let (code, _, stderr) = server.command(&["admin", "accounts", "suspend", "gone"]);
    assert_eq!(code, 0, "{stderr}");
    let resp = api
        .get_q(
            "/.well-known/webfinger",
            &[("resource", &format!("acct:gone@{}", domain(&server)))],
        )
        .await;
    assert_eq!(resp.status, 410, "{}", resp.describe());
    // The default body limit (1 MiB): a 2 MiB body is 413, a body under it is not.
    let huge = "a".repeat(2 * 1024 * 1024);
    let auth = format!("Bearer {}", alice.token);
    for (content_type, body) in [
        ("application/json", format!("{{\"status\": \"{huge}\"}}")),
        (
            "application/x-www-form-urlencoded",
            format!("status={huge}"),
        ),
    ] {
        let resp = raw_request(
            &server.base_url,
            "POST",
            "/api/v1/statuses",
            &[("Authorization", &auth), ("Content-Type", content_type)],
            body.into_bytes(),
        )
        .await;
        resp.err(413);
    }
    let under = "a".repeat(900 * 1024);
    let resp = a.post("/api/v1/statuses", &[("status", &under)]).await;
    resp.err(422);

    assert_eq!(api.get("/health").await.status, 200);
    assert_no_panics(&server);
});

/// POSTs a raw body (see [`raw_request`]), with a bearer token if given.
async fn post_raw(
    base: &str,
    token: Option<&str>,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Resp {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", content_type)];
    if let Some(a) = &auth {
        headers.push(("Authorization", a.as_str()));
    }
    raw_request(base, "POST", path, &headers, body).await
}

lane_test!(body_limit, |lane: Lane| async move {
    let server = spawn_with(lane, &[("FERRODON_MAX_BODY_BYTES", "4096")]).await;
    let api = Api::of(&server);
    let base = server.base_url.clone();
    let alice = user_token(&server, "alice").await;
    let a = alice.api(&api);
    let token = Some(alice.token.as_str());
    let big = "x".repeat(10_000);
    let form = "application/x-www-form-urlencoded";

    let (content_type, multipart) = multipart(&[("status", &big)]);
    for (what, resp) in [
        (
            "form",
            post_raw(
                &base,
                token,
                "/api/v1/statuses",
                form,
                format!("status={big}").into_bytes(),
            )
            .await,
        ),
        (
            "json",
            post_raw(
                &base,
                token,
                "/api/v1/statuses",
                "application/json",
                json!({ "status": big }).to_string().into_bytes(),
            )
            .await,
        ),
        (
            "multipart",
            post_raw(&base, token, "/api/v1/statuses", &content_type, multipart).await,
        ),
        (
            "update_credentials",
            raw_request(
                &base,
                "PATCH",
                "/api/v1/accounts/update_credentials",
                &[
                    ("Content-Type", form),
                    ("Authorization", &format!("Bearer {}", alice.token)),
                ],
                format!("note={big}").into_bytes(),
            )
            .await,
        ),
        // Also where no token is needed.
        (
            "apps",
            post_raw(
                &base,
                None,
                "/api/v1/apps",
                form,
                format!("client_name={big}&redirect_uris=urn:ietf:wg:oauth:2.0:oob").into_bytes(),
            )
            .await,
        ),
    ] {
        assert_eq!(resp.status, 413, "{what}: {}", resp.describe());
        resp.json_error();
    }
    let resp = post_raw(
        &base,
        None,
        "/oauth/token",
        form,
        format!("grant_type=client_credentials&client_id={big}").into_bytes(),
    )
    .await;
    assert_eq!(resp.status, 413, "{}", resp.describe());
    // Under the limit, the request is judged on its merits.
    let resp = a
        .post("/api/v1/statuses", &[("status", &"x".repeat(3000))])
        .await;
    resp.err(422);
    post_status(&a, "small enough").await;
    assert_no_panics(&server);
});

lane_test!(rate_limits, |lane: Lane| async move {
    let server = spawn_with(
        lane,
        &[
            ("FERRODON_RATE_LIMIT_API", "3"),
            ("FERRODON_RATE_LIMIT_LOGIN", "2"),
        ],
    )
    .await;
    let api = Api::of(&server);
    create_account(&server, "alice", &[]);
    let app = register_app(&api).await;
    let email = email_of("alice");

    // Password logins: two, then 429.
    let first = password_grant(&api, &app, &email, PASSWORD, "read")
        .await
        .ok_json();
    // (A different scope, so that the server cannot hand out the same token again.)
    let second = password_grant(&api, &app, &email, PASSWORD, "read write")
        .await
        .ok_json();
    let resp = password_grant(&api, &app, &email, PASSWORD, "read").await;
    assert_eq!(resp.status, 429, "third login: {}", resp.describe());
    resp.json_error();

    // Per token: three requests, then 429 with Mastodon's headers.
    let t1 = api.with_token(&str_field(&first, "access_token"));
    for i in 0..3 {
        let resp = t1.get("/api/v1/accounts/verify_credentials").await;
        assert_eq!(resp.status, 200, "request {i}: {}", resp.describe());
        if let Some(reset) = resp.header("x-ratelimit-reset") {
            assert_timestamp(&reset, "X-RateLimit-Reset");
        }
    }
    let resp = t1.get("/api/v1/accounts/verify_credentials").await;
    resp.err_is(429, "Too many requests");
    assert_eq!(
        resp.header("x-ratelimit-limit").as_deref(),
        Some("3"),
        "{:?}",
        resp.headers
    );
    assert_eq!(
        resp.header("x-ratelimit-remaining").as_deref(),
        Some("0"),
        "{:?}",
        resp.headers
    );
    assert_timestamp(
        &resp.header("x-ratelimit-reset").expect("X-RateLimit-Reset"),
        "X-RateLimit-Reset",
    );
    // Another token has its own budget.
    let t2 = api.with_token(&str_field(&second, "access_token"));
    t2.get("/api/v1/accounts/verify_credentials")
        .await
        .ok_json();

    // Without a token, per IP: throttled within the budget of three.
    let mut throttled = None;
    for _ in 0..4 {
        let resp = api.get("/api/v1/instance").await;
        if resp.status == 429 {
            throttled = Some(resp);
            break;
        }
        assert_eq!(resp.status, 200, "{}", resp.describe());
    }
    let resp = throttled.expect("unauthenticated requests are limited per IP");
    resp.err_is(429, "Too many requests");
    assert!(
        resp.header("x-ratelimit-reset").is_some(),
        "{:?}",
        resp.headers
    );
    assert_no_panics(&server);
});

lane_test!(malformed_input, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let a = alice.api(&api);
    let status = str_field(&post_status(&a, "hello").await, "id");

    let raw = |content_type: &'static str, body: Vec<u8>| {
        let a = a.clone();
        async move {
            a.send(
                Method::POST,
                "/api/v1/statuses",
                Body::raw(content_type, body),
                &[],
            )
            .await
        }
    };

    // Malformed JSON: 400.
    for (what, body) in [
        ("truncated", b"{\"status\": ".to_vec()),
        ("garbage", b"not json at all".to_vec()),
        ("trailing garbage", b"{\"status\": \"x\"} xyz".to_vec()),
        ("invalid UTF-8", b"{\"status\": \"\xff\xfe\"}".to_vec()),
    ] {
        let resp = raw("application/json", body).await;
        assert_eq!(resp.status, 400, "{what}: {}", resp.describe());
        resp.json_error();
    }
    // Deeply nested JSON must not blow the stack.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    raw("application/json", deep.into_bytes())
        .await
        .client_error();
    let deep = format!(
        "{{\"status\": {}{}}}",
        "{\"a\":".repeat(50_000),
        "}".repeat(50_000)
    );
    raw("application/json", deep.into_bytes())
        .await
        .client_error();
    // A body in a format the API does not read: 415, never read as something else.
    let resp = raw("text/xml", b"<status>hi</status>".to_vec()).await;
    assert_eq!(resp.status, 415, "{}", resp.describe());
    resp.json_error();
    // Not an object.
    for body in ["[]", "null", "\"status\"", "42", ""] {
        let resp = raw("application/json", body.as_bytes().to_vec()).await;
        resp.client_error();
    }

    // Wrong types.
    for body in [
        json!({"status": ["a"]}),
        json!({"status": {"a": 1}}),
        json!({"status": null}),
        json!({"status": "x", "visibility": 7}),
        json!({"status": "x", "visibility": ["public"]}),
        json!({"status": "x", "in_reply_to_id": {"id": 1}}),
        json!({"status": "x", "spoiler_text": ["a"]}),
    ] {
        let resp = a.post_json("/api/v1/statuses", body.clone()).await;
        assert!(
            (400..500).contains(&resp.status),
            "{body}: {}",
            resp.describe()
        );
        resp.json_error();
    }
    // (Rails turns a number into text, so Mastodon posts `{"status": 5}` as "5".)
    for body in [
        json!({"status": 5}),
        json!({"status": "x", "sensitive": "maybe"}),
        json!({"status": "x", "sensitive": 2}),
        json!({"status": "x", "media_ids": "1"}),
        json!({"status": "x", "language": 12}),
        json!({"status": "x", "unknown_param": {"deep": [1, 2, 3]}}),
        json!({"status": "x", "in_reply_to_id": "abc"}),
        json!({"status": "x", "in_reply_to_id": 99999999}),
    ] {
        never_5xx(
            &a.post_json("/api/v1/statuses", body.clone()).await,
            &body.to_string(),
        );
    }
    let resp = a
        .post_json(
            "/api/v1/accounts/update_credentials",
            json!({"display_name": 5}),
        )
        .await;
    never_5xx(&resp, "POST to update_credentials");
    let resp = a
        .send(
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            Body::Json(json!({"display_name": ["x"], "locked": "perhaps", "fields_attributes": 3})),
            &[],
        )
        .await;
    resp.client_error();
    let resp = api
        .post_json(
            "/api/v1/apps",
            json!({"client_name": 1, "redirect_uris": 2, "scopes": 3}),
        )
        .await;
    resp.client_error();
    let resp = api
        .post_json(
            "/oauth/token",
            json!({"grant_type": ["password"], "client_id": 1}),
        )
        .await;
    resp.client_error();

    // Malformed forms and multipart.
    for (what, content_type, body) in [
        (
            "bad percent-encoding",
            "application/x-www-form-urlencoded",
            b"status=%ZZ%".to_vec(),
        ),
        (
            "invalid UTF-8",
            "application/x-www-form-urlencoded",
            b"status=%FF%FE%FD".to_vec(),
        ),
        (
            "raw binary",
            "application/x-www-form-urlencoded",
            vec![0, 159, 146, 150, 255, 38, 61],
        ),
        (
            "nested brackets",
            "application/x-www-form-urlencoded",
            b"status[a][b][]=1&status=x".to_vec(),
        ),
        (
            "no boundary",
            "multipart/form-data",
            b"--x\r\n\r\n".to_vec(),
        ),
        (
            "wrong boundary",
            "multipart/form-data; boundary=abc",
            b"--xyz\r\nContent-Disposition: form-data; name=\"status\"\r\n\r\nhi\r\n--xyz--\r\n"
                .to_vec(),
        ),
        (
            "truncated multipart",
            "multipart/form-data; boundary=abc",
            b"--abc\r\nContent-Disposition: form-data; name=\"status\"\r\n\r\nhi".to_vec(),
        ),
        (
            "unknown content type",
            "text/plain",
            b"status=hello".to_vec(),
        ),
        ("no content type", "", b"status=hello".to_vec()),
    ] {
        let resp = raw(content_type, body).await;
        let code = never_5xx(&resp, what);
        if code == 200 {
            // Whatever was accepted is valid text.
            assert!(
                resp.json()["content"].is_string(),
                "{what}: {}",
                resp.describe()
            );
        }
    }
    for (what, content_type) in [
        ("no boundary", "multipart/form-data"),
        ("wrong boundary", "multipart/form-data; boundary=abc"),
    ] {
        let resp = raw(content_type, b"--xyz\r\n\r\n--xyz--\r\n".to_vec()).await;
        assert!(
            (400..500).contains(&resp.status),
            "{what}: {}",
            resp.describe()
        );
        resp.json_error();
    }

    // NUL bytes and other control characters (PostgreSQL rejects NUL in text).
    let nul = "a\u{0}b";
    let mut nul_failures: Vec<String> = Vec::new();
    for (what, resp) in [
        (
            "status",
            a.post_json("/api/v1/statuses", json!({"status": nul}))
                .await,
        ),
        (
            "status form",
            a.post("/api/v1/statuses", &[("status", nul)]).await,
        ),
        (
            "spoiler",
            a.post_json(
                "/api/v1/statuses",
                json!({"status": "x", "spoiler_text": nul}),
            )
            .await,
        ),
        (
            "language",
            a.post_json("/api/v1/statuses", json!({"status": "x", "language": nul}))
                .await,
        ),
        (
            "display name",
            a.send(
                Method::PATCH,
                "/api/v1/accounts/update_credentials",
                Body::form(&[("display_name", nul), ("note", nul)]),
                &[],
            )
            .await,
        ),
        (
            "field",
            a.send(
                Method::PATCH,
                "/api/v1/accounts/update_credentials",
                Body::form(&[
                    ("fields_attributes[0][name]", nul),
                    ("fields_attributes[0][value]", nul),
                ]),
                &[],
            )
            .await,
        ),
        (
            "app name",
            api.post(
                "/api/v1/apps",
                &[
                    ("client_name", nul),
                    ("redirect_uris", "urn:ietf:wg:oauth:2.0:oob"),
                ],
            )
            .await,
        ),
        (
            "token client_id",
            api.post(
                "/oauth/token",
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", nul),
                    ("client_secret", nul),
                ],
            )
            .await,
        ),
        (
            "password",
            password_grant(&api, &alice.app, &alice.email, nul, "read").await,
        ),
        (
            "username",
            password_grant(&api, &alice.app, nul, PASSWORD, "read").await,
        ),
        (
            "lookup",
            api.get_q("/api/v1/accounts/lookup", &[("acct", nul)]).await,
        ),
        ("tag", api.get("/api/v1/timelines/tag/a%00b").await),
        ("account id", api.get("/api/v1/accounts/%00").await),
        ("status id", api.get("/api/v1/statuses/1%002").await),
        ("idempotency", {
            a.send(
                Method::POST,
                "/api/v1/statuses",
                Body::form(&[("status", "idem")]),
                &[("Idempotency-Key", "k".repeat(5000).as_str())],
            )
            .await
        }),
    ] {
        // Collect every failure, so one report shows them all.
        if resp.status >= 500
            || (resp.status >= 400
                && serde_json::from_str::<serde_json::Value>(&resp.text).is_err())
        {
            nul_failures.push(format!("{what}: {}", resp.describe()));
        }
    }
    let resp = api
        .get_q("/.well-known/webfinger", &[("resource", nul)])
        .await;
    if resp.status >= 500 {
        nul_failures.push(format!("webfinger: {}", resp.describe()));
    }
    let (app, client) = {
        let app = register_app(&api).await;
        let token = app_token(&api, &app, "write").await;
        (app, api.with_token(&token))
    };
    let resp = client
        .post(
            "/api/v1/accounts",
            &[
                ("username", nul),
                ("email", "nul@example.com"),
                ("password", PASSWORD),
                ("agreement", "1"),
                ("locale", "en"),
                ("client_id", &app.client_id),
            ],
        )
        .await;
    // NUL is refused for every parameter alike, before any validation.
    if resp.status != 400 || !resp.text.contains("NUL") {
        nul_failures.push(format!(
            "sign-up username (expected 400 naming NUL): {}",
            resp.describe()
        ));
    }
    let resp = client
        .post(
            "/api/v1/accounts",
            &[
                ("username", "nulmail"),
                ("email", "a\u{0}@example.com"),
                ("password", nul),
                ("agreement", "1"),
                ("locale", nul),
            ],
        )
        .await;
    if !(400..500).contains(&resp.status) {
        nul_failures.push(format!(
            "sign-up e-mail/password/locale (expected 4xx): {}",
            resp.describe()
        ));
    }
    assert!(
        nul_failures.is_empty(),
        "NUL bytes in input caused errors:\n{}",
        nul_failures.join("\n")
    );

    // Odd query strings and ids.
    for path in [
        "/api/v1/timelines/public?limit=%ZZ",
        "/api/v1/timelines/public?local=maybe",
        "/api/v1/timelines/public?limit[]=1",
        "/api/v1/timelines/public?max_id[]=1&max_id[]=2",
        "/api/v1/timelines/tag/%E2%82%AC%F0%9F%A6%80",
        "/api/v1/timelines/tag/..%2F..%2Fetc",
        "/api/v1/accounts/relationships?id[]=abc",
        "/api/v1/accounts/relationships?id[][]=1",
        "/api/v1/accounts/relationships",
        "/api/v1/accounts/lookup?acct=%40%40%40",
        "/api/v1/accounts/lookup?acct=a@b@c",
        &format!(
            "/api/v1/accounts/{}/statuses?exclude_replies=perhaps&limit=-3",
            alice.id
        ),
        "/api/v1/statuses/99999999999999999999999999/context",
        "/api/v1/statuses/%F0%9F%A6%80",
        "/.well-known/webfinger?resource=acct:",
        "/.well-known/webfinger?resource=acct:@",
        "/.well-known/webfinger?resource=http://%5B::1%5D/",
    ] {
        let resp = a.get(path).await;
        let code = resp.status;
        assert!(code < 500, "{path}: {}", resp.describe());
        if path.starts_with("/api/") && code >= 400 {
            resp.json_error();
        }
    }
    for path in ["favourite", "unfavourite", "reblog", "unreblog"] {
        a.post(
            &format!("/api/v1/statuses/99999999999999999999999/{path}"),
            &[],
        )
        .await
        .err(404);
        a.post(&format!("/api/v1/statuses/abc/{path}"), &[])
            .await
            .err(404);
    }
    a.delete("/api/v1/statuses/abc").await.err(404);
    a.post("/api/v1/accounts/abc/follow", &[]).await.err(404);

    // Odd headers.
    for (what, headers) in [
        ("two bearer tokens", vec![("authorization", "Bearer a b")]),
        ("empty bearer", vec![("authorization", "Bearer ")]),
        ("unknown scheme", vec![("authorization", "Digest x")]),
        ("bad accept", vec![("accept", "application/xml")]),
        (
            "garbage X-Forwarded-For",
            vec![("x-forwarded-for", "not-an-ip, 999.1.1.1")],
        ),
    ] {
        let resp = api
            .send(
                Method::GET,
                "/api/v1/accounts/verify_credentials",
                Body::None,
                &headers,
            )
            .await;
        assert_eq!(resp.status, 401, "{what}: {}", resp.describe());
        resp.json_error();
    }

    // Still healthy, nothing panicked, the first status is intact.
    assert_eq!(api.get("/health").await.status, 200);
    api.get(&format!("/api/v1/statuses/{status}"))
        .await
        .ok_json();
    assert_no_panics(&server);
});
