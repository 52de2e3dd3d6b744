//! lianlog's profile of RFC 9421 HTTP message signatures, for authenticated reads of a served
//! ledger: how a request is signed (by `lianlog-remote`) and checked (by `lianlog serve`), in one
//! place. Pure: no clock, no I/O, no randomness except [`new_nonce`].
//!
//! The profile (docs/FORMAT.md, "Request signatures"): one signature labelled `lianlog` over the
//! components `"@method" "@authority" "@path" "@query"` and, when the request has a body,
//! `"content-digest"` (RFC 9530, `sha-256` only), with exactly the parameters `created` (Unix
//! seconds), `nonce` (16–64 characters of `A–Z a–z 0–9 - _`), `keyid` (the signer's identity
//! `name+HEXID`, as in a record's `author`) and `alg="ed25519"`, in that order. The signature is
//! the raw 64-byte Ed25519 signature over the RFC 9421 signature base.
//!
//! Guarantees: parsing is strict — a header that is not exactly the canonical serialization of
//! this profile is refused (so the text verified is the text signed, with one spelling); no
//! component value may contain a control character (no line can be smuggled into the signature
//! base); a body is covered by its digest, and a digest that does not match the body is refused;
//! [`ReplayGuard`] remembers each nonce for as long as its `created` can pass the window, in
//! bounded memory, refusing (never forgetting early) when full.

use std::collections::{BTreeSet, HashMap};

use ed25519_dalek::Signature;
use sha2::{Digest as _, Sha256};

use crate::encoding::{base64, hex, parse_base64};
use crate::error::{Error, Result};
use crate::keys::{PublicKey, SecretKey};

/// The signature's label in `Signature-Input` and `Signature`.
pub const LABEL: &str = "lianlog";
/// How far (seconds) a request's `created` may be from the server's clock, either way.
pub const CREATED_WINDOW_SECS: i64 = 300;
/// How many nonces a [`ReplayGuard`] holds by default (about 10 MB; 300 signed requests a second
/// sustained over the 10-minute memory of a nonce).
pub const DEFAULT_REPLAY_CAPACITY: usize = 200_000;

/// The share of a [`ReplayGuard`] one signer may hold, in nonces (its capacity over this): one key
/// flooding signed requests fills its own share (and gets [`Replay::Full`]) while every other
/// key's requests still pass.
pub const REPLAY_SHARES: usize = 10;

const ALG: &str = "ed25519";
const COMPONENTS: [&str; 4] = ["@method", "@authority", "@path", "@query"];
const DIGEST: &str = "content-digest";
const MAX_NONCE: usize = 64;
const MIN_NONCE: usize = 16;
const MAX_KEYID: usize = 200;

/// What a request signature covers of the request: its method, `Host` (`@authority`), path and
/// query as they are on the wire (percent-encoded, not decoded).
#[derive(Debug, Clone, Copy)]
pub struct RequestTarget<'a> {
    /// The method, e.g. `GET`.
    pub method: &'a str,
    /// `host[:port]` as in the `Host` header (compared lowercased).
    pub authority: &'a str,
    /// The path, e.g. `/lianlog/v1/show/12`; empty means `/`.
    pub path: &'a str,
    /// The query without its `?`, if the URL has one.
    pub query: Option<&'a str>,
}

/// The headers to add to a signed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// The `Signature-Input` header value.
    pub signature_input: String,
    /// The `Signature` header value.
    pub signature: String,
    /// The `Content-Digest` header value, for a request with a body.
    pub content_digest: Option<String>,
}

/// A random nonce for one request: 32 lowercase hex digits from the system's random source.
pub fn new_nonce() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|err| Error::key(format!("the system random source failed: {err}")))?;
    Ok(hex(&bytes))
}

/// The RFC 9530 `Content-Digest` value of `body`: `sha-256=:BASE64:`.
pub fn content_digest(body: &[u8]) -> String {
    format!("sha-256=:{}:", base64(&Sha256::digest(body)))
}

