//! `/records` 记录: the filtered, paginated list; `/records/{seq}`: one record with every field
//! under its Chinese label, its author and role, its entry hash and the in-browser verification
//! (`#verify`, driven by `/assets/verify.js`); `/lianlog/v1/entry/{seq}`: the stored line the
//! browser hashes.
//!
//! Guarantees: personal data, so a session is needed (the entry also answers a signed read);
//! filters are the library's `QueryFilter` and `query_page`, the record is `record_view`, as
//! `lianlog query` and `lianlog show` answer; a session without bodies (an auditor's) sees no body
//! text and cannot search it, by the read API's rule (`kind_keeps_body`).

use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, Method, Uri, header};
use axum::response::{IntoResponse, Response};
use lianlog_ledger::query::{Page as Paging, QueryFilter, RecordView};
use lianlog_ledger::record::kind_keeps_body;
use lianlog_ledger::{Date, KeyRegistry, schema};
use maud::{Markup, html};
use serde_json::Value;

use super::{Access, Context, Nav, Page, Request, html as h, render};
use crate::serve::ServeState;
use crate::serve::problem::{Code, Problem};

/// Records on one page of the list.
pub(crate) const PAGE_SIZE: u64 = 50;

/// The query string's fields (empty values count as not given; unknown names are ignored, as a
/// browser's form may add its own).
pub(crate) fn query_fields(uri: &Uri) -> Vec<(String, String)> {
    super::form_fields(uri.query().unwrap_or("").as_bytes())
        .into_iter()
        .filter(|(_, value)| !value.trim().is_empty())
        .map(|(name, value)| (name, value.trim().to_string()))
        .collect()
}

fn field<'f>(fields: &'f [(String, String)], name: &str) -> Option<&'f str> {
    fields.iter().find(|(given, _)| given == name).map(|(_, value)| value.as_str())
}

fn bad(uri: &Uri, detail: String) -> Problem {
    Problem::new(Code::BadInput, format!("{}: {detail}", uri.path()))
}

fn date(uri: &Uri, fields: &[(String, String)], name: &str) -> Result<Option<Date>, Problem> {
    field(fields, name)
        .map(|text| Date::parse(text).ok_or_else(|| bad(uri, format!("{name}={text:?}: expected a date YYYY-MM-DD"))))
        .transpose()
}

/// `GET /records?kind&unit&person&since&until&text&offset`.
pub(crate) async fn list(
    State(state): State<Arc<ServeState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    render(state, Request { method, uri, headers }, Access::Session, list_page).await
}

fn list_page(context: &Context<'_>, ledger: &lianlog_ledger::Ledger) -> Result<Page, Problem> {
    let uri = context.uri;
    let fields = query_fields(uri);
    let kind = match field(&fields, "kind") {
        None => None,
        Some(text) => Some(
            schema::resolve_kind(text)
                .ok_or_else(|| bad(uri, format!("unknown kind {text:?}.{}", schema::did_you_mean_kind(text))))?
                .to_string(),
        ),
    };
    let filter = QueryFilter {
        kind,
        person: field(&fields, "person").map(str::to_string),
        unit: field(&fields, "unit").map(str::to_string),
        since: date(uri, &fields, "since")?,
        until: date(uri, &fields, "until")?,
        text: field(&fields, "text").map(str::to_string),
    };
    if filter.text.is_some() && !context.bodies() {
        return Err(Problem::new(
            Code::Unauthorized,
            format!("{}: this key reads no bodies (审计只读元数据), so it cannot search their text", uri.path()),
        ));
    }
    let offset = match field(&fields, "offset") {
        None => 0,
        Some(text) => text.parse::<u64>().map_err(|_| bad(uri, format!("offset={text:?}: expected a number")))?,
    };
    let page = ledger.queries().query_page(&filter, Paging { offset, limit: PAGE_SIZE })?;
    let registry = ledger.registry();
    let bodies = context.bodies();
    let link = |offset: u64| {
        let mut query: Vec<String> = fields
            .iter()
            .filter(|(name, _)| name != "offset")
            .map(|(name, value)| format!("{}={}", super::encode(name), super::encode(value)))
            .collect();
        query.push(format!("offset={offset}"));
        format!("/records?{}", query.join("&"))
    };
    let main = html! {
        form.filters method="get" action="/records" role="search" aria-label="筛选 Filters" {
            p {
                label for="f-kind" { "类型 Kind" }
                select id="f-kind" name="kind" {
                    option value="" { "全部 all" }
                    @for spec in schema::record_kinds() {
                        option value=(spec.name) selected[filter.kind.as_deref() == Some(spec.name)] {
                            (spec.label_zh) " " (spec.label_en)
                        }
                    }
                }
            }
            p { label for="f-unit" { "单位 Unit" } input id="f-unit" name="unit" value=[filter.unit.as_deref()]; }
            p { label for="f-person" { "人员编号 Person ID" } input id="f-person" name="person" value=[filter.person.as_deref()]; }
            p { label for="f-since" { "起始日期 From" } input id="f-since" name="since" type="date" value=[field(&fields, "since")]; }
            p { label for="f-until" { "截止日期 To" } input id="f-until" name="until" type="date" value=[field(&fields, "until")]; }
            @if bodies {
                p { label for="f-text" { "正文包含 Text" } input id="f-text" name="text" type="search" value=[filter.text.as_deref()]; }
            }
            p { button type="submit" { "筛选 Filter" } " " a href="/records" { "清除 Clear" } }
        }
        @if let Some(person) = &filter.person {
            p { a href=(format!("/people/{}", super::encode(person))) { "查看 " (person) " 的廉政档案 Integrity file of " (person) } }
        }
        p.count role="status" { "共 " (page.total) " 条 records" @if page.total > 0 { "，第 " (page.offset + 1) "–" (page.offset + page.items.len() as u64) " 条 shown" } }
        (record_table(&page.items, registry, bodies))
        nav.pager aria-label="分页 Pages" {
            @if page.offset > 0 { a rel="prev" href=(link(page.offset.saturating_sub(PAGE_SIZE))) { "← 上一页 Previous" } }
            " "
            @if page.more > 0 { a rel="next" href=(link(page.offset + page.items.len() as u64)) { "下一页 Next →" } }
        }
    };
    Ok(Page { title: "记录 Records".into(), nav: Nav::Records, script: false, main })
}

