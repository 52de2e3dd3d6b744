//! Replay and as-of (重放与历史状态): the projections rebuilt from the log, into memory, up to
//! any point.
//!
//! Guarantees: each replayed record sees only the entries before it ([`FactsBefore`]), as when it
//! was appended, so replayed, caught-up and incrementally maintained state are byte-identical;
//! `replay` reports the first key where the stored projections differ.

use super::Ledger;
use crate::error::{Error, ErrorKind, Result};
use crate::log::{Position, SegmentLog};
use crate::projection::{self, LedgerFacts, MemoryState, RecordContext, View};
use crate::record::{ParsedLine, StoredLine};
use crate::registry::KeyRegistry;
use crate::replacement::{ReplacementScan, Replacements};
use crate::time::Timestamp;

impl Ledger {
    /// Rebuild every projection from seq 0 into fresh state and check that it is byte-identical
    /// to the stored projections. Returns the number of entries replayed and of state keys.
    pub fn replay(&self) -> Result<ReplayReport> {
        self.replay_with_progress(&mut |_| {})
    }

    /// [`Ledger::replay`], reporting [`Progress`](crate::verify::Progress) (`replaying`, entries
    /// done of the ledger's size) to `progress` as it goes.
    pub fn replay_with_progress(&self, progress: &mut dyn FnMut(crate::verify::Progress)) -> Result<ReplayReport> {
        let started = std::time::Instant::now();
        let mut replacements = self.replacements_in_background()?;
        let (total, mut done) = (self.size, 0u64);
        let lines = self.checked_lines_in_background()?.inspect(|_| {
            done += 1;
            if done.is_multiple_of(crate::verify::PROGRESS_EVERY) || done == total {
                progress(crate::verify::Progress { phase: "replaying", done, total });
            }
        });
        // The stored projections are read and digested on another thread while the replay runs
        // (they do not depend on it); the fresh state is digested the same way, and only when
        // the two digests differ is the store read again, key by key, to name the first
        // difference.
        let (past, stored_digest) = std::thread::scope(|scope| {
            let stored = scope.spawn(|| state_digest(self.store.scan_prefix(&[projection::layout::PREFIX])));
            let past = replay_into_memory(lines, self, &mut replacements);
            let stored_digest = stored.join().unwrap_or_else(|_| {
                Err(Error::verification("replay: reading the stored projections stopped unexpectedly"))
            });
            (past, stored_digest)
        });
        let (past, memory) = past?;
        let stored_digest = stored_digest?;
        let (entries, state) = (past.end, memory.into_sorted());
        let fresh_digest = state_digest(state.iter().map(|(key, value)| Ok((key, value))))?;
        if fresh_digest == stored_digest {
            return Ok(ReplayReport { entries, keys: state.len() as u64, seconds: started.elapsed().as_secs_f64() });
        }
        let mut stored = self.store.scan_prefix(&[projection::layout::PREFIX]);
        let mut fresh = state.iter();
        loop {
            match (stored.next().transpose()?, fresh.next()) {
                (None, None) => break,
                (Some((key, value)), Some((fresh_key, fresh_value))) if key == *fresh_key && value == *fresh_value => {}
                (stored_item, fresh_item) => {
                    let key = match (&stored_item, fresh_item) {
                        (Some((a, _)), Some((b, _))) => a.clone().min(b.clone()),
                        (Some((a, _)), None) => a.clone(),
                        (None, Some((b, _))) => b.clone(),
                        (None, None) => Vec::new(),
                    };
                    return Err(Error::new(
                        ErrorKind::Verification,
                        format!(
                            "replay differs from the stored projection \"{}\" at key {:?}; run `lianlog reindex` to rebuild it",
                            projection::layout::family(&key),
                            String::from_utf8_lossy(&key)
                        ),
                    ));
                }
            }
        }
        Ok(ReplayReport { entries, keys: state.len() as u64, seconds: started.elapsed().as_secs_f64() })
    }

