//! The projections' state in two tiers (投影状态的两层): what changed since the last compaction in
//! sled, everything older in one sorted table (`store/table.rs`), so that what sled holds — and
//! what opening it costs — stays bounded however large the ledger grows.
//!
//! Files in `index/`: `state` names the current generation `g` (decimal, written whole with
//! [`crate::fsio::publish_bytes`]; no file: generation 0, an empty table); `state-g/` is the sled
//! of generation `g`, holding the meta values (head, registry, layout) and the state keys changed
//! since the table was written, each value tagged ([`LIVE`] + value, or [`DELETED`]);
//! `state-g.table` is the table (none for generation 0).
//!
//! A compaction ([`Store::compact`]) merges sled's state keys over the table into
//! `state-(g+1).table`, copies the meta values into a new, fsync'd `state-(g+1)/`, and only then
//! names `g+1` in `state`: a crash at any point leaves generation `g` or `g+1` whole, and what is
//! left of the other is removed on the next open. Reads see sled first (the newer tier), then the
//! table; a key deleted since the compaction is a [`DELETED`] tag in sled.

use std::path::{Path, PathBuf};

use super::Store;
use super::table::Table;
use crate::error::{Error, Result};

/// Tag of a live value in sled.
pub(super) const LIVE: u8 = 1;
/// Tag of a key deleted since the last compaction (the table may still hold it).
pub(super) const DELETED: u8 = 0;

/// sled keys that are meta values, not state: they are copied, not merged, by a compaction.
pub(super) const META_PREFIX: &[u8] = b"meta/";
/// How many state writes sled takes since the last compaction (u64 BE).
pub(super) const PENDING: &[u8] = b"meta/pending";

/// Fewest state writes in sled before a compaction (about 2,500 single appends): sled stays a
/// few MiB whatever the ledger's size, and a compaction (one sequential rewrite of the table)
/// is paid once per that many appends.
pub(super) const COMPACT_AFTER: u64 = 16_384;
/// Pending state writes that [`Store::settle_after_import`] compacts at the end of an import: a few dozen
/// single appends (256 writes) short of the compaction they would make due, and wait for.
pub(super) const SETTLE_IMPORT_AFTER: u64 = COMPACT_AFTER - 256;
/// A batch of at least this many entries is a bulk write (an import, a catch-up): it compacts
/// once sled holds [`super::SETTLE_AFTER`] writes and a quarter of the table's keys, so that an
/// import leaves a small sled behind and rewrites the table a few times in all rather than once
/// per batch — or at once when its own writes are an eighth of the table (a young ledger).
const BULK_ENTRIES: u64 = 64;

const POINTER_FILE: &str = "state";

pub(super) fn sled_dir(index: &Path, generation: u64) -> PathBuf {
    index.join(format!("state-{generation}"))
}

pub(super) fn table_path(index: &Path, generation: u64) -> PathBuf {
    index.join(format!("state-{generation}.table"))
}

