//! The declarative registry of record kinds (记录类型登记表) and the body validation it drives.
//!
//! Each [`KindSpec`] names a kind, its Chinese and English labels, its schema versions with their
//! fields, and its lifecycle rule (checked against the projections in `projection.rs`). Validation
//! of a body is driven by this table alone: unknown fields are refused, every error names the
//! field path (`body.subjects[0].id`) and the reason, dates are real `YYYY-MM-DD` dates not after
//! the sequencing day, and free text is stored exactly as given, bounded in size, without control
//! characters other than newline and tab. Older schema versions are upcast to the current one when
//! read ([`upcast`]); the stored bytes never change.

use std::fmt;

use serde_json::{Map, Value};

use crate::limits::{MAX_ID_CHARS, MAX_LIST_ITEMS, MAX_REPORTED_ERRORS, MAX_SHORT_TEXT_CHARS, MAX_TEXT_CHARS};
use crate::time::{Date, Timestamp};

mod json_schema;
mod kinds;

pub use json_schema::{DIALECT, describe_kinds, json_schema, lifecycle_rule, type_description};
pub use kinds::KINDS;
#[cfg(test)]
pub(crate) use kinds::SANCTIONS;
pub(crate) use kinds::{ORGANISATION_MEASURES, PERSON_MEASURES};

use FieldType as T;

/// The type of one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Free text (multi-line), at most [`MAX_TEXT_CHARS`] characters.
    Text,
    /// A short single-line text, at most [`MAX_SHORT_TEXT_CHARS`] characters.
    Line,
    /// An identifier chosen by the commission (`R-2026-001`, `京纪〔2026〕1号`).
    Id,
    /// A calendar date `YYYY-MM-DD`, not after the sequencing day.
    Date,
    /// One of the listed values (value, Chinese label).
    Enum(&'static [(&'static str, &'static str)]),
    /// `{"id","name","unit","post"?}`
    Person,
    /// A non-empty list of people, distinct ids.
    People,
    /// `{"org_id","name"}`
    Organisation,
    /// A person or an organisation.
    PersonOrOrganisation,
    /// A non-empty list of people and/or organisations.
    PeopleOrOrganisations,
    /// A non-empty list of `{"regulation","article"}`.
    Basis,
    /// `2026`, `2026-H1`, `2026-Q3`.
    Period,
    /// 64 lowercase hex digits.
    Sha256,
    /// A non-empty list of short texts (v2 interview requirements).
    TextList,
    /// `{"seq","hash"}` of an earlier entry.
    EntryRef,
    /// `{"size","root"}` of a checkpoint.
    CheckpointRef,
    /// A full body, validated as the target's kind (corrections).
    Body,
    // kinds group (issue 17): deadlines, years, scores, id lists, rectification items.
    /// A calendar date `YYYY-MM-DD` that may lie in the future (a deadline, 期限).
    DueDate,
    /// A year `YYYY` (考核年度).
    Year,
    /// A score from 0 to 100 as a decimal text with at most two decimals (`"92.5"`): bodies hold
    /// integers only (format v1), and a score is a measured value, not a count.
    Score,
    /// A non-empty list of distinct identifiers.
    IdList,
    /// A non-empty list of rectification items `{"content","responsible","due"}` (整改事项).
    Items,
    /// A non-empty list of distinct item numbers, counted from 1.
    ItemNumbers,
    // decisions group (issue 17): counts and lists of entry references.
    /// A whole number within `[min, max]` (`approvals_required`, `influence_months`).
    Count(u64, u64),
    /// A non-empty list of distinct `{"seq","hash"}` entry references (the records an opinion cites).
    EntryRefs,
}

/// One field of a kind's body.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The field name in the body.
    pub name: &'static str,
    /// Its Chinese label.
    pub label_zh: &'static str,
    /// Its type.
    pub field_type: FieldType,
    /// Whether the body must have it.
    pub required: bool,
}

pub(crate) const fn req(name: &'static str, label_zh: &'static str, field_type: FieldType) -> Field {
    Field { name, label_zh, field_type, required: true }
}

pub(crate) const fn opt(name: &'static str, label_zh: &'static str, field_type: FieldType) -> Field {
    Field { name, label_zh, field_type, required: false }
}

