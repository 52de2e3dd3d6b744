//! Full verification of a sequence of stored lines: the ledger's own log, an export, an archive.
//!
//! One streaming pass (memory: the key registry, pending redactions, an O(log n) Merkle frontier,
//! and the record ids that find replayed records, `SeenRecords`: at most 6 MiB in memory, the rest
//! spilled to sorted runs in `$TMPDIR` and merged at the end): canonical bytes, body
//! hashes, seq, chain, time order, the record envelope, origin binding, key registry and
//! authorization, author signatures, no record twice (a lianlog rule), redaction links, and the
//! Merkle root. Lines are processed in chunks: a chunk's lines are read and their signatures
//! checked in parallel (rayon, `verify/chunk.rs`, against guessed keys) beside the
//! order-dependent checks of the chunk before, which run sequentially. The *first* failing seq is
//! reported, whatever stage found it.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde_json::Value;

use crate::keys::PublicKey;
use crate::merkle::CompactRange;
use crate::merkle::Hash;
use crate::record::{EntryHash, ParsedLine, kind_keeps_body};
use crate::registry::{KeyRegistry, object_with};
use crate::time::Timestamp;

mod chunk;
mod seen;
use chunk::{Checked, CheckedBody};
pub(crate) use seen::SeenRecords;

/// Progress of a long operation, for a caller that shows it (the library never draws it): whole
/// ledger passes (`verifying`, `replaying`, `exporting`, `indexing`), an import (`signing`, then
/// `checking`; in batches, `appending`: records appended durably), the benchmark's import
/// (`importing`) and archives
/// (`reading` the record ids before an incremental range, `checking`, `writing`, `verifying`,
/// `restoring`, `indexing`). A total of 0 means the amount of work is not known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// What is being done (one of the phases above).
    pub phase: &'static str,
    /// Steps done so far.
    pub done: u64,
    /// Steps in this phase; 0 when not known.
    pub total: u64,
}

/// Report progress every this many entries (drawing is rate-limited by the caller).
pub(crate) const PROGRESS_EVERY: u64 = 1024;

/// Lines verified per parallel chunk.
const CHUNK: usize = 2048;

/// What a verification accepts besides the strict ledger form.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Accept withheld bodies (an export made with `--without-bodies`).
    pub allow_withheld: bool,
    /// The log key the genesis must name (pinned by the auditor); `None` takes it from genesis.
    pub expected_log_key: Option<PublicKey>,
    /// Tree sizes whose roots the report should carry (to compare with archived checkpoints).
    pub root_sizes: Vec<u64>,
}

/// A redaction seen while verifying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedactionInfo {
    /// The seq of the redacted record.
    pub target: u64,
    /// The seq of the `ledger.redact` entry.
    pub by: u64,
    /// Who redacted.
    pub author: String,
    /// When.
    pub time: Timestamp,
    /// Why.
    pub reason: String,
    /// Whether the target's body is already removed from the line.
    pub applied: bool,
}

/// The result of a successful verification.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    /// Entries verified.
    pub entries: u64,
    /// The hash of the last entry.
    pub head: EntryHash,
    /// The Merkle root of all entries.
    pub root: Hash,
    /// The ledger's origin.
    pub origin: String,
    /// The log key (vkey form).
    pub log_key: String,
    /// Entries whose body was withheld (exported without bodies).
    pub withheld: u64,
    /// Redactions seen.
    pub redactions: Vec<RedactionInfo>,
    /// The key registry as of the last entry.
    pub registry: KeyRegistry,
    /// The log ended with an incomplete line (a write in progress in another process).
    pub ignored_partial_tail: bool,
    /// Roots at the sizes asked for in [`VerifyOptions::root_sizes`] that the log reached.
    pub roots: BTreeMap<u64, Hash>,
}

/// The first failure: which line (1-based), which seq if known, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyFailure {
    /// The line, from 1.
    pub line: u64,
    /// The seq, if known.
    pub seq: Option<u64>,
    /// Why it failed.
    pub reason: String,
}

impl std::fmt::Display for VerifyFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.seq {
            Some(seq) => write!(f, "seq {seq} (line {}): {}", self.line, self.reason),
            None => write!(f, "line {}: {}", self.line, self.reason),
        }
    }
}

/// Where a verification starts when it does not start at seq 0: the state the entries before
/// `next_seq` leave behind. An archive that continues another one verifies from this (see
/// `archive.rs`): its registry rebuilt from its `keys.jsonl`, its previous entry and Merkle
/// frontier from its manifest, all checked against signed data there.
#[derive(Debug, Clone, Default)]
pub(crate) struct Resume {
    /// The seq of the first line to come.
    pub next_seq: u64,
    /// The entry hash of entry `next_seq - 1` (the zero hash at seq 0).
    pub head: EntryHash,
    /// The time of entry `next_seq - 1`.
    pub last_time: Option<Timestamp>,
    /// The key registry as entries `0..next_seq` leave it.
    pub registry: KeyRegistry,
    /// The Merkle frontier of the tree of size `next_seq`.
    pub tree: CompactRange,
    /// Redacted lines before `next_seq` whose `ledger.redact` entry comes at or after it:
    /// seq → (redacting seq, entry hash).
    pub pending_redactions: BTreeMap<u64, (u64, EntryHash)>,
    /// [`crate::record::Record::replay_id`] of the records of entries `0..next_seq`, so that a
    /// record replayed after the resume point is found (one record, one entry, across archives).
    /// Empty when those entries are not at hand (an incremental archive verified alone): then a
    /// replay of an earlier record cannot be found, and the caller must say so.
    pub records: SeenRecords,
}

