//! C2SP tlog-tiles (瓦片): the ledger's Merkle tree and entries as the static resources of the
//! tlog-tiles read API — hash tiles `tile/<L>/<N>[.p/<W>]` and entry bundles
//! `tile/entries/<N>[.p/<W>]` — plus lianlog's one addition, the bodies a verifier needs
//! (`lianlog/v1/bodies/<N>[.p/<W>]`), and the client-side check of all of them
//! ([`verify_tiles`], in `tiles/verifying.rs`).
//!
//! # What it guarantees
//!
//! * **Byte-exact tlog-tiles.** A hash tile of level `l`, index `n` and width `w` is the `w`
//!   Merkle Tree Hashes `MTH(D[(n·256+i)·256^l : (n·256+i+1)·256^l])`, `i < w`, 32 bytes each; an
//!   entry bundle is `uint16_be(len) ‖ JCS(entry)` for its entries. Both are read from what the
//!   ledger already stores (the complete-subtree hashes of `merkle.bin`, the log's lines), never
//!   recomputed from the leaves: a tile costs `w` node reads, a bundle `w` lines. The tests check
//!   them against an implementation written from RFC 6962's definition alone
//!   (`tests/tools/tiles.py`).
//! * **Strict paths.** [`Tile::parse`] accepts exactly the paths [`Tile::path`] writes: level
//!   0–63 without leading zeros, the index in 3-digit groups with `x` on all but the last (no
//!   leading `x000` group), width 1–255 without leading zeros; anything else is bad input naming
//!   the path and what is wrong. Parsing never allocates more than the path's length, so hostile
//!   paths cost nothing.
//! * **Only what exists.** A tile is served only when every hash in it is the root of a complete
//!   subtree of the ledger as it stands ([`Tile::exists_in`]): a full tile is immutable, and a
//!   partial tile of width `w` is the prefix of the full tile it will become. Nothing past the
//!   ledger's size, no empty tile, no level beyond the tree (levels 8–63 parse but never exist).
//! * **Bundles never carry bodies.** An entry is the signed record plus seq, prev and time; the
//!   bodies of `ledger.*` and `key.*` records (the registry a verifier must rebuild) are served
//!   apart, and only those: a verifier reconstructs the stream of an export without bodies.

use crate::error::{Error, ErrorKind, Result};
use crate::ledger::Ledger;
use crate::merkle::{Hash, NodeStore};
use crate::record::{ParsedLine, kind_keeps_body};

mod verifying;

pub use verifying::{TileSource, TilesVerified, verify_tiles};

/// Hashes in a full tile (and entries in a full bundle): 2^8.
pub const TILE_WIDTH: u16 = 256;
/// The height of the subtree a tile spans: a level-`l` tile's hashes are tree nodes of height
/// `8·l`.
pub const TILE_HEIGHT: u8 = 8;
/// The bytes of one hash in a tile.
pub const HASH_BYTES: usize = 32;
/// The highest level a tile path may name (tlog-tiles: 0–63).
pub const MAX_TILE_LEVEL: u8 = 63;
/// The longest tile path accepted before it is even looked at (the longest valid one is about
/// 60 bytes): hostile paths are refused in constant time.
const MAX_PATH_BYTES: usize = 128;
/// A `u64` index has at most 20 digits: 7 groups of 3.
const MAX_INDEX_GROUPS: usize = 7;

/// What a tile path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TileKind {
    /// A hash tile of this level (`tile/<L>/…`).
    Hash(u8),
    /// An entry bundle (`tile/entries/…`).
    Entries,
    /// The full stored lines of a bundle's `ledger.*` and `key.*` entries, the bodies a verifier
    /// needs (`lianlog/v1/bodies/…`; lianlog's own resource, not tlog-tiles).
    Bodies,
}

/// One tile-shaped resource: a hash tile, an entry bundle or the bodies of a bundle, by index
/// and width (256 for a full tile, 1–255 for a partial one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tile {
    /// Hash tile (of a level), entry bundle, or bodies.
    pub kind: TileKind,
    /// The tile's index within its level.
    pub index: u64,
    /// Hashes or entries in it: 256 when full, 1–255 when partial.
    pub width: u16,
}

/// The URL path prefix of hash tiles and entry bundles (tlog-tiles).
const TILE_PREFIX: &str = "tile/";
/// The URL path prefix of the bodies a verifier needs (lianlog's own).
const BODIES_PREFIX: &str = "lianlog/v1/bodies/";

impl Tile {
    /// A hash tile. Fails on a level above 63 or a width outside 1–256.
    pub fn hash(level: u8, index: u64, width: u16) -> Result<Tile> {
        if level > MAX_TILE_LEVEL {
            return Err(Error::bad_input(format!("tile level {level} is above {MAX_TILE_LEVEL}")));
        }
        Tile::new(TileKind::Hash(level), index, width)
    }

    /// An entry bundle. Fails on a width outside 1–256.
    pub fn entries(index: u64, width: u16) -> Result<Tile> {
        Tile::new(TileKind::Entries, index, width)
    }

    /// The bodies of entry bundle `index` of `width` entries. Fails on a width outside 1–256.
    pub fn bodies(index: u64, width: u16) -> Result<Tile> {
        Tile::new(TileKind::Bodies, index, width)
    }

    fn new(kind: TileKind, index: u64, width: u16) -> Result<Tile> {
        if width == 0 || width > TILE_WIDTH {
            return Err(Error::bad_input(format!("tile width {width} is not between 1 and {TILE_WIDTH}")));
        }
        Ok(Tile { kind, index, width })
    }

