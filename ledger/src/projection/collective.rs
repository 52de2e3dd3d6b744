//! Collective decisions (集体研究) and integrity opinions (廉政意见) in the projections: the rules a
//! v2 decision, a `decision.approval` and an `opinion.issued` must meet, and the decision state
//! they advance (pending approval → in effect when the quorum is met).
//!
//! Guarantees: an approval counts only if it names a recorded decision by seq and entry hash,
//! the decision requires approvals, is not revoked, and lists the member; the signing key is held
//! (as granted in the registry) by the member by name; one approval per member and per signing
//! key, so that a quorum of N is N members with N keys. A decision without
//! `approvals_required` is in effect when recorded, exactly as before (its state keeps the old
//! shape, so stores built by earlier versions replay identically). Checks read state and earlier
//! entries only and change nothing; updates run only for records that passed their rule.

use serde_json::{Value, json};

use super::state::View;
use super::{FactEntry, LedgerFacts, RecordContext, RuleError, layout, rule, text};
use crate::error::Result;

type Verdict = std::result::Result<(), RuleError>;

fn ids(list: &Value) -> Vec<&str> {
    list.as_array().into_iter().flatten().filter_map(|p| p.get("id").and_then(Value::as_str)).collect()
}

/// The v2 rules of a decision body (v1 bodies have none of these fields and pass).
pub(super) fn check_decision(body: &Value) -> Verdict {
    if body.get("sanction").is_some() && text(body, "measure") != "disciplinary_sanction" {
        return rule(
            "a sanction is named only for a disciplinary sanction (处分种类仅适用于纪律处分, 《中国共产党问责条例》第八条)",
            format!("body.sanction is given but body.measure is {}", text(body, "measure")),
        );
    }
    let collective = "a collective decision names its members and how many must approve (集体研究须列明成员和生效所需同意人数, 《中国共产党问责条例》第九条)";
    match (body.get("approvers"), body.get("approvals_required").and_then(Value::as_u64)) {
        (None, None) => {}
        (Some(_), None) => return rule(collective, "body.approvers is given without body.approvals_required"),
        (None, Some(_)) => return rule(collective, "body.approvals_required is given without body.approvers"),
        (Some(approvers), Some(required)) => {
            let members = ids(approvers);
            if required > members.len() as u64 {
                return rule(
                    collective,
                    format!("body.approvals_required is {required} but body.approvers lists {} members", members.len()),
                );
            }
            let subjects = ids(&body["subjects"]);
            if let Some(member) = members.iter().find(|m| subjects.contains(m)) {
                return rule(
                    "a subject of a decision does not approve it (回避, 《中国共产党纪律检查机关监督执纪工作规则》)",
                    format!("{member} is both a subject and an approver"),
                );
            }
        }
    }
    if body.get("influence_months").is_some() != body.get("influence_reason").is_some() {
        return rule(
            "an influence period set by the decision states its reason (调整影响期须说明理由)",
            "body.influence_months and body.influence_reason go together",
        );
    }
    Ok(())
}

/// The state fields of a new decision that requires approvals (none for one that does not).
pub(super) fn decision_state_fields(body: &Value, state: &mut Value) {
    if let Some(required) = body.get("approvals_required").and_then(Value::as_u64) {
        state["status"] = json!("pending_approval");
        state["approvals_required"] = json!(required);
        state["approvers"] = json!(ids(&body["approvers"]));
        // The members as the decision lists them: an approval must name one of them exactly.
        state["approver_people"] = body["approvers"].clone();
        state["approvals"] = json!([]);
        state["decided_on"] = body["decided_on"].clone();
    }
}

/// Whether a decision's state says it is in effect: recorded without approvals, or its quorum
/// met, and not revoked.
pub fn in_effect(state: &Value) -> bool {
    let met = match state["approvals_required"].as_u64() {
        None => true,
        Some(required) => state["approvals"].as_array().map_or(0, Vec::len) as u64 >= required,
    };
    met && state["status"] != "revoked"
}

