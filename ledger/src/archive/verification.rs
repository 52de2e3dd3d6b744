//! Verifying archives, alone or as a sequence: each archive is held to what `lianlog verify`
//! holds a log to (canonical bytes, chain, signatures and authorization, Merkle root against its
//! signed checkpoint), and each to the archive before it (same ledger, no gap or overlap,
//! consistency proof, the verifier's state carried over). Every refusal is an
//! [`ArchiveFailure`] that names the archive, the seq and the reason.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::manifest::{Digest, Manifest};
use super::reading::{Stream, expect_member, for_each_entry, open_stream, read_head, read_head_from, read_member};
use super::{ArchiveFailure, Checked, KEYS, Limits, PROGRESS_EVERY, Problem, Progress, problem, problem_at};
use crate::encoding::hex;
use crate::error::{Error, Result};
use crate::keys::PublicKey;
use crate::merkle::{CompactRange, Hash};
use crate::note::Checkpoint;
use crate::record::{EntryHash, ParsedLine, kind_keeps_body};
use crate::registry::KeyRegistry;
use crate::verify::{Resume, SeenRecords, Verifier, VerifyOptions};

/// What a verified archive is.
#[derive(Debug, Clone)]
pub struct ArchiveReport {
    /// The archive file.
    pub path: PathBuf,
    /// The first seq it holds.
    pub first_seq: u64,
    /// One past its last seq: the size of its checkpoint.
    pub end: u64,
    /// The Merkle root of the tree of size `end`.
    pub root: Hash,
    /// Whether it is zstd-compressed (`.tar.zst`).
    pub compressed: bool,
    /// The checkpoint note at its end.
    pub checkpoint: String,
    /// The digest of its `entries.jsonl`.
    pub entries: Digest,
}

/// A verified sequence of archives.
#[derive(Debug, Clone)]
pub struct SequenceReport {
    /// In seq order.
    pub archives: Vec<ArchiveReport>,
    /// The ledger the archives belong to.
    pub origin: String,
    /// The log key (vkey form) that signed the checkpoints.
    pub log_key: String,
    /// Whether the log key was pinned by the caller (otherwise it comes from genesis, or from the
    /// first archive's `keys.jsonl`).
    pub log_key_pinned: bool,
    /// The first seq of the sequence.
    pub first_seq: u64,
    /// One past its last seq.
    pub end: u64,
    /// The Merkle root of the tree of size `end`.
    pub root: Hash,
    /// The hash of entry `end - 1`.
    pub head: EntryHash,
    /// The key registry as of `end`.
    pub registry: KeyRegistry,
    /// The redactions seen in the sequence.
    pub redactions: Vec<crate::verify::RedactionInfo>,
    /// Checks that need entries outside the archives given (a sequence that does not start at 0,
    /// a redaction whose entry comes after the last archive).
    pub not_checked: Vec<String>,
    /// Bodies that an archive still holds although a `ledger.redact` entry of the sequence
    /// removes them (the archive was made before the redaction). Not a failure: the archive is
    /// authentic. [`restore`](super::restore) and [`Loaded`](super::Loaded) apply these
    /// redactions; [`redact`](super::redact) rewrites the archives without the bodies.
    pub stale_bodies: Vec<StaleBody>,
}

/// A body still held in an archive although a later entry redacts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleBody {
    /// The archive holding the body.
    pub archive: PathBuf,
    /// The seq of the redacted record.
    pub seq: u64,
    /// The seq of the `ledger.redact` entry.
    pub by: u64,
    /// The archive holding that entry.
    pub by_archive: PathBuf,
}

/// What verifying one archive carries to the next.
struct Carry {
    path: PathBuf,
    resume: Resume,
    checkpoint: Checkpoint,
    log_key: PublicKey,
}

/// Check a signed checkpoint note: signed by `log_key`, of `origin`, at `size`.
fn open_note(note: &str, log_key: &PublicKey, what: &str) -> Checked<Checkpoint> {
    crate::note::open_checkpoint(note, log_key, &[])
        .map(|verified| verified.checkpoint)
        .map_err(|e| problem(format!("{what}: {}", e.message())))
}

