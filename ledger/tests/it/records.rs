//! Accountability records: every lifecycle rule refuses its bad record with a message naming the
//! rule and leaves the ledger unchanged; corrections, schema evolution, queries and replay.

use lianlog_ledger::{Draft, ErrorKind, Holder, KeyName, Ledger, Role, SecretKey};
use serde_json::{Value, json};

struct Fixture {
    _dir: tempfile::TempDir,
    ledger: Ledger,
    officer: SecretKey,
    auditor: SecretKey,
}

fn holder(name: &str) -> Holder {
    Holder { name: name.into(), unit: "市纪委监委".into(), title: None }
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let admin = SecretKey::generate(KeyName::parse("admin").unwrap()).unwrap();
    let officer = SecretKey::generate(KeyName::parse("officer").unwrap()).unwrap();
    let auditor = SecretKey::generate(KeyName::parse("auditor").unwrap()).unwrap();
    let mut ledger =
        Ledger::init(&dir.path().join("l"), &KeyName::parse("test.example/records").unwrap(), &admin, holder("赵"))
            .unwrap();
    ledger.grant(&officer.public().vkey(), &[Role::Officer], &holder("钱"), &admin).unwrap();
    ledger.grant(&auditor.public().vkey(), &[Role::Auditor], &holder("李"), &admin).unwrap();
    Fixture { _dir: dir, ledger, officer, auditor }
}

fn person(id: &str) -> Value {
    json!({"id": id, "name": format!("干部{id}"), "unit": "市住建局"})
}

fn received(id: &str, subject: &str) -> Draft {
    Draft::new(
        "report.received",
        json!({"report_id": id, "subjects": [person(subject)], "source": "petition", "summary": "反映问题", "received_on": "2026-01-10"}),
    )
}

fn concluded(id: &str, finding: &str) -> Draft {
    Draft::new(
        "report.concluded",
        json!({"report_id": id, "finding": finding, "disposition": "处置", "concluded_on": "2026-02-01"}),
    )
}

fn decision(id: &str, subjects: Value, measure: &str) -> Draft {
    Draft::new(
        "accountability.decision",
        json!({"decision_id": id, "subjects": subjects, "basis": [{"regulation": "中国共产党纪律处分条例", "article": "第六十七条"}],
               "measure": measure, "facts": "履职不力", "decided_by": "市纪委常委会", "decided_on": "2026-02-10"}),
    )
}

impl Fixture {
    fn append(&mut self, draft: Draft) -> u64 {
        self.ledger.append(&draft, &self.officer).unwrap_or_else(|e| panic!("{}: {e}", draft.kind)).seq
    }

    /// Append `draft`, expect a refusal whose message names `rule`, and check nothing changed.
    fn refused(&mut self, draft: Draft, rule: &str) {
        let (size, head) = (self.ledger.size(), self.ledger.head());
        let err = self.ledger.append(&draft, &self.officer).expect_err(&format!("{} should be refused", draft.kind));
        assert_eq!(err.kind(), ErrorKind::BadInput, "{err}");
        assert!(
            err.message().contains(rule),
            "{} refused, but the message does not name the rule {rule:?}: {err}",
            draft.kind
        );
        assert_eq!((self.ledger.size(), self.ledger.head()), (size, head), "the ledger changed after a refusal");
    }
}