/// The end of a verified range ([`Verifier::finish_range`]).
#[derive(Debug, Clone)]
pub(crate) struct RangeEnd {
    pub report: VerifyReport,
    /// The state to resume from at the next seq (pending redactions included).
    pub resume: Resume,
    /// `ledger.redact` entries of the range whose target comes before the range and still held
    /// its body there: (target seq, target entry hash, redacting seq). Only whoever holds the
    /// earlier lines can check them.
    pub earlier_targets: Vec<(u64, EntryHash, u64)>,
}

/// The streaming verifier. Feed lines in order with [`Verifier::push`], then [`Verifier::finish`].
pub struct Verifier {
    options: VerifyOptions,
    next_seq: u64,
    head: EntryHash,
    last_time: Option<Timestamp>,
    registry: KeyRegistry,
    tree: CompactRange,
    withheld: u64,
    /// Redacted lines waiting for their `ledger.redact` entry: seq → (by, entry hash).
    pending_redacted: BTreeMap<u64, (u64, EntryHash)>,
    /// The same, keyed by the redacting seq: (by, seq).
    pending_by: std::collections::BTreeSet<(u64, u64)>,
    /// `ledger.redact` targets whose line still had its body: checked in a second pass.
    unresolved_targets: Vec<(u64, EntryHash, u64)>,
    redactions: Vec<RedactionInfo>,
    roots: BTreeMap<u64, Hash>,
    buffer: Vec<(u64, Vec<u8>)>,
    /// The seq verification started at (0 unless resumed).
    start: u64,
    /// [`crate::record::Record::replay_id`] of every record so far, with its seq: in bounded
    /// memory, the older ones spilled to disk (`seen.rs`).
    records: SeenRecords,
    /// Record ids spilled to disk that could not be read back for the caller
    /// ([`Verifier::record_ids_since_start`]): the verification cannot pass.
    unreadable_ids: Option<String>,
    /// The last chunk checked on its own, whose order-dependent checks come with the next.
    checked: Option<chunk::Checks>,
    /// The registry as the chunks checked on their own see it (to guess signing keys); dropped
    /// when the registry changes.
    keys: Option<std::sync::Arc<KeyRegistry>>,
}

impl Verifier {
    /// A verifier with `options`, before the first line.
    pub fn new(options: VerifyOptions) -> Verifier {
        Verifier::resume(options, Resume::default())
    }

    /// A verifier that continues after `state.next_seq` entries: the next line must be entry
    /// `state.next_seq`, chained to `state.head`, authorized by `state.registry`, and so on.
    pub(crate) fn resume(options: VerifyOptions, state: Resume) -> Verifier {
        let mut roots = BTreeMap::new();
        if options.root_sizes.contains(&state.tree.size()) {
            roots.insert(state.tree.size(), state.tree.root());
        }
        let pending_by = state.pending_redactions.iter().map(|(seq, (by, _))| (*by, *seq)).collect();
        Verifier {
            options,
            next_seq: state.next_seq,
            head: state.head,
            last_time: state.last_time,
            registry: state.registry,
            tree: state.tree,
            withheld: 0,
            pending_redacted: state.pending_redactions,
            pending_by,
            unresolved_targets: Vec::new(),
            redactions: Vec::new(),
            roots,
            buffer: Vec::with_capacity(CHUNK),
            start: state.next_seq,
            records: state.records,
            unreadable_ids: None,
            checked: None,
            keys: None,
        }
    }

    /// Add the next line (its 1-based line number and its bytes without the newline).
    pub fn push(&mut self, line_number: u64, line: Vec<u8>) -> Result<(), VerifyFailure> {
        self.buffer.push((line_number, line));
        if self.buffer.len() >= CHUNK { self.flush() } else { Ok(()) }
    }

