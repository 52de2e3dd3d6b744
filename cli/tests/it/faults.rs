//! Faults of the environment and of the files around the log: a full disk, a read-only ledger, a
//! damaged derived store, a missing segment, a missing `lianlog.json`, a missing log key, a log
//! cut short. Each gives a clear error with its exit code (or, for the derived store, a repair
//! that says what it did), never a panic, and never changes data that was already durable.
//!
//! The full-disk and read-only tests mount a small tmpfs, which needs root (or CAP_SYS_ADMIN);
//! where mounting is not allowed they print that they were skipped.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use crate::common::{self, Fixture, copy_dir, interview_body, lianlog, output_text};
use serde_json::{Value, json};

/// A tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    /// Mount a tmpfs of `size` (e.g. "1m") at `dir`, or say why the test is skipped.
    fn mount(dir: &Path, size: &str, test: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).expect("mount point");
        let status = StdCommand::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0755"), "tmpfs"])
            .arg(dir)
            .status();
        match status {
            Ok(status) if status.success() => Some(Tmpfs { dir: dir.to_path_buf() }),
            other => {
                eprintln!("SKIPPED {test}: cannot mount a tmpfs here ({other:?}); it needs root or CAP_SYS_ADMIN");
                None
            }
        }
    }

    fn remount_read_only(&self) {
        let status = StdCommand::new("mount").args(["-o", "remount,ro"]).arg(&self.dir).status().expect("mount");
        assert!(status.success(), "remount read-only");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = StdCommand::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// `lianlog --ledger DIR` for a ledger outside the fixture's own directory.
fn at(ledger: &Path) -> assert_cmd::Command {
    let mut command = lianlog();
    command.arg("--ledger").arg(ledger);
    command
}

fn run(command: &mut assert_cmd::Command) -> (Option<i32>, String, String) {
    let output = command.output().expect("run lianlog");
    let (stdout, stderr) = output_text(&output);
    assert!(!stderr.contains("panicked"), "lianlog panicked: {stderr}");
    (output.status.code(), stdout, stderr)
}

fn append_json(ledger: &Path, key: &Path, subject: &str) -> (Option<i32>, String, String) {
    let body = interview_body(subject, "约谈提醒，督促履行全面从严治党主体责任").to_string();
    run(at(ledger).args(["--json", "append", "interview", "--key"]).arg(key).write_stdin(body))
}

/// The stored lines of a ledger as exported (lock-free), each parsed: (seq, entry hash).
fn exported(ledger: &Path) -> Vec<(u64, String)> {
    let (code, stdout, stderr) = run(at(ledger).arg("export"));
    assert_eq!(code, Some(0), "export: {stderr}");
    stdout
        .lines()
        .map(|line| {
            let parsed = lianlog_ledger::ParsedLine::parse(line.as_bytes()).expect("exported lines parse");
            (parsed.line.entry.seq, parsed.entry_hash.to_hex())
        })
        .collect()
}

fn verify_json(ledger: &Path) -> (Value, String) {
    let (code, stdout, stderr) = run(at(ledger).args(["--json", "verify"]));
    assert_eq!(code, Some(0), "verify: {stdout}\n{stderr}");
    (serde_json::from_str(&stdout).expect("verify --json"), stderr)
}

/// Every file under LEDGER/log, by name, with its bytes.
fn log_bytes(ledger: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(ledger.join("log"))
        .expect("LEDGER/log")
        .map(|item| {
            let path = item.expect("entry").path();
            (path.file_name().unwrap_or_default().to_string_lossy().into_owned(), std::fs::read(&path).expect("read"))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn a_full_disk_fails_clearly_and_loses_nothing_acknowledged() {
    let fixture = Fixture::build();
    let mount_point = fixture.root.join("small-disk");
    let Some(disk) = Tmpfs::mount(&mount_point, "2m", "a_full_disk_fails_clearly_and_loses_nothing_acknowledged")
    else {
        return;
    };
    let ledger = disk.dir.join("ledger");
    copy_dir(&fixture.ledger, &ledger);
    // Room to free later (sled needs a few hundred KiB to open).
    std::fs::write(disk.dir.join("filler"), vec![0u8; 640 * 1024]).expect("filler");

    let mut acknowledged = Vec::new();
    let mut failure = None;
    for n in 0..3000 {
        let (code, stdout, stderr) = append_json(&ledger, &fixture.qian, &format!("张{n}"));
        match code {
            Some(0) => {
                let value: Value = serde_json::from_str(&stdout).expect("append --json");
                acknowledged
                    .push((value["seq"].as_u64().expect("seq"), value["entry_hash"].as_str().unwrap().to_string()));
            }
            _ => {
                failure = Some((code, stderr));
                break;
            }
        }
    }
    let (code, stderr) = failure.expect("the disk fills up");
    assert_eq!(code, Some(7), "a full disk is an I/O error (exit 7): {stderr}");
    // With --json the error is the last line of stderr, as JSON (notes may come before it).
    let error: Value = serde_json::from_str(stderr.lines().last().unwrap_or_default()).expect("a JSON error");
    assert_eq!((error["error"]["code"].as_str(), error["error"]["exit"].as_i64()), (Some("Io"), Some(7)), "{stderr}");
    assert!(stderr.contains("No space left on device"), "names the cause: {stderr}");
    assert!(stderr.contains("the disk is full: free space and retry"), "says what to do: {stderr}");
    assert!(acknowledged.len() > 10, "some appends fitted: {}", acknowledged.len());

    // An import on the full disk: all of it or none of it. (It can succeed: when sled's own
    // writes were cut short by the full disk, the store is damaged, and rebuilding it frees space.)
    let before = exported(&ledger);
    let lines = |name: &str| -> String {
        (0..5)
            .map(|i| {
                format!("{}\n", json!({"kind": "interview", "body": interview_body(&format!("{name}{i}"), "批量导入")}))
            })
            .collect()
    };
    let (code, _, stderr) = run(at(&ledger).args(["import", "-", "--key"]).arg(&fixture.qian).write_stdin(lines("李")));
    let after = exported(&ledger);
    match code {
        Some(7) => assert_eq!(after, before, "nothing of a refused import is visible: {stderr}"),
        Some(0) => assert_eq!(after[..before.len()], before[..], "an import only adds: {stderr}"),
        other => panic!("an import on a full disk exits 0 or 7, not {other:?}: {stderr}"),
    }
    assert!(after.len() == before.len() || after.len() == before.len() + 5);

    // Still verifiable on the full disk (through the log alone if the store cannot be opened).
    let (report, _) = verify_json(&ledger);
    let log = exported(&ledger);
    assert_eq!(report["entries"], log.len() as u64);
    for (seq, hash) in &acknowledged {
        assert_eq!(log.get(*seq as usize).map(|(_, h)| h), Some(hash), "acknowledged seq {seq} is kept");
    }

    // Free space: the ledger carries on where it stopped, and its derived data is right.
    std::fs::remove_file(disk.dir.join("filler")).expect("free space");
    let (code, _, stderr) = run(at(&ledger).args(["import", "-", "--key"]).arg(&fixture.qian).write_stdin(lines("周")));
    assert_eq!(code, Some(0), "{stderr}");
    let (report, _) = verify_json(&ledger);
    assert_eq!(report["entries"], log.len() as u64 + 5);
    assert_eq!(run(at(&ledger).arg("replay")).0, Some(0));
    let after = exported(&ledger);
    assert_eq!(after[..log.len()], log[..], "what was durable is unchanged");
}

#[test]
fn a_read_only_ledger_still_verifies_and_exports_and_refuses_writes_clearly() {
    let fixture = Fixture::build();
    let mount_point = fixture.root.join("read-only");
    let test = "a_read_only_ledger_still_verifies_and_exports_and_refuses_writes_clearly";
    let Some(disk) = Tmpfs::mount(&mount_point, "8m", test) else { return };
    let ledger = disk.dir.join("ledger");
    copy_dir(&fixture.ledger, &ledger);
    let reference = verify_json(&ledger).0;
    let files = log_bytes(&ledger);
    disk.remount_read_only();

    let (code, _, stderr) = append_json(&ledger, &fixture.qian, "张三");
    assert_eq!(code, Some(7), "{stderr}");
    assert!(stderr.contains("Read-only file system") && stderr.contains("the file system is read-only"), "{stderr}");
    assert!(stderr.contains("`lianlog verify` and `lianlog export` still work on a read-only ledger"), "{stderr}");

    let (report, stderr) = verify_json(&ledger);
    assert_eq!((&report["head"], &report["root"]), (&reference["head"], &reference["root"]));
    assert!(stderr.contains("verifying the log alone"), "{stderr}");
    assert_eq!(exported(&ledger).len(), common::ENTRIES);

    // The log key can still be backed up from a read-only ledger.
    let copy = fixture.root.join("log-key-backup.pem");
    let (code, _, stderr) = run(at(&ledger).args(["key", "export-log-key", "--out"]).arg(&copy));
    assert_eq!(code, Some(0), "{stderr}");

    for args in [&["log"][..], &["show", "3"], &["checkpoint"], &["replay"]] {
        let (code, _, stderr) = run(at(&ledger).args(args));
        assert_eq!(code, Some(7), "{args:?}: {stderr}");
        assert!(stderr.contains("read-only"), "{args:?}: {stderr}");
    }
    assert_eq!(log_bytes(&ledger), files);
}

/// The sled directory of the store's current generation (`index/state-<g>/`; docs/ARCHITECTURE.md).
fn current_sled(index: &Path) -> std::path::PathBuf {
    let generation = std::fs::read_to_string(index.join("state")).map_or(0, |text| text.trim().parse::<u64>().unwrap());
    index.join(format!("state-{generation}"))
}

/// The sorted table of the store's current generation (after a `reindex`: there is one).
fn current_table(index: &Path) -> std::path::PathBuf {
    let sled = current_sled(index);
    sled.with_file_name(format!("{}.table", sled.file_name().unwrap().to_string_lossy()))
}

/// Ways to damage the derived store's sled files and sorted table (`LEDGER/index`).
fn damage_store(index: &Path, how: &str) {
    let sled = current_sled(index);
    let db = sled.join("db");
    match how {
        "truncate db to 0" => std::fs::write(&db, b"").unwrap(),
        "truncate db to half" => {
            let bytes = std::fs::read(&db).unwrap();
            std::fs::write(&db, &bytes[..bytes.len() / 2]).unwrap();
        }
        "flip bytes in db" => {
            let mut bytes = std::fs::read(&db).unwrap();
            let len = bytes.len();
            for i in 0..64 {
                bytes[(i * 7919 + 13) % len.min(32 * 1024)] ^= 0xA5;
            }
            std::fs::write(&db, bytes).unwrap();
        }
        "zero the start of db" => {
            let mut bytes = std::fs::read(&db).unwrap();
            let end = bytes.len().min(4096);
            bytes[..end].fill(0);
            std::fs::write(&db, bytes).unwrap();
        }
        "remove db" => std::fs::remove_file(&db).unwrap(),
        "garbage conf" => std::fs::write(sled.join("conf"), b"\xff\xfenot a sled config").unwrap(),
        "truncate the table to half" => {
            let table = current_table(index);
            let bytes = std::fs::read(&table).unwrap();
            std::fs::write(&table, &bytes[..bytes.len() / 2]).unwrap();
        }
        "flip a byte of the table's block index" => {
            let table = current_table(index);
            let mut bytes = std::fs::read(&table).unwrap();
            let at = bytes.len() - 60;
            bytes[at] ^= 0x01;
            std::fs::write(&table, bytes).unwrap();
        }
        "remove the table" => std::fs::remove_file(current_table(index)).unwrap(),
        "garbage generation pointer" => std::fs::write(index.join("state"), b"not a number\n").unwrap(),
        "snapshots overwritten" => {
            for item in std::fs::read_dir(&sled).unwrap() {
                let path = item.unwrap().path();
                if path.file_name().unwrap().to_string_lossy().starts_with("snap.") {
                    std::fs::write(&path, b"\x00\x01garbage").unwrap();
                }
            }
        }
        other => panic!("unknown damage {other}"),
    }
}

#[test]
fn a_damaged_derived_store_is_rebuilt_from_the_log_and_says_so() {
    let fixture = Fixture::build();
    let reference = fixture.verify_json();
    let files = fixture.log_files();
    let mut said_damaged = 0;
    for how in [
        "truncate db to 0",
        "truncate db to half",
        "flip bytes in db",
        "zero the start of db",
        "remove db",
        "garbage conf",
        "snapshots overwritten",
        "truncate the table to half",
        "flip a byte of the table's block index",
        "remove the table",
        "garbage generation pointer",
    ] {
        let copy = fixture.copy();
        if how.contains("table") || how.contains("generation") {
            // A rebuilt store is compacted into a sorted table.
            assert_eq!(run(copy.cmd().arg("reindex")).0, Some(0), "{how}");
            assert!(current_table(&copy.ledger.join("index")).exists(), "{how}: reindex leaves a table");
        }
        damage_store(&copy.ledger.join("index"), how);
        let (code, stdout, stderr) = run(copy.cmd().args(["--json", "verify"]));
        assert_eq!(code, Some(0), "{how}: {stdout}\n{stderr}");
        let report: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!((&report["head"], &report["root"]), (&reference["head"], &reference["root"]), "{how}");
        if stderr.contains("was damaged") {
            said_damaged += 1;
            for hint in ["rebuilt from the log", "`lianlog verify`", "`lianlog snapshot restore`"] {
                assert!(stderr.contains(hint), "{how}: {hint} in {stderr}");
            }
        }
        assert_eq!(copy.log_files(), files, "{how}: the log is untouched");
        // The repaired ledger works: its projections are right and it takes new records.
        assert_eq!(run(copy.cmd().arg("replay")).0, Some(0), "{how}");
        let (code, _, stderr) = append_json(&copy.ledger, &copy.qian, "王五");
        assert_eq!(code, Some(0), "{how}: {stderr}");
    }
    assert!(said_damaged >= 7, "the store reported damage for the obvious cases ({said_damaged})");
}

#[test]
fn a_missing_segment_or_log_directory_is_damage_and_nothing_is_touched() {
    let fixture = Fixture::build();
    let segment = fixture.segment();
    for remove_dir in [false, true] {
        let copy = fixture.copy();
        let moved = |path: &Path| copy.root.join(path.strip_prefix(&fixture.root).unwrap());
        if remove_dir {
            std::fs::remove_dir_all(copy.ledger.join("log")).unwrap();
        } else {
            std::fs::remove_file(moved(&segment)).unwrap();
        }
        let index_before = dir_listing(&copy.ledger.join("index"));
        for args in [&["verify"][..], &["log"], &["append", "interview"]] {
            let mut command = copy.cmd();
            command.args(args);
            if args[0] == "append" {
                command.arg("--key").arg(&copy.qian).write_stdin(interview_body("张三", "约谈").to_string());
            }
            let (code, stdout, stderr) = run(&mut command);
            let said = format!("{stdout}{stderr}");
            assert_eq!(code, Some(1), "{args:?}: {said}");
            assert!(said.contains("damaged") && said.contains("`lianlog snapshot restore`"), "{args:?}: {said}");
        }
        assert_eq!(dir_listing(&copy.ledger.join("index")), index_before, "the derived store is left alone");
        assert!(!copy.ledger.join("log").join("00000000000000000000.jsonl").exists());
    }
}

fn dir_listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|i| i.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[test]
fn a_missing_lianlog_json_is_damage_that_says_how_to_recreate_it() {
    let fixture = Fixture::build();
    let copy = fixture.copy();
    std::fs::remove_file(copy.ledger.join("lianlog.json")).unwrap();
    let files = copy.log_files();
    let (code, _, stderr) = run(copy.cmd().arg("verify"));
    assert_eq!(code, Some(5), "{stderr}");
    for hint in ["has a log but no lianlog.json", "damaged", "`lianlog snapshot restore`", common::ORIGIN] {
        assert!(stderr.contains(hint), "{hint} in {stderr}");
    }
    let (code, _, _) = append_json(&copy.ledger, &copy.qian, "张三");
    assert_eq!(code, Some(5));
    assert_eq!(copy.log_files(), files);
    // Recreated as the message says, the ledger is whole again.
    std::fs::write(copy.ledger.join("lianlog.json"), format!("{{\"format\":1,\"origin\":\"{}\"}}\n", common::ORIGIN))
        .unwrap();
    assert_eq!(copy.verify_json()["head"], fixture.verify_json()["head"]);
}

#[test]
fn a_missing_log_key_stops_checkpoints_only() {
    let fixture = Fixture::build();
    let copy = fixture.copy();
    std::fs::remove_file(copy.ledger.join("log-key.pem")).unwrap();
    let (code, _, stderr) = run(copy.cmd().arg("checkpoint"));
    assert_eq!(code, Some(4), "{stderr}");
    assert!(stderr.contains("log key") && stderr.contains("is missing"), "{stderr}");
    assert!(stderr.contains("`lianlog key export-log-key`"), "{stderr}");
    // Records and verification do not need it.
    assert_eq!(copy.verify_json()["entries"], common::ENTRIES);
    let (code, _, stderr) = append_json(&copy.ledger, &copy.qian, "张三");
    assert_eq!(code, Some(0), "{stderr}");
}

/// A log cut short by a whole entry (not a torn write: the derived store saw it durable) is data
/// loss or tampering: refused with a pointer to `verify` and `snapshot restore`, nothing changed.
#[test]
fn a_log_cut_behind_the_store_is_refused_and_left_as_it_is() {
    let fixture = Fixture::build();
    let copy = fixture.copy();
    copy.tamper(|lines| {
        lines.pop();
    });
    let files = copy.log_files();
    let (code, _, stderr) = append_json(&copy.ledger, &copy.qian, "张三");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("the log is shorter") && stderr.contains("`lianlog snapshot restore`"), "{stderr}");
    assert_eq!(copy.log_files(), files, "nothing was cut or repaired");
}

/// Every file under `dir`, by path relative to it, with its bytes.
fn all_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else {
            let name = path.strip_prefix(dir).unwrap().display().to_string();
            found.push((name, std::fs::read(&path).unwrap()));
        }
    }
    found.sort();
    found
}

/// Item 8 of issue 12: an output file is created new — an existing file is refused unless
/// --force, and a symbolic link planted at the output path is never written through (before,
/// `export --out LINK` truncated the log segment the link pointed to).
#[test]
fn output_files_are_created_new_and_never_written_through_a_link() {
    let fixture = Fixture::build();
    let segment = fixture.segment();
    let log = std::fs::read(&segment).unwrap();
    let link = fixture.root.join("export.jsonl");
    std::os::unix::fs::symlink(&segment, &link).unwrap();
    let (code, _, stderr) = run(fixture.cmd().args(["export", "--out"]).arg(&link));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("export.jsonl") && stderr.contains("already exists") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&segment).unwrap(), log, "the segment behind the link is untouched");
    // With --force the link itself is replaced by the export; the segment is still untouched.
    let (code, _, stderr) = run(fixture.cmd().args(["export", "--force", "--out"]).arg(&link));
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(std::fs::read(&segment).unwrap(), log);
    assert!(!std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read(&link).unwrap(), log, "the export is the concatenated segments");
    assert_eq!(std::fs::metadata(&link).unwrap().permissions().mode() & 0o777, 0o600);

    // An existing file is refused and left as it was; disclose too.
    let existing = fixture.root.join("existing");
    std::fs::write(&existing, b"keep me").unwrap();
    let officer = fixture.qian.to_str().unwrap();
    for args in [vec!["export", "--out"], vec!["disclose", "P-1", "--key", officer, "--out"]] {
        let (code, _, stderr) = run(fixture.cmd().args(&args).arg(&existing));
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("already exists"), "{stderr}");
        assert_eq!(std::fs::read(&existing).unwrap(), b"keep me");
    }
    // An export that fails leaves nothing under its name.
    let missing = fixture.copy();
    let segment = missing.segment();
    std::fs::remove_file(&segment).unwrap();
    std::fs::create_dir(&segment).unwrap();
    let out = missing.root.join("partial.jsonl");
    let (code, _, stderr) = run(missing.cmd().args(["export", "--out"]).arg(&out));
    assert_ne!(code, Some(0), "{stderr}");
    assert!(!out.exists());
    assert!(
        std::fs::read_dir(&missing.root).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().ends_with(".tmp")),
        "no temporary file is left"
    );
}