#[test]
fn each_lifecycle_rule_refuses_its_bad_record_and_changes_nothing() {
    let mut f = fixture();
    f.append(received("R-1", "P-1"));
    f.refused(received("R-1", "P-2"), "report_id is new");
    f.refused(concluded("R-9", "substantiated"), "concluded after it is received");
    f.append(concluded("R-1", "substantiated"));
    f.refused(concluded("R-1", "unsubstantiated"), "concluded once");

    let interview = |report: &str| {
        Draft::new(
            "interview",
            json!({"interview_type": "reminder", "subjects": [person("P-1")], "interviewers": [person("P-9")],
                   "held_on": "2026-01-20", "reason": "提醒谈话", "report_id": report}),
        )
    };
    f.refused(interview("R-404"), "an interview's report exists");
    f.append(interview("R-1"));

    let duty = || {
        Draft::new(
            "duty_report",
            json!({"reporter": person("P-2"), "period": "2026-H1", "occasion": "述责述廉会议", "held_on": "2026-07-01", "summary": "述职"}),
        )
    };
    f.append(duty());
    f.refused(duty(), "one duty report per person and period");

    f.refused(
        decision("D-1", json!([{"org_id": "O-1", "name": "市住建局党组"}]), "admonition"),
        "the measure fits the subject",
    );
    f.append(decision("D-1", json!([person("P-1")]), "admonition"));
    f.refused(decision("D-1", json!([person("P-1")]), "notice"), "decision_id is new");

    let clarification = |report: &str, subject: &str| {
        Draft::new(
            "clarification",
            json!({"subject": person(subject), "report_id": report, "scope": "本单位", "held_on": "2026-03-01", "statement": "予以澄清正名"}),
        )
    };
    f.refused(clarification("R-1", "P-1"), "a clarification follows a report concluded as unsubstantiated or false");
    f.append(received("R-2", "P-3"));
    f.refused(clarification("R-2", "P-3"), "a clarification follows");
    f.append(concluded("R-2", "false_accusation"));
    f.refused(clarification("R-2", "P-1"), "naming the person");
    f.append(clarification("R-2", "P-3"));

    let ordered = |id: &str, decision: &str| {
        Draft::new(
            "rectification.ordered",
            json!({"rectification_id": id, "target": {"org_id": "O-1", "name": "市住建局"}, "issued_on": "2026-02-15",
                   "items": [{"content": "整改", "responsible": {"org_id": "O-1", "name": "市住建局"}, "due": "2026-04-01"}],
                   "decision_id": decision}),
        )
    };
    f.refused(ordered("X-1", "D-404"), "a rectification's decision exists");
    f.append(ordered("X-1", "D-1"));
    f.refused(ordered("X-1", "D-1"), "rectification_id is new");
    let completed = |id: &str| {
        Draft::new(
            "rectification.completed",
            json!({"rectification_id": id, "completed_on": "2026-03-20", "summary": "已完成"}),
        )
    };
    f.refused(completed("X-404"), "completed after it is ordered");
    f.append(completed("X-1"));
    f.refused(completed("X-1"), "completed once");

    let filed = |id: &str, decision: &str| {
        Draft::new(
            "appeal.filed",
            json!({"appeal_id": id, "decision_id": decision, "grounds": "认定过重", "filed_on": "2026-02-20"}),
        )
    };
    f.refused(filed("A-1", "D-404"), "an appeal concerns an existing decision");
    f.append(filed("A-1", "D-1"));
    f.refused(filed("A-1", "D-1"), "appeal_id is new");
    let decided = |id: &str| {
        Draft::new(
            "appeal.decided",
            json!({"appeal_id": id, "outcome": "modified", "summary": "变更", "decided_on": "2026-03-05"}),
        )
    };
    f.refused(decided("A-404"), "decided after it is filed");
    f.append(decided("A-1"));
    f.refused(decided("A-1"), "decided once");

    // Schema errors name the field path, and the ledger is unchanged too.
    let mut bad = received("R-3", "P-4");
    bad.body["subjects"][0]["phone"] = json!("13800000000");
    f.refused(bad, "body.subjects[0].phone");
    f.refused(Draft::new("report.received", json!({"report_id": "R-5"})), "body.subjects: missing");
    f.refused(Draft::new("gossip", json!({"x": 1})), "unknown kind");

    // The decision's status follows its appeal.
    let cases = f.ledger.cases(false).unwrap();
    let d1 = cases.iter().find(|c| c.family == "decision" && c.id == "D-1").unwrap();
    assert_eq!(d1.status, "modified");
    f.ledger.replay().unwrap();
}

