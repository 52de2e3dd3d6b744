//! Integrity opinions (党风廉政意见): what a commission answers when a cadre is considered for
//! promotion, appointment or an award, drafted from the person's integrity file (廉政档案) — clues
//! still under review, collective decisions not yet in effect, decisions in effect with their
//! influence periods (影响期), clarifications — with the entries it cites, so that every cited
//! record can be proved included in the ledger; and the `opinion.issued` body that puts the
//! lookup itself on the ledger.
//!
//! Guarantees: the draft is a function of the state asked about and the day (`as_of`): the same
//! ledger gives the same opinion; the conclusion is the most serious finding (影响期内 before
//! 正在核查 before 已过影响期 before 无不良反映), and an influence period that cannot be derived
//! counts as running, so that doubt never reads as a clean record; a revoked decision counts for
//! nothing but is cited with the appeal that revoked it. Receipts for the cited entries are built
//! with `receipt::Receipt::build`, against a checkpoint of this ledger only.
//! A letter inquiry (谈话函询) not yet concluded counts as a clue under review, like an open report.

use serde::Serialize;
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::influence::{self, DecisionStanding, InfluencePeriod, InfluenceState};
use crate::query::{Queries, RecordView};
use crate::record::EntryHash;
use crate::time::Date;

pub use crate::projection::in_effect;

/// What an opinion is asked for.
#[derive(Debug, Clone)]
pub struct OpinionRequest {
    /// The person's id.
    pub person: String,
    /// Why it is asked (提拔任用, 评先评优, …).
    pub purpose: String,
    /// Who asks (the organisation department, …).
    pub requested_by: String,
    /// The day the opinion speaks for (influence periods are taken on this day).
    pub as_of: Date,
}

/// One cited entry and why it is cited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cited {
    /// The entry's seq.
    pub seq: u64,
    /// Its entry hash.
    #[serde(serialize_with = "hex_hash")]
    pub entry_hash: EntryHash,
    /// Its kind.
    pub kind: String,
    /// Why it is cited (`open_report`, `pending_decision`, `decision`, `approval`, `appeal`,
    /// `clarification`).
    pub role: &'static str,
}

fn hex_hash<S: serde::Serializer>(hash: &EntryHash, out: S) -> std::result::Result<S::Ok, S::Error> {
    out.serialize_str(&hash.to_hex())
}

/// A drafted opinion.
#[derive(Debug, Clone, Serialize)]
pub struct OpinionDraft {
    /// The person as the records name them (`{"id","name","unit","post"?}`), or `{"id"}`.
    pub subject: Value,
    /// Why it is asked.
    pub purpose: String,
    /// Who asks.
    pub requested_by: String,
    /// The day it speaks for.
    pub as_of: String,
    /// The conclusion (a value of `opinion.issued`'s `conclusion`).
    pub conclusion: &'static str,
    /// Its Chinese label.
    pub conclusion_zh: &'static str,
    /// Reports about the person still open (问题线索正在核查).
    pub open_reports: Vec<u64>,
    /// Collective decisions about the person not yet in effect.
    pub pending_decisions: Vec<u64>,
    /// Decisions about the person and their influence periods (`None`: the measure has none).
    pub decisions: Vec<(u64, Option<InfluencePeriod>)>,
    /// Clarifications (澄清正名) of the person.
    pub clarifications: Vec<u64>,
    /// Every entry the opinion cites, in seq order.
    pub cited: Vec<Cited>,
    /// The opinion's text, in Chinese.
    pub text: String,
}

impl OpinionDraft {
    /// The body of the `opinion.issued` record for this draft, with its id, the day it is issued
    /// and the checkpoint (size, root) its inclusion proofs are made against.
    pub fn issued_body(&self, opinion_id: &str, issued_on: Date, size: u64, root: &[u8; 32]) -> Value {
        let mut body = json!({
            "opinion_id": opinion_id,
            "subject": self.subject,
            "requested_by": self.requested_by,
            "purpose": self.purpose,
            "conclusion": self.conclusion,
            "as_of": self.as_of,
            "issued_on": issued_on.to_string(),
            "checkpoint": {"size": size, "root": crate::encoding::hex(root)},
            "text": self.text,
        });
        if !self.cited.is_empty() {
            body["cited"] =
                self.cited.iter().map(|c| json!({"seq": c.seq, "hash": c.entry_hash.to_hex()})).collect::<Value>();
        }
        body
    }
}

