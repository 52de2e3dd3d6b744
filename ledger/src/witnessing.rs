//! The log side of witnessing (见证): what `lianlog serve --witness URL=VKEY … --witness-quorum K`
//! decides, as pure logic over a [`Ledger`] — the C2SP [tlog-witness] `add-checkpoint` request a
//! log sends each witness, the judgement of the witness's answer, the quorum, and the durable copy
//! of the newest checkpoint that reached it. The HTTP exchange is the caller's (`lianlog-remote`);
//! the server only carries bytes between the two.
//!
//! [tlog-witness]: https://c2sp.org/tlog-witness
//!
//! # Guarantees
//!
//! - **Requests a witness can check.** [`add_request`] sends the checkpoint with the consistency
//!   proof from the size the log believes the witness last cosigned, computed from the ledger's
//!   own tree ([`Ledger::consistency_proof`]); a witness that is ahead of the log (it cosigned a
//!   larger tree than this ledger has) is named, never sent a request that could not verify.
//! - **A cosignature counts only if it verifies.** [`judge_answer`] keeps, from a 200 answer, only
//!   the lines by the witness's own key (name and key id) that verify as C2SP tlog-cosignature v1
//!   over this checkpoint ([`Note::verify`], the one cosignature check); an answer with none, or
//!   with a forged one, is a refusal. A 409 gives the witness's size (`<size>\n`, `text/x.tlog.size`)
//!   and nothing else.
//! - **Quorum by the verifiers' rule.** [`open_witnessed`] decides quorum with
//!   [`note::open_checkpoint`] and [`CosignerPolicy::quorum`] — what `verify --witness …
//!   --witness-quorum K` requires — so the server never calls "witnessed" what a verifier refuses.
//! - **Durable, and checked when read back.** [`save_witnessed`] writes
//!   `LEDGER/witnessed.checkpoint` with `fsio::publish` (temporary file, fsync, rename, directory
//!   fsync), so a crash leaves the old file or the new one; [`load_witnessed`] accepts it only if
//!   the log key signed it and its root is this ledger's root at its size (a file from another
//!   ledger or another branch is an error naming the file).

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::fsio;
use crate::keys::{ALGORITHM_COSIGNATURE_V1, PublicKey};
use crate::ledger::Ledger;
use crate::limits::MAX_NOTE_BYTES;
use crate::merkle::Hash;
use crate::note::{self, Checkpoint, CosignerPolicy, Note, VerifiedCheckpoint};
use crate::proof::{InclusionBundle, parse_decimal};
use crate::receipt::Receipt;
use crate::witness::{AddRequest, SIZE_CONTENT_TYPE};

/// The file in the ledger directory holding the newest checkpoint that reached the witness
/// quorum, with every cosignature collected for it (a C2SP signed note).
pub const WITNESSED_FILE: &str = "witnessed.checkpoint";

/// The longest refusal text kept from a witness's answer (it is shown in logs and metrics).
const MAX_REASON_CHARS: usize = 300;

/// One witness a log sends its checkpoints to: where (`url`, the prefix of its `/add-checkpoint`)
/// and whose cosignatures count (`vkey`, a type 0x04 cosigner key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogWitness {
    /// The witness's URL prefix, `http://` or `https://`, without a trailing `/`.
    pub url: String,
    /// The witness's cosigner vkey (`lianlog key show --cosigner`).
    pub vkey: PublicKey,
}

