//! lianlog-remote: the blocking HTTP client the CLI uses for `--server URL`, talking to a
//! `lianlog serve` ledger.
//!
//! Guarantees: a request made with an identity carries an RFC 9421 signature made by
//! [`lianlog_ledger::httpsig`] (the same profile the server checks, one implementation); a server's
//! `application/problem+json` answer comes back as a [`lianlog_ledger::Error`] with the kind (so
//! the exit code) and the message the server gave, so a remote command fails the way the local
//! one would; no answer is read past a size limit, no request waits past a timeout, and redirects
//! are never followed (a signed request goes only where the user pointed it). This crate decides
//! no rule of the ledger: answers are checked by the same library functions the local CLI uses.
//!
//! Map: [`client`] (the [`Client`]: base URL, identity, timeouts, limits, signed GET and POST,
//! [`Response`]), `problem` (an RFC 9457 problem answer back to the library's error), [`reads`]
//! (the authenticated reads, answered in the library's own types) and [`append`] (records signed
//! here, sent, and their receipts checked).
//! [`verify`] is remote `verify`: the tlog-tiles resources of a server fetched for
//! [`lianlog_ledger::tiles::verify_tiles`], which checks them client-side. [`witnessing`] is a
//! log's `add-checkpoint` to a witness and the served checkpoints (witnessed, latest). [`login`]
//! is `lianlog login`: a signed answer to a one-time challenge, for a one-time web sign-in URL.

pub mod append;
pub mod client;
pub mod login;
mod problem;
pub mod reads;
pub mod verify;
pub mod witnessing;

pub use client::{Client, Response};
