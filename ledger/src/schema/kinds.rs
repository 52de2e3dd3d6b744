//! The kind table (记录类型表): every record kind's labels, schema versions, fields and lifecycle
//! rule, as data. Adding a kind is adding an entry here (and, when it has a lifecycle rule, a
//! [`Lifecycle`] variant checked in `projection/rules.rs`); nothing else lists kinds.

use super::{Field, FieldType, KindSpec, Lifecycle, Version, opt, req};

const SOURCES: &[(&str, &str)] = &[
    ("petition", "信访举报"),
    ("inspection", "巡视巡察移交"),
    ("audit", "审计移交"),
    ("supervision", "监督检查发现"),
    ("other", "其他"),
];
const FINDINGS: &[(&str, &str)] = &[
    ("substantiated", "属实"),
    ("partly_substantiated", "部分属实"),
    ("unsubstantiated", "查无实据"),
    ("false_accusation", "诬告陷害"),
];
const INTERVIEW_TYPES: &[(&str, &str)] = &[
    ("reminder", "提醒谈话"),
    ("admonition", "诫勉谈话"),
    ("accountability_interview", "约谈"),
    ("inquiry_letter", "函询"),
];
const ASSESSMENTS: &[(&str, &str)] = &[("excellent", "好"), ("good", "较好"), ("fair", "一般"), ("poor", "差")];
/// Measures for people and for organisations (《中国共产党问责条例》).
pub(crate) const PERSON_MEASURES: &[(&str, &str)] = &[
    ("notice", "通报"),
    ("admonition", "诫勉"),
    ("organizational_adjustment", "组织调整"),
    ("organizational_handling", "组织处理"),
    ("disciplinary_sanction", "纪律处分"),
];
pub(crate) const ORGANISATION_MEASURES: &[(&str, &str)] =
    &[("inspection", "检查"), ("notice", "通报"), ("reorganization", "改组")];
const ALL_MEASURES: &[(&str, &str)] = &[
    ("notice", "通报"),
    ("admonition", "诫勉"),
    ("organizational_adjustment", "组织调整"),
    ("organizational_handling", "组织处理"),
    ("disciplinary_sanction", "纪律处分"),
    ("inspection", "检查"),
    ("reorganization", "改组"),
];
const OUTCOMES: &[(&str, &str)] = &[("upheld", "维持"), ("modified", "变更"), ("revoked", "撤销")];
/// The sanction of a `disciplinary_sanction` decision: party sanctions (《中国共产党纪律处分条例》
/// 第八条) and government sanctions (《中华人民共和国公职人员政务处分法》第七条). Their influence
/// periods are in `influence.rs`.
pub(crate) const SANCTIONS: &[(&str, &str)] = &[
    ("party_warning", "党内警告"),
    ("party_serious_warning", "党内严重警告"),
    ("party_post_removal", "撤销党内职务"),
    ("party_probation_1y", "留党察看一年"),
    ("party_probation_2y", "留党察看二年"),
    ("party_expulsion", "开除党籍"),
    ("gov_warning", "政务警告"),
    ("gov_demerit", "记过"),
    ("gov_major_demerit", "记大过"),
    ("gov_demotion", "降级"),
    ("gov_dismissal", "撤职"),
    ("gov_expulsion", "开除"),
];
/// What an integrity opinion (廉政意见) concludes.
const OPINION_CONCLUSIONS: &[(&str, &str)] = &[
    ("no_adverse_findings", "无不良反映"),
    ("clues_under_review", "有问题线索正在核查"),
    ("within_influence_period", "处于影响期内"),
    ("past_accountability", "有问责或处分记录，已过影响期"),
];

use FieldType as T;

const INTERVIEW_V1: &[Field] = &[
    req("interview_type", "谈话类型", T::Enum(INTERVIEW_TYPES)),
    req("subjects", "谈话对象", T::People),
    req("interviewers", "谈话人", T::People),
    req("held_on", "谈话日期", T::Date),
    req("reason", "谈话事由", T::Text),
    opt("report_id", "线索编号", T::Id),
    opt("requirements", "工作要求", T::Text),
    opt("follow_up_by", "回访期限", T::Date),
];
/// v2: `requirements` is a list of separate requirements, so that each can be followed up.
const INTERVIEW_V2: &[Field] = &[
    req("interview_type", "谈话类型", T::Enum(INTERVIEW_TYPES)),
    req("subjects", "谈话对象", T::People),
    req("interviewers", "谈话人", T::People),
    req("held_on", "谈话日期", T::Date),
    req("reason", "谈话事由", T::Text),
    opt("report_id", "线索编号", T::Id),
    opt("requirements", "工作要求", T::TextList),
    opt("follow_up_by", "回访期限", T::Date),
];

