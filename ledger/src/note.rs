//! Signed notes, checkpoints and cosignatures: the C2SP formats lianlog speaks to the outside
//! world ([signed-note], [tlog-checkpoint], [tlog-cosignature] v1 for Ed25519).
//!
//! [signed-note]: https://c2sp.org/signed-note
//! [tlog-checkpoint]: https://c2sp.org/tlog-checkpoint
//! [tlog-cosignature]: https://c2sp.org/tlog-cosignature
//!
//! # Guarantees
//!
//! - **Bounded, panic-free parsing.** [`Note::parse`] refuses notes over [`MAX_NOTE_BYTES`] and
//!   more than [`MAX_SIGNATURE_LINES`] signature lines before decoding any line, so hostile input
//!   costs a few linear scans and at most 100 signature checks; at least 16 lines are always
//!   accepted, as the spec requires. No function here panics on any input.
//! - **One spelling.** Parsing is strict (canonical base64, decimal without leading zeros, no ASCII
//!   control characters but newline), so a parsed [`Note`] prints back byte for byte with
//!   `to_string()`, and a [`Checkpoint`] has exactly one text.
//! - **Spec verification rules.** A signature counts only if both its key name and key id match a
//!   trusted key; signatures from other keys are ignored (even if they share a name or an id); a
//!   signature from a trusted key that fails to verify rejects the whole note; at least one trusted
//!   signature must verify. Verification is `verify_strict` (no small-order keys or `R` values).
//! - **Checkpoints are the log's.** [`open_checkpoint`] accepts a checkpoint only if its origin is
//!   the log key's name and the log key (type 0x01) signed it.
//! - **Named cosigners are required.** Every cosigner (type 0x04) the caller names — or a quorum
//!   of K distinct ones, by [`CosignerPolicy`] — must have a valid cosignature on the checkpoint
//!   ([`require_cosigners`], the one place of this rule); a missing one fails like a forged one. [`open_checkpoint`] reports who cosigned and when.
//!   Timestamps are reported, not judged: the caller decides whether one in the future is
//!   acceptable.
//!
//! # Domain separation
//!
//! One Ed25519 secret may sign three kinds of message — a record, a checkpoint, and (through
//! [`SecretKey::as_cosigner`], which reuses the secret) a cosignature — so no signature of one
//! kind must verify as another. The messages are told apart by their first bytes:
//!
//! - a **record** signature is over JCS(record) || `\n`; JCS of a JSON object begins with `{`;
//! - a **checkpoint** signature is over the checkpoint text, which begins with the origin. The
//!   origin is the log key's name (the log key is named after its origin), so it is a
//!   [`KeyName`]: printable ASCII without space or `+`. `KeyName` itself allows `{`, so
//!   [`Checkpoint::parse_text`] and [`sign_checkpoint`] additionally refuse origins beginning with
//!   `{` (and the origin `cosignature/v1`, see below): a checkpoint text never begins with `{`, and
//!   a record message (which does) never parses as a checkpoint;
//! - a **cosignature** is over `cosignature/v1\ntime <ts>\n` followed by the checkpoint text. Its
//!   second line, `time <ts>`, is not a decimal tree size, so it never parses as a checkpoint
//!   text; and since it begins with `c`, not `{`, it is never a record message. Refusing the
//!   origin `cosignature/v1` is belt and braces: no checkpoint text even begins like one.
//!
//! [`sign_note`] is the one way this module signs arbitrary text, so it refuses text beginning
//! with `{` or `cosignature/v1\n`, and refuses keys that are not plain Ed25519 (type 0x01): a note
//! it signs can be neither a record signature nor a cosignature. The key type byte also enters the
//! key id, so a cosigner line and a log line from the same secret never match the same trusted key.

use std::fmt;

use ed25519_dalek::Signature;

use crate::encoding::{base64, parse_base64, parse_hex};
use crate::error::{Error, Result};
use crate::keys::{ALGORITHM_COSIGNATURE_V1, ALGORITHM_ED25519, KeyName, PublicKey, SecretKey, Zeroizing};
use crate::limits::{MAX_NOTE_BYTES, MAX_SIGNATURE_LINES};

/// The first line of every Ed25519 cosignature message (C2SP tlog-cosignature v1).
pub(crate) const COSIGNATURE_V1_HEADER: &str = "cosignature/v1\n";

/// Start of every signature line: U+2014 EM DASH and a space.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// Cosignature timestamps must not exceed 2^63 - 1 (tlog-cosignature).
const MAX_TIMESTAMP: u64 = i64::MAX as u64;

/// Length of an Ed25519 signature.
const ED25519_SIGNATURE_LEN: usize = 64;

/// Length of a cosignature's `timestamped_signature`: an 8-byte timestamp and the signature.
const COSIGNATURE_LEN: usize = 8 + ED25519_SIGNATURE_LEN;

/// One signature line of a note: `— <name> base64(id || bytes)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name. A `String`, not a [`KeyName`]: the spec allows names lianlog would not give
    /// its own keys, and such signatures must be kept (and ignored), not refused.
    pub name: String,
    /// The 4-byte key id.
    pub id: [u8; 4],
    /// What follows the key id: the signature proper (for a cosignature, timestamp and signature).
    pub bytes: Vec<u8>,
}

impl NoteSignature {
    /// Parse one signature line, without its final newline.
    fn parse_line(line: &str, number: usize) -> Result<NoteSignature> {
        let bad = |why: &str| {
            Error::bad_input(format!(
                "signature line {number} of the note {why} (C2SP signed-note: `\u{2014} NAME BASE64`, \
                 an em dash U+2014, a space, the key name, a space, the signature)"
            ))
        };
        let rest =
            line.strip_prefix(SIGNATURE_PREFIX).ok_or_else(|| bad("does not begin with an em dash and a space"))?;
        let (name, encoded) =
            rest.split_once(' ').ok_or_else(|| bad("has no space between the key name and the signature"))?;
        if !is_valid_key_name(name) {
            return Err(bad("has an empty key name or one with a space or '+'"));
        }
        let bytes = parse_base64(encoded).ok_or_else(|| bad("has a signature that is not canonical padded base64"))?;
        // A key id and at least one byte of signature.
        if bytes.len() < 5 {
            return Err(bad("has a signature shorter than a key id and one byte"));
        }
        let id = [bytes[0], bytes[1], bytes[2], bytes[3]];
        Ok(NoteSignature { name: name.to_string(), id, bytes: bytes[4..].to_vec() })
    }

    /// Whether this line claims to be by `key`: name and key id both match (either alone is not
    /// enough, per the spec).
    fn is_by(&self, key: &PublicKey) -> bool {
        self.name == key.name().as_str() && self.id == key.id()
    }
}

impl fmt::Display for NoteSignature {
    /// The signature line without its final newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut value = Vec::with_capacity(4 + self.bytes.len());
        value.extend_from_slice(&self.id);
        value.extend_from_slice(&self.bytes);
        write!(f, "{SIGNATURE_PREFIX}{} {}", self.name, base64(&value))
    }
}

/// A parsed signed note: its text (with the final newline) and its signature lines, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The note text, with its final newline.
    pub text: String,
    /// The signature lines, in order.
    pub signatures: Vec<NoteSignature>,
}

