//! Operations routes: `GET /checkpoint` (the newest log-signed checkpoint), `GET /healthz`,
//! `GET /metrics` (Prometheus text format), and the metrics they report.
//!
//! Guarantees: these routes are public and reveal nothing but sizes and counts; `/checkpoint`
//! always serves a checkpoint signed after the last acknowledged append.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::ServeState;

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    /// Records appended (acknowledged).
    pub(crate) appended: AtomicU64,
}

/// `GET /checkpoint`: the newest log-signed checkpoint, `text/plain`, never cached for long
/// (it changes with every group).
pub(crate) async fn checkpoint(State(state): State<Arc<ServeState>>) -> Response {
    let mut response =
        (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], state.checkpoint().to_string())
            .into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// `GET /healthz`: 200 `ok` while the server accepts requests.
pub(crate) async fn healthz() -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "ok\n").into_response()
}

/// `GET /metrics`: Prometheus text format.
pub(crate) async fn metrics(State(state): State<Arc<ServeState>>) -> Response {
    let appended = state.metrics.appended.load(Ordering::Relaxed);
    let text = format!(
        "# HELP lianlog_appends_total Records appended and acknowledged.\n\
         # TYPE lianlog_appends_total counter\n\
         lianlog_appends_total {appended}\n"
    );
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}
