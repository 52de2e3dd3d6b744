//! Crash safety, tested with real processes: `lianlog append` and `lianlog import` runs are killed
//! with SIGKILL at random moments (delays drawn from a seeded generator around the measured
//! length of a run), hundreds of times, and after every kill the ledger is checked:
//!
//! - it opens, and `lianlog verify` passes (exit 0) — a crash never makes `Ledger::open` refuse
//!   with "the log changed behind the derived store";
//! - every append and import whose success line was printed is there, with the printed seq and
//!   entry hash (for an import, its first..=last seqs and the printed head);
//! - no import is partly visible: its records are all present, in order and contiguous, or none;
//!   an import in batches (`--batch N`) is visible by whole batches from its start, and the rest is
//!   imported again, as the error of a refused batch tells a user to;
//! - no record is there twice (an operation whose records are absent after a kill is retried,
//!   as a client would, so a record that landed must never be sent again);
//! - the derived data equals a fresh replay (`lianlog replay`, exit 0), `lianlog log` (which reads
//!   through the derived positions) agrees with the export, and `lianlog reindex` of a copy (so
//!   that the original keeps the store that lived through the crashes) rebuilds the same head and
//!   root.
//!
//! A kill rarely lands inside the single `write` of an append; `ledger/tests/it/interrupted.rs`
//! builds those states (every byte of an append or an import cut off) directly.
//!
//! Sometimes the recovery itself (the `lianlog verify` that opens the ledger after a crash, and so
//! undoes an import or cuts a torn tail) is killed too, before the checks run.
//!
//! Budget: by default the test stops after 220 kills or 75 s, whichever comes first (it goes on
//! past 75 s until 200 kills, and fails beyond 300 s). `LIANLOG_SOAK_SECONDS=N` runs a soak of N
//! seconds instead, with no limit on kills. `LIANLOG_CRASH_SEED=N` replays a run (the seed is
//! printed). On failure the ledger directory is kept and named in the message.

use std::collections::{BTreeMap, VecDeque};
use std::io::Read as _;
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use lianlog_ledger::ParsedLine;
use lianlog_workload::Workload;
use serde_json::{Value, json};

use crate::common::copy_dir;

const BIN: &str = env!("CARGO_BIN_EXE_lianlog");
const ORIGIN: &str = "jw.example.gov.cn/crash-test";

/// xorshift64*: deterministic from its seed.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// One thing a client wants to happen: a single append, an all-or-nothing import, or an import
/// in batches of `batch` records. `records` are the ones still to import: after a kill left some
/// whole batches in, the rest.
#[derive(Clone)]
struct Operation {
    id: usize,
    records: Vec<(String, Value)>,
    import: bool,
    batch: Option<usize>,
}

/// What a printed success line promised.
#[derive(Debug)]
enum Ack {
    Append { seq: u64, hash: String },
    Import { first: u64, last: u64, head: String },
}

#[derive(Default, Debug)]
struct Stats {
    kills: u64,
    recovery_kills: u64,
    completed_before_kill: u64,
    acked_then_killed: u64,
    partial_output: u64,
    retried: u64,
    landed_unacknowledged: u64,
    imports_done: u64,
    appends_done: u64,
    /// Kills that left an import in batches with some whole batches in (the rest imported next).
    batches_partly_in: u64,
    repairs_seen: u64,
}

struct Harness {
    dir: PathBuf,
    ledger: PathBuf,
    officer: PathBuf,
    rng: Rng,
    seed: u64,
    workload: Workload,
    next_id: usize,
    current: Option<Operation>,
    acks: Vec<Ack>,
    /// `kind\n` + JCS(body) of every record ever sent → (operation id, index in it).
    sent: BTreeMap<String, (usize, usize)>,
    /// Entries written by the setup (genesis and grants), before the workload.
    setup_entries: u64,
    typical: Duration,
    stats: Stats,
    /// Recovery notes printed by lianlog (torn tails cut, imports undone), for the report.
    notes: Vec<String>,
}

