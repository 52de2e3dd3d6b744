//! Keys, their names and identities (format-v1 section 3), and private key files.
//!
//! A key has a name; its id is the first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key);
//! its verifier key string ("vkey") is `name+HEXID+BASE64(0x01 || public key)`, and its signer
//! identity ("author") is `name+HEXID` — the C2SP signed-note forms. Private key files are PKCS#8
//! v1 PEM (which `openssl pkey` reads), created 0600, refused when group or world readable; an
//! encrypted PKCS#8 file is decrypted with a passphrase the caller supplies. A [`SecretKey`] never
//! prints its secret: its `Debug` shows the name and identity only, and the secret is zeroized on
//! drop (ed25519-dalek's `zeroize` feature).

use std::fmt;
use std::path::Path;

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, LineEnding};
use sha2::{Digest as _, Sha256};
pub use zeroize::Zeroizing;

use crate::encoding::{base64, hex, parse_base64};
use crate::error::{Error, Result};
use crate::limits::{MAX_KEY_FILE_BYTES, MAX_PBKDF2_ITERATIONS, MAX_SCRYPT_MEMORY};

/// Ed25519 signature-type byte of a vkey (C2SP signed-note).
pub(crate) const ALGORITHM_ED25519: u8 = 0x01;
/// Ed25519 cosignature (C2SP tlog-cosignature v1) type byte.
pub(crate) const ALGORITHM_COSIGNATURE_V1: u8 = 0x04;

/// Text placed before `-----BEGIN` in key files written by lianlog (RFC 7468 explanatory text).
const NAME_LINE_PREFIX: &str = "lianlog key name: ";

/// scrypt cost of the encrypted key files lianlog writes: N = 2^14, r = 8, p = 1 (16 MiB), which
/// OpenSSL 3 reads with its default memory limit (PBES2, AES-256-CBC).
const SCRYPT_LOG_N: u8 = 14;

/// A key name or a ledger origin: 1 to 128 printable ASCII characters, no space, no `+`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyName(String);

impl KeyName {
    /// A key name, checked to be a valid note key name.
    pub fn parse(text: &str) -> Result<KeyName> {
        let ok = (1..=128).contains(&text.len()) && text.bytes().all(|b| (0x21..=0x7E).contains(&b) && b != b'+');
        if ok {
            Ok(KeyName(text.to_string()))
        } else {
            let hint = if text.is_ascii() {
                ""
            } else {
                " (ASCII only: a key name is a pinyin or role name such as officer.zhang; the holder's Chinese \
                 name, unit and title are given when the key is granted, with --holder-name, --holder-unit and \
                 --holder-title)"
            };
            Err(Error::bad_input(format!(
                "{text:?} is not a valid key name or origin: use 1 to 128 printable ASCII characters \
                 without spaces or '+', e.g. officer.zhang or jw.example.gov.cn/accountability{hint}"
            )))
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The 4-byte key id of a named key with the given algorithm byte and public key.
pub fn key_id(name: &KeyName, algorithm: u8, public_key: &[u8; 32]) -> [u8; 4] {
    let mut hasher = Sha256::new();
    hasher.update(name.as_str().as_bytes());
    hasher.update([0x0A, algorithm]);
    hasher.update(public_key);
    let digest = hasher.finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// A named public key: what a vkey string says.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    name: KeyName,
    algorithm: u8,
    id: [u8; 4],
    key: VerifyingKey,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.vkey())
    }
}

impl PublicKey {
    /// A public key named `name` with the note signature `algorithm` byte.
    pub fn new(name: KeyName, algorithm: u8, key: VerifyingKey) -> PublicKey {
        let id = key_id(&name, algorithm, key.as_bytes());
        PublicKey { name, algorithm, id, key }
    }

    /// Parse a vkey `name+HEXID+BASE64`, checking that the id matches the name and key.
    pub fn parse_vkey(text: &str) -> Result<PublicKey> {
        let bad = |why: &str| {
            Error::bad_input(format!(
                "{text:?} is not a valid verifier key (name+HEXID+BASE64, format-v1 section 3): {why}"
            ))
        };
        // Base64 may itself contain '+', so split off only the name and the id.
        let mut parts = text.splitn(3, '+');
        let (Some(name), Some(hex_id), Some(encoded)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("expected three parts separated by '+'"));
        };
        let name = KeyName::parse(name).map_err(|_| bad("invalid name"))?;
        let id =
            crate::encoding::parse_hex::<4>(hex_id).ok_or_else(|| bad("the key id must be 8 lowercase hex digits"))?;
        let bytes = parse_base64(encoded).ok_or_else(|| bad("the key is not standard padded base64"))?;
        if bytes.len() != 33 || !matches!(bytes[0], ALGORITHM_ED25519 | ALGORITHM_COSIGNATURE_V1) {
            return Err(bad("expected 0x01 or 0x04 followed by a 32-byte Ed25519 key"));
        }
        let mut raw = [0u8; 32];
        raw.copy_from_slice(&bytes[1..]);
        let key = VerifyingKey::from_bytes(&raw).map_err(|_| bad("not an Ed25519 point"))?;
        let public = PublicKey::new(name, bytes[0], key);
        if public.id != id {
            return Err(bad("the key id does not match the name and key"));
        }
        Ok(public)
    }

