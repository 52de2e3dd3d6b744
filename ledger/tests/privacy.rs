//! Privacy: redaction removes a body from every file while every proof still holds, survives a
//! crash at each step, and disclosure packages prove what the ledger says about one person only.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use lianlog_ledger::{Draft, Holder, KeyName, Ledger, Role, SecretKey, VerifyOptions, disclosure};
use serde_json::{Value, json};

const MARKER: &str = "举报人王小明13800138000";

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
    let holder = |name: &str| Holder { name: name.into(), unit: "市纪委监委".into(), title: None };
    let mut ledger = Ledger::init(
        &dir.path().join("ledger"),
        &KeyName::parse("test.example/privacy").unwrap(),
        &admin,
        holder("赵"),
    )
    .unwrap();
    ledger.grant(&officer.public().vkey(), &[Role::Officer], &holder("钱"), &admin).unwrap();
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
    let root_before = ledger.root_at(ledger.size()).unwrap();
    assert!(!files_containing(&fixture.ledger_dir(), MARKER.as_bytes()).is_empty());
    // Touch the projections so that sled has written pages holding derivatives of the body.
    ledger.dossier("P-1").unwrap();
    let replacement = json!({"interview_type": "reminder", "subjects": [person("P-1", "张某")], "interviewers": [person("P-9", "钱干事")],
        "held_on": "2026-01-20", "reason": "提醒谈话（已删除第三人信息）", "report_id": "R-1"});
    let redacted = ledger.redact(5, "误录举报人信息", Some(replacement), &fixture.admin).unwrap();
    assert_eq!(redacted.target, 5);
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
    assert_eq!(ledger.root_at(redacted.by).unwrap(), root_before);
    let report = ledger.verify(VerifyOptions::default()).unwrap().unwrap();
    assert_eq!(report.redactions.len(), 1);
    assert!(report.redactions[0].applied && report.redactions[0].reason == "误录举报人信息");
    // The record stays in P-1's file, with the replacement body and the redaction's who/when/why.
    let file = ledger.dossier("P-1").unwrap();
    let view = file.iter().find(|r| r.seq == 5).expect("the redacted record is still in the file");
    let note = view.redaction.as_ref().unwrap();
    assert_eq!((note.by, note.reason.as_str()), (redacted.by, "误录举报人信息"));
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

#[test]
fn disclosure_packages_hold_only_the_person_and_refuse_any_altered_byte() {
    let (_fixture, ledger) = fixture();
    let log_key = ledger.log_key(&mut || Err(lianlog_ledger::Error::key("no passphrase"))).unwrap();
    let vkey = log_key.public().clone();
    for (person, expected) in [("P-1", vec![2, 5]), ("P-2", vec![3, 7]), ("P-3", vec![4]), ("P-404", vec![])] {
        let package = disclosure::disclose(&ledger, person, &log_key).unwrap();
        let checked = disclosure::check(&package.text, &vkey, &[]).unwrap();
        assert_eq!(checked.records.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(), expected, "{person}");
        // Other people's names appear nowhere in the records section.
        let value: Value = serde_json::from_str(&package.text).unwrap();
        let records = value["records"].to_string();
        for (other, name) in [("P-1", "张某"), ("P-2", "李某"), ("P-3", "刘某")] {
            if other != person {
                assert!(!records.contains(name), "{person}'s package names {name}");
            }
        }
    }
    let package = disclosure::disclose(&ledger, "P-1", &log_key).unwrap().text;
    let bytes = package.as_bytes();
    for index in (0..bytes.len()).step_by(3) {
        let mut altered = bytes.to_vec();
        altered[index] ^= 0x01;
        let Ok(text) = String::from_utf8(altered) else { continue };
        assert!(disclosure::check(&text, &vkey, &[]).is_err(), "flipping byte {index} went unnoticed");
    }
    // A different log key refuses it too.
    let other = SecretKey::generate(KeyName::parse("test.example/privacy").unwrap()).unwrap();
    assert!(disclosure::check(&package, other.public(), &[]).is_err());
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
