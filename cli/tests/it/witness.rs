//! The witness (见证方): `lianlog witness serve` as a real process on a loopback port, driven
//! with requests written from C2SP tlog-witness (every status code and body), its cosignatures
//! against vectors computed independently (tests/tools/cosignature_vectors.py), the offline
//! `checkpoint cosign` with its memory, and a witness killed with SIGKILL during add-checkpoint
//! that never cosigns a conflicting checkpoint after restart.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lianlog_ledger::encoding::base64;
use lianlog_ledger::merkle::{self, CompactRange, Hash};
use lianlog_ledger::note::{self, Checkpoint, Note};
use lianlog_ledger::witness::{AddRequest, Answer, Witness, origin_hash};
use lianlog_ledger::{KeyName, PublicKey, SecretKey};
use tempfile::TempDir;

use crate::common::{Fixture, lianlog, output_text};
use crate::crash::Rng;

const BIN: &str = env!("CARGO_BIN_EXE_lianlog");
const ORIGIN: &str = "jw.example.gov.cn/witnessed";
const WITNESS: &str = "sjw.example.gov.cn/witness";
/// Leaves of the fork differ from leaf 1 on.
const FORK: u64 = 1;
const NEVER: u64 = u64::MAX;

fn log_key() -> SecretKey {
    SecretKey::from_seed(KeyName::parse(ORIGIN).unwrap(), &[5; 32])
}

/// Every node of a tree whose leaf `i` is `a<i>` before `fork_at` and `b<i>` from there on.
struct Tree(HashMap<(u8, u64), Hash>);

impl merkle::NodeStore for Tree {
    type Error = ();
    fn node(&self, level: u8, index: u64) -> Result<Hash, ()> {
        self.0.get(&(level, index)).copied().ok_or(())
    }
}

impl Tree {
    fn new(size: u64, fork_at: u64) -> Tree {
        let mut range = CompactRange::new();
        let mut nodes = HashMap::new();
        for i in 0..size {
            let leaf = merkle::leaf_hash(format!("{}{i}", if i < fork_at { "a" } else { "b" }).as_bytes());
            nodes.extend(range.push(leaf).unwrap());
        }
        Tree(nodes)
    }

    /// The log's signed checkpoint of the first `size` leaves.
    fn checkpoint(&self, size: u64) -> String {
        let root = merkle::root(size, self).unwrap();
        note::sign_checkpoint(&Checkpoint { origin: ORIGIN.into(), size, root }, &log_key()).unwrap()
    }

    /// An add-checkpoint body as the spec writes it: `old N`, proof lines, empty line, note.
    fn request(&self, old: u64, size: u64) -> String {
        let proof =
            if old == 0 || old == size { Vec::new() } else { merkle::consistency_proof(old, size, self).unwrap() };
        let lines: String = proof.iter().map(|hash| format!("{}\n", base64(hash))).collect();
        format!("old {old}\n{lines}\n{}", self.checkpoint(size))
    }
}

/// An HTTP answer: status, content type, body.
#[derive(Debug)]
struct Reply {
    status: u16,
    content_type: String,
    body: String,
}

/// One HTTP/1.1 request on a new connection (`Connection: close`), read to the end.
fn http(address: &str, method: &str, path: &str, body: &[u8]) -> std::io::Result<Reply> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    // A server may answer (413) before reading the whole body and close: not an error here.
    let _ = stream.write_all(body);
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) =
        text.split_once("\r\n\r\n").ok_or_else(|| std::io::Error::other(format!("no HTTP answer: {text:?}")))?;
    let status =
        head.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| std::io::Error::other(head.to_string()))?;
    let content_type = head
        .lines()
        .find_map(|line| line.to_ascii_lowercase().strip_prefix("content-type: ").map(str::to_string))
        .unwrap_or_default();
    Ok(Reply { status, content_type, body: body.to_string() })
}

/// A running `lianlog witness serve`; killed (SIGKILL) when dropped.
struct Server {
    child: Child,
    address: String,
}

