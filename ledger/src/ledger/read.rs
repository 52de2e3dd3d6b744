//! Reading (读取): entries and raw lines by seq, line streams parsed ahead on all cores, Merkle
//! roots, proofs and checkpoints, and the check of the whole log against the derived store.
//!
//! Guarantees: a `Ledger` reads only the lines it has checked and applied (up to its own size),
//! never a line written past the lock after it was opened.

use super::Ledger;
use super::offline::{check_log_key, verify_segments};
use crate::error::{Error, ErrorKind, Result};
use crate::keys::SecretKey;
use crate::log::Position;
use crate::record::ParsedLine;
use crate::verify::{VerifyFailure, VerifyOptions, VerifyReport};

impl Ledger {
    /// The number of entries sequenced by the end of `date` in China (UTC+8, 23:59:59.999), found
    /// by binary search over entry times (which never decrease): O(log n) reads.
    pub fn entries_until(&self, date: crate::time::Date) -> Result<u64> {
        crate::query::entries_until(self, self.size, date)
    }

    /// Where the line of seq `from` begins (the end of the log past the last entry).
    fn start_of(&self, from: u64) -> Result<Position> {
        if from >= self.size {
            return Ok(self.tail);
        }
        self.store
            .position(from)?
            .ok_or_else(|| Error::new(ErrorKind::Store, "derived store is missing positions; run `lianlog reindex`"))
    }

    /// The stored lines from `from` on, exactly as in the log (without their newlines).
    pub fn raw_lines_from(&self, from: u64) -> Result<impl Iterator<Item = Result<Vec<u8>>> + '_> {
        let start = self.start_of(from)?;
        let count = usize::try_from(self.size.saturating_sub(from)).unwrap_or(usize::MAX);
        Ok(self.log.lines_from(start)?.take(count).map(|item| item.map(|(_, bytes)| bytes)))
    }

    fn check_size(&self, size: u64, what: &str) -> Result<()> {
        if size > self.size {
            return Err(Error::bad_input(format!("{what} {size} is larger than the ledger ({} entries)", self.size)));
        }
        Ok(())
    }

    /// The Merkle root of the first `size` entries, from O(log n) store reads.
    pub fn root_at(&self, size: u64) -> Result<crate::merkle::Hash> {
        self.check_size(size, "tree size")?;
        if size == self.size {
            return Ok(self.tree.root());
        }
        crate::merkle::root(size, &self.store)
    }

    /// The RFC 9162 inclusion proof of entry `index` in the tree of `size` entries.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<crate::merkle::Hash>> {
        self.check_size(size, "tree size")?;
        if index >= size {
            return Err(Error::bad_input(format!("entry {index} is not in the tree of size {size}")));
        }
        crate::merkle::inclusion_proof(index, size, &self.store).map_err(merkle_error)
    }

    /// The RFC 9162 consistency proof from the tree of `old` entries to the tree of `new`.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<crate::merkle::Hash>> {
        self.check_size(new, "new tree size")?;
        if old > new {
            return Err(Error::bad_input(format!("old size {old} is larger than new size {new}")));
        }
        crate::merkle::consistency_proof(old, new, &self.store).map_err(merkle_error)
    }

    /// A checkpoint of the tree of `size` entries, signed by the log key (a C2SP signed note).
    /// A key other than the log key the genesis entry names is refused before it signs.
    pub fn checkpoint(&self, size: u64, log_key: &SecretKey) -> Result<String> {
        check_log_key(&self.dir, log_key, &self.origin, &self.registry.log_key)?;
        let root = self.root_at(size)?;
        let checkpoint = crate::note::Checkpoint { origin: self.origin.clone(), size, root };
        crate::note::sign_checkpoint(&checkpoint, log_key)
    }

    /// The stored line at `seq`.
    pub fn read(&self, seq: u64) -> Result<ParsedLine> {
        if seq >= self.size {
            return Err(Error::bad_input(format!(
                "there is no entry {seq}: the ledger has {} entries (0..{})",
                self.size,
                self.size.saturating_sub(1)
            )));
        }
        let position = self.store.position(seq)?.ok_or_else(|| {
            Error::new(ErrorKind::Store, format!("derived store has no position for seq {seq}; run `lianlog reindex`"))
        })?;
        let line = self.log.read_line_at(position)?;
        ParsedLine::parse(&line).map_err(|e| self.inconsistent(seq, &e.to_string()))
    }

    /// The stored line at `seq`, exactly as in the log (without its newline).
    pub fn raw_line(&self, seq: u64) -> Result<Vec<u8>> {
        self.check_size(seq.saturating_add(1), "entry")?;
        let position = self.store.position(seq)?.ok_or_else(|| {
            Error::new(ErrorKind::Store, format!("derived store has no position for seq {seq}; run `lianlog reindex`"))
        })?;
        self.log.read_line_at(position)
    }

    /// Stored lines from `from` on, in order (parsed ahead on all cores: see `ParseAhead`).
    pub fn lines_from(&self, from: u64) -> Result<impl Iterator<Item = Result<ParsedLine>> + '_> {
        self.owned_lines_from(from)
    }

    /// Stored lines from `from` on, read and parsed on another thread while the caller works
    /// on the lines before: for whole-log passes (replay, as-of).
    pub(super) fn lines_in_background(&self, from: u64) -> Result<impl Iterator<Item = Result<ParsedLine>>> {
        const CHUNK: usize = 1024;
        let mut lines = self.owned_lines_from(from)?;
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<Result<ParsedLine>>>(4);
        std::thread::spawn(move || {
            loop {
                let chunk: Vec<_> = lines.by_ref().take(CHUNK).collect();
                // A closed channel means the reader stopped early: stop too.
                if chunk.is_empty() || sender.send(chunk).is_err() {
                    break;
                }
            }
        });
        Ok(receiver.into_iter().flatten())
    }

    fn owned_lines_from(&self, from: u64) -> Result<impl Iterator<Item = Result<ParsedLine>> + Send + 'static> {
        let start = self.start_of(from)?;
        // Only the lines this handle has checked and applied: a line that appears in the log
        // after the open (written past the lock) is not read, let alone shown.
        let count = usize::try_from(self.size.saturating_sub(from)).unwrap_or(usize::MAX);
        let reader = self.log.lines_from(start)?.take(count);
        Ok(ParseAhead::new(reader).map(move |item| {
            let (_, _, parsed) = item?;
            parsed.map_err(|e| {
                Error::new(ErrorKind::Verification, format!("damaged log line: {e}; run `lianlog verify`"))
            })
        }))
    }

    /// Verify the whole log, then check that the derived store agrees with it.
    pub fn verify(&self, options: VerifyOptions) -> Result<std::result::Result<VerifyReport, VerifyFailure>> {
        self.verify_with_progress(options, &mut |_| {})
    }

    /// [`Ledger::verify`], reporting [`Progress`](crate::verify::Progress) (`verifying`, entries
    /// done of the ledger's size) to `progress` as it goes.
    pub fn verify_with_progress(
        &self,
        options: VerifyOptions,
        progress: &mut dyn FnMut(crate::verify::Progress),
    ) -> Result<std::result::Result<VerifyReport, VerifyFailure>> {
        let reread = |seq: u64| -> std::result::Result<Vec<u8>, String> {
            let position = self.store.position(seq).map_err(|e| e.to_string())?.ok_or("not indexed")?;
            self.log.read_line_at(position).map_err(|e| e.to_string())
        };
        let report = match verify_segments(&self.log, options, reread, self.size, progress, &mut |_, _| {})? {
            Ok(report) => report,
            Err(failure) => return Ok(Err(failure)),
        };
        if report.entries != self.size || report.head != self.head || report.root != self.tree.root() {
            return Ok(Err(VerifyFailure {
                line: report.entries,
                seq: None,
                reason: format!(
                    "the derived store disagrees with the log (store: {} entries, log: {}); run `lianlog reindex`",
                    self.size, report.entries
                ),
            }));
        }
        let stored_root = crate::merkle::root(self.size, &self.store)?;
        if stored_root != report.root {
            return Ok(Err(VerifyFailure {
                line: report.entries,
                seq: None,
                reason: "the stored Merkle tree disagrees with the log; run `lianlog reindex`".into(),
            }));
        }
        Ok(Ok(report))
    }
}

