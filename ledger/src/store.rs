//! The derived store: everything in it is rebuildable from the log, and nothing in it is the
//! only copy of a record.
//!
//! Two kinds of storage in the directory `index/`:
//! - append-only files of fixed-size items (`store/items.rs`), because they grow by a few items
//!   per entry and are read by position (a sorted tree would only add cost, and sled's open time,
//!   disk use and write cost grow with what it holds: measured, see docs/PERFORMANCE.md):
//!   - `index/positions.bin`: the [`Position`] of seq `s` at byte `16·s` (segment, offset; u64 BE);
//!   - `index/merkle.bin`: the Merkle nodes (hashes of complete subtrees), 32 bytes each, in the
//!     order the tree completes them (post-order; [`node_slot`]);
//!   - `index/records.bin`: the [`crate::record::Record::replay_id`] of seq `s` at byte `16·s`,
//!     so that a line found behind the store can be checked for being a replayed record without
//!     reading the log before it ([`Store::find_record_ids`]);
//!   - `index/postings.bin`: the person, unit and kind indexes, a posting (seq, previous posting)
//!     per seq an index gains (`store/postings.rs`);
//!   - `index/facts-at.bin` and `index/facts.bin`: what each record asserted (`store/facts.rs`);
//! - the state, in two tiers (`store/state.rs`): sled, in `index/state-<g>/`, for what changed
//!   since the last compaction, and one sorted table (`index/state-<g>.table`, `store/table.rs`)
//!   for the rest, so that sled — whose open time and write cost follow its file — stays small
//!   however large the ledger grows. sled's keys are prefixed, so that each append's changes land
//!   in one atomic batch:
//!   - `meta/head` → in one value (one write per append, not five): the number of log entries
//!     applied, the log position after the last applied line (16), how many postings and facts
//!     bytes count (u64 BE each), the head's entry hash (32) and its time in ms (i64 BE);
//!     `meta/registry` → the key registry (JSON), `meta/layout` → [`STORE_LAYOUT`] (u64 BE,
//!     written with a store's first batch), `meta/pending` → state writes since the last
//!     compaction;
//!   - the projections' case state and statistics, under the prefix `P` ([`crate::projection`]);
//!   - the head of each index (`I…`), postings removed (`T…`) and facts a correction replaced
//!     (`F…`).
//!
//! A batch writes the item files first, then the sled batch whose meta values make their new
//! items count: items past them are leftovers of an interrupted batch and are cut on open. A
//! batch's state is written while its log is ([`Store::plan`]) when the batch makes a compaction
//! due — into the next generation's table, which counts once the pointer names it — or when it is
//! an import's ([`WRITE_BESIDE_LOG`] entries) — into sled under the marker `meta/partial`, which
//! only the batch's last sled batch removes, after the log is durable; a store left marked is
//! rebuilt from the log on open. A run of batches (an import in batches) holds its state in
//! memory instead ([`Store::begin_holding`]) and writes it once, into a compaction's table or,
//! at its end, into sled: until then sled is untouched and a crash only leaves the store behind.
//! Neither sled's `flush` (which uses `sync_file_range` on Linux) nor the item files are
//! durability barriers, which is why all of this holds only derived data: after a crash the store
//! may be behind the log, and the ledger catches it up on open; item files shorter than the meta
//! values (a power loss) make the store count as damaged, and it is rebuilt from the log.
//!
//! To the projections the store looks like key-value state ([`crate::projection::StateRead`],
//! `scan_prefix`): the index chunks and facts buckets a replay in memory writes as keys are
//! rebuilt from the item files on demand, byte for byte, so that `replay` compares them all.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError, RwLock};

use items::{ItemFile, Run};

use crate::error::{Error, Result};
use crate::log::Position;
use crate::merkle::{Hash, NodeStore};
use crate::record::EntryHash;
use crate::registry::KeyRegistry;
use crate::time::Timestamp;

const HEAD: &[u8] = b"meta/head";
const REGISTRY: &[u8] = b"meta/registry";
const LAYOUT: &[u8] = b"meta/layout";

mod facts;
mod items;
mod postings;
mod state;
mod table;

/// The layout of what this version writes in the store; a store in another layout is rebuilt
/// from the log on open. 2: indexes in chunks of seqs (`projection::layout::index_chunk`) rather
/// than a key per seq. 3: record ids in `records.bin`. 4: rectification items (v2), supervision
/// orders, letter inquiries, assessments and circulars (issue 17). 5: a collective decision keeps
/// its approvers as listed and each approval its date. 6: indexes and record facts in append-only
/// files (postings, facts), facts buckets in seq order, an index removal takes the newest
/// occurrence. 7: the state in two tiers, sled in `index/state-<g>/` for what changed since the
/// last compaction and a sorted table for the rest (`store/state.rs`); sled values tagged.
const STORE_LAYOUT: u64 = 7;

/// What the store says the ledger's head is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredHead {
    pub size: u64,
    pub hash: EntryHash,
    pub time: Option<Timestamp>,
    pub tail: Position,
}

pub struct Store {
    /// sled of the current generation: meta values and the state changed since the last
    /// compaction (`store/state.rs`).
    db: sled::Db,
    /// The state as of the last compaction (none in generation 0).
    table: Option<table::Table>,
    generation: u64,
    /// State writes sled took since the last compaction.
    pending: u64,
    /// While a run of batches holds its state in memory ([`Store::begin_holding`]): what it
    /// holds, counting in this process only (none of it in sled or a table yet).
    held: Option<Held>,
    /// A sled file of layout 6 or earlier lies in `index/` itself: the store is rebuilt.
    earlier_layout: bool,
    path: PathBuf,
    positions: ItemFile,
    nodes: ItemFile,
    records: ItemFile,
    postings: ItemFile,
    facts_at: ItemFile,
    facts: ItemFile,
    /// Postings marked removed (`T…` in sled; few: corrections only).
    removed: RwLock<HashSet<u64>>,
    /// Facts a correction replaced (`F…` in sled; few: corrections only).
    overrides: RwLock<HashMap<u64, Option<Vec<u8>>>>,
    counts: Mutex<Counts>,
    reads: std::sync::atomic::AtomicU64,
}

/// State and meta writes of a run of batches (an import) held in memory rather than written to
/// sled ([`Store::begin_holding`]): sled takes 3-4 µs a write and a compaction merges those writes
/// into the next table soon after anyway, so a large import writes them straight into a table.
/// Reads see them first (the newest tier); a compaction merges them into the next table with
/// sled's; [`Store::end_holding`] writes what is left. Until then sled is not touched, so a crash
/// leaves the store as it was when it last wrote them, and the ledger catches it up on open.
#[derive(Default)]
struct Held {
    state: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    meta: BTreeMap<&'static [u8], Vec<u8>>,
}

