//! Client-signed appends (客户端签名提交): a [`Submission`] is a record signed by its author on the
//! author's own machine, with its body and salt; [`Ledger::stage_submissions`] checks a batch of
//! them exactly as [`Ledger::stage`] checks records it signs itself, and more.
//!
//! Guarantees: the private key never leaves the author's machine — the ledger receives a record,
//! its signature, its body and its salt ([`Submission::sign`] makes them). Staging submissions
//! runs the one code path of [`Ledger::stage`] after its signing step (`Ledger::stage_signed`):
//! kind policy, canonical body within its size, chaining, the stored-line parser, the entry size
//! limit, authorization at the record's seq, schema, lifecycle rule and registry changes. Before
//! it, what a record signed elsewhere needs in addition: its body hash matches `SHA-256(salt ‖
//! JCS(body))`, its signature verifies (`verify_strict`) with the key the registry names for its
//! author, its `created` time lies within the clock-skew window of the ledger's time, and it is not
//! a replay — of a record already in the ledger, or of another record of the batch (a record may
//! appear only once, format-v1 section 7 as lianlog applies it). Like every staging, it writes
//! nothing; [`Ledger::commit`] writes the batch whole or not at all.
//!
//! The replay check reads only the entries sequenced from `created − MAX_CLOCK_SKEW_MS` on: every
//! append path sequences a record within [`MAX_CLOCK_SKEW_MS`] of its `created` time (`stage`
//! signs with `created` equal to the entry's time; submissions are held to the window), so an
//! earlier copy of a record created at `T` was sequenced at `T − MAX_CLOCK_SKEW_MS` or later, and
//! entry times never decrease. `verify` still checks every record against every other.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::append::{Signed, check_draft, sign_draft};
use super::{Draft, Ledger, StagedBatch};
use crate::encoding::{hex, parse_hex};
use crate::error::{Error, Result};
use crate::keys::{SecretKey, split_signature_value};
use crate::limits::{DEFAULT_CLOCK_SKEW_MS, MAX_BATCH, MAX_CLOCK_SKEW_MS, MAX_IMPORT_BYTES};
use crate::record::{Record, body_hash, parse_record};
use crate::time::Timestamp;

/// A record signed by its author elsewhere, with its body and the salt of its body hash: what an
/// officer's machine sends to `POST /lianlog/v1/append` (docs/FORMAT.md, "Submissions"). As JSON:
/// `{"body": <object>, "record": <record>, "salt": "<32 hex>", "sig": "<signature>"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    /// The signed record (format-v1 section 4).
    pub record: Record,
    /// The author's signature over `JCS(record) ‖ 0x0A`, as stored in the entry (`sig`).
    pub sig: String,
    /// The record's body.
    pub body: Value,
    /// The random salt of the body hash.
    pub salt: [u8; 16],
}

/// How [`Ledger::stage_submissions`] judges submissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubmitOptions {
    /// How far, in milliseconds, a record's `created` time may lie before or after the time the
    /// ledger sequences it. Default [`DEFAULT_CLOCK_SKEW_MS`] (5 minutes); values above
    /// [`MAX_CLOCK_SKEW_MS`] (1 hour) are refused, since the replay check relies on that bound.
    pub max_clock_skew_ms: u64,
}

impl Default for SubmitOptions {
    fn default() -> SubmitOptions {
        SubmitOptions { max_clock_skew_ms: DEFAULT_CLOCK_SKEW_MS }
    }
}

impl Submission {
    /// Make and sign a record on the author's machine: the draft is checked as `append` checks it
    /// (kind, object body in canonical form, size), a fresh salt blinds the body hash, and `key`
    /// signs the record for the ledger `origin` with `created` as its time. Only the result leaves
    /// the machine; the key does not.
    pub fn sign(origin: &str, draft: &Draft, key: &SecretKey, created: Timestamp) -> Result<Submission> {
        let body_bytes = check_draft(draft, false)?;
        let signed = sign_draft(origin, draft, &body_bytes, key, created)?;
        Ok(Submission { record: signed.record, sig: signed.sig, body: draft.body.clone(), salt: signed.salt })
    }

    /// The submission as a JSON value.
    pub fn to_value(&self) -> Value {
        json!({
            "record": record_value(&self.record),
            "sig": self.sig,
            "body": self.body,
            "salt": hex(&self.salt),
        })
    }