/// A table of records (the list, a person's file uses its own timeline).
pub(crate) fn record_table(items: &[RecordView], registry: &KeyRegistry, bodies: bool) -> Markup {
    html! {
        table.records {
            thead { tr {
                th scope="col" { "序号 Seq" } th scope="col" { "事件日期 Date" } th scope="col" { "类型 Kind" }
                th scope="col" { "状态 Status" } th scope="col" { "作者 Author" } th scope="col" { "摘要 Summary" }
            } }
            tbody {
                @for view in items {
                    tr {
                        td { a href=(format!("/records/{}", view.seq)) { (view.seq) } }
                        td { (view.date.to_string()) }
                        td { (h::kind(&view.kind)) }
                        td { (view.status.as_deref().map(lianlog_ledger::status_zh).unwrap_or("")) }
                        td { (h::author(registry, &view.author)) }
                        td { (summary(view, bodies)) }
                    }
                }
            }
        }
    }
}

/// A short summary of a record: the people it names, and its first text field.
pub(crate) fn summary(view: &RecordView, bodies: bool) -> Markup {
    let shown = bodies || kind_keeps_body(&view.kind);
    match (&view.body, shown) {
        (_, false) => html! { span.withheld { "正文不可见 body withheld" } },
        (None, true) => html! { span.withheld { "正文已删除 redacted" } },
        (Some(body), true) => {
            let people = people_in(body);
            let text = first_text(body).map(|text| truncate(&text, 60));
            html! {
                @for (id, name) in &people { a.person href=(format!("/people/{}", super::encode(id))) { (name) } " " }
                @if let Some(text) = text { span.text { (text) } }
            }
        }
    }
}

fn truncate(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars { text.to_string() } else { text.chars().take(chars).collect::<String>() + "…" }
}

/// The people a body names (`{"id","name",…}` objects anywhere in it), each once.
pub(crate) fn people_in(body: &Value) -> Vec<(String, String)> {
    let mut people = Vec::new();
    fn walk(value: &Value, people: &mut Vec<(String, String)>) {
        match value {
            Value::Object(members) => {
                if let (Some(Value::String(id)), Some(Value::String(name))) = (members.get("id"), members.get("name"))
                    && !people.iter().any(|(known, _)| known == id)
                {
                    people.push((id.clone(), name.clone()));
                }
                members.values().for_each(|value| walk(value, people));
            }
            Value::Array(items) => items.iter().for_each(|value| walk(value, people)),
            _ => {}
        }
    }
    walk(body, &mut people);
    people
}