/// The lifecycle rule of a kind: what must hold in the ledger's state before it is appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// No rule beyond the schema.
    None,
    /// `report_id` is new.
    ReportReceived,
    /// `report_id` is received and not yet concluded (concluded once).
    ReportConcluded,
    /// The optional `report_id` exists.
    Interview,
    /// One duty report per reporter and period.
    DutyReport,
    /// `decision_id` is new, the measure fits the subjects, the optional `report_id` exists.
    Decision,
    /// `report_id` is concluded `unsubstantiated` or `false_accusation` and names the subject.
    Clarification,
    /// `rectification_id` is new; the optional `decision_id`/`report_id` exist.
    RectificationOrdered,
    /// `rectification_id` is ordered and not yet completed.
    RectificationCompleted,
    /// `appeal_id` is new; `decision_id` exists.
    AppealFiled,
    /// `appeal_id` is filed and not yet decided.
    AppealDecided,
    /// `target` is an earlier domain record with that hash; `body` is valid for its kind and keeps
    /// its identifiers.
    Correction,
    /// `checkpoint.root` is the ledger's real root at `checkpoint.size`.
    AuditAttest,
    // kinds group (issue 17): supervision orders, letter inquiries, assessments, circulars.
    /// `order_id` is new; the deadline is not before the issue date; optional links exist.
    SupervisionOrdered,
    /// `order_id` is ordered and still open; the report is not dated before the order.
    SupervisionProgress,
    /// `order_id` is ordered and still open (closed once); not closed before it was issued.
    SupervisionClosed,
    /// `inquiry_id` is new; the optional `report_id` exists.
    InquiryIssued,
    /// `inquiry_id` is issued, not yet answered nor concluded.
    InquiryReplied,
    /// `inquiry_id` is issued and not yet concluded; 采信了结 and 予以澄清 need the written reply.
    InquiryConcluded,
    /// One assessment per unit and year.
    Assessment,
    /// `circular_id` is new; every decision it names exists and is not revoked.
    Circular,
    // decisions group (issue 17): collective decisions and integrity opinions.
    /// `decision` is the entry of a decision that requires approvals, is not revoked, and names
    /// `member` among its approvers; one approval per member and per key.
    DecisionApproval,
    /// `opinion_id` is new; every cited entry exists with that hash; the checkpoint is real.
    OpinionIssued,
}

/// One schema version of a kind.
#[derive(Debug, Clone, Copy)]
pub struct Version {
    /// The version number.
    pub v: u64,
    /// Its fields.
    pub fields: &'static [Field],
}

/// A record kind: names, versions (the last is current) and lifecycle rule.
#[derive(Debug, Clone, Copy)]
pub struct KindSpec {
    /// The kind name (as in records).
    pub name: &'static str,
    /// Its Chinese label.
    pub label_zh: &'static str,
    /// Its English label.
    pub label_en: &'static str,
    /// Its versions, oldest first.
    pub versions: &'static [Version],
    /// Its lifecycle rule.
    pub lifecycle: Lifecycle,
    /// Whether this is an accountability record that projections and queries index.
    pub domain: bool,
    /// The body field holding the date the record is about (its event date: `dossier` and
    /// `query` sort by it, `stats` counts by it); empty when the record is about the moment it is
    /// made (the sequencing day in China is its event date).
    pub event_date: &'static str,
}

impl KindSpec {
    /// The current (last) version number.
    pub fn current_version(&self) -> u64 {
        self.versions.last().map(|v| v.v).unwrap_or(1)
    }

    /// Version `v`, if the kind has it.
    pub fn version(&self, v: u64) -> Option<&Version> {
        self.versions.iter().find(|version| version.v == v)
    }
}

pub(crate) fn lookup(name: &str) -> Option<&'static KindSpec> {
    KINDS.iter().find(|k| k.name == name)
}

/// The Chinese label of a kind, or the kind itself when it is not a known one.
pub fn label_zh(name: &str) -> &str {
    lookup(name).map(|k| k.label_zh).unwrap_or(name)
}

/// The kinds an author appends (those with a schema), in registry order: the list `lianlog append
/// --help` shows and error messages name.
pub fn record_kinds() -> impl Iterator<Item = &'static KindSpec> {
    KINDS.iter().filter(|k| !k.versions.is_empty())
}

/// The canonical kind name for what a user typed: the kind itself, or its Chinese label as an
/// alias (别名) — the whole label (`约谈/谈话`) or one of its `/`-separated parts (`约谈`). The one
/// place an alias is resolved ([`crate::Draft::new`] calls it), so a record always stores the
/// canonical name. `None` when `name` is neither.
pub fn resolve_kind(name: &str) -> Option<&'static str> {
    let name = name.trim();
    KINDS
        .iter()
        .find(|k| k.name == name)
        .or_else(|| KINDS.iter().find(|k| k.label_zh == name || k.label_zh.split('/').any(|part| part == name)))
        .map(|k| k.name)
}

/// The record kind nearest to a mistyped `name` (`intervew` → `interview`, `问责决` → `accountability.decision`),
/// by edit distance to each kind's name and Chinese label: `None` when nothing is close (more
/// than a third of the longer text would have to change).
pub fn nearest_kind(name: &str) -> Option<&'static KindSpec> {
    let name = name.trim();
    let mut best: Option<(usize, &'static KindSpec)> = None;
    for spec in record_kinds() {
        let candidates = std::iter::once(spec.name).chain(spec.label_zh.split('/')).chain([spec.label_zh]);
        for candidate in candidates {
            let distance = edit_distance(name, candidate);
            let longer = name.chars().count().max(candidate.chars().count());
            if distance * 3 <= longer && best.is_none_or(|(d, _)| distance < d) {
                best = Some((distance, spec));
            }
        }
    }
    best.map(|(_, spec)| spec)
}

/// " Did you mean `interview` (约谈/谈话)?" for a mistyped kind, or nothing.
pub fn did_you_mean_kind(name: &str) -> String {
    nearest_kind(name).map(|k| format!(" Did you mean `{}` ({})?", k.name, k.label_zh)).unwrap_or_default()
}

