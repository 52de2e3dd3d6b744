//! The one tar dialect lianlog writes and reads: POSIX ustar (IEEE 1003.1-1988 as kept in
//! POSIX.1-2001), regular files only, short names, no extended headers.
//!
//! Writing: a 512-byte header per member, the data, zero padding to a 512-byte boundary, and two
//! zero blocks at the end. GNU tar, bsdtar and Python's `tarfile` list and extract it.
//!
//! Reading accepts exactly that and nothing else, so that a hostile archive cannot do anything a
//! lianlog archive would not: every header's checksum, magic and type are checked; links,
//! symbolic links, directories, devices, FIFOs and extended (pax, GNU) headers are refused, as are
//! absolute names and names with `..`; padding and the end-of-archive blocks must be zero, and a
//! file that stops before its end-of-archive blocks is truncated. Nothing is ever extracted.

use std::io::{Read, Write};

pub(crate) const BLOCK: usize = 512;

/// Largest member size a ustar header can state (11 octal digits).
pub(crate) const MAX_SIZE: u64 = 0o77777777777;

/// Bytes read after the end-of-archive blocks that may still be zero padding (tar's default
/// record size is 10 KiB; a lianlog archive has none).
const MAX_TRAILING_ZEROS: u64 = 1 << 20;

fn octal(field: &mut [u8], value: u64) {
    // `field.len() - 1` digits, then NUL.
    let digits = field.len() - 1;
    let text = format!("{value:0digits$o}");
    field[..digits].copy_from_slice(&text.as_bytes()[text.len() - digits..]);
    field[digits] = 0;
}

/// The header of a regular file `name` of `size` bytes, mode 0644, owner 0:0, modified at
/// `mtime` (seconds since the epoch).
pub fn header(name: &str, size: u64, mtime: u64) -> Result<[u8; BLOCK], String> {
    if name.is_empty() || name.len() > 100 || !name.is_ascii() {
        return Err(format!("member name {name:?} does not fit a ustar header"));
    }
    if size > MAX_SIZE {
        return Err(format!("member {name} is {size} bytes, more than a ustar header can state"));
    }
    let mut block = [0u8; BLOCK];
    block[..name.len()].copy_from_slice(name.as_bytes());
    octal(&mut block[100..108], 0o644);
    octal(&mut block[108..116], 0);
    octal(&mut block[116..124], 0);
    octal(&mut block[124..136], size);
    octal(&mut block[136..148], mtime.min(MAX_SIZE));
    block[156] = b'0';
    block[257..263].copy_from_slice(b"ustar\0");
    block[263..265].copy_from_slice(b"00");
    octal(&mut block[329..337], 0);
    octal(&mut block[337..345], 0);
    block[148..156].copy_from_slice(b"        ");
    let sum: u64 = block.iter().map(|&b| u64::from(b)).sum();
    octal(&mut block[148..155], sum);
    block[155] = b' ';
    Ok(block)
}

/// Zero bytes that follow `size` bytes of data to reach a block boundary.
pub fn padding(size: u64) -> usize {
    // The remainder is below 512, so the conversion cannot truncate.
    ((BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64) as usize
}

/// Write one whole member.
pub fn write_member(out: &mut dyn Write, name: &str, mtime: u64, data: &[u8]) -> std::io::Result<()> {
    let header = header(name, data.len() as u64, mtime).map_err(std::io::Error::other)?;
    out.write_all(&header)?;
    out.write_all(data)?;
    out.write_all(&[0u8; BLOCK][..padding(data.len() as u64)])
}

/// The two zero blocks that end an archive.
pub fn write_end(out: &mut dyn Write) -> std::io::Result<()> {
    out.write_all(&[0u8; 2 * BLOCK])
}

/// A member as its header describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member's path inside the archive.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
}

fn field_text(field: &[u8]) -> &[u8] {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    &field[..end]
}

