//! Lock-free operations on a ledger directory (无锁操作): `verify_dir`, `export_dir` and
//! `export_log_key`, which work while another process holds the ledger open.
//!
//! Guarantees: they open neither the store nor the lock, change nothing, and read only what a
//! writer would keep (a batch being written is not shown). `export_log_key` is the only way the
//! log key leaves the ledger directory, and only after it is checked against the genesis entry.

use std::path::Path;

use super::recovery::reader_view;
use super::{LOG_KEY_FILE, read_meta};
use crate::error::{Error, ErrorKind, Result};
use crate::fsio;
use crate::keys::SecretKey;
use crate::log::{Position, SegmentLog};
use crate::record::ParsedLine;
use crate::verify::{PROGRESS_EVERY, Progress, Verifier, VerifyFailure, VerifyOptions, VerifyReport};

/// Verify the log of the ledger in `dir` without opening its store or taking its lock, so that it
/// works while another process appends (a line being written is ignored).
pub fn verify_dir(dir: &Path, options: VerifyOptions) -> Result<std::result::Result<VerifyReport, VerifyFailure>> {
    verify_dir_with_progress(dir, options, &mut |_| {})
}

/// [`verify_dir`], reporting [`Progress`] (`verifying`, entries done; the total is not known
/// without the store, so it is 0) to `progress` as it goes.
pub fn verify_dir_with_progress(
    dir: &Path,
    options: VerifyOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<std::result::Result<VerifyReport, VerifyFailure>> {
    verify_dir_collecting(dir, options, progress, &mut |_, _| {})
}

/// [`verify_dir_with_progress`], handing each stored line (seq, bytes) to `collect` as it is
/// verified: how a reader answers questions while a writer holds the ledger (the lines are those
/// a writer would keep, each checked as `verify` checks it, nothing read from the store).
pub fn verify_dir_collecting(
    dir: &Path,
    options: VerifyOptions,
    progress: &mut dyn FnMut(Progress),
    collect: &mut dyn FnMut(u64, &[u8]),
) -> Result<std::result::Result<VerifyReport, VerifyFailure>> {
    read_meta(dir)?;
    let mut log = SegmentLog::open(dir)?;
    reader_view(dir, &mut log, &mut Vec::new(), false)?;
    let reread = |seq: u64| -> std::result::Result<Vec<u8>, String> {
        let reader = log.lines_from(Position { segment: 0, offset: 0 }).map_err(|e| e.to_string())?;
        match reader.into_iter().nth(seq as usize) {
            Some(Ok((_, line))) => Ok(line),
            Some(Err(e)) => Err(e.to_string()),
            None => Err("no such line".into()),
        }
    };
    verify_segments(&log, options, reread, 0, progress, collect)
}

pub(super) fn verify_segments(
    log: &SegmentLog,
    options: VerifyOptions,
    reread: impl FnMut(u64) -> std::result::Result<Vec<u8>, String>,
    total: u64,
    progress: &mut dyn FnMut(Progress),
    collect: &mut dyn FnMut(u64, &[u8]),
) -> Result<std::result::Result<VerifyReport, VerifyFailure>> {
    let first = Position { segment: 0, offset: 0 };
    if log.is_empty() {
        return Ok(Err(VerifyFailure {
            line: 1,
            seq: None,
            reason: "the log has no segments: the ledger is damaged; restore it from an archive \
                     (`lianlog snapshot restore`)"
                .into(),
        }));
    }
    let mut reader = log.lines_from(first)?;
    let mut verifier = Verifier::new(options);
    let mut line_number = 0u64;
    for item in reader.by_ref() {
        line_number += 1;
        let (_, bytes) = match item {
            Ok(item) => item,
            Err(err) if err.kind() == ErrorKind::Verification => {
                return Ok(Err(VerifyFailure {
                    line: line_number,
                    seq: Some(line_number - 1),
                    reason: err.message().to_string(),
                }));
            }
            Err(err) => return Err(err),
        };
        // Collected before it is checked (the verifier takes the bytes); a failure below
        // discards everything collected, since the caller gets no report.
        collect(line_number - 1, &bytes);
        if let Err(failure) = verifier.push(line_number, bytes) {
            return Ok(Err(failure));
        }
        if line_number.is_multiple_of(PROGRESS_EVERY) {
            progress(Progress { phase: "verifying", done: line_number, total });
        }
    }
    progress(Progress { phase: "verifying", done: line_number, total: total.max(line_number) });
    let partial = reader.saw_torn_tail() || log.cut_short()?;
    Ok(verifier.finish(reread).map(|mut report| {
        report.ignored_partial_tail = partial;
        report
    }))
}

/// Read the log key of the ledger in `dir` (`log-key.pem`), saying what to do when it is missing.
pub(super) fn read_log_key(
    dir: &Path,
    passphrase: &mut dyn FnMut() -> Result<zeroize::Zeroizing<String>>,
) -> Result<SecretKey> {
    let path = dir.join(LOG_KEY_FILE);
    fsio::refuse_link(&path)?;
    if std::fs::symlink_metadata(&path).is_err() {
        return Err(Error::key(format!(
            "the log key {} is missing, so the ledger cannot sign checkpoints (its records are not affected); \
             restore it from the copy made with `lianlog key export-log-key` (mode 0600)",
            path.display()
        )));
    }
    SecretKey::read_file(&path, passphrase)
}

/// Refuse a log key that is not the one the genesis entry names (`named`, a vkey) for `origin`.
pub(super) fn check_log_key(dir: &Path, key: &SecretKey, origin: &str, named: &str) -> Result<()> {
    if key.name().as_str() != origin || named != key.public().vkey() {
        return Err(Error::verification(format!(
            "{} ({}) is not the log key that the genesis entry names ({named}); it was replaced, and it signs \
             nothing: restore the right one from the copy made with `lianlog key export-log-key`",
            dir.join(LOG_KEY_FILE).display(),
            key.public().vkey()
        )));
    }
    Ok(())
}

/// Copy the log key of the ledger in `dir` to a new file `out` — created 0600, never replacing
/// an existing file, encrypted when `encrypt_with` is given — after checking that it is the log
/// key that the genesis entry names. This is the only way the log key leaves the ledger directory
/// (`lianlog key export-log-key`); it needs no lock. Returns the log key's public half.
pub fn export_log_key(
    dir: &Path,
    out: &Path,
    encrypt_with: Option<&str>,
    passphrase: &mut dyn FnMut() -> Result<zeroize::Zeroizing<String>>,
) -> Result<crate::keys::PublicKey> {
    let origin = read_meta(dir)?;
    let key = read_log_key(dir, passphrase)?;
    let log = SegmentLog::open(dir)?;
    let genesis = log
        .lines_from(Position { segment: 0, offset: 0 })?
        .next()
        .transpose()?
        .ok_or_else(|| Error::verification(format!("{}: the log has no genesis entry", dir.display())))?;
    let genesis = ParsedLine::parse(&genesis.1).map_err(|e| {
        Error::verification(format!("{}: entry 0 is damaged ({e}); run `lianlog verify`", dir.display()))
    })?;
    let named = genesis.line.body().and_then(|body| body["log_key"].as_str()).unwrap_or_default();
    check_log_key(dir, &key, &origin, named)?;
    match encrypt_with {
        Some(passphrase) => key.write_new_encrypted_file(out, passphrase)?,
        None => key.write_new_file(out)?,
    }
    Ok(key.public().clone())
}

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exported {
    /// Lines written (every entry of the log).
    pub entries: u64,
    /// Lines written withheld (`--without-bodies`): every line outside `ledger.*` and `key.*`,
    /// redacted ones included (the verifier counts them the same way).
    pub withheld: u64,
    /// Seqs of `ledger.redact` entries whose body carries a `replacement` (written before
    /// replacements moved into a correction): format v1 keeps `ledger.*` bodies in every export,
    /// so these replacement bodies are in a body-less export too.
    pub replacements_kept: Vec<u64>,
}

/// Write the export (format-v1 section 10) of the ledger in `dir` to `out`, without taking the
/// lock. With `without_bodies`, every body outside `ledger.*` and `key.*` is withheld; what
/// remains is the key registry (keys, roles, holders, revocation reasons), the genesis, and the
/// redactions (target, reason, and — for redactions written before replacements moved out —
/// the replacement body), which the format requires a verifier to read.
pub fn export_dir(dir: &Path, out: &mut dyn std::io::Write, without_bodies: bool) -> Result<Exported> {
    export_dir_with_progress(dir, out, without_bodies, &mut |_| {})
}

/// [`export_dir`], reporting [`Progress`] (`exporting`, entries written; total 0: not known
/// without the store) to `progress` as it goes.
pub fn export_dir_with_progress(
    dir: &Path,
    out: &mut dyn std::io::Write,
    without_bodies: bool,
    progress: &mut dyn FnMut(Progress),
) -> Result<Exported> {
    read_meta(dir)?;
    let mut log = SegmentLog::open(dir)?;
    reader_view(dir, &mut log, &mut Vec::new(), false)?;
    let mut exported = Exported::default();
    const REDACT: &[u8] = b"\"kind\":\"ledger.redact\"";
    for item in log.lines_from(Position { segment: 0, offset: 0 })? {
        let (_, bytes) = item?;
        let seq = exported.entries;
        let write_error = |err: std::io::Error| Error::io("write", "the export", err);
        let damaged = |e: crate::record::LineError| {
            Error::verification(format!("seq {seq}: damaged log line ({e}); run `lianlog verify`"))
        };
        if without_bodies {
            let parsed = ParsedLine::parse(&bytes).map_err(damaged)?;
            let kind = &parsed.line.entry.record.kind;
            if !crate::record::kind_keeps_body(kind) {
                exported.withheld += 1;
                let line = parsed.line.withheld().to_line().map_err(|e| Error::verification(e.to_string()))?;
                out.write_all(&line).map_err(write_error)?;
                exported.entries += 1;
                continue;
            }
            if kind == "ledger.redact" && parsed.line.body().is_some_and(|body| body.get("replacement").is_some()) {
                exported.replacements_kept.push(seq);
            }
        } else if bytes.windows(REDACT.len()).any(|w| w == REDACT)
            && ParsedLine::parse(&bytes).map_err(damaged)?.line.body().is_some_and(|b| b.get("replacement").is_some())
        {
            exported.replacements_kept.push(seq);
        }
        out.write_all(&bytes).and_then(|()| out.write_all(b"\n")).map_err(write_error)?;
        exported.entries += 1;
        if exported.entries.is_multiple_of(PROGRESS_EVERY) {
            progress(Progress { phase: "exporting", done: exported.entries, total: 0 });
        }
    }
    out.flush().map_err(|err| Error::io("write", "the export", err))?;
    Ok(exported)
}
