//! Opening a ledger (打开台账): `init`, `open` and `reindex` — the lock, crash recovery
//! (`recovery.rs`), the derived store opened, checked against the log or rebuilt, and catch-up of
//! the lines the store has not seen (`unseen.rs`).
//!
//! Guarantees: a store that cannot be opened because of the environment (disk full, read-only,
//! permissions) is an I/O error and is left alone; only a store that is itself damaged is
//! destroyed and rebuilt, with a note pointing to `verify` and `snapshot restore`. A log that
//! changed behind the store's back is refused unless the operator accepts it (`reindex`).

use std::fs::File;
use std::path::Path;

use serde_json::{Value, json};

use super::append::{check_key_body_limits, genesis_line};
use super::read::ParseAhead;
use super::recovery::recover;
use super::replay::{collect_replacements, project_line};
use super::{Draft, LOCK_FILE, LOG_KEY_FILE, Ledger, META_FILE, OpenOptions, SERVED_FILE, WrittenEntry, read_meta};
use crate::error::{Error, ErrorKind, Result};

/// The part of the "log changed behind the store" message that sends the user to `lianlog
/// verify`; `verify` itself, which reports the same finding, leaves it out (it would send the
/// user to the command they just ran).
pub const RUN_VERIFY_HINT: &str = "`lianlog verify` names the first entry that differs; ";
use crate::fsio;
use crate::keys::{KeyName, SecretKey};
use crate::limits::FORMAT_VERSION;
use crate::log::{Position, SegmentLog};
use crate::merkle::CompactRange;
use crate::projection::{self, StateChanges};
use crate::record::{EntryHash, ParsedLine};
use crate::registry::{Holder, KeyRegistry};
use crate::store::{Store, StoreBatch};
use crate::time::Timestamp;
use crate::verify::{PROGRESS_EVERY, Progress};

/// Why the derived store could not be used as it is.
enum StoreProblem {
    /// The store itself is incomplete or malformed: rebuild it.
    Damaged(String),
    /// The log changed behind the store's back at this seq: evidence of tampering or data loss.
    LogChanged(u64, String),
    /// An earlier version of lianlog wrote the store in another layout: rebuild it.
    Outdated,
}

/// Entries whose catch-up (a rebuild, a store far behind) is followed by a compaction, so that
/// the commands after it open a small sled (`store/state.rs`).
const CATCH_UP_SETTLES: u64 = 1_000;

/// How often a waiting opener looks at the lock again: short next to a command's run time, long
/// enough not to spin.
const LOCK_POLL: std::time::Duration = std::time::Duration::from_millis(25);

fn take_lock(dir: &Path, wait: std::time::Duration) -> Result<File> {
    let path = dir.join(LOCK_FILE);
    let file = fsio::open_or_create_in_ledger(&path)?;
    let started = std::time::Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::Error(err)) => return Err(Error::io("lock", &path, err)),
            Err(std::fs::TryLockError::WouldBlock) => {}
        }
        // A server holds the ledger for good: say where it is instead of waiting or "retry".
        if let Some(url) = served_at(dir) {
            return Err(Error::new(
                ErrorKind::Locked,
                format!(
                    "ledger {} is served by `lianlog serve` at {url}; run this command against it with \
                     `--server {url}` (or LIANLOG_SERVER={url}), or stop the server first \
                     (`lianlog verify` and `lianlog export` also work on the directory meanwhile)",
                    dir.display()
                ),
            ));
        }
        if started.elapsed() >= wait {
            let waited =
                if wait.is_zero() { String::new() } else { format!(" (waited {} s)", wait.as_secs_f64().round()) };
            return Err(Error::new(
                ErrorKind::Locked,
                format!(
                    "ledger {} is in use by another process{waited}; wait for it to finish and retry, or \
                     wait longer with `--wait SECONDS` (`lianlog verify` and `lianlog export` work meanwhile)",
                    dir.display()
                ),
            ));
        }
        std::thread::sleep(LOCK_POLL);
    }
}

/// The URL in `dir`'s served note, if there is one that reads as a URL. Called only when the
/// lock is held by someone else: the note is written by the server while it holds the lock, so a
/// note seen now names the server that holds it (a note left by a killed server is replaced by
/// the next server and removed by the next writer's open).
fn served_at(dir: &Path) -> Option<String> {
    let text = fsio::read_small_text_in_ledger(&dir.join(SERVED_FILE), MAX_SERVED_NOTE_BYTES).ok()?;
    let url = text.lines().next()?.trim();
    let printable = url.chars().all(|c| c.is_ascii_graphic());
    (printable && (url.starts_with("http://") || url.starts_with("https://"))).then(|| url.to_string())
}

