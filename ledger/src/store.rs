//! The derived store: everything in sled is rebuildable from the log, and nothing in sled is the
//! only copy of a record.
//!
//! Two kinds of storage in the directory `index/`:
//! - three append-only arrays of fixed-size items, because they grow by exactly one item per entry
//!   and are read by position (a sorted tree would only add cost: measured, see
//!   docs/PERFORMANCE.md):
//!   - `index/positions.bin`: the [`Position`] of seq `s` at byte `16·s` (segment, offset; u64 BE);
//!   - `index/merkle.bin`: the Merkle nodes (hashes of complete subtrees), 32 bytes each, in the
//!     order the tree completes them (post-order; [`node_slot`]);
//!   - `index/records.bin`: the [`crate::record::Record::replay_id`] of seq `s` at byte `16·s`,
//!     so that a line found behind the store can be checked for being a replayed record without
//!     reading the log before it ([`Store::find_record_ids`]);
//! - one sled tree with prefixed keys for everything looked up by key, so that each append's
//!   changes land in one atomic batch:
//!   - `meta/applied` → number of log entries applied (u64 BE), `meta/head` → entry hash (32) and
//!     time in ms (i64 BE), `meta/tail` → log position after the last applied line,
//!     `meta/registry` → the key registry (JSON), `meta/layout` → [`STORE_LAYOUT`] (u64 BE);
//!   - the projections, under the prefix `P` ([`crate::projection`]).
//!
//! A batch writes the arrays first, then the sled batch whose `meta/applied` makes their new items
//! count: items past `meta/applied` are leftovers of an interrupted batch and are cut on open.
//! Neither sled's `flush` (which uses `sync_file_range` on Linux) nor the arrays are durability
//! barriers, which is why all of this holds only derived data: after a crash the store may be
//! behind the log, and the ledger catches it up on open; arrays shorter than `meta/applied` (a
//! power loss) make the store count as damaged, and it is rebuilt from the log.

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
const LAYOUT: &[u8] = b"meta/layout";

/// The layout of what this version writes in the store; a store in another layout is rebuilt
/// from the log on open. 2: indexes in chunks of seqs (`projection::layout::index_chunk`) rather
/// than a key per seq. 3: record ids in `records.bin`. 4: rectification items (v2), supervision
/// orders, letter inquiries, assessments and circulars (issue 17). 5: a collective decision keeps
/// its approvers as listed and each approval its date.
const STORE_LAYOUT: u64 = 5;

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
    positions: ItemFile,
    nodes: ItemFile,
    records: ItemFile,
    reads: std::sync::atomic::AtomicU64,
}

/// Changes from one or more appended entries. Applied atomically up to [`ATOMIC_WRITES`] writes;
/// a larger batch is applied in parts under the marker `meta/partial`, so that a crash between
/// parts is seen on open (and the store rebuilt) rather than left half-applied.
#[derive(Default)]
pub struct StoreBatch {
    /// The meta writes (head, registry) go last: with them the batch counts.
    meta: Vec<(&'static [u8], Vec<u8>)>,
    writes: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    positions: Run,
    nodes: Run,
    records: Run,
}

/// Most writes applied in one sled batch. sled holds every page version a batch replaces until
/// the batch ends, so one batch for a large import grew to gigabytes and slowed each insert
/// (measured: 100,000 records took 13.7 s and 2.8 GB in one batch; see docs/PERFORMANCE.md).
pub(crate) const ATOMIC_WRITES: usize = 20_000;

const PARTIAL: &[u8] = b"meta/partial";

/// Consecutive items of an [`ItemFile`] to write, starting at item `first`.
#[derive(Default)]
struct Run {
    first: u64,
    bytes: Vec<u8>,
}

impl Run {
    fn push(&mut self, item: u64, bytes: &[u8], size: u64) {
        if self.bytes.is_empty() {
            self.first = item;
        }
        // Entries are staged in seq order and the tree completes its nodes in slot order, so a
        // batch's items are always consecutive.
        debug_assert_eq!(self.first + self.bytes.len() as u64 / size, item, "items out of order");
        self.bytes.extend_from_slice(bytes);
    }
}

impl StoreBatch {
    pub(crate) fn put_position(&mut self, seq: u64, position: Position) {
        self.positions.push(seq, &position.to_bytes(), POSITION_BYTES);
    }