const RECTIFICATION_V1: &[Field] = &[
    req("rectification_id", "整改编号", T::Id),
    req("target", "整改对象", T::PersonOrOrganisation),
    req("items", "整改事项", T::Text),
    req("due_on", "整改期限", T::Date),
    opt("decision_id", "决定编号", T::Id),
    opt("report_id", "线索编号", T::Id),
];
/// v2 (issue 17): an issue date, and the items as a list, each with its owner and deadline, so
/// that each is followed up and completed on its own. v1 is upcast to one item owned by the target
/// and issued on the day the record was made (`issued_on_inferred`).
const RECTIFICATION_V2: &[Field] = &[
    req("rectification_id", "整改编号", T::Id),
    req("target", "整改对象", T::PersonOrOrganisation),
    req("issued_on", "下达日期", T::Date),
    req("items", "整改事项", T::Items),
    opt("decision_id", "决定编号", T::Id),
    opt("report_id", "线索编号", T::Id),
];
const COMPLETION_V1: &[Field] = &[
    req("rectification_id", "整改编号", T::Id),
    req("completed_on", "完成日期", T::Date),
    req("summary", "整改情况", T::Text),
];
/// v2: `items` names the items completed (numbered from 1); without it, every item still open.
const COMPLETION_V2: &[Field] = &[
    req("rectification_id", "整改编号", T::Id),
    req("completed_on", "完成日期", T::Date),
    req("summary", "整改情况", T::Text),
    opt("items", "完成事项", T::ItemNumbers),
];
const CLARIFICATION_V1: &[Field] = &[
    req("subject", "澄清对象", T::Person),
    req("report_id", "线索编号", T::Id),
    req("scope", "澄清范围", T::Line),
    req("held_on", "澄清日期", T::Date),
    req("statement", "澄清内容", T::Text),
];
/// v2: a clarification rests on a report concluded as unfounded, or on a letter inquiry concluded
/// 予以澄清 (`inquiry_id`): exactly one of the two.
const CLARIFICATION_V2: &[Field] = &[
    req("subject", "澄清对象", T::Person),
    opt("report_id", "线索编号", T::Id),
    opt("inquiry_id", "函询编号", T::Id),
    req("scope", "澄清范围", T::Line),
    req("held_on", "澄清日期", T::Date),
    req("statement", "澄清内容", T::Text),
];

// kinds group (issue 17): the values of the inquiry kinds.
/// Conclusions of a letter inquiry (《中国共产党纪律检查机关监督执纪工作规则》第二十九条).
pub(crate) const INQUIRY_CONCLUSIONS: &[(&str, &str)] = &[
    ("accepted", "采信了结"),
    ("clarified", "予以澄清"),
    ("education", "谈话提醒、批评教育"),
    ("preliminary_verification", "转初核"),
];
const DECISION_V1: &[Field] = &[
    req("decision_id", "决定编号", T::Id),
    req("subjects", "问责对象", T::PeopleOrOrganisations),
    req("basis", "问责依据", T::Basis),
    req("measure", "问责方式", T::Enum(ALL_MEASURES)),
    req("facts", "问责事实", T::Text),
    req("decided_by", "决定机关", T::Line),
    req("decided_on", "决定日期", T::Date),
    opt("report_id", "线索编号", T::Id),
];
/// v2 (decisions group, issue 17): the sanction a `disciplinary_sanction` names (which fixes the
/// influence period, `influence.rs`), the collective decision (集体研究: the members who approve it
/// and how many approvals put it in effect), and an influence period set for this decision with
/// its reason. Every new field is optional, so a v1 body is a valid v2 body as it stands.
const DECISION_V2: &[Field] = &[
    req("decision_id", "决定编号", T::Id),
    req("subjects", "问责对象", T::PeopleOrOrganisations),
    req("basis", "问责依据", T::Basis),
    req("measure", "问责方式", T::Enum(ALL_MEASURES)),
    req("facts", "问责事实", T::Text),
    req("decided_by", "决定机关", T::Line),
    req("decided_on", "决定日期", T::Date),
    opt("report_id", "线索编号", T::Id),
    opt("sanction", "处分种类", T::Enum(SANCTIONS)),
    opt("approvers", "集体研究成员", T::People),
    opt("approvals_required", "生效所需同意人数", T::Count(1, crate::limits::MAX_LIST_ITEMS as u64)),
    opt("influence_months", "影响期（月）", T::Count(0, 120)),
    opt("influence_reason", "影响期调整理由", T::Text),
];

