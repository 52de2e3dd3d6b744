//! `/stats` 统计: counts of a year's records by kind, unit and month, as SVG bar charts drawn on
//! the server (no script) with the table below, and `/stats.csv` (the same counts as CSV).
//!
//! Guarantees: counts only (the library's `Queries::stats`, as `lianlog stats` answers), so no
//! session is needed; a session's view is logged like every page. Charts are inline SVG with
//! presentation attributes and a text alternative (`role="img"`, `<title>`), allowed by the
//! page's Content-Security-Policy; the table carries the same numbers for screen readers and
//! printing.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, Uri, header};
use axum::response::{IntoResponse, Response};
use lianlog_ledger::query::StatsGrouping;
use lianlog_ledger::{Ledger, schema};
use maud::{Markup, html};

use super::{Access, Nav, Page, Request, render};
use crate::serve::ServeState;
use crate::serve::problem::{Code, Problem};

/// The year asked (`?year=YYYY`), or this year in China.
fn year(uri: &Uri) -> Result<i16, Problem> {
    let fields = super::records::query_fields(uri);
    match fields.iter().find(|(name, _)| name == "year") {
        None => Ok(lianlog_ledger::Timestamp::now().date_in_china().year()),
        Some((_, text)) => text.parse::<i16>().ok().filter(|year| (1000..=9999).contains(year)).ok_or_else(|| {
            Problem::new(Code::BadInput, format!("{}: year={text:?}: expected a year YYYY", uri.path()))
        }),
    }
}

/// A year's counts in the three groupings: (group, kind) → count.
struct Counts {
    by_kind: BTreeMap<String, u64>,
    by_unit: BTreeMap<String, u64>,
    by_month: BTreeMap<String, u64>,
    rows: Vec<(&'static str, String, String, u64)>,
}

fn counts(ledger: &Ledger, year: i16) -> Result<Counts, Problem> {
    let queries = ledger.queries();
    let mut counts =
        Counts { by_kind: BTreeMap::new(), by_unit: BTreeMap::new(), by_month: BTreeMap::new(), rows: Vec::new() };
    for (by, name) in [(StatsGrouping::Kind, "kind"), (StatsGrouping::Unit, "unit"), (StatsGrouping::Month, "month")] {
        for ((group, kind), count) in queries.stats(by, Some(year))? {
            let total = match by {
                StatsGrouping::Kind => counts.by_kind.entry(kind.clone()).or_default(),
                StatsGrouping::Unit => counts.by_unit.entry(group.clone()).or_default(),
                StatsGrouping::Month => counts.by_month.entry(group.clone()).or_default(),
            };
            *total += count;
            counts.rows.push((name, group, kind, count));
        }
    }
    Ok(counts)
}

/// `GET /stats?year=YYYY`.
pub(crate) async fn page(
    State(state): State<Arc<ServeState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    render(state, Request { method, uri, headers }, Access::Public, |context, ledger| {
        let year = year(context.uri)?;
        let counts = counts(ledger, year)?;
        let kinds: Vec<(String, u64)> =
            counts.by_kind.iter().map(|(kind, count)| (schema::label_zh(kind).to_string(), *count)).collect();
        let units: Vec<(String, u64)> = counts.by_unit.iter().map(|(unit, count)| (unit.clone(), *count)).collect();
        let months: Vec<(String, u64)> = (1..=12)
            .map(|month| {
                let key = format!("{year:04}-{month:02}");
                (format!("{month}月"), counts.by_month.get(&key).copied().unwrap_or(0))
            })
            .collect();
        let main = html! {
            form.filters method="get" action="/stats" {
                p {
                    label for="f-year" { "年度 Year" }
                    input id="f-year" name="year" type="number" min="1000" max="9999" value=(year);
                    " " button type="submit" { "查看 Show" }
                    " " a href=(format!("/stats.csv?year={year}")) download { "下载 CSV Download CSV" }
                }
            }
            @if counts.rows.is_empty() {
                p { (year) " 年没有记录。No records in " (year) "." }
            }
            section aria-labelledby="by-kind" {
                h2 id="by-kind" { "按类型 By kind" }
                (bar_chart(&format!("{year} 年各类型记录数 Records by kind"), &kinds))
            }
            section aria-labelledby="by-unit" {
                h2 id="by-unit" { "按单位 By unit" }
                (bar_chart(&format!("{year} 年各单位记录数 Records by unit"), &units))
            }
            section aria-labelledby="by-month" {
                h2 id="by-month" { "按月份 By month" }
                (bar_chart(&format!("{year} 年各月记录数 Records by month"), &months))
            }
            h2 { "明细 Table" }
            table.stats {
                thead { tr { th scope="col" { "分组方式 Grouping" } th scope="col" { "分组 Group" } th scope="col" { "类型 Kind" } th scope="col" { "条数 Count" } } }
                tbody {
                    @for (by, group, kind, count) in &counts.rows {
                        tr { td { (grouping_label(by)) } td { (group) } td { (super::html::kind(kind)) } td.num { (count) } }
                    }
                }
            }
        };
        Ok(Page { title: format!("统计 Statistics {year}"), nav: Nav::Stats, script: false, main })
    })
    .await
}

fn grouping_label(by: &str) -> &'static str {
    match by {
        "kind" => "类型 kind",
        "unit" => "单位 unit",
        _ => "月份 month",
    }
}

