//! The in-memory decisions of a batch, without a database.

use std::collections::{HashMap, HashSet};

use serde_json::json;
use time::macros::datetime;
use uuid::Uuid;

use super::*;
use crate::canonical::GENESIS_HASH;
use crate::{Actor, NewEvent, StreamAppend};

fn event() -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        event_type: "Noted".to_owned(),
        schema_version: 1,
        effective_date: None,
        payload: json!({}),
    }
}

fn request(stream_id: &str, expected_version: ExpectedVersion, n_events: usize) -> AppendRequest {
    AppendRequest {
        command_id: Uuid::now_v7(),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        actor: Actor { id: "u".to_owned(), name: "n".to_owned(), unit: "SKHCN".to_owned(), role: "staff".to_owned() },
        idempotency: None,
        subject_id: stream_id.to_owned(),
        subject_stream: StreamId(stream_id.to_owned()),
        streams: vec![StreamAppend {
            stream_id: StreamId(stream_id.to_owned()),
            expected_version,
            events: (0..n_events).map(|_| event()).collect(),
        }],
    }
}

fn keyed(request: AppendRequest, key: Uuid, fingerprint: &str) -> AppendRequest {
    AppendRequest { idempotency: Some(Idempotency { key, fingerprint: fingerprint.to_owned() }), ..request }
}

fn prepare(batch: impl IntoIterator<Item = AppendRequest>) -> Vec<PreparedRequest> {
    batch.into_iter().map(|request| PreparedRequest::new(request).expect("a valid request")).collect()
}

fn plan(batch: Vec<AppendRequest>, state: StoredState) -> Result<BatchPlan, StoreError> {
    plan_batch(&prepare(batch), state)
}

fn empty_state() -> StoredState {
    StoredState {
        head: LogHead { position: 0, hash: GENESIS_HASH.to_owned() },
        head_recorded_at: None,
        now: datetime!(2024-04-15 02:30:00.123456789 UTC),
        stream_versions: HashMap::new(),
        idempotency_records: HashMap::new(),
        existing_event_ids: HashSet::new(),
    }
}

#[test]
fn lookups_name_every_stream_key_and_event_once() {
    let key = Uuid::now_v7();
    let mut with_subject = request("b", ExpectedVersion::Any, 1);
    with_subject.subject_stream = StreamId("subject".to_owned());
    let batch = [
        keyed(request("a", ExpectedVersion::Any, 2), key, "f"),
        keyed(with_subject, key, "f"),
        request("a", ExpectedVersion::Any, 1),
    ];
    let lookups = BatchLookups::of(&prepare(batch));
    let names: Vec<_> = lookups.stream_ids.iter().map(StreamId::as_str).collect();
    assert_eq!(names, ["a", "b", "subject"]);
    assert_eq!(lookups.idempotency_keys, [key]);
    assert_eq!(lookups.event_ids.len(), 4);

    let invalid = request("a\0b", ExpectedVersion::Any, 1);
    assert!(
        matches!(PreparedRequest::new(invalid), Err(AppendError::InvalidStreamId { .. })),
        "an invalid request never reaches a batch, so it is never looked up"
    );
}

#[test]
fn accepted_requests_get_contiguous_positions_versions_and_a_chain() {
    let mut state = empty_state();
    state.stream_versions.insert(StreamId("a".to_owned()), 3);
    state.head = LogHead { position: 10, hash: "ab".repeat(32) };
    let plan =
        plan(vec![request("a", ExpectedVersion::Exact(3), 2), request("b", ExpectedVersion::NoStream, 1)], state)
            .expect("plan");

    let outcomes: Vec<_> = plan.replies.iter().map(|reply| reply.clone().expect("accepted")).collect();
    assert_eq!((outcomes[0].first_position, outcomes[0].last_position, outcomes[0].subject_version), (11, 12, 5));
    assert_eq!((outcomes[1].first_position, outcomes[1].last_position, outcomes[1].subject_version), (13, 13, 1));
    let layout: Vec<_> =
        plan.events.iter().map(|e| (e.global_position, e.stream_id.as_str(), e.stream_version)).collect();
    assert_eq!(layout, [(11, "a", 4), (12, "a", 5), (13, "b", 1)]);
    assert_eq!(plan.events[0].prev_hash, "ab".repeat(32));
    for pair in plan.events.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
    assert_eq!(plan.head, LogHead { position: 13, hash: plan.events[2].hash.clone() });
    assert_eq!(plan.recorded_at, datetime!(2024-04-15 02:30:00.123456 UTC), "truncated to microseconds");
    assert!(plan.events.iter().all(|event| event.recorded_at == plan.recorded_at));
}

