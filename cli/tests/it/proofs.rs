//! Checkpoints and proofs through the CLI: archived checkpoints catch a rewritten or truncated
//! ledger, inclusion and consistency proofs check offline, cosignatures are required when trusted.

use crate::common::{self, ENTRIES, Fixture, lianlog};

fn log_vkey(fixture: &Fixture) -> String {
    fixture.verify_json()["log_key"].as_str().unwrap().to_string()
}

fn stdout_of(command: &mut assert_cmd::Command) -> String {
    let output = command.output().unwrap();
    let (stdout, stderr) = common::output_text(&output);
    assert!(output.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    stdout
}

fn write(fixture: &Fixture, name: &str, contents: &str) -> std::path::PathBuf {
    let path = fixture.root.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

#[test]
fn inclusion_and_consistency_proofs_check_offline() {
    let fixture = Fixture::build();
    let vkey = log_vkey(&fixture);
    let old = write(&fixture, "cp6", &stdout_of(fixture.cmd().args(["checkpoint", "--size", "6"])));
    let new = write(&fixture, "cp10", &stdout_of(fixture.cmd().arg("checkpoint")));
    let bundle = write(&fixture, "p4", &stdout_of(fixture.cmd().args(["prove", "inclusion", "4"])));
    assert!(std::fs::read_to_string(&bundle).unwrap().starts_with("c2sp.org/tlog-proof@v1\nindex 4\n"));
    let entry = fixture.root.join("e4");
    std::fs::write(&entry, fixture.cmd().args(["show", "4", "--raw"]).output().unwrap().stdout).unwrap();
    // The checks need no ledger: run them without --ledger, from another directory.
    let check = |args: &[&str]| lianlog().current_dir(&fixture.root).args(args).output().unwrap();
    let ok = check(&["check", "inclusion", "p4", "--entry", "e4", "--vkey", &vkey]);
    assert!(ok.status.success(), "{:?}", common::output_text(&ok));
    // The wrong entry, or another entry's bytes, is refused.
    std::fs::write(fixture.root.join("e5"), fixture.cmd().args(["show", "5", "--raw"]).output().unwrap().stdout)
        .unwrap();
    let wrong = check(&["check", "inclusion", "p4", "--entry", "e5", "--vkey", &vkey]);
    assert_eq!(wrong.status.code(), Some(1), "{:?}", common::output_text(&wrong));

    let proof = write(&fixture, "c", &stdout_of(fixture.cmd().args(["prove", "consistency", "6", "10"])));
    let ok = check(&["check", "consistency", "c", "--old", "cp6", "--new", "cp10", "--vkey", &vkey]);
    assert!(ok.status.success(), "{:?}", common::output_text(&ok));
    // A checkpoint signed by another key is refused.
    let impostor = fixture.root.join("impostor.pem");
    lianlog().args(["key", "new", common::ORIGIN, "--out"]).arg(&impostor).assert().success();
    let impostor_vkey = fixture.vkey(&impostor);
    let refused = check(&["check", "consistency", "c", "--old", "cp6", "--new", "cp10", "--vkey", &impostor_vkey]);
    assert_eq!(refused.status.code(), Some(1), "{:?}", common::output_text(&refused));
    let _ = (old, new, proof);
}

#[test]
fn an_archived_checkpoint_catches_a_rewritten_or_truncated_ledger() {
    let fixture = Fixture::build();
    let checkpoint = write(&fixture, "cp", &stdout_of(fixture.cmd().arg("checkpoint")));
    fixture.cmd().arg("verify").arg("--checkpoint").arg(&checkpoint).assert().success();

    // Truncated: the last two entries removed, the derived store too (a careful forger).
    let truncated = fixture.copy();
    truncated.tamper(|lines| lines.truncate(ENTRIES - 2));
    truncated.remove_index();
    let output = truncated.cmd().arg("verify").arg("--checkpoint").arg(&checkpoint).output().unwrap();
    let (stdout, stderr) = common::output_text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("truncated"), "{stdout}");

    // Rewritten: the last entry's unsigned time changed and the store rebuilt; the chain still
    // holds, only the archived checkpoint shows the change.
    let rewritten = fixture.copy();
    rewritten.tamper(|lines| {
        let line = &mut lines[ENTRIES - 1];
        let at = common::value_start(line, "time") + 1;
        line[at + 3] = if line[at + 3] == b'9' { b'8' } else { b'9' };
    });
    rewritten.cmd().arg("reindex").assert().success();
    rewritten.cmd().arg("verify").assert().success();
    let output = rewritten.cmd().arg("verify").arg("--checkpoint").arg(&checkpoint).output().unwrap();
    let (stdout, stderr) = common::output_text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("rewritten behind an archived checkpoint"), "{stdout}");
}

