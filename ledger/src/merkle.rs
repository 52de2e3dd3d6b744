//! The ledger's Merkle tree: RFC 6962 / RFC 9162 (Certificate Transparency) hashing, proofs and
//! proof verification, over a store of complete-subtree hashes.
//!
//! # What it is for
//!
//! Every ledger entry hash is a leaf of one append-only Merkle tree. A checkpoint signs the tree's
//! size and root; an auditor holding a checkpoint can then be convinced, with a logarithmic number
//! of hashes, that a given entry is in the tree ([`inclusion_proof`] / [`verify_inclusion`]) and
//! that a later checkpoint extends an earlier one without rewriting history ([`consistency_proof`]
//! / [`verify_consistency`]).
//!
//! # What it guarantees
//!
//! * **Interoperability.** Hashes, roots and proofs are byte for byte those of RFC 6962 §2.1 and
//!   RFC 9162 §2.1 with SHA-256: a leaf is `SHA-256(0x00 || data)`, an interior node
//!   `SHA-256(0x01 || left || right)`, the empty tree `SHA-256("")`. Any RFC 9162 verifier (e.g.
//!   transparency-dev/merkle, sigsum, C2SP tlog clients) accepts our proofs, and our verifiers are
//!   the RFC 9162 §2.1.3.2 and §2.1.4.2 algorithms step for step.
//! * **Logarithmic cost, never a pass over the leaves.** Only hashes of *complete* subtrees are
//!   stored (node `(level, index)` covers leaves `[index << level, (index + 1) << level)`). Each of
//!   [`root`], [`inclusion_proof`] and [`consistency_proof`] reads at most `2 · ⌈log2 n⌉ + 1`
//!   nodes for a tree of `n` leaves (the exact bounds are on each function); appending a leaf
//!   writes at most `1 + log2 n` nodes. [`CompactRange`] holds the right frontier of the tree
//!   (at most 64 hashes), so a verifier can stream any number of entries in constant memory.
//! * **No panics, no `unsafe`.** Every size up to `u64::MAX` leaves is handled without overflow;
//!   bad arguments give [`InvalidArgument`], storage failures are passed through untouched in
//!   [`MerkleError::Store`], and the verifiers simply return `false`. A verifier consumes at most
//!   64 proof hashes (at most 128 hashings) whatever the length of the proof it is handed.
//!
//! # What it does not guarantee
//!
//! * The store is trusted to return what was written. A store returning wrong hashes makes proofs
//!   that do not verify; it cannot make a verifier accept something false.
//! * A proof does not bind the tree size on its own: for example the inclusion proof of leaf 0 in a
//!   3-leaf tree also passes [`verify_inclusion`] as a proof "in a 4-leaf tree" against the 3-leaf
//!   root, because both walks hash in the same order. Callers must take the size and the root
//!   together from one signed checkpoint.

use std::fmt;

use sha2::{Digest, Sha256};

/// A SHA-256 digest (the one hash type of the crate): a leaf hash, an interior node hash, a tree
/// root, a body or entry hash.
pub type Hash = [u8; 32];

/// The address of a stored complete subtree: `(level, index)` covers the leaves
/// `[index << level, (index + 1) << level)`. Level 0 is the leaf hashes themselves.
pub type NodeId = (u8, u64);

/// Domain separation prefixes of RFC 6962 §2.1: they make a leaf impossible to pass off as an
/// interior node (second-preimage resistance of the tree).
const LEAF_PREFIX: u8 = 0x00;
const NODE_PREFIX: u8 = 0x01;

/// A `u64` size has at most 64 one bits, so a tree has at most 64 complete subtrees on its right
/// frontier, at levels 0..=63.
const MAX_LEVELS: usize = 64;

/// `SHA-256(0x00 || data)`: the hash of a leaf (RFC 6962 §2.1). The ledger's entry hash is this
/// hash of the entry bytes, so entry hashes are used as leaf hashes directly.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([LEAF_PREFIX]);
    hasher.update(data);
    hasher.finalize().into()
}

/// `SHA-256(0x01 || left || right)`: the hash of an interior node (RFC 6962 §2.1).
pub(crate) fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([NODE_PREFIX]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// `SHA-256("")`: the root of the empty tree (RFC 6962 §2.1, `MTH({})`).
pub fn empty_root() -> Hash {
    Sha256::digest(b"").into()
}

/// Read access to the stored complete-subtree hashes.
///
/// `node(level, index)` must return the hash of the complete subtree over the leaves
/// `[index << level, (index + 1) << level)`, i.e. what [`CompactRange::push`] or
/// [`nodes_to_append`] produced for that [`NodeId`]. Every function of this module called with a
/// size `m` no larger than the number of leaves appended so far only asks for nodes lying wholly
/// inside `[0, m)`, so all of them exist; a store asked for anything else (a caller passed a size
/// beyond the tree) should return its "not found" error, which is passed back unchanged.
///
/// Each call is meant to be one storage read; the complexity bounds in this module count calls.
pub trait NodeStore {
    /// The storage error, passed through in [`MerkleError::Store`].
    type Error;

    /// The hash of complete subtree `(level, index)`.
    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error>;
}

/// Arguments that no tree can satisfy. These are the caller's mistakes, not storage failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidArgument {
    /// An inclusion proof was asked for a leaf that is not in the tree (`index >= size`).
    IndexOutOfRange {
        /// The leaf asked for.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A consistency proof was asked from a larger tree to a smaller one (`old > new`).
    OldExceedsNew {
        /// The size proved from.
        old: u64,
        /// The size proved to.
        new: u64,
    },
    /// The tree already has `u64::MAX` leaves, so its size cannot grow.
    TreeFull,
    /// A compact range of `size` leaves has exactly `size.count_ones()` hashes.
    WrongHashCount {
        /// The range's leaf count.
        size: u64,
        /// `size.count_ones()`.
        expected: u32,
        /// The hashes given.
        got: usize,
    },
}

impl fmt::Display for InvalidArgument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::IndexOutOfRange { index, size } => {
                write!(f, "leaf index {index} is not in a tree of {size} leaves")
            }
            Self::OldExceedsNew { old, new } => {
                write!(f, "old tree size {old} exceeds new tree size {new}")
            }
            Self::TreeFull => write!(f, "the tree already holds u64::MAX leaves"),
            Self::WrongHashCount { size, expected, got } => {
                write!(f, "a compact range of {size} leaves has {expected} hashes, got {got}")
            }
        }
    }
}

