//! What each fuzz target checks, as plain functions: the fuzz targets (`fuzz_targets/*.rs`) call
//! them on libFuzzer's inputs, and `ledger/tests/it/corpus.rs` (stable, in `cargo test`) compiles this
//! same file and runs every file of `tests/corpus/<target>/` through them.
//!
//! Every function takes arbitrary bytes and must never panic except on a failed assertion, which
//! is a bug: hostile input may be refused, never crash lianlog. Besides "no panic", each target
//! checks a property that a wrong parser would break (a parsed line or note prints back to the
//! same bytes, an accepted proof is the genuine one, a verified log has the root of its entries).
//!
//! The keys, lines and proofs used to get past the first checks are the conformance vectors in
//! `tests/vectors/` (made by an independent implementation of the format).

use std::sync::OnceLock;

use lianlog_ledger::canonical;
use lianlog_ledger::keys::{PublicKey, SecretKey, Zeroizing};
use lianlog_ledger::merkle::{self, CompactRange, Hash};
use lianlog_ledger::note::{self, Checkpoint, Note};
use lianlog_ledger::proof::{self, InclusionBundle};
use lianlog_ledger::record::{EntryHash, Record};
use lianlog_ledger::verify::{Verifier, VerifyOptions};
use lianlog_ledger::{KeyName, KeyRegistry, ParsedLine, Timestamp, schema};
use serde_json::Value;

/// A fuzz target's checks: arbitrary bytes in, a panic only on a bug.
pub type Target = fn(&[u8]);

/// Every target by name, for the corpus test.
pub const TARGETS: &[(&str, Target)] = &[
    ("stored_line", stored_line),
    ("record_body", record_body),
    ("signed_note", signed_note),
    ("proof", proof),
    ("import", import),
    ("verifier", verifier),
    ("catch_up", catch_up),
];

const KEYS_JSON: &str = include_str!("../../tests/vectors/keys.json");
const LEDGER_JSONL: &str = include_str!("../../tests/vectors/ledger.jsonl");
const STEPS_JSON: &str = include_str!("../../tests/vectors/steps.json");
const CHECKPOINT: &str = include_str!("../../tests/vectors/checkpoint");

/// The conformance vectors, parsed once.
struct Vectors {
    log_key: PublicKey,
    /// The admin's key as a cosigner (type 0x04).
    cosigner: PublicKey,
    /// Entry bytes of the vector ledger's entries, in seq order.
    entries: Vec<Vec<u8>>,
    /// Root of the vector tree (8 entries).
    root: Hash,
    /// The genuine inclusion proofs in the tree of 8: (index, hashes).
    inclusion: Vec<(u64, Vec<Hash>)>,
    /// The key registry after the whole vector ledger.
    registry: KeyRegistry,
}

fn vectors() -> &'static Vectors {
    static VECTORS: OnceLock<Vectors> = OnceLock::new();
    VECTORS.get_or_init(|| {
        let keys: Value = serde_json::from_str(KEYS_JSON).expect("keys.json");
        let log_key = PublicKey::parse_vkey(keys["log"]["vkey"].as_str().expect("log vkey")).expect("log vkey");
        let admin_name = KeyName::parse(keys["admin"]["name"].as_str().expect("admin name")).expect("admin name");
        let seed = lianlog_ledger::encoding::parse_hex::<32>(keys["admin"]["seed_hex"].as_str().expect("seed"))
            .expect("admin seed");
        let cosigner = SecretKey::from_seed(admin_name, &seed).as_cosigner().public().clone();
        let mut registry = KeyRegistry::default();
        let mut entries = Vec::new();
        let mut tree = CompactRange::new();
        for (seq, line) in LEDGER_JSONL.lines().enumerate() {
            let parsed = ParsedLine::parse(line.as_bytes()).expect("vector line");
            if let Some(body) = parsed.line.body() {
                registry.apply(seq as u64, &parsed.line.entry.record, body).expect("vector registry");
            }
            tree.append(parsed.entry_hash.0).expect("vector tree");
            entries.push(parsed.entry_bytes);
        }
        let steps: Value = serde_json::from_str(STEPS_JSON).expect("steps.json");
        let inclusion = steps["inclusion"]
            .as_array()
            .expect("inclusion proofs")
            .iter()
            .filter(|proof| proof["size"] == 8)
            .map(|proof| {
                let hashes = proof["hashes"]
                    .as_array()
                    .expect("hashes")
                    .iter()
                    .map(|h| lianlog_ledger::encoding::parse_hex::<32>(h.as_str().expect("hash")).expect("hash"))
                    .collect();
                (proof["index"].as_u64().expect("index"), hashes)
            })
            .collect();
        Vectors { log_key, cosigner, entries, root: tree.root(), inclusion, registry }
    })
}

