//! Queries over the projections: a person's integrity file (廉政档案), filtered record lists,
//! case lists, overdue rectifications and statistics for the annual assessment (考核评价).
//!
//! Every lookup by person, unit or kind starts from a secondary index, so its cost grows with the
//! number of results, not with the size of the ledger. Bodies come from the log (with corrections
//! applied and older schema versions upcast), never from the projections.
//!
//! [`Queries`] runs over any projection state ([`StateScan`]) and any source of stored lines
//! ([`LineSource`]): the ledger's store and log (the present), state replayed into memory up to a
//! past seq (`--as-of`), or entries read from archives (`--archive`). The same code answers all
//! three, so an answer "as of" a point is the answer a ledger cut at that point would give.
//!
//! Long answers come in pages ([`Page`], [`Paged`]): `dossier_page`, `query_page`, `cases_page`,
//! `overdue_page`, and [`Page::seqs`] for a list of entries. A page says how many items follow it
//! (`more`), so that no caller prints twenty thousand rows unasked, nor silently drops the rest;
//! only the items of the page are read from the log where the count is known without them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::projection::{StateRead, layout as keys};
use crate::record::{EntryHash, ParsedLine, StoredBody};
use crate::time::{Date, Timestamp};

/// Keys and values of projection state, in key order.
pub(crate) type StateItems<'a> = Box<dyn Iterator<Item = Result<(Vec<u8>, Vec<u8>)>> + 'a>;

/// Projection state that queries can scan: the derived store, or state replayed into memory.
pub trait StateScan: StateRead {
    /// Keys and values under `prefix`, in key order.
    fn scan<'a>(&'a self, prefix: &[u8]) -> StateItems<'a>;
}

impl StateScan for crate::store::Store {
    fn scan<'a>(&'a self, prefix: &[u8]) -> StateItems<'a> {
        Box::new(self.scan_prefix(prefix))
    }
}

impl StateScan for BTreeMap<Vec<u8>, Vec<u8>> {
    fn scan<'a>(&'a self, prefix: &[u8]) -> StateItems<'a> {
        let prefix = prefix.to_vec();
        Box::new(
            self.range(prefix.clone()..)
                .take_while(move |(key, _)| key.starts_with(&prefix))
                .map(|(key, value)| Ok((key.clone(), value.clone()))),
        )
    }
}

/// Where queries read stored lines by seq.
pub trait LineSource {
    /// The stored line at `seq`.
    fn line(&self, seq: u64) -> Result<ParsedLine>;
}

/// The number of the first `size` entries of `lines` sequenced by the end of `date` in China
/// (UTC+8, 23:59:59.999), found by binary search over entry times (which never decrease):
/// O(log n) reads. The one rule behind `--as-of DATE`, for the ledger and for archives alike.
pub fn entries_until(lines: &dyn LineSource, size: u64, date: Date) -> Result<u64> {
    let limit = date.end_of_day_china();
    let (mut low, mut high) = (0u64, size);
    while low < high {
        let middle = low + (high - low) / 2;
        if lines.line(middle)?.line.entry.time <= limit {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    Ok(low)
}

/// The queries, over one projection state and the lines it was built from.
pub struct Queries<'a> {
    state: &'a dyn StateScan,
    lines: &'a dyn LineSource,
    /// Lines at or after this seq are not part of the state asked about (an as-of point).
    end: u64,
}

/// One record as queries show it. It crosses the wire (`lianlog serve`'s read routes) as JSON:
/// hashes in hex, times and dates in their one spelling (`wire`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordView {
    /// The entry's seq.
    pub seq: u64,
    /// Its entry hash.
    #[serde(with = "wire::entry_hash")]
    pub entry_hash: EntryHash,
    /// The time the ledger gave it.
    #[serde(with = "wire::timestamp")]
    pub time: Timestamp,
    /// The record kind.
    pub kind: String,
    /// The author key's identity.
    pub author: String,
    /// The body in force: the latest correction's, upcast to the current schema; `None` when the
    /// body was redacted (see `redacted_by`).
    pub body: Option<Value>,
    /// The event date (the body's main date, or the sequencing day in China).
    #[serde(with = "wire::date")]
    pub date: Date,
    /// The `correction` entry whose body is shown, if the record was corrected.
    pub corrected_by: Option<u64>,
    /// The `ledger.redact` entry that removed the body, if any.
    pub redacted_by: Option<u64>,
    /// Who removed the body, when and why (from that entry).
    pub redaction: Option<RedactionNote>,
    /// The case status for decisions, reports, rectifications and appeals (`in_force`, `upheld`…).
    pub status: Option<String>,
}

