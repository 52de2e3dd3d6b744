//! Group commit: many threads append through one ledger at once. Every acknowledged record is in
//! the ledger under its own author at the seq it was told, a refused record fails alone, and the
//! ledger verifies.

use std::sync::Arc;

use lianlog_ledger::group::GroupCommit;
use lianlog_ledger::{Draft, Holder, KeyName, Ledger, Role, SecretKey, VerifyOptions};
use serde_json::json;

fn interview(thread: usize, n: usize) -> Draft {
    Draft::new(
        "interview",
        json!({
            "interview_type": "reminder",
            "subjects": [{"id": format!("P-{thread}{n:04}"), "name": "张某", "unit": "市住建局"}],
            "interviewers": [{"id": "P-0101", "name": "钱干事", "unit": "第一监督检查室"}],
            "held_on": "2025-03-10",
            "reason": format!("提醒谈话 {thread}-{n}"),
        }),
    )
}

#[test]
fn concurrent_appenders_share_fsyncs_and_each_gets_its_own_answer() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("ledger");
    let admin = SecretKey::from_seed(KeyName::parse("admin.zhao").unwrap(), &[1; 32]);
    let officers: Vec<Arc<SecretKey>> = (0..3u8)
        .map(|i| Arc::new(SecretKey::from_seed(KeyName::parse(&format!("officer.o{i}")).unwrap(), &[10 + i; 32])))
        .collect();
    let holder = Holder { name: "赵主任".into(), unit: "市纪委监委".into(), title: None };
    let origin = KeyName::parse("jw.example.gov.cn/accountability").unwrap();
    let mut ledger = Ledger::init(&dir, &origin, &admin, holder.clone()).unwrap();
    for officer in &officers {
        ledger.grant(&officer.public().vkey(), &[Role::Officer], &holder, &admin).unwrap();
    }
    let before = ledger.size();

    const THREADS: usize = 8;
    const EACH: usize = 40;
    let group = GroupCommit::start(ledger);
    let handles: Vec<_> = (0..THREADS)
        .map(|thread| {
            let appender = group.appender();
            let key = officers[thread % officers.len()].clone();
            std::thread::spawn(move || {
                let mut answers = Vec::new();
                for n in 0..EACH {
                    // Every tenth draft of odd threads is refused (a kind that does not exist).
                    let draft = if thread % 2 == 1 && n % 10 == 0 {
                        Draft::new("no.such.kind", json!({}))
                    } else {
                        interview(thread, n)
                    };
                    answers.push((draft.kind.clone(), format!("{thread}-{n}"), appender.append(draft, key.clone())));
                }
                (key.public().identity(), answers)
            })
        })
        .collect();
    let mut acknowledged = Vec::new();
    for handle in handles {
        let (author, answers) = handle.join().unwrap();
        for (kind, label, answer) in answers {
            match answer {
                Ok(appended) => {
                    assert_eq!(kind, "interview", "{label}");
                    acknowledged.push((appended.seq, author.clone(), label));
                }
                Err(err) => {
                    assert_eq!(kind, "no.such.kind", "{label} refused: {err}");
                    assert!(err.to_string().contains("unknown kind"), "{err}");
                }
            }
        }
    }
    let ledger = group.finish().unwrap();
    let refused = (THREADS / 2) * (EACH / 10);
    assert_eq!(acknowledged.len(), THREADS * EACH - refused);
    assert_eq!(ledger.size(), before + acknowledged.len() as u64);
    acknowledged.sort();
    for (index, (seq, author, label)) in acknowledged.iter().enumerate() {
        assert_eq!(*seq, before + index as u64, "seqs are dense and unique");
        let line = ledger.read(*seq).unwrap();
        assert_eq!(&line.line.entry.record.author, author);
        let reason = line.line.body().unwrap()["reason"].as_str().unwrap().to_string();
        assert_eq!(reason, format!("提醒谈话 {label}"));
    }
    let report = ledger.verify(VerifyOptions::default()).unwrap().unwrap();
    assert_eq!(report.entries, ledger.size());
    ledger.replay().unwrap();
}