/// A fixed sequencing time for schema checks (2026-01-01T00:00:00Z).
fn time() -> Timestamp {
    Timestamp::from_millis(1_767_225_600_000)
}

fn no_passphrase() -> lianlog_ledger::Result<Zeroizing<String>> {
    Err(lianlog_ledger::Error::key("no passphrase while fuzzing"))
}

/// Stored lines (format-v1 section 6): `ParsedLine::parse`, the canonical parser, and the entry
/// file reader of `check inclusion`. A line that parses is exactly its own canonical encoding.
pub fn stored_line(data: &[u8]) {
    // The one-pass reader and the reference parser (a `Value` of the whole line, encoded again)
    // accept the same lines, with the same parts, and refuse the others with the same error.
    match (ParsedLine::parse(data), ParsedLine::parse_reference(data)) {
        (Ok(fast), Ok(reference)) => {
            assert_eq!(fast.line, reference.line, "the two parsers read the same line");
            assert_eq!((fast.entry_bytes, fast.entry_hash), (reference.entry_bytes, reference.entry_hash));
        }
        (Err(fast), Err(reference)) => assert_eq!(fast, reference, "the two parsers refuse alike"),
        (fast, reference) => panic!("parse: {:?}, the reference parser: {:?}", fast.is_ok(), reference.is_ok()),
    }
    match (ParsedLine::parse_checked_before(data), ParsedLine::parse_checked_before_reference(data)) {
        (Ok(fast), Ok(reference)) => assert_eq!((fast.line, fast.entry_hash), (reference.line, reference.entry_hash)),
        (Err(fast), Err(reference)) => assert_eq!(fast, reference),
        (fast, reference) => panic!("checked before: {:?}, the reference: {:?}", fast.is_ok(), reference.is_ok()),
    }
    if let Ok(parsed) = ParsedLine::parse(data) {
        let line = parsed.line.to_line().expect("a parsed line has a canonical encoding");
        assert_eq!(&line[..line.len() - 1], data, "a parsed line is its own canonical encoding");
        assert_eq!(parsed.entry_bytes, parsed.line.entry.canonical_bytes());
        assert_eq!(parsed.entry_hash, EntryHash::of_entry_bytes(&parsed.entry_bytes));
        let from_file = proof::entry_bytes_from_file(data).expect("a valid stored line is a valid entry file");
        assert_eq!(from_file, parsed.entry_bytes);
        // The record's own parser agrees with the line's.
        let value: Value = serde_json::from_slice(&parsed.entry_bytes).expect("entry bytes are JSON");
        let record = lianlog_ledger::record::parse_record(value["record"].clone()).expect("the record parses");
        assert_eq!(record, parsed.line.entry.record);
    }
    if let Ok(value) = canonical::parse_canonical(data, "line") {
        assert_eq!(canonical::encode(&value, "line").expect("canonical value encodes"), data);
    }
    let _ = proof::entry_bytes_from_file(data);
}

