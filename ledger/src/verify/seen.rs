//! The record ids a verification has seen (replay detection, FORMAT.md section 7), in memory
//! that does not grow with the log.
//!
//! Guarantees: [`SeenRecords::first_replay`] finds, among every id inserted, the earliest seq at
//! which an id appears a second time (and the seq it first appeared at), exactly as an in-memory
//! map would; memory is at most [`MEMORY_ITEMS`] ids (24 bytes each) plus one read buffer per
//! spilled run, whatever the number of records. The newest ids are kept in memory and
//! [`SeenRecords::get`] answers from them at once; older ones are spilled as sorted runs to
//! unnamed files in the system's temporary directory (`$TMPDIR`, created 0600 and already
//! unlinked, so nothing is left behind even after a crash), merged 16 at a time so that their
//! number stays logarithmic. A replay of an id that has been spilled is found when the runs are
//! merged at the end ([`SeenRecords::first_replay`]): the verifier asks for it at its end and at
//! its first failure, so that the first failing seq still wins. If the temporary directory
//! cannot be written, the ids stay in memory (correct, but unbounded); a spilled run that cannot
//! be read back fails the verification rather than pass a log whose replays were not looked for.

use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::os::unix::fs::FileExt as _;
use std::sync::Arc;

/// One record id and the seq it was seen at.
type Item = ([u8; 16], u64);

/// Bytes of an item in a spilled run: the id, then the seq big-endian.
const ITEM_BYTES: usize = 24;

/// Ids kept in memory before the oldest are spilled to disk: 6 MiB (sorting and merging them
/// in memory needs at most as much again).
pub(crate) const MEMORY_ITEMS: usize = 1 << 18;

/// Spilled runs of one level merged into one run of the next level.
const FAN_IN: usize = 16;

/// Items read ahead from a spilled run while merging.
const READ_AHEAD: usize = 1365;

/// A sorted run of items in an unnamed temporary file; shared by clones of the set, read with
/// `pread` only, never changed once written.
#[derive(Debug)]
struct Run {
    file: File,
    items: u64,
    level: u32,
}

/// A set of record ids, each with the seq it was first seen at (see the module's documentation).
#[derive(Debug, Clone)]
pub(crate) struct SeenRecords {
    /// The newest ids, unsorted, searched linearly (at most [`SeenRecords::RECENT`]).
    recent: Vec<Item>,
    /// Sorted runs in memory, largest first; each is at least twice as large as the next.
    runs: Vec<Vec<Item>>,
    /// Items in `recent` and `runs`.
    in_memory: usize,
    /// Sorted runs on disk, levels never increasing.
    spilled: Vec<Arc<Run>>,
    /// The most items kept in memory.
    memory_items: usize,
    /// Runs of one level merged into one of the next.
    fan_in: usize,
    /// Spilling failed once (the temporary directory cannot be written): keep everything in
    /// memory from then on.
    no_spill: bool,
}

impl Default for SeenRecords {
    fn default() -> SeenRecords {
        SeenRecords::with_limits(MEMORY_ITEMS, FAN_IN)
    }
}

impl SeenRecords {
    const RECENT: usize = 64;

    /// A set that keeps at most `memory_items` ids in memory and merges `fan_in` spilled runs
    /// at a time (small values test the spilling).
    pub(crate) fn with_limits(memory_items: usize, fan_in: usize) -> SeenRecords {
        SeenRecords {
            recent: Vec::new(),
            runs: Vec::new(),
            in_memory: 0,
            spilled: Vec::new(),
            memory_items: memory_items.max(Self::RECENT),
            fan_in: fan_in.max(2),
            no_spill: false,
        }
    }

