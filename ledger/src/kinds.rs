//! The record-kind registry: every kind the ledger knows, with its Chinese and English names.
//!
//! One table, used by every place that shows or checks a kind. Kinds not in the table are still
//! accepted by the core format (any lowercase dotted name outside `ledger.`, `key.`, `audit.`);
//! they are shown by their name.

/// A kind the ledger knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindInfo {
    pub name: &'static str,
    pub label_zh: &'static str,
    pub label_en: &'static str,
}

const fn kind(name: &'static str, label_zh: &'static str, label_en: &'static str) -> KindInfo {
    KindInfo { name, label_zh, label_en }
}

/// Every known kind.
pub const KINDS: &[KindInfo] = &[
    kind("ledger.genesis", "台账创建", "ledger genesis"),
    kind("ledger.redact", "内容删除", "redaction"),
    kind("key.grant", "密钥授权", "key grant"),
    kind("key.revoke", "密钥撤销", "key revocation"),
    kind("audit.attest", "审计签注", "audit attestation"),
    kind("report.received", "问题线索受理", "report received"),
    kind("report.concluded", "线索处置", "report concluded"),
    kind("interview", "约谈/谈话", "interview"),
    kind("duty_report", "述责述廉", "duty-and-integrity report"),
    kind("accountability.decision", "问责决定", "accountability decision"),
    kind("clarification", "澄清正名", "clarification"),
    kind("rectification.ordered", "整改要求", "rectification ordered"),
    kind("rectification.completed", "整改完成", "rectification completed"),
    kind("appeal.filed", "申诉", "appeal filed"),
    kind("appeal.decided", "复查复核", "appeal decided"),
    kind("correction", "更正", "correction"),
];

pub fn lookup(name: &str) -> Option<&'static KindInfo> {
    KINDS.iter().find(|k| k.name == name)
}

/// The Chinese label of a kind, or the kind itself when it is not a known one.
pub fn label_zh(name: &str) -> &str {
    lookup(name).map(|k| k.label_zh).unwrap_or(name)
}
