//! `lianlog receipt refresh` (回执升级): the same entries proved again against a newer checkpoint
//! — the witnessed one — so that a receipt made at append time (signed by the log key alone)
//! becomes one the witnesses cosigned. Every receipt is checked before (log key) and after (log key
//! and witness quorum) with `Receipt::check`; nothing is written unless all pass.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use lianlog_ledger::note::{self, CosignerPolicy};
use lianlog_ledger::witnessing;
use lianlog_ledger::{Error, PublicKey, Receipt};
use serde_json::json;

use crate::args::{ReceiptCommand, RefreshArgs};
use crate::io::{
    Remote, cosigner_policy, no_passphrase_for_log_key, open_reader, parse_cosigners, print_json, read_limited,
    read_text, refuse_existing, write_output,
};
use crate::render;

pub fn run(command: ReceiptCommand, dir: &Path, remote: Option<&Remote>, json_output: bool) -> Result<ExitCode> {
    match command {
        ReceiptCommand::Refresh(args) => refresh(args, dir, remote, json_output),
    }
}

fn refresh(args: RefreshArgs, dir: &Path, remote: Option<&Remote>, json_output: bool) -> Result<ExitCode> {
    let log_key = PublicKey::parse_vkey(&args.vkey)?;
    let witnesses = parse_cosigners(&args.witness)?;
    let policy = cosigner_policy(&witnesses, args.witness_quorum)?;
    // Refused before any work, like every command that writes a file.
    refuse_existing(&args.out, args.force)?;
    let bytes = read_limited(Some(&args.receipt), lianlog_ledger::limits::MAX_IMPORT_BYTES + 1)?;
    let receipts = Receipt::parse_file(&bytes).map_err(|e| e.at(args.receipt.display()))?;
    let place = |number: usize| format!("{}: receipt {}", args.receipt.display(), number + 1);
    // The receipts must be genuine first: the log key proved each entry at append time.
    for (number, receipt) in receipts.iter().enumerate() {
        receipt.check(&log_key, CosignerPolicy::all(&[])).map_err(|e| e.at(place(number)))?;
    }
    let (source, refreshed) = match remote {
        Some(remote) => (remote.url.clone(), from_server(remote, &args, &receipts, &log_key, policy)?),
        None => (dir.display().to_string(), from_ledger(dir, &args, &receipts)?),
    };
    let mut checked = Vec::with_capacity(refreshed.len());
    for (number, receipt) in refreshed.iter().enumerate() {
        checked.push(receipt.check(&log_key, policy).map_err(|e| e.at(format!("the refreshed {}", place(number))))?);
    }
    let lines: String = refreshed.iter().map(Receipt::to_line).collect();
    write_output(&args.out, args.force, |file| {
        use std::io::Write as _;
        file.write_all(lines.as_bytes()).map_err(|err| Error::io("write", &args.out, err))
    })?;
    let Some(first) = checked.first() else { return Ok(ExitCode::SUCCESS) };
    let checkpoint = &first.checkpoint;
    if json_output {
        print_json(&json!({
            "ok": true,
            "source": source,
            "out": args.out,
            "origin": checkpoint.checkpoint.origin,
            "size": checkpoint.checkpoint.size,
            "receipts": checked.iter().map(|c| json!({"seq": c.seq, "entry_hash": c.entry_hash.to_hex()})).collect::<Vec<_>>(),
            "cosignatures": render::cosignatures_json(&checkpoint.cosignatures),
            "witnesses_required": policy.quorum,
        }));
    } else {
        println!(
            "refreshed {} from {source}: now proved in the tree of size {} of {} 回执已升级, written to {}",
            render::count(checked.len(), "receipt", "receipts"),
            checkpoint.checkpoint.size,
            checkpoint.checkpoint.origin,
            args.out.display()
        );
        render::print_cosignatures("   ", &checkpoint.cosignatures);
        if checkpoint.cosignatures.is_empty() {
            println!("   not cosigned by any witness you named 无见证方副署 (name them with --witness)");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// With `--server`: the server's witnessed checkpoint (`GET /checkpoint`), checked against the
/// log key and the witness policy, and each entry's inclusion proof at its size (a signed read).
fn from_server(
    remote: &Remote,
    args: &RefreshArgs,
    receipts: &[Receipt],
    log_key: &PublicKey,
    policy: CosignerPolicy<'_>,
) -> Result<Vec<Receipt>> {
    if args.checkpoint.is_some() {
        return Err(Error::bad_input(
            "receipt refresh --server proves against the server's witnessed checkpoint; --checkpoint FILE is for \
             a ledger at hand (drop one of them)",
        )
        .into());
    }
    let note = lianlog_remote::witnessing::served_checkpoint(&remote.client()?)?;
    let checked = note::open_checkpoint(&note, log_key, policy)
        .map_err(|e| e.at(format!("the checkpoint served at {}/checkpoint", remote.url)))?;
    let size = checked.checkpoint.size;
    let client = remote.signed_client("receipt refresh")?;
    let mut out = Vec::with_capacity(receipts.len());
    for receipt in receipts {
        if receipt.seq >= size {
            return Err(Error::bad_input(format!(
                "the server's witnessed checkpoint has {size} entries and does not cover seq {} yet; the witnesses \
                 cosign a newer one within seconds when they are up: run this again later",
                receipt.seq
            ))
            .into());
        }
        let inclusion = lianlog_remote::reads::prove_inclusion(&client, receipt.seq, Some(size))?;
        if inclusion.size != size {
            return Err(Error::verification(format!(
                "the server proved seq {} in a tree of size {} when asked for size {size}",
                receipt.seq, inclusion.size
            ))
            .into());
        }
        out.push(witnessing::refreshed_receipt(receipt, inclusion.hashes, &note));
    }
    Ok(out)
}

/// With a ledger at hand: `--checkpoint FILE`, else `LEDGER/witnessed.checkpoint`, else a
/// checkpoint the log key signs now; each receipt built again by the ledger against it.
fn from_ledger(dir: &Path, args: &RefreshArgs, receipts: &[Receipt]) -> Result<Vec<Receipt>> {
    let ledger = open_reader(dir)?;
    let kept = witnessing::witnessed_path(&ledger);
    let note = match &args.checkpoint {
        Some(path) => read_text(path)?,
        None if std::fs::symlink_metadata(&kept).is_ok() => read_text(&kept)?,
        None => {
            let log_key = ledger.log_key(&mut no_passphrase_for_log_key)?;
            ledger.checkpoint(ledger.size(), &log_key)?
        }
    };
    let mut out = Vec::with_capacity(receipts.len());
    for receipt in receipts {
        let built = Receipt::build(&ledger, receipt.seq, &note)?;
        if built.entry_hash != receipt.entry_hash {
            return Err(Error::verification(format!(
                "seq {} of {} is entry {}, not the receipt's entry {}: this ledger is not the one that gave the \
                 receipt, or it was rewritten (keep the receipt: it is evidence; see docs/SECURITY.md)",
                receipt.seq,
                dir.display(),
                built.entry_hash,
                receipt.entry_hash
            ))
            .into());
        }
        out.push(built);
    }
    Ok(out)
}
