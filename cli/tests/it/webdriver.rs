//! A tiny W3C WebDriver client (the JSON protocol over HTTP/1.1 on loopback) driving a real headless
//! Chromium through `chromedriver`, for the browser tests (`browser.rs`). No crate beyond
//! serde_json: each command is one request on a new connection, its answer read by its
//! `Content-Length` (chromedriver says `Connection: close` but keeps the connection open).
//!
//! What it guarantees: [`Browser::start`] gives a browser only when `chromedriver` and `chromium`
//! are installed, and otherwise prints one skip line — or, when the environment variable `CI` is
//! set, fails, so that CI cannot pass without having run the browser. The driver (and with it the
//! browser) is stopped when the [`Browser`] is dropped, even when a test fails.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// An answer of the driver: status and body.
struct Reply {
    status: u16,
    body: Vec<u8>,
}

/// One HTTP/1.1 request to the driver on a new connection; the answer read up to its length.
fn http(address: &str, method: &str, path: &str, body: &[u8]) -> std::io::Result<Reply> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 65536];
    let (split, length) = loop {
        let read = stream.read(&mut buffer)?;
        if read == 0 {
            return Err(std::io::Error::other("the driver closed the connection before its answer's head"));
        }
        bytes.extend_from_slice(&buffer[..read]);
        if let Some(split) = bytes.windows(4).position(|window| window == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&bytes[..split]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|value| value.trim().parse::<usize>().ok())
                .ok_or_else(|| std::io::Error::other(format!("no Content-Length in {head:?}")))?;
            break (split + 4, length);
        }
    };
    while bytes.len() < split + length {
        let read = stream.read(&mut buffer)?;
        if read == 0 {
            return Err(std::io::Error::other("the driver's answer was cut short"));
        }
        bytes.extend_from_slice(&buffer[..read]);
    }
    let status = String::from_utf8_lossy(&bytes[..split])
        .split(' ')
        .nth(1)
        .and_then(|status| status.parse().ok())
        .ok_or_else(|| std::io::Error::other("no HTTP status line"))?;
    Ok(Reply { status, body: bytes[split..split + length].to_vec() })
}

/// The key W3C WebDriver names a web element by.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The first of `names` found as an executable in `PATH`.
fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names
        .iter()
        .find_map(|name| std::env::split_paths(&path).map(|dir| dir.join(name)).find(|candidate| candidate.is_file()))
}