/// Sign a request: `body` is `Some` for a request with a body (even an empty one), which is then
/// covered by its `Content-Digest`. `created` is Unix seconds.
pub fn sign(
    target: &RequestTarget<'_>,
    body: Option<&[u8]>,
    key: &SecretKey,
    created: i64,
    nonce: &str,
) -> Result<SignedHeaders> {
    check_nonce(nonce)?;
    let content_digest = body.map(content_digest);
    let params =
        Params { created, nonce: nonce.to_string(), keyid: key.public().identity(), covers_digest: body.is_some() };
    let base = signature_base(target, content_digest.as_deref(), &params.serialize())?;
    let signature = key.sign_raw(base.as_bytes());
    Ok(SignedHeaders {
        signature_input: format!("{LABEL}={}", params.serialize()),
        signature: format!("{LABEL}=:{}:", base64(&signature.to_bytes())),
        content_digest,
    })
}

/// The signature parameters of this profile.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Params {
    created: i64,
    nonce: String,
    keyid: String,
    covers_digest: bool,
}

impl Params {
    /// The canonical serialization: the inner list and its parameters (`@signature-params`).
    fn serialize(&self) -> String {
        let mut components: Vec<String> = COMPONENTS.iter().map(|name| format!("\"{name}\"")).collect();
        if self.covers_digest {
            components.push(format!("\"{DIGEST}\""));
        }
        format!(
            "({});created={};nonce=\"{}\";keyid=\"{}\";alg=\"{ALG}\"",
            components.join(" "),
            self.created,
            self.nonce,
            self.keyid
        )
    }
}

/// A parsed request signature, not yet verified.
#[derive(Debug, Clone)]
pub struct RequestSignature {
    params: Params,
    signature: Signature,
}

impl RequestSignature {
    /// Parse the `Signature-Input` and `Signature` header values strictly (see the module docs).
    pub fn parse(signature_input: &str, signature: &str) -> Result<RequestSignature> {
        let params = parse_input(signature_input.trim())?;
        let value = signature
            .trim()
            .strip_prefix(LABEL)
            .and_then(|rest| rest.strip_prefix("=:"))
            .and_then(|rest| rest.strip_suffix(':'))
            .ok_or_else(|| {
                bad(format!("the Signature header must be `{LABEL}=:BASE64:` with one signature labelled {LABEL}"))
            })?;
        let bytes = parse_base64(value).ok_or_else(|| bad("the Signature header's value is not canonical base64"))?;
        let signature = Signature::from_slice(&bytes).map_err(|_| {
            bad(format!("the Signature header holds {} bytes, not a 64-byte Ed25519 signature", bytes.len()))
        })?;
        Ok(RequestSignature { params, signature })
    }

    /// The signer's identity `name+HEXID` (the `keyid` parameter), to look up in the registry.
    pub fn keyid(&self) -> &str {
        &self.params.keyid
    }

    /// When the request says it was signed, in Unix seconds.
    pub fn created(&self) -> i64 {
        self.params.created
    }

    /// The request's nonce.
    pub fn nonce(&self) -> &str {
        &self.params.nonce
    }

    /// Whether the signature covers `content-digest`.
    pub fn covers_digest(&self) -> bool {
        self.params.covers_digest
    }

    /// Refuse a `created` more than `window` seconds from `now` (Unix seconds), either way.
    pub fn check_created(&self, now: i64, window: i64) -> Result<()> {
        let skew = self.params.created.saturating_sub(now);
        if skew.unsigned_abs() > window.unsigned_abs() {
            let (how, by) = if skew > 0 { ("ahead of", skew) } else { ("behind", -skew) };
            return Err(Error::unauthorized(format!(
                "the request signature's created time is {by} s {how} the server's clock (at most \
                 {window} s allowed); check the clock of the signing machine and sign the request anew"
            )));
        }
        Ok(())
    }

    /// Verify the signature over `target`, the request's `Content-Digest` header and `body`,
    /// with `key` (whose identity must be the `keyid`).
    pub fn verify(
        &self,
        target: &RequestTarget<'_>,
        content_digest_header: Option<&str>,
        body: &[u8],
        key: &PublicKey,
    ) -> Result<()> {
        if key.identity() != self.params.keyid {
            return Err(Error::unauthorized(format!(
                "the request is signed as {} but checked with key {}",
                self.params.keyid,
                key.identity()
            )));
        }
        let digest = match (self.params.covers_digest, content_digest_header) {
            (true, Some(header)) => {
                let header = header.trim();
                if header != content_digest(body) {
                    return Err(bad(
                        "the Content-Digest header is not `sha-256=:BASE64:` of the request body; the body \
                         was changed or the digest is wrong",
                    ));
                }
                Some(header)
            }
            (true, None) => {
                return Err(bad("the signature covers content-digest but the request has no Content-Digest header"));
            }
            (false, _) if !body.is_empty() => {
                return Err(bad("the request has a body but its signature does not cover content-digest"));
            }
            (false, _) => None,
        };
        let base = signature_base(target, digest, &self.params.serialize())?;
        key.verifying_key()
            .verify_strict(base.as_bytes(), &self.signature)
            .map_err(|_| Error::unauthorized(format!("the request signature of {} does not verify", self.params.keyid)))
    }
}