impl Note {
    /// Parse a signed note strictly. This checks the form only; see [`Note::verify`].
    pub fn parse(note: &str) -> Result<Note> {
        if note.len() > MAX_NOTE_BYTES {
            return Err(Error::bad_input(format!(
                "the note is {} bytes, more than the {MAX_NOTE_BYTES} lianlog accepts",
                note.len()
            )));
        }
        check_note_characters(note, "the note")?;
        // The text ends at the *last* blank line, so the text itself may contain blank lines.
        let split = note.rfind("\n\n").ok_or_else(|| {
            Error::bad_input("the note has no blank line between its text and its signatures (C2SP signed-note)")
        })?;
        let text = &note[..split + 1];
        let block = &note[split + 2..];
        if block.is_empty() {
            return Err(Error::bad_input("the note has no signature lines after its blank line"));
        }
        let Some(block) = block.strip_suffix('\n') else {
            return Err(Error::bad_input("the note's last signature line does not end with a newline"));
        };
        // Count before decoding any line, so that a hostile note costs a few linear scans at most.
        let count = block.split('\n').count();
        if count > MAX_SIGNATURE_LINES {
            return Err(Error::bad_input(format!(
                "the note has {count} signature lines, more than the {MAX_SIGNATURE_LINES} lianlog accepts"
            )));
        }
        let signatures = block
            .split('\n')
            .enumerate()
            .map(|(index, line)| NoteSignature::parse_line(line, index + 1))
            .collect::<Result<Vec<_>>>()?;
        Ok(Note { text: text.to_string(), signatures })
    }

    /// Verify the note against trusted keys and return those whose signature verified (each
    /// once, in the order their lines appear).
    ///
    /// Type 0x01 keys verify plain Ed25519 note signatures; type 0x04 keys verify tlog-cosignature
    /// v1 cosignatures (over `cosignature/v1\ntime <ts>\n` and the text). Lines from other keys
    /// are ignored; a line from a trusted key that does not verify rejects the note; at least one
    /// must verify.
    pub fn verify<'k>(&self, verifiers: &'k [PublicKey]) -> Result<Vec<&'k PublicKey>> {
        check_verifier_types(verifiers.iter(), "a note verifier")?;
        let trusted: Vec<&PublicKey> = verifiers.iter().collect();
        let verified = verify_lines(self, &trusted)?;
        if verified.is_empty() {
            let names: Vec<String> = verifiers.iter().map(PublicKey::identity).collect();
            return Err(Error::verification(format!(
                "the note has no signature from a trusted key (trusted: {}); it cannot be relied on",
                if names.is_empty() { "none".to_string() } else { names.join(", ") }
            )));
        }
        Ok(verified.into_iter().map(|(key, _)| key).collect())
    }
}

impl fmt::Display for Note {
    /// The note as it was parsed: text, blank line, signature lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        f.write_str("\n")?;
        for signature in &self.signatures {
            writeln!(f, "{signature}")?;
        }
        Ok(())
    }
}

/// Sign `text` (which must end with a newline) with a plain Ed25519 key: `text`, a blank line,
/// and the signature line.
///
/// Refuses text that begins with `{` (a record's signed message) or `cosignature/v1\n` (a
/// cosignature's), and keys of any type but 0x01: see the module docs on domain separation.
pub fn sign_note(text: &str, key: &SecretKey) -> Result<String> {
    if key.public().algorithm() != ALGORITHM_ED25519 {
        return Err(Error::bad_input(format!(
            "{} is not a plain Ed25519 (type 0x01) key; notes are signed with plain keys, cosignatures with cosign",
            key.public().identity()
        )));
    }
    if text.starts_with('{') || text.starts_with(COSIGNATURE_V1_HEADER) {
        return Err(Error::bad_input(
            "refusing to sign a note whose text begins with `{` or `cosignature/v1`: that signature could \
             pass for a record signature or a cosignature",
        ));
    }
    check_note_text(text)?;
    let line = format!("{SIGNATURE_PREFIX}{} {}\n", key.name(), key.signature_value(text.as_bytes()));
    let note = format!("{text}\n{line}");
    // What we hand out must be what we accept (the size limit, chiefly).
    Note::parse(&note)?;
    Ok(note)
}

/// Append one signature line (with or without its final newline) to a signed note.
///
/// The note and the line must parse; a second line with the same key name and key id as an
/// existing one is refused (verifiers would ignore it anyway), as is a result over the limits.
pub fn add_signature(note: &str, line: &str) -> Result<String> {
    let parsed = Note::parse(note)?;
    let line = line.strip_suffix('\n').unwrap_or(line);
    if line.contains('\n') {
        return Err(Error::bad_input("a signature line to add must be a single line"));
    }
    check_note_characters(line, "the signature line")?;
    let signature = NoteSignature::parse_line(line, parsed.signatures.len() + 1)?;
    if parsed.signatures.iter().any(|s| s.name == signature.name && s.id == signature.id) {
        return Err(Error::bad_input(format!(
            "the note already has a signature by {} with this key id",
            signature.name
        )));
    }
    let out = format!("{note}{line}\n");
    Note::parse(&out)?;
    Ok(out)
}

/// A checkpoint's mandatory lines (C2SP tlog-checkpoint): which log, how many leaves, which
/// RFC 6962 root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin line.
    pub origin: String,
    /// The tree size.
    pub size: u64,
    /// The RFC 6962 root hash.
    pub root: [u8; 32],
}

impl Checkpoint {
    /// `<origin>\n<size>\n<base64 root>\n`. lianlog writes no extension lines.
    pub fn to_text(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, base64(&self.root))
    }

    /// Parse a checkpoint text strictly, accepting (and dropping) extension lines; see
    /// [`Checkpoint::parse_text_with_extensions`] to keep them.
    pub fn parse_text(text: &str) -> Result<Checkpoint> {
        Checkpoint::parse_text_with_extensions(text).map(|(checkpoint, _)| checkpoint)
    }

    /// Parse a checkpoint text: an origin that is a key name not beginning with `{`, a decimal size
    /// without leading zeros, a canonical base64 32-byte root, then any non-empty extension lines
    /// (returned as they are).
    pub fn parse_text_with_extensions(text: &str) -> Result<(Checkpoint, Vec<String>)> {
        let bad = |why: String| Error::bad_input(format!("not a valid checkpoint (C2SP tlog-checkpoint): {why}"));
        check_note_characters(text, "the checkpoint")?;
        let body = text.strip_suffix('\n').ok_or_else(|| bad("the text does not end with a newline".into()))?;
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next()) else {
            return Err(bad("fewer than three lines (origin, size, root hash)".into()));
        };
        check_origin(origin)?;
        let size = parse_decimal(size).ok_or_else(|| {
            bad(format!("the size {size:?} is not a decimal number without leading zeros that fits in 64 bits"))
        })?;
        let root = parse_base64(root)
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .ok_or_else(|| bad(format!("the root hash {root:?} is not canonical base64 of 32 bytes")))?;
        let extensions: Vec<String> = lines.map(str::to_string).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(bad("it has an empty line (extension lines must not be empty)".into()));
        }
        Ok((Checkpoint { origin: origin.to_string(), size, root }, extensions))
    }
}

/// Sign a checkpoint with the log key, whose name must be the checkpoint's origin.
pub fn sign_checkpoint(checkpoint: &Checkpoint, log_key: &SecretKey) -> Result<String> {
    check_origin(&checkpoint.origin)?;
    if log_key.name().as_str() != checkpoint.origin {
        return Err(Error::bad_input(format!(
            "the log key is named {} but the checkpoint's origin is {}; a checkpoint is signed by the key \
             named after its origin",
            log_key.name(),
            checkpoint.origin
        )));
    }
    sign_note(&checkpoint.to_text(), log_key)
}

/// A cosignature that verified: who, and the time they state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosignature {
    /// The key that cosigned.
    pub cosigner: PublicKey,
    /// Seconds since the epoch, as stated by the cosigner (at most 2^63 - 1).
    pub timestamp: u64,
}

