//! The record of truth: append-only segment files of stored lines, made durable before any
//! append is acknowledged.
//!
//! Layout: `DIR/log/<first seq, 20 digits>.jsonl`, each line one stored line (format-v1 section 6),
//! so that the concatenation of the segments *is* the export. Guarantees:
//! - [`SegmentLog::append_durable`] returns only after `write_all` and `sync_data` (and a directory
//!   fsync when it created a segment), so an acknowledged line survives a crash or power loss;
//! - a batch is one `write` and one `sync_data`; a crash in the middle of it is undone on the
//!   next open (see `ledger.rs`, the import intent), never half-visible;
//! - a torn tail — bytes after the last newline, or a last line that does not parse — can only be
//!   an unacknowledged write; [`SegmentLog::repair_tail`] cuts it off and says what it cut;
//! - readers never see a line that lacks its newline;
//! - bytes cut from the log (a torn tail, an interrupted batch) are first saved durably beside it
//!   (`log/torn-*.bin`, `log/interrupted-*.bin`: [`SegmentLog::saved_cuts`]), never lost;
//! - every file is opened through [`crate::fsio`] without following links: a segment that is a
//!   symbolic link is refused, so a rewrite never leaves a copy outside the ledger directory;
//! - a reader can be bounded ([`SegmentLog::limit_to`]) so that a process which may not repair
//!   the log (a read-only command) reads only what a writer would keep.

use std::fs::File;
use std::io::{BufRead as _, BufReader, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::fsio;

/// A new segment is started once the current one reaches this size.
pub(crate) const SEGMENT_TARGET_BYTES: u64 = 256 << 20;

/// Where a stored line begins: the segment (named by its first seq) and the byte offset in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub segment: u64,
    pub offset: u64,
}

impl Position {
    pub fn to_bytes(self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.segment.to_be_bytes());
        out[8..].copy_from_slice(&self.offset.to_be_bytes());
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<Position> {
        let bytes: &[u8; 16] = bytes.try_into().ok()?;
        let (segment, offset) = bytes.split_at(8);
        Some(Position {
            segment: u64::from_be_bytes(segment.try_into().ok()?),
            offset: u64::from_be_bytes(offset.try_into().ok()?),
        })
    }
}

#[derive(Debug, Clone)]
struct Segment {
    first_seq: u64,
    path: PathBuf,
}

/// The segment files of one ledger.
#[derive(Debug)]
pub(crate) struct SegmentLog {
    dir: PathBuf,
    segments: Vec<Segment>,
    /// Open for appending when this process is the writer.
    writer: Option<(File, u64)>,
    /// Readers stop here (set by a process that leaves a torn tail or an interrupted batch for
    /// a writer to cut).
    limit: Option<Position>,
    /// Segment files kept open for [`SegmentLog::read_line_at`] (a dossier reads a line per
    /// record, and opening the file was a sixth of it): the few read last, by segment number.
    /// [`SegmentLog::replace_line`] forgets them, since it renames a new file over a segment.
    open_for_reads: crate::recent::Recent<std::sync::Arc<File>>,
}

/// Segment files [`SegmentLog::read_line_at`] keeps open.
const OPEN_FOR_READS: usize = 4;

/// What [`SegmentLog::repair_tail`] removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TailRepair {
    pub segment: PathBuf,
    pub cut_bytes: u64,
    pub reason: String,
    /// Where the cut bytes were saved.
    pub saved: PathBuf,
}

impl SegmentLog {
    pub(crate) fn segment_dir(ledger_dir: &Path) -> PathBuf {
        ledger_dir.join("log")
    }

    /// Create the (empty) segment directory of a new ledger.
    pub fn create(ledger_dir: &Path) -> Result<SegmentLog> {
        let dir = Self::segment_dir(ledger_dir);
        fsio::create_private_dir(&dir)?;
        Ok(SegmentLog {
            dir,
            segments: Vec::new(),
            writer: None,
            limit: None,
            open_for_reads: crate::recent::Recent::new(OPEN_FOR_READS),
        })
    }

