//! The format's version and every size limit lianlog enforces (限额), in one place.
//!
//! Each limit bounds what hostile or mistaken input can make lianlog read, hold or compute; none
//! changes the bytes of a valid ledger. A leaf: it depends on nothing. The limits an outside
//! verifier must share (the line size) are stated in docs/FORMAT.md; the rest are lianlog's own.

/// The storage format this build writes and reads (`lianlog.json`'s `format`).
pub const FORMAT_VERSION: u64 = 1;

// Lines and bodies.

/// Maximum size of one stored line, in bytes. Bodies are bounded well below this.
pub const MAX_LINE_BYTES: usize = 1 << 20;
/// Largest canonical body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Largest entry (JCS(entry), section 5 of the format): C2SP tlog-tiles entry bundles frame each
/// entry with a `uint16_be` length, so no entry may exceed 65,535 bytes. Entries carry no body
/// (only its hash), so real entries are a few hundred bytes; the limit is enforced at append.
pub const MAX_ENTRY_BYTES: usize = 65_535;
/// Longest free text of a body field (`text` fields), in characters.
pub const MAX_TEXT_CHARS: usize = 4000;
/// Longest short text of a body field (names, units, titles), in characters.
pub const MAX_SHORT_TEXT_CHARS: usize = 200;
/// Longest identifier (record ids, case ids), in characters.
pub const MAX_ID_CHARS: usize = 64;
/// Most items of a list field.
pub const MAX_LIST_ITEMS: usize = 100;
/// Most validation errors of one body reported at once (the rest after they are fixed).
pub const MAX_REPORTED_ERRORS: usize = 20;

// Batches.

/// Most records in one import.
pub const MAX_BATCH: usize = 1_000_000;
/// Largest JSON Lines import accepted, in bytes (a limit against hostile or mistaken input: the
/// whole import is checked before anything is written, so it is held in memory).
pub const MAX_IMPORT_BYTES: usize = 256 << 20;
/// Most records written with one `sync_data` by group commit.
pub const MAX_GROUP: usize = 1024;

// Client-signed appends (submissions).

/// How far a submitted record's `created` time may lie from the time the ledger sequences it, by
/// default, in milliseconds: 5 minutes, the usual tolerance for unsynchronized desk clocks (as in
/// Kerberos). A server may narrow or widen it up to [`MAX_CLOCK_SKEW_MS`].
pub const DEFAULT_CLOCK_SKEW_MS: u64 = 5 * 60 * 1000;
/// The widest clock-skew window accepted, in milliseconds: 1 hour. Every append path sequences a
/// record within this of its `created` time, which bounds how far back the replay check of a
/// submission reads.
pub const MAX_CLOCK_SKEW_MS: u64 = 60 * 60 * 1000;

// Notes and proofs.

/// The largest note accepted, in bytes (a limit against hostile input, not a format rule).
pub const MAX_NOTE_BYTES: usize = 1 << 20;
/// The most signature lines a note may have. The spec requires accepting at least 16; more than
/// 100 means someone is trying to make us verify forever.
pub const MAX_SIGNATURE_LINES: usize = 100;
/// A tree of at most 2^64 leaves needs at most 64 hashes in a proof (consistency proofs 65).
pub const MAX_PROOF_HASHES: usize = 66;
/// The largest proof text accepted: a signed note, the `extra` line and the hashes.
pub const MAX_PROOF_BYTES: usize = MAX_NOTE_BYTES + 64 * 1024;
/// The largest `extra` data of an inclusion bundle accepted, in bytes.
pub const MAX_EXTRA_BYTES: usize = 16 * 1024;

// The witness (见证方).

/// The largest `add-checkpoint` request body accepted: the old size line, 63 proof lines and a
/// note of at most [`MAX_NOTE_BYTES`].
pub const MAX_WITNESS_REQUEST_BYTES: usize = MAX_NOTE_BYTES + 4096;
/// The largest witness state file read: a note, the witness's cosignatures and the log's keys.
pub const MAX_WITNESS_STATE_BYTES: u64 = 2 * MAX_NOTE_BYTES as u64 + 64 * 1024;

// Key files.

/// The largest key file read (a PEM Ed25519 key is a few hundred bytes).
pub const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;
/// The most memory (128 · r · N · p bytes) an encrypted key file may ask scrypt for: a hostile
/// key file must not make lianlog allocate without bound.
pub const MAX_SCRYPT_MEMORY: u64 = 1 << 30;
/// The most PBKDF2 iterations an encrypted key file may ask for: nor compute without bound.
pub const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
