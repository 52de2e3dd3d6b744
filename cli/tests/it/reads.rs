//! The authenticated reads of `lianlog serve` through the CLI's `--server` paths: the same output
//! (standard output, standard error, exit code) as the local command on the same ledger, as text
//! and `--json`; an auditor's key gets no bodies; an unsigned or unknown caller gets nothing.

use std::path::Path;

use serde_json::Value;

use crate::common::{Fixture, lianlog, output_text};

use crate::serve::Server as Served;

/// What a command printed and how it ended.
#[derive(Debug, PartialEq)]
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(mut command: assert_cmd::Command) -> Outcome {
    let output = command.output().expect("run lianlog");
    let (stdout, stderr) = output_text(&output);
    Outcome { code: output.status.code(), stdout, stderr }
}

fn local(fixture: &Fixture, args: &[&str]) -> Outcome {
    let mut command = fixture.cmd();
    command.args(args);
    run(command)
}

fn remote(url: &str, identity: &Path, args: &[&str]) -> Outcome {
    let mut command = lianlog();
    command.args(["--server", url, "--identity"]).arg(identity).args(args);
    run(command)
}

/// The questions asked both ways, text and `--json`, answers and refusals.
const QUESTIONS: &[&[&str]] = &[
    &["show", "5"],
    &["show", "5", "--json"],
    &["show", "1", "--raw"],
    &["show", "99"],
    &["show", "4", "--as-of", "6"],
    &["log"],
    &["log", "--json"],
    &["log", "--last", "3"],
    &["log", "--from", "2", "--limit", "3", "--json"],
    &["dossier", "P-1001"],
    &["dossier", "P-1001", "--json", "--limit", "1", "--offset", "1"],
    &["dossier", "P-1001", "--as-of", "5"],
    &["query", "--kind", "interview"],
    &["query", "--json", "--text", "违反中央八项规定"],
    &["query", "--text", "约谈", "提醒"],
    &["query", "--since", "2025-03-05", "--until", "2030-01-01"],
    &["query", "--since", "yesterday"],
    &["cases"],
    &["cases", "--open", "--json"],
    &["overdue", "--on", "2030-01-01"],
    &["overdue", "--on", "2030-01-01", "--json"],
    &["stats", "--by", "unit"],
    &["stats", "--by", "kind", "--json"],
    &["stats", "--by", "month", "--csv"],
    &["stats", "--as-of", "2000-01-01"],
    &["stats", "--assessments"],
    &["stats", "--assessments", "--year", "2026", "--json"],
    &["checkpoint"],
    &["checkpoint", "--size", "5", "--json"],
    &["checkpoint", "--size", "11"],
    &["export"],
    &["export", "--without-bodies"],
];

#[test]
fn remote_answers_equal_local_answers_on_the_same_ledger() {
    let fixture = Fixture::build();
    let expected: Vec<Outcome> = QUESTIONS.iter().map(|args| local(&fixture, args)).collect();
    let served = Served::start(&fixture.ledger, &[]);
    for (args, expected) in QUESTIONS.iter().zip(&expected) {
        let got = remote(&served.url, &fixture.qian, args);
        assert_eq!(&got, expected, "lianlog {}", args.join(" "));
    }
    // The refusals above are refusals on both sides, with the same exit code; the rest answered.
    for (args, outcome) in QUESTIONS.iter().zip(&expected) {
        let refused =
            args.contains(&"99") || args.contains(&"yesterday") || args.contains(&"2000-01-01") || args.contains(&"11");
        assert_eq!(outcome.code, Some(if refused { 2 } else { 0 }), "lianlog {}: {outcome:?}", args.join(" "));
    }
    // An export written to a file: the same bytes and the same summary.
    let (local_file, remote_file) = (fixture.root.join("local.jsonl"), fixture.root.join("remote.jsonl"));
    drop(served);
    let local_summary = local(&fixture, &["export", "--json", "--out", local_file.to_str().unwrap()]);
    // A disclosure package: built by the server's ledger, signed here; the same bytes as local.
    let (local_package, remote_package) = (fixture.root.join("local.pkg"), fixture.root.join("remote.pkg"));
    let disclose = |out: &Path| {
        ["disclose", "P-1001", "--key", fixture.qian.to_str().unwrap(), "--out", out.to_str().unwrap()]
            .map(str::to_string)
    };
    let local_disclosed = run({
        let mut command = fixture.cmd();
        command.args(disclose(&local_package));
        command
    });
    assert_eq!(local_disclosed.code, Some(0), "{local_disclosed:?}");
    let served = Served::start(&fixture.ledger, &[]);
    let remote_disclosed = run({
        let mut command = lianlog();
        command.args(["--server", &served.url, "--identity"]).arg(&fixture.qian).args(disclose(&remote_package));
        command
    });
    assert_eq!(
        remote_disclosed.stdout.replace("remote.pkg", "local.pkg"),
        local_disclosed.stdout,
        "{remote_disclosed:?}"
    );
    assert_eq!(std::fs::read(&remote_package).unwrap(), std::fs::read(&local_package).unwrap());
    // An auditor's key cannot have one built.
    let refused =
        remote(&served.url, &fixture.auditor, &disclose(&fixture.root.join("a.pkg")).each_ref().map(String::as_str));
    assert_eq!(refused.code, Some(3), "{refused:?}");
    let remote_summary =
        remote(&served.url, &fixture.qian, &["export", "--json", "--out", remote_file.to_str().unwrap()]);
    assert_eq!(remote_summary.code, Some(0), "{remote_summary:?}");
    let summary = |outcome: &Outcome| {
        let mut value: Value = serde_json::from_str(&outcome.stdout).expect("JSON");
        value["file"] = Value::Null;
        value
    };
    assert_eq!(summary(&remote_summary), summary(&local_summary));
    assert_eq!(std::fs::read(&remote_file).unwrap(), std::fs::read(&local_file).unwrap());
}

