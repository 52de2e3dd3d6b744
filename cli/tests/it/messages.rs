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

// Item 7: messages that point the right way.

/// One refused command of the table: its arguments after `lianlog --ledger LEDGER` (`{root}`
/// is the fixture's directory, `{qian}` the officer's key file), the exit code, the fragments its
/// message must hold, and one it must not.
struct Refused {
    args: &'static [&'static str],
    stdin: &'static str,
    code: i32,
    says: &'static [&'static str],
    not: &'static str,
}

#[test]
fn refused_commands_say_what_is_wrong_and_what_to_do() {
    let fixture = Fixture::build();
    let root = fixture.root.display().to_string();
    let qian = fixture.qian.display().to_string();
    std::fs::write(fixture.root.join("body.json"), interview_body("张三", "约谈提醒").to_string()).expect("write");
    std::fs::write(fixture.root.join("vkey.txt"), format!("{}\n", fixture.vkey(&fixture.qian))).expect("write");
    std::fs::write(fixture.root.join("bare.jsonl"), format!("{}\n", interview_body("张三", "约谈提醒")))
        .expect("write");
    let table = [
        Refused {
            args: &["append", "interview", "--key", "{root}", "--body", "{root}/body.json"],
            stdin: "",
            code: 4,
            says: &["it is a directory", "a key file must be a regular file"],
            not: "chmod",
        },
        Refused {
            args: &["append", "interview", "--key", "{root}/body.json", "--body", "{root}/body.json"],
            stdin: "",
            code: 4,
            says: &["not a PEM private key file: it is a JSON file", "lianlog key new NAME --out FILE"],
            not: "lianlog key name: NAME",
        },
        Refused {
            args: &["append", "interview", "--key", "{root}/vkey.txt", "--body", "{root}/body.json"],
            stdin: "",
            code: 4,
            says: &["it is a verifier key (vkey), the public half", "--key takes the private key file"],
            not: "lianlog key name: NAME",
        },
        Refused {
            args: &["key", "new", "张三", "--out", "{root}/zhang.pem"],
            stdin: "",
            code: 2,
            says: &["ASCII only", "officer.zhang", "--holder-name"],
            not: "\u{0}",
        },
        Refused {
            args: &["append", "interview", "--key", "{qian}", "--body", "{root}/missing.json"],
            stdin: "",
            code: 2,
            says: &["missing.json: No such file or directory (os error 2); check the path"],
            not: "make a key",
        },
        Refused {
            args: &["import", "{root}/missing.jsonl", "--key", "{qian}"],
            stdin: "",
            code: 2,
            says: &["missing.jsonl: No such file or directory (os error 2); check the path"],
            not: "make a key",
        },
        Refused {
            args: &["import", "{root}/bare.jsonl", "--key", "{qian}"],
            stdin: "",
            code: 2,
            says: &[
                "line 1: this looks like a bare record body",
                r#"{"kind":"interview","body":{…}}"#,
                "lianlog append KIND",
            ],
            not: "kind: missing",
        },
        Refused {
            args: &["show", "99"],
            stdin: "",
            code: 2,
            says: &["there is no entry 99: the ledger has 10 entries (seq 0 to 9)"],
            not: "state asked about",
        },
        Refused {
            args: &["disclose", "P-9999", "--key", "{qian}", "--out", "{root}/package.json"],
            stdin: "",
            code: 2,
            says: &["no record names person P-9999", "nothing was written"],
            not: "\u{0}",
        },
        Refused {
            args: &[
                "snapshot",
                "restore",
                "{root}/none.tar.zst",
                "--into",
                "{root}/restored",
                "--log-key",
                "{root}/log-key.pem",
            ],
            stdin: "",
            code: 4,
            says: &["cannot read the log key", "lianlog key export-log-key", "can never be it"],
            not: "make a key with",
        },
        Refused {
            // Every field with a problem, each with its Chinese label, in one round.
            args: &["append", "interview", "--key", "{qian}"],
            stdin: r#"{"interview_type":"reminder","subjects":[{"id":"P-1","name":"张三","unit":""}],"held_on":"2025-13-01"}"#,
            code: 2,
            says: &[
                "problems in the body:",
                "body.subjects[0].unit: must not be empty (谈话对象第1项·所在单位)",
                "body.held_on: \"2025-13-01\" is not a real date YYYY-MM-DD (",
                "body.interviewers: missing (",
                "body.reason: missing (",
            ],
            not: "\u{0}",
        },
    ];
    let before = fixture.state();
    for refused in &table {
        let args: Vec<String> =
            refused.args.iter().map(|arg| arg.replace("{root}", &root).replace("{qian}", &qian)).collect();
        let mut command = fixture.cmd();
        command.args(&args).write_stdin(refused.stdin);
        let (_, stderr) = expect(&mut command, refused.code, refused.says);
        assert!(!stderr.contains(refused.not), "{args:?}: {stderr}");
        assert!(stderr.starts_with("lianlog: error: "), "{args:?}: {stderr}");
    }
    assert_eq!(fixture.state(), before, "refused commands change nothing");
}

