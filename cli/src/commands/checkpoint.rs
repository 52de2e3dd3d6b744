//! `lianlog checkpoint` (检查点): a C2SP checkpoint signed by the log key, or a cosignature added to
//! one (`checkpoint cosign`, which needs no ledger).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use lianlog_ledger::{KeyName, PublicKey};
use serde_json::json;

use crate::args::{CheckpointArgs, CheckpointCommand};
use crate::io::{no_passphrase_for_log_key, open_reader, print_json, read_key, read_text};

pub fn run(args: CheckpointArgs, dir: &Path, json_output: bool) -> Result<ExitCode> {
    match args.command {
        None => {
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
        Some(CheckpointCommand::Cosign { file, key, name, vkey }) => {
            let note = read_text(&file)?;
            if let Some(vkey) = vkey {
                lianlog_ledger::note::open_checkpoint(&note, &PublicKey::parse_vkey(&vkey)?, &[])?;
            } else {
                lianlog_ledger::note::Note::parse(&note)?;
            }
            let secret = read_key(&key)?;
            let secret = match name {
                Some(name) => secret.renamed(KeyName::parse(&name)?),
                None => secret,
            };
            let cosigner = secret.as_cosigner();
            let now = u64::try_from(lianlog_ledger::Timestamp::now().as_millis() / 1000).unwrap_or(0);
            let cosigned = lianlog_ledger::note::cosign(&note, &cosigner, now)?;
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