    /// The projection state and key registry as they stood after the first `end` entries,
    /// replayed into memory (the stored projections are not touched). Queries over it
    /// ([`PastState::queries`] with this ledger as the line source) answer as a ledger cut after
    /// seq `end - 1` would.
    pub fn as_of(&self, end: u64) -> Result<PastState> {
        if end == 0 || end > self.size {
            return Err(Error::bad_input(format!(
                "as of {} entries: the ledger has {} entries (seq 0..{})",
                end,
                self.size,
                self.size.saturating_sub(1)
            )));
        }
        let mut replacements = self.replacements_in_background()?;
        let lines = self
            .lines_in_background(0)?
            .take(usize::try_from(end).unwrap_or(usize::MAX))
            .map(|line| line.map(|parsed| parsed.line));
        replay_projections(lines, self, &mut replacements)
    }

    /// The replacement bodies of the whole log, found on another thread while replay begins.
    fn replacements_in_background(&self) -> Result<PendingReplacements> {
        let lines = self.log.lines_from(Position { segment: 0, offset: 0 })?;
        let scan = std::thread::spawn(move || replacements_in(lines.map(|item| item.map(|(_, bytes)| bytes))));
        Ok(PendingReplacements { scan: Some(scan), found: Replacements::new() })
    }

    /// Every line of this ledger (up to its size), read and parsed on other threads (all cores)
    /// while the caller projects the lines before, with [`ParsedLine::stored_checked_before`]:
    /// these lines were checked in full when they were appended or opened, and replay rebuilds
    /// derived state from them; checking each line's canonical form and body hash again was a
    /// fifth of a replay's time (profile in docs/PERFORMANCE.md). `verify` checks them.
    fn checked_lines_in_background(&self) -> Result<impl Iterator<Item = Result<StoredLine>> + use<>> {
        use rayon::prelude::*;
        const CHUNK: usize = 2048;
        let count = usize::try_from(self.size).unwrap_or(usize::MAX);
        let mut lines = self.log.lines_from(Position { segment: 0, offset: 0 })?.take(count);
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<Result<StoredLine>>>(4);
        std::thread::spawn(move || {
            let mut seq = 0u64;
            loop {
                let chunk: Vec<Result<(Position, Vec<u8>)>> = lines.by_ref().take(CHUNK).collect();
                if chunk.is_empty() {
                    break;
                }
                let first = seq;
                seq += chunk.len() as u64;
                let parsed: Vec<Result<StoredLine>> = chunk
                    .into_par_iter()
                    .enumerate()
                    .map(|(index, item)| {
                        let (_, bytes) = item?;
                        ParsedLine::stored_checked_before(&bytes).map_err(|e| {
                            Error::new(
                                ErrorKind::Verification,
                                format!("damaged log line (seq {}): {e}; run `lianlog verify`", first + index as u64),
                            )
                        })
                    })
                    .collect();
                // A closed channel means the reader stopped early: stop too.
                if sender.send(parsed).is_err() {
                    break;
                }
            }
        });
        Ok(receiver.into_iter().flatten())
    }
}

/// A SHA-256 digest of projection keys and values in key order (each as its length, u64 BE,
/// then its bytes), and how many there were: equal digests mean equal states.
fn state_digest<K: AsRef<[u8]>, V: AsRef<[u8]>>(
    items: impl Iterator<Item = Result<(K, V)>>,
) -> Result<([u8; 32], u64)> {
    use sha2::Digest;
    // Gathered into 64 KiB before hashing: four small updates per key cost more than the
    // hashing itself.
    const BUFFER: usize = 64 * 1024;
    let mut hasher = sha2::Sha256::new();
    let mut buffer = Vec::with_capacity(BUFFER + 1024);
    let mut count = 0u64;
    for item in items {
        let (key, value) = item?;
        for part in [key.as_ref(), value.as_ref()] {
            buffer.extend_from_slice(&(part.len() as u64).to_be_bytes());
            buffer.extend_from_slice(part);
        }
        if buffer.len() >= BUFFER {
            hasher.update(&buffer);
            buffer.clear();
        }
        count += 1;
    }
    hasher.update(&buffer);
    Ok((hasher.finalize().into(), count))
}