#[test]
fn audit_attestations_must_name_the_real_root() {
    let mut f = fixture();
    let size = f.ledger.size();
    let root = lianlog_ledger::encoding::hex(&f.ledger.root_at(size).unwrap());
    let attest = |root: &str| {
        Draft::new("audit.attest", json!({"checkpoint": {"size": size, "root": root}, "result": "核验通过"}))
    };
    let (before, head) = (f.ledger.size(), f.ledger.head());
    let err = f.ledger.append(&attest(&"0".repeat(64)), &f.auditor).unwrap_err();
    assert!(err.message().contains("an attestation names a real checkpoint"), "{err}");
    assert_eq!((f.ledger.size(), f.ledger.head()), (before, head));
    // An officer may not attest; an auditor may.
    assert_eq!(f.ledger.append(&attest(&root), &f.officer).unwrap_err().kind(), ErrorKind::Unauthorized);
    f.ledger.append(&attest(&root), &f.auditor).unwrap();
}

#[test]
fn corrections_replace_the_body_in_queries_and_keep_the_original() {
    let mut f = fixture();
    f.append(received("R-1", "P-1"));
    let seq = f.append(decision("D-1", json!([person("P-1")]), "admonition"));
    let hash = f.ledger.read(seq).unwrap().entry_hash.to_hex();
    let corrected = decision("D-1", json!([person("P-2")]), "notice").body;
    let correction = |target_hash: &str, body: Value| {
        Draft::new(
            "correction",
            json!({"target": {"seq": seq, "hash": target_hash}, "reason": "对象录入错误", "body": body}),
        )
    };
    f.refused(correction(&"0".repeat(64), corrected.clone()), "a correction targets an earlier accountability record");
    let mut renamed = corrected.clone();
    renamed["decision_id"] = json!("D-2");
    f.refused(correction(&hash, renamed), "body.body.decision_id must stay");
    let by = f.append(correction(&hash, corrected));

    // P-2's file now holds the decision, P-1's no longer does; the original entry is untouched.
    let p2 = f.ledger.dossier("P-2").unwrap();
    assert_eq!(p2.iter().map(|r| (r.seq, r.corrected_by)).collect::<Vec<_>>(), vec![(seq, Some(by))]);
    assert_eq!(p2[0].body.as_ref().unwrap()["measure"], "notice");
    assert!(f.ledger.dossier("P-1").unwrap().iter().all(|r| r.seq != seq));
    assert_eq!(f.ledger.read(seq).unwrap().line.body().unwrap()["measure"], "admonition");
    f.ledger.replay().unwrap();
}

#[test]
fn interview_v1_bodies_are_upcast_when_read() {
    let mut f = fixture();
    let body = json!({"interview_type": "admonition", "subjects": [person("P-1")], "interviewers": [person("P-9")],
        "held_on": "2026-01-20", "reason": "诫勉谈话", "requirements": "三个月内整改"});
    let v1 = Draft { kind: "interview".into(), v: 1, body: body.clone() };
    let seq = f.ledger.append(&v1, &f.officer).unwrap().seq;
    // Stored as written (v1, a string)...
    let stored = f.ledger.read(seq).unwrap();
    assert_eq!(stored.line.entry.record.v, 1);
    assert_eq!(stored.line.body().unwrap()["requirements"], "三个月内整改");
    // ...read as v2 (a list).
    let file = f.ledger.dossier("P-1").unwrap();
    assert_eq!(file[0].body.as_ref().unwrap()["requirements"], json!(["三个月内整改"]));
    // New records are written at v2, where the v1 shape is refused.
    assert_eq!(Draft::new("interview", body.clone()).v, 2);
    assert!(
        f.ledger.append(&Draft::new("interview", body), &f.officer).unwrap_err().message().contains("requirements")
    );
}

/// A ledger of `filler` generated records of every kind (about many people) with 10 records about
/// P-TARGET spread among them.
fn large_ledger(filler: usize) -> Fixture {
    let mut f = fixture();
    let mut workload = lianlog_workload::Workload::new(7);
    let mut drafts = Vec::with_capacity(filler + 10);
    for index in 0..filler {
        if index % (filler / 10) == 0 {
            drafts.push(received(&format!("T-{index}"), "P-TARGET"));
        }
        let (kind, body) = workload.next().unwrap();
        drafts.push(Draft::new(kind, body));
    }
    for chunk in drafts.chunks(20_000) {
        f.ledger.append_batch(chunk, &f.officer).unwrap();
    }
    f
}

