//! RFC 9457 problem details (`application/problem+json`) back to a [`lianlog_ledger::Error`].
//!
//! The server answers every refusal as `{"type":"urn:lianlog:error:<Code>","title","status",
//! "detail","code":"<Code>","exit":N}` (server/src/serve/problem.rs). The error built here has the
//! kind whose exit code is `exit`, and the server's `detail` as its message, so that `lianlog
//! --server URL …` exits and explains as the same command would on the server's machine. An answer
//! that is not such a problem (a proxy's HTML page, say) still becomes an error that names the
//! URL and the HTTP status, never a panic.

use lianlog_ledger::{Error, ErrorKind};
use serde::Deserialize;

/// The fields of a problem document the client reads; the others are ignored.
#[derive(Deserialize)]
struct Problem {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    detail: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    exit: Option<u64>,
}

/// The error kind whose CLI exit code is `exit` (the list in `lianlog --help`).
fn kind_of_exit(exit: u64) -> Option<ErrorKind> {
    Some(match exit {
        1 => ErrorKind::Verification,
        2 => ErrorKind::BadInput,
        3 => ErrorKind::Unauthorized,
        4 => ErrorKind::Key,
        5 => ErrorKind::NotALedger,
        6 => ErrorKind::Locked,
        7 => ErrorKind::Io,
        8 => ErrorKind::Store,
        _ => return None,
    })
}

/// The error kind for a problem `code`: an `ErrorKind` name, or one of the HTTP-only codes.
fn kind_of_code(code: &str) -> Option<ErrorKind> {
    Some(match code {
        "Verification" => ErrorKind::Verification,
        "BadInput" | "TooLarge" | "NotFound" => ErrorKind::BadInput,
        "Unauthorized" | "Unauthenticated" => ErrorKind::Unauthorized,
        "Key" => ErrorKind::Key,
        "NotALedger" => ErrorKind::NotALedger,
        "Locked" | "Busy" => ErrorKind::Locked,
        "Io" | "Timeout" => ErrorKind::Io,
        "Store" => ErrorKind::Store,
        _ => return None,
    })
}

/// The error kind for an HTTP status when the answer says nothing better.
fn kind_of_status(status: u16) -> ErrorKind {
    match status {
        401 | 403 => ErrorKind::Unauthorized,
        400..=499 => ErrorKind::BadInput,
        _ => ErrorKind::Io,
    }
}

/// The problem `code` of an answer, if it is a problem document that has one (`"Busy"`, …).
pub(crate) fn code_of(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<Problem>(body).ok()?.code
}

/// The error for a non-success answer: `status`, its `content_type` and `body`, from `url`.
pub(crate) fn to_error(url: &str, status: u16, content_type: Option<&str>, body: &[u8]) -> Error {
    let is_problem = content_type
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/problem+json"));
    let problem = if is_problem { serde_json::from_slice::<Problem>(body).ok() } else { None };
    let Some(problem) = problem else {
        return Error::new(
            kind_of_status(status),
            format!(
                "the server at {url} answered HTTP {status} without an explanation (not application/problem+json); \
                 check that --server names a `lianlog serve` ledger"
            ),
        );
    };
    let kind = problem
        .exit
        .and_then(kind_of_exit)
        .or_else(|| problem.code.as_deref().and_then(kind_of_code))
        .unwrap_or_else(|| kind_of_status(status));
    let message = problem
        .detail
        .filter(|detail| !detail.trim().is_empty())
        .or(problem.title)
        .unwrap_or_else(|| format!("the server at {url} refused the request (HTTP {status})"));
    Error::new(kind, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROBLEM: Option<&str> = Some("application/problem+json");

    #[test]
    fn exit_code_decides_the_kind_and_detail_is_the_message() {
        let body = br#"{"type":"urn:lianlog:error:Unauthorized","title":"Unauthorized","status":403,
            "detail":"key alice+0a0b0c0d is revoked","code":"Unauthorized","exit":3}"#;
        let err = to_error("http://x", 403, PROBLEM, body);
        assert_eq!(err.kind(), ErrorKind::Unauthorized);
        assert_eq!(err.message(), "key alice+0a0b0c0d is revoked");
        for (exit, kind) in [
            (1, ErrorKind::Verification),
            (2, ErrorKind::BadInput),
            (4, ErrorKind::Key),
            (5, ErrorKind::NotALedger),
            (6, ErrorKind::Locked),
            (7, ErrorKind::Io),
            (8, ErrorKind::Store),
        ] {
            let body = format!(r#"{{"detail":"d","code":"Whatever","exit":{exit}}}"#);
            assert_eq!(to_error("http://x", 400, PROBLEM, body.as_bytes()).kind(), kind);
        }
    }

    #[test]
    fn http_only_codes_and_missing_fields() {
        let busy = br#"{"title":"Busy","status":503,"code":"Busy"}"#;
        let err = to_error("http://x", 503, Some("application/problem+json; charset=utf-8"), busy);
        assert_eq!(err.kind(), ErrorKind::Locked);
        assert_eq!(err.message(), "Busy");
        assert_eq!(code_of(busy).as_deref(), Some("Busy"));
        let err = to_error("http://x", 401, PROBLEM, br#"{"code":"Unauthenticated"}"#);
        assert_eq!(err.kind(), ErrorKind::Unauthorized);
        assert!(err.message().contains("HTTP 401"));
    }

    #[test]
    fn not_a_problem_still_explains() {
        let err = to_error("http://x", 502, Some("text/html"), b"<html>bad gateway</html>");
        assert_eq!(err.kind(), ErrorKind::Io);
        assert!(err.message().contains("HTTP 502"), "{}", err.message());
        let err = to_error("http://x", 404, PROBLEM, b"\xff not json");
        assert_eq!(err.kind(), ErrorKind::BadInput);
        let err = to_error("http://x", 403, None, b"");
        assert_eq!(err.kind(), ErrorKind::Unauthorized);
    }
}
