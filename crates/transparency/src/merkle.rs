//! The Merkle tree over the event log: RFC 9162 (Certificate Transparency 2.0, same hashing as RFC 6962) tree
//! hashes, inclusion and consistency proofs, and their verifiers.
//!
//! Leaf *i* (0-based) of the tree is the event at global position *i* + 1, and its leaf data is the 32 raw bytes
//! of that event's chain hash ([`leaf_data_for_event_hash`]). The chain hash already commits to every field of the
//! event and to every event before it (`docs/event-hash-chain.md`); the tree adds short proofs on top: that one
//! event is in the log ([`Tree::inclusion_proof`] / [`verify_inclusion`]) and that a later log extends an earlier
//! one without rewriting it ([`Tree::consistency_proof`] / [`verify_consistency`]). Signed tree heads live in
//! [`crate::checkpoint`]; the normative text for third-party verifiers is `docs/transparency-log.md`.
//!
//! Everything here is pure: no I/O, no clock. Sizes and indices are `u64`, like global positions.

use sha2::{Digest, Sha256};

/// A SHA-256 output: a leaf hash, an interior node hash or a root.
pub type Hash = [u8; 32];

/// The root of the empty tree: SHA-256 of the empty string.
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41,
    0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// The hash of a leaf: SHA-256(0x00 || data).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(data);
    hasher.finalize().into()
}

/// The hash of an interior node: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x01]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The leaf data of an event: the 32 raw bytes of its chain hash, given as stored (the event's `hash` field,
/// exactly 64 lowercase hex characters).
///
/// The tree commits to the hash chain, which commits to every field of every event, so a leaf needs nothing else.
pub fn leaf_data_for_event_hash(event_hash_hex: &str) -> Result<Hash, EventHashError> {
    if event_hash_hex.len() != 64 {
        return Err(EventHashError::Length { actual: event_hash_hex.len() });
    }
    if let Some(position) = event_hash_hex.bytes().position(|byte| !matches!(byte, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(EventHashError::NotLowercaseHex { position });
    }
    let mut bytes = [0u8; 32];
    // Checked above: 64 characters from [0-9a-f] always decode.
    hex::decode_to_slice(event_hash_hex, &mut bytes).map_err(|_| EventHashError::NotLowercaseHex { position: 0 })?;
    Ok(bytes)
}

/// The leaf hash of an event, from its stored chain hash: `leaf_hash(leaf_data_for_event_hash(hex))`.
pub fn leaf_hash_for_event_hash(event_hash_hex: &str) -> Result<Hash, EventHashError> {
    leaf_data_for_event_hash(event_hash_hex).map(|data| leaf_hash(&data))
}

/// The Merkle tree hash (RFC 9162 §2.1.1) of a list of leaf hashes: [`EMPTY_ROOT`] for no leaf, the leaf hash itself
/// for one, and otherwise `node_hash(MTH(first k), MTH(rest))` where k is the largest power of two smaller than the
/// number of leaves.
///
/// This is the definition, written as such; [`Tree`] computes the same values incrementally.
pub fn root(leaf_hashes: &[Hash]) -> Hash {
    match leaf_hashes.len() {
        0 => EMPTY_ROOT,
        1 => leaf_hashes[0],
        n_leaves => {
            let split = largest_power_of_two_below(n_leaves as u64) as usize;
            node_hash(&root(&leaf_hashes[..split]), &root(&leaf_hashes[split..]))
        }
    }
}

/// An append-only Merkle tree that answers roots and proofs for its current size and for every earlier size.
///
/// Memory: the tree keeps every leaf hash and every complete interior node, that is fewer than two hashes per
/// leaf, **at most 64 bytes per event** (about 61 MiB per million events; the vectors grow by doubling, so the
/// allocation can briefly be up to twice that). In exchange a root at any size costs O(log n) hashes and a proof
/// O(log² n) at worst, never a pass over the leaves. Its right edge (the last node of
/// each level whose count is odd) is the O(log n) frontier that [`Tree::root`] folds.
///
/// Invariant: `levels[0]` holds the leaf hashes in order; `levels[h][j]` is the hash of the complete subtree over
/// leaves `j·2^h .. (j+1)·2^h`, present exactly when all those leaves are, so `levels[h].len() == size >> h`.
#[derive(Clone, Debug, Default)]
pub struct Tree {
    levels: Vec<Vec<Hash>>,
}

/// The right edge of a tree, enough to extend it and compute its root but not to make proofs: the hashes of the
/// complete subtrees that the binary digits of its size name, left to right (at most 64 hashes, whatever the
/// size). A verifier that streams a whole log through it knows the root at every size it passes, in constant memory.
///
/// Invariant: `nodes.len() == size.count_ones()`, and `nodes[i]` covers the leaves of the i-th one bit of `size`
/// counted from the most significant.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    nodes: Vec<Hash>,
}

