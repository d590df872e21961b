//! The server's connections: HTTP/1.1 over TCP with hyper, each request carrying
//! its peer address (`ConnectInfo<SocketAddr>`, read by `crate::client`), and
//! bounded so that a hostile client cannot hold the server:
//!
//! - a request's head must arrive within the header timeout, counted from the
//!   connection's opening or from the first byte after the previous answer, so
//!   headers trickled a byte at a time do not keep a connection open;
//! - a kept-alive connection waits at most the idle timeout for its next request;
//! - at most `max_connections` are open. At the cap the connection that has waited
//!   longest for a request (idle, or still trickling its head) is closed to make
//!   room, so a thousand slow connections cannot keep `/healthz` out; when every
//!   connection has a request running, new ones wait in the listen queue.
//!
//! A stop closes the listener and lets running requests finish (graceful shutdown);
//! [`serve`] returns when every connection has ended.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tower::ServiceExt as _;

use crate::config::ConnectionLimits;

/// No time recorded (an atomic millisecond field that is unset).
const UNSET: u64 = u64::MAX;

/// What the watchdog of one connection knows about it, in milliseconds since the
/// server started.
struct Watch {
    /// Requests whose answer is not yet complete.
    in_flight: AtomicUsize,
    /// When the server began waiting for the head of a request that has started
    /// to arrive (or since the connection opened); `UNSET` when idle.
    head_since: AtomicU64,
    /// When the connection last answered or wrote; idle time counts from here.
    last_active: AtomicU64,
    /// Told when `head_since` is set, so the watchdog shortens its sleep.
    head_started: Notify,
    /// Told when the server closes the connection to make room.
    evict: Notify,
}

impl Watch {
    fn new(now: u64) -> Self {
        Self {
            in_flight: AtomicUsize::new(0),
            head_since: AtomicU64::new(now),
            last_active: AtomicU64::new(now),
            head_started: Notify::new(),
            evict: Notify::new(),
        }
    }

    /// Since when the connection has waited for a request, when none is running.
    fn waiting_since(&self) -> Option<u64> {
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            return None;
        }
        match self.head_since.load(Ordering::SeqCst) {
            UNSET => Some(self.last_active.load(Ordering::SeqCst)),
            since => Some(since),
        }
    }

    /// When the connection is to be closed if nothing changes, and whether that
    /// moment has come at `now`.
    fn deadline(&self, limits: &ConnectionLimits, now: u64) -> (u64, bool) {
        let header = limits.header_timeout.as_millis() as u64;
        let idle = limits.idle_timeout.as_millis() as u64;
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            // A running request is the handler's to bound; look again later.
            return (now + header.min(idle), false);
        }
        let deadline = match self.head_since.load(Ordering::SeqCst) {
            UNSET => self.last_active.load(Ordering::SeqCst) + idle,
            since => since + header,
        };
        (deadline, now >= deadline)
    }
}

/// The open connections, for the cap.
struct Registry {
    started: Instant,
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Watch>>>,
    /// Told each time a connection ends.
    closed: Notify,
}

impl Registry {
    fn now(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    fn open_count(&self) -> usize {
        self.open.lock().map_or(0, |open| open.len())
    }

    fn add(&self, watch: Arc<Watch>) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut open) = self.open.lock() {
            open.insert(id, watch);
        }
        id
    }

    fn remove(&self, id: u64) {
        if let Ok(mut open) = self.open.lock() {
            open.remove(&id);
        }
        self.closed.notify_one();
    }

    /// Closes the connection that has waited longest for a request; false when
    /// every connection has one running.
    fn evict_longest_waiting(&self) -> bool {
        let Ok(open) = self.open.lock() else {
            return false;
        };
        let longest = open
            .values()
            .filter_map(|watch| watch.waiting_since().map(|since| (since, watch)))
            .min_by_key(|(since, _)| *since);
        match longest {
            Some((_, watch)) => {
                watch.evict.notify_one();
                true
            }
            None => false,
        }
    }
}

