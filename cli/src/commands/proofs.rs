//! `lianlog prove …` and `lianlog check …` (证明, 离线核验): Merkle proofs from the ledger, and their
//! offline checks (inclusion bundles, consistency of two checkpoints, disclosure packages), which
//! need no ledger: only the files and the log key's vkey.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use lianlog_ledger::PublicKey;
use serde_json::json;

use crate::args::{CheckCommand, ProveCommand};
use crate::io::Remote;
use crate::io::{
    cosigner_policy, no_passphrase_for_log_key, open_reader, parse_cosigners, print_json, read_limited, read_text,
};
use crate::render;

pub fn prove(command: ProveCommand, dir: &Path, remote: Option<&Remote>, json_output: bool) -> Result<ExitCode> {
    if let Some(remote) = remote {
        return Err(remote.unsupported("prove"));
    }
    match command {
        ProveCommand::Inclusion { seq, size } => {
            let ledger = open_reader(dir)?;
            let size = size.unwrap_or(ledger.size());
            let hashes = ledger.inclusion_proof(seq, size)?;
            let line = ledger.read(seq)?;
            if json_output {
                print_json(&json!({
                    "index": seq,
                    "size": size,
                    "leaf_hash": line.entry_hash.to_hex(),
                    "root": lianlog_ledger::encoding::hex(&ledger.root_at(size)?),
                    "hashes": hashes.iter().map(|h| lianlog_ledger::encoding::hex(h)).collect::<Vec<_>>(),
                }));
            } else {
                let log_key = ledger.log_key(&mut no_passphrase_for_log_key)?;
                let checkpoint = ledger.checkpoint(size, &log_key)?;
                let bundle = lianlog_ledger::proof::InclusionBundle { extra: None, index: seq, hashes, checkpoint };
                print!("{}", bundle.to_text());
            }
        }
        ProveCommand::Consistency { old, new } => {
            let ledger = open_reader(dir)?;
            let hashes = ledger.consistency_proof(old, new)?;
            if json_output {
                print_json(&json!({
                    "old_size": old,
                    "new_size": new,
                    "old_root": lianlog_ledger::encoding::hex(&ledger.root_at(old)?),
                    "new_root": lianlog_ledger::encoding::hex(&ledger.root_at(new)?),
                    "hashes": hashes.iter().map(|h| lianlog_ledger::encoding::hex(h)).collect::<Vec<_>>(),
                }));
            } else {
                print!("{}", lianlog_ledger::proof::consistency_to_text(&hashes));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn check(command: CheckCommand, json_output: bool) -> Result<ExitCode> {
    match command {
        CheckCommand::Inclusion { proof, entry, vkey, cosigner, witness_quorum } => {
            let log_key = PublicKey::parse_vkey(&vkey)?;
            let cosigners = parse_cosigners(&cosigner)?;
            let cosigners = cosigner_policy(&cosigners, witness_quorum)?;
            let bundle = read_text(&proof)?;
            let entry_file = read_limited(Some(&entry), lianlog_ledger::limits::MAX_LINE_BYTES + 1)?;
            let entry_bytes = lianlog_ledger::proof::entry_bytes_from_file(&entry_file)?;
            let checked = lianlog_ledger::proof::check_inclusion(&bundle, &entry_bytes, &log_key, cosigners)
                .map_err(|e| e.at(proof.display()))?;
            let cp = &checked.checkpoint.checkpoint;
            if json_output {
                print_json(
                    &json!({"ok": true, "index": checked.index, "size": cp.size, "origin": cp.origin, "leaf_hash": lianlog_ledger::encoding::hex(&checked.leaf), "cosignatures": render::cosignatures_json(&checked.checkpoint.cosignatures)}),
                );
            } else {
                println!(
                    "OK: the entry (leaf {}) is entry {} of {} in the tree of size {} signed by the log key",
                    lianlog_ledger::encoding::hex(&checked.leaf),
                    checked.index,
                    cp.origin,
                    cp.size
                );
                render::print_cosignatures("   ", &checked.checkpoint.cosignatures);
            }
        }
        CheckCommand::Disclosure { file, vkey, cosigner, witness_quorum } => {
            let log_key = PublicKey::parse_vkey(&vkey)?;
            let cosigners = parse_cosigners(&cosigner)?;
            let cosigners = cosigner_policy(&cosigners, witness_quorum)?;
            let text = read_text(&file)?;
            let checked =
                lianlog_ledger::disclosure::check(&text, &log_key, cosigners).map_err(|e| e.at(file.display()))?;
            let shown = |seq: &u64| checked.shown.get(seq).map(|s| s.as_str()).unwrap_or("full");
            if json_output {
                print_json(&json!({
                    "ok": true, "person": checked.person, "format": checked.format, "size": checked.size,
                    "signer": checked.signer,
                    "records": checked.records.iter().map(|(seq, kind)| json!({"seq": seq, "kind": kind, "shown": shown(seq)})).collect::<Vec<_>>(),
                    "withheld": checked.withheld.iter().map(|(seq, why)| json!({"seq": seq, "why": why})).collect::<Vec<_>>(),
                    "cosignatures": render::cosignatures_json(&checked.cosignatures),
                }));
            } else {
                let (records, verb) = match checked.records.len() {
                    0 => ("no record".to_string(), "is"),
                    1 => ("1 record".to_string(), "is"),
                    n => (format!("{n} records"), "are"),
                };
                // The list follows the colon; an empty package has no list to announce.
                let signed = if checked.records.is_empty() { "" } else { ", signed by keys authorized at the time:" };
                println!(
                    "OK: {records} about {} {verb} in {} (checkpoint size {}){signed}",
                    checked.person, checked.origin, checked.size
                );
                for (seq, kind) in &checked.records {
                    let note = match shown(seq) {
                        "masked" => {
                            "  [masked: also about other people; entry proven, shown body attested by the signer only]"
                        }
                        "redacted" => "  [redacted: entry proven, body removed]",
                        _ => "",
                    };
                    println!("  seq {seq}  {}{note}", lianlog_ledger::schema::label_zh(kind));
                }
                if let Some(signer) = &checked.signer {
                    println!("package signed by {signer} (an officer or admin of the ledger at the checkpoint)");
                }
                if !checked.withheld.is_empty() {
                    println!(
                        "{} redacted records of the ledger have no replacement and may have named anyone: seq {}",
                        checked.withheld.len(),
                        checked.withheld.iter().map(|(seq, _)| seq.to_string()).collect::<Vec<_>>().join(", ")
                    );
                }
                render::print_cosignatures("  checkpoint ", &checked.cosignatures);
            }
        }
        CheckCommand::Consistency { proof, old, new, vkey, cosigner, witness_quorum } => {
            let log_key = PublicKey::parse_vkey(&vkey)?;
            let cosigners = parse_cosigners(&cosigner)?;
            let cosigners = cosigner_policy(&cosigners, witness_quorum)?;
            let (old_cp, new_cp) = lianlog_ledger::proof::check_consistency(
                &read_text(&proof)?,
                &read_text(&old)?,
                &read_text(&new)?,
                &log_key,
                cosigners,
            )
            .map_err(|e| e.at(format!("--old {} --new {}", old.display(), new.display())))?;
            if json_output {
                print_json(
                    &json!({"ok": true, "origin": new_cp.checkpoint.origin, "old_size": old_cp.checkpoint.size, "new_size": new_cp.checkpoint.size, "old_cosignatures": render::cosignatures_json(&old_cp.cosignatures), "new_cosignatures": render::cosignatures_json(&new_cp.cosignatures)}),
                );
            } else {
                println!(
                    "OK: {} at size {} extends the checkpoint at size {} (nothing before it was changed or removed)",
                    new_cp.checkpoint.origin, new_cp.checkpoint.size, old_cp.checkpoint.size
                );
                render::print_cosignatures(&format!("   old ({}) ", old.display()), &old_cp.cosignatures);
                render::print_cosignatures(&format!("   new ({}) ", new.display()), &new_cp.cosignatures);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
