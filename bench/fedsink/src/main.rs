//! The federation benchmark's fake remote network (bench/federation.sh).
//!
//! `fed-sink keygen DIR` — one RSA-2048 key pair for every fake account
//! (DIR/private.pem, DIR/public.pem).
//!
//! `fed-sink serve DIR BASE_PORT HOSTS PER_HOST CONTROL_PORT AUTHOR_ACTOR_URL...` —
//! HOSTS live hosts on 127.0.0.1:BASE_PORT… (a host is compared with its
//! port), each serving PER_HOST actors `/users/uN` (inbox `/users/uN/inbox`,
//! shared inbox `/inbox`) and accepting inbox POSTs. Every POST's signature
//! (draft-cavage with `Digest`, or RFC 9421) is verified against the public
//! key of one of the AUTHOR_ACTOR_URLs, fetched once at start from the
//! instance under test; verified deliveries are counted (and distinct inbox
//! URLs) with the time of the last one. Port BASE_PORT+HOSTS is left
//! unbound (connections refused) and BASE_PORT+HOSTS+1 accepts connections
//! and never answers. The control port answers `GET /stats` and
//! `POST /reset`.
//!
//! `fed-sink ingest DIR INBOX_URL BASE_PORT HOSTS PER_HOST N CONCURRENCY` —
//! N `Create(Note)` activities from the fake accounts (round robin), all
//! signed before the clock starts, POSTed with CONCURRENCY in flight; prints
//! the elapsed time and the answers' status codes.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ferrodon_federation::signatures::{
    PrivateKey, PublicKey, generate_rsa_2048, sign_cavage, verify_request,
};
use futures_util::StreamExt;
use serde_json::json;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[derive(Default)]
struct Stats {
    ok: AtomicU64,
    bad: AtomicU64,
    first_ns: AtomicU64,
    last_ns: AtomicU64,
    inboxes: Mutex<HashSet<String>>,
    errors: Mutex<BTreeMap<String, u64>>,
}

struct Sink {
    keys: HashMap<String, PublicKey>,
    public_pem: String,
    stats: Stats,
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("keygen") => {
            let dir = &args[1];
            let pair = generate_rsa_2048()?;
            std::fs::write(format!("{dir}/private.pem"), pair.private_key_pem)?;
            std::fs::write(format!("{dir}/public.pem"), pair.public_key_pem)?;
            Ok(())
        }
        Some("serve") => serve(&args[1..]).await,
        Some("ingest") => ingest(&args[1..]).await,
        _ => Err("usage: fed-sink keygen|serve|ingest …".into()),
    }
}

async fn serve(args: &[String]) -> Result<(), Error> {
    let dir = &args[0];
    let base: u16 = args[1].parse()?;
    let hosts: u16 = args[2].parse()?;
    let control: u16 = args[4].parse()?;
    let client = reqwest::Client::new();
    let mut keys = HashMap::new();
    for actor_url in &args[5..] {
        let actor: serde_json::Value = client
            .get(actor_url)
            .header("accept", "application/activity+json")
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let key = &actor["publicKey"];
        let id = key["id"].as_str().ok_or("actor without publicKey.id")?;
        let pem = key["publicKeyPem"].as_str().ok_or("actor without a key")?;
        keys.insert(id.to_owned(), PublicKey::from_pem(pem)?);
    }
    let sink = Arc::new(Sink {
        keys,
        public_pem: std::fs::read_to_string(format!("{dir}/public.pem"))?,
        stats: Stats::default(),
    });
    for h in 0..hosts {
        let port = base + h;
        let app = Router::new()
            .route("/users/{name}", get(actor))
            .fallback(inbox)
            .with_state((sink.clone(), port));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        tokio::spawn(async move { axum::serve(listener, app).await });
    }
    // base + hosts: nothing listens (refused). base + hosts + 1: hangs.
    let hang = tokio::net::TcpListener::bind(("127.0.0.1", base + hosts + 1)).await?;
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = hang.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                use tokio::io::AsyncReadExt;
                while let Ok(n) = stream.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                }
            });
        }
    });
    let app = Router::new()
        .route("/stats", get(stats))
        .route("/reset", post(reset))
        .with_state(sink);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", control)).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

type St = State<(Arc<Sink>, u16)>;

async fn actor(State((sink, port)): St, axum::extract::Path(name): axum::extract::Path<String>) -> Response {
    let id = format!("http://127.0.0.1:{port}/users/{name}");
    let body = json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": id, "type": "Person", "preferredUsername": name,
        "inbox": format!("{id}/inbox"), "outbox": format!("{id}/outbox"),
        "followers": format!("{id}/followers"), "following": format!("{id}/following"),
        "endpoints": {"sharedInbox": format!("http://127.0.0.1:{port}/inbox")},
        "publicKey": {"id": format!("{id}#main-key"), "owner": id, "publicKeyPem": sink.public_pem},
    });
    let mut r = axum::Json(body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/activity+json"),
    );
    r
}