/// Who redacted a record, when and why. The body shown, if any, is the redaction's replacement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedactionNote {
    /// The seq of the `ledger.redact` entry.
    pub by: u64,
    /// Who redacted.
    pub author: String,
    /// When.
    #[serde(with = "wire::timestamp")]
    pub time: Timestamp,
    /// Why (the redaction's reason).
    pub reason: String,
    /// Whether a replacement body was written.
    pub has_replacement: bool,
}

/// Filters of `lianlog query`.
#[derive(Debug, Clone, Default)]
pub struct QueryFilter {
    /// Only this kind.
    pub kind: Option<String>,
    /// Only records naming this person ID.
    pub person: Option<String>,
    /// Only records naming this unit.
    pub unit: Option<String>,
    /// Only records of events on or after this date.
    pub since: Option<Date>,
    /// Only records of events on or before this date.
    pub until: Option<Date>,
    /// Only records whose text contains every whitespace-separated word of this.
    pub text: Option<String>,
}

impl<'a> Queries<'a> {
    /// Queries over `state`, reading lines from `lines`; `end` is the number of entries the state
    /// covers (lines at or after it are refused).
    pub fn new(state: &'a dyn StateScan, lines: &'a dyn LineSource, end: u64) -> Queries<'a> {
        Queries { state, lines, end }
    }

    /// The stored line at `seq`, which must be within the state asked about.
    pub fn line(&self, seq: u64) -> Result<ParsedLine> {
        if seq >= self.end {
            return Err(Error::bad_input(format!(
                "there is no entry {seq}: the ledger has {} (seq 0 to {}); `lianlog log` lists them",
                if self.end == 1 { "1 entry".to_string() } else { format!("{} entries", self.end) },
                self.end.saturating_sub(1)
            )));
        }
        self.lines.line(seq)
    }

    /// The seqs of the index under `prefix`, in seq order (chunks hold them in the order they
    /// were added, which a correction can leave out of seq order).
    fn index_seqs(&self, prefix: &[u8]) -> Result<Vec<u64>> {
        let mut seqs = Vec::new();
        for item in self.state.scan(prefix) {
            let (_, chunk) = item?;
            seqs.extend(chunk.chunks_exact(8).filter_map(|item| item.try_into().ok()).map(u64::from_be_bytes));
        }
        seqs.sort_unstable();
        seqs.dedup();
        Ok(seqs)
    }

    fn state_json(&self, key: &[u8]) -> Result<Option<Value>> {
        Ok(self.state.get_state(key)?.and_then(|bytes| serde_json::from_slice(&bytes).ok()))
    }

    /// One record with its body in force and its status.
    pub fn record_view(&self, seq: u64) -> Result<RecordView> {
        let line = self.line(seq)?;
        let entry = &line.line.entry;
        let kind = entry.record.kind.clone();
        let corrected_by = self
            .state
            .get_state(&keys::correction(seq))?
            .and_then(|bytes| <[u8; 8]>::try_from(bytes.as_slice()).ok())
            .map(u64::from_be_bytes);
        let redacted_by = match line.line.body {
            StoredBody::Redacted { by } => Some(by),
            _ => None,
        };
        let mut body = line.line.body().map(|b| crate::schema::upcast(&kind, entry.record.v, b, entry.time));
        let mut redaction = None;
        if let Some(by) = redacted_by {
            let redacting = self.line(by)?;
            let redact_body = redacting.line.body().cloned().unwrap_or(Value::Null);
            // The replacement: inside the redaction (older ledgers), or the correction written
            // just before it (one rule: `ReplacementScan`).
            let mut scan = crate::replacement::ReplacementScan::default();
            if by > 0 {
                scan.add(&self.line(by - 1)?);
            }
            scan.add(&redacting);
            let replacement = scan.finish().remove(&seq);
            redaction = Some(RedactionNote {
                by,
                author: redacting.line.entry.record.author.clone(),
                time: redacting.line.entry.time,
                reason: redact_body["reason"].as_str().unwrap_or_default().to_string(),
                has_replacement: replacement.is_some(),
            });
            body = replacement.map(|b| crate::schema::upcast(&kind, entry.record.v, &b, entry.time));
        }
        if let Some(correction) = corrected_by {
            let correcting = self.line(correction)?;
            if let Some(corrected) = correcting.line.body().and_then(|b| b.get("body")) {
                // A correction written while an older version was current holds a body of that
                // version: upcast it like any other.
                body = Some(crate::schema::upcast(&kind, crate::schema::current_version(&kind), corrected, entry.time));
            }
        }
        let date = body
            .as_ref()
            .map(|b| crate::projection::event_date(&kind, b, entry.time))
            .unwrap_or_else(|| entry.time.date());
        let status = match body.as_ref() {
            Some(body) => self.status_of(&kind, body)?,
            None => None,
        };
        Ok(RecordView {
            seq,
            entry_hash: line.entry_hash,
            time: entry.time,
            kind,
            author: entry.record.author.clone(),
            body,
            date,
            corrected_by,
            redacted_by,
            redaction,
            status,
        })
    }

    fn status_of(&self, kind: &str, body: &Value) -> Result<Option<String>> {
        let id = |field: &str| body.get(field).and_then(Value::as_str).unwrap_or_default().to_string();
        let key = match kind {
            "accountability.decision" => keys::decision(&id("decision_id")),
            "report.received" => keys::report(&id("report_id")),
            "rectification.ordered" => keys::rectification(&id("rectification_id")),
            "appeal.filed" => keys::appeal(&id("appeal_id")),
            "supervision.ordered" => keys::supervision(&id("order_id")),
            "inquiry.issued" => keys::inquiry(&id("inquiry_id")),
            _ => return Ok(None),
        };
        Ok(self.state_json(&key)?.and_then(|state| state["status"].as_str().map(str::to_string)))
    }

    /// The projection state of decision `id` (status, approvals and their quorum, the appeal
    /// that changed it), if it exists: what influence periods and opinions are derived from.
    pub fn decision_state(&self, id: &str) -> Result<Option<Value>> {
        self.state_json(&keys::decision(id))
    }

    /// A person's integrity file: every record that names them, in event-date order (the date
    /// each record is about, [`crate::schema::event_date`]; seq breaks ties).
    pub fn dossier(&self, person_id: &str) -> Result<Vec<RecordView>> {
        let seqs = self.by_event_date(self.index_seqs(&keys::person_prefix(person_id))?)?;
        seqs.into_iter().map(|seq| self.record_view(seq)).collect()
    }

    /// `seqs` in event-date order, seq breaking ties: the dates come from the facts each record
    /// asserted, so no body is read; a record without facts (none is indexed without them)
    /// would be read for its date.
    fn by_event_date(&self, seqs: Vec<u64>) -> Result<Vec<u64>> {
        let mut dated = Vec::with_capacity(seqs.len());
        for seq in seqs {
            let date = self
                .state
                .record_facts(seq)?
                .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
                .and_then(|facts| facts["date"].as_str().and_then(Date::parse));
            let date = match date {
                Some(date) => date,
                None => self.record_view(seq)?.date,
            };
            dated.push((date, seq));
        }
        dated.sort_unstable();
        Ok(dated.into_iter().map(|(_, seq)| seq).collect())
    }

    /// One page of `dossier` (event-date order): the index gives the count, the facts the order,
    /// and only the page's records are read.
    pub fn dossier_page(&self, person_id: &str, page: Page) -> Result<Paged<RecordView>> {
        let seqs = self.by_event_date(self.index_seqs(&keys::person_prefix(person_id))?)?;
        let total = seqs.len() as u64;
        let items = page.slice(&seqs).iter().map(|seq| self.record_view(*seq)).collect::<Result<Vec<_>>>()?;
        Ok(page.paged(items, total))
    }

    /// Records matching every given filter, in event-date order (seq breaks ties). The most
    /// selective index available (person, then unit, then kind) chooses the candidates.
    pub fn query(&self, filter: &QueryFilter) -> Result<Vec<RecordView>> {
        let mut out = Vec::new();
        for seq in self.query_candidates(filter)? {
            if let Some(view) = self.matching(filter, seq)? {
                out.push(view);
            }
        }
        out.sort_by_key(|view| (view.date, view.seq));
        Ok(out)
    }

    /// One page of `query` (event-date order, seq breaking ties): every candidate is checked (the
    /// filters need its body); only the date and seq of each match are kept, and the records of
    /// the page are read again once the order is known.
    pub fn query_page(&self, filter: &QueryFilter, page: Page) -> Result<Paged<RecordView>> {
        let mut matches = Vec::new();
        for seq in self.query_candidates(filter)? {
            if let Some(view) = self.matching(filter, seq)? {
                matches.push((view.date, view.seq));
            }
        }
        matches.sort_unstable();
        let total = matches.len() as u64;
        let items = page.slice(&matches).iter().map(|(_, seq)| self.record_view(*seq)).collect::<Result<Vec<_>>>()?;
        Ok(page.paged(items, total))
    }

    /// The seqs `query` looks at: from the most selective index the filter allows.
    fn query_candidates(&self, filter: &QueryFilter) -> Result<Vec<u64>> {
        Ok(if let Some(person) = &filter.person {
            self.index_seqs(&keys::person_prefix(person))?
        } else if let Some(unit) = &filter.unit {
            self.index_seqs(&keys::unit_prefix(unit))?
        } else if let Some(kind) = &filter.kind {
            self.index_seqs(&keys::kind_prefix(kind))?
        } else {
            let mut all = Vec::new();
            for spec in crate::schema::KINDS.iter().filter(|k| k.domain) {
                all.extend(self.index_seqs(&keys::kind_prefix(spec.name))?);
            }
            // Each index is sorted and free of repeats already; their union is not.
            all.sort_unstable();
            all.dedup();
            all
        })
    }

    /// The record at `seq` if it matches every filter (every word of `text`, anywhere in the body).
    fn matching(&self, filter: &QueryFilter, seq: u64) -> Result<Option<RecordView>> {
        let view = self.record_view(seq)?;
        if filter.kind.as_ref().is_some_and(|k| *k != view.kind) {
            return Ok(None);
        }
        let body = view.body.clone().unwrap_or(Value::Null);
        if let Some(person) = &filter.person
            && !crate::projection::person_ids(&view.kind, &body).iter().any(|id| id == person)
        {
            return Ok(None);
        }
        if let Some(unit) = &filter.unit
            && !crate::projection::units(&body).iter().any(|u| u == unit)
        {
            return Ok(None);
        }
        if filter.since.is_some_and(|since| view.date < since) || filter.until.is_some_and(|until| view.date > until) {
            return Ok(None);
        }
        if let Some(words) = &filter.text {
            let text = collect_text(&body);
            if !words.split_whitespace().all(|word| text.contains(word)) {
                return Ok(None);
            }
        }
        Ok(Some(view))
    }

    /// Case states: reports, decisions, appeals and rectifications, each with its status.
    pub fn cases(&self, open_only: bool) -> Result<Vec<CaseView>> {
        let mut out = Vec::new();
        for (family, tag) in CASE_FAMILIES {
            for item in self.state.scan(&[keys::PREFIX, tag, 0]) {
                let (key, value) = item?;
                let id = String::from_utf8_lossy(&key[3..]).into_owned();
                let state: Value = serde_json::from_slice(&value).unwrap_or(Value::Null);
                let status = state["status"].as_str().unwrap_or_default().to_string();
                // `pending_approval`: a collective decision not yet in effect (decisions group).
                let open = matches!(
                    status.as_str(),
                    "open" | "pending" | "under_appeal" | "issued" | "replied" | "pending_approval"
                );
                if open_only && !open {
                    continue;
                }
                out.push(CaseView { family, id, status, open, seq: state["seq"].as_u64().unwrap_or(0), state });
            }
        }
        out.sort_by_key(|c| c.seq);
        Ok(out)
    }

    /// One page of `cases`.
    pub fn cases_page(&self, open_only: bool, page: Page) -> Result<Paged<CaseView>> {
        let cases = self.cases(open_only)?;
        let total = cases.len() as u64;
        Ok(page.paged(page.slice(&cases).to_vec(), total))
    }

    /// Open cases past a deadline on `on`: rectifications with an item still open whose due date is
    /// before `on` (`state.overdue_items`: each such item's number and due date), supervision
    /// orders (督办) past their deadline, and letter inquiries (函询) unanswered past their reply
    /// date.
    pub fn overdue(&self, on: Date) -> Result<Vec<(CaseView, RecordView)>> {
        self.overdue_cases(on)?
            .into_iter()
            .map(|case| {
                let record = self.record_view(case.seq)?;
                Ok((case, record))
            })
            .collect()
    }

    /// One page of `overdue`: only the page's records are read.
    pub fn overdue_page(&self, on: Date, page: Page) -> Result<Paged<(CaseView, RecordView)>> {
        let cases = self.overdue_cases(on)?;
        let total = cases.len() as u64;
        let items = page
            .slice(&cases)
            .iter()
            .map(|case| Ok((case.clone(), self.record_view(case.seq)?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(page.paged(items, total))
    }

    /// The open cases past a deadline on `on`, in seq order (see [`Queries::overdue`]).
    fn overdue_cases(&self, on: Date) -> Result<Vec<CaseView>> {
        let before = |value: &Value| value.as_str().and_then(Date::parse).is_some_and(|due| due < on);
        let mut out = Vec::new();
        for mut case in self.cases(true)? {
            match case.family {
                "rectification" => {
                    let overdue: Vec<Value> = case.state["items"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .enumerate()
                        .filter(|(_, item)| item["done_seq"].is_null() && before(&item["due"]))
                        .map(|(index, item)| serde_json::json!({"item": index + 1, "due": item["due"]}))
                        .collect();
                    if !overdue.is_empty() {
                        case.state["overdue_items"] = Value::Array(overdue);
                        out.push(case);
                    }
                }
                "supervision" if before(&case.state["deadline"]) => out.push(case),
                "inquiry" if case.status == "issued" && before(&case.state["reply_due"]) => out.push(case),
                _ => {}
            }
        }
        Ok(out)
    }

    /// The assessments (考核评价) of every unit, or of one year, in (unit, year) order, each
    /// with its record (the unit's name, the assessing body).
    pub fn assessments(&self, year: Option<i16>) -> Result<Vec<AssessmentView>> {
        let mut out = Vec::new();
        for item in self.state.scan(&keys::assessment_prefix()) {
            let (_, value) = item?;
            let state: Value = serde_json::from_slice(&value).unwrap_or(Value::Null);
            let Some(seq) = state["seq"].as_u64().filter(|seq| *seq < self.end) else { continue };
            let record = self.record_view(seq)?;
            let Some(body) = record.body.as_ref() else { continue };
            let text = |value: &Value| value.as_str().unwrap_or_default().to_string();
            if year.is_some_and(|y| text(&body["year"]) != format!("{y:04}")) {
                continue;
            }
            out.push(AssessmentView {
                org_id: text(&body["unit"]["org_id"]),
                unit: text(&body["unit"]["name"]),
                year: text(&body["year"]),
                grade: text(&body["grade"]),
                score: text(&body["score"]),
                assessed_by: text(&body["assessed_by"]),
                seq,
            });
        }
        Ok(out)
    }

    /// Counts for the annual assessment, grouped as asked.
    pub fn stats(&self, by: StatsGrouping, year: Option<i16>) -> Result<BTreeMap<(String, String), u64>> {
        let mut out: BTreeMap<(String, String), u64> = BTreeMap::new();
        let prefix = match by {
            StatsGrouping::Month => keys::month_prefix(),
            _ => keys::stat_prefix(),
        };
        for item in self.state.scan(&prefix) {
            let (key, value) = item?;
            let count = <[u8; 8]>::try_from(value.as_slice()).map(u64::from_be_bytes).unwrap_or(0);
            let parts: Vec<String> =
                key[2..].split(|b| *b == 0).skip(1).map(|p| String::from_utf8_lossy(p).into_owned()).collect();
            let (group, kind) = match (by, parts.as_slice()) {
                (StatsGrouping::Month, [month, kind]) => {
                    if year.is_some_and(|y| !month.starts_with(&format!("{y:04}"))) {
                        continue;
                    }
                    (month.clone(), kind.clone())
                }
                (_, [stat_year, unit, kind]) => {
                    if year.is_some_and(|y| *stat_year != format!("{y:04}")) {
                        continue;
                    }
                    match by {
                        StatsGrouping::Unit => {
                            (if unit.is_empty() { "(无单位)".into() } else { unit.clone() }, kind.clone())
                        }
                        _ => (stat_year.clone(), kind.clone()),
                    }
                }
                _ => continue,
            };
            *out.entry((group, kind)).or_default() += count;
        }
        Ok(out)
    }

    /// Who redacted each redacted line among `lines` (keyed by seq), when and why: what a list of
    /// stored lines (`lianlog log`) shows in place of a removed body.
    pub fn redaction_notes(&self, lines: &[ParsedLine]) -> Result<BTreeMap<u64, RedactionNote>> {
        let mut notes = BTreeMap::new();
        for line in lines.iter().filter(|l| matches!(l.line.body, StoredBody::Redacted { .. })) {
            if let Some(note) = self.record_view(line.line.entry.seq)?.redaction {
                notes.insert(line.line.entry.seq, note);
            }
        }
        Ok(notes)
    }
}

/// `--as-of SEQ|DATE` → the number of entries the state covers: after entry SEQ (`SEQ + 1`
/// entries), or at the end of DATE (YYYY-MM-DD) in China (UTC+8) as `entries_until` counts them.
/// `size` is the number of entries there are; an entry past the end, a day before the first entry
/// or a text that is neither is refused (bad input, naming `--as-of`).
pub fn as_of_end(text: &str, size: u64, entries_until: impl Fn(Date) -> Result<u64>) -> Result<u64> {
    if let Ok(seq) = text.parse::<u64>() {
        if seq >= size {
            return Err(Error::bad_input(format!(
                "--as-of {seq}: there is no entry {seq} (the last is {})",
                size.saturating_sub(1)
            )));
        }
        return Ok(seq + 1);
    }
    let date = Date::parse(text)
        .ok_or_else(|| Error::bad_input(format!("--as-of {text:?}: expected a seq or a date YYYY-MM-DD")))?;
    let end = entries_until(date)?;
    if end == 0 {
        return Err(Error::bad_input(format!(
            "--as-of {date}: no entry had been made by the end of that day (China time)"
        )));
    }
    Ok(end)
}

/// How many items a listing shows when not asked (`--limit`): a screenful, not twenty thousand.
pub const DEFAULT_LIMIT: u64 = 50;

/// Which part of a long answer to show: at most `limit` items (0: all of them) after skipping the
/// first `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Items skipped before the page.
    pub offset: u64,
    /// Most items on the page; 0 means all that follow `offset`.
    pub limit: u64,
}

impl Default for Page {
    fn default() -> Page {
        Page { offset: 0, limit: DEFAULT_LIMIT }
    }
}

/// One page of an answer: its items, how many there are in all, and how many follow the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Paged<T> {
    /// The items on the page, in the answer's order.
    pub items: Vec<T>,
    /// Items in the whole answer.
    pub total: u64,
    /// Items before the page (the `offset`, or `total` if it is past the end).
    pub offset: u64,
    /// Items after the page: what `--offset` (or a larger `--limit`) would show next.
    pub more: u64,
}

impl Page {
    /// The last `count` of `total` items (`log --last N`).
    pub fn last(count: u64, total: u64) -> Page {
        Page { offset: total.saturating_sub(count), limit: count.min(total).max(1) }
    }

    /// The positions `[start, end)` of this page among `total` items.
    pub fn range(&self, total: u64) -> std::ops::Range<u64> {
        let start = self.offset.min(total);
        let end = if self.limit == 0 { total } else { start.saturating_add(self.limit).min(total) };
        start..end
    }

    /// This page of `items`.
    pub fn slice<'s, T>(&self, items: &'s [T]) -> &'s [T] {
        let range = self.range(items.len() as u64);
        // Positions are within `items.len()`, so they fit in usize.
        &items[range.start as usize..range.end as usize]
    }

    /// The page holding `items` (already cut to this page) of `total` items in all.
    pub fn paged<T>(&self, items: Vec<T>, total: u64) -> Paged<T> {
        let range = self.range(total);
        Paged { items, total, offset: range.start, more: total - range.end }
    }

    /// The seqs a list of entries from `from` shows out of a ledger of `size` entries, as one page
    /// (`offset` counted from `from`), and how many entries follow them.
    pub fn seqs(&self, from: u64, size: u64) -> (std::ops::Range<u64>, u64) {
        let first = from.min(size);
        let range = self.range(size - first);
        (first + range.start..first + range.end, size - first - range.end)
    }
}

