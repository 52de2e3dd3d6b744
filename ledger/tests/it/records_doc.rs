//! docs/RECORDS.md documents every kind and field, and the example body of every kind in it is a
//! valid record (so the reference cannot drift from the registry). The field tables and the
//! summary table are checked against what `lianlog kinds --json` prints (`schema::describe_kinds`),
//! and every example is valid against the JSON Schema generated for its kind.

use std::path::Path;

use lianlog_ledger::{Timestamp, schema};
use serde_json::Value;

/// The JSON example in the section of `kind`.
fn example(doc: &str, kind: &str) -> Option<serde_json::Value> {
    let section = doc.split(&format!("## `{kind}` — ")).nth(1)?;
    let section = section.split("\n## ").next()?;
    let block = section.split("```json\n").nth(1)?.split("\n```").next()?;
    serde_json::from_str(block).ok()
}

fn records_md() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::read_to_string(root.join("docs/RECORDS.md")).unwrap()
}

#[test]
fn every_kind_is_documented_with_a_valid_example() {
    let doc = records_md();
    let now = Timestamp::now();
    for spec in schema::KINDS {
        assert!(doc.contains(&format!("`{}`", spec.name)), "docs/RECORDS.md does not mention {}", spec.name);
        if spec.versions.is_empty() {
            continue;
        }
        assert!(doc.contains(&format!("## `{}` — {}", spec.name, spec.label_zh)), "no section for {}", spec.name);
        for field in spec.versions.last().unwrap().fields {
            assert!(
                doc.contains(&format!("| `{}` | {} |", field.name, field.label_zh)),
                "{}.{} undocumented",
                spec.name,
                field.name
            );
        }
        let body = example(&doc, spec.name).unwrap_or_else(|| panic!("no JSON example for {}", spec.name));
        schema::validate(spec.name, spec.current_version(), &body, now)
            .unwrap_or_else(|e| panic!("{}: {e}", spec.name));
    }
}

/// The section of each kind holds exactly the field table `lianlog kinds --json` describes for its
/// current version (name, label, type, required), and the summary table its labels, current
/// version and event-date field.
#[test]
fn the_tables_match_lianlog_kinds() {
    let doc = records_md();
    for kind in schema::describe_kinds().as_array().unwrap() {
        let name = kind["kind"].as_str().unwrap();
        let Some(version) = kind["versions"].as_array().unwrap().last() else { continue };
        let event = match kind["event_date"].as_str() {
            Some(field) => format!("`{field}`"),
            None => "entry day".to_string(),
        };
        let row = format!(
            "| `{name}` | {} | {} | {} | {event} |",
            kind["label_zh"].as_str().unwrap(),
            kind["label_en"].as_str().unwrap(),
            version["v"]
        );
        assert!(doc.contains(&row), "the summary table lacks {row}");
        let section = doc.split(&format!("## `{name}` — ")).nth(1).unwrap().split("\n## ").next().unwrap();
        // The field table is the first table of the section (others may follow, e.g. the
        // influence periods under the decision).
        let documented: Vec<&str> = section
            .lines()
            .skip_while(|line| !line.starts_with("| field |"))
            .take_while(|line| line.starts_with('|'))
            .filter(|line| line.starts_with("| `"))
            .collect();
        let expected: Vec<String> = version["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|field| {
                format!(
                    "| `{}` | {} | {} | {} |",
                    field["name"].as_str().unwrap(),
                    field["label_zh"].as_str().unwrap(),
                    field["type"].as_str().unwrap(),
                    if field["required"] == true { "yes" } else { "no" }
                )
            })
            .collect();
        assert_eq!(documented, expected, "the field table of {name} is not what `lianlog kinds` says");
    }
}

/// Every example of docs/RECORDS.md and every demo body is valid against the JSON Schema
/// generated for its kind's current version, and bodies the ledger refuses for their shape are
/// refused by the schema too.
#[test]
fn examples_are_valid_against_the_generated_json_schemas() {
    let doc = records_md();
    let schema_of = |kind: &str| {
        let spec = schema::KINDS.iter().find(|k| k.name == kind).unwrap();
        schema::json_schema(spec, spec.versions.last().unwrap())
    };
    for spec in schema::record_kinds() {
        let body = example(&doc, spec.name).unwrap();
        let schema = schema_of(spec.name);
        assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
        if let Err(err) = check(&schema, &schema, &body, "body") {
            panic!("the {} example is not valid against its JSON Schema: {err}", spec.name);
        }
        for (bad, why) in [
            (with(&body, "unexpected", Value::Bool(true)), "an unknown field"),
            (without_first_required(&schema, &body), "a missing field"),
        ] {
            assert!(check(&schema, &schema, &bad, "body").is_err(), "{}: {why} passes the schema", spec.name);
        }
    }
    let story = lianlog_workload::demo_story().into_iter().map(|(_, kind, body)| (kind, body));
    let kinds_story = lianlog_workload::demo_story_kinds().into_iter().map(|(_, kind, body, _)| (kind, body));
    for (kind, body) in story.chain(kinds_story) {
        let schema = schema_of(kind);
        check(&schema, &schema, &body, "body").unwrap_or_else(|err| panic!("demo {kind}: {err}"));
    }
}

