//! The Merkle tree against the RFC 6962 test data that Certificate Transparency implementations share, and
//! property tests of every proof in trees of up to 300 leaves.

use proptest::prelude::*;
use proptest::sample::Index;
use transparency::merkle::{
    leaf_data_for_event_hash, leaf_hash, leaf_hash_for_event_hash, node_hash, root, verify_consistency,
    verify_inclusion, EventHashError, Hash, ProofError, Tree, TreeError, EMPTY_ROOT,
};

use crate::hash_from_hex;

/// The leaf data of the reference tree.
pub const REFERENCE_LEAF_DATA: [&[u8]; 8] = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
];

/// The published roots of the reference tree at sizes 0 to 8.
pub const REFERENCE_ROOTS: [&str; 9] = [
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

/// Published inclusion proofs in the reference tree: (leaf index, tree size, audit path).
pub const REFERENCE_INCLUSION_PROOFS: [(u64, u64, &[&str]); 5] = [
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

/// Published consistency proofs in the reference tree: (old size, new size, proof).
pub const REFERENCE_CONSISTENCY_PROOFS: [(u64, u64, &[&str]); 5] = [
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
        2,
        8,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
];

fn reference_tree() -> Tree {
    Tree::from_leaf_hashes(REFERENCE_LEAF_DATA.iter().map(|data| leaf_hash(data)))
}

fn hashes_from_hex(texts: &[&str]) -> Vec<Hash> {
    texts.iter().map(|text| hash_from_hex(text)).collect()
}

/// A tree of `n_leaves` distinct leaves; `seed` varies their contents between cases.
fn tree_of(n_leaves: u64, seed: u64) -> Tree {
    Tree::from_leaf_hashes((0..n_leaves).map(|i| leaf_hash(&[seed.to_be_bytes(), i.to_be_bytes()].concat())))
}

fn flip_byte(hashes: &mut [Hash], byte_index: usize) {
    hashes[byte_index / 32][byte_index % 32] ^= 0x01;
}

#[test]
fn roots_match_the_published_roots_at_every_size() {
    let leaf_hashes: Vec<Hash> = REFERENCE_LEAF_DATA.iter().map(|data| leaf_hash(data)).collect();
    let mut tree = Tree::new();
    assert_eq!(tree.root(), hash_from_hex(REFERENCE_ROOTS[0]));
    for (size, leaf) in leaf_hashes.iter().enumerate() {
        tree.append(*leaf);
        assert_eq!(tree.root(), hash_from_hex(REFERENCE_ROOTS[size + 1]), "incremental root at size {}", size + 1);
    }
    for (size, expected) in REFERENCE_ROOTS.iter().enumerate() {
        let expected = hash_from_hex(expected);
        assert_eq!(root(&leaf_hashes[..size]), expected, "definitional root at size {size}");
        assert_eq!(tree.root_at(size as u64), Ok(expected), "historical root at size {size}");
    }
    assert_eq!(EMPTY_ROOT, hash_from_hex(REFERENCE_ROOTS[0]));
}

#[test]
fn leaf_and_node_hashes_use_the_domain_separation_prefixes() {
    assert_eq!(leaf_hash(b""), hash_from_hex(REFERENCE_ROOTS[1]));
    assert_eq!(node_hash(&leaf_hash(b""), &leaf_hash(b"\x00")), hash_from_hex(REFERENCE_ROOTS[2]));
}

#[test]
fn inclusion_proofs_match_the_published_ones_and_verify() {
    let tree = reference_tree();
    for (index, size, expected) in REFERENCE_INCLUSION_PROOFS {
        let expected = hashes_from_hex(expected);
        assert_eq!(tree.inclusion_proof(index, size), Ok(expected.clone()), "leaf {index} in size {size}");
        let leaf = leaf_hash(REFERENCE_LEAF_DATA[index as usize]);
        let root = hash_from_hex(REFERENCE_ROOTS[size as usize]);
        assert_eq!(verify_inclusion(&leaf, index, size, &expected, &root), Ok(()), "leaf {index} in size {size}");
    }
}

#[test]
fn consistency_proofs_match_the_published_ones_and_verify() {
    let tree = reference_tree();
    for (old_size, new_size, expected) in REFERENCE_CONSISTENCY_PROOFS {
        let expected = hashes_from_hex(expected);
        assert_eq!(tree.consistency_proof(old_size, new_size), Ok(expected.clone()), "{old_size} to {new_size}");
        let old_root = hash_from_hex(REFERENCE_ROOTS[old_size as usize]);
        let new_root = hash_from_hex(REFERENCE_ROOTS[new_size as usize]);
        assert_eq!(verify_consistency(old_size, new_size, &old_root, &new_root, &expected), Ok(()));
    }
}

#[test]
fn every_proof_of_every_small_tree_verifies() {
    let tree = tree_of(64, 7);
    for new_size in 0..=64 {
        let new_root = tree.root_at(new_size).unwrap();
        for index in 0..new_size {
            let proof = tree.inclusion_proof(index, new_size).unwrap();
            let leaf = tree.leaf_hash(index).unwrap();
            assert_eq!(verify_inclusion(&leaf, index, new_size, &proof, &new_root), Ok(()), "{index} in {new_size}");
        }
        for old_size in 0..=new_size {
            let proof = tree.consistency_proof(old_size, new_size).unwrap();
            let old_root = tree.root_at(old_size).unwrap();
            assert_eq!(verify_consistency(old_size, new_size, &old_root, &new_root, &proof), Ok(()));
        }
    }
}

#[test]
fn inclusion_verification_names_what_is_wrong() {
    let tree = reference_tree();
    let root8 = tree.root();
    let leaf5 = tree.leaf_hash(5).unwrap();
    let proof = tree.inclusion_proof(5, 8).unwrap();

    assert_eq!(verify_inclusion(&leaf5, 8, 8, &proof, &root8), Err(ProofError::IndexOutOfRange { index: 8, size: 8 }));
    assert_eq!(
        verify_inclusion(&leaf5, 0, 0, &[], &EMPTY_ROOT),
        Err(ProofError::IndexOutOfRange { index: 0, size: 0 })
    );
    assert_eq!(
        verify_inclusion(&leaf5, 5, 8, &proof[..2], &root8),
        Err(ProofError::ProofTooShort { expected: 3, actual: 2 })
    );
    let mut too_long = proof.clone();
    too_long.push(EMPTY_ROOT);
    assert_eq!(
        verify_inclusion(&leaf5, 5, 8, &too_long, &root8),
        Err(ProofError::ProofTooLong { expected: 3, actual: 4 })
    );
    let error = verify_inclusion(&leaf5, 5, 8, &proof, &EMPTY_ROOT).unwrap_err();
    assert_eq!(error, ProofError::RootMismatch { expected: EMPTY_ROOT, computed: root8 });
    assert_eq!(
        error.to_string(),
        format!(
            "root mismatch: the proof leads to {} but the expected root is {}",
            hex::encode(root8),
            REFERENCE_ROOTS[0]
        )
    );
}

#[test]
fn consistency_verification_names_what_is_wrong() {
    let tree = reference_tree();
    let [root0, root1, root6, root8] = [0, 1, 6, 8].map(|size| tree.root_at(size).unwrap());
    let proof = tree.consistency_proof(6, 8).unwrap();

    assert_eq!(
        verify_consistency(8, 6, &root8, &root6, &proof),
        Err(ProofError::SizesOutOfOrder { old_size: 8, new_size: 6 })
    );
    assert_eq!(
        verify_consistency(6, 8, &root6, &root8, &proof[..1]),
        Err(ProofError::ProofTooShort { expected: 3, actual: 1 })
    );
    assert_eq!(
        verify_consistency(6, 8, &root6, &root8, &[]),
        Err(ProofError::ProofTooShort { expected: 3, actual: 0 })
    );
    assert_eq!(
        verify_consistency(8, 8, &root8, &root8, &proof),
        Err(ProofError::ProofTooLong { expected: 0, actual: 3 })
    );
    assert_eq!(
        verify_consistency(8, 8, &root8, &root6, &[]),
        Err(ProofError::NewRootMismatch { expected: root6, computed: root8 })
    );
    assert_eq!(verify_consistency(0, 8, &root0, &root8, &[]), Ok(()));
    assert_eq!(
        verify_consistency(0, 8, &root1, &root8, &[]),
        Err(ProofError::OldRootMismatch { expected: root1, computed: root0 })
    );
    assert!(matches!(verify_consistency(6, 8, &root1, &root8, &proof), Err(ProofError::OldRootMismatch { .. })));
    assert!(matches!(verify_consistency(6, 8, &root6, &root1, &proof), Err(ProofError::NewRootMismatch { .. })));
}

#[test]
fn the_tree_refuses_sizes_and_indices_it_does_not_have() {
    let tree = reference_tree();
    assert_eq!(tree.root_at(9), Err(TreeError::SizeBeyondTree { size: 9, tree_size: 8 }));
    assert_eq!(tree.inclusion_proof(0, 9), Err(TreeError::SizeBeyondTree { size: 9, tree_size: 8 }));
    assert_eq!(tree.inclusion_proof(3, 3), Err(TreeError::IndexOutOfRange { index: 3, size: 3 }));
    assert_eq!(tree.consistency_proof(1, 9), Err(TreeError::SizeBeyondTree { size: 9, tree_size: 8 }));
    assert_eq!(tree.consistency_proof(5, 4), Err(TreeError::SizesOutOfOrder { old_size: 5, new_size: 4 }));
    assert_eq!(tree.leaf_hash(8), None);
    assert_eq!(Tree::new().size(), 0);
}

#[test]
fn the_leaf_data_of_an_event_is_its_chain_hash_in_raw_bytes() {
    // Event 1 of the worked example in docs/event-hash-chain.md.
    let event_hash = "8e196d51da7d33e5886d115e63e59b85a46096394eabb5a09499d9b28f68af46";
    let data = leaf_data_for_event_hash(event_hash).unwrap();
    assert_eq!(data, hash_from_hex(event_hash));
    assert_eq!(leaf_hash_for_event_hash(event_hash), Ok(leaf_hash(&data)));

    assert_eq!(leaf_data_for_event_hash(&event_hash[1..]), Err(EventHashError::Length { actual: 63 }));
    assert_eq!(leaf_data_for_event_hash(""), Err(EventHashError::Length { actual: 0 }));
    let uppercase = event_hash.to_uppercase();
    assert_eq!(leaf_data_for_event_hash(&uppercase), Err(EventHashError::NotLowercaseHex { position: 1 }));
    let with_g = format!("{}g", &event_hash[..63]);
    assert_eq!(leaf_data_for_event_hash(&with_g), Err(EventHashError::NotLowercaseHex { position: 63 }));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_inclusion_proof_verifies_and_any_change_breaks_it(
        size in 1u64..=300,
        seed in any::<u64>(),
        index in any::<Index>(),
        other_index in any::<Index>(),
        byte in any::<Index>(),
    ) {
        let tree = tree_of(size, seed);
        let index = index.index(size as usize) as u64;
        let leaf = tree.leaf_hash(index).unwrap();
        let root = tree.root();
        let proof = tree.inclusion_proof(index, size).unwrap();
        prop_assert_eq!(verify_inclusion(&leaf, index, size, &proof, &root), Ok(()));

        if !proof.is_empty() {
            let mut tampered = proof.clone();
            flip_byte(&mut tampered, byte.index(proof.len() * 32));
            prop_assert!(verify_inclusion(&leaf, index, size, &tampered, &root).is_err());
        }
        let mut tampered_leaf = [leaf];
        flip_byte(&mut tampered_leaf, byte.index(32));
        prop_assert!(verify_inclusion(&tampered_leaf[0], index, size, &proof, &root).is_err());
        let mut tampered_root = [root];
        flip_byte(&mut tampered_root, byte.index(32));
        let tampered_root_result = verify_inclusion(&leaf, index, size, &proof, &tampered_root[0]);
        prop_assert!(matches!(tampered_root_result, Err(ProofError::RootMismatch { .. })), "{:?}", tampered_root_result);

        let other_index = other_index.index(size as usize) as u64;
        if other_index != index {
            prop_assert!(verify_inclusion(&leaf, other_index, size, &proof, &root).is_err());
        }
        prop_assert_eq!(
            verify_inclusion(&leaf, size, size, &proof, &root),
            Err(ProofError::IndexOutOfRange { index: size, size })
        );
    }

    #[test]
    fn every_consistency_proof_verifies_and_any_change_breaks_it(
        new_size in 1u64..=300,
        seed in any::<u64>(),
        old_size in any::<Index>(),
        other_old_size in any::<Index>(),
        byte in any::<Index>(),
    ) {
        let tree = tree_of(new_size, seed);
        let old_size = old_size.index(new_size as usize + 1) as u64;
        let old_root = tree.root_at(old_size).unwrap();
        let new_root = tree.root();
        let proof = tree.consistency_proof(old_size, new_size).unwrap();
        prop_assert_eq!(verify_consistency(old_size, new_size, &old_root, &new_root, &proof), Ok(()));

        if !proof.is_empty() {
            let mut tampered = proof.clone();
            flip_byte(&mut tampered, byte.index(proof.len() * 32));
            prop_assert!(verify_consistency(old_size, new_size, &old_root, &new_root, &tampered).is_err());
        }
        let mut tampered_old_root = [old_root];
        flip_byte(&mut tampered_old_root, byte.index(32));
        prop_assert!(verify_consistency(old_size, new_size, &tampered_old_root[0], &new_root, &proof).is_err());
        // Every tree extends the empty tree, whatever its root: only a non-empty old tree constrains the new root.
        if old_size > 0 {
            let mut tampered_new_root = [new_root];
            flip_byte(&mut tampered_new_root, byte.index(32));
            prop_assert!(verify_consistency(old_size, new_size, &old_root, &tampered_new_root[0], &proof).is_err());
        }

        let other_old_size = other_old_size.index(new_size as usize + 1) as u64;
        if other_old_size != old_size {
            prop_assert!(verify_consistency(other_old_size, new_size, &old_root, &new_root, &proof).is_err());
        }
    }

    #[test]
    fn the_incremental_tree_agrees_with_the_definition(size in 0u64..=300, seed in any::<u64>(), at in any::<Index>()) {
        let tree = tree_of(size, seed);
        let leaf_hashes: Vec<Hash> = (0..size).map(|i| tree.leaf_hash(i).unwrap()).collect();
        let at = at.index(size as usize + 1);
        prop_assert_eq!(tree.root_at(at as u64), Ok(root(&leaf_hashes[..at])));
        prop_assert_eq!(tree.root(), root(&leaf_hashes));
    }
}
