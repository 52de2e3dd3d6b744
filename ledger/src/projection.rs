//! Projections (event sourcing): the state the commission asks about, derived from the log.
//!
//! - case state: reports (open/concluded, finding), decisions (in force, upheld, modified,
//!   revoked), appeals, rectifications (open/completed, due date), duty reports by person and
//!   period, corrections;
//! - secondary indexes: person → seqs, unit → seqs, kind → seqs, so that lookups cost what they
//!   return, not what the ledger holds; each index is a few chunks of seqs
//!   ([`keys::index_chunk`]) rather than a key per seq;
//! - statistics: counts per (year, unit, kind) and per (month, kind).
//!
//! [`apply_record`] is the one place where a record changes this state, and it first checks the
//! kind's lifecycle rule (`schema::Lifecycle`) against the state as it stands: the same function
//! refuses a bad record at append time, maintains the store incrementally, and rebuilds everything
//! in `replay`. State lives under the prefix `P` in the derived store; values are small canonical
//! JSON or counters, never free text (names and texts stay in the log, where redaction can reach
//! them).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::record::EntryHash;
use crate::schema::{self, Lifecycle};
use crate::time::{Date, Timestamp};

/// Reads projection state (the store, or an in-memory map during replay).
pub trait StateRead {
    fn get_state(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;
}

impl StateRead for BTreeMap<Vec<u8>, Vec<u8>> {
    fn get_state(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.get(key).cloned())
    }
}

/// Pending changes over a base state: what a batch of records will write.
#[derive(Debug, Default, Clone)]
pub struct StateChanges {
    pub writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

/// The base state seen through pending changes.
pub struct View<'a> {
    base: &'a dyn StateRead,
    changes: &'a mut StateChanges,
}

impl<'a> View<'a> {
    pub fn new(base: &'a dyn StateRead, changes: &'a mut StateChanges) -> View<'a> {
        View { base, changes }
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match self.changes.writes.get(key) {
            Some(value) => Ok(value.clone()),
            None => self.base.get_state(key),
        }
    }

    fn get_json(&self, key: &[u8]) -> Result<Option<Value>> {
        Ok(self.get(key)?.and_then(|bytes| serde_json::from_slice(&bytes).ok()))
    }

    fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.changes.writes.insert(key, Some(value));
    }

    fn put_json(&mut self, key: Vec<u8>, value: &Value) {
        // Canonical bytes, so that a replay is byte-identical to the incremental state.
        let bytes = crate::canonical::encode(value, "state").unwrap_or_default();
        self.put(key, bytes);
    }

    fn delete(&mut self, key: Vec<u8>) {
        self.changes.writes.insert(key, None);
    }

    /// Add `seq` to the index under `prefix`: appended to its last chunk, so that an append
    /// rewrites one small value rather than adding a key per record.
    fn index_add(&mut self, prefix: &[u8], seq: u64) -> Result<()> {
        let slots_key = keys::index_slots(prefix);
        let slots = self.get_u64(&slots_key)?;
        let chunk_key = keys::index_chunk(prefix, slots / keys::INDEX_CHUNK_SEQS);
        let mut chunk = self.take_for_update(&chunk_key)?;
        chunk.extend_from_slice(&seq.to_be_bytes());
        self.put(chunk_key, chunk);
        self.put(slots_key, (slots + 1).to_be_bytes().to_vec());
        Ok(())
    }

    /// Remove `seq` from the index under `prefix` (a correction retracting what its target
    /// asserted). Newest chunks first, where corrected records usually are.
    fn index_remove(&mut self, prefix: &[u8], seq: u64) -> Result<()> {
        let slots = self.get_u64(&keys::index_slots(prefix))?;
        let wanted = seq.to_be_bytes();
        for chunk_number in (0..slots.div_ceil(keys::INDEX_CHUNK_SEQS)).rev() {
            let chunk_key = keys::index_chunk(prefix, chunk_number);
            let Some(mut chunk) = self.get(&chunk_key)? else { continue };
            if let Some(at) = chunk.chunks_exact(8).position(|item| item == wanted) {
                chunk.drain(at * 8..at * 8 + 8);
                if chunk.is_empty() {
                    self.delete(chunk_key);
                } else {
                    self.put(chunk_key, chunk);
                }
                return Ok(());
            }
        }
        Ok(())
    }

    /// The facts record `seq` asserted, if it asserted any.
    fn facts(&self, seq: u64) -> Result<Option<Value>> {
        let Some(bucket) = self.get(&keys::record_facts(seq))? else { return Ok(None) };
        Ok(facts_item(&bucket, seq).and_then(|(start, end)| serde_json::from_slice(&bucket[start..end]).ok()))
    }

    fn put_facts(&mut self, seq: u64, facts: &Value) -> Result<()> {
        // Canonical bytes, so that a replay is byte-identical to the incremental state.
        let json = crate::canonical::encode(facts, "state").unwrap_or_default();
        let key = keys::record_facts(seq);
        let mut bucket = self.take_for_update(&key)?;
        remove_facts_item(&mut bucket, seq);
        bucket.extend_from_slice(&seq.to_be_bytes());
        bucket.extend_from_slice(&(json.len() as u32).to_be_bytes());
        bucket.extend_from_slice(&json);
        self.put(key, bucket);
        Ok(())
    }

    fn delete_facts(&mut self, seq: u64) -> Result<()> {
        let key = keys::record_facts(seq);
        let mut bucket = self.take_for_update(&key)?;
        remove_facts_item(&mut bucket, seq);
        if bucket.is_empty() {
            self.delete(key)
        } else {
            self.put(key, bucket)
        }
        Ok(())
    }

    /// The value of `key` to change and put back: moved out of the pending changes when it is
    /// there (no copy), else read from the base.
    fn take_for_update(&mut self, key: &[u8]) -> Result<Vec<u8>> {
        match self.changes.writes.get_mut(key) {
            Some(pending) => Ok(pending.take().unwrap_or_default()),
            None => Ok(self.base.get_state(key)?.unwrap_or_default()),
        }
    }

    fn get_u64(&self, key: &[u8]) -> Result<u64> {
        Ok(self.get(key)?.and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok()).map(u64::from_be_bytes).unwrap_or(0))
    }

    fn add_count(&mut self, key: Vec<u8>, delta: i64) -> Result<()> {
        // Counters are deleted rather than stored at zero or below, so their bytes read the same
        // as u64 or i64.
        let current = self.get_u64(&key)? as i64;
        let next = current + delta;
        if next <= 0 {
            self.delete(key)
        } else {
            self.put(key, next.to_be_bytes().to_vec())
        }
        Ok(())
    }
}

