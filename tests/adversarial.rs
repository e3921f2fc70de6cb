//! Hostile input against the real server.
//!
//! `deep_parameters_are_refused` pins finding 1 of issue 8 (deeply nested
//! parameters overflowed the stack and killed the process) and the parser's
//! limits: 100 levels, 4,096 parameters, 64 KiB of keys, each a 400 in
//! Mastodon's JSON shape.
//!
//! `hostile_requests_on_every_route` walks every (method, route) the router
//! serves — listed by the binary itself (`ferrodon routes`, built from the same
//! calls as the router), never by hand — with path parameters filled with real
//! ids, huge, negative and non-numeric ones, and sends each a battery:
//! parameters nested 5,000 deep (query, form, JSON), 10,000 repeated keys,
//! 5,000 multipart fields, 50 KB header values, a 50 KB method name, bogus
//! `Authorization` schemes, invalid UTF-8 and NUL, huge, negative and
//! malformed numbers in every numeric parameter (from the OpenAPI description
//! in `tests/conformance/mastodon-openapi.json` plus common names), dates out
//! of range and texts built to be slow to render — with and without a token.
//! Afterwards the process must be alive, `/health` must answer within a
//! second, no answer may be a 5xx or take more than 10 s (each offender is
//! printed with its request), no handler may have panicked, and the peak RSS
//! must stay under twice the starting RSS plus 100 MB. Slow-trickled headers
//! and bodies are the HTTP edge's tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use ferrodon_testkit::{Lane, TestServer, lane_test};
use reqwest::Method;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------
// Finding 1: deep parameters

/// `a[b][b]…` with `levels` levels, brackets percent-encoded as in the report.
fn deep_key(levels: usize) -> String {
    format!("a{}", "%5Bb%5D".repeat(levels - 1))
}

/// A JSON body whose `a` nests `levels` arrays.
fn deep_json(levels: usize) -> String {
    format!("{{\"a\":{}1{}}}", "[".repeat(levels), "]".repeat(levels))
}

lane_test!(deep_parameters_are_refused, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let app_form = "client_name=deep&redirect_uris=urn%3Aietf%3Awg%3Aoauth%3A2.0%3Aoob";
    let form = |body: String| Body::raw("application/x-www-form-urlencoded", body);

    // The report's reproductions: a 14 KB query, a 30 KB form body.
    let r = api
        .get(&format!("/api/v1/timelines/public?{}=1", deep_key(2_000)))
        .await;
    assert!(r.err(400).contains("nested too deeply"), "{}", r.describe());
    let r = api
        .send(
            Method::POST,
            "/api/v1/apps",
            form(format!("{app_form}&{}=1", deep_key(4_300))),
            &[],
        )
        .await;
    assert!(r.err(400).contains("nested too deeply"), "{}", r.describe());
    // The same, deeper, and as JSON (serde_json's own limit is 128 levels;
    // the parameters' is 100).
    let r = api
        .send(
            Method::POST,
            "/api/v1/apps",
            Body::raw("application/json", deep_json(5_000)),
            &[],
        )
        .await;
    r.err(400);
    let r = api
        .send(
            Method::POST,
            "/api/v1/apps",
            Body::raw(
                "application/json",
                format!(
                    "{{\"client_name\":\"deep\",\"redirect_uris\":\"urn:ietf:wg:oauth:2.0:oob\",{}",
                    &deep_json(110)[1..]
                ),
            ),
            &[],
        )
        .await;
    assert!(r.err(400).contains("nested too deeply"), "{}", r.describe());

    // The limit is 100 levels: exactly 100 is read, 101 is a 400 even with
    // every other field valid.
    api.send(
        Method::POST,
        "/api/v1/apps",
        form(format!("{app_form}&{}=1", deep_key(100))),
        &[],
    )
    .await
    .ok_json();
    let r = api
        .send(
            Method::POST,
            "/api/v1/apps",
            form(format!("{app_form}&{}=1", deep_key(101))),
            &[],
        )
        .await;
    assert!(r.err(400).contains("nested too deeply"), "{}", r.describe());

    // At most 4,096 parameters: 10,000 repeated keys are a 400, in the query,
    // a form body or a multipart body alike.
    let repeated = |n: usize| vec!["a=1"; n].join("&");
    api.send(
        Method::POST,
        "/api/v1/apps",
        form(format!("{app_form}&{}", repeated(4_094))),
        &[],
    )
    .await
    .ok_json();
    let r = api
        .send(
            Method::POST,
            "/api/v1/apps",
            form(format!("{app_form}&{}", repeated(10_000))),
            &[],
        )
        .await;
    assert!(
        r.err(400).contains("Too many parameters"),
        "{}",
        r.describe()
    );
    let r = api
        .get(&format!("/api/v1/timelines/public?{}", repeated(10_000)))
        .await;
    assert!(
        r.err(400).contains("Too many parameters"),
        "{}",
        r.describe()
    );
    let mut fields = vec![
        ("client_name", "deep"),
        ("redirect_uris", "urn:ietf:wg:oauth:2.0:oob"),
    ];
    fields.extend(std::iter::repeat_n(("a[]", "1"), 5_000));
    let r = api
        .send(Method::POST, "/api/v1/apps", Body::multipart(&fields), &[])
        .await;
    assert!(
        r.err(400).contains("Too many parameters"),
        "{}",
        r.describe()
    );

    // At most 64 KiB of keys.
    let long = "k".repeat(40 * 1024);
    let r = api
        .send(
            Method::POST,
            "/api/v1/apps",
            form(format!("{app_form}&{long}1=1&{long}2=2")),
            &[],
        )
        .await;
    assert!(r.err(400).contains("keys are too long"), "{}", r.describe());

    // Existing Rails keys still build what they did.
    let alice = user_token(&server, "alice").await;
    let a = alice.api(&api);
    let filter = a
        .post(
            "/api/v2/filters",
            &[
                ("title", "nested"),
                ("context[]", "home"),
                ("context[]", "public"),
                ("keywords_attributes[][keyword]", "one"),
                ("keywords_attributes[][whole_word]", "true"),
                ("keywords_attributes[][keyword]", "two"),
            ],
        )
        .await
        .ok_json();
    assert_eq!(filter["context"], json!(["home", "public"]));
    let keywords: Vec<&str> = filter["keywords"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["keyword"].as_str().unwrap())
        .collect();
    assert_eq!(keywords, ["one", "two"]);

    assert_eq!(api.get("/health").await.status, 200);
    assert_no_panics(&server);
});

