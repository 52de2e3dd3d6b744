//! The web pages of `lianlog serve` (issue 19): 总览 overview, 记录 records and a record's page,
//! 廉政档案 a person's integrity file, 案件与逾期 cases and overdue items, 统计 statistics (SVG and
//! CSV) and 核验 the check page, with password-less sign-in (`lianlog login`, `session.rs`).
//!
//! Guarantees:
//! - **Server-rendered, self-contained.** Pages are HTML built with maud (escaped by default) and
//!   work without JavaScript, except the in-browser checks of `/assets/verify.js`. Every page,
//!   stylesheet and script is served by this module; no page names an external URL. Each answer
//!   carries a strict Content-Security-Policy (`default-src 'self'`, no inline script or style),
//!   `no-store`, `nosniff` and `no-referrer` (a one-time login URL never leaks in a Referer).
//! - **The read rules are the read API's.** Pages with personal data (records, a record, a
//!   person, cases) need a session; every page view by a session re-checks the key's roles in the
//!   registry (a revoked key's session ends at its next request) and is written to the access log
//!   (查询留痕) before the page is answered. A session of a key without the admin or officer role
//!   (an auditor's) sees no body text, by the same rule as `/lianlog/v1/…` (`kind_keeps_body`).
//! - **No rule here.** Pages call the same library queries as the read API and the CLI
//!   (`Queries`, `opinion::periods`, `disclosure::prepare`) under the ledger's read lock, on the
//!   blocking pool; this module only lays their answers out.
//! - **Forms are POSTs with a CSRF token** bound to the session (`session.rs`); a POST without the
//!   session's token writes nothing and answers 403.

mod cases;
mod check;
mod html;
mod overview;
mod people;
mod records;
pub(crate) mod session;
mod stats;
pub(crate) mod store;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use lianlog_ledger::{Ledger, Role};
use maud::{Markup, html};

use crate::serve::ServeState;
use crate::serve::problem::{Code, Problem};
pub(crate) use html::Nav;
use session::Viewer;

/// The stylesheet of every page.
const APP_CSS: &str = include_str!("assets/app.css");
/// The in-browser checks of the record and check pages (owned by the browser work, issue 19).
const VERIFY_JS: &str = include_str!("assets/verify.js");

/// What every HTML answer's Content-Security-Policy allows: this server's own files and nothing
/// else; no inline script or style attribute (charts are SVG with presentation attributes).
pub(crate) const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// The routes of the web pages, the sign-in endpoints and the assets.
pub(crate) fn routes() -> Router<Arc<ServeState>> {
    Router::new()
        .route("/", get(overview::page))
        .route("/records", get(records::list))
        .route("/records/{seq}", get(records::record))
        .route("/people/{person}", get(people::page))
        .route("/people/{person}/disclosure", post(people::disclosure))
        .route("/cases", get(cases::page))
        .route("/stats", get(stats::page))
        .route("/stats.csv", get(stats::csv))
        .route("/check", get(check_page))
        .route("/login/{token}", get(session::confirm).post(session::open))
        .route("/logout", post(session::close))
        .route("/lianlog/v1/login/challenge", post(session::challenge))
        .route("/lianlog/v1/login", post(session::login))
        .route("/lianlog/v1/entry/{seq}", get(records::entry))
        .route("/assets/app.css", get(|| async { asset("text/css; charset=utf-8", APP_CSS) }))
        .route("/assets/verify.js", get(|| async { asset("text/javascript; charset=utf-8", VERIFY_JS) }))
}

/// A static asset: cacheable for a short while, never sniffed.
fn asset(content_type: &'static str, text: &'static str) -> Response {
    let mut response = ([(header::CONTENT_TYPE, content_type)], text).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// Whether a page needs a session.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Shows no personal data: open to anyone who reaches the server.
    Public,
    /// Shows personal data: a session is needed.
    Session,
}

/// What a page handler builds: its title, navigation item, whether it loads the checks' script,
/// and its main part.
pub(crate) struct Page {
    pub(crate) title: String,
    pub(crate) nav: Nav,
    pub(crate) script: bool,
    pub(crate) main: Markup,
}

/// What a page's builder is given: the viewer (if signed in) and the request.
pub(crate) struct Context<'a> {
    pub(crate) state: &'a ServeState,
    pub(crate) viewer: Option<&'a Viewer>,
    pub(crate) uri: &'a Uri,
}

impl Context<'_> {
    /// Whether this viewer reads bodies (admin or officer); no session reads none.
    pub(crate) fn bodies(&self) -> bool {
        self.viewer.is_some_and(|viewer| viewer.bodies)
    }
}

/// The request a page is built from.
pub(crate) struct Request {
    pub(crate) method: Method,
    pub(crate) uri: Uri,
    pub(crate) headers: HeaderMap,
}

