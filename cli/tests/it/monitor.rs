//! `lianlog monitor` against real `lianlog serve` processes on loopback: it follows a ledger as
//! it grows; a forked ledger (a copy taken at size k−1, a different record appended to each copy,
//! the same log key) served on a second port is a split view, exit 1, with both signed
//! checkpoints kept as evidence; a rolled-back server (an older copy) and tampered hash tiles are
//! caught too; without `--once` a problem is a loud line and the monitor goes on.

use std::io::BufRead as _;
use std::path::Path;
use std::process::{Command as StdCommand, Stdio};

use serde_json::{Value, json};

use crate::common::{Fixture, interview_body, lianlog, output_text};

use crate::serve::Server as Served;

/// The fixture's log key (vkey).
fn log_vkey(fixture: &Fixture) -> String {
    fixture.verify_json()["log_key"].as_str().expect("log_key").to_string()
}

/// `lianlog --json monitor --once --server URL --vkey VKEY --state STATE`: exit code and document.
fn monitor_once(url: &str, vkey: &str, state: &Path) -> (Option<i32>, Value) {
    let output = lianlog()
        .args(["--json", "--server", url, "monitor", "--once", "--vkey", vkey, "--state"])
        .arg(state)
        .output()
        .expect("run lianlog monitor");
    let (stdout, stderr) = output_text(&output);
    let value = serde_json::from_str(&stdout)
        .unwrap_or_else(|err| panic!("monitor --json: not one JSON document ({err}):\n{stdout}\n{stderr}"));
    (output.status.code(), value)
}

/// Append one interview about `subject` to a ledger directory (no server holds it).
fn append_local(fixture: &Fixture, subject: &str) {
    fixture.append("interview", &interview_body(subject, "约谈提醒"), &fixture.qian).success();
}

/// The files of the one evidence directory in `state`.
fn evidence(state: &Path) -> (std::path::PathBuf, Vec<String>) {
    let dirs: Vec<_> = std::fs::read_dir(state.join("evidence"))
        .expect("STATE/evidence")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| !path.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    let mut files: Vec<String> = std::fs::read_dir(&dirs[0])
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    (dirs[0].clone(), files)
}

#[test]
fn follows_a_served_ledger_as_it_grows() {
    let fixture = Fixture::build();
    let vkey = log_vkey(&fixture);
    let state = fixture.root.join("monitor-state");
    let served = Served::start(&fixture.ledger, &[]);
    let (code, first) = monitor_once(&served.url, &vkey, &state);
    assert_eq!(code, Some(0), "{first}");
    assert_eq!(
        (first["ok"].clone(), first["progress"].clone(), first["size"].clone()),
        (json!(true), json!("first"), json!(10))
    );
    // Grow the served ledger (records signed here, sent to the server).
    let body = interview_body("赵七", "提醒谈话").to_string();
    lianlog()
        .args(["--server", &served.url, "append", "interview", "--key"])
        .arg(&fixture.qian)
        .write_stdin(body)
        .assert()
        .success();
    let (code, second) = monitor_once(&served.url, &vkey, &state);
    assert_eq!(code, Some(0), "{second}");
    assert_eq!(
        (second["progress"].clone(), second["from"].clone(), second["size"].clone()),
        (json!("grew"), json!(10), json!(11))
    );
    assert!(second["hash_tiles"].as_u64().unwrap() >= 1, "{second}");
    // The state keeps the last verified checkpoint, and the text output says it plainly.
    let kept = std::fs::read_to_string(state.join("checkpoint")).unwrap();
    assert!(kept.starts_with(&format!("{}\n11\n", crate::common::ORIGIN)), "{kept}");
    let output = lianlog()
        .args(["--server", &served.url, "monitor", "--once", "--vkey", &vkey, "--state"])
        .arg(&state)
        .output()
        .unwrap();
    let (stdout, stderr) = output_text(&output);
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("监测正常 ok") && stdout.contains("unchanged"), "{stdout}");
    // Without --server it says what it needs; a wrong key type is bad input.
    let output = lianlog().args(["monitor", "--once", "--vkey", &vkey, "--state"]).arg(&state).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{:?}", output_text(&output));
}

