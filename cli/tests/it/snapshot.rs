//! `lianlog snapshot …`, `--archive` and `--as-of` with the real binary on real files.

use std::path::{Path, PathBuf};

use crate::common::{self, Fixture, interview_body, lianlog, output_text, report_body};
use serde_json::{Value, json};

fn archives_in(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|item| item.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(".tar"))
        .collect();
    paths.sort();
    paths
}

/// `lianlog snapshot create --out DIR [ARGS]`, which must succeed; returns stdout.
fn create(f: &Fixture, out: &Path, args: &[&str]) -> String {
    let output = f.cmd().args(["snapshot", "create", "--out"]).arg(out).args(args).output().unwrap();
    let (stdout, stderr) = output_text(&output);
    assert!(output.status.success(), "snapshot create {args:?}: {stdout}{stderr}");
    stdout
}

/// `lianlog snapshot verify ARCHIVES`: exit code and stdout.
fn verify(archives: &[PathBuf]) -> (Option<i32>, String) {
    let output = lianlog().args(["snapshot", "verify"]).args(archives).output().unwrap();
    let (stdout, stderr) = output_text(&output);
    assert!(!stderr.contains("panicked"), "{stderr}");
    (output.status.code(), stdout)
}

fn append_interview(f: &Fixture, subject: &str) {
    f.append("interview", &interview_body(subject, "提醒谈话"), &f.qian).success();
}

/// A fixture with a full archive and three incrementals (appends between) in `root/archives`.
fn archived() -> (Fixture, PathBuf) {
    let f = Fixture::build();
    let out = f.root.join("archives");
    create(&f, &out, &[]);
    for round in 0..3 {
        append_interview(&f, &format!("赵{round}"));
        append_interview(&f, &format!("钱{round}"));
        create(&f, &out, &["--since", "latest"]);
    }
    (f, out)
}

#[test]
fn archives_restore_a_ledger_that_verifies_and_goes_on() {
    let (f, out) = archived();
    let paths = archives_in(&out);
    assert_eq!(paths.len(), 4, "{paths:?}");
    let original = f.verify_json();

    let (code, stdout) = verify(&paths);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("an unbroken sequence") && stdout.contains("taken from genesis"), "{stdout}");
    let vkey = original["log_key"].as_str().unwrap().to_string();
    let output = lianlog().args(["--json", "snapshot", "verify", "--vkey", &vkey]).args(&paths).output().unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!((report["ok"].clone(), report["log_key_pinned"].clone()), (json!(true), json!(true)));
    assert_eq!(report["root"], original["root"]);

    let listed = lianlog().args(["snapshot", "list"]).arg(&out).output().unwrap();
    let (stdout, _) = output_text(&listed);
    assert!(stdout.contains("an unbroken sequence from seq 0 to 15 in 4 archive(s)"), "{stdout}");

    // Ordinary tools list the members.
    if let Ok(listing) = std::process::Command::new("tar").arg("-tf").arg(&paths[0]).output()
        && listing.status.success()
    {
        let names = String::from_utf8_lossy(&listing.stdout).into_owned();
        assert_eq!(names, "manifest.json\ncheckpoint\nkeys.jsonl\nentries.jsonl\n");
    }

    let into = f.root.join("restored");
    let output = lianlog()
        .args(["snapshot", "restore"])
        .args(&paths)
        .arg("--into")
        .arg(&into)
        .arg("--log-key")
        .arg(f.ledger.join("log-key.pem"))
        .output()
        .unwrap();
    let (stdout, stderr) = output_text(&output);
    assert!(output.status.success(), "restore: {stdout}{stderr}");
    let restored = lianlog().arg("--ledger").arg(&into).args(["--json", "verify"]).output().unwrap();
    assert!(restored.status.success(), "{:?}", output_text(&restored));
    let restored: Value = serde_json::from_slice(&restored.stdout).unwrap();
    for field in ["root", "head", "entries", "log_key"] {
        assert_eq!(restored[field], original[field], "{field}");
    }
    // The restored ledger accepts appends and signs checkpoints with the restored log key.
    let mut command = lianlog();
    command.arg("--ledger").arg(&into).args(["append", "interview", "--key"]).arg(&f.qian);
    command.write_stdin(interview_body("孙七", "提醒谈话").to_string()).assert().success();
    lianlog().arg("--ledger").arg(&into).arg("checkpoint").assert().success();
    // A non-empty directory is refused.
    let again = lianlog()
        .args(["snapshot", "restore"])
        .args(&paths)
        .arg("--into")
        .arg(&into)
        .arg("--log-key")
        .arg(f.ledger.join("log-key.pem"))
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(output_text(&again).1.contains("not empty"));
}