/// One unit's assessment (考核评价) for one year, as `stats` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssessmentView {
    /// The unit's organisation id.
    pub org_id: String,
    /// The unit's name.
    pub unit: String,
    /// The year assessed (`YYYY`).
    pub year: String,
    /// The grade (`excellent` 好, `good` 较好, `fair` 一般, `poor` 差).
    pub grade: String,
    /// The score (`"92.5"`).
    pub score: String,
    /// The assessing body.
    pub assessed_by: String,
    /// The seq of the assessment record.
    pub seq: u64,
}

/// How `stats` groups its counts (always per kind within the group).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatsGrouping {
    /// By unit.
    Unit,
    /// By kind alone.
    Kind,
    /// By month.
    Month,
}

/// The case families and the tag of their state keys, in the order `cases` lists them.
const CASE_FAMILIES: [(&str, u8); 6] = [
    ("report", b'r'),
    ("decision", b'd'),
    ("appeal", b'a'),
    ("rectification", b'x'),
    // kinds group (issue 17)
    ("supervision", b'O'),
    ("inquiry", b'Q'),
];

/// One case as `lianlog cases` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseView {
    /// The case family (which kinds open and close it).
    pub family: &'static str,
    /// The case ID.
    pub id: String,
    /// Its status.
    pub status: String,
    /// Whether it is still open.
    pub open: bool,
    /// The seq of the record that opened it.
    pub seq: u64,
    /// Its projection state.
    pub state: Value,
}

