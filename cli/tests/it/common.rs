//! Shared fixture of the CLI integration tests: a ledger built with the real `lianlog` binary on
//! real files in a temporary directory, and helpers to look at (and tamper with) its log.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::{Value, json};
use tempfile::TempDir;

pub const ORIGIN: &str = "jw.example.gov.cn/accountability";

/// Number of entries in a freshly built fixture.
pub const ENTRIES: usize = 10;

/// The `lianlog` binary under test.
pub fn lianlog() -> Command {
    Command::cargo_bin("lianlog").expect("the lianlog binary is built by cargo test")
}

/// Stdout and stderr of a finished command, as text.
pub fn output_text(output: &std::process::Output) -> (String, String) {
    (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// A ledger and the key files of its people, all inside one temporary directory.
///
/// The ledger built by [`Fixture::build`] holds these entries:
///
/// | seq | kind             | author       | about |
/// | --- | ---------------- | ------------ | ----- |
/// | 0   | ledger.genesis   | admin.zhao   | |
/// | 1   | key.grant        | admin.zhao   | officer.qian, officer |
/// | 2   | key.grant        | admin.zhao   | officer.sun, officer |
/// | 3   | key.grant        | admin.zhao   | auditor.li, auditor |
/// | 4   | report.received  | officer.qian | R-2025-001, 张三 |
/// | 5   | interview        | officer.qian | 张三 (R-2025-001) |
/// | 6   | interview        | officer.sun  | 王五 |
/// | 7   | report.received  | officer.qian | R-2025-002, 刘六 (import) |
/// | 8   | interview        | officer.qian | 刘六 (import) |
/// | 9   | report.concluded | officer.sun  | R-2025-001 |
pub struct Fixture {
    _temp: TempDir,
    /// The temporary directory holding everything.
    pub root: PathBuf,
    /// The ledger directory (`root/ledger`).
    pub ledger: PathBuf,
    pub admin: PathBuf,
    pub qian: PathBuf,
    pub sun: PathBuf,
    pub auditor: PathBuf,
}

/// A person as record bodies name them.
pub fn person(id: &str, name: &str, unit: &str) -> Value {
    json!({"id": id, "name": name, "unit": unit})
}

/// An interview body (约谈) of `subject` by officer 钱干事, with Chinese text.
pub fn interview_body(subject: &str, reason: &str) -> Value {
    json!({
        "interview_type": "accountability_interview",
        "subjects": [person("P-1001", subject, "市住建局")],
        "interviewers": [person("P-0101", "钱干事", "第一监督检查室")],
        "held_on": "2025-03-10",
        "reason": reason,
        "requirements": ["一个月内报送整改方案", "紧盯管人管钱管审批等环节廉政风险"],
    })
}

/// A report (问题线索) received about `subject`.
pub fn report_body(report_id: &str, subject: &str, summary: &str) -> Value {
    json!({
        "report_id": report_id,
        "subjects": [person("P-1001", subject, "市住建局")],
        "source": "petition",
        "summary": summary,
        "received_on": "2025-03-02",
    })
}

impl Fixture {
    /// Keys and an empty place for a ledger (no `init` yet).
    pub fn keys_only() -> Fixture {
        let temp = tempfile::tempdir().expect("temporary directory");
        let root = temp.path().to_path_buf();
        let fixture = Fixture {
            ledger: root.join("ledger"),
            admin: root.join("admin.zhao.pem"),
            qian: root.join("officer.qian.pem"),
            sun: root.join("officer.sun.pem"),
            auditor: root.join("auditor.li.pem"),
            root,
            _temp: temp,
        };
        for (name, path) in [
            ("admin.zhao", &fixture.admin),
            ("officer.qian", &fixture.qian),
            ("officer.sun", &fixture.sun),
            ("auditor.li", &fixture.auditor),
        ] {
            lianlog().args(["key", "new", name, "--out"]).arg(path).assert().success();
        }
        fixture
    }

    /// The ten-entry ledger described on [`Fixture`].
    pub fn build() -> Fixture {
        let fixture = Fixture::keys_only();
        fixture
            .cmd()
            .args(["init", "--origin", ORIGIN, "--key"])
            .arg(&fixture.admin)
            .args(["--holder-name", "赵主任", "--holder-unit", "市纪委监委", "--holder-title", "常委"])
            .assert()
            .success();
        fixture.grant(&fixture.qian, "officer", "钱干事", "第一监督检查室");
        fixture.grant(&fixture.sun, "officer", "孙干事", "第二监督检查室");
        fixture.grant(&fixture.auditor, "auditor", "李审计", "审计室");
        let report =
            report_body("R-2025-001", "张三", "反映其履行全面从严治党主体责任不力，对工程项目廉政风险监管不严");
        fixture.append("report.received", &report, &fixture.qian).success();
        let mut interview = interview_body("张三", "工程项目监管中苗头性、倾向性问题，约谈提醒");
        interview["report_id"] = json!("R-2025-001");
        fixture.append("interview", &interview, &fixture.qian).success();
        fixture.append("interview", &interview_body("王五", "述责述廉中反映的问题，提醒谈话"), &fixture.sun).success();
        let import = [
            json!({"kind": "report.received", "body": report_body("R-2025-002", "刘六", "反映其违反中央八项规定精神，公款吃喝")}),
            json!({"kind": "interview", "body": interview_body("刘六", "就反映问题进行谈话函询")}),
        ];
        let lines: String = import.iter().map(|line| format!("{line}\n")).collect();
        fixture.cmd().args(["import", "-", "--key"]).arg(&fixture.qian).write_stdin(lines).assert().success();
        let conclusion = json!({
            "report_id": "R-2025-001",
            "finding": "substantiated",
            "disposition": "给予党内严重警告处分",
            "concluded_on": "2025-05-20",
        });
        fixture.append("report.concluded", &conclusion, &fixture.sun).success();
        assert_eq!(fixture.log_lines().len(), ENTRIES, "the fixture ledger has {ENTRIES} entries");
        fixture
    }

    /// `lianlog --ledger LEDGER`, ready for a subcommand.
    pub fn cmd(&self) -> Command {
        let mut command = lianlog();
        command.arg("--ledger").arg(&self.ledger);
        command
    }

    /// `lianlog key grant` of the key in `key_file` with one role, signed by the admin.
    pub fn grant(&self, key_file: &Path, role: &str, name: &str, unit: &str) {
        let vkey = self.vkey(key_file);
        self.cmd()
            .args(["key", "grant", &vkey, "--role", role, "--holder-name", name, "--holder-unit", unit, "--key"])
            .arg(&self.admin)
            .assert()
            .success();
    }

    /// The vkey of a key file (`lianlog key show`).
    pub fn vkey(&self, key_file: &Path) -> String {
        let output = lianlog().args(["key", "show"]).arg(key_file).output().expect("run lianlog key show");
        assert!(output.status.success(), "key show {}: {:?}", key_file.display(), output_text(&output));
        String::from_utf8(output.stdout).expect("UTF-8").trim().to_string()
    }

    /// `lianlog append KIND --key KEY` with `body` on standard input.
    pub fn append(&self, kind: &str, body: &Value, key: &Path) -> assert_cmd::assert::Assert {
        self.cmd().args(["append", kind, "--key"]).arg(key).write_stdin(body.to_string()).assert()
    }

    /// A copy of the whole fixture (keys, ledger, derived store) in a new temporary directory.
    pub fn copy(&self) -> Fixture {
        let temp = tempfile::tempdir().expect("temporary directory");
        let root = temp.path().to_path_buf();
        copy_dir(&self.root, &root);
        let moved = |path: &Path| root.join(path.strip_prefix(&self.root).expect("inside the fixture"));
        Fixture {
            ledger: moved(&self.ledger),
            admin: moved(&self.admin),
            qian: moved(&self.qian),
            sun: moved(&self.sun),
            auditor: moved(&self.auditor),
            root,
            _temp: temp,
        }
    }

    /// The ledger's one log segment (a small ledger never fills a second one).
    pub fn segment(&self) -> PathBuf {
        let segments: Vec<PathBuf> = std::fs::read_dir(self.ledger.join("log"))
            .expect("LEDGER/log")
            .map(|item| item.expect("directory entry").path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "jsonl"))
            .collect();
        assert_eq!(segments.len(), 1, "one segment in {segments:?}");
        segments.into_iter().next().unwrap_or_default()
    }

    /// The stored lines of the log, without their newlines.
    pub fn log_lines(&self) -> Vec<Vec<u8>> {
        let bytes = std::fs::read(self.segment()).expect("read the segment");
        assert_eq!(bytes.last(), Some(&b'\n'), "the segment ends with a newline");
        bytes[..bytes.len() - 1].split(|&b| b == b'\n').map(<[u8]>::to_vec).collect()
    }

    /// Replace the log with these lines (each gets its newline back).
    pub fn write_log_lines(&self, lines: &[Vec<u8>]) {
        let mut bytes = Vec::new();
        for line in lines {
            bytes.extend_from_slice(line);
            bytes.push(b'\n');
        }
        std::fs::write(self.segment(), bytes).expect("write the segment");
    }

    /// Change the log in place: `change` gets the lines and may edit, delete or reorder them.
    pub fn tamper(&self, change: impl FnOnce(&mut Vec<Vec<u8>>)) {
        let mut lines = self.log_lines();
        change(&mut lines);
        self.write_log_lines(&lines);
    }

    /// Remove the derived store (`LEDGER/index`).
    pub fn remove_index(&self) {
        std::fs::remove_dir_all(self.ledger.join("index")).expect("remove LEDGER/index");
    }

    /// Every file under `LEDGER/log`, by name, with its bytes.
    pub fn log_files(&self) -> BTreeMap<String, Vec<u8>> {
        std::fs::read_dir(self.ledger.join("log"))
            .expect("LEDGER/log")
            .map(|item| {
                let path = item.expect("directory entry").path();
                let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
                (name, std::fs::read(&path).expect("read a log file"))
            })
            .collect()
    }

    /// `lianlog verify --json`, which must succeed.
    pub fn verify_json(&self) -> Value {
        let output = self.cmd().args(["--json", "verify"]).output().expect("run lianlog verify");
        assert!(output.status.success(), "verify failed: {:?}", output_text(&output));
        serde_json::from_slice(&output.stdout).expect("verify --json prints JSON")
    }

    /// The log's files and the verified head: what a refused command must leave as it was.
    pub fn state(&self) -> LedgerState {
        let report = self.verify_json();
        LedgerState { files: self.log_files(), head: report["head"].clone(), entries: report["entries"].clone() }
    }

    /// `lianlog verify` must fail (exit code 1) and name `seq`. Returns stdout and stderr.
    pub fn assert_verify_fails_at(&self, seq: usize) -> String {
        let output = self.cmd().arg("verify").output().expect("run lianlog verify");
        let (stdout, stderr) = output_text(&output);
        assert_eq!(output.status.code(), Some(1), "verify must fail; stdout: {stdout}\nstderr: {stderr}");
        let place = format!("seq {seq} (line {})", seq + 1);
        assert!(stdout.contains("verification FAILED"), "stdout: {stdout}\nstderr: {stderr}");
        assert!(stdout.contains(&place), "expected {place:?} in stdout: {stdout}\nstderr: {stderr}");
        format!("{stdout}{stderr}")
    }
}

/// See [`Fixture::state`].
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerState {
    pub files: BTreeMap<String, Vec<u8>>,
    pub head: Value,
    pub entries: Value,
}

/// Copy a directory tree (file modes are copied with the files, so key files stay 0600).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the copy");
    for item in std::fs::read_dir(from).expect("read directory") {
        let item = item.expect("directory entry");
        let target = to.join(item.file_name());
        if item.file_type().expect("file type").is_dir() {
            copy_dir(&item.path(), &target);
        } else {
            std::fs::copy(item.path(), &target).expect("copy a file");
        }
    }
}

/// Position of the first occurrence of `needle` in `haystack` at or after `from`.
pub fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack.get(from..)?.windows(needle.len()).position(|window| window == needle).map(|i| i + from)
}

/// Position just after `key` (e.g. `"sig":"`) in a line; panics if absent.
pub fn value_start(line: &[u8], key: &str) -> usize {
    find(line, key.as_bytes(), 0).unwrap_or_else(|| panic!("{key} in {}", String::from_utf8_lossy(line))) + key.len()
}