#[test]
fn a_forked_ledger_served_elsewhere_is_a_split_view_with_evidence() {
    let fixture = Fixture::build();
    let vkey = log_vkey(&fixture);
    let state = fixture.root.join("monitor-state");
    // Two copies from size 10, each going its own way with the same log key.
    let fork = fixture.copy();
    append_local(&fixture, "张三");
    append_local(&fork, "李四");
    append_local(&fork, "王五");
    {
        let served = Served::start(&fixture.ledger, &[]);
        let (code, seen) = monitor_once(&served.url, &vkey, &state);
        assert_eq!((code, seen["size"].clone()), (Some(0), json!(11)), "{seen}");
    }
    let forked = Served::start(&fork.ledger, &[]);
    let (code, found) = monitor_once(&forked.url, &vkey, &state);
    assert_eq!(code, Some(1), "{found}");
    assert_eq!(found["ok"], json!(false));
    assert_eq!(found["misbehaviour"], json!("split-view"), "{found}");
    let (dir, files) = evidence(&state);
    assert_eq!(files, ["README.txt", "new.checkpoint", "old.checkpoint", "proof.txt"]);
    assert_eq!(found["evidence"], json!(dir), "{found}");
    let old = std::fs::read_to_string(dir.join("old.checkpoint")).unwrap();
    let new = std::fs::read_to_string(dir.join("new.checkpoint")).unwrap();
    assert!(old.contains("\n11\n") && new.contains("\n12\n"), "{old}\n{new}");
    let readme = std::fs::read_to_string(dir.join("README.txt")).unwrap();
    assert!(readme.contains("SPLIT VIEW") && readme.contains("上级纪委监委") && readme.contains(&vkey), "{readme}");
    // Both checkpoints carry the log's signature; the consistency check between them fails.
    let output = lianlog()
        .args(["check", "consistency"])
        .arg(dir.join("proof.txt"))
        .arg("--old")
        .arg(dir.join("old.checkpoint"))
        .arg("--new")
        .arg(dir.join("new.checkpoint"))
        .args(["--vkey", &vkey])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{:?}", output_text(&output));
    // The state still holds the first branch: the same fork again is the same evidence.
    assert!(std::fs::read_to_string(state.join("checkpoint")).unwrap().contains("\n11\n"));
    let (code, again) = monitor_once(&forked.url, &vkey, &state);
    assert_eq!((code, again["evidence"].clone()), (Some(1), json!(dir)));
    // Running continuously, the problem is a loud line and the monitor goes on.
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("lianlog"))
        .args(["--server", &forked.url, "monitor", "--interval", "1", "--vkey", &vkey, "--state"])
        .arg(&state)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    for _ in 0..2 {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        lines.push(line);
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(lines.iter().all(|line| line.contains("!!! 监测告警 MISBEHAVIOUR (split-view)")), "{lines:?}");
}

