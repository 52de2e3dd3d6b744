//! Disclosure packages (个人信息披露): what the ledger says about one person, provably where it
//! can be proven, and nothing that identifies anyone else.
//!
//! A package is one canonical JSON object (JCS, followed by a newline), signed as a whole by the
//! officer or admin who issued it, so that any altered byte either breaks its canonical form or
//! changes a value that is checked (docs/PRIVACY.md, "Disclosure package format"):
//!
//! ```text
//! {"checkpoint": <signed note>, "format": "lianlog-disclosure/v2",
//!  "keys": [{"line": <withheld line>, "proof": [<hex>, …], "reduced": <key body, holder left out>}, …],
//!  "origin": <origin>, "person": <person id>,
//!  "records": [{"line": <full or redacted line>, "proof": […]}
//!              | {"line": <withheld line>, "masked": <masked body>, "proof": […]}, …],
//!  "signature": <base64(key id ‖ Ed25519 signature)>, "signer": <author identity>,
//!  "withheld": [{"seq": <n>, "why": "redacted_without_replacement"}, …]}
//! ```
//!
//! What concerns the person ([`Cases`]): every record whose body (as written, as corrected, or as
//! the replacement of a redacted body) names them as a subject, reporter, target or interviewer;
//! every record of a case they are a subject of (the conclusion of their report, the appeal
//! against and the review of their decision, the completion of their rectification — the links
//! the projections follow); every correction of such a record; and the `ledger.redact` entry of
//! each such record that was redacted.
//!
//! What each line proves: every line's entry is proven (inclusion at index = its seq in the tree
//! the checkpoint signs, and its author's signature). A *full* line's body is proven by its
//! salted body hash. A body that also concerns another natural person is *masked*: the line is
//! carried withheld, and `masked` is the body with the other people (their whole person object:
//! id, name, unit, post) and every free text replaced by [`MASK`] — a body hash covers the whole
//! body, so a masked body cannot be proven; it is attested by the package's signer only. Key-registry
//! lines are carried withheld with `reduced` bodies (key, roles; never the holder or a revocation
//! reason), attested the same way and tied to each author identity by its key id.
//! A redacted record without any replacement can no longer be tied to anyone; every such seq of
//! the ledger is listed under `withheld`.
//!
//! Version 1 packages (all bodies full, key lines full, no signature) are still checked as before.
//! [`check`] needs only the package, the log's vkey and a crypto library.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::keys::{PublicKey, SecretKey};
use crate::ledger::Ledger;
use crate::record::{ParsedLine, StoredBody, StoredLine};
use crate::registry::{KeyRegistry, Role};
use crate::schema::FieldType;

/// The package format this version writes.
pub const FORMAT: &str = "lianlog-disclosure/v2";
/// The first package format (full bodies of every record and key line); still checked.
pub const FORMAT_V1: &str = "lianlog-disclosure/v1";
/// What replaces another person, or a free text, in a masked body.
pub const MASK: &str = "[已遮蔽 masked]";
/// Why a seq is listed under `withheld`: redacted, and no replacement or correction says whom it named.
pub const WITHHELD_REDACTED: &str = "redacted_without_replacement";

/// The signer's message starts with this line: never `{` (a record), never an origin followed by
/// a tree size (a checkpoint), never `cosignature/v1` (a cosignature).
const SIGNED_PREFIX: &[u8] = b"lianlog-disclosure/v2\n";

/// A written package and what it holds.
#[derive(Debug, Clone)]
pub struct Package {
    pub text: String,
    /// Record lines in the package (full, masked and redacted).
    pub records: usize,
    /// Of which masked.
    pub masked: usize,
    /// Of which redacted (their replacement, if any, is another record of the package).
    pub redacted: usize,
    /// Seqs listed as withheld (redacted with no replacement: whom they named is unknown).
    pub withheld: usize,
    pub key_lines: usize,
    pub size: u64,
    /// The author identity of the key that signed the package.
    pub signer: String,
}

/// How a record is shown in a package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// The whole body, proven by its body hash.
    Full,
    /// The body with other people and free text masked: attested by the signer, not proven.
    Masked,
    /// The body was redacted (内容已删除); the entry alone is proven.
    Redacted,
}

impl Shown {
    pub fn as_str(self) -> &'static str {
        match self {
            Shown::Full => "full",
            Shown::Masked => "masked",
            Shown::Redacted => "redacted",
        }
    }
}

/// What a successful check established.
#[derive(Debug, Clone)]
pub struct Checked {
    pub person: String,
    pub origin: String,
    pub size: u64,
    /// The package format (`lianlog-disclosure/v1` or `/v2`).
    pub format: String,
    /// (seq, kind) of each disclosed record.
    pub records: Vec<(u64, String)>,
    /// How each disclosed record is shown, by seq.
    pub shown: BTreeMap<u64, Shown>,
    /// (seq, why) of each record the package says it left out.
    pub withheld: Vec<(u64, String)>,
    /// Who signed the package (v2).
    pub signer: Option<String>,
    /// The cosignatures on the package's checkpoint by the cosigners the caller required.
    pub cosignatures: Vec<crate::note::Cosignature>,
}