/// A checkpoint whose log signature verified, with every trusted cosignature that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// Extension lines, as signed (lianlog writes none).
    pub extensions: Vec<String>,
    /// The signed note text, exactly.
    pub text: String,
    /// Trusted cosigners whose cosignature verified, each once, in line order.
    pub cosignatures: Vec<Cosignature>,
}

/// Open a signed checkpoint: it must parse, its origin must be the log key's name, the log key
/// (type 0x01) must have signed it, every line by a named cosigner (type 0x04) must verify, and
/// **every named cosigner must have cosigned it** ([`require_cosigners`]). Lines by other keys are
/// ignored. Every path that checks a checkpoint for a caller who named cosigners (`verify
/// --checkpoint`, `check inclusion`, `check consistency`, `check disclosure`) comes through here.
pub fn open_checkpoint<'a>(
    note: &str,
    log_key: &PublicKey,
    cosigners: impl Into<CosignerPolicy<'a>>,
) -> Result<VerifiedCheckpoint> {
    let policy = cosigners.into();
    let cosigners = policy.keys;
    if log_key.algorithm() != ALGORITHM_ED25519 {
        return Err(Error::bad_input(format!(
            "the log key {} is not a plain Ed25519 (type 0x01) key",
            log_key.identity()
        )));
    }
    if let Some(key) = cosigners.iter().find(|key| key.algorithm() != ALGORITHM_COSIGNATURE_V1) {
        return Err(Error::bad_input(format!(
            "the cosigner key {} is not a cosignature (type 0x04) key; give cosigners as their 0x04 vkeys",
            key.identity()
        )));
    }
    let parsed = Note::parse(note)?;
    let (checkpoint, extensions) = Checkpoint::parse_text_with_extensions(&parsed.text)?;
    if checkpoint.origin != log_key.name().as_str() {
        return Err(Error::verification(format!(
            "the checkpoint is for origin {} but the log key is {}; it is not this log's checkpoint",
            checkpoint.origin,
            log_key.identity()
        )));
    }
    // The log key first, so that it is the one matched should a cosigner collide with it.
    let trusted: Vec<&PublicKey> = std::iter::once(log_key).chain(cosigners).collect();
    let verified = verify_lines(&parsed, &trusted)?;
    if !verified.iter().any(|(key, _)| *key == log_key) {
        return Err(Error::verification(format!(
            "the checkpoint has no valid signature by the log key {}",
            log_key.identity()
        )));
    }
    let cosignatures = verified
        .into_iter()
        .filter_map(|(key, timestamp)| Some(Cosignature { cosigner: key.clone(), timestamp: timestamp? }))
        .collect();
    let opened = VerifiedCheckpoint { checkpoint, extensions, text: parsed.text, cosignatures };
    require_cosigners(&opened, policy)?;
    Ok(opened)
}

/// Which cosigners (witnesses, type 0x04) a verifier relies on, and how many of them must have
/// cosigned: `quorum` of `keys`. A plain list of keys (`&[PublicKey]`, `&Vec<PublicKey>`) converts
/// to the policy "all of them", which is what `--cosigner` means; `--witness … --witness-quorum K`
/// is [`CosignerPolicy::quorum`]. No keys and quorum 0 is "no cosigner required".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CosignerPolicy<'a> {
    /// The trusted cosigners; each counts once however often it is named.
    pub keys: &'a [PublicKey],
    /// How many distinct keys of `keys` must have a valid cosignature.
    pub quorum: usize,
}

impl<'a> CosignerPolicy<'a> {
    /// Every key in `keys` must have cosigned.
    pub fn all(keys: &'a [PublicKey]) -> CosignerPolicy<'a> {
        CosignerPolicy { keys, quorum: distinct(keys) }
    }

    /// At least `quorum` of the distinct keys in `keys` must have cosigned. A quorum of 0, or more
    /// than the number of distinct keys, is refused (bad input): it would accept anything, or
    /// nothing.
    pub fn quorum(keys: &'a [PublicKey], quorum: usize) -> Result<CosignerPolicy<'a>> {
        let named = distinct(keys);
        if quorum == 0 || quorum > named {
            return Err(Error::bad_input(format!(
                "the witness quorum {quorum} must be between 1 and the number of distinct witnesses named \
                 ({named}); name more witnesses (--witness VKEY) or lower --witness-quorum"
            )));
        }
        Ok(CosignerPolicy { keys, quorum })
    }
}

impl<'a, T: AsRef<[PublicKey]> + ?Sized> From<&'a T> for CosignerPolicy<'a> {
    fn from(keys: &'a T) -> CosignerPolicy<'a> {
        CosignerPolicy::all(keys.as_ref())
    }
}

/// The number of distinct keys in `keys`.
fn distinct(keys: &[PublicKey]) -> usize {
    keys.iter().enumerate().filter(|(index, key)| !keys[..*index].contains(key)).count()
}

/// Check that at least `policy.quorum` distinct keys of `policy.keys` have a valid cosignature on
/// the checkpoint (with the default policy, every named key): the one place that turns "trusted
/// cosigner" into "required cosigner". A cosignature that is missing is a verification failure
/// like one that is forged: a verifier who names a cosigner relies on its testimony (that the
/// checkpoint extends the one it saw before), which a stolen log key alone cannot forge. The error
/// names who cosigned, who did not, and how many were required; the caller adds which checkpoint
/// file it was.
pub fn require_cosigners(checkpoint: &VerifiedCheckpoint, policy: CosignerPolicy<'_>) -> Result<()> {
    let named = |key: &PublicKey| format!("{} (key id {})", key.name(), crate::encoding::hex(&key.id()));
    let mut cosigned: Vec<&PublicKey> = Vec::new();
    let mut missing: Vec<&PublicKey> = Vec::new();
    for (index, key) in policy.keys.iter().enumerate() {
        if policy.keys[..index].contains(key) {
            continue;
        }
        if checkpoint.cosignatures.iter().any(|cosignature| cosignature.cosigner == *key) {
            cosigned.push(key);
        } else {
            missing.push(key);
        }
    }
    if cosigned.len() >= policy.quorum {
        return Ok(());
    }
    let list = |keys: &[&PublicKey]| keys.iter().map(|key| named(key)).collect::<Vec<_>>().join(", ");
    let total = cosigned.len() + missing.len();
    if policy.quorum == total {
        // Every named cosigner is required (`--cosigner`): name the first one missing, as ever.
        let key = missing[0];
        return Err(Error::verification(format!(
            "the checkpoint of size {} has no cosignature by {}, a cosigner you require \
             (--cosigner); of the cosigners you named, {}. Ask that cosigner to check and cosign it \
             (`lianlog checkpoint cosign`), or do not rely on it",
            checkpoint.checkpoint.size,
            named(key),
            if cosigned.is_empty() {
                "none cosigned it".to_string()
            } else {
                format!("only {} cosigned it", list(&cosigned))
            }
        )));
    }
    Err(Error::verification(format!(
        "the checkpoint of size {} is cosigned by {} of the {} witnesses you named ({}), but {} are required \
         (--witness-quorum); no valid cosignature by {}. Ask those witnesses to check and cosign it \
         (`lianlog checkpoint cosign`), or do not rely on it",
        checkpoint.checkpoint.size,
        cosigned.len(),
        total,
        if cosigned.is_empty() { "none".to_string() } else { list(&cosigned) },
        policy.quorum,
        list(&missing)
    )))
}

/// Cosign a checkpoint note with a cosignature (type 0x04) key — one from
/// [`SecretKey::as_cosigner`] — stating `timestamp` (seconds since the epoch), and return the
/// note with the cosignature line appended.
///
/// The note must parse and its text must be a checkpoint; this does not check the log's
/// signature (a witness must do that, and check consistency, before cosigning).
pub fn cosign(note: &str, cosigner: &SecretKey, timestamp: u64) -> Result<String> {
    let public = cosigner.public();
    if public.algorithm() != ALGORITHM_COSIGNATURE_V1 {
        return Err(Error::bad_input(format!(
            "{} is not a cosignature (type 0x04) key; use SecretKey::as_cosigner",
            public.identity()
        )));
    }
    if timestamp > MAX_TIMESTAMP {
        return Err(Error::bad_input(format!("the cosignature timestamp {timestamp} exceeds 2^63 - 1")));
    }
    let parsed = Note::parse(note)?;
    Checkpoint::parse_text(&parsed.text)?;
    let signature = cosigner.sign_raw(&cosignature_message(&parsed.text, timestamp));
    let mut value = Vec::with_capacity(4 + COSIGNATURE_LEN);
    value.extend_from_slice(&public.id());
    value.extend_from_slice(&timestamp.to_be_bytes());
    value.extend_from_slice(&signature.to_bytes());
    add_signature(note, &format!("{SIGNATURE_PREFIX}{} {}", public.name(), base64(&value)))
}

/// Parse a private key in the Go `golang.org/x/mod/sumdb/note` form
/// `PRIVATE+KEY+<name>+<hex id>+base64(0x01 || 32-byte seed)`, checking the id.
///
/// Error messages never repeat the key text, which is secret.
pub fn parse_go_private_key(text: &str) -> Result<SecretKey> {
    let bad = |why: &str| Error::key(format!("not a Go note private key (PRIVATE+KEY+NAME+HEXID+BASE64): {why}"));
    // The base64 part may itself contain '+', so split off only the first four fields.
    let mut parts = text.trim_end().splitn(5, '+');
    let (Some("PRIVATE"), Some("KEY"), Some(name), Some(hex_id), Some(encoded)) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("it does not begin with PRIVATE+KEY+ or has too few fields"));
    };
    let name = KeyName::parse(name).map_err(|_| bad("invalid key name"))?;
    let id = parse_hex::<4>(hex_id).ok_or_else(|| bad("the key id is not 8 lowercase hex digits"))?;
    let bytes = Zeroizing::new(parse_base64(encoded).ok_or_else(|| bad("the key is not canonical base64"))?);
    if bytes.len() != 33 || bytes[0] != ALGORITHM_ED25519 {
        return Err(bad("expected 0x01 followed by a 32-byte Ed25519 seed"));
    }
    let mut seed = Zeroizing::new([0u8; 32]);
    seed.copy_from_slice(&bytes[1..]);
    let key = SecretKey::from_seed(name, &seed);
    if key.public().id() != id {
        return Err(bad("the key id does not match the name and key"));
    }
    Ok(key)
}

