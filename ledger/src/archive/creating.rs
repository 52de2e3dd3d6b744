//! Creating an archive from a ledger, and the one writer of archive files (also used by
//! `redacting`). The range is verified before it is sealed, so an archive never puts a fresh
//! signature on a damaged log; the file is written under a temporary name, fsync'd and linked to
//! its name (never over an existing file), so a crash leaves no half archive under the final name.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::manifest::{Digest, KeyLine, Manifest, Previous, file_name};
use super::reading::{read_head, sha256};
use super::{CHECKPOINT, ENTRIES, KEYS, MANIFEST, PROGRESS_EVERY, Progress, TOOL, at_seq, ustar};
use crate::encoding::hex;
use crate::error::{Error, Result};
use crate::keys::SecretKey;
use crate::ledger::Ledger;
use crate::merkle::{CompactRange, Hash};
use crate::record::{EntryHash, ParsedLine};
use crate::verify::{Resume, SeenRecords, Verifier, VerifyOptions};

/// How to create an archive.
#[derive(Debug, Clone)]
pub struct CreateOptions {
    /// The directory the archive is written to (created if missing).
    pub out_dir: PathBuf,
    /// The archive this one continues; `None` for a full archive from seq 0.
    pub since: Option<PathBuf>,
    /// zstd level, or `None` for a plain tar.
    pub zstd_level: Option<i32>,
}

/// What [`create`] wrote.
#[derive(Debug, Clone)]
pub struct Created {
    /// The archive file written.
    pub path: PathBuf,
    /// The first seq it holds.
    pub first_seq: u64,
    /// One past its last seq: the size of its checkpoint.
    pub end: u64,
    /// The Merkle root of the tree of size `end`.
    pub root: Hash,
    /// The size of the archive file.
    pub bytes: u64,
    /// The size of its `entries.jsonl`.
    pub entries_bytes: u64,
}