fn first_text(body: &Value) -> Option<String> {
    let members = body.as_object()?;
    ["summary", "content", "subject", "title", "reason", "findings", "matter", "text"]
        .iter()
        .find_map(|name| members.get(*name).and_then(Value::as_str).map(str::to_string))
        .or_else(|| {
            members
                .values()
                .filter_map(Value::as_str)
                .find(|text| text.chars().count() > 8 && Date::parse(text).is_none())
                .map(str::to_string)
        })
}

/// `GET /records/{seq}`.
pub(crate) async fn record(
    State(state): State<Arc<ServeState>>,
    UrlPath(seq): UrlPath<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    render(state, Request { method, uri, headers }, Access::Session, move |context, ledger| {
        let seq = seq.parse::<u64>().map_err(|_| bad(context.uri, format!("{seq:?} is not a seq")))?;
        let view = ledger.queries().record_view(seq).map_err(|err| {
            if seq >= ledger.size() { Problem::not_found(context.uri.path()) } else { Problem::from(err) }
        })?;
        let line = ledger.queries().line(seq)?;
        let registry = ledger.registry();
        let bodies = context.bodies() || kind_keeps_body(&view.kind);
        let record = &line.line.entry.record;
        let roles = registry
            .keys
            .get(&view.author)
            .map(|key| key.roles.iter().map(|role| super::role_label(*role)).collect::<Vec<_>>().join(", "))
            .unwrap_or_default();
        let main = html! {
            dl.fields {
                dt { "序号 Seq" } dd { (seq) }
                dt { "类型 Kind" } dd { (h::kind(&view.kind)) " (v" (record.v) ")" }
                dt { "事件日期 Event date" } dd { (view.date.to_string()) }
                dt { "入账时间 Sequenced" } dd { (h::time(view.time)) }
                dt { "作者 Author" } dd { (h::author(registry, &view.author)) }
                dt { "作者角色 Author's role" } dd { (roles) }
                dt { "条目哈希 Entry hash" } dd { code.hash { (view.entry_hash.to_hex()) } }
                @if let Some(status) = &view.status { dt { "状态 Status" } dd { (lianlog_ledger::status_zh(status)) " " code { (status) } } }
                @if let Some(by) = view.corrected_by { dt { "更正 Corrected by" } dd { a href=(format!("/records/{by}")) { "seq " (by) } } }
                @if let Some(note) = &view.redaction {
                    dt { "删除 Redacted" }
                    dd { "seq " a href=(format!("/records/{}", note.by)) { (note.by) } "，" (h::time(note.time)) "，理由 reason: " (note.reason) }
                }
            }
            h2 { "内容 Body" }
            @if !bodies {
                p.withheld { "正文不可见：审计密钥只读元数据。Body withheld: an auditor's key reads metadata only." }
            } @else {
                @match &view.body {
                    None => p.withheld { "正文已删除 The body was redacted; the entry, its hash and signature are intact." },
                    Some(body) => (body_fields(&view.kind, body)),
                }
            }
            (verify_section(seq, &view.entry_hash.to_hex(), &view.kind))
        };
        Ok(Page { title: format!("记录 Record {seq}"), nav: Nav::Records, script: true, main })
    })
    .await
}

/// The verification part of a record page: the contract with `/assets/verify.js`.
fn verify_section(seq: u64, entry_hash: &str, kind: &str) -> Markup {
    html! {
        section id="verify" data-seq=(seq) data-entry-url=(format!("/lianlog/v1/entry/{seq}"))
            data-proof-url=(format!("/lianlog/v1/prove/inclusion?seq={seq}")) data-checkpoint-url="/checkpoint" data-entry-hash=(entry_hash) data-kind=(kind)
            aria-labelledby="verify-heading" {
            h2 id="verify-heading" { "核验 Verify" }
            p { "在浏览器中核验此记录的条目哈希、包含证明与检查点签名（用你固定的日志公钥）。Checks, in your browser and under the log key you pinned, that the entry shown here is in the tree the checkpoint signs. 见证方联署的检查点才能排除只给你看的分叉历史 (docs/SECURITY.md)." }
            button id="verify-button" type="button" { "在浏览器中核验 Verify in the browser" }
            p { output id="verify-result" for="verify-button" {} }
            noscript { p { "核验需要 JavaScript；或用 " code { "lianlog prove inclusion --seq " (seq) } " 与 " code { "lianlog check inclusion" } "。" } }
        }
    }
}