    pub(crate) fn put_record_id(&mut self, seq: u64, id: &[u8; 16]) {
        self.records.push(seq, id, RECORD_ID_BYTES);
    }

    pub(crate) fn put_node(&mut self, level: u8, index: u64, hash: &Hash) {
        self.nodes.push(node_slot(level, index), hash, NODE_BYTES);
    }

    pub(crate) fn put_head(&mut self, head: &StoredHead) {
        self.meta.push((APPLIED, head.size.to_be_bytes().to_vec()));
        let mut value = head.hash.0.to_vec();
        if let Some(time) = head.time {
            value.extend_from_slice(&time.as_millis().to_be_bytes());
        }
        self.meta.push((HEAD, value));
        self.meta.push((TAIL, head.tail.to_bytes().to_vec()));
        self.meta.push((LAYOUT, STORE_LAYOUT.to_be_bytes().to_vec()));
    }

    /// Apply projection changes (`None` deletes).
    pub(crate) fn put_changes(&mut self, changes: crate::projection::StateChanges) {
        self.writes.extend(changes.writes);
    }

    pub(crate) fn put_registry(&mut self, registry: &KeyRegistry) {
        // Serializing plain data (strings, integers, maps) cannot fail.
        let json = serde_json::to_vec(registry).unwrap_or_default();
        self.meta.push((REGISTRY, json));
    }
}

const POSITION_BYTES: u64 = 16;
const NODE_BYTES: u64 = 32;
const RECORD_ID_BYTES: u64 = 16;

/// Where Merkle node `(level, index)` lies in `merkle.bin`, counted in nodes: the nodes are
/// written in the order the tree completes them, so the node is preceded by every node of the
/// first `m = index·2^level` leaves (`2m − popcount(m)` of them) and by the other nodes of its own
/// subtree (`2^(level+1) − 2`).
pub(crate) fn node_slot(level: u8, index: u64) -> u64 {
    let leaves_before = index << level;
    2 * leaves_before - u64::from(leaves_before.count_ones()) + (2u64 << level) - 2
}

/// The number of Merkle nodes a tree of `size` leaves has written.
pub(crate) fn node_count(size: u64) -> u64 {
    2 * size - u64::from(size.count_ones())
}

/// A file of fixed-size items, appended at the end and read by item number with `pread`.
struct ItemFile {
    file: std::fs::File,
    path: PathBuf,
    item_bytes: u64,
}

impl ItemFile {
    fn open(path: PathBuf, item_bytes: u64) -> Result<ItemFile> {
        let file = crate::fsio::open_or_create_in_ledger(&path)?;
        Ok(ItemFile { file, path, item_bytes })
    }

    fn write_run(&self, run: &Run) -> Result<()> {
        use std::os::unix::fs::FileExt as _;
        if run.bytes.is_empty() {
            return Ok(());
        }
        self.file
            .write_all_at(&run.bytes, run.first * self.item_bytes)
            .map_err(|err| Error::io("write", &self.path, err))
    }

    /// Item `number`, or `None` past the end.
    fn read(&self, number: u64, out: &mut [u8]) -> Result<bool> {
        use std::os::unix::fs::FileExt as _;
        match self.file.read_exact_at(out, number * self.item_bytes) {
            Ok(()) => Ok(true),
            Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
            Err(err) => Err(Error::io("read", &self.path, err)),
        }
    }

