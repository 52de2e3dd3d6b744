//! The parallel half of a verification: a chunk of lines read ([`LineView::parse`]), hashed, and
//! each author signature checked on all cores, in the background, while the verifier's thread
//! reads the next lines and runs the order-dependent checks of the chunk before.
//!
//! Guarantees: what a chunk hands back depends on its lines alone, plus a signature result that
//! is only a guess of which key signs each line: the key registry may change in the chunks not
//! yet checked in order, so each result comes with the key it was checked against, and the
//! verifier uses it only if that is the key the registry authorizes at that seq (otherwise it
//! checks the signature again). So the outcome, and the first failing seq, are those of checking
//! every line in order with the signatures checked last.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, sync_channel};

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
    /// started, if it held one.
    pub signature: Option<(PublicKey, Result<(), SignatureProblem>)>,
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

/// The kinds whose bodies verification reads: the key registry's (genesis, grants, revocations)
/// and redactions. The registry's `apply` reads no other body.
pub(super) fn reads_body(kind: &str) -> bool {
    matches!(kind, "ledger.genesis" | "key.grant" | "key.revoke" | "ledger.redact")
}

/// A chunk being checked in the background.
pub(super) struct Job {
    /// The 1-based line numbers of the chunk's lines.
    pub line_numbers: Vec<u64>,
    results: Receiver<std::thread::Result<Vec<Result<Checked, LineError>>>>,
}

/// Start checking `lines` (line number, bytes) on all cores, guessing signing keys from `keys`.
pub(super) fn spawn(lines: Vec<(u64, Vec<u8>)>, keys: Arc<KeyRegistry>) -> Job {
    let line_numbers = lines.iter().map(|(number, _)| *number).collect();
    let (sender, results) = sync_channel(1);
    rayon::spawn(move || {
        let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            lines.par_iter().map(|(_, bytes)| check(bytes, &keys)).collect::<Vec<_>>()
        }));
        // A verifier that stopped early (an earlier chunk failed) no longer listens.
        let _ = sender.send(checked);
    });
    Job { line_numbers, results }
}

impl Job {
    /// The chunk's results, in line order; an error if checking panicked (a bug).
    pub(super) fn wait(self) -> Result<(Vec<u64>, Vec<Result<Checked, LineError>>), String> {
        match self.results.recv() {
            Ok(Ok(checked)) => Ok((self.line_numbers, checked)),
            _ => Err("internal error: checking a chunk of lines failed (a bug in lianlog; please report it)".into()),
        }
    }
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
        .map(|key| (key.clone(), key.verify_signature_value(&note, &view.entry.sig)));
    Ok(Checked { entry: view.entry, entry_hash: view.entry_hash, replay_id: view.replay_id, body, note, signature })
}