/// The entries `keys.jsonl` holds: parse, check each line's proof under the tree at `first_seq`,
/// its signature and authorization, and rebuild the registry they make.
fn rebuild_registry(keys: &[u8], manifest: &Manifest, start_root: &Hash) -> Checked<KeyRegistry> {
    let mut registry = KeyRegistry::default();
    let lines: Vec<&[u8]> = if keys.is_empty() {
        Vec::new()
    } else {
        let body = keys.strip_suffix(b"\n").ok_or_else(|| problem("keys.jsonl does not end with a newline"))?;
        body.split(|&b| b == b'\n').collect()
    };
    if lines.len() != manifest.key_lines.len() {
        return Err(problem(format!(
            "keys.jsonl has {} lines, but the manifest lists {} key lines",
            lines.len(),
            manifest.key_lines.len()
        )));
    }
    if manifest.first_seq > 0 && lines.is_empty() {
        return Err(problem("keys.jsonl is empty, but an archive that starts after seq 0 needs the genesis entry"));
    }
    let mut last = None;
    for (line, key_line) in lines.iter().zip(&manifest.key_lines) {
        let seq = key_line.seq;
        let fail = |reason: String| problem_at(seq, format!("keys.jsonl: {reason}"));
        let parsed = ParsedLine::parse(line).map_err(|e| fail(e.to_string()))?;
        let entry = &parsed.line.entry;
        if entry.seq != seq || seq >= manifest.first_seq || last.is_some_and(|last| seq <= last) {
            return Err(fail(format!(
                "entry {} is out of place (key lines come before seq {} in order)",
                entry.seq, manifest.first_seq
            )));
        }
        last = Some(seq);
        let kind = entry.record.kind.as_str();
        if (seq == 0) != (kind == "ledger.genesis") || !(kind == "ledger.genesis" || kind.starts_with("key.")) {
            return Err(fail(format!("a {kind} entry does not belong here (genesis, key.grant and key.revoke only)")));
        }
        if !crate::merkle::verify_inclusion(seq, manifest.first_seq, &parsed.entry_hash.0, &key_line.proof, start_root)
        {
            return Err(fail(format!(
                "entry hash {} is not at seq {seq} of the tree of size {} (its inclusion proof fails): not an entry of this ledger",
                parsed.entry_hash, manifest.first_seq
            )));
        }
        let body = parsed.line.body().ok_or_else(|| fail("the body of a key record is missing".into()))?;
        let key = if seq == 0 {
            registry.apply(0, &entry.record, body).map_err(|e| fail(format!("genesis: {e}")))?;
            registry
                .public_key(&entry.record.author)
                .cloned()
                .ok_or_else(|| fail("genesis author is not an admin".into()))?
        } else {
            let key = registry.authorize(&entry.record, seq).map_err(|e| fail(format!("not authorized: {e}")))?.clone();
            registry.apply(seq, &entry.record, body).map_err(|e| fail(format!("{kind}: {e}")))?;
            key
        };
        key.verify_signature_value(&entry.record.note_text(), &entry.sig)
            .map_err(|e| fail(format!("record signature by {}: {e}", entry.record.author)))?;
    }
    if manifest.first_seq > 0 && registry.is_empty() {
        return Err(problem("keys.jsonl does not start with the genesis entry"));
    }
    Ok(registry)
}

