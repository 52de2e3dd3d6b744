//! The manifest (`manifest.json`): what an archive says it holds, written and parsed in
//! canonical JSON. Parsing is strict (exactly the known fields, each well formed, at most 64
//! hashes a list), and nothing in a manifest is trusted: every field is checked against signed
//! data when the archive is verified (`verification`); only `tool` is a label.

use serde_json::{Value, json};

use super::{CHECKPOINT, ENTRIES, FORMAT, KEYS};
use crate::encoding::{hex, parse_hex};
use crate::error::{Error, Result};
use crate::merkle::Hash;
use crate::time::Timestamp;

/// Size and SHA-256 of a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digest {
    pub bytes: u64,
    pub sha256: Hash,
}

/// What an incremental archive says about the archive before it.
#[derive(Debug, Clone, PartialEq)]
pub struct Previous {
    /// The previous archive's checkpoint (size `first_seq`), signed by the log key.
    pub checkpoint: String,
    /// RFC 9162 consistency proof from size `first_seq` to `end`.
    pub consistency: Vec<Hash>,
    /// Entry `first_seq - 1` (its entry object), and its inclusion proof in the tree of size
    /// `first_seq`: the chain and the time order continue from it.
    pub entry: Value,
    pub entry_proof: Vec<Hash>,
}

/// One line of `keys.jsonl`: its seq and inclusion proof in the tree of size `first_seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLine {
    pub seq: u64,
    pub proof: Vec<Hash>,
}

/// The manifest (`manifest.json`).
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub tool: String,
    pub origin: String,
    pub first_seq: u64,
    /// One past the last seq: the checkpoint's size.
    pub end: u64,
    /// The root of the tree of size `end`.
    pub root: Hash,
    /// `CompactRange::hashes()` of the tree of size `first_seq` (empty for a full archive).
    pub start_range: Vec<Hash>,
    pub previous: Option<Previous>,
    pub key_lines: Vec<KeyLine>,
    pub checkpoint: Digest,
    pub keys: Digest,
    pub entries: Digest,
    /// Times of entries `first_seq` and `end - 1`.
    pub first_time: Timestamp,
    pub last_time: Timestamp,
}

fn hashes_json(hashes: &[Hash]) -> Value {
    Value::Array(hashes.iter().map(|h| Value::String(hex(h))).collect())
}

fn digest_json(digest: &Digest) -> Value {
    json!({"bytes": digest.bytes, "sha256": hex(&digest.sha256)})
}

impl Manifest {
    /// Whether this archive starts at seq 0.
    pub fn is_full(&self) -> bool {
        self.first_seq == 0
    }

    pub fn to_json(&self) -> Value {
        let previous = match &self.previous {
            None => Value::Null,
            Some(p) => json!({
                "checkpoint": p.checkpoint,
                "consistency": hashes_json(&p.consistency),
                "entry": p.entry,
                "entry_proof": hashes_json(&p.entry_proof),
            }),
        };
        json!({
            "format": FORMAT,
            "tool": self.tool,
            "origin": self.origin,
            "first_seq": self.first_seq,
            "end": self.end,
            "root": hex(&self.root),
            "checkpoint_size": self.end,
            "start_range": hashes_json(&self.start_range),
            "previous": previous,
            "key_lines": self.key_lines.iter().map(|k| json!({"seq": k.seq, "proof": hashes_json(&k.proof)})).collect::<Vec<_>>(),
            "members": {CHECKPOINT: digest_json(&self.checkpoint), KEYS: digest_json(&self.keys), ENTRIES: digest_json(&self.entries)},
            "time": {"first": self.first_time.to_string(), "last": self.last_time.to_string()},
        })
    }

