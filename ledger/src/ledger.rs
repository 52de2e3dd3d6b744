//! A ledger directory: the durable log, the derived store, the key registry, and the operations
//! that tie them together (init, open, append, import, read, verify, export, reindex).
//!
//! Layout of a ledger directory:
//! - `lianlog.json` — `{"format":1,"origin":…}`; a newer format is refused;
//! - `log-key.pem` — the log key (name = origin), mode 0600; it signs checkpoints only;
//! - `log/*.jsonl` — the record of truth ([`crate::log`]);
//! - `index/` — the derived store ([`crate::store`]), rebuilt from the log whenever in doubt;
//! - `import.intent` — where an unfinished batch began, so that a crash never leaves half of it;
//! - `lock` — held (flock) by the one process that has the ledger open.
//!
//! An append is acknowledged only after its line is on disk; the store is updated afterwards.
//! The directory is created 0700 and every file 0600 ([`crate::fsio`]); no file in it is opened
//! through a symbolic link. Only a writer repairs what a crash left (an interrupted batch, a torn
//! tail, an interrupted redaction), and only when the intent matches the log; a read-only open
//! ([`OpenOptions::read_only`]) changes nothing in the log and reads what a writer would keep.

use std::fs::File;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::error::{Error, ErrorKind, Result};
use crate::fsio;
use crate::keys::{KeyName, SecretKey};
use crate::log::{Position, SegmentLog};
use crate::merkle::CompactRange;
use crate::projection::{self, LedgerFacts, RecordContext, StateChanges, View};
use crate::record::{Entry, EntryHash, ParsedLine, Record, StoredBody, StoredLine, body_hash, random_salt};
use crate::registry::{Holder, KeyRegistry, Role};
use crate::store::{Store, StoreBatch, StoredHead};
use crate::time::Timestamp;
use crate::verify::{Verifier, VerifyFailure, VerifyOptions, VerifyReport};

mod queries;
mod redaction;
mod unseen;
pub use crate::replacement::{ReplacementScan, Replacements};
pub use redaction::{Redacted, Replacement};

/// The storage format this build writes and reads.
pub const FORMAT_VERSION: u64 = 1;
const META_FILE: &str = "lianlog.json";
const LOG_KEY_FILE: &str = "log-key.pem";
const LOCK_FILE: &str = "lock";
const INTENT_FILE: &str = "import.intent";

/// Largest canonical body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Most records in one import.
pub const MAX_BATCH: usize = 1_000_000;

/// A record to append: its kind, body schema version and body.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub kind: String,
    pub v: u64,
    pub body: Value,
}

impl Draft {
    /// A draft at the kind's current schema version.
    pub fn new(kind: impl Into<String>, body: Value) -> Draft {
        let kind = kind.into();
        let v = crate::schema::current_version(&kind);
        Draft { kind, v, body }
    }
}

/// Largest JSON Lines import accepted, in bytes (a limit against hostile or mistaken input: the
/// whole import is checked before anything is written, so it is held in memory).
pub const MAX_IMPORT_BYTES: usize = 256 << 20;

/// Parse a JSON Lines import: one object `{"kind": <string>, "body": <object>}` per line, blank
/// lines skipped. Errors name the line (1-based) and the member; the caller adds the file name
/// (`err.at(name)`). Bounded: at most [`MAX_IMPORT_BYTES`] in all, [`MAX_BATCH`] records and lines
/// of at most [`crate::record::MAX_LINE_BYTES`]; serde_json's recursion limit (128) guards the
/// parser's stack. Never panics. Each draft is checked further when it is appended (kind name,
/// object body, canonical form and nesting depth, size, schema, authorization), where errors name
/// it as `record N`.
pub fn parse_import(bytes: &[u8]) -> Result<Vec<Draft>> {
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(Error::bad_input(format!(
            "the import is {} bytes; the limit is {MAX_IMPORT_BYTES}: split it into several imports",
            bytes.len()
        )));
    }
    let text = std::str::from_utf8(bytes).map_err(|err| {
        let line = bytes[..err.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        Error::bad_input(format!("line {line}: not UTF-8 text"))
    })?;
    let mut drafts = Vec::new();
    for (index, line) in text.split('\n').enumerate() {
        let place = format!("line {}", index + 1);
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            continue;
        }
        if line.len() > crate::record::MAX_LINE_BYTES {
            return Err(Error::bad_input(format!(
                "{place}: {} bytes; a line may hold at most {} bytes",
                line.len(),
                crate::record::MAX_LINE_BYTES
            )));
        }
        if drafts.len() >= MAX_BATCH {
            return Err(Error::bad_input(format!("{place}: more than {MAX_BATCH} records; split the import")));
        }
        let value = crate::canonical::parse_json(line.as_bytes(), "").map_err(|err| {
            let column = err.position.map(|(_, column)| format!(" (column {column})")).unwrap_or_default();
            Error::bad_input(format!("{place}: {}{column}", err.reason))
        })?;
        let Value::Object(mut members) = value else {
            return Err(Error::bad_input(format!("{place}: expected an object {{\"kind\":…,\"body\":…}}")));
        };
        let kind = match members.remove("kind") {
            Some(Value::String(kind)) => kind,
            _ => return Err(Error::bad_input(format!("{place}: kind: missing or not a string"))),
        };
        let body = members.remove("body").ok_or_else(|| Error::bad_input(format!("{place}: body: missing")))?;
        if let Some(extra) = members.keys().next() {
            return Err(Error::bad_input(format!(
                "{place}: {}: unknown field (only kind and body are allowed)",
                truncate_for_message(extra).escape_debug()
            )));
        }
        drafts.push(Draft::new(kind, body));
    }
    if drafts.is_empty() {
        return Err(Error::bad_input("no records to import"));
    }
    Ok(drafts)
}

/// At most 64 characters of untrusted text, for an error message.
fn truncate_for_message(text: &str) -> String {
    match text.char_indices().nth(64) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

/// What an append acknowledges: the entry is durable at this seq with this hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub seq: u64,
    pub hash: EntryHash,
    pub time: Timestamp,
}

/// How to open a ledger.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenOptions {
    /// When the log no longer matches what the derived store recorded (entries altered or
    /// removed after they were written), rebuild the store from the log instead of refusing.
    /// Only `lianlog reindex` sets this: it is an operator's explicit decision.
    pub accept_log_as_is: bool,
    /// Open to read only: repair nothing (an interrupted batch or a torn tail is left for the
    /// next writer, and only what it would keep is read), append nothing.
    pub read_only: bool,
}

/// Why the derived store could not be used as it is.
enum StoreProblem {
    /// The store itself is incomplete or malformed: rebuild it.
    Damaged(String),
    /// The log changed behind the store's back at this seq: evidence of tampering or data loss.
    LogChanged(u64, String),
    /// An earlier version of lianlog wrote the store in another layout: rebuild it.
    Outdated,
}

/// An open ledger. Only one process may hold a ledger open (it holds `lock`).
pub struct Ledger {
    dir: PathBuf,
    origin: String,
    log: SegmentLog,
    store: Store,
    registry: KeyRegistry,
    size: u64,
    head: EntryHash,
    last_time: Option<Timestamp>,
    tail: Position,
    tree: CompactRange,
    notes: Vec<String>,
    /// Set when the derived store could not be updated after a durable append: the store is
    /// behind the log, so this handle appends nothing more (the next open catches the store up).
    store_failed: Option<String>,
    _lock: File,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("dir", &self.dir)
            .field("origin", &self.origin)
            .field("size", &self.size)
            .finish()
    }
}

impl Drop for Ledger {
    fn drop(&mut self) {
        // Saves a catch-up on the next open; correctness never depends on it.
        let _ = self.store.flush();
    }
}

/// Read a small text file of the ledger directory whole (never through a link, never a FIFO),
/// refusing one over `limit` bytes (as invalid data).
fn read_small_file(path: &Path, limit: u64) -> std::io::Result<String> {
    String::from_utf8(fsio::read_small_in_ledger(path, limit)?)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"))
}

/// The origin named by entry 0 of the log in `dir`, if it can be read (for messages only).
fn genesis_origin(dir: &Path) -> Option<String> {
    let log = SegmentLog::open(dir).ok()?;
    let (_, line) = log.lines_from(Position { segment: 0, offset: 0 }).ok()?.next()?.ok()?;
    let parsed = ParsedLine::parse(&line).ok()?;
    Some(parsed.line.entry.record.ledger).filter(|origin| KeyName::parse(origin).is_ok())
}

