//! Projection state and the view a batch writes through (投影状态).
//!
//! Guarantees: a [`View`] reads the base state (the store, or an in-memory map during replay)
//! through the batch's pending [`StateChanges`], so each record of a batch sees what the records
//! before it wrote; counters are never stored at zero or below; facts buckets are read without
//! panicking whatever their bytes.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::layout;
use crate::error::Result;

/// Reads projection state (the store, or an in-memory map during replay).
pub trait StateRead {
    fn get_state(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;

    /// The JSON state under `key`, parsed (unparsable bytes read as none, as they always have).
    /// A state that keeps case state parsed ([`MemoryState`]) answers without parsing.
    fn get_value(&self, key: &[u8]) -> Result<Option<Value>> {
        Ok(self.get_state(key)?.and_then(|bytes| serde_json::from_slice(&bytes).ok()))
    }

    /// The JSON state under `key` where this state keeps it parsed, to read in place; `None`
    /// means "ask [`StateRead::get_value`]".
    fn value_ref(&self, _key: &[u8]) -> Option<&Value> {
        None
    }

    /// Whether `key` has a value (what a rule asks of an id it must not reuse), without
    /// copying or encoding the value.
    fn contains_state(&self, key: &[u8]) -> Result<bool> {
        Ok(self.get_state(key)?.is_some())
    }

    /// Whether this state keeps indexes and record facts itself, outside its keys (the derived
    /// store: append-only posting and facts files). A [`View`] over it then records index and
    /// facts changes as operations ([`StateChanges::postings`], [`StateChanges::facts`]) instead
    /// of rewriting chunk and bucket keys, which it never reads.
    fn keeps_postings(&self) -> bool {
        false
    }

    /// The facts record `seq` asserted (canonical JSON), if any: from its bucket of
    /// [`layout::record_facts`] unless the state keeps them elsewhere.
    fn record_facts(&self, seq: u64) -> Result<Option<Vec<u8>>> {
        let Some(bucket) = self.get_state(&layout::record_facts(seq))? else { return Ok(None) };
        Ok(facts_item(&bucket, seq).map(|(start, end)| bucket[start..end].to_vec()))
    }
}

impl StateRead for BTreeMap<Vec<u8>, Vec<u8>> {
    fn get_state(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.get(key).cloned())
    }
}

/// Projection state rebuilt in memory (replay, as-of), keeping indexes and record facts the way
/// the store keeps them (postings and facts by seq, [`StateRead::keeps_postings`]) rather than as
/// chunk and bucket values rewritten on every record: what made an in-memory replay slower per
/// record than the store it checks. [`MemoryState::into_map`] lays them out as the projections'
/// keys ([`layout::index_chunks`], [`layout::record_facts`]), byte for byte what the store's scan
/// rebuilds from its files.
#[derive(Debug, Default)]
pub(crate) struct MemoryState {
    /// Projection keys other than indexes and facts (case state, statistics, duty reports,
    /// corrections), unordered until [`Self::into_map`]; one map for both forms of value, so
    /// that each write and read hashes its key once.
    keys: HashMap<Vec<u8>, Kept, foldhash::fast::RandomState>,
    /// Index prefix → its slots: every seq ever added, `None` where removed.
    indexes: HashMap<Vec<u8>, Vec<Option<u64>>, foldhash::fast::RandomState>,
    /// The facts each seq asserted (canonical JSON), by seq.
    facts: Vec<Option<Vec<u8>>>,
}

/// A projection value as [`MemoryState`] keeps it: canonical bytes, or JSON case state kept
/// parsed and encoded once, in [`MemoryState::into_map`] (a replayed record reads and rewrites its
/// case's state, and parsing and re-encoding it each time was the largest single part of a
/// replay, docs/PERFORMANCE.md).
#[derive(Debug)]
enum Kept {
    Bytes(Vec<u8>),
    Json(Value),
}

