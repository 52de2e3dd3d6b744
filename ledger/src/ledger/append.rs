//! Appending (追加): a batch is staged — checked whole and signed — and then committed.
//!
//! Guarantees, carried by the types: [`Ledger::stage`] takes `&self`, so it cannot write; it does
//! every check (kind, form, size, schema, authorization at each record's seq, lifecycle rules
//! over the state as the batch's earlier records leave it) and all signing, and returns a
//! [`StagedBatch`], whose only constructor it is. [`Ledger::commit`] writes a staged batch
//! durably (import intent, one `write_all`, one `sync_data`) and only then updates memory and the
//! derived store; it refuses a batch staged on another state of the ledger (the head or size
//! moved since), before writing anything. So a batch is checked whole before anything is
//! written, and an error names the first failing record, as if the records were checked one by
//! one.

use std::ops::Range;

use serde_json::{Value, json};

use super::replay::project_line;

use super::recovery::{clear_intent, write_intent};
use super::{Appended, Draft, Ledger, WrittenEntry};
use crate::error::{Error, ErrorKind, Result};
use crate::keys::SecretKey;
use crate::limits::{MAX_BATCH, MAX_BODY_BYTES, MAX_ENTRY_BYTES};
use crate::log::Position;
use crate::projection::{StateChanges, View};
use crate::record::{Entry, EntryHash, ParsedLine, Record, StoredBody, StoredLine, body_hash, random_salt};
use crate::registry::{Holder, KeyRegistry, Role};
use crate::replacement::Replacements;
use crate::store::StoreBatch;
use crate::time::Timestamp;
use crate::verify::{PROGRESS_EVERY, Progress};

/// Records per chunk of the staging pipeline (signed, chained, encoded and re-parsed on all cores
/// while the chunk before is checked in order): progress is reported after each.
const STAGE_CHUNK: usize = PROGRESS_EVERY as usize;

/// At most this many records of a chunk are signed together on one core
/// ([`sign_checked_drafts`]): enough to share the costly step of signing among them, few enough
/// that a small batch still spreads over every core.
const SIGN_TOGETHER: usize = 64;

/// A batch checked whole and signed by [`Ledger::stage`] — the only way to make one — and not yet
/// written: its encoded stored lines, what the store and the ledger's head need of each, the
/// projection changes and the key registry after it. It chains from the ledger state it was
/// staged on, which [`Ledger::commit`] checks before it writes a byte.
#[must_use = "a staged batch is written only by `Ledger::commit`"]
pub struct StagedBatch {
    /// The ledger's size and head when the batch was staged: its first seq and `prev`.
    base_size: u64,
    base_head: EntryHash,
    /// The stored lines, each with its newline, ready for one `write_all`.
    bytes: Vec<u8>,
    /// Each line's length (with its newline) and what the store needs of its entry.
    written: Vec<(u64, WrittenEntry)>,
    changes: StateChanges,
    /// The key registry after the batch, when the batch changes it.
    registry: Option<KeyRegistry>,
}

impl StagedBatch {
    /// The number of records in the batch (never 0).
    pub fn len(&self) -> usize {
        self.written.len()
    }

    /// Always false: an empty batch is refused when staged.
    pub fn is_empty(&self) -> bool {
        self.written.is_empty()
    }

    /// The seq the batch's first record gets when committed.
    pub fn first_seq(&self) -> u64 {
        self.base_size
    }
}

impl std::fmt::Debug for StagedBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StagedBatch")
            .field("first_seq", &self.base_size)
            .field("records", &self.written.len())
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

impl Ledger {
    /// Apply one line to the projection changes; with `enforce`, a broken lifecycle rule is an
    /// error (append), otherwise it is tolerated (catch-up and replay of an existing log).
    fn project(&self, changes: &mut StateChanges, parsed: &ParsedLine, enforce: bool) -> Result<()> {
        project_line(View::new(&self.store, changes), self, &parsed.line, enforce, &Replacements::new())
    }

    /// Append one record, durably.
    pub fn append(&mut self, draft: &Draft, key: &SecretKey) -> Result<Appended> {
        let mut appended = self.append_batch(std::slice::from_ref(draft), key)?;
        appended.pop().ok_or_else(|| Error::bad_input("nothing to append"))
    }

    /// Append records all-or-nothing: each is checked against the registry as it would stand at
    /// its seq; if any is refused, nothing is written. One write and one fsync for the batch.
    /// It is [`Ledger::stage`], then [`Ledger::commit`].
    pub fn append_batch(&mut self, drafts: &[Draft], key: &SecretKey) -> Result<Vec<Appended>> {
        self.append_with(drafts, &[key], false)
    }