#[test]
fn trusted_cosigners_must_have_cosigned() {
    let fixture = Fixture::build();
    let checkpoint = write(&fixture, "cp", &stdout_of(fixture.cmd().arg("checkpoint")));
    let archive_key = fixture.root.join("archive.pem");
    lianlog().args(["key", "new", "archive.office", "--out"]).arg(&archive_key).assert().success();
    let cosigner = stdout_of(lianlog().args(["key", "show", "--cosigner"]).arg(&archive_key)).trim().to_string();
    assert!(cosigner.starts_with("archive.office+"), "{cosigner}");
    let cosigned = stdout_of(
        lianlog()
            .args(["checkpoint", "cosign"])
            .arg(&checkpoint)
            .arg("--key")
            .arg(&archive_key)
            .args(["--vkey", &log_vkey(&fixture)])
            .arg("--state")
            .arg(fixture.root.join("archive-witness")),
    );
    let cosigned = write(&fixture, "cp.cosigned", &cosigned);
    fixture.cmd().arg("verify").arg("--checkpoint").arg(&cosigned).args(["--cosigner", &cosigner]).assert().success();
    // A cosignature over a different checkpoint does not transfer.
    let forged = std::fs::read_to_string(&cosigned).unwrap().replacen("\n10\n", "\n9\n", 1);
    let forged = write(&fixture, "cp.forged", &forged);
    fixture.cmd().arg("verify").arg("--checkpoint").arg(&forged).args(["--cosigner", &cosigner]).assert().code(1);
}

/// `disclose` writes a signed package holding what concerns the person — a co-subject masked,
/// key holders left out — that `check disclosure` accepts offline and refuses once altered; an
/// unknown person is an error that writes nothing.
#[test]
fn disclosure_packages_mask_other_people_and_check_offline() {
    let fixture = Fixture::build();
    let vkey = log_vkey(&fixture);
    let joint = serde_json::json!({
        "report_id": "R-2025-003",
        "subjects": [common::person("P-1001", "张三", "市住建局"), common::person("P-2002", "赵六", "市水务局")],
        "source": "petition",
        "summary": "反映张三与赵六在项目招标中违规",
        "received_on": "2025-06-02",
    });
    fixture.append("report.received", &joint, &fixture.qian).success();
    let package = fixture.root.join("P-1001.json");
    let output = fixture
        .cmd()
        .args(["disclose", "P-1001", "--out"])
        .arg(&package)
        .arg("--key")
        .arg(&fixture.sun)
        .output()
        .unwrap();
    let (stdout, stderr) = common::output_text(&output);
    assert!(output.status.success() && stdout.contains("1 masked"), "{stdout}{stderr}");
    let text = std::fs::read_to_string(&package).unwrap();
    for leaked in ["赵六", "P-2002", "市水务局", "招标", "赵主任", "孙干事", "李审计", "审计室", "常委"]
    {
        assert!(!text.contains(leaked), "the package holds {leaked:?}");
    }
    assert!(text.contains("反映其履行全面从严治党主体责任不力"), "the person's own report is whole");
    let check = |file: &str| {
        lianlog().current_dir(&fixture.root).args(["check", "disclosure", file, "--vkey", &vkey]).output().unwrap()
    };
    let ok = check("P-1001.json");
    let (stdout, stderr) = common::output_text(&ok);
    assert!(
        ok.status.success() && stdout.contains("[masked") && stdout.contains("signed by officer.sun"),
        "{stdout}{stderr}"
    );
    // The report's conclusion (seq 9) names nobody: it is in the package through the case.
    assert!(stdout.contains("seq 9"), "{stdout}");
    // Any altered byte of the masked body, which no hash covers, is refused by the signature.
    std::fs::write(fixture.root.join("altered.json"), text.replacen("2025-06-02", "2025-06-03", 1)).unwrap();
    assert_eq!(check("altered.json").status.code(), Some(1));
    // An unknown person: exit 2, a hint, no file.
    let unknown = fixture.root.join("P-404.json");
    let output = fixture
        .cmd()
        .args(["disclose", "P-404", "--out"])
        .arg(&unknown)
        .arg("--key")
        .arg(&fixture.sun)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{:?}", common::output_text(&output));
    assert!(
        common::output_text(&output).1.contains("lianlog query --person P-404"),
        "{:?}",
        common::output_text(&output)
    );
    assert!(!unknown.exists());
}

