//! Domain separation, end to end with a real ledger's keys: a record signature, a checkpoint
//! signature and a cosignature are made over messages that cannot be confused (a record's begins
//! with `{`, a checkpoint's with the origin, a cosignature's with `cosignature/v1`, a disclosure
//! package's with `lianlog-disclosure/v2`), and the key type byte enters the key id. So none of
//! them, taken from a real ledger, verifies as another.

use lianlog_ledger::keys::{PublicKey, split_signature_value};
use lianlog_ledger::note::{self, Checkpoint, Note};
use lianlog_ledger::record::{Entry, StoredLine};
use lianlog_ledger::{Draft, Holder, KeyName, Ledger, Role, SecretKey, VerifyOptions, verify_dir};
use serde_json::json;

const ORIGIN: &str = "jw.example.gov.cn/accountability";

struct Setup {
    _temp: tempfile::TempDir,
    dir: std::path::PathBuf,
    admin: SecretKey,
    officer: SecretKey,
    log_key: SecretKey,
    checkpoint: String,
}

fn setup() -> Setup {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("ledger");
    let admin = SecretKey::generate(KeyName::parse("admin.zhao").unwrap()).unwrap();
    let officer = SecretKey::generate(KeyName::parse("officer.qian").unwrap()).unwrap();
    let holder = |name: &str| Holder { name: name.into(), unit: "市纪委监委".into(), title: None };
    let mut ledger = Ledger::init(&dir, &KeyName::parse(ORIGIN).unwrap(), &admin, holder("赵主任")).unwrap();
    ledger.grant(&officer.public().vkey(), &[Role::Officer], &holder("钱干事"), &admin).unwrap();
    let body = json!({
        "interview_type": "reminder",
        "subjects": [{"id": "P-1001", "name": "张三", "unit": "市住建局"}],
        "interviewers": [{"id": "P-0101", "name": "钱干事", "unit": "第一监督检查室"}],
        "held_on": "2025-03-10",
        "reason": "提醒谈话",
    });
    ledger.append(&Draft::new("interview", body), &officer).unwrap();
    let log_key = ledger.log_key(&mut || Err(lianlog_ledger::Error::key("unencrypted"))).unwrap();
    let checkpoint = ledger.checkpoint(ledger.size(), &log_key).unwrap();
    drop(ledger);
    Setup { _temp: temp, dir, admin, officer, log_key, checkpoint }
}

fn line(setup: &Setup, seq: u64) -> lianlog_ledger::ParsedLine {
    Ledger::open(&setup.dir).unwrap().read(seq).unwrap()
}

/// The value part (base64 of key id and signature) of the note's first signature line.
fn first_signature_value(note: &str) -> String {
    let parsed = Note::parse(note).unwrap();
    let signature = &parsed.signatures[0];
    let mut bytes = signature.id.to_vec();
    bytes.extend_from_slice(&signature.bytes);
    lianlog_ledger::encoding::base64(&bytes)
}

#[test]
fn a_record_signature_is_never_a_checkpoint_or_a_cosignature() {
    let setup = setup();
    let record_line = line(&setup, 2);
    let record = &record_line.line.entry.record;
    let officer = setup.officer.public();
    // The genuine record signature verifies over its own message only.
    officer.verify_signature_value(&record.note_text(), &record_line.line.entry.sig).unwrap();
    // Its message is not a checkpoint text, so it can never be presented as one.
    let message = String::from_utf8(record.note_text()).unwrap();
    assert!(Checkpoint::parse_text(&message).is_err());
    assert!(note::sign_note(&message, &setup.officer).is_err(), "nobody signs notes that look like records");

    // Put on the real checkpoint's text as a "log" signature, with the officer's key trusted as
    // if it were the log key (renamed to the origin so that the line names it): refused.
    let text = Note::parse(&setup.checkpoint).unwrap().text;
    let officer_as_origin =
        PublicKey::new(KeyName::parse(ORIGIN).unwrap(), officer.algorithm(), *officer.verifying_key());
    let (_, signature) = split_signature_value(&record_line.line.entry.sig).unwrap();
    let mut value = officer_as_origin.id().to_vec();
    value.extend_from_slice(&signature.to_bytes());
    let forged = format!("{text}\n\u{2014} {ORIGIN} {}\n", lianlog_ledger::encoding::base64(&value));
    assert!(note::open_checkpoint(&forged, &officer_as_origin, &[]).is_err());

    // As a cosignature on the genuine checkpoint (with a timestamp in front): refused.
    let cosigner = setup.officer.as_cosigner();
    let mut value = cosigner.public().id().to_vec();
    value.extend_from_slice(&1_767_225_600u64.to_be_bytes());
    value.extend_from_slice(&signature.to_bytes());
    let line_text = format!("\u{2014} {} {}", cosigner.public().name(), lianlog_ledger::encoding::base64(&value));
    let cosigned = note::add_signature(&setup.checkpoint, &line_text).unwrap();
    let err = note::open_checkpoint(&cosigned, setup.log_key.public(), std::slice::from_ref(cosigner.public()));
    assert!(err.is_err(), "a record signature is not a cosignature");
}