/// The RFC 9421 signature base of a request in this profile.
fn signature_base(target: &RequestTarget<'_>, content_digest: Option<&str>, params: &str) -> Result<String> {
    let path = if target.path.is_empty() { "/" } else { target.path };
    let query = format!("?{}", target.query.unwrap_or(""));
    let authority = target.authority.to_ascii_lowercase();
    let mut values = vec![
        ("@method", target.method),
        ("@authority", authority.as_str()),
        ("@path", path),
        ("@query", query.as_str()),
    ];
    if let Some(digest) = content_digest {
        values.push((DIGEST, digest));
    }
    let mut base = String::new();
    for (name, value) in values {
        if value.is_empty() || value.bytes().any(|byte| !(0x20..0x7f).contains(&byte)) {
            return Err(bad(format!("the request's {name} is empty or not visible ASCII, so it cannot be signed")));
        }
        base.push_str(&format!("\"{name}\": {value}\n"));
    }
    base.push_str(&format!("\"@signature-params\": {params}"));
    Ok(base)
}

/// Parse `lianlog=(…);created=…;nonce="…";keyid="…";alg="ed25519"` and require it canonical.
fn parse_input(text: &str) -> Result<Params> {
    let profile = || {
        bad(format!(
            "the Signature-Input header is not lianlog's profile: expected `{LABEL}=(\"@method\" \"@authority\" \
             \"@path\" \"@query\"[ \"content-digest\"]);created=UNIX;nonce=\"…\";keyid=\"name+HEXID\";alg=\"ed25519\"`"
        ))
    };
    let rest = text.strip_prefix(LABEL).and_then(|rest| rest.strip_prefix('=')).ok_or_else(profile)?;
    let covers_digest = rest.contains(&format!("\"{DIGEST}\")"));
    let after_list = rest.split_once(')').map(|(_, after)| after).ok_or_else(profile)?;
    let mut created = None;
    let mut nonce = None;
    let mut keyid = None;
    for param in after_list.split(';').skip(1) {
        let (name, value) = param.split_once('=').ok_or_else(profile)?;
        let slot = match name {
            "created" => &mut created,
            "nonce" => &mut nonce,
            "keyid" => &mut keyid,
            "alg" => continue,
            _ => return Err(bad(format!("the Signature-Input parameter {name:?} is not part of lianlog's profile"))),
        };
        *slot = Some(value);
    }
    let created = created
        .filter(|digits| !digits.is_empty() && digits.len() <= 15 && digits.bytes().all(|byte| byte.is_ascii_digit()))
        .and_then(|digits| digits.parse::<i64>().ok())
        .ok_or_else(|| bad("the Signature-Input `created` parameter must be Unix seconds (digits only)"))?;
    let unquote = |value: Option<&str>, name: &str| {
        value
            .and_then(|value| value.strip_prefix('"'))
            .and_then(|value| value.strip_suffix('"'))
            .map(str::to_string)
            .ok_or_else(|| bad(format!("the Signature-Input `{name}` parameter must be a quoted string")))
    };
    let nonce = unquote(nonce, "nonce")?;
    check_nonce(&nonce)?;
    let keyid = unquote(keyid, "keyid")?;
    if keyid.is_empty()
        || keyid.len() > MAX_KEYID
        || keyid.bytes().any(|byte| !byte.is_ascii_graphic() || byte == b'"' || byte == b'\\')
    {
        return Err(bad("the Signature-Input `keyid` must be a signer identity name+HEXID"));
    }
    let params = Params { created, nonce, keyid, covers_digest };
    // One spelling: anything but the canonical serialization (order, spaces, extra components or
    // parameters, another alg) is refused, so the parameters verified are the ones shown.
    if params.serialize() != rest {
        return Err(profile());
    }
    Ok(params)
}