impl Server {
    fn start(state: &Path, key: &Path) -> Server {
        let mut child = Command::new(BIN)
            .args(["witness", "serve", "--listen", "127.0.0.1:0", "--key"])
            .arg(key)
            .arg("--state")
            .arg(state)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start lianlog witness serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let address = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("{line:?}")).to_string();
        Server { child, address }
    }

    fn post(&self, body: impl AsRef<[u8]>) -> Reply {
        http(&self.address, "POST", "/add-checkpoint", body.as_ref()).unwrap()
    }

    /// SIGTERM, and the exit status.
    fn terminate(mut self) -> std::process::ExitStatus {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A temporary directory with a witness key file and a state directory witnessing ORIGIN.
struct Setup {
    _temp: TempDir,
    root: PathBuf,
    key: PathBuf,
    state: PathBuf,
    /// The witness's cosigner vkey (type 0x04).
    cosigner: PublicKey,
}

fn setup() -> Setup {
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path().to_path_buf();
    let key = root.join("witness.pem");
    lianlog().args(["key", "new", WITNESS, "--out"]).arg(&key).assert().success();
    let shown = lianlog().args(["key", "show", "--cosigner"]).arg(&key).output().unwrap();
    let cosigner = PublicKey::parse_vkey(String::from_utf8(shown.stdout).unwrap().trim()).unwrap();
    let state = root.join("state");
    lianlog()
        .args(["witness", "add-log", "--origin", ORIGIN, "--vkey", &log_key().public().vkey(), "--state"])
        .arg(&state)
        .assert()
        .success();
    Setup { _temp: temp, root, key, state, cosigner }
}

/// Python 3 with `cryptography`, or `None` (the caller says what it skipped).
fn python() -> Option<&'static str> {
    let ok = Command::new("python3").args(["-c", "import cryptography"]).output().is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("SKIPPED: python3 with the `cryptography` package is not available");
    }
    ok.then_some("python3")
}

fn vectors_tool() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/tools/cosignature_vectors.py")
}

