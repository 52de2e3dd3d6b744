//! Redaction (内容删除): removing a record's body while keeping every hash, signature and proof.
//!
//! A redaction is a `ledger.redact` entry (format-v1 section 6) followed by the rewrite of the
//! target's stored line into its redacted form and a rebuild of the derived store, so that no copy
//! or derivative of the body stays under the ledger directory. Crash safety: a `redact.intent`
//! file names the target and the redacting seq before anything is written; `Ledger::open`
//! finishes an interrupted redaction (or discards an intent whose entry was never appended). The
//! segment rewrite itself is atomic (`SegmentLog::replace_line`).
//!
//! No copy is left under the ledger directory: files of cut bytes that hold the body (a torn tail
//! or an interrupted batch saved in `log/torn-*.bin`, `log/interrupted-*.bin`) are rewritten
//! first, and a segment that is a symbolic link (whose target a rewrite would leave untouched) is
//! refused when the log is opened.

use std::path::Path;

use serde_json::{Value, json};

use super::{Draft, Ledger};
use crate::error::{Error, ErrorKind, Result};
use crate::fsio;
use crate::keys::SecretKey;
use crate::record::{ParsedLine, StoredBody, kind_keeps_body};

const INTENT_FILE: &str = "redact.intent";

/// What a redaction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted {
    /// The seq of the redacted record.
    pub target: u64,
    /// The seq of the `ledger.redact` entry.
    pub by: u64,
    /// The hash of the `ledger.redact` entry.
    pub entry_hash: crate::record::EntryHash,
    /// The `correction` entry that carries the replacement body, if one was given.
    pub replacement: Option<u64>,
}

/// A replacement body for a redacted record (the original with the sensitive parts removed) and
/// the officer's key that signs it: it is written as a `correction` of the target, which needs
/// the officer role, and its body is withheld from exports like any record's.
pub struct Replacement<'a> {
    /// The replacement body.
    pub body: Value,
    /// The officer key that signs the replacement.
    pub officer: &'a SecretKey,
}

impl Ledger {
    /// Redact the body of entry `target`: append a `ledger.redact` entry signed by `admin` with
    /// `reason` — preceded, in the same all-or-nothing batch, by the `replacement` as a
    /// `correction` of the target, which the projections use (see `ReplacementScan`) — remove the
    /// body and salt from the stored line, and rebuild the derived store from the log.
    pub fn redact(
        &mut self,
        target: u64,
        reason: &str,
        replacement: Option<Replacement<'_>>,
        admin: &SecretKey,
    ) -> Result<Redacted> {
        let line = self.read(target)?;
        let kind = line.line.entry.record.kind.clone();
        if kind_keeps_body(&kind) {
            return Err(Error::bad_input(format!(
                "entry {target} is a {kind} record; bodies of ledger.* and key.* records are never redacted"
            )));
        }
        if !matches!(line.line.body, StoredBody::Full { .. }) {
            return Err(Error::bad_input(format!("entry {target} is already redacted")));
        }
        if reason.trim().is_empty() {
            return Err(Error::bad_input("--reason: say why the body is removed (it is recorded in the ledger)"));
        }
        let by = self.size() + u64::from(replacement.is_some());
        let mut drafts = Vec::new();
        let mut keys = Vec::new();
        if let Some(Replacement { body, officer }) = replacement {
            let v = line.line.entry.record.v;
            // A body of the record's own schema version is brought to the current one, as a
            // correction's body is.
            let body = match crate::schema::validate(&kind, v, &body, line.line.entry.time) {
                Ok(()) => crate::schema::upcast(&kind, v, &body, line.line.entry.time),
                Err(_) => body,
            };
            drafts.push(Draft::new(
                "correction",
                json!({
                    "target": {"seq": target, "hash": line.entry_hash.to_hex()},
                    "reason": format!("内容删除后的替代内容 (replacement of a redacted body; ledger.redact at seq {by})"),
                    "body": body,
                }),
            ));
            keys.push(officer);
        }
        drafts.push(Draft::new(
            "ledger.redact",
            json!({"target": {"seq": target, "entry_hash": line.entry_hash.to_hex()}, "reason": reason}),
        ));
        keys.push(admin);
        write_intent(self.dir(), target, by)?;
        let appended = match self.append_with(&drafts, &keys, true) {
            Ok(appended) => appended,
            Err(err) => {
                let _ = std::fs::remove_file(self.dir().join(INTENT_FILE));
                return Err(match (drafts.len(), err.kind()) {
                    (2, ErrorKind::Unauthorized) => Error::unauthorized(format!(
                        "{}; the replacement is written as a correction (更正) of seq {target}, which an officer's key signs",
                        err.message()
                    )),
                    _ => err,
                });
            }
        };
        let by = appended.last().map(|a| a.seq).ok_or_else(|| Error::bad_input("nothing appended"))?;
        self.apply_redaction(target, by)?;
        let replacement = (appended.len() == 2).then(|| appended[0].seq);
        Ok(Redacted { target, by, entry_hash: line.entry_hash, replacement })
    }