/// The state an incremental archive starts from, from its own manifest and `keys.jsonl`, every
/// part checked against the previous checkpoint (whose signature is checked here).
fn start_state(
    manifest: &Manifest,
    keys: &[u8],
    pinned: Option<&PublicKey>,
) -> Checked<(Resume, Checkpoint, PublicKey)> {
    let tree = CompactRange::from_parts(manifest.first_seq, &manifest.start_range)
        .map_err(|e| problem(format!("manifest.json: start_range: {e}")))?;
    let start_root = tree.root();
    let registry = rebuild_registry(keys, manifest, &start_root)?;
    let log_key = PublicKey::parse_vkey(&registry.log_key)
        .map_err(|e| problem(format!("keys.jsonl: the genesis log key: {}", e.message())))?;
    if let Some(pinned) = pinned
        && pinned.vkey() != log_key.vkey()
    {
        return Err(problem(format!(
            "keys.jsonl: genesis names log key {}, not the expected {}: not the ledger you asked for",
            log_key.vkey(),
            pinned.vkey()
        )));
    }
    if registry.origin != manifest.origin {
        return Err(problem(format!(
            "the manifest says origin {}, but genesis says {}",
            manifest.origin, registry.origin
        )));
    }
    let Some(previous) = &manifest.previous else {
        return Err(problem("manifest.json: `previous` is missing"));
    };
    let checkpoint = open_note(&previous.checkpoint, &log_key, "the previous checkpoint in manifest.json")?;
    if checkpoint.size != manifest.first_seq || checkpoint.root != start_root {
        return Err(problem(format!(
            "the previous checkpoint in manifest.json (size {}, root {}) does not match the tree this archive starts from (size {}, root {})",
            checkpoint.size,
            hex(&checkpoint.root),
            manifest.first_seq,
            hex(&start_root)
        )));
    }
    let before = manifest.first_seq - 1;
    let entry_bytes = crate::canonical::encode(&previous.entry, "previous.entry")
        .map_err(|e| problem(format!("manifest.json: previous.entry: {e}")))?;
    let mut line = b"{\"entry\":".to_vec();
    line.extend_from_slice(&entry_bytes);
    line.extend_from_slice(b",\"withheld\":true}");
    let parsed = ParsedLine::parse(&line).map_err(|e| problem(format!("manifest.json: previous.entry: {e}")))?;
    if parsed.line.entry.seq != before
        || !crate::merkle::verify_inclusion(
            before,
            manifest.first_seq,
            &parsed.entry_hash.0,
            &previous.entry_proof,
            &start_root,
        )
    {
        return Err(problem_at(
            before,
            "manifest.json: previous.entry is not entry first_seq - 1 of the tree this archive starts from (its inclusion proof fails)",
        ));
    }
    let resume = Resume {
        next_seq: manifest.first_seq,
        head: parsed.entry_hash,
        last_time: Some(parsed.line.entry.time),
        registry,
        tree,
        pending_redactions: BTreeMap::new(),
        // The records before `first_seq` are not in this archive: the archive before it (if
        // given) hands them over in `Carry`.
        records: SeenRecords::default(),
    };
    Ok((resume, checkpoint, log_key))
}

/// Verify one archive, alone or continuing `carry` (the end of the archive before it).
#[allow(clippy::too_many_arguments)]
fn verify_archive(
    path: &Path,
    carry: Option<&mut Carry>,
    pinned: Option<&PublicKey>,
    limits: &Limits,
    progress: &mut dyn FnMut(Progress),
    done_before: u64,
    total: u64,
    collect: &mut dyn FnMut(u64, &[u8]),
) -> Result<Checked<Verified>> {
    let (mut stream, compressed) = open_stream(path, limits)?;
    Ok(verify_stream(&mut stream, path, compressed, carry, pinned, limits, progress, done_before, total, collect))
}

