//! lianlog-bench: the benchmark behind `lianlog bench` (性能基准). It builds a fresh ledger of
//! generated records and measures every cost that matters to its users, beside the machine's own
//! limits measured first, in the same process, so that each figure can be read as a fraction of
//! what the hardware allows.
//!
//! What it guarantees: every figure is measured on this run; nothing is estimated or copied.
//! Latencies are reported as the median (p50) and p99 of many samples; rates are total work over
//! wall time. The records come from [`lianlog_workload::Workload`] (all kinds, Chinese text,
//! stories that pass every lifecycle rule), signed by three officers in turn. The ledger is driven
//! only through the public API of `lianlog-ledger`, as any program would drive it; this crate
//! never prints and never exits.
//!
//! Costs that only a separate process shows (start-up, opening the store, peak memory) are run
//! through [`Processes`], which the caller implements by starting its own binary: this crate
//! does not know the command line tool and never starts a process itself.
//!
//! [`server`] is `lianlog bench --serve`: a `lianlog serve` process (started through
//! [`Processes::start_server`]) measured from concurrent clients over loopback.

pub mod server;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use lianlog_ledger::archive::{self, ArchiveOptions, CreateOptions, Limits};
use lianlog_ledger::group::GroupCommit;
use lianlog_ledger::{BatchOptions, Draft, Error, Holder, KeyName, Ledger, Progress, Result, Role, SecretKey};
use lianlog_workload::Workload;

/// What to benchmark.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Records to import (the ledger also holds genesis and the grants).
    pub entries: u64,
    /// An empty (or missing) directory to build the ledger and its files in.
    pub dir: PathBuf,
    /// Seed of the generated records.
    pub seed: u64,
}

/// Records per batch while importing (each all or nothing and durable): large enough that the
/// store's work per batch is small beside the records' (batches of 10,000 cost 3.73 s of CPU per
/// 100,000 records, of 20,000 3.60 s), small enough that the batches signed ahead stay within
/// tens of MiB.
pub const IMPORT_BATCH: usize = 20_000;
/// Records generated before each run of batches ([`Ledger::append_in_batches`]): generating is
/// not counted in the import, and memory stays bounded whatever the number of records (about
/// 400 MB of drafts). A run's end drains the pipeline (its last batch is checked and written with
/// nothing signed beside it): runs of 250,000 rather than 100,000 made 1,000,000 records 1.5–2%
/// faster.
const IMPORT_RUN: usize = 250_000;
/// How long each machine limit is measured.
const LIMIT_TIME: Duration = Duration::from_millis(400);
/// How long the fsync rate is measured: the slowest and noisiest limit on virtual disks.
const FSYNC_TIME: Duration = Duration::from_millis(1500);
/// Single durable appends through the library.
const SINGLE_APPENDS: usize = 300;
/// Records appended through group commit, and the threads appending them.
const GROUP_APPENDS: usize = 4000;
const GROUP_THREADS: usize = 16;
/// Runs of one `lianlog append` process.
const APPEND_PROCESSES: usize = 15;
/// Lines left behind the derived store for `open_behind_store_ms`.
const BEHIND_STORE: usize = 1000;
/// Samples of each query and proof latency.
const LATENCY_SAMPLES: usize = 1000;
/// Records of the separate import whose peak memory is measured.
const IMPORT_PROCESS_RECORDS: u64 = 20_000;

/// Below this many entries an import takes a second or two and a verify or a replay a fraction of
/// one, and one slow moment of a shared machine moves its rate by a tenth: each is then run
/// [`SMALL_LEDGER_RUNS`] times and its median taken (once above it). The 100,000 is below
/// it: when it was measured once, one replay read 2.85 × one core's signing, three others 3.56-3.89 ×.
const SMALL_LEDGER: u64 = 200_000;
const SMALL_LEDGER_RUNS: usize = 5;

/// A separate run of the command line tool, as the caller started it.
#[derive(Debug, Clone, Copy)]
pub struct ProcessRun {
    /// Wall time of the run.
    pub seconds: f64,
    /// Peak resident memory of the process (`ru_maxrss`).
    pub peak_rss_bytes: u64,
}

/// What the library asks of its caller: running the tool and showing progress.
pub trait Processes {
    /// Run the tool with `args` to completion; an error if it cannot start or does not succeed.
    fn run(&mut self, args: &[OsString]) -> Result<ProcessRun>;
    /// A stage begins (for a progress line).
    fn stage(&mut self, what: &str);
    /// Progress within a long stage (`importing`: records imported of the records to import),
    /// for a bar; ignored unless the caller shows it.
    fn progress(&mut self, _progress: Progress) {}
    /// Start the tool with `args` as a long-running server (`lianlog serve …`) and return its
    /// base URL (`http://ADDR`, from the address it prints first). One server at a time.
    fn start_server(&mut self, _args: &[OsString]) -> Result<String> {
        Err(Error::bad_input("this caller of the benchmark cannot start a server"))
    }
    /// Stop the server [`Processes::start_server`] started; its wall time and peak resident
    /// memory. Called even when the measurement failed; without a server it does nothing.
    fn stop_server(&mut self) -> Result<ProcessRun> {
        Ok(ProcessRun { seconds: 0.0, peak_rss_bytes: 0 })
    }
}

/// One measured figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// Which part of the table: `limits`, `write`, `read`, `memory and disk`, `serve`.
    pub group: &'static str,
    /// Stable machine-readable name, with its unit (`verify_entries_per_s`).
    pub key: &'static str,
    /// What it is, for people.
    pub label: String,
    /// The measured value, in the unit `key` names.
    pub value: f64,
}

