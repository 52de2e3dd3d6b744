//! lianlog-workload: realistic record bodies — the demo's story (from the speech on 党风廉政建设
//! that the product serves) and [`Workload`], generated records for benchmarks and large tests.
//!
//! What it guarantees: every body is valid for its kind's current schema, and the records of the
//! story and of each generated case are in an order that passes every lifecycle rule; a
//! [`Workload`] is deterministic (the same seed gives the same records, on any machine). It yields
//! `(kind, body)` pairs only: it depends on no ledger code, so that the ledger's own tests can use
//! it, and signing and appending stay with the caller.

use serde_json::{Value, json};

/// Who signs a scenario record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Author {
    /// The first of the demo's two officers.
    FirstOfficer,
    /// The second officer.
    SecondOfficer,
}

/// The demo's story, in order: a report about a cadre, an admonishing interview (约谈提醒), a
/// duty-and-integrity report (述责述廉), an accountability decision under 《中国共产党纪律处分条例》
/// 第六十七条, a false accusation concluded and the cadre's name cleared (澄清正名), a
/// rectification (整改) and an appeal (申诉) with its review (复查复核).
pub fn demo_story() -> Vec<(Author, &'static str, Value)> {
    let zhang = json!({"id": "P-1001", "name": "张某", "unit": "市住建局", "post": "副局长"});
    let wang = json!({"id": "P-1002", "name": "王某", "unit": "市住建局", "post": "局长"});
    let liu = json!({"id": "P-1003", "name": "刘某", "unit": "区交通运输局", "post": "局长"});
    let qian = json!({"id": "P-0101", "name": "钱干事", "unit": "第一监督检查室"});
    vec![
        (
            Author::FirstOfficer,
            "report.received",
            json!({
                "report_id": "R-2026-001",
                "subjects": [zhang],
                "source": "petition",
                "summary": "反映其履行全面从严治党主体责任不力，对工程项目廉政风险监管不严",
                "received_on": "2026-03-02",
            }),
        ),
        (
            Author::FirstOfficer,
            "interview",
            json!({
                "interview_type": "accountability_interview",
                "subjects": [zhang],
                "interviewers": [qian],
                "held_on": "2026-03-10",
                "reason": "工程项目监管中苗头性、倾向性问题，约谈提醒",
                "report_id": "R-2026-001",
                "requirements": ["一个月内报送整改方案", "紧盯管人管钱管审批等环节廉政风险"],
                "follow_up_by": "2026-04-10",
            }),
        ),
        (
            Author::SecondOfficer,
            "duty_report",
            json!({
                "reporter": wang,
                "period": "2026-H1",
                "occasion": "市住建局党组述责述廉会议",
                "held_on": "2026-07-08",
                "summary": "报告上半年履行全面从严治党主体责任和个人廉洁自律情况",
                "assessment": "good",
            }),
        ),
        (
            Author::FirstOfficer,
            "report.concluded",
            json!({
                "report_id": "R-2026-001",
                "finding": "substantiated",
                "disposition": "予以问责",
                "concluded_on": "2026-04-20",
            }),
        ),
        (
            Author::FirstOfficer,
            "accountability.decision",
            json!({
                "decision_id": "D-2026-001",
                "subjects": [zhang],
                "basis": [{"regulation": "中国共产党纪律处分条例", "article": "第六十七条"}],
                "measure": "admonition",
                "facts": "履行全面从严治党主体责任不力，对工程项目廉政风险监管不严，造成不良影响",
                "decided_by": "市纪委常委会",
                "decided_on": "2026-04-28",
                "report_id": "R-2026-001",
            }),
        ),
        (
            Author::SecondOfficer,
            "report.received",
            json!({
                "report_id": "R-2026-002",
                "subjects": [liu],
                "source": "petition",
                "summary": "反映其在道路工程招标中收受好处",
                "received_on": "2026-05-06",
            }),
        ),
        (
            Author::SecondOfficer,
            "report.concluded",
            json!({
                "report_id": "R-2026-002",
                "finding": "false_accusation",
                "disposition": "经核查系诬告陷害，移送有关部门依规处理",
                "concluded_on": "2026-06-18",
            }),
        ),
        (
            Author::SecondOfficer,
            "clarification",
            json!({
                "subject": liu,
                "report_id": "R-2026-002",
                "scope": "区交通运输局全体干部职工会议",
                "held_on": "2026-06-25",
                "statement": "经查，反映刘某同志的问题不属实，系诬告陷害，予以澄清正名，为担当者撑腰鼓劲",
            }),
        ),
        (
            Author::FirstOfficer,
            "rectification.ordered",
            json!({
                "rectification_id": "RC-2026-001",
                "target": {"org_id": "ORG-ZJJ", "name": "市住建局"},
                "issued_on": "2026-05-08",
                "items": [
                    {"content": "建立工程项目廉政风险台账", "responsible": wang, "due": "2026-06-30"},
                    {"content": "完善招投标全过程监督机制", "responsible": zhang, "due": "2026-08-31"},
                    {"content": "开展警示教育", "responsible": {"org_id": "ORG-ZJJ", "name": "市住建局"}, "due": "2026-08-31"},
                ],
                "decision_id": "D-2026-001",
            }),
        ),
        (
            Author::FirstOfficer,
            "appeal.filed",
            json!({
                "appeal_id": "A-2026-001",
                "decision_id": "D-2026-001",
                "grounds": "认为对其责任认定过重",
                "filed_on": "2026-05-12",
            }),
        ),
        (
            Author::FirstOfficer,
            "appeal.decided",
            json!({
                "appeal_id": "A-2026-001",
                "outcome": "upheld",
                "summary": "经复查，原问责决定认定事实清楚、依据充分，予以维持",
                "decided_on": "2026-06-10",
            }),
        ),
        (
            Author::FirstOfficer,
            "rectification.completed",
            json!({
                "rectification_id": "RC-2026-001",
                "completed_on": "2026-08-26",
                "summary": "三项整改措施全部完成，已报送整改报告",
            }),
        ),
    ]
}

