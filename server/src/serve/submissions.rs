//! The library calls of client-signed appends, in one place: parse a request's batch, stage it,
//! build a receipt. (Until the `submit` work lands in the library, appends are refused here.)

use lianlog_ledger::{Error, Ledger, Result, StagedBatch};

/// One client-signed record as sent (`{"record","sig","body","salt"}`).
pub(crate) type Submission = serde_json::Value;

/// A receipt as sent back (`{"seq","entry_hash","entry","proof"}`).
pub(crate) type Receipt = serde_json::Value;

fn not_yet() -> Error {
    Error::bad_input("this server does not accept appends yet (client-signed submissions are not built)")
}

/// The submissions of a request body `{"submissions":[…]}`, strictly.
pub(crate) fn parse_batch(body: &[u8]) -> Result<Vec<Submission>> {
    let _ = body;
    Err(not_yet())
}

/// Stage `submissions` on `ledger`: every check an append makes, nothing written.
pub(crate) fn stage(ledger: &Ledger, submissions: &[Submission]) -> Result<StagedBatch> {
    let _ = (ledger, submissions);
    Err(not_yet())
}

/// The receipt of the entry at `seq` against `checkpoint` (a log-signed checkpoint covering it).
pub(crate) fn build_receipt(ledger: &Ledger, seq: u64, checkpoint: &str) -> Result<Receipt> {
    let _ = (ledger, seq, checkpoint);
    Err(not_yet())
}
