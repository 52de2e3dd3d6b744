//! `/` 总览 overview: the ledger's origin and size, its newest served checkpoint with the
//! witnesses that cosigned it (and how long ago they say they did), records per kind this year,
//! open cases, overdue items, and the last full verification recorded in the ledger (the newest
//! `audit.attest` 审计签注).
//!
//! Guarantees: numbers and metadata only (no names of people, no body text except an
//! attestation's conclusion to a session that reads bodies), so no session is needed; a session's
//! view is logged like every page. The counts are the library's queries (`stats`, `cases_page`,
//! `overdue_page`, `query_page`); the witness names and times are read from the served
//! checkpoint's signature lines for display (which cosignatures count is checked by verifiers,
//! `lianlog verify --checkpoint … --witness`, not here).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use lianlog_ledger::query::{Page as Paging, QueryFilter, StatsGrouping};
use lianlog_ledger::{Timestamp, schema};
use maud::{Markup, html};

use super::{Access, Nav, Page, Request, html as h, render};
use crate::serve::ServeState;

/// A signature line of a checkpoint: the signer's name, and the time it states if it is a
/// cosignature (key id, 8-byte timestamp, signature: 76 bytes; a log signature is 68).
fn signatures(note: &str) -> Vec<(String, Option<Timestamp>)> {
    let Some((_, lines)) = note.split_once("\n\n") else { return Vec::new() };
    lines
        .lines()
        .filter_map(|line| line.strip_prefix("\u{2014} "))
        .filter_map(|line| line.rsplit_once(' '))
        .map(|(name, signature)| {
            let time = lianlog_ledger::encoding::parse_base64(signature)
                .filter(|bytes| bytes.len() == 76)
                .and_then(|bytes| <[u8; 8]>::try_from(&bytes[4..12]).ok())
                .map(u64::from_be_bytes)
                .and_then(|seconds| i64::try_from(seconds).ok()?.checked_mul(1000))
                .map(Timestamp::from_millis);
            (name.to_string(), time)
        })
        .collect()
}

/// How long ago `then` was, in Chinese and English.
fn since(then: Timestamp, now: Timestamp) -> String {
    let seconds = (now.as_millis() - then.as_millis()).max(0) / 1000;
    match seconds {
        0..60 => format!("{seconds} 秒前，{seconds} s ago"),
        60..3600 => format!("{m} 分钟前，{m} min ago", m = seconds / 60),
        3600..86400 => format!("{h} 小时前，{h} h ago", h = seconds / 3600),
        _ => format!("{d} 天前，{d} days ago", d = seconds / 86400),
    }
}

