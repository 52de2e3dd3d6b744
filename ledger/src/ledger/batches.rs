//! Appending in batches (分批追加): a long run of records appended as consecutive batches, each
//! all or nothing and durable before the next one is written, for imports too large to check and
//! hold as one batch.
//!
//! Guarantees: each batch gets exactly what [`Ledger::append_batch`] gives it — the same checks
//! (`stage_signed`, one code path), one write and one `sync_data` (`commit`) — in order. The
//! first refused record stops the run: the batches before it stay appended (durable, and
//! returned), nothing of its batch or after it is written, and the error names it by its number
//! in the whole run. A run stopped by a failed write says so ([`StoppedBatch::Unsettled`]): the
//! next open keeps that batch whole or removes it whole, and only the ledger can tell which.
//! Entry times never decrease: each batch is signed at a time no earlier than the batch before
//! it.
//!
//! Why a run is faster than its batches one by one: signing needs nothing but the draft, the key
//! and the time, so a signing thread signs the next batch on all cores while this one is checked
//! in order and committed (whose log write mostly waits for the disk). A batch is signed as
//! small tasks taken in order, and its checks take each task's records as soon as they are
//! signed, so even a run of one batch checks while it signs. The signing has threads of its own:
//! on the shared pool, the next batch's signatures queued ahead of this batch's encoding and held
//! up its in-order checks (measured: 45k records/s on the shared pool, 49.5k on its own,
//! `docs/PERFORMANCE.md`). At most three batches are signed ahead (two waiting, one being
//! signed), so memory stays bounded by the batch size, not the run.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use super::append::{Signed, sign_checked_drafts};
use super::{Appended, Draft, Ledger};
use crate::error::{Error, Result};
use crate::keys::SecretKey;
use crate::limits::MAX_BATCH;
use crate::store::HoldEnd;
use crate::time::Timestamp;
use crate::verify::Progress;

/// Batches that wait signed while the next is signed: two, so that the signing goes on through
/// a commit that also writes the store's next table (measured at 1,000,000 records: 1.0–1.5%
/// faster than one; memory: one batch's records and signatures each).
const SIGNED_AHEAD: usize = 2;

/// How [`Ledger::append_in_batches`] splits its records.
#[derive(Debug, Clone, Copy)]
pub struct BatchOptions {
    /// Records per batch, 1 to [`MAX_BATCH`]: each batch is all or nothing.
    pub records_per_batch: usize,
}

/// What [`Ledger::append_in_batches`] did: the records appended (each durable), and what stopped
/// the run before its end, if anything did.
#[derive(Debug)]
#[must_use = "a run may have stopped early: check `stopped`"]
pub struct AppendedBatches {
    /// The records appended, in order: every batch before the one that stopped the run.
    pub appended: Vec<Appended>,
    /// Why the run stopped before its last record, and what became of the batch it stopped in.
    pub stopped: Option<Stopped>,
}

/// Why a run of batches stopped ([`AppendedBatches::stopped`]).
#[derive(Debug)]
pub struct Stopped {
    /// The error that stopped it, naming the refused record by its number in the whole run.
    pub error: Error,
    /// Whether the batch it stopped in can be in the ledger.
    pub batch: StoppedBatch,
}

/// What became of the batch a run stopped in: what a caller may tell its user to append again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoppedBatch {
    /// Refused before any of it was written: neither it nor any record after it is in the ledger.
    NotWritten,
    /// Its write to the log failed or was not confirmed durable: the next open of the ledger keeps
    /// it whole or removes it whole (the import intent), so the ledger must be looked at before
    /// the batch is appended again.
    Unsettled,
}

/// Records per signing task: a batch is signed as tasks of this many, taken in order by the
/// signing threads, so that its in-order checks start on its first records while the rest are
/// signed (a one-batch import overlapped nothing), and no thread waits for another at the end of
/// a chunk (measured in docs/PERFORMANCE.md).
const SIGN_TASK: usize = 512;

/// From this many records a run has its signing made faster by a table that takes a few
/// milliseconds to build (`keys::prepare_to_sign_many`: 0.7 µs saved a signature, 2.2–2.9 ms to
/// build).
const SIGN_MANY: usize = 8192;

/// One batch being signed: its sequencing time, and each task's records signed (or the error that
/// refused each), in order, as the tasks finish.
struct SigningBatch {
    time: Timestamp,
    tasks: std::vec::IntoIter<Receiver<Vec<Result<Signed>>>>,
    /// The records of the task being taken, not yet taken.
    taken: std::vec::IntoIter<Result<Signed>>,
}

