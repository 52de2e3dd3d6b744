//! The I/O every command shares, in one place: opening a ledger (and showing what opening
//! repaired), reading keys and passphrases, reading input files within a size limit, writing
//! output files whole, printing JSON, parsing vkeys, and the map from `ErrorKind` to exit code.
//!
//! Guarantees: an input is never read past its limit (a larger one is refused, naming it); an
//! output file is written whole or not at all, never through a symbolic link, never replacing a
//! file unless `--force`; a passphrase never comes from a flag (it would land in the shell
//! history). Nothing here renders (that is `render`) or decides a ledger rule (that is the library).

use std::io::{IsTerminal as _, Read as _};
use std::path::Path;

use anyhow::Result;
use lianlog_ledger::keys::Zeroizing;
use lianlog_ledger::ledger::OpenOptions;
use lianlog_ledger::note::CosignerPolicy;
use lianlog_ledger::{Draft, Error, ErrorKind, Ledger, PublicKey, SecretKey};
use serde_json::Value;

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

/// The name of an error's kind for `--json` errors (`"BadInput"`, `"Verification"`, …): the
/// `ErrorKind` variant, or `"BadInput"` for an error that carries none (exit code 2 as well).
pub fn error_code_of(err: &anyhow::Error) -> String {
    let kind = err.chain().find_map(|cause| cause.downcast_ref::<Error>()).map(Error::kind);
    kind.map_or_else(|| "BadInput".to_string(), |kind| format!("{kind:?}"))
}

/// The `--json` form of an error, one object on standard error:
/// `{"error":{"code":"<ErrorKind name>","exit":N,"message":"…"}}`.
pub fn error_json(code: &str, exit: u8, message: &str) -> Value {
    serde_json::json!({"error": {"code": code, "exit": exit, "message": message}})
}

/// Print a command's error, the one place errors are printed: as text, or with `--json` as
/// `error_json` (the exit code is `exit_code_of` either way).
pub fn print_error(err: &anyhow::Error, json_output: bool) {
    if json_output {
        let value = error_json(&error_code_of(err), exit_code_of(err), &format!("{err:#}"));
        eprintln!("{}", render::json_safe(&value.to_string()));
    } else {
        eprintln!("lianlog: error: {err:#}");
    }
}

/// Print clap's verdict on the arguments and give its exit code: help and version as clap prints
/// them; a usage error (exit 2) as text, or as `error_json` when `--json` is among the arguments
/// (they did not parse, so the flag is looked for among them).
pub fn usage_error(err: &clap::Error) -> std::process::ExitCode {
    let json_output =
        err.use_stderr() && std::env::args_os().skip(1).take_while(|arg| arg != "--").any(|arg| arg == "--json");
    if json_output {
        let text = err.render().to_string();
        let message = text.trim().strip_prefix("error: ").unwrap_or(text.trim());
        let exit = u8::try_from(err.exit_code()).unwrap_or(2);
        eprintln!("{}", render::json_safe(&error_json("BadInput", exit, message).to_string()));
        return std::process::ExitCode::from(exit);
    }
    let _ = err.print();
    std::process::ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2))
}

pub fn print_json(value: &Value) {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    println!("{}", render::json_safe(&text));
}

/// How long a local open waits for another process to release the ledger (`--wait`), set once
/// by `commands::run` before any command opens a ledger.
static LOCK_WAIT: std::sync::OnceLock<std::time::Duration> = std::sync::OnceLock::new();

/// Set the `--wait` of this run (the first call wins; later ones are ignored).
pub fn set_lock_wait(wait: std::time::Duration) {
    let _ = LOCK_WAIT.set(wait);
}

fn lock_wait() -> std::time::Duration {
    LOCK_WAIT.get().copied().unwrap_or_default()
}

pub fn open(dir: &Path) -> Result<Ledger> {
    let ledger = Ledger::open_with(dir, OpenOptions { wait: lock_wait(), ..OpenOptions::default() })?;
    print_notes_from(&ledger, 0);
    Ok(ledger)
}

/// Open the ledger for a command that only reads: nothing in the log is repaired or changed
/// (a torn tail or an interrupted import is left for the next writer, and not shown).
pub fn open_reader(dir: &Path) -> Result<Ledger> {
    let ledger = Ledger::open_with(dir, OpenOptions { read_only: true, wait: lock_wait(), ..OpenOptions::default() })?;
    print_notes_from(&ledger, 0);
    Ok(ledger)
}