fn record_key(kind: &str, body: &Value) -> String {
    let bytes = lianlog_ledger::canonical::encode(body, "body").expect("workload bodies are canonical");
    format!("{kind}\n{}", String::from_utf8_lossy(&bytes))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

impl Harness {
    fn fail(&self, message: impl std::fmt::Display) -> ! {
        panic!(
            "{message}\n(seed {}; the ledger is kept in {} for inspection; stats {:?})",
            self.seed,
            self.dir.display(),
            self.stats
        );
    }

    fn command(&self) -> Command {
        let mut command = Command::new(BIN);
        command.arg("--ledger").arg(&self.ledger).env_remove("LIANLOG_LEDGER").env_remove("LIANLOG_PASSPHRASE");
        command
    }

    /// Run a command to completion; it must exit 0.
    fn run_ok(&self, args: &[&str]) -> Output {
        let output = self.command().args(args).output().expect("run lianlog");
        if !output.status.success() {
            self.fail(format!(
                "`lianlog {}` failed after a crash ({:?}):\nstdout: {}\nstderr: {}",
                args.join(" "),
                output.status,
                text(&output.stdout),
                text(&output.stderr)
            ));
        }
        output
    }

    fn run_json(&self, args: &[&str]) -> (Value, String) {
        let output = self.run_ok(args);
        let value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|err| self.fail(format!("`lianlog {}` printed no JSON: {err}", args.join(" "))));
        (value, text(&output.stderr))
    }

    fn new_operation(&mut self) -> Operation {
        let import = self.rng.chance(35);
        let count = if import { 2 + self.rng.below(11) as usize } else { 1 };
        let batch = (import && self.rng.chance(40)).then(|| 1 + self.rng.below(4) as usize);
        let records: Vec<(String, Value)> = (0..count)
            .map(|_| {
                let (kind, body) = self.workload.next().expect("the workload never ends");
                (kind.to_string(), body)
            })
            .collect();
        self.next_id += 1;
        for (index, (kind, body)) in records.iter().enumerate() {
            let previous = self.sent.insert(record_key(kind, body), (self.next_id, index));
            assert!(previous.is_none(), "the workload repeats a record: {kind} {body}");
        }
        Operation { id: self.next_id, records, import, batch }
    }

    /// Start the operation's process (its input already written to a file).
    fn spawn(&self, operation: &Operation) -> Child {
        let input = self.dir.join(format!("op-{}.json", operation.id));
        let mut command = self.command();
        command.arg("--json");
        if operation.import {
            let lines: String = operation
                .records
                .iter()
                .map(|(kind, body)| format!("{}\n", json!({"kind": kind, "body": body})))
                .collect();
            std::fs::write(&input, lines).expect("write the import");
            command.arg("import").arg(&input);
            if let Some(batch) = operation.batch {
                command.args(["--batch", &batch.to_string()]);
            }
        } else {
            let (kind, body) = &operation.records[0];
            std::fs::write(&input, body.to_string()).expect("write the body");
            command.args(["append", kind, "--body"]).arg(&input);
        }
        command.arg("--key").arg(&self.officer);
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        command.spawn().expect("spawn lianlog")
    }

    /// Read a success line from (possibly partial) standard output.
    fn parse_ack(&mut self, stdout: &[u8], operation: &Operation) -> Option<Ack> {
        if stdout.is_empty() {
            return None;
        }
        let Ok(value) = serde_json::from_slice::<Value>(stdout) else {
            // Killed while printing: the operation was durable (printing comes after), but the
            // line is incomplete, so nothing was promised.
            self.stats.partial_output += 1;
            return None;
        };
        let ack = if operation.import {
            Ack::Import {
                first: value["first_seq"].as_u64()?,
                last: value["last_seq"].as_u64()?,
                head: value["head"].as_str()?.to_string(),
            }
        } else {
            Ack::Append { seq: value["seq"].as_u64()?, hash: value["entry_hash"].as_str()?.to_string() }
        };
        if let Ack::Import { first, last, .. } = &ack
            && last - first + 1 != operation.records.len() as u64
        {
            self.fail(format!(
                "import {} printed seqs {first}..={last} for {} records",
                operation.id,
                operation.records.len()
            ));
        }
        Some(ack)
    }

    /// Run one operation without killing it (to measure how long a run takes, and to make progress).
    fn run_unkilled(&mut self) -> Duration {
        let operation = self.current.take().unwrap_or_else(|| self.new_operation());
        let started = Instant::now();
        let child = self.spawn(&operation);
        let output = child.wait_with_output().expect("wait for lianlog");
        let elapsed = started.elapsed();
        if !output.status.success() {
            self.fail(format!(
                "operation {} failed without a crash: {}\n{}",
                operation.id,
                text(&output.stdout),
                text(&output.stderr)
            ));
        }
        let ack = self.parse_ack(&output.stdout, &operation);
        let ack = ack.unwrap_or_else(|| self.fail("a completed operation printed no success line"));
        self.acks.push(ack);
        self.count_done(&operation);
        elapsed
    }

    fn count_done(&mut self, operation: &Operation) {
        if operation.import {
            self.stats.imports_done += 1;
        } else {
            self.stats.appends_done += 1;
        }
    }

    /// One round: start the current operation (or a new one), kill it after a random delay,
    /// sometimes kill the recovery too, then check everything.
    fn round(&mut self) {
        let operation = self.current.take().unwrap_or_else(|| self.new_operation());
        // Mostly within a typical run, sometimes a little after it.
        let limit = self.typical.as_micros() as u64 * 9 / 10;
        let delay = Duration::from_micros(self.rng.below(limit.max(1_000)));
        let mut child = self.spawn(&operation);
        std::thread::sleep(delay);
        let _ = child.kill();
        let output = child.wait_with_output().expect("wait for lianlog");
        let killed = output.status.signal() == Some(9);
        if killed {
            self.stats.kills += 1;
        } else if output.status.success() {
            self.stats.completed_before_kill += 1;
        } else {
            self.fail(format!(
                "operation {} failed without being killed ({:?}):\n{}\n{}",
                operation.id,
                output.status,
                text(&output.stdout),
                text(&output.stderr)
            ));
        }
        self.collect_notes(&output.stderr);
        let ack = self.parse_ack(&output.stdout, &operation);
        if !killed && ack.is_none() {
            self.fail(format!("operation {} exited 0 without a success line", operation.id));
        }
        if killed && ack.is_some() {
            self.stats.acked_then_killed += 1;
        }
        let acked = ack.is_some();
        if let Some(ack) = ack {
            self.acks.push(ack);
        }
        if killed && self.rng.chance(20) {
            // Kill the recovery: `verify` opens the ledger and repairs what the crash left.
            let limit = self.typical.as_micros() as u64;
            let delay = Duration::from_micros(self.rng.below(limit.max(1_000)));
            let mut recovery = self.command().arg("verify").stdout(Stdio::null()).stderr(Stdio::piped()).spawn();
            let recovery = recovery.as_mut().expect("spawn lianlog verify");
            std::thread::sleep(delay);
            let _ = recovery.kill();
            let status = recovery.wait().expect("wait for lianlog verify");
            let mut stderr = Vec::new();
            if let Some(mut pipe) = recovery.stderr.take() {
                let _ = pipe.read_to_end(&mut stderr);
            }
            self.collect_notes(&stderr);
            if status.signal() == Some(9) {
                self.stats.recovery_kills += 1;
            } else if status.code() != Some(0) {
                self.fail(format!("`lianlog verify` after a crash exited {status:?}: {}", text(&stderr)));
            }
        }
        let present = self.check();
        // The operation's fate: all of it there, or none of it (then it is retried).
        let count =
            operation.records.iter().filter(|(kind, body)| present.contains_key(&record_key(kind, body))).count();
        if count == operation.records.len() {
            if !acked {
                self.stats.landed_unacknowledged += 1;
            }
            self.count_done(&operation);
        } else if count == 0 {
            if acked {
                self.fail(format!("operation {} was acknowledged but is not in the log", operation.id));
            }
            self.stats.retried += 1;
            self.current = Some(operation);
        } else if operation.batch.is_some_and(|batch| count % batch == 0) {
            // Whole batches from its start, and nothing after them: the rest is imported next.
            let prefix = operation
                .records
                .iter()
                .enumerate()
                .all(|(index, (kind, body))| present.contains_key(&record_key(kind, body)) == (index < count));
            if !prefix || acked {
                self.fail(format!(
                    "import {} in batches of {:?} is visible as {count} of its {} records, not as its first \
                     whole batches (acknowledged: {acked})",
                    operation.id,
                    operation.batch,
                    operation.records.len()
                ));
            }
            self.stats.batches_partly_in += 1;
            self.current = Some(Operation { records: operation.records[count..].to_vec(), ..operation });
        } else {
            self.fail(format!(
                "import {} is partly visible: {count} of its {} records are in the log (batches of {:?})",
                operation.id,
                operation.records.len(),
                operation.batch
            ));
        }
    }

    fn collect_notes(&mut self, stderr: &[u8]) {
        for line in text(stderr).lines() {
            if let Some(note) = line.strip_prefix("lianlog: ")
                && !note.starts_with("error")
            {
                if note.starts_with("cut ") || note.starts_with("an import was interrupted") {
                    self.stats.repairs_seen += 1;
                }
                if self.notes.len() < 20 {
                    self.notes.push(note.to_string());
                }
            }
        }
    }

    /// Every check after a crash. Returns the records present (record key → seq).
    fn check(&mut self) -> BTreeMap<String, u64> {
        // 1. The ledger opens (recovering what the crash left) and verifies, store included.
        let (report, stderr) = self.run_json(&["--json", "verify"]);
        self.collect_notes(stderr.as_bytes());
        if report["ok"] != true {
            self.fail(format!("verify after a crash: {report}"));
        }
        let entries = report["entries"].as_u64().unwrap_or(0);
        let head = report["head"].as_str().unwrap_or_default().to_string();
        let root = report["root"].as_str().unwrap_or_default().to_string();

        // 2. The log as exported: every line parses; the records are the ones sent, once each.
        let export = self.run_ok(&["export"]).stdout;
        let mut hashes = Vec::new();
        let mut present = BTreeMap::new();
        let mut by_operation: BTreeMap<usize, Vec<(usize, u64)>> = BTreeMap::new();
        for (seq, line) in export.split(|&b| b == b'\n').filter(|l| !l.is_empty()).enumerate() {
            let parsed = ParsedLine::parse(line).unwrap_or_else(|e| self.fail(format!("export line {seq}: {e}")));
            hashes.push(parsed.entry_hash.to_hex());
            if (seq as u64) < self.setup_entries {
                continue;
            }
            let record = &parsed.line.entry.record;
            let body = parsed.line.body().unwrap_or_else(|| self.fail(format!("seq {seq} has no body")));
            let key = record_key(&record.kind, body);
            let Some(&(operation, index)) = self.sent.get(&key) else {
                self.fail(format!("seq {seq} holds a record that was never sent: {} {body}", record.kind));
            };
            if let Some(first) = present.insert(key, seq as u64) {
                self.fail(format!("the record at seq {seq} is already at seq {first}: a duplicate"));
            }
            by_operation.entry(operation).or_default().push((index, seq as u64));
        }
        if hashes.len() as u64 != entries || hashes.last() != Some(&head) {
            self.fail(format!("the export has {} entries, verify said {entries} (head {head})", hashes.len()));
        }
        // An operation's records are contiguous and in order.
        for (operation, places) in &by_operation {
            for (n, (index, seq)) in places.iter().enumerate() {
                if *index != n || *seq != places[0].1 + n as u64 {
                    self.fail(format!("operation {operation}'s records are not contiguous and in order: {places:?}"));
                }
            }
        }

        // 3. Every acknowledged append and import is there, as printed.
        for ack in &self.acks {
            let ok = match ack {
                Ack::Append { seq, hash } => hashes.get(*seq as usize) == Some(hash),
                Ack::Import { first, last, head } => {
                    hashes.get(*last as usize) == Some(head)
                        && (*first..=*last).all(|seq| (seq as usize) < hashes.len())
                }
            };
            if !ok {
                self.fail(format!("acknowledged {ack:?} is not in the log as printed"));
            }
        }

        // 4. Derived data: a fresh replay equals the stored projections.
        self.run_ok(&["replay"]);
        // 5. `log` reads through the derived positions and agrees with the export.
        let from = self.rng.below(entries);
        let (listed, _) = self.run_json(&["--json", "log", "--from", &from.to_string(), "--limit", "8"]);
        for item in listed["items"].as_array().unwrap_or_else(|| self.fail("log --json printed no list")) {
            let seq = item["seq"].as_u64().unwrap_or(u64::MAX) as usize;
            if hashes.get(seq).map(String::as_str) != item["entry_hash"].as_str() {
                self.fail(format!("`lianlog log` disagrees with the export at seq {seq}"));
            }
        }

        // 6. Rebuilding the store from the log (on a copy, so that the original keeps the store
        //    that survived the crashes) gives the same head and root.
        let copy = self.dir.join("reindexed");
        let _ = std::fs::remove_dir_all(&copy);
        copy_dir(&self.ledger, &copy);
        let output =
            Command::new(BIN).arg("--ledger").arg(&copy).args(["--json", "reindex"]).output().expect("reindex");
        if !output.status.success() {
            self.fail(format!("reindex of a copy failed: {}", text(&output.stderr)));
        }
        let rebuilt: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
        if rebuilt["head"] != head.as_str() || rebuilt["root"] != root.as_str() || rebuilt["entries"] != entries {
            self.fail(format!("reindex gives {rebuilt}, verify gave entries {entries} head {head} root {root}"));
        }
        present
    }
}

