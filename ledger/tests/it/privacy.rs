//! Privacy: redaction removes a body from every file while every proof still holds, survives a
//! crash at each step, and leaves its replacement where a body-less export withholds it;
//! disclosure packages hold everything that concerns one person — other people masked — and
//! nothing that identifies anyone else.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use lianlog_ledger::disclosure::PackageCheckpoint;
use lianlog_ledger::ledger::Replacement;
use lianlog_ledger::{Draft, ErrorKind, Holder, KeyName, Ledger, Role, SecretKey, VerifyOptions, disclosure};
use serde_json::{Value, json};

const MARKER: &str = "举报人王小明13800138000";
/// The key holders' unit: personal data of the commission's staff (key registry).
const HOLDER_UNIT: &str = "市纪委监委第九纪检室";

struct Fixture {
    dir: tempfile::TempDir,
    admin: SecretKey,
    officer: SecretKey,
}

impl Fixture {
    fn ledger_dir(&self) -> PathBuf {
        self.dir.path().join("ledger")
    }
}

fn person(id: &str, name: &str) -> Value {
    json!({"id": id, "name": name, "unit": "市住建局"})
}

/// A ledger where seq 5 (an interview about P-1) carries MARKER in its text.
fn fixture() -> (Fixture, Ledger) {
    let dir = tempfile::tempdir().unwrap();
    let admin = SecretKey::generate(KeyName::parse("admin").unwrap()).unwrap();
    let officer = SecretKey::generate(KeyName::parse("officer").unwrap()).unwrap();
    let holder = |name: &str| Holder { name: name.into(), unit: HOLDER_UNIT.into(), title: None };
    let mut ledger = Ledger::init(
        &dir.path().join("ledger"),
        &KeyName::parse("test.example/privacy").unwrap(),
        &admin,
        holder("赵管理员"),
    )
    .unwrap();
    ledger.grant(&officer.public().vkey(), &[Role::Officer], &holder("钱审核员"), &admin).unwrap();
    let received = |id: &str, subject: Value| {
        Draft::new(
            "report.received",
            json!({"report_id": id, "subjects": [subject], "source": "petition", "summary": "反映问题", "received_on": "2026-01-10"}),
        )
    };
    ledger.append(&received("R-1", person("P-1", "张某")), &officer).unwrap(); // 2
    ledger.append(&received("R-2", person("P-2", "李某")), &officer).unwrap(); // 3
    ledger.append(&received("R-3", person("P-3", "刘某")), &officer).unwrap(); // 4
    let interview = Draft::new(
        "interview",
        json!({"interview_type": "reminder", "subjects": [person("P-1", "张某")], "interviewers": [person("P-9", "钱干事")],
               "held_on": "2026-01-20", "reason": format!("据{MARKER}反映，提醒谈话"), "report_id": "R-1"}),
    );
    let seq = ledger.append(&interview, &officer).unwrap().seq;
    assert_eq!(seq, 5);
    ledger.append(&Draft::new("report.concluded", json!({"report_id": "R-2", "finding": "false_accusation", "disposition": "诬告", "concluded_on": "2026-02-01"})), &officer).unwrap();
    ledger.append(&Draft::new("clarification", json!({"subject": person("P-2", "李某"), "report_id": "R-2", "scope": "本单位", "held_on": "2026-02-10", "statement": "予以澄清正名"})), &officer).unwrap();
    (Fixture { dir, admin, officer }, ledger)
}

/// Every file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else if std::fs::read(&path).unwrap().windows(needle.len()).any(|w| w == needle) {
            found.push(path);
        }
    }
    found
}

fn marker_encodings() -> Vec<Vec<u8>> {
    let escaped: String =
        MARKER.chars().map(|c| if c.is_ascii() { c.to_string() } else { format!("\\u{:04x}", c as u32) }).collect();
    vec![MARKER.as_bytes().to_vec(), escaped.into_bytes(), "王小明".as_bytes().to_vec()]
}

