//! Records, entries and stored lines (format-v1 sections 4–6): their canonical bytes, hashes and
//! signatures, and the strict parser for stored lines.
//!
//! Guarantees: [`Record::canonical_bytes`] and [`Entry::canonical_bytes`] are the JCS bytes of the
//! objects (written field by field in sorted order, so no general-purpose serializer is involved);
//! [`ParsedLine::parse`] accepts a line only if it is exactly the canonical encoding of a valid
//! stored line, and hands back the entry bytes and the entry hash so that nothing downstream
//! re-serializes or re-hashes.

use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use crate::canonical;
use crate::encoding::{hex, parse_hex};
use crate::keys::{SecretKey, split_signature_value};
use crate::limits::MAX_LINE_BYTES;
use crate::time::Timestamp;

use crate::merkle::Hash;

mod envelope;
pub(crate) use envelope::{Check, LineView, ViewBody};

/// The hash of an entry: SHA-256(0x00 || entry bytes), also its RFC 6962 leaf hash.
/// The default is the zero hash, the `prev` of entry 0.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryHash(pub Hash);

impl EntryHash {
    /// The zero hash: the `prev` of entry 0.
    pub const ZERO: EntryHash = EntryHash([0; 32]);

    /// The hash of an entry from its entry bytes.
    pub fn of_entry_bytes(entry_bytes: &[u8]) -> EntryHash {
        let mut hasher = Sha256::new();
        hasher.update([0x00]);
        hasher.update(entry_bytes);
        EntryHash(hasher.finalize().into())
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    /// Parse 64 hex digits.
    pub fn parse_hex(text: &str) -> Option<EntryHash> {
        parse_hex::<32>(text).map(EntryHash)
    }
}

impl std::fmt::Debug for EntryHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EntryHash({})", self.to_hex())
    }
}

impl std::fmt::Display for EntryHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// The random salt that blinds a body's hash.
pub(crate) type Salt = [u8; 16];

/// SHA-256(salt || JCS(body)).
pub fn body_hash(salt: &Salt, body_bytes: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(salt);
    hasher.update(body_bytes);
    hasher.finalize().into()
}

/// A fresh salt from the system's random source. Salts are drawn [`SALTS_PER_DRAW`] at a time
/// per thread and each handed out once: one `getrandom` call per salt cost 1.1% of an import's
/// CPU (perf, `docs/PERFORMANCE.md`). The salts kept waiting are as secret as the bodies in the
/// same process's memory, and lianlog never forks without `exec`, so no two processes share them.
pub(crate) fn random_salt() -> crate::Result<Salt> {
    use std::cell::RefCell;
    thread_local! {
        /// Salts drawn and not yet handed out: the bytes from the index on.
        static DRAWN: RefCell<(usize, [u8; SALT_BYTES * SALTS_PER_DRAW])> =
            const { RefCell::new((SALT_BYTES * SALTS_PER_DRAW, [0; SALT_BYTES * SALTS_PER_DRAW])) };
    }
    DRAWN.with_borrow_mut(|(next, drawn)| {
        if *next == drawn.len() {
            getrandom::fill(drawn)
                .map_err(|err| crate::Error::key(format!("the system random source failed: {err}")))?;
            *next = 0;
        }
        let mut salt = [0u8; SALT_BYTES];
        salt.copy_from_slice(&drawn[*next..*next + SALT_BYTES]);
        // Handed out once: not left behind for anything else that reads this memory.
        drawn[*next..*next + SALT_BYTES].fill(0);
        *next += SALT_BYTES;
        Ok(salt)
    })
}

const SALT_BYTES: usize = std::mem::size_of::<Salt>();
const SALTS_PER_DRAW: usize = 32;

/// What an author signs (format-v1 section 4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The body's schema version.
    pub v: u64,
    /// The ledger's origin.
    pub ledger: String,
    /// The record kind.
    pub kind: String,
    /// The author key's identity.
    pub author: String,
    /// When the author made it.
    pub created: Timestamp,
    /// The salted hash of the body.
    pub body_hash: Hash,
}

