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
            if view.contains(&layout::report(id))? {
                rule("report_id is new (线索编号不得重复)", format!("report {id} was already received"))
            } else {
                Ok(())
            }
        }
        Lifecycle::ReportConcluded => {
            let id = text(body, "report_id");
            match view.json(&layout::report(id))? {
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
            if view.contains(&layout::decision(id))? {
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
        Lifecycle::Clarification if body.get("report_id").is_some() == body.get("inquiry_id").is_some() => rule(
            "a clarification rests on one report or one letter inquiry (澄清正名须以一件线索或一次函询为依据)",
            "name exactly one of body.report_id and body.inquiry_id",
        ),
        Lifecycle::Clarification if body.get("inquiry_id").is_some() => {
            let id = text(body, "inquiry_id");
            let person = body["subject"]["id"].as_str().unwrap_or_default();
            let rule_name = "a clarification follows a letter inquiry concluded 予以澄清 about the person (澄清正名须以予以澄清的函询为依据，《中国共产党纪律检查机关监督执纪工作规则》第二十九条)";
            match view.json(&layout::inquiry(id))? {
                None => rule(rule_name, format!("inquiry {id} was never issued")),
                Some(state) if state["status"] != "clarified" => {
                    rule(rule_name, format!("inquiry {id} is {}, not concluded as clarified", state["status"]))
                }
                Some(state) if !state["subjects"].as_array().is_some_and(|s| s.iter().any(|p| p == person)) => {
                    rule(rule_name, format!("inquiry {id} was not issued to {person}"))
                }
                Some(_) => Ok(()),
            }
        }
        Lifecycle::Clarification => {
            let id = text(body, "report_id");
            let person = body["subject"]["id"].as_str().unwrap_or_default();
            let rule_name = "a clarification follows a report concluded as unsubstantiated or false and naming the person (澄清正名须以查无实据或诬告陷害的线索为依据)";
            match view.json(&layout::report(id))? {
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
            if view.contains(&layout::rectification(id))? {
                return Ok(rule(
                    "rectification_id is new (整改编号不得重复)",
                    format!("rectification {id} already exists"),
                ));
            }
            if let Some(decision) = body.get("decision_id").and_then(Value::as_str)
                && !view.contains(&layout::decision(decision))?
            {
                return Ok(rule(
                    "a rectification's decision exists (关联决定须存在)",
                    format!("decision {decision} does not exist"),
                ));
            }
            // A v1 order's issue date is inferred from its entry (upcast), so it says nothing
            // about when its items were due.
            let issued_on = if body["issued_on_inferred"] == true { "" } else { text(body, "issued_on") };
            for (index, item) in body["items"].as_array().into_iter().flatten().enumerate() {
                let due = text(item, "due");
                if due < issued_on {
                    return Ok(rule(
                        "an item is due after the order is issued (整改时限不得早于下达日期)",
                        format!("body.items[{index}].due {due} is before body.issued_on {issued_on}"),
                    ));
                }
            }
            optional_report_exists(view, body, "a rectification's report exists (关联线索须存在)")?
        }
        Lifecycle::RectificationCompleted => {
            let id = text(body, "rectification_id");
            match view.json(&layout::rectification(id))? {
                None => rule(
                    "a rectification is completed after it is ordered (先下达后完成)",
                    format!("rectification {id} was never ordered"),
                ),
                Some(state) if state["status"] == "completed" => rule(
                    "a rectification is completed once (整改只能办结一次)",
                    format!("rectification {id} is already completed"),
                ),
                Some(state) => check_items_completed(id, &state, body),
            }
        }
        Lifecycle::AppealFiled => {
            let id = text(body, "appeal_id");
            let decision = text(body, "decision_id");
            if view.contains(&layout::appeal(id))? {
                rule("appeal_id is new (申诉编号不得重复)", format!("appeal {id} already exists"))
            } else if !view.contains(&layout::decision(decision))? {
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
            match view.json(&layout::appeal(id))? {
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
        Lifecycle::Correction => check_correction(view, record, facts)?,
        Lifecycle::SupervisionOrdered => {
            let id = text(body, "order_id");
            if view.contains(&layout::supervision(id))? {
                return Ok(rule(
                    "order_id is new (督办编号不得重复)",
                    format!("supervision order {id} already exists"),
                ));
            }
            let (deadline, issued_on) = (text(body, "deadline"), text(body, "issued_on"));
            if deadline < issued_on {
                return Ok(rule(
                    "a supervision order's deadline is not before it is issued (办理时限不得早于督办日期)",
                    format!("body.deadline {deadline} is before body.issued_on {issued_on}"),
                ));
            }
            if let Some(decision) = body.get("decision_id").and_then(Value::as_str)
                && !view.contains(&layout::decision(decision))?
            {
                return Ok(rule(
                    "a supervision order's decision exists (关联决定须存在)",
                    format!("decision {decision} does not exist"),
                ));
            }
            if let Some(rectification) = body.get("rectification_id").and_then(Value::as_str)
                && !view.contains(&layout::rectification(rectification))?
            {
                return Ok(rule(
                    "a supervision order's rectification exists (关联整改须存在)",
                    format!("rectification {rectification} does not exist"),
                ));
            }
            optional_report_exists(view, body, "a supervision order's report exists (关联线索须存在)")?
        }
        Lifecycle::SupervisionProgress | Lifecycle::SupervisionClosed => {
            let id = text(body, "order_id");
            let (what, date_field) = match lifecycle {
                Lifecycle::SupervisionProgress => ("progress is reported", "reported_on"),
                _ => ("an order is closed", "closed_on"),
            };
            match view.json(&layout::supervision(id))? {
                None => rule(
                    "a supervision order is followed up after it is issued (先督办后报告、办结)",
                    format!("supervision order {id} was never issued"),
                ),
                Some(state) if state["status"] != "open" => rule(
                    "a supervision order is closed once, and nothing follows its closure (督办事项只能办结一次)",
                    format!("supervision order {id} was already closed at seq {}", state["closed_seq"]),
                ),
                Some(state) if text(body, date_field) < text(&state, "issued_on") => rule(
                    "nothing about an order is dated before it was issued (报告、办结日期不得早于督办日期)",
                    format!(
                        "{what} on {}, before the order was issued on {}",
                        text(body, date_field),
                        text(&state, "issued_on")
                    ),
                ),
                Some(_) => Ok(()),
            }
        }
        Lifecycle::InquiryIssued => {
            let id = text(body, "inquiry_id");
            if view.contains(&layout::inquiry(id))? {
                return Ok(rule("inquiry_id is new (函询编号不得重复)", format!("inquiry {id} already exists")));
            }
            optional_report_exists(view, body, "an inquiry's report exists (关联线索须存在)")?
        }
        Lifecycle::InquiryReplied => {
            let id = text(body, "inquiry_id");
            match view.json(&layout::inquiry(id))? {
                None => rule(
                    "a reply answers an inquiry that was issued (先发函后回复)",
                    format!("inquiry {id} was never issued"),
                ),
                Some(state) if state["status"] != "issued" => rule(
                    "an inquiry is answered once, before it is concluded (函询只回复一次)",
                    format!("inquiry {id} is already {}", state["status"]),
                ),
                Some(_) => Ok(()),
            }
        }
        Lifecycle::InquiryConcluded => {
            let id = text(body, "inquiry_id");
            let conclusion = text(body, "conclusion");
            match view.json(&layout::inquiry(id))? {
                None => rule(
                    "an inquiry is concluded after it is issued (先发函后了结)",
                    format!("inquiry {id} was never issued"),
                ),
                Some(state) if !matches!(state["status"].as_str(), Some("issued" | "replied")) => rule(
                    "an inquiry is concluded once (函询只能了结一次)",
                    format!("inquiry {id} was already concluded as {}", state["status"]),
                ),
                Some(state) if state["status"] == "issued" && matches!(conclusion, "accepted" | "clarified") => rule(
                    "采信了结 and 予以澄清 rest on the cadre's written reply (采信了结、予以澄清须以书面说明为据，《中国共产党纪律检查机关监督执纪工作规则》第二十八条、第二十九条)",
                    format!(
                        "inquiry {id} has no reply yet; record inquiry.replied first, or conclude it preliminary_verification (转初核)"
                    ),
                ),
                Some(_) => Ok(()),
            }
        }
        Lifecycle::Assessment => {
            let org = body["unit"]["org_id"].as_str().unwrap_or_default();
            let year = text(body, "year");
            match view.json(&layout::assessment(org, year))? {
                Some(state) => rule(
                    "one assessment per unit and year (同一单位同一年度只考核评价一次，《党委（党组）落实全面从严治党主体责任规定》)",
                    format!(
                        "{org} was already assessed for {year} at seq {}; correct that record instead",
                        state["seq"]
                    ),
                ),
                None => Ok(()),
            }
        }
        Lifecycle::Circular => {
            let id = text(body, "circular_id");
            if view.contains(&layout::circular(id))? {
                return Ok(rule("circular_id is new (通报编号不得重复)", format!("circular {id} already exists")));
            }
            let rule_name = "a circular publicises decisions in effect (通报须针对已作出且未撤销的问责决定，《中国共产党问责条例》)";
            for (index, decision) in body["decision_ids"].as_array().into_iter().flatten().enumerate() {
                let decision = decision.as_str().unwrap_or_default();
                match view.json(&layout::decision(decision))? {
                    None => {
                        return Ok(rule(
                            rule_name,
                            format!("body.decision_ids[{index}]: decision {decision} does not exist"),
                        ));
                    }
                    Some(state) if state["status"] == "revoked" => {
                        return Ok(rule(
                            rule_name,
                            format!("body.decision_ids[{index}]: decision {decision} was revoked on appeal"),
                        ));
                    }
                    Some(state) if !super::collective::in_effect(&state) => {
                        return Ok(rule(
                            rule_name,
                            format!(
                                "body.decision_ids[{index}]: decision {decision} is not in effect yet (待集体研究: its approvals are not all given)"
                            ),
                        ));
                    }
                    Some(_) => {}
                }
            }
            Ok(())
        }
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

/// A v2 completion's items exist and are still open (a completion without items completes every
/// item still open).
fn check_items_completed(id: &str, state: &Value, body: &Value) -> std::result::Result<(), RuleError> {
    let rule_name = "each rectification item is completed once (整改事项逐项销号，只能销号一次)";
    let items = state["items"].as_array().map(Vec::as_slice).unwrap_or_default();
    for (index, number) in body.get("items").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let number = number.as_u64().unwrap_or(0);
        match usize::try_from(number).ok().and_then(|n| n.checked_sub(1)).and_then(|at| items.get(at)) {
            None => {
                return rule(
                    rule_name,
                    format!("body.items[{index}]: rectification {id} has {} items, no item {number}", items.len()),
                );
            }
            Some(item) if !item["done_seq"].is_null() => {
                return rule(
                    rule_name,
                    format!("body.items[{index}]: item {number} of {id} was completed at seq {}", item["done_seq"]),
                );
            }
            Some(_) => {}
        }
    }
    Ok(())
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
        && !view.contains(&layout::report(id))?
    {
        return Ok(rule(rule_name, format!("report {id} was never received")));
    }
    Ok(Ok(()))
}

/// Identifier fields a correction must keep unchanged (they tie records together). A collective
/// decision's members and quorum are kept too: its approvals were given under them (decisions
/// group, issue 17).
const IDENTIFIERS: &[&str] = &[
    "report_id",
    "decision_id",
    "appeal_id",
    "rectification_id",
    // kinds group (issue 17): an assessment is identified by its unit and year.
    "order_id",
    "inquiry_id",
    "circular_id",
    "unit",
    "year",
    // decisions group (issue 17).
    "approvers",
    "approvals_required",
];

fn check_correction(
    view: &View<'_>,
    record: &RecordContext<'_>,
    facts: &dyn LedgerFacts,
) -> Result<std::result::Result<(), RuleError>> {
    let rule_name =
        "a correction targets an earlier accountability record and keeps its identifiers (更正须针对已有记录)";
    let target = record.body["target"]["seq"].as_u64().unwrap_or(u64::MAX);
    let hash = text(&record.body["target"], "hash");
    if target >= record.seq {
        return Ok(rule(rule_name, format!("seq {target} is not an earlier record")));
    }
    let Some(FactEntry { hash: entry_hash, kind, v, body: original, time: target_time }) = facts.entry(target)? else {
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
    // A collective decision (集体研究) is corrected only while no member has approved it, and
    // only into a body that passes the decision's own rules: the approvals were given to the
    // text as it stood (decisions group, issue 17).
    if kind == "accountability.decision" {
        let id = text(corrected, "decision_id");
        if let Some(state) = view.json(&layout::decision(id))?
            && state.get("approvals_required").is_some()
        {
            let approved = state["approvals"].as_array().map_or(0, Vec::len);
            if approved > 0 {
                return Ok(rule(
                    "a collective decision is not corrected once a member has approved it (经集体研究同意的决定不得更正)",
                    format!("decision {id} has {approved} approval(s); record a new decision instead"),
                ));
            }
            if original.is_none() {
                return Ok(rule(
                    "a collective decision is not corrected once a member has approved it (经集体研究同意的决定不得更正)",
                    format!(
                        "the body of decision {id} was redacted, so what its members would approve cannot be compared"
                    ),
                ));
            }
        }
        if let Err(err) = super::collective::check_decision(corrected) {
            return Ok(Err(err));
        }
    }
    if let Some(original) = original {
        let original = schema::upcast(&kind, v, &original, target_time);
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