// ---------------------------------------------------------------------------
// The route table

/// Every (method, path template) the router serves, as the binary lists it.
fn route_table() -> Vec<(Method, String)> {
    let out = std::process::Command::new(BIN)
        .arg("routes")
        .output()
        .expect("run `ferrodon routes`");
    assert!(out.status.success(), "`ferrodon routes` failed");
    let routes: Vec<(Method, String)> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let (method, path) = line.split_once(' ').expect("METHOD PATH");
            (
                Method::from_bytes(method.as_bytes()).unwrap(),
                path.to_owned(),
            )
        })
        .collect();
    assert!(
        routes.len() > 100,
        "too few routes listed: {}",
        routes.len()
    );
    routes
}

#[test]
fn route_table_lists_the_router() {
    let routes = route_table();
    // A few routes every client uses, with their methods.
    for (method, path) in [
        (Method::POST, "/api/v1/statuses"),
        (Method::GET, "/api/v1/timelines/public"),
        (Method::PATCH, "/api/v1/accounts/update_credentials"),
        (Method::DELETE, "/api/v1/statuses/{id}"),
        (Method::GET, "/health"),
    ] {
        assert!(
            routes.iter().any(|(m, p)| *m == method && p == path),
            "{method} {path} is not listed"
        );
    }
    let mut seen = std::collections::HashSet::new();
    for route in &routes {
        assert!(seen.insert(route), "listed twice: {route:?}");
    }
}

// ---------------------------------------------------------------------------
// Numeric parameters, from the OpenAPI description

/// `{id}` → `{}`, so templates compare whatever the parameter names.
fn normalise(template: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in template.chars() {
        match c {
            '{' => {
                inside = true;
                out.push_str("{}");
            }
            '}' => inside = false,
            _ if !inside => out.push(c),
            _ => {}
        }
    }
    out
}

/// Numeric (and id) parameters of every operation, keyed by
/// (METHOD, normalised template), as Rails keys (`poll[expires_in]`).
fn spec_numbers() -> HashMap<(String, String), Vec<String>> {
    let spec: Value = serde_json::from_str(
        &std::fs::read_to_string("tests/conformance/mastodon-openapi.json").unwrap(),
    )
    .unwrap();
    let schemas = &spec["components"]["schemas"];
    let mut out = HashMap::new();
    for (path, ops) in spec["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let mut names = Vec::new();
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["in"] == "path" {
                    continue;
                }
                let name = p["name"].as_str().unwrap_or_default();
                if is_numeric(&p["schema"], schemas) || is_id_name(name) {
                    names.push(name.to_owned());
                }
            }
            for content in op["requestBody"]["content"]
                .as_object()
                .into_iter()
                .flatten()
            {
                walk_schema(&content.1["schema"], schemas, "", 0, &mut names);
            }
            names.sort();
            names.dedup();
            if !names.is_empty() {
                out.insert((method.to_ascii_uppercase(), normalise(path)), names);
            }
        }
    }
    out
}

fn resolve<'a>(schema: &'a Value, schemas: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => &schemas[r.rsplit('/').next().unwrap_or_default()],
        None => schema,
    }
}

fn is_numeric(schema: &Value, schemas: &Value) -> bool {
    let s = resolve(schema, schemas);
    matches!(s["type"].as_str(), Some("integer" | "number"))
        || s["items"]["type"]
            .as_str()
            .is_some_and(|t| t == "integer" || t == "number")
}

