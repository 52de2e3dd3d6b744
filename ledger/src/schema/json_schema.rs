//! JSON Schema (draft 2020-12) of each kind version, generated from the kind table (记录类型的
//! JSON Schema), so that other systems validate bodies without lianlog (`lianlog kinds --json`).
//!
//! Guarantees: one schema per kind version, derived from [`super::KINDS`] alone (no second list
//! of fields or types); a body the ledger accepts is valid against it. Some rules a JSON Schema
//! cannot say are named in the field's `description` and stay the ledger's: dates not after the
//! day the record is made, distinct person ids in a list, no text made of white space only, no
//! bidirectional controls in one-line fields, and every lifecycle rule.

use serde_json::{Map, Value, json};

use super::{Field, FieldType, KindSpec, Lifecycle, Version};
use crate::limits::{MAX_ID_CHARS, MAX_LIST_ITEMS, MAX_SHORT_TEXT_CHARS, MAX_TEXT_CHARS};

/// The JSON Schema dialect every generated schema declares.
pub const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// The JSON Schema (draft 2020-12) of version `version` of `kind`: an object with exactly the
/// version's fields, the required ones required, each typed as the ledger validates it.
pub fn json_schema(kind: &KindSpec, version: &Version) -> Value {
    let mut properties = Map::new();
    for field in version.fields {
        let mut schema = field_schema(field.field_type);
        if let Some(members) = schema.as_object_mut() {
            members.insert("title".into(), json!(field.label_zh));
        }
        properties.insert(field.name.into(), schema);
    }
    let required: Vec<&str> = version.fields.iter().filter(|f| f.required).map(|f| f.name).collect();
    json!({
        "$schema": DIALECT,
        "$id": format!("urn:lianlog:kind:{}:v{}", kind.name, version.v),
        "title": format!("{} v{} — {} ({})", kind.name, version.v, kind.label_zh, kind.label_en),
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
        "$defs": definitions(),
    })
}

/// Every kind as `lianlog kinds --json` prints it: names, labels, versions with their fields and
/// JSON Schema, the event-date field, and the lifecycle rule.
pub fn describe_kinds() -> Value {
    Value::Array(super::KINDS.iter().map(describe_kind).collect())
}

fn describe_kind(kind: &KindSpec) -> Value {
    let versions: Vec<Value> = kind
        .versions
        .iter()
        .map(|version| {
            json!({
                "v": version.v,
                "fields": version.fields.iter().map(describe_field).collect::<Vec<_>>(),
                "schema": json_schema(kind, version),
            })
        })
        .collect();
    json!({
        "kind": kind.name,
        "label_zh": kind.label_zh,
        "label_en": kind.label_en,
        "domain": kind.domain,
        "current_version": kind.versions.last().map(|v| v.v),
        "event_date": (!kind.event_date.is_empty()).then_some(kind.event_date),
        "lifecycle": lifecycle_rule(kind.lifecycle),
        "versions": versions,
    })
}

fn describe_field(field: &Field) -> Value {
    json!({
        "name": field.name,
        "label_zh": field.label_zh,
        "type": type_description(field.field_type),
        "required": field.required,
    })
}

/// How a field type is named in docs/RECORDS.md's field tables (the docs test compares them).
pub fn type_description(field_type: FieldType) -> String {
    let name = match field_type {
        FieldType::Text => "text (≤4000 chars, newlines allowed)",
        FieldType::Line => "one-line text (≤200)",
        FieldType::Id => "identifier (≤64)",
        FieldType::Date => "date YYYY-MM-DD",
        FieldType::Enum(values) => {
            let values: Vec<String> = values.iter().map(|(value, zh)| format!("`{value}` {zh}")).collect();
            return format!("one of: {}", values.join(", "));
        }
        FieldType::Person => "person",
        FieldType::People => "list of people",
        FieldType::Organisation => "organisation",
        FieldType::PersonOrOrganisation => "person or organisation",
        FieldType::PeopleOrOrganisations => "list of people/organisations",
        FieldType::Basis => "list of {regulation, article}",
        FieldType::Period => "period YYYY / YYYY-H1 / YYYY-Q3",
        FieldType::Sha256 => "SHA-256 hex",
        FieldType::TextList => "list of texts",
        FieldType::EntryRef => "{seq, hash} of an earlier entry",
        FieldType::CheckpointRef => "{size, root}",
        FieldType::Body => "full corrected body",
        FieldType::DueDate => "deadline YYYY-MM-DD (may be later than today)",
        FieldType::Year => "year YYYY",
        FieldType::Score => "score text \"0\"–\"100\" (≤2 decimals)",
        FieldType::IdList => "list of distinct identifiers",
        FieldType::Items => "list of items {content, responsible, due}",
        FieldType::ItemNumbers => "list of item numbers (from 1)",
        FieldType::Count(min, max) => return format!("whole number {min}–{max}"),
        FieldType::EntryRefs => "list of distinct {seq, hash} entry references",
    };
    name.to_string()
}

