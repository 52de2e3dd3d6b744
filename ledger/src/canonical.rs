//! The canonical encoder: RFC 8785 (JCS) restricted as format-v1 section 2 says.
//!
//! This is the only place that turns JSON into the bytes that are hashed and signed. It guarantees:
//! object keys are ASCII and sorted (ASCII byte order equals JCS's UTF-16 order for ASCII), numbers
//! are integers in ±(2^53-1), strings escape only `"`, `\` and control characters (as JCS does),
//! and there is no whitespace. [`parse_canonical`] accepts a byte string only if it is exactly the
//! canonical encoding of the value it parses to, so duplicate keys, reordered members, spaces,
//! fractions, exponents and non-minimal escapes are all refused.

use serde_json::Value;

pub(crate) mod scan;

/// Largest integer magnitude the format allows (I-JSON's safe range).
pub(crate) const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// Deepest nesting of arrays and objects accepted anywhere.
pub(crate) const MAX_DEPTH: usize = 32;

/// Why a value has no canonical form, and where (a field path such as `body.subjects[0].id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalError {
    /// Where: the field path.
    pub path: String,
    /// What is wrong.
    pub reason: String,
    /// Where in the text (1-based line and column), for errors found while parsing JSON text.
    pub position: Option<(usize, usize)>,
}

impl std::fmt::Display for CanonicalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)?;
        match self.position {
            Some((line, column)) => write!(f, " (line {line}, column {column})"),
            None => Ok(()),
        }
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
    write_value(value, out, 0).map_err(|err| err.within(root))
}

/// Writes `value`; an error's path is relative to `value` and prefixed by each caller on the
/// way out ([`CanonicalError::within`]), so that encoding builds no path unless it fails (it
/// did, for every member of every value encoded).
fn write_value(value: &Value, out: &mut Vec<u8>, depth: usize) -> Result<(), CanonicalError> {
    if depth > MAX_DEPTH {
        return Err(error(format!("nested deeper than {MAX_DEPTH} levels")));
    }
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(number) => {
            let Some(integer) = number.as_i64() else {
                return Err(error(format!(
                    "{number} is not an integer in ±(2^53-1); fractions and exponents are not allowed"
                )));
            };
            if !(-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&integer) {
                return Err(error(format!("integer {integer} is outside ±(2^53-1)")));
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
                write_value(item, out, depth + 1).map_err(|err| err.within(&format!("[{index}]")))?;
            }
            out.push(b']');
        }
        Value::Object(members) => {
            // serde_json's Map is a BTreeMap (no `preserve_order`), so iteration is sorted by
            // byte order, which for ASCII keys is JCS's UTF-16 code-unit order.
            out.push(b'{');
            for (index, (key, item)) in members.iter().enumerate() {
                if !key.is_ascii() {
                    return Err(error(format!("key {key:?} is not ASCII")));
                }
                if index > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                write_value(item, out, depth + 1).map_err(|err| err.within(&format!(".{key}")))?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

impl CanonicalError {
    /// The same error seen from the value that holds the failing one under `segment` (a root
    /// name, `.key` or `[index]`).
    fn within(mut self, segment: &str) -> CanonicalError {
        self.path.insert_str(0, segment);
        self
    }
}

fn error(reason: String) -> CanonicalError {
    CanonicalError { path: String::new(), reason, position: None }
}

/// Decimal digits of `integer`, without the formatting machinery (every seq and count of every
/// state value and every entry's seq goes through here).
pub(crate) fn write_integer(integer: i64, out: &mut Vec<u8>) {
    if integer < 0 {
        out.push(b'-');
    }
    write_u64(integer.unsigned_abs(), out);
}

/// Decimal digits of `number` (see [`write_integer`]).
pub(crate) fn write_u64(number: u64, out: &mut Vec<u8>) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = number;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// JCS string form: escape `"`, `\`, and U+0000..U+001F (short forms where JSON has them,
/// otherwise `\u00xx` in lowercase hex); everything else is copied as UTF-8.
pub(crate) fn write_string(text: &str, out: &mut Vec<u8>) {
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
        return Err(error(format!(
            "not in canonical form (RFC 8785, format-v1 section 2): first difference at byte {offset} \
             (duplicate or unsorted keys, whitespace, or a non-minimal escape)"
        ))
        .within(root));
    }
    Ok(value)
}

/// Parse JSON text (any form) into a value, with the error located by line and column.
///
/// `bytes` without a leading UTF-8 byte order mark (EF BB BF). Windows editors (Notepad, Excel's
/// "CSV UTF-8") write one; JSON (RFC 8259) forbids it, and it carries no content, so an input file
/// (a body, an import) is read without it. Stored lines never have one and are not passed here.
pub fn without_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xef\xbb\xbf".as_slice()).unwrap_or(bytes)
}

/// **Every JSON that comes from outside goes through here** (bodies from a file or standard
/// input, import lines, `--replacement` files, stored lines): it refuses an object that names a
/// member twice, with the duplicated member's field path (`body.subjects[0].id`). serde_json on
/// its own keeps the last of two equal keys, so `{"kind":"interview","kind":"key.grant"}` would
/// mean what its last half says while a reader of the first half sees something else.
pub fn parse_json(bytes: &[u8], root: &str) -> Result<Value, CanonicalError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde::de::DeserializeSeed::deserialize(
        Strict { parent: None, segment: Segment::Root(root) },
        &mut deserializer,
    )
    .and_then(|value| deserializer.end().map(|()| value));
    value.map_err(|err| {
        // serde_json's text ends with the position, which is kept apart here.
        let text = err.to_string();
        let located = format!(" at line {} column {}", err.line(), err.column());
        let message = text.strip_suffix(&located).unwrap_or(&text);
        let reason = match err.classify() {
            // Only the duplicate-key check below raises data errors: its message is complete.
            serde_json::error::Category::Data => message.to_string(),
            _ => format!("not valid JSON: {message}"),
        };
        CanonicalError { path: root.to_string(), reason, position: Some((err.line(), err.column())) }
    })
}

