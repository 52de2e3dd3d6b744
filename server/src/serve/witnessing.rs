//! Witnessing (见证) for `lianlog serve --witness URL=VKEY … --witness-quorum K`: a background
//! thread that sends the newest checkpoint to each witness (C2SP tlog-witness `add-checkpoint`),
//! collects their cosignatures, and publishes the newest checkpoint that reached the quorum at
//! `GET /checkpoint`, kept durably in `LEDGER/witnessed.checkpoint` so that a restart serves it at
//! once.
//!
//! Guarantees:
//! - **Serving goes on.** Witnessing runs on its own thread, never under the ledger's write lock
//!   (proofs are read under `read()`, like any reader); a witness that is down, slow (a
//!   5-second timeout) or refusing only delays its own cosignature: it is retried with exponential
//!   back-off from `--witness-interval` up to 60 s, and appends, receipts and reads go on.
//! - **At most one round per interval.** A round starts only when the newest checkpoint is not yet
//!   cosigned by some witness that is due, and at most every `--witness-interval`; each due witness
//!   gets the same log-signed checkpoint (so their cosignatures can be counted together) with the
//!   consistency proof from the size it last cosigned; on 409 the witness's size is taken and the
//!   request sent again with a new proof (at most three times a round).
//! - **The library decides.** Requests, answers, quorum and the kept file are
//!   `lianlog_ledger::witnessing`'s; this module only schedules and carries bytes. A checkpoint is
//!   published as witnessed only after it is durable on disk.

use std::fmt::Write as _;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lianlog_ledger::witnessing::{self, LogWitness, WitnessReply};
use lianlog_ledger::{Checkpoint, Note, PublicKey, Result};
use lianlog_remote::witnessing::{add_checkpoint, witness_client};

use super::ServeState;

/// The longest back-off after failures of one witness.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// How often a 409 is followed by a new request in one round.
const CONFLICT_RETRIES: usize = 3;

/// How often the thread looks whether a round is due when nothing wakes it.
const POLL: Duration = Duration::from_millis(200);

/// What `lianlog serve` does with witnesses: the list, the quorum, the interval between rounds.
#[derive(Debug, Clone)]
pub struct WitnessOptions {
    /// The witnesses (`--witness URL=VKEY`), each counted once.
    pub witnesses: Vec<LogWitness>,
    /// How many of them must cosign a checkpoint for it to be served as witnessed.
    pub quorum: usize,
    /// The shortest time between two rounds (`--witness-interval`, 2 s by default).
    pub interval: Duration,
}

/// What is known of one witness.
#[derive(Debug, Clone)]
struct WitnessState {
    /// The size it last cosigned, as far as this server knows (corrected by a 409).
    known_size: u64,
    /// The log-signed checkpoint it last cosigned for this server, and its cosignature lines.
    cosigned: Option<(Arc<str>, Vec<String>)>,
    /// The tree size of that checkpoint (for `/metrics`).
    cosigned_size: Option<u64>,
    /// Failed exchanges since the server started.
    failures: u64,
    /// The current back-off and when the witness is due again.
    backoff: Duration,
    due: Instant,
}

/// What the thread and the handlers share.
struct Shared {
    stop: bool,
    /// The newest checkpoint that reached quorum, with its cosignatures, and its size.
    witnessed: Option<(Arc<str>, u64)>,
    /// The newest log-signed checkpoint a round was made for, with the cosignatures it got.
    pending: Option<(Arc<str>, Arc<str>)>,
    witnesses: Vec<WitnessState>,
}

