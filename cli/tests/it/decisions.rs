//! Collective decisions (集体研究), influence periods (影响期) and integrity opinions (廉政意见),
//! driven through the real binary: a decision pending until two of its three members approve it
//! with their own keys; every bad approval refused by name with the ledger unchanged; `show`,
//! `cases` and `dossier` saying pending or in effect; the influence period ended by a revoking
//! appeal; `opinion` citing records whose receipts check offline, and `--issue` on the ledger.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::common::{Fixture, lianlog, output_text, person};

/// Run, expect success, return stdout.
fn ok(command: &mut assert_cmd::Command) -> String {
    let output = command.output().unwrap();
    let (stdout, stderr) = output_text(&output);
    assert!(output.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    stdout
}

fn member(n: u32) -> Value {
    json!({"id": format!("P-CW-{n}"), "name": format!("常委{n}"), "unit": "市纪委监委", "post": "常委"})
}

/// The fixture with three members of the standing committee, each with an officer key.
fn committee() -> (Fixture, Vec<PathBuf>) {
    let fixture = Fixture::build();
    let keys: Vec<PathBuf> = (1..=3)
        .map(|n| {
            let path = fixture.root.join(format!("member{n}.pem"));
            lianlog().args(["key", "new", &format!("member.m{n}"), "--out"]).arg(&path).assert().success();
            fixture.grant(&path, "officer", &format!("常委{n}"), "市纪委监委");
            path
        })
        .collect();
    (fixture, keys)
}

/// Append and return (seq, entry hash).
fn append(fixture: &Fixture, kind: &str, body: &Value, key: &std::path::Path) -> (u64, String) {
    let out = ok(fixture.cmd().args(["--json", "append", kind, "--key"]).arg(key).write_stdin(body.to_string()));
    let answer: Value = serde_json::from_str(&out).unwrap();
    (answer["seq"].as_u64().unwrap(), answer["entry_hash"].as_str().unwrap().to_string())
}

/// Append, expect the refusal (exit 2) naming `rule`, and the ledger unchanged.
fn refused(fixture: &Fixture, kind: &str, body: &Value, key: &std::path::Path, rule: &str) {
    let before = fixture.log_files();
    let output = fixture.cmd().args(["append", kind, "--key"]).arg(key).write_stdin(body.to_string()).output().unwrap();
    let (_, stderr) = output_text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(rule) && stderr.contains("nothing was written"), "expected {rule:?}: {stderr}");
    assert_eq!(fixture.log_files(), before, "a refused record writes nothing");
}

fn decision(id: &str, approvals: Option<u64>) -> Value {
    let mut body = json!({
        "decision_id": id, "subjects": [person("P-1001", "张三", "市住建局")],
        "basis": [{"regulation": "中国共产党纪律处分条例", "article": "第一百二十一条"}],
        "measure": "disciplinary_sanction", "sanction": "party_serious_warning",
        "facts": "违规审批专项资金拨付", "decided_by": "市纪委常委会", "decided_on": "2026-09-15",
    });
    if let Some(required) = approvals {
        body["approvers"] = json!([member(1), member(2), member(3)]);
        body["approvals_required"] = json!(required);
    }
    body
}

fn approval(seq: u64, hash: &str, id: &str, n: u32) -> Value {
    json!({"decision": {"seq": seq, "hash": hash}, "decision_id": id, "member": member(n), "approved_on": "2026-09-16"})
}

fn case_status(fixture: &Fixture, id: &str) -> Value {
    let out = ok(fixture.cmd().args(["--json", "cases", "--limit", "0"]));
    let cases: Value = serde_json::from_str(&out).unwrap();
    cases["items"].as_array().unwrap().iter().find(|c| c["id"] == id).cloned().unwrap()
}

