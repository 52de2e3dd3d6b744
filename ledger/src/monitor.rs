//! The monitor (监测): an auditor's memory of a log, checked against each checkpoint the log
//! serves, from **hash tiles only** — no entry, no body — so that anyone may run it against a
//! public log without being granted a key.
//!
//! # Guarantees
//!
//! - **Signed, then consistent.** A served checkpoint must carry a valid signature by the pinned
//!   log key, for that key's origin ([`note::open_checkpoint`]). It must then extend the last
//!   checkpoint this monitor verified: the consistency proof between the two sizes is built here
//!   from the server's hash tiles (a [`TileSource`]; [`merkle::consistency_proof`] over the tiles
//!   as a [`merkle::NodeStore`]) and checked with [`merkle::verify_consistency`] against the two
//!   *signed* roots, so tiles are never trusted: a wrong tile can make a good log fail, never a bad
//!   log pass. The root of the tiles at the new size must also equal the signed root, which
//!   catches a server whose tiles do not match its own checkpoint.
//! - **Misbehaviour is named, and kept.** A checkpoint that fails is one [`MisbehaviourKind`]:
//!   a bad or missing log signature, a rollback (a smaller tree than one already verified, not a
//!   prefix of it), a split view (same size with another root, or a tree that does not extend the
//!   verified one, shown by the tiles' own consistency proof), tiles that disagree with the signed
//!   checkpoint, or a known witness that cosigned two roots for one size. Its evidence — both
//!   signed checkpoints exactly as served, the proof where there is one, and a `README.txt` that
//!   says what they prove and to whom to hand them (上级纪委监委) — is written durably to
//!   `evidence/<UTC time>-<what>-<hash>/` **before** the check returns; the same evidence found
//!   again is not written twice.
//! - **Durable state, one monitor at a time.** The last verified checkpoint and what each named
//!   witness was last seen cosigning are written atomically (`fsio::publish`: temporary file,
//!   fsync, rename, directory fsync) after each verified checkpoint; a checkpoint that failed never
//!   replaces them. The state directory is `flock`ed for the life of a [`Monitor`], so two monitors
//!   never race on it. A state file that does not parse, or is for another log, is an error: the
//!   monitor never silently starts over (it would forget what it saw).
//!
//! # What it does not do
//!
//! It trusts the first checkpoint it sees (trust on first use: start it from a checkpoint
//! obtained out of band, or with witnesses). It cannot detect a record that was never submitted,
//! nor a server that refuses to answer (that is an error, not misbehaviour). It checks entries and
//! bodies not at all: `lianlog verify --server` does.
//!
//! # State directory
//!
//! ```text
//! monitor.json    {"monitor_state":1,"origin":…,"log_vkey":…,"checkpoint":note,
//!                  "witnesses":[{"vkey":…,"size":…,"root":base64,"checkpoint":note}]}
//! checkpoint      the last verified checkpoint note, as served (a copy, for other tools)
//! lock            flock'd while a monitor runs
//! evidence/<YYYYMMDDTHHMMSSZ>-<what>-<hash>/   README.txt, old.checkpoint, new.checkpoint, …
//! ```

use std::fs::File;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::encoding::{base64, parse_base64};
use crate::error::{Error, ErrorKind, Result};
use crate::fsio;
use crate::keys::{ALGORITHM_COSIGNATURE_V1, ALGORITHM_ED25519, PublicKey};
use crate::limits::MAX_WITNESS_STATE_BYTES;
use crate::merkle::{self, Hash};
use crate::note::{self, Checkpoint, CosignerPolicy, Note, VerifiedCheckpoint};
use crate::tiles::TileSource;
use crate::time::Timestamp;

mod evidence;
mod tile_nodes;

pub use evidence::EVIDENCE_DIR;
use tile_nodes::{TileError, TileNodes};

const STATE_FILE: &str = "monitor.json";
const CHECKPOINT_FILE: &str = "checkpoint";
const LOCK_FILE: &str = "lock";
const STATE_VERSION: u32 = 1;

/// What a log (or a witness) did wrong, as the monitor saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MisbehaviourKind {
    /// The served checkpoint has no valid signature by the pinned log key (or is not a checkpoint
    /// of its origin).
    BadSignature,
    /// The served tree is smaller than one already verified, and not shown to be a prefix of it.
    Rollback,
    /// Two signed checkpoints of one origin that cannot both be true: the same size with two
    /// roots, or a larger tree that does not extend the smaller.
    SplitView,
    /// The server's hash tiles do not give the root its own checkpoint signs.
    TileMismatch,
    /// A witness the monitor knows cosigned two different roots for one size.
    WitnessEquivocation,
}