fn is_id_name(name: &str) -> bool {
    let name = name.trim_end_matches("[]");
    name == "id" || name.ends_with("_id") || name.ends_with("_ids")
}

/// Collects numeric properties of a request body schema as Rails keys.
fn walk_schema(schema: &Value, schemas: &Value, prefix: &str, depth: usize, out: &mut Vec<String>) {
    if depth > 6 {
        return;
    }
    let s = resolve(schema, schemas);
    for key in ["oneOf", "anyOf", "allOf"] {
        for alt in s[key].as_array().into_iter().flatten() {
            walk_schema(alt, schemas, prefix, depth + 1, out);
        }
    }
    for (name, prop) in s["properties"].as_object().into_iter().flatten() {
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}[{name}]")
        };
        let p = resolve(prop, schemas);
        if is_numeric(p, schemas) || is_id_name(name) {
            let array = p["type"] == "array";
            out.push(if array {
                format!("{key}[]")
            } else {
                key.clone()
            });
        }
        if p["type"] == "object" || p["properties"].is_object() {
            walk_schema(p, schemas, &key, depth + 1, out);
        }
    }
}

/// Names tried on every route besides the spec's.
const COMMON_NUMBERS: &[&str] = &[
    "limit",
    "max_id",
    "since_id",
    "min_id",
    "offset",
    "duration",
    "expires_in",
    "poll[expires_in]",
    "id",
    "account_id",
    "status_id",
];
const COMMON_DATES: &[&str] = &["expires_at", "scheduled_at", "starts_at", "ends_at"];

/// Values for numeric parameters: huge, overflowing, negative, not numbers.
const NUMBERS: &[&str] = &[
    "1e18",
    "1000000000000000000",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "-1",
    "0",
    "1e400",
    "-1e400",
    "NaN",
    "-Infinity",
    "1.5",
    "0x7fffffff",
];
/// Values for dates: out of chrono's range, impossible, numbers.
const DATES: &[&str] = &[
    "+275760-09-13T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "-000001-01-01T00:00:00Z",
    "0000-01-01T00:00:00Z",
    "2030-02-30T25:61:61Z",
    "1e18",
    "99999999999999999999",
    "-9223372036854775808",
];

