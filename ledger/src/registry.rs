//! The key registry (format-v1 section 9): who may author what, as of any seq.
//!
//! Built by applying `ledger.genesis`, `key.grant` and `key.revoke` bodies in seq order; the same
//! code runs when appending (to refuse) and when verifying (to detect), so the authorization rule
//! exists once. The registry is small (one entry per key ever granted) and serializable, so the
//! ledger keeps it in the derived store and the verifier keeps it in memory.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::keys::{ALGORITHM_ED25519, PublicKey};
use crate::record::Record;

/// A role a key can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Signs `ledger.` and `key.` records: grants and revokes keys.
    Admin,
    /// Signs the case records (every kind outside `ledger.`, `key.` and `audit.`).
    Officer,
    /// Signs `audit.` records (attestations of checkpoints).
    Auditor,
}

impl Role {
    /// The role named `text` (`admin`, `officer`, `auditor`).
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "admin" => Some(Role::Admin),
            "officer" => Some(Role::Officer),
            "auditor" => Some(Role::Auditor),
            _ => None,
        }
    }

    /// The role's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Officer => "officer",
            Role::Auditor => "auditor",
        }
    }

    /// Chinese label for display.
    pub fn label_zh(self) -> &'static str {
        match self {
            Role::Admin => "管理员",
            Role::Officer => "纪检干部",
            Role::Auditor => "审计人员",
        }
    }
}

/// The person or office that holds a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// The holder's name.
    pub name: String,
    /// Their unit.
    pub unit: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Their title, if given.
    pub title: Option<String>,
}

impl Holder {
    /// The holder as JSON, as records carry it.
    pub fn to_value(&self) -> Value {
        let mut map = serde_json::Map::new();
        map.insert("name".into(), Value::String(self.name.clone()));
        map.insert("unit".into(), Value::String(self.unit.clone()));
        if let Some(title) = &self.title {
            map.insert("title".into(), Value::String(title.clone()));
        }
        Value::Object(map)
    }
}

/// One key as the registry knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyState {
    /// The public key (vkey form).
    pub vkey: String,
    /// The roles it holds.
    pub roles: Vec<Role>,
    /// Who holds it.
    pub holder: Holder,
    /// The seq of the record that granted it.
    pub granted_seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Its revocation, if revoked.
    pub revoked: Option<Revocation>,
}

/// How and why a key was revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// The seq of the revoking record.
    pub seq: u64,
    /// Why it was revoked.
    pub reason: String,
}

/// Why a record may not be appended or is not authorized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryError {
    /// Field path inside the body, or empty.
    pub path: String,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for RegistryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() { f.write_str(&self.reason) } else { write!(f, "{}: {}", self.path, self.reason) }
    }
}

fn refuse(path: &str, reason: impl Into<String>) -> RegistryError {
    RegistryError { path: path.to_string(), reason: reason.into() }
}

/// The ledger's keys: the log key from genesis and every granted key by identity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRegistry {
    /// The ledger's origin.
    pub origin: String,
    /// The log key (vkey form), from genesis.
    pub log_key: String,
    /// Every granted key, by identity.
    pub keys: BTreeMap<String, KeyState>,
    /// Public keys parsed from `keys`, cached for signature checks.
    #[serde(skip)]
    parsed: BTreeMap<String, PublicKey>,
}

/// The role a kind needs (format-v1 section 9): the authorization rule's role table, in one place.
pub(crate) fn required_role(kind: &str) -> Role {
    if kind.starts_with("ledger.") || kind.starts_with("key.") {
        Role::Admin
    } else if kind.starts_with("audit.") {
        Role::Auditor
    } else {
        Role::Officer
    }
}

impl KeyRegistry {
    /// Rebuild the parsed-key cache after deserializing.
    pub fn restore(mut self) -> Result<KeyRegistry, RegistryError> {
        self.parsed.clear();
        for (identity, state) in &self.keys {
            let key = PublicKey::parse_vkey(&state.vkey).map_err(|e| refuse("", e.message().to_string()))?;
            self.parsed.insert(identity.clone(), key);
        }
        Ok(self)
    }

    /// Whether no genesis has been applied yet.
    pub fn is_empty(&self) -> bool {
        self.origin.is_empty()
    }

    pub(crate) fn public_key(&self, identity: &str) -> Option<&PublicKey> {
        self.parsed.get(identity)
    }

    pub(crate) fn log_public_key(&self) -> Option<PublicKey> {
        PublicKey::parse_vkey(&self.log_key).ok()
    }

    /// The key `identity` as it stands now, for a signed read of the served ledger: granted, not
    /// revoked, holding at least one role; or why not (the message names the key and the remedy).
    pub fn current_key(&self, identity: &str) -> Result<(&PublicKey, &KeyState), RegistryError> {
        let (Some(state), Some(key)) = (self.keys.get(identity), self.parsed.get(identity)) else {
            return Err(refuse(
                "keyid",
                format!("key {identity} was never granted in this ledger; an admin grants it with `lianlog key grant`"),
            ));
        };
        if let Some(revocation) = &state.revoked {
            return Err(refuse(
                "keyid",
                format!("key {identity} was revoked at seq {} ({})", revocation.seq, revocation.reason),
            ));
        }
        if state.roles.is_empty() {
            return Err(refuse("keyid", format!("key {identity} holds no role")));
        }
        Ok((key, state))
    }

