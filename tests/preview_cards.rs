//! Preview cards: a job fetches the first link of a new or edited status
//! through the guarded client and shows the page's card on it; the link
//! timeline lists public statuses sharing a card. The pages come from a
//! tiny HTTP server in this process on 127.0.0.1, which the instance may
//! reach only with `ALLOWED_PRIVATE_ADDRESSES`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use common::*;
use ferrodon_testkit::{Lane, TestServer, lane_test};
use serde_json::Value;
use tokio::net::TcpListener;

/// The local web site: its base URL and how often each path was requested.
struct Site {
    base: String,
    hits: Arc<Mutex<HashMap<String, usize>>>,
}

impl Site {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    fn total_hits(&self) -> usize {
        self.hits.lock().unwrap().values().sum()
    }
}

const ARTICLE: &str = r#"<!DOCTYPE html>
<html lang="en"><head>
<meta charset="utf-8">
<title>Plain title</title>
<meta property="og:title" content="Ferrodon &amp; the cards">
<meta property="og:description" content="How previews are made.">
<meta property="og:image" content="/img/cover.png">
<meta property="og:image:alt" content="A cover">
<meta property="og:type" content="article">
<meta property="og:site_name" content="Local News">
<meta name="author" content="Ann Writer">
<meta property="article:published_time" content="2025-03-04T05:06:07Z">
<link rel="canonical" href="/article">
</head><body><p>Hello.</p></body></html>"#;

/// Serves the pages the tests link to on 127.0.0.1, and the same pages on
/// 127.0.0.2 (a private address the instance is not allowed to reach, which
/// `/to-private` redirects to).
async fn site() -> Site {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let private = TcpListener::bind("127.0.0.2:0").await.unwrap();
    let private_base = format!("http://{}", private.local_addr().unwrap());
    let base = format!("http://{}", listener.local_addr().unwrap());
    let hits: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    serve(listener, hits.clone(), private_base.clone(), "");
    serve(private, hits.clone(), private_base, "private:");
    Site { base, hits }
}

/// Answers on `listener`, counting requests per path (prefixed by `tag`).
fn serve(
    listener: TcpListener,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    private_base: String,
    tag: &'static str,
) {
    serve_http(listener, move |path| {
        *hits
            .lock()
            .unwrap()
            .entry(format!("{tag}{path}"))
            .or_default() += 1;
        page(path, &private_base)
    });
}

/// (status line, content type, extra headers, body) of a path.
fn page(path: &str, private_base: &str) -> (&'static str, &'static str, String, Vec<u8>) {
    let html = "text/html; charset=utf-8";
    match path {
        "/article" => ("200 OK", html, String::new(), ARTICLE.into()),
        "/plain" => (
            "200 OK",
            html,
            String::new(),
            b"<html><head><title>Just a title</title>\
              <meta name=\"description\" content=\"Said plainly\"></head></html>"
                .to_vec(),
        ),
        "/latin1" => (
            "200 OK",
            "text/html",
            String::new(),
            b"<meta charset=\"windows-1252\"><title>Caf\xe9 cr\xe8me</title>".to_vec(),
        ),
        "/redirect" => (
            "302 Found",
            html,
            "Location: /landing\r\n".into(),
            Vec::new(),
        ),
        "/landing" => (
            "200 OK",
            html,
            String::new(),
            b"<title>Landed</title>".to_vec(),
        ),
        "/to-private" => (
            "302 Found",
            html,
            format!("Location: {private_base}/article\r\n"),
            Vec::new(),
        ),
        "/huge" => {
            // The title comes only after the first MiB.
            let mut b = b"<html><head><!-- ".to_vec();
            b.extend(std::iter::repeat_n(b'x', 1536 * 1024));
            b.extend_from_slice(b" --><title>Too far down</title></head></html>");
            ("200 OK", html, String::new(), b)
        }
        "/huge-head" => {
            let mut b = b"<html><head><title>A long page</title></head><body>".to_vec();
            b.extend(std::iter::repeat_n(b'y', 2 * 1024 * 1024));
            ("200 OK", html, String::new(), b)
        }
        "/json" => (
            "200 OK",
            "application/json",
            String::new(),
            b"{\"title\":\"not a page\"}".to_vec(),
        ),
        "/untitled" => ("200 OK", html, String::new(), b"<p>No title</p>".to_vec()),
        _ => (
            "404 Not Found",
            html,
            String::new(),
            b"<title>Missing</title>".to_vec(),
        ),
    }
}

async fn allowed_server(lane: Lane) -> TestServer {
    spawn_with(lane, &[("ALLOWED_PRIVATE_ADDRESSES", "127.0.0.1/32")]).await
}

async fn discoverable(api: &Api) {
    api.patch(
        "/api/v1/accounts/update_credentials",
        &[("discoverable", "true")],
    )
    .await
    .ok_json();
}

