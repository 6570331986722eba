//! Contract tests of tamper evidence: an intruder with write access to the database changes a byte, deletes,
//! swaps, forges, rolls back or rewrites events ([`Fixture::run_as_intruder`]), and the verifier names the position.
//! The checkpoint storage of the store is tested here too, since checkpoints are what catch a rolled-back or
//! rewritten tail. Listed in [`crate::event_store_contract_suite!`] like the tests of [`super::suite`].

use std::sync::Arc;

use serde_json::json;
use transparency::checkpoint::{sign, Checkpoint, CheckpointError, SigningKey};
use transparency::merkle::{leaf_hash_for_event_hash, Tree};

use super::{new_event, request_of, Fixture};
use crate::canonical::{canonical_bytes, canonical_json, chain_hash};
use crate::verify::{
    verify_store, verify_store_with_checkpoints, CheckpointProblem, CheckpointRejected, VerifyError, VerifyProblem,
    VerifyStoreError,
};
use crate::{EventStore, ExpectedVersion, PositionHash, StoredCheckpoint, StreamAppend, StreamId};

/// The log key of these tests, from a fixed seed.
pub fn test_log_key() -> SigningKey {
    SigningKey::from_seed("test.taskledger.example/log", [7; 32]).expect("a valid key name")
}

/// Ten events in three streams, each with `"achieved":25`.
async fn ten_events(store: &dyn EventStore) {
    for index in 0..10 {
        let request = request_of(vec![StreamAppend {
            stream_id: StreamId(format!("task-{}", index % 3)),
            expected_version: ExpectedVersion::Any,
            events: vec![new_event("ProgressReported", json!({"achieved": 25, "index": index}))],
        }]);
        store.append(request).await.expect("append");
    }
}

/// Signs and stores checkpoints of the log at each of `sizes`, as the service does.
async fn checkpoint_at(store: &dyn EventStore, key: &SigningKey, sizes: &[u64]) {
    let hashes = store.read_hashes(0, usize::MAX).await.expect("read hashes");
    let tree = Tree::from_leaf_hashes(hashes.iter().map(|row| leaf_hash_for_event_hash(&row.hash).expect("hex")));
    for &size in sizes {
        let checkpoint = Checkpoint::new(key.name(), size, tree.root_at(size).expect("size within the log"))
            .expect("a valid checkpoint")
            .with_time(1_713_148_268);
        let stored = StoredCheckpoint { tree_size: size, note: sign(&checkpoint, key) };
        assert!(store.put_checkpoint(&stored).await.expect("store the checkpoint"));
    }
}

async fn verify_with_key(store: &dyn EventStore) -> Result<crate::verify::CheckpointedReport, VerifyStoreError> {
    verify_store_with_checkpoints(store, 3, &test_log_key().verifier_key()).await
}

fn expect_chain_error(outcome: Result<impl std::fmt::Debug, VerifyStoreError>, position: u64) -> VerifyProblem {
    match outcome {
        Err(VerifyStoreError::Chain(VerifyError { position: found, problem })) if found == position => problem,
        other => panic!("expected a verification failure at position {position}, got {other:?}"),
    }
}

fn statements(statements: &[&str]) -> Vec<String> {
    statements.iter().map(|statement| (*statement).to_owned()).collect()
}

pub async fn checkpoints_are_kept_once_per_size(fixture: Arc<dyn Fixture>) {
    let store = fixture.store();
    assert_eq!(store.latest_checkpoint().await.expect("latest"), None);
    let first = |size: u64| StoredCheckpoint { tree_size: size, note: format!("note {size}\n") };
    for size in [1, 4, 2] {
        assert!(store.put_checkpoint(&first(size)).await.expect("put"), "size {size} is new");
    }
    let again = StoredCheckpoint { tree_size: 4, note: "another note\n".to_owned() };
    assert!(!store.put_checkpoint(&again).await.expect("put again"), "the first note of a size is kept");
    assert_eq!(store.latest_checkpoint().await.expect("latest"), Some(first(4)));
    assert_eq!(store.checkpoints(1, 10).await.expect("list"), vec![first(2), first(4)]);
    assert_eq!(store.checkpoints(2, 1).await.expect("page"), vec![first(4)]);
    let everything = crate::verify::all_checkpoints(&*store).await.expect("all");
    assert_eq!(everything, vec![first(1), first(2), first(4)]);
    let empty_tree = StoredCheckpoint { tree_size: 0, note: "note 0\n".to_owned() };
    assert!(store.put_checkpoint(&empty_tree).await.is_err(), "a checkpoint covers at least one event");
}

