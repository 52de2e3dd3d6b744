//! The authenticated reads of a `lianlog serve` ledger (`/lianlog/v1/…`): `show`, `log`,
//! `dossier`, `query`, `cases`, `overdue`, `stats`, `checkpoint`, `prove` and `export`, each
//! returning the library's own types so that the CLI renders a remote answer with the very code
//! that renders a local one.
//!
//! Guarantees: parameters are percent-encoded exactly (every byte but the RFC 3986 unreserved
//! ones), so what is signed is what the server decodes; stored lines come back as stored lines and
//! are parsed with the library's strict parser ([`ParsedLine::parse`]), views and registries with
//! strict serde (unknown fields refused); an answer that does not match the question (another
//! seq, lines out of order, an export without its end line) is refused as a verification error,
//! never shown. The wire format is in docs/FORMAT.md ("Authenticated reads").

use std::collections::BTreeMap;

use lianlog_ledger::query::{
    AssessmentView, CaseView, Page, Paged, QueryFilter, RecordView, RedactionNote, StatsGrouping,
};
use lianlog_ledger::{Date, EntryHash, Error, Hash, KeyRegistry, ParsedLine, Result, Timestamp};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use serde_json::Value;

use crate::Client;

/// The point an `--as-of` answer was given at: `end` entries replayed, the last one's time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsOf {
    /// Entries replayed (the state after seq `end - 1`).
    pub end: u64,
    /// The time of entry `end - 1`.
    pub last_time: Option<Timestamp>,
}

/// The answer of `show SEQ`.
#[derive(Debug, Clone)]
pub struct Shown {
    /// The stored line (its body withheld for a key that reads no bodies).
    pub line: ParsedLine,
    /// Who redacted the record, when and why, if it was.
    pub redaction: Option<RedactionNote>,
    /// The key registry (as of the point asked about), to name authors.
    pub registry: KeyRegistry,
    /// The `--as-of` point, if one was asked for.
    pub as_of: Option<AsOf>,
    /// Whether the caller reads bodies (false: an auditor's key).
    pub bodies: bool,
}

/// The answer of `log`: one page of stored lines.
#[derive(Debug, Clone)]
pub struct LogPage {
    /// The lines of the page, as one `Paged` (total = the ledger's size).
    pub page: Paged<ParsedLine>,
    /// The page size asked for (for `--json`'s `limit`).
    pub limit: u64,
    /// The ledger's head entry hash.
    pub head: EntryHash,
    /// Who redacted each redacted line of the page.
    pub redactions: BTreeMap<u64, RedactionNote>,
    /// The key registry, to name authors.
    pub registry: KeyRegistry,
    /// Whether the caller reads bodies.
    pub bodies: bool,
}

/// The answer of `dossier` and `query`: one page of records.
#[derive(Debug, Clone)]
pub struct Records {
    /// The page.
    pub page: Paged<RecordView>,
    /// The key registry (as of the point asked about).
    pub registry: KeyRegistry,
    /// The `--as-of` point, if any.
    pub as_of: Option<AsOf>,
    /// Whether the caller reads bodies.
    pub bodies: bool,
    /// The influence periods (影响期) of the decisions on a dossier's page (none for other
    /// answers, and none for a key that reads no bodies: they are derived from them).
    pub influence: Vec<lianlog_ledger::influence::InfluencePeriod>,
}

/// The answer of `cases`.
#[derive(Debug, Clone)]
pub struct Cases {
    /// The page.
    pub page: Paged<CaseView>,
    /// The `--as-of` point, if any.
    pub as_of: Option<AsOf>,
}

/// The answer of `overdue`.
#[derive(Debug, Clone)]
pub struct Overdue {
    /// The page: each overdue case (rectification items, supervision orders, unanswered inquiries) with its record.
    pub page: Paged<(CaseView, RecordView)>,
    /// The `--as-of` point, if any.
    pub as_of: Option<AsOf>,
    /// Whether the caller reads bodies.
    pub bodies: bool,
}

