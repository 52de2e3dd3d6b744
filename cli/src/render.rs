//! Human output: tables aligned by display width (CJK characters take two columns), times in the
//! local time zone, kinds with their Chinese labels.
//!
//! **Nothing reaches a terminal raw.** Every `println!`/`eprintln!` of this crate goes through
//! [`terminal_safe`] (the crate shadows both macros, see `main.rs`): invisible bidirectional
//! controls and terminal control characters in names and texts — which a ledger written before
//! they were refused may hold — are shown as a visible `<U+202E>`, so a line cannot display
//! another order or colour than what is stored. `--json` keeps the exact values, escaped
//! (`\u202e`), through [`json_safe`]. `print!` is kept for machine text that must stay byte-exact
//! (signed notes, proofs), and `show --raw` and `export` write bytes.
//!
//! The longer reports of one family live in submodules: [`archive`] (`snapshot verify`, `restore`),
//! [`bench`] (the benchmark's figures) and [`csv`] (`stats --csv`, RFC 4180 for spreadsheets).

pub mod archive;
pub mod bench;
pub mod csv;

use std::borrow::Cow;
use std::io::{IsTerminal as _, Write as _};

use lianlog_ledger::archive::Progress;
use lianlog_ledger::note::{Cosignature, CosignerPolicy};
use lianlog_ledger::query::{CaseView, Paged, RecordView};
use lianlog_ledger::{KeyRegistry, ParsedLine, StoredBody, Timestamp, schema as kinds};
use serde_json::{Value, json};
use unicode_width::UnicodeWidthStr as _;

/// Whether a character must not reach a terminal raw: the bidirectional controls the ledger
/// refuses in names (`schema::is_bidi_control`), and control characters other than newline and
/// tab (C0, DEL and C1: escape sequences can move the cursor, recolour or retitle).
fn is_unsafe_for_terminal(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || kinds::is_bidi_control(c)
}