    /// Check the buffered chunk on all cores while the chunk before gets its order-dependent
    /// checks, so that the two overlap; a failure is the chunk before's.
    fn flush(&mut self) -> Result<(), VerifyFailure> {
        let lines = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK));
        let keys = self.keys.get_or_insert_with(|| std::sync::Arc::new(self.registry.clone())).clone();
        let previous = self.checked.take();
        let (settled, checks) =
            rayon::join(|| previous.map_or(Ok(()), |checks| self.settle(checks)), || chunk::check_all(lines, &keys));
        self.checked = Some(checks);
        settled
    }

    /// Check every line pushed so far, to the last.
    fn flush_all(&mut self) -> Result<(), VerifyFailure> {
        self.flush()?;
        match self.checked.take() {
            Some(checks) => self.settle(checks),
            None => Ok(()),
        }
    }

    /// Finish a chunk; on a failure, a replay of a record whose id was spilled to disk that comes
    /// at or before the failing line wins, as it would have been found first.
    fn settle(&mut self, checks: chunk::Checks) -> Result<(), VerifyFailure> {
        let Err((failure, found_at)) = self.check_chunk(checks) else { return Ok(()) };
        if self.records.has_spilled()
            && let Ok(Some(replay)) = self.records.first_replay(found_at)
        {
            return Err(self.replay_failure(replay));
        }
        Err(failure)
    }

    /// The first replay among spilled ids, as a failure at its seq.
    fn replay_failure(&self, (second, first): (u64, u64)) -> VerifyFailure {
        VerifyFailure { line: second.saturating_sub(self.start) + 1, seq: Some(second), reason: replay_reason(first) }
    }

    /// The order-dependent checks of a chunk checked in the background, then the signatures its
    /// guesses did not settle; a failure comes with the seq of the line whose check found it.
    fn check_chunk(&mut self, checks: chunk::Checks) -> Result<(), (VerifyFailure, u64)> {
        let chunk::Checks { line_numbers, results: parsed } = checks;
        // (line number, seq, the key that must have signed, index) of lines whose signature
        // is not known yet; and the first line whose known signature fails.
        let mut signatures: Vec<(u64, u64, PublicKey, usize)> = Vec::new();
        let mut known_bad: Option<VerifyFailure> = None;
        let mut sequential_failure = None;
        for (index, result) in parsed.iter().enumerate() {
            let line_number = line_numbers[index];
            let found_at = self.next_seq;
            match result {
                Err(err) => {
                    sequential_failure = Some((self.failure(line_number, err.to_string()), found_at));
                    break;
                }
                Ok(line) => match self.check_in_order(line) {
                    Ok(key) => match &line.signature {
                        Some((guessed, verdict)) if *guessed == chunk::fingerprint(&key) => {
                            if let Err(problem) = verdict
                                && known_bad.is_none()
                            {
                                known_bad = Some(signature_failure(line_number, line, *problem));
                            }
                        }
                        _ => signatures.push((line_number, line.entry.seq, key, index)),
                    },
                    Err(InOrder::Here(reason)) => {
                        sequential_failure = Some((self.failure(line_number, reason), found_at));
                        break;
                    }
                    Err(InOrder::Earlier(failure)) => {
                        sequential_failure = Some((failure, found_at));
                        break;
                    }
                },
            }
        }
        let bad_signature = signatures
            .par_iter()
            .filter_map(|(line_number, seq, key, index)| {
                let Ok(line) = &parsed[*index] else { return None };
                debug_assert_eq!(line.entry.seq, *seq);
                key.verify_signature_value(&line.note, &line.entry.sig)
                    .err()
                    .map(|problem| signature_failure(*line_number, line, problem))
            })
            .chain(known_bad)
            .min_by_key(|failure| failure.line)
            .map(|failure| {
                let found_at = failure.seq.unwrap_or(u64::MAX);
                (failure, found_at)
            });
        match (bad_signature, sequential_failure) {
            (Some(a), Some(b)) => Err(if a.0.line < b.0.line { a } else { b }),
            (Some(a), None) | (None, Some(a)) => Err(a),
            (None, None) => Ok(()),
        }
    }

    fn failure(&self, line: u64, reason: String) -> VerifyFailure {
        VerifyFailure { line, seq: Some(self.next_seq), reason }
    }

    /// Every order-dependent check of one line; returns the key that must have signed it.
    fn check_in_order(&mut self, parsed: &Checked) -> Result<PublicKey, InOrder> {
        let seq = self.next_seq;
        let key = self.check_line_in_order(parsed).map_err(InOrder::Here)?;
        // A redacted line named this seq as its redaction: this entry must have resolved it.
        if let Some(&(by, target)) = self.pending_by.range((seq, 0)..=(seq, u64::MAX)).next() {
            // Blame this entry rather than the earlier line if this entry is itself forged.
            let entry = &parsed.entry;
            if let Err(problem) = key.verify_signature_value(&parsed.note, &entry.sig) {
                return Err(InOrder::Here(format!("record signature by {}: {problem}", entry.record.author)));
            }
            return Err(InOrder::Earlier(VerifyFailure {
                line: target.saturating_sub(self.start) + 1,
                seq: Some(target),
                reason: format!("says it was redacted by seq {by}, but seq {by} does not redact it"),
            }));
        }
        Ok(key)
    }

    fn check_line_in_order(&mut self, parsed: &Checked) -> Result<PublicKey, String> {
        let entry = &parsed.entry;
        let seq = self.next_seq;
        if entry.seq != seq {
            return Err(format!(
                "entry.seq is {} where {seq} was expected (an entry is missing, duplicated or out of order)",
                entry.seq
            ));
        }
        if entry.prev != self.head {
            return Err(format!(
                "entry.prev {} is not the hash of entry {} ({}): the chain is broken",
                entry.prev,
                seq.wrapping_sub(1),
                self.head
            ));
        }
        if let Some(last) = self.last_time
            && entry.time < last
        {
            return Err(format!("entry.time {} is earlier than the previous entry's {last}", entry.time));
        }
        let id = parsed.replay_id;
        if let Some(first) = self.records.get(&id) {
            return Err(replay_reason(first));
        }
        // Inserted before the checks that follow, so that a replay of a record spilled to disk is
        // found at this seq even if a later check of this line fails (`Verifier::flush`).
        self.records.insert(id, seq);
        let kind = entry.record.kind.as_str();
        match &parsed.body {
            CheckedBody::Full(_) => {}
            _ if kind_keeps_body(kind) => {
                return Err(format!("the body of a {kind} record is never redacted or withheld"));
            }
            CheckedBody::Withheld if self.options.allow_withheld => self.withheld += 1,
            CheckedBody::Withheld => {
                return Err("the body is withheld, which only an export without bodies may do".into());
            }
            CheckedBody::Redacted { by } => {
                if *by <= seq {
                    return Err(format!("redacted by seq {by}, which is not after this entry"));
                }
                self.pending_redacted.insert(seq, (*by, parsed.entry_hash));
                self.pending_by.insert((*by, seq));
            }
        }
        let key = if seq == 0 {
            // Bodies of kinds the registry does not read are not built (`chunk::reads_body`).
            let body = match &parsed.body {
                CheckedBody::Full(Some(body)) => body,
                _ => &Value::Null,
            };
            self.keys = None;
            self.registry.apply(0, &entry.record, body).map_err(|e| format!("genesis: {e}"))?;
            if let Some(expected) = &self.options.expected_log_key
                && self.registry.log_key != expected.vkey()
            {
                return Err(format!(
                    "genesis names log key {}, not the expected {}",
                    self.registry.log_key,
                    expected.vkey()
                ));
            }
            self.registry.public_key(&entry.record.author).cloned().ok_or("genesis author is not an admin")?
        } else {
            let key = self.registry.authorize(&entry.record, seq).map_err(|e| format!("not authorized: {e}"))?.clone();
            // The registry reads the bodies of its kinds only (built: `chunk::reads_body`); for
            // any other kind after the genesis, `apply` is `Ok(())` whatever the body, and
            // before it, an error that does not read the body.
            if let CheckedBody::Full(body) = &parsed.body
                && (body.is_some() || self.registry.is_empty())
            {
                if kind != "ledger.redact" {
                    self.keys = None;
                }
                let body = body.as_ref().unwrap_or(&Value::Null);
                self.registry.apply(seq, &entry.record, body).map_err(|e| format!("{}: {e}", entry.record.kind))?;
            }
            if kind == "ledger.redact" {
                let CheckedBody::Full(Some(body)) = &parsed.body else {
                    return Err("ledger.redact without its body".into());
                };
                self.check_redaction(seq, entry, body)?;
            }
            key
        };
        self.tree.append(parsed.entry_hash.0).map_err(|e| e.to_string())?;
        if self.options.root_sizes.contains(&self.tree.size()) {
            self.roots.insert(self.tree.size(), self.tree.root());
        }
        self.head = parsed.entry_hash;
        self.last_time = Some(entry.time);
        self.next_seq += 1;
        Ok(key)
    }

    fn check_redaction(&mut self, seq: u64, entry: &crate::record::Entry, body: &Value) -> Result<(), String> {
        let (target_seq, target_hash, reason) = parse_redaction_body(body)?;
        if target_seq >= seq {
            return Err(format!("ledger.redact targets seq {target_seq}, which is not before it"));
        }
        let applied = match self.pending_redacted.remove(&target_seq) {
            Some((by, hash)) => {
                self.pending_by.remove(&(by, target_seq));
                if by != seq {
                    return Err(format!("seq {target_seq} says it was redacted by seq {by}, but seq {seq} redacts it"));
                }
                if hash != target_hash {
                    return Err(format!(
                        "ledger.redact names entry hash {target_hash} for seq {target_seq}, whose hash is {hash}"
                    ));
                }
                true
            }
            None => {
                self.unresolved_targets.push((target_seq, target_hash, seq));
                false
            }
        };
        self.redactions.push(RedactionInfo {
            target: target_seq,
            by: seq,
            author: entry.record.author.clone(),
            time: entry.time,
            reason,
            applied,
        });
        Ok(())
    }

    /// Finish: flush the last chunk, check redaction links (re-reading redaction targets that
    /// still hold their bodies through `reread`, which returns the line at a seq), and report.
    pub fn finish(self, reread: impl FnMut(u64) -> Result<Vec<u8>, String>) -> Result<VerifyReport, VerifyFailure> {
        self.finish_with(reread, false).map(|end| end.report)
    }

    /// Finish a range that later lines continue (an archive): like [`Verifier::finish`], except
    /// that redacted lines whose `ledger.redact` entry lies beyond the range stay pending (in the
    /// returned [`Resume`]), and redaction targets before the range are returned unchecked.
    /// `reread` is asked only for seqs inside the range (line numbers count from its start).
    pub(crate) fn finish_range(
        self,
        reread: impl FnMut(u64) -> Result<Vec<u8>, String>,
    ) -> Result<RangeEnd, VerifyFailure> {
        self.finish_with(reread, true)
    }

    fn finish_with(
        mut self,
        mut reread: impl FnMut(u64) -> Result<Vec<u8>, String>,
        open_end: bool,
    ) -> Result<RangeEnd, VerifyFailure> {
        self.flush_all()?;
        if self.next_seq == 0 {
            return Err(VerifyFailure { line: 1, seq: None, reason: "empty: there is no genesis entry".into() });
        }
        // Replays of records spilled to disk: found before any check below, as in memory.
        match self.records.first_replay(u64::MAX) {
            Ok(None) => {}
            Ok(Some(replay)) => return Err(self.replay_failure(replay)),
            Err(reason) => return Err(VerifyFailure { line: self.next_seq - self.start, seq: None, reason }),
        }
        if let Some(reason) = self.unreadable_ids.take() {
            return Err(VerifyFailure { line: self.next_seq - self.start, seq: None, reason });
        }
        let start = self.start;
        // Line numbers are 1-based from the first line this verifier was given.
        let line_of = |seq: u64| seq.saturating_sub(start) + 1;
        let mut still_pending = BTreeMap::new();
        for (seq, (by, hash)) in &self.pending_redacted {
            if open_end && *by >= self.next_seq {
                still_pending.insert(*seq, (*by, *hash));
                continue;
            }
            return Err(VerifyFailure {
                line: line_of(*seq),
                seq: Some(*seq),
                reason: format!("says it was redacted by seq {by}, but no ledger.redact entry there targets it"),
            });
        }
        let mut earlier_targets = Vec::new();
        for (target, hash, by) in &self.unresolved_targets {
            if *target < start {
                earlier_targets.push((*target, *hash, *by));
                continue;
            }
            let fail = |reason: String| VerifyFailure { line: line_of(*by), seq: Some(*by), reason };
            let line =
                reread(*target).map_err(|e| fail(format!("cannot re-read redaction target seq {target}: {e}")))?;
            let parsed = ParsedLine::parse(&line).map_err(|e| fail(format!("redaction target seq {target}: {e}")))?;
            if parsed.entry_hash != *hash {
                return Err(fail(format!(
                    "ledger.redact names entry hash {hash} for seq {target}, whose hash is {}",
                    parsed.entry_hash
                )));
            }
            if kind_keeps_body(&parsed.line.entry.record.kind) {
                return Err(fail(format!(
                    "ledger.redact targets seq {target}, a {} record, whose body is never redacted",
                    parsed.line.entry.record.kind
                )));
            }
        }
        let report = VerifyReport {
            entries: self.next_seq,
            head: self.head,
            root: self.tree.root(),
            origin: self.registry.origin.clone(),
            log_key: self.registry.log_key.clone(),
            withheld: self.withheld,
            redactions: self.redactions,
            registry: self.registry.clone(),
            ignored_partial_tail: false,
            roots: self.roots,
        };
        let resume = Resume {
            next_seq: self.next_seq,
            head: self.head,
            last_time: self.last_time,
            registry: self.registry,
            tree: self.tree,
            pending_redactions: still_pending,
            records: self.records,
        };
        Ok(RangeEnd { report, resume, earlier_targets })
    }
}

