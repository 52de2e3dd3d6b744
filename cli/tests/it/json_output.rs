//! `--json` on every command (issue 18): each subcommand that produces output, run with `--json`,
//! prints exactly one JSON document on standard output; an error is one JSON object on standard
//! error, `{"error":{"code","exit","message"}}`, with the exit code of the text mode; flags that
//! choose another output are refused with `--json` (exit 2). The table below is the data: a
//! subcommand listed by `lianlog help` that the table does not run fails the test.

use std::path::Path;

use serde_json::{Value, json};

use crate::common::{Fixture, interview_body, lianlog, output_text};

/// Subcommands that are not run here, and why (none today: add one only with a reason).
const NOT_RUN: &[(&str, &str)] = &[
    ("witness serve", "a server that runs until stopped (its one JSON document is {\"listening\": ADDRESS})"),
    (
        "serve",
        "a server that runs until stopped (its one JSON document is {\"listening\", \"url\"}; tests in serve.rs)",
    ),
    ("monitor", "needs a served ledger: its --json documents (ok, and misbehaviour) are tested in monitor.rs"),
    (
        "login",
        "needs a served ledger: its --json document {\"url\", \"expires\", \"identity\", \"roles\"} is tested in web.rs",
    ),
    ("completions", "a shell script, not data: --json does not apply"),
    ("man", "man pages, not data: --json does not apply"),
];

