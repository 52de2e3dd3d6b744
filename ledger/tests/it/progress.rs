//! Long whole-ledger passes report their progress through a callback (the library never draws
//! it): `verify`, `verify_dir`, `replay` and `export_dir`, each `…_with_progress`, report every
//! 1024 entries and once at the end of a pass, with the ledger's size as the total where it is
//! known (0 where it is not: without the store). An import (`append_batch_with_progress`)
//! reports `signing` then `checking`; `reindex_with_progress` reports `verifying` then
//! `indexing`; `verify_export_file_with_progress` reports as `verify_dir` does.

use crate::common::{holder, interview, key};
use lianlog_ledger::verify::verify_export_file_with_progress;
use lianlog_ledger::{
    Draft, KeyName, Ledger, Progress, Role, VerifyOptions, export_dir_with_progress, verify_dir_with_progress,
};

/// Check a pass's reports: one phase, non-decreasing, the expected total, ending at `size`.
fn check(reports: &[Progress], phase: &str, total: u64, size: u64) {
    assert!(reports.len() >= 2, "{phase}: {reports:?}");
    assert!(reports.iter().all(|p| p.phase == phase && p.total == total), "{reports:?}");
    assert!(reports.windows(2).all(|w| w[0].done <= w[1].done), "{reports:?}");
    assert_eq!(reports[0].done, 1024, "{reports:?}");
    assert_eq!(reports.last().unwrap().done, size, "{reports:?}");
}

/// A new ledger in `dir` (genesis and a grant: 2 entries) and the officer key it granted.
fn ledger_with_an_officer(dir: &std::path::Path) -> (Ledger, lianlog_ledger::SecretKey) {
    let admin = key("admin.zhao", 1);
    let officer = key("officer.qian", 2);
    let mut ledger =
        Ledger::init(dir, &KeyName::parse("jw.example.gov.cn/accountability").unwrap(), &admin, holder()).unwrap();
    ledger.grant(&officer.public().vkey(), &[Role::Officer], &holder(), &admin).unwrap();
    (ledger, officer)
}

#[test]
fn whole_ledger_passes_report_progress() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("ledger");
    let (mut ledger, officer) = ledger_with_an_officer(&dir);
    let drafts: Vec<Draft> = (0..2100).map(interview).collect();
    let staged = ledger.stage(&drafts, &[&officer]).unwrap();
    ledger.commit(staged).unwrap();
    let size = ledger.size();
    assert_eq!(size, 2102);

    let mut reports = Vec::new();
    assert!(ledger.verify_with_progress(VerifyOptions::default(), &mut |p| reports.push(p)).unwrap().is_ok());
    check(&reports, "verifying", size, size);

    let mut reports = Vec::new();
    assert_eq!(ledger.replay_with_progress(&mut |p| reports.push(p)).unwrap().entries, size);
    check(&reports, "replaying", size, size);

    // Without the store the total is not known; the last report of verify gives it.
    let mut reports = Vec::new();
    assert!(verify_dir_with_progress(&dir, VerifyOptions::default(), &mut |p| reports.push(p)).unwrap().is_ok());
    assert_eq!(*reports.last().unwrap(), Progress { phase: "verifying", done: size, total: size });
    check(&reports[..reports.len() - 1], "verifying", 0, 2048);

    let mut reports = Vec::new();
    let mut out = Vec::new();
    assert_eq!(export_dir_with_progress(&dir, &mut out, false, &mut |p| reports.push(p)).unwrap().entries, size);
    assert_eq!(reports, [1024, 2048].map(|done| Progress { phase: "exporting", done, total: 0 }));
}

#[test]
fn import_reindex_and_export_file_report_progress() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("ledger");
    let (mut ledger, officer) = ledger_with_an_officer(&dir);
    let drafts: Vec<Draft> = (0..2100).map(interview).collect();
    let mut reports = Vec::new();
    let appended = ledger.append_batch_with_progress(&drafts, &officer, &mut |p| reports.push(p)).unwrap();
    assert_eq!(appended.len(), 2100);
    let signing: Vec<Progress> = reports.iter().copied().filter(|p| p.phase == "signing").collect();
    assert_eq!(signing, [1024, 2048, 2100].map(|done| Progress { phase: "signing", done, total: 2100 }));
    // Signing comes first, then checking, which ends at the batch's size.
    let first_check = reports.iter().position(|p| p.phase == "checking").unwrap();
    assert!(reports[..first_check].iter().all(|p| p.phase == "signing"), "{reports:?}");
    let checking = &reports[first_check..];
    assert!(checking.iter().all(|p| p.phase == "checking" && p.total == 2100), "{reports:?}");
    assert!(checking.windows(2).all(|w| w[0].done <= w[1].done), "{reports:?}");
    assert_eq!(checking.last().unwrap().done, 2100);
    let size = ledger.size();
    assert_eq!(size, 2102);
    drop(ledger);

    let mut reports = Vec::new();
    let ledger = Ledger::reindex_with_progress(&dir, &mut |p| reports.push(p)).unwrap();
    assert_eq!(ledger.size(), size);
    drop(ledger);
    let split = reports.iter().position(|p| p.phase == "indexing").unwrap();
    check(&reports[..split], "verifying", size, size);
    check(&reports[split..], "indexing", size, size);

    let file = temp.path().join("export.jsonl");
    let mut out = Vec::new();
    export_dir_with_progress(&dir, &mut out, false, &mut |_| {}).unwrap();
    std::fs::write(&file, out).unwrap();
    let mut reports = Vec::new();
    let options = VerifyOptions { allow_withheld: true, ..VerifyOptions::default() };
    assert!(verify_export_file_with_progress(&file, options, &mut |p| reports.push(p)).unwrap().is_ok());
    assert_eq!(*reports.last().unwrap(), Progress { phase: "verifying", done: size, total: size });
    check(&reports[..reports.len() - 1], "verifying", 0, 2048);
}