impl MemoryState {
    /// Apply `changes` (emptied), as the store applies a batch (replay writes through instead,
    /// [`View::into_memory`]; this is what it must equal): key writes, then index operations
    /// in the order made (a removal takes the newest live slot of its seq), then facts.
    #[cfg(test)]
    pub fn apply(&mut self, changes: &mut StateChanges) {
        for (key, value) in std::mem::take(&mut changes.writes) {
            match value {
                Some(value) => self.keys.insert(key, Kept::Bytes(value)),
                None => self.keys.remove(&key),
            };
        }
        for (key, value) in std::mem::take(&mut changes.values) {
            self.keys.insert(key, Kept::Json(value));
        }
        for (prefix, seq, added) in changes.postings.drain(..) {
            self.apply_posting(prefix, seq, added);
        }
        for (seq, facts) in std::mem::take(&mut changes.facts) {
            self.set_facts(seq, facts);
        }
    }

    /// An index change: `seq` added to the index under `prefix`, or its newest live slot there
    /// removed.
    fn apply_posting(&mut self, prefix: Vec<u8>, seq: u64, added: bool) {
        let slots = self.indexes.entry(prefix).or_default();
        if added {
            slots.push(Some(seq));
        } else if let Some(slot) = slots.iter_mut().rev().find(|slot| **slot == Some(seq)) {
            *slot = None;
        }
    }

    /// The facts `seq` now has (`None`: none).
    fn set_facts(&mut self, seq: u64, facts: Option<Vec<u8>>) {
        let Ok(at) = usize::try_from(seq) else { return };
        if self.facts.len() <= at {
            self.facts.resize(at + 1, None);
        }
        self.facts[at] = facts;
    }

    /// Every projection key and value, as the store holds them (index chunks and sizes, facts
    /// buckets included), in key order.
    pub fn into_map(self) -> BTreeMap<Vec<u8>, Vec<u8>> {
        // Built from sorted items at once, several times cheaper than key by key.
        self.into_sorted().into_iter().collect()
    }

    /// [`Self::into_map`]'s items, in key order, laid out and sorted on all cores: at the end of
    /// a replay nothing else runs, and laying out 150,000 keys on one thread was a sixth of it.
    pub fn into_sorted(self) -> Vec<(Vec<u8>, Vec<u8>)> {
        use rayon::prelude::*;
        let MemoryState { keys, indexes, facts } = self;
        let keys: Vec<(Vec<u8>, Kept)> = keys.into_iter().collect();
        let mut items: Vec<(Vec<u8>, Vec<u8>)> = keys
            .into_par_iter()
            .map(|(key, kept)| match kept {
                Kept::Bytes(bytes) => (key, bytes),
                Kept::Json(value) => (key, encode_state(&value)),
            })
            .collect();
        let indexes: Vec<(Vec<u8>, Vec<Option<u64>>)> = indexes.into_iter().collect();
        items.par_extend(indexes.par_iter().flat_map_iter(|(prefix, slots)| {
            let size = (layout::index_slots(prefix), (slots.len() as u64).to_be_bytes().to_vec());
            layout::index_chunks(prefix, slots).chain(std::iter::once(size))
        }));
        items.par_extend(facts.par_chunks(layout::FACTS_PER_KEY as usize).enumerate().filter_map(|(bucket, facts)| {
            let first = bucket as u64 * layout::FACTS_PER_KEY;
            let mut value = Vec::new();
            for (seq, json) in (first..).zip(facts) {
                if let Some(json) = json {
                    facts_bucket_item(&mut value, seq, json);
                }
            }
            (!value.is_empty()).then(|| (layout::record_facts(first), value))
        }));
        // Each key is laid out once (case state, counters, index chunks and facts buckets are
        // apart by family), so an unstable sort gives the one order.
        items.par_sort_unstable_by(|a, b| a.0.cmp(&b.0));
        items
    }
}

impl StateRead for MemoryState {
    /// Case state and statistics. The projections never read an index or a facts bucket by key
    /// over a state that keeps postings (they read [`StateRead::record_facts`]), so those keys
    /// are not answered here; [`MemoryState::into_map`] lays them out for the readers that do.
    fn get_state(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(match self.keys.get(key) {
            Some(Kept::Bytes(bytes)) => Some(bytes.clone()),
            Some(Kept::Json(value)) => Some(encode_state(value)),
            None => None,
        })
    }