impl LogWitness {
    /// Parse `URL=VKEY` (the value of `lianlog serve --witness`): the URL up to the first `=`, the
    /// cosigner vkey after it.
    pub fn parse(spec: &str) -> Result<LogWitness> {
        let bad = |why: String| {
            Error::bad_input(format!(
                "--witness {spec:?}: {why}; give URL=VKEY, e.g. \
                 http://witness.sjw.example:7380=sjw.example/witness+1a2b3c4d+BASE64 (the witness's \
                 cosigner vkey from `lianlog key show --cosigner`)"
            ))
        };
        let (url, vkey) = spec.split_once('=').ok_or_else(|| bad("no `=` between the URL and the vkey".into()))?;
        let url = url.trim_end_matches('/');
        let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"));
        if rest.is_none_or(|rest| rest.is_empty()) || url.bytes().any(|b| !b.is_ascii_graphic()) {
            return Err(bad(format!("{url:?} is not an http:// or https:// URL")));
        }
        let vkey = PublicKey::parse_vkey(vkey).map_err(|err| bad(err.message().to_string()))?;
        if vkey.algorithm() != ALGORITHM_COSIGNATURE_V1 {
            return Err(bad(format!(
                "{} is not a cosigner (type 0x04) vkey; use `lianlog key show --cosigner` of the witness's key",
                vkey.identity()
            )));
        }
        Ok(LogWitness { url: url.to_string(), vkey })
    }

    /// The witness's name (its key's name), as shown in logs and metrics.
    pub fn name(&self) -> &str {
        self.vkey.name().as_str()
    }
}

/// Check a log's witness list and quorum: no key twice, a quorum between 1 and the number of
/// witnesses (the same bounds a verifier's `--witness-quorum` has).
pub fn check_witnesses(witnesses: &[LogWitness], quorum: usize) -> Result<()> {
    for (index, witness) in witnesses.iter().enumerate() {
        if witnesses[..index].iter().any(|other| other.vkey == witness.vkey) {
            return Err(Error::bad_input(format!(
                "--witness names the witness key {} twice; each witness counts once towards the quorum",
                witness.vkey.identity()
            )));
        }
    }
    let keys = keys_of(witnesses);
    CosignerPolicy::quorum(&keys, quorum).map(|_| ())
}

/// The cosigner keys of `witnesses`, in order.
pub fn keys_of(witnesses: &[LogWitness]) -> Vec<PublicKey> {
    witnesses.iter().map(|witness| witness.vkey.clone()).collect()
}

/// The `add-checkpoint` request for a witness believed to have cosigned size `old` last: the
/// checkpoint `note` (signed by the log key, a checkpoint of this ledger) with the consistency
/// proof from `old` to its size. An `old` larger than the checkpoint means the witness cosigned a
/// tree this ledger does not have yet (or never had): an error saying so.
pub fn add_request(ledger: &Ledger, old: u64, note: &str) -> Result<AddRequest> {
    let parsed = Note::parse(note).map_err(|err| err.at("the checkpoint to witness"))?;
    let checkpoint = Checkpoint::parse_text(&parsed.text).map_err(|err| err.at("the checkpoint to witness"))?;
    if old > checkpoint.size {
        return Err(Error::verification(format!(
            "the witness already cosigned size {old} of {}, larger than this ledger's checkpoint of size {}: it \
             saw a longer tree than this ledger has; if this ledger was restored from an older copy, or another \
             copy of it was served, that is a split view (see docs/SECURITY.md)",
            checkpoint.origin, checkpoint.size
        )));
    }
    let proof =
        if old == 0 || old == checkpoint.size { Vec::new() } else { ledger.consistency_proof(old, checkpoint.size)? };
    Ok(AddRequest { old, proof, note: note.to_string() })
}

/// A witness's answer to `add-checkpoint`, judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WitnessReply {
    /// 200 with at least one valid cosignature by the witness's key: those lines (without their
    /// final newline).
    Cosigned(Vec<String>),
    /// 409: the witness last cosigned `size`; send again with that old size.
    Conflict(u64),
    /// Anything else: the status and why (the witness's text, shortened).
    Refused {
        /// The HTTP status (200 for an answer whose cosignatures did not check).
        status: u16,
        /// What was wrong.
        reason: String,
    },
}

