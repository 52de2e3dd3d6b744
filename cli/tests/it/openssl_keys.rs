//! Key files: OpenSSL reads what lianlog writes, lianlog reads OpenSSL's encrypted PKCS#8, and
//! private keys are created 0600 and never replaced.

use std::os::unix::fs::PermissionsExt as _;
use std::process::Command;

use crate::common::lianlog;

fn openssl_available() -> bool {
    let ok = Command::new("openssl").arg("version").output().is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("SKIPPED: openssl is not installed");
    }
    ok
}

#[test]
fn key_files_are_0600_openssl_readable_and_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("qian.pem");
    let output = lianlog().args(["key", "new", "officer.qian", "--out"]).arg(&file).output().unwrap();
    assert!(output.status.success());
    let vkey = String::from_utf8(output.stdout).unwrap();
    assert!(vkey.starts_with("officer.qian+"), "{vkey}");
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    let again = lianlog().args(["key", "new", "officer.qian", "--out"]).arg(&file).output().unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    // The vkey printed is the one `key show` reads back.
    let shown = lianlog().args(["key", "show"]).arg(&file).output().unwrap();
    assert_eq!(String::from_utf8(shown.stdout).unwrap(), vkey);
    if !openssl_available() {
        return;
    }
    let public = Command::new("openssl").args(["pkey", "-pubout", "-in"]).arg(&file).output().unwrap();
    assert!(public.status.success(), "openssl pkey: {}", String::from_utf8_lossy(&public.stderr));
    assert!(String::from_utf8_lossy(&public.stdout).contains("BEGIN PUBLIC KEY"));
}

#[test]
fn an_openssl_encrypted_key_signs_with_its_passphrase() {
    if !openssl_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("admin.pem");
    let generated = Command::new("openssl")
        .args(["genpkey", "-algorithm", "ed25519", "-aes-256-cbc", "-pass", "env:PASS"])
        .env("PASS", "正确的口令 correct horse")
        .output()
        .unwrap();
    assert!(generated.status.success(), "{}", String::from_utf8_lossy(&generated.stderr));
    let pem = String::from_utf8(generated.stdout).unwrap();
    assert!(pem.contains("BEGIN ENCRYPTED PRIVATE KEY"));
    std::fs::write(&file, format!("lianlog key name: admin.zhao\n{pem}")).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();

    let show = |passphrase: Option<&str>| {
        let mut command = lianlog();
        command.args(["key", "show"]).arg(&file).env_remove("LIANLOG_PASSPHRASE");
        if let Some(passphrase) = passphrase {
            command.env("LIANLOG_PASSPHRASE", passphrase);
        }
        command.output().unwrap()
    };
    let ok = show(Some("正确的口令 correct horse"));
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).starts_with("admin.zhao+"));
    let wrong = show(Some("wrong"));
    assert_eq!(wrong.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("wrong passphrase"));
    // Without a terminal and without LIANLOG_PASSPHRASE it says how to supply one.
    let missing = show(None);
    assert_eq!(missing.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("LIANLOG_PASSPHRASE"));

    // The encrypted key can create and sign a ledger.
    let ledger = dir.path().join("ledger");
    lianlog()
        .arg("--ledger")
        .arg(&ledger)
        .args(["init", "--origin", "test.example/encrypted", "--holder-name", "赵", "--holder-unit", "纪委", "--key"])
        .arg(&file)
        .env("LIANLOG_PASSPHRASE", "正确的口令 correct horse")
        .assert()
        .success();
    lianlog().arg("--ledger").arg(&ledger).arg("verify").assert().success();
}
