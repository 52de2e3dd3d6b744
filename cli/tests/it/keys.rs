//! Keys and secrets, end to end with the `lianlog` binary: encrypted key files that OpenSSL reads
//! and lianlog signs with, the log key leaving the ledger only through `key export-log-key`,
//! secrets never printed, and checkpoints signed by anything but the log key refused.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use crate::common::{self, Fixture, interview_body, lianlog, output_text};

const PASSPHRASE: &str = "纪检 passphrase 2026";

fn run(command: &mut assert_cmd::Command) -> (Option<i32>, String, String) {
    let output = command.output().expect("run lianlog");
    let (stdout, stderr) = output_text(&output);
    assert!(!stderr.contains("panicked"), "{stderr}");
    (output.status.code(), stdout, stderr)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The 32-byte Ed25519 seed inside an unencrypted PKCS#8 v1 PEM file (its DER ends with it).
fn seed_of(pem_file: &Path) -> Vec<u8> {
    let text = std::fs::read_to_string(pem_file).unwrap();
    let body: String = text
        .lines()
        .skip_while(|line| !line.starts_with("-----BEGIN"))
        .skip(1)
        .take_while(|line| !line.starts_with("-----END"))
        .collect();
    let der = lianlog_ledger::encoding::parse_base64(&body).expect("PEM body");
    der[der.len() - 32..].to_vec()
}

/// Hex and base64 spellings of a secret, none of which may ever be printed.
fn spellings(secret: &[u8]) -> Vec<String> {
    let mut with_type = vec![0x01];
    with_type.extend_from_slice(secret);
    vec![
        lianlog_ledger::encoding::hex(secret),
        lianlog_ledger::encoding::base64(secret),
        lianlog_ledger::encoding::base64(&with_type),
        lianlog_ledger::encoding::hex(secret).to_uppercase(),
    ]
}

fn openssl_available() -> bool {
    std::process::Command::new("openssl").arg("version").output().is_ok_and(|o| o.status.success())
}

#[test]
fn an_encrypted_key_is_read_by_openssl_and_signs_records() {
    let fixture = Fixture::build();
    let file = fixture.root.join("officer.zhou.pem");
    let (code, stdout, stderr) = run(lianlog()
        .args(["key", "new", "officer.zhou", "--encrypt", "--out"])
        .arg(&file)
        .env("LIANLOG_PASSPHRASE", PASSPHRASE));
    assert_eq!(code, Some(0), "{stderr}");
    let vkey = stdout.trim().to_string();
    assert_eq!(mode(&file), 0o600);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("lianlog key name: officer.zhou\n-----BEGIN ENCRYPTED PRIVATE KEY-----\n"), "{text}");
    assert!(!stdout.contains(PASSPHRASE) && !stderr.contains(PASSPHRASE));

    if openssl_available() {
        let output = std::process::Command::new("openssl")
            .args(["pkey", "-passin", "env:LIANLOG_PASSPHRASE", "-pubout", "-outform", "DER", "-in"])
            .arg(&file)
            .env("LIANLOG_PASSPHRASE", PASSPHRASE)
            .output()
            .unwrap();
        assert!(output.status.success(), "openssl pkey: {}", String::from_utf8_lossy(&output.stderr));
        // SubjectPublicKeyInfo DER ends with the 32-byte key; the vkey carries 0x01 || key.
        let public = lianlog_ledger::keys::PublicKey::parse_vkey(&vkey).unwrap();
        assert_eq!(&output.stdout[output.stdout.len() - 32..], public.verifying_key().as_bytes());
    } else {
        eprintln!("SKIPPED the OpenSSL part: openssl is not installed");
    }

    // Granted and used to sign, with the passphrase from the environment.
    let (code, _, stderr) = run(fixture
        .cmd()
        .args(["key", "grant", &vkey, "--role", "officer", "--holder-name", "周干事", "--holder-unit", "案件审理室"])
        .arg("--key")
        .arg(&fixture.admin));
    assert_eq!(code, Some(0), "{stderr}");
    let body = interview_body("张三", "约谈提醒").to_string();
    let append = |passphrase: Option<&str>| {
        let mut command = fixture.cmd();
        command.args(["append", "interview", "--key"]).arg(&file).write_stdin(body.clone());
        command.env_remove("LIANLOG_PASSPHRASE");
        if let Some(passphrase) = passphrase {
            command.env("LIANLOG_PASSPHRASE", passphrase);
        }
        run(&mut command)
    };
    let (code, stdout, stderr) = append(Some(PASSPHRASE));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.starts_with("appended seq 11"), "{stdout}");
    let report = fixture.verify_json();
    assert_eq!(report["entries"], 12);

    // A wrong or missing passphrase is a key problem that names the file and not the passphrase.
    let (code, _, stderr) = append(Some("wrong passphrase 错误"));
    assert_eq!(code, Some(4), "{stderr}");
    assert!(stderr.contains("wrong passphrase or unsupported encryption") && stderr.contains("officer.zhou.pem"));
    assert!(!stderr.contains("错误") && !stderr.contains(PASSPHRASE), "{stderr}");
    let (code, _, stderr) = append(None);
    assert_eq!(code, Some(4), "{stderr}");
    assert!(stderr.contains("officer.zhou.pem: the key file is encrypted: set LIANLOG_PASSPHRASE"), "{stderr}");
    assert_eq!(fixture.verify_json()["entries"], 12);
}

