//! `lianlog kinds` and the demo's second part (issue 17): the kind table with a JSON Schema per
//! kind version; the demo's year — supervision, a letter inquiry that clears a cadre, a circular,
//! an assessment — as `dossier`, `cases`, `stats --assessments` and `overdue` show it.

use serde_json::Value;

use crate::common::{lianlog, output_text};

fn json_of(args: &[&str]) -> Value {
    let output = lianlog().args(args).output().expect("run lianlog");
    let (stdout, stderr) = output_text(&output);
    assert!(output.status.success(), "{args:?}: {stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|err| panic!("{args:?}: {err}: {stdout}"))
}

#[test]
fn kinds_lists_every_kind_with_a_json_schema_per_version() {
    let kinds = json_of(&["kinds", "--json"]);
    let kinds = kinds.as_array().expect("a list of kinds");
    for name in ["report.received", "rectification.ordered", "supervision.ordered", "inquiry.concluded", "circular"] {
        assert!(kinds.iter().any(|k| k["kind"] == name), "{name} is listed");
    }
    let rectification = kinds.iter().find(|k| k["kind"] == "rectification.ordered").unwrap();
    assert_eq!(rectification["current_version"], 2);
    assert_eq!(rectification["event_date"], "issued_on");
    let versions = rectification["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    for version in versions {
        assert_eq!(version["schema"]["$schema"], "https://json-schema.org/draft/2020-12/schema");
        assert_eq!(version["schema"]["additionalProperties"], false);
    }
    assert_eq!(versions[1]["schema"]["properties"]["items"]["type"], "array");
    assert!(rectification["lifecycle"].as_str().unwrap().contains("整改编号不得重复"));

    // One kind, by its Chinese label; its fields in text.
    let output = lianlog().args(["kinds", "督办"]).output().unwrap();
    let (stdout, _) = output_text(&output);
    assert!(output.status.success());
    for fragment in ["supervision.ordered — 督办", "deadline", "办理时限", "lifecycle rule", "event date: issued_on"]
    {
        assert!(stdout.contains(fragment), "{fragment:?} in: {stdout}");
    }
    let output = lianlog().args(["kinds", "supervison.ordered"]).output().unwrap();
    let (_, stderr) = output_text(&output);
    assert!(!output.status.success() && stderr.contains("Did you mean `supervision.ordered`"), "{stderr}");
}

#[test]
fn the_demo_tells_the_year_and_the_answers_follow_event_dates() {
    let temp = tempfile::tempdir().unwrap();
    let demo = temp.path().join("demo");
    let output = lianlog().args(["demo", "--dir"]).arg(&demo).output().unwrap();
    let (stdout, stderr) = output_text(&output);
    assert!(output.status.success(), "{stderr}");
    for fragment in ["督办", "谈话函询", "予以澄清", "考核评价", "通报", "78.5"] {
        assert!(stdout.contains(fragment), "the demo tells {fragment:?}: {stdout}");
    }
    let ledger = demo.join("ledger");
    let ledger = ledger.to_str().unwrap();

    // The cleared cadre's file, by event date, saying so.
    let file = json_of(&["--ledger", ledger, "--json", "dossier", "P-1004"]);
    assert_eq!(file["order"], "event_date,seq");
    let kinds: Vec<&str> = file["items"].as_array().unwrap().iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["inquiry.issued", "inquiry.replied", "inquiry.concluded", "clarification"]);
    let dates: Vec<&str> = file["items"].as_array().unwrap().iter().map(|r| r["date"].as_str().unwrap()).collect();
    assert!(dates.windows(2).all(|pair| pair[0] <= pair[1]), "{dates:?}");
    let output = lianlog().args(["--ledger", ledger, "dossier", "P-1001"]).output().unwrap();
    assert!(output_text(&output).0.contains("in event-date order"));

    // Cases include the supervision order and the inquiry; the assessment is in stats.
    let cases = json_of(&["--ledger", ledger, "--json", "cases", "--limit", "0"]);
    let types: Vec<&str> = cases["items"].as_array().unwrap().iter().map(|c| c["type"].as_str().unwrap()).collect();
    assert!(types.contains(&"supervision") && types.contains(&"inquiry"), "{types:?}");
    let assessments = json_of(&["--ledger", ledger, "--json", "stats", "--assessments", "--year", "2026"]);
    assert_eq!(assessments[0]["unit"], "市住建局");
    assert_eq!(assessments[0]["grade"], "fair");
    // The rectification's items were all completed: nothing is overdue.
    let overdue = json_of(&["--ledger", ledger, "--json", "overdue", "--on", "2026-12-01"]);
    assert_eq!(overdue["total"], 0, "{overdue}");
}