/// Levenshtein distance in characters (bounded inputs: a kind name, a user's argument).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().take(256).collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().take(256).enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The Chinese label of the value of an enumerated field of a kind (`measure` `admonition` →
/// 诫勉), if the field is enumerated.
pub fn value_label_zh(kind: &str, field: &str, value: &str) -> Option<&'static str> {
    let spec = lookup(kind)?;
    let version = spec.versions.last()?;
    let field = version.fields.iter().find(|f| f.name == field)?;
    match field.field_type {
        FieldType::Enum(values) => values.iter().find(|(v, _)| *v == value).map(|(_, label)| *label),
        _ => None,
    }
}

/// Why a body is not valid: the field path, the reason, and the field's Chinese label
/// (`反映对象第1项·单位` for `body.subjects[0].unit`; empty for a field the schema does not know).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    /// Where: the field path.
    pub path: String,
    /// What is wrong.
    pub reason: String,
    /// The field's Chinese label, for officers (empty when the schema does not know the field).
    pub label: String,
}

impl std::fmt::Display for SchemaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)?;
        if !self.label.is_empty() {
            write!(f, " ({})", self.label)?;
        }
        Ok(())
    }
}

fn fail<T>(path: impl fmt::Display, reason: impl Into<String>) -> Result<T, SchemaError> {
    Err(SchemaError { path: path.to_string(), reason: reason.into(), label: String::new() })
}

/// Where a value lies in a body (`body.subjects[0].id`): a chain of borrowed segments, spelled
/// out only when an error names it. Validation hands one to every value it checks, and nearly
/// every body it checks is valid, so no path is formatted on the way.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root(&'a str),
    Member(&'a Path<'a>, &'a str),
    Item(&'a Path<'a>, usize),
}