    /// The key's name.
    pub fn name(&self) -> &KeyName {
        &self.name
    }

    /// The 4-byte key ID of signed notes (C2SP signed-note).
    pub fn id(&self) -> [u8; 4] {
        self.id
    }

    /// The note signature algorithm byte.
    pub fn algorithm(&self) -> u8 {
        self.algorithm
    }

    /// The Ed25519 key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// `name+HEXID+BASE64`
    pub fn vkey(&self) -> String {
        let mut bytes = Vec::with_capacity(33);
        bytes.push(self.algorithm);
        bytes.extend_from_slice(self.key.as_bytes());
        format!("{}+{}+{}", self.name, hex(&self.id), base64(&bytes))
    }

    /// `name+HEXID`, the signer identity used as a record's `author`.
    pub fn identity(&self) -> String {
        format!("{}+{}", self.name, hex(&self.id))
    }

    /// Why this key must not be granted, if it must not: small-order ("weak") keys, non-canonical
    /// point encodings, and points with a torsion component are refused, so that every granted key
    /// is a canonical point of the prime-order subgroup (the precondition for batch verification).
    pub(crate) fn weakness(&self) -> Option<&'static str> {
        let point = self.key.to_edwards();
        if self.key.is_weak() {
            Some("it is a small-order (weak) key")
        } else if point.compress().to_bytes() != *self.key.as_bytes() {
            Some("its encoding is not canonical")
        } else if !point.is_torsion_free() {
            Some("it has a torsion component")
        } else {
            None
        }
    }

    /// Verify a signature value `base64(key id || signature)` over `message`, strictly.
    pub fn verify_signature_value(&self, message: &[u8], value: &str) -> Result<(), SignatureProblem> {
        let (id, signature) = split_signature_value(value)?;
        if id != self.id {
            return Err(SignatureProblem::WrongKeyId);
        }
        self.key.verify_strict(message, &signature).map_err(|_| SignatureProblem::Invalid)
    }
}

/// Why a signature value did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureProblem {
    /// Not a base64 key ID and signature of the right length.
    Malformed,
    /// Made by another key (the key ID differs).
    WrongKeyId,
    /// The signature does not verify.
    Invalid,
}

impl fmt::Display for SignatureProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SignatureProblem::Malformed => "the signature is not base64 of a 4-byte key id and a 64-byte signature",
            SignatureProblem::WrongKeyId => "the signature's key id is not the author's",
            SignatureProblem::Invalid => "the Ed25519 signature does not verify",
        })
    }
}

/// Split `base64(key id || signature)` into its parts.
pub fn split_signature_value(value: &str) -> Result<([u8; 4], Signature), SignatureProblem> {
    let bytes = parse_base64(value).ok_or(SignatureProblem::Malformed)?;
    if bytes.len() != 68 {
        return Err(SignatureProblem::Malformed);
    }
    let id = [bytes[0], bytes[1], bytes[2], bytes[3]];
    let signature = Signature::from_slice(&bytes[4..]).map_err(|_| SignatureProblem::Malformed)?;
    Ok((id, signature))
}

/// A named private key. Its secret is zeroized on drop and never printed.
pub struct SecretKey {
    public: PublicKey,
    signing: SigningKey,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({}, secret hidden)", self.public.identity())
    }
}

