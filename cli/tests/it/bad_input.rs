//! Refused commands: each exits with its documented code (2 bad input, 3 unauthorized, 4 key
//! problem, 5 not a ledger, 6 locked), says what is wrong, and leaves the ledger as it was (the
//! bytes of every file under LEDGER/log and the verified head).

use std::path::Path;

use crate::common::{self, Fixture, interview_body, lianlog, output_text};
use serde_json::json;

/// Run `command`, expect exit code `code` and every fragment in stderr; returns stderr.
fn assert_refused(command: &mut assert_cmd::Command, code: i32, fragments: &[&str]) -> String {
    let output = command.output().expect("run lianlog");
    let (stdout, stderr) = output_text(&output);
    assert_eq!(output.status.code(), Some(code), "stdout: {stdout}\nstderr: {stderr}");
    for fragment in fragments {
        assert!(stderr.contains(fragment), "expected {fragment:?} in stderr: {stderr}");
    }
    assert!(stderr.starts_with("lianlog: error: "), "one clear error line: {stderr}");
    stderr
}

/// `lianlog append interview --key KEY` with `body` as raw standard input.
fn append_raw(fixture: &Fixture, body: &str, key: &Path) -> assert_cmd::Command {
    let mut command = fixture.cmd();
    command.args(["append", "interview", "--key"]).arg(key).write_stdin(body.to_string());
    command
}

#[test]
fn a_malformed_json_body_is_refused() {
    let fixture = Fixture::build();
    let before = fixture.state();
    let stderr =
        assert_refused(&mut append_raw(&fixture, "{\"reason\": \"约谈\",", &fixture.qian), 2, &["not valid JSON"]);
    assert!(stderr.contains("standard input: line 1"), "{stderr}");
    assert_eq!(fixture.state(), before);
}

#[test]
fn an_import_line_with_an_unknown_field_is_refused() {
    let fixture = Fixture::build();
    let before = fixture.state();
    let lines = [
        json!({"kind": "interview", "body": interview_body("张三", "约谈提醒")}),
        json!({"kind": "interview", "body": interview_body("王五", "约谈提醒"), "x": 1}),
    ];
    let input: String = lines.iter().map(|line| format!("{line}\n")).collect();
    let mut command = fixture.cmd();
    command.args(["import", "-", "--key"]).arg(&fixture.qian).write_stdin(input);
    assert_refused(&mut command, 2, &["line 2", "x: unknown field", "only kind and body"]);
    assert_eq!(fixture.state(), before);
}

#[test]
fn a_fractional_number_in_a_body_is_refused() {
    let fixture = Fixture::build();
    let before = fixture.state();
    let body = r#"{"reason":"约谈提醒","score":1.5}"#;
    assert_refused(&mut append_raw(&fixture, body, &fixture.qian), 2, &["body.score", "1.5 is not an integer"]);
    let exponent = r#"{"reason":"约谈提醒","count":1e3}"#;
    assert_refused(&mut append_raw(&fixture, exponent, &fixture.qian), 2, &["body.count", "not an integer"]);
    assert_eq!(fixture.state(), before);
}

#[test]
fn a_body_that_is_not_an_object_is_refused() {
    let fixture = Fixture::build();
    let before = fixture.state();
    for body in [r#"["约谈提醒"]"#, r#""约谈提醒""#, "42", "null"] {
        assert_refused(&mut append_raw(&fixture, body, &fixture.qian), 2, &["body: must be a JSON object"]);
    }
    assert_eq!(fixture.state(), before);
}

/// BUG: a missing `--key` file exits 7 (I/O error), although `lianlog --help` lists "4 key file
/// problem" (and 7 as "disk full, permissions").
#[test]

fn a_missing_key_file_is_a_key_problem() {
    let fixture = Fixture::build();
    let before = fixture.state();
    let missing = fixture.root.join("no-such-key.pem");
    let body = interview_body("张三", "约谈提醒").to_string();
    assert_refused(&mut append_raw(&fixture, &body, &missing), 4, &["no-such-key.pem"]);
    assert_eq!(fixture.state(), before);
}

