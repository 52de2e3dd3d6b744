//! `lianlog`: the command line of the lianlog ledger. Parses arguments (args.rs), turns them into
//! library calls (commands.rs), renders the results (render.rs). Errors are printed once, here.

mod args;
mod bench;
mod commands;
mod demo;
mod render;
mod snapshot;

use std::process::ExitCode;

fn main() -> ExitCode {
    restore_default_sigpipe();
    let code = match commands::run(args::parse()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("lianlog: error: {err:#}");
            ExitCode::from(commands::exit_code_of(&err))
        }
    };
    bench::write_peak_memory_if_asked();
    code
}

/// Rust ignores SIGPIPE, so `lianlog log | head` would make every later `println!` fail (and
/// panic). Like other Unix filters, die quietly when the reader goes away instead.
fn restore_default_sigpipe() {
    // SAFETY: called once at start-up before any thread exists; SIG_DFL is a valid disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
