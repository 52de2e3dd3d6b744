//! The kinds of issue 17 — 督办 supervision orders, 谈话函询 letter inquiries, rectification v2
//! (items), 考核评价 assessments, 通报 circulars — and event time: every new rule refuses its bad
//! record naming the rule and leaves the ledger unchanged; overdue, cases, dossier order, stats;
//! the projections replay identically.

use lianlog_ledger::query::StatsGrouping;
use lianlog_ledger::{Date, Draft, ErrorKind, Holder, KeyName, Ledger, Role, SecretKey};
use serde_json::{Value, json};

struct Fixture {
    _dir: tempfile::TempDir,
    ledger: Ledger,
    officer: SecretKey,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let holder = |name: &str| Holder { name: name.into(), unit: "市纪委监委".into(), title: None };
    let admin = SecretKey::generate(KeyName::parse("admin").unwrap()).unwrap();
    let officer = SecretKey::generate(KeyName::parse("officer").unwrap()).unwrap();
    let mut ledger =
        Ledger::init(&dir.path().join("l"), &KeyName::parse("test.example/kinds").unwrap(), &admin, holder("赵"))
            .unwrap();
    ledger.grant(&officer.public().vkey(), &[Role::Officer], &holder("钱"), &admin).unwrap();
    Fixture { _dir: dir, ledger, officer }
}

fn person(id: &str) -> Value {
    json!({"id": id, "name": format!("干部{id}"), "unit": "市住建局"})
}

fn org() -> Value {
    json!({"org_id": "O-1", "name": "市住建局"})
}

fn date(text: &str) -> Date {
    Date::parse(text).unwrap()
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
        assert!(err.message().contains(rule), "{} refused without naming {rule:?}: {err}", draft.kind);
        assert!(err.message().contains("nothing was written"), "{err}");
        assert_eq!((self.ledger.size(), self.ledger.head()), (size, head), "the ledger changed after a refusal");
    }

    fn decision(&mut self, id: &str) -> u64 {
        self.append(Draft::new(
            "accountability.decision",
            json!({"decision_id": id, "subjects": [person("P-1")], "basis": [{"regulation": "中国共产党问责条例", "article": "第七条"}],
                   "measure": "admonition", "facts": "履职不力", "decided_by": "市纪委常委会", "decided_on": "2026-02-10"}),
        ))
    }
}

fn order(id: &str, issued_on: &str, deadline: &str) -> Draft {
    Draft::new(
        "supervision.ordered",
        json!({"order_id": id, "task": "督促整改", "responsible": person("P-2"), "deadline": deadline,
               "issued_by": "市纪委监委", "issued_on": issued_on}),
    )
}

#[test]
fn supervision_orders_are_followed_up_closed_once_and_listed_overdue() {
    let mut f = fixture();
    f.refused(order("DB-1", "2026-03-01", "2026-02-01"), "deadline is not before it is issued");
    let mut linked = order("DB-1", "2026-03-01", "2026-04-01");
    linked.body["decision_id"] = json!("D-404");
    f.refused(linked, "a supervision order's decision exists");
    // A deadline may lie in the future (a date field would refuse it).
    let seq = f.append(order("DB-1", "2026-03-01", "2099-12-31"));
    f.refused(order("DB-1", "2026-03-01", "2026-04-01"), "order_id is new");
    f.append(order("DB-2", "2026-03-01", "2026-04-01"));
    let progress = |id: &str, on: &str| {
        Draft::new("supervision.progress", json!({"order_id": id, "reported_on": on, "progress": "推进中"}))
    };
    f.refused(progress("DB-404", "2026-03-10"), "followed up after it is issued");
    f.refused(progress("DB-2", "2026-02-10"), "dated before it was issued");
    f.append(progress("DB-2", "2026-03-10"));

    // Overdue on 2026-05-01: DB-2 (deadline 04-01), not DB-1; cases shows both as open.
    let overdue = f.ledger.queries().overdue(date("2026-05-01")).unwrap();
    assert_eq!(overdue.iter().map(|(c, _)| (c.family, c.id.as_str())).collect::<Vec<_>>(), [("supervision", "DB-2")]);
    let cases = f.ledger.queries().cases(true).unwrap();
    assert_eq!(cases.iter().filter(|c| c.family == "supervision").count(), 2);
    assert_eq!(f.ledger.queries().record_view(seq).unwrap().status.as_deref(), Some("open"));

    let closed = |id: &str, on: &str| {
        Draft::new("supervision.closed", json!({"order_id": id, "closed_on": on, "result": "已办结"}))
    };
    f.append(closed("DB-2", "2026-04-20"));
    f.refused(closed("DB-2", "2026-04-21"), "closed once");
    f.refused(progress("DB-2", "2026-04-22"), "closed once");
    let state = f.ledger.queries().cases(false).unwrap().into_iter().find(|c| c.id == "DB-2").unwrap();
    assert_eq!((state.status.as_str(), state.open), ("closed_late", false));
    assert!(f.ledger.queries().overdue(date("2026-05-01")).unwrap().is_empty());
    // The responsible person's file holds the order and what follows it.
    assert_eq!(f.ledger.dossier("P-2").unwrap().len(), 4);
    f.ledger.replay().unwrap();
}

