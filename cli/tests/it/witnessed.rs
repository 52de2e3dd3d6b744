//! Witnessed serving (issue 15, the log side): real `lianlog witness serve` processes and a real
//! `lianlog serve --witness URL=VKEY … --witness-quorum 2` on loopback. The log publishes cosigned
//! checkpoints while appends run; `verify --server … --witness ×3 --witness-quorum 2` passes; a
//! witness killed with SIGKILL does not stop appends and the quorum holds with two; a restart
//! serves the kept witnessed checkpoint at once, and the witness back from the dead catches up
//! through a 409; an early receipt is refreshed into a cosigned one;
//! and a forked history (a copy of the ledger at size k−1, a different record appended to each
//! copy, the same log key) is refused by every witness that saw the other branch and never
//! reaches quorum.

use std::fs::File;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lianlog_ledger::PublicKey;
use lianlog_ledger::note::{Checkpoint, Note};
use serde_json::Value;

use crate::common::{Fixture, interview_body, lianlog, output_text};
use crate::serve::{Reply, http};

const BIN: &str = env!("CARGO_BIN_EXE_lianlog");
/// Long enough for a loaded CI machine; polls return as soon as the condition holds.
const DEADLINE: Duration = Duration::from_secs(60);

/// Read `listening on ADDR` from a server's first line.
fn listening(child: &mut Child) -> String {
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("{line:?}")).to_string()
}

/// Run, expect success, return stdout.
fn ok(command: &mut assert_cmd::Command) -> String {
    let output = command.output().unwrap();
    let (stdout, stderr) = output_text(&output);
    assert!(output.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    stdout
}

/// Poll `condition` until it holds or the deadline passes (then panic with `what`).
fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A witness: its key, cosigner vkey and state, and its `lianlog witness serve` process.
struct Witness {
    key: PathBuf,
    state: PathBuf,
    vkey: String,
    child: Option<Child>,
    address: String,
}

impl Witness {
    /// A new witness `name` that witnesses the fixture's log, started.
    fn new(fixture: &Fixture, name: &str, log_vkey: &str) -> Witness {
        let key = fixture.root.join(format!("{name}.pem"));
        let state = fixture.root.join(format!("{name}-state"));
        ok(lianlog().args(["key", "new", name, "--out"]).arg(&key));
        let vkey = ok(lianlog().args(["key", "show", "--cosigner"]).arg(&key)).trim().to_string();
        ok(lianlog()
            .args(["witness", "add-log", "--origin", crate::common::ORIGIN, "--vkey", log_vkey, "--state"])
            .arg(&state));
        let mut witness = Witness { key, state, vkey, child: None, address: String::new() };
        witness.start();
        witness
    }

    fn start(&mut self) {
        let mut child = Command::new(BIN)
            .args(["witness", "serve", "--listen", "127.0.0.1:0", "--key"])
            .arg(&self.key)
            .arg("--state")
            .arg(&self.state)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start lianlog witness serve");
        self.address = listening(&mut child);
        self.child = Some(child);
    }

    /// `--witness URL=VKEY` of this witness.
    fn flag(&self) -> String {
        format!("http://{}={}", self.address, self.vkey)
    }

    fn public(&self) -> PublicKey {
        PublicKey::parse_vkey(&self.vkey).unwrap()
    }

    /// SIGKILL, waited for.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The evidence files this witness kept.
    fn evidence(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.state.join("evidence"))
            .map(|dir| dir.map(|item| item.unwrap().path()).collect())
            .unwrap_or_default()
    }
}