#[test]
fn a_collective_decision_takes_effect_at_its_quorum_and_bad_approvals_are_refused() {
    let (fixture, members) = committee();
    let qian = fixture.qian.clone();
    // v2 rules on the decision itself.
    let mut bad = decision("D-X", Some(2));
    bad.as_object_mut().unwrap().remove("approvers");
    refused(&fixture, "accountability.decision", &bad, &qian, "a collective decision names its members");
    let mut bad = decision("D-X", Some(4));
    refused(&fixture, "accountability.decision", &bad, &qian, "a collective decision names its members");
    bad = decision("D-X", None);
    bad["measure"] = json!("admonition");
    refused(&fixture, "accountability.decision", &bad, &qian, "a sanction is named only for a disciplinary sanction");
    bad = decision("D-X", Some(2));
    bad["approvers"][0] = person("P-1001", "张三", "市住建局");
    refused(&fixture, "accountability.decision", &bad, &qian, "a subject of a decision does not approve it");

    let (seq, hash) = append(&fixture, "accountability.decision", &decision("D-1", Some(2)), &qian);
    let shown = ok(fixture.cmd().args(["show", &seq.to_string()]));
    assert!(shown.contains("集体研究 approvals: 0/2 待集体研究 pending"), "{shown}");
    let case = case_status(&fixture, "D-1");
    assert_eq!((case["status"].as_str(), case["open"].as_bool()), (Some("pending_approval"), Some(true)));

    append(&fixture, "decision.approval", &approval(seq, &hash, "D-1", 1), &members[0]);
    let wrong_hash = "0".repeat(64);
    for (body, key, rule) in [
        (approval(seq, &hash, "D-1", 2), &members[0], "each member approves with their own key"),
        (approval(seq, &hash, "D-1", 2), &qian, "each member approves with their own key"),
        (approval(seq, &hash, "D-1", 1), &members[1], "one approval per member"),
        (approval(seq, &wrong_hash, "D-1", 2), &members[1], "an approval names a recorded decision"),
        (approval(seq - 1, &hash, "D-1", 2), &members[1], "an approval names a recorded decision"),
        (approval(seq, &hash, "D-1", 4), &members[1], "the approving member is one the decision names"),
    ] {
        refused(&fixture, "decision.approval", &body, key, rule);
    }
    let mut early = approval(seq, &hash, "D-1", 2);
    early["approved_on"] = json!("2026-09-14");
    refused(&fixture, "decision.approval", &early, &members[1], "an approval is not dated before its decision");
    // Still pending after one approval of two.
    assert_eq!(case_status(&fixture, "D-1")["status"], "pending_approval");

    let (second, _) = append(&fixture, "decision.approval", &approval(seq, &hash, "D-1", 2), &members[1]);
    let shown = ok(fixture.cmd().args(["show", &seq.to_string()]));
    assert!(shown.contains("集体研究 approvals: 2/2 已生效 in effect"), "{shown}");
    assert!(shown.contains(&format!("生效 effective on 2026-09-16 (seq {second})")), "{shown}");
    let case = case_status(&fixture, "D-1");
    assert_eq!((case["status"].as_str(), case["open"].as_bool()), (Some("in_force"), Some(false)));
    // A third approval beyond the quorum is still one member's own.
    append(&fixture, "decision.approval", &approval(seq, &hash, "D-1", 3), &members[2]);
    // A correction keeps the members and the quorum the approvals were given under.
    let mut corrected = decision("D-1", Some(1));
    corrected["facts"] = json!("违规审批专项资金拨付（更正）");
    let correction = json!({"target": {"seq": seq, "hash": hash}, "reason": "更正", "body": corrected});
    refused(&fixture, "correction", &correction, &qian, "经集体研究同意的决定不得更正");
    let mut approval_fix = approval(seq, &hash, "D-1", 1);
    approval_fix["opinion"] = json!("同意");
    let (approval_seq, approval_hash) = (second, {
        let shown: Value =
            serde_json::from_str(&ok(fixture.cmd().args(["--json", "show", &second.to_string()]))).unwrap();
        shown["entry_hash"].as_str().unwrap().to_string()
    });
    let correction =
        json!({"target": {"seq": approval_seq, "hash": approval_hash}, "reason": "更正", "body": approval_fix});
    refused(&fixture, "correction", &correction, &qian, "cannot be corrected");

    // A decision without approvals_required is in effect at once and takes no approval.
    let (plain, plain_hash) = append(&fixture, "accountability.decision", &decision("D-2", None), &qian);
    refused(
        &fixture,
        "decision.approval",
        &approval(plain, &plain_hash, "D-2", 1),
        &members[0],
        "only a collective decision is approved",
    );

    // The influence period runs from the day the quorum was met (严重警告: 18 months).
    let out = ok(fixture.cmd().args(["--json", "dossier", "P-1001"]));
    let dossier: Value = serde_json::from_str(&out).unwrap();
    let period = dossier["influence"].as_array().unwrap().iter().find(|p| p["decision_id"] == "D-1").cloned().unwrap();
    assert_eq!(period["months"], 18);
    assert_eq!((period["from"].as_str(), period["until"].as_str()), (Some("2026-09-16"), Some("2028-03-16")));
    assert_eq!(period["state"], "active");
    assert_eq!(period["source"]["article"], "第十条（严重警告：一年半内）");
    let text = ok(fixture.cmd().args(["dossier", "P-1001"]));
    assert!(text.contains("影响期 influence periods") && text.contains("影响期内"), "{text}");

    // Verification checks every approval like any record; replay gives the same projections.
    ok(fixture.cmd().arg("verify"));
    ok(fixture.cmd().arg("replay"));
}