impl std::error::Error for InvalidArgument {}

/// Why a function reading the [`NodeStore`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MerkleError<E> {
    /// The arguments were wrong whatever the store holds.
    Invalid(InvalidArgument),
    /// The store failed to return a node (including "not found" for a size beyond the tree).
    Store(E),
}

impl<E> From<InvalidArgument> for MerkleError<E> {
    fn from(e: InvalidArgument) -> Self {
        Self::Invalid(e)
    }
}

impl<E: fmt::Display> fmt::Display for MerkleError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid(e) => write!(f, "invalid Merkle tree argument: {e}"),
            Self::Store(e) => write!(f, "Merkle node store failed: {e}"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for MerkleError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Invalid(e) => Some(e),
            Self::Store(e) => Some(e),
        }
    }
}

/// The right frontier of a tree: the hashes of the complete subtrees that `[0, size)` decomposes
/// into, one per one bit of `size` (so at most 64), largest (leftmost) first.
///
/// It is all that is needed to append leaves and to compute the root, so an appender keeps it in
/// memory instead of re-reading the store, a verifier streams entries through it in constant
/// memory, and a snapshot archive stores it (via [`hashes`](Self::hashes) and
/// [`from_parts`](Self::from_parts)) at its start position to recompute its roots from its own
/// entries.
#[derive(Clone, PartialEq, Eq)]
pub struct CompactRange {
    size: u64,
    /// `frontier[level]` is the complete subtree of that level when bit `level` of `size` is set,
    /// and all zeros otherwise (kept zero so that the derived equality compares only real data).
    /// Indexing by level rather than keeping a stack makes every access infallible.
    frontier: [Hash; MAX_LEVELS],
}

impl fmt::Debug for CompactRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompactRange").field("size", &self.size).field("subtrees", &self.size.count_ones()).finish()
    }
}

impl Default for CompactRange {
    fn default() -> Self {
        Self::new()
    }
}

impl CompactRange {
    /// The frontier of the empty tree.
    pub const fn new() -> Self {
        Self { size: 0, frontier: [[0; 32]; MAX_LEVELS] }
    }

    /// The number of leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The levels holding a subtree, with their hashes, smallest (rightmost) first.
    fn subtrees(&self) -> impl DoubleEndedIterator<Item = (usize, &Hash)> {
        let size = self.size;
        self.frontier.iter().enumerate().filter(move |(level, _)| (size >> level) & 1 == 1)
    }

    /// The hashes of the complete subtrees of `[0, size)`, largest (leftmost) first, as
    /// [`from_parts`](Self::from_parts) takes them back. This is the order of RFC 9162's and
    /// Trillian's compact ranges.
    pub fn hashes(&self) -> Vec<Hash> {
        self.subtrees().rev().map(|(_, hash)| *hash).collect()
    }

    /// Rebuilds a frontier from its size and [`hashes`](Self::hashes). Fails unless exactly
    /// `size.count_ones()` hashes are given; whether they are the right ones shows in the roots.
    pub fn from_parts(size: u64, hashes: &[Hash]) -> Result<Self, InvalidArgument> {
        let expected = size.count_ones();
        if usize::try_from(expected).ok() != Some(hashes.len()) {
            return Err(InvalidArgument::WrongHashCount { size, expected, got: hashes.len() });
        }
        let mut range = Self::new();
        range.size = size;
        let slots = range.frontier.iter_mut().enumerate().rev().filter(|(level, _)| (size >> level) & 1 == 1);
        for ((_, slot), hash) in slots.zip(hashes) {
            *slot = *hash;
        }
        Ok(range)
    }

    /// Reloads the frontier of the first `size` leaves from the store: `size.count_ones()` reads.
    pub(crate) fn from_store<S: NodeStore + ?Sized>(size: u64, store: &S) -> Result<Self, S::Error> {
        let mut range = Self::new();
        range.size = size;
        for (level, slot) in range.frontier.iter_mut().enumerate() {
            let covering = size >> level;
            if covering & 1 == 1 {
                // Bit `level` of `size` is set, so the subtree ending at `size`'s prefix of that
                // level is complete: it is number `covering - 1` (`covering` is odd).
                *slot = store.node(level_u8(level), covering ^ 1)?;
            }
        }
        Ok(range)
    }

    /// The root of the first [`size`](Self::size) leaves: at most 63 hashings, no reads.
    pub fn root(&self) -> Hash {
        // MTH splits off the largest complete subtree on the left and recurses on the rest, so the
        // root is the frontier folded from the right.
        let mut root: Option<Hash> = None;
        for (_, hash) in self.subtrees() {
            root = Some(match root {
                None => *hash,
                Some(right) => node_hash(hash, &right),
            });
        }
        root.unwrap_or_else(empty_root)
    }

    /// Appends leaf number [`size`](Self::size) and returns the nodes it completes, to be written
    /// to the store: the leaf itself at `(0, size)` and then each newly completed parent, bottom up
    /// (`1 + size.trailing_ones()` nodes, amortised 2). Fails only when the tree is full.
    pub fn push(&mut self, leaf: Hash) -> Result<Vec<(NodeId, Hash)>, InvalidArgument> {
        let mut written = Vec::with_capacity(1 + self.size.trailing_ones() as usize);
        self.push_with(leaf, |id, hash| written.push((id, hash)))?;
        Ok(written)
    }

    /// Like [`push`](Self::push) but discards the completed nodes: for verifiers that only need
    /// roots, without an allocation per leaf.
    pub fn append(&mut self, leaf: Hash) -> Result<(), InvalidArgument> {
        self.push_with(leaf, |_, _| {})
    }

    fn push_with(&mut self, leaf: Hash, mut completed: impl FnMut(NodeId, Hash)) -> Result<(), InvalidArgument> {
        let new_size = self.size.checked_add(1).ok_or(InvalidArgument::TreeFull)?;
        // Each trailing one bit of `size` is a complete subtree of exactly the height of the
        // subtree being carried up, immediately to its left: merging them is binary addition.
        // As `size < u64::MAX`, there are at most 63 of them.
        let merges = self.size.trailing_ones() as usize;
        let mut hash = leaf;
        let mut index = self.size;
        completed((0, index), hash);
        for (level, left) in self.frontier.iter_mut().enumerate().take(merges) {
            hash = node_hash(left, &hash);
            *left = [0; 32];
            index >>= 1;
            completed((level_u8(level + 1), index), hash);
        }
        // `merges <= 63`, so the slot exists; `get_mut` keeps this free of panicking paths.
        if let Some(slot) = self.frontier.get_mut(merges) {
            *slot = hash;
        }
        self.size = new_size;
        Ok(())
    }
}

