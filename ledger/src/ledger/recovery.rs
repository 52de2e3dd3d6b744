//! Crash recovery (崩溃恢复): what a crash can leave before the store is trusted — an
//! interrupted batch (`import.intent`), a torn tail, an interrupted redaction, scratch stores.
//!
//! Guarantees: only a writer repairs, and it saves what it cuts; an intent is acted on only when
//! it matches the log (otherwise it is refused, naming the file); a reader changes nothing and
//! reads what a writer would keep. The import intent is written and read here, in one place.

use std::path::Path;

use serde_json::Value;

use super::{INTENT_FILE, redaction};
use crate::error::{Error, ErrorKind, Result};
use crate::fsio;
use crate::log::{Position, SegmentLog};
use crate::record::ParsedLine;

/// Remove scratch stores left by a rebuild that was interrupted (only the lock holder runs this,
/// so no other process can be using one).
fn remove_stale_scratch_stores(dir: &Path) {
    let Ok(listing) = std::fs::read_dir(dir) else { return };
    for item in listing.flatten() {
        if item.file_name().to_string_lossy().starts_with("index.rebuild.") {
            let _ = std::fs::remove_dir_all(item.path());
        }
    }
}

/// Record, durably, where a multi-line batch begins (segment, offset, and the seq of its first
/// line) and how long it is, before writing it. Written whole under a temporary name and renamed,
/// so an intent file is either complete or absent.
pub(super) fn write_intent(dir: &Path, start: Position, length: u64, first_seq: u64) -> Result<()> {
    let text = format!(
        "{{\"segment\":{},\"start\":{},\"length\":{length},\"seq\":{first_seq}}}\n",
        start.segment, start.offset
    );
    fsio::publish_bytes(&dir.join(INTENT_FILE), true, text.as_bytes())
}

/// Remove the intent once its batch is durable, and fsync the directory: an intent that came
/// back after a crash could otherwise name bytes that a later rewrite (a redaction) moved.
pub(super) fn clear_intent(dir: &Path) -> Result<()> {
    fsio::remove_durable(&dir.join(INTENT_FILE))
}

/// What an import intent says once checked against the log.
enum ImportIntent {
    /// There is none.
    Absent,
    /// Its batch never began, or is complete: nothing to undo, the file is only to be removed.
    Done,
    /// A batch was interrupted: its partial bytes run from here to the end of the segment.
    Partial(Position, u64),
}

/// Read `import.intent` and check it against the log's real state: the segment it names is the
/// last one, the batch starts on a line boundary inside it with the seq the intent names, the
/// segment ends inside the batch, and the derived store knows no entry at or after its start (an
/// entry the store knows was acknowledged). An intent that fails a check was not left by an
/// interrupted import (it is stale or was planted) and is refused, naming the file.
fn check_import_intent(dir: &Path, log: &SegmentLog) -> Result<ImportIntent> {
    let path = dir.join(INTENT_FILE);
    let text = match fsio::read_small_text_in_ledger(&path, 4096) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(ImportIntent::Absent),
        Err(err) if err.raw_os_error() == Some(libc::ELOOP) => return Err(fsio::link_refused(&path)),
        // Not text, or too long: not an intent lianlog wrote completely; it announces nothing.
        Err(err) if err.kind() == std::io::ErrorKind::InvalidData => return Ok(ImportIntent::Done),
        Err(err) => return Err(Error::io("read", &path, err)),
    };
    let intent: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let (Some(segment), Some(start), Some(length)) =
        (intent["segment"].as_u64(), intent["start"].as_u64(), intent["length"].as_u64())
    else {
        // A torn intent file (an earlier lianlog wrote it in place): the batch never began.
        return Ok(ImportIntent::Done);
    };
    let refuse = |why: String| {
        Error::verification(format!(
            "{}: this import intent does not match the log ({why}), so it was not left by an interrupted import; \
             it was not acted upon and nothing was changed. If no import was running, keep a copy of it for the \
             record, remove it, and open the ledger again",
            path.display()
        ))
    };
    let last = log.last_segment().unwrap_or(0);
    if segment > last {
        // The batch was to start a new segment that was never created: it never began.
        return if start == 0 {
            Ok(ImportIntent::Done)
        } else {
            Err(refuse(format!(
                "segment {segment:020}.jsonl does not exist and the batch would not start at its beginning"
            )))
        };
    }
    if segment != last {
        return Err(refuse(format!("segment {segment:020}.jsonl is not the last segment, where a batch is written")));
    }
    let current = log.segment_len(segment)?;
    if current < start {
        return Err(refuse(format!(
            "the batch would start at byte {start} but segment {segment:020}.jsonl ends at {current}"
        )));
    }
    if current == start || current >= start.saturating_add(length) {
        return Ok(ImportIntent::Done);
    }
    // The batch is partly written: check it starts where the intent says, with the seq it says.
    let at = Position { segment, offset: start };
    let boundary = start == 0 || log.byte_at(Position { segment, offset: start - 1 })? == Some(b'\n');
    if !boundary {
        return Err(refuse(format!("byte {start} of segment {segment:020}.jsonl is not the start of a line")));
    }
    if let Some(seq) = intent["seq"].as_u64()
        && let Ok(line) = log.read_line_at(at)
        && let Ok(parsed) = ParsedLine::parse(&line)
        && parsed.line.entry.seq != seq
    {
        return Err(refuse(format!("the line at byte {start} is seq {}, not seq {seq}", parsed.line.entry.seq)));
    }
    if let Some(known) = crate::store::last_known_position(dir)?
        && known >= at
    {
        return Err(refuse(format!(
            "the derived store knows an entry at byte {} of segment {:020}.jsonl, so the entries from byte {start} on \
             were acknowledged",
            known.offset, known.segment
        )));
    }
    Ok(ImportIntent::Partial(at, current))
}