/// Whether a record body names the person (the version 1 rule: directly, or in a correction's
/// corrected body).
pub fn names_person(kind: &str, body: &Value, person: &str) -> bool {
    let direct = crate::projection::person_ids(kind, body).iter().any(|id| id == person);
    let corrected = kind == "correction"
        && body.get("body").is_some_and(|inner| crate::projection::person_ids("", inner).iter().any(|id| id == person));
    direct || corrected
}

// ---- what concerns a person --------------------------------------------------------------------

/// The natural persons a body is about: `subjects[]`, `subject`, `reporter`, `target` that carry
/// an `id` (organisations do not), and masked people (as [`MASK`]). Interviewers are officials
/// acting in office, not what the record is about.
fn about(body: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut add = |value: &Value| match value {
        Value::String(text) if text == MASK => {
            out.insert(MASK.to_string());
        }
        Value::Object(members) => {
            if let Some(id) = members.get("id").and_then(Value::as_str) {
                out.insert(id.to_string());
            }
        }
        _ => {}
    };
    crate::projection::parties(body).for_each(&mut add);
    out
}

fn interviewers(body: &Value) -> impl Iterator<Item = &str> {
    body.get("interviewers").and_then(Value::as_array).into_iter().flatten().filter_map(|p| p["id"].as_str())
}

/// A case: its family (`r` report, `d` decision, `a` appeal, `x` rectification) and id.
type Case = (char, String);

fn id_of(body: &Value, field: &str) -> Option<String> {
    body.get(field).and_then(Value::as_str).map(str::to_string)
}

/// The case a record opens.
fn opens_case(kind: &str, body: &Value) -> Option<Case> {
    match kind {
        "report.received" => Some(('r', id_of(body, "report_id")?)),
        "accountability.decision" => Some(('d', id_of(body, "decision_id")?)),
        "appeal.filed" => Some(('a', id_of(body, "appeal_id")?)),
        "rectification.ordered" => Some(('x', id_of(body, "rectification_id")?)),
        _ => None,
    }
}

/// The case a record belongs to without naming anyone (the links of `projection::related_case`).
fn links_case(kind: &str, body: &Value) -> Option<Case> {
    match kind {
        "report.concluded" => Some(('r', id_of(body, "report_id")?)),
        "appeal.filed" => Some(('d', id_of(body, "decision_id")?)),
        "appeal.decided" => Some(('a', id_of(body, "appeal_id")?)),
        "rectification.completed" => Some(('x', id_of(body, "rectification_id")?)),
        _ => None,
    }
}

/// The cases of one person, built from every body a package (or the ledger) shows.
struct Cases<'p> {
    person: &'p str,
    /// Cases the person is a subject of.
    mine: BTreeSet<Case>,
    /// The people each case is about (its subjects, over every version of its opening record).
    about: BTreeMap<Case, BTreeSet<String>>,
}