    /// Keys that hold the admin role and are not revoked.
    pub fn active_admins(&self) -> usize {
        self.keys.values().filter(|k| k.revoked.is_none() && k.roles.contains(&Role::Admin)).count()
    }

    /// The key that may author `record` at `seq`, or why none may. The rule (format-v1 section 9):
    /// the kind's role, held through a grant at a smaller seq, not revoked at a smaller seq, and
    /// the record bound to this ledger's origin.
    pub fn authorize(&self, record: &Record, seq: u64) -> Result<&PublicKey, RegistryError> {
        if record.ledger != self.origin {
            return Err(refuse(
                "record.ledger",
                format!("the record is bound to ledger {:?}, not to this ledger {:?}", record.ledger, self.origin),
            ));
        }
        let role = required_role(&record.kind);
        let state = self.keys.get(&record.author).ok_or_else(|| {
            refuse("record.author", format!("key {} was never granted in this ledger", record.author))
        })?;
        if state.granted_seq >= seq {
            return Err(refuse(
                "record.author",
                format!("key {} is granted only at seq {}", record.author, state.granted_seq),
            ));
        }
        if let Some(revocation) = &state.revoked
            && revocation.seq < seq
        {
            return Err(refuse(
                "record.author",
                format!("key {} was revoked at seq {} ({})", record.author, revocation.seq, revocation.reason),
            ));
        }
        if !state.roles.contains(&role) {
            return Err(refuse(
                "record.author",
                format!(
                    "key {} lacks the role {} ({}) that kind {} needs; it holds {}",
                    record.author,
                    role.as_str(),
                    role.label_zh(),
                    record.kind,
                    state.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")
                ),
            ));
        }
        self.parsed.get(&record.author).ok_or_else(|| refuse("record.author", "key not parsed"))
    }

    /// Apply the body of a registry-changing record (genesis, grant, revoke) at `seq`. Other kinds
    /// are ignored. On error the registry is unchanged.
    ///
    /// This is the one place that decides what a ledger starts with (format-v1 section 9): entry
    /// 0, and only entry 0, is a `ledger.genesis` with a valid origin, log key and admins; nothing
    /// else is applied to a registry that has no genesis. The verifier, the ledger, archives and
    /// disclosure checks all start a registry through here.
    pub fn apply(&mut self, seq: u64, record: &Record, body: &Value) -> Result<(), RegistryError> {
        if seq == 0 && record.kind != "ledger.genesis" {
            return Err(refuse(
                "record.kind",
                format!(
                    "entry 0 is a {} record, but it must be the ledger.genesis record that names the ledger's \
                     origin, log key and first admins (format-v1 section 9); this is not a lianlog ledger or export",
                    record.kind
                ),
            ));
        }
        if self.is_empty() && record.kind != "ledger.genesis" {
            return Err(refuse("record.kind", format!("a {} record before the ledger.genesis record", record.kind)));
        }
        match record.kind.as_str() {
            "ledger.genesis" => self.apply_genesis(seq, record, body),
            "key.grant" => self.apply_grant(seq, body),
            "key.revoke" => self.apply_revoke(seq, body),
            _ => Ok(()),
        }
    }

    fn apply_genesis(&mut self, seq: u64, record: &Record, body: &Value) -> Result<(), RegistryError> {
        if seq != 0 || !self.is_empty() {
            return Err(refuse("record.kind", "ledger.genesis may only be entry 0"));
        }
        if record.v != 1 {
            return Err(refuse("record.v", "ledger.genesis has schema version 1"));
        }
        let members = object_with(body, "body", &["origin", "log_key", "admins"], &[])?;
        let origin = text(members, "body", "origin")?;
        crate::keys::KeyName::parse(origin).map_err(|e| refuse("body.origin", e.message().to_string()))?;
        if record.ledger != origin {
            return Err(refuse("record.ledger", "must equal the genesis origin"));
        }
        let log_key = vkey(members, "body", "log_key")?;
        if log_key.name().as_str() != origin {
            return Err(refuse("body.log_key", "the log key's name must be the origin"));
        }
        let admins = members["admins"].as_array().filter(|a| !a.is_empty());
        let admins = admins.ok_or_else(|| refuse("body.admins", "must be a non-empty list"))?;
        let mut registry =
            KeyRegistry { origin: origin.to_string(), log_key: log_key.vkey(), ..KeyRegistry::default() };
        for (index, admin) in admins.iter().enumerate() {
            let path = format!("body.admins[{index}]");
            let admin = object_with(admin, &path, &["key", "holder"], &[])?;
            let key = vkey(admin, &path, "key")?;
            let holder = holder(&admin["holder"], &format!("{path}.holder"))?;
            registry.insert(key, vec![Role::Admin], holder, 0, &format!("{path}.key"))?;
        }
        if !registry.keys.contains_key(&record.author) {
            return Err(refuse("record.author", "the genesis record must be authored by one of its admins"));
        }
        *self = registry;
        Ok(())
    }