/// The answer of `stats`.
#[derive(Debug, Clone)]
pub struct Stats {
    /// Counts by (group, kind), as `Queries::stats` gives them.
    pub stats: BTreeMap<(String, String), u64>,
    /// The `--as-of` point, if any.
    pub as_of: Option<AsOf>,
}

/// The answer of `checkpoint [--size N]`: a checkpoint the server's log key signed now.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedCheckpoint {
    /// The ledger's origin.
    pub origin: String,
    /// The tree size.
    pub size: u64,
    /// The root hash, hex.
    pub root: String,
    /// The signed note.
    pub note: String,
}

/// The answer of `prove inclusion`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inclusion {
    /// The entry's seq.
    pub index: u64,
    /// The tree size proven against.
    pub size: u64,
    /// The entry's leaf hash, hex.
    pub leaf_hash: String,
    /// The root at `size`, hex.
    pub root: String,
    /// The proof's hashes.
    pub hashes: Vec<Hash>,
    /// A checkpoint of `size` signed by the log key.
    pub checkpoint: String,
}

/// The answer of `prove consistency`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consistency {
    /// The older size.
    pub old_size: u64,
    /// The newer size.
    pub new_size: u64,
    /// The root at the older size, hex.
    pub old_root: String,
    /// The root at the newer size, hex.
    pub new_root: String,
    /// The proof's hashes.
    pub hashes: Vec<Hash>,
}

/// The answer of `export`: the export's bytes (JSON Lines, format-v1 section 10) and what the
/// server's `export_dir` reported writing.
#[derive(Debug, Clone)]
pub struct Export {
    /// The export, every line ending in `\n`.
    pub bytes: Vec<u8>,
    /// What was written.
    pub exported: lianlog_ledger::ledger::Exported,
}

/// The largest export read (it is held in memory until it is known whole): 4 GiB.
pub const EXPORT_RESPONSE_LIMIT: u64 = 4 << 30;
/// How long an export may take, connect to last byte.
pub const EXPORT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3600);

/// The first member of the line that ends an export answer (docs/FORMAT.md).
pub const EXPORT_END: &str = "lianlog-export-end";

/// Percent-encode everything but RFC 3986's unreserved characters.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// A path with its query string, built parameter by parameter.
struct Path {
    text: String,
    first: bool,
}

impl Path {
    fn new(path: &str) -> Path {
        Path { text: path.to_string(), first: true }
    }

    fn add(mut self, name: &str, value: impl std::fmt::Display) -> Path {
        self.text.push(if self.first { '?' } else { '&' });
        self.first = false;
        self.text.push_str(name);
        self.text.push('=');
        self.text.push_str(&utf8_percent_encode(&value.to_string(), QUERY_VALUE).to_string());
        self
    }

    fn add_some(self, name: &str, value: Option<impl std::fmt::Display>) -> Path {
        match value {
            Some(value) => self.add(name, value),
            None => self,
        }
    }

    fn page(self, page: Page) -> Path {
        self.add("offset", page.offset).add("limit", page.limit)
    }
}

fn wrong(what: &str, why: impl std::fmt::Display) -> Error {
    Error::verification(format!("the server's answer to {what} is not what was asked: {why}"))
}

fn registry(value: KeyRegistry, what: &str) -> Result<KeyRegistry> {
    value.restore().map_err(|err| wrong(what, format!("its key registry: {err}")))
}