/// The demo's second part (issue 17), after [`demo_story`]: the rest of the commission's year — a
/// supervision order (督办) on the rectification, followed up and closed; a letter inquiry (谈话函询)
/// that clears a cadre, and the clarification it allows (澄清正名); the 党风廉政建设责任制
/// assessment of a unit (考核评价); and a typical-case circular (通报) publicising the decision.
/// Each step is `(author, kind, body, narrative)`: the narrative is what `lianlog demo` tells.
pub fn demo_story_kinds() -> Vec<(Author, &'static str, Value, &'static str)> {
    let chen = json!({"id": "P-1004", "name": "陈某", "unit": "市教育局", "post": "副局长"});
    let zjj = json!({"org_id": "ORG-ZJJ", "name": "市住建局"});
    vec![
        (
            Author::FirstOfficer,
            "supervision.ordered",
            json!({
                "order_id": "DB-2026-001",
                "task": "督促市住建局按期完成问责决定D-2026-001所涉整改，逐项销号",
                "responsible": zjj,
                "deadline": "2026-09-15",
                "issued_by": "市纪委监委第一监督检查室",
                "issued_on": "2026-05-15",
                "rectification_id": "RC-2026-001",
            }),
            "督办：有部署就有检查 — 纪委监委对整改下达督办，明确责任单位和办理时限。 A supervision order follows the rectification: a responsible unit and a deadline.",
        ),
        (
            Author::FirstOfficer,
            "supervision.progress",
            json!({"order_id": "DB-2026-001", "reported_on": "2026-07-01", "progress": "廉政风险台账已建立，招投标监督机制正在修订"}),
            "督办进展：责任单位按月报告进展。 The unit reports its progress.",
        ),
        (
            Author::FirstOfficer,
            "supervision.closed",
            json!({"order_id": "DB-2026-001", "closed_on": "2026-08-28", "result": "整改事项全部完成，经核查予以办结"}),
            "督办办结：核查属实后办结，不逾期。 Closed on time, after checking.",
        ),
        (
            Author::SecondOfficer,
            "inquiry.issued",
            json!({
                "inquiry_id": "HX-2026-001",
                "subject": chen,
                "matters": "反映其在校舍维修项目中插手工程，请于15个工作日内作出书面说明",
                "issued_by": "市纪委监委办公室",
                "issued_on": "2026-06-02",
                "reply_due": "2026-06-23",
            }),
            "谈话函询：第一种形态 — 对反映的一般性问题，以函询方式请干部本人说明。 A letter inquiry asks the cadre to explain in writing.",
        ),
        (
            Author::SecondOfficer,
            "inquiry.replied",
            json!({
                "inquiry_id": "HX-2026-001",
                "replied_on": "2026-06-18",
                "reply": "本人未参与校舍维修项目的招标和施工管理，相关情况有会议纪要和合同可查",
                "endorsed_by": "市教育局党组书记",
            }),
            "函询回复：本人书面说明，所在党组主要负责人签署意见。 The written reply, endorsed by the head of the unit's Party group.",
        ),
        (
            Author::SecondOfficer,
            "inquiry.concluded",
            json!({
                "inquiry_id": "HX-2026-001",
                "conclusion": "clarified",
                "concluded_on": "2026-07-06",
                "summary": "经核实，说明情况属实，反映问题不存在，予以澄清",
            }),
            "函询了结：说明属实，予以澄清。 The reply checks out: the cadre is cleared.",
        ),
        (
            Author::SecondOfficer,
            "clarification",
            json!({
                "subject": chen,
                "inquiry_id": "HX-2026-001",
                "scope": "市教育局党组会议",
                "held_on": "2026-07-10",
                "statement": "经函询核实，反映陈某同志的问题不存在，予以澄清，为担当者撑腰鼓劲",
            }),
            "澄清正名：函询予以澄清的，在适当范围澄清正名。 The clarification is made public where it matters.",
        ),
        (
            Author::FirstOfficer,
            "circular",
            json!({
                "circular_id": "TB-2026-001",
                "title": "关于典型问题的通报",
                "decision_ids": ["D-2026-001"],
                "scope": "全市各级党组织",
                "issued_by": "市纪委监委",
                "issued_on": "2026-09-20",
                "summary": "通报市住建局履行全面从严治党主体责任不力的典型问题，以案为鉴",
            }),
            "通报：有通报 — 典型问题点名道姓通报，以案示警。 A typical-case circular publicises the decision.",
        ),
        (
            Author::FirstOfficer,
            "assessment",
            json!({
                "unit": zjj,
                "year": "2026",
                "grade": "fair",
                "score": "78.5",
                "assessed_by": "市委党风廉政建设责任制考核组",
                "assessed_on": "2026-11-20",
                "summary": "主体责任落实存在差距，问责和整改情况纳入考核",
            }),
            "考核评价：有考核 — 年度党风廉政建设责任制考核，问责和整改情况计入等次。 The year's assessment of the unit.",
        ),
    ]
}