fn seconds_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// Every answer of tlog-witness `add-checkpoint`, status, content type and body, from a real
/// server; then the monitoring endpoint, a graceful stop, and the memory across the restart.
#[test]
fn add_checkpoint_answers_every_case_of_the_spec() {
    let setup = setup();
    let server = Server::start(&setup.state, &setup.key);
    let tree = Tree::new(12, NEVER);
    let fork = Tree::new(12, FORK);
    let plain = "text/plain; charset=utf-8";

    // 404: a checkpoint of an origin this witness does not witness.
    let stranger = SecretKey::from_seed(KeyName::parse("other.example/log").unwrap(), &[6; 32]);
    let empty = base64(&merkle::empty_root());
    let other = note::sign_note(&format!("other.example/log\n0\n{empty}\n"), &stranger).unwrap();
    let reply = server.post(format!("old 0\n\n{other}"));
    assert_eq!((reply.status, reply.content_type.as_str()), (404, plain), "{reply:?}");
    assert!(reply.body.contains("other.example/log"), "{reply:?}");

    // 403: no signature by the trusted key (another key of the same name), and a trusted key's
    // signature that does not verify (signed-note calls such a note malformed).
    let impostor = SecretKey::from_seed(KeyName::parse(ORIGIN).unwrap(), &[7; 32]);
    let text = Note::parse(&tree.checkpoint(5)).unwrap().text;
    let reply = server.post(format!("old 0\n\n{}", note::sign_note(&text, &impostor).unwrap()));
    assert_eq!((reply.status, reply.content_type.as_str()), (403, plain), "{reply:?}");
    let mut bad = Note::parse(&tree.checkpoint(5)).unwrap();
    bad.signatures[0].bytes[20] ^= 1;
    // With the good signature beside it, too: a bad line by a trusted key rejects the note.
    let good = Note::parse(&tree.checkpoint(5)).unwrap().signatures[0].clone();
    bad.signatures.push(good);
    assert_eq!(server.post(format!("old 0\n\n{bad}")).status, 403);

    // 400: old larger than the checkpoint's size; malformed requests.
    let reply = server.post(format!("old 6\n\n{}", tree.checkpoint(5)));
    assert_eq!((reply.status, reply.content_type.as_str()), (400, plain), "{reply:?}");
    for body in [
        format!("old 00\n\n{}", tree.checkpoint(5)),
        format!("old 0\r\n\r\n{}", tree.checkpoint(5)),
        format!("old 0\n{}", tree.checkpoint(5)),
        format!("old 0\nnot base64\n\n{}", tree.checkpoint(5)),
        format!("old 0\n{}\n{}", format!("{empty}\n").repeat(64), tree.checkpoint(5)),
        "old 0\n\nno note here\n".to_string(),
    ] {
        assert_eq!(server.post(&body).status, 400, "{body:?}");
    }

    // 422: a size-0 checkpoint without the empty tree's root; a proof with old size 0.
    let zero = note::sign_note(&format!("{ORIGIN}\n0\n{}\n", base64(&[1; 32])), &log_key()).unwrap();
    let reply = server.post(format!("old 0\n\n{zero}"));
    assert_eq!((reply.status, reply.content_type.as_str()), (422, plain), "{reply:?}");
    assert_eq!(server.post(format!("old 0\n{empty}\n\n{}", tree.checkpoint(5))).status, 422);

    // 200: the first checkpoint, from nothing. One line per witness key, ending in a newline.
    let before = seconds_now();
    let reply = server.post(tree.request(0, 5));
    assert_eq!((reply.status, reply.content_type.as_str()), (200, plain), "{reply:?}");
    assert!(reply.body.starts_with(&format!("\u{2014} {WITNESS} ")), "{reply:?}");
    assert_eq!(reply.body.matches('\n').count(), 1, "{reply:?}");
    assert!(reply.body.ends_with('\n'));
    // Concatenated to the checkpoint, the lines are a cosignature by the witness's 0x04 key.
    let cosigned = format!("{}{}", tree.checkpoint(5), reply.body);
    let opened = note::open_checkpoint(&cosigned, log_key().public(), std::slice::from_ref(&setup.cosigner)).unwrap();
    let timestamp = opened.cosignatures[0].timestamp;
    assert!(timestamp >= before && timestamp <= seconds_now(), "{timestamp}");
    if let Some(python) = python() {
        // And independently of lianlog's verifier.
        let file = setup.root.join("cosigned");
        std::fs::write(&file, &cosigned).unwrap();
        let output = Command::new(python)
            .arg(vectors_tool())
            .args(["--verify", &setup.cosigner.vkey()])
            .arg(&file)
            .output()
            .unwrap();
        let (stdout, stderr) = output_text(&output);
        assert!(output.status.success() && stdout.starts_with("ok: 1 cosignatures"), "{stdout}{stderr}");
    }

    // 409: old is not the size last cosigned (5), whether 0, smaller or larger; body `5\n`.
    for old in [0, 3, 6] {
        let reply = server.post(tree.request(old, 8));
        assert_eq!((reply.status, reply.content_type.as_str(), reply.body.as_str()), (409, "text/x.tlog.size", "5\n"));
    }

    // 422: a proof that does not verify; the same size with another root; a fork's proof.
    let mut wrong = AddRequest::parse(tree.request(5, 8).as_bytes()).unwrap();
    wrong.proof[1][7] ^= 1;
    assert_eq!(server.post(wrong.to_text()).status, 422);
    let reply = server.post(format!("old 5\n\n{}", fork.checkpoint(5)));
    assert_eq!((reply.status, reply.content_type.as_str()), (422, plain), "{reply:?}");
    assert!(reply.body.contains("two different trees of size 5"), "{reply:?}");
    assert_eq!(server.post(fork.request(5, 8)).status, 422);
    // A proof with old = size (there is nothing to prove).
    assert_eq!(server.post(format!("old 5\n{empty}\n\n{}", tree.checkpoint(5))).status, 422);

    // 200 with a consistency proof, and the same checkpoint again.
    assert_eq!(server.post(tree.request(5, 8)).status, 200);
    assert_eq!(server.post(tree.request(8, 8)).status, 200);

    // A body over the limit: refused before it is read whole.
    let huge = vec![b'o'; lianlog_ledger::limits::MAX_WITNESS_REQUEST_BYTES + 1];
    assert_eq!(server.post(&huge).status, 413);
    // Only POST.
    assert_eq!(http(&server.address, "GET", "/add-checkpoint", b"").unwrap().status, 405);

    // The monitoring endpoint: the last cosigned checkpoint with both signatures; 404 otherwise.
    let reply = http(&server.address, "GET", &format!("/{}/checkpoint", origin_hash(ORIGIN)), b"").unwrap();
    assert_eq!(reply.status, 200, "{reply:?}");
    let latest = note::open_checkpoint(&reply.body, log_key().public(), std::slice::from_ref(&setup.cosigner)).unwrap();
    assert_eq!(latest.checkpoint.size, 8);
    let reply = http(&server.address, "GET", &format!("/{}/checkpoint", origin_hash("nobody")), b"").unwrap();
    assert_eq!(reply.status, 404);

    // A log added while serving is witnessed at once; a removed one is unknown.
    let second = SecretKey::from_seed(KeyName::parse("second.example/log").unwrap(), &[8; 32]);
    lianlog()
        .args(["witness", "add-log", "--origin", "second.example/log", "--vkey", &second.public().vkey(), "--state"])
        .arg(&setup.state)
        .assert()
        .success();
    let second_empty = note::sign_note(&format!("second.example/log\n0\n{empty}\n"), &second).unwrap();
    assert_eq!(server.post(format!("old 0\n\n{second_empty}")).status, 200);
    lianlog()
        .args(["witness", "remove", "--origin", "second.example/log", "--state"])
        .arg(&setup.state)
        .assert()
        .success();
    assert_eq!(server.post(format!("old 0\n\n{second_empty}")).status, 404);

    // SIGTERM: a graceful stop (exit 0); restarted, it remembers size 8.
    assert!(server.terminate().success());
    let server = Server::start(&setup.state, &setup.key);
    let reply = server.post(tree.request(0, 12));
    assert_eq!((reply.status, reply.body.as_str()), (409, "8\n"));
    assert_eq!(server.post(tree.request(8, 12)).status, 200);
    let output = lianlog().args(["--json", "witness", "list", "--state"]).arg(&setup.state).output().unwrap();
    let list: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let log = list.as_array().unwrap().iter().find(|log| log["origin"] == ORIGIN).unwrap();
    assert_eq!(log["size"], 12, "{list}");
    assert_eq!(
        list.as_array().unwrap().iter().find(|log| log["origin"] == "second.example/log").unwrap()["witnessed"],
        false
    );
}