    fn get_value(&self, key: &[u8]) -> Result<Option<Value>> {
        Ok(match self.keys.get(key) {
            Some(Kept::Json(value)) => Some(value.clone()),
            Some(Kept::Bytes(bytes)) => serde_json::from_slice(bytes).ok(),
            None => None,
        })
    }

    fn value_ref(&self, key: &[u8]) -> Option<&Value> {
        match self.keys.get(key) {
            Some(Kept::Json(value)) => Some(value),
            _ => None,
        }
    }

    fn contains_state(&self, key: &[u8]) -> Result<bool> {
        Ok(self.keys.contains_key(key))
    }

    fn keeps_postings(&self) -> bool {
        true
    }

    fn record_facts(&self, seq: u64) -> Result<Option<Vec<u8>>> {
        Ok(usize::try_from(seq).ok().and_then(|at| self.facts.get(at)).cloned().flatten())
    }
}

/// Pending changes over a base state: what a batch of records will write.
#[derive(Debug, Default, Clone)]
pub(crate) struct StateChanges {
    pub writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// JSON case state written by [`View::put_json`], kept parsed until the changes land
    /// ([`StateChanges::into_writes`] encodes it; a [`MemoryState`] keeps it parsed). A key is
    /// here or in `writes`, never both.
    pub values: BTreeMap<Vec<u8>, Value>,
    /// Over a state that [`StateRead::keeps_postings`]: index additions and removals in the
    /// order made (the index prefix, the seq, whether added).
    pub postings: Vec<(Vec<u8>, u64, bool)>,
    /// Over a state that [`StateRead::keeps_postings`]: the facts each seq now has (`None`:
    /// none), canonical JSON.
    pub facts: BTreeMap<u64, Option<Vec<u8>>>,
}

impl StateChanges {
    /// The key writes, with the JSON values encoded (canonical bytes): what a store writes.
    pub fn into_writes(self) -> BTreeMap<Vec<u8>, Option<Vec<u8>>> {
        let mut writes = self.writes;
        writes.extend(self.values.into_iter().map(|(key, value)| (key, Some(encode_state(&value)))));
        writes
    }
}

/// The stored bytes of JSON state: canonical, so that a replay is byte-identical to the
/// incremental state (the one encoding of case state).
fn encode_state(value: &Value) -> Vec<u8> {
    crate::canonical::encode(value, "state").unwrap_or_default()
}

/// The state a record's projection reads and writes: a base seen through pending changes (a
/// batch over the store, whose changes land together once the batch is durable), or a replay's
/// memory state written through, record by record (nothing to land: each record's changes
/// would go into it at once anyway, and reading one map instead of two and writing once
/// instead of twice was a sixth of a replay's projecting thread).
pub(crate) struct View<'a> {
    target: Target<'a>,
}

enum Target<'a> {
    Over { base: &'a dyn StateRead, changes: &'a mut StateChanges },
    Memory(&'a mut MemoryState),
}