/// A member of the demo's standing committee (常委会) who approves collective decisions with their
/// own key: the key's name (`member.zhou`), and the member as records name them.
pub fn demo_members() -> Vec<(&'static str, Value)> {
    vec![
        ("member.zhou", json!({"id": "P-0201", "name": "周某", "unit": "市纪委监委", "post": "常委"})),
        ("member.wu", json!({"id": "P-0202", "name": "吴某", "unit": "市纪委监委", "post": "常委"})),
        ("member.zheng", json!({"id": "P-0203", "name": "郑某", "unit": "市纪委监委", "post": "常委"})),
    ]
}

/// The demo's collective decision (集体研究), told after [`demo_story`]: a report about 孙某 is
/// substantiated; the commission decides a 党内严重警告 that three members of the standing
/// committee are to approve and two approvals put in effect; 周某 and 吴某 approve it, each with
/// their own key. Each approval is `(member key name, "decision.approval", body)` with its
/// `decision` left null: the entry of the decision is filled in ([`fill_decision_entry`]) once it
/// is appended. The officer's records carry `""` as key name (the first officer signs them).
pub fn demo_collective_story() -> Vec<(&'static str, &'static str, Value)> {
    let sun = json!({"id": "P-1005", "name": "孙某", "unit": "市财政局", "post": "科长"});
    let members = demo_members();
    let approvers: Vec<Value> = members.iter().map(|(_, m)| m.clone()).collect();
    let mut story = vec![
        (
            "",
            "report.received",
            json!({"report_id": "R-2026-003", "subjects": [sun], "source": "audit",
                   "summary": "审计发现其违规审批专项资金拨付", "received_on": "2026-08-03"}),
        ),
        (
            "",
            "report.concluded",
            json!({"report_id": "R-2026-003", "finding": "substantiated", "disposition": "给予党纪处分", "concluded_on": "2026-09-01"}),
        ),
        (
            "",
            "accountability.decision",
            json!({"decision_id": "D-2026-002", "subjects": [sun],
                   "basis": [{"regulation": "中国共产党纪律处分条例", "article": "第一百二十一条"}],
                   "measure": "disciplinary_sanction", "sanction": "party_serious_warning",
                   "facts": "违规审批专项资金拨付，造成不良影响", "decided_by": "市纪委常委会",
                   "decided_on": "2026-09-15", "report_id": "R-2026-003",
                   "approvers": approvers, "approvals_required": 2}),
        ),
    ];
    for ((key, member), day) in members.iter().zip(["2026-09-16", "2026-09-17"]) {
        story.push((
            key,
            "decision.approval",
            json!({"decision": null, "decision_id": "D-2026-002", "member": member, "approved_on": day,
                   "opinion": "同意该处分决定"}),
        ));
    }
    story
}