/// The subcommand names `lianlog [GROUP] help` lists (`help` itself left out).
fn subcommands(group: &[&str]) -> Vec<String> {
    let output = lianlog().args(group).arg("help").output().expect("run lianlog help");
    let (stdout, _) = output_text(&output);
    let listing = stdout.split("Commands:").nth(1).unwrap_or_default();
    let listing = listing.split("Options:").next().unwrap_or_default();
    listing
        .lines()
        .filter(|line| line.starts_with("  ") && !line.starts_with("   "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

/// Run `lianlog --ledger LEDGER --json ARGS…` (stdin if given); it must succeed and print
/// exactly one JSON document on standard output, which is returned.
fn one_document(fixture: &Fixture, args: &[&str], stdin: Option<String>) -> Value {
    let mut command = fixture.cmd();
    command.arg("--json").args(args);
    if let Some(input) = stdin {
        command.write_stdin(input);
    }
    let output = command.output().expect("run lianlog");
    let (stdout, stderr) = output_text(&output);
    assert!(output.status.success(), "{args:?} failed: {stderr}");
    // `from_str` refuses anything after the first document, so one document is exactly one.
    serde_json::from_str(&stdout)
        .unwrap_or_else(|err| panic!("{args:?}: standard output is not one JSON document ({err}):\n{stdout}"))
}

fn path(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temporary path")
}

#[test]
fn every_command_prints_one_json_document() {
    let fixture = Fixture::build();
    let root = fixture.root.clone();
    let file = |name: &str| root.join(name).to_string_lossy().into_owned();
    let log_key = one_document(&fixture, &["verify"], None)["log_key"].as_str().expect("log_key").to_string();

    // Files the offline checks read, made with the text outputs.
    let text_of = |args: &[&str]| {
        let output = fixture.cmd().args(args).output().expect("run lianlog");
        assert!(output.status.success(), "{args:?}: {:?}", output_text(&output));
        output.stdout
    };
    let write = |name: &str, bytes: Vec<u8>| std::fs::write(root.join(name), bytes).expect("write a test file");
    write("cp5.txt", text_of(&["checkpoint", "--size", "5"]));
    write("cp10.txt", text_of(&["checkpoint"]));
    write("consistency.txt", text_of(&["prove", "consistency", "5", "10"]));
    write("inclusion.txt", text_of(&["prove", "inclusion", "4"]));
    write("entry4.json", text_of(&["show", "4", "--raw"]));
    let extra_vkey = {
        let output = lianlog().args(["key", "new", "auditor.zhou", "--out", &file("zhou.pem")]).output().unwrap();
        assert!(output.status.success());
        String::from_utf8(output.stdout).unwrap().trim().to_string()
    };
    let interview = interview_body("张三", "工程项目监管问题，约谈提醒").to_string();
    let import = format!("{}\n", json!({"kind": "interview", "body": interview_body("王五", "提醒谈话")}));

    type Case<'a> = (Vec<String>, Option<String>);
    let case = |args: &[&str]| -> Case { (args.iter().map(|a| a.to_string()).collect(), None) };
    let with_stdin = |args: &[&str], input: &str| -> Case { (case(args).0, Some(input.to_string())) };
    let cases: Vec<Case> = vec![
        case(&["key", "new", "officer.wu", "--out", &file("wu.pem")]),
        case(&["key", "show", path(&fixture.admin)]),
        case(&["key", "show", path(&fixture.admin), "--cosigner"]),
        case(&["key", "list"]),
        case(&["key", "export-log-key", "--out", &file("log-key-copy.pem")]),
        case(&[
            "key",
            "grant",
            &extra_vkey,
            "--role",
            "auditor",
            "--holder-name",
            "周审计",
            "--holder-unit",
            "审计室",
            "--key",
            path(&fixture.admin),
        ]),
        case(&["key", "revoke", &extra_vkey, "--reason", "调离", "--key", path(&fixture.admin)]),
        with_stdin(&["append", "interview", "--key", path(&fixture.qian), "--receipt", &file("r.jsonl")], &interview),
        with_stdin(&["import", "-", "--key", path(&fixture.qian)], &import),
        case(&["receipt", "refresh", "--receipt", &file("r.jsonl"), "--out", &file("r2.jsonl"), "--vkey", &log_key]),
        case(&["show", "4"]),
        case(&["log"]),
        case(&["verify"]),
        case(&["export", "--out", &file("export.jsonl")]),
        case(&["verify", "--file", &file("export.jsonl")]),
        case(&["checkpoint"]),
        case(&[
            "checkpoint",
            "cosign",
            &file("cp10.txt"),
            "--key",
            path(&fixture.auditor),
            "--vkey",
            &log_key,
            "--state",
            &file("witness-state"),
        ]),
        case(&[
            "witness",
            "add-log",
            "--origin",
            "jw.example.gov.cn/other",
            "--vkey",
            &log_key,
            "--state",
            &file("witness-state"),
        ]),
        case(&["witness", "list", "--state", &file("witness-state")]),
        case(&["witness", "remove", "--origin", "jw.example.gov.cn/other", "--state", &file("witness-state")]),
        case(&["prove", "inclusion", "4"]),
        case(&["prove", "consistency", "5", "10"]),
        case(&["check", "inclusion", &file("inclusion.txt"), "--entry", &file("entry4.json"), "--vkey", &log_key]),
        case(&[
            "check",
            "consistency",
            &file("consistency.txt"),
            "--old",
            &file("cp5.txt"),
            "--new",
            &file("cp10.txt"),
            "--vkey",
            &log_key,
        ]),
        case(&["disclose", "P-1001", "--out", &file("package.txt"), "--key", path(&fixture.qian)]),
        case(&["check", "disclosure", &file("package.txt"), "--vkey", &log_key]),
        case(&["reindex"]),
        case(&["replay"]),
        case(&["dossier", "P-1001"]),
        case(&["query", "--text", "工程"]),
        case(&["cases"]),
        case(&["overdue"]),
        case(&["stats"]),
        case(&["stats", "--by", "unit"]),
        case(&["opinion", "P-1001", "--purpose", "拟提拔任用", "--requested-by", "市委组织部"]),
        case(&["redact", "6", "--reason", "涉及个人隐私", "--key", path(&fixture.admin)]),
        case(&["snapshot", "create", "--out", &file("archives")]),
        case(&["snapshot", "list", &file("archives")]),
        case(&[
            "init",
            "--origin",
            "jw.example.gov.cn/second",
            "--key",
            path(&fixture.admin),
            "--holder-name",
            "赵主任",
            "--holder-unit",
            "市纪委监委",
        ]),
        case(&["demo", "--dir", &file("demo")]),
        case(&["kinds"]),
        case(&["bench", "--entries", "20", "--dir", &file("bench")]),
    ];
    let mut run = Vec::new();
    for (args, stdin) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        // `init` makes a second ledger: run it elsewhere.
        let value = if args[0] == "init" {
            let mut second = fixture.copy();
            second.ledger = second.root.join("second-ledger");
            one_document(&second, &args, stdin.clone())
        } else {
            one_document(&fixture, &args, stdin.clone())
        };
        assert!(!value.is_null(), "{args:?}: null");
        run.push(args.iter().take(2).map(|a| a.to_string()).collect::<Vec<_>>());
    }
    // The archive commands that need an archive made above.
    let archives: Vec<String> = std::fs::read_dir(root.join("archives"))
        .expect("the archive directory")
        .map(|item| item.expect("directory entry").path().to_string_lossy().into_owned())
        .collect();
    let archive = archives.first().expect("one archive").as_str();
    for args in [
        vec!["snapshot", "verify", archive],
        vec!["snapshot", "redact", archive, "--out", &file("archives-redacted")],
        vec!["snapshot", "restore", archive, "--into", &file("restored"), "--log-key", &file("log-key-copy.pem")],
    ] {
        one_document(&fixture, &args, None);
        run.push(args.iter().take(2).map(|a| a.to_string()).collect());
    }

    // Every subcommand, and every subcommand of a group, was run above.
    let ran = |name: &[&str]| run.iter().any(|args| args.iter().zip(name).all(|(a, b)| a == b));
    let exempt = |name: &str| NOT_RUN.iter().any(|(n, _)| *n == name);
    let names = subcommands(&[]);
    assert!(names.len() >= 20 && subcommands(&["key"]).len() >= 5, "the help lists the subcommands: {names:?}");
    for name in names {
        let group = subcommands(&[&name]);
        if group.is_empty() {
            assert!(ran(&[&name]) || exempt(&name), "`{name} --json` is not tested: add it to the table");
        }
        for sub in group {
            let full = format!("{name} {sub}");
            assert!(ran(&[&name, &sub]) || exempt(&full), "`{full} --json` is not tested: add it to the table");
        }
    }
}

/// The stderr JSON of a failed `lianlog --json …`, after checking that stdout is empty and that
/// the exit code is the one the error names.
fn json_error(output: &std::process::Output) -> Value {
    let (stdout, stderr) = output_text(output);
    assert!(stdout.is_empty(), "nothing on standard output: {stdout}");
    let value: Value = serde_json::from_str(&stderr)
        .unwrap_or_else(|err| panic!("standard error is not one JSON document ({err}):\n{stderr}"));
    let error = &value["error"];
    assert!(error["code"].is_string() && error["message"].is_string(), "{value}");
    assert_eq!(error["exit"].as_i64(), output.status.code().map(i64::from), "{value}");
    assert_eq!(value.as_object().map(|o| o.len()), Some(1), "only `error`: {value}");
    value
}

#[test]
fn errors_are_json_on_stderr_with_the_same_exit_code() {
    let temp = tempfile::tempdir().unwrap();
    let missing = temp.path().join("no-ledger");
    let output = lianlog().arg("--ledger").arg(&missing).args(["--json", "log"]).output().unwrap();
    let error = json_error(&output);
    assert_eq!(output.status.code(), Some(5));
    assert_eq!(error["error"]["code"], "NotALedger");
    assert!(error["error"]["message"].as_str().unwrap().contains("no ledger at"), "{error}");
    // The same error without --json is text, with the same exit code.
    let text = lianlog().arg("--ledger").arg(&missing).arg("log").output().unwrap();
    assert_eq!(text.status.code(), Some(5));
    assert!(output_text(&text).1.starts_with("lianlog: error: no ledger at"));

    // A usage error (clap's) is JSON too, exit 2.
    let output = lianlog().args(["--json", "nosuch"]).output().unwrap();
    let error = json_error(&output);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(error["error"]["code"], "BadInput");
}

#[test]
fn flags_that_choose_another_output_are_refused_with_json() {
    let fixture = Fixture::build();
    for args in [
        vec!["stats", "--csv", "--json"],
        vec!["--json", "stats", "--csv"],
        vec!["show", "4", "--raw", "--json"],
        vec!["--json", "show", "4", "--raw"],
        vec!["--json", "export"],
    ] {
        let output = fixture.cmd().args(&args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}: {:?}", output_text(&output));
        let error = json_error(&output);
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains("--json"), "{args:?}: the message names --json: {message}");
    }
}
