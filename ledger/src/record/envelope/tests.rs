//! The one-pass line reader against the reference parser: on the conformance vectors, the fuzz
//! corpora, every single-byte edit of the vector lines, lines with unusual bodies and envelopes,
//! and random edits. Accepted by one ⇔ accepted by the other, with the same parts; refused by
//! both with the same error.

// (The module is test-only; the attribute also tells the tidy checks where tests begin.)
#[cfg(test)]
use super::*;
use crate::canonical::tests::arbitrary_json;
use crate::encoding::hex;

const VECTOR_FILES: [&str; 2] = [
    include_str!("../../../../tests/vectors/ledger.jsonl"),
    include_str!("../../../../tests/vectors/ledger-without-bodies.jsonl"),
];

fn vector_lines() -> Vec<Vec<u8>> {
    VECTOR_FILES.iter().flat_map(|file| file.lines()).map(|line| line.as_bytes().to_vec()).collect()
}

/// Every line of the committed fuzz corpora that holds stored lines.
fn corpus_lines() -> Vec<Vec<u8>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus");
    let mut lines = Vec::new();
    for target in ["stored_line", "verifier", "catch_up"] {
        let mut files: Vec<_> =
            std::fs::read_dir(root.join(target)).unwrap().map(|entry| entry.unwrap().path()).collect();
        files.sort();
        for file in files {
            let bytes = std::fs::read(&file).unwrap();
            lines.push(bytes.clone());
            lines.extend(bytes.split(|&b| b == b'\n').map(<[u8]>::to_vec));
        }
    }
    lines
}

/// The two parsers agree on `bytes`; returns whether the line was accepted.
fn agree(bytes: &[u8]) -> bool {
    let shown = || String::from_utf8_lossy(bytes).into_owned();
    let reference = ParsedLine::parse_reference(bytes);
    match (ParsedLine::parse(bytes), &reference) {
        (Ok(fast), Ok(slow)) => {
            assert_eq!(fast.line, slow.line, "{}", shown());
            assert_eq!(fast.entry_bytes, slow.entry_bytes, "{}", shown());
            assert_eq!(fast.entry_hash, slow.entry_hash, "{}", shown());
        }
        (Err(fast), Err(slow)) => assert_eq!(&fast, slow, "{}", shown()),
        (fast, slow) => panic!("parse {:?} but the reference {:?}: {}", fast.is_ok(), slow.is_ok(), shown()),
    }
    match (ParsedLine::parse_checked_before(bytes), ParsedLine::parse_checked_before_reference(bytes)) {
        (Ok(fast), Ok(slow)) => {
            assert_eq!(fast.line, slow.line, "{}", shown());
            assert_eq!(fast.entry_bytes, slow.entry_bytes, "{}", shown());
            assert_eq!(fast.entry_hash, slow.entry_hash, "{}", shown());
        }
        (Err(fast), Err(slow)) => assert_eq!(fast, slow, "{}", shown()),
        (fast, slow) => panic!("checked before {:?} but the reference {:?}: {}", fast.is_ok(), slow.is_ok(), shown()),
    }
    // Replay's stored line alone: the same line, or the same error, as checked before.
    match (ParsedLine::stored_checked_before(bytes), ParsedLine::parse_checked_before_reference(bytes)) {
        (Ok(fast), Ok(slow)) => assert_eq!(fast, slow.line, "{}", shown()),
        (Err(fast), Err(slow)) => assert_eq!(fast, slow, "{}", shown()),
        (fast, slow) => panic!("stored {:?} but the reference {:?}: {}", fast.is_ok(), slow.is_ok(), shown()),
    }
    for build in [false, true] {
        if LineView::scan(bytes, Check::Full, build).is_some() {
            assert!(reference.is_ok(), "scanned but refused by the reference: {}", shown());
        }
    }
    match (LineView::parse(bytes), &reference) {
        (Ok(view), Ok(slow)) => {
            let entry = &slow.line.entry;
            assert_eq!(view.entry, *entry, "{}", shown());
            assert_eq!(view.entry_hash, slow.entry_hash, "{}", shown());
            assert_eq!(*view.entry_bytes, *slow.entry_bytes, "{}", shown());
            assert_eq!(view.note_text(), entry.record.note_text(), "{}", shown());
            assert_eq!(view.replay_id, entry.record.replay_id(), "{}", shown());
            match (&view.body, &slow.line.body) {
                (ViewBody::Full { bytes: body_bytes, salt, .. }, StoredBody::Full { body, salt: slow_salt }) => {
                    assert_eq!(salt, slow_salt);
                    assert_eq!(**body_bytes, *canonical::encode(body, "body").unwrap(), "{}", shown());
                    assert_eq!(*view.body_value().unwrap().unwrap(), *body, "{}", shown());
                }
                (ViewBody::Redacted { by }, StoredBody::Redacted { by: slow_by }) => assert_eq!(by, slow_by),
                (ViewBody::Withheld, StoredBody::Withheld) => {}
                (fast, slow) => panic!("bodies differ: {fast:?} and {slow:?}"),
            }
            let parsed = view.into_parsed().unwrap();
            assert_eq!((parsed.line, parsed.entry_hash), (slow.line.clone(), slow.entry_hash));
        }
        (Err(fast), Err(slow)) => assert_eq!(&fast, slow, "{}", shown()),
        (fast, slow) => panic!("view {:?} but the reference {:?}: {}", fast.is_ok(), slow.is_ok(), shown()),
    }
    reference.is_ok()
}