/// Record bodies: the schema of every kind and version, the corrected-body rule, upcasting, the
/// projections' extractors, redaction bodies and key-registry bodies (genesis, grant, revoke).
pub fn record_body(data: &[u8]) {
    let Ok(body) = serde_json::from_slice::<Value>(data) else { return };
    let time = time();
    if let Ok(bytes) = canonical::encode(&body, "body") {
        let back = canonical::parse_canonical(&bytes, "body").expect("an encoded body parses back");
        assert_eq!(back, body, "canonical bytes round-trip");
    }
    for spec in schema::KINDS {
        for v in 0..=spec.versions.len() as u64 + 1 {
            let _ = schema::validate(spec.name, v, &body, time);
            let _ = schema::validate_corrected_body(spec.name, v, &body, time);
            let upcast = schema::upcast(spec.name, v, &body, time);
            let _ = lianlog_ledger::person_ids(spec.name, &upcast);
        }
    }
    let _ = lianlog_ledger::units(&body);
    for spec in schema::KINDS {
        let _ = lianlog_ledger::event_date(spec.name, &body, time);
    }
    let _ = lianlog_ledger::verify::parse_redaction_body(&body);

    let vectors = vectors();
    let record = |kind: &str, ledger: &str, author: &str| Record {
        v: 1,
        ledger: ledger.to_string(),
        kind: kind.to_string(),
        author: author.to_string(),
        created: time,
        body_hash: [0; 32],
    };
    // As a genesis body, authored by whatever the body names as its first admin.
    let origin = body["origin"].as_str().unwrap_or("fuzz.example/ledger");
    let author = body["admins"][0]["key"]
        .as_str()
        .and_then(|vkey| PublicKey::parse_vkey(vkey).ok())
        .map(|key| key.identity())
        .unwrap_or_default();
    let mut genesis = KeyRegistry::default();
    if genesis.apply(0, &record("ledger.genesis", origin, &author), &body).is_ok() {
        assert_eq!(genesis.origin, origin);
        assert!(genesis.active_admins() >= 1, "a genesis names at least one admin");
    }
    // As a grant or a revocation in the vector ledger.
    for kind in ["key.grant", "key.revoke"] {
        let mut registry = vectors.registry.clone();
        let before = registry.clone();
        let admin = registry.keys.keys().next().cloned().unwrap_or_default();
        if registry.apply(8, &record(kind, &before.origin, &admin), &body).is_err() {
            assert_eq!(registry, before, "a refused registry body changes nothing");
        }
    }
}

/// Signed notes and checkpoints (C2SP signed-note, tlog-checkpoint, tlog-cosignature), vkeys, key
/// names and private key files. A note that parses prints back to the same text.
pub fn signed_note(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let vectors = vectors();
    if let Ok(parsed) = Note::parse(text) {
        assert_eq!(parsed.to_string(), text, "a parsed note prints back to the same text");
        let _ = parsed.verify(std::slice::from_ref(&vectors.log_key));
        let _ = parsed.verify(std::slice::from_ref(&vectors.cosigner));
        let _ = note::add_signature(text, "\u{2014} fuzz.example AAAAAAA=");
    }
    if let Ok((checkpoint, extensions)) = Checkpoint::parse_text_with_extensions(text)
        && extensions.is_empty()
    {
        assert_eq!(checkpoint.to_text(), text, "a checkpoint has one spelling");
    }
    // The vector checkpoint is not cosigned, so naming the cosigner (which requires it) never
    // opens it; both ways are exercised.
    let _ = note::open_checkpoint(text, &vectors.log_key, std::slice::from_ref(&vectors.cosigner));
    if let Ok(opened) = note::open_checkpoint(text, &vectors.log_key, &[]) {
        // Only the genuine vector checkpoint (possibly with foreign or cosignature lines) opens.
        assert_eq!(opened.checkpoint.root, vectors.root, "an opened checkpoint is the log's");
        assert_eq!(opened.checkpoint.size, 8);
    }
    let _ = note::parse_go_private_key(text);
    let _ = PublicKey::parse_vkey(text);
    let _ = KeyName::parse(text);
    let _ = SecretKey::from_pem(text, None, &mut no_passphrase);
}

