//! Authenticated read routes under `/lianlog/v1/…`: the answers of `show`, `log`, `dossier`,
//! `query`, `cases`, `overdue`, `stats`, `checkpoint`, `prove`, `export` and `disclose`, for the
//! CLI's `--server` paths (`lianlog-remote`'s `reads`), which render them exactly as the local
//! commands do.
//!
//! Guarantees:
//! - **Signed or nothing.** Every route first checks the request's RFC 9421 signature
//!   (`auth::authenticate`); an unsigned request, or one by an unknown or revoked key, gets a
//!   problem (401/403) and no data. The GET routes also answer a web session (`web::session::caller`:
//!   the pages' scripts cannot sign), by the same roles and with the same access log line.
//! - **Auditors read no bodies.** A key with neither the admin nor the officer role gets every
//!   answer with the bodies withheld, by the one rule of a body-less export
//!   (`record::kind_keeps_body`: the `ledger.*` and `key.*` bodies verifiers need are kept); it
//!   cannot search body text (`query text=`), export with bodies or build a disclosure package.
//! - **The library answers.** Each route parses its parameters strictly (an unknown, repeated or
//!   malformed one is refused, naming it) and calls the same library functions as the local
//!   command (`Queries`, `as_of_end`, `Ledger::as_of`, proofs, `export_dir`, `disclosure`), under
//!   the ledger's read lock, on the blocking pool; what crosses the wire is the library's own
//!   types (`RecordView`, `CaseView`, `Paged`, `KeyRegistry`) and stored lines as they are stored.
//!
//! The wire format of each answer is in docs/FORMAT.md ("Authenticated reads").

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use lianlog_ledger::ledger::PastState;
use lianlog_ledger::query::{Page, Queries, QueryFilter, StatsGrouping};
use lianlog_ledger::record::kind_keeps_body;
use lianlog_ledger::{Date, KeyRegistry, Ledger, ParsedLine, Role};
use serde_json::{Value, json};

use super::ServeState;
use super::auth::{Caller, authenticate};
use super::problem::{Code, Problem};

/// The authenticated read routes.
pub(crate) fn routes() -> Router<Arc<ServeState>> {
    Router::new()
        .route("/lianlog/v1/show", get(show))
        .route("/lianlog/v1/log", get(log))
        .route("/lianlog/v1/dossier", get(dossier))
        .route("/lianlog/v1/query", get(query))
        .route("/lianlog/v1/cases", get(cases))
        .route("/lianlog/v1/overdue", get(overdue))
        .route("/lianlog/v1/stats", get(stats))
        .route("/lianlog/v1/checkpoint", get(checkpoint))
        .route("/lianlog/v1/prove/inclusion", get(prove_inclusion))
        .route("/lianlog/v1/prove/consistency", get(prove_consistency))
        .route("/lianlog/v1/export", get(export))
        .route("/lianlog/v1/disclose", post(disclose))
}

/// The media type of every JSON answer.
const JSON: &str = "application/json";

/// Who asks, and whether they read bodies.
struct Reader {
    caller: Caller,
    /// Admin and officer keys read bodies; an auditor's key does not.
    bodies: bool,
}

impl Reader {
    fn of(caller: Caller) -> Reader {
        let bodies = caller.has(Role::Admin) || caller.has(Role::Officer);
        Reader { caller, bodies }
    }

    /// Refuse what needs bodies to a key that reads none.
    fn needs_bodies(&self, what: &str) -> Result<(), Problem> {
        if self.bodies {
            return Ok(());
        }
        Err(Problem::new(
            Code::Unauthorized,
            format!(
                "key {} reads no bodies (an auditor's key: 审计只读元数据), so it cannot {what}; \
                 ask an officer or an admin",
                self.caller.identity
            ),
        ))
    }

    /// The stored line as this reader may see it: withheld unless it reads bodies or the kind
    /// keeps its body in every export.
    fn line_text(&self, line: &ParsedLine) -> Result<String, Problem> {
        let shown = if self.bodies || kind_keeps_body(&line.line.entry.record.kind) {
            line.line.to_line()
        } else {
            line.line.withheld().to_line()
        };
        let mut bytes =
            shown.map_err(|err| Problem::new(Code::Verification, format!("seq {}: {err}", line.line.entry.seq)))?;
        // The line as stored, without the newline that ends it in the log.
        bytes.pop();
        String::from_utf8(bytes)
            .map_err(|_| Problem::new(Code::Verification, format!("seq {}: not UTF-8", line.line.entry.seq)))
    }

