//! Stored lines read in one pass: the envelope (line, entry and record members) parsed typed, in
//! the one order and spelling the canonical form allows, and the body kept as the slice of the
//! line it is, checked canonical but not built into a `Value` unless asked.
//!
//! Guarantees: [`LineView::scan`] accepts a line only if [`ParsedLine::parse_reference`] accepts
//! it (or, with [`Check::CheckedBefore`], [`ParsedLine::parse_checked_before_reference`]), and
//! then with the same entry, body, salt, entry bytes and entry hash. It refuses (`None`) every
//! line it cannot prove so; its callers then take the reference path, which decides and names the
//! fault: a refusal here never becomes an error by itself. The entry bytes, the record's signed
//! bytes and the body's bytes are slices of the line: a canonical line holds each object's
//! canonical bytes, so nothing is encoded again.

use std::borrow::Cow;
use std::ops::Range;

use serde_json::Value;

use super::{Entry, EntryHash, LineError, ParsedLine, Record, Salt, StoredBody, StoredLine, body_hash, is_valid_kind};
use crate::canonical::{self, scan};
use crate::keys::split_signature_value;
use crate::limits::MAX_LINE_BYTES;
use crate::merkle::Hash;
use crate::time::Timestamp;

/// How much of a line to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// Everything [`ParsedLine::parse`] checks: members, forms, canonical bytes, body hash.
    Full,
    /// What [`ParsedLine::parse_checked_before`] checks: not the body hash.
    CheckedBefore,
}

/// A stored line read without building its body: the entry, its bytes and hash, the record's
/// signed bytes, and the body as bytes.
#[derive(Debug, Clone)]
pub(crate) struct LineView<'a> {
    /// The entry.
    pub entry: Entry,
    /// The entry hash (of [`LineView::entry_bytes`]).
    pub entry_hash: EntryHash,
    /// JCS(entry).
    pub entry_bytes: Cow<'a, [u8]>,
    /// JCS(record): what the author signed, without the note's newline.
    pub record_bytes: Cow<'a, [u8]>,
    /// [`Record::replay_id`] of the record.
    pub replay_id: [u8; 16],
    /// The body part.
    pub body: ViewBody<'a>,
}

/// The body part of a [`LineView`].
#[derive(Debug, Clone)]
pub(crate) enum ViewBody<'a> {
    /// A body, as its canonical bytes, with its salt; built when asked to.
    Full { bytes: Cow<'a, [u8]>, salt: Salt, value: Option<Value> },
    /// Removed by the `ledger.redact` entry at seq `by`.
    Redacted { by: u64 },
    /// Left out of an export made without bodies.
    Withheld,
}