/// The status's card once it has one.
async fn wait_card(api: &Api, id: &str) -> Value {
    wait_until(&format!("a card on status {id}"), || async {
        let s = api.get(&format!("/api/v1/statuses/{id}")).await.ok_json();
        (!s["card"].is_null()).then(|| s["card"].clone())
    })
    .await
}

async fn card_now(api: &Api, id: &str) -> Value {
    api.get(&format!("/api/v1/statuses/{id}")).await.ok_json()["card"].clone()
}

lane_test!(
    cards_are_fetched_shared_and_listed,
    |lane: Lane| async move {
        let site = site().await;
        let server = allowed_server(lane).await;
        let api = Api::of(&server);
        let alice = user_token(&server, "alice").await;
        let bob = user_token(&server, "bob").await;
        let carol = user_token(&server, "carol").await;
        let (a, b, c) = (alice.api(&api), bob.api(&api), carol.api(&api));
        discoverable(&a).await;
        discoverable(&b).await;

        let article = site.url("/article");
        let first = post_status(&a, &format!("Worth reading: {article} #cards")).await;
        let first_id = str_field(&first, "id");
        let card = wait_card(&a, &first_id).await;
        assert_eq!(card["url"], article.as_str());
        assert_eq!(card["title"], "Ferrodon & the cards");
        assert_eq!(card["description"], "How previews are made.");
        assert_eq!(card["type"], "link");
        assert_eq!(card["image"], site.url("/img/cover.png").as_str());
        assert_eq!(card["image_description"], "A cover");
        assert_eq!(card["provider_name"], "Local News");
        assert_eq!(card["provider_url"], "");
        assert_eq!(card["author_name"], "Ann Writer");
        assert_eq!(card["authors"][0]["name"], "Ann Writer");
        assert!(card["authors"][0]["account"].is_null());
        assert_eq!(card["language"], "en");
        assert_eq!(card["published_at"], "2025-03-04T05:06:07.000Z");
        assert_eq!(card["html"], "");
        assert_eq!(card["width"], 0);
        assert_eq!(card["height"], 0);
        assert!(card["blurhash"].is_null());
        assert_eq!(card["embed_url"], "");
        assert_eq!(site.hits("/article"), 1);

        // Another status linking there reuses the card: no second fetch.
        let second = post_status(&b, &format!("Same here {article}")).await;
        let second_id = str_field(&second, "id");
        let again = wait_card(&b, &second_id).await;
        assert_eq!(again["title"], card["title"]);
        assert_eq!(site.hits("/article"), 1, "the stored card was reused");

        // Cards show wherever statuses do (here: the author's own timeline, anonymously).
        let listed = api
            .anon()
            .get(&format!("/api/v1/accounts/{}/statuses", alice.id))
            .await
            .ok_json();
        assert_eq!(listed[0]["card"]["title"], card["title"]);

        // Not listed on the link timeline: an author who did not opt into
        // discovery, and statuses that are not public.
        let hidden = post_status(&c, &format!("Me too {article}")).await;
        wait_card(&c, &str_field(&hidden, "id")).await;
        let quietly = format!("Quietly {article}");
        let unlisted = post_status_with(
            &a,
            &[("status", quietly.as_str()), ("visibility", "unlisted")],
        )
        .await;
        wait_card(&a, &str_field(&unlisted, "id")).await;

        let timeline = api
            .anon()
            .get_q("/api/v1/timelines/link", &[("url", article.as_str())])
            .await
            .ok_json();
        assert_eq!(ids(&timeline), [second_id.clone(), first_id.clone()]);
        assert_eq!(timeline[0]["card"]["title"], card["title"]);

        // Paged with Link headers.
        let page = a
            .get_q(
                "/api/v1/timelines/link",
                &[("url", article.as_str()), ("limit", "1")],
            )
            .await;
        assert_eq!(ids(&page.ok_json()), [second_id.as_str()]);
        let next = link(&page, "next").expect("a next link");
        assert!(next.contains("url="), "{next}");
        let older = a.get(&path_and_query(&next)).await.ok_json();
        assert_eq!(ids(&older), [first_id.as_str()]);
        let prev = link(&page, "prev").expect("a prev link");
        assert_eq!(
            ids(&a.get(&path_and_query(&prev)).await.ok_json()),
            Vec::<String>::new()
        );

        // No card for that URL: 404, as Mastodon.
        a.get_q(
            "/api/v1/timelines/link",
            &[("url", site.url("/never-linked").as_str())],
        )
        .await
        .err_is(404, "Record not found");
        a.get("/api/v1/timelines/link")
            .await
            .err_is(404, "Record not found");

        // Editing the text fetches the new first link's card.
        let changed = format!("Changed my mind: {}", site.url("/plain"));
        a.send(
            reqwest::Method::PUT,
            &format!("/api/v1/statuses/{first_id}"),
            Body::form(&[("status", changed.as_str())]),
            &[],
        )
        .await
        .ok_json();
        let edited = wait_until("the edited status's new card", || async {
            let card = card_now(&a, &first_id).await;
            (card["title"] == "Just a title").then_some(card)
        })
        .await;
        assert_eq!(edited["description"], "Said plainly");
        assert_eq!(edited["url"], site.url("/plain").as_str());
        assert!(edited["image"].is_null());
        let timeline = api
            .anon()
            .get_q("/api/v1/timelines/link", &[("url", article.as_str())])
            .await
            .ok_json();
        assert_eq!(
            ids(&timeline),
            [second_id.as_str()],
            "the edited status left"
        );

        // A redirect is followed: the card belongs to where it led, the status
        // shows the link it wrote.
        let redirect = site.url("/redirect");
        let via = post_status(&b, &format!("Short link {redirect}")).await;
        let via_id = str_field(&via, "id");
        let landed = wait_card(&b, &via_id).await;
        assert_eq!(landed["title"], "Landed");
        assert_eq!(landed["url"], redirect.as_str());
        let timeline = api
            .anon()
            .get_q(
                "/api/v1/timelines/link",
                &[("url", site.url("/landing").as_str())],
            )
            .await
            .ok_json();
        assert_eq!(ids(&timeline), [via_id]);

        // A page in windows-1252 reads right.
        let latin = post_status(&b, &format!("Menu {}", site.url("/latin1"))).await;
        let latin_card = wait_card(&b, &str_field(&latin, "id")).await;
        assert_eq!(latin_card["title"], "Café crème");

        // Links to the instance itself get no card (and no fetch).
        let own = post_status(&a, &format!("See {}/@bob", public_url(&server))).await;
        let admin = jobs_admin(&server, "admin").await;
        jobs_idle(&admin).await;
        assert!(card_now(&a, &str_field(&own, "id")).await.is_null());
        assert_no_panics(&server);
    }
);