/// Fields that make a route's request otherwise valid, so that numbers reach
/// the service rather than stopping at a missing field.
fn base_fields(method: &Method, template: &str, fx: &Fixtures) -> Vec<(String, String)> {
    let pairs: Vec<(&str, String)> = match (method.as_str(), template) {
        ("POST", "/api/v1/statuses") | ("PUT", "/api/v1/statuses/{id}") => vec![
            ("status", "hostile".into()),
            ("poll[options][]", "a".into()),
            ("poll[options][]", "b".into()),
            ("poll[expires_in]", "3600".into()),
        ],
        ("POST", "/api/v2/filters") | ("PUT", "/api/v2/filters/{id}") => {
            vec![("title", "t".into()), ("context[]", "home".into())]
        }
        ("POST", "/api/v1/filters") | ("PUT", "/api/v1/filters/{id}") => {
            vec![("phrase", "p".into()), ("context[]", "home".into())]
        }
        ("POST", "/api/v1/lists") => vec![("title", "t".into())],
        ("POST", "/api/v1/reports") => vec![("account_id", fx.bob.clone())],
        ("POST", "/api/v1/polls/{id}/votes") => vec![("choices[]", "0".into())],
        ("POST", "/api/v1/markers") => vec![("home[last_read_id]", fx.status.clone())],
        ("POST", "/api/v1/featured_tags") => vec![("name", "hostile".into())],
        ("POST", "/api/v1/domain_blocks") => vec![("domain", "example.com".into())],
        ("POST", "/api/v1/apps") => vec![
            ("client_name", "hostile".into()),
            ("redirect_uris", "urn:ietf:wg:oauth:2.0:oob".into()),
        ],
        _ => Vec::new(),
    };
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

// ---------------------------------------------------------------------------
// Fixtures: real records for path parameters

struct Fixtures {
    token: String,
    bob: String,
    status: String,
    bob_poll: String,
    quote: String,
    media: String,
    list: String,
    filter: String,
    keyword: String,
    filter_status: String,
    featured_tag: String,
    scheduled: String,
    conversation: String,
    announcement: String,
    notification: String,
    group_key: String,
    request: String,
}

async fn fixtures(server: &TestServer, api: &Api) -> Fixtures {
    let alice = user_token(server, "alice").await;
    let bob = user_token(server, "bob").await;
    let a = alice.api(api);
    let b = bob.api(api);
    let status = str_field(&post_status(&a, "hello #rust").await, "id");
    let bob_poll = post_status_with(
        &b,
        &[
            ("status", "which?"),
            ("poll[options][]", "x"),
            ("poll[options][]", "y"),
            ("poll[expires_in]", "86400"),
        ],
    )
    .await;
    let bob_poll = str_field(&bob_poll["poll"], "id");
    let quote = str_field(
        &post_status_with(&b, &[("status", "look"), ("quoted_status_id", &status)]).await,
        "id",
    );
    follow(&b, &alice.id).await;
    post_status_with(&b, &[("status", "@alice psst"), ("visibility", "direct")]).await;
    let (ct, body) = multipart_with_files(
        &[("description", "a dot")],
        &[FilePart {
            name: "file",
            file_name: "dot.png",
            content_type: "image/png",
            bytes: PNG_3X2,
        }],
    );
    let media = a
        .send(Method::POST, "/api/v2/media", Body::raw(&ct, body), &[])
        .await;
    assert!(media.status < 300, "{}", media.describe());
    let media = str_field(&media.json(), "id");
    let list = str_field(
        &a.post("/api/v1/lists", &[("title", "L")]).await.ok_json(),
        "id",
    );
    let filter = a
        .post(
            "/api/v2/filters",
            &[
                ("title", "F"),
                ("context[]", "home"),
                ("keywords_attributes[][keyword]", "kw"),
            ],
        )
        .await
        .ok_json();
    let keyword = str_field(&filter["keywords"][0], "id");
    let filter = str_field(&filter, "id");
    let filter_status = str_field(
        &a.post(
            &format!("/api/v2/filters/{filter}/statuses"),
            &[("status_id", &status)],
        )
        .await
        .ok_json(),
        "id",
    );
    let featured_tag = str_field(
        &a.post("/api/v1/featured_tags", &[("name", "rust")])
            .await
            .ok_json(),
        "id",
    );
    let in_a_day = chrono::Utc::now() + chrono::Duration::days(1);
    let scheduled = str_field(
        &a.post(
            "/api/v1/statuses",
            &[
                ("status", "later"),
                ("scheduled_at", &in_a_day.to_rfc3339()),
            ],
        )
        .await
        .ok_json(),
        "id",
    );
    let (code, announcement, stderr) = server.command(&[
        "admin",
        "announcements",
        "create",
        "Hello",
        "--starts-at",
        "2030-01-01T15:00:00Z",
        "--ends-at",
        "2030-01-01T18:00:00Z",
    ]);
    assert_eq!(code, 0, "{stderr}");
    // Bob's follow and direct message reach Alice's notifications (the
    // message from a stranger as a notification request).
    let notifications = wait_until("alice's notifications", || {
        let a = a.clone();
        async move {
            let v = a.get("/api/v2/notifications").await.ok_json();
            let groups = v["notification_groups"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            (!groups.is_empty()).then_some(v)
        }
    })
    .await;
    let group_key = str_field(&notifications["notification_groups"][0], "group_key");
    let notification = a.get("/api/v1/notifications").await.ok_json();
    let notification = notification[0]["id"].as_str().unwrap_or("1").to_owned();
    let requests = a.get("/api/v1/notifications/requests").await.ok_json();
    let request = requests[0]["id"].as_str().unwrap_or("1").to_owned();
    let conversations = b.get("/api/v1/conversations").await.ok_json();
    let conversation = conversations[0]["id"].as_str().unwrap_or("1").to_owned();
    Fixtures {
        token: alice.token,
        bob: bob.id,
        status,
        bob_poll,
        quote,
        media,
        list,
        filter,
        keyword,
        filter_status,
        featured_tag,
        scheduled,
        conversation,
        announcement: announcement.trim().to_owned(),
        notification,
        group_key,
        request,
    }
}

/// How a path parameter is filled.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fill {
    /// A real record of the right kind.
    Real,
    /// Past `i64`.
    Huge,
    Negative,
    /// Not a number, with a NUL and invalid UTF-8.
    Junk,
}

const FILLS: [Fill; 4] = [Fill::Real, Fill::Huge, Fill::Negative, Fill::Junk];

/// `template` with its parameters filled as `fill` says.
fn fill(template: &str, fill: Fill, fx: &Fixtures) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}').map(|e| start + e).unwrap();
        let name = &rest[start + 1..end];
        out.push_str(&rest[..start]);
        let value = match fill {
            Fill::Real => real(&out, name, fx),
            Fill::Huge => "9223372036854775808".to_owned(),
            Fill::Negative => "-1".to_owned(),
            Fill::Junk => "x%00%FF%C0%80..%2F..".to_owned(),
        };
        out.push_str(&value);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// A real record for parameter `name` of a path starting with `before`.