impl<'a> View<'a> {
    pub fn new(base: &'a dyn StateRead, changes: &'a mut StateChanges) -> View<'a> {
        View { target: Target::Over { base, changes } }
    }

    /// A view that writes straight into `memory` (a replay): what [`View::new`] over it with
    /// its changes applied after each record would leave.
    pub fn into_memory(memory: &'a mut MemoryState) -> View<'a> {
        View { target: Target::Memory(memory) }
    }

    pub(super) fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let (base, changes) = match &self.target {
            Target::Over { base, changes } => (*base, &**changes),
            Target::Memory(memory) => return memory.get_state(key),
        };
        if let Some(value) = changes.values.get(key) {
            return Ok(Some(encode_state(value)));
        }
        match changes.writes.get(key) {
            Some(value) => Ok(value.clone()),
            None => base.get_state(key),
        }
    }

    /// Whether `key` has a value (an id already used), without copying it.
    pub(super) fn contains(&self, key: &[u8]) -> Result<bool> {
        let (base, changes) = match &self.target {
            Target::Over { base, changes } => (*base, &**changes),
            Target::Memory(memory) => return memory.contains_state(key),
        };
        if changes.values.contains_key(key) {
            return Ok(true);
        }
        match changes.writes.get(key) {
            Some(value) => Ok(value.is_some()),
            None => base.contains_state(key),
        }
    }

    /// The JSON state under `key`, to change and put back.
    pub(super) fn get_json(&self, key: &[u8]) -> Result<Option<Value>> {
        Ok(self.json(key)?.map(std::borrow::Cow::into_owned))
    }

    /// The JSON state under `key` for reading: borrowed where it is kept parsed (a rule's look
    /// at a case, the case a record links to), parsed from its bytes otherwise (unparsable
    /// bytes read as none).
    pub(super) fn json(&self, key: &[u8]) -> Result<Option<std::borrow::Cow<'_, Value>>> {
        use std::borrow::Cow;
        let base: &dyn StateRead = match &self.target {
            Target::Over { base, changes } => {
                if let Some(value) = changes.values.get(key) {
                    return Ok(Some(Cow::Borrowed(value)));
                }
                if let Some(bytes) = changes.writes.get(key) {
                    return Ok(bytes.as_ref().and_then(|bytes| serde_json::from_slice(bytes).ok()).map(Cow::Owned));
                }
                *base
            }
            Target::Memory(memory) => &**memory,
        };
        if let Some(value) = base.value_ref(key) {
            return Ok(Some(Cow::Borrowed(value)));
        }
        Ok(base.get_value(key)?.map(Cow::Owned))
    }

    pub(super) fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        match &mut self.target {
            Target::Over { changes, .. } => {
                changes.values.remove(&key);
                changes.writes.insert(key, Some(value));
            }
            Target::Memory(memory) => {
                memory.keys.insert(key, Kept::Bytes(value));
            }
        }
    }

    /// Write JSON state: kept parsed until the changes land, where it is encoded canonically
    /// (once, however many records of a batch rewrite it).
    pub(super) fn put_json(&mut self, key: Vec<u8>, value: Value) {
        match &mut self.target {
            Target::Over { changes, .. } => {
                changes.writes.remove(&key);
                changes.values.insert(key, value);
            }
            Target::Memory(memory) => {
                memory.keys.insert(key, Kept::Json(value));
            }
        }
    }

    pub(super) fn delete(&mut self, key: Vec<u8>) {
        match &mut self.target {
            Target::Over { changes, .. } => {
                changes.values.remove(&key);
                changes.writes.insert(key, None);
            }
            Target::Memory(memory) => {
                memory.keys.remove(&key);
            }
        }
    }

    /// Whether the state keeps indexes as postings and facts by seq
    /// ([`StateRead::keeps_postings`]).
    fn keeps_postings(&self) -> bool {
        match &self.target {
            Target::Over { base, .. } => base.keeps_postings(),
            Target::Memory(_) => true,
        }
    }

    /// Over a state that keeps postings: an index change, in the order made.
    fn posting(&mut self, prefix: Vec<u8>, seq: u64, added: bool) {
        match &mut self.target {
            Target::Over { changes, .. } => changes.postings.push((prefix, seq, added)),
            Target::Memory(memory) => memory.apply_posting(prefix, seq, added),
        }
    }

    /// Over a state that keeps postings: the facts `seq` now has.
    fn set_facts(&mut self, seq: u64, facts: Option<Vec<u8>>) {
        match &mut self.target {
            Target::Over { changes, .. } => {
                changes.facts.insert(seq, facts);
            }
            Target::Memory(memory) => memory.set_facts(seq, facts),
        }
    }

    /// Add `seq` to the index under `prefix`: appended to its last chunk, so that an append
    /// rewrites one small value rather than adding a key per record (or, over the store, one
    /// posting appended to its file).
    pub(crate) fn index_add(&mut self, prefix: Vec<u8>, seq: u64) -> Result<()> {
        if self.keeps_postings() {
            self.posting(prefix, seq, true);
            return Ok(());
        }
        let slots_key = layout::index_slots(&prefix);
        let slots = self.get_u64(&slots_key)?;
        let chunk_key = layout::index_chunk(&prefix, slots / layout::INDEX_CHUNK_SEQS);
        let mut chunk = self.take_for_update(&chunk_key)?;
        chunk.extend_from_slice(&seq.to_be_bytes());
        self.put(chunk_key, chunk);
        self.put(slots_key, (slots + 1).to_be_bytes().to_vec());
        Ok(())
    }

    /// Remove `seq` from the index under `prefix` (a correction retracting what its target
    /// asserted): its newest occurrence. Newest chunks first, where corrected records usually
    /// are.
    pub(crate) fn index_remove(&mut self, prefix: &[u8], seq: u64) -> Result<()> {
        if self.keeps_postings() {
            self.posting(prefix.to_vec(), seq, false);
            return Ok(());
        }
        let slots = self.get_u64(&layout::index_slots(prefix))?;
        let wanted = seq.to_be_bytes();
        for chunk_number in (0..slots.div_ceil(layout::INDEX_CHUNK_SEQS)).rev() {
            let chunk_key = layout::index_chunk(prefix, chunk_number);
            let Some(mut chunk) = self.get(&chunk_key)? else { continue };
            if let Some(at) = chunk.chunks_exact(8).rposition(|item| item == wanted) {
                chunk.drain(at * 8..at * 8 + 8);
                if chunk.is_empty() {
                    self.delete(chunk_key);
                } else {
                    self.put(chunk_key, chunk);
                }
                return Ok(());
            }
        }
        Ok(())
    }

    /// The facts record `seq` asserted, if it asserted any.
    pub(crate) fn facts(&self, seq: u64) -> Result<Option<Value>> {
        if self.keeps_postings() {
            let bytes = match &self.target {
                Target::Over { base, changes } => match changes.facts.get(&seq) {
                    Some(pending) => pending.clone(),
                    None => base.record_facts(seq)?,
                },
                Target::Memory(memory) => memory.record_facts(seq)?,
            };
            return Ok(bytes.and_then(|bytes| serde_json::from_slice(&bytes).ok()));
        }
        let Some(bucket) = self.get(&layout::record_facts(seq))? else { return Ok(None) };
        Ok(facts_item(&bucket, seq).and_then(|(start, end)| serde_json::from_slice(&bucket[start..end]).ok()))
    }

    pub(crate) fn put_facts(&mut self, seq: u64, facts: &Value) -> Result<()> {
        self.put_facts_json(seq, encode_state(facts))
    }

    /// [`View::put_facts`] with the facts already in canonical JSON.
    pub(crate) fn put_facts_json(&mut self, seq: u64, json: Vec<u8>) -> Result<()> {
        if self.keeps_postings() {
            self.set_facts(seq, Some(json));
            return Ok(());
        }
        let key = layout::record_facts(seq);
        let mut bucket = self.take_for_update(&key)?;
        remove_facts_item(&mut bucket, seq);
        // Items in seq order (not the order put), so that a bucket's bytes follow from the
        // facts of its seqs alone: the store rebuilds them from its facts file.
        let at = facts_insertion_point(&bucket, seq);
        let mut item = Vec::with_capacity(FACTS_HEADER + json.len());
        item.extend_from_slice(&seq.to_be_bytes());
        item.extend_from_slice(&(json.len() as u32).to_be_bytes());
        item.extend_from_slice(&json);
        bucket.splice(at..at, item);
        self.put(key, bucket);
        Ok(())
    }

    pub(crate) fn delete_facts(&mut self, seq: u64) -> Result<()> {
        if self.keeps_postings() {
            self.set_facts(seq, None);
            return Ok(());
        }
        let key = layout::record_facts(seq);
        let mut bucket = self.take_for_update(&key)?;
        remove_facts_item(&mut bucket, seq);
        if bucket.is_empty() {
            self.delete(key)
        } else {
            self.put(key, bucket)
        }
        Ok(())
    }

    /// The value of `key` to change and put back: moved out of the pending changes when it is
    /// there (no copy), else read from the base.
    pub(super) fn take_for_update(&mut self, key: &[u8]) -> Result<Vec<u8>> {
        let (base, changes) = match &mut self.target {
            Target::Over { base, changes } => (*base, &mut **changes),
            Target::Memory(memory) => {
                return Ok(match memory.keys.remove(key) {
                    Some(Kept::Bytes(bytes)) => bytes,
                    Some(Kept::Json(value)) => encode_state(&value),
                    None => Vec::new(),
                });
            }
        };
        if let Some(value) = changes.values.remove(key) {
            return Ok(encode_state(&value));
        }
        match changes.writes.get_mut(key) {
            Some(pending) => Ok(pending.take().unwrap_or_default()),
            None => Ok(base.get_state(key)?.unwrap_or_default()),
        }
    }

    pub(super) fn get_u64(&self, key: &[u8]) -> Result<u64> {
        let counter = |bytes: &[u8]| <[u8; 8]>::try_from(bytes).ok().map(u64::from_be_bytes).unwrap_or(0);
        if let Target::Memory(memory) = &self.target {
            // Read in place: a counter is read and rewritten for every record.
            return Ok(match memory.keys.get(key) {
                Some(Kept::Bytes(bytes)) => counter(bytes),
                _ => 0,
            });
        }
        Ok(self.get(key)?.map_or(0, |bytes| counter(&bytes)))
    }

    pub(super) fn add_count(&mut self, key: Vec<u8>, delta: i64) -> Result<()> {
        // Counters are deleted rather than stored at zero or below, so their bytes read the same
        // as u64 or i64.
        let current = self.get_u64(&key)? as i64;
        let next = current + delta;
        if next <= 0 {
            self.delete(key)
        } else {
            self.put(key, next.to_be_bytes().to_vec())
        }
        Ok(())
    }
}