fn with(body: &Value, key: &str, value: Value) -> Value {
    let mut body = body.clone();
    body[key] = value;
    body
}

fn without_first_required(schema: &Value, body: &Value) -> Value {
    let mut body = body.clone();
    let first = schema["required"][0].as_str().unwrap();
    body.as_object_mut().unwrap().remove(first);
    body
}

/// A small validator for the keywords the generated schemas use (type, enum, properties,
/// required, additionalProperties, items, min/maxItems, uniqueItems, min/maxLength, minimum,
/// maximum, $ref, oneOf); `pattern` and `format` are left to the ledger's own validation, which
/// `every_kind_is_documented_with_a_valid_example` runs.
fn check(root: &Value, schema: &Value, value: &Value, path: &str) -> Result<(), String> {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.strip_prefix("#/$defs/").ok_or(format!("{path}: unknown $ref {reference}"))?;
        check(root, &root["$defs"][name], value, path)?;
    }
    if let Some(options) = schema["oneOf"].as_array() {
        let passing = options.iter().filter(|option| check(root, option, value, path).is_ok()).count();
        if passing != 1 {
            return Err(format!("{path}: {passing} of oneOf match"));
        }
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        return Err(format!("{path}: {value} is not in the enum"));
    }
    let fits = match schema["type"].as_str() {
        None => true,
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_u64() || value.is_i64(),
        Some(other) => return Err(format!("{path}: the validator does not know type {other}")),
    };
    if !fits {
        return Err(format!("{path}: {value} is not of type {}", schema["type"]));
    }
    let limit = |key: &str| schema[key].as_u64();
    if let Some(text) = value.as_str() {
        let length = text.chars().count() as u64;
        if limit("minLength").is_some_and(|min| length < min) || limit("maxLength").is_some_and(|max| length > max) {
            return Err(format!("{path}: length {length} is out of bounds"));
        }
    }
    if let Some(number) = value.as_u64()
        && (limit("minimum").is_some_and(|min| number < min) || limit("maximum").is_some_and(|max| number > max))
    {
        return Err(format!("{path}: {number} is out of bounds"));
    }
    if let Some(items) = value.as_array() {
        let count = items.len() as u64;
        if limit("minItems").is_some_and(|min| count < min) || limit("maxItems").is_some_and(|max| count > max) {
            return Err(format!("{path}: {count} items is out of bounds"));
        }
        if schema["uniqueItems"] == true && items.iter().enumerate().any(|(i, item)| items[..i].contains(item)) {
            return Err(format!("{path}: items repeat"));
        }
        for (index, item) in items.iter().enumerate() {
            if !schema["items"].is_null() {
                check(root, &schema["items"], item, &format!("{path}[{index}]"))?;
            }
        }
    }
    if let Some(members) = value.as_object() {
        for required in schema["required"].as_array().into_iter().flatten() {
            if !members.contains_key(required.as_str().unwrap_or_default()) {
                return Err(format!("{path}.{required}: missing"));
            }
        }
        for (key, member) in members {
            match schema["properties"].get(key) {
                Some(property) => check(root, property, member, &format!("{path}.{key}"))?,
                None if schema["additionalProperties"] == false => return Err(format!("{path}.{key}: not allowed")),
                None => {}
            }
        }
    }
    Ok(())
}

/// The bodies docs/OFFICERS.md writes (`cat > FILE <<'JSON'` … `lianlog append KIND … < FILE`)
/// are valid records of their kind.
#[test]
fn officers_md_examples_are_valid_bodies() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let doc = std::fs::read_to_string(root.join("docs/OFFICERS.md")).unwrap();
    let now = Timestamp::now();
    let mut checked = 0;
    for block in doc.split("<<'JSON'\n").skip(1) {
        let (body, rest) = block.split_once("\nJSON\n").expect("a JSON heredoc ends with JSON");
        let append = rest.lines().next().unwrap_or_default();
        let kind = append.strip_prefix("lianlog append ").and_then(|r| r.split_whitespace().next());
        let kind = kind.unwrap_or_else(|| panic!("the heredoc is not followed by `lianlog append KIND`: {append}"));
        let body: Value = serde_json::from_str(body).unwrap_or_else(|err| panic!("{kind}: {err}"));
        schema::validate(kind, schema::current_version(kind), &body, now).unwrap_or_else(|e| panic!("{kind}: {e}"));
        checked += 1;
    }
    assert!(checked >= 4, "{checked} examples");
}
