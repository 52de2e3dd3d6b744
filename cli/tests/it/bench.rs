//! `lianlog bench` on a small ledger: every documented figure is there and sane, the ledger it
//! built verifies, and a directory in use is refused. Nothing is asserted on absolute time.

use crate::common::{lianlog, output_text};

/// Every key `--json` documents (docs/PERFORMANCE.md).
const FIGURES: &[&str] = &[
    "sign_one_core_per_s",
    "sign_all_cores_per_s",
    "verify_strict_per_s",
    "verify_batch_per_s",
    "verify_batch_checked_per_s",
    "sha256_mb_per_s",
    "fsync_per_s",
    "import_records_per_s",
    "append_per_s",
    "append_to_fsync_ratio",
    "group_append_per_s",
    "group_append_to_fsync_ratio",
    "append_process_p50_ms",
    "append_process_p99_ms",
    "open_ms",
    "verify_entries_per_s",
    "verify_to_batch_ratio",
    "verify_to_strict_ratio",
    "replay_entries_per_s",
    "replay_process_entries_per_s",
    "dossier_p50_ms",
    "dossier_p99_ms",
    "dossier_records_mean",
    "dossier_per_record_p50_ms",
    "dossier_per_record_p99_ms",
    "opinion_draft_p50_ms",
    "opinion_draft_p99_ms",
    "inclusion_proof_p50_ms",
    "inclusion_proof_p99_ms",
    "consistency_proof_p50_ms",
    "consistency_proof_p99_ms",
    "snapshot_create_mb_per_s",
    "snapshot_verify_mb_per_s",
    "archive_bytes_per_entry_byte",
    "verify_peak_rss_mib",
    "append_process_peak_rss_mib",
    "import_peak_rss_mib",
    "entry_bytes_per_entry",
    "disk_bytes_per_entry_byte",
    "open_behind_store_ms",
    "unseen_lines_per_s",
    "import_to_sign_all_cores_ratio",
    "replay_to_sign_one_core_ratio",
    "replay_process_to_sign_one_core_ratio",
    "snapshot_create_to_verify_ratio",
    "snapshot_verify_to_verify_ratio",
    "wall_limits_s",
    "wall_generate_s",
    "wall_import_s",
    "wall_appends_s",
    "wall_processes_s",
    "wall_verify_s",
    "wall_replay_s",
    "wall_queries_s",
    "wall_snapshot_s",
    "wall_import_process_s",
    "wall_behind_store_s",
];

#[test]
fn bench_reports_every_figure_and_leaves_a_ledger_that_verifies() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("bench");
    let output = lianlog().args(["bench", "--entries", "300", "--json", "--dir"]).arg(&dir).output().unwrap();
    let (stdout, stderr) = output_text(&output);
    assert!(output.status.success(), "{stderr}");
    // Not a terminal, and --json: the phases are not shown (progress.rs shows them on a terminal).
    assert!(!stderr.contains("machine limits") && !stderr.contains("importing"), "no progress: {stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("stdout is one JSON object");
    assert_eq!(report["entries"], 300);
    let figures = report["figures"].as_object().unwrap();
    for key in FIGURES {
        let value = figures.get(*key).and_then(|v| v.as_f64()).unwrap_or_else(|| panic!("{key} missing: {stdout}"));
        assert!(value.is_finite() && value > 0.0, "{key} = {value}");
    }
    assert_eq!(figures.len(), FIGURES.len(), "undocumented figures: {stdout}");
    for (p50, p99) in [("dossier_p50_ms", "dossier_p99_ms"), ("append_process_p50_ms", "append_process_p99_ms")] {
        assert!(figures[p50].as_f64() <= figures[p99].as_f64(), "{p50} <= {p99}");
    }
    // Memory is the child's own, not the benchmark's: verify of 300 entries is small.
    assert!(figures["verify_peak_rss_mib"].as_f64().unwrap() < 200.0, "{stdout}");
    // The ledger holds genesis, three grants, the records, 300 library appends, 4,000 appends
    // through group commit and 15 processes'.
    let ledger = dir.join("ledger");
    let verified = lianlog().arg("verify").arg("--ledger").arg(&ledger).arg("--json").output().unwrap();
    let (stdout, stderr) = output_text(&verified);
    assert!(verified.status.success(), "{stderr}");
    let verified: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    // Setup, import, single appends, group commit, `lianlog append` processes, and the 1,000
    // records left behind the store and caught up on open.
    assert_eq!(verified["entries"], 4 + 300 + 300 + 4000 + 15 + 1000, "{verified}");
}

