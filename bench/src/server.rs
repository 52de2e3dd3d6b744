//! `lianlog bench --serve` (服务性能): a served ledger measured from its clients, beside the
//! machine's limits measured in the same run.
//!
//! What it guarantees: every figure is measured on this run over loopback HTTP against a real
//! `lianlog serve` process, started and stopped by the caller through [`Processes::start_server`]
//! and [`Processes::stop_server`] (this crate never starts a process). Each client is its own
//! officer with its own key: it signs its records itself ([`Submission::sign`], on the client
//! side, as `lianlog append --server` does) and sends them one per request through
//! [`lianlog_remote`], which checks every receipt; an append's latency runs from signing to the
//! checked receipt. Records per `sync_data` are the server's own counts (`/metrics`: appends over
//! groups, one `sync_data` per group). Nothing here prints or exits.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lianlog_ledger::note::Note;
use lianlog_ledger::tiles::Tile;
use lianlog_ledger::{Checkpoint, Draft, Error, Holder, KeyName, Ledger, Progress, Result, Role, SecretKey};
use lianlog_ledger::{Submission, Timestamp};
use lianlog_remote::Client;
use lianlog_workload::Workload;

use crate::{
    BenchOptions, BenchReport, IMPORT_BATCH, PersonSample, Processes, measure_limits, mib, millis, next_drafts,
    percentiles, prepare_dir, rate,
};

/// The numbers of concurrent clients measured, each with its own officer key.
pub const CLIENTS: [usize; 3] = [1, 16, 64];
/// Clients reading tiles at once (keep-alive connections), and how long each read rate is measured.
const TILE_READERS: usize = 4;
const TILE_TIME: Duration = Duration::from_millis(1000);

/// Keys of the figures of one level of clients: appends/s, p50, p99, records per `sync_data`.
const LEVEL_KEYS: [[&str; 4]; 3] = [
    ["serve_c1_append_per_s", "serve_c1_p50_ms", "serve_c1_p99_ms", "serve_c1_records_per_sync"],
    ["serve_c16_append_per_s", "serve_c16_p50_ms", "serve_c16_p99_ms", "serve_c16_records_per_sync"],
    ["serve_c64_append_per_s", "serve_c64_p50_ms", "serve_c64_p99_ms", "serve_c64_records_per_sync"],
];

/// Appends sent at each level of clients: a tenth of the records imported, at least 4 per client,
/// shared evenly among the clients.
pub fn appends_at(entries: u64, clients: usize) -> usize {
    let wanted = usize::try_from(entries.div_ceil(10)).unwrap_or(usize::MAX).max(clients * 4);
    wanted.div_ceil(clients) * clients
}

