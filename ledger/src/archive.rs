//! Snapshot archives: a range of the log sealed in one file that can be checked, years later, with
//! nothing but the archive (and the archives before it), and from which a working ledger can be
//! restored.
//!
//! # The file
//!
//! A POSIX ustar file ([`ustar`]), optionally zstd-compressed, named
//! `<origin>-<first seq>-<end>.tar[.zst]` (the origin with every character outside
//! `[A-Za-z0-9._-]` replaced by `_`; `end` is exclusive). Its members, in this order:
//!
//! 1. `manifest.json` — canonical JSON (below);
//! 2. `checkpoint` — the checkpoint of the tree of size `end`, signed by the log key;
//! 3. `keys.jsonl` — for an archive that starts after seq 0, the stored lines of every
//!    `ledger.genesis`, `key.grant` and `key.revoke` entry before it, so that its signatures and
//!    authorization can be checked on their own; empty for a full archive;
//! 4. `entries.jsonl` — the stored lines `first_seq..end`, byte for byte as in the log.
//!
//! The manifest is not signed (the log key signs checkpoints only), so every field of it is
//! checked against signed data: its root against the checkpoint, its compact range at
//! `first_seq` against the previous checkpoint and the entries, the previous entry and each key
//! line by an inclusion proof under that root, the members by SHA-256. Only `tool` is a label.
//!
//! # Across archives
//!
//! A sequence of archives is held to what `lianlog verify` holds one log to: the verifier's
//! state at the end of one archive ([`Resume`]: chain head, key registry, Merkle frontier,
//! pending redactions and the ids of every record so far, 24 bytes an entry) is where the next
//! one starts, so a record replayed in a later archive is refused as in a log. `create --since`
//! reads those ids from the log's lines before the range. A redaction found in a later archive
//! applies to the earlier ones: [`restore`] writes the redacted line form, [`Loaded`] answers
//! with it, [`verify`] reports the archives that still hold such a body
//! ([`SequenceReport::stale_bodies`]) and [`redact`] rewrites them without it.
//!
//! # Projection state
//!
//! Archives do not store projection state: `--archive` queries replay the verified entries into
//! memory ([`Loaded`]), which is what a stored copy would have to be checked against anyway, and
//! an incremental archive alone could not answer with stored state either (the bodies its indexes
//! point to live in the earlier archives).

pub mod ustar;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead as _, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::encoding::{hex, parse_hex};
use crate::error::{Error, Result};
use crate::keys::{PublicKey, SecretKey};
use crate::ledger::{Ledger, PastState, replay_projections};
use crate::merkle::{CompactRange, Hash};
use crate::note::Checkpoint;
use crate::record::{EntryHash, ParsedLine, StoredBody, kind_keeps_body};
use crate::registry::KeyRegistry;
use crate::time::Timestamp;
use crate::verify::{Resume, SeenRecords, Verifier, VerifyOptions};

/// The manifest's `format`.
pub const FORMAT: &str = "lianlog-archive-v1";
/// What writes the archives.
pub const TOOL: &str = concat!("lianlog ", env!("CARGO_PKG_VERSION"));
/// The default zstd level (zstd's own default). On 100,000 workload entries (79 MB of stored
/// lines) level 3 gives 21.3 MB, level 9 20.2 MB and level 19 19.3 MB, at about 1, 7 and 160
/// seconds of compression on top of the verification that every `create` does.
pub const DEFAULT_LEVEL: i32 = 3;

const MANIFEST: &str = "manifest.json";
const CHECKPOINT: &str = "checkpoint";
const KEYS: &str = "keys.jsonl";
const ENTRIES: &str = "entries.jsonl";
/// The members, in the order they are written and must be read.
const MEMBERS: [&str; 4] = [MANIFEST, CHECKPOINT, KEYS, ENTRIES];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
/// The decoder refuses frames that need a larger window (128 MiB), so a hostile frame cannot
/// make it allocate more.
const ZSTD_WINDOW_LOG_MAX: u32 = 27;
/// Lines between two progress reports.
const PROGRESS_EVERY: u64 = 4096;

/// How much an archive may hold; anything larger is refused before it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `entries.jsonl`.
    pub entries_bytes: u64,
    /// Each other member.
    pub member_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { entries_bytes: 4 << 30, member_bytes: 64 << 20 }
    }
}

impl Limits {
    fn of(&self, member: &str) -> u64 {
        if member == ENTRIES { self.entries_bytes } else { self.member_bytes }
    }

    /// Every byte a valid archive can decompress to: headers, members, padding, end marker.
    fn total(&self) -> u64 {
        self.entries_bytes.saturating_add(self.member_bytes.saturating_mul(3)).saturating_add(1 << 20)
    }
}

/// Progress of a long operation, for a caller that shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// What is being done: `reading` (the record ids before an incremental range), `checking`,
    /// `writing`, `verifying`, `restoring`, `indexing`. A total
    /// of 0 means the amount of work is not known.
    pub phase: &'static str,
    pub done: u64,
    pub total: u64,
}

/// Why an archive (or a sequence of them) was refused: which file, which seq if one, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveFailure {
    pub archive: PathBuf,
    pub seq: Option<u64>,
    pub reason: String,
}

