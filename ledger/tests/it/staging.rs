//! A batch is checked whole before anything is written, and the types say so: `Ledger::stage`
//! (`&self`) checks and signs a batch and writes nothing; `Ledger::commit` writes it, and refuses
//! a batch staged on another state of the ledger — anything appended since, or another ledger —
//! before it writes a byte.

use std::path::{Path, PathBuf};

use crate::common::{holder, interview, key};
use lianlog_ledger::{Draft, ErrorKind, KeyName, Ledger, Role, SecretKey, VerifyOptions, verify_dir};
use serde_json::json;

const ORIGIN: &str = "jw.example.gov.cn/accountability";

/// A ledger at `dir` with an officer granted; returns it with the admin and officer keys.
fn ledger_at(dir: &Path, seed: u8) -> (Ledger, SecretKey, SecretKey) {
    let admin = key("admin.zhao", seed);
    let officer = key("officer.qian", seed + 1);
    let origin = KeyName::parse(ORIGIN).unwrap();
    let mut ledger = Ledger::init(dir, &origin, &admin, holder()).unwrap();
    ledger.grant(&officer.public().vkey(), &[Role::Officer], &holder(), &admin).unwrap();
    (ledger, admin, officer)
}

/// Every byte of the log, segment by segment.
fn log_bytes(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut segments: Vec<PathBuf> =
        std::fs::read_dir(dir.join("log")).unwrap().map(|item| item.unwrap().path()).collect();
    segments.sort();
    segments.into_iter().map(|path| (path.clone(), std::fs::read(&path).unwrap())).collect()
}

#[test]
fn staging_writes_nothing_and_commit_writes_the_staged_lines() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("ledger");
    let (mut ledger, _admin, officer) = ledger_at(&dir, 1);
    let (size, head, before) = (ledger.size(), ledger.head(), log_bytes(&dir));

    let drafts: Vec<Draft> = (0..3).map(interview).collect();
    let staged = ledger.stage(&drafts, &[&officer]).unwrap();
    assert_eq!((staged.len(), staged.first_seq()), (3, size));
    assert_eq!((ledger.size(), ledger.head()), (size, head));
    assert_eq!(log_bytes(&dir), before, "staging wrote to the log");
    assert!(!dir.join("import.intent").exists());

    let appended = ledger.commit(staged).unwrap();
    assert_eq!(appended.iter().map(|a| a.seq).collect::<Vec<_>>(), vec![size, size + 1, size + 2]);
    assert_eq!(ledger.size(), size + 3);
    assert_eq!(ledger.head(), appended[2].hash);
    assert!(!dir.join("import.intent").exists());
    for (n, appended) in appended.iter().enumerate() {
        let line = ledger.read(appended.seq).unwrap();
        assert_eq!(line.entry_hash, appended.hash);
        assert_eq!(line.line.body().unwrap()["reason"], format!("提醒谈话 {n}"));
    }
    drop(ledger);
    assert!(verify_dir(&dir, VerifyOptions::default()).unwrap().is_ok());
    let reopened = Ledger::open(&dir).unwrap();
    assert_eq!(reopened.size(), size + 3);
}

#[test]
fn a_batch_staged_before_the_ledger_moved_is_refused_and_nothing_is_written() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("ledger");
    let (mut ledger, _admin, officer) = ledger_at(&dir, 1);

    // Two batches staged on the same state: the first commit moves the ledger on.
    let first = ledger.stage(&[interview(1)], &[&officer]).unwrap();
    let stale = ledger.stage(&[interview(2), interview(3)], &[&officer]).unwrap();
    ledger.commit(first).unwrap();
    let (size, head, before) = (ledger.size(), ledger.head(), log_bytes(&dir));

    let err = ledger.commit(stale).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadInput);
    assert!(err.message().contains("was staged when the ledger had"), "{err}");
    assert!(err.message().contains("nothing was written"), "{err}");
    assert_eq!((ledger.size(), ledger.head()), (size, head));
    assert_eq!(log_bytes(&dir), before, "a refused commit wrote to the log");
    assert!(!dir.join("import.intent").exists());

    // Staged again on the ledger as it is now, the same drafts are written.
    let again = ledger.stage(&[interview(2), interview(3)], &[&officer]).unwrap();
    let appended = ledger.commit(again).unwrap();
    assert_eq!(appended[0].seq, size);
    assert_eq!(ledger.size(), size + 2);
    drop(ledger);
    let report = verify_dir(&dir, VerifyOptions::default()).unwrap().unwrap();
    assert_eq!(report.entries, size + 2);
}

