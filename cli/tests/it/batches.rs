//! `lianlog import --batch N` (分批导入): batches written in turn, each all or nothing; a refused
//! record stops the import after the batches before it, and the error says from where to go on.
//! Locally and against a server, with receipts.

use serde_json::{Value, json};

use crate::common::{self, ENTRIES, Fixture, interview_body, lianlog};
use crate::receipts::{check_receipt, fails, log_vkey, ok};
use crate::serve::Server;

/// `count` interview import lines; record `bad` (1-based), if any, names a report that does not
/// exist, which the lifecycle rule refuses (exit 2).
fn interviews(count: usize, bad: Option<usize>) -> String {
    (1..=count)
        .map(|number| {
            let mut body = interview_body(&format!("周{number}"), "提醒谈话");
            if Some(number) == bad {
                body["report_id"] = json!("R-404");
            }
            format!("{}\n", json!({"kind": "interview", "body": body}))
        })
        .collect()
}

#[test]
fn a_batched_import_keeps_the_batches_before_a_refused_record_and_says_where_to_go_on() {
    let fixture = Fixture::build();
    let file = fixture.root.join("import.jsonl");
    std::fs::write(&file, interviews(25, Some(17))).unwrap();
    let import = |file: &std::path::Path| {
        let mut command = fixture.cmd();
        command.arg("import").arg(file).arg("--key").arg(&fixture.qian).args(["--batch", "10"]);
        command
    };

    let stderr = fails(&mut import(&file), 2);
    assert!(stderr.contains("record 17: "), "{stderr}");
    let (first, last) = (ENTRIES, ENTRIES + 9);
    assert!(stderr.contains(&format!("the 10 records before its batch are imported (seq {first}–{last})")), "{stderr}");
    assert!(stderr.contains("import the records from record 11 on"), "{stderr}");
    assert!(!stderr.contains("; nothing was written"), "the refusal's own words would deny the first batch: {stderr}");
    assert_eq!(fixture.log_lines().len(), ENTRIES + 10, "the first batch stays, nothing after it is written");
    assert_eq!(fixture.verify_json()["ok"], true);

    // The rest, corrected, with receipts: 15 records as batches of 10 and 5.
    let rest: String = interviews(25, None).lines().skip(10).map(|line| format!("{line}\n")).collect();
    std::fs::write(&file, rest).unwrap();
    let receipts = fixture.root.join("rest.jsonl");
    let stdout = ok(import(&file).arg("--receipt").arg(&receipts));
    let (first, last) = (ENTRIES + 10, ENTRIES + 24);
    assert!(stdout.starts_with(&format!("imported 15 records as seq {first}–{last}; head ")), "{stdout}");
    let checked = check_receipt(&fixture, &receipts, &log_vkey(&fixture));
    let (out, _) = common::output_text(&checked);
    assert!(checked.status.success(), "{out}");
    assert_eq!(out.lines().filter(|line| line.starts_with("OK: seq ")).count(), 15, "{out}");
    assert_eq!(fixture.verify_json()["ok"], true);

    // A batch size outside 1..=1,000,000 is a usage error, before anything is read.
    for size in ["0", "1000001"] {
        let stderr =
            fails(fixture.cmd().arg("import").arg(&file).arg("--key").arg(&fixture.qian).args(["--batch", size]), 2);
        assert!(stderr.contains("--batch"), "{stderr}");
    }
    assert_eq!(fixture.log_lines().len(), ENTRIES + 25);
}

#[test]
fn a_batched_import_to_a_server_sends_a_request_a_batch_and_stops_at_the_refused_one() {
    let fixture = Fixture::build();
    let server = Server::start(&fixture.ledger, &[]);
    let url = format!("http://{}", server.address);
    let file = fixture.root.join("import.jsonl");
    std::fs::write(&file, interviews(7, Some(6))).unwrap();
    let output = lianlog()
        .current_dir(&fixture.root)
        .args(["--server", &url, "--json", "import"])
        .arg(&file)
        .arg("--key")
        .arg(&fixture.qian)
        .args(["--batch", "3"])
        .output()
        .unwrap();
    let (stdout, stderr) = common::output_text(&output);
    assert_eq!(output.status.code(), Some(2), "stdout: {stdout}\nstderr: {stderr}");
    // The batches before the refused one are imported, and said so on standard output.
    let answer: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!((answer["imported"].clone(), answer["first_seq"].clone()), (json!(3), json!(ENTRIES)), "{answer}");
    assert!(stderr.contains("the batch of records 4–6 (numbered 1–3 within it): record 3: "), "{stderr}");
    assert!(stderr.contains("import the records from record 4 on"), "{stderr}");
    drop(server);
    assert_eq!(fixture.log_lines().len(), ENTRIES + 3);
}
