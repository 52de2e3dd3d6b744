//! RFC 9457 problem details (`application/problem+json`): every refusal of `lianlog serve`.
//!
//! Guarantees: a problem carries a stable `code` — the name of the library's [`ErrorKind`] (the
//! CLI's exit codes) or one of the HTTP-only codes below — and the `exit` code the CLI would give,
//! so that the remote client (`lianlog-remote`) turns it back into the same error with the same
//! exit code and message as a local command. The body is built by `serde_json` (no string
//! concatenation), so no detail can break its JSON. A [`Code::Busy`] or [`Code::Locked`] answer
//! carries `Retry-After`.
//!
//! ```json
//! {"type":"urn:lianlog:error:BadInput","title":"bad input","status":400,
//!  "detail":"submission 2: body.case_id: …","code":"BadInput","exit":2}
//! ```

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lianlog_ledger::{Error, ErrorKind};

/// The media type of a problem (RFC 9457, section 3).
pub(crate) const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// The stable code of a problem: the library's error kinds, then the HTTP-only ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Code {
    /// The request (a submission, a path, a query) is malformed or not allowed (exit 2).
    BadInput,
    /// Something failed verification (exit 1).
    Verification,
    /// The key may not do this: no role, revoked, unknown (exit 3).
    Unauthorized,
    /// A key could not be read or is unusable (exit 4).
    Key,
    /// The served directory is not a ledger (exit 5).
    NotALedger,
    /// The ledger is held by another writer (exit 6).
    Locked,
    /// The server's disk or file system failed (exit 7).
    Io,
    /// The server's derived store failed (exit 8).
    Store,
    /// The request body or headers exceed a limit (HTTP 413; exit 2).
    TooLarge,
    /// The client was too slow to send its request (HTTP 408; exit 7).
    Timeout,
    /// The server is at its concurrency limit; retry after `Retry-After` (HTTP 503; exit 6).
    Busy,
    /// The request carries no valid signature of a known key (HTTP 401; exit 3).
    Unauthenticated,
    /// Nothing is at this path (HTTP 404; exit 2).
    NotFound,
}

impl Code {
    /// Every code, for tests and for the remote client's table.
    pub(crate) const ALL: [Code; 13] = [
        Code::BadInput,
        Code::Verification,
        Code::Unauthorized,
        Code::Key,
        Code::NotALedger,
        Code::Locked,
        Code::Io,
        Code::Store,
        Code::TooLarge,
        Code::Timeout,
        Code::Busy,
        Code::Unauthenticated,
        Code::NotFound,
    ];

    /// The code as it appears in `code` and in the `type` URN.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Code::BadInput => "BadInput",
            Code::Verification => "Verification",
            Code::Unauthorized => "Unauthorized",
            Code::Key => "Key",
            Code::NotALedger => "NotALedger",
            Code::Locked => "Locked",
            Code::Io => "Io",
            Code::Store => "Store",
            Code::TooLarge => "TooLarge",
            Code::Timeout => "Timeout",
            Code::Busy => "Busy",
            Code::Unauthenticated => "Unauthenticated",
            Code::NotFound => "NotFound",
        }
    }

    /// The CLI's exit code for this problem (`lianlog --help` lists them).
    pub(crate) fn exit(self) -> u8 {
        match self {
            Code::Verification => 1,
            Code::BadInput | Code::TooLarge | Code::NotFound => 2,
            Code::Unauthorized | Code::Unauthenticated => 3,
            Code::Key => 4,
            Code::NotALedger => 5,
            Code::Locked | Code::Busy => 6,
            Code::Io | Code::Timeout => 7,
            Code::Store => 8,
        }
    }

    /// The HTTP status. A refusal of what the client sent is 4xx; a failure of the server's own
    /// ledger (its disk, its store, its data failing verification) is 5xx, and says nothing was
    /// written.
    pub(crate) fn status(self) -> StatusCode {
        match self {
            Code::BadInput | Code::Key => StatusCode::BAD_REQUEST,
            Code::Unauthenticated => StatusCode::UNAUTHORIZED,
            Code::Unauthorized => StatusCode::FORBIDDEN,
            Code::NotFound => StatusCode::NOT_FOUND,
            Code::Timeout => StatusCode::REQUEST_TIMEOUT,
            Code::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Code::Verification => StatusCode::UNPROCESSABLE_ENTITY,
            Code::Locked | Code::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Code::NotALedger | Code::Io | Code::Store => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short English title, the same for every problem of this code (RFC 9457, 3.1.3).
    pub(crate) fn title(self) -> &'static str {
        match self {
            Code::BadInput => "bad input",
            Code::Verification => "verification failed",
            Code::Unauthorized => "not authorized",
            Code::Key => "unusable key",
            Code::NotALedger => "not a ledger",
            Code::Locked => "ledger in use",
            Code::Io => "server I/O failure",
            Code::Store => "server store failure",
            Code::TooLarge => "request too large",
            Code::Timeout => "request timeout",
            Code::Busy => "server busy",
            Code::Unauthenticated => "not authenticated",
            Code::NotFound => "not found",
        }
    }

    /// The library's error kind this problem turns back into on the client (`lianlog-remote`
    /// has its own copy of this table, keyed by `code`; the test below checks this one).
    #[cfg(test)]
    pub(crate) fn kind(self) -> ErrorKind {
        match self {
            Code::Verification => ErrorKind::Verification,
            Code::BadInput | Code::TooLarge | Code::NotFound => ErrorKind::BadInput,
            Code::Unauthorized | Code::Unauthenticated => ErrorKind::Unauthorized,
            Code::Key => ErrorKind::Key,
            Code::NotALedger => ErrorKind::NotALedger,
            Code::Locked | Code::Busy => ErrorKind::Locked,
            Code::Io | Code::Timeout => ErrorKind::Io,
            Code::Store => ErrorKind::Store,
        }
    }

    /// The code of a library error kind.
    pub(crate) fn of_kind(kind: ErrorKind) -> Code {
        match kind {
            ErrorKind::BadInput => Code::BadInput,
            ErrorKind::Verification => Code::Verification,
            ErrorKind::Unauthorized => Code::Unauthorized,
            ErrorKind::Key => Code::Key,
            ErrorKind::NotALedger => Code::NotALedger,
            ErrorKind::Locked => Code::Locked,
            ErrorKind::Io => Code::Io,
            ErrorKind::Store => Code::Store,
            // A kind added to the library later: refused as input until it has its own code.
            _ => Code::BadInput,
        }
    }
}