#[test]
fn a_batch_staged_on_another_ledger_is_refused() {
    let temp = tempfile::tempdir().unwrap();
    let (mut one, _, officer_one) = ledger_at(&temp.path().join("one"), 1);
    let (mut two, _, _) = ledger_at(&temp.path().join("two"), 1);
    assert_eq!(one.size(), two.size());
    let before = log_bytes(&temp.path().join("two"));

    let staged = one.stage(&[interview(1)], &[&officer_one]).unwrap();
    let err = two.commit(staged).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadInput);
    assert_eq!(log_bytes(&temp.path().join("two")), before);
    // The ledger it was not staged on is unchanged, and the one it was staged on still appends.
    assert_eq!(two.size(), one.size());
    one.append(&interview(2), &officer_one).unwrap();
}

#[test]
fn staging_refuses_a_bad_batch_whole_naming_the_first_failing_record() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("ledger");
    let (ledger, _admin, officer) = ledger_at(&dir, 1);
    let before = log_bytes(&dir);
    let drafts = vec![interview(1), Draft::new("no.such.kind", json!({})), interview(2)];
    let err = ledger.stage(&drafts, &[&officer]).unwrap_err();
    assert!(err.to_string().contains("record 2"), "{err}");
    let err = ledger.stage(&drafts, &[&officer, &officer]).unwrap_err();
    assert!(err.to_string().contains("3 records but 2 keys"), "{err}");
    let err = ledger.stage(&[], &[&officer]).unwrap_err();
    assert!(err.to_string().contains("nothing to append"), "{err}");
    assert_eq!(log_bytes(&dir), before);
}

/// Across the chunks of the staging pipeline (1,024 records each) the error is the one of
/// checking the whole batch in two passes: the first record refused when signing if any (an
/// unknown kind, found by the draft check), else the first refused by a later check (the schema);
/// nothing is written either way, and the batch without its bad records is staged whole.
#[test]
fn errors_across_pipeline_chunks_name_the_record_the_two_passes_name() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("ledger");
    let (ledger, _admin, officer) = ledger_at(&dir, 40);
    let before = log_bytes(&dir);
    let mut drafts: Vec<Draft> = (0..2500).map(interview).collect();
    // Record 1,500: refused by its schema (a later, in-order check).
    drafts[1499].body["held_on"] = json!("not a date");
    let err = ledger.stage(&drafts, &[&officer]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadInput);
    assert!(err.to_string().contains("record 1500") && err.to_string().contains("held_on"), "{err}");
    // Record 2,300: refused when signing (an unknown kind): reported first, as before the pipeline.
    drafts[2299] = Draft::new("no.such.kind", json!({}));
    let err = ledger.stage(&drafts, &[&officer]).unwrap_err();
    assert!(err.to_string().contains("record 2300"), "{err}");
    assert!(err.to_string().contains("unknown kind"), "{err}");
    // A schema error in the first chunk and a signing refusal in the last.
    drafts[1499] = interview(1499);
    drafts[10].body["held_on"] = json!("not a date");
    let err = ledger.stage(&drafts, &[&officer]).unwrap_err();
    assert!(err.to_string().contains("record 2300"), "{err}");
    drafts[2299] = interview(2299);
    let err = ledger.stage(&drafts, &[&officer]).unwrap_err();
    assert!(err.to_string().contains("record 11"), "{err}");
    drafts[10] = interview(10);
    let staged = ledger.stage(&drafts, &[&officer]).unwrap();
    assert_eq!(staged.len(), 2500);
    assert_eq!(log_bytes(&dir), before, "staging wrote to the log");
}