fn dossier_reads(f: &Fixture) -> (u64, usize) {
    let before = f.ledger.store().read_count();
    let file = f.ledger.dossier("P-TARGET").unwrap();
    (f.ledger.store().read_count() - before, file.len())
}

/// Query cost, proof cost and replay on 100,000 generated records.
#[test]
fn large_ledgers_query_in_constant_reads_and_replay_identically() {
    let small = large_ledger(1_000);
    let large = large_ledger(100_000);
    let ((small_reads, small_len), (large_reads, large_len)) = (dossier_reads(&small), dossier_reads(&large));
    assert_eq!((small_len, large_len), (10, 10));
    assert_eq!(
        small_reads, large_reads,
        "index reads for 10 records: {small_reads} at 1,000 vs {large_reads} at 100,000"
    );

    // Roots and proofs of any size cost O(log n) storage reads, never a pass over the leaves.
    let ledger = &large.ledger;
    let n = ledger.size();
    let log2 = 64 - n.leading_zeros() as u64;
    for (index, size) in [(0, n), (n / 3, n - 1), (n - 1, n), (12_345, 54_321)] {
        let before = ledger.store().read_count();
        ledger.root_at(size).unwrap();
        let proof = ledger.inclusion_proof(index, size).unwrap();
        ledger.consistency_proof(size / 2 + 1, size).unwrap();
        let reads = ledger.store().read_count() - before;
        assert!(reads <= 6 * log2, "{reads} reads for a root and two proofs at size {size} (log2 n = {log2})");
        let leaf = ledger.read(index).unwrap().entry_hash.0;
        assert!(lianlog_ledger::merkle::verify_inclusion(index, size, &leaf, &proof, &ledger.root_at(size).unwrap()));
    }

    // Every projection rebuilt from seq 0 equals the incrementally maintained one.
    let report = ledger.replay().unwrap();
    assert_eq!(report.entries, n);
}

#[test]
fn rebuilding_the_store_replays_a_correction_next_to_its_target() {
    // Catch-up applies up to 10,000 lines per store batch; a correction must still find its
    // target (and an attestation its root) when both are in the same batch.
    let Fixture { _dir, mut ledger, officer, auditor } = fixture();
    ledger.append(&received("R-1", "P-1"), &officer).unwrap();
    let seq = ledger.append(&decision("D-1", json!([person("P-1")]), "admonition"), &officer).unwrap().seq;
    let hash = ledger.read(seq).unwrap().entry_hash.to_hex();
    let corrected = decision("D-1", json!([person("P-2")]), "notice").body;
    let correction = Draft::new(
        "correction",
        json!({"target": {"seq": seq, "hash": hash}, "reason": "对象录入错误", "body": corrected}),
    );
    ledger.append(&correction, &officer).unwrap();
    let root = lianlog_ledger::encoding::hex(&ledger.root_at(4).unwrap());
    let attest = Draft::new("audit.attest", json!({"checkpoint": {"size": 4, "root": root}, "result": "核验无误"}));
    ledger.append(&attest, &auditor).unwrap();
    let before = ledger.dossier("P-2").unwrap();
    assert_eq!(before.len(), 1);
    let dir = ledger.dir().to_path_buf();
    drop(ledger);
    let ledger = Ledger::reindex(&dir).unwrap_or_else(|e| panic!("reindex: {e}"));
    assert_eq!(ledger.dossier("P-2").unwrap(), before);
    ledger.replay().unwrap();
}

