//! Messages that point the right way (issue 18): each message a newcomer tripped over, driven
//! through the real binary, with its exit code and the words that must be in it. A change to one
//! of these texts is a change to what officers and auditors read: change the test with it.

use std::path::Path;

use serde_json::json;

use crate::common::{Fixture, interview_body, lianlog, output_text};

/// Run `command`; expect exit code `code` and every fragment in stdout or stderr. Returns
/// (stdout, stderr).
fn expect(command: &mut assert_cmd::Command, code: i32, fragments: &[&str]) -> (String, String) {
    let output = command.output().expect("run lianlog");
    let (stdout, stderr) = output_text(&output);
    assert_eq!(output.status.code(), Some(code), "stdout: {stdout}\nstderr: {stderr}");
    for fragment in fragments {
        assert!(
            stdout.contains(fragment) || stderr.contains(fragment),
            "expected {fragment:?} in\nstdout: {stdout}\nstderr: {stderr}"
        );
    }
    (stdout, stderr)
}

/// `lianlog append KIND --key KEY --body FILE` with the body written to a file.
fn append_file(fixture: &Fixture, kind: &str, body: &[u8], key: &Path) -> assert_cmd::Command {
    let file = fixture.root.join("body.json");
    std::fs::write(&file, body).expect("write the body");
    let mut command = fixture.cmd();
    command.args(["append", kind, "--key"]).arg(key).arg("--body").arg(file);
    command
}

// Item 6: kinds are easy to find.

#[test]
fn append_help_lists_every_record_kind_with_its_chinese_label() {
    let (stdout, _) = expect(lianlog().args(["append", "--help"]), 0, &["docs/RECORDS.md", "lianlog append 约谈"]);
    for spec in lianlog_ledger::schema::record_kinds() {
        let line = stdout.lines().find(|line| line.trim_start().starts_with(&format!("{} ", spec.name)));
        let line = line.unwrap_or_else(|| panic!("{} is not listed in append --help:\n{stdout}", spec.name));
        assert!(line.contains(spec.label_zh), "{line}");
    }
}

#[test]
fn a_chinese_label_is_an_alias_and_a_typo_gets_the_nearest_kind() {
    let fixture = Fixture::build();
    let body = interview_body("张三", "约谈提醒").to_string();
    expect(&mut append_file(&fixture, "约谈", body.as_bytes(), &fixture.qian), 0, &["appended seq 10"]);
    let (stdout, _) = expect(fixture.cmd().args(["show", "10", "--json"]), 0, &[]);
    let shown: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(shown.pointer("/entry/record/kind").or(shown.get("kind")), Some(&json!("interview")), "{shown}");
    expect(
        &mut append_file(&fixture, "intervew", body.as_bytes(), &fixture.qian),
        2,
        &["unknown kind \"intervew\"", "Did you mean `interview` (约谈/谈话)?"],
    );
    expect(
        &mut append_file(&fixture, "问责决", body.as_bytes(), &fixture.qian),
        2,
        &["Did you mean `accountability.decision` (问责决定)?", "lianlog append --help"],
    );
}