/// A deterministic stream of realistic, valid records of every accountability kind (Chinese text,
/// many people and units), for benchmarks and large tests. Each "case" is a short story — a report,
/// an interview, a conclusion, and then either a decision (with an appeal and a rectification) or a
/// clarification — so that every record passes its lifecycle rule. Dates lie in 2025.
pub struct Workload {
    state: u64,
    case: u64,
    pending: std::collections::VecDeque<(&'static str, Value)>,
    /// Collective decisions with their approvals, and integrity opinions (decisions group):
    /// records that cite entries, so the caller fills them in ([`needs`]).
    collective: bool,
}

/// The sanctions a generated `disciplinary_sanction` names, in turn (by case number, so that the
/// stream of random draws is the same as before decisions named them).
const SANCTIONS: &[&str] = &[
    "party_warning",
    "party_serious_warning",
    "gov_warning",
    "gov_demerit",
    "gov_major_demerit",
    "party_post_removal",
    "gov_demotion",
];

/// What a generated record still needs from the ledger before it can be appended: records of the
/// collective mode ([`Workload::with_collective_decisions`]) cite entries by seq and hash, which
/// only the ledger knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs<'a> {
    /// Nothing: append it as it is.
    Nothing,
    /// A `decision.approval`: the seq and entry hash of decision `decision_id`
    /// ([`fill_decision_entry`]).
    DecisionEntry(&'a str),
    /// An `opinion.issued`: the ledger's size and root now ([`fill_checkpoint`]).
    Checkpoint,
}

/// What `body` of `kind` still needs (see [`Needs`]).
pub fn needs<'a>(kind: &str, body: &'a Value) -> Needs<'a> {
    match kind {
        "decision.approval" if body["decision"].is_null() => {
            Needs::DecisionEntry(body["decision_id"].as_str().unwrap_or_default())
        }
        "opinion.issued" if body["checkpoint"].is_null() => Needs::Checkpoint,
        _ => Needs::Nothing,
    }
}

/// Fill in an approval's decision entry.
pub fn fill_decision_entry(body: &mut Value, seq: u64, entry_hash_hex: &str) {
    body["decision"] = json!({"seq": seq, "hash": entry_hash_hex});
}

/// Fill in an opinion's checkpoint.
pub fn fill_checkpoint(body: &mut Value, size: u64, root_hex: &str) {
    body["checkpoint"] = json!({"size": size, "root": root_hex});
}

