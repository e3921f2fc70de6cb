//! The server's edge against hostile clients: metric labels that clients
//! cannot choose and `/metrics` off the public port; header, body and
//! keep-alive timeouts, the connection cap and the header size limit (raw
//! TCP); rate limits keyed on valid tokens or the client address (behind
//! trusted proxies only), and Mastodon's media upload throttle.
//!
//! The connection tests do not depend on storage and run on SQLite only;
//! the rate-limit tests look tokens up and run on every lane. Timeouts are
//! set to a second or two, and assertions allow ten: these are not timing
//! tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use ferrodon_testkit::{Lane, lane_test};
use reqwest::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;

/// Generous bound for "the server closed it".
const WITHIN: Duration = Duration::from_secs(10);

/// Reads until the server closes the connection (EOF or reset); `None` if it
/// is still open after `within`.
async fn read_until_closed(reader: &mut OwnedReadHalf, within: Duration) -> Option<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    tokio::time::timeout(within, async {
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .ok()
    .map(|()| got)
}

/// Reads one response whose body is `body` (a short, known one such as
/// `/health`'s `OK`); `None` if it has not fully arrived within `within`.
async fn read_response(reader: &mut OwnedReadHalf, body: &str, within: Duration) -> Option<String> {
    let mut got = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    tokio::time::timeout(within, async {
        loop {
            let text = String::from_utf8_lossy(&got);
            if let Some(end) = text.find("\r\n\r\n")
                && text[end + 4..].len() >= body.len()
            {
                break;
            }
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .ok()?;
    let text = String::from_utf8_lossy(&got).into_owned();
    text.contains("\r\n\r\n").then_some(text)
}

fn status_of(response: &str) -> Option<u16> {
    response.split(' ').nth(1)?.parse().ok()
}

fn health_request() -> &'static [u8] {
    b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n"
}

/// Seconds elapsed, for messages.
fn secs(since: Instant) -> f64 {
    since.elapsed().as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metric_labels_never_come_from_the_client() {
    let server = spawn(Lane::Sqlite).await;
    let api = Api::of(&server);
    for i in 0..20 {
        // Each one different, as an attacker would send them.
        let method = format!("{}{i}", "X".repeat(50 * 1024));
        let path = if i % 2 == 0 {
            "/api/v1/instance"
        } else {
            "/no-such-route-q9z"
        };
        let resp = raw_request(&server.base_url, &method, path, &[], Vec::new()).await;
        assert!(
            resp.status == 405 || resp.status == 404,
            "a 50 KB method on {path}: {}",
            resp.describe()
        );
        assert!(resp.status < 500, "{}", resp.describe());
    }
    // Public port: no /metrics, Mastodon's JSON 404; /health stays.
    api.get("/metrics").await.err_is(404, "Not Found");
    assert_eq!(api.get("/health").await.status, 200);

    let metrics = Api::new(server.metrics());
    assert_eq!(metrics.get("/health").await.status, 200);
    let resp = metrics.get("/metrics").await;
    assert_eq!(resp.status, 200, "{}", resp.describe());
    let text = &resp.text;
    assert!(
        text.len() < 256 * 1024,
        "/metrics grew to {} bytes after 20 requests with 50 KB methods",
        text.len()
    );
    assert!(
        !text.contains("XXXXXXXX"),
        "a client's method became a label value"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("ferrodon_http_requests_total")
                && l.contains("method=\"other\"")
                && l.contains("status=\"405\"")),
        "unknown methods are counted as `other`:\n{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("ferrodon_http_requests_total")
                && l.contains("method=\"other\"")
                && l.contains("route=\"unmatched\"")),
        "unmatched routes are counted as `unmatched`:\n{text}"
    );
    assert_no_panics(&server);
}

/// A server whose header, body and keep-alive timeouts are 2 s.
async fn impatient_server() -> ferrodon_testkit::TestServer {
    spawn_with(
        Lane::Sqlite,
        &[
            ("FERRODON_HEADER_READ_TIMEOUT", "2"),
            ("FERRODON_BODY_READ_TIMEOUT", "2"),
            ("FERRODON_KEEPALIVE_TIMEOUT", "2"),
        ],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trickled_headers_are_cut_off() {
    let server = impatient_server().await;
    // One byte a second: 70 s for the whole request.
    let (mut reader, mut writer) = TcpStream::connect(&server.authority)
        .await
        .unwrap()
        .into_split();
    let request =
        b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let trickle = tokio::spawn(async move {
        for byte in request {
            if writer.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    let started = Instant::now();
    let got = read_until_closed(&mut reader, WITHIN).await;
    trickle.abort();
    let got = got.expect("a client trickling headers was still connected after 10 s");
    assert!(
        status_of(&String::from_utf8_lossy(&got)).is_none(),
        "the trickled request was answered: {:?}",
        String::from_utf8_lossy(&got)
    );
    eprintln!("trickled headers: closed after {:.1} s", secs(started));
    assert_eq!(Api::of(&server).get("/health").await.status, 200);
    assert_no_panics(&server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silence_after_partial_headers_is_closed() {
    let server = impatient_server().await;
    let (mut reader, mut writer) = TcpStream::connect(&server.authority)
        .await
        .unwrap()
        .into_split();
    writer
        .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    assert!(
        read_until_closed(&mut reader, WITHIN).await.is_some(),
        "a connection idle after partial headers was still open after 10 s"
    );
    eprintln!("partial headers: closed after {:.1} s", secs(started));
    assert_no_panics(&server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_ends_the_request() {
    let server = impatient_server().await;
    let (mut reader, mut writer) = TcpStream::connect(&server.authority)
        .await
        .unwrap()
        .into_split();
    writer
        .write_all(
            b"POST /api/v1/apps HTTP/1.1\r\nHost: localhost\r\n\
              Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n\
              client_name=slow&redirect_uris=",
        )
        .await
        .unwrap();
    let started = Instant::now();
    let got = read_until_closed(&mut reader, WITHIN)
        .await
        .expect("a stalled request body was still being waited for after 10 s");
    let text = String::from_utf8_lossy(&got);
    assert_eq!(status_of(&text), Some(408), "{text}");
    assert!(
        text.contains("{\"error\":"),
        "Mastodon's JSON error: {text}"
    );
    eprintln!("stalled body: 408 after {:.1} s", secs(started));

    // A body that keeps coming (slower than the header timeout in all, but
    // never pausing 2 s) is read to its end.
    let (mut reader, mut writer) = TcpStream::connect(&server.authority)
        .await
        .unwrap()
        .into_split();
    let body = b"client_name=patient&redirect_uris=urn:ietf:wg:oauth:2.0:oob";
    writer
        .write_all(
            format!(
                "POST /api/v1/apps HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    for chunk in body.chunks(body.len() / 4 + 1) {
        tokio::time::sleep(Duration::from_millis(900)).await;
        writer.write_all(chunk).await.unwrap();
    }
    let got = read_until_closed(&mut reader, WITHIN).await.unwrap();
    let text = String::from_utf8_lossy(&got);
    assert_eq!(status_of(&text), Some(200), "{text}");
    assert_no_panics(&server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_keepalive_connections_are_closed() {
    let server = impatient_server().await;
    let (mut reader, mut writer) = TcpStream::connect(&server.authority)
        .await
        .unwrap()
        .into_split();
    // Two requests on the connection, then silence.
    for _ in 0..2 {
        writer.write_all(health_request()).await.unwrap();
        let resp = read_response(&mut reader, "OK", WITHIN)
            .await
            .expect("/health answered");
        assert_eq!(status_of(&resp), Some(200), "{resp}");
    }
    let started = Instant::now();
    assert!(
        read_until_closed(&mut reader, WITHIN).await.is_some(),
        "an idle kept-alive connection was still open after 10 s"
    );
    eprintln!("idle keep-alive: closed after {:.1} s", secs(started));
    assert_no_panics(&server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_wait_for_a_free_slot() {
    let server = spawn_with(
        Lane::Sqlite,
        &[
            ("FERRODON_MAX_CONNECTIONS", "2"),
            ("FERRODON_HEADER_READ_TIMEOUT", "60"),
            ("FERRODON_KEEPALIVE_TIMEOUT", "60"),
        ],
    )
    .await;
    let addr = server.authority.clone();
    // Two kept-alive connections, served, then idle.
    let mut held = Vec::new();
    for _ in 0..2 {
        let (mut reader, mut writer) = TcpStream::connect(&addr).await.unwrap().into_split();
        writer.write_all(health_request()).await.unwrap();
        let resp = read_response(&mut reader, "OK", WITHIN).await.unwrap();
        assert_eq!(status_of(&resp), Some(200), "{resp}");
        held.push((reader, writer));
    }
    // A third is not served while they are held...
    let (mut reader, mut writer) = TcpStream::connect(&addr).await.unwrap().into_split();
    writer.write_all(health_request()).await.unwrap();
    let mut byte = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_secs(2), reader.read(&mut byte)).await;
    assert!(
        early.is_err(),
        "a third connection was served past a cap of 2: {early:?}"
    );
    // ...and is, once they go.
    drop(held);
    let resp = read_response(&mut reader, "OK", WITHIN)
        .await
        .expect("the waiting connection was served once the others closed");
    assert_eq!(status_of(&resp), Some(200), "{resp}");
    assert_no_panics(&server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_headers_are_refused() {
    let server = spawn(Lane::Sqlite).await;
    let (mut reader, mut writer) = TcpStream::connect(&server.authority)
        .await
        .unwrap()
        .into_split();
    let head = format!(
        "GET /health HTTP/1.1\r\nHost: localhost\r\nX-Big: {}\r\n\r\n",
        "a".repeat(200 * 1024)
    );
    let send = tokio::spawn(async move {
        let _ = writer.write_all(head.as_bytes()).await;
        writer
    });
    let got = read_until_closed(&mut reader, WITHIN)
        .await
        .expect("a 200 KB header: the connection stayed open");
    send.abort();
    let text = String::from_utf8_lossy(&got);
    assert!(
        got.is_empty() || status_of(&text) == Some(431),
        "a 200 KB header must get 431 or a closed connection, got {text:?}"
    );
    assert_eq!(Api::of(&server).get("/health").await.status, 200);
    assert_no_panics(&server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_requests_in_flight() {
    let server = spawn(Lane::Sqlite).await;
    let addr = server.authority.clone();
    // An idle kept-alive connection must not hold the shutdown up.
    let (mut idle_reader, mut idle_writer) = TcpStream::connect(&addr).await.unwrap().into_split();
    idle_writer.write_all(health_request()).await.unwrap();
    read_response(&mut idle_reader, "OK", WITHIN).await.unwrap();
    // A request whose body is half sent when SIGTERM arrives.
    let (mut reader, mut writer) = TcpStream::connect(&addr).await.unwrap().into_split();
    let body = b"client_name=inflight&redirect_uris=urn:ietf:wg:oauth:2.0:oob";
    let (first, second) = body.split_at(10);
    writer
        .write_all(
            format!(
                "POST /api/v1/apps HTTP/1.1\r\nHost: localhost\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    writer.write_all(first).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut server = server;
    let stopping = tokio::task::spawn_blocking(move || {
        let code = server.terminate(Duration::from_secs(30));
        (server, code)
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    writer.write_all(second).await.unwrap();
    let got = read_until_closed(&mut reader, WITHIN)
        .await
        .expect("the request in flight was answered and its connection closed");
    let text = String::from_utf8_lossy(&got);
    assert_eq!(status_of(&text), Some(200), "{text}");
    assert!(text.contains("inflight"), "{text}");
    let (_server, code) = stopping.await.unwrap();
    assert_eq!(code, Some(0), "`ferrodon serve` on SIGTERM");
}

#[test]
fn metrics_listener_settings() {
    let data_dir = tempfile::tempdir().unwrap();
    let base = |extra: &[(&str, &str)]| {
        let mut env = vec![
            (
                "FERRODON_DATA_DIR".to_owned(),
                data_dir.path().display().to_string(),
            ),
            ("FERRODON_LISTEN".to_owned(), "127.0.0.1:0".to_owned()),
            ("FERRODON_LOG_FORMAT".to_owned(), "text".to_owned()),
        ];
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        env
    };
    // An address the operator chose that cannot be bound stops the process.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_addr = taken.local_addr().unwrap().to_string();
    for (key, value) in [
        ("FERRODON_METRICS_LISTEN", taken_addr.as_str()),
        ("FERRODON_METRICS_LISTEN", "nonsense"),
        ("FERRODON_MAX_CONNECTIONS", "0"),
        ("FERRODON_HEADER_READ_TIMEOUT", "0"),
        ("FERRODON_RATE_LIMIT_MEDIA", "-1"),
        ("TRUSTED_PROXY_IP", "the proxy"),
    ] {
        let (code, stdout, stderr) =
            run_to_exit(&["serve"], &base(&[(key, value)]), Duration::from_secs(30));
        assert_eq!(
            code,
            Some(2),
            "{key}={value}: exit code\nstdout: {stdout}\nstderr: {stderr}"
        );
        let message = stderr.trim();
        assert_eq!(message.lines().count(), 1, "{key}={value}: {stderr}");
        assert!(message.contains(key), "{key}={value}: {message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_metrics_address_may_be_taken() {
    // Hold the default address (or find it held by someone else: the same).
    let _held = std::net::TcpListener::bind("127.0.0.1:9394");
    // An empty value is unset: the default applies.
    let server = spawn_with(Lane::Sqlite, &[("FERRODON_METRICS_LISTEN", "")]).await;
    assert_eq!(server.metrics_url, None, "the default address was taken");
    assert!(
        server
            .logs()
            .iter()
            .any(|l| l.contains("WARN") && l.contains("metrics")),
        "a warning says why there is no /metrics"
    );
    let api = Api::of(&server);
    assert_eq!(api.get("/health").await.status, 200);
    api.get("/metrics").await.err_is(404, "Not Found");

    let off = spawn_with(Lane::Sqlite, &[("FERRODON_METRICS_LISTEN", "off")]).await;
    assert_eq!(off.metrics_url, None);
    assert_eq!(Api::of(&off).get("/health").await.status, 200);
}

/// The `X-RateLimit-Remaining` of a response.
fn remaining(resp: &Resp) -> Option<u32> {
    resp.header("x-ratelimit-remaining")?.parse().ok()
}

lane_test!(
    junk_authorization_does_not_bypass_the_limit,
    |lane: Lane| async move {
        let server = spawn_with(lane, &[("FERRODON_RATE_LIMIT_API", "5")]).await;
        let api = Api::of(&server);
        // A valid token first (its app's registration counts against the address).
        let alice = user_token(&server, "alice").await;

        // Any Authorization that is not a valid token counts against the address.
        let mut seen = Vec::new();
        let mut limited = None;
        for i in 0..10 {
            let junk = format!("Basic {:032x}", rand::random::<u128>());
            let headers: &[(&str, &str)] = &[("authorization", &junk)];
            let resp = api
                .send(Method::GET, "/api/v1/timelines/public", Body::None, headers)
                .await;
            if resp.status == 429 {
                limited = Some((i, resp));
                break;
            }
            assert_eq!(resp.status, 200, "{}", resp.describe());
            seen.push(remaining(&resp).expect("X-RateLimit-Remaining"));
        }
        let (i, resp) = limited.unwrap_or_else(|| {
            panic!(
                "10 requests with junk Authorization headers were never limited: remaining {seen:?}"
            )
        });
        assert!(i <= 5, "limited only after {i} requests: {seen:?}");
        assert!(seen.windows(2).all(|w| w[1] < w[0]), "one bucket: {seen:?}");
        assert_eq!(resp.json_error(), "Too many requests");
        assert_eq!(resp.header("x-ratelimit-limit").as_deref(), Some("5"));
        assert_eq!(remaining(&resp), Some(0));
        assert!(resp.header("x-ratelimit-reset").is_some());
        // An unknown bearer token is the same address.
        let bogus = api.with_token("not-a-token");
        assert_eq!(bogus.get("/api/v1/timelines/public").await.status, 429);
        // /health is never limited.
        assert_eq!(api.get("/health").await.status, 200);

        // A valid token has its own bucket.
        let resp = alice.api(&api).get("/api/v1/timelines/public").await;
        assert_eq!(resp.status, 200, "{}", resp.describe());
        assert_eq!(remaining(&resp), Some(4));
        assert_eq!(resp.header("x-ratelimit-limit").as_deref(), Some("5"));
        assert_no_panics(&server);
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_is_believed_only_from_trusted_proxies() {
    // The test connects from 127.0.0.1: a trusted proxy by default.
    let server = spawn_with(Lane::Sqlite, &[("FERRODON_RATE_LIMIT_API", "3")]).await;
    let api = Api::of(&server);
    let get = |xff: String| {
        let api = api.anon();
        async move {
            api.send(
                Method::GET,
                "/api/v1/instance",
                Body::None,
                &[("x-forwarded-for", &xff)],
            )
            .await
        }
    };
    for i in 1..=5 {
        let resp = get(format!("203.0.113.{i}")).await;
        assert_eq!(resp.status, 200, "{}", resp.describe());
        assert_eq!(remaining(&resp), Some(2), "one bucket per forwarded client");
    }
    // IPv6 clients are counted per /64.
    let statuses: Vec<u16> = {
        let mut s = Vec::new();
        for i in 1..=4 {
            s.push(get(format!("2001:db8:1:2::{i}")).await.status);
        }
        s
    };
    assert_eq!(statuses, [200, 200, 200, 429], "one /64, one bucket");

    // With TRUSTED_PROXY_IP naming other proxies, the header is ignored.
    let server = spawn_with(
        Lane::Sqlite,
        &[
            ("FERRODON_RATE_LIMIT_API", "3"),
            ("TRUSTED_PROXY_IP", "10.0.0.0/8, 192.168.1.1"),
        ],
    )
    .await;
    let api = Api::of(&server);
    let mut statuses = Vec::new();
    for i in 1..=4 {
        let resp = api
            .send(
                Method::GET,
                "/api/v1/instance",
                Body::None,
                &[("x-forwarded-for", &format!("203.0.113.{i}"))],
            )
            .await;
        statuses.push(resp.status);
    }
    assert_eq!(
        statuses,
        [200, 200, 200, 429],
        "an untrusted peer's X-Forwarded-For must not make new buckets"
    );
}

/// A complete 2×3 GIF.
const GIF_2X3: &[u8] = &[
    b'G', b'I', b'F', b'8', b'9', b'a', 0x02, 0x00, 0x03, 0x00, 0x80, 0x00, 0x00, 0xff, 0xff, 0xff,
    0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44,
    0x01, 0x00, 0x3b,
];

async fn upload(api: &Api, path: &str) -> Resp {
    let file = FilePart {
        name: "file",
        file_name: "dot.gif",
        content_type: "image/gif",
        bytes: GIF_2X3,
    };
    api.send(Method::POST, path, Body::multipart_files(&[], &[file]), &[])
        .await
}

lane_test!(
    media_uploads_are_throttled_per_account,
    |lane: Lane| async move {
        // The test servers turn the API limit off; the media one stays on.
        let server = spawn(lane).await;
        let api = Api::of(&server);
        let alice = user_token(&server, "alice").await.api(&api);
        let bob = user_token(&server, "bob").await.api(&api);
        for i in 0..30 {
            let path = if i % 2 == 0 {
                "/api/v2/media"
            } else {
                "/api/v1/media"
            };
            let resp = upload(&alice, path).await;
            assert_eq!(resp.status, 200, "upload {i}: {}", resp.describe());
            // Deleted at once, so that no quota of unattached uploads interferes.
            let id = str_field(&resp.json(), "id");
            alice.delete(&format!("/api/v1/media/{id}")).await;
        }
        let resp = upload(&alice, "/api/v2/media").await;
        assert_eq!(resp.status, 429, "the 31st upload: {}", resp.describe());
        assert_eq!(resp.json_error(), "Too many requests");
        assert_eq!(resp.header("x-ratelimit-limit").as_deref(), Some("30"));
        assert_eq!(remaining(&resp), Some(0));
        assert!(resp.header("x-ratelimit-reset").is_some());
        assert_eq!(upload(&alice, "/api/v1/media").await.status, 429);
        // Other requests and other accounts are not affected.
        alice
            .get("/api/v1/accounts/verify_credentials")
            .await
            .ok_json();
        assert_eq!(upload(&bob, "/api/v2/media").await.status, 200);
        assert_no_panics(&server);
    }
);
