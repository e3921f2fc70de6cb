//! The SSRF suite: forbidden addresses are refused before any connection
//! is attempted, whether named directly as IP literals, reached through a
//! redirect from an allowed loopback server, or through a DNS answer.
//!
//! Every test records the client's dials ([`DialLog`]) and checks that the
//! only address ever dialled is the allowed test server on 127.0.0.1; no
//! test sends a packet anywhere else (the refusals happen before connecting,
//! and the log would show an attempt).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrodon_fetch::{
    DialLog, FetchError, FetchOptions, Fetcher, IpNet, Method, Request, StaticResolver, Url,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

struct Server {
    base: String,
    port: u16,
    hits: Arc<AtomicUsize>,
}

impl Server {
    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// Reads one request: (method, path, headers lower-cased, body).
async fn read_request(
    sock: &mut TcpStream,
) -> Option<(String, String, Vec<(String, String)>, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.lines();
    let first = lines.next()?.to_owned();
    let mut parts = first.split(' ');
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    Some((method, path, headers, body))
}

/// A tiny HTTP/1.1 server on 127.0.0.1 with canned answers.
async fn server() -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let counter = counter.clone();
            tokio::spawn(async move {
                let Some((method, path, headers, body)) = read_request(&mut sock).await else {
                    return;
                };
                counter.fetch_add(1, Ordering::SeqCst);
                let header = |name: &str| {
                    headers
                        .iter()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                };
                let mut extra = String::new();
                let mut length = None;
                let (status, body): (&str, Vec<u8>) = match path.as_str() {
                    "/ok" => ("200 OK", b"ok".to_vec()),
                    "/json" => ("200 OK", br#"{"type":"Person","id":"x"}"#.to_vec()),
                    "/echo" => (
                        "200 OK",
                        format!(
                            "{method}|{}|{}|{}|{}",
                            header("signature"),
                            header("content-type"),
                            header("authorization"),
                            String::from_utf8_lossy(&body)
                        )
                        .into_bytes(),
                    ),
                    // Declares 2 MiB, sends 10 bytes: reading it would fail
                    // with a truncated body, not with TooLarge.
                    "/declared-big" => {
                        length = Some(2 * 1024 * 1024);
                        ("200 OK", vec![b'{'; 10])
                    }
                    "/undeclared-big" => {
                        length = Some(usize::MAX);
                        ("200 OK", vec![b' '; 1024 * 1024 + 1])
                    }
                    "/busy" => {
                        extra.push_str("Retry-After: 120\r\n");
                        ("503 Service Unavailable", Vec::new())
                    }
                    "/busy-until" => {
                        extra.push_str("Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n");
                        ("503 Service Unavailable", Vec::new())
                    }
                    "/slow-body" => {
                        let head =
                            "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\nabc";
                        let _ = sock.write_all(head.as_bytes()).await;
                        tokio::time::sleep(Duration::from_secs(3)).await;
                        return;
                    }
                    "/loop" => {
                        extra.push_str("Location: /loop\r\n");
                        ("302 Found", Vec::new())
                    }
                    p if p.starts_with("/to/") => {
                        extra.push_str(&format!("Location: {}\r\n", &p[4..]));
                        ("302 Found", Vec::new())
                    }
                    p if p.starts_with("/307/") => {
                        extra.push_str(&format!("Location: {}\r\n", &p[5..]));
                        ("307 Temporary Redirect", Vec::new())
                    }
                    p if p.starts_with("/303/") => {
                        extra.push_str(&format!("Location: {}\r\n", &p[5..]));
                        ("303 See Other", Vec::new())
                    }
                    _ => ("404 Not Found", Vec::new()),
                };
                let length_header = match length {
                    Some(usize::MAX) => String::new(),
                    Some(n) => format!("Content-Length: {n}\r\n"),
                    None => format!("Content-Length: {}\r\n", body.len()),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/activity+json\r\n{extra}{length_header}Connection: close\r\n\r\n"
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(&body).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    Server {
        base: format!("http://127.0.0.1:{port}"),
        port,
        hits,
    }
}

struct Client {
    fetcher: Fetcher,
    log: DialLog,
}

impl Client {
    /// Every address dialled so far, emptying the log.
    fn dialled(&self) -> Vec<IpAddr> {
        self.log.take().into_iter().map(|d| d.ip).collect()
    }
}

/// A client allowing `allowed` (e.g. `127.0.0.1/32`), with `allow_http`
/// for federation, resolving names with `resolver`.
fn client(allowed: &str, allow_http: bool, resolver: StaticResolver) -> Client {
    client_with(allowed, allow_http, resolver, |_| {})
}

fn client_with(
    allowed: &str,
    allow_http: bool,
    resolver: StaticResolver,
    tweak: impl FnOnce(&mut FetchOptions),
) -> Client {
    let log = DialLog::new();
    let mut options = FetchOptions::new(FetchOptions::user_agent_for("https://example.test"));
    options.allowed_private = allowed
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<IpNet>().unwrap())
        .collect();
    options.allow_http = allow_http;
    options.resolver = Some(Arc::new(resolver));
    options.dial_log = Some(log.clone());
    options.connect_timeout = Duration::from_secs(2);
    options.read_timeout = Duration::from_secs(2);
    options.timeout = Duration::from_secs(5);
    tweak(&mut options);
    Client {
        fetcher: Fetcher::new(options).unwrap(),
        log,
    }
}

/// Forbidden hosts as URL spellings of IP literals. None of them is
/// 127.0.0.1 itself, which the redirect tests' server is allowed to be.
const FORBIDDEN_LITERALS: &[&str] = &[
    "[::1]",
    "0.0.0.0",
    "[::]",
    "169.254.169.254",
    "10.0.0.1",
    "10.255.255.254",
    "172.16.0.1",
    "172.31.255.254",
    "192.168.0.1",
    "192.168.255.254",
    "100.64.0.1",
    "100.127.255.254",
    "[fc00::1]",
    "[fdff:ffff::1]",
    "[fe80::1]",
    "[febf::1]",
    // Spellings of 127.0.0.2 (loopback, but not the allowed 127.0.0.1).
    "127.2",
    "2130706434",
    "0x7f000002",
    "[::ffff:127.0.0.2]",
    "[::ffff:169.254.169.254]",
];

/// Spellings of 127.0.0.1 itself: refused unless 127.0.0.1 is allowed.
const LOOPBACK_SPELLINGS: &[&str] = &[
    "127.1",
    "2130706433",
    "0x7f000001",
    "0x7f.1",
    "127.000.000.001",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
];

/// The same addresses as DNS answers.
fn forbidden_answers() -> Vec<IpAddr> {
    [
        "127.0.0.2",
        "::1",
        "::ffff:127.0.0.2",
        "0.0.0.0",
        "::",
        "169.254.169.254",
        "10.0.0.1",
        "172.16.0.1",
        "172.31.255.254",
        "192.168.0.1",
        "100.64.0.1",
        "fc00::1",
        "fd00::1",
        "fe80::1",
        "::ffff:10.0.0.1",
        "64:ff9b::a00:1",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect()
}

fn assert_refused(result: Result<ferrodon_fetch::Response, FetchError>, what: &str) {
    match result {
        Err(FetchError::PrivateAddress(_)) => {}
        other => panic!("{what}: expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn ip_literals_are_refused_without_a_dial() {
    let strict = client("", true, StaticResolver::new());
    for host in FORBIDDEN_LITERALS.iter().chain(LOOPBACK_SPELLINGS) {
        for url in [
            format!("http://{host}/"),
            format!("https://{host}/"),
            format!("http://{host}:8080/x"),
        ] {
            assert_refused(strict.fetcher.get(&url, "*/*").await, &url);
            let request = Request::get(Url::parse(&url).unwrap());
            assert_refused(strict.fetcher.send(&request).await, &url);
            assert_refused(
                strict.fetcher.send_following(request, |_| Ok(())).await,
                &url,
            );
        }
    }
    assert_eq!(strict.dialled(), Vec::<IpAddr>::new(), "no dial at all");
}

#[tokio::test]
async fn redirects_to_forbidden_addresses_are_refused_before_a_dial() {
    let server = server().await;
    let (base, port) = (&server.base, server.port);
    let c = client("127.0.0.1/32", true, StaticResolver::new());
    for host in FORBIDDEN_LITERALS {
        let target = format!("http://{host}:{port}/ok");
        let start = format!("{base}/to/{target}");
        let before = server.hits();

        assert_refused(c.fetcher.get(&start, "*/*").await, &target);
        let request = Request::get(Url::parse(&start).unwrap());
        assert_refused(
            c.fetcher.send_following(request.clone(), |_| Ok(())).await,
            &target,
        );
        // Manual mode: the 302 comes back, its target is refused.
        let response = c.fetcher.send(&request).await.unwrap();
        assert_eq!(response.status(), 302);
        assert!(matches!(
            c.fetcher.redirect_target(&response),
            Err(FetchError::PrivateAddress(_))
        ));
        // The same target over https, as a federation redirect would be.
        let https = format!("{base}/to/https://{host}/ok");
        assert_refused(
            c.fetcher
                .send_following(Request::get(Url::parse(&https).unwrap()), |_| Ok(()))
                .await,
            &https,
        );

        assert_eq!(server.hits(), before + 4, "{target}: only the first hops");
        let dialled = c.dialled();
        assert!(
            dialled.iter().all(|ip| *ip == LOOPBACK),
            "{target}: dialled {dialled:?}"
        );
    }
}

#[tokio::test]
async fn redirects_to_spellings_of_the_allowed_address_reach_it() {
    let server = server().await;
    let (base, port) = (&server.base, server.port);
    let c = client("127.0.0.1/32", true, StaticResolver::new());
    for host in LOOPBACK_SPELLINGS {
        let start = format!("{base}/to/http://{host}:{port}/ok");
        let response = c.fetcher.get(&start, "*/*").await.unwrap();
        assert_eq!(response.status(), 200, "{host}");
    }
    // `[::ffff:127.0.0.1]` is dialled as such (and reaches 127.0.0.1).
    let dialled = c.dialled();
    assert!(!dialled.is_empty());
    assert!(
        dialled.iter().all(|ip| ip.to_canonical() == LOOPBACK),
        "{dialled:?}"
    );
}

#[tokio::test]
async fn dns_answers_with_forbidden_addresses_are_refused_before_a_dial() {
    let server = server().await;
    let (base, port) = (&server.base, server.port);
    let mut resolver = StaticResolver::new();
    let answers = forbidden_answers();
    for (i, ip) in answers.iter().enumerate() {
        resolver = resolver.with(&format!("evil{i}.test"), &[*ip]);
    }
    // Every forbidden answer at once.
    resolver = resolver.with("all.evil.test", &answers);
    let c = client("127.0.0.1/32", true, resolver);
    let names: Vec<String> = (0..answers.len())
        .map(|i| format!("evil{i}.test"))
        .chain(["all.evil.test".to_owned()])
        .collect();
    for name in &names {
        let before = server.hits();
        for url in [
            format!("http://{name}:{port}/ok"),
            format!("https://{name}/ok"),
        ] {
            assert_refused(c.fetcher.get(&url, "*/*").await, &url);
            let request = Request::get(Url::parse(&url).unwrap());
            assert_refused(c.fetcher.send(&request).await, &url);
        }
        assert_eq!(c.dialled(), Vec::<IpAddr>::new(), "{name}: no dial");
        assert_eq!(server.hits(), before);

        // And through a redirect from the allowed server.
        let start = format!("{base}/to/http://{name}:{port}/ok");
        assert_refused(c.fetcher.get(&start, "*/*").await, &start);
        let start = format!("{base}/to/https://{name}/ok");
        assert_refused(
            c.fetcher
                .send_following(Request::get(Url::parse(&start).unwrap()), |_| Ok(()))
                .await,
            &start,
        );
        assert_eq!(server.hits(), before + 2);
        let dialled = c.dialled();
        assert!(
            dialled.iter().all(|ip| *ip == LOOPBACK),
            "{name}: dialled {dialled:?}"
        );
    }
}

#[tokio::test]
async fn a_name_resolving_to_loopback_is_refused_unless_allowed() {
    let server = server().await;
    let resolver = StaticResolver::new().with("local.test", &[LOOPBACK]);
    let strict = client("", true, resolver.clone());
    let url = format!("http://local.test:{}/ok", server.port);
    assert_refused(strict.fetcher.get(&url, "*/*").await, &url);
    assert_eq!(strict.dialled(), Vec::<IpAddr>::new());
    assert_eq!(server.hits(), 0);

    // Mixed answers: only the allowed address is dialled.
    let mixed = resolver.with(
        "mixed.test",
        &[
            "10.0.0.1".parse().unwrap(),
            LOOPBACK,
            "fe80::1".parse().unwrap(),
        ],
    );
    let c = client("127.0.0.1/32", true, mixed);
    let response = c.fetcher.get(&url, "*/*").await.unwrap();
    assert_eq!(response.status(), 200);
    let url = format!("http://mixed.test:{}/ok", server.port);
    let response = c.fetcher.get(&url, "*/*").await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(c.dialled(), vec![LOOPBACK, LOOPBACK]);
}

#[tokio::test]
async fn federation_is_https_only_unless_allow_http_and_an_allowed_address() {
    let server = server().await;
    let resolver = StaticResolver::new()
        .with("local.test", &[LOOPBACK])
        .with("public.test", &["93.184.216.34".parse().unwrap()]);
    let ok = Url::parse(&format!("{}/ok", server.base)).unwrap();

    // https only: plain http is refused before anything happens.
    let https_only = client("127.0.0.1/32", false, resolver.clone());
    assert!(!https_only.fetcher.allows_http());
    for url in [
        ok.clone(),
        Url::parse(&format!("http://local.test:{}/ok", server.port)).unwrap(),
    ] {
        let request = Request::get(url.clone());
        assert!(
            matches!(
                https_only.fetcher.send(&request).await,
                Err(FetchError::Scheme(_))
            ),
            "{url}"
        );
        assert!(matches!(
            https_only.fetcher.send_following(request, |_| Ok(())).await,
            Err(FetchError::Scheme(_))
        ));
    }
    // Link previews keep http.
    assert_eq!(
        https_only
            .fetcher
            .get(ok.as_str(), "*/*")
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(server.hits(), 1);
    https_only.dialled();

    // allow_http: the allowed loopback server is reached, by address or name.
    let dev = client("127.0.0.1/32", true, resolver.clone());
    let response = dev.fetcher.send(&Request::get(ok.clone())).await.unwrap();
    assert_eq!(response.status(), 200);
    let by_name = Url::parse(&format!("http://local.test:{}/json", server.port)).unwrap();
    let response = dev.fetcher.send(&Request::get(by_name)).await.unwrap();
    let value: serde_json::Value = response.json().await.unwrap();
    assert_eq!(value["type"], "Person");
    assert_eq!(dev.dialled(), vec![LOOPBACK, LOOPBACK]);

    // …but plain http to a public address is not, literal or by name, and
    // nothing is dialled.
    for url in ["http://93.184.216.34/", "http://public.test/"] {
        let request = Request::get(Url::parse(url).unwrap());
        assert_refused(dev.fetcher.send(&request).await, url);
    }
    assert_eq!(dev.dialled(), Vec::<IpAddr>::new());

    // Redirect targets: https → http only under the same rule.
    let from = Url::parse("https://remote.example/users/a").unwrap();
    let target = format!("http://127.0.0.1:{}/ok", server.port);
    assert!(matches!(
        https_only.fetcher.check_redirect(&from, &target),
        Err(FetchError::Scheme(_))
    ));
    assert_eq!(
        dev.fetcher.check_redirect(&from, &target).unwrap().as_str(),
        target
    );
    assert!(matches!(
        dev.fetcher.check_redirect(&from, "http://10.0.0.1/"),
        Err(FetchError::PrivateAddress(_))
    ));
    assert!(matches!(
        dev.fetcher.check_redirect(&from, "ftp://remote.example/"),
        Err(FetchError::Scheme(_))
    ));
    assert!(matches!(
        dev.fetcher
            .check_redirect(&from, "https://user:pw@remote.example/"),
        Err(FetchError::InvalidUrl(_))
    ));
    assert_eq!(
        dev.fetcher
            .check_redirect(&from, "/users/b")
            .unwrap()
            .as_str(),
        "https://remote.example/users/b"
    );
    // A redirect from the allowed server to a public address over http.
    let start = format!("{}/to/http://public.test/", server.base);
    assert_refused(
        dev.fetcher
            .send_following(Request::get(Url::parse(&start).unwrap()), |_| Ok(()))
            .await,
        &start,
    );
    assert!(dev.dialled().iter().all(|ip| *ip == LOOPBACK));
}

#[tokio::test]
async fn the_signing_callback_runs_before_every_hop() {
    let server = server().await;
    let base = &server.base;
    let c = client("127.0.0.1/32", true, StaticResolver::new());
    let seen = Arc::new(Mutex::new(Vec::new()));

    // 307 keeps the method and the body; the callback signs each hop's URL.
    let start = Url::parse(&format!("{base}/307/{base}/echo")).unwrap();
    let request = Request::post(start.clone(), b"{\"a\":1}".to_vec())
        .header("content-type", "application/activity+json")
        .unwrap()
        .header("authorization", "Bearer stays-on-the-same-host")
        .unwrap();
    let log = seen.clone();
    let response = c
        .fetcher
        .send_following(request, move |r| {
            log.lock().unwrap().push((r.method, r.url.to_string()));
            let sig = format!("sig-for-{}", r.url.path());
            r.headers.insert("signature", sig.parse().unwrap());
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.url().path(), "/echo");
    let text = String::from_utf8(
        response
            .body(4096, ferrodon_fetch::Overflow::Fail)
            .await
            .unwrap()
            .bytes,
    )
    .unwrap();
    assert_eq!(
        text,
        "POST|sig-for-/echo|application/activity+json|Bearer stays-on-the-same-host|{\"a\":1}"
    );
    assert_eq!(
        *seen.lock().unwrap(),
        vec![
            (Method::Post, start.to_string()),
            (Method::Post, format!("{base}/echo")),
        ]
    );

    // 303 turns the POST into a GET without body or body headers.
    let start = Url::parse(&format!("{base}/303/{base}/echo")).unwrap();
    let request = Request::post(start, b"{}".to_vec())
        .header("content-type", "application/activity+json")
        .unwrap();
    let response = c
        .fetcher
        .send_following(request, |r| {
            r.headers.insert("signature", "s".parse().unwrap());
            Ok(())
        })
        .await
        .unwrap();
    let text = String::from_utf8(
        response
            .body(4096, ferrodon_fetch::Overflow::Fail)
            .await
            .unwrap()
            .bytes,
    )
    .unwrap();
    assert_eq!(text, "GET|s|||");

    // A failing callback stops the request before it is sent.
    let before = server.hits();
    let err = c
        .fetcher
        .send_following(
            Request::get(Url::parse(&format!("{base}/ok")).unwrap()),
            |_| Err(FetchError::Signing("no key".into())),
        )
        .await
        .err();
    assert_eq!(err, Some(FetchError::Signing("no key".into())));
    assert_eq!(server.hits(), before);
}

#[test]
fn redirected_requests_drop_credentials_when_the_host_changes() {
    let from = Url::parse("https://a.example/inbox").unwrap();
    let request = Request::post(from, b"x".to_vec())
        .header("signature", "old")
        .unwrap()
        .header("authorization", "Bearer t")
        .unwrap()
        .header("content-type", "application/json")
        .unwrap()
        .header("host", "a.example")
        .unwrap();
    let same = request.redirected(308, Url::parse("https://A.example:443/other").unwrap());
    assert_eq!(same.method, Method::Post);
    assert_eq!(same.body.as_deref(), Some(&b"x"[..]));
    assert!(same.headers.contains_key("signature"));
    assert!(same.headers.contains_key("authorization"));
    assert!(!same.headers.contains_key("host"));

    let other = request.redirected(307, Url::parse("https://b.example/inbox").unwrap());
    assert_eq!(other.method, Method::Post);
    assert!(!other.headers.contains_key("signature"));
    assert!(!other.headers.contains_key("authorization"));
    assert!(other.headers.contains_key("content-type"));

    let get = request.redirected(302, Url::parse("https://a.example/x").unwrap());
    assert_eq!(get.method, Method::Get);
    assert!(get.body.is_none());
    assert!(!get.headers.contains_key("content-type"));
}

#[tokio::test]
async fn federation_redirects_are_bounded() {
    let server = server().await;
    let c = client("127.0.0.1/32", true, StaticResolver::new());
    let start = Url::parse(&format!("{}/loop", server.base)).unwrap();
    let err = c
        .fetcher
        .send_following(Request::get(start), |_| Ok(()))
        .await
        .err();
    assert_eq!(err, Some(FetchError::TooManyRedirects));
    assert_eq!(server.hits(), 4, "the first request and three hops");
}

#[tokio::test]
async fn json_bodies_are_capped_at_one_mebibyte() {
    let server = server().await;
    let c = client("127.0.0.1/32", true, StaticResolver::new());
    let get = |path: &str| Request::get(Url::parse(&format!("{}{path}", server.base)).unwrap());
    // Declared too large: refused before reading (the body is cut short,
    // so reading it would have failed differently).
    let response = c.fetcher.send(&get("/declared-big")).await.unwrap();
    let err = response.json::<serde_json::Value>().await.err();
    assert_eq!(err, Some(FetchError::TooLarge(1024 * 1024)));
    // Not declared: refused once the cap is passed.
    let response = c.fetcher.send(&get("/undeclared-big")).await.unwrap();
    assert!(response.headers().get("content-length").is_none());
    let err = response.json::<serde_json::Value>().await.err();
    assert_eq!(err, Some(FetchError::TooLarge(1024 * 1024)));
    // Not JSON.
    let response = c.fetcher.send(&get("/ok")).await.unwrap();
    assert!(matches!(
        response.json::<serde_json::Value>().await,
        Err(FetchError::Json(_))
    ));
}

#[tokio::test]
async fn responses_expose_status_headers_and_stalls_time_out() {
    let server = server().await;
    let c = client_with("127.0.0.1/32", true, StaticResolver::new(), |o| {
        o.read_timeout = Duration::from_millis(300);
    });
    let get = |path: &str| Request::get(Url::parse(&format!("{}{path}", server.base)).unwrap());
    let response = c.fetcher.send(&get("/busy")).await.unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.retry_after_secs(), Some(120));
    assert_eq!(response.retry_after(), Some(Duration::from_secs(120)));
    assert_eq!(response.header("Retry-After"), Some("120"));
    assert_eq!(
        response.mime_type().as_deref(),
        Some("application/activity+json")
    );

    let response = c.fetcher.send(&get("/busy-until")).await.unwrap();
    assert_eq!(response.retry_after_secs(), None);
    assert_eq!(response.retry_after(), Some(Duration::ZERO), "a past date");

    let response = c
        .fetcher
        .send(&get("/to/https://remote.example/x"))
        .await
        .unwrap();
    assert!(response.is_redirect());
    assert_eq!(
        response.header("location"),
        Some("https://remote.example/x")
    );
    assert_eq!(
        c.fetcher
            .redirect_target(&response)
            .unwrap()
            .map(|u| u.to_string()),
        Some("https://remote.example/x".to_owned())
    );

    // The body stalls after 3 bytes: the read timeout fires.
    let started = std::time::Instant::now();
    let response = c.fetcher.send(&get("/slow-body")).await.unwrap();
    let err = response
        .body(100, ferrodon_fetch::Overflow::Fail)
        .await
        .err();
    assert_eq!(err, Some(FetchError::Timeout));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}