pub async fn hashes_and_event_positions_are_read_back(fixture: Arc<dyn Fixture>) {
    let store = fixture.store();
    ten_events(&*store).await;
    let events = store.read_all(0, 100).await.expect("read");
    let hashes = store.read_hashes(3, 4).await.expect("read hashes");
    let expected: Vec<_> = events[3..7]
        .iter()
        .map(|event| PositionHash { global_position: event.global_position, hash: event.hash.clone() })
        .collect();
    assert_eq!(hashes, expected);
    assert_eq!(store.position_of_event(events[8].event_id).await.expect("find"), Some(9));
    assert_eq!(store.position_of_event(uuid::Uuid::now_v7()).await.expect("find"), None);

    // The stored text of each payload is its canonical text, the bytes the hash covers.
    let stored = store.read_all_stored(2, 5).await.expect("read stored text");
    let expected: Vec<_> =
        events[2..7].iter().map(|event| event.clone().map_payload(|payload| canonical_json(&payload))).collect();
    assert_eq!(stored, expected);
}

pub async fn changed_byte_is_detected_at_its_position(fixture: Arc<dyn Fixture>) {
    let store = fixture.store();
    ten_events(&*store).await;
    checkpoint_at(&*store, &test_log_key(), &[4, 10]).await;
    let report = verify_with_key(&*store).await.expect("the untouched log verifies");
    assert_eq!((report.chain.n_events, report.n_checkpoints, report.latest_checkpoint_size), (10, 2, Some(10)));

    fixture.replace_in_stored_payload(6, r#""achieved":25"#, r#""achieved":35"#).await;
    let problem = expect_chain_error(verify_with_key(&*store).await, 6);
    assert!(matches!(problem, VerifyProblem::HashMismatch { .. }), "{problem:?}");
}

/// The stored text is what the hash covers, byte for byte: the same JSON spelt otherwise (a space after a colon) is
/// a change too.
pub async fn respelt_payload_is_detected_at_its_position(fixture: Arc<dyn Fixture>) {
    let store = fixture.store();
    ten_events(&*store).await;
    verify_with_key(&*store).await.expect("the untouched log verifies");

    fixture.replace_in_stored_payload(7, r#""achieved":"#, r#""achieved": "#).await;
    let problem = expect_chain_error(verify_with_key(&*store).await, 7);
    assert!(matches!(problem, VerifyProblem::HashMismatch { .. }), "{problem:?}");
}

pub async fn deleted_event_is_detected_at_its_position(fixture: Arc<dyn Fixture>) {
    let store = fixture.store();
    ten_events(&*store).await;
    fixture.run_as_intruder(&statements(&["DELETE FROM events WHERE global_position = 5"])).await;
    // The event that now follows position 4 is the one at 6: position 5 is named as missing.
    let problem = expect_chain_error(verify_store(&*store, 3).await, 6);
    assert_eq!(problem, VerifyProblem::PositionGap { expected: 5 });
}

pub async fn swapped_events_are_detected_at_the_first(fixture: Arc<dyn Fixture>) {
    let store = fixture.store();
    ten_events(&*store).await;
    fixture
        .run_as_intruder(&statements(&[
            "UPDATE events SET global_position = 1000000 WHERE global_position = 4",
            "UPDATE events SET global_position = 4 WHERE global_position = 7",
            "UPDATE events SET global_position = 7 WHERE global_position = 1000000",
        ]))
        .await;
    let problem = expect_chain_error(verify_store(&*store, 3).await, 4);
    assert!(matches!(problem, VerifyProblem::PositionGap { .. } | VerifyProblem::PrevHashMismatch { .. }));
}

pub async fn forged_event_is_detected_at_its_position(fixture: Arc<dyn Fixture>) {
    let store = fixture.store();
    ten_events(&*store).await;
    // A copy of event 5 with another payload and id (its command id, which is a UUID no event has), slipped in at
    // position 6; the later events move up by one and the head with them.
    fixture
        .run_as_intruder(&statements(&[
            "UPDATE events SET global_position = global_position + 1000000 WHERE global_position > 5",
            "INSERT INTO events (global_position, event_id, stream_id, stream_version, event_type, schema_version, \
             effective_date, recorded_at, actor_id, actor_name, actor_unit, actor_role, command_id, correlation_id, \
             causation_id, payload, prev_hash, hash) \
             SELECT 6, command_id, 'forged-stream', 1, event_type, schema_version, effective_date, recorded_at, \
             actor_id, actor_name, actor_unit, actor_role, command_id, correlation_id, causation_id, \
             replace(payload, '25', '99'), prev_hash, hash FROM events WHERE global_position = 5",
            "UPDATE events SET global_position = global_position - 999999 WHERE global_position > 1000000",
            "UPDATE log_head SET position = position + 1 WHERE id = 1",
        ]))
        .await;
    assert_eq!(store.head().await.expect("head").position, 11, "the forgery took");
    let problem = expect_chain_error(verify_store(&*store, 3).await, 6);
    assert!(matches!(problem, VerifyProblem::PrevHashMismatch { .. }), "{problem:?}");
}

pub async fn rolled_back_tail_is_detected_by_a_checkpoint(fixture: Arc<dyn Fixture>) {
    let store = fixture.store();
    ten_events(&*store).await;
    checkpoint_at(&*store, &test_log_key(), &[4, 10]).await;
    // The last three events go, and the head is moved back onto event 7: the chain alone is whole again.
    fixture
        .run_as_intruder(&statements(&[
            "DELETE FROM events WHERE global_position > 7",
            "UPDATE log_head SET position = 7, hash = (SELECT hash FROM events WHERE global_position = 7) WHERE id = 1",
        ]))
        .await;
    assert_eq!(verify_store(&*store, 3).await.expect("the shortened chain is whole").n_events, 7);
    let problem = expect_chain_error(verify_with_key(&*store).await, 8);
    assert_eq!(problem, VerifyProblem::ShorterThanCheckpoint { log_size: 7, tree_size: 10 });
}

pub async fn rewritten_tail_is_detected_by_a_checkpoint(fixture: Arc<dyn Fixture>) {
    let store = fixture.store();
    ten_events(&*store).await;
    checkpoint_at(&*store, &test_log_key(), &[4, 10]).await;
    // A careful intruder changes event 6 and recomputes every hash from there on, and the head's.
    let mut events = store.read_all(0, 100).await.expect("read");
    events[5].payload["achieved"] = json!(35);
    let mut updates = Vec::new();
    for index in 5..events.len() {
        let prev_hash = events[index - 1].hash.clone();
        let event = &mut events[index];
        event.prev_hash = prev_hash;
        event.hash = chain_hash(&event.prev_hash, &canonical_bytes(event));
        let payload = serde_json_canonicalizer::to_string(&event.payload).expect("canonical payload");
        updates.push(format!(
            "UPDATE events SET payload = '{payload}', prev_hash = '{}', hash = '{}' WHERE global_position = {}",
            event.prev_hash, event.hash, event.global_position
        ));
    }
    updates.push(format!("UPDATE log_head SET hash = '{}' WHERE id = 1", events[9].hash));
    fixture.run_as_intruder(&updates).await;

    assert_eq!(verify_store(&*store, 3).await.expect("the rewritten chain is whole").head.hash, events[9].hash);
    let problem = expect_chain_error(verify_with_key(&*store).await, 5);
    assert_eq!(problem, VerifyProblem::CheckpointRootMismatch { tree_size: 10, matched_size: 4 });
}

pub async fn checkpoint_signed_by_another_key_is_rejected(fixture: Arc<dyn Fixture>) {
    let store = fixture.store();
    ten_events(&*store).await;
    let intruder_key = SigningKey::from_seed(test_log_key().name(), [8; 32]).expect("a valid key name");
    checkpoint_at(&*store, &intruder_key, &[10]).await;
    match verify_with_key(&*store).await {
        Err(VerifyStoreError::Checkpoint(CheckpointRejected {
            tree_size: 10,
            problem: CheckpointProblem::Note(CheckpointError::UnknownKey { .. }),
        })) => {}
        other => panic!("expected the checkpoint to be rejected, got {other:?}"),
    }
}
