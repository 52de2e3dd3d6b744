//! Client-signed appends (`Submission`, `Ledger::stage_submissions`) and receipts: a record signed
//! on the author's machine is held to every check a record the ledger signs is held to (the same
//! code), plus its signature, the clock-skew window and replay; a refused batch writes nothing;
//! a receipt checks offline against the log key, and an altered one does not.

use std::path::Path;

use crate::common::{holder, interview, key};
use lianlog_ledger::receipt::Receipt;
use lianlog_ledger::{
    Draft, ErrorKind, KeyName, Ledger, Role, SecretKey, Submission, SubmitOptions, Timestamp, VerifyOptions, verify_dir,
};
use serde_json::json;

const ORIGIN: &str = "jw.example.gov.cn/accountability";

struct Fixture {
    _temp: tempfile::TempDir,
    ledger: Ledger,
    admin: SecretKey,
    officer: SecretKey,
    auditor: SecretKey,
}

fn fixture() -> Fixture {
    let temp = tempfile::tempdir().unwrap();
    let admin = key("admin.zhao", 1);
    let officer = key("officer.qian", 2);
    let auditor = key("auditor.li", 3);
    let origin = KeyName::parse(ORIGIN).unwrap();
    let mut ledger = Ledger::init(&temp.path().join("ledger"), &origin, &admin, holder()).unwrap();
    ledger.grant(&officer.public().vkey(), &[Role::Officer], &holder(), &admin).unwrap();
    ledger.grant(&auditor.public().vkey(), &[Role::Auditor], &holder(), &admin).unwrap();
    Fixture { _temp: temp, ledger, admin, officer, auditor }
}

fn sign(draft: &Draft, key: &SecretKey) -> Submission {
    Submission::sign(ORIGIN, draft, key, Timestamp::now()).unwrap()
}

impl Fixture {
    fn submit(&mut self, submissions: &[Submission]) -> lianlog_ledger::Result<Vec<lianlog_ledger::Appended>> {
        let staged = self.ledger.stage_submissions(submissions, &SubmitOptions::default())?;
        self.ledger.commit(staged)
    }

    /// Submit, expect a refusal of `kind` whose message contains `says`, and check nothing was
    /// written.
    fn refused(&mut self, submissions: &[Submission], kind: ErrorKind, says: &str) {
        let (size, head) = (self.ledger.size(), self.ledger.head());
        let log = log_bytes(self.ledger.dir());
        let err = self.submit(submissions).expect_err(&format!("should be refused: {says}"));
        assert_eq!(err.kind(), kind, "{err}");
        assert!(err.message().contains(says), "expected {says:?} in: {err}");
        assert_eq!((self.ledger.size(), self.ledger.head()), (size, head), "the ledger changed after a refusal");
        assert_eq!(log_bytes(self.ledger.dir()), log, "a refused submission wrote to the log");
    }
}

fn log_bytes(dir: &Path) -> Vec<u8> {
    let mut segments: Vec<_> = std::fs::read_dir(dir.join("log")).unwrap().map(|e| e.unwrap().path()).collect();
    segments.sort();
    segments.iter().flat_map(|path| std::fs::read(path).unwrap()).collect()
}

#[test]
fn a_submission_is_appended_as_signed_and_the_ledger_verifies() {
    let mut f = fixture();
    let submission = sign(&interview(1), &f.officer);
    // Through the wire form and back, as a server receives it.
    let wire = Submission::batch_to_json(std::slice::from_ref(&submission));
    let parsed = Submission::parse_batch(&wire).unwrap();
    assert_eq!(parsed, vec![submission.clone()]);

    let appended = f.submit(&parsed).unwrap();
    assert_eq!(appended.len(), 1);
    let line = f.ledger.read(appended[0].seq).unwrap();
    assert_eq!(line.line.entry.record, submission.record, "the ledger must store the record its author signed");
    assert_eq!(line.line.entry.sig, submission.sig);
    assert_eq!(line.line.body(), Some(&submission.body));
    let dir = f.ledger.dir().to_path_buf();
    drop(f.ledger);
    assert!(verify_dir(&dir, VerifyOptions::default()).unwrap().is_ok());
}