/// An error from verifying a proof: what is wrong with it, so a verifier can say why it refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("leaf index {index} is out of range for a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("old size {old_size} is larger than new size {new_size}")]
    SizesOutOfOrder { old_size: u64, new_size: u64 },
    #[error("proof too short: it has {actual} hashes and needs {expected}")]
    ProofTooShort { expected: usize, actual: usize },
    #[error("proof too long: it has {actual} hashes and needs {expected}")]
    ProofTooLong { expected: usize, actual: usize },
    #[error("root mismatch: the proof leads to {} but the expected root is {}", hex::encode(.computed), hex::encode(.expected))]
    RootMismatch { expected: Hash, computed: Hash },
    #[error("old root mismatch: the proof leads to {} but the old root is {}", hex::encode(.computed), hex::encode(.expected))]
    OldRootMismatch { expected: Hash, computed: Hash },
    #[error("new root mismatch: the proof leads to {} but the new root is {}", hex::encode(.computed), hex::encode(.expected))]
    NewRootMismatch { expected: Hash, computed: Hash },
}

/// An error from asking a [`Tree`] for something it does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    #[error("size {size} is beyond the tree, which has {tree_size} leaves")]
    SizeBeyondTree { size: u64, tree_size: u64 },
    #[error("leaf index {index} is out of range for a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("old size {old_size} is larger than new size {new_size}")]
    SizesOutOfOrder { old_size: u64, new_size: u64 },
}

/// An error from reading an event's stored chain hash as leaf data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventHashError {
    #[error("an event hash has 64 hex characters, not {actual}")]
    Length { actual: usize },
    #[error("an event hash is lowercase hex, and character {position} is not")]
    NotLowercaseHex { position: usize },
}

