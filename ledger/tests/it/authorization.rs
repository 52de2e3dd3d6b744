//! Authorization (format-v1 section 9) is enforced twice: the append path refuses a record that
//! its author may not sign, and the verifier finds such a record when it is forged straight into
//! the log — a line properly chained, signed and canonical, written to the segment file behind the
//! ledger's back, with the derived store removed so that nothing but the log is trusted.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use lianlog_ledger::canonical;
use lianlog_ledger::record::{Entry, Record, StoredBody, StoredLine, body_hash};
use lianlog_ledger::{
    Draft, EntryHash, ErrorKind, Holder, KeyName, Ledger, ParsedLine, Role, SecretKey, Timestamp, VerifyFailure,
    VerifyOptions, verify_dir,
};
use serde_json::{Value, json};

const ORIGIN: &str = "jw.example.gov.cn/accountability";

struct People {
    admin: SecretKey,
    qian: SecretKey,
    sun: SecretKey,
    auditor: SecretKey,
}

fn key(name: &str, seed: u8) -> SecretKey {
    SecretKey::from_seed(KeyName::parse(name).unwrap(), &[seed; 32])
}

fn people() -> People {
    People {
        admin: key("admin.zhao", 1),
        qian: key("officer.qian", 2),
        sun: key("officer.sun", 3),
        auditor: key("auditor.li", 4),
    }
}

fn holder(name: &str, unit: &str) -> Holder {
    Holder { name: name.into(), unit: unit.into(), title: None }
}

fn person(id: &str, name: &str, unit: &str) -> Value {
    json!({"id": id, "name": name, "unit": unit})
}

fn interview(subject: &str, reason: &str) -> Draft {
    Draft::new(
        "interview",
        json!({
            "interview_type": "reminder",
            "subjects": [person("P-1001", subject, "市住建局")],
            "interviewers": [person("P-0101", "钱干事", "第一监督检查室")],
            "held_on": "2025-03-10",
            "reason": reason,
        }),
    )
}

/// A ledger at `dir` with origin `origin`: genesis (admin), grants of qian (1) and sun (2) as
/// officers and of the auditor (3), and one interview by qian (4).
fn build(dir: &Path, origin: &str, people: &People) -> Ledger {
    let origin = KeyName::parse(origin).unwrap();
    let mut ledger = Ledger::init(dir, &origin, &people.admin, holder("赵主任", "市纪委监委")).unwrap();
    ledger
        .grant(&people.qian.public().vkey(), &[Role::Officer], &holder("钱干事", "第一监督检查室"), &people.admin)
        .unwrap();
    ledger
        .grant(&people.sun.public().vkey(), &[Role::Officer], &holder("孙干事", "第二监督检查室"), &people.admin)
        .unwrap();
    ledger
        .grant(&people.auditor.public().vkey(), &[Role::Auditor], &holder("李审计", "审计室"), &people.admin)
        .unwrap();
    ledger.append(&interview("张三", "工程项目监管中的苗头性问题，提醒谈话"), &people.qian).unwrap();
    assert_eq!(ledger.size(), 5);
    ledger
}

fn segment(dir: &Path) -> PathBuf {
    dir.join("log").join("00000000000000000000.jsonl")
}

/// The last stored line of the log, parsed.
fn last_line(dir: &Path) -> ParsedLine {
    let text = std::fs::read(segment(dir)).unwrap();
    let line = text[..text.len() - 1].rsplit(|&b| b == b'\n').next().unwrap();
    ParsedLine::parse(line).unwrap()
}

/// Write a line onto the end of the log behind the ledger's back. `make` gets the seq, prev and
/// time that continue the chain and builds the line; it is encoded exactly as the append path
/// encodes lines. Returns its seq.
fn append_forged(dir: &Path, make: impl FnOnce(u64, EntryHash, Timestamp) -> StoredLine) -> u64 {
    let last = last_line(dir);
    let seq = last.line.entry.seq + 1;
    let line = make(seq, last.entry_hash, Timestamp::now().max(last.line.entry.time));
    assert_eq!(line.entry.seq, seq);
    let bytes = line.to_line().unwrap();
    assert!(ParsedLine::parse(&bytes[..bytes.len() - 1]).is_ok(), "the forged line is a valid, canonical line");
    let mut file = std::fs::OpenOptions::new().append(true).open(segment(dir)).unwrap();
    file.write_all(&bytes).unwrap();
    file.sync_all().unwrap();
    seq
}