/// One step of a field path: the root's name, an object member, or an array index.
#[derive(Clone, Copy)]
enum Segment<'a> {
    Root(&'a str),
    Key(&'a str),
    Index(usize),
}

/// Deserializes a [`Value`] like serde_json does, but refuses duplicate object keys. Each seed
/// knows its parent, so the field path is built only when a duplicate is found.
#[derive(Clone, Copy)]
struct Strict<'a> {
    parent: Option<&'a Strict<'a>>,
    segment: Segment<'a>,
}

impl Strict<'_> {
    fn path(&self) -> String {
        let mut segments = Vec::new();
        let mut at = Some(self);
        while let Some(seed) = at {
            segments.push(seed.segment);
            at = seed.parent;
        }
        let mut path = String::new();
        for segment in segments.into_iter().rev() {
            match segment {
                Segment::Root(root) => path.push_str(root),
                Segment::Key(key) if path.is_empty() => path.push_str(key),
                Segment::Key(key) => {
                    path.push('.');
                    path.push_str(key);
                }
                Segment::Index(index) => path.push_str(&format!("[{index}]")),
            }
        }
        path
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_string()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        serde::de::DeserializeSeed::deserialize(self, deserializer)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) =
            access.next_element_seed(Strict { parent: Some(&self), segment: Segment::Index(items.len()) })?
        {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut members = serde_json::Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let seed = Strict { parent: Some(&self), segment: Segment::Key(&key) };
            if members.contains_key(&key) {
                let path = seed.path();
                return Err(serde::de::Error::custom(format!(
                    "duplicate key `{path}`: a member may appear only once in a JSON object (lianlog refuses \
                     what other readers would take as the first or the last of the two)"
                )));
            }
            let value = access.next_value_seed(seed)?;
            members.insert(key, value);
        }
        Ok(Value::Object(members))
    }
}

#[cfg(test)]
pub(crate) mod tests {
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
    fn duplicate_keys_are_refused_with_their_field_path() {
        for (text, path) in [
            (&br#"{"kind":"interview","kind":"key.grant"}"#[..], "`body.kind`"),
            (br#"{"a":{"b":[1,{"id":"P-1","name":"x","id":"P-2"}]}}"#, "`body.a.b[1].id`"),
            (br#"[{"x":1},{"x":2,"x":2}]"#, "`body[1].x`"),
            (br#"{"a":1, "b":2, "a" : 1}"#, "`body.a`"),
        ] {
            let err = parse_json(text, "body").unwrap_err();
            assert!(err.reason.starts_with(&format!("duplicate key {path}")), "{err}");
            assert_eq!(err.position.map(|(line, _)| line), Some(1), "{err}");
        }
        // Without a root name the path starts at the member.
        let err = parse_json(br#"{"kind":"a","body":{},"kind":"b"}"#, "").unwrap_err();
        assert!(err.reason.starts_with("duplicate key `kind`"), "{err}");
        // The canonical parser refuses them too, whatever the order of the two.
        assert!(parse_canonical(br#"{"a":1,"a":1}"#, "x").unwrap_err().reason.contains("duplicate key `x.a`"));
        // Equal keys in different objects are not duplicates; trailing bytes are still refused.
        assert_eq!(parse_json(br#"{"a":{"a":1},"b":[{"a":2}]}"#, "x").unwrap(), json!({"a":{"a":1},"b":[{"a":2}]}));
        assert!(parse_json(b"{} {}", "x").is_err());
        let err = parse_json(b"{\n\"a\":", "x").unwrap_err();
        assert_eq!((err.reason.as_str(), err.position), ("not valid JSON: EOF while parsing a value", Some((2, 4))));
    }

    #[test]
    fn reports_the_field_path() {
        // The path is built only on the way out of a failure: each level adds its segment.
        for (value, path) in [
            (json!({"subjects": [{"id": 0.5}]}), "body.subjects[0].id"),
            (json!([1, [2, {"a": {"b": 1e3}}]]), "body[1][1].a.b"),
            (json!({"a": [{"b": {"名": 1}}]}), "body.a[0].b"),
            (json!({"n": -(1i64 << 53)}), "body.n"),
            (json!(0.5), "body"),
        ] {
            assert_eq!(encode(&value, "body").unwrap_err().path, path, "{value}");
        }
        assert_eq!(parse_canonical(br#"{"b":1,"a":2}"#, "line").unwrap_err().path, "line");
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

        /// The strict parser reads what serde_json reads, numbers and escapes included.
        #[test]
        fn strict_parsing_agrees_with_serde_json(value in arbitrary_json()) {
            let pretty = serde_json::to_vec_pretty(&value).unwrap();
            proptest::prop_assert_eq!(parse_json(&pretty, "v").unwrap(), value);
        }

        #[test]
        fn pretty_printed_objects_are_refused(value in arbitrary_json()) {
            let pretty = serde_json::to_vec_pretty(&value).unwrap();
            let canonical = encode(&value, "v").unwrap();
            proptest::prop_assert_eq!(parse_canonical(&pretty, "v").is_ok(), pretty == canonical);
        }
    }

    pub(crate) fn arbitrary_json() -> impl proptest::strategy::Strategy<Value = Value> {
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