#[test]
fn a_bad_signature_an_unknown_revoked_or_wrong_role_key_is_refused() {
    let mut f = fixture();
    // Signed by the officer, but the signature altered.
    let mut forged = sign(&interview(1), &f.officer);
    let other = sign(&interview(2), &f.officer);
    forged.sig = other.sig.clone();
    f.refused(&[forged], ErrorKind::Unauthorized, "sig: the Ed25519 signature does not verify");

    // The body changed after signing: the body hash no longer matches.
    let mut altered = sign(&interview(1), &f.officer);
    altered.body["reason"] = json!("改过的理由");
    f.refused(&[altered], ErrorKind::BadInput, "record.body_hash: does not match");

    // A key the ledger never granted.
    let stranger = key("officer.wu", 9);
    f.refused(&[sign(&interview(1), &stranger)], ErrorKind::Unauthorized, "was never granted");

    // An auditor may not write an interview.
    f.refused(&[sign(&interview(1), &f.auditor)], ErrorKind::Unauthorized, "lacks the role officer");

    // Another ledger's record.
    let elsewhere = Submission::sign("jw.other.gov.cn/ledger", &interview(1), &f.officer, Timestamp::now()).unwrap();
    f.refused(&[elsewhere], ErrorKind::Unauthorized, "not to this ledger");

    // Signed before the key was revoked, submitted after.
    let early = sign(&interview(1), &f.officer);
    f.ledger.revoke(&f.officer.public().identity(), "调离纪检岗位", &f.admin).unwrap();
    f.refused(&[early], ErrorKind::Unauthorized, "was revoked at seq");
}

#[test]
fn schema_kind_policy_and_lifecycle_rules_are_those_of_append() {
    let mut f = fixture();
    let mut missing = interview(1);
    missing.body.as_object_mut().unwrap().remove("reason");
    f.refused(&[sign(&missing, &f.officer)], ErrorKind::BadInput, "interview v");

    // The ledger's own kinds cannot be submitted, whoever signs them.
    let redact = Draft { kind: "ledger.redact".into(), v: 1, body: json!({"target": 1}) };
    let err = Submission::sign(ORIGIN, &redact, &f.admin, Timestamp::now()).unwrap_err();
    assert!(err.message().contains("written by `lianlog redact` only"), "{err}");

    // Lifecycle: a report concluded that was never received.
    let concluded = Draft::new(
        "report.concluded",
        json!({"report_id": "R-9", "finding": "substantiated", "disposition": "处置", "concluded_on": "2026-02-01"}),
    );
    f.refused(&[sign(&concluded, &f.officer)], ErrorKind::BadInput, "concluded after it is received");
}

#[test]
fn a_replayed_record_is_refused_whether_in_the_ledger_or_twice_in_a_batch() {
    let mut f = fixture();
    let submission = sign(&interview(1), &f.officer);
    let seq = f.submit(std::slice::from_ref(&submission)).unwrap()[0].seq;
    f.refused(std::slice::from_ref(&submission), ErrorKind::BadInput, &format!("already in the ledger at seq {seq}"));
    // Named at its place in a batch: the second record repeats an earlier one.
    let fresh = sign(&interview(2), &f.officer);
    f.refused(&[fresh.clone(), submission.clone()], ErrorKind::BadInput, "record 2: this record is already in");
    f.refused(&[fresh.clone(), fresh.clone()], ErrorKind::BadInput, "record 2: this record is record 1 of the batch");
    // Reopened (the store read from disk), the replay is still found.
    let dir = f.ledger.dir().to_path_buf();
    let Fixture { ledger, .. } = f;
    drop(ledger);
    let ledger = Ledger::open(&dir).unwrap();
    let err = ledger.stage_submissions(&[submission], &SubmitOptions::default()).unwrap_err();
    assert!(err.message().contains(&format!("already in the ledger at seq {seq}")), "{err}");
}