#[test]
fn encrypting_without_a_passphrase_writes_nothing() {
    let fixture = Fixture::keys_only();
    let file = fixture.root.join("k.pem");
    let (code, _, stderr) =
        run(lianlog().args(["key", "new", "k", "--encrypt", "--out"]).arg(&file).env_remove("LIANLOG_PASSPHRASE"));
    assert_eq!(code, Some(4), "{stderr}");
    assert!(stderr.contains("--encrypt needs a passphrase"), "{stderr}");
    assert!(!file.exists());
    let (code, _, stderr) =
        run(lianlog().args(["key", "new", "k", "--encrypt", "--out"]).arg(&file).env("LIANLOG_PASSPHRASE", ""));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(!file.exists());
}

#[test]
fn the_log_key_leaves_the_ledger_only_through_export_log_key() {
    let fixture = Fixture::build();
    let report = fixture.verify_json();
    let out = fixture.root.join("backup").join("log-key.pem");
    std::fs::create_dir(fixture.root.join("backup")).unwrap();
    let (code, stdout, stderr) = run(fixture.cmd().args(["key", "export-log-key", "--out"]).arg(&out));
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout.trim(), report["log_key"].as_str().unwrap(), "prints the log key's vkey");
    assert!(stderr.contains("mode 0600") && stderr.contains("keep it offline"), "{stderr}");
    assert_eq!(mode(&out), 0o600);
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(fixture.ledger.join("log-key.pem")).unwrap());
    // Never over an existing file.
    let before = std::fs::read(&out).unwrap();
    let (code, _, stderr) = run(fixture.cmd().args(["key", "export-log-key", "--out"]).arg(&out));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("already exists"), "{stderr}");
    assert_eq!(std::fs::read(&out).unwrap(), before);
    // Encrypted, if asked.
    let encrypted = fixture.root.join("backup").join("log-key.enc.pem");
    let (code, _, stderr) = run(fixture
        .cmd()
        .args(["key", "export-log-key", "--encrypt", "--out"])
        .arg(&encrypted)
        .env("LIANLOG_PASSPHRASE", PASSPHRASE));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(std::fs::read_to_string(&encrypted).unwrap().contains("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    let (code, stdout, _) = run(lianlog().args(["key", "show"]).arg(&encrypted).env("LIANLOG_PASSPHRASE", PASSPHRASE));
    assert_eq!((code, stdout.trim()), (Some(0), report["log_key"].as_str().unwrap()));
    // The log key signs checkpoints only: it cannot author a record.
    let (code, _, stderr) = run(fixture
        .cmd()
        .args(["append", "interview", "--key"])
        .arg(&out)
        .write_stdin(interview_body("张三", "约谈").to_string()));
    assert_eq!(code, Some(3), "{stderr}");
    // A log-key.pem that is not genesis's log key is not exported.
    let copy = fixture.copy();
    std::fs::remove_file(copy.ledger.join("log-key.pem")).unwrap();
    std::fs::copy(&copy.admin, copy.ledger.join("log-key.pem")).unwrap();
    let (code, _, stderr) = run(copy.cmd().args(["key", "export-log-key", "--out"]).arg(copy.root.join("x.pem")));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("is not the log key that the genesis entry names"), "{stderr}");
    assert!(!copy.root.join("x.pem").exists());
}

