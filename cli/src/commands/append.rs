//! `lianlog append` and `lianlog import` (追加记录, 批量导入): records signed by the author's key,
//! one or a batch that is written whole or not at all (`Ledger::append`, `Ledger::append_batch`).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use lianlog_ledger::Draft;
use serde_json::json;

use crate::args::{AppendArgs, ImportArgs};
use crate::io::Remote;
use crate::io::{open, print_json, print_notes_from, read_import, read_json_input, read_key};

pub fn append(args: AppendArgs, dir: &Path, remote: Option<&Remote>, json_output: bool) -> Result<ExitCode> {
    if let Some(remote) = remote {
        return Err(remote.unsupported("append"));
    }
    let key = read_key(&args.key)?;
    let body = read_json_input(&args.body, "body")?;
    let mut ledger = open(dir)?;
    let notes = ledger.notes().len();
    let appended = ledger.append(&Draft::new(args.kind, body), &key)?;
    print_notes_from(&ledger, notes);
    if json_output {
        print_json(
            &json!({"seq": appended.seq, "entry_hash": appended.hash.to_hex(), "time": appended.time.to_string()}),
        );
    } else {
        println!("appended seq {} entry hash {}", appended.seq, appended.hash);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn import(args: ImportArgs, dir: &Path, remote: Option<&Remote>, json_output: bool) -> Result<ExitCode> {
    if let Some(remote) = remote {
        return Err(remote.unsupported("import"));
    }
    let key = read_key(&args.key)?;
    let drafts = read_import(&args.file)?;
    let mut ledger = open(dir)?;
    let notes = ledger.notes().len();
    // The batch is signed, checked and written as one (all or nothing); the bar counts records
    // signed, then checked.
    let mut bar = crate::render::Bar::new(json_output);
    let appended = ledger.append_batch_with_progress(&drafts, &key, &mut |p| bar.update(p))?;
    bar.finish();
    print_notes_from(&ledger, notes);
    let first = appended.first().map(|a| a.seq).unwrap_or(0);
    let last = appended.last().map(|a| a.seq).unwrap_or(0);
    if json_output {
        print_json(
            &json!({"imported": appended.len(), "first_seq": first, "last_seq": last, "head": ledger.head().to_hex()}),
        );
    } else {
        let records = crate::render::count(appended.len(), "record", "records");
        println!("imported {records} as {}; head {}", crate::render::seq_range(first, last), ledger.head());
    }
    Ok(ExitCode::SUCCESS)
}
