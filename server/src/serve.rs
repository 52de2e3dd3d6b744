//! `lianlog serve`: one ledger held open by one long-running process, for the whole commission.
//!
//! Guarantees:
//! - **One writer.** The served [`Ledger`] sits in [`ServeState::ledger`] behind an `RwLock`:
//!   readers take `read()`; only the sequencer (`sequencer.rs`) takes `write()`, to commit a group.
//! - **The library decides.** Every handler hands what it received to a library function
//!   (`Ledger::stage_submissions`, tiles, queries, proofs) and writes the answer back; no rule of
//!   the ledger is here. A refusal is an RFC 9457 problem ([`problem::Problem`]) whose code is the
//!   library's error kind, and a refused request writes nothing.
//! - **Durable before the answer.** An append is answered only after the `sync_data` that covers
//!   it, with a receipt against a log-signed checkpoint that covers it.
//! - **Bounded.** Body size, header size, request time and requests in flight are limited
//!   ([`ServeLimits`]); nothing a client sends makes the server panic, hang or grow without bound.

mod append;
pub(crate) mod auth;
mod connections;
mod limits;
pub(crate) mod ops;
pub(crate) mod problem;
pub(crate) mod reads;
mod sequencer;
mod submissions;
pub(crate) mod tiles;
mod tls;
mod witnessing;

pub use witnessing::WitnessOptions;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use lianlog_ledger::{Error, ErrorKind, Ledger, Result, SecretKey};

use crate::Reporter;
use problem::{Code, Problem};

/// The default address of `lianlog serve`: loopback only, port 7878.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7878";

/// How `lianlog serve` runs: where it listens and what it allows.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The address to listen on (`127.0.0.1:0` picks a free port).
    pub listen: String,
    /// Serve entry bundles (`/tile/entries/…`) without authentication: entries reveal kinds,
    /// authors and times, never bodies.
    pub public_entries: bool,
    /// TLS certificate chain and private key (PEM files); plain HTTP when absent.
    pub tls: Option<TlsFiles>,
    /// Where authenticated reads of personal data are logged (查询留痕); by default `access.log`
    /// beside the ledger directory's files.
    pub access_log: Option<PathBuf>,
    /// The limits on what a client may send.
    pub limits: ServeLimits,
    /// The witnesses to send checkpoints to, and the quorum `GET /checkpoint` waits for; none:
    /// `/checkpoint` is the newest log-signed checkpoint.
    pub witnesses: Option<WitnessOptions>,
    /// How long a web session opened by `lianlog login` lasts, in hours.
    pub session_hours: u64,
}

impl Default for ServeOptions {
    fn default() -> ServeOptions {
        ServeOptions {
            listen: DEFAULT_LISTEN.to_string(),
            public_entries: false,
            tls: None,
            access_log: None,
            limits: ServeLimits::default(),
            witnesses: None,
            session_hours: crate::web::store::DEFAULT_SESSION_HOURS,
        }
    }
}

/// The TLS files of a server (PEM).
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The private key of the leaf certificate.
    pub key: PathBuf,
}

/// The limits on what a client may send; each refusal is a problem and writes nothing.
#[derive(Debug, Clone)]
pub struct ServeLimits {
    /// The largest request body (413 above it).
    pub max_body_bytes: usize,
    /// The largest request head, request line and headers together (the connection is refused
    /// above it).
    pub max_header_bytes: usize,
    /// How long a client may take to send a request's head and body (408, or the connection
    /// closed, after it).
    pub request_timeout: Duration,
    /// Requests handled at once; more are refused with 503 and `Retry-After`.
    pub max_in_flight: usize,
    /// Connections open at once; more are closed as soon as they are accepted.
    pub max_connections: usize,
    /// How long a connection may stay open with no byte moving either way before it is shut
    /// down gracefully (keep-alive connections between requests, idle HTTP/2 connections).
    pub idle_timeout: Duration,
}