fn check_nonce(nonce: &str) -> Result<()> {
    let ok = (MIN_NONCE..=MAX_NONCE).contains(&nonce.len())
        && nonce.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
    if ok {
        Ok(())
    } else {
        Err(bad(format!("the request signature's nonce must be {MIN_NONCE}–{MAX_NONCE} characters of A–Z a–z 0–9 - _")))
    }
}

fn bad(message: impl Into<String>) -> Error {
    Error::unauthorized(message)
}

/// Why [`ReplayGuard::remember`] refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// The nonce was already used by this signer within the window: a replayed request.
    Seen,
    /// The guard is full of nonces still inside the window: retry shortly.
    Full,
    /// This signer holds its whole share of the guard (1/[`REPLAY_SHARES`]): retry shortly.
    SignerFull,
}

impl std::fmt::Display for Replay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Replay::Seen => {
                "the request's nonce was already used: a replayed request is refused; sign each request anew"
            }
            Replay::Full => "too many signed requests within the freshness window; retry shortly",
            Replay::SignerFull => {
                "this key signed too many requests within the freshness window (its share of the server's nonce memory); retry shortly"
            }
        })
    }
}

/// The nonces seen within the freshness window, so that a captured request cannot be replayed.
///
/// A nonce is kept while its request's `created` is still within the window of the clock (after
/// that, [`RequestSignature::check_created`] refuses the request anyway), so it is never
/// forgotten early. Memory is bounded by `capacity` entries of 40 bytes (plus the set's overhead);
/// when full, new requests are refused with [`Replay::Full`] rather than forgetting a nonce. One
/// signer holds at most a [`REPLAY_SHARES`]th of the capacity ([`Replay::SignerFull`] beyond), so a
/// single key cannot lock every other reader out.
#[derive(Debug)]
pub struct ReplayGuard {
    window: i64,
    capacity: usize,
    /// Each remembered (signer, nonce) digest with its signer.
    seen: HashMap<[u8; 32], String>,
    by_created: BTreeSet<(i64, [u8; 32])>,
    /// Nonces held per signer.
    per_signer: HashMap<String, usize>,
}

impl ReplayGuard {
    /// A guard for `window` seconds (use [`CREATED_WINDOW_SECS`]) holding at most `capacity` nonces.
    pub fn new(window: i64, capacity: usize) -> ReplayGuard {
        ReplayGuard { window, capacity, seen: HashMap::new(), by_created: BTreeSet::new(), per_signer: HashMap::new() }
    }

    /// How many nonces are held.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether no nonce is held.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Remember `signature`'s nonce at `now` (Unix seconds), refusing one already seen from the same
    /// signer. Call only after the signature verified and `created` passed the window.
    pub fn remember(&mut self, signature: &RequestSignature, now: i64) -> Result<(), Replay> {
        self.remember_nonce(signature.keyid(), signature.nonce(), signature.created(), now)
    }

    /// Remember `nonce` of `keyid` signed at `created`, as [`ReplayGuard::remember`] does: also
    /// for nonces read back from the access log when a server starts, so that a restart does not
    /// reopen the window for requests it already answered. A nonce whose `created` is already
    /// outside the window is not kept (the window refuses it anyway).
    pub fn remember_nonce(&mut self, keyid: &str, nonce: &str, created: i64, now: i64) -> Result<(), Replay> {
        let oldest_alive = now.saturating_sub(self.window);
        while let Some(&(created, key)) = self.by_created.first() {
            if created >= oldest_alive {
                break;
            }
            self.by_created.pop_first();
            if let Some(signer) = self.seen.remove(&key)
                && let Some(held) = self.per_signer.get_mut(&signer)
            {
                *held -= 1;
                if *held == 0 {
                    self.per_signer.remove(&signer);
                }
            }
        }
        let mut hasher = Sha256::new();
        hasher.update(keyid.as_bytes());
        hasher.update([0]);
        hasher.update(nonce.as_bytes());
        let key: [u8; 32] = hasher.finalize().into();
        if self.seen.contains_key(&key) {
            return Err(Replay::Seen);
        }
        if created < oldest_alive {
            return Ok(());
        }
        if self.seen.len() >= self.capacity {
            return Err(Replay::Full);
        }
        let held = self.per_signer.get(keyid).copied().unwrap_or(0);
        if held >= (self.capacity / REPLAY_SHARES).max(1) {
            return Err(Replay::SignerFull);
        }
        self.seen.insert(key, keyid.to_owned());
        self.per_signer.insert(keyid.to_owned(), held + 1);
        self.by_created.insert((created, key));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyName;

    fn key(name: &str, seed: u8) -> SecretKey {
        SecretKey::from_seed(KeyName::parse(name).unwrap(), &[seed; 32])
    }

    const NONCE: &str = "0123456789abcdef0123456789abcdef";

    fn get() -> RequestTarget<'static> {
        RequestTarget { method: "GET", authority: "127.0.0.1:7878", path: "/lianlog/v1/show/3", query: Some("json=1") }
    }