impl std::fmt::Display for ArchiveFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.seq {
            Some(seq) => write!(f, "archive {}: seq {seq}: {}", self.archive.display(), self.reason),
            None => write!(f, "archive {}: {}", self.archive.display(), self.reason),
        }
    }
}

impl From<ArchiveFailure> for Error {
    fn from(failure: ArchiveFailure) -> Error {
        let seq = failure.seq;
        let error = Error::verification(failure.to_string());
        match seq {
            Some(seq) => error.with_seq(seq),
            None => error,
        }
    }
}

/// A failure inside one archive, before the archive's name is attached.
#[derive(Debug, Clone)]
struct Problem {
    seq: Option<u64>,
    reason: String,
}

impl Problem {
    fn at(self, archive: &Path) -> ArchiveFailure {
        ArchiveFailure { archive: archive.to_path_buf(), seq: self.seq, reason: self.reason }
    }
}

fn problem(reason: impl Into<String>) -> Problem {
    Problem { seq: None, reason: reason.into() }
}

fn problem_at(seq: u64, reason: impl Into<String>) -> Problem {
    Problem { seq: Some(seq), reason: reason.into() }
}

type Checked<T> = std::result::Result<T, Problem>;

// ---- manifest --------------------------------------------------------------------------------

/// Size and SHA-256 of a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digest {
    pub bytes: u64,
    pub sha256: Hash,
}

/// What an incremental archive says about the archive before it.
#[derive(Debug, Clone, PartialEq)]
pub struct Previous {
    /// The previous archive's checkpoint (size `first_seq`), signed by the log key.
    pub checkpoint: String,
    /// RFC 9162 consistency proof from size `first_seq` to `end`.
    pub consistency: Vec<Hash>,
    /// Entry `first_seq - 1` (its entry object), and its inclusion proof in the tree of size
    /// `first_seq`: the chain and the time order continue from it.
    pub entry: Value,
    pub entry_proof: Vec<Hash>,
}

/// One line of `keys.jsonl`: its seq and inclusion proof in the tree of size `first_seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLine {
    pub seq: u64,
    pub proof: Vec<Hash>,
}

/// The manifest (`manifest.json`).
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub tool: String,
    pub origin: String,
    pub first_seq: u64,
    /// One past the last seq: the checkpoint's size.
    pub end: u64,
    /// The root of the tree of size `end`.
    pub root: Hash,
    /// `CompactRange::hashes()` of the tree of size `first_seq` (empty for a full archive).
    pub start_range: Vec<Hash>,
    pub previous: Option<Previous>,
    pub key_lines: Vec<KeyLine>,
    pub checkpoint: Digest,
    pub keys: Digest,
    pub entries: Digest,
    /// Times of entries `first_seq` and `end - 1`.
    pub first_time: Timestamp,
    pub last_time: Timestamp,
}

fn hashes_json(hashes: &[Hash]) -> Value {
    Value::Array(hashes.iter().map(|h| Value::String(hex(h))).collect())
}

fn digest_json(digest: &Digest) -> Value {
    json!({"bytes": digest.bytes, "sha256": hex(&digest.sha256)})
}

impl Manifest {
    /// Whether this archive starts at seq 0.
    pub fn is_full(&self) -> bool {
        self.first_seq == 0
    }

    pub fn to_json(&self) -> Value {
        let previous = match &self.previous {
            None => Value::Null,
            Some(p) => json!({
                "checkpoint": p.checkpoint,
                "consistency": hashes_json(&p.consistency),
                "entry": p.entry,
                "entry_proof": hashes_json(&p.entry_proof),
            }),
        };
        json!({
            "format": FORMAT,
            "tool": self.tool,
            "origin": self.origin,
            "first_seq": self.first_seq,
            "end": self.end,
            "root": hex(&self.root),
            "checkpoint_size": self.end,
            "start_range": hashes_json(&self.start_range),
            "previous": previous,
            "key_lines": self.key_lines.iter().map(|k| json!({"seq": k.seq, "proof": hashes_json(&k.proof)})).collect::<Vec<_>>(),
            "members": {CHECKPOINT: digest_json(&self.checkpoint), KEYS: digest_json(&self.keys), ENTRIES: digest_json(&self.entries)},
            "time": {"first": self.first_time.to_string(), "last": self.last_time.to_string()},
        })
    }

