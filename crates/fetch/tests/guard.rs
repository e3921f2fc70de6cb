//! The guarded client against a tiny HTTP server on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ferrodon_fetch::{FetchError, FetchOptions, Fetcher, IpNet, Overflow};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Serves a few canned answers; counts the requests that reached it.
async fn server() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                counter.fetch_add(1, Ordering::SeqCst);
                let request = String::from_utf8_lossy(&buf).to_string();
                let path = request.split(' ').nth(1).unwrap_or("/").to_owned();
                let ua = request
                    .lines()
                    .find_map(|l| {
                        l.strip_prefix("user-agent: ")
                            .or(l.strip_prefix("User-Agent: "))
                    })
                    .unwrap_or("")
                    .to_owned();
                let (status, extra, body): (&str, String, Vec<u8>) = match path.as_str() {
                    "/ok" => ("200 OK", String::new(), format!("hello {ua}").into_bytes()),
                    "/big" => ("200 OK", String::new(), vec![b'x'; 3000]),
                    "/loop" => ("302 Found", "Location: /loop\r\n".into(), Vec::new()),
                    p if p.starts_with("/to/") => (
                        "302 Found",
                        format!("Location: {}\r\n", &p[4..]),
                        Vec::new(),
                    ),
                    _ => ("404 Not Found", String::new(), Vec::new()),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(&body).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    (format!("http://{addr}"), hits)
}

fn fetcher(allowed: &str) -> Fetcher {
    let mut options = FetchOptions::new(FetchOptions::user_agent_for("https://example.test"));
    options.allowed_private = allowed
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<IpNet>().unwrap())
        .collect();
    Fetcher::new(options).unwrap()
}

#[tokio::test]
async fn loopback_is_refused_unless_allowed() {
    let (base, hits) = server().await;
    let port = base.rsplit(':').next().unwrap().to_owned();
    let strict = fetcher("");
    for url in [
        format!("{base}/ok"),
        format!("http://localhost:{port}/ok"),
        format!("http://[::1]:{port}/ok"),
        format!("http://[::ffff:127.0.0.1]:{port}/ok"),
        format!("http://2130706433:{port}/ok"),
        format!("http://0x7f.1:{port}/ok"),
    ] {
        let err = strict.get(&url, "*/*").await.err();
        assert!(
            matches!(err, Some(FetchError::PrivateAddress(_))),
            "{url}: {err:?}"
        );
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing reached the server");

    let allowed = fetcher("127.0.0.1/32");
    let resp = allowed.get(&format!("{base}/ok"), "*/*").await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.mime_type().as_deref(), Some("text/plain"));
    assert_eq!(resp.charset().as_deref(), Some("utf-8"));
    let body = resp.body(1024, Overflow::Fail).await.unwrap();
    let text = String::from_utf8(body.bytes).unwrap();
    assert!(
        text.starts_with("hello Ferrodon/") && text.ends_with("(+https://example.test/)"),
        "{text}"
    );
    // A name resolving to the allowed address works too.
    let resp = allowed
        .get(&format!("http://localhost:{port}/ok"), "*/*")
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn redirects_are_checked_and_bounded() {
    let (base, hits) = server().await;
    let port = base.rsplit(':').next().unwrap().to_owned();
    let f = fetcher("127.0.0.1/32");
    let resp = f.get(&format!("{base}/to/{base}/ok"), "*/*").await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.url().path(), "/ok");

    let before = hits.load(Ordering::SeqCst);
    for target in [
        format!("http://127.0.0.2:{port}/ok"),
        format!("http://[::1]:{port}/ok"),
    ] {
        let err = f.get(&format!("{base}/to/{target}"), "*/*").await.err();
        assert!(
            matches!(err, Some(FetchError::PrivateAddress(_))),
            "{target}: {err:?}"
        );
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        before + 2,
        "only the first hops ran"
    );

    // Not http(s): refused by the policy, or not followed at all.
    match f.get(&format!("{base}/to/file:///etc/passwd"), "*/*").await {
        Err(FetchError::Scheme(_)) => {}
        Ok(r) => assert_eq!(r.status(), 302, "the redirect is not followed"),
        Err(e) => panic!("{e:?}"),
    }

    let before = hits.load(Ordering::SeqCst);
    let err = f.get(&format!("{base}/loop"), "*/*").await.err();
    assert_eq!(err, Some(FetchError::TooManyRedirects));
    assert_eq!(
        hits.load(Ordering::SeqCst),
        before + 4,
        "the first request and three hops"
    );
}

#[tokio::test]
async fn bodies_are_capped() {
    let (base, _) = server().await;
    let f = fetcher("127.0.0.1/32");
    let err = f
        .get(&format!("{base}/big"), "*/*")
        .await
        .unwrap()
        .body(1000, Overflow::Fail)
        .await
        .err();
    assert_eq!(err, Some(FetchError::TooLarge(1000)));
    let body = f
        .get(&format!("{base}/big"), "*/*")
        .await
        .unwrap()
        .body(1000, Overflow::Truncate)
        .await
        .unwrap();
    assert_eq!(body.bytes.len(), 1000);
    assert!(body.truncated);
    let body = f
        .get(&format!("{base}/big"), "*/*")
        .await
        .unwrap()
        .body(3000, Overflow::Fail)
        .await
        .unwrap();
    assert_eq!(body.bytes.len(), 3000);
    assert!(!body.truncated);
}

#[tokio::test]
async fn bad_urls_are_errors() {
    let f = fetcher("");
    assert!(matches!(
        f.get("not a url", "*/*").await.err(),
        Some(FetchError::InvalidUrl(_))
    ));
    assert!(matches!(
        f.get("ftp://example.com/", "*/*").await.err(),
        Some(FetchError::Scheme(_))
    ));
    assert!(matches!(
        f.get("http://169.254.169.254/latest/meta-data/", "*/*")
            .await
            .err(),
        Some(FetchError::PrivateAddress(_))
    ));
}