    /// Parse one submission strictly: exactly the members `body`, `record`, `salt` and `sig`, each
    /// of its one form. `path` names it in messages (`submissions[2]`).
    pub fn from_value(value: Value, path: &str) -> Result<Submission> {
        let bad = |member: &str, why: &str| Error::bad_input(format!("{path}{member}: {why}"));
        let Value::Object(mut members) = value else {
            return Err(bad("", "a submission must be a JSON object {\"body\",\"record\",\"salt\",\"sig\"}"));
        };
        if let Some(unknown) = members.keys().find(|k| !["body", "record", "salt", "sig"].contains(&k.as_str())) {
            return Err(bad(&format!(".{unknown}"), "unknown member of a submission"));
        }
        let mut take = |member: &str| members.remove(member).ok_or_else(|| bad(&format!(".{member}"), "missing"));
        let record = take("record")?;
        let sig = take("sig")?;
        let body = take("body")?;
        let salt = take("salt")?;
        let record = parse_record(record).map_err(|e| {
            let member = e.path.strip_prefix("entry.record").unwrap_or(&e.path);
            bad(&format!(".record{member}"), &e.reason)
        })?;
        let Value::String(sig) = sig else { return Err(bad(".sig", "must be a string")) };
        if split_signature_value(&sig).is_err() {
            return Err(bad(".sig", "must be base64 of a 4-byte key id and a 64-byte signature"));
        }
        if !body.is_object() {
            return Err(bad(".body", "must be a JSON object"));
        }
        let salt =
            salt.as_str().and_then(parse_hex::<16>).ok_or_else(|| bad(".salt", "must be 32 lowercase hex digits"))?;
        Ok(Submission { record, sig, body, salt })
    }

    /// The body of `POST /lianlog/v1/append`: `{"submissions":[…]}`.
    pub fn batch_to_json(submissions: &[Submission]) -> Vec<u8> {
        let batch = json!({"submissions": submissions.iter().map(Submission::to_value).collect::<Vec<_>>()});
        serde_json::to_vec(&batch).unwrap_or_default() // ok: a Value always serializes
    }

    /// Parse the body of `POST /lianlog/v1/append` strictly: one JSON object (no duplicate member
    /// anywhere) with the one member `submissions`, an array of 1 to [`MAX_BATCH`] submissions,
    /// within [`MAX_IMPORT_BYTES`]. Errors name the submission and member (`submissions[2].salt`).
    pub fn parse_batch(bytes: &[u8]) -> Result<Vec<Submission>> {
        if bytes.len() > MAX_IMPORT_BYTES {
            return Err(Error::bad_input(format!(
                "the request body is {} bytes; the limit is {MAX_IMPORT_BYTES}",
                bytes.len()
            )));
        }
        let value = crate::canonical::parse_json(bytes, "request").map_err(|e| Error::bad_input(e.to_string()))?;
        let Value::Object(mut members) = value else {
            return Err(Error::bad_input("request: must be a JSON object {\"submissions\":[…]}"));
        };
        let submissions = members
            .remove("submissions")
            .ok_or_else(|| Error::bad_input("request.submissions: missing (the body is {\"submissions\":[…]})"))?;
        if let Some(unknown) = members.keys().next() {
            return Err(Error::bad_input(format!("request.{unknown}: unknown member")));
        }
        let Value::Array(items) = submissions else {
            return Err(Error::bad_input("request.submissions: must be an array of submissions"));
        };
        if items.is_empty() {
            return Err(Error::bad_input("request.submissions: empty; nothing to append"));
        }
        if items.len() > MAX_BATCH {
            return Err(Error::bad_input(format!(
                "request.submissions: {} records in one batch; the limit is {MAX_BATCH}",
                items.len()
            )));
        }
        items
            .into_iter()
            .enumerate()
            .map(|(index, item)| Submission::from_value(item, &format!("submissions[{index}]")))
            .collect()
    }
}

impl serde::Serialize for Submission {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

/// Deserializing goes through [`Submission::from_value`], with its checks; a request body is
/// parsed with [`Submission::parse_batch`], which also refuses duplicate members.
impl<'de> serde::Deserialize<'de> for Submission {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Submission, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Submission::from_value(value, "submission").map_err(|e| serde::de::Error::custom(e.message()))
    }
}

/// A record as a JSON object (the members of format-v1 section 4).
pub(crate) fn record_value(record: &Record) -> Value {
    let mut members = Map::new();
    members.insert("author".into(), Value::String(record.author.clone()));
    members.insert("body_hash".into(), Value::String(hex(&record.body_hash)));
    members.insert("created".into(), Value::String(record.created.to_string()));
    members.insert("kind".into(), Value::String(record.kind.clone()));
    members.insert("ledger".into(), Value::String(record.ledger.clone()));
    members.insert("v".into(), Value::from(record.v));
    Value::Object(members)
}

impl Ledger {
    /// Check a batch of records signed by their authors elsewhere, writing nothing: everything
    /// [`Ledger::stage`] checks after it signs (the same code), and before that each
    /// submission's body hash, its signature with its author's key, its `created` time within
    /// `options.max_clock_skew_ms` of the ledger's time, and that it is not a replay of a record
    /// in the ledger or in the batch. An error names the first failing record (`record N` in a
    /// batch of several). [`Ledger::commit`] writes the result, whole or not at all.
    pub fn stage_submissions(&self, submissions: &[Submission], options: &SubmitOptions) -> Result<StagedBatch> {
        if options.max_clock_skew_ms > MAX_CLOCK_SKEW_MS {
            return Err(Error::bad_input(format!(
                "a clock-skew window of {} ms is above the limit of {MAX_CLOCK_SKEW_MS} ms",
                options.max_clock_skew_ms
            )));
        }
        self.check_batch_size(submissions.len())?;
        let time = self.sequencing_time();
        let mut signed: Vec<Result<Signed>> = {
            use rayon::prelude::*;
            submissions.par_iter().map(|submission| self.check_submission(submission, time, options)).collect()
        };
        if let Some((index, err)) = self.find_replay(submissions)? {
            // Placed at its record, so that the first failing record is the one reported.
            signed[index] = Err(err);
        }
        let count = signed.len();
        let mut signed = signed.into_iter();
        self.stage_signed(count, &mut |range| signed.by_ref().take(range.len()).collect(), time, 0, &mut |_| {})
    }

