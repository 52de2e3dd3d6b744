//! Authentication of signed requests and the access log (查询留痕).
//!
//! Guarantees: [`authenticate`] accepts a request only when it carries a signature of lianlog's
//! RFC 9421 profile ([`lianlog_ledger::httpsig`], the same code the client signs with) that
//! verifies over exactly what arrived — method, authority, path, query and, with a body, its
//! `Content-Digest` — made by a key that the ledger's registry holds now (granted, not revoked,
//! with a role), `created` within [`CREATED_WINDOW_SECS`] of the server's clock either way, and a
//! nonce this server has not accepted from that key within the window. Every accepted request is
//! appended (who, what, when) to the access log and synced before the caller gets its answer: no
//! read of personal data without a trace; if the trace cannot be written, the read is refused.
//! Memory is bounded: at most [`DEFAULT_REPLAY_CAPACITY`] nonces, a tenth of them per key; when
//! full, signed requests are refused as busy (503) rather than any nonce forgotten early.
//!
//! The access log is a file of JSON lines, one per accepted request, mode 0600 (docs/OPERATIONS.md,
//! "The access log"):
//! `{"time":"2026-12-03T08:00:00.000Z","identity":"alice+1a2b3c4d","roles":["officer"],"method":"GET","path":"/lianlog/v1/dossier/…","query":"…","nonce":"…","created":1796284800}`.
//! At start the nonces of its recent lines are read back, so a restart does not let a request
//! answered before it be replayed.

use std::fs::File;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Mutex;

use axum::http::{HeaderMap, Method, Uri};
use lianlog_ledger::httpsig::{
    CREATED_WINDOW_SECS, DEFAULT_REPLAY_CAPACITY, Replay, ReplayGuard, RequestSignature, RequestTarget,
};
use lianlog_ledger::{Error, Role, Timestamp};

use super::ServeState;
use super::problem::{Code, Problem};

/// Who signed a request: the key's identity and the roles the registry gives it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Caller {
    /// The identity of the key that signed the request (the signature's `keyid`).
    pub(crate) identity: String,
    /// The roles of that key in the ledger's registry when the request was checked.
    pub(crate) roles: Vec<Role>,
}

impl Caller {
    /// Whether the registry gave the caller's key `role`.
    pub(crate) fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// The server's memory of authenticated requests: on disk, the access log of every accepted
/// request (who, what, when); in memory, the nonces still inside the freshness window, so that no
/// request is accepted twice.
#[derive(Debug)]
pub(crate) struct AccessLog {
    /// Where the log is kept.
    pub(crate) path: PathBuf,
    /// The log file, opened for appending at the first entry.
    file: Mutex<Option<File>>,
    /// The nonces accepted within the window.
    replay: Mutex<ReplayGuard>,
}

impl AccessLog {
    /// The access log kept at `path` (nothing is opened until the first entry).
    pub(crate) fn new(path: PathBuf) -> AccessLog {
        AccessLog::with_capacity(path, DEFAULT_REPLAY_CAPACITY)
    }

    /// The access log at `path`, remembering at most `capacity` nonces: those of the log's
    /// recent lines first, so that a restarted server still refuses a request it answered
    /// within the window.
    pub(crate) fn with_capacity(path: PathBuf, capacity: usize) -> AccessLog {
        let mut replay = ReplayGuard::new(CREATED_WINDOW_SECS, capacity);
        recall_nonces(&path, &mut replay, Timestamp::now().as_millis().div_euclid(1000));
        AccessLog { path, file: Mutex::new(None), replay: Mutex::new(replay) }
    }

