//! C2SP tlog-tiles over HTTP (`lianlog serve`): tiles and bundles byte for byte against an
//! independent implementation (`tests/tools/tiles.py`, RFC 6962 by definition), malformed paths
//! refused, entry bundles behind a signature unless `--public-entries`, and `verify --server`:
//! equal to local `verify`, and failing on a server that serves a tampered tile, bundle or body.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::common::{Fixture, interview_body, output_text};
use crate::serve::{Server, http};

/// The fixture plus `extra` interviews (one import), and a redaction of seq 6: more than one
/// bundle and a level-1 tile when `extra` > 246.
fn ledger(extra: usize) -> Fixture {
    let fixture = Fixture::build();
    let lines: String = (0..extra)
        .map(|n| format!("{}\n", json!({"kind": "interview", "body": interview_body(&format!("张{n}"), "提醒谈话")})))
        .collect();
    fixture.cmd().args(["import", "-", "--key"]).arg(&fixture.qian).write_stdin(lines).assert().success();
    fixture.cmd().args(["redact", "6", "--reason", "含个人敏感信息", "--key"]).arg(&fixture.admin).assert().success();
    fixture
}

/// The resources `tests/tools/tiles.py` computes for the ledger's export, or `None` without Python.
fn independent_tiles(fixture: &Fixture) -> Option<BTreeMap<String, Vec<u8>>> {
    if !Command::new("python3").arg("--version").output().is_ok_and(|o| o.status.success()) {
        eprintln!("SKIPPED: python3 is not available for the independent tiles");
        return None;
    }
    let export = fixture.root.join("export.jsonl");
    fixture.cmd().args(["export", "--out"]).arg(&export).assert().success();
    let tool = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/tools/tiles.py");
    let output = Command::new("python3").arg(tool).arg(&export).output().unwrap();
    assert!(output.status.success(), "{:?}", output_text(&output));
    let map: BTreeMap<String, String> = serde_json::from_slice(&output.stdout).unwrap();
    Some(map.into_iter().map(|(path, hex)| (path, decode_hex(&hex))).collect())
}