/// How a decision stands (from its state): when it took effect and whether an appeal revoked it.
pub fn standing(queries: &Queries<'_>, decision: &RecordView) -> Result<DecisionStanding> {
    let Some(body) = &decision.body else { return Ok(DecisionStanding::default()) };
    let id = body["decision_id"].as_str().unwrap_or_default();
    let Some(state) = queries.decision_state(id)? else { return Ok(DecisionStanding::default()) };
    let approved = match state["approvals_required"].as_u64() {
        None => true,
        Some(required) => state["approvals"].as_array().map_or(0, Vec::len) as u64 >= required,
    };
    let effective_on = match approved {
        false => None,
        true => state["effective_on"].as_str().or(body["decided_on"].as_str()).and_then(Date::parse),
    };
    let mut revoked = None;
    if state["status"] == "revoked"
        && let Some(appeal_seq) = state["appeal_seq"].as_u64()
    {
        let appeal = queries.record_view(appeal_seq)?;
        let on =
            appeal.body.as_ref().and_then(|b| b["decided_on"].as_str()).and_then(Date::parse).unwrap_or(appeal.date);
        revoked = Some((on, appeal_seq));
    }
    Ok(DecisionStanding { effective_on, revoked })
}

/// The influence period of a decision record on `on` (`None` for another kind, a redacted body,
/// or a measure without a period).
pub fn period_of(queries: &Queries<'_>, record: &RecordView, on: Date) -> Result<Option<InfluencePeriod>> {
    if record.kind != "accountability.decision" {
        return Ok(None);
    }
    let Some(body) = &record.body else { return Ok(None) };
    Ok(influence::period_of(record.seq, body, &standing(queries, record)?, on))
}

/// The influence periods of the decisions in a list of records (a dossier), on `on`.
pub fn periods(queries: &Queries<'_>, records: &[RecordView], on: Date) -> Result<Vec<InfluencePeriod>> {
    let mut out = Vec::new();
    for record in records {
        if let Some(period) = period_of(queries, record, on)? {
            out.push(period);
        }
    }
    Ok(out)
}

/// Whether the person is among a decision's subjects (a dossier also lists the decisions of
/// cases the person is linked to).
fn names(body: &Value, person: &str) -> bool {
    crate::projection::parties(body).any(|p| p.get("id").and_then(Value::as_str) == Some(person))
}

/// Draft the opinion about `request.person` from the state `queries` answers over.
pub fn draft(queries: &Queries<'_>, request: &OpinionRequest) -> Result<OpinionDraft> {
    let person = request.person.as_str();
    let records = queries.dossier(person)?;
    let mut subject = json!({"id": person});
    let (mut open_reports, mut pending_decisions, mut decisions, mut clarifications) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut cited: Vec<Cited> = Vec::new();
    let mut cite = |record: &RecordView, role: &'static str| {
        if !cited.iter().any(|c| c.seq == record.seq) {
            cited.push(Cited { seq: record.seq, entry_hash: record.entry_hash, kind: record.kind.clone(), role });
        }
    };
    for record in &records {
        let Some(body) = &record.body else { continue };
        if !names(body, person) {
            continue;
        }
        if let Some(found) =
            crate::projection::parties(body).find(|p| p.get("id").and_then(Value::as_str) == Some(person))
            && found.get("name").is_some()
        {
            subject = found.clone();
        }
        match record.kind.as_str() {
            "report.received" if record.status.as_deref() == Some("open") => {
                open_reports.push(record.seq);
                cite(record, "open_report");
            }
            // An inquiry issued or answered but not concluded: still under review (第一种形态).
            "inquiry.issued" if matches!(record.status.as_deref(), Some("issued" | "replied")) => {
                open_reports.push(record.seq);
                cite(record, "open_inquiry");
            }
            "clarification" => {
                clarifications.push(record.seq);
                cite(record, "clarification");
            }
            "accountability.decision" => {
                let standing = standing(queries, record)?;
                if standing.effective_on.is_none() {
                    // Revoked on appeal before its quorum: counts for nothing (cited with the
                    // appeal), and is no clue under review either.
                    if let Some((_, appeal)) = standing.revoked {
                        cite(record, "decision");
                        cite(&queries.record_view(appeal)?, "appeal");
                        continue;
                    }
                    pending_decisions.push(record.seq);
                    cite(record, "pending_decision");
                    continue;
                }
                let period = influence::period_of(record.seq, body, &standing, request.as_of);
                cite(record, "decision");
                if let Some((_, appeal)) = standing.revoked {
                    cite(&queries.record_view(appeal)?, "appeal");
                }
                let id = body["decision_id"].as_str().unwrap_or_default();
                if let Some(effective) = queries.decision_state(id)?.and_then(|s| s["effective_seq"].as_u64()) {
                    cite(&queries.record_view(effective)?, "approval");
                }
                decisions.push((record.seq, period));
            }
            _ => {}
        }
    }
    cited.sort_by_key(|c| c.seq);
    if cited.len() > crate::limits::MAX_LIST_ITEMS {
        return Err(Error::bad_input(format!(
            "the opinion about {person} would cite {} records; an opinion cites at most {} (draft it with an earlier --as-of, or write it by hand)",
            cited.len(),
            crate::limits::MAX_LIST_ITEMS
        )));
    }
    let revoked = |p: &Option<InfluencePeriod>| p.as_ref().is_some_and(|p| p.state == InfluenceState::Ended);
    let running = decisions.iter().any(|(_, p)| {
        p.as_ref().is_some_and(|p| {
            matches!(p.state, InfluenceState::Active | InfluenceState::Unlimited | InfluenceState::Unknown)
        })
    });
    let (conclusion, conclusion_zh) = if running {
        ("within_influence_period", "处于影响期内")
    } else if !open_reports.is_empty() || !pending_decisions.is_empty() {
        ("clues_under_review", "有问题线索正在核查")
    } else if decisions.iter().any(|(_, p)| !revoked(p)) {
        ("past_accountability", "有问责或处分记录，已过影响期")
    } else {
        ("no_adverse_findings", "无不良反映")
    };
    let text =
        write_text(request, &subject, conclusion_zh, &open_reports, &pending_decisions, &decisions, &clarifications);
    Ok(OpinionDraft {
        subject,
        purpose: request.purpose.clone(),
        requested_by: request.requested_by.clone(),
        as_of: request.as_of.to_string(),
        conclusion,
        conclusion_zh,
        open_reports,
        pending_decisions,
        decisions,
        clarifications,
        cited,
        text,
    })
}