fn inquiry(id: &str, subject: &str) -> Draft {
    Draft::new(
        "inquiry.issued",
        json!({"inquiry_id": id, "subject": person(subject), "matters": "请说明有关情况", "issued_by": "市纪委监委办公室",
               "issued_on": "2026-03-01", "reply_due": "2026-03-20"}),
    )
}

fn replied(id: &str) -> Draft {
    Draft::new("inquiry.replied", json!({"inquiry_id": id, "replied_on": "2026-03-15", "reply": "如实说明"}))
}

fn inquiry_concluded(id: &str, conclusion: &str) -> Draft {
    Draft::new(
        "inquiry.concluded",
        json!({"inquiry_id": id, "conclusion": conclusion, "concluded_on": "2026-04-01", "summary": "情况报告"}),
    )
}

fn clarification(key: &str, id: &str, subject: &str) -> Draft {
    let mut body =
        json!({"subject": person(subject), "scope": "本单位", "held_on": "2026-04-10", "statement": "予以澄清"});
    body[key] = json!(id);
    Draft::new("clarification", body)
}

#[test]
fn letter_inquiries_are_answered_concluded_and_a_clarified_one_allows_a_clarification() {
    let mut f = fixture();
    f.append(inquiry("HX-1", "P-3"));
    f.refused(inquiry("HX-1", "P-4"), "inquiry_id is new");
    f.refused(replied("HX-404"), "a reply answers an inquiry that was issued");
    // Not answered yet: overdue after its reply date; only 转初核 may conclude it.
    let overdue = f.ledger.queries().overdue(date("2026-03-21")).unwrap();
    assert_eq!(overdue.iter().map(|(c, _)| c.id.as_str()).collect::<Vec<_>>(), ["HX-1"]);
    f.refused(inquiry_concluded("HX-1", "clarified"), "监督执纪工作规则");
    f.refused(
        clarification("inquiry_id", "HX-1", "P-3"),
        "a clarification follows a letter inquiry concluded 予以澄清",
    );
    f.append(replied("HX-1"));
    f.refused(replied("HX-1"), "answered once");
    assert!(f.ledger.queries().overdue(date("2026-03-21")).unwrap().is_empty());
    f.append(inquiry_concluded("HX-1", "clarified"));
    f.refused(inquiry_concluded("HX-1", "accepted"), "concluded once");

    // The clarification: exactly one basis, naming the person the inquiry went to.
    let mut both = clarification("inquiry_id", "HX-1", "P-3");
    both.body["report_id"] = json!("R-1");
    f.refused(both, "rests on one report or one letter inquiry");
    f.refused(clarification("inquiry_id", "HX-1", "P-4"), "was not issued to P-4");
    f.append(clarification("inquiry_id", "HX-1", "P-3"));
    let file = f.ledger.dossier("P-3").unwrap();
    assert_eq!(
        file.iter().map(|r| r.kind.as_str()).collect::<Vec<_>>(),
        ["inquiry.issued", "inquiry.replied", "inquiry.concluded", "clarification"]
    );
    assert_eq!(file[0].status.as_deref(), Some("clarified"));

    // 转初核 without a reply is allowed.
    f.append(inquiry("HX-2", "P-5"));
    f.append(inquiry_concluded("HX-2", "preliminary_verification"));
    f.ledger.replay().unwrap();
}