/// Read `lianlog.json`, refusing a missing ledger or a newer format.
fn read_meta(dir: &Path) -> Result<String> {
    if !dir.is_dir() {
        return Err(Error::new(
            ErrorKind::NotALedger,
            format!(
                "no ledger at {}: the directory does not exist; create one with `lianlog init` or pass --ledger DIR",
                dir.display()
            ),
        ));
    }
    let path = dir.join(META_FILE);
    let text = match read_small_file(&path, 4096) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound && SegmentLog::segment_dir(dir).is_dir() => {
            // A log without its lianlog.json: a damaged ledger, not a stranger's directory.
            let origin = genesis_origin(dir).unwrap_or_else(|| "<the origin in entry 0>".to_string());
            return Err(Error::new(
                ErrorKind::NotALedger,
                format!(
                    "{} has a log but no {META_FILE}: the ledger is damaged. Restore it from an archive \
                     (`lianlog snapshot restore`), or recreate {META_FILE} with the one line \
                     {{\"format\":{FORMAT_VERSION},\"origin\":\"{origin}\"}} and run `lianlog verify`",
                    dir.display()
                ),
            ));
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::new(
                ErrorKind::NotALedger,
                format!(
                    "{} is not a lianlog ledger (it has no {META_FILE}); create one with `lianlog init` or pass --ledger DIR",
                    dir.display()
                ),
            ));
        }
        Err(err) if err.raw_os_error() == Some(libc::ELOOP) => return Err(fsio::link_refused(&path)),
        Err(err) => return Err(Error::io("read", &path, err)),
    };
    let meta: Value = serde_json::from_str(&text)
        .map_err(|err| Error::new(ErrorKind::NotALedger, format!("{}: not valid JSON ({err})", path.display())))?;
    let format = meta["format"].as_u64().unwrap_or(0);
    if format > FORMAT_VERSION {
        return Err(Error::new(
            ErrorKind::NotALedger,
            format!(
                "{} was written by a newer lianlog (format {format}; this build reads format {FORMAT_VERSION}); upgrade lianlog",
                dir.display()
            ),
        ));
    }
    if format != FORMAT_VERSION {
        return Err(Error::new(
            ErrorKind::NotALedger,
            format!("{}: unknown format {:?}", path.display(), meta["format"]),
        ));
    }
    meta["origin"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| Error::new(ErrorKind::NotALedger, format!("{}: no origin", path.display())))
}

fn take_lock(dir: &Path) -> Result<File> {
    let path = dir.join(LOCK_FILE);
    let file = fsio::open_or_create_in_ledger(&path)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::new(
            ErrorKind::Locked,
            format!(
                "ledger {} is in use by another process; wait for it to finish and retry \
                 (`lianlog verify` and `lianlog export` work meanwhile)",
                dir.display()
            ),
        )),
        Err(std::fs::TryLockError::Error(err)) => Err(Error::io("lock", &path, err)),
    }
}

