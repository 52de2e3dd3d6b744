//! The web pages of `lianlog serve` (issue 19) over plain HTTP: `lianlog login`'s one-time URL
//! opens a session (cookie attributes, once only), every page answers 200 with its Chinese labels
//! and names no external URL, personal pages need a session, forms need the session's CSRF token,
//! an auditor's session sees no body text, a revoked key's session ends, sign-out ends it, and
//! page views are in the access log. The in-browser checks are tested in browser.rs.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{Fixture, lianlog, output_text};
use crate::serve::Server;

/// An HTTP answer.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One request on a new connection, with extra headers, read to the end.
fn request(address: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).unwrap();
    let split = bytes.windows(4).position(|window| window == b"\r\n\r\n").expect("an HTTP answer");
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next().and_then(|line| line.split(' ').nth(1)).and_then(|s| s.parse().ok()).unwrap();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    Answer { status, headers, body: bytes[split + 4..].to_vec() }
}

/// A browser of one server: the session cookie it holds, if any.
struct Browser<'s> {
    server: &'s Server,
    cookie: Option<String>,
}

impl Browser<'_> {
    fn get(&self, path: &str) -> Answer {
        let cookie = self.cookie.as_ref().map(|cookie| format!("lianlog_session={cookie}"));
        let headers: Vec<(&str, &str)> = cookie.iter().map(|cookie| ("Cookie", cookie.as_str())).collect();
        request(&self.server.address, "GET", path, &headers, b"")
    }

    fn post_form(&self, path: &str, form: &str) -> Answer {
        let cookie = self.cookie.as_ref().map(|cookie| format!("lianlog_session={cookie}"));
        let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
        if let Some(cookie) = &cookie {
            headers.push(("Cookie", cookie));
        }
        request(&self.server.address, "POST", path, &headers, form.as_bytes())
    }

    /// Open a one-time URL as a person does: its page (which spends nothing), then its button (a
    /// POST from this site); keep the session cookie it sets.
    fn open(&mut self, url: &str) -> Answer {
        let path = url.strip_prefix(&self.server.url).expect("a URL of this server");
        let confirm = self.get(path);
        assert_eq!(confirm.status, 200, "{}", confirm.text());
        assert!(
            confirm.text().contains("确认登录") && confirm.text().contains("id=\"login-confirm\""),
            "{}",
            confirm.text()
        );
        assert!(confirm.header("set-cookie").is_none(), "the link's page opens no session");
        let answer = self.post_form(path, "");
        if let Some(cookie) = answer.header("set-cookie") {
            let value = cookie.split(';').next().unwrap().strip_prefix("lianlog_session=").unwrap();
            self.cookie = Some(value.to_string());
        }
        answer
    }
}