    /// A record view as this reader may see it (body withheld by the same rule).
    /// A case's projection state is made of its records' bodies (subjects, measures, findings,
    /// deadlines): a reader without bodies gets the case without it (`{}`).
    fn case(&self, case: &mut lianlog_ledger::query::CaseView) {
        if !self.bodies {
            case.state = Value::Object(serde_json::Map::new());
        }
    }

    fn view(&self, mut view: lianlog_ledger::query::RecordView) -> lianlog_ledger::query::RecordView {
        if !self.bodies && !kind_keeps_body(&view.kind) {
            view.body = None;
        }
        view
    }
}

/// The most items one served page holds (`limit`, `log`'s `last`): ask for more in pages
/// (`--limit 1000 --offset N`); a whole ledger is `export` (streamed) or `verify --server`.
pub(crate) const MAX_SERVED_PAGE: u64 = 1000;

fn check_served_page(uri: &Uri, name: &str, count: u64) -> Result<(), Problem> {
    if count == 0 || count > MAX_SERVED_PAGE {
        let asked = if count == 0 { "0 (everything)".to_string() } else { count.to_string() };
        return Err(bad(
            uri,
            format!(
                "{name}={asked}: a server answers at most {MAX_SERVED_PAGE} items per request; ask in pages \
                 (--limit {MAX_SERVED_PAGE} --offset N), or use `export` / `verify --server` for the whole ledger"
            ),
        ));
    }
    Ok(())
}

/// A query string, parsed strictly: `name=value` pairs, percent-decoded (`+` is a space), each
/// name known to the route and given once.
struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    fn parse(uri: &Uri, allowed: &[&str]) -> Result<Params, Problem> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for part in uri.query().unwrap_or("").split('&').filter(|part| !part.is_empty()) {
            let (name, value) = part.split_once('=').unwrap_or((part, ""));
            let decode = |text: &str| {
                percent_encoding::percent_decode_str(&text.replace('+', " "))
                    .decode_utf8()
                    .map(|text| text.into_owned())
            };
            let (Ok(name), Ok(value)) = (decode(name), decode(value)) else {
                return Err(bad(uri, format!("the query parameter {part:?} is not percent-encoded UTF-8")));
            };
            if !allowed.contains(&name.as_str()) {
                return Err(bad(
                    uri,
                    format!("unknown query parameter {name:?}; this path takes {}", allowed.join(", ")),
                ));
            }
            if pairs.iter().any(|(given, _)| *given == name) {
                return Err(bad(uri, format!("the query parameter {name:?} is given twice")));
            }
            pairs.push((name, value));
        }
        Ok(Params { pairs })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(given, _)| given == name).map(|(_, value)| value.as_str())
    }

    fn required(&self, uri: &Uri, name: &str) -> Result<&str, Problem> {
        self.get(name).ok_or_else(|| bad(uri, format!("the query parameter {name:?} is missing")))
    }

    /// A number without sign, leading zeros or anything else.
    fn number(&self, uri: &Uri, name: &str) -> Result<Option<u64>, Problem> {
        let Some(text) = self.get(name) else { return Ok(None) };
        let canonical = text.parse::<u64>().ok().filter(|n| n.to_string() == text);
        canonical.map(Some).ok_or_else(|| bad(uri, format!("{name}={text:?}: expected a number")))
    }

    fn flag(&self, uri: &Uri, name: &str) -> Result<bool, Problem> {
        match self.get(name) {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(other) => Err(bad(uri, format!("{name}={other:?}: expected true or false"))),
        }
    }

    fn date(&self, uri: &Uri, name: &str) -> Result<Option<Date>, Problem> {
        let Some(text) = self.get(name) else { return Ok(None) };
        Date::parse(text).map(Some).ok_or_else(|| bad(uri, format!("{name}={text:?}: expected a date YYYY-MM-DD")))
    }

    /// `offset` and `limit` (default: the first page of `DEFAULT_LIMIT`). A served page holds at
    /// most `MAX_SERVED_PAGE` items: `limit=0` ("all") and larger limits are refused, so that no
    /// request builds an answer the size of the ledger under the read lock the sequencer waits on.
    fn page(&self, uri: &Uri) -> Result<Page, Problem> {
        let default = Page::default();
        let limit = self.number(uri, "limit")?.unwrap_or(default.limit);
        check_served_page(uri, "limit", limit)?;
        Ok(Page { offset: self.number(uri, "offset")?.unwrap_or(default.offset), limit })
    }
}