/// One cosignature line per `--key`, each valid; the same key twice is refused at start.
#[test]
fn one_cosignature_line_per_witness_key() {
    let setup = setup();
    let second = setup.root.join("second.pem");
    lianlog().args(["key", "new", "audit.example.gov.cn/witness", "--out"]).arg(&second).assert().success();
    let shown = lianlog().args(["key", "show", "--cosigner"]).arg(&second).output().unwrap();
    let second_vkey = PublicKey::parse_vkey(String::from_utf8(shown.stdout).unwrap().trim()).unwrap();
    let mut child = Command::new(BIN)
        .args(["witness", "serve", "--listen", "127.0.0.1:0", "--key"])
        .arg(&setup.key)
        .arg("--key")
        .arg(&second)
        .arg("--state")
        .arg(&setup.state)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let server = Server { child, address: line.trim().strip_prefix("listening on ").unwrap().to_string() };
    let tree = Tree::new(3, NEVER);
    let reply = server.post(tree.request(0, 3));
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body.lines().count(), 2, "{reply:?}");
    let cosigned = format!("{}{}", tree.checkpoint(3), reply.body);
    let both = [setup.cosigner.clone(), second_vkey];
    assert_eq!(note::open_checkpoint(&cosigned, log_key().public(), &both).unwrap().cosignatures.len(), 2);
    drop(server);
    let output = lianlog()
        .args(["witness", "serve", "--listen", "127.0.0.1:0", "--key"])
        .arg(&setup.key)
        .arg("--key")
        .arg(&setup.key)
        .arg("--state")
        .arg(&setup.state)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("is given twice"));
}