/// Indexes hold their seqs in chunks (`projection::layout::INDEX_CHUNK_SEQS` per key): a person
/// named in several chunks' worth of records, one of them corrected away to someone else, is
/// listed exactly, in seq order, by dossier and every index, incrementally and after a rebuild.
#[test]
fn indexes_spanning_many_chunks_list_every_record_once_in_order() {
    let mut f = fixture();
    let chunk = lianlog_ledger::INDEX_CHUNK_SEQS as usize;
    let drafts: Vec<Draft> = (0..2 * chunk + 30).map(|index| received(&format!("R-{index}"), "P-MANY")).collect();
    let appended = f.ledger.append_batch(&drafts, &f.officer).unwrap();
    let mut seqs: Vec<u64> = appended.iter().map(|a| a.seq).collect();
    // Single appends go on filling the last chunk.
    seqs.push(f.append(received("R-single", "P-MANY")));
    let moved = seqs[chunk + 5];
    let hash = f.ledger.read(moved).unwrap().entry_hash.to_hex();
    let mut body = f.ledger.read(moved).unwrap().line.body().unwrap().clone();
    body["subjects"] = json!([person("P-OTHER")]);
    let by = f.append(Draft::new(
        "correction",
        json!({"target": {"seq": moved, "hash": hash}, "reason": "对象录入错误", "body": body}),
    ));
    seqs.retain(|seq| *seq != moved);

    let listed = |ledger: &Ledger, person: &str| -> Vec<u64> {
        ledger.dossier(person).unwrap().iter().map(|record| record.seq).collect()
    };
    let by_kind = |ledger: &Ledger| -> Vec<u64> {
        let filter = lianlog_ledger::query::QueryFilter { kind: Some("report.received".into()), ..Default::default() };
        ledger.query(&filter).unwrap().iter().map(|record| record.seq).collect()
    };
    assert_eq!(listed(&f.ledger, "P-MANY"), seqs);
    assert_eq!(listed(&f.ledger, "P-OTHER"), vec![moved]);
    let mut all_received = seqs.clone();
    all_received.push(moved);
    all_received.sort_unstable();
    assert_eq!(by_kind(&f.ledger), all_received, "the corrected record is listed once under its kind");
    let corrections = lianlog_ledger::query::QueryFilter { kind: Some("correction".into()), ..Default::default() };
    assert_eq!(f.ledger.query(&corrections).unwrap().iter().map(|r| r.seq).collect::<Vec<_>>(), vec![by]);
    f.ledger.replay().unwrap();

    let dir = f.ledger.dir().to_path_buf();
    drop(f.ledger);
    let ledger = Ledger::reindex(&dir).unwrap();
    assert_eq!(listed(&ledger, "P-MANY"), seqs);
    assert_eq!(listed(&ledger, "P-OTHER"), vec![moved]);
    assert_eq!(by_kind(&ledger), all_received);
}

/// A store that an earlier version wrote in another layout (here: its layout mark removed, as a
/// store from before the mark has none) is rebuilt on open, with a note, and answers as before.
#[test]
fn a_store_in_an_earlier_layout_is_rebuilt_on_open() {
    let mut f = fixture();
    let seq = f.append(received("R-1", "P-1"));
    let dir = f.ledger.dir().to_path_buf();
    drop(f.ledger);
    {
        // sled's flusher thread may hold the dropped store's file lock for a moment under load.
        let db = crate::common::open_sled_when_released(&crate::common::current_sled_dir(&dir));
        db.remove(b"meta/layout").unwrap().expect("the store records its layout");
        db.flush().unwrap();
    }
    let ledger = Ledger::open(&dir).unwrap();
    assert!(
        ledger.notes().iter().any(|note| note.contains("earlier version of lianlog")),
        "no note about the rebuild: {:?}",
        ledger.notes()
    );
    assert_eq!(ledger.dossier("P-1").unwrap().iter().map(|r| r.seq).collect::<Vec<_>>(), vec![seq]);
    ledger.replay().unwrap();
    drop(ledger);
    // The layout mark was written back: the next open does not rebuild for it again. (Under load a
    // store dropped right after its rebuild may still be caught up from the log, with its own note:
    // derived data, flushed by sled in the background.)
    let reopened = Ledger::open(&dir).unwrap();
    assert!(
        !reopened.notes().iter().any(|note| note.contains("earlier version of lianlog")),
        "rebuilt again on the next open: {:?}",
        reopened.notes()
    );
}
