//! Querying archives (`lianlog --archive FILE …`): the sequence is verified from seq 0 and its
//! lines held in memory ([`Loaded`]); the projections are replayed from them on demand, with
//! bodies that a later entry redacts in their redacted form, as in the live ledger. Nothing is
//! written anywhere.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::Progress;
use super::redacting::{later_redactions, redacted_form};
use super::verification::{ArchiveOptions, SequenceReport, verify_collecting};
use crate::error::{Error, Result};
use crate::ledger::{PastState, PendingReplacements, replay_projections};
use crate::merkle::{CompactRange, Hash};
use crate::record::ParsedLine;

/// Archives verified and loaded into memory for queries (`lianlog --archive FILE …`): every
/// stored line, and the projections replayed from them. Nothing is written anywhere.
pub struct Loaded {
    /// What verifying the archives established.
    pub report: SequenceReport,
    lines: MemoryLines,
}

/// Stored lines held in memory, one buffer and an offset per line.
#[derive(Default)]
struct MemoryLines {
    bytes: Vec<u8>,
    starts: Vec<usize>,
    leaves: Vec<Hash>,
}

impl MemoryLines {
    /// Replace the lines at the seqs of `redactions` (seq → redacting seq) by their redacted
    /// form, compacting the buffer in place (a redacted line is shorter than the line with its
    /// body) and zeroing the freed tail, so that the removed bodies are not kept in memory.
    fn redact(&mut self, redactions: &BTreeMap<u64, u64>) -> Result<()> {
        let Some(first) = redactions.keys().next().and_then(|seq| usize::try_from(*seq).ok()) else { return Ok(()) };
        let Some(&from) = self.starts.get(first) else { return Ok(()) };
        let mut write = from;
        for index in first..self.starts.len() {
            let start = self.starts[index];
            let end = self.starts.get(index + 1).copied().unwrap_or(self.bytes.len());
            self.starts[index] = write;
            match redactions.get(&(index as u64)) {
                Some(by) => {
                    let seq = index as u64;
                    let new = redacted_form(&self.bytes[start..end], *by)
                        .map_err(|reason| Error::verification(format!("seq {seq}: {reason}")).with_seq(seq))?;
                    if new.len() > end - start {
                        return Err(Error::verification(format!(
                            "seq {seq}: the redacted line is longer than the line"
                        )));
                    }
                    self.bytes[write..write + new.len()].copy_from_slice(&new);
                    write += new.len();
                }
                None => {
                    self.bytes.copy_within(start..end, write);
                    write += end - start;
                }
            }
        }
        self.bytes[write..].fill(0);
        self.bytes.truncate(write);
        Ok(())
    }

    fn get(&self, seq: u64) -> Option<&[u8]> {
        let index = usize::try_from(seq).ok()?;
        let start = *self.starts.get(index)?;
        let end = self.starts.get(index + 1).copied().unwrap_or(self.bytes.len());
        self.bytes.get(start..end)
    }
}

impl crate::query::LineSource for MemoryLines {
    fn line(&self, seq: u64) -> Result<ParsedLine> {
        let bytes =
            self.get(seq).ok_or_else(|| Error::bad_input(format!("there is no entry {seq} in the archives")))?;
        ParsedLine::parse(bytes).map_err(|e| Error::verification(format!("seq {seq}: {e}")))
    }
}

impl crate::projection::LedgerFacts for MemoryLines {
    fn entry(&self, seq: u64) -> Result<Option<crate::projection::FactEntry>> {
        if self.get(seq).is_none() {
            return Ok(None);
        }
        Ok(Some(crate::projection::FactEntry::of(&crate::query::LineSource::line(self, seq)?)))
    }

    fn root_at(&self, size: u64) -> Result<Option<[u8; 32]>> {
        // Rare (attestations only): O(size) from the leaves.
        let Some(leaves) = usize::try_from(size).ok().and_then(|n| self.leaves.get(..n)) else { return Ok(None) };
        let mut tree = CompactRange::new();
        for leaf in leaves {
            tree.append(*leaf).map_err(|e| Error::bad_input(e.to_string()))?;
        }
        Ok(Some(tree.root()))
    }
}

