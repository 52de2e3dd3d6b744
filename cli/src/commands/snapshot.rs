//! `lianlog snapshot …` (快照归档): archives (create, verify, restore, redact, list). The work is in
//! `lianlog_ledger::archive`; this renders it, with a progress bar for the long operations.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use lianlog_ledger::archive::{self, ArchiveOptions, CreateOptions};
use lianlog_ledger::encoding::hex;
use lianlog_ledger::note::CosignerPolicy;
use lianlog_ledger::verify::ArchivedCheckpoint;
use lianlog_ledger::{Error, PublicKey};
use serde_json::json;

use crate::args::SnapshotCommand;
use crate::io::{cosigner_policy, no_passphrase_for_log_key, open, parse_cosigners, print_json, read_key, read_text};
use crate::render;

pub fn run(command: SnapshotCommand, dir: &Path, json_output: bool) -> Result<ExitCode> {
    match command {
        SnapshotCommand::Create { out, since, if_grown, no_compress, level } => {
            create(dir, out, since, if_grown, (!no_compress).then_some(level), json_output)
        }
        SnapshotCommand::Verify { archives, vkey, checkpoint, cosigner, witness_quorum } => {
            let cosigners = parse_cosigners(&cosigner)?;
            let cosigners = cosigner_policy(&cosigners, witness_quorum)?;
            verify(&archives, vkey.as_deref(), &checkpoint, cosigners, json_output)
        }
        SnapshotCommand::Restore { archives, into, log_key } => restore(&archives, &into, &log_key, json_output),
        SnapshotCommand::Redact { archives, out, vkey } => redact(&archives, &out, vkey.as_deref(), json_output),
        SnapshotCommand::List { dir } => list(&dir, json_output),
    }
}

fn create(
    dir: &Path,
    out: PathBuf,
    since: Option<String>,
    if_grown: Option<u64>,
    zstd_level: Option<i32>,
    json_output: bool,
) -> Result<ExitCode> {
    let ledger = open(dir)?;
    let newest = archive::newest(&out, ledger.origin())?;
    if let Some(minimum) = if_grown {
        let (grown, since_what) = match &newest {
            Some((path, manifest)) => (ledger.size().saturating_sub(manifest.end), path.display().to_string()),
            None => (ledger.size(), format!("genesis (no archive of this ledger in {})", out.display())),
        };
        if grown < minimum {
            if json_output {
                print_json(&json!({"created": false, "grown": grown, "if_grown": minimum}));
            } else {
                println!("nothing to do: the ledger grew by {grown} entries since {since_what}, fewer than {minimum}");
            }
            return Ok(ExitCode::SUCCESS);
        }
    }
    let since = match since.as_deref() {
        None => None,
        Some("latest") => match newest {
            Some((path, _)) => Some(path),
            None => {
                return Err(Error::bad_input(format!(
                    "--since latest: there is no archive of {} in {}; make a full archive first (without --since)",
                    ledger.origin(),
                    out.display()
                ))
                .into());
            }
        },
        Some(path) => Some(PathBuf::from(path)),
    };
    let log_key = ledger.log_key(&mut no_passphrase_for_log_key)?;
    let options = CreateOptions { out_dir: out, since, zstd_level };
    let mut bar = render::Bar::new(json_output);
    let started = std::time::Instant::now();
    let created = archive::create(&ledger, &log_key, &options, &mut |p| bar.update(p));
    bar.finish();
    let created = created?;
    let seconds = started.elapsed().as_secs_f64();
    let entries = created.end - created.first_seq;
    if json_output {
        print_json(&json!({
            "created": true,
            "archive": created.path,
            "first_seq": created.first_seq,
            "end": created.end,
            "entries": entries,
            "root": hex(&created.root),
            "bytes": created.bytes,
            "entries_bytes": created.entries_bytes,
            "seconds": seconds,
        }));
    } else {
        let kind = if created.first_seq == 0 { "full archive" } else { "incremental archive" };
        println!("wrote {} ({kind})", created.path.display());
        println!("  entries   seq {}..{} ({entries})", created.first_seq, created.end - 1);
        println!("  root      {}", hex(&created.root));
        println!("  size      {} bytes ({} bytes of stored lines)", created.bytes, created.entries_bytes);
        println!("  time      {seconds:.3} s ({:.0} entries/s)", entries as f64 / seconds.max(1e-9));
    }
    Ok(ExitCode::SUCCESS)
}

