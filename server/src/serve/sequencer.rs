//! The sequencer (定序): the one thread that writes the served ledger. It runs the library's
//! group-commit loop (`lianlog_ledger::group::run_groups`, the loop `GroupCommit` runs too) over
//! append requests: the requests waiting when a group starts are staged together
//! (`Ledger::stage_submissions` under the read lock, so readers go on), committed with one
//! `sync_data` (`Ledger::commit`, the only `write()` of the ledger lock), and then one new
//! checkpoint is signed with the log key and every receipt is built against it.
//!
//! Guarantees: a request is answered only after the `sync_data` that covers its records, with
//! receipts against a checkpoint that covers them, or with the library's refusal of it (and then
//! nothing of it was written: a request is all or nothing, and a refused group is retried request
//! by request, `group::whole_or_each`, so one bad request never fails the others). `/checkpoint`
//! is replaced by the group's checkpoint before any of the group is answered. Requests are
//! bounded by the in-flight limit, so the queue is too.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use lianlog_ledger::group::{run_groups, whole_or_each};
use lianlog_ledger::{Appended, Result};
use tokio::sync::oneshot;

use super::problem::{Code, Problem};
use super::submissions::{Receipt, Submission, build_receipt, stage};
use super::{ServeState, poisoned};

/// One append request: its submissions (all or nothing) and where its answer goes.
struct Request {
    submissions: Vec<Submission>,
    reply: oneshot::Sender<Result<Vec<Receipt>, Problem>>,
}

/// The handle to the sequencer thread.
#[derive(Default)]
pub(crate) struct Sequencer {
    requests: Mutex<Option<mpsc::Sender<Request>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Sequencer {
    /// Start the sequencer thread for `state` (once; the thread keeps `state` alive until
    /// [`Sequencer::finish`]).
    pub(crate) fn start(state: &Arc<ServeState>) {
        let (send, incoming) = mpsc::channel::<Request>();
        let owner = state.clone();
        let thread = std::thread::Builder::new()
            .name("lianlog-sequencer".into())
            .spawn(move || run_groups(&incoming, |group| commit_group(&owner, group)));
        match thread {
            Ok(thread) => {
                if let (Ok(mut requests), Ok(mut handle)) =
                    (state.sequencer.requests.lock(), state.sequencer.thread.lock())
                {
                    *requests = Some(send);
                    *handle = Some(thread);
                }
            }
            Err(err) => (state.report)(format!("cannot start the sequencer thread, appends are refused: {err}")),
        }
    }

    /// Append `submissions` (all or nothing); answers after the `sync_data` that covers them.
    pub(crate) async fn append(&self, submissions: Vec<Submission>) -> Result<Vec<Receipt>, Problem> {
        let (reply, answer) = oneshot::channel();
        let sent = match self.requests.lock() {
            Ok(requests) => {
                requests.as_ref().is_some_and(|requests| requests.send(Request { submissions, reply }).is_ok())
            }
            Err(_) => false,
        };
        if !sent {
            return Err(stopping());
        }
        answer.await.unwrap_or_else(|_| Err(stopping()))
    }

    /// Stop taking requests, let the sequencer answer every request it has, and wait for it.
    pub(crate) fn finish(&self) {
        if let Ok(mut requests) = self.requests.lock() {
            requests.take();
        }
        let thread = self.thread.lock().ok().and_then(|mut thread| thread.take());
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

fn stopping() -> Problem {
    Problem::new(
        Code::Busy,
        "the server is stopping and takes no more appends; nothing was written, retry with the restarted server",
    )
}

/// Commit one group: stage and commit the requests together (or one by one if that is refused),
/// sign one checkpoint, build the receipts, answer.
fn commit_group(state: &ServeState, group: Vec<Request>) {
    let (batches, replies): (Vec<Vec<Submission>>, Vec<_>) =
        group.into_iter().map(|request| (request.submissions, request.reply)).unzip();
    let started = Instant::now();
    let answers = whole_or_each(&batches, |parts| {
        let all: Vec<Submission> = parts.iter().flatten().cloned().collect();
        // Staging only reads: readers go on meanwhile; only this thread ever writes, so the
        // ledger cannot move between staging and committing.
        let staged = state.read(|ledger| stage(ledger, &all))?;
        let appended = state.ledger.write().map_err(|_| poisoned())?.commit(staged)?;
        let mut appended = appended.into_iter();
        Ok(parts.iter().map(|part| appended.by_ref().take(part.len()).collect::<Vec<Appended>>()).collect())
    });
    state.metrics.commit_seconds.observe(started.elapsed().as_secs_f64());
    let records: usize = answers.iter().filter_map(|answer| answer.as_ref().ok()).map(Vec::len).sum();
    let checkpoint = if records > 0 { sign_checkpoint(state, records) } else { Ok(state.checkpoint()) };
    for (reply, answer) in replies.into_iter().zip(answers) {
        let answer = match answer {
            Err(err) => Err(Problem::from(err)),
            Ok(appended) => receipts(state, &appended, &checkpoint),
        };
        // A client that went away needs no answer (its records are durable all the same).
        let _ = reply.send(answer);
    }
}

/// Sign and publish the checkpoint of the ledger as it stands after a group of `records`.
fn sign_checkpoint(state: &ServeState, records: usize) -> Result<Arc<str>, String> {
    use std::sync::atomic::Ordering;
    let signed = state.read(|ledger| Ok((ledger.size(), ledger.checkpoint(ledger.size(), &state.log_key)?)));
    match signed {
        Ok((size, text)) => {
            let text: Arc<str> = Arc::from(text);
            match state.checkpoint.write() {
                Ok(mut published) => *published = text.clone(),
                Err(poisoned) => *poisoned.into_inner() = text.clone(),
            }
            state.metrics.appended.fetch_add(records as u64, Ordering::Relaxed);
            state.metrics.groups.fetch_add(1, Ordering::Relaxed);
            state.metrics.group_records.observe(records as f64);
            state.metrics.tree_size.store(size, Ordering::Relaxed);
            Ok(text)
        }
        Err(err) => {
            (state.report)(format!("appended {records} records but could not sign a checkpoint: {err}"));
            Err(err.message().to_string())
        }
    }
}

/// The receipts of one request's durable records, or why there are none.
fn receipts(
    state: &ServeState,
    appended: &[Appended],
    checkpoint: &Result<Arc<str>, String>,
) -> Result<Vec<Receipt>, Problem> {
    let seqs = match (appended.first(), appended.last()) {
        (Some(first), Some(last)) if first.seq != last.seq => format!("seqs {}–{}", first.seq, last.seq),
        (Some(first), _) => format!("seq {}", first.seq),
        _ => "no seq".to_string(),
    };
    // The records are durable: say so, so that nobody sends them again (a second copy would be
    // refused as a replay anyway).
    let durable = |why: String| {
        Problem::new(
            Code::Io,
            format!(
                "the records were appended durably ({seqs}) but the server could not build their receipts: {why}; \
                 do not send them again: `lianlog prove inclusion` proves them once the server is repaired"
            ),
        )
    };
    let checkpoint = checkpoint.as_ref().map_err(|why| durable(why.clone()))?;
    state
        .read(|ledger| appended.iter().map(|record| build_receipt(ledger, record.seq, checkpoint)).collect())
        .map_err(|err| durable(err.message().to_string()))
}