/// Item 8 of issue 12: read-only commands change nothing in the ledger directory, whatever a crash
/// (or someone) left there: a planted `import.intent` naming acknowledged entries, or a torn tail.
/// Before, `verify` and `log` acted on the intent, cut acknowledged entries and then said "Nothing
/// was changed". A writer refuses the planted intent, naming it.
#[test]
fn read_only_commands_change_nothing_whatever_was_left_in_the_directory() {
    let fixture = Fixture::build();
    let segment = fixture.segment();
    let lines = fixture.log_lines();
    let start: usize = lines[..6].iter().map(|l| l.len() + 1).sum();
    let planted = format!("{{\"segment\":0,\"start\":{start},\"length\":100000}}\n");
    let torn = b"{\"body\":{\"interview_type\":\"remi".to_vec();
    // sled writes its snapshot on the first open after a writer (its own recovery): settle it
    // with a command that opens the store (`verify` compares it with the log).
    run(fixture.cmd().arg("verify"));
    run(fixture.cmd().arg("log"));
    let read_only: Vec<Vec<&str>> = vec![
        vec!["verify"],
        vec!["--json", "verify"],
        vec!["verify", "--log-only"],
        vec!["log"],
        vec!["--json", "log"],
        vec!["show", "5"],
        vec!["export"],
        vec!["dossier", "P-1"],
        vec!["stats"],
        vec!["cases"],
        vec!["key", "list"],
        vec!["checkpoint"],
        vec!["prove", "inclusion", "5"],
        vec!["replay"],
    ];
    for (what, planted_intent, torn_tail) in [("a planted intent", true, false), ("a torn tail", false, true)] {
        let copy = fixture.copy();
        if planted_intent {
            std::fs::write(copy.ledger.join("import.intent"), &planted).unwrap();
        }
        if torn_tail {
            let mut bytes = std::fs::read(copy.segment()).unwrap();
            bytes.extend_from_slice(&torn);
            std::fs::write(copy.segment(), bytes).unwrap();
        }
        let before = all_files(&copy.ledger);
        for args in &read_only {
            let (code, stdout, stderr) = run(copy.cmd().args(args));
            assert_eq!(code, Some(0), "{what}: {args:?}: {stdout}{stderr}");
            assert!(!stderr.contains("Nothing was changed"), "{what}: {args:?}: {stderr}");
            let after = all_files(&copy.ledger);
            let changed: Vec<&str> = after
                .iter()
                .filter(|file| !before.contains(file))
                .chain(before.iter().filter(|file| !after.contains(file)))
                .map(|(name, _)| name.as_str())
                .collect();
            assert!(
                changed.is_empty(),
                "{what}: `lianlog {}` changed the ledger directory: {changed:?}",
                args.join(" ")
            );
        }
        let (_, stdout, _) = run(copy.cmd().args(["--json", "log"]));
        let shown: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(
            shown["items"].as_array().unwrap().len(),
            common::ENTRIES,
            "{what}: every acknowledged entry is shown"
        );
        if planted_intent {
            // A writer refuses it, naming the file, and changes nothing either.
            let (code, _, stderr) = append_json(&copy.ledger, &copy.qian, "张三");
            assert_eq!(code, Some(1), "{stderr}");
            assert!(stderr.contains("import.intent") && stderr.contains("does not match the log"), "{stderr}");
            assert!(all_files(&copy.ledger) == before);
        } else {
            // A writer cuts the torn tail, and saves it.
            let (code, _, stderr) = append_json(&copy.ledger, &copy.qian, "张三");
            assert_eq!(code, Some(0), "{stderr}");
            let saved = std::fs::read_dir(copy.ledger.join("log"))
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("torn-"))
                .expect("the torn tail is saved");
            assert_eq!(std::fs::read(saved).unwrap(), torn);
        }
    }
    assert_eq!(std::fs::read(&segment).unwrap().len(), lines.iter().map(|l| l.len() + 1).sum::<usize>());
}