/// Every figure is explained in docs/PERFORMANCE.md, under its own key.
#[test]
fn every_figure_is_documented() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/PERFORMANCE.md")).unwrap();
    let explained = &doc[doc.find("### What each figure is").unwrap()..doc.find("## Results").unwrap()];
    for key in FIGURES {
        assert!(explained.contains(&format!("`{key}`")), "docs/PERFORMANCE.md does not explain {key}");
    }
}

#[test]
fn bench_refuses_a_directory_that_is_not_empty() {
    let temp = tempfile::tempdir().unwrap();
    std::fs::write(temp.path().join("precious.txt"), "keep me").unwrap();
    let output = lianlog().args(["bench", "--entries", "10", "--dir"]).arg(temp.path()).output().unwrap();
    let (_, stderr) = output_text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("empty directory"), "{stderr}");
    let names: Vec<_> = std::fs::read_dir(temp.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("precious.txt")]);
    assert_eq!(std::fs::read_to_string(temp.path().join("precious.txt")).unwrap(), "keep me");
}

/// Every key `bench --serve --json` documents (docs/PERFORMANCE.md, "Serving").
const SERVE_FIGURES: &[&str] = &[
    "sign_one_core_per_s",
    "sign_all_cores_per_s",
    "verify_strict_per_s",
    "verify_batch_per_s",
    "verify_batch_checked_per_s",
    "sha256_mb_per_s",
    "fsync_per_s",
    "serve_c1_append_per_s",
    "serve_c1_p50_ms",
    "serve_c1_p99_ms",
    "serve_c1_records_per_sync",
    "serve_c1_p50_to_budget_ratio",
    "serve_c16_append_per_s",
    "serve_c16_p50_ms",
    "serve_c16_p99_ms",
    "serve_c16_records_per_sync",
    "serve_c64_append_per_s",
    "serve_c64_p50_ms",
    "serve_c64_p99_ms",
    "serve_c64_records_per_sync",
    "serve_c64_to_fsync_ratio",
    "serve_c64_to_strict_ratio",
    "tile_reads_per_s",
    "entry_bundle_reads_per_s",
    "serve_tree_size",
    "serve_peak_rss_mib",
];

/// `bench --serve` on a small ledger: a real `lianlog serve` child, 1, 16 and 64 clients; every
/// figure is there and positive, and the ledger the clients appended to verifies afterwards
/// (the server was stopped with SIGKILL: no acknowledged append may be missing).
#[test]
fn bench_serve_reports_every_figure_and_the_served_ledger_verifies() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("bench");
    let output =
        lianlog().args(["bench", "--serve", "--entries", "300", "--json", "--dir"]).arg(&dir).output().unwrap();
    let (stdout, stderr) = output_text(&output);
    assert!(output.status.success(), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("stdout is one JSON object");
    let figures = report["figures"].as_object().unwrap();
    for key in SERVE_FIGURES {
        let value = figures.get(*key).and_then(|v| v.as_f64()).unwrap_or_else(|| panic!("{key} missing: {stdout}"));
        assert!(value.is_finite() && value > 0.0, "{key} = {value}");
    }
    assert_eq!(figures.len(), SERVE_FIGURES.len(), "undocumented figures: {stdout}");
    // Genesis, 64 grants, 300 imported, then 30, 64 and 256 appends over HTTP (a tenth of the
    // records, at least 4 per client).
    assert_eq!(figures["serve_tree_size"], 1.0 + 64.0 + 300.0 + 30.0 + 64.0 + 256.0, "{stdout}");
    let verified = lianlog().arg("verify").arg("--ledger").arg(dir.join("ledger")).arg("--json").output().unwrap();
    let (stdout, stderr) = output_text(&verified);
    assert!(verified.status.success(), "{stderr}");
    let verified: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(verified["entries"], 715, "{verified}");
}

/// Every `bench --serve` figure is explained in docs/PERFORMANCE.md's serving section.
#[test]
fn every_serve_figure_is_documented() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/PERFORMANCE.md")).unwrap();
    let explained = &doc[doc.find("## Serving: lianlog bench --serve").unwrap()..];
    for key in SERVE_FIGURES {
        assert!(explained.contains(&format!("`{key}`")), "docs/PERFORMANCE.md does not explain {key}");
    }
}
