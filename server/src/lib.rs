//! lianlog-server: lianlog's HTTP services: `lianlog serve` ([`serve_ledger`], module `serve`:
//! one ledger for a whole commission) and the witness (见证方) of C2SP [tlog-witness].
//!
//! [tlog-witness]: https://c2sp.org/tlog-witness
//!
//! # Guarantees (the witness; `serve` states its own)
//!
//! - **The library decides, this crate carries.** `POST /add-checkpoint` hands the body to
//!   [`Witness::add_checkpoint`] and writes its [`Answer`] back as it is: status code,
//!   `Content-Type` (`text/x.tlog.size` on 409) and body byte for byte. No rule of the witness
//!   is here.
//! - **Bounded.** A body over [`MAX_WITNESS_REQUEST_BYTES`] is refused (413) before it is read whole; the
//!   state work runs on the blocking pool, one request at a time per state directory (its lock).
//! - **Durable before the answer.** The answer is sent only after the library returned, which is
//!   after the new state was fsync'd; a failure of the witness's own state is a 500 and no
//!   cosignature.
//! - **Graceful shutdown.** On SIGTERM or SIGINT the server stops accepting, lets requests in
//!   flight finish, and returns.
//!
//! `lianlog serve` also serves web pages (module `web`: overview, records, integrity files, cases,
//! statistics, the check page, and the password-less sign-in of `lianlog login`).
//!
//! Also served: `GET /<sha256(origin) in hex>/checkpoint`, tlog-witness's monitoring endpoint (the
//! last cosigned checkpoint of that log, with the log's signatures and this witness's; 404 if
//! none).

// Until the parts of `serve` (tiles, reads, auth, serve) are all merged, one part's helpers may
// be used only by another part: remove this once they are (then `cargo clippy` shows dead code).
mod serve;
mod web;

pub use serve::{Bound, DEFAULT_LISTEN, ServeLimits, ServeOptions, TlsFiles, WitnessOptions};
pub use web::store::DEFAULT_SESSION_HOURS;

/// Serve `ledger` (`lianlog serve`) as `options` say until SIGTERM or SIGINT, with its web pages;
/// `bound` is called with the address actually bound before the first request is accepted.
pub fn serve_ledger(
    ledger: lianlog_ledger::Ledger,
    log_key: SecretKey,
    options: ServeOptions,
    report: Reporter,
    bound: impl FnOnce(Bound),
) -> Result<()> {
    serve::serve_ledger_with(ledger, log_key, options, report, web::routes(), bound)
}

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use lianlog_ledger::limits::MAX_WITNESS_REQUEST_BYTES;
use lianlog_ledger::witness::{Answer, TEXT_CONTENT_TYPE, Witness};
use lianlog_ledger::{Error, ErrorKind, Result, SecretKey};

/// What the server reports as it goes (one line each); the caller decides where it goes.
pub type Reporter = Arc<dyn Fn(String) + Send + Sync>;

/// A witness and the keys it cosigns with (type 0x04, [`SecretKey::as_cosigner`]).
#[derive(Clone)]
pub struct WitnessService {
    witness: Witness,
    cosigners: Arc<Vec<SecretKey>>,
    report: Reporter,
}

impl WitnessService {
    /// Refuses keys the witness cannot cosign with (none, not type 0x04, one given twice), so that
    /// a misconfigured server fails at start, not on every request.
    pub fn new(witness: Witness, cosigners: Vec<SecretKey>, report: Reporter) -> Result<WitnessService> {
        lianlog_ledger::witness::check_cosigners(&cosigners)?;
        Ok(WitnessService { witness, cosigners: Arc::new(cosigners), report })
    }
}

/// The witness's routes: `POST /add-checkpoint` and `GET /{origin hash}/checkpoint`.
pub fn witness_router(service: WitnessService) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .route("/{origin_hash}/checkpoint", get(latest_checkpoint))
        .layer(DefaultBodyLimit::max(MAX_WITNESS_REQUEST_BYTES))
        .with_state(service)
}

/// Listen on `listen` (e.g. `127.0.0.1:8080`; port 0 picks a free one), call `bound` with the
/// address actually bound, and serve the witness until SIGTERM or SIGINT.
pub fn serve_witness(listen: &str, service: WitnessService, bound: impl FnOnce(SocketAddr)) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| Error::new(ErrorKind::Io, format!("cannot start the server's runtime: {err}")))?;
    runtime.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(listen).await.map_err(|err| Error::io("listen on", listen, err))?;
        let address = listener.local_addr().map_err(|err| Error::io("listen on", listen, err))?;
        bound(address);
        let report = service.report.clone();
        axum::serve(listener, witness_router(service))
            .with_graceful_shutdown(shutdown_signal(report))
            .await
            .map_err(|err| Error::io("serve on", address.to_string(), err))
    })
}

/// Resolves on the first SIGTERM or SIGINT.
pub(crate) async fn shutdown_signal(report: Reporter) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut terminate), Ok(mut interrupt)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
    else {
        report("cannot listen for SIGTERM/SIGINT; stop the server with SIGKILL (its state is safe)".into());
        return std::future::pending().await;
    };
    tokio::select! {
        _ = terminate.recv() => {},
        _ = interrupt.recv() => {},
    }
    report("shutting down: finishing the requests in flight".into());
}

async fn add_checkpoint(State(service): State<WitnessService>, body: Bytes) -> Response {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |elapsed| elapsed.as_secs());
    let report = service.report.clone();
    let answered =
        tokio::task::spawn_blocking(move || service.witness.add_checkpoint(&body, &service.cosigners, now)).await;
    match answered {
        Ok(Ok(answer)) => {
            report(describe(&answer));
            let status = StatusCode::from_u16(answer.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, [(header::CONTENT_TYPE, answer.content_type())], answer.body()).into_response()
        }
        Ok(Err(err)) => {
            report(format!("add-checkpoint failed, nothing cosigned: {err}"));
            internal_error()
        }
        Err(err) => {
            report(format!("add-checkpoint failed, nothing cosigned: {err}"));
            internal_error()
        }
    }
}

async fn latest_checkpoint(State(service): State<WitnessService>, UrlPath(origin_hash): UrlPath<String>) -> Response {
    let report = service.report.clone();
    let found = tokio::task::spawn_blocking(move || service.witness.latest_by_origin_hash(&origin_hash)).await;
    match found {
        Ok(Ok(Some(note))) => (StatusCode::OK, [(header::CONTENT_TYPE, TEXT_CONTENT_TYPE)], note).into_response(),
        Ok(Ok(None)) => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, TEXT_CONTENT_TYPE)],
            "no checkpoint cosigned for this log\n",
        )
            .into_response(),
        Ok(Err(err)) => {
            report(format!("checkpoint lookup failed: {err}"));
            internal_error()
        }
        Err(err) => {
            report(format!("checkpoint lookup failed: {err}"));
            internal_error()
        }
    }
}

/// A 500 that says nothing of the state (the reporter has the details).
fn internal_error() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, TEXT_CONTENT_TYPE)],
        "the witness could not read or write its state; nothing was cosigned\n",
    )
        .into_response()
}

/// One line for the operator: the status and what it was about.
fn describe(answer: &Answer) -> String {
    match answer {
        Answer::Cosigned { checkpoint, .. } => {
            format!("200 cosigned {} size {}", checkpoint.origin, checkpoint.size)
        }
        Answer::Conflict { size } => format!("409 old size is not {size}"),
        other => format!("{} {}", other.status(), other.body().trim_end()),
    }
}
