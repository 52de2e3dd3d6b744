//! Limits on hostile or mistaken input: each bound is enforced with a precise error (what, where,
//! the limit), never a crash, an unbounded allocation or a stack overflow.

use lianlog_ledger::limits::{
    MAX_BODY_BYTES, MAX_EXTRA_BYTES, MAX_LINE_BYTES, MAX_LIST_ITEMS, MAX_PROOF_BYTES, MAX_SHORT_TEXT_CHARS,
};
use lianlog_ledger::parse_import;
use lianlog_ledger::proof::{InclusionBundle, parse_consistency_text};
use lianlog_ledger::{Draft, ErrorKind, Holder, KeyName, Ledger, Role, SecretKey, VerifyOptions};
use serde_json::{Value, json};

fn ledger() -> (tempfile::TempDir, Ledger, SecretKey, SecretKey) {
    let temp = tempfile::tempdir().unwrap();
    let admin = SecretKey::from_seed(KeyName::parse("admin.zhao").unwrap(), &[1; 32]);
    let officer = SecretKey::from_seed(KeyName::parse("officer.qian").unwrap(), &[2; 32]);
    let holder = Holder { name: "赵主任".into(), unit: "市纪委监委".into(), title: None };
    let origin = KeyName::parse("jw.example.gov.cn/accountability").unwrap();
    let mut ledger = Ledger::init(&temp.path().join("ledger"), &origin, &admin, holder.clone()).unwrap();
    ledger.grant(&officer.public().vkey(), &[Role::Officer], &holder, &admin).unwrap();
    (temp, ledger, admin, officer)
}

fn interview(subjects: Vec<Value>, reason: &str) -> Draft {
    Draft::new(
        "interview",
        json!({
            "interview_type": "reminder",
            "subjects": subjects,
            "interviewers": [{"id": "P-0101", "name": "钱干事", "unit": "第一监督检查室"}],
            "held_on": "2025-03-10",
            "reason": reason,
        }),
    )
}

fn subject(n: usize) -> Value {
    json!({"id": format!("P-{n:04}"), "name": "张某", "unit": "市住建局"})
}

#[test]
fn an_import_line_over_the_line_limit_is_refused_by_line_number() {
    let mut text = String::from("{\"kind\":\"interview\",\"body\":{}}\n");
    text.push_str(&format!("{{\"kind\":\"interview\",\"body\":{{\"reason\":\"{}\"}}}}\n", "x".repeat(MAX_LINE_BYTES)));
    let err = parse_import(text.as_bytes()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadInput);
    assert!(err.message().starts_with("line 2: ") && err.message().contains("at most"), "{err}");
}

#[test]
fn deep_json_is_refused_without_exhausting_the_stack() {
    // Far deeper than serde_json's recursion limit (128): a parse error, not a stack overflow.
    let deep = format!("{{\"kind\":\"interview\",\"body\":{}{}}}\n", "[".repeat(100_000), "]".repeat(100_000));
    let err = parse_import(deep.as_bytes()).unwrap_err();
    assert!(err.message().contains("line 1: not valid JSON") && err.message().contains("recursion"), "{err}");
    // Within serde_json's limit but deeper than the canonical form allows (32): refused on append.
    let nested = format!("{{\"kind\":\"interview\",\"body\":{{\"reason\":{}1{}}}}}\n", "[".repeat(40), "]".repeat(40));
    let drafts = parse_import(nested.as_bytes()).unwrap();
    let (_temp, mut ledger, _, officer) = ledger();
    let err = ledger.append_batch(&drafts, &officer).unwrap_err();
    assert!(err.message().contains("nested deeper than 32 levels"), "{err}");
}

#[test]
fn bodies_lists_and_key_texts_are_bounded_on_append() {
    let (_temp, mut ledger, admin, officer) = ledger();
    let size = ledger.size();
    let big = "长".repeat(MAX_BODY_BYTES / 3 + 10);
    let err = ledger.append(&interview(vec![subject(1)], &big), &officer).unwrap_err();
    assert!(err.message().contains("bytes; the limit is"), "{err}");
    let many: Vec<Value> = (0..=MAX_LIST_ITEMS).map(subject).collect();
    let err = ledger.append(&interview(many, "提醒谈话"), &officer).unwrap_err();
    assert!(err.message().contains("body.subjects") && err.message().contains("the limit is"), "{err}");
    let newcomer = SecretKey::from_seed(KeyName::parse("officer.sun").unwrap(), &[3; 32]);
    let long = Holder { name: "孙".repeat(MAX_SHORT_TEXT_CHARS + 1), unit: "案件审理室".into(), title: None };
    let err = ledger.grant(&newcomer.public().vkey(), &[Role::Officer], &long, &admin).unwrap_err();
    assert!(err.message().contains("body.holder.name") && err.message().contains("the limit is"), "{err}");
    assert_eq!(ledger.size(), size, "nothing was appended");
}

#[test]
fn proofs_are_bounded() {
    let huge_extra = format!(
        "c2sp.org/tlog-proof@v1\nextra {}\nindex 0\n\ncheckpoint\n",
        lianlog_ledger::encoding::base64(&vec![0u8; MAX_EXTRA_BYTES + 3])
    );
    let err = InclusionBundle::parse(&huge_extra).unwrap_err();
    assert!(err.message().contains("extra data is longer"), "{err}");
    let huge = "\n".repeat(MAX_PROOF_BYTES + 1);
    assert!(InclusionBundle::parse(&huge).unwrap_err().message().contains("the limit is"));
    assert!(parse_consistency_text(&huge).unwrap_err().message().contains("the limit is"));
    let many = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n".repeat(67);
    assert!(parse_consistency_text(&many).unwrap_err().message().contains("more than 66 hashes"));
}