#[test]
fn approvals_bind_the_listed_member_and_a_pending_decision_is_neither_corrected_wrongly_nor_circulated() {
    let (fixture, members) = committee();
    let qian = fixture.qian.clone();
    let (seq, hash) = append(&fixture, "accountability.decision", &decision("D-1", Some(2)), &qian);

    // Someone not listed, holding a key of their own, cannot approve under a listed id with
    // their own name; nor can a member approve under another listed id.
    let outsider = fixture.root.join("wang.pem");
    lianlog().args(["key", "new", "officer.wang", "--out"]).arg(&outsider).assert().success();
    fixture.grant(&outsider, "officer", "王五", "市纪委监委");
    let mut forged = approval(seq, &hash, "D-1", 2);
    forged["member"]["name"] = json!("王五");
    refused(&fixture, "decision.approval", &forged, &outsider, "the approving member is one the decision names");
    refused(
        &fixture,
        "decision.approval",
        &approval(seq, &hash, "D-1", 2),
        &outsider,
        "each member approves with their own key",
    );

    // A pending collective decision may be corrected, but only into a decision that passes the
    // decision's own rules (here: a subject among the approvers, 回避).
    let mut bad = decision("D-1", Some(2));
    bad["subjects"] = json!([member(1)]);
    let correction = json!({"target": {"seq": seq, "hash": hash}, "reason": "更正", "body": bad});
    refused(&fixture, "correction", &correction, &qian, "a subject of a decision does not approve it");

    // A circular does not publicise a decision still waiting for its approvals.
    let circular = json!({"circular_id": "TB-1", "title": "关于典型问题的通报", "decision_ids": ["D-1"],
                          "scope": "全市各级党组织", "issued_by": "市纪委监委", "issued_on": "2026-09-20",
                          "summary": "以案为鉴"});
    refused(&fixture, "circular", &circular, &qian, "a circular publicises decisions in effect");

    // The quorum exists from the latest approval's date, whatever the order they were recorded.
    let mut late = approval(seq, &hash, "D-1", 1);
    late["approved_on"] = json!("2026-09-20");
    append(&fixture, "decision.approval", &late, &members[0]);
    append(&fixture, "decision.approval", &approval(seq, &hash, "D-1", 2), &members[1]);
    let out = ok(fixture.cmd().args(["--json", "dossier", "P-1001"]));
    let dossier: Value = serde_json::from_str(&out).unwrap();
    let period = dossier["influence"].as_array().unwrap().iter().find(|p| p["decision_id"] == "D-1").cloned().unwrap();
    assert_eq!(period["from"], "2026-09-20", "{period}");
    append(&fixture, "circular", &circular, &qian);
    ok(fixture.cmd().arg("verify"));
    ok(fixture.cmd().arg("replay"));
}

#[test]
fn a_revoking_appeal_ends_the_period_and_refuses_later_approvals() {
    let (fixture, members) = committee();
    let (seq, hash) = append(&fixture, "accountability.decision", &decision("D-1", Some(3)), &fixture.qian);
    append(&fixture, "decision.approval", &approval(seq, &hash, "D-1", 1), &members[0]);
    let filed = json!({"appeal_id": "A-1", "decision_id": "D-1", "grounds": "认定过重", "filed_on": "2026-09-20"});
    append(&fixture, "appeal.filed", &filed, &fixture.qian);
    let decided =
        json!({"appeal_id": "A-1", "outcome": "revoked", "summary": "撤销原决定", "decided_on": "2026-10-08"});
    let (appeal_seq, _) = append(&fixture, "appeal.decided", &decided, &fixture.qian);
    refused(
        &fixture,
        "decision.approval",
        &approval(seq, &hash, "D-1", 2),
        &members[1],
        "a revoked decision is not approved",
    );

    // An in-effect decision revoked: its period ends on the appeal's decision.
    let (plain, _) = append(&fixture, "accountability.decision", &decision("D-2", None), &fixture.qian);
    let filed = json!({"appeal_id": "A-2", "decision_id": "D-2", "grounds": "认定过重", "filed_on": "2026-09-20"});
    append(&fixture, "appeal.filed", &filed, &fixture.qian);
    let decided =
        json!({"appeal_id": "A-2", "outcome": "revoked", "summary": "撤销原决定", "decided_on": "2026-10-09"});
    let (revoking, _) = append(&fixture, "appeal.decided", &decided, &fixture.qian);
    let out = ok(fixture.cmd().args(["--json", "dossier", "P-1001"]));
    let dossier: Value = serde_json::from_str(&out).unwrap();
    let period = dossier["influence"].as_array().unwrap().iter().find(|p| p["decision_id"] == "D-2").cloned().unwrap();
    assert_eq!((period["state"].as_str(), period["ended_on"].as_str()), (Some("ended"), Some("2026-10-09")));
    assert_eq!(period["ended_by"].as_u64(), Some(revoking));
    assert!(plain < revoking && appeal_seq < revoking);
    ok(fixture.cmd().arg("replay"));
}