/// Write an archive of the ledger from seq 0, or from where `since` ends, to its current size.
///
/// The range is verified first (the same checks as `lianlog verify`, resumed at its first seq),
/// so that an archive never seals a damaged log under a fresh signature. The file is written
/// under a temporary name in the output directory, fsync'd, linked to its name (never over an existing file), and the directory fsync'd:
/// a crash leaves no half archive under the final name. An existing archive is never replaced.
pub fn create(
    ledger: &Ledger,
    log_key: &SecretKey,
    options: &CreateOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<Created> {
    let size = ledger.size();
    let registry = ledger.registry();
    if log_key.public().vkey() != registry.log_key {
        return Err(Error::key(format!(
            "the log key {} is not this ledger's ({})",
            log_key.public().vkey(),
            registry.log_key
        )));
    }
    let first = match &options.since {
        None => 0,
        Some(path) => check_continues(ledger, path)?,
    };
    if first >= size {
        return Err(Error::bad_input(format!(
            "nothing to archive: the ledger has {size} entries, all in {}",
            options.since.as_deref().map(|p| p.display().to_string()).unwrap_or_default()
        )));
    }
    // Where the range starts: frontier, previous entry, key lines, each with its proof.
    let tree = CompactRange::from_store(first, ledger.store())?;
    let mut key_seqs: Vec<u64> = std::iter::once(0)
        .chain(
            registry
                .keys
                .values()
                .flat_map(|k| std::iter::once(k.granted_seq).chain(k.revoked.as_ref().map(|r| r.seq))),
        )
        .filter(|seq| *seq < first)
        .collect();
    key_seqs.sort_unstable();
    key_seqs.dedup();
    let mut keys = Vec::new();
    let mut key_lines = Vec::new();
    let mut resume = Resume { next_seq: first, tree: tree.clone(), ..Resume::default() };
    let previous = if first == 0 {
        key_seqs.clear();
        None
    } else {
        for seq in &key_seqs {
            let line = ledger.raw_line(*seq)?;
            let parsed = ParsedLine::parse(&line).map_err(|e| Error::verification(format!("seq {seq}: {e}")))?;
            let record = &parsed.line.entry.record;
            let body = parsed.line.body().ok_or_else(|| Error::verification(format!("seq {seq}: no body")))?;
            resume.registry.apply(*seq, record, body).map_err(|e| Error::verification(format!("seq {seq}: {e}")))?;
            keys.extend_from_slice(&line);
            keys.push(b'\n');
            key_lines.push(KeyLine { seq: *seq, proof: ledger.inclusion_proof(*seq, first)? });
        }
        resume.records = records_before(ledger, first, &tree, progress)?;
        let before = ledger.read(first - 1)?;
        resume.head = before.entry_hash;
        resume.last_time = Some(before.line.entry.time);
        let entry: Value = serde_json::from_slice(&before.entry_bytes)
            .map_err(|e| Error::verification(format!("seq {}: {e}", first - 1)))?;
        let since = options.since.as_deref().unwrap_or(Path::new(""));
        let (_, checkpoint) = read_head(since)?.map_err(Error::from)?;
        Some(Previous {
            checkpoint,
            consistency: ledger.consistency_proof(first, size)?,
            entry,
            entry_proof: ledger.inclusion_proof(first - 1, first)?,
        })
    };
    // Pass 1: verify the range and digest it.
    let count = size - first;
    let mut verifier = Verifier::resume(VerifyOptions::default(), resume);
    let mut hasher = Sha256::new();
    let mut entries_bytes = 0u64;
    let (mut first_time, mut last_time) = (None, None);
    for (index, line) in ledger.raw_lines_from(first)?.take(usize::try_from(count).unwrap_or(usize::MAX)).enumerate() {
        let line = line?;
        let seq = first + index as u64;
        if index == 0 || seq + 1 == size {
            let time = ParsedLine::parse(&line).map(|p| p.line.entry.time).ok();
            if index == 0 {
                first_time = time;
            }
            last_time = time;
        }
        hasher.update(&line);
        hasher.update(b"\n");
        entries_bytes += line.len() as u64 + 1;
        if let Err(failure) = verifier.push(index as u64 + 1, line) {
            return Err(refuse_damaged(ledger, &failure));
        }
        if (index as u64 + 1).is_multiple_of(PROGRESS_EVERY) {
            progress(Progress { phase: "checking", done: index as u64 + 1, total: count });
        }
    }
    let reread = |seq: u64| ledger.raw_line(seq).map_err(|e| e.to_string());
    let end = verifier.finish_range(reread).map_err(|failure| refuse_damaged(ledger, &failure))?;
    if end.report.entries != size || end.report.root != ledger.root() {
        return Err(Error::verification(format!(
            "{}: the log ({} entries) disagrees with the derived store ({size}); run `lianlog verify`",
            ledger.dir().display(),
            end.report.entries
        )));
    }
    let (Some(first_time), Some(last_time)) = (first_time, last_time) else {
        return Err(Error::verification("the first or last entry of the range does not parse; run `lianlog verify`"));
    };
    let checkpoint = ledger.checkpoint(size, log_key)?;
    let manifest = Manifest {
        tool: TOOL.to_string(),
        origin: ledger.origin().to_string(),
        first_seq: first,
        end: size,
        root: ledger.root(),
        start_range: tree.hashes(),
        previous,
        key_lines,
        checkpoint: Digest { bytes: checkpoint.len() as u64, sha256: sha256(checkpoint.as_bytes()) },
        keys: Digest { bytes: keys.len() as u64, sha256: sha256(&keys) },
        entries: Digest { bytes: entries_bytes, sha256: hasher.finalize().into() },
        first_time,
        last_time,
    };
    // Pass 2: write.
    std::fs::create_dir_all(&options.out_dir).map_err(|err| Error::io("create directory", &options.out_dir, err))?;
    let name = file_name(ledger.origin(), first, size, options.zstd_level.is_some());
    let path = options.out_dir.join(&name);
    if path.exists() {
        return Err(Error::bad_input(format!("{} already exists; an archive is never replaced", path.display())));
    }
    let temporary = temporary_name(&options.out_dir, &name);
    let count = size - first;
    let mut lines = |sink: &mut dyn FnMut(&[u8]) -> Result<()>| -> Result<()> {
        for line in ledger.raw_lines_from(first)?.take(usize::try_from(count).unwrap_or(usize::MAX)) {
            sink(&line?)?;
        }
        Ok(())
    };
    let changed = format!("{}: the log changed while the archive was being written", ledger.dir().display());
    let written =
        write_archive(&manifest, &checkpoint, &keys, &mut lines, &changed, &temporary, options.zstd_level, progress)
            .and_then(|()| {
                // Never replaces an archive, even one created meanwhile.
                crate::fsio::link_new(&temporary, &path)?;
                crate::fsio::sync_dir(&options.out_dir)
            });
    if let Err(err) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(err);
    }
    let bytes = std::fs::metadata(&path).map_err(|err| Error::io("read", &path, err))?.len();
    Ok(Created { path, first_seq: first, end: size, root: manifest.root, bytes, entries_bytes })
}

