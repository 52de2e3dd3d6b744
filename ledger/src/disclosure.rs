//! Disclosure packages (个人信息披露): what the ledger says about one person, provably where it
//! can be proven, and nothing that identifies anyone else.
//!
//! A package is one canonical JSON object (JCS, followed by a newline), signed as a whole by the
//! officer or admin who issued it, so that any altered byte either breaks its canonical form or
//! changes a value that is checked (docs/PRIVACY.md, "Disclosure package format"):
//!
//! ```text
//! {"checkpoint": <signed note>, "format": "lianlog-disclosure/v2",
//!  "keys": [{"line": <withheld line>, "proof": [<hex>, …], "reduced": <key body, holder left out>}, …],
//!  "origin": <origin>, "person": <person id>,
//!  "records": [{"line": <full or redacted line>, "proof": […]}
//!              | {"line": <withheld line>, "masked": <masked body>, "proof": […]}, …],
//!  "signature": <base64(key id ‖ Ed25519 signature)>, "signer": <author identity>,
//!  "withheld": [{"seq": <n>, "why": "redacted_without_replacement"}, …]}
//! ```
//!
//! What concerns the person (`cases`): every record whose body (as written, as corrected, or as
//! the replacement of a redacted body) names them as a subject, reporter, target or interviewer;
//! every record of a case they are a subject of (the conclusion of their report, the appeal
//! against and the review of their decision, the completion of their rectification — the links
//! the projections follow); every correction of such a record; and the `ledger.redact` entry of
//! each such record that was redacted.
//!
//! What each line proves: every line's entry is proven (inclusion at index = its seq in the tree
//! the checkpoint signs, and its author's signature). A *full* line's body is proven by its
//! salted body hash. A body that also concerns another natural person is *masked*: the line is
//! carried withheld, and `masked` is the body with the other people (their whole person object:
//! id, name, unit, post) and every free text replaced by [`MASK`] — a body hash covers the whole
//! body, so a masked body cannot be proven; it is attested by the package's signer only. Key-registry
//! lines are carried withheld with `reduced` bodies (key, roles; never the holder or a revocation
//! reason), attested the same way and tied to each author identity by its key id.
//! A redacted record without any replacement can no longer be tied to anyone; every such seq of
//! the ledger is listed under `withheld`.
//!
//! Version 1 packages (all bodies full, key lines full, no signature) are still checked as before.
//! [`check`] needs only the package, the log's vkey and a crypto library.
//!
//! # Files
//!
//! This file holds the format's constants and what building and checking share ([`Package`],
//! [`Shown`], [`Checked`]); `cases` (what concerns a person), `masking` (what a package hides),
//! `building` ([`disclose`]) and `checking` ([`check`]) each have their own file.

mod building;
mod cases;
mod checking;
mod masking;

use std::collections::BTreeMap;

use serde_json::Value;

pub use building::{PackageCheckpoint, UnsignedPackage, disclose, prepare};
pub use checking::check;

/// The package format this version writes.
pub const FORMAT: &str = "lianlog-disclosure/v2";
/// The first package format (full bodies of every record and key line); still checked.
pub(crate) const FORMAT_V1: &str = "lianlog-disclosure/v1";
/// What replaces another person, or a free text, in a masked body.
pub const MASK: &str = "[已遮蔽 masked]";
/// Why a seq is listed under `withheld`: redacted, and no replacement or correction says whom it named.
pub const WITHHELD_REDACTED: &str = "redacted_without_replacement";

/// The signer's message starts with this line: never `{` (a record), never an origin followed by
/// a tree size (a checkpoint), never `cosignature/v1` (a cosignature).
const SIGNED_PREFIX: &[u8] = b"lianlog-disclosure/v2\n";

/// A written package and what it holds.
#[derive(Debug, Clone)]
pub struct Package {
    /// The package, as written.
    pub text: String,
    /// Record lines in the package (full, masked and redacted).
    pub records: usize,
    /// Of which masked.
    pub masked: usize,
    /// Of which redacted (their replacement, if any, is another record of the package).
    pub redacted: usize,
    /// Seqs listed as withheld (redacted with no replacement: whom they named is unknown).
    pub withheld: usize,
    /// Key records included (to check the records' signatures).
    pub key_lines: usize,
    /// The size of the checkpoint the package proves against.
    pub size: u64,
    /// The author identity of the key that signed the package.
    pub signer: String,
}

/// How a record is shown in a package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// The whole body, proven by its body hash.
    Full,
    /// The body with other people and free text masked: attested by the signer, not proven.
    Masked,
    /// The body was redacted (内容已删除); the entry alone is proven.
    Redacted,
}

impl Shown {
    /// The name used in packages (`full`, `masked`, `redacted`).
    pub fn as_str(self) -> &'static str {
        match self {
            Shown::Full => "full",
            Shown::Masked => "masked",
            Shown::Redacted => "redacted",
        }
    }
}

/// What a successful check established.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The person the package discloses records of.
    pub person: String,
    /// The ledger it comes from.
    pub origin: String,
    /// The size of the checkpoint it proves against.
    pub size: u64,
    /// The package format (`lianlog-disclosure/v1` or `/v2`).
    pub format: String,
    /// (seq, kind) of each disclosed record.
    pub records: Vec<(u64, String)>,
    /// How each disclosed record is shown, by seq.
    pub shown: BTreeMap<u64, Shown>,
    /// (seq, why) of each record the package says it left out.
    pub withheld: Vec<(u64, String)>,
    /// Who signed the package (v2).
    pub signer: Option<String>,
    /// The cosignatures on the package's checkpoint by the cosigners the caller required.
    pub cosignatures: Vec<crate::note::Cosignature>,
}

/// Whether a record body names the person (the version 1 rule: directly, or in a correction's
/// corrected body).
pub(crate) fn names_person(kind: &str, body: &Value, person: &str) -> bool {
    let direct = crate::projection::person_ids(kind, body).iter().any(|id| id == person);
    let corrected = kind == "correction"
        && body.get("body").is_some_and(|inner| crate::projection::person_ids("", inner).iter().any(|id| id == person));
    direct || corrected
}

/// A person object as records carry it, for the unit tests of `cases` and `masking`.
#[cfg(test)]
fn test_person(id: &str, name: &str) -> Value {
    serde_json::json!({"id": id, "name": name, "unit": "市住建局"})
}