    /// The seq at which record id `id` was first seen, if it is among the ids still in memory
    /// (an id spilled to disk is found by [`SeenRecords::first_replay`]).
    pub(crate) fn get(&self, id: &[u8; 16]) -> Option<u64> {
        if let Some((_, seq)) = self.recent.iter().find(|(seen, _)| seen == id) {
            return Some(*seq);
        }
        self.runs.iter().find_map(|run| run.binary_search_by(|(seen, _)| seen.cmp(id)).ok().map(|i| run[i].1))
    }

    /// Whether some ids are on disk, where [`SeenRecords::get`] does not look.
    pub(crate) fn has_spilled(&self) -> bool {
        !self.spilled.is_empty()
    }

    /// Add `id`, seen at `seq` (the caller checks [`SeenRecords::get`] first; an id added twice
    /// is what [`SeenRecords::first_replay`] finds).
    pub(crate) fn insert(&mut self, id: [u8; 16], seq: u64) {
        self.recent.push((id, seq));
        self.in_memory += 1;
        // The memory limit is checked on every insert, not only when `recent` is full: with a
        // limit below `RECENT` the set would otherwise hold more than it may.
        if self.recent.len() < Self::RECENT && self.in_memory < self.memory_items {
            return;
        }
        let mut run = std::mem::take(&mut self.recent);
        run.sort_unstable();
        while let Some(last) = self.runs.last() {
            if last.len() > 2 * run.len() {
                break;
            }
            let last = self.runs.pop().unwrap_or_default();
            run = merge_sorted(last, run);
        }
        self.runs.push(run);
        if self.in_memory >= self.memory_items && !self.no_spill {
            self.spill();
        }
    }

    /// Move every id in memory to a new sorted run on disk, then merge runs of equal level.
    fn spill(&mut self) {
        let mut run = std::mem::take(&mut self.recent);
        run.sort_unstable();
        for other in std::mem::take(&mut self.runs) {
            run = merge_sorted(other, run);
        }
        let written = write_run(run.iter().copied(), 0);
        match written {
            Ok(spilled) => {
                self.spilled.push(Arc::new(spilled));
                self.in_memory = 0;
                self.compact();
            }
            Err(_) => {
                // Keep the ids in memory: correct, only no longer bounded.
                self.no_spill = true;
                self.runs.push(run);
            }
        }
    }

    /// While the last `fan_in` spilled runs have the same level, merge them into one of the next
    /// level (a base-`fan_in` counter: at most `fan_in - 1` runs per level).
    fn compact(&mut self) {
        while self.spilled.len() >= self.fan_in {
            let tail = &self.spilled[self.spilled.len() - self.fan_in..];
            let level = tail[0].level;
            if tail.iter().any(|run| run.level != level) {
                return;
            }
            let sources = tail.iter().map(|run| Source::Disk(DiskCursor::new(Arc::clone(run)))).collect();
            let expected: u64 = tail.iter().map(|run| run.items).sum();
            let merged = Merge::new(sources).and_then(|merge| {
                let mut failed = None;
                let items = merge.map_while(|item| item.map_err(|err| failed = Some(err)).ok());
                let run = write_run(items, level + 1).map_err(|err| err.to_string())?;
                failed.map_or(Ok(run), Err)
            });
            match merged {
                Ok(run) if run.items == expected => {
                    let keep = self.spilled.len() - self.fan_in;
                    self.spilled.truncate(keep);
                    self.spilled.push(Arc::new(run));
                }
                // A merge that failed leaves the runs as they were: more of them, still correct.
                _ => return,
            }
        }
    }