impl<'a> LineView<'a> {
    /// The line read in one pass, or `None` if it cannot be proved to be a valid stored line
    /// here (see the module's guarantees). With `build_body`, the body's `Value` is built too.
    pub(crate) fn scan(line: &'a [u8], check: Check, build_body: bool) -> Option<LineView<'a>> {
        let Scanned { entry, entry_span, record_span, created_span, body } = scan_parts(line, check, build_body)?;
        let entry_bytes = &line[entry_span];
        let replay_id = super::replay_id_of(&entry.record.author, &line[created_span], &entry.record.body_hash);
        Some(LineView {
            entry,
            entry_hash: EntryHash::of_entry_bytes(entry_bytes),
            entry_bytes: Cow::Borrowed(entry_bytes),
            record_bytes: Cow::Borrowed(&line[record_span]),
            replay_id,
            body,
        })
    }

    /// The line read in one pass where it can be ([`LineView::scan`]), otherwise by the
    /// reference parser ([`ParsedLine::parse_reference`]): the same acceptance, the same errors.
    pub(crate) fn parse(line: &'a [u8]) -> Result<LineView<'a>, LineError> {
        if let Some(view) = LineView::scan(line, Check::Full, false) {
            return Ok(view);
        }
        ParsedLine::parse_reference(line).map(LineView::from)
    }

    /// The body as a `Value` (for the few records whose bodies a check reads), unless there is
    /// none. The bytes were checked canonical, so this cannot fail but for a fault of this
    /// module, which is then an error naming the body.
    pub(crate) fn body_value(&self) -> Option<Result<Cow<'_, Value>, LineError>> {
        match &self.body {
            ViewBody::Full { value: Some(value), .. } => Some(Ok(Cow::Borrowed(value))),
            ViewBody::Full { bytes, .. } => Some(
                canonical::parse_json(bytes, "body")
                    .map(Cow::Owned)
                    .map_err(|e| LineError { path: e.path, reason: e.reason }),
            ),
            _ => None,
        }
    }

    /// The record's note text, as signed: JCS(record) || 0x0A.
    pub(crate) fn note_text(&self) -> Vec<u8> {
        let mut text = Vec::with_capacity(self.record_bytes.len() + 1);
        text.extend_from_slice(&self.record_bytes);
        text.push(b'\n');
        text
    }

    /// The parsed line, with its body built (scanned with `build_body`, or built now).
    pub(crate) fn into_parsed(self) -> Result<ParsedLine, LineError> {
        let body = match self.body {
            ViewBody::Full { value: Some(body), salt, .. } => StoredBody::Full { body, salt },
            ViewBody::Full { bytes, salt, value: None } => {
                let body =
                    canonical::parse_json(&bytes, "body").map_err(|e| LineError { path: e.path, reason: e.reason })?;
                StoredBody::Full { body, salt }
            }
            ViewBody::Redacted { by } => StoredBody::Redacted { by },
            ViewBody::Withheld => StoredBody::Withheld,
        };
        Ok(ParsedLine {
            line: StoredLine { entry: self.entry, body },
            entry_bytes: self.entry_bytes.into_owned(),
            entry_hash: self.entry_hash,
        })
    }
}

/// A line's parts as [`LineView::scan`] reads them, before any hash is taken.
struct Scanned<'a> {
    entry: Entry,
    entry_span: Range<usize>,
    record_span: Range<usize>,
    created_span: Range<usize>,
    body: ViewBody<'a>,
}

/// [`LineView::scan`] without the entry hash, the replay id and the bytes kept: the stored line
/// alone, body built, for a pass that only projects lines checked before (replay), where the
/// two SHA-256s and the copy were a twentieth of its work. `None` exactly where `scan` refuses.
pub(crate) fn scan_stored(line: &[u8]) -> Option<StoredLine> {
    let Scanned { entry, body, .. } = scan_parts(line, Check::CheckedBefore, true)?;
    let body = match body {
        ViewBody::Full { value: Some(body), salt, .. } => StoredBody::Full { body, salt },
        // Asked for with the body built: never unbuilt here.
        ViewBody::Full { value: None, .. } => return None,
        ViewBody::Redacted { by } => StoredBody::Redacted { by },
        ViewBody::Withheld => StoredBody::Withheld,
    };
    Some(StoredLine { entry, body })
}

