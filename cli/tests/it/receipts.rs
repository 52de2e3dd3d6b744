//! Appends with receipts (回执): `append`/`import --receipt FILE` locally and against a real
//! `lianlog serve` (`--server URL`: signed here, sent, the server's receipts checked), `check
//! inclusion --receipt` offline, and `prove --server` equal to the local `prove`.

use std::path::Path;

use serde_json::{Value, json};

use crate::common::{self, ENTRIES, Fixture, interview_body, lianlog, report_body};
use crate::serve::Server;

pub(crate) fn log_vkey(fixture: &Fixture) -> String {
    fixture.verify_json()["log_key"].as_str().unwrap().to_string()
}

/// Run, expect success, return stdout.
pub(crate) fn ok(command: &mut assert_cmd::Command) -> String {
    let output = command.output().unwrap();
    let (stdout, stderr) = common::output_text(&output);
    assert!(output.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    stdout
}

/// Run, expect exit `code`, return stderr.
pub(crate) fn fails(command: &mut assert_cmd::Command, code: i32) -> String {
    let output = command.output().unwrap();
    let (stdout, stderr) = common::output_text(&output);
    assert_eq!(output.status.code(), Some(code), "stdout: {stdout}\nstderr: {stderr}");
    stderr
}

/// `check inclusion --receipt FILE --vkey VKEY`, run without a ledger.
pub(crate) fn check_receipt(fixture: &Fixture, file: &Path, vkey: &str) -> std::process::Output {
    lianlog()
        .current_dir(&fixture.root)
        .args(["check", "inclusion", "--receipt"])
        .arg(file)
        .args(["--vkey", vkey])
        .output()
        .unwrap()
}

#[test]
fn a_local_append_keeps_a_receipt_that_checks_offline_and_an_altered_one_does_not() {
    let fixture = Fixture::build();
    let vkey = log_vkey(&fixture);
    let receipt = fixture.root.join("r.jsonl");
    let body = interview_body("赵六", "提醒谈话");
    let stdout = ok(fixture
        .cmd()
        .args(["append", "interview", "--key"])
        .arg(&fixture.qian)
        .arg("--receipt")
        .arg(&receipt)
        .write_stdin(body.to_string()));
    assert!(stdout.starts_with(&format!("appended seq {ENTRIES} entry hash ")), "{stdout}");
    assert!(stdout.contains("1 receipt kept in"), "{stdout}");

    let checked = check_receipt(&fixture, &receipt, &vkey);
    let (out, err) = common::output_text(&checked);
    assert!(checked.status.success(), "{out}{err}");
    assert!(out.starts_with(&format!("OK: seq {ENTRIES} (约谈")), "{out}");

    // An existing receipt file is refused before anything is appended.
    fails(
        fixture
            .cmd()
            .args(["append", "interview", "--key"])
            .arg(&fixture.qian)
            .arg("--receipt")
            .arg(&receipt)
            .write_stdin(body.to_string()),
        2,
    );
    assert_eq!(fixture.log_lines().len(), ENTRIES + 1, "a refused --receipt FILE must append nothing");

    // Altered: the entry's time moved; or the receipt claims another seq.
    let text = std::fs::read_to_string(&receipt).unwrap();
    let mut value: Value = serde_json::from_str(&text).unwrap();
    value["entry"]["time"] = json!("2020-01-01T00:00:00.000Z");
    let altered = fixture.root.join("altered.jsonl");
    std::fs::write(&altered, format!("{value}\n")).unwrap();
    assert_eq!(check_receipt(&fixture, &altered, &vkey).status.code(), Some(1));
    let mut value: Value = serde_json::from_str(&text).unwrap();
    value["seq"] = json!(3);
    std::fs::write(&altered, format!("{value}\n")).unwrap();
    assert_eq!(check_receipt(&fixture, &altered, &vkey).status.code(), Some(1));
    // Another ledger's log key.
    let impostor = fixture.root.join("impostor.pem");
    lianlog().args(["key", "new", common::ORIGIN, "--out"]).arg(&impostor).assert().success();
    assert_eq!(check_receipt(&fixture, &receipt, &fixture.vkey(&impostor)).status.code(), Some(1));
    // Not a receipt at all.
    std::fs::write(&altered, "{\"seq\":1}\n").unwrap();
    assert_eq!(check_receipt(&fixture, &altered, &vkey).status.code(), Some(2));
}

#[test]
fn appends_and_imports_against_a_server_are_signed_here_and_their_receipts_check() {
    let fixture = Fixture::build();
    let vkey = log_vkey(&fixture);
    let server = Server::start(&fixture.ledger, &[]);
    let url = format!("http://{}", server.address);
    // Commands against the server run from elsewhere, without the ledger directory.
    let remote = || {
        let mut command = lianlog();
        command.current_dir(&fixture.root).args(["--server", &url]);
        command
    };

    // One record, with its receipt kept.
    let receipt = fixture.root.join("one.jsonl");
    let stdout = ok(remote()
        .args(["append", "interview", "--key"])
        .arg(&fixture.qian)
        .arg("--receipt")
        .arg(&receipt)
        .write_stdin(interview_body("赵六", "提醒谈话").to_string()));
    assert!(stdout.starts_with(&format!("appended seq {ENTRIES} entry hash ")), "{stdout}");
    let checked = check_receipt(&fixture, &receipt, &vkey);
    assert!(checked.status.success(), "{:?}", common::output_text(&checked));

    // JSON output: the local shape, plus the receipt.
    let stdout = ok(remote()
        .args(["--json", "append", "interview", "--key"])
        .arg(&fixture.sun)
        .write_stdin(interview_body("钱七", "函询").to_string()));
    let answer: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(answer["seq"], ENTRIES + 1, "{answer}");
    assert_eq!(answer["receipt"]["entry_hash"], answer["entry_hash"], "{answer}");

    // A batch, all or nothing: one bad record (an unknown report) refuses the whole import.
    let good = [
        json!({"kind": "report.received", "body": report_body("R-2025-009", "周八", "反映问题")}),
        json!({"kind": "interview", "body": interview_body("周八", "谈话函询")}),
    ];
    let mut bad_interview = interview_body("周八", "谈话");
    bad_interview["report_id"] = json!("R-404");
    let lines = |records: &[Value]| records.iter().map(|r| format!("{r}\n")).collect::<String>();
    let mut with_bad = good.to_vec();
    with_bad.push(json!({"kind": "interview", "body": bad_interview}));
    let stderr = fails(remote().args(["import", "-", "--key"]).arg(&fixture.qian).write_stdin(lines(&with_bad)), 2);
    assert!(stderr.contains("record 3"), "{stderr}");
    let receipts = fixture.root.join("batch.jsonl");
    let stdout = ok(remote()
        .args(["import", "-", "--key"])
        .arg(&fixture.qian)
        .arg("--receipt")
        .arg(&receipts)
        .write_stdin(lines(&good)));
    let (first, last) = (ENTRIES + 2, ENTRIES + 3);
    assert!(stdout.starts_with(&format!("imported 2 records as seq {first}–{last}; head ")), "{stdout}");
    let checked = check_receipt(&fixture, &receipts, &vkey);
    let (out, _) = common::output_text(&checked);
    assert!(checked.status.success(), "{out}");
    assert_eq!(out.lines().filter(|line| line.starts_with("OK: seq ")).count(), 2, "{out}");

    // Refusals come back with the local exit codes: an auditor may not write an interview (3); a
    // key the ledger never granted (3); a body that fails its schema (2).
    let stderr = fails(
        remote()
            .args(["append", "interview", "--key"])
            .arg(&fixture.auditor)
            .write_stdin(interview_body("甲", "乙").to_string()),
        3,
    );
    assert!(stderr.contains("lacks the role officer"), "{stderr}");
    let stranger = fixture.root.join("stranger.pem");
    lianlog().args(["key", "new", "officer.wu", "--out"]).arg(&stranger).assert().success();
    fails(
        remote()
            .args(["append", "interview", "--key"])
            .arg(&stranger)
            .write_stdin(interview_body("甲", "乙").to_string()),
        3,
    );
    fails(remote().args(["append", "interview", "--key"]).arg(&fixture.qian).write_stdin("{\"reason\":1}"), 2);

    // prove --server (a signed read) prints what the local prove prints for the same size.
    let size = (ENTRIES + 4).to_string();
    let identity = |command: &mut assert_cmd::Command| {
        command.arg("--identity").arg(&fixture.auditor);
    };
    let mut prove = remote();
    identity(&mut prove);
    let remote_inclusion = ok(prove.args(["prove", "inclusion", "11", "--size", &size]));
    let mut prove = remote();
    identity(&mut prove);
    let remote_consistency = ok(prove.args(["prove", "consistency", "10", &size]));

    assert!(server.terminate().success());
    // Every record went in once, in order, and the ledger verifies.
    assert_eq!(fixture.log_lines().len(), ENTRIES + 4);
    fixture.cmd().arg("verify").assert().success();
    let local_inclusion = ok(fixture.cmd().args(["prove", "inclusion", "11", "--size", &size]));
    let local_consistency = ok(fixture.cmd().args(["prove", "consistency", "10", &size]));
    assert_eq!(remote_inclusion, local_inclusion);
    assert_eq!(remote_consistency, local_consistency);
}