    /// The canonical bytes of the manifest, with a final newline.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut bytes =
            crate::canonical::encode(&self.to_json(), "manifest").map_err(|e| Error::bad_input(e.to_string()))?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// Parse a manifest strictly: canonical JSON, exactly the known fields, each well formed.
    pub fn parse(bytes: &[u8]) -> std::result::Result<Manifest, String> {
        let text = bytes.strip_suffix(b"\n").ok_or("manifest.json does not end with a newline")?;
        let value = crate::canonical::parse_canonical(text, "manifest").map_err(|e| format!("manifest.json: {e}"))?;
        let fields = [
            "checkpoint_size",
            "end",
            "first_seq",
            "format",
            "key_lines",
            "members",
            "origin",
            "previous",
            "root",
            "start_range",
            "time",
            "tool",
        ];
        // `object` checks that exactly the listed fields are present, so the indexing of
        // `serde_json::Map` below (which panics on a missing key) cannot panic; the same holds
        // for every `object(…)` result in this function.
        let m = object(&value, "manifest", &fields)?;
        if m["format"] != FORMAT {
            return Err(format!("manifest.json: format {} is not {FORMAT} (a newer lianlog wrote it?)", m["format"]));
        }
        let tool = string(&m["tool"], "tool")?;
        if !tool.starts_with("lianlog ") {
            return Err(format!("manifest.json: tool {tool:?} is not a lianlog version"));
        }
        let origin = string(&m["origin"], "origin")?;
        crate::keys::KeyName::parse(&origin).map_err(|e| format!("manifest.json: origin: {}", e.message()))?;
        let first_seq = integer(&m["first_seq"], "first_seq")?;
        let end = integer(&m["end"], "end")?;
        if end <= first_seq {
            return Err(format!("manifest.json: end {end} is not after first_seq {first_seq}"));
        }
        if integer(&m["checkpoint_size"], "checkpoint_size")? != end {
            return Err("manifest.json: checkpoint_size differs from end".into());
        }
        let root = hash(&m["root"], "root")?;
        let start_range = hash_list(&m["start_range"], "start_range")?;
        let previous = match &m["previous"] {
            Value::Null => None,
            value => {
                let p = object(value, "previous", &["checkpoint", "consistency", "entry", "entry_proof"])?;
                Some(Previous {
                    checkpoint: string(&p["checkpoint"], "previous.checkpoint")?,
                    consistency: hash_list(&p["consistency"], "previous.consistency")?,
                    entry: p["entry"].clone(),
                    entry_proof: hash_list(&p["entry_proof"], "previous.entry_proof")?,
                })
            }
        };
        if previous.is_some() != (first_seq > 0) {
            return Err("manifest.json: `previous` must be present exactly when first_seq is not 0".into());
        }
        let key_lines = m["key_lines"]
            .as_array()
            .ok_or("manifest.json: key_lines: must be a list")?
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let path = format!("key_lines[{i}]");
                let k = object(item, &path, &["proof", "seq"])?;
                Ok(KeyLine {
                    seq: integer(&k["seq"], &format!("{path}.seq"))?,
                    proof: hash_list(&k["proof"], &format!("{path}.proof"))?,
                })
            })
            .collect::<std::result::Result<Vec<_>, String>>()?;
        let members = object(&m["members"], "members", &[CHECKPOINT, ENTRIES, KEYS])?;
        let digest = |name: &str| -> std::result::Result<Digest, String> {
            let d = object(&members[name], &format!("members.{name}"), &["bytes", "sha256"])?;
            Ok(Digest {
                bytes: integer(&d["bytes"], &format!("members.{name}.bytes"))?,
                sha256: hash(&d["sha256"], &format!("members.{name}.sha256"))?,
            })
        };
        let time = object(&m["time"], "time", &["first", "last"])?;
        let timestamp = |field: &str| {
            time[field]
                .as_str()
                .and_then(Timestamp::parse)
                .ok_or_else(|| format!("manifest.json: time.{field}: must be a timestamp"))
        };
        Ok(Manifest {
            tool,
            origin,
            first_seq,
            end,
            root,
            start_range,
            previous,
            key_lines,
            checkpoint: digest(CHECKPOINT)?,
            keys: digest(KEYS)?,
            entries: digest(ENTRIES)?,
            first_time: timestamp("first")?,
            last_time: timestamp("last")?,
        })
    }
}

fn object<'a>(
    value: &'a Value,
    path: &str,
    fields: &[&str],
) -> std::result::Result<&'a serde_json::Map<String, Value>, String> {
    crate::registry::object_with(value, path, fields, &[]).map_err(|e| format!("manifest.json: {e}"))
}

fn string(value: &Value, path: &str) -> std::result::Result<String, String> {
    value.as_str().map(str::to_string).ok_or_else(|| format!("manifest.json: {path}: must be a string"))
}

fn integer(value: &Value, path: &str) -> std::result::Result<u64, String> {
    value.as_u64().ok_or_else(|| format!("manifest.json: {path}: must be a non-negative integer"))
}

fn hash(value: &Value, path: &str) -> std::result::Result<Hash, String> {
    value
        .as_str()
        .and_then(parse_hex::<32>)
        .ok_or_else(|| format!("manifest.json: {path}: must be 64 lowercase hex digits"))
}

fn hash_list(value: &Value, path: &str) -> std::result::Result<Vec<Hash>, String> {
    let items = value.as_array().ok_or_else(|| format!("manifest.json: {path}: must be a list"))?;
    if items.len() > 64 {
        return Err(format!("manifest.json: {path}: more than 64 hashes"));
    }
    items.iter().enumerate().map(|(i, item)| hash(item, &format!("{path}[{i}]"))).collect()
}

/// The file name of an archive: the origin made safe for a file name, then the range.
pub fn file_name(origin: &str, first_seq: u64, end: u64, compressed: bool) -> String {
    let safe: String =
        origin.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-') { c } else { '_' }).collect();
    format!("{safe}-{first_seq}-{end}.tar{}", if compressed { ".zst" } else { "" })
}

// ---- reading ---------------------------------------------------------------------------------

