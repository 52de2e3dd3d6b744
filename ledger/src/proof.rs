//! Text forms of Merkle proofs, for offline checks.
//!
//! - Inclusion: a C2SP `tlog-proof` v1 bundle — `c2sp.org/tlog-proof@v1`, an optional
//!   `extra <base64>` line, `index <n>`, the audit path (one base64 hash per line, leaf's sibling
//!   first), an empty line, and the signed checkpoint verbatim.
//! - Consistency: one base64 hash per line, as C2SP `tlog-witness` sends them.
//!
//! Parsing is strict (one spelling per value) and bounded (at most [`MAX_PROOF_HASHES`] hashes),
//! so a hostile file cannot make a verifier allocate or loop without limit.

use crate::encoding::{base64, parse_base64};
use crate::error::{Error, Result};
use crate::limits::{MAX_EXTRA_BYTES, MAX_PROOF_BYTES, MAX_PROOF_HASHES};
use crate::merkle::Hash;

const HEADER: &str = "c2sp.org/tlog-proof@v1";

/// An inclusion proof bundled with the checkpoint it proves against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionBundle {
    /// Optional extra data carried with the proof (the `extra` line).
    pub extra: Option<Vec<u8>>,
    /// The leaf index.
    pub index: u64,
    /// The audit path, leaf's sibling first.
    pub hashes: Vec<Hash>,
    /// The signed checkpoint note, verbatim.
    pub checkpoint: String,
}