impl<'a> Path<'a> {
    fn member(&'a self, name: &'a str) -> Path<'a> {
        Path::Member(self, name)
    }

    fn item(&'a self, index: usize) -> Path<'a> {
        Path::Item(self, index)
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root(text) => f.write_str(text),
            Path::Member(parent, name) => write!(f, "{parent}.{name}"),
            Path::Item(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

/// Validate `body` as version `v` of `kind`, sequenced at `time`, and return its first error
/// ([`validate_all`] returns them all). Kinds unknown to the registry and the `ledger.*`/`key.*`
/// kinds (validated by the key registry) are not checked here.
pub fn validate(kind: &str, v: u64, body: &Value, time: Timestamp) -> Result<(), SchemaError> {
    match validate_all(kind, v, body, time).into_iter().next() {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// Every error of `body` as version `v` of `kind` — one per field, in schema order, at most
/// [`MAX_REPORTED_ERRORS`] + 1 (one more than are reported says that there are more) — so that an
/// officer fixes a body in one round, not one error per try. Empty when the body is valid.
pub fn validate_all(kind: &str, v: u64, body: &Value, time: Timestamp) -> Vec<SchemaError> {
    let Some(spec) = lookup(kind) else {
        return fail::<()>("kind", format!("unknown kind {kind:?}; the kinds are listed in docs/RECORDS.md"))
            .err()
            .into_iter()
            .collect();
    };
    if spec.versions.is_empty() {
        return Vec::new();
    }
    let Some(version) = spec.version(v) else {
        let known = spec.versions.iter().map(|v| v.v).collect::<Vec<_>>();
        return fail::<()>("v", format!("{kind} has no schema version {v}; known: {known:?}"))
            .err()
            .into_iter()
            .collect();
    };
    let mut errors = Vec::new();
    validate_fields(version.fields, body, &Path::Root("body"), latest_allowed_date(time), &mut errors);
    errors
}

/// The errors of [`validate_all`] as one message: the one error on its line, or a count and one
/// error a line (at most [`MAX_REPORTED_ERRORS`], then how to see the rest).
pub fn describe_errors(errors: &[SchemaError]) -> String {
    match errors {
        [] => String::new(),
        [one] => one.to_string(),
        many => {
            let shown = &many[..many.len().min(MAX_REPORTED_ERRORS)];
            let count = if many.len() > MAX_REPORTED_ERRORS {
                format!("more than {MAX_REPORTED_ERRORS}")
            } else {
                many.len().to_string()
            };
            let mut text = format!("{count} problems in the body:");
            for error in shown {
                text.push_str(&format!("\n  - {error}"));
            }
            if many.len() > MAX_REPORTED_ERRORS {
                text.push_str(&format!("\n  (the first {MAX_REPORTED_ERRORS} are shown: fix them and try again)"));
            }
            text
        }
    }
}

/// A date in a body may not be after the day on which the ledger sequences it. Officers work in
/// China (UTC+8) while entry times are UTC, so "the sequencing day" is taken in the most eastern
/// time zone (UTC+14): a record made early in the morning in Beijing is not refused.
pub(crate) fn latest_allowed_date(time: Timestamp) -> Date {
    Timestamp::from_millis(time.as_millis() + 14 * 3600 * 1000).date()
}

/// Check the members of `body` against `fields`, adding each field's first error to `errors`
/// (unknown members first), until `errors` holds [`MAX_REPORTED_ERRORS`] + 1.
fn validate_fields(fields: &[Field], body: &Value, path: &Path<'_>, latest_day: Date, errors: &mut Vec<SchemaError>) {
    let mut report = |error: SchemaError| {
        if errors.len() <= MAX_REPORTED_ERRORS {
            errors.push(error);
        }
    };
    let Some(members) = body.as_object() else {
        return report(SchemaError {
            path: path.to_string(),
            reason: "must be a JSON object".into(),
            label: String::new(),
        });
    };
    for key in members.keys() {
        if !fields.iter().any(|f| f.name == key) {
            let known = fields.iter().map(|f| f.name).collect::<Vec<_>>().join(", ");
            let reason = format!("unknown field (allowed: {known})");
            report(SchemaError { path: format!("{path}.{key}"), reason, label: String::new() });
        }
    }
    for field in fields {
        let field_path = path.member(field.name);
        let result = match members.get(field.name) {
            None if field.required => fail(field_path, "missing"),
            None => Ok(()),
            Some(value) => validate_value(field.field_type, value, &field_path, latest_day),
        };
        if let Err(mut error) = result {
            if error.label.is_empty() {
                let field_path = field_path.to_string();
                error.label = label_of(field, error.path.get(field_path.len()..).unwrap_or_default());
            }
            report(error);
        }
    }
}

/// The Chinese label of a path inside `field`: the field's label, the item (`[0]` → 第1项) and the
/// member of a person, organisation, basis or reference (`.unit` → 单位).
fn label_of(field: &Field, rest: &str) -> String {
    let mut label = field.label_zh.to_string();
    if let Some(index) = rest.strip_prefix('[').and_then(|r| r.split(']').next()).and_then(|i| i.parse::<usize>().ok())
    {
        label.push_str(&format!("第{}项", index + 1));
    }
    let member = rest.rsplit('.').next().filter(|_| rest.contains('.')).unwrap_or_default();
    if let Some((_, zh)) = MEMBER_LABELS.iter().find(|(name, _)| *name == member) {
        label.push('·');
        label.push_str(zh);
    }
    label
}

/// Chinese labels of the members of the structured field types (people, organisations, bases,
/// references), for error messages.
const MEMBER_LABELS: &[(&str, &str)] = &[
    ("id", "编号"),
    ("name", "姓名/名称"),
    ("unit", "所在单位"),
    ("post", "职务"),
    ("org_id", "组织编号"),
    ("regulation", "依据法规"),
    ("article", "条款"),
    ("seq", "序号"),
    ("hash", "哈希"),
    ("size", "大小"),
    ("root", "根哈希"),
    ("content", "整改内容"),
    ("responsible", "责任人/责任单位"),
    ("due", "完成时限"),
];

fn validate_value(field_type: FieldType, value: &Value, path: &Path<'_>, latest_day: Date) -> Result<(), SchemaError> {
    match field_type {
        T::Text => text(value, path, MAX_TEXT_CHARS, true),
        T::Line => text(value, path, MAX_SHORT_TEXT_CHARS, false),
        T::Id => identifier(value, path),
        T::Date => {
            let Some(text) = value.as_str() else { return fail(path, "must be a date YYYY-MM-DD") };
            let Some(date) = Date::parse(text) else {
                return fail(path, format!("{text:?} is not a real date YYYY-MM-DD"));
            };
            if date > latest_day {
                return fail(path, format!("{date} is after the day the record is made ({latest_day})"));
            }
            Ok(())
        }
        T::Enum(values) => {
            let text = value.as_str().unwrap_or_default();
            if values.iter().any(|(v, _)| *v == text) {
                Ok(())
            } else {
                let allowed = values.iter().map(|(v, zh)| format!("{v} ({zh})")).collect::<Vec<_>>().join(", ");
                fail(path, format!("{value} is not one of: {allowed}"))
            }
        }
        T::Person => person(value, path),
        T::Organisation => organisation(value, path),
        T::PersonOrOrganisation => person_or_organisation(value, path),
        T::People => list(value, path, person, "id"),
        T::PeopleOrOrganisations => list(value, path, person_or_organisation, ""),
        T::Basis => list(
            value,
            path,
            |item, item_path| {
                let members = exact(item, item_path, &["regulation", "article"], &[])?;
                text(&members["regulation"], &item_path.member("regulation"), MAX_SHORT_TEXT_CHARS, false)?;
                text(&members["article"], &item_path.member("article"), MAX_SHORT_TEXT_CHARS, false)
            },
            "",
        ),
        T::Period => {
            let text = value.as_str().unwrap_or_default();
            if parse_period(text).is_some() {
                Ok(())
            } else {
                fail(path, format!("{value} is not a period: YYYY, YYYY-H1, YYYY-H2 or YYYY-Q1..Q4"))
            }
        }
        T::Sha256 => match value.as_str().and_then(crate::encoding::parse_hex::<32>) {
            Some(_) => Ok(()),
            None => fail(path, "must be 64 lowercase hex digits (SHA-256)"),
        },
        T::TextList => list(value, path, |item, item_path| text(item, item_path, MAX_TEXT_CHARS, true), ""),
        T::EntryRef => {
            let members = exact(value, path, &["seq", "hash"], &[])?;
            if members["seq"].as_u64().is_none() {
                return fail(path.member("seq"), "must be a seq (non-negative integer)");
            }
            match members["hash"].as_str().and_then(crate::encoding::parse_hex::<32>) {
                Some(_) => Ok(()),
                None => fail(path.member("hash"), "must be the entry hash (64 lowercase hex digits)"),
            }
        }
        T::CheckpointRef => {
            let members = exact(value, path, &["size", "root"], &[])?;
            if members["size"].as_u64().is_none() {
                return fail(path.member("size"), "must be a tree size (non-negative integer)");
            }
            match members["root"].as_str().and_then(crate::encoding::parse_hex::<32>) {
                Some(_) => Ok(()),
                None => fail(path.member("root"), "must be the root hash (64 lowercase hex digits)"),
            }
        }
        // Validated against the target's kind by the lifecycle rule, which knows the target.
        T::Body => match value.is_object() {
            true => Ok(()),
            false => fail(path, "must be a JSON object (the corrected body)"),
        },
        T::DueDate => due_date(value, path),
        T::Year => match value.as_str().filter(|t| t.len() == 4 && t.bytes().all(|b| b.is_ascii_digit())) {
            Some(_) => Ok(()),
            None => fail(path, format!("{value} is not a year YYYY")),
        },
        T::Score => match value.as_str().filter(|t| parse_score(t).is_some()) {
            Some(_) => Ok(()),
            None => fail(path, format!("{value} is not a score: a text from \"0\" to \"100\", at most two decimals")),
        },
        T::IdList => list(value, path, identifier, "").and_then(|()| distinct(value, path, |item| item.as_str())),
        T::Items => list(value, path, rectification_item, ""),
        T::ItemNumbers => {
            let numbered = |item: &Value, item_path: &Path<'_>| match item.as_u64() {
                Some(n) if (1..=MAX_LIST_ITEMS as u64).contains(&n) => Ok(()),
                _ => fail(item_path, format!("must be an item number from 1 to {MAX_LIST_ITEMS}")),
            };
            list(value, path, numbered, "")?;
            let mut seen = std::collections::BTreeSet::new();
            for (index, item) in value.as_array().into_iter().flatten().enumerate() {
                if !seen.insert(item.as_u64()) {
                    return fail(path.item(index), format!("item {item} is listed twice"));
                }
            }
            Ok(())
        }
        T::Count(min, max) => match value.as_u64() {
            Some(n) if (min..=max).contains(&n) => Ok(()),
            _ => fail(path, format!("must be a whole number from {min} to {max}")),
        },
        T::EntryRefs => {
            list(value, path, |item, item_path| validate_value(T::EntryRef, item, item_path, latest_day), "")?;
            let mut seen = std::collections::BTreeSet::new();
            for (index, item) in value.as_array().into_iter().flatten().enumerate() {
                if !seen.insert(item["seq"].as_u64()) {
                    return fail(path.item(index).member("seq"), format!("entry {} is cited twice", item["seq"]));
                }
            }
            Ok(())
        }
    }
}

/// A score text (`"92.5"`) as hundredths, if it is one: 0 to 100, at most two decimals.
pub(crate) fn parse_score(text: &str) -> Option<u32> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits =
        |part: &str, max: usize| !part.is_empty() && part.len() <= max && part.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole, 3) || (text.contains('.') && !digits(fraction, 2)) || (whole.len() > 1 && whole.starts_with('0'))
    {
        return None;
    }
    let hundredths = whole.parse::<u32>().ok()? * 100 + format!("{fraction:0<2}").parse::<u32>().ok()?;
    (hundredths <= 10_000).then_some(hundredths)
}

/// The items of a list are distinct (by the text `key` gives).
fn distinct<'a>(
    value: &'a Value,
    path: &Path<'_>,
    key: impl Fn(&'a Value) -> Option<&'a str>,
) -> Result<(), SchemaError> {
    let mut seen = std::collections::BTreeSet::new();
    for (index, item) in value.as_array().into_iter().flatten().enumerate() {
        if let Some(id) = key(item)
            && !seen.insert(id)
        {
            return fail(path.item(index), format!("{id:?} is listed twice"));
        }
    }
    Ok(())
}

/// `{"content","responsible","due"}`: what is to be rectified, by whom, by when (a deadline, so it
/// may lie in the future).
fn rectification_item(value: &Value, path: &Path<'_>) -> Result<(), SchemaError> {
    let members = exact(value, path, &["content", "responsible", "due"], &[])?;
    text(&members["content"], &path.member("content"), MAX_TEXT_CHARS, true)?;
    person_or_organisation(&members["responsible"], &path.member("responsible"))?;
    due_date(&members["due"], &path.member("due"))
}

/// A deadline: a real date, which may lie after the day the record is made.
fn due_date(value: &Value, path: &Path<'_>) -> Result<(), SchemaError> {
    match value.as_str().map(|text| (text, Date::parse(text))) {
        Some((_, Some(_))) => Ok(()),
        Some((text, None)) => fail(path, format!("{text:?} is not a real date YYYY-MM-DD")),
        None => fail(path, "must be a date YYYY-MM-DD"),
    }
}

/// Validate a corrected body as `kind` version `v` (the path prefix is `body.body`).
pub fn validate_corrected_body(kind: &str, v: u64, body: &Value, time: Timestamp) -> Result<(), SchemaError> {
    let spec = lookup(kind).filter(|s| s.domain && s.name != "correction");
    let Some(spec) = spec else { return fail("body.target", format!("a {kind} record cannot be corrected")) };
    let Some(version) = spec.version(v) else { return fail("body.target", format!("{kind} v{v} is unknown")) };
    let mut errors = Vec::new();
    validate_fields(version.fields, body, &Path::Root("body.body"), latest_allowed_date(time), &mut errors);
    match errors.into_iter().next() {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

fn text(value: &Value, path: &Path<'_>, max_chars: usize, multi_line: bool) -> Result<(), SchemaError> {
    let Some(text) = value.as_str() else { return fail(path, "must be a string") };
    if text.trim().is_empty() {
        return fail(path, "must not be empty");
    }
    let count = text.chars().count();
    if count > max_chars {
        return fail(path, format!("{count} characters; the limit is {max_chars}"));
    }
    if let Some(c) = text.chars().find(|c| c.is_control() && !(multi_line && (*c == '\n' || *c == '\t'))) {
        return fail(path, format!("contains the control character U+{:04X}", c as u32));
    }
    // Single-line fields are identifiers and names (ids, names, units, posts, organs): they are
    // what a reader matches records by, so they must look like what they are.
    if !multi_line {
        check_no_bidi_controls(text, path)?;
    }
    Ok(())
}

/// Whether `c` is a Unicode bidirectional formatting character: the embeddings and overrides
/// U+202A..U+202E, the isolates U+2066..U+2069, and the marks U+200E, U+200F and U+061C. They are
/// invisible, and reorder the text around them on screen ("Trojan Source", CVE-2021-42574): an
/// id `P-1001` followed by U+202E and `3` displays as another id than the one stored.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Refuse bidirectional formatting characters ([`is_bidi_control`]) in an identifier or a name:
/// the one check behind every such field of a new record (person and organisation ids, names,
/// units and posts, case ids, short lines, key holders' names, units and titles). It applies when
/// a record is appended, not when one is verified or read, so a ledger that already holds such a
/// character still opens and verifies; the CLI shows it escaped.
pub(crate) fn check_no_bidi_controls(text: &str, path: impl fmt::Display) -> Result<(), SchemaError> {
    match text.chars().find(|c| is_bidi_control(*c)) {
        Some(c) => fail(
            path,
            format!(
                "contains the invisible bidirectional control character U+{:04X}, which makes a name or \
                 identifier display differently from what is stored; remove it",
                c as u32
            ),
        ),
        None => Ok(()),
    }
}

fn exact<'a>(
    value: &'a Value,
    path: &Path<'_>,
    required: &[&str],
    optional: &[&str],
) -> Result<&'a Map<String, Value>, SchemaError> {
    let Some(members) = value.as_object() else { return fail(path, "must be a JSON object") };
    for key in members.keys() {
        if !required.contains(&key.as_str()) && !optional.contains(&key.as_str()) {
            return fail(path.member(key), "unknown field");
        }
    }
    for key in required {
        if !members.contains_key(*key) {
            return fail(path.member(key), "missing");
        }
    }
    Ok(members)
}

fn person(value: &Value, path: &Path<'_>) -> Result<(), SchemaError> {
    let members = exact(value, path, &["id", "name", "unit"], &["post"])?;
    identifier(&members["id"], &path.member("id"))?;
    text(&members["name"], &path.member("name"), MAX_SHORT_TEXT_CHARS, false)?;
    text(&members["unit"], &path.member("unit"), MAX_SHORT_TEXT_CHARS, false)?;
    if let Some(post) = members.get("post") {
        text(post, &path.member("post"), MAX_SHORT_TEXT_CHARS, false)?;
    }
    Ok(())
}

fn identifier(value: &Value, path: &Path<'_>) -> Result<(), SchemaError> {
    text(value, path, MAX_ID_CHARS, false)?;
    let id = value.as_str().unwrap_or_default();
    if id.trim() != id {
        return fail(path, "an identifier may not begin or end with spaces");
    }
    Ok(())
}

fn organisation(value: &Value, path: &Path<'_>) -> Result<(), SchemaError> {
    let members = exact(value, path, &["org_id", "name"], &[])?;
    identifier(&members["org_id"], &path.member("org_id"))?;
    text(&members["name"], &path.member("name"), MAX_SHORT_TEXT_CHARS, false)
}

fn person_or_organisation(value: &Value, path: &Path<'_>) -> Result<(), SchemaError> {
    if value.get("org_id").is_some() { organisation(value, path) } else { person(value, path) }
}

fn list(
    value: &Value,
    path: &Path<'_>,
    item: impl Fn(&Value, &Path<'_>) -> Result<(), SchemaError>,
    distinct_key: &str,
) -> Result<(), SchemaError> {
    let Some(items) = value.as_array() else { return fail(path, "must be a list") };
    if items.is_empty() {
        return fail(path, "must not be empty");
    }
    if items.len() > MAX_LIST_ITEMS {
        return fail(path, format!("{} items; the limit is {MAX_LIST_ITEMS}", items.len()));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (index, value) in items.iter().enumerate() {
        let item_path = path.item(index);
        item(value, &item_path)?;
        if !distinct_key.is_empty()
            && let Some(id) = value.get(distinct_key).and_then(Value::as_str)
            && !seen.insert(id.to_string())
        {
            return fail(item_path.member(distinct_key), format!("{id:?} is listed twice"));
        }
    }
    Ok(())
}

/// `2026` → (2026, None); `2026-H1`; `2026-Q3`.
pub(crate) fn parse_period(text: &str) -> Option<(u16, Option<&str>)> {
    let (year, part) = match text.split_once('-') {
        Some((year, part)) => (year, Some(part)),
        None => (text, None),
    };
    if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year: u16 = year.parse().ok()?;
    match part {
        None | Some("H1" | "H2" | "Q1" | "Q2" | "Q3" | "Q4") => Some((year, part)),
        _ => None,
    }
}

/// Bring a body of an older schema version up to the current one (the stored bytes never change;
/// this runs when a body is read into projections and queries). `time` is the entry's time: what
/// an older version did not record may be inferred from it, and is then flagged as inferred.
pub fn upcast(kind: &str, v: u64, body: &Value, time: Timestamp) -> Value {
    upcast_cow(kind, v, body, time).into_owned()
}

/// [`upcast`], borrowing `body` when it is of the current shape already (most bodies): the
/// projections read every replayed body, and a copy of each was a twentieth of a replay.
pub fn upcast_cow<'a>(kind: &str, v: u64, body: &'a Value, time: Timestamp) -> std::borrow::Cow<'a, Value> {
    let interview_v1 = kind == "interview" && (v < 2 || body.get("requirements").is_some_and(Value::is_string));
    let rectification_v1 =
        kind == "rectification.ordered" && (v < 2 || body.get("items").is_some_and(Value::is_string));
    if !interview_v1 && !rectification_v1 {
        return std::borrow::Cow::Borrowed(body);
    }
    let mut body = body.clone();
    if kind == "interview" && (v < 2 || body.get("requirements").is_some_and(Value::is_string)) {
        // v1 `requirements` was one text; v2 keeps a list of separate requirements.
        if let Some(Value::String(text)) = body.get("requirements").cloned() {
            body["requirements"] = Value::Array(vec![Value::String(text)]);
        }
    }
    // A v1 body is recognised by its shape too: a correction written while v1 was current holds a
    // v1 body under a `correction` record of its own version.
    if kind == "rectification.ordered"
        && (v < 2 || body.get("items").is_some_and(Value::is_string))
        && let Some(members) = body.as_object_mut()
    {
        // v1 had one text of items, one due date and no issue date: the text becomes one item
        // owned by the target, due on the due date, and the issue date is the day the record was
        // made (China) — flagged `issued_on_inferred`, since the order may be older.
        let item = serde_json::json!({
            "content": members.remove("items").unwrap_or(Value::Null),
            "responsible": members.get("target").cloned().unwrap_or(Value::Null),
            "due": members.remove("due_on").unwrap_or(Value::Null),
        });
        members.insert("items".into(), Value::Array(vec![item]));
        members.insert("issued_on".into(), Value::String(time.date_in_china().to_string()));
        members.insert("issued_on_inferred".into(), Value::Bool(true));
    }
    std::borrow::Cow::Owned(body)
}

/// The event date of a record of `kind`: the date in its kind's event-date field
/// ([`KindSpec::event_date`]), or the sequencing day in China (UTC+8) when the kind has none or the
/// body lacks it. `body` is upcast to the current version.
pub fn event_date(kind: &str, body: &Value, time: Timestamp) -> Date {
    lookup(kind)
        .map(|spec| spec.event_date)
        .filter(|field| !field.is_empty())
        .and_then(|field| body.get(field))
        .and_then(Value::as_str)
        .and_then(Date::parse)
        .unwrap_or_else(|| time.date_in_china())
}

/// The current schema version of a kind (1 for kinds the registry does not version).
pub fn current_version(kind: &str) -> u64 {
    lookup(kind).map(KindSpec::current_version).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at() -> Timestamp {
        Timestamp::parse("2026-06-30T02:00:00.000Z").unwrap()
    }

    fn zhang() -> Value {
        json!({"id": "P-1001", "name": "张某", "unit": "市住建局", "post": "副局长"})
    }

    #[test]
    fn demo_bodies_are_valid() {
        let kinds_story =
            lianlog_workload::demo_story_kinds().into_iter().map(|(author, kind, body, _)| (author, kind, body));
        for (_, kind, body) in lianlog_workload::demo_story().into_iter().chain(kinds_story) {
            let time = Timestamp::parse("2026-11-25T00:00:00.000Z").unwrap();
            validate(kind, current_version(kind), &body, time).unwrap_or_else(|e| panic!("{kind}: {e}"));
        }
    }

    #[test]
    fn errors_name_the_field_path() {
        let body = json!({
            "report_id": "R-1", "subjects": [zhang(), {"id": "P-2", "name": "李某"}],
            "source": "petition", "summary": "x", "received_on": "2026-01-01"
        });
        let err = validate("report.received", 1, &body, at()).unwrap_err();
        assert_eq!(err.path, "body.subjects[1].unit");
        let body = json!({"report_id": "R-1", "finding": "maybe", "disposition": "x", "concluded_on": "2026-01-01"});
        assert_eq!(validate("report.concluded", 1, &body, at()).unwrap_err().path, "body.finding");
    }

    #[test]
    fn unknown_fields_dates_text_and_lists_are_checked() {
        let base = json!({
            "report_id": "R-1", "subjects": [zhang()], "source": "petition",
            "summary": "反映问题", "received_on": "2026-01-01"
        });
        let cases = [
            ("whistleblower", json!("王某"), "body.whistleblower"),
            ("received_on", json!("2026-02-30"), "body.received_on"),
            ("received_on", json!("2026-07-02"), "body.received_on"),
            ("summary", json!("a\u{7}b"), "body.summary"),
            ("summary", json!("   "), "body.summary"),
            ("summary", json!("长".repeat(MAX_TEXT_CHARS + 1)), "body.summary"),
            ("subjects", json!([]), "body.subjects"),
            ("subjects", json!([zhang(), zhang()]), "body.subjects[1].id"),
        ];
        for (field, value, path) in cases {
            let mut body = base.clone();
            body[field] = value;
            assert_eq!(validate("report.received", 1, &body, at()).unwrap_err().path, path, "{field}");
        }
        let mut body = base.clone();
        body["summary"] = json!("第一行\n第二行\t制表");
        validate("report.received", 1, &body, at()).unwrap();
        // The sequencing day is taken generously east: 2026-06-30 02:00 UTC is already 06-30 in Beijing.
        body["received_on"] = json!("2026-06-30");
        validate("report.received", 1, &body, at()).unwrap();
    }

    #[test]
    fn bidi_controls_are_refused_in_identifiers_and_names() {
        let base = json!({
            "report_id": "R-1", "subjects": [zhang()], "source": "petition",
            "summary": "反映问题", "received_on": "2026-01-01"
        });
        for c in ['\u{202A}', '\u{202E}', '\u{2066}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}'] {
            for (pointer, path) in [
                ("/report_id", "body.report_id"),
                ("/subjects/0/id", "body.subjects[0].id"),
                ("/subjects/0/name", "body.subjects[0].name"),
                ("/subjects/0/unit", "body.subjects[0].unit"),
                ("/subjects/0/post", "body.subjects[0].post"),
            ] {
                let mut body = base.clone();
                let value = body.pointer_mut(pointer).unwrap();
                *value = json!(format!("P{c}-1001"));
                let err = validate("report.received", 1, &body, at()).unwrap_err();
                assert_eq!(err.path, path);
                assert!(err.reason.contains(&format!("U+{:04X}", c as u32)), "{err}");
            }
        }
        assert!(!is_bidi_control('中') && !is_bidi_control('\u{200D}') && !is_bidi_control('a'));
        // Free text is not an identifier: it is kept, and shown escaped by the CLI.
        let mut body = base.clone();
        body["summary"] = json!("反映\u{202E}问题");
        validate("report.received", 1, &body, at()).unwrap();
    }

    #[test]
    fn kinds_resolve_by_name_or_chinese_label_and_typos_find_the_nearest() {
        assert_eq!(resolve_kind("interview"), Some("interview"));
        assert_eq!(resolve_kind("约谈"), Some("interview"));
        assert_eq!(resolve_kind("谈话"), Some("interview"));
        assert_eq!(resolve_kind("约谈/谈话"), Some("interview"));
        assert_eq!(resolve_kind("问责决定"), Some("accountability.decision"));
        assert_eq!(resolve_kind("intervew"), None);
        assert_eq!(nearest_kind("intervew").map(|k| k.name), Some("interview"));
        assert_eq!(nearest_kind("report.recieved").map(|k| k.name), Some("report.received"));
        assert_eq!(nearest_kind("问责决").map(|k| k.name), Some("accountability.decision"));
        assert!(nearest_kind("x").is_none() && nearest_kind("").is_none());
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn periods() {
        for good in ["2026", "2026-H1", "2026-Q4"] {
            assert!(parse_period(good).is_some(), "{good}");
        }
        for bad in ["26", "2026-H3", "2026-Q0", "2026-", "2026-h1"] {
            assert!(parse_period(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn interview_v1_is_upcast_to_v2() {
        let v1 = json!({"interview_type": "reminder", "subjects": [zhang()], "interviewers": [zhang()],
            "held_on": "2026-01-01", "reason": "提醒", "requirements": "按期整改"});
        validate("interview", 1, &v1, at()).unwrap();
        assert!(validate("interview", 2, &v1, at()).is_err());
        let v2 = upcast("interview", 1, &v1, at());
        assert_eq!(v2["requirements"], json!(["按期整改"]));
        validate("interview", 2, &v2, at()).unwrap();
        assert_eq!(upcast("interview", 2, &v2, at()), v2);
    }
}
