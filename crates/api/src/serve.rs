//! Serving a router on a listener, with the limits a public server needs.
//!
//! Every role's listeners (API, streaming, the worker's `/health`, the
//! metrics listener) go through [`serve`]: HTTP/1.1 connections driven by
//! hyper, one task each, with
//!
//! - a cap on the connections served at once ([`ServeOptions::max_connections`]):
//!   a slot is taken *before* `accept`, so past the cap new connections wait
//!   in the kernel's listen backlog (which the kernel bounds) and are served
//!   as soon as one closes, instead of being refused: a burst of honest
//!   clients is delayed, not failed, while the timeouts below free the slots
//!   that slow or idle clients hold;
//! - a header-read timeout: the request line and headers must arrive within
//!   it, counted from the connection's start for its first request and from
//!   the first byte of each later one (bytes trickled one at a time do not
//!   extend it);
//! - an idle keep-alive timeout: a connection with no request in flight and
//!   no new request begun is closed after it;
//! - a body-read timeout: the longest pause between request body bytes while
//!   the handler waits for them. A stalled request is answered 408 (with
//!   `Connection: close`) if its response has not started; otherwise the
//!   body's error ends the response and hyper drops the connection;
//! - at most [`MAX_HEADER_BYTES`] of request line and headers (hyper answers
//!   431 and closes beyond it).
//!
//! hyper's own `header_read_timeout` is not used: its clock also runs while
//! a kept-alive connection waits for the next request, which would make the
//! keep-alive timeout the smaller of the two. A small watchdog per connection
//! enforces both instead, from what the connection's reads and its requests
//! report. The timeouts are not enforced while a request is in flight (a
//! slow handler or a long response, such as a stream, is not idle). An
//! upgraded connection (a WebSocket) leaves the watchdog behind with hyper
//! but keeps its slot until the socket closes.
//!
//! Shutdown: when `shutdown` resolves the listener is dropped (no new
//! connections), every connection is told to finish its request in flight
//! and close, and `serve` returns once all are gone. Trailing slashes are
//! ignored (`/api/v1/instance/`), and each request carries the peer's
//! address as axum's `ConnectInfo<SocketAddr>`.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use ferrodon_config::HttpConfig;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tower::{Layer, ServiceExt};

use crate::error::error_response;

/// The most bytes of request line and headers read (nginx refuses header
/// lines over 8 KB by default; this leaves room for long query strings).
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Limits of one listener.
#[derive(Debug, Clone, Copy)]
pub struct ServeOptions {
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub keepalive_timeout: Duration,
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
}

impl ServeOptions {
    /// The settings of `http.*`.
    pub fn from_config(http: &HttpConfig) -> ServeOptions {
        ServeOptions {
            header_read_timeout: Duration::from_secs(http.header_read_timeout_s),
            body_read_timeout: Duration::from_secs(http.body_read_timeout_s),
            keepalive_timeout: Duration::from_secs(http.keepalive_timeout_s),
            max_connections: http.max_connections.max(1),
        }
    }
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions::from_config(&HttpConfig::default())
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then finishes
/// the requests in flight (see the module documentation for the limits).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let app = tower_http::normalize_path::NormalizePathLayer::trim_trailing_slash().layer(router);
    let slots = Arc::new(Semaphore::new(options.max_connections.max(1)));
    // Connections hold a receiver each; `closed()` resolves when all are gone.
    let (all_closed, alive) = watch::channel(());
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            biased;
            () = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    // Out of file descriptors and the like: wait, then retry.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            },
        };
        tokio::spawn(connection(
            stream,
            peer,
            slot,
            app.clone(),
            options,
            stop_rx.clone(),
            alive.clone(),
        ));
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(alive);
    all_closed.closed().await;
    Ok(())
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

type App = tower_http::normalize_path::NormalizePath<Router>;

