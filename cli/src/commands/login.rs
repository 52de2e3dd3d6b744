//! `lianlog login` (网页登录): sign a server's one-time challenge with the caller's key and print
//! the one-time URL that opens a web session (`lianlog_remote::login`; the server's side is
//! server/src/web/session.rs). Nothing is written; the key never leaves this machine.

use std::process::ExitCode;

use anyhow::Result;
use lianlog_ledger::Error;
use serde_json::json;

use crate::args::LoginArgs;
use crate::io::{Remote, print_json};

pub fn run(args: LoginArgs, remote: Option<&Remote>, json_output: bool) -> Result<ExitCode> {
    let Some(remote) = remote else {
        return Err(Error::bad_input(
            "`lianlog login` signs in to a server's web pages: give --server URL (or LIANLOG_SERVER) and --key FILE",
        )
        .into());
    };
    let remote = Remote { identity: args.key.or_else(|| remote.identity.clone()), ..remote.clone() };
    if remote.identity.is_none() {
        return Err(Error::bad_input(format!(
            "`lianlog login` needs your key: give --key FILE (or --identity FILE); {} signs in keys of its registry only",
            remote.url
        ))
        .into());
    }
    let login = lianlog_remote::login::login(&remote.signed_client("login")?)?;
    if json_output {
        print_json(&json!({
            "url": login.url,
            "expires": login.expires,
            "identity": login.identity,
            "roles": login.roles,
        }));
    } else {
        println!("{}", login.url);
        eprintln!(
            "打开此链接登录（仅可使用一次，{} 前有效）。Open this URL in your browser to sign in as {} ({}); it works once, until {} (UTC).",
            login.expires,
            login.identity,
            login.roles.join(", "),
            login.expires
        );
    }
    Ok(ExitCode::SUCCESS)
}