#[allow(clippy::too_many_arguments)]
fn verify_stream(
    stream: &mut Stream,
    path: &Path,
    compressed: bool,
    carry: Option<&mut Carry>,
    pinned: Option<&PublicKey>,
    limits: &Limits,
    progress: &mut dyn FnMut(Progress),
    done_before: u64,
    total: u64,
    collect: &mut dyn FnMut(u64, &[u8]),
) -> Checked<Verified> {
    let (manifest, checkpoint_note) = read_head_from(stream, limits)?;
    let checkpoint = Checkpoint::parse_text(
        &crate::note::Note::parse(&checkpoint_note)
            .map_err(|e| problem(format!("member checkpoint: {}", e.message())))?
            .text,
    )
    .map_err(|e| problem(format!("member checkpoint: {}", e.message())))?;
    if checkpoint.origin != manifest.origin || checkpoint.size != manifest.end || checkpoint.root != manifest.root {
        return Err(problem(format!(
            "the checkpoint (origin {}, size {}, root {}) differs from the manifest (origin {}, end {}, root {})",
            checkpoint.origin,
            checkpoint.size,
            hex(&checkpoint.root),
            manifest.origin,
            manifest.end,
            hex(&manifest.root)
        )));
    }
    // Continuity with the archive before, before anything else: the most useful reason first.
    if let Some(carry) = carry.as_deref() {
        let prev_name = carry.path.display();
        if manifest.origin != carry.checkpoint.origin {
            return Err(problem(format!(
                "it is an archive of ledger {}, but {prev_name} is of ledger {}: archives of different ledgers are mixed",
                manifest.origin, carry.checkpoint.origin
            )));
        }
        let prev_end = carry.resume.next_seq;
        if manifest.first_seq > prev_end {
            return Err(problem_at(
                prev_end,
                format!(
                    "it starts at seq {}, but {prev_name} ends at seq {prev_end}: the archive of seq {prev_end}..{} is missing",
                    manifest.first_seq, manifest.first_seq
                ),
            ));
        }
        if manifest.first_seq < prev_end {
            return Err(problem_at(
                manifest.first_seq,
                format!(
                    "it starts at seq {}, inside {prev_name} (which ends at seq {prev_end}): archives overlap; give one unbroken sequence",
                    manifest.first_seq
                ),
            ));
        }
    }
    let member = expect_member(stream, KEYS, limits)?;
    let keys = read_member(stream, &member, Some(&manifest.keys))?;
    let mut own_checkpoint_checked = false;
    let resume = if manifest.first_seq == 0 {
        if !keys.is_empty() || !manifest.key_lines.is_empty() || !manifest.start_range.is_empty() {
            return Err(problem("a full archive (from seq 0) has no key lines, start range or previous checkpoint"));
        }
        Resume::default()
    } else {
        let (own, previous_checkpoint, log_key) = start_state(&manifest, &keys, pinned)?;
        let Some(previous) = &manifest.previous else { return Err(problem("manifest.json: `previous` is missing")) };
        open_note(&checkpoint_note, &log_key, "member checkpoint")?;
        own_checkpoint_checked = true;
        if let Some(carry) = carry {
            let prev_name = carry.path.display();
            if log_key.vkey() != carry.log_key.vkey() {
                return Err(problem(format!(
                    "its genesis names log key {}, but {prev_name}'s is {}: archives of different ledgers are mixed",
                    log_key.vkey(),
                    carry.log_key.vkey()
                )));
            }
            if !crate::merkle::verify_consistency(
                carry.checkpoint.size,
                manifest.end,
                &carry.checkpoint.root,
                &checkpoint.root,
                &previous.consistency,
            ) {
                return Err(problem_at(
                    manifest.first_seq,
                    format!(
                        "it does not extend {prev_name}: the consistency proof from that archive's checkpoint (size {}, root {}) to this one's (size {}) fails: the history before this archive was rewritten",
                        carry.checkpoint.size,
                        hex(&carry.checkpoint.root),
                        manifest.end
                    ),
                ));
            }
            if previous_checkpoint != carry.checkpoint {
                return Err(problem(format!(
                    "its manifest names a previous checkpoint (root {}) that is not {prev_name}'s (root {}): the history before this archive was rewritten",
                    hex(&previous_checkpoint.root),
                    hex(&carry.checkpoint.root)
                )));
            }
            if own.head != carry.resume.head || own.last_time != carry.resume.last_time || own.tree != carry.resume.tree
            {
                return Err(problem_at(
                    manifest.first_seq - 1,
                    format!("its manifest's previous entry or start range is not where {prev_name} ends"),
                ));
            }
            if own.registry != carry.resume.registry {
                return Err(problem(format!(
                    "keys.jsonl does not give the key registry that {prev_name} and the archives before it end with"
                )));
            }
            // What only the archives before know: their redactions still pending, and the ids
            // of their records (moved, not copied; their runs on disk are shared).
            Resume {
                pending_redactions: std::mem::take(&mut carry.resume.pending_redactions),
                records: std::mem::take(&mut carry.resume.records),
                ..own
            }
        } else {
            if !crate::merkle::verify_consistency(
                previous_checkpoint.size,
                manifest.end,
                &previous_checkpoint.root,
                &checkpoint.root,
                &previous.consistency,
            ) {
                return Err(problem_at(
                    manifest.first_seq,
                    "the consistency proof from the previous checkpoint in its manifest to its own checkpoint fails: the history before this archive was rewritten",
                ));
            }
            own
        }
    };
    let options = VerifyOptions { allow_withheld: false, expected_log_key: pinned.cloned(), root_sizes: Vec::new() };
    let mut verifier = Verifier::resume(options, resume);
    let mut first_time = None;
    let mut last_time = None;
    let read = for_each_entry(stream, &manifest, limits, |seq, line| {
        collect(seq, &line);
        if seq == manifest.first_seq || seq + 1 == manifest.end {
            // Times are checked against the manifest; a line that does not parse fails below.
            if let Ok(parsed) = ParsedLine::parse(&line) {
                if seq == manifest.first_seq {
                    first_time = Some(parsed.line.entry.time);
                }
                last_time = Some(parsed.line.entry.time);
            }
        }
        let done = seq - manifest.first_seq + 1;
        verifier.push(done, line).map_err(Problem::from)?;
        if done.is_multiple_of(PROGRESS_EVERY) {
            progress(Progress { phase: "verifying", done: done_before + done, total });
        }
        Ok(())
    })?;
    if stream.next_member().map_err(problem)?.is_some() {
        return Err(problem(
            "a member follows entries.jsonl (members: manifest.json, checkpoint, keys.jsonl, entries.jsonl)",
        ));
    }
    // Redaction targets inside this archive that still hold their bodies: read them again.
    let mut reread = |seq: u64| reread_line(path, limits, seq);
    let end = verifier.finish_range(&mut reread).map_err(Problem::from)?;
    read.check(&manifest)?;
    let registry = &end.resume.registry;
    let log_key = registry.log_public_key().ok_or_else(|| problem("the genesis log key does not parse"))?;
    if !own_checkpoint_checked {
        open_note(&checkpoint_note, &log_key, "member checkpoint")?;
    }
    if end.report.root != checkpoint.root {
        return Err(problem(format!(
            "the entries give the root {} at size {}, but the checkpoint says {}: entries were altered, removed or added",
            hex(&end.report.root),
            manifest.end,
            hex(&checkpoint.root)
        )));
    }
    if checkpoint.origin != registry.origin {
        return Err(problem(format!(
            "the checkpoint is for {}, but genesis says {}",
            checkpoint.origin, registry.origin
        )));
    }
    if first_time != Some(manifest.first_time) || last_time != Some(manifest.last_time) {
        return Err(problem("manifest.json: time.first or time.last is not the time of the first or last entry"));
    }
    let report = ArchiveReport {
        path: path.to_path_buf(),
        first_seq: manifest.first_seq,
        end: manifest.end,
        root: checkpoint.root,
        compressed,
        checkpoint: checkpoint_note,
        entries: manifest.entries,
    };
    let crate::verify::RangeEnd { report: range, resume, earlier_targets } = end;
    let carry = Carry { path: path.to_path_buf(), resume, checkpoint, log_key };
    Ok(Verified { carry, report, range, earlier_targets })
}

