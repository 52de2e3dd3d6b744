//! The derived store: everything in sled is rebuildable from the log, and nothing in sled is the
//! only copy of a record.
//!
//! One sled tree with prefixed keys, so that each append's changes land in one atomic batch:
//! - `meta/applied` → number of log entries applied (u64 BE), `meta/head` → entry hash (32) and
//!   time in ms (i64 BE), `meta/tail` → log position after the last applied line,
//!   `meta/registry` → the key registry (JSON);
//! - `e` + seq (u64 BE) → [`Position`] of the stored line;
//! - `n` + level (u8) + index (u64 BE) → Merkle node: hash of a complete subtree.
//!
//! sled's `flush` is not a durability barrier on Linux (it uses `sync_file_range`), which is why
//! it holds only derived data: after a crash the store may be behind the log, and the ledger
//! catches it up on open.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::log::Position;
use crate::merkle::{Hash, NodeStore};
use crate::record::EntryHash;
use crate::registry::KeyRegistry;
use crate::time::Timestamp;

const APPLIED: &[u8] = b"meta/applied";
const HEAD: &[u8] = b"meta/head";
const TAIL: &[u8] = b"meta/tail";
const REGISTRY: &[u8] = b"meta/registry";

/// What the store says the ledger's head is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredHead {
    pub size: u64,
    pub hash: EntryHash,
    pub time: Option<Timestamp>,
    pub tail: Position,
}

pub struct Store {
    db: sled::Db,
    path: PathBuf,
    reads: std::sync::atomic::AtomicU64,
}

/// Changes from one or more appended entries, applied atomically.
#[derive(Default)]
pub struct StoreBatch {
    batch: sled::Batch,
}

impl StoreBatch {
    pub fn put_position(&mut self, seq: u64, position: Position) {
        self.batch.insert(&entry_key(seq)[..], &position.to_bytes()[..]);
    }

    pub fn put_node(&mut self, level: u8, index: u64, hash: &Hash) {
        self.batch.insert(&node_key(level, index)[..], &hash[..]);
    }

    pub fn put_head(&mut self, head: &StoredHead) {
        self.batch.insert(APPLIED, &head.size.to_be_bytes()[..]);
        let mut value = head.hash.0.to_vec();
        if let Some(time) = head.time {
            value.extend_from_slice(&time.as_millis().to_be_bytes());
        }
        self.batch.insert(HEAD, value);
        self.batch.insert(TAIL, &head.tail.to_bytes()[..]);
    }

    /// Apply projection changes (`None` deletes).
    pub fn put_changes(&mut self, changes: crate::projection::StateChanges) {
        for (key, value) in changes.writes {
            match value {
                Some(value) => self.batch.insert(key, value),
                None => self.batch.remove(key),
            }
        }
    }

    pub fn put_registry(&mut self, registry: &KeyRegistry) {
        // Serializing plain data (strings, integers, maps) cannot fail.
        let json = serde_json::to_vec(registry).unwrap_or_default();
        self.batch.insert(REGISTRY, json);
    }
}

fn entry_key(seq: u64) -> [u8; 9] {
    let mut key = [0u8; 9];
    key[0] = b'e';
    key[1..].copy_from_slice(&seq.to_be_bytes());
    key
}

fn node_key(level: u8, index: u64) -> [u8; 10] {
    let mut key = [0u8; 10];
    key[0] = b'n';
    key[1] = level;
    key[2..].copy_from_slice(&index.to_be_bytes());
    key
}

impl Store {
    pub fn path(ledger_dir: &Path) -> PathBuf {
        ledger_dir.join("index")
    }

    pub fn open(ledger_dir: &Path) -> Result<Store> {
        let path = Store::path(ledger_dir);
        let db = sled::Config::new()
            .path(&path)
            .cache_capacity(64 << 20)
            .mode(sled::Mode::HighThroughput)
            .flush_every_ms(Some(1000))
            .open()
            .map_err(|err| Error::store(&format!("opening {}", path.display()), err))?;
        Ok(Store { db, path, reads: std::sync::atomic::AtomicU64::new(0) })
    }

