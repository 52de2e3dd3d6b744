//! The one HTTP client of the CLI's `--server` path: base URL, optional signing identity,
//! timeouts, answer-size limit, and the map from a refusal to a [`lianlog_ledger::Error`].
//!
//! Guarantees: with an identity, every request carries `Signature-Input`, `Signature` (and, with a
//! body, `Content-Digest`) made by [`lianlog_ledger::httpsig`] over exactly what is sent (method,
//! the `Host` header this client sets, path, query, body); redirects are never followed; an answer
//! is never read past [`Client::with_response_limit`]; a `503 Busy` answer is retried a bounded
//! number of times after its `Retry-After` (the server did no work for it), nothing else is
//! retried (an append is not repeated behind the user's back); an `https://` server must show a
//! certificate for its host name from a trusted root (the Mozilla roots, or only the roots given
//! with [`Client::with_ca_pem`]).

use std::time::Duration;

use lianlog_ledger::httpsig::{self, RequestTarget};
use lianlog_ledger::{Error, ErrorKind, Result, SecretKey, Timestamp};
use serde::Serialize;
use serde::de::DeserializeOwned;
use ureq::http::Uri;

/// The largest answer read by default (64 MiB): bigger than any tile, bundle or page of answers.
pub const DEFAULT_RESPONSE_LIMIT: u64 = 64 << 20;
/// How long a request may take by default, connect to last byte.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a `Busy` (503) answer is retried, and the longest wait honoured from `Retry-After`.
const BUSY_RETRIES: u32 = 3;
const BUSY_MAX_WAIT: Duration = Duration::from_secs(5);

/// A client of one `lianlog serve` server.
pub struct Client {
    /// The base URL without a trailing `/`, e.g. `http://127.0.0.1:7878`.
    base: String,
    /// `host[:port]` of the base URL, lowercased: the `Host` header sent and the `@authority` signed.
    authority: String,
    agent: ureq::Agent,
    identity: Option<SecretKey>,
    response_limit: u64,
    timeout: Duration,
    /// The only roots trusted for `https://`, when given; else the Mozilla roots (webpki-roots).
    roots: Option<Vec<ureq::tls::Certificate<'static>>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("base", &self.base).field("identity", &self.identity).finish_non_exhaustive()
    }
}

/// A successful (2xx) answer, read whole.
#[derive(Debug, Clone)]
pub struct Response {
    status: u16,
    content_type: Option<String>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    /// The HTTP status (200–299).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The `Content-Type` header, if any.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// The first value of header `name` (case-insensitive), if it is present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }

    /// The body's bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body, owned.
    pub fn into_body(self) -> Vec<u8> {
        self.body
    }

    /// The body as UTF-8 text.
    pub fn text(&self) -> Result<&str> {
        std::str::from_utf8(&self.body)
            .map_err(|err| Error::verification(format!("the server's answer is not UTF-8 text: {err}")))
    }

    /// The body parsed as JSON into `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body)
            .map_err(|err| Error::verification(format!("the server's answer is not the JSON expected: {err}")))
    }
}

impl Client {
    /// A client of the server at `url` (`http://host:port`, optionally with a path prefix).
    /// Refuses a URL that is not `http://` or `https://`, has no host, or carries a user name,
    /// a query or a fragment.
    pub fn new(url: &str) -> Result<Client> {
        let trimmed = url.trim().trim_end_matches('/');
        let bad = |why: &str| {
            Error::bad_input(format!(
                "--server {url:?} is not a server URL: {why}; give one like http://127.0.0.1:7878"
            ))
        };
        let uri: Uri = trimmed.parse().map_err(|err| bad(&format!("{err}")))?;
        match uri.scheme_str() {
            Some("http" | "https") => {}
            _ => return Err(bad("it must start with http:// or https://")),
        }
        let authority = uri.authority().ok_or_else(|| bad("it names no host"))?;
        if authority.as_str().contains('@') {
            return Err(bad("it carries a user name; the identity is given with --identity"));
        }
        if uri.query().is_some() || trimmed.contains('#') {
            return Err(bad("it has a query or a fragment"));
        }
        Ok(Client {
            base: trimmed.to_string(),
            authority: authority.as_str().to_ascii_lowercase(),
            agent: agent(DEFAULT_TIMEOUT, None),
            identity: None,
            response_limit: DEFAULT_RESPONSE_LIMIT,
            timeout: DEFAULT_TIMEOUT,
            roots: None,
        })
    }

