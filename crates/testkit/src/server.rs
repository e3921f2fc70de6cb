//! A real `ferrodon` process on an ephemeral port, for end-to-end tests.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use crate::{Lane, TestDatabase};

/// How to start a server.
pub struct ServerOptions {
    /// The `ferrodon` binary (`env!("CARGO_BIN_EXE_ferrodon")`).
    pub bin: PathBuf,
    pub lane: Lane,
    /// Extra environment, applied last.
    pub env: Vec<(String, String)>,
    /// Leave the API rate limits at their defaults (otherwise they are raised
    /// so that tests making many requests are not throttled).
    pub default_rate_limits: bool,
}

impl ServerOptions {
    pub fn new(bin: impl Into<PathBuf>, lane: Lane) -> Self {
        ServerOptions {
            bin: bin.into(),
            lane,
            env: Vec::new(),
            default_rate_limits: false,
        }
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }
}

/// A running `ferrodon serve` with its own database (and Redis namespace).
pub struct TestServer {
    /// `http://127.0.0.1:PORT`
    pub base_url: String,
    /// `127.0.0.1:PORT` (the instance's domain is `localhost:PORT`).
    pub authority: String,
    /// `http://127.0.0.1:PORT` of the metrics listener (`/metrics`, `/health`);
    /// `None` when the test turned it off (`FERRODON_METRICS_LISTEN=off`).
    pub metrics_url: Option<String>,
    /// Environment every process of this instance needs (database, Redis, data dir).
    pub instance_env: Vec<(String, String)>,
    pub bin: PathBuf,
    child: Option<Child>,
    logs: Arc<Mutex<Vec<String>>>,
    _data_dir: tempfile::TempDir,
    // Dropped last: the database outlives the process using it.
    pub db: TestDatabase,
}

impl TestServer {
    /// Starts `ferrodon serve` and waits until it listens.
    pub async fn spawn(options: ServerOptions) -> TestServer {
        let db = TestDatabase::create(options.lane).await;
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut instance_env: Vec<(String, String)> = vec![
            (
                "FERRODON_DATA_DIR".into(),
                data_dir.path().display().to_string(),
            ),
            ("DATABASE_URL".into(), db.url.clone()),
            ("DATABASE_DIRECT_URL".into(), db.direct_url.clone()),
            (
                "PREPARED_STATEMENTS".into(),
                db.prepared_statements.to_string(),
            ),
            (
                "SECRET_KEY_BASE".into(),
                format!(
                    "{:032x}{:032x}",
                    rand::random::<u128>(),
                    rand::random::<u128>()
                ),
            ),
        ];
        if options.lane == Lane::Redis {
            instance_env.push((
                "REDIS_URL".into(),
                crate::redis_url().expect("lane checked"),
            ));
            instance_env.push(("REDIS_NAMESPACE".into(), crate::unique_namespace()));
        }
        let mut env = instance_env.clone();
        env.push(("FERRODON_LISTEN".into(), "127.0.0.1:0".into()));
        env.push(("FERRODON_METRICS_LISTEN".into(), "127.0.0.1:0".into()));
        env.push(("FERRODON_LOG_FORMAT".into(), "json".into()));
        env.push(("FERRODON_WORKER_POLL_MS".into(), "100".into()));
        // Tests stay off the internet: statuses link to example.com and the
        // like, whose previews must not be fetched (tests serving pages on
        // 127.0.0.1 add ALLOWED_PRIVATE_ADDRESSES).
        env.push(("FERRODON_OUTBOUND_PUBLIC".into(), "false".into()));
        if !options.default_rate_limits {
            env.push(("FERRODON_RATE_LIMIT_API".into(), "0".into()));
            env.push(("FERRODON_RATE_LIMIT_SIGN_UP".into(), "0".into()));
            env.push(("FERRODON_RATE_LIMIT_LOGIN".into(), "0".into()));
        }
        env.extend(options.env.iter().cloned());
        // The test's own settings are the instance's too: CLI commands run
        // against it see them (e.g. the addresses federation may reach).
        instance_env.extend(options.env.iter().cloned());
        let (child, logs, addr) = start(&options.bin, &["serve"], &env);
        // The server took `localhost:PORT` as its domain (none was set):
        // CLI commands must use the same one, or the URLs they make (an
        // account's ActivityPub id, say) would name another server.
        if !instance_env
            .iter()
            .any(|(k, _)| k == "FERRODON_DOMAIN" || k == "LOCAL_DOMAIN")
            && let Some(port) = addr.rsplit(':').next()
        {
            instance_env.push(("FERRODON_DOMAIN".into(), format!("localhost:{port}")));
        }
        let authority = addr;
        let metrics_url = logs
            .lock()
            .ok()
            .and_then(|l| metrics_addr(&l))
            .map(|a| format!("http://{a}"));
        TestServer {
            base_url: format!("http://{authority}"),
            authority,
            metrics_url,
            instance_env,
            bin: options.bin,
            child: Some(child),
            logs,
            _data_dir: data_dir,
            db,
        }
    }

