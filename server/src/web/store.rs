//! The memory of web sign-ins: one-time challenges, one-time login tokens and sessions, each kept
//! by the SHA-256 of its secret (`session.rs` makes and checks them).
//!
//! Guarantees: plain data behind one mutex, with no dependency on the server (so `ServeState` can
//! hold it without the pages' code); expired items are dropped by [`Inner::prune`]; how many are
//! kept at once is bounded by `session.rs` (`MAX_PENDING`, `MAX_SESSIONS`).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The default lifetime of a session in hours (`serve --session-hours`).
pub const DEFAULT_SESSION_HOURS: u64 = 8;

/// The server's challenges, one-time tokens and sessions, by the SHA-256 of their secret.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    inner: Mutex<Inner>,
}

impl Sessions {
    /// The store, locked (a panic elsewhere leaves it usable: every item is checked on use).
    pub(super) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What [`Sessions`] holds.
#[derive(Debug, Default)]
pub(super) struct Inner {
    /// Challenge hash → when it expires (Unix ms).
    pub(super) challenges: HashMap<String, i64>,
    /// Login token hash → the key it signs in, and when it expires.
    pub(super) tokens: HashMap<String, (String, i64)>,
    /// Session id hash → the session.
    pub(super) sessions: HashMap<String, Session>,
}

/// One open session.
#[derive(Debug, Clone)]
pub(super) struct Session {
    /// The identity of the key signed in.
    pub(super) identity: String,
    /// When it ends (Unix ms).
    pub(super) expires: i64,
    /// Its CSRF token, put in every form of its pages.
    pub(super) csrf: String,
    /// A short name of the session for the access log (not its secret).
    pub(super) tag: String,
}

impl Inner {
    /// Drop what expired by `now` (Unix ms).
    pub(super) fn prune(&mut self, now: i64) {
        self.challenges.retain(|_, expires| *expires > now);
        self.tokens.retain(|_, (_, expires)| *expires > now);
        self.sessions.retain(|_, session| session.expires > now);
    }
}