impl Loaded {
    /// Verify `paths` as a sequence from seq 0 and hold their lines in memory.
    pub fn open(paths: &[PathBuf], options: &ArchiveOptions, progress: &mut dyn FnMut(Progress)) -> Result<Loaded> {
        let mut lines = MemoryLines::default();
        let report = verify_collecting(paths, options, progress, &mut |_, line| {
            lines.starts.push(lines.bytes.len());
            lines.bytes.extend_from_slice(line);
        })?
        .map_err(Error::from)?;
        if report.first_seq != 0 {
            return Err(Error::bad_input(format!(
                "the archives start at seq {}: queries need the full archive (from seq 0) and every archive after it",
                report.first_seq
            )));
        }
        // Bodies that a later archive redacts are never answered: their lines take the
        // redacted form, as in the live ledger (and the replacement body, if any, is shown).
        lines.redact(&later_redactions(&report))?;
        lines.leaves = (0..report.end)
            .map(|seq| crate::query::LineSource::line(&lines, seq).map(|line| line.entry_hash.0))
            .collect::<Result<Vec<_>>>()?;
        Ok(Loaded { report, lines })
    }

    /// Verify the live log of the ledger in `dir` without its lock or store (while another
    /// process writes to it) and hold its lines in memory, as [`Loaded::open`] does for
    /// archives: the answers are as of the last entry a writer has made durable and would keep
    /// (a line being written is not read). The report names no archive. Costs a full `verify`
    /// of the log: the way to answer when the ledger is held, not the everyday path.
    pub fn from_ledger_dir(dir: &std::path::Path, progress: &mut dyn FnMut(Progress)) -> Result<Loaded> {
        let mut lines = MemoryLines::default();
        let verified = crate::ledger::verify_dir_collecting(
            dir,
            crate::verify::VerifyOptions::default(),
            progress,
            &mut |_, line| {
                lines.starts.push(lines.bytes.len());
                lines.bytes.extend_from_slice(line);
            },
        )?;
        let verified = verified.map_err(|failure| {
            Error::verification(format!("{}: {failure}; run `lianlog verify` for the whole report", dir.display()))
        })?;
        let report = SequenceReport {
            archives: Vec::new(),
            origin: verified.origin,
            log_key: verified.log_key,
            log_key_pinned: false,
            first_seq: 0,
            end: verified.entries,
            root: verified.root,
            head: verified.head,
            registry: verified.registry,
            redactions: verified.redactions,
            not_checked: Vec::new(),
            stale_bodies: Vec::new(),
        };
        if lines.starts.len() as u64 != report.end {
            return Err(Error::verification(format!(
                "{}: {} lines were read but {} entries verified; run `lianlog verify`",
                dir.display(),
                lines.starts.len(),
                report.end
            )));
        }
        lines.leaves = (0..report.end)
            .map(|seq| crate::query::LineSource::line(&lines, seq).map(|line| line.entry_hash.0))
            .collect::<Result<Vec<_>>>()?;
        Ok(Loaded { report, lines })
    }

    /// The number of entries the archives hold.
    pub fn size(&self) -> u64 {
        self.report.end
    }

    /// The projection state after the first `end` entries.
    pub fn as_of(&self, end: u64) -> Result<PastState> {
        if end == 0 || end > self.report.end {
            return Err(Error::bad_input(format!(
                "as of {end} entries: the archives hold {} entries (seq 0..{})",
                self.report.end,
                self.report.end.saturating_sub(1)
            )));
        }
        // Redacted records are projected from their replacement bodies, as in the ledger.
        let mut scan = crate::replacement::ReplacementScan::default();
        for seq in 0..self.report.end {
            scan.add(&crate::query::LineSource::line(&self.lines, seq)?);
        }
        let replacements = scan.finish();
        let lines = (0..end).map(|seq| crate::query::LineSource::line(&self.lines, seq).map(|parsed| parsed.line));
        replay_projections(lines, &self.lines, &mut PendingReplacements::ready(replacements))
    }

    /// The number of entries sequenced by the end of `date` in China (UTC+8).
    pub fn entries_until(&self, date: crate::time::Date) -> Result<u64> {
        crate::query::entries_until(&self.lines, self.report.end, date)
    }

    /// The stored line at `seq`.
    pub fn line(&self, seq: u64) -> Result<ParsedLine> {
        crate::query::LineSource::line(&self.lines, seq)
    }

    /// Where queries over [`Loaded::as_of`] read their lines.
    pub fn lines(&self) -> &dyn crate::query::LineSource {
        &self.lines
    }
}
