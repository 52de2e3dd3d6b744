//! Disclosure packages (个人信息披露): what the ledger says about one person, provably, and
//! nothing about anyone else.
//!
//! A package is one canonical JSON object (JCS, followed by a newline), so that any altered byte
//! either breaks its canonical form or changes a value that is checked:
//!
//! ```text
//! {"checkpoint": <signed note>, "format": "lianlog-disclosure/v1",
//!  "keys": [{"line": <stored line>, "proof": [<hex>, …]}, …],
//!  "origin": <origin>, "person": <person id>,
//!  "records": [{"line": <stored line>, "proof": [<hex>, …]}, …]}
//! ```
//!
//! `records` are the full stored lines whose bodies name the person (as a subject, interviewer,
//! reporter or target, or in a correction's corrected body), in seq order; `keys` are the genesis
//! and every `key.*` line up to the checkpoint (the key registry needed to check the signatures).
//! Each line carries its RFC 9162 inclusion proof at index = its seq in the tree the checkpoint
//! signs. [`check`] needs only the package, the log's vkey and a crypto library.
//!
//! What a package cannot prove: that no key line was left out (a verifier trusts the key lines it
//! is given, each proven to be in the ledger); that no other record names the person.

use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::keys::{PublicKey, SecretKey};
use crate::ledger::Ledger;
use crate::record::ParsedLine;
use crate::registry::KeyRegistry;

pub const FORMAT: &str = "lianlog-disclosure/v1";

/// A written package and what it holds.
#[derive(Debug, Clone)]
pub struct Package {
    pub text: String,
    pub records: usize,
    pub key_lines: usize,
    pub size: u64,
}

/// What a successful check established.
#[derive(Debug, Clone)]
pub struct Checked {
    pub person: String,
    pub origin: String,
    pub size: u64,
    /// (seq, kind) of each disclosed record.
    pub records: Vec<(u64, String)>,
    /// The cosignatures on the package's checkpoint by the cosigners the caller required.
    pub cosignatures: Vec<crate::note::Cosignature>,
}

/// Whether a record body names the person.
pub fn names_person(kind: &str, body: &Value, person: &str) -> bool {
    let direct = crate::projection::person_ids(kind, body).iter().any(|id| id == person);
    let corrected = kind == "correction"
        && body.get("body").is_some_and(|inner| crate::projection::person_ids("", inner).iter().any(|id| id == person));
    direct || corrected
}

