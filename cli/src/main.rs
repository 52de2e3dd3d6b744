//! `lianlog`: the command line of the lianlog ledger. Parses arguments (args.rs), turns them into
//! library calls (commands.rs), renders the results (render.rs). Errors are printed once, here.

mod args;
mod commands;
mod demo;
mod render;
mod snapshot;

use std::process::ExitCode;

fn main() -> ExitCode {
    match commands::run(args::parse()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("lianlog: error: {err:#}");
            ExitCode::from(commands::exit_code_of(&err))
        }
    }
}
