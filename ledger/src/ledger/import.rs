//! Import parsing (导入): a JSON Lines file into drafts, bounded, before anything is checked
//! further or written.
//!
//! Guarantees: bounded memory and stack whatever the input (total size, record count, line
//! length, nesting); never panics; every error names the line (1-based) and the member.

use serde_json::Value;

use super::Draft;
use crate::error::{Error, Result};
use crate::limits::{MAX_BATCH, MAX_IMPORT_BYTES};

/// Parse a JSON Lines import: one object `{"kind": <string>, "body": <object>}` per line, blank
/// lines skipped. Errors name the line (1-based) and the member; the caller adds the file name
/// (`err.at(name)`). Bounded: at most [`MAX_IMPORT_BYTES`] in all, [`MAX_BATCH`] records and lines
/// of at most [`crate::limits::MAX_LINE_BYTES`]; serde_json's recursion limit (128) guards the
/// parser's stack. Never panics. Each draft is checked further when it is appended (kind name,
/// object body, canonical form and nesting depth, size, schema, authorization), where errors name
/// it as `record N`.
pub fn parse_import(bytes: &[u8]) -> Result<Vec<Draft>> {
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(Error::bad_input(format!(
            "the import is {} bytes; the limit is {MAX_IMPORT_BYTES}: split it into several imports",
            bytes.len()
        )));
    }
    let bytes = crate::canonical::without_bom(bytes);
    let text = std::str::from_utf8(bytes).map_err(|err| {
        let line = bytes[..err.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        Error::bad_input(format!("line {line}: not UTF-8 text"))
    })?;
    let mut drafts = Vec::new();
    for (index, line) in text.split('\n').enumerate() {
        let place = format!("line {}", index + 1);
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            continue;
        }
        if line.len() > crate::limits::MAX_LINE_BYTES {
            return Err(Error::bad_input(format!(
                "{place}: {} bytes; a line may hold at most {} bytes",
                line.len(),
                crate::limits::MAX_LINE_BYTES
            )));
        }
        if drafts.len() >= MAX_BATCH {
            return Err(Error::bad_input(format!("{place}: more than {MAX_BATCH} records; split the import")));
        }
        let value = crate::canonical::parse_json(line.as_bytes(), "").map_err(|err| {
            let column = err.position.map(|(_, column)| format!(" (column {column})")).unwrap_or_default();
            Error::bad_input(format!("{place}: {}{column}", err.reason))
        })?;
        let Value::Object(mut members) = value else {
            return Err(Error::bad_input(format!("{place}: expected an object {{\"kind\":…,\"body\":…}}")));
        };
        let kind = match members.remove("kind") {
            Some(Value::String(kind)) => kind,
            None if !members.contains_key("body") => {
                return Err(Error::bad_input(format!(
                    "{place}: this looks like a bare record body; each import line is one object \
                     {{\"kind\":\"interview\",\"body\":{{…}}}} (the kind, or its Chinese label, and the body). To \
                     append a single body, use `lianlog append KIND --body FILE`"
                )));
            }
            _ => {
                return Err(Error::bad_input(format!(
                    "{place}: kind: missing or not a string; each import line is {{\"kind\":\"interview\",\"body\":{{…}}}}"
                )));
            }
        };
        let body = members.remove("body").ok_or_else(|| Error::bad_input(format!("{place}: body: missing")))?;
        if let Some(extra) = members.keys().next() {
            return Err(Error::bad_input(format!(
                "{place}: {}: unknown field (only kind and body are allowed)",
                truncate_for_message(extra).escape_debug()
            )));
        }
        drafts.push(Draft::new(kind, body));
    }
    if drafts.is_empty() {
        return Err(Error::bad_input("no records to import"));
    }
    Ok(drafts)
}

/// At most 64 characters of untrusted text, for an error message.
fn truncate_for_message(text: &str) -> String {
    match text.char_indices().nth(64) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}
