//! The witness (见证方): C2SP [tlog-witness] `add-checkpoint` as pure logic over a durable state
//! directory, for `lianlog witness serve` (over HTTP, `lianlog-server`) and the offline
//! `lianlog checkpoint cosign` alike.
//!
//! [tlog-witness]: https://c2sp.org/tlog-witness
//!
//! # Guarantees
//!
//! - **One rule, every answer.** [`Witness::add_checkpoint`] parses the request strictly and
//!   within [`MAX_WITNESS_REQUEST_BYTES`](crate::limits::MAX_WITNESS_REQUEST_BYTES) ([`AddRequest::parse`]), and answers with an [`Answer`] for each
//!   case of the spec, checked in the spec's order: 404 unknown origin, 403 no valid signature by
//!   a trusted log key (or a bad one by a trusted key), 400 old size above the checkpoint's, 409
//!   old size not the last cosigned one (with that size), 422 a size-0 checkpoint without the
//!   empty root, a proof with old size 0, a proof that fails, or the same size with another root;
//!   otherwise 200 with one cosignature line per witness key (C2SP tlog-cosignature v1, made by
//!   [`note::cosign`]). Signature checks are [`Note::verify`], proofs
//!   [`merkle::verify_consistency`]: this module adds the witness's memory, not a second copy.
//! - **Durable before it answers.** The new state of the origin is written with
//!   [`fsio::publish`] (temporary file, fsync, rename, directory fsync) *before* a cosignature
//!   is returned; if that write fails, no cosignature leaves this module. A crash at any moment
//!   leaves the old state or the new one.
//! - **Never two roots for one size, never backwards.** Check and write happen under an exclusive
//!   `flock` on `STATE/lock`, taken for each operation, so concurrent requests (threads or
//!   processes: `serve`, offline `cosign`, `add-log`) are serialised and none can roll back
//!   another. Removing a log keeps what was cosigned for it, so adding it again continues from
//!   there.
//! - **Fails closed.** A state file that cannot be read or does not check (its origin, its
//!   cosigned note) is an error: nothing is cosigned until an operator repairs it.
//!
//! # State directory
//!
//! ```text
//! witness.json             {"witness_state":1}: marks the directory as a witness's
//! lock                     flock'd for the length of each operation
//! logs/<sha256(origin)>.json
//!     {"origin":…, "vkeys":[log vkeys…], "cosigned":{"size":…, "root":base64, "checkpoint":note}}
//! evidence/<origin hash>-<size>-<note hash>.note
//!     a checkpoint refused because the log signed another root for a size already cosigned
//! ```
//!
//! `checkpoint` is the last cosigned checkpoint with the log signatures that verified and this
//! witness's cosignatures: what tlog-witness's monitoring endpoint serves, and evidence should
//! the log ever show another root for that size. Files are 0600, directories 0700, and no file
//! is followed through a symbolic link ([`fsio`]).

use std::fs::File;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::encoding::{base64, hex, parse_base64};
use crate::error::{Error, ErrorKind, Result};
use crate::fsio;
use crate::keys::{ALGORITHM_ED25519, PublicKey, SecretKey};
use crate::limits::{MAX_WITNESS_REQUEST_BYTES, MAX_WITNESS_STATE_BYTES};
use crate::merkle::{self, Hash};
use crate::note::{self, Checkpoint, Note};
use crate::proof::parse_decimal;

/// The most consistency-proof lines a request may carry (tlog-witness: "MUST NOT send more than 63").
pub const MAX_PROOF_LINES: usize = 63;

/// `Content-Type` of a 409 answer (tlog-witness).
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// `Content-Type` of every other answer.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; charset=utf-8";

const MARKER_FILE: &str = "witness.json";
const MARKER: &str = "{\"witness_state\":1}\n";
const LOCK_FILE: &str = "lock";
const LOGS_DIR: &str = "logs";
const EVIDENCE_DIR: &str = "evidence";

/// A parsed `add-checkpoint` request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddRequest {
    /// The size of the checkpoint the client believes the witness last cosigned.
    pub old: u64,
    /// Consistency proof from `old` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, as sent.
    pub note: String,
}

impl AddRequest {
    /// Parse a request body: `old <N>\n`, 0–63 lines of base64 hashes, an empty line, the signed
    /// note. One spelling only (decimal without leading zeros, canonical padded base64); the error
    /// (an HTTP 400) says what is wrong and where.
    pub fn parse(body: &[u8]) -> std::result::Result<AddRequest, String> {
        if body.len() > MAX_WITNESS_REQUEST_BYTES {
            return Err(format!(
                "the request is {} bytes, more than the {MAX_WITNESS_REQUEST_BYTES} accepted",
                body.len()
            ));
        }
        let text = std::str::from_utf8(body).map_err(|_| "the request is not UTF-8 text".to_string())?;
        let (first, mut rest) = text
            .split_once('\n')
            .ok_or_else(|| "the request has no `old <size>` line ending in a newline".to_string())?;
        let old = first
            .strip_prefix("old ")
            .and_then(parse_decimal)
            .ok_or_else(|| format!("the first line must be `old <size>` (decimal, no leading zeros), not {first:?}"))?;
        let mut proof = Vec::new();
        loop {
            let (line, after) = rest
                .split_once('\n')
                .ok_or_else(|| "the request has no empty line before the checkpoint".to_string())?;
            rest = after;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(format!("more than {MAX_PROOF_LINES} consistency proof lines"));
            }
            let hash = parse_base64(line)
                .and_then(|bytes| Hash::try_from(bytes).ok())
                .ok_or_else(|| format!("proof line {} is not a base64 SHA-256 hash", proof.len() + 1))?;
            proof.push(hash);
        }
        Ok(AddRequest { old, proof, note: rest.to_string() })
    }

    /// The request body, as a client sends it.
    pub fn to_text(&self) -> String {
        let mut out = format!("old {}\n", self.old);
        out.push_str(&crate::proof::consistency_to_text(&self.proof));
        out.push('\n');
        out.push_str(&self.note);
        out
    }
}