/// The lifecycle rule of a kind in words (English, then Chinese), as `lianlog kinds` shows it.
pub fn lifecycle_rule(lifecycle: Lifecycle) -> &'static str {
    match lifecycle {
        Lifecycle::None => "none beyond the schema (无)",
        Lifecycle::ReportReceived => "report_id is new (线索编号不得重复)",
        Lifecycle::ReportConcluded => "the report was received and is not concluded yet (先受理后处置，只能处置一次)",
        Lifecycle::Interview => "the optional report_id exists (关联线索须存在)",
        Lifecycle::DutyReport => "one duty report per reporter and period (同一期间只能述责述廉一次)",
        Lifecycle::Decision => {
            "decision_id is new, the measure fits each subject, the optional report_id exists (决定编号不得重复，问责方式须与对象相符)"
        }
        Lifecycle::Clarification => {
            "exactly one of report_id (concluded unsubstantiated or false_accusation) and inquiry_id (concluded clarified), naming the subject (澄清正名须以查无实据、诬告陷害的线索或予以澄清的函询为依据)"
        }
        Lifecycle::RectificationOrdered => {
            "rectification_id is new; no item is due before issued_on; optional decision_id/report_id exist (整改编号不得重复)"
        }
        Lifecycle::RectificationCompleted => {
            "the rectification was ordered and is not completed; each named item exists and is completed once (先下达后完成，逐项销号)"
        }
        Lifecycle::AppealFiled => "appeal_id is new; decision_id exists (申诉须针对已作出的决定)",
        Lifecycle::AppealDecided => "the appeal was filed and is not decided yet (先申诉后复查，只能复查一次)",
        Lifecycle::Correction => {
            "target is an earlier accountability record with that hash; body is valid for its kind and keeps its identifiers (更正须针对已有记录)"
        }
        Lifecycle::AuditAttest => "checkpoint is the ledger's real root at that size (签注须针对真实检查点)",
        Lifecycle::SupervisionOrdered => {
            "order_id is new; the deadline is not before issued_on; optional report_id/decision_id/rectification_id exist (督办编号不得重复)"
        }
        Lifecycle::SupervisionProgress => {
            "the order was issued and is still open; not dated before it was issued (先督办后报告)"
        }
        Lifecycle::SupervisionClosed => {
            "the order was issued and is still open (closed once); not dated before it was issued (督办事项只能办结一次)"
        }
        Lifecycle::InquiryIssued => "inquiry_id is new; the optional report_id exists (函询编号不得重复)",
        Lifecycle::InquiryReplied => "the inquiry was issued and is neither answered nor concluded (函询只回复一次)",
        Lifecycle::InquiryConcluded => {
            "the inquiry was issued and is not concluded; accepted (采信了结) and clarified (予以澄清) need the written reply (《中国共产党纪律检查机关监督执纪工作规则》第二十八条、第二十九条)"
        }
        Lifecycle::Assessment => "one assessment per unit (org_id) and year (同一单位同一年度只考核评价一次)",
        Lifecycle::Circular => {
            "circular_id is new; every decision named exists, was not revoked and is in effect (通报须针对已生效且未撤销的问责决定)"
        }
        Lifecycle::DecisionApproval => {
            "decision is the entry of decision_id, which requires approvals, is not revoked and lists the member; one approval per member and per key, signed by the member's own key; not dated before the decision (集体研究：成员以本人密钥逐一同意，达到人数方生效)"
        }
        Lifecycle::OpinionIssued => {
            "opinion_id is new; every cited entry exists with that hash; the checkpoint is the ledger's real root at its size (廉政意见引用的记录和检查点须真实)"
        }
    }
}