/// The record ids of entries `0..first`, read from the log (not from the store or an archive:
/// nothing but the lines themselves), so that the range archived next is checked against every
/// record before it. The lines' entry hashes must give `tree` (the store's frontier at `first`,
/// which [`check_continues`] matched to the previous archive's signed checkpoint): the ids are
/// those of the entries the archives before sealed. Memory: bounded, as `verify`'s (`SeenRecords`).
fn records_before(
    ledger: &Ledger,
    first: u64,
    tree: &CompactRange,
    progress: &mut dyn FnMut(Progress),
) -> Result<SeenRecords> {
    use rayon::prelude::*;
    let mut records = SeenRecords::default();
    let mut frontier = CompactRange::new();
    let mut lines = ledger.raw_lines_from(0)?.take(usize::try_from(first).unwrap_or(usize::MAX));
    let mut seq = 0u64;
    loop {
        let chunk: Vec<Vec<u8>> = lines.by_ref().take(PROGRESS_EVERY as usize).collect::<Result<_>>()?;
        if chunk.is_empty() {
            break;
        }
        let parsed: Vec<std::result::Result<(EntryHash, [u8; 16]), String>> = chunk
            .par_iter()
            .map(|line| {
                ParsedLine::parse(line)
                    .map(|p| (p.entry_hash, p.line.entry.record.replay_id()))
                    .map_err(|e| e.to_string())
            })
            .collect();
        for item in parsed {
            let damaged = |reason: String| {
                Error::verification(format!("{}: seq {seq}: {reason}; run `lianlog verify`", ledger.dir().display()))
                    .with_seq(seq)
            };
            let (hash, id) = item.map_err(damaged)?;
            if let Some(earlier) = records.get(&id) {
                return Err(damaged(format!("the record of seq {earlier} appears again: a replayed record")));
            }
            records.insert(id, seq);
            frontier.append(hash.0).map_err(|e| Error::verification(e.to_string()))?;
            seq += 1;
        }
        progress(Progress { phase: "reading", done: seq, total: first });
    }
    // Replays of records already spilled to disk (the ids in memory were checked above).
    if let Some((second, earlier)) = records.first_replay(u64::MAX).map_err(Error::verification)? {
        return Err(Error::verification(format!(
            "{}: seq {second}: the record of seq {earlier} appears again: a replayed record; run `lianlog verify`",
            ledger.dir().display()
        ))
        .with_seq(second));
    }
    if seq != first || frontier.root() != tree.root() {
        return Err(Error::verification(format!(
            "{}: the log's first {first} entries do not give the tree the store and the previous archive have at size {first}: the log was altered; run `lianlog verify`",
            ledger.dir().display()
        )));
    }
    Ok(records)
}

fn refuse_damaged(ledger: &Ledger, failure: &crate::verify::VerifyFailure) -> Error {
    let error = Error::verification(format!(
        "{}: the log does not verify, so it is not archived: {failure}; run `lianlog verify`",
        ledger.dir().display()
    ));
    at_seq(error, failure.seq)
}

/// Check that the ledger still holds the history of the archive at `path` and return its end.
fn check_continues(ledger: &Ledger, path: &Path) -> Result<u64> {
    let (manifest, note) = read_head(path)?.map_err(Error::from)?;
    if manifest.origin != ledger.origin() {
        return Err(Error::bad_input(format!(
            "{} is an archive of ledger {}, not of {}",
            path.display(),
            manifest.origin,
            ledger.origin()
        )));
    }
    let log_key = ledger
        .registry()
        .log_public_key()
        .ok_or_else(|| Error::verification("the ledger's genesis log key does not parse"))?;
    let checkpoint = crate::note::open_checkpoint(&note, &log_key, &[])
        .map_err(|e| e.at(format!("{}: member checkpoint", path.display())))?
        .checkpoint;
    if checkpoint.size > ledger.size() {
        return Err(Error::verification(format!(
            "{} ends at seq {}, but the ledger has only {} entries: entries were removed after it was made",
            path.display(),
            checkpoint.size,
            ledger.size()
        )));
    }
    let root = ledger.root_at(checkpoint.size)?;
    if root != checkpoint.root {
        return Err(Error::verification(format!(
            "the ledger's root at size {} is {}, but {}'s checkpoint says {}: the ledger was rewritten after that archive was made",
            checkpoint.size,
            hex(&root),
            path.display(),
            hex(&checkpoint.root)
        )));
    }
    Ok(checkpoint.size)
}