/// The generation `index/state` names (0 when there is none).
pub(super) fn current_generation(index: &Path) -> Result<u64> {
    let path = index.join(POINTER_FILE);
    match crate::fsio::read_small_text_in_ledger(&path, 64) {
        Ok(text) => text.trim().parse::<u64>().map_err(|_| {
            Error::new(
                crate::ErrorKind::Store,
                format!("derived store: {} does not name a generation; run `lianlog reindex`", path.display()),
            )
        }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(err) => Err(Error::io("read", &path, err)),
    }
}

/// sled's segment size for a new generation: 64 KiB, not sled's 512 KiB. sled's file grows by
/// whole segments and keeps some in reserve, so the few thousand single appends between two
/// compactions held 2.6 MB at 512 KiB — a quarter of a 10,000-entry ledger's log — and 1.1 MB at
/// 64 KiB, with single appends and opening no slower (`lianlog bench`, docs/PERFORMANCE.md).
const SEGMENT_SIZE: usize = 64 << 10;

pub(super) fn open_sled(dir: &Path) -> Result<sled::Db> {
    crate::fsio::refuse_link(dir)?;
    crate::fsio::create_private_dir(dir)?;
    sled::Config::new()
        .path(dir)
        .cache_capacity(64 << 20)
        .segment_size(existing_segment_size(dir).unwrap_or(SEGMENT_SIZE))
        .mode(sled::Mode::HighThroughput)
        .flush_every_ms(Some(1000))
        .open()
        .map_err(|err| Error::store(&format!("opening {}", dir.display()), err))
}

/// The segment size a sled directory was created with (sled refuses to open it with another):
/// a generation written before [`SEGMENT_SIZE`] changed keeps its own until the next compaction.
/// `None` for a new directory, or a `conf` sled will itself refuse to open with.
fn existing_segment_size(dir: &Path) -> Option<usize> {
    // Text lines, then a binary checksum.
    let conf = crate::fsio::read_small_in_ledger(&dir.join("conf"), 4096).ok()?;
    let conf = String::from_utf8_lossy(&conf);
    let size = conf.lines().find_map(|line| line.strip_prefix("segment_size: "))?.trim().parse::<usize>().ok()?;
    // sled's own bounds for a segment size.
    (size.is_power_of_two() && (256..=1 << 24).contains(&size)).then_some(size)
}

/// Remove what other generations left in `index` (an interrupted or superseded compaction).
pub(super) fn remove_other_generations(index: &Path, keep: u64) {
    let Ok(listing) = std::fs::read_dir(index) else { return };
    for item in listing.flatten() {
        let name = item.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("state-") else { continue };
        let generation = rest.strip_suffix(".table").unwrap_or(rest);
        if generation.parse::<u64>().is_ok_and(|g| g != keep) {
            let path = item.path();
            let _ = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        }
    }
}

/// A state value as sled stores it.
pub(super) fn tagged(value: Option<&[u8]>) -> Vec<u8> {
    match value {
        Some(value) => [&[LIVE][..], value].concat(),
        None => vec![DELETED],
    }
}

/// A state value from sled: `Some(None)` for a deletion.
fn untagged(stored: &[u8]) -> Result<Option<&[u8]>> {
    match stored.split_first() {
        Some((&LIVE, value)) => Ok(Some(value)),
        Some((&DELETED, [])) => Ok(None),
        _ => Err(Error::new(crate::ErrorKind::Store, "derived store: a malformed state value; run `lianlog reindex`")),
    }
}

impl Store {
    /// A state key's value: sled's if it changed since the last compaction, else the table's.
    /// One storage read, whichever tier answers.
    pub(super) fn state_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Some(held) = self.held.as_ref().and_then(|held| held.state.get(key)) {
            return Ok(held.clone());
        }
        let stored = self.db.get(key).map_err(|err| Error::store(&format!("reading {}", self.path.display()), err))?;
        if let Some(stored) = stored {
            return Ok(untagged(&stored)?.map(<[u8]>::to_vec));
        }
        match &self.table {
            Some(table) => table.get(key),
            None => Ok(None),
        }
    }

    /// State keys and values under `prefix`, in key order: sled's merged over the table's. Each
    /// item counts as one storage read, whichever tier holds it.
    pub(super) fn state_scan(&self, prefix: &[u8]) -> impl Iterator<Item = Result<(Vec<u8>, Vec<u8>)>> + '_ {
        self.state_keys(KeyRange { from: prefix, prefix, below: None })
    }

    /// State keys and values in `range`, in key order: held over sled over the table.
    fn state_keys<'s>(&'s self, range: KeyRange<'_>) -> impl Iterator<Item = Result<(Vec<u8>, Vec<u8>)>> + 's {
        let (prefix, below) = (range.prefix.to_vec(), range.below.map(<[u8]>::to_vec));
        let within = move |key: &[u8]| key.starts_with(&prefix) && below.as_deref().is_none_or(|below| key < below);
        let in_range = within.clone();
        let in_sled = self
            .db
            .range(range.from.to_vec()..)
            .take_while(move |item| item.as_ref().map_or(true, |(key, _)| in_range(key)))
            .filter(|item| item.as_ref().map_or(true, |(key, _)| !key.starts_with(META_PREFIX)))
            .map(move |item| {
                let (key, value) = item.map_err(|err| Error::store("scanning", err))?;
                Ok((key.to_vec(), untagged(&value)?.map(<[u8]>::to_vec)))
            });
        // What a run of batches holds in memory is newer still (`Held` in store.rs).
        let from = range.from.to_vec();
        let held = self.held.iter().flat_map(move |held| {
            let within = within.clone();
            held.state
                .range(from.clone()..)
                .take_while(move |(key, _)| within(key))
                .map(|(key, value)| Ok((key.clone(), value.clone())))
        });
        let recent = super::Merged { a: held.peekable(), b: in_sled.peekable() };
        let older: super::Items<'_> = match &self.table {
            Some(table) if range.prefix.is_empty() => Box::new(table.scan_range(range.from, range.below)),
            Some(table) => Box::new(table.scan_prefix(range.prefix)),
            None => Box::new(std::iter::empty()),
        };
        live_over(recent, older.map(|item| item.map(|(k, v)| (k, Some(v))))).inspect(|item| {
            if item.is_ok() {
                self.reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        })
    }

    /// Whether sled holding `pending` state writes (those of a batch of `entries` entries
    /// included, and what a hold keeps in memory) makes a compaction due.
    pub(super) fn compaction_due(&self, pending: u64, batch_writes: u64, entries: u64) -> bool {
        let table = self.table.as_ref().map_or(0, Table::len);
        if self.held.is_some() {
            return pending >= hold_compacts_at(table);
        }
        if entries < BULK_ENTRIES {
            pending >= COMPACT_AFTER
        } else {
            // Or the batch's own writes are an eighth of the table: merging them straight into
            // the next table then costs about what writing them to sled would (measured: sled
            // 3-4 µs a write, a compaction 0.5 µs a table key, and sled's writes are merged by
            // a compaction later anyway), so an import into a young ledger skips sled.
            (pending >= super::SETTLE_AFTER && pending.saturating_mul(4) >= table)
                || batch_writes.saturating_mul(8) >= table
        }
    }

    /// Compact if sled holds at least `at_least` (and at least one) state writes: after a bulk
    /// write, so that the next command opens a small sled.
    pub(crate) fn compact_if_pending(&mut self, at_least: u64) -> Result<()> {
        if self.pending + self.held_writes() >= at_least.max(1) { self.compact() } else { Ok(()) }
    }

    /// At the end of an import: compact if the next few dozen single appends would make a
    /// compaction due ([`SETTLE_IMPORT_AFTER`]), so that none of them waits for it. Returns
    /// whether it compacted.
    pub(crate) fn settle_after_import(&mut self) -> Result<bool> {
        if self.pending + self.held_writes() < SETTLE_IMPORT_AFTER {
            return Ok(false);
        }
        self.compact()?;
        Ok(true)
    }

    /// Merge sled's state over the table into the next generation, and continue on it.
    pub(crate) fn compact(&mut self) -> Result<()> {
        self.compact_with(Vec::new(), Vec::new())
    }

    /// [`Store::compact`] with a batch's state `writes` (sorted by key, each key once; `None`
    /// deletes) merged over sled's state, and its `meta` values over sled's: the batch goes
    /// straight into the next generation's table, where writing it to sled first would have it
    /// written there, read back and dropped by the compaction it makes due. The batch counts
    /// exactly when the generation does: a crash before the pointer names it leaves the store as
    /// it was before the batch.
    pub(super) fn compact_with(
        &mut self,
        writes: Vec<(Vec<u8>, Option<Vec<u8>>)>,
        meta: Vec<(&'static [u8], Vec<u8>)>,
    ) -> Result<()> {
        self.write_next_table(writes)?;
        self.switch_to_next_generation(meta)
    }

    /// The first half of a compaction, reading only what counts: the next generation's table,
    /// `writes` (sorted by key, each key once; `None` deletes) merged over sled's state and the
    /// table. It counts once [`Store::switch_to_next_generation`] names it; until then it is a
    /// leftover that the next open or compaction removes.
    pub(super) fn write_next_table(&self, mut writes: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<()> {
        remove_other_generations(&self.path, self.generation);
        let path = table_path(&self.path, self.generation + 1);
        fn merged<'s>(
            store: &'s Store,
            writes: Vec<(Vec<u8>, Option<Vec<u8>>)>,
            range: KeyRange<'_>,
        ) -> impl Iterator<Item = Result<(Vec<u8>, Vec<u8>)>> + 's {
            let older = store.state_keys(range).map(|item| item.map(|(key, value)| (key, Some(value))));
            live_over(writes.into_iter().map(Ok), older)
        }
        let middle = match &self.table {
            Some(table) if table.len() >= SPLIT_COMPACTION_AT => table.middle_key()?,
            _ => None,
        };
        let Some(middle) = middle else {
            Table::write(&path, merged(self, writes, KeyRange { from: &[], prefix: &[], below: None }))?;
            return Ok(());
        };
        // Merging the tiers is most of a compaction's time, and the core beside it is often idle
        // (an import's signing waits for this batch to be written): the keys from the table's
        // middle on are merged on a thread of their own. The file is the same either way.
        let later_writes = writes.split_off(writes.partition_point(|(key, _)| *key < middle));
        Table::write_in_two(
            &path,
            merged(self, writes, KeyRange { from: &[], prefix: &[], below: Some(&middle) }),
            || merged(self, later_writes, KeyRange { from: &middle, prefix: &[], below: None }),
        )?;
        Ok(())
    }

    /// The second half of a compaction, once [`Store::write_next_table`] wrote the next
    /// generation's table from the store as it still stands: a new sled with the meta values
    /// (sled's, then `meta` over them), fsync'd, and only then the pointer naming the generation.
    pub(super) fn switch_to_next_generation(&mut self, meta: Vec<(&'static [u8], Vec<u8>)>) -> Result<()> {
        let next = self.generation + 1;
        let table_at = table_path(&self.path, next);
        let sled_at = sled_dir(&self.path, next);
        let db = open_sled(&sled_at)?;
        let mut batch = sled::Batch::default();
        for item in self.db.scan_prefix(META_PREFIX) {
            let (key, value) = item.map_err(|err| Error::store("scanning", err))?;
            if key.as_ref() != PENDING {
                batch.insert(key, value);
            }
        }
        // What is held (store.rs `Held`) is newer than sled: its state is in the next table
        // (written from `state_scan`), its meta values go in here. It stops being held only once
        // the generation counts.
        for (key, value) in self.held.iter().flat_map(|held| held.meta.iter()) {
            batch.insert(*key, value.as_slice());
        }
        for (key, value) in meta {
            batch.insert(key, value);
        }
        db.apply_batch(batch).map_err(|err| Error::store("writing", err))?;
        db.flush().map_err(|err| Error::store("flushing", err))?;
        sync_tree(&sled_at)?;
        let table = Table::open(table_at)?;
        crate::fsio::publish_bytes(&self.path.join(POINTER_FILE), true, format!("{next}\n").as_bytes())?;
        let superseded = self.generation;
        self.db = db;
        self.table = Some(table);
        self.generation = next;
        self.pending = 0;
        if let Some(held) = self.held.as_mut() {
            *held = super::Held::default();
        }
        remove_other_generations(&self.path, superseded + 1);
        Ok(())
    }
}