/// Judge the witness `witness`'s answer (`status`, `content_type`, `body`) to the request that
/// carried `note`. Never panics; a malformed answer is a refusal.
pub fn judge_answer(
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
    note: &str,
    witness: &PublicKey,
) -> WitnessReply {
    let refused = |status: u16, reason: String| WitnessReply::Refused { status, reason };
    let text = String::from_utf8_lossy(body);
    match status {
        200 => match cosignatures_by(note, &text, witness) {
            Ok(lines) => WitnessReply::Cosigned(lines),
            Err(err) => refused(200, err.message().to_string()),
        },
        409 => {
            let size = text.strip_suffix('\n').and_then(parse_decimal);
            let typed = content_type.is_some_and(|value| value.split(';').next() == Some(SIZE_CONTENT_TYPE));
            match size {
                Some(size) if typed => WitnessReply::Conflict(size),
                _ => refused(
                    409,
                    format!(
                        "a 409 answer must be `<size>\\n` of type {SIZE_CONTENT_TYPE} (tlog-witness), not {:?}",
                        shorten(&text)
                    ),
                ),
            }
        }
        _ => refused(status, shorten(&text)),
    }
}

/// The lines of a 200 `body` by `witness` that verify as cosignatures of `note`.
fn cosignatures_by(note: &str, body: &str, witness: &PublicKey) -> Result<Vec<String>> {
    let mut cosigned = note.to_string();
    let mut lines = Vec::new();
    for line in body.lines() {
        let with = note::add_signature(&cosigned, line)
            .map_err(|err| err.at("the witness answered 200 with a line that is not a signature line"))?;
        let parsed = Note::parse(&with)?;
        let Some(signature) = parsed.signatures.last() else { continue };
        if signature.name == witness.name().as_str() && signature.id == witness.id() {
            lines.push(line.to_string());
            cosigned = with;
        }
    }
    if lines.is_empty() {
        return Err(Error::verification(format!(
            "the witness answered 200 without a cosignature by its key {}",
            witness.identity()
        )));
    }
    // Every line by the witness's key must verify (a forged one rejects the answer).
    Note::parse(&cosigned)?
        .verify(std::slice::from_ref(witness))
        .map_err(|err| err.at(format!("the cosignature of witness {}", witness.identity())))?;
    Ok(lines)
}

fn shorten(text: &str) -> String {
    let text = text.trim_end();
    let mut out: String = text.chars().filter(|c| !c.is_control() || *c == ' ').take(MAX_REASON_CHARS).collect();
    if text.chars().count() > MAX_REASON_CHARS {
        out.push('…');
    }
    out
}

/// The checkpoint `note` with the cosignature `lines` added (a line already there, by the same
/// key name and id, is not added twice).
pub fn with_cosignatures<'a>(note: &str, lines: impl IntoIterator<Item = &'a String>) -> Result<String> {
    let mut out = note.to_string();
    for line in lines {
        let parsed = NoteLine::of(line)?;
        if Note::parse(&out)?.signatures.iter().any(|s| s.name == parsed.name && s.id == parsed.id) {
            continue;
        }
        out = note::add_signature(&out, line)?;
    }
    Ok(out)
}

/// The name and key id of one signature line.
struct NoteLine {
    name: String,
    id: [u8; 4],
}

impl NoteLine {
    fn of(line: &str) -> Result<NoteLine> {
        // Parsed as the one signature of a throwaway note, by the one signature-line parser.
        let parsed = Note::parse(&format!("x\n\n{line}\n"))?;
        let signature = parsed.signatures.into_iter().next().ok_or_else(|| Error::bad_input("no signature line"))?;
        Ok(NoteLine { name: signature.name, id: signature.id })
    }
}

/// Open a witnessed checkpoint: the log key signed it and at least `quorum` of `witnesses` have a
/// valid cosignature on it (the rule of `verify --witness … --witness-quorum K`).
pub fn open_witnessed(
    note: &str,
    log_key: &PublicKey,
    witnesses: &[PublicKey],
    quorum: usize,
) -> Result<VerifiedCheckpoint> {
    note::open_checkpoint(note, log_key, CosignerPolicy::quorum(witnesses, quorum)?)
}

/// How many of `witnesses` have a valid cosignature on the log-signed `note` (0 if the note does
/// not check at all).
pub fn cosigned_by(note: &str, log_key: &PublicKey, witnesses: &[PublicKey]) -> usize {
    note::open_checkpoint(note, log_key, CosignerPolicy { keys: witnesses, quorum: 0 })
        .map_or(0, |checked| checked.cosignatures.len())
}