#[test]
fn a_rolled_back_server_and_tampered_tiles_are_caught() {
    let fixture = Fixture::build();
    let vkey = log_vkey(&fixture);
    let older = fixture.copy();
    append_local(&fixture, "张三");
    append_local(&fixture, "李四");
    // A rollback: the newer ledger seen first, then an older copy served.
    let state = fixture.root.join("monitor-rollback");
    {
        let served = Served::start(&fixture.ledger, &[]);
        assert_eq!(monitor_once(&served.url, &vkey, &state).0, Some(0));
    }
    {
        let served = Served::start(&older.ledger, &[]);
        let (code, found) = monitor_once(&served.url, &vkey, &state);
        assert_eq!((code, found["misbehaviour"].clone()), (Some(1), json!("rollback")), "{found}");
        let (_, files) = evidence(&state);
        assert_eq!(files, ["README.txt", "new.checkpoint", "old.checkpoint"]);
    }
    // Tampered tiles: leaf 0 of the stored tree (the first hash of index/merkle.bin) changed
    // after the monitor saw size 12; the served tiles no longer give the signed root.
    let state = fixture.root.join("monitor-tiles");
    {
        let served = Served::start(&fixture.ledger, &[]);
        assert_eq!(monitor_once(&served.url, &vkey, &state).0, Some(0));
    }
    append_local(&fixture, "王五");
    let nodes = fixture.ledger.join("index").join("merkle.bin");
    let mut bytes = std::fs::read(&nodes).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&nodes, bytes).unwrap();
    let served = Served::start(&fixture.ledger, &[]);
    let (code, found) = monitor_once(&served.url, &vkey, &state);
    assert_eq!((code, found["misbehaviour"].clone()), (Some(1), json!("tile-mismatch")), "{found}");
    assert!(found["message"].as_str().unwrap().contains("hash tiles"), "{found}");
}