    /// Runs a `ferrodon` subcommand against this instance's database; returns
    /// (exit code, stdout, stderr).
    pub fn command(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(&self.bin)
            .args(args)
            .envs(
                self.instance_env
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            )
            .env("FERRODON_LOG_FORMAT", "text")
            .env("FERRODON_LOG", "warn")
            .output()
            .expect("run ferrodon");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// The process id of the running server (`None` once it was stopped).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The process's log lines so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Sends SIGTERM and waits up to `timeout` for the exit code.
    pub fn terminate(&mut self, timeout: Duration) -> Option<i32> {
        let child = self.child.as_mut()?;
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some(status.code().unwrap_or(-1));
            }
            if std::time::Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.clear_redis_namespace();
        if std::thread::panicking() {
            let logs = self.logs();
            let tail = logs.len().saturating_sub(60);
            eprintln!("---- ferrodon log ({}) ----", self.base_url);
            for line in &logs[tail..] {
                eprintln!("{line}");
            }
        }
    }
}

impl TestServer {
    /// Deletes the keys this instance wrote under its Redis namespace.
    fn clear_redis_namespace(&self) {
        let get = |key: &str| {
            self.instance_env
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        let (Some(url), Some(namespace)) = (get("REDIS_URL"), get("REDIS_NAMESPACE")) else {
            return;
        };
        let Ok(client) = redis::Client::open(url.as_str()) else {
            return;
        };
        let Ok(mut conn) = client.get_connection() else {
            return;
        };
        let keys: Vec<String> = match redis::cmd("KEYS")
            .arg(format!("{namespace}:*"))
            .query(&mut conn)
        {
            Ok(keys) => keys,
            Err(_) => return,
        };
        for chunk in keys.chunks(500) {
            let _ = redis::cmd("DEL").arg(chunk).query::<i64>(&mut conn);
        }
    }

    /// The metrics listener's URL (panics when the test turned it off).
    pub fn metrics(&self) -> &str {
        self.metrics_url
            .as_deref()
            .expect("the metrics listener is on")
    }
}

/// Starts `bin args` and waits for the "listening" log line; returns the
/// child, its log buffer and the bound address. Unless `env` sets
/// `FERRODON_METRICS_LISTEN`, the metrics listener takes an ephemeral port
/// (see [`metrics_addr`]), so that processes of parallel tests never
/// compete for the default one.
pub fn start(
    bin: &PathBuf,
    args: &[&str],
    env: &[(String, String)],
) -> (Child, Arc<Mutex<Vec<String>>>, String) {
    let metrics_default = (!env.iter().any(|(k, _)| k == "FERRODON_METRICS_LISTEN"))
        .then_some(("FERRODON_METRICS_LISTEN", "127.0.0.1:0"));
    let mut child = Command::new(bin)
        .args(args)
        .envs(metrics_default)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ferrodon");
    let logs = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = mpsc::channel::<String>();
    for stream in [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    {
        let logs = logs.clone();
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                // Kept before it is announced: `metrics_addr` reads it there.
                let addr = line
                    .contains("\"listening\"")
                    .then(|| field(&line, "addr"))
                    .flatten();
                if let Ok(mut l) = logs.lock() {
                    l.push(line);
                }
                if let Some(addr) = addr {
                    let _ = tx.send(addr);
                }
            }
        });
    }
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(addr) => (child, logs, addr),
        Err(_) => {
            let _ = child.kill();
            let lines = logs.lock().map(|l| l.join("\n")).unwrap_or_default();
            panic!("ferrodon {args:?} did not start listening:\n{lines}");
        }
    }
}

/// The metrics listener's address, from the "listening" line of a process's
/// logs (`None` when it runs without one).
pub fn metrics_addr(logs: &[String]) -> Option<String> {
    logs.iter()
        .filter(|l| l.contains("\"listening\""))
        .find_map(|l| field(l, "metrics_addr"))
        .filter(|a| a != "off")
}

/// The string value of `"key":"…"` in a JSON log line.
fn field(line: &str, key: &str) -> Option<String> {
    let marker = format!("\"{key}\":\"");
    let start = line.find(&marker)? + marker.len();
    let end = line[start..].find('"')?;
    Some(line[start..start + end].to_owned())
}