    /// Append one line and sync it: the trace exists before the answer does.
    pub(crate) fn append(&self, line: &str) -> Result<(), Error> {
        let mut file = self.file.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if file.is_none() {
            *file = Some(lianlog_ledger::open_append(&self.path)?);
        }
        let Some(open) = file.as_mut() else { unreachable!("opened above") };
        let written = open.write_all(line.as_bytes()).and_then(|()| open.sync_data());
        if let Err(err) = written {
            // Reopen next time: the file may have been rotated away or the disk freed.
            *file = None;
            return Err(Error::io("append to the access log", &self.path, err));
        }
        Ok(())
    }
}

/// How much of the access log's end is read back at start: far more than a window of requests
/// at any rate the nonce memory allows (200,000 lines of about 250 bytes).
const RECALL_BYTES: u64 = 64 << 20;

/// Put the nonces of the access log's recent lines (those whose `created` is still inside the
/// window at `now`) into `replay`. A missing or unreadable log recalls nothing: a log that cannot
/// be read cannot be appended to either, and then every read is refused.
fn recall_nonces(path: &std::path::Path, replay: &mut ReplayGuard, now: i64) {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let Ok(mut file) = std::fs::File::open(path) else { return };
    let Ok(length) = file.seek(SeekFrom::End(0)) else { return };
    let start = length.saturating_sub(RECALL_BYTES);
    let mut tail = Vec::new();
    if file.seek(SeekFrom::Start(start)).is_err() || file.take(RECALL_BYTES).read_to_end(&mut tail).is_err() {
        return;
    }
    // Skip a first line cut by the seek.
    let tail = if start > 0 { tail.splitn(2, |byte| *byte == b'\n').nth(1).unwrap_or(&[]) } else { &tail[..] };
    for line in tail.split(|byte| *byte == b'\n') {
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(line) else { continue };
        let (Some(identity), Some(nonce), Some(created)) =
            (value["identity"].as_str(), value["nonce"].as_str(), value["created"].as_i64())
        else {
            continue;
        };
        let _ = replay.remember_nonce(identity, nonce, created, now);
    }
}

/// Check the request's signature and return its signer, after recording the request in the
/// access log. Refusals: no or malformed signature, `created` outside the window, a replayed
/// nonce, an unknown key, or a bad signature → 401 (`Unauthenticated`); a revoked key or one
/// without a role → 403 (`Unauthorized`); too many requests within the window → 503 (`Busy`).
///
/// It syncs the access log to disk, so call it on the blocking pool (`serve::blocking`), like the
/// ledger work that follows it, never directly on the runtime's thread.
pub(crate) fn authenticate(
    state: &ServeState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Caller, Problem> {
    authenticate_at(state, method, uri, headers, body, Timestamp::now())
}

/// [`authenticate`] with the server's clock reading `now`.
fn authenticate_at(
    state: &ServeState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    now: Timestamp,
) -> Result<Caller, Problem> {
    let path = uri.path();
    let refuse = |why: &str| Problem::unauthenticated(format!("{path}: {why}"));
    let header = |name: &str| -> Result<Option<&str>, Problem> {
        let mut values = headers.get_all(name).iter();
        let Some(value) = values.next() else { return Ok(None) };
        if values.next().is_some() {
            return Err(refuse(&format!("the request has more than one {name} header")));
        }
        value.to_str().map(Some).map_err(|_| refuse(&format!("the {name} header is not visible ASCII")))
    };
    let (Some(input), Some(signature)) = (header("signature-input")?, header("signature")?) else {
        return Err(refuse(
            "this needs a signed request: give the key granted to you with --identity FILE (or LIANLOG_IDENTITY)",
        ));
    };
    let signature = RequestSignature::parse(input, signature).map_err(|err| refuse(err.message()))?;
    let now_secs = now.as_millis().div_euclid(1000);
    signature.check_created(now_secs, CREATED_WINDOW_SECS).map_err(|err| refuse(err.message()))?;
    let (key, roles) =
        state
            .read(|ledger| {
                let registry = ledger.registry();
                Ok(match registry.current_key(signature.keyid()) {
                    Ok((key, key_state)) => Ok((key.clone(), key_state.roles.clone())),
                    Err(err) => Err((registry.keys.contains_key(signature.keyid()), err.reason)),
                })
            })
            .map_err(Problem::from)?
            .map_err(|(known, reason)| {
                if known { Problem::new(Code::Unauthorized, format!("{path}: {reason}")) } else { refuse(&reason) }
            })?;
    let authority = uri
        .authority()
        .map(|authority| authority.as_str())
        .or(header("host")?)
        .ok_or_else(|| refuse("the request names no host (no Host header), so its signature cannot be checked"))?;
    let target = RequestTarget { method: method.as_str(), authority, path, query: uri.query() };
    signature.verify(&target, header("content-digest")?, body, &key).map_err(|err| refuse(err.message()))?;
    {
        let mut replay = state.access_log.replay.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match replay.remember(&signature, now_secs) {
            Ok(()) => {}
            Err(Replay::Seen) => return Err(refuse(&Replay::Seen.to_string())),
            Err(refusal @ (Replay::Full | Replay::SignerFull)) => {
                return Err(Problem::new(Code::Busy, format!("{path}: {refusal}")));
            }
        }
    }
    let line = serde_json::json!({
        "time": now.to_string(),
        "identity": signature.keyid(),
        "roles": roles.iter().map(|role| role.as_str()).collect::<Vec<_>>(),
        "method": method.as_str(),
        "path": path,
        "query": uri.query(),
        "nonce": signature.nonce(),
        "created": signature.created(),
    });
    state.access_log.append(&format!("{line}\n")).map_err(Problem::from)?;
    Ok(Caller { identity: signature.keyid().to_string(), roles })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use axum::http::{HeaderValue, StatusCode};
    use lianlog_ledger::httpsig::{self, SignedHeaders};
    use lianlog_ledger::{Holder, KeyName, Ledger, SecretKey};

    use super::*;
    use crate::serve::ServeOptions;

    /// A directory under the system's temporary directory, removed on drop.
    struct Scratch(PathBuf);

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn scratch() -> Scratch {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!("lianlog-auth-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let dir = std::env::temp_dir().join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn key(name: &str, seed: u8) -> SecretKey {
        SecretKey::from_seed(KeyName::parse(name).unwrap(), &[seed; 32])
    }

    fn holder(name: &str) -> Holder {
        Holder { name: name.into(), unit: "第一纪检监察室".into(), title: None }
    }

    /// A served ledger with an admin, an officer, an auditor and a revoked officer.
    struct Fixture {
        _scratch: Scratch,
        state: ServeState,
        log: PathBuf,
        admin: SecretKey,
        officer: SecretKey,
        auditor: SecretKey,
        revoked: SecretKey,
    }

    fn fixture() -> Fixture {
        let scratch = scratch();
        let (admin, officer, auditor, revoked) =
            (key("admin", 1), key("officer", 2), key("auditor", 3), key("gone", 4));
        let mut ledger = Ledger::init(
            &scratch.0.join("ledger"),
            &KeyName::parse("test.example/ledger").unwrap(),
            &admin,
            holder("管理员"),
        )
        .unwrap();
        ledger.grant(&officer.public().vkey(), &[Role::Officer], &holder("张三"), &admin).unwrap();
        ledger.grant(&auditor.public().vkey(), &[Role::Auditor], &holder("李四"), &admin).unwrap();
        ledger.grant(&revoked.public().vkey(), &[Role::Officer], &holder("王五"), &admin).unwrap();
        ledger.revoke(&revoked.public().identity(), "left the commission", &admin).unwrap();
        let log_key = ledger.log_key(&mut || unreachable!("the test log key is not encrypted")).unwrap();
        let log = scratch.0.join("access.log");
        let options = ServeOptions { access_log: Some(log.clone()), ..ServeOptions::default() };
        let report: crate::Reporter = Arc::new(|_| {});
        let state = ServeState::new(ledger, log_key, options, report).unwrap();
        Fixture { _scratch: scratch, state, log, admin, officer, auditor, revoked }
    }

    const HOST: &str = "127.0.0.1:7878";

    fn signed(
        key: &SecretKey,
        method: &str,
        path_and_query: &str,
        body: Option<&[u8]>,
        created: i64,
    ) -> (Uri, HeaderMap) {
        let uri: Uri = path_and_query.parse().unwrap();
        let target = RequestTarget { method, authority: HOST, path: uri.path(), query: uri.query() };
        let SignedHeaders { signature_input, signature, content_digest } =
            httpsig::sign(&target, body, key, created, &httpsig::new_nonce().unwrap()).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static(HOST));
        headers.insert("signature-input", HeaderValue::from_str(&signature_input).unwrap());
        headers.insert("signature", HeaderValue::from_str(&signature).unwrap());
        if let Some(digest) = content_digest {
            headers.insert("content-digest", HeaderValue::from_str(&digest).unwrap());
        }
        (uri, headers)
    }

    fn now() -> (Timestamp, i64) {
        let now = Timestamp::now();
        (now, now.as_millis().div_euclid(1000))
    }

    fn check(
        fixture: &Fixture,
        method: &str,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
        now: Timestamp,
    ) -> Result<Caller, Problem> {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        authenticate_at(&fixture.state, &method, uri, headers, body, now)
    }

    fn log_lines(fixture: &Fixture) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&fixture.log)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    #[test]
    fn officer_and_auditor_are_known_by_their_roles_and_logged() {
        let fixture = fixture();
        let (now, secs) = now();
        let (uri, headers) = signed(&fixture.officer, "GET", "/lianlog/v1/dossier/P1?json=1", None, secs);
        let caller = check(&fixture, "GET", &uri, &headers, b"", now).unwrap();
        assert_eq!(caller.identity, fixture.officer.public().identity());
        assert_eq!(caller.roles, vec![Role::Officer]);
        let (uri, headers) = signed(&fixture.auditor, "POST", "/lianlog/v1/query", Some(b"{}"), secs);
        let caller = check(&fixture, "POST", &uri, &headers, b"{}", now).unwrap();
        assert_eq!(caller.roles, vec![Role::Auditor]);
        let (uri, headers) = signed(&fixture.admin, "GET", "/tile/entries/000", None, secs);
        assert_eq!(check(&fixture, "GET", &uri, &headers, b"", now).unwrap().roles, vec![Role::Admin]);

        let lines = log_lines(&fixture);
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["identity"], fixture.officer.public().identity());
        assert_eq!(lines[0]["roles"], serde_json::json!(["officer"]));
        assert_eq!(lines[0]["method"], "GET");
        assert_eq!(lines[0]["path"], "/lianlog/v1/dossier/P1");
        assert_eq!(lines[0]["query"], "json=1");
        assert_eq!(lines[0]["time"], now.to_string());
        assert_eq!(lines[1]["query"], serde_json::Value::Null);
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&fixture.log).unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn refusals_say_why_and_log_nothing() {
        let fixture = fixture();
        let (now, secs) = now();
        let status = |result: Result<Caller, Problem>| result.unwrap_err().status();

        // Unsigned.
        let uri: Uri = "/lianlog/v1/show/1".parse().unwrap();
        let mut bare = HeaderMap::new();
        bare.insert("host", HeaderValue::from_static(HOST));
        let err = check(&fixture, "GET", &uri, &bare, b"", now).unwrap_err();
        assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
        assert!(err.to_string().contains("--identity"), "{err}");

        // A bad signature: signed for another path, another method, another host.
        let (_, headers) = signed(&fixture.officer, "GET", "/lianlog/v1/show/2", None, secs);
        assert_eq!(status(check(&fixture, "GET", &uri, &headers, b"", now)), StatusCode::UNAUTHORIZED);
        let (uri, headers) = signed(&fixture.officer, "GET", "/lianlog/v1/show/1", None, secs);
        assert_eq!(status(check(&fixture, "DELETE", &uri, &headers, b"", now)), StatusCode::UNAUTHORIZED);
        let mut elsewhere = headers.clone();
        elsewhere.insert("host", HeaderValue::from_static("evil.example"));
        assert_eq!(status(check(&fixture, "GET", &uri, &elsewhere, b"", now)), StatusCode::UNAUTHORIZED);
        // A body the signature does not cover, and a body changed after signing.
        assert_eq!(status(check(&fixture, "GET", &uri, &headers, b"{}", now)), StatusCode::UNAUTHORIZED);
        let (post, headers_post) = signed(&fixture.officer, "POST", "/lianlog/v1/query", Some(b"{\"a\":1}"), secs);
        assert_eq!(status(check(&fixture, "POST", &post, &headers_post, b"{\"a\":2}", now)), StatusCode::UNAUTHORIZED);
        // A header given twice.
        let mut twice = headers.clone();
        twice.append("signature", HeaderValue::from_static("lianlog=:AAAA:"));
        assert_eq!(status(check(&fixture, "GET", &uri, &twice, b"", now)), StatusCode::UNAUTHORIZED);

        // Expired and early `created`.
        let window = CREATED_WINDOW_SECS;
        let (uri, old) = signed(&fixture.officer, "GET", "/lianlog/v1/show/1", None, secs - window - 1);
        let err = check(&fixture, "GET", &uri, &old, b"", now).unwrap_err();
        assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
        assert!(err.to_string().contains("behind the server's clock"), "{err}");
        let (uri, early) = signed(&fixture.officer, "GET", "/lianlog/v1/show/1", None, secs + window + 1);
        assert_eq!(status(check(&fixture, "GET", &uri, &early, b"", now)), StatusCode::UNAUTHORIZED);

        // Unknown key: 401; revoked key: 403.
        let stranger = key("stranger", 9);
        let (uri, headers) = signed(&stranger, "GET", "/lianlog/v1/show/1", None, secs);
        let err = check(&fixture, "GET", &uri, &headers, b"", now).unwrap_err();
        assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
        assert!(err.to_string().contains("never granted"), "{err}");
        let (uri, headers) = signed(&fixture.revoked, "GET", "/lianlog/v1/show/1", None, secs);
        let err = check(&fixture, "GET", &uri, &headers, b"", now).unwrap_err();
        assert_eq!(err.status(), StatusCode::FORBIDDEN);
        assert!(err.to_string().contains("revoked"), "{err}");
        // A key named like the officer but with another secret has another identity.
        let impostor = key("officer", 5);
        let (uri, headers) = signed(&impostor, "GET", "/lianlog/v1/show/1", None, secs);
        assert_eq!(status(check(&fixture, "GET", &uri, &headers, b"", now)), StatusCode::UNAUTHORIZED);

        assert!(log_lines(&fixture).is_empty(), "a refused request left a trace: {:?}", log_lines(&fixture));
    }