/// lianlog's cosignatures are byte for byte those of an independent implementation
/// (tests/tools/cosignature_vectors.py, checked in as tests/vectors/cosignature.json), made by the
/// witness rule itself; and the checked-in file is what the tool prints, when Python is here.
#[test]
fn cosignatures_match_independent_vectors() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/cosignature.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let vectors: serde_json::Value = serde_json::from_str(&text).unwrap();
    let vectors = vectors.as_array().unwrap();
    assert_eq!(vectors.len(), 3);
    let seed = |value: &serde_json::Value| -> [u8; 32] {
        lianlog_ledger::encoding::parse_hex::<32>(value.as_str().unwrap()).unwrap()
    };
    for vector in vectors {
        let name = |field: &str| KeyName::parse(vector[field].as_str().unwrap()).unwrap();
        let log = SecretKey::from_seed(name("log_name"), &seed(&vector["log_seed"]));
        let witness_key = SecretKey::from_seed(name("witness_name"), &seed(&vector["witness_seed"])).as_cosigner();
        assert_eq!(log.public().vkey(), vector["log_vkey"].as_str().unwrap());
        assert_eq!(witness_key.public().vkey(), vector["witness_vkey"].as_str().unwrap());
        let note_text = vector["note"].as_str().unwrap();
        let timestamp = vector["timestamp"].as_u64().unwrap();
        let expected = vector["cosignature"].as_str().unwrap();
        // The log signature is the independent one too: lianlog signs the same text alike.
        let text = Note::parse(note_text).unwrap().text;
        assert_eq!(note::sign_note(&text, &log).unwrap(), note_text);
        // Through the witness rule, from a fresh state (old 0).
        let temp = tempfile::tempdir().unwrap();
        let witness = Witness::create(&temp.path().join("state")).unwrap();
        witness.add_log(log.name().as_str(), log.public()).unwrap();
        let answer = witness
            .add_checkpoint(format!("old 0\n\n{note_text}").as_bytes(), std::slice::from_ref(&witness_key), timestamp)
            .unwrap();
        let Answer::Cosigned { lines, .. } = &answer else { panic!("{answer:?}") };
        assert_eq!(lines, &[expected.to_string()], "{}", vector["log_name"]);
        assert_eq!(answer.body(), format!("{expected}\n"));
        // The message the vector says is signed is the one that verifies.
        let value = lianlog_ledger::encoding::parse_base64(expected.rsplit(' ').next().unwrap()).unwrap();
        assert_eq!(&value[4..12], &timestamp.to_be_bytes());
        let mut id_and_signature = value[..4].to_vec();
        id_and_signature.extend_from_slice(&value[12..]);
        witness_key
            .public()
            .verify_signature_value(vector["message"].as_str().unwrap().as_bytes(), &base64(&id_and_signature))
            .unwrap();
    }
    let Some(python) = python() else { return };
    let output = Command::new(python).arg(vectors_tool()).output().unwrap();
    assert!(output.status.success());
    assert_eq!(String::from_utf8(output.stdout).unwrap(), text, "tests/vectors/cosignature.json is stale");
}