#[test]
fn created_must_lie_within_the_clock_skew_window() {
    let mut f = fixture();
    let now = Timestamp::now().as_millis();
    let at = |offset_ms: i64| {
        Submission::sign(
            ORIGIN,
            &interview(offset_ms.unsigned_abs() as usize),
            &f.officer,
            Timestamp::from_millis(now + offset_ms),
        )
        .unwrap()
    };
    let (late, early, near) = (at(-10 * 60 * 1000), at(10 * 60 * 1000), at(-60 * 1000));
    f.refused(std::slice::from_ref(&late), ErrorKind::BadInput, "behind the ledger's time");
    f.refused(&[early], ErrorKind::BadInput, "ahead of the ledger's time");
    f.submit(&[near]).unwrap();
    // A wider window (up to the limit) admits the late record; beyond the limit is refused.
    let wide = SubmitOptions { max_clock_skew_ms: 15 * 60 * 1000 };
    let staged = f.ledger.stage_submissions(std::slice::from_ref(&late), &wide).unwrap();
    f.ledger.commit(staged).unwrap();
    let err =
        f.ledger.stage_submissions(&[late], &SubmitOptions { max_clock_skew_ms: 2 * 60 * 60 * 1000 }).unwrap_err();
    assert!(err.message().contains("above the limit"), "{err}");
}

#[test]
fn a_batch_is_all_or_nothing_and_names_its_first_failing_record() {
    let mut f = fixture();
    let good: Vec<Submission> = (0..3).map(|n| sign(&interview(n), &f.officer)).collect();
    let bad = sign(&interview(9), &f.auditor);
    let mut batch = good.clone();
    batch.insert(2, bad);
    f.refused(&batch, ErrorKind::Unauthorized, "record 3: ");
    // The same records without the bad one go in as one batch, in order.
    let appended = f.submit(&good).unwrap();
    let seqs: Vec<u64> = appended.iter().map(|a| a.seq).collect();
    assert_eq!(seqs, vec![3, 4, 5]);
    for (submission, appended) in good.iter().zip(&appended) {
        assert_eq!(f.ledger.read(appended.seq).unwrap().line.entry.record, submission.record);
    }
}

#[test]
fn a_key_granted_earlier_in_the_batch_may_sign_later_records() {
    let mut f = fixture();
    let sun = key("officer.sun", 7);
    let grant = Draft::new(
        "key.grant",
        json!({"key": sun.public().vkey(), "roles": ["officer"], "holder": {"name": "孙干事", "unit": "第二监督检查室"}}),
    );
    let mut by_sun = sign(&interview(1), &sun);
    let batch = [sign(&grant, &f.admin), by_sun.clone()];
    let appended = f.submit(&batch).unwrap();
    assert_eq!(appended.len(), 2);
    // Its signature is still checked, against the key granted in the batch.
    let grant2 = Draft::new(
        "key.grant",
        json!({"key": key("officer.zhou", 8).public().vkey(), "roles": ["officer"], "holder": {"name": "周干事", "unit": "第二监督检查室"}}),
    );
    let zhou = key("officer.zhou", 8);
    let mut forged = sign(&interview(2), &zhou);
    by_sun = sign(&interview(3), &zhou);
    forged.sig = by_sun.sig;
    f.refused(&[sign(&grant2, &f.admin), forged], ErrorKind::Unauthorized, "record 2: sig:");
}

#[test]
fn malformed_submissions_are_refused_with_their_place() {
    let f = fixture();
    let good = sign(&interview(1), &f.officer).to_value();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"[]".to_vec(), "request: must be a JSON object"),
        (br#"{"submissions":[]}"#.to_vec(), "empty"),
        (br#"{"submissions":[],"submissions":[]}"#.to_vec(), "submissions"),
        (json!({"submissions": [good.clone()], "x": 1}).to_string().into_bytes(), "request.x: unknown member"),
        (
            {
                let mut v = good.clone();
                v["salt"] = json!("00");
                json!({"submissions": [good.clone(), v]}).to_string().into_bytes()
            },
            "submissions[1].salt",
        ),
        (
            {
                let mut v = good.clone();
                v["record"]["created"] = json!("2026-01-01T00:00:00Z");
                json!({"submissions": [v]}).to_string().into_bytes()
            },
            "submissions[0].record.created",
        ),
        (
            {
                let mut v = good.clone();
                v["sig"] = json!("AAAA");
                json!({"submissions": [v]}).to_string().into_bytes()
            },
            "submissions[0].sig",
        ),
        (
            {
                let mut v = good.clone();
                v["extra"] = json!(1);
                json!({"submissions": [v]}).to_string().into_bytes()
            },
            "submissions[0].extra: unknown",
        ),
        (
            {
                let mut v = good.clone();
                v.as_object_mut().unwrap().remove("body");
                json!({"submissions": [v]}).to_string().into_bytes()
            },
            "submissions[0].body: missing",
        ),
        (b"\xff\xfe".to_vec(), "request"),
    ];
    for (body, says) in cases {
        let err = Submission::parse_batch(&body).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BadInput);
        assert!(err.message().contains(says), "{says:?} not in: {err}");
    }
}