fn real(before: &str, name: &str, fx: &Fixtures) -> String {
    let v = match name {
        "*path" => "media_attachments/files/000/000/001/original/0123456789abcdef.png",
        "name" if before.contains("/reactions/") => "%F0%9F%91%8D",
        "name" | "hashtag" => "rust",
        "group_key" => &fx.group_key,
        "list_id" => &fx.list,
        "quoting_status_id" => &fx.quote,
        _ => {
            let table: &[(&str, &str)] = &[
                ("/api/v1/accounts/", &fx.bob),
                ("/api/v1/suggestions/", &fx.bob),
                ("/api/v1/follow_requests/", &fx.bob),
                ("/api/v1/statuses/", &fx.status),
                ("/api/v1/polls/", &fx.bob_poll),
                ("/api/v1/media/", &fx.media),
                ("/api/v1/lists/", &fx.list),
                ("/api/v2/filters/keywords/", &fx.keyword),
                ("/api/v2/filters/statuses/", &fx.filter_status),
                ("/api/v2/filters/", &fx.filter),
                ("/api/v1/filters/", &fx.keyword),
                ("/api/v1/featured_tags/", &fx.featured_tag),
                ("/api/v1/scheduled_statuses/", &fx.scheduled),
                ("/api/v1/conversations/", &fx.conversation),
                ("/api/v1/announcements/", &fx.announcement),
                ("/api/v1/notifications/requests/", &fx.request),
                ("/api/v1/notifications/", &fx.notification),
            ];
            table
                .iter()
                .find(|(prefix, _)| before == *prefix)
                .map_or("1", |(_, v)| v)
        }
    };
    v.to_owned()
}

// ---------------------------------------------------------------------------
// The battery