    /// List the segments of an existing ledger (read-only until [`SegmentLog::open_writer`]).
    pub fn open(ledger_dir: &Path) -> Result<SegmentLog> {
        let dir = Self::segment_dir(ledger_dir);
        fsio::refuse_link(&dir)?;
        let listing = std::fs::read_dir(&dir).map_err(|err| {
            if err.kind() == std::io::ErrorKind::NotFound {
                Error::verification(format!(
                    "the log directory {} is missing: the ledger is damaged and its records are not here; restore \
                     it from an archive (`lianlog snapshot restore`)",
                    dir.display()
                ))
            } else {
                Error::io("list segments in", &dir, err)
            }
        })?;
        let mut segments = Vec::new();
        for item in listing {
            let item = item.map_err(|err| Error::io("list segments in", &dir, err))?;
            let name = item.file_name().to_string_lossy().into_owned();
            let Some(stem) = name.strip_suffix(".jsonl") else { continue };
            let Ok(first_seq) = stem.parse::<u64>() else { continue };
            if stem.len() != 20 {
                continue;
            }
            // A link would make a rewrite (redaction) replace the link and keep the body in its
            // target, outside the ledger directory.
            if item.file_type().is_ok_and(|t| t.is_symlink()) {
                return Err(fsio::link_refused(&item.path()));
            }
            segments.push(Segment { first_seq, path: item.path() });
        }
        segments.sort_by_key(|s| s.first_seq);
        Ok(SegmentLog {
            dir,
            segments,
            writer: None,
            limit: None,
            open_for_reads: crate::recent::Recent::new(OPEN_FOR_READS),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    fn segment_path(&self, first_seq: u64) -> PathBuf {
        self.dir.join(format!("{first_seq:020}.jsonl"))
    }

    fn segment(&self, first_seq: u64) -> Result<&Segment> {
        self.segments.iter().find(|s| s.first_seq == first_seq).ok_or_else(|| {
            Error::verification(format!("segment {first_seq:020}.jsonl is missing from {}", self.dir.display()))
        })
    }

    /// Make readers stop at `position` (a read-only process leaving a repair to a writer).
    pub(crate) fn limit_to(&mut self, position: Position) {
        self.limit = Some(position);
    }

    /// Whether a limit ([`SegmentLog::limit_to`]) leaves bytes of the log unread: the last
    /// segment is longer now than the limit, or the limit is in an earlier segment.
    pub(crate) fn cut_short(&self) -> Result<bool> {
        let (Some(limit), Some(last)) = (self.limit, self.segments.last()) else { return Ok(false) };
        if limit.segment != last.first_seq {
            return Ok(true);
        }
        let len = std::fs::symlink_metadata(&last.path).map_err(|err| Error::io("read", &last.path, err))?.len();
        Ok(len > limit.offset)
    }

    /// The first seq of the last segment, if any.
    pub fn last_segment(&self) -> Option<u64> {
        self.segments.last().map(|s| s.first_seq)
    }

    /// The length in bytes of segment `first_seq`.
    pub(crate) fn segment_len(&self, first_seq: u64) -> Result<u64> {
        let path = &self.segment(first_seq)?.path;
        std::fs::symlink_metadata(path).map(|m| m.len()).map_err(|err| Error::io("read", path, err))
    }

    /// The position just after the last byte of the log.
    pub fn end(&self) -> Result<Position> {
        if let Some(limit) = self.limit {
            return Ok(limit);
        }
        match self.segments.last() {
            None => Ok(Position { segment: 0, offset: 0 }),
            Some(last) => {
                let len =
                    std::fs::symlink_metadata(&last.path).map_err(|err| Error::io("read", &last.path, err))?.len();
                Ok(Position { segment: last.first_seq, offset: len })
            }
        }
    }

    /// Open the last segment for appending. Call [`SegmentLog::repair_tail`] first.
    pub(crate) fn open_writer(&mut self) -> Result<()> {
        if self.limit.is_some() {
            return Err(Error::new(crate::ErrorKind::Io, "the log was opened read-only and is not open for writing"));
        }
        if let Some(last) = self.segments.last() {
            let file = fsio::open_write_in_ledger(&last.path, true)?;
            let len = file.metadata().map_err(|err| Error::io("read", &last.path, err))?.len();
            self.writer = Some((file, len));
        }
        Ok(())
    }

    /// Append `bytes` (whole stored lines) durably, starting a new segment named `next_seq` when
    /// the current one is full or there is none. Returns where the bytes begin.
    pub(crate) fn append_durable(&mut self, bytes: &[u8], next_seq: u64) -> Result<Position> {
        if self.writer.is_none() && (self.limit.is_some() || !self.segments.is_empty()) {
            return Err(Error::new(crate::ErrorKind::Io, "the log was opened read-only and is not open for writing"));
        }
        let needs_segment = match &self.writer {
            None => true,
            Some((_, len)) => *len >= SEGMENT_TARGET_BYTES,
        };
        if needs_segment {
            let path = self.segment_path(next_seq);
            fsio::create_new(&path)?.sync_all().map_err(|err| Error::io("sync", &path, err))?;
            fsio::sync_dir(&self.dir)?;
            // Appending mode, so that a write cut back after a failure leaves no hole.
            let file = fsio::open_write_in_ledger(&path, true)?;
            self.segments.push(Segment { first_seq: next_seq, path });
            self.writer = Some((file, 0));
        }
        let segment = self.segments.last().map(|s| s.first_seq).unwrap_or(next_seq);
        let path = self.segment_path(segment);
        let Some((file, len)) = self.writer.as_mut() else {
            return Err(Error::new(crate::ErrorKind::Io, "the log is not open for writing"));
        };
        let start = Position { segment, offset: *len };
        if let Err(err) = file.write_all(bytes).and_then(|()| file.sync_data()) {
            // Leave no partial bytes behind: cut back to where this append began.
            let _ = file.set_len(start.offset);
            let _ = file.sync_data();
            return Err(Error::io("append to", &path, err));
        }
        *len += bytes.len() as u64;
        Ok(start)
    }

    /// Cut the log back to `position` (used to undo an interrupted batch), first saving the cut
    /// bytes durably in `log/interrupted-<segment>-<offset>.bin`. Returns where they were saved.
    pub fn truncate(&mut self, position: Position) -> Result<PathBuf> {
        let path = self.segment(position.segment)?.path.clone();
        let file = fsio::open_write_in_ledger(&path, false)?;
        let saved = self.save_cut(&file, &path, position.offset, "interrupted")?;
        file.set_len(position.offset).map_err(|err| Error::io("truncate", &path, err))?;
        file.sync_all().map_err(|err| Error::io("sync", &path, err))?;
        if let Some((_, len)) = self.writer.as_mut() {
            *len = position.offset;
        }
        Ok(saved)
    }

    /// Save the bytes of `file` (the segment at `path`) from `from` to its end, durably, in a new
    /// file `log/<what>-<segment>-<from>.bin`, before they are cut.
    fn save_cut(&self, file: &File, path: &Path, from: u64, what: &str) -> Result<PathBuf> {
        use std::os::unix::fs::FileExt as _;
        let len = file.metadata().map_err(|err| Error::io("read", path, err))?.len();
        let mut cut = vec![0u8; len.saturating_sub(from) as usize];
        file.read_exact_at(&mut cut, from).map_err(|err| Error::io("read", path, err))?;
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let first_seq = stem.parse::<u64>().unwrap_or_default();
        let saved = fsio::unused_name(&self.dir.join(format!("{what}-{first_seq}-{from}.bin")));
        fsio::publish_bytes(&saved, false, &cut)?;
        Ok(saved)
    }

    /// The files in which cut bytes were saved (`torn-*.bin`, `interrupted-*.bin`), which a
    /// redaction must rewrite too.
    pub(crate) fn saved_cuts(&self) -> Result<Vec<PathBuf>> {
        let listing = std::fs::read_dir(&self.dir).map_err(|err| Error::io("list", &self.dir, err))?;
        let mut saved = Vec::new();
        for item in listing {
            let item = item.map_err(|err| Error::io("list", &self.dir, err))?;
            let name = item.file_name().to_string_lossy().into_owned();
            if (name.starts_with("torn-") || name.starts_with("interrupted-")) && name.contains(".bin") {
                saved.push(item.path());
            }
        }
        saved.sort();
        Ok(saved)
    }

    /// Where a torn tail of the last segment begins and why, without changing anything: bytes
    /// after its last newline, and then a last line that `is_valid_line` rejects. Both can only
    /// be a write that was never acknowledged.
    pub fn torn_tail(&self, is_valid_line: impl Fn(&[u8]) -> bool) -> Result<Option<(Position, String)>> {
        let Some(last) = self.segments.last().cloned() else { return Ok(None) };
        let mut file = fsio::open_read_in_ledger(&last.path)?;
        let len = file.metadata().map_err(|err| Error::io("read", &last.path, err))?.len();
        let window = len.min(2 * crate::limits::MAX_LINE_BYTES as u64 + 2);
        let mut tail = vec![0u8; window as usize];
        file.seek(SeekFrom::Start(len - window)).map_err(|err| Error::io("read", &last.path, err))?;
        file.read_exact(&mut tail).map_err(|err| Error::io("read", &last.path, err))?;
        let mut keep = len;
        let mut reason = String::new();
        let last_newline = tail.iter().rposition(|&b| b == b'\n');
        let complete_end = match last_newline {
            Some(index) => len - window + index as u64 + 1,
            None if window == len => 0,
            None => {
                return Err(Error::verification(format!(
                    "{}: last line is longer than the line limit",
                    last.path.display()
                )));
            }
        };
        if complete_end < len {
            keep = complete_end;
            reason = format!("{} bytes after the last newline (an unfinished write)", len - complete_end);
        }
        if keep > 0 {
            let end_in_tail = (keep - (len - window)) as usize;
            let body = &tail[..end_in_tail - 1];
            let start = body.iter().rposition(|&b| b == b'\n').map(|i| i + 1);
            let start = match start {
                Some(start) => start,
                None if window == len => 0,
                None => return Ok(None),
            };
            if !is_valid_line(&body[start..]) {
                keep = len - window + start as u64;
                reason = "a last line that does not parse (an unfinished write)".into();
            }
        }
        if keep == len {
            return Ok(None);
        }
        Ok(Some((Position { segment: last.first_seq, offset: keep }, reason)))
    }

    /// Cut off a torn tail of the last segment ([`SegmentLog::torn_tail`]), saving the cut bytes
    /// durably beside the log first (`log/torn-<segment>-<offset>.bin`), for anyone who wants to
    /// see what the unacknowledged write held.
    pub(crate) fn repair_tail(&mut self, is_valid_line: impl Fn(&[u8]) -> bool) -> Result<Option<TailRepair>> {
        let Some((keep, reason)) = self.torn_tail(is_valid_line)? else { return Ok(None) };
        let path = self.segment(keep.segment)?.path.clone();
        let file = fsio::open_write_in_ledger(&path, false)?;
        let len = file.metadata().map_err(|err| Error::io("read", &path, err))?.len();
        let saved = self.save_cut(&file, &path, keep.offset, "torn")?;
        file.set_len(keep.offset).map_err(|err| Error::io("truncate", &path, err))?;
        file.sync_all().map_err(|err| Error::io("sync", &path, err))?;
        Ok(Some(TailRepair { segment: path, cut_bytes: len - keep.offset, reason, saved }))
    }

    /// Read complete lines from `from` to the end of the log, across segments.
    pub fn lines_from(&self, from: Position) -> Result<LineReader> {
        let index = if self.segments.is_empty() {
            0
        } else {
            self.segments
                .iter()
                .position(|s| s.first_seq == from.segment)
                .ok_or_else(|| Error::verification(format!("segment {:020}.jsonl is missing", from.segment)))?
        };
        let mut segments = self.segments.clone();
        let mut stop = None;
        if let Some(limit) = self.limit {
            if let Some(last) = segments.iter().position(|s| s.first_seq == limit.segment) {
                segments.truncate(last + 1);
            }
            stop = Some(limit.offset);
        }
        Ok(LineReader { segments, index, offset: from.offset, reader: None, torn_tail: false, stop })
    }

    /// Replace the line at `position` (whose current bytes, without the newline, are `old`) by
    /// `new` (without the newline), crash-safely: the segment is copied with the change into a
    /// temporary file, which is fsync'd and renamed over the segment, and the directory fsync'd.
    /// A crash leaves either the old segment or the new one, never a mix.
    pub(crate) fn replace_line(&mut self, position: Position, old: &[u8], new: &[u8]) -> Result<()> {
        let segment = self.segment(position.segment)?.clone();
        let current = self.read_line_at(position)?;
        if current != old {
            return Err(Error::verification(format!(
                "{}: the line at offset {} is not the one to replace",
                segment.path.display(),
                position.offset
            )));
        }
        let mut source = fsio::open_read_in_ledger(&segment.path)?;
        fsio::publish(&segment.path, true, |target| {
            let mut copy = || -> std::io::Result<()> {
                std::io::copy(&mut (&mut source).take(position.offset), target)?;
                target.write_all(new)?;
                target.write_all(b"\n")?;
                source.seek(SeekFrom::Start(position.offset + old.len() as u64 + 1))?;
                std::io::copy(&mut source, target)?;
                Ok(())
            };
            copy().map_err(|err| Error::io("rewrite", &segment.path, err))
        })?;
        // Handles kept for reads point at the replaced file: forget them.
        self.open_for_reads.clear();
        // The writer's handle points at the replaced file: reopen it.
        if self.writer.is_some() && self.segments.last().map(|s| s.first_seq) == Some(segment.first_seq) {
            self.open_writer()?;
        }
        Ok(())
    }

    /// The byte at `position`, or `None` past the end of its segment.
    pub(crate) fn byte_at(&self, position: Position) -> Result<Option<u8>> {
        use std::os::unix::fs::FileExt as _;
        let segment = self.segment(position.segment)?;
        let file = fsio::open_read_in_ledger(&segment.path)?;
        let mut byte = [0u8; 1];
        match file.read_exact_at(&mut byte, position.offset) {
            Ok(()) => Ok(Some(byte[0])),
            Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
            Err(err) => Err(Error::io("read", &segment.path, err)),
        }
    }

    /// Read the one line that starts at `position`: positioned reads (`pread`) of 1 KiB (most
    /// lines are shorter: copying more was a tenth of a dossier) and
    /// then of twice as much again until the newline, from a file kept open.
    pub(crate) fn read_line_at(&self, position: Position) -> Result<Vec<u8>> {
        use std::os::unix::fs::FileExt as _;
        let segment = self.segment(position.segment)?;
        let file = self.file_for_reads(position.segment, &segment.path)?;
        let limit = crate::limits::MAX_LINE_BYTES + 1;
        let mut line = Vec::new();
        let mut want = 1024usize;
        loop {
            let start = line.len();
            line.resize(start + want, 0);
            let read = loop {
                match file.read_at(&mut line[start..], position.offset + start as u64) {
                    Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                    other => break other.map_err(|err| Error::io("read", &segment.path, err))?,
                }
            };
            line.truncate(start + read);
            if let Some(end) = memchr::memchr(b'\n', &line[start..]) {
                line.truncate(start + end);
                return Ok(line);
            }
            if read == 0 || line.len() >= limit {
                return Err(Error::verification(format!(
                    "{}: no complete line at offset {}",
                    segment.path.display(),
                    position.offset
                )));
            }
            want = (want * 2).min(limit - line.len());
        }
    }

    /// Segment `number`'s file, opened for reading (and kept among the few kept open).
    fn file_for_reads(&self, number: u64, path: &std::path::Path) -> Result<std::sync::Arc<File>> {
        self.open_for_reads.get_or_make(number, || Ok(std::sync::Arc::new(fsio::open_read_in_ledger(path)?)))
    }
}

/// Streams lines in order, with large sequential reads.
pub(crate) struct LineReader {
    segments: Vec<Segment>,
    index: usize,
    offset: u64,
    reader: Option<BufReader<File>>,
    torn_tail: bool,
    /// Where reading stops in the last segment (see [`SegmentLog::limit_to`]).
    stop: Option<u64>,
}

impl LineReader {
    /// Whether the log ended with bytes that are not yet a complete line (a write in progress).
    pub(crate) fn saw_torn_tail(&self) -> bool {
        self.torn_tail
    }
}

impl Iterator for LineReader {
    /// The position where the line starts and its bytes without the newline.
    type Item = Result<(Position, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let segment = self.segments.get(self.index)?;
            if self.reader.is_none() {
                let opened = fsio::open_read_in_ledger(&segment.path).and_then(|mut file| {
                    file.seek(SeekFrom::Start(self.offset)).map_err(|err| Error::io("read", &segment.path, err))?;
                    Ok(BufReader::with_capacity(1 << 20, file))
                });
                match opened {
                    Ok(reader) => self.reader = Some(reader),
                    Err(err) => return Some(Err(err)),
                }
            }
            let last = self.index + 1 == self.segments.len();
            let budget = match self.stop {
                Some(stop) if last => stop.saturating_sub(self.offset).min(crate::limits::MAX_LINE_BYTES as u64 + 1),
                _ => crate::limits::MAX_LINE_BYTES as u64 + 1,
            };
            let reader = self.reader.as_mut()?;
            let mut line = Vec::with_capacity(1024);
            let read = reader.by_ref().take(budget).read_until(b'\n', &mut line);
            match read {
                Err(err) => return Some(Err(Error::io("read", &segment.path, err))),
                Ok(0) => {}
                Ok(n) if line.last() == Some(&b'\n') => {
                    let position = Position { segment: segment.first_seq, offset: self.offset };
                    self.offset += n as u64;
                    line.pop();
                    return Some(Ok((position, line)));
                }
                Ok(n) if n > crate::limits::MAX_LINE_BYTES => {
                    return Some(Err(Error::verification(format!(
                        "{}: line at offset {} is longer than {} bytes",
                        segment.path.display(),
                        self.offset,
                        crate::limits::MAX_LINE_BYTES
                    ))));
                }
                Ok(_) if last && self.stop.is_some() => {
                    // Stopped at the limit: what follows is left for a writer to repair.
                    if !line.is_empty() {
                        self.torn_tail = true;
                    }
                }
                Ok(_) => {
                    // Bytes without a newline: only legal at the very end of the log.
                    if self.index + 1 < self.segments.len() {
                        return Some(Err(Error::verification(format!(
                            "{}: ends without a newline but is not the last segment",
                            segment.path.display()
                        ))));
                    }
                    self.torn_tail = true;
                }
            }
            self.index += 1;
            self.offset = 0;
            self.reader = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines shorter and longer than the first read (1 KiB), and exactly at its edges, read back
    /// whole; a line replaced (a redaction renames a new file over the segment) reads as the new
    /// line through the handles kept open; a line without its newline is refused.
    #[test]
    fn lines_read_whole_at_any_length_and_replaced_lines_read_new() {
        let temp = tempfile::tempdir().unwrap();
        let mut log = SegmentLog::create(temp.path()).unwrap();
        log.open_writer().unwrap();
        let lengths = [0usize, 1, 1022, 1023, 1024, 1025, 2047, 2048, 5000, 70_000];
        let lines: Vec<Vec<u8>> = lengths.iter().map(|n| (0..*n).map(|i| b'a' + (i % 26) as u8).collect()).collect();
        let mut positions = Vec::new();
        for (seq, line) in lines.iter().enumerate() {
            let mut bytes = line.clone();
            bytes.push(b'\n');
            positions.push(log.append_durable(&bytes, seq as u64).unwrap());
        }
        for (line, position) in lines.iter().zip(&positions) {
            assert_eq!(&log.read_line_at(*position).unwrap(), line, "length {}", line.len());
        }
        let new = vec![b'z'; 1025];
        log.replace_line(positions[5], &lines[5], &new).unwrap();
        assert_eq!(log.read_line_at(positions[5]).unwrap(), new);
        assert_eq!(log.read_line_at(positions[6]).unwrap(), lines[6]);

        // A torn last line: no newline at the end of the segment.
        log.append_durable(b"torn", lines.len() as u64).unwrap();
        let end = log.end().unwrap();
        let torn = Position { segment: end.segment, offset: end.offset - 4 };
        let err = log.read_line_at(torn).unwrap_err();
        assert!(err.to_string().contains("no complete line"), "{err}");
    }
}