/// A record signature that does not verify, at its line.
fn signature_failure(line: u64, checked: &Checked, problem: crate::keys::SignatureProblem) -> VerifyFailure {
    VerifyFailure {
        line,
        seq: Some(checked.entry.seq),
        reason: format!("record signature by {}: {problem}", checked.entry.record.author),
    }
}

/// Why a replayed record fails, naming the seq of its first appearance.
fn replay_reason(first: u64) -> String {
    format!(
        "the record of seq {first} appears again (same author, created and body_hash): a replayed \
         record; a record may appear only once in a ledger (a lianlog rule, docs/FORMAT.md section 7)"
    )
}

/// Why an order-dependent check failed: at the current line, or at an earlier one that the
/// current line shows to be wrong.
enum InOrder {
    Here(String),
    Earlier(VerifyFailure),
}

/// `{"target": {"seq", "entry_hash"}, "reason", "replacement"?}` → (seq, hash, reason).
pub fn parse_redaction_body(body: &Value) -> Result<(u64, EntryHash, String), String> {
    let members = object_with(body, "body", &["target", "reason"], &["replacement"]).map_err(|e| e.to_string())?;
    let target =
        object_with(&members["target"], "body.target", &["seq", "entry_hash"], &[]).map_err(|e| e.to_string())?;
    let seq = target["seq"].as_u64().ok_or("body.target.seq: must be an integer")?;
    let hash = target["entry_hash"]
        .as_str()
        .and_then(EntryHash::parse_hex)
        .ok_or("body.target.entry_hash: must be 64 lowercase hex digits")?;
    let reason =
        members["reason"].as_str().filter(|r| !r.trim().is_empty()).ok_or("body.reason: must be a non-empty string")?;
    if let Some(replacement) = members.get("replacement")
        && !replacement.is_object()
    {
        return Err("body.replacement: must be a JSON object".into());
    }
    Ok((seq, hash, reason.to_string()))
}

