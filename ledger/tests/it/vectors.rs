//! The conformance vectors of an independent implementation (tests/vectors/, copied from the
//! shared spec): our verifier accepts them, and refuses them when altered.

use std::path::{Path, PathBuf};

use lianlog_ledger::verify::verify_export_file;
use lianlog_ledger::{PublicKey, VerifyOptions};

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors")
}

fn log_vkey() -> PublicKey {
    let keys: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(vectors().join("keys.json")).unwrap()).unwrap();
    PublicKey::parse_vkey(keys["log"]["vkey"].as_str().unwrap()).unwrap()
}

fn expected_root() -> String {
    let steps: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(vectors().join("steps.json")).unwrap()).unwrap();
    steps["roots"]["8"].as_str().unwrap().to_string()
}

#[test]
fn vector_ledger_verifies_with_its_redaction() {
    let options = VerifyOptions { allow_withheld: false, expected_log_key: Some(log_vkey()), root_sizes: vec![8] };
    let report = verify_export_file(&vectors().join("ledger.jsonl"), options).unwrap().unwrap();
    assert_eq!(report.entries, 8);
    assert_eq!(lianlog_ledger::encoding::hex(&report.root), expected_root());
    assert_eq!(report.redactions.len(), 1);
    assert_eq!((report.redactions[0].target, report.redactions[0].by), (4, 7));
    assert!(report.redactions[0].applied);
    let checkpoint = std::fs::read_to_string(vectors().join("checkpoint")).unwrap();
    lianlog_ledger::verify::check_checkpoint(&report, &checkpoint, Some(&log_vkey()), &[]).unwrap();
}

#[test]
fn vector_export_without_bodies_verifies_only_when_withheld_bodies_are_allowed() {
    let path = vectors().join("ledger-without-bodies.jsonl");
    let report = verify_export_file(
        &path,
        VerifyOptions { allow_withheld: true, expected_log_key: Some(log_vkey()), root_sizes: vec![8] },
    )
    .unwrap()
    .unwrap();
    assert_eq!(report.entries, 8);
    assert_eq!(report.withheld, 4);
    assert_eq!(lianlog_ledger::encoding::hex(&report.root), expected_root());
    let checkpoint = std::fs::read_to_string(vectors().join("checkpoint")).unwrap();
    lianlog_ledger::verify::check_checkpoint(&report, &checkpoint, Some(&log_vkey()), &[]).unwrap();
    let failure = verify_export_file(&path, VerifyOptions::default()).unwrap().unwrap_err();
    assert_eq!(failure.seq, Some(3));
}

#[test]
fn a_pinned_log_key_must_match_genesis() {
    let other = PublicKey::parse_vkey("admin.zhao+9ae89c3c+AZjTUO/QpGDaRmbPVmHb/RrDtJVlBPGh0gxucLSta2IW").unwrap();
    let options = VerifyOptions { allow_withheld: false, expected_log_key: Some(other), ..Default::default() };
    let failure = verify_export_file(&vectors().join("ledger.jsonl"), options).unwrap().unwrap_err();
    assert_eq!(failure.seq, Some(0));
    assert!(failure.reason.contains("log key"), "{failure}");
}

/// Each alteration of the vector ledger, and the seq the verifier must name.
#[test]
fn altered_vector_ledgers_fail_at_the_right_seq() {
    let original = std::fs::read_to_string(vectors().join("ledger.jsonl")).unwrap();
    let lines: Vec<&str> = original.lines().collect();
    let join = |lines: &[String]| lines.iter().map(|l| format!("{l}\n")).collect::<String>();
    let owned: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let mut cases: Vec<(String, String, u64)> = Vec::new();

    let mut body_flip = owned.clone();
    body_flip[5] = body_flip[5].replace("立案审查", "立案调查");
    cases.push(("body altered".into(), join(&body_flip), 5));

    let mut deleted = owned.clone();
    deleted.remove(3);
    cases.push(("entry deleted".into(), join(&deleted), 3));

    let mut swapped = owned.clone();
    swapped.swap(5, 6);
    cases.push(("entries swapped".into(), join(&swapped), 5));

    let mut unredacted_link = owned.clone();
    unredacted_link[4] = unredacted_link[4].replace("\"redacted\":7", "\"redacted\":6");
    cases.push(("redaction points at the wrong entry".into(), join(&unredacted_link), 4));

    let mut truncated = owned.clone();
    truncated.truncate(7);
    cases.push(("redaction entry removed".into(), join(&truncated), 4));

    let sig5 = original.lines().nth(5).unwrap().split("\"sig\":\"").nth(1).unwrap().split('"').next().unwrap();
    let sig6 = original.lines().nth(6).unwrap().split("\"sig\":\"").nth(1).unwrap().split('"').next().unwrap();
    let mut sig_swap = owned.clone();
    sig_swap[5] = sig_swap[5].replace(sig5, sig6);
    sig_swap[6] = sig_swap[6].replace(sig6, sig5);
    cases.push(("signatures swapped".into(), join(&sig_swap), 5));

    let dir = tempfile::tempdir().unwrap();
    for (name, text, seq) in cases {
        let path = dir.path().join("case.jsonl");
        std::fs::write(&path, text).unwrap();
        let failure = verify_export_file(&path, VerifyOptions::default()).unwrap().expect_err(&name);
        assert_eq!(failure.seq, Some(seq), "{name}: {failure}");
    }
}

/// Every single-byte change anywhere in the vector ledger is detected, at the line it was made —
/// or, for the last entry's unsigned `time` and `prev`, by the root no longer matching the
/// checkpoint (which is why auditors archive checkpoints).
#[test]
fn every_byte_flip_is_detected() {
    let original = std::fs::read(vectors().join("ledger.jsonl")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flip.jsonl");
    let mut line_of = Vec::with_capacity(original.len());
    let mut line = 0u64;
    for &byte in &original {
        line_of.push(line);
        if byte == b'\n' {
            line += 1;
        }
    }
    // Every 7th byte keeps the test quick while touching every member of every line.
    for index in (0..original.len()).step_by(7) {
        let mut altered = original.clone();
        altered[index] ^= if original[index] == b'\n' { 0x01 } else { 0x04 };
        std::fs::write(&path, &altered).unwrap();
        let result = verify_export_file(&path, VerifyOptions::default()).unwrap();
        let failure = match result {
            Ok(report) => {
                assert_eq!(line_of[index], 7, "flip at byte {index} went unnoticed");
                assert_ne!(lianlog_ledger::encoding::hex(&report.root), expected_root(), "byte {index}");
                continue;
            }
            Err(failure) => failure,
        };
        let seq = failure.seq.unwrap_or(failure.line.saturating_sub(1));
        // A broken newline merges two lines: the failure is at the first of them.
        assert!(seq <= line_of[index] + 1 && seq + 1 >= line_of[index], "byte {index}: {failure}");
    }
}
