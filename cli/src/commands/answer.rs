//! The read-only questions (查询): `show`, `log`, `dossier`, `query`, `cases`, `overdue`, `stats`.
//! All but `log` answer from the ledger as it is, as it stood at `--as-of SEQ|DATE` (replayed in
//! memory), or from verified archives (`--archive`); none of them writes anything. None waits for
//! a writer: when another process holds the ledger they answer from the ledger as soon as the
//! writer lets go, or from its log, verified meanwhile (`Loaded::from_ledger_dir`), as of the last
//! entry made durable, whichever is first.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use lianlog_ledger::archive::{ArchiveOptions, Loaded};
use lianlog_ledger::ledger::PastState;
use lianlog_ledger::query::{Page, Paged, Queries};
use lianlog_ledger::{Error, Ledger};
use serde_json::{Value, json};

use crate::args::{CasesArgs, CsvLang, DossierArgs, LogArgs, OverdueArgs, QueryArgs, ShowArgs, StatsArgs, StatsBy};
use crate::io::Remote;
use crate::io::{open_reader_now, print_json};
use crate::render;
use lianlog_remote::reads;

pub fn show(
    args: ShowArgs,
    dir: &Path,
    archives: &[PathBuf],
    remote: Option<&Remote>,
    json_output: bool,
) -> Result<ExitCode> {
    refuse_with_json("--raw", args.raw, json_output)?;
    if let Some(remote) = remote {
        refuse_archives(archives)?;
        let shown = reads::show(&remote.signed_client("show")?, args.seq, args.as_of.as_deref())?;
        say_remote(shown.as_of.as_ref(), shown.bodies);
        return print_show(&shown.line, args.raw, json_output, &shown.registry, shown.redaction.as_ref());
    }
    let source = Answering::open(dir, archives, args.as_of.as_deref(), json_output)?;
    let line = source.queries().line(args.seq)?;
    let view = if args.raw || json_output { None } else { source.queries().record_view(args.seq).ok() };
    let shown =
        print_show(&line, args.raw, json_output, source.registry(), view.as_ref().and_then(|v| v.redaction.as_ref()))?;
    if let Some(view) = view.as_ref().filter(|v| v.kind == "accountability.decision") {
        print_decision_standing(&source.queries(), view, lianlog_ledger::influence::as_of_day(args.as_of.as_deref()))?;
    }
    Ok(shown)
}

/// Under a shown decision: its collective approvals and its influence period (decisions group).
fn print_decision_standing(
    queries: &Queries<'_>,
    view: &lianlog_ledger::query::RecordView,
    on: lianlog_ledger::Date,
) -> Result<()> {
    let Some(id) = view.body.as_ref().and_then(|b| b["decision_id"].as_str()) else { return Ok(()) };
    if let Some(state) = queries.decision_state(id)? {
        render::print_approvals(&state);
    }
    if let Some(period) = lianlog_ledger::opinion::period_of(queries, view, on)? {
        render::print_influence(std::slice::from_ref(&period), on);
    }
    Ok(())
}