#[test]
fn no_command_prints_a_private_key() {
    let fixture = Fixture::build();
    let secrets: Vec<(String, Vec<u8>)> = [&fixture.admin, &fixture.qian, &fixture.ledger.join("log-key.pem")]
        .iter()
        .map(|file| (file.display().to_string(), seed_of(file)))
        .collect();
    let backup = fixture.root.join("log-key-backup.pem");
    let commands: Vec<Vec<std::ffi::OsString>> = vec![
        vec!["key".into(), "show".into(), fixture.admin.clone().into()],
        vec!["--json".into(), "key".into(), "show".into(), fixture.qian.clone().into()],
        vec!["key".into(), "list".into()],
        vec!["--json".into(), "key".into(), "list".into()],
        vec!["key".into(), "export-log-key".into(), "--out".into(), backup.into()],
        vec!["checkpoint".into()],
        vec!["--json".into(), "checkpoint".into()],
        vec!["log".into()],
        vec!["--json".into(), "verify".into()],
        vec!["export".into()],
    ];
    for args in commands {
        let (code, stdout, stderr) = run(fixture.cmd().args(&args));
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        for (file, secret) in &secrets {
            for spelling in spellings(secret) {
                assert!(
                    !stdout.contains(&spelling) && !stderr.contains(&spelling),
                    "{args:?} printed the key in {file}"
                );
            }
        }
    }
    // Nor does an error about a damaged key file repeat the file's contents.
    let damaged = fixture.root.join("damaged.pem");
    let text = std::fs::read_to_string(&fixture.qian).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let body_line = lines.iter().position(|l| l.starts_with("-----BEGIN")).unwrap() + 1;
    lines[body_line].replace_range(0..4, "AAAA");
    std::fs::write(&damaged, format!("{}\n", lines.join("\n"))).unwrap();
    std::fs::set_permissions(&damaged, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (code, stdout, stderr) = run(lianlog().args(["key", "show"]).arg(&damaged));
    assert_eq!(code, Some(4), "{stderr}");
    assert!(!stderr.contains(&lines[body_line][4..20]) && !stdout.contains(&lines[body_line][4..20]), "{stderr}");
}

/// `verify --checkpoint` and `check inclusion` refuse a checkpoint that only looks like the
/// log's: signed by another key bearing the origin's name.
#[test]
fn a_checkpoint_not_signed_by_the_log_key_is_refused_by_verify_and_check() {
    let fixture = Fixture::build();
    let report = fixture.verify_json();
    let (code, genuine, _) = run(fixture.cmd().arg("checkpoint"));
    assert_eq!(code, Some(0));
    let (code, bundle, _) = run(fixture.cmd().args(["prove", "inclusion", "4"]));
    assert_eq!(code, Some(0));
    let (code, entry, _) = run(fixture.cmd().args(["show", "4", "--raw"]));
    assert_eq!(code, Some(0));
    let entry_file = fixture.root.join("entry4.bin");
    std::fs::write(&entry_file, entry).unwrap();

    let parsed = lianlog_ledger::note::Note::parse(&genuine).unwrap();
    let checkpoint = lianlog_ledger::note::Checkpoint::parse_text(&parsed.text).unwrap();
    let impostor =
        lianlog_ledger::SecretKey::generate(lianlog_ledger::KeyName::parse(common::ORIGIN).unwrap()).unwrap();
    let forged = lianlog_ledger::note::sign_checkpoint(&checkpoint, &impostor).unwrap();
    let forged_file = fixture.root.join("forged-checkpoint.txt");
    std::fs::write(&forged_file, &forged).unwrap();
    let genuine_file = fixture.root.join("checkpoint.txt");
    std::fs::write(&genuine_file, &genuine).unwrap();

    let (code, _, stderr) = run(fixture.cmd().args(["verify", "--checkpoint"]).arg(&genuine_file));
    assert_eq!(code, Some(0), "the control: {stderr}");
    let (code, stdout, stderr) = run(fixture.cmd().args(["verify", "--checkpoint"]).arg(&forged_file));
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("no valid signature by the log key"), "{stdout}");

    let log_vkey = report["log_key"].as_str().unwrap();
    let forged_bundle = bundle.replace(&genuine, &forged);
    assert_ne!(forged_bundle, bundle);
    for (text, expected) in [(&bundle, Some(0)), (&forged_bundle, Some(1))] {
        let proof_file = fixture.root.join("proof.txt");
        std::fs::write(&proof_file, text).unwrap();
        let (code, stdout, stderr) = run(lianlog()
            .args(["check", "inclusion"])
            .arg(&proof_file)
            .arg("--entry")
            .arg(&entry_file)
            .args(["--vkey", log_vkey]));
        assert_eq!(code, expected, "{stdout}{stderr}");
        if expected == Some(1) {
            assert!(stderr.contains("no valid signature by the log key"), "{stderr}");
        }
    }
}