/// Every figure of one run.
#[derive(Debug, Clone)]
pub struct BenchReport {
    /// Records imported ([`BenchOptions::entries`]).
    pub entries: u64,
    /// Threads of rayon's pool (one per core unless `RAYON_NUM_THREADS` says otherwise).
    pub threads: usize,
    /// Wall time of the whole run.
    pub seconds: f64,
    /// Every figure, in the order measured.
    pub figures: Vec<Figure>,
}

impl BenchReport {
    /// The figure named `key`.
    pub fn get(&self, key: &str) -> Option<f64> {
        self.figures.iter().find(|f| f.key == key).map(|f| f.value)
    }

    pub(crate) fn add(&mut self, group: &'static str, key: &'static str, label: impl Into<String>, value: f64) {
        self.figures.push(Figure { group, key, label: label.into(), value });
    }
}

/// Run the whole benchmark. The ledger and its files stay in `options.dir`.
pub fn run(options: &BenchOptions, processes: &mut dyn Processes) -> Result<BenchReport> {
    let started = Instant::now();
    prepare_dir(&options.dir)?;
    let threads = rayon::current_num_threads();
    let mut report = BenchReport { entries: options.entries, threads, seconds: 0.0, figures: Vec::new() };

    let mut laps = Laps::new();
    processes.stage("machine limits");
    measure_limits(&options.dir, &mut report)?;
    laps.lap("wall_limits_s", "measuring the machine's limits");

    let setup = Setup::create(&options.dir)?;
    let ledger_dir = setup.ledger_dir.clone();
    let mut workload = Workload::new(options.seed);
    let mut people = PersonSample::default();

    processes.stage(&format!("importing {} records", options.entries));
    let mut ledger = Ledger::open(&ledger_dir)?;
    let first = import_generated(&mut ledger, &setup, &mut workload, &mut people, options.entries, &mut |done| {
        processes.progress(Progress { phase: "importing", done, total: options.entries })
    })?;
    let mut generate_time = first.generating;
    let mut import_times = vec![first.importing];
    // A small import takes a fraction of a second, where one slow moment of a shared machine
    // moves its rate by a tenth: the same records are imported again into fresh ledgers and the
    // median taken, as verify and replay are below.
    let import_runs = if options.entries < SMALL_LEDGER { SMALL_LEDGER_RUNS } else { 1 };
    for run in 2..=import_runs {
        processes.stage(&format!("importing the same records into a fresh ledger ({run} of {import_runs})"));
        let dir = options.dir.join(format!("import-again-{run}"));
        let again = Setup::create(&dir)?;
        let mut fresh = Ledger::open(&again.ledger_dir)?;
        let mut same_records = Workload::new(options.seed);
        let imported = import_generated(
            &mut fresh,
            &again,
            &mut same_records,
            &mut PersonSample::default(),
            options.entries,
            &mut |_| {},
        )?;
        generate_time += imported.generating;
        import_times.push(imported.importing);
        drop(fresh);
        std::fs::remove_dir_all(&dir).map_err(|err| Error::io("remove", &dir, err))?;
    }
    let import_time = median_by_seconds(import_times, Duration::as_secs_f64);
    let import_median_of = if import_runs > 1 { format!(", median of {import_runs}") } else { String::new() };
    report.add(
        "write",
        "import_records_per_s",
        format!("import (durable, batches of 20,000, the next signed while one is written{import_median_of})"),
        rate(options.entries, import_time),
    );
    let all_cores = report.get("sign_all_cores_per_s").unwrap_or(f64::NAN);
    report.add(
        "write",
        "import_to_sign_all_cores_ratio",
        "  ratio to all cores' signing rate",
        rate(options.entries, import_time) / all_cores,
    );
    laps.add("wall_generate_s", "generating the records (not counted in the import)", generate_time);
    laps.lap_less("wall_import_s", "importing (`Ledger::append_in_batches`)", generate_time);

    processes.stage("single durable appends");
    let drafts = next_drafts(&mut workload, SINGLE_APPENDS, &mut people);
    let begun = Instant::now();
    for (index, draft) in drafts.iter().enumerate() {
        ledger.append(draft, &setup.officers[index % setup.officers.len()])?;
    }
    let appends = rate(SINGLE_APPENDS as u64, begun.elapsed());
    report.add("write", "append_per_s", "single durable append (library)", appends);
    let fsyncs = report.get("fsync_per_s").unwrap_or(f64::NAN);
    report.add("write", "append_to_fsync_ratio", "  ratio to fsyncs/s", appends / fsyncs);

    processes.stage(&format!("group commit ({GROUP_THREADS} appending threads)"));
    let (ledger, grouped) = measure_group_commit(ledger, &setup)?;
    report.add(
        "write",
        "group_append_per_s",
        format!("durable appends/s, {GROUP_THREADS} threads through group commit"),
        grouped,
    );
    report.add("write", "group_append_to_fsync_ratio", "  ratio to fsyncs/s", grouped / fsyncs);
    let size = ledger.size();
    drop(ledger);

    laps.lap("wall_appends_s", "single and group-commit appends");
    processes.stage("`lianlog append` processes");
    let mut latencies = Vec::new();
    let mut append_peak_rss = 0;
    for (index, (kind, body)) in next_records(&mut workload, APPEND_PROCESSES, &mut people).into_iter().enumerate() {
        let body_path = options.dir.join(format!("append-{index}.json"));
        std::fs::write(&body_path, serde_json::to_vec(&body).unwrap_or_default())
            .map_err(|err| Error::io("write", &body_path, err))?;
        let run = processes.run(&[
            "append".into(),
            kind.into(),
            "--ledger".into(),
            ledger_dir.clone().into(),
            "--key".into(),
            setup.officer_key_file.clone().into(),
            "--body".into(),
            body_path.into(),
        ])?;
        latencies.push(Duration::from_secs_f64(run.seconds));
        append_peak_rss = append_peak_rss.max(run.peak_rss_bytes);
    }
    let (p50, p99) = percentiles(&mut latencies);
    report.add("write", "append_process_p50_ms", "one `lianlog append` process, p50", millis(p50));
    report.add("write", "append_process_p99_ms", "one `lianlog append` process, p99", millis(p99));

    processes.stage("opening the store");
    let mut opens = Vec::new();
    for _ in 0..5 {
        let begun = Instant::now();
        drop(Ledger::open(&ledger_dir)?);
        opens.push(begun.elapsed());
    }
    let (open_p50, _) = percentiles(&mut opens);
    report.add("read", "open_ms", "open the ledger (store and log), median of 5", millis(open_p50));

    laps.lap("wall_processes_s", "`lianlog append` processes and opens");
    processes.stage("verify (a `lianlog verify --log-only` process)");
    let total_entries = size + APPEND_PROCESSES as u64;
    let runs = if total_entries < SMALL_LEDGER { SMALL_LEDGER_RUNS } else { 1 };
    let median_of = if runs > 1 { format!(", median of {runs}") } else { String::new() };
    let verify = median_run(
        processes,
        &["verify".into(), "--log-only".into(), "--ledger".into(), ledger_dir.clone().into()],
        runs,
    )?;
    let verify_rate = total_entries as f64 / verify.seconds;
    report.add(
        "read",
        "verify_entries_per_s",
        format!("full verify of the log (`lianlog verify --log-only`{median_of})"),
        verify_rate,
    );
    let batch_limit = report.get("verify_batch_per_s").unwrap_or(f64::NAN);
    let strict_limit = report.get("verify_strict_per_s").unwrap_or(f64::NAN);
    report.add("read", "verify_to_batch_ratio", "  ratio to the batch-verify limit", verify_rate / batch_limit);
    report.add("read", "verify_to_strict_ratio", "  ratio to the strict-verify limit", verify_rate / strict_limit);

    laps.lap("wall_verify_s", "the `lianlog verify --log-only` process");
    // Replay as officers and auditors run it, a process of its own (its wall time: open, replay,
    // compare, exit), beside the replay through this process's handle below.
    processes.stage("replay (a `lianlog replay` process)");
    let replayed = median_run(processes, &["replay".into(), "--ledger".into(), ledger_dir.clone().into()], runs)?;
    let one_core = report.get("sign_one_core_per_s").unwrap_or(f64::NAN);
    let replay_process_rate = total_entries as f64 / replayed.seconds;
    report.add(
        "read",
        "replay_process_entries_per_s",
        format!("replay of projections (a `lianlog replay` process{median_of})"),
        replay_process_rate,
    );
    report.add(
        "read",
        "replay_process_to_sign_one_core_ratio",
        "  ratio to one core's signing rate",
        replay_process_rate / one_core,
    );
    let ledger = Ledger::open(&ledger_dir)?;
    processes.stage("replay of projections");
    let replays = (0..runs).map(|_| ledger.replay()).collect::<Result<Vec<_>>>()?;
    let replay = median_by_seconds(replays, |replay| replay.seconds);
    report.add(
        "read",
        "replay_entries_per_s",
        format!("replay of projections (`Ledger::replay` in this process{median_of})"),
        replay.entries as f64 / replay.seconds,
    );
    report.add(
        "read",
        "replay_to_sign_one_core_ratio",
        "  ratio to one core's signing rate",
        replay.entries as f64 / replay.seconds / one_core,
    );
    laps.lap("wall_replay_s", "replay: the `lianlog replay` process and `Ledger::replay`");

    processes.stage("queries and proofs");
    measure_latencies(&ledger, &people, options.seed, &mut report)?;

    laps.lap("wall_queries_s", "queries and proofs");
    processes.stage("snapshot create and verify");
    let log_key = ledger.log_key(&mut || Err(Error::key("the benchmark's log key is not encrypted")))?;
    let out_dir = options.dir.join("archives");
    let begun = Instant::now();
    let created =
        archive::create(&ledger, &log_key, &CreateOptions { out_dir, since: None, zstd_level: Some(3) }, &mut |_| {})?;
    let create_time = begun.elapsed();
    let entries_mb = created.entries_bytes as f64 / 1e6;
    report.add(
        "read",
        "snapshot_create_mb_per_s",
        "snapshot create (entries MB/s, zstd 3)",
        entries_mb / create_time.as_secs_f64(),
    );
    let begun = Instant::now();
    let verified = archive::verify(
        std::slice::from_ref(&created.path),
        &ArchiveOptions { pinned_log_key: Some(log_key.public().clone()), limits: Limits::default() },
        &mut |_| {},
    )?;
    let verify_time = begun.elapsed();
    if let Err(failure) = verified {
        return Err(Error::verification(format!("the benchmark's own archive does not verify: {failure}")));
    }
    report.add(
        "read",
        "snapshot_verify_mb_per_s",
        "snapshot verify (entries MB/s)",
        entries_mb / verify_time.as_secs_f64(),
    );
    report.add(
        "memory and disk",
        "archive_bytes_per_entry_byte",
        "archive bytes per entry byte",
        created.bytes as f64 / created.entries_bytes as f64,
    );
    // Snapshots check every entry as `verify` does: their rates over verify's, in entry bytes.
    let verify_mb_per_s = verify_rate * created.entries_bytes as f64 / 1e6 / (created.end - created.first_seq) as f64;
    report.add(
        "read",
        "snapshot_create_to_verify_ratio",
        "  snapshot create over verify (entry bytes/s)",
        entries_mb / create_time.as_secs_f64() / verify_mb_per_s,
    );
    report.add(
        "read",
        "snapshot_verify_to_verify_ratio",
        "  snapshot verify over verify (entry bytes/s)",
        entries_mb / verify_time.as_secs_f64() / verify_mb_per_s,
    );
    drop(ledger);
    laps.lap("wall_snapshot_s", "snapshot create and verify");

    report.add(
        "memory and disk",
        "verify_peak_rss_mib",
        "peak RSS of `lianlog verify --log-only`",
        mib(verify.peak_rss_bytes),
    );
    report.add(
        "memory and disk",
        "append_process_peak_rss_mib",
        "peak RSS of `lianlog append` (opening the store)",
        mib(append_peak_rss),
    );
    processes.stage("a `lianlog import` process (peak memory)");
    let import_rss = measure_import_process(options, &setup, processes)?;
    report.add(
        "memory and disk",
        "import_peak_rss_mib",
        format!("peak RSS of `lianlog import` of {IMPORT_PROCESS_RECORDS} records"),
        mib(import_rss),
    );
    laps.lap("wall_import_process_s", "the `lianlog import` process");
    let log_bytes = dir_bytes(&ledger_dir.join("log"))?;
    let all_bytes = dir_bytes(&ledger_dir)?;
    report.add(
        "memory and disk",
        "entry_bytes_per_entry",
        "stored line bytes per entry",
        log_bytes as f64 / total_entries as f64,
    );
    report.add(
        "memory and disk",
        "disk_bytes_per_entry_byte",
        "ledger bytes on disk per entry byte",
        all_bytes as f64 / log_bytes as f64,
    );

    processes.stage(&format!("opening with {BEHIND_STORE} lines behind the store"));
    let behind = measure_open_behind_store(&ledger_dir, &setup, &mut workload, &mut people)?;
    report.add(
        "read",
        "open_behind_store_ms",
        format!("open with {BEHIND_STORE} log lines the store has not seen (checked as `verify` checks, then applied)"),
        millis(behind),
    );
    report.add(
        "read",
        "unseen_lines_per_s",
        "  lines checked and applied per second on open",
        BEHIND_STORE as f64 / (behind.as_secs_f64() - open_p50.as_secs_f64()).max(1e-9),
    );
    laps.lap("wall_behind_store_s", "disk use and opening behind the store");
    laps.report(&mut report);
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Where the wall time of a run goes, phase by phase: what to cut when a run takes too long.
struct Laps {
    last: Instant,
    figures: Vec<(&'static str, &'static str, Duration)>,
}

impl Laps {
    fn new() -> Laps {
        Laps { last: Instant::now(), figures: Vec::new() }
    }

    /// The phase that ends now took the time since the last lap.
    fn lap(&mut self, key: &'static str, label: &'static str) {
        self.lap_less(key, label, Duration::ZERO);
    }

    /// Like [`Laps::lap`], less `other`, a part of the lap given as a phase of its own.
    fn lap_less(&mut self, key: &'static str, label: &'static str, other: Duration) {
        let now = Instant::now();
        self.figures.push((key, label, now.duration_since(self.last).saturating_sub(other)));
        self.last = now;
    }

    fn add(&mut self, key: &'static str, label: &'static str, time: Duration) {
        self.figures.push((key, label, time));
    }

    fn report(self, report: &mut BenchReport) {
        for (key, label, time) in self.figures {
            report.add("wall time", key, label, time.as_secs_f64());
        }
    }
}

/// How long `Ledger::open` takes when the log holds `BEHIND_STORE` genuine lines that the derived
/// store has not applied (what a crash between the log's `sync_data` and the store's update
/// leaves, at a much larger scale): the store is copied aside, the records appended, and the old
/// store put back. Each unseen line is checked as `verify` checks it before it is applied.
fn measure_open_behind_store(
    ledger_dir: &Path,
    setup: &Setup,
    workload: &mut Workload,
    people: &mut PersonSample,
) -> Result<Duration> {
    let index = lianlog_ledger::store_dir(ledger_dir);
    let saved = ledger_dir.with_extension("index-before");
    copy_tree(&index, &saved)?;
    let mut ledger = Ledger::open(ledger_dir)?;
    ledger.append_batch(&next_drafts(workload, BEHIND_STORE, people), &setup.officers[0])?;
    drop(ledger);
    std::fs::remove_dir_all(&index).map_err(|err| Error::io("remove", &index, err))?;
    std::fs::rename(&saved, &index).map_err(|err| Error::io("rename", &saved, err))?;
    let begun = Instant::now();
    let ledger = Ledger::open(ledger_dir)?;
    let time = begun.elapsed();
    if !ledger.notes().is_empty() {
        return Err(Error::verification(format!("the store was not merely behind: {}", ledger.notes().join("; "))));
    }
    Ok(time)
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).map_err(|err| Error::io("create", to, err))?;
    for item in std::fs::read_dir(from).map_err(|err| Error::io("read", from, err))? {
        let item = item.map_err(|err| Error::io("read", from, err))?;
        let (source, target) = (item.path(), to.join(item.file_name()));
        if item.file_type().map_err(|err| Error::io("inspect", &source, err))?.is_dir() {
            copy_tree(&source, &target)?;
        } else {
            std::fs::copy(&source, &target).map_err(|err| Error::io("copy", &source, err))?;
        }
    }
    Ok(())
}

