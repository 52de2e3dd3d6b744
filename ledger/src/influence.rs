//! Influence periods (影响期): the time after an accountability decision or a sanction during which
//! the person may not be promoted or given more important posts, as data — one row per measure or
//! sanction with the months and the article it comes from — and the period of one decision derived
//! from that table, its own override (`influence_months` with `influence_reason`), when it took
//! effect (its collective approval, 集体研究) and whether an appeal revoked it.
//!
//! Guarantees: pure (no I/O, no state): the same decision facts give the same period on any
//! machine; every period names where its length comes from (the table row's regulation and
//! article, or the decision's own reason), so an opinion that cites it can be checked by a reader
//! with the regulation in hand; a revoked decision's period is ended, never merely expired.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::time::Date;

/// One row of the influence table: a measure (and, for `disciplinary_sanction`, the sanction),
/// the months it bars promotion, and the rule it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InfluenceRule {
    /// The decision's `measure`.
    pub measure: &'static str,
    /// The decision's `sanction`, for `disciplinary_sanction`.
    pub sanction: Option<&'static str>,
    /// The months of the period; `None` when the measure has no time limit (an expulsion).
    pub months: Option<u32>,
    /// The regulation the period comes from.
    pub regulation: &'static str,
    /// The article (or the rule's wording where the article is not numbered here).
    pub article: &'static str,
    /// What the person may not do during the period, in Chinese.
    pub effect_zh: &'static str,
}

const DISCIPLINE: &str = "中国共产党纪律处分条例（2023年修订）";
const GOVERNMENT: &str = "中华人民共和国公职人员政务处分法";
const NO_PROMOTION: &str = "不得提拔职务或者进一步使用";

const fn party(
    sanction: &'static str,
    months: Option<u32>,
    article: &'static str,
    effect_zh: &'static str,
) -> InfluenceRule {
    InfluenceRule {
        measure: "disciplinary_sanction",
        sanction: Some(sanction),
        months,
        regulation: DISCIPLINE,
        article,
        effect_zh,
    }
}

const fn government(sanction: &'static str, months: Option<u32>, article: &'static str) -> InfluenceRule {
    InfluenceRule {
        measure: "disciplinary_sanction",
        sanction: Some(sanction),
        months,
        regulation: GOVERNMENT,
        article,
        effect_zh: "处分期内不得晋升职务、职级、衔级和级别",
    }
}

/// The influence table (影响期表). Measures without a row (通报, 组织调整, 组织处理 without a named
/// form, and the measures for organisations) have no period of their own; a decision can still
/// set one with `influence_months` and a reason.
pub const INFLUENCE_RULES: &[InfluenceRule] = &[
    InfluenceRule {
        measure: "admonition",
        sanction: None,
        months: Some(6),
        regulation: "关于对党员领导干部进行诫勉的规定",
        article: "受到诫勉的，六个月内不得提拔或者重用（另见《推进领导干部能上能下规定》影响期）",
        effect_zh: "六个月内不得提拔或者重用",
    },
    party("party_warning", Some(12), "第十条（警告：一年内）", NO_PROMOTION),
    party("party_serious_warning", Some(18), "第十条（严重警告：一年半内）", NO_PROMOTION),
    party(
        "party_post_removal",
        Some(24),
        "第十一条（撤销党内职务：二年内）",
        "不得在党内担任和向党外组织推荐担任与其原任职务相当或者高于其原任职务的职务",
    ),
    party(
        "party_probation_1y",
        Some(36),
        "第十二条（留党察看一年，恢复党员权利后二年内）",
        "察看期内及恢复党员权利后二年内不得担任与其原任职务相当或者高于其原任职务的职务",
    ),
    party(
        "party_probation_2y",
        Some(48),
        "第十二条（留党察看二年，恢复党员权利后二年内）",
        "察看期内及恢复党员权利后二年内不得担任与其原任职务相当或者高于其原任职务的职务",
    ),
    party("party_expulsion", None, "第十三条（开除党籍）", "开除党籍，不再担任党内职务"),
    government("gov_warning", Some(6), "第八条（警告：六个月）"),
    government("gov_demerit", Some(12), "第八条（记过：十二个月）"),
    government("gov_major_demerit", Some(18), "第八条（记大过：十八个月）"),
    government("gov_demotion", Some(24), "第八条（降级：二十四个月）"),
    government("gov_dismissal", Some(24), "第八条（撤职：二十四个月）"),
    InfluenceRule {
        measure: "disciplinary_sanction",
        sanction: Some("gov_expulsion"),
        months: None,
        regulation: GOVERNMENT,
        article: "第七条（开除）",
        effect_zh: "开除公职",
    },
];

