//! What a package hides: another natural person (their whole person object) and every free text
//! in a body are replaced by [`MASK`]; key-registry bodies are reduced to keys and roles (never a
//! holder or a revocation reason) and made whole again, with [`MASK`] in those places, only to
//! rebuild the registry when a package is checked.

use serde_json::{Map, Value, json};

use super::MASK;
use crate::schema::FieldType;

/// A person object is kept if it is the person or an organisation; anyone else is masked whole.
fn mask_person(value: &Value, person: &str) -> Value {
    let keep = value.get("org_id").is_some() || value.get("id").and_then(Value::as_str) == Some(person);
    if keep { value.clone() } else { Value::String(MASK.into()) }
}

/// `body` of `kind` version `v` with everyone but `person` (and interviewers) and every free
/// text replaced by [`MASK`]. `target` is the kind and version of a correction's or a
/// redaction's target, whose body they carry.
pub(super) fn mask_body(kind: &str, v: u64, body: &Value, person: &str, target: Option<(&str, u64)>) -> Value {
    let Some(members) = body.as_object() else { return Value::String(MASK.into()) };
    let inner = |value: &Value| match target {
        Some((target_kind, target_v)) => mask_body(target_kind, target_v, value, person, None),
        None => Value::String(MASK.into()),
    };
    let mut out = Map::new();
    match kind {
        "correction" | "ledger.redact" => {
            for (name, value) in members {
                let masked = match name.as_str() {
                    "target" => value.clone(),
                    "body" | "replacement" => inner(value),
                    _ => Value::String(MASK.into()),
                };
                out.insert(name.clone(), masked);
            }
        }
        _ => {
            let fields = crate::schema::lookup(kind)
                .and_then(|spec| spec.version(v).or_else(|| spec.versions.last()))
                .map(|version| version.fields)
                .unwrap_or_default();
            for (name, value) in members {
                let field_type = fields.iter().find(|f| f.name == name).map(|f| f.field_type);
                let masked = match field_type {
                    _ if name == "interviewers" => value.clone(),
                    Some(FieldType::Person | FieldType::PersonOrOrganisation) => mask_person(value, person),
                    Some(FieldType::People | FieldType::PeopleOrOrganisations) => {
                        Value::Array(value.as_array().into_iter().flatten().map(|p| mask_person(p, person)).collect())
                    }
                    // A rectification's items: each owner masked unless it is the person; the
                    // content is free text (masked), the deadline kept.
                    Some(FieldType::Items) => Value::Array(
                        value
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|item| {
                                json!({"content": MASK, "responsible": mask_person(&item["responsible"], person), "due": item["due"]})
                            })
                            .collect(),
                    ),
                    Some(
                        FieldType::Id
                        | FieldType::Date
                        | FieldType::DueDate
                        | FieldType::Year
                        | FieldType::Score
                        | FieldType::IdList
                        | FieldType::ItemNumbers
                        | FieldType::Enum(_)
                        | FieldType::Organisation
                        | FieldType::Basis
                        | FieldType::Period
                        | FieldType::Sha256
                        | FieldType::EntryRef
                        | FieldType::CheckpointRef
                        | FieldType::Count(..)
                        | FieldType::EntryRefs,
                    ) => value.clone(),
                    // Free text (Text, Line, TextList) may describe anyone; unknown fields too.
                    _ => Value::String(MASK.into()),
                };
                out.insert(name.clone(), masked);
            }
        }
    }
    Value::Object(out)
}

/// The key body with only what checking signatures needs: keys and roles, never a holder or a
/// revocation reason.
pub(super) fn reduce_key_body(kind: &str, body: &Value) -> Value {
    match kind {
        "ledger.genesis" => json!({
            "admins": body["admins"].as_array().into_iter().flatten().map(|a| json!({"key": a["key"]})).collect::<Vec<_>>(),
            "log_key": body["log_key"],
            "origin": body["origin"],
        }),
        "key.grant" => json!({"key": body["key"], "roles": body["roles"]}),
        _ => json!({"key": body["key"]}),
    }
}

/// A reduced key body made whole again for
/// [`KeyRegistry::apply`](crate::registry::KeyRegistry::apply), with [`MASK`] as holder and
/// reason (the registry's rules do not read them).
pub(super) fn inflate_key_body(kind: &str, reduced: &Value, place: &str) -> std::result::Result<Value, String> {
    let holder = json!({"name": MASK, "unit": MASK});
    let fields: &[&str] = match kind {
        "ledger.genesis" => &["admins", "log_key", "origin"],
        "key.grant" => &["key", "roles"],
        "key.revoke" => &["key"],
        other => return Err(format!("{place}: a {other} line is not a key-registry line")),
    };
    let members =
        crate::registry::object_with(reduced, &format!("{place}.reduced"), fields, &[]).map_err(|e| e.to_string())?;
    let mut body = Value::Object(members.clone());
    match kind {
        "ledger.genesis" => {
            let admins =
                members["admins"].as_array().ok_or_else(|| format!("{place}.reduced.admins must be a list"))?;
            let mut whole = Vec::new();
            for (index, admin) in admins.iter().enumerate() {
                let admin =
                    crate::registry::object_with(admin, &format!("{place}.reduced.admins[{index}]"), &["key"], &[])
                        .map_err(|e| e.to_string())?;
                whole.push(json!({"key": admin["key"], "holder": holder}));
            }
            body["admins"] = Value::Array(whole);
        }
        "key.grant" => body["holder"] = holder,
        _ => body["reason"] = json!(MASK),
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disclosure::test_person as person;

    #[test]
    fn a_masked_body_keeps_the_person_ids_and_dates_and_nothing_else_personal() {
        let body = json!({"report_id": "R-4", "subjects": [person("P-1", "张某"), person("P-5", "陈某"), {"org_id": "O-1", "name": "市水务局党组"}],
                          "source": "petition", "summary": "张某与陈某", "received_on": "2026-01-12"});
        let masked = mask_body("report.received", 1, &body, "P-1", None);
        assert_eq!(
            masked,
            json!({"report_id": "R-4", "subjects": [person("P-1", "张某"), MASK, {"org_id": "O-1", "name": "市水务局党组"}],
                   "source": "petition", "summary": MASK, "received_on": "2026-01-12"})
        );
        // A correction: its reason and the other people of its corrected body are masked.
        let correction = json!({"target": {"seq": 8, "hash": "00"}, "reason": "陈某改为刘某", "body": body});
        let masked = mask_body("correction", 1, &correction, "P-1", Some(("report.received", 1)));
        assert_eq!(masked["reason"], MASK);
        assert_eq!(masked["target"], correction["target"]);
        assert_eq!(masked["body"]["subjects"][1], MASK);
        // Interviewers are officials acting in office: kept.
        let interview = json!({"interview_type": "reminder", "subjects": [person("P-5", "陈某")], "interviewers": [person("P-9", "钱干事")],
                               "held_on": "2026-01-20", "reason": "x"});
        let masked = mask_body("interview", 2, &interview, "P-9", None);
        assert_eq!(
            (masked["subjects"][0].clone(), masked["interviewers"].clone()),
            (json!(MASK), interview["interviewers"].clone())
        );
    }
}