impl MisbehaviourKind {
    /// The short name used in evidence directory names and `--json` (`split-view`, …).
    pub fn name(self) -> &'static str {
        match self {
            MisbehaviourKind::BadSignature => "bad-signature",
            MisbehaviourKind::Rollback => "rollback",
            MisbehaviourKind::SplitView => "split-view",
            MisbehaviourKind::TileMismatch => "tile-mismatch",
            MisbehaviourKind::WitnessEquivocation => "witness-equivocation",
        }
    }
}

/// A checkpoint that failed, with where its evidence was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misbehaviour {
    /// What was wrong.
    pub kind: MisbehaviourKind,
    /// What was wrong, where, and what to do (names the evidence directory).
    pub message: String,
    /// The evidence directory (`STATE/evidence/<time>-<what>-<hash>`).
    pub evidence: PathBuf,
}

impl Misbehaviour {
    /// The library error for this misbehaviour (a verification failure, exit 1).
    pub fn to_error(&self) -> Error {
        Error::verification(self.message.clone())
    }
}

/// How a verified checkpoint relates to the one stored before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// The first checkpoint of this state directory (trusted on first use).
    First,
    /// The same size and root as the stored one.
    Unchanged,
    /// A larger tree, proved to extend the stored one.
    Grew {
        /// The stored size it extends.
        from: u64,
    },
    /// A smaller tree proved (from the server's tiles) to be a prefix of the stored one: an older
    /// checkpoint, served again. The stored one is kept.
    Behind {
        /// The stored (larger) size.
        stored: u64,
    },
}

/// A checkpoint the monitor verified and stored.
#[derive(Debug, Clone)]
pub struct Observed {
    /// The served checkpoint, with the cosignatures of the named witnesses that verified.
    pub checkpoint: VerifiedCheckpoint,
    /// How it relates to the one stored before.
    pub progress: Progress,
    /// Hash tiles fetched for this check.
    pub tiles: u64,
}

/// What a named witness was last seen cosigning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessSeen {
    /// The witness's cosigner key (type 0x04).
    pub witness: PublicKey,
    /// The tree size it cosigned.
    pub size: u64,
    /// The root it cosigned.
    pub root: Hash,
    /// The checkpoint note carrying its cosignature, as served.
    pub note: String,
}

/// The file form of the monitor's state.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    monitor_state: u32,
    origin: String,
    log_vkey: String,
    checkpoint: Option<String>,
    witnesses: Vec<WitnessFile>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WitnessFile {
    vkey: String,
    size: u64,
    root: String,
    checkpoint: String,
}

/// A monitor over its state directory (locked while this value lives).
#[derive(Debug)]
pub struct Monitor {
    dir: PathBuf,
    log_key: PublicKey,
    witnesses: Vec<PublicKey>,
    /// The last verified checkpoint (note text and parsed).
    stored: Option<(String, Checkpoint)>,
    seen: Vec<WitnessSeen>,
    _lock: File,
}