/// `text` with every character that is unsafe on a terminal shown as `<U+XXXX>`.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe_for_terminal) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_unsafe_for_terminal(c) {
            out.push_str(&format!("<U+{:04X}>", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// JSON text with the same characters escaped as `\uXXXX`: the values stay exactly what they are
/// (any JSON reader decodes them back), and the text is safe on a terminal. serde_json escapes C0
/// controls itself; these characters can only occur inside strings.
pub fn json_safe(json: &str) -> Cow<'_, str> {
    if !json.chars().any(is_unsafe_for_terminal) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if is_unsafe_for_terminal(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `1 record`, `5 records`: a count with its noun in the right number.
pub fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 { format!("1 {one}") } else { format!("{n} {many}") }
}

/// `seq 11` or `seq 11–15`: the seqs of a batch that was written whole.
pub fn seq_range(first: u64, last: u64) -> String {
    if first == last { format!("seq {first}") } else { format!("seq {first}–{last}") }
}

/// A timestamp as every table and report shows it: China Standard Time (北京时间, UTC+8, no
/// daylight saving), `YYYY-MM-DD HH:MM:SS` — the zone `--as-of DATE` means and the officers work
/// in, whatever the host's zone. Columns and lines that show it say so ([`TIME_HEADER`]); `--json`
/// gives UTC (`…Z`).
pub fn china_time(time: Timestamp) -> String {
    let zone = jiff::tz::TimeZone::fixed(jiff::tz::offset(8));
    time.to_jiff().to_zoned_datetime(zone).strftime("%Y-%m-%d %H:%M:%S").to_string()
}

/// The former name of [`china_time`], kept so that code written against it still builds.
pub use self::china_time as local_time;

/// The header of a time column: the zone is named, since the times are not the host's.
pub const TIME_HEADER: &str = "时间(北京时间) time (UTC+8)";

/// One labelled line of a report, bilingual like the tables: `  条数 entries     16`.
pub fn field_line(zh: &str, en: &str, value: impl std::fmt::Display) -> String {
    let label = format!("{zh} {en}");
    format!("  {label}{} {value}", " ".repeat(18usize.saturating_sub(label.width())))
}

/// Print rows under headers, each column padded to its widest cell's display width.
pub fn print_table(headers: &[&str], rows: &[Vec<String>]) {
    // Escape first, so that widths are those of what is shown.
    let rows: Vec<Vec<String>> =
        rows.iter().map(|row| row.iter().map(|cell| terminal_safe(cell).into_owned()).collect()).collect();
    let rows = rows.as_slice();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.width()).collect();
    for row in rows {
        for (index, cell) in row.iter().enumerate() {
            if index < widths.len() {
                widths[index] = widths[index].max(cell.width());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (index, cell) in cells.iter().enumerate() {
            out.push_str(cell);
            if index + 1 < cells.len() {
                out.push_str(&" ".repeat(widths[index] - cell.width() + 2));
            }
        }
        println!("{}", out.trim_end());
    };
    line(headers.to_vec());
    line(widths.iter().map(|w| "─".repeat(*w)).collect::<Vec<_>>().iter().map(String::as_str).collect());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// Cut `text` to at most `max` display columns, marking the cut with `…`.
pub fn truncate(text: &str, max: usize) -> String {
    let text: String = terminal_safe(text).chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if text.width() <= max {
        return text;
    }
    let mut out = String::new();
    for c in text.chars() {
        if out.width() + unicode_width::UnicodeWidthChar::width(c).unwrap_or(0) + 1 > max {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

fn author_name(registry: &KeyRegistry, identity: &str) -> String {
    match registry.keys.get(identity) {
        Some(state) => format!("{}（{}）", state.holder.name, identity.split('+').next().unwrap_or(identity)),
        None => identity.to_string(),
    }
}

/// The text that says what a record is about: its first free-text field, or a rectification's
/// items (`3项：建立台账…`).
fn detail(body: &Value) -> Option<String> {
    const FIELDS: &[&str] = &[
        "summary",
        "reason",
        "facts",
        "statement",
        "disposition",
        "grounds",
        "items",
        "task",
        "matters",
        "progress",
        "result",
        "reply",
        "title",
        "opinion",
    ];
    if let Some(items) = body.get("items").and_then(Value::as_array)
        && let Some(first) = items.first().and_then(|item| item["content"].as_str())
    {
        return Some(format!("{}项：{first}", items.len()));
    }
    FIELDS.iter().find_map(|field| body.get(*field).and_then(Value::as_str).map(str::to_string))
}

/// A one-line summary of a body for the log.
fn summary(line: &ParsedLine) -> String {
    let body = match &line.line.body {
        StoredBody::Full { body, .. } => body,
        StoredBody::Redacted { by } => return format!("[内容已删除 redacted by seq {by}]"),
        StoredBody::Withheld => return "[内容未提供 withheld]".into(),
    };
    let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_string);
    match line.line.entry.record.kind.as_str() {
        "ledger.genesis" => format!("创建台账 {}", text("origin").unwrap_or_default()),
        "key.grant" => format!(
            "授权 {} {}",
            body["holder"]["name"].as_str().unwrap_or(""),
            body["roles"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","))
                .unwrap_or_default()
        ),
        "key.revoke" => format!("撤销 {}：{}", text("key").unwrap_or_default(), text("reason").unwrap_or_default()),
        "ledger.redact" => format!("删除 seq {} 的内容：{}", body["target"]["seq"], text("reason").unwrap_or_default()),
        _ => {
            let subject = body
                .get("subjects")
                .and_then(Value::as_array)
                .and_then(|s| s.first())
                .or_else(|| body.get("subject"))
                .or_else(|| body.get("reporter"))
                .and_then(|p| p.get("name"))
                .and_then(Value::as_str)
                .map(|n| format!("{n} "))
                .unwrap_or_default();
            let detail = detail(body).unwrap_or_else(|| {
                body.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>().join(",")).unwrap_or_default()
            });
            format!("{subject}{detail}")
        }
    }
}

/// The log as a table. `redactions` gives who removed a redacted body, when and why.
pub fn print_log(
    lines: &[ParsedLine],
    registry: &KeyRegistry,
    redactions: &std::collections::BTreeMap<u64, lianlog_ledger::query::RedactionNote>,
) {
    let rows: Vec<Vec<String>> = lines
        .iter()
        .map(|line| {
            let entry = &line.line.entry;
            let summary = match redactions.get(&entry.seq) {
                Some(note) => format!(
                    "[内容已删除 redacted：{}（{}，{}，seq {}）]",
                    note.reason,
                    author_name(registry, &note.author),
                    local_time(note.time),
                    note.by
                ),
                None => summary(line),
            };
            vec![
                entry.seq.to_string(),
                local_time(entry.time),
                kinds::label_zh(&entry.record.kind).to_string(),
                truncate(&author_name(registry, &entry.record.author), 28),
                truncate(&summary, 60),
            ]
        })
        .collect();
    print_table(&["序号 seq", TIME_HEADER, "类型 kind", "作者 author", "摘要 summary"], &rows);
}

pub fn print_entry(
    line: &ParsedLine,
    registry: &KeyRegistry,
    redaction: Option<&lianlog_ledger::query::RedactionNote>,
) {
    let entry = &line.line.entry;
    let record = &entry.record;
    println!("序号 seq      {}", entry.seq);
    println!("类型 kind     {} ({}, v{})", kinds::label_zh(&record.kind), record.kind, record.v);
    println!("时间 time     {} 北京时间 (UTC {})", local_time(entry.time), entry.time);
    println!("作者 author   {}", author_name(registry, &record.author));
    println!("创建 created  {} 北京时间", local_time(record.created));
    println!("哈希 hash     {}", line.entry_hash);
    println!("前序 prev     {}", entry.prev);
    match &line.line.body {
        StoredBody::Full { body, .. } => {
            println!("内容 body");
            println!("{}", serde_json::to_string_pretty(body).unwrap_or_default());
        }
        StoredBody::Redacted { by } => {
            println!(
                "内容 body     [已删除 redacted by ledger.redact at seq {by}; the entry, its hash and signature are intact]"
            );
            if let Some(note) = redaction {
                println!("删除 by       {} at {}", author_name(registry, &note.author), local_time(note.time));
                println!("理由 reason   {}", note.reason);
            }
        }
        StoredBody::Withheld => println!("内容 body     [未提供 withheld]"),
    }
}

/// The time a cosigner states (seconds since the epoch), if it is a representable instant.
fn cosignature_time(seconds: u64) -> Option<Timestamp> {
    let millis = i64::try_from(seconds).ok()?.checked_mul(1000)?;
    jiff::Timestamp::from_millisecond(millis).ok().map(|_| Timestamp::from_millis(millis))
}

/// Who cosigned a checkpoint, for `--json`: name, key id, vkey and the time each states.
pub fn cosignatures_json(cosignatures: &[Cosignature]) -> Value {
    Value::Array(
        cosignatures
            .iter()
            .map(|c| {
                json!({
                    "name": c.cosigner.name().as_str(),
                    "key_id": lianlog_ledger::encoding::hex(&c.cosigner.id()),
                    "vkey": c.cosigner.vkey(),
                    "timestamp": c.timestamp,
                    "time": cosignature_time(c.timestamp).map(|t| t.to_string()),
                })
            })
            .collect(),
    )
}

/// The witness policy a verifier applied and how a checkpoint met it, for `--json`: how many
/// were required, and each named witness (name, key id, vkey) with whether it cosigned. `null`
/// when no witness was named.
pub fn witnesses_json(policy: CosignerPolicy<'_>, cosignatures: &[Cosignature]) -> Value {
    if policy.keys.is_empty() {
        return Value::Null;
    }
    let mut named: Vec<Value> = Vec::new();
    for (index, key) in policy.keys.iter().enumerate() {
        if policy.keys[..index].contains(key) {
            continue;
        }
        named.push(json!({
            "name": key.name().as_str(),
            "key_id": lianlog_ledger::encoding::hex(&key.id()),
            "vkey": key.vkey(),
            "cosigned": cosignatures.iter().any(|c| c.cosigner == *key),
        }));
    }
    let cosigned = named.iter().filter(|w| w["cosigned"] == json!(true)).count();
    json!({"required": policy.quorum, "named": named, "cosigned": cosigned})
}

/// The witness policy met, one line after `indent` (nothing when no witness was named).
pub fn print_witness_policy(indent: &str, policy: CosignerPolicy<'_>, cosignatures: &[Cosignature]) {
    let value = witnesses_json(policy, cosignatures);
    let Some(named) = value["named"].as_array() else { return };
    let names = |cosigned: bool| {
        named
            .iter()
            .filter(|w| w["cosigned"] == json!(cosigned))
            .map(|w| w["name"].as_str().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let missing = names(false);
    println!(
        "{indent}witnesses 见证: {} of {} named cosigned ({}), {} required 要求{}",
        value["cosigned"],
        named.len(),
        names(true),
        policy.quorum,
        if missing.is_empty() { String::new() } else { format!("; not cosigned 未见证: {missing}") }
    );
}

/// Who cosigned a checkpoint, one line each, after `indent`.
pub fn print_cosignatures(indent: &str, cosignatures: &[Cosignature]) {
    for c in cosignatures {
        let time = match cosignature_time(c.timestamp) {
            Some(time) => local_time(time),
            None => format!("{} s after the epoch", c.timestamp),
        };
        println!(
            "{indent}cosigned by {} (key id {}) at {time} 北京时间",
            c.cosigner.name(),
            lianlog_ledger::encoding::hex(&c.cosigner.id())
        );
    }
}

pub fn line_json(line: &ParsedLine) -> Value {
    let entry = &line.line.entry;
    let mut value = json!({
        "seq": entry.seq,
        "entry_hash": line.entry_hash.to_hex(),
        "prev": entry.prev.to_hex(),
        "time": entry.time.to_string(),
        "kind": entry.record.kind,
        "kind_zh": kinds::label_zh(&entry.record.kind),
        "v": entry.record.v,
        "author": entry.record.author,
        "created": entry.record.created.to_string(),
    });
    match &line.line.body {
        StoredBody::Full { body, .. } => value["body"] = body.clone(),
        StoredBody::Redacted { by } => value["redacted_by"] = json!(by),
        StoredBody::Withheld => value["withheld"] = json!(true),
    }
    value
}

pub fn print_keys(registry: &KeyRegistry) {
    let rows: Vec<Vec<String>> = registry
        .keys
        .iter()
        .map(|(identity, state)| {
            vec![
                identity.clone(),
                state.roles.iter().map(|r| r.label_zh()).collect::<Vec<_>>().join("、"),
                state.holder.name.clone(),
                state.holder.unit.clone(),
                state.granted_seq.to_string(),
                match &state.revoked {
                    None => "有效 active".to_string(),
                    Some(r) => format!("已撤销 revoked at seq {}: {}", r.seq, r.reason),
                },
            ]
        })
        .collect();
    print_table(&["身份 identity", "角色 roles", "持有人 holder", "单位 unit", "授权 seq", "状态 status"], &rows);
    println!("日志密钥 log key: {}", registry.log_key);
}

fn record_summary(record: &RecordView) -> String {
    let redaction_note = record
        .redaction
        .as_ref()
        .map(|r| {
            format!(
                "[内容已删除 redacted by seq {} ({}, {}): {}] ",
                r.by,
                r.author.split('+').next().unwrap_or(""),
                local_time(r.time),
                r.reason
            )
        })
        .unwrap_or_default();
    let Some(body) = &record.body else {
        return redaction_note;
    };
    let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_string);
    let label =
        |key: &str| text(key).map(|v| kinds::value_label_zh(&record.kind, key, &v).map(str::to_string).unwrap_or(v));
    let mut parts: Vec<String> = Vec::new();
    // `sanction`: decisions group (issue 17).
    for key in
        ["interview_type", "finding", "measure", "sanction", "outcome", "source", "assessment", "conclusion", "grade"]
    {
        if let Some(value) = label(key) {
            parts.push(value);
        }
    }
    for key in [
        "report_id",
        "decision_id",
        "appeal_id",
        "rectification_id",
        "order_id",
        "inquiry_id",
        "circular_id",
        "period",
        "year",
        "score",
        "opinion_id",
        "purpose",
    ] {
        if let Some(value) = text(key) {
            parts.push(value);
        }
    }
    if let Some(basis) = body.get("basis").and_then(Value::as_array).and_then(|b| b.first()) {
        parts.push(format!(
            "《{}》{}",
            basis["regulation"].as_str().unwrap_or(""),
            basis["article"].as_str().unwrap_or("")
        ));
    }
    if let Some(detail) = detail(body) {
        parts.push(detail);
    }
    let mut out = format!("{redaction_note}{}", parts.join(" "));
    // A redaction's replacement is written as a correction just before it: not a second change.
    let replacement = record.redaction.as_ref().filter(|r| r.has_replacement).map(|r| r.by.saturating_sub(1));
    if let Some(by) = record.corrected_by.filter(|by| Some(*by) != replacement) {
        out = format!("（已更正 corrected by seq {by}）{out}");
    }
    out
}

pub fn print_records(records: &[RecordView], registry: &KeyRegistry) {
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            vec![
                r.seq.to_string(),
                r.date.to_string(),
                kinds::label_zh(&r.kind).to_string(),
                r.status.as_deref().map(lianlog_ledger::status_zh).unwrap_or("").to_string(),
                truncate(&author_name(registry, &r.author), 24),
                truncate(&record_summary(r), 56),
            ]
        })
        .collect();
    print_table(&["序号 seq", "日期 date", "类型 kind", "状态 status", "记录人 author", "摘要 summary"], &rows);
}

pub fn print_dossier(person_id: &str, records: &[RecordView], registry: &KeyRegistry) {
    let person = records.iter().filter_map(|r| r.body.as_ref()).find_map(|body| find_person(body, person_id));
    match person {
        Some(p) => println!(
            "廉政档案 integrity file: {} {}（{}{}）",
            person_id,
            p["name"].as_str().unwrap_or(""),
            p["unit"].as_str().unwrap_or(""),
            p["post"].as_str().map(|post| format!(" {post}")).unwrap_or_default()
        ),
        None => println!("廉政档案 integrity file: {person_id}"),
    }
    if records.is_empty() {
        println!("no records name {person_id}");
        return;
    }
    print_records(records, registry);
    println!("{}, {EVENT_ORDER}", count(records.len(), "record", "records"));
}

/// What `dossier` and `query` say about their order (the JSON says it as `"order"`).
pub const EVENT_ORDER: &str = "in event-date order, seq breaking ties (按事件日期排序，同日按序号)";

fn find_person<'a>(body: &'a Value, id: &str) -> Option<&'a Value> {
    let matches = |p: &&'a Value| p.get("id").and_then(Value::as_str) == Some(id);
    for field in ["subjects", "interviewers"] {
        if let Some(found) = body.get(field).and_then(Value::as_array).and_then(|items| items.iter().find(matches)) {
            return Some(found);
        }
    }
    ["subject", "reporter", "target"].iter().filter_map(|f| body.get(*f)).find(matches)
}

/// One page of a listing as JSON: `{"items": […], "total", "offset", "limit", "more"}`.
pub fn paged_json<T>(paged: &Paged<T>, limit: u64, item: impl Fn(&T) -> Value) -> Value {
    json!({
        "items": paged.items.iter().map(item).collect::<Vec<_>>(),
        "total": paged.total,
        "offset": paged.offset,
        "limit": limit,
        "more": paged.more,
    })
}

/// The last line of a listing that does not show everything: how many follow, and how to see them.
pub fn print_more(more: u64) {
    if more > 0 {
        println!("{more} more; use --limit/--offset (另有 {more} 条未显示)");
    }
}

pub fn record_json(record: &RecordView) -> Value {
    json!({
        "seq": record.seq,
        "entry_hash": record.entry_hash.to_hex(),
        "time": record.time.to_string(),
        "date": record.date.to_string(),
        "kind": record.kind,
        "kind_zh": kinds::label_zh(&record.kind),
        "author": record.author,
        "body": record.body,
        "status": record.status,
        "corrected_by": record.corrected_by,
        "redacted_by": record.redacted_by,
        "redaction": record.redaction.as_ref().map(|r| json!({"by": r.by, "author": r.author, "time": r.time.to_string(), "reason": r.reason, "replacement": r.has_replacement})),
    })
}

/// The cases of one page (`Paged`), with a summary that says when it is only a page of them.
pub fn print_cases(page: &lianlog_ledger::query::Paged<CaseView>) {
    let cases = &page.items;
    fn family_zh(family: &str) -> &str {
        match family {
            "report" => "问题线索",
            "decision" => "问责决定",
            "appeal" => "申诉",
            "rectification" => "整改",
            "supervision" => "督办",
            "inquiry" => "谈话函询",
            other => other,
        }
    }
    let rows: Vec<Vec<String>> = cases
        .iter()
        .map(|c| {
            vec![
                family_zh(c.family).to_string(),
                c.id.clone(),
                lianlog_ledger::status_zh(&c.status).to_string(),
                c.seq.to_string(),
            ]
        })
        .collect();
    print_table(&["类别 type", "编号 id", "状态 status", "序号 seq"], &rows);
    let open = cases.iter().filter(|c| c.open).count();
    if cases.len() as u64 == page.total {
        println!("{} cases, {open} open", cases.len());
    } else {
        let shown = match cases.len() {
            0 => "none".to_string(),
            n => format!("{}–{}", page.offset + 1, page.offset + n as u64),
        };
        println!("cases {shown} of {} shown, {open} of them open", page.total);
    }
}

pub fn print_overdue(overdue: &[(CaseView, RecordView)], on: lianlog_ledger::Date) {
    let rows: Vec<Vec<String>> = overdue
        .iter()
        .map(|(case, record)| {
            let body = record.body.clone().unwrap_or(Value::Null);
            let name = |value: &Value| value["name"].as_str().unwrap_or("").to_string();
            let (who, what) = match case.family {
                "supervision" => (name(&body["responsible"]), "督办 supervision order".to_string()),
                "inquiry" => (name(&body["subject"]), "函询未回复 inquiry unanswered".to_string()),
                _ => {
                    let items: Vec<String> = case.state["overdue_items"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|item| format!("第{}项", item["item"]))
                        .collect();
                    (name(&body["target"]), format!("整改 {}", items.join("、")))
                }
            };
            vec![case.id.clone(), what, who, overdue_due(case), case.seq.to_string()]
        })
        .collect();
    println!("逾期事项 overdue on {on} (rectification items, supervision orders, unanswered inquiries):");
    print_table(&["编号 id", "事项 what", "责任对象 who", "期限 due", "序号 seq"], &rows);
}

/// The deadline an overdue case missed: a rectification's earliest overdue item, an order's
/// deadline, an inquiry's reply date.
pub fn overdue_due(case: &CaseView) -> String {
    let due = match case.family {
        "supervision" => &case.state["deadline"],
        "inquiry" => &case.state["reply_due"],
        _ => &case.state["overdue_items"][0]["due"],
    };
    due.as_str().unwrap_or("").to_string()
}

/// The assessments (考核评价) of units by year, with grade and score.
pub fn print_assessments(assessments: &[lianlog_ledger::query::AssessmentView]) {
    let rows: Vec<Vec<String>> = assessments
        .iter()
        .map(|a| {
            let grade = kinds::value_label_zh("assessment", "grade", &a.grade).unwrap_or(&a.grade).to_string();
            vec![a.unit.clone(), a.year.clone(), grade, a.score.clone(), a.assessed_by.clone(), a.seq.to_string()]
        })
        .collect();
    println!("考核评价 assessments by unit and year:");
    print_table(&["单位 unit", "年度 year", "等次 grade", "得分 score", "考核机关 by", "序号 seq"], &rows);
}

pub fn print_stats(
    stats: &std::collections::BTreeMap<(String, String), u64>,
    by: lianlog_ledger::query::StatsGrouping,
) {
    let group_header = match by {
        lianlog_ledger::query::StatsGrouping::Unit => "单位 unit",
        lianlog_ledger::query::StatsGrouping::Kind => "年度 year",
        lianlog_ledger::query::StatsGrouping::Month => "月份 month",
    };
    let rows: Vec<Vec<String>> = stats
        .iter()
        .map(|((group, kind), count)| vec![group.clone(), kinds::label_zh(kind).to_string(), count.to_string()])
        .collect();
    print_table(&[group_header, "类型 kind", "数量 count"], &rows);
    println!("合计 total {}", stats.values().sum::<u64>());
}

/// A progress bar on standard error, drawn only when standard error is a terminal (and the
/// output is not JSON); silent otherwise.
pub struct Bar {
    enabled: bool,
    last: Option<std::time::Instant>,
    drawn: bool,
}

impl Bar {
    pub fn new(json_output: bool) -> Bar {
        Bar { enabled: !json_output && std::io::stderr().is_terminal(), last: None, drawn: false }
    }

    pub fn update(&mut self, progress: Progress) {
        if !self.enabled {
            return;
        }
        if progress.total == 0 {
            let mut err = std::io::stderr().lock();
            let counted = if progress.done > 0 { format!(" {}", progress.done) } else { String::new() };
            let _ = write!(err, "\r{:<72}", format!("{}…{counted}", progress.phase));
            let _ = err.flush();
            self.drawn = true;
            return;
        }
        let now = std::time::Instant::now();
        let finished = progress.done >= progress.total;
        if !finished && self.last.is_some_and(|last| now.duration_since(last).as_millis() < 100) {
            return;
        }
        self.last = Some(now);
        let width = 30u64;
        let filled = (progress.done.min(progress.total) * width / progress.total) as usize;
        let percent = progress.done.min(progress.total) * 100 / progress.total;
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r{:<9} [{}{}] {percent:>3}% {}/{}",
            progress.phase,
            "#".repeat(filled),
            ".".repeat(width as usize - filled),
            progress.done,
            progress.total
        );
        let _ = err.flush();
        self.drawn = true;
    }

    /// Write `line` on a line of its own above the bar (only where the bar is drawn): the phase a
    /// long run of several phases is in.
    pub fn say(&mut self, line: &str) {
        if self.enabled {
            self.finish();
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "{line}");
            let _ = err.flush();
        }
    }

    /// Clear the bar's line (also when dropped: an error then starts on a clean line).
    pub fn finish(&mut self) {
        if self.drawn {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r{}\r", " ".repeat(72));
            let _ = err.flush();
            self.drawn = false;
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.finish();
    }
}