fn scan_parts(line: &[u8], check: Check, build_body: bool) -> Option<Scanned<'_>> {
    if line.len() > MAX_LINE_BYTES {
        return None;
    }
    let mut cursor = Cursor { bytes: line, at: 0 };
    let body = if cursor.eat(b"{\"body\":") {
        let start = cursor.at;
        if line.get(start) != Some(&b'{') {
            return None;
        }
        let (end, value) = if build_body {
            let (end, value) = scan::value_built(line, start, 0)?;
            (end, Some(value))
        } else {
            (scan::value_end(line, start, 0)?, None)
        };
        cursor.at = end;
        cursor.expect(b",\"entry\":")?;
        Some((start..end, value))
    } else {
        cursor.expect(b"{\"entry\":")?;
        None
    };
    let (entry, entry_span, record_span, created_span) = entry(&mut cursor)?;
    let body = match body {
        Some((span, value)) => {
            cursor.expect(b",\"salt\":\"")?;
            let salt = hex_digits::<16>(cursor.take(32)?)?;
            cursor.expect(b"\"}")?;
            if check == Check::Full && body_hash(&salt, &line[span.clone()]) != entry.record.body_hash {
                return None;
            }
            ViewBody::Full { bytes: Cow::Borrowed(&line[span]), salt, value }
        }
        None if cursor.eat(b",\"redacted\":") => {
            let by = cursor.unsigned()?;
            cursor.expect(b"}")?;
            ViewBody::Redacted { by }
        }
        None => {
            cursor.expect(b",\"withheld\":true}")?;
            ViewBody::Withheld
        }
    };
    if cursor.at != line.len() {
        return None;
    }
    Some(Scanned { entry, entry_span, record_span, created_span, body })
}

impl From<ParsedLine> for LineView<'_> {
    /// A line the reference parser accepted: canonical, so its parts' bytes are their encodings.
    fn from(parsed: ParsedLine) -> Self {
        let record_bytes = parsed.line.entry.record.canonical_bytes();
        let replay_id = parsed.line.entry.record.replay_id();
        let body = match parsed.line.body {
            StoredBody::Full { body, salt } => ViewBody::Full {
                // The reference parser encoded this body already: it has a canonical form.
                bytes: Cow::Owned(canonical::encode(&body, "body").unwrap_or_default()),
                salt,
                value: Some(body),
            },
            StoredBody::Redacted { by } => ViewBody::Redacted { by },
            StoredBody::Withheld => ViewBody::Withheld,
        };
        LineView {
            entry: parsed.line.entry,
            entry_hash: parsed.entry_hash,
            entry_bytes: Cow::Owned(parsed.entry_bytes),
            record_bytes: Cow::Owned(record_bytes),
            replay_id,
            body,
        }
    }
}

/// An entry read at the cursor, with the spans of the entry, of its record and of the record's
/// `created` text.
type EntrySpans = (Entry, Range<usize>, Range<usize>, Range<usize>);

/// `{"prev":…,"record":…,"seq":…,"sig":…,"time":…}` at the cursor.
fn entry(cursor: &mut Cursor<'_>) -> Option<EntrySpans> {
    let start = cursor.at;
    cursor.expect(b"{\"prev\":\"")?;
    let prev = EntryHash(hex_digits::<32>(cursor.take(64)?)?);
    cursor.expect(b"\",\"record\":")?;
    let (record, record_span, created_span) = record(cursor)?;
    cursor.expect(b",\"seq\":")?;
    let seq = cursor.unsigned()?;
    cursor.expect(b",\"sig\":")?;
    let sig = cursor.plain_string()?;
    split_signature_value(sig).ok()?;
    let sig = sig.to_string();
    cursor.expect(b",\"time\":\"")?;
    let time = timestamp(cursor.take(24)?)?;
    cursor.expect(b"\"}")?;
    Some((Entry { seq, prev, time, record, sig }, start..cursor.at, record_span, created_span))
}

