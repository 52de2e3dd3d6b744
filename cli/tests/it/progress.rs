//! Progress is drawn on standard error only when it is a terminal and the output is not JSON:
//! checked on a pseudo-terminal made by `script` (util-linux; skipped with a note without it).

use crate::common::{Fixture, lianlog, output_text};

/// Run `command` (a shell line) on a pseudo-terminal; what the terminal showed, or None without
/// `script`.
fn on_terminal(command: &str) -> Option<String> {
    let output = std::process::Command::new("script").args(["-qec", command, "/dev/null"]).output().ok()?;
    assert!(output.status.success(), "{command}: {:?}", output_text(&output));
    Some(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[test]
fn progress_only_on_a_terminal_and_never_with_json() {
    let fixture = Fixture::build();
    let binary = env!("CARGO_BIN_EXE_lianlog");
    let ledger = fixture.ledger.display().to_string();
    let Some(shown) = on_terminal(&format!("'{binary}' --ledger '{ledger}' replay")) else {
        eprintln!("note: `script` is not installed; the terminal half of this test is skipped");
        return;
    };
    assert!(shown.contains("replaying [") && shown.contains("100% 10/10"), "{shown:?}");
    assert!(shown.contains(&format!("\r{}\r", " ".repeat(72))), "the bar's line is cleared: {shown:?}");
    for command in ["replay --json", "verify --json", "reindex --json"] {
        let shown = on_terminal(&format!("'{binary}' --ledger '{ledger}' {command}")).unwrap();
        assert!(!shown.contains("ing…") && !shown.contains("ing ["), "{command}: {shown:?}");
    }
    // Not a terminal: nothing but the result.
    for command in ["replay", "verify", "reindex"] {
        let output = lianlog().arg("--ledger").arg(&fixture.ledger).arg(command).output().unwrap();
        let (_, stderr) = output_text(&output);
        assert!(output.status.success() && stderr.is_empty(), "{command}: {stderr:?}");
    }
}

#[test]
fn import_reindex_and_verify_file_draw_a_counted_bar_only_on_a_terminal() {
    let fixture = Fixture::build();
    let binary = env!("CARGO_BIN_EXE_lianlog");
    let ledger = fixture.ledger.display().to_string();
    let records = crate::common::interview_body("P-0001", "提醒谈话");
    let line = serde_json::json!({"kind": "interview", "body": records}).to_string();
    let import = fixture.root.join("import.jsonl");
    std::fs::write(&import, format!("{line}\n{line}\n{line}\n")).unwrap();
    let key = fixture.qian.display().to_string();
    let import_line = format!("'{binary}' --ledger '{ledger}' import '{}' --key '{key}'", import.display());
    let Some(shown) = on_terminal(&import_line) else {
        eprintln!("note: `script` is not installed; the terminal half of this test is skipped");
        return;
    };
    assert!(shown.contains("signing   [") && shown.contains("checking  ["), "{shown:?}");
    assert!(shown.contains("100% 3/3") && shown.contains("imported 3 records"), "{shown:?}");
    let size = crate::common::ENTRIES + 3;
    let shown = on_terminal(&format!("'{binary}' --ledger '{ledger}' reindex")).unwrap();
    assert!(shown.contains("verifying [") && shown.contains("indexing  ["), "{shown:?}");
    assert!(shown.contains(&format!("100% {size}/{size}")), "{shown:?}");
    let export = fixture.root.join("export.jsonl");
    let output =
        lianlog().arg("--ledger").arg(&fixture.ledger).arg("export").arg("--out").arg(&export).output().unwrap();
    assert!(output.status.success(), "{:?}", output_text(&output));
    let verify_file = format!("'{binary}' verify --file '{}'", export.display());
    let shown = on_terminal(&verify_file).unwrap();
    assert!(shown.contains("verifying [") && shown.contains(&format!("100% {size}/{size}")), "{shown:?}");
    for command in [
        format!("{import_line} --json"),
        format!("'{binary}' --ledger '{ledger}' reindex --json"),
        format!("{verify_file} --json"),
    ] {
        let shown = on_terminal(&command).unwrap();
        assert!(!shown.contains("ing…") && !shown.contains("ing ["), "{command}: {shown:?}");
    }
    // Not a terminal: nothing but the result.
    let output = lianlog().args(["verify", "--file"]).arg(&export).output().unwrap();
    let (_, stderr) = output_text(&output);
    assert!(output.status.success() && stderr.is_empty(), "{stderr:?}");
    let output = lianlog()
        .arg("--ledger")
        .arg(&fixture.ledger)
        .arg("import")
        .arg(&import)
        .arg("--key")
        .arg(&fixture.qian)
        .output()
        .unwrap();
    let (_, stderr) = output_text(&output);
    assert!(output.status.success() && stderr.is_empty(), "{stderr:?}");
}

#[test]
fn bench_shows_its_phases_only_on_a_terminal() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("bench");
    let binary = env!("CARGO_BIN_EXE_lianlog");
    let Some(shown) = on_terminal(&format!("'{binary}' bench --entries 300 --dir '{}'", dir.display())) else {
        eprintln!("note: `script` is not installed; this test is skipped");
        return;
    };
    assert!(shown.contains("s] machine limits") && shown.contains("s] importing 300 records"), "{shown:?}");
    assert!(shown.contains("importing [") && shown.contains("100% 300/300"), "{shown:?}");
    assert!(shown.contains("s] snapshot create and verify"), "{shown:?}");
    // Not a terminal (bench.rs checks it with --json): only the report.
}