fn bad(uri: &Uri, detail: String) -> Problem {
    Problem::new(Code::BadInput, format!("{}: {detail}", uri.path()))
}

/// The ledger as it is, or as it stood at `as_of` (replayed in memory): the same two sources as
/// the local commands' `--as-of`.
struct Source<'l> {
    ledger: &'l Ledger,
    past: Option<PastState>,
}

impl<'l> Source<'l> {
    fn open(ledger: &'l Ledger, params: &Params) -> Result<Source<'l>, Problem> {
        let Some(text) = params.get("as_of") else { return Ok(Source { ledger, past: None }) };
        let end = lianlog_ledger::query::as_of_end(text, ledger.size(), |date| ledger.entries_until(date))?;
        Ok(Source { ledger, past: Some(ledger.as_of(end)?) })
    }

    fn queries(&self) -> Queries<'_> {
        match &self.past {
            None => self.ledger.queries(),
            Some(past) => past.queries(self.ledger),
        }
    }

    fn registry(&self) -> &KeyRegistry {
        self.past.as_ref().map_or(self.ledger.registry(), |past| &past.registry)
    }

    /// `null`, or the point answered: `{"end": entries replayed, "last_time": the last one's time}`.
    fn as_of(&self) -> Value {
        match &self.past {
            None => Value::Null,
            Some(past) => json!({"end": past.end, "last_time": past.last_time.map(|t| t.to_string())}),
        }
    }
}

/// What a route answers: one JSON document.
enum Answer {
    Json(Value),
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let Answer::Json(value) = self;
        let mut response = ([(header::CONTENT_TYPE, JSON)], value.to_string()).into_response();
        // Personal data, and an answer about one moment: never stored by a cache or proxy.
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// Authenticate, then answer with `work` under the ledger's read lock, on the blocking pool.
async fn answer(
    state: Arc<ServeState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    allowed: &'static [&'static str],
    work: fn(&ServeState, &Ledger, &Reader, &Uri, &Params) -> Result<Answer, Problem>,
) -> Response {
    let result = super::blocking(move || {
        // A signed request, or a web session (the record page's in-browser check fetches proofs).
        let reader = Reader::of(crate::web::session::caller(&state, &method, &uri, &headers)?);
        let params = Params::parse(&uri, allowed)?;
        let ledger = state.ledger.read().map_err(|_| Problem::from(super::poisoned()))?;
        work(&state, &ledger, &reader, &uri, &params)
    })
    .await;
    match result {
        Ok(answer) => answer.into_response(),
        Err(problem) => problem.into_response(),
    }
}

/// One route: its handler hands the request to [`answer`] with the parameters it takes.
macro_rules! read_route {
    ($name:ident, $allowed:expr, $work:ident) => {
        async fn $name(State(state): State<Arc<ServeState>>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
            answer(state, method, uri, headers, $allowed, $work).await
        }
    };
}

read_route!(show, &["seq", "as_of"], show_answer);
read_route!(log, &["from", "offset", "limit", "last"], log_answer);
read_route!(dossier, &["person", "offset", "limit", "as_of"], dossier_answer);
read_route!(query, &["kind", "person", "unit", "since", "until", "text", "offset", "limit", "as_of"], query_answer);
read_route!(cases, &["open", "offset", "limit", "as_of"], cases_answer);
read_route!(overdue, &["on", "offset", "limit", "as_of"], overdue_answer);
read_route!(stats, &["by", "year", "as_of", "assessments"], stats_answer);
read_route!(checkpoint, &["size"], checkpoint_answer);
read_route!(prove_inclusion, &["seq", "size"], inclusion_answer);
read_route!(prove_consistency, &["old", "new"], consistency_answer);