/// Item 9 of issue 12: the ledger holds personal data, so its directory is created 0700 and its
/// files 0600 whatever the umask; a ledger directory that its group or others may write is
/// reported on open.
#[test]
fn the_ledger_directory_is_private_and_a_writable_one_is_reported() {
    let fixture = Fixture::keys_only();
    let output = StdCommand::new("sh")
        .arg("-c")
        .arg("umask 000 && exec \"$0\" \"$@\"")
        .arg(assert_cmd::cargo::cargo_bin("lianlog"))
        .arg("--ledger")
        .arg(&fixture.ledger)
        .args(["init", "--origin", common::ORIGIN, "--holder-name", "赵主任", "--holder-unit", "市纪委监委", "--key"])
        .arg(&fixture.admin)
        .output()
        .unwrap();
    assert!(output.status.success(), "{:?}", output_text(&output));
    let (code, _, stderr) = append_json(&fixture.ledger, &fixture.admin, "张三");
    assert_eq!(code, Some(3), "{stderr}");
    let mut stack = vec![fixture.ledger.clone()];
    while let Some(path) = stack.pop() {
        let metadata = std::fs::metadata(&path).unwrap();
        let mode = metadata.permissions().mode() & 0o777;
        // sled creates its own files and directories with its own modes, inside a 0700
        // `index/state-<g>/` directory of the store.
        let in_sled = path.ancestors().skip(1).any(|a| {
            a.parent().is_some_and(|p| p.ends_with("index"))
                && a.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .strip_prefix("state-")
                    .is_some_and(|g| g.parse::<u64>().is_ok())
        });
        if metadata.is_dir() {
            assert!(mode == 0o700 || in_sled, "{}: {mode:o}", path.display());
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else if !in_sled {
            assert_eq!(mode, 0o600, "{}", path.display());
        }
    }
    std::fs::set_permissions(&fixture.ledger, std::fs::Permissions::from_mode(0o777)).unwrap();
    let (code, _, stderr) = run(at(&fixture.ledger).arg("log"));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("mode 777") && stderr.contains("chmod 700"), "{stderr}");
}