pub(crate) fn prepare_dir(dir: &Path) -> Result<()> {
    match std::fs::read_dir(dir) {
        Ok(mut items) => {
            if items.next().is_some() {
                return Err(Error::bad_input(format!(
                    "{}: the benchmark needs an empty directory (it builds a ledger there); give a new one",
                    dir.display()
                )));
            }
            Ok(())
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(|err| Error::io("create", dir, err))
        }
        Err(err) => Err(Error::io("read", dir, err)),
    }
}

/// The ledger, its admin and officers, and an officer's key file for the separate processes.
struct Setup {
    ledger_dir: PathBuf,
    admin: SecretKey,
    officers: Vec<Arc<SecretKey>>,
    officer_key_file: PathBuf,
}

impl Setup {
    fn create(dir: &Path) -> Result<Setup> {
        let name = |text: &str| KeyName::parse(text).map_err(|e| Error::bad_input(e.to_string()));
        let admin = SecretKey::generate(name("admin.bench")?)?;
        let officers = ["officer.qian", "officer.sun", "officer.li"]
            .iter()
            .map(|n| SecretKey::generate(name(n)?).map(Arc::new))
            .collect::<Result<Vec<_>>>()?;
        let ledger_dir = dir.join("ledger");
        let holder = |person: &str, unit: &str| Holder { name: person.into(), unit: unit.into(), title: None };
        let mut ledger = Ledger::init(
            &ledger_dir,
            &name("bench.example.gov.cn/accountability")?,
            &admin,
            holder("赵主任", "市纪委监委"),
        )?;
        for (officer, person) in officers.iter().zip(["钱干事", "孙干事", "李干事"]) {
            ledger.grant(&officer.public().vkey(), &[Role::Officer], &holder(person, "第一监督检查室"), &admin)?;
        }
        let officer_key_file = dir.join("officer.pem");
        officers[0].write_new_file(&officer_key_file)?;
        Ok(Setup { ledger_dir, admin, officers, officer_key_file })
    }
}