/// `show SEQ`: the stored line, who redacted it (if so), the registry to name authors.
fn show_answer(
    _: &ServeState,
    ledger: &Ledger,
    reader: &Reader,
    uri: &Uri,
    params: &Params,
) -> Result<Answer, Problem> {
    let seq = params.number(uri, "seq")?.ok_or_else(|| bad(uri, "the query parameter \"seq\" is missing".into()))?;
    let source = Source::open(ledger, params)?;
    let line = source.queries().line(seq)?;
    let redaction = source.queries().record_view(seq).ok().and_then(|view| view.redaction);
    Ok(Answer::Json(json!({
        "line": reader.line_text(&line)?,
        "redaction": redaction,
        "registry": source.registry(),
        "as_of": source.as_of(),
        "bodies": reader.bodies,
    })))
}

/// `log`: one page of stored lines (or the last N), the head, and who redacted what.
fn log_answer(_: &ServeState, ledger: &Ledger, reader: &Reader, uri: &Uri, params: &Params) -> Result<Answer, Problem> {
    let size = ledger.size();
    let (page, from) = match params.number(uri, "last")? {
        Some(0) => return Err(bad(uri, "last=0: expected at least 1".into())),
        Some(count) => {
            check_served_page(uri, "last", count)?;
            if ["from", "offset", "limit"].iter().any(|name| params.get(name).is_some()) {
                return Err(bad(uri, "last cannot be used with from, offset or limit".into()));
            }
            (Page::last(count, size), 0)
        }
        None => (params.page(uri)?, params.number(uri, "from")?.unwrap_or(0)),
    };
    let (seqs, more) = page.seqs(from, size);
    let mut lines = Vec::new();
    for line in ledger.lines_from(seqs.start)?.take((seqs.end - seqs.start) as usize) {
        lines.push(line?);
    }
    let redactions: Vec<Value> =
        ledger.queries().redaction_notes(&lines)?.into_iter().map(|(seq, note)| json!([seq, note])).collect();
    Ok(Answer::Json(json!({
        "lines": lines.iter().map(|line| reader.line_text(line)).collect::<Result<Vec<_>, _>>()?,
        "total": size,
        "offset": seqs.start,
        "limit": page.limit,
        "more": more,
        "head": ledger.head().to_hex(),
        "redactions": redactions,
        "registry": ledger.registry(),
        "bodies": reader.bodies,
    })))
}

/// A page of record views, bodies as the reader may see them, with the registry.
fn records_json(
    reader: &Reader,
    source: &Source,
    page: lianlog_ledger::query::Paged<lianlog_ledger::query::RecordView>,
) -> Value {
    let page = lianlog_ledger::query::Paged {
        items: page.items.into_iter().map(|view| reader.view(view)).collect::<Vec<_>>(),
        ..page
    };
    json!({"page": page, "registry": source.registry(), "as_of": source.as_of(), "bodies": reader.bodies})
}

fn dossier_answer(
    _: &ServeState,
    ledger: &Ledger,
    reader: &Reader,
    uri: &Uri,
    params: &Params,
) -> Result<Answer, Problem> {
    let person = params.required(uri, "person")?;
    let page = params.page(uri)?;
    let source = Source::open(ledger, params)?;
    let queries = source.queries();
    let records = queries.dossier_page(person, page)?;
    // The influence periods (影响期) of the decisions on the page, as of the day asked about: derived
    // from bodies, so none for a key that reads none.
    let on = lianlog_ledger::influence::as_of_day(params.get("as_of"));
    let influence =
        if reader.bodies { lianlog_ledger::opinion::periods(&queries, &records.items, on)? } else { Vec::new() };
    let mut answer = records_json(reader, &source, records);
    answer["influence"] = serde_json::to_value(&influence).unwrap_or_default();
    Ok(Answer::Json(answer))
}

fn query_answer(
    _: &ServeState,
    ledger: &Ledger,
    reader: &Reader,
    uri: &Uri,
    params: &Params,
) -> Result<Answer, Problem> {
    let filter = QueryFilter {
        kind: params.get("kind").map(str::to_string),
        person: params.get("person").map(str::to_string),
        unit: params.get("unit").map(str::to_string),
        since: params.date(uri, "since")?,
        until: params.date(uri, "until")?,
        text: params.get("text").filter(|text| !text.is_empty()).map(str::to_string),
    };
    if filter.text.is_some() {
        reader.needs_bodies("search the text of bodies")?;
    }
    let page = params.page(uri)?;
    let source = Source::open(ledger, params)?;
    let records = source.queries().query_page(&filter, page)?;
    Ok(Answer::Json(records_json(reader, &source, records)))
}

