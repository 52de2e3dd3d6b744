//! `lianlog verify`, `export`, `reindex` and `replay` (完整性校验, 导出, 重建索引, 重放校验): the
//! whole-ledger passes over the log. `verify` exits 1 when anything fails, naming the first bad
//! seq; with the ledger in use, read-only or its store out of step, it still checks the log alone.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use lianlog_ledger::ledger::OpenOptions;
use lianlog_ledger::verify::{ArchivedCheckpoint, check_archived_checkpoints};
use lianlog_ledger::{Error, ErrorKind, Ledger, PublicKey, VerifyOptions, export_dir_with_progress};
use serde_json::json;

use crate::args::{ExportArgs, VerifyArgs};
use crate::io::Remote;
use crate::io::{
    cosigner_policy, open_reader, parse_cosigners, print_json, print_notes_from, read_key, read_text, write_output,
};
use crate::render;

pub fn verify(args: VerifyArgs, dir: &Path, remote: Option<&Remote>, json_output: bool) -> Result<ExitCode> {
    let expected_log_key = args.vkey.as_deref().map(PublicKey::parse_vkey).transpose()?;
    let cosigners = parse_cosigners(&args.cosigner)?;
    let cosigners = cosigner_policy(&cosigners, args.witness_quorum)?;
    if !cosigners.keys.is_empty() && args.checkpoint.is_empty() && remote.is_none() {
        return Err(Error::bad_input(
            "--witness names the witnesses whose cosignatures a checkpoint must carry: give the checkpoints with \
             --checkpoint FILE, or verify a served ledger (--server URL) whose checkpoint must carry them",
        )
        .into());
    }
    let mut checkpoints = Vec::new();
    for path in &args.checkpoint {
        checkpoints.push(ArchivedCheckpoint::parse(path.display(), read_text(path)?)?);
    }
    if !args.cosigner.is_empty() && checkpoints.is_empty() && remote.is_none() {
        return Err(Error::bad_input(
            "--witness names witnesses whose cosignatures a checkpoint must carry: give --checkpoint FILE, or \
             --server URL to require them on the server's checkpoint",
        )
        .into());
    }
    let root_sizes: Vec<u64> = checkpoints.iter().map(|checkpoint| checkpoint.size).collect();
    let started = std::time::Instant::now();
    let mut bar = render::Bar::new(json_output);
    let mut progress = |p| bar.update(p);
    // What a remote verification fetched: the server's checkpoint size, bundles, bodies, tiles.
    let mut served = None;
    let (source, result) = match (remote, &args.file) {
        (Some(remote), _) => {
            if args.file.is_some() || args.log_only {
                return Err(Error::bad_input(
                    "verify --server fetches the ledger from the server; --file and --log-only verify local files \
                     (drop --server, or drop them)",
                )
                .into());
            }
            let options =
                VerifyOptions { allow_withheld: true, expected_log_key: expected_log_key.clone(), root_sizes };
            // The checkpoint and hash tiles are public; entries and bodies are signed when an
            // identity is given (a server without --public-entries requires one).
            let public = remote.client()?;
            let entries = match &remote.identity {
                Some(path) => remote.client()?.with_identity(read_key(path)?),
                None => remote.client()?,
            };
            let result = match lianlog_remote::verify::verify(&public, &entries, options, &mut progress)? {
                Err(failure) => Err(failure),
                Ok(verified) => {
                    // The served checkpoint verified against the log key; now the witnesses named.
                    let witnessed = PublicKey::parse_vkey(&verified.report.log_key)
                        .and_then(|log_key| lianlog_ledger::note::open_checkpoint(&verified.note, &log_key, cosigners));
                    match witnessed {
                        Ok(witnessed) => {
                            served = Some(Served {
                                size: verified.checkpoint.checkpoint.size,
                                bundles: verified.bundles,
                                bodies: verified.bodies,
                                tiles: verified.tiles,
                                cosignatures: witnessed.cosignatures,
                            });
                            Ok(verified.report)
                        }
                        Err(err) => Err(lianlog_ledger::VerifyFailure {
                            line: verified.report.entries,
                            seq: None,
                            reason: format!("the server's checkpoint: {}", err.message()),
                        }),
                    }
                }
            };
            (remote.url.clone(), result)
        }
        (None, Some(file)) => {
            let options =
                VerifyOptions { allow_withheld: true, expected_log_key: expected_log_key.clone(), root_sizes };
            (
                file.display().to_string(),
                lianlog_ledger::verify::verify_export_file_with_progress(file, options, &mut progress)?,
            )
        }
        (None, None) => {
            let options =
                VerifyOptions { allow_withheld: false, expected_log_key: expected_log_key.clone(), root_sizes };
            // With the lock, also check the derived store; without it (a writer is busy), the log alone.
            let result = if args.log_only {
                lianlog_ledger::verify_dir_with_progress(dir, options, &mut progress)?
            } else {
                match Ledger::open_with(dir, OpenOptions { read_only: true, ..OpenOptions::default() }) {
                    Ok(ledger) => {
                        print_notes_from(&ledger, 0);
                        ledger.verify_with_progress(options, &mut progress)?
                    }
                    Err(err) if err.kind() == ErrorKind::Locked => {
                        eprintln!("lianlog: the ledger is in use; verifying the log alone (not the derived store)");
                        lianlog_ledger::verify_dir_with_progress(dir, options, &mut progress)?
                    }
                    Err(err) if err.kind() == ErrorKind::Io => {
                        // A read-only or full disk: the log can still be read and checked.
                        eprintln!("lianlog: {err}");
                        eprintln!(
                            "lianlog: the ledger cannot be opened for writing; verifying the log alone (not the derived store)"
                        );
                        lianlog_ledger::verify_dir_with_progress(dir, options, &mut progress)?
                    }
                    Err(err) if err.kind() == ErrorKind::Verification => {
                        // The log changed behind the derived store's back. Name the first bad seq if
                        // the log itself shows one; otherwise the store's record is the evidence.
                        match lianlog_ledger::verify_dir(dir, options)? {
                            Err(failure) => Err(failure),
                            Ok(report) => Err(lianlog_ledger::VerifyFailure {
                                line: err.seq().map(|seq| seq + 1).unwrap_or(report.entries),
                                seq: err.seq(),
                                reason: err.message().replace(lianlog_ledger::ledger::RUN_VERIFY_HINT, ""),
                            }),
                        }
                    }
                    Err(err) => return Err(err.into()),
                }
            };
            (dir.display().to_string(), result)
        }
    };
    bar.finish();
    let elapsed = started.elapsed();
    // Archived checkpoints: the verified history must still contain each of them.
    // Each --cosigner must have cosigned each of them.
    let mut cosigned = Vec::new();
    let result = result.and_then(|report| {
        cosigned = check_archived_checkpoints(&report, &checkpoints, expected_log_key.as_ref(), cosigners)?;
        Ok(report)
    });
    match result {
        Ok(report) => {
            if json_output {
                print_json(&json!({
                    "ok": true,
                    "source": source,
                    "entries": report.entries,
                    "head": report.head.to_hex(),
                    "root": lianlog_ledger::encoding::hex(&report.root),
                    "origin": report.origin,
                    "log_key": report.log_key,
                    "withheld": report.withheld,
                    "redactions": report.redactions.iter().map(|r| json!({"seq": r.target, "by": r.by, "author": r.author, "time": r.time.to_string(), "reason": r.reason, "applied": r.applied})).collect::<Vec<_>>(),
                    "checkpoints": args.checkpoint.iter().zip(&checkpoints).zip(&cosigned).map(|((path, checkpoint), cosignatures)| json!({"file": path, "size": checkpoint.size, "consistent": true, "cosignatures": render::cosignatures_json(cosignatures), "witnesses": render::witnesses_json(cosigners, cosignatures)})).collect::<Vec<_>>(),
                    "ignored_partial_tail": report.ignored_partial_tail,
                    "server": served.as_ref().map(|s| json!({"checkpoint_size": s.size, "entry_bundles": s.bundles, "bodies": s.bodies, "hash_tiles": s.tiles, "cosignatures": render::cosignatures_json(&s.cosignatures), "witnesses": render::witnesses_json(cosigners, &s.cosignatures)})),
                    "seconds": elapsed.as_secs_f64(),
                }));
            } else {
                print_verified(&source, &report, &args, &checkpoints, &cosigned, cosigners, elapsed);
                if let Some(served) = &served {
                    print_served(served);
                    render::print_cosignatures("                     ", &served.cosignatures);
                    render::print_witness_policy("                     ", cosigners, &served.cosignatures);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(failure) => {
            if json_output {
                print_json(
                    &json!({"ok": false, "source": source, "seq": failure.seq, "line": failure.line, "reason": failure.reason}),
                );
            } else {
                println!("完整性校验失败 verification FAILED for {source}: {failure}");
            }
            Ok(ExitCode::from(1))
        }
    }
}

/// What a remote verification fetched from the server.
struct Served {
    /// The size of the server's checkpoint, which was verified.
    size: u64,
    /// Entry bundles fetched.
    bundles: u64,
    /// Bodies resources fetched.
    bodies: u64,
    /// Hash tiles fetched and compared.
    tiles: u64,
    /// The cosignatures of named witnesses on the server's checkpoint.
    cosignatures: Vec<lianlog_ledger::note::Cosignature>,
}

/// The remote part of a verification that passed (远程校验).
fn print_served(served: &Served) {
    let text = format!(
        "checkpoint of {} entries signed by the log key over the verified entries 服务器检查点已核对; \
         {} entry bundles, {} with key/ledger bodies, {} hash tiles equal to the recomputed tree 瓦片一致",
        served.size, served.bundles, served.bodies, served.tiles
    );
    println!("{}", render::field_line("服务器", "server", text));
    if !served.cosignatures.is_empty() {
        render::print_cosignatures("                     ", &served.cosignatures);
    }
}

/// The report of a verification that passed, bilingual like every table (完整性校验).
fn print_verified(
    source: &str,
    report: &lianlog_ledger::VerifyReport,
    args: &VerifyArgs,
    checkpoints: &[ArchivedCheckpoint],
    cosigned: &[Vec<lianlog_ledger::note::Cosignature>],
    cosigners: lianlog_ledger::note::CosignerPolicy<'_>,
    elapsed: std::time::Duration,
) {
    let rate = report.entries as f64 / elapsed.as_secs_f64().max(1e-9);
    println!("完整性校验通过 verified {source}: OK");
    println!("{}", render::field_line("来源", "origin", &report.origin));
    let pinned = if args.vkey.is_some() {
        " (pinned with --vkey 已核对)"
    } else {
        " (taken from genesis; pin it with --vkey 取自创建记录)"
    };
    println!("{}", render::field_line("日志密钥", "log key", format!("{}{pinned}", report.log_key)));
    println!("{}", render::field_line("条数", "entries", report.entries));
    println!("{}", render::field_line("链头", "head", report.head));
    println!("{}", render::field_line("根哈希", "root", lianlog_ledger::encoding::hex(&report.root)));
    if report.withheld > 0 {
        let text = format!(
            "{} bodies (an export without bodies, or a verify --server: signatures and chain checked, contents \
             not seen 未含正文)",
            report.withheld
        );
        println!("{}", render::field_line("未含正文", "withheld", text));
    }
    for redaction in &report.redactions {
        let text = format!(
            "seq {} by seq {} ({}, {} 北京时间): {}{}",
            redaction.target,
            redaction.by,
            redaction.author,
            render::china_time(redaction.time),
            redaction.reason,
            if redaction.applied { "" } else { " [body not yet removed 正文尚未删除]" }
        );
        println!("{}", render::field_line("已删除", "redacted", text));
    }
    for ((path, checkpoint), cosignatures) in args.checkpoint.iter().zip(checkpoints).zip(cosigned) {
        let text = format!("{} (size {}): consistent 一致", path.display(), checkpoint.size);
        println!("{}", render::field_line("检查点", "checkpoint", text));
        render::print_cosignatures("                     ", cosignatures);
        render::print_witness_policy("                     ", cosigners, cosignatures);
    }
    if report.ignored_partial_tail {
        println!(
            "{}",
            render::field_line(
                "说明",
                "note",
                "the log ends with a partial line (bytes after the last newline: a write in progress in \
                 another process, or one cut short by a crash); it was ignored, not checked 末尾不完整行未校验"
            )
        );
    }
    let time = format!("{:.3} s ({:.0} entries/s)", elapsed.as_secs_f64(), rate);
    println!("{}", render::field_line("用时", "time", time));
}

pub fn export(args: ExportArgs, dir: &Path, remote: Option<&Remote>, json_output: bool) -> Result<ExitCode> {
    if json_output && args.out.is_none() {
        return Err(Error::bad_input(
            "export --json: the export itself is JSON Lines on standard output, not one JSON document; \
             give --out FILE to write it there and print a JSON summary",
        )
        .into());
    }
    if let Some(remote) = remote {
        // The server's `export_dir`, checked to have ended (lianlog_remote::reads::export).
        let client = remote
            .signed_client("export")?
            .with_response_limit(lianlog_remote::reads::EXPORT_RESPONSE_LIMIT)
            .with_timeout(lianlog_remote::reads::EXPORT_TIMEOUT);
        let export = lianlog_remote::reads::export(&client, args.without_bodies)?;
        match &args.out {
            Some(path) => write_output(path, args.force, |file| {
                std::io::Write::write_all(file, &export.bytes).map_err(|err| Error::io("write", path, err))
            })?,
            None => {
                let mut out = std::io::stdout().lock();
                std::io::Write::write_all(&mut out, &export.bytes)
                    .and_then(|()| std::io::Write::flush(&mut out))
                    .map_err(|err| Error::io("write", "standard output", err))?;
            }
        }
        return report_export(&args, &export.exported, json_output);
    }
    let mut bar = render::Bar::new(json_output);
    let mut progress = |p| bar.update(p);
    let exported = match &args.out {
        // Whole or not at all: a partial export would look like a shorter ledger.
        Some(path) => write_output(path, args.force, |file| {
            let mut out = std::io::BufWriter::new(file);
            let exported = export_dir_with_progress(dir, &mut out, args.without_bodies, &mut progress)?;
            out.into_inner().map_err(|err| Error::io("write", path, err.into_error()))?;
            Ok(exported)
        })?,
        None => export_dir_with_progress(
            dir,
            &mut std::io::BufWriter::new(std::io::stdout().lock()),
            args.without_bodies,
            &mut progress,
        )?,
    };
    bar.finish();
    report_export(&args, &exported, json_output)
}

/// What `export` says after writing, local or remote.
fn report_export(
    args: &ExportArgs,
    exported: &lianlog_ledger::ledger::Exported,
    json_output: bool,
) -> Result<ExitCode> {
    if json_output {
        print_json(&json!({
            "file": args.out, "entries": exported.entries, "without_bodies": args.without_bodies,
            "withheld": exported.withheld, "replacements_kept": exported.replacements_kept,
        }));
    } else if let Some(path) = &args.out {
        let withheld =
            if args.without_bodies { format!(" ({} bodies withheld)", exported.withheld) } else { String::new() };
        eprintln!("exported {} entries to {}{withheld}", exported.entries, path.display());
    }
    if args.without_bodies && !exported.replacements_kept.is_empty() {
        eprintln!(
            "note: the ledger.redact entries at seq {} were written before replacements moved into \
             corrections: their bodies hold the replacement (the redacted record with the sensitive \
             parts removed), and format v1 keeps every ledger.* body in an export, so it is in this one \
             too (docs/PRIVACY.md, \"What a body-less export holds\")",
            exported.replacements_kept.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn reindex(dir: &Path, json_output: bool) -> Result<ExitCode> {
    let mut bar = render::Bar::new(json_output);
    let ledger = Ledger::reindex_with_progress(dir, &mut |p| bar.update(p))?;
    bar.finish();
    print_notes_from(&ledger, 0);
    if json_output {
        print_json(&json!({
            "ok": true,
            "entries": ledger.size(),
            "head": ledger.head().to_hex(),
            "root": lianlog_ledger::encoding::hex(&ledger.root()),
        }));
    } else {
        println!("rebuilt the derived store from the log: {} entries, head {}", ledger.size(), ledger.head());
    }
    Ok(ExitCode::SUCCESS)
}

pub fn replay(dir: &Path, json_output: bool) -> Result<ExitCode> {
    let ledger = open_reader(dir)?;
    let mut bar = render::Bar::new(json_output);
    let report = ledger.replay_with_progress(&mut |p| bar.update(p))?;
    bar.finish();
    if json_output {
        print_json(
            &json!({"ok": true, "entries": report.entries, "state_keys": report.keys, "seconds": report.seconds}),
        );
    } else {
        println!(
            "replayed {} entries: every projection ({} keys) is identical to the stored one ({:.3} s, {:.0} entries/s)",
            report.entries,
            report.keys,
            report.seconds,
            report.entries as f64 / report.seconds.max(1e-9)
        );
    }
    Ok(ExitCode::SUCCESS)
}