// decisions group (issue 17): influence periods (影响期), collective decisions and opinions.

/// The influence periods of a dossier's decisions, as a table (nothing when there are none).
pub fn print_influence(periods: &[lianlog_ledger::influence::InfluencePeriod], on: lianlog_ledger::Date) {
    if periods.is_empty() {
        return;
    }
    println!("影响期 influence periods on {on}:");
    let rows: Vec<Vec<String>> = periods
        .iter()
        .map(|p| {
            let measure = p
                .sanction
                .as_deref()
                .and_then(|s| kinds::value_label_zh("accountability.decision", "sanction", s))
                .or_else(|| kinds::value_label_zh("accountability.decision", "measure", &p.measure))
                .unwrap_or(&p.measure);
            let span = match (&p.from, &p.until) {
                (Some(from), Some(until)) => format!("{from} – {until}"),
                (Some(from), None) => format!("{from} –"),
                _ => String::new(),
            };
            let basis = match &p.source {
                lianlog_ledger::influence::InfluenceSource::Table { regulation, article } => {
                    format!("《{regulation}》{article}")
                }
                lianlog_ledger::influence::InfluenceSource::Override { reason } => {
                    format!("决定调整 override: {reason}")
                }
                lianlog_ledger::influence::InfluenceSource::Unknown => "处分种类未载明 sanction not named".into(),
            };
            let state = match p.ended_by {
                Some(seq) => format!("{} (seq {seq})", lianlog_ledger::influence::state_zh(p.state)),
                None => lianlog_ledger::influence::state_zh(p.state).to_string(),
            };
            vec![
                p.decision_id.clone(),
                p.decision_seq.to_string(),
                measure.to_string(),
                p.months.map(|m| format!("{m} 个月")).unwrap_or_default(),
                span,
                state,
                truncate(&basis, 48),
            ]
        })
        .collect();
    print_table(
        &["决定 decision", "序号 seq", "方式 measure", "期限 months", "期间 period", "状态 state", "依据 basis"],
        &rows,
    );
}