#[test]
fn vector_and_corpus_lines_are_read_alike_and_in_one_pass() {
    let lines = vector_lines();
    for line in &lines {
        assert!(agree(line));
        // The vectors are the common case: read without the reference path.
        assert!(LineView::scan(line, Check::Full, true).is_some(), "{}", String::from_utf8_lossy(line));
    }
    let corpus = corpus_lines();
    assert!(corpus.len() > 20);
    for line in &corpus {
        agree(line);
    }
}

/// Every deletion, insertion and replacement of one byte of every vector line (with the bytes
/// that matter to JSON and to the envelope's forms).
#[test]
fn every_single_byte_edit_of_the_vectors_is_read_alike() {
    const BYTES: &[u8] = b"\"\\ 0159afAF{}[],:.-eEtTZ\x00\x1f\x7f\xc3\xe4\xff";
    let mut accepted = 0;
    for line in vector_lines() {
        for at in 0..=line.len() {
            let mut edited = line.clone();
            if at < line.len() {
                edited.remove(at);
                accepted += usize::from(agree(&edited));
            }
            for &byte in BYTES {
                let mut inserted = line.clone();
                inserted.insert(at, byte);
                accepted += usize::from(agree(&inserted));
                if at < line.len() && line[at] != byte {
                    let mut replaced = line.clone();
                    replaced[at] = byte;
                    accepted += usize::from(agree(&replaced));
                }
            }
        }
    }
    // Many edits keep a valid line (a digit of `prev`, `seq` or the signature, a letter of a
    // name: the line alone cannot tell); what matters is that both readers agree on each.
    assert!(accepted > 0);
}