/// The witness's answer to an `add-checkpoint` request, one variant per answer of tlog-witness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// 200: the checkpoint was recorded durably and cosigned.
    Cosigned {
        checkpoint: Checkpoint,
        /// One signature line per witness key, each without its final newline.
        lines: Vec<String>,
    },
    /// 400: the request is malformed, or its old size is larger than the checkpoint's.
    BadRequest(String),
    /// 403: no valid signature by a trusted key of the origin, or a bad one by a trusted key.
    Forbidden(String),
    /// 404: this witness does not witness the checkpoint's origin.
    UnknownOrigin(String),
    /// 409: the old size is not the size this witness last cosigned (which is given).
    Conflict { size: u64 },
    /// 422: the checkpoint is not consistent with what this witness cosigned before (or a
    /// size-0 checkpoint without the empty root, or a proof with old size 0).
    Unprocessable(String),
}

impl Answer {
    /// The HTTP status code of this answer.
    pub fn status(&self) -> u16 {
        match self {
            Answer::Cosigned { .. } => 200,
            Answer::BadRequest(_) => 400,
            Answer::Forbidden(_) => 403,
            Answer::UnknownOrigin(_) => 404,
            Answer::Conflict { .. } => 409,
            Answer::Unprocessable(_) => 422,
        }
    }

    /// The `Content-Type` of the body.
    pub fn content_type(&self) -> &'static str {
        match self {
            Answer::Conflict { .. } => SIZE_CONTENT_TYPE,
            _ => TEXT_CONTENT_TYPE,
        }
    }

    /// The response body: the cosignature lines (200), `<size>\n` (409), or the reason (others).
    pub fn body(&self) -> String {
        match self {
            Answer::Cosigned { lines, .. } => lines.iter().map(|line| format!("{line}\n")).collect(),
            Answer::Conflict { size } => format!("{size}\n"),
            Answer::BadRequest(why)
            | Answer::Forbidden(why)
            | Answer::UnknownOrigin(why)
            | Answer::Unprocessable(why) => {
                format!("{why}\n")
            }
        }
    }
}

/// What this witness cosigned last for one log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosignedState {
    pub size: u64,
    pub root: Hash,
    /// The checkpoint note: its text, the log signatures that verified, this witness's
    /// cosignatures.
    pub note: String,
}

/// One log this witness knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogState {
    pub origin: String,
    /// The log's keys (type 0x01). Empty once the log was removed: the origin is then unknown
    /// (404), but what was cosigned is kept.
    pub vkeys: Vec<PublicKey>,
    pub cosigned: Option<CosignedState>,
}

/// The file form of a [`LogState`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogFile {
    origin: String,
    vkeys: Vec<String>,
    cosigned: Option<CosignedFile>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CosignedFile {
    size: u64,
    root: String,
    checkpoint: String,
}

/// A witness: its state directory. Every operation takes the directory's lock for its length.
#[derive(Debug, Clone)]
pub struct Witness {
    dir: PathBuf,
}

impl Witness {
    /// Open the state directory `dir`, which must have been created by [`Witness::create`] (so
    /// that a mistyped path is an error, not a fresh witness with no memory).
    pub fn open(dir: &Path) -> Result<Witness> {
        let marker = dir.join(MARKER_FILE);
        match fsio::read_small_in_ledger(&marker, 1024) {
            Ok(bytes) if bytes == MARKER.as_bytes() => Ok(Witness { dir: dir.to_path_buf() }),
            Ok(_) => Err(Error::bad_input(format!(
                "{} is not a witness state file this lianlog understands; is {} a witness state directory?",
                marker.display(),
                dir.display()
            ))),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Err(Error::bad_input(format!(
                "{} is not a witness state directory (it has no {MARKER_FILE}); create one with \
                 `lianlog witness add-log --state {0}`",
                dir.display()
            ))),
            Err(err) => Err(Error::io("read", &marker, err)),
        }
    }

    /// Open the state directory `dir`, creating it (0700) if it does not exist yet.
    pub fn create(dir: &Path) -> Result<Witness> {
        if !dir.join(MARKER_FILE).exists() {
            fsio::create_private_dir(dir)?;
            // Empty, or holding only the `logs/` an interrupted create made.
            let mut entries = std::fs::read_dir(dir).map_err(|err| Error::io("read", dir, err))?;
            if entries.any(|entry| entry.map_or(true, |entry| entry.file_name() != LOGS_DIR))
                || std::fs::read_dir(dir.join(LOGS_DIR)).is_ok_and(|mut logs| logs.next().is_some())
            {
                return Err(Error::bad_input(format!(
                    "{} is not empty and not a witness state directory; choose a new directory for --state",
                    dir.display()
                )));
            }
            fsio::create_private_dir(&dir.join(LOGS_DIR))?;
            fsio::publish_bytes(&dir.join(MARKER_FILE), false, MARKER.as_bytes())?;
        }
        Witness::open(dir)
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Witness the log `origin` signed by `vkey` (a type 0x01 key): a new origin starts with
    /// nothing cosigned; for a known one (also one removed before) the key is added to its keys
    /// and what was cosigned is kept. Returns whether the key was new.
    pub fn add_log(&self, origin: &str, vkey: &PublicKey) -> Result<bool> {
        check_log_key(origin, vkey)?;
        let _lock = self.lock()?;
        let mut state = self.load(origin)?.unwrap_or_else(|| LogState {
            origin: origin.to_string(),
            vkeys: Vec::new(),
            cosigned: None,
        });
        if state.vkeys.contains(vkey) {
            return Ok(false);
        }
        state.vkeys.push(vkey.clone());
        self.save(&state)?;
        Ok(true)
    }

    /// Stop witnessing `origin` (it becomes unknown: 404), keeping what was cosigned so that the
    /// witness never goes back should the log be added again. Errors if the origin is not known.
    pub fn remove_log(&self, origin: &str) -> Result<()> {
        let _lock = self.lock()?;
        let Some(mut state) = self.load(origin)?.filter(|state| !state.vkeys.is_empty()) else {
            return Err(Error::bad_input(format!(
                "this witness does not witness {origin:?}; see `lianlog witness list`"
            )));
        };
        state.vkeys.clear();
        self.save(&state)
    }

    /// Every log in the state directory (removed ones too, with no keys), by origin.
    pub fn logs(&self) -> Result<Vec<LogState>> {
        let _lock = self.lock()?;
        let logs = self.dir.join(LOGS_DIR);
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&logs).map_err(|err| Error::io("read", &logs, err))? {
            let entry = entry.map_err(|err| Error::io("read", &logs, err))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            // Temporary files of an interrupted write start with a dot; they were never the state.
            if name.starts_with('.') || !name.ends_with(".json") {
                continue;
            }
            out.push(self.load_file(&entry.path(), None)?);
        }
        out.sort_by(|a, b| a.origin.cmp(&b.origin));
        Ok(out)
    }