    /// Rewrite the target's line into its redacted form (if it still holds its body), rebuild the
    /// derived store, and clear the intent.
    fn apply_redaction(&mut self, target: u64, by: u64) -> Result<()> {
        let position = self.store.position(target)?.ok_or_else(|| {
            Error::new(ErrorKind::Store, format!("no position for seq {target}; run `lianlog reindex`"))
        })?;
        let old = self.log.read_line_at(position)?;
        let parsed = ParsedLine::parse(&old).map_err(|e| Error::verification(format!("seq {target}: {e}")))?;
        if let StoredBody::Full { body, .. } = &parsed.line.body {
            // Copies first: if a crash follows, the body is still in the log for the finish.
            scrub_saved_cuts(&self.log, body, by)?;
            let new = parsed.line.redacted_bytes(by);
            self.log.replace_line(position, &old, &new)?;
        }
        // Positions moved and projections held derivatives of the body: rebuild everything.
        self.rebuild_store()?;
        self.catch_up()?;
        let _ = self.store.flush();
        clear_intent(&self.dir)
    }
}

fn write_intent(dir: &Path, target: u64, by: u64) -> Result<()> {
    fsio::publish_bytes(&dir.join(INTENT_FILE), true, format!("{{\"by\":{by},\"target\":{target}}}\n").as_bytes())
}

fn clear_intent(dir: &Path) -> Result<()> {
    fsio::remove_durable(&dir.join(INTENT_FILE))
}

/// For a read-only open: refuse while a redaction is unfinished (the body may still be in the
/// log and the derived store is stale); only a writer finishes it.
pub(super) fn check_no_interrupted(dir: &Path) -> Result<()> {
    let path = dir.join(INTENT_FILE);
    fsio::refuse_link(&path)?;
    if std::fs::symlink_metadata(&path).is_err() {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Io,
        format!(
            "{} shows that a redaction was interrupted; a read-only command does not finish it (the body may still \
             be in the log): run `lianlog reindex`, or any command that writes, to finish it",
            path.display()
        ),
    ))
}

/// The marker that replaces a redacted body in a file of cut bytes.
const MARKER_PREFIX: &str = "[redacted by seq ";

/// Rewrite every file of cut bytes (`log/torn-*.bin`, `log/interrupted-*.bin`) that holds a copy
/// of `body`: each copy of its canonical encoding, and a line torn inside it (`{"body":` followed
/// by a beginning of it), is replaced by the JSON string `"[redacted by seq BY]"`. The file keeps
/// what it is for — showing what an unacknowledged write held (entries, times, signatures) —
/// without the body. Returns how many files were rewritten.
fn scrub_saved_cuts(log: &crate::log::SegmentLog, body: &Value, by: u64) -> Result<usize> {
    use std::io::Read as _;
    let encoded = crate::canonical::encode(body, "body").map_err(|e| Error::verification(e.to_string()))?;
    let marker = format!("\"{MARKER_PREFIX}{by}]\"");
    let mut rewritten = 0;
    for path in log.saved_cuts()? {
        let mut bytes = Vec::new();
        fsio::open_read_in_ledger(&path)?.read_to_end(&mut bytes).map_err(|err| Error::io("read", &path, err))?;
        let scrubbed = scrub(&bytes, &encoded, marker.as_bytes());
        if scrubbed != bytes {
            fsio::publish_bytes(&path, true, &scrubbed)?;
            rewritten += 1;
        }
    }
    Ok(rewritten)
}