#[test]
fn a_conflicting_request_fails_alone_against_what_earlier_requests_wrote() {
    let plan = plan(
        vec![
            request("a", ExpectedVersion::NoStream, 2),
            request("a", ExpectedVersion::NoStream, 1),
            request("a", ExpectedVersion::Exact(2), 1),
        ],
        empty_state(),
    )
    .expect("plan");
    assert!(plan.replies[0].is_ok());
    assert_eq!(
        plan.replies[1],
        Err(AppendError::WrongExpectedVersion {
            stream_id: StreamId("a".to_owned()),
            expected: ExpectedVersion::NoStream,
            actual: 2
        })
    );
    let third = plan.replies[2].clone().expect("the third request continues the first");
    assert_eq!((third.first_position, third.subject_version), (3, 3));
    assert_eq!(plan.events.len(), 3);
    crate::verify::verify_events(plan.recorded_events().expect("payloads")).expect("the planned log verifies");
}

#[test]
fn a_multi_stream_request_is_all_or_nothing() {
    let mut both = request("a", ExpectedVersion::NoStream, 1);
    both.streams.push(StreamAppend {
        stream_id: StreamId("b".to_owned()),
        expected_version: ExpectedVersion::Exact(4),
        events: vec![event()],
    });
    let plan = plan(vec![both, request("a", ExpectedVersion::NoStream, 1)], empty_state()).expect("plan");
    assert!(matches!(plan.replies[0], Err(AppendError::WrongExpectedVersion { actual: 0, .. })));
    assert!(plan.replies[1].is_ok(), "the failed request left stream a untouched");
    assert_eq!(plan.events.len(), 1);
}

#[test]
fn a_stream_named_twice_in_a_request_is_checked_in_order() {
    let mut twice = request("a", ExpectedVersion::NoStream, 2);
    twice.streams.push(StreamAppend {
        stream_id: StreamId("a".to_owned()),
        expected_version: ExpectedVersion::Exact(2),
        events: vec![event()],
    });
    let plan = plan(vec![twice], empty_state()).expect("plan");
    assert_eq!(plan.replies[0].clone().expect("accepted").subject_version, 3);
    let versions: Vec<_> = plan.events.iter().map(|e| e.stream_version).collect();
    assert_eq!(versions, [1, 2, 3]);
}

#[test]
fn idempotency_keys_replay_inside_the_batch_and_from_the_store() {
    let (fresh_key, stored_key) = (Uuid::now_v7(), Uuid::now_v7());
    let stored_outcome = AppendOutcome {
        subject_id: "x".to_owned(),
        subject_version: 7,
        first_position: 1,
        last_position: 2,
        recorded_at: datetime!(2024-01-01 00:00 UTC),
        replayed: false,
    };
    let mut state = empty_state();
    state.head = LogHead { position: 2, hash: "cd".repeat(32) };
    let stored_record = IdempotencyRecord { fingerprint: "old".to_owned(), outcome: stored_outcome.clone() };
    state.idempotency_records.insert(stored_key, stored_record);

    let plan = plan(
        vec![
            keyed(request("a", ExpectedVersion::Any, 1), fresh_key, "f"),
            keyed(request("a", ExpectedVersion::Any, 1), fresh_key, "f"),
            keyed(request("a", ExpectedVersion::Any, 1), fresh_key, "other"),
            keyed(request("b", ExpectedVersion::Any, 1), stored_key, "old"),
            keyed(request("b", ExpectedVersion::Any, 1), stored_key, "new"),
        ],
        state,
    )
    .expect("plan");
    let first = plan.replies[0].clone().expect("the first use of the key appends");
    assert!(!first.replayed);
    assert_eq!(plan.replies[1], Ok(AppendOutcome { replayed: true, ..first.clone() }));
    assert_eq!(plan.replies[2], Err(AppendError::IdempotencyKeyReused { key: fresh_key }));
    assert_eq!(plan.replies[3], Ok(AppendOutcome { replayed: true, ..stored_outcome }));
    assert_eq!(plan.replies[4], Err(AppendError::IdempotencyKeyReused { key: stored_key }));
    assert_eq!(plan.events.len(), 1);
    let record = IdempotencyRecord { fingerprint: "f".to_owned(), outcome: first };
    assert_eq!(plan.idempotency_records, [NewIdempotencyRecord { key: fresh_key, record }]);
}

#[test]
fn a_failed_request_does_not_claim_its_idempotency_key() {
    let key = Uuid::now_v7();
    let plan = plan(
        vec![
            keyed(request("a", ExpectedVersion::Exact(9), 1), key, "f"),
            keyed(request("a", ExpectedVersion::Any, 1), key, "g"),
        ],
        empty_state(),
    )
    .expect("plan");
    assert!(plan.replies[0].is_err());
    assert!(plan.replies[1].is_ok(), "the key is free again after a failed request");
}