    /// The state of one log, if this directory has it.
    pub fn log(&self, origin: &str) -> Result<Option<LogState>> {
        let _lock = self.lock()?;
        self.load(origin)
    }

    /// Answer a tlog-witness `add-checkpoint` request body, cosigning with `cosigners` (type 0x04
    /// keys, [`SecretKey::as_cosigner`]) at `now` (seconds since the epoch; 0 is taken as 1, the
    /// spec forbids a zero timestamp). An `Err` is this witness's own failure (its state could not
    /// be read or written: HTTP 500), never a refusal of the request.
    pub fn add_checkpoint(&self, body: &[u8], cosigners: &[SecretKey], now: u64) -> Result<Answer> {
        match AddRequest::parse(body) {
            Ok(request) => self.add_request(&request, cosigners, now),
            Err(why) => Ok(Answer::BadRequest(why)),
        }
    }

    /// [`Witness::add_checkpoint`] of a parsed request.
    pub fn add_request(&self, request: &AddRequest, cosigners: &[SecretKey], now: u64) -> Result<Answer> {
        check_cosigners(cosigners)?;
        let note = match Note::parse(&request.note) {
            Ok(note) => note,
            Err(err) => return Ok(Answer::BadRequest(format!("the checkpoint: {err}"))),
        };
        let checkpoint = match Checkpoint::parse_text(&note.text) {
            Ok(checkpoint) => checkpoint,
            Err(err) => return Ok(Answer::BadRequest(format!("the checkpoint: {err}"))),
        };
        // From here on the check and the write are one step for every other request.
        let _lock = self.lock()?;
        let state = match self.load(&checkpoint.origin)? {
            Some(state) if !state.vkeys.is_empty() => state,
            _ => return Ok(Answer::UnknownOrigin(format!("unknown log origin {:?}", checkpoint.origin))),
        };
        let log_lines = match decide(request, &note, &checkpoint, &state) {
            Ok(lines) => lines,
            Err(Refused { answer: Answer::Unprocessable(why), split_view: true }) => {
                // Two log-signed trees of one size: keep the one refused beside the one cosigned.
                let why = match self.keep_evidence(&checkpoint, &request.note) {
                    Ok(path) => format!("{why} ({})", path.display()),
                    Err(err) => format!("{why} (but it could not be kept: {err})"),
                };
                return Ok(Answer::Unprocessable(why));
            }
            Err(refused) => return Ok(refused.answer),
        };
        // Keep the text and the log signatures that verified; add ours.
        let mut kept = Note { text: note.text.clone(), signatures: log_lines }.to_string();
        let timestamp = now.max(1);
        for cosigner in cosigners {
            kept = note::cosign(&kept, cosigner, timestamp)?;
        }
        let cosigned_note = Note::parse(&kept)?;
        let first = cosigned_note.signatures.len().saturating_sub(cosigners.len());
        let lines = cosigned_note.signatures[first..].iter().map(ToString::to_string).collect();
        let new_state = LogState {
            cosigned: Some(CosignedState { size: checkpoint.size, root: checkpoint.root, note: kept }),
            ..state
        };
        // Durable before anyone sees the cosignature.
        self.save(&new_state)?;
        Ok(Answer::Cosigned { checkpoint, lines })
    }