/// The table row for a measure and sanction, if the table has one.
pub fn rule_for(measure: &str, sanction: Option<&str>) -> Option<&'static InfluenceRule> {
    INFLUENCE_RULES.iter().find(|rule| rule.measure == measure && rule.sanction == sanction)
}

/// Where a period's length comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "from")]
pub enum InfluenceSource {
    /// The influence table: the regulation and article.
    Table {
        /// The regulation.
        regulation: String,
        /// The article.
        article: String,
    },
    /// The decision's own `influence_months`, with its `influence_reason`.
    Override {
        /// Why the decision sets its own period.
        reason: String,
    },
    /// A `disciplinary_sanction` that does not say which sanction (a v1 decision): the period
    /// cannot be derived; a correction adding `sanction` or `influence_months` settles it.
    Unknown,
}

/// Where a period stands on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InfluenceState {
    /// The decision is not in effect yet (its collective approval is not complete): no period runs.
    Pending,
    /// The period runs on that day.
    Active,
    /// The period is over.
    Expired,
    /// An appeal revoked the decision: the period ended on the appeal's decision.
    Ended,
    /// The measure has no time limit (expulsion).
    Unlimited,
    /// The length is unknown (see [`InfluenceSource::Unknown`]).
    Unknown,
}

/// The influence period of one decision for one person, as of a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InfluencePeriod {
    /// The decision's id.
    pub decision_id: String,
    /// The seq of the decision's record.
    pub decision_seq: u64,
    /// The decision's measure.
    pub measure: String,
    /// Its sanction, if named.
    pub sanction: Option<String>,
    /// The months of the period (`None`: unlimited or unknown).
    pub months: Option<u32>,
    /// Where the months come from.
    pub source: InfluenceSource,
    /// The day the decision took effect (its last needed approval, or its decision date).
    pub from: Option<String>,
    /// The first day after the period (`from` plus `months`).
    pub until: Option<String>,
    /// The day the period ended early (an appeal revoking the decision).
    pub ended_on: Option<String>,
    /// The seq of the appeal decision that ended it.
    pub ended_by: Option<u64>,
    /// Where the period stands on the day asked about.
    pub state: InfluenceState,
}

/// What the state of a decision says about its period: when it took effect (`None`: not yet) and
/// whether (and when, by which seq) an appeal revoked it.
#[derive(Debug, Clone, Default)]
pub struct DecisionStanding {
    /// The day it took effect, or `None` while its collective approval is incomplete.
    pub effective_on: Option<Date>,
    /// The appeal decision that revoked it: its date and seq.
    pub revoked: Option<(Date, u64)>,
}

/// The day influence periods are read as of, for an `--as-of` text: that date when it is one (an
/// `--as-of SEQ` names no day), else today in China. The local CLI and the server both ask this.
pub fn as_of_day(as_of: Option<&str>) -> Date {
    as_of.and_then(Date::parse).unwrap_or_else(|| crate::time::Timestamp::now().date_in_china())
}

/// The influence period of the decision `body` (current schema) as of `on`, or `None` when the
/// measure carries no period and the decision sets none.
pub fn period_of(decision_seq: u64, body: &Value, standing: &DecisionStanding, on: Date) -> Option<InfluencePeriod> {
    let text = |field: &str| body.get(field).and_then(Value::as_str);
    let measure = text("measure").unwrap_or_default();
    let sanction = text("sanction");
    let (months, source) = match (body.get("influence_months").and_then(Value::as_u64), rule_for(measure, sanction)) {
        (Some(months), _) => (
            Some(u32::try_from(months).unwrap_or(u32::MAX)),
            InfluenceSource::Override { reason: text("influence_reason").unwrap_or_default().to_string() },
        ),
        (None, Some(rule)) => {
            (rule.months, InfluenceSource::Table { regulation: rule.regulation.into(), article: rule.article.into() })
        }
        (None, None) if measure == "disciplinary_sanction" => (None, InfluenceSource::Unknown),
        (None, None) => return None,
    };
    let from = standing.effective_on;
    let until = match (from, months) {
        (Some(from), Some(months)) => from.plus_months(months),
        _ => None,
    };
    let state = if from.is_none() {
        InfluenceState::Pending
    } else if standing.revoked.is_some() {
        InfluenceState::Ended
    } else if source == InfluenceSource::Unknown {
        InfluenceState::Unknown
    } else {
        match until {
            None => InfluenceState::Unlimited,
            Some(until) if on < until => InfluenceState::Active,
            Some(_) => InfluenceState::Expired,
        }
    };
    Some(InfluencePeriod {
        decision_id: text("decision_id").unwrap_or_default().to_string(),
        decision_seq,
        measure: measure.to_string(),
        sanction: sanction.map(str::to_string),
        months,
        source,
        from: from.map(|d| d.to_string()),
        until: until.map(|d| d.to_string()),
        ended_on: standing.revoked.map(|(date, _)| date.to_string()),
        ended_by: standing.revoked.map(|(_, seq)| seq),
        state,
    })
}