#[test]
fn event_ids_are_unique_across_the_store_and_the_batch() {
    let mut state = empty_state();
    let stored = request("a", ExpectedVersion::Any, 1);
    let stored_id = stored.streams[0].events[0].event_id;
    state.existing_event_ids.insert(stored_id);
    let first = request("b", ExpectedVersion::Any, 1);
    let mut reuses_batch_id = request("c", ExpectedVersion::Any, 1);
    reuses_batch_id.streams[0].events[0].event_id = first.streams[0].events[0].event_id;

    let plan = plan(vec![stored, first.clone(), reuses_batch_id], state).expect("plan");
    assert_eq!(plan.replies[0], Err(AppendError::DuplicateEventId { event_id: stored_id }));
    assert!(plan.replies[1].is_ok());
    let event_id = first.streams[0].events[0].event_id;
    assert_eq!(plan.replies[2], Err(AppendError::DuplicateEventId { event_id }));
}

#[test]
fn recorded_at_never_goes_back_before_the_head() {
    let mut state = empty_state();
    state.head_recorded_at = Some(datetime!(2024-04-15 02:30:01 UTC));
    let plan = plan(vec![request("a", ExpectedVersion::Any, 1)], state).expect("plan");
    assert_eq!(plan.recorded_at, datetime!(2024-04-15 02:30:01 UTC));
}

#[test]
fn a_malformed_head_hash_is_reported_as_corruption() {
    let mut state = empty_state();
    state.head = LogHead { position: 4, hash: "not a hash".to_owned() };
    let error = plan(vec![request("a", ExpectedVersion::Any, 1)], state).expect_err("corrupt head");
    assert!(matches!(error, StoreError::Corrupt { position: 4, .. }), "{error:?}");
}

#[test]
fn a_batch_with_nothing_accepted_writes_nothing() {
    let plan = plan(
        vec![request("a", ExpectedVersion::Exact(1), 1), request("b", ExpectedVersion::Exact(2), 1)],
        empty_state(),
    )
    .expect("plan");
    assert!(!plan.writes_anything());
    let stream_id = StreamId("b".to_owned());
    assert_eq!(
        plan.replies[1],
        Err(AppendError::WrongExpectedVersion { stream_id, expected: ExpectedVersion::Exact(2), actual: 0 })
    );
    assert_eq!(plan.head.position, 0);
    let invalid = PreparedRequest::new(request("", ExpectedVersion::Any, 1));
    assert_eq!(invalid.map(|_| ()), Err(AppendError::InvalidStreamId { stream_id: StreamId(String::new()) }));
}

#[test]
fn a_prepared_request_carries_its_payloads_as_canonical_text_only() {
    let mut noted = request("a", ExpectedVersion::Any, 2);
    noted.streams[0].events[0].payload = json!({"b": [1.0, "ả"], "a": null});
    let prepared = PreparedRequest::new(noted).expect("valid");
    let texts: Vec<&str> = prepared.canonical_payloads().iter().map(|text| &**text).collect();
    assert_eq!(texts, [r#"{"a":null,"b":[1,"ả"]}"#, "{}"]);
    assert_eq!(prepared.n_events(), 2);
    let payloads: Vec<_> = prepared.request().streams[0].events.iter().map(|event| &event.payload).collect();
    assert_eq!(payloads, [&Value::Null, &Value::Null], "the values are dropped once their text is made");

    let plan = plan_batch(&[prepared], empty_state()).expect("plan");
    assert_eq!(&*plan.canonical_payloads[0], r#"{"a":null,"b":[1,"ả"]}"#);
    let recorded = plan.recorded_events().expect("payloads");
    assert_eq!(recorded[0].payload, json!({"a": null, "b": [1, "ả"]}));
    crate::verify::verify_events(recorded).expect("the hashes cover the canonical text");
}

#[test]
fn a_kept_outcome_reads_back_as_it_was() {
    let outcome = AppendOutcome {
        subject_id: "t-1".to_owned(),
        subject_version: 4,
        first_position: 9,
        last_position: 10,
        recorded_at: datetime!(2024-04-15 10:00:00.123456 UTC),
        replayed: false,
    };
    let record = IdempotencyRecord { fingerprint: "f".to_owned(), outcome: outcome.clone() };
    let text = record.outcome_json().expect("an outcome serialises");
    assert_eq!(serde_json::from_str::<AppendOutcome>(&text).expect("and reads back"), outcome);
}