/// How a hold ends ([`Store::end_holding`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HoldEnd {
    /// As an import ends: compact if the next appends would soon make a compaction due.
    Settle,
    /// Into sled, never compacting: after a batch whose write failed, the ledger is to be looked
    /// at, not compacted.
    IntoSled,
}

/// Most state writes held in memory ([`Held`]), about 40 MiB. Up to a table of four times as many
/// keys a batch that would pass it makes a compaction due (`state::hold_compacts_at`); over a
/// larger table a hold compacts at a quarter of the table, and what it holds past this is written
/// to sled meanwhile.
pub(super) const HELD_MAX: usize = 1 << 18;

/// How much of the item files counts: entries applied, postings, facts bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counts {
    applied: u64,
    postings: u64,
    facts_end: u64,
}

/// Changes from one or more appended entries. Applied atomically up to [`ATOMIC_WRITES`] writes;
/// a larger batch is applied in parts under the marker `meta/partial`, so that a crash between
/// parts is seen on open (and the store rebuilt) rather than left half-applied.
#[derive(Default)]
pub struct StoreBatch {
    /// The meta writes (head, registry) go last: with them the batch counts.
    meta: Vec<(&'static [u8], Vec<u8>)>,
    head: Option<StoredHead>,
    writes: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    positions: Run,
    nodes: Run,
    records: Run,
    /// Index changes, in the order made (prefix, seq, added).
    index_ops: Vec<(Vec<u8>, u64, bool)>,
    /// The facts each seq now has.
    facts: BTreeMap<u64, Option<Vec<u8>>>,
    /// The facts and index changes laid out by [`Store::plan`], if they were.
    planned: Option<Planned>,
}

/// A batch's facts and index postings laid out against the store as it stands, for entries
/// `entries` ([`Store::plan`]): what is left for [`Store::apply`] is writing them.
struct Planned {
    entries: std::ops::Range<u64>,
    counts: Counts,
    facts: facts::FactsWrites,
    postings: postings::PostingWrites,
    /// What [`Store::plan`] already wrote of the batch's state.
    written: Written,
}

/// What [`Store::plan`] wrote of a bulk batch's state while the log was written, none of it
/// counting until [`Store::apply`] writes what makes the batch count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Written {
    /// Nothing: the state is written by [`Store::apply`].
    Nothing,
    /// The next generation's table over generation `over`, the batch's state merged in (a batch
    /// that makes a compaction due): what is left is switching to that generation.
    NextTable { over: u64 },
    /// `writes` state writes into sled of generation `generation`, under the partial marker:
    /// what is left is the last sled batch, with the meta values, that removes the marker.
    Sled { generation: u64, writes: u64 },
    /// Nothing, but the batch's writes hold all its state writes, sorted, each key once: what is
    /// left is holding them in memory ([`Held`]).
    Sorted,
}

impl Written {
    /// Whether what was written was written over the store at `generation`.
    fn over(&self, generation: u64) -> bool {
        match *self {
            Written::Nothing | Written::Sorted => true,
            Written::NextTable { over } => over == generation,
            Written::Sled { generation: written, .. } => written == generation,
        }
    }
}

/// Most writes applied in one sled batch. sled holds every page version a batch replaces until
/// the batch ends, so one batch for a large import grew to gigabytes and slowed each insert
/// (measured: 100,000 records took 13.7 s and 2.8 GB in one batch; see docs/PERFORMANCE.md).
pub(crate) const ATOMIC_WRITES: usize = 20_000;

/// State writes pending in sled after a bulk write (an import, a catch-up) that make it worth a
/// compaction at its end.
pub(crate) const SETTLE_AFTER: u64 = state::COMPACT_AFTER / 8;

const PARTIAL: &[u8] = b"meta/partial";