fn parse_line(text: &str, what: &str) -> Result<ParsedLine> {
    ParsedLine::parse(text.as_bytes()).map_err(|err| wrong(what, format!("a stored line does not parse: {err}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AsOfWire {
    end: u64,
    last_time: Option<String>,
}

fn as_of(wire: Option<AsOfWire>, what: &str) -> Result<Option<AsOf>> {
    let Some(wire) = wire else { return Ok(None) };
    let last_time = match wire.last_time {
        None => None,
        Some(text) => Some(Timestamp::parse(&text).ok_or_else(|| wrong(what, format!("{text:?} is not a time")))?),
    };
    Ok(Some(AsOf { end: wire.end, last_time }))
}

fn hashes(hex: &[String], what: &str) -> Result<Vec<Hash>> {
    hex.iter()
        .map(|text| {
            lianlog_ledger::encoding::parse_hex::<32>(text)
                .ok_or_else(|| wrong(what, format!("{text:?} is not a hash")))
        })
        .collect()
}

/// `show SEQ [--as-of X]`.
pub fn show(client: &Client, seq: u64, as_of_text: Option<&str>) -> Result<Shown> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Wire {
        line: String,
        redaction: Option<RedactionNote>,
        registry: KeyRegistry,
        as_of: Option<AsOfWire>,
        bodies: bool,
    }
    let what = "show";
    let wire: Wire =
        client.get_json(&Path::new("/lianlog/v1/show").add("seq", seq).add_some("as_of", as_of_text).text)?;
    let line = parse_line(&wire.line, what)?;
    if line.line.entry.seq != seq {
        return Err(wrong(what, format!("seq {} instead of seq {seq}", line.line.entry.seq)));
    }
    Ok(Shown {
        line,
        redaction: wire.redaction,
        registry: registry(wire.registry, what)?,
        as_of: as_of(wire.as_of, what)?,
        bodies: wire.bodies,
    })
}

/// Which lines `log` lists: a page from a seq, or the last N.
#[derive(Debug, Clone, Copy)]
pub enum LogRequest {
    /// `--from`, `--offset`, `--limit`.
    Page {
        /// First seq.
        from: u64,
        /// Entries skipped after `from`.
        offset: u64,
        /// Most entries (0: all).
        limit: u64,
    },
    /// `--last N`.
    Last(u64),
}

/// `log`.
pub fn log(client: &Client, request: LogRequest) -> Result<LogPage> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Wire {
        lines: Vec<String>,
        total: u64,
        offset: u64,
        limit: u64,
        more: u64,
        head: String,
        redactions: Vec<(u64, RedactionNote)>,
        registry: KeyRegistry,
        bodies: bool,
    }
    let what = "log";
    let path = match request {
        LogRequest::Page { from, offset, limit } => {
            Path::new("/lianlog/v1/log").add("from", from).add("offset", offset).add("limit", limit)
        }
        LogRequest::Last(count) => Path::new("/lianlog/v1/log").add("last", count),
    };
    let wire: Wire = client.get_json(&path.text)?;
    let mut items = Vec::with_capacity(wire.lines.len());
    for (index, text) in wire.lines.iter().enumerate() {
        let line = parse_line(text, what)?;
        let expected = wire.offset + index as u64;
        if line.line.entry.seq != expected {
            return Err(wrong(what, format!("seq {} where seq {expected} belongs", line.line.entry.seq)));
        }
        items.push(line);
    }
    let head = EntryHash::parse_hex(&wire.head).ok_or_else(|| wrong(what, "the head is not a hash"))?;
    Ok(LogPage {
        page: Paged { items, total: wire.total, offset: wire.offset, more: wire.more },
        limit: wire.limit,
        head,
        redactions: wire.redactions.into_iter().collect(),
        registry: registry(wire.registry, what)?,
        bodies: wire.bodies,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordsWire {
    page: Paged<RecordView>,
    registry: KeyRegistry,
    as_of: Option<AsOfWire>,
    bodies: bool,
    #[serde(default)]
    influence: Vec<lianlog_ledger::influence::InfluencePeriod>,
}

fn records(wire: RecordsWire, what: &str) -> Result<Records> {
    Ok(Records {
        page: wire.page,
        registry: registry(wire.registry, what)?,
        as_of: as_of(wire.as_of, what)?,
        bodies: wire.bodies,
        influence: wire.influence,
    })
}

/// `dossier PERSON`.
pub fn dossier(client: &Client, person: &str, page: Page, as_of_text: Option<&str>) -> Result<Records> {
    let path = Path::new("/lianlog/v1/dossier").add("person", person).page(page).add_some("as_of", as_of_text);
    records(client.get_json(&path.text)?, "dossier")
}

/// `query` with `filter`.
pub fn query(client: &Client, filter: &QueryFilter, page: Page, as_of_text: Option<&str>) -> Result<Records> {
    let path = Path::new("/lianlog/v1/query")
        .add_some("kind", filter.kind.as_deref())
        .add_some("person", filter.person.as_deref())
        .add_some("unit", filter.unit.as_deref())
        .add_some("since", filter.since)
        .add_some("until", filter.until)
        .add_some("text", filter.text.as_deref())
        .page(page)
        .add_some("as_of", as_of_text);
    records(client.get_json(&path.text)?, "query")
}

/// `cases [--open]`.
pub fn cases(client: &Client, open: bool, page: Page, as_of_text: Option<&str>) -> Result<Cases> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Wire {
        page: Paged<CaseView>,
        as_of: Option<AsOfWire>,
    }
    let path = Path::new("/lianlog/v1/cases").add("open", open).page(page).add_some("as_of", as_of_text);
    let wire: Wire = client.get_json(&path.text)?;
    Ok(Cases { page: wire.page, as_of: as_of(wire.as_of, "cases")? })
}

/// `overdue --on DAY` (the client's day, so that both ends answer for the same one).
pub fn overdue(client: &Client, on: Date, page: Page, as_of_text: Option<&str>) -> Result<Overdue> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Wire {
        page: Paged<(CaseView, RecordView)>,
        as_of: Option<AsOfWire>,
        bodies: bool,
    }
    let path = Path::new("/lianlog/v1/overdue").add("on", on).page(page).add_some("as_of", as_of_text);
    let wire: Wire = client.get_json(&path.text)?;
    Ok(Overdue { page: wire.page, as_of: as_of(wire.as_of, "overdue")?, bodies: wire.bodies })
}

/// `stats --by BY [--year Y]`.
pub fn stats(client: &Client, by: StatsGrouping, year: Option<i16>, as_of_text: Option<&str>) -> Result<Stats> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Wire {
        stats: Vec<(String, String, u64)>,
        as_of: Option<AsOfWire>,
    }
    let by = match by {
        StatsGrouping::Unit => "unit",
        StatsGrouping::Kind => "kind",
        StatsGrouping::Month => "month",
    };
    let path = Path::new("/lianlog/v1/stats").add("by", by).add_some("year", year).add_some("as_of", as_of_text);
    let wire: Wire = client.get_json(&path.text)?;
    let mut stats = BTreeMap::new();
    for (group, kind, count) in wire.stats {
        if stats.insert((group, kind), count).is_some() {
            return Err(wrong("stats", "a group and kind is counted twice"));
        }
    }
    Ok(Stats { stats, as_of: as_of(wire.as_of, "stats")? })
}

/// The answer of `stats --assessments`.
#[derive(Debug, Clone)]
pub struct Assessments {
    /// The assessments, as `Queries::assessments` gives them.
    pub assessments: Vec<AssessmentView>,
    /// The `--as-of` point, if any.
    pub as_of: Option<AsOf>,
}

/// `stats --assessments [--year Y]`.
pub fn assessments(client: &Client, year: Option<i16>, as_of_text: Option<&str>) -> Result<Assessments> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Wire {
        assessments: Vec<AssessmentView>,
        as_of: Option<AsOfWire>,
    }
    let path =
        Path::new("/lianlog/v1/stats").add("assessments", 1).add_some("year", year).add_some("as_of", as_of_text);
    let wire: Wire = client.get_json(&path.text)?;
    Ok(Assessments { assessments: wire.assessments, as_of: as_of(wire.as_of, "stats --assessments")? })
}