#[test]
fn if_grown_waits_for_enough_new_entries() {
    let f = Fixture::build();
    let out = f.root.join("archives");
    let stdout = create(&f, &out, &["--if-grown", "5"]);
    assert!(stdout.contains("full archive"), "{stdout}");
    let stdout = create(&f, &out, &["--since", "latest", "--if-grown", "2"]);
    assert!(stdout.contains("nothing to do: the ledger grew by 0 entries"), "{stdout}");
    append_interview(&f, "周八");
    append_interview(&f, "吴九");
    let stdout = create(&f, &out, &["--since", "latest", "--if-grown", "2", "--no-compress"]);
    assert!(stdout.contains("incremental archive"), "{stdout}");
    assert!(archives_in(&out).iter().any(|p| p.to_string_lossy().ends_with("-10-12.tar")), "{:?}", archives_in(&out));
}

#[test]
fn damaged_incomplete_and_mixed_archives_are_refused_by_name() {
    let (f, out) = archived();
    let paths = archives_in(&out);
    let work = f.root.join("work");
    std::fs::create_dir_all(&work).unwrap();
    // Sorted by name: 0-10, 10-12, 12-14, 14-16.
    let name = |p: &Path| p.file_name().unwrap().to_string_lossy().into_owned();

    // A missing incremental in the middle.
    let (code, stdout) = verify(&[paths[0].clone(), paths[1].clone(), paths[3].clone()]);
    assert_eq!(code, Some(1));
    assert!(stdout.contains(&name(&paths[3])) && stdout.contains("seq 12") && stdout.contains("missing"), "{stdout}");

    // A truncated file.
    let bytes = std::fs::read(&paths[2]).unwrap();
    let cut = work.join(name(&paths[2]));
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let (code, stdout) = verify(&[paths[0].clone(), paths[1].clone(), cut.clone()]);
    assert_eq!(code, Some(1));
    assert!(stdout.contains(&cut.display().to_string()), "{stdout}");

    // One altered byte in the entries of a plain archive.
    let plain_out = f.root.join("plain");
    create(&f, &plain_out, &["--no-compress"]);
    let plain = archives_in(&plain_out).remove(0);
    let mut bytes = std::fs::read(&plain).unwrap();
    let at = common::find(&bytes, "钱干事".as_bytes(), 4096).unwrap();
    bytes[at + 3] ^= 0x01;
    let altered = work.join(name(&plain));
    std::fs::write(&altered, &bytes).unwrap();
    let (code, stdout) = verify(std::slice::from_ref(&altered));
    assert_eq!(code, Some(1));
    assert!(stdout.contains(&altered.display().to_string()) && stdout.contains("seq "), "{stdout}");

    // Archives of two ledgers (even with the same origin) mixed together.
    let other = Fixture::build();
    let other_out = other.root.join("archives");
    create(&other, &other_out, &[]);
    append_interview(&other, "郑十");
    append_interview(&other, "王十一");
    create(&other, &other_out, &["--since", "latest"]);
    let foreign = archives_in(&other_out).into_iter().find(|p| name(p).contains("-10-12")).unwrap();
    let (code, stdout) = verify(&[paths[0].clone(), foreign.clone()]);
    assert_eq!(code, Some(1));
    assert!(stdout.contains(&foreign.display().to_string()) && stdout.contains("different ledgers"), "{stdout}");
    // And a restore of mixed archives writes nothing.
    let into = f.root.join("never");
    let output = lianlog()
        .args(["snapshot", "restore"])
        .arg(&paths[0])
        .arg(&foreign)
        .arg("--into")
        .arg(&into)
        .arg("--log-key")
        .arg(f.ledger.join("log-key.pem"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(!into.exists());
}

/// A tar file of one member with a hostile name or type.
fn hostile(name: &str, flag: u8) -> Vec<u8> {
    let mut header = lianlog_tar_header(name);
    header[156] = flag;
    header[148..156].copy_from_slice(b"        ");
    let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
    header[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    let mut out = header.to_vec();
    out.extend_from_slice(&[b'x'; 4]);
    out.resize(1024, 0);
    out.extend_from_slice(&[0u8; 1024]);
    out
}

/// A ustar header of a 4-byte regular file, as GNU tar writes it.
fn lianlog_tar_header(name: &str) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(b"00000000004\0");
    h[136..148].copy_from_slice(b"00000000000\0");
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h
}

#[test]
fn hostile_archives_write_nothing() {
    let f = Fixture::build();
    let dir = f.root.join("hostile");
    std::fs::create_dir_all(&dir).unwrap();
    for (file, bytes, reason) in [
        ("dotdot.tar", hostile("../../etc/evil", b'0'), "`..`"),
        ("absolute.tar", hostile("/etc/evil", b'0'), "absolute path"),
        ("symlink.tar", hostile("manifest.json", b'2'), "symbolic link"),
    ] {
        let path = dir.join(file);
        std::fs::write(&path, bytes).unwrap();
        let into = f.root.join(format!("into-{file}"));
        let output = lianlog()
            .args(["snapshot", "restore"])
            .arg(&path)
            .arg("--into")
            .arg(&into)
            .arg("--log-key")
            .arg(f.ledger.join("log-key.pem"))
            .output()
            .unwrap();
        let (stdout, stderr) = output_text(&output);
        assert_eq!(output.status.code(), Some(1), "{file}: {stdout}{stderr}");
        assert!(stderr.contains(&path.display().to_string()) && stderr.contains(reason), "{file}: {stderr}");
        assert!(!into.exists(), "{file}: {} was created", into.display());
        assert!(!f.root.join("etc").exists() && !Path::new("/etc/evil").exists());
        let (code, stdout) = verify(std::slice::from_ref(&path));
        assert_eq!(code, Some(1));
        assert!(stdout.contains(reason), "{stdout}");
    }
}

/// `lianlog --json ARGS` on `ledger`, which must succeed.
fn json_of(ledger: &Path, args: &[&str]) -> Value {
    let output = lianlog().arg("--ledger").arg(ledger).arg("--json").args(args).output().unwrap();
    let (stdout, stderr) = output_text(&output);
    assert!(output.status.success(), "{args:?}: {stdout}{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

#[test]
fn as_of_and_archive_answers_equal_a_ledger_cut_there() {
    let f = Fixture::build();
    // `cut` is the ledger as it stood after seq 9; `f` goes on: a new report about 张三, its
    // conclusion, an interview.
    let cut = f.copy();
    f.append("report.received", &report_body("R-2025-003", "张三", "反映其违规收受礼金"), &f.qian).success();
    let conclusion = json!({"report_id": "R-2025-002", "finding": "unsubstantiated", "disposition": "予以了结",
                            "concluded_on": "2025-06-01"});
    f.append("report.concluded", &conclusion, &f.sun).success();
    append_interview(&f, "张三");
    let questions: Vec<Vec<&str>> = vec![
        vec!["dossier", "P-1001"],
        vec!["cases"],
        vec!["cases", "--open"],
        vec!["stats", "--by", "unit"],
        vec!["stats", "--by", "month"],
        vec!["query", "--kind", "interview"],
        vec!["overdue", "--on", "2030-01-01"],
        vec!["show", "9"],
    ];
    for question in &questions {
        let mut past = question.clone();
        past.extend(["--as-of", "9"]);
        assert_eq!(json_of(&f.ledger, &past), json_of(&cut.ledger, question), "{question:?}");
        if ["dossier", "cases", "stats", "query"].contains(&question[0]) {
            assert_ne!(json_of(&f.ledger, question), json_of(&cut.ledger, question), "{question:?} changed since");
        }
    }
    // After the point, nothing.
    let output = f.cmd().args(["show", "10", "--as-of", "9"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    // By date: before genesis there is nothing; by the end of today everything.
    let output = f.cmd().args(["cases", "--as-of", "2001-01-01"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(output_text(&output).1.contains("no entry had been made"));
    let now = lianlog_ledger::Timestamp::now().as_millis();
    let today = lianlog_ledger::Timestamp::from_millis(now + 8 * 3600 * 1000).date().to_string();
    assert_eq!(json_of(&f.ledger, &["cases", "--as-of", &today]), json_of(&f.ledger, &["cases"]));

    // An auditor with only the archives gets the same answers, now and as of a point.
    let out = f.root.join("archives");
    create(&cut, &out, &[]);
    let full = archives_in(&out).remove(0);
    create(&f, &out, &["--since", &full.to_string_lossy()]);
    let archives = archives_in(&out);
    assert_eq!(archives.len(), 2);
    let from_archives = |question: &[&str]| {
        let mut command = lianlog();
        for archive in &archives {
            command.arg("--archive").arg(archive);
        }
        // No ledger at all: the default directory does not exist here.
        let output = command.current_dir(&f.root).arg("--json").args(question).output().unwrap();
        let (stdout, stderr) = output_text(&output);
        assert!(output.status.success(), "{question:?}: {stdout}{stderr}");
        serde_json::from_str::<Value>(&stdout).unwrap()
    };
    let refused = lianlog().arg("--archive").arg(&archives[0]).arg("verify").current_dir(&f.root).output().unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(output_text(&refused).1.contains("snapshot verify"));
    for question in &questions {
        assert_eq!(from_archives(question), json_of(&f.ledger, question), "{question:?}");
        let mut past = question.clone();
        past.extend(["--as-of", "9"]);
        assert_eq!(from_archives(&past), json_of(&cut.ledger, question), "{question:?} as of 9");
    }
}

/// A copy of the record at `original` (its record, signature, salt and body, all genuine),
/// chained after the last line of the log as the next entry: a replay written behind the
/// ledger's back.
fn replay_of(f: &Fixture, original: usize) {
    use lianlog_ledger::record::{Entry, ParsedLine, StoredLine};
    let mut lines = f.log_lines();
    let copied = ParsedLine::parse(&lines[original]).unwrap();
    let last = ParsedLine::parse(lines.last().unwrap()).unwrap();
    let entry = Entry {
        seq: last.line.entry.seq + 1,
        prev: last.entry_hash,
        time: lianlog_ledger::Timestamp::now().max(last.line.entry.time),
        record: copied.line.entry.record.clone(),
        sig: copied.line.entry.sig.clone(),
    };
    let mut line = StoredLine { entry, body: copied.line.body }.to_line().unwrap();
    line.pop();
    lines.push(line);
    f.write_log_lines(&lines);
}

/// A record of the full archive copied into the range of the next one: `create --since latest`
/// refuses to seal it (the ids of the records before the range are read from the log), and
/// nothing is written. (Only the library can make such an archive; ledger/tests/it/archive.rs
/// shows that `snapshot verify`, restores and `--archive` queries refuse it.)
#[test]
fn a_replayed_record_is_not_archived_after_the_archive_it_copies() {
    let f = Fixture::build();
    let out = f.root.join("archives");
    create(&f, &out, &[]);
    append_interview(&f, "赵一");
    replay_of(&f, 5);
    let output = f.cmd().args(["snapshot", "create", "--out"]).arg(&out).args(["--since", "latest"]).output().unwrap();
    let (stdout, stderr) = output_text(&output);
    assert!(!output.status.success(), "a replayed record was archived: {stdout}{stderr}");
    assert!(stderr.contains("the record of seq 5 appears again"), "{stderr}");
    assert_eq!(archives_in(&out).len(), 1, "nothing new was written");
}

const MARKER: &str = "被删除的谈话内容-MARKER-7f3a";

/// The log segments of the ledger at `dir`, in order, concatenated.
fn log_bytes(dir: &Path) -> Vec<u8> {
    let mut segments: Vec<PathBuf> = std::fs::read_dir(dir.join("log"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    segments.sort();
    segments.iter().flat_map(|p| std::fs::read(p).unwrap()).collect()
}

fn holds(bytes: &[u8], needle: &str) -> bool {
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Every file under `dir` (recursively) that holds `needle`.
fn files_holding(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for item in std::fs::read_dir(dir).unwrap() {
        let path = item.unwrap().path();
        if path.is_dir() {
            found.extend(files_holding(&path, needle));
        } else if holds(&std::fs::read(&path).unwrap(), needle) {
            found.push(path);
        }
    }
    found
}

/// Full archive, `redact`, incremental archive: the full archive still holds the body. Restore
/// and `--archive` queries apply the redaction found in the later archive (the restored log is
/// the live log, byte for byte, and no file of the restored ledger holds the body);
/// `snapshot verify` warns and names the command that rewrites the archive; `snapshot redact`
/// writes the archive again without the body.
#[test]
fn a_body_redacted_between_archives_does_not_come_back() {
    let f = Fixture::build();
    append_interview(&f, MARKER);
    let target = "10";
    let out = f.root.join("archives");
    create(&f, &out, &["--no-compress"]);
    let full = archives_in(&out).remove(0);
    assert!(holds(&std::fs::read(&full).unwrap(), MARKER), "the full archive holds the body");
    let replacement = f.root.join("replacement.json");
    std::fs::write(&replacement, interview_body("（姓名已删除）", "（已删除）").to_string()).unwrap();
    f.cmd()
        .args(["redact", target, "--reason", "依当事人申请删除", "--key"])
        .arg(&f.admin)
        .arg("--replacement")
        .arg(&replacement)
        .arg("--replacement-key")
        .arg(&f.qian)
        .assert()
        .success();
    append_interview(&f, "钱二");
    create(&f, &out, &["--since", "latest", "--no-compress"]);
    let paths = archives_in(&out);
    assert_eq!(paths.len(), 2);
    let inc = paths[1].clone();
    assert!(files_holding(&f.ledger, MARKER).is_empty(), "the live ledger holds no copy");

    // `snapshot verify`: OK, with a warning naming the archive, the seqs and the command.
    let (code, stdout) = verify(&paths);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains(&format!("WARNING: {} still holds the body of seq 10, which seq 12", full.display()))
            && stdout.contains(&inc.display().to_string())
            && stdout.contains("lianlog snapshot redact"),
        "{stdout}"
    );
    let output = lianlog().args(["--json", "snapshot", "verify"]).args(&paths).output().unwrap();
    assert!(output.status.success());
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let warning = &report["warnings"][0];
    assert_eq!(
        (&warning["archive"], &warning["seq"], &warning["redacted_by"], &warning["redacted_in"]),
        (&json!(full), &json!(10), &json!(12), &json!(inc))
    );
    assert!(warning["command"].as_str().unwrap().starts_with("lianlog snapshot redact "), "{warning}");

    // Restored: the redacted line, as in the live log; the body nowhere.
    let into = f.root.join("restored");
    let output = lianlog()
        .args(["snapshot", "restore"])
        .args(&paths)
        .arg("--into")
        .arg(&into)
        .arg("--log-key")
        .arg(f.ledger.join("log-key.pem"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{:?}", output_text(&output));
    let restored_log = log_bytes(&into);
    assert_eq!(restored_log, log_bytes(&f.ledger), "the restored log is the live log");
    let on_restored = |args: &[&str]| {
        let output = lianlog().arg("--ledger").arg(&into).args(args).output().unwrap();
        let (stdout, stderr) = output_text(&output);
        assert!(output.status.success(), "{args:?}: {stdout}{stderr}");
        stdout
    };
    for args in
        [&["show", target][..], &["--json", "show", target], &["dossier", "P-1001"], &["--json", "dossier", "P-1001"]]
    {
        let stdout = on_restored(args);
        assert!(!stdout.contains(MARKER), "{args:?}: {stdout}");
    }
    for args in [&["show", target][..], &["dossier", "P-1001"]] {
        assert_eq!(json_of(&into, args), json_of(&f.ledger, args), "{args:?} as on the live ledger");
    }
    on_restored(&["verify"]);
    assert_eq!(files_holding(&into, MARKER), Vec::<PathBuf>::new());

    // Queried from the archives: the replacement, never the body; as the live ledger answers.
    let live_dossier = json_of(&f.ledger, &["dossier", "P-1001"]).to_string();
    assert!(live_dossier.contains("（已删除）") && !live_dossier.contains(MARKER), "{live_dossier}");
    for args in
        [&["show", target][..], &["--json", "show", target], &["dossier", "P-1001"], &["--json", "dossier", "P-1001"]]
    {
        let output = lianlog()
            .arg("--archive")
            .arg(&full)
            .arg("--archive")
            .arg(&inc)
            .args(args)
            .current_dir(&f.root)
            .output()
            .unwrap();
        let (stdout, stderr) = output_text(&output);
        assert!(output.status.success(), "{args:?}: {stdout}{stderr}");
        assert!(!stdout.contains(MARKER), "{args:?}: {stdout}");
        if args[0] == "--json" {
            assert_eq!(serde_json::from_str::<Value>(&stdout).unwrap(), json_of(&f.ledger, &args[1..]), "{args:?}");
        }
    }

    // `snapshot redact`: a new full archive without the body; the sequence verifies clean.
    let rewritten = f.root.join("rewritten");
    let output = lianlog().args(["snapshot", "redact"]).args(&paths).arg("--out").arg(&rewritten).output().unwrap();
    let (stdout, stderr) = output_text(&output);
    assert!(output.status.success(), "{stdout}{stderr}");
    let new_full = rewritten.join(full.file_name().unwrap());
    assert!(stdout.contains(&new_full.display().to_string()) && stdout.contains("seq 10"), "{stdout}");
    assert_eq!(archives_in(&rewritten), vec![new_full.clone()], "only the archive that held the body");
    assert!(!holds(&std::fs::read(&new_full).unwrap(), MARKER));
    assert!(holds(&std::fs::read(&full).unwrap(), MARKER), "the old archive is the operator's to destroy");
    let (code, stdout) = verify(&[new_full.clone(), inc.clone()]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(!stdout.contains("WARNING"), "{stdout}");
    // And restores the same ledger.
    let again = f.root.join("restored-again");
    lianlog()
        .args(["snapshot", "restore"])
        .arg(&new_full)
        .arg(&inc)
        .arg("--into")
        .arg(&again)
        .arg("--log-key")
        .arg(f.ledger.join("log-key.pem"))
        .assert()
        .success();
    let again_log = log_bytes(&again);
    assert_eq!(again_log, restored_log);
    // Into the old directory: refused, nothing replaced.
    let output = lianlog().args(["snapshot", "redact"]).args(&paths).arg("--out").arg(&out).output().unwrap();
    assert!(!output.status.success());
    assert!(output_text(&output).1.contains("already exists"), "{:?}", output_text(&output));
    assert!(holds(&std::fs::read(&full).unwrap(), MARKER));
}