impl SecretKey {
    /// A fresh key from the operating system's random source.
    pub fn generate(name: KeyName) -> Result<SecretKey> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut()).map_err(|err| Error::key(format!("the system random source failed: {err}")))?;
        Ok(SecretKey::from_seed(name, &seed))
    }

    /// The key named `name` with this 32-byte Ed25519 seed.
    pub fn from_seed(name: KeyName, seed: &[u8; 32]) -> SecretKey {
        let signing = SigningKey::from_bytes(seed);
        let public = PublicKey::new(name, ALGORITHM_ED25519, signing.verifying_key());
        SecretKey { public, signing }
    }

    /// The same secret under another name (the key id changes with the name).
    pub fn renamed(&self, name: KeyName) -> SecretKey {
        let signing = self.signing.clone();
        let public = PublicKey::new(name, self.public.algorithm, signing.verifying_key());
        SecretKey { public, signing }
    }

    /// The same secret used as a C2SP cosignature key (type 0x04), which has its own key id.
    pub fn as_cosigner(&self) -> SecretKey {
        let signing = self.signing.clone();
        let public = PublicKey::new(self.public.name.clone(), ALGORITHM_COSIGNATURE_V1, signing.verifying_key());
        SecretKey { public, signing }
    }

    /// Its public key.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// Its name.
    pub fn name(&self) -> &KeyName {
        &self.public.name
    }

    /// Raw Ed25519 signature over `message`.
    pub(crate) fn sign_raw(&self, message: &[u8]) -> Signature {
        self.signing.sign(message)
    }

    /// `base64(key id || Ed25519 signature over message)`: the value of a signed-note line.
    pub fn signature_value(&self, message: &[u8]) -> String {
        signature_value_of(&self.public.id, &self.signing.sign(message).to_bytes())
    }

    /// [`SecretKey::signature_value`] of many messages, each by its own key: the same values
    /// byte for byte (RFC 8032 signing is deterministic), made faster by sharing one step. Each
    /// signature's nonce point R must be written as bytes, which takes a field inversion, a fifth
    /// of a signature's time; here one inversion serves them all (Montgomery's trick,
    /// curve25519-dalek's `compress_batch_alloc`). Everything secret is computed in constant time,
    /// as ed25519-dalek does it, and wiped after use. After [`prepare_to_sign_many`], R = r·B
    /// comes from a larger table.
    pub(crate) fn signature_values(requests: &[(&SecretKey, &[u8])]) -> Vec<String> {
        sign_together(requests, LARGE_BASEPOINT_TABLE.get())
    }

    /// PKCS#8 v1 PEM with the key's name as explanatory text before it.
    /// PKCS#8 v1 PEM with the key's name as explanatory text before it.
    pub(crate) fn to_pem(&self) -> Result<Zeroizing<String>> {
        let keypair = ed25519_dalek::pkcs8::KeypairBytes { secret_key: self.signing.to_bytes(), public_key: None };
        let pem = keypair
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|err| Error::key(format!("cannot encode the key as PKCS#8: {err}")))?;
        Ok(Zeroizing::new(format!("{NAME_LINE_PREFIX}{}\n{}", self.public.name, pem.as_str())))
    }

    /// Passphrase-encrypted PKCS#8 PEM (`ENCRYPTED PRIVATE KEY`: PBES2 with scrypt N = 2^14, r = 8,
    /// p = 1 and AES-256-CBC, a fresh random salt and IV), with the key's name as explanatory text.
    /// `openssl pkey -in FILE -passin …` reads it.
    pub(crate) fn to_encrypted_pem(&self, passphrase: &str) -> Result<Zeroizing<String>> {
        if passphrase.is_empty() {
            return Err(Error::bad_input("the passphrase is empty; choose a passphrase to encrypt the key with"));
        }
        let fail = |what: &str| Error::key(format!("cannot encrypt the key: {what}"));
        let keypair = ed25519_dalek::pkcs8::KeypairBytes { secret_key: self.signing.to_bytes(), public_key: None };
        let document = keypair.to_pkcs8_der().map_err(|_| fail("PKCS#8 encoding failed"))?;
        let info = document.decode_msg::<pkcs8::PrivateKeyInfoRef<'_>>().map_err(|_| fail("PKCS#8 encoding failed"))?;
        let mut salt = [0u8; 16];
        let mut iv = [0u8; 16];
        getrandom::fill(&mut salt)
            .and_then(|()| getrandom::fill(&mut iv))
            .map_err(|err| Error::key(format!("the system random source failed: {err}")))?;
        let cost = pkcs8::pkcs5::scrypt::Params::new(SCRYPT_LOG_N, 8, 1).map_err(|_| fail("bad scrypt cost"))?;
        let parameters = pkcs8::pkcs5::pbes2::Parameters::generate_scrypt_aes256cbc(cost, &salt, iv)
            .map_err(|_| fail("bad PBES2 parameters"))?;
        let encrypted =
            info.encrypt_with_params(parameters, passphrase.as_bytes()).map_err(|_| fail("encryption failed"))?;
        let pem = encrypted.to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF).map_err(|_| fail("PEM encoding failed"))?;
        Ok(Zeroizing::new(format!("{NAME_LINE_PREFIX}{}\n{}", self.public.name, pem.as_str())))
    }

    /// Parse a PEM key file's text. `name` overrides the name in the file's explanatory text;
    /// `passphrase` is asked for only when the file is encrypted.
    pub fn from_pem(
        text: &str,
        name: Option<&KeyName>,
        passphrase: &mut dyn FnMut() -> Result<Zeroizing<String>>,
    ) -> Result<SecretKey> {
        if !text.contains("-----BEGIN") {
            return Err(Error::key(not_a_key_file(text)));
        }
        let name = match name {
            Some(name) => name.clone(),
            None => {
                let line = text
                    .lines()
                    .take_while(|line| !line.starts_with("-----BEGIN"))
                    .find_map(|line| line.strip_prefix(NAME_LINE_PREFIX))
                    .ok_or_else(|| {
                        Error::key(format!(
                            "the key file does not say the key's name: add a line `{NAME_LINE_PREFIX}NAME` before `-----BEGIN`"
                        ))
                    })?;
                KeyName::parse(line.trim())?
            }
        };
        let begin = text.find("-----BEGIN").ok_or_else(|| Error::key("no `-----BEGIN` line: not a PEM key file"))?;
        let pem = &text[begin..];
        let signing = if pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
            check_encryption_cost(pem)?;
            let passphrase = passphrase()?;
            SigningKey::from_pkcs8_encrypted_pem(pem, passphrase.as_bytes())
                .map_err(|_| Error::key("cannot decrypt the key file: wrong passphrase or unsupported encryption"))?
        } else {
            SigningKey::from_pkcs8_pem(pem)
                .map_err(|err| Error::key(format!("not an Ed25519 PKCS#8 private key: {err}")))?
        };
        let public = PublicKey::new(name, ALGORITHM_ED25519, signing.verifying_key());
        Ok(SecretKey { public, signing })
    }

    /// Read a private key file, refusing one that group or others may read, and anything but a
    /// regular file (a FIFO or a device is refused before anything waits on it).
    pub fn read_file(path: &Path, passphrase: &mut dyn FnMut() -> Result<Zeroizing<String>>) -> Result<SecretKey> {
        use std::io::Read as _;
        let file = crate::fsio::open_read(path, crate::fsio::Links::Follow).map_err(|err| key_file_error(path, err))?;
        let metadata = file.metadata().map_err(|err| key_file_error(path, err))?;
        let mut text = Zeroizing::new(String::new());
        file.take(MAX_KEY_FILE_BYTES + 1).read_to_string(&mut text).map_err(|err| key_file_error(path, err))?;
        if text.len() as u64 > MAX_KEY_FILE_BYTES {
            return Err(Error::key(format!(
                "{} is larger than {MAX_KEY_FILE_BYTES} bytes: not a PEM key file",
                path.display()
            )));
        }
        // What is not a key file at all is named as such, not sent to `chmod 600` first.
        if !text.contains("-----BEGIN") {
            return Err(Error::key(not_a_key_file(&text)).at(path.display()));
        }
        check_mode(path, &metadata)?;
        SecretKey::from_pem(&text, None, passphrase).map_err(|err| err.at(path.display()))
    }

    /// Write this key to a new file, created with mode 0600 and never replacing an existing file.
    pub fn write_new_file(&self, path: &Path) -> Result<()> {
        let pem = self.to_pem()?;
        write_secret_file(path, pem.as_bytes())
    }

    /// [`SecretKey::write_new_file`], encrypted with `passphrase` (`SecretKey::to_encrypted_pem`).
    pub fn write_new_encrypted_file(&self, path: &Path, passphrase: &str) -> Result<()> {
        let pem = self.to_encrypted_pem(passphrase)?;
        write_secret_file(path, pem.as_bytes())
    }
}