/// Levels are below 64 everywhere in this module, so they always fit a `u8`; saturating keeps
/// the conversion total without a panicking path.
fn level_u8(level: usize) -> u8 {
    u8::try_from(level).unwrap_or(u8::MAX)
}

/// The nodes to write when appending leaf number `size` (with leaf hash `leaf`) to a stored tree of
/// `size` leaves: the leaf at `(0, size)` and each newly completed parent, bottom up.
///
/// Reads the `size.trailing_ones()` left siblings (≤ 63, amortised 1) and returns one more node than
/// that. A [`CompactRange`] kept in memory gives the same nodes without any read.
pub fn nodes_to_append<S: NodeStore + ?Sized>(
    size: u64,
    leaf: Hash,
    store: &S,
) -> Result<Vec<(NodeId, Hash)>, MerkleError<S::Error>> {
    if size == u64::MAX {
        return Err(InvalidArgument::TreeFull.into());
    }
    let mut written = Vec::with_capacity(1 + size.trailing_ones() as usize);
    written.push(((0, size), leaf));
    let mut hash = leaf;
    let mut index = size;
    let mut level: u8 = 0;
    // While the carried subtree is a right child, its left sibling is complete and stored.
    while index & 1 == 1 {
        let left = store.node(level, index ^ 1).map_err(MerkleError::Store)?;
        hash = node_hash(&left, &hash);
        index >>= 1;
        level += 1;
        written.push(((level, index), hash));
    }
    Ok(written)
}

/// `MTH(D[begin:end])`, for `begin` a multiple of some power of two at least `end - begin`.
///
/// Under that alignment, the range splits like a tree size into complete subtrees, one per one bit
/// of `end - begin`, largest first, and every one of them is a stored node. Hashing them folded
/// from the right is exactly MTH's recursion. Reads `(end - begin).count_ones()` nodes; the empty
/// range is `MTH({})`. Both proof recursions below only ever produce such aligned ranges.
fn range_hash<S: NodeStore + ?Sized>(begin: u64, end: u64, store: &S) -> Result<Hash, S::Error> {
    let mut remaining = end.saturating_sub(begin);
    let mut right_edge = end;
    let mut root: Option<Hash> = None;
    while remaining != 0 {
        let level = remaining.trailing_zeros();
        remaining &= remaining - 1;
        // Walking from the right: the next subtree ends where the previous one began.
        right_edge -= 1u64 << level;
        let hash = store.node(level_u8(level as usize), right_edge >> level)?;
        root = Some(match root {
            None => hash,
            Some(right) => node_hash(&hash, &right),
        });
    }
    Ok(root.unwrap_or_else(empty_root))
}

/// The largest power of two strictly below `n`, for `n >= 2`: RFC 6962's split point `k`.
fn split_point(n: u64) -> u64 {
    let highest_bit = 63 - (n.saturating_sub(1) | 1).leading_zeros();
    1u64 << highest_bit
}

/// The root of the tree of the first `size` leaves, for any `size` not beyond the stored tree.
///
/// Reads exactly `size.count_ones()` nodes (≤ ⌊log2 size⌋ + 1): `[0, size)` is the complete
/// subtrees given by the binary representation of `size`. `root(0, _)` is [`empty_root`].
pub fn root<S: NodeStore + ?Sized>(size: u64, store: &S) -> Result<Hash, S::Error> {
    range_hash(0, size, store)
}