impl Record {
    /// JCS(record): members in sorted order author, body_hash, created, kind, ledger, v.
    pub(crate) fn write_canonical(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"author\":");
        canonical::write_string(&self.author, out);
        out.extend_from_slice(b",\"body_hash\":\"");
        crate::encoding::write_hex(&self.body_hash, out);
        out.extend_from_slice(b"\",\"created\":\"");
        self.created.write_text(out);
        out.extend_from_slice(b"\",\"kind\":");
        canonical::write_string(&self.kind, out);
        out.extend_from_slice(b",\"ledger\":");
        canonical::write_string(&self.ledger, out);
        out.extend_from_slice(b",\"v\":");
        canonical::write_u64(self.v, out);
        out.push(b'}');
    }

    /// The canonical (JCS) bytes, as signed.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        self.write_canonical(&mut out);
        out
    }

    /// The signed-note text an author signs: JCS(record) || 0x0A.
    pub fn note_text(&self) -> Vec<u8> {
        let mut out = self.canonical_bytes();
        out.push(b'\n');
        out
    }

    /// What makes a record the same record (a lianlog rule, not format v1's): its author, its
    /// `created` time and its salted `body_hash` — so the same salt and body. The ledger writes
    /// every record with a fresh 16-byte salt, so two genuine records never share it; a second
    /// occurrence is a replay of the first. Returns 16 bytes of SHA-256 over the three members.
    pub fn replay_id(&self) -> [u8; 16] {
        let mut created = Vec::with_capacity(24);
        self.created.write_text(&mut created);
        replay_id_of(&self.author, &created, &self.body_hash)
    }

    /// The author's signature over the record, as stored in the entry (`sig`).
    pub fn sign(&self, key: &SecretKey) -> String {
        key.signature_value(&self.note_text())
    }
}

/// [`Record::replay_id`] from the record's author, the text of its `created` time and its body hash.
fn replay_id_of(author: &str, created: &[u8], body_hash: &Hash) -> [u8; 16] {
    let mut hasher = Sha256::new();
    hasher.update(b"lianlog record id\n");
    hasher.update(author.as_bytes());
    hasher.update([0x0A]);
    hasher.update(created);
    hasher.update([0x0A]);
    hasher.update(body_hash);
    let digest = hasher.finalize();
    let mut id = [0u8; 16];
    id.copy_from_slice(&digest[..16]);
    id
}

/// Kinds whose bodies are never redacted or withheld (verifiers need them): the one rule of what a
/// body-less export keeps, and of what `lianlog serve` shows an auditor's key (which reads no
/// other bodies).
pub fn kind_keeps_body(kind: &str) -> bool {
    kind.starts_with("ledger.") || kind.starts_with("key.")
}

/// A kind is a lowercase dotted name (format-v1 section 4): non-empty segments of lowercase ASCII
/// letters, digits, `_` and `-`, joined by `.`, at most 64 bytes. The verifier accepts every such
/// name; what lianlog itself appends is further limited to the kinds of its registry
/// (`schema::KINDS`).
pub fn is_valid_kind(kind: &str) -> bool {
    kind.len() <= 64
        && kind.split('.').all(|segment| {
            !segment.is_empty()
                && segment.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        })
}

/// What the ledger hashes and chains (format-v1 section 5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Position in the log, from 0.
    pub seq: u64,
    /// The hash of the entry before ([`EntryHash::ZERO`] for entry 0).
    pub prev: EntryHash,
    /// When the ledger sequenced it; never before the previous entry's time.
    pub time: Timestamp,
    /// The signed record.
    pub record: Record,
    /// The author's signature over `record`.
    pub sig: String,
}

impl Entry {
    /// JCS(entry): members prev, record, seq, sig, time.
    pub(crate) fn write_canonical(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"prev\":\"");
        crate::encoding::write_hex(&self.prev.0, out);
        out.extend_from_slice(b"\",\"record\":");
        self.record.write_canonical(out);
        out.extend_from_slice(b",\"seq\":");
        canonical::write_u64(self.seq, out);
        out.extend_from_slice(b",\"sig\":");
        canonical::write_string(&self.sig, out);
        out.extend_from_slice(b",\"time\":\"");
        self.time.write_text(out);
        out.extend_from_slice(b"\"}");
    }

    /// The canonical (JCS) entry bytes, which are hashed.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        self.write_canonical(&mut out);
        out
    }

    /// The entry hash of [`Entry::canonical_bytes`].
    pub fn hash(&self) -> EntryHash {
        EntryHash::of_entry_bytes(&self.canonical_bytes())
    }
}

