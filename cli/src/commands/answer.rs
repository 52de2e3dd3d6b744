//! The read-only questions (查询): `show`, `log`, `dossier`, `query`, `cases`, `overdue`, `stats`.
//! All but `log` answer from the ledger as it is, as it stood at `--as-of SEQ|DATE` (replayed in
//! memory), or from verified archives (`--archive`); none of them writes anything.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use lianlog_ledger::archive::{ArchiveOptions, Loaded};
use lianlog_ledger::ledger::PastState;
use lianlog_ledger::query::Queries;
use lianlog_ledger::{Error, Ledger};
use serde_json::{Value, json};

use crate::args::{CasesArgs, DossierArgs, LogArgs, OverdueArgs, QueryArgs, ShowArgs, StatsArgs, StatsBy};
use crate::io::{open_reader, print_json};
use crate::render;

pub fn show(args: ShowArgs, dir: &Path, archives: &[PathBuf], json_output: bool) -> Result<ExitCode> {
    let source = Answering::open(dir, archives, args.as_of.as_deref(), json_output)?;
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
    Ok(ExitCode::SUCCESS)
}

pub fn log(args: LogArgs, dir: &Path, json_output: bool) -> Result<ExitCode> {
    let ledger = open_reader(dir)?;
    let mut lines = Vec::new();
    for line in ledger.lines_from(args.from)?.take(args.limit as usize) {
        lines.push(line?);
    }
    if json_output {
        print_json(&Value::Array(lines.iter().map(render::line_json).collect()));
    } else {
        render::print_log(&lines, ledger.registry(), &ledger.queries().redaction_notes(&lines)?);
        println!("{} of {} entries shown; head {}", lines.len(), ledger.size(), ledger.head());
    }
    Ok(ExitCode::SUCCESS)
}

pub fn dossier(args: DossierArgs, dir: &Path, archives: &[PathBuf], json_output: bool) -> Result<ExitCode> {
    let source = Answering::open(dir, archives, args.as_of.as_deref(), json_output)?;
    let records = source.queries().dossier(&args.person_id)?;
    if json_output {
        print_json(&Value::Array(records.iter().map(render::record_json).collect()));
    } else {
        render::print_dossier(&args.person_id, &records, source.registry());
    }
    Ok(ExitCode::SUCCESS)
}

pub fn query(args: QueryArgs, dir: &Path, archives: &[PathBuf], json_output: bool) -> Result<ExitCode> {
    let filter = lianlog_ledger::query::QueryFilter {
        kind: args.kind,
        person: args.person,
        unit: args.unit,
        since: args.since.as_deref().map(|d| parse_date(d, "--since")).transpose()?,
        until: args.until.as_deref().map(|d| parse_date(d, "--until")).transpose()?,
        text: args.text,
    };
    let source = Answering::open(dir, archives, args.as_of.as_deref(), json_output)?;
    let records = source.queries().query(&filter)?;
    if json_output {
        print_json(&Value::Array(records.iter().map(render::record_json).collect()));
    } else {
        render::print_records(&records, source.registry());
        println!("{}", render::count(records.len(), "record", "records"));
    }
    Ok(ExitCode::SUCCESS)
}

pub fn cases(args: CasesArgs, dir: &Path, archives: &[PathBuf], json_output: bool) -> Result<ExitCode> {
    let source = Answering::open(dir, archives, args.as_of.as_deref(), json_output)?;
    let cases = source.queries().cases(args.open)?;
    if json_output {
        print_json(&Value::Array(cases.iter().map(|c| json!({"type": c.family, "id": c.id, "status": c.status, "open": c.open, "seq": c.seq, "state": c.state})).collect()));
    } else {
        render::print_cases(&cases);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn overdue(args: OverdueArgs, dir: &Path, archives: &[PathBuf], json_output: bool) -> Result<ExitCode> {
    let on = match args.on.as_deref() {
        Some(day) => parse_date(day, "--on")?,
        // Due dates are days of the commission's calendar (China, UTC+8).
        None => lianlog_ledger::Timestamp::now().date_in_china(),
    };
    let source = Answering::open(dir, archives, args.as_of.as_deref(), json_output)?;
    let overdue = source.queries().overdue(on)?;
    if json_output {
        print_json(&Value::Array(overdue.iter().map(|(case, record)| json!({"id": case.id, "due_on": case.state["due_on"], "seq": case.seq, "record": render::record_json(record)})).collect()));
    } else {
        render::print_overdue(&overdue, on);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn stats(args: StatsArgs, dir: &Path, archives: &[PathBuf], json_output: bool) -> Result<ExitCode> {
    let by = match args.by {
        StatsBy::Unit => lianlog_ledger::query::StatsGrouping::Unit,
        StatsBy::Kind => lianlog_ledger::query::StatsGrouping::Kind,
        StatsBy::Month => lianlog_ledger::query::StatsGrouping::Month,
    };
    let source = Answering::open(dir, archives, args.as_of.as_deref(), json_output)?;
    let stats = source.queries().stats(by, args.year)?;
    if args.csv {
        render::print_stats_csv(&stats);
    } else if json_output {
        print_json(&Value::Array(
            stats.iter().map(|((group, kind), count)| json!({"group": group, "kind": kind, "count": count})).collect(),
        ));
    } else {
        render::print_stats(&stats, by);
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_date(text: &str, flag: &str) -> Result<lianlog_ledger::Date> {
    Ok(lianlog_ledger::Date::parse(text)
        .ok_or_else(|| Error::bad_input(format!("{flag} {text:?}: expected a date YYYY-MM-DD")))?)
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
            let end = lianlog_ledger::query::as_of_end(text, ledger.size(), |date| ledger.entries_until(date))?;
            let past = ledger.as_of(end)?;
            say_as_of(&past);
            return Ok(Answering::Ledger(ledger, Some(past)));
        }
        let mut bar = render::Bar::new(json_output);
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
            Some(text) => lianlog_ledger::query::as_of_end(text, loaded.size(), |date| loaded.entries_until(date))?,
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
    eprintln!("lianlog: as of seq {} ({time} 北京时间), replayed in memory", past.end.saturating_sub(1));
}