impl Ledger {
    /// Create a new ledger in `dir` (which must not exist or be empty): the log key, and the
    /// genesis entry authored by `admin`.
    pub fn init(dir: &Path, origin: &KeyName, admin: &SecretKey, holder: Holder) -> Result<Ledger> {
        match std::fs::read_dir(dir) {
            Ok(mut listing) => {
                if listing.next().is_some() {
                    return Err(Error::bad_input(format!(
                        "{} is not empty; choose a new directory for the ledger",
                        dir.display()
                    )));
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => fsio::create_private_dir(dir)?,
            Err(err) => return Err(Error::io("read directory", dir, err)),
        }
        check_key_body_limits(&json!({"holder": holder.to_value()}))?;
        let log_key = SecretKey::generate(origin.clone())?;
        log_key.write_new_file(&dir.join(LOG_KEY_FILE))?;
        let lock = take_lock(dir)?;
        let mut log = SegmentLog::create(dir)?;
        let meta = json!({"format": FORMAT_VERSION, "origin": origin.as_str()});
        fsio::publish_bytes(&dir.join(META_FILE), false, format!("{meta}\n").as_bytes())?;

        let body = json!({
            "origin": origin.as_str(),
            "log_key": log_key.public().vkey(),
            "admins": [{"key": admin.public().vkey(), "holder": holder.to_value()}],
        });
        let now = Timestamp::now();
        let line = genesis_line(origin.as_str(), &Draft::new("ledger.genesis", body), admin, now)?;
        let parsed = ParsedLine::parse(&line[..line.len() - 1]).map_err(|e| Error::bad_input(e.to_string()))?;
        // Check the genesis with the same rules the verifier applies before writing anything.
        KeyRegistry::default()
            .apply(0, &parsed.line.entry.record, parsed.line.body().unwrap_or(&Value::Null))
            .map_err(|e| Error::bad_input(format!("genesis: {e}")))?;
        log.open_writer()?;
        log.append_durable(&line, 0)?;
        fsio::sync_dir_and_parent(dir)?;
        let store = Store::open(dir)?;
        let mut ledger = Ledger::unloaded(dir, origin.to_string(), log, store, lock, Vec::new());
        ledger.catch_up()?;
        Ok(ledger)
    }

    /// A ledger whose in-memory state is empty, to be filled from the store and the log.
    fn unloaded(dir: &Path, origin: String, log: SegmentLog, store: Store, lock: File, notes: Vec<String>) -> Ledger {
        Ledger {
            dir: dir.to_path_buf(),
            origin,
            log,
            store,
            registry: KeyRegistry::default(),
            size: 0,
            head: EntryHash::ZERO,
            last_time: None,
            tail: Position { segment: 0, offset: 0 },
            tree: CompactRange::new(),
            notes,
            store_failed: None,
            _lock: lock,
        }
    }

    /// Forget the in-memory state (before applying the log from its start).
    fn reset_state(&mut self) {
        self.registry = KeyRegistry::default();
        self.size = 0;
        self.head = EntryHash::ZERO;
        self.last_time = None;
        self.tail = Position { segment: 0, offset: 0 };
        self.tree = CompactRange::new();
    }

    /// Open an existing ledger: take the lock, finish or undo an interrupted import, cut a torn
    /// tail, and bring the derived store up to the log (rebuilding it if it is damaged or ahead).
    pub fn open(dir: &Path) -> Result<Ledger> {
        Ledger::open_with(dir, OpenOptions::default())
    }

    /// [`Ledger::open`] with options.
    pub fn open_with(dir: &Path, options: OpenOptions) -> Result<Ledger> {
        let origin = read_meta(dir)?;
        let lock = take_lock(dir)?;
        let mut notes = Vec::new();
        notes.extend(fsio::permissions_note(dir));
        let mut log = SegmentLog::open(dir)?;
        if log.is_empty() {
            return Err(Error::new(
                ErrorKind::Verification,
                format!(
                    "{}: the log has no segments; the ledger is damaged: restore it from an archive (`lianlog snapshot restore`)",
                    dir.display()
                ),
            ));
        }
        recover(dir, &mut log, &mut notes, options.read_only)?;
        let store = match Store::open(dir) {
            Ok(store) => store,
            // Disk full, read-only, permissions: the store is not damaged, and destroying it
            // would not help. Say so and change nothing.
            Err(err) if err.kind() == ErrorKind::Io => return Err(err),
            Err(err) => {
                notes.push(format!(
                    "the derived store {} was damaged ({}), as a crash or a failing disk can leave it; it holds \
                     only derived data and was rebuilt from the log. Check the log itself with `lianlog verify` \
                     and, if that fails, restore the ledger from an archive (`lianlog snapshot restore`)",
                    Store::path(dir).display(),
                    err.message().split("; it holds only derived data").next().unwrap_or_default()
                ));
                Store::destroy(dir)?;
                Store::open(dir)?
            }
        };
        let mut ledger = Ledger::unloaded(dir, origin, log, store, lock, notes);
        match ledger.load_store_state() {
            Ok(()) => {}
            Err(StoreProblem::Damaged(reason)) => {
                ledger.notes.push(format!(
                    "the derived store was damaged ({reason}), as a crash or a failing disk can leave it; it holds \
                     only derived data and was rebuilt from the log. Check the log itself with `lianlog verify` \
                     and, if that fails, restore the ledger from an archive (`lianlog snapshot restore`)"
                ));
                ledger.rebuild_store()?;
            }
            Err(StoreProblem::Outdated) => {
                ledger.notes.push(
                    "the derived store was written by an earlier version of lianlog in another layout; it holds only \
                     derived data and was rebuilt from the log"
                        .to_string(),
                );
                ledger.rebuild_store()?;
            }
            Err(StoreProblem::LogChanged(_, reason)) if options.accept_log_as_is => {
                ledger.notes.push(format!("{reason}; rebuilt the derived store from the log as it is now"));
                ledger.rebuild_store()?;
            }
            Err(StoreProblem::LogChanged(seq, reason)) => {
                return Err(Error::new(
                    ErrorKind::Verification,
                    format!(
                        "{}: {reason}. Nothing was changed. Run `lianlog verify` to see where; restore the ledger from an \
                         archive (`lianlog snapshot restore`), or, if the change is known and accepted, run `lianlog reindex`",
                        dir.display()
                    ),
                )
                .with_seq(seq));
            }
        }
        ledger.catch_up()?;
        Ok(ledger)
    }

    /// Rebuild the derived store from the log, from scratch (`lianlog reindex`).
    pub fn reindex(dir: &Path) -> Result<Ledger> {
        let mut ledger = Ledger::open_with(dir, OpenOptions { accept_log_as_is: true, ..OpenOptions::default() })?;
        ledger.rebuild_store()?;
        ledger.catch_up()?;
        Ok(ledger)
    }

    fn rebuild_store(&mut self) -> Result<()> {
        // Replace the open store with an empty one. sled keeps the directory open, so swap in a
        // temporary store first, then destroy and recreate the real one.
        let scratch = fsio::fresh_scratch_dir(&self.dir, "index.rebuild")?;
        let placeholder = Store::open(&scratch)?;
        drop(std::mem::replace(&mut self.store, placeholder));
        Store::destroy(&self.dir)?;
        self.store = Store::open(&self.dir)?;
        let _ = std::fs::remove_dir_all(&scratch);
        self.reset_state();
        Ok(())
    }

    /// Load head, registry and Merkle frontier from the store and check them against the log.
    fn load_store_state(&mut self) -> std::result::Result<(), StoreProblem> {
        use StoreProblem::{Damaged, LogChanged};
        let damaged = |e: Error| Damaged(e.to_string());
        if self.store.interrupted().map_err(damaged)? {
            return Err(Damaged("an update of the derived store was interrupted".into()));
        }
        if !self.store.layout_is_current().map_err(damaged)? {
            return Err(StoreProblem::Outdated);
        }
        let Some(head) = self.store.head().map_err(damaged)? else {
            return self.store.trim_to(0).map_err(damaged);
        };
        self.store.trim_to(head.size).map_err(damaged)?;
        if head.size == 0 {
            return Ok(());
        }
        let end = self.log.end().map_err(damaged)?;
        if head.tail > end {
            return Err(LogChanged(
                head.size - 1,
                format!(
                    "the derived store recorded {} entries ending at byte {} of segment {:020}.jsonl, but the log is shorter: \
                 entries were removed from the log after they were written",
                    head.size, head.tail.offset, head.tail.segment
                ),
            ));
        }
        let position =
            self.store.position(head.size - 1).map_err(damaged)?.ok_or(Damaged("no position for the head".into()))?;
        let line = self.log.read_line_at(position).map_err(|e| LogChanged(head.size - 1, e.to_string()))?;
        let parsed = ParsedLine::parse(&line).map_err(|e| {
            LogChanged(
                head.size - 1,
                format!("entry {} no longer parses ({e}): the log was altered after it was written", head.size - 1),
            )
        })?;
        if parsed.entry_hash != head.hash || parsed.line.entry.seq != head.size - 1 {
            return Err(LogChanged(
                head.size - 1,
                format!(
                    "entry {} now hashes to {}, but {} was written: the log was altered after it was written",
                    head.size - 1,
                    parsed.entry_hash,
                    head.hash
                ),
            ));
        }
        let registry = self.store.registry().map_err(damaged)?.ok_or(Damaged("no key registry".into()))?;
        self.tree = CompactRange::from_store(head.size, &self.store).map_err(damaged)?;
        self.registry = registry;
        self.size = head.size;
        self.head = head.hash;
        self.last_time = head.time;
        self.tail = head.tail;
        Ok(())
    }

    /// Apply every log line after the store's tail to the store, once all of them have passed
    /// every check the verifier makes (`unseen.rs`).
    fn catch_up(&mut self) -> Result<()> {
        if self.check_unseen_lines()? == 0 {
            return self.require_genesis();
        }
        let replacements = collect_replacements(&self.log, self.tail)?;
        let reader = ParseAhead::new(self.log.lines_from(self.tail)?);
        let mut batch = StoreBatch::default();
        let mut changes = StateChanges::default();
        let mut pending = 0usize;
        let mut caught_up = 0u64;
        let mut registry_changed = false;
        for item in reader {
            let (position, length, parsed) = item?;
            let parsed = parsed.map_err(|e| self.inconsistent(self.size, &e.to_string()))?;
            let entry = &parsed.line.entry;
            if entry.seq != self.size || entry.prev != self.head {
                return Err(self.inconsistent(self.size, "the entry does not continue the chain"));
            }
            if let Some(body) = parsed.line.body()
                && (entry.seq == 0 || entry.record.kind.starts_with("key."))
            {
                self.registry
                    .apply(entry.seq, &entry.record, body)
                    .map_err(|e| self.inconsistent(entry.seq, &e.to_string()))?;
                registry_changed = true;
            }
            // A rule that looks up earlier entries (a correction's target, an attestation's
            // root) reads them through the store: commit what is staged so that they are there.
            if pending > 0 && projection::needs_ledger_facts(&entry.record.kind) {
                batch.put_changes(std::mem::take(&mut changes));
                self.commit_stage(std::mem::take(&mut batch), registry_changed)?;
                pending = 0;
                registry_changed = false;
            }
            project_line(&self.store, self, &mut changes, &parsed, false, &replacements)?;
            self.stage(&mut batch, position, length + 1, StagedEntry::of(&parsed));
            pending += 1;
            caught_up += 1;
            if pending >= 10_000 {
                batch.put_changes(std::mem::take(&mut changes));
                self.commit_stage(std::mem::take(&mut batch), registry_changed)?;
                pending = 0;
                registry_changed = false;
            }
        }
        if pending > 0 {
            batch.put_changes(changes);
            self.commit_stage(batch, registry_changed)?;
        }
        if caught_up > 0 && !self.notes.is_empty() {
            self.notes.push(format!("applied {caught_up} log entries to the derived store"));
        }
        self.require_genesis()
    }

    fn require_genesis(&self) -> Result<()> {
        if self.size == 0 {
            return Err(Error::new(
                ErrorKind::Verification,
                format!("{}: the log holds no genesis entry; the ledger is damaged", self.dir.display()),
            ));
        }
        Ok(())
    }

    fn inconsistent(&self, seq: u64, reason: &str) -> Error {
        Error::new(
            ErrorKind::Verification,
            format!(
                "{}: log entry {seq} is damaged ({reason}); run `lianlog verify` for details and restore from an archive (`lianlog snapshot restore`)",
                self.dir.display()
            ),
        )
    }

    /// Record one durable line in memory and in the pending store batch.
    fn stage(&mut self, batch: &mut StoreBatch, position: Position, length: u64, entry: StagedEntry) {
        batch.put_position(self.size, position);
        batch.put_record_id(self.size, &entry.record_id);
        // The tree is full only at 2^64 leaves, which a log cannot reach.
        for ((level, index), hash) in self.tree.push(entry.hash.0).unwrap_or_default() {
            batch.put_node(level, index, &hash);
        }
        self.size += 1;
        self.head = entry.hash;
        self.last_time = Some(entry.time);
        self.tail = Position { segment: position.segment, offset: position.offset + length };
    }

    fn commit_stage(&mut self, mut batch: StoreBatch, registry_changed: bool) -> Result<()> {
        batch.put_head(&StoredHead { size: self.size, hash: self.head, time: self.last_time, tail: self.tail });
        if registry_changed {
            batch.put_registry(&self.registry);
        }
        self.store.apply(batch)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Number of entries.
    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn head(&self) -> EntryHash {
        self.head
    }

    pub fn root(&self) -> crate::merkle::Hash {
        self.tree.root()
    }

    pub fn registry(&self) -> &KeyRegistry {
        &self.registry
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// What opening had to repair (a torn tail cut, an import undone, the store rebuilt).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The log key, which signs checkpoints. It leaves the ledger directory only through
    /// [`export_log_key`].
    /// It is checked against the log key the genesis entry names before it is returned, so that
    /// a replaced `log-key.pem` never signs a checkpoint.
    pub fn log_key(&self, passphrase: &mut dyn FnMut() -> Result<zeroize::Zeroizing<String>>) -> Result<SecretKey> {
        let key = read_log_key(&self.dir, passphrase)?;
        check_log_key(&self.dir, &key, &self.origin, &self.registry.log_key)?;
        Ok(key)
    }

    /// Apply one line to the projection changes; with `enforce`, a broken lifecycle rule is an
    /// error (append), otherwise it is tolerated (catch-up and replay of an existing log).
    fn project(&self, changes: &mut StateChanges, parsed: &ParsedLine, enforce: bool) -> Result<()> {
        project_line(&self.store, self, changes, parsed, enforce, &Replacements::new())
    }

    /// Rebuild every projection from seq 0 into fresh state and check that it is byte-identical
    /// to the stored projections. Returns the number of entries replayed and of state keys.
    pub fn replay(&self) -> Result<ReplayReport> {
        let started = std::time::Instant::now();
        let replacements = collect_replacements(&self.log, Position { segment: 0, offset: 0 })?;
        let past = replay_projections(self.lines_in_background(0)?, self, &replacements)?;
        let (entries, state) = (past.end, past.state);
        let mut stored = self.store.scan_prefix(&[projection::keys::PREFIX]);
        let mut fresh = state.iter();
        loop {
            match (stored.next().transpose()?, fresh.next()) {
                (None, None) => break,
                (Some((key, value)), Some((fresh_key, fresh_value))) if key == *fresh_key && value == *fresh_value => {}
                (stored_item, fresh_item) => {
                    let key = match (&stored_item, fresh_item) {
                        (Some((a, _)), Some((b, _))) => a.clone().min(b.clone()),
                        (Some((a, _)), None) => a.clone(),
                        (None, Some((b, _))) => b.clone(),
                        (None, None) => Vec::new(),
                    };
                    return Err(Error::new(
                        ErrorKind::Verification,
                        format!(
                            "replay differs from the stored projection \"{}\" at key {:?}; run `lianlog reindex` to rebuild it",
                            projection::keys::family(&key),
                            String::from_utf8_lossy(&key)
                        ),
                    ));
                }
            }
        }
        Ok(ReplayReport { entries, keys: state.len() as u64, seconds: started.elapsed().as_secs_f64() })
    }

    /// The projection state and key registry as they stood after the first `end` entries,
    /// replayed into memory (the stored projections are not touched). Queries over it
    /// ([`PastState::queries`] with this ledger as the line source) answer as a ledger cut after
    /// seq `end - 1` would.
    pub fn as_of(&self, end: u64) -> Result<PastState> {
        if end == 0 || end > self.size {
            return Err(Error::bad_input(format!(
                "as of {} entries: the ledger has {} entries (seq 0..{})",
                end,
                self.size,
                self.size.saturating_sub(1)
            )));
        }
        let replacements = collect_replacements(&self.log, Position { segment: 0, offset: 0 })?;
        let lines = self.lines_in_background(0)?.take(usize::try_from(end).unwrap_or(usize::MAX));
        replay_projections(lines, self, &replacements)
    }

    /// The number of entries sequenced by the end of `date` in China (UTC+8, 23:59:59.999), found
    /// by binary search over entry times (which never decrease): O(log n) reads.
    pub fn entries_until(&self, date: crate::time::Date) -> Result<u64> {
        let limit = date.end_of_day_china();
        let (mut low, mut high) = (0u64, self.size);
        while low < high {
            let middle = low + (high - low) / 2;
            if self.read(middle)?.line.entry.time <= limit {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        Ok(low)
    }

    /// Where the line of seq `from` begins (the end of the log past the last entry).
    fn start_of(&self, from: u64) -> Result<Position> {
        if from >= self.size {
            return Ok(self.tail);
        }
        self.store
            .position(from)?
            .ok_or_else(|| Error::new(ErrorKind::Store, "derived store is missing positions; run `lianlog reindex`"))
    }

    /// The stored lines from `from` on, exactly as in the log (without their newlines).
    pub fn raw_lines_from(&self, from: u64) -> Result<impl Iterator<Item = Result<Vec<u8>>> + '_> {
        let start = self.start_of(from)?;
        let count = usize::try_from(self.size.saturating_sub(from)).unwrap_or(usize::MAX);
        Ok(self.log.lines_from(start)?.take(count).map(|item| item.map(|(_, bytes)| bytes)))
    }

    fn check_size(&self, size: u64, what: &str) -> Result<()> {
        if size > self.size {
            return Err(Error::bad_input(format!("{what} {size} is larger than the ledger ({} entries)", self.size)));
        }
        Ok(())
    }

    /// The Merkle root of the first `size` entries, from O(log n) store reads.
    pub fn root_at(&self, size: u64) -> Result<crate::merkle::Hash> {
        self.check_size(size, "tree size")?;
        if size == self.size {
            return Ok(self.tree.root());
        }
        crate::merkle::root(size, &self.store)
    }

    /// The RFC 9162 inclusion proof of entry `index` in the tree of `size` entries.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<crate::merkle::Hash>> {
        self.check_size(size, "tree size")?;
        if index >= size {
            return Err(Error::bad_input(format!("entry {index} is not in the tree of size {size}")));
        }
        crate::merkle::inclusion_proof(index, size, &self.store).map_err(merkle_error)
    }

    /// The RFC 9162 consistency proof from the tree of `old` entries to the tree of `new`.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<crate::merkle::Hash>> {
        self.check_size(new, "new tree size")?;
        if old > new {
            return Err(Error::bad_input(format!("old size {old} is larger than new size {new}")));
        }
        crate::merkle::consistency_proof(old, new, &self.store).map_err(merkle_error)
    }

    /// A checkpoint of the tree of `size` entries, signed by the log key (a C2SP signed note).
    /// A key other than the log key the genesis entry names is refused before it signs.
    pub fn checkpoint(&self, size: u64, log_key: &SecretKey) -> Result<String> {
        check_log_key(&self.dir, log_key, &self.origin, &self.registry.log_key)?;
        let root = self.root_at(size)?;
        let checkpoint = crate::note::Checkpoint { origin: self.origin.clone(), size, root };
        crate::note::sign_checkpoint(&checkpoint, log_key)
    }

    /// Append one record, durably.
    pub fn append(&mut self, draft: &Draft, key: &SecretKey) -> Result<Appended> {
        let mut appended = self.append_batch(std::slice::from_ref(draft), key)?;
        appended.pop().ok_or_else(|| Error::bad_input("nothing to append"))
    }

    /// Append records all-or-nothing: each is checked against the registry as it would stand at
    /// its seq; if any is refused, nothing is written. One write and one fsync for the batch.
    pub fn append_batch(&mut self, drafts: &[Draft], key: &SecretKey) -> Result<Vec<Appended>> {
        self.append_with(drafts, &[key], false)
    }

    /// [`Ledger::append_batch`] with each record signed by its own author (`keys[i]` signs
    /// `drafts[i]`): how [`crate::group::GroupCommit`] writes the records of several callers with
    /// one fsync.
    pub fn append_batch_by(&mut self, drafts: &[Draft], keys: &[&SecretKey]) -> Result<Vec<Appended>> {
        if keys.len() != drafts.len() {
            return Err(Error::bad_input(format!("{} records but {} keys", drafts.len(), keys.len())));
        }
        self.append_with(drafts, keys, false)
    }

    /// The append path: `keys` holds one key for every draft, or one for all; `internal` admits
    /// the ledger's own kinds (`ledger.redact`).
    fn append_with(&mut self, drafts: &[Draft], keys: &[&SecretKey], internal: bool) -> Result<Vec<Appended>> {
        if drafts.is_empty() {
            return Err(Error::bad_input("nothing to append"));
        }
        if let Some(reason) = &self.store_failed {
            return Err(Error::new(
                ErrorKind::Store,
                format!(
                    "the derived store could not be updated after an earlier append ({reason}); nothing more is \
                     appended through this handle: open the ledger again (the store is caught up from the log)"
                ),
            ));
        }
        if drafts.len() > MAX_BATCH {
            return Err(Error::bad_input(format!("{} records in one batch; the limit is {MAX_BATCH}", drafts.len())));
        }
        let place =
            |index: usize, err: Error| if drafts.len() > 1 { err.at(format!("record {}", index + 1)) } else { err };
        // One sequencing time for the batch: entry times never decrease, and records signed in
        // parallel must agree on `created` before they are chained.
        let time = self.last_time.unwrap_or(Timestamp::from_millis(0)).max(Timestamp::now());
        // Signing dominates and each record's signature depends only on the record, so records
        // are checked and signed on all cores; chaining and the rules that read the state stay in
        // order. Errors are reported for the first failing record, as if checked one by one.
        let signed: Vec<Result<SignedDraft>> = {
            use rayon::prelude::*;
            drafts
                .par_iter()
                .enumerate()
                .map(|(index, draft)| {
                    let key =
                        keys.get(index).or(keys.first()).ok_or_else(|| Error::bad_input("no key to sign with"))?;
                    let body_bytes = check_draft(draft, internal)?;
                    sign_draft(&self.origin, draft, &body_bytes, key, time)
                })
                .collect()
        };
        let mut entries = Vec::with_capacity(drafts.len());
        let mut head = self.head;
        for (index, signed) in signed.into_iter().enumerate() {
            let signed = signed.map_err(|err| place(index, err))?;
            let entry =
                Entry { seq: self.size + index as u64, prev: head, time, record: signed.record, sig: signed.sig };
            head = entry.hash();
            entries.push((entry, signed.salt, head));
        }
        let mut registry = self.registry.clone();
        let mut registry_changed = false;
        let mut changes = StateChanges::default();
        let mut bytes = Vec::with_capacity(drafts.len() * 900);
        let mut staged = Vec::with_capacity(drafts.len());
        // Lines are encoded and re-parsed on all cores a chunk at a time, so that only one chunk
        // of parsed lines is held however large the batch.
        const ENCODE_CHUNK: usize = 4096;
        let mut entries = entries.into_iter();
        let mut first = 0;
        while first < drafts.len() {
            let chunk: Vec<(Entry, crate::record::Salt, EntryHash)> = entries.by_ref().take(ENCODE_CHUNK).collect();
            let chunk_drafts = &drafts[first..first + chunk.len()];
            let lines: Vec<Result<(Vec<u8>, ParsedLine)>> = {
                use rayon::prelude::*;
                chunk
                    .into_par_iter()
                    .zip(chunk_drafts.par_iter())
                    .map(|((entry, salt, expected), draft)| {
                        let line = StoredLine { entry, body: StoredBody::Full { body: draft.body.clone(), salt } };
                        let bytes = line.to_line().map_err(|e| Error::bad_input(e.to_string()))?;
                        let parsed = ParsedLine::parse(&bytes[..bytes.len() - 1]).map_err(|e| {
                            Error::bad_input(format!("the record does not form a valid stored line: {e}"))
                        })?;
                        if parsed.entry_hash != expected {
                            return Err(Error::bad_input("the record does not survive encoding unchanged"));
                        }
                        Ok((bytes, parsed))
                    })
                    .collect()
            };
            for (offset, (draft, line)) in chunk_drafts.iter().zip(lines).enumerate() {
                let index = first + offset;
                let seq = self.size + index as u64;
                let place = |err: Error| place(index, err);
                let (line, parsed) = line.map_err(place)?;
                registry
                    .authorize(&parsed.line.entry.record, seq)
                    .map_err(|e| place(Error::unauthorized(e.to_string())))?;
                if crate::schema::lookup(&draft.kind).is_some_and(|spec| !spec.versions.is_empty()) {
                    crate::schema::validate(&draft.kind, draft.v, &draft.body, time)
                        .map_err(|e| place(Error::bad_input(format!("{} v{}: {e}", draft.kind, draft.v))))?;
                }
                self.project(&mut changes, &parsed, true).map_err(place)?;
                if draft.kind.starts_with("key.") {
                    registry
                        .apply(seq, &parsed.line.entry.record, &draft.body)
                        .map_err(|e| place(Error::bad_input(format!("{}: {e}", draft.kind))))?;
                    registry_changed = true;
                }
                bytes.extend_from_slice(&line);
                staged.push((line.len() as u64, StagedEntry::of(&parsed)));
            }
            first += chunk_drafts.len();
        }
        let batch_intent = drafts.len() > 1;
        if batch_intent {
            let start = self.next_write_position();
            write_intent(&self.dir, start, bytes.len() as u64, self.size)?;
        }
        let start = self.log.append_durable(&bytes, self.size)?;
        if batch_intent {
            clear_intent(&self.dir)?;
        }
        // Durable from here on: update memory and the derived store.
        self.registry = registry;
        let mut batch = StoreBatch::default();
        batch.put_changes(changes);
        let mut offset = start.offset;
        let mut appended = Vec::with_capacity(staged.len());
        for (length, entry) in staged {
            self.stage(&mut batch, Position { segment: start.segment, offset }, length, entry);
            offset += length;
            appended.push(Appended { seq: self.size - 1, hash: entry.hash, time: entry.time });
        }
        if let Err(err) = self.commit_stage(batch, registry_changed) {
            // The records are durable, so the append succeeded: reporting a failure now would make
            // the caller retry and record them twice. The store is behind the log; the next open
            // catches it up.
            self.notes.push(format!(
                "the records are durable, but the derived store could not be updated ({err}); it is brought up \
                 to date from the log when the ledger is next opened"
            ));
            self.store_failed = Some(err.to_string());
        }
        Ok(appended)
    }

    fn next_write_position(&self) -> Position {
        if self.tail.offset >= crate::log::SEGMENT_TARGET_BYTES {
            Position { segment: self.size, offset: 0 }
        } else {
            self.tail
        }
    }

    /// Grant a key roles (`key.grant`), authored by an admin.
    pub fn grant(&mut self, vkey: &str, roles: &[Role], holder: &Holder, admin: &SecretKey) -> Result<Appended> {
        let body = json!({
            "key": vkey,
            "roles": roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            "holder": holder.to_value(),
        });
        self.append(&Draft::new("key.grant", body), admin)
    }

    /// Revoke a key (`key.revoke`), authored by an admin. Final.
    pub fn revoke(&mut self, identity: &str, reason: &str, admin: &SecretKey) -> Result<Appended> {
        self.append(&Draft::new("key.revoke", json!({"key": identity, "reason": reason})), admin)
    }

    /// The stored line at `seq`.
    pub fn read(&self, seq: u64) -> Result<ParsedLine> {
        if seq >= self.size {
            return Err(Error::bad_input(format!(
                "there is no entry {seq}: the ledger has {} entries (0..{})",
                self.size,
                self.size.saturating_sub(1)
            )));
        }
        let position = self.store.position(seq)?.ok_or_else(|| {
            Error::new(ErrorKind::Store, format!("derived store has no position for seq {seq}; run `lianlog reindex`"))
        })?;
        let line = self.log.read_line_at(position)?;
        ParsedLine::parse(&line).map_err(|e| self.inconsistent(seq, &e.to_string()))
    }

    /// The stored line at `seq`, exactly as in the log (without its newline).
    pub fn raw_line(&self, seq: u64) -> Result<Vec<u8>> {
        self.check_size(seq.saturating_add(1), "entry")?;
        let position = self.store.position(seq)?.ok_or_else(|| {
            Error::new(ErrorKind::Store, format!("derived store has no position for seq {seq}; run `lianlog reindex`"))
        })?;
        self.log.read_line_at(position)
    }

    /// Stored lines from `from` on, in order (parsed ahead on all cores: see [`ParseAhead`]).
    pub fn lines_from(&self, from: u64) -> Result<impl Iterator<Item = Result<ParsedLine>> + '_> {
        self.owned_lines_from(from)
    }

    /// Stored lines from `from` on, read and parsed on another thread while the caller works
    /// on the lines before: for whole-log passes (replay, as-of).
    fn lines_in_background(&self, from: u64) -> Result<impl Iterator<Item = Result<ParsedLine>>> {
        const CHUNK: usize = 1024;
        let mut lines = self.owned_lines_from(from)?;
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<Result<ParsedLine>>>(4);
        std::thread::spawn(move || {
            loop {
                let chunk: Vec<_> = lines.by_ref().take(CHUNK).collect();
                // A closed channel means the reader stopped early: stop too.
                if chunk.is_empty() || sender.send(chunk).is_err() {
                    break;
                }
            }
        });
        Ok(receiver.into_iter().flatten())
    }

    fn owned_lines_from(&self, from: u64) -> Result<impl Iterator<Item = Result<ParsedLine>> + Send + 'static> {
        let start = self.start_of(from)?;
        // Only the lines this handle has checked and applied: a line that appears in the log
        // after the open (written past the lock) is not read, let alone shown.
        let count = usize::try_from(self.size.saturating_sub(from)).unwrap_or(usize::MAX);
        let reader = self.log.lines_from(start)?.take(count);
        Ok(ParseAhead::new(reader).map(move |item| {
            let (_, _, parsed) = item?;
            parsed.map_err(|e| {
                Error::new(ErrorKind::Verification, format!("damaged log line: {e}; run `lianlog verify`"))
            })
        }))
    }

    /// Verify the whole log, then check that the derived store agrees with it.
    pub fn verify(&self, options: VerifyOptions) -> Result<std::result::Result<VerifyReport, VerifyFailure>> {
        let reread = |seq: u64| -> std::result::Result<Vec<u8>, String> {
            let position = self.store.position(seq).map_err(|e| e.to_string())?.ok_or("not indexed")?;
            self.log.read_line_at(position).map_err(|e| e.to_string())
        };
        let report = match verify_segments(&self.log, options, reread)? {
            Ok(report) => report,
            Err(failure) => return Ok(Err(failure)),
        };
        if report.entries != self.size || report.head != self.head || report.root != self.tree.root() {
            return Ok(Err(VerifyFailure {
                line: report.entries,
                seq: None,
                reason: format!(
                    "the derived store disagrees with the log (store: {} entries, log: {}); run `lianlog reindex`",
                    self.size, report.entries
                ),
            }));
        }
        let stored_root = crate::merkle::root(self.size, &self.store)?;
        if stored_root != report.root {
            return Ok(Err(VerifyFailure {
                line: report.entries,
                seq: None,
                reason: "the stored Merkle tree disagrees with the log; run `lianlog reindex`".into(),
            }));
        }
        Ok(Ok(report))
    }
}

/// Collect the replacement bodies of the redactions from `from` to the end of the log. A cheap
/// byte filter skips every line that is neither a redaction nor a correction, so this is one
/// sequential read.
fn collect_replacements(log: &SegmentLog, from: Position) -> Result<Replacements> {
    let lines = log.lines_from(from)?.map(|item| item.map(|(_, bytes)| bytes));
    replacements_in(lines)
}

/// The replacement bodies named by the lines among `lines` (raw stored lines, in seq order).
pub fn replacements_in(lines: impl Iterator<Item = Result<Vec<u8>>>) -> Result<Replacements> {
    const NEEDLES: [&[u8]; 2] = [b"\"kind\":\"ledger.redact\"", b"\"kind\":\"correction\""];
    let mut scan = ReplacementScan::default();
    for bytes in lines {
        let bytes = bytes?;
        if !NEEDLES.iter().any(|needle| bytes.windows(needle.len()).any(|w| w == *needle)) {
            continue;
        }
        let Ok(parsed) = ParsedLine::parse(&bytes) else { continue };
        scan.add(&parsed);
    }
    Ok(scan.finish())
}

/// What `replay` did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplayReport {
    pub entries: u64,
    pub keys: u64,
    pub seconds: f64,
}

