//! docs/RECORDS.md documents every kind and field, and the example body of every kind in it is a
//! valid record (so the reference cannot drift from the registry).

use std::path::Path;

use lianlog_ledger::{Timestamp, schema};

/// The JSON example in the section of `kind`.
fn example(doc: &str, kind: &str) -> Option<serde_json::Value> {
    let section = doc.split(&format!("## `{kind}` — ")).nth(1)?;
    let section = section.split("\n## ").next()?;
    let block = section.split("```json\n").nth(1)?.split("\n```").next()?;
    serde_json::from_str(block).ok()
}

#[test]
fn every_kind_is_documented_with_a_valid_example() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let doc = std::fs::read_to_string(root.join("docs/RECORDS.md")).unwrap();
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