    /// Cosign a checkpoint offline (`lianlog checkpoint cosign`): the same rule as
    /// [`Witness::add_request`], with the old size taken from the state (so no 409) and the log's
    /// key `log_key` added for the origin if the state does not know it yet. A refusal is an
    /// error (verification for 403/422, bad input for 400); on success the note with this
    /// witness's cosignatures is returned.
    pub fn cosign_offline(
        &self,
        note_text: &str,
        log_key: &PublicKey,
        proof: &[Hash],
        cosigners: &[SecretKey],
        now: u64,
    ) -> Result<String> {
        let note = Note::parse(note_text)?;
        let checkpoint = Checkpoint::parse_text(&note.text)?;
        check_log_key(&checkpoint.origin, log_key)?;
        // The log's signature first (a key is trusted on first use only if it signed this), so
        // that a forged checkpoint is called forged, whatever else is wrong with it.
        note.verify(std::slice::from_ref(log_key)).map_err(|err| err.at("refusing to cosign"))?;
        let known = self.log(&checkpoint.origin)?;
        let known_keys = known.as_ref().map(|state| state.vkeys.as_slice()).unwrap_or_default();
        if !known_keys.is_empty() && !known_keys.contains(log_key) {
            return Err(Error::bad_input(format!(
                "the witness state {} trusts other keys for {} ({}); to trust {} too, run `lianlog witness \
                 add-log --origin {} --vkey {}` first",
                self.dir.display(),
                checkpoint.origin,
                known_keys.iter().map(PublicKey::identity).collect::<Vec<_>>().join(", "),
                log_key.identity(),
                checkpoint.origin,
                log_key.vkey()
            )));
        }
        if known_keys.is_empty() {
            self.add_log(&checkpoint.origin, log_key)?;
        }
        let old = known.and_then(|state| state.cosigned).map_or(0, |cosigned| cosigned.size);
        if checkpoint.size < old {
            return Err(Error::verification(format!(
                "refusing to cosign: this witness already cosigned size {old} of {}, and never cosigns a \
                 smaller one (size {})",
                checkpoint.origin, checkpoint.size
            )));
        }
        if proof.is_empty() && old != 0 && old < checkpoint.size {
            return Err(Error::bad_input(format!(
                "this witness last cosigned size {old} of {}; cosigning size {} needs the consistency proof \
                 from {old} to {}: make it with `lianlog prove consistency {old} {}` on the ledger and give it \
                 with --proof",
                checkpoint.origin, checkpoint.size, checkpoint.size, checkpoint.size
            )));
        }
        let request = AddRequest { old, proof: proof.to_vec(), note: note_text.to_string() };
        match self.add_request(&request, cosigners, now)? {
            Answer::Cosigned { lines, .. } => {
                let mut out = note_text.to_string();
                for line in lines {
                    out = note::add_signature(&out, &line)?;
                }
                Ok(out)
            }
            Answer::BadRequest(why) => Err(Error::bad_input(why)),
            // The state changed between reading it and cosigning (another process cosigned).
            Answer::Conflict { size } => Err(Error::bad_input(format!(
                "this witness cosigned size {size} of {} meanwhile; run the command again",
                checkpoint.origin
            ))),
            Answer::Forbidden(why) | Answer::UnknownOrigin(why) | Answer::Unprocessable(why) => {
                Err(Error::verification(format!("refusing to cosign: {why}")))
            }
        }
    }

    /// The last cosigned checkpoint (with the log's and this witness's signatures) of the origin
    /// whose SHA-256 is `origin_hash` (lowercase hex): tlog-witness's monitoring endpoint.
    pub fn latest_by_origin_hash(&self, origin_hash: &str) -> Result<Option<String>> {
        if origin_hash.len() != 64 || !origin_hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Ok(None);
        }
        let _lock = self.lock()?;
        let path = self.dir.join(LOGS_DIR).join(format!("{origin_hash}.json"));
        if std::fs::symlink_metadata(&path).is_err() {
            return Ok(None);
        }
        let state = self.load_file(&path, None)?;
        Ok(state.cosigned.map(|cosigned| cosigned.note))
    }

    /// Keep a refused, log-signed checkpoint as evidence: `evidence/<origin hash>-<size>-<note
    /// hash>.note`, written once (the same note sent again is the same file).
    fn keep_evidence(&self, checkpoint: &Checkpoint, note: &str) -> Result<PathBuf> {
        let dir = self.dir.join(EVIDENCE_DIR);
        fsio::create_private_dir(&dir)?;
        let name = format!(
            "{}-{}-{}.note",
            &origin_hash(&checkpoint.origin)[..16],
            checkpoint.size,
            &hex(&Sha256::digest(note.as_bytes()))[..16]
        );
        let path = dir.join(name);
        if std::fs::symlink_metadata(&path).is_err() {
            fsio::publish_bytes(&path, false, note.as_bytes())?;
        }
        Ok(path)
    }

    /// Take the state directory's lock (blocking until the operation holding it ends).
    fn lock(&self) -> Result<File> {
        let path = self.dir.join(LOCK_FILE);
        let file = fsio::open_or_create_in_ledger(&path)?;
        file.lock().map_err(|err| Error::io("lock", &path, err))?;
        Ok(file)
    }

    fn path_of(&self, origin: &str) -> PathBuf {
        self.dir.join(LOGS_DIR).join(format!("{}.json", origin_hash(origin)))
    }

    /// The state of `origin`, if its file exists (the caller holds the lock).
    fn load(&self, origin: &str) -> Result<Option<LogState>> {
        let path = self.path_of(origin);
        match std::fs::symlink_metadata(&path) {
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(Error::io("inspect", &path, err)),
            Ok(_) => self.load_file(&path, Some(origin)).map(Some),
        }
    }

    /// Read and check one state file: it must name the origin its file name hashes, its keys
    /// must parse, and its cosigned note must be a checkpoint of that origin, size and root.
    fn load_file(&self, path: &Path, origin: Option<&str>) -> Result<LogState> {
        let damaged = |why: String| {
            Error::verification(format!(
                "witness state {} is damaged: {why}. Nothing is cosigned for this log until it is repaired: \
                 restore the file from a backup (do not delete it: the witness would forget what it cosigned)",
                path.display()
            ))
        };
        let bytes =
            fsio::read_small_in_ledger(path, MAX_WITNESS_STATE_BYTES).map_err(|err| Error::io("read", path, err))?;
        let file: LogFile =
            serde_json::from_slice(&bytes).map_err(|err| damaged(format!("not a state file ({err})")))?;
        if origin.is_some_and(|origin| origin != file.origin)
            || path.file_name() != Some(std::ffi::OsStr::new(&format!("{}.json", origin_hash(&file.origin))))
        {
            return Err(damaged(format!("its origin {:?} does not match its file name", file.origin)));
        }
        let vkeys = file
            .vkeys
            .iter()
            .map(|vkey| PublicKey::parse_vkey(vkey).map_err(|err| damaged(format!("a log key: {err}"))))
            .collect::<Result<Vec<_>>>()?;
        let cosigned = match file.cosigned {
            None => None,
            Some(cosigned) => {
                let root = parse_base64(&cosigned.root)
                    .and_then(|bytes| Hash::try_from(bytes).ok())
                    .ok_or_else(|| damaged("the cosigned root is not a base64 SHA-256 hash".into()))?;
                let note =
                    Note::parse(&cosigned.checkpoint).map_err(|err| damaged(format!("the checkpoint: {err}")))?;
                let checkpoint =
                    Checkpoint::parse_text(&note.text).map_err(|err| damaged(format!("the checkpoint: {err}")))?;
                if checkpoint.origin != file.origin || checkpoint.size != cosigned.size || checkpoint.root != root {
                    return Err(damaged("the cosigned checkpoint does not match the size and root beside it".into()));
                }
                Some(CosignedState { size: cosigned.size, root, note: cosigned.checkpoint })
            }
        };
        Ok(LogState { origin: file.origin, vkeys, cosigned })
    }

    /// Write the state of one log durably and atomically (the caller holds the lock).
    fn save(&self, state: &LogState) -> Result<()> {
        let file = LogFile {
            origin: state.origin.clone(),
            vkeys: state.vkeys.iter().map(PublicKey::vkey).collect(),
            cosigned: state.cosigned.as_ref().map(|cosigned| CosignedFile {
                size: cosigned.size,
                root: base64(&cosigned.root),
                checkpoint: cosigned.note.clone(),
            }),
        };
        let mut bytes = serde_json::to_vec_pretty(&file)
            .map_err(|err| Error::new(ErrorKind::Io, format!("cannot encode the witness state: {err}")))?;
        bytes.push(b'\n');
        fsio::publish_bytes(&self.path_of(&state.origin), true, &bytes)
    }
}

