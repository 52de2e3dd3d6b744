//! The library's one error type.
//!
//! Every error says what was wrong, where (file, line, field path, seq) and, where there is one,
//! what to do. The CLI maps [`ErrorKind`] to exit codes; nothing here prints or exits.

use std::path::PathBuf;

/// What went wrong, coarsely: enough for a caller to choose an exit code or a retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The caller's input (a body, a file, an argument) is malformed or not allowed.
    BadInput,
    /// The ledger, an export or a proof failed verification: it was tampered with or is corrupt.
    Verification,
    /// The author's key may not do this (no role, revoked, unknown).
    Unauthorized,
    /// A key file could not be read or decrypted, or its permissions are unsafe.
    Key,
    /// The ledger directory is missing, not a ledger, or of a newer format.
    NotALedger,
    /// Another process holds the ledger.
    Locked,
    /// An operating-system I/O failure (disk full, permission denied, ...).
    Io,
    /// The derived store (sled) failed; it can be rebuilt from the log.
    Store,
}

/// An error with a human-readable message that already names the place and the remedy.
///
/// The message already includes the underlying cause (an OS error, a sled error), so the error
/// has no separate `source`: printing a chain would say the cause twice.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
    /// The seq the error is about, when there is one.
    seq: Option<u64>,
}

/// A result whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error { kind, message: message.into(), seq: None }
    }

    /// Which kind of failure this is (it decides the exit code).
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message: what was wrong, where and what to do.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The seq this error is about, if any.
    pub fn seq(&self) -> Option<u64> {
        self.seq
    }

    pub(crate) fn with_seq(mut self, seq: u64) -> Error {
        self.seq = Some(seq);
        self
    }

    /// An [`ErrorKind::BadInput`] error.
    pub fn bad_input(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::BadInput, message)
    }

    /// An [`ErrorKind::Verification`] error.
    pub fn verification(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Verification, message)
    }

    /// An [`ErrorKind::Unauthorized`] error.
    pub fn unauthorized(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Unauthorized, message)
    }

    /// An [`ErrorKind::Key`] error.
    pub fn key(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Key, message)
    }

    /// An I/O error on `path`, with the operation that failed.
    pub fn io(operation: &str, path: impl Into<PathBuf>, err: std::io::Error) -> Error {
        let path = path.into();
        let hint = io_hint(err.kind()).unwrap_or("");
        Error { kind: ErrorKind::Io, message: format!("cannot {operation} {}: {err}{hint}", path.display()), seq: None }
    }

    /// A failure of the derived store (sled). An operating-system I/O failure (disk full, read-only
    /// file system, permissions) is an I/O error: rebuilding would not help, freeing space would.
    /// Anything else means the store itself is damaged, and it can be rebuilt from the log.
    pub fn store(context: &str, err: sled::Error) -> Error {
        if let sled::Error::Io(io) = &err
            && let Some(hint) = io_hint(io.kind())
        {
            return Error {
                kind: ErrorKind::Io,
                message: format!("derived store (sled) failed while {context}: {io}{hint}"),
                seq: None,
            };
        }
        Error {
            kind: ErrorKind::Store,
            message: format!(
                "derived store (sled) failed while {context}: {err}; it holds only derived data, \
                 run `lianlog reindex` to rebuild it from the log"
            ),
            seq: None,
        }
    }

    /// Prefix the message with where it happened (a file and line, a seq, ...).
    pub fn at(mut self, place: impl std::fmt::Display) -> Error {
        self.message = format!("{place}: {}", self.message);
        self
    }
}

/// What to tell the user about an I/O failure that is the environment's, not the data's.
fn io_hint(kind: std::io::ErrorKind) -> Option<&'static str> {
    match kind {
        std::io::ErrorKind::PermissionDenied => {
            Some(" (permission denied: check the owner and mode of the file and its directory)")
        }
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
            Some(" (the disk is full: free space and retry; nothing acknowledged was lost)")
        }
        std::io::ErrorKind::ReadOnlyFilesystem => Some(
            " (the file system is read-only: make it writable to change anything; `lianlog verify` and \
             `lianlog export` still work on a read-only ledger)",
        ),
        _ => None,
    }
}
