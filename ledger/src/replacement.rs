//! Replacement bodies of redacted records (替换内容): which body the projections use for a record
//! whose own body was redacted. A leaf rule over parsed lines, shared by the live ledger, replay,
//! as-of and archive queries, so that all of them find the same replacement.

use serde_json::Value;

use crate::record::ParsedLine;

/// Replacement bodies of redacted records, by target seq.
pub(crate) type Replacements = std::collections::BTreeMap<u64, Value>;

/// The body a redacted record is projected from (its replacement), found by reading lines in seq
/// order. The one rule: the `replacement` member of its `ledger.redact` body (ledgers written
/// before replacements moved out of it), or else the `correction` of the same target (seq and
/// entry hash) sequenced immediately before that `ledger.redact` entry, which `Ledger::redact`
/// writes with it in one batch. A `ledger.*` body is never withheld from an export (format v1
/// section 6); a correction's body is, so the replacement now leaves with the other bodies.
///
/// A correction made at any other time is an ordinary correction, applied at its own seq: only a
/// replacement written with its redaction is applied at the target's seq, because only then is
/// the derived store rebuilt right after it (incremental and rebuilt state stay identical).
#[derive(Debug, Default)]
pub(crate) struct ReplacementScan {
    found: Replacements,
    /// The last correction seen: its seq, its target (seq, entry hash) and its corrected body.
    correction: Option<(u64, u64, String, Value)>,
}

impl ReplacementScan {
    /// Read the next line (lines may be skipped, never reordered).
    pub fn add(&mut self, line: &ParsedLine) {
        let correction = self.correction.take();
        let Some(body) = line.line.body() else { return };
        let seq = line.line.entry.seq;
        let target = || Some((body["target"]["seq"].as_u64()?, &body["target"]));
        match line.line.entry.record.kind.as_str() {
            "correction" => {
                if let (Some((target, reference)), Some(corrected)) = (target(), body.get("body")) {
                    let hash = reference["hash"].as_str().unwrap_or_default().to_string();
                    self.correction = Some((seq, target, hash, corrected.clone()));
                }
            }
            "ledger.redact" => {
                let Some((target, reference)) = target() else { return };
                if let Some(replacement) = body.get("replacement") {
                    self.found.insert(target, replacement.clone());
                } else if let Some((at, corrected_target, hash, corrected)) = correction
                    && at + 1 == seq
                    && corrected_target == target
                    && reference["entry_hash"].as_str() == Some(hash.as_str())
                {
                    self.found.insert(target, corrected);
                }
            }
            _ => {}
        }
    }

    /// The replacements found, by target seq.
    pub fn finish(self) -> Replacements {
        self.found
    }
}
