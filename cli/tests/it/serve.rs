//! `lianlog serve`: a real server on a loopback port (`--listen 127.0.0.1:0`, the address read
//! from its first line), driven over raw HTTP/1.1 so that hostile requests can be sent as bytes.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{ENTRIES, Fixture, output_text};

const BIN: &str = env!("CARGO_BIN_EXE_lianlog");

/// An HTTP answer: status, headers (lower-case names), body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|err| panic!("not JSON ({err}): {:?}", self.text()))
    }

    /// The problem of a refusal, checked to be RFC 9457 with lianlog's code and exit code.
    pub fn problem(&self, status: u16, code: &str, exit: u64) -> Value {
        assert_eq!(self.status, status, "{self:?} {}", self.text());
        assert_eq!(self.header("content-type"), Some("application/problem+json"), "{self:?}");
        let problem = self.json();
        assert_eq!(problem["code"], code, "{problem}");
        assert_eq!(problem["exit"], exit, "{problem}");
        assert_eq!(problem["status"], status, "{problem}");
        assert_eq!(problem["type"], format!("urn:lianlog:error:{code}"), "{problem}");
        problem
    }
}

/// Parse an HTTP/1.1 answer read to the end of the connection.
fn parse(bytes: &[u8]) -> std::io::Result<Reply> {
    let split = bytes
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other(format!("no HTTP answer: {:?}", String::from_utf8_lossy(bytes))))?;
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|status| status.parse().ok())
        .ok_or_else(|| std::io::Error::other(head.clone()))?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    Ok(Reply { status, headers, body: bytes[split + 4..].to_vec() })
}

/// One request on a new connection (`Connection: close`), read to the end.
pub fn http(address: &str, method: &str, path: &str, body: &[u8]) -> std::io::Result<Reply> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    // A server may answer (413) before reading the whole body and close: not an error here.
    let _ = stream.write_all(body);
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes)?;
    parse(&bytes)
}

/// Raw bytes on a new connection, and what comes back until the server closes it.
fn raw(address: &str, bytes: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let _ = stream.write_all(bytes);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    answer
}

/// A running `lianlog serve`; killed (SIGKILL) when dropped.
pub struct Server {
    child: Option<Child>,
    pub address: String,
    /// `http://ADDRESS`, for `--server`.
    pub url: String,
}

impl Server {
    /// `lianlog serve --listen 127.0.0.1:0 ARGS` on `ledger`.
    pub fn start(ledger: &Path, args: &[&str]) -> Server {
        let mut child = Command::new(BIN)
            .arg("--ledger")
            .arg(ledger)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start lianlog serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let address = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("{line:?}")).to_string();
        let url = format!("http://{address}");
        Server { child: Some(child), address, url }
    }

    pub fn get(&self, path: &str) -> Reply {
        http(&self.address, "GET", path, b"").unwrap()
    }

    pub fn post(&self, path: &str, body: &[u8]) -> Reply {
        http(&self.address, "POST", path, body).unwrap()
    }

    /// SIGTERM, and the exit status.
    #[allow(unsafe_code)] // std's Child::kill sends SIGKILL; the graceful stop under test needs SIGTERM.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        child.wait().unwrap()
    }

    /// SIGKILL, waited for.
    pub fn kill(mut self) {
        let mut child = self.child.take().unwrap();
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn serves_checkpoint_healthz_and_metrics_names_its_url_and_stops_on_sigterm() {
    let fixture = Fixture::build();
    let output = fixture.cmd().arg("checkpoint").output().unwrap();
    assert!(output.status.success(), "{:?}", output_text(&output));
    let local_checkpoint = String::from_utf8(output.stdout).unwrap();

    let server = Server::start(&fixture.ledger, &[]);
    let checkpoint = server.get("/checkpoint");
    assert_eq!(checkpoint.status, 200);
    assert!(checkpoint.header("content-type").unwrap().starts_with("text/plain"), "{checkpoint:?}");
    // Ed25519 is deterministic: the served checkpoint is the one `lianlog checkpoint` signs.
    assert_eq!(checkpoint.text(), local_checkpoint);
    assert_eq!(server.get("/healthz").text(), "ok\n");
    let metrics = server.get("/metrics");
    assert!(metrics.header("content-type").unwrap().starts_with("text/plain; version=0.0.4"), "{metrics:?}");
    assert!(metrics.text().contains(&format!("\nlianlog_tree_size {ENTRIES}\n")), "{}", metrics.text());

    // A local reader on the served directory answers from the log (readers never wait); a local
    // writer is refused at once, naming the server instead of "retry".
    let output = fixture.cmd().args(["show", "1"]).output().unwrap();
    let (_, stderr) = output_text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("answering from its log"), "{stderr}");
    let output = fixture
        .cmd()
        .args(["append", "interview", "--key"])
        .arg(&fixture.qian)
        .write_stdin(crate::common::interview_body("张三", "约谈提醒").to_string())
        .output()
        .unwrap();
    let (_, stderr) = output_text(&output);
    assert_eq!(output.status.code(), Some(6), "{stderr}");
    assert!(stderr.contains(&format!("served by `lianlog serve` at http://{}", server.address)), "{stderr}");
    assert!(stderr.contains(&format!("--server http://{}", server.address)), "{stderr}");

    assert!(server.terminate().success());
    assert!(!fixture.ledger.join("served.url").exists(), "the served note is removed on a clean stop");
    fixture.cmd().args(["show", "1"]).assert().success();
}