/// A stored line of a fresh record of `draft`, bound to `ledger_origin`, naming `author` as its
/// author and signed by `signer` (the same key for a genuine signature), at `seq` after `prev`.
fn forged_line(
    (seq, prev, time): (u64, EntryHash, Timestamp),
    ledger_origin: &str,
    draft: &Draft,
    author: &SecretKey,
    signer: &SecretKey,
) -> StoredLine {
    let salt = [0x5a; 16];
    let body_bytes = canonical::encode(&draft.body, "body").unwrap();
    let record = Record {
        v: draft.v,
        ledger: ledger_origin.to_string(),
        kind: draft.kind.clone(),
        author: author.public().identity(),
        created: time,
        body_hash: body_hash(&salt, &body_bytes),
    };
    let sig = record.sign(signer);
    StoredLine {
        entry: Entry { seq, prev, time, record, sig },
        body: StoredBody::Full { body: draft.body.clone(), salt },
    }
}

/// Forge a fresh record of `draft`, bound to `ledger_origin` and signed by `key`, as the next line.
fn forge_draft(dir: &Path, ledger_origin: &str, draft: &Draft, key: &SecretKey) -> u64 {
    append_forged(dir, |seq, prev, time| forged_line((seq, prev, time), ledger_origin, draft, key, key))
}

/// Verify the log alone (the derived store removed first): the first failure.
fn verify_log_only(dir: &Path) -> Result<u64, VerifyFailure> {
    let index = dir.join("index");
    if index.exists() {
        std::fs::remove_dir_all(index).unwrap();
    }
    verify_dir(dir, VerifyOptions::default()).unwrap().map(|report| report.entries)
}

/// The forged line is refused twice: by `Ledger::open`, which meets it behind the derived store
/// and must check it as the verifier would before applying it, and by the verifier on the log alone.
fn assert_fails_at(dir: &Path, seq: u64, fragment: &str) {
    assert_open_refuses(dir, seq, fragment);
    let failure = verify_log_only(dir).expect_err("verification must fail");
    assert_eq!(failure.seq, Some(seq), "{failure}");
    assert!(failure.reason.contains(fragment), "expected {fragment:?} in: {failure}");
}

/// `Ledger::open` refuses a ledger whose log has a line behind the derived store that fails a
/// verifier check: it names the seq, applies nothing, and the log and store stay as they were.
fn assert_open_refuses(dir: &Path, seq: u64, fragment: &str) {
    assert!(dir.join("index").exists(), "the derived store is there, behind the log");
    let log_before = std::fs::read(segment(dir)).unwrap();
    for _ in 0..2 {
        let err = Ledger::open(dir).expect_err("the ledger must not open");
        assert_eq!(err.kind(), ErrorKind::Verification, "{err}");
        assert_eq!(err.seq(), Some(seq), "{err}");
        assert!(err.message().contains(fragment), "expected {fragment:?} in: {err}");
        assert!(err.message().contains("Nothing was applied"), "{err}");
    }
    assert_eq!(std::fs::read(segment(dir)).unwrap(), log_before);
}

/// The control: a line forged exactly like the append path would write it verifies, so the
/// failures below are about authorization, not about the forging.
#[test]
fn a_forged_line_that_the_append_path_would_accept_verifies() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("ledger");
    let people = people();
    drop(build(&dir, ORIGIN, &people));
    let seq = forge_draft(&dir, ORIGIN, &interview("王五", "述责述廉中反映的问题"), &people.sun);
    assert_eq!(seq, 5);
    assert_eq!(verify_log_only(&dir), Ok(6));
    // And the ledger takes it as its own.
    let ledger = Ledger::open(&dir).unwrap();
    assert_eq!(ledger.size(), 6);
}

#[test]
fn a_revoked_key_is_refused_on_append_and_found_in_the_log() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("ledger");
    let people = people();
    let mut ledger = build(&dir, ORIGIN, &people);
    ledger.revoke(&people.sun.public().identity(), "调离纪检岗位", &people.admin).unwrap();
    let size = ledger.size();
    let before = std::fs::read(segment(&dir)).unwrap();

    let err = ledger.append(&interview("王五", "提醒谈话"), &people.sun).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    assert!(err.message().contains("was revoked at seq 5"), "{err}");
    assert_eq!(ledger.size(), size);
    drop(ledger);
    assert_eq!(std::fs::read(segment(&dir)).unwrap(), before);

    let seq = forge_draft(&dir, ORIGIN, &interview("王五", "提醒谈话"), &people.sun);
    assert_fails_at(&dir, seq, "was revoked at seq 5");
}

