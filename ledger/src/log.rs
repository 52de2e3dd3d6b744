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
//! - readers never see a line that lacks its newline.

use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A new segment is started once the current one reaches this size.
pub const SEGMENT_TARGET_BYTES: u64 = 256 << 20;

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
pub struct SegmentLog {
    dir: PathBuf,
    segments: Vec<Segment>,
    /// Open for appending when this process is the writer.
    writer: Option<(File, u64)>,
}

/// What [`SegmentLog::repair_tail`] removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TailRepair {
    pub segment: PathBuf,
    pub cut_bytes: u64,
    pub reason: String,
    /// Where the cut bytes were saved.
    pub saved: PathBuf,
}

impl SegmentLog {
    pub fn segment_dir(ledger_dir: &Path) -> PathBuf {
        ledger_dir.join("log")
    }

    /// Create the (empty) segment directory of a new ledger.
    pub fn create(ledger_dir: &Path) -> Result<SegmentLog> {
        let dir = Self::segment_dir(ledger_dir);
        std::fs::create_dir(&dir).map_err(|err| Error::io("create directory", &dir, err))?;
        sync_directory(ledger_dir)?;
        Ok(SegmentLog { dir, segments: Vec::new(), writer: None })
    }

    /// List the segments of an existing ledger (read-only until [`SegmentLog::open_writer`]).
    pub fn open(ledger_dir: &Path) -> Result<SegmentLog> {
        let dir = Self::segment_dir(ledger_dir);
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
            segments.push(Segment { first_seq, path: item.path() });
        }
        segments.sort_by_key(|s| s.first_seq);
        Ok(SegmentLog { dir, segments, writer: None })
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

    /// The position just after the last byte of the log.
    pub fn end(&self) -> Result<Position> {
        match self.segments.last() {
            None => Ok(Position { segment: 0, offset: 0 }),
            Some(last) => {
                let len = std::fs::metadata(&last.path).map_err(|err| Error::io("read", &last.path, err))?.len();
                Ok(Position { segment: last.first_seq, offset: len })
            }
        }
    }

    /// Open the last segment for appending. Call [`SegmentLog::repair_tail`] first.
    pub fn open_writer(&mut self) -> Result<()> {
        if let Some(last) = self.segments.last() {
            let file = OpenOptions::new()
                .append(true)
                .open(&last.path)
                .map_err(|err| Error::io("open for appending", &last.path, err))?;
            let len = file.metadata().map_err(|err| Error::io("read", &last.path, err))?.len();
            self.writer = Some((file, len));
        }
        Ok(())
    }