fn write_text(
    request: &OpinionRequest,
    subject: &Value,
    conclusion_zh: &str,
    open_reports: &[u64],
    pending_decisions: &[u64],
    decisions: &[(u64, Option<InfluencePeriod>)],
    clarifications: &[u64],
) -> String {
    let name = subject["name"].as_str().unwrap_or(&request.person);
    let mut text = format!(
        "关于{name}同志党风廉政情况的意见\n{}：\n因{}征求意见，经查阅截至{}的廉政档案，意见如下：\n",
        request.requested_by, request.purpose, request.as_of
    );
    let mut number = 0;
    let mut item = || {
        number += 1;
        format!("（{number}）")
    };
    let seqs = |list: &[u64]| list.iter().map(|s| format!("第{s}号记录")).collect::<Vec<_>>().join("、");
    if !open_reports.is_empty() {
        text.push_str(&format!("{}有问题线索正在核查（{}）。\n", item(), seqs(open_reports)));
    }
    if !pending_decisions.is_empty() {
        text.push_str(&format!("{}有问责决定尚待集体研究生效（{}）。\n", item(), seqs(pending_decisions)));
    }
    for (seq, period) in decisions {
        match period {
            None => text.push_str(&format!("{}受到问责（第{seq}号记录），该问责方式无影响期。\n", item())),
            Some(p) => {
                let span = match (&p.from, &p.until) {
                    (Some(from), Some(until)) => format!("，影响期自{from}至{until}前"),
                    (Some(from), None) => format!("，自{from}起"),
                    _ => String::new(),
                };
                let basis = match &p.source {
                    influence::InfluenceSource::Table { regulation, article } => {
                        format!("依据《{regulation}》{article}")
                    }
                    influence::InfluenceSource::Override { reason } => format!("按决定载明的影响期（{reason}）"),
                    influence::InfluenceSource::Unknown => "处分种类未载明，请核实".to_string(),
                };
                text.push_str(&format!(
                    "{}问责决定{}（第{seq}号记录）{span}，{basis}；截至{}：{}。\n",
                    item(),
                    p.decision_id,
                    request.as_of,
                    influence::state_zh(p.state)
                ));
            }
        }
    }
    if !clarifications.is_empty() {
        text.push_str(&format!("{}曾被不实反映，已予澄清正名（{}）。\n", item(), seqs(clarifications)));
    }
    text.push_str(&format!("结论：{conclusion_zh}。"));
    text
}
