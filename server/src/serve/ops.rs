//! Operations routes: `GET /checkpoint` (the newest log-signed checkpoint, or with witnesses the
//! newest witnessed one), `GET /lianlog/v1/checkpoint/latest`, `GET /healthz`,
//! `GET /metrics` (Prometheus text format), and the metrics they report.
//!
//! Guarantees: these routes are public and reveal nothing but sizes, counts and times; the
//! metrics take a fixed amount of memory (a fixed set of series: one per route, one per problem
//! code, fixed buckets), whatever clients send; `/checkpoint` serves the checkpoint signed after
//! the last group committed, so it covers every acknowledged append.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::ServeState;
use super::problem::Code;

/// Latency buckets, seconds.
const SECONDS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Records-per-group buckets.
const RECORDS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 4096.0];

/// A Prometheus histogram with fixed buckets.
#[derive(Debug)]
pub(crate) struct Histogram {
    bounds: &'static [f64],
    /// One count per bound, and one for +Inf (not cumulative; summed when rendered).
    counts: Vec<AtomicU64>,
    /// The sum of observed values, in millionths.
    sum_millionths: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_millionths: AtomicU64::new(0),
        }
    }

    /// Count one observation of `value`.
    pub(crate) fn observe(&self, value: f64) {
        let bucket = self.bounds.iter().position(|bound| value <= *bound).unwrap_or(self.bounds.len());
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        // Saturating float-to-int conversion: a negative or NaN value adds nothing.
        self.sum_millionths.fetch_add((value * 1e6) as u64, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        let separator = if labels.is_empty() { "" } else { "," };
        for (bound, count) in self.bounds.iter().zip(&self.counts) {
            cumulative += count.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels}{separator}le=\"{bound}\"}} {cumulative}");
        }
        cumulative += self.counts[self.bounds.len()].load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}{separator}le=\"+Inf\"}} {cumulative}");
        let sum = self.sum_millionths.load(Ordering::Relaxed) as f64 / 1e6;
        let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
        let _ = writeln!(out, "{name}_sum{braces} {sum}");
        let _ = writeln!(out, "{name}_count{braces} {cumulative}");
    }
}

/// What `/metrics` reports.
#[derive(Debug)]
pub(crate) struct Metrics {
    /// Records appended and acknowledged.
    pub(crate) appended: AtomicU64,
    /// Groups committed (one `sync_data` and one checkpoint each).
    pub(crate) groups: AtomicU64,
    /// Records per group.
    pub(crate) group_records: Histogram,
    /// Seconds to write and `sync_data` one group (the durable part of a commit).
    pub(crate) commit_seconds: Histogram,
    /// Entries in the log (the tree size of the newest checkpoint).
    pub(crate) tree_size: AtomicU64,
    /// Refused requests, by problem code (in the order of [`Code::ALL`]).
    refusals: Vec<AtomicU64>,
    /// Request latency by route (route templates only: a fixed set).
    requests: Mutex<BTreeMap<String, Histogram>>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics {
            appended: AtomicU64::new(0),
            groups: AtomicU64::new(0),
            group_records: Histogram::new(RECORDS),
            commit_seconds: Histogram::new(SECONDS),
            tree_size: AtomicU64::new(0),
            refusals: Code::ALL.iter().map(|_| AtomicU64::new(0)).collect(),
            requests: Mutex::new(BTreeMap::new()),
        }
    }
}

