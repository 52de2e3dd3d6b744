//! Turns parsed arguments into validated library calls and renders their results.

use std::io::{IsTerminal as _, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use lianlog_ledger::archive::{ArchiveOptions, Loaded};
use lianlog_ledger::keys::Zeroizing;
use lianlog_ledger::ledger::{OpenOptions, PastState};
use lianlog_ledger::query::Queries;
use lianlog_ledger::{
    Draft, Error, ErrorKind, Holder, KeyName, Ledger, PublicKey, Role, SecretKey, VerifyOptions, export_dir,
};
use serde_json::{Value, json};

use crate::args::{CheckCommand, CheckpointCommand, Cli, Command, HolderArgs, KeyCommand, ProveCommand};
use crate::render;

/// The exit code for an error: see the exit-code list in `lianlog --help`.
pub fn exit_code_of(err: &anyhow::Error) -> u8 {
    let kind = err.chain().find_map(|cause| cause.downcast_ref::<Error>()).map(Error::kind);
    match kind {
        Some(ErrorKind::Verification) => 1,
        Some(ErrorKind::BadInput) | None => 2,
        Some(ErrorKind::Unauthorized) => 3,
        Some(ErrorKind::Key) => 4,
        Some(ErrorKind::NotALedger) => 5,
        Some(ErrorKind::Locked) => 6,
        Some(ErrorKind::Io) => 7,
        Some(ErrorKind::Store) => 8,
        Some(_) => 2,
    }
}

pub fn run(cli: Cli) -> Result<ExitCode> {
    let json_output = cli.json;
    let dir = cli.ledger.as_path();
    let answers_questions = matches!(
        cli.command,
        Command::Dossier(_)
            | Command::Query(_)
            | Command::Cases(_)
            | Command::Overdue(_)
            | Command::Stats(_)
            | Command::Show(_)
    );
    if !cli.archive.is_empty() && !answers_questions {
        return Err(Error::bad_input(
            "--archive answers dossier, query, cases, overdue, stats and show; to check archives use \
             `lianlog snapshot verify`, to rebuild a ledger `lianlog snapshot restore`",
        )
        .into());
    }
    match cli.command {
        Command::Init(args) => {
            let origin = KeyName::parse(&args.origin)?;
            let admin = read_key(&args.key)?;
            let ledger = Ledger::init(dir, &origin, &admin, holder(args.holder))?;
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
        }
        Command::Key(command) => return key_command(command, dir, json_output),
        Command::Append(args) => {
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
        }
        Command::Import(args) => {
            let key = read_key(&args.key)?;
            let drafts = read_import(&args.file)?;
            let mut ledger = open(dir)?;
            let notes = ledger.notes().len();
            let appended = ledger.append_batch(&drafts, &key)?;
            print_notes_from(&ledger, notes);
            let first = appended.first().map(|a| a.seq).unwrap_or(0);
            let last = appended.last().map(|a| a.seq).unwrap_or(0);
            if json_output {
                print_json(
                    &json!({"imported": appended.len(), "first_seq": first, "last_seq": last, "head": ledger.head().to_hex()}),
                );
            } else {
                println!("imported {} records as seq {first}..={last}; head {}", appended.len(), ledger.head());
            }
        }
        Command::Show(args) => {
            let source = Answering::open(dir, &cli.archive, args.as_of.as_deref(), json_output)?;
            let line = source.queries().line(args.seq)?;
            if args.raw {
                let mut out = std::io::stdout().lock();
                out.write_all(&line.entry_bytes).and_then(|()| out.flush()).context("writing to standard output")?;
            } else if json_output {
                print_json(&render::line_json(&line));
            } else {
                let view = source.queries().record_view(args.seq).ok();
                render::print_entry(&line, source.registry(), view.as_ref().and_then(|v| v.redaction.as_ref()));
            }
        }
        Command::Log(args) => {
            let ledger = open_reader(dir)?;
            let mut lines = Vec::new();
            for line in ledger.lines_from(args.from)?.take(args.limit as usize) {
                lines.push(line?);
            }
            if json_output {
                print_json(&Value::Array(lines.iter().map(render::line_json).collect()));
            } else {
                render::print_log(&lines, ledger.registry(), &redaction_notes(&ledger, &lines)?);
                println!("{} of {} entries shown; head {}", lines.len(), ledger.size(), ledger.head());
            }
        }
        Command::Verify(args) => return verify(dir, args, json_output),
        Command::Export(args) => {
            let exported = match &args.out {
                // Whole or not at all: a partial export would look like a shorter ledger.
                Some(path) => write_output(path, args.force, |file| {
                    let mut out = std::io::BufWriter::new(file);
                    let exported = export_dir(dir, &mut out, args.without_bodies)?;
                    out.into_inner().map_err(|err| Error::io("write", path, err.into_error()))?;
                    Ok(exported)
                })?,
                None => export_dir(dir, &mut std::io::BufWriter::new(std::io::stdout().lock()), args.without_bodies)?,
            };
            if let Some(path) = &args.out {
                let withheld = if args.without_bodies {
                    format!(" ({} bodies withheld)", exported.withheld)
                } else {
                    String::new()
                };
                eprintln!("exported {} entries to {}{withheld}", exported.entries, path.display());
            }
            if args.without_bodies && !exported.replacements_kept.is_empty() {
                eprintln!(
                    "note: the ledger.redact entries at seq {} were written before replacements moved into \
                     corrections: their bodies hold the replacement (the redacted record with the sensitive \
                     parts removed), and format v1 keeps every ledger.* body in an export, so it is in this one \
                     too (docs/PRIVACY.md, \"What a body-less export holds\")",
                    exported.replacements_kept.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
                );
            }
        }
        Command::Redact(args) => {
            let admin = read_key(&args.key)?;
            let replacement = args
                .replacement
                .as_deref()
                .map(|p| read_json_input(&p.to_string_lossy(), "replacement"))
                .transpose()?;
            let officer = args.replacement_key.as_deref().map(read_key).transpose()?;
            let replacement = replacement
                .map(|body| lianlog_ledger::ledger::Replacement { body, officer: officer.as_ref().unwrap_or(&admin) });
            let mut ledger = open(dir)?;
            let redacted = ledger.redact(args.seq, &args.reason, replacement, &admin)?;
            if json_output {
                print_json(
                    &json!({"target": redacted.target, "by": redacted.by, "entry_hash": redacted.entry_hash.to_hex(), "replacement": redacted.replacement}),
                );
            } else {
                let replacement = match redacted.replacement {
                    Some(seq) => format!("; its replacement is the correction at seq {seq}"),
                    None => String::new(),
                };
                println!(
                    "redacted the body of seq {} (entry hash {} unchanged) by seq {}{replacement}; the derived store was rebuilt without it",
                    redacted.target, redacted.entry_hash, redacted.by
                );
            }
        }
        Command::Disclose(args) => {
            refuse_existing(&args.out, args.force)?;
            let ledger = open_reader(dir)?;
            let signer = read_key(&args.key)?;
            use lianlog_ledger::disclosure::{PackageCheckpoint, disclose};
            let package = match &args.checkpoint {
                Some(path) => {
                    let note = read_text(path)?;
                    disclose(&ledger, &args.person_id, PackageCheckpoint::Given(&note), &signer)
                        .map_err(|e| e.at(path.display()))?
                }
                None => {
                    let log_key = ledger.log_key(&mut no_passphrase_for_log_key)?;
                    disclose(&ledger, &args.person_id, PackageCheckpoint::Sign(&log_key), &signer)?
                }
            };
            write_output(&args.out, args.force, |file| {
                file.write_all(package.text.as_bytes()).map_err(|err| Error::io("write", &args.out, err))
            })?;
            if json_output {
                print_json(&json!({
                    "person": args.person_id, "records": package.records, "masked": package.masked,
                    "redacted": package.redacted, "withheld": package.withheld, "key_lines": package.key_lines,
                    "size": package.size, "signer": package.signer, "file": args.out,
                }));
            } else {
                println!(
                    "wrote {}: {} records concerning {} ({} full, {} masked because they also concern other people, \
                     {} redacted), {} key-registry lines (keys and roles only), each with an inclusion proof against \
                     the checkpoint at size {}; signed by {}",
                    args.out.display(),
                    package.records,
                    args.person_id,
                    package.records - package.masked - package.redacted,
                    package.masked,
                    package.redacted,
                    package.key_lines,
                    package.size,
                    package.signer
                );
                if package.withheld > 0 {
                    println!(
                        "  {} redacted records of the ledger have no replacement: whom they named is no longer known, \
                         so they are listed in the package as withheld",
                        package.withheld
                    );
                }
            }
        }
        Command::Check(CheckCommand::Disclosure { file, vkey, cosigner }) => {
            let log_key = PublicKey::parse_vkey(&vkey)?;
            let cosigners = parse_cosigners(&cosigner)?;
            let text = read_text(&file)?;
            let checked =
                lianlog_ledger::disclosure::check(&text, &log_key, &cosigners).map_err(|e| e.at(file.display()))?;
            let shown = |seq: &u64| checked.shown.get(seq).map(|s| s.as_str()).unwrap_or("full");
            if json_output {
                print_json(&json!({
                    "ok": true, "person": checked.person, "format": checked.format, "size": checked.size,
                    "signer": checked.signer,
                    "records": checked.records.iter().map(|(seq, kind)| json!({"seq": seq, "kind": kind, "shown": shown(seq)})).collect::<Vec<_>>(),
                    "withheld": checked.withheld.iter().map(|(seq, why)| json!({"seq": seq, "why": why})).collect::<Vec<_>>(),
                    "cosignatures": render::cosignatures_json(&checked.cosignatures),
                }));
            } else {
                println!(
                    "OK: {} records about {} are in {} (checkpoint size {}), signed by keys authorized at the time:",
                    checked.records.len(),
                    checked.person,
                    checked.origin,
                    checked.size
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
            }
        }
        Command::Checkpoint(args) => match args.command {
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
            Some(CheckpointCommand::Cosign(args)) => crate::witness::cosign(args)?,
        },
        Command::Prove(ProveCommand::Inclusion { seq, size }) => {
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
        Command::Prove(ProveCommand::Consistency { old, new }) => {
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
        Command::Check(CheckCommand::Inclusion { proof, entry, vkey, cosigner }) => {
            let log_key = PublicKey::parse_vkey(&vkey)?;
            let cosigners = parse_cosigners(&cosigner)?;
            let bundle = read_text(&proof)?;
            let entry_file = read_limited(Some(&entry), lianlog_ledger::record::MAX_LINE_BYTES + 1)?;
            let entry_bytes = lianlog_ledger::proof::entry_bytes_from_file(&entry_file)?;
            let checked = lianlog_ledger::proof::check_inclusion(&bundle, &entry_bytes, &log_key, &cosigners)
                .map_err(|e| e.at(proof.display()))?;
            let cp = &checked.checkpoint.checkpoint;
            if json_output {
                print_json(
                    &json!({"ok": true, "index": checked.index, "size": cp.size, "origin": cp.origin, "leaf_hash": lianlog_ledger::encoding::hex(&checked.leaf), "cosignatures": render::cosignatures_json(&checked.checkpoint.cosignatures)}),
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
            }
        }
        Command::Check(CheckCommand::Consistency { proof, old, new, vkey, cosigner }) => {
            let log_key = PublicKey::parse_vkey(&vkey)?;
            let cosigners = parse_cosigners(&cosigner)?;
            let (old_cp, new_cp) = lianlog_ledger::proof::check_consistency(
                &read_text(&proof)?,
                &read_text(&old)?,
                &read_text(&new)?,
                &log_key,
                &cosigners,
            )
            .map_err(|e| e.at(format!("--old {} --new {}", old.display(), new.display())))?;
            if json_output {
                print_json(
                    &json!({"ok": true, "origin": new_cp.checkpoint.origin, "old_size": old_cp.checkpoint.size, "new_size": new_cp.checkpoint.size, "old_cosignatures": render::cosignatures_json(&old_cp.cosignatures), "new_cosignatures": render::cosignatures_json(&new_cp.cosignatures)}),
                );
            } else {
                println!(
                    "OK: {} at size {} extends the checkpoint at size {} (nothing before it was changed or removed)",
                    new_cp.checkpoint.origin, new_cp.checkpoint.size, old_cp.checkpoint.size
                );
                render::print_cosignatures(&format!("   old ({}) ", old.display()), &old_cp.cosignatures);
                render::print_cosignatures(&format!("   new ({}) ", new.display()), &new_cp.cosignatures);
            }
        }
        Command::Reindex => {
            let ledger = Ledger::reindex(dir)?;
            for note in ledger.notes() {
                eprintln!("lianlog: {note}");
            }
            if json_output {
                print_json(&json!({
                    "ok": true,
                    "entries": ledger.size(),
                    "head": ledger.head().to_hex(),
                    "root": lianlog_ledger::encoding::hex(&ledger.root()),
                }));
            } else {
                println!("rebuilt the derived store from the log: {} entries, head {}", ledger.size(), ledger.head());
            }
        }
        Command::Demo(args) => crate::demo::run(&args.dir)?,
        Command::Bench(args) => crate::bench::run(args, json_output)?,
        Command::Witness(command) => return crate::witness::run(command, json_output),
        Command::Snapshot(command) => return crate::snapshot::run(command, dir, json_output),
        Command::Replay => {
            let ledger = open_reader(dir)?;
            let report = ledger.replay()?;
            if json_output {
                print_json(
                    &json!({"ok": true, "entries": report.entries, "state_keys": report.keys, "seconds": report.seconds}),
                );
            } else {
                println!(
                    "replayed {} entries: every projection ({} keys) is identical to the stored one ({:.3} s, {:.0} entries/s)",
                    report.entries,
                    report.keys,
                    report.seconds,
                    report.entries as f64 / report.seconds.max(1e-9)
                );
            }
        }
        Command::Dossier(args) => {
            let source = Answering::open(dir, &cli.archive, args.as_of.as_deref(), json_output)?;
            let records = source.queries().dossier(&args.person_id)?;
            if json_output {
                print_json(&Value::Array(records.iter().map(render::record_json).collect()));
            } else {
                render::print_dossier(&args.person_id, &records, source.registry());
            }
        }
        Command::Query(args) => {
            let filter = lianlog_ledger::query::QueryFilter {
                kind: args.kind,
                person: args.person,
                unit: args.unit,
                since: args.since.as_deref().map(|d| parse_date(d, "--since")).transpose()?,
                until: args.until.as_deref().map(|d| parse_date(d, "--until")).transpose()?,
                text: args.text,
            };
            let source = Answering::open(dir, &cli.archive, args.as_of.as_deref(), json_output)?;
            let records = source.queries().query(&filter)?;
            if json_output {
                print_json(&Value::Array(records.iter().map(render::record_json).collect()));
            } else {
                render::print_records(&records, source.registry());
                println!("{} records", records.len());
            }
        }
        Command::Cases(args) => {
            let source = Answering::open(dir, &cli.archive, args.as_of.as_deref(), json_output)?;
            let cases = source.queries().cases(args.open)?;
            if json_output {
                print_json(&Value::Array(cases.iter().map(|c| json!({"type": c.family, "id": c.id, "status": c.status, "open": c.open, "seq": c.seq, "state": c.state})).collect()));
            } else {
                render::print_cases(&cases);
            }
        }
        Command::Overdue(args) => {
            let on = match args.on.as_deref() {
                Some(day) => parse_date(day, "--on")?,
                // Due dates are days of the commission's calendar (China, UTC+8).
                None => lianlog_ledger::Timestamp::now().date_in_china(),
            };
            let source = Answering::open(dir, &cli.archive, args.as_of.as_deref(), json_output)?;
            let overdue = source.queries().overdue(on)?;
            if json_output {
                print_json(&Value::Array(overdue.iter().map(|(case, record)| json!({"id": case.id, "due_on": case.state["due_on"], "seq": case.seq, "record": render::record_json(record)})).collect()));
            } else {
                render::print_overdue(&overdue, on);
            }
        }
        Command::Stats(args) => {
            let by = match args.by {
                crate::args::StatsBy::Unit => lianlog_ledger::query::StatsGrouping::Unit,
                crate::args::StatsBy::Kind => lianlog_ledger::query::StatsGrouping::Kind,
                crate::args::StatsBy::Month => lianlog_ledger::query::StatsGrouping::Month,
            };
            let source = Answering::open(dir, &cli.archive, args.as_of.as_deref(), json_output)?;
            let stats = source.queries().stats(by, args.year)?;
            if args.csv {
                render::print_stats_csv(&stats);
            } else if json_output {
                print_json(&Value::Array(
                    stats
                        .iter()
                        .map(|((group, kind), count)| json!({"group": group, "kind": kind, "count": count}))
                        .collect(),
                ));
            } else {
                render::print_stats(&stats, by);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Where read-only questions are answered: the ledger as it is, the ledger as it stood at a
/// point (replayed in memory), or verified archives held in memory.
enum Answering {
    Ledger(Box<Ledger>, Option<PastState>),
    Archives(Box<Loaded>, PastState),
}

impl Answering {
    fn open(dir: &Path, archives: &[PathBuf], as_of: Option<&str>, json_output: bool) -> Result<Answering> {
        if archives.is_empty() {
            let ledger = Box::new(open_reader(dir)?);
            let Some(text) = as_of else { return Ok(Answering::Ledger(ledger, None)) };
            let end = resolve_as_of(text, ledger.size(), |date| ledger.entries_until(date))?;
            let past = ledger.as_of(end)?;
            say_as_of(&past);
            return Ok(Answering::Ledger(ledger, Some(past)));
        }
        let mut bar = crate::snapshot::Bar::new(json_output);
        let loaded = Loaded::open(archives, &ArchiveOptions::default(), &mut |p| bar.update(p));
        bar.finish();
        let loaded = loaded?;
        eprintln!(
            "lianlog: answering from {} verified archive(s) of {}: seq 0..{}",
            loaded.report.archives.len(),
            loaded.report.origin,
            loaded.size().saturating_sub(1)
        );
        if !loaded.report.stale_bodies.is_empty() {
            eprintln!(
                "lianlog: {} record(s) whose body an earlier archive still holds are answered redacted, as a later archive's ledger.redact entry says (`lianlog snapshot verify` names those archives)",
                loaded.report.stale_bodies.len()
            );
        }
        let end = match as_of {
            Some(text) => resolve_as_of(text, loaded.size(), |date| loaded.entries_until(date))?,
            None => loaded.size(),
        };
        let past = loaded.as_of(end)?;
        if as_of.is_some() {
            say_as_of(&past);
        }
        Ok(Answering::Archives(Box::new(loaded), past))
    }

    fn queries(&self) -> Queries<'_> {
        match self {
            Answering::Ledger(ledger, None) => ledger.queries(),
            Answering::Ledger(ledger, Some(past)) => past.queries(ledger.as_ref()),
            Answering::Archives(loaded, past) => past.queries(loaded.lines()),
        }
    }

    fn registry(&self) -> &lianlog_ledger::KeyRegistry {
        match self {
            Answering::Ledger(ledger, None) => ledger.registry(),
            Answering::Ledger(_, Some(past)) | Answering::Archives(_, past) => &past.registry,
        }
    }
}

fn say_as_of(past: &PastState) {
    let time = past.last_time.map(render::local_time).unwrap_or_default();
    eprintln!("lianlog: as of seq {} ({time}), replayed in memory", past.end.saturating_sub(1));
}

/// `--as-of SEQ|DATE` → the number of entries the state covers.
fn resolve_as_of(
    text: &str,
    size: u64,
    until: impl Fn(lianlog_ledger::Date) -> lianlog_ledger::Result<u64>,
) -> Result<u64> {
    if let Ok(seq) = text.parse::<u64>() {
        if seq >= size {
            return Err(Error::bad_input(format!(
                "--as-of {seq}: there is no entry {seq} (the last is {})",
                size.saturating_sub(1)
            ))
            .into());
        }
        return Ok(seq + 1);
    }
    let date = lianlog_ledger::Date::parse(text)
        .ok_or_else(|| Error::bad_input(format!("--as-of {text:?}: expected a seq or a date YYYY-MM-DD")))?;
    let end = until(date)?;
    if end == 0 {
        return Err(Error::bad_input(format!(
            "--as-of {date}: no entry had been made by the end of that day (China time)"
        ))
        .into());
    }
    Ok(end)
}

fn key_command(command: KeyCommand, dir: &Path, json_output: bool) -> Result<ExitCode> {
    match command {
        KeyCommand::New { name, out, encrypt } => {
            let key = SecretKey::generate(KeyName::parse(&name)?)?;
            if encrypt {
                let passphrase = new_passphrase(&out)?;
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
        KeyCommand::ExportLogKey { out, encrypt } => {
            let passphrase = if encrypt { Some(new_passphrase(&out)?) } else { None };
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
        KeyCommand::Grant { vkey, role, holder: holder_args, key } => {
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
            let appended = ledger.grant(&vkey, &roles, &holder(holder_args), &admin)?;
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

fn verify(dir: &Path, args: crate::args::VerifyArgs, json_output: bool) -> Result<ExitCode> {
    let expected_log_key = args.vkey.as_deref().map(PublicKey::parse_vkey).transpose()?;
    let cosigners = parse_cosigners(&args.cosigner)?;
    let mut checkpoints = Vec::new();
    for path in &args.checkpoint {
        let text = read_text(path)?;
        let note = lianlog_ledger::note::Note::parse(&text).map_err(|e| e.at(path.display()))?;
        let checkpoint = lianlog_ledger::note::Checkpoint::parse_text(&note.text).map_err(|e| e.at(path.display()))?;
        checkpoints.push((path.clone(), text, checkpoint.size));
    }
    let root_sizes: Vec<u64> = checkpoints.iter().map(|(_, _, size)| *size).collect();
    let started = std::time::Instant::now();
    let (source, result) = match &args.file {
        Some(file) => {
            let options =
                VerifyOptions { allow_withheld: true, expected_log_key: expected_log_key.clone(), root_sizes };
            (file.display().to_string(), lianlog_ledger::verify::verify_export_file(file, options)?)
        }
        None => {
            let options =
                VerifyOptions { allow_withheld: false, expected_log_key: expected_log_key.clone(), root_sizes };
            // With the lock, also check the derived store; without it (a writer is busy), the log alone.
            let result = if args.log_only {
                lianlog_ledger::verify_dir(dir, options)?
            } else {
                match Ledger::open_with(dir, OpenOptions { read_only: true, ..OpenOptions::default() }) {
                    Ok(ledger) => {
                        for note in ledger.notes() {
                            eprintln!("lianlog: {note}");
                        }
                        ledger.verify(options)?
                    }
                    Err(err) if err.kind() == ErrorKind::Locked => {
                        eprintln!("lianlog: the ledger is in use; verifying the log alone (not the derived store)");
                        lianlog_ledger::verify_dir(dir, options)?
                    }
                    Err(err) if err.kind() == ErrorKind::Io => {
                        // A read-only or full disk: the log can still be read and checked.
                        eprintln!("lianlog: {err}");
                        eprintln!(
                            "lianlog: the ledger cannot be opened for writing; verifying the log alone (not the derived store)"
                        );
                        lianlog_ledger::verify_dir(dir, options)?
                    }
                    Err(err) if err.kind() == ErrorKind::Verification => {
                        // The log changed behind the derived store's back. Name the first bad seq if
                        // the log itself shows one; otherwise the store's record is the evidence.
                        match lianlog_ledger::verify_dir(dir, options)? {
                            Err(failure) => Err(failure),
                            Ok(report) => Err(lianlog_ledger::VerifyFailure {
                                line: err.seq().map(|seq| seq + 1).unwrap_or(report.entries),
                                seq: err.seq(),
                                reason: err.message().to_string(),
                            }),
                        }
                    }
                    Err(err) => return Err(err.into()),
                }
            };
            (dir.display().to_string(), result)
        }
    };
    let elapsed = started.elapsed();
    // Archived checkpoints: the verified history must still contain each of them.
    // Each --cosigner must have cosigned each of them.
    let mut cosigned = Vec::new();
    let result = result.and_then(|report| {
        for (path, text, _) in &checkpoints {
            match lianlog_ledger::verify::check_checkpoint(&report, text, expected_log_key.as_ref(), &cosigners) {
                Ok(verified) => cosigned.push(verified.cosignatures),
                Err(err) => {
                    return Err(lianlog_ledger::VerifyFailure {
                        line: report.entries,
                        seq: None,
                        reason: format!("archived checkpoint {}: {}", path.display(), err.message()),
                    });
                }
            }
        }
        Ok(report)
    });
    match result {
        Ok(report) => {
            let rate = report.entries as f64 / elapsed.as_secs_f64().max(1e-9);
            if json_output {
                print_json(&json!({
                    "ok": true,
                    "source": source,
                    "entries": report.entries,
                    "head": report.head.to_hex(),
                    "root": lianlog_ledger::encoding::hex(&report.root),
                    "origin": report.origin,
                    "log_key": report.log_key,
                    "withheld": report.withheld,
                    "redactions": report.redactions.iter().map(|r| json!({"seq": r.target, "by": r.by, "author": r.author, "time": r.time.to_string(), "reason": r.reason, "applied": r.applied})).collect::<Vec<_>>(),
                    "checkpoints": checkpoints.iter().zip(&cosigned).map(|((path, _, size), cosignatures)| json!({"file": path, "size": size, "consistent": true, "cosignatures": render::cosignatures_json(cosignatures)})).collect::<Vec<_>>(),
                    "ignored_partial_tail": report.ignored_partial_tail,
                    "seconds": elapsed.as_secs_f64(),
                }));
            } else {
                println!("verified {source}: OK");
                println!("  origin    {}", report.origin);
                println!(
                    "  log key   {}{}",
                    report.log_key,
                    if args.vkey.is_some() {
                        " (pinned with --vkey)"
                    } else {
                        " (taken from genesis; pin it with --vkey)"
                    }
                );
                println!("  entries   {}", report.entries);
                println!("  head      {}", report.head);
                println!("  root      {}", lianlog_ledger::encoding::hex(&report.root));
                if report.withheld > 0 {
                    println!(
                        "  withheld  {} bodies (an export without bodies: signatures and chain checked, contents not seen)",
                        report.withheld
                    );
                }
                for redaction in &report.redactions {
                    println!(
                        "  redacted  seq {} by seq {} ({}, {}): {}{}",
                        redaction.target,
                        redaction.by,
                        redaction.author,
                        render::local_time(redaction.time),
                        redaction.reason,
                        if redaction.applied { "" } else { " [body not yet removed]" }
                    );
                }
                for ((path, _, size), cosignatures) in checkpoints.iter().zip(&cosigned) {
                    println!("  checkpoint {} (size {size}): consistent", path.display());
                    render::print_cosignatures("             ", cosignatures);
                }
                if report.ignored_partial_tail {
                    println!(
                        "  note      the log ends with a partial line (bytes after the last newline: a write in \
                         progress in another process, or one cut short by a crash); it was ignored, not checked"
                    );
                }
                println!("  time      {:.3} s ({:.0} entries/s)", elapsed.as_secs_f64(), rate);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(failure) => {
            if json_output {
                print_json(
                    &json!({"ok": false, "source": source, "seq": failure.seq, "line": failure.line, "reason": failure.reason}),
                );
            } else {
                println!("verification FAILED for {source}: {failure}");
            }
            Ok(ExitCode::from(1))
        }
    }
}

/// Refuse an output path that names an existing file (or link) unless `force`.
fn refuse_existing(path: &Path, force: bool) -> Result<()> {
    if !force && std::fs::symlink_metadata(path).is_ok() {
        return Err(Error::bad_input(format!(
            "{} already exists; lianlog does not overwrite files: choose another name, or pass --force to replace it \
             (it is replaced whole, and a symbolic link there is replaced, never followed)",
            path.display()
        ))
        .into());
    }
    Ok(())
}

/// Write an output file whole, mode 0600: under a temporary name, fsync'd, then given its name —
/// refused if it exists unless `force`, and never written through a symbolic link
/// (`lianlog_ledger::fsio::publish`). On an error nothing is left under `path`.
fn write_output<T>(
    path: &Path,
    force: bool,
    write: impl FnOnce(&mut std::fs::File) -> lianlog_ledger::Result<T>,
) -> Result<T> {
    refuse_existing(path, force)?;
    Ok(lianlog_ledger::fsio::publish(path, force, write)?)
}

/// Who redacted each redacted line among `lines`, when and why.
pub fn redaction_notes(
    ledger: &Ledger,
    lines: &[lianlog_ledger::ParsedLine],
) -> Result<std::collections::BTreeMap<u64, lianlog_ledger::query::RedactionNote>> {
    let mut notes = std::collections::BTreeMap::new();
    for line in lines.iter().filter(|l| matches!(l.line.body, lianlog_ledger::StoredBody::Redacted { .. })) {
        if let Some(note) = ledger.record_view(line.line.entry.seq)?.redaction {
            notes.insert(line.line.entry.seq, note);
        }
    }
    Ok(notes)
}

fn parse_cosigners(vkeys: &[String]) -> Result<Vec<PublicKey>> {
    Ok(vkeys.iter().map(|v| PublicKey::parse_vkey(v)).collect::<Result<Vec<_>, _>>()?)
}

/// A checkpoint, proof or bundle file: UTF-8 text of at most `proof::MAX_PROOF_BYTES` bytes.
pub(crate) fn read_text(path: &Path) -> Result<String> {
    let bytes = read_limited(Some(path), lianlog_ledger::proof::MAX_PROOF_BYTES)?;
    Ok(String::from_utf8(bytes).map_err(|_| Error::bad_input(format!("{}: not UTF-8 text", path.display())))?)
}

/// The log key is created unencrypted in the ledger directory (mode 0600); an operator who
/// encrypted it supplies LIANLOG_PASSPHRASE.
pub fn no_passphrase_for_log_key() -> lianlog_ledger::Result<Zeroizing<String>> {
    std::env::var("LIANLOG_PASSPHRASE")
        .map(Zeroizing::new)
        .map_err(|_| Error::key("the log key is encrypted: set LIANLOG_PASSPHRASE"))
}

fn parse_date(text: &str, flag: &str) -> Result<lianlog_ledger::Date> {
    Ok(lianlog_ledger::Date::parse(text)
        .ok_or_else(|| Error::bad_input(format!("{flag} {text:?}: expected a date YYYY-MM-DD")))?)
}

fn print_appended(appended: &lianlog_ledger::Appended, json_output: bool) {
    if json_output {
        print_json(&json!({"seq": appended.seq, "entry_hash": appended.hash.to_hex()}));
    } else {
        println!("appended seq {} entry hash {}", appended.seq, appended.hash);
    }
}

pub fn print_json(value: &Value) {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    println!("{}", render::json_safe(&text));
}

fn holder(args: HolderArgs) -> Holder {
    Holder { name: args.holder_name, unit: args.holder_unit, title: args.holder_title }
}

pub fn open(dir: &Path) -> Result<Ledger> {
    let ledger = Ledger::open(dir)?;
    print_notes_from(&ledger, 0);
    Ok(ledger)
}

/// Open the ledger for a command that only reads: nothing in the log is repaired or changed
/// (a torn tail or an interrupted import is left for the next writer, and not shown).
pub fn open_reader(dir: &Path) -> Result<Ledger> {
    let ledger = Ledger::open_with(dir, OpenOptions { read_only: true, ..OpenOptions::default() })?;
    print_notes_from(&ledger, 0);
    Ok(ledger)
}

/// Print the ledger's notes (what opening repaired, what an append could not do) from `first` on.
fn print_notes_from(ledger: &Ledger, first: usize) {
    for note in ledger.notes().iter().skip(first) {
        eprintln!("lianlog: {note}");
    }
}

/// The passphrase to encrypt a new key file with: LIANLOG_PASSPHRASE, or asked twice on a
/// terminal (never a flag, which would land in the shell history).
fn new_passphrase(out: &Path) -> Result<Zeroizing<String>> {
    let passphrase = if let Ok(value) = std::env::var("LIANLOG_PASSPHRASE") {
        Zeroizing::new(value)
    } else if std::io::stdin().is_terminal() {
        let ask = |prompt: String| {
            rpassword::prompt_password(prompt)
                .map(Zeroizing::new)
                .map_err(|err| Error::key(format!("cannot read the passphrase: {err}")))
        };
        let first = ask(format!("passphrase for {}: ", out.display()))?;
        let second = ask("the same passphrase again: ".to_string())?;
        if first != second {
            return Err(Error::bad_input("the two passphrases differ; nothing was written").into());
        }
        first
    } else {
        return Err(Error::key(
            "--encrypt needs a passphrase: set LIANLOG_PASSPHRASE or run in a terminal to be asked",
        )
        .into());
    };
    if passphrase.is_empty() {
        return Err(Error::bad_input("the passphrase is empty; nothing was written").into());
    }
    Ok(passphrase)
}

/// Read a private key file; an encrypted one takes its passphrase from LIANLOG_PASSPHRASE or,
/// on a terminal, from a prompt (never from a flag, which would land in the shell history).
pub fn read_key(path: &Path) -> Result<SecretKey> {
    let mut passphrase = || -> lianlog_ledger::Result<Zeroizing<String>> {
        if let Ok(value) = std::env::var("LIANLOG_PASSPHRASE") {
            return Ok(Zeroizing::new(value));
        }
        if std::io::stdin().is_terminal() {
            let prompt = format!("passphrase for {}: ", path.display());
            return rpassword::prompt_password(prompt)
                .map(Zeroizing::new)
                .map_err(|err| Error::key(format!("cannot read the passphrase: {err}")));
        }
        Err(Error::key("the key file is encrypted: set LIANLOG_PASSPHRASE or run in a terminal to be asked"))
    };
    Ok(SecretKey::read_file(path, &mut passphrase)?)
}

/// Read a file, or standard input for `-`, refusing more than `limit` bytes.
fn read_input(source: &str, limit: usize) -> Result<Vec<u8>> {
    if source == "-" { read_limited(None, limit) } else { read_limited(Some(Path::new(source)), limit) }
}

/// Read the file at `path` (standard input for `None`), refusing more than `limit` bytes.
fn read_limited(path: Option<&Path>, limit: usize) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let name = path.map_or_else(|| "standard input".to_string(), |path| path.display().to_string());
    let read = match path {
        None => std::io::stdin().lock().take(limit as u64 + 1).read_to_end(&mut bytes),
        Some(path) => std::fs::File::open(path).and_then(|file| file.take(limit as u64 + 1).read_to_end(&mut bytes)),
    };
    read.map_err(|err| Error::io("read", &name, err))?;
    if bytes.len() > limit {
        return Err(Error::bad_input(format!("{name}: larger than {limit} bytes, the most accepted here")).into());
    }
    Ok(bytes)
}

/// A JSON value from a file or standard input (`-`); `root` names it in field paths.
fn read_json_input(source: &str, root: &str) -> Result<Value> {
    // A body is at most MAX_BODY_BYTES canonical; allow room for whitespace and escapes.
    let bytes = read_input(source, lianlog_ledger::record::MAX_LINE_BYTES)?;
    let name = if source == "-" { "standard input" } else { source };
    // The library's strict parser: a member named twice is refused, not silently replaced.
    let value = lianlog_ledger::canonical::parse_json(&bytes, root).map_err(|err| {
        let (line, column) = err.position.unwrap_or((1, 1));
        Error::bad_input(format!("{name}: line {line} column {column}: {}", err.reason))
    })?;
    Ok(value)
}

fn read_import(source: &str) -> Result<Vec<Draft>> {
    let bytes = read_input(source, lianlog_ledger::ledger::MAX_IMPORT_BYTES)?;
    let name = if source == "-" { "standard input" } else { source };
    Ok(lianlog_ledger::parse_import(&bytes).map_err(|err| err.at(name))?)
}
