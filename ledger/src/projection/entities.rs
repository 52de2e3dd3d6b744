//! Case entities (案件状态): reports, decisions, appeals, rectifications and duty reports, created
//! and advanced by the records that concern them, and rewritten by a correction.
//!
//! Guarantees: a record that breaks its lifecycle rule (tolerated only when replaying an existing
//! log) changes no entity; a correction retracts the target's facts, asserts the corrected ones,
//! and refreshes only the entity fields that come from the target's body.

use serde_json::{Value, json};

use super::facts::{assert_facts, event_date, person_ids, retract_facts, units};
use super::state::View;
use super::{FactEntry, LedgerFacts, RecordContext, layout, text};
use crate::error::Result;

pub(super) fn apply_correction(view: &mut View<'_>, record: &RecordContext<'_>, facts: &dyn LedgerFacts) -> Result<()> {
    let Some(target) = record.body["target"]["seq"].as_u64() else { return Ok(()) };
    let Some(FactEntry { kind, .. }) = facts.entry(target)? else { return Ok(()) };
    let time = record.time;
    retract_facts(view, target)?;
    let corrected = &record.body["body"];
    assert_facts(view, target, &kind, corrected, time)?;
    view.put(layout::correction(target), record.seq.to_be_bytes().to_vec());
    let context = RecordContext {
        seq: target,
        kind: &kind,
        time,
        entry_hash: record.entry_hash,
        author: record.author,
        body: corrected,
    };
    refresh_entities(view, &context)?;
    view.put_facts(
        record.seq,
        &json!({"kind": "correction", "ids": [], "units": [], "date": event_date(record.body, time).to_string()}),
    )?;
    view.index_add(&layout::kind_prefix("correction"), record.seq)?;
    Ok(())
}

/// Create or advance the case entities a record affects.
pub(super) fn update_entities(view: &mut View<'_>, record: &RecordContext<'_>, valid: bool) -> Result<()> {
    if !valid {
        return Ok(());
    }
    let body = record.body;
    let seq = record.seq;
    match record.kind {
        "report.received" => {
            let subjects: Vec<Value> =
                body["subjects"].as_array().map(|s| s.iter().map(|p| p["id"].clone()).collect()).unwrap_or_default();
            view.put_json(
                layout::report(text(body, "report_id")),
                &json!({"seq": seq, "status": "open", "subjects": subjects, "units": units(body)}),
            );
        }
        "report.concluded" => {
            let key = layout::report(text(body, "report_id"));
            if let Some(mut state) = view.get_json(&key)? {
                state["status"] = json!("concluded");
                state["finding"] = body["finding"].clone();
                state["concluded_seq"] = json!(seq);
                view.put_json(key, &state);
            }
        }
        "duty_report" => {
            let person = body["reporter"]["id"].as_str().unwrap_or_default();
            view.put(layout::duty_report(person, text(body, "period")), seq.to_be_bytes().to_vec());
        }
        "accountability.decision" => {
            let subjects: Vec<Value> = body["subjects"]
                .as_array()
                .map(|s| {
                    s.iter().map(|p| p.get("id").or_else(|| p.get("org_id")).cloned().unwrap_or(Value::Null)).collect()
                })
                .unwrap_or_default();
            let mut state = json!({"seq": seq, "status": "in_force", "measure": body["measure"], "subjects": subjects, "units": units(body)});
            super::collective::decision_state_fields(body, &mut state);
            view.put_json(layout::decision(text(body, "decision_id")), &state);
        }
        "rectification.ordered" => {
            view.put_json(
                layout::rectification(text(body, "rectification_id")),
                &json!({"seq": seq, "status": "open", "due_on": body["due_on"], "subjects": person_ids(record.kind, body), "units": units(body)}),
            );
        }
        "rectification.completed" => {
            let key = layout::rectification(text(body, "rectification_id"));
            if let Some(mut state) = view.get_json(&key)? {
                state["status"] = json!("completed");
                state["completed_seq"] = json!(seq);
                state["completed_on"] = body["completed_on"].clone();
                view.put_json(key, &state);
            }
        }
        "appeal.filed" => {
            let decision = text(body, "decision_id");
            view.put_json(
                layout::appeal(text(body, "appeal_id")),
                &json!({"seq": seq, "status": "pending", "decision_id": decision}),
            );
            let key = layout::decision(decision);
            if let Some(mut state) = view.get_json(&key)? {
                state["status"] = json!("under_appeal");
                view.put_json(key, &state);
            }
        }
        "appeal.decided" => {
            let key = layout::appeal(text(body, "appeal_id"));
            if let Some(mut state) = view.get_json(&key)? {
                let outcome = body["outcome"].clone();
                state["status"] = outcome.clone();
                state["decided_seq"] = json!(seq);
                let decision = state["decision_id"].as_str().unwrap_or_default().to_string();
                view.put_json(key, &state);
                let key = layout::decision(&decision);
                if let Some(mut decision) = view.get_json(&key)? {
                    decision["status"] = outcome;
                    decision["appeal_seq"] = json!(seq);
                    view.put_json(key, &decision);
                }
            }
        }
        // decisions group (issue 17).
        "decision.approval" | "opinion.issued" => super::collective::update(view, record)?,
        _ => {}
    }
    Ok(())
}

/// After a correction: rewrite the fields of the target's entity that come from its body.
fn refresh_entities(view: &mut View<'_>, record: &RecordContext<'_>) -> Result<()> {
    let body = record.body;
    let update = |view: &mut View<'_>, key: Vec<u8>, fields: &[(&str, Value)]| -> Result<()> {
        if let Some(mut state) = view.get_json(&key)? {
            for (field, value) in fields {
                state[*field] = value.clone();
            }
            state["corrected"] = json!(true);
            view.put_json(key, &state);
        }
        Ok(())
    };
    let ids = |field: &str| -> Value {
        Value::Array(
            body[field]
                .as_array()
                .map(|s| {
                    s.iter().map(|p| p.get("id").or_else(|| p.get("org_id")).cloned().unwrap_or(Value::Null)).collect()
                })
                .unwrap_or_default(),
        )
    };
    match record.kind {
        "report.received" => update(view, layout::report(text(body, "report_id")), &[("subjects", ids("subjects"))]),
        "report.concluded" => {
            update(view, layout::report(text(body, "report_id")), &[("finding", body["finding"].clone())])
        }
        "accountability.decision" => update(
            view,
            layout::decision(text(body, "decision_id")),
            &[("subjects", ids("subjects")), ("measure", body["measure"].clone())],
        ),
        "rectification.ordered" => {
            update(view, layout::rectification(text(body, "rectification_id")), &[("due_on", body["due_on"].clone())])
        }
        _ => Ok(()),
    }
}