    /// Whether the tile is partial (fewer than 256 hashes or entries).
    pub fn is_partial(&self) -> bool {
        self.width < TILE_WIDTH
    }

    /// The level of the tree nodes the tile holds, in tiles: a hash tile's level, 0 for bundles.
    pub fn level(&self) -> u8 {
        match self.kind {
            TileKind::Hash(level) => level,
            TileKind::Entries | TileKind::Bodies => 0,
        }
    }

    /// The same index and width as an entry bundle (the bundle a level-0 tile or bodies go with).
    pub fn as_entries(&self) -> Tile {
        Tile { kind: TileKind::Entries, ..*self }
    }

    /// The same index and width as a level-0 hash tile.
    pub fn as_level_zero(&self) -> Tile {
        Tile { kind: TileKind::Hash(0), ..*self }
    }

    /// The same index and width as the bodies of a bundle.
    pub fn as_bodies(&self) -> Tile {
        Tile { kind: TileKind::Bodies, ..*self }
    }

    /// The first entry (leaf) the tile covers, if it fits a `u64`.
    pub fn first_leaf(&self) -> Option<u64> {
        let shift = u32::from(TILE_HEIGHT) * (u32::from(self.level()) + 1);
        let leaves = u128::from(self.index).checked_mul(1u128.checked_shl(shift)?)?;
        u64::try_from(leaves).ok()
    }

    /// The number of leaves the tile covers up to its right edge, if it fits a `u64`.
    fn end_leaf(&self) -> Option<u64> {
        let shift = u32::from(TILE_HEIGHT) * u32::from(self.level());
        if shift >= 128 {
            return None;
        }
        let hashes = (u128::from(self.index) << TILE_HEIGHT) + u128::from(self.width);
        let leaves = hashes.checked_mul(1u128.checked_shl(shift)?)?;
        u64::try_from(leaves).ok()
    }

    /// Whether every hash (or entry) of the tile exists in a tree of `size` leaves: each is a
    /// complete subtree inside `[0, size)`. A tile beyond the tree, or of a level whose subtrees
    /// are larger than any tree, does not exist.
    pub fn exists_in(&self, size: u64) -> bool {
        self.end_leaf().is_some_and(|end| end <= size)
    }

    /// The URL path, without a leading `/`: `tile/1/x001/234.p/7`, `tile/entries/000`,
    /// `lianlog/v1/bodies/005`.
    pub fn path(&self) -> String {
        let mut path = String::with_capacity(48);
        match self.kind {
            TileKind::Hash(level) => {
                path.push_str(TILE_PREFIX);
                path.push_str(&level.to_string());
            }
            TileKind::Entries => path.push_str("tile/entries"),
            TileKind::Bodies => path.push_str(BODIES_PREFIX.trim_end_matches('/')),
        }
        let digits = self.index.to_string();
        // Left-pad to a multiple of 3 digits, then write the groups.
        let padded = format!("{}{digits}", "0".repeat((3 - digits.len() % 3) % 3));
        let groups = padded.len() / 3;
        for (number, group) in padded.as_bytes().chunks(3).enumerate() {
            path.push('/');
            if number + 1 < groups {
                path.push('x');
            }
            path.push_str(std::str::from_utf8(group).unwrap_or("000")); // ok: ASCII digits
        }
        if self.is_partial() {
            path.push_str(".p/");
            path.push_str(&self.width.to_string());
        }
        path
    }

    /// Parse a URL path (`/tile/<L>/<N>[.p/<W>]`, `/tile/entries/<N>[.p/<W>]` or
    /// `/lianlog/v1/bodies/<N>[.p/<W>]`; the leading `/` is optional) exactly as tlog-tiles
    /// writes it. Anything else is bad input that names the path and what is wrong with it.
    pub fn parse(path: &str) -> Result<Tile> {
        let fail = |what: &str| {
            let shown: String = path.chars().take(MAX_PATH_BYTES).collect();
            Error::bad_input(format!(
                "tile path {shown:?}: {what} (tlog-tiles paths are tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>], \
                 e.g. tile/0/x001/234.p/7)"
            ))
        };
        if path.len() > MAX_PATH_BYTES {
            return Err(fail(&format!("longer than {MAX_PATH_BYTES} bytes")));
        }
        let relative = path.strip_prefix('/').unwrap_or(path);
        let (kind, rest) = if let Some(rest) = relative.strip_prefix(BODIES_PREFIX) {
            (TileKind::Bodies, rest)
        } else if let Some(rest) = relative.strip_prefix(TILE_PREFIX) {
            let (level, rest) = rest.split_once('/').ok_or_else(|| fail("no tile index after the level"))?;
            if level == "entries" {
                (TileKind::Entries, rest)
            } else {
                let level = parse_decimal(level, MAX_TILE_LEVEL.into())
                    .map_err(|why| fail(&format!("the level {level:?} {why}; it must be 0 to 63 or \"entries\"")))?;
                (TileKind::Hash(u8::try_from(level).unwrap_or(u8::MAX)), rest)
            }
        } else {
            return Err(fail("it does not start with tile/"));
        };
        let mut elements: Vec<&str> = rest.split('/').collect();
        let mut width = TILE_WIDTH;
        if elements.len() >= 2 && elements[elements.len() - 2].ends_with(".p") {
            let text = elements.pop().unwrap_or_default();
            let parsed = parse_decimal(text, u64::from(TILE_WIDTH) - 1)
                .map_err(|why| fail(&format!("the partial width {text:?} {why}; it must be 1 to 255")))?;
            if parsed == 0 {
                return Err(fail("the partial width is 0; it must be 1 to 255 (empty tiles do not exist)"));
            }
            width = u16::try_from(parsed).unwrap_or(TILE_WIDTH);
            if let Some(last) = elements.last_mut() {
                // Exactly one `.p`: `000.p.p/5` is not a spelling of `000.p/5` (one path, one tile).
                *last = last.strip_suffix(".p").unwrap_or(last);
            }
        }
        if elements.len() > MAX_INDEX_GROUPS {
            return Err(fail("the index has more than 7 groups of 3 digits"));
        }
        let mut index: u64 = 0;
        for (number, element) in elements.iter().enumerate() {
            let last = number + 1 == elements.len();
            let digits = if last {
                *element
            } else {
                element.strip_prefix('x').ok_or_else(|| {
                    fail(&format!("index element {element:?} must start with x (all but the last do)"))
                })?
            };
            if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(fail(&format!(
                    "index element {element:?} is not {}3 decimal digits",
                    if last { "" } else { "x and " }
                )));
            }
            if number == 0 && !last && digits == "000" {
                return Err(fail("the index starts with a x000 group (write it without leading zero groups)"));
            }
            let group: u64 = digits.parse().map_err(|_| fail("index digits"))?;
            index = index
                .checked_mul(1000)
                .and_then(|i| i.checked_add(group))
                .ok_or_else(|| fail("the index is larger than 2^64 − 1"))?;
        }
        Tile::new(kind, index, width).map_err(|e| fail(e.message()))
    }
}