/// Refuse an encrypted key file whose key derivation would cost more than the limits
/// ([`MAX_SCRYPT_MEMORY`], [`MAX_PBKDF2_ITERATIONS`]), before deriving anything.
fn check_encryption_cost(pem: &str) -> Result<()> {
    use pkcs8::pkcs5::pbes2::Kdf;
    let malformed = || Error::key("not a valid encrypted PKCS#8 key file (ENCRYPTED PRIVATE KEY)");
    let (_, der) = pkcs8::der::pem::decode_vec(pem.as_bytes()).map_err(|_| malformed())?;
    let info = pkcs8::EncryptedPrivateKeyInfoRef::try_from(der.as_slice()).map_err(|_| malformed())?;
    let Some(parameters) = info.encryption_algorithm.pbes2() else {
        return Err(Error::key(
            "the key file is encrypted with PBES1, which lianlog does not accept: re-encrypt it with PBES2 \
             (`openssl pkcs8 -topk8 -v2 aes-256-cbc`)",
        ));
    };
    match &parameters.kdf {
        Kdf::Pbkdf2(pbkdf2) if pbkdf2.iteration_count > MAX_PBKDF2_ITERATIONS => Err(Error::key(format!(
            "the key file asks for {} PBKDF2 iterations; lianlog accepts at most {MAX_PBKDF2_ITERATIONS}",
            pbkdf2.iteration_count
        ))),
        Kdf::Scrypt(scrypt) => {
            let memory = 128u128
                * u128::from(scrypt.block_size)
                * u128::from(scrypt.cost_parameter)
                * u128::from(scrypt.parallelization.max(1));
            if memory > u128::from(MAX_SCRYPT_MEMORY) {
                return Err(Error::key(format!(
                    "the key file asks scrypt for {memory} bytes of memory; lianlog accepts at most {MAX_SCRYPT_MEMORY}"
                )));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Why a text without a `-----BEGIN` line is not a private key file, with what the user most
/// likely gave instead (a verifier key, a JSON file) and what to give.
fn not_a_key_file(text: &str) -> String {
    let first = text.trim_start_matches('\u{feff}').trim_start();
    let what = if first.starts_with('{') || first.starts_with('[') {
        "it is a JSON file (a record body or a ledger file?), "
    } else if first.lines().next().is_some_and(|line| PublicKey::parse_vkey(line.trim()).is_ok()) {
        "it is a verifier key (vkey), the public half of a key, "
    } else {
        ""
    };
    format!(
        "not a PEM private key file: {what}there is no `-----BEGIN` line. --key takes the private key file \
         that `lianlog key new NAME --out FILE` wrote (`lianlog key show FILE` prints its vkey)"
    )
}

/// A key file that cannot be read is a key problem (exit code 4), whatever the OS said.
fn key_file_error(path: &Path, err: std::io::Error) -> Error {
    let hint = match err.kind() {
        std::io::ErrorKind::NotFound => "; check the path, or make a key with `lianlog key new NAME --out FILE`",
        std::io::ErrorKind::InvalidData => " (not UTF-8 text: not a PEM key file)",
        std::io::ErrorKind::InvalidInput => "; a key file must be a regular file",
        _ => "",
    };
    Error::key(format!("cannot read key file {}: {err}{hint}", path.display()))
}

fn check_mode(path: &Path, metadata: &std::fs::Metadata) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(Error::key(format!(
            "{}: private key file has mode {mode:03o}, readable by others; run `chmod 600 {}`",
            path.display(),
            path.display()
        )));
    }
    Ok(())
}

/// The fewest characters a passphrase that encrypts a key file may have.
pub const MIN_PASSPHRASE_CHARS: usize = 12;
/// The least estimated strength, in bits, of such a passphrase ([`passphrase_bits`]).
pub const MIN_PASSPHRASE_BITS: f64 = 50.0;

/// A simple estimate of a passphrase's strength in bits: the characters that add something (a
/// character that repeats the one before it or continues a sequence, `aa`, `12`, `cd`, adds
/// nothing), each worth log2 of the alphabet its classes span (lowercase 26, uppercase 26, digits
/// 10, ASCII symbols and space 33, other characters 100 — a few common Chinese words are
/// guessable). Crude, like every such estimate, but it refuses `1`, `123456789012`,
/// `aaaaaaaaaaaa` and `Password1234`, and accepts a sentence.
pub fn passphrase_bits(passphrase: &str) -> f64 {
    let class = |c: char| match c {
        'a'..='z' => 0,
        'A'..='Z' => 1,
        '0'..='9' => 2,
        c if c.is_ascii() => 3,
        _ => 4,
    };
    const CLASS_SIZES: [u32; 5] = [26, 26, 10, 33, 100];
    let mut present = [false; 5];
    for c in passphrase.chars() {
        present[class(c)] = true;
    }
    let pool: u32 = CLASS_SIZES.iter().zip(present).filter(|(_, here)| *here).map(|(size, _)| size).sum();
    let mut effective = 0u32;
    let mut previous: Option<char> = None;
    for c in passphrase.chars() {
        let adds = match previous {
            None => true,
            Some(p) => {
                let step = c as i64 - p as i64;
                !(step == 0 || step == 1 || step == -1)
            }
        };
        effective += u32::from(adds);
        previous = Some(c);
    }
    f64::from(effective) * f64::from(pool.max(1)).log2()
}

/// Refuse a passphrase too weak to protect a key file: fewer than [`MIN_PASSPHRASE_CHARS`]
/// characters, or an estimated strength below [`MIN_PASSPHRASE_BITS`]. The one rule for every
/// encrypted key file lianlog writes (the CLI skips it only on `--weak-passphrase-ok`).
pub fn check_passphrase_strength(passphrase: &str) -> Result<()> {
    let chars = passphrase.chars().count();
    let bits = passphrase_bits(passphrase);
    if chars < MIN_PASSPHRASE_CHARS || bits < MIN_PASSPHRASE_BITS {
        return Err(Error::bad_input(format!(
            "the passphrase is too weak ({chars} characters, about {bits:.0} bits; at least {MIN_PASSPHRASE_CHARS} \
             characters and {MIN_PASSPHRASE_BITS:.0} bits are required): use a sentence of several words, e.g. \
             four unrelated words with a number; nothing was written (--weak-passphrase-ok accepts it anyway)"
        )));
    }
    Ok(())
}

/// Create `path` atomically with mode 0600, never replacing an existing file or writing through a
/// link ([`crate::fsio::publish`]: temporary file, fsync, hard link, directory fsync).
pub(crate) fn write_secret_file(path: &Path, contents: &[u8]) -> Result<()> {
    crate::fsio::publish_bytes(path, false, contents)
}

/// `base64(key id || signature)`: the value of a signed-note line, the one framing of both
/// signing paths.
fn signature_value_of(id: &[u8; 4], signature: &[u8; 64]) -> String {
    let mut bytes = Vec::with_capacity(68);
    bytes.extend_from_slice(id);
    bytes.extend_from_slice(signature);
    base64(&bytes)
}

/// curve25519-dalek's basepoint table of radix 32, once [`prepare_to_sign_many`] made it: R = r·B
/// in 52 point additions instead of the built-in table's 64 (14.7 -> 14.0 µs a signature, one
/// core), for 2.2-2.9 ms to build, worth it from a few thousand signatures.
static LARGE_BASEPOINT_TABLE: std::sync::OnceLock<curve25519_dalek::edwards::EdwardsBasepointTableRadix32> =
    std::sync::OnceLock::new();

/// Make the table that [`SecretKey::signature_values`] signs with faster, for a process about to
/// sign thousands of records (an import).
pub(crate) fn prepare_to_sign_many() {
    use curve25519_dalek::traits::BasepointTable as _;
    LARGE_BASEPOINT_TABLE.get_or_init(|| {
        curve25519_dalek::edwards::EdwardsBasepointTableRadix32::create(
            &curve25519_dalek::constants::ED25519_BASEPOINT_POINT,
        )
    });
}

/// [`SecretKey::signature_values`], with R = r·B from `table` if given, else from
/// curve25519-dalek's built-in table (the same point either way).
fn sign_together(
    requests: &[(&SecretKey, &[u8])],
    table: Option<&curve25519_dalek::edwards::EdwardsBasepointTableRadix32>,
) -> Vec<String> {
    use curve25519_dalek::edwards::EdwardsPoint;
    use curve25519_dalek::scalar::Scalar;
    use curve25519_dalek::traits::BasepointTable as _;
    use ed25519_dalek::hazmat::ExpandedSecretKey;
    use sha2::Sha512;

    fn scalar_of(hash: Sha512) -> Scalar {
        let wide: Zeroizing<[u8; 64]> = Zeroizing::new(hash.finalize().into());
        Scalar::from_bytes_mod_order_wide(&wide)
    }
    // Requests in a row by one key (the usual case) expand its secret once.
    struct Expanded<'k> {
        key: &'k SecretKey,
        secret: ExpandedSecretKey,
    }
    fn expanded<'k, 'e>(cache: &'e mut Option<Expanded<'k>>, key: &'k SecretKey) -> &'e ExpandedSecretKey {
        if !cache.as_ref().is_some_and(|cached| std::ptr::eq(cached.key, key)) {
            *cache = Some(Expanded { key, secret: ExpandedSecretKey::from(key.signing.as_bytes()) });
        }
        &cache.as_ref().expect("just set").secret
    }

    let mut cache = None;
    // RFC 8032 section 5.1.6 steps 2 and 3: the nonce r (secret) and R = r·B.
    let mut nonces: Zeroizing<Vec<Scalar>> = Zeroizing::new(Vec::with_capacity(requests.len()));
    let mut points = Vec::with_capacity(requests.len());
    for &(key, message) in requests {
        let secret = expanded(&mut cache, key);
        let mut hash = Sha512::new();
        hash.update(secret.hash_prefix);
        hash.update(message);
        let nonce = scalar_of(hash);
        points.push(match table {
            Some(table) => table.mul_base(&nonce),
            None => EdwardsPoint::mul_base(&nonce),
        });
        nonces.push(nonce);
    }
    let compressed = EdwardsPoint::compress_batch_alloc(&points);
    // Steps 4 and 5: k = H(R || A || M) and S = r + k·s.
    let mut values = Vec::with_capacity(requests.len());
    for ((&(key, message), nonce), big_r) in requests.iter().zip(nonces.iter()).zip(&compressed) {
        let secret = expanded(&mut cache, key);
        let mut hash = Sha512::new();
        hash.update(big_r.as_bytes());
        hash.update(key.public.verifying_key().as_bytes());
        hash.update(message);
        let s = scalar_of(hash) * secret.scalar + nonce;
        let mut signature = [0u8; 64];
        signature[..32].copy_from_slice(big_r.as_bytes());
        signature[32..].copy_from_slice(s.as_bytes());
        values.push(signature_value_of(&key.public.id, &signature));
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_passphrase() -> Result<Zeroizing<String>> {
        Err(Error::key("no passphrase"))
    }

    #[test]
    fn weak_passphrases_are_refused_and_sentences_accepted() {
        for weak in ["1", "short", "aaaaaaaaaaaaaaaa", "123456789012", "abcdefghijklmnop", "Password1234"] {
            assert!(check_passphrase_strength(weak).is_err(), "{weak}: {}", passphrase_bits(weak));
        }
        for strong in ["纪检 passphrase 2026", "正确的口令 correct horse", "river Tiger 7 lamp violet"] {
            assert!(check_passphrase_strength(strong).is_ok(), "{strong}: {}", passphrase_bits(strong));
        }
        let err = check_passphrase_strength("1").unwrap_err();
        assert!(err.to_string().contains("at least 12 characters"), "{err}");
    }

    #[test]
    fn vector_keys_give_the_published_vkeys() {
        let keys: serde_json::Value = serde_json::from_str(include_str!("../../tests/vectors/keys.json")).unwrap();
        for (_, key) in keys.as_object().unwrap() {
            let name = KeyName::parse(key["name"].as_str().unwrap()).unwrap();
            let secret =
                SecretKey::from_pem(key["pkcs8_pem"].as_str().unwrap(), Some(&name), &mut no_passphrase).unwrap();
            assert_eq!(secret.public().vkey(), key["vkey"].as_str().unwrap());
            assert_eq!(secret.public().identity(), key["identity"].as_str().unwrap());
            let seed = crate::encoding::parse_hex::<32>(key["seed_hex"].as_str().unwrap()).unwrap();
            assert_eq!(SecretKey::from_seed(name, &seed).public().vkey(), key["vkey"].as_str().unwrap());
            let parsed = PublicKey::parse_vkey(key["vkey"].as_str().unwrap()).unwrap();
            assert_eq!(parsed, *secret.public());
            assert_eq!(parsed.weakness(), None);
        }
    }

    #[test]
    fn pem_round_trip_keeps_the_name_and_hides_the_secret() {
        let key = SecretKey::generate(KeyName::parse("officer.qian").unwrap()).unwrap();
        let pem = key.to_pem().unwrap();
        assert!(pem.contains("-----BEGIN PRIVATE KEY-----"));
        let back = SecretKey::from_pem(&pem, None, &mut no_passphrase).unwrap();
        assert_eq!(back.public(), key.public());
        let debug = format!("{key:?}");
        let secret_b64 = base64(&key.signing.to_bytes());
        assert!(!debug.contains(&secret_b64) && !debug.contains(&hex(&key.signing.to_bytes())));
    }

    /// No spelling of the secret (hex, base64, the vkey-style 0x01-prefixed base64) in a string.
    fn assert_hides(text: &str, key: &SecretKey) {
        let secret = key.signing.to_bytes();
        let mut typed = vec![ALGORITHM_ED25519];
        typed.extend_from_slice(&secret);
        for spelling in [hex(&secret), base64(&secret), base64(&typed), hex(&secret).to_uppercase()] {
            assert!(!text.contains(&spelling), "the secret appears in {text:?}");
        }
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let key = SecretKey::generate(KeyName::parse("officer.qian").unwrap()).unwrap();
        for debug in [
            format!("{key:?}"),
            format!("{key:#?}"),
            format!("{:?}", key.as_cosigner()),
            format!("{:?}", key.renamed(KeyName::parse("officer.sun").unwrap())),
            format!("{:?}", key.public()),
        ] {
            assert_hides(&debug, &key);
            assert!(debug.contains("officer."), "{debug}");
        }
    }

    #[test]
    fn encrypted_pem_round_trips_and_errors_name_neither_passphrase_nor_secret() {
        let key = SecretKey::generate(KeyName::parse("officer.qian").unwrap()).unwrap();
        let pem = key.to_encrypted_pem("正确的口令 correct").unwrap();
        assert!(pem.starts_with("lianlog key name: officer.qian\n-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
        assert_hides(&pem, &key);
        let mut asked = 0;
        let back = SecretKey::from_pem(&pem, None, &mut || {
            asked += 1;
            Ok(Zeroizing::new("正确的口令 correct".to_string()))
        })
        .unwrap();
        assert_eq!((back.public(), asked), (key.public(), 1));
        let err = SecretKey::from_pem(&pem, None, &mut || Ok(Zeroizing::new("错误的口令 xyzzy".into()))).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Key);
        assert!(!err.message().contains("错误的口令") && !err.message().contains("xyzzy"), "{err}");
        assert_hides(err.message(), &key);
        assert!(key.to_encrypted_pem("").is_err(), "an empty passphrase is refused");
        // An unencrypted file never asks for a passphrase.
        let plain = key.to_pem().unwrap();
        SecretKey::from_pem(&plain, None, &mut || panic!("asked for a passphrase")).unwrap();
        // A damaged key's error does not repeat the file.
        let body_start = plain.find("-----BEGIN PRIVATE KEY-----\n").unwrap() + 28;
        let mut damaged = plain.to_string();
        damaged.replace_range(body_start..body_start + 4, "AAAA");
        let err = SecretKey::from_pem(&damaged, None, &mut no_passphrase).unwrap_err();
        assert!(!err.message().contains(&plain[body_start + 4..body_start + 24]), "{err}");
    }

    #[test]
    fn an_encrypted_key_asking_for_too_much_work_is_refused_before_any() {
        use pkcs8::der::Encode as _;
        use pkcs8::pkcs5::{EncryptionScheme, pbes2, scrypt};
        let salt = [7u8; 16];
        let iv = [9u8; 16];
        let costly = [
            pbes2::Parameters::generate_scrypt_aes256cbc(scrypt::Params::new(24, 8, 1).unwrap(), &salt, iv).unwrap(),
            pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(MAX_PBKDF2_ITERATIONS + 1, &salt, iv).unwrap(),
        ];
        for parameters in costly {
            let info = pkcs8::EncryptedPrivateKeyInfo {
                encryption_algorithm: EncryptionScheme::Pbes2(parameters),
                encrypted_data: pkcs8::der::asn1::OctetStringRef::new(&[0u8; 48]).unwrap(),
            };
            let der = info.to_der().unwrap();
            let pem = pkcs8::der::pem::encode_string("ENCRYPTED PRIVATE KEY", LineEnding::LF, &der).unwrap();
            let text = format!("lianlog key name: officer.qian\n{pem}");
            let started = std::time::Instant::now();
            let err = SecretKey::from_pem(&text, None, &mut || panic!("asked for a passphrase")).unwrap_err();
            assert!(err.message().contains("lianlog accepts at most"), "{err}");
            assert!(started.elapsed() < std::time::Duration::from_secs(1));
        }
    }

    #[test]
    fn vkey_with_wrong_id_or_name_is_refused() {
        let good = "admin.zhao+9ae89c3c+AZjTUO/QpGDaRmbPVmHb/RrDtJVlBPGh0gxucLSta2IW";
        assert!(PublicKey::parse_vkey(good).is_ok());
        assert!(PublicKey::parse_vkey("admin.zhao+9ae89c3d+AZjTUO/QpGDaRmbPVmHb/RrDtJVlBPGh0gxucLSta2IW").is_err());
        assert!(PublicKey::parse_vkey("admin.qian+9ae89c3c+AZjTUO/QpGDaRmbPVmHb/RrDtJVlBPGh0gxucLSta2IW").is_err());
        assert!(PublicKey::parse_vkey("admin zhao+9ae89c3c+AZjTUO/QpGDaRmbPVmHb/RrDtJVlBPGh0gxucLSta2IW").is_err());
    }

    #[test]
    fn small_order_keys_are_weak() {
        // The identity point (y = 1) has order 1.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let key = VerifyingKey::from_bytes(&identity).unwrap();
        let public = PublicKey::new(KeyName::parse("weak").unwrap(), ALGORITHM_ED25519, key);
        assert!(public.weakness().is_some());
    }

    proptest::proptest! {
        /// Signing many at once gives each message the signature made alone (by ed25519-dalek,
        /// deterministic), whatever the keys' order and the messages: empty, long, repeated.
        #[test]
        fn signatures_made_together_are_those_made_alone(
            requests in proptest::collection::vec(
                (0..3usize, proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)),
                0..40,
            ),
        ) {
            let keys: Vec<SecretKey> = (0..3u8)
                .map(|i| SecretKey::from_seed(KeyName::parse(&format!("signer{i}")).unwrap(), &[i * 37 + 1; 32]))
                .collect();
            let requests: Vec<(&SecretKey, &[u8])> =
                requests.iter().map(|(key, message)| (&keys[*key], message.as_slice())).collect();
            prepare_to_sign_many();
            for table in [None, LARGE_BASEPOINT_TABLE.get()] {
                let together = sign_together(&requests, table);
                proptest::prop_assert_eq!(together.len(), requests.len());
                for ((key, message), value) in requests.iter().zip(&together) {
                    proptest::prop_assert_eq!(value, &key.signature_value(message));
                    proptest::prop_assert!(key.public().verify_signature_value(message, value).is_ok());
                }
            }
        }
    }
}
