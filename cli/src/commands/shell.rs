//! `completions` and `man`: the shell's views of the one clap definition (`args::command()`), so
//! that completion scripts and manual pages always describe exactly the flags `lianlog` accepts.
//! Manual pages are written one per command (`lianlog-key-new.1` for `lianlog key new`), the
//! way `man lianlog-key-new` and `git`-style tools find them.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use lianlog_ledger::Error;

use crate::args::{CompletionsArgs, ManArgs};

/// Print the completion script of `args.shell` on standard output.
pub fn completions(args: CompletionsArgs) -> Result<ExitCode> {
    let mut command = crate::args::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "lianlog", &mut script);
    std::io::stdout().write_all(&script).map_err(|err| Error::io("write", Path::new("standard output"), err))?;
    Ok(ExitCode::SUCCESS)
}

/// Write one manual page per command (visible ones, without `help`) into `args.dir`.
pub fn man(args: ManArgs, json_output: bool) -> Result<ExitCode> {
    let dir = args.dir.as_path();
    std::fs::create_dir_all(dir).map_err(|err| Error::io("create directory", dir, err))?;
    let mut written = Vec::new();
    let mut command = crate::args::command();
    // Built, so that each subcommand has its full name (lianlog-key-new) and the global flags.
    command.build();
    write_pages(&command, dir, &mut written)?;
    if json_output {
        crate::io::print_json(&serde_json::json!({"dir": dir, "pages": written}));
    } else {
        println!("wrote {} manual pages to {} (lianlog.1, lianlog-key-new.1, …)", written.len(), dir.display());
        println!(
            "read one with `man {}`; in a man1 directory of MANPATH, with `man lianlog`",
            dir.join("lianlog.1").display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The page of `command`, then those of its subcommands, depth first.
fn write_pages(command: &clap::Command, dir: &Path, written: &mut Vec<String>) -> Result<()> {
    let page = clap_mangen::Man::new(command.clone());
    let name = page.get_filename();
    let path = dir.join(&name);
    let mut roff = Vec::new();
    page.render(&mut roff).map_err(|err| Error::io("render", &path, err))?;
    std::fs::write(&path, roff).map_err(|err| Error::io("write", &path, err))?;
    written.push(name);
    for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set() && sub.get_name() != "help") {
        write_pages(sub, dir, written)?;
    }
    Ok(())
}