/// `checkpoint cosign` is the witness rule offline: the log key is required and must have signed;
/// a larger checkpoint needs the consistency proof; a smaller one, or another root for a size it
/// cosigned, is refused (exit 1) — and `witness serve` on the same state remembers it all.
#[test]
fn offline_cosign_keeps_the_witness_memory() {
    let fixture = Fixture::build();
    let vkey = fixture.verify_json()["log_key"].as_str().unwrap().to_string();
    let key = fixture.root.join("archive.pem");
    lianlog().args(["key", "new", "archive.office", "--out"]).arg(&key).assert().success();
    let state = fixture.root.join("archive-witness");
    let write = |name: &str, contents: &[u8]| {
        let path = fixture.root.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    };
    let cp6 = write("cp6", &fixture.cmd().args(["checkpoint", "--size", "6"]).output().unwrap().stdout);
    let cp10 = write("cp10", &fixture.cmd().arg("checkpoint").output().unwrap().stdout);
    let proof = write("p6-10", &fixture.cmd().args(["prove", "consistency", "6", "10"]).output().unwrap().stdout);
    let cosign = |file: &Path, extra: &[&str]| {
        let output = lianlog()
            .args(["checkpoint", "cosign"])
            .arg(file)
            .arg("--key")
            .arg(&key)
            .arg("--state")
            .arg(&state)
            .args(extra)
            .output()
            .unwrap();
        let (stdout, stderr) = output_text(&output);
        (output.status.code(), stdout, stderr)
    };
    // No --vkey: a usage error.
    assert_eq!(cosign(&cp6, &[]).0, Some(2));
    // Another log key: refused (exit 1), nothing cosigned.
    let other_key = fixture.root.join("other.pem");
    lianlog().args(["key", "new", crate::common::ORIGIN, "--out"]).arg(&other_key).assert().success();
    let other = String::from_utf8(lianlog().args(["key", "show"]).arg(&other_key).output().unwrap().stdout).unwrap();
    let (code, _, stderr) = cosign(&cp6, &["--vkey", other.trim()]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("no signature from a trusted key"), "{stderr}");
    // The first cosignature: accepted, the key trusted from now on.
    let (code, stdout, stderr) = cosign(&cp6, &["--vkey", &vkey]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.starts_with(&std::fs::read_to_string(&cp6).unwrap()) && stdout.contains("\u{2014} archive.office "));
    // Larger without the proof: refused, saying how to make it; with it: accepted.
    let (code, _, stderr) = cosign(&cp10, &["--vkey", &vkey]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("lianlog prove consistency 6 10"), "{stderr}");
    let (code, stdout, stderr) = cosign(&cp10, &["--vkey", &vkey, "--proof", proof.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stderr}");
    let cosigned10 = write("cp10.cosigned", stdout.as_bytes());
    let archive =
        String::from_utf8(lianlog().args(["key", "show", "--cosigner"]).arg(&key).output().unwrap().stdout).unwrap();
    fixture
        .cmd()
        .arg("verify")
        .arg("--checkpoint")
        .arg(&cosigned10)
        .args(["--cosigner", archive.trim()])
        .assert()
        .success();
    // Smaller: refused. Another root for size 10, signed by the (stolen) log key: refused.
    let (code, _, stderr) = cosign(&cp6, &["--vkey", &vkey]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("already cosigned size 10"), "{stderr}");
    let log_key = SecretKey::read_file(&fixture.ledger.join("log-key.pem"), &mut || unreachable!()).unwrap();
    let forged =
        note::sign_checkpoint(&Checkpoint { origin: crate::common::ORIGIN.into(), size: 10, root: [3; 32] }, &log_key)
            .unwrap();
    let (code, _, stderr) = cosign(&write("forged10", forged.as_bytes()), &["--vkey", &vkey]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("two different trees of size 10"), "{stderr}");
    // A bad log signature: refused.
    let tampered = std::fs::read_to_string(&cp10).unwrap().replace("\n10\n", "\n11\n");
    assert_eq!(cosign(&write("tampered", tampered.as_bytes()), &["--vkey", &vkey]).0, Some(1));
    // The same state served: it answers 409 with size 10.
    let server = Server::start(&state, &key);
    let reply = server.post(format!("old 0\n\n{}", std::fs::read_to_string(&cp6).unwrap()));
    assert_eq!((reply.status, reply.body.as_str()), (409, "10\n"));
    let listed = lianlog().args(["witness", "list", "--state"]).arg(&state).output().unwrap();
    assert!(String::from_utf8_lossy(&listed.stdout).contains("cosigned size 10"));
}

/// A witness killed with SIGKILL at random moments while a client sends add-checkpoint requests
/// (so often during one) never cosigns, after its restart, anything conflicting with what it
/// answered 200 for: its size never goes below the last acknowledged one, a fork is refused at
/// that size and beyond, and the stored checkpoint is a valid one of the log. `LIANLOG_CRASH_SEED`
/// replays a run.
#[test]
fn sigkill_during_add_checkpoint_never_leads_to_a_conflicting_cosignature() {
    let setup = setup();
    let seed = std::env::var("LIANLOG_CRASH_SEED").ok().and_then(|s| s.parse::<u64>().ok()).unwrap_or(0x5eed_0f15);
    eprintln!("witness kill test: seed {seed}");
    let mut rng = Rng(seed);
    const LEAVES: u64 = 2000;
    let tree = std::sync::Arc::new(Tree::new(LEAVES, NEVER));
    let fork = Tree::new(LEAVES, FORK);
    let started = Instant::now();
    let (mut believed, mut kills, mut cut) = (0u64, 0, 0);
    while kills < 40 && started.elapsed() < Duration::from_secs(40) && believed + 200 < LEAVES {
        let server = Server::start(&setup.state, &setup.key);
        let address = server.address.clone();
        let client_tree = tree.clone();
        let mut client_rng = Rng(rng.next() | 1);
        // The client: larger checkpoints one after the other, adopting the size on 409.
        let client = std::thread::spawn(move || {
            let (mut believed, mut acked, mut interrupted) = (believed, None, false);
            for _ in 0..50 {
                let next = believed + 1 + client_rng.below(4);
                match http(&address, "POST", "/add-checkpoint", client_tree.request(believed, next).as_bytes()) {
                    Ok(reply) if reply.status == 200 => {
                        believed = next;
                        acked = Some(next);
                    }
                    Ok(reply) if reply.status == 409 => believed = reply.body.trim().parse().unwrap(),
                    Ok(reply) => panic!("unexpected answer {reply:?}"),
                    // Refused: the witness was already dead. Anything else: killed mid-request.
                    Err(err) => {
                        interrupted = err.kind() != std::io::ErrorKind::ConnectionRefused;
                        break;
                    }
                }
            }
            (acked, interrupted)
        });
        std::thread::sleep(Duration::from_micros(rng.below(30_000)));
        drop(server); // SIGKILL
        kills += 1;
        let (acked, interrupted) = client.join().unwrap();
        cut += usize::from(interrupted);
        let acked = acked.unwrap_or(believed);

        // Restarted: the state is at least the acknowledged size, and it is the log's tree.
        let server = Server::start(&setup.state, &setup.key);
        let reply = server.post(tree.request(acked, acked));
        let stored = match reply.status {
            200 => acked,
            409 => reply.body.trim().parse::<u64>().unwrap(),
            _ => panic!("after a kill: {reply:?}"),
        };
        assert!(stored >= acked, "seed {seed}: the witness went back from {acked} to {stored}");
        // A fork at the stored size, or growing from it with the fork's own proof: refused.
        if stored > FORK {
            let reply = server.post(format!("old {stored}\n\n{}", fork.checkpoint(stored)));
            assert_eq!(reply.status, 422, "seed {seed}: {reply:?}");
            assert_eq!(server.post(fork.request(stored, stored + 3)).status, 422, "seed {seed}");
        }
        // Smaller than what it cosigned: refused.
        if stored > 0 {
            let smaller = format!("old {stored}\n\n{}", tree.checkpoint(stored - 1));
            assert_eq!(server.post(smaller).status, 400, "seed {seed}");
        }
        // What it keeps is the log's signed checkpoint of that size, with its cosignature.
        let kept = http(&server.address, "GET", &format!("/{}/checkpoint", origin_hash(ORIGIN)), b"").unwrap();
        if stored > 0 {
            let opened =
                note::open_checkpoint(&kept.body, log_key().public(), std::slice::from_ref(&setup.cosigner)).unwrap();
            assert_eq!(opened.checkpoint.size, stored, "seed {seed}");
        }
        believed = stored;
    }
    eprintln!("witness kill test: {kills} kills, {cut} during a request, reached size {believed}");
    assert!(kills >= 10, "only {kills} kills");
}