    /// Keep exactly `items` items; fails (as damage) if there are fewer.
    fn cut_to(&self, items: u64) -> Result<()> {
        let length = self.file.metadata().map_err(|err| Error::io("inspect", &self.path, err))?.len();
        let have = length / self.item_bytes;
        if have < items {
            return Err(Error::new(
                crate::ErrorKind::Store,
                format!("derived store: {} holds {have} items, {items} expected", self.path.display()),
            ));
        }
        // Whole items past the head, or part of one: what an interrupted batch left.
        if length != items * self.item_bytes {
            self.file.set_len(items * self.item_bytes).map_err(|err| Error::io("truncate", &self.path, err))?;
        }
        Ok(())
    }
}

const POSITIONS_FILE: &str = "positions.bin";
const NODES_FILE: &str = "merkle.bin";

/// The position of the last entry whose position the store's item file holds, read without
/// opening the store (sled) and without changing anything; `None` when there is none. The store
/// writes a position only after its entry was acknowledged, so an entry at or before this
/// position was acknowledged (the converse does not hold: the item file is not fsync'd).
pub(crate) fn last_known_position(ledger_dir: &Path) -> Result<Option<Position>> {
    use std::os::unix::fs::FileExt as _;
    let path = Store::path(ledger_dir).join(POSITIONS_FILE);
    let file = match crate::fsio::open_read(&path, crate::fsio::Links::Refuse) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) if err.raw_os_error() == Some(libc::ELOOP) => return Err(crate::fsio::link_refused(&path)),
        Err(err) => return Err(Error::io("read", &path, err)),
    };
    let items = file.metadata().map_err(|err| Error::io("read", &path, err))?.len() / POSITION_BYTES;
    if items == 0 {
        return Ok(None);
    }
    let mut bytes = [0u8; POSITION_BYTES as usize];
    file.read_exact_at(&mut bytes, (items - 1) * POSITION_BYTES).map_err(|err| Error::io("read", &path, err))?;
    Ok(Position::from_bytes(&bytes))
}

/// The derived store's directory (`index/`) inside the ledger directory `ledger_dir`: derived data
/// only, which [`crate::Ledger::open`] rebuilds or catches up from the log (docs/ARCHITECTURE.md,
/// "Ledger directory"). Public for tools that handle the store as a whole, such as the benchmark
/// that leaves it behind the log to time a catch-up.
pub fn store_dir(ledger_dir: &Path) -> PathBuf {
    Store::path(ledger_dir)
}

impl Store {
    pub fn path(ledger_dir: &Path) -> PathBuf {
        ledger_dir.join("index")
    }

    pub fn open(ledger_dir: &Path) -> Result<Store> {
        let path = Store::path(ledger_dir);
        // Created here, 0700, so that sled's files (which sled creates with its own modes) are
        // private to the owner whatever the umask; a link is refused.
        crate::fsio::refuse_link(&path)?;
        crate::fsio::create_private_dir(&path)?;
        let db = sled::Config::new()
            .path(&path)
            .cache_capacity(64 << 20)
            .mode(sled::Mode::HighThroughput)
            .flush_every_ms(Some(1000))
            .open()
            .map_err(|err| Error::store(&format!("opening {}", path.display()), err))?;
        let positions = ItemFile::open(path.join(POSITIONS_FILE), POSITION_BYTES)?;
        let nodes = ItemFile::open(path.join(NODES_FILE), NODE_BYTES)?;
        let records = ItemFile::open(path.join("records.bin"), RECORD_ID_BYTES)?;
        Ok(Store { db, path, positions, nodes, records, reads: std::sync::atomic::AtomicU64::new(0) })
    }

    /// Make the item files hold exactly the items of the first `size` entries: cut what an
    /// interrupted batch left past them; a damaged store (an error) if items are missing.
    pub(crate) fn trim_to(&self, size: u64) -> Result<()> {
        self.positions.cut_to(size)?;
        self.records.cut_to(size)?;
        self.nodes.cut_to(node_count(size))
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
        // Items first: they count only once `meta/applied` (in the sled batch) covers them.
        self.positions.write_run(&batch.positions)?;
        self.records.write_run(&batch.records)?;
        self.nodes.write_run(&batch.nodes)?;
        let write = |part: sled::Batch| self.db.apply_batch(part).map_err(|err| Error::store("writing", err));
        let in_parts = batch.writes.len() > ATOMIC_WRITES;
        let mut part = sled::Batch::default();
        if in_parts {
            part.insert(PARTIAL, &b"1"[..]);
        }
        let mut count = 0;
        for (key, value) in batch.writes {
            match value {
                Some(value) => part.insert(key, value),
                None => part.remove(key),
            }
            count += 1;
            if count == ATOMIC_WRITES {
                write(std::mem::take(&mut part))?;
                count = 0;
            }
        }
        for (key, value) in batch.meta {
            part.insert(key, value);
        }
        if in_parts {
            part.remove(PARTIAL);
        }
        write(part)
    }