/// The inclusion proof (audit path) of leaf `index` in the tree of the first `size` leaves:
/// `PATH(index, D[size])` of RFC 9162 §2.1.3.1, leaf-side sibling first.
///
/// The proof has at most ⌈log2 size⌉ hashes. All but one of them are single complete nodes; the
/// exception is the hash of the incomplete right part of the tree where the path leaves the right
/// edge, read as its complete subtrees. So it reads at most `proof.len() + size.count_ones() - 1`
/// nodes, which is at most `2 · ⌈log2 size⌉`.
///
/// `index >= size` is [`InvalidArgument::IndexOutOfRange`]. A one-leaf tree has the empty proof.
pub fn inclusion_proof<S: NodeStore + ?Sized>(
    index: u64,
    size: u64,
    store: &S,
) -> Result<Vec<Hash>, MerkleError<S::Error>> {
    if index >= size {
        return Err(InvalidArgument::IndexOutOfRange { index, size }.into());
    }
    let mut proof = Vec::new();
    let (mut begin, mut end) = (0u64, size);
    // Invariants: begin <= index < end, and begin is a multiple of a power of two >= end - begin
    // (true of [0, size); a split keeps it, since k < end - begin <= 2k).
    // Walking down from the root gives the RFC's hashes root side first.
    while end - begin > 1 {
        let mid = begin + split_point(end - begin);
        if index < mid {
            proof.push(range_hash(mid, end, store).map_err(MerkleError::Store)?);
            end = mid;
        } else {
            proof.push(range_hash(begin, mid, store).map_err(MerkleError::Store)?);
            begin = mid;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// The consistency proof between the trees of the first `old` and the first `new` leaves:
/// `PROOF(old, D[new])` of RFC 9162 §2.1.4.1.
///
/// Edge cases, as in C2SP tlog-witness and transparency-dev/merkle: from `old == 0` the proof is
/// empty (every tree extends the empty one), and for `old == new` it is empty (a tree extends
/// itself). `old > new` is [`InvalidArgument::OldExceedsNew`].
///
/// The proof has at most ⌈log2 new⌉ + 1 hashes; as for [`inclusion_proof`], at most one of them is
/// an incomplete subtree, so it reads at most `proof.len() + new.count_ones() - 1` nodes, at most
/// `2 · ⌈log2 new⌉ + 1`.
pub fn consistency_proof<S: NodeStore + ?Sized>(
    old: u64,
    new: u64,
    store: &S,
) -> Result<Vec<Hash>, MerkleError<S::Error>> {
    if old > new {
        return Err(InvalidArgument::OldExceedsNew { old, new }.into());
    }
    if old == 0 || old == new {
        return Ok(Vec::new());
    }
    let mut proof = Vec::new();
    let (mut begin, mut end) = (0u64, new);
    // SUBPROOF's flag `b`: true while the current subtree is the old tree's prefix of the new one,
    // i.e. the verifier already knows the old root and the node need not be sent.
    let mut old_root_known = true;
    // Invariants: begin < old <= end, begin aligned as in `inclusion_proof`.
    while old != end {
        let mid = begin + split_point(end - begin);
        if old <= mid {
            proof.push(range_hash(mid, end, store).map_err(MerkleError::Store)?);
            end = mid;
        } else {
            proof.push(range_hash(begin, mid, store).map_err(MerkleError::Store)?);
            begin = mid;
            old_root_known = false;
        }
    }
    // SUBPROOF(m, D[m], false) = [MTH(D[m])]: the old tree's last complete subtree.
    if !old_root_known {
        proof.push(range_hash(begin, end, store).map_err(MerkleError::Store)?);
    }
    proof.reverse();
    Ok(proof)
}

/// Whether `proof` shows that `leaf` (a leaf hash) is leaf number `index` of the tree of `size`
/// leaves with root `root`: RFC 9162 §2.1.3.2, step for step.
///
/// Fails for `index >= size` (so always for `size == 0`), and for a proof of any length other than
/// the exact one for `(index, size)`. Does at most 64 hashings whatever the proof's length.
/// `size` and `root` must come from the same signed checkpoint (see the module documentation).
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> bool {
    // 1. The leaf must be in the tree.
    if index >= size {
        return false;
    }
    // 2.-3.
    let mut f_n = index;
    let mut s_n = size - 1;
    let mut r = *leaf;
    // 4.
    for p in proof {
        // 4a. The path already reached the root: the proof is too long.
        if s_n == 0 {
            return false;
        }
        // 4b. A right child, or the last node of its level (whose sibling is to the left).
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            // Skip the levels where the right edge has no sibling to hash with.
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        // 4c.
        f_n >>= 1;
        s_n >>= 1;
    }
    // 5. The path must end exactly at the root (rejects a too-short proof) and match it.
    s_n == 0 && r == *root
}

/// Whether `proof` shows that the tree of `new` leaves with root `new_root` extends the tree of
/// `old` leaves with root `old_root`: RFC 9162 §2.1.4.2, step for step, plus its edge cases:
///
/// * `old > new`: fails.
/// * `old == new`: holds iff the proof is empty and the roots are equal.
/// * `old == 0`: holds iff the proof is empty and `old_root` is [`empty_root`] (the one root a tree
///   of 0 leaves has; every tree extends it). Stricter than transparency-dev/merkle, which ignores
///   the old root here, and as strict as sigsum: a claimed empty tree with another root is false.
/// * otherwise the proof must be non-empty and of exactly the expected length.
///
/// Does at most about 128 hashings whatever the proof's length.
pub fn verify_consistency(old: u64, new: u64, old_root: &Hash, new_root: &Hash, proof: &[Hash]) -> bool {
    if old > new {
        return false;
    }
    if old == 0 && *old_root != empty_root() {
        return false;
    }
    if old == new {
        return proof.is_empty() && old_root == new_root;
    }
    if old == 0 {
        return proof.is_empty();
    }
    // 1. Between two different non-empty trees there is something to prove.
    if proof.is_empty() {
        return false;
    }
    // 2. + 5. When `old` is a power of two the old tree is a complete subtree, its root is the
    // starting point and the proof omits it; otherwise the proof starts with that subtree.
    let mut rest = proof.iter();
    let start = if old.is_power_of_two() {
        *old_root
    } else {
        match rest.next() {
            Some(first) => *first,
            None => return false,
        }
    };
    let mut f_r = start;
    let mut s_r = start;
    // 3.
    let mut f_n = old - 1;
    let mut s_n = new - 1;
    // 4. Climb to the level of the first hash: the old tree's last complete subtree.
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    // 6.
    for c in rest {
        // 6a. Already at the root: the proof is too long.
        if s_n == 0 {
            return false;
        }
        // 6b. A left sibling belongs to both trees.
        if f_n & 1 == 1 || f_n == s_n {
            f_r = node_hash(c, &f_r);
            s_r = node_hash(c, &s_r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            // A right sibling only belongs to the new tree.
            s_r = node_hash(&s_r, c);
        }
        // 6c.
        f_n >>= 1;
        s_n >>= 1;
    }
    // 7.
    s_n == 0 && f_r == *old_root && s_r == *new_root
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::cell::Cell;
    use std::collections::HashMap;

    // Conformance vectors made by an independent implementation (Python hashlib) from the format
    // specification; the leaves are the steps' entry hashes.
    const STEPS_JSON: &str = include_str!("../../tests/vectors/steps.json");

    // ---- helpers -------------------------------------------------------------------------------

    fn unhex(s: &str) -> Vec<u8> {
        assert!(s.len().is_multiple_of(2), "odd hex length: {s}");
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit")).collect()
    }

    fn h(s: &str) -> Hash {
        unhex(s).try_into().expect("32-byte hash")
    }

    /// A node store over a map, counting reads.
    #[derive(Default)]
    struct MemStore {
        nodes: HashMap<NodeId, Hash>,
        reads: Cell<u64>,
        size: u64,
    }

    #[derive(Debug, PartialEq, Eq)]
    struct Missing(u8, u64);

    impl NodeStore for MemStore {
        type Error = Missing;
        fn node(&self, level: u8, index: u64) -> Result<Hash, Missing> {
            self.reads.set(self.reads.get() + 1);
            self.nodes.get(&(level, index)).copied().ok_or(Missing(level, index))
        }
    }

    impl MemStore {
        fn with_leaves(leaves: &[Hash]) -> Self {
            let mut store = MemStore::default();
            let mut range = CompactRange::new();
            for leaf in leaves {
                for (id, hash) in range.push(*leaf).expect("not full") {
                    assert!(store.nodes.insert(id, hash).is_none(), "{id:?} rewritten");
                }
            }
            store.size = range.size();
            store
        }

        /// Reads done by `f`.
        fn count<T>(&self, f: impl FnOnce(&Self) -> T) -> (T, u64) {
            let before = self.reads.get();
            let out = f(self);
            (out, self.reads.get() - before)
        }
    }

    /// A consistent tree of `u64::MAX` identical leaves: node (l, i) is the same for every i.
    struct UniformStore {
        levels: Vec<Hash>,
    }

    impl UniformStore {
        fn new() -> Self {
            let mut levels = vec![leaf_hash(b"uniform")];
            for l in 1..64 {
                let below = levels[l - 1];
                levels.push(node_hash(&below, &below));
            }
            UniformStore { levels }
        }
    }

    impl NodeStore for UniformStore {
        type Error = Missing;
        fn node(&self, level: u8, index: u64) -> Result<Hash, Missing> {
            // Only nodes inside [0, u64::MAX) exist.
            let end = (u128::from(index) + 1) << level;
            if end > u128::from(u64::MAX) {
                return Err(Missing(level, index));
            }
            Ok(self.levels[level as usize])
        }
    }

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_le_bytes())).collect()
    }

    fn ceil_log2(n: u64) -> u64 {
        u64::from(64 - n.saturating_sub(1).leading_zeros())
    }

    // ---- naive reference: RFC 6962 §2.1 / §2.1.1 / §2.1.2, recursion as written ---------------

    fn k_of(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    fn mth(d: &[Hash]) -> Hash {
        match d.len() {
            0 => empty_root(),
            1 => d[0],
            n => {
                let k = k_of(n);
                node_hash(&mth(&d[..k]), &mth(&d[k..]))
            }
        }
    }

    fn naive_path(m: usize, d: &[Hash]) -> Vec<Hash> {
        let n = d.len();
        if n <= 1 {
            return vec![];
        }
        let k = k_of(n);
        if m < k {
            let mut p = naive_path(m, &d[..k]);
            p.push(mth(&d[k..]));
            p
        } else {
            let mut p = naive_path(m - k, &d[k..]);
            p.push(mth(&d[..k]));
            p
        }
    }

    fn naive_subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
        let n = d.len();
        if m == n {
            return if b { vec![] } else { vec![mth(d)] };
        }
        let k = k_of(n);
        if m <= k {
            let mut p = naive_subproof(m, &d[..k], b);
            p.push(mth(&d[k..]));
            p
        } else {
            let mut p = naive_subproof(m - k, &d[k..], false);
            p.push(mth(&d[..k]));
            p
        }
    }

    fn naive_proof(m: usize, d: &[Hash]) -> Vec<Hash> {
        if m == 0 {
            return vec![];
        }
        naive_subproof(m, d, true)
    }

    // ---- RFC 6962 test vectors -----------------------------------------------------------------

    const RFC_LEAVES: [&str; 8] =
        ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];

    /// Published roots of sizes 0..=8 (certificate-transparency merkle_tree_test.cc,
    /// transparency-dev/merkle testonly RootHashes).
    const RFC_ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    /// Published inclusion proofs (index, size, path) from the same sources.
    const RFC_INCLUSION: [(u64, u64, &[&str]); 5] = [
        (0, 1, &[]),
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (2, 3, &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];

    /// Published consistency proofs (old, new, proof) from the same sources.
    const RFC_CONSISTENCY: [(u64, u64, &[&str]); 7] = [
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
        (
            3,
            7,
            &[
                "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
                "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
                "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
                "837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e",
            ],
        ),
        (4, 7, &["837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e"]),
        (
            6,
            7,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];

    fn rfc_leaves() -> Vec<Hash> {
        RFC_LEAVES.iter().map(|d| leaf_hash(&unhex(d))).collect()
    }

    #[test]
    fn hash_primitives() {
        assert_eq!(empty_root(), h(RFC_ROOTS[0]));
        assert_eq!(leaf_hash(b""), h(RFC_ROOTS[1]));
        // RFC 6962 domain separation: a node is not the hash of its concatenated children.
        let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
        let mut cat = a.to_vec();
        cat.extend_from_slice(&b);
        assert_ne!(node_hash(&a, &b), leaf_hash(&cat));
    }

    #[test]
    fn rfc6962_roots() {
        let d = rfc_leaves();
        let store = MemStore::with_leaves(&d);
        let mut range = CompactRange::new();
        for (n, want) in RFC_ROOTS.iter().enumerate() {
            let want = h(want);
            assert_eq!(mth(&d[..n]), want, "naive MTH, size {n}");
            assert_eq!(root(n as u64, &store), Ok(want), "stored root, size {n}");
            assert_eq!(range.root(), want, "compact range root, size {n}");
            if n < d.len() {
                range.push(d[n]).unwrap();
            }
        }
    }

    #[test]
    fn rfc6962_published_proofs() {
        let d = rfc_leaves();
        let store = MemStore::with_leaves(&d);
        for (index, size, path) in RFC_INCLUSION {
            let want: Vec<Hash> = path.iter().map(|s| h(s)).collect();
            assert_eq!(inclusion_proof(index, size, &store), Ok(want.clone()));
            assert!(verify_inclusion(index, size, &d[index as usize], &want, &h(RFC_ROOTS[size as usize])));
        }
        for (old, new, path) in RFC_CONSISTENCY {
            let want: Vec<Hash> = path.iter().map(|s| h(s)).collect();
            assert_eq!(consistency_proof(old, new, &store), Ok(want.clone()));
            assert!(verify_consistency(old, new, &h(RFC_ROOTS[old as usize]), &h(RFC_ROOTS[new as usize]), &want));
        }
    }

    #[test]
    fn every_proof_up_to_8_matches_naive_and_verifies() {
        let d = rfc_leaves();
        let store = MemStore::with_leaves(&d);
        let mut checked = 0;
        for n in 0..=8u64 {
            let root_n = h(RFC_ROOTS[n as usize]);
            for i in 0..n {
                let proof = inclusion_proof(i, n, &store).unwrap();
                assert_eq!(proof, naive_path(i as usize, &d[..n as usize]), "PATH({i}, {n})");
                assert!(verify_inclusion(i, n, &d[i as usize], &proof, &root_n));
                checked += 1;
            }
            for m in 0..=n {
                let proof = consistency_proof(m, n, &store).unwrap();
                assert_eq!(proof, naive_proof(m as usize, &d[..n as usize]), "PROOF({m}, {n})");
                let root_m = h(RFC_ROOTS[m as usize]);
                assert!(verify_consistency(m, n, &root_m, &root_n, &proof), "{m}->{n}");
                checked += 1;
            }
        }
        assert_eq!(checked, 36 + 45);
    }

    #[test]
    fn independent_steps_json_vectors() {
        let v: serde_json::Value = serde_json::from_str(STEPS_JSON).unwrap();
        let hashes = |x: &serde_json::Value| -> Vec<Hash> {
            x.as_array().unwrap().iter().map(|s| h(s.as_str().unwrap())).collect()
        };
        let leaves: Vec<Hash> =
            v["steps"].as_array().unwrap().iter().map(|s| h(s["entry_hash"].as_str().unwrap())).collect();
        assert_eq!(leaves.len(), 8);
        let store = MemStore::with_leaves(&leaves);
        let roots = v["roots"].as_object().unwrap();
        let root_of = |n: u64| h(roots[&n.to_string()].as_str().unwrap());
        assert_eq!(roots.len(), 9);
        for n in 0..=8u64 {
            assert_eq!(root(n, &store), Ok(root_of(n)), "root {n}");
            assert_eq!(mth(&leaves[..n as usize]), root_of(n));
        }
        let inclusion = v["inclusion"].as_array().unwrap();
        assert_eq!(inclusion.len(), 8);
        for case in inclusion {
            let (index, size) = (case["index"].as_u64().unwrap(), case["size"].as_u64().unwrap());
            let want = hashes(&case["hashes"]);
            assert_eq!(inclusion_proof(index, size, &store), Ok(want.clone()));
            assert!(verify_inclusion(index, size, &leaves[index as usize], &want, &root_of(size)));
        }
        let consistency = v["consistency"].as_array().unwrap();
        assert_eq!(consistency.len(), 8);
        for case in consistency {
            let old = case["old_size"].as_u64().unwrap();
            let new = case["new_size"].as_u64().unwrap();
            let want = hashes(&case["hashes"]);
            assert_eq!(consistency_proof(old, new, &store), Ok(want.clone()));
            assert!(verify_consistency(old, new, &root_of(old), &root_of(new), &want));
        }
    }

    #[test]
    fn every_proof_up_to_40_matches_naive_and_rejects_resizing() {
        let d = leaves(40);
        let store = MemStore::with_leaves(&d);
        let roots: Vec<Hash> = (0..=40).map(|n| mth(&d[..n])).collect();
        for n in 1..=40usize {
            let nu = n as u64;
            for i in 0..n {
                let p = inclusion_proof(i as u64, nu, &store).unwrap();
                assert_eq!(p, naive_path(i, &d[..n]), "PATH({i}, {n})");
                assert!(verify_inclusion(i as u64, nu, &d[i], &p, &roots[n]));
                if let Some((_, shorter)) = p.split_last() {
                    assert!(!verify_inclusion(i as u64, nu, &d[i], shorter, &roots[n]));
                }
                let mut longer = p.clone();
                longer.push(d[i]);
                assert!(!verify_inclusion(i as u64, nu, &d[i], &longer, &roots[n]));
            }
            for m in 0..=n {
                let p = consistency_proof(m as u64, nu, &store).unwrap();
                assert_eq!(p, naive_proof(m, &d[..n]), "PROOF({m}, {n})");
                assert!(verify_consistency(m as u64, nu, &roots[m], &roots[n], &p));
                if let Some((_, shorter)) = p.split_last() {
                    assert!(!verify_consistency(m as u64, nu, &roots[m], &roots[n], shorter));
                }
                let mut longer = p.clone();
                longer.push(roots[m]);
                assert!(!verify_consistency(m as u64, nu, &roots[m], &roots[n], &longer));
            }
        }
    }

    // ---- argument validation and edge cases ----------------------------------------------------

    #[test]
    fn invalid_arguments_are_typed_errors() {
        let store = MemStore::with_leaves(&leaves(5));
        assert_eq!(
            inclusion_proof(5, 5, &store),
            Err(MerkleError::Invalid(InvalidArgument::IndexOutOfRange { index: 5, size: 5 }))
        );
        assert!(matches!(inclusion_proof(0, 0, &store), Err(MerkleError::Invalid(_))));
        assert_eq!(
            consistency_proof(4, 3, &store),
            Err(MerkleError::Invalid(InvalidArgument::OldExceedsNew { old: 4, new: 3 }))
        );
        // Sizes beyond the stored tree surface the store's own error.
        assert_eq!(root(6, &store), Err(Missing(1, 2)));
        assert!(matches!(inclusion_proof(0, 6, &store), Err(MerkleError::Store(_))));
        assert!(matches!(consistency_proof(2, 6, &store), Err(MerkleError::Store(_))));
        assert_eq!(nodes_to_append(u64::MAX, [0; 32], &store), Err(MerkleError::Invalid(InvalidArgument::TreeFull)));
        assert_eq!(
            CompactRange::from_parts(5, &[[0; 32]]),
            Err(InvalidArgument::WrongHashCount { size: 5, expected: 2, got: 1 })
        );
        // Empty proofs and no reads for the trivial cases.
        assert_eq!(store.count(|s| consistency_proof(0, 5, s)), (Ok(vec![]), 0));
        assert_eq!(store.count(|s| consistency_proof(3, 3, s)), (Ok(vec![]), 0));
        assert_eq!(store.count(|s| consistency_proof(0, 0, s)), (Ok(vec![]), 0));
        assert_eq!(store.count(|s| root(0, s)), (Ok(empty_root()), 0));
        assert!(!InvalidArgument::TreeFull.to_string().is_empty());
    }

    #[test]
    fn verifier_edge_cases() {
        let d = leaves(7);
        let store = MemStore::with_leaves(&d);
        let r = |n| root(n, &store).unwrap();
        // Inclusion: out of range, empty tree, one-leaf tree.
        assert!(!verify_inclusion(0, 0, &d[0], &[], &empty_root()));
        assert!(!verify_inclusion(7, 7, &d[0], &[], &r(7)));
        assert!(verify_inclusion(0, 1, &d[0], &[], &r(1)));
        assert!(!verify_inclusion(0, 1, &d[0], &[d[1]], &r(1)));
        // Consistency with itself: empty proof and equal roots only.
        assert!(verify_consistency(5, 5, &r(5), &r(5), &[]));
        assert!(!verify_consistency(5, 5, &r(5), &r(4), &[]));
        assert!(!verify_consistency(5, 5, &r(5), &r(5), &[r(5)]));
        // From the empty tree: empty proof, and the empty tree's root.
        assert!(verify_consistency(0, 7, &empty_root(), &r(7), &[]));
        assert!(verify_consistency(0, 0, &empty_root(), &empty_root(), &[]));
        assert!(!verify_consistency(0, 7, &empty_root(), &r(7), &[d[0]]));
        assert!(!verify_consistency(0, 7, &r(1), &r(7), &[]));
        assert!(!verify_consistency(0, 0, &r(1), &r(1), &[]));
        // Shrinking, and an empty proof between different trees.
        assert!(!verify_consistency(7, 5, &r(7), &r(5), &[]));
        assert!(!verify_consistency(3, 7, &r(3), &r(7), &[]));
        // Power-of-two old tree whose root the proof must not repeat.
        let p = consistency_proof(4, 7, &store).unwrap();
        assert!(verify_consistency(4, 7, &r(4), &r(7), &p));
        let mut with_old_root = vec![r(4)];
        with_old_root.extend_from_slice(&p);
        assert!(!verify_consistency(4, 7, &r(4), &r(7), &with_old_root));
    }

    #[test]
    fn a_proof_alone_does_not_bind_the_size() {
        // Documented limitation of RFC 9162 verification: the walks for (0, 3) and (0, 4) hash in
        // the same order, so size and root must come from one signed checkpoint.
        let d = leaves(4);
        let store = MemStore::with_leaves(&d);
        let p = inclusion_proof(0, 3, &store).unwrap();
        let r3 = root(3, &store).unwrap();
        assert!(verify_inclusion(0, 4, &d[0], &p, &r3));
        assert!(!verify_inclusion(0, 4, &d[0], &p, &root(4, &store).unwrap()));
    }

    #[test]
    fn extreme_sizes_do_not_overflow() {
        let store = UniformStore::new();
        let full = u64::MAX;
        let r = |n| root(n, &store).unwrap();
        let leaf = store.levels[0];
        for (index, size) in [
            (0, full),
            (full - 1, full),
            (full - 2, full),
            (1 << 63, full),
            ((1 << 63) - 1, full),
            (5, 1 << 63),
            ((1 << 63) - 1, 1 << 63),
        ] {
            let p = inclusion_proof(index, size, &store).unwrap();
            assert!(p.len() <= 64);
            assert!(verify_inclusion(index, size, &leaf, &p, &r(size)));
        }
        for (old, new) in
            [(1, full), (full - 1, full), (1 << 63, full), ((1 << 63) + 1, full), ((1 << 62) + 3, (1 << 63) + 7)]
        {
            let p = consistency_proof(old, new, &store).unwrap();
            assert!(p.len() <= 65);
            assert!(verify_consistency(old, new, &r(old), &r(new), &p));
        }
        // A full compact range reports TreeFull instead of overflowing.
        let mut range = CompactRange::from_store(full, &store).unwrap();
        assert_eq!(range.root(), r(full));
        assert_eq!(range.hashes().len(), 64);
        assert_eq!(range.push(leaf), Err(InvalidArgument::TreeFull));
        assert_eq!(range.append(leaf), Err(InvalidArgument::TreeFull));
        let mut almost = CompactRange::from_store(full - 1, &store).unwrap();
        let written = almost.push(leaf).unwrap();
        assert_eq!(written, vec![((0, full - 1), leaf)]);
        assert_eq!(almost, range);
        // Proof verification is bounded whatever the claimed length.
        assert!(!verify_inclusion(0, full, &leaf, &vec![leaf; 10_000], &r(full)));
        assert!(!verify_consistency(3, full, &r(3), &r(full), &vec![leaf; 10_000]));
    }

    // ---- compact range and appending -----------------------------------------------------------

    #[test]
    fn compact_range_appends_roundtrips_and_matches_store() {
        let d = leaves(300);
        let mut store = MemStore::default();
        let mut range = CompactRange::new();
        let mut quiet = CompactRange::default();
        for (n, leaf) in d.iter().enumerate() {
            let n = n as u64;
            // Reloads and serialisation give back the same frontier.
            assert_eq!(CompactRange::from_store(n, &store), Ok(range.clone()));
            let parts = CompactRange::from_parts(n, &range.hashes()).unwrap();
            assert_eq!(parts, range);
            assert_eq!(range.hashes().len() as u32, n.count_ones());
            // The stored-tree append and the in-memory append write the same nodes.
            let (from_store, reads) = store.count(|s| nodes_to_append(n, *leaf, s));
            let from_store = from_store.unwrap();
            assert_eq!(reads, u64::from(n.trailing_ones()));
            let pushed = range.push(*leaf).unwrap();
            quiet.append(*leaf).unwrap();
            assert_eq!(pushed, from_store);
            assert_eq!(quiet, range);
            assert_eq!(pushed.len() as u32, 1 + n.trailing_ones());
            for (id, hash) in pushed {
                // Every written node is complete inside the new tree and correct.
                let (level, index) = id;
                let begin = (index << level) as usize;
                let end = ((index + 1) << level) as usize;
                assert!(end as u64 <= n + 1);
                assert_eq!(hash, mth(&d[begin..end]), "node {id:?}");
                store.nodes.insert(id, hash);
            }
            assert_eq!(range.size(), n + 1);
            assert_eq!(range.root(), mth(&d[..=n as usize]));
        }
        assert!(format!("{range:?}").contains("300"));
    }

    // ---- read counts: logarithmic, never a pass over the leaves --------------------------------

    #[test]
    fn reads_are_logarithmic_on_a_large_tree() {
        const N: u64 = 131_071 + 3; // > 100,000 leaves; sizes below have up to 17 one bits.
        let store = MemStore::with_leaves(&leaves(N));
        assert_eq!(store.size, N);
        let sizes = [1, 2, 3, 1000, 65_535, 65_536, 65_537, 100_000, 131_071, N - 1, N];
        let mut max_ratio: f64 = 0.0;
        for &n in &sizes {
            let bound = 2 * ceil_log2(n) + 1;
            let (r, reads) = store.count(|s| root(n, s));
            r.unwrap();
            assert_eq!(reads, u64::from(n.count_ones()), "root({n})");
            let mut indices: Vec<u64> = (0..n).step_by(4_999).collect();
            indices.extend([n / 2, n - 1, n.saturating_sub(2)]);
            for &i in &indices {
                let (p, reads) = store.count(|s| inclusion_proof(i, n, s));
                let p = p.unwrap();
                assert!(p.len() as u64 <= ceil_log2(n));
                assert!(reads < p.len() as u64 + u64::from(n.count_ones()), "({i},{n})");
                assert!(reads <= 2 * ceil_log2(n).max(1), "PATH({i}, {n}): {reads} reads");
                max_ratio = max_ratio.max(reads as f64 / bound as f64);
            }
            let mut olds: Vec<u64> = (1..n).step_by(4_999).collect();
            olds.extend([n / 2, n - 1, 1]);
            for &m in &olds {
                let (p, reads) = store.count(|s| consistency_proof(m, n, s));
                let p = p.unwrap();
                assert!(p.len() as u64 <= ceil_log2(n) + 1);
                assert!(reads < p.len() as u64 + u64::from(n.count_ones()), "({m},{n})");
                assert!(reads <= bound, "PROOF({m}, {n}): {reads} reads");
            }
        }
        assert!(max_ratio <= 1.0);
    }

    // ---- property tests against the naive implementation ---------------------------------------

    /// A stored tree of `n` leaves, a tree size `m <= n` to prove in, an index and an old size.
    fn tree_case() -> impl Strategy<Value = (u64, u64, u64, u64)> {
        (1u64..=3000).prop_flat_map(|n| (Just(n), 1..=n)).prop_flat_map(|(n, m)| (Just(n), Just(m), 0..m, 0..=m))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn proofs_agree_with_naive_and_verify((n, m, index, old) in tree_case()) {
            let d = leaves(n);
            let store = MemStore::with_leaves(&d);
            let mu = m as usize;
            let root_m = mth(&d[..mu]);
            let root_old = mth(&d[..old as usize]);
            prop_assert_eq!(root(m, &store), Ok(root_m));
            prop_assert_eq!(root(n, &store), Ok(mth(&d)));

            let path = inclusion_proof(index, m, &store).unwrap();
            prop_assert_eq!(&path, &naive_path(index as usize, &d[..mu]));
            prop_assert!(verify_inclusion(index, m, &d[index as usize], &path, &root_m));

            let proof = consistency_proof(old, m, &store).unwrap();
            prop_assert_eq!(&proof, &naive_proof(old as usize, &d[..mu]));
            prop_assert!(verify_consistency(old, m, &root_old, &root_m, &proof));
        }

        #[test]
        fn altered_inclusion_proofs_are_rejected(
            (n, m, index, _old) in tree_case(),
            pick in any::<prop::sample::Index>(),
            bit in 0usize..256,
        ) {
            let d = leaves(n);
            let store = MemStore::with_leaves(&d);
            let root_m = root(m, &store).unwrap();
            let leaf = d[index as usize];
            let path = inclusion_proof(index, m, &store).unwrap();
            prop_assert!(verify_inclusion(index, m, &leaf, &path, &root_m));
            // A flipped bit in any proof hash, the leaf or the root.
            if !path.is_empty() {
                let mut bad = path.clone();
                bad[pick.index(path.len())][bit / 8] ^= 1 << (bit % 8);
                prop_assert!(!verify_inclusion(index, m, &leaf, &bad, &root_m));
            }
            let mut bad_leaf = leaf;
            bad_leaf[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(!verify_inclusion(index, m, &bad_leaf, &path, &root_m));
            // Another index with the same leaf and proof.
            for other in [index.wrapping_sub(1), index + 1, index ^ 1, 0, m - 1] {
                if other != index {
                    prop_assert!(!verify_inclusion(other, m, &leaf, &path, &root_m), "index {}", other);
                }
            }
            // Another size, against that size's real root (a proof alone does not bind the
            // size: see a_proof_alone_does_not_bind_the_size).
            for other in [m - 1, m + 1, m * 2, m / 2] {
                if other != m && other > index && other <= n {
                    let r = root(other, &store).unwrap();
                    prop_assert!(!verify_inclusion(index, other, &leaf, &path, &r), "size {}", other);
                }
            }
            // Truncated or extended proofs.
            if !path.is_empty() {
                prop_assert!(!verify_inclusion(index, m, &leaf, &path[..path.len() - 1], &root_m));
                prop_assert!(!verify_inclusion(index, m, &leaf, &path[1..], &root_m));
            }
            let mut longer = path.clone();
            longer.push(root_m);
            prop_assert!(!verify_inclusion(index, m, &leaf, &longer, &root_m));
            let mut longer = vec![leaf];
            longer.extend_from_slice(&path);
            prop_assert!(!verify_inclusion(index, m, &leaf, &longer, &root_m));
        }

        #[test]
        fn altered_consistency_proofs_are_rejected(
            (n, m, _index, old) in tree_case(),
            pick in any::<prop::sample::Index>(),
            bit in 0usize..256,
        ) {
            let d = leaves(n);
            let store = MemStore::with_leaves(&d);
            let r = |k: u64| root(k, &store).unwrap();
            let (root_old, root_m) = (r(old), r(m));
            let proof = consistency_proof(old, m, &store).unwrap();
            prop_assert!(verify_consistency(old, m, &root_old, &root_m, &proof));
            // A flipped bit in any proof hash or either root.
            if !proof.is_empty() {
                let mut bad = proof.clone();
                bad[pick.index(proof.len())][bit / 8] ^= 1 << (bit % 8);
                prop_assert!(!verify_consistency(old, m, &root_old, &root_m, &bad));
            }
            let mut bad_root = root_old;
            bad_root[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(!verify_consistency(old, m, &bad_root, &root_m, &proof));
            // (Every tree extends the empty one, so from size 0 the new root is not examined.)
            if old != 0 {
                let mut bad_root = root_m;
                bad_root[bit / 8] ^= 1 << (bit % 8);
                prop_assert!(!verify_consistency(old, m, &root_old, &bad_root, &proof));
            }
            // Other sizes, each with its real root, unless the proof happens to be the right one
            // for that size too (the empty proof is right for 0 -> m and for m -> m).
            let proof_for = |o: u64, k: u64| consistency_proof(o, k, &store).unwrap();
            for other in [old.wrapping_sub(1), old + 1, old / 2, old * 2] {
                if other != old && other <= m && proof_for(other, m) != proof {
                    prop_assert!(
                        !verify_consistency(other, m, &r(other), &root_m, &proof),
                        "old size {}", other
                    );
                }
            }
            for other in [m - 1, m + 1, m * 2] {
                if other != m && other >= old && other <= n && proof_for(old, other) != proof {
                    prop_assert!(
                        !verify_consistency(old, other, &root_old, &r(other), &proof),
                        "new size {}", other
                    );
                }
            }
            // Truncated or extended proofs.
            if !proof.is_empty() {
                prop_assert!(!verify_consistency(old, m, &root_old, &root_m, &proof[..proof.len() - 1]));
                prop_assert!(!verify_consistency(old, m, &root_old, &root_m, &proof[1..]));
            }
            let mut longer = proof.clone();
            longer.push(root_m);
            prop_assert!(!verify_consistency(old, m, &root_old, &root_m, &longer));
            let mut longer = vec![root_old];
            longer.extend_from_slice(&proof);
            prop_assert!(!verify_consistency(old, m, &root_old, &root_m, &longer));
        }
    }
}