/// Counts the bytes read from the (decompressed) stream and refuses to go past a bound, so that
/// a small file cannot make the reader process an unbounded stream.
struct Bounded<R> {
    inner: R,
    read: u64,
    max: u64,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.read >= self.max {
            return Err(std::io::Error::other(format!(
                "it decompresses to more than {} bytes, more than any valid archive (a decompression bomb?)",
                self.max
            )));
        }
        let room = usize::try_from(self.max - self.read).unwrap_or(usize::MAX);
        let len = buf.len().min(room);
        let n = self.inner.read(&mut buf[..len])?;
        self.read += n as u64;
        Ok(n)
    }
}

type Stream = ustar::Reader<Bounded<Box<dyn Read>>>;

/// Open an archive for reading: a plain or zstd-compressed stream, bounded.
fn open_stream(path: &Path, limits: &Limits) -> Result<(Stream, bool)> {
    let file = File::open(path).map_err(|err| Error::io("open the archive", path, err))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let head = reader.fill_buf().map_err(|err| Error::io("read", path, err))?;
    let compressed = head.starts_with(&ZSTD_MAGIC);
    let inner: Box<dyn Read> = if compressed {
        let mut decoder = zstd::stream::read::Decoder::with_buffer(reader)
            .map_err(|err| Error::io("start decompressing", path, err))?;
        decoder.window_log_max(ZSTD_WINDOW_LOG_MAX).map_err(|err| Error::io("start decompressing", path, err))?;
        Box::new(decoder)
    } else {
        Box::new(reader)
    };
    Ok((ustar::Reader::new(Bounded { inner, read: 0, max: limits.total() }), compressed))
}

/// Read the header of the member that must come next and check its name and size.
fn expect_member(stream: &mut Stream, expected: &str, limits: &Limits) -> Checked<ustar::Member> {
    let member = stream.next_member().map_err(problem)?.ok_or_else(|| {
        problem(format!("the archive ends before its member {expected} (members: {})", MEMBERS.join(", ")))
    })?;
    if member.name != expected {
        let reason = if MEMBERS.contains(&member.name.as_str()) {
            format!(
                "member {} comes where {expected} must (members: {}, in this order)",
                member.name,
                MEMBERS.join(", ")
            )
        } else {
            format!("member {:?} is not part of a lianlog archive (members: {})", member.name, MEMBERS.join(", "))
        };
        return Err(problem(reason));
    }
    let limit = limits.of(expected);
    if member.size > limit {
        return Err(problem(format!(
            "member {expected} is {} bytes, more than the limit of {limit} bytes",
            member.size
        )));
    }
    Ok(member)
}

/// A whole small member, checked against the manifest's digest when one is given.
fn read_member(stream: &mut Stream, member: &ustar::Member, digest: Option<&Digest>) -> Checked<Vec<u8>> {
    let mut bytes = Vec::with_capacity(usize::try_from(member.size).unwrap_or(0).min(1 << 20));
    stream
        .data(member.size)
        .read_to_end(&mut bytes)
        .map_err(|e| problem(ustar::read_error(&e, &format!("member {}", member.name))))?;
    let left = member.size - bytes.len() as u64;
    stream.end_member(member, left).map_err(problem)?;
    if let Some(digest) = digest {
        check_digest(&member.name, &bytes, digest)?;
    }
    Ok(bytes)
}

fn check_digest(name: &str, bytes: &[u8], digest: &Digest) -> Checked<()> {
    let actual = sha256(bytes);
    if bytes.len() as u64 != digest.bytes || actual != digest.sha256 {
        return Err(problem(format!(
            "member {name}: {} bytes with SHA-256 {}, but the manifest says {} bytes with SHA-256 {} (altered)",
            bytes.len(),
            hex(&actual),
            digest.bytes,
            hex(&digest.sha256)
        )));
    }
    Ok(())
}

fn sha256(bytes: &[u8]) -> Hash {
    Sha256::digest(bytes).into()
}

/// The manifest and checkpoint of an archive: its first two members, without reading the rest.
pub fn read_head(path: &Path) -> Result<std::result::Result<(Manifest, String), ArchiveFailure>> {
    let limits = Limits::default();
    let (mut stream, _) = open_stream(path, &limits)?;
    Ok(read_head_from(&mut stream, &limits).map_err(|p| p.at(path)))
}

fn read_head_from(stream: &mut Stream, limits: &Limits) -> Checked<(Manifest, String)> {
    let member = expect_member(stream, MANIFEST, limits)?;
    let manifest = Manifest::parse(&read_member(stream, &member, None)?).map_err(problem)?;
    let member = expect_member(stream, CHECKPOINT, limits)?;
    let checkpoint = read_member(stream, &member, Some(&manifest.checkpoint))?;
    let checkpoint = String::from_utf8(checkpoint).map_err(|_| problem("member checkpoint: not UTF-8 text"))?;
    Ok((manifest, checkpoint))
}

