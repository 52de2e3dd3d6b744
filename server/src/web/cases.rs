//! `/cases` 案件与逾期: the cases with their status and deadlines, and the open ones past a
//! deadline on today's date in China highlighted: rectifications with an open item past due,
//! supervision orders (督办) past their deadline, letter inquiries (函询) unanswered past their
//! reply date.
//!
//! Guarantees: personal data, so a session is needed. The lists are the library's `cases_page` and
//! `overdue` (what `lianlog cases` and `lianlog overdue` answer); a session without bodies sees
//! each case without its state (deadlines come from bodies), by the read API's rule.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use lianlog_ledger::query::{CaseView, Page as Paging};
use maud::{Markup, html};
use serde_json::Value;

use super::{Access, Nav, Page, Request, html as h, render};
use crate::serve::ServeState;
use crate::serve::problem::{Code, Problem};

/// Cases on one page.
const PAGE_SIZE: u64 = 100;

/// The Chinese label of a case family.
fn family_label(family: &str) -> &'static str {
    match family {
        "report" => "举报/问题线索 report",
        "decision" => "处分决定 decision",
        "appeal" => "申诉 appeal",
        "rectification" => "整改 rectification",
        "supervision" => "督办 supervision order",
        "inquiry" => "函询 letter inquiry",
        _ => "案件 case",
    }
}

/// `GET /cases?open=true&offset=N`.
pub(crate) async fn page(
    State(state): State<Arc<ServeState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    render(state, Request { method, uri, headers }, Access::Session, |context, ledger| {
        let fields = super::records::query_fields(context.uri);
        let get = |name: &str| fields.iter().find(|(given, _)| given == name).map(|(_, value)| value.as_str());
        let open_only = get("open") == Some("true");
        let offset = match get("offset") {
            None => 0,
            Some(text) => text.parse::<u64>().map_err(|_| {
                Problem::new(Code::BadInput, format!("{}: offset={text:?}: expected a number", context.uri.path()))
            })?,
        };
        let bodies = context.bodies();
        let today = lianlog_ledger::Timestamp::now().date_in_china();
        let queries = ledger.queries();
        let mut overdue = queries.overdue(today)?;
        let mut cases = queries.cases_page(open_only, Paging { offset, limit: PAGE_SIZE })?;
        if !bodies {
            for (case, view) in &mut overdue {
                case.state = Value::Object(serde_json::Map::new());
                view.body = None;
            }
            for case in &mut cases.items {
                case.state = Value::Object(serde_json::Map::new());
            }
        }
        let is_overdue = |case: &CaseView| overdue.iter().any(|(late, _)| late.family == case.family && late.id == case.id);
        let registry = ledger.registry();
        let link = |offset: u64| format!("/cases?{}offset={offset}", if open_only { "open=true&" } else { "" });
        let main = html! {
            h2 { "逾期 Overdue on " (today.to_string()) "（北京时间）" }
            @if overdue.is_empty() {
                p.ok { "没有逾期事项。Nothing is overdue." }
            } @else {
                table.overdue {
                    thead { tr {
                        th scope="col" { "类别 Family" } th scope="col" { "编号 ID" } th scope="col" { "状态 Status" }
                        th scope="col" { "期限 Deadline" } th scope="col" { "立案记录 Opened by" } th scope="col" { "作者 Author" }
                    } }
                    tbody {
                        @for (case, view) in &overdue {
                            tr.overdue {
                                td { (family_label(case.family)) }
                                td { strong { (case.id) } }
                                td { (lianlog_ledger::status_zh(&case.status)) }
                                td { (deadline(case, bodies)) }
                                td { a href=(format!("/records/{}", case.seq)) { "seq " (case.seq) } " · " (view.date.to_string()) }
                                td { (h::author(registry, &view.author)) }
                            }
                        }
                    }
                }
            }
            h2 { "案件 Cases" }
            form.filters method="get" action="/cases" {
                p {
                    input type="checkbox" id="f-open" name="open" value="true" checked[open_only];
                    label for="f-open" { "只看未结 Open only" }
                    " " button type="submit" { "筛选 Filter" }
                }
            }
            p.count role="status" { "共 " (cases.total) " 件 cases" }
            table.cases {
                thead { tr {
                    th scope="col" { "类别 Family" } th scope="col" { "编号 ID" } th scope="col" { "状态 Status" }
                    th scope="col" { "未结 Open" } th scope="col" { "期限 Deadline" } th scope="col" { "立案记录 Opened by" }
                } }
                tbody {
                    @for case in &cases.items {
                        tr class=[is_overdue(case).then_some("overdue")] {
                            td { (family_label(case.family)) }
                            td { (case.id) @if is_overdue(case) { " " strong.flag { "逾期 overdue" } } }
                            td { (lianlog_ledger::status_zh(&case.status)) }
                            td { @if case.open { "是 yes" } @else { "否 no" } }
                            td { (deadline(case, bodies)) }
                            td { a href=(format!("/records/{}", case.seq)) { "seq " (case.seq) } }
                        }
                    }
                }
            }
            nav.pager aria-label="分页 Pages" {
                @if cases.offset > 0 { a rel="prev" href=(link(cases.offset.saturating_sub(PAGE_SIZE))) { "← 上一页 Previous" } }
                " "
                @if cases.more > 0 { a rel="next" href=(link(cases.offset + cases.items.len() as u64)) { "下一页 Next →" } }
            }
        };
        Ok(Page { title: "案件与逾期 Cases and overdue".into(), nav: Nav::Cases, script: false, main })
    })
    .await
}

/// A case's deadlines from its state: `deadline`, `due`, a reply date, or its items' due dates.
fn deadline(case: &CaseView, bodies: bool) -> Markup {
    if !bodies {
        return html! { span.withheld { "不可见 withheld" } };
    }
    let state = &case.state;
    let text = |name: &str| state.get(name).and_then(Value::as_str).map(str::to_string);
    let mut dates: Vec<String> =
        ["deadline", "due", "reply_by", "reply_due"].iter().filter_map(|name| text(name)).collect();
    if let Some(items) = state.get("items").and_then(Value::as_array) {
        for (index, item) in items.iter().enumerate() {
            if let Some(due) = item.get("due").and_then(Value::as_str) {
                let done = !item.get("done_seq").is_none_or(Value::is_null);
                dates.push(format!("第{}项 item {} {due}{}", index + 1, index + 1, if done { " ✓" } else { "" }));
            }
        }
    }
    html! { @if dates.is_empty() { "—" } @else { (dates.join("；")) } }
}
