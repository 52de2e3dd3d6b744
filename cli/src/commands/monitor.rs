//! `lianlog monitor` (监测): an auditor's watch over a served log. Arguments, the loop and
//! rendering only; every rule is `lianlog_ledger::monitor`, the fetching `lianlog_remote::verify`'s
//! `RemoteTiles` (the checkpoint and hash tiles, both public: no identity needed).

use std::process::ExitCode;

use anyhow::Result;
use lianlog_ledger::monitor::{Misbehaviour, Monitor, Observed, Progress};
use lianlog_ledger::{Error, PublicKey, Timestamp};
use lianlog_remote::verify::RemoteTiles;
use serde_json::{Value, json};

use crate::args::MonitorArgs;
use crate::io::{Remote, parse_cosigners, print_json};
use crate::render;

/// Run `lianlog monitor`: one check with `--once`, else a check every `--interval` seconds until
/// stopped.
pub fn run(args: MonitorArgs, remote: Option<&Remote>, json_output: bool) -> Result<ExitCode> {
    let Some(remote) = remote else {
        return Err(Error::bad_input(
            "lianlog monitor watches a served log: give its URL with --server URL (or LIANLOG_SERVER)",
        )
        .into());
    };
    let log_key = PublicKey::parse_vkey(&args.vkey)?;
    let witnesses = parse_cosigners(&args.witness)?;
    let mut monitor = Monitor::open(&args.state, &log_key, &witnesses)?;
    let client = remote.client()?;
    loop {
        let outcome = monitor.check(&mut RemoteTiles::new(&client, &client), Timestamp::now());
        match outcome {
            Ok(Ok(observed)) => report_observed(&remote.url, &observed, json_output),
            Ok(Err(misbehaviour)) => {
                report_misbehaviour(&remote.url, &misbehaviour, json_output);
                if args.once {
                    return Ok(ExitCode::from(1));
                }
            }
            Err(err) if !args.once => {
                // The server is down or refuses: not misbehaviour the monitor can prove; go on.
                eprintln!("lianlog monitor: {} 无法读取: {err}", remote.url);
            }
            Err(err) => return Err(err.into()),
        }
        if args.once {
            return Ok(ExitCode::SUCCESS);
        }
        std::thread::sleep(std::time::Duration::from_secs(args.interval));
    }
}

/// A checkpoint that verified: one line (or one JSON document).
fn report_observed(url: &str, observed: &Observed, json_output: bool) {
    let checkpoint = &observed.checkpoint.checkpoint;
    let (progress, from) = match observed.progress {
        Progress::First => ("first", None),
        Progress::Unchanged => ("unchanged", None),
        Progress::Grew { from } => ("grew", Some(from)),
        Progress::Behind { stored } => ("behind", Some(stored)),
    };
    if json_output {
        print_json(&json!({
            "ok": true,
            "server": url,
            "time": Timestamp::now().to_string(),
            "origin": checkpoint.origin,
            "size": checkpoint.size,
            "root": lianlog_ledger::encoding::hex(&checkpoint.root),
            "progress": progress,
            "from": from,
            "hash_tiles": observed.tiles,
            "cosignatures": render::cosignatures_json(&observed.checkpoint.cosignatures),
        }));
        return;
    }
    let what = match observed.progress {
        Progress::First => "first checkpoint, kept (trusted on first use 首次记录)".to_string(),
        Progress::Unchanged => "unchanged 未变".to_string(),
        Progress::Grew { from } => format!("extends size {from} 一致 (consistent)"),
        Progress::Behind { stored } => {
            format!("an older checkpoint, a prefix of size {stored} already verified 旧检查点 (consistent)")
        }
    };
    println!(
        "{} 北京时间 监测正常 ok: {} size {} root {}: {what}; {} hash tiles",
        render::china_time(Timestamp::now()),
        checkpoint.origin,
        checkpoint.size,
        lianlog_ledger::encoding::hex(&checkpoint.root),
        observed.tiles
    );
    render::print_cosignatures("   ", &observed.checkpoint.cosignatures);
}

/// Misbehaviour: a loud line (or a JSON document with `"ok": false`).
fn report_misbehaviour(url: &str, found: &Misbehaviour, json_output: bool) {
    if json_output {
        let value: Value = json!({
            "ok": false,
            "server": url,
            "time": Timestamp::now().to_string(),
            "misbehaviour": found.kind.name(),
            "message": found.message,
            "evidence": found.evidence,
        });
        print_json(&value);
        return;
    }
    println!(
        "{} 北京时间 !!! 监测告警 MISBEHAVIOUR ({}) at {url}: {}",
        render::china_time(Timestamp::now()),
        found.kind.name(),
        found.message
    );
}