/// A decimal number without sign or leading zeros, at most `max`.
fn parse_decimal(text: &str, max: u64) -> std::result::Result<u64, &'static str> {
    if text.is_empty() {
        return Err("is empty");
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err("is not a decimal number");
    }
    if text.len() > 1 && text.starts_with('0') {
        return Err("has a leading zero");
    }
    match text.parse::<u64>() {
        Ok(value) if value <= max => Ok(value),
        _ => Err("is too large"),
    }
}

impl std::fmt::Display for Tile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.path())
    }
}

/// The hash tiles, entry bundles and bodies of a tree of `size` leaves that a verifier of that
/// size fetches: every full tile and bundle, and the partial ones of this size, in the order a
/// streaming verifier needs them (bundles by index).
pub fn bundles_for(size: u64) -> impl Iterator<Item = Tile> {
    let full = size >> TILE_HEIGHT;
    let rest = u16::try_from(size & 0xff).unwrap_or(0);
    (0..full)
        .map(|index| Tile { kind: TileKind::Entries, index, width: TILE_WIDTH })
        .chain((rest > 0).then_some(Tile { kind: TileKind::Entries, index: full, width: rest }))
}

/// The hash tile `tile` of a tree of `size` leaves from stored complete-subtree hashes: `width`
/// node reads, no hashing. `Ok(None)` when the tile does not exist in that tree
/// ([`Tile::exists_in`]). Fails on a bundle (not a hash tile).
pub fn hash_tile<S: NodeStore + ?Sized>(store: &S, size: u64, tile: &Tile) -> Result<Option<Vec<u8>>, S::Error>
where
    S::Error: From<Error>,
{
    let TileKind::Hash(level) = tile.kind else {
        return Err(Error::bad_input(format!("{tile} is not a hash tile")).into());
    };
    if !tile.exists_in(size) {
        return Ok(None);
    }
    // `exists_in` bounded the tile inside a u64-sized tree, so these do not overflow.
    let node_level = level.saturating_mul(TILE_HEIGHT);
    let first = tile.index << TILE_HEIGHT;
    let mut bytes = Vec::with_capacity(usize::from(tile.width) * HASH_BYTES);
    for i in 0..u64::from(tile.width) {
        bytes.extend_from_slice(&store.node(node_level, first + i)?);
    }
    Ok(Some(bytes))
}

/// Append one entry to a bundle: `uint16_be(len) ‖ entry`. Fails (naming the seq) on an entry
/// longer than 65,535 bytes, which tlog-tiles cannot frame (lianlog refuses such entries at
/// append: [`crate::limits::MAX_ENTRY_BYTES`]).
pub fn push_bundle_entry(bundle: &mut Vec<u8>, seq: u64, entry: &[u8]) -> Result<()> {
    let length = u16::try_from(entry.len()).map_err(|_| {
        Error::new(
            ErrorKind::Store,
            format!(
                "entry {seq} is {} bytes, more than a tlog-tiles entry bundle can hold ({} bytes); \
                 it cannot be served as tiles",
                entry.len(),
                crate::limits::MAX_ENTRY_BYTES
            ),
        )
        .with_seq(seq)
    })?;
    bundle.extend_from_slice(&length.to_be_bytes());
    bundle.extend_from_slice(entry);
    Ok(())
}

/// Split an entry bundle into its entries: exactly `expected` length-prefixed entries and not a
/// byte more. Fails (bad input, naming the offset) on a truncated entry, trailing bytes, or a
/// count other than `expected`.
pub fn parse_bundle(bundle: &[u8], expected: u16) -> Result<Vec<&[u8]>> {
    let mut entries = Vec::with_capacity(usize::from(expected));
    let mut rest = bundle;
    while !rest.is_empty() {
        let offset = bundle.len() - rest.len();
        let (length, after) = match rest {
            [high, low, after @ ..] => (usize::from(u16::from_be_bytes([*high, *low])), after),
            _ => return Err(Error::bad_input(format!("entry bundle: a lone byte at offset {offset}"))),
        };
        if entries.len() == usize::from(expected) {
            return Err(Error::bad_input(format!(
                "entry bundle: more than the {expected} entries it should hold (offset {offset})"
            )));
        }
        let Some((entry, after)) = after.split_at_checked(length) else {
            return Err(Error::bad_input(format!(
                "entry bundle: the entry at offset {offset} says {length} bytes but only {} follow",
                after.len()
            )));
        };
        entries.push(entry);
        rest = after;
    }
    if entries.len() != usize::from(expected) {
        return Err(Error::bad_input(format!(
            "entry bundle: {} entries where {expected} were expected",
            entries.len()
        )));
    }
    Ok(entries)
}

