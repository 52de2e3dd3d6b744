//! Lifecycle rules (生命周期规则): whether a record may come now, given the case state as it
//! stands (a conclusion needs its report open, an appeal its decision in force, a correction an
//! earlier record of a correctable kind with the same identifiers, …).
//!
//! Guarantees: a check reads state and earlier entries only and changes nothing; a broken rule is
//! a [`RuleError`] naming the rule, never an `Err` of the library (those are I/O).

use serde_json::Value;

use super::state::View;
use super::{FactEntry, LedgerFacts, RecordContext, RuleError, layout, rule, text};
use crate::error::Result;
use crate::schema::{self, Lifecycle};

pub(super) fn check_rule(
    view: &View<'_>,
    record: &RecordContext<'_>,
    lifecycle: Lifecycle,
    facts: &dyn LedgerFacts,
) -> Result<std::result::Result<(), RuleError>> {
    let body = record.body;
    Ok(match lifecycle {
        Lifecycle::None => Ok(()),
        Lifecycle::ReportReceived => {
            let id = text(body, "report_id");
            match view.get(&layout::report(id))? {
                Some(_) => rule("report_id is new (线索编号不得重复)", format!("report {id} was already received")),
                None => Ok(()),
            }
        }
        Lifecycle::ReportConcluded => {
            let id = text(body, "report_id");
            match view.get_json(&layout::report(id))? {
                None => rule(
                    "a report is concluded after it is received (先受理后处置)",
                    format!("report {id} was never received"),
                ),
                Some(state) if state["status"] == "concluded" => rule(
                    "a report is concluded once (线索只能处置一次)",
                    format!("report {id} was already concluded at seq {}", state["concluded_seq"]),
                ),
                Some(_) => Ok(()),
            }
        }
        Lifecycle::Interview => optional_report_exists(view, body, "an interview's report exists (关联线索须存在)")?,
        Lifecycle::DutyReport => {
            let person = body["reporter"]["id"].as_str().unwrap_or_default();
            let period = text(body, "period");
            match view.get(&layout::duty_report(person, period))? {
                Some(seq) => rule(
                    "one duty report per person and period (同一期间只能述责述廉一次)",
                    format!("{person} already reported for {period} at seq {}", seq_of(&seq)),
                ),
                None => Ok(()),
            }
        }
        Lifecycle::Decision => {
            let id = text(body, "decision_id");
            if view.get(&layout::decision(id))?.is_some() {
                return Ok(rule("decision_id is new (决定编号不得重复)", format!("decision {id} already exists")));
            }
            let measure = text(body, "measure");
            let subjects = body["subjects"].as_array().cloned().unwrap_or_default();
            for (index, subject) in subjects.iter().enumerate() {
                let (allowed, what) = if subject.get("org_id").is_some() {
                    (schema::ORGANISATION_MEASURES, "an organisation (党组织)")
                } else {
                    (schema::PERSON_MEASURES, "a person (党员干部)")
                };
                if !allowed.iter().any(|(m, _)| *m == measure) {
                    return Ok(rule(
                        "the measure fits the subject (问责方式须与对象相符)",
                        format!(
                            "body.subjects[{index}] is {what}; measure {measure} does not apply to it (allowed: {})",
                            allowed.iter().map(|(m, zh)| format!("{m} {zh}")).collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
            }
            // decisions group (issue 17): the v2 fields (sanction, collective decision, influence).
            if let Err(err) = super::collective::check_decision(body) {
                return Ok(Err(err));
            }
            optional_report_exists(view, body, "a decision's report exists (关联线索须存在)")?
        }
        Lifecycle::Clarification => {
            let id = text(body, "report_id");
            let person = body["subject"]["id"].as_str().unwrap_or_default();
            let rule_name = "a clarification follows a report concluded as unsubstantiated or false and naming the person (澄清正名须以查无实据或诬告陷害的线索为依据)";
            match view.get_json(&layout::report(id))? {
                None => rule(rule_name, format!("report {id} was never received")),
                Some(state) if state["status"] != "concluded" => {
                    rule(rule_name, format!("report {id} is not concluded yet"))
                }
                Some(state) if !matches!(state["finding"].as_str(), Some("unsubstantiated" | "false_accusation")) => {
                    rule(rule_name, format!("report {id} was concluded as {}", state["finding"]))
                }
                Some(state) if !state["subjects"].as_array().is_some_and(|s| s.iter().any(|p| p == person)) => {
                    rule(rule_name, format!("report {id} does not name {person} among its subjects"))
                }
                Some(_) => Ok(()),
            }
        }
        Lifecycle::RectificationOrdered => {
            let id = text(body, "rectification_id");
            if view.get(&layout::rectification(id))?.is_some() {
                return Ok(rule(
                    "rectification_id is new (整改编号不得重复)",
                    format!("rectification {id} already exists"),
                ));
            }
            if let Some(decision) = body.get("decision_id").and_then(Value::as_str)
                && view.get(&layout::decision(decision))?.is_none()
            {
                return Ok(rule(
                    "a rectification's decision exists (关联决定须存在)",
                    format!("decision {decision} does not exist"),
                ));
            }
            optional_report_exists(view, body, "a rectification's report exists (关联线索须存在)")?
        }
        Lifecycle::RectificationCompleted => {
            let id = text(body, "rectification_id");
            match view.get_json(&layout::rectification(id))? {
                None => rule(
                    "a rectification is completed after it is ordered (先下达后完成)",
                    format!("rectification {id} was never ordered"),
                ),
                Some(state) if state["status"] == "completed" => rule(
                    "a rectification is completed once (整改只能办结一次)",
                    format!("rectification {id} is already completed"),
                ),
                Some(_) => Ok(()),
            }
        }
        Lifecycle::AppealFiled => {
            let id = text(body, "appeal_id");
            let decision = text(body, "decision_id");
            if view.get(&layout::appeal(id))?.is_some() {
                rule("appeal_id is new (申诉编号不得重复)", format!("appeal {id} already exists"))
            } else if view.get(&layout::decision(decision))?.is_none() {
                rule(
                    "an appeal concerns an existing decision (申诉须针对已作出的决定)",
                    format!("decision {decision} does not exist"),
                )
            } else {
                Ok(())
            }
        }
        Lifecycle::AppealDecided => {
            let id = text(body, "appeal_id");
            match view.get_json(&layout::appeal(id))? {
                None => rule(
                    "an appeal is decided after it is filed (先申诉后复查)",
                    format!("appeal {id} was never filed"),
                ),
                Some(state) if state["status"] != "pending" => {
                    rule("an appeal is decided once (申诉只能复查一次)", format!("appeal {id} was already decided"))
                }
                Some(_) => Ok(()),
            }
        }
        Lifecycle::Correction => check_correction(record, facts)?,
        Lifecycle::AuditAttest => {
            let size = body["checkpoint"]["size"].as_u64().unwrap_or(u64::MAX);
            let claimed = text(&body["checkpoint"], "root");
            match facts.root_at(size)? {
                None => rule(
                    "an attestation names a real checkpoint (签注须针对真实检查点)",
                    format!("the ledger has fewer than {size} entries"),
                ),
                Some(root) if crate::encoding::hex(&root) != claimed => rule(
                    "an attestation names a real checkpoint (签注须针对真实检查点)",
                    format!("{claimed} is not the ledger's root at size {size} ({})", crate::encoding::hex(&root)),
                ),
                Some(_) => Ok(()),
            }
        }
        // decisions group (issue 17).
        Lifecycle::DecisionApproval => super::collective::check_approval(view, record, facts)?,
        Lifecycle::OpinionIssued => super::collective::check_opinion(view, record, facts)?,
    })
}

fn seq_of(bytes: &[u8]) -> u64 {
    <[u8; 8]>::try_from(bytes).map(u64::from_be_bytes).unwrap_or(0)
}

fn optional_report_exists(
    view: &View<'_>,
    body: &Value,
    rule_name: &'static str,
) -> Result<std::result::Result<(), RuleError>> {
    if let Some(id) = body.get("report_id").and_then(Value::as_str)
        && view.get(&layout::report(id))?.is_none()
    {
        return Ok(rule(rule_name, format!("report {id} was never received")));
    }
    Ok(Ok(()))
}

/// Identifier fields a correction must keep unchanged (they tie records together). A collective
/// decision's members and quorum are kept too: its approvals were given under them (decisions
/// group, issue 17).
const IDENTIFIERS: &[&str] =
    &["report_id", "decision_id", "appeal_id", "rectification_id", "approvers", "approvals_required"];

fn check_correction(record: &RecordContext<'_>, facts: &dyn LedgerFacts) -> Result<std::result::Result<(), RuleError>> {
    let rule_name =
        "a correction targets an earlier accountability record and keeps its identifiers (更正须针对已有记录)";
    let target = record.body["target"]["seq"].as_u64().unwrap_or(u64::MAX);
    let hash = text(&record.body["target"], "hash");
    if target >= record.seq {
        return Ok(rule(rule_name, format!("seq {target} is not an earlier record")));
    }
    let Some(FactEntry { hash: entry_hash, kind, v, body: original }) = facts.entry(target)? else {
        return Ok(rule(rule_name, format!("there is no entry {target}")));
    };
    if entry_hash.to_hex() != hash {
        return Ok(rule(rule_name, format!("body.target.hash is not the hash of entry {target} ({entry_hash})")));
    }
    let spec = schema::lookup(&kind);
    // An approval or an opinion is an act on the record as it was: it is not corrected, but
    // followed by another (decisions group, issue 17).
    if !spec.is_some_and(|s| {
        s.domain
            && s.name != "correction"
            && !matches!(s.lifecycle, Lifecycle::DecisionApproval | Lifecycle::OpinionIssued)
    }) {
        return Ok(rule(rule_name, format!("entry {target} is a {kind} record, which cannot be corrected")));
    }
    let corrected = &record.body["body"];
    let current = schema::current_version(&kind);
    if let Err(err) = schema::validate_corrected_body(&kind, current, corrected, record.time) {
        return Ok(rule(rule_name, format!("the corrected body is not a valid {kind}: {err}")));
    }
    if let Some(original) = original {
        let original = schema::upcast(&kind, v, &original);
        for field in IDENTIFIERS {
            if original.get(*field) != corrected.get(*field) {
                return Ok(rule(
                    rule_name,
                    format!("body.body.{field} must stay {}", original.get(*field).unwrap_or(&Value::Null)),
                ));
            }
        }
    }
    Ok(Ok(()))
}