#[test]
fn more_than_twenty_problems_are_reported_twenty_at_a_time() {
    let fixture = Fixture::build();
    let mut body = serde_json::Map::new();
    for n in 0..30 {
        body.insert(format!("extra_{n:02}"), json!(1));
    }
    let body = serde_json::Value::Object(body).to_string();
    let (_, stderr) = expect(
        &mut append_file(&fixture, "interview", body.as_bytes(), &fixture.qian),
        2,
        &["more than 20 problems in the body:", "body.extra_00: unknown field", "the first 20 are shown"],
    );
    assert_eq!(stderr.matches("\n  - ").count(), 20, "{stderr}");
}

#[test]
fn a_leading_byte_order_mark_is_accepted_in_a_body_and_an_import() {
    let fixture = Fixture::build();
    let body = format!("\u{feff}{}", interview_body("张三", "约谈提醒"));
    expect(&mut append_file(&fixture, "interview", body.as_bytes(), &fixture.qian), 0, &["appended seq 10"]);
    let line = json!({"kind": "interview", "body": interview_body("王五", "约谈提醒")});
    std::fs::write(fixture.root.join("one.jsonl"), format!("\u{feff}{line}\r\n")).expect("write");
    let mut command = fixture.cmd();
    command.args(["import"]).arg(fixture.root.join("one.jsonl")).arg("--key").arg(&fixture.qian);
    let (stdout, _) = expect(&mut command, 0, &["imported 1 record as seq 11;"]);
    assert!(!stdout.contains("records"), "{stdout}");
    let two = format!("{line}\n{line}\n");
    let mut command = fixture.cmd();
    command.args(["import", "-", "--key"]).arg(&fixture.qian).write_stdin(two);
    expect(&mut command, 0, &["imported 2 records as seq 12–13;"]);
    expect(fixture.cmd().args(["dossier", "P-1001"]), 0, &["records"]);
}

#[test]
fn as_of_a_date_after_the_last_entry_is_the_current_state() {
    let fixture = Fixture::build();
    let (now, _) = expect(fixture.cmd().args(["dossier", "P-1001"]), 0, &[]);
    let (later, stderr) = expect(fixture.cmd().args(["dossier", "P-1001", "--as-of", "2099-12-31"]), 0, &[]);
    assert_eq!(now, later, "{stderr}");
}

#[test]
fn a_log_changed_behind_the_store_is_named_and_verify_does_not_send_you_to_itself() {
    let fixture = Fixture::build();
    // The last entry cut off: the log itself is still a valid (shorter) ledger.
    fixture.tamper(|lines| {
        lines.pop();
    });
    let (stdout, stderr) =
        expect(fixture.cmd().arg("verify"), 1, &["entries were removed from the log, or an earlier entry was changed"]);
    assert!(!stdout.contains("lianlog verify") && !stderr.contains("lianlog verify"), "{stdout}\n{stderr}");
    expect(fixture.cmd().arg("log"), 1, &["`lianlog verify` names the first entry that differs", "lianlog reindex"]);
}

#[test]
fn append_without_a_body_on_a_terminal_says_it_reads_standard_input() {
    if std::process::Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: util-linux `script` (to give lianlog a terminal) is not installed");
        return;
    }
    let fixture = Fixture::build();
    let binary = assert_cmd::cargo::cargo_bin("lianlog");
    let output = std::process::Command::new("script")
        .args(["-qec"])
        .arg(format!(
            "{} --ledger {} append interview --key {}",
            binary.display(),
            fixture.ledger.display(),
            fixture.qian.display()
        ))
        .arg("/dev/null")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            let mut stdin = child.stdin.take().expect("stdin");
            // Ctrl-D ends the input on the terminal: an empty body, refused.
            stdin.write_all(b"\x04")?;
            drop(stdin);
            child.wait_with_output()
        })
        .expect("run script");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("reading JSON from standard input"), "{text}");
    assert!(text.contains("Ctrl-D"), "{text}");
}

#[test]
fn a_checked_disclosure_package_counts_its_records_in_words() {
    let fixture = Fixture::build();
    let joint = json!({
        "report_id": "R-2025-003",
        "subjects": [crate::common::person("P-1001", "张三", "市住建局"), crate::common::person("P-2002", "赵六", "市水务局")],
        "source": "petition",
        "summary": "反映张三与赵六在项目招标中违规",
        "received_on": "2025-06-02",
    });
    fixture.append("report.received", &joint, &fixture.qian).success();
    let package = fixture.root.join("P-2002.json");
    let mut command = fixture.cmd();
    command.args(["disclose", "P-2002", "--out"]).arg(&package).arg("--key").arg(&fixture.sun);
    expect(&mut command, 0, &[]);
    let vkey = fixture.verify_json()["log_key"].as_str().expect("log key").to_string();
    let mut command = lianlog();
    command.args(["check", "disclosure"]).arg(&package).args(["--vkey", &vkey]);
    let (stdout, _) =
        expect(&mut command, 0, &["OK: 1 record about P-2002 is in", "authorized at the time:\n  seq 10"]);
    assert!(!stdout.contains("1 records"), "{stdout}");
}