#[test]
fn a_note_left_by_a_killed_server_is_removed_by_the_next_writer() {
    let fixture = Fixture::build();
    Server::start(&fixture.ledger, &[]).kill();
    assert!(fixture.ledger.join("served.url").exists());
    fixture.cmd().arg("verify").assert().success();
    fixture.cmd().arg("reindex").assert().success();
    assert!(!fixture.ledger.join("served.url").exists());
}

#[test]
fn hostile_requests_are_refused_cleanly_and_the_server_goes_on() {
    let fixture = Fixture::build();
    let server = Server::start(&fixture.ledger, &["--request-timeout", "1", "--max-body-bytes", "4096"]);
    let address = server.address.clone();

    // Malformed tile paths (a bad request, named), unknown paths and methods.
    let malformed = server.get("/tile/1/x001/-1").problem(400, "BadInput", 2);
    assert!(malformed["detail"].as_str().unwrap().contains("/tile/1/x001/-1"), "{malformed}");
    server.get("/lianlog/v1/nothing").problem(404, "NotFound", 2);
    assert_eq!(server.post("/checkpoint", b"").status, 405);

    // A body over the limit, announced by its length: refused before it is read.
    let head = format!(
        "POST /lianlog/v1/append HTTP/1.1\r\nHost: {address}\r\nContent-Length: 100000000\r\nConnection: close\r\n\r\n"
    );
    parse(&raw(&address, head.as_bytes())).unwrap().problem(413, "TooLarge", 2);
    // ... and a chunked one that grows past it.
    let chunk = "x".repeat(3000);
    let chunked = format!(
        "POST /lianlog/v1/append HTTP/1.1\r\nHost: {address}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
         bb8\r\n{chunk}\r\nbb8\r\n{chunk}\r\n0\r\n\r\n"
    );
    parse(&raw(&address, chunked.as_bytes())).unwrap().problem(413, "TooLarge", 2);

    // Garbage that is not HTTP, a request line too long, too many headers: 4xx or closed.
    let garbage = raw(&address, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n");
    assert!(garbage.is_empty() || garbage.starts_with(b"HTTP/1.1 4"), "{:?}", String::from_utf8_lossy(&garbage));
    let long = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(64 * 1024));
    let answer = raw(&address, long.as_bytes());
    assert!(answer.is_empty() || answer.starts_with(b"HTTP/1.1 4"), "{:?}", String::from_utf8_lossy(&answer));
    let many_headers: String = (0..2000).map(|n| format!("X-H{n}: {n}\r\n")).collect();
    let answer = raw(&address, format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{many_headers}\r\n").as_bytes());
    assert!(answer.is_empty() || answer.starts_with(b"HTTP/1.1 4"), "{:?}", String::from_utf8_lossy(&answer));

    // Slowloris: a head never finished is cut after the request timeout (1 s here).
    let started = Instant::now();
    let answer = raw(&address, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    assert!(started.elapsed() < Duration::from_secs(10), "a slow head held the connection {:?}", started.elapsed());
    assert!(answer.is_empty() || answer.starts_with(b"HTTP/1.1 408"), "{:?}", String::from_utf8_lossy(&answer));
    // A body that never arrives: 408.
    let head = format!("POST /lianlog/v1/append HTTP/1.1\r\nHost: {address}\r\nContent-Length: 100\r\n\r\n{{\"subm");
    let started = Instant::now();
    parse(&raw(&address, head.as_bytes())).unwrap().problem(408, "Timeout", 7);
    assert!(started.elapsed() < Duration::from_secs(10));

    // Bad append bodies: refused as bad input, nothing written.
    for body in [&b""[..], b"{", b"[]", b"{\"submissions\":[]}", b"{\"submissions\":[{}]}", b"\xff\xfe"] {
        server.post("/lianlog/v1/append", body).problem(400, "BadInput", 2);
    }

    assert_eq!(server.get("/healthz").text(), "ok\n");
    let metrics = server.get("/metrics").text();
    assert!(metrics.contains("lianlog_refusals_total{code=\"TooLarge\"} 2\n"), "{metrics}");
    assert!(metrics.contains("lianlog_refusals_total{code=\"Timeout\"} 1\n"), "{metrics}");
    assert!(server.terminate().success());
    assert_eq!(fixture.log_lines().len(), ENTRIES, "nothing was written");
    fixture.cmd().arg("verify").assert().success();
}

#[test]
fn idle_connections_are_closed_so_they_cannot_hold_every_slot() {
    let fixture = Fixture::build();
    let server = Server::start(&fixture.ledger, &["--idle-timeout", "1", "--request-timeout", "30"]);
    // A keep-alive client that asks once and then sits on its connection: answered, then closed
    // by the server after the idle timeout (well before the 30 s request timeout).
    let mut stream = TcpStream::connect(&server.address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let held = started.elapsed();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 200") && text.ends_with("ok\n"), "{text}");
    assert!(held >= Duration::from_millis(900), "closed before the idle timeout: {held:?}");
    assert!(held < Duration::from_secs(10), "an idle keep-alive connection stayed open {held:?}");
    // A connection that never sends a byte is closed too.
    let mut silent = TcpStream::connect(&server.address).unwrap();
    silent.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let started = Instant::now();
    let mut nothing = Vec::new();
    let _ = silent.read_to_end(&mut nothing);
    assert!(started.elapsed() < Duration::from_secs(10), "a silent connection stayed open {:?}", started.elapsed());
    assert_eq!(server.get("/healthz").text(), "ok\n");
    assert!(server.terminate().success());
}

#[test]
fn requests_over_the_in_flight_limit_get_503_with_retry_after() {
    let fixture = Fixture::build();
    let server = Server::start(&fixture.ledger, &["--max-in-flight", "1", "--request-timeout", "3"]);
    // One request holds the only permit while its body trickles in.
    let mut slow = TcpStream::connect(&server.address).unwrap();
    slow.write_all(b"POST /lianlog/v1/append HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let reply = server.get("/healthz");
    reply.problem(503, "Busy", 6);
    assert_eq!(reply.header("retry-after"), Some("1"));
    drop(slow);
    // Once it is gone the server answers again.
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.get("/healthz").status != 200 {
        assert!(Instant::now() < deadline, "the permit was never released");
        std::thread::sleep(Duration::from_millis(50));
    }
}

mod appends {
    use std::sync::{Arc, Mutex};

    use lianlog_ledger::{Draft, Error, PublicKey, Receipt, SecretKey, Submission, Timestamp};

    use super::*;
    use crate::common::{ORIGIN, interview_body};

    fn key(path: &Path) -> SecretKey {
        SecretKey::read_file(path, &mut || Err(Error::key("the test keys are not encrypted"))).unwrap()
    }

    fn log_key(fixture: &Fixture) -> PublicKey {
        key(&fixture.ledger.join("log-key.pem")).public().clone()
    }

    /// An interview signed on the "officer's machine" by `key`.
    fn signed(key: &SecretKey, subject: &str) -> Submission {
        let draft = Draft::new("interview", interview_body(subject, "约谈提醒"));
        Submission::sign(ORIGIN, &draft, key, Timestamp::now()).unwrap()
    }

    fn post(address: &str, submissions: &[Submission]) -> std::io::Result<Reply> {
        http(address, "POST", "/lianlog/v1/append", &Submission::batch_to_json(submissions))
    }

    /// The receipts of a 200 answer, each checked offline against the log key.
    fn receipts(reply: &Reply, log_key: &PublicKey, sent: &[Submission]) -> Vec<Receipt> {
        assert_eq!(reply.status, 200, "{}", reply.text());
        let receipts = Receipt::parse_answer(&reply.body).unwrap();
        assert_eq!(receipts.len(), sent.len());
        for (receipt, submission) in receipts.iter().zip(sent) {
            receipt.check(log_key, &[] as &[PublicKey]).unwrap();
            assert!(receipt.is_for(submission), "the receipts come in the order sent");
        }
        receipts
    }

    #[test]
    fn concurrent_clients_append_each_gets_receipts_and_one_bad_request_fails_alone() {
        let fixture = Fixture::build();
        let log_key = log_key(&fixture);
        let server = Server::start(&fixture.ledger, &[]);
        let (qian, sun, auditor) = (Arc::new(key(&fixture.qian)), Arc::new(key(&fixture.sun)), key(&fixture.auditor));
        const CLIENTS: usize = 12;
        const EACH: usize = 4;
        let seqs = Arc::new(Mutex::new(Vec::new()));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|client| {
                let key = if client % 2 == 0 { qian.clone() } else { sun.clone() };
                let (address, log_key, seqs) = (server.address.clone(), log_key.clone(), seqs.clone());
                std::thread::spawn(move || {
                    for n in 0..EACH {
                        // Every third request is a batch of two, all or nothing.
                        let sent: Vec<Submission> = (0..1 + usize::from(n % 3 == 0))
                            .map(|k| signed(&key, &format!("对象{client}-{n}-{k}")))
                            .collect();
                        let reply = post(&address, &sent).unwrap();
                        let receipts = receipts(&reply, &log_key, &sent);
                        seqs.lock().unwrap().extend(receipts.iter().map(|receipt| receipt.seq));
                    }
                })
            })
            .collect();
        // Meanwhile: an auditor may not write interviews, and a batch with one such record is
        // refused whole, without failing anyone else's.
        let refused = post(&server.address, &[signed(&qian, "好"), signed(&auditor, "坏")]).unwrap();
        refused.problem(403, "Unauthorized", 3);
        for client in clients {
            client.join().unwrap();
        }
        let mut seqs = std::mem::take(&mut *seqs.lock().unwrap());
        seqs.sort_unstable();
        let appended = seqs.len();
        assert_eq!(seqs, (ENTRIES as u64..(ENTRIES + appended) as u64).collect::<Vec<_>>(), "no gaps, no repeats");

        // A replay of an acknowledged record is refused; the checkpoint covers every append.
        let again = signed(&qian, "重放");
        receipts(&post(&server.address, std::slice::from_ref(&again)).unwrap(), &log_key, std::slice::from_ref(&again));
        let replay = post(&server.address, std::slice::from_ref(&again)).unwrap();
        assert!(replay.status == 400 || replay.status == 422, "{replay:?} {}", replay.text());
        let checkpoint = server.get("/checkpoint").text();
        assert_eq!(checkpoint.lines().nth(1), Some((ENTRIES + appended + 1).to_string().as_str()), "{checkpoint}");
        let metrics = server.get("/metrics").text();
        assert!(metrics.contains(&format!("\nlianlog_appends_total {}\n", appended + 1)), "{metrics}");
        assert!(metrics.contains("lianlog_refusals_total{code=\"Unauthorized\"} 1\n"), "{metrics}");

        assert!(server.terminate().success());
        assert_eq!(fixture.log_lines().len(), ENTRIES + appended + 1);
        fixture.cmd().arg("verify").assert().success();
    }

    #[test]
    fn many_cli_clients_append_at_once_and_every_receipt_checks_offline() {
        let fixture = Fixture::build();
        let vkey = fixture.verify_json()["log_key"].as_str().unwrap().to_string();
        let server = Server::start(&fixture.ledger, &[]);
        let url = format!("http://{}", server.address);
        // Eight officers' desks at once, each `lianlog --server URL append … --receipt FILE`
        // (where the local ledger would have refused all but one with exit 6).
        let desks: Vec<_> = (0..8)
            .map(|desk| {
                let key = if desk % 2 == 0 { &fixture.qian } else { &fixture.sun };
                let receipt = fixture.root.join(format!("receipt-{desk}.jsonl"));
                let mut command = Command::new(BIN);
                command
                    .current_dir(&fixture.root)
                    .args(["--server", &url, "append", "interview", "--key"])
                    .arg(key)
                    .arg("--receipt")
                    .arg(&receipt)
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped());
                let mut child = command.spawn().unwrap();
                let body = interview_body(&format!("对象{desk}"), "约谈提醒").to_string();
                child.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
                (child, receipt)
            })
            .collect();
        for (child, receipt) in desks {
            let output = child.wait_with_output().unwrap();
            assert!(output.status.success(), "{:?}", output_text(&output));
            let checked = Command::new(BIN)
                .current_dir(&fixture.root)
                .args(["check", "inclusion", "--receipt"])
                .arg(&receipt)
                .args(["--vkey", &vkey])
                .output()
                .unwrap();
            assert!(checked.status.success(), "{:?}", output_text(&checked));
        }
        assert!(server.terminate().success());
        assert_eq!(fixture.log_lines().len(), ENTRIES + 8);
        fixture.cmd().arg("verify").assert().success();
    }

    #[test]
    fn kill_9_under_load_loses_no_acknowledged_append() {
        let fixture = Fixture::build();
        let log_key = log_key(&fixture);
        let keys = Arc::new([key(&fixture.qian), key(&fixture.sun)]);
        let acknowledged: Arc<Mutex<Vec<Receipt>>> = Arc::default();
        for round in 0..3 {
            let server = Server::start(&fixture.ledger, &[]);
            let clients: Vec<_> = (0..8)
                .map(|client| {
                    let (address, keys, log_key, acknowledged) =
                        (server.address.clone(), keys.clone(), log_key.clone(), acknowledged.clone());
                    std::thread::spawn(move || {
                        for n in 0.. {
                            let sent = [signed(&keys[client % 2], &format!("对象{round}-{client}-{n}"))];
                            // Until the server dies: a connection refused or cut is the end.
                            let Ok(reply) = post(&address, &sent) else { break };
                            if reply.status != 200 {
                                break;
                            }
                            acknowledged.lock().unwrap().extend(receipts(&reply, &log_key, &sent));
                        }
                    })
                })
                .collect();
            // Let some appends through, then SIGKILL in the middle of the load.
            let deadline = Instant::now() + Duration::from_secs(20);
            while acknowledged.lock().unwrap().len() < 20 * (round + 1) {
                assert!(Instant::now() < deadline, "no appends went through");
                std::thread::sleep(Duration::from_millis(10));
            }
            server.kill();
            for client in clients {
                client.join().unwrap();
            }
        }
        // Every acknowledged record is in the ledger, at the seq and with the hash its receipt
        // names, and the ledger verifies.
        fixture.cmd().arg("verify").assert().success();
        let lines = fixture.log_lines();
        let receipts = acknowledged.lock().unwrap();
        assert!(receipts.len() >= 60);
        for receipt in receipts.iter() {
            let line: Value = serde_json::from_slice(&lines[receipt.seq as usize]).unwrap();
            let entry_hash = lianlog_ledger::EntryHash::of_entry_bytes(&receipt.entry.canonical_bytes());
            assert_eq!(entry_hash, receipt.entry_hash);
            assert_eq!(line["entry"]["seq"], receipt.seq, "{line}");
            let output = fixture.cmd().args(["show", &receipt.seq.to_string(), "--json"]).output().unwrap();
            let shown: Value = serde_json::from_slice(&output.stdout).unwrap();
            assert_eq!(shown["entry_hash"], receipt.entry_hash.to_hex(), "{shown}");
        }
    }
}

#[test]
fn json_gives_the_address_and_url_as_one_document() {
    let fixture = Fixture::build();
    let mut child = Command::new(BIN)
        .arg("--ledger")
        .arg(&fixture.ledger)
        .args(["--json", "serve", "--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The document may span lines: read until it parses, then stop the server.
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut text = String::new();
    let document: Value = loop {
        assert!(reader.read_line(&mut text).unwrap() > 0, "no document: {text:?}");
        if let Ok(document) = serde_json::from_str(&text) {
            break document;
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    let address = document["listening"].as_str().unwrap();
    assert_eq!(document["url"], format!("http://{address}"));
}

#[test]
fn tls_files_are_checked_at_start_and_https_serves_http2() {
    let fixture = Fixture::build();
    // A key where the certificate should be: refused at start, before listening (exit 2).
    let output = fixture
        .cmd()
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(&fixture.admin)
        .arg("--tls-key")
        .arg(&fixture.admin)
        .output()
        .unwrap();
    let (stdout, stderr) = output_text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stdout.is_empty() && stderr.contains("holds no certificate"), "{stderr}");
    assert!(!fixture.ledger.join("served.url").exists());

    // With a real certificate (made by openssl) and a real client (curl), when the host has them.
    let (cert, key) = (fixture.root.join("cert.pem"), fixture.root.join("key.pem"));
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1"])
        .args(["-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    let curl = Command::new("curl").arg("--version").output().is_ok_and(|output| output.status.success());
    if !made || !curl {
        eprintln!("openssl or curl not found: the TLS handshake is not tested here");
        return;
    }
    let server =
        Server::start(&fixture.ledger, &["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(fixture.ledger.join("served.url")).unwrap().trim(),
        format!("https://{}", server.address)
    );
    let fetched = Command::new("curl")
        .args(["--silent", "--show-error", "--cacert"])
        .arg(&cert)
        .args(["--write-out", "\n%{http_version}"])
        .arg(format!("https://{}/checkpoint", server.address))
        .output()
        .unwrap();
    let (body, stderr) = output_text(&fetched);
    assert!(fetched.status.success(), "{stderr}");
    assert!(body.starts_with(crate::common::ORIGIN), "{body}");
    assert!(body.ends_with("\n2"), "HTTP/2 through ALPN: {body}");
    assert!(server.terminate().success());
}

/// An https server with the commission's own CA: a remote command trusts it with `--ca-cert` (or
/// `LIANLOG_CA_CERT`) and refuses it without, naming the certificate problem.
#[test]
fn a_server_certified_by_the_commissions_own_ca_is_trusted_with_ca_cert() {
    let fixture = Fixture::build();
    let tls = Path::new(env!("CARGO_MANIFEST_DIR")).join("../remote/tests/tls");
    let (cert, key, ca) = (tls.join("server.pem"), tls.join("server.key"), tls.join("ca.pem"));
    let server =
        Server::start(&fixture.ledger, &["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()]);
    let url = format!("https://{}", server.address);

    let untrusted =
        fixture.cmd().args(["--server", &url, "--identity"]).arg(&fixture.auditor).arg("verify").output().unwrap();
    let (_, stderr) = output_text(&untrusted);
    assert_ne!(untrusted.status.code(), Some(0), "an unknown CA is not trusted: {stderr}");
    assert!(stderr.contains("certificate"), "the refusal names the certificate: {stderr}");

    let trusted = fixture
        .cmd()
        .args(["--server", &url, "--identity"])
        .arg(&fixture.auditor)
        .arg("--ca-cert")
        .arg(&ca)
        .arg("verify")
        .output()
        .unwrap();
    let (stdout, stderr) = output_text(&trusted);
    assert_eq!(trusted.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains(&url), "{stdout}");

    let by_env = fixture
        .cmd()
        .args(["--server", &url, "--identity"])
        .arg(&fixture.auditor)
        .arg("checkpoint")
        .env("LIANLOG_CA_CERT", &ca)
        .output()
        .unwrap();
    let (stdout, stderr) = output_text(&by_env);
    assert_eq!(by_env.status.code(), Some(0), "{stderr}");
    assert!(stdout.starts_with(crate::common::ORIGIN), "{stdout}");
    assert!(server.terminate().success());
}