#[derive(Debug, Clone)]
enum Attack {
    Plain,
    DeepQuery,
    DeepForm,
    DeepJson,
    /// JSON between the parameters' limit (100) and serde_json's (128).
    JsonBetweenLimits,
    RepeatedQuery,
    RepeatedForm,
    ManyMultipartFields,
    BigHeader(&'static str),
    LongMethod,
    /// Replaces the token with this `Authorization` value.
    BogusAuth(&'static str),
    BogusAuthLong,
    BadUtf8Query,
    BadUtf8Form,
    BadUtf8Json,
    BadUtf8Multipart,
    /// Every common numeric parameter at once.
    Numbers(&'static str),
    /// Every common date parameter at once.
    Dates(&'static str),
    /// One parameter of the route, in a form body (or the query).
    Number(String, &'static str),
    /// One parameter of the route, as a JSON number.
    JsonNumber(String, &'static str),
    /// Texts built to be slow to render, in the text fields: a link ending
    /// in 25,000 `)` (a link counts as 23 characters whatever its length;
    /// rendering it took 35 s in a debug build before trim_url was made
    /// linear) and a remote mention with a 25 KB domain.
    SlowText(usize),
}

/// The texts of [`Attack::SlowText`].
fn slow_text(which: usize) -> String {
    match which {
        0 => format!("see https://a.example/{}", ")".repeat(25_000)),
        _ => format!("hi @a@{}c #t", "b.".repeat(12_500)),
    }
}

/// Fields that hold text to render or match, across the routes (together
/// within the body limit).
const TEXT_FIELDS: &[&str] = &[
    "status",
    "note",
    "title",
    "phrase",
    "keyword",
    "description",
];

const BIG_HEADERS: &[&str] = &[
    "x-junk",
    "user-agent",
    "accept-language",
    "x-forwarded-for",
    "idempotency-key",
    "cookie",
    "content-type",
    "accept",
];

const BOGUS_AUTH: &[&str] = &[
    "Basic Z2FyYmFnZTpnYXJiYWdl",
    "Basic garbage",
    "",
    "Bearer",
    "Bearer ",
    "bearer  a b c",
    "Bearer \u{e9}t\u{e9}",
    "Digest x",
];

/// One request to send.
#[derive(Debug, Clone)]
struct Case {
    method: Method,
    template: String,
    path: String,
    with_token: bool,
    attack: Attack,
}

impl Case {
    fn describe(&self) -> String {
        let mut path = self.path.clone();
        if path.len() > 120 {
            let mut cut = 120;
            while !path.is_char_boundary(cut) {
                cut -= 1;
            }
            path.truncate(cut);
            path.push('…');
        }
        let attack = match &self.attack {
            Attack::Number(name, v) => format!("Number({name}={v})"),
            Attack::JsonNumber(name, v) => format!("JsonNumber({name}: {v})"),
            other => format!("{other:?}"),
        };
        format!(
            "{} {} [{}] {} {}",
            self.method,
            path,
            self.template,
            attack,
            if self.with_token {
                "with token"
            } else {
                "anonymous"
            }
        )
    }
}

/// Every case for one (method, template).
fn cases_for(
    method: &Method,
    template: &str,
    fx: &Fixtures,
    numbers: &HashMap<(String, String), Vec<String>>,
) -> Vec<Case> {
    let mut out = Vec::new();
    let case = |path: &str, with_token: bool, attack: Attack| Case {
        method: method.clone(),
        template: template.to_owned(),
        path: path.to_owned(),
        with_token,
        attack,
    };
    let has_params = template.contains('{');
    for fill_kind in FILLS {
        if fill_kind != Fill::Real && !has_params {
            continue;
        }
        let path = fill(template, fill_kind, fx);
        for with_token in [true, false] {
            out.push(case(&path, with_token, Attack::Plain));
            for v in NUMBERS {
                out.push(case(&path, with_token, Attack::Numbers(v)));
            }
            if fill_kind != Fill::Real {
                continue;
            }
            for attack in [
                Attack::DeepQuery,
                Attack::DeepForm,
                Attack::DeepJson,
                Attack::JsonBetweenLimits,
                Attack::RepeatedQuery,
                Attack::RepeatedForm,
                Attack::ManyMultipartFields,
                Attack::BadUtf8Query,
                Attack::BadUtf8Form,
                Attack::BadUtf8Json,
                Attack::BadUtf8Multipart,
            ] {
                out.push(case(&path, with_token, attack));
            }
            for d in DATES {
                out.push(case(&path, with_token, Attack::Dates(d)));
            }
        }
        if fill_kind != Fill::Real {
            continue;
        }
        out.push(case(&path, true, Attack::LongMethod));
        for h in BIG_HEADERS {
            out.push(case(&path, true, Attack::BigHeader(h)));
        }
        for a in BOGUS_AUTH {
            out.push(case(&path, false, Attack::BogusAuth(a)));
        }
        out.push(case(&path, false, Attack::BogusAuthLong));
        if !in_query(method) {
            for which in 0..2 {
                out.push(case(&path, true, Attack::SlowText(which)));
            }
        }
        let key = (method.to_string(), normalise(template));
        for name in numbers.get(&key).into_iter().flatten() {
            for v in NUMBERS.iter().chain(DATES) {
                out.push(case(&path, true, Attack::Number(name.clone(), v)));
                let json_capable = !matches!(*method, Method::GET | Method::DELETE);
                if json_capable {
                    out.push(case(&path, true, Attack::JsonNumber(name.clone(), v)));
                }
            }
        }
    }
    out
}

/// The body or query of `pairs` for `method`: GET and DELETE in the query.
fn in_query(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::DELETE)
}

fn form_of(pairs: &[(String, String)]) -> String {
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    form_encode(&pairs)
}

/// A JSON object of `pairs` (Rails keys made objects and arrays) with `raw`
/// written verbatim (a number, or a string when it is not JSON) under `key`.
fn json_with_raw(pairs: &[(String, String)], key: &str, raw: &str) -> String {
    const MARK: &str = "\u{1}RAW\u{1}";
    let mut root = serde_json::Map::new();
    let all = pairs
        .iter()
        .filter(|(k, _)| k != key)
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain([(key, MARK)]);
    for (k, v) in all {
        let mut parts = k.split('[').map(|p| p.trim_end_matches(']'));
        let head = parts.next().unwrap_or_default();
        let rest: Vec<&str> = parts.collect();
        let mut slot = root.entry(head.to_owned()).or_insert(Value::Null);
        for part in rest {
            if part.is_empty() {
                if !slot.is_array() {
                    *slot = json!([]);
                }
                let items = slot.as_array_mut().unwrap();
                items.push(Value::Null);
                slot = items.last_mut().unwrap();
            } else {
                if !slot.is_object() {
                    *slot = json!({});
                }
                slot = slot
                    .as_object_mut()
                    .unwrap()
                    .entry(part.to_owned())
                    .or_insert(Value::Null);
            }
        }
        *slot = Value::String(v.to_owned());
    }
    let text = Value::Object(root).to_string();
    let is_json_number = serde_json::from_str::<serde_json::Number>(raw).is_ok()
        || raw
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b));
    let raw = if is_json_number {
        raw.to_owned()
    } else {
        Value::String(raw.to_owned()).to_string()
    };
    text.replace(&Value::String(MARK.to_owned()).to_string(), &raw)
}

/// A raw multipart body of `fields` (names and values as bytes).
fn multipart_raw(fields: &[(&[u8], &[u8])]) -> (String, Vec<u8>) {
    let boundary = "hostile-boundary-7f3a";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        body.extend_from_slice(b"Content-Disposition: form-data; name=\"");
        body.extend_from_slice(name);
        body.extend_from_slice(b"\"\r\n\r\n");
        body.extend_from_slice(value);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// The request for `case`.
fn build(
    http: &reqwest::Client,
    base: &str,
    case: &Case,
    fx: &Fixtures,
) -> reqwest::RequestBuilder {
    let mut method = case.method.clone();
    let mut query: Option<String> = None;
    let mut headers: Vec<(&'static str, Vec<u8>)> = Vec::new();
    let mut body: Option<(String, Vec<u8>)> = None;
    let form = |text: String| {
        Some((
            "application/x-www-form-urlencoded".to_owned(),
            text.into_bytes(),
        ))
    };
    let base_pairs = base_fields(&case.method, &case.template, fx);
    let with_pairs = |pairs: Vec<(String, String)>,
                      query: &mut Option<String>,
                      body: &mut Option<(String, Vec<u8>)>| {
        let mut all = base_pairs.clone();
        all.retain(|(k, _)| !pairs.iter().any(|(p, _)| p == k));
        all.extend(pairs);
        if in_query(&case.method) {
            *query = Some(form_of(&all));
        } else {
            *body = form(form_of(&all));
        }
    };
    match &case.attack {
        Attack::Plain => with_pairs(Vec::new(), &mut query, &mut body),
        Attack::DeepQuery => query = Some(format!("{}=1", deep_key(5_000))),
        Attack::DeepForm => body = form(format!("{}=1", deep_key(5_000))),
        Attack::DeepJson => body = Some(("application/json".into(), deep_json(5_000).into_bytes())),
        Attack::JsonBetweenLimits => {
            body = Some(("application/json".into(), deep_json(120).into_bytes()));
        }
        Attack::RepeatedQuery => query = Some(vec!["a=1"; 10_000].join("&")),
        Attack::RepeatedForm => body = form(vec!["a[]=1"; 10_000].join("&")),
        Attack::ManyMultipartFields => {
            let fields = vec![(&b"f[]"[..], &b"1"[..]); 5_000];
            let (ct, bytes) = multipart_raw(&fields);
            body = Some((ct, bytes));
        }
        Attack::BigHeader(name) => {
            headers.push((name, vec![b'a'; 50 * 1024]));
            with_pairs(Vec::new(), &mut query, &mut body);
        }
        Attack::LongMethod => {
            method = Method::from_bytes(&vec![b'M'; 50 * 1024]).unwrap();
        }
        Attack::BogusAuth(value) => {
            headers.push(("authorization", value.as_bytes().to_vec()));
            with_pairs(Vec::new(), &mut query, &mut body);
        }
        Attack::BogusAuthLong => {
            let mut v = b"Bearer ".to_vec();
            v.extend(std::iter::repeat_n(b'x', 10 * 1024));
            headers.push(("authorization", v));
        }
        Attack::BadUtf8Query => {
            query = Some("q=%FF%FE%00&status=%C0%80%00&a%FF%00=1&limit=%00".to_owned());
        }
        Attack::BadUtf8Form => {
            let mut bytes = b"status=\xff\xfe&q=x%00y&".to_vec();
            bytes.extend_from_slice(b"\xc0\x80=1&title=\x00");
            body = Some(("application/x-www-form-urlencoded".into(), bytes));
        }
        Attack::BadUtf8Json => {
            let bytes =
                b"{\"status\":\"\xff\xfe\",\"q\":\"a\\u0000b\",\"title\":\"\\ud800\"}".to_vec();
            body = Some(("application/json".into(), bytes));
        }
        Attack::BadUtf8Multipart => {
            let (ct, bytes) = multipart_raw(&[
                (b"status", b"\xff\xfe"),
                (b"q", b"a\x00b"),
                (b"\xff\x00", b"1"),
            ]);
            body = Some((ct, bytes));
        }
        Attack::Numbers(v) => {
            let pairs = COMMON_NUMBERS
                .iter()
                .chain(COMMON_DATES)
                .map(|k| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            with_pairs(pairs, &mut query, &mut body);
        }
        Attack::Dates(v) => {
            let pairs = COMMON_DATES
                .iter()
                .map(|k| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            with_pairs(pairs, &mut query, &mut body);
        }
        Attack::Number(name, v) => {
            with_pairs(vec![(name.clone(), (*v).to_owned())], &mut query, &mut body);
        }
        Attack::SlowText(which) => {
            let text = slow_text(*which);
            let pairs = TEXT_FIELDS
                .iter()
                .map(|k| ((*k).to_owned(), text.clone()))
                .collect();
            with_pairs(pairs, &mut query, &mut body);
        }
        Attack::JsonNumber(name, v) => {
            let text = json_with_raw(&base_pairs, name, v);
            body = Some(("application/json".into(), text.into_bytes()));
        }
    }
    let mut url = format!("{base}{}", case.path);
    if let Some(q) = query {
        url.push('?');
        url.push_str(&q);
    }
    let mut req = http.request(method, url);
    let replaces_auth = headers.iter().any(|(k, _)| *k == "authorization");
    if case.with_token && !replaces_auth {
        req = req.header("authorization", format!("Bearer {}", fx.token));
    }
    let sets_type = headers.iter().any(|(k, _)| *k == "content-type");
    for (k, v) in headers {
        req = req.header(k, reqwest::header::HeaderValue::from_bytes(&v).unwrap());
    }
    if let Some((ct, bytes)) = body {
        if !sets_type {
            req = req.header("content-type", ct);
        }
        req = req.body(bytes);
    }
    req
}

/// Longer than this for one answer is an offence: linear work on these
/// inputs takes milliseconds, even in a debug build on a loaded machine.
const SLOW: Duration = Duration::from_secs(10);

/// What a case got.
struct Outcome {
    case: Case,
    status: Option<u16>,
    detail: String,
}

/// Sends `cases` with `workers` requests in flight at once.
async fn run_cases(
    http: &reqwest::Client,
    base: &str,
    fx: &Arc<Fixtures>,
    cases: Vec<Case>,
    workers: usize,
    pid: u32,
) -> Vec<Outcome> {
    let queue = Arc::new(Mutex::new(VecDeque::from(cases)));
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (queue, outcomes, http, base, fx) = (
            queue.clone(),
            outcomes.clone(),
            http.clone(),
            base.to_owned(),
            fx.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let Some(case) = queue.lock().unwrap().pop_front() else {
                    break;
                };
                let sent = Instant::now();
                let mut answer = build(&http, &base, &case, &fx).send().await;
                if answer.is_err() {
                    // A kept-alive connection the server closed after an
                    // early answer (a body left unread) fails the next
                    // request sent on it: try once more on a new connection.
                    let fresh = reqwest::Client::builder()
                        .redirect(reqwest::redirect::Policy::none())
                        .timeout(Duration::from_secs(30))
                        .pool_max_idle_per_host(0)
                        .build()
                        .unwrap();
                    answer = build(&fresh, &base, &case, &fx).send().await;
                }
                let (status, detail) = match answer {
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        let text = resp.text().await.unwrap_or_default();
                        let mut detail: String = text.chars().take(300).collect();
                        if sent.elapsed() > SLOW {
                            detail = format!("slow: {:?}; {detail}", sent.elapsed());
                        }
                        (Some(status), detail)
                    }
                    Err(e) => {
                        if !alive(pid) {
                            // The server died: the rest would only fail the same way.
                            queue.lock().unwrap().clear();
                        }
                        (None, format!("no answer: {e:?}"))
                    }
                };
                outcomes.lock().unwrap().push(Outcome {
                    case,
                    status,
                    detail,
                });
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    Arc::try_unwrap(outcomes)
        .map(|m| m.into_inner().unwrap())
        .unwrap_or_default()
}

/// (VmRSS, VmHWM) of `pid` in kB.
fn memory(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap()
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|s| {
        !s.lines()
            .any(|l| l.starts_with("State:") && l.contains('Z'))
    })
}

lane_test!(hostile_requests_on_every_route, |lane: Lane| async move {
    // SQLite and PostgreSQL; the other lanes change nothing the battery reaches.
    if !matches!(lane, Lane::Sqlite | Lane::Postgres) {
        return;
    }
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let pid = server.pid().unwrap();
    let fx = Arc::new(fixtures(&server, &api).await);
    let (rss_start, _) = memory(pid);
    let routes = route_table();
    let numbers = spec_numbers();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();

    // Reads first, then writes, deletions last, so records stay for the
    // requests that need them.
    let started = Instant::now();
    let mut outcomes = Vec::new();
    let mut total = 0;
    for phase in [
        &[Method::GET][..],
        &[Method::POST, Method::PUT, Method::PATCH],
        &[Method::DELETE],
    ] {
        if !alive(pid) {
            break;
        }
        let cases: Vec<Case> = routes
            .iter()
            .filter(|(m, _)| phase.contains(m))
            .flat_map(|(m, t)| cases_for(m, t, &fx, &numbers))
            .collect();
        total += cases.len();
        outcomes.extend(run_cases(&http, &server.base_url, &fx, cases, 4, pid).await);
    }
    let elapsed = started.elapsed();

    // The process is alive and answers promptly.
    assert!(alive(pid), "the server died during the battery");
    let t = Instant::now();
    let health = http
        .get(format!("{}/health", server.base_url))
        .send()
        .await
        .expect("/health answers");
    assert_eq!(health.status(), 200);
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "/health took {:?}",
        t.elapsed()
    );

    // No 5xx, no request left unanswered.
    let mut offenders = String::new();
    let mut by_status = std::collections::BTreeMap::<String, usize>::new();
    for o in &outcomes {
        *by_status
            .entry(o.status.map_or("none".to_owned(), |s| s.to_string()))
            .or_default() += 1;
        let bad = o.status.is_none_or(|s| s >= 500) || o.detail.starts_with("slow: ");
        if !bad {
            continue;
        }
        let _ = writeln!(
            offenders,
            "  {} → {} {}",
            o.case.describe(),
            o.status.map_or("-".to_owned(), |s| s.to_string()),
            o.detail
        );
    }
    let (rss_end, peak) = memory(pid);
    eprintln!(
        "[{}] {} routes, {total} requests in {elapsed:?}; statuses {by_status:?}; \
         RSS {rss_start} kB → {rss_end} kB (peak {peak} kB)",
        lane.name(),
        routes.len()
    );
    if !offenders.is_empty() {
        let errors: Vec<String> = server
            .logs()
            .into_iter()
            .filter(|l| l.contains("panicked") || l.contains("\"level\":\"ERROR\""))
            .collect();
        panic!(
            "server errors or no answer:\n{offenders}\nthe server's errors:\n{}",
            errors.join("\n")
        );
    }
    // Memory stayed bounded.
    assert!(
        peak < 2 * rss_start + 100 * 1024,
        "peak RSS {peak} kB against {rss_start} kB at the start"
    );
    // No panic: the panic guard logs "handler panicked" once per panic, the
    // runtime names where it happened.
    let logs = server.logs();
    let panics: Vec<&String> = logs
        .iter()
        .filter(|l| {
            l.contains("handler panicked") || (l.starts_with("thread ") && l.contains("panicked"))
        })
        .collect();
    assert!(panics.is_empty(), "the server panicked:\n{panics:#?}");
});