fn cases_answer(
    _: &ServeState,
    ledger: &Ledger,
    reader: &Reader,
    uri: &Uri,
    params: &Params,
) -> Result<Answer, Problem> {
    let page = params.page(uri)?;
    let source = Source::open(ledger, params)?;
    let mut cases = source.queries().cases_page(params.flag(uri, "open")?, page)?;
    for case in &mut cases.items {
        reader.case(case);
    }
    Ok(Answer::Json(json!({"page": cases, "as_of": source.as_of()})))
}

fn overdue_answer(
    _: &ServeState,
    ledger: &Ledger,
    reader: &Reader,
    uri: &Uri,
    params: &Params,
) -> Result<Answer, Problem> {
    // The client says which day it is (China time), so that both ends answer for the same day.
    let on = params.date(uri, "on")?.ok_or_else(|| bad(uri, "the query parameter \"on\" is missing".into()))?;
    let page = params.page(uri)?;
    let source = Source::open(ledger, params)?;
    let overdue = source.queries().overdue_page(on, page)?;
    let overdue = lianlog_ledger::query::Paged {
        items: overdue
            .items
            .into_iter()
            .map(|(mut case, view)| {
                reader.case(&mut case);
                (case, reader.view(view))
            })
            .collect::<Vec<_>>(),
        ..overdue
    };
    Ok(Answer::Json(json!({"page": overdue, "as_of": source.as_of(), "bodies": reader.bodies})))
}

fn stats_answer(
    _: &ServeState,
    ledger: &Ledger,
    reader: &Reader,
    uri: &Uri,
    params: &Params,
) -> Result<Answer, Problem> {
    let by = match params.get("by").unwrap_or("kind") {
        "unit" => StatsGrouping::Unit,
        "kind" => StatsGrouping::Kind,
        "month" => StatsGrouping::Month,
        other => return Err(bad(uri, format!("by={other:?}: expected unit, kind or month"))),
    };
    let year = match params.get("year") {
        None => None,
        Some(text) => Some(text.parse::<i16>().map_err(|_| bad(uri, format!("year={text:?}: expected a year")))?),
    };
    let source = Source::open(ledger, params)?;
    match params.get("assessments") {
        None => {}
        Some("1") => {
            // Units, grades and scores come from the assessment records' bodies.
            reader.needs_bodies("read assessments (考核评价)")?;
            let assessments = source.queries().assessments(year)?;
            return Ok(Answer::Json(json!({"assessments": assessments, "as_of": source.as_of()})));
        }
        Some(other) => return Err(bad(uri, format!("assessments={other:?}: expected 1"))),
    }
    let stats = source.queries().stats(by, year)?;
    let rows: Vec<Value> = stats.iter().map(|((group, kind), count)| json!([group, kind, count])).collect();
    Ok(Answer::Json(json!({"stats": rows, "as_of": source.as_of()})))
}

/// A checkpoint of the first `size` entries (all of them by default), signed now by the log key:
/// what `lianlog checkpoint [--size N]` prints on the server's machine.
fn checkpoint_answer(
    state: &ServeState,
    ledger: &Ledger,
    _: &Reader,
    uri: &Uri,
    params: &Params,
) -> Result<Answer, Problem> {
    let size = params.number(uri, "size")?.unwrap_or(ledger.size());
    let note = ledger.checkpoint(size, &state.log_key)?;
    Ok(Answer::Json(json!({
        "origin": ledger.origin(),
        "size": size,
        "root": lianlog_ledger::encoding::hex(&ledger.root_at(size)?),
        "note": note,
    })))
}