/// The body part of a stored line (format-v1 section 6).
#[derive(Debug, Clone, PartialEq)]
pub enum StoredBody {
    /// The normal case: the body and the salt that blinds its hash.
    Full {
        /// The body.
        body: Value,
        /// The random salt of its body hash.
        salt: Salt,
    },
    /// Removed by the `ledger.redact` entry at this seq.
    Redacted {
        /// The seq of the `ledger.redact` entry.
        by: u64,
    },
    /// Left out of an export made without bodies.
    Withheld,
}

/// An entry with its body, as stored and exported.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredLine {
    /// The entry.
    pub entry: Entry,
    /// Its body, or that it was redacted.
    pub body: StoredBody,
}

impl StoredLine {
    /// JCS of the line followed by 0x0A. Fails only if the body has no canonical form.
    pub fn to_line(&self) -> Result<Vec<u8>, canonical::CanonicalError> {
        let mut out = Vec::with_capacity(1024);
        match &self.body {
            StoredBody::Full { body, salt } => {
                let body = canonical::encode(body, "body")?;
                return Ok(StoredLine::full_line(&self.entry.canonical_bytes(), &body, salt));
            }
            StoredBody::Redacted { by } => {
                out.extend_from_slice(b"{\"entry\":");
                self.entry.write_canonical(&mut out);
                out.extend_from_slice(b",\"redacted\":");
                out.extend_from_slice(by.to_string().as_bytes());
                out.push(b'}');
            }
            StoredBody::Withheld => {
                out.extend_from_slice(b"{\"entry\":");
                self.entry.write_canonical(&mut out);
                out.extend_from_slice(b",\"withheld\":true}");
            }
        }
        out.push(b'\n');
        Ok(out)
    }

    /// The line (with its newline) of an entry with its body in full, from the entry's canonical
    /// bytes ([`Entry::canonical_bytes`], which its hash covers), the body's
    /// (`canonical::encode`'s, which the body hash covers) and its salt: what
    /// [`StoredLine::to_line`] writes, for a writer that has both already.
    pub(crate) fn full_line(entry: &[u8], body: &[u8], salt: &Salt) -> Vec<u8> {
        let mut out = Vec::with_capacity(body.len() + entry.len() + 64);
        out.extend_from_slice(b"{\"body\":");
        out.extend_from_slice(body);
        out.extend_from_slice(b",\"entry\":");
        out.extend_from_slice(entry);
        out.extend_from_slice(b",\"salt\":\"");
        crate::encoding::write_hex(salt, &mut out);
        out.extend_from_slice(b"\"}\n");
        out
    }

    /// The same entry with its body withheld (for exports without bodies).
    pub fn withheld(&self) -> StoredLine {
        StoredLine { entry: self.entry.clone(), body: StoredBody::Withheld }
    }

    /// The bytes (without the newline) of the same entry in its redacted form: body and salt
    /// removed by the `ledger.redact` entry `by` (format-v1 section 6). The one place a redacted
    /// line is made: the live log, an interrupted redaction, restored archives.
    pub(crate) fn redacted_bytes(&self, by: u64) -> Vec<u8> {
        let redacted = StoredLine { entry: self.entry.clone(), body: StoredBody::Redacted { by } };
        // A line without a body always has a canonical form: only a body can lack one.
        let mut bytes = redacted.to_line().unwrap_or_default(); // ok: no body, nothing to fail
        bytes.pop();
        bytes
    }

    /// The body, unless redacted.
    pub fn body(&self) -> Option<&Value> {
        match &self.body {
            StoredBody::Full { body, .. } => Some(body),
            _ => None,
        }
    }
}

/// A stored line parsed and checked to be canonical, with its entry bytes and hash.
#[derive(Debug, Clone)]
pub struct ParsedLine {
    /// The line.
    pub line: StoredLine,
    /// The canonical entry bytes.
    pub entry_bytes: Vec<u8>,
    /// The entry hash.
    pub entry_hash: EntryHash,
}

/// Why a stored line is not a valid stored line; `path` names the member (`entry.record.kind`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// Where: the member path.
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() { f.write_str(&self.reason) } else { write!(f, "{}: {}", self.path, self.reason) }
    }
}

fn line_error(path: &str, reason: impl Into<String>) -> LineError {
    LineError { path: path.to_string(), reason: reason.into() }
}