/// A collective decision's approvals (集体研究): how many of how many, by whom, and whether it is in
/// effect. Nothing for a decision that needs no approvals.
pub fn print_approvals(state: &Value) {
    let Some(required) = state["approvals_required"].as_u64() else { return };
    let approvals = state["approvals"].as_array().cloned().unwrap_or_default();
    let members: Vec<String> =
        approvals.iter().map(|a| format!("{} (seq {})", a["member"].as_str().unwrap_or(""), a["seq"])).collect();
    let standing =
        if lianlog_ledger::opinion::in_effect(state) { "已生效 in effect" } else { "待集体研究 pending" };
    println!(
        "集体研究 approvals: {}/{required} {standing}{}",
        approvals.len(),
        if members.is_empty() { String::new() } else { format!(": {}", members.join(", ")) }
    );
    if let Some(on) = state["effective_on"].as_str() {
        println!("生效 effective on {on} (seq {})", state["effective_seq"]);
    }
}

/// A drafted integrity opinion: its text, its conclusion and what it cites.
pub fn print_opinion(draft: &lianlog_ledger::opinion::OpinionDraft, size: u64) {
    println!("{}", draft.text);
    println!();
    println!("结论 conclusion: {} ({})", draft.conclusion_zh, draft.conclusion);
    let rows: Vec<Vec<String>> = draft
        .cited
        .iter()
        .map(|c| {
            vec![c.seq.to_string(), kinds::label_zh(&c.kind).to_string(), c.role.to_string(), c.entry_hash.to_hex()]
        })
        .collect();
    if rows.is_empty() {
        println!("引用记录 cited: none");
    } else {
        println!("引用记录 cited (inclusion proofs against the checkpoint of size {size}):");
        print_table(&["序号 seq", "类型 kind", "用途 role", "条目哈希 entry hash"], &rows);
    }
}