/// `{"author":…,"body_hash":…,"created":…,"kind":…,"ledger":…,"v":…}` at the cursor.
fn record(cursor: &mut Cursor<'_>) -> Option<(Record, Range<usize>, Range<usize>)> {
    let start = cursor.at;
    cursor.expect(b"{\"author\":")?;
    let author = cursor.plain_string()?.to_string();
    cursor.expect(b",\"body_hash\":\"")?;
    let body_hash: Hash = hex_digits::<32>(cursor.take(64)?)?;
    cursor.expect(b"\",\"created\":\"")?;
    let created_start = cursor.at;
    let created = timestamp(cursor.take(24)?)?;
    let created_span = created_start..cursor.at;
    cursor.expect(b"\",\"kind\":")?;
    let kind = cursor.plain_string()?;
    if !is_valid_kind(kind) {
        return None;
    }
    let kind = kind.to_string();
    cursor.expect(b",\"ledger\":")?;
    let ledger = cursor.plain_string()?.to_string();
    cursor.expect(b",\"v\":")?;
    let v = cursor.unsigned()?;
    if v == 0 {
        return None;
    }
    cursor.expect(b"}")?;
    Some((Record { v, ledger, kind, author, created, body_hash }, start..cursor.at, created_span))
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    /// Step over `expected` if it is next.
    fn eat(&mut self, expected: &[u8]) -> bool {
        let found = self.bytes.get(self.at..self.at + expected.len()) == Some(expected);
        if found {
            self.at += expected.len();
        }
        found
    }

    fn expect(&mut self, expected: &[u8]) -> Option<()> {
        self.eat(expected).then_some(())
    }

    fn take(&mut self, count: usize) -> Option<&'a [u8]> {
        let taken = self.bytes.get(self.at..self.at + count)?;
        self.at += count;
        Some(taken)
    }

    /// A canonical non-negative integer within 2^53-1.
    fn unsigned(&mut self) -> Option<u64> {
        let (end, value) = scan::integer(self.bytes, self.at)?;
        self.at = end;
        u64::try_from(value).ok()
    }

    /// A string without escapes (what the envelope's strings are; others go the reference way).
    fn plain_string(&mut self) -> Option<&'a str> {
        if self.bytes.get(self.at) != Some(&b'"') {
            return None;
        }
        let start = self.at + 1;
        let length = self.bytes.get(start..)?.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        if self.bytes[start + length] != b'"' {
            return None;
        }
        let text = std::str::from_utf8(&self.bytes[start..start + length]).ok()?;
        self.at = start + length + 1;
        Some(text)
    }
}

/// `2 × N` lowercase hex digits (the only spelling the encoder writes).
fn hex_digits<const N: usize>(digits: &[u8]) -> Option<[u8; N]> {
    if digits.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    // Any digit that is not lowercase hex sets the high bit of `bad`.
    let mut bad = 0u8;
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let (high, low) = (HEX_VALUE[usize::from(pair[0])], HEX_VALUE[usize::from(pair[1])]);
        bad |= high | low;
        *byte = (high << 4) | (low & 0x0F);
    }
    (bad & 0x80 == 0).then_some(out)
}

/// The value of each lowercase hex digit; 0x80 for every other byte.
const HEX_VALUE: [u8; 256] = {
    let mut table = [0x80u8; 256];
    let mut digit = 0;
    while digit < 16 {
        table[b"0123456789abcdef"[digit] as usize] = digit as u8;
        digit += 1;
    }
    table
};

/// `YYYY-MM-DDTHH:MM:SS.sssZ` for years 1000–9998, where [`Timestamp::parse`] accepts exactly the
/// real instants spelled so (and its text is this one); other years go the reference way.
fn timestamp(text: &[u8]) -> Option<Timestamp> {
    let [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1, b'T', h0, h1, b':', i0, i1, b':', s0, s1, b'.', f0, f1, f2, b'Z'] =
        *text
    else {
        return None;
    };
    let number = |digits: &[u8]| -> Option<i64> {
        digits.iter().try_fold(0i64, |n, &d| d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0')))
    };
    let year = number(&[y0, y1, y2, y3])?;
    let month = number(&[m0, m1])?;
    let day = number(&[d0, d1])?;
    let (hour, minute, second) = (number(&[h0, h1])?, number(&[i0, i1])?, number(&[s0, s1])?);
    let millis = number(&[f0, f1, f2])?;
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !(1000..=9998).contains(&year) || day < 1 || day > days_in_month || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let days = crate::time::days_from_civil(year, month, day);
    Some(Timestamp::from_millis(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis))
}

#[cfg(test)]
mod tests;
