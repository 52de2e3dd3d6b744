//! Removing redacted bodies from archives: an archive made before a `ledger.redact` entry still
//! holds the body it removes. [`redact`] rewrites such archives with those lines in their
//! redacted form (the bytes `lianlog redact` leaves in a log), which changes no entry hash,
//! checkpoint or proof; the rewritten sequence must verify to the same root before any new file
//! gets its name. `restoring` and `querying` apply the same redacted form.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use super::creating::{temporary_name, write_archive};
use super::manifest::{Digest, Manifest, file_name};
use super::reading::{expect_member, for_each_entry, open_stream, read_head_from, read_member};
use super::verification::{ArchiveOptions, ArchiveReport, SequenceReport, verify};
use super::{ArchiveFailure, Checked, DEFAULT_LEVEL, KEYS, Limits, Progress, problem, problem_at};
use crate::error::{Error, Result};
use crate::record::{ParsedLine, StoredBody};

/// An archive rewritten by [`redact`].
#[derive(Debug, Clone)]
pub struct Rewritten {
    /// The archive that still holds the bodies (to be destroyed, with its copies).
    pub from: PathBuf,
    /// The new archive, without them.
    pub path: PathBuf,
    /// (seq, redacting seq) of every body removed.
    pub removed: Vec<(u64, u64)>,
    /// The size of the new file.
    pub bytes: u64,
}

