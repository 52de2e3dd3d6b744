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
