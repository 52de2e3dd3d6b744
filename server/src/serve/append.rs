//! `POST /lianlog/v1/append`: client-signed records in, receipts out.
//!
//! Guarantees: the body (`{"submissions":[…]}`, 1 or more, all or nothing) is parsed strictly by
//! the library; the answer is 200 `{"receipts":[…]}` in the order sent, only after the records
//! are durable, or a problem and nothing written. No request signature is needed: each record's
//! own signature by its author's key is the authentication, checked like every other rule by
//! the library.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::ServeState;
use super::problem::Problem;
use super::submissions::{Receipt, parse_batch};

/// The append route's handler.
pub(crate) async fn append(State(state): State<Arc<ServeState>>, body: Bytes) -> Response {
    let submissions = match parse_batch(&body) {
        Ok(submissions) => submissions,
        Err(err) => return Problem::from(err).into_response(),
    };
    match state.sequencer.append(submissions).await {
        Ok(receipts) => {
            let body = Receipt::answer_to_json(&receipts);
            let mut response = (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body).into_response();
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(problem) => problem.into_response(),
    }
}