/// BUG: every I/O error message says its cause twice, e.g.
/// `cannot read key file K: No such file or directory (os error 2): No such file or directory (os error 2)`:
/// `Error::io` puts the `std::io::Error` in the message and also keeps it as the source, and
/// `main` prints the error with its chain (`{err:#}`).
#[test]

fn io_error_messages_say_their_cause_once() {
    let fixture = Fixture::build();
    let missing = fixture.root.join("no-such-key.pem");
    let body = interview_body("张三", "约谈提醒").to_string();
    let output = append_raw(&fixture, &body, &missing).output().unwrap();
    let stderr = output_text(&output).1;
    assert!(stderr.contains("no-such-key.pem"), "{stderr}");
    assert_eq!(stderr.matches("No such file or directory").count(), 1, "the cause is said once: {stderr}");

    let mut command = fixture.cmd();
    command.args(["append", "interview", "--key"]).arg(&fixture.qian).args(["--body", "/no/such/body.json"]);
    let stderr = output_text(&command.output().unwrap()).1;
    assert!(stderr.contains("/no/such/body.json"), "{stderr}");
    assert_eq!(stderr.matches("No such file or directory").count(), 1, "the cause is said once: {stderr}");
}

#[test]
fn a_file_that_is_not_a_key_is_refused() {
    let fixture = Fixture::build();
    let before = fixture.state();
    let body = interview_body("张三", "约谈提醒").to_string();
    let write_0600 = |name: &str, text: &str| {
        use std::os::unix::fs::PermissionsExt as _;
        let path = fixture.root.join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path
    };

    let text = write_0600("notes.pem", "约谈记录，不是密钥\n");
    assert_refused(&mut append_raw(&fixture, &body, &text), 4, &["notes.pem"]);

    // A vkey (the public half) saved where the private key file should be.
    let public = write_0600("public.pem", &format!("{}\n", fixture.vkey(&fixture.qian)));
    assert_refused(&mut append_raw(&fixture, &body, &public), 4, &["public.pem"]);

    let garbage =
        "lianlog key name: officer.qian\n-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n";
    let garbage = write_0600("garbage.pem", garbage);
    assert_refused(
        &mut append_raw(&fixture, &body, &garbage),
        4,
        &["garbage.pem", "not an Ed25519 PKCS#8 private key"],
    );
    assert_eq!(fixture.state(), before);
}

#[test]
fn a_key_file_readable_by_others_is_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let fixture = Fixture::build();
    let before = fixture.state();
    std::fs::set_permissions(&fixture.qian, std::fs::Permissions::from_mode(0o644)).unwrap();
    let body = interview_body("张三", "约谈提醒").to_string();
    assert_refused(&mut append_raw(&fixture, &body, &fixture.qian), 4, &["mode 644", "chmod 600"]);
    assert_eq!(fixture.state(), before);

    std::fs::set_permissions(&fixture.qian, std::fs::Permissions::from_mode(0o600)).unwrap();
    fixture.append("interview", &interview_body("张三", "约谈提醒"), &fixture.qian).success();
}

#[test]
fn a_revoked_key_cannot_append() {
    let fixture = Fixture::build();
    let vkey = fixture.vkey(&fixture.sun);
    let mut revoke = fixture.cmd();
    revoke.args(["key", "revoke", &vkey, "--reason", "调离纪检岗位", "--key"]).arg(&fixture.admin);
    assert_appended_at(revoke.assert().success(), 10);
    let before = fixture.state();
    let stderr = assert_refused(
        &mut append_raw(&fixture, &interview_body("张三", "约谈提醒").to_string(), &fixture.sun),
        3,
        &["officer.sun+", "was revoked at seq 10", "调离纪检岗位"],
    );
    assert!(stderr.contains("record.author"), "{stderr}");
    assert_eq!(fixture.state(), before);
}

/// Check the `appended seq N …` line that `append`, `key grant` and `key revoke` print.
fn assert_appended_at(assert: assert_cmd::assert::Assert, seq: u64) {
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(stdout.starts_with(&format!("appended seq {seq} entry hash ")), "{stdout}");
}