const SURNAMES: &[&str] = &["张", "王", "李", "赵", "刘", "陈", "杨", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡"];
const UNITS: &[&str] = &[
    "市住建局",
    "市交通运输局",
    "市教育局",
    "市卫健委",
    "市自然资源局",
    "市财政局",
    "区城管局",
    "区农业农村局",
    "市水务局",
    "市市场监管局",
];
const POSTS: &[&str] = &["局长", "副局长", "处长", "科长", "主任", "副主任"];

impl Workload {
    /// The stream of records for `seed`.
    pub fn new(seed: u64) -> Workload {
        Workload {
            state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            case: 0,
            pending: Default::default(),
            collective: false,
        }
    }

    /// The same stream, with collective decisions (集体研究): every other decision names three
    /// members of its standing committee and needs two approvals, which follow it; and an
    /// integrity opinion (廉政意见) closes every third case. Those records cite entries: fill
    /// them in with [`needs`], [`fill_decision_entry`] and [`fill_checkpoint`] before appending.
    pub fn with_collective_decisions(mut self) -> Workload {
        self.collective = true;
        self
    }

    fn next_u64(&mut self) -> u64 {
        // xorshift64*: deterministic and dependency-free; not for secrets.
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next_u64() % items.len() as u64) as usize]
    }

    fn person(&mut self) -> Value {
        let number = self.next_u64() % 50_000;
        let name = format!("{}某{}", self.pick(SURNAMES), number % 100);
        json!({"id": format!("P-{number:05}"), "name": name, "unit": self.pick(UNITS), "post": self.pick(POSTS)})
    }

    fn date(&mut self, month: u64) -> String {
        format!("2025-{:02}-{:02}", month.clamp(1, 12), 1 + self.next_u64() % 28)
    }

    /// A date in `month`, but not before `after` (months past December stay in December, so two
    /// random days could come out of order).
    fn date_after(&mut self, after: &str, month: u64) -> String {
        let date = self.date(month);
        if date.as_str() < after { after.to_string() } else { date }
    }

    fn plan_case(&mut self) {
        self.case += 1;
        let case = self.case;
        let report_id = format!("R-{case:07}");
        let subject = self.person();
        let month = 1 + self.next_u64() % 6;
        let unit = subject["unit"].as_str().unwrap_or("市住建局").to_string();
        let name = subject["name"].as_str().unwrap_or("").to_string();
        let mut records: Vec<(&'static str, Value)> = Vec::new();
        let source = self.pick(&["petition", "inspection", "audit", "supervision"]);
        let received_on = self.date(month);
        records.push((
            "report.received",
            json!({"report_id": report_id, "subjects": [subject.clone()], "source": source,
                   "summary": format!("反映{name}同志在{unit}工作中履行全面从严治党主体责任不力，工程项目监管存在廉政风险"),
                   "received_on": received_on}),
        ));
        let interviewer = self.person();
        let interview_type = self.pick(&["reminder", "admonition", "accountability_interview", "inquiry_letter"]);
        let held_on = self.date(month + 1);
        records.push((
            "interview",
            json!({"interview_type": interview_type, "subjects": [subject.clone()], "interviewers": [interviewer], "held_on": held_on,
                   "reason": "针对苗头性、倾向性问题开展谈话提醒，督促其严格履行管党治党责任", "report_id": report_id,
                   "requirements": ["十五日内报送书面说明", "对照检查并制定整改措施"]}),
        ));
        let false_accusation = self.next_u64().is_multiple_of(5);
        let finding =
            if false_accusation { "false_accusation" } else { self.pick(&["substantiated", "partly_substantiated"]) };
        let concluded_on = self.date(month + 2);
        records.push((
            "report.concluded",
            json!({"report_id": report_id, "finding": finding,
                   "disposition": if false_accusation { "经核查系诬告陷害，予以澄清" } else { "予以问责" }, "concluded_on": concluded_on}),
        ));
        if false_accusation {
            let held_on = self.date(month + 3);
            records.push((
                "clarification",
                json!({"subject": subject, "report_id": report_id, "scope": format!("{unit}干部职工大会"), "held_on": held_on,
                       "statement": "经查，反映该同志的问题不属实，系诬告陷害，予以澄清正名，为担当者撑腰鼓劲"}),
            ));
        } else {
            let decision_id = format!("D-{case:07}");
            let measure = self.pick(&["notice", "admonition", "organizational_adjustment", "disciplinary_sanction"]);
            let decided_on = self.date(month + 3);
            let mut decision = json!({"decision_id": decision_id, "subjects": [subject.clone()],
                   "basis": [{"regulation": "中国共产党纪律处分条例", "article": "第六十七条"}], "measure": measure,
                   "facts": "不履行或者不正确履行全面从严治党主体责任，造成不良影响", "decided_by": "市纪委常委会",
                   "decided_on": decided_on, "report_id": report_id});
            // v2 fields, chosen by case number (no random draw: the stream stays as it was).
            if measure == "disciplinary_sanction" {
                decision["sanction"] = json!(SANCTIONS[(case % SANCTIONS.len() as u64) as usize]);
            }
            if measure == "admonition" && case.is_multiple_of(7) {
                decision["influence_months"] = json!(3);
                decision["influence_reason"] = json!("主动说明问题、积极整改，经集体研究从轻确定影响期");
            }
            let members: Vec<Value> = (1..=3)
                .map(|n| json!({"id": format!("P-CW-{n}"), "name": format!("常委{n}"), "unit": "市纪委监委", "post": "常委"}))
                .collect();
            let collective = self.collective && case.is_multiple_of(2);
            if collective {
                decision["approvers"] = json!(members);
                decision["approvals_required"] = json!(2);
            }
            records.push(("accountability.decision", decision));
            if collective {
                for member in &members[..2] {
                    records.push((
                        "decision.approval",
                        json!({"decision": null, "decision_id": decision_id, "member": member,
                               "approved_on": decided_on, "opinion": "同意"}),
                    ));
                }
            }
            if self.next_u64().is_multiple_of(4) {
                let issued_on = self.date_after(&decided_on, month + 3);
                records.push((
                    "circular",
                    json!({"circular_id": format!("TB-{case:07}"), "title": "关于典型问题的通报", "decision_ids": [decision_id],
                           "scope": "全市各级党组织", "issued_by": "市纪委监委", "issued_on": issued_on,
                           "summary": format!("通报{unit}履行主体责任不力典型问题，以案为鉴")}),
                ));
            }
            if self.next_u64().is_multiple_of(3) {
                let appeal_id = format!("A-{case:07}");
                let filed_on = self.date(month + 4);
                let outcome = self.pick(&["upheld", "modified", "revoked"]);
                let decided_on = self.date(month + 5);
                records.push((
                    "appeal.filed",
                    json!({"appeal_id": appeal_id, "decision_id": decision_id, "grounds": "认为对其责任认定过重", "filed_on": filed_on}),
                ));
                records.push((
                    "appeal.decided",
                    json!({"appeal_id": appeal_id, "outcome": outcome, "summary": "经复查，依规作出复查决定", "decided_on": decided_on}),
                ));
            }
            let rectification_id = format!("X-{case:07}");
            let issued_on = self.date_after(&decided_on, month + 3);
            let target = json!({"org_id": format!("ORG-{unit}"), "name": unit});
            let owner = self.person();
            let (first_due, second_due) =
                (self.date_after(&issued_on, month + 4), self.date_after(&issued_on, month + 5));
            records.push((
                "rectification.ordered",
                json!({"rectification_id": rectification_id, "target": target, "issued_on": issued_on,
                       "items": [{"content": "建立廉政风险台账", "responsible": owner, "due": first_due},
                                 {"content": "完善招投标监督机制；开展警示教育", "responsible": target, "due": second_due}],
                       "decision_id": decision_id}),
            ));
            if self.next_u64().is_multiple_of(2) {
                let first_done = self.date_after(&issued_on, month + 4);
                records.push((
                    "rectification.completed",
                    json!({"rectification_id": rectification_id, "completed_on": first_done, "summary": "廉政风险台账已建立", "items": [1]}),
                ));
                if self.next_u64().is_multiple_of(2) {
                    let completed_on = self.date_after(&first_done, month + 6);
                    records.push((
                        "rectification.completed",
                        json!({"rectification_id": rectification_id, "completed_on": completed_on, "summary": "整改措施全部落实，已报送整改报告"}),
                    ));
                }
            }
            if self.next_u64().is_multiple_of(3) {
                let order_id = format!("DB-{case:07}");
                let deadline = self.date_after(&issued_on, month + 6);
                records.push((
                    "supervision.ordered",
                    json!({"order_id": order_id, "task": "督促按期完成整改，逐项销号", "responsible": target, "deadline": deadline,
                           "issued_by": "市纪委监委第一监督检查室", "issued_on": issued_on, "rectification_id": rectification_id}),
                ));
                let reported_on = self.date_after(&issued_on, month + 5);
                records.push((
                    "supervision.progress",
                    json!({"order_id": order_id, "reported_on": reported_on, "progress": "整改正在推进，已完成过半"}),
                ));
                if self.next_u64().is_multiple_of(2) {
                    let closed_on = self.date_after(&reported_on, month + 6);
                    records.push((
                        "supervision.closed",
                        json!({"order_id": order_id, "closed_on": closed_on, "result": "督办事项已落实，予以办结"}),
                    ));
                }
            }
        }
        if self.next_u64().is_multiple_of(4) {
            self.plan_inquiry(case, month, &mut records);
        }
        if case.is_multiple_of(5) {
            let grade = self.pick(&["excellent", "good", "fair", "poor"]);
            let score = format!("{}.{}", 60 + self.next_u64() % 40, self.next_u64() % 10);
            let assessed_on = self.date(12);
            records.push((
                "assessment",
                json!({"unit": {"org_id": format!("ORG-{case:07}"), "name": unit}, "year": "2025", "grade": grade, "score": score,
                       "assessed_by": "市委党风廉政建设责任制考核组", "assessed_on": assessed_on}),
            ));
        }
        let reporter = self.person();
        let period = self.pick(&["2025", "2025-H1", "2025-Q2"]);
        let held_on = self.date(month + 6);
        let assessment = self.pick(&["excellent", "good", "fair"]);
        records.push((
            "duty_report",
            json!({"reporter": {"id": format!("P-DR-{case:07}"), "name": reporter["name"], "unit": reporter["unit"], "post": "局长"},
                   "period": period, "occasion": "党组述责述廉会议", "held_on": held_on,
                   "summary": "报告本人履行全面从严治党主体责任和廉洁自律情况", "assessment": assessment}),
        ));
        if self.collective && case.is_multiple_of(3) {
            // An opinion about the cadre who reported: no adverse findings, nothing cited.
            records.push((
                "opinion.issued",
                json!({"opinion_id": format!("YJ-{case:07}"),
                       "subject": {"id": format!("P-DR-{case:07}"), "name": reporter["name"], "unit": reporter["unit"], "post": "局长"},
                       "requested_by": "市委组织部", "purpose": "拟提拔任用", "conclusion": "no_adverse_findings",
                       "as_of": held_on, "issued_on": held_on, "checkpoint": null,
                       "text": "经查阅廉政档案，未发现该同志有违反廉洁纪律问题。结论：无不良反映。"}),
            ));
        }
        self.pending.extend(records);
    }
}