/// Verify the lines of a file in the export format (JSON Lines). Re-reads the file for
/// redaction targets, so it needs a path, not a stream.
pub fn verify_export_file(
    path: &std::path::Path,
    options: VerifyOptions,
) -> crate::Result<Result<VerifyReport, VerifyFailure>> {
    verify_export_file_with_progress(path, options, &mut |_| {})
}

/// [`verify_export_file`], reporting [`Progress`] (`verifying`, lines done; the total is not
/// known before the file is read, so it is 0 until the last report, which gives it) to `progress`.
pub fn verify_export_file_with_progress(
    path: &std::path::Path,
    options: VerifyOptions,
    progress: &mut dyn FnMut(Progress),
) -> crate::Result<Result<VerifyReport, VerifyFailure>> {
    let open = || std::fs::File::open(path).map_err(|err| crate::Error::io("open", path, err));
    let mut verifier = Verifier::new(options);
    let mut reader = std::io::BufReader::with_capacity(1 << 20, open()?);
    let mut line_number = 0u64;
    loop {
        let line = match read_bounded_line(&mut reader) {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(BoundedLineError::Io(err)) => return Err(crate::Error::io("read", path, err)),
            Err(BoundedLineError::TooLong) => {
                return Ok(Err(VerifyFailure {
                    line: line_number + 1,
                    seq: Some(line_number),
                    reason: format!("the line is longer than {} bytes", crate::limits::MAX_LINE_BYTES),
                }));
            }
        };
        line_number += 1;
        if let Err(failure) = verifier.push(line_number, line) {
            return Ok(Err(failure));
        }
        if line_number.is_multiple_of(PROGRESS_EVERY) {
            progress(Progress { phase: "verifying", done: line_number, total: 0 });
        }
    }
    progress(Progress { phase: "verifying", done: line_number, total: line_number });
    let reread = |seq: u64| -> Result<Vec<u8>, String> {
        let mut reader = std::io::BufReader::new(open().map_err(|e| e.to_string())?);
        for _ in 0..seq {
            read_bounded_line(&mut reader).map_err(|e| e.to_string())?.ok_or("no such line")?;
        }
        read_bounded_line(&mut reader).map_err(|e| e.to_string())?.ok_or_else(|| "no such line".to_string())
    };
    Ok(verifier.finish(reread))
}