#[test]
fn an_auditor_reads_everything_but_bodies() {
    let fixture = Fixture::build();
    let local_without_bodies = local(&fixture, &["export", "--without-bodies"]);
    let served = Served::start(&fixture.ledger, &[]);
    let auditor = |args: &[&str]| remote(&served.url, &fixture.auditor, args);

    let shown = auditor(&["show", "5", "--json"]);
    assert_eq!(shown.code, Some(0), "{shown:?}");
    let shown: Value = serde_json::from_str(&shown.stdout).unwrap();
    assert_eq!(shown["withheld"], true, "{shown}");
    assert!(shown.get("body").is_none(), "{shown}");
    // Key records keep their bodies, as in a body-less export.
    let grant: Value = serde_json::from_str(&auditor(&["show", "1", "--json"]).stdout).unwrap();
    assert!(grant["body"].is_object(), "{grant}");

    let dossier = auditor(&["dossier", "P-1001", "--json"]);
    assert!(dossier.stderr.contains("bodies withheld"), "{dossier:?}");
    let dossier: Value = serde_json::from_str(&dossier.stdout).unwrap();
    let items = dossier["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(items.iter().all(|item| item["body"].is_null()), "{dossier}");
    let log = auditor(&["log", "--json", "--limit", "1000"]);
    let log: Value = serde_json::from_str(&log.stdout).unwrap();
    for item in log["items"].as_array().unwrap() {
        let kind = item["kind"].as_str().unwrap();
        let keeps = kind.starts_with("ledger.") || kind.starts_with("key.");
        assert_eq!(item.get("body").is_some(), keeps, "{item}");
    }
    // Cases are made of bodies (subjects, measures, deadlines): an auditor gets each case's status,
    // not its state.
    let cases = auditor(&["cases", "--json"]);
    let cases: Value = serde_json::from_str(&cases.stdout).unwrap();
    let cases = cases["items"].as_array().unwrap();
    assert!(!cases.is_empty());
    assert!(cases.iter().all(|case| case["state"] == serde_json::json!({}) && case["status"].is_string()), "{cases:?}");
    // A page the size of the ledger is not served (everything is `export` or `verify --server`).
    for args in
        [&["log", "--limit", "0"][..], &["log", "--last", "1001"][..], &["dossier", "P-1001", "--limit", "0"][..]]
    {
        let refused = auditor(args);
        assert_eq!(refused.code, Some(2), "{args:?}: {refused:?}");
        assert!(refused.stderr.contains("at most 1000 items per request"), "{args:?}: {refused:?}");
    }
    // What would show bodies is refused (exit 3), nothing printed.
    for args in [&["query", "--text", "公款吃喝"][..], &["export"][..], &["stats", "--assessments"][..]] {
        let refused = auditor(args);
        assert_eq!(refused.code, Some(3), "{args:?}: {refused:?}");
        assert!(refused.stdout.is_empty(), "{args:?}: {refused:?}");
        assert!(refused.stderr.contains("reads no bodies"), "{args:?}: {refused:?}");
    }
    // A body-less export is the local one, byte for byte.
    assert_eq!(auditor(&["export", "--without-bodies"]), local_without_bodies);
    // Counts and cases carry no bodies: the same as an officer's.
    assert_eq!(auditor(&["stats", "--json"]), remote(&served.url, &fixture.qian, &["stats", "--json"]));
}

#[test]
fn an_unsigned_or_unknown_caller_gets_nothing() {
    let fixture = Fixture::build();
    let served = Served::start(&fixture.ledger, &[]);
    // No identity: refused before asking (exit 2), naming the flag.
    let output = lianlog().args(["--server", &served.url, "dossier", "P-1001"]).output().unwrap();
    let (stdout, stderr) = output_text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stdout.is_empty() && stderr.contains("--identity"), "{stderr}");
    // A key the ledger never granted: 401/403, exit 3, no data.
    let stranger = fixture.root.join("stranger.pem");
    lianlog().args(["key", "new", "stranger", "--out"]).arg(&stranger).assert().success();
    for args in [&["dossier", "P-1001"][..], &["log"][..], &["export", "--without-bodies"][..]] {
        let refused = remote(&served.url, &stranger, args);
        assert_eq!(refused.code, Some(3), "{args:?}: {refused:?}");
        assert!(refused.stdout.is_empty(), "{args:?}: {refused:?}");
    }
    // An unsigned request straight to a route: a problem, no data.
    let answer = lianlog_remote::Client::new(&served.url).unwrap().get("/lianlog/v1/dossier?person=P-1001");
    let err = answer.unwrap_err();
    assert_eq!(err.kind(), lianlog_ledger::ErrorKind::Unauthorized, "{err}");
}