    /// The canonical bytes of the manifest, with a final newline.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut bytes =
            crate::canonical::encode(&self.to_json(), "manifest").map_err(|e| Error::bad_input(e.to_string()))?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// Parse a manifest strictly: canonical JSON, exactly the known fields, each well formed.
    pub fn parse(bytes: &[u8]) -> std::result::Result<Manifest, String> {
        let text = bytes.strip_suffix(b"\n").ok_or("manifest.json does not end with a newline")?;
        let value = crate::canonical::parse_canonical(text, "manifest").map_err(|e| format!("manifest.json: {e}"))?;
        let fields = [
            "checkpoint_size",
            "end",
            "first_seq",
            "format",
            "key_lines",
            "members",
            "origin",
            "previous",
            "root",
            "start_range",
            "time",
            "tool",
        ];
        // `object` checks that exactly the listed fields are present, so the indexing of
        // `serde_json::Map` below (which panics on a missing key) cannot panic; the same holds
        // for every `object(…)` result in this function.
        let m = object(&value, "manifest", &fields)?;
        if m["format"] != FORMAT {
            return Err(format!("manifest.json: format {} is not {FORMAT} (a newer lianlog wrote it?)", m["format"]));
        }
        let tool = string(&m["tool"], "tool")?;
        if !tool.starts_with("lianlog ") {
            return Err(format!("manifest.json: tool {tool:?} is not a lianlog version"));
        }
        let origin = string(&m["origin"], "origin")?;
        crate::keys::KeyName::parse(&origin).map_err(|e| format!("manifest.json: origin: {}", e.message()))?;
        let first_seq = integer(&m["first_seq"], "first_seq")?;
        let end = integer(&m["end"], "end")?;
        if end <= first_seq {
            return Err(format!("manifest.json: end {end} is not after first_seq {first_seq}"));
        }
        if integer(&m["checkpoint_size"], "checkpoint_size")? != end {
            return Err("manifest.json: checkpoint_size differs from end".into());
        }
        let root = hash(&m["root"], "root")?;
        let start_range = hash_list(&m["start_range"], "start_range")?;
        let previous = match &m["previous"] {
            Value::Null => None,
            value => {
                let p = object(value, "previous", &["checkpoint", "consistency", "entry", "entry_proof"])?;
                Some(Previous {
                    checkpoint: string(&p["checkpoint"], "previous.checkpoint")?,
                    consistency: hash_list(&p["consistency"], "previous.consistency")?,
                    entry: p["entry"].clone(),
                    entry_proof: hash_list(&p["entry_proof"], "previous.entry_proof")?,
                })
            }
        };
        if previous.is_some() != (first_seq > 0) {
            return Err("manifest.json: `previous` must be present exactly when first_seq is not 0".into());
        }
        let key_lines = m["key_lines"]
            .as_array()
            .ok_or("manifest.json: key_lines: must be a list")?
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let path = format!("key_lines[{i}]");
                let k = object(item, &path, &["proof", "seq"])?;
                Ok(KeyLine {
                    seq: integer(&k["seq"], &format!("{path}.seq"))?,
                    proof: hash_list(&k["proof"], &format!("{path}.proof"))?,
                })
            })
            .collect::<std::result::Result<Vec<_>, String>>()?;
        let members = object(&m["members"], "members", &[CHECKPOINT, ENTRIES, KEYS])?;
        let digest = |name: &str| -> std::result::Result<Digest, String> {
            let d = object(&members[name], &format!("members.{name}"), &["bytes", "sha256"])?;
            Ok(Digest {
                bytes: integer(&d["bytes"], &format!("members.{name}.bytes"))?,
                sha256: hash(&d["sha256"], &format!("members.{name}.sha256"))?,
            })
        };
        let time = object(&m["time"], "time", &["first", "last"])?;
        let timestamp = |field: &str| {
            time[field]
                .as_str()
                .and_then(Timestamp::parse)
                .ok_or_else(|| format!("manifest.json: time.{field}: must be a timestamp"))
        };
        Ok(Manifest {
            tool,
            origin,
            first_seq,
            end,
            root,
            start_range,
            previous,
            key_lines,
            checkpoint: digest(CHECKPOINT)?,
            keys: digest(KEYS)?,
            entries: digest(ENTRIES)?,
            first_time: timestamp("first")?,
            last_time: timestamp("last")?,
        })
    }
}

fn object<'a>(
    value: &'a Value,
    path: &str,
    fields: &[&str],
) -> std::result::Result<&'a serde_json::Map<String, Value>, String> {
    crate::registry::object_with(value, path, fields, &[]).map_err(|e| format!("manifest.json: {e}"))
}

fn string(value: &Value, path: &str) -> std::result::Result<String, String> {
    value.as_str().map(str::to_string).ok_or_else(|| format!("manifest.json: {path}: must be a string"))
}

fn integer(value: &Value, path: &str) -> std::result::Result<u64, String> {
    value.as_u64().ok_or_else(|| format!("manifest.json: {path}: must be a non-negative integer"))
}

fn hash(value: &Value, path: &str) -> std::result::Result<Hash, String> {
    value
        .as_str()
        .and_then(parse_hex::<32>)
        .ok_or_else(|| format!("manifest.json: {path}: must be 64 lowercase hex digits"))
}

fn hash_list(value: &Value, path: &str) -> std::result::Result<Vec<Hash>, String> {
    let items = value.as_array().ok_or_else(|| format!("manifest.json: {path}: must be a list"))?;
    if items.len() > 64 {
        return Err(format!("manifest.json: {path}: more than 64 hashes"));
    }
    items.iter().enumerate().map(|(i, item)| hash(item, &format!("{path}[{i}]"))).collect()
}

/// The file name of an archive: the origin made safe for a file name, then the range.
pub fn file_name(origin: &str, first_seq: u64, end: u64, compressed: bool) -> String {
    let safe: String =
        origin.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-') { c } else { '_' }).collect();
    format!("{safe}-{first_seq}-{end}.tar{}", if compressed { ".zst" } else { "" })
}