// Item 8: time and language.

#[test]
fn tables_show_china_time_and_say_so_whatever_the_host_zone() {
    let fixture = Fixture::build();
    let (json_out, _) = expect(fixture.cmd().args(["show", "0", "--json"]), 0, &[]);
    let shown: serde_json::Value = serde_json::from_str(&json_out).expect("JSON");
    let utc = ["/entry/time", "/time"].iter().find_map(|p| shown.pointer(p)).and_then(|t| t.as_str()).expect("time");
    let utc = lianlog_ledger::Timestamp::parse(utc).expect("a timestamp");
    let china = lianlog_ledger::Timestamp::from_millis(utc.as_millis() + 8 * 3600 * 1000).to_string();
    let china = format!("{} {}", &china[..10], &china[11..19]);
    for zone in ["UTC", "America/New_York", "Asia/Shanghai"] {
        let (stdout, _) = expect(fixture.cmd().arg("log").env("TZ", zone), 0, &["时间(北京时间) time (UTC+8)"]);
        assert!(stdout.contains(&china), "TZ={zone}: {china} expected in\n{stdout}");
        expect(fixture.cmd().args(["show", "0"]).env("TZ", zone), 0, &[&format!("{china} 北京时间 (UTC ")]);
    }
}

#[test]
fn verify_reports_in_both_languages() {
    let fixture = Fixture::build();
    expect(
        fixture.cmd().arg("verify"),
        0,
        &[
            "完整性校验通过 verified",
            "来源 origin",
            "日志密钥 log key",
            "条数 entries",
            "链头 head",
            "根哈希 root",
            "用时 time",
        ],
    );
    fixture.tamper(|lines| {
        let text = String::from_utf8(lines[5].clone()).expect("UTF-8");
        lines[5] = text.replacen("张三", "李四", 1).into_bytes();
    });
    expect(fixture.cmd().args(["verify", "--log-only"]), 1, &["完整性校验失败 verification FAILED for"]);
}

// Item 10: keys.

#[test]
fn key_new_encrypt_requires_a_passphrase_of_some_strength() {
    let fixture = Fixture::keys_only();
    let file = fixture.root.join("weak.pem");
    for weak in ["1", "123456789012", "Password1234"] {
        let mut command = lianlog();
        command.args(["key", "new", "officer.zhou", "--encrypt", "--out"]).arg(&file).env("LIANLOG_PASSPHRASE", weak);
        expect(&mut command, 2, &["the passphrase is too weak", "at least 12 characters", "--weak-passphrase-ok"]);
        assert!(!file.exists(), "{weak}: nothing is written");
    }
    let mut command = lianlog();
    command
        .args(["key", "new", "officer.zhou", "--encrypt", "--weak-passphrase-ok", "--out"])
        .arg(&file)
        .env("LIANLOG_PASSPHRASE", "1");
    expect(&mut command, 0, &["officer.zhou+"]);
    let strong = fixture.root.join("strong.pem");
    let mut command = lianlog();
    command
        .args(["key", "new", "officer.wu", "--encrypt", "--out"])
        .arg(&strong)
        .env("LIANLOG_PASSPHRASE", "river Tiger 7 lamp violet");
    expect(&mut command, 0, &["officer.wu+"]);
    // The log key's backup copy follows the same rule.
    let fixture = Fixture::build();
    let mut command = fixture.cmd();
    command
        .args(["key", "export-log-key", "--encrypt", "--out"])
        .arg(fixture.root.join("log-key.pem"))
        .env("LIANLOG_PASSPHRASE", "short");
    expect(&mut command, 2, &["the passphrase is too weak"]);
}

#[test]
fn every_key_path_that_is_a_fifo_is_refused_without_hanging() {
    let fixture = Fixture::build();
    let fifo = fixture.root.join("key.fifo");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo").success());
    let fifo = fifo.display().to_string();
    let restored = fixture.root.join("restored").display().to_string();
    let vkey = fixture.vkey(&fixture.sun);
    let cases: [Vec<&str>; 4] = [
        vec!["snapshot", "restore", "any.tar.zst", "--into", &restored, "--log-key", &fifo],
        vec!["key", "revoke", &vkey, "--reason", "离任", "--key", &fifo],
        vec!["redact", "4", "--reason", "隐私", "--key", &fifo],
        vec!["disclose", "P-1001", "--out", "package.json", "--key", &fifo],
    ];
    for args in cases {
        let mut command = fixture.cmd();
        command.args(&args).timeout(std::time::Duration::from_secs(20));
        expect(&mut command, 4, &["key.fifo", "not a regular file"]);
    }
}