fn merge_changes(state: &mut std::collections::BTreeMap<Vec<u8>, Vec<u8>>, changes: StateChanges) {
    for (key, value) in changes.writes {
        match value {
            Some(value) => state.insert(key, value),
            None => state.remove(&key),
        };
    }
}

/// Projection state and key registry as they stood after the first `end` entries, rebuilt in
/// memory by replaying stored lines (see [`Ledger::as_of`]).
#[derive(Debug, Clone, Default)]
pub struct PastState {
    /// The number of entries replayed: the state of a ledger cut after seq `end - 1`.
    pub end: u64,
    /// The projections (keys under [`projection::keys::PREFIX`]), as the store would hold them.
    pub state: std::collections::BTreeMap<Vec<u8>, Vec<u8>>,
    /// The key registry at that point.
    pub registry: KeyRegistry,
    /// The time of entry `end - 1`.
    pub last_time: Option<Timestamp>,
}

impl PastState {
    /// The queries over this state, reading the bodies from `lines` (the ledger, or archives).
    pub fn queries<'a>(&'a self, lines: &'a dyn crate::query::LineSource) -> crate::query::Queries<'a> {
        crate::query::Queries::new(&self.state, lines, self.end)
    }
}

/// What a replayed record may look up: only the entries before it, as when it was appended.
struct FactsBefore<'a> {
    facts: &'a dyn LedgerFacts,
    seq: u64,
}