/// `chromedriver` on a free loopback port, ready for sessions: its process and address. A port
/// taken between finding it free and the driver binding it is retried on another (three tries);
/// a driver that does not become ready is killed before the test fails.
fn start_driver(driver: &Path) -> (Child, String) {
    for _ in 0..3 {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", driver.display()));
        let address = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline && child.try_wait().is_ok_and(|status| status.is_none()) {
            let ready = http(&address, "GET", "/status", b"")
                .ok()
                .and_then(|reply| serde_json::from_slice::<Value>(&reply.body).ok())
                .is_some_and(|status| status["value"]["ready"] == true);
            if ready {
                return (child, address);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("{} did not become ready on a free loopback port (three tries)", driver.display());
}

/// A web element of the current page.
#[derive(Debug, Clone)]
pub struct Element(String);

/// A headless Chromium session through its own `chromedriver` process.
pub struct Browser {
    driver: Child,
    address: String,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Start `chromedriver` on a free loopback port and a headless Chromium session; `None` (with
    /// a skip line) when either is missing, unless `CI` is set: then it panics.
    pub fn start(test: &str) -> Option<Browser> {
        let driver = find_program(&["chromedriver"]);
        let chromium = find_program(&["chromium", "chromium-browser", "google-chrome"]);
        let (Some(driver), Some(chromium)) = (driver, chromium) else {
            let why = "chromium and chromedriver are not installed (Debian: apt-get install chromium chromium-driver \
                       fonts-noto-cjk; .ci/run installs them)";
            assert!(std::env::var_os("CI").is_none(), "{test}: CI is set but {why}");
            // Straight to stderr, past the test harness's capture, so that the skip is seen.
            let _ = writeln!(std::io::stderr(), "skipped {test}: {why}");
            return None;
        };
        let (child, address) = start_driver(&driver);
        let profile = tempfile::tempdir().unwrap();
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--window-size=1280,1800", "--disable-dev-shm-usage",
                         "--disable-gpu", "--lang=zh-CN", format!("--user-data-dir={}", profile.path().display())],
            },
        }}});
        let mut browser = Browser { driver: child, address, session: String::new(), _profile: profile };
        let answer = browser.command("POST", "/session", capabilities);
        browser.session = answer["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {answer}")).to_string();
        Some(browser)
    }

    /// One WebDriver command; its `value`. A WebDriver error fails the test, naming it.
    fn command(&self, method: &str, path: &str, body: Value) -> Value {
        let body = if method == "GET" { Vec::new() } else { serde_json::to_vec(&body).unwrap() };
        let reply = http(&self.address, method, path, &body).unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let answer: Value = serde_json::from_slice(&reply.body)
            .unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {}", String::from_utf8_lossy(&reply.body)));
        assert_eq!(reply.status, 200, "{method} {path}: {answer}");
        answer["value"].clone()
    }

    fn session_command(&self, method: &str, path: &str, body: Value) -> Value {
        self.command(method, &format!("/session/{}{path}", self.session), body)
    }

    /// Open `url` and wait for it to load.
    pub fn goto(&self, url: &str) {
        self.session_command("POST", "/url", json!({ "url": url }));
    }

    /// The URL shown now.
    pub fn url(&self) -> String {
        self.session_command("GET", "/url", Value::Null).as_str().unwrap_or_default().to_string()
    }

    /// The first element matching a CSS selector, or `None`.
    pub fn try_find(&self, css: &str) -> Option<Element> {
        let reply = http(
            &self.address,
            "POST",
            &format!("/session/{}/elements", self.session),
            &serde_json::to_vec(&json!({"using": "css selector", "value": css})).unwrap(),
        )
        .unwrap();
        let answer: Value = serde_json::from_slice(&reply.body).unwrap();
        answer["value"].as_array()?.first()?[ELEMENT].as_str().map(|id| Element(id.to_string()))
    }

    /// The first element matching a CSS selector; fails the test, naming the page, when none does.
    pub fn find(&self, css: &str) -> Element {
        self.try_find(css).unwrap_or_else(|| panic!("no {css} on {}", self.url()))
    }

    /// Click an element.
    pub fn click(&self, element: &Element) {
        self.session_command("POST", &format!("/element/{}/click", element.0), json!({}));
    }

    /// Type text into an element (for a file input: the file's path).
    pub fn type_text(&self, element: &Element, text: &str) {
        self.session_command("POST", &format!("/element/{}/value", element.0), json!({ "text": text }));
    }

    /// Clear a text field.
    pub fn clear(&self, element: &Element) {
        self.session_command("POST", &format!("/element/{}/clear", element.0), json!({}));
    }

    /// The rendered text of an element.
    pub fn text(&self, element: &Element) -> String {
        self.session_command("GET", &format!("/element/{}/text", element.0), Value::Null)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The whole page's rendered text.
    pub fn page_text(&self) -> String {
        // One script call, holding no element: a page that navigates between finding `body` and
        // reading its text (a form just submitted) cannot leave a stale element behind.
        let text = self.script("return document.body ? document.body.innerText : ''", serde_json::json!([]));
        text.as_str().unwrap_or_default().to_string()
    }

    /// Run a script in the page (its `return` value).
    pub fn script(&self, script: &str, args: Value) -> Value {
        self.session_command("POST", "/execute/sync", json!({ "script": script, "args": args }))
    }

    /// Wait (up to 30 s) until `probe` gives `Some`; fail naming `what` otherwise.
    pub fn wait_for<T>(&self, what: &str, mut probe: impl FnMut(&Browser) -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(found) = probe(self) {
                return found;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what} on {}", self.url());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Save a PNG screenshot of the page's body (as tall as its content, not the window) to `path`.
    pub fn screenshot(&self, path: &Path) {
        let body = self.find("body");
        let encoded = self.session_command("GET", &format!("/element/{}/screenshot", body.0), Value::Null);
        let png = lianlog_ledger::encoding::parse_base64(encoded.as_str().unwrap_or_default()).unwrap_or_default();
        assert!(png.starts_with(b"\x89PNG"), "the screenshot is not a PNG");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            // Closes Chromium; the driver is then killed.
            let _ = http(&self.address, "DELETE", &format!("/session/{}", self.session), b"");
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