/// Verifies an inclusion proof (RFC 9162 §2.1.3.2): that the leaf with hash `leaf_hash` is leaf `index` (0-based)
/// of the tree of `size` leaves whose root is `root`. `proof` is the audit path, from the leaf's sibling up.
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    // Step 1.
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    check_proof_length(inclusion_proof_length(index, size), proof.len())?;
    // Steps 2 and 3.
    let mut fn_ = index;
    let mut sn = size - 1;
    let mut r = *leaf_hash;
    // Step 4.
    for p in proof {
        if sn == 0 {
            return Err(ProofError::ProofTooLong {
                expected: inclusion_proof_length(index, size),
                actual: proof.len(),
            });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 5.
    if sn != 0 {
        return Err(ProofError::ProofTooShort { expected: inclusion_proof_length(index, size), actual: proof.len() });
    }
    if r != *root {
        return Err(ProofError::RootMismatch { expected: *root, computed: r });
    }
    Ok(())
}

/// Verifies a consistency proof (RFC 9162 §2.1.4.2): that the tree of `new_size` leaves with root `new_root` has the
/// tree of `old_size` leaves with root `old_root` as its prefix.
///
/// The cases the RFC leaves out: equal sizes need an empty proof and equal roots; an old size of 0 needs an empty
/// proof and `old_root` equal to [`EMPTY_ROOT`] (every tree extends the empty one).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::SizesOutOfOrder { old_size, new_size });
    }
    if old_size == 0 || old_size == new_size {
        check_proof_length(0, proof.len())?;
        if old_size == 0 && *old_root != EMPTY_ROOT {
            return Err(ProofError::OldRootMismatch { expected: *old_root, computed: EMPTY_ROOT });
        }
        if old_size == new_size && old_root != new_root {
            return Err(ProofError::NewRootMismatch { expected: *new_root, computed: *old_root });
        }
        return Ok(());
    }
    let expected_length = consistency_proof_length(old_size, new_size);
    check_proof_length(expected_length, proof.len())?;
    // Steps 1 and 2: an old size that is a power of two is a complete subtree, whose hash (the old root) the proof
    // leaves out; put it back in front.
    let (seed, rest) = if old_size.is_power_of_two() {
        (*old_root, proof)
    } else {
        match proof.split_first() {
            Some((first, rest)) => (*first, rest),
            None => return Err(ProofError::ProofTooShort { expected: expected_length, actual: 0 }),
        }
    };
    // Step 3.
    let mut fn_ = old_size - 1;
    let mut sn = new_size - 1;
    // Step 4.
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 5.
    let mut fr = seed;
    let mut sr = seed;
    // Step 6.
    for c in rest {
        if sn == 0 {
            return Err(ProofError::ProofTooLong { expected: expected_length, actual: proof.len() });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 7.
    if sn != 0 {
        return Err(ProofError::ProofTooShort { expected: expected_length, actual: proof.len() });
    }
    if fr != *old_root {
        return Err(ProofError::OldRootMismatch { expected: *old_root, computed: fr });
    }
    if sr != *new_root {
        return Err(ProofError::NewRootMismatch { expected: *new_root, computed: sr });
    }
    Ok(())
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the next leaf hash. Amortised O(1): each complete subtree is hashed once, when its last leaf comes.
    pub fn append(&mut self, leaf_hash: Hash) {
        let mut node = leaf_hash;
        let mut size = self.size;
        while size & 1 == 1 {
            let left = self.nodes.pop().expect("a one bit of the size has its subtree");
            node = node_hash(&left, &node);
            size >>= 1;
        }
        self.nodes.push(node);
        self.size += 1;
    }

    /// The number of leaves appended.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root at the current size: the complete subtrees folded from the right. O(log n).
    pub fn root(&self) -> Hash {
        let mut nodes = self.nodes.iter().rev();
        let Some(last) = nodes.next() else { return EMPTY_ROOT };
        nodes.fold(*last, |right, left| node_hash(left, &right))
    }
}

impl Tree {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// A tree of the given leaf hashes, in order.
    pub fn from_leaf_hashes(leaf_hashes: impl IntoIterator<Item = Hash>) -> Self {
        let mut tree = Self::new();
        for leaf_hash in leaf_hashes {
            tree.append(leaf_hash);
        }
        tree
    }

    /// Appends the next leaf (for the event log: the leaf hash of the event at position `size() + 1`).
    /// Amortised O(1): each complete subtree's hash is computed once, when its last leaf arrives.
    pub fn append(&mut self, leaf_hash: Hash) {
        let mut node = leaf_hash;
        let mut height = 0;
        loop {
            if self.levels.len() == height {
                self.levels.push(Vec::new());
            }
            let level = &mut self.levels[height];
            level.push(node);
            if level.len() % 2 == 1 {
                return;
            }
            node = node_hash(&level[level.len() - 2], &level[level.len() - 1]);
            height += 1;
        }
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |leaves| leaves.len() as u64)
    }

    /// The leaf hash at `index` (0-based), if the tree has it.
    pub fn leaf_hash(&self, index: u64) -> Option<Hash> {
        self.levels.first().and_then(|leaves| leaves.get(usize::try_from(index).ok()?)).copied()
    }

    /// The root at the current size.
    pub fn root(&self) -> Hash {
        self.root_of_prefix(self.size())
    }

    /// The root the tree had when it had `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash, TreeError> {
        self.check_size(size)?;
        Ok(self.root_of_prefix(size))
    }

    /// The inclusion proof (RFC 9162 §2.1.3.1 audit path) of leaf `index` in the tree of the first `size` leaves:
    /// the sibling hashes from the leaf up to the root, deepest first.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, TreeError> {
        self.check_size(size)?;
        if index >= size {
            return Err(TreeError::IndexOutOfRange { index, size });
        }
        // Walk down from the root, remembering the sibling of each subtree the leaf is in.
        let mut siblings_top_down = Vec::new();
        let (mut start, mut end) = (0, size);
        while end - start > 1 {
            let split = start + largest_power_of_two_below(end - start);
            if index < split {
                siblings_top_down.push(self.subtree_hash(split, end));
                end = split;
            } else {
                siblings_top_down.push(self.subtree_hash(start, split));
                start = split;
            }
        }
        siblings_top_down.reverse();
        Ok(siblings_top_down)
    }

    /// The consistency proof (RFC 9162 §2.1.4.1) between the trees of the first `old_size` and the first
    /// `new_size` leaves, deepest hash first. Empty when `old_size` is 0 or equal to `new_size`.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<Vec<Hash>, TreeError> {
        self.check_size(new_size)?;
        if old_size > new_size {
            return Err(TreeError::SizesOutOfOrder { old_size, new_size });
        }
        if old_size == 0 || old_size == new_size {
            return Ok(Vec::new());
        }
        // SUBPROOF(m, D[start:end], b), unrolled: walk down from the root towards the old tree's right edge.
        let mut hashes_top_down = Vec::new();
        let (mut start, mut end) = (0, new_size);
        let mut old_tree_is_a_complete_left_part = true;
        loop {
            if old_size == end {
                if !old_tree_is_a_complete_left_part {
                    hashes_top_down.push(self.subtree_hash(start, end));
                }
                break;
            }
            let split = start + largest_power_of_two_below(end - start);
            if old_size <= split {
                hashes_top_down.push(self.subtree_hash(split, end));
                end = split;
            } else {
                hashes_top_down.push(self.subtree_hash(start, split));
                start = split;
                old_tree_is_a_complete_left_part = false;
            }
        }
        hashes_top_down.reverse();
        Ok(hashes_top_down)
    }

    fn check_size(&self, size: u64) -> Result<(), TreeError> {
        if size > self.size() {
            return Err(TreeError::SizeBeyondTree { size, tree_size: self.size() });
        }
        Ok(())
    }

    /// The root of the first `size` leaves (`size <= self.size()`): the complete subtrees that `size`'s binary
    /// digits name, left to right, folded from the right.
    fn root_of_prefix(&self, size: u64) -> Hash {
        if size == 0 {
            return EMPTY_ROOT;
        }
        self.subtree_hash(0, size)
    }

    /// MTH of leaves `start..end`, for a range that is a node of the RFC 9162 tree over some prefix: `start` is a
    /// multiple of the smallest power of two at least `end - start`, which holds for every range the recursion
    /// visits. Complete subtrees are looked up; the others are split as MTH splits them.
    fn subtree_hash(&self, start: u64, end: u64) -> Hash {
        let width = end - start;
        if width.is_power_of_two() {
            let height = width.trailing_zeros() as usize;
            return self.levels[height][(start >> height) as usize];
        }
        let split = start + largest_power_of_two_below(width);
        node_hash(&self.subtree_hash(start, split), &self.subtree_hash(split, end))
    }
}