/// Collect the replacement bodies of the redactions from `from` to the end of the log. A cheap
/// byte filter skips every line that is neither a redaction nor a correction, so this is one
/// sequential read.
pub(super) fn collect_replacements(log: &SegmentLog, from: Position) -> Result<Replacements> {
    let lines = log.lines_from(from)?.map(|item| item.map(|(_, bytes)| bytes));
    replacements_in(lines)
}

/// The replacement bodies named by the lines among `lines` (raw stored lines, in seq order).
pub(crate) fn replacements_in(lines: impl Iterator<Item = Result<Vec<u8>>>) -> Result<Replacements> {
    // Both kinds are spelled after this, inside the record (JCS: sorted keys, no spaces); one
    // SIMD search per line finds the few lines worth parsing.
    let kind = memchr::memmem::Finder::new(b"\"kind\":\"");
    const KINDS: [&[u8]; 2] = [b"ledger.redact\"", b"correction\""];
    let mut scan = ReplacementScan::default();
    for bytes in lines {
        let bytes = bytes?;
        let named = kind.find_iter(&bytes).any(|at| {
            let after = &bytes[at + 8..];
            KINDS.iter().any(|name| after.starts_with(name))
        });
        if !named {
            continue;
        }
        let Ok(parsed) = ParsedLine::parse(&bytes) else { continue };
        scan.add(&parsed);
    }
    Ok(scan.finish())
}

/// The replacement bodies of redactions (see [`collect_replacements`]), found by a scan of the
/// whole log on another thread: a replay waits for it only at the first redacted record it
/// projects, rather than reading the log once more before it begins.
pub(crate) struct PendingReplacements {
    scan: Option<std::thread::JoinHandle<Result<Replacements>>>,
    found: Replacements,
}

impl PendingReplacements {
    /// Replacements found already (by the caller's own scan).
    pub fn ready(found: Replacements) -> PendingReplacements {
        PendingReplacements { scan: None, found }
    }

    /// Every replacement body, once the scan has finished.
    fn get(&mut self) -> Result<&Replacements> {
        if let Some(scan) = self.scan.take() {
            self.found = scan
                .join()
                .map_err(|_| Error::verification("replay: the scan for redactions stopped unexpectedly"))??;
        }
        Ok(&self.found)
    }
}

impl Drop for PendingReplacements {
    /// A replay that met no redacted record still waits for the scan, so that no thread reading
    /// the log outlives it.
    fn drop(&mut self) {
        if let Some(scan) = self.scan.take() {
            let _ = scan.join();
        }
    }
}

/// Parsed lines dropped on another thread, in batches: freeing a line's many small allocations
/// was a twentieth of replay's one busy thread.
struct Dropper {
    batch: Vec<StoredLine>,
    sender: Option<std::sync::mpsc::SyncSender<Vec<StoredLine>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Dropper {
    const BATCH: usize = 1024;

    fn new() -> Dropper {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<StoredLine>>(4);
        let thread = std::thread::spawn(move || receiver.into_iter().for_each(drop));
        Dropper { batch: Vec::with_capacity(Self::BATCH), sender: Some(sender), thread: Some(thread) }
    }

    fn drop_later(&mut self, line: StoredLine) {
        self.batch.push(line);
        if self.batch.len() >= Self::BATCH {
            let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(Self::BATCH));
            // A dropper that stopped leaves the batch to be freed here.
            if let Some(Err(std::sync::mpsc::SendError(batch))) = self.sender.as_ref().map(|s| s.send(batch)) {
                drop(batch);
            }
        }
    }
}