enum BoundedLineError {
    Io(std::io::Error),
    TooLong,
}

impl std::fmt::Display for BoundedLineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BoundedLineError::Io(err) => write!(f, "{err}"),
            BoundedLineError::TooLong => write!(f, "a line is longer than {} bytes", crate::limits::MAX_LINE_BYTES),
        }
    }
}

/// The next line (without its newline; the last line may lack one), reading at most
/// [`crate::limits::MAX_LINE_BYTES`] + 1 bytes, so that a file without newlines cannot exhaust
/// memory.
fn read_bounded_line(reader: &mut impl std::io::BufRead) -> Result<Option<Vec<u8>>, BoundedLineError> {
    use std::io::{BufRead as _, Read as _};
    let mut line = Vec::new();
    let limit = crate::limits::MAX_LINE_BYTES as u64 + 1;
    let read = reader.by_ref().take(limit).read_until(b'\n', &mut line).map_err(BoundedLineError::Io)?;
    if read == 0 {
        return Ok(None);
    }
    if line.last() == Some(&b'\n') {
        line.pop();
    } else if read as u64 >= limit {
        return Err(BoundedLineError::TooLong);
    }
    Ok(Some(line))
}

impl Verifier {
    /// Check every line pushed so far (the chunk not yet checked included).
    pub(crate) fn verify_pushed(&mut self) -> Result<(), VerifyFailure> {
        self.flush_all()
    }

    /// The record id ([`crate::record::Record::replay_id`]) of every line checked since this
    /// verifier started, with its seq. A verifier resumed after entries it never saw can only
    /// find replays among its own lines; this is how its caller checks them against the records
    /// before (the derived store keeps their ids: `Store::find_record_ids`).
    pub(crate) fn record_ids_since_start(&mut self) -> std::collections::HashMap<[u8; 16], u64> {
        let mut ids = std::collections::HashMap::new();
        let start = self.start;
        let read = self.records.for_each(|id, seq| {
            if seq >= start {
                ids.entry(id).or_insert(seq);
            }
        });
        if let Err(reason) = read {
            // Remembered, so that `finish_range` fails rather than pass lines whose replays
            // were not all looked up.
            self.unreadable_ids.get_or_insert(reason);
        }
        ids
    }
}

/// Check an archived checkpoint against a verified history: signed by the ledger's log key and
/// cosigned as `cosigners` requires (a list of keys: all of them; or a quorum), same origin, and the same root at its
/// size. A ledger that was truncated, rewritten or forked behind the checkpoint fails here.
pub fn check_checkpoint<'a>(
    report: &VerifyReport,
    note: &str,
    pinned_log_key: Option<&PublicKey>,
    cosigners: impl Into<crate::note::CosignerPolicy<'a>>,
) -> crate::Result<crate::note::VerifiedCheckpoint> {
    let log_key = match pinned_log_key {
        Some(key) => key.clone(),
        None => PublicKey::parse_vkey(&report.log_key)?,
    };
    let verified = crate::note::open_checkpoint(note, &log_key, cosigners)?;
    let checkpoint = &verified.checkpoint;
    if checkpoint.origin != report.origin {
        return Err(crate::Error::verification(format!(
            "the checkpoint is for ledger {:?}, not {:?}",
            checkpoint.origin, report.origin
        )));
    }
    if checkpoint.size > report.entries {
        return Err(crate::Error::verification(format!(
            "the checkpoint covers {} entries but the ledger has only {}: entries were removed (the ledger was truncated) behind an archived checkpoint",
            checkpoint.size, report.entries
        )));
    }
    match report.roots.get(&checkpoint.size) {
        Some(root) if *root == checkpoint.root => Ok(verified),
        // The ledger's first `size` entries and the checkpoint are two trees of the same size.
        Some(root) => Err(crate::Error::verification(format!(
            "{} (the first is the ledger's, the second the archived checkpoint's): the ledger was rewritten \
             behind an archived checkpoint, or it is another branch than the one the checkpoint signs",
            crate::proof::fork_message(checkpoint.size, root, &checkpoint.root)
        ))),
        None => Err(crate::Error::bad_input(format!("the root at size {} was not computed", checkpoint.size))),
    }
}

/// An archived checkpoint the verified history must still contain (`lianlog verify --checkpoint`):
/// its name in messages (the file it came from), its signed note, and the tree size it signs,
/// whose root the verification must keep ([`VerifyOptions::root_sizes`]).
#[derive(Debug, Clone)]
pub struct ArchivedCheckpoint {
    /// What messages call it: the file it came from.
    pub name: String,
    /// The signed note, exactly as read.
    pub note: String,
    /// The tree size it signs.
    pub size: u64,
}