impl ParsedLine {
    /// Parse one stored line (without its trailing newline) and check every rule that can be
    /// checked on the line alone: members, types, canonical bytes, the body hash.
    ///
    /// A line is read in one pass where it can be ([`LineView::scan`]: typed, no re-encoding),
    /// otherwise by [`ParsedLine::parse_reference`], which accepts the same lines and names what
    /// is wrong with the others.
    pub fn parse(bytes: &[u8]) -> Result<ParsedLine, LineError> {
        if let Some(view) = LineView::scan(bytes, Check::Full, true) {
            return view.into_parsed();
        }
        Self::parse_reference(bytes)
    }

    /// [`ParsedLine::parse`] by way of a `serde_json::Value` of the whole line, encoded again and
    /// compared with the line: the definition of what a valid line is, and where every refusal
    /// is explained. The fast path agrees with it (tests in `record/envelope/tests.rs`).
    pub fn parse_reference(bytes: &[u8]) -> Result<ParsedLine, LineError> {
        let line = Self::parse_fields(bytes)?;
        let canonical = line.to_line().map_err(|e| line_error(&e.path, e.reason))?;
        if &canonical[..canonical.len() - 1] != bytes {
            return Err(line_error(
                "",
                "not in canonical form (RFC 8785 as restricted by format-v1 section 2: sorted keys, no \
                 whitespace, minimal escapes, no duplicate keys)",
            ));
        }
        if let StoredBody::Full { body, salt } = &line.body {
            // The body's canonical bytes sit inside the line; re-encoding is cheap and exact.
            let body_bytes = canonical::encode(body, "body").map_err(|e| line_error(&e.path, e.reason))?;
            if body_hash(salt, &body_bytes) != line.entry.record.body_hash {
                return Err(line_error(
                    "entry.record.body_hash",
                    "does not match SHA-256(salt || JCS(body)): the body or the salt was altered",
                ));
            }
        }
        let entry_bytes = line.entry.canonical_bytes();
        let entry_hash = EntryHash::of_entry_bytes(&entry_bytes);
        Ok(ParsedLine { line, entry_bytes, entry_hash })
    }

    /// Parse a line of a ledger's own log that was checked in full ([`ParsedLine::parse`]) when it
    /// was appended or, behind the store, when the ledger was opened: the same fields and entry
    /// hash, without checking its body hash again (nor, on the reference path, its canonical
    /// form). For whole-log passes that rebuild derived state from lines already checked
    /// (replay), never for lines from elsewhere: a line altered in place since is found by
    /// `verify`, not here.
    pub fn parse_checked_before(bytes: &[u8]) -> Result<ParsedLine, LineError> {
        if let Some(view) = LineView::scan(bytes, Check::CheckedBefore, true) {
            return view.into_parsed();
        }
        Self::parse_checked_before_reference(bytes)
    }

    /// [`ParsedLine::parse_checked_before`] without the entry's bytes and hash: the stored line
    /// alone, for a pass that only projects lines of its own log (replay), which never reads
    /// them. The same acceptance and errors.
    pub(crate) fn stored_checked_before(bytes: &[u8]) -> Result<StoredLine, LineError> {
        if let Some(line) = envelope::scan_stored(bytes) {
            return Ok(line);
        }
        Self::parse_fields(bytes)
    }

    /// [`ParsedLine::parse_checked_before`] by way of a `Value` of the whole line.
    pub fn parse_checked_before_reference(bytes: &[u8]) -> Result<ParsedLine, LineError> {
        let line = Self::parse_fields(bytes)?;
        let entry_bytes = line.entry.canonical_bytes();
        let entry_hash = EntryHash::of_entry_bytes(&entry_bytes);
        Ok(ParsedLine { line, entry_bytes, entry_hash })
    }

