//! The library calls of client-signed appends, in one place: parse a request's batch
//! (`Submission::parse_batch`), stage it (`Ledger::stage_submissions`), build a receipt
//! (`Receipt::build`). Every rule is the library's; this file only names the calls the
//! sequencer and the append route make.

use lianlog_ledger::ledger::SubmitOptions;
use lianlog_ledger::{Ledger, Result, StagedBatch};

pub(crate) use lianlog_ledger::Receipt;
pub(crate) use lianlog_ledger::ledger::Submission;

/// The submissions of a request body `{"submissions":[…]}`, strictly.
pub(crate) fn parse_batch(body: &[u8]) -> Result<Vec<Submission>> {
    Submission::parse_batch(body)
}

/// Stage `submissions` on `ledger`: every check an append makes (signature, key, role, schema,
/// lifecycle, replay, clock skew within the documented default window, entry size), nothing
/// written.
pub(crate) fn stage(ledger: &Ledger, submissions: &[Submission]) -> Result<StagedBatch> {
    ledger.stage_submissions(submissions, &SubmitOptions::default())
}

/// The receipt of the entry at `seq` against `checkpoint` (a log-signed checkpoint covering it).
pub(crate) fn build_receipt(ledger: &Ledger, seq: u64, checkpoint: &str) -> Result<Receipt> {
    Receipt::build(ledger, seq, checkpoint)
}
