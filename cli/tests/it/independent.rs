//! Ledgers built by the CLI — exported with and without bodies, before and after a redaction —
//! verify with an independent verifier written from the contract alone (tests/tools/verify_export.py,
//! Python `hashlib` + `cryptography`, no lianlog code).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{self, Fixture};

fn verifier() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/tools/verify_export.py")
}

/// Python 3 with `cryptography`, or `None` (the test then says it was skipped).
fn python() -> Option<&'static str> {
    let ok = Command::new("python3").args(["-c", "import cryptography"]).output().is_ok_and(|o| o.status.success());
    if ok {
        Some("python3")
    } else {
        eprintln!("SKIPPED: python3 with the `cryptography` package is not available");
        None
    }
}

fn independent_verify(python: &str, export: &Path, checkpoint: &Path, vkey: &str) -> (bool, String) {
    let output = Command::new(python)
        .arg(verifier())
        .arg(export)
        .arg("--checkpoint")
        .arg(checkpoint)
        .args(["--log-vkey", vkey])
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

#[test]
fn exports_verify_independently() {
    let Some(python) = python() else { return };
    let fixture = Fixture::build();
    let vkey = fixture.verify_json()["log_key"].as_str().unwrap().to_string();
    let export = |name: &str, without_bodies: bool| {
        let path = fixture.root.join(name);
        let mut command = fixture.cmd();
        command.args(["export", "--out"]).arg(&path);
        if without_bodies {
            command.arg("--without-bodies");
        }
        command.assert().success();
        path
    };
    let checkpoint = fixture.root.join("cp");
    std::fs::write(&checkpoint, fixture.cmd().arg("checkpoint").output().unwrap().stdout).unwrap();
    for without_bodies in [false, true] {
        let path = export(if without_bodies { "audit.jsonl" } else { "full.jsonl" }, without_bodies);
        let (ok, text) = independent_verify(python, &path, &checkpoint, &vkey);
        assert!(ok, "without_bodies={without_bodies}: {text}");
        assert!(text.contains(&format!("ok: {} entries", common::ENTRIES)), "{text}");
    }

    // After a redaction the export (and its body-less form) still verifies, against a new
    // checkpoint and against the old one (the tree only grew).
    fixture.cmd().args(["redact", "5", "--reason", "误录无关人员信息", "--key"]).arg(&fixture.admin).assert().success();
    let after = export("after.jsonl", false);
    let (ok, text) = independent_verify(python, &after, &checkpoint, &vkey);
    assert!(ok, "{text}");
    let new_checkpoint = fixture.root.join("cp2");
    std::fs::write(&new_checkpoint, fixture.cmd().arg("checkpoint").output().unwrap().stdout).unwrap();
    let (ok, text) = independent_verify(python, &after, &new_checkpoint, &vkey);
    assert!(ok, "{text}");
    assert!(std::fs::read_to_string(&after).unwrap().contains("\"redacted\":"));

    // And the independent verifier refuses what lianlog refuses: a body altered after export.
    let altered = fixture.root.join("altered.jsonl");
    std::fs::write(&altered, std::fs::read_to_string(&after).unwrap().replacen("张三", "李四", 1)).unwrap();
    let (ok, text) = independent_verify(python, &altered, &new_checkpoint, &vkey);
    assert!(!ok && text.contains("FAIL seq"), "{text}");
}

/// `redact --replacement` writes the replacement as a correction, so a body-less export holds no
/// record body of any kind (not even the replacement), the queries use it, and both verifiers
/// accept the export.
#[test]
fn a_replacement_is_withheld_from_a_body_less_export() {
    let fixture = Fixture::build();
    let vkey = fixture.verify_json()["log_key"].as_str().unwrap().to_string();
    let replacement = fixture.root.join("replacement.json");
    let mut body = common::interview_body("张三", "替代内容：约谈提醒");
    body["report_id"] = serde_json::json!("R-2025-001");
    std::fs::write(&replacement, body.to_string()).unwrap();
    // The admin alone holds no officer role: the correction needs an officer's key.
    let refused = fixture
        .cmd()
        .args(["redact", "5", "--reason", "误录无关人员信息", "--replacement"])
        .arg(&replacement)
        .arg("--key")
        .arg(&fixture.admin)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(3), "{:?}", common::output_text(&refused));
    assert!(common::output_text(&refused).1.contains("officer"), "{:?}", common::output_text(&refused));
    let redacted = fixture
        .cmd()
        .args(["redact", "5", "--reason", "误录无关人员信息", "--replacement"])
        .arg(&replacement)
        .arg("--replacement-key")
        .arg(&fixture.qian)
        .arg("--key")
        .arg(&fixture.admin)
        .output()
        .unwrap();
    let (stdout, stderr) = common::output_text(&redacted);
    assert!(
        redacted.status.success() && stdout.contains("its replacement is the correction at seq 10"),
        "{stdout}{stderr}"
    );
    let dossier = fixture.cmd().args(["--json", "dossier", "P-1001"]).output().unwrap();
    let dossier: serde_json::Value = serde_json::from_slice(&dossier.stdout).unwrap();
    let record = dossier["items"].as_array().unwrap().iter().find(|r| r["seq"] == 5).unwrap();
    assert_eq!(record["body"]["reason"], "替代内容：约谈提醒", "{record}");
    let audit = fixture.root.join("audit.jsonl");
    let output = fixture.cmd().args(["export", "--without-bodies", "--out"]).arg(&audit).output().unwrap();
    assert!(output.status.success(), "{:?}", common::output_text(&output));
    assert!(!common::output_text(&output).1.contains("note:"), "{:?}", common::output_text(&output));
    let text = std::fs::read_to_string(&audit).unwrap();
    for leaked in ["替代内容", "张三", "王五", "刘六", "市住建局", "P-1001", "P-0101"] {
        assert!(!text.contains(leaked), "the body-less export holds {leaked:?}");
    }
    // What format v1 keeps in every export: key holders (钱干事 holds officer.qian's key).
    assert!(text.contains("钱干事") && text.contains("误录无关人员信息"));
    fixture.cmd().args(["verify", "--file"]).arg(&audit).args(["--vkey", &vkey]).assert().success();
    let Some(python) = python() else { return };
    let checkpoint = fixture.root.join("cp");
    std::fs::write(&checkpoint, fixture.cmd().arg("checkpoint").output().unwrap().stdout).unwrap();
    let (ok, text) = independent_verify(python, &audit, &checkpoint, &vkey);
    assert!(ok && text.contains(&format!("ok: {} entries", common::ENTRIES + 2)), "{text}");
}
