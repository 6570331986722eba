//! Each verification rule, broken once.

use std::collections::{HashMap, HashSet};

use serde_json::json;
use time::macros::datetime;
use time::Duration;
use uuid::Uuid;

use super::*;
use crate::batch::{plan_batch, PreparedRequest, StoredState};
use crate::canonical::{canonical_bytes, chain_hash};
use crate::{Actor, AppendRequest, ExpectedVersion, NewEvent, StreamAppend};

/// A valid log of `n_events` events over streams `s-0`, `s-1` and `s-2`, one second apart.
fn valid_log(n_events: usize) -> Vec<RecordedEvent> {
    let mut events = Vec::new();
    let mut head = LogHead { position: 0, hash: GENESIS_HASH.to_owned() };
    let mut stream_versions = HashMap::new();
    for index in 0..n_events {
        let stream_id = StreamId(format!("s-{}", index % 3));
        let request = AppendRequest {
            command_id: Uuid::now_v7(),
            correlation_id: Uuid::now_v7(),
            causation_id: None,
            actor: Actor { id: "u".to_owned(), name: "n".to_owned(), unit: "u".to_owned(), role: "r".to_owned() },
            idempotency: None,
            subject_id: String::new(),
            subject_stream: stream_id.clone(),
            streams: vec![StreamAppend {
                stream_id: stream_id.clone(),
                expected_version: ExpectedVersion::Any,
                events: vec![NewEvent {
                    event_id: Uuid::now_v7(),
                    event_type: "Noted".to_owned(),
                    schema_version: 1,
                    effective_date: None,
                    payload: json!({"index": index}),
                }],
            }],
        };
        let state = StoredState {
            head: head.clone(),
            head_recorded_at: None,
            now: datetime!(2024-04-15 00:00 UTC) + Duration::seconds(index as i64),
            stream_versions: stream_versions.clone(),
            idempotency_records: HashMap::new(),
            existing_event_ids: HashSet::new(),
        };
        let plan = plan_batch(&[PreparedRequest::new(request).expect("valid")], state).expect("plan");
        events.extend(plan.recorded_events().expect("payloads"));
        stream_versions.insert(stream_id, plan.events[0].stream_version);
        head = plan.head;
    }
    events
}

/// Recomputes every hash after an edit, as a forger who rewrites the whole chain would.
fn rechain(events: &mut [RecordedEvent]) {
    let mut prev_hash = GENESIS_HASH.to_owned();
    for event in events {
        event.prev_hash = prev_hash;
        event.hash = chain_hash(&event.prev_hash, &canonical_bytes(event));
        prev_hash = event.hash.clone();
    }
}

fn first_failure(events: Vec<RecordedEvent>) -> VerifyError {
    verify_events(events).expect_err("verification must fail")
}

#[test]
fn a_valid_log_verifies() {
    let events = valid_log(7);
    let report = verify_events(events.clone()).expect("valid");
    assert_eq!(
        report,
        VerifyReport { n_events: 7, n_streams: 3, head: LogHead { position: 7, hash: events[6].hash.clone() } }
    );
    let empty = verify_events(Vec::new()).expect("an empty log is valid");
    assert_eq!(empty.head, LogHead { position: 0, hash: GENESIS_HASH.to_owned() });
}

#[test]
fn a_changed_payload_breaks_its_own_hash() {
    let mut events = valid_log(5);
    events[2].payload = json!({"index": 99});
    let error = first_failure(events);
    assert_eq!(error.position, 3);
    assert!(matches!(error.problem, VerifyProblem::HashMismatch { .. }), "{error}");
}

#[test]
fn a_rewritten_hash_breaks_the_next_link() {
    let mut events = valid_log(5);
    events[2].payload = json!({"index": 99});
    events[2].hash = chain_hash(&events[2].prev_hash, &canonical_bytes(&events[2]));
    let error = first_failure(events.clone());
    let problem =
        VerifyProblem::PrevHashMismatch { expected: events[2].hash.clone(), found: events[3].prev_hash.clone() };
    assert_eq!(error, VerifyError { position: 4, problem });
}

#[test]
fn a_wrong_genesis_is_caught() {
    let mut events = valid_log(2);
    events[0].prev_hash = "1".repeat(64);
    assert!(matches!(
        first_failure(events),
        VerifyError { position: 1, problem: VerifyProblem::PrevHashMismatch { .. } }
    ));
}

#[test]
fn missing_and_repeated_positions_are_caught() {
    let mut events = valid_log(5);
    events.remove(2);
    assert_eq!(first_failure(events), VerifyError { position: 4, problem: VerifyProblem::PositionGap { expected: 3 } });

    let mut events = valid_log(5);
    let repeated = events[1].clone();
    events.insert(2, repeated);
    assert_eq!(first_failure(events), VerifyError { position: 2, problem: VerifyProblem::PositionGap { expected: 3 } });
}

#[test]
fn a_stream_version_gap_is_caught_even_with_a_consistent_chain() {
    let mut events = valid_log(6);
    events[4].stream_version = 3;
    rechain(&mut events);
    let problem = VerifyProblem::StreamVersionGap { stream_id: StreamId("s-1".to_owned()), expected: 2, found: 3 };
    assert_eq!(first_failure(events), VerifyError { position: 5, problem });
}

#[test]
fn recorded_at_going_back_is_caught() {
    let mut events = valid_log(4);
    events[3].recorded_at = events[1].recorded_at;
    rechain(&mut events);
    let problem = VerifyProblem::RecordedAtDecreasing {
        previous: "2024-04-15T00:00:02.000000Z".to_owned(),
        found: "2024-04-15T00:00:01.000000Z".to_owned(),
    };
    assert_eq!(first_failure(events), VerifyError { position: 4, problem });
}

#[test]
fn the_streaming_verifier_stops_at_the_first_failure() {
    let mut events = valid_log(4);
    events[1].event_type = "Forged".to_owned();
    let mut verifier = ChainVerifier::new();
    verifier.push(&events[0]).expect("first event is fine");
    let error = verifier.push(&events[1]).expect_err("second is forged");
    assert_eq!(error.position, 2);
    assert_eq!(verifier.finish().n_events, 1);
}
