//! `/people/{person}` 廉政档案: a person's integrity file — the timeline by event date (reports,
//! inquiries, interviews, decisions with their influence periods, appeals, clarifications), links to
//! each record, and for officers the "download disclosure package" form; printable (app.css has
//! the print stylesheet).
//!
//! Guarantees: personal data, so a session is needed. The timeline is the library's dossier
//! (`dossier_page`, event-date order) and the influence periods `opinion::periods` as of today in
//! China, as `lianlog dossier` shows them; a session without bodies (an auditor's) sees the
//! timeline's metadata only, no periods and no download. The download is a POST with the
//! session's CSRF token answered with the package the library builds (`disclosure::prepare`) for
//! the session's key to sign: the server holds no officer's key, so the file is the unsigned
//! package, as `/lianlog/v1/disclose` answers it.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, Method, Uri, header};
use axum::response::{IntoResponse, Response};
use lianlog_ledger::influence::{InfluencePeriod, InfluenceState};
use lianlog_ledger::query::Page as Paging;
use lianlog_ledger::record::kind_keeps_body;
use maud::{Markup, html};

use super::{Access, Nav, Page, Request, html as h, render};
use crate::serve::ServeState;
use crate::serve::problem::{Code, Problem};

/// The most records one integrity file shows (a served page's bound).
const MAX_TIMELINE: u64 = crate::serve::reads::MAX_SERVED_PAGE;

/// `GET /people/{person}`.
pub(crate) async fn page(
    State(state): State<Arc<ServeState>>,
    UrlPath(person): UrlPath<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    render(state, Request { method, uri, headers }, Access::Session, move |context, ledger| {
        let queries = ledger.queries();
        let records = queries.dossier_page(&person, Paging { offset: 0, limit: MAX_TIMELINE })?;
        let bodies = context.bodies();
        let on = lianlog_ledger::influence::as_of_day(None);
        let influence = if bodies { lianlog_ledger::opinion::periods(&queries, &records.items, on)? } else { Vec::new() };
        let registry = ledger.registry();
        let name = records
            .items
            .iter()
            .filter(|_| bodies)
            .filter_map(|view| view.body.as_ref())
            .flat_map(super::records::people_in)
            .find(|(id, _)| *id == person)
            .map(|(_, name)| name);
        let viewer = context.viewer;
        let main = html! {
            p.person-head {
                "人员编号 Person ID: " code { (person) }
                @if let Some(name) = &name { "，姓名 Name: " strong { (name) } }
                "。共 " (records.total) " 条记录 records"
                @if records.more > 0 { "（显示前 " (records.items.len()) " 条 first shown）" }
                "；按事件日期排列 by event date。打印日期 Printed " (on.to_string()) "（北京时间）。"
            }
            @if !bodies {
                p.withheld { "审计密钥只读元数据：不显示正文与影响期。An auditor's key reads metadata only: no body text, no influence periods." }
            }
            @if !influence.is_empty() {
                h2 { "影响期 Influence periods" }
                (influence_table(&influence))
            }
            h2 { "时间线 Timeline" }
            @if records.items.is_empty() {
                p { "没有涉及此人的记录。No record concerns this person." }
            } @else {
                ol.timeline {
                    @for view in &records.items {
                        li {
                            span.date { (view.date.to_string()) }
                            " " (h::kind(&view.kind))
                            @if let Some(status) = &view.status { " · " span.status { (lianlog_ledger::status_zh(status)) } }
                            " · " a href=(format!("/records/{}", view.seq)) { "记录 seq " (view.seq) }
                            " · " (h::author(registry, &view.author))
                            div.summary { (super::records::summary(view, bodies || kind_keeps_body(&view.kind))) }
                        }
                    }
                }
            }
            @if let Some(viewer) = viewer.filter(|viewer| viewer.bodies && !records.items.is_empty()) {
                form.disclosure method="post" action=(format!("/people/{}/disclosure", super::encode(&person))) {
                    input type="hidden" name="csrf" value=(viewer.csrf);
                    button type="submit" { "下载公开包 Download disclosure package" }
                    p.hint {
                        "下载的是待签名的公开包（服务器不持有你的私钥）；签名版用 "
                        code { "lianlog --server URL --identity KEY disclose " (person) " --key KEY --out FILE" } "。"
                        " The file is the package for your key to sign (the server holds no officer's key); the signed package: "
                        code { "lianlog disclose" } "."
                    }
                }
            }
        };
        Ok(Page { title: format!("廉政档案 Integrity file: {person}"), nav: Nav::People, script: false, main })
    })
    .await
}