fn merkle_error(err: crate::merkle::MerkleError<Error>) -> Error {
    match err {
        crate::merkle::MerkleError::Invalid(invalid) => Error::bad_input(invalid.to_string()),
        crate::merkle::MerkleError::Store(err) => err,
    }
}

/// Log lines parsed ahead of the reader, a chunk at a time on all cores, and yielded in order:
/// parsing (JSON, hashes) is the larger part of reading the log, and it needs nothing from the
/// lines before. Chunks start small and grow, so that reading a few lines parses few.
pub(super) struct ParseAhead<I> {
    lines: I,
    ready: std::collections::VecDeque<ParsedItem>,
    chunk: usize,
    failed: Option<Error>,
}

/// A line's position, its length without the newline, and the line parsed.
pub(super) type ParsedItem = (Position, u64, std::result::Result<ParsedLine, crate::record::LineError>);

impl<I: Iterator<Item = Result<(Position, Vec<u8>)>>> ParseAhead<I> {
    const LARGEST_CHUNK: usize = 4096;

    pub(super) fn new(lines: I) -> ParseAhead<I> {
        ParseAhead { lines, ready: std::collections::VecDeque::new(), chunk: 16, failed: None }
    }
}

impl<I: Iterator<Item = Result<(Position, Vec<u8>)>>> Iterator for ParseAhead<I> {
    type Item = Result<ParsedItem>;

    fn next(&mut self) -> Option<Self::Item> {
        use rayon::prelude::*;
        if self.ready.is_empty() && self.failed.is_none() {
            let mut raw = Vec::with_capacity(self.chunk);
            for item in self.lines.by_ref() {
                match item {
                    Ok(line) => raw.push(line),
                    Err(err) => {
                        // Yielded after the lines before it, like the plain reader would.
                        self.failed = Some(err);
                        break;
                    }
                }
                if raw.len() == self.chunk {
                    break;
                }
            }
            self.chunk = (self.chunk * 2).min(Self::LARGEST_CHUNK);
            let parsed: Vec<ParsedItem> = raw
                .into_par_iter()
                .map(|(position, bytes)| (position, bytes.len() as u64, ParsedLine::parse(&bytes)))
                .collect();
            self.ready.extend(parsed);
        }
        match self.ready.pop_front() {
            Some(item) => Some(Ok(item)),
            None => self.failed.take().map(Err),
        }
    }
}