    /// Trust only the certificates in `pem` (PEM `CERTIFICATE` blocks, e.g. the commission's own
    /// CA) for an `https://` server, instead of the public Mozilla roots.
    pub fn with_ca_pem(mut self, pem: &[u8]) -> Result<Client> {
        let mut roots = Vec::new();
        for item in ureq::tls::parse_pem(pem) {
            match item {
                Ok(ureq::tls::PemItem::Certificate(certificate)) => roots.push(certificate),
                Ok(_) => {}
                Err(err) => return Err(Error::bad_input(format!("the CA certificate file is not valid PEM: {err}"))),
            }
        }
        if roots.is_empty() {
            return Err(Error::bad_input("the CA certificate file holds no PEM `BEGIN CERTIFICATE` block"));
        }
        self.agent = agent(self.timeout, Some(&roots));
        self.roots = Some(roots);
        Ok(self)
    }

    /// Sign every request with `key` (RFC 9421; the server finds the key in its registry by
    /// the identity `name+HEXID`).
    pub fn with_identity(mut self, key: SecretKey) -> Client {
        self.identity = Some(key);
        self
    }

    /// Read no answer larger than `bytes`.
    pub fn with_response_limit(mut self, bytes: u64) -> Client {
        self.response_limit = bytes;
        self
    }

    /// Give up on a request after `timeout` (connect to last byte).
    pub fn with_timeout(mut self, timeout: Duration) -> Client {
        self.agent = agent(timeout, self.roots.as_deref());
        self.timeout = timeout;
        self
    }

    /// The base URL, without a trailing `/`.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// The signing identity, if any.
    pub fn identity(&self) -> Option<&SecretKey> {
        self.identity.as_ref()
    }

    /// `GET path` (`path` starts with `/` and may end in `?query`); a non-2xx answer is an error.
    pub fn get(&self, path: &str) -> Result<Response> {
        self.request("GET", path, None)
    }

    /// `POST path` with `body` of `content_type`; a non-2xx answer is an error.
    pub fn post(&self, path: &str, content_type: &str, body: &[u8]) -> Result<Response> {
        self.request("POST", path, Some((content_type, body)))
    }

    /// `POST path` with `body` of `content_type`, once, whatever the status: the answer is
    /// returned as it came (a protocol whose non-2xx answers carry meaning — tlog-witness's 409
    /// with the witness's size — judges it itself). Only a failure to reach the server or to read
    /// its answer is an error.
    pub fn post_answer(&self, path: &str, content_type: &str, body: &[u8]) -> Result<Response> {
        if !path.starts_with('/') || path.contains('#') || path.bytes().any(|byte| !byte.is_ascii_graphic()) {
            return Err(Error::bad_input(format!(
                "request path {path:?} must start with / and be visible ASCII (percent-encode the rest)"
            )));
        }
        let url = format!("{}{path}", self.base);
        let (status, content_type, headers, body) = self.send_once("POST", &url, Some((content_type, body)))?;
        Ok(Response { status, content_type, headers, body })
    }

