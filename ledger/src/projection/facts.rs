//! What a record asserts (记录事实): the people, units and event date its body names, entered
//! into the person, unit and kind indexes and the statistics, and remembered per record so that a
//! correction can retract exactly what the original asserted.
//!
//! Guarantees: only ids, units, kinds and dates are kept, never free text; asserting and then
//! retracting a record's facts leaves the indexes and counts as they were.

use std::borrow::Cow;

use serde_json::Value;

use super::layout;
use super::state::View;
use super::text;
use crate::error::Result;
use crate::time::{Date, Timestamp};

/// The ids of the people and organisations a body names (for the person index).
pub fn person_ids(kind: &str, body: &Value) -> Vec<String> {
    let mut ids = Vec::new();
    let mut add = |value: &Value| {
        if let Some(id) = value.get("id").or_else(|| value.get("org_id")).and_then(Value::as_str)
            && !ids.iter().any(|known| known == id)
        {
            ids.push(id.to_string());
        }
    };
    for field in ["subjects", "interviewers"] {
        if let Some(items) = body.get(field).and_then(Value::as_array) {
            items.iter().for_each(&mut add);
        }
    }
    for field in ["subject", "reporter", "target", "responsible", "unit"] {
        if kind == "correction" && field == "target" {
            continue;
        }
        if let Some(value) = body.get(field) {
            add(value);
        }
    }
    // A rectification's items name who is responsible for each (v2).
    for item in body.get("items").and_then(Value::as_array).into_iter().flatten() {
        if let Some(responsible) = item.get("responsible") {
            add(responsible);
        }
    }
    ids
}

/// The units a body concerns: each subject's unit (an organisation's name).
pub fn units(body: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |value: &Value| {
        let unit = value.get("unit").or_else(|| value.get("org_id").and(value.get("name"))).and_then(Value::as_str);
        if let Some(unit) = unit
            && !out.iter().any(|u| u == unit)
        {
            out.push(unit.to_string());
        }
    };
    parties(body).for_each(&mut add);
    out
}

/// The objects naming the people or organisations a body is about: each of `subjects[]`, then
/// `subject`, `reporter`, `target`, `responsible` (a supervision order's) and `unit` (an
/// assessment's), where present (interviewers act in office: not parties).
pub(crate) fn parties(body: &Value) -> impl Iterator<Item = &Value> {
    let subjects = body.get("subjects").and_then(Value::as_array).into_iter().flatten();
    subjects.chain(
        ["subject", "reporter", "target", "responsible", "unit"]
            .into_iter()
            .filter_map(|field| body.get(field))
            .filter(|value| value.is_object()),
    )
}

/// The date a record of `kind` is about (its event date, the field the kind table names), or the
/// sequencing date in China (UTC+8). `body` is upcast to the current version.
pub fn event_date(kind: &str, body: &Value, time: Timestamp) -> Date {
    crate::schema::event_date(kind, body, time)
}

/// The index and statistics facts of one record body, remembered under `Ps/<seq>` so that a
/// correction can retract exactly what the original asserted.
pub(super) fn assert_facts(view: &mut View<'_>, seq: u64, kind: &str, body: &Value, time: Timestamp) -> Result<()> {
    let mut ids = person_ids(kind, body);
    let mut units = units(body);
    // Records that name a case rather than a person belong to the files of the case's subjects.
    for case in related_cases(view, kind, body)? {
        for (field, out) in [("subjects", &mut ids), ("units", &mut units)] {
            for value in case[field].as_array().into_iter().flatten().filter_map(Value::as_str) {
                if !out.iter().any(|known| known == value) {
                    out.push(value.to_string());
                }
            }
        }
    }
    let date = event_date(kind, body, time).to_string();
    for id in &ids {
        view.index_add(layout::person_prefix(id), seq)?;
    }
    for unit in &units {
        view.index_add(layout::unit_prefix(unit), seq)?;
        view.add_count(layout::stat(&date[..4], unit, kind), 1)?;
    }
    if units.is_empty() {
        view.add_count(layout::stat(&date[..4], "", kind), 1)?;
    }
    view.index_add(layout::kind_prefix(kind), seq)?;
    view.add_count(layout::month_stat(&date[..7], kind), 1)?;
    view.put_facts_json(seq, facts_json(kind, &ids, &units, &date))?;
    Ok(())
}