fn output_of(command: &mut assert_cmd::Command) -> (Option<i32>, String, String) {
    let output = command.output().unwrap();
    let (stdout, stderr) = common::output_text(&output);
    (output.status.code(), stdout, stderr)
}

/// A new cosigner key `name` in the fixture: (key file, cosigner vkey, key id in hex).
fn cosigner_key(fixture: &Fixture, name: &str) -> (std::path::PathBuf, String, String) {
    let file = fixture.root.join(format!("{name}.pem"));
    lianlog().args(["key", "new", name, "--out"]).arg(&file).assert().success();
    let vkey = stdout_of(lianlog().args(["key", "show", "--cosigner"]).arg(&file)).trim().to_string();
    let id = vkey.split('+').nth(1).unwrap().to_string();
    (file, vkey, id)
}

/// `note` cosigned by `key` as a witness that has seen nothing before (a fresh state directory
/// each time: these tests are about checking cosignatures; the witness's memory is tested in
/// `witness.rs`).
fn cosigned(fixture: &Fixture, note: &str, key: &std::path::Path) -> String {
    let file = write(fixture, "to-cosign", note);
    let state = tempfile::tempdir_in(&fixture.root).unwrap();
    stdout_of(
        lianlog()
            .args(["checkpoint", "cosign"])
            .arg(&file)
            .arg("--key")
            .arg(key)
            .args(["--vkey", &log_vkey(fixture)])
            .arg("--state")
            .arg(state.path().join("witness")),
    )
}