impl SigningBatch {
    /// The next `count` records of the batch, waiting for their tasks to finish.
    fn take(&mut self, count: usize) -> Vec<Result<Signed>> {
        let mut records = Vec::with_capacity(count);
        while records.len() < count {
            if self.taken.len() == 0 {
                match self.tasks.next().and_then(|task| task.recv().ok()) {
                    Some(signed) => self.taken = signed.into_iter(),
                    None => {
                        // Never seen: a task ends without sending only once the run has stopped, or
                        // when it panicked (and the scope then panics too).
                        let missing = count - records.len();
                        records.extend(
                            (0..missing).map(|_| Err(Error::bad_input("the signing stopped before this record"))),
                        );
                        break;
                    }
                }
            }
            records.extend(self.taken.by_ref().take(count - records.len()));
        }
        records
    }
}

/// Spawn the signing of `batch` as tasks of [`SIGN_TASK`] records, first in first signed, each
/// sending its records signed (or the error that refused each), in order, through its `done`.
fn spawn_signing<'scope>(
    tasks: &rayon::ScopeFifo<'scope>,
    batch: &'scope [Draft],
    dones: Vec<SyncSender<Vec<Result<Signed>>>>,
    origin: &'scope str,
    key: &'scope SecretKey,
    time: Timestamp,
    stop: &'scope AtomicBool,
) {
    for (chunk, done) in batch.chunks(SIGN_TASK).zip(dones) {
        tasks.spawn_fifo(move |_| {
            let signed = if stop.load(Ordering::Relaxed) {
                // Never seen: the run stopped, nothing takes it.
                Vec::new()
            } else {
                sign_checked_drafts(origin, chunk, &[key], time, false)
            };
            // Nobody waiting means the run stopped.
            let _ = done.send(signed);
        });
    }
}