/// Where the witnessed checkpoint of `ledger` is kept.
pub fn witnessed_path(ledger: &Ledger) -> PathBuf {
    ledger.dir().join(WITNESSED_FILE)
}

/// Keep `note` (a checkpoint that reached quorum, with its cosignatures) as the ledger's witnessed
/// checkpoint, durably and atomically, replacing the one before.
pub fn save_witnessed(ledger: &Ledger, note: &str) -> Result<()> {
    fsio::publish_bytes(&witnessed_path(ledger), true, note.as_bytes())
}

/// The ledger's witnessed checkpoint, if one is kept and it meets the quorum of `witnesses` now
/// asked for (one kept under another witness list that does not is `None`: it is replaced by the
/// next checkpoint that does). A kept file the log key did not sign, or whose root is not this
/// ledger's root at its size, is an error naming the file: it belongs to another ledger or another
/// branch of this one.
pub fn load_witnessed(
    ledger: &Ledger,
    log_key: &PublicKey,
    witnesses: &[PublicKey],
    quorum: usize,
) -> Result<Option<(String, VerifiedCheckpoint)>> {
    let path = witnessed_path(ledger);
    let text = match fsio::read_small_text_in_ledger(&path, MAX_NOTE_BYTES as u64) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(Error::io("read", &path, err)),
    };
    let damaged = |err: Error| {
        Error::verification(format!(
            "{}: {}. This file is not a witnessed checkpoint of this ledger; move it away (keep it: it may be \
             evidence) and restart",
            path.display(),
            err.message()
        ))
    };
    let signed =
        note::open_checkpoint(&text, log_key, CosignerPolicy { keys: witnesses, quorum: 0 }).map_err(damaged)?;
    let size = signed.checkpoint.size;
    if size > ledger.size() || ledger.root_at(size)? != signed.checkpoint.root {
        return Err(damaged(Error::verification(format!(
            "its tree of size {size} is not this ledger's (of {} entries)",
            ledger.size()
        ))));
    }
    match open_witnessed(&text, log_key, witnesses, quorum) {
        Ok(checked) => Ok(Some((text, checked))),
        Err(_) => Ok(None),
    }
}

