//! The parallel half of a verification: a chunk of lines read ([`LineView::parse`]), hashed, and
//! each author signature checked on all cores, while the order-dependent checks of the chunk
//! before run beside it (`rayon::join` in `Verifier::flush`).
//!
//! Guarantees: what a chunk hands back depends on its lines alone, plus a signature result that
//! is only a guess of which key signs each line: the key registry may change in the chunks not
//! yet checked in order, so each result comes with the key it was checked against, and the
//! verifier uses it only if that is the key the registry authorizes at that seq (otherwise it
//! checks the signature again). So the outcome, and the first failing seq, are those of checking
//! every line in order with the signatures checked last.

use rayon::prelude::*;
use serde_json::Value;

use crate::keys::{PublicKey, SignatureProblem};
use crate::record::{Entry, EntryHash, LineError, LineView, ViewBody};
use crate::registry::KeyRegistry;

/// A line checked on its own: its parts, and its signature checked against a guessed key.
pub(super) struct Checked {
    /// The entry.
    pub entry: Entry,
    /// Its hash.
    pub entry_hash: EntryHash,
    /// [`crate::record::Record::replay_id`] of its record.
    pub replay_id: [u8; 16],
    /// The body part.
    pub body: CheckedBody,
    /// The record's note text, as signed.
    pub note: Vec<u8>,
    /// The signature checked against the key the registry held for the author when the chunk
    /// started, if it held one: that key's [`fingerprint`] and the verdict.
    pub signature: Option<(Fingerprint, Result<(), SignatureProblem>)>,
}

/// The body part of a [`Checked`] line.
pub(super) enum CheckedBody {
    /// A body; its value is built only for the kinds whose bodies the checks read
    /// ([`reads_body`]).
    Full(Option<Value>),
    /// Removed by the `ledger.redact` entry at seq `by`.
    Redacted { by: u64 },
    /// Left out of an export made without bodies.
    Withheld,
}

/// What a signature check depends on of a key: its id and its Ed25519 key
/// ([`PublicKey::verify_signature_value`] reads nothing else).
pub(super) type Fingerprint = ([u8; 4], [u8; 32]);

/// The [`Fingerprint`] of `key`.
pub(super) fn fingerprint(key: &PublicKey) -> Fingerprint {
    (key.id(), key.verifying_key().to_bytes())
}

/// The kinds whose bodies verification reads: the key registry's (genesis, grants, revocations)
/// and redactions. The registry's `apply` reads no other body.
pub(super) fn reads_body(kind: &str) -> bool {
    matches!(kind, "ledger.genesis" | "key.grant" | "key.revoke" | "ledger.redact")
}

/// A chunk's lines checked on their own, in line order.
pub(super) struct Checks {
    /// The 1-based line numbers of the chunk's lines.
    pub line_numbers: Vec<u64>,
    /// Each line checked, or why it is not a valid stored line.
    pub results: Vec<Result<Checked, LineError>>,
}

/// Check `lines` (line number, bytes) on all cores, guessing signing keys from `keys`.
pub(super) fn check_all(lines: Vec<(u64, Vec<u8>)>, keys: &KeyRegistry) -> Checks {
    let results = lines.par_iter().map(|(_, bytes)| check(bytes, keys)).collect();
    Checks { line_numbers: lines.into_iter().map(|(number, _)| number).collect(), results }
}

fn check(bytes: &[u8], keys: &KeyRegistry) -> Result<Checked, LineError> {
    let view = LineView::parse(bytes)?;
    let note = view.note_text();
    let body = match &view.body {
        ViewBody::Full { .. } if reads_body(&view.entry.record.kind) => {
            // Present: `view.body` is `Full`.
            CheckedBody::Full(view.body_value().transpose()?.map(std::borrow::Cow::into_owned))
        }
        ViewBody::Full { .. } => CheckedBody::Full(None),
        ViewBody::Redacted { by } => CheckedBody::Redacted { by: *by },
        ViewBody::Withheld => CheckedBody::Withheld,
    };
    let signature = keys
        .public_key(&view.entry.record.author)
        .map(|key| (fingerprint(key), key.verify_signature_value(&note, &view.entry.sig)));
    Ok(Checked { entry: view.entry, entry_hash: view.entry_hash, replay_id: view.replay_id, body, note, signature })
}
