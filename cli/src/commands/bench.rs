//! `lianlog bench` (性能基准): runs [`lianlog_bench`] with this binary as the separate
//! process it measures (start-up, store opening, peak memory), and with `--serve` as the
//! `lianlog serve` process its clients measure; renders the figures.

use std::ffi::OsString;
use std::io::{BufRead as _, Read as _};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::Instant;

use anyhow::Result;
use lianlog_bench::{BenchOptions, ProcessRun, Processes};
use lianlog_ledger::Error;

use crate::args::BenchArgs;
use crate::io::print_json;
use crate::render;

pub fn run(args: BenchArgs, json_output: bool) -> Result<ExitCode> {
    let (dir, temporary) = match args.dir {
        Some(dir) => (dir, false),
        // In the current directory, not the system's temporary one: that is often a RAM disk,
        // where fsync costs nothing and the figures would describe no real ledger.
        None => (PathBuf::from(format!("lianlog-bench-{}", std::process::id())), true),
    };
    let options = BenchOptions { entries: args.entries, dir: dir.clone(), seed: args.seed };
    let mut children = ChildProcesses {
        exe: std::env::current_exe()?,
        started: Instant::now(),
        runs: 0,
        bar: render::Bar::new(json_output),
        server: None,
    };
    let result = if args.serve {
        lianlog_bench::server::run_server(&options, &mut children)
    } else {
        lianlog_bench::run(&options, &mut children)
    };
    // A server left by a failed run is stopped here at the latest (and on drop).
    let _ = children.stop_server();
    children.bar.finish();
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let report = result?;
    if json_output {
        print_json(&render::bench::report_json(&report));
    } else {
        render::bench::print_report(&report);
        if !temporary {
            println!("The ledger and its files are kept in {}.", dir.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Set for a child process of the benchmark: the file it writes its peak memory to when it ends.
/// (`ru_maxrss` from `wait4` cannot be used: Linux carries the high-water mark of the memory the
/// child shared with this large process before `exec` into it.)
const PEAK_MEMORY_FILE: &str = "LIANLOG_BENCH_PEAK_MEMORY_FILE";

/// In a child of the benchmark, write this process's peak resident memory (`VmHWM`, bytes).
pub fn write_peak_memory_if_asked() {
    let Some(path) = std::env::var_os(PEAK_MEMORY_FILE) else { return };
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
    if let Some(kib) = kib {
        let _ = std::fs::write(path, (kib * 1024).to_string());
    }
}

/// Runs this binary as a child, measuring its wall time, and its peak memory as it reports it.
struct ChildProcesses {
    exe: PathBuf,
    started: Instant,
    runs: u64,
    /// Where the phases and the import's progress are shown (only on a terminal, never with --json).
    bar: render::Bar,
    /// The `lianlog serve` child of `bench --server`, when it runs: the child, when it started,
    /// and the file its standard error goes to.
    server: Option<(Child, Instant, PathBuf)>,
}

impl Drop for ChildProcesses {
    fn drop(&mut self) {
        let _ = self.stop_server();
    }
}

/// The peak resident memory (`VmHWM`) of a running process, from /proc.
fn peak_memory_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib = status.lines().find_map(|line| line.strip_prefix("VmHWM:"))?;
    kib.trim().trim_end_matches("kB").trim().parse::<u64>().ok().map(|kib| kib * 1024)
}

impl Processes for ChildProcesses {
    fn run(&mut self, args: &[OsString]) -> lianlog_ledger::Result<ProcessRun> {
        self.runs += 1;
        let memory_file = std::env::temp_dir().join(format!("lianlog-bench-{}-{}.rss", std::process::id(), self.runs));
        let begun = Instant::now();
        let mut child = Command::new(&self.exe)
            .args(args)
            .env_remove("LIANLOG_LEDGER")
            .env(PEAK_MEMORY_FILE, &memory_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|err| Error::io("start", &self.exe, err))?;
        let mut errors = String::new();
        if let Some(mut stderr) = child.stderr.take() {
            // Read to the end (the child has exited or closed it) before reaping it.
            let _ = stderr.read_to_string(&mut errors);
        }
        let status = child.wait().map_err(|err| Error::io("wait for", &self.exe, err))?;
        let seconds = begun.elapsed().as_secs_f64();
        let reported = std::fs::read_to_string(&memory_file).ok().and_then(|text| text.trim().parse::<u64>().ok());
        let _ = std::fs::remove_file(&memory_file);
        if !status.success() {
            let command = args.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" ");
            return Err(Error::bad_input(format!(
                "`lianlog {command}` failed during the benchmark: {}",
                errors.trim()
            )));
        }
        let peak_rss_bytes = reported
            .ok_or_else(|| Error::bad_input("a benchmark child did not report its peak memory (is /proc mounted?)"))?;
        Ok(ProcessRun { seconds, peak_rss_bytes })
    }

    fn start_server(&mut self, args: &[OsString]) -> lianlog_ledger::Result<String> {
        self.stop_server()?;
        self.runs += 1;
        let errors = std::env::temp_dir().join(format!("lianlog-bench-{}-{}.err", std::process::id(), self.runs));
        let error_file = std::fs::File::create(&errors).map_err(|err| Error::io("create", &errors, err))?;
        let begun = Instant::now();
        let mut child = Command::new(&self.exe)
            .args(args)
            .env_remove("LIANLOG_LEDGER")
            .env_remove(PEAK_MEMORY_FILE)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(error_file)
            .spawn()
            .map_err(|err| Error::io("start", &self.exe, err))?;
        // The first line is `listening on ADDR` once it is bound (port 0: the one chosen).
        let mut first = String::new();
        if let Some(stdout) = child.stdout.take() {
            let _ = std::io::BufReader::new(stdout).read_line(&mut first);
        }
        let address = first.trim().strip_prefix("listening on ").map(str::to_string);
        self.server = Some((child, begun, errors.clone()));
        match address {
            Some(address) => Ok(format!("http://{address}")),
            None => {
                let _ = self.stop_server();
                let said = std::fs::read_to_string(&errors).unwrap_or_default();
                Err(Error::bad_input(format!("`lianlog serve` did not start during the benchmark: {}", said.trim())))
            }
        }
    }

    fn stop_server(&mut self) -> lianlog_ledger::Result<ProcessRun> {
        let Some((mut child, begun, errors)) = self.server.take() else {
            return Ok(ProcessRun { seconds: 0.0, peak_rss_bytes: 0 });
        };
        // Read before it ends: its high-water mark of resident memory so far (nothing is in
        // flight by now). Then SIGKILL, which loses no acknowledged append.
        let peak = peak_memory_of(child.id());
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_file(&errors);
        let peak_rss_bytes =
            peak.ok_or_else(|| Error::bad_input("cannot read the server's peak memory (is /proc mounted?)"))?;
        Ok(ProcessRun { seconds: begun.elapsed().as_secs_f64(), peak_rss_bytes })
    }

    fn stage(&mut self, what: &str) {
        self.bar.say(&format!("[{:7.1} s] {what}", self.started.elapsed().as_secs_f64()));
    }

    fn progress(&mut self, progress: lianlog_ledger::Progress) {
        self.bar.update(progress);
    }
}