#[test]
fn a_key_without_the_role_cannot_append() {
    let fixture = Fixture::build();
    let before = fixture.state();
    assert_refused(
        &mut append_raw(&fixture, &interview_body("张三", "约谈提醒").to_string(), &fixture.auditor),
        3,
        &["auditor.li+", "lacks the role officer", "kind interview", "it holds auditor"],
    );
    // An officer may not grant keys either.
    let mut grant = fixture.cmd();
    grant
        .args(["key", "grant", &fixture.vkey(&fixture.auditor), "--role", "admin"])
        .args(["--holder-name", "李审计", "--holder-unit", "审计室", "--key"])
        .arg(&fixture.qian);
    assert_refused(&mut grant, 3, &["officer.qian+", "lacks the role admin"]);
    assert_eq!(fixture.state(), before);
}

#[test]
fn a_missing_ledger_directory_is_not_a_ledger() {
    let fixture = Fixture::keys_only();
    let body = interview_body("张三", "约谈提醒").to_string();
    assert_refused(&mut append_raw(&fixture, &body, &fixture.qian), 5, &["no ledger at", "does not exist"]);
    assert_refused(fixture.cmd().arg("log"), 5, &["does not exist"]);
    assert_refused(fixture.cmd().arg("verify"), 5, &["does not exist"]);
    assert!(!fixture.ledger.exists(), "a refused command creates no directory");

    // A directory that exists but holds no ledger.
    std::fs::create_dir(&fixture.ledger).unwrap();
    assert_refused(&mut append_raw(&fixture, &body, &fixture.qian), 5, &["is not a lianlog ledger", "lianlog.json"]);
    assert_eq!(std::fs::read_dir(&fixture.ledger).unwrap().count(), 0, "nothing written into it");
}

#[test]
fn a_locked_ledger_refuses_writers_but_still_verifies() {
    let fixture = Fixture::build();
    let before = fixture.state();
    let lock = std::fs::OpenOptions::new().write(true).open(fixture.ledger.join("lock")).expect("LEDGER/lock");
    lock.try_lock().expect("the test takes the ledger's lock");

    let body = interview_body("张三", "约谈提醒").to_string();
    let started = std::time::Instant::now();
    assert_refused(
        append_raw(&fixture, &body, &fixture.qian).args(["--wait", "1"]),
        6,
        &["in use by another process (waited 1 s)", "--wait SECONDS"],
    );
    assert!(started.elapsed() >= std::time::Duration::from_secs(1), "gave up before --wait");
    let mut import = fixture.cmd();
    import
        .args(["--wait", "0", "import", "-", "--key"])
        .arg(&fixture.qian)
        .write_stdin(format!("{{\"kind\":\"interview\",\"body\":{body}}}\n"));
    assert_refused(&mut import, 6, &["in use by another process"]);

    let output = fixture.cmd().args(["--json", "verify"]).output().unwrap();
    let (stdout, stderr) = output_text(&output);
    assert_eq!(output.status.code(), Some(0), "verify works while locked: {stdout}\n{stderr}");
    assert!(stderr.contains("verifying the log alone"), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!((&report["head"], &report["entries"]), (&before.head, &before.entries));

    drop(lock);
    assert_eq!(fixture.state(), before);
    assert_appended_at(fixture.append("interview", &interview_body("张三", "约谈提醒"), &fixture.qian).success(), 10);
}

#[test]
fn readers_answer_while_a_writer_holds_the_ledger() {
    let fixture = Fixture::build();
    let questions: &[&[&str]] = &[
        &["dossier", "P-1001"],
        &["--json", "dossier", "P-1001"],
        &["query", "--kind", "interview"],
        &["cases"],
        &["--json", "stats", "--by", "kind"],
        &["show", "5"],
        &["--json", "show", "9"],
        &["dossier", "P-1001", "--as-of", "6"],
        &["log"],
        &["--json", "log", "--last", "3"],
    ];
    let unlocked: Vec<String> = questions
        .iter()
        .map(|args| {
            let output = fixture.cmd().args(*args).output().unwrap();
            assert!(output.status.success(), "{args:?}: {}", output_text(&output).1);
            output_text(&output).0
        })
        .collect();
    let lock = std::fs::OpenOptions::new().write(true).open(fixture.ledger.join("lock")).expect("LEDGER/lock");
    lock.try_lock().expect("the test takes the ledger's lock");
    for (args, expected) in questions.iter().zip(&unlocked) {
        let started = std::time::Instant::now();
        // --wait 30: a reader must not use it.
        let output = fixture.cmd().args(["--wait", "30"]).args(*args).output().unwrap();
        let (stdout, stderr) = output_text(&output);
        assert!(output.status.success(), "{args:?} while locked: {stderr}");
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "{args:?} waited for the writer");
        assert!(stderr.contains("answering from its log as of seq 9"), "{args:?}: {stderr}");
        assert_eq!(&stdout, expected, "{args:?}: the same answer with and without the lock");
    }
    drop(lock);
}

