//! `lianlog init` (台账创建): a new ledger, its log key and its genesis entry (`Ledger::init`).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use lianlog_ledger::{KeyName, Ledger};
use serde_json::json;

use crate::args::InitArgs;
use crate::io::{print_json, read_key};

pub fn run(args: InitArgs, dir: &Path, json_output: bool) -> Result<ExitCode> {
    let origin = KeyName::parse(&args.origin)?;
    let admin = read_key(&args.key)?;
    let ledger = Ledger::init(dir, &origin, &admin, args.holder.into())?;
    let genesis = ledger.read(0)?;
    let log_vkey = ledger.registry().log_key.clone();
    if json_output {
        print_json(
            &json!({"ledger": dir, "origin": origin.as_str(), "log_key": log_vkey, "entry_hash": genesis.entry_hash.to_hex()}),
        );
    } else {
        println!("created ledger {} (origin {})", dir.display(), origin);
        println!("log key: {log_vkey}");
        println!("genesis entry 0: {}", genesis.entry_hash);
    }
    Ok(ExitCode::SUCCESS)
}