impl Ledger {
    /// A hash tile of the ledger as it stands, from the stored Merkle nodes; `Ok(None)` when it
    /// does not exist (yet, or ever). Fails on a bundle path.
    pub fn hash_tile(&self, tile: &Tile) -> Result<Option<Vec<u8>>> {
        hash_tile(self.store(), self.size(), tile)
    }

    /// An entry bundle of the ledger as it stands: `uint16_be(len) ‖ JCS(entry)` for each of its
    /// entries, read from the log; `Ok(None)` when it does not exist. Fails on a hash tile path.
    pub fn entry_bundle(&self, tile: &Tile) -> Result<Option<Vec<u8>>> {
        if tile.kind != TileKind::Entries {
            return Err(Error::bad_input(format!("{tile} is not an entry bundle")));
        }
        let mut bundle = Vec::with_capacity(usize::from(tile.width) * 512);
        let found =
            self.bundle_lines(tile, |seq, parsed, _| push_bundle_entry(&mut bundle, seq, &parsed.entry_bytes))?;
        Ok(found.then_some(bundle))
    }

    /// The full stored lines (each followed by `\n`) of the `ledger.*` and `key.*` entries of
    /// bundle `tile`, in seq order: the bodies a verifier needs to rebuild the key registry and
    /// check redactions, and no other body. `Ok(None)` when the bundle does not exist.
    pub fn verifier_bodies(&self, tile: &Tile) -> Result<Option<Vec<u8>>> {
        if tile.kind != TileKind::Bodies {
            return Err(Error::bad_input(format!("{tile} is not a bodies path")));
        }
        let mut lines = Vec::new();
        let found = self.bundle_lines(&tile.as_entries(), |_, parsed, raw| {
            if kind_keeps_body(&parsed.line.entry.record.kind) {
                lines.extend_from_slice(raw);
                lines.push(b'\n');
            }
            Ok(())
        })?;
        Ok(found.then_some(lines))
    }

    /// Call `each` with the seq, parsed line and raw line of every entry of bundle `tile`; false
    /// when the bundle does not exist.
    fn bundle_lines(&self, tile: &Tile, mut each: impl FnMut(u64, &ParsedLine, &[u8]) -> Result<()>) -> Result<bool> {
        if !tile.exists_in(self.size()) {
            return Ok(false);
        }
        let first = tile.first_leaf().unwrap_or(u64::MAX);
        for (seq, raw) in (first..).zip(self.raw_lines_from(first)?.take(usize::from(tile.width))) {
            let raw = raw?;
            let parsed = ParsedLine::parse(&raw).map_err(|e| {
                Error::new(ErrorKind::Verification, format!("damaged log line at seq {seq}: {e}; run `lianlog verify`"))
                    .with_seq(seq)
            })?;
            each(seq, &parsed, &raw)?;
        }
        Ok(true)
    }
}

/// The hash tiles of a tree built leaf by leaf, as a verifier recomputes them from entries it
/// checked: each full tile once, when it completes, and the partial tiles of the current size.
/// Memory: at most 255 hashes per level.
#[derive(Debug, Clone, Default)]
pub struct TileHashes {
    /// Per level: the hashes of the tile being filled, and how many tiles of the level are full.
    levels: Vec<(Vec<Hash>, u64)>,
}

impl TileHashes {
    /// No leaves yet.
    pub fn new() -> TileHashes {
        TileHashes::default()
    }

    /// Add the next leaf hash; `completed` receives each tile this leaf completes, lowest level
    /// first, with its bytes.
    pub fn push(&mut self, leaf: Hash, completed: &mut dyn FnMut(Tile, Vec<u8>)) {
        let mut hash = leaf;
        let mut level = 0usize;
        loop {
            if self.levels.len() <= level {
                self.levels.push((Vec::with_capacity(usize::from(TILE_WIDTH)), 0));
            }
            let Some((hashes, full)) = self.levels.get_mut(level) else { return };
            hashes.push(hash);
            if hashes.len() < usize::from(TILE_WIDTH) {
                return;
            }
            let tile_hashes = std::mem::take(hashes);
            let tile =
                Tile { kind: TileKind::Hash(u8::try_from(level).unwrap_or(u8::MAX)), index: *full, width: TILE_WIDTH };
            *full += 1;
            hash = subtree_root(&tile_hashes);
            completed(tile, tile_hashes.concat());
            level += 1;
        }
    }

    /// The partial tiles of the current size, lowest level first, with their bytes: the tiles
    /// tlog-tiles serves for a checkpoint of this size besides the full ones.
    pub fn partial_tiles(&self) -> Vec<(Tile, Vec<u8>)> {
        self.levels
            .iter()
            .enumerate()
            .filter(|(_, (hashes, _))| !hashes.is_empty())
            .map(|(level, (hashes, full))| {
                let tile = Tile {
                    kind: TileKind::Hash(u8::try_from(level).unwrap_or(u8::MAX)),
                    index: *full,
                    width: u16::try_from(hashes.len()).unwrap_or(TILE_WIDTH),
                };
                (tile, hashes.concat())
            })
            .collect()
    }
}