/// What [`verify_stream`] found: the state to carry to the next archive, the archive's report,
/// the verifier's report of its range and the redactions of lines before it.
struct Verified {
    carry: Carry,
    report: ArchiveReport,
    range: crate::verify::VerifyReport,
    earlier_targets: Vec<(u64, EntryHash, u64)>,
}

/// The stored line at `seq` in the archive at `path` (for redaction targets; rare).
fn reread_line(path: &Path, limits: &Limits, seq: u64) -> std::result::Result<Vec<u8>, String> {
    let (mut stream, _) = open_stream(path, limits).map_err(|e| e.to_string())?;
    let (manifest, _) = read_head_from(&mut stream, limits).map_err(|p| p.reason)?;
    let member = expect_member(&mut stream, KEYS, limits).map_err(|p| p.reason)?;
    read_member(&mut stream, &member, None).map_err(|p| p.reason)?;
    let mut found = None;
    // Stops at the first error, which is how the search ends once the line is found.
    let _ = for_each_entry(&mut stream, &manifest, limits, |at, line| {
        if at == seq {
            found = Some(line);
            return Err(problem("found"));
        }
        Ok(())
    });
    found.ok_or_else(|| format!("seq {seq} is not in {}", path.display()))
}

/// Options of [`verify`].
#[derive(Debug, Clone, Default)]
pub struct ArchiveOptions {
    /// The log key the archives must belong to; `None` takes it from the first archive.
    pub pinned_log_key: Option<PublicKey>,
    /// How large an archive may be.
    pub limits: Limits,
}