#[test]
fn an_opinion_cites_records_with_receipts_that_check_and_is_issued_on_the_ledger() {
    let (fixture, members) = committee();
    let (seq, hash) = append(&fixture, "accountability.decision", &decision("D-1", Some(2)), &fixture.qian);
    // Pending: the opinion says clues are under review (R-2025-002 is still open, too).
    // Today (the ledger as it stands): the records are made now, whatever their event dates.
    let draft = || -> Value {
        let out = ok(fixture.cmd().args([
            "--json",
            "opinion",
            "P-1001",
            "--purpose",
            "拟提拔任用",
            "--requested-by",
            "市委组织部",
        ]));
        serde_json::from_str(&out).unwrap()
    };
    let pending = draft();
    assert_eq!(pending["opinion"]["conclusion"], "clues_under_review");
    assert!(pending["opinion"]["pending_decisions"].as_array().unwrap().contains(&json!(seq)));
    for n in [1, 2] {
        append(&fixture, "decision.approval", &approval(seq, &hash, "D-1", n), &members[n as usize - 1]);
    }
    let effective = draft();
    assert_eq!(effective["opinion"]["conclusion"], "within_influence_period");
    let roles: Vec<&str> =
        effective["opinion"]["cited"].as_array().unwrap().iter().map(|c| c["role"].as_str().unwrap()).collect();
    assert!(roles.contains(&"decision") && roles.contains(&"approval") && roles.contains(&"open_report"), "{roles:?}");

    // The receipts of the cited records check offline against the log key.
    let receipts = fixture.root.join("opinion-receipts.jsonl");
    let out = ok(fixture
        .cmd()
        .args(["opinion", "P-1001", "--purpose", "拟提拔任用", "--requested-by", "市委组织部", "--receipts"])
        .arg(&receipts));
    assert!(out.contains("结论 conclusion: 处于影响期内") && out.contains("草稿 draft only"), "{out}");
    let vkey = fixture.verify_json()["log_key"].as_str().unwrap().to_string();
    let checked = ok(lianlog().args(["check", "inclusion", "--receipt"]).arg(&receipts).args(["--vkey", &vkey]));
    assert!(!checked.is_empty());
    assert_eq!(std::fs::read_to_string(&receipts).unwrap().lines().count(), roles.len());

    // Issued: an opinion.issued record in the person's file, which verifies and replays.
    let out = ok(fixture
        .cmd()
        .args([
            "--json",
            "opinion",
            "P-1001",
            "--purpose",
            "拟提拔任用",
            "--requested-by",
            "市委组织部",
            "--issue",
            "--by",
        ])
        .arg(&fixture.sun));
    let issued: Value = serde_json::from_str(&out).unwrap();
    let issued_seq = issued["issued"]["seq"].as_u64().unwrap();
    let shown: Value =
        serde_json::from_str(&ok(fixture.cmd().args(["--json", "show", &issued_seq.to_string()]))).unwrap();
    assert_eq!(shown["kind"], "opinion.issued");
    let file = ok(fixture.cmd().args(["--json", "dossier", "P-1001", "--limit", "0"]));
    assert!(file.contains("\"opinion.issued\""), "{file}");
    // The same id twice, or a cited entry with another hash, is refused.
    let body = shown["body"].clone();
    refused(&fixture, "opinion.issued", &body, &fixture.sun, "opinion_id is new");
    let mut forged = body.clone();
    forged["opinion_id"] = json!("YJ-OTHER");
    forged["cited"][0]["hash"] = json!("0".repeat(64));
    refused(&fixture, "opinion.issued", &forged, &fixture.sun, "an opinion cites recorded entries");
    ok(fixture.cmd().arg("verify"));
    ok(fixture.cmd().arg("replay"));
}

#[test]
fn opinion_refuses_a_day_before_the_ledger_a_bad_date_and_issue_without_a_key() {
    let fixture = Fixture::build();
    let base = ["opinion", "P-1001", "--purpose", "拟提拔任用", "--requested-by", "市委组织部"];
    for (extra, expected) in [
        (vec!["--as-of", "2020-01-01"], "--as-of 2020-01-01: no entry had been made by the end of that day"),
        (vec!["--as-of", "2020-02-30"], "expected a date YYYY-MM-DD"),
        (vec!["--issue"], "--by"),
    ] {
        let before = fixture.log_files();
        let output = fixture.cmd().args(base).args(&extra).output().unwrap();
        let (_, stderr) = output_text(&output);
        assert_eq!(output.status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(stderr.contains(expected), "{extra:?}: {stderr}");
        assert_eq!(fixture.log_files(), before);
    }
}