    /// The earliest seq `second` (with `second <= until`) at which an id appears again, and the
    /// seq `first` it appeared at before: `Some((second, first))`, or `None` if no id inserted
    /// at a seq up to `until` was seen twice. Reads every spilled run once; without spilled runs
    /// it is free (the ids in memory were all checked with [`SeenRecords::get`]). An error if a
    /// spilled run cannot be read back.
    pub(crate) fn first_replay(&self, until: u64) -> Result<Option<(u64, u64)>, String> {
        if self.spilled.is_empty() {
            return Ok(None);
        }
        let mut recent = self.recent.clone();
        recent.sort_unstable();
        let mut sources: Vec<Source<'_>> =
            self.spilled.iter().map(|run| Source::Disk(DiskCursor::new(Arc::clone(run)))).collect();
        sources.extend(self.runs.iter().map(|run| Source::Memory(run.iter())));
        sources.push(Source::Memory(recent.iter()));
        let mut best: Option<(u64, u64)> = None;
        let mut group: Option<Item> = None;
        let mut counted_second = false;
        for item in Merge::new(sources)? {
            let (id, seq) = item?;
            if seq > until {
                continue;
            }
            match group {
                Some((group_id, first)) if group_id == id => {
                    // Items of one id come in seq order: the second one is the replay.
                    if !counted_second && best.is_none_or(|(second, _)| seq < second) {
                        best = Some((seq, first));
                    }
                    counted_second = true;
                }
                _ => {
                    group = Some((id, seq));
                    counted_second = false;
                }
            }
        }
        Ok(best)
    }

    /// Call `each` with every id and the seq it was seen at, in no particular order (ids on disk
    /// are read back). An error if a spilled run cannot be read.
    pub(crate) fn for_each(&self, mut each: impl FnMut([u8; 16], u64)) -> Result<(), String> {
        for (id, seq) in self.recent.iter().chain(self.runs.iter().flatten()) {
            each(*id, *seq);
        }
        for run in &self.spilled {
            for item in DiskCursor::new(Arc::clone(run)) {
                let (id, seq) = item?;
                each(id, seq);
            }
        }
        Ok(())
    }
}

/// Merge two sorted runs into the larger one's buffer, from the back: the extra memory is the
/// smaller run, not a third buffer of the merged size.
fn merge_sorted(mut a: Vec<Item>, mut b: Vec<Item>) -> Vec<Item> {
    if a.len() < b.len() {
        std::mem::swap(&mut a, &mut b);
    }
    let (mut i, mut j) = (a.len(), b.len());
    a.reserve_exact(j);
    a.resize(i + j, ([0; 16], 0));
    let mut k = i + j;
    while j > 0 {
        k -= 1;
        if i > 0 && a[i - 1] > b[j - 1] {
            a[k] = a[i - 1];
            i -= 1;
        } else {
            a[k] = b[j - 1];
            j -= 1;
        }
    }
    a
}

/// An unnamed file in the temporary directory, readable and writable by this process only:
/// `O_TMPFILE` where the file system has it, else a new file with a random name, unlinked at
/// once. Not a file of any ledger directory (`fsio`'s rule does not concern it), and gone when
/// the process ends, however it ends.
fn unnamed_temporary_file() -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let dir = std::env::temp_dir();
    let unnamed =
        std::fs::OpenOptions::new().read(true).write(true).mode(0o600).custom_flags(libc::O_TMPFILE).open(&dir);
    if let Ok(file) = unnamed {
        return Ok(file);
    }
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|err| std::io::Error::other(err.to_string()))?;
    let path = dir.join(format!(".lianlog-seen-{}", crate::encoding::hex(&random)));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(file)
}

/// Write sorted `items` as a run of `level` to a new unnamed temporary file.
fn write_run(items: impl Iterator<Item = Item>, level: u32) -> std::io::Result<Run> {
    let file = unnamed_temporary_file()?;
    let mut writer = BufWriter::with_capacity(1 << 16, file);
    let mut count = 0u64;
    for (id, seq) in items {
        writer.write_all(&id)?;
        writer.write_all(&seq.to_be_bytes())?;
        count += 1;
    }
    let file = writer.into_inner().map_err(std::io::IntoInnerError::into_error)?;
    Ok(Run { file, items: count, level })
}

/// Reads a spilled run in order, [`READ_AHEAD`] items at a time.
struct DiskCursor {
    run: Arc<Run>,
    next: u64,
    buffer: Vec<u8>,
    at: usize,
}

