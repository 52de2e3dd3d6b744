//! Receipts (回执): what a ledger answers an accepted append with, so that the author can prove
//! later, offline, that the ledger accepted the record at that seq — and, with a consistency proof
//! to any later checkpoint, that it is still there.
//!
//! A receipt is `{"entry": <the entry object>, "entry_hash": "<hex>", "proof": "<C2SP tlog-proof
//! text>", "seq": N}`: the entry (record, signature, seq, prev, time — never the body), its hash,
//! and a c2sp.org/tlog-proof@v1 inclusion bundle against a checkpoint signed by the log key that
//! covers it. A receipt file holds receipts as JSON Lines, one per line (docs/FORMAT.md,
//! "Receipts").
//!
//! Guarantees: [`Receipt::build`] makes a receipt only against a checkpoint of this ledger's tree
//! (same origin, a size the ledger has, the root the ledger has at that size), so the ledger never
//! hands out a receipt that does not check; [`Receipt::check`] trusts nothing in the receipt: it
//! re-encodes the entry, hashes it, and checks the inclusion bundle with the pinned log key (and
//! any cosigner policy) through the same `proof::check_inclusion` as `lianlog check inclusion`.

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::keys::PublicKey;
use crate::ledger::{Ledger, Submission};
use crate::note::{Checkpoint, CosignerPolicy, Note, VerifiedCheckpoint};
use crate::proof::InclusionBundle;
use crate::record::{Entry, EntryHash, parse_entry};

/// An accepted append's receipt: the entry, its hash and seq, and its inclusion proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The entry's seq.
    pub seq: u64,
    /// Its entry hash (its RFC 6962 leaf hash).
    pub entry_hash: EntryHash,
    /// The entry, without the body.
    pub entry: Entry,
    /// A c2sp.org/tlog-proof@v1 inclusion bundle of the entry against a log-signed checkpoint.
    pub proof: String,
}

/// What [`Receipt::check`] established.
#[derive(Debug, Clone)]
pub struct ReceiptChecked {
    /// The entry's seq.
    pub seq: u64,
    /// Its entry hash.
    pub entry_hash: EntryHash,
    /// The record's kind.
    pub kind: String,
    /// The record's author (a key identity).
    pub author: String,
    /// The checkpoint the entry is proved included in, with the cosignatures that verified.
    pub checkpoint: VerifiedCheckpoint,
}

impl Receipt {
    /// The receipt of entry `seq` against `checkpoint`, a signed checkpoint of this ledger (the
    /// log key's signature, any cosignatures) whose tree contains the entry. A checkpoint of
    /// another ledger, of a size the ledger does not have, or of another root is refused.
    pub fn build(ledger: &Ledger, seq: u64, checkpoint: &str) -> Result<Receipt> {
        let note = Note::parse(checkpoint).map_err(|e| e.at("the checkpoint of a receipt"))?;
        let signed = Checkpoint::parse_text(&note.text).map_err(|e| e.at("the checkpoint of a receipt"))?;
        if signed.origin != ledger.origin() {
            return Err(Error::bad_input(format!(
                "the checkpoint is of {}, not of this ledger {}",
                signed.origin,
                ledger.origin()
            )));
        }
        if seq >= signed.size {
            return Err(Error::bad_input(format!(
                "entry {seq} is not in the checkpoint's tree of size {}: a receipt needs a checkpoint that covers it",
                signed.size
            )));
        }
        if ledger.root_at(signed.size)? != signed.root {
            return Err(Error::verification(format!(
                "the checkpoint's root for size {} is not this ledger's root at that size",
                signed.size
            )));
        }
        let line = ledger.read(seq)?;
        let hashes = ledger.inclusion_proof(seq, signed.size)?;
        let proof = InclusionBundle { extra: None, index: seq, hashes, checkpoint: checkpoint.to_string() }.to_text();
        Ok(Receipt { seq, entry_hash: line.entry_hash, entry: line.line.entry, proof })
    }

