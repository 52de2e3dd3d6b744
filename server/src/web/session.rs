//! Password-less sign-in for the web pages: one-time challenges, one-time login URLs, sessions
//! and their CSRF tokens.
//!
//! The flow (`lianlog login --server URL --key FILE`, remote/src/login.rs):
//! 1. `POST /lianlog/v1/login/challenge` (unsigned) answers `{"challenge": 64 hex, "expires"}`:
//!    random, remembered for [`PENDING_SECS`], usable once.
//! 2. `POST /lianlog/v1/login`, signed with lianlog's RFC 9421 profile (`auth::authenticate`: the
//!    key must be in the registry now, with a role), body `{"challenge": …}` — the body is covered
//!    by the signature's `Content-Digest`, so the challenge is bound into what is signed and a
//!    signature cannot be reused for another challenge. The challenge is consumed and the answer
//!    is `{"path": "/login/<64 hex>", "expires", "identity", "roles"}`.
//! 3. `GET /login/{token}` (the one-time URL) only shows whose sign-in it is, with a button; the
//!    button's `POST /login/{token}` (usable once within [`PENDING_SECS`], refused from another
//!    site) opens the session: cookie `lianlog_session`, `HttpOnly; SameSite=Strict; Path=/;
//!    Max-Age` (`serve --session-hours`), `Secure` when the server speaks TLS. A GET never spends
//!    the link: a chat program's link preview does not take the session, and another site cannot
//!    sign a visitor in under its own key (login CSRF).
//!
//! Guarantees:
//! - Challenges, tokens and session ids are 256 random bits from the system's random source; the
//!   server keeps only their SHA-256, so its memory holds nothing that opens a session.
//! - Every use of a session re-checks its key in the registry (`viewer`): a revoked key, or one
//!   without a role any more, ends the session at its next request (403).
//! - Every form is a POST carrying the session's CSRF token (`csrf`), compared in constant time;
//!   a POST without it is refused (403) before anything is logged or done.
//! - Memory is bounded: at most [`MAX_PENDING`] challenges and tokens and [`MAX_SESSIONS`]
//!   sessions; expired ones are dropped first; when still full the oldest challenge is forgotten
//!   (anyone may ask for one, so refusing would let a flood lock everyone out), while a new
//!   session is refused as busy (503) rather than an open one forgotten.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use lianlog_ledger::httpsig::new_nonce;
use lianlog_ledger::{Role, Timestamp};
use maud::html;
use serde_json::json;
use sha2::{Digest as _, Sha256};

use super::store::Session;
use super::{Nav, Page, Request};
use crate::serve::ServeState;
use crate::serve::auth::authenticate;
use crate::serve::problem::{Code, Problem};

/// How long a challenge and a one-time login URL stay usable (seconds).
pub(crate) const PENDING_SECS: i64 = 300;
/// Most challenges and login tokens waiting at once.
pub(crate) const MAX_PENDING: usize = 1024;
/// Most sessions open at once.
pub(crate) const MAX_SESSIONS: usize = 4096;
/// Most sessions of one key at once: a new one ends the key's oldest.
pub(crate) const MAX_SESSIONS_PER_KEY: usize = 8;
/// The session cookie's name.
pub(crate) const COOKIE: &str = "lianlog_session";
/// Who is looking at a page: a session's key, its roles now, and the session's CSRF token.
#[derive(Debug, Clone)]
pub(crate) struct Viewer {
    /// The key's identity.
    pub(crate) identity: String,
    /// Its roles in the registry now.
    pub(crate) roles: Vec<Role>,
    /// Whether it reads bodies (admin or officer), the read API's rule.
    pub(crate) bodies: bool,
    /// The session's CSRF token, put in every form.
    pub(crate) csrf: String,
}

impl Viewer {
    /// The roles, Chinese first.
    pub(crate) fn roles_label(&self) -> String {
        self.roles.iter().map(|role| super::role_label(*role)).collect::<Vec<_>>().join(", ")
    }
}

fn secret() -> Result<String, Problem> {
    Ok(format!("{}{}", new_nonce()?, new_nonce()?))
}

