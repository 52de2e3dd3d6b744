//! `lianlog witness …` (见证方): serve C2SP tlog-witness, and configure the logs a witness
//! witnesses. Arguments and rendering only; the rule is `lianlog_ledger::witness`, the HTTP server
//! `lianlog-server`. (The offline `checkpoint cosign` is in `checkpoint.rs`, on the same rule.)

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;
use lianlog_ledger::PublicKey;
use lianlog_ledger::witness::Witness;
use serde_json::json;

use crate::args::WitnessCommand;
use crate::io::{print_json, read_key};

/// Run `lianlog witness …`.
pub fn run(command: WitnessCommand, json_output: bool) -> Result<ExitCode> {
    match command {
        WitnessCommand::Serve { listen, key, state } => {
            let witness = Witness::open(&state)?;
            let cosigners =
                key.iter().map(|path| read_key(path).map(|key| key.as_cosigner())).collect::<Result<Vec<_>>>()?;
            let vkeys: Vec<String> = cosigners.iter().map(|cosigner| cosigner.public().vkey()).collect();
            let report: lianlog_server::Reporter = Arc::new(|line: String| eprintln!("lianlog witness: {line}"));
            let service = lianlog_server::WitnessService::new(witness, cosigners, report)?;
            for vkey in vkeys {
                eprintln!("witness key {vkey}");
            }
            // A server runs until stopped: with --json its one document is the address it listens on.
            lianlog_server::serve_witness(&listen, service, |address| {
                if json_output {
                    print_json(&json!({"listening": address.to_string()}));
                } else {
                    println!("listening on {address}");
                }
            })?;
        }
        WitnessCommand::AddLog { origin, vkey, state } => {
            let vkey = PublicKey::parse_vkey(&vkey)?;
            let witness = Witness::create(&state)?;
            let added = witness.add_log(&origin, &vkey)?;
            if json_output {
                print_json(&json!({"origin": origin, "vkey": vkey.vkey(), "added": added}));
            } else if added {
                println!("witnessing {origin} signed by {}", vkey.identity());
            } else {
                println!("already witnessing {origin} signed by {}", vkey.identity());
            }
        }
        WitnessCommand::List { state } => {
            let logs = Witness::open(&state)?.logs()?;
            if json_output {
                print_json(&json!(
                    logs.iter()
                        .map(|log| json!({
                            "origin": log.origin,
                            "witnessed": !log.vkeys.is_empty(),
                            "vkeys": log.vkeys.iter().map(PublicKey::vkey).collect::<Vec<_>>(),
                            "size": log.cosigned.as_ref().map(|c| c.size),
                            "root": log.cosigned.as_ref().map(|c| lianlog_ledger::encoding::hex(&c.root)),
                        }))
                        .collect::<Vec<_>>()
                ));
            } else {
                for log in &logs {
                    let cosigned = match &log.cosigned {
                        Some(cosigned) => format!(
                            "cosigned size {} root {}",
                            cosigned.size,
                            lianlog_ledger::encoding::hex(&cosigned.root)
                        ),
                        None => "nothing cosigned yet".to_string(),
                    };
                    let keys = if log.vkeys.is_empty() {
                        "removed".to_string()
                    } else {
                        log.vkeys.iter().map(PublicKey::vkey).collect::<Vec<_>>().join(" ")
                    };
                    println!("{}  {cosigned}  {keys}", log.origin);
                }
                if logs.is_empty() {
                    println!("no logs: add one with `lianlog witness add-log`");
                }
            }
        }
        WitnessCommand::Remove { origin, state } => {
            Witness::open(&state)?.remove_log(&origin)?;
            if json_output {
                print_json(&json!({"origin": origin, "removed": true}));
            } else {
                println!("no longer witnessing {origin} (what was cosigned is kept)");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