/// Verify archives as one sequence, in seq order (they are sorted by their manifests): each
/// alone (digests, canonical bytes, chain, signatures and authorization with the key registry
/// carried from the archives before, root against its signed checkpoint) and each against the one
/// before (same ledger, no gap or overlap, consistency proof from its checkpoint).
pub fn verify(
    paths: &[PathBuf],
    options: &ArchiveOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<std::result::Result<SequenceReport, ArchiveFailure>> {
    verify_collecting(paths, options, progress, &mut |_, _| {})
}

/// Check checkpoints kept apart from the archives — such as an archive's own checkpoint once the
/// witnesses cosigned it (`lianlog checkpoint cosign`) — against a verified sequence: each must be
/// signed by the sequence's log key, carry the cosignatures `cosigners` requires, and sign the
/// root of an archive of the sequence that ends at its size. Returns the cosignatures of each, in
/// order, or the first failure, naming the checkpoint (and the archive it contradicts).
pub fn check_checkpoints<'a>(
    report: &SequenceReport,
    checkpoints: &[crate::verify::ArchivedCheckpoint],
    cosigners: crate::note::CosignerPolicy<'a>,
) -> Result<std::result::Result<Vec<Vec<crate::note::Cosignature>>, ArchiveFailure>> {
    let log_key = PublicKey::parse_vkey(&report.log_key)?;
    let mut cosigned = Vec::with_capacity(checkpoints.len());
    for checkpoint in checkpoints {
        let Some(archive) = report.archives.iter().find(|archive| archive.end == checkpoint.size) else {
            let ends: Vec<String> = report.archives.iter().map(|archive| archive.end.to_string()).collect();
            return Err(Error::bad_input(format!(
                "checkpoint {} is of size {}, but no archive given ends there (they end at {}); give the archives up \
                 to that size, or a checkpoint of an archive's own size (its `{}` member, cosigned)",
                checkpoint.name,
                checkpoint.size,
                ends.join(", "),
                super::CHECKPOINT
            )));
        };
        let fail = |reason: String| ArchiveFailure { archive: archive.path.clone(), seq: None, reason };
        let verified = match crate::note::open_checkpoint(&checkpoint.note, &log_key, cosigners) {
            Ok(verified) => verified,
            Err(err) => return Ok(Err(fail(format!("checkpoint {}: {}", checkpoint.name, err.message())))),
        };
        if verified.checkpoint.root != archive.root {
            return Ok(Err(fail(format!(
                "checkpoint {}: {} (the first is the archive's, the second the checkpoint's): the archive holds \
                 another history than the one the checkpoint signs",
                checkpoint.name,
                crate::proof::fork_message(checkpoint.size, &archive.root, &verified.checkpoint.root)
            ))));
        }
        cosigned.push(verified.cosignatures);
    }
    Ok(Ok(cosigned))
}