impl DiskCursor {
    fn new(run: Arc<Run>) -> DiskCursor {
        DiskCursor { run, next: 0, buffer: Vec::new(), at: 0 }
    }
}

impl Iterator for DiskCursor {
    type Item = Result<Item, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.buffer.len() {
            let left = self.run.items - self.next;
            if left == 0 {
                return None;
            }
            let count = left.min(READ_AHEAD as u64);
            self.buffer.resize(count as usize * ITEM_BYTES, 0);
            self.at = 0;
            if let Err(err) = self.run.file.read_exact_at(&mut self.buffer, self.next * ITEM_BYTES as u64) {
                self.next = self.run.items;
                self.buffer.clear();
                return Some(Err(format!(
                    "cannot read back the record ids spilled to the temporary directory ({}): {err}; the check \
                     for replayed records is incomplete",
                    std::env::temp_dir().display()
                )));
            }
            self.next += count;
        }
        let bytes = &self.buffer[self.at..self.at + ITEM_BYTES];
        self.at += ITEM_BYTES;
        let mut id = [0u8; 16];
        id.copy_from_slice(&bytes[..16]);
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&bytes[16..]);
        Some(Ok((id, u64::from_be_bytes(seq))))
    }
}

/// A sorted source of items: a run in memory or on disk.
enum Source<'a> {
    Memory(std::slice::Iter<'a, Item>),
    Disk(DiskCursor),
}

impl Iterator for Source<'_> {
    type Item = Result<Item, String>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Source::Memory(items) => items.next().copied().map(Ok),
            Source::Disk(cursor) => cursor.next(),
        }
    }
}

/// The items of sorted sources, merged in order (a binary heap of each source's next item).
struct Merge<'a> {
    sources: Vec<Source<'a>>,
    heap: std::collections::BinaryHeap<std::cmp::Reverse<(Item, usize)>>,
    failed: bool,
}

impl<'a> Merge<'a> {
    fn new(mut sources: Vec<Source<'a>>) -> Result<Merge<'a>, String> {
        let mut heap = std::collections::BinaryHeap::with_capacity(sources.len());
        for (index, source) in sources.iter_mut().enumerate() {
            if let Some(item) = source.next() {
                heap.push(std::cmp::Reverse((item?, index)));
            }
        }
        Ok(Merge { sources, heap, failed: false })
    }
}

impl Iterator for Merge<'_> {
    type Item = Result<Item, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let std::cmp::Reverse((item, index)) = self.heap.pop()?;
        match self.sources[index].next() {
            Some(Ok(next)) => self.heap.push(std::cmp::Reverse((next, index))),
            Some(Err(err)) => {
                self.failed = true;
                return Some(Err(err));
            }
            None => {}
        }
        Some(Ok(item))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id(small: u16) -> [u8; 16] {
        let mut id = [0u8; 16];
        id[..2].copy_from_slice(&small.to_be_bytes());
        id[15] = (small % 7) as u8;
        id
    }

    /// What an in-memory map answers: the first replay at a seq up to `until`.
    fn reference(ids: &[u16], until: u64) -> Option<(u64, u64)> {
        let mut first = std::collections::HashMap::new();
        for (seq, small) in ids.iter().enumerate() {
            let seq = seq as u64;
            if seq > until {
                break;
            }
            if let Some(earlier) = first.get(small) {
                return Some((seq, *earlier));
            }
            first.insert(*small, seq);
        }
        None
    }