pub(super) fn check_approval(view: &View<'_>, record: &RecordContext<'_>, facts: &dyn LedgerFacts) -> Result<Verdict> {
    let body = record.body;
    let named = "an approval names a recorded decision by seq and entry hash (审批须针对已记录的决定)";
    let target = body["decision"]["seq"].as_u64().unwrap_or(u64::MAX);
    if target >= record.seq {
        return Ok(rule(named, format!("body.decision.seq {target} is not an earlier entry")));
    }
    let Some(FactEntry { hash, kind, .. }) = facts.entry(target)? else {
        return Ok(rule(named, format!("there is no entry {target}")));
    };
    if hash.to_hex() != text(&body["decision"], "hash") {
        return Ok(rule(named, format!("body.decision.hash is not the hash of entry {target} ({hash})")));
    }
    if kind != "accountability.decision" {
        return Ok(rule(named, format!("entry {target} is a {kind} record, not an accountability decision")));
    }
    let id = text(body, "decision_id");
    let Some(state) = view.json(&layout::decision(id))? else {
        return Ok(rule(named, format!("decision {id} does not exist")));
    };
    if state["seq"].as_u64() != Some(target) {
        return Ok(rule(named, format!("decision {id} was recorded at seq {}, not at seq {target}", state["seq"])));
    }
    if state["status"] == "revoked" {
        return Ok(rule(
            "a revoked decision is not approved (已撤销的决定不得审批)",
            format!("decision {id} was revoked on appeal at seq {}", state["appeal_seq"]),
        ));
    }
    if state.get("approvals_required").is_none() {
        return Ok(rule(
            "only a collective decision is approved (该决定未要求集体研究)",
            format!("decision {id} does not require approvals (no approvals_required)"),
        ));
    }
    let member = body["member"]["id"].as_str().unwrap_or_default();
    let listed = state["approver_people"].as_array().and_then(|people| people.iter().find(|p| p["id"] == member));
    if !state["approvers"].as_array().is_some_and(|a| a.iter().any(|m| m == member)) || listed.is_none() {
        return Ok(rule(
            "the approving member is one the decision names (审批人须为决定列明的集体研究成员)",
            format!("{member} is not among the approvers of decision {id}: {}", state["approvers"]),
        ));
    }
    // The member exactly as the decision lists them: no approval under a listed id with
    // another name (the key check below binds the name to the signing key's holder).
    if listed != Some(&body["member"]) {
        return Ok(rule(
            "the approving member is one the decision names (审批人须为决定列明的集体研究成员)",
            format!(
                "body.member {} is not the member the decision lists as {member}: {}",
                body["member"],
                listed.cloned().unwrap_or_default()
            ),
        ));
    }
    let approvals = state["approvals"].as_array().cloned().unwrap_or_default();
    if let Some(earlier) = approvals.iter().find(|a| a["member"] == member) {
        return Ok(rule(
            "one approval per member (每名成员只能同意一次)",
            format!("{member} already approved decision {id} at seq {}", earlier["seq"]),
        ));
    }
    if let Some(earlier) = approvals.iter().find(|a| a["author"] == record.author) {
        return Ok(rule(
            "each member approves with their own key (每名成员须以本人密钥签署)",
            format!(
                "key {} already approved decision {id} for {} at seq {}",
                record.author, earlier["member"], earlier["seq"]
            ),
        ));
    }
    let name = body["member"]["name"].as_str().unwrap_or_default();
    if let Some(holder) = facts.key_holder_name(record.author)? {
        if holder != name {
            return Ok(rule(
                "each member approves with their own key (每名成员须以本人密钥签署)",
                format!("key {} is held by {holder}, not by the member {name} ({member})", record.author),
            ));
        }
        // One person holding two keys counts once, whatever ids the approvals name.
        for earlier in &approvals {
            let author = earlier["author"].as_str().unwrap_or_default();
            if facts.key_holder_name(author)?.as_deref() == Some(holder.as_str()) {
                return Ok(rule(
                    "each member approves with their own key (每名成员须以本人密钥签署)",
                    format!("{holder} already approved decision {id} at seq {} (key {author})", earlier["seq"]),
                ));
            }
        }
    }
    if text(body, "approved_on") < text(&state, "decided_on") {
        return Ok(rule(
            "an approval is not dated before its decision (同意日期不得早于决定日期)",
            format!(
                "body.approved_on {} is before decided_on {}",
                text(body, "approved_on"),
                text(&state, "decided_on")
            ),
        ));
    }
    Ok(Ok(()))
}

