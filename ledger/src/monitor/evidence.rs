//! Evidence of misbehaviour (证据): the signed checkpoints that show it, exactly as served, in a
//! directory of their own with a `README.txt` saying what they prove and to whom to hand them.
//!
//! Guarantees: a directory is written whole under a temporary name (each file fsync'd) and then
//! renamed into `evidence/` (directory fsync'd), so a crash never leaves a half-written evidence
//! directory under a final name; it is written before the monitor reports the misbehaviour; the
//! same evidence (same kind, same checkpoints) is kept once, however often the monitor sees it.

use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use super::MisbehaviourKind;
use crate::encoding::{base64, hex};
use crate::error::{Error, Result};
use crate::fsio;
use crate::keys::PublicKey;
use crate::merkle::Hash;
use crate::time::Timestamp;

/// The evidence directory's name inside a monitor's state directory.
pub const EVIDENCE_DIR: &str = "evidence";

/// The most bytes of an unverifiable served checkpoint kept (a hostile server could serve
/// megabytes; what it says is not evidence of anything signed anyway).
const MAX_UNVERIFIED_BYTES: usize = 64 * 1024;

/// A consistency proof the server's own tiles give, which shows the new tree's prefix.
pub(super) struct ProofFile {
    pub(super) old_size: u64,
    pub(super) new_size: u64,
    /// The root of the new tree's first `old_size` leaves, from the tiles.
    pub(super) prefix: Hash,
    pub(super) proof: Vec<Hash>,
}

/// What to write.
pub(super) struct Evidence<'a> {
    pub(super) kind: MisbehaviourKind,
    pub(super) message: &'a str,
    pub(super) log_key: &'a PublicKey,
    pub(super) old_note: Option<&'a String>,
    pub(super) new_note: &'a str,
    pub(super) proof: Option<ProofFile>,
}