/// A case read back from the wire: its family must be one of the four `cases` knows (the field is
/// a `&'static str`, so it is found among them rather than borrowed from the input).
impl<'de> Deserialize<'de> for CaseView {
    fn deserialize<D: serde::Deserializer<'de>>(input: D) -> std::result::Result<CaseView, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Wire {
            family: String,
            id: String,
            status: String,
            open: bool,
            seq: u64,
            state: Value,
        }
        let wire = Wire::deserialize(input)?;
        let family =
            CASE_FAMILIES.iter().map(|(family, _)| *family).find(|family| *family == wire.family).ok_or_else(|| {
                <D::Error as serde::de::Error>::custom(format!("{:?} is not a case family", wire.family))
            })?;
        Ok(CaseView { family, id: wire.id, status: wire.status, open: wire.open, seq: wire.seq, state: wire.state })
    }
}

fn collect_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(items) => items.iter().map(collect_text).collect::<Vec<_>>().join(" "),
        Value::Object(members) => members.values().map(collect_text).collect::<Vec<_>>().join(" "),
        _ => String::new(),
    }
}

/// The JSON spellings of the view types' fields that have no serde form of their own: the one
/// text spelling of each (hex hashes, format-v1 timestamps, `YYYY-MM-DD` dates), parsed as
/// strictly as everywhere else, so that a view read back from the wire is the view that was sent.
mod wire {
    use serde::{Deserialize as _, Deserializer, Serializer, de::Error as _};