/// A writer that lets go while a reader is verifying its log (an append holds the lock for
/// milliseconds): the reader answers whichever way is ready first, with the same answer, and
/// leaves no lock or process behind (the unit tests of `first_ready` pin which way wins).
#[test]
fn a_reader_answers_when_the_writer_lets_go_mid_way() {
    let fixture = Fixture::build();
    let expected = fixture.cmd().args(["dossier", "P-1001"]).output().unwrap();
    assert!(expected.status.success());
    let lock = std::fs::OpenOptions::new().write(true).open(fixture.ledger.join("lock")).expect("LEDGER/lock");
    lock.try_lock().expect("the test takes the ledger's lock");
    let reader = std::process::Command::new(assert_cmd::cargo::cargo_bin("lianlog"))
        .arg("--ledger")
        .arg(&fixture.ledger)
        .args(["dossier", "P-1001"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(50));
    drop(lock);
    let output = reader.wait_with_output().unwrap();
    assert!(output.status.success());
    assert_eq!(output_text(&output).0, output_text(&expected).0, "the same answer either way");
    assert_appended_at(fixture.append("interview", &interview_body("张三", "约谈提醒"), &fixture.qian).success(), 10);
}

#[test]
fn a_second_local_writer_waits_its_turn() {
    let fixture = Fixture::build();
    let lock = std::fs::OpenOptions::new().write(true).open(fixture.ledger.join("lock")).expect("LEDGER/lock");
    lock.try_lock().expect("the test takes the ledger's lock");
    let body = interview_body("张三", "约谈提醒").to_string();
    let mut writer = std::process::Command::new(assert_cmd::cargo::cargo_bin("lianlog"))
        .arg("--ledger")
        .arg(&fixture.ledger)
        .args(["--wait", "30", "append", "interview", "--key"])
        .arg(&fixture.qian)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut writer.stdin.take().unwrap(), body.as_bytes()).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    assert!(writer.try_wait().unwrap().is_none(), "the writer waits while the ledger is held");
    drop(lock);
    let output = writer.wait_with_output().unwrap();
    let (stdout, stderr) = output_text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_eq!(fixture.log_lines().len(), common::ENTRIES + 1, "appended once the lock was free");
}

/// An import is all or nothing: a bad third record of five keeps the first two out as well.
#[test]
fn an_import_with_a_bad_third_record_writes_nothing() {
    let fixture = Fixture::build();
    let before = fixture.state();
    let good = |name: &str| json!({"kind": "interview", "body": interview_body(name, "约谈提醒")});
    let import = |third: serde_json::Value| {
        let lines = [good("甲"), good("乙"), third, good("丁"), good("戊")];
        let mut command = fixture.cmd();
        command
            .args(["import", "-", "--key"])
            .arg(&fixture.qian)
            .write_stdin(lines.iter().map(|line| format!("{line}\n")).collect::<String>());
        command
    };

    let fraction = json!({"kind": "interview", "body": {"reason": "约谈提醒", "score": 2.5}});
    assert_refused(&mut import(fraction), 2, &["record 3", "body.score", "2.5 is not an integer"]);
    let not_an_object = json!({"kind": "interview", "body": ["丙"]});
    assert_refused(&mut import(not_an_object), 2, &["record 3", "must be a JSON object"]);
    let bad_kind = json!({"kind": "Interview", "body": interview_body("丙", "约谈提醒")});
    assert_refused(&mut import(bad_kind), 2, &["record 3", "\"Interview\" is not a lowercase dotted name"]);
    // An officer's batch with a record only an admin may sign: unauthorized, still nothing written.
    let grant = json!({"kind": "key.revoke", "body": {"key": "officer.sun", "reason": "调离"}});
    assert_refused(&mut import(grant), 3, &["record 3", "lacks the role admin"]);

    // Not even valid JSON on line 3.
    let mut command = fixture.cmd();
    let text = format!("{}\n{}\n{{\"kind\":\"interview\",\n{}\n{}\n", good("甲"), good("乙"), good("丁"), good("戊"));
    command.args(["import", "-", "--key"]).arg(&fixture.qian).write_stdin(text);
    assert_refused(&mut command, 2, &["standard input: line 3", "not valid JSON"]);

    assert_eq!(fixture.state(), before);
}

