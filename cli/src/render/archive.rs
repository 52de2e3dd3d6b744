//! The reports of `lianlog snapshot verify` and `restore` (快照归档): each archive, the sequence
//! they form, the redactions, and a warning, with the command that fixes it, for every body an
//! archive still holds although a later archive redacts it.

use lianlog_ledger::archive::{SequenceReport, StaleBody};
use lianlog_ledger::encoding::hex;
use serde_json::{Value, json};

pub fn report_json(report: &SequenceReport, seconds: f64) -> Value {
    json!({
        "ok": true,
        "origin": report.origin,
        "log_key": report.log_key,
        "log_key_pinned": report.log_key_pinned,
        "first_seq": report.first_seq,
        "end": report.end,
        "root": hex(&report.root),
        "head": report.head.to_hex(),
        "archives": report.archives.iter().map(|a| json!({
            "archive": a.path,
            "first_seq": a.first_seq,
            "end": a.end,
            "root": hex(&a.root),
            "compressed": a.compressed,
        })).collect::<Vec<_>>(),
        "redactions": report.redactions.iter().map(|r| json!({"seq": r.target, "by": r.by, "reason": r.reason})).collect::<Vec<_>>(),
        "not_checked": report.not_checked,
        "warnings": report.stale_bodies.iter().map(|stale| json!({
            "warning": "redacted body still archived",
            "archive": stale.archive,
            "seq": stale.seq,
            "redacted_by": stale.by,
            "redacted_in": stale.by_archive,
            "message": stale_message(stale),
            "command": redact_command(report),
        })).collect::<Vec<_>>(),
        "seconds": seconds,
    })
}

pub fn print_report(report: &SequenceReport, seconds: f64) {
    for archive in &report.archives {
        println!(
            "OK  {}  seq {}..{}  root {}",
            archive.path.display(),
            archive.first_seq,
            archive.end - 1,
            &hex(&archive.root)[..16]
        );
    }
    let sequence = if report.archives.len() > 1 { "an unbroken sequence" } else { "one archive" };
    println!("verified {} archive(s): OK, {sequence}", report.archives.len());
    println!("  origin    {}", report.origin);
    println!(
        "  log key   {}{}",
        report.log_key,
        if report.log_key_pinned {
            " (pinned with --vkey)"
        } else if report.first_seq == 0 {
            " (taken from genesis in the first archive; pin it with --vkey)"
        } else {
            " (taken from the first archive's keys.jsonl; pin it with --vkey)"
        }
    );
    println!("  entries   seq {}..{} ({})", report.first_seq, report.end - 1, report.end - report.first_seq);
    println!("  root      {}", hex(&report.root));
    println!("  head      {}", report.head);
    for redaction in &report.redactions {
        println!("  redacted  seq {} by seq {}: {}", redaction.target, redaction.by, redaction.reason);
    }
    for note in &report.not_checked {
        println!("  not checked: {note}");
    }
    for stale in &report.stale_bodies {
        println!("  WARNING: {}", stale_message(stale));
    }
    if !report.stale_bodies.is_empty() {
        println!(
            "  rewrite them without those bodies with:\n    {}\n  then destroy the old archives and every copy of them (docs/ARCHIVING.md section 7)",
            redact_command(report)
        );
    }
    let entries = report.end - report.first_seq;
    println!("  time      {seconds:.3} s ({:.0} entries/s)", entries as f64 / seconds.max(1e-9));
}

fn stale_message(stale: &StaleBody) -> String {
    format!(
        "{} still holds the body of seq {}, which seq {} (in {}) redacts",
        stale.archive.display(),
        stale.seq,
        stale.by,
        stale.by_archive.display()
    )
}

/// The command that rewrites the archives of `report` without the bodies they redact.
fn redact_command(report: &SequenceReport) -> String {
    let archives: Vec<String> = report.archives.iter().map(|a| shell_word(&a.path.display().to_string())).collect();
    format!("lianlog snapshot redact {} --out NEW_DIR", archives.join(" "))
}

/// `word` quoted for a POSIX shell when it needs to be.
fn shell_word(word: &str) -> String {
    if !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c)) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}
