//! The request limits every route shares (one middleware): requests in flight, body size, and
//! the time a client has to send its body; and the per-route metrics.
//!
//! Guarantees: over [`ServeLimits::max_in_flight`] requests at once, a request is refused with
//! 503 and `Retry-After` before anything of it is read; a body over
//! [`ServeLimits::max_body_bytes`] is refused with 413 (by its `Content-Length` before it is
//! read, or as soon as it grows past the limit); a body not received within
//! [`ServeLimits::request_timeout`] is refused with 408. Handlers get the body whole and bounded;
//! a refused request reaches no handler, so it writes nothing.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};

use super::ServeState;
use super::problem::{Code, Problem};

/// The middleware: limits first, then the handler, then the metrics.
pub(crate) async fn limit(State(state): State<Arc<ServeState>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request.extensions().get::<MatchedPath>().map_or("other", MatchedPath::as_str).to_string();
    let response = match state.in_flight.clone().try_acquire_owned() {
        Err(_) => Problem::busy(1).into_response(),
        Ok(_permit) => match read_body(&state, request).await {
            Ok(request) => next.run(request).await,
            Err(problem) => problem.into_response(),
        },
    };
    if let Some(code) = response.extensions().get::<Code>() {
        state.metrics.refused(*code);
    }
    state.metrics.request(&route, started.elapsed().as_secs_f64());
    response
}

/// The request with its body read whole, within the size and time limits.
async fn read_body(state: &ServeState, request: Request) -> Result<Request, Problem> {
    let limits = &state.options.limits;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limits.max_body_bytes as u64) {
        return Err(Problem::too_large(limits.max_body_bytes));
    }
    let (parts, body) = request.into_parts();
    let collected = tokio::time::timeout(limits.request_timeout, Limited::new(body, limits.max_body_bytes).collect());
    let bytes = match collected.await {
        Err(_) => return Err(Problem::timeout(limits.request_timeout.as_secs())),
        Ok(Err(err)) if err.downcast_ref::<LengthLimitError>().is_some() => {
            return Err(Problem::too_large(limits.max_body_bytes));
        }
        Ok(Err(err)) => return Err(Problem::new(Code::BadInput, format!("the request body could not be read: {err}"))),
        Ok(Ok(collected)) => collected.to_bytes(),
    };
    Ok(Request::from_parts(parts, Body::from(bytes)))
}