    fn parse(headers: &SignedHeaders) -> RequestSignature {
        RequestSignature::parse(&headers.signature_input, &headers.signature).unwrap()
    }

    #[test]
    fn signed_get_verifies_and_the_base_is_rfc_9421() {
        let alice = key("alice", 1);
        let headers = sign(&get(), None, &alice, 1_780_000_000, NONCE).unwrap();
        assert_eq!(
            headers.signature_input,
            format!(
                "lianlog=(\"@method\" \"@authority\" \"@path\" \"@query\");created=1780000000;nonce=\"{NONCE}\";\
                 keyid=\"{}\";alg=\"ed25519\"",
                alice.public().identity()
            )
        );
        assert!(headers.content_digest.is_none());
        let parsed = parse(&headers);
        assert_eq!(parsed.keyid(), alice.public().identity());
        assert_eq!(parsed.created(), 1_780_000_000);
        assert_eq!(parsed.nonce(), NONCE);
        parsed.verify(&get(), None, b"", alice.public()).unwrap();
        // The host compares case-insensitively.
        let lower = RequestTarget { authority: "ledger.example:7878", ..get() };
        let upper = RequestTarget { authority: "Ledger.EXAMPLE:7878", ..get() };
        let parsed_lower = parse(&sign(&lower, None, &alice, 1_780_000_000, NONCE).unwrap());
        parsed_lower.verify(&upper, None, b"", alice.public()).unwrap();
        let base = signature_base(&get(), None, &parsed.params.serialize()).unwrap();
        assert!(base.starts_with("\"@method\": GET\n\"@authority\": 127.0.0.1:7878\n\"@path\": /lianlog/v1/show/3\n\"@query\": ?json=1\n\"@signature-params\": (\"@method\""));
        let no_query = RequestTarget { query: None, path: "", ..get() };
        let base = signature_base(&no_query, None, "()").unwrap();
        assert!(base.contains("\"@path\": /\n\"@query\": ?\n"), "{base}");
    }

    /// The example of docs/FORMAT.md, "Request signatures", byte for byte (its signature also
    /// checked with Python's `cryptography` from the seed, independently of this crate).
    #[test]
    fn the_documented_example() {
        let alice = key("alice", 1);
        let target = RequestTarget {
            method: "POST",
            authority: "127.0.0.1:7878",
            path: "/lianlog/v1/query",
            query: Some("json=1"),
        };
        let body = br#"{"person":"P-0001"}"#;
        let headers = sign(&target, Some(body), &alice, 1_780_000_000, NONCE).unwrap();
        let parsed = parse(&headers);
        let base = signature_base(&target, headers.content_digest.as_deref(), &parsed.params.serialize()).unwrap();
        assert_eq!(headers.content_digest.as_deref(), Some(EXAMPLE_DIGEST));
        assert_eq!(headers.signature_input, EXAMPLE_INPUT);
        assert_eq!(headers.signature, EXAMPLE_SIGNATURE);
        assert_eq!(base, EXAMPLE_BASE);
    }

