//! Building a disclosure package for one person from a ledger: one pass over the log for the
//! key lines, corrections and redactions, the person's records chosen by the rule of `cases`,
//! masked by `masking` where they are also about someone else, each line with its inclusion
//! proof under one checkpoint of the whole ledger, and the package signed by an officer's or
//! admin's key. A person no record concerns is refused and nothing is written.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::cases::Cases;
use super::masking::{mask_body, reduce_key_body};
use super::{FORMAT, Package, SIGNED_PREFIX, WITHHELD_REDACTED};
use crate::error::{Error, Result};
use crate::keys::{PublicKey, SecretKey};
use crate::ledger::Ledger;
use crate::record::{ParsedLine, StoredBody, StoredLine};
use crate::registry::Role;

fn stored_line_value(line: &StoredLine) -> Result<Value> {
    let bytes = line.to_line().map_err(|e| Error::verification(e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::verification(e.to_string()))
}

fn proof_value(ledger: &Ledger, seq: u64, size: u64) -> Result<Value> {
    let proof = ledger.inclusion_proof(seq, size)?;
    Ok(Value::Array(proof.iter().map(|h| Value::String(crate::encoding::hex(h))).collect()))
}

/// One record of the ledger and what says whom it is about: its own body, its corrections and its
/// redaction.
struct Group {
    line: ParsedLine,
    /// The `ledger.redact` entry that removed its body.
    redaction: Option<ParsedLine>,
    corrections: Vec<ParsedLine>,
}

impl Group {
    fn kind(&self) -> &str {
        &self.line.line.entry.record.kind
    }

    /// Every body that speaks for this record, as a body of its kind.
    fn bodies(&self) -> Vec<&Value> {
        let mut out: Vec<&Value> = self.line.line.body().into_iter().collect();
        if let Some(replacement) =
            self.redaction.as_ref().and_then(|r| r.line.body()).and_then(|b| b.get("replacement"))
        {
            out.push(replacement);
        }
        out.extend(self.corrections.iter().filter_map(|c| c.line.body()).filter_map(|b| b.get("body")));
        out
    }
}

/// The checkpoint a package is proven against.
#[derive(Clone, Copy)]
pub enum PackageCheckpoint<'a> {
    /// A fresh checkpoint of the whole ledger, signed now with the log key.
    Sign(&'a SecretKey),
    /// A checkpoint already signed by the log key — typically one witnesses have cosigned, so
    /// that the person can require their cosignatures (`check disclosure --cosigner`) — which
    /// must cover the whole ledger as it is now.
    Given(&'a str),
}

/// A given checkpoint for a package: signed by this ledger's log key, for its origin, of its
/// whole size and root (a package proves every record against one tree: the ledger's now).
fn checked_given_checkpoint(ledger: &Ledger, note: &str) -> Result<String> {
    let log_key = PublicKey::parse_vkey(&ledger.registry().log_key)?;
    let verified = crate::note::open_checkpoint(note, &log_key, &[])?;
    let given = &verified.checkpoint;
    if given.origin != ledger.origin() {
        return Err(Error::bad_input(format!(
            "the checkpoint is for ledger {:?}, not {:?}",
            given.origin,
            ledger.origin()
        )));
    }
    if given.size == ledger.size() && given.root != ledger.root() {
        return Err(Error::verification(format!(
            "the checkpoint and this ledger: {}",
            crate::proof::fork_message(given.size, &given.root, &ledger.root())
        )));
    }
    if given.size != ledger.size() {
        return Err(Error::bad_input(format!(
            "the checkpoint covers {} entries, but a package is proven against the whole ledger ({} entries) \
             as it is now; have the latest checkpoint (`lianlog checkpoint`) cosigned and pass that one",
            given.size,
            ledger.size()
        )));
    }
    Ok(note.to_string())
}

/// Build the package for `person` against a checkpoint of the whole ledger signed by `log_key`,
/// signed by `signer` (an officer's or admin's key, active now).
///
/// Refuses (bad input, nothing written) a person no record concerns.
pub fn disclose(ledger: &Ledger, person: &str, checkpoint: PackageCheckpoint, signer: &SecretKey) -> Result<Package> {
    prepare(ledger, person, checkpoint, signer.public())?.sign(signer)
}

/// A package built from a ledger and not yet signed: what `lianlog serve` sends the officer who
/// asked, whose key signs it on their own machine ([`UnsignedPackage::sign`]); `disclose` is
/// `prepare` then `sign`, so the two paths build the same package.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnsignedPackage {
    /// The package object without its `signature` member.
    pub package: Value,
    /// Record lines in the package (full, masked and redacted).
    pub records: usize,
    /// Of which masked.
    pub masked: usize,
    /// Of which redacted.
    pub redacted: usize,
    /// Seqs listed as withheld.
    pub withheld: usize,
    /// Key records included.
    pub key_lines: usize,
    /// The size of the checkpoint the package proves against.
    pub size: u64,
    /// The identity of the key that is to sign it (the package's `signer`).
    pub signer: String,
}

impl UnsignedPackage {
    /// Sign the package with `key`, which must be the key it names as its signer (format v2:
    /// the signature covers the canonical package without it, after `SIGNED_PREFIX`).
    pub fn sign(self, key: &SecretKey) -> Result<Package> {
        let identity = key.public().identity();
        let named = self.package.get("signer").and_then(Value::as_str);
        if identity != self.signer || named != Some(self.signer.as_str()) {
            return Err(Error::key(format!(
                "the package is to be signed by {}, not by key {identity}; give that key",
                self.signer
            )));
        }
        let mut package = self.package;
        let unsigned = crate::canonical::encode(&package, "package").map_err(|e| Error::bad_input(e.to_string()))?;
        package["signature"] = json!(key.signature_value(&[SIGNED_PREFIX, &unsigned].concat()));
        let mut text = String::from_utf8(
            crate::canonical::encode(&package, "package").map_err(|e| Error::bad_input(e.to_string()))?,
        )
        .map_err(|_| Error::bad_input("package is not UTF-8"))?;
        text.push('\n');
        Ok(Package {
            text,
            records: self.records,
            masked: self.masked,
            redacted: self.redacted,
            withheld: self.withheld,
            key_lines: self.key_lines,
            size: self.size,
            signer: self.signer,
        })
    }
}

/// Build the package for `person` (as [`disclose`] does) to be signed by the key `signer`, which
/// must be an officer's or admin's key of this ledger, active now.
pub fn prepare(
    ledger: &Ledger,
    person: &str,
    checkpoint: PackageCheckpoint,
    signer: &PublicKey,
) -> Result<UnsignedPackage> {
    let size = ledger.size();
    let signer_id = signer.identity();
    let registry = ledger.registry();
    let allowed = registry.keys.get(&signer_id).is_some_and(|state| {
        state.revoked.is_none()
            && state.vkey == signer.vkey()
            && (state.roles.contains(&Role::Officer) || state.roles.contains(&Role::Admin))
    });
    if !allowed {
        return Err(Error::unauthorized(format!(
            "key {signer_id} cannot sign a disclosure package: it must be an officer's or an admin's key \
             granted in this ledger and not revoked (see `lianlog key list`)"
        )));
    }
    let checkpoint = match checkpoint {
        PackageCheckpoint::Sign(log_key) => ledger.checkpoint(size, log_key)?,
        PackageCheckpoint::Given(note) => checked_given_checkpoint(ledger, note)?,
    };

    // One pass over the log: the key-registry lines, and which records were corrected or
    // redacted (neither is indexed by person once the body is gone or corrected away).
    let mut keys = Vec::new();
    let mut corrections: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    let mut redactions: BTreeMap<u64, u64> = BTreeMap::new();
    for line in ledger.lines_from(0)? {
        let line = line?;
        let entry = &line.line.entry;
        let kind = entry.record.kind.as_str();
        if entry.seq == 0 || kind.starts_with("key.") {
            let body = line.line.body().ok_or_else(|| {
                Error::verification(format!("seq {}: a key-registry line has no body; run `lianlog verify`", entry.seq))
            })?;
            keys.push(json!({
                "line": stored_line_value(&line.line.withheld())?,
                "proof": proof_value(ledger, entry.seq, size)?,
                "reduced": reduce_key_body(kind, body),
            }));
        } else if let Some(body) = line.line.body() {
            let target = body["target"]["seq"].as_u64();
            match (kind, target) {
                ("correction", Some(target)) => corrections.entry(target).or_default().push(entry.seq),
                ("ledger.redact", Some(target)) => {
                    redactions.insert(target, entry.seq);
                }
                _ => {}
            }
        }
    }

    // Candidates: the person's index (names and case links, bodies in force) and every
    // corrected or redacted record.
    let mut candidates: BTreeSet<u64> = ledger.dossier(person)?.iter().map(|view| view.seq).collect();
    candidates.extend(corrections.keys());
    candidates.extend(redactions.keys());
    let mut groups = Vec::new();
    for seq in candidates {
        let line = ledger.read(seq)?;
        let kind = line.line.entry.record.kind.as_str();
        if crate::record::kind_keeps_body(kind) || kind == "correction" {
            continue;
        }
        let redaction = match line.line.body {
            StoredBody::Redacted { by } => Some(ledger.read(by)?),
            _ => None,
        };
        let corrections =
            corrections.get(&seq).into_iter().flatten().map(|c| ledger.read(*c)).collect::<Result<_>>()?;
        groups.push(Group { line, redaction, corrections });
    }
    let bodies: Vec<(&str, &Value)> =
        groups.iter().flat_map(|g| g.bodies().into_iter().map(move |body| (g.kind(), body))).collect();
    let cases = Cases::new(person, &bodies);

    let mut records: Vec<(u64, Value)> = Vec::new();
    let (mut masked, mut redacted) = (0, 0);
    let mut withheld = Vec::new();
    for group in &groups {
        let kind = group.kind();
        let group_bodies = group.bodies();
        if group_bodies.is_empty() {
            withheld.push(json!({"seq": group.line.line.entry.seq, "why": WITHHELD_REDACTED}));
            continue;
        }
        if !group_bodies.iter().any(|body| cases.concerns(kind, body)) {
            continue;
        }
        let others = group_bodies.iter().any(|body| cases.names_others(kind, body));
        let v = group.line.line.entry.record.v;
        let target = Some((kind, v));
        let current = Some((kind, crate::schema::current_version(kind)));
        // The record itself: full unless its own body is also about someone else.
        let own_others = group.line.line.body().is_some_and(|body| cases.names_others(kind, body));
        let own_target = None;
        for (line, mask_target, mask) in std::iter::once((&group.line, own_target, own_others))
            .chain(group.redaction.iter().map(|r| (r, target, others)))
            .chain(group.corrections.iter().map(|c| (c, current, others)))
        {
            let seq = line.line.entry.seq;
            let item = match line.line.body() {
                Some(body) if mask => {
                    masked += 1;
                    let record = &line.line.entry.record;
                    json!({
                        "line": stored_line_value(&line.line.withheld())?,
                        "masked": mask_body(&record.kind, record.v, body, person, mask_target),
                        "proof": proof_value(ledger, seq, size)?,
                    })
                }
                body => {
                    redacted += usize::from(body.is_none());
                    json!({"line": stored_line_value(&line.line)?, "proof": proof_value(ledger, seq, size)?})
                }
            };
            records.push((seq, item));
        }
    }
    if records.is_empty() {
        let unknown = if withheld.is_empty() {
            String::new()
        } else {
            format!(
                " ({} redacted records have no replacement, so the ledger no longer knows whom they named)",
                withheld.len()
            )
        };
        return Err(Error::bad_input(format!(
            "no record names person {person}{unknown}; check the id with `lianlog query --person {person}` \
             or `lianlog dossier {person}`; nothing was written"
        )));
    }
    records.sort_by_key(|(seq, _)| *seq);
    let (record_count, key_count, withheld_count) = (records.len(), keys.len(), withheld.len());
    let package = json!({
        "checkpoint": checkpoint,
        "format": FORMAT,
        "keys": keys,
        "origin": ledger.origin(),
        "person": person,
        "records": records.into_iter().map(|(_, item)| item).collect::<Vec<_>>(),
        "signer": signer_id,
        "withheld": withheld,
    });
    Ok(UnsignedPackage {
        package,
        records: record_count,
        masked,
        redacted,
        withheld: withheld_count,
        key_lines: key_count,
        size,
        signer: signer_id,
    })
}