/// The checks of tlog-witness after the origin is known, in the spec's order. Returns the log's
/// signature lines that verified, or the refusal.
fn decide(
    request: &AddRequest,
    note: &Note,
    checkpoint: &Checkpoint,
    state: &LogState,
) -> std::result::Result<Vec<note::NoteSignature>, Refused> {
    let verified = note.verify(&state.vkeys).map_err(|err| Answer::Forbidden(err.message().to_string()))?;
    let size = checkpoint.size;
    if request.old > size {
        return Err(Refused::from(Answer::BadRequest(format!(
            "old size {} is larger than the checkpoint's size {size}",
            request.old
        ))));
    }
    let (last_size, last_root) = match &state.cosigned {
        Some(cosigned) => (cosigned.size, cosigned.root),
        None => (0, merkle::empty_root()),
    };
    if request.old != last_size {
        return Err(Answer::Conflict { size: last_size }.into());
    }
    if size == 0 && checkpoint.root != merkle::empty_root() {
        return Err(Answer::Unprocessable(
            "a checkpoint of size 0 must have the root of the empty tree (SHA-256 of nothing)".into(),
        )
        .into());
    }
    if request.old == 0 && !request.proof.is_empty() {
        return Err(
            Answer::Unprocessable("old size 0 needs no consistency proof, and this request has one".into()).into()
        );
    }
    if request.old == size && checkpoint.root != last_root {
        return Err(Refused {
            answer: Answer::Unprocessable(format!(
                "{}: this witness cosigned the other one; it keeps both as evidence of a split view",
                crate::proof::fork_message(size, &last_root, &checkpoint.root)
            )),
            split_view: true,
        });
    }
    if request.old != 0 && !merkle::verify_consistency(request.old, size, &last_root, &checkpoint.root, &request.proof)
    {
        return Err(Answer::Unprocessable(format!(
            "the consistency proof from size {} to {size} does not verify: the tree of size {size} does not \
             extend the one this witness cosigned",
            request.old
        ))
        .into());
    }
    Ok(note.signatures.iter().filter(|line| verified.iter().any(|key| is_by(line, key))).cloned().collect())
}

/// A refusal by [`decide`]; `split_view` when the log signed two different trees of one size.
struct Refused {
    answer: Answer,
    split_view: bool,
}

impl From<Answer> for Refused {
    fn from(answer: Answer) -> Refused {
        Refused { answer, split_view: false }
    }
}

fn is_by(line: &note::NoteSignature, key: &PublicKey) -> bool {
    line.name == key.name().as_str() && line.id == key.id()
}

/// Lowercase hex SHA-256 of the origin: the state file's name, as in tlog-witness's monitoring
/// path `<origin hash>/checkpoint`.
pub fn origin_hash(origin: &str) -> String {
    hex(&Sha256::digest(origin.as_bytes()))
}

/// A log key must be a plain Ed25519 (type 0x01) key, and the origin a checkpoint origin.
fn check_log_key(origin: &str, vkey: &PublicKey) -> Result<()> {
    if vkey.algorithm() != ALGORITHM_ED25519 {
        return Err(Error::bad_input(format!(
            "{} is not a log key (type 0x01, from `lianlog key show` or the ledger's checkpoint vkey)",
            vkey.identity()
        )));
    }
    if let Some(weakness) = vkey.weakness() {
        return Err(Error::bad_input(format!("the log key {} is unusable: {weakness}", vkey.identity())));
    }
    let probe = Checkpoint { origin: origin.to_string(), size: 0, root: merkle::empty_root() };
    Checkpoint::parse_text(&probe.to_text()).map(|_| ()).map_err(|err| err.at(format!("origin {origin:?}")))
}