/// Proofs: tlog-proof bundles, consistency proof text, and the Merkle verifiers on raw bytes.
/// A bundle that parses prints back to the same text; an inclusion proof that verifies against
/// the vector tree is the genuine one.
pub fn proof(data: &[u8]) {
    let vectors = vectors();
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(bundle) = InclusionBundle::parse(text) {
            assert_eq!(bundle.to_text(), text, "a bundle has one spelling");
            let entry = &vectors.entries[(bundle.index % vectors.entries.len() as u64) as usize];
            let _ = proof::check_inclusion(text, entry, &vectors.log_key, std::slice::from_ref(&vectors.cosigner));
            if proof::check_inclusion(text, entry, &vectors.log_key, &[]).is_ok() {
                let genuine = vectors.inclusion.iter().find(|(index, _)| *index == bundle.index);
                assert_eq!(genuine.map(|(_, hashes)| hashes), Some(&bundle.hashes), "only genuine proofs verify");
            }
        }
        if let Ok(hashes) = proof::parse_consistency_text(text) {
            assert!(hashes.len() <= lianlog_ledger::limits::MAX_PROOF_HASHES);
            let _ = proof::check_consistency(text, CHECKPOINT, CHECKPOINT, &vectors.log_key, &[]);
        }
    }
    // Raw: index, size (8 bytes each, big-endian), then 32-byte hashes.
    let (Some(index), Some(size)) = (be_u64(data, 0), be_u64(data, 8)) else { return };
    let hashes: Vec<Hash> = data[16..].chunks_exact(32).take(70).filter_map(|c| c.try_into().ok()).collect();
    let leaf = hashes.first().copied().unwrap_or_default();
    let root = hashes.get(1).copied().unwrap_or_default();
    let path = hashes.get(2..).unwrap_or_default();
    let _ = merkle::verify_inclusion(index, size, &leaf, path, &root);
    let _ = merkle::verify_consistency(index, size, &leaf, &root, path);
    if let Ok(range) = CompactRange::from_parts(size, path) {
        let _ = range.root();
    }
    // Against the vector tree: only the genuine audit path of a real leaf verifies.
    let index = index % 8;
    let real_leaf = EntryHash::of_entry_bytes(&vectors.entries[index as usize]).0;
    if merkle::verify_inclusion(index, 8, &real_leaf, path, &vectors.root) {
        let genuine = vectors.inclusion.iter().find(|(i, _)| *i == index).map(|(_, hashes)| hashes.as_slice());
        assert_eq!(genuine, Some(path), "only the genuine audit path verifies");
    }
}

fn be_u64(data: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(data.get(at..at + 8)?.try_into().ok()?))
}

/// JSON Lines imports: `parse_import`, then the per-record checks an append starts with.
pub fn import(data: &[u8]) {
    let Ok(drafts) = lianlog_ledger::parse_import(data) else { return };
    assert!(!drafts.is_empty(), "an accepted import has records");
    assert!(drafts.len() <= data.split(|&b| b == b'\n').count(), "at most one record per line");
    for draft in &drafts {
        let _ = lianlog_ledger::record::is_valid_kind(&draft.kind);
        let _ = canonical::encode(&draft.body, "body");
        let _ = schema::validate(&draft.kind, draft.v, &draft.body, time());
    }
}