    #[test]
    fn a_replayed_request_is_refused_and_memory_is_bounded() {
        let mut fixture = fixture();
        let (now, secs) = now();
        let (uri, headers) = signed(&fixture.officer, "GET", "/lianlog/v1/show/1", None, secs);
        check(&fixture, "GET", &uri, &headers, b"", now).unwrap();
        let err = check(&fixture, "GET", &uri, &headers, b"", now).unwrap_err();
        assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
        assert!(err.to_string().contains("replayed"), "{err}");
        // Still refused at the end of the window.
        let later = Timestamp::from_millis(now.as_millis() + CREATED_WINDOW_SECS * 1000);
        assert_eq!(check(&fixture, "GET", &uri, &headers, b"", later).unwrap_err().status(), StatusCode::UNAUTHORIZED);
        assert_eq!(log_lines(&fixture).len(), 1);

        // A full memory refuses as busy instead of forgetting a nonce (the one logged above is
        // read back into the new memory, which has room for one more).
        // (Each key may hold a tenth of it, at least one: the officer's share is already used.)
        fixture.state.access_log = AccessLog::with_capacity(fixture.log.clone(), 2);
        let (uri, headers) = signed(&fixture.officer, "GET", "/lianlog/v1/show/1", None, secs);
        let err = check(&fixture, "GET", &uri, &headers, b"", now).unwrap_err();
        assert_eq!(err.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(err.to_string().contains("its share"), "{err}");
        let (uri, headers) = signed(&fixture.auditor, "GET", "/lianlog/v1/show/1", None, secs);
        check(&fixture, "GET", &uri, &headers, b"", now).unwrap();
        let (uri, headers) = signed(&fixture.officer, "GET", "/lianlog/v1/show/1", None, secs);
        let err = check(&fixture, "GET", &uri, &headers, b"", now).unwrap_err();
        assert_eq!(err.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(err.to_string().contains("too many signed requests"), "{err}");
    }

    #[test]
    fn a_restarted_server_still_refuses_a_replay() {
        let mut fixture = fixture();
        let (now, secs) = now();
        let (uri, headers) = signed(&fixture.officer, "GET", "/lianlog/v1/show/1", None, secs);
        check(&fixture, "GET", &uri, &headers, b"", now).unwrap();
        // A new memory, read back from the log as at a restart.
        fixture.state.access_log = AccessLog::new(fixture.log.clone());
        let err = check(&fixture, "GET", &uri, &headers, b"", now).unwrap_err();
        assert!(err.to_string().contains("replayed"), "{err}");
        let (uri, headers) = signed(&fixture.officer, "GET", "/lianlog/v1/show/1", None, secs);
        check(&fixture, "GET", &uri, &headers, b"", now).unwrap();
        assert_eq!(log_lines(&fixture).len(), 2);
    }

    /// A route that answers the caller's identity, served on a loopback port.
    async fn probe(
        axum::extract::State(state): axum::extract::State<Arc<ServeState>>,
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body: axum::body::Bytes,
    ) -> Result<String, Problem> {
        Ok(authenticate(&state, &method, &uri, &headers, &body)?.identity)
    }

    #[test]
    fn signed_requests_pass_over_http_and_a_replay_does_not() {
        use std::io::{Read as _, Write as _};
        let Fixture { _scratch, state, log, officer, revoked, .. } = fixture();
        let state = Arc::new(state);
        let router = axum::Router::new().route("/probe", axum::routing::get(probe).post(probe)).with_state(state);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, router)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        let url = format!("http://{address}");
        let identity = officer.public().identity();
        let client = lianlog_remote::Client::new(&url).unwrap().with_identity(officer);
        // Path, percent-encoded query and body reach the server as they were signed.
        assert_eq!(client.get("/probe?person=P-0001&q=%E5%BC%A0").unwrap().text().unwrap(), identity);
        assert_eq!(client.post("/probe", "application/json", b"{\"a\":1}").unwrap().text().unwrap(), identity);
        // Unsigned and revoked: the client's error has the exit code 3 kind and the server's reason.
        let err = lianlog_remote::Client::new(&url).unwrap().get("/probe").unwrap_err();
        assert_eq!(err.kind(), lianlog_ledger::ErrorKind::Unauthorized);
        assert!(err.message().contains("--identity"), "{err}");
        let err = lianlog_remote::Client::new(&url).unwrap().with_identity(revoked).get("/probe").unwrap_err();
        assert_eq!(err.kind(), lianlog_ledger::ErrorKind::Unauthorized);
        assert!(err.message().contains("revoked"), "{err}");

        // The same signed request sent twice, byte for byte: the second is refused.
        let officer = key("officer", 2);
        let authority = address.to_string();
        let target = RequestTarget { method: "GET", authority: &authority, path: "/probe", query: None };
        let (_, secs) = now();
        let signed = httpsig::sign(&target, None, &officer, secs, &httpsig::new_nonce().unwrap()).unwrap();
        let request = format!(
            "GET /probe HTTP/1.1\r\nHost: {authority}\r\nSignature-Input: {}\r\nSignature: {}\r\nConnection: close\r\n\r\n",
            signed.signature_input, signed.signature
        );
        let send = || {
            let mut stream = std::net::TcpStream::connect(address).unwrap();
            stream.write_all(request.as_bytes()).unwrap();
            let mut answer = String::new();
            stream.read_to_string(&mut answer).unwrap();
            answer
        };
        assert!(send().starts_with("HTTP/1.1 200"));
        let replayed = send();
        assert!(replayed.starts_with("HTTP/1.1 401"), "{replayed}");
        assert!(replayed.contains("replayed"), "{replayed}");

        let _ = stop.send(());
        server.join().unwrap();
        // Three accepted requests, three lines; the refused ones left none.
        let lines = std::fs::read_to_string(&log).unwrap();
        assert_eq!(lines.lines().count(), 3, "{lines}");
        assert!(lines.contains("\"query\":\"person=P-0001&q=%E5%BC%A0\""), "{lines}");
    }

    #[test]
    fn an_unwritable_access_log_refuses_the_read() {
        let mut fixture = fixture();
        let (now, secs) = now();
        let dir = fixture.log.with_file_name("log-is-a-dir");
        std::fs::create_dir(&dir).unwrap();
        fixture.state.access_log = AccessLog::new(dir);
        let (uri, headers) = signed(&fixture.officer, "GET", "/lianlog/v1/show/1", None, secs);
        let err = check(&fixture, "GET", &uri, &headers, b"", now).unwrap_err();
        assert!(err.status().is_server_error(), "{err}");
    }
}