/// A batch of at least this many entries (an import) that makes no compaction due has its state
/// written into sled while its log is written ([`Store::plan`]), marked partial until it counts.
/// Smaller batches (a server's group commits) are written after the log: their writes cost
/// little, and a crash in between then only leaves the store behind the log (caught up on
/// open) rather than marked (rebuilt).
pub(crate) const WRITE_BESIDE_LOG: u64 = 1_024;

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
        self.head = Some(*head);
    }

    /// Apply projection changes (`None` deletes).
    pub(crate) fn put_changes(&mut self, mut changes: crate::projection::StateChanges) {
        self.index_ops.append(&mut changes.postings);
        self.facts.append(&mut changes.facts);
        self.writes.extend(changes.into_writes());
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
        let earlier_layout = std::fs::symlink_metadata(path.join("db")).is_ok();
        let generation = state::current_generation(&path)?;
        state::remove_other_generations(&path, generation);
        let db = state::open_sled(&state::sled_dir(&path, generation))?;
        let table = match generation {
            0 => None,
            _ => {
                let table = table::Table::open(state::table_path(&path, generation))?;
                // Damage found now is rebuilt on open, rather than met by a later read.
                table.check_index()?;
                Some(table)
            }
        };
        let positions = ItemFile::open(path.join(POSITIONS_FILE), POSITION_BYTES)?;
        let nodes = ItemFile::open(path.join(NODES_FILE), NODE_BYTES)?;
        let records = ItemFile::open(path.join("records.bin"), RECORD_ID_BYTES)?;
        let postings = ItemFile::open(path.join("postings.bin"), postings::POSTING_BYTES)?;
        let facts_at = ItemFile::open(path.join("facts-at.bin"), facts::FACTS_AT_BYTES)?;
        let facts = ItemFile::open(path.join("facts.bin"), 1)?;
        let mut store = Store {
            db,
            table,
            generation,
            pending: 0,
            held: None,
            earlier_layout,
            path,
            positions,
            nodes,
            records,
            postings,
            facts_at,
            facts,
            removed: RwLock::default(),
            overrides: RwLock::default(),
            counts: Mutex::default(),
            reads: std::sync::atomic::AtomicU64::new(0),
        };
        store.pending = match store.get_meta(state::PENDING)? {
            Some(bytes) => u64::from_be_bytes(bytes.as_ref().try_into().map_err(|_| malformed())?),
            None => 0,
        };
        store.load_small_state()?;
        Ok(store)
    }

    /// Read the counts, removed postings and replaced facts from sled into memory.
    fn load_small_state(&self) -> Result<()> {
        let counts = self.stored_counts()?;
        *self.counts.lock().unwrap_or_else(PoisonError::into_inner) = counts;
        let mut removed = HashSet::new();
        for item in self.state_scan(&[postings::REMOVED_TAG]) {
            let (key, _) = item?;
            let number = key.get(1..).and_then(|b| <[u8; 8]>::try_from(b).ok()).ok_or_else(malformed)?;
            removed.insert(u64::from_be_bytes(number));
        }
        *self.removed.write().unwrap_or_else(PoisonError::into_inner) = removed;
        let mut overrides = HashMap::new();
        for item in self.state_scan(&[facts::OVERRIDE_TAG]) {
            let (key, value) = item?;
            let seq = key.get(1..).and_then(|b| <[u8; 8]>::try_from(b).ok()).ok_or_else(malformed)?;
            overrides.insert(u64::from_be_bytes(seq), facts::override_from(&value).ok_or_else(malformed)?);
        }
        *self.overrides.write().unwrap_or_else(PoisonError::into_inner) = overrides;
        Ok(())
    }

    /// The counts `meta/head` records (all 0 in an empty store).
    fn stored_counts(&self) -> Result<Counts> {
        Ok(match self.head_value()? {
            None => Counts::default(),
            Some((head, postings, facts_end)) => Counts { applied: head.size, postings, facts_end },
        })
    }

    fn counts(&self) -> Result<Counts> {
        Ok(*self.counts.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Make the item files hold exactly the items of the first `size` entries: cut what an
    /// interrupted batch left past them; a damaged store (an error) if items are missing.
    pub(crate) fn trim_to(&self, size: u64) -> Result<()> {
        self.positions.cut_to(size)?;
        self.records.cut_to(size)?;
        self.nodes.cut_to(node_count(size))?;
        self.facts_at.cut_to(size)?;
        let Counts { postings, facts_end, .. } = self.stored_counts()?;
        self.postings.cut_to(postings)?;
        self.facts.cut_to(facts_end)?;
        *self.counts.lock().unwrap_or_else(PoisonError::into_inner) = Counts { applied: size, postings, facts_end };
        Ok(())
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

    /// Apply a batch: its items, then its state and meta values in sled (the last sled batch
    /// makes it count); then compact if sled holds enough changes (`store/state.rs`).
    pub fn apply(&mut self, mut batch: StoreBatch) -> Result<()> {
        let counts = self.counts()?;
        let first = if batch.positions.bytes.is_empty() { counts.applied } else { batch.positions.first };
        let end = first + batch.positions.bytes.len() as u64 / POSITION_BYTES;
        let (facts, postings, written) = match batch.planned.take() {
            Some(planned)
                if planned.entries == (first..end)
                    && planned.counts == counts
                    && planned.written.over(self.generation) =>
            {
                (planned.facts, planned.postings, planned.written)
            }
            Some(planned) => {
                // State written into sled under the partial marker stays marked: the store is
                // then rebuilt from the log on the next open.
                let outcome = if matches!(planned.written, Written::Sled { .. }) {
                    "its state was written under the partial marker, so the store is rebuilt from the log when the \
                     ledger is next opened"
                } else {
                    "nothing was applied"
                };
                return Err(Error::new(
                    crate::ErrorKind::Store,
                    format!(
                        "derived store: a batch laid out for entries {:?} of a store at {:?} was applied to entries \
                         {:?} of a store at {counts:?}; {outcome}",
                        planned.entries,
                        planned.counts,
                        first..end
                    ),
                ));
            }
            None => {
                let planned = self.lay_out(batch.facts, batch.index_ops, first..end, counts)?;
                (planned.facts, planned.postings, Written::Nothing)
            }
        };
        // Items first: they count only once the meta values (in the last sled batch) cover them.
        self.positions.write_run(&batch.positions)?;
        self.records.write_run(&batch.records)?;
        self.nodes.write_run(&batch.nodes)?;
        self.facts.write_run(&facts.bytes)?;
        self.facts_at.write_run(&facts.at)?;
        self.postings.write_run(&postings.run)?;
        let next = Counts {
            applied: end,
            postings: counts.postings + postings.run.bytes.len() as u64 / postings::POSTING_BYTES,
            facts_end: counts.facts_end + facts.bytes.bytes.len() as u64,
        };
        let mut meta = batch.meta;
        if let Some(head) = batch.head {
            meta.push((HEAD, head_value(&head, &next)));
            if counts.applied == 0 {
                meta.push((LAYOUT, STORE_LAYOUT.to_be_bytes().to_vec()));
            }
        }
        match written {
            Written::NextTable { .. } => {
                // The next generation's table was written while the log was, the batch's state
                // writes in it.
                self.switch_to_next_generation(meta)?;
            }
            Written::Sled { writes, .. } => {
                // The state writes are in sled under the partial marker: the last batch, with
                // the meta values, removes it.
                let mut part = sled::Batch::default();
                part.remove(PARTIAL);
                self.write_last_sled_part(part, meta, self.pending + writes)?;
            }
            Written::Sorted => self.hold(batch.writes, meta)?,
            Written::Nothing => {
                let writes = state_writes_of(batch.writes, &facts, &postings);
                let state_writes = writes.len() as u64;
                let pending = self.pending + self.held_writes() + state_writes;
                if self.compaction_due(pending, state_writes, end - first) {
                    // Straight into the next generation's table (`store/state.rs`), not through sled.
                    self.compact_with(each_key_once(writes), meta)?;
                } else if self.held.is_some() {
                    self.hold(each_key_once(writes), meta)?;
                } else {
                    let part = self.write_state_parts(&writes)?;
                    self.write_last_sled_part(part, meta, pending)?;
                }
            }
        }
        self.settle(next, postings.removed, facts.overrides);
        Ok(())
    }

    /// State `writes` (each key once) into sled under the partial marker, on two threads: sled
    /// takes 3-4 µs a write, a batch of 10,000 records makes about 10,600 writes, and the log's
    /// `sync_data` leaves a core idle meanwhile. The writes are not atomic, nor need to be: the
    /// marker, set first, makes a store interrupted before it is removed count as damaged.
    fn write_state_marked(&self, writes: &[(Vec<u8>, Option<Vec<u8>>)]) -> Result<()> {
        let write = |key: &[u8], value: &[u8]| {
            self.db.insert(key, value).map(|_| ()).map_err(|err| Error::store("writing", err))
        };
        write(PARTIAL, b"1")?;
        let write_all = |part: &[(Vec<u8>, Option<Vec<u8>>)]| -> Result<()> {
            part.iter().try_for_each(|(key, value)| write(key, &state::tagged(value.as_deref())))
        };
        // Each key once: the halves are disjoint, so their order does not matter.
        let (first, second) = writes.split_at(writes.len() / 2);
        std::thread::scope(|scope| {
            let other = scope.spawn(|| write_all(second));
            let mine = write_all(first);
            let theirs = other.join().unwrap_or_else(|_| {
                Err(Error::new(crate::ErrorKind::Store, "a thread writing the derived store stopped unexpectedly"))
            });
            mine.and(theirs)
        })
    }

    /// State `writes` into sled, in batches of at most [`ATOMIC_WRITES`], the first marked
    /// partial when `marked`. Returns the last batch, not yet written: the caller adds what makes
    /// the state count (or writes it as it is).
    fn write_state_to_sled(&self, writes: &[(Vec<u8>, Option<Vec<u8>>)], marked: bool) -> Result<sled::Batch> {
        let mut part = sled::Batch::default();
        if marked {
            part.insert(PARTIAL, &b"1"[..]);
        }
        // A full part is written only when more writes follow: the last part is returned, so a
        // batch of exactly ATOMIC_WRITES writes stays one sled batch with its meta values
        // rather than a state part written unmarked ahead of them.
        for (number, chunk) in writes.chunks(ATOMIC_WRITES).enumerate() {
            if number > 0 {
                self.db.apply_batch(std::mem::take(&mut part)).map_err(|err| Error::store("writing", err))?;
            }
            for (key, value) in chunk {
                part.insert(key.as_slice(), state::tagged(value.as_deref()));
            }
        }
        Ok(part)
    }

    /// State `writes` into sled ([`Store::write_state_to_sled`]), in parts under the partial
    /// marker when they are more than [`ATOMIC_WRITES`]: the last part, not yet written, removes
    /// the marker.
    fn write_state_parts(&self, writes: &[(Vec<u8>, Option<Vec<u8>>)]) -> Result<sled::Batch> {
        let in_parts = writes.len() > ATOMIC_WRITES;
        let mut part = self.write_state_to_sled(writes, in_parts)?;
        if in_parts {
            part.remove(PARTIAL);
        }
        Ok(part)
    }

    /// Write the last sled `part` of a batch with its `meta` values and the `pending` count: with
    /// it the batch counts.
    fn write_last_sled_part(
        &mut self,
        mut part: sled::Batch,
        meta: impl IntoIterator<Item = (&'static [u8], Vec<u8>)>,
        pending: u64,
    ) -> Result<()> {
        for (key, value) in meta {
            part.insert(key, value);
        }
        part.insert(state::PENDING, &pending.to_be_bytes()[..]);
        self.db.apply_batch(part).map_err(|err| Error::store("writing", err))?;
        self.pending = pending;
        Ok(())
    }

    /// From now until [`Store::end_holding`], batches that make no compaction due have their
    /// state and meta writes held in memory ([`Held`]) rather than written to sled: for a run of
    /// batches (an import) whose writes the next compaction would merge anyway.
    pub(crate) fn begin_holding(&mut self) {
        self.held.get_or_insert_with(Held::default);
    }

    /// End holding: write what is held — with [`HoldEnd::Settle`] into the next generation's
    /// table when sled would then hold enough for the next few dozen single appends to make a
    /// compaction due (as [`Store::settle_after_import`] would), else into sled. On an error
    /// the state stays held (this handle reads it still) and the hold stays open.
    pub(crate) fn end_holding(&mut self, end: HoldEnd) -> Result<()> {
        if self.held_writes() == 0 && self.held.as_ref().is_none_or(|held| held.meta.is_empty()) {
            self.held = None;
            return Ok(());
        }
        if end == HoldEnd::Settle && self.pending + self.held_writes() >= state::SETTLE_IMPORT_AFTER {
            self.compact()?;
        } else {
            self.write_held_to_sled()?;
        }
        self.held = None;
        Ok(())
    }

    /// Whether a hold is under way or anything is held.
    #[cfg(test)]
    pub(crate) fn holds_anything(&self) -> bool {
        self.held.is_some()
    }

    /// State writes held in memory.
    fn held_writes(&self) -> u64 {
        self.held.as_ref().map_or(0, |held| held.state.len() as u64)
    }

    /// Hold a batch's state `writes` (sorted, each key once) and `meta` values over what is held;
    /// past [`HELD_MAX`] writes, write them all to sled.
    fn hold(&mut self, writes: Vec<(Vec<u8>, Option<Vec<u8>>)>, meta: Vec<(&'static [u8], Vec<u8>)>) -> Result<()> {
        let held = self.held.get_or_insert_with(Held::default);
        held.state.extend(writes);
        held.meta.extend(meta);
        if held.state.len() >= HELD_MAX {
            self.write_held_to_sled()?;
        }
        Ok(())
    }

    /// Write what is held into sled — atomically up to [`ATOMIC_WRITES`] writes, else in parts
    /// under the partial marker — its meta values in the last sled batch; keep holding.
    /// Held only once written: after a failure this handle still reads what it held.
    fn write_held_to_sled(&mut self) -> Result<()> {
        let Some(held) = self.held.as_mut() else { return Ok(()) };
        let writes: Vec<_> = std::mem::take(&mut held.state).into_iter().collect();
        let meta = std::mem::take(&mut held.meta);
        let pending = self.pending + writes.len() as u64;
        let written = self.write_state_parts(&writes).and_then(|part| {
            self.write_last_sled_part(part, meta.iter().map(|(key, value)| (*key, value.clone())), pending)
        });
        if let Err(err) = written {
            self.held = Some(Held { state: writes.into_iter().collect(), meta });
            return Err(err);
        }
        Ok(())
    }

    /// Once a batch counts: what this handle keeps in memory of the store follows it.
    fn settle(&self, next: Counts, removed: Vec<u64>, overrides: Vec<(u64, Option<Vec<u8>>)>) {
        self.removed.write().unwrap_or_else(PoisonError::into_inner).extend(removed);
        self.overrides.write().unwrap_or_else(PoisonError::into_inner).extend(overrides);
        *self.counts.lock().unwrap_or_else(PoisonError::into_inner) = next;
    }

    /// Lay out `batch`'s facts and index postings for its entries `entries` against the store as
    /// it stands, reading only: [`Store::apply`] then writes them, unless the store moved in
    /// between (then it refuses the batch). The reads of the index heads are most of a batch's
    /// store work besides writing, so a writer makes them while its log write is under way.
    ///
    /// A bulk batch has its state written here too, none of it counting before
    /// [`Store::apply`], after the log is durable: the state writes are most of such a batch's
    /// store work, and the log's write and `sync_data` leave a core idle. A batch that makes a
    /// compaction due has the next generation's table written, its state merged in (20-30 ms a
    /// batch of 10,000 at 100,000 entries); a batch never applied leaves it as a leftover that
    /// the next open or compaction removes. An import's batch ([`WRITE_BESIDE_LOG`]) that makes
    /// none due has its state written into sled under the partial marker (40-50 ms a batch of
    /// 10,000 at 1,000,000 entries on one thread); a batch never applied leaves the marker, and
    /// the store is rebuilt from the log on the next open.
    pub(crate) fn plan(&self, batch: &mut StoreBatch, entries: std::ops::Range<u64>) -> Result<()> {
        let (facts, index_ops) = (std::mem::take(&mut batch.facts), std::mem::take(&mut batch.index_ops));
        let bulk = entries.end - entries.start;
        let mut planned = self.lay_out(facts, index_ops, entries, self.counts()?)?;
        let state_writes = (batch.writes.len()
            + planned.postings.heads.len()
            + planned.postings.removed.len()
            + planned.facts.overrides.len()) as u64;
        if self.compaction_due(self.pending + self.held_writes() + state_writes, state_writes, bulk) {
            let writes = state_writes_of(std::mem::take(&mut batch.writes), &planned.facts, &planned.postings);
            self.write_next_table(each_key_once(writes))?;
            planned.written = Written::NextTable { over: self.generation };
        } else if self.held.is_some() {
            // Held in memory by `apply`, once the log is durable; sorted here meanwhile.
            batch.writes =
                each_key_once(state_writes_of(std::mem::take(&mut batch.writes), &planned.facts, &planned.postings));
            planned.written = Written::Sorted;
        } else if bulk >= WRITE_BESIDE_LOG {
            // Into sled under the partial marker, which only the batch's last sled batch, once
            // the log is durable, removes: a crash or a failed log write in between leaves the
            // marker, and the store is rebuilt from the log on the next open.
            let writes =
                each_key_once(state_writes_of(std::mem::take(&mut batch.writes), &planned.facts, &planned.postings));
            self.write_state_marked(&writes)?;
            planned.written = Written::Sled { generation: self.generation, writes: writes.len() as u64 };
        }
        batch.planned = Some(planned);
        Ok(())
    }

    /// The one layout of a batch's facts and index changes for its entries `entries` over a
    /// store at `counts`, for [`Store::plan`] and [`Store::apply`] alike.
    fn lay_out(
        &self,
        facts: BTreeMap<u64, Option<Vec<u8>>>,
        index_ops: Vec<(Vec<u8>, u64, bool)>,
        entries: std::ops::Range<u64>,
        counts: Counts,
    ) -> Result<Planned> {
        let facts = self.plan_facts(facts, entries.start, entries.end, counts.facts_end);
        let postings = self.plan_postings(index_ops, counts.postings)?;
        Ok(Planned { entries, counts, facts, postings, written: Written::Nothing })
    }

    /// Whether a batch applied in parts was interrupted (the store is then to be rebuilt).
    pub fn interrupted(&self) -> Result<bool> {
        Ok(self.get_meta(PARTIAL)?.is_some())
    }

    /// Whether the store was written in this version's layout (an empty store is).
    pub(crate) fn layout_is_current(&self) -> Result<bool> {
        if self.earlier_layout {
            return Ok(false);
        }
        Ok(match self.get_meta(LAYOUT)? {
            Some(layout) => layout.as_ref() == STORE_LAYOUT.to_be_bytes(),
            None => self.get_meta(HEAD)?.is_none(),
        })
    }

    /// Ask sled to write its buffers (not a durability barrier; see the module docs).
    pub fn flush(&self) -> Result<()> {
        self.db.flush().map(|_| ()).map_err(|err| Error::store("flushing", err))
    }

    /// A meta value (or a state value as sled stores it, tagged).
    fn get_meta(&self, key: &[u8]) -> Result<Option<sled::IVec>> {
        self.reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Some(value) = self.held.as_ref().and_then(|held| held.meta.get(key)) {
            return Ok(Some(sled::IVec::from(value.as_slice())));
        }
        self.db.get(key).map_err(|err| Error::store(&format!("reading {}", self.path.display()), err))
    }

    /// A state value (projections, index heads, removal and correction marks).
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.state_get(key)
    }

    /// Storage reads so far (for tests that assert O(log n) costs).
    pub fn read_count(&self) -> u64 {
        self.reads.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn head(&self) -> Result<Option<StoredHead>> {
        Ok(self.head_value()?.map(|(head, _, _)| head))
    }

    /// `meta/head`: the head, and how many postings and facts bytes count.
    fn head_value(&self) -> Result<Option<(StoredHead, u64, u64)>> {
        let Some(value) = self.get_meta(HEAD)? else { return Ok(None) };
        let corrupt =
            || Error::new(crate::ErrorKind::Store, "derived store: malformed head record; run `lianlog reindex`");
        if value.len() != HEAD_BYTES && value.len() != HEAD_BYTES + 8 {
            return Err(corrupt());
        }
        let word = |at: usize| u64::from_be_bytes(value[at..at + 8].try_into().unwrap_or_default());
        let tail = Position::from_bytes(&value[8..24]).ok_or_else(corrupt)?;
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&value[40..72]);
        let time = (value.len() == HEAD_BYTES + 8).then(|| Timestamp::from_millis(word(72) as i64));
        Ok(Some((StoredHead { size: word(0), hash: EntryHash(hash), time, tail }, word(24), word(32))))
    }

    pub fn registry(&self) -> Result<Option<KeyRegistry>> {
        let Some(bytes) = self.get_meta(REGISTRY)? else { return Ok(None) };
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

    /// Keys and values of the projections under `prefix`, in key order: sled's, merged with the
    /// index chunks and sizes and the facts buckets rebuilt from the item files. Each item counts
    /// as one storage read.
    pub fn scan_prefix(&self, prefix: &[u8]) -> impl Iterator<Item = Result<(Vec<u8>, Vec<u8>)>> + '_ {
        Merged { a: self.state_scan(prefix).peekable(), b: self.rebuilt_items(prefix).peekable() }
    }

    /// The projection keys under `prefix` that the item files hold (index chunks and sizes, then
    /// facts buckets), in key order.
    fn rebuilt_items(&self, prefix: &[u8]) -> Items<'_> {
        let indexes: Items<'_> = match self.index_items(prefix) {
            Ok(items) => Box::new(items.into_iter().map(Ok)),
            Err(err) => Box::new(std::iter::once(Err(err))),
        };
        let facts_prefix = crate::projection::layout::record_facts(0);
        let facts_prefix = &facts_prefix[..2];
        let wanted = prefix.to_vec();
        if facts_prefix.starts_with(prefix) || prefix.starts_with(facts_prefix) {
            // The first bucket a prefix longer than the family tag can name.
            let from = prefix.get(3..11).and_then(|b| <[u8; 8]>::try_from(b).ok()).map(u64::from_be_bytes).unwrap_or(0);
            let buckets = self.facts_buckets(from).take_while(move |item| {
                item.as_ref()
                    .map(|(key, _)| key.starts_with(&wanted) || key[..].cmp(&wanted[..]).is_lt())
                    .unwrap_or(true)
            });
            let wanted = prefix.to_vec();
            Box::new(indexes.chain(
                buckets.filter(move |item| item.as_ref().map(|(key, _)| key.starts_with(&wanted)).unwrap_or(true)),
            ))
        } else {
            indexes
        }
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

#[cfg(test)]
impl Store {
    /// Open the store in `dir` once its last handle is dropped: sled's flusher thread lets go of
    /// its file lock a moment after the drop.
    pub(crate) fn open_when_released(dir: &Path) -> Store {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            match Store::open(dir) {
                Ok(store) => return store,
                Err(_) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20))
                }
                Err(err) => panic!("{err}"),
            }
        }
    }
}