/// Drives one connection until it ends, times out or the server stops.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    slot: OwnedSemaphorePermit,
    app: App,
    options: ServeOptions,
    mut stop: watch::Receiver<bool>,
    _alive: watch::Receiver<()>,
) {
    let _ = stream.set_nodelay(true);
    let state = Arc::new(ConnState::new());
    // The slot lives as long as the socket (also after an upgrade).
    let io = TokioIo::new(WatchedIo {
        inner: stream,
        state: state.clone(),
        _slot: slot,
    });
    let service = {
        let state = state.clone();
        hyper::service::service_fn(move |req: Request<Incoming>| {
            handle(
                req,
                app.clone(),
                state.clone(),
                peer,
                options.body_read_timeout,
            )
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.max_header_size(MAX_HEADER_BYTES);
    let conn = builder.serve_connection(io, service).with_upgrades();
    let mut conn = std::pin::pin!(conn);
    let mut watchdog = std::pin::pin!(watchdog(state, options));
    let mut stopping = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, client_ip = %peer.ip(), "connection ended with an error");
                }
                break;
            }
            () = &mut watchdog => {
                tracing::debug!(client_ip = %peer.ip(), "closing a connection: header or keep-alive timeout");
                break;
            }
            stopped = stop.wait_for(|stop| *stop), if !stopping => {
                drop(stopped);
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// One request: its body watched for stalls, the peer's address attached,
/// and the connection marked busy until the response body is done.
async fn handle(
    req: Request<Incoming>,
    app: App,
    state: Arc<ConnState>,
    peer: SocketAddr,
    body_timeout: Duration,
) -> Result<Response, Infallible> {
    let busy = Busy::begin(state);
    let stall = Arc::new(Stall::default());
    let mut req = req.map(|body| Body::new(WatchedBody::new(body, body_timeout, stall.clone())));
    req.extensions_mut().insert(ConnectInfo(peer));
    let response = tokio::select! {
        biased;
        () = stall.notify.notified() => None,
        response = app.oneshot(req) => match response {
            Ok(response) => Some(response),
            Err(never) => match never {},
        },
    };
    let response = match response {
        Some(response) if !stall.fired.load(Ordering::SeqCst) => response,
        _ => {
            tracing::info!(client_ip = %peer.ip(), "request body stalled: 408");
            let mut res = error_response(
                StatusCode::REQUEST_TIMEOUT,
                json!({"error": "Request Timeout"}),
            );
            res.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            res
        }
    };
    Ok(response.map(|body| {
        Body::new(BusyBody {
            inner: body,
            _busy: busy,
        })
    }))
}

const NONE: u64 = u64::MAX;

/// What a connection's reads and requests report to its watchdog.
struct ConnState {
    started: Instant,
    /// Requests whose response body is not done yet.
    in_flight: AtomicUsize,
    /// When (ms since `started`) the last request finished.
    idle_since: AtomicU64,
    /// When the first byte after that arrived ([`NONE`] if none has).
    first_byte: AtomicU64,
    changed: Notify,
}

impl ConnState {
    fn new() -> ConnState {
        ConnState {
            started: Instant::now(),
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(0),
            // The first request's headers are timed from the connection's start.
            first_byte: AtomicU64::new(0),
            changed: Notify::new(),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(NONE - 1)
    }

    fn read_some(&self) {
        if self.first_byte.load(Ordering::SeqCst) == NONE
            && self
                .first_byte
                .compare_exchange(NONE, self.now_ms(), Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        {
            self.changed.notify_one();
        }
    }

    /// When the connection must be closed, in ms since `started`; `None`
    /// while a request is in flight.
    fn deadline(&self, options: &ServeOptions) -> Option<u64> {
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            return None;
        }
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(NONE / 2);
        let first_byte = self.first_byte.load(Ordering::SeqCst);
        Some(if first_byte == NONE {
            self.idle_since
                .load(Ordering::SeqCst)
                .saturating_add(ms(options.keepalive_timeout))
        } else {
            first_byte.saturating_add(ms(options.header_read_timeout))
        })
    }
}

/// Resolves when the connection has been idle, or reading headers, too long.
async fn watchdog(state: Arc<ConnState>, options: ServeOptions) {
    loop {
        let notified = state.changed.notified();
        let mut notified = std::pin::pin!(notified);
        notified.as_mut().enable();
        match state.deadline(&options) {
            None => notified.await,
            Some(at) => {
                let now = state.now_ms();
                if now >= at {
                    return;
                }
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(at - now)) => {}
                    () = notified => {}
                }
            }
        }
    }
}

/// Marks a request in flight until dropped.
struct Busy(Arc<ConnState>);

impl Busy {
    fn begin(state: Arc<ConnState>) -> Busy {
        state.in_flight.fetch_add(1, Ordering::SeqCst);
        state.changed.notify_one();
        Busy(state)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let state = &self.0;
        if state.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            state.idle_since.store(state.now_ms(), Ordering::SeqCst);
            state.first_byte.store(NONE, Ordering::SeqCst);
        }
        state.changed.notify_one();
    }
}

