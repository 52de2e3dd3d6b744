//! Ledgers built by the CLI — exported with and without bodies, before and after a redaction —
//! verify with an independent verifier written from the contract alone (tests/tools/verify_export.py,
//! Python `hashlib` + `cryptography`, no lianlog code).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Fixture;

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
