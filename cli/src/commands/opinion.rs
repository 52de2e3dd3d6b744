//! `opinion` (廉政意见): draft the integrity opinion about a person from their dossier, with a
//! receipt (inclusion proof against a checkpoint the log key signs now) for every record it
//! cites; with `--issue`, append the `opinion.issued` record so that the lookup is on the ledger.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use lianlog_ledger::opinion::{OpinionDraft, OpinionRequest};
use lianlog_ledger::receipt::Receipt;
use lianlog_ledger::{Date, Draft, Error, Ledger};
use serde_json::json;

use crate::args::OpinionArgs;
use crate::io::{no_passphrase_for_log_key, open, open_reader, print_json, read_key, refuse_existing, write_output};
use crate::render;

pub fn run(args: OpinionArgs, dir: &Path, json_output: bool) -> Result<ExitCode> {
    let as_of = match args.as_of.as_deref() {
        Some(text) => Date::parse(text)
            .ok_or_else(|| Error::bad_input(format!("--as-of {text:?}: expected a date YYYY-MM-DD")))?,
        // The commission's calendar is China's (UTC+8).
        None => lianlog_ledger::Timestamp::now().date_in_china(),
    };
    if let Some(path) = &args.receipts {
        refuse_existing(path, false)?;
    }
    let key = if args.issue { args.by.as_deref().map(read_key).transpose()? } else { None };
    let mut ledger = if args.issue { open(dir)? } else { open_reader(dir)? };
    let request = OpinionRequest {
        person: args.person_id.clone(),
        purpose: args.purpose.clone(),
        requested_by: args.requested_by.clone(),
        as_of,
    };
    let draft = draft_as_of(&ledger, &request)?;
    // The proofs are made against the ledger as it stands now, whatever day the opinion speaks for.
    let size = ledger.size();
    let log_key = ledger.log_key(&mut no_passphrase_for_log_key)?;
    let checkpoint = ledger.checkpoint(size, &log_key)?;
    let receipts = draft
        .cited
        .iter()
        .map(|c| Receipt::build(&ledger, c.seq, &checkpoint))
        .collect::<lianlog_ledger::Result<Vec<_>>>()?;
    let mut issued = None;
    if let Some(key) = &key {
        let id = args.id.clone().unwrap_or_else(|| format!("YJ-{as_of}-{size}"));
        let issued_on = lianlog_ledger::Timestamp::now().date_in_china();
        let body = draft.issued_body(&id, issued_on, size, &ledger.root_at(size)?);
        let appended = ledger.append(&Draft::new("opinion.issued", body), key).context("issuing the opinion")?;
        issued = Some((id, appended));
    }
    if let Some(path) = &args.receipts {
        let lines: String = receipts.iter().map(Receipt::to_line).collect();
        write_output(path, false, |file| {
            use std::io::Write as _;
            file.write_all(lines.as_bytes()).map_err(|err| Error::io("write", path, err))
        })?;
    }
    if json_output {
        let mut answer = json!({
            "opinion": draft,
            "checkpoint": checkpoint,
            "receipts": receipts.iter().map(Receipt::to_value).collect::<Vec<_>>(),
        });
        if let Some((id, appended)) = &issued {
            answer["issued"] = json!({"opinion_id": id, "seq": appended.seq, "entry_hash": appended.hash.to_hex()});
        }
        print_json(&answer);
        return Ok(ExitCode::SUCCESS);
    }
    render::print_opinion(&draft, size);
    if let Some(path) = &args.receipts {
        println!(
            "{} kept in {} (check offline: lianlog check inclusion --receipt {} --vkey LOGKEY)",
            render::count(receipts.len(), "receipt", "receipts"),
            path.display(),
            path.display()
        );
    }
    match &issued {
        Some((id, appended)) => {
            println!("已出具 issued: opinion {id}, appended seq {} entry hash {}", appended.seq, appended.hash)
        }
        None => println!("草稿 draft only: nothing was appended (add --issue --by KEY to issue it)"),
    }
    Ok(ExitCode::SUCCESS)
}

/// The draft from the ledger as it stood at the end of `as_of` (China time) when that day is
/// before today's state, so that an opinion "as of" a past day reads what was known then.
fn draft_as_of(ledger: &Ledger, request: &OpinionRequest) -> Result<OpinionDraft> {
    let today = lianlog_ledger::Timestamp::now().date_in_china();
    if request.as_of >= today {
        return Ok(lianlog_ledger::opinion::draft(&ledger.queries(), request)?);
    }
    let end = ledger.entries_until(request.as_of)?;
    if end == 0 {
        return Err(Error::bad_input(format!(
            "--as-of {}: no entry had been made by the end of that day (China time)",
            request.as_of
        ))
        .into());
    }
    let past = ledger.as_of(end)?;
    Ok(lianlog_ledger::opinion::draft(&past.queries(ledger), request)?)
}