impl Drop for Dropper {
    fn drop(&mut self) {
        self.sender = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What `replay` did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplayReport {
    /// Entries replayed.
    pub entries: u64,
    /// State keys of the projections (all checked identical).
    pub keys: u64,
    /// Wall time taken, in seconds.
    pub seconds: f64,
}

/// Projection state and key registry as they stood after the first `end` entries, rebuilt in
/// memory by replaying stored lines (see [`Ledger::as_of`]).
#[derive(Debug, Clone, Default)]
pub struct PastState {
    /// The number of entries replayed: the state of a ledger cut after seq `end - 1`.
    pub end: u64,
    /// The projections (keys under `projection::layout::PREFIX`), as the store would hold them.
    pub state: std::collections::BTreeMap<Vec<u8>, Vec<u8>>,
    /// The key registry at that point.
    pub registry: KeyRegistry,
    /// The time of entry `end - 1`.
    pub last_time: Option<Timestamp>,
}

impl PastState {
    /// The queries over this state, reading the bodies from `lines` (the ledger, or archives).
    pub fn queries<'a>(&'a self, lines: &'a dyn crate::query::LineSource) -> crate::query::Queries<'a> {
        crate::query::Queries::new(&self.state, lines, self.end)
    }
}

/// What a replayed record may look up: only the entries before it, as when it was appended.
struct FactsBefore<'a> {
    facts: &'a dyn LedgerFacts,
    seq: u64,
}

impl LedgerFacts for FactsBefore<'_> {
    fn entry(&self, seq: u64) -> Result<Option<projection::FactEntry>> {
        if seq >= self.seq { Ok(None) } else { self.facts.entry(seq) }
    }

    fn root_at(&self, size: u64) -> Result<Option<[u8; 32]>> {
        if size > self.seq { Ok(None) } else { self.facts.root_at(size) }
    }

    fn key_holder_name(&self, identity: &str) -> Result<Option<String>> {
        self.facts.key_holder_name(identity)
    }
}

/// Replay stored lines from seq 0, in order, into fresh projection state and key registry.
/// `facts` answers lookups of earlier entries (each record sees only the entries before it).
pub(crate) fn replay_projections(
    lines: impl Iterator<Item = Result<StoredLine>>,
    facts: &dyn LedgerFacts,
    replacements: &mut PendingReplacements,
) -> Result<PastState> {
    let (mut past, memory) = replay_into_memory(lines, facts, replacements)?;
    past.state = memory.into_map();
    Ok(past)
}

/// [`replay_projections`], with the state left in memory as the replay kept it (no keys laid
/// out yet).
fn replay_into_memory(
    lines: impl Iterator<Item = Result<StoredLine>>,
    facts: &dyn LedgerFacts,
    replacements: &mut PendingReplacements,
) -> Result<(PastState, MemoryState)> {
    static NONE: Replacements = Replacements::new();
    let mut past = PastState::default();
    let mut state = MemoryState::default();
    let mut dropper = Dropper::new();
    for line in lines {
        let line = line?;
        let entry = &line.entry;
        if entry.seq != past.end {
            return Err(Error::verification(format!(
                "replay: found entry {} where {} was expected; run `lianlog verify`",
                entry.seq, past.end
            )));
        }
        if let Some(body) = line.body()
            && (entry.seq == 0 || entry.record.kind.starts_with("key."))
        {
            past.registry
                .apply(entry.seq, &entry.record, body)
                .map_err(|e| Error::verification(format!("replay: seq {}: {e}; run `lianlog verify`", entry.seq)))?;
        }
        let before = FactsBefore { facts, seq: entry.seq };
        let replacements = if line.body().is_some() { &NONE } else { replacements.get()? };
        // Each record's few changes go straight into the state (nothing is pending: a record's
        // reads see its own writes, as through pending changes).
        project_line(View::into_memory(&mut state), &before, &line, false, replacements)?;
        past.end += 1;
        past.last_time = Some(entry.time);
        dropper.drop_later(line);
    }
    drop(dropper);
    Ok((past, state))
}

/// Apply one stored line to the projection state `view` reads and writes.
pub(super) fn project_line(
    mut view: View<'_>,
    facts: &dyn LedgerFacts,
    line: &StoredLine,
    enforce: bool,
    replacements: &Replacements,
) -> Result<()> {
    let record = &line.entry.record;
    // A redacted record is projected from its replacement body, if the redaction gave one.
    let Some(body) = line.body().or_else(|| replacements.get(&line.entry.seq)) else { return Ok(()) };
    let body = crate::schema::upcast_cow(&record.kind, record.v, body, line.entry.time);
    let context = RecordContext {
        seq: line.entry.seq,
        kind: &record.kind,
        time: line.entry.time,
        author: &record.author,
        body: &body,
    };
    match projection::apply_record(&mut view, &context, facts, enforce)? {
        Err(err) if enforce => Err(projection::rule_error(&record.kind, &err)),
        _ => Ok(()),
    }
}

