//! Appending to a served ledger (`lianlog append|import --server URL`): records are signed on this
//! machine ([`lianlog_ledger::Submission::sign`]) and sent to `POST /lianlog/v1/append`; the
//! answer's receipts are checked before anything is reported.
//!
//! Guarantees: the author's private key never leaves this process — only records, signatures,
//! bodies and salts are sent; no request signature is needed (the record signature is the
//! authentication). An append is sent once and never retried behind the user's back (the client
//! retries only a `503 Busy`, which did no work); a second attempt after a lost answer is refused
//! by the ledger as a replay that names the seq. The answer is accepted only if it holds one
//! receipt per record, in order, at consecutive seqs, each for the very record and signature sent,
//! whose proof shows the entry in the tree its checkpoint states
//! ([`lianlog_ledger::Receipt::check_unsigned`]); the checkpoint's signature needs the log key,
//! which `lianlog check inclusion --receipt FILE --vkey …` checks offline.

use lianlog_ledger::note::Note;
use lianlog_ledger::{Checkpoint, Draft, Error, Receipt, Result, SecretKey, Submission, Timestamp};

use crate::Client;

/// The path of the append route.
pub const APPEND_PATH: &str = "/lianlog/v1/append";

/// The served ledger's origin, from its public `GET /checkpoint` (the records signed here are
/// bound to it).
pub fn origin(client: &Client) -> Result<String> {
    let answer = client.get("/checkpoint")?;
    let text = answer.text()?;
    let note = Note::parse(text).map_err(|e| e.at(format!("{}/checkpoint", client.url())))?;
    let checkpoint = Checkpoint::parse_text(&note.text).map_err(|e| e.at(format!("{}/checkpoint", client.url())))?;
    Ok(checkpoint.origin)
}

/// Sign `drafts` with `key` for the served ledger, all with one `created` time (now).
pub fn sign(client: &Client, drafts: &[Draft], key: &SecretKey) -> Result<Vec<Submission>> {
    let origin = origin(client)?;
    let created = Timestamp::now();
    drafts
        .iter()
        .enumerate()
        .map(|(index, draft)| {
            Submission::sign(&origin, draft, key, created)
                .map_err(|e| if drafts.len() > 1 { e.at(format!("record {}", index + 1)) } else { e })
        })
        .collect()
}

/// Send signed records as one batch (all or nothing) and return their checked receipts, in order.
pub fn submit(client: &Client, submissions: &[Submission]) -> Result<Vec<Receipt>> {
    let body = Submission::batch_to_json(submissions);
    let answer = client.post(APPEND_PATH, "application/json", &body)?;
    let receipts = Receipt::parse_answer(answer.body())
        .map_err(|e| Error::verification(format!("{}{APPEND_PATH}: the answer is not receipts: {e}", client.url())))?;
    check_receipts(submissions, &receipts)
        .map_err(|e| e.at(format!("{}{APPEND_PATH}: the server's receipts", client.url())))?;
    Ok(receipts)
}

/// The receipts answer the submissions: one each, in order, at consecutive seqs, each for the
/// record and signature sent, each proved in the tree its checkpoint states.
pub fn check_receipts(submissions: &[Submission], receipts: &[Receipt]) -> Result<()> {
    if receipts.len() != submissions.len() {
        return Err(Error::verification(format!("{} receipts for {} records sent", receipts.len(), submissions.len())));
    }
    let first = receipts.first().map_or(0, |r| r.seq);
    for (index, (receipt, submission)) in receipts.iter().zip(submissions).enumerate() {
        let place = |e: Error| if receipts.len() > 1 { e.at(format!("record {}", index + 1)) } else { e };
        if !receipt.is_for(submission) {
            return Err(place(Error::verification("the receipt is for another record than the one sent")));
        }
        if receipt.seq != first.saturating_add(index as u64) {
            return Err(place(Error::verification(format!(
                "the receipt is for seq {}, but the batch's records follow one another from seq {first}",
                receipt.seq
            ))));
        }
        receipt.check_unsigned().map_err(place)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lianlog_ledger::{Holder, KeyName, Ledger, Role, SubmitOptions};
    use serde_json::json;

    const ORIGIN: &str = "jw.example.gov.cn/accountability";

    fn key(name: &str, seed: u8) -> SecretKey {
        SecretKey::from_seed(KeyName::parse(name).unwrap(), &[seed; 32])
    }

    fn interview(n: usize) -> Draft {
        Draft::new(
            "interview",
            json!({"interview_type": "reminder", "subjects": [{"id": format!("P-{n}"), "name": "张某", "unit": "市住建局"}],
                   "interviewers": [{"id": "P-0101", "name": "钱干事", "unit": "第一监督检查室"}],
                   "held_on": "2025-03-10", "reason": format!("提醒谈话 {n}")}),
        )
    }

    /// Three records appended as a server would, and their receipts: the check accepts exactly
    /// the receipts of the records sent, in order.
    #[test]
    fn receipts_must_answer_the_records_sent_in_order() {
        let temp = tempfile::tempdir().unwrap();
        let admin = key("admin.zhao", 1);
        let officer = key("officer.qian", 2);
        let holder = Holder { name: "赵主任".into(), unit: "市纪委监委".into(), title: None };
        let origin = KeyName::parse(ORIGIN).unwrap();
        let mut ledger = Ledger::init(&temp.path().join("ledger"), &origin, &admin, holder.clone()).unwrap();
        ledger.grant(&officer.public().vkey(), &[Role::Officer], &holder, &admin).unwrap();
        let sent: Vec<Submission> =
            (0..3).map(|n| Submission::sign(ORIGIN, &interview(n), &officer, Timestamp::now()).unwrap()).collect();
        let staged = ledger.stage_submissions(&sent, &SubmitOptions::default()).unwrap();
        let appended = ledger.commit(staged).unwrap();
        let log_key = ledger.log_key(&mut || unreachable!("not encrypted")).unwrap();
        let checkpoint = ledger.checkpoint(ledger.size(), &log_key).unwrap();
        let receipts: Vec<Receipt> =
            appended.iter().map(|a| Receipt::build(&ledger, a.seq, &checkpoint).unwrap()).collect();
        check_receipts(&sent, &receipts).unwrap();

        let refused = |receipts: &[Receipt], says: &str| {
            let err = check_receipts(&sent, receipts).unwrap_err();
            assert!(err.message().contains(says), "{says:?} not in: {err}");
        };
        refused(&receipts[..2], "2 receipts for 3 records");
        let swapped = [receipts[1].clone(), receipts[0].clone(), receipts[2].clone()];
        refused(&swapped, "record 1: the receipt is for another record");
        let mut renumbered = receipts.clone();
        renumbered[2].seq += 1;
        refused(&renumbered, "record 3: the receipt is for seq");
        let mut wrong_proof = receipts.clone();
        wrong_proof[1].proof = receipts[0].proof.clone();
        refused(&wrong_proof, "record 2: the receipt's proof does not show entry");
    }
}