/// Bytes before each item's JSON in a facts bucket: seq (u64 BE), length (u32 BE).
const FACTS_HEADER: usize = 12;

/// Where the facts of `seq` lie in a bucket of [`layout::record_facts`] (the JSON's byte range).
fn facts_item(bucket: &[u8], seq: u64) -> Option<(usize, usize)> {
    let mut at = 0;
    while at + FACTS_HEADER <= bucket.len() {
        let item_seq = u64::from_be_bytes(bucket[at..at + 8].try_into().ok()?);
        let length = u32::from_be_bytes(bucket[at + 8..at + FACTS_HEADER].try_into().ok()?) as usize;
        let end = (at + FACTS_HEADER).checked_add(length).filter(|end| *end <= bucket.len())?;
        if item_seq == seq {
            return Some((at + FACTS_HEADER, end));
        }
        at = end;
    }
    None
}

/// Where an item for `seq` goes in a bucket kept in seq order: before the first item of a
/// larger seq (the end of a damaged bucket's readable part, or of the bucket).
fn facts_insertion_point(bucket: &[u8], seq: u64) -> usize {
    let mut at = 0;
    while at + FACTS_HEADER <= bucket.len() {
        let (Ok(item_seq), Ok(length)) =
            (<[u8; 8]>::try_from(&bucket[at..at + 8]), <[u8; 4]>::try_from(&bucket[at + 8..at + FACTS_HEADER]))
        else {
            break;
        };
        let end = (at + FACTS_HEADER).saturating_add(u32::from_be_bytes(length) as usize);
        if u64::from_be_bytes(item_seq) > seq || end > bucket.len() {
            return at;
        }
        at = end;
    }
    at.min(bucket.len())
}