impl LedgerFacts for FactsBefore<'_> {
    fn entry(&self, seq: u64) -> Result<Option<projection::FactEntry>> {
        if seq >= self.seq { Ok(None) } else { self.facts.entry(seq) }
    }

    fn root_at(&self, size: u64) -> Result<Option<[u8; 32]>> {
        if size > self.seq { Ok(None) } else { self.facts.root_at(size) }
    }
}

/// Replay stored lines from seq 0, in order, into fresh projection state and key registry.
/// `facts` answers lookups of earlier entries (each record sees only the entries before it).
pub fn replay_projections(
    lines: impl Iterator<Item = Result<ParsedLine>>,
    facts: &dyn LedgerFacts,
    replacements: &Replacements,
) -> Result<PastState> {
    let mut past = PastState::default();
    let mut changes = StateChanges::default();
    for line in lines {
        let line = line?;
        let entry = &line.line.entry;
        if entry.seq != past.end {
            return Err(Error::verification(format!(
                "replay: found entry {} where {} was expected; run `lianlog verify`",
                entry.seq, past.end
            )));
        }
        if let Some(body) = line.line.body()
            && (entry.seq == 0 || entry.record.kind.starts_with("key."))
        {
            past.registry
                .apply(entry.seq, &entry.record, body)
                .map_err(|e| Error::verification(format!("replay: seq {}: {e}; run `lianlog verify`", entry.seq)))?;
        }
        let before = FactsBefore { facts, seq: entry.seq };
        project_line(&past.state, &before, &mut changes, &line, false, replacements)?;
        past.end += 1;
        past.last_time = Some(entry.time);
        if changes.writes.len() > 50_000 {
            merge_changes(&mut past.state, std::mem::take(&mut changes));
        }
    }
    merge_changes(&mut past.state, changes);
    Ok(past)
}