#[test]
fn a_key_lacking_the_role_is_refused_on_append_and_found_in_the_log() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("ledger");
    let people = people();
    let mut ledger = build(&dir, ORIGIN, &people);
    let size = ledger.size();

    let err = ledger.append(&interview("王五", "提醒谈话"), &people.auditor).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    assert!(err.message().contains("lacks the role officer"), "{err}");
    // An officer may not grant keys.
    let newcomer = key("officer.zhou", 9);
    let err = ledger.grant(&newcomer.public().vkey(), &[Role::Officer], &holder("周干事", "案件审理室"), &people.qian);
    let err = err.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    assert!(err.message().contains("lacks the role admin"), "{err}");
    assert_eq!(ledger.size(), size);
    drop(ledger);

    let seq = forge_draft(&dir, ORIGIN, &interview("王五", "提醒谈话"), &people.auditor);
    assert_fails_at(&dir, seq, "lacks the role officer");
}

#[test]
fn a_grant_by_a_non_admin_is_found_in_the_log() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("ledger");
    let people = people();
    drop(build(&dir, ORIGIN, &people));
    let newcomer = key("officer.zhou", 9);
    let grant = Draft::new(
        "key.grant",
        json!({"key": newcomer.public().vkey(), "roles": ["admin"], "holder": {"name": "周干事", "unit": "案件审理室"}}),
    );
    let seq = forge_draft(&dir, ORIGIN, &grant, &people.qian);
    assert_fails_at(&dir, seq, "lacks the role admin");
}

/// A record signed by a key that is granted only after it: the append path cannot write it at all
/// (the key is unknown when the record comes), and in a forged log it is found at the record.
#[test]
fn a_key_granted_only_after_its_record_is_refused_on_append_and_found_in_the_log() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("ledger");
    let people = people();
    let mut ledger = build(&dir, ORIGIN, &people);
    let newcomer = key("officer.zhou", 9);
    let size = ledger.size();
    let err = ledger.append(&interview("王五", "提醒谈话"), &newcomer).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    assert!(err.message().contains("was never granted in this ledger"), "{err}");
    assert_eq!(ledger.size(), size);
    drop(ledger);

    let record_seq = forge_draft(&dir, ORIGIN, &interview("王五", "提醒谈话"), &newcomer);
    let grant = Draft::new(
        "key.grant",
        json!({"key": newcomer.public().vkey(), "roles": ["officer"], "holder": {"name": "周干事", "unit": "案件审理室"}}),
    );
    let grant_seq = forge_draft(&dir, ORIGIN, &grant, &people.admin);
    assert_eq!(grant_seq, record_seq + 1);
    assert_fails_at(&dir, record_seq, "was never granted");
}

/// A genuine record of ledger B (same officer key, another origin) replayed into ledger A: its
/// signature is valid, but it is bound to B.
#[test]
fn a_record_of_another_ledger_is_found_in_the_log() {
    let temp = tempfile::tempdir().unwrap();
    let people = people();
    let dir_a = temp.path().join("a");
    let dir_b = temp.path().join("b");
    drop(build(&dir_a, ORIGIN, &people));
    let mut other = build(&dir_b, "jw.example.gov.cn/other-county", &people);
    let appended = other.append(&interview("王五", "另一台账中的提醒谈话"), &people.qian).unwrap();
    let foreign = other.read(appended.seq).unwrap();
    drop(other);
    assert_eq!(foreign.line.entry.record.ledger, "jw.example.gov.cn/other-county");

    // The append path always binds a record to its own ledger.
    let mut ledger = Ledger::open(&dir_a).unwrap();
    let own = ledger.append(&interview("王五", "本台账中的提醒谈话"), &people.qian).unwrap();
    assert_eq!(ledger.read(own.seq).unwrap().line.entry.record.ledger, ORIGIN);
    drop(ledger);

    // B's record exactly as signed (its `created` too) with B's signature and body, re-chained.
    let seq = append_forged(&dir_a, |seq, prev, time| {
        let entry = Entry { seq, prev, time, record: foreign.line.entry.record.clone(), sig: foreign.line.entry.sig };
        StoredLine { entry, body: foreign.line.body }
    });
    assert_fails_at(&dir_a, seq, "bound to ledger \"jw.example.gov.cn/other-county\"");
}