/// The root of a complete subtree given its 256 (a power of two) lowest hashes.
fn subtree_root(hashes: &[Hash]) -> Hash {
    let mut layer: Vec<Hash> = hashes.to_vec();
    while layer.len() > 1 {
        layer = layer.chunks(2).map(|pair| crate::merkle::node_hash(&pair[0], &pair[pair.len() - 1])).collect();
    }
    layer.first().copied().unwrap_or_else(crate::merkle::empty_root)
}

#[cfg(test)]
mod tests {
    //! Tile paths, tiles against RFC 6962's definition, bundles, and remote verification over an
    //! in-memory [`TileSource`] backed by a real ledger (tampered tiles, bundles and bodies).

    use std::collections::HashMap;

    use serde_json::json;
    use sha2::{Digest, Sha256};

    use super::*;
    use crate::keys::{KeyName, SecretKey};
    use crate::ledger::Draft;
    use crate::merkle::CompactRange;
    use crate::registry::{Holder, Role};
    use crate::verify::{VerifyFailure, VerifyOptions};

    #[test]
    fn paths_are_written_as_tlog_tiles_writes_them() {
        let cases = [
            (Tile::hash(0, 0, 256), "tile/0/000"),
            (Tile::hash(1, 1_234_067, 256), "tile/1/x001/x234/067"),
            (Tile::hash(2, 1000, 17), "tile/2/x001/000.p/17"),
            (Tile::hash(63, 5, 1), "tile/63/005.p/1"),
            (Tile::entries(999, 112), "tile/entries/999.p/112"),
            (Tile::entries(u64::MAX, 256), "tile/entries/x018/x446/x744/x073/x709/x551/615"),
            (Tile::bodies(7, 3), "lianlog/v1/bodies/007.p/3"),
        ];
        for (tile, path) in cases {
            let tile = tile.unwrap();
            assert_eq!(tile.path(), path);
            assert_eq!(Tile::parse(path).unwrap(), tile, "{path}");
            assert_eq!(Tile::parse(&format!("/{path}")).unwrap(), tile, "/{path}");
        }
    }

    proptest::proptest! {
        /// Every tile round-trips through its path; any string parses or is refused, never panics,
        /// and what parses is written back exactly as given (one spelling per tile).
        #[test]
        fn paths_round_trip_and_nothing_panics(
            level in 0u8..=63, index in proptest::num::u64::ANY, width in 1u16..=256,
            junk in "(/?(tile|lianlog/v1/bodies)/)?((entries|[0-9]{1,3}|x[0-9]{3}|[0-9x.p/-]{0,6})/){0,8}[0-9.p/x]{0,8}",
        ) {
            for tile in [Tile::hash(level, index, width).unwrap(), Tile::entries(index, width).unwrap()] {
                proptest::prop_assert_eq!(Tile::parse(&tile.path()).unwrap(), tile);
            }
            if let Ok(tile) = Tile::parse(&junk) {
                proptest::prop_assert_eq!(tile.path(), junk.trim_start_matches('/'));
            }
            let _ = tile_exists_anywhere(&junk);
        }
    }

    fn tile_exists_anywhere(path: &str) -> bool {
        Tile::parse(path).is_ok_and(|tile| tile.exists_in(u64::MAX) || tile.first_leaf().is_some())
    }