/// The witnessing of one server.
pub(crate) struct Witnessing {
    options: WitnessOptions,
    keys: Vec<PublicKey>,
    shared: Mutex<Shared>,
    wake: Condvar,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Witnessing {
    /// Witnessing for the ledger of `state`, as `options` say, starting from the witnessed
    /// checkpoint kept in the ledger directory (if it meets the quorum asked for now). A kept
    /// file that does not belong to this ledger is an error: the server does not start.
    pub(crate) fn new(
        options: WitnessOptions,
        ledger: &lianlog_ledger::Ledger,
        log_key: &PublicKey,
    ) -> Result<Witnessing> {
        witnessing::check_witnesses(&options.witnesses, options.quorum)?;
        let keys = witnessing::keys_of(&options.witnesses);
        let kept = witnessing::load_witnessed(ledger, log_key, &keys, options.quorum)?;
        let known_size = kept.as_ref().map_or(0, |(_, checked)| checked.checkpoint.size);
        let now = Instant::now();
        let witnesses = options
            .witnesses
            .iter()
            .map(|_| WitnessState {
                known_size,
                cosigned: None,
                cosigned_size: None,
                failures: 0,
                backoff: Duration::ZERO,
                due: now,
            })
            .collect();
        let witnessed = kept.map(|(text, checked)| (Arc::from(text), checked.checkpoint.size));
        Ok(Witnessing {
            options,
            keys,
            shared: Mutex::new(Shared { stop: false, witnessed, pending: None, witnesses }),
            wake: Condvar::new(),
            thread: Mutex::new(None),
        })
    }

    /// Start the thread (once); it holds `state` until [`Witnessing::finish`].
    pub(crate) fn start(state: &Arc<ServeState>) {
        let Some(witnessing) = state.witnessing.as_ref() else { return };
        let owner = state.clone();
        match std::thread::Builder::new().name("lianlog-witnessing".into()).spawn(move || run(&owner)) {
            Ok(thread) => {
                if let Ok(mut slot) = witnessing.thread.lock() {
                    *slot = Some(thread);
                }
            }
            Err(err) => (state.report)(format!("cannot start the witnessing thread, nothing will be witnessed: {err}")),
        }
    }

    /// Stop the thread (after the exchange in flight) and wait for it.
    pub(crate) fn finish(&self) {
        if let Ok(mut shared) = self.shared.lock() {
            shared.stop = true;
        }
        self.wake.notify_all();
        let thread = self.thread.lock().ok().and_then(|mut thread| thread.take());
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }

    /// What `GET /checkpoint` serves: the newest checkpoint that reached quorum; before any did,
    /// the newest log-signed checkpoint `latest` with the cosignatures it has (maybe none).
    pub(crate) fn served(&self, latest: Arc<str>) -> Arc<str> {
        let Ok(shared) = self.shared.lock() else { return latest };
        if let Some((witnessed, _)) = &shared.witnessed {
            return witnessed.clone();
        }
        match &shared.pending {
            Some((signed, cosigned)) if *signed == latest => cosigned.clone(),
            _ => latest,
        }
    }

    /// The `/metrics` lines of witnessing: the witnessed size, and per witness the size it last
    /// cosigned and its failures.
    pub(crate) fn render_metrics(&self, out: &mut String) {
        let Ok(shared) = self.shared.lock() else { return };
        let _ = writeln!(
            out,
            "# HELP lianlog_witnessed_size Tree size of the newest checkpoint that reached the witness quorum.\n\
             # TYPE lianlog_witnessed_size gauge\nlianlog_witnessed_size {}",
            shared.witnessed.as_ref().map_or(0, |(_, size)| *size)
        );
        let _ = writeln!(
            out,
            "# HELP lianlog_witness_cosigned_size Tree size of the newest checkpoint each witness cosigned.\n\
             # TYPE lianlog_witness_cosigned_size gauge"
        );
        for (witness, known) in self.options.witnesses.iter().zip(&shared.witnesses) {
            let _ = writeln!(
                out,
                "lianlog_witness_cosigned_size{{witness=\"{}\"}} {}",
                label(witness.name()),
                known.cosigned_size.unwrap_or(0)
            );
        }
        let _ = writeln!(
            out,
            "# HELP lianlog_witness_failures_total Exchanges with each witness that failed or were refused.\n\
             # TYPE lianlog_witness_failures_total counter"
        );
        for (witness, known) in self.options.witnesses.iter().zip(&shared.witnesses) {
            let _ = writeln!(
                out,
                "lianlog_witness_failures_total{{witness=\"{}\"}} {}",
                label(witness.name()),
                known.failures
            );
        }
    }
}

/// A Prometheus label value: `\` and `"` escaped (key names are printable ASCII).
fn label(name: &str) -> String {
    name.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The thread: wait for a round to be due, run it, until stopped.
fn run(state: &ServeState) {
    let Some(witnessing) = state.witnessing.as_ref() else { return };
    let interval = witnessing.options.interval;
    let mut last_round: Option<Instant> = None;
    loop {
        let latest = state.checkpoint();
        let due: Vec<usize> = {
            let Ok(shared) = witnessing.shared.lock() else { return };
            if shared.stop {
                return;
            }
            let now = Instant::now();
            let waited = last_round.is_none_or(|at| now.duration_since(at) >= interval);
            let due: Vec<usize> = shared
                .witnesses
                .iter()
                .enumerate()
                .filter(|(_, known)| {
                    known.due <= now && known.cosigned.as_ref().is_none_or(|(signed, _)| *signed != latest)
                })
                .map(|(index, _)| index)
                .collect();
            if !waited || due.is_empty() {
                // Woken by `finish`, or after a short wait to look again.
                let _ = witnessing.wake.wait_timeout(shared, POLL);
                continue;
            }
            due
        };
        last_round = Some(Instant::now());
        round(state, witnessing, &latest, &due);
    }
}

/// One round: `latest` to each witness in `due`, at once; then the quorum.
fn round(state: &ServeState, witnessing: &Witnessing, latest: &Arc<str>, due: &[usize]) {
    let known: Vec<u64> = match witnessing.shared.lock() {
        Ok(shared) => due.iter().map(|index| shared.witnesses[*index].known_size).collect(),
        Err(_) => return,
    };
    let results: Vec<(usize, u64, std::result::Result<Vec<String>, String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = due
            .iter()
            .zip(known)
            .map(|(index, old)| {
                let witness = &witnessing.options.witnesses[*index];
                scope.spawn(move || {
                    let (size, result) = exchange(state, witness, old, latest);
                    (*index, size, result)
                })
            })
            .collect();
        handles.into_iter().filter_map(|handle| handle.join().ok()).collect()
    });
    let size = Note::parse(latest).ok().and_then(|note| Checkpoint::parse_text(&note.text).ok()).map(|c| c.size);
    let Ok(mut shared) = witnessing.shared.lock() else { return };
    let now = Instant::now();
    for (index, known_size, result) in results {
        let witness = &witnessing.options.witnesses[index];
        let known = &mut shared.witnesses[index];
        known.known_size = known_size;
        match result {
            Ok(lines) => {
                if !known.backoff.is_zero() {
                    (state.report)(format!(
                        "witness {} ({}) cosigns again: the checkpoint of size {}",
                        witness.name(),
                        witness.url,
                        size.map_or_else(|| "?".to_string(), |size| size.to_string())
                    ));
                }
                known.cosigned = Some((latest.clone(), lines));
                known.cosigned_size = size;
                known.backoff = Duration::ZERO;
                known.due = now;
            }
            Err(why) => {
                known.failures += 1;
                known.backoff = (known.backoff * 2).max(witnessing.options.interval).min(MAX_BACKOFF);
                known.due = now + known.backoff;
                (state.report)(format!(
                    "witness {} ({}) did not cosign the checkpoint of size {}: {why}; next try in {} s",
                    witness.name(),
                    witness.url,
                    size.map_or_else(|| "?".to_string(), |size| size.to_string()),
                    known.backoff.as_secs()
                ));
            }
        }
    }
    // Every cosignature collected for this checkpoint, whichever round brought it.
    let lines: Vec<String> = shared
        .witnesses
        .iter()
        .filter_map(|known| known.cosigned.as_ref().filter(|(signed, _)| signed == latest))
        .flat_map(|(_, lines)| lines.iter().cloned())
        .collect();
    let cosigned = match witnessing::with_cosignatures(latest, &lines) {
        Ok(cosigned) => cosigned,
        Err(err) => {
            (state.report)(format!("cannot combine the witnesses' cosignatures: {err}"));
            return;
        }
    };
    let cosigned: Arc<str> = Arc::from(cosigned);
    shared.pending = Some((latest.clone(), cosigned.clone()));
    let kept = shared.witnessed.clone();
    drop(shared);
    // Newer, or the same checkpoint with more cosignatures. Only this thread sets `witnessed`.
    let count = |note: &str| witnessing::cosigned_by(note, state.log_key.public(), &witnessing.keys);
    let newer = match (&kept, size) {
        (Some((kept, witnessed)), Some(size)) => {
            size > *witnessed || (size == *witnessed && count(&cosigned) > count(kept))
        }
        _ => true,
    };
    let quorum =
        witnessing::open_witnessed(&cosigned, state.log_key.public(), &witnessing.keys, witnessing.options.quorum);
    if let (Ok(checked), true) = (quorum, newer) {
        // Durable before it is served: a restart serves this one at once. (Written without the
        // shared lock, so that handlers reading it never wait for the disk.)
        match state.read(|ledger| witnessing::save_witnessed(ledger, &cosigned)) {
            Ok(()) => {
                if let Ok(mut shared) = witnessing.shared.lock() {
                    shared.witnessed = Some((cosigned, checked.checkpoint.size));
                }
            }
            Err(err) => (state.report)(format!("cannot keep the witnessed checkpoint: {err}")),
        }
    }
}

/// Whether [`Witnessing::finish`] was called.
fn stopping(state: &ServeState) -> bool {
    state.witnessing.as_ref().is_none_or(|witnessing| witnessing.shared.lock().map_or(true, |shared| shared.stop))
}

/// Send `latest` to `witness`, believed to be at `old`: the witness's size as known after the
/// exchange, and its cosignature lines or why there are none.
fn exchange(
    state: &ServeState,
    witness: &LogWitness,
    mut old: u64,
    latest: &str,
) -> (u64, std::result::Result<Vec<String>, String>) {
    let client = match witness_client(&witness.url) {
        Ok(client) => client,
        Err(err) => return (old, Err(err.message().to_string())),
    };
    for attempt in 0..=CONFLICT_RETRIES {
        // A server that is stopping sends no more retries (its shutdown waits for this thread).
        if attempt > 0 && stopping(state) {
            return (old, Err("the server is stopping".into()));
        }
        let request = match state.read(|ledger| witnessing::add_request(ledger, old, latest)) {
            Ok(request) => request,
            Err(err) => return (old, Err(err.message().to_string())),
        };
        match add_checkpoint(&client, &request, &witness.vkey) {
            Ok(WitnessReply::Cosigned(lines)) => {
                let size = Note::parse(latest)
                    .ok()
                    .and_then(|note| Checkpoint::parse_text(&note.text).ok())
                    .map_or(old, |checkpoint| checkpoint.size);
                return (size, Ok(lines));
            }
            Ok(WitnessReply::Conflict(size)) => old = size,
            Ok(WitnessReply::Refused { status, reason }) => return (old, Err(format!("{status} {reason}"))),
            Err(err) => return (old, Err(err.message().to_string())),
        }
    }
    (old, Err(format!("409 again after {CONFLICT_RETRIES} retries (the witness's size moves: another log server?)")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lianlog_ledger::{KeyName, SecretKey};

    fn witnessing(names: &[&str]) -> Witnessing {
        let witnesses: Vec<LogWitness> = names
            .iter()
            .map(|name| LogWitness {
                url: format!("http://{name}"),
                vkey: SecretKey::from_seed(KeyName::parse(name).unwrap(), &[1; 32]).as_cosigner().public().clone(),
            })
            .collect();
        let now = Instant::now();
        let known = WitnessState {
            known_size: 0,
            cosigned: None,
            cosigned_size: None,
            failures: 0,
            backoff: Duration::ZERO,
            due: now,
        };
        Witnessing {
            keys: witnessing::keys_of(&witnesses),
            shared: Mutex::new(Shared {
                stop: false,
                witnessed: None,
                pending: None,
                witnesses: vec![known; witnesses.len()],
            }),
            options: WitnessOptions { witnesses, quorum: 1, interval: Duration::from_secs(2) },
            wake: Condvar::new(),
            thread: Mutex::new(None),
        }
    }

    #[test]
    fn serves_the_witnessed_checkpoint_else_the_latest_with_what_it_has() {
        let witnessing = witnessing(&["witness.sjw"]);
        let latest: Arc<str> = Arc::from("latest");
        assert_eq!(&*witnessing.served(latest.clone()), "latest");
        witnessing.shared.lock().unwrap().pending = Some((Arc::from("older"), Arc::from("older+cosigned")));
        assert_eq!(&*witnessing.served(latest.clone()), "latest", "cosignatures of another checkpoint are not served");
        witnessing.shared.lock().unwrap().pending = Some((latest.clone(), Arc::from("latest+cosigned")));
        assert_eq!(&*witnessing.served(latest.clone()), "latest+cosigned");
        witnessing.shared.lock().unwrap().witnessed = Some((Arc::from("witnessed"), 7));
        assert_eq!(&*witnessing.served(latest), "witnessed", "once a checkpoint reached quorum, it is served");
    }

    #[test]
    fn metrics_name_every_witness() {
        let witnessing = witnessing(&["witness.sjw", "witness.audit"]);
        {
            let mut shared = witnessing.shared.lock().unwrap();
            shared.witnessed = Some((Arc::from("witnessed"), 7));
            shared.witnesses[0].cosigned_size = Some(7);
            shared.witnesses[1].failures = 3;
        }
        let mut text = String::new();
        witnessing.render_metrics(&mut text);
        assert!(text.contains("\nlianlog_witnessed_size 7\n"), "{text}");
        assert!(text.contains("lianlog_witness_cosigned_size{witness=\"witness.sjw\"} 7\n"), "{text}");
        assert!(text.contains("lianlog_witness_cosigned_size{witness=\"witness.audit\"} 0\n"), "{text}");
        assert!(text.contains("lianlog_witness_failures_total{witness=\"witness.audit\"} 3\n"), "{text}");
        assert_eq!(label("a\"b\\c"), "a\\\"b\\\\c");
    }
}