/// Apply one stored line to projection state over `base`.
fn project_line(
    base: &dyn projection::StateRead,
    facts: &dyn LedgerFacts,
    changes: &mut StateChanges,
    parsed: &ParsedLine,
    enforce: bool,
    replacements: &Replacements,
) -> Result<()> {
    let record = &parsed.line.entry.record;
    // A redacted record is projected from its replacement body, if the redaction gave one.
    let Some(body) = parsed.line.body().or_else(|| replacements.get(&parsed.line.entry.seq)) else { return Ok(()) };
    let body = crate::schema::upcast(&record.kind, record.v, body);
    let context = RecordContext {
        seq: parsed.line.entry.seq,
        kind: &record.kind,
        v: record.v,
        time: parsed.line.entry.time,
        entry_hash: parsed.entry_hash,
        body: &body,
    };
    let mut view = View::new(base, changes);
    match projection::apply_record(&mut view, &context, facts, enforce)? {
        Err(err) if enforce => Err(projection::rule_error(&record.kind, &err)),
        _ => Ok(()),
    }
}

impl LedgerFacts for Ledger {
    fn entry(&self, seq: u64) -> Result<Option<projection::FactEntry>> {
        if seq >= self.size {
            return Ok(None);
        }
        let line = self.read(seq)?;
        let record = &line.line.entry.record;
        Ok(Some(projection::FactEntry {
            hash: line.entry_hash,
            kind: record.kind.clone(),
            v: record.v,
            body: line.line.body().cloned(),
        }))
    }

    fn root_at(&self, size: u64) -> Result<Option<[u8; 32]>> {
        if size > self.size {
            return Ok(None);
        }
        Ledger::root_at(self, size).map(Some)
    }
}

fn merkle_error(err: crate::merkle::MerkleError<Error>) -> Error {
    match err {
        crate::merkle::MerkleError::Invalid(invalid) => Error::bad_input(invalid.to_string()),
        crate::merkle::MerkleError::Store(err) => err,
    }
}

/// Verify the log of the ledger in `dir` without opening its store or taking its lock, so that it
/// works while another process appends (a line being written is ignored).
pub fn verify_dir(dir: &Path, options: VerifyOptions) -> Result<std::result::Result<VerifyReport, VerifyFailure>> {
    read_meta(dir)?;
    let mut log = SegmentLog::open(dir)?;
    reader_view(dir, &mut log, &mut Vec::new(), false)?;
    let reread = |seq: u64| -> std::result::Result<Vec<u8>, String> {
        let reader = log.lines_from(Position { segment: 0, offset: 0 }).map_err(|e| e.to_string())?;
        match reader.into_iter().nth(seq as usize) {
            Some(Ok((_, line))) => Ok(line),
            Some(Err(e)) => Err(e.to_string()),
            None => Err("no such line".into()),
        }
    };
    verify_segments(&log, options, reread)
}

fn verify_segments(
    log: &SegmentLog,
    options: VerifyOptions,
    reread: impl FnMut(u64) -> std::result::Result<Vec<u8>, String>,
) -> Result<std::result::Result<VerifyReport, VerifyFailure>> {
    let first = Position { segment: 0, offset: 0 };
    if log.is_empty() {
        return Ok(Err(VerifyFailure {
            line: 1,
            seq: None,
            reason: "the log has no segments: the ledger is damaged; restore it from an archive \
                     (`lianlog snapshot restore`)"
                .into(),
        }));
    }
    let mut reader = log.lines_from(first)?;
    let mut verifier = Verifier::new(options);
    let mut line_number = 0u64;
    for item in reader.by_ref() {
        line_number += 1;
        let (_, bytes) = match item {
            Ok(item) => item,
            Err(err) if err.kind() == ErrorKind::Verification => {
                return Ok(Err(VerifyFailure {
                    line: line_number,
                    seq: Some(line_number - 1),
                    reason: err.message().to_string(),
                }));
            }
            Err(err) => return Err(err),
        };
        if let Err(failure) = verifier.push(line_number, bytes) {
            return Ok(Err(failure));
        }
    }
    let partial = reader.saw_torn_tail() || log.is_limited();
    Ok(verifier.finish(reread).map(|mut report| {
        report.ignored_partial_tail = partial;
        report
    }))
}

/// Read the log key of the ledger in `dir` (`log-key.pem`), saying what to do when it is missing.
fn read_log_key(dir: &Path, passphrase: &mut dyn FnMut() -> Result<zeroize::Zeroizing<String>>) -> Result<SecretKey> {
    let path = dir.join(LOG_KEY_FILE);
    fsio::refuse_link(&path)?;
    if std::fs::symlink_metadata(&path).is_err() {
        return Err(Error::key(format!(
            "the log key {} is missing, so the ledger cannot sign checkpoints (its records are not affected); \
             restore it from the copy made with `lianlog key export-log-key` (mode 0600)",
            path.display()
        )));
    }
    SecretKey::read_file(&path, passphrase)
}

/// Refuse a log key that is not the one the genesis entry names (`named`, a vkey) for `origin`.
fn check_log_key(dir: &Path, key: &SecretKey, origin: &str, named: &str) -> Result<()> {
    if key.name().as_str() != origin || named != key.public().vkey() {
        return Err(Error::verification(format!(
            "{} ({}) is not the log key that the genesis entry names ({named}); it was replaced, and it signs \
             nothing: restore the right one from the copy made with `lianlog key export-log-key`",
            dir.join(LOG_KEY_FILE).display(),
            key.public().vkey()
        )));
    }
    Ok(())
}

/// Copy the log key of the ledger in `dir` to a new file `out` — created 0600, never replacing
/// an existing file, encrypted when `encrypt_with` is given — after checking that it is the log
/// key that the genesis entry names. This is the only way the log key leaves the ledger directory
/// (`lianlog key export-log-key`); it needs no lock. Returns the log key's public half.
pub fn export_log_key(
    dir: &Path,
    out: &Path,
    encrypt_with: Option<&str>,
    passphrase: &mut dyn FnMut() -> Result<zeroize::Zeroizing<String>>,
) -> Result<crate::keys::PublicKey> {
    let origin = read_meta(dir)?;
    let key = read_log_key(dir, passphrase)?;
    let log = SegmentLog::open(dir)?;
    let genesis = log
        .lines_from(Position { segment: 0, offset: 0 })?
        .next()
        .transpose()?
        .ok_or_else(|| Error::verification(format!("{}: the log has no genesis entry", dir.display())))?;
    let genesis = ParsedLine::parse(&genesis.1).map_err(|e| {
        Error::verification(format!("{}: entry 0 is damaged ({e}); run `lianlog verify`", dir.display()))
    })?;
    let named = genesis.line.body().and_then(|body| body["log_key"].as_str()).unwrap_or_default();
    check_log_key(dir, &key, &origin, named)?;
    match encrypt_with {
        Some(passphrase) => key.write_new_encrypted_file(out, passphrase)?,
        None => key.write_new_file(out)?,
    }
    Ok(key.public().clone())
}

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exported {
    /// Lines written (every entry of the log).
    pub entries: u64,
    /// Lines written withheld (`--without-bodies`): every line outside `ledger.*` and `key.*`,
    /// redacted ones included (the verifier counts them the same way).
    pub withheld: u64,
    /// Seqs of `ledger.redact` entries whose body carries a `replacement` (written before
    /// replacements moved into a correction): format v1 keeps `ledger.*` bodies in every export,
    /// so these replacement bodies are in a body-less export too.
    pub replacements_kept: Vec<u64>,
}