fn decode_hex(hex: &str) -> Vec<u8> {
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn tiles_and_bundles_equal_an_independent_rfc_6962_implementation() {
    let fixture = ledger(250);
    let Some(expected) = independent_tiles(&fixture) else { return };
    // 261 entries: two bundles, a full and a partial level-0 tile, a partial level-1 tile.
    let paths: Vec<&str> = expected.keys().map(String::as_str).collect();
    assert_eq!(paths, ["tile/0/000", "tile/0/001.p/5", "tile/1/000.p/1", "tile/entries/000", "tile/entries/001.p/5"]);
    let server = Server::start(&fixture.ledger, &["--public-entries"]);
    for (path, bytes) in &expected {
        let reply = server.get(&format!("/{path}"));
        assert_eq!(reply.status, 200, "{path}: {}", reply.text());
        assert_eq!(&reply.body, bytes, "{path} differs from the independent implementation");
        assert_eq!(reply.header("content-type"), Some("application/octet-stream"), "{path}");
        assert_eq!(reply.header("cache-control"), Some("public, max-age=31536000, immutable"), "{path}");
    }
    // A partial tile narrower than the newest one is a prefix of it (served too: tiles are immutable).
    assert_eq!(server.get("/tile/0/001.p/2").body, expected["tile/0/001.p/5"][..64]);
    let checkpoint = server.get("/checkpoint");
    assert!(checkpoint.text().contains("\n261\n"), "{}", checkpoint.text());
}

#[test]
fn malformed_and_missing_tile_paths_are_refused_and_entries_need_a_signature() {
    let fixture = Fixture::build();
    let server = Server::start(&fixture.ledger, &[]);
    for path in [
        "/tile/1/x001/-1",
        "/tile/0/000.p/0",
        "/tile/0/000.p/256",
        "/tile/01/000",
        "/tile/0/000.p/09",
        "/tile/64/000",
        "/tile/0/x000/000",
        "/tile/0/00",
        "/tile/0/000/",
        "/tile/entries/x1/000",
        "/tile/0/%30%30%30",
        "/lianlog/v1/bodies/000.p/x",
    ] {
        let reply = server.get(path);
        let problem = reply.problem(400, "BadInput", 2);
        assert!(problem["detail"].as_str().unwrap().contains("tile path"), "{path}: {problem}");
    }
    for path in ["/tile/0/000", "/tile/0/000.p/11", "/tile/1/000.p/1", "/tile/8/000.p/1", "/tile/63/000"] {
        let problem = server.get(path).problem(404, "NotFound", 2);
        assert!(problem["detail"].as_str().unwrap().contains("does not exist"), "{path}: {problem}");
    }
    let tile = server.get("/tile/0/000.p/10");
    assert_eq!((tile.status, tile.body.len()), (200, 320));
    // Entries and bodies are signed reads; hash tiles are not.
    server.get("/tile/entries/000.p/10").problem(401, "Unauthenticated", 3);
    server.get("/lianlog/v1/bodies/000.p/10").problem(401, "Unauthenticated", 3);
    drop(server);
    let open = Server::start(&fixture.ledger, &["--public-entries"]);
    assert_eq!(open.get("/tile/entries/000.p/10").status, 200);
    let bodies = open.get("/lianlog/v1/bodies/000.p/10");
    assert_eq!(bodies.header("content-type"), Some("application/jsonl"));
    // Genesis and the three grants, whole; no other body.
    let lines: Vec<Value> = bodies.text().lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(lines.len(), 4);
    assert!(lines.iter().all(|line| line["entry"]["record"]["kind"].as_str().unwrap().starts_with(['l', 'k'])));
}

/// `lianlog verify --json` on the ledger (local) or `--server URL` (remote), parsed.
fn verify_json(fixture: &Fixture, extra: &[&str]) -> (bool, Value) {
    let output = fixture.cmd().args(["--json", "verify"]).args(extra).output().unwrap();
    let (stdout, stderr) = output_text(&output);
    let value: Value = serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{stdout} {stderr}"));
    (output.status.success(), value)
}

#[test]
fn remote_verify_equals_local_verify() {
    let fixture = ledger(250);
    let vkey = {
        let checkpoint = fixture.cmd().arg("checkpoint").output().unwrap();
        assert!(checkpoint.status.success());
        std::fs::write(fixture.root.join("old.checkpoint"), &checkpoint.stdout).unwrap();
        let report = fixture.verify_json();
        report["log_key"].as_str().unwrap().to_string()
    };
    let (ok, local) = verify_json(&fixture, &[]);
    assert!(ok, "{local}");
    let export = fixture.root.join("without-bodies.jsonl");
    fixture.cmd().args(["export", "--without-bodies", "--out"]).arg(&export).assert().success();
    let (ok, file) = verify_json(&fixture, &["--file", export.to_str().unwrap()]);
    assert!(ok, "{file}");

    let server = Server::start(&fixture.ledger, &[]);
    let url = format!("http://{}", server.address);
    let auditor = fixture.auditor.to_str().unwrap();
    let old = fixture.root.join("old.checkpoint");
    let (ok, remote) = verify_json(
        &fixture,
        &["--server", &url, "--identity", auditor, "--vkey", &vkey, "--checkpoint", old.to_str().unwrap()],
    );
    assert!(ok, "{remote}");
    for field in ["entries", "head", "root", "origin", "log_key"] {
        assert_eq!(remote[field], local[field], "{field}: remote {remote} local {local}");
    }
    // Bodies are never fetched: the report is that of the export without bodies.
    for field in ["withheld", "redactions"] {
        assert_eq!(remote[field], file[field], "{field}: remote {remote} file {file}");
    }
    assert_eq!(remote["source"], url);
    assert_eq!(remote["checkpoints"][0]["consistent"], true);
    assert_eq!(
        remote["server"],
        json!({"checkpoint_size": 261, "entry_bundles": 2, "bodies": 2, "hash_tiles": 3, "cosignatures": [], "witnesses": null}),
        "{remote}"
    );
    // Without an identity, the server refuses the entries: exit 3, nothing verified.
    let output = fixture.cmd().args(["verify", "--server", &url]).output().unwrap();
    assert_eq!(output.status.code(), Some(3), "{:?}", output_text(&output));
    // The text report names the server's part.
    let output = fixture.cmd().args(["verify", "--server", &url, "--identity", auditor]).output().unwrap();
    let (stdout, stderr) = output_text(&output);
    assert!(output.status.success(), "{stdout} {stderr}");
    assert!(stdout.contains("2 entry bundles") && stdout.contains("3 hash tiles"), "{stdout}");
}

/// A server that answers every GET from a fixed map of paths (one connection per request).
struct Fake {
    address: String,
    _stop: Arc<std::sync::atomic::AtomicBool>,
}

impl Fake {
    fn serve(resources: BTreeMap<String, Vec<u8>>) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                let _ = reader.read_line(&mut request);
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                        break;
                    }
                }
                let path = request.split(' ').nth(1).unwrap_or("/").trim_start_matches('/');
                let (status, body) = match resources.get(path) {
                    Some(body) => ("200 OK", body.clone()),
                    None => ("404 Not Found", b"{}".to_vec()),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
            }
        });
        Fake { address, _stop: stop }
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self._stop.store(true, std::sync::atomic::Ordering::Relaxed);
        // Wake the accept loop so that the thread ends.
        let _ = std::net::TcpStream::connect(&self.address);
    }
}