    /// `GET path`, the answer parsed as JSON.
    pub fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.get(path)?.json()
    }

    /// `POST path` with `value` as a JSON body, the answer parsed as JSON.
    pub fn post_json<B: Serialize + ?Sized, T: DeserializeOwned>(&self, path: &str, value: &B) -> Result<T> {
        let body = serde_json::to_vec(value)
            .map_err(|err| Error::bad_input(format!("cannot encode the request to {path} as JSON: {err}")))?;
        self.post(path, "application/json", &body)?.json()
    }

    /// Send one request, retrying a `Busy` answer; a non-2xx answer becomes an [`Error`].
    fn request(&self, method: &str, path: &str, body: Option<(&str, &[u8])>) -> Result<Response> {
        if !path.starts_with('/') || path.contains('#') || path.bytes().any(|byte| !byte.is_ascii_graphic()) {
            return Err(Error::bad_input(format!(
                "request path {path:?} must start with / and be visible ASCII (percent-encode the rest)"
            )));
        }
        let url = format!("{}{path}", self.base);
        let mut attempt = 0;
        loop {
            let (status, content_type, headers, bytes) = self.send_once(method, &url, body)?;
            if (200..300).contains(&status) {
                return Ok(Response { status, content_type, headers, body: bytes });
            }
            let busy = status == 503 && crate::problem::code_of(&bytes).as_deref() == Some("Busy");
            if busy && attempt < BUSY_RETRIES {
                attempt += 1;
                let wait = headers
                    .iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case("retry-after"))
                    .and_then(|(_, value)| value.trim().parse::<u64>().ok())
                    .map_or(Duration::from_secs(1), Duration::from_secs)
                    .min(BUSY_MAX_WAIT);
                std::thread::sleep(wait);
                continue;
            }
            return Err(crate::problem::to_error(&url, status, content_type.as_deref(), &bytes));
        }
    }

    /// One exchange: sign (with an identity), send, read the answer within the limit.
    #[allow(clippy::type_complexity, reason = "private; the parts of an answer before it is judged")]
    fn send_once(
        &self,
        method: &str,
        url: &str,
        body: Option<(&str, &[u8])>,
    ) -> Result<(u16, Option<String>, Vec<(String, String)>, Vec<u8>)> {
        let uri: Uri = url.parse().map_err(|err| Error::bad_input(format!("{url} is not a valid URL: {err}")))?;
        let mut builder = ureq::http::Request::builder().method(method).uri(&uri).header("host", &self.authority);
        if let Some((content_type, _)) = body {
            builder = builder.header("content-type", content_type);
        }
        if let Some(key) = &self.identity {
            let target = RequestTarget { method, authority: &self.authority, path: uri.path(), query: uri.query() };
            let nonce = httpsig::new_nonce()?;
            let created = Timestamp::now().as_millis().div_euclid(1000);
            let signed = httpsig::sign(&target, body.map(|(_, bytes)| bytes), key, created, &nonce)?;
            if let Some(digest) = &signed.content_digest {
                builder = builder.header("content-digest", digest);
            }
            builder = builder.header("signature-input", &signed.signature_input).header("signature", &signed.signature);
        }
        let result = match body {
            Some((_, bytes)) => {
                let request = builder.body(bytes).map_err(|err| Error::bad_input(format!("{url}: {err}")))?;
                self.agent.run(request)
            }
            None => {
                let request = builder.body(()).map_err(|err| Error::bad_input(format!("{url}: {err}")))?;
                self.agent.run(request)
            }
        };
        let mut response = result.map_err(|err| transport_error(url, err))?;
        let status = response.status().as_u16();
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter_map(|(key, value)| Some((key.as_str().to_string(), value.to_str().ok()?.to_string())))
            .collect();
        let content_type =
            response.headers().get("content-type").and_then(|value| value.to_str().ok()).map(String::from);
        let bytes = response
            .body_mut()
            .with_config()
            .limit(self.response_limit)
            .read_to_vec()
            .map_err(|err| transport_error(url, err))?;
        Ok((status, content_type, headers, bytes))
    }
}

/// The agent of every client: statuses are answers (not errors), no redirects, the timeouts, and
/// for `https://` rustls (ring) with `roots` or the Mozilla roots.
fn agent(timeout: Duration, roots: Option<&[ureq::tls::Certificate<'static>]>) -> ureq::Agent {
    let mut tls = ureq::tls::TlsConfig::builder().provider(ureq::tls::TlsProvider::Rustls);
    if let Some(roots) = roots {
        tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(roots));
    }
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_connect(Some(CONNECT_TIMEOUT.min(timeout)))
        .timeout_global(Some(timeout))
        .user_agent(concat!("lianlog/", env!("CARGO_PKG_VERSION")))
        .tls_config(tls.build())
        .build()
        .new_agent()
}

