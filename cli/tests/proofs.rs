//! Checkpoints and proofs through the CLI: archived checkpoints catch a rewritten or truncated
//! ledger, inclusion and consistency proofs check offline, cosignatures are required when trusted.

mod common;

use common::{ENTRIES, Fixture, lianlog};

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
    let cosigned = stdout_of(lianlog().args(["checkpoint", "cosign"]).arg(&checkpoint).arg("--key").arg(&archive_key));
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
