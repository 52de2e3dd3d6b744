//! lianlog-ledger: the core of lianlog, a tamper-evident, event-sourced ledger of accountability
//! records (纪委监委问责台账).
//!
//! Everything a program needs to create a ledger, append signed records durably, read them,
//! verify the whole history and export it, in the byte format fixed by format v1
//! (`docs/FORMAT.md`). This crate never prints, never exits, and knows nothing of terminals;
//! errors are [`Error`] values with an [`ErrorKind`] and a message that says what, where and what
//! to do.
//!
//! Map: [`fsio`] (every durable-file step: create new 0600, temp + fsync + rename, no links),
//! [`canonical`] (JCS bytes) → [`record`] (records, entries, stored lines) → [`keys`] and
//! [`registry`] (who may sign what) → [`log`] (durable segments) and [`store`] (derived data:
//! item files and sled) → [`ledger`] (the operations) and [`verify`] (the auditor's check), with
//! [`merkle`] for the RFC 6962 tree, [`projection`] and [`replacement`] (what records assert,
//! and which body a redacted record is read from) → [`query`] (answers over any state and lines,
//! below the ledger), [`archive`] for snapshot archives (create, verify, restore, query),
//! and [`group`] for group commit of concurrent appenders, [`witness`] for the C2SP tlog-witness
//! rule over a durable state directory. The benchmark (`lianlog-bench`) and the generated
//! workloads (`lianlog-workload`) are crates of their own, outside the core.

pub mod archive;
pub mod canonical;
pub mod disclosure;
pub mod encoding;
pub mod error;
pub mod fsio;
pub mod group;
pub mod keys;
pub mod ledger;
pub mod log;
pub mod merkle;
pub mod note;
pub mod projection;
pub mod proof;
pub mod query;
pub mod record;
pub mod registry;
pub mod replacement;
pub mod schema;
pub mod store;
pub mod time;
pub mod verify;
pub mod witness;

pub use error::{Error, ErrorKind, Result};
pub use keys::{KeyName, PublicKey, SecretKey};
pub use ledger::{Appended, Draft, Ledger, StagedBatch, export_dir, export_log_key, parse_import, verify_dir};
pub use record::{EntryHash, ParsedLine, StoredBody, StoredLine};
pub use registry::{Holder, KeyRegistry, Role};
pub use store::store_dir;
pub use time::{Date, Timestamp};
pub use verify::{VerifyFailure, VerifyOptions, VerifyReport};
