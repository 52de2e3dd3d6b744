//! `lianlog redact` and `lianlog disclose` (内容删除, 个人信息披露): privacy. A redaction removes a
//! body and keeps every hash, signature and proof (`Ledger::redact`); a disclosure package gives a
//! person every record concerning them, other people masked, with proofs (`disclosure::disclose`).

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use lianlog_ledger::Error;
use serde_json::json;

use crate::args::{DiscloseArgs, RedactArgs};
use crate::io::Remote;
use crate::io::{
    no_passphrase_for_log_key, open, open_reader, print_json, read_json_input, read_key, read_text, refuse_existing,
    write_output,
};

pub fn redact(args: RedactArgs, dir: &Path, json_output: bool) -> Result<ExitCode> {
    let admin = read_key(&args.key)?;
    let replacement =
        args.replacement.as_deref().map(|p| read_json_input(&p.to_string_lossy(), "replacement")).transpose()?;
    let officer = args.replacement_key.as_deref().map(read_key).transpose()?;
    let replacement = replacement
        .map(|body| lianlog_ledger::ledger::Replacement { body, officer: officer.as_ref().unwrap_or(&admin) });
    let mut ledger = open(dir)?;
    let redacted = ledger.redact(args.seq, &args.reason, replacement, &admin)?;
    if json_output {
        print_json(
            &json!({"target": redacted.target, "by": redacted.by, "entry_hash": redacted.entry_hash.to_hex(), "replacement": redacted.replacement}),
        );
    } else {
        let replacement = match redacted.replacement {
            Some(seq) => format!("; its replacement is the correction at seq {seq}"),
            None => String::new(),
        };
        println!(
            "redacted the body of seq {} (entry hash {} unchanged) by seq {}{replacement}; the derived store was rebuilt without it",
            redacted.target, redacted.entry_hash, redacted.by
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn disclose(args: DiscloseArgs, dir: &Path, remote: Option<&Remote>, json_output: bool) -> Result<ExitCode> {
    refuse_existing(&args.out, args.force)?;
    let package = match remote {
        Some(remote) => remote_package(&args, remote)?,
        None => local_package(&args, dir)?,
    };
    write_output(&args.out, args.force, |file| {
        file.write_all(package.text.as_bytes()).map_err(|err| Error::io("write", &args.out, err))
    })?;
    if json_output {
        print_json(&json!({
            "person": args.person_id, "records": package.records, "masked": package.masked,
            "redacted": package.redacted, "withheld": package.withheld, "key_lines": package.key_lines,
            "size": package.size, "signer": package.signer, "file": args.out,
        }));
    } else {
        println!(
            "wrote {}: {} records concerning {} ({} full, {} masked because they also concern other people, \
             {} redacted), {} key-registry lines (keys and roles only), each with an inclusion proof against \
             the checkpoint at size {}; signed by {}",
            args.out.display(),
            package.records,
            args.person_id,
            package.records - package.masked - package.redacted,
            package.masked,
            package.redacted,
            package.key_lines,
            package.size,
            package.signer
        );
        if package.withheld > 0 {
            println!(
                "  {} redacted records of the ledger have no replacement: whom they named is no longer known, \
                 so they are listed in the package as withheld",
                package.withheld
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The package built from the local ledger and signed with `--key`.
fn local_package(args: &DiscloseArgs, dir: &Path) -> Result<lianlog_ledger::disclosure::Package> {
    use lianlog_ledger::disclosure::{PackageCheckpoint, disclose};
    let ledger = open_reader(dir)?;
    let signer = read_key(&args.key)?;
    Ok(match &args.checkpoint {
        Some(path) => {
            let note = read_text(path)?;
            disclose(&ledger, &args.person_id, PackageCheckpoint::Given(&note), &signer)
                .map_err(|e| e.at(path.display()))?
        }
        None => {
            let log_key = ledger.log_key(&mut no_passphrase_for_log_key)?;
            disclose(&ledger, &args.person_id, PackageCheckpoint::Sign(&log_key), &signer)?
        }
    })
}

/// The package built by the server's ledger and signed here with `--key`: the officer's key
/// never leaves this machine (`disclosure::prepare` there, `UnsignedPackage::sign` here).
fn remote_package(args: &DiscloseArgs, remote: &Remote) -> Result<lianlog_ledger::disclosure::Package> {
    let signer = read_key(&args.key)?;
    let note = args.checkpoint.as_deref().map(read_text).transpose()?;
    let client = remote.signed_client("disclose")?;
    let unsigned = lianlog_remote::reads::disclose(&client, &args.person_id, signer.public(), note.as_deref());
    let unsigned = match &args.checkpoint {
        Some(path) => unsigned.map_err(|e| e.at(path.display()))?,
        None => unsigned?,
    };
    Ok(unsigned.sign(&signer)?)
}