#[test]
fn init_refuses_a_non_empty_directory() {
    let fixture = Fixture::keys_only();
    std::fs::create_dir(&fixture.ledger).unwrap();
    std::fs::write(fixture.ledger.join("笔记.txt"), "已有文件").unwrap();
    let mut init = fixture.cmd();
    init.args(["init", "--origin", common::ORIGIN, "--key"]).arg(&fixture.admin).args([
        "--holder-name",
        "赵主任",
        "--holder-unit",
        "市纪委监委",
    ]);
    assert_refused(&mut init, 2, &["is not empty", "choose a new directory"]);
    let names: Vec<_> = std::fs::read_dir(&fixture.ledger).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["笔记.txt"], "nothing was added to the directory");

    // Nor does init start over on an existing ledger.
    let fixture = Fixture::build();
    let before = fixture.state();
    let mut init = fixture.cmd();
    init.args(["init", "--origin", "other.example/accountability", "--key"]).arg(&fixture.admin).args([
        "--holder-name",
        "赵主任",
        "--holder-unit",
        "市纪委监委",
    ]);
    assert_refused(&mut init, 2, &["is not empty"]);
    assert_eq!(fixture.state(), before);
}

#[test]
fn a_newer_format_is_refused() {
    let fixture = Fixture::build();
    let before = fixture.state();
    let meta = fixture.ledger.join("lianlog.json");
    std::fs::write(&meta, format!("{}\n", json!({"format": 2, "origin": common::ORIGIN}))).unwrap();

    let newer = ["written by a newer lianlog", "format 2", "upgrade lianlog"];
    let body = interview_body("张三", "约谈提醒").to_string();
    assert_refused(&mut append_raw(&fixture, &body, &fixture.qian), 5, &newer);
    assert_refused(fixture.cmd().arg("log"), 5, &newer);
    assert_refused(fixture.cmd().arg("verify"), 5, &newer);
    assert_refused(fixture.cmd().arg("reindex"), 5, &newer);
    assert_eq!(fixture.log_files(), before.files);

    std::fs::write(&meta, format!("{}\n", json!({"format": 1, "origin": common::ORIGIN}))).unwrap();
    assert_eq!(fixture.state(), before);
}

/// A usage error (an unknown subcommand) is exit code 2 too, and names what was not understood.
#[test]
fn an_unknown_command_is_a_usage_error() {
    let output = lianlog().arg("frobnicate").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(output_text(&output).1.contains("frobnicate"));
}