/// Bytes before each item's JSON in a facts bucket: seq (u64 BE), length (u32 BE).
const FACTS_HEADER: usize = 12;

/// Where the facts of `seq` lie in a bucket of [`keys::record_facts`] (the JSON's byte range).
fn facts_item(bucket: &[u8], seq: u64) -> Option<(usize, usize)> {
    let mut at = 0;
    while at + FACTS_HEADER <= bucket.len() {
        let item_seq = u64::from_be_bytes(bucket[at..at + 8].try_into().ok()?);
        let length = u32::from_be_bytes(bucket[at + 8..at + FACTS_HEADER].try_into().ok()?) as usize;
        let end = (at + FACTS_HEADER).checked_add(length).filter(|end| *end <= bucket.len())?;
        if item_seq == seq {
            return Some((at + FACTS_HEADER, end));
        }
        at = end;
    }
    None
}

fn remove_facts_item(bucket: &mut Vec<u8>, seq: u64) {
    if let Some((start, end)) = facts_item(bucket, seq) {
        bucket.drain(start - FACTS_HEADER..end);
    }
}

/// Key builders: one place for the projection key layout.
pub mod keys {
    pub const PREFIX: u8 = b'P';

    /// Seqs per chunk of an index (person, unit, kind → seqs). An index is a few keys holding
    /// many seqs rather than a key per seq: sled's open time, disk use and write cost grow with
    /// its number of keys (docs/PERFORMANCE.md), and an append rewrites at most this many times
    /// 8 bytes per index it touches.
    pub const INDEX_CHUNK_SEQS: u64 = 128;

    fn key(parts: &[&[u8]]) -> Vec<u8> {
        let mut out = vec![PREFIX];
        for (index, part) in parts.iter().enumerate() {
            if index > 0 {
                out.push(0);
            }
            out.extend_from_slice(part);
        }
        out
    }

    pub fn report(id: &str) -> Vec<u8> {
        key(&[b"r", id.as_bytes()])
    }
    pub fn decision(id: &str) -> Vec<u8> {
        key(&[b"d", id.as_bytes()])
    }
    pub fn appeal(id: &str) -> Vec<u8> {
        key(&[b"a", id.as_bytes()])
    }
    pub fn rectification(id: &str) -> Vec<u8> {
        key(&[b"x", id.as_bytes()])
    }
    pub fn duty_report(person: &str, period: &str) -> Vec<u8> {
        key(&[b"t", person.as_bytes(), period.as_bytes()])
    }
    pub fn correction(target: u64) -> Vec<u8> {
        key(&[b"c", &target.to_be_bytes()])
    }
    /// The facts of records `FACTS_PER_KEY·n ..` (what each asserted into indexes and
    /// statistics, for a correction to retract): items of seq (u64 BE), length (u32 BE) and
    /// canonical JSON.
    pub fn record_facts(seq: u64) -> Vec<u8> {
        key(&[b"s", &(seq / FACTS_PER_KEY).to_be_bytes()])
    }