#[test]
fn redaction_removes_the_body_from_every_file_and_keeps_every_proof() {
    let (fixture, mut ledger) = fixture();
    let size_before = ledger.size();
    let root_before = ledger.root_at(size_before).unwrap();
    assert!(!files_containing(&fixture.ledger_dir(), MARKER.as_bytes()).is_empty());
    // Touch the projections so that sled has written pages holding derivatives of the body.
    ledger.dossier("P-1").unwrap();
    let replacement = json!({"interview_type": "reminder", "subjects": [person("P-1", "张某")], "interviewers": [person("P-9", "钱干事")],
        "held_on": "2026-01-20", "reason": "提醒谈话（已删除第三人信息）", "report_id": "R-1"});
    // The replacement is a correction, which an officer signs: the admin alone cannot.
    let refused = ledger
        .redact(
            5,
            "误录举报人信息",
            Some(Replacement { body: replacement.clone(), officer: &fixture.admin }),
            &fixture.admin,
        )
        .unwrap_err();
    assert!(refused.message().contains("officer"), "{refused}");
    let redacted = ledger
        .redact(5, "误录举报人信息", Some(Replacement { body: replacement, officer: &fixture.officer }), &fixture.admin)
        .unwrap();
    assert_eq!((redacted.target, redacted.replacement, redacted.by), (5, Some(8), 9));
    drop(ledger);

    for encoding in marker_encodings() {
        assert_eq!(
            files_containing(&fixture.ledger_dir(), &encoding),
            Vec::<PathBuf>::new(),
            "{}",
            String::from_utf8_lossy(&encoding)
        );
    }
    let ledger = Ledger::open(&fixture.ledger_dir()).unwrap();
    // Nothing that was hashed changed: the old root is still the root at the old size.
    assert_eq!(ledger.root_at(size_before).unwrap(), root_before);
    let report = ledger.verify(VerifyOptions::default()).unwrap().unwrap();
    assert_eq!(report.redactions.len(), 1);
    assert!(report.redactions[0].applied && report.redactions[0].reason == "误录举报人信息");
    // The record stays in P-1's file, with the replacement body and the redaction's who/when/why.
    let file = ledger.dossier("P-1").unwrap();
    let view = file.iter().find(|r| r.seq == 5).expect("the redacted record is still in the file");
    let note = view.redaction.as_ref().unwrap();
    assert_eq!((note.by, note.reason.as_str(), note.has_replacement), (redacted.by, "误录举报人信息", true));
    assert!(view.body.as_ref().unwrap()["reason"].as_str().unwrap().contains("已删除"));
    ledger.replay().unwrap();
    // The ledger's own kinds cannot be redacted, nor a record twice.
    drop(ledger);
    let mut ledger = Ledger::open(&fixture.ledger_dir()).unwrap();
    assert!(ledger.redact(1, "x", None, &fixture.admin).unwrap_err().message().contains("never redacted"));
    assert!(ledger.redact(5, "x", None, &fixture.admin).unwrap_err().message().contains("already redacted"));
    assert!(ledger.redact(4, "x", None, &fixture.officer).is_err());
}