/// A JSON object that names a member twice is refused — a body on standard input or from a file,
/// an import line (even its `kind`), a `--replacement` file — with the file, the line and the
/// duplicated member's field path; nothing is written. (serde_json alone keeps the last one.)
#[test]
fn duplicate_json_keys_are_refused_everywhere() {
    let fixture = Fixture::build();
    let before = fixture.state();
    let body = interview_body("张三", "约谈提醒").to_string();
    let doubled = body.replacen("\"reason\":", "\"reason\":\"另一个理由\",\"reason\":", 1);
    assert_ne!(doubled, body);
    assert_refused(
        &mut append_raw(&fixture, &doubled, &fixture.qian),
        2,
        &["standard input: line 1 column", "duplicate key `body.reason`"],
    );
    let nested = body.replacen("\"id\":\"P-1001\"", "\"id\":\"P-1001\",\"id\":\"P-9999\"", 1);
    assert_ne!(nested, body);
    let file = fixture.root.join("body.json");
    std::fs::write(&file, &nested).unwrap();
    let mut command = fixture.cmd();
    command.args(["append", "interview", "--key"]).arg(&fixture.qian).arg("--body").arg(&file);
    assert_refused(&mut command, 2, &["body.json: line 1 column", "duplicate key `body.subjects[0].id`"]);

    // An import line whose kind is given twice: the second would have won.
    let lines = format!(
        "{}\n{{\"kind\":\"interview\",\"body\":{body},\"kind\":\"key.grant\"}}\n",
        json!({"kind": "interview", "body": interview_body("王五", "约谈提醒")})
    );
    let mut command = fixture.cmd();
    command.args(["import", "-", "--key"]).arg(&fixture.qian).write_stdin(lines);
    assert_refused(&mut command, 2, &["standard input: line 2: duplicate key `kind`"]);

    // A replacement body for a redaction.
    let replacement = fixture.root.join("replacement.json");
    std::fs::write(&replacement, r#"{"reason":"已删除","reason":"张三的全部细节"}"#).unwrap();
    let mut command = fixture.cmd();
    command
        .args(["redact", "5", "--reason", "依申请删除", "--key"])
        .arg(&fixture.admin)
        .arg("--replacement")
        .arg(&replacement);
    assert_refused(&mut command, 2, &["replacement.json: line 1 column", "duplicate key `replacement.reason`"]);
    assert_eq!(fixture.state(), before);
}

/// Invisible bidirectional controls are refused in names and identifiers (a person's id or name,
/// a key holder's name), with the field path; nothing is written.
#[test]
fn bidi_controls_are_refused_in_names_and_identifiers() {
    let fixture = Fixture::build();
    let before = fixture.state();
    let mut body = interview_body("张三", "约谈提醒");
    body["subjects"][0]["id"] = json!("P-1001\u{202E}3");
    assert_refused(&mut append_raw(&fixture, &body.to_string(), &fixture.qian), 2, &["body.subjects[0].id", "U+202E"]);
    let mut body = interview_body("张三", "约谈提醒");
    body["interviewers"][0]["name"] = json!("钱\u{2067}干事");
    assert_refused(
        &mut append_raw(&fixture, &body.to_string(), &fixture.qian),
        2,
        &["body.interviewers[0].name", "U+2067"],
    );
    let newcomer = fixture.root.join("officer.zhou.pem");
    lianlog().args(["key", "new", "officer.zhou", "--out"]).arg(&newcomer).assert().success();
    let vkey = fixture.vkey(&newcomer);
    let mut command = fixture.cmd();
    command
        .args([
            "key",
            "grant",
            &vkey,
            "--role",
            "officer",
            "--holder-name",
            "周\u{202E}干事",
            "--holder-unit",
            "案件审理室",
            "--key",
        ])
        .arg(&fixture.admin);
    assert_refused(&mut command, 2, &["body.holder.name", "U+202E"]);
    assert_eq!(fixture.state(), before);
}

/// A ledger that already holds bidirectional controls — in free text, and in a key holder's name
/// written before they were refused — still opens and verifies, and the terminal shows them as
/// a visible `<U+202E>`; `--json` keeps the exact values.
#[test]
fn bidi_controls_in_an_old_ledger_are_shown_escaped() {
    use lianlog_ledger::record::{Entry, Record, StoredBody, StoredLine, body_hash};
    let fixture = Fixture::build();
    // Free text may hold them.
    fixture.append("interview", &interview_body("王五", "理由\u{202E}甲乙"), &fixture.sun).success();
    // A grant whose holder name holds one, signed by the admin as an older lianlog wrote it.
    let admin = lianlog_ledger::SecretKey::read_file(&fixture.admin, &mut || unreachable!()).unwrap();
    let newcomer = fixture.root.join("officer.zhou.pem");
    lianlog().args(["key", "new", "officer.zhou", "--out"]).arg(&newcomer).assert().success();
    let lines = fixture.log_lines();
    let last = lianlog_ledger::ParsedLine::parse(lines.last().unwrap()).unwrap();
    let grant = json!({"key": fixture.vkey(&newcomer), "roles": ["officer"], "holder": {"name": "周\u{202E}干事", "unit": "案件审理室"}});
    let salt = [7; 16];
    let time = last.line.entry.time;
    let record = Record {
        v: 1,
        ledger: common::ORIGIN.into(),
        kind: "key.grant".into(),
        author: admin.public().identity(),
        created: time,
        body_hash: body_hash(&salt, &lianlog_ledger::canonical::encode(&grant, "body").unwrap()),
    };
    let sig = record.sign(&admin);
    let line = StoredLine {
        entry: Entry { seq: last.line.entry.seq + 1, prev: last.entry_hash, time, record, sig },
        body: StoredBody::Full { body: grant, salt },
    };
    let bytes = line.to_line().unwrap();
    fixture.tamper(|lines| lines.push(bytes[..bytes.len() - 1].to_vec()));
    fixture.remove_index();
    fixture.cmd().arg("verify").assert().success();

    for args in [&["log"][..], &["show", "10"], &["key", "list"], &["dossier", "P-1001"]] {
        let output = fixture.cmd().args(args).output().unwrap();
        let (stdout, stderr) = output_text(&output);
        assert!(output.status.success(), "{args:?}: {stderr}");
        for c in
            ['\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}']
        {
            assert!(!stdout.contains(c) && !stderr.contains(c), "{args:?} printed U+{:04X} raw: {stdout}", c as u32);
        }
        assert!(stdout.contains("<U+202E>"), "{args:?}: {stdout}");
    }
    let output = fixture.cmd().args(["--json", "show", "10"]).output().unwrap();
    assert!(!output_text(&output).0.contains('\u{202E}'), "escaped in JSON text");
    let shown: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(shown["body"]["reason"], "理由\u{202E}甲乙", "--json keeps the exact value");
    let output = fixture.cmd().args(["--json", "key", "list"]).output().unwrap();
    let keys: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(keys.to_string().contains("周\u{202E}干事"), "{keys}");
}

/// Item 5 of issue 12: the ledger never follows a symbolic link out of its directory for a file it
/// reads, writes or rewrites: `lianlog.json`, an intent, an item file of the derived store or a
/// segment that is a link is refused, naming it, and the link's target is left as it was.
#[test]
fn ledger_files_that_are_symbolic_links_are_refused_by_name() {
    let fixture = Fixture::build();
    let outside = fixture.root.join("outside");
    std::fs::create_dir(&outside).unwrap();
    for (name, appending) in [
        ("lianlog.json", false),
        ("import.intent", true),
        ("redact.intent", true),
        ("index/positions.bin", false),
        ("log/00000000000000000000.jsonl", false),
    ] {
        let copy = fixture.copy();
        let path = copy.ledger.join(name);
        let target = outside.join(name.replace('/', "_"));
        if path.exists() {
            std::fs::rename(&path, &target).unwrap();
        } else {
            std::fs::write(&target, b"{\"segment\":0,\"start\":0,\"length\":1}\n").unwrap();
        }
        std::os::unix::fs::symlink(&target, &path).unwrap();
        let before = std::fs::read(&target).unwrap();
        let mut command = copy.cmd();
        if appending {
            command
                .args(["append", "interview", "--key"])
                .arg(&copy.qian)
                .write_stdin(interview_body("张三", "约谈").to_string());
        } else {
            command.arg("log");
        }
        let stderr = assert_refused(&mut command, 7, &[name.rsplit('/').next().unwrap(), "symbolic link"]);
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert_eq!(std::fs::read(&target).unwrap(), before, "{name}: the link's target is untouched");
        assert!(
            std::fs::symlink_metadata(&path).unwrap().file_type().is_symlink(),
            "{name}: the link is left as it is"
        );
    }
}