    proptest! {
        /// Used as the verifier uses it (`get` before `insert`, stopping at the first replay
        /// `get` finds, then asking `first_replay` for an earlier one among spilled ids), the set
        /// finds the same first replay as a map, at any cut-off, with any limits.
        #[test]
        fn seen_records_find_the_first_replay_like_a_map(
            ids in proptest::collection::vec(0u16..600, 0..1500),
            memory in 64usize..200,
            fan_in in 2usize..5,
            cut in 0u64..1600,
        ) {
            let mut seen = SeenRecords::with_limits(memory, fan_in);
            let mut found = None;
            for (seq, small) in ids.iter().enumerate() {
                let seq = seq as u64;
                if let Some(first) = seen.get(&id(*small)) {
                    found = Some(seen.first_replay(seq).unwrap().unwrap_or((seq, first)));
                    break;
                }
                seen.insert(id(*small), seq);
                prop_assert!(seen.in_memory <= memory);
            }
            let Some(found) = found else {
                // No replay in memory: every one there is involves a spilled id.
                prop_assert_eq!(seen.first_replay(u64::MAX).unwrap(), reference(&ids, u64::MAX));
                prop_assert_eq!(seen.first_replay(cut).unwrap(), reference(&ids, cut));
                // At most fan_in - 1 runs per level, and few levels.
                prop_assert!(seen.spilled.len() <= (fan_in - 1) * 12);
                let mut all = Vec::new();
                seen.for_each(|id, seq| all.push((id, seq))).unwrap();
                prop_assert_eq!(all.len(), ids.len());
                return Ok(());
            };
            prop_assert_eq!(Some(found), reference(&ids, u64::MAX));
        }
    }

    #[test]
    fn without_spilling_nothing_is_read_and_memory_is_enough() {
        let mut seen = SeenRecords::default();
        for n in 0..1000u16 {
            seen.insert(id(n), u64::from(n));
        }
        assert!(!seen.has_spilled());
        assert_eq!(seen.get(&id(17)), Some(17));
        assert_eq!(seen.first_replay(u64::MAX), Ok(None));
    }

    #[test]
    fn a_replay_of_a_spilled_id_is_found_with_both_seqs() {
        let mut seen = SeenRecords::with_limits(64, 2);
        for n in 0..1000u16 {
            seen.insert(id(n), u64::from(n));
        }
        assert!(seen.has_spilled());
        assert_eq!(seen.get(&id(3)), None, "id 3 is on disk");
        seen.insert(id(3), 1000);
        seen.insert(id(5), 1001);
        assert_eq!(seen.first_replay(u64::MAX), Ok(Some((1000, 3))));
        assert_eq!(seen.first_replay(999), Ok(None));
        // A clone shares the spilled runs and answers alike.
        assert_eq!(seen.clone().first_replay(1001), Ok(Some((1000, 3))));
    }
}

#[cfg(test)]
mod memory {
    use super::*;

    /// This process's peak resident memory (`VmHWM`), in bytes.
    fn peak_rss() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|line| line.starts_with("VmHWM:")).unwrap();
        line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim().parse::<u64>().unwrap() * 1024
    }

    /// The set's peak memory is the same after 1,000,000 and 4,000,000 ids (a map of 4,000,000
    /// ids would take 96 MB more). Run alone, since the peak is the process's:
    /// `cargo test --release -p lianlog-ledger --lib seen_records_memory_is_bounded -- --ignored`.
    #[test]
    #[ignore = "measures the process's peak memory: run alone, in release"]
    fn seen_records_memory_is_bounded() {
        let mut seen = SeenRecords::default();
        let id = |n: u64| {
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&n.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_le_bytes());
            id[8..].copy_from_slice(&n.to_le_bytes());
            id
        };
        for n in 0..1_000_000 {
            seen.insert(id(n), n);
        }
        let at_1m = peak_rss();
        for n in 1_000_000..4_000_000 {
            seen.insert(id(n), n);
        }
        assert_eq!(seen.first_replay(u64::MAX), Ok(None));
        let at_4m = peak_rss();
        eprintln!(
            "peak RSS: {:.1} MiB at 1M ids, {:.1} MiB at 4M ids",
            at_1m as f64 / 1048576.0,
            at_4m as f64 / 1048576.0
        );
        assert!(at_4m < at_1m + (4 << 20), "grew from {at_1m} to {at_4m} bytes");
    }
}