/// The inclusion proof of entry `seq` in the first `size` entries, with its leaf hash, the root
/// and a log-signed checkpoint of that size: what `lianlog prove inclusion` prints, as text or JSON.
fn inclusion_answer(
    state: &ServeState,
    ledger: &Ledger,
    _: &Reader,
    uri: &Uri,
    params: &Params,
) -> Result<Answer, Problem> {
    let seq = params.number(uri, "seq")?.ok_or_else(|| bad(uri, "the query parameter \"seq\" is missing".into()))?;
    let size = params.number(uri, "size")?.unwrap_or(ledger.size());
    let hashes = ledger.inclusion_proof(seq, size)?;
    let line = ledger.read(seq)?;
    Ok(Answer::Json(json!({
        "index": seq,
        "size": size,
        "leaf_hash": line.entry_hash.to_hex(),
        "root": lianlog_ledger::encoding::hex(&ledger.root_at(size)?),
        "hashes": hashes.iter().map(|h| lianlog_ledger::encoding::hex(h)).collect::<Vec<_>>(),
        "checkpoint": ledger.checkpoint(size, &state.log_key)?,
    })))
}

/// The consistency proof between the first `old` and `new` entries, with both roots.
fn consistency_answer(
    _: &ServeState,
    ledger: &Ledger,
    _: &Reader,
    uri: &Uri,
    params: &Params,
) -> Result<Answer, Problem> {
    let old = params.number(uri, "old")?.ok_or_else(|| bad(uri, "the query parameter \"old\" is missing".into()))?;
    let new = params.number(uri, "new")?.ok_or_else(|| bad(uri, "the query parameter \"new\" is missing".into()))?;
    let hashes = ledger.consistency_proof(old, new)?;
    Ok(Answer::Json(json!({
        "old_size": old,
        "new_size": new,
        "old_root": lianlog_ledger::encoding::hex(&ledger.root_at(old)?),
        "new_root": lianlog_ledger::encoding::hex(&ledger.root_at(new)?),
        "hashes": hashes.iter().map(|h| lianlog_ledger::encoding::hex(h)).collect::<Vec<_>>(),
    })))
}

/// The first member of the line that ends an export answer: `{"lianlog-export-end":{"entries",
/// "withheld","replacements_kept"}}` after the last line, or `{"problem":{…}}` if the export
/// failed after the answer began. A client that does not see it was cut short.
const EXPORT_END: &str = "lianlog-export-end";

/// Bytes the export gathers before handing them to the connection.
const EXPORT_CHUNK: usize = 64 << 10;