fn run_setup(args: &[&str], dir: &Path) -> Output {
    let output = Command::new(BIN).current_dir(dir).args(args).output().expect("run lianlog");
    assert!(output.status.success(), "setup `lianlog {}`: {}", args.join(" "), text(&output.stderr));
    output
}

fn unique_dir(seed: u64) -> PathBuf {
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    let dir = std::env::temp_dir().join(format!("lianlog-crash-{seed}-{}-{stamp}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the test directory");
    dir
}

#[test]
fn killed_appends_and_imports_never_lose_acknowledged_records_or_show_half_an_import() {
    let soak = std::env::var("LIANLOG_SOAK_SECONDS").ok().and_then(|s| s.parse::<u64>().ok());
    let seed = std::env::var("LIANLOG_CRASH_SEED").ok().and_then(|s| s.parse::<u64>().ok()).unwrap_or(0x1a2b_3c4d);
    let (budget, target_kills, hard_limit) = match soak {
        Some(seconds) => (Duration::from_secs(seconds), u64::MAX, Duration::from_secs(seconds)),
        None => (Duration::from_secs(75), 220, Duration::from_secs(300)),
    };
    const MIN_KILLS: u64 = 200;

    let dir = unique_dir(seed);
    let ledger = dir.join("ledger");
    run_setup(&["key", "new", "admin.zhao", "--out", "admin.pem"], &dir);
    run_setup(&["key", "new", "officer.qian", "--out", "officer.pem"], &dir);
    let vkey = text(&run_setup(&["key", "show", "officer.pem"], &dir).stdout).trim().to_string();
    let ledger_arg = ledger.to_string_lossy().into_owned();
    run_setup(
        &[
            "--ledger",
            &ledger_arg,
            "init",
            "--origin",
            ORIGIN,
            "--key",
            "admin.pem",
            "--holder-name",
            "赵主任",
            "--holder-unit",
            "市纪委监委",
        ],
        &dir,
    );
    run_setup(
        &[
            "--ledger",
            &ledger_arg,
            "key",
            "grant",
            &vkey,
            "--role",
            "officer",
            "--holder-name",
            "钱干事",
            "--holder-unit",
            "第一监督检查室",
            "--key",
            "admin.pem",
        ],
        &dir,
    );

    let mut harness = Harness {
        officer: dir.join("officer.pem"),
        ledger,
        dir: dir.clone(),
        rng: Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1),
        seed,
        workload: Workload::new(seed),
        next_id: 0,
        current: None,
        acks: Vec::new(),
        sent: BTreeMap::new(),
        setup_entries: 2,
        typical: Duration::ZERO,
        stats: Stats::default(),
        notes: Vec::new(),
    };
    // Measure a typical run (median of a few, appends and imports) before killing any.
    let mut runs: Vec<Duration> = (0..7).map(|_| harness.run_unkilled()).collect();
    runs.sort();
    harness.typical = runs[runs.len() / 2];
    harness.check();

    let started = Instant::now();
    let mut recent: VecDeque<Duration> = VecDeque::new();
    loop {
        let elapsed = started.elapsed();
        let kills = harness.stats.kills;
        let done = match soak {
            Some(_) => elapsed >= budget,
            None => kills >= target_kills || (elapsed >= budget && kills >= MIN_KILLS),
        };
        if done {
            break;
        }
        if elapsed >= hard_limit {
            harness.fail(format!(
                "only {kills} kills in {:.0} s; at least {MIN_KILLS} are needed (the machine is too slow?)",
                elapsed.as_secs_f64()
            ));
        }
        // Now and then a run without a kill, to follow how long a run takes as the log grows.
        if harness.rng.chance(5) {
            recent.push_back(harness.run_unkilled());
            if recent.len() > 9 {
                recent.pop_front();
            }
            let mut sorted: Vec<Duration> = recent.iter().copied().collect();
            sorted.sort();
            harness.typical = sorted[sorted.len() / 2];
            continue;
        }
        harness.round();
    }
    harness.check();
    let stats = &harness.stats;
    eprintln!(
        "crash test (seed {seed}): {} kills of appends/imports and {} of recoveries in {:.1} s; typical run {:?}; {stats:?}",
        stats.kills,
        stats.recovery_kills,
        started.elapsed().as_secs_f64(),
        harness.typical
    );
    for note in &harness.notes {
        eprintln!("  recovery note: {note}");
    }
    assert!(stats.kills >= MIN_KILLS.min(target_kills), "{} kills", stats.kills);
    // The kills must have hit the interesting moments, not only process start-up.
    if soak.is_none() {
        assert!(stats.retried > 0, "no kill left an operation undone: {stats:?}");
        assert!(stats.batches_partly_in > 0, "no kill landed between the batches of an import: {stats:?}");
        assert!(
            stats.acked_then_killed + stats.landed_unacknowledged > 0,
            "no kill came after a durable write: {stats:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