impl Monitor {
    /// Open (or create, 0700) the state directory `dir` for the log signed by `log_key` (type
    /// 0x01; its name is the origin), following the cosigner keys `witnesses` (type 0x04).
    /// Refused: a state directory of another log or log key, a damaged state file, a directory
    /// another monitor holds (exit 6), keys of the wrong type.
    pub fn open(dir: &Path, log_key: &PublicKey, witnesses: &[PublicKey]) -> Result<Monitor> {
        if log_key.algorithm() != ALGORITHM_ED25519 {
            return Err(Error::bad_input(format!(
                "{} is not a log key (type 0x01: the ledger's checkpoint vkey)",
                log_key.identity()
            )));
        }
        if let Some(key) = witnesses.iter().find(|key| key.algorithm() != ALGORITHM_COSIGNATURE_V1) {
            return Err(Error::bad_input(format!(
                "{} is not a witness's cosigner key (type 0x04: `lianlog key show --cosigner`)",
                key.identity()
            )));
        }
        fsio::create_private_dir(dir)?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = fsio::open_or_create_in_ledger(&lock_path)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::new(
                    ErrorKind::Locked,
                    format!(
                        "another monitor is using the state directory {}; run one monitor per state directory",
                        dir.display()
                    ),
                ));
            }
            Err(std::fs::TryLockError::Error(err)) => return Err(Error::io("lock", &lock_path, err)),
        }
        let mut monitor = Monitor {
            dir: dir.to_path_buf(),
            log_key: log_key.clone(),
            witnesses: witnesses.to_vec(),
            stored: None,
            seen: Vec::new(),
            _lock: lock,
        };
        monitor.load()?;
        Ok(monitor)
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The last verified checkpoint's size and root, if any.
    pub fn stored(&self) -> Option<(u64, Hash)> {
        self.stored.as_ref().map(|(_, checkpoint)| (checkpoint.size, checkpoint.root))
    }

    /// What each named witness was last seen cosigning.
    pub fn witnesses_seen(&self) -> &[WitnessSeen] {
        &self.seen
    }

    /// Fetch the source's checkpoint and check it (see the module docs): `Ok(Ok(observed))` when
    /// it verified (and is now stored), `Ok(Err(misbehaviour))` when it failed (its evidence
    /// already written; the state is unchanged), `Err` when the source could not be read or the
    /// state not written. `now` names the evidence directory.
    pub fn check(
        &mut self,
        source: &mut dyn TileSource,
        now: Timestamp,
    ) -> Result<std::result::Result<Observed, Misbehaviour>> {
        let note = source.checkpoint()?;
        let policy = CosignerPolicy { keys: &self.witnesses, quorum: 0 };
        let verified = match note::open_checkpoint(&note, &self.log_key, policy) {
            Ok(verified) => verified,
            Err(err) if matches!(err.kind(), ErrorKind::Verification | ErrorKind::BadInput) => {
                return self.misbehaved(
                    MisbehaviourKind::BadSignature,
                    format!("the served checkpoint does not verify: {}", err.message()),
                    None,
                    &note,
                    None,
                    now,
                );
            }
            Err(err) => return Err(err),
        };
        // A witness that equivocated is named first: its evidence also shows the log's two trees.
        if let Some(misbehaviour) = self.check_witnesses(&verified, &note, now)? {
            return Ok(Err(misbehaviour));
        }
        let new = verified.checkpoint.clone();
        let tiles = TileNodes::new(source, new.size);
        let outcome = self.judge(&note, &new, &tiles, now)?;
        let fetched = tiles.fetched();
        let progress = match outcome {
            Ok(progress) => progress,
            Err(misbehaviour) => return Ok(Err(misbehaviour)),
        };
        self.remember(&note, &verified, progress)?;
        Ok(Ok(Observed { checkpoint: verified, progress, tiles: fetched }))
    }

    /// Compare the signed checkpoint `new` with the stored one, reading the server's tiles.
    fn judge(
        &self,
        note: &str,
        new: &Checkpoint,
        tiles: &TileNodes<'_>,
        now: Timestamp,
    ) -> Result<std::result::Result<Progress, Misbehaviour>> {
        // The server's tiles must give the root it signs (checked first, so that a later
        // failure of the proof is the log's signed word against itself, not a bad tile).
        match tiles.root(new.size) {
            Ok(root) if root == new.root => {}
            Ok(root) => {
                let message = format!(
                    "the server's hash tiles for size {} give the root {}, but its checkpoint signs {}: the server \
                     serves tiles that are not those of its own signed tree (tampered, or damaged storage)",
                    new.size,
                    base64(&root),
                    base64(&new.root)
                );
                return self.misbehaved(MisbehaviourKind::TileMismatch, message, None, note, None, now);
            }
            Err(TileError::Bad(why)) => {
                let message = format!("the server's hash tiles for size {}: {why}", new.size);
                return self.misbehaved(MisbehaviourKind::TileMismatch, message, None, note, None, now);
            }
            Err(TileError::Fetch(err)) => return Err(err),
        }
        let Some((old_note, old)) = &self.stored else { return Ok(Ok(Progress::First)) };
        if new.size == old.size {
            if new.root == old.root {
                return Ok(Ok(Progress::Unchanged));
            }
            let message = format!(
                "{}: the log signed two different trees of one size, a split view",
                crate::proof::fork_message(new.size, &old.root, &new.root)
            );
            return self.misbehaved(MisbehaviourKind::SplitView, message, Some(old_note), note, None, now);
        }
        if new.size < old.size {
            // An older checkpoint served again is not misbehaviour if it is a prefix of the stored
            // tree; the server's tiles at the stored size (if it still has them) can show that.
            tiles.size.set(old.size);
            let shown = match (tiles.root(old.size), tiles.proof(new.size, old.size)) {
                (Ok(root), Ok(proof)) => {
                    root == old.root && merkle::verify_consistency(new.size, old.size, &new.root, &old.root, &proof)
                }
                (Err(TileError::Fetch(err)), _) | (_, Err(TileError::Fetch(err)))
                    if err.kind() != ErrorKind::BadInput && err.kind() != ErrorKind::Verification =>
                {
                    return Err(err);
                }
                _ => false,
            };
            tiles.size.set(new.size);
            if shown {
                return Ok(Ok(Progress::Behind { stored: old.size }));
            }
            let message = format!(
                "the server's checkpoint is of size {}, but this monitor verified size {} of the same log before, and \
                 the server does not show the smaller tree to be a prefix of the larger: the log was rolled back \
                 (an older copy served) or forked",
                new.size, old.size
            );
            return self.misbehaved(MisbehaviourKind::Rollback, message, Some(old_note), note, None, now);
        }
        let proof = match tiles.proof(old.size, new.size) {
            Ok(proof) => proof,
            Err(TileError::Bad(why)) => {
                let message = format!("the server's hash tiles for size {}: {why}", new.size);
                return self.misbehaved(MisbehaviourKind::TileMismatch, message, None, note, None, now);
            }
            Err(TileError::Fetch(err)) => return Err(err),
        };
        if merkle::verify_consistency(old.size, new.size, &old.root, &new.root, &proof) {
            return Ok(Ok(Progress::Grew { from: old.size }));
        }
        // Either the log forked, or a tile the proof came from is wrong. The tiles' own root of the
        // old size decides: if the proof verifies from it to the signed new root, the signed new
        // tree's first `old.size` leaves have that root — another than the signed old one.
        let prefix = match tiles.root(old.size) {
            Ok(prefix) => prefix,
            Err(TileError::Fetch(err)) => return Err(err),
            Err(TileError::Bad(why)) => {
                let message = format!("the server's hash tiles for size {}: {why}", new.size);
                return self.misbehaved(MisbehaviourKind::TileMismatch, message, None, note, None, now);
            }
        };
        if prefix != old.root && merkle::verify_consistency(old.size, new.size, &prefix, &new.root, &proof) {
            let message = format!(
                "the log's checkpoint of size {} does not extend the checkpoint of size {} this monitor verified \
                 before: the first {} leaves of the new tree have the root {}, the old checkpoint signs {}. The log \
                 signed two histories (a split view)",
                new.size,
                old.size,
                old.size,
                base64(&prefix),
                base64(&old.root)
            );
            let proof_text = evidence::ProofFile { old_size: old.size, new_size: new.size, prefix, proof };
            return self.misbehaved(MisbehaviourKind::SplitView, message, Some(old_note), note, Some(proof_text), now);
        }
        let message = format!(
            "the server's hash tiles do not give a consistency proof from size {} to {}, nor a tree whose prefix \
             explains it: tampered tiles",
            old.size, new.size
        );
        self.misbehaved(MisbehaviourKind::TileMismatch, message, None, note, None, now)
    }

    /// A named witness that cosigned `verified` at a size it was seen cosigning with another
    /// root before equivocated.
    fn check_witnesses(
        &self,
        verified: &VerifiedCheckpoint,
        note: &str,
        now: Timestamp,
    ) -> Result<Option<Misbehaviour>> {
        for cosignature in &verified.cosignatures {
            let Some(seen) = self.seen.iter().find(|seen| seen.witness == cosignature.cosigner) else { continue };
            if seen.size == verified.checkpoint.size && seen.root != verified.checkpoint.root {
                let message = format!(
                    "the witness {} (key id {}) cosigned two different roots for size {} of {}: {} and {}. A witness \
                     must never do that; its cosignatures no longer count",
                    seen.witness.name(),
                    crate::encoding::hex(&seen.witness.id()),
                    seen.size,
                    verified.checkpoint.origin,
                    base64(&seen.root),
                    base64(&verified.checkpoint.root)
                );
                let kind = MisbehaviourKind::WitnessEquivocation;
                let found = self.misbehaved::<()>(kind, message, Some(&seen.note), note, None, now)?;
                return Ok(found.err());
            }
        }
        Ok(None)
    }

    /// Write the evidence of a misbehaviour and return it.
    fn misbehaved<T>(
        &self,
        kind: MisbehaviourKind,
        message: String,
        old_note: Option<&String>,
        new_note: &str,
        proof: Option<evidence::ProofFile>,
        now: Timestamp,
    ) -> Result<std::result::Result<T, Misbehaviour>> {
        let dir = evidence::write(
            &self.dir,
            &evidence::Evidence { kind, message: &message, log_key: &self.log_key, old_note, new_note, proof },
            now,
        )?;
        let message = format!(
            "{message}. Evidence kept in {}: hand it to the upper-level commission (上级纪委监委); see its README.txt",
            dir.display()
        );
        Ok(Err(Misbehaviour { kind, message, evidence: dir }))
    }

    /// Store a verified checkpoint and the witnesses' cosignatures on it.
    fn remember(&mut self, note: &str, verified: &VerifiedCheckpoint, progress: Progress) -> Result<()> {
        if !matches!(progress, Progress::Behind { .. }) {
            self.stored = Some((note.to_string(), verified.checkpoint.clone()));
        }
        for cosignature in &verified.cosignatures {
            let seen = WitnessSeen {
                witness: cosignature.cosigner.clone(),
                size: verified.checkpoint.size,
                root: verified.checkpoint.root,
                note: note.to_string(),
            };
            match self.seen.iter_mut().find(|old| old.witness == seen.witness) {
                Some(old) if old.size <= seen.size => *old = seen,
                Some(_) => {}
                None => self.seen.push(seen),
            }
        }
        self.save()
    }

    /// Read the state file, if there is one, and check it is this log's.
    fn load(&mut self) -> Result<()> {
        let path = self.dir.join(STATE_FILE);
        let bytes = match fsio::read_small_in_ledger(&path, MAX_WITNESS_STATE_BYTES.saturating_mul(8)) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(Error::io("read", &path, err)),
        };
        let damaged = |why: String| {
            Error::verification(format!(
                "monitor state {} is damaged: {why}. Restore it from a backup; do not delete it (the monitor would \
                 forget what it verified)",
                path.display()
            ))
        };
        let file: StateFile =
            serde_json::from_slice(&bytes).map_err(|err| damaged(format!("not a monitor state file ({err})")))?;
        if file.monitor_state != STATE_VERSION {
            return Err(damaged(format!("state version {} is not {STATE_VERSION}", file.monitor_state)));
        }
        if file.origin != self.log_key.name().as_str() || file.log_vkey != self.log_key.vkey() {
            return Err(Error::bad_input(format!(
                "the monitor state {} follows the log {} ({}), not {}; use another --state directory for this log",
                self.dir.display(),
                file.origin,
                file.log_vkey,
                self.log_key.vkey()
            )));
        }
        if let Some(note) = file.checkpoint {
            let checkpoint = parse_checkpoint(&note).map_err(|err| damaged(format!("the checkpoint: {err}")))?;
            self.stored = Some((note, checkpoint));
        }
        for witness in file.witnesses {
            let key = PublicKey::parse_vkey(&witness.vkey).map_err(|err| damaged(format!("a witness key: {err}")))?;
            let root = parse_base64(&witness.root)
                .and_then(|bytes| Hash::try_from(bytes).ok())
                .ok_or_else(|| damaged("a witness's root is not a base64 SHA-256 hash".into()))?;
            self.seen.push(WitnessSeen { witness: key, size: witness.size, root, note: witness.checkpoint });
        }
        Ok(())
    }

    /// Write the state file (atomically), then the `checkpoint` copy.
    fn save(&self) -> Result<()> {
        let file = StateFile {
            monitor_state: STATE_VERSION,
            origin: self.log_key.name().as_str().to_string(),
            log_vkey: self.log_key.vkey(),
            checkpoint: self.stored.as_ref().map(|(note, _)| note.clone()),
            witnesses: self
                .seen
                .iter()
                .map(|seen| WitnessFile {
                    vkey: seen.witness.vkey(),
                    size: seen.size,
                    root: base64(&seen.root),
                    checkpoint: seen.note.clone(),
                })
                .collect(),
        };
        let mut bytes = serde_json::to_vec_pretty(&file)
            .map_err(|err| Error::new(ErrorKind::Io, format!("cannot encode the monitor state: {err}")))?;
        bytes.push(b'\n');
        fsio::publish_bytes(&self.dir.join(STATE_FILE), true, &bytes)?;
        if let Some((note, _)) = &self.stored {
            fsio::publish_bytes(&self.dir.join(CHECKPOINT_FILE), true, note.as_bytes())?;
        }
        Ok(())
    }
}