/// The time of an import and of generating its records (not counted in it).
struct Imported {
    importing: Duration,
    generating: Duration,
}

/// Import `entries` records of `workload` into `ledger` as `lianlog import --batch 20000` does
/// (`Ledger::append_in_batches`, then `settle_after_import`), generated [`IMPORT_RUN`] at a time
/// and signed by `setup`'s officers in turn, reporting the records imported after each run.
fn import_generated(
    ledger: &mut Ledger,
    setup: &Setup,
    workload: &mut Workload,
    people: &mut PersonSample,
    entries: u64,
    progress: &mut dyn FnMut(u64),
) -> Result<Imported> {
    let mut importing = Duration::ZERO;
    let mut generating = Duration::ZERO;
    let mut remaining = entries;
    let mut author = 0;
    while remaining > 0 {
        let count = remaining.min(IMPORT_RUN as u64) as usize;
        let begun = Instant::now();
        let drafts = next_drafts(workload, count, people);
        generating += begun.elapsed();
        let begun = Instant::now();
        let batches = BatchOptions { records_per_batch: IMPORT_BATCH };
        let run =
            ledger.append_in_batches(&drafts, &setup.officers[author % setup.officers.len()], batches, &mut |_| {});
        if let Some(stopped) = run.stopped {
            return Err(stopped.error);
        }
        importing += begun.elapsed();
        author += 1;
        remaining -= count as u64;
        progress(entries - remaining);
    }
    // As `lianlog import` ends: the compaction the next appends would otherwise wait for.
    let begun = Instant::now();
    ledger.settle_after_import();
    importing += begun.elapsed();
    Ok(Imported { importing, generating })
}