/// The states a crash can leave a redaction in, built from the files before and after a complete
/// redaction (the steps are: intent, ledger.redact entry, segment rewrite, store rebuild, intent
/// removed). Each must open, verify, and end with the body gone (or, before the entry, untouched).
#[test]
fn a_redaction_interrupted_at_any_step_is_finished_on_open() {
    let (fixture, ledger) = fixture();
    let size = ledger.size();
    drop(ledger);
    let before = snapshot(&fixture.ledger_dir());
    let mut ledger = Ledger::open(&fixture.ledger_dir()).unwrap();
    ledger.redact(5, "误录举报人信息", None, &fixture.admin).unwrap();
    drop(ledger);
    let after = snapshot(&fixture.ledger_dir());
    let segment = "log/00000000000000000000.jsonl";
    let before_log = before.iter().find(|(p, _)| p == segment).unwrap().1.clone();
    let after_log = after.iter().find(|(p, _)| p == segment).unwrap().1.clone();
    let intent = format!("{{\"by\":{size},\"target\":5}}\n").into_bytes();
    // The after-log with line 5 still holding its body: the entry written, the rewrite not done.
    let unrewritten: Vec<u8> = {
        let old: Vec<&[u8]> = before_log.split_inclusive(|b| *b == b'\n').collect();
        let mut new: Vec<&[u8]> = after_log.split_inclusive(|b| *b == b'\n').collect();
        new[5] = old[5];
        new.concat()
    };
    let states: Vec<(&str, Files, bool)> = vec![
        ("intent written, nothing else", with(&before, &[("redact.intent", intent.clone())]), false),
        (
            "entry appended, line not rewritten",
            with(&before, &[(segment, unrewritten.clone()), ("redact.intent", intent.clone())]),
            true,
        ),
        (
            "line rewritten, store stale",
            with(&before, &[(segment, after_log.clone()), ("redact.intent", intent.clone())]),
            true,
        ),
        ("store rebuilt, intent left", with(&after, &[("redact.intent", intent.clone())]), true),
    ];
    for (name, files, body_gone) in states {
        let dir = tempfile::tempdir().unwrap();
        restore(dir.path(), &files);
        let ledger = Ledger::open(dir.path()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let report = ledger.verify(VerifyOptions::default()).unwrap().unwrap_or_else(|f| panic!("{name}: {f}"));
        assert_eq!(report.redactions.len(), usize::from(body_gone), "{name}");
        drop(ledger);
        assert!(!dir.path().join("redact.intent").exists(), "{name}: intent left behind");
        assert_eq!(files_containing(dir.path(), MARKER.as_bytes()).is_empty(), body_gone, "{name}");
        Ledger::open(dir.path()).unwrap().replay().unwrap();
    }
}

/// Relative paths and contents of the files of a ledger directory.
type Files = Vec<(String, Vec<u8>)>;

fn snapshot(dir: &Path) -> Files {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else if !path.ends_with("lock") {
            out.push((path.strip_prefix(dir).unwrap().to_string_lossy().into_owned(), std::fs::read(&path).unwrap()));
        }
    }
    out
}

fn with(base: &[(String, Vec<u8>)], changes: &[(&str, Vec<u8>)]) -> Files {
    let mut files: Vec<(String, Vec<u8>)> =
        base.iter().filter(|(p, _)| !changes.iter().any(|(c, _)| c == p)).cloned().collect();
    files.extend(changes.iter().map(|(p, b)| (p.to_string(), b.clone())));
    files
}