impl Default for ServeLimits {
    fn default() -> ServeLimits {
        ServeLimits {
            max_body_bytes: 4 << 20,
            max_header_bytes: 16 << 10,
            request_timeout: Duration::from_secs(10),
            max_in_flight: 64,
            max_connections: 1024,
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// What every handler shares: the ledger, the options, the metrics, the access log.
pub(crate) struct ServeState {
    /// The served ledger. Readers take `read()`; only the sequencer takes `write()`.
    pub(crate) ledger: RwLock<Ledger>,
    /// How the server runs.
    pub(crate) options: ServeOptions,
    /// Counters and histograms for `/metrics`.
    pub(crate) metrics: ops::Metrics,
    /// The access log of authenticated reads (查询留痕).
    pub(crate) access_log: auth::AccessLog,
    /// The newest log-signed checkpoint (C2SP signed note), as served at `/checkpoint`.
    pub(crate) checkpoint: RwLock<Arc<str>>,
    /// The log key, which signs checkpoints only.
    pub(crate) log_key: SecretKey,
    /// Where the server reports what it does (one line each).
    pub(crate) report: Reporter,
    /// Permits for requests in flight ([`ServeLimits::max_in_flight`]).
    pub(crate) in_flight: Arc<tokio::sync::Semaphore>,
    /// The one writer: appends go through it (started by [`serve_ledger`]).
    sequencer: sequencer::Sequencer,
    /// Witnessing, with `--witness` (started by [`serve_ledger`]).
    pub(crate) witnessing: Option<witnessing::Witnessing>,
    /// The web pages' sign-in challenges, one-time URLs and sessions (`web/session.rs`).
    pub(crate) sessions: crate::web::store::Sessions,
}

impl ServeState {
    /// The state of a server on `ledger`: signs a checkpoint of the ledger as it stands with
    /// `log_key` (refused if it is not the ledger's log key).
    pub(crate) fn new(
        ledger: Ledger,
        log_key: SecretKey,
        options: ServeOptions,
        report: Reporter,
    ) -> Result<ServeState> {
        let checkpoint = ledger.checkpoint(ledger.size(), &log_key)?;
        let access_log = options.access_log.clone().unwrap_or_else(|| ledger.dir().join("access.log"));
        let metrics = ops::Metrics::default();
        metrics.tree_size.store(ledger.size(), std::sync::atomic::Ordering::Relaxed);
        let in_flight = Arc::new(tokio::sync::Semaphore::new(options.limits.max_in_flight));
        let witnessing = match &options.witnesses {
            Some(witnesses) => Some(witnessing::Witnessing::new(witnesses.clone(), &ledger, log_key.public())?),
            None => None,
        };
        Ok(ServeState {
            ledger: RwLock::new(ledger),
            options,
            metrics,
            access_log: auth::AccessLog::new(access_log),
            checkpoint: RwLock::new(Arc::from(checkpoint)),
            log_key,
            report,
            in_flight,
            sequencer: sequencer::Sequencer::default(),
            witnessing,
            sessions: crate::web::store::Sessions::default(),
        })
    }

    /// Run `read` on the ledger under its read lock.
    pub(crate) fn read<T>(&self, read: impl FnOnce(&Ledger) -> Result<T>) -> Result<T> {
        let ledger = self.ledger.read().map_err(|_| poisoned())?;
        read(&ledger)
    }

    /// What `GET /checkpoint` serves: with witnesses, the newest checkpoint that reached their
    /// quorum (before any did, the newest log-signed one with the cosignatures it has); without,
    /// the newest log-signed checkpoint.
    pub(crate) fn served_checkpoint(&self) -> Arc<str> {
        match &self.witnessing {
            Some(witnessing) => witnessing.served(self.checkpoint()),
            None => self.checkpoint(),
        }
    }

    /// The newest log-signed checkpoint.
    pub(crate) fn checkpoint(&self) -> Arc<str> {
        match self.checkpoint.read() {
            Ok(checkpoint) => checkpoint.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

/// The error of a lock whose holder panicked: the server cannot trust its memory any more.
pub(crate) fn poisoned() -> Error {
    Error::new(ErrorKind::Io, "the server's ledger handle failed in another request; restart `lianlog serve`")
}

/// Run `work` on the blocking pool (ledger reads and writes block on disk) and turn its error
/// into a problem.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Problem> + Send + 'static,
) -> Result<T, Problem> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|err| Err(Problem::new(Code::Io, format!("the request's work stopped: {err}"))))
}

/// Every route of `lianlog serve`: tiles, authenticated reads, the append route, operations and
/// `pages` (the web pages, `web::routes`, given by `lib.rs` so that this file does not depend on
/// the pages that depend on it).
///
/// Every request goes through the limits middleware (`limits.rs`) first: requests in flight, body
/// size and body time; handlers receive the body whole (axum's own body limit is set to the same
/// bound, so `Bytes` extractors agree with it).
pub(crate) fn router(state: Arc<ServeState>, pages: Router<Arc<ServeState>>) -> Router {
    let max_body = state.options.limits.max_body_bytes;
    Router::new()
        .merge(tiles::routes())
        .merge(reads::routes())
        .merge(pages)
        .route("/lianlog/v1/append", post(append::append))
        .route("/checkpoint", get(ops::checkpoint))
        .route("/lianlog/v1/checkpoint/latest", get(ops::latest_checkpoint))
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), limits::limit))
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
        .with_state(state)
}

