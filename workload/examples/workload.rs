//! Print N realistic records as JSON Lines for `lianlog import` (benchmarks, demos):
//! `cargo run --release -p lianlog-workload --example workload -- 100000 [SEED] > records.jsonl`.

use std::io::Write as _;

fn main() {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let seed: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for (kind, body) in lianlog_workload::Workload::new(seed).take(count) {
        if writeln!(out, "{}", serde_json::json!({"kind": kind, "body": body})).is_err() {
            std::process::exit(1);
        }
    }
    if out.flush().is_err() {
        std::process::exit(1);
    }
}