/// The checkpoint a note carries (no signature check: stored notes were checked when stored).
fn parse_checkpoint(note: &str) -> Result<Checkpoint> {
    let parsed = Note::parse(note)?;
    Checkpoint::parse_text(&parsed.text)
}

#[cfg(test)]
mod tests {
    //! The monitor over an in-memory log (a tree of made-up leaves, its tiles from
    //! [`crate::tiles::hash_tile`], checkpoints signed by a real key): growth, forks, rollbacks,
    //! tampered tiles, bad signatures and an equivocating witness, each with its evidence.

    use std::collections::HashMap;

    use super::*;
    use crate::keys::{KeyName, SecretKey};
    use crate::merkle::CompactRange;
    use crate::merkle::NodeStore;
    use crate::tiles::Tile;

    /// The nodes of a tree, as the ledger stores them.
    #[derive(Default, Clone)]
    struct Nodes(HashMap<(u8, u64), Hash>);

    impl NodeStore for Nodes {
        type Error = Error;
        fn node(&self, level: u8, index: u64) -> Result<Hash> {
            self.0.get(&(level, index)).copied().ok_or_else(|| Error::bad_input("no such node (404)"))
        }
    }

    /// A log: its leaves (leaf `i` is `fork_at..` made different by `branch`), and a server of it.
    struct Log {
        nodes: Nodes,
        range: CompactRange,
    }