/// Write the export (format-v1 section 10) of the ledger in `dir` to `out`, without taking the
/// lock. With `without_bodies`, every body outside `ledger.*` and `key.*` is withheld; what
/// remains is the key registry (keys, roles, holders, revocation reasons), the genesis, and the
/// redactions (target, reason, and — for redactions written before replacements moved out —
/// the replacement body), which the format requires a verifier to read.
pub fn export_dir(dir: &Path, out: &mut dyn std::io::Write, without_bodies: bool) -> Result<Exported> {
    read_meta(dir)?;
    let mut log = SegmentLog::open(dir)?;
    reader_view(dir, &mut log, &mut Vec::new(), false)?;
    let mut exported = Exported::default();
    const REDACT: &[u8] = b"\"kind\":\"ledger.redact\"";
    for item in log.lines_from(Position { segment: 0, offset: 0 })? {
        let (_, bytes) = item?;
        let seq = exported.entries;
        let write_error = |err: std::io::Error| Error::io("write", "the export", err);
        let damaged = |e: crate::record::LineError| {
            Error::verification(format!("seq {seq}: damaged log line ({e}); run `lianlog verify`"))
        };
        if without_bodies {
            let parsed = ParsedLine::parse(&bytes).map_err(damaged)?;
            let kind = &parsed.line.entry.record.kind;
            if !crate::record::kind_keeps_body(kind) {
                exported.withheld += 1;
                let line = parsed.line.withheld().to_line().map_err(|e| Error::verification(e.to_string()))?;
                out.write_all(&line).map_err(write_error)?;
                exported.entries += 1;
                continue;
            }
            if kind == "ledger.redact" && parsed.line.body().is_some_and(|body| body.get("replacement").is_some()) {
                exported.replacements_kept.push(seq);
            }
        } else if bytes.windows(REDACT.len()).any(|w| w == REDACT)
            && ParsedLine::parse(&bytes).map_err(damaged)?.line.body().is_some_and(|b| b.get("replacement").is_some())
        {
            exported.replacements_kept.push(seq);
        }
        out.write_all(&bytes).and_then(|()| out.write_all(b"\n")).map_err(write_error)?;
        exported.entries += 1;
    }
    out.flush().map_err(|err| Error::io("write", "the export", err))?;
    Ok(exported)
}

/// Check a draft before it is signed: a known kind policy, an object body with a canonical form,
/// within the size limit.
/// Check a draft's kind, form and size; returns the canonical body bytes.
fn check_draft(draft: &Draft, internal: bool) -> Result<Vec<u8>> {
    if !crate::record::is_valid_kind(&draft.kind) {
        return Err(Error::bad_input(format!(
            "kind {:?} is not a lowercase dotted name such as `interview` or `report.received`",
            draft.kind
        )));
    }
    if draft.v == 0 {
        return Err(Error::bad_input("schema versions start at 1"));
    }
    match draft.kind.as_str() {
        "key.grant" | "key.revoke" => {}
        "ledger.redact" if internal => {}
        "ledger.redact" => return Err(Error::bad_input("ledger.redact is written by `lianlog redact` only")),
        "ledger.genesis" => return Err(Error::bad_input("ledger.genesis is written by `lianlog init` only")),
        kind if kind.starts_with("ledger.") || kind.starts_with("key.") => {
            return Err(Error::bad_input(format!("kind {kind} is reserved for the ledger and cannot be appended")));
        }
        kind if crate::schema::lookup(kind).is_none() => {
            let known = crate::schema::KINDS
                .iter()
                .filter(|k| !k.versions.is_empty())
                .map(|k| k.name)
                .collect::<Vec<_>>()
                .join(", ");
            return Err(Error::bad_input(format!(
                "unknown kind {kind:?}; the record kinds are: {known} (see docs/RECORDS.md)"
            )));
        }
        _ => {}
    }
    if !draft.body.is_object() {
        return Err(Error::bad_input("body: must be a JSON object"));
    }
    if draft.kind.starts_with("key.") {
        check_key_body_limits(&draft.body)?;
    }
    let bytes = crate::canonical::encode(&draft.body, "body").map_err(|e| Error::bad_input(e.to_string()))?;
    if bytes.len() > MAX_BODY_BYTES {
        return Err(Error::bad_input(format!("body: {} bytes; the limit is {MAX_BODY_BYTES}", bytes.len())));
    }
    Ok(bytes)
}

/// Length limits for the free text of `key.grant` and `key.revoke` bodies (the key registry
/// checks their form; these bound what a new record may carry, as the schemas do for the other
/// kinds): holder name, unit and title as short lines, a revocation reason as text.
fn check_key_body_limits(body: &Value) -> Result<()> {
    use crate::schema::{MAX_SHORT_TEXT_CHARS, MAX_TEXT_CHARS};
    let check = |value: &Value, path: &str, limit: usize| -> Result<()> {
        match value.as_str() {
            Some(text) if text.chars().count() > limit => {
                Err(Error::bad_input(format!("{path}: {} characters; the limit is {limit}", text.chars().count())))
            }
            _ => Ok(()),
        }
    };
    for member in ["name", "unit", "title"] {
        let path = format!("body.holder.{member}");
        check(&body["holder"][member], &path, MAX_SHORT_TEXT_CHARS)?;
        let text = body["holder"][member].as_str().unwrap_or_default();
        crate::schema::check_no_bidi_controls(text, &path).map_err(|e| Error::bad_input(e.to_string()))?;
    }
    check(&body["reason"], "body.reason", MAX_TEXT_CHARS)
}

/// Make, sign and encode the genesis line (seq 0, with its newline).
fn genesis_line(origin: &str, draft: &Draft, key: &SecretKey, time: Timestamp) -> Result<Vec<u8>> {
    let body_bytes = crate::canonical::encode(&draft.body, "body").map_err(|e| Error::bad_input(e.to_string()))?;
    let signed = sign_draft(origin, draft, &body_bytes, key, time)?;
    let line = StoredLine {
        entry: Entry { seq: 0, prev: EntryHash::ZERO, time, record: signed.record, sig: signed.sig },
        body: StoredBody::Full { body: draft.body.clone(), salt: signed.salt },
    };
    line.to_line().map_err(|e| Error::bad_input(e.to_string()))
}

/// Log lines parsed ahead of the reader, a chunk at a time on all cores, and yielded in order:
/// parsing (JSON, hashes) is the larger part of reading the log, and it needs nothing from the
/// lines before. Chunks start small and grow, so that reading a few lines parses few.
struct ParseAhead<I> {
    lines: I,
    ready: std::collections::VecDeque<ParsedItem>,
    chunk: usize,
    failed: Option<Error>,
}

/// A line's position, its length without the newline, and the line parsed.
type ParsedItem = (Position, u64, std::result::Result<ParsedLine, crate::record::LineError>);

impl<I: Iterator<Item = Result<(Position, Vec<u8>)>>> ParseAhead<I> {
    const LARGEST_CHUNK: usize = 4096;

    fn new(lines: I) -> ParseAhead<I> {
        ParseAhead { lines, ready: std::collections::VecDeque::new(), chunk: 16, failed: None }
    }
}

impl<I: Iterator<Item = Result<(Position, Vec<u8>)>>> Iterator for ParseAhead<I> {
    type Item = Result<ParsedItem>;

    fn next(&mut self) -> Option<Self::Item> {
        use rayon::prelude::*;
        if self.ready.is_empty() && self.failed.is_none() {
            let mut raw = Vec::with_capacity(self.chunk);
            for item in self.lines.by_ref() {
                match item {
                    Ok(line) => raw.push(line),
                    Err(err) => {
                        // Yielded after the lines before it, like the plain reader would.
                        self.failed = Some(err);
                        break;
                    }
                }
                if raw.len() == self.chunk {
                    break;
                }
            }
            self.chunk = (self.chunk * 2).min(Self::LARGEST_CHUNK);
            let parsed: Vec<ParsedItem> = raw
                .into_par_iter()
                .map(|(position, bytes)| (position, bytes.len() as u64, ParsedLine::parse(&bytes)))
                .collect();
            self.ready.extend(parsed);
        }
        match self.ready.pop_front() {
            Some(item) => Some(Ok(item)),
            None => self.failed.take().map(Err),
        }
    }
}

/// What the store and the ledger's head need of an entry once its line is written.
#[derive(Clone, Copy)]
struct StagedEntry {
    hash: EntryHash,
    time: Timestamp,
    record_id: [u8; 16],
}

impl StagedEntry {
    fn of(parsed: &ParsedLine) -> StagedEntry {
        let entry = &parsed.line.entry;
        StagedEntry { hash: parsed.entry_hash, time: entry.time, record_id: entry.record.replay_id() }
    }
}

/// A draft checked and signed, ready to be sequenced.
struct SignedDraft {
    record: Record,
    sig: String,
    salt: crate::record::Salt,
}