    /// Whether a batch applied in parts was interrupted (the store is then to be rebuilt).
    pub fn interrupted(&self) -> Result<bool> {
        Ok(self.get(PARTIAL)?.is_some())
    }

    /// Whether the store was written in this version's layout (an empty store is).
    pub(crate) fn layout_is_current(&self) -> Result<bool> {
        Ok(match self.get(LAYOUT)? {
            Some(layout) => layout.as_ref() == STORE_LAYOUT.to_be_bytes(),
            None => self.get(APPLIED)?.is_none(),
        })
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

    pub fn position(&self, seq: u64) -> Result<Option<Position>> {
        self.reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut bytes = [0u8; POSITION_BYTES as usize];
        Ok(if self.positions.read(seq, &mut bytes)? { Position::from_bytes(&bytes) } else { None })
    }
}

impl Store {
    /// Which of `ids` (record id → the seq it was found at) the entries `from..size` already hold:
    /// the first such (seq found at, seq of the earlier copy), by the seq found at. One sequential
    /// read of 16 bytes per entry, done only for lines the store has not seen yet and for the
    /// recent entries a submitted record could repeat.
    pub(crate) fn find_record_ids(
        &self,
        ids: &std::collections::HashMap<[u8; 16], u64>,
        from: u64,
        size: u64,
    ) -> Result<Option<(u64, u64)>> {
        if ids.is_empty() {
            return Ok(None);
        }
        // Read with `pread` in blocks of 64k ids (1 MiB), independent of any file cursor.
        const BLOCK: u64 = 1 << 16;
        let mut found: Option<(u64, u64)> = None;
        let mut block = vec![0u8; (BLOCK * RECORD_ID_BYTES) as usize];
        let mut first = from;
        while first < size {
            let count = BLOCK.min(size - first);
            let bytes = &mut block[..(count * RECORD_ID_BYTES) as usize];
            if !self.records.read(first, bytes)? {
                return Err(Error::new(
                    crate::ErrorKind::Store,
                    format!("derived store: {} holds fewer than {size} record ids", self.records.path.display()),
                ));
            }
            for (offset, id) in bytes.chunks_exact(RECORD_ID_BYTES as usize).enumerate() {
                if let Some(&later) = ids.get(id)
                    && found.is_none_or(|(first_later, _)| later < first_later)
                {
                    found = Some((later, first + offset as u64));
                }
            }
            first += count;
        }
        Ok(found)
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
        self.reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut hash = [0u8; NODE_BYTES as usize];
        // Trees of 2^62 leaves and more cannot be written; this keeps `node_slot` from overflowing.
        if level >= 62 || index >= (1u64 << 62) >> level {
            return Err(Error::new(crate::ErrorKind::Store, format!("Merkle node ({level}, {index}) cannot exist")));
        }
        if !self.nodes.read(node_slot(level, index), &mut hash)? {
            return Err(Error::new(
                crate::ErrorKind::Store,
                format!("derived store: Merkle node ({level}, {index}) is missing; run `lianlog reindex`"),
            ));
        }
        Ok(hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::CompactRange;

    #[test]
    fn node_slots_follow_the_order_the_tree_completes_nodes() {
        let mut range = CompactRange::new();
        let mut written = 0u64;
        for leaf in 0..1000u64 {
            let mut hash = [0u8; 32];
            hash[..8].copy_from_slice(&leaf.to_be_bytes());
            for ((level, index), _) in range.push(hash).unwrap() {
                assert_eq!(node_slot(level, index), written, "node ({level}, {index})");
                written += 1;
            }
            assert_eq!(node_count(leaf + 1), written);
        }
    }

    #[test]
    fn items_past_the_applied_head_are_cut_and_missing_items_are_damage() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut batch = StoreBatch::default();
        for seq in 0..3 {
            batch.put_position(seq, Position { segment: 0, offset: seq * 10 });
        }
        store.apply(batch).unwrap();
        store.positions.cut_to(3).unwrap();
        assert_eq!(store.position(2).unwrap(), Some(Position { segment: 0, offset: 20 }));
        store.positions.cut_to(2).unwrap();
        assert_eq!(store.position(2).unwrap(), None);
        let err = store.trim_to(5).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Store);
    }
}