/// The Chinese label of a period's state.
pub fn state_zh(state: InfluenceState) -> &'static str {
    match state {
        InfluenceState::Pending => "决定尚未生效（待集体研究）",
        InfluenceState::Active => "影响期内",
        InfluenceState::Expired => "影响期已满",
        InfluenceState::Ended => "经复查撤销，影响期终止",
        InfluenceState::Unlimited => "无期限",
        InfluenceState::Unknown => "处分种类未载明，影响期无法推算",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn day(text: &str) -> Date {
        Date::parse(text).unwrap()
    }

    fn effective(on: &str) -> DecisionStanding {
        DecisionStanding { effective_on: Some(day(on)), revoked: None }
    }

    #[test]
    fn every_sanction_and_the_admonition_have_a_row_citing_a_regulation() {
        for (sanction, _) in crate::schema::SANCTIONS {
            let rule = rule_for("disciplinary_sanction", Some(sanction)).unwrap_or_else(|| panic!("{sanction}"));
            assert!(!rule.regulation.is_empty() && !rule.article.is_empty(), "{sanction}");
        }
        assert_eq!(rule_for("admonition", None).unwrap().months, Some(6));
        assert_eq!(rule_for("disciplinary_sanction", Some("party_serious_warning")).unwrap().months, Some(18));
        assert_eq!(rule_for("disciplinary_sanction", Some("gov_major_demerit")).unwrap().months, Some(18));
        assert!(rule_for("notice", None).is_none());
    }

    #[test]
    fn a_period_runs_from_the_day_the_decision_took_effect() {
        let body = json!({"decision_id": "D-1", "measure": "admonition"});
        let period = period_of(5, &body, &effective("2026-04-28"), day("2026-10-27")).unwrap();
        assert_eq!((period.from.as_deref(), period.until.as_deref()), (Some("2026-04-28"), Some("2026-10-28")));
        assert_eq!(period.state, InfluenceState::Active);
        assert_eq!(
            period_of(5, &body, &effective("2026-04-28"), day("2026-10-28")).unwrap().state,
            InfluenceState::Expired
        );
        // Not yet approved: no period runs.
        let pending = period_of(5, &body, &DecisionStanding::default(), day("2026-05-01")).unwrap();
        assert_eq!((pending.state, pending.from), (InfluenceState::Pending, None));
        // Month ends clamp.
        assert_eq!(day("2026-08-31").plus_months(6), Some(day("2027-02-28")));
    }

    #[test]
    fn an_override_a_revocation_and_an_unknown_sanction() {
        let body = json!({"decision_id": "D-2", "measure": "admonition", "influence_months": 3, "influence_reason": "主动交代，从轻"});
        let period = period_of(5, &body, &effective("2026-01-10"), day("2026-02-01")).unwrap();
        assert_eq!(period.months, Some(3));
        assert_eq!(period.source, InfluenceSource::Override { reason: "主动交代，从轻".into() });
        assert_eq!(period.until.as_deref(), Some("2026-04-10"));
        let revoked = DecisionStanding { effective_on: Some(day("2026-01-10")), revoked: Some((day("2026-02-20"), 9)) };
        let ended = period_of(5, &body, &revoked, day("2026-03-01")).unwrap();
        assert_eq!(
            (ended.state, ended.ended_by, ended.ended_on.as_deref()),
            (InfluenceState::Ended, Some(9), Some("2026-02-20"))
        );
        let v1 = json!({"decision_id": "D-3", "measure": "disciplinary_sanction"});
        assert_eq!(
            period_of(5, &v1, &effective("2026-01-10"), day("2026-02-01")).unwrap().state,
            InfluenceState::Unknown
        );
        let expelled = json!({"decision_id": "D-4", "measure": "disciplinary_sanction", "sanction": "party_expulsion"});
        assert_eq!(
            period_of(5, &expelled, &effective("2026-01-10"), day("2036-02-01")).unwrap().state,
            InfluenceState::Unlimited
        );
        assert!(period_of(5, &json!({"measure": "notice"}), &effective("2026-01-10"), day("2026-02-01")).is_none());
    }
}