    pub mod entry_hash {
        use super::*;
        use crate::record::EntryHash;

        pub fn serialize<S: Serializer>(hash: &EntryHash, out: S) -> Result<S::Ok, S::Error> {
            out.serialize_str(&hash.to_hex())
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(input: D) -> Result<EntryHash, D::Error> {
            let text = String::deserialize(input)?;
            EntryHash::parse_hex(&text)
                .ok_or_else(|| D::Error::custom(format!("{text:?} is not an entry hash (64 hex)")))
        }
    }

    pub mod timestamp {
        use super::*;
        use crate::time::Timestamp;

        pub fn serialize<S: Serializer>(time: &Timestamp, out: S) -> Result<S::Ok, S::Error> {
            out.serialize_str(&time.to_string())
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(input: D) -> Result<Timestamp, D::Error> {
            let text = String::deserialize(input)?;
            Timestamp::parse(&text)
                .ok_or_else(|| D::Error::custom(format!("{text:?} is not a timestamp YYYY-MM-DDTHH:MM:SS.sssZ")))
        }
    }

    pub mod date {
        use super::*;
        use crate::time::Date;

        pub fn serialize<S: Serializer>(date: &Date, out: S) -> Result<S::Ok, S::Error> {
            out.serialize_str(&date.to_string())
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(input: D) -> Result<Date, D::Error> {
            let text = String::deserialize(input)?;
            Date::parse(&text).ok_or_else(|| D::Error::custom(format!("{text:?} is not a date YYYY-MM-DD")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn a_page_says_how_many_follow_it() {
        let items: Vec<u64> = (0..120).collect();
        let page = Page::default();
        assert_eq!(page.slice(&items), &items[..50]);
        assert_eq!(page.paged(page.slice(&items).to_vec(), 120).more, 70);
        let page = Page { offset: 100, limit: 50 };
        assert_eq!(page.slice(&items), &items[100..]);
        assert_eq!(page.paged(Vec::<u64>::new(), 120), Paged { items: vec![], total: 120, offset: 100, more: 0 });
        // Past the end: nothing, nothing more; limit 0: everything after the offset.
        assert_eq!(Page { offset: 500, limit: 10 }.range(120), 120..120);
        assert_eq!(Page { offset: 20, limit: 0 }.range(120), 20..120);
        assert_eq!(Page { offset: 0, limit: u64::MAX }.range(u64::MAX), 0..u64::MAX);
        // The last ten, and a log page from seq 100 of a 120-entry ledger.
        assert_eq!(Page::last(10, 120).range(120), 110..120);
        assert_eq!(Page::last(10, 3).range(3), 0..3);
        assert_eq!(Page::last(10, 0).range(0), 0..0);
        assert_eq!(Page { offset: 5, limit: 10 }.seqs(100, 120), (105..115, 5));
        assert_eq!(Page::default().seqs(200, 120), (120..120, 0));
    }

    #[test]
    fn views_cross_the_wire_unchanged() {
        let time = Timestamp::parse("2026-03-01T02:03:04.005Z").unwrap();
        let record = RecordView {
            seq: 7,
            entry_hash: EntryHash([0xab; 32]),
            time,
            kind: "talk".into(),
            author: "officer+1234".into(),
            body: Some(serde_json::json!({"summary": "谈话"})),
            date: Date::parse("2026-02-28").unwrap(),
            corrected_by: Some(9),
            redacted_by: None,
            redaction: Some(RedactionNote {
                by: 10,
                author: "admin+1".into(),
                time,
                reason: "r".into(),
                has_replacement: true,
            }),
            status: Some("open".into()),
        };
        let case = CaseView {
            family: "rectification",
            id: "ZG-1".into(),
            status: "open".into(),
            open: true,
            seq: 7,
            state: serde_json::json!({"due_on": "2026-04-01"}),
        };
        let paged = Paged { items: vec![(case, record)], total: 3, offset: 1, more: 1 };
        let text = serde_json::to_string(&paged).unwrap();
        assert!(text.contains("\"time\":\"2026-03-01T02:03:04.005Z\""), "{text}");
        assert!(text.contains(&"ab".repeat(32)), "{text}");
        let back: Paged<(CaseView, RecordView)> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, paged);
        // Strict: another spelling, an unknown family or an unknown field is refused.
        for (from, to) in [
            ("2026-03-01T02:03:04.005Z", "2026-03-01T02:03:04Z"),
            ("\"rectification\"", "\"other\""),
            ("\"open\":true", "\"open\":true,\"extra\":1"),
        ] {
            let bad = text.replacen(from, to, 1);
            assert!(serde_json::from_str::<Paged<(CaseView, RecordView)>>(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn as_of_takes_a_seq_or_a_day_and_refuses_what_is_not_there() {
        let day = Date::parse("2026-03-01").unwrap();
        let until = |date: Date| Ok(if date >= day { 7 } else { 0 });
        assert_eq!(as_of_end("0", 10, until).unwrap(), 1);
        assert_eq!(as_of_end("9", 10, until).unwrap(), 10);
        assert_eq!(as_of_end("2026-03-01", 10, until).unwrap(), 7);
        for (text, expected) in [
            ("10", "--as-of 10: there is no entry 10 (the last is 9)"),
            ("2026-02-28", "--as-of 2026-02-28: no entry had been made by the end of that day (China time)"),
            ("yesterday", "--as-of \"yesterday\": expected a seq or a date YYYY-MM-DD"),
        ] {
            let err = as_of_end(text, 10, until).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::BadInput, "{text}");
            assert_eq!(err.message(), expected, "{text}");
        }
    }
}
