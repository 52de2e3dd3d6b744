//! Record facts (记录事实文件): what each record asserted into the indexes and statistics, for a
//! correction to retract and for queries to order by event date, in two append-only files.
//!
//! `index/facts.bin` holds the facts' canonical JSON, one after another; `index/facts-at.bin`
//! holds for seq `s` at byte `16·s` where its facts start in `facts.bin` and how long they are
//! (u64 BE each; length 0: the record asserted none). A correction changes the facts of an
//! earlier record: the new facts go to sled under `F‖seq` (`1‖JSON`, or `0` for none), which
//! overrides the files; corrections are rare, so these few keys are also kept in memory.
//!
//! Guarantees: an append writes its own facts once, never rewriting a neighbour's (the buckets
//! of 32 records they replace were rewritten on every append); like every item file, these are
//! written before the sled batch that counts them and cut back to its count on open. The
//! projections' logical buckets are rebuilt exactly from the files ([`Store::facts_buckets`]),
//! which is how `replay` compares them.

use std::collections::BTreeMap;

use super::Store;
use super::items::Run;
use crate::error::{Error, Result};
use crate::projection::layout;

/// Bytes of a facts-at item: offset, length.
pub(super) const FACTS_AT_BYTES: u64 = 16;
/// sled key tag of the facts a correction gave an earlier record.
pub(super) const OVERRIDE_TAG: u8 = b'F';

pub(super) fn override_key(seq: u64) -> Vec<u8> {
    let mut key = vec![OVERRIDE_TAG];
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

/// An override's stored value, and back.
pub(super) fn override_value(facts: &Option<Vec<u8>>) -> Vec<u8> {
    match facts {
        Some(json) => [&[1u8][..], json].concat(),
        None => vec![0],
    }
}

pub(super) fn override_from(value: &[u8]) -> Option<Option<Vec<u8>>> {
    match value.split_first() {
        Some((1, json)) => Some(Some(json.to_vec())),
        Some((0, [])) => Some(None),
        _ => None,
    }
}

fn damaged(what: &str) -> Error {
    Error::new(crate::ErrorKind::Store, format!("derived store: {what}; run `lianlog reindex`"))
}

fn word(bytes: &[u8], at: usize) -> u64 {
    bytes.get(at..at + 8).and_then(|b| <[u8; 8]>::try_from(b).ok()).map(u64::from_be_bytes).unwrap_or(0)
}

/// What a batch's facts write: items for its new seqs, their JSON, and overrides of earlier
/// seqs' facts.
#[derive(Default)]
pub(super) struct FactsWrites {
    pub at: Run,
    pub bytes: Run,
    pub overrides: Vec<(u64, Option<Vec<u8>>)>,
}

impl Store {
    /// Lay out `facts` (seq → facts) for a batch whose new entries are `first..end`, the JSON
    /// going to `facts.bin` from byte `bytes_end` on.
    pub(super) fn plan_facts(
        &self,
        mut facts: BTreeMap<u64, Option<Vec<u8>>>,
        first: u64,
        end: u64,
        bytes_end: u64,
    ) -> FactsWrites {
        let mut at = Run::starting_at(first);
        let mut bytes = Run::starting_at(bytes_end);
        for seq in first..end {
            let (offset, length) = match facts.remove(&seq).flatten() {
                Some(json) => {
                    let offset = bytes_end + bytes.bytes.len() as u64;
                    bytes.bytes.extend_from_slice(&json);
                    (offset, json.len() as u64)
                }
                None => (0, 0),
            };
            let mut item = offset.to_be_bytes().to_vec();
            item.extend_from_slice(&length.to_be_bytes());
            at.push(seq, &item, FACTS_AT_BYTES);
        }
        // What is left concerns entries before the batch (a correction's target).
        FactsWrites { at, bytes, overrides: facts.into_iter().collect() }
    }

    /// The facts record `seq` asserted, as they stand.
    pub(crate) fn facts_of(&self, seq: u64) -> Result<Option<Vec<u8>>> {
        if let Some(facts) = self.overrides.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(&seq).cloned()
        {
            return Ok(facts);
        }
        self.reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut item = [0u8; FACTS_AT_BYTES as usize];
        if !self.facts_at.read(seq, &mut item)? {
            return Ok(None);
        }
        let (offset, length) = (word(&item, 0), word(&item, 8));
        if length == 0 {
            return Ok(None);
        }
        let mut json = vec![0u8; usize::try_from(length).map_err(|_| damaged("facts too long"))?];
        if !self.facts.read(offset, &mut json)? {
            return Err(damaged(&format!("the facts of seq {seq} are missing")));
        }
        Ok(Some(json))
    }

    /// The projections' facts buckets ([`layout::record_facts`]) from bucket `from` on, rebuilt
    /// from the files: each bucket's items in seq order, with two reads per bucket.
    pub(super) fn facts_buckets(&self, from: u64) -> FactsBuckets<'_> {
        let applied = self.counts().map(|counts| counts.applied).unwrap_or(0);
        FactsBuckets { store: self, next: from, end: applied.div_ceil(layout::FACTS_PER_KEY), applied, failed: false }
    }

    fn facts_bucket(&self, bucket: u64, applied: u64) -> Result<Option<Vec<u8>>> {
        let first = bucket * layout::FACTS_PER_KEY;
        let end = (first + layout::FACTS_PER_KEY).min(applied);
        let mut items = vec![0u8; ((end - first) * FACTS_AT_BYTES) as usize];
        if !self.facts_at.read(first, &mut items)? {
            return Err(damaged("facts items are missing"));
        }
        let spans: Vec<(u64, u64)> =
            items.chunks_exact(FACTS_AT_BYTES as usize).map(|item| (word(item, 0), word(item, 8))).collect();
        let start = spans.iter().filter(|(_, length)| *length > 0).map(|(offset, _)| *offset).min().unwrap_or(0);
        let stop = spans.iter().map(|(offset, length)| offset + length).max().unwrap_or(0).max(start);
        let mut json = vec![0u8; (stop - start) as usize];
        if !self.facts.read(start, &mut json)? {
            return Err(damaged("facts are missing"));
        }
        let overrides = self.overrides.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut value = Vec::new();
        for (seq, (offset, length)) in (first..end).zip(spans) {
            let facts = match overrides.get(&seq) {
                Some(facts) => facts.clone(),
                None if length == 0 => None,
                None => Some(json[(offset - start) as usize..(offset - start + length) as usize].to_vec()),
            };
            if let Some(facts) = facts {
                crate::projection::facts_bucket_item(&mut value, seq, &facts);
            }
        }
        Ok((!value.is_empty()).then_some(value))
    }
}

/// The facts buckets of a store, in key order (see [`Store::facts_buckets`]).
pub(super) struct FactsBuckets<'a> {
    store: &'a Store,
    next: u64,
    end: u64,
    applied: u64,
    failed: bool,
}

impl Iterator for FactsBuckets<'_> {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.failed && self.next < self.end {
            let bucket = self.next;
            self.next += 1;
            match self.store.facts_bucket(bucket, self.applied) {
                Ok(Some(value)) => return Some(Ok((layout::record_facts(bucket * layout::FACTS_PER_KEY), value))),
                Ok(None) => {}
                Err(err) => {
                    self.failed = true;
                    return Some(Err(err));
                }
            }
        }
        None
    }
}