impl ArchivedCheckpoint {
    /// Read the size a checkpoint signs; its signatures are checked later, against the verified
    /// history ([`check_archived_checkpoints`]). An error names `name`.
    pub fn parse(name: impl std::fmt::Display, note: String) -> crate::Result<ArchivedCheckpoint> {
        let name = name.to_string();
        let parsed = crate::note::Note::parse(&note).map_err(|e| e.at(&name))?;
        let size = crate::note::Checkpoint::parse_text(&parsed.text).map_err(|e| e.at(&name))?.size;
        Ok(ArchivedCheckpoint { name, note, size })
    }
}

/// Check every archived checkpoint against a verified history ([`check_checkpoint`]): the
/// cosignatures of each, in order, or the first that fails as a failed verification at the end of
/// the history, naming the checkpoint.
pub fn check_archived_checkpoints<'a>(
    report: &VerifyReport,
    checkpoints: &[ArchivedCheckpoint],
    pinned_log_key: Option<&PublicKey>,
    cosigners: impl Into<crate::note::CosignerPolicy<'a>>,
) -> Result<Vec<Vec<crate::note::Cosignature>>, VerifyFailure> {
    let cosigners = cosigners.into();
    let mut cosigned = Vec::with_capacity(checkpoints.len());
    for checkpoint in checkpoints {
        match check_checkpoint(report, &checkpoint.note, pinned_log_key, cosigners) {
            Ok(verified) => cosigned.push(verified.cosignatures),
            Err(err) => {
                return Err(VerifyFailure {
                    line: report.entries,
                    seq: None,
                    reason: format!("archived checkpoint {}: {}", checkpoint.name, err.message()),
                });
            }
        }
    }
    Ok(cosigned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyName, SecretKey};
    use crate::ledger::{Draft, Ledger};
    use crate::record::{Entry, StoredLine};
    use crate::{Holder, Role};

    /// Interview number `n` (its own subject and reason, so that no two records are alike).
    fn interview_draft(n: usize) -> Draft {
        Draft::new(
            "interview",
            serde_json::json!({
                "interview_type": "reminder",
                "subjects": [{"id": format!("P-{n:05}"), "name": "张某", "unit": "市住建局"}],
                "interviewers": [{"id": "P-0101", "name": "钱干事", "unit": "第一监督检查室"}],
                "held_on": "2025-03-10",
                "reason": format!("提醒谈话 {n}"),
            }),
        )
    }

    /// The lines of a real ledger: genesis, a grant and `records` interviews.
    fn ledger_lines(records: usize) -> Vec<Vec<u8>> {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("ledger");
        let admin = SecretKey::from_seed(KeyName::parse("admin.zhao").unwrap(), &[1; 32]);
        let officer = SecretKey::from_seed(KeyName::parse("officer.qian").unwrap(), &[2; 32]);
        let holder = Holder { name: "赵主任".into(), unit: "市纪委监委".into(), title: None };
        let origin = KeyName::parse("jw.example.gov.cn/accountability").unwrap();
        let mut ledger = Ledger::init(&dir, &origin, &admin, holder.clone()).unwrap();
        ledger.grant(&officer.public().vkey(), &[Role::Officer], &holder, &admin).unwrap();
        let drafts: Vec<Draft> = (0..records).map(interview_draft).collect();
        ledger.append_batch(&drafts, &officer).unwrap();
        ledger.raw_lines_from(0).unwrap().collect::<crate::Result<Vec<_>>>().unwrap()
    }

    /// `lines` with one more line: the record of seq `of` (record, signature, body) chained again.
    fn with_replay(mut lines: Vec<Vec<u8>>, of: usize) -> Vec<Vec<u8>> {
        let original = ParsedLine::parse(&lines[of]).unwrap();
        let last = ParsedLine::parse(lines.last().unwrap()).unwrap();
        let entry = Entry {
            seq: lines.len() as u64,
            prev: last.entry_hash,
            time: last.line.entry.time,
            record: original.line.entry.record.clone(),
            sig: original.line.entry.sig.clone(),
        };
        let mut bytes = StoredLine { entry, body: original.line.body.clone() }.to_line().unwrap();
        bytes.pop();
        lines.push(bytes);
        lines
    }

    fn verify(lines: &[Vec<u8>], records: SeenRecords) -> Result<VerifyReport, VerifyFailure> {
        let mut verifier = Verifier::resume(VerifyOptions::default(), Resume { records, ..Resume::default() });
        for (index, line) in lines.iter().enumerate() {
            verifier.push(index as u64 + 1, line.clone())?;
        }
        verifier.finish(|seq| Ok(lines[seq as usize].clone()))
    }

    /// With the record ids spilled to disk every 64 records (and merged two runs at a time), a
    /// replay of a record long gone from memory is found at the same seq, with the same reason,
    /// as with every id in memory; a clean log passes; and the first failing seq still wins
    /// whether the other failure comes before or after the replay.
    #[test]
    fn a_replay_of_a_record_spilled_to_disk_is_found_where_memory_finds_it() {
        let lines = ledger_lines(400);
        let spilling = || SeenRecords::with_limits(64, 2);
        let clean = verify(&lines, spilling()).unwrap();
        assert_eq!(clean.entries, 402);
        assert_eq!(clean.root, verify(&lines, SeenRecords::default()).unwrap().root);

        let replayed = with_replay(lines.clone(), 5);
        let in_memory = verify(&replayed, SeenRecords::default()).unwrap_err();
        assert_eq!(in_memory.seq, Some(402), "{in_memory}");
        assert!(in_memory.reason.contains("the record of seq 5 appears again"), "{in_memory}");
        assert_eq!(verify(&replayed, spilling()).unwrap_err(), in_memory);

        // A later line whose chain is broken: the replay before it is reported.
        let mut then_broken = with_replay(replayed.clone(), 7);
        then_broken.push(lines[10].clone());
        assert_eq!(verify(&then_broken, spilling()).unwrap_err(), in_memory);

        // A broken line before the replay is reported, not the replay after it.
        let mut broken_first = lines.clone();
        broken_first[300] = lines[301].clone();
        let broken_first = with_replay(broken_first, 5);
        let failure = verify(&broken_first, spilling()).unwrap_err();
        assert_eq!(failure, verify(&broken_first, SeenRecords::default()).unwrap_err());
        assert_eq!(failure.seq, Some(300), "{failure}");
    }

    /// A ledger of more than three chunks where a second officer is granted in the second
    /// chunk: the chunks check signatures against the keys the registry held before them (the
    /// first officer is unknown to the first two chunks' guesses, the second to the second and
    /// third's), yet every failure is found at the seq that checking line by line finds first.
    #[test]
    fn signatures_checked_against_guessed_keys_fail_where_line_by_line_checking_fails() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("ledger");
        let admin = SecretKey::from_seed(KeyName::parse("admin.zhao").unwrap(), &[1; 32]);
        let first = SecretKey::from_seed(KeyName::parse("officer.qian").unwrap(), &[2; 32]);
        let second = SecretKey::from_seed(KeyName::parse("officer.sun").unwrap(), &[3; 32]);
        let holder = Holder { name: "赵主任".into(), unit: "市纪委监委".into(), title: None };
        let origin = KeyName::parse("jw.example.gov.cn/accountability").unwrap();
        let mut ledger = Ledger::init(&dir, &origin, &admin, holder.clone()).unwrap();
        let drafts = |from: usize, count: usize| -> Vec<Draft> { (from..from + count).map(interview_draft).collect() };
        ledger.grant(&first.public().vkey(), &[Role::Officer], &holder, &admin).unwrap();
        ledger.append_batch(&drafts(0, 3000), &first).unwrap();
        ledger.grant(&second.public().vkey(), &[Role::Officer], &holder, &admin).unwrap();
        ledger.append_batch(&drafts(3000, 3500), &second).unwrap();
        let lines = ledger.raw_lines_from(0).unwrap().collect::<crate::Result<Vec<_>>>().unwrap();
        assert_eq!(lines.len(), 6503);
        assert!(lines.len() > 3 * CHUNK);
        assert_eq!(verify(&lines, SeenRecords::default()).unwrap().entries, 6503);

        // One character of the signature changed (to another base64 digit): the line still
        // parses, its signature fails, and the next line's `prev` no longer matches.
        let forge = |lines: &mut Vec<Vec<u8>>, seq: usize| {
            let text = String::from_utf8(lines[seq].clone()).unwrap();
            let at = text.find("\"sig\":\"").unwrap() + 20;
            let mut bytes = text.into_bytes();
            bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
            lines[seq] = bytes;
        };
        // seq 1 (the grant, admin, first chunk), 2047 (last of the first chunk, its chain break
        // in the next), 3003 (second officer, unknown to its chunk's guess), 4500 (unknown to
        // the third chunk's guess), 6300 (guessed right), 6502 (the last, partial chunk).
        for seq in [1usize, 2047, 3003, 4500, 6300, 6502] {
            let mut forged = lines.clone();
            forge(&mut forged, seq);
            let failure = verify(&forged, SeenRecords::default()).unwrap_err();
            assert_eq!(failure.seq, Some(seq as u64), "{failure}");
            assert_eq!(failure.line, seq as u64 + 1, "{failure}");
            assert!(failure.reason.starts_with("record signature by "), "{failure}");
            // A line that does not parse after it, two chunks on: the signature still wins.
            let mut then_garbage = forged.clone();
            let garbage = (seq + 2 * CHUNK).min(then_garbage.len() - 1);
            if garbage > seq {
                then_garbage[garbage] = b"{not json".to_vec();
                assert_eq!(verify(&then_garbage, SeenRecords::default()).unwrap_err(), failure);
            }
            // A line that does not parse before it: that line wins.
            let mut garbage_first = forged;
            garbage_first[seq - 1] = b"{not json".to_vec();
            let failure = verify(&garbage_first, SeenRecords::default()).unwrap_err();
            assert_eq!(failure.seq, Some(seq as u64 - 1), "{failure}");
            assert!(failure.reason.contains("JSON"), "{failure}");
        }
        // A record of the second officer signed by the first (its signature is a valid one, by
        // the wrong key: the key id says so).
        let mut wrong_key = lines.clone();
        let sig_of = |line: &[u8]| {
            let text = String::from_utf8(line.to_vec()).unwrap();
            let at = text.find("\"sig\":\"").unwrap() + 7;
            let end = at + text[at..].find('"').unwrap();
            text[at..end].to_string()
        };
        let text = String::from_utf8(wrong_key[6400].clone()).unwrap();
        wrong_key[6400] = text.replace(&sig_of(&lines[6400]), &sig_of(&lines[2500])).into_bytes();
        let failure = verify(&wrong_key, SeenRecords::default()).unwrap_err();
        assert_eq!(failure.seq, Some(6400), "{failure}");
        assert!(failure.reason.contains("key id is not the author's"), "{failure}");
    }
}