/// A file being written, plain or compressed.
enum Sink {
    Plain(std::io::BufWriter<File>),
    Zstd(zstd::stream::write::Encoder<'static, std::io::BufWriter<File>>),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Plain(w) => w.write(buf),
            Sink::Zstd(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Plain(w) => w.flush(),
            Sink::Zstd(w) => w.flush(),
        }
    }
}

/// The temporary name an archive is written under in `dir` before it is renamed to `name`.
pub(super) fn temporary_name(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!(".{name}.{}.tmp", std::process::id()))
}

/// Lines to write: `each` calls its argument with every stored line (without its newline).
pub(super) type LineFeed<'a> = dyn FnMut(&mut dyn FnMut(&[u8]) -> Result<()>) -> Result<()> + 'a;

/// Write an archive file at `path` (created new, fsync'd): the members, with the lines that
/// `lines` gives as `entries.jsonl`, which must be exactly the ones the manifest's digest names
/// (otherwise `changed` says why nothing was written).
#[allow(clippy::too_many_arguments)]
pub(super) fn write_archive(
    manifest: &Manifest,
    checkpoint: &str,
    keys: &[u8],
    lines: &mut LineFeed<'_>,
    changed: &str,
    path: &Path,
    level: Option<i32>,
    progress: &mut dyn FnMut(Progress),
) -> Result<()> {
    let io = |err: std::io::Error| Error::io("write", path, err);
    let file = crate::fsio::create_new(path)?;
    let buffered = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut sink = match level {
        None => Sink::Plain(buffered),
        Some(level) => {
            let mut encoder = zstd::stream::write::Encoder::new(buffered, level).map_err(io)?;
            encoder.include_checksum(true).map_err(io)?;
            Sink::Zstd(encoder)
        }
    };
    // Members carry the time of the last entry: the same ledger range gives the same file.
    let mtime = u64::try_from(manifest.last_time.as_millis() / 1000).unwrap_or(0);
    ustar::write_member(&mut sink, MANIFEST, mtime, &manifest.to_bytes()?).map_err(io)?;
    ustar::write_member(&mut sink, CHECKPOINT, mtime, checkpoint.as_bytes()).map_err(io)?;
    ustar::write_member(&mut sink, KEYS, mtime, keys).map_err(io)?;
    let header = ustar::header(ENTRIES, manifest.entries.bytes, mtime).map_err(Error::bad_input)?;
    sink.write_all(&header).map_err(io)?;
    let count = manifest.end - manifest.first_seq;
    let mut hasher = Sha256::new();
    let mut written = 0u64;
    let mut index = 0u64;
    let mismatch = || Error::verification(format!("{changed}; nothing was archived"));
    lines(&mut |line: &[u8]| {
        hasher.update(line);
        hasher.update(b"\n");
        written += line.len() as u64 + 1;
        if written > manifest.entries.bytes {
            return Err(mismatch());
        }
        sink.write_all(line).and_then(|()| sink.write_all(b"\n")).map_err(io)?;
        index += 1;
        if index.is_multiple_of(PROGRESS_EVERY) {
            progress(Progress { phase: "writing", done: index, total: count });
        }
        Ok(())
    })?;
    let digest: Hash = hasher.finalize().into();
    if written != manifest.entries.bytes || digest != manifest.entries.sha256 {
        return Err(mismatch());
    }
    sink.write_all(&[0u8; ustar::BLOCK][..ustar::padding(written)]).map_err(io)?;
    ustar::write_end(&mut sink).map_err(io)?;
    let buffered = match sink {
        Sink::Plain(w) => w,
        Sink::Zstd(encoder) => encoder.finish().map_err(io)?,
    };
    let file = buffered.into_inner().map_err(|err| io(err.into_error()))?;
    file.sync_all().map_err(|err| Error::io("sync", path, err))?;
    progress(Progress { phase: "writing", done: count, total: count });
    Ok(())
}