    /// The members of a stored line, each checked for its type and form, but not the line's
    /// canonical form or its body hash.
    fn parse_fields(bytes: &[u8]) -> Result<StoredLine, LineError> {
        if bytes.len() > MAX_LINE_BYTES {
            return Err(line_error("", format!("line is longer than {MAX_LINE_BYTES} bytes")));
        }
        let value = canonical::parse_json(bytes, "line").map_err(|e| line_error("", e.reason))?;
        let Value::Object(mut members) = value else {
            return Err(line_error("", "a stored line must be a JSON object"));
        };
        let entry_value = members.remove("entry").ok_or_else(|| line_error("entry", "missing"))?;
        let entry = parse_entry(entry_value)?;
        let body = if members.contains_key("body") || members.contains_key("salt") {
            let body = members.remove("body").ok_or_else(|| line_error("body", "missing beside salt"))?;
            let salt = members.remove("salt").ok_or_else(|| line_error("salt", "missing beside body"))?;
            if !body.is_object() {
                return Err(line_error("body", "must be a JSON object"));
            }
            let salt = salt
                .as_str()
                .and_then(parse_hex::<16>)
                .ok_or_else(|| line_error("salt", "must be 32 lowercase hex digits"))?;
            StoredBody::Full { body, salt }
        } else if let Some(by) = members.remove("redacted") {
            let by = by.as_u64().filter(|n| *n <= canonical::MAX_SAFE_INTEGER as u64);
            StoredBody::Redacted { by: by.ok_or_else(|| line_error("redacted", "must be a seq (integer)"))? }
        } else if let Some(flag) = members.remove("withheld") {
            if flag != Value::Bool(true) {
                return Err(line_error("withheld", "must be true"));
            }
            StoredBody::Withheld
        } else {
            return Err(line_error("", "a stored line needs `body` and `salt`, `redacted`, or `withheld`"));
        };
        if let Some(extra) = members.keys().next() {
            return Err(line_error(extra, "unknown member in a stored line"));
        }
        Ok(StoredLine { entry, body })
    }
}

fn take_members(value: Value, path: &str, expected: &[&str]) -> Result<Map<String, Value>, LineError> {
    let Value::Object(members) = value else {
        return Err(line_error(path, "must be a JSON object"));
    };
    for key in members.keys() {
        if !expected.contains(&key.as_str()) {
            return Err(line_error(&format!("{path}.{key}"), "unknown member"));
        }
    }
    for key in expected {
        if !members.contains_key(*key) {
            return Err(line_error(&format!("{path}.{key}"), "missing"));
        }
    }
    Ok(members)
}

fn string_member(members: &mut Map<String, Value>, path: &str, key: &str) -> Result<String, LineError> {
    match members.remove(key) {
        Some(Value::String(text)) => Ok(text),
        _ => Err(line_error(&format!("{path}.{key}"), "must be a string")),
    }
}

fn integer_member(members: &mut Map<String, Value>, path: &str, key: &str) -> Result<u64, LineError> {
    members
        .remove(key)
        .and_then(|v| v.as_u64())
        .filter(|n| *n <= canonical::MAX_SAFE_INTEGER as u64)
        .ok_or_else(|| line_error(&format!("{path}.{key}"), "must be a non-negative integer"))
}

fn timestamp_member(members: &mut Map<String, Value>, path: &str, key: &str) -> Result<Timestamp, LineError> {
    let text = string_member(members, path, key)?;
    Timestamp::parse(&text).ok_or_else(|| {
        line_error(&format!("{path}.{key}"), format!("{text:?} is not a UTC timestamp YYYY-MM-DDTHH:MM:SS.sssZ"))
    })
}

fn hash_member(members: &mut Map<String, Value>, path: &str, key: &str) -> Result<Hash, LineError> {
    let text = string_member(members, path, key)?;
    parse_hex::<32>(&text).ok_or_else(|| line_error(&format!("{path}.{key}"), "must be 64 lowercase hex digits"))
}

/// Parse an entry object (format-v1 section 5), checking its members and their forms (not its
/// signature, chain or authority): for entries carried outside a stored line, such as receipts.
/// Its canonical bytes are [`Entry::canonical_bytes`].
pub fn parse_entry(value: Value) -> Result<Entry, LineError> {
    let mut members = take_members(value, "entry", &["prev", "record", "seq", "sig", "time"])?;
    let seq = integer_member(&mut members, "entry", "seq")?;
    let prev = EntryHash(hash_member(&mut members, "entry", "prev")?);
    let time = timestamp_member(&mut members, "entry", "time")?;
    let sig = string_member(&mut members, "entry", "sig")?;
    if split_signature_value(&sig).is_err() {
        return Err(line_error("entry.sig", "must be base64 of a 4-byte key id and a 64-byte signature"));
    }
    let record = parse_record(members.remove("record").unwrap_or(Value::Null))?;
    Ok(Entry { seq, prev, time, record, sig })
}