/// `checkpoint [--size N]`: signed now by the server's log key.
pub fn checkpoint(client: &Client, size: Option<u64>) -> Result<SignedCheckpoint> {
    client.get_json(&Path::new("/lianlog/v1/checkpoint").add_some("size", size).text)
}

/// `prove inclusion SEQ [--size N]`.
pub fn prove_inclusion(client: &Client, seq: u64, size: Option<u64>) -> Result<Inclusion> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Wire {
        index: u64,
        size: u64,
        leaf_hash: String,
        root: String,
        hashes: Vec<String>,
        checkpoint: String,
    }
    let what = "prove inclusion";
    let wire: Wire =
        client.get_json(&Path::new("/lianlog/v1/prove/inclusion").add("seq", seq).add_some("size", size).text)?;
    if wire.index != seq {
        return Err(wrong(what, format!("a proof for seq {} instead of seq {seq}", wire.index)));
    }
    Ok(Inclusion {
        index: wire.index,
        size: wire.size,
        leaf_hash: wire.leaf_hash,
        root: wire.root,
        hashes: hashes(&wire.hashes, what)?,
        checkpoint: wire.checkpoint,
    })
}

/// `prove consistency OLD NEW`.
pub fn prove_consistency(client: &Client, old: u64, new: u64) -> Result<Consistency> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Wire {
        old_size: u64,
        new_size: u64,
        old_root: String,
        new_root: String,
        hashes: Vec<String>,
    }
    let what = "prove consistency";
    let wire: Wire =
        client.get_json(&Path::new("/lianlog/v1/prove/consistency").add("old", old).add("new", new).text)?;
    Ok(Consistency {
        old_size: wire.old_size,
        new_size: wire.new_size,
        old_root: wire.old_root,
        new_root: wire.new_root,
        hashes: hashes(&wire.hashes, what)?,
    })
}