/// `lianlog login --server URL --key KEY --json`: the one-time URL and who it signs in.
fn login(server: &Server, key: &Path) -> Value {
    let output = lianlog().args(["--server", &server.url, "login", "--json", "--key"]).arg(key).output().unwrap();
    let (stdout, stderr) = output_text(&output);
    assert!(output.status.success(), "{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

/// The CSRF token in a page's forms.
fn csrf(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a form with a CSRF token") + "name=\"csrf\" value=\"".len();
    page[at..].split('"').next().unwrap().to_string()
}

/// Every page: HTML, `lang="zh-CN"`, the stylesheet, the log key, the strict policy, and no
/// external URL (every `href` and `src` is a path of this server or a fragment).
fn assert_page(answer: &Answer, path: &str, labels: &[&str]) -> String {
    let page = answer.text();
    assert_eq!(answer.status, 200, "{path}: {page}");
    assert_eq!(answer.header("content-type"), Some("text/html; charset=utf-8"), "{path}");
    let csp = answer.header("content-security-policy").unwrap_or_default();
    assert!(csp.starts_with("default-src 'self'") && !csp.contains("unsafe-inline"), "{path}: {csp}");
    assert_eq!(answer.header("cache-control"), Some("no-store"), "{path}");
    assert_eq!(answer.header("referrer-policy"), Some("no-referrer"), "{path}");
    assert!(page.contains("<html lang=\"zh-CN\">"), "{path}");
    assert!(page.contains("<link rel=\"stylesheet\" href=\"/assets/app.css\">"), "{path}");
    assert!(page.contains("<meta name=\"lianlog-log-vkey\" content=\"jw.example.gov.cn/accountability+"), "{path}");
    assert!(page.contains("href=\"#main\""), "{path}: no skip link");
    for label in labels {
        assert!(page.contains(label), "{path}: no {label:?} in {page}");
    }
    assert!(!page.contains("http://") && !page.contains("https://"), "{path}: an absolute URL: {page}");
    for attribute in ["href=\"", "src=\"", "action=\""] {
        for (at, _) in page.match_indices(attribute) {
            let target = &page[at + attribute.len()..];
            assert!(target.starts_with('/') || target.starts_with('#'), "{path}: {}", &target[..target.len().min(60)]);
            assert!(!target.starts_with("//"), "{path}: a protocol-relative URL");
        }
    }
    page
}

const PERSONAL: &[&str] = &["/records", "/records/5", "/people/P-1001", "/cases"];

#[test]
fn an_officer_signs_in_with_a_one_time_url_and_reads_every_page() {
    let fixture = Fixture::build();
    let server = Server::start(&fixture.ledger, &[]);
    let mut browser = Browser { server: &server, cookie: None };

    // Pages without personal data need no session; the others refuse and say how to sign in.
    assert_page(&browser.get("/"), "/", &["总览", "条目 Entries", "最新检查点", "未结案件", "逾期事项"]);
    let stats = assert_page(
        &browser.get("/stats?year=2025"),
        "/stats",
        &["统计", "按类型", "按单位", "按月份", "<svg", "约谈"],
    );
    assert!(stats.contains("市住建局") || stats.contains("(无单位)"), "{stats}");
    let csv = browser.get("/stats.csv?year=2025");
    assert_eq!(csv.status, 200);
    assert!(csv.text().starts_with("\u{feff}grouping,group,kind,kind_zh,count\r\n"), "{}", csv.text());
    assert!(csv.text().contains(",interview,"), "{}", csv.text());
    let check = assert_page(
        &browser.get("/check"),
        "/check",
        &["核验", "id=\"check-file\"", "id=\"check-key\"", "id=\"check-result\""],
    );
    assert!(check.contains("<script src=\"/assets/verify.js\" defer></script>"), "{check}");
    for path in PERSONAL {
        let refused = browser.get(path);
        assert_eq!(refused.status, 401, "{path}");
        assert!(refused.text().contains("需要登录") && refused.text().contains("lianlog login"), "{path}");
    }
    assert_eq!(browser.get("/lianlog/v1/entry/5").status, 401);
    assert_eq!(browser.get("/assets/app.css").status, 200);
    assert!(browser.get("/assets/app.css").text().contains("Noto Sans CJK SC"));
    assert_eq!(browser.get("/assets/verify.js").header("content-type"), Some("text/javascript; charset=utf-8"));

    // The one-time URL: opens a session once, with the cookie's attributes; unknown and used
    // tokens are refused.
    let signed_in = login(&server, &fixture.qian);
    assert_eq!(signed_in["roles"], json!(["officer"]));
    let url = signed_in["url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&format!("{}/login/", server.url)), "{url}");
    // Another site's page cannot press the button (login CSRF), and that spends nothing.
    let path = url.strip_prefix(&server.url).unwrap();
    let cross = request(
        &server.address,
        "POST",
        path,
        &[("Content-Type", "application/x-www-form-urlencoded"), ("Origin", "http://evil.example")],
        b"",
    );
    assert_eq!(cross.status, 403, "{}", cross.text());
    assert!(cross.header("set-cookie").is_none());
    let cross = request(
        &server.address,
        "POST",
        path,
        &[("Content-Type", "application/x-www-form-urlencoded"), ("Sec-Fetch-Site", "cross-site"), ("Origin", "null")],
        b"",
    );
    assert_eq!(cross.status, 403, "{}", cross.text());
    let opened = browser.open(&url);
    assert_page(&opened, "/login/…", &["已登录", "officer.qian"]);
    let cookie = opened.header("set-cookie").unwrap().to_string();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=28800"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    let again = Browser { server: &server, cookie: None }.get(url.strip_prefix(&server.url).unwrap());
    assert_eq!(again.status, 401, "a used token");
    assert!(again.text().contains("already used"), "{}", again.text());
    assert_eq!(browser.get(&format!("/login/{}", "0".repeat(64))).status, 401, "an unknown token");
    // Text output: the URL on standard output, what it is on standard error.
    let output = lianlog().args(["--server", &server.url, "login", "--key"]).arg(&fixture.qian).output().unwrap();
    let (stdout, stderr) = output_text(&output);
    assert!(
        stdout.trim().starts_with(&format!("{}/login/", server.url)) && stderr.contains("works once"),
        "{stdout}{stderr}"
    );

    // Every page with the session, in Chinese, bodies shown to an officer.
    assert_page(&browser.get("/"), "/", &["已登录", "退出登录"]);
    let records =
        assert_page(&browser.get("/records"), "/records", &["记录", "类型 Kind", "人员编号", "正文包含", "条 records"]);
    assert!(records.contains("href=\"/records/5\""), "{records}");
    let interviews = assert_page(&browser.get("/records?kind=interview"), "/records?kind", &["共 3 条"]);
    assert!(interviews.contains("href=\"/records/6\"") && !interviews.contains("href=\"/records/4\""), "{interviews}");
    let filtered =
        assert_page(&browser.get("/records?person=P-1001&text=%E5%85%AC%E6%AC%BE"), "/records?text", &["共 1 条"]);
    assert!(filtered.contains("href=\"/records/7\"") && filtered.contains("href=\"/people/P-1001\""), "{filtered}");
    assert_page(&browser.get("/records?since=2025-03-05&until=2025-03-31"), "/records?since", &["条"]);
    assert_eq!(browser.get("/records?since=yesterday").status, 400);
    let record = assert_page(
        &browser.get("/records/5"),
        "/records/5",
        &["条目哈希", "作者", "钱干事", "谈话对象", "工程项目监管中苗头性"],
    );
    for contract in [
        "<section id=\"verify\" data-seq=\"5\" data-entry-url=\"/lianlog/v1/entry/5\" data-proof-url=\"/lianlog/v1/prove/inclusion?seq=5\" data-checkpoint-url=\"/checkpoint\"",
        "data-checkpoint-url=\"/checkpoint\" data-entry-hash=\"",
        " data-kind=\"interview\"",
        "<button id=\"verify-button\" type=\"button\">",
        "<output id=\"verify-result\"",
        "<script src=\"/assets/verify.js\" defer></script>",
    ] {
        assert!(record.contains(contract), "{contract}: {record}");
    }
    assert_eq!(browser.get("/records/99").status, 404);
    let person = assert_page(&browser.get("/people/P-1001"), "/people", &["廉政档案", "时间线", "张三", "下载公开包"]);
    assert!(person.contains("href=\"/records/4\"") && person.contains("href=\"/records/5\""), "{person}");
    assert_page(&browser.get("/cases"), "/cases", &["案件与逾期", "逾期", "R-2025-001", "R-2025-002"]);

    // The entry the browser hashes: the stored line, byte for byte.
    let entry = browser.get("/lianlog/v1/entry/5");
    assert_eq!(entry.status, 200);
    assert_eq!(entry.body, [fixture.log_lines()[5].as_slice(), b"\n"].concat(), "the stored line and its newline");

    // The read API's GET routes answer the session too (the record page's script fetches the
    // proof with it), by the same rules.
    let proof = browser.get("/lianlog/v1/prove/inclusion?seq=5");
    assert_eq!(proof.status, 200, "{}", proof.text());
    let proof: Value = serde_json::from_slice(&proof.body).unwrap();
    assert_eq!(proof["index"], 5);
    assert_eq!(Browser { server: &server, cookie: None }.get("/lianlog/v1/prove/inclusion?seq=5").status, 401);

    // Forms: refused without the session's CSRF token (nothing built), answered with it.
    let token = csrf(&person);
    assert_eq!(browser.post_form("/people/P-1001/disclosure", "").status, 403);
    assert_eq!(browser.post_form("/people/P-1001/disclosure", "csrf=0000").status, 403);
    let stranger = Browser { server: &server, cookie: None };
    assert_eq!(stranger.post_form("/people/P-1001/disclosure", &format!("csrf={token}")).status, 401);
    let package = browser.post_form("/people/P-1001/disclosure", &format!("csrf={token}"));
    assert_eq!(package.status, 200, "{}", package.text());
    assert!(package.header("content-disposition").unwrap().starts_with("attachment; filename=\"disclosure-P-1001"));
    let package: Value = serde_json::from_slice(&package.body).unwrap();
    assert_eq!(package["package"]["person"], "P-1001");
    assert_eq!(package["signer"], signed_in["identity"]);

    // Every page view by the session is in the access log, like a signed read.
    let log = std::fs::read_to_string(fixture.ledger.join("access.log")).unwrap();
    let views: Vec<Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .filter(|line: &Value| line["session"].is_string())
        .collect();
    for path in
        ["/records", "/records/5", "/people/P-1001", "/cases", "/lianlog/v1/entry/5", "/people/P-1001/disclosure"]
    {
        assert!(
            views.iter().any(|view| view["path"] == path && view["identity"] == signed_in["identity"]),
            "{path}: {log}"
        );
    }
    assert!(!log.contains("csrf") && !log.contains(browser.cookie.as_deref().unwrap()), "no secret in the log");

    // Sign out: the session ends.
    let out = browser.post_form("/logout", &format!("csrf={token}"));
    assert_eq!(out.status, 200);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(browser.get("/records").status, 401);

    // One key holds at most 8 sessions: a ninth ends its oldest, and no other.
    let mut sessions: Vec<Browser> = (0..9)
        .map(|_| {
            let mut tab = Browser { server: &server, cookie: None };
            tab.open(login(&server, &fixture.qian)["url"].as_str().unwrap());
            tab
        })
        .collect();
    assert_eq!(sessions.remove(0).get("/records").status, 401, "the key's oldest session ended");
    for tab in &sessions {
        assert_eq!(tab.get("/records").status, 200);
    }
}

#[test]
fn an_auditor_sees_no_bodies_and_a_revoked_key_ends_its_session() {
    let fixture = Fixture::build();
    let server = Server::start(&fixture.ledger, &["--session-hours", "1"]);

    let mut auditor = Browser { server: &server, cookie: None };
    let opened = auditor.open(login(&server, &fixture.auditor)["url"].as_str().unwrap());
    assert!(opened.header("set-cookie").unwrap().contains("Max-Age=3600"));
    let record = assert_page(&auditor.get("/records/5"), "/records/5", &["正文不可见", "条目哈希", "id=\"verify\""]);
    assert!(!record.contains("苗头性") && !record.contains("张三"), "an auditor saw a body: {record}");
    let records = assert_page(&auditor.get("/records"), "/records", &["条 records", "正文不可见"]);
    assert!(!records.contains("正文包含") && !records.contains("公款吃喝") && !records.contains("张三"), "{records}");
    assert_eq!(auditor.get("/records?text=%E5%85%AC%E6%AC%BE").status, 403);
    let person = assert_page(&auditor.get("/people/P-1001"), "/people", &["廉政档案", "只读元数据"]);
    assert!(!person.contains("张三") && !person.contains("下载公开包"), "{person}");
    let cases = assert_page(&auditor.get("/cases"), "/cases", &["R-2025-001", "不可见"]);
    assert!(!cases.contains("张三"), "{cases}");
    let token = csrf(&person);
    assert_eq!(auditor.post_form("/people/P-1001/disclosure", &format!("csrf={token}")).status, 403);
    // The entry is the withheld line: the same entry (and leaf hash), no body.
    let entry = auditor.get("/lianlog/v1/entry/5");
    assert_eq!(entry.status, 200);
    let line: Value = serde_json::from_slice(&entry.body).unwrap();
    assert_eq!(line["withheld"], true);
    assert!(line.get("body").is_none());
    let stored: Value = serde_json::from_slice(&fixture.log_lines()[5]).unwrap();
    assert_eq!(line["entry"], stored["entry"]);
    let shown: Value = serde_json::from_slice(&auditor.get("/lianlog/v1/show?seq=5").body).unwrap();
    assert_eq!(shown["bodies"], false, "the read API by session: an auditor's rules");

    // An officer's session ends at its next request once the key is revoked.
    let sun = login(&server, &fixture.sun);
    let mut officer = Browser { server: &server, cookie: None };
    officer.open(sun["url"].as_str().unwrap());
    assert_eq!(officer.get("/records").status, 200);
    // A one-time URL not yet opened when the key is revoked opens nothing either.
    let unopened = login(&server, &fixture.sun);
    let revoke = json!({"key": sun["identity"], "reason": "调离纪检监察岗位"});
    let output = lianlog()
        .args(["--server", &server.url, "append", "key.revoke", "--key"])
        .arg(&fixture.admin)
        .write_stdin(revoke.to_string())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", output_text(&output).1);
    let ended = officer.get("/records");
    assert_eq!(ended.status, 403, "{}", ended.text());
    assert!(ended.text().contains("revoked") && ended.text().contains("会话已结束"), "{}", ended.text());
    assert_eq!(officer.get("/").status, 200, "the overview needs no session");
    assert_eq!(officer.get("/records").status, 401, "the session is gone");
    let mut late = Browser { server: &server, cookie: None };
    assert_ne!(late.open(unopened["url"].as_str().unwrap()).status, 200);
    // A revoked key cannot sign in again.
    let output = lianlog().args(["--server", &server.url, "login", "--key"]).arg(&fixture.sun).output().unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", output_text(&output).1);

    // The login endpoint needs the challenge in a signed body: unsigned, or a made-up challenge, is refused.
    let unsigned = request(
        &server.address,
        "POST",
        "/lianlog/v1/login",
        &[("Content-Type", "application/json")],
        b"{\"challenge\":\"00\"}",
    );
    assert_eq!(unsigned.status, 401);
}