/// Parse a record object, checking its members and their forms (not its signature).
pub fn parse_record(value: Value) -> Result<Record, LineError> {
    let path = "entry.record";
    let mut members = take_members(value, path, &["author", "body_hash", "created", "kind", "ledger", "v"])?;
    let v = integer_member(&mut members, path, "v")?;
    if v == 0 {
        return Err(line_error("entry.record.v", "schema versions start at 1"));
    }
    let kind = string_member(&mut members, path, "kind")?;
    if !is_valid_kind(&kind) {
        return Err(line_error("entry.record.kind", format!("{kind:?} is not a lowercase dotted kind name")));
    }
    Ok(Record {
        v,
        ledger: string_member(&mut members, path, "ledger")?,
        kind,
        author: string_member(&mut members, path, "author")?,
        created: timestamp_member(&mut members, path, "created")?,
        body_hash: hash_member(&mut members, path, "body_hash")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector_lines() -> Vec<&'static str> {
        include_str!("../../tests/vectors/ledger.jsonl").lines().collect()
    }

    /// Salts drawn many at a time are still each handed out once: across several draws, no two
    /// are the same (nor all zero, the bytes left where a salt was taken).
    #[test]
    fn every_salt_handed_out_is_new() {
        let salts: Vec<Salt> = (0..10 * SALTS_PER_DRAW).map(|_| random_salt().unwrap()).collect();
        let distinct: std::collections::HashSet<&Salt> = salts.iter().collect();
        assert_eq!(distinct.len(), salts.len());
        assert!(!salts.contains(&[0; SALT_BYTES]));
    }

    #[test]
    fn vector_lines_parse_and_reproduce_steps() {
        let steps: Value = serde_json::from_str(include_str!("../../tests/vectors/steps.json")).unwrap();
        let steps = steps["steps"].as_array().unwrap();
        for (line, step) in vector_lines().iter().zip(steps) {
            let parsed = ParsedLine::parse(line.as_bytes()).unwrap();
            assert_eq!(parsed.line.to_line().unwrap(), format!("{line}\n").into_bytes());
            assert_eq!(String::from_utf8(parsed.entry_bytes.clone()).unwrap(), step["entry_bytes"].as_str().unwrap());
            assert_eq!(parsed.entry_hash.to_hex(), step["entry_hash"].as_str().unwrap());
            assert_eq!(
                String::from_utf8(parsed.line.entry.record.note_text()).unwrap(),
                step["record_note_text"].as_str().unwrap()
            );
            assert_eq!(hex(&parsed.line.entry.record.body_hash), step["body_hash"].as_str().unwrap());
            if let StoredBody::Full { body, salt } = &parsed.line.body {
                assert_eq!(hex(salt), step["salt_hex"].as_str().unwrap());
                assert_eq!(
                    String::from_utf8(canonical::encode(body, "body").unwrap()).unwrap(),
                    step["body_jcs"].as_str().unwrap()
                );
            }
        }
    }

    #[test]
    fn altered_lines_are_refused_with_a_path() {
        let line = vector_lines()[1];
        let cases = [
            (line.replace("钱干事", "钱干部"), "entry.record.body_hash"),
            (line.replace("\"seq\":1", "\"seq\":1.0"), "entry.seq"),
            (line.replace("\"v\":1", "\"v\":1,\"x\":2"), "entry.record.x"),
            (line.replacen('{', "{ ", 1), ""),
            (line.replace("2026-01-05T01:01:00.000Z\"}", "2026-01-05T01:01:00Z\"}"), "entry.time"),
        ];
        for (text, path) in cases {
            let err = ParsedLine::parse(text.as_bytes()).unwrap_err();
            assert_eq!(err.path, path, "{err}");
        }
    }

    #[test]
    fn kind_names() {
        for good in ["interview", "key.grant", "report.received", "duty_report", "audit.attest"] {
            assert!(is_valid_kind(good), "{good}");
        }
        assert!(is_valid_kind("x-1.y_2"));
        for bad in ["", "Interview", ".x", "x.", "a..b", "a b", "约谈", "a/b"] {
            assert!(!is_valid_kind(bad), "{bad}");
        }
    }
}