fn digest(secret: &str) -> String {
    lianlog_ledger::encoding::hex(&Sha256::digest(secret.as_bytes()))
}

fn now_ms() -> i64 {
    Timestamp::now().as_millis()
}

fn busy(what: &str) -> Problem {
    Problem {
        retry_after: Some(60),
        ..Problem::new(Code::Busy, format!("too many {what} at once on this server; try again in a minute"))
    }
}

/// `POST /lianlog/v1/login/challenge`: a fresh one-time challenge.
pub(crate) async fn challenge(State(state): State<Arc<ServeState>>) -> Response {
    let result = (|| {
        let challenge = secret()?;
        let now = now_ms();
        let expires = now + PENDING_SECS * 1000;
        let mut inner = state.sessions.lock();
        if inner.challenges.len() >= MAX_PENDING {
            inner.prune(now);
            // Still full: forget the oldest challenge rather than refuse. Anyone may ask for
            // challenges, so refusing would let a flood of them lock every officer out; a real
            // client answers its challenge within moments, and a forgotten one is asked again.
            if inner.challenges.len() >= MAX_PENDING
                && let Some(oldest) =
                    inner.challenges.iter().min_by_key(|(_, expires)| **expires).map(|(key, _)| key.clone())
            {
                inner.challenges.remove(&oldest);
            }
        }
        inner.challenges.insert(digest(&challenge), expires);
        Ok(json!({"challenge": challenge, "expires": Timestamp::from_millis(expires).to_string()}))
    })();
    json_answer(result)
}

/// `POST /lianlog/v1/login`: a signed answer to a challenge; gives a one-time login path.
pub(crate) async fn login(
    State(state): State<Arc<ServeState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = crate::serve::blocking(move || {
        let caller = authenticate(&state, &method, &uri, &headers, &body)?;
        let asked: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|err| Problem::new(Code::BadInput, format!("{}: the request body: {err}", uri.path())))?;
        let challenge = asked
            .as_object()
            .filter(|members| members.len() == 1)
            .and_then(|members| members.get("challenge"))
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| {
                Problem::new(Code::BadInput, format!("{}: the body must be {{\"challenge\": …}}", uri.path()))
            })?;
        let now = now_ms();
        let token = secret()?;
        let expires = now + PENDING_SECS * 1000;
        let mut inner = state.sessions.lock();
        match inner.challenges.remove(&digest(challenge)) {
            Some(until) if until > now => {}
            _ => {
                return Err(Problem::unauthenticated(format!(
                    "{}: the challenge is unknown, used or expired (they last {PENDING_SECS} s); run `lianlog login` again",
                    uri.path()
                )));
            }
        }
        if inner.tokens.len() >= MAX_PENDING {
            inner.prune(now);
            if inner.tokens.len() >= MAX_PENDING {
                return Err(busy("sign-ins"));
            }
        }
        inner.tokens.insert(digest(&token), (caller.identity.clone(), expires));
        Ok(json!({
            "path": format!("/login/{token}"),
            "expires": Timestamp::from_millis(expires).to_string(),
            "identity": caller.identity,
            "roles": caller.roles.iter().map(|role| role.as_str()).collect::<Vec<_>>(),
        }))
    })
    .await;
    json_answer(result)
}