/// Stream the lines of `entries.jsonl` to `each` (seq, line without newline), checking the
/// member's size and digest at the end. `stream` must stand just before the member.
fn for_each_entry(
    stream: &mut Stream,
    manifest: &Manifest,
    limits: &Limits,
    mut each: impl FnMut(u64, Vec<u8>) -> Checked<()>,
) -> Checked<EntriesRead> {
    let member = expect_member(stream, ENTRIES, limits)?;
    let mut hasher = Sha256::new();
    let mut reader = BufReader::with_capacity(1 << 20, stream.data(member.size));
    let mut seq = manifest.first_seq;
    let mut total = 0u64;
    loop {
        let mut line = Vec::with_capacity(1024);
        let read = (&mut reader)
            .take(crate::record::MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| problem_at(seq, ustar::read_error(&e, "member entries.jsonl")))?;
        if read == 0 {
            break;
        }
        total += read as u64;
        hasher.update(&line);
        if line.pop() != Some(b'\n') {
            let reason = if read > crate::record::MAX_LINE_BYTES {
                format!("line longer than {} bytes", crate::record::MAX_LINE_BYTES)
            } else {
                "entries.jsonl ends inside a line (truncated or altered)".to_string()
            };
            return Err(problem_at(seq, reason));
        }
        if seq >= manifest.end {
            return Err(problem_at(
                seq,
                format!("entries.jsonl holds more lines than the range {}..{}", manifest.first_seq, manifest.end),
            ));
        }
        each(seq, line)?;
        seq += 1;
    }
    drop(reader);
    stream.end_member(&member, member.size - total).map_err(problem)?;
    Ok(EntriesRead { bytes: total, sha256: hasher.finalize().into(), end: seq })
}

/// What [`for_each_entry`] read, to be checked against the manifest with [`EntriesRead::check`]
/// (after the lines themselves were checked, so that a damaged line is named by its seq).
struct EntriesRead {
    bytes: u64,
    sha256: Hash,
    end: u64,
}

impl EntriesRead {
    fn check(&self, manifest: &Manifest) -> Checked<()> {
        let (total, actual, seq) = (self.bytes, self.sha256, self.end);
        self.check_digest(manifest, total, actual)?;
        if seq != manifest.end {
            return Err(problem_at(
                seq,
                format!("entries.jsonl ends at seq {seq}, but the manifest says the range ends at {}", manifest.end),
            ));
        }
        Ok(())
    }

    fn check_digest(&self, manifest: &Manifest, total: u64, actual: Hash) -> Checked<()> {
        if total != manifest.entries.bytes || actual != manifest.entries.sha256 {
            return Err(problem(format!(
                "member entries.jsonl: {total} bytes with SHA-256 {}, but the manifest says {} bytes with SHA-256 {} (altered)",
                hex(&actual),
                manifest.entries.bytes,
                hex(&manifest.entries.sha256)
            )));
        }
        Ok(())
    }
}

// ---- verification ----------------------------------------------------------------------------

/// What a verified archive is.
#[derive(Debug, Clone)]
pub struct ArchiveReport {
    pub path: PathBuf,
    pub first_seq: u64,
    pub end: u64,
    pub root: Hash,
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
    pub origin: String,
    pub log_key: String,
    /// Whether the log key was pinned by the caller (otherwise it comes from genesis, or from the
    /// first archive's `keys.jsonl`).
    pub log_key_pinned: bool,
    pub first_seq: u64,
    pub end: u64,
    pub root: Hash,
    pub head: EntryHash,
    pub registry: KeyRegistry,
    pub redactions: Vec<crate::verify::RedactionInfo>,
    /// Checks that need entries outside the archives given (a sequence that does not start at 0,
    /// a redaction whose entry comes after the last archive).
    pub not_checked: Vec<String>,
    /// Bodies that an archive still holds although a `ledger.redact` entry of the sequence
    /// removes them (the archive was made before the redaction). Not a failure: the archive is
    /// authentic. [`restore`] and [`Loaded`] apply these redactions; [`redact`] rewrites the
    /// archives without the bodies.
    pub stale_bodies: Vec<StaleBody>,
}

/// A body still held in an archive although a later entry redacts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleBody {
    /// The archive holding the body.
    pub archive: PathBuf,
    /// The seq of the redacted record.
    pub seq: u64,
    /// The seq of the `ledger.redact` entry, and the archive holding it.
    pub by: u64,
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
            // of their records (moved, not copied: 24 bytes an entry, once).
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
        verifier.push(done, line).map_err(|f| Problem { seq: f.seq, reason: f.reason })?;
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
    let end = verifier.finish_range(&mut reread).map_err(|f| Problem { seq: f.seq, reason: f.reason })?;
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

fn verify_collecting(
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

// ---- creating --------------------------------------------------------------------------------

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
    pub path: PathBuf,
    pub first_seq: u64,
    pub end: u64,
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
/// those of the entries the archives before sealed. Memory: 24 bytes an entry, as `verify`.
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
    match failure.seq {
        Some(seq) => error.with_seq(seq),
        None => error,
    }
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
fn temporary_name(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!(".{name}.{}.tmp", std::process::id()))
}

/// Lines to write: `each` calls its argument with every stored line (without its newline).
type LineFeed<'a> = dyn FnMut(&mut dyn FnMut(&[u8]) -> Result<()>) -> Result<()> + 'a;