/// Every kind the ledger knows.
pub const KINDS: &[KindSpec] = &[
    KindSpec {
        name: "ledger.genesis",
        label_zh: "台账创建",
        label_en: "ledger genesis",
        versions: &[],
        lifecycle: Lifecycle::None,
        event_date: "",
        domain: false,
    },
    KindSpec {
        name: "ledger.redact",
        label_zh: "内容删除",
        label_en: "redaction",
        versions: &[],
        lifecycle: Lifecycle::None,
        event_date: "",
        domain: false,
    },
    KindSpec {
        name: "key.grant",
        label_zh: "密钥授权",
        label_en: "key grant",
        versions: &[],
        lifecycle: Lifecycle::None,
        event_date: "",
        domain: false,
    },
    KindSpec {
        name: "key.revoke",
        label_zh: "密钥撤销",
        label_en: "key revocation",
        versions: &[],
        lifecycle: Lifecycle::None,
        event_date: "",
        domain: false,
    },
    KindSpec {
        name: "report.received",
        label_zh: "问题线索受理",
        label_en: "report received",
        versions: &[Version {
            v: 1,
            fields: &[
                req("report_id", "线索编号", T::Id),
                req("subjects", "反映对象", T::People),
                req("source", "线索来源", T::Enum(SOURCES)),
                req("summary", "反映问题摘要", T::Text),
                req("received_on", "受理日期", T::Date),
            ],
        }],
        lifecycle: Lifecycle::ReportReceived,
        event_date: "received_on",
        domain: true,
    },
    KindSpec {
        name: "report.concluded",
        label_zh: "线索处置",
        label_en: "report concluded",
        versions: &[Version {
            v: 1,
            fields: &[
                req("report_id", "线索编号", T::Id),
                req("finding", "核查结论", T::Enum(FINDINGS)),
                req("disposition", "处置方式", T::Text),
                req("concluded_on", "办结日期", T::Date),
            ],
        }],
        lifecycle: Lifecycle::ReportConcluded,
        event_date: "concluded_on",
        domain: true,
    },
    KindSpec {
        name: "interview",
        label_zh: "约谈/谈话",
        label_en: "interview",
        versions: &[Version { v: 1, fields: INTERVIEW_V1 }, Version { v: 2, fields: INTERVIEW_V2 }],
        lifecycle: Lifecycle::Interview,
        event_date: "held_on",
        domain: true,
    },
    KindSpec {
        name: "duty_report",
        label_zh: "述责述廉",
        label_en: "duty-and-integrity report",
        versions: &[Version {
            v: 1,
            fields: &[
                req("reporter", "述职人", T::Person),
                req("period", "述职期间", T::Period),
                req("occasion", "述职场合", T::Line),
                req("held_on", "述职日期", T::Date),
                req("summary", "述职摘要", T::Text),
                opt("document_sha256", "述职报告SHA-256", T::Sha256),
                opt("assessment", "评价等次", T::Enum(ASSESSMENTS)),
            ],
        }],
        lifecycle: Lifecycle::DutyReport,
        event_date: "held_on",
        domain: true,
    },
    KindSpec {
        name: "accountability.decision",
        label_zh: "问责决定",
        label_en: "accountability decision",
        versions: &[Version { v: 1, fields: DECISION_V1 }, Version { v: 2, fields: DECISION_V2 }],
        lifecycle: Lifecycle::Decision,
        event_date: "decided_on",
        domain: true,
    },
    KindSpec {
        name: "clarification",
        label_zh: "澄清正名",
        label_en: "clarification",
        versions: &[Version { v: 1, fields: CLARIFICATION_V1 }, Version { v: 2, fields: CLARIFICATION_V2 }],
        lifecycle: Lifecycle::Clarification,
        event_date: "held_on",
        domain: true,
    },
    KindSpec {
        name: "rectification.ordered",
        label_zh: "整改要求",
        label_en: "rectification ordered",
        versions: &[Version { v: 1, fields: RECTIFICATION_V1 }, Version { v: 2, fields: RECTIFICATION_V2 }],
        lifecycle: Lifecycle::RectificationOrdered,
        event_date: "issued_on",
        domain: true,
    },
    KindSpec {
        name: "rectification.completed",
        label_zh: "整改完成",
        label_en: "rectification completed",
        versions: &[Version { v: 1, fields: COMPLETION_V1 }, Version { v: 2, fields: COMPLETION_V2 }],
        lifecycle: Lifecycle::RectificationCompleted,
        event_date: "completed_on",
        domain: true,
    },
    KindSpec {
        name: "appeal.filed",
        label_zh: "申诉",
        label_en: "appeal filed",
        versions: &[Version {
            v: 1,
            fields: &[
                req("appeal_id", "申诉编号", T::Id),
                req("decision_id", "决定编号", T::Id),
                req("grounds", "申诉理由", T::Text),
                req("filed_on", "申诉日期", T::Date),
            ],
        }],
        lifecycle: Lifecycle::AppealFiled,
        event_date: "filed_on",
        domain: true,
    },
    KindSpec {
        name: "appeal.decided",
        label_zh: "复查复核",
        label_en: "appeal decided",
        versions: &[Version {
            v: 1,
            fields: &[
                req("appeal_id", "申诉编号", T::Id),
                req("outcome", "复查结论", T::Enum(OUTCOMES)),
                req("summary", "复查意见", T::Text),
                req("decided_on", "复查日期", T::Date),
            ],
        }],
        lifecycle: Lifecycle::AppealDecided,
        event_date: "decided_on",
        domain: true,
    },
    KindSpec {
        name: "correction",
        label_zh: "更正",
        label_en: "correction",
        versions: &[Version {
            v: 1,
            fields: &[
                req("target", "更正对象", T::EntryRef),
                req("reason", "更正理由", T::Text),
                req("body", "更正后内容", T::Body),
            ],
        }],
        lifecycle: Lifecycle::Correction,
        event_date: "",
        domain: true,
    },
    KindSpec {
        name: "audit.attest",
        label_zh: "审计签注",
        label_en: "audit attestation",
        versions: &[Version {
            v: 1,
            fields: &[req("checkpoint", "检查点", T::CheckpointRef), req("result", "审计结论", T::Text)],
        }],
        lifecycle: Lifecycle::AuditAttest,
        event_date: "",
        domain: false,
    },
    // kinds group (issue 17): 督办 supervision orders, 谈话函询 letter inquiries, 考核评价
    // assessments, 通报 circulars.
    KindSpec {
        name: "supervision.ordered",
        label_zh: "督办",
        label_en: "supervision order",
        versions: &[Version {
            v: 1,
            fields: &[
                req("order_id", "督办编号", T::Id),
                req("task", "督办事项", T::Text),
                req("responsible", "责任单位/责任人", T::PersonOrOrganisation),
                req("deadline", "办理时限", T::DueDate),
                req("issued_by", "督办机关", T::Line),
                req("issued_on", "督办日期", T::Date),
                opt("report_id", "线索编号", T::Id),
                opt("decision_id", "决定编号", T::Id),
                opt("rectification_id", "整改编号", T::Id),
            ],
        }],
        lifecycle: Lifecycle::SupervisionOrdered,
        event_date: "issued_on",
        domain: true,
    },
    KindSpec {
        name: "supervision.progress",
        label_zh: "督办进展",
        label_en: "supervision progress",
        versions: &[Version {
            v: 1,
            fields: &[
                req("order_id", "督办编号", T::Id),
                req("reported_on", "报告日期", T::Date),
                req("progress", "进展情况", T::Text),
            ],
        }],
        lifecycle: Lifecycle::SupervisionProgress,
        event_date: "reported_on",
        domain: true,
    },
    KindSpec {
        name: "supervision.closed",
        label_zh: "督办办结",
        label_en: "supervision closed",
        versions: &[Version {
            v: 1,
            fields: &[
                req("order_id", "督办编号", T::Id),
                req("closed_on", "办结日期", T::Date),
                req("result", "办理结果", T::Text),
            ],
        }],
        lifecycle: Lifecycle::SupervisionClosed,
        event_date: "closed_on",
        domain: true,
    },
    KindSpec {
        name: "inquiry.issued",
        label_zh: "谈话函询",
        label_en: "letter inquiry",
        versions: &[Version {
            v: 1,
            fields: &[
                req("inquiry_id", "函询编号", T::Id),
                req("subject", "函询对象", T::Person),
                req("matters", "函询事项", T::Text),
                req("issued_by", "函询机关", T::Line),
                req("issued_on", "发函日期", T::Date),
                opt("reply_due", "回复期限", T::DueDate),
                opt("report_id", "线索编号", T::Id),
            ],
        }],
        lifecycle: Lifecycle::InquiryIssued,
        event_date: "issued_on",
        domain: true,
    },
    KindSpec {
        name: "inquiry.replied",
        label_zh: "函询回复",
        label_en: "inquiry reply",
        versions: &[Version {
            v: 1,
            fields: &[
                req("inquiry_id", "函询编号", T::Id),
                req("replied_on", "回复日期", T::Date),
                req("reply", "说明材料", T::Text),
                opt("endorsed_by", "签署意见人", T::Line),
                opt("document_sha256", "说明材料SHA-256", T::Sha256),
            ],
        }],
        lifecycle: Lifecycle::InquiryReplied,
        event_date: "replied_on",
        domain: true,
    },
    KindSpec {
        name: "inquiry.concluded",
        label_zh: "函询了结",
        label_en: "inquiry concluded",
        versions: &[Version {
            v: 1,
            fields: &[
                req("inquiry_id", "函询编号", T::Id),
                req("conclusion", "处理意见", T::Enum(INQUIRY_CONCLUSIONS)),
                req("concluded_on", "了结日期", T::Date),
                req("summary", "情况报告", T::Text),
            ],
        }],
        lifecycle: Lifecycle::InquiryConcluded,
        event_date: "concluded_on",
        domain: true,
    },
    KindSpec {
        name: "assessment",
        label_zh: "考核评价",
        label_en: "assessment",
        versions: &[Version {
            v: 1,
            fields: &[
                req("unit", "被考核单位", T::Organisation),
                req("year", "考核年度", T::Year),
                req("grade", "考核等次", T::Enum(ASSESSMENTS)),
                req("score", "考核得分", T::Score),
                req("assessed_by", "考核机关", T::Line),
                req("assessed_on", "考核日期", T::Date),
                opt("summary", "考核意见", T::Text),
            ],
        }],
        lifecycle: Lifecycle::Assessment,
        event_date: "assessed_on",
        domain: true,
    },
    KindSpec {
        name: "circular",
        label_zh: "通报",
        label_en: "circular",
        versions: &[Version {
            v: 1,
            fields: &[
                req("circular_id", "通报编号", T::Id),
                req("title", "通报标题", T::Line),
                req("decision_ids", "通报的决定", T::IdList),
                req("scope", "通报范围", T::Line),
                req("issued_by", "通报机关", T::Line),
                req("issued_on", "通报日期", T::Date),
                opt("summary", "通报内容", T::Text),
            ],
        }],
        lifecycle: Lifecycle::Circular,
        event_date: "issued_on",
        domain: true,
    },
    // decisions group (issue 17): collective decisions (集体研究) and integrity opinions (廉政意见).
    KindSpec {
        name: "decision.approval",
        label_zh: "集体研究同意",
        label_en: "decision approval",
        versions: &[Version {
            v: 1,
            fields: &[
                req("decision", "所审决定", T::EntryRef),
                req("decision_id", "决定编号", T::Id),
                req("member", "审批成员", T::Person),
                req("approved_on", "同意日期", T::Date),
                opt("opinion", "审批意见", T::Text),
            ],
        }],
        lifecycle: Lifecycle::DecisionApproval,
        event_date: "approved_on",
        domain: true,
    },
    KindSpec {
        name: "opinion.issued",
        label_zh: "廉政意见",
        label_en: "integrity opinion issued",
        versions: &[Version {
            v: 1,
            fields: &[
                req("opinion_id", "意见编号", T::Id),
                req("subject", "意见对象", T::Person),
                req("requested_by", "征求意见单位", T::Line),
                req("purpose", "征求事由", T::Line),
                req("conclusion", "意见结论", T::Enum(OPINION_CONCLUSIONS)),
                req("as_of", "截止日期", T::Date),
                req("issued_on", "出具日期", T::Date),
                req("checkpoint", "引用检查点", T::CheckpointRef),
                opt("cited", "引用记录", T::EntryRefs),
                opt("text", "意见正文", T::Text),
            ],
        }],
        lifecycle: Lifecycle::OpinionIssued,
        event_date: "issued_on",
        domain: true,
    },
];