fn parse_octal(field: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(field_text(field)).ok()?.trim_matches(' ');
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

/// Check one header block and describe the member, or say why it is refused.
pub fn parse_header(block: &[u8; BLOCK]) -> Result<Member, String> {
    let stated = parse_octal(&block[148..156]).ok_or("a header with an unreadable checksum (damaged)")?;
    let actual: u64 = block
        .iter()
        .enumerate()
        .map(|(i, &b)| if (148..156).contains(&i) { u64::from(b' ') } else { u64::from(b) })
        .sum();
    if stated != actual {
        return Err("a header whose checksum does not match (damaged or altered)".into());
    }
    let mut name = String::from_utf8_lossy(field_text(&block[..100])).into_owned();
    let prefix = field_text(&block[345..500]);
    if !prefix.is_empty() {
        name = format!("{}/{name}", String::from_utf8_lossy(prefix));
    }
    let shown = format!("{name:?}");
    let kind = match block[156] {
        b'0' | 0 => None,
        b'1' => Some("a hard link"),
        b'2' => Some("a symbolic link"),
        b'3' | b'4' => Some("a device file"),
        b'5' => Some("a directory"),
        b'6' => Some("a FIFO"),
        b'x' | b'g' => Some("a pax extended header"),
        b'L' | b'K' => Some("a GNU long-name header"),
        _ => Some("a special file"),
    };
    if let Some(kind) = kind {
        return Err(format!("member {shown} is {kind}; a lianlog archive holds regular files only"));
    }
    if &block[257..263] != b"ustar\0" || &block[263..265] != b"00" {
        return Err(format!("member {shown} does not have a POSIX ustar header"));
    }
    if name.starts_with('/') {
        return Err(format!("member {shown} has an absolute path"));
    }
    if name.split('/').any(|part| part == "..") {
        return Err(format!("member {shown} has a path with `..`"));
    }
    if !field_text(&block[157..257]).is_empty() {
        return Err(format!("member {shown} names a link target"));
    }
    if block[124] & 0x80 != 0 {
        return Err(format!("member {shown} states its size in base-256 (larger than any member lianlog writes)"));
    }
    let size = parse_octal(&block[124..136]).ok_or_else(|| format!("member {shown} has an unreadable size"))?;
    Ok(Member { name, size })
}

/// Reads members one after the other from a stream.
pub(crate) struct Reader<R> {
    inner: R,
}

/// Map a read error to a reason: the end of the file inside `what` is a truncation.
pub(crate) fn read_error(err: &std::io::Error, what: &str) -> String {
    if err.kind() == std::io::ErrorKind::UnexpectedEof {
        format!("the file is truncated: it ends inside {what}")
    } else {
        format!("cannot read {what}: {err}")
    }
}

impl<R: Read> Reader<R> {
    pub fn new(inner: R) -> Reader<R> {
        Reader { inner }
    }

    /// The next member's header, or `None` at a proper end of the archive (two zero blocks, then
    /// nothing but zeros).
    pub(crate) fn next_member(&mut self) -> Result<Option<Member>, String> {
        let mut block = [0u8; BLOCK];
        self.inner.read_exact(&mut block).map_err(|e| read_error(&e, "a member header (no end-of-archive marker)"))?;
        if block.iter().all(|&b| b == 0) {
            self.inner.read_exact(&mut block).map_err(|e| read_error(&e, "the end-of-archive marker"))?;
            if block.iter().any(|&b| b != 0) {
                return Err("the end-of-archive marker is damaged (a non-zero byte)".into());
            }
            let mut rest = Vec::new();
            let read = (&mut self.inner)
                .take(MAX_TRAILING_ZEROS + 1)
                .read_to_end(&mut rest)
                .map_err(|e| read_error(&e, "the end of the archive"))?;
            if read as u64 > MAX_TRAILING_ZEROS || rest.iter().any(|&b| b != 0) {
                return Err("unexpected bytes after the end-of-archive marker".into());
            }
            return Ok(None);
        }
        parse_header(&block).map(Some)
    }

    /// The data of a member of `size` bytes: read it to the end, then call [`Reader::end_member`].
    pub fn data(&mut self, size: u64) -> std::io::Take<&mut R> {
        (&mut self.inner).take(size)
    }

    /// Skip what is left of a member's data and check its zero padding.
    pub(crate) fn end_member(&mut self, member: &Member, left: u64) -> Result<(), String> {
        let what = format!("member {}", member.name);
        let skipped = std::io::copy(&mut (&mut self.inner).take(left), &mut std::io::sink())
            .map_err(|e| read_error(&e, &what))?;
        if skipped != left {
            return Err(format!("the file is truncated: it ends inside {what}"));
        }
        let mut pad = [0u8; BLOCK];
        let pad = &mut pad[..padding(member.size)];
        self.inner.read_exact(pad).map_err(|e| read_error(&e, &what))?;
        if pad.iter().any(|&b| b != 0) {
            return Err(format!("the padding after member {} is not zero (altered)", member.name));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip_and_refuse_what_lianlog_never_writes() {
        let block = header("entries.jsonl", 1234, 1_767_574_800).unwrap();
        assert_eq!(parse_header(&block).unwrap(), Member { name: "entries.jsonl".into(), size: 1234 });
        let refused = |edit: &dyn Fn(&mut [u8; BLOCK]), expected: &str| {
            let mut block = header("x", 1, 0).unwrap();
            edit(&mut block);
            block[148..156].copy_from_slice(b"        ");
            let sum: u64 = block.iter().map(|&b| u64::from(b)).sum();
            octal(&mut block[148..155], sum);
            let err = parse_header(&block).unwrap_err();
            assert!(err.contains(expected), "{err}");
        };
        refused(&|b| b[156] = b'2', "symbolic link");
        refused(&|b| b[156] = b'1', "hard link");
        refused(&|b| b[156] = b'5', "directory");
        refused(&|b| b[156] = b'x', "pax");
        refused(&|b| b[..10].copy_from_slice(b"/etc/passw"), "absolute");
        refused(&|b| b[..6].copy_from_slice(b"a/../b"), "`..`");
        refused(&|b| b[257..263].copy_from_slice(b"ustar "), "ustar");
        let mut damaged = header("x", 1, 0).unwrap();
        damaged[0] = b'y';
        assert!(parse_header(&damaged).unwrap_err().contains("checksum"));
    }

    #[test]
    fn an_archive_needs_its_end_marker() {
        let mut bytes = Vec::new();
        write_member(&mut bytes, "a", 0, b"hello").unwrap();
        let mut reader = Reader::new(&bytes[..]);
        let member = reader.next_member().unwrap().unwrap();
        let mut data = Vec::new();
        reader.data(member.size).read_to_end(&mut data).unwrap();
        reader.end_member(&member, 0).unwrap();
        assert!(reader.next_member().unwrap_err().contains("truncated"));
        write_end(&mut bytes).unwrap();
        let mut reader = Reader::new(&bytes[..]);
        let member = reader.next_member().unwrap().unwrap();
        reader.end_member(&member, member.size).unwrap();
        assert_eq!(reader.next_member().unwrap(), None);
    }
}