/// Make and sign a draft's record (format-v1 section 4) for sequencing at `time`.
fn sign_draft(origin: &str, draft: &Draft, body_bytes: &[u8], key: &SecretKey, time: Timestamp) -> Result<SignedDraft> {
    let salt = random_salt()?;
    let record = Record {
        v: draft.v,
        ledger: origin.to_string(),
        kind: draft.kind.clone(),
        author: key.public().identity(),
        created: time,
        body_hash: body_hash(&salt, body_bytes),
    };
    let sig = record.sign(key);
    Ok(SignedDraft { record, sig, salt })
}

/// Remove scratch stores left by a rebuild that was interrupted (only the lock holder runs this,
/// so no other process can be using one).
fn remove_stale_scratch_stores(dir: &Path) {
    let Ok(listing) = std::fs::read_dir(dir) else { return };
    for item in listing.flatten() {
        if item.file_name().to_string_lossy().starts_with("index.rebuild.") {
            let _ = std::fs::remove_dir_all(item.path());
        }
    }
}

/// Record, durably, where a multi-line batch begins (segment, offset, and the seq of its first
/// line) and how long it is, before writing it. Written whole under a temporary name and renamed,
/// so an intent file is either complete or absent.
fn write_intent(dir: &Path, start: Position, length: u64, first_seq: u64) -> Result<()> {
    let text = format!(
        "{{\"segment\":{},\"start\":{},\"length\":{length},\"seq\":{first_seq}}}\n",
        start.segment, start.offset
    );
    fsio::publish_bytes(&dir.join(INTENT_FILE), true, text.as_bytes())
}

/// Remove the intent once its batch is durable, and fsync the directory: an intent that came
/// back after a crash could otherwise name bytes that a later rewrite (a redaction) moved.
fn clear_intent(dir: &Path) -> Result<()> {
    fsio::remove_durable(&dir.join(INTENT_FILE))
}

/// What an import intent says once checked against the log.
enum ImportIntent {
    /// There is none.
    Absent,
    /// Its batch never began, or is complete: nothing to undo, the file is only to be removed.
    Done,
    /// A batch was interrupted: its partial bytes run from here to the end of the segment.
    Partial(Position, u64),
}

/// Read `import.intent` and check it against the log's real state: the segment it names is the
/// last one, the batch starts on a line boundary inside it with the seq the intent names, the
/// segment ends inside the batch, and the derived store knows no entry at or after its start (an
/// entry the store knows was acknowledged). An intent that fails a check was not left by an
/// interrupted import (it is stale or was planted) and is refused, naming the file.
fn check_import_intent(dir: &Path, log: &SegmentLog) -> Result<ImportIntent> {
    let path = dir.join(INTENT_FILE);
    let text = match read_small_file(&path, 4096) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(ImportIntent::Absent),
        Err(err) if err.raw_os_error() == Some(libc::ELOOP) => return Err(fsio::link_refused(&path)),
        // Not text, or too long: not an intent lianlog wrote completely; it announces nothing.
        Err(err) if err.kind() == std::io::ErrorKind::InvalidData => return Ok(ImportIntent::Done),
        Err(err) => return Err(Error::io("read", &path, err)),
    };
    let intent: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let (Some(segment), Some(start), Some(length)) =
        (intent["segment"].as_u64(), intent["start"].as_u64(), intent["length"].as_u64())
    else {
        // A torn intent file (an earlier lianlog wrote it in place): the batch never began.
        return Ok(ImportIntent::Done);
    };
    let refuse = |why: String| {
        Error::verification(format!(
            "{}: this import intent does not match the log ({why}), so it was not left by an interrupted import; \
             it was not acted upon and nothing was changed. If no import was running, keep a copy of it for the \
             record, remove it, and open the ledger again",
            path.display()
        ))
    };
    let last = log.last_segment().unwrap_or(0);
    if segment > last {
        // The batch was to start a new segment that was never created: it never began.
        return if start == 0 {
            Ok(ImportIntent::Done)
        } else {
            Err(refuse(format!(
                "segment {segment:020}.jsonl does not exist and the batch would not start at its beginning"
            )))
        };
    }
    if segment != last {
        return Err(refuse(format!("segment {segment:020}.jsonl is not the last segment, where a batch is written")));
    }
    let current = log.segment_len(segment)?;
    if current < start {
        return Err(refuse(format!(
            "the batch would start at byte {start} but segment {segment:020}.jsonl ends at {current}"
        )));
    }
    if current == start || current >= start.saturating_add(length) {
        return Ok(ImportIntent::Done);
    }
    // The batch is partly written: check it starts where the intent says, with the seq it says.
    let at = Position { segment, offset: start };
    let boundary = start == 0 || log.byte_at(Position { segment, offset: start - 1 })? == Some(b'\n');
    if !boundary {
        return Err(refuse(format!("byte {start} of segment {segment:020}.jsonl is not the start of a line")));
    }
    if let Some(seq) = intent["seq"].as_u64()
        && let Ok(line) = log.read_line_at(at)
        && let Ok(parsed) = ParsedLine::parse(&line)
        && parsed.line.entry.seq != seq
    {
        return Err(refuse(format!("the line at byte {start} is seq {}, not seq {seq}", parsed.line.entry.seq)));
    }
    if let Some(known) = crate::store::last_known_position(dir)?
        && known >= at
    {
        return Err(refuse(format!(
            "the derived store knows an entry at byte {} of segment {:020}.jsonl, so the entries from byte {start} on \
             were acknowledged",
            known.offset, known.segment
        )));
    }
    Ok(ImportIntent::Partial(at, current))
}

/// If an import was interrupted, cut the log back to where it began (all or nothing), saving the
/// cut bytes beside the log. Only a writer calls this.
fn undo_interrupted_import(dir: &Path, log: &mut SegmentLog, notes: &mut Vec<String>) -> Result<()> {
    let path = dir.join(INTENT_FILE);
    match check_import_intent(dir, log)? {
        ImportIntent::Absent => return Ok(()),
        ImportIntent::Done => {}
        ImportIntent::Partial(start, current) => {
            let saved = log.truncate(start)?;
            notes.push(format!(
                "an import was interrupted: removed its {} partly written bytes from the end of segment {:020}.jsonl, \
                 so none of it is visible (saved in {})",
                current - start.offset,
                start.segment,
                saved.display()
            ));
        }
    }
    fsio::remove_durable(&path)
}

/// Deal with what a crash can leave before the store is trusted: an interrupted batch, a torn
/// tail, an interrupted redaction, scratch stores. A writer repairs them (saving what it cuts);
/// a read-only opener changes nothing, reads only what a writer would keep, and says so.
fn recover(dir: &Path, log: &mut SegmentLog, notes: &mut Vec<String>, read_only: bool) -> Result<()> {
    if !read_only {
        // Only a line that is not even JSON can be a torn write; a complete JSON line that fails
        // its checks is evidence, kept for `verify` to report.
        let torn = |line: &[u8]| serde_json::from_slice::<serde::de::IgnoredAny>(line).is_ok();
        undo_interrupted_import(dir, log, notes)?;
        if let Some(repair) = log.repair_tail(torn)? {
            notes.push(format!(
                "cut {} bytes from the end of {}: {} that was never acknowledged (saved in {})",
                repair.cut_bytes,
                repair.segment.display(),
                repair.reason,
                repair.saved.display()
            ));
        }
        log.open_writer()?;
        if let Some(note) = redaction::finish_interrupted(dir, log)? {
            notes.push(note);
        }
        remove_stale_scratch_stores(dir);
        return Ok(());
    }
    reader_view(dir, log, notes, true)?;
    redaction::check_no_interrupted(dir)
}

/// Bound `log` to what a writer would keep — before an interrupted batch whose intent matches the
/// log, and with `torn_lines` before a last line that is not JSON — without changing anything,
/// and say so in `notes` (bytes after the last newline are never read anyway). Used by read-only
/// opens and, without `torn_lines` (a complete line that is not JSON is for the verifier to
/// report), by the lock-free `verify_dir` and `export_dir`, for which a batch another process is
/// writing right now is such an unfinished batch: not acknowledged, so not shown.
fn reader_view(dir: &Path, log: &mut SegmentLog, notes: &mut Vec<String>, torn_lines: bool) -> Result<()> {
    let torn = |line: &[u8]| serde_json::from_slice::<serde::de::IgnoredAny>(line).is_ok();
    let later = "the next command that writes will remove it; this read-only command changed nothing";
    match check_import_intent(dir, log) {
        Ok(ImportIntent::Partial(start, current)) => {
            log.limit_to(start);
            notes.push(format!(
                "an import was interrupted: its {} partly written bytes at the end of segment {:020}.jsonl are not \
                 shown; {later}",
                current - start.offset,
                start.segment
            ));
            return Ok(());
        }
        Ok(_) => {}
        // A writer refuses it; a reader does not act on it and reads the log as it is.
        Err(err) if err.kind() == ErrorKind::Verification => {
            notes.push(format!("{err} (a command that writes will refuse to run until then)"))
        }
        Err(err) => return Err(err),
    }
    if !torn_lines {
        return Ok(());
    }
    if let Some((keep, reason)) = log.torn_tail(torn)? {
        log.limit_to(keep);
        notes.push(format!(
            "segment {:020}.jsonl ends with {reason}, never acknowledged and not shown; {later}",
            keep.segment
        ));
    }
    Ok(())
}