    /// [`Ledger::append_batch`], reporting [`Progress`] to `progress` as it goes: `signing`, then
    /// `checking` (records done of the batch's records, every chunk and at the end). Writing is
    /// one write and one fsync, so it is not counted.
    pub fn append_batch_with_progress(
        &mut self,
        drafts: &[Draft],
        key: &SecretKey,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Vec<Appended>> {
        let staged = self.stage_with(drafts, &[key], false, progress)?;
        self.commit(staged)
    }

    /// [`Ledger::append_batch`] with each record signed by its own author (`keys[i]` signs
    /// `drafts[i]`): the records of several callers with one fsync, as
    /// [`crate::group::GroupCommit`] writes them (it stages and commits such a batch itself).
    pub fn append_batch_by(&mut self, drafts: &[Draft], keys: &[&SecretKey]) -> Result<Vec<Appended>> {
        if keys.len() != drafts.len() {
            return Err(Error::bad_input(format!("{} records but {} keys", drafts.len(), keys.len())));
        }
        self.append_with(drafts, keys, false)
    }

    /// Stage, then commit: `internal` admits the ledger's own kinds (`ledger.redact`).
    pub(super) fn append_with(
        &mut self,
        drafts: &[Draft],
        keys: &[&SecretKey],
        internal: bool,
    ) -> Result<Vec<Appended>> {
        let staged = self.stage_with(drafts, keys, internal, &mut |_| {})?;
        self.commit(staged)
    }

    /// Compact the derived store if the next few dozen single appends would make a compaction
    /// due: called once at the end of an import (`lianlog import`), so that the first append
    /// after it does not wait for the table's rewrite (0.4 s at 1,000,000 records). An import's
    /// batches compact only once enough writes are pending (a quarter of the table for batches
    /// written to sled; for a run of batches held in memory, `store/state.rs` `hold_compacts_at`),
    /// so one into a large ledger can leave sled near that point; for one import the work only moves. The
    /// records are durable, so a failure is a note, and this handle appends nothing more (a
    /// compaction cut short leaves the old generation or the new one whole, and the next open
    /// continues on it).
    pub fn settle_after_import(&mut self) {
        if self.store_failed.is_some() {
            return;
        }
        if let Err(err) = self.store.settle_after_import() {
            self.notes.push(format!(
                "the records are durable, but the derived store could not be compacted after them ({err}); it is \
                 checked and brought up to date from the log when the ledger is next opened"
            ));
            self.store_failed = Some(err.to_string());
        }
    }

    /// Check and sign a batch whole, writing nothing: `keys` holds one key for all the drafts, or
    /// one for each (`keys[i]` signs `drafts[i]`). Each record is checked as it would stand at its
    /// seq (the registry, and the projections as the batch's earlier records leave them); an
    /// error names the first failing record (`record N` in a batch of several). The staged batch
    /// is for this ledger as it stands now: [`Ledger::commit`] refuses it once anything else was
    /// appended.
    pub fn stage(&self, drafts: &[Draft], keys: &[&SecretKey]) -> Result<StagedBatch> {
        if !drafts.is_empty() && keys.len() != 1 && keys.len() != drafts.len() {
            return Err(Error::bad_input(format!("{} records but {} keys", drafts.len(), keys.len())));
        }
        self.stage_with(drafts, keys, false, &mut |_| {})
    }

    /// [`Ledger::stage`], reporting [`Progress`] (`signing`, then `checking`) to `progress`.
    pub fn stage_with_progress(
        &self,
        drafts: &[Draft],
        keys: &[&SecretKey],
        progress: &mut dyn FnMut(Progress),
    ) -> Result<StagedBatch> {
        if !drafts.is_empty() && keys.len() != 1 && keys.len() != drafts.len() {
            return Err(Error::bad_input(format!("{} records but {} keys", drafts.len(), keys.len())));
        }
        self.stage_with(drafts, keys, false, progress)
    }

    /// [`Ledger::stage`]; `internal` admits the ledger's own kinds (`ledger.redact`). Signing is
    /// the one step that differs from [`Ledger::stage_submissions`]: every check after it is
    /// [`Ledger::stage_signed`], shared by both.
    fn stage_with(
        &self,
        drafts: &[Draft],
        keys: &[&SecretKey],
        internal: bool,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<StagedBatch> {
        self.check_batch_size(drafts.len())?;
        let time = self.sequencing_time();
        // Signing dominates and each record's signature depends only on the record, so records
        // are checked and signed on all cores, a chunk at a time, while the caller's thread checks
        // the chunks before in order (`stage_signed`).
        let origin = &self.origin;
        let mut sign = |range: Range<usize>| -> Vec<Result<Signed>> {
            use rayon::prelude::*;
            let first = range.start;
            let together = range.len().div_ceil(rayon::current_num_threads()).clamp(1, SIGN_TOGETHER);
            drafts[range]
                .par_chunks(together)
                .enumerate()
                .flat_map_iter(|(chunk, drafts)| {
                    let start = first + chunk * together;
                    let keys = if keys.len() > 1 { keys.get(start..start + drafts.len()).unwrap_or(&[]) } else { keys };
                    sign_checked_drafts(origin, drafts, keys, time, internal)
                })
                .collect()
        };
        self.stage_signed(drafts.len(), &mut sign, time, 0, progress)
    }

    /// What every batch must be before anything else is checked: not empty, within
    /// [`MAX_BATCH`], and this handle still able to append.
    pub(super) fn check_batch_size(&self, records: usize) -> Result<()> {
        if records == 0 {
            return Err(Error::bad_input("nothing to append"));
        }
        self.refuse_if_store_failed()?;
        if records > MAX_BATCH {
            return Err(Error::bad_input(format!("{records} records in one batch; the limit is {MAX_BATCH}")));
        }
        Ok(())
    }

    /// The one sequencing time of a batch: entry times never decrease, and the records of a batch
    /// must agree on it before they are chained.
    pub(super) fn sequencing_time(&self) -> Timestamp {
        self.last_time.unwrap_or(Timestamp::from_millis(0)).max(Timestamp::now())
    }

    /// Every check after signing, shared by [`Ledger::stage`] and [`Ledger::stage_submissions`]
    /// (one code path): chaining at `time`, the encoded line re-parsed by the verifier's parser,
    /// the entry size limit ([`MAX_ENTRY_BYTES`]), the author's signature where the signing step
    /// did not check it against the key the registry names, authorization at the record's seq,
    /// the body's schema, the lifecycle rule over the state as the batch's earlier records leave
    /// it, and the registry changes of `key.*` records. `sign(range)` gives records `range` of the
    /// `count` records, each signed or with the error that already refused it; it is called for
    /// consecutive ranges from the start, on another thread when there are several. An error
    /// names its record by its number in the caller's run, after `records_before` records.
    ///
    /// Pipelined: a producer thread has each chunk signed, chained, encoded and re-parsed (and its
    /// schema checked) on all cores while this thread checks the chunk before it in order. The
    /// errors are those of checking the whole batch in two passes, as before the pipeline: the
    /// first record refused by `sign` if any, else the first record refused by a later check.
    /// So after a later check refuses a record, the remaining records are still signed (only
    /// signed), to find whether one of them is refused by `sign`.
    pub(super) fn stage_signed(
        &self,
        count: usize,
        sign: &mut SignSource<'_>,
        time: Timestamp,
        records_before: usize,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<StagedBatch> {
        let total = count as u64;
        // Records are named by their number in the caller's run: one record alone is not named.
        let place = |index: usize, err: Error| {
            if count > 1 || records_before > 0 { err.at(format!("record {}", records_before + index + 1)) } else { err }
        };
        let mut checks = Checks {
            ledger: self,
            registry: self.registry.clone(),
            registry_changed: false,
            changes: StateChanges::default(),
            bytes: Vec::with_capacity(count * 900),
            written: Vec::with_capacity(count),
        };
        // The first record a later check refused: reported unless `sign` refused one.
        let mut refused: Option<(usize, Error)> = None;
        if count <= STAGE_CHUNK {
            // One chunk: nothing to overlap.
            let mut head = self.head;
            let lines = match self.produce(sign, 0..count, &mut head, time, false) {
                Produced::Lines(lines) => lines,
                Produced::Refused(index, err) | Produced::Signed(Some((index, err))) => {
                    return Err(place(index, err));
                }
                Produced::Signed(None) => Vec::new(),
            };
            progress(Progress { phase: "signing", done: total, total });
            if let Err((index, err)) = checks.check(0, lines) {
                return Err(place(index, err));
            }
            progress(Progress { phase: "checking", done: total, total });
        } else {
            let only_sign = std::sync::atomic::AtomicBool::new(false);
            let (sender, receiver) = std::sync::mpsc::sync_channel::<(Range<usize>, Produced)>(2);
            std::thread::scope(|scope| -> Result<()> {
                let only_sign = &only_sign;
                let mut head = self.head;
                scope.spawn(move || {
                    for first in (0..count).step_by(STAGE_CHUNK) {
                        let range = first..count.min(first + STAGE_CHUNK);
                        let skip = only_sign.load(std::sync::atomic::Ordering::Relaxed);
                        let produced = self.produce(sign, range.clone(), &mut head, time, skip);
                        let last = !matches!(produced, Produced::Lines(_) | Produced::Signed(None));
                        // A closed channel means the checks stopped: stop too.
                        if sender.send((range, produced)).is_err() || last {
                            break;
                        }
                    }
                });
                // Progress: signing first, then checking (the checks of the chunks before are
                // reported once every record is signed).
                let mut checked = 0u64;
                for (range, produced) in receiver {
                    let (first, end) = (range.start, range.end);
                    match produced {
                        Produced::Refused(index, err) | Produced::Signed(Some((index, err))) => {
                            return Err(place(index, err));
                        }
                        Produced::Signed(None) => {}
                        Produced::Lines(lines) => {
                            if refused.is_none() {
                                match checks.check(first, lines) {
                                    Ok(()) => checked = end as u64,
                                    Err(found) => {
                                        refused = Some(found);
                                        only_sign.store(true, std::sync::atomic::Ordering::Relaxed);
                                    }
                                }
                            }
                        }
                    }
                    progress(Progress { phase: "signing", done: end as u64, total });
                    if end == count && refused.is_none() {
                        progress(Progress { phase: "checking", done: checked, total });
                    }
                }
                Ok(())
            })?;
        }
        if let Some((index, err)) = refused {
            return Err(place(index, err));
        }
        let Checks { registry, registry_changed, changes, bytes, written, .. } = checks;
        Ok(StagedBatch {
            base_size: self.size,
            base_head: self.head,
            bytes,
            written,
            changes,
            registry: registry_changed.then_some(registry),
        })
    }

    /// The producer's part for records `range`: signed by `sign`, chained after `head` (which it
    /// advances), then encoded, re-parsed and schema-checked on all cores. With `only_sign`, or
    /// once a record is refused by `sign`, only signing is done.
    fn produce(
        &self,
        sign: &mut SignSource<'_>,
        range: Range<usize>,
        head: &mut EntryHash,
        time: Timestamp,
        only_sign: bool,
    ) -> Produced {
        let first = range.start;
        let signed = sign(range);
        if only_sign {
            let refused = signed.into_iter().enumerate().find_map(|(offset, s)| s.err().map(|e| (first + offset, e)));
            return Produced::Signed(refused);
        }
        let mut staging: Vec<Staging> = Vec::with_capacity(signed.len());
        for (offset, signed) in signed.into_iter().enumerate() {
            let index = first + offset;
            let Signed { record, sig, salt, body_bytes, verified_with } = match signed {
                Ok(signed) => signed,
                Err(err) => return Produced::Refused(index, err),
            };
            let entry = Entry { seq: self.size + index as u64, prev: *head, time, record, sig };
            // Encoded once: hashed here to chain the next entry, and written into the line.
            let entry_bytes = entry.canonical_bytes();
            *head = EntryHash::of_entry_bytes(&entry_bytes);
            staging.push((entry_bytes, salt, body_bytes, verified_with, *head));
        }
        use rayon::prelude::*;
        let lines = staging
            .into_par_iter()
            .map(|(entry_bytes, salt, body_bytes, verified_with, expected)| {
                // The body's canonical bytes from the draft check, not encoded again; the line is
                // then read back by the verifier's parser, as every line the ledger writes.
                let bytes = StoredLine::full_line(&entry_bytes, &body_bytes, &salt);
                let parsed = ParsedLine::parse(&bytes[..bytes.len() - 1])
                    .map_err(|e| Error::bad_input(format!("the record does not form a valid stored line: {e}")))?;
                if parsed.entry_hash != expected {
                    return Err(Error::bad_input("the record does not survive encoding unchanged"));
                }
                check_entry_size(parsed.entry_bytes.len())?;
                // The schema check is pure (kind, version, body, time), so it is made here on all
                // cores; its verdict is reported in order, after the checks that come before it.
                let schema = check_schema(&parsed, time);
                let entry = WrittenEntry::of(&parsed);
                Ok(Encoded { bytes, parsed, verified_with, schema, entry })
            })
            .collect();
        Produced::Lines(lines)
    }

    /// Write a staged batch durably — an import intent first when it has more than one line, then
    /// one `write_all` and one `sync_data` — and only then update memory and the derived store.
    /// A batch staged on another state of this ledger (anything appended since, or another
    /// ledger) is refused before anything is written: stage it again.
    pub fn commit(&mut self, staged: StagedBatch) -> Result<Vec<Appended>> {
        self.refuse_if_store_failed()?;
        if staged.base_size != self.size || staged.base_head != self.head {
            return Err(Error::bad_input(format!(
                "{}: this batch of {} records was staged when the ledger had {} entries (head {}), but it now has {} \
                 (head {}); nothing was written: stage the batch again",
                self.dir.display(),
                staged.written.len(),
                staged.base_size,
                staged.base_head,
                self.size,
                self.head
            )));
        }
        let StagedBatch { bytes, written, changes, registry, .. } = staged;
        let batch_intent = written.len() > 1;
        if batch_intent {
            let start = self.next_write_position();
            write_intent(&self.dir, start, bytes.len() as u64, self.size)?;
        }
        let mut batch = StoreBatch::default();
        let entries = self.size..self.size + written.len() as u64;
        let (logged, planned) = if batch_intent {
            // While the log's write and sync_data are under way, the store batch is laid out
            // (case state encoded, index heads read): reading only, so nothing counts before the
            // log is durable. One record is not worth a thread.
            let (log, store, size) = (&mut self.log, &self.store, self.size);
            std::thread::scope(|scope| {
                let writer = scope.spawn(|| log.append_durable(&bytes, size));
                batch.put_changes(changes);
                let planned = store.plan(&mut batch, entries);
                let logged = writer.join().unwrap_or_else(|_| {
                    Err(Error::new(crate::ErrorKind::Io, "the thread writing the log stopped unexpectedly"))
                });
                (logged, planned)
            })
        } else {
            batch.put_changes(changes);
            (self.log.append_durable(&bytes, self.size), Ok(()))
        };
        let start = match logged {
            Ok(start) => start,
            Err(err) => {
                if batch_intent {
                    // The intent stays: the write may have left bytes its cut-back could not remove,
                    // and the next open settles them by it. Until then this handle writes nothing (a
                    // later single append would leave the intent naming lines that are not the batch).
                    self.store_failed = Some(format!("a batch write to the log failed: {err}"));
                }
                return Err(err);
            }
        };
        // Durable from here on: update memory and the derived store. A failure from now on is
        // not the append's: reporting it would make the caller append the records again.
        if batch_intent && let Err(err) = clear_intent(&self.dir) {
            // The next open finds the intent's batch complete and removes the file; until then this
            // handle writes nothing (a later append would follow lines the intent names).
            self.notes.push(format!(
                "the records are durable, but the import intent could not be removed ({err}); it is removed when                  the ledger is next opened"
            ));
            self.store_failed = Some(format!("the import intent could not be removed: {err}"));
        }
        let registry_changed = registry.is_some();
        if let Some(registry) = registry {
            self.registry = registry;
        }
        let mut offset = start.offset;
        let mut appended = Vec::with_capacity(written.len());
        for (length, entry) in written {
            self.advance(&mut batch, Position { segment: start.segment, offset }, length, entry);
            offset += length;
            appended.push(Appended { seq: self.size - 1, hash: entry.hash, time: entry.time });
        }
        if let Err(err) = planned.and_then(|()| self.apply_to_store(batch, registry_changed)) {
            // The records are durable, so the append succeeded: reporting a failure now would make
            // the caller retry and record them twice. The store is behind the log; the next open
            // catches it up.
            self.notes.push(format!(
                "the records are durable, but the derived store could not be updated ({err}); it is brought up \
                 to date from the log when the ledger is next opened"
            ));
            self.store_failed = Some(err.to_string());
        }
        Ok(appended)
    }

    /// After a durable append whose store update failed, this handle appends nothing more.
    fn refuse_if_store_failed(&self) -> Result<()> {
        match &self.store_failed {
            None => Ok(()),
            Some(reason) => Err(Error::new(
                ErrorKind::Store,
                format!(
                    "an earlier append could not be completed ({reason}); nothing more is appended through this \
                     handle: open the ledger again (the log is settled and the derived store caught up on open)"
                ),
            )),
        }
    }

    /// Where the next write begins: the log's tail, or a new segment once the last one is full.
    fn next_write_position(&self) -> Position {
        if self.tail.offset >= crate::log::SEGMENT_TARGET_BYTES {
            Position { segment: self.size, offset: 0 }
        } else {
            self.tail
        }
    }

    /// Grant a key roles (`key.grant`), authored by an admin.
    pub fn grant(&mut self, vkey: &str, roles: &[Role], holder: &Holder, admin: &SecretKey) -> Result<Appended> {
        let body = json!({
            "key": vkey,
            "roles": roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            "holder": holder.to_value(),
        });
        self.append(&Draft::new("key.grant", body), admin)
    }

    /// Revoke a key (`key.revoke`), authored by an admin. Final.
    pub fn revoke(&mut self, identity: &str, reason: &str, admin: &SecretKey) -> Result<Appended> {
        self.append(&Draft::new("key.revoke", json!({"key": identity, "reason": reason})), admin)
    }
}

/// Check a draft before it is signed: a known kind policy, an object body with a canonical form,
/// within the size limit. Returns the canonical body bytes.
pub(super) fn check_draft(draft: &Draft, internal: bool) -> Result<Vec<u8>> {
    if !crate::record::is_valid_kind(&draft.kind) {
        return Err(Error::bad_input(format!(
            "kind {:?} is not a lowercase dotted name such as `interview` or `report.received`, nor the \
             Chinese label of one (`lianlog append --help` lists them).{}",
            draft.kind,
            crate::schema::did_you_mean_kind(&draft.kind)
        )));
    }
    if draft.v == 0 {
        return Err(Error::bad_input("schema versions start at 1"));
    }
    match draft.kind.as_str() {
        "key.grant" | "key.revoke" => {}
        "ledger.redact" if internal => {}
        "ledger.redact" => return Err(Error::bad_input("ledger.redact is written by `lianlog redact` only")),
        "ledger.genesis" => return Err(Error::bad_input("ledger.genesis is written by `lianlog init` only")),
        kind if kind.starts_with("ledger.") || kind.starts_with("key.") => {
            return Err(Error::bad_input(format!("kind {kind} is reserved for the ledger and cannot be appended")));
        }
        kind if crate::schema::lookup(kind).is_none() => {
            let known = crate::schema::record_kinds().map(|k| k.name).collect::<Vec<_>>().join(", ");
            return Err(Error::bad_input(format!(
                "unknown kind {kind:?}.{} The record kinds are: {known}; each may also be given by its \
                 Chinese label (`lianlog append --help`, docs/RECORDS.md)",
                crate::schema::did_you_mean_kind(kind)
            )));
        }
        _ => {}
    }
    if !draft.body.is_object() {
        return Err(Error::bad_input("body: must be a JSON object"));
    }
    if draft.kind.starts_with("key.") {
        check_key_body_limits(&draft.body)?;
    }
    let bytes = crate::canonical::encode(&draft.body, "body").map_err(|e| Error::bad_input(e.to_string()))?;
    if bytes.len() > MAX_BODY_BYTES {
        return Err(Error::bad_input(format!("body: {} bytes; the limit is {MAX_BODY_BYTES}", bytes.len())));
    }
    Ok(bytes)
}

/// Length limits for the free text of `key.grant` and `key.revoke` bodies (the key registry
/// checks their form; these bound what a new record may carry, as the schemas do for the other
/// kinds): holder name, unit and title as short lines, a revocation reason as text.
pub(super) fn check_key_body_limits(body: &Value) -> Result<()> {
    use crate::limits::{MAX_SHORT_TEXT_CHARS, MAX_TEXT_CHARS};
    let check = |value: &Value, path: &str, limit: usize| -> Result<()> {
        match value.as_str() {
            Some(text) if text.chars().count() > limit => {
                Err(Error::bad_input(format!("{path}: {} characters; the limit is {limit}", text.chars().count())))
            }
            _ => Ok(()),
        }
    };
    for member in ["name", "unit", "title"] {
        let path = format!("body.holder.{member}");
        check(&body["holder"][member], &path, MAX_SHORT_TEXT_CHARS)?;
        let text = body["holder"][member].as_str().unwrap_or_default();
        crate::schema::check_no_bidi_controls(text, &path).map_err(|e| Error::bad_input(e.to_string()))?;
    }
    check(&body["reason"], "body.reason", MAX_TEXT_CHARS)
}

/// Make, sign and encode the genesis line (seq 0, with its newline).
pub(super) fn genesis_line(origin: &str, draft: &Draft, key: &SecretKey, time: Timestamp) -> Result<Vec<u8>> {
    let body_bytes = crate::canonical::encode(&draft.body, "body").map_err(|e| Error::bad_input(e.to_string()))?;
    let signed = sign_draft(origin, draft, &body_bytes, key, time)?;
    let line = StoredLine {
        entry: Entry { seq: 0, prev: EntryHash::ZERO, time, record: signed.record, sig: signed.sig },
        body: StoredBody::Full { body: draft.body.clone(), salt: signed.salt },
    };
    line.to_line().map_err(|e| Error::bad_input(e.to_string()))
}

/// A record ready to be sequenced, whoever signed it: [`Ledger::stage`] (here, with the author's
/// key) or its author elsewhere ([`Ledger::stage_submissions`]); what [`Ledger::stage_signed`]
/// checks and chains.
pub(super) struct Signed {
    pub(super) record: Record,
    pub(super) sig: String,
    pub(super) salt: crate::record::Salt,
    /// The body's canonical bytes (JCS, as [`check_draft`] returns them): what its hash covers.
    pub(super) body_bytes: Vec<u8>,
    /// The public key (its 32 bytes) the signature is known to verify with, if any: the signing
    /// key, or the key the registry named before the batch. When the registry names another key
    /// (or none before the batch), the signature is checked in order, against the key it names.
    pub(super) verified_with: Option<[u8; 32]>,
}

/// What signs the records of a range (see [`Ledger::stage_signed`]).
pub(super) type SignSource<'s> = dyn FnMut(Range<usize>) -> Vec<Result<Signed>> + Send + 's;

/// What the producer of [`Ledger::stage_signed`] hands over for a chunk.
enum Produced {
    /// Each record's encoded line, or the error that refused it.
    Lines(Vec<Result<Encoded>>),
    /// Record `.0` was refused by `sign`: the producer stops.
    Refused(usize, Error),
    /// Only signed (a later check refused an earlier record): the first record `sign` refused.
    Signed(Option<(usize, Error)>),
}

/// The in-order checks of [`Ledger::stage_signed`] and what they build.
struct Checks<'l> {
    ledger: &'l Ledger,
    registry: KeyRegistry,
    registry_changed: bool,
    changes: StateChanges,
    bytes: Vec<u8>,
    written: Vec<(u64, WrittenEntry)>,
}

impl Checks<'_> {
    /// Check the records `first..` in order (authorization at each seq, the signature where the
    /// signing step did not check it with the key the registry names, schema, lifecycle rule,
    /// registry changes) and take their lines; the first refused record and its error.
    fn check(&mut self, first: usize, lines: Vec<Result<Encoded>>) -> std::result::Result<(), (usize, Error)> {
        for (offset, line) in lines.into_iter().enumerate() {
            let index = first + offset;
            let seq = self.ledger.size + index as u64;
            let place = |err: Error| (index, err);
            let Encoded { bytes: line, parsed, verified_with, schema, entry } = line.map_err(place)?;
            let record = &parsed.line.entry.record;
            let key = self.registry.authorize(record, seq).map_err(|e| place(Error::unauthorized(e.to_string())))?;
            if verified_with != Some(*key.verifying_key().as_bytes()) {
                // Signed by its author elsewhere, with a key granted within this batch: checked
                // now that the registry names it.
                key.verify_signature_value(&record.note_text(), &parsed.line.entry.sig)
                    .map_err(|e| place(Error::unauthorized(format!("sig: {e}"))))?;
            }
            schema.map_err(place)?;
            let body = parsed.line.body().unwrap_or(&Value::Null);
            self.ledger.project(&mut self.changes, &parsed, true).map_err(place)?;
            if record.kind.starts_with("key.") {
                self.registry
                    .apply(seq, record, body)
                    .map_err(|e| place(Error::bad_input(format!("{}: {e}", record.kind))))?;
                self.registry_changed = true;
            }
            self.bytes.extend_from_slice(&line);
            self.written.push((line.len() as u64, entry));
        }
        Ok(())
    }
}

/// A record chained into its entry, before its line is encoded: the entry's canonical bytes, its
/// salt and body's canonical bytes, the key its signature is known to verify with, and its
/// entry hash.
type Staging = (Vec<u8>, crate::record::Salt, Vec<u8>, Option<[u8; 32]>, EntryHash);

/// A record's stored line encoded (with its newline) and re-parsed, with the key its signature is
/// known to verify with, the verdict of its schema check and what the store needs of its entry.
struct Encoded {
    bytes: Vec<u8>,
    parsed: ParsedLine,
    verified_with: Option<[u8; 32]>,
    schema: Result<()>,
    entry: WrittenEntry,
}

/// The body's schema (kind, version, body, sequencing time): the same check for every append path.
fn check_schema(parsed: &ParsedLine, time: Timestamp) -> Result<()> {
    let record = &parsed.line.entry.record;
    if crate::schema::lookup(&record.kind).is_none_or(|spec| spec.versions.is_empty()) {
        return Ok(());
    }
    let body = parsed.line.body().unwrap_or(&Value::Null);
    let errors = crate::schema::validate_all(&record.kind, record.v, body, time);
    if errors.is_empty() {
        return Ok(());
    }
    let errors = crate::schema::describe_errors(&errors);
    Err(Error::bad_input(format!("{} v{}: {errors}", record.kind, record.v)))
}

/// The entry size limit, [`MAX_ENTRY_BYTES`]: C2SP tlog-tiles entry bundles frame each entry with
/// a `uint16_be` length, so a longer entry could not be served.
pub(super) fn check_entry_size(bytes: usize) -> Result<()> {
    if bytes > MAX_ENTRY_BYTES {
        return Err(Error::bad_input(format!(
            "entry: {bytes} bytes; the limit is {MAX_ENTRY_BYTES} (an entry is framed with a 16-bit length in \
             C2SP tlog-tiles entry bundles, docs/FORMAT.md): shorten the record's kind, author or origin"
        )));
    }
    Ok(())
}

/// A draft checked and signed, ready to be sequenced.
pub(super) struct SignedDraft {
    pub(super) record: Record,
    pub(super) sig: String,
    pub(super) salt: crate::record::Salt,
}

/// Drafts checked ([`check_draft`]: `internal` admits the ledger's own kinds) and signed for
/// sequencing at `time`, each by its key (`keys`: one for all, or one per draft): the one signing
/// step of every batch signed here. The signatures are made together
/// ([`SecretKey::signature_values`]), each the same as if made alone.
pub(super) fn sign_checked_drafts(
    origin: &str,
    drafts: &[Draft],
    keys: &[&SecretKey],
    time: Timestamp,
    internal: bool,
) -> Vec<Result<Signed>> {
    let key_of = |index: usize| keys.get(index).or(keys.first()).ok_or_else(|| Error::bad_input("no key to sign with"));
    let unsigned: Vec<Result<(UnsignedDraft, Vec<u8>, &SecretKey)>> = drafts
        .iter()
        .enumerate()
        .map(|(index, draft)| {
            let key = key_of(index)?;
            let body_bytes = check_draft(draft, internal)?;
            Ok((unsigned_draft(origin, draft, &body_bytes, key, time)?, body_bytes, *key))
        })
        .collect();
    let notes: Vec<(&SecretKey, Vec<u8>)> =
        unsigned.iter().flatten().map(|(draft, _, key)| (*key, draft.record.note_text())).collect();
    let requests: Vec<(&SecretKey, &[u8])> = notes.iter().map(|(key, note)| (*key, note.as_slice())).collect();
    let mut sigs = SecretKey::signature_values(&requests).into_iter();
    unsigned
        .into_iter()
        .map(|unsigned| {
            let (UnsignedDraft { record, salt }, body_bytes, key) = unsigned?;
            let sig = sigs.next().ok_or_else(|| Error::bad_input("a record was left unsigned"))?;
            let verified_with = Some(*key.public().verifying_key().as_bytes());
            Ok(Signed { record, sig, salt, body_bytes, verified_with })
        })
        .collect()
}

/// A draft's record before its signature.
struct UnsignedDraft {
    record: Record,
    salt: crate::record::Salt,
}

/// Make a draft's record (format-v1 section 4) for sequencing at `time`, with a fresh salt.
fn unsigned_draft(
    origin: &str,
    draft: &Draft,
    body_bytes: &[u8],
    key: &SecretKey,
    time: Timestamp,
) -> Result<UnsignedDraft> {
    let salt = random_salt()?;
    let record = Record {
        v: draft.v,
        ledger: origin.to_string(),
        kind: draft.kind.clone(),
        author: key.public().identity(),
        created: time,
        body_hash: body_hash(&salt, body_bytes),
    };
    Ok(UnsignedDraft { record, salt })
}

/// Make and sign a draft's record (format-v1 section 4) for sequencing at `time`.
pub(super) fn sign_draft(
    origin: &str,
    draft: &Draft,
    body_bytes: &[u8],
    key: &SecretKey,
    time: Timestamp,
) -> Result<SignedDraft> {
    let UnsignedDraft { record, salt } = unsigned_draft(origin, draft, body_bytes, key, time)?;
    let sig = record.sign(key);
    Ok(SignedDraft { record, sig, salt })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::keys::KeyName;

    fn key(name: &str, seed: u8) -> SecretKey {
        SecretKey::from_seed(KeyName::parse(name).unwrap(), &[seed; 32])
    }

    fn grant(vkey: &str) -> Draft {
        Draft::new(
            "key.grant",
            json!({"key": vkey, "roles": ["officer"], "holder": {"name": "钱干事", "unit": "第一监督检查室"}}),
        )
    }

    /// The entry limit of C2SP tlog-tiles entry bundles (a 16-bit length): 65,535 bytes pass, one
    /// more is refused with the limit named. (No record lianlog accepts comes near it: kinds,
    /// authors and origins are short, and an entry carries no body.)
    #[test]
    fn entries_over_the_tile_bundle_limit_are_refused() {
        assert!(check_entry_size(MAX_ENTRY_BYTES).is_ok());
        let err = check_entry_size(MAX_ENTRY_BYTES + 1).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BadInput);
        assert!(err.message().contains("the limit is 65535"), "{err}");
    }