/// The kind whose measures and sanctions an influence period names.
const DECISION: &str = "accountability.decision";

fn influence_table(periods: &[InfluencePeriod]) -> Markup {
    html! {
        table.influence {
            thead { tr {
                th scope="col" { "决定 Decision" } th scope="col" { "措施 Measure" } th scope="col" { "月数 Months" }
                th scope="col" { "起 From" } th scope="col" { "止 Until" } th scope="col" { "提前结束 Ended" } th scope="col" { "状态 State" }
            } }
            tbody {
                @for period in periods {
                    tr {
                        td { a href=(format!("/records/{}", period.decision_seq)) { (period.decision_id) } }
                        td {
                            (lianlog_ledger::schema::value_label_zh(DECISION, "measure", &period.measure).unwrap_or(&period.measure))
                            @if let Some(sanction) = &period.sanction {
                                "（" (lianlog_ledger::schema::value_label_zh(DECISION, "sanction", sanction).unwrap_or(sanction)) "）"
                            }
                        }
                        td { @if let Some(months) = period.months { (months) } @else { "—" } }
                        td { (period.from.as_deref().unwrap_or("—")) }
                        td { (period.until.as_deref().unwrap_or("—")) }
                        td {
                            (period.ended_on.as_deref().unwrap_or("—"))
                            @if let Some(by) = period.ended_by { " (" a href=(format!("/records/{by}")) { "seq " (by) } ")" }
                        }
                        td.state { (state_label(period.state)) }
                    }
                }
            }
        }
    }
}

fn state_label(state: InfluenceState) -> &'static str {
    match state {
        InfluenceState::Pending => "未生效 pending",
        InfluenceState::Active => "影响期内 active",
        InfluenceState::Expired => "已期满 expired",
        InfluenceState::Ended => "已撤销 ended by appeal",
        InfluenceState::Unlimited => "无期限 unlimited",
        InfluenceState::Unknown => "未知 unknown",
    }
}

/// `POST /people/{person}/disclosure` (form field `csrf`): the package to sign, as a file.
pub(crate) async fn disclosure(
    State(state): State<Arc<ServeState>>,
    UrlPath(person): UrlPath<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let log_vkey = state.log_key.public().vkey();
    let result = crate::serve::blocking(move || {
        let request = Request { method, uri, headers };
        let viewer = super::session::form_viewer(&state, &request, &body)?;
        if !viewer.bodies {
            return Err(Problem::new(
                Code::Unauthorized,
                format!(
                    "key {} reads no bodies (审计只读元数据), so it cannot build a disclosure package",
                    viewer.identity
                ),
            ));
        }
        let ledger = state.ledger.read().map_err(|_| Problem::from(crate::serve::poisoned()))?;
        let signer = ledger
            .registry()
            .current_key(&viewer.identity)
            .map(|(key, _)| key.clone())
            .map_err(|err| Problem::new(Code::Unauthorized, err.reason))?;
        let unsigned = lianlog_ledger::disclosure::prepare(
            &ledger,
            &person,
            lianlog_ledger::disclosure::PackageCheckpoint::Sign(&state.log_key),
            &signer,
        )?;
        let text = serde_json::to_string_pretty(&unsigned)
            .map_err(|err| Problem::new(Code::Io, format!("cannot encode the package: {err}")))?;
        Ok((person, text))
    })
    .await;
    match result {
        Ok((person, text)) => {
            let safe: String = person
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
                .collect();
            let mut response = ([(header::CONTENT_TYPE, "application/json")], text).into_response();
            let headers = response.headers_mut();
            if let Ok(value) =
                HeaderValue::from_str(&format!("attachment; filename=\"disclosure-{safe}-unsigned.json\""))
            {
                headers.insert(header::CONTENT_DISPOSITION, value);
            }
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
            response
        }
        Err(problem) => super::error_page(&log_vkey, &problem),
    }
}