/// The socket, telling the watchdog when a request's head starts to arrive and
/// when the connection writes.
struct Watched {
    stream: TcpStream,
    watch: Arc<Watch>,
    registry: Arc<Registry>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before
            && self.watch.in_flight.load(Ordering::SeqCst) == 0
            && self
                .watch
                .head_since
                .compare_exchange(UNSET, self.registry.now(), Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        {
            self.watch.head_started.notify_one();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.watch
            .last_active
            .store(self.registry.now(), Ordering::SeqCst);
        Pin::new(&mut self.stream).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Counts a request as running from its head until its answer is handed over
/// (also when the connection drops it half way).
struct Running {
    watch: Arc<Watch>,
    registry: Arc<Registry>,
}

impl Running {
    fn start(watch: &Arc<Watch>, registry: &Arc<Registry>) -> Self {
        watch.in_flight.fetch_add(1, Ordering::SeqCst);
        watch.head_since.store(UNSET, Ordering::SeqCst);
        Self {
            watch: watch.clone(),
            registry: registry.clone(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.watch
            .last_active
            .store(self.registry.now(), Ordering::SeqCst);
        self.watch.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Resolves when `stop` says so; never when its sender is gone without saying so.
async fn stopped(mut stop: watch::Receiver<bool>) {
    if stop.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Serves `app` on `listener` within `limits` until `stop` turns true, then lets
/// running requests finish and returns when every connection has ended.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let registry = Arc::new(Registry {
        started: Instant::now(),
        next_id: AtomicU64::new(0),
        open: Mutex::new(HashMap::new()),
        closed: Notify::new(),
    });
    let mut stopping = std::pin::pin!(stopped(stop.clone()));
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut stopping => break,
        };
        make_room(&registry, limits.max_connections).await;
        let watch = Arc::new(Watch::new(registry.now()));
        let id = registry.add(watch.clone());
        let connection = Connection {
            id,
            app: app.clone(),
            peer,
            limits,
            watch,
            registry: registry.clone(),
        };
        let stop = stop.clone();
        tokio::spawn(connection.run(stream, stop));
    }
    drop(listener);
    while registry.open_count() > 0 {
        registry.closed.notified().await;
    }
    Ok(())
}

/// Waits until a new connection may be served: at the cap, closes the one that
/// has waited longest for a request, or, when all are busy, waits for one to end.
async fn make_room(registry: &Registry, max: usize) {
    while registry.open_count() >= max {
        let closed = registry.closed.notified();
        if !registry.evict_longest_waiting() {
            tracing::warn!(
                max,
                "connection cap reached with every connection busy; new connections wait"
            );
        }
        // Checked again whatever woke us: the count is what counts.
        let _ = tokio::time::timeout(Duration::from_secs(1), closed).await;
    }
}

/// One accepted connection and what it is served with.
struct Connection {
    id: u64,
    app: Router,
    peer: SocketAddr,
    limits: ConnectionLimits,
    watch: Arc<Watch>,
    registry: Arc<Registry>,
}

impl Connection {
    async fn run(self, stream: TcpStream, stop: watch::Receiver<bool>) {
        let Self {
            id,
            app,
            peer,
            limits,
            watch,
            registry,
        } = self;
        let io = TokioIo::new(Watched {
            stream,
            watch: watch.clone(),
            registry: registry.clone(),
        });
        let (service_watch, service_registry) = (watch.clone(), registry.clone());
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let running = Running::start(&service_watch, &service_registry);
            let mut request = request.map(Body::new);
            request.extensions_mut().insert(ConnectInfo(peer));
            let app = app.clone();
            async move {
                let response = app.oneshot(request).await;
                drop(running);
                Ok::<_, Infallible>(response.unwrap_or_else(|never| match never {}))
            }
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        // The header timeout is the watchdog's: hyper's own would also close a
        // kept-alive connection after it, which is the idle timeout's to decide.
        builder.header_read_timeout(None);
        let connection = builder.serve_connection(io, service);
        let mut connection = std::pin::pin!(connection);
        let mut stopping = std::pin::pin!(stopped(stop));
        let mut shutting_down = false;
        loop {
            let (deadline, due) = watch.deadline(&limits, registry.now());
            if due {
                tracing::debug!(%peer, "connection closed: no request within the timeout");
                break;
            }
            let wake = registry.started + Duration::from_millis(deadline);
            tokio::select! {
                served = connection.as_mut() => {
                    if let Err(error) = served {
                        tracing::debug!(%peer, %error, "connection ended with an error");
                    }
                    break;
                }
                () = &mut stopping, if !shutting_down => {
                    shutting_down = true;
                    connection.as_mut().graceful_shutdown();
                }
                () = watch.evict.notified() => {
                    tracing::debug!(%peer, "connection closed to make room at the cap");
                    break;
                }
                () = watch.head_started.notified() => {}
                () = tokio::time::sleep_until(wake) => {}
            }
        }
        registry.remove(id);
    }
}