/// `--cosigner W` requires W's cosignature on every checkpoint it is checked against — `verify
/// --checkpoint`, `check inclusion`, `check consistency`, `check disclosure` — and the output
/// says who cosigned. (It used to accept a checkpoint W never cosigned: only a present but
/// broken cosignature failed.)
#[test]
fn a_named_cosigner_is_required_on_every_path() {
    let fixture = Fixture::build();
    let vkey = log_vkey(&fixture);
    let (archive_key, archive, archive_id) = cosigner_key(&fixture, "archive.office");
    let (_, witness, _) = cosigner_key(&fixture, "witness.example");
    let cp6 = stdout_of(fixture.cmd().args(["checkpoint", "--size", "6"]));
    let cp10 = stdout_of(fixture.cmd().arg("checkpoint"));
    let plain6 = write(&fixture, "cp6", &cp6);
    let plain10 = write(&fixture, "cp10", &cp10);
    let signed6 = write(&fixture, "cp6.cosigned", &cosigned(&fixture, &cp6, &archive_key));
    let signed10 = write(&fixture, "cp10.cosigned", &cosigned(&fixture, &cp10, &archive_key));
    let check = |args: &[&str]| output_of(lianlog().current_dir(&fixture.root).args(args));

    // verify --checkpoint: refused, naming the cosigner and the checkpoint file.
    let (code, stdout, stderr) =
        output_of(fixture.cmd().arg("verify").arg("--checkpoint").arg(&plain10).args(["--cosigner", &archive]));
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("archived checkpoint") && stdout.contains("cp10"), "{stdout}");
    assert!(stdout.contains(&format!("no cosignature by archive.office (key id {archive_id})")), "{stdout}");
    // Cosigned: accepted, and the output says by whom (text and JSON).
    let (code, stdout, stderr) =
        output_of(fixture.cmd().arg("verify").arg("--checkpoint").arg(&signed10).args(["--cosigner", &archive]));
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains(&format!("cosigned by archive.office (key id {archive_id}) at ")), "{stdout}");
    let (code, stdout, _) = output_of(
        fixture.cmd().args(["--json", "verify", "--checkpoint"]).arg(&signed10).args(["--cosigner", &archive]),
    );
    assert_eq!(code, Some(0));
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let cosignature = &report["checkpoints"][0]["cosignatures"][0];
    assert_eq!(cosignature["name"], "archive.office", "{report}");
    assert_eq!(cosignature["key_id"], archive_id.as_str());
    assert_eq!(cosignature["vkey"], archive.as_str());
    assert!(cosignature["time"].as_str().is_some_and(|t| t.ends_with('Z')), "{report}");
    // A cosigner without a checkpoint to require it on is a usage error, not a silent pass.
    fixture.cmd().args(["verify", "--cosigner", &archive]).assert().code(2);
    // Two cosigners named, one cosigned: the other is named as missing.
    let (code, stdout, _) = output_of(fixture.cmd().arg("verify").arg("--checkpoint").arg(&signed10).args([
        "--cosigner",
        &archive,
        "--cosigner",
        &witness,
    ]));
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("no cosignature by witness.example") && stdout.contains("only archive.office"), "{stdout}");

    // check inclusion: the bundle carries its checkpoint; cosign that one.
    let bundle = stdout_of(fixture.cmd().args(["prove", "inclusion", "4"]));
    let (head, note) = bundle.split_once("\n\n").unwrap();
    write(&fixture, "p4", &bundle);
    write(&fixture, "p4.cosigned", &format!("{head}\n\n{}", cosigned(&fixture, note, &archive_key)));
    std::fs::write(fixture.root.join("e4"), fixture.cmd().args(["show", "4", "--raw"]).output().unwrap().stdout)
        .unwrap();
    let (code, _, stderr) =
        check(&["check", "inclusion", "p4", "--entry", "e4", "--vkey", &vkey, "--cosigner", &archive]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("p4: ") && stderr.contains("no cosignature by archive.office"), "{stderr}");
    let (code, stdout, stderr) =
        check(&["check", "inclusion", "p4.cosigned", "--entry", "e4", "--vkey", &vkey, "--cosigner", &archive]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains(&format!("cosigned by archive.office (key id {archive_id})")), "{stdout}");
    let (_, stdout, _) = check(&[
        "--json",
        "check",
        "inclusion",
        "p4.cosigned",
        "--entry",
        "e4",
        "--vkey",
        &vkey,
        "--cosigner",
        &archive,
    ]);
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["cosignatures"][0]["name"], "archive.office", "{json}");

    // check consistency: both checkpoints must be cosigned; the error says which file.
    write(&fixture, "c", &stdout_of(fixture.cmd().args(["prove", "consistency", "6", "10"])));
    for (old, new, missing) in [("cp6", "cp10", "the old checkpoint"), ("cp6.cosigned", "cp10", "the new checkpoint")] {
        let (code, _, stderr) =
            check(&["check", "consistency", "c", "--old", old, "--new", new, "--vkey", &vkey, "--cosigner", &archive]);
        assert_eq!(code, Some(1), "{stderr}");
        assert!(stderr.contains(&format!("--old {old} --new {new}: {missing}")), "{stderr}");
        assert!(stderr.contains("no cosignature by archive.office"), "{stderr}");
    }
    let args = ["consistency", "c", "--old", "cp6.cosigned", "--new", "cp10.cosigned", "--vkey", &vkey];
    let (code, stdout, stderr) = check(&[&["check"][..], &args, &["--cosigner", &archive]].concat());
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout.matches("cosigned by archive.office").count(), 2, "{stdout}");
    let (_, stdout, _) = check(&[&["--json", "check"][..], &args, &["--cosigner", &archive]].concat());
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["old_cosignatures"][0]["key_id"], archive_id.as_str(), "{json}");
    assert_eq!(json["new_cosignatures"][0]["key_id"], archive_id.as_str(), "{json}");

    // check disclosure: the package's checkpoint.
    let package = fixture.root.join("P-1001.json");
    fixture.cmd().args(["disclose", "P-1001", "--out"]).arg(&package).arg("--key").arg(&fixture.sun).assert().success();
    let (code, _, stderr) = check(&["check", "disclosure", "P-1001.json", "--vkey", &vkey, "--cosigner", &archive]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("P-1001.json: ") && stderr.contains("no cosignature by archive.office"), "{stderr}");
    // A package proven against a checkpoint of the whole ledger that the archive office cosigned.
    let whole = stdout_of(fixture.cmd().arg("checkpoint"));
    write(&fixture, "whole.cosigned", &cosigned(&fixture, &whole, &archive_key));
    fixture
        .cmd()
        .args(["disclose", "P-1001", "--out"])
        .arg(fixture.root.join("P-1001.cosigned.json"))
        .arg("--key")
        .arg(&fixture.sun)
        .arg("--checkpoint")
        .arg(fixture.root.join("whole.cosigned"))
        .assert()
        .success();
    // A checkpoint that does not cover the whole ledger is refused, and nothing is written.
    let (code, _, stderr) = output_of(
        fixture
            .cmd()
            .args(["disclose", "P-1001", "--out"])
            .arg(fixture.root.join("P-1001.old.json"))
            .arg("--key")
            .arg(&fixture.sun)
            .arg("--checkpoint")
            .arg(fixture.root.join("cp6.cosigned")),
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("cp6.cosigned: the checkpoint covers 6 entries"), "{stderr}");
    assert!(!fixture.root.join("P-1001.old.json").exists());
    let (code, stdout, stderr) =
        check(&["check", "disclosure", "P-1001.cosigned.json", "--vkey", &vkey, "--cosigner", &archive]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("cosigned by archive.office"), "{stdout}");
    let (_, stdout, _) =
        check(&["--json", "check", "disclosure", "P-1001.cosigned.json", "--vkey", &vkey, "--cosigner", &archive]);
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["cosignatures"][0]["name"], "archive.office", "{json}");
    let _ = (plain6, signed6);
}