/// One problem: its code and what exactly was wrong (`detail`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// The stable code.
    pub(crate) code: Code,
    /// What was wrong, where, and what to do (the library's message, or the server's).
    pub(crate) detail: String,
    /// Seconds for `Retry-After` (on [`Code::Busy`] and [`Code::Locked`]).
    pub(crate) retry_after: Option<u64>,
}

impl Problem {
    /// A problem of `code` saying `detail`.
    pub(crate) fn new(code: Code, detail: impl Into<String>) -> Problem {
        let retry_after = matches!(code, Code::Busy | Code::Locked).then_some(1);
        Problem { code, detail: detail.into(), retry_after }
    }

    /// Nothing at `path`.
    pub(crate) fn not_found(path: &str) -> Problem {
        Problem::new(Code::NotFound, format!("nothing at {path}; see docs/OPERATIONS.md for the paths served"))
    }

    /// A body of more than `limit` bytes.
    pub(crate) fn too_large(limit: usize) -> Problem {
        Problem::new(
            Code::TooLarge,
            format!("the request body is over the limit of {limit} bytes; nothing was written"),
        )
    }

    /// A client that did not send its request within `seconds`.
    pub(crate) fn timeout(seconds: u64) -> Problem {
        Problem::new(
            Code::Timeout,
            format!("the request was not received within {seconds} s; nothing was written, send it again"),
        )
    }

    /// The server is at its limit of requests in flight; retry after `seconds`.
    pub(crate) fn busy(seconds: u64) -> Problem {
        Problem {
            code: Code::Busy,
            detail: format!(
                "the server is at its limit of requests in flight; nothing was written, retry in {seconds} s"
            ),
            retry_after: Some(seconds),
        }
    }

    /// A request that needs a signature and has none valid.
    pub(crate) fn unauthenticated(detail: impl Into<String>) -> Problem {
        Problem::new(Code::Unauthenticated, detail)
    }

    /// The HTTP status of this problem.
    #[cfg(test)]
    pub(crate) fn status(&self) -> StatusCode {
        self.code.status()
    }

    /// The problem as JSON (RFC 9457 members plus lianlog's `code` and `exit`).
    pub(crate) fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "type": format!("urn:lianlog:error:{}", self.code.name()),
            "title": self.code.title(),
            "status": self.code.status().as_u16(),
            "detail": self.detail,
            "code": self.code.name(),
            "exit": self.code.exit(),
        })
    }

    /// The library error this problem stands for (what the remote client reconstructs).
    #[cfg(test)]
    pub(crate) fn to_error(&self) -> Error {
        Error::new(self.code.kind(), self.detail.clone())
    }
}

impl From<Error> for Problem {
    fn from(err: Error) -> Problem {
        Problem::new(Code::of_kind(err.kind()), err.message())
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.code.status().as_u16(), self.code.name(), self.detail)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = self.to_json().to_string();
        let mut response = (self.code.status(), [(header::CONTENT_TYPE, PROBLEM_CONTENT_TYPE)], body).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        // A problem is about one request: never cached.
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        // For the metrics (refusals by code), read by the limits middleware.
        response.extensions_mut().insert(self.code);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_its_error_kind_with_the_cli_exit_code() {
        for code in Code::ALL {
            let problem = Problem::new(code, "what was wrong");
            let json = problem.to_json();
            assert_eq!(json["code"], code.name());
            assert_eq!(json["type"], format!("urn:lianlog:error:{}", code.name()));
            assert_eq!(json["status"], code.status().as_u16());
            assert_eq!(json["exit"], code.exit());
            let error = problem.to_error();
            assert_eq!(error.message(), "what was wrong");
            // The library kind gives the same exit code the CLI gives for it.
            assert_eq!(Code::of_kind(error.kind()).exit(), code.exit(), "{code:?}");
        }
    }

    #[test]
    fn a_library_error_keeps_its_kind_and_message() {
        let problem = Problem::from(Error::unauthorized("key k1 is revoked"));
        assert_eq!(problem.code, Code::Unauthorized);
        assert_eq!(problem.status(), StatusCode::FORBIDDEN);
        assert_eq!(problem.detail, "key k1 is revoked");
    }

    #[test]
    fn busy_carries_retry_after_and_the_body_is_problem_json() {
        let response = Problem::busy(2).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_CONTENT_TYPE);
    }

    #[test]
    fn a_detail_with_quotes_and_newlines_stays_valid_json() {
        let problem = Problem::new(Code::BadInput, "field \"x\"\n\u{202e}");
        let parsed: serde_json::Value = serde_json::from_str(&problem.to_json().to_string()).unwrap();
        assert_eq!(parsed["detail"], "field \"x\"\n\u{202e}");
    }
}