/// Edits that keep the JSON valid but break one rule of the envelope or of canonical form.
#[test]
fn rule_breaking_edits_are_refused_alike() {
    let line = String::from_utf8(vector_lines()[1].clone()).unwrap();
    let edits: Vec<(&str, &str)> = vec![
        ("\"seq\":1", "\"seq\":01"),
        ("\"seq\":1", "\"seq\":-1"),
        ("\"seq\":1", "\"seq\":1.0"),
        ("\"seq\":1", "\"seq\":1e0"),
        ("\"seq\":1", "\"seq\":9007199254740992"),
        ("\"seq\":1", "\"seq\":\"1\""),
        ("\"v\":1", "\"v\":0"),
        ("\"v\":1", "\"v\":-0"),
        ("\"v\":1}", "\"v\":1,\"x\":1}"),
        ("\"kind\":\"", "\"kind\":\"X"),
        ("{\"body\":{", "{\"body\":{\"a\":1,\"a\":1,"),
        ("{\"body\":{", "{\"salt\":\"x\",\"body\":{"),
        ("2026-01-05", "2026-02-30"),
        ("2026-01-05", "0999-01-05"),
        ("2026-01-05", "9999-12-31"),
        ("T01:", "T24:"),
        (":00.000Z", ":60.000Z"),
        ("00.000Z\"}", "00.000z\"}"),
        ("\"prev\":\"", "\"prev\":\"A"),
        ("钱干事", "\\u94b1干事"),
        ("钱干事", "钱\\\"干事"),
        ("\"author\":\"", "\"author\":\"\\\""),
        ("\"author\":\"", "\"author\":\"\\u0001"),
        ("\"}", "\" }"),
    ];
    for (from, to) in edits {
        assert!(line.contains(from), "{from}");
        for edited in [line.replacen(from, to, 1), line.replace(from, to)] {
            agree(edited.as_bytes());
        }
    }
}

/// A line made from parts: an arbitrary body object, salt, author, kind, times and seq, with its
/// body hash right, so that only form decides.
fn made_line(body: Value, author: String, kind: String, created: i64, time: i64, seq: u64, how: u8) -> Vec<u8> {
    let salt = [7u8; 16];
    let body_bytes = canonical::encode(&body, "body").unwrap_or_default();
    let record = Record {
        v: 1 + seq % 3,
        ledger: "vectors.example/jw-ledger".into(),
        kind,
        author,
        created: Timestamp::from_millis(created),
        body_hash: super::super::body_hash(&salt, &body_bytes),
    };
    let sig = crate::encoding::base64(&[9u8; 68]);
    let entry = Entry { seq, prev: EntryHash([seq as u8; 32]), time: Timestamp::from_millis(time), record, sig };
    let body = match how {
        0 => StoredBody::Full { body, salt },
        1 => StoredBody::Redacted { by: seq + 1 },
        _ => StoredBody::Withheld,
    };
    let mut bytes = StoredLine { entry, body }.to_line().unwrap_or_default();
    bytes.pop();
    bytes
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

    /// Lines made from arbitrary parts (bodies with escapes and odd keys, names with quotes,
    /// years before 1000 or after 9998) are read alike; the ordinary ones in one pass.
    #[test]
    fn made_lines_are_read_alike(
        body in arbitrary_json(),
        author in "[a-z.+0-9\"\\\\\u{1}中]{0,12}",
        kind in "[a-z._\\-A]{1,10}",
        created in -62_135_596_800_000i64..=253_402_300_799_999,
        time in 0i64..=253_402_300_799_999,
        seq in 0u64..1_000_000,
        how in 0u8..3,
    ) {
        let body = if body.is_object() { body } else { serde_json::json!({"value": body}) };
        let line = made_line(body, author, kind, created, time, seq, how);
        if !line.is_empty() {
            agree(&line);
        }
    }

    /// A vector line with random bytes changed, inserted or removed.
    #[test]
    fn randomly_edited_vector_lines_are_read_alike(
        which in 0usize..17,
        edits in proptest::collection::vec(
            (proptest::prelude::any::<proptest::sample::Index>(), proptest::prelude::any::<u8>(), 0u8..3),
            1..5,
        ),
    ) {
        let lines = vector_lines();
        let mut bytes = lines[which % lines.len()].clone();
        for (index, byte, how) in edits {
            let at = index.index(bytes.len().max(1));
            match how {
                0 if at < bytes.len() => bytes[at] = byte,
                1 => bytes.insert(at.min(bytes.len()), byte),
                _ if at < bytes.len() => { bytes.remove(at); }
                _ => {}
            }
        }
        agree(&bytes);
    }

    /// The one-pass timestamp reader accepts what `Timestamp::parse` accepts in its years, with
    /// the same instant, and nothing it refuses.
    #[test]
    fn timestamps_are_read_alike(
        millis in -62_135_596_800_000i64..=253_402_300_799_999,
        edit in proptest::option::of((0usize..24, proptest::prelude::any::<u8>())),
    ) {
        let mut text = Timestamp::from_millis(millis).to_string().into_bytes();
        if let Some((at, byte)) = edit
            && at < text.len()
        {
            text[at] = byte;
        }
        let reference = std::str::from_utf8(&text).ok().and_then(Timestamp::parse);
        if let Some(fast) = timestamp(&text) {
            proptest::prop_assert_eq!(Some(fast), reference);
        } else if edit.is_none() {
            let year = Timestamp::from_millis(millis).date().year();
            proptest::prop_assert!(!(1000..=9998).contains(&year), "{}", String::from_utf8_lossy(&text));
        }
    }
}