/// [`open_reader`] without waiting for the lock: a `Locked` error at once when another process
/// holds the ledger, for readers that can answer from the log instead.
pub fn open_reader_now(dir: &Path) -> lianlog_ledger::Result<Ledger> {
    let ledger = Ledger::open_with(dir, OpenOptions { read_only: true, ..OpenOptions::default() })?;
    print_notes_from(&ledger, 0);
    Ok(ledger)
}

/// Print the ledger's notes (what opening repaired, what an append could not do) from `first` on.
pub fn print_notes_from(ledger: &Ledger, first: usize) {
    for note in ledger.notes().iter().skip(first) {
        eprintln!("lianlog: {note}");
    }
}

pub fn parse_cosigners(vkeys: &[String]) -> Result<Vec<PublicKey>> {
    Ok(vkeys.iter().map(|v| PublicKey::parse_vkey(v)).collect::<Result<Vec<_>, _>>()?)
}

/// The cosigner policy of `--witness`/`--cosigner` and `--witness-quorum`: all the named
/// witnesses, or `quorum` of them (checked by the library: 0 or too many is bad input, exit 2).
pub fn cosigner_policy(keys: &[PublicKey], quorum: Option<usize>) -> Result<CosignerPolicy<'_>> {
    Ok(match quorum {
        None => CosignerPolicy::all(keys),
        Some(quorum) => CosignerPolicy::quorum(keys, quorum)?,
    })
}

/// The log key is created unencrypted in the ledger directory (mode 0600); an operator who
/// encrypted it supplies LIANLOG_PASSPHRASE.
pub fn no_passphrase_for_log_key() -> lianlog_ledger::Result<Zeroizing<String>> {
    std::env::var("LIANLOG_PASSPHRASE")
        .map(Zeroizing::new)
        .map_err(|_| Error::key("the log key is encrypted: set LIANLOG_PASSPHRASE"))
}

/// The passphrase to encrypt a new key file with: LIANLOG_PASSPHRASE, or asked twice on a
/// terminal (never a flag, which would land in the shell history); refused when too weak
/// (`keys::check_passphrase_strength`) unless `weak_ok`.
pub fn new_passphrase(out: &Path, weak_ok: bool) -> Result<Zeroizing<String>> {
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
    if !weak_ok {
        lianlog_ledger::keys::check_passphrase_strength(&passphrase)?;
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

/// A checkpoint, proof or bundle file: UTF-8 text of at most `proof::MAX_PROOF_BYTES` bytes.
pub fn read_text(path: &Path) -> Result<String> {
    let bytes = read_limited(Some(path), lianlog_ledger::limits::MAX_PROOF_BYTES)?;
    Ok(String::from_utf8(bytes).map_err(|_| Error::bad_input(format!("{}: not UTF-8 text", path.display())))?)
}

/// Read a file, or standard input for `-`, refusing more than `limit` bytes.
fn read_input(source: &str, limit: usize) -> Result<Vec<u8>> {
    if source == "-" && std::io::stdin().is_terminal() {
        eprintln!("{}", reading_stdin_notice());
    }
    if source == "-" { read_limited(None, limit) } else { read_limited(Some(Path::new(source)), limit) }
}

/// Read the file at `path` (standard input for `None`), refusing more than `limit` bytes.
pub fn read_limited(path: Option<&Path>, limit: usize) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let name = path.map_or_else(|| "standard input".to_string(), |path| path.display().to_string());
    let read = match path {
        None => std::io::stdin().lock().take(limit as u64 + 1).read_to_end(&mut bytes),
        Some(path) => std::fs::File::open(path).and_then(|file| file.take(limit as u64 + 1).read_to_end(&mut bytes)),
    };
    read.map_err(|err| match err.kind() {
        // A mistyped path is a usage error (exit 2), not a failure of the system (exit 7).
        std::io::ErrorKind::NotFound => Error::bad_input(format!("cannot read {name}: {err}; check the path")),
        _ => Error::io("read", &name, err),
    })?;
    if bytes.len() > limit {
        return Err(Error::bad_input(format!("{name}: larger than {limit} bytes, the most accepted here")).into());
    }
    Ok(bytes)
}

/// What an officer who typed `lianlog append KIND` without --body sees on a terminal, instead of
/// a silent wait.
pub fn reading_stdin_notice() -> &'static str {
    "lianlog: reading JSON from standard input: paste it, then press Ctrl-D on a line of its own to end \
     (or give a file with --body FILE)"
}