/// Write an archive file at `path` (created new, fsync'd): the members, with the lines that
/// `lines` gives as `entries.jsonl`, which must be exactly the ones the manifest's digest names
/// (otherwise `changed` says why nothing was written).
#[allow(clippy::too_many_arguments)]
fn write_archive(
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

// ---- listing ---------------------------------------------------------------------------------

/// One file of a directory of archives.
#[derive(Debug, Clone)]
pub struct Listed {
    pub path: PathBuf,
    /// Its manifest, or why it is not a readable archive.
    pub manifest: std::result::Result<Manifest, String>,
    pub bytes: u64,
}

/// The archives of one ledger in a directory and how they chain.
#[derive(Debug, Clone)]
pub struct Chain {
    pub origin: String,
    /// The shortest run of archives from seq 0 to the largest end reachable without a gap.
    pub chain: Vec<PathBuf>,
    /// The end of that run.
    pub end: u64,
    /// The largest end of any archive.
    pub newest_end: u64,
    /// The first seq that no archive chained from 0 starts at, when the archives do not reach
    /// `newest_end` unbroken.
    pub gap: Option<u64>,
}

/// What [`list`] found.
#[derive(Debug, Clone)]
pub struct Listing {
    /// Every `*.tar` and `*.tar.zst` file, by name.
    pub archives: Vec<Listed>,
    pub chains: Vec<Chain>,
}

/// List the archives in `dir` from their manifests (their contents are not verified: that is
/// `verify`) and how they chain, per ledger.
pub fn list(dir: &Path) -> Result<Listing> {
    let listing = std::fs::read_dir(dir).map_err(|err| Error::io("list", dir, err))?;
    let mut archives = Vec::new();
    for item in listing {
        let item = item.map_err(|err| Error::io("list", dir, err))?;
        let name = item.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !(name.ends_with(".tar") || name.ends_with(".tar.zst")) {
            continue;
        }
        let path = item.path();
        let bytes = item.metadata().map(|m| m.len()).unwrap_or(0);
        let manifest = match read_head(&path) {
            Ok(Ok((manifest, _))) => Ok(manifest),
            Ok(Err(failure)) => Err(failure.reason),
            Err(err) => Err(err.to_string()),
        };
        archives.push(Listed { path, manifest, bytes });
    }
    archives.sort_by(|a, b| {
        let key = |l: &Listed| l.manifest.as_ref().map(|m| (m.origin.clone(), m.first_seq, m.end)).ok();
        key(a).cmp(&key(b)).then_with(|| a.path.cmp(&b.path))
    });
    let mut origins: Vec<String> =
        archives.iter().filter_map(|l| l.manifest.as_ref().ok().map(|m| m.origin.clone())).collect();
    origins.dedup();
    let chains = origins.into_iter().map(|origin| chain_of(&archives, origin)).collect();
    Ok(Listing { archives, chains })
}

fn chain_of(archives: &[Listed], origin: String) -> Chain {
    let ranges: Vec<(u64, u64, &Path)> = archives
        .iter()
        .filter_map(|l| {
            l.manifest.as_ref().ok().filter(|m| m.origin == origin).map(|m| (m.first_seq, m.end, l.path.as_path()))
        })
        .collect();
    // Shortest chain to each reachable end (ranges are sorted by first seq).
    let mut best: BTreeMap<u64, Vec<PathBuf>> = BTreeMap::new();
    best.insert(0, Vec::new());
    for (first, end, path) in &ranges {
        if let Some(before) = best.get(first).cloned() {
            let mut chain = before;
            chain.push(path.to_path_buf());
            let better = best.get(end).is_none_or(|known| known.len() > chain.len());
            if better {
                best.insert(*end, chain);
            }
        }
    }
    let newest_end = ranges.iter().map(|(_, end, _)| *end).max().unwrap_or(0);
    let (end, chain) = best.into_iter().next_back().unwrap_or_default();
    Chain { origin, chain, end, newest_end, gap: (end < newest_end).then_some(end) }
}

/// The archive of `origin` in `dir` that ends latest, if any.
pub fn newest(dir: &Path, origin: &str) -> Result<Option<(PathBuf, Manifest)>> {
    if !dir.exists() {
        return Ok(None);
    }
    let listing = list(dir)?;
    Ok(listing
        .archives
        .into_iter()
        .filter_map(|l| l.manifest.ok().filter(|m| m.origin == origin).map(|m| (l.path, m)))
        .max_by_key(|(_, m)| (m.end, std::cmp::Reverse(m.first_seq))))
}

// ---- restoring -------------------------------------------------------------------------------

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
    let limits = Limits::default();
    // Bodies the archives still hold although a later entry of the chain redacts them: written
    // in their redacted form, byte for byte what `lianlog redact` left in the live log.
    let redact = later_redactions(report);
    let mut segment: Option<(PathBuf, std::io::BufWriter<File>, u64)> = None;
    let mut done = 0u64;
    for archive in &report.archives {
        let (mut stream, _) = open_stream(&archive.path, &limits)?;
        let mut write_error = None;
        let checked = (|| -> Checked<()> {
            let (manifest, _) = read_head_from(&mut stream, &limits)?;
            if manifest.entries != archive.entries || manifest.first_seq != archive.first_seq {
                return Err(problem("it changed since it was verified"));
            }
            let member = expect_member(&mut stream, KEYS, &limits)?;
            read_member(&mut stream, &member, Some(&manifest.keys))?;
            // The digest check at the end of the member proves these are the verified bytes.
            for_each_entry(&mut stream, &manifest, &limits, |seq, line| {
                let line = match redact.get(&seq) {
                    Some(by) => redacted_form(&line, *by).map_err(|reason| problem_at(seq, reason))?,
                    None => line,
                };
                let result = (|| -> Result<()> {
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
                            .write_all(&line)
                            .and_then(|()| writer.write_all(b"\n"))
                            .map_err(|err| Error::io("write", path.as_path(), err))?;
                        *len += line.len() as u64 + 1;
                    }
                    Ok(())
                })();
                if let Err(err) = result {
                    write_error = Some(err);
                    return Err(problem("write failed"));
                }
                done += 1;
                if done.is_multiple_of(PROGRESS_EVERY) {
                    progress(Progress { phase: "restoring", done, total: report.end });
                }
                Ok(())
            })
            .and_then(|read| read.check(&manifest))
        })();
        if let Some(err) = write_error {
            return Err(err);
        }
        checked.map_err(|p| Error::from(p.at(&archive.path)))?;
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

/// The bodies a verified sequence still holds although a later entry redacts them: seq →
/// redacting seq.
fn later_redactions(report: &SequenceReport) -> BTreeMap<u64, u64> {
    report.stale_bodies.iter().map(|stale| (stale.seq, stale.by)).collect()
}

/// The redacted form of a stored line (`{"entry":…,"redacted":BY}`, without the newline): the
/// bytes `lianlog redact` leaves in the log. The entry, its hash and its signature are unchanged,
/// so every checkpoint and proof still holds. A line without its body is returned as it is.
fn redacted_form(line: &[u8], by: u64) -> std::result::Result<Vec<u8>, String> {
    let parsed = ParsedLine::parse(line).map_err(|e| e.to_string())?;
    if !matches!(parsed.line.body, StoredBody::Full { .. }) {
        return Ok(line.to_vec());
    }
    Ok(parsed.line.redacted_bytes(by))
}

// ---- removing redacted bodies from archives ---------------------------------------------------

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
    let limits = Limits::default();
    let source = &archive.path;
    // Stream the archive's lines, redacted, to `each`; the digest check at the end of the
    // member proves they are the verified bytes. Returns the head and the keys member.
    let stream_lines = |each: &mut dyn FnMut(&[u8]) -> Result<()>| -> Result<(Manifest, String, Vec<u8>)> {
        let (mut stream, _) = open_stream(source, &limits)?;
        let mut failed = None;
        let checked = (|| -> Checked<(Manifest, String, Vec<u8>)> {
            let (manifest, note) = read_head_from(&mut stream, &limits)?;
            if manifest.entries != archive.entries || manifest.first_seq != archive.first_seq {
                return Err(problem("it changed since it was verified"));
            }
            let member = expect_member(&mut stream, KEYS, &limits)?;
            let keys = read_member(&mut stream, &member, Some(&manifest.keys))?;
            for_each_entry(&mut stream, &manifest, &limits, |seq, line| {
                let line = match removed.get(&seq) {
                    Some(by) => redacted_form(&line, *by).map_err(|reason| problem_at(seq, reason))?,
                    None => line,
                };
                each(&line).map_err(|err| {
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
        checked.map_err(|p| Error::from(p.at(source)))
    };
    // Pass 1: the new digest of entries.jsonl.
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    let (mut manifest, note, keys) = stream_lines(&mut |line| {
        hasher.update(line);
        hasher.update(b"\n");
        bytes += line.len() as u64 + 1;
        Ok(())
    })?;
    manifest.entries = Digest { bytes, sha256: hasher.finalize().into() };
    // Pass 2: write.
    let mut feed = |sink: &mut dyn FnMut(&[u8]) -> Result<()>| stream_lines(sink).map(|_| ());
    let level = archive.compressed.then_some(DEFAULT_LEVEL);
    let changed = format!("{}: the archive changed while it was being rewritten", source.display());
    write_archive(&manifest, &note, &keys, &mut feed, &changed, path, level, progress)
}

// ---- querying archives -----------------------------------------------------------------------

/// Archives verified and loaded into memory for queries (`lianlog --archive FILE …`): every
/// stored line, and the projections replayed from them. Nothing is written anywhere.
pub struct Loaded {
    pub report: SequenceReport,
    lines: MemoryLines,
}

/// Stored lines held in memory, one buffer and an offset per line.
#[derive(Default)]
struct MemoryLines {
    bytes: Vec<u8>,
    starts: Vec<usize>,
    leaves: Vec<Hash>,
}

impl MemoryLines {
    /// Replace the lines at the seqs of `redactions` (seq → redacting seq) by their redacted
    /// form, compacting the buffer in place (a redacted line is shorter than the line with its
    /// body) and zeroing the freed tail, so that the removed bodies are not kept in memory.
    fn redact(&mut self, redactions: &BTreeMap<u64, u64>) -> Result<()> {
        let Some(first) = redactions.keys().next().and_then(|seq| usize::try_from(*seq).ok()) else { return Ok(()) };
        let Some(&from) = self.starts.get(first) else { return Ok(()) };
        let mut write = from;
        for index in first..self.starts.len() {
            let start = self.starts[index];
            let end = self.starts.get(index + 1).copied().unwrap_or(self.bytes.len());
            self.starts[index] = write;
            match redactions.get(&(index as u64)) {
                Some(by) => {
                    let seq = index as u64;
                    let new = redacted_form(&self.bytes[start..end], *by)
                        .map_err(|reason| Error::verification(format!("seq {seq}: {reason}")).with_seq(seq))?;
                    if new.len() > end - start {
                        return Err(Error::verification(format!(
                            "seq {seq}: the redacted line is longer than the line"
                        )));
                    }
                    self.bytes[write..write + new.len()].copy_from_slice(&new);
                    write += new.len();
                }
                None => {
                    self.bytes.copy_within(start..end, write);
                    write += end - start;
                }
            }
        }
        self.bytes[write..].fill(0);
        self.bytes.truncate(write);
        Ok(())
    }

    fn get(&self, seq: u64) -> Option<&[u8]> {
        let index = usize::try_from(seq).ok()?;
        let start = *self.starts.get(index)?;
        let end = self.starts.get(index + 1).copied().unwrap_or(self.bytes.len());
        self.bytes.get(start..end)
    }
}

impl crate::query::LineSource for MemoryLines {
    fn line(&self, seq: u64) -> Result<ParsedLine> {
        let bytes =
            self.get(seq).ok_or_else(|| Error::bad_input(format!("there is no entry {seq} in the archives")))?;
        ParsedLine::parse(bytes).map_err(|e| Error::verification(format!("seq {seq}: {e}")))
    }
}

impl crate::projection::LedgerFacts for MemoryLines {
    fn entry(&self, seq: u64) -> Result<Option<crate::projection::FactEntry>> {
        if self.get(seq).is_none() {
            return Ok(None);
        }
        let line = crate::query::LineSource::line(self, seq)?;
        let record = &line.line.entry.record;
        Ok(Some(crate::projection::FactEntry {
            hash: line.entry_hash,
            kind: record.kind.clone(),
            v: record.v,
            body: line.line.body().cloned(),
        }))
    }

    fn root_at(&self, size: u64) -> Result<Option<[u8; 32]>> {
        // Rare (attestations only): O(size) from the leaves.
        let Some(leaves) = usize::try_from(size).ok().and_then(|n| self.leaves.get(..n)) else { return Ok(None) };
        let mut tree = CompactRange::new();
        for leaf in leaves {
            tree.append(*leaf).map_err(|e| Error::bad_input(e.to_string()))?;
        }
        Ok(Some(tree.root()))
    }
}

impl Loaded {
    /// Verify `paths` as a sequence from seq 0 and hold their lines in memory.
    pub fn open(paths: &[PathBuf], options: &ArchiveOptions, progress: &mut dyn FnMut(Progress)) -> Result<Loaded> {
        let mut lines = MemoryLines::default();
        let report = verify_collecting(paths, options, progress, &mut |_, line| {
            lines.starts.push(lines.bytes.len());
            lines.bytes.extend_from_slice(line);
        })?
        .map_err(Error::from)?;
        if report.first_seq != 0 {
            return Err(Error::bad_input(format!(
                "the archives start at seq {}: queries need the full archive (from seq 0) and every archive after it",
                report.first_seq
            )));
        }
        // Bodies that a later archive redacts are never answered: their lines take the
        // redacted form, as in the live ledger (and the replacement body, if any, is shown).
        lines.redact(&later_redactions(&report))?;
        lines.leaves = (0..report.end)
            .map(|seq| crate::query::LineSource::line(&lines, seq).map(|line| line.entry_hash.0))
            .collect::<Result<Vec<_>>>()?;
        Ok(Loaded { report, lines })
    }

    /// The number of entries the archives hold.
    pub fn size(&self) -> u64 {
        self.report.end
    }

    /// The projection state after the first `end` entries.
    pub fn as_of(&self, end: u64) -> Result<PastState> {
        if end == 0 || end > self.report.end {
            return Err(Error::bad_input(format!(
                "as of {end} entries: the archives hold {} entries (seq 0..{})",
                self.report.end,
                self.report.end.saturating_sub(1)
            )));
        }
        // Redacted records are projected from their replacement bodies, as in the ledger.
        let mut scan = crate::replacement::ReplacementScan::default();
        for seq in 0..self.report.end {
            scan.add(&crate::query::LineSource::line(&self.lines, seq)?);
        }
        let replacements = scan.finish();
        let lines = (0..end).map(|seq| crate::query::LineSource::line(&self.lines, seq));
        replay_projections(lines, &self.lines, &replacements)
    }

    /// The number of entries sequenced by the end of `date` in China (UTC+8).
    pub fn entries_until(&self, date: crate::time::Date) -> Result<u64> {
        let limit = date.end_of_day_china();
        let (mut low, mut high) = (0u64, self.report.end);
        while low < high {
            let middle = low + (high - low) / 2;
            if self.line(middle)?.line.entry.time <= limit {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        Ok(low)
    }

    /// The stored line at `seq`.
    pub fn line(&self, seq: u64) -> Result<ParsedLine> {
        crate::query::LineSource::line(&self.lines, seq)
    }

    /// Where queries over [`Loaded::as_of`] read their lines.
    pub fn lines(&self) -> &dyn crate::query::LineSource {
        &self.lines
    }
}
