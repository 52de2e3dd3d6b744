//! A ledger directory: the durable log, the derived store, the key registry, and the operations
//! that tie them together (init, open, append, import, read, verify, export, reindex).
//!
//! Layout of a ledger directory:
//! - `lianlog.json` — `{"format":1,"origin":…}`; a newer format is refused;
//! - `log-key.pem` — the log key (name = origin), mode 0600; it signs checkpoints only;
//! - `log/*.jsonl` — the record of truth (`log`);
//! - `index/` — the derived store (`store`), rebuilt from the log whenever in doubt;
//! - `import.intent` — where an unfinished batch began, so that a crash never leaves half of it;
//! - `lock` — held (flock) by the one process that has the ledger open.
//!
//! An append is acknowledged only after its line is on disk; the store is updated afterwards.
//! The directory is created 0700 and every file 0600 (`fsio`); no file in it is opened
//! through a symbolic link. Only a writer repairs what a crash left (an interrupted batch, a torn
//! tail, an interrupted redaction), and only when the intent matches the log; a read-only open
//! ([`OpenOptions::read_only`]) changes nothing in the log and reads what a writer would keep.
//!
//! This file holds the [`Ledger`] handle and the small types every part shares; the operations
//! are in its submodules, in the order of a ledger's life: `open` (init, open, reindex, store
//! checks, catch-up) with `recovery` (what a crash left) and `unseen` (lines the store has not
//! seen, checked as `verify` checks them); `append` (stage, then commit: [`StagedBatch`]);
//! `read` (entries, lines, proofs, checkpoints, `verify`); `replay` (replay and as-of);
//! `queries`; `redaction`; `offline` (lock-free `verify_dir`, `export_dir`, `export_log_key`);
//! `import` (JSON Lines → drafts).

use std::fs::File;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};
use crate::fsio;
use crate::keys::{KeyName, SecretKey};
use crate::limits::FORMAT_VERSION;
use crate::log::{Position, SegmentLog};
use crate::merkle::CompactRange;
use crate::record::{EntryHash, ParsedLine};
use crate::registry::KeyRegistry;
use crate::store::{Store, StoreBatch, StoredHead};
use crate::time::Timestamp;

use offline::{check_log_key, read_log_key};

mod append;
mod batches;
mod import;
mod offline;
mod open;
mod queries;
mod read;
mod recovery;
mod redaction;
mod replay;
mod submission;
mod unseen;

pub use append::StagedBatch;
pub use batches::{AppendedBatches, BatchOptions, Stopped, StoppedBatch};
pub use import::parse_import;
pub use offline::{Exported, export_dir, export_log_key, verify_dir};
pub use offline::{export_dir_with_progress, verify_dir_collecting, verify_dir_with_progress};
pub use open::RUN_VERIFY_HINT;
pub use redaction::{Redacted, Replacement};
pub use replay::{PastState, ReplayReport};
pub(crate) use replay::{PendingReplacements, replay_projections};
pub use submission::{Submission, SubmitOptions};

const META_FILE: &str = "lianlog.json";
const LOG_KEY_FILE: &str = "log-key.pem";
const LOCK_FILE: &str = "lock";
const INTENT_FILE: &str = "import.intent";
/// Present only while `lianlog serve` holds the ledger: the URL it serves it at.
const SERVED_FILE: &str = "served.url";

/// A record to append: its kind, body schema version and body.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// The record kind (see [`crate::schema`]).
    pub kind: String,
    /// The body's schema version.
    pub v: u64,
    /// The record body.
    pub body: Value,
}

impl Draft {
    /// A draft at the kind's current schema version. `kind` may be a kind's Chinese label
    /// (`约谈` for `interview`): the draft holds the canonical name (`schema::resolve_kind`).
    pub fn new(kind: impl Into<String>, body: Value) -> Draft {
        let kind = kind.into();
        let kind = crate::schema::resolve_kind(&kind).map_or(kind, str::to_string);
        let v = crate::schema::current_version(&kind);
        Draft { kind, v, body }
    }
}

