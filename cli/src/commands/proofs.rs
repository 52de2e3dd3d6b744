//! `lianlog prove …` and `lianlog check …` (证明, 离线核验): Merkle proofs from the ledger, and their
//! offline checks (inclusion bundles, consistency of two checkpoints, disclosure packages), which
//! need no ledger: only the files and the log key's vkey.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use lianlog_ledger::PublicKey;
use lianlog_ledger::note::CosignerPolicy;
use serde_json::json;

use crate::args::{CheckCommand, ProveCommand};
use crate::io::Remote;
use crate::io::{
    cosigner_policy, no_passphrase_for_log_key, open_reader, parse_cosigners, print_json, read_limited, read_text,
};
use crate::render;

pub fn prove(command: ProveCommand, dir: &Path, remote: Option<&Remote>, json_output: bool) -> Result<ExitCode> {
    if let Some(remote) = remote {
        return prove_remote(command, remote, json_output);
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

/// `prove … --server URL`: the proof from the server's signed read, checked here against the
/// roots it states (and the checkpoint's) before it is printed exactly as the local command prints it.
fn prove_remote(command: ProveCommand, remote: &Remote, json_output: bool) -> Result<ExitCode> {
    use lianlog_ledger::encoding::{hex, parse_hex};
    let client = remote.signed_client("prove")?;
    let root = |text: &str, what: &str| {
        parse_hex::<32>(text).ok_or_else(|| {
            lianlog_ledger::Error::verification(format!("{}: the server's {what} is not a hash", remote.url))
        })
    };
    match command {
        ProveCommand::Inclusion { seq, size } => {
            let proof = lianlog_remote::reads::prove_inclusion(&client, seq, size)?;
            let (leaf, tree_root) = (root(&proof.leaf_hash, "leaf hash")?, root(&proof.root, "root")?);
            if size.is_some_and(|size| size != proof.size)
                || !lianlog_ledger::merkle::verify_inclusion(seq, proof.size, &leaf, &proof.hashes, &tree_root)
            {
                return Err(lianlog_ledger::Error::verification(format!(
                    "{}: the server's inclusion proof does not lead from entry {seq} to the root it states",
                    remote.url
                ))
                .into());
            }
            let note = lianlog_ledger::Note::parse(&proof.checkpoint)?;
            let checkpoint = lianlog_ledger::Checkpoint::parse_text(&note.text)?;
            if (checkpoint.size, checkpoint.root) != (proof.size, tree_root) {
                return Err(lianlog_ledger::Error::verification(format!(
                    "{}: the server's checkpoint is not of the tree its proof is for (size {})",
                    remote.url, proof.size
                ))
                .into());
            }
            if json_output {
                print_json(&json!({
                    "index": seq,
                    "size": proof.size,
                    "leaf_hash": proof.leaf_hash,
                    "root": proof.root,
                    "hashes": proof.hashes.iter().map(|h| hex(h)).collect::<Vec<_>>(),
                }));
            } else {
                let bundle = lianlog_ledger::proof::InclusionBundle {
                    extra: None,
                    index: seq,
                    hashes: proof.hashes,
                    checkpoint: proof.checkpoint,
                };
                print!("{}", bundle.to_text());
            }
        }
        ProveCommand::Consistency { old, new } => {
            let proof = lianlog_remote::reads::prove_consistency(&client, old, new)?;
            let (old_root, new_root) = (root(&proof.old_root, "old root")?, root(&proof.new_root, "new root")?);
            if (proof.old_size, proof.new_size) != (old, new)
                || !lianlog_ledger::merkle::verify_consistency(old, new, &old_root, &new_root, &proof.hashes)
            {
                return Err(lianlog_ledger::Error::verification(format!(
                    "{}: the server's consistency proof does not lead from the root at {old} to the root at {new} it states",
                    remote.url
                ))
                .into());
            }
            if json_output {
                print_json(&json!({
                    "old_size": old,
                    "new_size": new,
                    "old_root": proof.old_root,
                    "new_root": proof.new_root,
                    "hashes": proof.hashes.iter().map(|h| hex(h)).collect::<Vec<_>>(),
                }));
            } else {
                print!("{}", lianlog_ledger::proof::consistency_to_text(&proof.hashes));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `check inclusion --receipt FILE`: every receipt of the file, checked offline
/// (`Receipt::check`: entry hash, seq, and the inclusion bundle with the log key).
fn check_receipts(
    path: &Path,
    log_key: &PublicKey,
    cosigners: CosignerPolicy<'_>,
    json_output: bool,
) -> Result<ExitCode> {
    let bytes = read_limited(Some(path), lianlog_ledger::limits::MAX_IMPORT_BYTES + 1)?;
    let receipts = lianlog_ledger::Receipt::parse_file(&bytes).map_err(|e| e.at(path.display()))?;
    let mut checked = Vec::with_capacity(receipts.len());
    for (number, receipt) in receipts.iter().enumerate() {
        let place = if receipts.len() > 1 {
            format!("{}: receipt {}", path.display(), number + 1)
        } else {
            path.display().to_string()
        };
        checked.push(receipt.check(log_key, cosigners).map_err(|e| e.at(place))?);
    }
    if json_output {
        print_json(&json!({
            "ok": true,
            "receipts": checked.iter().map(|c| json!({
                "seq": c.seq,
                "entry_hash": c.entry_hash.to_hex(),
                "kind": c.kind,
                "author": c.author,
                "origin": c.checkpoint.checkpoint.origin,
                "size": c.checkpoint.checkpoint.size,
                "cosignatures": render::cosignatures_json(&c.checkpoint.cosignatures),
                "witnesses": render::witnesses_json(cosigners, &c.checkpoint.cosignatures),
            })).collect::<Vec<_>>(),
        }));
    } else {
        for c in &checked {
            let cp = &c.checkpoint.checkpoint;
            println!(
                "OK: seq {} ({}, by {}; entry hash {}) is entry {} of {} in the tree of size {} signed by the log key",
                c.seq,
                lianlog_ledger::schema::label_zh(&c.kind),
                c.author,
                c.entry_hash,
                c.seq,
                cp.origin,
                cp.size
            );
            render::print_cosignatures("   ", &c.checkpoint.cosignatures);
            render::print_witness_policy("   ", cosigners, &c.checkpoint.cosignatures);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn check(command: CheckCommand, json_output: bool) -> Result<ExitCode> {
    match command {
        CheckCommand::Inclusion { proof, entry, receipt, vkey, cosigner, witness_quorum } => {
            let log_key = PublicKey::parse_vkey(&vkey)?;
            let cosigners = parse_cosigners(&cosigner)?;
            let cosigners = cosigner_policy(&cosigners, witness_quorum)?;
            if let Some(receipt) = receipt {
                return check_receipts(&receipt, &log_key, cosigners, json_output);
            }
            let (Some(proof), Some(entry)) = (proof, entry) else {
                return Err(lianlog_ledger::Error::bad_input(
                    "check inclusion needs a proof file and --entry FILE, or --receipt FILE",
                )
                .into());
            };
            let bundle = read_text(&proof)?;
            let entry_file = read_limited(Some(&entry), lianlog_ledger::limits::MAX_LINE_BYTES + 1)?;
            let entry_bytes = lianlog_ledger::proof::entry_bytes_from_file(&entry_file)?;
            let checked = lianlog_ledger::proof::check_inclusion(&bundle, &entry_bytes, &log_key, cosigners)
                .map_err(|e| e.at(proof.display()))?;
            let cp = &checked.checkpoint.checkpoint;
            if json_output {
                print_json(
                    &json!({"ok": true, "index": checked.index, "size": cp.size, "origin": cp.origin, "leaf_hash": lianlog_ledger::encoding::hex(&checked.leaf), "cosignatures": render::cosignatures_json(&checked.checkpoint.cosignatures), "witnesses": render::witnesses_json(cosigners, &checked.checkpoint.cosignatures)}),
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
                render::print_witness_policy("   ", cosigners, &checked.checkpoint.cosignatures);
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
                    "witnesses": render::witnesses_json(cosigners, &checked.cosignatures),
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
                render::print_witness_policy("  checkpoint ", cosigners, &checked.cosignatures);
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
                    &json!({"ok": true, "origin": new_cp.checkpoint.origin, "old_size": old_cp.checkpoint.size, "new_size": new_cp.checkpoint.size, "old_cosignatures": render::cosignatures_json(&old_cp.cosignatures), "new_cosignatures": render::cosignatures_json(&new_cp.cosignatures), "old_witnesses": render::witnesses_json(cosigners, &old_cp.cosignatures), "new_witnesses": render::witnesses_json(cosigners, &new_cp.cosignatures)}),
                );
            } else {
                println!(
                    "OK: {} at size {} extends the checkpoint at size {} (nothing before it was changed or removed)",
                    new_cp.checkpoint.origin, new_cp.checkpoint.size, old_cp.checkpoint.size
                );
                render::print_cosignatures(&format!("   old ({}) ", old.display()), &old_cp.cosignatures);
                render::print_cosignatures(&format!("   new ({}) ", new.display()), &new_cp.cosignatures);
                render::print_witness_policy("   old ", cosigners, &old_cp.cosignatures);
                render::print_witness_policy("   new ", cosigners, &new_cp.cosignatures);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