fn json_answer(result: Result<serde_json::Value, Problem>) -> Response {
    match result {
        Ok(value) => {
            let mut response = ([(header::CONTENT_TYPE, "application/json")], value.to_string()).into_response();
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(problem) => problem.into_response(),
    }
}

/// `GET /login/{token}`: the one-time URL; shows whose sign-in it is and a button that opens the
/// session. Spends nothing.
pub(crate) async fn confirm(State(state): State<Arc<ServeState>>, UrlPath(token): UrlPath<String>) -> Response {
    let log_vkey = state.log_key.public().vkey();
    let now = now_ms();
    let identity = match state.sessions.lock().tokens.get(&digest(&token)) {
        Some((identity, expires)) if *expires > now => Some(identity.clone()),
        _ => None,
    };
    let Some(identity) = identity else {
        return super::error_page(&log_vkey, &unusable_link());
    };
    let page = Page {
        title: "确认登录 Confirm sign-in".into(),
        nav: Nav::None,
        script: false,
        main: html! {
            h1 { "确认登录 Confirm sign-in" }
            p { "以密钥 " code { (identity) } " 登录网页。Sign in to the web pages with the key " code { (identity) } "." }
            p { "此链接只能使用一次。若不是你本人刚运行 " code { "lianlog login" } "，请关闭此页。This link works once; if you did not just run "
                code { "lianlog login" } ", close this page." }
            form method="post" action=(format!("/login/{token}")) {
                button id="login-confirm" type="submit" { "登录 Sign in" }
            }
        },
    };
    super::html_answer(StatusCode::OK, &super::frame_page(&log_vkey, None, page))
}

/// The answer to a sign-in link that is unknown, used or expired.
fn unusable_link() -> Problem {
    Problem::unauthenticated(format!(
        "/login/…: this sign-in link is unknown, already used or expired (links work once, for {} minutes); \
         run `lianlog login --server URL --key FILE` again",
        PENDING_SECS / 60
    ))
}

/// Whether a request comes from a page of another site: the browser says so in `Sec-Fetch-Site`,
/// or, in an older browser, in an `Origin` that is not this server's.
fn from_another_site(headers: &HeaderMap) -> bool {
    // Browsers say where a request comes from in `Sec-Fetch-Site`; when they do, that decides
    // (the pages' `no-referrer` policy makes them send `Origin: null` on a form's POST).
    if let Some(fetch_site) = headers.get("sec-fetch-site") {
        return !matches!(fetch_site.to_str(), Ok("same-origin" | "none"));
    }
    let host = headers.get(header::HOST).and_then(|value| value.to_str().ok());
    match (headers.get(header::ORIGIN).and_then(|value| value.to_str().ok()), host) {
        (Some(origin), Some(host)) => origin.split_once("://").map(|(_, authority)| authority) != Some(host),
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// `POST /login/{token}`: the button of the one-time URL's page; opens a session and sets its
/// cookie.
pub(crate) async fn open(
    State(state): State<Arc<ServeState>>,
    UrlPath(token): UrlPath<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let log_vkey = state.log_key.public().vkey();
    let hours = state.options.session_hours.max(1);
    let secure = state.options.tls.is_some();
    let result = crate::serve::blocking(move || {
        let now = now_ms();
        if from_another_site(&headers) {
            return Err(Problem::new(
                Code::Unauthorized,
                "/login/…: a sign-in from another site's page is refused; open the link that `lianlog login` printed \
                 and press its button",
            ));
        }
        let identity = {
            let mut inner = state.sessions.lock();
            match inner.tokens.remove(&digest(&token)) {
                Some((identity, expires)) if expires > now => identity,
                _ => return Err(unusable_link()),
            }
        };
        let id = secret()?;
        let session = Session {
            identity,
            expires: now + i64::try_from(hours).unwrap_or(24) * 3_600_000,
            csrf: secret()?,
            tag: digest(&id)[..12].to_string(),
        };
        {
            let mut inner = state.sessions.lock();
            if inner.sessions.len() >= MAX_SESSIONS {
                inner.prune(now);
                if inner.sessions.len() >= MAX_SESSIONS {
                    return Err(busy("sessions"));
                }
            }
            // One key holds at most a few sessions (its oldest is ended), so that no key, an
            // auditor's included, can fill the table and lock the others out.
            let mine: Vec<(String, i64)> = inner
                .sessions
                .iter()
                .filter(|(_, open)| open.identity == session.identity)
                .map(|(key, open)| (key.clone(), open.expires))
                .collect();
            if mine.len() >= MAX_SESSIONS_PER_KEY
                && let Some((oldest, _)) = mine.iter().min_by_key(|(_, expires)| *expires)
            {
                inner.sessions.remove(oldest);
            }
            inner.sessions.insert(digest(&id), session.clone());
        }
        // The token is spent, but a secret still: the log names the path without it.
        let _ = uri;
        let viewer = admit(&state, &id, &session, &Request { method, uri: Uri::from_static("/login/-"), headers })?;
        Ok((id, viewer))
    })
    .await;
    match result {
        Ok((id, viewer)) => {
            let page = Page {
                title: "已登录 Signed in".into(),
                nav: Nav::None,
                script: false,
                main: html! {
                    p role="status" { "已登录为 Signed in as " code { (viewer.identity) } " (" (viewer.roles_label()) ")。" }
                    p { "会话 " (hours) " 小时后结束；密钥被撤销时立即结束。The session lasts " (hours) " hours, and ends at once if the key is revoked." }
                    p { a href="/" { "进入总览 Go to the overview" } " · " a href="/records" { "记录 Records" } " · " a href="/cases" { "案件与逾期 Cases" } }
                },
            };
            let mut response = super::html_answer(StatusCode::OK, &super::frame_page(&log_vkey, Some(&viewer), page));
            let cookie = format!(
                "{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
                hours * 3600,
                if secure { "; Secure" } else { "" }
            );
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
        Err(problem) => super::error_page(&log_vkey, &problem),
    }
}

/// `POST /logout`: ends the session (CSRF token required) and clears the cookie.
pub(crate) async fn close(
    State(state): State<Arc<ServeState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let log_vkey = state.log_key.public().vkey();
    let result = crate::serve::blocking(move || {
        let request = Request { method, uri, headers };
        let viewer = form_viewer(&state, &request, &body)?;
        if let Some(id) = cookie(&request.headers) {
            state.sessions.lock().sessions.remove(&digest(&id));
        }
        Ok(viewer)
    })
    .await;
    match result {
        Ok(viewer) => {
            let page = Page {
                title: "已退出 Signed out".into(),
                nav: Nav::None,
                script: false,
                main: html! {
                    p role="status" { "已退出登录 " code { (viewer.identity) } "。Signed out." }
                    p { a href="/" { "总览 Overview" } }
                },
            };
            let mut response = super::html_answer(StatusCode::OK, &super::frame_page(&log_vkey, None, page));
            let clear = format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
            if let Ok(value) = HeaderValue::from_str(&clear) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
        Err(problem) => super::error_page(&log_vkey, &problem),
    }
}

/// The session id in the request's cookies, if any.
fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
        .filter(|value| !value.is_empty())
}

/// The open session the request's cookie names, if any (expired ones are dropped).
fn find(state: &ServeState, headers: &HeaderMap) -> Option<(String, Session)> {
    let id = cookie(headers)?;
    let now = now_ms();
    let mut inner = state.sessions.lock();
    let key = digest(&id);
    match inner.sessions.get(&key) {
        Some(session) if session.expires > now => Some((id, session.clone())),
        Some(_) => {
            inner.sessions.remove(&key);
            None
        }
        None => None,
    }
}

/// The viewer of a request: `None` without a (live) session; a session whose key was revoked or
/// lost its roles is ended and refused (403). The view is written to the access log first.
pub(crate) fn viewer(state: &ServeState, request: &Request) -> Result<Option<Viewer>, Problem> {
    match find(state, &request.headers) {
        None => Ok(None),
        Some((id, session)) => admit(state, &id, &session, request).map(Some),
    }
}

/// The viewer of a form's POST: a live session and the session's CSRF token in the form's
/// `csrf` field; checked before anything is logged or done.
pub(crate) fn form_viewer(state: &ServeState, request: &Request, body: &[u8]) -> Result<Viewer, Problem> {
    let path = request.uri.path();
    let Some((id, session)) = find(state, &request.headers) else {
        return Err(needed(&request.uri));
    };
    let fields = super::form_fields(body);
    let given = fields.iter().find(|(name, _)| name == "csrf").map(|(_, value)| value.as_bytes()).unwrap_or(b"");
    if !constant_time_eq(given, session.csrf.as_bytes()) {
        return Err(Problem::new(
            Code::Unauthorized,
            format!(
                "{path}: the form's CSRF token is missing or wrong (表单校验失败); reload the page and submit again"
            ),
        ));
    }
    admit(state, &id, &session, request)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Re-check the session's key in the registry and log the view; ends the session of a key that
/// was revoked or has no role.
fn admit(state: &ServeState, id: &str, session: &Session, request: &Request) -> Result<Viewer, Problem> {
    let path = request.uri.path();
    let roles = state.read(|ledger| {
        Ok(ledger.registry().current_key(&session.identity).map(|(_, key)| key.roles.clone()).map_err(|err| err.reason))
    })?;
    let roles = match roles {
        Ok(roles) if !roles.is_empty() => roles,
        other => {
            state.sessions.lock().sessions.remove(&digest(id));
            let why = other.err().unwrap_or_else(|| format!("key {} has no role", session.identity));
            return Err(Problem::new(Code::Unauthorized, format!("{path}: {why}; the session has ended (会话已结束)")));
        }
    };
    let line = json!({
        "time": Timestamp::now().to_string(),
        "identity": session.identity,
        "roles": roles.iter().map(|role| role.as_str()).collect::<Vec<_>>(),
        "method": request.method.as_str(),
        "path": path,
        "query": request.uri.query(),
        "session": session.tag,
    });
    state.access_log.append(&format!("{line}\n")).map_err(Problem::from)?;
    let bodies = roles.contains(&Role::Admin) || roles.contains(&Role::Officer);
    Ok(Viewer { identity: session.identity.clone(), roles, bodies, csrf: session.csrf.clone() })
}

/// The caller of a read API request (`/lianlog/v1/…` GET routes): a signed request as
/// `auth::authenticate` checks it, or else — for the pages' scripts, which cannot sign — the
/// request's web session, with the same roles and the same access log line. Without either, the
/// signed-request refusal (401).
pub(crate) fn caller(
    state: &ServeState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<crate::serve::auth::Caller, Problem> {
    let signed = headers.contains_key("signature") || headers.contains_key("signature-input");
    if !signed && cookie(headers).is_some() {
        let request = Request { method: method.clone(), uri: uri.clone(), headers: headers.clone() };
        if let Some(viewer) = viewer(state, &request)? {
            return Ok(crate::serve::auth::Caller { identity: viewer.identity, roles: viewer.roles });
        }
    }
    authenticate(state, method, uri, headers, &[])
}

/// The refusal of a page that needs a session to a request without one.
pub(crate) fn needed(uri: &Uri) -> Problem {
    Problem::unauthenticated(format!(
        "{}: this page shows personal data and needs a session (此页需要登录): run `lianlog login --server URL \
         --key FILE` and open the one-time URL it prints",
        uri.path()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::store::Inner;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("theme=dark; lianlog_session=abc123; x=y"));
        assert_eq!(cookie(&headers).as_deref(), Some("abc123"));
        headers.insert(header::COOKIE, HeaderValue::from_static("lianlog_session="));
        assert_eq!(cookie(&headers), None);
        assert_eq!(cookie(&HeaderMap::new()), None);
    }

    #[test]
    fn secrets_are_long_random_and_kept_by_their_hash() {
        let (a, b) = (secret().unwrap(), secret().unwrap());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(digest(&a).len(), 64);
        assert_ne!(digest(&a), a);
        assert!(constant_time_eq(a.as_bytes(), a.as_bytes()));
        assert!(!constant_time_eq(a.as_bytes(), b.as_bytes()));
        assert!(!constant_time_eq(b"", a.as_bytes()));
    }

    #[test]
    fn expired_challenges_tokens_and_sessions_are_pruned() {
        let mut inner = Inner::default();
        inner.challenges.insert("old".into(), 10);
        inner.challenges.insert("new".into(), 30);
        inner.tokens.insert("old".into(), ("k".into(), 10));
        let session = Session { identity: "k".into(), expires: 10, csrf: "c".into(), tag: "t".into() };
        inner.sessions.insert("old".into(), session);
        inner.prune(20);
        assert_eq!(inner.challenges.keys().collect::<Vec<_>>(), ["new"]);
        assert!(inner.tokens.is_empty() && inner.sessions.is_empty());
    }
}
