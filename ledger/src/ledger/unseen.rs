//! Lines the derived store has not seen (写入存储之外的日志行): every log line after the store's
//! tail is checked exactly as `lianlog verify` checks it before any of it is applied.
//!
//! Such lines are normal after a crash (the log is durable before the store is updated), but they
//! are also what someone who can write `log/` without holding any key would add. So the rule is:
//! **no line enters the derived store, a query answer or an authorization decision before it has
//! passed every check the verifier makes** — canonical form, body commitment, seq, chain, time
//! order, origin, author signature, the author's authority at that seq, key-registry rules, no
//! replayed record, and redaction links. The verifier is resumed from the store's state (head,
//! time, registry, Merkle frontier), so only the unseen lines are read and checked, never the whole
//! log; a replay of an earlier record is found through the record ids the store keeps
//! (`index/records.bin`). A failure refuses the open, applies nothing, and names the first bad seq.

use super::Ledger;
use crate::error::{Error, ErrorKind, Result};
use crate::log::Position;
use crate::record::{EntryHash, ParsedLine, kind_keeps_body};
use crate::verify::{PROGRESS_EVERY, Progress, Resume, Verifier, VerifyFailure, VerifyOptions};

impl Ledger {
    /// Check every log line after the store's tail; returns how many there are.
    /// Reports [`Progress`] (`verifying`, the seq reached, of `total` when known) to `progress`.
    pub(super) fn check_unseen_lines(&self, total: u64, progress: &mut dyn FnMut(Progress)) -> Result<u64> {
        let resume = Resume {
            next_seq: self.size,
            head: self.head,
            last_time: self.last_time,
            registry: self.registry.clone(),
            tree: self.tree.clone(),
            ..Resume::default()
        };
        let mut verifier = Verifier::resume(VerifyOptions::default(), resume);
        // Where each unseen line starts, to re-read redaction targets among them.
        let mut positions: Vec<Position> = Vec::new();
        let mut failure: Option<VerifyFailure> = None;
        for item in self.log.lines_from(self.tail)? {
            let (position, line) = item?;
            positions.push(position);
            if let Err(found) = verifier.push(positions.len() as u64, line) {
                failure = Some(found);
                break;
            }
            let done = self.size + positions.len() as u64;
            if done.is_multiple_of(PROGRESS_EVERY) {
                progress(Progress { phase: "verifying", done, total });
            }
        }
        if positions.is_empty() {
            return Ok(0);
        }
        if failure.is_none() {
            let done = self.size + positions.len() as u64;
            progress(Progress { phase: "verifying", done, total: total.max(done) });
        }
        if failure.is_none() {
            failure = verifier.verify_pushed().err();
        }
        // A replay of a record the store has already seen (replays among the unseen lines
        // themselves are the verifier's). Only lines before a failure found above are known to
        // be well-formed, so only they are looked up.
        let below = failure.as_ref().and_then(|f| f.seq).unwrap_or(u64::MAX);
        // A store rebuilt from seq 0 has seen no record: the verifier has checked them all.
        let found = if self.size == 0 {
            None
        } else {
            let mut ids = verifier.record_ids_since_start();
            ids.retain(|_, seq| *seq < below);
            self.store.find_record_ids(&ids, 0, self.size)?
        };
        if let Some((seq, first)) = found {
            return Err(self.unseen_line_refused(
                seq,
                &format!(
                    "the record of seq {first} appears again (same author, created and body_hash): a replayed record; \
                     a record may appear only once in a ledger (docs/FORMAT.md section 7)"
                ),
            ));
        }
        if let Some(failure) = failure {
            return Err(self.unseen_line_refused(failure.seq.unwrap_or(self.size), &failure.reason));
        }
        let start = self.size;
        let reread = |seq: u64| -> std::result::Result<Vec<u8>, String> {
            let position = seq.checked_sub(start).and_then(|i| positions.get(i as usize)).ok_or("no such line")?;
            self.log.read_line_at(*position).map_err(|e| e.to_string())
        };
        let end = verifier
            .finish_range(reread)
            .map_err(|failure| self.unseen_line_refused(failure.seq.unwrap_or(start), &failure.reason))?;
        // In the live log every redacted line's `ledger.redact` entry exists: nothing may stay
        // pending past the end.
        if let Some((seq, (by, _))) = end.resume.pending_redactions.iter().next() {
            return Err(self.unseen_line_refused(
                *seq,
                &format!("says it was redacted by seq {by}, but the log has no entry {by}"),
            ));
        }
        for (target, hash, by) in end.earlier_targets {
            self.check_earlier_redaction_target(target, hash)
                .map_err(|reason| self.unseen_line_refused(by, &reason))?;
        }
        Ok(positions.len() as u64)
    }

    /// A `ledger.redact` among the unseen lines names an entry the store has already seen: that
    /// entry must have the named hash and be of a kind whose body may be redacted.
    fn check_earlier_redaction_target(&self, target: u64, hash: EntryHash) -> std::result::Result<(), String> {
        let position = self
            .store
            .position(target)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("redaction target seq {target} has no position in the derived store"))?;
        let line = self.log.read_line_at(position).map_err(|e| format!("redaction target seq {target}: {e}"))?;
        let parsed = ParsedLine::parse(&line).map_err(|e| format!("redaction target seq {target}: {e}"))?;
        if parsed.entry_hash != hash {
            return Err(format!(
                "ledger.redact names entry hash {hash} for seq {target}, whose hash is {}",
                parsed.entry_hash
            ));
        }
        let kind = &parsed.line.entry.record.kind;
        if kind_keeps_body(kind) {
            return Err(format!("ledger.redact targets seq {target}, a {kind} record, whose body is never redacted"));
        }
        Ok(())
    }

    fn unseen_line_refused(&self, seq: u64, reason: &str) -> Error {
        Error::new(
            ErrorKind::Verification,
            format!(
                "{}: log entry {seq} was found after the entries the derived store has applied, and it fails \
                 verification: {reason}. Nothing was applied and the ledger was not opened. Run `lianlog verify` \
                 for the full report; keep the log as evidence and restore the ledger from an archive \
                 (`lianlog snapshot restore`)",
                self.dir.display()
            ),
        )
        .with_seq(seq)
    }
}