    /// Records per key of [`record_facts`]: a key per record would be most of sled's keys.
    pub const FACTS_PER_KEY: u64 = 32;
    /// Index: person id → seqs. The chunks of one person's index are the keys under this prefix
    /// ([`index_chunk`]).
    pub fn person_prefix(person: &str) -> Vec<u8> {
        let mut k = key(&[b"ip", person.as_bytes()]);
        k.push(0);
        k
    }
    pub fn unit_prefix(unit: &str) -> Vec<u8> {
        let mut k = key(&[b"iu", unit.as_bytes()]);
        k.push(0);
        k
    }
    pub fn kind_prefix(kind: &str) -> Vec<u8> {
        let mut k = key(&[b"ik", kind.as_bytes()]);
        k.push(0);
        k
    }
    /// Chunk number `chunk` of the index under `prefix`: up to [`INDEX_CHUNK_SEQS`] seqs, u64 BE
    /// each, in the order they were added.
    pub fn index_chunk(prefix: &[u8], chunk: u64) -> Vec<u8> {
        let mut k = prefix.to_vec();
        k.extend_from_slice(&chunk.to_be_bytes());
        k
    }
    /// How many seqs were ever added to the index under `prefix` (u64 BE; removals do not lower
    /// it), which names the chunk the next one goes to. Outside the prefix, so that a scan of the
    /// index sees only chunks.
    pub fn index_slots(prefix: &[u8]) -> Vec<u8> {
        let mut k = vec![PREFIX, b'h'];
        k.extend_from_slice(prefix.get(1..).unwrap_or_default());
        k
    }
    pub fn stat_prefix() -> Vec<u8> {
        key(&[b"n"])
    }
    /// Count per (year, unit, kind).
    pub fn stat(year: &str, unit: &str, kind: &str) -> Vec<u8> {
        key(&[b"n", year.as_bytes(), unit.as_bytes(), kind.as_bytes()])
    }
    pub fn month_prefix() -> Vec<u8> {
        key(&[b"m"])
    }
    /// Count per (month, kind).
    pub fn month_stat(month: &str, kind: &str) -> Vec<u8> {
        key(&[b"m", month.as_bytes(), kind.as_bytes()])
    }

    /// A readable name for the projection a key belongs to (for replay mismatches).
    pub fn family(key: &[u8]) -> &'static str {
        match key.get(1..3) {
            Some(b"ip") => "person index (integrity files, 廉政档案)",
            Some(b"iu") => "unit index",
            Some(b"ik") => "kind index",
            Some(b"hi") => "index sizes",
            _ => match key.get(1) {
                Some(b'r') => "report case state (线索)",
                Some(b'd') => "decision state (问责决定)",
                Some(b'a') => "appeal state (申诉)",
                Some(b'x') => "rectification state (整改)",
                Some(b't') => "duty reports by period (述责述廉)",
                Some(b'c') => "corrections (更正)",
                Some(b's') => "record facts",
                Some(b'n') => "statistics by year and unit",
                Some(b'm') => "statistics by month",
                _ => "unknown projection",
            },
        }
    }
}

/// A record as the projections see it.
pub struct RecordContext<'a> {
    pub seq: u64,
    pub kind: &'a str,
    pub v: u64,
    pub time: Timestamp,
    pub entry_hash: EntryHash,
    /// The body, already upcast to the current schema version.
    pub body: &'a Value,
}

/// Why a record breaks its kind's lifecycle rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub rule: &'static str,
    pub reason: String,
}

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "lifecycle rule \"{}\": {}", self.rule, self.reason)
    }
}

/// An earlier entry as a lifecycle rule sees it.
#[derive(Debug, Clone)]
pub struct FactEntry {
    pub hash: EntryHash,
    pub kind: String,
    pub v: u64,
    /// `None` when the body was redacted.
    pub body: Option<Value>,
}

/// Looks up what lifecycle rules need beyond projection state.
pub trait LedgerFacts {
    /// The entry at `seq`, if the ledger has it.
    fn entry(&self, seq: u64) -> Result<Option<FactEntry>>;
    /// The Merkle root at `size`, if the ledger has that many entries.
    fn root_at(&self, size: u64) -> Result<Option<[u8; 32]>>;
}

fn rule(rule: &'static str, reason: impl Into<String>) -> std::result::Result<(), RuleError> {
    Err(RuleError { rule, reason: reason.into() })
}