/// `bytes` with every copy of `body`, and every line that ends inside a copy of it after
/// `{"body":`, replaced by `marker`.
fn scrub(bytes: &[u8], body: &[u8], marker: &[u8]) -> Vec<u8> {
    const START: &[u8] = b"{\"body\":";
    let mut out = Vec::with_capacity(bytes.len());
    for (index, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if index > 0 {
            out.push(b'\n');
        }
        let mut rest = line;
        if let Some(after) = line.strip_prefix(START)
            && !after.is_empty()
            && after.len() < body.len()
            && body.starts_with(after)
        {
            // Torn inside the body: all that is left of the line is the body's beginning.
            out.extend_from_slice(START);
            out.extend_from_slice(marker);
            continue;
        }
        while let Some(at) = find(rest, body) {
            out.extend_from_slice(&rest[..at]);
            out.extend_from_slice(marker);
            rest = &rest[at + body.len()..];
        }
        out.extend_from_slice(rest);
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > haystack.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|window| window == needle)
}

/// Before the store is trusted on open: finish a redaction that a crash interrupted. Rewrites the
/// segment if the redaction entry exists and the target still has its body, then removes the
/// store so that it is rebuilt (its positions and projections are stale). Returns a note.
pub(super) fn finish_interrupted(dir: &Path, log: &mut crate::log::SegmentLog) -> Result<Option<String>> {
    let path = dir.join(INTENT_FILE);
    let text = match fsio::read_small_in_ledger(&path, 4096) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) if err.raw_os_error() == Some(libc::ELOOP) => return Err(fsio::link_refused(&path)),
        Err(err) if err.kind() == std::io::ErrorKind::InvalidData => String::new(),
        Err(err) => return Err(Error::io("read", &path, err)),
    };
    let intent: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let (Some(target), Some(by)) = (intent["target"].as_u64(), intent["by"].as_u64()) else {
        clear_intent(dir)?;
        return Ok(None);
    };
    // Find the target's and the redaction's lines by streaming the log.
    let mut target_line = None;
    let mut redaction_targets_it = false;
    for item in log.lines_from(crate::log::Position { segment: 0, offset: 0 })? {
        let (position, bytes) = item?;
        let Ok(parsed) = ParsedLine::parse(&bytes) else { continue };
        let seq = parsed.line.entry.seq;
        if seq == target {
            target_line = Some((position, bytes, parsed));
        } else if seq == by {
            redaction_targets_it = parsed.line.entry.record.kind == "ledger.redact"
                && parsed.line.body().and_then(|b| b["target"]["seq"].as_u64()) == Some(target);
            break;
        }
    }
    if !redaction_targets_it {
        clear_intent(dir)?;
        return Ok(Some(format!(
            "discarded an unfinished redaction of seq {target}: its ledger.redact entry was never written"
        )));
    }
    if let Some((position, old, parsed)) = target_line
        && let StoredBody::Full { body, .. } = &parsed.line.body
    {
        scrub_saved_cuts(log, body, by)?;
        let new = parsed.line.redacted_bytes(by);
        log.replace_line(position, &old, &new)?;
    }
    crate::store::Store::destroy(dir)?;
    clear_intent(dir)?;
    Ok(Some(format!(
        "finished the interrupted redaction of seq {target} (by seq {by}); the derived store will be rebuilt"
    )))
}

#[cfg(test)]
mod tests {
    use super::scrub;

    #[test]
    fn scrub_replaces_whole_and_torn_copies_and_nothing_else() {
        let body = br#"{"reason":"secret"}"#;
        let marker = br#""[redacted by seq 9]""#;
        let whole = b"{\"body\":{\"reason\":\"secret\"},\"entry\":{}}\n{\"body\":{\"reason\":\"other\"}}\n";
        assert_eq!(
            scrub(whole, body, marker),
            b"{\"body\":\"[redacted by seq 9]\",\"entry\":{}}\n{\"body\":{\"reason\":\"other\"}}\n".to_vec()
        );
        let torn = b"{\"body\":{\"reason\":\"sec";
        assert_eq!(scrub(torn, body, marker), b"{\"body\":\"[redacted by seq 9]\"".to_vec());
        let unrelated = b"{\"body\":{\"reason\":\"oth";
        assert_eq!(scrub(unrelated, body, marker), unrelated.to_vec());
    }
}
