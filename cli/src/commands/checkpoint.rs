//! `lianlog checkpoint` (检查点): a C2SP checkpoint signed by the log key, or a cosignature added to
//! one (`checkpoint cosign`, which needs no ledger: the witness rule of `lianlog_ledger::witness`
//! with a state directory, as `lianlog witness serve` applies it).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use lianlog_ledger::witness::Witness;
use lianlog_ledger::{KeyName, PublicKey};
use serde_json::json;

use crate::args::{CheckpointArgs, CheckpointCommand};
use crate::io::Remote;
use crate::io::{no_passphrase_for_log_key, open_reader, print_json, read_key, read_text};

pub fn run(args: CheckpointArgs, dir: &Path, remote: Option<&Remote>, json_output: bool) -> Result<ExitCode> {
    match (args.command, remote) {
        // Signed now by the server's log key, as the local command signs with the ledger's.
        (None, Some(remote)) => {
            let answer = lianlog_remote::reads::checkpoint(&remote.signed_client("checkpoint")?, args.size)?;
            if json_output {
                print_json(
                    &json!({"origin": answer.origin, "size": answer.size, "root": answer.root, "note": answer.note}),
                );
            } else {
                print!("{}", answer.note);
            }
        }
        (None, None) => {
            let ledger = open_reader(dir)?;
            let size = args.size.unwrap_or(ledger.size());
            let log_key = ledger.log_key(&mut no_passphrase_for_log_key)?;
            let note = ledger.checkpoint(size, &log_key)?;
            if json_output {
                print_json(
                    &json!({"origin": ledger.origin(), "size": size, "root": lianlog_ledger::encoding::hex(&ledger.root_at(size)?), "note": note}),
                );
            } else {
                print!("{note}");
            }
        }
        // The witness rule offline: the log key must have signed it, and it must extend what this
        // key cosigned before (remembered in --state); see lianlog_ledger::witness.
        (Some(CheckpointCommand::Cosign(args)), _) => {
            let note = read_text(&args.file)?;
            let log_key = PublicKey::parse_vkey(&args.vkey)?;
            let proof = match &args.proof {
                Some(path) => lianlog_ledger::proof::parse_consistency_text(&read_text(path)?)
                    .map_err(|err| err.at(path.display()))?,
                None => Vec::new(),
            };
            let secret = read_key(&args.key)?;
            let secret = match args.name {
                Some(name) => secret.renamed(KeyName::parse(&name)?),
                None => secret,
            };
            let cosigner = secret.as_cosigner();
            let witness = Witness::create(&args.state)?;
            let now = u64::try_from(lianlog_ledger::Timestamp::now().as_millis() / 1000).unwrap_or(0);
            let cosigned = witness
                .cosign_offline(&note, &log_key, &proof, std::slice::from_ref(&cosigner), now)
                .map_err(|err| err.at(args.file.display()))?;
            if json_output {
                print_json(&json!({"cosigner": cosigner.public().vkey(), "time": now, "note": cosigned}));
            } else {
                eprintln!("cosigned as {}", cosigner.public().vkey());
                print!("{cosigned}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
