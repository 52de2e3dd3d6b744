//! `lianlog serve` (台账服务): hold one ledger open and serve it to the commission over HTTP.
//! Arguments and the terminal only; the server is `lianlog_server::serve_ledger`, every rule is
//! the library's.

use std::io::{IsTerminal as _, Write as _};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;
use lianlog_ledger::Error;
use lianlog_ledger::keys::Zeroizing;
use lianlog_ledger::witnessing::LogWitness;
use serde_json::json;

use crate::args::ServeArgs;
use crate::io::{open, print_json};

/// Run `lianlog serve`.
pub fn run(args: ServeArgs, dir: &Path, json_output: bool) -> Result<ExitCode> {
    let ledger = open(dir)?;
    // The log key signs a checkpoint after every group; an encrypted one is unlocked once, here.
    let log_key = ledger.log_key(&mut || {
        if let Ok(value) = std::env::var("LIANLOG_PASSPHRASE") {
            return Ok(Zeroizing::new(value));
        }
        if std::io::stdin().is_terminal() {
            return rpassword::prompt_password("passphrase for the log key: ")
                .map(Zeroizing::new)
                .map_err(|err| Error::key(format!("cannot read the passphrase: {err}")));
        }
        Err(Error::key("the log key is encrypted: set LIANLOG_PASSPHRASE or run in a terminal to be asked"))
    })?;
    let tls = match (args.tls_cert, args.tls_key) {
        (Some(cert), Some(key)) => Some(lianlog_server::TlsFiles { cert, key }),
        _ => None,
    };
    // Checked before the server starts, so that a misconfigured witness list fails at once.
    let witnesses = if args.witness.is_empty() {
        None
    } else {
        let witnesses =
            args.witness.iter().map(|spec| LogWitness::parse(spec)).collect::<lianlog_ledger::Result<Vec<_>>>()?;
        let quorum = args.witness_quorum.unwrap_or(witnesses.len());
        lianlog_ledger::witnessing::check_witnesses(&witnesses, quorum)?;
        Some(lianlog_server::WitnessOptions {
            witnesses,
            quorum,
            interval: std::time::Duration::from_secs(args.witness_interval),
        })
    };
    let options = lianlog_server::ServeOptions {
        listen: args.listen,
        public_entries: args.public_entries,
        tls,
        access_log: args.access_log,
        limits: lianlog_server::ServeLimits {
            request_timeout: std::time::Duration::from_secs(args.request_timeout),
            idle_timeout: std::time::Duration::from_secs(args.idle_timeout),
            max_in_flight: usize::try_from(args.max_in_flight).unwrap_or(usize::MAX),
            max_body_bytes: usize::try_from(args.max_body_bytes).unwrap_or(usize::MAX),
            ..lianlog_server::ServeLimits::default()
        },
        witnesses,
        session_hours: args.session_hours,
    };
    let report: lianlog_server::Reporter = Arc::new(|line: String| eprintln!("lianlog serve: {line}"));
    // A server runs until stopped: its first line (or, with --json, its one document) is the
    // address it listens on, so that scripts and tests can read the port chosen for `:0`.
    lianlog_server::serve_ledger(ledger, log_key, options, report, |url| {
        if json_output {
            print_json(&json!({"listening": url.address.to_string(), "url": url.url}));
        } else {
            println!("listening on {}", url.address);
        }
        let _ = std::io::stdout().flush();
    })?;
    Ok(ExitCode::SUCCESS)
}