    /// Append `bytes` (whole stored lines) durably, starting a new segment named `next_seq` when
    /// the current one is full or there is none. Returns where the bytes begin.
    pub fn append_durable(&mut self, bytes: &[u8], next_seq: u64) -> Result<Position> {
        let needs_segment = match &self.writer {
            None => true,
            Some((_, len)) => *len >= SEGMENT_TARGET_BYTES,
        };
        if needs_segment {
            let path = self.segment_path(next_seq);
            let file = OpenOptions::new()
                .append(true)
                .create_new(true)
                .open(&path)
                .map_err(|err| Error::io("create segment", &path, err))?;
            file.sync_all().map_err(|err| Error::io("sync", &path, err))?;
            sync_directory(&self.dir)?;
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

    /// Cut the log back to `position` (used to undo an interrupted batch).
    pub fn truncate(&mut self, position: Position) -> Result<()> {
        let path = self.segment(position.segment)?.path.clone();
        let file = OpenOptions::new().write(true).open(&path).map_err(|err| Error::io("open", &path, err))?;
        file.set_len(position.offset).map_err(|err| Error::io("truncate", &path, err))?;
        file.sync_all().map_err(|err| Error::io("sync", &path, err))?;
        if let Some((_, len)) = self.writer.as_mut() {
            *len = position.offset;
        }
        Ok(())
    }

    /// Cut off a torn tail of the last segment: bytes after its last newline, and then a last
    /// line that `is_valid_line` rejects. Both can only be a write that was never acknowledged.
    pub fn repair_tail(&mut self, is_valid_line: impl Fn(&[u8]) -> bool) -> Result<Option<TailRepair>> {
        let Some(last) = self.segments.last().cloned() else { return Ok(None) };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&last.path)
            .map_err(|err| Error::io("open", &last.path, err))?;
        let len = file.metadata().map_err(|err| Error::io("read", &last.path, err))?.len();
        let window = len.min(2 * crate::record::MAX_LINE_BYTES as u64 + 2);
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
        // Keep what is cut beside the log, for anyone who wants to look at it.
        let mut cut = Vec::new();
        file.seek(SeekFrom::Start(keep)).map_err(|err| Error::io("read", &last.path, err))?;
        file.read_to_end(&mut cut).map_err(|err| Error::io("read", &last.path, err))?;
        let saved = self.dir.join(format!("torn-{}-{}.bin", last.first_seq, keep));
        std::fs::write(&saved, &cut).map_err(|err| Error::io("save the torn tail to", &saved, err))?;
        file.set_len(keep).map_err(|err| Error::io("truncate", &last.path, err))?;
        file.sync_all().map_err(|err| Error::io("sync", &last.path, err))?;
        Ok(Some(TailRepair { segment: last.path, cut_bytes: len - keep, reason, saved }))
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
        Ok(LineReader { segments: self.segments.clone(), index, offset: from.offset, reader: None, torn_tail: false })
    }

    /// Replace the line at `position` (whose current bytes, without the newline, are `old`) by
    /// `new` (without the newline), crash-safely: the segment is copied with the change into a
    /// temporary file, which is fsync'd and renamed over the segment, and the directory fsync'd.
    /// A crash leaves either the old segment or the new one, never a mix.
    pub fn replace_line(&mut self, position: Position, old: &[u8], new: &[u8]) -> Result<()> {
        let segment = self.segment(position.segment)?.clone();
        let current = self.read_line_at(position)?;
        if current != old {
            return Err(Error::verification(format!(
                "{}: the line at offset {} is not the one to replace",
                segment.path.display(),
                position.offset
            )));
        }
        let temporary = self.dir.join(format!("{:020}.jsonl.rewrite", segment.first_seq));
        let copy = || -> std::io::Result<()> {
            let mut source = File::open(&segment.path)?;
            let mut target = OpenOptions::new().write(true).create(true).truncate(true).open(&temporary)?;
            std::io::copy(&mut (&mut source).take(position.offset), &mut target)?;
            target.write_all(new)?;
            target.write_all(b"\n")?;
            source.seek(SeekFrom::Start(position.offset + old.len() as u64 + 1))?;
            std::io::copy(&mut source, &mut target)?;
            target.sync_all()
        };
        copy().map_err(|err| Error::io("rewrite", &temporary, err))?;
        std::fs::rename(&temporary, &segment.path).map_err(|err| Error::io("replace", &segment.path, err))?;
        sync_directory(&self.dir)?;
        // The writer's handle points at the replaced file: reopen it.
        if self.writer.is_some() && self.segments.last().map(|s| s.first_seq) == Some(segment.first_seq) {
            self.open_writer()?;
        }
        Ok(())
    }

    /// Read the one line that starts at `position`.
    pub fn read_line_at(&self, position: Position) -> Result<Vec<u8>> {
        let segment = self.segment(position.segment)?;
        let mut file = File::open(&segment.path).map_err(|err| Error::io("open", &segment.path, err))?;
        file.seek(SeekFrom::Start(position.offset)).map_err(|err| Error::io("read", &segment.path, err))?;
        let mut reader = BufReader::with_capacity(8192, file);
        let mut line = Vec::new();
        reader
            .by_ref()
            .take(crate::record::MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(|err| Error::io("read", &segment.path, err))?;
        if line.pop() != Some(b'\n') {
            return Err(Error::verification(format!(
                "{}: no complete line at offset {}",
                segment.path.display(),
                position.offset
            )));
        }
        Ok(line)
    }
}

/// Streams lines in order, with large sequential reads.
pub struct LineReader {
    segments: Vec<Segment>,
    index: usize,
    offset: u64,
    reader: Option<BufReader<File>>,
    torn_tail: bool,
}

impl LineReader {
    /// Whether the log ended with bytes that are not yet a complete line (a write in progress).
    pub fn saw_torn_tail(&self) -> bool {
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
                let opened = File::open(&segment.path).and_then(|mut file| {
                    file.seek(SeekFrom::Start(self.offset))?;
                    Ok(BufReader::with_capacity(1 << 20, file))
                });
                match opened {
                    Ok(reader) => self.reader = Some(reader),
                    Err(err) => return Some(Err(Error::io("read", &segment.path, err))),
                }
            }
            let reader = self.reader.as_mut()?;
            let mut line = Vec::with_capacity(1024);
            let read = reader.by_ref().take(crate::record::MAX_LINE_BYTES as u64 + 1).read_until(b'\n', &mut line);
            match read {
                Err(err) => return Some(Err(Error::io("read", &segment.path, err))),
                Ok(0) => {}
                Ok(n) if line.last() == Some(&b'\n') => {
                    let position = Position { segment: segment.first_seq, offset: self.offset };
                    self.offset += n as u64;
                    line.pop();
                    return Some(Ok((position, line)));
                }
                Ok(n) if n > crate::record::MAX_LINE_BYTES => {
                    return Some(Err(Error::verification(format!(
                        "{}: line at offset {} is longer than {} bytes",
                        segment.path.display(),
                        self.offset,
                        crate::record::MAX_LINE_BYTES
                    ))));
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

/// fsync a directory so that a file created or renamed in it survives a crash.
pub fn sync_directory(dir: &Path) -> Result<()> {
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    File::open(dir).and_then(|d| d.sync_all()).map_err(|err| Error::io("sync directory", dir, err))
}