impl Metrics {
    /// Count a request refused with `code`.
    pub(crate) fn refused(&self, code: Code) {
        if let Some(index) = Code::ALL.iter().position(|known| *known == code) {
            self.refusals[index].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Count a request to `route` (a route template, or `other`) that took `seconds`.
    pub(crate) fn request(&self, route: &str, seconds: f64) {
        let Ok(mut requests) = self.requests.lock() else { return };
        requests.entry(route.to_string()).or_insert_with(|| Histogram::new(SECONDS)).observe(seconds);
    }

    /// The Prometheus text exposition of every metric.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        let counter = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
        };
        counter(
            &mut out,
            "lianlog_appends_total",
            "Records appended and acknowledged.",
            self.appended.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "lianlog_groups_total",
            "Groups committed, each with one sync_data and one new checkpoint.",
            self.groups.load(Ordering::Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP lianlog_tree_size Entries in the log (size of the newest checkpoint).\n# TYPE lianlog_tree_size gauge\nlianlog_tree_size {}",
            self.tree_size.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP lianlog_refusals_total Requests refused, by problem code.\n# TYPE lianlog_refusals_total counter"
        );
        for (code, count) in Code::ALL.iter().zip(&self.refusals) {
            let _ =
                writeln!(out, "lianlog_refusals_total{{code=\"{}\"}} {}", code.name(), count.load(Ordering::Relaxed));
        }
        let _ = writeln!(
            out,
            "# HELP lianlog_group_records Records per committed group.\n# TYPE lianlog_group_records histogram"
        );
        self.group_records.render(&mut out, "lianlog_group_records", "");
        let _ = writeln!(
            out,
            "# HELP lianlog_commit_seconds Time to write and sync_data one group.\n# TYPE lianlog_commit_seconds histogram"
        );
        self.commit_seconds.render(&mut out, "lianlog_commit_seconds", "");
        let _ = writeln!(
            out,
            "# HELP lianlog_request_seconds Request latency by route.\n# TYPE lianlog_request_seconds histogram"
        );
        if let Ok(requests) = self.requests.lock() {
            for (route, histogram) in requests.iter() {
                histogram.render(&mut out, "lianlog_request_seconds", &format!("route=\"{route}\""));
            }
        }
        out
    }
}

/// `GET /checkpoint` (`text/plain`): the newest log-signed checkpoint; with `--witness`, the newest
/// one that reached the witness quorum, with its cosignatures (before any did, the newest
/// log-signed one with the cosignatures it has). It changes with every group, so caches must
/// revalidate (tlog-tiles: the checkpoint is the one mutable resource).
pub(crate) async fn checkpoint(State(state): State<Arc<ServeState>>) -> Response {
    checkpoint_response(state.served_checkpoint().to_string())
}

/// `GET /lianlog/v1/checkpoint/latest` (public, `text/plain`): the newest log-signed checkpoint,
/// witnessed or not — the one receipts are made against at append time.
pub(crate) async fn latest_checkpoint(State(state): State<Arc<ServeState>>) -> Response {
    checkpoint_response(state.checkpoint().to_string())
}

fn checkpoint_response(note: String) -> Response {
    let mut response = (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], note).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// `GET /healthz`: 200 `ok` while the server accepts requests.
pub(crate) async fn healthz() -> Response {
    let mut response = (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "ok\n").into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /metrics`: Prometheus text format.
pub(crate) async fn metrics(State(state): State<Arc<ServeState>>) -> Response {
    let mut text = state.metrics.render();
    if let Some(witnessing) = &state.witnessing {
        witnessing.render_metrics(&mut text);
    }
    let mut response =
        (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_the_text_lists_every_code() {
        let metrics = Metrics::default();
        metrics.group_records.observe(1.0);
        metrics.group_records.observe(3.0);
        metrics.group_records.observe(10_000.0);
        metrics.refused(Code::Busy);
        metrics.request("/checkpoint", 0.002);
        let text = metrics.render();
        assert!(text.contains("lianlog_group_records_bucket{le=\"1\"} 1\n"), "{text}");
        assert!(text.contains("lianlog_group_records_bucket{le=\"4\"} 2\n"), "{text}");
        assert!(text.contains("lianlog_group_records_bucket{le=\"+Inf\"} 3\n"), "{text}");
        assert!(text.contains("lianlog_refusals_total{code=\"Busy\"} 1\n"), "{text}");
        assert!(text.contains("lianlog_refusals_total{code=\"NotFound\"} 0\n"), "{text}");
        assert!(text.contains("lianlog_request_seconds_count{route=\"/checkpoint\"} 1\n"), "{text}");
    }
}