    impl Log {
        fn new(size: u64, branch: u8, fork_at: u64) -> Log {
            let mut log = Log { nodes: Nodes::default(), range: CompactRange::new() };
            log.grow(size, branch, fork_at);
            log
        }

        fn grow(&mut self, to: u64, branch: u8, fork_at: u64) {
            for leaf in self.range.size()..to {
                let mut data = leaf.to_be_bytes().to_vec();
                if leaf >= fork_at {
                    data.push(branch);
                }
                for (id, hash) in self.range.push(merkle::leaf_hash(&data)).unwrap() {
                    self.nodes.0.insert(id, hash);
                }
            }
        }

        fn checkpoint(&self, key: &SecretKey, size: u64) -> String {
            let root = merkle::root(size, &self.nodes).unwrap();
            let checkpoint = Checkpoint { origin: key.public().name().as_str().to_string(), size, root };
            note::sign_checkpoint(&checkpoint, key).unwrap()
        }
    }

    /// Serves `note` and the tiles of `nodes` (at most `size` leaves exist), maybe with one
    /// byte of one tile flipped.
    struct Server {
        note: String,
        nodes: Nodes,
        size: u64,
        tamper: Option<Tile>,
        fetched: Vec<Tile>,
    }

    impl TileSource for Server {
        fn checkpoint(&mut self) -> Result<String> {
            Ok(self.note.clone())
        }
        fn fetch(&mut self, tile: &Tile) -> Result<Vec<u8>> {
            self.fetched.push(*tile);
            let mut bytes = crate::tiles::hash_tile(&self.nodes, self.size, tile)?
                .ok_or_else(|| Error::bad_input(format!("{} not found (404)", tile.path())))?;
            if self.tamper == Some(*tile) {
                bytes[0] ^= 1;
            }
            Ok(bytes)
        }
    }

