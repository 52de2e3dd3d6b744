//! Reading an archive as a stream, in memory, never extracted: a plain or zstd-compressed ustar
//! file whose decompressed size is bounded by [`Limits`], members in their fixed order, each
//! small member checked against the manifest's digest, `entries.jsonl` streamed line by line
//! with its digest checked at its end.

use std::fs::File;
use std::io::{BufRead as _, BufReader, Read};
use std::path::Path;

use sha2::{Digest as _, Sha256};

use super::manifest::{Digest, Manifest};
use super::{
    ArchiveFailure, CHECKPOINT, Checked, ENTRIES, Limits, MANIFEST, MEMBERS, ZSTD_MAGIC, ZSTD_WINDOW_LOG_MAX, problem,
    problem_at, ustar,
};
use crate::encoding::hex;
use crate::error::{Error, Result};
use crate::merkle::Hash;

/// Counts the bytes read from the (decompressed) stream and refuses to go past a bound, so that
/// a small file cannot make the reader process an unbounded stream.
pub(super) struct Bounded<R> {
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

pub(super) type Stream = ustar::Reader<Bounded<Box<dyn Read>>>;

/// Open an archive for reading: a plain or zstd-compressed stream, bounded.
pub(super) fn open_stream(path: &Path, limits: &Limits) -> Result<(Stream, bool)> {
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
pub(super) fn expect_member(stream: &mut Stream, expected: &str, limits: &Limits) -> Checked<ustar::Member> {
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
pub(super) fn read_member(stream: &mut Stream, member: &ustar::Member, digest: Option<&Digest>) -> Checked<Vec<u8>> {
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

pub(super) fn sha256(bytes: &[u8]) -> Hash {
    Sha256::digest(bytes).into()
}

/// The manifest and checkpoint of an archive: its first two members, without reading the rest.
pub fn read_head(path: &Path) -> Result<std::result::Result<(Manifest, String), ArchiveFailure>> {
    let limits = Limits::default();
    let (mut stream, _) = open_stream(path, &limits)?;
    Ok(read_head_from(&mut stream, &limits).map_err(|p| p.at(path)))
}

pub(super) fn read_head_from(stream: &mut Stream, limits: &Limits) -> Checked<(Manifest, String)> {
    let member = expect_member(stream, MANIFEST, limits)?;
    let manifest = Manifest::parse(&read_member(stream, &member, None)?).map_err(problem)?;
    let member = expect_member(stream, CHECKPOINT, limits)?;
    let checkpoint = read_member(stream, &member, Some(&manifest.checkpoint))?;
    let checkpoint = String::from_utf8(checkpoint).map_err(|_| problem("member checkpoint: not UTF-8 text"))?;
    Ok((manifest, checkpoint))
}

/// Stream the lines of `entries.jsonl` to `each` (seq, line without newline), checking the
/// member's size and digest at the end. `stream` must stand just before the member.
pub(super) fn for_each_entry(
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
pub(super) struct EntriesRead {
    bytes: u64,
    sha256: Hash,
    end: u64,
}

impl EntriesRead {
    pub(super) fn check(&self, manifest: &Manifest) -> Checked<()> {
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