/// Run the serving benchmark: machine limits, a ledger of `options.entries` generated records
/// imported through the library, then `lianlog serve` on it and its clients over loopback.
pub fn run_server(options: &BenchOptions, processes: &mut dyn Processes) -> Result<BenchReport> {
    let started = Instant::now();
    prepare_dir(&options.dir)?;
    let threads = rayon::current_num_threads();
    let mut report = BenchReport { entries: options.entries, threads, seconds: 0.0, figures: Vec::new() };

    processes.stage("machine limits");
    measure_limits(&options.dir, &mut report)?;

    processes.stage(&format!("a ledger with {} officers, importing {} records", CLIENTS[2], options.entries));
    let (ledger_dir, officers) = create_ledger(&options.dir, CLIENTS[2])?;
    import(&ledger_dir, &officers, options, processes)?;

    processes.stage("starting `lianlog serve`");
    let ledger_arg = ledger_dir.clone().into_os_string();
    let url = processes.start_server(&[
        "serve".into(),
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--ledger".into(),
        ledger_arg,
        "--public-entries".into(),
        // Every client's request is in flight at once; none must be refused as Busy.
        "--max-in-flight".into(),
        "1024".into(),
    ])?;
    let measured = measure_serving(&url, &officers, options, processes, &mut report);
    // Stopped whatever happened, so that no server outlives the benchmark.
    let stopped = processes.stop_server();
    measured?;
    let server = stopped?;
    report.add("serve", "serve_peak_rss_mib", "peak RSS of the `lianlog serve` process", mib(server.peak_rss_bytes));
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

fn measure_serving(
    url: &str,
    officers: &[Arc<SecretKey>],
    options: &BenchOptions,
    processes: &mut dyn Processes,
    report: &mut BenchReport,
) -> Result<()> {
    let probe = Client::new(url)?;
    let origin = lianlog_remote::append::origin(&probe)?;
    let fsyncs = report.get("fsync_per_s").unwrap_or(f64::NAN);
    let strict = report.get("verify_strict_per_s").unwrap_or(f64::NAN);
    for (level, clients) in CLIENTS.into_iter().enumerate() {
        let appends = appends_at(options.entries, clients);
        processes.stage(&format!("{clients} client(s) appending {appends} records over HTTP"));
        let before = server_counts(&probe)?;
        let begun = Instant::now();
        let mut latencies = append_concurrently(url, &origin, &officers[..clients], appends / clients, level)?;
        let elapsed = begun.elapsed();
        let after = server_counts(&probe)?;
        let (p50, p99) = percentiles(&mut latencies);
        let [per_s, p50_key, p99_key, per_sync] = LEVEL_KEYS[level];
        let appended = rate(appends as u64, elapsed);
        report.add("serve", per_s, format!("{clients} client(s): appends/s (signed by each client)"), appended);
        report.add("serve", p50_key, format!("  {clients} client(s): append latency p50"), millis(p50));
        report.add("serve", p99_key, format!("  {clients} client(s): append latency p99"), millis(p99));
        let groups = after.1.saturating_sub(before.1).max(1);
        report.add(
            "serve",
            per_sync,
            format!("  {clients} client(s): records per sync_data (server's /metrics)"),
            after.0.saturating_sub(before.0) as f64 / groups as f64,
        );
        if level == 0 {
            let budget = 1e3 / fsyncs + 3.0;
            report.add(
                "serve",
                "serve_c1_p50_to_budget_ratio",
                "  1 client's p50 ÷ (one fsync + 3 ms)",
                millis(p50) / budget,
            );
        }
        if level == CLIENTS.len() - 1 {
            report.add("serve", "serve_c64_to_fsync_ratio", "  64 clients' appends/s ÷ fsyncs/s", appended / fsyncs);
            report.add(
                "serve",
                "serve_c64_to_strict_ratio",
                "  64 clients' appends/s ÷ strict-verify limit",
                appended / strict,
            );
        }
    }

    processes.stage(&format!("tile reads ({TILE_READERS} keep-alive clients)"));
    let size = tree_size(&probe)?;
    let full = size / 256;
    let (hash_tiles, bundles) = if full > 0 {
        let hash = (0..full).map(|n| Tile::hash(0, n, 256)).collect::<Result<Vec<_>>>()?;
        let entries = (0..full).map(|n| Tile::entries(n, 256)).collect::<Result<Vec<_>>>()?;
        (hash, entries)
    } else {
        let width = u16::try_from(size % 256).unwrap_or(1).max(1);
        (vec![Tile::hash(0, 0, width)?], vec![Tile::entries(0, width)?])
    };
    let tiles = read_concurrently(url, &hash_tiles, true)?;
    report.add("serve", "tile_reads_per_s", "hash tile reads/s (GET /tile/0/<N>, keep-alive)", tiles);
    let bundles = read_concurrently(url, &bundles, false)?;
    report.add("serve", "entry_bundle_reads_per_s", "entry bundle reads/s (GET /tile/entries/<N>)", bundles);
    report.add("serve", "serve_tree_size", "entries in the served log at the end", size as f64);
    Ok(())
}

/// `clients` threads, each its own officer with its own connection, each appending `each`
/// records one request at a time; the latency of every append, from signing to checked receipt.
fn append_concurrently(
    url: &str,
    origin: &str,
    officers: &[Arc<SecretKey>],
    each: usize,
    level: usize,
) -> Result<Vec<Duration>> {
    let results: Vec<Result<Vec<Duration>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = officers
            .iter()
            .enumerate()
            .map(|(client, key)| {
                scope.spawn(move || -> Result<Vec<Duration>> {
                    let remote = Client::new(url)?;
                    let mut latencies = Vec::with_capacity(each);
                    for n in 0..each {
                        let draft = interview(level, client, n);
                        let begun = Instant::now();
                        let submission = Submission::sign(origin, &draft, key, Timestamp::now())?;
                        lianlog_remote::append::submit(&remote, std::slice::from_ref(&submission))?;
                        latencies.push(begun.elapsed());
                    }
                    Ok(latencies)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap_or_else(|_| Err(Error::bad_input("an appending client panicked"))))
            .collect()
    });
    let mut all = Vec::new();
    for latencies in results {
        all.extend(latencies?);
    }
    Ok(all)
}

/// Reads/s of `tiles` by [`TILE_READERS`] clients for [`TILE_TIME`], each answer checked for
/// its size (hash tiles: 32 bytes per hash) or non-emptiness (bundles).
fn read_concurrently(url: &str, tiles: &[Tile], hashes: bool) -> Result<f64> {
    let begun = Instant::now();
    let counts: Vec<Result<u64>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..TILE_READERS)
            .map(|reader| {
                scope.spawn(move || -> Result<u64> {
                    let client = Client::new(url)?;
                    let mut count = 0u64;
                    let mut next = reader;
                    while begun.elapsed() < TILE_TIME {
                        let tile = &tiles[next % tiles.len()];
                        next += 1;
                        let answer = client.get(&format!("/{}", tile.path()))?;
                        let expected = if hashes { usize::from(tile.width) * 32 } else { answer.body().len().max(1) };
                        if answer.body().len() != expected {
                            return Err(Error::verification(format!(
                                "{url}/{}: {} bytes, not {expected}",
                                tile.path(),
                                answer.body().len()
                            )));
                        }
                        count += 1;
                    }
                    Ok(count)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap_or_else(|_| Err(Error::bad_input("a reading client panicked"))))
            .collect()
    });
    let elapsed = begun.elapsed();
    let mut total = 0;
    for count in counts {
        total += count?;
    }
    Ok(rate(total, elapsed))
}

/// An interview (it depends on no other record, so any order of the clients is valid) with a
/// subject of its own.
fn interview(level: usize, client: usize, n: usize) -> Draft {
    Draft::new(
        "interview",
        serde_json::json!({
            "interview_type": "reminder",
            "subjects": [{"id": format!("P-S{level}{client:02}{n:05}"), "name": "张某", "unit": "市住建局"}],
            "interviewers": [{"id": "P-0101", "name": "钱干事", "unit": "第一监督检查室"}],
            "held_on": "2025-03-10",
            "reason": "提醒谈话（服务基准）",
        }),
    )
}

/// `lianlog_appends_total` and `lianlog_groups_total` from the server's `/metrics`.
fn server_counts(client: &Client) -> Result<(u64, u64)> {
    let answer = client.get("/metrics")?;
    let text = answer.text()?;
    let value = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
            .and_then(|value| value.trim().parse::<u64>().ok())
            .ok_or_else(|| Error::verification(format!("{}/metrics has no {name}", client.url())))
    };
    Ok((value("lianlog_appends_total")?, value("lianlog_groups_total")?))
}

/// The size of the server's newest checkpoint.
fn tree_size(client: &Client) -> Result<u64> {
    let answer = client.get("/checkpoint")?;
    let note = Note::parse(answer.text()?)?;
    Ok(Checkpoint::parse_text(&note.text)?.size)
}

/// A new ledger with an admin and `officers` officers, each with a key of its own.
fn create_ledger(dir: &Path, officers: usize) -> Result<(std::path::PathBuf, Vec<Arc<SecretKey>>)> {
    let name = |text: &str| KeyName::parse(text).map_err(|e| Error::bad_input(e.to_string()));
    let admin = SecretKey::generate(name("admin.bench")?)?;
    let keys = (0..officers)
        .map(|n| SecretKey::generate(name(&format!("officer.client{n:02}"))?).map(Arc::new))
        .collect::<Result<Vec<_>>>()?;
    let ledger_dir = dir.join("ledger");
    let holder = |person: String| Holder { name: person, unit: "第一监督检查室".into(), title: None };
    let mut ledger =
        Ledger::init(&ledger_dir, &name("bench.example.gov.cn/accountability")?, &admin, holder("赵主任".into()))?;
    for (n, key) in keys.iter().enumerate() {
        ledger.grant(&key.public().vkey(), &[Role::Officer], &holder(format!("干事{n:02}")), &admin)?;
    }
    Ok((ledger_dir, keys))
}

/// `options.entries` generated records appended through the library before serving, so that the
/// server holds a ledger of that size.
fn import(
    ledger_dir: &Path,
    officers: &[Arc<SecretKey>],
    options: &BenchOptions,
    processes: &mut dyn Processes,
) -> Result<()> {
    let mut ledger = Ledger::open(ledger_dir)?;
    let mut workload = Workload::new(options.seed);
    let mut people = PersonSample::default();
    let mut remaining = options.entries;
    let mut author = 0;
    while remaining > 0 {
        let count = remaining.min(IMPORT_BATCH as u64) as usize;
        let drafts = next_drafts(&mut workload, count, &mut people);
        ledger.append_batch(&drafts, &officers[author % officers.len()])?;
        author += 1;
        remaining -= count as u64;
        processes.progress(Progress { phase: "importing", done: options.entries - remaining, total: options.entries });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_are_a_tenth_shared_evenly_and_at_least_four_per_client() {
        assert_eq!(appends_at(2000, 1), 200);
        assert_eq!(appends_at(2000, 16), 208);
        assert_eq!(appends_at(2000, 64), 256);
        assert_eq!(appends_at(1, 1), 4);
    }
}
