//! Snapshot archives: a range of the log sealed in one file that can be checked, years later, with
//! nothing but the archive (and the archives before it), and from which a working ledger can be
//! restored.
//!
//! # The file
//!
//! A POSIX ustar file ([`ustar`]), optionally zstd-compressed, named
//! `<origin>-<first seq>-<end>.tar[.zst]` (the origin with every character outside
//! `[A-Za-z0-9._-]` replaced by `_`; `end` is exclusive). Its members, in this order:
//!
//! 1. `manifest.json` — canonical JSON (below);
//! 2. `checkpoint` — the checkpoint of the tree of size `end`, signed by the log key;
//! 3. `keys.jsonl` — for an archive that starts after seq 0, the stored lines of every
//!    `ledger.genesis`, `key.grant` and `key.revoke` entry before it, so that its signatures and
//!    authorization can be checked on their own; empty for a full archive;
//! 4. `entries.jsonl` — the stored lines `first_seq..end`, byte for byte as in the log.
//!
//! The manifest is not signed (the log key signs checkpoints only), so every field of it is
//! checked against signed data: its root against the checkpoint, its compact range at
//! `first_seq` against the previous checkpoint and the entries, the previous entry and each key
//! line by an inclusion proof under that root, the members by SHA-256. Only `tool` is a label.
//!
//! # Across archives
//!
//! A sequence of archives is held to what `lianlog verify` holds one log to: the verifier's
//! state at the end of one archive (`verify::Resume`: chain head, key registry,
//! Merkle frontier, pending redactions and the ids of every record so far, in bounded memory) is
//! where the next one starts, so a record replayed in a later archive is refused as in a log. `create --since`
//! reads those ids from the log's lines before the range. A redaction found in a later archive
//! applies to the earlier ones: [`restore`] writes the redacted line form, [`Loaded`] answers
//! with it, [`verify`] reports the archives that still hold such a body
//! ([`SequenceReport::stale_bodies`]) and [`redact`] rewrites them without it.
//!
//! # Projection state
//!
//! Archives do not store projection state: `--archive` queries replay the verified entries into
//! memory ([`Loaded`]), which is what a stored copy would have to be checked against anyway, and
//! an incremental archive alone could not answer with stored state either (the bodies its indexes
//! point to live in the earlier archives).
//!
//! # Files
//!
//! This file holds what every part shares (member names, [`Limits`], [`Progress`],
//! [`ArchiveFailure`]); each part has its own file: `manifest` (the manifest, written and parsed),
//! `reading` (the bounded member stream), `verification` ([`verify`]), `creating` ([`create`] and
//! the one archive writer), `listing` ([`list`], [`newest`]), `restoring` ([`restore`]),
//! `redacting` ([`redact`] and the redacted line form) and `querying` ([`Loaded`]).

pub mod ustar;

mod creating;
mod listing;
mod manifest;
mod querying;
mod reading;
mod redacting;
mod restoring;
mod verification;

use std::path::{Path, PathBuf};

use crate::error::Error;

pub use creating::{CreateOptions, Created, create};
pub use listing::{Chain, Listed, Listing, list, newest};
pub use manifest::{Digest, KeyLine, Manifest, Previous, file_name};
pub use querying::Loaded;
pub use reading::read_head;
pub use redacting::{Rewritten, redact};
pub use restoring::{Restored, restore};
pub use verification::{ArchiveOptions, ArchiveReport, SequenceReport, StaleBody, check_checkpoints, verify};

/// The manifest's `format`.
pub const FORMAT: &str = "lianlog-archive-v1";
/// What writes the archives.
pub const TOOL: &str = concat!("lianlog ", env!("CARGO_PKG_VERSION"));
/// The default zstd level (zstd's own default). On 100,000 workload entries (79 MB of stored
/// lines) level 3 gives 21.3 MB, level 9 20.2 MB and level 19 19.3 MB, at about 1, 7 and 160
/// seconds of compression on top of the verification that every `create` does.
pub const DEFAULT_LEVEL: i32 = 3;

const MANIFEST: &str = "manifest.json";
const CHECKPOINT: &str = "checkpoint";
const KEYS: &str = "keys.jsonl";
const ENTRIES: &str = "entries.jsonl";
/// The members, in the order they are written and must be read.
const MEMBERS: [&str; 4] = [MANIFEST, CHECKPOINT, KEYS, ENTRIES];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
/// The decoder refuses frames that need a larger window (128 MiB), so a hostile frame cannot
/// make it allocate more.
const ZSTD_WINDOW_LOG_MAX: u32 = 27;
/// Lines between two progress reports.
const PROGRESS_EVERY: u64 = 4096;

/// How much an archive may hold; anything larger is refused before it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `entries.jsonl`.
    pub entries_bytes: u64,
    /// Each other member.
    pub member_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { entries_bytes: 4 << 30, member_bytes: 64 << 20 }
    }
}

impl Limits {
    fn of(&self, member: &str) -> u64 {
        if member == ENTRIES { self.entries_bytes } else { self.member_bytes }
    }

    /// Every byte a valid archive can decompress to: headers, members, padding, end marker.
    fn total(&self) -> u64 {
        self.entries_bytes.saturating_add(self.member_bytes.saturating_mul(3)).saturating_add(1 << 20)
    }
}

/// Progress of a long operation (defined beside the verifier, which is below every operation
/// that reports it).
pub use crate::verify::Progress;

/// Why an archive (or a sequence of them) was refused: which file, which seq if one, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveFailure {
    /// The archive file refused.
    pub archive: PathBuf,
    /// The seq of the entry at fault, when one is.
    pub seq: Option<u64>,
    /// What was wrong.
    pub reason: String,
}

impl std::fmt::Display for ArchiveFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.seq {
            Some(seq) => write!(f, "archive {}: seq {seq}: {}", self.archive.display(), self.reason),
            None => write!(f, "archive {}: {}", self.archive.display(), self.reason),
        }
    }
}

impl From<ArchiveFailure> for Error {
    fn from(failure: ArchiveFailure) -> Error {
        at_seq(Error::verification(failure.to_string()), failure.seq)
    }
}

/// `error` with its seq, when it has one.
fn at_seq(error: Error, seq: Option<u64>) -> Error {
    match seq {
        Some(seq) => error.with_seq(seq),
        None => error,
    }
}

/// A failure inside one archive, before the archive's name is attached.
#[derive(Debug, Clone)]
struct Problem {
    seq: Option<u64>,
    reason: String,
}

impl Problem {
    fn at(self, archive: &Path) -> ArchiveFailure {
        ArchiveFailure { archive: archive.to_path_buf(), seq: self.seq, reason: self.reason }
    }
}

impl From<crate::verify::VerifyFailure> for Problem {
    fn from(failure: crate::verify::VerifyFailure) -> Problem {
        Problem { seq: failure.seq, reason: failure.reason }
    }
}

fn problem(reason: impl Into<String>) -> Problem {
    Problem { seq: None, reason: reason.into() }
}

fn problem_at(seq: u64, reason: impl Into<String>) -> Problem {
    Problem { seq: Some(seq), reason: reason.into() }
}

type Checked<T> = std::result::Result<T, Problem>;