fn stored_line_value(line: &ParsedLine) -> Result<Value> {
    let bytes = line.line.to_line().map_err(|e| Error::verification(e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::verification(e.to_string()))
}

/// Build the package for `person` against a checkpoint of the whole ledger signed by `log_key`.
pub fn disclose(ledger: &Ledger, person: &str, log_key: &SecretKey) -> Result<Package> {
    let size = ledger.size();
    let checkpoint = ledger.checkpoint(size, log_key)?;
    let mut record_seqs: Vec<u64> = ledger.dossier(person)?.iter().map(|r| r.seq).collect();
    for view in ledger.query(&crate::query::QueryFilter { kind: Some("correction".into()), ..Default::default() })? {
        record_seqs.push(view.seq);
    }
    record_seqs.sort_unstable();
    record_seqs.dedup();
    let mut records = Vec::new();
    for seq in record_seqs {
        let line = ledger.read(seq)?;
        let names = line.line.body().is_some_and(|body| names_person(&line.line.entry.record.kind, body, person));
        if names {
            let proof = ledger.inclusion_proof(seq, size)?;
            records.push(json!({"line": stored_line_value(&line)?, "proof": proof.iter().map(|h| crate::encoding::hex(h)).collect::<Vec<_>>()}));
        }
    }
    let mut keys = Vec::new();
    for line in ledger.lines_from(0)? {
        let line = line?;
        let kind = &line.line.entry.record.kind;
        if line.line.entry.seq == 0 || kind.starts_with("key.") {
            let proof = ledger.inclusion_proof(line.line.entry.seq, size)?;
            keys.push(json!({"line": stored_line_value(&line)?, "proof": proof.iter().map(|h| crate::encoding::hex(h)).collect::<Vec<_>>()}));
        }
    }
    let (record_count, key_count) = (records.len(), keys.len());
    let package = json!({
        "checkpoint": checkpoint,
        "format": FORMAT,
        "keys": keys,
        "origin": ledger.origin(),
        "person": person,
        "records": records,
    });
    let mut text =
        String::from_utf8(crate::canonical::encode(&package, "package").map_err(|e| Error::bad_input(e.to_string()))?)
            .map_err(|_| Error::bad_input("package is not UTF-8"))?;
    text.push('\n');
    Ok(Package { text, records: record_count, key_lines: key_count, size })
}

/// Check a package offline against the log's vkey; every cosigner in `cosigners` must have
/// cosigned its checkpoint.
pub fn check(text: &str, log_key: &PublicKey, cosigners: &[PublicKey]) -> Result<Checked> {
    let bad = |why: String| Error::verification(format!("disclosure package: {why}"));
    let body = text.strip_suffix('\n').ok_or_else(|| bad("must end with a newline".into()))?;
    let package = crate::canonical::parse_canonical(body.as_bytes(), "package").map_err(|e| bad(e.to_string()))?;
    let members = crate::registry::object_with(
        &package,
        "package",
        &["checkpoint", "format", "keys", "origin", "person", "records"],
        &[],
    )
    .map_err(|e| bad(e.to_string()))?;
    if members["format"] != FORMAT {
        return Err(bad(format!("format must be {FORMAT:?}")));
    }
    let person = members["person"].as_str().ok_or_else(|| bad("person must be a string".into()))?;
    let origin = members["origin"].as_str().ok_or_else(|| bad("origin must be a string".into()))?;
    let note = members["checkpoint"].as_str().ok_or_else(|| bad("checkpoint must be a string".into()))?;
    let checkpoint = crate::note::open_checkpoint(note, log_key, cosigners)?;
    let (size, root) = (checkpoint.checkpoint.size, checkpoint.checkpoint.root);
    if checkpoint.checkpoint.origin != origin {
        return Err(bad(format!(
            "the checkpoint is for {:?}, the package says {origin:?}",
            checkpoint.checkpoint.origin
        )));
    }
    // Parse and prove every line, then walk keys and records together in seq order.
    let mut lines: Vec<(bool, ParsedLine)> = Vec::new();
    for (section, is_record) in [("keys", false), ("records", true)] {
        let items = members[section].as_array().ok_or_else(|| bad(format!("{section} must be a list")))?;
        let mut previous: Option<u64> = None;
        for (index, item) in items.iter().enumerate() {
            let place = format!("{section}[{index}]");
            let item =
                crate::registry::object_with(item, &place, &["line", "proof"], &[]).map_err(|e| bad(e.to_string()))?;
            let bytes = crate::canonical::encode(&item["line"], &place).map_err(|e| bad(e.to_string()))?;
            let parsed = ParsedLine::parse(&bytes).map_err(|e| bad(format!("{place}.line: {e}")))?;
            let seq = parsed.line.entry.seq;
            if previous.is_some_and(|p| p >= seq) {
                return Err(bad(format!("{place}: lines must be in increasing seq order")));
            }
            previous = Some(seq);
            let proof: Vec<[u8; 32]> = item["proof"]
                .as_array()
                .ok_or_else(|| bad(format!("{place}.proof must be a list")))?
                .iter()
                .take(crate::proof::MAX_PROOF_HASHES + 1)
                .map(|h| h.as_str().and_then(crate::encoding::parse_hex::<32>))
                .collect::<Option<_>>()
                .ok_or_else(|| bad(format!("{place}.proof: hashes must be 64 lowercase hex digits")))?;
            if !crate::merkle::verify_inclusion(seq, size, &parsed.entry_hash.0, &proof, &root) {
                return Err(bad(format!(
                    "{place}: seq {seq} is not in the tree the checkpoint signs (the line or its proof was altered)"
                )));
            }
            lines.push((is_record, parsed));
        }
    }
    lines.sort_by_key(|(_, line)| line.line.entry.seq);
    let mut registry = KeyRegistry::default();
    let mut records = Vec::new();
    for (is_record, line) in &lines {
        let entry = &line.line.entry;
        let seq = entry.seq;
        let key = if seq == 0 {
            let body = line.line.body().ok_or_else(|| bad("the genesis line has no body".into()))?;
            registry.apply(0, &entry.record, body).map_err(|e| bad(format!("genesis: {e}")))?;
            if registry.log_key != log_key.vkey() {
                return Err(bad(format!("genesis names log key {}, not {}", registry.log_key, log_key.vkey())));
            }
            registry
                .public_key(&entry.record.author)
                .cloned()
                .ok_or_else(|| bad("genesis author is not an admin".into()))?
        } else {
            if registry.is_empty() {
                return Err(bad("the genesis line (seq 0) must come first".into()));
            }
            registry.authorize(&entry.record, seq).map_err(|e| bad(format!("seq {seq}: not authorized: {e}")))?.clone()
        };
        key.verify_signature_value(&entry.record.note_text(), &entry.sig)
            .map_err(|problem| bad(format!("seq {seq}: record signature: {problem}")))?;
        if *is_record {
            let body =
                line.line.body().ok_or_else(|| bad(format!("seq {seq}: a disclosed record must carry its body")))?;
            if !names_person(&entry.record.kind, body, person) {
                return Err(bad(format!(
                    "seq {seq} does not name {person}: a package holds only records about its person"
                )));
            }
            records.push((seq, entry.record.kind.clone()));
        } else if seq != 0 {
            if !entry.record.kind.starts_with("key.") {
                return Err(bad(format!("keys: seq {seq} is a {} record, not a key-registry line", entry.record.kind)));
            }
            let body = line.line.body().ok_or_else(|| bad(format!("seq {seq}: key lines carry their bodies")))?;
            registry.apply(seq, &entry.record, body).map_err(|e| bad(format!("seq {seq}: {e}")))?;
        }
    }
    Ok(Checked {
        person: person.to_string(),
        origin: origin.to_string(),
        size,
        records,
        cosignatures: checkpoint.cosignatures,
    })
}