fn text<'a>(body: &'a Value, field: &str) -> &'a str {
    body.get(field).and_then(Value::as_str).unwrap_or_default()
}

/// The ids of the people and organisations a body names (for the person index).
pub fn person_ids(kind: &str, body: &Value) -> Vec<String> {
    let mut ids = Vec::new();
    let mut add = |value: &Value| {
        if let Some(id) = value.get("id").or_else(|| value.get("org_id")).and_then(Value::as_str)
            && !ids.iter().any(|known| known == id)
        {
            ids.push(id.to_string());
        }
    };
    for field in ["subjects", "interviewers"] {
        if let Some(items) = body.get(field).and_then(Value::as_array) {
            items.iter().for_each(&mut add);
        }
    }
    for field in ["subject", "reporter", "target"] {
        if kind == "correction" && field == "target" {
            continue;
        }
        if let Some(value) = body.get(field) {
            add(value);
        }
    }
    ids
}

/// The units a body concerns: each subject's unit (an organisation's name).
pub fn units(body: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |value: &Value| {
        let unit = value.get("unit").or_else(|| value.get("org_id").and(value.get("name"))).and_then(Value::as_str);
        if let Some(unit) = unit
            && !out.iter().any(|u| u == unit)
        {
            out.push(unit.to_string());
        }
    };
    parties(body).for_each(&mut add);
    out
}

/// The objects naming the people or organisations a body is about: each of `subjects[]`, then
/// `subject`, `reporter` and `target`, where present (interviewers act in office: not parties).
pub fn parties(body: &Value) -> impl Iterator<Item = &Value> {
    let subjects = body.get("subjects").and_then(Value::as_array).into_iter().flatten();
    subjects.chain(["subject", "reporter", "target"].into_iter().filter_map(|field| body.get(field)))
}

/// The date a record is about (its event date), or the sequencing date in China (UTC+8).
pub fn event_date(body: &Value, time: Timestamp) -> Date {
    for field in ["received_on", "concluded_on", "held_on", "decided_on", "filed_on", "completed_on"] {
        if let Some(date) = body.get(field).and_then(Value::as_str).and_then(Date::parse) {
            return date;
        }
    }
    time.date_in_china()
}

/// Whether applying a record of `kind` looks up earlier entries through [`LedgerFacts`] (a
/// correction's target, an attestation's checkpoint root).
pub fn needs_ledger_facts(kind: &str) -> bool {
    schema::lookup(kind).is_some_and(|spec| matches!(spec.lifecycle, Lifecycle::Correction | Lifecycle::AuditAttest))
}

/// Check the record's lifecycle rule, then apply it to the state. With `enforce` false (replaying
/// a log that an older version wrote), rule failures are ignored and the facts still indexed.
pub fn apply_record(
    view: &mut View<'_>,
    record: &RecordContext<'_>,
    facts: &dyn LedgerFacts,
    enforce: bool,
) -> Result<std::result::Result<(), RuleError>> {
    let Some(spec) = schema::lookup(record.kind) else { return Ok(Ok(())) };
    if !spec.domain && spec.lifecycle != Lifecycle::AuditAttest {
        return Ok(Ok(()));
    }
    let verdict = check_rule(view, record, spec.lifecycle, facts)?;
    if let Err(err) = &verdict
        && enforce
    {
        return Ok(Err(err.clone()));
    }
    if spec.lifecycle == Lifecycle::Correction {
        apply_correction(view, record, facts)?;
    } else {
        update_entities(view, record, verdict.is_ok())?;
        assert_facts(view, record.seq, record.kind, record.body, record.time)?;
    }
    Ok(verdict)
}

/// The index and statistics facts of one record body, remembered under `Ps/<seq>` so that a
/// correction can retract exactly what the original asserted.
fn assert_facts(view: &mut View<'_>, seq: u64, kind: &str, body: &Value, time: Timestamp) -> Result<()> {
    let mut ids = person_ids(kind, body);
    let mut units = units(body);
    // Records that name a case rather than a person belong to the files of the case's subjects.
    if let Some(case) = related_case(view, kind, body)? {
        for (field, out) in [("subjects", &mut ids), ("units", &mut units)] {
            for value in case[field].as_array().into_iter().flatten().filter_map(Value::as_str) {
                if !out.iter().any(|known| known == value) {
                    out.push(value.to_string());
                }
            }
        }
    }
    let date = event_date(body, time).to_string();
    for id in &ids {
        view.index_add(&keys::person_prefix(id), seq)?;
    }
    for unit in &units {
        view.index_add(&keys::unit_prefix(unit), seq)?;
        view.add_count(keys::stat(&date[..4], unit, kind), 1)?;
    }
    if units.is_empty() {
        view.add_count(keys::stat(&date[..4], "", kind), 1)?;
    }
    view.index_add(&keys::kind_prefix(kind), seq)?;
    view.add_count(keys::month_stat(&date[..7], kind), 1)?;
    view.put_facts(seq, &json!({"kind": kind, "ids": ids, "units": units, "date": date}))?;
    Ok(())
}

