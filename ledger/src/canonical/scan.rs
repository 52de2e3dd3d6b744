//! The canonical form read without a detour: a scanner that accepts a JSON value only if its
//! bytes are exactly what [`super::encode`] writes for it, in one pass over the bytes, without
//! building a [`Value`] tree unless asked to and without encoding anything again.
//!
//! Guarantees: every value this scanner accepts is accepted by [`super::parse_canonical`] and
//! parses to the same [`Value`] (the grammar below is the image of the encoder: sorted ASCII keys
//! without duplicates, integers in ±(2^53-1) without leading zeros or `-0`, strings with exactly
//! the escapes `write_string` writes, valid UTF-8, no whitespace, at most [`super::MAX_DEPTH`]
//! levels). It may refuse (`None`) some canonical text it does not handle: object keys with an
//! escape. A refusal says nothing about why: callers then take the reference path
//! (serde_json into a `Value`, encoded again and compared), which accepts what it accepts and
//! names what is wrong. So the scanner decides only how fast a line is accepted, never whether.

use serde_json::Value;

use super::{MAX_DEPTH, MAX_SAFE_INTEGER};

/// The end (one past the last byte) of the canonical value that starts at `at`, or `None` if the
/// bytes there are not provably one. `depth` is the nesting of that value (0 at the root of what
/// [`super::encode`] is given).
pub(crate) fn value_end(bytes: &[u8], at: usize, depth: usize) -> Option<usize> {
    value::<false>(bytes, at, depth).map(|(end, _)| end)
}

/// [`value_end`], with the value built (as [`super::parse_canonical`] would build it).
pub(crate) fn value_built(bytes: &[u8], at: usize, depth: usize) -> Option<(usize, Value)> {
    value::<true>(bytes, at, depth)
}

/// One canonical value at `at`; with `BUILD`, the value too (otherwise `Value::Null`).
fn value<const BUILD: bool>(bytes: &[u8], at: usize, depth: usize) -> Option<(usize, Value)> {
    if depth > MAX_DEPTH {
        return None;
    }
    match *bytes.get(at)? {
        b'{' => object::<BUILD>(bytes, at, depth),
        b'[' => array::<BUILD>(bytes, at, depth),
        b'"' => {
            let mut text = String::new();
            let end = string::<BUILD>(bytes, at, &mut text)?;
            Some((end, if BUILD { Value::String(text) } else { Value::Null }))
        }
        b't' => literal(bytes, at, b"true", Value::Bool(true)),
        b'f' => literal(bytes, at, b"false", Value::Bool(false)),
        b'n' => literal(bytes, at, b"null", Value::Null),
        _ => {
            let (end, integer) = integer(bytes, at)?;
            Some((end, if BUILD { Value::Number(integer.into()) } else { Value::Null }))
        }
    }
}

fn literal(bytes: &[u8], at: usize, word: &[u8], value: Value) -> Option<(usize, Value)> {
    let end = at + word.len();
    (bytes.get(at..end)? == word).then_some((end, value))
}

fn object<const BUILD: bool>(bytes: &[u8], at: usize, depth: usize) -> Option<(usize, Value)> {
    let mut members = serde_json::Map::new();
    let mut at = at + 1;
    if bytes.get(at) == Some(&b'}') {
        return Some((at + 1, Value::Object(members)));
    }
    let mut previous: Option<&[u8]> = None;
    loop {
        let (key_end, key) = plain_key(bytes, at)?;
        // Strictly increasing byte order: sorted as the encoder sorts, and no key twice.
        if previous.is_some_and(|previous| key <= previous) {
            return None;
        }
        previous = Some(key);
        if bytes.get(key_end) != Some(&b':') {
            return None;
        }
        let (end, item) = value::<BUILD>(bytes, key_end + 1, depth + 1)?;
        if BUILD {
            // A plain key is ASCII: `key` is text.
            members.insert(std::str::from_utf8(key).ok()?.to_string(), item);
        }
        match bytes.get(end) {
            Some(b',') => at = end + 1,
            Some(b'}') => return Some((end + 1, Value::Object(members))),
            _ => return None,
        }
    }
}