    /// The receipt as a JSON value.
    pub fn to_value(&self) -> Value {
        // The entry's canonical bytes are JSON of the entry object, members in order.
        let entry = serde_json::from_slice(&self.entry.canonical_bytes()).unwrap_or(Value::Null); // ok: our own JSON
        let mut members = Map::new();
        members.insert("entry".into(), entry);
        members.insert("entry_hash".into(), Value::String(self.entry_hash.to_hex()));
        members.insert("proof".into(), Value::String(self.proof.clone()));
        members.insert("seq".into(), Value::from(self.seq));
        Value::Object(members)
    }

    /// The receipt as one line of a receipt file (JSON, then a newline).
    pub fn to_line(&self) -> String {
        let mut line = self.to_value().to_string();
        line.push('\n');
        line
    }

    /// Parse one receipt strictly: exactly the members `entry`, `entry_hash`, `proof` and `seq`,
    /// each of its one form. `path` names it in messages (`receipts[2]`, `line 3`). The contents
    /// are checked by [`Receipt::check`], not here.
    pub fn from_value(value: Value, path: &str) -> Result<Receipt> {
        let bad = |member: &str, why: &str| Error::bad_input(format!("{path}{member}: {why}"));
        let Value::Object(mut members) = value else {
            return Err(bad("", "a receipt must be a JSON object {\"entry\",\"entry_hash\",\"proof\",\"seq\"}"));
        };
        if let Some(unknown) = members.keys().find(|k| !["entry", "entry_hash", "proof", "seq"].contains(&k.as_str())) {
            return Err(bad(&format!(".{unknown}"), "unknown member of a receipt"));
        }
        let mut take = |member: &str| members.remove(member).ok_or_else(|| bad(&format!(".{member}"), "missing"));
        let entry = take("entry")?;
        let entry_hash = take("entry_hash")?;
        let proof = take("proof")?;
        let seq = take("seq")?;
        let seq = seq
            .as_u64()
            .filter(|n| *n <= crate::canonical::MAX_SAFE_INTEGER as u64)
            .ok_or_else(|| bad(".seq", "must be a non-negative integer"))?;
        let entry_hash = entry_hash
            .as_str()
            .and_then(EntryHash::parse_hex)
            .ok_or_else(|| bad(".entry_hash", "must be 64 lowercase hex digits"))?;
        let Value::String(proof) = proof else { return Err(bad(".proof", "must be a string")) };
        let entry = parse_entry(entry).map_err(|e| bad(&format!(".{}", e.path), &e.reason))?;
        Ok(Receipt { seq, entry_hash, entry, proof })
    }

    /// Parse a receipt file: JSON Lines, one receipt a line (empty lines are skipped); at least
    /// one. Errors name the line.
    pub fn parse_file(bytes: &[u8]) -> Result<Vec<Receipt>> {
        if bytes.len() > crate::limits::MAX_IMPORT_BYTES {
            return Err(Error::bad_input(format!(
                "the receipt file is {} bytes; the limit is {}",
                bytes.len(),
                crate::limits::MAX_IMPORT_BYTES
            )));
        }
        let bytes = crate::canonical::without_bom(bytes);
        let mut receipts = Vec::new();
        for (number, line) in bytes.split(|b| *b == b'\n').enumerate() {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let place = format!("line {}", number + 1);
            let value =
                crate::canonical::parse_json(line, "receipt").map_err(|e| Error::bad_input(format!("{place}: {e}")))?;
            receipts.push(Receipt::from_value(value, &format!("{place}: receipt"))?);
        }
        if receipts.is_empty() {
            return Err(Error::bad_input("the receipt file holds no receipt (one JSON object a line)"));
        }
        Ok(receipts)
    }

    /// The 200 answer of `POST /lianlog/v1/append`: `{"receipts":[…]}`, in the order submitted.
    pub fn answer_to_json(receipts: &[Receipt]) -> Vec<u8> {
        let answer = serde_json::json!({"receipts": receipts.iter().map(Receipt::to_value).collect::<Vec<_>>()});
        serde_json::to_vec(&answer).unwrap_or_default() // ok: a Value always serializes
    }

