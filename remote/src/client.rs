//! The one HTTP client of the CLI's `--server` path: base URL, optional signing identity,
//! timeouts, answer-size limit, and the map from a refusal to a [`lianlog_ledger::Error`].
//!
//! Guarantees: with an identity, every request carries `Signature-Input`, `Signature` (and, with a
//! body, `Content-Digest`) made by [`lianlog_ledger::httpsig`] over exactly what is sent (method,
//! the `Host` header this client sets, path, query, body); redirects are never followed; an answer
//! is never read past [`Client::with_response_limit`]; a `503 Busy` answer is retried a bounded
//! number of times after its `Retry-After` (the server did no work for it), nothing else is
//! retried (an append is not repeated behind the user's back).

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
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(DEFAULT_TIMEOUT))
            .user_agent(concat!("lianlog/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Client {
            base: trimmed.to_string(),
            authority: authority.as_str().to_ascii_lowercase(),
            agent: config.new_agent(),
            identity: None,
            response_limit: DEFAULT_RESPONSE_LIMIT,
        })
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
        let config = self.agent.config().clone();
        let rebuilt = ureq::Agent::config_builder()
            .http_status_as_error(config.http_status_as_error())
            .max_redirects(0)
            .timeout_connect(Some(CONNECT_TIMEOUT.min(timeout)))
            .timeout_global(Some(timeout))
            .user_agent(concat!("lianlog/", env!("CARGO_PKG_VERSION")))
            .build();
        self.agent = rebuilt.new_agent();
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
            let target = RequestTarget {
                method,
                authority: &self.authority,
                path: uri.path(),
                query: uri.query(),
            };
            let nonce = httpsig::new_nonce()?;
            let created = Timestamp::now().as_millis().div_euclid(1000);
            let signed = httpsig::sign(&target, body.map(|(_, bytes)| bytes), key, created, &nonce)?;
            if let Some(digest) = &signed.content_digest {
                builder = builder.header("content-digest", digest);
            }
            builder = builder
                .header("signature-input", &signed.signature_input)
                .header("signature", &signed.signature);
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
        let content_type = response.headers().get("content-type").and_then(|value| value.to_str().ok()).map(String::from);
        let bytes = response
            .body_mut()
            .with_config()
            .limit(self.response_limit)
            .read_to_vec()
            .map_err(|err| transport_error(url, err))?;
        Ok((status, content_type, headers, bytes))
    }
}

/// A failure to reach the server or read its answer: an I/O error naming the URL and the remedy.
fn transport_error(url: &str, err: ureq::Error) -> Error {
    let hint = match &err {
        ureq::Error::ConnectionFailed | ureq::Error::Io(_) => {
            "; check that `lianlog serve` runs there and that --server (LIANLOG_SERVER) is right"
        }
        ureq::Error::HostNotFound => "; check the host name in --server (LIANLOG_SERVER)",
        ureq::Error::Timeout(_) => "; the server is slow or unreachable, retry later",
        ureq::Error::TlsRequired | ureq::Error::RequireHttpsOnly(_) => {
            "; this build of lianlog speaks plain HTTP only: reach an https:// server through a local TLS \
             terminator, or use http:// on a trusted network"
        }
        ureq::Error::BodyExceedsLimit(_) => "; the answer is larger than this client reads",
        _ => "",
    };
    Error::new(ErrorKind::Io, format!("request to {url} failed: {err}{hint}"))
}