impl<'p> Cases<'p> {
    /// `bodies`: (kind, body) of every body shown, including corrected and replacement bodies
    /// (as bodies of their target's kind).
    fn new(person: &'p str, bodies: &[(&str, &Value)]) -> Cases<'p> {
        let mut cases = Cases { person, mine: BTreeSet::new(), about: BTreeMap::new() };
        for (kind, body) in bodies {
            if let Some(case) = opens_case(kind, body) {
                let people = about(body);
                if people.contains(person) {
                    cases.mine.insert(case.clone());
                }
                cases.about.entry(case).or_default().extend(people);
            }
        }
        // An appeal is about the people of its decision.
        for (kind, body) in bodies.iter().filter(|(kind, _)| *kind == "appeal.filed") {
            if let (Some(appeal), Some(decision)) = (opens_case(kind, body), links_case(kind, body)) {
                if cases.mine.contains(&decision) {
                    cases.mine.insert(appeal.clone());
                }
                let people = cases.about.get(&decision).cloned().unwrap_or_default();
                cases.about.entry(appeal).or_default().extend(people);
            }
        }
        cases
    }

    /// Whether a body of `kind` concerns the person: it names them, or belongs to their case.
    fn concerns(&self, kind: &str, body: &Value) -> bool {
        about(body).contains(self.person)
            || interviewers(body).any(|id| id == self.person)
            || links_case(kind, body).is_some_and(|case| self.mine.contains(&case))
    }

    /// Whether a body of `kind` is also about someone else (directly or through its case).
    fn names_others(&self, kind: &str, body: &Value) -> bool {
        let mut people = about(body);
        if let Some(case) = links_case(kind, body) {
            people.extend(self.about.get(&case).cloned().unwrap_or_default());
        }
        people.iter().any(|id| id != self.person)
    }
}

// ---- masking ---------------------------------------------------------------------------------

/// A person object is kept if it is the person or an organisation; anyone else is masked whole.
fn mask_person(value: &Value, person: &str) -> Value {
    let keep = value.get("org_id").is_some() || value.get("id").and_then(Value::as_str) == Some(person);
    if keep { value.clone() } else { Value::String(MASK.into()) }
}

/// `body` of `kind` version `v` with everyone but `person` (and interviewers) and every free
/// text replaced by [`MASK`]. `target` is the kind and version of a correction's or a
/// redaction's target, whose body they carry.
fn mask_body(kind: &str, v: u64, body: &Value, person: &str, target: Option<(&str, u64)>) -> Value {
    let Some(members) = body.as_object() else { return Value::String(MASK.into()) };
    let inner = |value: &Value| match target {
        Some((target_kind, target_v)) => mask_body(target_kind, target_v, value, person, None),
        None => Value::String(MASK.into()),
    };
    let mut out = Map::new();
    match kind {
        "correction" | "ledger.redact" => {
            for (name, value) in members {
                let masked = match name.as_str() {
                    "target" => value.clone(),
                    "body" | "replacement" => inner(value),
                    _ => Value::String(MASK.into()),
                };
                out.insert(name.clone(), masked);
            }
        }
        _ => {
            let fields = crate::schema::lookup(kind)
                .and_then(|spec| spec.version(v).or_else(|| spec.versions.last()))
                .map(|version| version.fields)
                .unwrap_or_default();
            for (name, value) in members {
                let field_type = fields.iter().find(|f| f.name == name).map(|f| f.field_type);
                let masked = match field_type {
                    _ if name == "interviewers" => value.clone(),
                    Some(FieldType::Person | FieldType::PersonOrOrganisation) => mask_person(value, person),
                    Some(FieldType::People | FieldType::PeopleOrOrganisations) => {
                        Value::Array(value.as_array().into_iter().flatten().map(|p| mask_person(p, person)).collect())
                    }
                    Some(
                        FieldType::Id
                        | FieldType::Date
                        | FieldType::Enum(_)
                        | FieldType::Organisation
                        | FieldType::Basis
                        | FieldType::Period
                        | FieldType::Sha256
                        | FieldType::EntryRef
                        | FieldType::CheckpointRef,
                    ) => value.clone(),
                    // Free text (Text, Line, TextList) may describe anyone; unknown fields too.
                    _ => Value::String(MASK.into()),
                };
                out.insert(name.clone(), masked);
            }
        }
    }
    Value::Object(out)
}

// ---- building --------------------------------------------------------------------------------

fn stored_line_value(line: &StoredLine) -> Result<Value> {
    let bytes = line.to_line().map_err(|e| Error::verification(e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::verification(e.to_string()))
}

fn proof_value(ledger: &Ledger, seq: u64, size: u64) -> Result<Value> {
    let proof = ledger.inclusion_proof(seq, size)?;
    Ok(Value::Array(proof.iter().map(|h| Value::String(crate::encoding::hex(h))).collect()))
}

/// The key body with only what checking signatures needs: keys and roles, never a holder or a
/// revocation reason.
fn reduce_key_body(kind: &str, body: &Value) -> Value {
    match kind {
        "ledger.genesis" => json!({
            "admins": body["admins"].as_array().into_iter().flatten().map(|a| json!({"key": a["key"]})).collect::<Vec<_>>(),
            "log_key": body["log_key"],
            "origin": body["origin"],
        }),
        "key.grant" => json!({"key": body["key"], "roles": body["roles"]}),
        _ => json!({"key": body["key"]}),
    }
}

/// A reduced key body made whole again for [`KeyRegistry::apply`], with [`MASK`] as holder and
/// reason (the registry's rules do not read them).
fn inflate_key_body(kind: &str, reduced: &Value, place: &str) -> std::result::Result<Value, String> {
    let holder = json!({"name": MASK, "unit": MASK});
    let fields: &[&str] = match kind {
        "ledger.genesis" => &["admins", "log_key", "origin"],
        "key.grant" => &["key", "roles"],
        "key.revoke" => &["key"],
        other => return Err(format!("{place}: a {other} line is not a key-registry line")),
    };
    let members =
        crate::registry::object_with(reduced, &format!("{place}.reduced"), fields, &[]).map_err(|e| e.to_string())?;
    let mut body = Value::Object(members.clone());
    match kind {
        "ledger.genesis" => {
            let admins =
                members["admins"].as_array().ok_or_else(|| format!("{place}.reduced.admins must be a list"))?;
            let mut whole = Vec::new();
            for (index, admin) in admins.iter().enumerate() {
                let admin =
                    crate::registry::object_with(admin, &format!("{place}.reduced.admins[{index}]"), &["key"], &[])
                        .map_err(|e| e.to_string())?;
                whole.push(json!({"key": admin["key"], "holder": holder}));
            }
            body["admins"] = Value::Array(whole);
        }
        "key.grant" => body["holder"] = holder,
        _ => body["reason"] = json!(MASK),
    }
    Ok(body)
}

/// One record of the ledger and what says whom it is about: its own body, its corrections and its
/// redaction.
struct Group {
    line: ParsedLine,
    /// The `ledger.redact` entry that removed its body.
    redaction: Option<ParsedLine>,
    corrections: Vec<ParsedLine>,
}

impl Group {
    fn kind(&self) -> &str {
        &self.line.line.entry.record.kind
    }

    /// Every body that speaks for this record, as a body of its kind.
    fn bodies(&self) -> Vec<&Value> {
        let mut out: Vec<&Value> = self.line.line.body().into_iter().collect();
        if let Some(replacement) =
            self.redaction.as_ref().and_then(|r| r.line.body()).and_then(|b| b.get("replacement"))
        {
            out.push(replacement);
        }
        out.extend(self.corrections.iter().filter_map(|c| c.line.body()).filter_map(|b| b.get("body")));
        out
    }
}

/// The checkpoint a package is proven against.
#[derive(Clone, Copy)]
pub enum PackageCheckpoint<'a> {
    /// A fresh checkpoint of the whole ledger, signed now with the log key.
    Sign(&'a SecretKey),
    /// A checkpoint already signed by the log key — typically one witnesses have cosigned, so
    /// that the person can require their cosignatures (`check disclosure --cosigner`) — which
    /// must cover the whole ledger as it is now.
    Given(&'a str),
}

/// A given checkpoint for a package: signed by this ledger's log key, for its origin, of its
/// whole size and root (a package proves every record against one tree: the ledger's now).
fn checked_given_checkpoint(ledger: &Ledger, note: &str) -> Result<String> {
    let log_key = PublicKey::parse_vkey(&ledger.registry().log_key)?;
    let verified = crate::note::open_checkpoint(note, &log_key, &[])?;
    let given = &verified.checkpoint;
    if given.origin != ledger.origin() {
        return Err(Error::bad_input(format!(
            "the checkpoint is for ledger {:?}, not {:?}",
            given.origin,
            ledger.origin()
        )));
    }
    if given.size == ledger.size() && given.root != ledger.root() {
        return Err(Error::verification(format!(
            "the checkpoint and this ledger: {}",
            crate::proof::fork_message(given.size, &given.root, &ledger.root())
        )));
    }
    if given.size != ledger.size() {
        return Err(Error::bad_input(format!(
            "the checkpoint covers {} entries, but a package is proven against the whole ledger ({} entries) \
             as it is now; have the latest checkpoint (`lianlog checkpoint`) cosigned and pass that one",
            given.size,
            ledger.size()
        )));
    }
    Ok(note.to_string())
}

/// Build the package for `person` against a checkpoint of the whole ledger signed by `log_key`,
/// signed by `signer` (an officer's or admin's key, active now).
///
/// Refuses (bad input, nothing written) a person no record concerns.
pub fn disclose(ledger: &Ledger, person: &str, checkpoint: PackageCheckpoint, signer: &SecretKey) -> Result<Package> {
    let size = ledger.size();
    let signer_id = signer.public().identity();
    let registry = ledger.registry();
    let allowed = registry.keys.get(&signer_id).is_some_and(|state| {
        state.revoked.is_none()
            && state.vkey == signer.public().vkey()
            && (state.roles.contains(&Role::Officer) || state.roles.contains(&Role::Admin))
    });
    if !allowed {
        return Err(Error::unauthorized(format!(
            "key {signer_id} cannot sign a disclosure package: it must be an officer's or an admin's key \
             granted in this ledger and not revoked (see `lianlog key list`)"
        )));
    }
    let checkpoint = match checkpoint {
        PackageCheckpoint::Sign(log_key) => ledger.checkpoint(size, log_key)?,
        PackageCheckpoint::Given(note) => checked_given_checkpoint(ledger, note)?,
    };

    // One pass over the log: the key-registry lines, and which records were corrected or
    // redacted (neither is indexed by person once the body is gone or corrected away).
    let mut keys = Vec::new();
    let mut corrections: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    let mut redactions: BTreeMap<u64, u64> = BTreeMap::new();
    for line in ledger.lines_from(0)? {
        let line = line?;
        let entry = &line.line.entry;
        let kind = entry.record.kind.as_str();
        if entry.seq == 0 || kind.starts_with("key.") {
            let body = line.line.body().ok_or_else(|| {
                Error::verification(format!("seq {}: a key-registry line has no body; run `lianlog verify`", entry.seq))
            })?;
            keys.push(json!({
                "line": stored_line_value(&line.line.withheld())?,
                "proof": proof_value(ledger, entry.seq, size)?,
                "reduced": reduce_key_body(kind, body),
            }));
        } else if let Some(body) = line.line.body() {
            let target = body["target"]["seq"].as_u64();
            match (kind, target) {
                ("correction", Some(target)) => corrections.entry(target).or_default().push(entry.seq),
                ("ledger.redact", Some(target)) => {
                    redactions.insert(target, entry.seq);
                }
                _ => {}
            }
        }
    }

    // Candidates: the person's index (names and case links, bodies in force) and every
    // corrected or redacted record.
    let mut candidates: BTreeSet<u64> = ledger.dossier(person)?.iter().map(|view| view.seq).collect();
    candidates.extend(corrections.keys());
    candidates.extend(redactions.keys());
    let mut groups = Vec::new();
    for seq in candidates {
        let line = ledger.read(seq)?;
        let kind = line.line.entry.record.kind.as_str();
        if crate::record::kind_keeps_body(kind) || kind == "correction" {
            continue;
        }
        let redaction = match line.line.body {
            StoredBody::Redacted { by } => Some(ledger.read(by)?),
            _ => None,
        };
        let corrections =
            corrections.get(&seq).into_iter().flatten().map(|c| ledger.read(*c)).collect::<Result<_>>()?;
        groups.push(Group { line, redaction, corrections });
    }
    let bodies: Vec<(&str, &Value)> =
        groups.iter().flat_map(|g| g.bodies().into_iter().map(move |body| (g.kind(), body))).collect();
    let cases = Cases::new(person, &bodies);

    let mut records: Vec<(u64, Value)> = Vec::new();
    let (mut masked, mut redacted) = (0, 0);
    let mut withheld = Vec::new();
    for group in &groups {
        let kind = group.kind();
        let group_bodies = group.bodies();
        if group_bodies.is_empty() {
            withheld.push(json!({"seq": group.line.line.entry.seq, "why": WITHHELD_REDACTED}));
            continue;
        }
        if !group_bodies.iter().any(|body| cases.concerns(kind, body)) {
            continue;
        }
        let others = group_bodies.iter().any(|body| cases.names_others(kind, body));
        let v = group.line.line.entry.record.v;
        let target = Some((kind, v));
        let current = Some((kind, crate::schema::current_version(kind)));
        // The record itself: full unless its own body is also about someone else.
        let own_others = group.line.line.body().is_some_and(|body| cases.names_others(kind, body));
        let own_target = None;
        for (line, mask_target, mask) in std::iter::once((&group.line, own_target, own_others))
            .chain(group.redaction.iter().map(|r| (r, target, others)))
            .chain(group.corrections.iter().map(|c| (c, current, others)))
        {
            let seq = line.line.entry.seq;
            let item = match line.line.body() {
                Some(body) if mask => {
                    masked += 1;
                    let record = &line.line.entry.record;
                    json!({
                        "line": stored_line_value(&line.line.withheld())?,
                        "masked": mask_body(&record.kind, record.v, body, person, mask_target),
                        "proof": proof_value(ledger, seq, size)?,
                    })
                }
                body => {
                    redacted += usize::from(body.is_none());
                    json!({"line": stored_line_value(&line.line)?, "proof": proof_value(ledger, seq, size)?})
                }
            };
            records.push((seq, item));
        }
    }
    if records.is_empty() {
        let unknown = if withheld.is_empty() {
            String::new()
        } else {
            format!(
                " ({} redacted records have no replacement, so the ledger no longer knows whom they named)",
                withheld.len()
            )
        };
        return Err(Error::bad_input(format!(
            "no record names person {person}{unknown}; check the id with `lianlog query --person {person}` \
             or `lianlog dossier {person}`; nothing was written"
        )));
    }
    records.sort_by_key(|(seq, _)| *seq);
    let (record_count, key_count, withheld_count) = (records.len(), keys.len(), withheld.len());
    let mut package = json!({
        "checkpoint": checkpoint,
        "format": FORMAT,
        "keys": keys,
        "origin": ledger.origin(),
        "person": person,
        "records": records.into_iter().map(|(_, item)| item).collect::<Vec<_>>(),
        "signer": signer_id,
        "withheld": withheld,
    });
    let unsigned = crate::canonical::encode(&package, "package").map_err(|e| Error::bad_input(e.to_string()))?;
    package["signature"] = json!(signer.signature_value(&[SIGNED_PREFIX, &unsigned].concat()));
    let mut text =
        String::from_utf8(crate::canonical::encode(&package, "package").map_err(|e| Error::bad_input(e.to_string()))?)
            .map_err(|_| Error::bad_input("package is not UTF-8"))?;
    text.push('\n');
    Ok(Package {
        text,
        records: record_count,
        masked,
        redacted,
        withheld: withheld_count,
        key_lines: key_count,
        size,
        signer: signer_id,
    })
}

// ---- checking --------------------------------------------------------------------------------

/// One line of a package, parsed and proven to be in the tree.
struct Item {
    is_record: bool,
    line: ParsedLine,
    /// The masked body (v2 records) or the reduced key body made whole (v2 keys).
    shown: Option<Value>,
}

impl Item {
    fn seq(&self) -> u64 {
        self.line.line.entry.seq
    }

    fn kind(&self) -> &str {
        &self.line.line.entry.record.kind
    }

    /// The body this item shows: the full body, or the masked one.
    fn body(&self) -> Option<&Value> {
        self.line.line.body().or(self.shown.as_ref())
    }

    fn shown(&self) -> Shown {
        match (&self.line.line.body, &self.shown) {
            (StoredBody::Full { .. }, _) => Shown::Full,
            (StoredBody::Redacted { .. }, _) => Shown::Redacted,
            _ => Shown::Masked,
        }
    }
}

/// Check a package offline against the log's vkey; every cosigner in `cosigners` must have
/// cosigned its checkpoint.
pub fn check(text: &str, log_key: &PublicKey, cosigners: &[PublicKey]) -> Result<Checked> {
    let bad = |why: String| Error::verification(format!("disclosure package: {why}"));
    let body = text.strip_suffix('\n').ok_or_else(|| bad("must end with a newline".into()))?;
    let package = crate::canonical::parse_canonical(body.as_bytes(), "package").map_err(|e| bad(e.to_string()))?;
    let format = package.get("format").and_then(Value::as_str).unwrap_or_default().to_string();
    let v2 = match format.as_str() {
        FORMAT => true,
        FORMAT_V1 => false,
        other => {
            return Err(bad(format!(
                "format {other:?} is not {FORMAT:?} (or the older {FORMAT_V1:?}); a newer lianlog may read it"
            )));
        }
    };
    let members = if v2 {
        crate::registry::object_with(
            &package,
            "package",
            &["checkpoint", "format", "keys", "origin", "person", "records", "signature", "signer", "withheld"],
            &[],
        )
    } else {
        crate::registry::object_with(
            &package,
            "package",
            &["checkpoint", "format", "keys", "origin", "person", "records"],
            &[],
        )
    }
    .map_err(|e| bad(e.to_string()))?;
    let person = members["person"].as_str().ok_or_else(|| bad("person must be a string".into()))?;
    let origin = members["origin"].as_str().ok_or_else(|| bad("origin must be a string".into()))?;
    let note = members["checkpoint"].as_str().ok_or_else(|| bad("checkpoint must be a string".into()))?;
    let checkpoint = crate::note::open_checkpoint(note, log_key, cosigners)?;
    let (size, root) = (checkpoint.checkpoint.size, checkpoint.checkpoint.root);
    if checkpoint.checkpoint.origin != origin {
        return Err(bad(format!(
            "the checkpoint is for {:?}, the package says {origin:?}",
            checkpoint.checkpoint.origin
        )));
    }
    // Parse and prove every line, then walk keys and records together in seq order.
    let mut items: Vec<Item> = Vec::new();
    for (section, is_record) in [("keys", false), ("records", true)] {
        let list = members[section].as_array().ok_or_else(|| bad(format!("{section} must be a list")))?;
        let mut previous: Option<u64> = None;
        for (index, item) in list.iter().enumerate() {
            let place = format!("{section}[{index}]");
            let optional: &[&str] = if v2 && is_record { &["masked"] } else { &[] };
            let required: &[&str] = if v2 && !is_record { &["line", "proof", "reduced"] } else { &["line", "proof"] };
            let item =
                crate::registry::object_with(item, &place, required, optional).map_err(|e| bad(e.to_string()))?;
            let bytes = crate::canonical::encode(&item["line"], &place).map_err(|e| bad(e.to_string()))?;
            let parsed = ParsedLine::parse(&bytes).map_err(|e| bad(format!("{place}.line: {e}")))?;
            let seq = parsed.line.entry.seq;
            if previous.is_some_and(|p| p >= seq) {
                return Err(bad(format!("{place}: lines must be in increasing seq order")));
            }
            previous = Some(seq);
            let proof: Vec<[u8; 32]> = item["proof"]
                .as_array()
                .ok_or_else(|| bad(format!("{place}.proof must be a list")))?
                .iter()
                .take(crate::proof::MAX_PROOF_HASHES + 1)
                .map(|h| h.as_str().and_then(crate::encoding::parse_hex::<32>))
                .collect::<Option<_>>()
                .ok_or_else(|| bad(format!("{place}.proof: hashes must be 64 lowercase hex digits")))?;
            if !crate::merkle::verify_inclusion(seq, size, &parsed.entry_hash.0, &proof, &root) {
                return Err(bad(format!(
                    "{place}: seq {seq} is not in the tree the checkpoint signs (the line or its proof was altered)"
                )));
            }
            let withheld = matches!(parsed.line.body, StoredBody::Withheld);
            let shown = match (v2, is_record, item.get("masked"), item.get("reduced")) {
                (false, _, _, _) if withheld => {
                    return Err(bad(format!("{place}: seq {seq}: a version 1 package carries whole lines")));
                }
                (false, _, _, _) => None,
                (true, true, Some(masked), _) if withheld && masked.is_object() => Some(masked.clone()),
                (true, true, Some(_), _) => {
                    return Err(bad(format!(
                        "{place}: seq {seq}: a masked record is a withheld line with a masked body object"
                    )));
                }
                (true, true, None, _) if withheld => {
                    return Err(bad(format!("{place}: seq {seq}: a withheld record line needs its masked body")));
                }
                (true, true, None, _) => None,
                (true, false, _, Some(reduced)) if withheld => {
                    Some(inflate_key_body(&parsed.line.entry.record.kind, reduced, &place).map_err(bad)?)
                }
                (true, false, _, _) => {
                    return Err(bad(format!(
                        "{place}: seq {seq}: key lines are carried withheld, with reduced bodies"
                    )));
                }
            };
            items.push(Item { is_record, line: parsed, shown });
        }
    }
    items.sort_by_key(Item::seq);
    if items.windows(2).any(|pair| pair[0].seq() == pair[1].seq()) {
        return Err(bad("a seq is listed both as a key line and as a record".into()));
    }
    let mut registry = KeyRegistry::default();
    for item in &items {
        let entry = &item.line.line.entry;
        let seq = entry.seq;
        let key_body = if item.is_record { None } else { item.body() };
        let key = if seq == 0 {
            let body = key_body.ok_or_else(|| bad("the genesis line (seq 0) must come first, in keys".into()))?;
            registry.apply(0, &entry.record, body).map_err(|e| bad(format!("genesis: {e}")))?;
            if registry.log_key != log_key.vkey() {
                return Err(bad(format!("genesis names log key {}, not {}", registry.log_key, log_key.vkey())));
            }
            registry
                .public_key(&entry.record.author)
                .cloned()
                .ok_or_else(|| bad("genesis author is not an admin".into()))?
        } else {
            if registry.is_empty() {
                return Err(bad("the genesis line (seq 0) must come first".into()));
            }
            registry.authorize(&entry.record, seq).map_err(|e| bad(format!("seq {seq}: not authorized: {e}")))?.clone()
        };
        key.verify_signature_value(&entry.record.note_text(), &entry.sig)
            .map_err(|problem| bad(format!("seq {seq}: record signature: {problem}")))?;
        if !item.is_record && seq != 0 {
            if !entry.record.kind.starts_with("key.") {
                return Err(bad(format!("keys: seq {seq} is a {} record, not a key-registry line", entry.record.kind)));
            }
            let body = key_body.ok_or_else(|| bad(format!("seq {seq}: key lines carry their bodies")))?;
            registry.apply(seq, &entry.record, body).map_err(|e| bad(format!("seq {seq}: {e}")))?;
        }
    }
    let records: Vec<&Item> = items.iter().filter(|item| item.is_record).collect();
    let mut checked = Checked {
        person: person.to_string(),
        origin: origin.to_string(),
        size,
        format,
        records: records.iter().map(|item| (item.seq(), item.kind().to_string())).collect(),
        shown: records.iter().map(|item| (item.seq(), item.shown())).collect(),
        withheld: Vec::new(),
        signer: None,
        cosignatures: checkpoint.cosignatures.clone(),
    };
    if !v2 {
        for item in &records {
            let seq = item.seq();
            let body = item.body().ok_or_else(|| bad(format!("seq {seq}: a disclosed record must carry its body")))?;
            if !names_person(item.kind(), body, person) {
                return Err(bad(format!(
                    "seq {seq} does not name {person}: a package holds only records about its person"
                )));
            }
        }
        return Ok(checked);
    }
    checked.signer = Some(check_signature(&package, members, &registry).map_err(bad)?);
    check_concerns(person, &records).map_err(bad)?;
    checked.withheld = check_withheld(&members["withheld"], size, &checked.shown).map_err(bad)?;
    Ok(checked)
}

/// The package's signature: by an officer's or admin's key of the registry the package carries,
/// not revoked at the checkpoint, over [`SIGNED_PREFIX`] and the package without `signature`.
fn check_signature(
    package: &Value,
    members: &Map<String, Value>,
    registry: &KeyRegistry,
) -> std::result::Result<String, String> {
    let signer = members["signer"].as_str().ok_or("signer must be a string")?;
    let signature = members["signature"].as_str().ok_or("signature must be a string")?;
    let state = registry.keys.get(signer).ok_or_else(|| format!("signer {signer} is not a key of this ledger"))?;
    if !(state.roles.contains(&Role::Officer) || state.roles.contains(&Role::Admin)) {
        return Err(format!("signer {signer} is neither an officer nor an admin"));
    }
    if let Some(revocation) = &state.revoked {
        return Err(format!("signer {signer} was revoked at seq {}", revocation.seq));
    }
    let key = registry.public_key(signer).ok_or_else(|| format!("signer {signer} has no parsed key"))?;
    let mut unsigned = package.clone();
    if let Some(object) = unsigned.as_object_mut() {
        object.remove("signature");
    }
    let bytes = crate::canonical::encode(&unsigned, "package").map_err(|e| e.to_string())?;
    key.verify_signature_value(&[SIGNED_PREFIX, &bytes].concat(), signature)
        .map_err(|problem| format!("signature by {signer}: {problem}"))?;
    Ok(signer.to_string())
}

/// Every record concerns the person, every correction and redaction hangs on a record of the
/// package, every redacted record's redaction is there, and no full body is about anyone else.
fn check_concerns(person: &str, records: &[&Item]) -> std::result::Result<(), String> {
    let by_seq: BTreeMap<u64, &Item> = records.iter().map(|item| (item.seq(), *item)).collect();
    // The record each correction or redaction belongs to.
    let mut owner: BTreeMap<u64, u64> = BTreeMap::new();
    for item in records {
        let seq = item.seq();
        let kind = item.kind();
        if kind != "correction" && kind != "ledger.redact" {
            if crate::record::kind_keeps_body(kind) {
                return Err(format!("records: seq {seq} is a {kind} line, not a record about a person"));
            }
            continue;
        }
        let body = item.body().ok_or_else(|| format!("seq {seq}: a {kind} is shown with its body"))?;
        let target = body["target"]["seq"].as_u64().ok_or_else(|| format!("seq {seq}: {kind} without a target"))?;
        let hash =
            body["target"][if kind == "correction" { "hash" } else { "entry_hash" }].as_str().unwrap_or_default();
        let Some(target_item) = by_seq.get(&target) else {
            return Err(format!("seq {seq} ({kind}) names seq {target}, which is not in the package"));
        };
        if target_item.line.entry_hash.to_hex() != hash || matches!(target_item.kind(), "correction" | "ledger.redact")
        {
            return Err(format!("seq {seq} ({kind}) names seq {target}, but not that entry"));
        }
        owner.insert(seq, target);
    }
    for item in records {
        if let StoredBody::Redacted { by } = item.line.line.body
            && (owner.get(&by) != Some(&item.seq()) || by_seq.get(&by).is_none_or(|r| r.kind() != "ledger.redact"))
        {
            return Err(format!(
                "seq {} was redacted by seq {by}, which must be in the package as its ledger.redact",
                item.seq()
            ));
        }
    }
    // Every body that speaks for each record of the package, as a body of that record's kind.
    let mut bodies: BTreeMap<u64, Vec<(&Value, Shown)>> = BTreeMap::new();
    for item in records {
        let seq = item.seq();
        let (root, body) = match owner.get(&seq) {
            // A correction or redaction (shown with its body, checked above) speaks for its target.
            Some(root) => {
                let field = if item.kind() == "correction" { "body" } else { "replacement" };
                (*root, item.body().and_then(|body| body.get(field)))
            }
            None => (seq, item.body()),
        };
        let entry = bodies.entry(root).or_default();
        if let Some(body) = body {
            entry.push((body, item.shown()));
        }
    }
    let all: Vec<(&str, &Value)> = bodies
        .iter()
        .flat_map(|(root, list)| {
            let kind = by_seq[root].kind();
            list.iter().map(move |(body, _)| (kind, *body))
        })
        .collect();
    let cases = Cases::new(person, &all);
    for (root, list) in &bodies {
        let kind = by_seq[root].kind();
        if !list.iter().any(|(body, _)| cases.concerns(kind, body)) {
            return Err(format!(
                "seq {root} does not concern {person}: a package holds only records that name the person or belong to their case"
            ));
        }
        if list.iter().any(|(body, shown)| *shown == Shown::Full && cases.names_others(kind, body)) {
            return Err(format!(
                "seq {root} is shown in full although it is also about someone else: other people must be masked"
            ));
        }
    }
    Ok(())
}

/// The `withheld` list: increasing seqs inside the tree, none of them a record of the package.
fn check_withheld(
    value: &Value,
    size: u64,
    records: &BTreeMap<u64, Shown>,
) -> std::result::Result<Vec<(u64, String)>, String> {
    let list = value.as_array().ok_or("withheld must be a list")?;
    let mut out: Vec<(u64, String)> = Vec::new();
    for (index, item) in list.iter().enumerate() {
        let place = format!("withheld[{index}]");
        let item = crate::registry::object_with(item, &place, &["seq", "why"], &[]).map_err(|e| e.to_string())?;
        let seq = item["seq"]
            .as_u64()
            .filter(|seq| *seq < size)
            .ok_or_else(|| format!("{place}.seq must be a seq below {size}"))?;
        if out.last().is_some_and(|(last, _)| *last >= seq) || records.contains_key(&seq) {
            return Err(format!("{place}: seqs increase and are not records of the package"));
        }
        let why = item["why"].as_str().filter(|why| *why == WITHHELD_REDACTED);
        let why = why.ok_or_else(|| format!("{place}.why must be {WITHHELD_REDACTED:?}"))?;
        out.push((seq, why.to_string()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: &str, name: &str) -> Value {
        json!({"id": id, "name": name, "unit": "市住建局"})
    }

    #[test]
    fn a_masked_body_keeps_the_person_ids_and_dates_and_nothing_else_personal() {
        let body = json!({"report_id": "R-4", "subjects": [person("P-1", "张某"), person("P-5", "陈某"), {"org_id": "O-1", "name": "市水务局党组"}],
                          "source": "petition", "summary": "张某与陈某", "received_on": "2026-01-12"});
        let masked = mask_body("report.received", 1, &body, "P-1", None);
        assert_eq!(
            masked,
            json!({"report_id": "R-4", "subjects": [person("P-1", "张某"), MASK, {"org_id": "O-1", "name": "市水务局党组"}],
                   "source": "petition", "summary": MASK, "received_on": "2026-01-12"})
        );
        // A correction: its reason and the other people of its corrected body are masked.
        let correction = json!({"target": {"seq": 8, "hash": "00"}, "reason": "陈某改为刘某", "body": body});
        let masked = mask_body("correction", 1, &correction, "P-1", Some(("report.received", 1)));
        assert_eq!(masked["reason"], MASK);
        assert_eq!(masked["target"], correction["target"]);
        assert_eq!(masked["body"]["subjects"][1], MASK);
        // Interviewers are officials acting in office: kept.
        let interview = json!({"interview_type": "reminder", "subjects": [person("P-5", "陈某")], "interviewers": [person("P-9", "钱干事")],
                               "held_on": "2026-01-20", "reason": "x"});
        let masked = mask_body("interview", 2, &interview, "P-9", None);
        assert_eq!(
            (masked["subjects"][0].clone(), masked["interviewers"].clone()),
            (json!(MASK), interview["interviewers"].clone())
        );
    }

    #[test]
    fn cases_link_conclusions_and_appeals_to_their_subjects() {
        let report = json!({"report_id": "R-2", "subjects": [person("P-2", "李某")]});
        let decision = json!({"decision_id": "D-1", "subjects": [person("P-2", "李某"), person("P-3", "刘某")]});
        let concluded = json!({"report_id": "R-2", "finding": "false_accusation"});
        let appeal = json!({"appeal_id": "A-1", "decision_id": "D-1"});
        let decided = json!({"appeal_id": "A-1", "outcome": "upheld"});
        let bodies = [
            ("report.received", &report),
            ("accountability.decision", &decision),
            ("report.concluded", &concluded),
            ("appeal.filed", &appeal),
            ("appeal.decided", &decided),
        ];
        let cases = Cases::new("P-2", &bodies);
        for (kind, body) in bodies {
            assert!(cases.concerns(kind, body), "{kind}");
        }
        // The conclusion of P-2's own report is about P-2 alone; the appeal's decision names P-3 too.
        assert!(!cases.names_others("report.concluded", &concluded));
        assert!(cases.names_others("appeal.decided", &decided));
        assert!(!Cases::new("P-4", &bodies).concerns("report.concluded", &concluded));
    }
}
