//! `lianlog`: the command line of the lianlog ledger. Parses arguments (args.rs), dispatches each
//! subcommand to the handler of its family (commands/), which turns it into library calls with the
//! shared I/O helpers (io.rs) and renders the results (render.rs). Errors are printed once, here.

/// `println!` and `eprintln!` for this whole crate (they shadow the standard ones in every module
/// declared below): the text is passed through `render::terminal_safe`, so that no name or text
/// from a ledger, an import or an error message puts a bidirectional control or an escape
/// sequence on the terminal. `--json` output is escaped before it gets here (`render::json_safe`).
macro_rules! println {
    () => { ::std::println!() };
    ($($arg:tt)*) => { ::std::println!("{}", $crate::render::terminal_safe(&::std::format!($($arg)*))) };
}

/// See `println!` above.
macro_rules! eprintln {
    () => { ::std::eprintln!() };
    ($($arg:tt)*) => { ::std::eprintln!("{}", $crate::render::terminal_safe(&::std::format!($($arg)*))) };
}

mod args;
mod commands;
mod io;
mod render;

use std::process::ExitCode;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    restore_default_sigpipe();
    let cli = match args::try_parse() {
        Ok(cli) => cli,
        Err(err) => return io::usage_error(&err),
    };
    let json_output = cli.json;
    let code = match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            io::print_error(&err, json_output);
            ExitCode::from(io::exit_code_of(&err))
        }
    };
    commands::bench::write_peak_memory_if_asked();
    code
}

/// Rust ignores SIGPIPE, so `lianlog log | head` would make every later `println!` fail (and
/// panic). Like other Unix filters, die quietly when the reader goes away instead.
#[allow(unsafe_code)] // libc::signal has no safe wrapper in std; this is the CLI's only unsafe call.
fn restore_default_sigpipe() {
    // SAFETY: called once at start-up before any thread exists; SIG_DFL is a valid disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