/// The case state a linking record refers to (the report of a conclusion, the decision of an
/// appeal, the rectification of a completion).
fn related_case(view: &View<'_>, kind: &str, body: &Value) -> Result<Option<Value>> {
    match kind {
        "report.concluded" => view.get_json(&keys::report(text(body, "report_id"))),
        "appeal.filed" => view.get_json(&keys::decision(text(body, "decision_id"))),
        "appeal.decided" => {
            let Some(appeal) = view.get_json(&keys::appeal(text(body, "appeal_id")))? else { return Ok(None) };
            view.get_json(&keys::decision(text(&appeal, "decision_id")))
        }
        "rectification.completed" => view.get_json(&keys::rectification(text(body, "rectification_id"))),
        _ => Ok(None),
    }
}

fn retract_facts(view: &mut View<'_>, seq: u64) -> Result<()> {
    let Some(facts) = view.facts(seq)? else { return Ok(()) };
    let kind = text(&facts, "kind").to_string();
    let date = text(&facts, "date").to_string();
    if date.len() < 7 {
        return Ok(());
    }
    let strings = |field: &str| -> Vec<String> {
        facts[field]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default()
    };
    for id in strings("ids") {
        view.index_remove(&keys::person_prefix(&id), seq)?;
    }
    view.index_remove(&keys::kind_prefix(&kind), seq)?;
    let units = strings("units");
    for unit in &units {
        view.index_remove(&keys::unit_prefix(unit), seq)?;
        view.add_count(keys::stat(&date[..4], unit, &kind), -1)?;
    }
    if units.is_empty() {
        view.add_count(keys::stat(&date[..4], "", &kind), -1)?;
    }
    view.add_count(keys::month_stat(&date[..7], &kind), -1)?;
    view.delete_facts(seq)?;
    Ok(())
}