#[test]
fn a_second_grant_of_a_key_is_refused_on_append_and_found_in_the_log() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("ledger");
    let people = people();
    let mut ledger = build(&dir, ORIGIN, &people);
    let size = ledger.size();
    // qian, an officer since seq 1, granted again (now as an admin).
    let err =
        ledger.grant(&people.qian.public().vkey(), &[Role::Admin], &holder("钱干事", "第一监督检查室"), &people.admin);
    let err = err.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadInput, "{err}");
    assert!(err.message().contains("already granted"), "{err}");
    assert_eq!(ledger.size(), size);
    drop(ledger);

    let grant = Draft::new(
        "key.grant",
        json!({"key": people.qian.public().vkey(), "roles": ["admin"], "holder": {"name": "钱干事", "unit": "第一监督检查室"}}),
    );
    let seq = forge_draft(&dir, ORIGIN, &grant, &people.admin);
    assert_fails_at(&dir, seq, "already granted");
}

/// Append a copy of a genuine line's record (its record, signature, salt and body) as the next
/// entry: a replayed record.
fn append_replay(dir: &Path, original: &ParsedLine) -> u64 {
    append_forged(dir, |seq, prev, time| {
        let entry =
            Entry { seq, prev, time, record: original.line.entry.record.clone(), sig: original.line.entry.sig.clone() };
        StoredLine { entry, body: original.line.body.clone() }
    })
}

/// A replayed record: one of qian's genuine records (its record, signature, salt and body, all
/// valid) appended a second time behind the ledger's back. Format v1 alone would accept it; a
/// lianlog ledger holds each record once (docs/FORMAT.md section 7), so `verify` fails at the copy.
#[test]
fn a_replayed_record_is_found_in_the_log() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("ledger");
    let people = people();
    let ledger = build(&dir, ORIGIN, &people);
    let original = ledger.read(4).unwrap();
    drop(ledger);
    let seq = append_replay(&dir, &original);
    assert_fails_at(&dir, seq, "the record of seq 4 appears again");
}

/// The append path cannot replay: the same draft appended twice becomes two records, each with
/// its own salt and time (so its own identity), and the ledger verifies. A client that retries
/// after a crash must therefore look for its record first (cli/tests/it/crash.rs does).
#[test]
fn the_same_draft_appended_twice_is_two_records_not_a_replay() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("ledger");
    let people = people();
    let mut ledger = build(&dir, ORIGIN, &people);
    let draft = interview("王五", "同一内容的两次提醒谈话");
    let first = ledger.append(&draft, &people.qian).unwrap();
    let second = ledger.append(&draft, &people.qian).unwrap();
    let (a, b) = (ledger.read(first.seq).unwrap(), ledger.read(second.seq).unwrap());
    assert_eq!(a.line.body(), b.line.body());
    assert_ne!(a.line.entry.record.body_hash, b.line.entry.record.body_hash, "fresh salts");
    assert_ne!(a.line.entry.record.replay_id(), b.line.entry.record.replay_id());
    drop(ledger);
    assert_eq!(verify_log_only(&dir), Ok(7));
}