impl LedgerFacts for Ledger {
    fn entry(&self, seq: u64) -> Result<Option<projection::FactEntry>> {
        if seq >= self.size {
            return Ok(None);
        }
        Ok(Some(projection::FactEntry::of(&self.read(seq)?)))
    }

    fn root_at(&self, size: u64) -> Result<Option<[u8; 32]>> {
        if size > self.size {
            return Ok(None);
        }
        Ledger::root_at(self, size).map(Some)
    }

    fn key_holder_name(&self, identity: &str) -> Result<Option<String>> {
        Ok(self.registry.keys.get(identity).map(|state| state.holder.name.clone()))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::keys::{KeyName, SecretKey};
    use crate::ledger::Draft;
    use crate::projection::StateChanges;
    use crate::registry::{Holder, Role};
    use crate::store::StoreBatch;

    /// Replay compares digests of the fresh and stored projections and, when they differ, names
    /// the first key that differs: a stored value changed, a stored key removed and a key added
    /// are each found, and an untouched store passes.
    #[test]
    fn replay_names_the_first_projection_key_that_differs_from_the_store() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("ledger");
        let key = |name: &str, seed: u8| SecretKey::from_seed(KeyName::parse(name).unwrap(), &[seed; 32]);
        let (admin, officer) = (key("admin.zhao", 1), key("officer.qian", 2));
        let holder = Holder { name: "赵主任".into(), unit: "市纪委监委".into(), title: None };
        let origin = KeyName::parse("jw.example.gov.cn/accountability").unwrap();
        let mut ledger = Ledger::init(&dir, &origin, &admin, holder.clone()).unwrap();
        ledger.grant(&officer.public().vkey(), &[Role::Officer], &holder, &admin).unwrap();
        let report = |id: &str| {
            Draft::new(
                "report.received",
                json!({
                    "report_id": id, "source": "petition", "summary": "反映问题", "received_on": "2026-01-01",
                    "subjects": [{"id": "P-1", "name": "张某", "unit": "市住建局"}]
                }),
            )
        };
        ledger.append_batch(&[report("R-1"), report("R-2")], &officer).unwrap();
        assert_eq!(ledger.replay().unwrap().entries, 4);

        let stored = |key: &[u8]| crate::projection::StateRead::get_state(&ledger.store, key).unwrap();
        let report_key = projection::layout::report("R-2");
        let original = stored(&report_key).expect("the report's case state is stored");
        // (key, the value put in the store, `None`: removed; the family replay names)
        type Case<'a> = (&'a [u8], Option<Vec<u8>>, &'a str);
        let cases: [Case<'_>; 3] = [
            (&report_key, Some(b"{}".to_vec()), "report case state"),
            (&report_key, None, "report case state"),
            (&projection::layout::report("R-0"), Some(original.clone()), "report case state"),
        ];
        for (key, value, family) in cases {
            let mut changes = StateChanges::default();
            changes.writes.insert(key.to_vec(), value);
            let mut batch = StoreBatch::default();
            batch.put_changes(changes);
            ledger.store.apply(batch).unwrap();
            let err = ledger.replay().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Verification);
            assert!(err.message().contains(family), "{err}");
            assert!(err.message().contains(&format!("{:?}", String::from_utf8_lossy(key))), "{err}");
            // Put the store back as it was.
            let mut changes = StateChanges::default();
            changes.writes.insert(key.to_vec(), (key == &report_key[..]).then(|| original.clone()));
            let mut batch = StoreBatch::default();
            batch.put_changes(changes);
            ledger.store.apply(batch).unwrap();
            assert_eq!(ledger.replay().unwrap().entries, 4);
        }
    }
}
