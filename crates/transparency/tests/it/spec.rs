//! `docs/transparency-log.md` against the code: the worked example is computed here and must appear in the document
//! verbatim, and so must the reference test vectors, so that the specification cannot drift from the implementation.

use transparency::checkpoint::{open, sign, Checkpoint, SigningKey};
use transparency::merkle::{leaf_hash_for_event_hash, verify_consistency, verify_inclusion, Tree};

use crate::merkle::{REFERENCE_CONSISTENCY_PROOFS, REFERENCE_INCLUSION_PROOFS, REFERENCE_ROOTS};

const SPEC: &str = include_str!("../../../../docs/transparency-log.md");

/// The chain hashes of the two events of the worked example in `docs/event-hash-chain.md`.
const EVENT_HASHES: [&str; 2] = [
    "8e196d51da7d33e5886d115e63e59b85a46096394eabb5a09499d9b28f68af46",
    "441d891dec1117afed02ebb5c2cb30cc96d25d5a985dab61743f432a34b5ed62",
];
const ORIGIN: &str = "taskledger.example/log";
/// A seed everybody knows, for the example only.
const EXAMPLE_SEED: [u8; 32] = *b"taskledger worked example seed!!";
/// 2024-04-15T02:31:08Z, a second after event 2 was recorded.
const EXAMPLE_TIME: u64 = 1_713_148_268;

/// Every value the document's worked example shows, as the document shows it.
fn worked_example() -> Vec<(&'static str, String)> {
    let leaf_hashes: Vec<_> = EVENT_HASHES.iter().map(|hash| leaf_hash_for_event_hash(hash).unwrap()).collect();
    let tree = Tree::from_leaf_hashes(leaf_hashes.iter().copied());
    let root1 = tree.root_at(1).unwrap();
    let root2 = tree.root();
    let inclusion_of_event_1 = tree.inclusion_proof(0, 2).unwrap();
    let consistency_1_to_2 = tree.consistency_proof(1, 2).unwrap();
    assert_eq!(verify_inclusion(&leaf_hashes[0], 0, 2, &inclusion_of_event_1, &root2), Ok(()));
    assert_eq!(verify_consistency(1, 2, &root1, &root2, &consistency_1_to_2), Ok(()));

    let key = SigningKey::from_seed(ORIGIN, EXAMPLE_SEED).unwrap();
    let checkpoint = Checkpoint::new(ORIGIN, 2, root2).unwrap().with_time(EXAMPLE_TIME);
    let note = sign(&checkpoint, &key);
    assert_eq!(open(&note, &key.verifier_key()), Ok(checkpoint));

    let hex_list = |hashes: &[[u8; 32]]| hashes.iter().map(hex::encode).collect::<Vec<_>>().join("\n");
    vec![
        ("leaf hash of event 1", hex::encode(leaf_hashes[0])),
        ("leaf hash of event 2", hex::encode(leaf_hashes[1])),
        ("root at size 1", format!("root(1) = {}", hex::encode(root1))),
        ("root at size 2", format!("root(2) = {}", hex::encode(root2))),
        ("inclusion proof of event 1 in size 2", format!("[\n  \"{}\"\n]", hex_list(&inclusion_of_event_1))),
        ("consistency proof from 1 to 2", format!("[\n  \"{}\"\n]", hex_list(&consistency_1_to_2))),
        ("signing key text", key.to_text()),
        ("verifier key text", key.verifier_key().to_text()),
        ("key id", format!("{:08x}", key.key_id())),
        ("signed note", format!("```text\n{note}```")),
    ]
}

#[test]
fn the_spec_quotes_the_worked_example() {
    let missing: Vec<String> = worked_example()
        .into_iter()
        .filter(|(_, quoted)| !SPEC.contains(quoted.as_str()))
        .map(|(what, quoted)| format!("the {what}:\n{quoted}"))
        .collect();
    assert!(missing.is_empty(), "docs/transparency-log.md does not quote\n{}", missing.join("\n\n"));
}

#[test]
fn the_spec_quotes_the_reference_vectors() {
    for (size, root) in REFERENCE_ROOTS.iter().enumerate() {
        assert!(SPEC.contains(&format!("| {size} | `{root}` |")), "root at size {size}");
    }
    for (index, size, proof) in REFERENCE_INCLUSION_PROOFS {
        let row = format!("| {index} | {size} | {} |", quoted_list(proof));
        assert!(SPEC.contains(&row), "inclusion proof row:\n{row}");
    }
    for (old_size, new_size, proof) in REFERENCE_CONSISTENCY_PROOFS {
        let row = format!("| {old_size} | {new_size} | {} |", quoted_list(proof));
        assert!(SPEC.contains(&row), "consistency proof row:\n{row}");
    }
}

fn quoted_list(hashes: &[&str]) -> String {
    if hashes.is_empty() {
        return "(empty)".to_owned();
    }
    hashes.iter().map(|hash| format!("`{hash}`")).collect::<Vec<_>>().join("<br>")
}