/// A checkpoint must carry the log key's signature. Signed by anything else — a key that merely
/// bears the origin's name, an admin's key renamed to the origin, or only a cosignature — it is
/// refused by `verify --checkpoint` (check_checkpoint) and by `check inclusion` (check_inclusion).
#[test]
fn a_checkpoint_signed_by_a_key_other_than_the_log_key_is_refused() {
    use lianlog_ledger::note::{Checkpoint, cosign, sign_checkpoint};
    use lianlog_ledger::proof::{InclusionBundle, check_inclusion};
    use lianlog_ledger::verify::check_checkpoint;

    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("ledger");
    let people = people();
    let ledger = build(&dir, ORIGIN, &people);
    let size = ledger.size();
    let log_key = ledger.log_key(&mut || Err(lianlog_ledger::Error::key("unencrypted"))).unwrap();
    let genuine = ledger.checkpoint(size, &log_key).unwrap();
    let checkpoint = Checkpoint { origin: ORIGIN.to_string(), size, root: ledger.root() };
    let options = VerifyOptions { root_sizes: vec![size], ..VerifyOptions::default() };
    let report = ledger.verify(options).unwrap().unwrap();
    let entry = ledger.read(4).unwrap();
    let bundle = |note: &str| {
        InclusionBundle {
            extra: None,
            index: 4,
            hashes: ledger.inclusion_proof(4, size).unwrap(),
            checkpoint: note.into(),
        }
        .to_text()
    };

    // The control: the genuine checkpoint is accepted both ways.
    check_checkpoint(&report, &genuine, None, &[]).unwrap();
    check_inclusion(&bundle(&genuine), &entry.entry_bytes, log_key.public(), &[]).unwrap();

    let impostor = key(ORIGIN, 77);
    let renamed_admin = people.admin.renamed(KeyName::parse(ORIGIN).unwrap());
    let cosigned_only = {
        let cosigned = cosign(&genuine, &people.auditor.as_cosigner(), 1_767_225_600).unwrap();
        // Drop the log key's line, keep the cosignature.
        let mut lines: Vec<&str> = cosigned.lines().collect();
        lines.remove(4);
        format!("{}\n", lines.join("\n"))
    };
    let forged = [
        ("a key named like the origin", sign_checkpoint(&checkpoint, &impostor).unwrap()),
        ("an admin's key renamed to the origin", sign_checkpoint(&checkpoint, &renamed_admin).unwrap()),
        ("a cosignature alone", cosigned_only),
    ];
    for (what, note) in &forged {
        assert_ne!(note, &genuine);
        let err = check_checkpoint(&report, note, None, &[]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Verification, "{what}: {err}");
        assert!(err.message().contains("no valid signature by the log key"), "{what}: {err}");
        let err = check_inclusion(&bundle(note), &entry.entry_bytes, log_key.public(), &[]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Verification, "{what}: {err}");
        assert!(err.message().contains("no valid signature by the log key"), "{what}: {err}");
    }
}

/// A record whose author field names `author` but whose signature is by `signer` (who holds no
/// key in the ledger): what someone who can write `log/` but holds no key can forge.
fn forge_in_the_name_of(dir: &Path, draft: &Draft, author: &SecretKey, signer: &SecretKey) -> u64 {
    append_forged(dir, |seq, prev, time| forged_line((seq, prev, time), ORIGIN, draft, author, signer))
}

/// Issue 12, item 1: a `key.grant` in the real admin's name with a signature that is not the
/// admin's, written behind the derived store. Before, catch-up checked the chain only, and the
/// attacker's key became an active admin. Now the ledger does not open; the registry never sees it.
#[test]
fn a_forged_grant_behind_the_store_is_refused_on_open() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("ledger");
    let people = people();
    drop(build(&dir, ORIGIN, &people));
    let attacker = key("admin.zhao", 66);
    let grant = Draft::new(
        "key.grant",
        json!({"key": attacker.public().vkey(), "roles": ["admin"], "holder": {"name": "赵主任", "unit": "市纪委监委"}}),
    );
    let seq = forge_in_the_name_of(&dir, &grant, &people.admin, &attacker);
    assert_fails_at(&dir, seq, "record signature by");
}

/// Issue 12, item 1: an interview in an officer's name, not signed by the officer, behind the store.
#[test]
fn a_forged_record_in_an_officers_name_behind_the_store_is_refused_on_open() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("ledger");
    let people = people();
    drop(build(&dir, ORIGIN, &people));
    let seq = forge_in_the_name_of(&dir, &interview("王五", "伪造的谈话记录"), &people.qian, &key("stranger", 67));
    assert_fails_at(&dir, seq, "record signature by");
}

/// Issue 12, item 1: a genuine record of an entry the store has already applied, appended again
/// behind the store. Found through the record ids the store keeps, without reading the log before.
#[test]
fn a_replayed_record_behind_the_store_is_refused_on_open() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("ledger");
    let people = people();
    let ledger = build(&dir, ORIGIN, &people);
    let original = ledger.read(4).unwrap();
    drop(ledger);
    // A genuine line first, so that the replay is not the first unseen line.
    forge_draft(&dir, ORIGIN, &interview("王五", "真实的谈话记录"), &people.sun);
    let seq = append_replay(&dir, &original);
    assert_fails_at(&dir, seq, "the record of seq 4 appears again");
}