impl Workload {
    /// A letter inquiry (谈话函询) to a new cadre: issued, mostly answered, then concluded; one
    /// concluded 予以澄清 is followed by the clarification it allows.
    fn plan_inquiry(&mut self, case: u64, month: u64, records: &mut Vec<(&'static str, Value)>) {
        let inquiry_id = format!("HX-{case:07}");
        let subject = self.person();
        let issued_on = self.date(month);
        records.push((
            "inquiry.issued",
            json!({"inquiry_id": inquiry_id, "subject": subject, "matters": "反映其插手工程项目，请于15个工作日内书面说明",
                   "issued_by": "市纪委监委办公室", "issued_on": issued_on}),
        ));
        let replied = !self.next_u64().is_multiple_of(5);
        let mut last = issued_on.clone();
        if replied {
            last = self.date_after(&issued_on, month + 1);
            records.push((
                "inquiry.replied",
                json!({"inquiry_id": inquiry_id, "replied_on": last, "reply": "本人如实说明有关情况，相关材料附后"}),
            ));
        }
        if self.next_u64().is_multiple_of(4) {
            return;
        }
        let conclusion = if replied {
            self.pick(&["accepted", "clarified", "education", "preliminary_verification"])
        } else {
            "preliminary_verification"
        };
        let concluded_on = self.date_after(&last, month + 2);
        records.push((
            "inquiry.concluded",
            json!({"inquiry_id": inquiry_id, "conclusion": conclusion, "concluded_on": concluded_on, "summary": "经核实，依规作出处理"}),
        ));
        if conclusion == "clarified" {
            let held_on = self.date_after(&concluded_on, month + 3);
            records.push((
                "clarification",
                json!({"subject": subject, "inquiry_id": inquiry_id, "scope": "本单位干部职工会议", "held_on": held_on,
                       "statement": "经函询核实，反映问题不存在，予以澄清正名"}),
            ));
        }
    }
}

impl Iterator for Workload {
    type Item = (&'static str, Value);

    fn next(&mut self) -> Option<Self::Item> {
        if self.pending.is_empty() {
            self.plan_case();
        }
        self.pending.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_gives_the_same_records() {
        let first: Vec<_> = Workload::new(7).take(200).collect();
        assert_eq!(first, Workload::new(7).take(200).collect::<Vec<_>>());
        assert_ne!(first, Workload::new(8).take(200).collect::<Vec<_>>());
    }

    #[test]
    fn every_case_starts_with_its_report() {
        let kinds: Vec<&str> = Workload::new(1).take(2000).map(|(kind, _)| kind).collect();
        assert_eq!(kinds[0], "report.received");
        let reports = kinds.iter().filter(|kind| **kind == "report.received").count();
        let duty_reports = kinds.iter().filter(|kind| **kind == "duty_report").count();
        // Each case ends with a duty report; the last case may be cut short by `take`.
        assert!(reports == duty_reports || reports == duty_reports + 1, "{reports} cases, {duty_reports} ended");
    }
}