/// One item of a facts bucket ([`layout::record_facts`]): seq, length, JSON.
pub(crate) fn facts_bucket_item(out: &mut Vec<u8>, seq: u64, json: &[u8]) {
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&(json.len() as u32).to_be_bytes());
    out.extend_from_slice(json);
}

fn remove_facts_item(bucket: &mut Vec<u8>, seq: u64) {
    if let Some((start, end)) = facts_item(bucket, seq) {
        bucket.drain(start - FACTS_HEADER..end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The same operations through a View over plain keys (chunks and buckets rewritten), over
    /// a [`MemoryState`] (postings and facts by seq) with the changes applied after each batch,
    /// and written through into another (as replay writes) leave byte-identical projection keys:
    /// what lets replay compare its in-memory state with the store.
    #[test]
    fn memory_state_lays_out_indexes_and_facts_as_plain_keys_do() {
        let mut plain = BTreeMap::new();
        let mut memory = MemoryState::default();
        let mut written_through = MemoryState::default();
        let people = [layout::person_prefix("P-1"), layout::person_prefix("P-2")];
        // More seqs than a chunk and a facts bucket hold, removals of the newest and of older
        // slots, a seq added twice, a removal of a seq the index does not hold.
        let mut operations: Vec<(usize, u64, bool)> = (0..300).map(|seq| (seq as usize % 2, seq, true)).collect();
        operations.extend([
            (0, 4, false),
            (0, 298, false),
            (1, 7, true),
            (1, 7, false),
            (1, 1000, false),
            (0, 10, false),
        ]);
        for chunk in operations.chunks(7) {
            for state in [0, 1, 2] {
                let mut changes = StateChanges::default();
                let mut view = match state {
                    0 => View::new(&plain, &mut changes),
                    1 => View::new(&memory, &mut changes),
                    _ => View::into_memory(&mut written_through),
                };
                for &(person, seq, added) in chunk {
                    if added {
                        view.index_add(people[person].clone(), seq).unwrap();
                        view.put_facts(seq, &json!({"seq": seq})).unwrap();
                        view.add_count(layout::month_stat("2026-12", "interview"), 1).unwrap();
                    } else {
                        view.index_remove(&people[person], seq).unwrap();
                        view.delete_facts(seq).unwrap();
                        view.add_count(layout::month_stat("2026-12", "interview"), -1).unwrap();
                    }
                }
                if state == 0 {
                    for (key, value) in changes.writes {
                        match value {
                            Some(value) => plain.insert(key, value),
                            None => plain.remove(&key),
                        };
                    }
                } else if state == 1 {
                    memory.apply(&mut changes);
                } else {
                    assert!(changes.writes.is_empty() && changes.postings.is_empty(), "nothing pending");
                }
            }
        }
        assert_eq!(memory.record_facts(5).unwrap(), plain.record_facts(5).unwrap());
        assert_eq!(memory.record_facts(4).unwrap(), None);
        assert_eq!(written_through.record_facts(5).unwrap(), plain.record_facts(5).unwrap());
        assert_eq!(memory.into_map(), plain);
        assert_eq!(written_through.into_map(), plain);
    }

    /// Case state written with `put_json` is kept parsed until the changes land; read back
    /// through the view, the memory state or the store's writes, it is the canonical bytes a
    /// plain key holds, and a later byte write or delete of the same key wins.
    #[test]
    fn json_state_kept_parsed_reads_and_lands_as_its_canonical_bytes() {
        let report = layout::report("R-1");
        let decision = layout::decision("D-1");
        let state = json!({"seq": 3, "status": "open", "units": ["市住建局"], "finding": null});
        let canonical = crate::canonical::encode(&state, "state").unwrap();
        let mut memory = MemoryState::default();
        let mut plain: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();

        let mut changes = StateChanges::default();
        let mut view = View::new(&memory, &mut changes);
        view.put_json(report.clone(), state.clone());
        view.put_json(decision.clone(), json!({"seq": 4}));
        view.put(decision.clone(), b"bytes".to_vec());
        assert_eq!(view.get(&report).unwrap(), Some(canonical.clone()));
        assert_eq!(view.get_json(&report).unwrap(), Some(state.clone()));
        assert!(view.contains(&report).unwrap() && view.contains(&decision).unwrap());
        assert_eq!(view.get(&decision).unwrap(), Some(b"bytes".to_vec()), "the later byte write wins");
        let writes = changes.clone().into_writes();
        assert_eq!(writes.get(&report), Some(&Some(canonical.clone())));
        assert_eq!(writes.get(&decision), Some(&Some(b"bytes".to_vec())));
        for (key, value) in writes {
            plain.insert(key, value.unwrap());
        }
        memory.apply(&mut changes);
        assert_eq!(memory.get_state(&report).unwrap(), Some(canonical.clone()));
        assert_eq!(memory.get_value(&report).unwrap(), Some(state.clone()));
        assert!(memory.contains_state(&report).unwrap());

        // Deleted, then written again as JSON over a key that held bytes.
        let mut changes = StateChanges::default();
        let mut view = View::new(&memory, &mut changes);
        view.delete(report.clone());
        assert!(!view.contains(&report).unwrap());
        assert_eq!(view.get_json(&report).unwrap(), None);
        view.put_json(decision.clone(), json!({"seq": 5}));
        plain.remove(&report);
        plain.insert(decision.clone(), br#"{"seq":5}"#.to_vec());
        memory.apply(&mut changes);
        assert!(!memory.contains_state(&report).unwrap());
        assert_eq!(memory.get_state(&decision).unwrap(), Some(br#"{"seq":5}"#.to_vec()));
        assert_eq!(memory.into_map(), plain);

        // The same written through into a memory state, as replay writes: each read sees the
        // writes before it, and the keys land as they did above.
        let mut through = MemoryState::default();
        let mut view = View::into_memory(&mut through);
        view.put_json(report.clone(), state.clone());
        view.put_json(decision.clone(), json!({"seq": 4}));
        view.put(decision.clone(), b"bytes".to_vec());
        assert_eq!(view.get(&report).unwrap(), Some(canonical.clone()));
        assert_eq!(view.get_json(&report).unwrap(), Some(state.clone()));
        assert!(matches!(view.json(&report).unwrap(), Some(std::borrow::Cow::Borrowed(_))), "read in place");
        assert_eq!(view.get(&decision).unwrap(), Some(b"bytes".to_vec()));
        view.delete(report.clone());
        assert!(!view.contains(&report).unwrap());
        assert_eq!(view.get_json(&report).unwrap(), None);
        view.put_json(decision.clone(), json!({"seq": 5}));
        view.add_count(layout::month_stat("2026-12", "interview"), 2).unwrap();
        view.add_count(layout::month_stat("2026-12", "interview"), -1).unwrap();
        assert_eq!(view.get_u64(&layout::month_stat("2026-12", "interview")).unwrap(), 1);
        view.add_count(layout::month_stat("2026-12", "interview"), -1).unwrap();
        assert!(!view.contains(&layout::month_stat("2026-12", "interview")).unwrap(), "a count at zero is deleted");
        assert_eq!(through.into_map(), plain);
    }

    #[test]
    fn record_facts_share_keys_and_each_is_found_replaced_and_removed_alone() {
        let base = BTreeMap::new();
        let mut changes = StateChanges::default();
        let mut view = View::new(&base, &mut changes);
        let per_key = layout::FACTS_PER_KEY;
        for seq in 0..2 * per_key {
            view.put_facts(seq, &json!({"seq": seq})).unwrap();
        }
        view.put_facts(5, &json!({"seq": "five"})).unwrap();
        view.delete_facts(6).unwrap();
        assert_eq!(view.facts(5).unwrap(), Some(json!({"seq": "five"})));
        assert_eq!(view.facts(6).unwrap(), None);
        for seq in (0..2 * per_key).filter(|seq| ![5, 6].contains(seq)) {
            assert_eq!(view.facts(seq).unwrap(), Some(json!({"seq": seq})), "seq {seq}");
        }
        assert_eq!(changes.writes.len(), 2, "{per_key} records per key");

        // A damaged bucket reads as no facts rather than a panic.
        let mut damaged = BTreeMap::new();
        damaged.insert(layout::record_facts(0), vec![0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, b'{']);
        let mut changes = StateChanges::default();
        let mut view = View::new(&damaged, &mut changes);
        assert_eq!(view.facts(0).unwrap(), None);
        view.delete_facts(0).unwrap();
    }
}
