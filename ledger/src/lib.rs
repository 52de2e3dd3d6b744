//! lianlog-ledger: the core of lianlog, a tamper-evident, event-sourced ledger of accountability
//! records (纪委监委问责台账).
//!
//! Everything a program needs to create a ledger, append signed records durably, read them,
//! verify the whole history and export it, in the byte format fixed by format v1
//! (`docs/FORMAT.md`). This crate never prints, never exits, and knows nothing of terminals;
//! errors are [`Error`] values with an [`ErrorKind`] and a message that says what, where and what
//! to do.
//!
//! Map, in layers (each uses only the layers before it; docs/ARCHITECTURE.md has the table and
//! `tests/it/tidy.rs` checks it):
//!
//! 0. [`error`] (the error type) and [`encoding`] (hex, base64);
//! 1. [`canonical`] (the one JCS encoder), [`time`] (timestamps, China dates), [`merkle`]
//!    (RFC 6962 tree and proofs, the one `Hash` type), `fsio` (every durable-file step: create
//!    new 0600, temp + fsync + rename, no links), [`limits`] (the format version, every size
//!    limit) and `recent` (the few values used last: open segment files, checked table blocks);
//! 2. [`keys`] (Ed25519 keys and key files);
//! 3. [`record`] (records, entries, stored lines), [`note`] (C2SP signed notes, checkpoints,
//!    cosignatures), [`schema`] (the record-kind registry), and [`httpsig`] (RFC 9421 request
//!    signatures of authenticated reads);
//! 4. [`registry`] (who may sign what), `log` (durable segments), [`proof`] (proofs as text),
//!    `replacement` (which body a redacted record is read from), `projection` (what
//!    records assert) and [`influence`] (influence periods 影响期 as data);
//! 5. `store` (derived data: item files and sled) and [`verify`] (the auditor's check);
//! 6. [`query`] (answers over any state and lines);
//! 7. [`ledger`] (the operations on a ledger directory);
//! 8. [`archive`] (snapshot archives), [`disclosure`] (packages for one person), [`group`]
//!    (group commit of concurrent appenders), [`receipt`] (proof that the ledger accepted an
//!    append, checked offline), [`witness`] (the C2SP tlog-witness rule over a durable state
//!    directory), [`tiles`] (C2SP tlog-tiles: tile paths, hash tiles and entry bundles from the
//!    stored tree and log, and verifying a ledger from its tiles) and [`opinion`] (integrity
//!    opinions 廉政意见 drafted from a dossier, with inclusion proofs of what they cite);
//! 9. [`witnessing`] (the log side of tlog-witness: requests to witnesses, their answers judged,
//!    the quorum, the durable witnessed checkpoint) and [`monitor`] (an auditor's memory of a
//!    log: each served checkpoint checked against the last one from hash tiles only, and evidence
//!    of a split view kept).
//!
//! The benchmark (`lianlog-bench`) and the generated workloads (`lianlog-workload`) are crates of
//! their own, outside the core.

pub mod archive;
pub mod canonical;
pub mod disclosure;
pub mod encoding;
pub mod error;
mod fsio;
pub mod group;
pub mod httpsig;
pub mod influence;
pub mod keys;
pub mod ledger;
pub mod limits;
mod log;
pub mod merkle;
pub mod monitor;
pub mod note;
pub mod opinion;
mod projection;
pub mod proof;
pub mod query;
pub mod receipt;
mod recent;
pub mod record;
pub mod registry;
mod replacement;
pub mod schema;
mod store;
pub mod tiles;
pub mod time;
pub mod verify;
pub mod witness;
pub mod witnessing;

pub use error::{Error, ErrorKind, Result};
pub use fsio::{open_append, publish};
pub use keys::{KeyName, PublicKey, SecretKey};
pub use ledger::{
    Appended, AppendedBatches, BatchOptions, Draft, Ledger, OpenOptions, StagedBatch, Stopped, StoppedBatch,
    Submission, SubmitOptions, export_dir, export_log_key, parse_import, verify_dir,
};
pub use ledger::{export_dir_with_progress, verify_dir_with_progress};
pub use merkle::Hash;
pub use note::{Checkpoint, Note};
pub use receipt::Receipt;
pub use record::{Entry, EntryHash, ParsedLine, Record, StoredBody, StoredLine};
pub use registry::{Holder, KeyRegistry, Role};
pub use store::store_dir;
pub use time::{Date, Timestamp};
pub use verify::Progress;
pub use verify::{VerifyFailure, VerifyOptions, VerifyReport};

// For the fuzz harness (fuzz/src/lib.rs) and the integration tests only, which exercise these
// internals directly; hidden from the docs and not part of the API.
#[doc(hidden)]
pub use projection::{event_date, layout::INDEX_CHUNK_SEQS, person_ids, status_zh, units};