fn rectification(items: Value) -> Draft {
    Draft::new(
        "rectification.ordered",
        json!({"rectification_id": "X-1", "target": org(), "issued_on": "2026-03-01", "items": items}),
    )
}

fn item(content: &str, responsible: Value, due: &str) -> Value {
    json!({"content": content, "responsible": responsible, "due": due})
}

fn completed(items: Option<Value>) -> Draft {
    let mut body = json!({"rectification_id": "X-1", "completed_on": "2026-05-10", "summary": "已完成"});
    if let Some(items) = items {
        body["items"] = items;
    }
    Draft::new("rectification.completed", body)
}

#[test]
fn rectification_items_are_due_and_completed_one_by_one() {
    let mut f = fixture();
    f.refused(rectification(json!([item("台账", person("P-6"), "2026-02-01")])), "an item is due after the order");
    f.append(rectification(json!([
        item("建立台账", person("P-6"), "2026-04-01"),
        item("完善制度", org(), "2026-06-30"),
        item("警示教育", person("P-7"), "2026-05-01"),
    ])));
    // Each item's owner has the order in their file.
    assert_eq!(f.ledger.dossier("P-7").unwrap().len(), 1);
    let overdue = |f: &Fixture, on: &str| -> Vec<u64> {
        let found = f.ledger.queries().overdue(date(on)).unwrap();
        found
            .iter()
            .flat_map(|(c, _)| c.state["overdue_items"].as_array().unwrap().clone())
            .map(|i| i["item"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(overdue(&f, "2026-05-02"), [1, 3]);
    f.refused(completed(Some(json!([4]))), "has 3 items, no item 4");
    f.append(completed(Some(json!([1]))));
    f.refused(completed(Some(json!([1]))), "item 1 of X-1 was completed at seq");
    assert_eq!(overdue(&f, "2026-05-02"), [3]);
    let case = f.ledger.queries().cases(true).unwrap().into_iter().find(|c| c.id == "X-1").unwrap();
    assert_eq!(case.status, "open");
    // Without items: every item still open is completed, and the order with them.
    f.append(completed(None));
    assert!(f.ledger.queries().cases(true).unwrap().iter().all(|c| c.id != "X-1"));
    f.refused(completed(None), "completed once");
    f.ledger.replay().unwrap();
}

#[test]
fn rectification_v1_is_read_as_one_item_issued_on_the_entry_day_flagged_inferred() {
    let mut f = fixture();
    let v1 = json!({"rectification_id": "X-1", "target": org(), "items": "建立台账；完善制度", "due_on": "2026-04-01"});
    let seq = f
        .ledger
        .append(&Draft { kind: "rectification.ordered".into(), v: 1, body: v1.clone() }, &f.officer)
        .unwrap()
        .seq;
    assert_eq!(f.ledger.read(seq).unwrap().line.body().unwrap(), &v1, "stored as written");
    let view = f.ledger.queries().record_view(seq).unwrap();
    let body = view.body.unwrap();
    assert_eq!(body["items"], json!([{"content": "建立台账；完善制度", "responsible": org(), "due": "2026-04-01"}]));
    assert_eq!(body["issued_on_inferred"], true);
    assert_eq!(body["issued_on"], json!(view.time.date_in_china().to_string()));
    assert_eq!(view.date, view.time.date_in_china(), "its event date is the inferred issue date");
    let overdue = f.ledger.queries().overdue(date("2026-04-02")).unwrap();
    assert_eq!(overdue[0].0.state["overdue_items"], json!([{"item": 1, "due": "2026-04-01"}]));
    // A v1 completion still completes it; new records are v2, where the v1 shape is refused.
    f.ledger
        .append(
            &Draft {
                kind: "rectification.completed".into(),
                v: 1,
                body: json!({"rectification_id": "X-1", "completed_on": "2026-05-01", "summary": "完成"}),
            },
            &f.officer,
        )
        .unwrap();
    assert!(f.ledger.queries().cases(true).unwrap().is_empty());
    assert_eq!(Draft::new("rectification.ordered", v1.clone()).v, 2);
    assert!(f.ledger.append(&Draft::new("rectification.ordered", v1), &f.officer).is_err());
    f.ledger.replay().unwrap();
}

fn assessment(year: &str, grade: &str, score: &str) -> Draft {
    Draft::new(
        "assessment",
        json!({"unit": org(), "year": year, "grade": grade, "score": score, "assessed_by": "市委考核组",
               "assessed_on": format!("{year}-11-20")}),
    )
}

#[test]
fn one_assessment_per_unit_and_year_shown_by_stats() {
    let mut f = fixture();
    f.append(assessment("2025", "good", "88.5"));
    f.refused(assessment("2025", "excellent", "95"), "one assessment per unit and year");
    f.append(assessment("2026", "fair", "76"));
    let all = f.ledger.queries().assessments(None).unwrap();
    assert_eq!(
        all.iter().map(|a| (a.year.as_str(), a.grade.as_str(), a.score.as_str(), a.unit.as_str())).collect::<Vec<_>>(),
        [("2025", "good", "88.5", "市住建局"), ("2026", "fair", "76", "市住建局")]
    );
    assert_eq!(f.ledger.queries().assessments(Some(2026)).unwrap().len(), 1);
    // Counted under the unit and the year assessed (its event date), not the day it was entered.
    let stats = f.ledger.stats(StatsGrouping::Unit, Some(2025)).unwrap();
    assert_eq!(stats.get(&("市住建局".to_string(), "assessment".to_string())), Some(&1));
    let months = f.ledger.stats(StatsGrouping::Month, None).unwrap();
    assert_eq!(months.get(&("2025-11".to_string(), "assessment".to_string())), Some(&1));
    // A score is a text 0–100 with at most two decimals.
    let err = f.ledger.append(&assessment("2024", "good", "100.5"), &f.officer).unwrap_err();
    assert!(err.message().contains("body.score"), "{err}");
    f.ledger.replay().unwrap();
}

#[test]
fn a_circular_names_decisions_in_effect_and_joins_their_subjects_files() {
    let mut f = fixture();
    f.decision("D-1");
    let circular = |id: &str, decisions: Value| {
        Draft::new(
            "circular",
            json!({"circular_id": id, "title": "典型问题通报", "decision_ids": decisions, "scope": "全市",
                   "issued_by": "市纪委监委", "issued_on": "2026-03-01"}),
        )
    };
    f.refused(circular("TB-1", json!(["D-1", "D-404"])), "decision D-404 does not exist");
    let err = f.ledger.append(&circular("TB-1", json!(["D-1", "D-1"])), &f.officer).unwrap_err();
    assert!(err.message().contains("body.decision_ids[1]"), "{err}");
    let seq = f.append(circular("TB-1", json!(["D-1"])));
    f.refused(circular("TB-1", json!(["D-1"])), "circular_id is new");
    assert!(f.ledger.dossier("P-1").unwrap().iter().any(|r| r.seq == seq), "the circular is in P-1's file");

    // A revoked decision is not publicised.
    f.decision("D-2");
    f.append(Draft::new(
        "appeal.filed",
        json!({"appeal_id": "A-1", "decision_id": "D-2", "grounds": "过重", "filed_on": "2026-02-20"}),
    ));
    f.append(Draft::new(
        "appeal.decided",
        json!({"appeal_id": "A-1", "outcome": "revoked", "summary": "撤销", "decided_on": "2026-02-25"}),
    ));
    f.refused(circular("TB-2", json!(["D-2"])), "decision D-2 was revoked");
    f.ledger.replay().unwrap();
}

#[test]
fn dossier_and_query_are_in_event_date_order_with_seq_breaking_ties() {
    let mut f = fixture();
    let report = |id: &str, on: &str| {
        Draft::new(
            "report.received",
            json!({"report_id": id, "subjects": [person("P-1")], "source": "petition", "summary": "反映问题", "received_on": on}),
        )
    };
    let late = f.append(report("R-1", "2026-05-01"));
    let early = f.append(report("R-2", "2026-01-01"));
    let same_day = f.append(report("R-3", "2026-01-01"));
    let file: Vec<u64> = f.ledger.dossier("P-1").unwrap().iter().map(|r| r.seq).collect();
    assert_eq!(file, [early, same_day, late]);
    let page = f.ledger.queries().dossier_page("P-1", lianlog_ledger::query::Page { offset: 1, limit: 1 }).unwrap();
    assert_eq!(page.items.iter().map(|r| r.seq).collect::<Vec<_>>(), [same_day]);
    let filter = lianlog_ledger::query::QueryFilter { kind: Some("report.received".into()), ..Default::default() };
    let found = f.ledger.queries().query_page(&filter, lianlog_ledger::query::Page { offset: 0, limit: 2 }).unwrap();
    assert_eq!((found.items.iter().map(|r| r.seq).collect::<Vec<_>>(), found.total), (vec![early, same_day], 3));
}

/// Every projection after replay equals the incremental one on generated records that include
/// every new kind.
#[test]
fn generated_records_of_every_new_kind_replay_identically() {
    let mut f = fixture();
    let drafts: Vec<Draft> =
        lianlog_workload::Workload::new(3).take(3_000).map(|(kind, body)| Draft::new(kind, body)).collect();
    for kind in ["supervision.closed", "inquiry.concluded", "assessment", "circular", "rectification.completed"] {
        assert!(drafts.iter().any(|d| d.kind == kind), "the workload makes {kind}");
    }
    assert!(drafts.iter().any(|d| d.kind == "clarification" && d.body.get("inquiry_id").is_some()));
    f.ledger.append_batch(&drafts, &f.officer).unwrap();
    f.ledger.replay().unwrap();
}

#[test]
fn corrections_of_the_new_kinds_keep_identifiers_and_refresh_deadlines() {
    let mut f = fixture();
    let seq = f.append(rectification(json!([item("建立台账", person("P-6"), "2026-04-01")])));
    let hash = f.ledger.read(seq).unwrap().entry_hash.to_hex();
    let correction = |seq: u64, hash: &str, body: Value| {
        Draft::new("correction", json!({"target": {"seq": seq, "hash": hash}, "reason": "期限录入有误", "body": body}))
    };
    let mut corrected = rectification(json!([item("建立台账", person("P-6"), "2026-06-01")])).body;
    let mut renamed = corrected.clone();
    renamed["rectification_id"] = json!("X-2");
    f.refused(correction(seq, &hash, renamed), "body.body.rectification_id must stay");
    f.append(correction(seq, &hash, corrected.clone()));
    assert!(f.ledger.queries().overdue(date("2026-05-01")).unwrap().is_empty(), "the corrected due date counts");
    assert_eq!(f.ledger.queries().overdue(date("2026-06-02")).unwrap().len(), 1);

    // A supervision order's deadline, corrected; its id may not change.
    let seq = f.append(order("DB-1", "2026-03-01", "2026-04-01"));
    let hash = f.ledger.read(seq).unwrap().entry_hash.to_hex();
    let mut moved = order("DB-1", "2026-03-01", "2026-07-01").body;
    let mut renamed = moved.clone();
    renamed["order_id"] = json!("DB-9");
    f.refused(correction(seq, &hash, renamed), "body.body.order_id must stay");
    f.append(correction(seq, &hash, moved.clone()));
    assert!(f.ledger.queries().overdue(date("2026-05-01")).unwrap().iter().all(|(c, _)| c.id != "DB-1"));

    // A v1 rectification is corrected with a v2 body.
    let v1 = json!({"rectification_id": "X-3", "target": org(), "items": "整改", "due_on": "2026-04-01"});
    let seq = f.ledger.append(&Draft { kind: "rectification.ordered".into(), v: 1, body: v1 }, &f.officer).unwrap().seq;
    let hash = f.ledger.read(seq).unwrap().entry_hash.to_hex();
    corrected["rectification_id"] = json!("X-3");
    f.append(correction(seq, &hash, corrected));
    let view = f.ledger.queries().record_view(seq).unwrap();
    assert_eq!(view.body.unwrap()["issued_on"], "2026-03-01");
    moved["order_id"] = json!("DB-2");
    f.append(Draft::new("supervision.ordered", moved));
    f.ledger.replay().unwrap();
}