#[test]
fn an_export_without_newlines_is_refused_in_bounded_memory() {
    let temp = tempfile::tempdir().unwrap();
    let file = temp.path().join("export.jsonl");
    std::fs::write(&file, vec![b'{'; MAX_LINE_BYTES * 3]).unwrap();
    let failure = lianlog_ledger::verify::verify_export_file(&file, VerifyOptions::default()).unwrap().unwrap_err();
    assert_eq!(failure.line, 1);
    assert!(failure.reason.contains("longer than"), "{failure}");
}

/// A JSON object that names a member twice is refused wherever JSON comes in, with the member's
/// field path: serde_json alone keeps the last, so `{"kind":"interview",…,"kind":"key.grant"}`
/// would be read as whichever half a reader happened to look at.
#[test]
fn duplicate_json_keys_are_refused_with_their_field_path() {
    let import = concat!(
        "{\"kind\":\"interview\",\"body\":{}}\n",
        "{\"kind\":\"interview\",\"body\":{},\"kind\":\"key.grant\"}\n",
    );
    let err = parse_import(import.as_bytes()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadInput);
    assert!(err.message().starts_with("line 2: duplicate key `kind`"), "{err}");
    let nested = "{\"kind\":\"interview\",\"body\":{\"subjects\":[{\"id\":\"P-1\",\"id\":\"P-2\"}]}}\n";
    let err = parse_import(nested.as_bytes()).unwrap_err();
    assert!(err.message().starts_with("line 1: duplicate key `body.subjects[0].id`"), "{err}");

    // Stored lines: the verifier and every reader of the log refuse a line with a member twice
    // (here the record's kind, the most dangerous one), whichever of the two comes first.
    let (temp, ledger, _, _) = ledger();
    let line = ledger.read(1).unwrap().line.to_line().unwrap();
    let line = String::from_utf8(line[..line.len() - 1].to_vec()).unwrap();
    assert!(lianlog_ledger::ParsedLine::parse(line.as_bytes()).is_ok());
    for doubled in [
        line.replacen("\"kind\":\"key.grant\"", "\"kind\":\"key.grant\",\"kind\":\"key.grant\"", 1),
        line.replacen("\"kind\":\"key.grant\"", "\"kind\":\"interview\",\"kind\":\"key.grant\"", 1),
        line.replacen("\"seq\":1", "\"seq\":1,\"seq\":1", 1),
    ] {
        assert_ne!(doubled, line);
        let err = lianlog_ledger::ParsedLine::parse(doubled.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("duplicate key `line.entry."), "{err}");
        let file = temp.path().join("export.jsonl");
        let genesis = ledger.read(0).unwrap().line.to_line().unwrap();
        std::fs::write(&file, [genesis, format!("{doubled}\n").into_bytes()].concat()).unwrap();
        let failure = lianlog_ledger::verify::verify_export_file(&file, VerifyOptions::default()).unwrap().unwrap_err();
        assert_eq!(failure.seq, Some(1), "{failure}");
        assert!(failure.reason.contains("duplicate key"), "{failure}");
    }
}

/// Invisible bidirectional controls (U+202E …) are refused in names and identifiers of a new
/// record — people, organisations, case ids, key holders — with the field path; free text keeps
/// them (the CLI shows them escaped).
#[test]
fn bidi_controls_are_refused_in_names_and_identifiers() {
    let (temp, mut ledger, admin, officer) = ledger();
    let size = ledger.size();
    let newcomer = SecretKey::from_seed(KeyName::parse("officer.sun").unwrap(), &[3; 32]);
    for (holder, path) in [
        (Holder { name: "孙\u{202E}干事".into(), unit: "案件审理室".into(), title: None }, "body.holder.name"),
        (Holder { name: "孙干事".into(), unit: "案件\u{2066}审理室".into(), title: None }, "body.holder.unit"),
        (
            Holder { name: "孙干事".into(), unit: "案件审理室".into(), title: Some("\u{200F}主任".into()) },
            "body.holder.title",
        ),
    ] {
        let err = ledger.grant(&newcomer.public().vkey(), &[Role::Officer], &holder, &admin).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BadInput, "{err}");
        assert!(err.message().contains(path) && err.message().contains("bidirectional control"), "{err}");
    }
    let err = ledger.append(
        &interview(vec![json!({"id": "P-1001\u{202E}", "name": "张某", "unit": "市住建局"})], "提醒"),
        &officer,
    );
    let err = err.unwrap_err();
    assert!(err.message().contains("body.subjects[0].id") && err.message().contains("U+202E"), "{err}");
    assert_eq!(ledger.size(), size, "nothing was appended");
    ledger.append(&interview(vec![subject(1)], "提醒\u{202E}谈话"), &officer).unwrap();
    // A new ledger's first admin too.
    let bad = Holder { name: "赵\u{202D}主任".into(), unit: "市纪委监委".into(), title: None };
    let origin = KeyName::parse("jw.example.gov.cn/other").unwrap();
    let err = Ledger::init(&temp.path().join("other"), &origin, &admin, bad).unwrap_err();
    assert!(err.message().contains("body.holder.name"), "{err}");
}