async fn not_found(uri: Uri) -> Response {
    Problem::not_found(uri.path()).into_response()
}

/// Where a server listens, once it is bound.
#[derive(Debug, Clone)]
pub struct Bound {
    /// The address actually bound (the port chosen for port 0).
    pub address: SocketAddr,
    /// The URL clients use (`http://ADDR` or `https://ADDR`), as written in the ledger's served
    /// note.
    pub url: String,
}

/// Serve `ledger` as `options` say, with the routes of `pages` too, until SIGTERM or SIGINT;
/// `bound` is called with the address actually bound before the first request is accepted.
/// (`lianlog_server::serve_ledger` gives the web pages.)
pub(crate) fn serve_ledger_with(
    ledger: Ledger,
    log_key: SecretKey,
    options: ServeOptions,
    report: Reporter,
    pages: Router<Arc<ServeState>>,
    bound: impl FnOnce(Bound),
) -> Result<()> {
    let listen = options.listen.clone();
    // Checked before anything else, so that a misconfigured server fails at start.
    let tls = options.tls.as_ref().map(tls::Tls::load).transpose()?;
    let state = Arc::new(ServeState::new(ledger, log_key, options, report.clone())?);
    sequencer::Sequencer::start(&state);
    witnessing::Witnessing::start(&state);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| Error::new(ErrorKind::Io, format!("cannot start the server's runtime: {err}")))?;
    runtime.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(&listen).await.map_err(|err| Error::io("listen on", &listen, err))?;
        let address = listener.local_addr().map_err(|err| Error::io("listen on", &listen, err))?;
        let scheme = if state.options.tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{address}");
        // A local command that finds the ledger locked names this URL.
        state.read(|ledger| ledger.announce_served(&url))?;
        bound(Bound { address, url });
        let limits = state.options.limits.clone();
        let app = router(state.clone(), pages);
        let shutdown = crate::shutdown_signal(report);
        match tls {
            Some(tls) => connections::serve_connections(listener, app, &limits, tls, shutdown).await,
            None => connections::serve_connections(listener, app, &limits, connections::Plain, shutdown).await,
        }
        // Every request was answered (or its client left): let the sequencer finish the groups
        // it holds; each was synced before it was answered.
        state.sequencer.finish();
        if let Some(witnessing) = &state.witnessing {
            witnessing.finish();
        }
        state.read(Ledger::withdraw_served)
    })
}