/// The socket, reporting reads to the connection's state.
struct WatchedIo {
    inner: TcpStream,
    state: Arc<ConnState>,
    _slot: OwnedSemaphorePermit,
}

impl AsyncRead for WatchedIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.state.read_some();
        }
        result
    }
}

impl AsyncWrite for WatchedIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Set when a request body stalled.
#[derive(Default)]
struct Stall {
    fired: AtomicBool,
    notify: Notify,
}

/// The body of a request stalled longer than this between bytes.
#[derive(Debug, thiserror::Error)]
#[error("request body timed out")]
struct BodyStalled;

/// A request body that fails when the client pauses longer than the
/// body-read timeout while it is being read.
struct WatchedBody {
    inner: Incoming,
    timeout: Duration,
    /// Armed while the reader waits for bytes.
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    armed: bool,
    stall: Arc<Stall>,
}

impl WatchedBody {
    fn new(inner: Incoming, timeout: Duration, stall: Arc<Stall>) -> WatchedBody {
        WatchedBody {
            inner,
            timeout,
            sleep: None,
            armed: false,
            stall,
        }
    }
}

impl HttpBody for WatchedBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.stall.fired.load(Ordering::SeqCst) {
            return Poll::Ready(Some(Err(Box::new(BodyStalled))));
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.armed = false;
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => {
                let deadline = tokio::time::Instant::now() + this.timeout;
                let sleep = this
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                if !this.armed {
                    sleep.as_mut().reset(deadline);
                    this.armed = true;
                }
                if sleep.as_mut().poll(cx).is_ready() {
                    this.stall.fired.store(true, Ordering::SeqCst);
                    this.stall.notify.notify_one();
                    return Poll::Ready(Some(Err(Box::new(BodyStalled))));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that keeps its connection marked busy until it is done.
struct BusyBody {
    inner: Body,
    _busy: Busy,
}

impl HttpBody for BusyBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> ServeOptions {
        ServeOptions {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            keepalive_timeout: Duration::from_secs(20),
            max_connections: 1,
        }
    }

    #[test]
    fn deadlines_follow_the_connection() {
        let state = Arc::new(ConnState::new());
        let o = options();
        // A new connection: headers within the header timeout of its start.
        assert_eq!(state.deadline(&o), Some(10_000));
        state.read_some();
        assert_eq!(state.deadline(&o), Some(10_000), "bytes do not extend it");
        let busy = Busy::begin(state.clone());
        assert_eq!(state.deadline(&o), None, "nothing is timed in flight");
        drop(busy);
        let idle = state.idle_since.load(Ordering::SeqCst);
        assert_eq!(state.deadline(&o), Some(idle + 20_000), "keep-alive");
        state.read_some();
        let first = state.first_byte.load(Ordering::SeqCst);
        assert_ne!(first, NONE);
        assert_eq!(state.deadline(&o), Some(first + 10_000), "next headers");
    }
}