/// Pending writes (sled's and what a hold keeps in memory, the batch's included) at which a hold
/// (an import, store.rs `Held`) over a table of `table` keys compacts.
///
/// Held writes cost nothing until merged, and a compaction rewrites the whole table: so a hold
/// compacts once it holds as many writes as the table has keys (each table about twice the last)
/// up to [`super::HELD_MAX`] writes, all in memory. Measured, an import of 1,000,000 records in
/// runs of 250,000: 8 compactions merging 2.35M keys, where the rules of batches written to sled
/// made 19 merging 5.27M (4-6% less CPU, docs/PERFORMANCE.md). Past a table of four times that,
/// a compaction every `HELD_MAX` writes would rewrite a table growing by a constant (an import's
/// merging quadratic in its size), so the hold compacts at a quarter of the table, as sled's
/// rule does, and spills what passes `HELD_MAX` to sled meanwhile: each table 1.25 times the last.
fn hold_compacts_at(table: u64) -> u64 {
    let held_max = super::HELD_MAX as u64;
    table.min(held_max).max(table / 4).max(super::SETTLE_AFTER)
}

/// Keys from `from` on, under `prefix`, below `below` if given.
#[derive(Clone, Copy)]
struct KeyRange<'k> {
    from: &'k [u8],
    prefix: &'k [u8],
    below: Option<&'k [u8]>,
}