/// Two checkpoints of the same size with different roots, both signed by the log key, are a
/// fork, and are called one — not "not a prefix of the tree of size N".
#[test]
fn a_fork_at_the_same_size_is_reported_as_two_different_trees() {
    let fixture = Fixture::build();
    let vkey = log_vkey(&fixture);
    // A copy with the same log key and history, then a different 11th entry on each side.
    let other = fixture.copy();
    fixture.append("interview", &common::interview_body("王五", "一方的记录"), &fixture.sun).success();
    other.append("interview", &common::interview_body("王五", "另一方的记录"), &other.sun).success();
    write(&fixture, "cp-a", &stdout_of(fixture.cmd().arg("checkpoint")));
    let b = write(&fixture, "cp-b", &stdout_of(other.cmd().arg("checkpoint")));
    write(&fixture, "c", &stdout_of(fixture.cmd().args(["prove", "consistency", "11", "11"])));
    let (code, _, stderr) = output_of(lianlog().current_dir(&fixture.root).args([
        "check",
        "consistency",
        "c",
        "--old",
        "cp-a",
        "--new",
        "cp-b",
        "--vkey",
        &vkey,
    ]));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("two different trees of size 11 (roots ") && stderr.contains("forked"), "{stderr}");
    assert!(!stderr.contains("not a prefix"), "{stderr}");
    // The same checkpoint against the ledger of the other branch.
    let (code, stdout, stderr) = output_of(fixture.cmd().arg("verify").arg("--checkpoint").arg(&b));
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("two different trees of size 11 (roots ") && stdout.contains("forked"), "{stdout}");
    // And once that ledger has grown past it: its first 11 entries are still another tree.
    fixture.append("interview", &common::interview_body("赵六", "其后的记录"), &fixture.sun).success();
    let (code, stdout, stderr) = output_of(fixture.cmd().arg("verify").arg("--checkpoint").arg(&b));
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("two different trees of size 11 (roots ") && stdout.contains("forked"), "{stdout}");
    assert!(stdout.contains("rewritten behind an archived checkpoint"), "{stdout}");
}