impl crate::projection::StateRead for Store {
    fn get_state(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        // Index chunks and sizes and facts buckets are rebuilt from the item files (the
        // projections never ask the store for them; queries may).
        if key.first() == Some(&crate::projection::layout::PREFIX) && matches!(key.get(1), Some(b'h' | b'i' | b's')) {
            for item in self.rebuilt_items(key) {
                let (found, value) = item?;
                if found == key {
                    return Ok(Some(value));
                }
            }
            return Ok(None);
        }
        self.get(key)
    }

    fn keeps_postings(&self) -> bool {
        true
    }

    fn record_facts(&self, seq: u64) -> Result<Option<Vec<u8>>> {
        self.facts_of(seq)
    }
}

/// Keys and values of projection state, in key order.
type Items<'a> = Box<dyn Iterator<Item = Result<(Vec<u8>, Vec<u8>)>> + 'a>;

/// Two iterators of keys and values in key order, merged (the first wins a key both hold).
struct Merged<A: Iterator, B: Iterator> {
    a: std::iter::Peekable<A>,
    b: std::iter::Peekable<B>,
}

impl<A, B, V> Iterator for Merged<A, B>
where
    A: Iterator<Item = Result<(Vec<u8>, V)>>,
    B: Iterator<Item = Result<(Vec<u8>, V)>>,
{
    type Item = Result<(Vec<u8>, V)>;

    fn next(&mut self) -> Option<Self::Item> {
        let order = match (self.a.peek(), self.b.peek()) {
            (None, None) => return None,
            (Some(_), None) | (Some(Err(_)), _) => std::cmp::Ordering::Less,
            (None, Some(_)) | (_, Some(Err(_))) => std::cmp::Ordering::Greater,
            (Some(Ok((a, _))), Some(Ok((b, _)))) => a.cmp(b),
        };
        match order {
            std::cmp::Ordering::Less => self.a.next(),
            std::cmp::Ordering::Greater => self.b.next(),
            std::cmp::Ordering::Equal => {
                self.b.next();
                self.a.next()
            }
        }
    }
}