    fn apply_grant(&mut self, seq: u64, body: &Value) -> Result<(), RegistryError> {
        let members = object_with(body, "body", &["key", "roles", "holder"], &[])?;
        let key = vkey(members, "body", "key")?;
        let roles = members["roles"].as_array().filter(|r| !r.is_empty());
        let roles = roles.ok_or_else(|| refuse("body.roles", "must be a non-empty list of admin, officer, auditor"))?;
        let mut parsed = Vec::new();
        for (index, role) in roles.iter().enumerate() {
            let role = role
                .as_str()
                .and_then(Role::parse)
                .ok_or_else(|| refuse(&format!("body.roles[{index}]"), "must be one of admin, officer, auditor"))?;
            if parsed.contains(&role) {
                return Err(refuse(&format!("body.roles[{index}]"), "role listed twice"));
            }
            parsed.push(role);
        }
        let holder = holder(&members["holder"], "body.holder")?;
        self.insert(key, parsed, holder, seq, "body.key")
    }

    fn insert(
        &mut self,
        key: PublicKey,
        roles: Vec<Role>,
        holder: Holder,
        seq: u64,
        path: &str,
    ) -> Result<(), RegistryError> {
        let identity = key.identity();
        if let Some(weakness) = key.weakness() {
            return Err(refuse(path, format!("key {identity} cannot be granted: {weakness}")));
        }
        if self.keys.contains_key(&identity) {
            return Err(refuse(
                path,
                format!("key {identity} was already granted; a key identity is granted at most once"),
            ));
        }
        if let Some(log_key) = self.log_public_key()
            && log_key.verifying_key() == key.verifying_key()
        {
            return Err(refuse(path, "the log key signs checkpoints only and cannot be granted a role"));
        }
        self.keys
            .insert(identity.clone(), KeyState { vkey: key.vkey(), roles, holder, granted_seq: seq, revoked: None });
        self.parsed.insert(identity, key);
        Ok(())
    }

    fn apply_revoke(&mut self, seq: u64, body: &Value) -> Result<(), RegistryError> {
        let members = object_with(body, "body", &["key", "reason"], &[])?;
        let identity = text(members, "body", "key")?;
        let reason = text(members, "body", "reason")?;
        let state =
            self.keys.get(identity).ok_or_else(|| refuse("body.key", format!("key {identity} was never granted")))?;
        if state.revoked.is_some() {
            return Err(refuse("body.key", format!("key {identity} is already revoked; revocation is final")));
        }
        if state.roles.contains(&Role::Admin) && self.active_admins() == 1 {
            return Err(refuse("body.key", format!("key {identity} is the last active admin and cannot be revoked")));
        }
        if let Some(state) = self.keys.get_mut(identity) {
            state.revoked = Some(Revocation { seq, reason: reason.to_string() });
        }
        Ok(())
    }
}

/// The object's members, checking that exactly `required` (plus any of `optional`) are present.
pub(crate) fn object_with<'a>(
    value: &'a Value,
    path: &str,
    required: &[&str],
    optional: &[&str],
) -> Result<&'a serde_json::Map<String, Value>, RegistryError> {
    let members = value.as_object().ok_or_else(|| refuse(path, "must be a JSON object"))?;
    for key in members.keys() {
        if !required.contains(&key.as_str()) && !optional.contains(&key.as_str()) {
            return Err(refuse(&format!("{path}.{key}"), "unknown field"));
        }
    }
    for key in required {
        if !members.contains_key(*key) {
            return Err(refuse(&format!("{path}.{key}"), "missing"));
        }
    }
    Ok(members)
}

fn text<'a>(members: &'a serde_json::Map<String, Value>, path: &str, key: &str) -> Result<&'a str, RegistryError> {
    members
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| refuse(&format!("{path}.{key}"), "must be a non-empty string"))
}

fn vkey(members: &serde_json::Map<String, Value>, path: &str, key: &str) -> Result<PublicKey, RegistryError> {
    let text = text(members, path, key)?;
    let public = PublicKey::parse_vkey(text).map_err(|e| refuse(&format!("{path}.{key}"), e.message().to_string()))?;
    if public.algorithm() != ALGORITHM_ED25519 {
        return Err(refuse(&format!("{path}.{key}"), "must be an Ed25519 signing key (type 0x01)"));
    }
    Ok(public)
}

fn holder(value: &Value, path: &str) -> Result<Holder, RegistryError> {
    let members = object_with(value, path, &["name", "unit"], &["title"])?;
    let title = match members.get("title") {
        None => None,
        Some(_) => Some(text(members, path, "title")?.to_string()),
    };
    Ok(Holder { name: text(members, path, "name")?.to_string(), unit: text(members, path, "unit")?.to_string(), title })
}