fn check_rule(
    view: &View<'_>,
    record: &RecordContext<'_>,
    lifecycle: Lifecycle,
    facts: &dyn LedgerFacts,
) -> Result<std::result::Result<(), RuleError>> {
    let body = record.body;
    Ok(match lifecycle {
        Lifecycle::None => Ok(()),
        Lifecycle::ReportReceived => {
            let id = text(body, "report_id");
            match view.get(&keys::report(id))? {
                Some(_) => rule("report_id is new (线索编号不得重复)", format!("report {id} was already received")),
                None => Ok(()),
            }
        }
        Lifecycle::ReportConcluded => {
            let id = text(body, "report_id");
            match view.get_json(&keys::report(id))? {
                None => rule(
                    "a report is concluded after it is received (先受理后处置)",
                    format!("report {id} was never received"),
                ),
                Some(state) if state["status"] == "concluded" => rule(
                    "a report is concluded once (线索只能处置一次)",
                    format!("report {id} was already concluded at seq {}", state["concluded_seq"]),
                ),
                Some(_) => Ok(()),
            }
        }
        Lifecycle::Interview => optional_report_exists(view, body, "an interview's report exists (关联线索须存在)")?,
        Lifecycle::DutyReport => {
            let person = body["reporter"]["id"].as_str().unwrap_or_default();
            let period = text(body, "period");
            match view.get(&keys::duty_report(person, period))? {
                Some(seq) => rule(
                    "one duty report per person and period (同一期间只能述责述廉一次)",
                    format!("{person} already reported for {period} at seq {}", seq_of(&seq)),
                ),
                None => Ok(()),
            }
        }
        Lifecycle::Decision => {
            let id = text(body, "decision_id");
            if view.get(&keys::decision(id))?.is_some() {
                return Ok(rule("decision_id is new (决定编号不得重复)", format!("decision {id} already exists")));
            }
            let measure = text(body, "measure");
            let subjects = body["subjects"].as_array().cloned().unwrap_or_default();
            for (index, subject) in subjects.iter().enumerate() {
                let (allowed, what) = if subject.get("org_id").is_some() {
                    (schema::ORGANISATION_MEASURES, "an organisation (党组织)")
                } else {
                    (schema::PERSON_MEASURES, "a person (党员干部)")
                };
                if !allowed.iter().any(|(m, _)| *m == measure) {
                    return Ok(rule(
                        "the measure fits the subject (问责方式须与对象相符)",
                        format!(
                            "body.subjects[{index}] is {what}; measure {measure} does not apply to it (allowed: {})",
                            allowed.iter().map(|(m, zh)| format!("{m} {zh}")).collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
            }
            optional_report_exists(view, body, "a decision's report exists (关联线索须存在)")?
        }
        Lifecycle::Clarification => {
            let id = text(body, "report_id");
            let person = body["subject"]["id"].as_str().unwrap_or_default();
            let rule_name = "a clarification follows a report concluded as unsubstantiated or false and naming the person (澄清正名须以查无实据或诬告陷害的线索为依据)";
            match view.get_json(&keys::report(id))? {
                None => rule(rule_name, format!("report {id} was never received")),
                Some(state) if state["status"] != "concluded" => {
                    rule(rule_name, format!("report {id} is not concluded yet"))
                }
                Some(state) if !matches!(state["finding"].as_str(), Some("unsubstantiated" | "false_accusation")) => {
                    rule(rule_name, format!("report {id} was concluded as {}", state["finding"]))
                }
                Some(state) if !state["subjects"].as_array().is_some_and(|s| s.iter().any(|p| p == person)) => {
                    rule(rule_name, format!("report {id} does not name {person} among its subjects"))
                }
                Some(_) => Ok(()),
            }
        }
        Lifecycle::RectificationOrdered => {
            let id = text(body, "rectification_id");
            if view.get(&keys::rectification(id))?.is_some() {
                return Ok(rule(
                    "rectification_id is new (整改编号不得重复)",
                    format!("rectification {id} already exists"),
                ));
            }
            if let Some(decision) = body.get("decision_id").and_then(Value::as_str)
                && view.get(&keys::decision(decision))?.is_none()
            {
                return Ok(rule(
                    "a rectification's decision exists (关联决定须存在)",
                    format!("decision {decision} does not exist"),
                ));
            }
            optional_report_exists(view, body, "a rectification's report exists (关联线索须存在)")?
        }
        Lifecycle::RectificationCompleted => {
            let id = text(body, "rectification_id");
            match view.get_json(&keys::rectification(id))? {
                None => rule(
                    "a rectification is completed after it is ordered (先下达后完成)",
                    format!("rectification {id} was never ordered"),
                ),
                Some(state) if state["status"] == "completed" => rule(
                    "a rectification is completed once (整改只能办结一次)",
                    format!("rectification {id} is already completed"),
                ),
                Some(_) => Ok(()),
            }
        }
        Lifecycle::AppealFiled => {
            let id = text(body, "appeal_id");
            let decision = text(body, "decision_id");
            if view.get(&keys::appeal(id))?.is_some() {
                rule("appeal_id is new (申诉编号不得重复)", format!("appeal {id} already exists"))
            } else if view.get(&keys::decision(decision))?.is_none() {
                rule(
                    "an appeal concerns an existing decision (申诉须针对已作出的决定)",
                    format!("decision {decision} does not exist"),
                )
            } else {
                Ok(())
            }
        }
        Lifecycle::AppealDecided => {
            let id = text(body, "appeal_id");
            match view.get_json(&keys::appeal(id))? {
                None => rule(
                    "an appeal is decided after it is filed (先申诉后复查)",
                    format!("appeal {id} was never filed"),
                ),
                Some(state) if state["status"] != "pending" => {
                    rule("an appeal is decided once (申诉只能复查一次)", format!("appeal {id} was already decided"))
                }
                Some(_) => Ok(()),
            }
        }
        Lifecycle::Correction => check_correction(record, facts)?,
        Lifecycle::AuditAttest => {
            let size = body["checkpoint"]["size"].as_u64().unwrap_or(u64::MAX);
            let claimed = text(&body["checkpoint"], "root");
            match facts.root_at(size)? {
                None => rule(
                    "an attestation names a real checkpoint (签注须针对真实检查点)",
                    format!("the ledger has fewer than {size} entries"),
                ),
                Some(root) if crate::encoding::hex(&root) != claimed => rule(
                    "an attestation names a real checkpoint (签注须针对真实检查点)",
                    format!("{claimed} is not the ledger's root at size {size} ({})", crate::encoding::hex(&root)),
                ),
                Some(_) => Ok(()),
            }
        }
    })
}

fn seq_of(bytes: &[u8]) -> u64 {
    <[u8; 8]>::try_from(bytes).map(u64::from_be_bytes).unwrap_or(0)
}

fn optional_report_exists(
    view: &View<'_>,
    body: &Value,
    rule_name: &'static str,
) -> Result<std::result::Result<(), RuleError>> {
    if let Some(id) = body.get("report_id").and_then(Value::as_str)
        && view.get(&keys::report(id))?.is_none()
    {
        return Ok(rule(rule_name, format!("report {id} was never received")));
    }
    Ok(Ok(()))
}

/// Identifier fields a correction must keep unchanged (they tie records together).
const IDENTIFIERS: &[&str] = &["report_id", "decision_id", "appeal_id", "rectification_id"];

fn check_correction(record: &RecordContext<'_>, facts: &dyn LedgerFacts) -> Result<std::result::Result<(), RuleError>> {
    let rule_name =
        "a correction targets an earlier accountability record and keeps its identifiers (更正须针对已有记录)";
    let target = record.body["target"]["seq"].as_u64().unwrap_or(u64::MAX);
    let hash = text(&record.body["target"], "hash");
    if target >= record.seq {
        return Ok(rule(rule_name, format!("seq {target} is not an earlier record")));
    }
    let Some(FactEntry { hash: entry_hash, kind, v, body: original }) = facts.entry(target)? else {
        return Ok(rule(rule_name, format!("there is no entry {target}")));
    };
    if entry_hash.to_hex() != hash {
        return Ok(rule(rule_name, format!("body.target.hash is not the hash of entry {target} ({entry_hash})")));
    }
    let spec = schema::lookup(&kind);
    if !spec.is_some_and(|s| s.domain && s.name != "correction") {
        return Ok(rule(rule_name, format!("entry {target} is a {kind} record, which cannot be corrected")));
    }
    let corrected = &record.body["body"];
    let current = schema::current_version(&kind);
    if let Err(err) = schema::validate_corrected_body(&kind, current, corrected, record.time) {
        return Ok(rule(rule_name, format!("the corrected body is not a valid {kind}: {err}")));
    }
    if let Some(original) = original {
        let original = schema::upcast(&kind, v, &original);
        for field in IDENTIFIERS {
            if original.get(*field) != corrected.get(*field) {
                return Ok(rule(
                    rule_name,
                    format!("body.body.{field} must stay {}", original.get(*field).unwrap_or(&Value::Null)),
                ));
            }
        }
    }
    Ok(Ok(()))
}

fn apply_correction(view: &mut View<'_>, record: &RecordContext<'_>, facts: &dyn LedgerFacts) -> Result<()> {
    let Some(target) = record.body["target"]["seq"].as_u64() else { return Ok(()) };
    let Some(FactEntry { kind, .. }) = facts.entry(target)? else { return Ok(()) };
    let time = record.time;
    retract_facts(view, target)?;
    let corrected = &record.body["body"];
    assert_facts(view, target, &kind, corrected, time)?;
    view.put(keys::correction(target), record.seq.to_be_bytes().to_vec());
    let context = RecordContext {
        seq: target,
        kind: &kind,
        v: schema::current_version(&kind),
        time,
        entry_hash: record.entry_hash,
        body: corrected,
    };
    refresh_entities(view, &context)?;
    view.put_facts(
        record.seq,
        &json!({"kind": "correction", "ids": [], "units": [], "date": event_date(record.body, time).to_string()}),
    )?;
    view.index_add(&keys::kind_prefix("correction"), record.seq)?;
    Ok(())
}

/// Create or advance the case entities a record affects.
fn update_entities(view: &mut View<'_>, record: &RecordContext<'_>, valid: bool) -> Result<()> {
    if !valid {
        return Ok(());
    }
    let body = record.body;
    let seq = record.seq;
    match record.kind {
        "report.received" => {
            let subjects: Vec<Value> =
                body["subjects"].as_array().map(|s| s.iter().map(|p| p["id"].clone()).collect()).unwrap_or_default();
            view.put_json(
                keys::report(text(body, "report_id")),
                &json!({"seq": seq, "status": "open", "subjects": subjects, "units": units(body)}),
            );
        }
        "report.concluded" => {
            let key = keys::report(text(body, "report_id"));
            if let Some(mut state) = view.get_json(&key)? {
                state["status"] = json!("concluded");
                state["finding"] = body["finding"].clone();
                state["concluded_seq"] = json!(seq);
                view.put_json(key, &state);
            }
        }
        "duty_report" => {
            let person = body["reporter"]["id"].as_str().unwrap_or_default();
            view.put(keys::duty_report(person, text(body, "period")), seq.to_be_bytes().to_vec());
        }
        "accountability.decision" => {
            let subjects: Vec<Value> = body["subjects"]
                .as_array()
                .map(|s| {
                    s.iter().map(|p| p.get("id").or_else(|| p.get("org_id")).cloned().unwrap_or(Value::Null)).collect()
                })
                .unwrap_or_default();
            view.put_json(
                keys::decision(text(body, "decision_id")),
                &json!({"seq": seq, "status": "in_force", "measure": body["measure"], "subjects": subjects, "units": units(body)}),
            );
        }
        "rectification.ordered" => {
            view.put_json(
                keys::rectification(text(body, "rectification_id")),
                &json!({"seq": seq, "status": "open", "due_on": body["due_on"], "subjects": person_ids(record.kind, body), "units": units(body)}),
            );
        }
        "rectification.completed" => {
            let key = keys::rectification(text(body, "rectification_id"));
            if let Some(mut state) = view.get_json(&key)? {
                state["status"] = json!("completed");
                state["completed_seq"] = json!(seq);
                state["completed_on"] = body["completed_on"].clone();
                view.put_json(key, &state);
            }
        }
        "appeal.filed" => {
            let decision = text(body, "decision_id");
            view.put_json(
                keys::appeal(text(body, "appeal_id")),
                &json!({"seq": seq, "status": "pending", "decision_id": decision}),
            );
            let key = keys::decision(decision);
            if let Some(mut state) = view.get_json(&key)? {
                state["status"] = json!("under_appeal");
                view.put_json(key, &state);
            }
        }
        "appeal.decided" => {
            let key = keys::appeal(text(body, "appeal_id"));
            if let Some(mut state) = view.get_json(&key)? {
                let outcome = body["outcome"].clone();
                state["status"] = outcome.clone();
                state["decided_seq"] = json!(seq);
                let decision = state["decision_id"].as_str().unwrap_or_default().to_string();
                view.put_json(key, &state);
                let key = keys::decision(&decision);
                if let Some(mut decision) = view.get_json(&key)? {
                    decision["status"] = outcome;
                    decision["appeal_seq"] = json!(seq);
                    view.put_json(key, &decision);
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// After a correction: rewrite the fields of the target's entity that come from its body.
fn refresh_entities(view: &mut View<'_>, record: &RecordContext<'_>) -> Result<()> {
    let body = record.body;
    let update = |view: &mut View<'_>, key: Vec<u8>, fields: &[(&str, Value)]| -> Result<()> {
        if let Some(mut state) = view.get_json(&key)? {
            for (field, value) in fields {
                state[*field] = value.clone();
            }
            state["corrected"] = json!(true);
            view.put_json(key, &state);
        }
        Ok(())
    };
    let ids = |field: &str| -> Value {
        Value::Array(
            body[field]
                .as_array()
                .map(|s| {
                    s.iter().map(|p| p.get("id").or_else(|| p.get("org_id")).cloned().unwrap_or(Value::Null)).collect()
                })
                .unwrap_or_default(),
        )
    };
    match record.kind {
        "report.received" => update(view, keys::report(text(body, "report_id")), &[("subjects", ids("subjects"))]),
        "report.concluded" => {
            update(view, keys::report(text(body, "report_id")), &[("finding", body["finding"].clone())])
        }
        "accountability.decision" => update(
            view,
            keys::decision(text(body, "decision_id")),
            &[("subjects", ids("subjects")), ("measure", body["measure"].clone())],
        ),
        "rectification.ordered" => {
            update(view, keys::rectification(text(body, "rectification_id")), &[("due_on", body["due_on"].clone())])
        }
        _ => Ok(()),
    }
}

/// Errors as library errors, for callers that refuse a record.
pub fn rule_error(kind: &str, err: &RuleError) -> Error {
    Error::bad_input(format!("{kind} refused by {err}; nothing was written"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_facts_share_keys_and_each_is_found_replaced_and_removed_alone() {
        let base = BTreeMap::new();
        let mut changes = StateChanges::default();
        let mut view = View::new(&base, &mut changes);
        let per_key = keys::FACTS_PER_KEY;
        for seq in 0..2 * per_key {
            view.put_facts(seq, &json!({"seq": seq})).unwrap();
        }
        view.put_facts(5, &json!({"seq": "five"})).unwrap();
        view.delete_facts(6).unwrap();
        assert_eq!(view.facts(5).unwrap(), Some(json!({"seq": "five"})));
        assert_eq!(view.facts(6).unwrap(), None);
        for seq in (0..2 * per_key).filter(|seq| ![5, 6].contains(seq)) {
            assert_eq!(view.facts(seq).unwrap(), Some(json!({"seq": seq})), "seq {seq}");
        }
        assert_eq!(changes.writes.len(), 2, "{per_key} records per key");

        // A damaged bucket reads as no facts rather than a panic.
        let mut damaged = BTreeMap::new();
        damaged.insert(keys::record_facts(0), vec![0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, b'{']);
        let mut changes = StateChanges::default();
        let mut view = View::new(&damaged, &mut changes);
        assert_eq!(view.facts(0).unwrap(), None);
        view.delete_facts(0).unwrap();
    }
}