fn array<const BUILD: bool>(bytes: &[u8], at: usize, depth: usize) -> Option<(usize, Value)> {
    let mut items = Vec::new();
    let mut at = at + 1;
    if bytes.get(at) == Some(&b']') {
        return Some((at + 1, Value::Array(items)));
    }
    loop {
        let (end, item) = value::<BUILD>(bytes, at, depth + 1)?;
        if BUILD {
            items.push(item);
        }
        match bytes.get(end) {
            Some(b',') => at = end + 1,
            Some(b']') => return Some((end + 1, Value::Array(items))),
            _ => return None,
        }
    }
}

/// An object key without escapes: `"`, then printable ASCII other than `"` and `\` (or DEL),
/// then `"`. Returns the end after the closing quote and the key's bytes. Keys with an escape are
/// canonical when the escape is, but their order is that of the unescaped text: left to the
/// reference path.
fn plain_key(bytes: &[u8], at: usize) -> Option<(usize, &[u8])> {
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    let start = at + 1;
    let length = bytes.get(start..)?.iter().position(|&b| b == b'"')?;
    let key = &bytes[start..start + length];
    key.iter().all(|&b| (0x20..=0x7F).contains(&b) && b != b'\\').then_some((start + length + 1, key))
}

/// A string in the one form `write_string` writes: escapes only for `"`, `\` and U+0000..U+001F
/// (the short forms `\b \t \n \f \r` where JSON has them, otherwise `\u00xx` in lowercase hex),
/// everything else as valid UTF-8. `bytes[at]` is the opening quote. Returns the end after the
/// closing quote; with `BUILD`, the unescaped text is appended to `out`.
pub(crate) fn string<const BUILD: bool>(bytes: &[u8], at: usize, out: &mut String) -> Option<usize> {
    let mut at = at + 1;
    let mut run = at;
    loop {
        // Every byte before the next special one is plain text, checked as UTF-8 with its run.
        at = next_special(bytes, at);
        match *bytes.get(at)? {
            b'"' => {
                append::<BUILD>(&bytes[run..at], out)?;
                return Some(at + 1);
            }
            b'\\' => {
                append::<BUILD>(&bytes[run..at], out)?;
                let (unescaped, length) = match *bytes.get(at + 1)? {
                    b'"' => ('"', 2),
                    b'\\' => ('\\', 2),
                    b'b' => ('\u{8}', 2),
                    b't' => ('\t', 2),
                    b'n' => ('\n', 2),
                    b'f' => ('\u{c}', 2),
                    b'r' => ('\r', 2),
                    b'u' => {
                        let digits = bytes.get(at + 2..at + 6)?;
                        if digits[0] != b'0' || digits[1] != b'0' {
                            return None;
                        }
                        let code = (lower_hex(digits[2])? << 4) | lower_hex(digits[3])?;
                        // Only the controls without a short form are written as `\u00xx`.
                        if code >= 0x20 || matches!(code, 0x08 | 0x09 | 0x0A | 0x0C | 0x0D) {
                            return None;
                        }
                        (char::from(code), 6)
                    }
                    _ => return None,
                };
                if BUILD {
                    out.push(unescaped);
                }
                at += length;
                run = at;
            }
            // A control character (`next_special` stops at nothing else).
            _ => return None,
        }
    }
}

