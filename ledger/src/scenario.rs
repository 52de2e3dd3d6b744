//! Realistic record bodies: the demo's story (from the speech on 党风廉政建设 that the product
//! serves) and, later, generated workloads for benchmarks and large tests.

use serde_json::{Value, json};

/// Who signs a scenario record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Author {
    FirstOfficer,
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
                "items": "建立工程项目廉政风险台账；完善招投标全过程监督机制；开展警示教育",
                "due_on": "2026-08-31",
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