/// Bytes of `meta/head` without the time: size, tail, postings, facts bytes, hash.
const HEAD_BYTES: usize = 8 + 16 + 8 + 8 + 32;

fn head_value(head: &StoredHead, counts: &Counts) -> Vec<u8> {
    let mut value = Vec::with_capacity(HEAD_BYTES + 8);
    value.extend_from_slice(&head.size.to_be_bytes());
    value.extend_from_slice(&head.tail.to_bytes());
    value.extend_from_slice(&counts.postings.to_be_bytes());
    value.extend_from_slice(&counts.facts_end.to_be_bytes());
    value.extend_from_slice(&head.hash.0);
    if let Some(time) = head.time {
        value.extend_from_slice(&time.as_millis().to_be_bytes());
    }
    value
}

fn malformed() -> Error {
    Error::new(crate::ErrorKind::Store, "derived store: malformed meta value; run `lianlog reindex`")
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

/// A batch's state writes in the order sled takes them (a later write of a key wins): the
/// projections' changes, then the index heads, the postings removed and the facts replaced.
fn state_writes_of(
    changes: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    facts: &facts::FactsWrites,
    postings: &postings::PostingWrites,
) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
    let mut writes = changes;
    writes.extend(postings.heads.iter().map(|(key, value)| (key.clone(), Some(value.clone()))));
    writes.extend(postings.removed.iter().map(|item| (postings::removed_key(*item), Some(Vec::new()))));
    writes.extend(
        facts.overrides.iter().map(|(seq, value)| (facts::override_key(*seq), Some(facts::override_value(value)))),
    );
    writes
}

