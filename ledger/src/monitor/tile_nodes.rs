//! The server's hash tiles as a Merkle node store (瓦片节点): what lets the monitor build
//! consistency proofs and roots from tiles alone.
//!
//! Guarantees: node `(level, index)` is hashed up from the `2^(level mod 8)` hashes of tile level
//! `level / 8` that it covers, which lie in one tile of the tree's size (full, or the partial tile
//! of that size); each tile is fetched once per check and must have exactly its width of hashes.
//! Nothing here is trusted: the caller checks every proof and root against signed checkpoints.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use crate::error::Error;
use crate::merkle::{self, Hash, MerkleError, NodeStore};
use crate::tiles::{HASH_BYTES, TILE_HEIGHT, TILE_WIDTH, Tile, TileSource};

/// Why a node could not be read from the tiles.
pub(super) enum TileError {
    /// The source failed (unreachable, not found, refused).
    Fetch(Error),
    /// A tile was served, but it is not a tile of that shape.
    Bad(String),
}

/// The server's hash tiles of a tree of `size` leaves (which a rollback check moves to the stored
/// size and back) as a [`NodeStore`]: node `(level, index)`
/// is hashed up from the `2^(level mod 8)` hashes of tile level `level / 8` it covers, which lie
/// in one tile (fetched once and kept).
pub(super) struct TileNodes<'s> {
    source: RefCell<&'s mut dyn TileSource>,
    pub(super) size: Cell<u64>,
    cache: RefCell<HashMap<Tile, Vec<u8>>>,
    fetched: Cell<u64>,
}

impl<'s> TileNodes<'s> {
    pub(super) fn new(source: &'s mut dyn TileSource, size: u64) -> TileNodes<'s> {
        TileNodes {
            source: RefCell::new(source),
            size: size.into(),
            cache: RefCell::new(HashMap::new()),
            fetched: 0.into(),
        }
    }

    pub(super) fn fetched(&self) -> u64 {
        self.fetched.get()
    }

    pub(super) fn root(&self, size: u64) -> std::result::Result<Hash, TileError> {
        merkle::root(size, self)
    }

    pub(super) fn proof(&self, old: u64, new: u64) -> std::result::Result<Vec<Hash>, TileError> {
        merkle::consistency_proof(old, new, self).map_err(|err| match err {
            MerkleError::Store(err) => err,
            MerkleError::Invalid(err) => TileError::Bad(err.to_string()),
        })
    }

    /// The hashes of the tile at `level` (in tiles) and `index` in a tree of `self.size` leaves.
    fn tile(&self, level: u8, index: u64) -> std::result::Result<Vec<u8>, TileError> {
        let shift = u32::from(level) * u32::from(TILE_HEIGHT);
        let size = self.size.get();
        let count = size.checked_shr(shift).unwrap_or(0);
        let full = count / u64::from(TILE_WIDTH);
        let width = if index < full {
            TILE_WIDTH
        } else if index == full && count % u64::from(TILE_WIDTH) != 0 {
            u16::try_from(count % u64::from(TILE_WIDTH)).unwrap_or(TILE_WIDTH)
        } else {
            return Err(TileError::Bad(format!("no tile {level}/{index} exists in a tree of {size}")));
        };
        let tile = Tile::hash(level, index, width).map_err(|err| TileError::Bad(err.message().to_string()))?;
        if let Some(bytes) = self.cache.borrow().get(&tile) {
            return Ok(bytes.clone());
        }
        let bytes = self.source.borrow_mut().fetch(&tile).map_err(TileError::Fetch)?;
        self.fetched.set(self.fetched.get() + 1);
        if bytes.len() != usize::from(width) * HASH_BYTES {
            return Err(TileError::Bad(format!(
                "the tile {} is {} bytes, not {} ({width} hashes)",
                tile.path(),
                bytes.len(),
                usize::from(width) * HASH_BYTES
            )));
        }
        self.cache.borrow_mut().insert(tile, bytes.clone());
        Ok(bytes)
    }
}

impl NodeStore for TileNodes<'_> {
    type Error = TileError;

    fn node(&self, level: u8, index: u64) -> std::result::Result<Hash, TileError> {
        let tile_level = level / TILE_HEIGHT;
        let height = u32::from(level % TILE_HEIGHT);
        let first = index
            .checked_shl(height)
            .filter(|first| first >> height == index)
            .ok_or_else(|| TileError::Bad(format!("node ({level}, {index}) is outside any tree")))?;
        let tile_index = first >> TILE_HEIGHT;
        let offset = usize::try_from(first % u64::from(TILE_WIDTH)).unwrap_or(0) * HASH_BYTES;
        let bytes = self.tile(tile_level, tile_index)?;
        let span = (1usize << height) * HASH_BYTES;
        let Some(hashes) = bytes.get(offset..offset + span) else {
            return Err(TileError::Bad(format!("node ({level}, {index}) is not in the tree of {}", self.size.get())));
        };
        let mut level_hashes: Vec<Hash> =
            hashes.chunks_exact(HASH_BYTES).map(|chunk| Hash::try_from(chunk).unwrap_or([0; 32])).collect();
        while level_hashes.len() > 1 {
            level_hashes = level_hashes.chunks_exact(2).map(|pair| merkle::node_hash(&pair[0], &pair[1])).collect();
        }
        level_hashes.pop().ok_or_else(|| TileError::Bad("an empty tile".into()))
    }
}
