//! The accept loop of `lianlog serve`: HTTP/1.1 and HTTP/2 (hyper's automatic builder) on each
//! accepted connection, with the connection-level limits, and graceful shutdown.
//!
//! Guarantees: a client has [`ServeLimits::request_timeout`] to send a request head (slowloris:
//! the connection is closed after it); a head larger than [`ServeLimits::max_header_bytes`] is
//! refused (431) before it is read whole; at most [`ServeLimits::max_connections`] connections are
//! open at once (more are closed on accept); HTTP/2 streams per connection are bounded. On
//! shutdown no new connection is accepted and the ones open finish the requests they carry
//! (bounded by [`SHUTDOWN_GRACE`]).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

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
        .max_concurrent_streams(MAX_STREAMS_PER_CONNECTION)
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(limits.request_timeout);
    let builder = Arc::new(builder);
    let graceful = GracefulShutdown::new();
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let request_timeout = limits.request_timeout;
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
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            // A TLS client too slow to finish its handshake is dropped like a slow request.
            let Ok(Ok(stream)) = tokio::time::timeout(request_timeout, handshake.handshake(stream)).await else {
                return;
            };
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            // A connection that ends badly (garbage, a reset) concerns that client only.
            let _ = watcher.watch(connection.into_owned()).await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await;
}