/// The canonical JSON (JCS) of a record's facts, `{"date","ids","kind","units"}`, written
/// directly: byte for byte `canonical::encode` of that object (members in key order, strings in
/// JCS form), without building it as a `Value` first, which every replayed record did.
fn facts_json(kind: &str, ids: &[String], units: &[String], date: &str) -> Vec<u8> {
    use crate::canonical::write_string;
    let list = |out: &mut Vec<u8>, items: &[String]| {
        out.push(b'[');
        for (index, item) in items.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            write_string(item, out);
        }
        out.push(b']');
    };
    let mut out = Vec::with_capacity(64 + 24 * (ids.len() + units.len()));
    out.extend_from_slice(b"{\"date\":");
    write_string(date, &mut out);
    out.extend_from_slice(b",\"ids\":");
    list(&mut out, ids);
    out.extend_from_slice(b",\"kind\":");
    write_string(kind, &mut out);
    out.extend_from_slice(b",\"units\":");
    list(&mut out, units);
    out.push(b'}');
    out
}

/// The case state a linking record refers to (the report of a conclusion, the decision of an
/// appeal, the rectification of a completion).
pub(super) fn related_case<'v>(view: &'v View<'_>, kind: &str, body: &Value) -> Result<Option<Cow<'v, Value>>> {
    match kind {
        "report.concluded" => view.json(&layout::report(text(body, "report_id"))),
        "appeal.filed" => view.json(&layout::decision(text(body, "decision_id"))),
        "appeal.decided" => {
            let Some(appeal) = view.json(&layout::appeal(text(body, "appeal_id")))? else { return Ok(None) };
            view.json(&layout::decision(text(&appeal, "decision_id")))
        }
        "rectification.completed" => view.json(&layout::rectification(text(body, "rectification_id"))),
        "supervision.progress" | "supervision.closed" => view.json(&layout::supervision(text(body, "order_id"))),
        "inquiry.replied" | "inquiry.concluded" => view.json(&layout::inquiry(text(body, "inquiry_id"))),
        // decisions group (issue 17): an approval belongs to the files of its decision's subjects.
        "decision.approval" => view.json(&layout::decision(text(body, "decision_id"))),
        _ => Ok(None),
    }
}

/// Every case a record refers to: the one of [`related_case`], or each decision a circular
/// publicises (通报: the circular belongs to the files of the people it names).
fn related_cases<'v>(view: &'v View<'_>, kind: &str, body: &Value) -> Result<Vec<Cow<'v, Value>>> {
    if kind != "circular" {
        return Ok(related_case(view, kind, body)?.into_iter().collect());
    }
    let mut cases = Vec::new();
    for id in body["decision_ids"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        cases.extend(view.json(&layout::decision(id))?);
    }
    Ok(cases)
}

pub(super) fn retract_facts(view: &mut View<'_>, seq: u64) -> Result<()> {
    let Some(facts) = view.facts(seq)? else { return Ok(()) };
    let kind = text(&facts, "kind").to_string();
    let date = text(&facts, "date").to_string();
    if date.len() < 7 {
        return Ok(());
    }
    let strings = |field: &str| -> Vec<String> {
        facts[field]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default()
    };
    for id in strings("ids") {
        view.index_remove(&layout::person_prefix(&id), seq)?;
    }
    view.index_remove(&layout::kind_prefix(&kind), seq)?;
    let units = strings("units");
    for unit in &units {
        view.index_remove(&layout::unit_prefix(unit), seq)?;
        view.add_count(layout::stat(&date[..4], unit, &kind), -1)?;
    }
    if units.is_empty() {
        view.add_count(layout::stat(&date[..4], "", &kind), -1)?;
    }
    view.add_count(layout::month_stat(&date[..7], &kind), -1)?;
    view.delete_facts(seq)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The facts written directly are the canonical encoding of the same object, whatever the
    /// strings hold (quotes, backslashes, control characters, CJK, astral characters) and
    /// however many ids and units there are.
    #[test]
    fn facts_json_is_the_canonical_encoding_of_the_facts_object() {
        let strings = ["", "P-1", "市住建局", "a\"b\\c", "tab\tnew\nline\u{1}\u{1f}", "😀𠀀", "\u{7f}\u{2028}"];
        for (index, kind) in ["interview", "report.received", "a\"b"].iter().enumerate() {
            for count in 0..4 {
                let ids: Vec<String> = strings.iter().cycle().skip(index).take(count).map(|s| s.to_string()).collect();
                let units: Vec<String> = strings.iter().rev().take(count).map(|s| s.to_string()).collect();
                let date = strings[(index + count) % strings.len()];
                let expected =
                    crate::canonical::encode(&json!({"kind": kind, "ids": ids, "units": units, "date": date}), "facts")
                        .unwrap();
                assert_eq!(
                    String::from_utf8(facts_json(kind, &ids, &units, date)).unwrap(),
                    String::from_utf8(expected).unwrap()
                );
            }
        }
    }
}
