//! What concerns a person (与本人有关的记录): the people a body is about, the cases they are a
//! subject of, and the records linked to those cases. The same rule picks the records when a
//! package is built and checks them when it is read, so a package can hold nothing its checker
//! would not accept as concerning its person.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::MASK;

/// The natural persons a body is about: `subjects[]`, `subject`, `reporter`, `target`,
/// `responsible` and each rectification item's `responsible` that carry an `id` (organisations do
/// not), and masked people (as [`MASK`]). Interviewers are officials
/// acting in office, not what the record is about.
fn about(body: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut add = |value: &Value| match value {
        Value::String(text) if text == MASK => {
            out.insert(MASK.to_string());
        }
        Value::Object(members) => {
            if let Some(id) = members.get("id").and_then(Value::as_str) {
                out.insert(id.to_string());
            }
        }
        _ => {}
    };
    crate::projection::parties(body).for_each(&mut add);
    // A rectification's items name who is responsible for each (v2): they are about them too.
    body.get("items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|item| item.get("responsible"))
        .for_each(&mut add);
    out
}

fn interviewers(body: &Value) -> impl Iterator<Item = &str> {
    body.get("interviewers").and_then(Value::as_array).into_iter().flatten().filter_map(|p| p["id"].as_str())
}

/// A case: its family (`r` report, `d` decision, `a` appeal, `x` rectification) and id.
type Case = (char, String);

fn id_of(body: &Value, field: &str) -> Option<String> {
    body.get(field).and_then(Value::as_str).map(str::to_string)
}

/// The case a record opens.
fn opens_case(kind: &str, body: &Value) -> Option<Case> {
    match kind {
        "report.received" => Some(('r', id_of(body, "report_id")?)),
        "accountability.decision" => Some(('d', id_of(body, "decision_id")?)),
        "appeal.filed" => Some(('a', id_of(body, "appeal_id")?)),
        "rectification.ordered" => Some(('x', id_of(body, "rectification_id")?)),
        "supervision.ordered" => Some(('O', id_of(body, "order_id")?)),
        "inquiry.issued" => Some(('Q', id_of(body, "inquiry_id")?)),
        _ => None,
    }
}

/// The cases a record belongs to without naming anyone: the one of [`links_case`], or each
/// decision a circular (通报) publicises (the links of `projection::related_case`).
fn links_cases(kind: &str, body: &Value) -> Vec<Case> {
    if kind == "circular" {
        let ids = body.get("decision_ids").and_then(Value::as_array).into_iter().flatten();
        return ids.filter_map(Value::as_str).map(|id| ('d', id.to_string())).collect();
    }
    links_case(kind, body).into_iter().collect()
}

/// The case a record belongs to without naming anyone (the links of `projection::related_case`).
fn links_case(kind: &str, body: &Value) -> Option<Case> {
    match kind {
        "report.concluded" => Some(('r', id_of(body, "report_id")?)),
        "appeal.filed" => Some(('d', id_of(body, "decision_id")?)),
        "appeal.decided" => Some(('a', id_of(body, "appeal_id")?)),
        "rectification.completed" => Some(('x', id_of(body, "rectification_id")?)),
        "supervision.progress" | "supervision.closed" => Some(('O', id_of(body, "order_id")?)),
        "inquiry.replied" | "inquiry.concluded" => Some(('Q', id_of(body, "inquiry_id")?)),
        // decisions group (issue 17): an approval belongs to its decision's case.
        "decision.approval" => Some(('d', id_of(body, "decision_id")?)),
        _ => None,
    }
}

/// The cases of one person, built from every body a package (or the ledger) shows.
pub(super) struct Cases<'p> {
    person: &'p str,
    /// Cases the person is a subject of.
    mine: BTreeSet<Case>,
    /// The people each case is about (its subjects, over every version of its opening record).
    about: BTreeMap<Case, BTreeSet<String>>,
}

impl<'p> Cases<'p> {
    /// `bodies`: (kind, body) of every body shown, including corrected and replacement bodies
    /// (as bodies of their target's kind).
    pub(super) fn new(person: &'p str, bodies: &[(&str, &Value)]) -> Cases<'p> {
        let mut cases = Cases { person, mine: BTreeSet::new(), about: BTreeMap::new() };
        for (kind, body) in bodies {
            if let Some(case) = opens_case(kind, body) {
                let people = about(body);
                if people.contains(person) {
                    cases.mine.insert(case.clone());
                }
                cases.about.entry(case).or_default().extend(people);
            }
        }
        // An appeal is about the people of its decision.
        for (kind, body) in bodies.iter().filter(|(kind, _)| *kind == "appeal.filed") {
            if let (Some(appeal), Some(decision)) = (opens_case(kind, body), links_case(kind, body)) {
                if cases.mine.contains(&decision) {
                    cases.mine.insert(appeal.clone());
                }
                let people = cases.about.get(&decision).cloned().unwrap_or_default();
                cases.about.entry(appeal).or_default().extend(people);
            }
        }
        cases
    }

    /// Whether a body of `kind` concerns the person: it names them, or belongs to their case.
    pub(super) fn concerns(&self, kind: &str, body: &Value) -> bool {
        about(body).contains(self.person)
            || interviewers(body).any(|id| id == self.person)
            || links_cases(kind, body).iter().any(|case| self.mine.contains(case))
    }

    /// Whether a body of `kind` is also about someone else (directly or through its case).
    pub(super) fn names_others(&self, kind: &str, body: &Value) -> bool {
        let mut people = about(body);
        for case in links_cases(kind, body) {
            people.extend(self.about.get(&case).cloned().unwrap_or_default());
        }
        people.iter().any(|id| id != self.person)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::disclosure::test_person as person;

    #[test]
    fn cases_link_conclusions_and_appeals_to_their_subjects() {
        let report = json!({"report_id": "R-2", "subjects": [person("P-2", "李某")]});
        let decision = json!({"decision_id": "D-1", "subjects": [person("P-2", "李某"), person("P-3", "刘某")]});
        let concluded = json!({"report_id": "R-2", "finding": "false_accusation"});
        let appeal = json!({"appeal_id": "A-1", "decision_id": "D-1"});
        let decided = json!({"appeal_id": "A-1", "outcome": "upheld"});
        let bodies = [
            ("report.received", &report),
            ("accountability.decision", &decision),
            ("report.concluded", &concluded),
            ("appeal.filed", &appeal),
            ("appeal.decided", &decided),
        ];
        let cases = Cases::new("P-2", &bodies);
        for (kind, body) in bodies {
            assert!(cases.concerns(kind, body), "{kind}");
        }
        // The conclusion of P-2's own report is about P-2 alone; the appeal's decision names P-3 too.
        assert!(!cases.names_others("report.concluded", &concluded));
        assert!(cases.names_others("appeal.decided", &decided));
        assert!(!Cases::new("P-4", &bodies).concerns("report.concluded", &concluded));
        // A circular concerns the people of each decision it publicises.
        let circular = json!({"circular_id": "TB-1", "decision_ids": ["D-9", "D-1"]});
        assert!(cases.concerns("circular", &circular) && cases.names_others("circular", &circular));
        assert!(!Cases::new("P-4", &bodies).concerns("circular", &circular));
    }
}
