//! Index postings (索引倒排文件): the person, unit and kind indexes as one append-only file of
//! postings, each linked to the previous posting of its index, with a small head per index in
//! the store's state (`store/state.rs`).
//!
//! `index/postings.bin` holds item `n` at byte `16·n`: the seq (u64 BE) and the number + 1 of the
//! previous posting of the same index (u64 BE, 0 for the first). Under `I‖tail` (the index's
//! projection prefix without its `P`) sled keeps the index's head: how many seqs were ever added
//! (u64 BE, what names a seq's chunk in the projections' key layout) and the number + 1 of its
//! newest posting. A seq removed from an index (a correction retracting what its target asserted)
//! keeps its posting; `T‖n` marks posting `n` removed.
//!
//! Guarantees: an append writes 16 bytes per index it touches and one small sled value per index,
//! whatever the index's size (the chunks it replaces were rewritten whole); postings are written
//! before the sled batch that counts them, so a crash leaves only postings past the count, which
//! are cut on open; a reader that learnt a head reads the postings it names while a writer
//! appends. The projections' logical chunk and size keys are rebuilt from the postings exactly
//! ([`Store::index_items`]), which is how `replay` compares them.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::Store;
use super::items::Run;
use crate::error::{Error, Result};
use crate::projection::layout;

/// Bytes of a posting: seq, previous posting + 1.
pub(super) const POSTING_BYTES: u64 = 16;
/// sled key tag of an index head.
pub(super) const HEAD_TAG: u8 = b'I';
/// sled key tag of a removed posting.
pub(super) const REMOVED_TAG: u8 = b'T';

/// The head of an index: seqs ever added, and its newest posting's number + 1 (0: none).
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub(super) struct Head {
    pub count: u64,
    pub last: u64,
}

impl Head {
    fn to_bytes(self) -> Vec<u8> {
        let mut out = self.count.to_be_bytes().to_vec();
        out.extend_from_slice(&self.last.to_be_bytes());
        out
    }

    fn from_bytes(bytes: &[u8]) -> Option<Head> {
        let count = u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?);
        let last = u64::from_be_bytes(bytes.get(8..16)?.try_into().ok()?);
        (bytes.len() == 16).then_some(Head { count, last })
    }
}

fn head_key(tail: &[u8]) -> Vec<u8> {
    let mut key = vec![HEAD_TAG];
    key.extend_from_slice(tail);
    key
}

pub(super) fn removed_key(item: u64) -> Vec<u8> {
    let mut key = vec![REMOVED_TAG];
    key.extend_from_slice(&item.to_be_bytes());
    key
}

/// A posting's seq and previous posting + 1.
fn posting(bytes: &[u8]) -> (u64, u64) {
    let word = |range: std::ops::Range<usize>| {
        bytes.get(range).and_then(|b| <[u8; 8]>::try_from(b).ok()).map(u64::from_be_bytes).unwrap_or(0)
    };
    (word(0..8), word(8..16))
}

fn damaged(what: &str) -> Error {
    Error::new(crate::ErrorKind::Store, format!("derived store: {what}; run `lianlog reindex`"))
}

/// What a batch's index changes write: the new postings, the heads they move, the postings
/// they mark removed.
#[derive(Default)]
pub(super) struct PostingWrites {
    pub run: Run,
    pub heads: Vec<(Vec<u8>, Vec<u8>)>,
    pub removed: Vec<u64>,
}

impl Store {
    fn read_head(&self, tail: &[u8]) -> Result<Head> {
        match self.get(&head_key(tail))? {
            None => Ok(Head::default()),
            Some(bytes) => Head::from_bytes(&bytes).ok_or_else(|| damaged("malformed index head")),
        }
    }

    /// Posting `item`, from the batch's own `pending` run or the file.
    fn posting_at(&self, item: u64, pending: &Run) -> Result<(u64, u64)> {
        if let Some(bytes) = pending.get(item, POSTING_BYTES) {
            return Ok(posting(bytes));
        }
        self.reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut bytes = [0u8; POSTING_BYTES as usize];
        if !self.postings.read(item, &mut bytes)? {
            return Err(damaged(&format!("posting {item} is missing")));
        }
        Ok(posting(&bytes))
    }

    fn is_removed(&self, item: u64) -> bool {
        self.removed.read().unwrap_or_else(std::sync::PoisonError::into_inner).contains(&item)
    }

