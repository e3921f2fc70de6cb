//! A third-party ActivityPub peer run as a child process, for the interop
//! tests (`tests/federation_interop.rs`): the bovine peer
//! (`tests/interop/bovine_peer.py`) or the Fedify peer
//! (`tests/interop/fedify/peer.mjs`).
//!
//! Both speak the same small protocol. On stdout, one JSON object a line:
//! first `{"event": "ready", "base", "actors": {NAME: URI}, "handles": {NAME:
//! HANDLE}, "library", "version"}`, then an `inbox` event for every POST to
//! one of its inboxes (with `type`, `id`, `actor`, `object`, `verified` — its
//! library's verdict on the signature — `signer`, `scheme`, `error` and the
//! whole `activity`), a `sent` event for every POST it made (`type`, `id`,
//! `inbox`, `status`), and for Fedify `handled` events (what its inbox
//! listeners were given). On its port, `POST /control/COMMAND` with a JSON
//! body makes it act (`follow`, `note`, `like`, `undo`). It exits when its
//! stdin closes, so a test that dies takes it along.

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::POLL_TIMEOUT;

/// How long a peer may take to start (Fedify makes 4096-bit RSA keys).
pub const PEER_START_TIMEOUT: Duration = Duration::from_secs(90);

/// A running peer process.
pub struct InteropPeer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// `bovine` or `@fedify/fedify`.
    pub library: String,
    pub version: String,
    ready: Value,
    events: Arc<Mutex<Vec<Value>>>,
    output: Arc<Mutex<Vec<String>>>,
    http: reqwest::Client,
    child: Option<Child>,
}

impl InteropPeer {
    /// Starts `program args…` in the project root with `envs` and waits for
    /// its `ready` line.
    pub async fn start(program: &str, args: &[&str], envs: &[(&str, &str)]) -> InteropPeer {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut child = Command::new(program)
            .current_dir(root)
            .args(args)
            .envs(envs.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        let events: Arc<Mutex<Vec<Value>>> = Arc::default();
        let output: Arc<Mutex<Vec<String>>> = Arc::default();
        let stdout = child.stdout.take().expect("the peer's stdout");
        let (ev, out) = (events.clone(), output.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    ev.lock().expect("events").push(v);
                }
                out.lock().expect("output").push(line);
            }
        });
        let mut stderr = child.stderr.take().expect("the peer's stderr");
        let out = output.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            let mut pending = String::new();
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                pending.push_str(&String::from_utf8_lossy(&buf[..n]));
                while let Some(i) = pending.find('\n') {
                    let line: String = pending.drain(..=i).collect();
                    out.lock()
                        .expect("output")
                        .push(format!("stderr: {}", line.trim_end()));
                }
            }
            if !pending.is_empty() {
                out.lock()
                    .expect("output")
                    .push(format!("stderr: {pending}"));
            }
        });
        let mut peer = InteropPeer {
            base: String::new(),
            library: String::new(),
            version: String::new(),
            ready: Value::Null,
            events,
            output,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("http client"),
            child: Some(child),
        };
        let deadline = Instant::now() + PEER_START_TIMEOUT;
        let ready = loop {
            if let Some(r) = peer.events().into_iter().find(|e| e["event"] == "ready") {
                break r;
            }
            let exited = peer
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            assert!(
                exited.is_none() && Instant::now() < deadline,
                "the peer `{program} {}` did not start ({}):\n{}",
                args.join(" "),
                exited.map_or("timed out".to_owned(), |s| format!("exited with {s}")),
                peer.transcript()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        peer.base = ready["base"].as_str().unwrap_or_default().to_owned();
        peer.library = ready["library"].as_str().unwrap_or_default().to_owned();
        peer.version = ready["version"].as_str().unwrap_or_default().to_owned();
        peer.ready = ready;
        peer
    }

    /// The URI of the actor `name`.
    pub fn actor(&self, name: &str) -> String {
        self.ready["actors"][name]
            .as_str()
            .unwrap_or_else(|| panic!("the peer has no actor {name}: {}", self.ready))
            .to_owned()
    }

    /// `name@127.0.0.1:PORT`.
    pub fn handle(&self, name: &str) -> String {
        self.ready["handles"][name]
            .as_str()
            .unwrap_or_else(|| panic!("the peer has no actor {name}: {}", self.ready))
            .to_owned()
    }

    /// Every event so far, oldest first.
    pub fn events(&self) -> Vec<Value> {
        self.events.lock().expect("events").clone()
    }

    /// Everything it printed (stdout and stderr), for failure messages.
    pub fn transcript(&self) -> String {
        self.output.lock().expect("output").join("\n")
    }

    /// Waits (up to [`POLL_TIMEOUT`]) for an event matching `pred`.
    pub async fn wait_event(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + POLL_TIMEOUT;
        loop {
            if let Some(e) = self.events().into_iter().find(|e| pred(e)) {
                return e;
            }
            assert!(
                Instant::now() < deadline,
                "timed out after {POLL_TIMEOUT:?} waiting for {what}; the {} peer printed:\n{}",
                self.library,
                self.transcript()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits for a POST of an activity of `kind` to one of its inboxes
    /// matching `pred`.
    pub async fn wait_inbox(&self, kind: &str, pred: impl Fn(&Value) -> bool) -> Value {
        self.wait_event(&format!("a {kind} in the peer's inbox"), |e| {
            e["event"] == "inbox" && e["type"] == kind && pred(e)
        })
        .await
    }

    /// Runs a control command; returns its JSON answer (which must be 200).
    pub async fn command(&self, command: &str, args: Value) -> Value {
        let url = format!("{}/control/{command}", self.base);
        let resp = self
            .http
            .post(&url)
            .json(&args)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {url}: {e}\n{}", self.transcript()));
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        assert_eq!(
            status,
            200,
            "the {} peer's {command} {args} failed: {text}\n{}",
            self.library,
            self.transcript()
        );
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{command}: not JSON ({e}): {text}"))
    }
}

impl Drop for InteropPeer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "---- {} peer output ----\n{}",
                self.library,
                self.transcript()
            );
        }
    }
}

/// The id of an activity's `object` (a string, or an object's `id`).
pub fn object_id(v: &Value) -> Option<&str> {
    v.as_str().or_else(|| v.get("id").and_then(Value::as_str))
}
