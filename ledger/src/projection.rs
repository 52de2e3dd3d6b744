//! Projections (event sourcing): the state the commission asks about, derived from the log.
//!
//! - case state: reports (open/concluded, finding), decisions (in force, upheld, modified,
//!   revoked), appeals, rectifications (open/completed, due date), duty reports by person and
//!   period, corrections;
//! - secondary indexes: person → seqs, unit → seqs, kind → seqs, so that lookups cost what they
//!   return, not what the ledger holds; each index is a few chunks of seqs
//!   ([`layout::index_chunk`]) rather than a key per seq;
//! - statistics: counts per (year, unit, kind) and per (month, kind).
//!
//! [`apply_record`] is the one place where a record changes this state, and it first checks the
//! kind's lifecycle rule (`schema::Lifecycle`) against the state as it stands: the same function
//! refuses a bad record at append time, maintains the store incrementally, and rebuilds everything
//! in `replay`. State lives under the prefix `P` in the derived store; values are small canonical
//! JSON or counters, never free text (names and texts stay in the log, where redaction can reach
//! them).

use serde_json::Value;

use crate::error::{Error, Result};
use crate::record::EntryHash;
use crate::schema::{self, Lifecycle};
use crate::time::Timestamp;

mod collective;
mod entities;
mod facts;
pub mod layout;
mod rules;
mod state;

pub use collective::in_effect;
pub(crate) use facts::parties;
pub use facts::{event_date, person_ids, units};

/// The Chinese label of a case or record status that the projections produce (`open` → 办理中),
/// for every reader that shows one (CLI tables, web pages); an unknown status is shown as it is.
pub fn status_zh(status: &str) -> &str {
    match status {
        "open" => "办理中",
        "concluded" => "已办结",
        "in_force" => "生效",
        "under_appeal" => "申诉中",
        "upheld" => "维持",
        "modified" => "变更",
        "revoked" => "撤销",
        "pending" => "待复查",
        "completed" => "已完成",
        "closed" => "已办结",
        "closed_late" => "逾期办结",
        "issued" => "待回复",
        "replied" => "已回复",
        "accepted" => "采信了结",
        "clarified" => "予以澄清",
        "education" => "提醒教育",
        "preliminary_verification" => "转初核",
        "pending_approval" => "待集体研究",
        other => other,
    }
}

pub(crate) use state::{MemoryState, StateChanges, StateRead, View, facts_bucket_item};

/// A record as the projections see it.
pub(crate) struct RecordContext<'a> {
    pub seq: u64,
    pub kind: &'a str,
    pub time: Timestamp,
    /// The author key's identity (an approval's signer, decisions group).
    pub author: &'a str,
    /// The body, already upcast to the current schema version.
    pub body: &'a Value,
}

/// Why a record breaks its kind's lifecycle rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RuleError {
    pub rule: &'static str,
    pub reason: String,
}

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "lifecycle rule \"{}\": {}", self.rule, self.reason)
    }
}

/// An earlier entry as a lifecycle rule sees it.
#[derive(Debug, Clone)]
pub(crate) struct FactEntry {
    pub hash: EntryHash,
    pub kind: String,
    pub v: u64,
    /// `None` when the body was redacted.
    pub body: Option<Value>,
    /// The time the ledger gave it (what an upcast infers from).
    pub time: Timestamp,
}

impl FactEntry {
    /// What a rule sees of a stored line (the one conversion, for the log and archive lines alike).
    pub fn of(line: &crate::record::ParsedLine) -> FactEntry {
        let record = &line.line.entry.record;
        FactEntry {
            hash: line.entry_hash,
            kind: record.kind.clone(),
            v: record.v,
            body: line.line.body().cloned(),
            time: line.line.entry.time,
        }
    }
}

/// Looks up what lifecycle rules need beyond projection state.
pub(crate) trait LedgerFacts {
    /// The entry at `seq`, if the ledger has it.
    fn entry(&self, seq: u64) -> Result<Option<FactEntry>>;
    /// The Merkle root at `size`, if the ledger has that many entries.
    fn root_at(&self, size: u64) -> Result<Option<[u8; 32]>>;
    /// The name of the holder of key `identity`, if known here (a key's holder is fixed when it
    /// is granted): what an approval's member is checked against (decisions group). `None` where
    /// no registry is at hand (archive lines), which checks nothing.
    fn key_holder_name(&self, _identity: &str) -> Result<Option<String>> {
        Ok(None)
    }
}

fn rule(rule: &'static str, reason: impl Into<String>) -> std::result::Result<(), RuleError> {
    Err(RuleError { rule, reason: reason.into() })
}

fn text<'a>(body: &'a Value, field: &str) -> &'a str {
    body.get(field).and_then(Value::as_str).unwrap_or_default()
}

/// Whether applying a record of `kind` looks up earlier entries through [`LedgerFacts`] (a
/// correction's target, an attestation's checkpoint root).
pub(crate) fn needs_ledger_facts(kind: &str) -> bool {
    schema::lookup(kind).is_some_and(|spec| {
        matches!(
            spec.lifecycle,
            Lifecycle::Correction | Lifecycle::AuditAttest | Lifecycle::DecisionApproval | Lifecycle::OpinionIssued
        )
    })
}

/// Check the record's lifecycle rule, then apply it to the state. With `enforce` false (replaying
/// a log that an older version wrote), rule failures are ignored and the facts still indexed.
pub(crate) fn apply_record(
    view: &mut View<'_>,
    record: &RecordContext<'_>,
    facts: &dyn LedgerFacts,
    enforce: bool,
) -> Result<std::result::Result<(), RuleError>> {
    let Some(spec) = schema::lookup(record.kind) else { return Ok(Ok(())) };
    if !spec.domain && spec.lifecycle != Lifecycle::AuditAttest {
        return Ok(Ok(()));
    }
    let verdict = rules::check_rule(view, record, spec.lifecycle, facts)?;
    if let Err(err) = &verdict
        && enforce
    {
        return Ok(Err(err.clone()));
    }
    if spec.lifecycle == Lifecycle::Correction {
        entities::apply_correction(view, record, facts)?;
    } else {
        entities::update_entities(view, record, verdict.is_ok())?;
        facts::assert_facts(view, record.seq, record.kind, record.body, record.time)?;
    }
    Ok(verdict)
}

/// Errors as library errors, for callers that refuse a record.
pub(crate) fn rule_error(kind: &str, err: &RuleError) -> Error {
    Error::bad_input(format!("{kind} refused by {err}; nothing was written"))
}