/// `export [--without-bodies]`: the whole export, checked to end with the server's end line
/// (an answer cut short is refused, not taken for a shorter ledger).
pub fn export(client: &Client, without_bodies: bool) -> Result<Export> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Summary {
        entries: u64,
        withheld: u64,
        replacements_kept: Vec<u64>,
    }
    let what = "export";
    let mut bytes =
        client.get(&Path::new("/lianlog/v1/export").add("without_bodies", without_bodies).text)?.into_body();
    if bytes.last() != Some(&b'\n') {
        return Err(wrong(what, "the export was cut short (no end line); nothing was written"));
    }
    let start = bytes[..bytes.len() - 1].iter().rposition(|byte| *byte == b'\n').map_or(0, |at| at + 1);
    let cut_short = || wrong(what, "the export was cut short (no end line); nothing was written");
    let end: serde_json::Map<String, Value> = serde_json::from_slice(&bytes[start..]).map_err(|_| cut_short())?;
    if end.len() != 1 {
        return Err(cut_short());
    }
    if let Some(problem) = end.get("problem") {
        // The server failed after the answer began: its problem, as any other refusal.
        let status = problem.get("status").and_then(Value::as_u64).and_then(|s| u16::try_from(s).ok()).unwrap_or(500);
        let body = problem.to_string();
        return Err(crate::problem::to_error(client.url(), status, Some("application/problem+json"), body.as_bytes()));
    }
    let summary = end.get(EXPORT_END).ok_or_else(cut_short)?;
    let summary: Summary =
        serde_json::from_value(summary.clone()).map_err(|err| wrong(what, format!("its end line: {err}")))?;
    bytes.truncate(start);
    let lines = bytes.iter().filter(|byte| **byte == b'\n').count() as u64;
    if lines != summary.entries {
        return Err(wrong(what, format!("{lines} lines, but the server says it wrote {}", summary.entries)));
    }
    Ok(Export {
        bytes,
        exported: lianlog_ledger::ledger::Exported {
            entries: summary.entries,
            withheld: summary.withheld,
            replacements_kept: summary.replacements_kept,
        },
    })
}

