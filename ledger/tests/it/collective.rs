//! Collective decisions and integrity opinions at scale: a generated ledger with approvals signed
//! by each member's own key and issued opinions replays to identical projections, reopens from a
//! rebuilt store identically, and every approved decision is in effect.

use lianlog_ledger::{Draft, Holder, KeyName, Ledger, Role, SecretKey};
use lianlog_workload::{Needs, Workload, fill_checkpoint, fill_decision_entry, needs};

fn holder(name: &str) -> Holder {
    Holder { name: name.into(), unit: "市纪委监委".into(), title: None }
}

#[test]
fn a_generated_ledger_with_collective_decisions_and_opinions_replays_identically() {
    let dir = tempfile::tempdir().unwrap();
    let admin = SecretKey::generate(KeyName::parse("admin").unwrap()).unwrap();
    let officer = SecretKey::generate(KeyName::parse("officer").unwrap()).unwrap();
    let path = dir.path().join("l");
    let mut ledger =
        Ledger::init(&path, &KeyName::parse("test.example/collective").unwrap(), &admin, holder("赵")).unwrap();
    ledger.grant(&officer.public().vkey(), &[Role::Officer], &holder("钱"), &admin).unwrap();
    // The generated committee members P-CW-1..3, each with an officer key of their own.
    let mut members = Vec::new();
    for n in 1..=3 {
        let key = SecretKey::generate(KeyName::parse(&format!("member{n}")).unwrap()).unwrap();
        ledger.grant(&key.public().vkey(), &[Role::Officer], &holder(&format!("常委{n}")), &admin).unwrap();
        members.push((format!("P-CW-{n}"), key));
    }
    let (mut approvals, mut opinions) = (0, 0);
    let mut batch: Vec<Draft> = Vec::new();
    // 1,500 records in the suite; LIANLOG_COLLECTIVE_RECORDS=100000 for the 100k check.
    let records = std::env::var("LIANLOG_COLLECTIVE_RECORDS").ok().and_then(|n| n.parse().ok()).unwrap_or(1_500);
    for (kind, mut body) in Workload::new(11).with_collective_decisions().take(records) {
        let need = match needs(kind, &body) {
            Needs::Nothing => None,
            Needs::DecisionEntry(id) => Some(Some(id.to_string())),
            Needs::Checkpoint => Some(None),
        };
        let Some(decision) = need else {
            batch.push(Draft::new(kind, body));
            continue;
        };
        // What the record cites must be in the ledger first.
        if !batch.is_empty() {
            ledger.append_batch(&std::mem::take(&mut batch), &officer).unwrap();
        }
        let size = ledger.size();
        match decision {
            Some(id) => {
                let seq = ledger.queries().decision_state(&id).unwrap().unwrap()["seq"].as_u64().unwrap();
                fill_decision_entry(&mut body, seq, &ledger.read(seq).unwrap().entry_hash.to_hex());
                let member = body["member"]["id"].as_str().unwrap().to_string();
                let key = &members.iter().find(|(id, _)| *id == member).unwrap().1;
                ledger.append(&Draft::new(kind, body), key).unwrap();
                approvals += 1;
            }
            None => {
                fill_checkpoint(&mut body, size, &lianlog_ledger::encoding::hex(&ledger.root_at(size).unwrap()));
                ledger.append(&Draft::new(kind, body), &officer).unwrap();
                opinions += 1;
            }
        }
    }
    if !batch.is_empty() {
        ledger.append_batch(&batch, &officer).unwrap();
    }
    assert!(approvals > 50 && opinions > 20, "{approvals} approvals, {opinions} opinions");

    // Every collective decision got its two approvals and is in effect.
    let cases = ledger.queries().cases(false).unwrap();
    let collective: Vec<_> = cases.iter().filter(|c| c.state.get("approvals_required").is_some()).collect();
    assert!(!collective.is_empty());
    assert!(
        collective
            .iter()
            .all(|c| c.state["approvals"].as_array().unwrap().len() == 2 && c.status != "pending_approval")
    );

    // The cadres the generated opinions are about have nothing adverse in their files; a
    // decision's subject with a decision not revoked has it in the opinion (in its period or past it).
    let on = lianlog_ledger::Date::parse("2025-12-31").unwrap();
    let request = |person: &str| lianlog_ledger::opinion::OpinionRequest {
        person: person.into(),
        purpose: "拟提拔任用".into(),
        requested_by: "市委组织部".into(),
        as_of: on,
    };
    let queries = ledger.queries();
    let opinion = queries
        .query(&lianlog_ledger::query::QueryFilter { kind: Some("opinion.issued".into()), ..Default::default() })
        .unwrap();
    let subject = opinion[0].body.as_ref().unwrap()["subject"]["id"].as_str().unwrap().to_string();
    let draft = lianlog_ledger::opinion::draft(&queries, &request(&subject)).unwrap();
    assert_eq!((draft.conclusion, draft.cited.len()), ("no_adverse_findings", 0));
    let standing = collective.iter().find(|c| c.status != "revoked").unwrap();
    let decided = standing.state["subjects"][0].as_str().unwrap().to_string();
    let draft = lianlog_ledger::opinion::draft(&queries, &request(&decided)).unwrap();
    assert_ne!(draft.conclusion, "no_adverse_findings", "{}", draft.text);
    assert!(draft.cited.iter().any(|c| c.role == "approval"), "{:?}", draft.cited);

    let report = ledger.replay().unwrap();
    assert_eq!(report.entries, ledger.size());
    // A rebuilt store (catch-up through the verifier) gives the same projections again.
    let size = ledger.size();
    drop(ledger);
    std::fs::remove_dir_all(lianlog_ledger::store_dir(&path)).unwrap();
    let reopened = Ledger::open(&path).unwrap();
    assert_eq!(reopened.size(), size);
    reopened.replay().unwrap();
}