/// The message an Ed25519 v1 cosignature signs: header, time line, then the note text.
fn cosignature_message(text: &str, timestamp: u64) -> Vec<u8> {
    format!("{COSIGNATURE_V1_HEADER}time {timestamp}\n{text}").into_bytes()
}

/// Check every line by a trusted key, returning the keys that verified (each once) with the
/// cosignature timestamp for 0x04 keys. Any trusted line that fails rejects the note.
fn verify_lines<'k>(note: &Note, trusted: &[&'k PublicKey]) -> Result<Vec<(&'k PublicKey, Option<u64>)>> {
    let mut verified: Vec<(&'k PublicKey, Option<u64>)> = Vec::new();
    for (index, signature) in note.signatures.iter().enumerate() {
        let mut claimed = trusted.iter().copied().filter(|key| signature.is_by(key)).peekable();
        // Lines by unknown keys are ignored: the spec requires it (key rotation, other witnesses).
        if claimed.peek().is_none() {
            continue;
        }
        // Several trusted keys could share a name and a 4-byte id; the line is good if one verifies.
        let mut why = "does not verify";
        let mut good = None;
        for key in claimed {
            match verify_signature(key, &note.text, &signature.bytes) {
                Ok(timestamp) => {
                    good = Some((key, timestamp));
                    break;
                }
                Err(problem) => why = problem,
            }
        }
        let Some((key, timestamp)) = good else {
            return Err(Error::verification(format!(
                "signature line {} by trusted key {} {why}: the note was altered or the signature forged",
                index + 1,
                signature.name
            )));
        };
        if !verified.iter().any(|(seen, _)| *seen == key) {
            verified.push((key, timestamp));
        }
    }
    Ok(verified)
}

/// Verify one signature (the bytes after the key id) by `key` over the note `text`; for a
/// cosignature key, return the stated timestamp.
fn verify_signature(key: &PublicKey, text: &str, bytes: &[u8]) -> std::result::Result<Option<u64>, &'static str> {
    match key.algorithm() {
        ALGORITHM_ED25519 => {
            let signature =
                Signature::from_slice(bytes).map_err(|_| "is not a 64-byte Ed25519 signature after the key id")?;
            key.verifying_key().verify_strict(text.as_bytes(), &signature).map_err(|_| "does not verify")?;
            Ok(None)
        }
        ALGORITHM_COSIGNATURE_V1 => {
            if bytes.len() != COSIGNATURE_LEN {
                return Err("is not an 8-byte timestamp and a 64-byte Ed25519 signature after the key id");
            }
            let (time, signature) = bytes.split_at(8);
            let mut timestamp = [0u8; 8];
            timestamp.copy_from_slice(time);
            let timestamp = u64::from_be_bytes(timestamp);
            if timestamp > MAX_TIMESTAMP {
                return Err("states a timestamp above 2^63 - 1");
            }
            let signature = Signature::from_slice(signature).map_err(|_| "is not an Ed25519 signature")?;
            key.verifying_key()
                .verify_strict(&cosignature_message(text, timestamp), &signature)
                .map_err(|_| "does not verify as a cosignature")?;
            Ok(Some(timestamp))
        }
        _ => Err("uses a key type lianlog cannot verify"),
    }
}

/// Refuse verifier keys whose type this module cannot check (so a typo is not a silent "ignored").
fn check_verifier_types<'a>(mut keys: impl Iterator<Item = &'a PublicKey>, what: &str) -> Result<()> {
    match keys.find(|key| !matches!(key.algorithm(), ALGORITHM_ED25519 | ALGORITHM_COSIGNATURE_V1)) {
        Some(key) => Err(Error::bad_input(format!(
            "{what} {} has key type 0x{:02x}; only 0x01 (Ed25519) and 0x04 (cosignature v1) are supported",
            key.identity(),
            key.algorithm()
        ))),
        None => Ok(()),
    }
}

/// A C2SP key name: non-empty, no Unicode space, no `+`.
fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

/// Notes must not contain ASCII control characters other than newline.
fn check_note_characters(text: &str, what: &str) -> Result<()> {
    match text.chars().find(|&c| c < ' ' && c != '\n') {
        Some(c) => Err(Error::bad_input(format!(
            "{what} contains the control character U+{:04X}; only newline is allowed (C2SP signed-note)",
            u32::from(c)
        ))),
        None => Ok(()),
    }
}

/// A note text to sign: no control characters but newline, ending with a newline.
fn check_note_text(text: &str) -> Result<()> {
    check_note_characters(text, "the note text")?;
    if !text.ends_with('\n') {
        return Err(Error::bad_input("a note text must end with a newline"));
    }
    Ok(())
}