/// A JSON value from a file or standard input (`-`); `root` names it in field paths.
pub fn read_json_input(source: &str, root: &str) -> Result<Value> {
    // A body is at most MAX_BODY_BYTES canonical; allow room for whitespace and escapes.
    let bytes = read_input(source, lianlog_ledger::limits::MAX_LINE_BYTES)?;
    let name = if source == "-" { "standard input" } else { source };
    // The library's strict parser: a member named twice is refused, not silently replaced.
    let value =
        lianlog_ledger::canonical::parse_json(lianlog_ledger::canonical::without_bom(&bytes), root).map_err(|err| {
            let (line, column) = err.position.unwrap_or((1, 1));
            Error::bad_input(format!("{name}: line {line} column {column}: {}", err.reason))
        })?;
    Ok(value)
}

/// The records of an import file (JSON Lines of `{"kind":…,"body":…}`), or of standard input (`-`).
pub fn read_import(source: &str) -> Result<Vec<Draft>> {
    let bytes = read_input(source, lianlog_ledger::limits::MAX_IMPORT_BYTES)?;
    let name = if source == "-" { "standard input" } else { source };
    Ok(lianlog_ledger::parse_import(&bytes).map_err(|err| err.at(name))?)
}

/// Refuse an output path that names an existing file (or link) unless `force`.
pub fn refuse_existing(path: &Path, force: bool) -> Result<()> {
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
/// (`lianlog_ledger::publish`). On an error nothing is left under `path`.
pub fn write_output<T>(
    path: &Path,
    force: bool,
    write: impl FnOnce(&mut std::fs::File) -> lianlog_ledger::Result<T>,
) -> Result<T> {
    refuse_existing(path, force)?;
    Ok(lianlog_ledger::publish(path, force, write)?)
}

/// A server to work against (`--server URL`, or `LIANLOG_SERVER`) and the key that signs the
/// requests (`--identity FILE`), instead of a local ledger directory.
#[derive(Debug, Clone)]
pub struct Remote {
    /// The server's base URL, e.g. `http://127.0.0.1:7878`.
    pub url: String,
    /// The caller's key file, for RFC 9421 request signatures.
    pub identity: Option<std::path::PathBuf>,
    /// The commission's own certificate authority (PEM) for an `https://` server, instead of the
    /// public roots (`--ca-cert`, or `LIANLOG_CA_CERT`).
    pub ca_cert: Option<std::path::PathBuf>,
}

impl Remote {
    /// `Some` when `--server` was given (a blank value counts as not given, so that an empty
    /// `LIANLOG_SERVER` does not redirect commands); refuses commands that never talk to a server.
    pub fn from_args(
        server: Option<String>,
        identity: Option<std::path::PathBuf>,
        ca_cert: Option<std::path::PathBuf>,
        command: &crate::args::Command,
    ) -> Result<Option<Remote>> {
        use crate::args::Command;
        let Some(url) = server.filter(|url| !url.trim().is_empty()) else { return Ok(None) };
        let works_remotely = matches!(
            command,
            Command::Append(_)
                | Command::Import(_)
                | Command::Show(_)
                | Command::Log(_)
                | Command::Dossier(_)
                | Command::Query(_)
                | Command::Cases(_)
                | Command::Overdue(_)
                | Command::Stats(_)
                | Command::Checkpoint(_)
                | Command::Prove(_)
                | Command::Export(_)
                | Command::Disclose(_)
                | Command::Verify(_)
                | Command::Receipt(_)
                | Command::Monitor(_)
                | Command::Login(_)
        );
        if !works_remotely {
            // Commands that never read a ledger (check, bench, demo, witness, completions, man,
            // serve itself) ignore --server; the others work on a local directory only.
            return Ok(None);
        }
        Ok(Some(Remote { url: url.trim_end_matches('/').to_string(), identity, ca_cert }))
    }

    /// A client of the server that signs nothing (the public resources, and appends, whose
    /// records carry their own signatures), trusting `--ca-cert` when given.
    pub fn client(&self) -> Result<lianlog_remote::Client> {
        let client = lianlog_remote::Client::new(&self.url)?;
        let Some(path) = &self.ca_cert else { return Ok(client) };
        let pem = read_limited(Some(path), 1 << 20)?;
        Ok(client.with_ca_pem(&pem)?)
    }

    /// A client of the server that signs every request with the `--identity` key: the
    /// authenticated reads need one, and saying so here is clearer than the server's 401.
    pub fn signed_client(&self, command: &str) -> Result<lianlog_remote::Client> {
        let Some(identity) = &self.identity else {
            return Err(Error::bad_input(format!(
                "`lianlog {command}` against a server ({}) needs --identity FILE (or LIANLOG_IDENTITY): \
                 your key file, which signs the request; the server answers keys of its registry only",
                self.url
            ))
            .into());
        };
        Ok(self.client()?.with_identity(read_key(identity)?))
    }
}
