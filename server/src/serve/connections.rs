//! The accept loop of `lianlog serve`: HTTP/1.1 and HTTP/2 (hyper's automatic builder) on each
//! accepted connection, with the connection-level limits, and graceful shutdown.
//!
//! Guarantees: a client has [`ServeLimits::request_timeout`] to send a request head (slowloris:
//! the connection is closed after it); a head larger than [`ServeLimits::max_header_bytes`] is
//! refused (431) before it is read whole; at most [`ServeLimits::max_connections`] connections are
//! open at once (more are closed on accept); HTTP/2 streams per connection are bounded; a
//! connection on which no byte moves for [`ServeLimits::idle_timeout`] is shut down gracefully
//! (HTTP/1.1 keep-alive and HTTP/2 alike), so idle sockets cannot hold every connection slot. On
//! shutdown no new connection is accepted and the ones open finish the requests they carry
//! (bounded by [`SHUTDOWN_GRACE`]).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;

use super::ServeLimits;

/// How long shutdown waits for the connections still open to finish their requests.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// hyper refuses a read buffer smaller than this (its minimum).
const MIN_HEAD_BUFFER: usize = 8192;

/// HTTP/2 streams one connection may have open at once.
const MAX_STREAMS_PER_CONNECTION: u32 = 64;

/// Turns an accepted TCP stream into the stream HTTP is spoken on (TLS or not).
pub(crate) trait Handshake: Clone + Send + Sync + 'static {
    /// The stream HTTP runs over.
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    /// Finish the handshake (none for plain TCP).
    fn handshake(&self, stream: tokio::net::TcpStream) -> impl Future<Output = std::io::Result<Self::Stream>> + Send;
}

/// Plain HTTP: the TCP stream itself.
#[derive(Clone)]
pub(crate) struct Plain;

impl Handshake for Plain {
    type Stream = tokio::net::TcpStream;
    async fn handshake(&self, stream: tokio::net::TcpStream) -> std::io::Result<tokio::net::TcpStream> {
        Ok(stream)
    }
}

/// Accept connections on `listener` and serve `app` on each until `shutdown` resolves, then let
/// the open connections finish (at most [`SHUTDOWN_GRACE`]).
pub(crate) async fn serve_connections<H: Handshake>(
    listener: TcpListener,
    app: Router,
    limits: &ServeLimits,
    handshake: H,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.request_timeout)
        .max_buf_size(limits.max_header_bytes.max(MIN_HEAD_BUFFER));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
        .max_concurrent_streams(MAX_STREAMS_PER_CONNECTION);
    // No HTTP/2 keep-alive pings: a peer's answers to them would count as activity and keep an
    // idle connection open for ever; the idle timer below closes dead and idle peers alike.
    let builder = Arc::new(builder);
    // `true` once the server stops: every connection then shuts down gracefully.
    let (stopping, stop_seen) = watch::channel(false);
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let request_timeout = limits.request_timeout;
    let idle_timeout = limits.idle_timeout;
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                // Out of file descriptors or a connection reset before it was accepted: wait a
                // moment rather than spin, and go on.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Over the limit of open connections: closed at once (the client may retry).
        let Ok(permit) = open.clone().try_acquire_owned() else { continue };
        let _ = stream.set_nodelay(true);
        let builder = builder.clone();
        let handshake = handshake.clone();
        let service = TowerToHyperService::new(app.clone());
        let mut stop_seen = stop_seen.clone();
        tokio::spawn(async move {
            // A TLS client too slow to finish its handshake is dropped like a slow request.
            let Ok(Ok(stream)) = tokio::time::timeout(request_timeout, handshake.handshake(stream)).await else {
                return;
            };
            let activity = Arc::new(Activity::new());
            let stream = Watched { inner: stream, activity: activity.clone() };
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            tokio::pin!(connection);
            // Once shutting down (server stop or idle), the connection has SHUTDOWN_GRACE to
            // finish what it carries; a peer that stops reading cannot hold its slot past that.
            let mut hard_deadline: Option<Instant> = None;
            loop {
                let idle_deadline = activity.last() + idle_timeout;
                tokio::select! {
                    // A connection that ends badly (garbage, a reset) concerns that client only.
                    _ = connection.as_mut() => break,
                    changed = stop_seen.changed(), if hard_deadline.is_none() => {
                        let _ = changed;
                        hard_deadline = Some(Instant::now() + SHUTDOWN_GRACE);
                        connection.as_mut().graceful_shutdown();
                    }
                    () = tokio::time::sleep_until(idle_deadline), if hard_deadline.is_none() => {
                        // Bytes may have moved since the deadline was computed: look again.
                        if activity.last() + idle_timeout <= Instant::now() {
                            hard_deadline = Some(Instant::now() + SHUTDOWN_GRACE);
                            connection.as_mut().graceful_shutdown();
                        }
                    }
                    () = tokio::time::sleep_until(hard_deadline.unwrap_or_else(Instant::now)), if hard_deadline.is_some() => break,
                }
            }
            drop(permit);
        });
    }
    drop(listener);
    let _ = stopping.send(true);
    // Every connection holds a permit until it ends: all permits back means all connections done.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, open.acquire_many(all)).await;
}

/// When bytes last moved on one connection.
struct Activity {
    start: Instant,
    /// Milliseconds from `start` to the last read or write that moved bytes.
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Activity {
        Activity { start: Instant::now(), last_ms: AtomicU64::new(0) }
    }

    fn touch(&self) {
        let elapsed = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.fetch_max(elapsed, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.start + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }
}

/// A stream that records when bytes last moved on it (in either direction).
struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buffers: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, buffers);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