/// `export [--without-bodies]`: the export (format-v1 section 10) as `export_dir` writes it,
/// streamed as it is read (memory: a few chunks, whatever the ledger's size), then the end line.
async fn export(State(state): State<Arc<ServeState>>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let checked = {
        let state = state.clone();
        super::blocking(move || {
            let reader = Reader::of(authenticate(&state, &method, &uri, &headers, &[])?);
            let params = Params::parse(&uri, &["without_bodies"])?;
            let without_bodies = params.flag(&uri, "without_bodies")?;
            if !without_bodies {
                reader.needs_bodies("export bodies (pass --without-bodies)")?;
            }
            let dir = state.ledger.read().map_err(|_| Problem::from(super::poisoned()))?.dir().to_path_buf();
            Ok((dir, without_bodies))
        })
        .await
    };
    let (dir, without_bodies) = match checked {
        Ok(checked) => checked,
        Err(problem) => return problem.into_response(),
    };
    let (sender, body) = http_body_util::channel::Channel::<axum::body::Bytes>::new(4);
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let mut out = ChannelWriter { sender, runtime, chunk: Vec::with_capacity(EXPORT_CHUNK) };
        // Lock-free, as `lianlog export` beside a writer: what the log holds, whole lines only.
        let end = match lianlog_ledger::export_dir(&dir, &mut out, without_bodies) {
            Ok(exported) => json!({EXPORT_END: {
                "entries": exported.entries,
                "withheld": exported.withheld,
                "replacements_kept": exported.replacements_kept,
            }}),
            Err(err) => json!({"problem": Problem::from(err).to_json()}),
        };
        // A client that went away stops the export at its next chunk; nothing to tell it.
        let _ = std::io::Write::write_all(&mut out, format!("{end}\n").as_bytes());
        let _ = std::io::Write::flush(&mut out);
    });
    let mut response = ([(header::CONTENT_TYPE, "application/jsonl")], axum::body::Body::new(body)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A writer on the blocking pool that hands its bytes, a chunk at a time, to the answer's body.
struct ChannelWriter {
    sender: http_body_util::channel::Sender<axum::body::Bytes>,
    runtime: tokio::runtime::Handle,
    chunk: Vec<u8>,
}

impl std::io::Write for ChannelWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.chunk.extend_from_slice(bytes);
        if self.chunk.len() >= EXPORT_CHUNK {
            self.flush()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.chunk.is_empty() {
            return Ok(());
        }
        let chunk = axum::body::Bytes::from(std::mem::replace(&mut self.chunk, Vec::with_capacity(EXPORT_CHUNK)));
        self.runtime
            .block_on(self.sender.send_data(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client closed the connection"))
    }
}

/// `disclose PERSON`: the package built by the library (`disclosure::prepare`) for the signer
/// named by its vkey, against a checkpoint the log key signs now or the one given; it goes back
/// unsigned, and the officer's key signs it on their machine (no private key reaches the server).
/// Body: `{"person": …, "signer": <vkey>, "checkpoint": <signed note> | null}`.
async fn disclose(
    State(state): State<Arc<ServeState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let result = super::blocking(move || {
        let reader = Reader::of(authenticate(&state, &method, &uri, &headers, &body)?);
        Params::parse(&uri, &[])?;
        reader.needs_bodies("build a disclosure package")?;
        let ask: Value = serde_json::from_slice(&body).map_err(|err| bad(&uri, format!("the request body: {err}")))?;
        let members = ask
            .as_object()
            .filter(|members| members.keys().all(|name| ["person", "signer", "checkpoint"].contains(&name.as_str())));
        let text = |name: &str| members.and_then(|members| members.get(name)).and_then(Value::as_str);
        let (Some(person), Some(signer)) = (text("person"), text("signer")) else {
            return Err(bad(
                &uri,
                "the body must be {\"person\", \"signer\" (a vkey), \"checkpoint\" (a note or null)}".into(),
            ));
        };
        let signer = lianlog_ledger::PublicKey::parse_vkey(signer)?;
        let checkpoint = match members.and_then(|members| members.get("checkpoint")) {
            None | Some(Value::Null) => lianlog_ledger::disclosure::PackageCheckpoint::Sign(&state.log_key),
            Some(Value::String(note)) => lianlog_ledger::disclosure::PackageCheckpoint::Given(note),
            Some(_) => return Err(bad(&uri, "checkpoint: expected a signed note or null".into())),
        };
        let ledger = state.ledger.read().map_err(|_| Problem::from(super::poisoned()))?;
        let unsigned = lianlog_ledger::disclosure::prepare(&ledger, person, checkpoint, &signer)?;
        let value = serde_json::to_value(&unsigned)
            .map_err(|err| Problem::new(Code::Io, format!("cannot encode the package: {err}")))?;
        Ok(Answer::Json(value))
    })
    .await;
    match result {
        Ok(answer) => answer.into_response(),
        Err(problem) => problem.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(text: &str) -> Uri {
        text.parse().unwrap()
    }

    #[test]
    fn parameters_are_decoded_and_checked_strictly() {
        let at = uri("/lianlog/v1/query?text=%E8%BF%9D%E7%BA%AA%20a%26b+c&limit=5");
        let params = Params::parse(&at, &["text", "limit", "offset"]).unwrap();
        assert_eq!(params.get("text"), Some("违纪 a&b c"));
        assert_eq!(params.page(&at).unwrap(), Page { offset: 0, limit: 5 });
        for (query, why) in [
            ("/x?colour=red", "unknown query parameter \"colour\""),
            ("/x?limit=1&limit=2", "\"limit\" is given twice"),
            ("/x?limit=%FF", "not percent-encoded UTF-8"),
        ] {
            let err = Params::parse(&uri(query), &["limit"]).err().unwrap();
            assert_eq!(err.code, Code::BadInput);
            assert!(err.detail.contains(why), "{query}: {}", err.detail);
        }
        for bad in ["007", "-1", "1e3", "", "18446744073709551616"] {
            let at = uri(&format!("/x?limit={bad}"));
            let params = Params::parse(&at, &["limit"]).unwrap();
            assert!(params.number(&at, "limit").is_err(), "{bad:?}");
        }
        let at = uri("/x?open=yes");
        assert!(Params::parse(&at, &["open"]).unwrap().flag(&at, "open").is_err());
    }
}