/// Write `evidence` under `STATE/evidence/<UTC time>-<what>-<hash>/` (or find it there already)
/// and return that directory.
pub(super) fn write(state: &Path, evidence: &Evidence<'_>, now: Timestamp) -> Result<PathBuf> {
    let root = state.join(EVIDENCE_DIR);
    fsio::create_private_dir(&root)?;
    let new_note = if evidence.kind == MisbehaviourKind::BadSignature && evidence.new_note.len() > MAX_UNVERIFIED_BYTES
    {
        let mut end = MAX_UNVERIFIED_BYTES;
        while !evidence.new_note.is_char_boundary(end) {
            end -= 1;
        }
        &evidence.new_note[..end]
    } else {
        evidence.new_note
    };
    let mut digest = Sha256::new();
    digest.update(evidence.kind.name().as_bytes());
    digest.update([0]);
    digest.update(evidence.old_note.map_or("", String::as_str).as_bytes());
    digest.update([0]);
    digest.update(new_note.as_bytes());
    let tag = format!("{}-{}", evidence.kind.name(), &hex(&digest.finalize())[..12]);
    // Seen before: keep the first copy (its time is when it was first seen).
    let entries = std::fs::read_dir(&root).map_err(|err| Error::io("read", &root, err))?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.to_str().is_some_and(|name| name.ends_with(&tag) && !name.starts_with('.')) {
            return Ok(entry.path());
        }
    }
    let time = now.to_jiff().strftime("%Y%m%dT%H%M%SZ").to_string();
    let final_dir = root.join(format!("{time}-{tag}"));
    let scratch = root.join(format!(".{time}-{tag}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    fsio::create_private_dir(&scratch)?;
    let result = (|| {
        fsio::publish_bytes(&scratch.join("README.txt"), false, readme(evidence, now).as_bytes())?;
        fsio::publish_bytes(&scratch.join("new.checkpoint"), false, new_note.as_bytes())?;
        if let Some(old) = evidence.old_note {
            fsio::publish_bytes(&scratch.join("old.checkpoint"), false, old.as_bytes())?;
        }
        if let Some(proof) = &evidence.proof {
            fsio::publish_bytes(&scratch.join("proof.txt"), false, proof_text(proof).as_bytes())?;
        }
        std::fs::rename(&scratch, &final_dir).map_err(|err| Error::io("rename", &final_dir, err))?;
        fsio::sync_dir(&root)
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&scratch);
    }
    result.map(|()| final_dir)
}

/// `proof.txt`: the proof hashes, one base64 per line (what `lianlog check consistency` reads).
fn proof_text(proof: &ProofFile) -> String {
    crate::proof::consistency_to_text(&proof.proof)
}

/// The README of an evidence directory (English, with the Chinese terms).
fn readme(evidence: &Evidence<'_>, now: Timestamp) -> String {
    let when_utc = now.to_jiff().strftime("%Y-%m-%d %H:%M:%S UTC").to_string();
    let china = now.to_jiff().to_zoned_datetime(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)));
    let when_china = china.strftime("%Y-%m-%d %H:%M:%S").to_string();
    let vkey = evidence.log_key.vkey();
    let (title, proves) = match evidence.kind {
        MisbehaviourKind::SplitView => (
            "SPLIT VIEW (分叉视图): the log signed two histories",
            "old.checkpoint and new.checkpoint are both signed by the log key below, for the same origin, and\n\
             cannot both be true: either they state two different roots for one tree size, or the larger one\n\
             does not extend the smaller (proof.txt, when present, is the consistency proof the log's own\n\
             hash tiles give: it shows the larger tree's first leaves have another root than the smaller\n\
             checkpoint signs). A log that keeps its history never signs such a pair: this is proof, by the\n\
             log's own signature, that the log operator (or whoever holds the log key) rewrote history or\n\
             shows different histories to different readers.",
        ),
        MisbehaviourKind::Rollback => (
            "ROLLBACK (回滚): the log served a smaller tree after a larger one",
            "old.checkpoint (larger) was verified by this monitor before; the server then served\n\
             new.checkpoint (smaller), both signed by the log key below, and did not show the smaller tree to\n\
             be a prefix of the larger. Records acknowledged in the larger tree are missing from what the\n\
             server now serves: an older copy of the ledger is being served, or the history was cut.",
        ),
        MisbehaviourKind::WitnessEquivocation => (
            "WITNESS EQUIVOCATION (见证方双重签署): a witness cosigned two roots for one size",
            "old.checkpoint and new.checkpoint carry cosignatures by the same witness key for the same tree\n\
             size with two different roots. A witness promises never to do that; its cosignatures can no\n\
             longer be relied on, and the log signed two trees of one size too.",
        ),
        MisbehaviourKind::TileMismatch => (
            "TILE MISMATCH (瓦片不符): the server's hash tiles do not match its signed checkpoint",
            "new.checkpoint is signed by the log key below, but the hash tiles the server served for it do not\n\
             give its root. Tiles are not signed, so this is not proof against the log key's holder; it shows\n\
             the server serves data that is not its own signed tree (tampered storage or a broken server).\n\
             Ask the operator to run `lianlog verify` on the ledger, and run `lianlog verify --server` yourself.",
        ),
        MisbehaviourKind::BadSignature => (
            "BAD SIGNATURE (签名无效): the served checkpoint is not signed by the log key",
            "new.checkpoint is what the server served as its checkpoint; it has no valid signature by the log\n\
             key below (or is not a checkpoint of its origin). Anyone can write such a file, so it proves\n\
             nothing against the log key's holder; it shows the server (or something between it and you)\n\
             serves a checkpoint that is not the log's.",
        ),
    };
    let files = {
        let mut files = String::from(
            "  README.txt       this file\n  new.checkpoint   the checkpoint the server served, exactly as served\n",
        );
        if evidence.old_note.is_some() {
            files.push_str("  old.checkpoint   the signed checkpoint it conflicts with, exactly as first seen\n");
        }
        if let Some(proof) = &evidence.proof {
            files.push_str(&format!(
                "  proof.txt        the consistency proof from size {} to {} the log's own hash tiles give; it\n\
                 \x20                  verifies from the root {} (of the new tree's first\n\
                 \x20                  {} leaves) to the new checkpoint's root, not from the old checkpoint's\n",
                proof.old_size,
                proof.new_size,
                base64(&proof.prefix),
                proof.old_size
            ));
        }
        files
    };
    let signed = matches!(
        evidence.kind,
        MisbehaviourKind::SplitView | MisbehaviourKind::Rollback | MisbehaviourKind::WitnessEquivocation
    );
    let hand = if signed {
        "Hand this directory, unchanged, to the upper-level commission (上级纪委监委) and to the witnesses\n\
         of this log (the audit office 审计部门, the archive office 档案部门): the signatures make it\n\
         verifiable by anyone with the log key's vkey, without trusting this monitor. Keep a copy. Do not\n\
         edit the checkpoint files: a changed byte breaks the signatures. Then follow docs/SECURITY.md,\n\
         \"Responding to a split view\": stop relying on the log's new checkpoints, secure a copy of the\n\
         ledger directory, and have the upper-level commission ask the operator which history is true."
    } else {
        "Tell the log's operator and keep this directory; it is not signed proof against the log key's\n\
         holder (see above). If it persists, report it to the upper-level commission (上级纪委监委)."
    };
    format!(
        "lianlog monitor evidence (监测证据)\n\
         ================================\n\n\
         {title}\n\n\
         Found: {when_utc} ({when_china} 北京时间)\n\
         Log key (vkey): {vkey}\n\n\
         What the monitor found:\n  {message}\n\n\
         What it proves:\n{proves}\n\n\
         Files:\n{files}\n\
         To whom:\n{hand}\n\n\
         How to check: each checkpoint is a C2SP signed note; check its signature with the vkey above,\n\
         e.g. `lianlog check consistency proof.txt --old old.checkpoint --new new.checkpoint --vkey VKEY`\n\
         (which must fail for a split view), or any C2SP signed-note tool.\n",
        message = evidence.message,
    )
}