    /// Parse the 200 answer of `POST /lianlog/v1/append` strictly (`{"receipts":[…]}`).
    pub fn parse_answer(bytes: &[u8]) -> Result<Vec<Receipt>> {
        let value = crate::canonical::parse_json(bytes, "answer").map_err(|e| Error::bad_input(e.to_string()))?;
        let Value::Object(mut members) = value else {
            return Err(Error::bad_input("answer: must be a JSON object {\"receipts\":[…]}"));
        };
        let Some(Value::Array(items)) = members.remove("receipts") else {
            return Err(Error::bad_input("answer.receipts: missing or not an array"));
        };
        if let Some(unknown) = members.keys().next() {
            return Err(Error::bad_input(format!("answer.{unknown}: unknown member")));
        }
        items
            .into_iter()
            .enumerate()
            .map(|(index, item)| Receipt::from_value(item, &format!("receipts[{index}]")))
            .collect()
    }

    /// Check the receipt offline, trusting nothing in it: the entry's hash is `entry_hash`, its
    /// seq is `seq`, and the inclusion bundle proves it at index `seq` of a checkpoint the log
    /// key signed (and cosigned as `cosigners` requires).
    pub fn check<'a>(&self, log_key: &PublicKey, cosigners: impl Into<CosignerPolicy<'a>>) -> Result<ReceiptChecked> {
        let entry_bytes = self.entry.canonical_bytes();
        let hash = EntryHash::of_entry_bytes(&entry_bytes);
        if hash != self.entry_hash {
            return Err(Error::verification(format!(
                "the receipt's entry hashes to {hash}, not to its entry_hash {}: the receipt was altered",
                self.entry_hash
            )));
        }
        if self.entry.seq != self.seq {
            return Err(Error::verification(format!(
                "the receipt is for seq {} but its entry is seq {}: the receipt was altered",
                self.seq, self.entry.seq
            )));
        }
        let bundle = InclusionBundle::parse(&self.proof).map_err(|e| e.at("proof"))?;
        if bundle.index != self.seq {
            return Err(Error::verification(format!(
                "the receipt's proof is for index {}, not for its seq {}",
                bundle.index, self.seq
            )));
        }
        let checked = crate::proof::check_inclusion(&self.proof, &entry_bytes, log_key, cosigners)?;
        Ok(ReceiptChecked {
            seq: self.seq,
            entry_hash: self.entry_hash,
            kind: self.entry.record.kind.clone(),
            author: self.entry.record.author.clone(),
            checkpoint: checked.checkpoint,
        })
    }

    /// Whether this receipt is for `submission`: the same record and signature. A client checks
    /// this before it reports the append (a server could answer with another record's receipt).
    pub fn is_for(&self, submission: &Submission) -> bool {
        self.entry.record == submission.record && self.entry.sig == submission.sig
    }

    /// Check what can be checked without the log key: the entry's hash, its seq, and the Merkle
    /// inclusion against the root the bundle's checkpoint states (its signature is not checked:
    /// that needs the log key, [`Receipt::check`]).
    pub fn check_unsigned(&self) -> Result<Checkpoint> {
        let entry_bytes = self.entry.canonical_bytes();
        if EntryHash::of_entry_bytes(&entry_bytes) != self.entry_hash || self.entry.seq != self.seq {
            return Err(Error::verification("the receipt's entry does not match its entry_hash and seq"));
        }
        let bundle = InclusionBundle::parse(&self.proof).map_err(|e| e.at("proof"))?;
        let note = Note::parse(&bundle.checkpoint).map_err(|e| e.at("proof"))?;
        let checkpoint = Checkpoint::parse_text(&note.text).map_err(|e| e.at("proof"))?;
        if bundle.index != self.seq
            || !crate::merkle::verify_inclusion(
                self.seq,
                checkpoint.size,
                &self.entry_hash.0,
                &bundle.hashes,
                &checkpoint.root,
            )
        {
            return Err(Error::verification(format!(
                "the receipt's proof does not show entry {} in the tree of size {} its checkpoint states",
                self.seq, checkpoint.size
            )));
        }
        Ok(checkpoint)
    }
}
