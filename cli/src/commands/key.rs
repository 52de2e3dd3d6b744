//! `lianlog key …` (密钥管理): new key files, the log key's backup copy, vkeys, and the grants and
//! revocations the registry records (`Ledger::grant`, `Ledger::revoke`).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use lianlog_ledger::{Error, KeyName, PublicKey, Role, SecretKey};
use serde_json::{Value, json};

use crate::args::KeyCommand;
use crate::io::{new_passphrase, no_passphrase_for_log_key, open, open_reader, print_json, print_notes_from, read_key};
use crate::render;

pub fn run(command: KeyCommand, dir: &Path, json_output: bool) -> Result<ExitCode> {
    match command {
        KeyCommand::New { name, out, encrypt, weak_passphrase_ok } => {
            let key = SecretKey::generate(KeyName::parse(&name)?)?;
            if encrypt {
                let passphrase = new_passphrase(&out, weak_passphrase_ok)?;
                key.write_new_encrypted_file(&out, &passphrase)?;
            } else {
                key.write_new_file(&out)?;
            }
            if json_output {
                print_json(&json!({"vkey": key.public().vkey(), "identity": key.public().identity(), "file": out}));
            } else {
                println!("{}", key.public().vkey());
            }
        }
        KeyCommand::ExportLogKey { out, encrypt, weak_passphrase_ok } => {
            let passphrase = if encrypt { Some(new_passphrase(&out, weak_passphrase_ok)?) } else { None };
            let public = lianlog_ledger::export_log_key(
                dir,
                &out,
                passphrase.as_ref().map(|p| p.as_str()),
                &mut no_passphrase_for_log_key,
            )?;
            if json_output {
                print_json(&json!({"vkey": public.vkey(), "file": out, "encrypted": encrypt}));
            } else {
                eprintln!(
                    "wrote the log key to {} (mode 0600{}); keep it offline: whoever holds it can sign checkpoints",
                    out.display(),
                    if encrypt { ", encrypted" } else { "" }
                );
                println!("{}", public.vkey());
            }
        }
        KeyCommand::Show { file, cosigner } => {
            let key = read_key(&file)?;
            let key = if cosigner { key.as_cosigner() } else { key };
            if json_output {
                print_json(&json!({"vkey": key.public().vkey(), "identity": key.public().identity()}));
            } else {
                println!("{}", key.public().vkey());
            }
        }
        KeyCommand::Grant { vkey, role, holder, key } => {
            let admin = read_key(&key)?;
            let roles = role
                .iter()
                .map(|r| {
                    Role::parse(r)
                        .ok_or_else(|| Error::bad_input(format!("--role {r:?}: use admin, officer or auditor")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            PublicKey::parse_vkey(&vkey)?;
            let mut ledger = open(dir)?;
            let notes = ledger.notes().len();
            let appended = ledger.grant(&vkey, &roles, &holder.into(), &admin)?;
            print_notes_from(&ledger, notes);
            print_appended(&appended, json_output);
        }
        KeyCommand::Revoke { identity, reason, key } => {
            let admin = read_key(&key)?;
            // Accept a vkey too: its identity is its first two parts.
            let identity = match PublicKey::parse_vkey(&identity) {
                Ok(public) => public.identity(),
                Err(_) => identity,
            };
            let mut ledger = open(dir)?;
            let notes = ledger.notes().len();
            let appended = ledger.revoke(&identity, &reason, &admin)?;
            print_notes_from(&ledger, notes);
            print_appended(&appended, json_output);
        }
        KeyCommand::List => {
            let ledger = open_reader(dir)?;
            if json_output {
                print_json(&serde_json::to_value(ledger.registry()).unwrap_or(Value::Null));
            } else {
                render::print_keys(ledger.registry());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_appended(appended: &lianlog_ledger::Appended, json_output: bool) {
    if json_output {
        print_json(&json!({"seq": appended.seq, "entry_hash": appended.hash.to_hex()}));
    } else {
        println!("appended seq {} entry hash {}", appended.seq, appended.hash);
    }
}