    /// What a record signed elsewhere needs before the shared checks: the draft checks, its body
    /// hash, its `created` time within the window around `time`, and its signature with the key
    /// the registry names for its author now (a key granted within the batch is checked later,
    /// in order, by `stage_signed`).
    fn check_submission(&self, submission: &Submission, time: Timestamp, options: &SubmitOptions) -> Result<Signed> {
        let record = &submission.record;
        let draft = Draft { kind: record.kind.clone(), v: record.v, body: submission.body.clone() };
        let body_bytes = check_draft(&draft, false)?;
        if body_hash(&submission.salt, &body_bytes) != record.body_hash {
            return Err(Error::bad_input(
                "record.body_hash: does not match SHA-256(salt ‖ JCS(body)): the body or the salt is not the one \
                 the author signed",
            ));
        }
        let skew = time.as_millis().abs_diff(record.created.as_millis());
        if skew > options.max_clock_skew_ms {
            let direction = if record.created > time { "ahead of" } else { "behind" };
            return Err(Error::bad_input(format!(
                "record.created: {} is {} s {direction} the ledger's time {time}; the window is ±{} s. Check the \
                 clock of the machine that signed it (China time is UTC+8; the record's time is UTC) and sign \
                 the record again",
                record.created,
                skew / 1000,
                options.max_clock_skew_ms / 1000
            )));
        }
        let verified_with = match self.registry.public_key(&record.author) {
            Some(key) => {
                key.verify_signature_value(&record.note_text(), &submission.sig)
                    .map_err(|e| Error::unauthorized(format!("sig: {e} (by {})", record.author)))?;
                Some(*key.verifying_key().as_bytes())
            }
            None => None,
        };
        Ok(Signed {
            record: record.clone(),
            sig: submission.sig.clone(),
            salt: submission.salt,
            body_bytes,
            verified_with,
        })
    }

    /// The first submission (by index) that repeats an earlier one of the batch or a record
    /// already in the ledger, with the error that refuses it. Reads the record ids of the entries
    /// sequenced from the earliest `created − MAX_CLOCK_SKEW_MS` on (see the module docs).
    fn find_replay(&self, submissions: &[Submission]) -> Result<Option<(usize, Error)>> {
        let mut ids: HashMap<[u8; 16], u64> = HashMap::with_capacity(submissions.len());
        let mut found: Option<(usize, Error)> = None;
        for (index, submission) in submissions.iter().enumerate() {
            let id = submission.record.replay_id();
            if let Some(&earlier) = ids.get(&id) {
                found = Some((
                    index,
                    Error::bad_input(format!(
                        "this record is record {} of the batch again (same author, created and body_hash): a \
                         record may be appended only once",
                        earlier + 1
                    )),
                ));
                break;
            }
            ids.insert(id, index as u64);
        }
        let Some(earliest) = submissions.iter().map(|s| s.record.created).min() else { return Ok(found) };
        // A submission whose `created` is further back than the skew window is refused anyway; the
        // floor keeps such a one (a `created` in the year 2000) from making the one writer scan the
        // whole ledger. Every record within the window is at or after `now − 2 × MAX`.
        let floor = Timestamp::now().as_millis().saturating_sub(2 * MAX_CLOCK_SKEW_MS as i64);
        let from =
            self.first_sequenced_at_or_after(earliest.as_millis().saturating_sub(MAX_CLOCK_SKEW_MS as i64).max(floor))?;
        if let Some((index, seq)) = self.store.find_record_ids(&ids, from, self.size)? {
            let index = index as usize;
            if found.as_ref().is_none_or(|(first, _)| index < *first) {
                let err = Error::bad_input(format!(
                    "this record is already in the ledger at seq {seq} (same author, created and body_hash): it \
                     was appended before, and a record may be appended only once; nothing was written. Its \
                     receipt: `lianlog prove inclusion {seq}`"
                ));
                found = Some((index, err));
            }
        }
        Ok(found)
    }

    /// The first seq whose entry time is at or after `millis` (the size if none), by binary
    /// search over entry times, which never decrease: O(log n) reads.
    fn first_sequenced_at_or_after(&self, millis: i64) -> Result<u64> {
        let (mut low, mut high) = (0u64, self.size);
        while low < high {
            let middle = low + (high - low) / 2;
            if self.read(middle)?.line.entry.time.as_millis() < millis {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        Ok(low)
    }
}