impl Ledger {
    /// Append `drafts`, all signed by `key`, in consecutive batches of
    /// [`BatchOptions::records_per_batch`]: each batch all or nothing and durable before the next
    /// is written; a refused record stops the run after the batches before it. Reports
    /// `appending` [`Progress`] (records appended of all) after each batch.
    pub fn append_in_batches(
        &mut self,
        drafts: &[Draft],
        key: &SecretKey,
        options: BatchOptions,
        progress: &mut dyn FnMut(Progress),
    ) -> AppendedBatches {
        let per_batch = options.records_per_batch;
        let refused = |error: Error| AppendedBatches {
            appended: Vec::new(),
            stopped: Some(Stopped { error, batch: StoppedBatch::NotWritten }),
        };
        if per_batch == 0 || per_batch > MAX_BATCH {
            return refused(Error::bad_input(format!(
                "{per_batch} records per batch; choose 1 to {MAX_BATCH} (each batch is all or nothing)"
            )));
        }
        if drafts.is_empty() {
            return refused(Error::bad_input("nothing to append"));
        }
        let total = drafts.len() as u64;
        if drafts.len() >= SIGN_MANY {
            crate::keys::prepare_to_sign_many();
        }
        let origin = self.origin.clone();
        // The batches' state is held in memory and written once, at the end or when a compaction
        // merges it into the next table (store.rs `Held`), rather than written to sled per batch.
        self.store.begin_holding();
        let first_time = self.sequencing_time();
        let mut appended = Vec::with_capacity(drafts.len());
        // Without threads of its own (the system refused them), the signing shares the pool.
        let signing_pool = rayon::ThreadPoolBuilder::new()
            .num_threads(rayon::current_num_threads())
            .thread_name(|index| format!("lianlog-sign-{index}"))
            .build()
            .ok();
        // Set once the run stops, so that the signing thread stops within its batch rather than
        // after it (a batch can hold up to MAX_BATCH records).
        let stop = AtomicBool::new(false);
        // A panic (a bug) must not leave the hold open on a handle the caller keeps: it is
        // caught to end the run as a store failure (nothing more is written through this handle,
        // the next open catches the store up), then resumed.
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            std::thread::scope(|scope| {
                // A batch is sent as its signing starts: SIGNED_AHEAD waiting signed and one being
                // signed, as many as the channel holds.
                let (sender, receiver) = sync_channel::<SigningBatch>(SIGNED_AHEAD + 1);
                let stop = &stop;
                let origin = &origin;
                scope.spawn(move || {
                    let mut time = first_time;
                    for batch in drafts.chunks(per_batch) {
                        time = time.max(Timestamp::now());
                        // Each task's records come back through a channel of their own, sent with the
                        // batch before its signing starts. A closed channel means the run stopped.
                        let (dones, results): (Vec<_>, Vec<_>) =
                            (0..batch.len().div_ceil(SIGN_TASK)).map(|_| sync_channel(1)).unzip();
                        if sender
                            .send(SigningBatch { time, tasks: results.into_iter(), taken: Vec::new().into_iter() })
                            .is_err()
                        {
                            return;
                        }
                        // Returns once the whole batch is signed: the next batch is signed after it.
                        match &signing_pool {
                            Some(pool) => pool.in_place_scope_fifo(|tasks| {
                                spawn_signing(tasks, batch, dones, origin, key, time, stop)
                            }),
                            None => rayon::in_place_scope_fifo(|tasks| {
                                spawn_signing(tasks, batch, dones, origin, key, time, stop)
                            }),
                        }
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                    }
                });
                for (number, batch) in drafts.chunks(per_batch).enumerate() {
                    let records_before = number * per_batch;
                    let outcome = match receiver.recv() {
                        Ok(mut signing) => {
                            self.append_signed(records_before, signing.time, batch.len(), &mut |count| {
                                signing.take(count)
                            })
                        }
                        // Never seen: the signing thread stops only once the run has stopped, or when
                        // it panicked (and the scope then panics too).
                        Err(_) => Err(Stopped {
                            error: Error::bad_input(format!("record {}: the signing stopped", records_before + 1)),
                            batch: StoppedBatch::NotWritten,
                        }),
                    };
                    match outcome {
                        Ok(batch) => appended.extend(batch),
                        // Dropping the receiver stops the signing thread.
                        Err(stopped) => {
                            stop.store(true, Ordering::Relaxed);
                            return Some(stopped);
                        }
                    }
                    progress(Progress { phase: "appending", done: appended.len() as u64, total });
                }
                None
            })
        }));
        let stopped = match run {
            Ok(stopped) => stopped,
            Err(panic) => {
                self.store_failed = Some("a run of batches stopped unexpectedly (a panic)".to_string());
                std::panic::resume_unwind(panic);
            }
        };
        // Not compacting after a batch whose write failed: the ledger is to be looked at.
        let unsettled = stopped.as_ref().is_some_and(|stopped| stopped.batch == StoppedBatch::Unsettled);
        self.end_holding(if unsettled { HoldEnd::IntoSled } else { HoldEnd::Settle });
        AppendedBatches { appended, stopped }
    }

    /// Stage a batch of `count` records as `take` hands them over signed (every check after
    /// signing, the first records' while the rest are signed) and commit it. An error before the
    /// commit leaves the batch unwritten; one from the commit may leave it in the log.
    fn append_signed(
        &mut self,
        records_before: usize,
        time: Timestamp,
        count: usize,
        take: &mut (dyn FnMut(usize) -> Vec<Result<Signed>> + Send),
    ) -> std::result::Result<Vec<Appended>, Stopped> {
        let not_written = |error: Error| Stopped { error, batch: StoppedBatch::NotWritten };
        self.check_batch_size(count).map_err(not_written)?;
        // Signed at a time chosen before the batches ahead of it were committed: never earlier
        // than their entries (each batch's time is at least the one before), checked all the same.
        if self.last_time.is_some_and(|last| time < last) {
            return Err(not_written(Error::bad_input(format!(
                "record {}: signed for {time}, before the ledger's last entry: append it again",
                records_before + 1
            ))));
        }
        let mut source = |range: std::ops::Range<usize>| take(range.len());
        let staged = self.stage_signed(count, &mut source, time, records_before, &mut |_| {}).map_err(not_written)?;
        // The commit refuses a batch staged on another state before writing anything, and this
        // one was staged on this state just now: its errors are those of the write.
        self.commit(staged).map_err(|error| Stopped { error, batch: StoppedBatch::Unsettled })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::keys::KeyName;
    use crate::registry::{Holder, Role};

    fn key(name: &str, seed: u8) -> SecretKey {
        SecretKey::from_seed(KeyName::parse(name).unwrap(), &[seed; 32])
    }

    fn interview(id: usize) -> Draft {
        Draft::new(
            "interview",
            json!({
                "interview_type": "reminder",
                "subjects": [{"id": format!("P-{id:05}"), "name": "张某", "unit": "市住建局"}],
                "interviewers": [{"id": "P-0101", "name": "钱干事", "unit": "第一监督检查室"}],
                "held_on": "2025-03-10",
                "reason": "提醒谈话",
            }),
        )
    }

    /// A fresh ledger with one officer, and that officer's key.
    fn ledger_with_officer(dir: &std::path::Path) -> (Ledger, SecretKey) {
        let admin = key("admin.test", 1);
        let officer = key("officer.test", 2);
        let holder = Holder { name: "钱干事".into(), unit: "第一监督检查室".into(), title: None };
        let mut ledger =
            Ledger::init(dir, &KeyName::parse("test.example/batches").unwrap(), &admin, holder.clone()).unwrap();
        ledger.grant(&officer.public().vkey(), &[Role::Officer], &holder, &admin).unwrap();
        (ledger, officer)
    }

    #[test]
    fn a_run_appends_its_batches_in_order_as_one_batch_would() {
        let dir = tempfile::tempdir().unwrap();
        let (mut ledger, officer) = ledger_with_officer(dir.path());
        let before = ledger.size();
        let drafts: Vec<Draft> = (0..25).map(interview).collect();
        let mut reported = Vec::new();
        let run = ledger.append_in_batches(&drafts, &officer, BatchOptions { records_per_batch: 10 }, &mut |p| {
            reported.push((p.phase, p.done, p.total))
        });
        assert!(run.stopped.is_none(), "{:?}", run.stopped);
        let seqs: Vec<u64> = run.appended.iter().map(|a| a.seq).collect();
        assert_eq!(seqs, (before..before + 25).collect::<Vec<_>>());
        assert!(run.appended.windows(2).all(|pair| pair[0].time <= pair[1].time), "times never decrease");
        assert_eq!(reported, [("appending", 10, 25), ("appending", 20, 25), ("appending", 25, 25)]);
        drop(ledger);
        let reopened = Ledger::open(dir.path()).unwrap();
        assert_eq!(reopened.size(), before + 25);
        assert!(reopened.verify(crate::verify::VerifyOptions::default()).unwrap().is_ok());
        for (draft, appended) in drafts.iter().zip(&run.appended) {
            assert_eq!(reopened.read(appended.seq).unwrap().line.body(), Some(&draft.body));
        }
    }

    /// A run holds its batches' state in memory (store.rs `Held`) and writes it when it ends:
    /// nothing is left held, the ledger reopens with nothing to catch up from the log, and the
    /// stored projections equal a fresh replay.
    #[test]
    fn a_runs_held_state_is_written_when_it_ends() {
        let dir = tempfile::tempdir().unwrap();
        let (mut ledger, officer) = ledger_with_officer(dir.path());
        let drafts: Vec<Draft> = (0..25).map(interview).collect();
        let run = ledger.append_in_batches(&drafts, &officer, BatchOptions { records_per_batch: 10 }, &mut |_| {});
        assert!(run.stopped.is_none(), "{:?}", run.stopped);
        assert!(!ledger.store.holds_anything(), "written when the run ended");
        let size = ledger.size();
        drop(ledger);
        let store = crate::store::Store::open_when_released(dir.path());
        assert_eq!(store.head().unwrap().map(|head| head.size), Some(size), "the store has every entry");
        drop(store);
        let reopened = Ledger::open(dir.path()).unwrap();
        assert_eq!(reopened.size(), size);
        let replay = reopened.replay().expect("the stored projections equal a fresh replay");
        assert_eq!(replay.entries, size);
    }

    #[test]
    fn a_refused_record_stops_the_run_after_the_batches_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let (mut ledger, officer) = ledger_with_officer(dir.path());
        let before = ledger.size();
        let mut drafts: Vec<Draft> = (0..30).map(interview).collect();
        // Record 17 (the second batch's seventh) has no reason: the schema refuses it.
        drafts[16].body.as_object_mut().unwrap().remove("reason");
        let run = ledger.append_in_batches(&drafts, &officer, BatchOptions { records_per_batch: 10 }, &mut |_| {});
        let stopped = run.stopped.expect("the run stops at record 17");
        assert_eq!(stopped.batch, StoppedBatch::NotWritten);
        let err = stopped.error;
        assert!(err.to_string().starts_with("record 17: "), "{err}");
        assert!(err.to_string().contains("reason"), "{err}");
        assert_eq!(run.appended.len(), 10, "the first batch stays appended");
        assert_eq!(ledger.size(), before + 10, "nothing of the refused batch or after it is written");
        drop(ledger);
        let reopened = Ledger::open(dir.path()).unwrap();
        assert_eq!(reopened.size(), before + 10);
        assert!(reopened.verify(crate::verify::VerifyOptions::default()).unwrap().is_ok());
    }

    /// A batch signed as several tasks is checked in its records' order, whichever task finishes
    /// first: a refused record in a later task is named by its number, and a run that passes
    /// keeps every record in place.
    #[test]
    fn a_batch_of_several_signing_tasks_keeps_its_records_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let (mut ledger, officer) = ledger_with_officer(dir.path());
        let before = ledger.size();
        let count = 2 * SIGN_TASK + 100;
        let options = BatchOptions { records_per_batch: 2 * SIGN_TASK + 50 };
        let mut drafts: Vec<Draft> = (0..count).map(interview).collect();
        // (record refused, how, what the error names): by the schema, checked in order after
        // signing, in the batch's second task; by the signing task itself, in its third.
        let no_reason: fn(&mut Draft) = |draft| drop(draft.body.as_object_mut().unwrap().remove("reason"));
        let no_kind: fn(&mut Draft) = |draft| draft.kind = "No Such Kind".to_string();
        let cases = [(SIGN_TASK + 7, no_reason, "reason"), (2 * SIGN_TASK + 3, no_kind, "No Such Kind")];
        for (refused_at, spoil, named) in cases {
            spoil(&mut drafts[refused_at]);
            let run = ledger.append_in_batches(&drafts, &officer, options, &mut |_| {});
            let error = run.stopped.expect("refused").error.to_string();
            assert!(error.starts_with(&format!("record {}: ", refused_at + 1)), "{error}");
            assert!(error.contains(named), "{error}");
            assert_eq!((run.appended.len(), ledger.size()), (0, before));
            drafts[refused_at] = interview(refused_at);
        }

        let run = ledger.append_in_batches(&drafts, &officer, options, &mut |_| {});
        assert!(run.stopped.is_none(), "{:?}", run.stopped);
        assert_eq!(run.appended.len(), count);
        for (draft, appended) in drafts.iter().zip(&run.appended) {
            assert_eq!(ledger.read(appended.seq).unwrap().line.body(), Some(&draft.body), "seq {}", appended.seq);
        }
        assert_eq!(run.appended.last().unwrap().seq, before + count as u64 - 1);
    }

    #[test]
    fn a_batch_size_outside_its_bounds_is_refused_before_anything_is_signed() {
        let dir = tempfile::tempdir().unwrap();
        let (mut ledger, officer) = ledger_with_officer(dir.path());
        let before = ledger.size();
        for records_per_batch in [0, MAX_BATCH + 1] {
            let run =
                ledger.append_in_batches(&[interview(1)], &officer, BatchOptions { records_per_batch }, &mut |_| {});
            let stopped = run.stopped.expect("refused");
            assert_eq!(stopped.batch, StoppedBatch::NotWritten);
            assert!(stopped.error.to_string().contains("records per batch"), "{}", stopped.error);
            assert!(run.appended.is_empty());
        }
        let run = ledger.append_in_batches(&[], &officer, BatchOptions { records_per_batch: 10 }, &mut |_| {});
        assert!(run.stopped.is_some_and(|stopped| stopped.error.to_string().contains("nothing to append")));
        assert_eq!(ledger.size(), before);
    }

    /// A batch whose write fails is not reported as refused: the run says the batch is unsettled
    /// (the next open decides it), after the batches before it, which stay appended.
    #[test]
    fn a_failed_write_stops_the_run_with_its_batch_unsettled() {
        let dir = tempfile::tempdir().unwrap();
        let (mut ledger, officer) = ledger_with_officer(dir.path());
        let before = ledger.size();
        let drafts: Vec<Draft> = (0..25).map(interview).collect();
        // Once the first batch is appended, a directory stands where the next batch's import
        // intent is to be renamed to: its write fails (whoever runs the test, root included).
        let blocker = dir.path().join(super::super::INTENT_FILE);
        let run = ledger.append_in_batches(&drafts, &officer, BatchOptions { records_per_batch: 10 }, &mut |_| {
            std::fs::create_dir_all(blocker.join("in-the-way")).unwrap();
        });
        let stopped = run.stopped.expect("the second batch's write fails");
        assert_eq!(stopped.batch, StoppedBatch::Unsettled, "{}", stopped.error);
        assert_eq!(run.appended.len(), 10, "the first batch stays appended");
        drop(ledger);
        std::fs::remove_dir_all(&blocker).unwrap();
        let reopened = Ledger::open(dir.path()).unwrap();
        assert_eq!(reopened.size(), before + 10);
        assert!(reopened.verify(crate::verify::VerifyOptions::default()).unwrap().is_ok());
    }
}