async fn inbox(State((sink, port)): St, req: Request) -> Response {
    if req.method() != Method::POST {
        return StatusCode::NOT_FOUND.into_response();
    }
    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 1 << 20).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let url = format!("http://127.0.0.1:{port}{path}");
    let result = (|| -> Result<(), String> {
        let target: Uri = url.parse().map_err(|e| format!("{e}"))?;
        let pending = verify_request(&parts.method, &target, &parts.headers, Some(&body[..]), SystemTime::now())
            .map_err(|e| format!("signature: {e}"))?;
        let key = sink
            .keys
            .get(&pending.key_id)
            .ok_or_else(|| format!("unknown keyId {}", pending.key_id))?;
        pending.verify(key).map_err(|e| format!("verify: {e}"))?;
        let activity: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| format!("body: {e}"))?;
        if activity["type"].as_str().is_none() {
            return Err("activity without a type".into());
        }
        Ok(())
    })();
    let s = &sink.stats;
    match result {
        Ok(()) => {
            let t = now_ns();
            let _ = s.first_ns.compare_exchange(0, t, Ordering::SeqCst, Ordering::SeqCst);
            s.last_ns.fetch_max(t, Ordering::SeqCst);
            if let Ok(mut set) = s.inboxes.lock() {
                set.insert(url);
            }
            s.ok.fetch_add(1, Ordering::SeqCst);
            StatusCode::ACCEPTED.into_response()
        }
        Err(e) => {
            s.bad.fetch_add(1, Ordering::SeqCst);
            if let Ok(mut m) = s.errors.lock() {
                *m.entry(e).or_default() += 1;
            }
            StatusCode::UNAUTHORIZED.into_response()
        }
    }
}

async fn stats(State(sink): State<Arc<Sink>>) -> Response {
    let s = &sink.stats;
    let distinct = s.inboxes.lock().map_or(0, |x| x.len());
    let errors = s.errors.lock().map(|m| m.clone()).unwrap_or_default();
    axum::Json(json!({
        "ok": s.ok.load(Ordering::SeqCst), "bad": s.bad.load(Ordering::SeqCst),
        "distinct_inboxes": distinct,
        "first_ns": s.first_ns.load(Ordering::SeqCst), "last_ns": s.last_ns.load(Ordering::SeqCst),
        "errors": errors,
    }))
    .into_response()
}

async fn reset(State(sink): State<Arc<Sink>>) -> StatusCode {
    let s = &sink.stats;
    s.ok.store(0, Ordering::SeqCst);
    s.bad.store(0, Ordering::SeqCst);
    s.first_ns.store(0, Ordering::SeqCst);
    s.last_ns.store(0, Ordering::SeqCst);
    if let Ok(mut x) = s.inboxes.lock() {
        x.clear();
    }
    if let Ok(mut x) = s.errors.lock() {
        x.clear();
    }
    StatusCode::NO_CONTENT
}

async fn ingest(args: &[String]) -> Result<(), Error> {
    let dir = &args[0];
    let target: Uri = args[1].parse()?;
    let base: u16 = args[2].parse()?;
    let hosts: u64 = args[3].parse()?;
    let per_host: u64 = args[4].parse()?;
    let n: u64 = args[5].parse()?;
    let conc: usize = args[6].parse()?;
    let key = PrivateKey::from_pem(&std::fs::read_to_string(format!("{dir}/private.pem"))?)?;
    let tag = now_ns();
    let sign_started = Instant::now();
    let mut requests = Vec::with_capacity(n as usize);
    for i in 0..n {
        let account = i % (hosts * per_host);
        let port = base as u64 + account / per_host;
        let actor = format!("http://127.0.0.1:{port}/users/u{account}");
        let note = format!("{actor}/statuses/{tag}-{i}");
        let body = serde_json::to_vec(&json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{note}/activity"), "type": "Create", "actor": actor,
            "published": "2026-12-02T12:00:00Z",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "cc": [format!("{actor}/followers")],
            "object": {
                "id": note, "type": "Note", "attributedTo": actor,
                "published": "2026-12-02T12:00:00Z",
                "to": ["https://www.w3.org/ns/activitystreams#Public"],
                "cc": [format!("{actor}/followers")],
                "content": format!("<p>ingest benchmark note {i} from u{account}</p>"),
            },
        }))?;
        let mut parts = http::Request::builder()
            .method("POST")
            .uri(target.clone())
            .header("content-type", "application/activity+json")
            .body(())?
            .into_parts()
            .0;
        sign_cavage(&mut parts, Some(body.as_slice()), &format!("{actor}#main-key"), &key, SystemTime::now())?;
        requests.push((parts.headers, bytes::Bytes::from(body)));
    }
    eprintln!("signed {n} requests in {:?} (before the clock starts)", sign_started.elapsed());
    let client = reqwest::Client::builder().pool_max_idle_per_host(conc).build()?;
    let url = target.to_string();
    let started_ns = now_ns();
    let started = Instant::now();
    let codes: Vec<String> = futures_util::stream::iter(requests)
        .map(|(headers, body)| {
            let client = client.clone();
            let url = url.clone();
            async move {
                match client.post(&url).headers(headers).body(body).send().await {
                    Ok(r) => r.status().as_u16().to_string(),
                    Err(e) => format!("error: {e}"),
                }
            }
        })
        .buffer_unordered(conc)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let mut histogram: BTreeMap<String, u64> = BTreeMap::new();
    for c in codes {
        *histogram.entry(c).or_default() += 1;
    }
    println!(
        "{}",
        json!({"n": n, "started_ns": started_ns, "elapsed_s": elapsed.as_secs_f64(),
               "per_s": n as f64 / elapsed.as_secs_f64(), "codes": histogram})
    );
    Ok(())
}