fn verify(
    archives: &[PathBuf],
    vkey: Option<&str>,
    checkpoint_files: &[PathBuf],
    cosigners: CosignerPolicy<'_>,
    json_output: bool,
) -> Result<ExitCode> {
    let pinned = vkey.map(PublicKey::parse_vkey).transpose()?;
    let mut checkpoints = Vec::new();
    for path in checkpoint_files {
        checkpoints.push(ArchivedCheckpoint::parse(path.display(), read_text(path)?)?);
    }
    let options = ArchiveOptions { pinned_log_key: pinned, ..ArchiveOptions::default() };
    let mut bar = render::Bar::new(json_output);
    let started = std::time::Instant::now();
    let result = archive::verify(archives, &options, &mut |p| bar.update(p));
    bar.finish();
    let seconds = started.elapsed().as_secs_f64();
    // The checkpoints kept apart, against the verified sequence, with the witnesses required.
    let result = match result? {
        Ok(report) => archive::check_checkpoints(&report, &checkpoints, cosigners)?.map(|cosigned| (report, cosigned)),
        Err(failure) => Err(failure),
    };
    match result {
        Ok((report, cosigned)) => {
            if json_output {
                let mut value = render::archive::report_json(&report, seconds);
                value["checkpoints"] = json!(
                    checkpoint_files
                        .iter()
                        .zip(&checkpoints)
                        .zip(&cosigned)
                        .map(|((path, checkpoint), cosignatures)| json!({
                            "file": path,
                            "size": checkpoint.size,
                            "consistent": true,
                            "cosignatures": render::cosignatures_json(cosignatures),
                            "witnesses": render::witnesses_json(cosigners, cosignatures),
                        }))
                        .collect::<Vec<_>>()
                );
                print_json(&value);
            } else {
                render::archive::print_report(&report, seconds);
                for ((path, checkpoint), cosignatures) in checkpoint_files.iter().zip(&checkpoints).zip(&cosigned) {
                    println!(
                        "checkpoint 检查点 {} (size {}): signs the archived root 一致",
                        path.display(),
                        checkpoint.size
                    );
                    render::print_cosignatures("   ", cosignatures);
                    render::print_witness_policy("   ", cosigners, cosignatures);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(failure) => {
            if json_output {
                print_json(&json!({
                    "ok": false,
                    "archive": failure.archive,
                    "seq": failure.seq,
                    "reason": failure.reason,
                }));
            } else {
                println!("verification FAILED: {failure}");
            }
            Ok(ExitCode::from(1))
        }
    }
}

fn redact(archives: &[PathBuf], out: &Path, vkey: Option<&str>, json_output: bool) -> Result<ExitCode> {
    let pinned = vkey.map(PublicKey::parse_vkey).transpose()?;
    let options = ArchiveOptions { pinned_log_key: pinned, ..ArchiveOptions::default() };
    let mut bar = render::Bar::new(json_output);
    let result = archive::redact(archives, out, &options, &mut |p| bar.update(p));
    bar.finish();
    let (report, rewritten) = match result? {
        Ok(done) => done,
        Err(failure) => {
            if json_output {
                print_json(
                    &json!({"ok": false, "archive": failure.archive, "seq": failure.seq, "reason": failure.reason}),
                );
            } else {
                println!("verification FAILED, nothing was written: {failure}");
            }
            return Ok(ExitCode::from(1));
        }
    };
    if json_output {
        print_json(&json!({
            "ok": true,
            "root": hex(&report.root),
            "rewritten": rewritten.iter().map(|r| json!({
                "from": r.from,
                "archive": r.path,
                "bytes": r.bytes,
                "removed": r.removed.iter().map(|(seq, by)| json!({"seq": seq, "redacted_by": by})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        }));
        return Ok(ExitCode::SUCCESS);
    }
    if rewritten.is_empty() {
        println!(
            "nothing to do: no archive of the {} given holds a body that a later one redacts",
            report.archives.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    for done in &rewritten {
        let seqs: Vec<String> =
            done.removed.iter().map(|(seq, by)| format!("seq {seq} (redacted by seq {by})")).collect();
        println!("wrote {} without the body of {}", done.path.display(), seqs.join(", "));
        println!("  replaces {}", done.from.display());
    }
    println!(
        "the new sequence verified (root {}); now replace the old archives with the new ones and destroy the old ones and every copy of them (offline copies too)",
        hex(&report.root)
    );
    Ok(ExitCode::SUCCESS)
}

fn restore(archives: &[PathBuf], into: &Path, log_key: &Path, json_output: bool) -> Result<ExitCode> {
    let key = read_key(log_key).map_err(|err| match std::fs::symlink_metadata(log_key) {
        // The generic "make a key with `lianlog key new`" would be wrong here: no new key can be
        // the log key genesis names.
        Err(_) => Error::key(format!(
            "cannot read the log key {}: no such file. --log-key takes the ledger's own log key, made by \
             `lianlog init`: its backup copy (`lianlog key export-log-key --out FILE` on the original ledger) \
             or LEDGER/log-key.pem of the original ledger; a new key (`lianlog key new`) can never be it",
            log_key.display()
        ))
        .into(),
        Ok(_) => err,
    })?;
    let mut bar = render::Bar::new(json_output);
    let started = std::time::Instant::now();
    let restored = archive::restore(archives, into, &key, &mut |p| bar.update(p));
    bar.finish();
    let restored = restored?;
    let seconds = started.elapsed().as_secs_f64();
    if json_output {
        let mut value = render::archive::report_json(&restored.report, seconds);
        value["restored"] = json!(restored.dir);
        // Applied in the restored ledger: its log holds these lines in their redacted form.
        value["redactions_applied"] = json!(
            restored.report.stale_bodies.iter().map(|s| json!({"seq": s.seq, "redacted_by": s.by})).collect::<Vec<_>>()
        );
        print_json(&value);
    } else {
        println!(
            "restored {} entries from {} archive(s) into {}",
            restored.entries,
            restored.report.archives.len(),
            restored.dir.display()
        );
        println!("  origin    {}", restored.report.origin);
        println!("  root      {}", hex(&restored.root));
        for stale in &restored.report.stale_bodies {
            println!(
                "  redacted  seq {} (body still in {}; removed by seq {} of a later archive)",
                stale.seq,
                stale.archive.display(),
                stale.by
            );
        }
        println!("  time      {seconds:.3} s ({:.0} entries/s)", restored.entries as f64 / seconds.max(1e-9));
        println!("check it with: lianlog --ledger {} verify", restored.dir.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn list(dir: &Path, json_output: bool) -> Result<ExitCode> {
    let listing = archive::list(dir)?;
    if json_output {
        print_json(&json!({
            "archives": listing.archives.iter().map(|l| match &l.manifest {
                Ok(m) => json!({"archive": l.path, "origin": m.origin, "first_seq": m.first_seq, "end": m.end,
                    "root": hex(&m.root), "bytes": l.bytes, "first_time": m.first_time.to_string(), "last_time": m.last_time.to_string(), "tool": m.tool}),
                Err(reason) => json!({"archive": l.path, "error": reason}),
            }).collect::<Vec<_>>(),
            "chains": listing.chains.iter().map(|c| json!({"origin": c.origin, "chain": c.chain, "end": c.end,
                "newest_end": c.newest_end, "unbroken": c.gap.is_none() && !c.chain.is_empty(), "gap_at": c.gap})).collect::<Vec<_>>(),
        }));
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = listing
        .archives
        .iter()
        .map(|l| {
            let name = l.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            match &l.manifest {
                Ok(m) => vec![
                    name,
                    if m.is_full() { "全量 full".into() } else { "增量 incremental".into() },
                    format!("{}..{}", m.first_seq, m.end - 1),
                    (m.end - m.first_seq).to_string(),
                    format!("{} – {}", render::local_time(m.first_time), render::local_time(m.last_time)),
                    l.bytes.to_string(),
                ],
                Err(reason) => vec![name, format!("unreadable: {}", render::truncate(reason, 60))],
            }
        })
        .collect();
    render::print_table(
        &["归档 archive", "类型 kind", "序号 seq", "条数 entries", "时间(北京时间) times", "字节 bytes"],
        &rows,
    );
    for chain in &listing.chains {
        match chain.gap {
            None if !chain.chain.is_empty() => println!(
                "{}: an unbroken sequence from seq 0 to {} in {} archive(s): {}",
                chain.origin,
                chain.end.saturating_sub(1),
                chain.chain.len(),
                chain
                    .chain
                    .iter()
                    .map(|p| p.file_name().unwrap_or_default().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join(" → ")
            ),
            _ if chain.chain.is_empty() => println!(
                "{}: BROKEN: no full archive (from seq 0); the archives reach seq {}",
                chain.origin,
                chain.newest_end.saturating_sub(1)
            ),
            _ => println!(
                "{}: BROKEN: unbroken from seq 0 to {} only; no archive starts at seq {} (the newest ends at seq {})",
                chain.origin,
                chain.end.saturating_sub(1),
                chain.end,
                chain.newest_end.saturating_sub(1)
            ),
        }
    }
    println!("(read from the manifests; `lianlog snapshot verify ARCHIVE...` checks the contents)");
    Ok(ExitCode::SUCCESS)
}