pub(super) fn check_opinion(view: &View<'_>, record: &RecordContext<'_>, facts: &dyn LedgerFacts) -> Result<Verdict> {
    let body = record.body;
    let id = text(body, "opinion_id");
    if view.contains(&layout::opinion(id))? {
        return Ok(rule("opinion_id is new (意见编号不得重复)", format!("opinion {id} already exists")));
    }
    let cites = "an opinion cites recorded entries by seq and hash (廉政意见引用的记录须真实存在)";
    for (index, cited) in body.get("cited").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let seq = cited["seq"].as_u64().unwrap_or(u64::MAX);
        if seq >= record.seq {
            return Ok(rule(cites, format!("body.cited[{index}]: entry {seq} is not an earlier entry")));
        }
        match facts.entry(seq)? {
            None => return Ok(rule(cites, format!("body.cited[{index}]: there is no entry {seq}"))),
            Some(entry) if entry.hash.to_hex() != text(cited, "hash") => {
                return Ok(rule(
                    cites,
                    format!("body.cited[{index}].hash is not the hash of entry {seq} ({})", entry.hash),
                ));
            }
            Some(_) => {}
        }
    }
    let size = body["checkpoint"]["size"].as_u64().unwrap_or(u64::MAX);
    let real = "an opinion names a real checkpoint of this ledger (引用检查点须真实)";
    match facts.root_at(size)? {
        None => Ok(rule(real, format!("the ledger has fewer than {size} entries"))),
        Some(root) if crate::encoding::hex(&root) != text(&body["checkpoint"], "root") => Ok(rule(
            real,
            format!("body.checkpoint.root is not the ledger's root at size {size} ({})", crate::encoding::hex(&root)),
        )),
        Some(_) => Ok(Ok(())),
    }
}

/// Apply an approval or an opinion that passed its rule.
pub(super) fn update(view: &mut View<'_>, record: &RecordContext<'_>) -> Result<()> {
    let body = record.body;
    match record.kind {
        "decision.approval" => {
            let key = layout::decision(text(body, "decision_id"));
            let Some(mut state) = view.get_json(&key)? else { return Ok(()) };
            let was_in_effect = in_effect(&state);
            if let Some(approvals) = state["approvals"].as_array_mut() {
                approvals.push(json!({"member": body["member"]["id"], "seq": record.seq, "author": record.author,
                                      "approved_on": body["approved_on"]}));
            }
            if !was_in_effect && in_effect(&state) {
                state["effective_seq"] = json!(record.seq);
                // The quorum existed from the latest of its approvals' dates, whatever the order
                // in which they were recorded.
                let latest = state["approvals"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|a| a["approved_on"].as_str())
                    .max()
                    .map(str::to_string);
                state["effective_on"] = latest.map_or_else(|| body["approved_on"].clone(), Value::String);
                if state["status"] == "pending_approval" {
                    state["status"] = json!("in_force");
                }
            }
            view.put_json(key, state);
        }
        "opinion.issued" => {
            view.put_json(
                layout::opinion(text(body, "opinion_id")),
                json!({"seq": record.seq, "subject": body["subject"]["id"], "conclusion": body["conclusion"]}),
            );
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: &str) -> Value {
        json!({"id": id, "name": id, "unit": "市纪委监委"})
    }

    #[test]
    fn the_v2_decision_rules_name_what_is_wrong() {
        let base = json!({"measure": "disciplinary_sanction", "subjects": [person("P-1")], "sanction": "gov_warning"});
        assert!(check_decision(&base).is_ok());
        let cases = [
            (json!({"measure": "admonition", "sanction": "gov_warning"}), "a sanction is named only"),
            (json!({"approvals_required": 1}), "without body.approvers"),
            (json!({"approvers": [person("P-2")]}), "without body.approvals_required"),
            (json!({"approvers": [person("P-2")], "approvals_required": 2}), "lists 1 members"),
            (json!({"approvers": [person("P-1")], "approvals_required": 1}), "P-1 is both a subject and an approver"),
            (json!({"influence_months": 3}), "go together"),
        ];
        for (fields, expected) in cases {
            let mut body = base.clone();
            for (key, value) in fields.as_object().unwrap() {
                body[key] = value.clone();
            }
            let err = check_decision(&body).unwrap_err();
            assert!(err.to_string().contains(expected), "{body}: {err}");
        }
    }

    #[test]
    fn a_decision_is_in_effect_at_its_quorum_until_revoked() {
        assert!(in_effect(&json!({"status": "in_force"})));
        let mut state = json!({"status": "pending_approval", "approvals_required": 2, "approvals": [{"member": "A"}]});
        assert!(!in_effect(&state));
        state["approvals"] = json!([{"member": "A"}, {"member": "B"}]);
        assert!(in_effect(&state));
        state["status"] = json!("revoked");
        assert!(!in_effect(&state));
    }
}