/// `GET /`.
pub(crate) async fn page(
    State(state): State<Arc<ServeState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    render(state, Request { method, uri, headers }, Access::Public, |context, ledger| {
        let now = Timestamp::now();
        let today = now.date_in_china();
        let year = today.year();
        let queries = ledger.queries();
        let size = ledger.size();
        let newest = if size > 0 { Some(queries.record_view(size - 1)?.time) } else { None };
        let note = context.state.served_checkpoint();
        let checkpoint = lianlog_ledger::Checkpoint::parse_text(&note).ok();
        let signed = signatures(&note);
        let mut per_kind: Vec<(String, u64)> = Vec::new();
        for ((_, kind), count) in queries.stats(StatsGrouping::Kind, Some(year))? {
            match per_kind.iter_mut().find(|(known, _)| *known == kind) {
                Some((_, total)) => *total += count,
                None => per_kind.push((kind, count)),
            }
        }
        let open_cases = queries.cases_page(true, Paging { offset: 0, limit: 1 })?.total;
        let overdue = queries.overdue_page(today, Paging { offset: 0, limit: 1 })?.total;
        let attest = QueryFilter { kind: Some("audit.attest".into()), ..QueryFilter::default() };
        let attestations = queries.query_page(&attest, Paging { offset: 0, limit: 1 })?.total;
        let last_attest = if attestations > 0 {
            queries.query_page(&attest, Paging { offset: attestations - 1, limit: 1 })?.items.pop()
        } else {
            None
        };
        let bodies = context.bodies();
        let main = html! {
            section.cards aria-label="概况 Summary" {
                (card("账本 Ledger", html! { code { (ledger.origin()) } }))
                (card("条目 Entries", html! { strong.big { (size) } }))
                (card("未结案件 Open cases", html! { strong.big { (open_cases) } }))
                (card("逾期事项 Overdue", html! {
                    strong.big.alert[overdue > 0] { (overdue) }
                    " " small { "截至 on " (today.to_string()) }
                }))
            }
            h2 { "最新检查点 Newest checkpoint" }
            dl.fields {
                @if let Some(checkpoint) = &checkpoint {
                    dt { "树大小 Tree size" } dd { (checkpoint.size) }
                    dt { "根哈希 Root hash" } dd { code.hash { (lianlog_ledger::encoding::hex(&checkpoint.root)) } }
                }
                dt { "最新条目 Newest entry" }
                dd { @if let Some(time) = newest { (h::time(time)) "（" (since(time, now)) "）" } @else { "—" } }
                dt { "签名 Signatures" }
                dd {
                    ul.list {
                        @for (name, time) in &signed {
                            li {
                                code { (name) }
                                @match time {
                                    Some(time) => { " 见证 cosigned " (h::time(*time)) "（" (since(*time, now)) "）" },
                                    None => { " 日志签名 log signature" },
                                }
                            }
                        }
                    }
                    @if !signed.iter().any(|(_, time)| time.is_some()) {
                        p.hint { "尚无见证方联署。No witness has cosigned the served checkpoint." }
                    }
                }
            }
            details.checkpoint {
                summary { "检查点原文 The checkpoint as served" }
                pre { (note.as_ref()) }
            }
            h2 { (year) " 年各类型记录 Records per kind this year" }
            @if per_kind.is_empty() {
                p { "今年尚无记录。No records this year yet." }
            } @else {
                table.stats {
                    thead { tr { th scope="col" { "类型 Kind" } th scope="col" { "条数 Count" } } }
                    tbody {
                        @for (kind, count) in &per_kind {
                            tr { td { (h::kind(kind)) } td.num { (count) } }
                        }
                    }
                }
                p { a href="/stats" { "更多统计 More statistics" } }
            }
            h2 { "最近一次完整核验 Last full verification" }
            @match &last_attest {
                None => p { "账本中尚无审计签注（" (schema::label_zh("audit.attest")) "）。No audit attestation is recorded yet: an auditor runs "
                    code { "lianlog verify" } " and records the result with " code { "audit.attest" } "." },
                Some(view) => dl.fields {
                    dt { "审计签注 Attestation" } dd { "seq " (view.seq) "，" (view.date.to_string()) }
                    // The key's identity only: this page is public and names no person.
                    dt { "审计密钥 Auditor's key" } dd { code { (view.author) } }
                    @if bodies {
                        @if let Some(size) = view.body.as_ref().and_then(|body| body["checkpoint"]["size"].as_u64()) {
                            dt { "核验的树大小 Tree size verified" } dd { (size) }
                        }
                        @if let Some(result) = view.body.as_ref().and_then(|body| body["result"].as_str()) {
                            dt { "结论 Result" } dd { (result) }
                        }
                    }
                },
            }
        };
        Ok(Page { title: "总览 Overview".into(), nav: Nav::Overview, script: false, main })
    })
    .await
}

fn card(label: &str, value: Markup) -> Markup {
    html! { div.card { p.label { (label) } p.value { (value) } } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_lines_name_their_signers_and_cosigners_their_time() {
        let log = lianlog_ledger::encoding::base64(&[1u8; 68]);
        let mut cosignature = vec![2u8; 4];
        cosignature.extend_from_slice(&1_796_284_800u64.to_be_bytes());
        cosignature.extend_from_slice(&[3u8; 64]);
        let note = format!(
            "example.org/log\n3\nAAAA\n\n\u{2014} example.org/log {log}\n\u{2014} 上级纪委监委 {}\n",
            lianlog_ledger::encoding::base64(&cosignature)
        );
        let signed = signatures(&note);
        assert_eq!(signed.len(), 2);
        assert_eq!(signed[0], ("example.org/log".to_string(), None));
        assert_eq!(signed[1].0, "上级纪委监委");
        assert_eq!(signed[1].1, Some(Timestamp::from_millis(1_796_284_800_000)));
        assert!(signatures("no signatures").is_empty());
    }

    #[test]
    fn time_since_is_in_the_largest_whole_unit() {
        let now = Timestamp::from_millis(10_000_000_000);
        let ago = |seconds: i64| since(Timestamp::from_millis(10_000_000_000 - seconds * 1000), now);
        assert_eq!(ago(5), "5 秒前，5 s ago");
        assert_eq!(ago(125), "2 分钟前，2 min ago");
        assert_eq!(ago(7200), "2 小时前，2 h ago");
        assert_eq!(ago(3 * 86400), "3 天前，3 days ago");
        assert_eq!(ago(-5), "0 秒前，0 s ago");
    }
}