/// The output of `show`, local or remote: the entry's bytes (`--raw`), its JSON, or the text.
fn print_show(
    line: &lianlog_ledger::ParsedLine,
    raw: bool,
    json_output: bool,
    registry: &lianlog_ledger::KeyRegistry,
    redaction: Option<&lianlog_ledger::query::RedactionNote>,
) -> Result<ExitCode> {
    if raw {
        let mut out = std::io::stdout().lock();
        out.write_all(&line.entry_bytes).and_then(|()| out.flush()).context("writing to standard output")?;
    } else if json_output {
        print_json(&render::line_json(line));
    } else {
        render::print_entry(line, registry, redaction);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn log(args: LogArgs, dir: &Path, remote: Option<&Remote>, json_output: bool) -> Result<ExitCode> {
    if let Some(remote) = remote {
        let request = match args.last {
            Some(count) => reads::LogRequest::Last(count),
            None => reads::LogRequest::Page { from: args.from, offset: args.offset, limit: args.limit },
        };
        let answer = reads::log(&remote.signed_client("log")?, request)?;
        say_remote(None, answer.bodies);
        return print_log(&answer.page, answer.limit, json_output, &answer.registry, &answer.redactions, answer.head);
    }
    let source = Answering::open(dir, &[], None, json_output)?;
    let (size, head) = match &source {
        Answering::Ledger(ledger, _) => (ledger.size(), ledger.head()),
        Answering::Archives(loaded, _) => (loaded.size(), loaded.report.head),
    };
    let (page, from) = match args.last {
        Some(count) => (Page::last(count, size), 0),
        None => (Page { offset: args.offset, limit: args.limit }, args.from),
    };
    let (seqs, more) = page.seqs(from, size);
    let mut lines = Vec::new();
    match &source {
        Answering::Ledger(ledger, _) => {
            for line in ledger.lines_from(seqs.start)?.take((seqs.end - seqs.start) as usize) {
                lines.push(line?);
            }
        }
        Answering::Archives(loaded, _) => {
            for seq in seqs.clone() {
                lines.push(loaded.line(seq)?);
            }
        }
    }
    let notes = if json_output { Default::default() } else { source.queries().redaction_notes(&lines)? };
    let paged = Paged { items: lines, total: size, offset: seqs.start, more };
    print_log(&paged, page.limit, json_output, source.registry(), &notes, head)
}

/// The output of `log`, local or remote.
fn print_log(
    paged: &Paged<lianlog_ledger::ParsedLine>,
    limit: u64,
    json_output: bool,
    registry: &lianlog_ledger::KeyRegistry,
    notes: &std::collections::BTreeMap<u64, lianlog_ledger::query::RedactionNote>,
    head: lianlog_ledger::EntryHash,
) -> Result<ExitCode> {
    if json_output {
        print_json(&render::paged_json(paged, limit, render::line_json));
    } else {
        render::print_log(&paged.items, registry, notes);
        println!("{} of {} entries shown; head {}", paged.items.len(), paged.total, head);
        render::print_more(paged.more);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn dossier(
    args: DossierArgs,
    dir: &Path,
    archives: &[PathBuf],
    remote: Option<&Remote>,
    json_output: bool,
) -> Result<ExitCode> {
    let page = Page::from(&args.page);
    if let Some(remote) = remote {
        refuse_archives(archives)?;
        let answer = reads::dossier(&remote.signed_client("dossier")?, &args.person_id, page, args.as_of.as_deref())?;
        say_remote(answer.as_of.as_ref(), answer.bodies);
        let on = lianlog_ledger::influence::as_of_day(args.as_of.as_deref());
        let dossier = Dossier { person_id: &args.person_id, records: &answer.page, influence: &answer.influence, on };
        return print_dossier(&dossier, page, json_output, &answer.registry);
    }
    let source = Answering::open(dir, archives, args.as_of.as_deref(), json_output)?;
    let queries = source.queries();
    let records = queries.dossier_page(&args.person_id, page)?;
    // The influence periods of the decisions on this page (影响期, decisions group).
    let on = lianlog_ledger::influence::as_of_day(args.as_of.as_deref());
    let influence = lianlog_ledger::opinion::periods(&queries, &records.items, on)?;
    let dossier = Dossier { person_id: &args.person_id, records: &records, influence: &influence, on };
    print_dossier(&dossier, page, json_output, source.registry())
}

/// A page of a person's integrity file with the influence periods of its decisions.
struct Dossier<'a> {
    person_id: &'a str,
    records: &'a Paged<lianlog_ledger::query::RecordView>,
    influence: &'a [lianlog_ledger::influence::InfluencePeriod],
    on: lianlog_ledger::Date,
}

/// The output of `dossier`, local or remote.
fn print_dossier(
    dossier: &Dossier<'_>,
    page: Page,
    json_output: bool,
    registry: &lianlog_ledger::KeyRegistry,
) -> Result<ExitCode> {
    if json_output {
        let mut answer = render::paged_json(dossier.records, page.limit, render::record_json);
        answer["order"] = json!("event_date,seq");
        answer["influence"] = serde_json::to_value(dossier.influence)?;
        print_json(&answer);
    } else {
        render::print_dossier(dossier.person_id, &dossier.records.items, registry);
        render::print_more(dossier.records.more);
        render::print_influence(dossier.influence, dossier.on);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn query(
    args: QueryArgs,
    dir: &Path,
    archives: &[PathBuf],
    remote: Option<&Remote>,
    json_output: bool,
) -> Result<ExitCode> {
    let filter = lianlog_ledger::query::QueryFilter {
        kind: args.kind,
        person: args.person,
        unit: args.unit,
        since: args.since.as_deref().map(|d| parse_date(d, "--since")).transpose()?,
        until: args.until.as_deref().map(|d| parse_date(d, "--until")).transpose()?,
        // Every word must match (the library splits the text at white space).
        text: (!args.text.is_empty()).then(|| args.text.join(" ")),
    };
    let page = Page::from(&args.page);
    if let Some(remote) = remote {
        refuse_archives(archives)?;
        let answer = reads::query(&remote.signed_client("query")?, &filter, page, args.as_of.as_deref())?;
        say_remote(answer.as_of.as_ref(), answer.bodies);
        return print_query(&answer.page, page, json_output, &answer.registry);
    }
    let source = Answering::open(dir, archives, args.as_of.as_deref(), json_output)?;
    let records = source.queries().query_page(&filter, page)?;
    print_query(&records, page, json_output, source.registry())
}

fn print_query(
    records: &Paged<lianlog_ledger::query::RecordView>,
    page: Page,
    json_output: bool,
    registry: &lianlog_ledger::KeyRegistry,
) -> Result<ExitCode> {
    if json_output {
        let mut answer = render::paged_json(records, page.limit, render::record_json);
        answer["order"] = json!("event_date,seq");
        print_json(&answer);
    } else {
        render::print_records(&records.items, registry);
        println!("{}, {}", render::count(records.total as usize, "record", "records"), render::EVENT_ORDER);
        render::print_more(records.more);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn cases(
    args: CasesArgs,
    dir: &Path,
    archives: &[PathBuf],
    remote: Option<&Remote>,
    json_output: bool,
) -> Result<ExitCode> {
    let page = Page::from(&args.page);
    let cases = match remote {
        Some(remote) => {
            refuse_archives(archives)?;
            let answer = reads::cases(&remote.signed_client("cases")?, args.open, page, args.as_of.as_deref())?;
            say_remote(answer.as_of.as_ref(), true);
            answer.page
        }
        None => {
            let source = Answering::open(dir, archives, args.as_of.as_deref(), json_output)?;
            source.queries().cases_page(args.open, page)?
        }
    };
    if json_output {
        print_json(&render::paged_json(
            &cases,
            page.limit,
            |c| json!({"type": c.family, "id": c.id, "status": c.status, "open": c.open, "seq": c.seq, "state": c.state}),
        ));
    } else {
        render::print_cases(&cases);
        render::print_more(cases.more);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn overdue(
    args: OverdueArgs,
    dir: &Path,
    archives: &[PathBuf],
    remote: Option<&Remote>,
    json_output: bool,
) -> Result<ExitCode> {
    let on = match args.on.as_deref() {
        Some(day) => parse_date(day, "--on")?,
        // Due dates are days of the commission's calendar (China, UTC+8).
        None => lianlog_ledger::Timestamp::now().date_in_china(),
    };
    let page = Page::from(&args.page);
    let overdue = match remote {
        Some(remote) => {
            refuse_archives(archives)?;
            let answer = reads::overdue(&remote.signed_client("overdue")?, on, page, args.as_of.as_deref())?;
            say_remote(answer.as_of.as_ref(), answer.bodies);
            answer.page
        }
        None => {
            let source = Answering::open(dir, archives, args.as_of.as_deref(), json_output)?;
            source.queries().overdue_page(on, page)?
        }
    };
    if json_output {
        print_json(&render::paged_json(&overdue, page.limit, |(case, record)| {
            json!({"type": case.family, "id": case.id, "due_on": case.state["due_on"], "due": render::overdue_due(case),
                       "overdue_items": case.state.get("overdue_items"), "seq": case.seq, "record": render::record_json(record)})
        }));
    } else {
        render::print_overdue(&overdue.items, on);
        render::print_more(overdue.more);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn stats(
    args: StatsArgs,
    dir: &Path,
    archives: &[PathBuf],
    remote: Option<&Remote>,
    json_output: bool,
) -> Result<ExitCode> {
    refuse_with_json("--csv", args.csv, json_output)?;
    if args.assessments {
        return assessments(&args, dir, archives, remote, json_output);
    }
    let by = match args.by {
        StatsBy::Unit => lianlog_ledger::query::StatsGrouping::Unit,
        StatsBy::Kind => lianlog_ledger::query::StatsGrouping::Kind,
        StatsBy::Month => lianlog_ledger::query::StatsGrouping::Month,
    };
    let stats = match remote {
        Some(remote) => {
            refuse_archives(archives)?;
            let answer = reads::stats(&remote.signed_client("stats")?, by, args.year, args.as_of.as_deref())?;
            say_remote(answer.as_of.as_ref(), true);
            answer.stats
        }
        None => {
            let source = Answering::open(dir, archives, args.as_of.as_deref(), json_output)?;
            source.queries().stats(by, args.year)?
        }
    };
    if args.csv {
        let headers = match args.lang {
            CsvLang::En => render::csv::Headers::English,
            CsvLang::Zh => render::csv::Headers::Chinese,
        };
        render::csv::write_stdout(&render::csv::stats_csv(&stats, by, headers, !args.no_bom))?;
    } else if json_output {
        print_json(&Value::Array(
            stats.iter().map(|((group, kind), count)| json!({"group": group, "kind": kind, "count": count})).collect(),
        ));
    } else {
        render::print_stats(&stats, by);
    }
    Ok(ExitCode::SUCCESS)
}

/// `stats --assessments`: every unit's assessment (考核评价) by year.
fn assessments(
    args: &StatsArgs,
    dir: &Path,
    archives: &[PathBuf],
    remote: Option<&Remote>,
    json_output: bool,
) -> Result<ExitCode> {
    let assessments = match remote {
        Some(remote) => {
            refuse_archives(archives)?;
            let answer = reads::assessments(&remote.signed_client("stats")?, args.year, args.as_of.as_deref())?;
            say_remote(answer.as_of.as_ref(), true);
            answer.assessments
        }
        None => {
            let source = Answering::open(dir, archives, args.as_of.as_deref(), json_output)?;
            source.queries().assessments(args.year)?
        }
    };
    if json_output {
        print_json(&serde_json::to_value(&assessments)?);
    } else {
        render::print_assessments(&assessments);
    }
    Ok(ExitCode::SUCCESS)
}

/// An output flag that `--json` conflicts with. Clap refuses the pair when `--json` follows the
/// subcommand; `--json` given before it (it is global) is refused here, with the same exit code 2.
fn refuse_with_json(flag: &str, given: bool, json_output: bool) -> Result<()> {
    if given && json_output {
        return Err(Error::bad_input(format!(
            "the argument '{flag}' cannot be used with '--json': they choose different outputs; give one"
        ))
        .into());
    }
    Ok(())
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
            return match open_reader_now(dir) {
                Ok(ledger) => Answering::from_ledger(ledger, as_of),
                Err(err) if err.kind() == lianlog_ledger::ErrorKind::Locked => {
                    Answering::while_locked(dir, as_of, json_output)
                }
                Err(err) => Err(err.into()),
            };
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
        Answering::from_loaded(loaded, as_of)
    }

    /// Answer from the ledger itself, as it is or at `--as-of` (replayed in memory).
    fn from_ledger(ledger: Ledger, as_of: Option<&str>) -> Result<Answering> {
        let ledger = Box::new(ledger);
        let Some(text) = as_of else { return Ok(Answering::Ledger(ledger, None)) };
        let end = lianlog_ledger::query::as_of_end(text, ledger.size(), |date| ledger.entries_until(date))?;
        let past = ledger.as_of(end)?;
        say_as_of(&past);
        Ok(Answering::Ledger(ledger, Some(past)))
    }

    /// Readers never wait for a writer. When another process holds the ledger, its log is
    /// verified on another thread (the derived store is the writer's and is not read) while
    /// this one keeps trying the lock, and whichever is ready first answers: the ledger itself
    /// when the writer lets go — an append holds it for milliseconds, while verifying the log
    /// takes seconds per 100,000 entries — or else the log, as of the last entry the writer
    /// made durable (an import, a server).
    fn while_locked(dir: &Path, as_of: Option<&str>, json_output: bool) -> Result<Answering> {
        // The bar is shared so that the answer from the ledger first clears it and stops it:
        // the log's verification goes on until the process ends.
        let bar = std::sync::Arc::new(std::sync::Mutex::new(Some(render::Bar::new(json_output))));
        let verify_log = {
            let (dir, bar) = (dir.to_path_buf(), bar.clone());
            move || {
                let with_bar = |action: &mut dyn FnMut(&mut render::Bar)| {
                    if let Ok(mut bar) = bar.lock()
                        && let Some(bar) = bar.as_mut()
                    {
                        action(bar)
                    }
                };
                let loaded = Loaded::from_ledger_dir(&dir, &mut |progress| with_bar(&mut |bar| bar.update(progress)));
                with_bar(&mut |bar| bar.finish());
                loaded
            }
        };
        let open_ledger = || match open_reader_now(dir) {
            Err(err) if err.kind() == lianlog_ledger::ErrorKind::Locked => None,
            other => Some(other),
        };
        match first_ready(open_ledger, verify_log, LOCK_POLL) {
            Ready::Fast(ledger) => {
                // Taken out and dropped: the bar's line is cleared and nothing draws it again.
                drop(bar.lock().ok().and_then(|mut bar| bar.take()));
                Answering::from_ledger(ledger?, as_of)
            }
            Ready::Slow(loaded) => {
                let loaded = loaded?;
                eprintln!(
                    "lianlog: another process holds the ledger; answering from its log as of seq {} \
                     (the last entry made durable), verified now without the lock",
                    loaded.size().saturating_sub(1)
                );
                Answering::from_loaded(loaded, as_of)
            }
        }
    }

    /// Answer from lines held in memory (archives, or a held ledger's log), at `--as-of`.
    fn from_loaded(loaded: Loaded, as_of: Option<&str>) -> Result<Answering> {
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
    say_as_of_at(past.end, past.last_time);
}

fn say_as_of_at(end: u64, last_time: Option<lianlog_ledger::Timestamp>) {
    let time = last_time.map(render::local_time).unwrap_or_default();
    eprintln!("lianlog: as of seq {} ({time} 北京时间), replayed in memory", end.saturating_sub(1));
}

/// What a remote answer says beside its output, on standard error as the local command says it:
/// the `--as-of` point, and that the bodies were withheld (an auditor's key reads none).
fn say_remote(as_of: Option<&reads::AsOf>, bodies: bool) {
    if let Some(as_of) = as_of {
        say_as_of_at(as_of.end, as_of.last_time);
    }
    if !bodies {
        eprintln!(
            "lianlog: bodies withheld: the server answers this key without bodies (an auditor's key 审计只读，未含正文)"
        );
    }
}

/// `--archive` names local archive files; a server answers from its own ledger.
fn refuse_archives(archives: &[PathBuf]) -> Result<()> {
    if !archives.is_empty() {
        return Err(Error::bad_input(
            "--archive reads archive files on this machine and --server asks a server about its ledger: give one",
        )
        .into());
    }
    Ok(())
}

/// How often a reader tries the lock again while the log is verified beside it.
const LOCK_POLL: std::time::Duration = std::time::Duration::from_millis(20);

/// Which of [`first_ready`]'s two ways gave the answer.
#[derive(Debug, PartialEq)]
enum Ready<F, S> {
    Fast(F),
    Slow(S),
}

/// Runs `slow` on another thread and calls `fast` every `poll` until either gives an answer:
/// `fast` answers with `Some`. `slow` is left to finish on its own when `fast` wins (a reader's
/// process ends with its answer); if `slow`'s thread dies, only `fast` is waited for.
fn first_ready<F, S: Send + 'static>(
    mut fast: impl FnMut() -> Option<F>,
    slow: impl FnOnce() -> S + Send + 'static,
    poll: std::time::Duration,
) -> Ready<F, S> {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(slow());
    });
    let mut slow_running = true;
    loop {
        if slow_running {
            match receiver.recv_timeout(poll) {
                Ok(answer) => return Ready::Slow(answer),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => slow_running = false,
            }
        } else {
            std::thread::sleep(poll);
        }
        if let Some(answer) = fast() {
            return Ready::Fast(answer);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    const POLL: Duration = Duration::from_millis(5);

    /// A writer that lets go (the third try) answers long before the log would be verified.
    #[test]
    fn the_lock_freed_answers_before_the_log_is_verified() {
        let started = Instant::now();
        let mut tries = 0;
        let fast = || {
            tries += 1;
            (tries == 3).then_some("ledger")
        };
        let answer = first_ready(fast, || std::thread::sleep(Duration::from_secs(5)), POLL);
        assert_eq!(answer, Ready::Fast("ledger"));
        assert!(started.elapsed() < Duration::from_secs(2), "waited for the slow way");
    }

    /// A writer that holds on (an import, a server): the verified log answers.
    #[test]
    fn a_lock_held_on_leaves_the_answer_to_the_log() {
        let answer = first_ready(|| None::<&str>, || "log", POLL);
        assert_eq!(answer, Ready::Slow("log"));
    }

    /// The slow way failing (a panic) leaves the fast way to answer, not a hang or a panic.
    #[test]
    fn a_failed_log_verification_still_waits_for_the_lock() {
        let mut tries = 0;
        let fast = || {
            tries += 1;
            (tries == 4).then_some("ledger")
        };
        let answer = first_ready(fast, || -> &str { panic!("the verifying thread dies") }, POLL);
        assert_eq!(answer, Ready::Fast("ledger"));
    }
}