/// The longest served note read.
const MAX_SERVED_NOTE_BYTES: u64 = 1024;

impl Ledger {
    /// Note in the ledger directory that this ledger is served at `url` (by `lianlog serve`),
    /// so that a local command that finds the ledger locked names the URL instead of saying
    /// "retry". Written whole (temporary file, fsync, rename). A writer's open removes a note
    /// that a killed server left, since holding the lock proves no server holds it.
    pub fn announce_served(&self, url: &str) -> Result<()> {
        if !url.chars().all(|c| c.is_ascii_graphic()) {
            return Err(Error::bad_input(format!("cannot announce the server URL {url:?}: not a plain URL")));
        }
        fsio::publish_bytes(&self.dir.join(SERVED_FILE), true, format!("{url}\n").as_bytes())
    }

    /// Remove the served note (the server is stopping).
    pub fn withdraw_served(&self) -> Result<()> {
        fsio::remove_durable(&self.dir.join(SERVED_FILE))
    }

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
        let lock = take_lock(dir, std::time::Duration::ZERO)?;
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
        let lock = take_lock(dir, options.wait)?;
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
        if !options.read_only {
            // This writer holds the lock, so no server does: a served note is one a killed
            // server left behind, and would misname the next holder of the lock.
            fsio::remove_durable(&dir.join(SERVED_FILE))?;
        }
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
                        "{}: {reason}. Nothing was changed. {RUN_VERIFY_HINT}restore the ledger from an \
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
        Ledger::reindex_with_progress(dir, &mut |_| {})
    }

    /// [`Ledger::reindex`], reporting [`Progress`] to `progress` as the log is read again:
    /// `verifying` (every line is checked before it is applied), then `indexing`, each counting
    /// entries of the ledger's size.
    pub fn reindex_with_progress(dir: &Path, progress: &mut dyn FnMut(Progress)) -> Result<Ledger> {
        let mut ledger = Ledger::open_with(dir, OpenOptions { accept_log_as_is: true, ..OpenOptions::default() })?;
        let total = ledger.size;
        ledger.rebuild_store()?;
        ledger.catch_up_with_progress(total, progress)?;
        // A rebuilt store is left in one sorted table, sled empty: the smallest store to open.
        ledger.store.compact_if_pending(1)?;
        Ok(ledger)
    }

    pub(super) fn rebuild_store(&mut self) -> Result<()> {
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
                 entries were removed from the log, or an earlier entry was changed, after they were written",
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
    pub(super) fn catch_up(&mut self) -> Result<()> {
        self.catch_up_with_progress(0, &mut |_| {})
    }

    /// [`Ledger::catch_up`], reporting [`Progress`] (`verifying`, then `indexing`; `total` is the
    /// size the log is expected to reach, 0 when not known) to `progress`.
    fn catch_up_with_progress(&mut self, total: u64, progress: &mut dyn FnMut(Progress)) -> Result<()> {
        if self.check_unseen_lines(total, progress)? == 0 {
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
                self.apply_to_store(std::mem::take(&mut batch), registry_changed)?;
                pending = 0;
                registry_changed = false;
            }
            project_line(
                crate::projection::View::new(&self.store, &mut changes),
                self,
                &parsed.line,
                false,
                &replacements,
            )?;
            self.advance(&mut batch, position, length + 1, WrittenEntry::of(&parsed));
            pending += 1;
            caught_up += 1;
            if self.size.is_multiple_of(PROGRESS_EVERY) {
                progress(Progress { phase: "indexing", done: self.size, total });
            }
            if pending >= 10_000 {
                batch.put_changes(std::mem::take(&mut changes));
                self.apply_to_store(std::mem::take(&mut batch), registry_changed)?;
                pending = 0;
                registry_changed = false;
            }
        }
        if pending > 0 {
            batch.put_changes(changes);
            self.apply_to_store(batch, registry_changed)?;
        }
        if caught_up > 0 {
            progress(Progress { phase: "indexing", done: self.size, total: total.max(self.size) });
        }
        if caught_up >= CATCH_UP_SETTLES {
            self.store.compact_if_pending(crate::store::SETTLE_AFTER)?;
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

    pub(super) fn inconsistent(&self, seq: u64, reason: &str) -> Error {
        Error::new(
            ErrorKind::Verification,
            format!(
                "{}: log entry {seq} is damaged ({reason}); run `lianlog verify` for details and restore from an archive (`lianlog snapshot restore`)",
                self.dir.display()
            ),
        )
    }
}
