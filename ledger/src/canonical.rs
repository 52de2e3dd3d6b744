//! The canonical encoder: RFC 8785 (JCS) restricted as format-v1 section 2 says.
//!
//! This is the only place that turns JSON into the bytes that are hashed and signed. It guarantees:
//! object keys are ASCII and sorted (ASCII byte order equals JCS's UTF-16 order for ASCII), numbers
//! are integers in ±(2^53-1), strings escape only `"`, `\` and control characters (as JCS does),
//! and there is no whitespace. [`parse_canonical`] accepts a byte string only if it is exactly the
//! canonical encoding of the value it parses to, so duplicate keys, reordered members, spaces,
//! fractions, exponents and non-minimal escapes are all refused.

use serde_json::Value;

/// Largest integer magnitude the format allows (I-JSON's safe range).
pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// Deepest nesting of arrays and objects accepted anywhere.
pub const MAX_DEPTH: usize = 32;

/// Why a value has no canonical form, and where (a field path such as `body.subjects[0].id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalError {
    pub path: String,
    pub reason: String,
}

impl std::fmt::Display for CanonicalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

/// Canonical bytes of `value`; `root` names it in error paths (e.g. `body`).
pub fn encode(value: &Value, root: &str) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::with_capacity(256);
    encode_into(value, &mut out, root)?;
    Ok(out)
}

/// Append the canonical bytes of `value` to `out`.
pub fn encode_into(value: &Value, out: &mut Vec<u8>, root: &str) -> Result<(), CanonicalError> {
    let mut path = String::from(root);
    write_value(value, out, &mut path, 0)
}