/// `verify --log-only` says, in text and JSON, that it ignored a partial last line.
#[test]
fn verify_log_only_says_it_ignored_a_partial_last_line() {
    let fixture = Fixture::build();
    let (_, stdout, _) = output_of(fixture.cmd().args(["--json", "verify", "--log-only"]));
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["ignored_partial_tail"], false, "{report}");
    let mut segment = std::fs::OpenOptions::new().append(true).open(fixture.segment()).unwrap();
    std::io::Write::write_all(&mut segment, b"{\"entry\":{\"prev\":").unwrap();
    let (code, stdout, stderr) = output_of(fixture.cmd().args(["verify", "--log-only"]));
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("partial line") && stdout.contains("ignored, not checked"), "{stdout}");
    let (code, stdout, _) = output_of(fixture.cmd().args(["--json", "verify", "--log-only"]));
    assert_eq!(code, Some(0));
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["ignored_partial_tail"], true, "{report}");
    assert_eq!(report["entries"], ENTRIES as u64);
}

/// `--witness W` ×3 `--witness-quorum 2`: a checkpoint cosigned by two of the three passes and the
/// output (text and `--json`) names the two; a quorum of 3 fails (exit 1) saying how many of which
/// cosigned; a quorum of 0 or above the number of witnesses is a usage error (exit 2).
#[test]
fn a_witness_quorum_of_two_of_three() {
    let fixture = Fixture::build();
    let (a_key, a, _) = cosigner_key(&fixture, "witness-a.example");
    let (b_key, b, _) = cosigner_key(&fixture, "witness-b.example");
    let (_, c, _) = cosigner_key(&fixture, "witness-c.example");
    let cp = stdout_of(fixture.cmd().arg("checkpoint"));
    let twice = cosigned(&fixture, &cosigned(&fixture, &cp, &a_key), &b_key);
    let signed = write(&fixture, "cp.2of3", &twice);
    let verify = |json: bool, quorum: &str| {
        let mut command = fixture.cmd();
        if json {
            command.arg("--json");
        }
        command.arg("verify").arg("--checkpoint").arg(&signed);
        command.args(["--witness", &a, "--witness", &b, "--witness", &c, "--witness-quorum", quorum]);
        output_of(&mut command)
    };
    let (code, stdout, stderr) = verify(false, "2");
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("cosigned by witness-a.example") && stdout.contains("cosigned by witness-b.example"),
        "{stdout}"
    );
    assert!(!stdout.contains("cosigned by witness-c.example"), "{stdout}");
    // The policy line names who was required and who did not cosign.
    assert!(stdout.contains("2 required 要求; not cosigned 未见证: witness-c.example"), "{stdout}");
    let (code, stdout, _) = verify(true, "2");
    assert_eq!(code, Some(0), "{stdout}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let names: Vec<&str> = report["checkpoints"][0]["cosignatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["witness-a.example", "witness-b.example"], "{report}");
    // All three required: fails, naming the missing witness.
    let (code, stdout, _) = verify(false, "3");
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("no cosignature by witness-c.example"), "{stdout}");
    // Two of three where only one cosigned: how many of which, and that 2 were required.
    let once = write(&fixture, "cp.1of3", &cosigned(&fixture, &cp, &a_key));
    let (code, stdout, _) = output_of(fixture.cmd().arg("verify").arg("--checkpoint").arg(&once).args([
        "--witness",
        &a,
        "--witness",
        &b,
        "--witness",
        &c,
        "--witness-quorum",
        "2",
    ]));
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("cosigned by 1 of the 3 witnesses you named (witness-a.example"), "{stdout}");
    assert!(stdout.contains("but 2 are required"), "{stdout}");
    // A quorum of 0 or more than the witnesses named is a usage error.
    for quorum in ["0", "4"] {
        let (code, stdout, stderr) = verify(false, quorum);
        assert_eq!(code, Some(2), "{stdout}{stderr}");
        assert!(stderr.contains("witness quorum"), "{stderr}");
    }
}