    /// Turn index operations (prefix, seq, added), in the order made, into postings from item
    /// `first` on, heads and removal marks. A removal takes the newest live posting of the seq
    /// in its index (the projections' rule); one of a seq the index does not hold changes nothing.
    pub(super) fn plan_postings(&self, ops: Vec<(Vec<u8>, u64, bool)>, first: u64) -> Result<PostingWrites> {
        let mut run = Run::starting_at(first);
        let mut heads: HashMap<Vec<u8>, Head> = HashMap::new();
        let mut removed: HashSet<u64> = HashSet::new();
        for (prefix, seq, added) in ops {
            let tail = prefix.get(1..).unwrap_or_default().to_vec();
            let head = match heads.get(&tail) {
                Some(head) => *head,
                None => self.read_head(&tail)?,
            };
            if added {
                let item = first + run.bytes.len() as u64 / POSTING_BYTES;
                let mut bytes = seq.to_be_bytes().to_vec();
                bytes.extend_from_slice(&head.last.to_be_bytes());
                run.push(item, &bytes, POSTING_BYTES);
                heads.insert(tail, Head { count: head.count + 1, last: item + 1 });
                continue;
            }
            let mut next = head.last;
            let mut steps = 0u64;
            while next > 0 {
                let item = next - 1;
                let (found, previous) = self.posting_at(item, &run)?;
                if found == seq && !removed.contains(&item) && !self.is_removed(item) {
                    removed.insert(item);
                    break;
                }
                steps += 1;
                if previous >= next || steps > head.count {
                    return Err(damaged("an index's postings do not form a chain"));
                }
                next = previous;
            }
            heads.insert(tail, head);
        }
        let mut removed: Vec<u64> = removed.into_iter().collect();
        removed.sort_unstable();
        let mut heads: Vec<(Vec<u8>, Vec<u8>)> =
            heads.into_iter().map(|(tail, head)| (head_key(&tail), head.to_bytes())).collect();
        heads.sort();
        Ok(PostingWrites { run, heads, removed })
    }

    /// The seqs of the index with head `head`, in the order added, `None` where removed.
    /// `whole` is the postings file read whole (for a scan of every index), else each posting is
    /// read on its own.
    fn chain(&self, head: Head, whole: Option<&[u8]>) -> Result<Vec<Option<u64>>> {
        let mut seqs = Vec::with_capacity(head.count.min(1 << 20) as usize);
        let mut next = head.last;
        let none = Run::default();
        while next > 0 {
            let item = next - 1;
            let (seq, previous) = match whole {
                Some(bytes) => {
                    let start = (item * POSTING_BYTES) as usize;
                    posting(
                        bytes
                            .get(start..start + POSTING_BYTES as usize)
                            .ok_or_else(|| damaged("a posting is missing"))?,
                    )
                }
                None => self.posting_at(item, &none)?,
            };
            seqs.push((!self.is_removed(item)).then_some(seq));
            if previous >= next || seqs.len() as u64 > head.count {
                return Err(damaged("an index's postings do not form a chain"));
            }
            next = previous;
        }
        if seqs.len() as u64 != head.count {
            return Err(damaged("an index holds fewer postings than its head counts"));
        }
        seqs.reverse();
        Ok(seqs)
    }

    /// Heads of the indexes whose tail starts with `tail`, in key order.
    fn heads_under(&self, tail: &[u8]) -> Result<Vec<(Vec<u8>, Head)>> {
        let mut out = Vec::new();
        for item in self.state_scan(&head_key(tail)) {
            let (key, value) = item?;
            out.push((key[1..].to_vec(), Head::from_bytes(&value).ok_or_else(|| damaged("malformed index head"))?));
        }
        Ok(out)
    }

    /// The projections' index keys under `prefix` (chunks of [`layout::INDEX_CHUNK_SEQS`] seqs,
    /// and the sizes), as the projections would have written them, rebuilt from the postings.
    pub(super) fn index_items(&self, prefix: &[u8]) -> Result<BTreeMap<Vec<u8>, Vec<u8>>> {
        let mut out = BTreeMap::new();
        if prefix.first() != Some(&layout::PREFIX) {
            return Ok(out);
        }
        let rest = &prefix[1..];
        // A scan of every index reads the file once rather than a posting at a time.
        let whole = if rest.is_empty() {
            let count = self.counts()?.postings;
            let mut bytes = vec![0u8; (count * POSTING_BYTES) as usize];
            if !self.postings.read(0, &mut bytes)? {
                return Err(damaged("postings are missing"));
            }
            Some(bytes)
        } else {
            None
        };
        let chunks_wanted = rest.is_empty() || rest[0] == b'i';
        if chunks_wanted {
            for (tail, head) in self.heads_under(rest)? {
                let seqs = self.chain(head, whole.as_deref())?;
                let mut index_prefix = vec![layout::PREFIX];
                index_prefix.extend_from_slice(&tail);
                out.extend(layout::index_chunks(&index_prefix, &seqs));
                if rest.is_empty() {
                    out.insert(layout::index_slots(&index_prefix), head.count.to_be_bytes().to_vec());
                }
            }
        }
        if rest.first() == Some(&b'h') {
            for (tail, head) in self.heads_under(&rest[1..])? {
                let mut index_prefix = vec![layout::PREFIX];
                index_prefix.extend_from_slice(&tail);
                out.insert(layout::index_slots(&index_prefix), head.count.to_be_bytes().to_vec());
            }
        }
        out.retain(|key, _| key.starts_with(prefix));
        Ok(out)
    }
}