fn restore(dir: &Path, files: &[(String, Vec<u8>)]) {
    use std::os::unix::fs::PermissionsExt as _;
    for (path, bytes) in files {
        let target = dir.join(path);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(&target, bytes).unwrap();
        if path.ends_with(".pem") {
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    }
}

/// A body-less export holds no record body of any kind: since replacements moved out of the
/// `ledger.redact` body into a correction, the replacement is withheld like any body, while the
/// queries still use it and the export still verifies.
#[test]
fn a_body_less_export_withholds_the_replacement_and_still_verifies() {
    let (fixture, mut ledger) = fixture();
    let replacement = json!({"interview_type": "reminder", "subjects": [person("P-1", "张某")], "interviewers": [person("P-9", "钱干事")],
        "held_on": "2026-01-20", "reason": "替代内容：提醒谈话", "report_id": "R-1"});
    ledger
        .redact(5, "误录举报人信息", Some(Replacement { body: replacement, officer: &fixture.officer }), &fixture.admin)
        .unwrap();
    let view = ledger.dossier("P-1").unwrap().into_iter().find(|r| r.seq == 5).expect("still in P-1's file");
    assert_eq!(view.body.as_ref().unwrap()["reason"], "替代内容：提醒谈话");
    let mut export = Vec::new();
    let exported = lianlog_ledger::export_dir(&fixture.ledger_dir(), &mut export, true).unwrap();
    let text = String::from_utf8(export.clone()).unwrap();
    for leaked in ["替代内容", "张某", "李某", "刘某", "钱干事", "P-1", "反映问题", MARKER] {
        assert!(!text.contains(leaked), "the body-less export holds {leaked:?}");
    }
    // 2 to 7 and the correction at 8 are written withheld (5, redacted, too).
    assert_eq!((exported.entries, exported.withheld, exported.replacements_kept.len()), (10, 7, 0));
    // What format v1 keeps in every export: the key registry's holders (docs/PRIVACY.md).
    assert!(text.contains("赵管理员") && text.contains(HOLDER_UNIT));
    let path = fixture.dir.path().join("audit.jsonl");
    std::fs::write(&path, &export).unwrap();
    let options = VerifyOptions { allow_withheld: true, ..VerifyOptions::default() };
    let report = lianlog_ledger::verify::verify_export_file(&path, options).unwrap().unwrap();
    assert_eq!((report.entries, report.withheld, report.redactions.len()), (10, 7, 1));
}

/// A hand-made version 1 package (all bodies and key lines whole, no signature), as lianlog
/// wrote them before: still checked.
fn v1_package(ledger: &Ledger, person: &str, seqs: &[u64], log_key: &SecretKey) -> String {
    let size = ledger.size();
    let item = |seq: u64| {
        let line: Value = serde_json::from_slice(&ledger.raw_line(seq).unwrap()).unwrap();
        let proof: Vec<String> =
            ledger.inclusion_proof(seq, size).unwrap().iter().map(|h| lianlog_ledger::encoding::hex(h)).collect();
        json!({"line": line, "proof": proof})
    };
    let keys: Vec<Value> = (0..size)
        .filter(|seq| *seq == 0 || ledger.read(*seq).unwrap().line.entry.record.kind.starts_with("key."))
        .map(item)
        .collect();
    let package = json!({
        "checkpoint": ledger.checkpoint(size, log_key).unwrap(), "format": "lianlog-disclosure/v1", "keys": keys,
        "origin": ledger.origin(), "person": person, "records": seqs.iter().map(|s| item(*s)).collect::<Vec<_>>(),
    });
    format!("{}\n", String::from_utf8(lianlog_ledger::canonical::encode(&package, "package").unwrap()).unwrap())
}

#[test]
fn disclosure_packages_hold_what_concerns_the_person_and_nobody_else() {
    let (fixture, mut ledger) = fixture();
    let log_key = ledger.log_key(&mut || Err(lianlog_ledger::Error::key("no passphrase"))).unwrap();
    let vkey = log_key.public().clone();
    // A joint report about P-1 and P-5, and its conclusion (which names nobody: the case does).
    let joint = Draft::new(
        "report.received",
        json!({"report_id": "R-4", "subjects": [person("P-1", "张某"), person("P-5", "陈某")], "source": "petition",
               "summary": "反映张某与陈某共同违规", "received_on": "2026-01-12"}),
    );
    ledger.append(&joint, &fixture.officer).unwrap(); // 8
    let concluded = json!({"report_id": "R-4", "finding": "partly_substantiated", "disposition": "陈某另案处理", "concluded_on": "2026-02-03"});
    ledger.append(&Draft::new("report.concluded", concluded), &fixture.officer).unwrap(); // 9
    // A key granted and revoked for a reason that is nobody's business but the commission's.
    let other = SecretKey::generate(KeyName::parse("officer.other").unwrap()).unwrap();
    let holder = Holder { name: "孙离任".into(), unit: HOLDER_UNIT.into(), title: None };
    ledger.grant(&other.public().vkey(), &[Role::Officer], &holder, &fixture.admin).unwrap(); // 10
    ledger.revoke(&other.public().identity(), "因病调离岗位", &fixture.admin).unwrap(); // 11
    // The interview at 5 is redacted with a replacement (a correction at 12, the redaction at
    // 13); R-3's report at 4 without one (14).
    let replacement = json!({"interview_type": "reminder", "subjects": [person("P-1", "张某")], "interviewers": [person("P-9", "钱干事")],
        "held_on": "2026-01-20", "reason": "提醒谈话（已删除第三人信息）", "report_id": "R-1"});
    ledger
        .redact(5, "误录举报人信息", Some(Replacement { body: replacement, officer: &fixture.officer }), &fixture.admin)
        .unwrap();
    ledger.redact(4, "误录", None, &fixture.admin).unwrap();
    use disclosure::Shown::{Full, Masked, Redacted};
    let expected: Vec<(&str, Vec<(u64, disclosure::Shown)>)> = vec![
        // P-1: their report; the redacted interview with its replacement and redaction; the joint
        // report and its conclusion, masked.
        ("P-1", vec![(2, Full), (5, Redacted), (8, Masked), (9, Masked), (12, Full), (13, Full)]),
        // P-2: the false accusation's conclusion (seq 6, linked through R-2) clears them.
        ("P-2", vec![(3, Full), (6, Full), (7, Full)]),
        // P-9 interviewed P-1: the interview concerns them, but it is about P-1.
        ("P-9", vec![(5, Redacted), (12, Masked), (13, Masked)]),
        ("P-5", vec![(8, Masked), (9, Masked)]),
    ];
    for (person, records) in expected {
        let package =
            disclosure::disclose(&ledger, person, PackageCheckpoint::Sign(&log_key), &fixture.officer).unwrap();
        let checked = disclosure::check(&package.text, &vkey, &[]).unwrap_or_else(|e| panic!("{person}: {e}"));
        assert_eq!(checked.shown.into_iter().collect::<Vec<_>>(), records, "{person}");
        // The redaction without a replacement (of seq 4) is said to be withheld.
        assert_eq!(checked.withheld, vec![(4, disclosure::WITHHELD_REDACTED.to_string())], "{person}");
        assert_eq!(checked.signer.as_deref(), Some(fixture.officer.public().identity().as_str()));
        // Nobody else's identity, no key holder, no revocation reason, no joint free text.
        let others = [("P-1", "张某"), ("P-2", "李某"), ("P-3", "刘某"), ("P-5", "陈某")];
        for (id, name) in others.iter().filter(|(id, _)| *id != person) {
            for leaked in [*name, &format!("\"{id}\"")] {
                assert!(!package.text.contains(leaked), "{person}'s package holds {leaked}");
            }
        }
        for leaked in ["赵管理员", "钱审核员", "孙离任", HOLDER_UNIT, "因病调离岗位", "共同违规", "另案处理", MARKER]
        {
            assert!(!package.text.contains(leaked), "{person}'s package holds {leaked}");
        }
    }
    // P-1 sees their own data in the masked joint report.
    let package =
        disclosure::disclose(&ledger, "P-1", PackageCheckpoint::Sign(&log_key), &fixture.officer).unwrap().text;
    assert!(package.contains("\"received_on\":\"2026-01-12\"") && package.contains(disclosure::MASK));

    // An unknown person is an error, and so is a person whose only record was redacted without
    // a replacement (the ledger no longer knows whom it named).
    for person in ["P-404", "P-3"] {
        let err =
            disclosure::disclose(&ledger, person, PackageCheckpoint::Sign(&log_key), &fixture.officer).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BadInput, "{err}");
        assert!(err.message().contains("lianlog query --person"), "{err}");
    }
    // Only an officer or admin of the ledger, not revoked, may sign a package.
    for signer in [&other, &log_key] {
        let err = disclosure::disclose(&ledger, "P-1", PackageCheckpoint::Sign(&log_key), signer).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    }

    // Every altered byte is refused, including the masked bodies that no hash covers.
    let bytes = package.as_bytes();
    for index in (0..bytes.len()).step_by(3) {
        let mut altered = bytes.to_vec();
        altered[index] ^= 0x01;
        let Ok(text) = String::from_utf8(altered) else { continue };
        assert!(disclosure::check(&text, &vkey, &[]).is_err(), "flipping byte {index} went unnoticed");
    }
    // A different log key refuses it too.
    let impostor = SecretKey::generate(KeyName::parse("test.example/privacy").unwrap()).unwrap();
    assert!(disclosure::check(&package, impostor.public(), &[]).is_err());
    // A package that shows someone else in full is refused even when correctly signed: the
    // signer cannot sign a leak into a valid package. (Unmask the joint report by hand.)
    let mut value: Value = serde_json::from_str(&package).unwrap();
    let item = value["records"].as_array_mut().unwrap().iter_mut().find(|i| i["line"]["entry"]["seq"] == 9).unwrap();
    let line = ledger.raw_line(9).unwrap();
    item["line"] = serde_json::from_slice(&line).unwrap();
    item.as_object_mut().unwrap().remove("masked");
    value.as_object_mut().unwrap().remove("signature");
    let unsigned = lianlog_ledger::canonical::encode(&value, "package").unwrap();
    let signature = fixture.officer.signature_value(&[b"lianlog-disclosure/v2\n".as_slice(), &unsigned].concat());
    value["signature"] = json!(signature);
    let leaked =
        format!("{}\n", String::from_utf8(lianlog_ledger::canonical::encode(&value, "package").unwrap()).unwrap());
    let err = disclosure::check(&leaked, &vkey, &[]).unwrap_err();
    assert!(err.message().contains("also about someone else"), "{err}");

    // Version 1 packages are still checked, and still refuse a record that names someone else.
    let v1 = v1_package(&ledger, "P-2", &[3, 7], &log_key);
    let checked = disclosure::check(&v1, &vkey, &[]).unwrap();
    assert_eq!((checked.format.as_str(), checked.records.len(), checked.signer), ("lianlog-disclosure/v1", 2, None));
    let v1 = v1_package(&ledger, "P-2", &[2, 3], &log_key);
    assert!(disclosure::check(&v1, &vkey, &[]).unwrap_err().message().contains("does not name P-2"));
}