    fn serve(log: &Log, note: String) -> Server {
        Server { note, nodes: log.nodes.clone(), size: log.range.size(), tamper: None, fetched: Vec::new() }
    }

    fn log_key() -> SecretKey {
        SecretKey::from_seed(KeyName::parse("jw.example/ledger").unwrap(), &[7; 32])
    }

    fn now() -> Timestamp {
        Timestamp::from_millis(1_796_000_000_000)
    }

    fn check(monitor: &mut Monitor, server: &mut Server) -> std::result::Result<Observed, Misbehaviour> {
        monitor.check(server, now()).unwrap()
    }

    fn evidence_files(found: &Misbehaviour) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&found.evidence)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn follows_a_growing_log_from_tiles_only_and_keeps_its_state() {
        let temp = tempfile::tempdir().unwrap();
        let key = log_key();
        let mut log = Log::new(300, 0, u64::MAX);
        let mut monitor = Monitor::open(temp.path(), key.public(), &[]).unwrap();
        let first = check(&mut monitor, &mut serve(&log, log.checkpoint(&key, 300))).unwrap();
        assert_eq!(first.progress, Progress::First);
        let same = check(&mut monitor, &mut serve(&log, log.checkpoint(&key, 300))).unwrap();
        assert_eq!(same.progress, Progress::Unchanged);
        for size in [301, 555, 70_000] {
            log.grow(size, 0, u64::MAX);
            let mut server = serve(&log, log.checkpoint(&key, size));
            let grew = check(&mut monitor, &mut server).unwrap();
            assert!(matches!(grew.progress, Progress::Grew { .. }), "{size}");
            // Only hash tiles, and few of them (a proof is O(log n) nodes).
            assert!(server.fetched.iter().all(|tile| matches!(tile.kind, crate::tiles::TileKind::Hash(_))));
            assert!(server.fetched.len() <= 12, "{} tiles", server.fetched.len());
        }
        drop(monitor);
        // A second monitor on the same state continues from there, and the copy is the note.
        let monitor = Monitor::open(temp.path(), key.public(), &[]).unwrap();
        assert_eq!(monitor.stored().unwrap().0, 70_000);
        let copy = std::fs::read_to_string(temp.path().join(CHECKPOINT_FILE)).unwrap();
        assert_eq!(copy, log.checkpoint(&key, 70_000));
        // One monitor per state directory.
        let locked = Monitor::open(temp.path(), key.public(), &[]).unwrap_err();
        assert_eq!(locked.kind(), ErrorKind::Locked);
        drop(monitor);
        // Another log's key is refused on this state.
        let other = SecretKey::from_seed(KeyName::parse("other.example/log").unwrap(), &[8; 32]);
        assert_eq!(Monitor::open(temp.path(), other.public(), &[]).unwrap_err().kind(), ErrorKind::BadInput);
    }

    #[test]
    fn a_fork_is_a_split_view_with_both_checkpoints_and_the_tiles_proof() {
        let temp = tempfile::tempdir().unwrap();
        let key = log_key();
        let honest = Log::new(10, 0, 9);
        let forked = Log::new(12, 1, 9);
        let mut monitor = Monitor::open(temp.path(), key.public(), &[]).unwrap();
        let old = honest.checkpoint(&key, 10);
        check(&mut monitor, &mut serve(&honest, old.clone())).unwrap();
        let new = forked.checkpoint(&key, 12);
        let found = check(&mut monitor, &mut serve(&forked, new.clone())).unwrap_err();
        assert_eq!(found.kind, MisbehaviourKind::SplitView, "{}", found.message);
        assert!(found.message.contains("split view") && found.message.contains("上级纪委监委"), "{}", found.message);
        assert_eq!(evidence_files(&found), ["README.txt", "new.checkpoint", "old.checkpoint", "proof.txt"]);
        assert_eq!(std::fs::read_to_string(found.evidence.join("old.checkpoint")).unwrap(), old);
        assert_eq!(std::fs::read_to_string(found.evidence.join("new.checkpoint")).unwrap(), new);
        let readme = std::fs::read_to_string(found.evidence.join("README.txt")).unwrap();
        assert!(readme.contains("SPLIT VIEW") && readme.contains("上级纪委监委"), "{readme}");
        // The proof verifies from the forked prefix, never from the signed old root.
        let proof =
            crate::proof::parse_consistency_text(&std::fs::read_to_string(found.evidence.join("proof.txt")).unwrap())
                .unwrap();
        let prefix = merkle::root(10, &forked.nodes).unwrap();
        let new_root = merkle::root(12, &forked.nodes).unwrap();
        assert!(merkle::verify_consistency(10, 12, &prefix, &new_root, &proof));
        assert!(!merkle::verify_consistency(10, 12, &merkle::root(10, &honest.nodes).unwrap(), &new_root, &proof));
        // The state still holds the honest checkpoint; seeing the fork again keeps one copy.
        assert_eq!(monitor.stored().unwrap(), (10, merkle::root(10, &honest.nodes).unwrap()));
        let again = check(&mut monitor, &mut serve(&forked, new)).unwrap_err();
        assert_eq!(again.evidence, found.evidence);
        assert_eq!(std::fs::read_dir(temp.path().join(EVIDENCE_DIR)).unwrap().count(), 1);
        // Same size, another root: a split view too.
        let same_size = check(&mut monitor, &mut serve(&forked, forked.checkpoint(&key, 10))).unwrap_err();
        assert_eq!(same_size.kind, MisbehaviourKind::SplitView);
        assert_eq!(evidence_files(&same_size), ["README.txt", "new.checkpoint", "old.checkpoint"]);
    }

    #[test]
    fn a_rolled_back_server_is_caught_and_an_old_checkpoint_of_the_same_tree_is_not() {
        let temp = tempfile::tempdir().unwrap();
        let key = log_key();
        let log = Log::new(600, 0, u64::MAX);
        let mut monitor = Monitor::open(temp.path(), key.public(), &[]).unwrap();
        check(&mut monitor, &mut serve(&log, log.checkpoint(&key, 600))).unwrap();
        // The same server serving an older checkpoint of its tree: a prefix, shown by its tiles.
        let behind = check(&mut monitor, &mut serve(&log, log.checkpoint(&key, 300))).unwrap();
        assert_eq!(behind.progress, Progress::Behind { stored: 600 });
        assert_eq!(monitor.stored().unwrap().0, 600);
        // An older copy of the ledger (only 300 leaves): a rollback.
        let old_copy = Log::new(300, 0, u64::MAX);
        let found = check(&mut monitor, &mut serve(&old_copy, old_copy.checkpoint(&key, 300))).unwrap_err();
        assert_eq!(found.kind, MisbehaviourKind::Rollback, "{}", found.message);
        assert_eq!(evidence_files(&found), ["README.txt", "new.checkpoint", "old.checkpoint"]);
        assert_eq!(monitor.stored().unwrap().0, 600);
    }

    #[test]
    fn tampered_tiles_and_bad_signatures_are_caught() {
        let temp = tempfile::tempdir().unwrap();
        let key = log_key();
        let mut log = Log::new(40, 0, u64::MAX);
        let mut monitor = Monitor::open(temp.path(), key.public(), &[]).unwrap();
        // Tampered on the first look already.
        let mut server = serve(&log, log.checkpoint(&key, 40));
        server.tamper = Some(Tile::hash(0, 0, 40).unwrap());
        let found = check(&mut monitor, &mut server).unwrap_err();
        assert_eq!(found.kind, MisbehaviourKind::TileMismatch, "{}", found.message);
        assert!(monitor.stored().is_none());
        check(&mut monitor, &mut serve(&log, log.checkpoint(&key, 40))).unwrap();
        // Tampered later: the proof's tile is wrong.
        log.grow(1000, 0, u64::MAX);
        let mut server = serve(&log, log.checkpoint(&key, 1000));
        server.tamper = Some(Tile::hash(0, 0, 256).unwrap());
        let found = check(&mut monitor, &mut server).unwrap_err();
        assert_eq!(found.kind, MisbehaviourKind::TileMismatch, "{}", found.message);
        assert_eq!(monitor.stored().unwrap().0, 40);
        // Signed by another key, or not signed at all.
        let thief = SecretKey::from_seed(KeyName::parse("jw.example/ledger").unwrap(), &[9; 32]);
        let found = check(&mut monitor, &mut serve(&log, log.checkpoint(&thief, 1000))).unwrap_err();
        assert_eq!(found.kind, MisbehaviourKind::BadSignature, "{}", found.message);
        let found = check(&mut monitor, &mut serve(&log, "not a checkpoint".into())).unwrap_err();
        assert_eq!(found.kind, MisbehaviourKind::BadSignature);
        assert_eq!(evidence_files(&found), ["README.txt", "new.checkpoint"]);
        assert_eq!(monitor.stored().unwrap().0, 40);
    }

    #[test]
    fn a_witness_cosigning_two_roots_for_one_size_is_named() {
        let temp = tempfile::tempdir().unwrap();
        let key = log_key();
        let witness = SecretKey::from_seed(KeyName::parse("audit.example").unwrap(), &[3; 32]).as_cosigner();
        let honest = Log::new(10, 0, 5);
        let forked = Log::new(10, 1, 5);
        let mut monitor = Monitor::open(temp.path(), key.public(), std::slice::from_ref(witness.public())).unwrap();
        let first = note::cosign(&honest.checkpoint(&key, 10), &witness, 1_796_000_000).unwrap();
        let observed = check(&mut monitor, &mut serve(&honest, first)).unwrap();
        assert_eq!(observed.checkpoint.cosignatures.len(), 1);
        assert_eq!(monitor.witnesses_seen()[0].size, 10);
        let second = note::cosign(&forked.checkpoint(&key, 10), &witness, 1_796_000_100).unwrap();
        let found = check(&mut monitor, &mut serve(&forked, second)).unwrap_err();
        assert_eq!(found.kind, MisbehaviourKind::WitnessEquivocation, "{}", found.message);
        assert!(found.message.contains("audit.example"), "{}", found.message);
        // A cosigner key of the wrong type is refused.
        drop(monitor);
        let err = Monitor::open(temp.path(), key.public(), std::slice::from_ref(key.public())).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BadInput);
    }
}