/// At least one witness key, each a cosigner (type 0x04) key, no two alike: what
/// [`Witness::add_checkpoint`] requires of its keys (a server checks it once at start).
pub fn check_cosigners(cosigners: &[SecretKey]) -> Result<()> {
    if cosigners.is_empty() {
        return Err(Error::bad_input("a witness needs at least one key to cosign with"));
    }
    for (index, cosigner) in cosigners.iter().enumerate() {
        let public = cosigner.public();
        if public.algorithm() != crate::keys::ALGORITHM_COSIGNATURE_V1 {
            return Err(Error::bad_input(format!("{} is not a cosigner (type 0x04) key", public.identity())));
        }
        if cosigners[..index].iter().any(|other| other.public() == public) {
            return Err(Error::bad_input(format!("the witness key {} is given twice", public.identity())));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyName;
    use crate::merkle::CompactRange;

    const ORIGIN: &str = "log.example/witnessed";

    fn log_key() -> SecretKey {
        SecretKey::from_seed(KeyName::parse(ORIGIN).unwrap(), &[1; 32])
    }

    fn witness_key() -> SecretKey {
        SecretKey::from_seed(KeyName::parse("witness.example/w1").unwrap(), &[2; 32]).as_cosigner()
    }

    /// A tree whose leaves are `prefix` + index (`fork_at` on, another prefix): every node kept.
    struct Tree {
        nodes: std::collections::HashMap<(u8, u64), Hash>,
    }

    impl merkle::NodeStore for Tree {
        type Error = ();
        fn node(&self, level: u8, index: u64) -> std::result::Result<Hash, ()> {
            self.nodes.get(&(level, index)).copied().ok_or(())
        }
    }

    fn tree(size: u64, fork_at: u64) -> Tree {
        let mut range = CompactRange::new();
        let mut nodes = std::collections::HashMap::new();
        for i in 0..size {
            let leaf = merkle::leaf_hash(format!("{}{i}", if i < fork_at { "a" } else { "b" }).as_bytes());
            for (id, hash) in range.push(leaf).unwrap() {
                nodes.insert(id, hash);
            }
        }
        Tree { nodes }
    }

    fn checkpoint(size: u64, fork_at: u64) -> String {
        let root = merkle::root(size, &tree(size, fork_at)).unwrap();
        note::sign_checkpoint(&Checkpoint { origin: ORIGIN.into(), size, root }, &log_key()).unwrap()
    }

    fn request(old: u64, size: u64, fork_at: u64) -> Vec<u8> {
        let proof =
            if old == 0 { Vec::new() } else { merkle::consistency_proof(old, size, &tree(size, fork_at)).unwrap() };
        AddRequest { old, proof, note: checkpoint(size, fork_at) }.to_text().into_bytes()
    }

    fn witness() -> (tempfile::TempDir, Witness) {
        let temp = tempfile::tempdir().unwrap();
        let witness = Witness::create(&temp.path().join("state")).unwrap();
        assert!(witness.add_log(ORIGIN, log_key().public()).unwrap());
        (temp, witness)
    }

    fn add(witness: &Witness, body: &[u8]) -> Answer {
        witness.add_checkpoint(body, &[witness_key()], 1_700_000_000).unwrap()
    }

    #[test]
    fn every_answer_of_the_spec() {
        let (_temp, witness) = witness();
        let never = u64::MAX;
        // 200 from nothing, then with a proof, then the same checkpoint again.
        let answer = add(&witness, &request(0, 5, never));
        assert_eq!(answer.status(), 200, "{answer:?}");
        let Answer::Cosigned { lines, .. } = &answer else { unreachable!() };
        assert_eq!(lines.len(), 1);
        assert!(answer.body().starts_with("\u{2014} witness.example/w1 ") && answer.body().ends_with('\n'));
        let cosigned = note::add_signature(&checkpoint(5, never), &lines[0]).unwrap();
        let opened = note::open_checkpoint(&cosigned, log_key().public(), &[witness_key().public().clone()]).unwrap();
        assert_eq!(opened.cosignatures[0].timestamp, 1_700_000_000);
        assert_eq!(add(&witness, &request(5, 9, never)).status(), 200);
        assert_eq!(add(&witness, &request(9, 9, never)).status(), 200);
        // 409 with the size, whether old is behind, ahead, or 0.
        for old in [0, 5, 8] {
            let answer = add(&witness, &request(old, 12, never));
            assert_eq!(answer, Answer::Conflict { size: 9 });
            assert_eq!((answer.body().as_str(), answer.content_type()), ("9\n", "text/x.tlog.size"));
        }
        // 400: old larger than the checkpoint.
        let mut larger = AddRequest::parse(&request(9, 9, never)).unwrap();
        larger.old = 10;
        assert_eq!(add(&witness, larger.to_text().as_bytes()).status(), 400);
        // 422: same size, other root; a proof to a forked tree; a wrong proof.
        let answer = add(&witness, &request(9, 9, 3));
        assert_eq!(answer.status(), 422);
        // The split view is kept as evidence, once however often it is sent.
        assert_eq!(add(&witness, &request(9, 9, 3)), answer);
        let evidence: Vec<_> = std::fs::read_dir(witness.dir().join(EVIDENCE_DIR)).unwrap().collect();
        assert_eq!(evidence.len(), 1);
        let kept = std::fs::read_to_string(evidence[0].as_ref().unwrap().path()).unwrap();
        assert_eq!(kept, checkpoint(9, 3));
        assert!(answer.body().contains(&evidence[0].as_ref().unwrap().file_name().to_string_lossy().into_owned()));
        assert_eq!(add(&witness, &request(9, 12, 3)).status(), 422);
        let mut wrong = AddRequest::parse(&request(9, 12, never)).unwrap();
        wrong.proof[0][0] ^= 1;
        assert_eq!(add(&witness, wrong.to_text().as_bytes()).status(), 422);
        // A proof that is too short or too long.
        let mut short = AddRequest::parse(&request(9, 12, never)).unwrap();
        short.proof.pop();
        assert_eq!(add(&witness, short.to_text().as_bytes()).status(), 422);
        // 404: another origin.
        let other = SecretKey::from_seed(KeyName::parse("other.example").unwrap(), &[3; 32]);
        let note = note::sign_checkpoint(
            &Checkpoint { origin: "other.example".into(), size: 0, root: merkle::empty_root() },
            &other,
        )
        .unwrap();
        let answer = add(&witness, AddRequest { old: 0, proof: vec![], note }.to_text().as_bytes());
        assert_eq!(answer.status(), 404);
        // 403: signed by another key of the same name; a bad signature by the log key.
        let stranger = SecretKey::from_seed(KeyName::parse(ORIGIN).unwrap(), &[4; 32]);
        let root = merkle::root(12, &tree(12, never)).unwrap();
        let forged = note::sign_checkpoint(&Checkpoint { origin: ORIGIN.into(), size: 12, root }, &stranger).unwrap();
        let proof = merkle::consistency_proof(9, 12, &tree(12, never)).unwrap();
        let body = AddRequest { old: 9, proof: proof.clone(), note: forged }.to_text();
        assert_eq!(add(&witness, body.as_bytes()).status(), 403);
        let mut bad = Note::parse(&checkpoint(12, never)).unwrap();
        bad.signatures[0].bytes[10] ^= 1;
        let body = AddRequest { old: 9, proof, note: bad.to_string() }.to_text();
        assert_eq!(add(&witness, body.as_bytes()).status(), 403);
        // Nothing of this changed the state.
        let state = witness.log(ORIGIN).unwrap().unwrap();
        assert_eq!(state.cosigned.as_ref().unwrap().size, 9);
        assert_eq!(add(&witness, &request(9, 12, never)).status(), 200);
    }

    /// Concurrent requests from the same old size: exactly one is cosigned, the others learn its
    /// size (409); the state is the one that was answered 200.
    #[test]
    fn concurrent_requests_never_roll_back() {
        let (_temp, witness) = witness();
        let answers: Vec<Answer> = std::thread::scope(|scope| {
            let handles: Vec<_> = (1..=8u64)
                .map(|size| {
                    let witness = witness.clone();
                    scope.spawn(move || add(&witness, &request(0, size, u64::MAX)))
                })
                .collect();
            handles.into_iter().map(|handle| handle.join().unwrap()).collect()
        });
        let cosigned: Vec<u64> = answers
            .iter()
            .filter_map(|answer| match answer {
                Answer::Cosigned { checkpoint, .. } => Some(checkpoint.size),
                _ => None,
            })
            .collect();
        assert_eq!(cosigned.len(), 1, "{answers:?}");
        for answer in &answers {
            assert!(matches!(answer, Answer::Cosigned { .. }) || *answer == Answer::Conflict { size: cosigned[0] });
        }
        assert_eq!(witness.log(ORIGIN).unwrap().unwrap().cosigned.unwrap().size, cosigned[0]);
    }

    #[test]
    fn empty_trees_and_proofs_with_old_zero() {
        let (_temp, witness) = witness();
        // Size 0 with another root: 422; with the empty root: 200.
        let wrong =
            note::sign_checkpoint(&Checkpoint { origin: ORIGIN.into(), size: 0, root: [9; 32] }, &log_key()).unwrap();
        assert_eq!(add(&witness, AddRequest { old: 0, proof: vec![], note: wrong }.to_text().as_bytes()).status(), 422);
        assert_eq!(add(&witness, &request(0, 0, u64::MAX)).status(), 200);
        // A proof with old 0: 422.
        let body = AddRequest { old: 0, proof: vec![[1; 32]], note: checkpoint(3, u64::MAX) }.to_text();
        assert_eq!(add(&witness, body.as_bytes()).status(), 422);
        assert_eq!(add(&witness, &request(0, 3, u64::MAX)).status(), 200);
    }

    #[test]
    fn malformed_requests_are_400() {
        let (_temp, witness) = witness();
        let note = checkpoint(3, u64::MAX);
        let hash = base64(&[1; 32]);
        let too_many = format!("old 0\n{}\n{note}", format!("{hash}\n").repeat(64));
        for body in [
            format!("old 00\n\n{note}"),
            format!("old -1\n\n{note}"),
            format!("old 1 \n\n{note}"),
            format!("Old 1\n\n{note}"),
            format!("old 1\n{note}"),
            format!("old 0\n{}\n\n{note}", &hash[..43]),
            format!("old 0\n{hash} \n\n{note}"),
            too_many,
            "old 0\n".to_string(),
            "old 0".to_string(),
            "old 0\n\nnot a note\n".to_string(),
            format!("old 0\n\n{}", note.replace("\n3\n", "\n03\n")),
        ] {
            assert_eq!(add(&witness, body.as_bytes()).status(), 400, "{body:?}");
        }
        assert_eq!(add(&witness, b"old 0\n\n\xff\n").status(), 400);
        assert_eq!(add(&witness, &vec![b'a'; MAX_WITNESS_REQUEST_BYTES + 1]).status(), 400);
        // 63 proof lines parse (and fail as a proof: 422 with old 3 → not cosigned yet: 409).
        let most = format!("old 0\n{}\n{note}", format!("{hash}\n").repeat(63));
        assert_eq!(AddRequest::parse(most.as_bytes()).unwrap().proof.len(), 63);
        assert!(witness.log(ORIGIN).unwrap().unwrap().cosigned.is_none());
    }

    #[test]
    fn state_survives_reopening_and_removal() {
        let (temp, witness) = witness();
        assert_eq!(add(&witness, &request(0, 7, u64::MAX)).status(), 200);
        // A fresh handle (a restarted process) remembers.
        let again = Witness::open(&temp.path().join("state")).unwrap();
        assert_eq!(add(&again, &request(0, 7, 2)), Answer::Conflict { size: 7 });
        assert_eq!(add(&again, &request(7, 7, 2)).status(), 422);
        // Removed: unknown; added again: it continues from size 7.
        again.remove_log(ORIGIN).unwrap();
        assert_eq!(add(&again, &request(7, 7, u64::MAX)).status(), 404);
        assert!(again.remove_log(ORIGIN).is_err());
        again.add_log(ORIGIN, log_key().public()).unwrap();
        assert_eq!(add(&again, &request(0, 7, 2)), Answer::Conflict { size: 7 });
        assert!(!again.add_log(ORIGIN, log_key().public()).unwrap());
        let logs = again.logs().unwrap();
        assert_eq!(logs.len(), 1);
        assert_eq!(logs[0].cosigned.as_ref().unwrap().size, 7);
        // The monitoring view: the checkpoint with the log's signature and ours.
        let latest = again.latest_by_origin_hash(&origin_hash(ORIGIN)).unwrap().unwrap();
        note::open_checkpoint(&latest, log_key().public(), &[witness_key().public().clone()]).unwrap();
        assert_eq!(again.latest_by_origin_hash(&"0".repeat(64)).unwrap(), None);
        assert_eq!(again.latest_by_origin_hash("../x").unwrap(), None);
        // Not a state directory: refused, not created.
        assert!(Witness::open(&temp.path().join("typo")).is_err());
        assert!(!temp.path().join("typo").exists());
    }

    /// The state is written before a cosignature is returned: when the write fails, the request
    /// fails and no cosignature exists; the state is the old one.
    #[test]
    fn no_cosignature_without_a_durable_state() {
        let (_temp, witness) = witness();
        assert_eq!(add(&witness, &request(0, 4, u64::MAX)).status(), 200);
        let path = witness.path_of(ORIGIN);
        let saved = std::fs::read(&path).unwrap();
        // Make the publish fail: the state file's name is taken by a directory.
        std::fs::remove_file(&path).unwrap();
        std::fs::create_dir(&path).unwrap();
        // (Here the load fails.)
        assert!(witness.add_checkpoint(&request(4, 6, u64::MAX), &[witness_key()], 1).is_err());
        std::fs::remove_dir(&path).unwrap();
        std::fs::write(&path, &saved).unwrap();
        // A failing save after a successful load: a directory where the temporary file goes.
        let temporary = path.parent().unwrap().join(format!(
            ".{}.{}.tmp",
            path.file_name().unwrap().to_string_lossy(),
            std::process::id()
        ));
        std::fs::create_dir(&temporary).unwrap();
        std::fs::write(temporary.join("x"), b"x").unwrap();
        let result = witness.add_checkpoint(&request(4, 6, u64::MAX), &[witness_key()], 1);
        assert!(result.is_err(), "{result:?}");
        assert_eq!(std::fs::read(&path).unwrap(), saved);
        std::fs::remove_dir_all(&temporary).unwrap();
        assert_eq!(add(&witness, &request(4, 6, u64::MAX)).status(), 200);
    }

    #[test]
    fn damaged_state_fails_closed() {
        let (_temp, witness) = witness();
        assert_eq!(add(&witness, &request(0, 4, u64::MAX)).status(), 200);
        let path = witness.path_of(ORIGIN);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("\"size\": 4", "\"size\": 3")).unwrap();
        let err = witness.add_checkpoint(&request(4, 6, u64::MAX), &[witness_key()], 1).unwrap_err();
        assert!(err.message().contains("is damaged"), "{err}");
        std::fs::write(&path, &text[..text.len() / 2]).unwrap();
        assert!(witness.add_checkpoint(&request(4, 6, u64::MAX), &[witness_key()], 1).is_err());
    }

    #[test]
    fn offline_cosigning_follows_the_same_rule() {
        let temp = tempfile::tempdir().unwrap();
        let witness = Witness::create(&temp.path().join("state")).unwrap();
        let cosign = |note: &str, proof: &[Hash], key: &PublicKey| {
            witness.cosign_offline(note, key, proof, &[witness_key()], 1_700_000_000)
        };
        let public = log_key().public().clone();
        // First use: trusted from now on.
        let out = cosign(&checkpoint(4, u64::MAX), &[], &public).unwrap();
        note::open_checkpoint(&out, &public, &[witness_key().public().clone()]).unwrap();
        // A larger size needs the proof.
        let err = cosign(&checkpoint(6, u64::MAX), &[], &public).unwrap_err();
        assert!(err.message().contains("lianlog prove consistency 4 6"), "{err}");
        let proof = merkle::consistency_proof(4, 6, &tree(6, u64::MAX)).unwrap();
        cosign(&checkpoint(6, u64::MAX), &proof, &public).unwrap();
        // The fork: refused, with or without a proof; a smaller size: refused.
        let err = cosign(&checkpoint(6, 2), &[], &public).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Verification);
        assert!(err.message().contains("the log forked"), "{err}");
        let proof = merkle::consistency_proof(6, 8, &tree(8, 2)).unwrap();
        assert_eq!(cosign(&checkpoint(8, 2), &proof, &public).unwrap_err().kind(), ErrorKind::Verification);
        assert_eq!(cosign(&checkpoint(5, u64::MAX), &[], &public).unwrap_err().kind(), ErrorKind::Verification);
        // Another key for the origin: refused, naming add-log.
        let stranger = SecretKey::from_seed(KeyName::parse(ORIGIN).unwrap(), &[4; 32]);
        let err = cosign(&checkpoint(6, u64::MAX), &[], stranger.public()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Verification, "{err}");
        let root = merkle::root(6, &tree(6, u64::MAX)).unwrap();
        let by_stranger =
            note::sign_checkpoint(&Checkpoint { origin: ORIGIN.into(), size: 6, root }, &stranger).unwrap();
        let err = cosign(&by_stranger, &[], stranger.public()).unwrap_err();
        assert!(err.message().contains("witness add-log"), "{err}");
        // A bad log signature: refused.
        let mut bad = Note::parse(&checkpoint(6, u64::MAX)).unwrap();
        bad.signatures[0].bytes[3] ^= 1;
        assert_eq!(cosign(&bad.to_string(), &[], &public).unwrap_err().kind(), ErrorKind::Verification);
    }
}