/// A receipt for the same entry as `receipt`, proved by `hashes` in the tree of `checkpoint` (a
/// signed note, e.g. a witnessed checkpoint): `lianlog receipt refresh`. Nothing is checked here;
/// the caller checks the result with [`Receipt::check`] before keeping it.
pub fn refreshed_receipt(receipt: &Receipt, hashes: Vec<Hash>, checkpoint: &str) -> Receipt {
    let proof =
        InclusionBundle { extra: None, index: receipt.seq, hashes, checkpoint: checkpoint.to_string() }.to_text();
    Receipt { proof, ..receipt.clone() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyName, SecretKey};
    use crate::merkle;

    const ORIGIN: &str = "jw.example.gov.cn/witnessing";

    fn log_key() -> SecretKey {
        SecretKey::from_seed(KeyName::parse(ORIGIN).unwrap(), &[7; 32])
    }

    fn witness_key(seed: u8) -> SecretKey {
        SecretKey::from_seed(KeyName::parse(&format!("witness{seed}.example")).unwrap(), &[seed; 32]).as_cosigner()
    }

    fn signed(size: u64, root: Hash) -> String {
        note::sign_checkpoint(&Checkpoint { origin: ORIGIN.into(), size, root }, &log_key()).unwrap()
    }

    fn cosignature_line(note_text: &str, key: &SecretKey) -> String {
        let cosigned = note::cosign(note_text, key, 1_700_000_000).unwrap();
        Note::parse(&cosigned).unwrap().signatures.last().unwrap().to_string()
    }

    #[test]
    fn parses_url_equals_vkey_and_refuses_what_is_not() {
        let key = witness_key(1);
        let spec = format!("http://127.0.0.1:7380/={}", key.public().vkey());
        let witness = LogWitness::parse(&spec).unwrap();
        assert_eq!(witness.url, "http://127.0.0.1:7380");
        assert_eq!(&witness.vkey, key.public());
        assert_eq!(witness.name(), "witness1.example");
        for bad in [
            "http://127.0.0.1:7380".to_string(),
            format!("ftp://x={}", key.public().vkey()),
            format!("http://={}", key.public().vkey()),
            format!("http://x={}", log_key().public().vkey()),
            "http://x=not-a-vkey".to_string(),
        ] {
            let err = LogWitness::parse(&bad).unwrap_err();
            assert!(err.message().contains("URL=VKEY"), "{bad}: {err}");
        }
    }

    #[test]
    fn witness_lists_and_quorums_are_checked() {
        let one = LogWitness { url: "http://a".into(), vkey: witness_key(1).public().clone() };
        let two = LogWitness { url: "http://b".into(), vkey: witness_key(2).public().clone() };
        check_witnesses(&[one.clone(), two.clone()], 2).unwrap();
        assert!(check_witnesses(&[one.clone(), two.clone()], 3).is_err());
        assert!(check_witnesses(&[one.clone(), two], 0).is_err());
        let err = check_witnesses(&[one.clone(), one], 1).unwrap_err();
        assert!(err.message().contains("twice"), "{err}");
    }

    #[test]
    fn answers_are_judged_by_the_witness_key() {
        let note_text = signed(3, [1; 32]);
        let key = witness_key(1);
        let other = witness_key(2);
        let line = cosignature_line(&note_text, &key);
        let body = format!("{line}\n{}\n", cosignature_line(&note_text, &other));
        let reply = judge_answer(200, Some("text/plain"), body.as_bytes(), &note_text, key.public());
        assert_eq!(reply, WitnessReply::Cosigned(vec![line.clone()]));
        // Only the other witness's line: no cosignature by this one.
        let only_other = format!("{}\n", cosignature_line(&note_text, &other));
        assert!(matches!(
            judge_answer(200, None, only_other.as_bytes(), &note_text, key.public()),
            WitnessReply::Refused { status: 200, .. }
        ));
        // A cosignature of another checkpoint does not verify for this one.
        let elsewhere = cosignature_line(&signed(4, [2; 32]), &key);
        assert!(matches!(
            judge_answer(200, None, format!("{elsewhere}\n").as_bytes(), &note_text, key.public()),
            WitnessReply::Refused { status: 200, .. }
        ));
        assert!(matches!(
            judge_answer(200, None, b"garbage\n", &note_text, key.public()),
            WitnessReply::Refused { status: 200, .. }
        ));
        assert_eq!(
            judge_answer(409, Some("text/x.tlog.size"), b"17\n", &note_text, key.public()),
            WitnessReply::Conflict(17)
        );
        assert!(matches!(
            judge_answer(409, Some("text/plain"), b"17\n", &note_text, key.public()),
            WitnessReply::Refused { status: 409, .. }
        ));
        assert!(matches!(
            judge_answer(409, Some("text/x.tlog.size"), b"017\n", &note_text, key.public()),
            WitnessReply::Refused { status: 409, .. }
        ));
        let reply = judge_answer(422, Some("text/plain"), b"bad proof\n", &note_text, key.public());
        assert_eq!(reply, WitnessReply::Refused { status: 422, reason: "bad proof".into() });
    }

    /// A ledger of a few key grants, and its log key.
    fn ledger(dir: &std::path::Path) -> (Ledger, SecretKey) {
        use crate::registry::{Holder, Role};
        let admin = SecretKey::from_seed(KeyName::parse("admin.zhao").unwrap(), &[1; 32]);
        let holder = Holder { name: "赵主任".into(), unit: "市纪委监委".into(), title: None };
        let origin = KeyName::parse("jw.example.gov.cn/accountability").unwrap();
        let mut ledger = Ledger::init(dir, &origin, &admin, holder.clone()).unwrap();
        for seed in 2..7u8 {
            let officer = SecretKey::from_seed(KeyName::parse(&format!("officer.{seed}")).unwrap(), &[seed; 32]);
            ledger.grant(&officer.public().vkey(), &[Role::Officer], &holder, &admin).unwrap();
        }
        let log_key = ledger.log_key(&mut || Err(Error::bad_input("no passphrase"))).unwrap();
        (ledger, log_key)
    }

    #[test]
    fn requests_carry_the_proof_from_the_witness_size_and_a_witness_ahead_is_named() {
        let temp = tempfile::tempdir().unwrap();
        let (ledger, log_key) = ledger(&temp.path().join("ledger"));
        let size = ledger.size();
        let note_text = ledger.checkpoint(size, &log_key).unwrap();
        assert!(add_request(&ledger, 0, &note_text).unwrap().proof.is_empty());
        assert!(add_request(&ledger, size, &note_text).unwrap().proof.is_empty());
        let request = add_request(&ledger, 2, &note_text).unwrap();
        assert_eq!(request.old, 2);
        assert_eq!(request.note, note_text);
        let root = ledger.root_at(size).unwrap();
        assert!(merkle::verify_consistency(2, size, &ledger.root_at(2).unwrap(), &root, &request.proof));
        let err = add_request(&ledger, size + 1, &note_text).unwrap_err();
        assert!(err.message().contains("larger than this ledger's checkpoint"), "{err}");
    }

    #[test]
    fn the_witnessed_checkpoint_is_kept_and_read_back_only_if_it_is_this_ledgers() {
        let temp = tempfile::tempdir().unwrap();
        let (ledger, log_key) = ledger(&temp.path().join("ledger"));
        let witness = witness_key(1);
        let keys = vec![witness.public().clone()];
        let log_public = log_key.public().clone();
        assert!(load_witnessed(&ledger, &log_public, &keys, 1).unwrap().is_none(), "nothing kept yet");
        let size = ledger.size() - 1;
        let note_text = ledger.checkpoint(size, &log_key).unwrap();
        let cosigned = with_cosignatures(&note_text, &[cosignature_line(&note_text, &witness)]).unwrap();
        save_witnessed(&ledger, &cosigned).unwrap();
        let (text, checked) = load_witnessed(&ledger, &log_public, &keys, 1).unwrap().unwrap();
        assert_eq!((text.as_str(), checked.checkpoint.size), (cosigned.as_str(), size));
        // Kept under another witness list: not witnessed for this one, and no error.
        let other = vec![witness_key(2).public().clone()];
        assert!(load_witnessed(&ledger, &log_public, &other, 1).unwrap().is_none());
        // Another branch's checkpoint (the log key signed another root for that size): an error.
        let forged =
            note::sign_checkpoint(&Checkpoint { origin: ledger.origin().to_string(), size, root: [9; 32] }, &log_key)
                .unwrap();
        save_witnessed(&ledger, &forged).unwrap();
        let err = load_witnessed(&ledger, &log_public, &keys, 1).unwrap_err();
        assert!(err.message().contains(WITNESSED_FILE) && err.message().contains("not this ledger's"), "{err}");
    }

    #[test]
    fn quorum_is_the_verifiers_rule_and_lines_are_added_once() {
        let note_text = signed(5, merkle::empty_root());
        let keys: Vec<SecretKey> = (1..=3).map(witness_key).collect();
        let publics: Vec<PublicKey> = keys.iter().map(|key| key.public().clone()).collect();
        let lines: Vec<String> = keys[..2].iter().map(|key| cosignature_line(&note_text, key)).collect();
        let once = with_cosignatures(&note_text, &lines[..1]).unwrap();
        assert!(open_witnessed(&once, log_key().public(), &publics, 2).is_err());
        assert_eq!(cosigned_by(&once, log_key().public(), &publics), 1);
        let twice = with_cosignatures(&once, lines.iter().chain(&lines)).unwrap();
        assert_eq!(Note::parse(&twice).unwrap().signatures.len(), 3, "{twice}");
        let checked = open_witnessed(&twice, log_key().public(), &publics, 2).unwrap();
        assert_eq!(checked.cosignatures.len(), 2);
        assert_eq!(cosigned_by(&twice, log_key().public(), &publics), 2);
    }
}