    /// Remove the store entirely (it is rebuilt from the log).
    pub fn destroy(ledger_dir: &Path) -> Result<()> {
        let path = Store::path(ledger_dir);
        match std::fs::remove_dir_all(&path) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(Error::io("remove the derived store", &path, err)),
        }
    }

    pub fn apply(&self, batch: StoreBatch) -> Result<()> {
        self.db.apply_batch(batch.batch).map_err(|err| Error::store("writing", err))
    }

    /// Ask sled to write its buffers (not a durability barrier; see the module docs).
    pub fn flush(&self) -> Result<()> {
        self.db.flush().map(|_| ()).map_err(|err| Error::store("flushing", err))
    }

    fn get(&self, key: &[u8]) -> Result<Option<sled::IVec>> {
        self.reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.db.get(key).map_err(|err| Error::store(&format!("reading {}", self.path.display()), err))
    }

    /// Storage reads so far (for tests that assert O(log n) costs).
    pub fn read_count(&self) -> u64 {
        self.reads.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn head(&self) -> Result<Option<StoredHead>> {
        let (Some(applied), Some(head), Some(tail)) = (self.get(APPLIED)?, self.get(HEAD)?, self.get(TAIL)?) else {
            return Ok(None);
        };
        let corrupt =
            || Error::new(crate::ErrorKind::Store, "derived store: malformed head record; run `lianlog reindex`");
        let size = u64::from_be_bytes(applied.as_ref().try_into().map_err(|_| corrupt())?);
        if head.len() != 32 && head.len() != 40 {
            return Err(corrupt());
        }
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&head[..32]);
        let time = (head.len() == 40).then(|| {
            let mut millis = [0u8; 8];
            millis.copy_from_slice(&head[32..]);
            Timestamp::from_millis(i64::from_be_bytes(millis))
        });
        let tail = Position::from_bytes(&tail).ok_or_else(corrupt)?;
        Ok(Some(StoredHead { size, hash: EntryHash(hash), time, tail }))
    }

    pub fn registry(&self) -> Result<Option<KeyRegistry>> {
        let Some(bytes) = self.get(REGISTRY)? else { return Ok(None) };
        let registry: KeyRegistry = serde_json::from_slice(&bytes).map_err(|err| {
            Error::new(
                crate::ErrorKind::Store,
                format!("derived store: malformed key registry ({err}); run `lianlog reindex`"),
            )
        })?;
        registry.restore().map(Some).map_err(|err| {
            Error::new(
                crate::ErrorKind::Store,
                format!("derived store: bad key registry ({err}); run `lianlog reindex`"),
            )
        })
    }

    /// Keys and values under `prefix`, in key order. Each item counts as one storage read.
    pub fn scan_prefix(&self, prefix: &[u8]) -> impl Iterator<Item = Result<(Vec<u8>, Vec<u8>)>> + '_ {
        self.db.scan_prefix(prefix).map(move |item| {
            self.reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            item.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(|err| Error::store("scanning", err))
        })
    }

    /// Remove every key under `prefix` in one batch (used to rebuild projections).
    pub fn clear_prefix(&self, prefix: &[u8]) -> Result<()> {
        let mut batch = sled::Batch::default();
        for item in self.db.scan_prefix(prefix).keys() {
            batch.remove(item.map_err(|err| Error::store("scanning", err))?);
        }
        self.db.apply_batch(batch).map_err(|err| Error::store("writing", err))
    }

    pub fn position(&self, seq: u64) -> Result<Option<Position>> {
        Ok(self.get(&entry_key(seq))?.and_then(|bytes| Position::from_bytes(&bytes)))
    }
}

impl crate::projection::StateRead for Store {
    fn get_state(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.get(key)?.map(|v| v.to_vec()))
    }
}

/// Storage errors from Merkle node reads.
impl NodeStore for Store {
    type Error = Error;

    fn node(&self, level: u8, index: u64) -> Result<Hash> {
        let bytes = self.get(&node_key(level, index))?.ok_or_else(|| {
            Error::new(
                crate::ErrorKind::Store,
                format!("derived store: Merkle node ({level}, {index}) is missing; run `lianlog reindex`"),
            )
        })?;
        bytes.as_ref().try_into().map_err(|_| {
            Error::new(crate::ErrorKind::Store, "derived store: malformed Merkle node; run `lianlog reindex`")
        })
    }
}