pub(super) fn verify_collecting(
    paths: &[PathBuf],
    options: &ArchiveOptions,
    progress: &mut dyn FnMut(Progress),
    collect: &mut dyn FnMut(u64, &[u8]),
) -> Result<std::result::Result<SequenceReport, ArchiveFailure>> {
    if paths.is_empty() {
        return Err(Error::bad_input("no archives given"));
    }
    // Order by the manifests' ranges.
    let mut ordered = Vec::with_capacity(paths.len());
    for path in paths {
        match read_head(path)? {
            Ok((manifest, _)) => ordered.push((manifest.first_seq, manifest.end, path.clone())),
            Err(failure) => return Ok(Err(failure)),
        }
    }
    ordered.sort();
    let total: u64 = ordered.iter().map(|(first, end, _)| end - first).sum();
    let pinned = options.pinned_log_key.as_ref();
    let mut carry: Option<Carry> = None;
    let mut archives = Vec::with_capacity(ordered.len());
    let mut redactions = Vec::new();
    let mut earlier_targets = Vec::new();
    let mut done = 0;
    for (first, end, path) in &ordered {
        match verify_archive(path, carry.as_mut(), pinned, &options.limits, progress, done, total, collect)? {
            Ok(verified) => {
                redactions.extend(verified.range.redactions);
                earlier_targets.extend(verified.earlier_targets.into_iter().map(|t| (path.clone(), t)));
                archives.push(verified.report);
                carry = Some(verified.carry);
            }
            Err(problem) => return Ok(Err(problem.at(path))),
        }
        done += end - first;
        progress(Progress { phase: "verifying", done, total });
    }
    let Some(last) = carry else { return Err(Error::bad_input("no archives given")) };
    let first_seq = archives.first().map(|a| a.first_seq).unwrap_or(0);
    let mut not_checked = Vec::new();
    if first_seq > 0 {
        not_checked.push(format!(
            "the sequence starts at seq {first_seq}: entries before it are known only through the first archive's keys.jsonl and its previous checkpoint"
        ));
        not_checked.push(format!(
            "replayed records: whether a record of these archives repeats one of the entries before seq {first_seq} (give the archives from seq 0 to check it)"
        ));
    }
    // Redactions of lines in earlier archives of the sequence: check those lines.
    for (path, (target, hash, by)) in earlier_targets {
        let fail = |reason: String| Ok(Err(ArchiveFailure { archive: path.clone(), seq: Some(by), reason }));
        let Some(holder) = archives.iter().find(|a| a.first_seq <= target && target < a.end) else {
            not_checked.push(format!("seq {by} redacts seq {target}, which is before the first archive given"));
            continue;
        };
        let line = match reread_line(&holder.path, &options.limits, target) {
            Ok(line) => line,
            Err(reason) => return fail(format!("cannot re-read redaction target seq {target}: {reason}")),
        };
        match ParsedLine::parse(&line) {
            Err(e) => return fail(format!("redaction target seq {target}: {e}")),
            Ok(parsed) if parsed.entry_hash != hash => {
                return fail(format!(
                    "ledger.redact names entry hash {hash} for seq {target}, whose hash is {}",
                    parsed.entry_hash
                ));
            }
            Ok(parsed) if kind_keeps_body(&parsed.line.entry.record.kind) => {
                return fail(format!(
                    "ledger.redact targets seq {target}, a {} record, whose body is never redacted",
                    parsed.line.entry.record.kind
                ));
            }
            Ok(_) => {}
        }
    }
    for (seq, (by, _)) in &last.resume.pending_redactions {
        not_checked.push(format!("seq {seq} says it was redacted by seq {by}, which is after the last archive given"));
    }
    // Bodies that a later redaction removed but an archive still holds.
    let holder_of = |seq: u64| archives.iter().find(|a| a.first_seq <= seq && seq < a.end).map(|a| a.path.clone());
    let stale_bodies = redactions
        .iter()
        .filter(|r| !r.applied)
        .filter_map(|r| {
            Some(StaleBody { archive: holder_of(r.target)?, seq: r.target, by: r.by, by_archive: holder_of(r.by)? })
        })
        .collect();
    let end = last.resume.next_seq;
    Ok(Ok(SequenceReport {
        origin: last.resume.registry.origin.clone(),
        log_key: last.resume.registry.log_key.clone(),
        log_key_pinned: pinned.is_some(),
        first_seq,
        end,
        root: last.checkpoint.root,
        head: last.resume.head,
        registry: last.resume.registry,
        redactions,
        not_checked,
        stale_bodies,
        archives,
    }))
}