fn write_value(value: &Value, out: &mut Vec<u8>, path: &mut String, depth: usize) -> Result<(), CanonicalError> {
    if depth > MAX_DEPTH {
        return Err(error(path, format!("nested deeper than {MAX_DEPTH} levels")));
    }
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(number) => {
            let Some(integer) = number.as_i64() else {
                return Err(error(
                    path,
                    format!("{number} is not an integer in ±(2^53-1); fractions and exponents are not allowed"),
                ));
            };
            if !(-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&integer) {
                return Err(error(path, format!("integer {integer} is outside ±(2^53-1)")));
            }
            write_integer(integer, out);
        }
        Value::String(text) => write_string(text, out),
        Value::Array(items) => {
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                let len = path.len();
                path.push_str(&format!("[{index}]"));
                write_value(item, out, path, depth + 1)?;
                path.truncate(len);
            }
            out.push(b']');
        }
        Value::Object(members) => {
            // serde_json's Map is a BTreeMap (no `preserve_order`), so iteration is sorted by
            // byte order, which for ASCII keys is JCS's UTF-16 code-unit order.
            out.push(b'{');
            for (index, (key, item)) in members.iter().enumerate() {
                if !key.is_ascii() {
                    return Err(error(path, format!("key {key:?} is not ASCII")));
                }
                if index > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                let len = path.len();
                path.push('.');
                path.push_str(key);
                write_value(item, out, path, depth + 1)?;
                path.truncate(len);
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn error(path: &str, reason: String) -> CanonicalError {
    CanonicalError { path: path.to_string(), reason }
}

fn write_integer(integer: i64, out: &mut Vec<u8>) {
    use std::io::Write;
    // Writing to a Vec cannot fail.
    let _ = write!(out, "{integer}");
}

/// JCS string form: escape `"`, `\`, and U+0000..U+001F (short forms where JSON has them,
/// otherwise `\u00xx` in lowercase hex); everything else is copied as UTF-8.
pub fn write_string(text: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let bytes = text.as_bytes();
    let mut start = 0;
    for (index, &byte) in bytes.iter().enumerate() {
        let escape: Option<&[u8]> = match byte {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            0x08 => Some(b"\\b"),
            0x09 => Some(b"\\t"),
            0x0A => Some(b"\\n"),
            0x0C => Some(b"\\f"),
            0x0D => Some(b"\\r"),
            0x00..=0x1F => None,
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..index]);
        match escape {
            Some(sequence) => out.extend_from_slice(sequence),
            None => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[(byte >> 4) as usize]);
                out.push(HEX[(byte & 0x0F) as usize]);
            }
        }
        start = index + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Parse `bytes` as JSON and accept it only if it is already in canonical form.
pub fn parse_canonical(bytes: &[u8], root: &str) -> Result<Value, CanonicalError> {
    let value = parse_json(bytes, root)?;
    let canonical = encode(&value, root)?;
    if canonical != bytes {
        let offset = canonical.iter().zip(bytes).position(|(a, b)| a != b).unwrap_or(canonical.len().min(bytes.len()));
        return Err(error(
            root,
            format!(
                "not in canonical form (RFC 8785, format-v1 section 2): first difference at byte {offset} \
                 (duplicate or unsorted keys, whitespace, or a non-minimal escape)"
            ),
        ));
    }
    Ok(value)
}

/// Parse JSON text (any form) into a value, with the error located by line and column.
pub fn parse_json(bytes: &[u8], root: &str) -> Result<Value, CanonicalError> {
    serde_json::from_slice(bytes)
        .map_err(|err| error(root, format!("invalid JSON at line {} column {}: {err}", err.line(), err.column())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_keys_and_escapes_like_jcs() {
        let value = json!({"b": 1, "a": "x\"\\\n\u{1}é中", "c": [true, null, -5]});
        let bytes = encode(&value, "v").unwrap();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "{\"a\":\"x\\\"\\\\\\n\\u0001é中\",\"b\":1,\"c\":[true,null,-5]}"
        );
    }

    #[test]
    fn refuses_fractions_large_numbers_and_non_ascii_keys() {
        assert!(encode(&json!({"a": 1.5}), "body").unwrap_err().path == "body.a");
        assert!(encode(&json!([9007199254740992i64]), "body").is_err());
        assert!(encode(&json!({"键": 1}), "body").is_err());
        assert!(parse_canonical(b"1.0", "x").is_err());
        assert!(parse_canonical(b"1e3", "x").is_err());
    }

    #[test]
    fn refuses_non_canonical_text() {
        for text in
            [&b"{\"b\":1,\"a\":2}"[..], b"{\"a\":1,\"a\":1}", b"{\"a\": 1}", b"\"\\u0041\"", b"\"\\/\"", b"[1 ]", b"-0"]
        {
            assert!(parse_canonical(text, "x").is_err(), "{}", String::from_utf8_lossy(text));
        }
        assert!(parse_canonical(b"{\"a\":[1,{\"b\":\"\\u001f\"}]}", "x").is_ok());
    }

    #[test]
    fn reports_the_field_path() {
        let err = encode(&json!({"subjects": [{"id": 0.5}]}), "body").unwrap_err();
        assert_eq!(err.path, "body.subjects[0].id");
    }

    proptest::proptest! {
        #[test]
        fn canonical_bytes_round_trip(value in arbitrary_json()) {
            let bytes = encode(&value, "v").unwrap();
            let parsed = parse_canonical(&bytes, "v").unwrap();
            proptest::prop_assert_eq!(&parsed, &value);
            // serde_json's compact writer is an independent JCS for this subset.
            proptest::prop_assert_eq!(bytes, serde_json::to_vec(&value).unwrap());
        }

        #[test]
        fn pretty_printed_objects_are_refused(value in arbitrary_json()) {
            let pretty = serde_json::to_vec_pretty(&value).unwrap();
            let canonical = encode(&value, "v").unwrap();
            proptest::prop_assert_eq!(parse_canonical(&pretty, "v").is_ok(), pretty == canonical);
        }
    }

    fn arbitrary_json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).prop_map(|n| json!(n)),
            any::<String>().prop_map(Value::String),
            "[\\u{0}-\\u{1f}\"\\\\a-z中文]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map("[ -~]{0,6}", inner, 0..6)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }
}