/// The largest power of two strictly smaller than `n`, for `n >= 2` (the `k` of RFC 9162 §2.1.1).
fn largest_power_of_two_below(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// The number of hashes in the inclusion proof of leaf `index` in a tree of `size` leaves (`index < size`): one per
/// level where the paths to the leaf and to the last leaf differ, plus one per complete left subtree above them.
fn inclusion_proof_length(index: u64, size: u64) -> usize {
    let inner = bit_length(index ^ (size - 1));
    let border = (index >> inner).count_ones();
    (inner + border) as usize
}

/// The number of hashes in the consistency proof from `old_size` to `new_size` (`0 < old_size < new_size`).
fn consistency_proof_length(old_size: u64, new_size: u64) -> usize {
    let inner = bit_length((old_size - 1) ^ (new_size - 1));
    let border = ((old_size - 1) >> inner).count_ones();
    let shared_complete_levels = old_size.trailing_zeros();
    let old_root_is_left_out = u32::from(!old_size.is_power_of_two());
    (inner - shared_complete_levels + border + old_root_is_left_out) as usize
}

fn bit_length(value: u64) -> u32 {
    64 - value.leading_zeros()
}

fn check_proof_length(expected: usize, actual: usize) -> Result<(), ProofError> {
    if actual < expected {
        return Err(ProofError::ProofTooShort { expected, actual });
    }
    if actual > expected {
        return Err(ProofError::ProofTooLong { expected, actual });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_power_of_two_below_is_the_split_of_rfc_9162() {
        for (n, k) in [(2, 1), (3, 2), (4, 2), (5, 4), (8, 4), (9, 8), (1000, 512), (u64::MAX, 1 << 63)] {
            assert_eq!(largest_power_of_two_below(n), k, "n = {n}");
        }
    }

    #[test]
    fn the_levels_hold_exactly_the_complete_subtrees() {
        for n_leaves in 0..70u64 {
            let tree = Tree::from_leaf_hashes((0..n_leaves).map(|i| leaf_hash(&i.to_be_bytes())));
            for (height, level) in tree.levels.iter().enumerate() {
                assert_eq!(level.len() as u64, n_leaves >> height, "n = {n_leaves}, height = {height}");
            }
        }
    }

    #[test]
    fn the_frontier_has_the_roots_of_the_tree() {
        let mut frontier = Frontier::new();
        let mut tree = Tree::new();
        assert_eq!(frontier.root(), EMPTY_ROOT);
        for index in 0..300u64 {
            let leaf = leaf_hash(&index.to_be_bytes());
            frontier.append(leaf);
            tree.append(leaf);
            assert_eq!((frontier.size(), frontier.root()), (tree.size(), tree.root()), "size {}", index + 1);
            assert_eq!(frontier.nodes.len() as u32, frontier.size().count_ones());
        }
    }

    #[test]
    fn the_empty_root_is_sha256_of_nothing() {
        assert_eq!(EMPTY_ROOT, <[u8; 32]>::from(Sha256::digest(b"")));
    }
}