/// If an import was interrupted, cut the log back to where it began (all or nothing), saving the
/// cut bytes beside the log. Only a writer calls this.
fn undo_interrupted_import(dir: &Path, log: &mut SegmentLog, notes: &mut Vec<String>) -> Result<()> {
    let path = dir.join(INTENT_FILE);
    match check_import_intent(dir, log)? {
        ImportIntent::Absent => return Ok(()),
        ImportIntent::Done => {}
        ImportIntent::Partial(start, current) => {
            let saved = log.truncate(start)?;
            notes.push(format!(
                "an import was interrupted: removed its {} partly written bytes from the end of segment {:020}.jsonl, \
                 so none of it is visible (saved in {})",
                current - start.offset,
                start.segment,
                saved.display()
            ));
        }
    }
    fsio::remove_durable(&path)
}

/// Deal with what a crash can leave before the store is trusted: an interrupted batch, a torn
/// tail, an interrupted redaction, scratch stores. A writer repairs them (saving what it cuts);
/// a read-only opener changes nothing, reads only what a writer would keep, and says so.
pub(super) fn recover(dir: &Path, log: &mut SegmentLog, notes: &mut Vec<String>, read_only: bool) -> Result<()> {
    if !read_only {
        // Only a line that is not even JSON can be a torn write; a complete JSON line that fails
        // its checks is evidence, kept for `verify` to report.
        let torn = |line: &[u8]| serde_json::from_slice::<serde::de::IgnoredAny>(line).is_ok();
        undo_interrupted_import(dir, log, notes)?;
        if let Some(repair) = log.repair_tail(torn)? {
            notes.push(format!(
                "cut {} bytes from the end of {}: {} that was never acknowledged (saved in {})",
                repair.cut_bytes,
                repair.segment.display(),
                repair.reason,
                repair.saved.display()
            ));
        }
        log.open_writer()?;
        if let Some(note) = redaction::finish_interrupted(dir, log)? {
            notes.push(note);
        }
        remove_stale_scratch_stores(dir);
        return Ok(());
    }
    reader_view(dir, log, notes, true)?;
    redaction::check_no_interrupted(dir)
}

/// Bound `log` to what a writer would keep — before an interrupted batch whose intent matches the
/// log, and with `torn_lines` before a last line that is not JSON — without changing anything,
/// and say so in `notes` (bytes after the last newline are never read anyway). Used by read-only
/// opens and, without `torn_lines` (a complete line that is not JSON is for the verifier to
/// report), by the lock-free `verify_dir` and `export_dir`, for which a batch another process is
/// writing right now is such an unfinished batch: not acknowledged, so not shown.
pub(super) fn reader_view(dir: &Path, log: &mut SegmentLog, notes: &mut Vec<String>, torn_lines: bool) -> Result<()> {
    let torn = |line: &[u8]| serde_json::from_slice::<serde::de::IgnoredAny>(line).is_ok();
    let later = "the next command that writes will remove it; this read-only command changed nothing";
    // Without the lock (`torn_lines` false), a writer may start a batch at any moment: fix the
    // end of the log *before* looking for its intent, so that a batch begun after the look (its
    // lines all after this end) is not read, unacknowledged, in part.
    let end = if torn_lines { None } else { Some(log.end()?) };
    match check_import_intent(dir, log) {
        Ok(ImportIntent::Partial(start, current)) => {
            log.limit_to(start);
            notes.push(format!(
                "an import was interrupted: its {} partly written bytes at the end of segment {:020}.jsonl are not \
                 shown; {later}",
                current - start.offset,
                start.segment
            ));
            return Ok(());
        }
        Ok(_) => {}
        // A writer refuses it; a reader does not act on it and reads the log as it is.
        Err(err) if err.kind() == ErrorKind::Verification => {
            notes.push(format!("{err} (a command that writes will refuse to run until then)"))
        }
        Err(err) => return Err(err),
    }
    if let Some(end) = end {
        log.limit_to(end);
        return Ok(());
    }
    if let Some((keep, reason)) = log.torn_tail(torn)? {
        log.limit_to(keep);
        notes.push(format!(
            "segment {:020}.jsonl ends with {reason}, never acknowledged and not shown; {later}",
            keep.segment
        ));
    }
    Ok(())
}