    const EXAMPLE_DIGEST: &str = "sha-256=:mUtvIj/C0ahPkaOoDP62/pkajTJPXGE3gYt7eoNNrPA=:";
    const EXAMPLE_INPUT: &str = r#"lianlog=("@method" "@authority" "@path" "@query" "content-digest");created=1780000000;nonce="0123456789abcdef0123456789abcdef";keyid="alice+4124365a";alg="ed25519""#;
    const EXAMPLE_SIGNATURE: &str =
        "lianlog=:LjMr27u8v723pifrZcA9p0JOGHDnWKx4tj1APj5zNJjshJau4IuinF65FNaGd9seFhPBeJZe6BF+0uzi+dG8AQ==:";
    const EXAMPLE_BASE: &str = r#""@method": POST
"@authority": 127.0.0.1:7878
"@path": /lianlog/v1/query
"@query": ?json=1
"content-digest": sha-256=:mUtvIj/C0ahPkaOoDP62/pkajTJPXGE3gYt7eoNNrPA=:
"@signature-params": ("@method" "@authority" "@path" "@query" "content-digest");created=1780000000;nonce="0123456789abcdef0123456789abcdef";keyid="alice+4124365a";alg="ed25519""#;

    #[test]
    fn any_change_to_what_is_signed_fails() {
        let alice = key("alice", 1);
        let parsed = parse(&sign(&get(), None, &alice, 1_780_000_000, NONCE).unwrap());
        let changed = [
            RequestTarget { method: "POST", ..get() },
            RequestTarget { authority: "127.0.0.1:7879", ..get() },
            RequestTarget { path: "/lianlog/v1/show/4", ..get() },
            RequestTarget { query: Some("json=0"), ..get() },
            RequestTarget { query: None, ..get() },
        ];
        for target in changed {
            let err = parsed.verify(&target, None, b"", alice.public()).unwrap_err();
            assert!(err.message().contains("does not verify"), "{err}");
        }
        // Another key with the same name has another key id.
        let mallory = key("alice", 2);
        assert!(parsed.verify(&get(), None, b"", mallory.public()).is_err());
        // A body that the signature does not cover.
        let err = parsed.verify(&get(), None, b"{}", alice.public()).unwrap_err();
        assert!(err.message().contains("does not cover content-digest"), "{err}");
    }