/// Write, in `out_dir`, a new copy of every archive of the sequence `paths` that still holds a
/// body which a later entry of the sequence redacts ([`SequenceReport::stale_bodies`]), with
/// those lines in their redacted form. Nothing else changes: the checkpoint, the key lines, the
/// proofs and every entry hash stay the same (a body is not part of its entry hash), so the new
/// archive needs no key (a compressed one is written at [`DEFAULT_LEVEL`]). The sequence is verified first; the new files
/// are written under temporary names, fsync'd, verified as the sequence with them in place of
/// the old ones, and only then linked to their names (never over an existing file) and the directory fsync'd.
/// The old archives are left alone: destroying them is the operator's act.
pub fn redact(
    paths: &[PathBuf],
    out_dir: &Path,
    options: &ArchiveOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<std::result::Result<(SequenceReport, Vec<Rewritten>), ArchiveFailure>> {
    let report = match verify(paths, options, progress)? {
        Ok(report) => report,
        Err(failure) => return Ok(Err(failure)),
    };
    let mut by_archive: BTreeMap<PathBuf, BTreeMap<u64, u64>> = BTreeMap::new();
    for stale in &report.stale_bodies {
        by_archive.entry(stale.archive.clone()).or_default().insert(stale.seq, stale.by);
    }
    if by_archive.is_empty() {
        return Ok(Ok((report, Vec::new())));
    }
    std::fs::create_dir_all(out_dir).map_err(|err| Error::io("create directory", out_dir, err))?;
    let mut planned = Vec::new();
    for archive in report.archives.iter().filter(|a| by_archive.contains_key(&a.path)) {
        let name = file_name(&report.origin, archive.first_seq, archive.end, archive.compressed);
        let path = out_dir.join(&name);
        if path.exists() {
            return Err(Error::bad_input(format!(
                "{} already exists; an archive is never replaced: give another --out directory",
                path.display()
            )));
        }
        planned.push((archive, temporary_name(out_dir, &name), path));
    }
    let remove_temporaries = |planned: &[(&ArchiveReport, PathBuf, PathBuf)]| {
        for (_, temporary, _) in planned {
            let _ = std::fs::remove_file(temporary);
        }
    };
    let written = (|| -> Result<Vec<Rewritten>> {
        let mut rewritten = Vec::new();
        for (archive, temporary, path) in &planned {
            let removed = &by_archive[&archive.path];
            rewrite_archive(archive, removed, temporary, progress)?;
            rewritten.push(Rewritten {
                from: archive.path.clone(),
                path: path.clone(),
                removed: removed.iter().map(|(seq, by)| (*seq, *by)).collect(),
                bytes: 0,
            });
        }
        // The new sequence, with the new files in place of the old: it must verify, end at the
        // same root, and hold no body that it redacts.
        let replaced: Vec<PathBuf> = report
            .archives
            .iter()
            .map(|a| planned.iter().find(|(p, _, _)| p.path == a.path).map_or(a.path.clone(), |(_, t, _)| t.clone()))
            .collect();
        let again = verify(&replaced, options, progress)?.map_err(Error::from)?;
        if again.root != report.root || again.end != report.end || !again.stale_bodies.is_empty() {
            return Err(Error::verification(
                "the rewritten archives do not verify as the same sequence without the redacted bodies; nothing was written",
            ));
        }
        for ((_, temporary, path), done) in planned.iter().zip(rewritten.iter_mut()) {
            crate::fsio::link_new(temporary, path)?;
            done.bytes = std::fs::metadata(path).map_err(|err| Error::io("read", path, err))?.len();
        }
        crate::fsio::sync_dir(out_dir)?;
        Ok(rewritten)
    })();
    match written {
        Ok(rewritten) => Ok(Ok((report, rewritten))),
        Err(err) => {
            remove_temporaries(&planned);
            Err(err)
        }
    }
}

/// Write a copy of the verified `archive` at `path` with the lines of `removed` (seq →
/// redacting seq) in their redacted form.
fn rewrite_archive(
    archive: &ArchiveReport,
    removed: &BTreeMap<u64, u64>,
    path: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<()> {
    let source = &archive.path;
    // Pass 1: the new digest of entries.jsonl.
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    let (mut manifest, note, keys) = reread_verified(archive, removed, &mut |_, line| {
        hasher.update(line);
        hasher.update(b"\n");
        bytes += line.len() as u64 + 1;
        Ok(())
    })?;
    manifest.entries = Digest { bytes, sha256: hasher.finalize().into() };
    // Pass 2: write.
    let mut feed = |sink: &mut dyn FnMut(&[u8]) -> Result<()>| {
        reread_verified(archive, removed, &mut |_, line| sink(line)).map(|_| ())
    };
    let level = archive.compressed.then_some(DEFAULT_LEVEL);
    let changed = format!("{}: the archive changed while it was being rewritten", source.display());
    write_archive(&manifest, &note, &keys, &mut feed, &changed, path, level, progress)
}

/// Read the verified `archive` again, giving each line of its `entries.jsonl` to `each` (seq,
/// line without its newline), the lines of `redact` (seq → redacting seq) in their redacted form.
/// The archive must still be the one verified: the same first seq and, checked at the end of the
/// member, the same `entries.jsonl` digest, which proves the lines given were the verified bytes
/// (callers discard what they wrote when it fails). Returns its manifest, checkpoint note and
/// `keys.jsonl`; an error of `each` stops the reading and is returned as it is.
pub(super) fn reread_verified(
    archive: &ArchiveReport,
    redact: &BTreeMap<u64, u64>,
    each: &mut dyn FnMut(u64, &[u8]) -> Result<()>,
) -> Result<(Manifest, String, Vec<u8>)> {
    let limits = Limits::default();
    let (mut stream, _) = open_stream(&archive.path, &limits)?;
    let mut failed = None;
    let checked = (|| -> Checked<(Manifest, String, Vec<u8>)> {
        let (manifest, note) = read_head_from(&mut stream, &limits)?;
        if manifest.entries != archive.entries || manifest.first_seq != archive.first_seq {
            return Err(problem("it changed since it was verified"));
        }
        let member = expect_member(&mut stream, KEYS, &limits)?;
        let keys = read_member(&mut stream, &member, Some(&manifest.keys))?;
        for_each_entry(&mut stream, &manifest, &limits, |seq, line| {
            let line = match redact.get(&seq) {
                Some(by) => redacted_form(&line, *by).map_err(|reason| problem_at(seq, reason))?,
                None => line,
            };
            each(seq, &line).map_err(|err| {
                failed = Some(err);
                problem_at(seq, "write failed")
            })
        })
        .and_then(|read| read.check(&manifest))?;
        Ok((manifest, note, keys))
    })();
    if let Some(err) = failed {
        return Err(err);
    }
    checked.map_err(|p| Error::from(p.at(&archive.path)))
}

/// The bodies a verified sequence still holds although a later entry redacts them: seq →
/// redacting seq.
pub(super) fn later_redactions(report: &SequenceReport) -> BTreeMap<u64, u64> {
    report.stale_bodies.iter().map(|stale| (stale.seq, stale.by)).collect()
}

/// The redacted form of a stored line (`{"entry":…,"redacted":BY}`, without the newline): the
/// bytes `lianlog redact` leaves in the log. The entry, its hash and its signature are unchanged,
/// so every checkpoint and proof still holds. A line without its body is returned as it is.
pub(super) fn redacted_form(line: &[u8], by: u64) -> std::result::Result<Vec<u8>, String> {
    let parsed = ParsedLine::parse(line).map_err(|e| e.to_string())?;
    if !matches!(parsed.line.body, StoredBody::Full { .. }) {
        return Ok(line.to_vec());
    }
    Ok(parsed.line.redacted_bytes(by))
}