/// Key files are 0600 whatever the umask, and `key new` never replaces a file.
#[test]
fn key_files_are_0600_under_any_umask_and_never_replaced() {
    let fixture = Fixture::keys_only();
    let bin = assert_cmd::cargo::cargo_bin("lianlog");
    for (name, extra) in [("plain", ""), ("encrypted", " --encrypt")] {
        let file = fixture.root.join(format!("{name}.pem"));
        let script = format!("umask 000; exec \"$0\" key new officer.{name} --out \"$1\"{extra}");
        let output = std::process::Command::new("sh")
            .args(["-c", &script])
            .arg(&bin)
            .arg(&file)
            .env("LIANLOG_PASSPHRASE", PASSPHRASE)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        assert_eq!(mode(&file), 0o600, "{name}");
        let before = std::fs::read(&file).unwrap();
        let (code, _, stderr) = run(lianlog().args(["key", "new", "other", "--out"]).arg(&file));
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stderr.contains("already exists"), "{stderr}");
        assert_eq!(std::fs::read(&file).unwrap(), before, "{name}: not replaced");
    }
    // No temporary file is left beside the keys.
    let leftovers: Vec<_> = std::fs::read_dir(&fixture.root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Item 8 of issue 12: `checkpoint` (and everything else that signs one: `prove inclusion`,
/// `disclose`) checks `log-key.pem` against the log key the genesis entry names before it signs.
#[test]
fn a_replaced_log_key_signs_no_checkpoint() {
    let fixture = Fixture::build();
    std::fs::remove_file(fixture.ledger.join("log-key.pem")).unwrap();
    // A key with the right name (the origin), so only the check against genesis can tell.
    let (code, _, stderr) =
        run(lianlog().args(["key", "new", common::ORIGIN, "--out"]).arg(fixture.ledger.join("log-key.pem")));
    assert_eq!(code, Some(0), "{stderr}");
    let out = fixture.root.join("P-1.disclosure");
    for args in [
        vec!["checkpoint"],
        vec!["--json", "checkpoint"],
        vec!["prove", "inclusion", "4"],
        vec!["disclose", "张三", "--key", fixture.qian.to_str().unwrap(), "--out", out.to_str().unwrap()],
    ] {
        let (code, stdout, stderr) = run(fixture.cmd().args(&args));
        assert_eq!(code, Some(1), "{args:?}: {stdout}{stderr}");
        assert!(
            stderr.contains("log-key.pem") && stderr.contains("is not the log key that the genesis entry names"),
            "{stderr}"
        );
        assert!(!stdout.contains("— "), "{args:?} printed a signed note: {stdout}");
    }
    assert!(!out.exists());
}

/// Item 9 of issue 12: a key path that is a FIFO (or a device) is refused at once instead of
/// waiting forever for a writer.
#[test]
fn a_key_path_that_is_a_fifo_is_refused_without_hanging() {
    let fixture = Fixture::build();
    let fifo = fixture.root.join("key.fifo");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    for args in [vec!["append", "interview", "--key"], vec!["key", "show"]] {
        let output = fixture
            .cmd()
            .args(&args)
            .arg(&fifo)
            .write_stdin(interview_body("张三", "约谈").to_string())
            .timeout(std::time::Duration::from_secs(20))
            .output()
            .unwrap();
        let (_, stderr) = output_text(&output);
        assert_eq!(output.status.code(), Some(4), "{args:?}: {stderr}");
        assert!(stderr.contains("key.fifo") && stderr.contains("regular file"), "{stderr}");
    }
    let (code, _, stderr) = run(fixture.cmd().args(["key", "show"]).arg("/dev/zero"));
    assert_eq!(code, Some(4), "{stderr}");
}
