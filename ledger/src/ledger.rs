//! A ledger directory: the durable log, the derived store, the key registry, and the operations
//! that tie them together (init, open, append, import, read, verify, export, reindex).
//!
//! Layout of a ledger directory:
//! - `lianlog.json` — `{"format":1,"origin":…}`; a newer format is refused;
//! - `log-key.pem` — the log key (name = origin), mode 0600; it signs checkpoints only;
//! - `log/*.jsonl` — the record of truth ([`crate::log`]);
//! - `index/` — the derived store ([`crate::store`]), rebuilt from the log whenever in doubt;
//! - `import.intent` — where an unfinished batch began, so that a crash never leaves half of it;
//! - `lock` — held (flock) by the one process that has the ledger open.
//!
//! An append is acknowledged only after its line is on disk; the store is updated afterwards.
//! The directory is created 0700 and every file 0600 ([`crate::fsio`]); no file in it is opened
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

use crate::error::Result;
use crate::keys::SecretKey;
use crate::log::{Position, SegmentLog};
use crate::merkle::CompactRange;
use crate::record::{EntryHash, ParsedLine};
use crate::registry::KeyRegistry;
use crate::store::{Store, StoreBatch, StoredHead};
use crate::time::Timestamp;

use offline::{check_log_key, read_log_key};

mod append;
mod import;
mod offline;
mod open;
mod queries;
mod read;
mod recovery;
mod redaction;
mod replay;
mod unseen;

pub use crate::replacement::{ReplacementScan, Replacements};
pub use append::StagedBatch;
pub use import::{MAX_IMPORT_BYTES, parse_import};
pub use offline::{Exported, export_dir, export_log_key, verify_dir};
pub use redaction::{Redacted, Replacement};
pub use replay::{PastState, ReplayReport, replacements_in, replay_projections};

/// The storage format this build writes and reads.
pub const FORMAT_VERSION: u64 = 1;
const META_FILE: &str = "lianlog.json";
const LOG_KEY_FILE: &str = "log-key.pem";
const LOCK_FILE: &str = "lock";
const INTENT_FILE: &str = "import.intent";

/// Largest canonical body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Most records in one import.
pub const MAX_BATCH: usize = 1_000_000;

/// A record to append: its kind, body schema version and body.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub kind: String,
    pub v: u64,
    pub body: Value,
}

impl Draft {
    /// A draft at the kind's current schema version.
    pub fn new(kind: impl Into<String>, body: Value) -> Draft {
        let kind = kind.into();
        let v = crate::schema::current_version(&kind);
        Draft { kind, v, body }
    }
}

/// What an append acknowledges: the entry is durable at this seq with this hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub seq: u64,
    pub hash: EntryHash,
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
        // Saves a catch-up on the next open; correctness never depends on it.
        let _ = self.store.flush();
    }
}

impl Ledger {
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Number of entries.
    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn head(&self) -> EntryHash {
        self.head
    }

    pub fn root(&self) -> crate::merkle::Hash {
        self.tree.root()
    }

    pub fn registry(&self) -> &KeyRegistry {
        &self.registry
    }

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