#[test]
fn receipts_check_offline_and_an_altered_receipt_does_not() {
    let mut f = fixture();
    let submissions: Vec<Submission> = (0..5).map(|n| sign(&interview(n), &f.officer)).collect();
    let appended = f.submit(&submissions).unwrap();
    let log_key = f.ledger.log_key(&mut || unreachable!("the test log key is not encrypted")).unwrap();
    let checkpoint = f.ledger.checkpoint(f.ledger.size(), &log_key).unwrap();
    let vkey = log_key.public().clone();
    let receipts: Vec<Receipt> =
        appended.iter().map(|a| Receipt::build(&f.ledger, a.seq, &checkpoint).unwrap()).collect();

    // Through the server's answer and a receipt file, and back.
    let answer = Receipt::answer_to_json(&receipts);
    assert_eq!(Receipt::parse_answer(&answer).unwrap(), receipts);
    let file: String = receipts.iter().map(Receipt::to_line).collect();
    let parsed = Receipt::parse_file(file.as_bytes()).unwrap();
    assert_eq!(parsed, receipts);
    for ((receipt, submission), appended) in parsed.iter().zip(&submissions).zip(&appended) {
        assert!(receipt.is_for(submission));
        let checked = receipt.check(&vkey, &[][..]).unwrap();
        assert_eq!((checked.seq, checked.entry_hash), (appended.seq, appended.hash));
        assert_eq!(checked.checkpoint.checkpoint.size, f.ledger.size());
        receipt.check_unsigned().unwrap();
    }
    assert!(!receipts[0].is_for(&submissions[1]));

    // Altered: another entry, another seq, another log key, another proof.
    let mut other_entry = receipts[0].clone();
    other_entry.entry = receipts[1].entry.clone();
    assert!(other_entry.check(&vkey, &[][..]).unwrap_err().message().contains("the receipt was altered"));
    let mut other_seq = receipts[0].clone();
    other_seq.seq += 1;
    assert_eq!(other_seq.check(&vkey, &[][..]).unwrap_err().kind(), ErrorKind::Verification);
    let mut moved = receipts[0].clone();
    moved.entry = receipts[1].entry.clone();
    moved.entry_hash = receipts[1].entry_hash;
    moved.seq = receipts[1].seq;
    assert_eq!(moved.check(&vkey, &[][..]).unwrap_err().kind(), ErrorKind::Verification, "proof of another index");
    let stranger = key(ORIGIN, 42);
    assert!(receipts[0].check(stranger.public(), &[][..]).is_err());
    let mut wrong_proof = receipts[2].clone();
    wrong_proof.proof = receipts[3].proof.clone();
    assert!(wrong_proof.check(&vkey, &[][..]).is_err());
    assert!(wrong_proof.check_unsigned().is_err());

    // Building: a checkpoint of another tree or too small for the entry is refused.
    let small = f.ledger.checkpoint(2, &log_key).unwrap();
    assert!(
        Receipt::build(&f.ledger, appended[0].seq, &small).unwrap_err().message().contains("not in the checkpoint")
    );
    let foreign_key = key(ORIGIN, 43);
    let foreign = lianlog_ledger::note::sign_checkpoint(
        &lianlog_ledger::Checkpoint { origin: ORIGIN.into(), size: f.ledger.size(), root: [7; 32] },
        &foreign_key,
    )
    .unwrap();
    assert_eq!(Receipt::build(&f.ledger, 0, &foreign).unwrap_err().kind(), ErrorKind::Verification);
}