/// What an append acknowledges: the entry is durable at this seq with this hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// The seq of the new entry.
    pub seq: u64,
    /// Its entry hash.
    pub hash: EntryHash,
    /// The time the ledger gave it.
    pub time: Timestamp,
}

/// How to open a ledger.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenOptions {
    /// When the log no longer matches what the derived store recorded (entries altered or
    /// removed after they were written), rebuild the store from the log instead of refusing.
    /// Only `lianlog reindex` sets this: it is an operator's explicit decision.
    pub accept_log_as_is: bool,
    /// Open to read only: repair nothing (an interrupted batch or a torn tail is left for the
    /// next writer, and only what it would keep is read), append nothing.
    pub read_only: bool,
    /// How long to wait for another local process (an import, an append) to release the ledger
    /// before giving up with a `Locked` error. Zero: do not wait. A ledger held by `lianlog
    /// serve` is refused at once whatever this says (a server holds it until stopped).
    pub wait: std::time::Duration,
}

/// An open ledger. Only one process may hold a ledger open (it holds `lock`).
pub struct Ledger {
    dir: PathBuf,
    origin: String,
    log: SegmentLog,
    store: Store,
    registry: KeyRegistry,
    size: u64,
    head: EntryHash,
    last_time: Option<Timestamp>,
    tail: Position,
    tree: CompactRange,
    notes: Vec<String>,
    /// Set when the derived store could not be updated after a durable append: the store is
    /// behind the log, so this handle appends nothing more (the next open catches the store up).
    store_failed: Option<String>,
    _lock: File,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("dir", &self.dir)
            .field("origin", &self.origin)
            .field("size", &self.size)
            .finish()
    }
}

impl Drop for Ledger {
    fn drop(&mut self) {
        // Saves a catch-up on the next open; correctness never depends on it. A hold is ended
        // where it began (`append_in_batches`); this only writes one left open, never compacting.
        self.end_holding(crate::store::HoldEnd::IntoSled);
        let _ = self.store.flush();
    }
}

impl Ledger {
    /// The ledger directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The ledger's origin (its checkpoint name).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Number of entries.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The hash of the last entry ([`EntryHash::ZERO`] when empty).
    pub fn head(&self) -> EntryHash {
        self.head
    }

    /// The Merkle root of all entries.
    pub fn root(&self) -> crate::merkle::Hash {
        self.tree.root()
    }

    /// The key registry as of the last entry.
    pub fn registry(&self) -> &KeyRegistry {
        &self.registry
    }

    // For tests (they count the store's reads); the store is internal, not part of the API.
    #[doc(hidden)]
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// What opening had to repair (a torn tail cut, an import undone, the store rebuilt).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The log key, which signs checkpoints. It leaves the ledger directory only through
    /// [`export_log_key`].
    /// It is checked against the log key the genesis entry names before it is returned, so that
    /// a replaced `log-key.pem` never signs a checkpoint.
    pub fn log_key(&self, passphrase: &mut dyn FnMut() -> Result<zeroize::Zeroizing<String>>) -> Result<SecretKey> {
        let key = read_log_key(&self.dir, passphrase)?;
        check_log_key(&self.dir, &key, &self.origin, &self.registry.log_key)?;
        Ok(key)
    }

    /// Record one durable line in memory and in the pending store batch.
    fn advance(&mut self, batch: &mut StoreBatch, position: Position, length: u64, entry: WrittenEntry) {
        batch.put_position(self.size, position);
        batch.put_record_id(self.size, &entry.record_id);
        // The tree is full only at 2^64 leaves, which a log cannot reach.
        for ((level, index), hash) in self.tree.push(entry.hash.0).unwrap_or_default() {
            batch.put_node(level, index, &hash);
        }
        self.size += 1;
        self.head = entry.hash;
        self.last_time = Some(entry.time);
        self.tail = Position { segment: position.segment, offset: position.offset + length };
    }