/// The schema of one field type (the shared shapes by `$ref` to [`definitions`]).
fn field_schema(field_type: FieldType) -> Value {
    let reference = |name: &str| json!({"$ref": format!("#/$defs/{name}")});
    let list = |items: Value| json!({"type": "array", "items": items, "minItems": 1, "maxItems": MAX_LIST_ITEMS});
    match field_type {
        FieldType::Text => reference("text"),
        FieldType::Line => reference("line"),
        FieldType::Id => reference("identifier"),
        FieldType::Date => json!({
            "$ref": "#/$defs/date",
            "description": "not after the day the record is made (taken in UTC+14)",
        }),
        FieldType::DueDate => reference("date"),
        FieldType::Enum(values) => json!({
            "enum": values.iter().map(|(value, _)| *value).collect::<Vec<_>>(),
            "description": values.iter().map(|(value, zh)| format!("{value} {zh}")).collect::<Vec<_>>().join(", "),
        }),
        FieldType::Person => reference("person"),
        FieldType::People => {
            let mut schema = list(reference("person"));
            schema["description"] = json!("no person id twice");
            schema
        }
        FieldType::Organisation => reference("organisation"),
        FieldType::PersonOrOrganisation => reference("person_or_organisation"),
        FieldType::PeopleOrOrganisations => list(reference("person_or_organisation")),
        FieldType::Basis => list(json!({
            "type": "object",
            "properties": {"regulation": {"$ref": "#/$defs/line"}, "article": {"$ref": "#/$defs/line"}},
            "required": ["regulation", "article"],
            "additionalProperties": false,
        })),
        FieldType::Period => json!({"type": "string", "pattern": "^[0-9]{4}(-(H[12]|Q[1-4]))?$"}),
        FieldType::Sha256 => reference("sha256"),
        FieldType::TextList => list(reference("text")),
        FieldType::EntryRef => json!({
            "type": "object",
            "properties": {"seq": {"type": "integer", "minimum": 0}, "hash": {"$ref": "#/$defs/sha256"}},
            "required": ["seq", "hash"],
            "additionalProperties": false,
        }),
        FieldType::CheckpointRef => json!({
            "type": "object",
            "properties": {"size": {"type": "integer", "minimum": 0}, "root": {"$ref": "#/$defs/sha256"}},
            "required": ["size", "root"],
            "additionalProperties": false,
        }),
        FieldType::Body => json!({"type": "object", "description": "a whole body, valid for the target's kind"}),
        FieldType::Year => json!({"type": "string", "pattern": "^[0-9]{4}$"}),
        FieldType::Score => json!({
            "type": "string",
            "pattern": "^(100(\\.0{1,2})?|[1-9]?[0-9](\\.[0-9]{1,2})?)$",
        }),
        FieldType::IdList => {
            let mut schema = list(reference("identifier"));
            schema["uniqueItems"] = json!(true);
            schema
        }
        FieldType::Items => list(json!({
            "type": "object",
            "properties": {
                "content": {"$ref": "#/$defs/text"},
                "responsible": {"$ref": "#/$defs/person_or_organisation"},
                "due": {"$ref": "#/$defs/date"},
            },
            "required": ["content", "responsible", "due"],
            "additionalProperties": false,
        })),
        FieldType::ItemNumbers => {
            let mut schema = list(json!({"type": "integer", "minimum": 1, "maximum": MAX_LIST_ITEMS}));
            schema["uniqueItems"] = json!(true);
            schema
        }
        FieldType::Count(min, max) => json!({"type": "integer", "minimum": min, "maximum": max}),
        FieldType::EntryRefs => {
            let mut schema = list(field_schema(FieldType::EntryRef));
            schema["uniqueItems"] = json!(true);
            schema["description"] = json!("no seq cited twice");
            schema
        }
    }
}

/// The shapes several fields share.
fn definitions() -> Value {
    // Not white space only: at least one character that is not a space, tab or newline.
    let not_blank = "[^\\s]";
    let one_line = "^[^\\u0000-\\u001f\\u007f]*$";
    json!({
        "text": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT_CHARS, "pattern": not_blank},
        "line": {"type": "string", "minLength": 1, "maxLength": MAX_SHORT_TEXT_CHARS, "pattern": one_line},
        "identifier": {
            "type": "string", "minLength": 1, "maxLength": MAX_ID_CHARS,
            "pattern": "^[^\\s\\u0000-\\u001f\\u007f]([^\\u0000-\\u001f\\u007f]*[^\\s\\u0000-\\u001f\\u007f])?$",
        },
        "date": {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "person": {
            "type": "object",
            "properties": {
                "id": {"$ref": "#/$defs/identifier"},
                "name": {"$ref": "#/$defs/line"},
                "unit": {"$ref": "#/$defs/line"},
                "post": {"$ref": "#/$defs/line"},
            },
            "required": ["id", "name", "unit"],
            "additionalProperties": false,
        },
        "organisation": {
            "type": "object",
            "properties": {"org_id": {"$ref": "#/$defs/identifier"}, "name": {"$ref": "#/$defs/line"}},
            "required": ["org_id", "name"],
            "additionalProperties": false,
        },
        "person_or_organisation": {"oneOf": [{"$ref": "#/$defs/person"}, {"$ref": "#/$defs/organisation"}]},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_version_has_a_schema_naming_its_fields() {
        for kind in super::super::KINDS {
            for version in kind.versions {
                let schema = json_schema(kind, version);
                assert_eq!(schema["$schema"], DIALECT);
                assert_eq!(schema["properties"].as_object().unwrap().len(), version.fields.len(), "{}", kind.name);
                for field in version.fields.iter().filter(|f| f.required) {
                    assert!(schema["required"].as_array().unwrap().contains(&json!(field.name)));
                }
            }
        }
        let kinds = describe_kinds();
        let circular = kinds.as_array().unwrap().iter().find(|k| k["kind"] == "circular").unwrap();
        assert_eq!(circular["event_date"], "issued_on");
        assert_eq!(circular["versions"][0]["schema"]["properties"]["decision_ids"]["uniqueItems"], true);
    }

    #[test]
    fn the_score_pattern_and_parse_score_agree() {
        for good in ["0", "7", "78.5", "99.99", "100", "100.0", "100.00"] {
            assert!(super::super::parse_score(good).is_some(), "{good}");
        }
        for bad in ["", "100.01", "101", "07", "7.", ".5", "7.555", "-1", "1e2", "九十"] {
            assert!(super::super::parse_score(bad).is_none(), "{bad}");
        }
    }
}