    /// A stale staged batch is refused by `commit` before anything is written: no intent, no
    /// log bytes, and the handle's state (size, head, tail, registry) as it was.
    #[test]
    fn commit_refuses_a_batch_staged_before_the_ledger_moved() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("ledger");
        let admin = key("admin.zhao", 1);
        let holder = Holder { name: "赵主任".into(), unit: "市纪委监委".into(), title: None };
        let origin = KeyName::parse("jw.example.gov.cn/accountability").unwrap();
        let mut ledger = Ledger::init(&dir, &origin, &admin, holder).unwrap();
        let (qian, sun) = (key("officer.qian", 2), key("officer.sun", 3));

        let first = ledger.stage(&[grant(&qian.public().vkey())], &[&admin]).unwrap();
        // Two records, so that a commit would write an import intent first.
        let li = key("officer.li", 4);
        let stale = ledger.stage(&[grant(&sun.public().vkey()), grant(&li.public().vkey())], &[&admin]).unwrap();
        assert_eq!((first.first_seq(), stale.first_seq(), stale.len()), (1, 1, 2));
        ledger.commit(first).unwrap();

        let (size, head, tail) = (ledger.size, ledger.head, ledger.tail);
        let registry = ledger.registry.clone();
        let err = ledger.commit(stale).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BadInput);
        assert!(err.message().contains("staged when the ledger had 1 entries"), "{err}");
        assert_eq!((ledger.size, ledger.head, ledger.tail), (size, head, tail));
        assert!(ledger.registry == registry);
        assert!(ledger.store_failed.is_none());
        assert!(!dir.join(super::super::INTENT_FILE).exists());
        assert_eq!(ledger.log.end().unwrap(), tail, "a refused commit wrote to the log");
        assert!(ledger.registry.public_key(&sun.public().identity()).is_none());
    }
}