    #[test]
    fn body_is_covered_by_its_digest() {
        let alice = key("alice", 1);
        let post = RequestTarget { method: "POST", query: None, ..get() };
        let body = br#"{"q":1}"#;
        let headers = sign(&post, Some(body), &alice, 1_780_000_000, NONCE).unwrap();
        let digest = headers.content_digest.clone().unwrap();
        assert_eq!(digest, content_digest(body));
        assert!(digest.starts_with("sha-256=:") && digest.ends_with(':'));
        let parsed = parse(&headers);
        assert!(parsed.covers_digest());
        parsed.verify(&post, Some(&digest), body, alice.public()).unwrap();
        let err = parsed.verify(&post, Some(&digest), br#"{"q":2}"#, alice.public()).unwrap_err();
        assert!(err.message().contains("Content-Digest"), "{err}");
        let other = content_digest(br#"{"q":2}"#);
        assert!(parsed.verify(&post, Some(&other), br#"{"q":2}"#, alice.public()).is_err());
        assert!(parsed.verify(&post, None, body, alice.public()).is_err());
    }

    #[test]
    fn parsing_is_strict() {
        let alice = key("alice", 1);
        let headers = sign(&get(), None, &alice, 1_780_000_000, NONCE).unwrap();
        let input = headers.signature_input.clone();
        let sig = headers.signature.clone();
        let bad_inputs = [
            input.replace("lianlog=", "sig1="),
            input.replace("\"@query\"", "\"@query\" \"@status\""),
            input.replace("\"@method\" \"@authority\"", "\"@authority\" \"@method\""),
            input.replace("alg=\"ed25519\"", "alg=\"rsa-pss-sha512\""),
            input.replace(";alg=\"ed25519\"", ""),
            input.replace("created=1780000000", "created=-1"),
            input.replace("created=1780000000", "created=1780000000.5"),
            input.replace(NONCE, "short"),
            input.replace(NONCE, &"a".repeat(65)),
            input.replace(NONCE, "0123456789abcdef0123456789abcde\""),
            format!("{input};expires=1780000300"),
            format!("{input}, other=()"),
            input.replace(";", "; "),
            input.replace("keyid=\"", "keyid=\"x\\"),
            String::new(),
            "lianlog=".into(),
            "lianlog=(".into(),
            "\u{0}\u{ff}".into(),
        ];
        for bad_input in &bad_inputs {
            assert!(RequestSignature::parse(bad_input, &sig).is_err(), "accepted {bad_input:?}");
        }
        let bad_sigs = [
            sig.replace("lianlog=", "sig1="),
            sig.replace(":", ""),
            "lianlog=:AAAA:".into(),
            format!("{sig}, x=:AA==:"),
        ];
        for bad_sig in &bad_sigs {
            assert!(RequestSignature::parse(&input, bad_sig).is_err(), "accepted {bad_sig:?}");
        }
        // Surrounding whitespace is not part of a header value.
        assert!(RequestSignature::parse(&format!(" {input} "), &format!("{sig} ")).is_ok());
    }

    #[test]
    fn control_characters_cannot_enter_the_base() {
        let alice = key("alice", 1);
        let smuggled = RequestTarget { path: "/x\n\"@query\": ?", ..get() };
        assert!(sign(&smuggled, None, &alice, 1, NONCE).is_err());
        assert!(sign(&get(), None, &alice, 1, "not a nonce!!!!!!").is_err());
    }

    #[test]
    fn created_window_both_ways() {
        let alice = key("alice", 1);
        let parsed = parse(&sign(&get(), None, &alice, 1_000_000, NONCE).unwrap());
        parsed.check_created(1_000_000 + 300, 300).unwrap();
        parsed.check_created(1_000_000 - 300, 300).unwrap();
        let late = parsed.check_created(1_000_000 + 301, 300).unwrap_err();
        assert!(late.message().contains("301 s behind"), "{late}");
        let early = parsed.check_created(1_000_000 - 301, 300).unwrap_err();
        assert!(early.message().contains("301 s ahead"), "{early}");
    }

    #[test]
    fn replay_guard_refuses_a_seen_nonce_and_stays_bounded() {
        let alice = key("alice", 1);
        let bob = key("bob", 2);
        let at = |who: &SecretKey, created: i64, nonce: &str| parse(&sign(&get(), None, who, created, nonce).unwrap());
        let carol = key("carol", 3);
        // Capacity 20: each signer may hold 2 (a tenth).
        let mut guard = ReplayGuard::new(300, 20);
        guard.remember(&at(&alice, 1000, NONCE), 1000).unwrap();
        assert_eq!(guard.remember(&at(&alice, 1001, NONCE), 1001), Err(Replay::Seen));
        // Another signer may use the same nonce.
        guard.remember(&at(&bob, 1000, NONCE), 1000).unwrap();
        guard.remember(&at(&alice, 1000, "ffffffffffffffff"), 1000).unwrap();
        // Alice holds her share: refused, while others still pass.
        assert_eq!(guard.remember(&at(&alice, 1000, "eeeeeeeeeeeeeeee"), 1000), Err(Replay::SignerFull));
        guard.remember(&at(&carol, 1000, NONCE), 1000).unwrap();
        // Many signers together fill the whole guard: then everyone waits.
        for n in 0..16u8 {
            let signer = key(&format!("s{n}"), 10 + n);
            guard.remember(&at(&signer, 1000, NONCE), 1000).unwrap();
        }
        assert_eq!(guard.len(), 20);
        assert_eq!(guard.remember(&at(&bob, 1000, "eeeeeeeeeeeeeeee"), 1000), Err(Replay::Full));
        // Still remembered at the window's edge; forgotten once `created` can no longer pass, and
        // the signer's share is free again.
        assert_eq!(guard.remember(&at(&alice, 1000, NONCE), 1300), Err(Replay::Seen));
        guard.remember(&at(&alice, 1301, "eeeeeeeeeeeeeeee"), 1301).unwrap();
        assert_eq!(guard.len(), 1);
        guard.remember(&at(&alice, 1301, "cccccccccccccccc"), 1301).unwrap();
        assert_eq!(guard.remember(&at(&alice, 1301, "bbbbbbbbbbbbbbbb"), 1301), Err(Replay::SignerFull));
        assert_eq!(guard.len(), 2);
        assert!(!guard.is_empty());
        // Read back from an access log: kept while alive, skipped when already outside the window.
        guard.remember_nonce(&bob.public().identity(), "dddddddddddddddd", 1000, 1301).unwrap();
        assert_eq!(guard.len(), 2);
        guard.remember_nonce(&bob.public().identity(), "dddddddddddddddd", 1200, 1301).unwrap();
        assert_eq!(guard.remember(&at(&bob, 1250, "dddddddddddddddd"), 1301), Err(Replay::Seen));
    }
}