/// `disclose PERSON`: the package the server's ledger builds for `signer` (who signs it here,
/// with [`lianlog_ledger::disclosure::UnsignedPackage::sign`]), against a checkpoint the server's
/// log key signs now or `checkpoint` (a signed note of the whole ledger).
pub fn disclose(
    client: &Client,
    person: &str,
    signer: &lianlog_ledger::PublicKey,
    checkpoint: Option<&str>,
) -> Result<lianlog_ledger::disclosure::UnsignedPackage> {
    let ask = serde_json::json!({"person": person, "signer": signer.vkey(), "checkpoint": checkpoint});
    let unsigned: lianlog_ledger::disclosure::UnsignedPackage = client.post_json("/lianlog/v1/disclose", &ask)?;
    // The package must be the one asked for: this person, this signer (who is about to sign it).
    if unsigned.package.get("person").and_then(Value::as_str) != Some(person) || unsigned.signer != signer.identity() {
        return Err(wrong("disclose", "a package for another person or signer"));
    }
    Ok(unsigned)
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead as _, Read as _, Write as _};

    use super::*;

    /// A one-shot loopback server answering one request with `body` (status 200, `content_type`).
    fn answering(content_type: &'static str, body: Vec<u8>) -> Client {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = std::io::BufReader::new(stream);
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap() > 2 {
                line.clear();
            }
            let mut stream = reader.into_inner();
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes()).unwrap();
            stream.write_all(&body).unwrap();
            let _ = stream.read(&mut [0; 1]);
        });
        Client::new(&url).unwrap()
    }

    #[test]
    fn an_export_must_end_with_its_end_line_and_count() {
        let lines = b"{\"a\":1}\n{\"b\":2}\n".to_vec();
        let end = |entries: u64| {
            format!("{{\"{EXPORT_END}\":{{\"entries\":{entries},\"withheld\":1,\"replacements_kept\":[]}}}}\n")
        };
        let whole = [lines.clone(), end(2).into_bytes()].concat();
        let exported = export(&answering("application/jsonl", whole), true).unwrap();
        assert_eq!(exported.bytes, lines);
        assert_eq!((exported.exported.entries, exported.exported.withheld), (2, 1));
        for (answer, why) in [
            (lines.clone(), "cut short"),
            (lines[..lines.len() - 3].to_vec(), "cut short"),
            ([lines.clone(), end(3).into_bytes()].concat(), "2 lines, but the server says it wrote 3"),
        ] {
            let err = export(&answering("application/jsonl", answer), true).unwrap_err();
            assert_eq!(err.kind(), lianlog_ledger::ErrorKind::Verification);
            assert!(err.message().contains(why), "{}", err.message());
        }
        let failed = [
            lines,
            br#"{"problem":{"status":500,"code":"Io","exit":7,"detail":"disk gone"}}"#.to_vec(),
            b"\n".to_vec(),
        ]
        .concat();
        let err = super::export(&answering("application/jsonl", failed), true).unwrap_err();
        assert_eq!((err.kind(), err.message()), (lianlog_ledger::ErrorKind::Io, "disk gone"));
    }

    #[test]
    fn an_answer_about_something_else_is_refused() {
        let answer = serde_json::json!({
            "line": "not a stored line", "redaction": null, "registry": KeyRegistry::default(), "as_of": null, "bodies": true,
        });
        let err = show(&answering("application/json", answer.to_string().into_bytes()), 3, None).unwrap_err();
        assert_eq!(err.kind(), lianlog_ledger::ErrorKind::Verification);
        let answer = serde_json::json!({"stats": [["2026", "interview", 1], ["2026", "interview", 2]], "as_of": null});
        let err =
            stats(&answering("application/json", answer.to_string().into_bytes()), StatsGrouping::Kind, None, None)
                .unwrap_err();
        assert!(err.message().contains("counted twice"), "{}", err.message());
    }

    #[test]
    fn parameters_are_percent_encoded_exactly() {
        let path = Path::new("/lianlog/v1/query").add("text", "违纪 a&b=c+d/é~").add("limit", 50).text;
        assert_eq!(path, "/lianlog/v1/query?text=%E8%BF%9D%E7%BA%AA%20a%26b%3Dc%2Bd%2F%C3%A9~&limit=50");
    }
}