/// A horizontal bar chart: one labelled bar per item, scaled to the largest count.
fn bar_chart(title: &str, items: &[(String, u64)]) -> Markup {
    const ROW: u64 = 28;
    const LABEL: u64 = 220;
    const BARS: u64 = 440;
    let max = items.iter().map(|(_, count)| *count).max().unwrap_or(0).max(1);
    let height = ROW * (items.len() as u64).max(1) + 8;
    let width = LABEL + BARS + 60;
    html! {
        svg.chart role="img" aria-label=(title) viewBox=(format!("0 0 {width} {height}")) width=(width) height=(height) {
            title { (title) }
            @if items.is_empty() {
                text x="8" y="20" { "无数据 No data" }
            }
            @for (index, (label, count)) in items.iter().enumerate() {
                @let y = ROW * index as u64 + 4;
                @let length = if *count == 0 { 0 } else { (BARS * count / max).max(2) };
                text.label x=(LABEL - 8) y=(y + 18) text-anchor="end" { (label) }
                rect.bar x=(LABEL) y=(y + 4) width=(length) height=(ROW - 8) rx="2" {}
                text.value x=(LABEL + length + 6) y=(y + 18) { (count) }
            }
        }
    }
}

/// `GET /stats.csv?year=YYYY`: `grouping,group,kind,kind_zh,count` (UTF-8 with a byte-order mark,
/// so that spreadsheet programs read the Chinese labels).
pub(crate) async fn csv(
    State(state): State<Arc<ServeState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let log_vkey = state.log_key.public().vkey();
    let result = crate::serve::blocking(move || {
        let request = Request { method, uri, headers };
        super::session::viewer(&state, &request)?;
        let year = year(&request.uri)?;
        let ledger = state.ledger.read().map_err(|_| Problem::from(crate::serve::poisoned()))?;
        let counts = counts(&ledger, year)?;
        let mut out = String::from("\u{feff}grouping,group,kind,kind_zh,count\r\n");
        for (by, group, kind, count) in &counts.rows {
            let fields =
                [by.to_string(), group.clone(), kind.clone(), schema::label_zh(kind).to_string(), count.to_string()];
            out.push_str(&fields.iter().map(|field| csv_field(field)).collect::<Vec<_>>().join(","));
            out.push_str("\r\n");
        }
        Ok((year, out))
    })
    .await;
    match result {
        Ok((year, text)) => {
            let mut response = ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], text).into_response();
            if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"lianlog-stats-{year}.csv\"")) {
                response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
            }
            super::secure_headers(response.headers_mut());
            response
        }
        Err(problem) => super::error_page(&log_vkey, &problem),
    }
}

/// One CSV field (RFC 4180): quoted when it holds a comma, quote or line break; a leading `=`,
/// `+`, `-`, `@`, tab or carriage return is prefixed with `'` so a spreadsheet does not run it as
/// a formula (OWASP's CSV injection list).
fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_string() };
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("市住建局"), "市住建局");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=1+1"), "'=1+1");
        assert_eq!(csv_field("-2,3"), "\"'-2,3\"");
        assert_eq!(csv_field("\t=1"), "'\t=1");
    }

    #[test]
    fn a_chart_has_a_bar_per_item_and_a_text_alternative() {
        let chart = bar_chart("标题", &[("约谈".into(), 3), ("函询".into(), 0)]).into_string();
        assert!(chart.contains("role=\"img\" aria-label=\"标题\""), "{chart}");
        assert_eq!(chart.matches("<rect").count(), 2);
        assert!(chart.contains("width=\"440\""), "the largest count fills the width: {chart}");
        assert!(!chart.contains("style="), "no inline style (CSP): {chart}");
        assert!(bar_chart("空", &[]).into_string().contains("无数据"));
    }
}
