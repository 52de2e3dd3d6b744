//! The dispatch: one arm per subcommand of `args::Command`, each a call into the handler of its
//! family. A handler turns its arguments into library calls and prints the result; what handlers
//! share (opening a ledger, reading keys and files, printing JSON) is in `crate::io`, and tables
//! and terminal safety are in `crate::render`.
//!
//! Architecture Invariant: no module under `commands/` uses another one (no `super::` or
//! `crate::commands::` outside tests; checked by `ledger/tests/it/tidy.rs`), so a family can be read, moved
//! or removed alone.

mod answer;
mod append;
pub mod bench;
mod checkpoint;
mod demo;
mod init;
mod key;
mod kinds;
mod login;
mod monitor;
mod opinion;
mod proofs;
mod receipt;
mod redact;
mod serve;
mod shell;
mod snapshot;
mod verify;
mod witness;

use std::process::ExitCode;

use anyhow::Result;
use lianlog_ledger::Error;

use crate::args::{Cli, Command};

pub fn run(cli: Cli) -> Result<ExitCode> {
    let json_output = cli.json;
    crate::io::set_lock_wait(std::time::Duration::from_secs(cli.wait));
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
    let archives = cli.archive.as_slice();
    let remote = crate::io::Remote::from_args(cli.server, cli.identity, cli.ca_cert, &cli.command)?;
    let remote = remote.as_ref();
    match cli.command {
        Command::Init(args) => init::run(args, dir, json_output),
        Command::Key(command) => key::run(command, dir, json_output),
        Command::Append(args) => append::append(args, dir, remote, json_output),
        Command::Import(args) => append::import(args, dir, remote, json_output),
        Command::Show(args) => answer::show(args, dir, archives, remote, json_output),
        Command::Log(args) => answer::log(args, dir, remote, json_output),
        Command::Verify(args) => verify::verify(args, dir, remote, json_output),
        Command::Export(args) => verify::export(args, dir, remote, json_output),
        Command::Redact(args) => redact::redact(args, dir, json_output),
        Command::Disclose(args) => redact::disclose(args, dir, remote, json_output),
        Command::Checkpoint(args) => checkpoint::run(args, dir, remote, json_output),
        Command::Receipt(command) => receipt::run(command, dir, remote, json_output),
        Command::Prove(command) => proofs::prove(command, dir, remote, json_output),
        Command::Check(command) => proofs::check(command, json_output),
        Command::Reindex => verify::reindex(dir, json_output),
        Command::Replay => verify::replay(dir, json_output),
        Command::Dossier(args) => answer::dossier(args, dir, archives, remote, json_output),
        Command::Query(args) => answer::query(args, dir, archives, remote, json_output),
        Command::Cases(args) => answer::cases(args, dir, archives, remote, json_output),
        Command::Overdue(args) => answer::overdue(args, dir, archives, remote, json_output),
        Command::Stats(args) => answer::stats(args, dir, archives, remote, json_output),
        Command::Opinion(args) => opinion::run(args, dir, json_output),
        Command::Demo(args) => demo::run(&args.dir, json_output),
        Command::Snapshot(command) => snapshot::run(command, dir, json_output),
        Command::Bench(args) => bench::run(args, json_output),
        Command::Serve(args) => serve::run(args, dir, json_output),
        Command::Monitor(args) => monitor::run(args, remote, json_output),
        Command::Witness(command) => witness::run(command, json_output),
        Command::Completions(args) => shell::completions(args),
        Command::Man(args) => shell::man(args, json_output),
        Command::Kinds(args) => kinds::run(args, json_output),
        Command::Login(args) => login::run(args, remote, json_output),
    }
}