/// A body's fields under their Chinese labels, in the kind's field order, then any others.
pub(crate) fn body_fields(kind: &str, body: &Value) -> Markup {
    let spec = schema::KINDS.iter().find(|spec| spec.name == kind);
    let fields: Vec<(&str, &str)> = spec
        .and_then(|spec| spec.version(spec.current_version()))
        .map(|version| version.fields.iter().map(|field| (field.name, field.label_zh)).collect())
        .unwrap_or_default();
    let members = body.as_object();
    html! {
        dl.fields.body {
            @for (name, label) in &fields {
                @if let Some(value) = members.and_then(|members| members.get(*name)) {
                    dt { (label) " " small.en { (name) } }
                    dd { (value_markup(kind, name, value)) }
                }
            }
            @if let Some(members) = members {
                @for (name, value) in members.iter().filter(|(name, _)| !fields.iter().any(|(known, _)| known == name)) {
                    dt { (name) }
                    dd { (value_markup(kind, name, value)) }
                }
            } @else {
                dt { "内容 Body" } dd { pre { (body.to_string()) } }
            }
        }
    }
}

fn value_markup(kind: &str, field: &str, value: &Value) -> Markup {
    match value {
        Value::String(text) => match schema::value_label_zh(kind, field, text) {
            Some(label) => html! { (label) " " small.en { (text) } },
            None => html! { span.text { (text) } },
        },
        Value::Object(members) => {
            match (members.get("id").and_then(Value::as_str), members.get("name").and_then(Value::as_str)) {
                (Some(id), Some(name)) if !members.contains_key("org_id") => html! {
                    a.person href=(format!("/people/{}", super::encode(id))) { (name) } " (" (id)
                    @if let Some(unit) = members.get("unit").and_then(Value::as_str) { "，" (unit) }
                    @if let Some(post) = members.get("post").and_then(Value::as_str) { "，" (post) }
                    ")"
                },
                _ => match (members.get("seq").and_then(Value::as_u64), members.contains_key("hash")) {
                    (Some(seq), true) => html! { a href=(format!("/records/{seq}")) { "seq " (seq) } },
                    _ if members.contains_key("regulation") => html! {
                        "《" (members.get("regulation").and_then(Value::as_str).unwrap_or("")) "》"
                        (members.get("article").and_then(Value::as_str).unwrap_or(""))
                    },
                    _ if members.contains_key("org_id") => html! {
                        (members.get("name").and_then(Value::as_str).unwrap_or("")) " ("
                        (members.get("org_id").and_then(Value::as_str).unwrap_or("")) ")"
                    },
                    _ => html! {
                        dl.nested { @for (name, inner) in members { dt { (name) } dd { (value_markup(kind, name, inner)) } } }
                    },
                },
            }
        }
        Value::Array(items) => html! { ul.list { @for item in items { li { (value_markup(kind, field, item)) } } } },
        other => html! { (other.to_string()) },
    }
}

/// `GET /lianlog/v1/entry/{seq}`: the stored line of `seq`, byte for byte with its newline, as the
/// caller may see it (withheld for a key that reads no bodies, as `show` answers) — the `entry`
/// member and so the leaf hash are the same either way. A session or a signed read is needed.
pub(crate) async fn entry(
    State(state): State<Arc<ServeState>>,
    UrlPath(seq): UrlPath<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let result = crate::serve::blocking(move || {
        let caller = super::session::caller(&state, &method, &uri, &headers)?;
        let bodies = caller.has(lianlog_ledger::Role::Admin) || caller.has(lianlog_ledger::Role::Officer);
        let seq = seq.parse::<u64>().map_err(|_| Problem::not_found(&format!("/lianlog/v1/entry/{seq}")))?;
        let ledger = state.ledger.read().map_err(|_| Problem::from(crate::serve::poisoned()))?;
        if seq >= ledger.size() {
            return Err(Problem::not_found(&format!("/lianlog/v1/entry/{seq}")));
        }
        let line = ledger.queries().line(seq)?;
        let shown = if bodies || kind_keeps_body(&line.line.entry.record.kind) {
            line.line.to_line()
        } else {
            line.line.withheld().to_line()
        };
        shown.map_err(|err| Problem::new(Code::Verification, format!("seq {seq}: {err}")))
    })
    .await;
    match result {
        Ok(bytes) => {
            let mut response = ([(header::CONTENT_TYPE, "application/jsonl")], bytes).into_response();
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response.headers_mut().insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
            response
        }
        Err(problem) => problem.into_response(),
    }
}
