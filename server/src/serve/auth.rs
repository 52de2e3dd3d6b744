//! Authentication of signed requests (RFC 9421 profile of `lianlog_ledger::httpsig`) and the
//! access log (查询留痕). Owned by the `auth` work; until it lands every request is refused (401).

use std::path::PathBuf;

use axum::http::{HeaderMap, Method, Uri};
use lianlog_ledger::Role;

use super::ServeState;
use super::problem::Problem;

/// Who signed a request: the key's identity and the roles the registry gives it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Caller {
    /// The identity of the key that signed the request (the signature's `keyid`).
    pub(crate) identity: String,
    /// The roles of that key in the ledger's registry when the request was checked.
    pub(crate) roles: Vec<Role>,
}

/// The access log of authenticated reads of personal data (who, what, when).
#[derive(Debug)]
pub(crate) struct AccessLog {
    /// Where the log is kept.
    pub(crate) path: PathBuf,
}

impl AccessLog {
    /// The access log kept at `path` (nothing is opened until the first entry).
    pub(crate) fn new(path: PathBuf) -> AccessLog {
        AccessLog { path }
    }
}

/// Check the request's signature and return its signer; refused (401) until implemented.
pub(crate) fn authenticate(
    state: &ServeState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Caller, Problem> {
    let _ = (state, method, headers, body);
    Err(Problem::unauthenticated(format!("{}: signed requests are not accepted yet", uri.path())))
}
