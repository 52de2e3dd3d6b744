//! The offline check of a disclosure package ([`check`]): it needs only the package, the log's
//! vkey and a crypto library. Every line is proven in the tree the checkpoint signs and by its
//! author's signature under the key registry the package carries; a version 2 package must also
//! be signed by an officer or admin not revoked, hold only records that concern its person (the
//! rule of `cases`), and show in full no body that is also about someone else.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::cases::Cases;
use super::masking::inflate_key_body;
use super::{Checked, FORMAT, FORMAT_V1, SIGNED_PREFIX, Shown, WITHHELD_REDACTED, names_person};
use crate::error::{Error, Result};
use crate::keys::PublicKey;
use crate::record::{ParsedLine, StoredBody};
use crate::registry::{KeyRegistry, Role};

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

/// Check a package offline against the log's vkey; its checkpoint must be cosigned as `cosigners`
/// requires (a list of keys: all of them; or a [`crate::note::CosignerPolicy`] quorum).
pub fn check<'a>(
    text: &str,
    log_key: &PublicKey,
    cosigners: impl Into<crate::note::CosignerPolicy<'a>>,
) -> Result<Checked> {
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
                .take(crate::limits::MAX_PROOF_HASHES + 1)
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