/// `writes` sorted by key, each key once, the last write of a key winning, as in a sled batch
/// (what a table is written from).
fn each_key_once(mut writes: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
    // A stable sort of the reversed writes puts each key's last write first; dedup keeps it.
    writes.reverse();
    writes.sort_by(|a, b| a.0.cmp(&b.0));
    writes.dedup_by(|next, kept| next.0 == kept.0);
    writes
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
        let mut store = Store::open(dir.path()).unwrap();
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

#[cfg(test)]
mod posting_tests {
    use super::*;
    use crate::projection::{StateChanges, View, layout};
    use serde_json::json;

    /// The same index and facts changes, made through a view over memory (as replay makes them)
    /// and over the store, one batch at a time.
    fn both(
        memory: &mut BTreeMap<Vec<u8>, Vec<u8>>,
        store: &mut Store,
        seqs: std::ops::Range<u64>,
        change: &dyn Fn(&mut View<'_>, u64),
    ) {
        let mut changes = StateChanges::default();
        let mut view = View::new(&*memory, &mut changes);
        for seq in seqs.clone() {
            change(&mut view, seq);
        }
        for (key, value) in changes.writes {
            match value {
                Some(value) => memory.insert(key, value),
                None => memory.remove(&key),
            };
        }
        let mut changes = StateChanges::default();
        let mut view = View::new(&*store, &mut changes);
        for seq in seqs.clone() {
            change(&mut view, seq);
        }
        assert!(changes.writes.is_empty(), "the store keeps indexes and facts in its files");
        let mut batch = StoreBatch::default();
        for seq in seqs.clone() {
            batch.put_position(seq, Position { segment: 0, offset: seq });
            batch.put_record_id(seq, &[0; 16]);
            // The nodes a tree of seq + 1 leaves completes (what trim_to counts).
            for slot in node_count(seq)..node_count(seq + 1) {
                batch.nodes.push(slot, &[0; 32], NODE_BYTES);
            }
        }
        batch.put_changes(changes);
        // Every other batch laid out first, as a commit does beside its log write: the same.
        if seqs.start.is_multiple_of(2) {
            store.plan(&mut batch, seqs).unwrap();
        }
        store.apply(batch).unwrap();
    }

    /// A batch laid out against the store as it stood is refused once the store has moved, and
    /// nothing of it is applied.
    #[test]
    fn a_batch_laid_out_before_the_store_moved_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let mut laid_out = bulk_batch(&store, 0..1);
        store.plan(&mut laid_out, 0..1).unwrap();
        store.apply(bulk_batch(&store, 0..1)).unwrap();
        let before = scanned(&store, &[layout::PREFIX]);
        let err = store.apply(laid_out).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Store);
        assert!(err.to_string().contains("nothing was applied"), "{err}");
        assert_eq!(scanned(&store, &[layout::PREFIX]), before);
        assert_eq!(store.counts().unwrap().postings, 2);
    }

    /// A bulk batch over a store whose table it outgrows makes a compaction due: laid out while
    /// the log is written, it has the next generation's table written then, which counts only
    /// once the batch is applied. Applied, the store reads exactly as one given the same batch
    /// unplanned; laid out and never applied (the log's write failed), the store is as it was,
    /// before and after reopening, and the table is removed as a leftover.
    #[test]
    fn a_bulk_batch_laid_out_has_its_table_written_and_counting_only_once_applied() {
        let (planned_dir, plain_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (mut planned, mut plain) =
            (Store::open(planned_dir.path()).unwrap(), Store::open(plain_dir.path()).unwrap());
        for store in [&mut planned, &mut plain] {
            store.apply(bulk_batch(store, 0..100)).unwrap();
        }
        let generation = planned.generation;
        let before = everything(&planned);

        // Laid out, never applied.
        let mut batch = bulk_batch(&planned, 100..300);
        planned.plan(&mut batch, 100..300).unwrap();
        assert_eq!(
            batch.planned.as_ref().unwrap().written,
            Written::NextTable { over: generation },
            "the compaction is due"
        );
        let leftover = state::table_path(&planned.path, generation + 1);
        assert!(leftover.exists(), "the next table is written while the log is");
        assert_eq!((planned.generation, everything(&planned)), (generation, before.clone()), "and does not count");
        drop(batch);
        drop(planned);
        let mut planned = Store::open_when_released(planned_dir.path());
        assert_eq!((planned.generation, everything(&planned)), (generation, before));
        assert!(!leftover.exists(), "removed on open");

        // Laid out, then applied: as the same batch applied without a plan.
        let mut batch = bulk_batch(&planned, 100..300);
        planned.plan(&mut batch, 100..300).unwrap();
        planned.apply(batch).unwrap();
        plain.apply(bulk_batch(&plain, 100..300)).unwrap();
        assert_eq!(planned.generation, generation + 1);
        assert_eq!(plain.generation, generation + 1);
        assert_eq!(everything(&planned), everything(&plain));
        assert!(everything(&planned).0.iter().any(|(key, _)| key.starts_with(&layout::person_prefix("p299"))));
    }

    /// A run of bulk batches held in memory reads, after every batch, as the same batches written
    /// to sled: laid out beside a log write or not, a registry written by one batch and carried
    /// by the compaction a later batch makes due (laid out with the held state merged in), and
    /// the rest written when the hold ends. Sled keeps its head until then; reopened, the stores
    /// are the same.
    #[test]
    fn a_held_run_reads_and_persists_as_the_same_batches_written_to_sled() {
        let (held_dir, plain_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (mut held, mut plain) = (Store::open(held_dir.path()).unwrap(), Store::open(plain_dir.path()).unwrap());
        for store in [&mut held, &mut plain] {
            // A table of 10,001 index heads: a batch of 1,100 entries (1,101 writes) makes no
            // compaction due; one of 8,000 after two of those does (sled's share passes a
            // quarter of the table, and so does the batch's own; what is held, the table's size).
            store.apply(bulk_batch(store, 0..10_000)).unwrap();
        }
        let head_in_sled = held.db.get(HEAD).unwrap();
        let mut registry = KeyRegistry::default();
        registry.origin = "test.example/held".into();
        held.begin_holding();
        let same = |held: &Store, plain: &Store, step: &str| {
            let (ours, theirs) = (everything(held), everything(plain));
            assert_eq!((ours.0, ours.1), (theirs.0, theirs.1), "{step}: state and counts");
            for key in [HEAD, REGISTRY] {
                assert_eq!(held.get_meta(key).unwrap(), plain.get_meta(key).unwrap(), "{step}: {key:?}");
            }
        };
        // (entries, laid out first, with a registry, compaction due)
        let steps = [
            (10_000..11_100, true, false, false),
            (11_100..12_200, false, true, false),
            (12_200..20_200, true, false, true),
            (20_200..21_300, true, false, false),
        ];
        for (entries, laid_out, with_registry, compacts) in steps {
            let generation = held.generation;
            for store in [&mut held, &mut plain] {
                let mut batch = bulk_batch(store, entries.clone());
                if with_registry {
                    batch.put_registry(&registry);
                }
                if laid_out {
                    store.plan(&mut batch, entries.clone()).unwrap();
                }
                store.apply(batch).unwrap();
            }
            same(&held, &plain, &format!("{entries:?}"));
            assert_eq!(held.generation, generation + u64::from(compacts), "{entries:?}");
            if !compacts && generation == 1 {
                assert_eq!(held.db.get(HEAD).unwrap(), head_in_sled, "{entries:?}: sled keeps its head while holding");
            }
        }
        assert!(held.held_writes() > 0, "the last batch is held");
        held.end_holding(HoldEnd::Settle).unwrap();
        assert!(held.held.is_none());
        assert_eq!(everything(&held), everything(&plain), "written into sled, as the plain store's");
        same(&held, &plain, "hold ended");
        drop((held, plain));
        let (held, plain) = (Store::open_when_released(held_dir.path()), Store::open_when_released(plain_dir.path()));
        assert_eq!(everything(&held), everything(&plain));
        same(&held, &plain, "reopened");
        assert_eq!(held.head().unwrap().map(|head| head.size), Some(21_300));
    }

    /// An import's batch over a table it does not outgrow: laid out while the log is written,
    /// its state goes into sled then, marked partial until the batch is applied. Applied, the store
    /// reads as one given the same batch unplanned, unmarked; laid out and never applied (here:
    /// refused, the store having moved), the mark stays, also after reopening, so that the ledger
    /// rebuilds the store from the log.
    #[test]
    fn a_bulk_batch_laid_out_over_a_large_table_has_its_state_in_sled_marked_until_applied() {
        let (planned_dir, plain_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (mut planned, mut plain) =
            (Store::open(planned_dir.path()).unwrap(), Store::open(plain_dir.path()).unwrap());
        for store in [&mut planned, &mut plain] {
            // A table of 10,001 index heads: 1,100 entries' 1,101 writes make no compaction due.
            store.apply(bulk_batch(store, 0..10_000)).unwrap();
            assert_eq!((store.generation, store.pending), (1, 0));
        }
        let batch_entries = 10_000..10_000 + WRITE_BESIDE_LOG + 76;
        let mut batch = bulk_batch(&planned, batch_entries.clone());
        planned.plan(&mut batch, batch_entries.clone()).unwrap();
        assert_eq!(batch.planned.as_ref().unwrap().written, Written::Sled { generation: 1, writes: 1_101 });
        assert!(planned.interrupted().unwrap(), "marked partial until applied");
        planned.apply(batch).unwrap();
        plain.apply(bulk_batch(&plain, batch_entries.clone())).unwrap();
        assert!(!planned.interrupted().unwrap());
        assert_eq!(everything(&planned), everything(&plain));
        assert_eq!(planned.pending, 1_101);

        // Laid out, then refused (the store moved meanwhile), never applied: the mark stays,
        // also after reopening, and the refusal says so.
        let next = batch_entries.end..batch_entries.end + WRITE_BESIDE_LOG;
        let mut batch = bulk_batch(&planned, next.clone());
        planned.plan(&mut batch, next.clone()).unwrap();
        assert!(matches!(batch.planned.as_ref().unwrap().written, Written::Sled { .. }));
        planned.apply(bulk_batch(&planned, next.start..next.start + 1)).unwrap();
        let err = planned.apply(batch).unwrap_err();
        assert!(err.to_string().contains("rebuilt from the log"), "{err}");
        assert!(planned.interrupted().unwrap());
        drop(planned);
        let planned = Store::open_when_released(planned_dir.path());
        assert!(planned.interrupted().unwrap(), "the ledger rebuilds this store on open");
    }

    /// A bulk batch of entries `seqs` over `store`: each entry posts to one index shared by all
    /// and one of its own, and asserts facts; its items and head as a commit gives them.
    fn bulk_batch(store: &Store, seqs: std::ops::Range<u64>) -> StoreBatch {
        let mut changes = StateChanges::default();
        let mut view = View::new(store, &mut changes);
        let mut batch = StoreBatch::default();
        let tail = Position { segment: 0, offset: seqs.end };
        batch.put_head(&StoredHead { size: seqs.end, hash: EntryHash([7; 32]), time: None, tail });
        for seq in seqs {
            view.index_add(layout::person_prefix("alice"), seq).unwrap();
            view.index_add(layout::person_prefix(&format!("p{seq}")), seq).unwrap();
            view.put_facts(seq, &json!({"seq": seq})).unwrap();
            batch.put_position(seq, Position { segment: 0, offset: seq });
            batch.put_record_id(seq, &[0; 16]);
            for slot in node_count(seq)..node_count(seq + 1) {
                batch.nodes.push(slot, &[0; 32], NODE_BYTES);
            }
        }
        batch.put_changes(changes);
        batch
    }

    /// What a store reads back: its state and projection keys, its counts and pending writes.
    type ReadBack = (Vec<(Vec<u8>, Vec<u8>)>, Counts, u64);

    /// All of [`ReadBack`] for `store`.
    fn everything(store: &Store) -> ReadBack {
        let mut all = scanned(store, &[]);
        all.extend(scanned(store, &[layout::PREFIX]));
        (all, store.counts().unwrap(), store.pending)
    }

    fn scanned(store: &Store, prefix: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        store.scan_prefix(prefix).collect::<Result<Vec<_>>>().unwrap()
    }

    fn in_memory(memory: &BTreeMap<Vec<u8>, Vec<u8>>, prefix: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        memory.iter().filter(|(key, _)| key.starts_with(prefix)).map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    #[test]
    fn postings_and_facts_read_back_as_the_keys_a_replay_in_memory_writes() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let mut memory = BTreeMap::new();
        let (alice, bob, kind) =
            (layout::person_prefix("alice"), layout::person_prefix("bob"), layout::kind_prefix("report.received"));
        let record = |view: &mut View<'_>, seq: u64| {
            view.index_add(alice.clone(), seq).unwrap();
            if seq.is_multiple_of(3) {
                view.index_add(bob.clone(), seq).unwrap();
            }
            view.index_add(kind.clone(), seq).unwrap();
            view.put_facts(seq, &json!({"date": "2026-01-01", "seq": seq})).unwrap();
        };
        both(&mut memory, &mut store, 0..1, &record);
        both(&mut memory, &mut store, 1..300, &record);
        // A correction: the target's facts retracted and asserted again (moving it to the end of
        // its indexes), within one batch and across batches, a seq removed twice, a seq the
        // index does not hold removed.
        let correct = |view: &mut View<'_>, seq: u64| {
            record(view, seq);
            let target = seq - 290;
            view.index_remove(&alice, target).unwrap();
            view.index_remove(&bob, target).unwrap();
            view.delete_facts(target).unwrap();
            view.index_add(alice.clone(), target).unwrap();
            view.put_facts(target, &json!({"corrected": target})).unwrap();
            view.index_remove(&alice, 7).unwrap();
            view.index_remove(&kind, seq).unwrap();
            view.delete_facts(seq - 1).unwrap();
        };
        both(&mut memory, &mut store, 300..302, &correct);
        both(&mut memory, &mut store, 302..303, &correct);
        both(&mut memory, &mut store, 303..310, &record);
        for prefix in [&[layout::PREFIX][..], &alice, &bob, &kind, &layout::record_facts(0)[..2]] {
            assert_eq!(scanned(&store, prefix), in_memory(&memory, prefix), "prefix {prefix:?}");
        }
        assert!(scanned(&store, &layout::person_prefix("carol")).is_empty());
        for seq in [0, 7, 10, 11, 299, 300, 309, 400] {
            let key = layout::record_facts(seq);
            use crate::projection::StateRead as _;
            assert_eq!(store.get_state(&key).unwrap(), memory.get(&key).cloned(), "bucket of {seq}");
            assert_eq!(store.record_facts(seq).unwrap(), memory.record_facts(seq).unwrap(), "facts of {seq}");
        }
        // What a reopened store reads is the same; items past the applied count are cut.
        let mut batch = StoreBatch::default();
        batch.put_head(&StoredHead {
            size: 310,
            hash: EntryHash([0; 32]),
            time: None,
            tail: Position { segment: 0, offset: 0 },
        });
        store.apply(batch).unwrap();
        drop(store);
        {
            let extra = crate::fsio::open_or_create_in_ledger(&dir.path().join("index/postings.bin")).unwrap();
            use std::os::unix::fs::FileExt as _;
            extra.write_all_at(&[9u8; 40], extra.metadata().unwrap().len()).unwrap();
        }
        // sled's flusher thread lets go of its file lock a moment after the drop.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        store = loop {
            match Store::open(dir.path()) {
                Ok(store) => break store,
                Err(_) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20))
                }
                Err(err) => panic!("{err}"),
            }
        };
        store.trim_to(310).unwrap();
        assert_eq!(scanned(&store, &[layout::PREFIX]), in_memory(&memory, &[layout::PREFIX]));
        both(&mut memory, &mut store, 310..312, &correct);
        assert_eq!(scanned(&store, &[layout::PREFIX]), in_memory(&memory, &[layout::PREFIX]));
    }
}
