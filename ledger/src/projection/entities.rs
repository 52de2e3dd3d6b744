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
    let Some(FactEntry { kind, time: target_time, .. }) = facts.entry(target)? else { return Ok(()) };
    let time = record.time;
    retract_facts(view, target)?;
    let corrected =
        &crate::schema::upcast(&kind, crate::schema::current_version(&kind), &record.body["body"], target_time);
    assert_facts(view, target, &kind, corrected, time)?;
    view.put(layout::correction(target), record.seq.to_be_bytes().to_vec());
    let context = RecordContext { seq: target, kind: &kind, time, author: record.author, body: corrected };
    refresh_entities(view, &context)?;
    view.put_facts(
        record.seq,
        &json!({"kind": "correction", "ids": [], "units": [], "date": event_date("correction", record.body, time).to_string()}),
    )?;
    view.index_add(layout::kind_prefix("correction"), record.seq)?;
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
                json!({"seq": seq, "status": "open", "subjects": subjects, "units": units(body)}),
            );
        }
        "report.concluded" => {
            let key = layout::report(text(body, "report_id"));
            if let Some(mut state) = view.get_json(&key)? {
                state["status"] = json!("concluded");
                state["finding"] = body["finding"].clone();
                state["concluded_seq"] = json!(seq);
                view.put_json(key, state);
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
            view.put_json(layout::decision(text(body, "decision_id")), state);
        }
        "rectification.ordered" => {
            let items: Vec<Value> = body["items"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|item| json!({"due": item["due"], "done_seq": null}))
                .collect();
            view.put_json(
                layout::rectification(text(body, "rectification_id")),
                json!({"seq": seq, "status": "open", "issued_on": body["issued_on"], "due_on": latest_due(body),
                        "items": items, "subjects": person_ids(record.kind, body), "units": units(body)}),
            );
        }
        "rectification.completed" => {
            let key = layout::rectification(text(body, "rectification_id"));
            if let Some(mut state) = view.get_json(&key)? {
                // v2 names the items it completes; otherwise every item still open is completed.
                let named: Option<Vec<u64>> =
                    body.get("items").and_then(Value::as_array).map(|n| n.iter().filter_map(Value::as_u64).collect());
                if let Some(items) = state["items"].as_array_mut() {
                    for (index, item) in items.iter_mut().enumerate() {
                        let wanted = named.as_ref().is_none_or(|named| named.contains(&(index as u64 + 1)));
                        if wanted && item["done_seq"].is_null() {
                            item["done_seq"] = json!(seq);
                            item["done_on"] = body["completed_on"].clone();
                        }
                    }
                }
                let all_done =
                    state["items"].as_array().is_none_or(|items| items.iter().all(|item| !item["done_seq"].is_null()));
                if all_done {
                    state["status"] = json!("completed");
                    state["completed_seq"] = json!(seq);
                    state["completed_on"] = body["completed_on"].clone();
                }
                view.put_json(key, state);
            }
        }
        "supervision.ordered" => {
            view.put_json(
                layout::supervision(text(body, "order_id")),
                json!({"seq": seq, "status": "open", "issued_on": body["issued_on"], "deadline": body["deadline"],
                        "progress_reports": 0, "subjects": person_ids(record.kind, body), "units": units(body)}),
            );
        }
        "supervision.progress" => {
            let key = layout::supervision(text(body, "order_id"));
            if let Some(mut state) = view.get_json(&key)? {
                state["progress_reports"] = json!(state["progress_reports"].as_u64().unwrap_or(0) + 1);
                state["last_progress_on"] = body["reported_on"].clone();
                view.put_json(key, state);
            }
        }
        "supervision.closed" => {
            let key = layout::supervision(text(body, "order_id"));
            if let Some(mut state) = view.get_json(&key)? {
                // Dates compare as text: both are `YYYY-MM-DD`.
                let late = text(body, "closed_on") > text(&state, "deadline");
                state["status"] = json!(if late { "closed_late" } else { "closed" });
                state["closed_seq"] = json!(seq);
                state["closed_on"] = body["closed_on"].clone();
                view.put_json(key, state);
            }
        }
        "inquiry.issued" => {
            view.put_json(
                layout::inquiry(text(body, "inquiry_id")),
                json!({"seq": seq, "status": "issued", "reply_due": body.get("reply_due"),
                        "subjects": person_ids(record.kind, body), "units": units(body)}),
            );
        }
        "inquiry.replied" => {
            let key = layout::inquiry(text(body, "inquiry_id"));
            if let Some(mut state) = view.get_json(&key)? {
                state["status"] = json!("replied");
                state["replied_seq"] = json!(seq);
                view.put_json(key, state);
            }
        }
        "inquiry.concluded" => {
            let key = layout::inquiry(text(body, "inquiry_id"));
            if let Some(mut state) = view.get_json(&key)? {
                state["status"] = body["conclusion"].clone();
                state["concluded_seq"] = json!(seq);
                view.put_json(key, state);
            }
        }
        "assessment" => {
            let org = body["unit"]["org_id"].as_str().unwrap_or_default();
            view.put_json(
                layout::assessment(org, text(body, "year")),
                json!({"seq": seq, "grade": body["grade"], "score": body["score"]}),
            );
        }
        "circular" => {
            view.put_json(
                layout::circular(text(body, "circular_id")),
                json!({"seq": seq, "decision_ids": body["decision_ids"]}),
            );
        }
        "appeal.filed" => {
            let decision = text(body, "decision_id");
            view.put_json(
                layout::appeal(text(body, "appeal_id")),
                json!({"seq": seq, "status": "pending", "decision_id": decision}),
            );
            let key = layout::decision(decision);
            if let Some(mut state) = view.get_json(&key)? {
                state["status"] = json!("under_appeal");
                view.put_json(key, state);
            }
        }
        "appeal.decided" => {
            let key = layout::appeal(text(body, "appeal_id"));
            if let Some(mut state) = view.get_json(&key)? {
                let outcome = body["outcome"].clone();
                state["status"] = outcome.clone();
                state["decided_seq"] = json!(seq);
                let decision = state["decision_id"].as_str().unwrap_or_default().to_string();
                view.put_json(key, state);
                let key = layout::decision(&decision);
                if let Some(mut decision) = view.get_json(&key)? {
                    decision["status"] = outcome;
                    decision["appeal_seq"] = json!(seq);
                    view.put_json(key, decision);
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
            view.put_json(key, state);
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
            let key = layout::rectification(text(body, "rectification_id"));
            let Some(state) = view.get_json(&key)? else { return Ok(()) };
            // The items as corrected, keeping the completion of those that remain.
            let done = state["items"].as_array().cloned().unwrap_or_default();
            let items: Vec<Value> = body["items"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
                .map(|(index, item)| {
                    let mut state = done.get(index).cloned().unwrap_or_else(|| json!({"done_seq": null}));
                    state["due"] = item["due"].clone();
                    state
                })
                .collect();
            update(
                view,
                key,
                &[
                    ("due_on", latest_due(body)),
                    ("issued_on", body["issued_on"].clone()),
                    ("items", Value::Array(items)),
                ],
            )
        }
        "supervision.ordered" => {
            update(view, layout::supervision(text(body, "order_id")), &[("deadline", body["deadline"].clone())])
        }
        "assessment" => {
            let org = body["unit"]["org_id"].as_str().unwrap_or_default();
            update(
                view,
                layout::assessment(org, text(body, "year")),
                &[("grade", body["grade"].clone()), ("score", body["score"].clone())],
            )
        }
        _ => Ok(()),
    }
}

/// The latest due date of a rectification's items (the whole order is due then).
fn latest_due(body: &Value) -> Value {
    let dues = body["items"].as_array().into_iter().flatten().filter_map(|item| item["due"].as_str());
    dues.max().map_or(Value::Null, |due| json!(due))
}