/// Check the session as `access` asks, then build the page with `build` under the ledger's read
/// lock, on the blocking pool, and answer it as HTML (or as an HTML error page).
pub(crate) async fn render(
    state: Arc<ServeState>,
    request: Request,
    access: Access,
    build: impl FnOnce(&Context<'_>, &Ledger) -> Result<Page, Problem> + Send + 'static,
) -> Response {
    let log_vkey = state.log_key.public().vkey();
    let result = crate::serve::blocking(move || {
        let viewer = session::viewer(&state, &request)?;
        if access == Access::Session && viewer.is_none() {
            return Err(session::needed(&request.uri));
        }
        let ledger = state.ledger.read().map_err(|_| Problem::from(crate::serve::poisoned()))?;
        let context = Context { state: &state, viewer: viewer.as_ref(), uri: &request.uri };
        let page = build(&context, &ledger)?;
        Ok((page, viewer))
    })
    .await;
    match result {
        Ok((page, viewer)) => html_answer(StatusCode::OK, &frame_page(&log_vkey, viewer.as_ref(), page)),
        Err(problem) => error_page(&log_vkey, &problem),
    }
}

/// The check page: a shell for the script; no session needed, but a session's view is logged.
async fn check_page(State(state): State<Arc<ServeState>>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    render(state, Request { method, uri, headers }, Access::Public, |context, _| {
        Ok(Page {
            title: "核验 Check a file".into(),
            nav: Nav::Check,
            script: true,
            main: check::main(&context.state.log_key.public().vkey()),
        })
    })
    .await
}

/// The page in its frame.
pub(crate) fn frame_page(log_vkey: &str, viewer: Option<&Viewer>, page: Page) -> Markup {
    let roles = viewer.map(|viewer| viewer.roles_label());
    let frame = html::Frame {
        title: &page.title,
        nav: page.nav,
        log_vkey,
        viewer: viewer
            .zip(roles.as_deref())
            .map(|(viewer, roles)| (viewer.identity.as_str(), roles, viewer.csrf.as_str())),
        script: page.script,
    };
    html::page(&frame, page.main)
}

/// An HTML answer with the headers every page carries.
pub(crate) fn html_answer(status: StatusCode, markup: &Markup) -> Response {
    let mut response = (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], markup.0.clone()).into_response();
    secure_headers(response.headers_mut());
    response
}

/// The headers of every page and page-like answer.
pub(crate) fn secure_headers(headers: &mut HeaderMap) {
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// A refusal as a page: the problem's status, its title and detail, and what to do.
pub(crate) fn error_page(log_vkey: &str, problem: &Problem) -> Response {
    let status = problem.code.status();
    let (title, hint) = match problem.code {
        Code::Unauthenticated => (
            "需要登录 Sign-in needed",
            "用你的密钥登录：运行 lianlog login --server URL --key FILE，打开它打印的一次性链接。 \
             Sign in: run `lianlog login --server URL --key FILE` and open the one-time URL it prints.",
        ),
        Code::Unauthorized => ("无权访问 Not allowed", "请联系管理员。Ask an admin of the ledger."),
        Code::NotFound => ("未找到 Not found", "检查链接。Check the link."),
        Code::BadInput => ("请求有误 Bad request", "检查筛选条件。Check the filters you gave."),
        _ => ("出错了 Something failed", "稍后再试，或告知运维。Try again later, or tell the operators."),
    };
    let page = Page {
        title: title.into(),
        nav: Nav::None,
        script: false,
        main: html! {
            p.error role="alert" { (problem.detail) }
            p { (hint) }
        },
    };
    let mut response = html_answer(status, &frame_page(log_vkey, None, page));
    if let Some(retry) = problem_retry(problem) {
        response.headers_mut().insert(header::RETRY_AFTER, retry);
    }
    response
}

fn problem_retry(problem: &Problem) -> Option<HeaderValue> {
    problem.retry_after.and_then(|seconds| HeaderValue::from_str(&seconds.to_string()).ok())
}

/// The Chinese and English name of a role.
pub(crate) fn role_label(role: Role) -> &'static str {
    match role {
        Role::Admin => "管理员 admin",
        Role::Officer => "办案人员 officer",
        Role::Auditor => "审计 auditor",
    }
}

/// The fields of an `application/x-www-form-urlencoded` body (as browsers send forms).
pub(crate) fn form_fields(body: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(body);
    text.split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (name, value) = part.split_once('=').unwrap_or((part, ""));
            let decode = |text: &str| {
                percent_encoding::percent_decode_str(&text.replace('+', " ")).decode_utf8_lossy().into_owned()
            };
            (decode(name), decode(value))
        })
        .collect()
}

/// What [`encode`] leaves as it is: RFC 3986's unreserved characters.
const UNRESERVED: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// `text` percent-encoded for a path segment or a query value (`P-1001` stays as it is).
pub(crate) fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, UNRESERVED).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_are_decoded() {
        let fields = form_fields(b"csrf=ab%2Fc&text=%E5%85%AC+%E6%AC%BE&empty=&flag");
        assert_eq!(fields[0], ("csrf".into(), "ab/c".into()));
        assert_eq!(fields[1], ("text".into(), "公 款".into()));
        assert_eq!(fields[2], ("empty".into(), String::new()));
        assert_eq!(fields[3], ("flag".into(), String::new()));
        assert_eq!(encode("P 1/张"), "P%201%2F%E5%BC%A0");
        assert_eq!(encode("P-1001_a.b~"), "P-1001_a.b~");
    }

    #[test]
    fn the_policy_allows_only_this_server() {
        assert!(CSP.starts_with("default-src 'self'"));
        assert!(!CSP.contains("unsafe") && !CSP.contains("http"));
    }
}