/// Person ids seen in the generated records, to query dossiers of people who exist.
#[derive(Default)]
pub(crate) struct PersonSample {
    ids: Vec<String>,
}

impl PersonSample {
    const MOST: usize = 4096;

    fn collect(&mut self, value: &Value) {
        match value {
            Value::Object(members) => {
                for (name, member) in members {
                    match member {
                        Value::String(id) if name == "id" && self.ids.len() < Self::MOST => self.ids.push(id.clone()),
                        _ => self.collect(member),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| self.collect(item)),
            _ => {}
        }
    }
}

fn next_records(workload: &mut Workload, count: usize, people: &mut PersonSample) -> Vec<(String, Value)> {
    workload
        .by_ref()
        .take(count)
        .map(|(kind, body)| {
            people.collect(&body);
            (kind.to_string(), body)
        })
        .collect()
}

pub(crate) fn next_drafts(workload: &mut Workload, count: usize, people: &mut PersonSample) -> Vec<Draft> {
    next_records(workload, count, people).into_iter().map(|(kind, body)| Draft::new(kind, body)).collect()
}

/// Appends/s of [`GROUP_THREADS`] threads appending at once through [`GroupCommit`], each
/// answered after the `sync_data` that covers its record. The records are interviews, which
/// depend on no other record, so that any order is valid.
fn measure_group_commit(ledger: Ledger, setup: &Setup) -> Result<(Ledger, f64)> {
    let group = GroupCommit::start(ledger);
    let begun = Instant::now();
    let results: Vec<Result<()>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..GROUP_THREADS)
            .map(|thread| {
                let appender = group.appender();
                let key = setup.officers[thread % setup.officers.len()].clone();
                scope.spawn(move || -> Result<()> {
                    for n in 0..GROUP_APPENDS / GROUP_THREADS {
                        let body = serde_json::json!({
                            "interview_type": "reminder",
                            "subjects": [{"id": format!("P-G{thread:02}{n:05}"), "name": "张某", "unit": "市住建局"}],
                            "interviewers": [{"id": "P-0101", "name": "钱干事", "unit": "第一监督检查室"}],
                            "held_on": "2025-03-10",
                            "reason": "提醒谈话（组提交测试）",
                        });
                        appender.append(Draft::new("interview", body), key.clone())?;
                    }
                    Ok(())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap_or_else(|_| Err(Error::bad_input("an appending thread panicked"))))
            .collect()
    });
    let elapsed = begun.elapsed();
    let ledger = group.finish()?;
    results.into_iter().collect::<Result<Vec<()>>>()?;
    Ok((ledger, rate((GROUP_APPENDS / GROUP_THREADS * GROUP_THREADS) as u64, elapsed)))
}

/// The machine's limits, each run for [`LIMIT_TIME`]: what the ledger's work is made of. The
/// signing and strict-verify limits, which the targets are ratios to, are each the median of
/// [`LIMIT_WINDOWS`] such runs.
pub(crate) fn measure_limits(dir: &Path, report: &mut BenchReport) -> Result<()> {
    use ed25519_dalek::{Signer as _, SigningKey};
    use sha2::Digest as _;

    let threads = rayon::current_num_threads();
    // A message the size of what lianlog signs (a record's note text).
    let message = vec![b'r'; 300];
    let key = SigningKey::from_bytes(&[7; 32]);
    let one_core = median_of_windows(|| {
        count_for(LIMIT_TIME, || {
            std::hint::black_box(key.sign(&message));
        })
    });
    report.add("limits", "sign_one_core_per_s", "Ed25519 signatures/s, one core", one_core);
    let all_cores = median_of_windows(|| {
        on_all_cores(|| {
            count_for(LIMIT_TIME, || {
                std::hint::black_box(key.sign(&message));
            })
        })
    });
    report.add("limits", "sign_all_cores_per_s", format!("Ed25519 signatures/s, all {threads} cores"), all_cores);

    let keys: Vec<SigningKey> = (0..64u8).map(|i| SigningKey::from_bytes(&[i.wrapping_add(1); 32])).collect();
    let messages: Vec<Vec<u8>> = (0..64u8).map(|i| vec![i; 300]).collect();
    let signatures: Vec<ed25519_dalek::Signature> = keys.iter().zip(&messages).map(|(k, m)| k.sign(m)).collect();
    let verifying: Vec<ed25519_dalek::VerifyingKey> = keys.iter().map(|k| k.verifying_key()).collect();
    let strict = median_of_windows(|| {
        on_all_cores(|| {
            let mut index = 0;
            count_for(LIMIT_TIME, || {
                let i = index % 64;
                index += 1;
                let ok = verifying[i].verify_strict(&messages[i], &signatures[i]).is_ok();
                std::hint::black_box(ok);
            })
        })
    });
    report.add("limits", "verify_strict_per_s", format!("Ed25519 verify_strict/s, all {threads} cores"), strict);
    let message_refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    let batches = on_all_cores(|| {
        count_for(LIMIT_TIME, || {
            let ok = ed25519_dalek::verify_batch(&message_refs, &signatures, &verifying).is_ok();
            std::hint::black_box(ok);
        })
    });
    report.add(
        "limits",
        "verify_batch_per_s",
        format!("Ed25519 batch verifications/s (64 per batch), all {threads} cores"),
        batches * 64.0,
    );
    // The batch that would provably equal verify_strict (docs/ARCHITECTURE.md): every R decoded,
    // checked canonical and torsion-free first. Measured to show what it would save.
    let checked_batches = on_all_cores(|| {
        count_for(LIMIT_TIME, || {
            let all_r_sound = signatures.iter().all(|signature| {
                let r_bytes = signature.r_bytes();
                ed25519_dalek::VerifyingKey::from_bytes(r_bytes).is_ok_and(|r| {
                    let point = r.to_edwards();
                    point.is_torsion_free() && point.compress().as_bytes() == r_bytes
                })
            });
            let ok = all_r_sound && ed25519_dalek::verify_batch(&message_refs, &signatures, &verifying).is_ok();
            std::hint::black_box(ok);
        })
    });
    report.add(
        "limits",
        "verify_batch_checked_per_s",
        format!("  batch with every R checked torsion-free (= strict), all {threads} cores"),
        checked_batches * 64.0,
    );

    let block = vec![0x5a_u8; 1 << 20];
    let hashes = count_for(LIMIT_TIME, || {
        std::hint::black_box(sha2::Sha256::digest(&block));
    });
    report.add("limits", "sha256_mb_per_s", "SHA-256 MB/s, one core", hashes * (1 << 20) as f64 / 1e6);

    let path = dir.join("fsync-probe");
    let mut file = std::fs::File::create(&path).map_err(|err| Error::io("create", &path, err))?;
    let line = vec![b'x'; 900];
    let mut failed = None;
    let fsyncs = count_for(FSYNC_TIME, || {
        use std::io::Write as _;
        if let Err(err) = file.write_all(&line).and_then(|()| file.sync_data()) {
            failed.get_or_insert(err);
        }
    });
    if let Some(err) = failed {
        return Err(Error::io("write and sync", &path, err));
    }
    drop(file);
    let _ = std::fs::remove_file(&path);
    report.add("limits", "fsync_per_s", "fsyncs/s on the ledger's disk (900-byte appends)", fsyncs);
    Ok(())
}

/// How many times `work` runs per second, over at least `time`.
fn count_for(time: Duration, mut work: impl FnMut()) -> f64 {
    let begun = Instant::now();
    let mut count = 0u64;
    loop {
        for _ in 0..8 {
            work();
        }
        count += 8;
        let elapsed = begun.elapsed();
        if elapsed >= time {
            return count as f64 / elapsed.as_secs_f64();
        }
    }
}

/// Windows of [`LIMIT_TIME`] a limit that the targets are ratios to is measured in.
const LIMIT_WINDOWS: usize = 3;

/// The median of [`LIMIT_WINDOWS`] rates measured one after another: a slow moment of a shared
/// machine during one window then moves neither the limit nor every ratio to it (one bench's
/// one-core signing limit read 42,455/s where the runs beside it read 52,652-53,811/s).
fn median_of_windows(mut measure: impl FnMut() -> f64) -> f64 {
    let mut rates: Vec<f64> = (0..LIMIT_WINDOWS).map(|_| measure()).collect();
    rates.sort_by(f64::total_cmp);
    rates[LIMIT_WINDOWS / 2]
}

/// The sum of a rate measured on every rayon thread at once.
fn on_all_cores(measure: impl Fn() -> f64 + Sync) -> f64 {
    rayon::broadcast(|_| measure()).into_iter().sum()
}

fn measure_latencies(ledger: &Ledger, people: &PersonSample, seed: u64, report: &mut BenchReport) -> Result<()> {
    let mut random = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move |bound: u64| {
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        random % bound.max(1)
    };
    let size = ledger.size();
    let mut dossiers = Vec::with_capacity(LATENCY_SAMPLES);
    let mut per_record = Vec::with_capacity(LATENCY_SAMPLES);
    let mut found = 0usize;
    for _ in 0..LATENCY_SAMPLES {
        let id = people.ids.get(next(people.ids.len() as u64) as usize).map(String::as_str).unwrap_or("P-0000");
        let begun = Instant::now();
        let records = ledger.dossier(id)?.len();
        let elapsed = begun.elapsed();
        found += records;
        dossiers.push(elapsed);
        per_record.push(elapsed / u32::try_from(records.max(1)).unwrap_or(u32::MAX));
    }
    let (p50, p99) = percentiles(&mut dossiers);
    report.add("read", "dossier_p50_ms", "dossier query (廉政档案), p50", millis(p50));
    report.add("read", "dossier_p99_ms", "dossier query (廉政档案), p99", millis(p99));
    report.add("read", "dossier_records_mean", "  records per dossier, mean", found as f64 / LATENCY_SAMPLES as f64);
    // The generated people appear in more records as the ledger grows, so a dossier's cost is
    // also given per record it returns: that is what must not grow with the ledger.
    let (p50, p99) = percentiles(&mut per_record);
    report.add("read", "dossier_per_record_p50_ms", "  dossier time per record returned, p50", millis(p50));
    report.add("read", "dossier_per_record_p99_ms", "  dossier time per record returned, p99", millis(p99));

    // Integrity opinions (廉政意见): the dossier, each decision's state and influence period, the
    // conclusion and the text; the receipts of what it cites are inclusion proofs (below).
    let mut opinions = Vec::with_capacity(LATENCY_SAMPLES);
    let on =
        lianlog_ledger::Date::parse("2025-12-31").unwrap_or_else(|| lianlog_ledger::Timestamp::now().date_in_china());
    for _ in 0..LATENCY_SAMPLES {
        let id = people.ids.get(next(people.ids.len() as u64) as usize).map(String::as_str).unwrap_or("P-0000");
        let request = lianlog_ledger::opinion::OpinionRequest {
            person: id.to_string(),
            purpose: "拟提拔任用".into(),
            requested_by: "市委组织部".into(),
            as_of: on,
        };
        let begun = Instant::now();
        std::hint::black_box(lianlog_ledger::opinion::draft(&ledger.queries(), &request)?);
        opinions.push(begun.elapsed());
    }
    let (p50, p99) = percentiles(&mut opinions);
    report.add("read", "opinion_draft_p50_ms", "integrity opinion draft (廉政意见), p50", millis(p50));
    report.add("read", "opinion_draft_p99_ms", "integrity opinion draft (廉政意见), p99", millis(p99));

    let mut inclusions = Vec::with_capacity(LATENCY_SAMPLES);
    let mut consistencies = Vec::with_capacity(LATENCY_SAMPLES);
    for _ in 0..LATENCY_SAMPLES {
        let tree = 1 + next(size);
        let index = next(tree);
        let begun = Instant::now();
        std::hint::black_box(ledger.inclusion_proof(index, tree)?);
        inclusions.push(begun.elapsed());
        let old = 1 + next(tree);
        let begun = Instant::now();
        std::hint::black_box(ledger.consistency_proof(old, tree)?);
        consistencies.push(begun.elapsed());
    }
    let (p50, p99) = percentiles(&mut inclusions);
    report.add("read", "inclusion_proof_p50_ms", "inclusion proof, p50", millis(p50));
    report.add("read", "inclusion_proof_p99_ms", "inclusion proof, p99", millis(p99));
    let (p50, p99) = percentiles(&mut consistencies);
    report.add("read", "consistency_proof_p50_ms", "consistency proof, p50", millis(p50));
    report.add("read", "consistency_proof_p99_ms", "consistency proof, p99", millis(p99));
    Ok(())
}

/// Peak memory of a `lianlog import` of generated records into a second, fresh ledger.
fn measure_import_process(options: &BenchOptions, setup: &Setup, processes: &mut dyn Processes) -> Result<u64> {
    let records = options.entries.clamp(1, IMPORT_PROCESS_RECORDS);
    let path = options.dir.join("import.jsonl");
    let mut text = Vec::new();
    for (kind, body) in Workload::new(options.seed.wrapping_add(1)).take(records as usize) {
        text.extend_from_slice(serde_json::json!({"kind": kind, "body": body}).to_string().as_bytes());
        text.push(b'\n');
    }
    std::fs::write(&path, &text).map_err(|err| Error::io("write", &path, err))?;
    let second = options.dir.join("import-ledger");
    let holder = Holder { name: "赵主任".into(), unit: "市纪委监委".into(), title: None };
    let name = KeyName::parse("bench.example.gov.cn/import").map_err(|e| Error::bad_input(e.to_string()))?;
    let mut ledger = Ledger::init(&second, &name, &setup.admin, holder.clone())?;
    ledger.grant(&setup.officers[0].public().vkey(), &[Role::Officer], &holder, &setup.admin)?;
    drop(ledger);
    let run = processes.run(&[
        "import".into(),
        path.into(),
        "--ledger".into(),
        second.into(),
        "--key".into(),
        setup.officer_key_file.clone().into(),
    ])?;
    Ok(run.peak_rss_bytes)
}

fn dir_bytes(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for item in std::fs::read_dir(dir).map_err(|err| Error::io("read", dir, err))? {
        let item = item.map_err(|err| Error::io("read", dir, err))?;
        let meta = item.metadata().map_err(|err| Error::io("inspect", item.path(), err))?;
        total += if meta.is_dir() { dir_bytes(&item.path())? } else { meta.len() };
    }
    Ok(total)
}

/// The median and the 99th percentile (nearest rank).
/// The run of `args` with the median wall time of `runs` runs (an odd number), with the highest
/// peak memory of them all.
fn median_run(processes: &mut dyn Processes, args: &[OsString], runs: usize) -> Result<ProcessRun> {
    let all = (0..runs.max(1)).map(|_| processes.run(args)).collect::<Result<Vec<ProcessRun>>>()?;
    let peak_rss_bytes = all.iter().map(|run| run.peak_rss_bytes).max().unwrap_or(0);
    Ok(ProcessRun { seconds: median_by_seconds(all, |run| run.seconds).seconds, peak_rss_bytes })
}

/// The run with the median of `seconds` among `runs` (not empty; the upper middle of an even
/// number).
fn median_by_seconds<T>(mut runs: Vec<T>, seconds: impl Fn(&T) -> f64) -> T {
    runs.sort_by(|a, b| seconds(a).total_cmp(&seconds(b)));
    let middle = runs.len() / 2;
    runs.swap_remove(middle)
}

pub(crate) fn percentiles(samples: &mut [Duration]) -> (Duration, Duration) {
    if samples.is_empty() {
        return (Duration::ZERO, Duration::ZERO);
    }
    samples.sort_unstable();
    let rank = |p: usize| samples[((samples.len() * p).div_ceil(100)).clamp(1, samples.len()) - 1];
    (rank(50), rank(99))
}

pub(crate) fn rate(count: u64, time: Duration) -> f64 {
    count as f64 / time.as_secs_f64()
}

pub(crate) fn millis(time: Duration) -> f64 {
    time.as_secs_f64() * 1e3
}

pub(crate) fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs with scripted wall times and peak memories, in turn.
    struct Scripted(Vec<(f64, u64)>);

    impl Processes for Scripted {
        fn run(&mut self, _args: &[OsString]) -> Result<ProcessRun> {
            let (seconds, peak_rss_bytes) = self.0.remove(0);
            Ok(ProcessRun { seconds, peak_rss_bytes })
        }
        fn stage(&mut self, _what: &str) {}
    }

    #[test]
    fn a_repeated_run_counts_its_median_time_and_its_highest_memory() {
        let mut runs = Scripted(vec![(0.30, 5), (0.20, 9), (0.90, 1), (0.25, 2), (0.21, 3)]);
        let median = median_run(&mut runs, &[], 5).unwrap();
        assert_eq!((median.seconds, median.peak_rss_bytes), (0.25, 9));
        assert!(runs.0.is_empty(), "all five were run");
        let mut once = Scripted(vec![(0.4, 7), (0.1, 1)]);
        let single = median_run(&mut once, &[], 1).unwrap();
        assert_eq!((single.seconds, single.peak_rss_bytes, once.0.len()), (0.4, 7, 1));
    }

    /// A limit is the median of its windows: one slow window (here the second) moves it not.
    #[test]
    fn a_limit_is_the_median_of_its_windows() {
        let mut rates = vec![52_000.0, 41_000.0, 53_000.0].into_iter();
        let limit = median_of_windows(|| rates.next().unwrap_or(f64::NAN));
        assert_eq!(limit, 52_000.0);
        assert_eq!(rates.len(), 0, "every window was measured");
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut samples: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        assert_eq!(percentiles(&mut samples), (Duration::from_millis(50), Duration::from_millis(99)));
        let mut one = vec![Duration::from_millis(3)];
        assert_eq!(percentiles(&mut one), (Duration::from_millis(3), Duration::from_millis(3)));
    }

    #[test]
    fn person_sample_finds_ids_at_any_depth() {
        let mut people = PersonSample::default();
        people.collect(&serde_json::json!({"subjects": [{"id": "P-1", "name": "张某"}], "x": {"y": {"id": "P-2"}}}));
        assert_eq!(people.ids, vec!["P-1", "P-2"]);
    }
}