#[test]
fn timestamps_at_the_edges_of_months_and_years() {
    for year in [1000, 1600, 1699, 1700, 1900, 1969, 1970, 2000, 2024, 2026, 2100, 9998] {
        for month in 1..=12 {
            for day in [1, 28, 29, 30, 31, 32] {
                for time in ["00:00:00.000", "23:59:59.999", "12:34:56.789"] {
                    let text = format!("{year:04}-{month:02}-{day:02}T{time}Z");
                    assert_eq!(timestamp(text.as_bytes()), Timestamp::parse(&text), "{text}");
                }
            }
        }
    }
}

#[test]
fn a_record_id_from_the_line_is_the_records_own() {
    for line in vector_lines() {
        let view = LineView::scan(&line, Check::Full, false).unwrap();
        assert_eq!(view.replay_id, view.entry.record.replay_id());
        assert_eq!(hex(&view.entry.record.body_hash).len(), 64);
    }
}

/// The CPU time (this thread's) per line of each reader over the lines of a log file:
/// `LIANLOG_PARSE_LOG=path cargo test --release -p lianlog-ledger --lib parse_cost -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement: needs LIANLOG_PARSE_LOG"]
fn parse_cost() {
    let Ok(path) = std::env::var("LIANLOG_PARSE_LOG") else { return };
    let text = std::fs::read(path).unwrap();
    let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').filter(|l| !l.is_empty()).take(50_000).collect();
    // Nanoseconds this thread has run on a CPU (the first field of its schedstat).
    let cpu = || {
        let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
        stat.split(' ').next().unwrap().parse::<f64>().unwrap() * 1e-9
    };
    let per_line = |name: &str, f: &dyn Fn(&[u8]) -> bool| {
        let begun = cpu();
        let ok = lines.iter().filter(|line| f(line)).count();
        let micros = (cpu() - begun) * 1e6 / lines.len() as f64;
        println!("{name:<40} {micros:7.2} µs/line ({ok} of {} accepted)", lines.len());
    };
    per_line("ParsedLine::parse_reference", &|l| ParsedLine::parse_reference(l).is_ok());
    per_line("ParsedLine::parse", &|l| ParsedLine::parse(l).is_ok());
    per_line("ParsedLine::parse_checked_before_reference", &|l| ParsedLine::parse_checked_before_reference(l).is_ok());
    per_line("ParsedLine::parse_checked_before", &|l| ParsedLine::parse_checked_before(l).is_ok());
    per_line("LineView::parse", &|l| LineView::parse(l).is_ok());
    per_line("LineView::scan (no body hash)", &|l| LineView::scan(l, Check::CheckedBefore, false).is_some());
}

#[test]
fn hex_digits_are_lowercase_hex_only() {
    for byte in 0..=255u8 {
        let text = [byte, b'0'];
        let expected = crate::encoding::parse_hex::<1>(std::str::from_utf8(&text).unwrap_or("zz"));
        assert_eq!(hex_digits::<1>(&text), expected, "{byte:#x}");
        assert_eq!(hex_digits::<1>(&[b'0', byte]), expected.map(|[v]| [v.rotate_left(4)]), "{byte:#x}");
    }
    assert_eq!(hex_digits::<2>(b"00abff"), None);
    assert_eq!(hex_digits::<3>(b"00abff"), Some([0x00, 0xab, 0xff]));
}