    /// Write what the store holds in memory for a run of batches (`Store::begin_holding`). The
    /// records are durable whatever happens here: a failure is noted and the store is caught up
    /// from the log on the next open. After a store failure nothing more is written (what is held
    /// stays readable through this handle).
    fn end_holding(&mut self, end: crate::store::HoldEnd) {
        if self.store_failed.is_some() {
            return;
        }
        if let Err(err) = self.store.end_holding(end) {
            self.notes.push(format!(
                "the records are durable, but the derived store could not be updated ({err}); it is brought up \
                 to date from the log when the ledger is next opened"
            ));
            self.store_failed = Some(err.to_string());
        }
    }

    fn apply_to_store(&mut self, mut batch: StoreBatch, registry_changed: bool) -> Result<()> {
        batch.put_head(&StoredHead { size: self.size, hash: self.head, time: self.last_time, tail: self.tail });
        if registry_changed {
            batch.put_registry(&self.registry);
        }
        self.store.apply(batch)
    }
}

/// What the store and the ledger's head need of an entry once its line is written.
#[derive(Clone, Copy)]
struct WrittenEntry {
    hash: EntryHash,
    time: Timestamp,
    record_id: [u8; 16],
}

impl WrittenEntry {
    fn of(parsed: &ParsedLine) -> WrittenEntry {
        let entry = &parsed.line.entry;
        WrittenEntry { hash: parsed.entry_hash, time: entry.time, record_id: entry.record.replay_id() }
    }
}

/// The origin named by entry 0 of the log in `dir`, if it can be read (for messages only).
fn genesis_origin(dir: &Path) -> Option<String> {
    let log = SegmentLog::open(dir).ok()?;
    let (_, line) = log.lines_from(Position { segment: 0, offset: 0 }).ok()?.next()?.ok()?;
    let parsed = ParsedLine::parse(&line).ok()?;
    Some(parsed.line.entry.record.ledger).filter(|origin| KeyName::parse(origin).is_ok())
}

/// Read `lianlog.json`, refusing a missing ledger or a newer format.
fn read_meta(dir: &Path) -> Result<String> {
    if !dir.is_dir() {
        return Err(Error::new(
            ErrorKind::NotALedger,
            format!(
                "no ledger at {}: the directory does not exist; create one with `lianlog init` or pass --ledger DIR",
                dir.display()
            ),
        ));
    }
    let path = dir.join(META_FILE);
    let text = match fsio::read_small_text_in_ledger(&path, 4096) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound && SegmentLog::segment_dir(dir).is_dir() => {
            // A log without its lianlog.json: a damaged ledger, not a stranger's directory.
            let origin = genesis_origin(dir).unwrap_or_else(|| "<the origin in entry 0>".to_string());
            return Err(Error::new(
                ErrorKind::NotALedger,
                format!(
                    "{} has a log but no {META_FILE}: the ledger is damaged. Restore it from an archive \
                     (`lianlog snapshot restore`), or recreate {META_FILE} with the one line \
                     {{\"format\":{FORMAT_VERSION},\"origin\":\"{origin}\"}} and run `lianlog verify`",
                    dir.display()
                ),
            ));
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::new(
                ErrorKind::NotALedger,
                format!(
                    "{} is not a lianlog ledger (it has no {META_FILE}); create one with `lianlog init` or pass --ledger DIR",
                    dir.display()
                ),
            ));
        }
        Err(err) if err.raw_os_error() == Some(libc::ELOOP) => return Err(fsio::link_refused(&path)),
        Err(err) => return Err(Error::io("read", &path, err)),
    };
    let meta: Value = serde_json::from_str(&text)
        .map_err(|err| Error::new(ErrorKind::NotALedger, format!("{}: not valid JSON ({err})", path.display())))?;
    let format = meta["format"].as_u64().unwrap_or(0);
    if format > FORMAT_VERSION {
        return Err(Error::new(
            ErrorKind::NotALedger,
            format!(
                "{} was written by a newer lianlog (format {format}; this build reads format {FORMAT_VERSION}); upgrade lianlog",
                dir.display()
            ),
        ));
    }
    if format != FORMAT_VERSION {
        return Err(Error::new(
            ErrorKind::NotALedger,
            format!("{}: unknown format {:?}", path.display(), meta["format"]),
        ));
    }
    meta["origin"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| Error::new(ErrorKind::NotALedger, format!("{}: no origin", path.display())))
}