/// From this many keys in the table, a compaction merges the two halves of the key space at once
/// ([`Store::write_next_table`]); below it a compaction takes a few milliseconds.
const SPLIT_COMPACTION_AT: u64 = 65_536;

/// `newer` over `older`, both in key order (`None`: deleted; `newer` wins a key both hold): the
/// live keys and values, in key order. The one merge of the two tiers, for reads and compactions.
fn live_over<'a>(
    newer: impl Iterator<Item = Result<(Vec<u8>, Option<Vec<u8>>)>> + 'a,
    older: impl Iterator<Item = Result<(Vec<u8>, Option<Vec<u8>>)>> + 'a,
) -> impl Iterator<Item = Result<(Vec<u8>, Vec<u8>)>> + 'a {
    super::Merged { a: newer.peekable(), b: older.peekable() }.filter_map(|item| match item {
        Ok((key, Some(value))) => Some(Ok((key, value))),
        Ok((_, None)) => None,
        Err(err) => Some(Err(err)),
    })
}

/// fsync every file under `dir` and `dir` itself: a new generation's sled must be on disk before
/// the pointer names it (sled's own flush is not a durability barrier).
fn sync_tree(dir: &Path) -> Result<()> {
    let listing = std::fs::read_dir(dir).map_err(|err| Error::io("read directory", dir, err))?;
    for item in listing {
        let item = item.map_err(|err| Error::io("read directory", dir, err))?;
        let path = item.path();
        if path.is_dir() {
            sync_tree(&path)?;
        } else {
            std::fs::File::open(&path).and_then(|file| file.sync_all()).map_err(|err| Error::io("sync", &path, err))?;
        }
    }
    crate::fsio::sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::projection::{StateChanges, StateRead as _};
    use crate::store::StoreBatch;

    type Model = BTreeMap<Vec<u8>, Vec<u8>>;

    /// A write of key `k<n>`, and a deletion of it.
    fn set(n: u32, value: &str) -> (String, Option<String>) {
        (format!("k{n:03}"), Some(value.to_string()))
    }

    fn del(n: u32) -> (String, Option<String>) {
        (format!("k{n:03}"), None)
    }

    /// Apply `writes` to the store (one batch) and to the model.
    fn write(store: &mut Store, model: &mut Model, writes: &[(String, Option<String>)]) {
        let mut changes = StateChanges::default();
        for (key, value) in writes {
            let key = [b"P", key.as_bytes()].concat();
            changes.writes.insert(key.clone(), value.as_ref().map(|v| v.as_bytes().to_vec()));
            match value {
                Some(value) => model.insert(key, value.as_bytes().to_vec()),
                None => model.remove(&key),
            };
        }
        let mut batch = StoreBatch::default();
        batch.put_changes(changes);
        store.apply(batch).unwrap();
    }

    fn check(store: &Store, model: &Model) {
        let scanned: Model = store.state_scan(b"P").collect::<Result<_>>().unwrap();
        assert_eq!(&scanned, model);
        for n in 0..60 {
            let key = format!("Pk{n:03}").into_bytes();
            assert_eq!(store.get_state(&key).unwrap(), model.get(&key).cloned(), "{n}");
        }
    }

    /// `count` writes of distinct keys `w000000`, `w000001`, … (set to `v`).
    fn distinct_writes(count: u64) -> Vec<(String, Option<String>)> {
        distinct_writes_named("w", count)
    }

    /// `count` writes of distinct keys `<name>000000`, `<name>000001`, … (set to `v`).
    fn distinct_writes_named(name: &str, count: u64) -> Vec<(String, Option<String>)> {
        (0..count).map(|n| (format!("{name}{n:06}"), Some("v".to_string()))).collect()
    }

    /// A store of generation 1 whose table holds `k000`–`k039` (set to `a`) and whose sled holds
    /// three writes since: `k001` replaced, `k002` deleted, `k045` added.
    fn table_then_sled(dir: &Path) -> (Store, Model) {
        let mut store = Store::open(dir).unwrap();
        let mut model = Model::new();
        write(&mut store, &mut model, &(0..40).map(|n| set(n, "a")).collect::<Vec<_>>());
        store.compact().unwrap();
        write(&mut store, &mut model, &[set(1, "b"), del(2), set(45, "b")]);
        (store, model)
    }

    fn reopen(store: Store, dir: &Path) -> Store {
        drop(store);
        Store::open_when_released(dir)
    }

    /// A table of [`SPLIT_COMPACTION_AT`] keys or more is compacted in two halves that meet at
    /// its middle key: the next table is the one written from the model in one go, byte for
    /// byte, with writes, deletions and held state on both sides of the middle and at it.
    #[test]
    fn a_large_table_compacts_in_two_halves_to_the_table_of_one_merge() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let mut model = Model::new();
        write(&mut store, &mut model, &distinct_writes(SPLIT_COMPACTION_AT + 100));
        store.compact().unwrap();
        let middle = store.table.as_ref().unwrap().middle_key().unwrap().unwrap();
        let middle = String::from_utf8(middle[1..].to_vec()).unwrap();
        let number: u64 = middle[1..].parse().unwrap();
        let near = |n: u64| format!("w{n:06}");
        write(
            &mut store,
            &mut model,
            &[
                (near(0), None),
                (near(number - 1), Some("sled".into())),
                (middle.clone(), None),
                (near(number + 1), Some("sled".into())),
                (near(SPLIT_COMPACTION_AT + 99), None),
                ("a".into(), Some("before every key".into())),
            ],
        );
        store.begin_holding();
        write(
            &mut store,
            &mut model,
            &[
                (middle.clone(), Some("held".into())),
                (near(number - 2), None),
                (near(number + 1), Some("held".into())),
                ("z".into(), Some("after every key".into())),
            ],
        );
        store.compact().unwrap();
        check(&store, &model);
        let compacted = std::fs::read(table_path(&store.path, store.generation)).unwrap();
        let one_merge = dir.path().join("one-merge.table");
        Table::write(&one_merge, model.iter().map(|(k, v)| Ok((k.clone(), v.clone())))).unwrap();
        assert_eq!(compacted, std::fs::read(&one_merge).unwrap());
        store.end_holding(crate::store::HoldEnd::Settle).unwrap();
        let store = reopen(store, dir.path());
        check(&store, &model);
    }

    #[test]
    fn values_and_deletions_read_the_same_across_compactions_and_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let mut model = Model::new();
        write(&mut store, &mut model, &(0..40).map(|n| set(n, "a")).collect::<Vec<_>>());
        check(&store, &model);
        store.compact().unwrap();
        assert_eq!((store.generation, store.pending), (1, 0));
        check(&store, &model);
        // Changes over the table: a value replaced, keys deleted that only the table holds, a
        // new key, a key deleted and set again.
        write(&mut store, &mut model, &[set(3, "b"), del(4), del(5), set(50, "c"), del(6)]);
        write(&mut store, &mut model, &[set(6, "d"), del(50), set(51, "e")]);
        check(&store, &model);
        let mut store = reopen(store, dir.path());
        check(&store, &model);
        store.compact().unwrap();
        check(&store, &model);
        let store = reopen(store, dir.path());
        assert_eq!(store.generation, 2);
        check(&store, &model);
        // Only the current generation is left.
        let mut names: Vec<_> = std::fs::read_dir(store.path.clone())
            .unwrap()
            .map(|item| item.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with("state"))
            .collect();
        names.sort();
        assert_eq!(names, ["state", "state-2", "state-2.table"]);
    }

    /// A batch that makes a compaction due goes straight into the next table: it replaces and
    /// deletes keys only the table holds and keys sled holds, adds keys, and leaves sled with the
    /// meta values only; what reads back (and after reopening) is the same as through sled.
    #[test]
    fn a_batch_that_makes_a_compaction_due_goes_straight_into_the_table() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, mut model) = table_then_sled(dir.path());
        assert_eq!((store.generation, store.pending), (1, 3));
        let mut writes = distinct_writes(COMPACT_AFTER);
        writes.extend([set(1, "c"), del(3), set(2, "d"), del(45), set(46, "e"), del(59)]);
        write(&mut store, &mut model, &writes);
        assert_eq!((store.generation, store.pending), (2, 0), "the batch made a compaction due");
        check(&store, &model);
        assert!(store.db.iter().keys().all(|key| key.unwrap().starts_with(META_PREFIX)), "no state in sled");
        let store = reopen(store, dir.path());
        check(&store, &model);
    }

    /// While a run of batches holds its state (`Held` in store.rs), reads see the held values
    /// and deletions over sled's and the table's, and sled takes nothing; ending the hold writes
    /// them into sled when few, and a compaction that falls due meanwhile takes them into the
    /// next table. What reads back after reopening is the model either way.
    #[test]
    fn held_state_is_read_first_and_written_when_the_hold_ends() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, mut model) = table_then_sled(dir.path());
        let sled_before: Vec<_> = store.db.iter().collect::<std::result::Result<_, _>>().unwrap();

        store.begin_holding();
        write(&mut store, &mut model, &[set(1, "c"), del(3), set(2, "d"), del(45), set(46, "e")]);
        check(&store, &model);
        write(&mut store, &mut model, &[del(46), set(47, "f"), del(4), set(3, "g")]);
        check(&store, &model);
        let sled_now: Vec<_> = store.db.iter().collect::<std::result::Result<_, _>>().unwrap();
        assert_eq!(sled_now, sled_before, "sled takes nothing while the state is held");
        assert_eq!((store.generation, store.pending), (1, 3));

        store.end_holding(crate::store::HoldEnd::Settle).unwrap();
        assert_eq!((store.generation, store.pending), (1, 3 + 7), "few writes: into sled, each key once");
        check(&store, &model);
        let mut store = reopen(store, dir.path());
        check(&store, &model);

        // A compaction due while holding merges the held state into the next table.
        store.begin_holding();
        write(&mut store, &mut model, &[set(5, "h"), del(6)]);
        write(&mut store, &mut model, &distinct_writes(COMPACT_AFTER));
        assert_eq!((store.generation, store.pending, store.held_writes()), (2, 0, 0));
        check(&store, &model);
        write(&mut store, &mut model, &[set(6, "i"), del(7)]);
        store.end_holding(crate::store::HoldEnd::Settle).unwrap();
        check(&store, &model);
        let store = reopen(store, dir.path());
        check(&store, &model);
    }

    /// Ending a hold whose writes, with sled's, are about what the next few dozen single appends
    /// would make a compaction due at compacts instead ([`SETTLE_IMPORT_AFTER`]).
    #[test]
    fn a_hold_that_ends_near_a_due_compaction_compacts() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let mut model = Model::new();
        write(&mut store, &mut model, &distinct_writes(COMPACT_AFTER * 8));
        store.compact().unwrap();
        write(&mut store, &mut model, &[set(1, "a")]);
        let generation = store.generation;
        store.begin_holding();
        write(&mut store, &mut model, &distinct_writes_named("x", SETTLE_IMPORT_AFTER - 1));
        assert_eq!(store.generation, generation, "short of a small batch's compaction");
        store.end_holding(crate::store::HoldEnd::Settle).unwrap();
        assert_eq!((store.generation, store.pending), (generation + 1, 0));
        check(&store, &model);
        let store = reopen(store, dir.path());
        check(&store, &model);
    }

    /// A generation's sled written with sled's default segment size (stores before 64 KiB)
    /// opens with it and keeps its state; the next generation takes the smaller size.
    #[test]
    fn a_sled_written_with_another_segment_size_opens_with_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let index = Store::path(dir.path());
        let sled_at = sled_dir(&index, 0);
        std::fs::create_dir_all(&sled_at).unwrap();
        let old = sled::Config::new().path(&sled_at).segment_size(512 << 10).open().unwrap();
        old.insert(b"Pk001", tagged(Some(b"a"))).unwrap();
        old.flush().unwrap();
        drop(old);
        assert_eq!(existing_segment_size(&sled_at), Some(512 << 10));
        let mut store = Store::open(dir.path()).unwrap();
        let model = Model::from([(b"Pk001".to_vec(), b"a".to_vec())]);
        check(&store, &model);
        store.compact().unwrap();
        assert_eq!(existing_segment_size(&sled_dir(&index, store.generation)), Some(SEGMENT_SIZE));
        let store = reopen(store, dir.path());
        check(&store, &model);
    }

    #[test]
    fn a_compaction_interrupted_before_the_pointer_moved_leaves_the_old_generation() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let mut model = Model::new();
        write(&mut store, &mut model, &[("k001".into(), Some("x".into()))]);
        let index = store.path.clone();
        // What a crash halfway through the next compaction leaves: its table and sled, no pointer.
        Table::write(&table_path(&index, 1), std::iter::empty()).unwrap();
        std::fs::create_dir_all(sled_dir(&index, 1)).unwrap();
        let store = reopen(store, dir.path());
        assert_eq!(store.generation, 0);
        check(&store, &model);
        assert!(!table_path(&index, 1).exists() && !sled_dir(&index, 1).exists());
    }

    /// When a compaction is due: a small batch after [`COMPACT_AFTER`] pending writes; a bulk
    /// batch once sled holds a quarter of the table (and [`super::SETTLE_AFTER`] writes), or at
    /// once when the batch's own writes are an eighth of the table.
    #[test]
    fn a_compaction_is_due_by_pending_writes_and_the_tables_size() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let mut model = Model::new();
        write(&mut store, &mut model, &(0..800).map(|n| set(n, "a")).collect::<Vec<_>>());
        store.compact().unwrap();
        let settle = crate::store::SETTLE_AFTER;
        // (pending with the batch, the batch's writes, its entries) → due
        let cases = [
            ((COMPACT_AFTER - 1, 1, 1), false),
            ((COMPACT_AFTER, 1, 1), true),
            ((COMPACT_AFTER, 1_000, BULK_ENTRIES - 1), true),
            ((200, 100, BULK_ENTRIES - 1), false),
            ((100, 100, BULK_ENTRIES), true),
            ((99, 99, BULK_ENTRIES), false),
            ((settle, 10, BULK_ENTRIES), true),
            ((settle - 1, 10, BULK_ENTRIES), false),
        ];
        for ((pending, writes, entries), due) in cases {
            assert_eq!(store.compaction_due(pending, writes, entries), due, "{pending} {writes} {entries}");
        }
    }

    /// Where a hold compacts: at the table's size from [`super::SETTLE_AFTER`] to
    /// [`super::HELD_MAX`], then at `HELD_MAX`, then at a quarter of the table (never a
    /// constant step on an ever larger table).
    #[test]
    fn a_hold_compacts_at_the_tables_size_then_held_max_then_a_quarter_of_the_table() {
        let (settle, held_max) = (crate::store::SETTLE_AFTER, crate::store::HELD_MAX as u64);
        let cases = [
            (0, settle),
            (settle - 1, settle),
            (settle + 1, settle + 1),
            (100_000, 100_000),
            (held_max, held_max),
            (held_max + 1, held_max),
            (4 * held_max, held_max),
            (4 * held_max + 4, held_max + 1),
            (10_000_000, 2_500_000),
        ];
        for (table, at) in cases {
            assert_eq!(hold_compacts_at(table), at, "a table of {table} keys");
        }
        // Each compaction at least 1.25 times the table: the merging stays linear in the import.
        for table in [held_max, 4 * held_max, 40 * held_max] {
            assert!(hold_compacts_at(table) * 4 >= table, "{table}");
        }
    }

    /// While a run of batches holds its writes in memory, a compaction is due once it holds as
    /// many as the table has keys (and [`super::SETTLE_AFTER`]), or [`super::HELD_MAX`] on a
    /// larger table: whatever the batch's size.
    #[test]
    fn a_hold_compacts_once_it_holds_the_tables_size() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let settle = crate::store::SETTLE_AFTER;
        let held_max = crate::store::HELD_MAX as u64;
        let each = |count: u64, name: &str| -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
            let mut writes: Vec<_> = distinct_writes_named(name, count)
                .into_iter()
                .map(|(key, value)| (key.into_bytes(), value.map(String::into_bytes)))
                .collect();
            writes.sort();
            writes
        };
        store.begin_holding();
        // An empty table: the first SETTLE_AFTER writes.
        assert!(!store.compaction_due(settle - 1, settle - 1, BULK_ENTRIES));
        assert!(store.compaction_due(settle, 10, 1));
        store.compact_with(each(3 * settle, "small"), Vec::new()).unwrap();
        // (pending with the batch, the batch's writes, its entries) → due
        let table = 3 * settle;
        let cases = [
            ((table - 1, table - 1, BULK_ENTRIES), false),
            // Without a hold, due: a quarter of the table pending, and the batch an eighth of it.
            ((settle, table / 8, BULK_ENTRIES), false),
            ((table - 1, 10, 1), false),
            ((table, 10, 1), true),
            ((table, table, 100_000), true),
        ];
        for ((pending, writes, entries), due) in cases {
            assert_eq!(store.compaction_due(pending, writes, entries), due, "{pending} {writes} {entries}");
        }
        // A table larger than what a hold keeps in memory: HELD_MAX.
        store.compact_with(each(held_max + 10, "large"), Vec::new()).unwrap();
        assert!(!store.compaction_due(held_max - 1, 100, BULK_ENTRIES));
        assert!(store.compaction_due(held_max, 100, BULK_ENTRIES));
    }

    /// An import's end compacts exactly when the next few dozen single appends would: one
    /// write short of [`SETTLE_IMPORT_AFTER`] it leaves sled as it is, at it it compacts, and a
    /// single append after that finds nothing due.
    #[test]
    fn an_import_settles_what_the_next_appends_would_compact() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let mut model = Model::new();
        let writes = distinct_writes(SETTLE_IMPORT_AFTER);
        let (most, last) = writes.split_at(writes.len() - 1);
        write(&mut store, &mut model, most);
        assert_eq!((store.generation, store.pending), (0, SETTLE_IMPORT_AFTER - 1));
        assert!(!store.settle_after_import().unwrap(), "nothing the next appends would compact");
        assert_eq!(store.generation, 0);
        write(&mut store, &mut model, last);
        assert!(store.compaction_due(store.pending + 256, 256, 1), "256 more writes would compact");
        assert!(store.settle_after_import().unwrap());
        assert_eq!((store.generation, store.pending), (1, 0));
        check(&store, &model);
        assert!(!store.compaction_due(store.pending + 256, 256, 1));
    }

    #[test]
    fn a_store_compacts_once_enough_changes_are_pending() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let mut model = Model::new();
        let writes = distinct_writes(COMPACT_AFTER);
        write(&mut store, &mut model, &writes[..writes.len() - 1]);
        assert_eq!(store.generation, 0);
        write(&mut store, &mut model, &writes[writes.len() - 1..]);
        assert_eq!((store.generation, store.pending), (1, 0), "a small batch past the threshold compacts");
        check(&store, &model);
    }
}
