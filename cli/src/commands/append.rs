//! `lianlog append` and `lianlog import` (追加记录, 批量导入): records signed by the author's key,
//! one or a batch that is written whole or not at all (`Ledger::append`, `Ledger::append_batch`),
//! or with `import --batch N` batches written in turn (`Ledger::append_in_batches`).
//! With `--server`, the records are signed here (`Submission::sign`) and sent in one request
//! (`lianlog_remote::append`); the output is the same, and the server's receipts are checked
//! before it is printed. `--receipt FILE` keeps the receipts (回执), made locally with the log key
//! when there is no server.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use lianlog_ledger::{Appended, Draft, Ledger, Receipt, SecretKey};
use serde_json::{Value, json};

use crate::args::{AppendArgs, ImportArgs};
use crate::io::Remote;
use crate::io::{
    no_passphrase_for_log_key, open, print_json, print_notes_from, read_import, read_json_input, read_key,
    refuse_existing, write_output,
};

pub fn append(args: AppendArgs, dir: &Path, remote: Option<&Remote>, json_output: bool) -> Result<ExitCode> {
    let key = read_key(&args.key)?;
    let body = read_json_input(&args.body, "body")?;
    let draft = Draft::new(args.kind, body);
    if let Some(path) = &args.receipt {
        // Before appending: a receipt that cannot be kept would be lost.
        refuse_existing(path, false)?;
    }
    let (appended, receipts) = write(std::slice::from_ref(&draft), &key, dir, remote, args.receipt.is_some(), None)?;
    let appended = appended.first().copied().ok_or_else(|| lianlog_ledger::Error::bad_input("nothing appended"))?;
    if json_output {
        let mut answer =
            json!({"seq": appended.seq, "entry_hash": appended.hash.to_hex(), "time": appended.time.to_string()});
        if let Some(receipt) = receipts.first() {
            answer["receipt"] = receipt.to_value();
        }
        print_json(&answer);
    } else {
        println!("appended seq {} entry hash {}", appended.seq, appended.hash);
    }
    keep_receipts(args.receipt.as_deref(), &receipts, remote, json_output);
    Ok(ExitCode::SUCCESS)
}

pub fn import(args: ImportArgs, dir: &Path, remote: Option<&Remote>, json_output: bool) -> Result<ExitCode> {
    let key = read_key(&args.key)?;
    let drafts = read_import(&args.file)?;
    if let Some(path) = &args.receipt {
        refuse_existing(path, false)?;
    }
    let mut bar = crate::render::Bar::new(json_output);
    let want_receipts = args.receipt.is_some();
    let (appended, receipts, stopped) = match args.batch {
        // The file is signed, checked and written as one batch (all or nothing); locally the bar
        // counts records signed, then checked.
        None => {
            let (appended, receipts) = write(&drafts, &key, dir, remote, want_receipts, Some(&mut bar))?;
            (appended, receipts, None)
        }
        // Batch after batch; the bar counts records imported.
        Some(per_batch) => write_in_batches(&drafts, &key, dir, remote, want_receipts, per_batch as usize, &mut bar)?,
    };
    bar.finish();
    if appended.is_empty() {
        return Err(stopped.unwrap_or_else(|| lianlog_ledger::Error::bad_input("nothing imported")).into());
    }
    let first = appended.first().map(|a| a.seq).unwrap_or(0);
    let last = appended.last().map(|a| a.seq).unwrap_or(0);
    let head = appended.last().map(|a| a.hash.to_hex()).unwrap_or_default();
    if json_output {
        let mut answer = json!({"imported": appended.len(), "first_seq": first, "last_seq": last, "head": head});
        if !receipts.is_empty() {
            answer["receipts"] = Value::Array(receipts.iter().map(Receipt::to_value).collect());
        }
        print_json(&answer);
    } else {
        let records = crate::render::count(appended.len(), "record", "records");
        println!("imported {records} as {}; head {head}", crate::render::seq_range(first, last));
    }
    keep_receipts(args.receipt.as_deref(), &receipts, remote, json_output);
    match stopped {
        // The records before the refused batch are imported: say so, and where to go on from
        // (in place of a refusal's own "nothing was written", true of its batch alone).
        Some(err) => Err(lianlog_ledger::Error::new(
            err.kind(),
            format!(
                "{}; the {} records before its batch are imported (seq {}–{last}), nothing after them was written: \
                 correct it and import the records from record {} on",
                err.message().strip_suffix("; nothing was written").unwrap_or(err.message()),
                appended.len(),
                first,
                appended.len() + 1
            ),
        )
        .into()),
        None => Ok(ExitCode::SUCCESS),
    }
}

