//! The page frame and small HTML helpers shared by every page of `lianlog serve`'s web pages.
//!
//! Guarantees: every page is `lang="zh-CN"`, links `/assets/app.css` (and no other stylesheet),
//! carries the log's vkey in `<meta name="lianlog-log-vkey">` (for comparison only: a user pins
//! their own), starts with a skip link to `#main`, and names no external URL. All text passes
//! through maud, which escapes it: no record field can inject markup.

use maud::{DOCTYPE, Markup, html};

/// Who is looking at a page, as the frame shows it.
pub(crate) struct Frame<'a> {
    /// The page's title (Chinese first, English after).
    pub(crate) title: &'a str,
    /// Which navigation item is the current page.
    pub(crate) nav: Nav,
    /// The log's vkey (C2SP form).
    pub(crate) log_vkey: &'a str,
    /// The signed-in key and its CSRF token, if there is a session.
    pub(crate) viewer: Option<(&'a str, &'a str, &'a str)>,
    /// Whether the page includes `/assets/verify.js` (the record and check pages).
    pub(crate) script: bool,
}

/// The navigation items.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav {
    Overview,
    Records,
    People,
    Cases,
    Stats,
    Check,
    None,
}

const NAV: [(Nav, &str, &str); 5] = [
    (Nav::Overview, "/", "总览 Overview"),
    (Nav::Records, "/records", "记录 Records"),
    (Nav::Cases, "/cases", "案件与逾期 Cases"),
    (Nav::Stats, "/stats", "统计 Statistics"),
    (Nav::Check, "/check", "核验 Check a file"),
];

/// A whole page: the frame around `main`.
pub(crate) fn page(frame: &Frame<'_>, main: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="lianlog-log-vkey" content=(frame.log_vkey);
                meta name="referrer" content="no-referrer";
                title { (frame.title) " · lianlog 廉政账本" }
                link rel="stylesheet" href="/assets/app.css";
                @if frame.script {
                    script src="/assets/verify.js" defer {}
                }
            }
            body {
                a.skip href="#main" { "跳到正文 Skip to content" }
                header.top {
                    p.brand { a href="/" { "lianlog 廉政账本" } }
                    nav aria-label="主导航 Main" {
                        ul {
                            @for (item, href, label) in NAV {
                                li {
                                    @if item == frame.nav {
                                        a href=(href) aria-current="page" { (label) }
                                    } @else {
                                        a href=(href) { (label) }
                                    }
                                }
                            }
                        }
                    }
                    div.who {
                        @match frame.viewer {
                            Some((identity, roles, csrf)) => {
                                span { "已登录 Signed in: " code { (identity) } " (" (roles) ")" }
                                form method="post" action="/logout" {
                                    input type="hidden" name="csrf" value=(csrf);
                                    button type="submit" { "退出登录 Sign out" }
                                }
                            }
                            None => {
                                span { "未登录 Not signed in — " code { "lianlog login --server URL --key FILE" } }
                            }
                        }
                    }
                }
                main id="main" tabindex="-1" {
                    h1 { (frame.title) }
                    (main)
                }
                footer {
                    p {
                        "日志公钥 Log key (compare with the one you pinned): "
                        code.vkey { (frame.log_vkey) }
                    }
                }
            }
        }
    }
}

/// A timestamp in China Standard Time (北京时间, UTC+8, no daylight saving), `YYYY-MM-DD HH:MM:SS`:
/// the zone the officers work in, whatever the server's. UTC is what is stored.
pub(crate) fn china_time(time: lianlog_ledger::Timestamp) -> String {
    let shifted = lianlog_ledger::Timestamp::from_millis(time.as_millis().saturating_add(8 * 3_600_000)).to_string();
    // `YYYY-MM-DDTHH:MM:SS.mmmZ` shifted by eight hours, shown without the UTC marker.
    shifted.get(..19).map_or(shifted.clone(), |text| text.replacen('T', " ", 1))
}

/// A time shown as China time, labelled, with UTC in its title.
pub(crate) fn time(time: lianlog_ledger::Timestamp) -> Markup {
    html! { time datetime=(time.to_string()) title=(format!("UTC {time}")) { (china_time(time)) " 北京时间" } }
}

/// The display name of a key: its holder's name and unit, then the identity.
pub(crate) fn author(registry: &lianlog_ledger::KeyRegistry, identity: &str) -> Markup {
    match registry.keys.get(identity) {
        Some(key) => html! {
            span.author { (key.holder.name) "（" (key.holder.unit) "）" }
            " " code.identity { (identity) }
        },
        None => html! { code.identity { (identity) } },
    }
}

/// The Chinese and English label of a kind (`谈话函询 interview`).
pub(crate) fn kind(name: &str) -> Markup {
    let zh = lianlog_ledger::schema::label_zh(name);
    html! { span.kind title=(name) { (zh) } @if zh != name { " " small.en { (name) } } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_china() {
        let time = lianlog_ledger::Timestamp::parse("2026-12-03T20:30:05.123Z").unwrap();
        assert_eq!(china_time(time), "2026-12-04 04:30:05");
        let shown = super::time(time).into_string();
        assert!(shown.contains("datetime=\"2026-12-03T20:30:05.123Z\"") && shown.contains("北京时间"), "{shown}");
    }

    #[test]
    fn the_frame_escapes_text_and_keeps_the_contract() {
        let frame = Frame {
            title: "<script>",
            nav: Nav::Records,
            log_vkey: "example.org/log+01020304+AQ==",
            viewer: Some(("officer\"x", "办案人员 officer", "tok")),
            script: true,
        };
        let page = page(&frame, html! { p { "<b>" } }).into_string();
        assert!(page.contains("&lt;script&gt;") && page.contains("&lt;b&gt;") && !page.contains("<b>"), "{page}");
        assert!(page.contains("<html lang=\"zh-CN\">"));
        assert!(page.contains("<meta name=\"lianlog-log-vkey\" content=\"example.org/log+01020304+AQ==\">"));
        assert!(page.contains("<script src=\"/assets/verify.js\" defer></script>"));
        assert!(page.contains("<a href=\"/records\" aria-current=\"page\">"));
        assert!(page.contains("name=\"csrf\" value=\"tok\""));
    }
}