/// Issue 12, item 1: time order and redaction links are checked on unseen lines too.
#[test]
fn an_unseen_line_out_of_time_order_or_with_a_broken_redaction_link_is_refused_on_open() {
    let temp = tempfile::tempdir().unwrap();
    let people = people();

    let dir = temp.path().join("time");
    drop(build(&dir, ORIGIN, &people));
    let last_time = last_line(&dir).line.entry.time;
    let seq = append_forged(&dir, |seq, prev, _| {
        let time = Timestamp::from_millis(last_time.as_millis() - 60_000);
        forged_line((seq, prev, time), ORIGIN, &interview("王五", "时间倒流的记录"), &people.sun, &people.sun)
    });
    assert_fails_at(&dir, seq, "earlier than the previous entry");

    // A genuine record of sun's, stored in its redacted form naming a redaction that never comes.
    let dir = temp.path().join("redaction");
    drop(build(&dir, ORIGIN, &people));
    let seq = forge_draft(&dir, ORIGIN, &interview("王五", "被删除内容的记录"), &people.sun);
    let text = std::fs::read(segment(&dir)).unwrap();
    let cut = text[..text.len() - 1].iter().rposition(|&b| b == b'\n').unwrap() + 1;
    let forged = last_line(&dir);
    let redacted = StoredLine { entry: forged.line.entry.clone(), body: StoredBody::Redacted { by: seq + 5 } };
    let mut bytes = text[..cut].to_vec();
    bytes.extend_from_slice(&redacted.to_line().unwrap());
    std::fs::write(segment(&dir), bytes).unwrap();
    let err = Ledger::open(&dir).expect_err("the ledger must not open");
    assert_eq!(err.kind(), ErrorKind::Verification, "{err}");
    assert_eq!(err.seq(), Some(seq), "{err}");
    assert!(err.message().contains(&format!("redacted by seq {}", seq + 5)), "{err}");
}

/// A line written to the log while a handle has the ledger open (past its lock) is never read by
/// that handle: it was not checked.
#[test]
fn an_open_ledger_reads_only_the_lines_it_checked() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("ledger");
    let people = people();
    let ledger = build(&dir, ORIGIN, &people);
    forge_in_the_name_of(&dir, &interview("王五", "锁外写入的记录"), &people.qian, &key("stranger", 68));
    assert_eq!(ledger.lines_from(0).unwrap().count(), 5);
    assert_eq!(ledger.raw_lines_from(2).unwrap().count(), 3);
    assert_eq!(ledger.lines_from(5).unwrap().count(), 0);
}

/// Entry 0 must be a `ledger.genesis` with a valid origin (format-v1 section 9). An export that
/// starts with a self-signed `key.grant` bound to the empty origin — a key that makes itself
/// admin and officer, then signs records — is refused at seq 0 with the reason, not verified.
#[test]
fn an_export_that_does_not_start_with_a_genesis_is_refused() {
    let temp = tempfile::tempdir().unwrap();
    let attacker = key("admin.fake", 66);
    let time = Timestamp::now();
    let make = |seq: u64, prev: EntryHash, kind: &str, body: Value| {
        let salt = [0x11; 16];
        let record = Record {
            v: 1,
            ledger: String::new(),
            kind: kind.into(),
            author: attacker.public().identity(),
            created: time,
            body_hash: body_hash(&salt, &canonical::encode(&body, "body").unwrap()),
        };
        let sig = record.sign(&attacker);
        StoredLine { entry: Entry { seq, prev, time, record, sig }, body: StoredBody::Full { body, salt } }
    };
    let grant = make(
        0,
        EntryHash::ZERO,
        "key.grant",
        json!({"key": attacker.public().vkey(), "roles": ["admin", "officer"], "holder": {"name": "赵主任", "unit": "市纪委监委"}}),
    );
    let grant_bytes = grant.to_line().unwrap();
    let grant_hash = ParsedLine::parse(&grant_bytes[..grant_bytes.len() - 1]).unwrap().entry_hash;
    let forged = make(1, grant_hash, "interview", interview("张三", "捏造的谈话记录").body);
    let file = temp.path().join("export.jsonl");
    std::fs::write(&file, [grant_bytes, forged.to_line().unwrap()].concat()).unwrap();

    let failure =
        lianlog_ledger::verify::verify_export_file(&file, VerifyOptions::default()).unwrap().expect_err("refused");
    assert_eq!((failure.seq, failure.line), (Some(0), 1), "{failure}");
    assert!(failure.reason.contains("entry 0 is a key.grant record, but it must be the ledger.genesis"), "{failure}");
    // A registry without a genesis takes nothing else either.
    let mut registry = lianlog_ledger::KeyRegistry::default();
    let err = registry.apply(3, &grant.entry.record, grant.body().unwrap()).unwrap_err();
    assert!(err.to_string().contains("before the ledger.genesis record"), "{err}");
    assert!(registry.is_empty());
}