/// A checkpoint origin, as lianlog allows it: a key name (it is the log key's name) that does not
/// begin with `{` and is not `cosignature/v1` (domain separation, see the module docs).
fn check_origin(origin: &str) -> Result<()> {
    KeyName::parse(origin)?;
    if origin.starts_with('{') || origin == COSIGNATURE_V1_HEADER.trim_end() {
        return Err(Error::bad_input(format!(
            "the origin {origin:?} is not allowed: an origin must not begin with '{{' nor be `cosignature/v1`, \
             so that a checkpoint can never pass for a record or a cosignature"
        )));
    }
    Ok(())
}

/// ASCII decimal without leading zeros (except `0` itself), within u64.
fn parse_decimal(text: &str) -> Option<u64> {
    let canonical =
        !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && (text == "0" || !text.starts_with('0'));
    if canonical { text.parse().ok() } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::key_id;

    const CHECKPOINT: &str = include_str!("../../tests/vectors/checkpoint");
    const KEYS: &str = include_str!("../../tests/vectors/keys.json");

    fn keys_json() -> serde_json::Value {
        serde_json::from_str(KEYS).unwrap()
    }

    /// The vector log key: (secret, public).
    fn log_key() -> (SecretKey, PublicKey) {
        let keys = keys_json();
        let name = KeyName::parse(keys["log"]["name"].as_str().unwrap()).unwrap();
        let seed = parse_hex::<32>(keys["log"]["seed_hex"].as_str().unwrap()).unwrap();
        let public = PublicKey::parse_vkey(keys["log"]["vkey"].as_str().unwrap()).unwrap();
        let secret = SecretKey::from_seed(name, &seed);
        assert_eq!(secret.public(), &public);
        (secret, public)
    }

    fn key(name: &str, seed: u8) -> SecretKey {
        SecretKey::from_seed(KeyName::parse(name).unwrap(), &[seed; 32])
    }

    /// A well-formed signature line by `signer` over `text`, as an outsider would add it.
    fn line_by(signer: &SecretKey, text: &str) -> String {
        format!("\u{2014} {} {}\n", signer.name(), signer.signature_value(text.as_bytes()))
    }

    fn text_of(note: &str) -> String {
        Note::parse(note).unwrap().text
    }

    #[test]
    fn c2sp_example_verifies() {
        let vkey =
            PublicKey::parse_vkey("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k").unwrap();
        let note = "This is an example message.\n\n\u{2014} example.com/foo \
                    Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
        let parsed = Note::parse(note).unwrap();
        assert_eq!(parsed.text, "This is an example message.\n");
        assert_eq!(parsed.verify(std::slice::from_ref(&vkey)).unwrap(), vec![&vkey]);
        assert_eq!(parsed.to_string(), note);
    }

    #[test]
    fn go_sumdb_note_vector_is_reproduced() {
        let signer =
            parse_go_private_key("PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")
                .unwrap();
        let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
        assert_eq!(signer.public().vkey(), vkey);
        let text =
            "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
        let line = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
        let note = sign_note(text, &signer).unwrap();
        assert_eq!(note, format!("{text}\n{line}"));
        let public = PublicKey::parse_vkey(vkey).unwrap();
        assert_eq!(Note::parse(&note).unwrap().verify(std::slice::from_ref(&public)).unwrap(), vec![&public]);
    }

    #[test]
    fn go_private_key_parser_is_strict_and_quiet() {
        let good = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
        assert!(parse_go_private_key(good).is_ok());
        for bad in [
            "PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
            "PRIVATE+KEY+PeterNeumann+c74f20a3+AoEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
            "PUBLIC+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
            "PRIVATE+KEY+PeterNeumann+c74f20a3",
            "",
        ] {
            let err = parse_go_private_key(bad).unwrap_err();
            assert!(!err.message().contains("AYEKFALVFGyNhPJEMzD1QIDr"), "{err}");
        }
    }

    #[test]
    fn lianlog_checkpoint_vector_opens() {
        let (_, public) = log_key();
        let opened = open_checkpoint(CHECKPOINT, &public, &[]).unwrap();
        assert_eq!(opened.checkpoint.origin, "vectors.example/jw-ledger");
        assert_eq!(opened.checkpoint.size, 8);
        assert_eq!(
            opened.checkpoint.root,
            parse_hex::<32>("2c5ab460e0f5306deba82c192f134206b27988432c36bfc50443a0f5cbc55707").unwrap()
        );
        assert!(opened.extensions.is_empty() && opened.cosignatures.is_empty());
        assert_eq!(opened.text, opened.checkpoint.to_text());
        assert_eq!(Note::parse(CHECKPOINT).unwrap().to_string(), CHECKPOINT);
    }

    #[test]
    fn resigning_the_vector_checkpoint_reproduces_it() {
        let (secret, _) = log_key();
        let checkpoint = Checkpoint::parse_text(&text_of(CHECKPOINT)).unwrap();
        assert_eq!(sign_checkpoint(&checkpoint, &secret).unwrap(), CHECKPOINT);
    }

    #[test]
    fn any_flipped_byte_is_rejected() {
        let (_, public) = log_key();
        let original = CHECKPOINT.as_bytes();
        let mut tried = 0;
        for index in 0..original.len() {
            for mask in [0x01u8, 0x20, 0x80] {
                let mut bytes = original.to_vec();
                bytes[index] ^= mask;
                // Bytes that are not UTF-8 cannot even be handed to the parser.
                let Ok(note) = String::from_utf8(bytes) else { continue };
                tried += 1;
                assert!(open_checkpoint(&note, &public, &[]).is_err(), "byte {index} ^ {mask:#04x} accepted: {note:?}");
            }
        }
        // Every ASCII byte was tried at least twice (only the em dash's three bytes may not be).
        assert!(tried >= (original.len() - 3) * 2);
    }

    #[test]
    fn wrong_origin_is_rejected() {
        let (_, public) = log_key();
        let other = key("other.example/log", 7);
        let checkpoint = Checkpoint { origin: "other.example/log".into(), size: 8, root: [1; 32] };
        let note = sign_checkpoint(&checkpoint, &other).unwrap();
        assert!(open_checkpoint(&note, other.public(), &[]).is_ok());
        assert!(open_checkpoint(&note, &public, &[]).is_err());
        // Nor will the log key sign for another origin.
        let (secret, _) = log_key();
        assert!(sign_checkpoint(&checkpoint, &secret).is_err());
    }

    #[test]
    fn wrong_log_key_is_rejected() {
        // Same name (so same origin), different secret: the key id differs, the line is unknown.
        let impostor = key("vectors.example/jw-ledger", 9);
        assert!(open_checkpoint(CHECKPOINT, impostor.public(), &[]).is_err());
        let admin = PublicKey::parse_vkey(keys_json()["admin"]["vkey"].as_str().unwrap()).unwrap();
        assert!(open_checkpoint(CHECKPOINT, &admin, &[]).is_err());
        // The impostor's own signature over the same text does not make the log's key accept it.
        let (_, public) = log_key();
        let forged = sign_note(&text_of(CHECKPOINT), &impostor).unwrap();
        assert!(open_checkpoint(&forged, &public, &[]).is_err());
    }

    #[test]
    fn missing_blank_line_is_rejected() {
        let no_blank = CHECKPOINT.replacen("\n\n", "\n", 1);
        assert!(Note::parse(&no_blank).is_err());
        let (_, public) = log_key();
        assert!(open_checkpoint(&no_blank, &public, &[]).is_err());
        assert!(Note::parse("text without signatures\n").is_err());
        assert!(Note::parse("text\n\n").is_err());
    }

    #[test]
    fn signature_line_without_em_dash_is_rejected() {
        for dash in ["- ", "-- ", "\u{2013} ", "\u{2014}", "\u{2014}\u{2014} "] {
            let note = CHECKPOINT.replace("\u{2014} ", dash);
            assert!(Note::parse(&note).is_err(), "{dash:?}");
        }
    }

    #[test]
    fn note_syntax_is_strict() {
        let (secret, _) = log_key();
        let good = sign_note("hello\n", &secret).unwrap();
        assert!(Note::parse(&good).is_ok());
        let value = secret.signature_value(b"hello\n");
        let name = secret.name();
        for bad in [
            format!("hel\tlo\n\n\u{2014} {name} {value}\n"),
            format!("hello\r\n\n\u{2014} {name} {value}\n"),
            format!("hello\n\n\u{2014} {name} {value}"),
            format!("hello\n\n\u{2014} {name} {value}\n\n"),
            format!("hello\n\n\u{2014} {name}{value}\n"),
            format!("hello\n\n\u{2014}  {value}\n"),
            format!("hello\n\n\u{2014} a+b {value}\n"),
            format!("hello\n\n\u{2014} a\u{3000}b {value}\n"),
            format!("hello\n\n\u{2014} {name} \n"),
            format!("hello\n\n\u{2014} {name} AQIDBA==\n"),
            format!("hello\n\n\u{2014} {name} {}\n", value.trim_end_matches('=')),
            format!("hello\n\n\u{2014} {name} {value} \n"),
        ] {
            assert!(Note::parse(&bad).is_err(), "{bad:?}");
        }
        let huge = format!("{}\n\n\u{2014} {name} {value}\n", "a".repeat(MAX_NOTE_BYTES));
        assert!(Note::parse(&huge).is_err());
        assert!(sign_note(&format!("{}\n", "a".repeat(MAX_NOTE_BYTES)), &secret).is_err());
        assert!(sign_note("no newline", &secret).is_err());
        assert!(sign_note("bell\u{7}\n", &secret).is_err());
    }

    #[test]
    fn text_may_hold_blank_lines_and_round_trips() {
        let (secret, public) = log_key();
        let other = key("other.example", 3);
        for text in ["a\n\nb\n", "\n", "a\n\n", "\u{4e2d}\u{6587} \u{2014} note\n"] {
            let note = sign_note(text, &secret).unwrap();
            let note = add_signature(&note, &line_by(&other, text)).unwrap();
            let parsed = Note::parse(&note).unwrap();
            assert_eq!(parsed.text, text);
            assert_eq!(parsed.signatures.len(), 2);
            assert_eq!(parsed.to_string(), note);
            assert_eq!(parsed.verify(std::slice::from_ref(&public)).unwrap(), vec![&public]);
        }
    }

    #[test]
    fn more_than_100_signature_lines_are_refused() {
        let (_, public) = log_key();
        let text = text_of(CHECKPOINT);
        let mut note = CHECKPOINT.to_string();
        for index in 1..MAX_SIGNATURE_LINES {
            note = add_signature(&note, &line_by(&key(&format!("w{index}.example"), 1), &text)).unwrap();
        }
        // Exactly 100 lines: accepted.
        assert_eq!(Note::parse(&note).unwrap().signatures.len(), MAX_SIGNATURE_LINES);
        assert!(open_checkpoint(&note, &public, &[]).is_ok());
        // 101: refused, both when added and when read.
        assert!(add_signature(&note, &line_by(&key("w101.example", 1), &text)).is_err());
        let too_many = format!("{note}{}", line_by(&key("w101.example", 1), &text));
        assert!(Note::parse(&too_many).is_err());
        assert!(open_checkpoint(&too_many, &public, &[]).is_err());
    }

    #[test]
    fn sixteen_and_more_signature_lines_are_accepted() {
        let (_, public) = log_key();
        let cosigners: Vec<SecretKey> =
            (1..=15u8).map(|i| key(&format!("witness{i}.example"), i).as_cosigner()).collect();
        let mut note = CHECKPOINT.to_string();
        for (i, cosigner) in cosigners.iter().enumerate() {
            note = cosign(&note, cosigner, 1_700_000_000 + i as u64).unwrap();
        }
        for i in 0..5 {
            note = add_signature(&note, &line_by(&key(&format!("stranger{i}.example"), 50), &text_of(CHECKPOINT)))
                .unwrap();
        }
        assert_eq!(Note::parse(&note).unwrap().signatures.len(), 21);
        let trusted: Vec<PublicKey> = cosigners.iter().map(|c| c.public().clone()).collect();
        let opened = open_checkpoint(&note, &public, &trusted).unwrap();
        assert_eq!(opened.cosignatures.len(), 15);
        for (i, cosignature) in opened.cosignatures.iter().enumerate() {
            assert_eq!(cosignature.cosigner, trusted[i]);
            assert_eq!(cosignature.timestamp, 1_700_000_000 + i as u64);
        }
    }

    #[test]
    fn every_named_cosigner_must_have_cosigned() {
        let (_, public) = log_key();
        let first = key("witness.example/a", 31).as_cosigner();
        let second = key("witness.example/b", 32).as_cosigner();
        let both = [first.public().clone(), second.public().clone()];
        // Not cosigned at all: refused for each named cosigner, accepted when none is named.
        assert!(open_checkpoint(CHECKPOINT, &public, &[]).is_ok());
        let err = open_checkpoint(CHECKPOINT, &public, &both[..1]).unwrap_err();
        assert_eq!(err.kind(), crate::error::ErrorKind::Verification);
        let id = crate::encoding::hex(&first.public().id());
        assert!(err.message().contains(&format!("no cosignature by witness.example/a (key id {id})")), "{err}");
        assert!(err.message().contains("none cosigned it"), "{err}");
        // Cosigned by one of two: the other is named as missing, the one present as present.
        let once = cosign(CHECKPOINT, &first, 1_700_000_000).unwrap();
        let opened = open_checkpoint(&once, &public, &both[..1]).unwrap();
        assert_eq!(opened.cosignatures, vec![Cosignature { cosigner: both[0].clone(), timestamp: 1_700_000_000 }]);
        let err = open_checkpoint(&once, &public, &both).unwrap_err();
        assert!(err.message().contains("no cosignature by witness.example/b"), "{err}");
        assert!(err.message().contains("only witness.example/a"), "{err}");
        // By both: accepted, in line order.
        let twice = cosign(&once, &second, 1_700_000_001).unwrap();
        assert_eq!(open_checkpoint(&twice, &public, &both).unwrap().cosignatures.len(), 2);
        // A cosignature by a key with the same name but another secret does not count.
        let lookalike = key("witness.example/b", 33).as_cosigner();
        let wrong = cosign(&once, &lookalike, 1_700_000_002).unwrap();
        assert!(open_checkpoint(&wrong, &public, &both).is_err());
    }

    #[test]
    fn a_witness_quorum_counts_distinct_valid_cosignatures() {
        let (_, public) = log_key();
        let witnesses: Vec<SecretKey> = ["witness.example/a", "witness.example/b", "witness.example/c"]
            .iter()
            .zip(40u8..)
            .map(|(n, s)| key(n, s).as_cosigner())
            .collect();
        let keys: Vec<PublicKey> = witnesses.iter().map(|w| w.public().clone()).collect();
        let once = cosign(CHECKPOINT, &witnesses[0], 1_700_000_000).unwrap();
        let twice = cosign(&once, &witnesses[1], 1_700_000_001).unwrap();
        // 2 of 3 cosigned: a quorum of 2 passes, and the two are the cosignatures reported.
        let opened = open_checkpoint(&twice, &public, CosignerPolicy::quorum(&keys, 2).unwrap()).unwrap();
        let who: Vec<&PublicKey> = opened.cosignatures.iter().map(|c| &c.cosigner).collect();
        assert_eq!(who, vec![&keys[0], &keys[1]]);
        // 1 of 3 cosigned: a quorum of 2 fails, saying who cosigned, who did not, and how many were needed.
        let err = open_checkpoint(&once, &public, CosignerPolicy::quorum(&keys, 2).unwrap()).unwrap_err();
        assert_eq!(err.kind(), crate::error::ErrorKind::Verification);
        assert!(err.message().contains("cosigned by 1 of the 3 witnesses you named (witness.example/a"), "{err}");
        assert!(err.message().contains("but 2 are required"), "{err}");
        assert!(err.message().contains("no valid cosignature by witness.example/b"), "{err}");
        // A quorum of 3 (all) fails on 2 of 3; a plain list still means all.
        assert!(open_checkpoint(&twice, &public, CosignerPolicy::quorum(&keys, 3).unwrap()).is_err());
        assert!(open_checkpoint(&twice, &public, &keys).is_err());
        assert_eq!(CosignerPolicy::from(&keys), CosignerPolicy::all(&keys));
        // Naming a witness twice does not make its one cosignature count twice.
        let doubled = vec![keys[0].clone(), keys[0].clone(), keys[1].clone()];
        assert!(open_checkpoint(&once, &public, CosignerPolicy::quorum(&doubled, 2).unwrap()).is_err());
        assert!(CosignerPolicy::quorum(&doubled, 3).is_err(), "only 2 distinct witnesses");
        // A cosignature line twice by the same witness counts once (if the note is not refused).
        let repeated = format!("{once}{}\n", Note::parse(&once).unwrap().signatures[1].to_string().trim_end());
        assert!(open_checkpoint(&repeated, &public, CosignerPolicy::quorum(&keys, 2).unwrap()).is_err());
        // A bad cosignature does not count: by a look-alike key (same name, other secret) it is
        // ignored; by a named witness it rejects the checkpoint.
        let lookalike = cosign(&once, &key("witness.example/b", 99).as_cosigner(), 1_700_000_002).unwrap();
        assert!(open_checkpoint(&lookalike, &public, CosignerPolicy::quorum(&keys, 2).unwrap()).is_err());
        let forged_line =
            Note::parse(&cosign(CHECKPOINT, &witnesses[1], 7).unwrap()).unwrap().signatures[1].to_string();
        let mut bytes = forged_line.into_bytes();
        let at = bytes.len() - 10;
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        let forged = add_signature(&once, &String::from_utf8(bytes).unwrap()).unwrap();
        assert!(open_checkpoint(&forged, &public, CosignerPolicy::quorum(&keys, 2).unwrap()).is_err());
        // A quorum of 0, or above the number of witnesses, is refused as bad input.
        for quorum in [0, 4] {
            let err = CosignerPolicy::quorum(&keys, quorum).unwrap_err();
            assert_eq!(err.kind(), crate::error::ErrorKind::BadInput, "{err}");
            assert!(err.message().contains("between 1 and the number of distinct witnesses named (3)"), "{err}");
        }
    }

    #[test]
    fn unknown_key_signatures_are_ignored() {
        let (_, public) = log_key();
        let text = text_of(CHECKPOINT);
        let same_name = key("vectors.example/jw-ledger", 5);
        let stranger = key("stranger.example", 6);
        let mut note = CHECKPOINT.to_string();
        note = add_signature(&note, &line_by(&same_name, &text)).unwrap();
        note = add_signature(&note, &line_by(&stranger, "some other text\n")).unwrap();
        // Garbage from an unknown key (any length, any bytes) is ignored too.
        note = add_signature(&note, "\u{2014} \u{00e9}tranger.example AAAAAAA=").unwrap();
        let opened = open_checkpoint(&note, &public, &[]).unwrap();
        assert!(opened.cosignatures.is_empty());
        let parsed = Note::parse(&note).unwrap();
        assert_eq!(parsed.verify(std::slice::from_ref(&public)).unwrap(), vec![&public]);
        // Signatures from unknown keys only: nothing verified, rejected.
        let only_unknown = sign_note(&text, &same_name).unwrap();
        assert!(Note::parse(&only_unknown).unwrap().verify(std::slice::from_ref(&public)).is_err());
        assert!(open_checkpoint(&only_unknown, &public, &[]).is_err());
    }

    #[test]
    fn a_bad_signature_from_a_known_key_rejects_the_note() {
        let (_, public) = log_key();
        let cosigner = key("witness.example", 11).as_cosigner();
        let good = cosign(CHECKPOINT, &cosigner, 1_700_000_000).unwrap();
        let parsed = Note::parse(&good).unwrap();
        let trusted = [cosigner.public().clone()];
        assert!(open_checkpoint(&good, &public, &trusted).is_ok());
        let tamper = |edit: &dyn Fn(&mut Vec<u8>)| {
            let mut note = parsed.clone();
            edit(&mut note.signatures[1].bytes);
            note.to_string()
        };
        // Another timestamp, a flipped signature bit, a truncated signature.
        for bad in [
            tamper(&|bytes| bytes[7] ^= 1),
            tamper(&|bytes| bytes[40] ^= 1),
            tamper(&|bytes| bytes.truncate(70)),
            tamper(&|bytes| bytes[0] = 0x80),
        ] {
            assert!(open_checkpoint(&bad, &public, &trusted).is_err());
            // Untrusted, the same bad line is ignored.
            assert!(open_checkpoint(&bad, &public, &[]).is_ok());
        }
        // A cosignature made for another checkpoint does not transfer.
        let (secret, _) = log_key();
        let other = sign_checkpoint(&Checkpoint { origin: public.name().to_string(), size: 9, root: [2; 32] }, &secret)
            .unwrap();
        let other_line = Note::parse(&cosign(&other, &cosigner, 5).unwrap()).unwrap().signatures[1].to_string();
        let moved = add_signature(CHECKPOINT, &other_line).unwrap();
        assert!(open_checkpoint(&moved, &public, &trusted).is_err());
        // A bad log signature alongside a good one is still a bad signature from a known key.
        let mut doubled = Note::parse(CHECKPOINT).unwrap();
        let mut bad_copy = doubled.signatures[0].clone();
        bad_copy.bytes[3] ^= 1;
        doubled.signatures.push(bad_copy);
        assert!(open_checkpoint(&doubled.to_string(), &public, &[]).is_err());
    }

    #[test]
    fn cosignature_round_trip() {
        let (_, public) = log_key();
        let cosigner = key("witness.example/w1", 21).as_cosigner();
        assert_eq!(cosigner.public().algorithm(), ALGORITHM_COSIGNATURE_V1);
        // The cosigner's vkey round-trips with type 0x04 and its own key id.
        let vkey = PublicKey::parse_vkey(&cosigner.public().vkey()).unwrap();
        assert_eq!(&vkey, cosigner.public());
        assert_eq!(vkey.id(), key_id(vkey.name(), ALGORITHM_COSIGNATURE_V1, vkey.verifying_key().as_bytes()));
        let note = cosign(CHECKPOINT, &cosigner, 1_679_315_147).unwrap();
        assert!(note.starts_with(CHECKPOINT));
        let opened = open_checkpoint(&note, &public, std::slice::from_ref(&vkey)).unwrap();
        assert_eq!(opened.cosignatures, vec![Cosignature { cosigner: vkey.clone(), timestamp: 1_679_315_147 }]);
        // Untrusted, it is ignored.
        assert!(open_checkpoint(&note, &public, &[]).unwrap().cosignatures.is_empty());
        // As a plain note, both keys verify.
        let both = [public.clone(), vkey.clone()];
        assert_eq!(Note::parse(&note).unwrap().verify(&both).unwrap(), vec![&both[0], &both[1]]);
        // The signed message is the documented one.
        let parsed = Note::parse(&note).unwrap();
        let signature = &parsed.signatures[1];
        assert_eq!(signature.bytes[..8], 1_679_315_147u64.to_be_bytes());
        let message = format!("cosignature/v1\ntime 1679315147\n{}", parsed.text);
        let ed = Signature::from_slice(&signature.bytes[8..]).unwrap();
        assert!(vkey.verifying_key().verify_strict(message.as_bytes(), &ed).is_ok());
        // The same cosigner twice is refused; a timestamp over 2^63 - 1 too.
        assert!(cosign(&note, &cosigner, 1_679_315_148).is_err());
        assert!(cosign(CHECKPOINT, &cosigner, 1 << 63).is_err());
        // Only 0x04 keys cosign, only checkpoints are cosigned.
        assert!(cosign(CHECKPOINT, &key("witness.example/w1", 21), 1).is_err());
        let (secret, _) = log_key();
        assert!(cosign(&sign_note("not a checkpoint\n", &secret).unwrap(), &cosigner, 1).is_err());
    }

    #[test]
    fn key_types_are_checked() {
        let (secret, public) = log_key();
        let cosigner = key("witness.example", 4).as_cosigner();
        assert!(sign_note("hello\n", &cosigner).is_err());
        assert!(open_checkpoint(CHECKPOINT, &public, &[key("witness.example", 4).public().clone()]).is_err());
        assert!(open_checkpoint(CHECKPOINT, secret.as_cosigner().public(), &[]).is_err());
        let odd = PublicKey::new(KeyName::parse("odd").unwrap(), 0x02, *public.verifying_key());
        assert!(Note::parse(CHECKPOINT).unwrap().verify(&[public.clone(), odd]).is_err());
    }

    #[test]
    fn domain_separation() {
        let (secret, public) = log_key();
        // A record-like signature by the log key is a valid note signature...
        let record_note = format!("{{\"a\":1}}\n\n{}", line_by(&secret, "{\"a\":1}\n"));
        assert_eq!(Note::parse(&record_note).unwrap().verify(std::slice::from_ref(&public)).unwrap(), vec![&public]);
        // ...but never a checkpoint, and this module will not make one.
        assert!(open_checkpoint(&record_note, &public, &[]).is_err());
        assert!(sign_note("{\"a\":1}\n", &secret).is_err());
        assert!(Checkpoint::parse_text(&format!("{{\"a\":1}}\n8\n{}\n", base64(&[0; 32]))).is_err());
        let brace = Checkpoint { origin: "{log".into(), size: 1, root: [0; 32] };
        assert!(sign_checkpoint(&brace, &key("{log", 1)).is_err());
        let header = Checkpoint { origin: "cosignature/v1".into(), size: 1, root: [0; 32] };
        assert!(sign_checkpoint(&header, &key("cosignature/v1", 1)).is_err());
        assert!(sign_note("cosignature/v1\ntime 1\nx\n", &secret).is_err());

        // A checkpoint signature by the log key does not verify as a cosignature by the same
        // secret used as a cosigner (0x04), with or without a timestamp in front.
        let cosigner = secret.as_cosigner();
        let trusted = [cosigner.public().clone()];
        let checkpoint_signature = &Note::parse(CHECKPOINT).unwrap().signatures[0].bytes;
        for timestamp in [None, Some(0u64), Some(1_700_000_000)] {
            let mut value = cosigner.public().id().to_vec();
            if let Some(timestamp) = timestamp {
                value.extend_from_slice(&timestamp.to_be_bytes());
            }
            value.extend_from_slice(checkpoint_signature);
            let line = format!("\u{2014} {} {}", cosigner.name(), base64(&value));
            let note = add_signature(CHECKPOINT, &line).unwrap();
            assert!(open_checkpoint(&note, &public, &trusted).is_err());
        }
        // And a cosignature's signature does not verify as the log's checkpoint signature.
        let cosigned = Note::parse(&cosign(CHECKPOINT, &cosigner, 1_700_000_000).unwrap()).unwrap();
        let mut swapped = cosigned.clone();
        swapped.signatures = vec![NoteSignature {
            name: public.name().to_string(),
            id: public.id(),
            bytes: cosigned.signatures[1].bytes[8..].to_vec(),
        }];
        assert!(open_checkpoint(&swapped.to_string(), &public, &[]).is_err());
    }

    #[test]
    fn checkpoint_text_is_strict() {
        let root = base64(&[7; 32]);
        let good = format!("example.org/log\n42\n{root}\n");
        let checkpoint = Checkpoint::parse_text(&good).unwrap();
        assert_eq!(checkpoint, Checkpoint { origin: "example.org/log".into(), size: 42, root: [7; 32] });
        assert_eq!(checkpoint.to_text(), good);
        assert_eq!(Checkpoint::parse_text(&format!("o\n0\n{root}\n")).unwrap().size, 0);
        assert_eq!(Checkpoint::parse_text(&format!("o\n18446744073709551615\n{root}\n")).unwrap().size, u64::MAX);
        let (parsed, extensions) =
            Checkpoint::parse_text_with_extensions(&format!("o\n1\n{root}\nextension one\nx 2\n")).unwrap();
        assert_eq!((parsed.size, extensions), (1, vec!["extension one".to_string(), "x 2".to_string()]));
        let short_root = base64(&[7; 31]);
        assert_eq!(&root[42..], "c=");
        for bad in [
            format!("example.org/log\n042\n{root}\n"),
            format!("example.org/log\n00\n{root}\n"),
            format!("example.org/log\n+42\n{root}\n"),
            format!("example.org/log\n-0\n{root}\n"),
            format!("example.org/log\n 42\n{root}\n"),
            format!("example.org/log\n4 2\n{root}\n"),
            format!("example.org/log\n\n{root}\n"),
            format!("example.org/log\n18446744073709551616\n{root}\n"),
            format!("example.org/log\n42\n{short_root}\n"),
            format!("example.org/log\n42\n{}\n", root.trim_end_matches('=')),
            // Stray bits in the last character: not canonical.
            format!("example.org/log\n42\n{}d=\n", &root[..42]),
            format!("example.org/log\n42\n{root}"),
            format!("example.org/log\n42\n{root}\n\n"),
            format!("example.org/log\n42\n{root}\next\n\nmore\n"),
            "example.org/log\n42\n".to_string(),
            format!("\n42\n{root}\n"),
            format!("example org\n42\n{root}\n"),
            format!("example+org\n42\n{root}\n"),
            format!("{{example.org\n42\n{root}\n"),
            format!("example.org/log\n42\n{root}\nbell\u{7}\n"),
        ] {
            assert!(Checkpoint::parse_text(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn add_signature_checks_its_line() {
        let (secret, _) = log_key();
        let other = key("other.example", 8);
        let line = line_by(&other, &text_of(CHECKPOINT));
        let with = add_signature(CHECKPOINT, &line).unwrap();
        assert_eq!(with, format!("{CHECKPOINT}{line}"));
        assert_eq!(add_signature(CHECKPOINT, line.trim_end()).unwrap(), with);
        assert!(add_signature(&with, &line).is_err());
        assert!(add_signature(CHECKPOINT, &format!("{line}{line}")).is_err());
        assert!(add_signature(CHECKPOINT, &line.replace('\u{2014}', "-")).is_err());
        assert!(add_signature(CHECKPOINT, "").is_err());
        assert!(add_signature("not a note\n", &line).is_err());
        assert!(add_signature(CHECKPOINT, &line_by(&secret, "x\n")).is_err());
    }
}