#[test]
fn a_checkpoint_signature_or_cosignature_is_never_a_record_signature() {
    let setup = setup();
    let genuine = line(&setup, 2);
    let checkpoint_value = first_signature_value(&setup.checkpoint);
    let cosigned = note::cosign(&setup.checkpoint, &setup.officer.as_cosigner(), 1_767_225_600).unwrap();
    let cosignature = Note::parse(&cosigned).unwrap().signatures[1].clone();
    // The cosignature's Ed25519 part, with the officer's plain key id in front.
    let mut value = setup.officer.public().id().to_vec();
    value.extend_from_slice(&cosignature.bytes[8..]);
    let cosignature_as_record = lianlog_ledger::encoding::base64(&value);
    // The log key's checkpoint signature under the officer's key id.
    let (_, checkpoint_signature) = split_signature_value(&checkpoint_value).unwrap();
    let mut value = setup.officer.public().id().to_vec();
    value.extend_from_slice(&checkpoint_signature.to_bytes());
    let checkpoint_as_officer = lianlog_ledger::encoding::base64(&value);

    let record = &genuine.line.entry.record;
    for (what, sig) in [
        ("the checkpoint signature", checkpoint_value.clone()),
        ("the checkpoint signature under the officer's key id", checkpoint_as_officer),
        ("the officer's own cosignature", cosignature_as_record),
    ] {
        assert!(setup.officer.public().verify_signature_value(&record.note_text(), &sig).is_err(), "{what}");
        // Forged into a copy of the log in place of the real signature: verify fails there.
        let copy = tempfile::tempdir().unwrap();
        let ledger = copy.path().join("ledger");
        copy_dir(&setup.dir, &ledger);
        std::fs::remove_dir_all(ledger.join("index")).unwrap();
        let segment = ledger.join("log/00000000000000000000.jsonl");
        let text = std::fs::read_to_string(&segment).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let entry = Entry { sig: sig.clone(), ..genuine.line.entry.clone() };
        let forged = StoredLine { entry, body: genuine.line.body.clone() }.to_line().unwrap();
        lines[2] = String::from_utf8(forged[..forged.len() - 1].to_vec()).unwrap();
        std::fs::write(&segment, format!("{}\n", lines.join("\n"))).unwrap();
        let failure = verify_dir(&ledger, VerifyOptions::default()).unwrap().unwrap_err();
        assert_eq!(failure.seq, Some(2), "{what}: {failure}");
        assert!(failure.reason.contains("record signature"), "{what}: {failure}");
    }

    // A record authored by the log key itself is never authorized: the log key holds no role.
    let log_identity = setup.log_key.public().identity();
    let registry = Ledger::open(&setup.dir).unwrap().registry().clone();
    let mut record = genuine.line.entry.record.clone();
    record.author = log_identity;
    assert!(registry.authorize(&record, 3).is_err());
    let _ = &setup.admin;
}

#[test]
fn a_disclosure_signature_is_never_a_record_signature_nor_the_reverse() {
    let setup = setup();
    let ledger = Ledger::open(&setup.dir).unwrap();
    let package = lianlog_ledger::disclosure::disclose(
        &ledger,
        "P-1001",
        lianlog_ledger::disclosure::PackageCheckpoint::Sign(&setup.log_key),
        &setup.officer,
    )
    .unwrap();
    lianlog_ledger::disclosure::check(&package.text, setup.log_key.public(), &[]).unwrap();
    let record_line = ledger.read(2).unwrap();
    drop(ledger);
    let mut value: serde_json::Value = serde_json::from_str(&package.text).unwrap();
    let signature = value["signature"].as_str().unwrap().to_string();
    // The package's signature does not verify over the officer's record.
    let record = &record_line.line.entry.record;
    assert!(setup.officer.public().verify_signature_value(&record.note_text(), &signature).is_err());
    // Its message is no checkpoint text.
    value.as_object_mut().unwrap().remove("signature");
    let unsigned = lianlog_ledger::canonical::encode(&value, "package").unwrap();
    let message = format!("lianlog-disclosure/v2\n{}", String::from_utf8(unsigned).unwrap());
    assert!(Checkpoint::parse_text(&message).is_err());
    // The officer's record signature in place of the package's: refused.
    value["signature"] = json!(record_line.line.entry.sig);
    let forged =
        format!("{}\n", String::from_utf8(lianlog_ledger::canonical::encode(&value, "package").unwrap()).unwrap());
    let err = lianlog_ledger::disclosure::check(&forged, setup.log_key.public(), &[]).unwrap_err();
    assert!(err.message().contains("signature by"), "{err}");
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for item in std::fs::read_dir(from).unwrap() {
        let item = item.unwrap();
        let target = to.join(item.file_name());
        if item.file_type().unwrap().is_dir() {
            copy_dir(&item.path(), &target);
        } else {
            std::fs::copy(item.path(), &target).unwrap();
        }
    }
}
