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
use lianlog_ledger::{Appended, Draft, Ledger, Receipt, SecretKey, Stopped, StoppedBatch};
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
        return Err(match stopped {
            // Nothing imported and nothing written: the refusal says it all.
            Some(Stopped { error, batch: StoppedBatch::NotWritten }) => error,
            Some(stopped) => stopped_import(stopped, &appended, drafts.len(), args.batch.unwrap_or(0) as usize, remote),
            None => lianlog_ledger::Error::bad_input("nothing imported"),
        }
        .into());
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
        Some(stopped) => {
            Err(stopped_import(stopped, &appended, drafts.len(), args.batch.unwrap_or(0) as usize, remote).into())
        }
        None => Ok(ExitCode::SUCCESS),
    }
}

/// The error of an import in batches that stopped: the stopping error, then what is imported and
/// from which record to import again. After a refusal nothing of its batch was written; after a
/// write that was not confirmed, the batch may be in the ledger, so the user must look first (the
/// next open keeps it whole or removes it whole): importing it again blindly could record it twice.
fn stopped_import(
    stopped: Stopped,
    appended: &[Appended],
    total: usize,
    per_batch: usize,
    remote: Option<&Remote>,
) -> lianlog_ledger::Error {
    let Stopped { error, batch } = stopped;
    // In place of a refusal's own "nothing was written", true of its batch alone.
    let cause = error.message().strip_suffix("; nothing was written").unwrap_or(error.message());
    let done = appended.len();
    let before = match (appended.first(), appended.last()) {
        (Some(first), Some(last)) => format!(
            "; the {} before its batch are imported ({})",
            crate::render::count(done, "record", "records"),
            crate::render::seq_range(first.seq, last.seq)
        ),
        _ => String::new(),
    };
    let message = match batch {
        StoppedBatch::NotWritten => {
            let remedy = match error.kind() {
                lianlog_ledger::ErrorKind::BadInput | lianlog_ledger::ErrorKind::Unauthorized => "correct it and",
                _ => "once that is put right,",
            };
            let kept = if done > 0 { ", nothing after them was written" } else { "; nothing was written" };
            format!("{cause}{before}{kept}: {remedy} import the records from record {} on", done + 1)
        }
        _ => {
            let end = (done + per_batch).min(total);
            // On a server, other officers' records may be among the newest entries.
            let look = match remote {
                None => format!("look at its newest entries (`lianlog log --last {}`)", end - done),
                Some(remote) => format!(
                    "look for its records among the newest entries (`lianlog --server {} log --last {}`)",
                    remote.url,
                    end - done
                ),
            };
            format!(
                "{cause}{before}; the batch of records {}–{end} may or may not be in the ledger (its write was not \
                 confirmed; the ledger keeps it whole or drops it whole when next opened): {look}, then import from \
                 record {} on if the batch is not there, or from record {} on if it is",
                done + 1,
                done + 1,
                end + 1
            )
        }
    };
    lianlog_ledger::Error::new(error.kind(), message)
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
) -> Result<(Vec<Appended>, Vec<Receipt>, Option<Stopped>)> {
    let total = drafts.len() as u64;
    if let Some(remote) = remote {
        let client = remote.client()?;
        let (mut appended, mut receipts) = (Vec::new(), Vec::new());
        for (number, batch) in drafts.chunks(per_batch).enumerate() {
            let first = number * per_batch + 1;
            // Records are named within their request: name the batch too.
            let place = match batch.len() {
                1 => format!("record {first}"),
                count => format!("the batch of records {first}–{} (numbered 1–{count} within it)", first + count - 1),
            };
            let submissions = match lianlog_remote::append::sign(&client, batch, key) {
                Ok(submissions) => submissions,
                Err(err) => {
                    let stopped = Stopped { error: err.at(place), batch: StoppedBatch::NotWritten };
                    return Ok((appended, receipts, Some(stopped)));
                }
            };
            match lianlog_remote::append::submit(&client, &submissions) {
                Ok(batch_receipts) => {
                    appended.extend(batch_receipts.iter().map(|r| Appended {
                        seq: r.seq,
                        hash: r.entry_hash,
                        time: r.entry.time,
                    }));
                    receipts.extend(batch_receipts);
                    bar.update(lianlog_ledger::Progress { phase: "appending", done: appended.len() as u64, total });
                }
                Err(err) => {
                    let batch = match err.kind() {
                        // The server refused the batch before writing any of it (4xx, or busy).
                        lianlog_ledger::ErrorKind::BadInput
                        | lianlog_ledger::ErrorKind::Unauthorized
                        | lianlog_ledger::ErrorKind::Key
                        | lianlog_ledger::ErrorKind::NotALedger
                        | lianlog_ledger::ErrorKind::Locked => StoppedBatch::NotWritten,
                        // No answer, a failure on the server's side, or receipts that do not check:
                        // the batch may have been written.
                        _ => StoppedBatch::Unsettled,
                    };
                    return Ok((appended, receipts, Some(Stopped { error: err.at(place), batch })));
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
    // Not after a batch whose write failed: the ledger is to be looked at, not compacted.
    let unsettled = run.stopped.as_ref().is_some_and(|stopped| stopped.batch == StoppedBatch::Unsettled);
    if !run.appended.is_empty() && !unsettled {
        ledger.settle_after_import();
    }
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
    // An import (a single append compacts by itself when one is due).
    if appended.len() > 1 {
        ledger.settle_after_import();
    }
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

#[cfg(test)]
mod tests {
    use lianlog_ledger::{EntryHash, ErrorKind, Timestamp};

    use super::*;

    fn appended(seqs: std::ops::Range<u64>) -> Vec<Appended> {
        let time = Timestamp::now();
        seqs.map(|seq| Appended { seq, hash: EntryHash::of_entry_bytes(&seq.to_be_bytes()), time }).collect()
    }

    fn stop(kind: ErrorKind, message: &str, batch: StoppedBatch) -> Stopped {
        Stopped { error: lianlog_ledger::Error::new(kind, message), batch }
    }

    /// After a refusal, the imported records are counted and the user goes on from the refused
    /// batch; the refusal's own "nothing was written" is not repeated (it would deny the batches
    /// before). A failure that is not the records' fault is not called something to correct.
    #[test]
    fn a_refused_batch_says_what_is_imported_and_from_which_record_to_go_on() {
        let refused = stop(ErrorKind::BadInput, "record 17: no reason; nothing was written", StoppedBatch::NotWritten);
        let error = stopped_import(refused, &appended(4..14), 25, 10, None);
        assert_eq!(error.kind(), ErrorKind::BadInput);
        assert_eq!(
            error.message(),
            "record 17: no reason; the 10 records before its batch are imported (seq 4–13), nothing after them \
             was written: correct it and import the records from record 11 on"
        );
        let one = stop(ErrorKind::Unauthorized, "record 2: revoked", StoppedBatch::NotWritten);
        assert!(stopped_import(one, &appended(4..5), 3, 1, None).message().contains("the 1 record before its batch"));
        let store = stop(ErrorKind::Store, "open the ledger again", StoppedBatch::NotWritten);
        let message = stopped_import(store, &appended(4..14), 25, 10, None).message().to_string();
        assert!(message.ends_with("once that is put right, import the records from record 11 on"), "{message}");
    }

    /// After a write that was not confirmed, the batch may be in the ledger: the error says so,
    /// how to look, and where to go on either way — never simply to import it again.
    #[test]
    fn an_unsettled_batch_is_to_be_looked_for_before_importing_again() {
        let unsettled = stop(ErrorKind::Io, "writing the log: disk full", StoppedBatch::Unsettled);
        let error = stopped_import(unsettled, &appended(4..14), 25, 10, None);
        assert_eq!(error.kind(), ErrorKind::Io);
        let message = error.message();
        assert!(message.starts_with("writing the log: disk full; the 10 records before its batch are imported"));
        assert!(message.contains("the batch of records 11–20 may or may not be in the ledger"), "{message}");
        assert!(message.contains("`lianlog log --last 10`"), "{message}");
        assert!(message.contains("from record 11 on if the batch is not there, or from record 21 on if it is"));
        // The last, shorter batch, and a first batch with nothing imported before it.
        let last = stopped_import(stop(ErrorKind::Io, "x", StoppedBatch::Unsettled), &appended(4..24), 25, 10, None);
        assert!(last.message().contains("records 21–25 may or may not") && last.message().contains("--last 5"));
        let first = stopped_import(stop(ErrorKind::Io, "x", StoppedBatch::Unsettled), &[], 25, 10, None);
        assert!(first.message().starts_with("x; the batch of records 1–10 may or may not"), "{}", first.message());
        // On a server, the look is at the server, where other officers' records may come between.
        let server = Remote { url: "https://jw.example.gov.cn".into(), identity: None, ca_cert: None };
        let remote = stopped_import(stop(ErrorKind::Io, "x", StoppedBatch::Unsettled), &[], 25, 10, Some(&server));
        assert!(remote.message().contains("`lianlog --server https://jw.example.gov.cn log --last 10`"));
    }
}