    #[test]
    fn malformed_paths_are_refused_with_the_reason() {
        let cases = [
            ("/tile/1/x001/-1", "not 3 decimal digits"),
            ("/tile/0/000.p/0", "width is 0"),
            ("/tile/0/000.p/256", "too large"),
            ("/tile/0/000.p/07", "leading zero"),
            ("/tile/01/000", "leading zero"),
            ("/tile/64/000", "too large"),
            ("/tile/-1/000", "not a decimal"),
            ("/tile/0/x000/001", "x000"),
            ("/tile/0/1", "not 3 decimal digits"),
            ("/tile/0/0001", "not 3 decimal digits"),
            ("/tile/0/x001", "not 3 decimal digits"),
            ("/tile/0/X001/000", "must start with x"),
            ("/tile/0/001/000", "must start with x"),
            ("/tile/0//000", "must start with x"),
            ("/tile/0/000/", "must start with x"),
            ("/tile/0/000.p/", "empty"),
            ("/tile/0/000.p", "not 3 decimal digits"),
            ("/tile/0/000.p.p/5", "not 3 decimal digits"),
            ("/tile/0/x018/x446/x744/x073/x709/x551/616", "larger than 2^64"),
            ("/tile/0/x001/x001/x001/x001/x001/x001/x001/001", "more than 7 groups"),
            ("/tile/entries", "no tile index"),
            ("/tile/0", "no tile index"),
            ("/tile/data/000", "not a decimal"),
            ("/tiles/0/000", "does not start with tile/"),
            ("/tile/0/00a", "not 3 decimal digits"),
            ("/tile/0/٠٠٠", "not 3 decimal digits"),
            ("/lianlog/v1/bodies/000.p/0", "width is 0"),
        ];
        for (path, why) in cases {
            let err = Tile::parse(path).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::BadInput, "{path}");
            assert!(err.message().contains(why), "{path}: {err}");
            assert!(err.message().contains(&format!("{path:?}")), "{path}: the message names the path: {err}");
        }
        let long = format!("/tile/0/{}", "x001/".repeat(100));
        assert!(Tile::parse(&long).unwrap_err().message().contains("longer than 128 bytes"));
    }

    /// The example of tlog-tiles: a tree of 70,000 leaves has 273 full level-0 tiles, a partial one
    /// of width 112, one full level-1 tile, a partial one of width 17 and a partial level-2 tile of
    /// width 1 — and nothing else.
    #[test]
    fn which_tiles_exist_follows_the_spec_example() {
        let size = 70_000;
        let exists = |level, index, width| Tile::hash(level, index, width).unwrap().exists_in(size);
        assert!(exists(0, 272, 256) && !exists(0, 273, 256));
        assert!(exists(0, 273, 112) && !exists(0, 273, 113));
        assert!(exists(1, 0, 256) && !exists(1, 1, 256));
        assert!(exists(1, 1, 17) && !exists(1, 1, 18));
        assert!(exists(2, 0, 1) && !exists(2, 0, 2) && !exists(3, 0, 1));
        assert!(!exists(8, 0, 1) && !exists(63, 0, 1) && !exists(0, u64::MAX, 256));
        assert_eq!(Tile::hash(63, 1, 256).unwrap().first_leaf(), None);
        assert_eq!(Tile::hash(7, 0, 1).unwrap().first_leaf(), Some(0));
        assert_eq!(Tile::hash(1, 2, 256).unwrap().first_leaf(), Some(2 * 65_536));
        let mut builder = TileHashes::new();
        let mut full = Vec::new();
        for leaf in 0..size {
            builder.push(leaf_of(leaf), &mut |tile, _| full.push(tile));
        }
        assert_eq!(full.iter().filter(|t| t.level() == 0).count(), 273);
        assert_eq!(full.iter().filter(|t| t.level() == 1).count(), 1);
        let partial: Vec<_> = builder.partial_tiles().into_iter().map(|(t, _)| (t.level(), t.index, t.width)).collect();
        assert_eq!(partial, [(0, 273, 112), (1, 1, 17), (2, 0, 1)]);
        assert_eq!(bundles_for(size).count(), 274);
        assert_eq!(bundles_for(size).last().unwrap().path(), "tile/entries/273.p/112");
        assert_eq!(bundles_for(256).map(|t| t.path()).collect::<Vec<_>>(), ["tile/entries/000"]);
        assert_eq!(bundles_for(0).count(), 0);
    }

    fn leaf_of(n: u64) -> Hash {
        crate::merkle::leaf_hash(&n.to_be_bytes())
    }

    /// RFC 6962 §2.1's MTH, written from the definition (split at the largest power of two below
    /// n), not from lianlog's tree code: the oracle the tiles are checked against here. (The CLI tests
    /// check served tiles against `tests/tools/tiles.py`, another implementation from the spec.)
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => Sha256::digest(b"").into(),
            1 => leaves[0],
            n => {
                let mut k = 1;
                while k * 2 < n {
                    k *= 2;
                }
                let mut hasher = Sha256::new();
                hasher.update([1u8]);
                hasher.update(mth(&leaves[..k]));
                hasher.update(mth(&leaves[k..]));
                hasher.finalize().into()
            }
        }
    }

    /// tlog-tiles' formula: hash `i` of tile `n` at level `l` is MTH(D[(n·256+i)·256^l : (n·256+i+1)·256^l]).
    fn tile_by_definition(leaves: &[Hash], level: u8, index: u64, width: u16) -> Vec<u8> {
        let span = 1usize << (8 * u32::from(level));
        (0..usize::from(width))
            .flat_map(|i| {
                let start = (index as usize * 256 + i) * span;
                mth(&leaves[start..start + span])
            })
            .collect()
    }

    struct Nodes(HashMap<(u8, u64), Hash>);

    impl NodeStore for Nodes {
        type Error = Error;
        fn node(&self, level: u8, index: u64) -> Result<Hash> {
            self.0.get(&(level, index)).copied().ok_or_else(|| Error::bad_input("missing node"))
        }
    }

    /// Tiles read from stored nodes, and tiles recomputed leaf by leaf, equal the definition for
    /// every tile of several sizes (across the level-1 and level-2 boundaries).
    #[test]
    fn tiles_equal_rfc_6962_by_definition() {
        let size: u64 = 65_536 + 300;
        let leaves: Vec<Hash> = (0..size).map(leaf_of).collect();
        let mut nodes = Nodes(HashMap::new());
        let mut range = CompactRange::new();
        let mut builder = TileHashes::new();
        let mut completed = Vec::new();
        let checked_sizes = [1u64, 2, 255, 256, 257, 511, 512, 65_535, 65_536, 65_537, size];
        let mut checked = 0;
        for (n, leaf) in leaves.iter().enumerate() {
            for (id, hash) in range.push(*leaf).unwrap() {
                nodes.0.insert(id, hash);
            }
            builder.push(*leaf, &mut |tile, bytes| completed.push((tile, bytes)));
            let now = n as u64 + 1;
            if !checked_sizes.contains(&now) {
                continue;
            }
            checked += 1;
            let partial = builder.partial_tiles();
            for (tile, bytes) in completed.iter().chain(&partial) {
                let expected = tile_by_definition(&leaves, tile.level(), tile.index, tile.width);
                assert_eq!(bytes, &expected, "{tile} recomputed at size {now}");
                assert_eq!(
                    hash_tile(&nodes, now, tile).unwrap().as_ref(),
                    Some(&expected),
                    "{tile} read at size {now}"
                );
            }
            // One past the edge of each partial tile does not exist yet.
            for (tile, _) in &partial {
                let wider = Tile { width: tile.width + 1, ..*tile };
                assert_eq!(hash_tile(&nodes, now, &wider).unwrap(), None, "{wider} at size {now}");
            }
        }
        assert_eq!(checked, checked_sizes.len());
        assert!(builder.partial_tiles().iter().any(|(tile, _)| tile.level() == 2));
        let bundle = Tile::entries(0, 1).unwrap();
        assert!(matches!(hash_tile(&nodes, size, &bundle), Err(e) if e.message().contains("not a hash tile")));
    }

    #[test]
    fn bundles_frame_entries_and_parse_strictly() {
        let mut bundle = Vec::new();
        push_bundle_entry(&mut bundle, 0, b"{\"a\":1}").unwrap();
        push_bundle_entry(&mut bundle, 1, b"").unwrap();
        push_bundle_entry(&mut bundle, 2, &[b'x'; 65_535]).unwrap();
        assert_eq!(&bundle[..9], b"\x00\x07{\"a\":1}");
        let entries = parse_bundle(&bundle, 3).unwrap();
        assert_eq!(entries.iter().map(|e| e.len()).collect::<Vec<_>>(), [7, 0, 65_535]);
        let too_long = push_bundle_entry(&mut Vec::new(), 9, &[b'x'; 65_536]).unwrap_err();
        assert!(too_long.message().contains("entry 9 is 65536 bytes"), "{too_long}");
        for (bytes, expected, why) in [
            (&bundle[..bundle.len() - 1], 3, "only 65534 follow"),
            (&bundle[..], 2, "more than the 2 entries"),
            (&bundle[..], 4, "3 entries where 4"),
            (&b"\x00\x01a\x00"[..], 2, "a lone byte at offset 3"),
            (&b""[..], 1, "0 entries where 1"),
        ] {
            let err = parse_bundle(bytes, expected).unwrap_err();
            assert!(err.message().contains(why), "{why}: {err}");
        }
    }

    // ---- a real ledger -------------------------------------------------------------------------

    fn key(name: &str, seed: u8) -> SecretKey {
        SecretKey::from_seed(KeyName::parse(name).unwrap(), &[seed; 32])
    }

    fn interview(n: usize) -> Draft {
        Draft::new(
            "interview",
            json!({
                "interview_type": "reminder",
                "subjects": [{"id": format!("P-{n:05}"), "name": "张某", "unit": "市住建局"}],
                "interviewers": [{"id": "P-0101", "name": "钱干事", "unit": "第一监督检查室"}],
                "held_on": "2025-03-10",
                "reason": format!("提醒谈话 {n}"),
            }),
        )
    }

    /// A ledger of `records` interviews after genesis and a grant (so more than one bundle when
    /// `records` > 254), with a redaction, and its log key.
    fn ledger(dir: &std::path::Path, records: usize) -> (Ledger, SecretKey) {
        let admin = key("admin.zhao", 1);
        let holder = Holder { name: "赵主任".into(), unit: "市纪委监委".into(), title: None };
        let origin = KeyName::parse("jw.example.gov.cn/accountability").unwrap();
        let mut ledger = Ledger::init(dir, &origin, &admin, holder.clone()).unwrap();
        let officer = key("officer.qian", 2);
        ledger.grant(&officer.public().vkey(), &[Role::Officer], &holder, &admin).unwrap();
        let drafts: Vec<Draft> = (0..records).map(interview).collect();
        ledger.append_batch(&drafts, &officer).unwrap();
        ledger.redact(3, "含个人敏感信息", None, &admin).unwrap();
        let log_key = ledger.log_key(&mut || Err(Error::bad_input("no passphrase"))).unwrap();
        (ledger, log_key)
    }

    /// Serves a ledger's tiles from memory, with an optional change to one resource.
    struct Served {
        checkpoint: String,
        resources: HashMap<String, Vec<u8>>,
        fetched: Vec<String>,
    }

    impl Served {
        fn of(ledger: &Ledger, log_key: &SecretKey) -> Served {
            let size = ledger.size();
            let mut resources = HashMap::new();
            for bundle in bundles_for(size) {
                resources.insert(bundle.path(), ledger.entry_bundle(&bundle).unwrap().unwrap());
                resources
                    .insert(bundle.as_bodies().path(), ledger.verifier_bodies(&bundle.as_bodies()).unwrap().unwrap());
            }
            for level in 0..3u8 {
                for index in 0..=(size >> (8 * (u32::from(level) + 1))) {
                    for width in 1..=256u16 {
                        let tile = Tile::hash(level, index, width).unwrap();
                        if let Some(bytes) = ledger.hash_tile(&tile).unwrap() {
                            resources.insert(tile.path(), bytes);
                        }
                    }
                }
            }
            let checkpoint = ledger.checkpoint(size, log_key).unwrap();
            Served { checkpoint, resources, fetched: Vec::new() }
        }
    }

    impl TileSource for Served {
        fn checkpoint(&mut self) -> Result<String> {
            Ok(self.checkpoint.clone())
        }
        fn fetch(&mut self, tile: &Tile) -> Result<Vec<u8>> {
            self.fetched.push(tile.path());
            self.resources.get(&tile.path()).cloned().ok_or_else(|| Error::bad_input(format!("404 {tile}")))
        }
    }

    fn export_without_bodies(dir: &std::path::Path) -> Vec<u8> {
        let mut out = Vec::new();
        crate::ledger::export_dir(dir, &mut out, true).unwrap();
        out
    }

    /// Remote verification over the ledger's own tiles passes, reconstructs exactly the export
    /// without bodies, and reports what `verify --file` reports on that export.
    #[test]
    fn verify_tiles_equals_verifying_the_export_without_bodies() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("ledger");
        let (ledger, log_key) = ledger(&dir, 300);
        let mut served = Served::of(&ledger, &log_key);
        let options = VerifyOptions { expected_log_key: Some(log_key.public().clone()), ..VerifyOptions::default() };
        let verified = verify_tiles(&mut served, options, &mut |_| {}).unwrap().unwrap();
        let report = &verified.report;
        assert_eq!((report.entries, report.head, report.root), (ledger.size(), ledger.head(), ledger.root()));
        assert_eq!(verified.checkpoint.checkpoint.size, ledger.size());
        assert_eq!((verified.bundles, verified.bodies), (2, 2), "{:?}", served.fetched);
        // Full tiles 0/000, and the partial 0/001.p/47 and 1/000.p/1.
        assert_eq!(verified.tiles, 3, "{:?}", served.fetched);
        assert!(served.fetched.contains(&"tile/1/000.p/1".to_string()));

        let export = temp.path().join("export.jsonl");
        std::fs::write(&export, export_without_bodies(&dir)).unwrap();
        let local =
            crate::verify::verify_export_file(&export, VerifyOptions { allow_withheld: true, ..Default::default() })
                .unwrap()
                .unwrap();
        assert_eq!(
            (local.entries, local.head, local.root, local.withheld),
            (report.entries, report.head, report.root, report.withheld)
        );
        assert_eq!(local.redactions, report.redactions);
        assert_eq!(report.redactions.len(), 1);
    }

    fn tampered(dir: &std::path::Path, change: impl FnOnce(&mut Served)) -> VerifyFailure {
        let ledger = Ledger::open(dir).unwrap();
        let log_key = ledger.log_key(&mut || Err(Error::bad_input("no passphrase"))).unwrap();
        let mut served = Served::of(&ledger, &log_key);
        change(&mut served);
        verify_tiles(&mut served, VerifyOptions::default(), &mut |_| {}).unwrap().unwrap_err()
    }

    fn flip(served: &mut Served, path: &str, offset: usize) {
        let bytes = served.resources.get_mut(path).unwrap();
        bytes[offset] ^= 1;
    }

    #[test]
    fn a_tampered_tile_bundle_body_or_checkpoint_is_caught() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("ledger");
        drop(ledger(&dir, 300));

        let failure = tampered(&dir, |s| flip(s, "tile/0/000", 32 * 7));
        assert!(
            failure.reason.contains("hash tile tile/0/000 differs") && failure.reason.contains("at hash 7"),
            "{failure}"
        );
        let failure = tampered(&dir, |s| flip(s, "tile/1/000.p/1", 0));
        assert!(failure.reason.contains("tile/1/000.p/1 differs"), "{failure}");
        let failure = tampered(&dir, |s| flip(s, "tile/0/001.p/47", 0));
        assert!(failure.reason.contains("tile/0/001.p/47 differs"), "{failure}");

        // A byte of an entry inside the second bundle: its seq says 263 where 262 belongs.
        let failure = tampered(&dir, |s| {
            let bundle = s.resources.get_mut("tile/entries/001.p/47").unwrap();
            let at = bundle.windows(10).position(|w| w == b"\"seq\":262,").unwrap();
            bundle[at + 8] = b'3';
        });
        assert!(failure.reason.contains("entry.seq is 263"), "{failure}");
        assert_eq!(failure.seq, Some(262), "{failure}");
        // A bundle cut short, or with an entry missing.
        let failure = tampered(&dir, |s| {
            s.resources.get_mut("tile/entries/000").unwrap().pop();
        });
        assert!(failure.reason.contains("tile/entries/000") && failure.reason.contains("follow"), "{failure}");
        // A body line forged for the grant: another body hash than the record's.
        let failure = tampered(&dir, |s| {
            let bodies = s.resources.get_mut("lianlog/v1/bodies/000").unwrap();
            let text = String::from_utf8(bodies.clone()).unwrap();
            let (genesis, rest) = text.split_once('\n').unwrap();
            *bodies = format!("{genesis}\n{}", rest.replacen("赵主任", "孙干事", 1)).into_bytes();
        });
        assert_eq!(failure.seq, Some(1), "{failure}");
        // Bodies withheld for a key.grant.
        let failure = tampered(&dir, |s| {
            s.resources.insert("lianlog/v1/bodies/000".into(), Vec::new());
        });
        assert!(failure.reason.contains("holds no line for this entry"), "{failure}");
        // A checkpoint signed by the log key over another root is refused.
        let older = {
            let ledger = Ledger::open(&dir).unwrap();
            let log_key = ledger.log_key(&mut || Err(Error::bad_input("no passphrase"))).unwrap();
            ledger.checkpoint(ledger.size() - 1, &log_key).unwrap()
        };
        let failure = tampered(&dir, |s| s.checkpoint = older.replace("\n302\n", "\n303\n"));
        assert!(failure.reason.contains("the server's checkpoint"), "{failure}");

        assert!(failure.reason.contains("the server's checkpoint"), "{failure}");
    }

    /// A checkpoint by another key than the one pinned is refused, and a pinned key that genesis does
    /// not name fails at genesis.
    #[test]
    fn the_pinned_log_key_is_enforced() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("ledger");
        let (ledger, log_key) = ledger(&dir, 2);
        let mut served = Served::of(&ledger, &log_key);
        let stranger = key("jw.example.gov.cn/accountability", 9).public().clone();
        let options = VerifyOptions { expected_log_key: Some(stranger), ..VerifyOptions::default() };
        let failure = verify_tiles(&mut served, options, &mut |_| {}).unwrap().unwrap_err();
        assert_eq!(failure.seq, Some(0), "{failure}");
        assert!(failure.reason.contains("not the expected"), "{failure}");
    }
}