/// A failure to reach the server or read its answer: an I/O error naming the URL and the remedy.
fn transport_error(url: &str, err: ureq::Error) -> Error {
    // rustls reports an untrusted certificate through an I/O error.
    let certificate = err.to_string().contains("certificate");
    let hint = match &err {
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::Io(_) if certificate => {
            "; the server's TLS certificate is not trusted: check the URL's host name, or give the \
             commission's CA certificate"
        }
        ureq::Error::ConnectionFailed | ureq::Error::Io(_) => {
            "; check that `lianlog serve` runs there and that --server (LIANLOG_SERVER) is right"
        }
        ureq::Error::HostNotFound => "; check the host name in --server (LIANLOG_SERVER)",
        ureq::Error::Timeout(_) => "; the server is slow or unreachable, retry later",
        ureq::Error::BodyExceedsLimit(_) => "; the answer is larger than this client reads",
        _ => "",
    };
    Error::new(ErrorKind::Io, format!("request to {url} failed: {err}{hint}"))
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    use std::net::TcpListener;
    use std::sync::mpsc;

    use lianlog_ledger::KeyName;
    use lianlog_ledger::httpsig::RequestSignature;

    use super::*;

    /// A request as a one-shot loopback server saw it.
    struct Seen {
        request_line: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    }

    impl Seen {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
        }
    }

    /// Serve `answers` in turn, one connection each, on a loopback port; the requests come back
    /// through the receiver.
    fn serve(answers: Vec<String>) -> (String, mpsc::Receiver<Seen>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for answer in answers {
                let (stream, _) = listener.accept().unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                reader.read_line(&mut request_line).unwrap();
                let mut headers = Vec::new();
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    let (key, value) = line.split_once(':').unwrap();
                    headers.push((key.trim().to_string(), value.trim().to_string()));
                }
                let length = headers
                    .iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case("content-length"))
                    .map_or(0, |(_, value)| value.parse::<usize>().unwrap());
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let mut stream = stream;
                stream.write_all(answer.as_bytes()).unwrap();
                let _ = sender.send(Seen { request_line: request_line.trim_end().to_string(), headers, body });
            }
        });
        (url, receiver)
    }

    fn answer(status: &str, content_type: &str, extra: &str, body: &str) -> String {
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n{body}",
            body.len()
        )
    }

    #[test]
    fn signed_requests_verify_with_the_library() {
        let alice = SecretKey::from_seed(KeyName::parse("alice").unwrap(), &[7; 32]);
        let public = alice.public().clone();
        let (url, seen) = serve(vec![
            answer("200 OK", "application/json", "", r#"{"ok":true}"#),
            answer("200 OK", "application/json", "", r#"{"n":2}"#),
        ]);
        let client = Client::new(&format!("{url}/")).unwrap().with_identity(alice);
        let value: serde_json::Value = client.get_json("/lianlog/v1/show/3?json=1").unwrap();
        assert_eq!(value["ok"], true);
        let got = seen.recv().unwrap();
        assert_eq!(got.request_line, "GET /lianlog/v1/show/3?json=1 HTTP/1.1");
        let authority = got.header("host").unwrap().to_string();
        assert_eq!(format!("http://{authority}"), url);
        let signature =
            RequestSignature::parse(got.header("signature-input").unwrap(), got.header("signature").unwrap()).unwrap();
        let target =
            RequestTarget { method: "GET", authority: &authority, path: "/lianlog/v1/show/3", query: Some("json=1") };
        signature.verify(&target, None, &got.body, &public).unwrap();
        assert!(got.header("content-digest").is_none());

        let value: serde_json::Value = client.post_json("/lianlog/v1/query", &serde_json::json!({"q": 1})).unwrap();
        assert_eq!(value["n"], 2);
        let got = seen.recv().unwrap();
        assert_eq!(got.body, br#"{"q":1}"#);
        let signature =
            RequestSignature::parse(got.header("signature-input").unwrap(), got.header("signature").unwrap()).unwrap();
        let target = RequestTarget { method: "POST", authority: &authority, path: "/lianlog/v1/query", query: None };
        signature.verify(&target, got.header("content-digest"), &got.body, &public).unwrap();
    }

    #[test]
    fn problems_become_errors_and_busy_is_retried() {
        let problem = r#"{"type":"urn:lianlog:error:Unauthorized","title":"not authorized","status":403,"detail":"key bob+01020304 is revoked","code":"Unauthorized","exit":3}"#;
        let busy = r#"{"type":"urn:lianlog:error:Busy","title":"server busy","status":503,"detail":"busy","code":"Busy","exit":6}"#;
        let (url, seen) = serve(vec![
            answer("403 Forbidden", "application/problem+json", "", problem),
            answer("503 Service Unavailable", "application/problem+json", "retry-after: 0\r\n", busy),
            answer("200 OK", "text/plain", "", "checkpoint"),
            answer("302 Found", "text/plain", "location: http://127.0.0.1:1/\r\n", ""),
        ]);
        let client = Client::new(&url).unwrap();
        let err = client.get("/lianlog/v1/show/1").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthorized);
        assert_eq!(err.message(), "key bob+01020304 is revoked");
        let response = client.get("/checkpoint").unwrap();
        assert_eq!(response.text().unwrap(), "checkpoint");
        assert_eq!(response.content_type(), Some("text/plain"));
        // No identity, no signature.
        let got = seen.recv().unwrap();
        assert!(got.header("signature").is_none());
        // A redirect is not followed.
        let err = client.get("/elsewhere").unwrap_err();
        assert!(err.message().contains("HTTP 302"), "{err}");
    }

    #[test]
    fn bad_urls_and_unreachable_servers_explain() {
        for url in ["ftp://x", "127.0.0.1:7878", "http://user@host", "http://host/?q", "http://host/#f", "http://"] {
            let err = Client::new(url).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::BadInput, "{url}");
        }
        // A port nobody listens on (bound, then released).
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let client = Client::new(&format!("http://127.0.0.1:{port}")).unwrap().with_timeout(Duration::from_secs(5));
        let err = client.get("/checkpoint").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io);
        assert!(err.message().contains("lianlog serve"), "{err}");
        assert!(client.get("no-slash").is_err());
    }

    /// Serve `answer` over TLS (test certificate for 127.0.0.1, `remote/tests/tls/`) to `connections`
    /// connections in turn; a failed handshake just ends its connection.
    fn serve_tls(answer: String, connections: usize) -> (String, std::thread::JoinHandle<()>) {
        use rustls::pki_types::pem::PemObject as _;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let chain = vec![CertificateDer::from_pem_slice(include_bytes!("../tests/tls/server.pem")).unwrap()];
        let key = PrivateKeyDer::from_pem_slice(include_bytes!("../tests/tls/server.key")).unwrap();
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        let config = std::sync::Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("https://{}", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            for _ in 0..connections {
                let (stream, _) = listener.accept().unwrap();
                let connection = rustls::ServerConnection::new(config.clone()).unwrap();
                let mut tls = rustls::StreamOwned::new(connection, stream);
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                let mut handshake_failed = false;
                while !head.ends_with(b"\r\n\r\n") {
                    match tls.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => {
                            handshake_failed = true;
                            break;
                        }
                    }
                }
                if !handshake_failed {
                    let _ = tls.write_all(answer.as_bytes());
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                }
            }
        });
        (url, server)
    }

    #[test]
    fn https_with_the_commissions_ca_and_not_without_it() {
        let (url, server) = serve_tls(answer("200 OK", "text/plain", "", "over tls"), 2);
        let trusted = Client::new(&url).unwrap().with_ca_pem(include_bytes!("../tests/tls/ca.pem")).unwrap();
        assert_eq!(trusted.get("/checkpoint").unwrap().text().unwrap(), "over tls");
        // The Mozilla roots do not know the test CA.
        let err = Client::new(&url).unwrap().get("/checkpoint").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io);
        assert!(err.message().contains("not trusted"), "{err}");
        server.join().unwrap();
        // A CA file that is not one.
        let err = Client::new(&url).unwrap().with_ca_pem(b"not a certificate").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BadInput);
    }

    #[test]
    fn answers_past_the_limit_are_refused() {
        let (url, _seen) = serve(vec![answer("200 OK", "text/plain", "", &"x".repeat(2048))]);
        let client = Client::new(&url).unwrap().with_response_limit(1024);
        let err = client.get("/big").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io);
    }
}