#[test]
fn remote_verify_catches_a_server_serving_a_tampered_tile_bundle_or_body() {
    let fixture = ledger(250);
    let server = Server::start(&fixture.ledger, &["--public-entries"]);
    let mut resources = BTreeMap::new();
    for path in [
        "checkpoint",
        "tile/0/000",
        "tile/0/001.p/5",
        "tile/1/000.p/1",
        "tile/entries/000",
        "tile/entries/001.p/5",
        "lianlog/v1/bodies/000",
        "lianlog/v1/bodies/001.p/5",
    ] {
        let reply = http(&server.address, "GET", &format!("/{path}"), b"").unwrap();
        assert_eq!(reply.status, 200, "{path}: {}", reply.text());
        resources.insert(path.to_string(), reply.body);
    }
    drop(server);
    let verify = |resources: BTreeMap<String, Vec<u8>>| {
        let fake = Fake::serve(resources);
        let output = fixture.cmd().args(["verify", "--server", &format!("http://{}", fake.address)]).output().unwrap();
        let (stdout, stderr) = output_text(&output);
        (output.status.code(), format!("{stdout}{stderr}"))
    };
    // The copy as served verifies.
    let (code, text) = verify(resources.clone());
    assert_eq!(code, Some(0), "{text}");

    let tampered = |path: &str, change: &dyn Fn(&mut Vec<u8>)| {
        let mut copy = resources.clone();
        change(copy.get_mut(path).unwrap());
        verify(copy)
    };
    let (code, text) = tampered("tile/0/000", &|bytes| bytes[32 * 40] ^= 1);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("hash tile tile/0/000 differs") && text.contains("seq 40"), "{text}");
    let (code, text) = tampered("tile/1/000.p/1", &|bytes| bytes[5] ^= 1);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("tile/1/000.p/1 differs"), "{text}");
    // An entry changed inside a bundle: its record's signature no longer verifies.
    let (code, text) = tampered("tile/entries/001.p/5", &|bytes| {
        let at = bytes.windows(9).position(|w| w == b"\"created\"").unwrap();
        bytes[at + 20] = if bytes[at + 20] == b'1' { b'2' } else { b'1' };
    });
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("seq 256"), "{text}");
    // A grant's body changed: its body hash no longer matches.
    let (code, text) = tampered("lianlog/v1/bodies/000", &|bytes| {
        let text = String::from_utf8(bytes.clone()).unwrap().replacen("钱干事", "钱千事", 1);
        *bytes = text.into_bytes();
    });
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("seq 1"), "{text}");
    // A checkpoint over another root: the log key's signature does not cover it.
    let (code, text) = tampered("checkpoint", &|bytes| {
        let at = bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').nth(1).unwrap().0 + 1;
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    });
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("the server's checkpoint"), "{text}");
}