impl Drop for Witness {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A `lianlog serve` with witnesses; its standard error kept in a file (what it reports about
/// witnesses); killed when dropped.
struct Log {
    child: Option<Child>,
    address: String,
    stderr: PathBuf,
}

impl Log {
    /// `lianlog serve` on `ledger` with `--witness FLAG` for each of `flags`.
    fn start(ledger: &Path, flags: &[String], quorum: &str, stderr: PathBuf) -> Log {
        let mut command = Command::new(BIN);
        command.arg("--ledger").arg(ledger).args(["serve", "--listen", "127.0.0.1:0"]);
        for flag in flags {
            command.args(["--witness", flag]);
        }
        let mut child = command
            .args(["--witness-quorum", quorum, "--witness-interval", "1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&stderr).unwrap())
            .spawn()
            .expect("start lianlog serve");
        let address = listening(&mut child);
        Log { child: Some(child), address, stderr }
    }

    fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    fn get(&self, path: &str) -> Reply {
        http(&self.address, "GET", path, b"").unwrap()
    }

    /// `GET /checkpoint`: its size and how many of `witnesses` cosigned it validly.
    fn served(&self, log_key: &PublicKey, witnesses: &[PublicKey]) -> (u64, usize) {
        let reply = self.get("/checkpoint");
        assert_eq!(reply.status, 200, "{}", reply.text());
        size_and_cosigners(&reply.text(), log_key, witnesses)
    }

    fn metrics(&self) -> String {
        self.get("/metrics").text()
    }

    /// SIGTERM, waited for.
    #[allow(unsafe_code)] // std's Child::kill sends SIGKILL; a graceful stop needs SIGTERM.
    fn terminate(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            assert!(child.wait().unwrap().success());
        }
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn size_and_cosigners(note: &str, log_key: &PublicKey, witnesses: &[PublicKey]) -> (u64, usize) {
    let size = Checkpoint::parse_text(&Note::parse(note).unwrap().text).unwrap().size;
    (size, lianlog_ledger::witnessing::cosigned_by(note, log_key, witnesses))
}

/// `lianlog --server URL append interview --key KEY [--receipt FILE]`.
fn append_remote(fixture: &Fixture, url: &str, subject: &str, receipt: Option<&Path>) {
    let mut command = lianlog();
    command.current_dir(&fixture.root).args(["--server", url, "append", "interview", "--key"]).arg(&fixture.qian);
    if let Some(receipt) = receipt {
        command.arg("--receipt").arg(receipt);
    }
    ok(command.write_stdin(interview_body(subject, "约谈提醒").to_string()));
}

/// `lianlog --json --server URL --identity AUDITOR verify --witness … --witness-quorum 2`.
fn verify_remote(fixture: &Fixture, url: &str, vkeys: &[String]) -> (Option<i32>, Value, String) {
    let mut command = lianlog();
    command.current_dir(&fixture.root).args(["--json", "--server", url, "--identity"]).arg(&fixture.auditor);
    command.arg("verify");
    for vkey in vkeys {
        command.args(["--witness", vkey]);
    }
    let output = command.args(["--witness-quorum", "2"]).output().unwrap();
    let (stdout, stderr) = output_text(&output);
    let value = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (output.status.code(), value, format!("{stdout}{stderr}"))
}

fn log_vkey(fixture: &Fixture) -> (String, PublicKey) {
    let vkey = fixture.verify_json()["log_key"].as_str().unwrap().to_string();
    let public = PublicKey::parse_vkey(&vkey).unwrap();
    (vkey, public)
}

#[test]
fn three_witnesses_cosign_while_appends_run_a_killed_one_leaves_a_quorum_of_two_and_receipts_refresh() {
    let fixture = Fixture::build();
    let (vkey, log_key) = log_vkey(&fixture);
    let mut witnesses: Vec<Witness> = ["witness.sjw", "witness.audit", "witness.archive"]
        .iter()
        .map(|name| Witness::new(&fixture, name, &vkey))
        .collect();
    let keys: Vec<PublicKey> = witnesses.iter().map(Witness::public).collect();
    let vkeys: Vec<String> = witnesses.iter().map(|witness| witness.vkey.clone()).collect();
    let flags: Vec<String> = witnesses.iter().map(Witness::flag).collect();
    let mut log = Log::start(&fixture.ledger, &flags, "2", fixture.root.join("serve-1.err"));
    let url = log.url();

    // Appends run while the witnesses cosign; the first keeps its (early, log-signed) receipt.
    let early = fixture.root.join("early.jsonl");
    append_remote(&fixture, &url, "张三", Some(&early));
    append_remote(&fixture, &url, "李四", None);
    append_remote(&fixture, &url, "王五", None);
    wait_for("a checkpoint of 13 entries cosigned by all three witnesses", || log.served(&log_key, &keys) == (13, 3));
    let latest = log.get("/lianlog/v1/checkpoint/latest");
    assert_eq!(size_and_cosigners(&latest.text(), &log_key, &keys).0, 13, "{}", latest.text());
    let metrics = log.metrics();
    assert!(metrics.contains("\nlianlog_witnessed_size 13\n"), "{metrics}");
    assert!(metrics.contains("lianlog_witness_cosigned_size{witness=\"witness.audit\"} 13\n"), "{metrics}");
    assert!(metrics.contains("lianlog_witness_failures_total{witness=\"witness.sjw\"} 0\n"), "{metrics}");

    let (code, report, text) = verify_remote(&fixture, &url, &vkeys);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(report["entries"], 13, "{report}");
    assert_eq!(report["server"]["cosignatures"].as_array().map(Vec::len), Some(3), "{report}");

    // The early receipt: log-signed only, so a verifier requiring two witnesses refuses it; the
    // refreshed one is proved in the witnessed tree and passes.
    let witness_flags: Vec<String> = vkeys.iter().flat_map(|vkey| ["--witness".to_string(), vkey.clone()]).collect();
    let check = |file: &Path| {
        lianlog()
            .current_dir(&fixture.root)
            .args(["check", "inclusion", "--receipt"])
            .arg(file)
            .args(["--vkey", &vkey])
            .args(&witness_flags)
            .args(["--witness-quorum", "2"])
            .output()
            .unwrap()
    };
    let refused = check(&early);
    assert_eq!(refused.status.code(), Some(1), "{:?}", output_text(&refused));
    let refreshed = fixture.root.join("refreshed.jsonl");
    let stdout = ok(lianlog()
        .current_dir(&fixture.root)
        .args(["--server", &url, "--identity"])
        .arg(&fixture.qian)
        .args(["receipt", "refresh", "--receipt"])
        .arg(&early)
        .arg("--out")
        .arg(&refreshed)
        .args(["--vkey", &vkey])
        .args(&witness_flags)
        .args(["--witness-quorum", "2"]));
    assert!(stdout.contains("now proved in the tree of size 13"), "{stdout}");
    assert!(stdout.contains("cosigned by witness.sjw"), "{stdout}");
    let accepted = check(&refreshed);
    assert!(accepted.status.success(), "{:?}", output_text(&accepted));

    // SIGKILL one witness: appends go on, and two witnesses still make the quorum.
    witnesses[2].kill();
    append_remote(&fixture, &url, "赵六", None);
    append_remote(&fixture, &url, "钱七", None);
    wait_for("a checkpoint of 15 entries cosigned by the two witnesses left", || {
        log.served(&log_key, &keys) == (15, 2)
    });
    wait_for("a failure counted for the killed witness", || {
        !log.metrics().contains("lianlog_witness_failures_total{witness=\"witness.archive\"} 0\n")
    });
    let (code, report, text) = verify_remote(&fixture, &url, &vkeys);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(report["entries"], 15, "{report}");
    let reported = std::fs::read_to_string(&log.stderr).unwrap();
    assert!(reported.contains("witness witness.archive"), "{reported}");

    // A restart serves the kept witnessed checkpoint at once. The killed witness is back (its
    // state says 13; the server believes 15, the witnessed size): its 409 gives the server its
    // size, and the retry with the proof from 13 brings it to the newest checkpoint.
    log.terminate();
    assert!(fixture.ledger.join("witnessed.checkpoint").exists());
    witnesses[2].start();
    let flags: Vec<String> = witnesses.iter().map(Witness::flag).collect();
    let log = Log::start(&fixture.ledger, &flags, "2", fixture.root.join("serve-2.err"));
    let (size, cosigners) = log.served(&log_key, &keys);
    assert!(size == 15 && cosigners >= 2, "served at once after a restart: ({size}, {cosigners})");
    append_remote(&fixture, &log.url(), "孙八", None);
    wait_for("a checkpoint of 16 entries cosigned by all three again", || log.served(&log_key, &keys) == (16, 3));
    let metrics = log.metrics();
    assert!(metrics.contains("lianlog_witness_failures_total{witness=\"witness.archive\"} 0\n"), "{metrics}");

    // Offline, on the ledger itself: the receipt is refreshed against LEDGER/witnessed.checkpoint.
    drop(log);
    let offline = fixture.root.join("offline.jsonl");
    let stdout = ok(fixture
        .cmd()
        .args(["receipt", "refresh", "--receipt"])
        .arg(&early)
        .arg("--out")
        .arg(&offline)
        .args(["--vkey", &vkey])
        .args(&witness_flags)
        .args(["--witness-quorum", "3"]));
    assert!(stdout.contains("now proved in the tree of size 16"), "{stdout}");
    assert!(check(&offline).status.success());
}

#[test]
fn a_forked_history_is_refused_by_every_witness_that_saw_the_other_branch_and_never_reaches_quorum() {
    let fixture = Fixture::build();
    // The fork: a copy of the ledger at size k−1 (10), the same log key.
    let fork = fixture.copy();
    let (vkey, log_key) = log_vkey(&fixture);
    let witnesses: Vec<Witness> = ["witness.sjw", "witness.audit", "witness.archive"]
        .iter()
        .map(|name| Witness::new(&fixture, name, &vkey))
        .collect();
    let keys: Vec<PublicKey> = witnesses.iter().map(Witness::public).collect();
    let vkeys: Vec<String> = witnesses.iter().map(|witness| witness.vkey.clone()).collect();
    let flags: Vec<String> = witnesses.iter().map(Witness::flag).collect();

    // The first branch: two records, witnessed by all three.
    let mut first = Log::start(&fixture.ledger, &flags, "2", fixture.root.join("first.err"));
    append_remote(&fixture, &first.url(), "张三", None);
    append_remote(&fixture, &first.url(), "李四", None);
    wait_for("the first branch witnessed at 12 by all three", || first.served(&log_key, &keys) == (12, 3));
    first.terminate();

    // The other branch: two different records on the copy, the same size, another root.
    for subject in ["王五", "赵六"] {
        fork.append("interview", &interview_body(subject, "另一分支"), &fork.qian).success();
    }
    let second = Log::start(&fork.ledger, &flags, "2", fork.root.join("second.err"));
    wait_for("every witness to refuse the other branch", || {
        let metrics = second.metrics();
        ["witness.sjw", "witness.audit", "witness.archive"]
            .iter()
            .all(|name| !metrics.contains(&format!("lianlog_witness_failures_total{{witness=\"{name}\"}} 0\n")))
    });
    // Each witness answered 409 (it had cosigned 12, not 0) and then 422 (same size, another
    // root), and kept the refused checkpoint as evidence of the split view.
    let reported = std::fs::read_to_string(&second.stderr).unwrap();
    for witness in &witnesses {
        let name = witness.public().name().as_str().to_string();
        let line = reported
            .lines()
            .find(|line| line.contains(&format!("witness {name} ")))
            .unwrap_or_else(|| panic!("no report about {name}: {reported}"));
        assert!(line.contains(": 422 "), "{line}");
        assert_eq!(witness.evidence().len(), 1, "{name} keeps the other branch's checkpoint");
    }
    // Never witnessed: the second branch's /checkpoint carries no cosignature, and a verifier
    // requiring two of the three refuses it, naming the quorum.
    assert_eq!(second.served(&log_key, &keys), (12, 0));
    assert!(second.metrics().contains("\nlianlog_witnessed_size 0\n"));
    let (code, report, text) = verify_remote(&fork, &second.url(), &vkeys);
    assert_eq!(code, Some(1), "{text}");
    assert!(report["reason"].as_str().unwrap_or_default().contains("--witness-quorum"), "{report}");
    assert!(!fork.ledger.join("witnessed.checkpoint").exists());
    drop(second);

    // The first branch's witnessed checkpoint put beside the second branch: the server does not
    // start (it is not this ledger's tree), naming the file.
    std::fs::copy(fixture.ledger.join("witnessed.checkpoint"), fork.ledger.join("witnessed.checkpoint")).unwrap();
    let mut command = Command::new(BIN);
    command.arg("--ledger").arg(&fork.ledger).args(["serve", "--listen", "127.0.0.1:0"]);
    for flag in &flags {
        command.args(["--witness", flag]);
    }
    let mut child = command
        .args(["--witness-quorum", "2"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            panic!("lianlog serve started on a ledger beside another branch's witnessed checkpoint");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("witnessed.checkpoint") && stderr.contains("not this ledger's"), "{stderr}");
}
