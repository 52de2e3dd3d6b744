//! Restoring a working ledger from a sequence of archives. Nothing is written before the whole
//! sequence has verified; the archives are then read again as the log is written, and each one's
//! `entries.jsonl` must still have the verified digest. Bodies that a later entry of the sequence
//! redacts are written in their redacted form, and a restore that fails while writing removes
//! what it wrote.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::redacting::{later_redactions, reread_verified};
use super::verification::{ArchiveOptions, SequenceReport, verify};
use super::{PROGRESS_EVERY, Progress};
use crate::encoding::hex;
use crate::error::{Error, Result};
use crate::keys::SecretKey;
use crate::ledger::Ledger;
use crate::merkle::Hash;

/// What [`restore`] rebuilt.
#[derive(Debug, Clone)]
pub struct Restored {
    pub report: SequenceReport,
    pub dir: PathBuf,
    pub entries: u64,
    pub root: Hash,
}

/// Verify `paths` as a sequence from seq 0, then rebuild a working ledger in `into` (which must
/// not exist or be empty): `lianlog.json`, the log key (which must be the one genesis names),
/// the log segments, then the derived store by the ordinary catch-up of `Ledger::open`.
/// Nothing is written before the archives have verified.
pub fn restore(
    paths: &[PathBuf],
    into: &Path,
    log_key: &SecretKey,
    progress: &mut dyn FnMut(Progress),
) -> Result<Restored> {
    match std::fs::read_dir(into) {
        Ok(mut listing) => {
            if listing.next().is_some() {
                return Err(Error::bad_input(format!("{} is not empty; restore into a new directory", into.display())));
            }
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(Error::io("read directory", into, err)),
    }
    let report = verify(paths, &ArchiveOptions::default(), progress)?.map_err(Error::from)?;
    if report.first_seq != 0 {
        return Err(Error::bad_input(format!(
            "the archives start at seq {}: a restore needs the full archive (from seq 0) and every archive after it",
            report.first_seq
        )));
    }
    let origin = crate::keys::KeyName::parse(&report.origin)?;
    let log_key = log_key.renamed(origin.clone());
    if log_key.public().vkey() != report.log_key {
        return Err(Error::key(format!(
            "the key given is not this ledger's log key: genesis names {}, the key is {}",
            report.log_key,
            log_key.public().vkey()
        )));
    }
    let created_dir = !into.exists();
    let result = write_restored(&report, into, &log_key, progress);
    if let Err(err) = result {
        // Leave nothing half-made behind: remove what this restore wrote.
        for name in ["lianlog.json", "log-key.pem", "lock"] {
            let _ = std::fs::remove_file(into.join(name));
        }
        let _ = std::fs::remove_dir_all(into.join("log"));
        let _ = std::fs::remove_dir_all(into.join("index"));
        if created_dir {
            let _ = std::fs::remove_dir(into);
        }
        return Err(err);
    }
    // The derived store is built by the ordinary catch-up, whose progress is not reported.
    progress(Progress { phase: "indexing", done: 0, total: 0 });
    let ledger = Ledger::open(into)?;
    if ledger.size() != report.end || ledger.root() != report.root {
        return Err(Error::verification(format!(
            "{}: the restored ledger has {} entries and root {}, not {} and {}",
            into.display(),
            ledger.size(),
            hex(&ledger.root()),
            report.end,
            hex(&report.root)
        )));
    }
    let (entries, root) = (ledger.size(), ledger.root());
    Ok(Restored { report, dir: into.to_path_buf(), entries, root })
}

fn write_restored(
    report: &SequenceReport,
    into: &Path,
    log_key: &SecretKey,
    progress: &mut dyn FnMut(Progress),
) -> Result<()> {
    crate::fsio::create_private_dir(into)?;
    let meta = json!({"format": crate::ledger::FORMAT_VERSION, "origin": report.origin});
    let meta_path = into.join("lianlog.json");
    let mut file = crate::fsio::create_new(&meta_path)?;
    file.write_all(format!("{meta}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|err| Error::io("write", &meta_path, err))?;
    crate::keys::write_secret_file(&into.join("log-key.pem"), log_key.to_pem()?.as_bytes())?;
    let log_dir = crate::log::SegmentLog::segment_dir(into);
    crate::fsio::create_private_dir(&log_dir)?;
    // Bodies the archives still hold although a later entry of the chain redacts them: written
    // in their redacted form, byte for byte what `lianlog redact` left in the live log.
    let redact = later_redactions(report);
    let mut segment: Option<(PathBuf, std::io::BufWriter<File>, u64)> = None;
    let mut done = 0u64;
    for archive in &report.archives {
        reread_verified(archive, &redact, &mut |seq, line| {
            let start_new = match &segment {
                None => true,
                Some((_, _, len)) => *len >= crate::log::SEGMENT_TARGET_BYTES,
            };
            if start_new {
                if let Some((path, writer, _)) = segment.take() {
                    finish_segment(&path, writer)?;
                }
                let path = log_dir.join(format!("{seq:020}.jsonl"));
                let file = crate::fsio::create_new(&path)?;
                segment = Some((path, std::io::BufWriter::with_capacity(1 << 20, file), 0));
            }
            if let Some((path, writer, len)) = segment.as_mut() {
                writer
                    .write_all(line)
                    .and_then(|()| writer.write_all(b"\n"))
                    .map_err(|err| Error::io("write", path.as_path(), err))?;
                *len += line.len() as u64 + 1;
            }
            done += 1;
            if done.is_multiple_of(PROGRESS_EVERY) {
                progress(Progress { phase: "restoring", done, total: report.end });
            }
            Ok(())
        })?;
    }
    if let Some((path, writer, _)) = segment.take() {
        finish_segment(&path, writer)?;
    }
    crate::fsio::sync_dir(&log_dir)?;
    crate::fsio::sync_dir(into)?;
    progress(Progress { phase: "restoring", done: report.end, total: report.end });
    Ok(())
}

fn finish_segment(path: &Path, writer: std::io::BufWriter<File>) -> Result<()> {
    let file = writer.into_inner().map_err(|err| Error::io("write", path, err.into_error()))?;
    file.sync_all().map_err(|err| Error::io("sync", path, err))
}
