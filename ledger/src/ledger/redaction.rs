//! Redaction (内容删除): removing a record's body while keeping every hash, signature and proof.
//!
//! A redaction is a `ledger.redact` entry (format-v1 section 6) followed by the rewrite of the
//! target's stored line into its redacted form and a rebuild of the derived store, so that no copy
//! or derivative of the body stays under the ledger directory. Crash safety: a `redact.intent`
//! file names the target and the redacting seq before anything is written; `Ledger::open`
//! finishes an interrupted redaction (or discards an intent whose entry was never appended). The
//! segment rewrite itself is atomic (`SegmentLog::replace_line`).

use std::path::Path;

use serde_json::{Value, json};

use super::{Draft, Ledger, write_durable};
use crate::error::{Error, ErrorKind, Result};
use crate::keys::SecretKey;
use crate::record::{ParsedLine, StoredBody, StoredLine, kind_keeps_body};

const INTENT_FILE: &str = "redact.intent";

/// What a redaction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted {
    pub target: u64,
    pub by: u64,
    pub entry_hash: crate::record::EntryHash,
    /// The `correction` entry that carries the replacement body, if one was given.
    pub replacement: Option<u64>,
}

/// A replacement body for a redacted record (the original with the sensitive parts removed) and
/// the officer's key that signs it: it is written as a `correction` of the target, which needs
/// the officer role, and its body is withheld from exports like any record's.
pub struct Replacement<'a> {
    pub body: Value,
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
                Ok(()) => crate::schema::upcast(&kind, v, &body),
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
        if matches!(parsed.line.body, StoredBody::Full { .. }) {
            let redacted = StoredLine { entry: parsed.line.entry.clone(), body: StoredBody::Redacted { by } };
            let mut new = redacted.to_line().map_err(|e| Error::verification(e.to_string()))?;
            new.pop();
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
    write_durable(&dir.join(INTENT_FILE), format!("{{\"by\":{by},\"target\":{target}}}\n").as_bytes())?;
    crate::log::sync_directory(dir)
}

fn clear_intent(dir: &Path) -> Result<()> {
    let path = dir.join(INTENT_FILE);
    match std::fs::remove_file(&path) {
        Ok(()) => crate::log::sync_directory(dir),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(Error::io("remove", &path, err)),
    }
}

/// Before the store is trusted on open: finish a redaction that a crash interrupted. Rewrites the
/// segment if the redaction entry exists and the target still has its body, then removes the
/// store so that it is rebuilt (its positions and projections are stale). Returns a note.
pub(super) fn finish_interrupted(dir: &Path, log: &mut crate::log::SegmentLog) -> Result<Option<String>> {
    let path = dir.join(INTENT_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
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
        && matches!(parsed.line.body, StoredBody::Full { .. })
    {
        let redacted = StoredLine { entry: parsed.line.entry.clone(), body: StoredBody::Redacted { by } };
        let mut new = redacted.to_line().map_err(|e| Error::verification(e.to_string()))?;
        new.pop();
        log.replace_line(position, &old, &new)?;
    }
    crate::store::Store::destroy(dir)?;
    clear_intent(dir)?;
    Ok(Some(format!(
        "finished the interrupted redaction of seq {target} (by seq {by}); the derived store will be rebuilt"
    )))
}