/// `--witness … --witness-quorum K` on the verifiers: the output names every witness named, who
/// cosigned and how many were required (`"witnesses"` in `--json`), on `check consistency`,
/// `verify --checkpoint`, `snapshot verify --checkpoint` (an archive's own checkpoint, cosigned
/// apart) and `verify --server` (the served checkpoint must carry them).
#[test]
fn verifiers_name_the_witnesses_required_and_who_cosigned() {
    let fixture = Fixture::build();
    let vkey = log_vkey(&fixture);
    let text_of = |command: &mut assert_cmd::Command| {
        let output = command.output().unwrap();
        assert!(output.status.success(), "{:?}", output_text(&output));
        String::from_utf8(output.stdout).unwrap()
    };
    let file = |name: &str, contents: &str| {
        let path = fixture.root.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    };
    let cp5 = file("cp5", &text_of(fixture.cmd().args(["checkpoint", "--size", "5"])));
    let cp10 = file("cp10", &text_of(fixture.cmd().arg("checkpoint")));
    let proof = file("c5-10", &text_of(fixture.cmd().args(["prove", "consistency", "5", "10"])));
    // Three witnesses; two of them (A, B) cosign both checkpoints, each with its own memory.
    let mut vkeys = Vec::new();
    let (mut cosigned5, mut cosigned10) =
        (std::fs::read_to_string(&cp5).unwrap(), std::fs::read_to_string(&cp10).unwrap());
    for (index, name) in ["sjw.witness", "audit.witness", "archive.witness"].iter().enumerate() {
        let key = fixture.root.join(format!("{name}.pem"));
        lianlog().args(["key", "new", name, "--out"]).arg(&key).assert().success();
        vkeys.push(text_of(lianlog().args(["key", "show", "--cosigner"]).arg(&key)).trim().to_string());
        if index == 2 {
            continue;
        }
        let state = fixture.root.join(format!("{name}-state"));
        let cosign = |note: &str, extra: &[&std::ffi::OsStr]| {
            let input = file("to-cosign", note);
            text_of(
                lianlog()
                    .args(["checkpoint", "cosign"])
                    .arg(&input)
                    .arg("--key")
                    .arg(&key)
                    .args(["--vkey", &vkey])
                    .arg("--state")
                    .arg(&state)
                    .args(extra),
            )
        };
        cosigned5 = cosign(&cosigned5, &[]);
        cosigned10 = cosign(&cosigned10, &["--proof".as_ref(), proof.as_os_str()]);
    }
    let cosigned5 = file("cp5.cosigned", &cosigned5);
    let cosigned10 = file("cp10.cosigned", &cosigned10);
    let witnesses: Vec<&str> = vkeys.iter().flat_map(|v| ["--witness", v.as_str()]).collect();
    let quorum = |k: &'static str| -> Vec<&str> { witnesses.iter().copied().chain(["--witness-quorum", k]).collect() };
    let expected = |value: &Value| {
        assert_eq!((value["required"].clone(), value["cosigned"].clone()), (json!(2), json!(2)), "{value}");
        let named: Vec<(String, bool)> = value["named"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| (w["name"].as_str().unwrap().to_string(), w["cosigned"].as_bool().unwrap()))
            .collect();
        assert_eq!(
            named,
            [("sjw.witness".into(), true), ("audit.witness".into(), true), ("archive.witness".into(), false)]
        );
    };
    let json_of = |command: &mut assert_cmd::Command| -> Value { serde_json::from_str(&text_of(command)).unwrap() };

    // check consistency: old and new.
    let mut command = lianlog();
    command.args(["--json", "check", "consistency"]).arg(&proof).arg("--old").arg(&cosigned5).arg("--new");
    let value = json_of(command.arg(&cosigned10).args(["--vkey", &vkey]).args(quorum("2")));
    expected(&value["old_witnesses"]);
    expected(&value["new_witnesses"]);
    let mut command = lianlog();
    command.args(["check", "consistency"]).arg(&proof).arg("--old").arg(&cosigned5).arg("--new");
    let text = text_of(command.arg(&cosigned10).args(["--vkey", &vkey]).args(quorum("2")));
    assert!(
        text.contains("witnesses 见证: 2 of 3 named cosigned") && text.contains("未见证: archive.witness"),
        "{text}"
    );
    // verify --checkpoint.
    let value = json_of(fixture.cmd().args(["--json", "verify", "--checkpoint"]).arg(&cosigned10).args(quorum("2")));
    expected(&value["checkpoints"][0]["witnesses"]);
    // snapshot verify --checkpoint: the archive ends at 10, and its checkpoint is the one cosigned.
    let archives = fixture.root.join("archives");
    fixture.cmd().args(["snapshot", "create", "--out"]).arg(&archives).assert().success();
    let archive = std::fs::read_dir(&archives).unwrap().next().unwrap().unwrap().path();
    let mut command = lianlog();
    command.args(["--json", "snapshot", "verify"]).arg(&archive).arg("--checkpoint").arg(&cosigned10);
    let value = json_of(command.args(quorum("2")));
    expected(&value["checkpoints"][0]["witnesses"]);
    let output = lianlog()
        .args(["snapshot", "verify"])
        .arg(&archive)
        .arg("--checkpoint")
        .arg(&cosigned10)
        .args(quorum("3"))
        .output()
        .unwrap();
    let (stdout, stderr) = output_text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("no cosignature by archive.witness"), "{stdout}");
    // A checkpoint of a size no archive ends at cannot be checked (exit 2).
    let output = lianlog().args(["snapshot", "verify"]).arg(&archive).arg("--checkpoint").arg(&cosigned5).output();
    assert_eq!(output.unwrap().status.code(), Some(2));
    // verify --server: the served checkpoint (no witness configured) lacks the cosignatures.
    let served = Served::start(&fixture.ledger, &[]);
    let output = lianlog()
        .args(["--json", "--server", &served.url, "--identity"])
        .arg(&fixture.auditor)
        .args(["verify", "--vkey", &vkey])
        .args(quorum("1"))
        .output()
        .unwrap();
    let (stdout, stderr) = output_text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    let value: Value = serde_json::from_str(&stdout).unwrap();
    assert!(value["reason"].as_str().unwrap().contains("the server's checkpoint"), "{value}");
    // Without witnesses named, "witnesses" is null and the served cosignatures (none) are listed.
    let mut command = lianlog();
    command.args(["--json", "--server", &served.url, "--identity"]).arg(&fixture.auditor);
    let value = json_of(command.args(["verify", "--vkey", &vkey]));
    assert_eq!(
        (value["server"]["witnesses"].clone(), value["server"]["cosignatures"].clone()),
        (json!(null), json!([]))
    );
}