/// Append `drafts` signed by `key` in batches of `per_batch` records, each all or nothing and
/// written before the next (`Ledger::append_in_batches`; to a server, one request a batch). The
/// records appended and their receipts, and the error that stopped the import before its end.
fn write_in_batches(
    drafts: &[Draft],
    key: &SecretKey,
    dir: &Path,
    remote: Option<&Remote>,
    want_receipts: bool,
    per_batch: usize,
    bar: &mut crate::render::Bar,
) -> Result<(Vec<Appended>, Vec<Receipt>, Option<lianlog_ledger::Error>)> {
    let total = drafts.len() as u64;
    if let Some(remote) = remote {
        let client = remote.client()?;
        let (mut appended, mut receipts) = (Vec::new(), Vec::new());
        for (number, batch) in drafts.chunks(per_batch).enumerate() {
            let sent = lianlog_remote::append::sign(&client, batch, key)
                .and_then(|submissions| lianlog_remote::append::submit(&client, &submissions));
            match sent {
                Ok(batch_receipts) => {
                    appended.extend(batch_receipts.iter().map(|r| Appended {
                        seq: r.seq,
                        hash: r.entry_hash,
                        time: r.entry.time,
                    }));
                    receipts.extend(batch_receipts);
                    bar.update(lianlog_ledger::Progress { phase: "appending", done: appended.len() as u64, total });
                }
                // Records are named within their request: name the batch too.
                Err(err) => {
                    let first = number * per_batch + 1;
                    let place = format!("the batch of records {first}–{}", first + batch.len() - 1);
                    return Ok((appended, receipts, Some(err.at(place))));
                }
            }
        }
        return Ok((appended, receipts, None));
    }
    let mut ledger = open(dir)?;
    let notes = ledger.notes().len();
    let log_key = if want_receipts { Some(ledger.log_key(&mut no_passphrase_for_log_key)?) } else { None };
    let options = lianlog_ledger::BatchOptions { records_per_batch: per_batch };
    let run = ledger.append_in_batches(drafts, key, options, &mut |p| bar.update(p));
    print_notes_from(&ledger, notes);
    let receipts = match log_key {
        Some(log_key) if !run.appended.is_empty() => {
            local_receipts(&ledger, &run.appended, &log_key).unwrap_or_else(|err| {
                eprintln!("lianlog: the records are imported, but no receipt could be made: {err}");
                Vec::new()
            })
        }
        _ => Vec::new(),
    };
    Ok((run.appended, receipts, run.stopped))
}

/// Append `drafts` signed by `key`, all or nothing: to the server (its checked receipts always
/// come back), or to the local ledger (receipts made with the log key when `want_receipts`).
fn write(
    drafts: &[Draft],
    key: &SecretKey,
    dir: &Path,
    remote: Option<&Remote>,
    want_receipts: bool,
    bar: Option<&mut crate::render::Bar>,
) -> Result<(Vec<Appended>, Vec<Receipt>)> {
    if let Some(remote) = remote {
        let client = remote.client()?;
        let submissions = lianlog_remote::append::sign(&client, drafts, key)?;
        let receipts = lianlog_remote::append::submit(&client, &submissions)?;
        let appended =
            receipts.iter().map(|r| Appended { seq: r.seq, hash: r.entry_hash, time: r.entry.time }).collect();
        return Ok((appended, receipts));
    }
    let mut ledger = open(dir)?;
    let notes = ledger.notes().len();
    // The log key is read before anything is appended, so that a receipt asked for can be made.
    let log_key = if want_receipts { Some(ledger.log_key(&mut no_passphrase_for_log_key)?) } else { None };
    let appended = match bar {
        Some(bar) => ledger.append_batch_with_progress(drafts, key, &mut |p| bar.update(p))?,
        None => ledger.append_batch(drafts, key)?,
    };
    print_notes_from(&ledger, notes);
    let receipts = match log_key {
        Some(log_key) => local_receipts(&ledger, &appended, &log_key).unwrap_or_else(|err| {
            // The records are durable: a receipt that cannot be made is said, not made an error
            // (which would invite appending them again). `prove inclusion` makes one later.
            eprintln!("lianlog: the records are appended, but no receipt could be made: {err}");
            Vec::new()
        }),
        None => Vec::new(),
    };
    Ok((appended, receipts))
}

/// Receipts of entries just appended: one checkpoint of the ledger as it now stands, signed by
/// the log key, and each entry's inclusion proof against it.
fn local_receipts(ledger: &Ledger, appended: &[Appended], log_key: &SecretKey) -> lianlog_ledger::Result<Vec<Receipt>> {
    let checkpoint = ledger.checkpoint(ledger.size(), log_key)?;
    appended.iter().map(|a| Receipt::build(ledger, a.seq, &checkpoint)).collect()
}

/// Write the receipts to `path` (JSON Lines), or say how to keep them. The append is done by
/// now, so a file that cannot be written is reported with the receipts on standard output, and
/// the command still succeeds: failing it would invite appending the records again.
fn keep_receipts(path: Option<&Path>, receipts: &[Receipt], remote: Option<&Remote>, json_output: bool) {
    let lines: String = receipts.iter().map(Receipt::to_line).collect();
    match path {
        Some(path) if !receipts.is_empty() => {
            let written = write_output(path, false, |file| {
                use std::io::Write as _;
                file.write_all(lines.as_bytes()).map_err(|err| lianlog_ledger::Error::io("write", path, err))
            });
            match written {
                Ok(()) if !json_output => {
                    let what = crate::render::count(receipts.len(), "receipt", "receipts");
                    println!(
                        "{what} kept in {} (check offline: lianlog check inclusion --receipt {} --vkey LOGKEY)",
                        path.display(),
                        path.display()
                    );
                }
                Ok(()) => {}
                Err(err) => {
                    eprintln!("lianlog: the records are appended, but {} could not be written: {err}", path.display());
                    eprintln!("lianlog: the receipts follow on standard output; keep them");
                    print!("{}", crate::render::json_safe(&lines));
                }
            }
        }
        None if remote.is_some() && !json_output => {
            println!(
                "receipt not kept: pass --receipt FILE to keep it (`lianlog prove inclusion SEQ` proves it again)"
            );
        }
        _ => {}
    }
}