/// The export verifier fed arbitrary lines (an export is JSON Lines: split at `\n`). A log that
/// verifies has one entry per line and the Merkle root of its entries. Withheld bodies are allowed
/// (an export without bodies); everything else is as strict as for the ledger's own log.
pub fn verifier(data: &[u8]) {
    let allow_withheld = true;
    let body = data.strip_suffix(b"\n").unwrap_or(data);
    let lines: Vec<&[u8]> = if data.is_empty() { Vec::new() } else { body.split(|&b| b == b'\n').collect() };
    let options = VerifyOptions { allow_withheld, expected_log_key: None, root_sizes: vec![1, 4, 8] };
    let mut verifier = Verifier::new(options);
    for (index, line) in lines.iter().enumerate() {
        if verifier.push(index as u64 + 1, line.to_vec()).is_err() {
            return;
        }
    }
    let reread = |seq: u64| -> Result<Vec<u8>, String> {
        lines.get(seq as usize).map(|l| l.to_vec()).ok_or("no such line".into())
    };
    let Ok(report) = verifier.finish(reread) else { return };
    assert_eq!(report.entries, lines.len() as u64, "every line is an entry");
    let mut tree = CompactRange::new();
    for line in &lines {
        let parsed = ParsedLine::parse(line).expect("a verified line parses");
        tree.append(parsed.entry_hash.0).expect("tree");
    }
    assert_eq!(report.root, tree.root(), "the verified root is the root of the entries");
}

/// Prefixes of the vector ledger that are whole ledgers by themselves (entry 4 is redacted by
/// entry 7, so a prefix ending between them is not).
const LEDGER_PREFIXES: [usize; 4] = [1, 3, 4, 8];

/// Lines written behind the derived store (issue 12): a ledger holding a valid prefix of the
/// vector ledger with its store up to date, then lines appended to its log behind the store.
/// `Ledger::open` must check them as the verifier does: it may refuse, but if it opens, the log
/// it applied verifies on its own to the same size and head — nothing unverified got in.
///
/// Input: one mode byte, then either the lines to append (mode bit 2 clear), or (bit 2 set) a
/// patch to the genuine continuation of the prefix: a 16-bit offset, then bytes XORed in there,
/// which makes near-valid forgeries (a flipped signature, author, seq or body) likely.
pub fn catch_up(data: &[u8]) {
    use std::io::Write as _;
    let Some((&mode, rest)) = data.split_first() else { return };
    let prefix = LEDGER_PREFIXES[usize::from(mode & 3)];
    let lines: Vec<&str> = LEDGER_JSONL.lines().collect();
    let appended: Vec<u8> = if mode & 4 != 0 && prefix < lines.len() && rest.len() >= 2 {
        let mut genuine: Vec<u8> = lines[prefix..].iter().flat_map(|l| l.bytes().chain([b'\n'])).collect();
        let offset = usize::from(u16::from_be_bytes([rest[0], rest[1]])) % genuine.len();
        for (at, patch) in (offset..genuine.len()).zip(&rest[2..]) {
            genuine[at] ^= patch;
        }
        genuine
    } else {
        rest.to_vec()
    };

    let temp = tempfile::tempdir().expect("temporary directory");
    let dir = temp.path().join("ledger");
    std::fs::create_dir_all(dir.join("log")).expect("log directory");
    let origin = vectors().registry.origin.clone();
    std::fs::write(dir.join("lianlog.json"), format!("{{\"format\":1,\"origin\":\"{origin}\"}}\n")).expect("meta");
    let segment = dir.join("log").join("00000000000000000000.jsonl");
    let valid: String = lines[..prefix].iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&segment, &valid).expect("segment");
    let opened = lianlog_ledger::Ledger::open(&dir).expect("a valid prefix of the vectors opens");
    assert_eq!(opened.size(), prefix as u64);
    drop(opened);
    let mut file = std::fs::OpenOptions::new().append(true).open(&segment).expect("segment");
    file.write_all(&appended).expect("append");
    drop(file);

    let Ok(ledger) = lianlog_ledger::Ledger::open(&dir) else { return };
    let (size, head) = (ledger.size(), ledger.head());
    assert!(size >= prefix as u64, "an open never loses verified entries");
    drop(ledger);
    let report = lianlog_ledger::verify_dir(&dir, VerifyOptions::default())
        .expect("the log can be read")
        .unwrap_or_else(|failure| panic!("the ledger opened at size {size}, but its log fails: {failure}"));
    assert_eq!((report.entries, report.head), (size, head), "the ledger holds exactly the verified log");
}