/// Item 5 of issue 12: copies a redaction must not leave behind. A torn tail saved beside the log
/// after a crash (`log/torn-*.bin`) that holds the body — torn inside it, or after it — is
/// rewritten with the body replaced by a marker (the file still shows what the unacknowledged
/// write held); and a segment that is a symbolic link is refused, naming it, before anything is
/// written, so that a rewrite never leaves the body in the link's target.
#[test]
fn redaction_leaves_no_copy_in_saved_torn_tails_and_symlinked_segments_are_refused() {
    let (first, ledger) = fixture();
    let dir = first.ledger_dir();
    let segment = dir.join("log").join("00000000000000000000.jsonl");
    drop(ledger);
    let line5 = std::fs::read(&segment).unwrap().split(|&b| b == b'\n').nth(5).unwrap().to_vec();
    let marker_at = line5.windows(MARKER.len()).position(|w| w == MARKER.as_bytes()).unwrap();
    let entry_at = line5.windows(9).position(|w| w == b",\"entry\":").unwrap();
    // Two crashes, each leaving a copy of seq 5's stored line torn: inside the body, after it.
    for cut in [marker_at + MARKER.len() + 3, entry_at + 20] {
        let mut bytes = std::fs::read(&segment).unwrap();
        bytes.extend_from_slice(&line5[..cut]);
        std::fs::write(&segment, bytes).unwrap();
        let ledger = Ledger::open(&dir).unwrap();
        assert!(ledger.notes().iter().any(|n| n.contains("torn-")), "{:?}", ledger.notes());
    }
    let torn: Vec<PathBuf> = std::fs::read_dir(dir.join("log"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("torn-"))
        .collect();
    assert_eq!(torn.len(), 2, "{torn:?}");
    assert_eq!(files_containing(&dir, MARKER.as_bytes()).len(), 3, "the segment and both torn files hold it");

    let mut ledger = Ledger::open(&dir).unwrap();
    let redacted = ledger.redact(5, "误录举报人信息", None, &first.admin).unwrap();
    drop(ledger);
    for encoding in marker_encodings() {
        assert_eq!(files_containing(&dir, &encoding), Vec::<PathBuf>::new(), "{}", String::from_utf8_lossy(&encoding));
    }
    for path in &torn {
        let text = String::from_utf8(std::fs::read(path).unwrap()).unwrap();
        assert!(text.contains(&format!("[redacted by seq {}]", redacted.by)), "{}: {text}", path.display());
        assert!(text.starts_with("{\"body\":"), "the torn file still shows what the write held: {text}");
    }
    assert_eq!(
        std::fs::metadata(&torn[0]).unwrap().permissions().mode() & 0o777,
        0o600,
        "a rewritten torn file stays private"
    );

    // A segment replaced by a symbolic link to a copy outside the ledger directory.
    let (second, ledger) = fixture();
    let dir = second.ledger_dir();
    drop(ledger);
    let segment = dir.join("log").join("00000000000000000000.jsonl");
    let outside = second.dir.path().join("elsewhere.jsonl");
    std::fs::rename(&segment, &outside).unwrap();
    std::os::unix::fs::symlink(&outside, &segment).unwrap();
    let before = std::fs::read(&outside).unwrap();
    let err = Ledger::open(&dir).unwrap_err();
    assert!(err.message().contains("symbolic link") && err.message().contains("00000000000000000000.jsonl"), "{err}");
    assert_eq!(std::fs::read(&outside).unwrap(), before);
    assert!(std::fs::symlink_metadata(&segment).unwrap().file_type().is_symlink(), "nothing was changed");
}