lane_test!(
    refused_and_unusable_pages_get_no_card,
    |lane: Lane| async move {
        let site = site().await;
        let server = allowed_server(lane).await;
        let api = Api::of(&server);
        let alice = user_token(&server, "alice").await;
        let a = alice.api(&api);
        let admin = jobs_admin(&server, "admin").await;

        let mut none = Vec::new();
        for path in ["/to-private", "/huge", "/json", "/untitled", "/missing"] {
            let s = post_status(&a, &format!("Look {}", site.url(path))).await;
            none.push((path, str_field(&s, "id")));
        }
        // Read only up to its first MiB, where its title is: a card.
        let long = post_status(&a, &format!("Long {}", site.url("/huge-head"))).await;
        let long_card = wait_card(&a, &str_field(&long, "id")).await;
        assert_eq!(long_card["title"], "A long page");

        jobs_idle(&admin).await;
        for (path, id) in &none {
            assert!(card_now(&a, id).await.is_null(), "{path} must give no card");
            if site.hits(path) != 1 {
                // What the jobs said, to tell a refusal from a job that never ran.
                for l in server
                    .logs()
                    .iter()
                    .filter(|l| l.contains("job") || l.contains("card"))
                {
                    eprintln!("server: {l}");
                }
            }
            assert_eq!(site.hits(path), 1, "{path} was fetched once, never retried");
        }
        // The redirect into a private address that is not allowed was not
        // followed (that server would have answered), and the log says why.
        assert_eq!(site.hits("private:/article"), 0);
        assert!(
            server
                .logs()
                .iter()
                .any(|l| l.contains("/to-private") && l.contains("non-public address")),
            "the refusal is logged"
        );
        assert_no_panics(&server);
    }
);

lane_test!(
    private_addresses_are_refused_by_default,
    |lane: Lane| async move {
        let site = site().await;
        let server = spawn(lane).await;
        let api = Api::of(&server);
        let alice = user_token(&server, "alice").await;
        let a = alice.api(&api);
        let admin = jobs_admin(&server, "admin").await;
        let port = site.base.rsplit(':').next().unwrap().to_owned();
        let mut posted = Vec::new();
        for url in [
            site.url("/article"),
            format!("http://localhost:{port}/article"),
            format!("http://[::ffff:127.0.0.1]:{port}/article"),
            format!("http://2130706433:{port}/article"),
        ] {
            posted.push(str_field(
                &post_status(&a, &format!("Inside {url}")).await,
                "id",
            ));
        }
        jobs_idle(&admin).await;
        for id in &posted {
            assert!(card_now(&a, id).await.is_null());
        }
        assert_eq!(site.total_hits(), 0, "no request reached the local server");
        assert_no_panics(&server);
    }
);