impl InclusionBundle {
    /// The bundle as text (c2sp.org/tlog-proof@v1).
    pub fn to_text(&self) -> String {
        let mut out = String::from(HEADER);
        out.push('\n');
        if let Some(extra) = &self.extra {
            out.push_str(&format!("extra {}\n", base64(extra)));
        }
        out.push_str(&format!("index {}\n", self.index));
        for hash in &self.hashes {
            out.push_str(&base64(hash));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    /// Parse a bundle from text, refusing anything malformed.
    pub fn parse(text: &str) -> Result<InclusionBundle> {
        let bad = |why: String| Error::bad_input(format!("not a c2sp.org/tlog-proof@v1 inclusion proof: {why}"));
        if text.len() > MAX_PROOF_BYTES {
            return Err(bad(format!("{} bytes; the limit is {MAX_PROOF_BYTES}", text.len())));
        }
        let (head, checkpoint) =
            text.split_once("\n\n").ok_or_else(|| bad("no empty line before the checkpoint".into()))?;
        let mut lines = head.split('\n');
        if lines.next() != Some(HEADER) {
            return Err(bad(format!("the first line must be {HEADER}")));
        }
        let mut line = lines.next().ok_or_else(|| bad("no index line".into()))?;
        let mut extra = None;
        if let Some(encoded) = line.strip_prefix("extra ") {
            if encoded.len() > MAX_EXTRA_BYTES.div_ceil(3) * 4 {
                return Err(bad(format!("the extra data is longer than {MAX_EXTRA_BYTES} bytes")));
            }
            extra = Some(parse_base64(encoded).ok_or_else(|| bad("the extra line is not base64".into()))?);
            line = lines.next().ok_or_else(|| bad("no index line".into()))?;
        }
        let index = line
            .strip_prefix("index ")
            .and_then(parse_decimal)
            .ok_or_else(|| bad(format!("expected `index N`, found {line:?}")))?;
        let mut hashes = Vec::new();
        for (number, line) in lines.enumerate() {
            if hashes.len() >= MAX_PROOF_HASHES {
                return Err(bad(format!("more than {MAX_PROOF_HASHES} proof hashes")));
            }
            hashes.push(
                parse_hash(line)
                    .ok_or_else(|| bad(format!("proof line {} is not a base64 SHA-256 hash", number + 1)))?,
            );
        }
        Ok(InclusionBundle { extra, index, hashes, checkpoint: checkpoint.to_string() })
    }
}

/// Consistency proof hashes as base64 lines.
pub fn consistency_to_text(hashes: &[Hash]) -> String {
    hashes.iter().map(|hash| format!("{}\n", base64(hash))).collect()
}

/// Parse a consistency proof as text (one base64 hash per line).
pub fn parse_consistency_text(text: &str) -> Result<Vec<Hash>> {
    if text.len() > MAX_PROOF_BYTES {
        return Err(Error::bad_input(format!(
            "consistency proof: {} bytes; the limit is {MAX_PROOF_BYTES}",
            text.len()
        )));
    }
    let mut hashes = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        if hashes.len() >= MAX_PROOF_HASHES {
            return Err(Error::bad_input(format!("consistency proof: more than {MAX_PROOF_HASHES} hashes")));
        }
        hashes.push(parse_hash(line).ok_or_else(|| {
            Error::bad_input(format!("consistency proof: line {} is not a base64 SHA-256 hash", number + 1))
        })?);
    }
    Ok(hashes)
}

/// Decimal without leading zeros (except `0` itself).
pub(crate) fn parse_decimal(text: &str) -> Option<u64> {
    if text.is_empty() || (text.len() > 1 && text.starts_with('0')) || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn parse_hash(text: &str) -> Option<Hash> {
    parse_base64(text)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_round_trips() {
        let bundle = InclusionBundle {
            extra: Some(b"seq 4".to_vec()),
            index: 4,
            hashes: vec![[1; 32], [2; 32]],
            checkpoint: "origin\n8\nAAAA\n\n— origin sig\n".into(),
        };
        let text = bundle.to_text();
        assert!(text.starts_with("c2sp.org/tlog-proof@v1\nextra "));
        assert_eq!(InclusionBundle::parse(&text).unwrap(), bundle);
    }

    #[test]
    fn malformed_bundles_are_refused() {
        for text in [
            "c2sp.org/tlog-proof@v2\nindex 1\n\ncp\n",
            "c2sp.org/tlog-proof@v1\nindex 01\n\ncp\n",
            "c2sp.org/tlog-proof@v1\nindex 1\nnot-base64\n\ncp\n",
            "c2sp.org/tlog-proof@v1\nindex 1\n",
        ] {
            assert!(InclusionBundle::parse(text).is_err(), "{text:?}");
        }
    }
}

/// What an offline inclusion check established.
#[derive(Debug, Clone)]
pub struct InclusionChecked {
    /// The leaf index.
    pub index: u64,
    /// The checkpoint it proved against.
    pub checkpoint: crate::note::VerifiedCheckpoint,
    /// The leaf hash proved included.
    pub leaf: Hash,
}

/// The entry bytes of an entry file: the exact bytes (`lianlog show SEQ --raw`), or a stored line.
pub fn entry_bytes_from_file(bytes: &[u8]) -> Result<Vec<u8>> {
    let trimmed = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if trimmed.starts_with(b"{\"body\"") || trimmed.starts_with(b"{\"entry\"") {
        let parsed = crate::record::ParsedLine::parse(trimmed)
            .map_err(|e| Error::bad_input(format!("the stored line is invalid: {e}")))?;
        return Ok(parsed.entry_bytes);
    }
    Ok(bytes.to_vec())
}

/// Check a tlog-proof bundle offline: the checkpoint is signed by the log key (and trusted
/// cosigners), and the entry is at `index` in the tree the checkpoint commits to.
pub fn check_inclusion<'a>(
    bundle_text: &str,
    entry_bytes: &[u8],
    log_key: &crate::keys::PublicKey,
    cosigners: impl Into<crate::note::CosignerPolicy<'a>>,
) -> Result<InclusionChecked> {
    let bundle = InclusionBundle::parse(bundle_text)?;
    let checkpoint = crate::note::open_checkpoint(&bundle.checkpoint, log_key, cosigners)?;
    let leaf = crate::record::EntryHash::of_entry_bytes(entry_bytes).0;
    let size = checkpoint.checkpoint.size;
    if !crate::merkle::verify_inclusion(bundle.index, size, &leaf, &bundle.hashes, &checkpoint.checkpoint.root) {
        return Err(Error::verification(format!(
            "the entry (leaf hash {}) is not at index {} of the tree of size {size} that the checkpoint signs",
            crate::encoding::hex(&leaf),
            bundle.index
        )));
    }
    Ok(InclusionChecked { index: bundle.index, checkpoint, leaf })
}

/// Check a consistency proof offline between two signed checkpoints of the same ledger.
pub fn check_consistency<'a>(
    proof_text: &str,
    old_note: &str,
    new_note: &str,
    log_key: &crate::keys::PublicKey,
    cosigners: impl Into<crate::note::CosignerPolicy<'a>>,
) -> Result<(crate::note::VerifiedCheckpoint, crate::note::VerifiedCheckpoint)> {
    let hashes = parse_consistency_text(proof_text)?;
    let cosigners = cosigners.into();
    let old = crate::note::open_checkpoint(old_note, log_key, cosigners).map_err(|e| e.at("the old checkpoint"))?;
    let new = crate::note::open_checkpoint(new_note, log_key, cosigners).map_err(|e| e.at("the new checkpoint"))?;
    if old.checkpoint.origin != new.checkpoint.origin {
        return Err(Error::verification("the two checkpoints are of different ledgers (origins differ)"));
    }
    let (a, b) = (&old.checkpoint, &new.checkpoint);
    if a.size > b.size {
        return Err(Error::bad_input(format!(
            "the old checkpoint ({}) is larger than the new one ({})",
            a.size, b.size
        )));
    }
    if a.size == b.size && a.root != b.root {
        // No proof can reconcile these: both are signed by the log key, for the same size.
        return Err(Error::verification(format!(
            "{}: the log key signed both checkpoints, so the operator showed two different histories \
             (or rewrote the ledger and signed it again); keep both checkpoints as evidence",
            fork_message(a.size, &a.root, &b.root)
        )));
    }
    if !crate::merkle::verify_consistency(a.size, b.size, &a.root, &b.root, &hashes) {
        return Err(Error::verification(format!(
            "the tree of size {} is not a prefix of the tree of size {}: the ledger was rewritten between the two checkpoints (or the proof is wrong)",
            a.size, b.size
        )));
    }
    Ok((old, new))
}

/// Two different trees of the same size: the log forked (a rewritten log is a fork too). Said
/// the same way wherever it is found (`check consistency`, `verify --checkpoint`).
pub(crate) fn fork_message(size: u64, a: &Hash, b: &Hash) -> String {
    format!(
        "two different trees of size {size} (roots {} and {}): the log forked",
        crate::encoding::hex(a),
        crate::encoding::hex(b)
    )
}