/// The index of the first byte at or after `at` that ends a run of plain string text — `"`, `\`
/// or a control character (U+0000..U+001F) — or `bytes.len()` if there is none.
///
/// Why a word at a time: strings are most of a record's body (names, reasons, Chinese text three
/// bytes a character), and a byte-at-a-time loop was most of the scanner's time. The test for
/// each byte of a little-endian word is the classic "has a zero byte" one, `(v - 0x01…) & !v &
/// 0x80…`, applied to `word ^ '"'`, `word ^ '\\'` and, for "less than 0x20", `(word - 0x20…) &
/// !word & 0x80…`: a byte's high bit is set in the result only if that byte matches or a byte
/// below it borrowed, and a borrow starts only at a matching byte, so the lowest set bit is
/// always the first match.
fn next_special(bytes: &[u8], mut at: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const QUOTES: u64 = ONES * b'"' as u64;
    const BACKSLASHES: u64 = ONES * b'\\' as u64;
    const SPACES: u64 = ONES * 0x20;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        let quote = word ^ QUOTES;
        let backslash = word ^ BACKSLASHES;
        let found = ((quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (word.wrapping_sub(SPACES) & !word))
            & HIGHS;
        if found != 0 {
            return at + (found.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    let rest = bytes.get(at..).unwrap_or_default();
    at + rest.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20).unwrap_or(rest.len())
}

/// Check that `run` (bytes between escapes) is UTF-8, and keep it when building.
fn append<const BUILD: bool>(run: &[u8], out: &mut String) -> Option<()> {
    if run.is_ascii() {
        if BUILD {
            // ASCII is UTF-8.
            out.push_str(std::str::from_utf8(run).ok()?);
        }
        return Some(());
    }
    let text = std::str::from_utf8(run).ok()?;
    if BUILD {
        out.push_str(text);
    }
    Some(())
}

fn lower_hex(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
}

/// An integer as the encoder writes it: `0`, or an optional `-` and digits without a leading
/// zero, within ±(2^53-1), not followed by a fraction or an exponent. Returns its end and value.
pub(crate) fn integer(bytes: &[u8], at: usize) -> Option<(usize, i64)> {
    let negative = bytes.get(at) == Some(&b'-');
    let start = at + usize::from(negative);
    let digits = bytes.get(start..)?.iter().take_while(|b| b.is_ascii_digit()).count();
    // 2^53 - 1 has 16 digits.
    if digits == 0 || digits > 16 || (digits > 1 && bytes[start] == b'0') || (negative && bytes[start] == b'0') {
        return None;
    }
    let end = start + digits;
    if matches!(bytes.get(end), Some(b'.' | b'e' | b'E')) {
        return None;
    }
    let magnitude = bytes[start..end].iter().fold(0i64, |n, digit| n * 10 + i64::from(digit - b'0'));
    if magnitude > MAX_SAFE_INTEGER {
        return None;
    }
    Some((end, if negative { -magnitude } else { magnitude }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the reference path says of `bytes` as a whole value: its value if canonical.
    fn reference(bytes: &[u8]) -> Option<Value> {
        super::super::parse_canonical(bytes, "v").ok()
    }

    fn scanned(bytes: &[u8]) -> Option<Value> {
        let (end, value) = value_built(bytes, 0, 0)?;
        let skipped = value_end(bytes, 0, 0);
        assert_eq!(skipped, Some(end), "{}", String::from_utf8_lossy(bytes));
        (end == bytes.len()).then_some(value)
    }

    /// Accepted by the scanner ⇒ accepted by the reference path, with the same value.
    fn agrees(bytes: &[u8]) {
        if let Some(value) = scanned(bytes) {
            assert_eq!(reference(bytes), Some(value), "{}", String::from_utf8_lossy(bytes));
        }
    }

    #[test]
    fn accepts_canonical_values_and_builds_them_as_the_reference_does() {
        for text in [
            &br#"{"a":"x\"\\\n\u0001\u001f","b":1,"c":[true,null,-5,false,0],"d":{}}"#[..],
            br#"{"":1,"a":[],"b":[[{}]],"z":9007199254740991,"zz":-9007199254740991}"#,
            "{\"键值\":1}".as_bytes(),
            "{\"a\":\"张某\u{7f}\u{2028}\"}".as_bytes(),
            b"\"\\b\\t\\n\\f\\r\"",
            b"0",
        ] {
            let text = String::from_utf8_lossy(text);
            let expected = reference(text.as_bytes());
            let got = scanned(text.as_bytes());
            if text.contains("键") {
                // Non-ASCII keys have no canonical form: both refuse.
                assert_eq!((expected, got), (None, None));
            } else {
                assert!(got.is_some(), "{text}");
                assert_eq!(got, expected, "{text}");
            }
        }
    }

    #[test]
    fn refuses_what_the_encoder_never_writes() {
        for text in [
            &br#"{"b":1,"a":2}"#[..],
            br#"{"a":1,"a":1}"#,
            br#"{"a": 1}"#,
            b"\"\\u0041\"",
            b"\"\\u000a\"",
            b"\"\\u007f\"",
            b"\"\\u001F\"",
            b"\"\\/\"",
            b"[1 ]",
            b"-0",
            b"01",
            b"1.0",
            b"1e3",
            b"9007199254740992",
            b"12345678901234567",
            b"\"\x01\"",
            b"\"\xff\"",
            b"\"\xe4\xb8\"",
            b"tru",
            b"[1,]",
            b"{\"a\":1,}",
            b"{\"a\\\"\":1}",
        ] {
            assert_eq!(scanned(text), None, "{}", String::from_utf8_lossy(text));
        }
    }

    /// The word-at-a-time search stops exactly where a byte-at-a-time one would: at every
    /// position of texts longer than a word, for each special byte and for the plain bytes
    /// nearest to them (space, DEL, UTF-8 lead and continuation bytes, `!`, `]`, `[`).
    #[test]
    fn the_next_special_byte_is_found_wherever_it_lies() {
        let by_bytes = |bytes: &[u8], at: usize| {
            (at..bytes.len()).find(|&i| bytes[i] == b'"' || bytes[i] == b'\\' || bytes[i] < 0x20).unwrap_or(bytes.len())
        };
        let plain: &[u8] = b"a \x7f\xe4\xb8\xad!][\x80\xff#";
        for length in 0..28 {
            for filler in plain {
                let text = vec![*filler; length];
                for at in 0..=length {
                    assert_eq!(next_special(&text, at), by_bytes(&text, at), "{filler:#x} {length} {at}");
                }
                for special in [b'"', b'\\', 0x00, 0x01, 0x1f, b'\n'] {
                    for place in 0..length {
                        let mut text = text.clone();
                        text[place] = special;
                        // A second special later: the first must win.
                        if place + 3 < length {
                            text[place + 3] = b'"';
                        }
                        for at in 0..=length {
                            assert_eq!(
                                next_special(&text, at),
                                by_bytes(&text, at),
                                "{special:#x} {length} {place} {at}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn nesting_is_bounded_as_the_encoder_bounds_it() {
        for depth in [MAX_DEPTH, MAX_DEPTH + 1, MAX_DEPTH + 2] {
            let text = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
            assert_eq!(scanned(text.as_bytes()).is_some(), reference(text.as_bytes()).is_some(), "{depth}");
        }
        assert!(scanned(format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1)).as_bytes()).is_some());
    }

    fn has_escaped_key(value: &Value) -> bool {
        match value {
            Value::Object(members) => {
                members.iter().any(|(key, item)| key.contains(['"', '\\']) || has_escaped_key(item))
            }
            Value::Array(items) => items.iter().any(has_escaped_key),
            _ => false,
        }
    }

    proptest::proptest! {
        /// Every value's canonical bytes are scanned back to the same value.
        #[test]
        fn the_encoders_bytes_are_accepted(value in super::super::tests::arbitrary_json()) {
            let bytes = super::super::encode(&value, "v").unwrap();
            let scanned = scanned(&bytes);
            // Keys with escapes are left to the reference path; nothing else is.
            if has_escaped_key(&value) {
                proptest::prop_assert!(scanned.is_none() || scanned == Some(value));
            } else {
                proptest::prop_assert_eq!(scanned, Some(value));
            }
        }

        /// Bytes altered anywhere: whatever the scanner accepts, the reference accepts alike.
        #[test]
        fn altered_bytes_are_never_accepted_alone(
            value in super::super::tests::arbitrary_json(),
            edits in proptest::collection::vec((proptest::prelude::any::<proptest::sample::Index>(), 0u8..=255, 0u8..3), 1..4),
        ) {
            let mut bytes = super::super::encode(&value, "v").unwrap();
            for (index, byte, how) in edits {
                if bytes.is_empty() { break; }
                let at = index.index(bytes.len());
                match how {
                    0 => bytes[at] = byte,
                    1 => bytes.insert(at, byte),
                    _ => { bytes.remove(at); }
                }
            }
            agrees(&bytes);
        }

        /// Arbitrary short texts of JSON's alphabet.
        #[test]
        fn arbitrary_texts_agree(text in "[\\[\\]{}\":,0-9a-z\\\\\\-. \u{1}é]{0,24}") {
            agrees(text.as_bytes());
        }
    }
}
