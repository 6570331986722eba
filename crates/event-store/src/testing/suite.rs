//! The contract tests themselves. Each takes a fresh, empty store's [`Fixture`]; the list in
//! [`crate::event_store_contract_suite!`] names every one of them, so a function added here must be added there.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use time::macros::date;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{new_event, request_of, request_to, test_actor, with_idempotency, Fixture};
use crate::canonical::{canonical_bytes, chain_hash, GENESIS_HASH};
use crate::verify::{verify_events, verify_store, VerifyError, VerifyProblem, VerifyStoreError};
use crate::{
    AppendError, AppendOutcome, AppendRequest, EventStore, ExpectedVersion, Idempotency, LogHead, NewEvent,
    RecordedEvent, StreamAppend, StreamId,
};

fn stream(name: &str) -> StreamId {
    StreamId(name.to_owned())
}

async fn append_ok(store: &dyn EventStore, request: AppendRequest) -> AppendOutcome {
    match store.append(request).await {
        Ok(outcome) => outcome,
        Err(error) => panic!("append failed: {error}"),
    }
}

async fn all_events(store: &dyn EventStore) -> Vec<RecordedEvent> {
    store.read_all(0, usize::MAX).await.expect("read_all")
}

pub async fn append_and_read_back_with_provenance(fixture: Arc<dyn Fixture>) {
    let store = fixture.store();
    let causation_id = Uuid::now_v7();
    let events = vec![
        NewEvent {
            event_id: Uuid::now_v7(),
            event_type: "ProgressReported".to_owned(),
            schema_version: 3,
            effective_date: Some(date!(2024 - 04 - 15)),
            payload: json!({
                "summary": "Đã hỗ trợ 25/25 doanh nghiệp",
                "measures": [{"label": "doanh nghiệp", "achieved": 25, "target": 25, "ratio": 0.5}],
                "evidence": [],
                "note": null,
            }),
        },
        new_event("TaskCompleted", json!({"quoted": "a \"quoted\" \\ text\nwith a new line"})),
    ];
    let request = AppendRequest {
        causation_id: Some(causation_id),
        ..request_of(vec![StreamAppend {
            stream_id: stream("task-1"),
            expected_version: ExpectedVersion::NoStream,
            events: events.clone(),
        }])
    };
    let before = OffsetDateTime::now_utc();
    let outcome = append_ok(&*store, request.clone()).await;
    let after = OffsetDateTime::now_utc();

    assert_eq!(outcome.subject_id, "task-1");
    assert_eq!(outcome.subject_version, 2);
    assert_eq!((outcome.first_position, outcome.last_position), (1, 2));
    assert!(!outcome.replayed);
    assert_eq!(outcome.recorded_at.nanosecond() % 1_000, 0, "recorded_at is truncated to microseconds");
    let slack = Duration::from_secs(5);
    assert!(outcome.recorded_at >= before - slack && outcome.recorded_at <= after + slack, "recorded_at is now");

    let read = store.read_stream(&stream("task-1"), 0).await.expect("read_stream");
    assert_eq!(read, all_events(&*store).await, "the stream and the log hold the same two events");
    assert_eq!(read.len(), 2);
    let mut prev_hash = GENESIS_HASH.to_owned();
    for (index, (recorded, sent)) in read.iter().zip(&events).enumerate() {
        let position = index as u64 + 1;
        assert_eq!(recorded.global_position, position);
        assert_eq!(recorded.event_id, sent.event_id);
        assert_eq!(recorded.stream_id, stream("task-1"));
        assert_eq!(recorded.stream_version, position);
        assert_eq!(recorded.event_type, sent.event_type);
        assert_eq!(recorded.schema_version, sent.schema_version);
        assert_eq!(recorded.effective_date, sent.effective_date);
        assert_eq!(recorded.recorded_at, outcome.recorded_at);
        assert_eq!(recorded.recorded_at.offset(), time::UtcOffset::UTC);
        assert_eq!(recorded.actor, test_actor());
        assert_eq!(recorded.command_id, request.command_id);
        assert_eq!(recorded.correlation_id, request.correlation_id);
        assert_eq!(recorded.causation_id, Some(causation_id));
        assert_eq!(recorded.payload, sent.payload);
        assert_eq!(recorded.prev_hash, prev_hash);
        assert_eq!(recorded.hash, chain_hash(&prev_hash, &canonical_bytes(recorded)));
        prev_hash = recorded.hash.clone();
    }
}

pub async fn stream_versions_count_from_one(fixture: Arc<dyn Fixture>) {
    let store = fixture.store();
    append_ok(&*store, request_to("a", ExpectedVersion::Any, 1)).await;
    append_ok(&*store, request_to("b", ExpectedVersion::Any, 2)).await;
    let outcome = append_ok(&*store, request_to("a", ExpectedVersion::Any, 2)).await;
    assert_eq!(outcome.subject_version, 3);
    assert_eq!((outcome.first_position, outcome.last_position), (4, 5));
    append_ok(&*store, request_to("a", ExpectedVersion::Any, 1)).await;

    let versions = |events: Vec<RecordedEvent>| events.iter().map(|e| e.stream_version).collect::<Vec<_>>();
    let positions = |events: Vec<RecordedEvent>| events.iter().map(|e| e.global_position).collect::<Vec<_>>();
    assert_eq!(versions(store.read_stream(&stream("a"), 0).await.expect("read")), [1, 2, 3, 4]);
    assert_eq!(positions(store.read_stream(&stream("a"), 0).await.expect("read")), [1, 4, 5, 6]);
    assert_eq!(versions(store.read_stream(&stream("a"), 2).await.expect("read")), [3, 4]);
    assert_eq!(versions(store.read_stream(&stream("b"), 0).await.expect("read")), [1, 2]);
    assert!(store.read_stream(&stream("a"), 4).await.expect("read").is_empty());
    assert!(store.read_stream(&stream("unknown"), 0).await.expect("read").is_empty());
}

/// `read_stream_stored` reads what `read_stream` reads, each payload as the canonical text the hash covers.
pub async fn read_stream_stored_is_read_stream_with_the_payload_text(fixture: Arc<dyn Fixture>) {
    let store = fixture.store();
    append_ok(&*store, request_to("a", ExpectedVersion::Any, 2)).await;
    append_ok(&*store, request_to("b", ExpectedVersion::Any, 1)).await;
    let texts = request_of(vec![StreamAppend {
        stream_id: stream("a"),
        expected_version: ExpectedVersion::Any,
        events: vec![new_event(
            "Noted",
            json!({"z": "khảo sát \"25/25\"", "a": [1, 2.5, null], "m": {"y": 1, "x": 2}}),
        )],
    }]);
    append_ok(&*store, texts).await;

    for after_version in [0, 1, 3] {
        let decoded = store.read_stream(&stream("a"), after_version).await.expect("read_stream");
        let stored = store.read_stream_stored(&stream("a"), after_version).await.expect("read_stream_stored");
        assert_eq!(stored.len(), decoded.len());
        for (stored, decoded) in stored.iter().zip(&decoded) {
            assert_eq!(stored.payload, crate::canonical::canonical_json(&decoded.payload));
            let parsed: serde_json::Value = serde_json::from_str(&stored.payload).expect("the text is JSON");
            assert_eq!(stored.clone().map_payload(|_| parsed), decoded.clone());
        }
    }
    let last = store.read_stream_stored(&stream("a"), 2).await.expect("read_stream_stored");
    assert_eq!(last[0].payload, r#"{"a":[1,2.5,null],"m":{"x":2,"y":1},"z":"khảo sát \"25/25\""}"#);
    assert!(store.read_stream_stored(&stream("unknown"), 0).await.expect("read").is_empty());
}

/// `read_stream_stored_except` skips the events of the given types, but never the stream's last event.
pub async fn read_stream_stored_except_skips_types_but_keeps_the_last_event(fixture: Arc<dyn Fixture>) {
    let store = fixture.store();
    let typed = |event_type: &str| {
        request_of(vec![StreamAppend {
            stream_id: stream("a"),
            expected_version: ExpectedVersion::Any,
            events: vec![new_event(event_type, json!({ "type": event_type }))],
        }])
    };
    for event_type in ["Assigned", "Reported", "Corrected", "Suspended", "Reported", "Reported"] {
        append_ok(&*store, typed(event_type)).await;
    }
    append_ok(&*store, request_to("b", ExpectedVersion::Any, 1)).await;
    let read = |skipped: &'static [&'static str]| {
        let store = store.clone();
        async move {
            let events = store.read_stream_stored_except(&stream("a"), skipped).await.expect("read");
            events.iter().map(|event| (event.stream_version, event.event_type.clone())).collect::<Vec<_>>()
        }
    };
    let versions = |pairs: Vec<(u64, String)>| pairs.into_iter().map(|(version, _)| version).collect::<Vec<_>>();
    assert_eq!(versions(read(&["Reported", "Corrected"]).await), [1, 4, 6], "the last event is kept");
    assert_eq!(versions(read(&["Corrected"]).await), [1, 2, 4, 5, 6]);
    assert_eq!(versions(read(&[]).await), [1, 2, 3, 4, 5, 6]);
    assert_eq!(versions(read(&["Assigned", "Reported", "Corrected", "Suspended"]).await), [6]);
    let stored = store.read_stream_stored(&stream("a"), 0).await.expect("read");
    let except = store.read_stream_stored_except(&stream("a"), &["Corrected"]).await.expect("read");
    assert_eq!(except, stored.into_iter().filter(|event| event.event_type != "Corrected").collect::<Vec<_>>());
    assert!(store.read_stream_stored_except(&stream("unknown"), &["Reported"]).await.expect("read").is_empty());
}

pub async fn expected_version_no_stream(fixture: Arc<dyn Fixture>) {
    let store = fixture.store();
    let outcome = append_ok(&*store, request_to("a", ExpectedVersion::NoStream, 1)).await;
    assert_eq!(outcome.subject_version, 1);
    let error = store.append(request_to("a", ExpectedVersion::NoStream, 1)).await.expect_err("the stream exists");
    assert_eq!(
        error,
        AppendError::WrongExpectedVersion { stream_id: stream("a"), expected: ExpectedVersion::NoStream, actual: 1 }
    );
}

pub async fn expected_version_exact(fixture: Arc<dyn Fixture>) {
    let store = fixture.store();
    append_ok(&*store, request_to("a", ExpectedVersion::Exact(0), 2)).await;
    let outcome = append_ok(&*store, request_to("a", ExpectedVersion::Exact(2), 1)).await;
    assert_eq!(outcome.subject_version, 3);
    for stale in [0, 2, 4] {
        let error = store.append(request_to("a", ExpectedVersion::Exact(stale), 1)).await.expect_err("stale version");
        let expected = ExpectedVersion::Exact(stale);
        assert_eq!(error, AppendError::WrongExpectedVersion { stream_id: stream("a"), expected, actual: 3 });
    }
    let error = store.append(request_to("b", ExpectedVersion::Exact(1), 1)).await.expect_err("no such stream");
    let expected = ExpectedVersion::Exact(1);
    assert_eq!(error, AppendError::WrongExpectedVersion { stream_id: stream("b"), expected, actual: 0 });
}

pub async fn expected_version_any(fixture: Arc<dyn Fixture>) {
    let store = fixture.store();
    for version in 1..=3 {
        let outcome = append_ok(&*store, request_to("a", ExpectedVersion::Any, 1)).await;
        assert_eq!(outcome.subject_version, version);
    }
}

pub async fn wrong_expected_version_writes_nothing(fixture: Arc<dyn Fixture>) {
    let store = fixture.store();
    append_ok(&*store, request_to("a", ExpectedVersion::NoStream, 2)).await;
    let head_before = store.head().await.expect("head");

    let error = store.append(request_to("a", ExpectedVersion::Exact(1), 3)).await.expect_err("stale version");
    assert!(matches!(error, AppendError::WrongExpectedVersion { actual: 2, .. }), "{error:?}");

    assert_eq!(store.head().await.expect("head"), head_before);
    assert_eq!(all_events(&*store).await.len(), 2);
    assert_eq!(store.read_stream(&stream("a"), 0).await.expect("read").len(), 2);
    // The failed request took no position: the next append continues right after the head.
    let outcome = append_ok(&*store, request_to("a", ExpectedVersion::Exact(2), 1)).await;
    assert_eq!((outcome.first_position, outcome.subject_version), (3, 3));
}

pub async fn multi_stream_append_is_atomic(fixture: Arc<dyn Fixture>) {
    let store = fixture.store();
    append_ok(&*store, request_to("plan", ExpectedVersion::NoStream, 1)).await;

    let conflicting = request_of(vec![
        StreamAppend {
            stream_id: stream("task"),
            expected_version: ExpectedVersion::NoStream,
            events: vec![new_event("TaskAdded", json!({}))],
        },
        StreamAppend {
            stream_id: stream("plan"),
            expected_version: ExpectedVersion::Exact(7),
            events: vec![new_event("TaskListed", json!({}))],
        },
    ]);
    let error = store.append(conflicting).await.expect_err("the plan stream conflicts");
    let expected = ExpectedVersion::Exact(7);
    assert_eq!(error, AppendError::WrongExpectedVersion { stream_id: stream("plan"), expected, actual: 1 });
    assert!(store.read_stream(&stream("task"), 0).await.expect("read").is_empty(), "nothing of the request is written");
    assert_eq!(store.head().await.expect("head").position, 1);

    let mut accepted = request_of(vec![
        StreamAppend {
            stream_id: stream("task"),
            expected_version: ExpectedVersion::NoStream,
            events: vec![new_event("TaskAdded", json!({})), new_event("DeadlineSet", json!({}))],
        },
        StreamAppend {
            stream_id: stream("plan"),
            expected_version: ExpectedVersion::Exact(1),
            events: vec![new_event("TaskListed", json!({}))],
        },
    ]);
    accepted.subject_stream = stream("plan");
    let outcome = append_ok(&*store, accepted).await;
    assert_eq!((outcome.first_position, outcome.last_position, outcome.subject_version), (2, 4, 2));
    let events = all_events(&*store).await;
    let layout: Vec<_> = events.iter().map(|e| (e.stream_id.0.as_str(), e.stream_version, e.recorded_at)).collect();
    let at = outcome.recorded_at;
    assert_eq!(layout[1..], [("task", 1, at), ("task", 2, at), ("plan", 2, at)]);
}

pub async fn idempotent_retry_returns_the_first_outcome(fixture: Arc<dyn Fixture>) {
    let store = fixture.store();
    let key = Uuid::now_v7();
    let request = with_idempotency(request_to("a", ExpectedVersion::NoStream, 2), key, "POST /v1/plans {…}");
    let first = append_ok(&*store, request.clone()).await;
    append_ok(&*store, request_to("b", ExpectedVersion::Any, 1)).await;

    let retry = append_ok(&*store, request).await;
    assert_eq!(retry, AppendOutcome { replayed: true, ..first.clone() });
    // A retry with fresh event ids (a client that rebuilt the command) is recognised by its key alone.
    let rebuilt = with_idempotency(request_to("a", ExpectedVersion::NoStream, 2), key, "POST /v1/plans {…}");
    assert_eq!(append_ok(&*store, rebuilt).await, retry);
    assert_eq!(all_events(&*store).await.len(), 3, "nothing is appended twice");
}

pub async fn idempotency_key_with_another_fingerprint_is_refused(fixture: Arc<dyn Fixture>) {
    let store = fixture.store();
    let key = Uuid::now_v7();
    append_ok(&*store, with_idempotency(request_to("a", ExpectedVersion::Any, 1), key, "body one")).await;
    let reused = with_idempotency(request_to("a", ExpectedVersion::Any, 1), key, "body two");
    assert_eq!(store.append(reused).await, Err(AppendError::IdempotencyKeyReused { key }));
    assert_eq!(all_events(&*store).await.len(), 1);
}

pub async fn concurrent_retries_append_once(fixture: Arc<dyn Fixture>) {
    let store = fixture.store();
    let key = Uuid::now_v7();
    let request = with_idempotency(request_to("a", ExpectedVersion::NoStream, 3), key, "fingerprint");
    let retries: Vec<_> = (0..16)
        .map(|_| {
            let (store, request) = (store.clone(), request.clone());
            tokio::spawn(async move { store.append(request).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for retry in retries {
        outcomes.push(retry.await.expect("retry task").expect("every retry succeeds"));
    }
    let originals: Vec<_> = outcomes.iter().filter(|outcome| !outcome.replayed).collect();
    assert_eq!(originals.len(), 1, "exactly one retry appended: {outcomes:?}");
    for outcome in &outcomes {
        assert_eq!(AppendOutcome { replayed: false, ..outcome.clone() }, *originals[0]);
    }
    assert_eq!(all_events(&*store).await.len(), 3);
}

pub async fn find_idempotent_answers_like_a_retry(fixture: Arc<dyn Fixture>) {
    let store = fixture.store();
    let idempotency = Idempotency { key: Uuid::now_v7(), fingerprint: "fingerprint".to_owned() };
    assert_eq!(store.find_idempotent(&idempotency).await, Ok(None));

    let request = AppendRequest { idempotency: Some(idempotency.clone()), ..request_to("a", ExpectedVersion::Any, 1) };
    let first = append_ok(&*store, request).await;
    assert_eq!(store.find_idempotent(&idempotency).await, Ok(Some(AppendOutcome { replayed: true, ..first })));

    let other = Idempotency { fingerprint: "another".to_owned(), ..idempotency.clone() };
    assert_eq!(store.find_idempotent(&other).await, Err(AppendError::IdempotencyKeyReused { key: idempotency.key }));
}

pub async fn invalid_requests_are_rejected_and_write_nothing(fixture: Arc<dyn Fixture>) {
    let store = fixture.store();
    let taken = append_ok(&*store, request_to("a", ExpectedVersion::Any, 1)).await;
    let taken_event_id = all_events(&*store).await[0].event_id;
    assert_eq!(taken.last_position, 1);

    assert_eq!(store.append(request_of(Vec::new())).await, Err(AppendError::Empty));
    assert_eq!(store.append(request_to("a", ExpectedVersion::Any, 0)).await, Err(AppendError::Empty));

    for bad in [String::new(), "x".repeat(201), "a\0b".to_owned()] {
        let error = store.append(request_to(&bad, ExpectedVersion::Any, 1)).await;
        assert_eq!(error, Err(AppendError::InvalidStreamId { stream_id: StreamId(bad) }));
    }
    let longest = "x".repeat(200);
    append_ok(&*store, request_to(&longest, ExpectedVersion::Any, 1)).await;

    let mut nul_actor = request_to("a", ExpectedVersion::Any, 1);
    nul_actor.actor.name = "Nguyễn\0".to_owned();
    assert_eq!(store.append(nul_actor).await, Err(AppendError::NulCharacter { field: "actor.name" }));
    // A NUL inside the payload is just JSON text (stored escaped) and is accepted.
    let nul_payload = request_of(vec![StreamAppend {
        stream_id: stream("a"),
        expected_version: ExpectedVersion::Any,
        events: vec![new_event("Noted", json!({"text": "a\u{0}b"}))],
    }]);
    append_ok(&*store, nul_payload).await;

    let mut reused_id = request_to("c", ExpectedVersion::Any, 1);
    reused_id.streams[0].events[0].event_id = taken_event_id;
    assert_eq!(store.append(reused_id).await, Err(AppendError::DuplicateEventId { event_id: taken_event_id }));
    let mut twice_in_request = request_to("c", ExpectedVersion::Any, 2);
    let event_id = twice_in_request.streams[0].events[0].event_id;
    twice_in_request.streams[0].events[1].event_id = event_id;
    assert_eq!(store.append(twice_in_request).await, Err(AppendError::DuplicateEventId { event_id }));

    assert_eq!(store.head().await.expect("head").position, 3);
    assert!(store.read_stream(&stream("c"), 0).await.expect("read").is_empty());
    let payload = &store.read_stream(&stream("a"), 1).await.expect("read")[0].payload;
    assert_eq!(payload, &json!({"text": "a\u{0}b"}));
}

/// Many requests reach the writer together, so they share transactions; the ones that conflict fail alone.
pub async fn conflicting_requests_in_one_batch_fail_alone(fixture: Arc<dyn Fixture>) {
    let store = fixture.store();
    let contenders: Vec<_> = (0..40)
        .map(|index| {
            let store = store.clone();
            let request = if index % 2 == 0 {
                request_to("contested", ExpectedVersion::NoStream, 2)
            } else {
                request_to(&format!("own-{index}"), ExpectedVersion::NoStream, 1)
            };
            tokio::spawn(async move { (index, store.append(request).await) })
        })
        .collect();
    let mut n_contested_wins = 0;
    for contender in contenders {
        let (index, result) = contender.await.expect("contender task");
        match (index % 2 == 0, result) {
            (true, Ok(_)) => n_contested_wins += 1,
            (true, Err(error)) => assert_eq!(
                error,
                AppendError::WrongExpectedVersion {
                    stream_id: stream("contested"),
                    expected: ExpectedVersion::NoStream,
                    actual: 2
                }
            ),
            (false, result) => assert!(result.is_ok(), "an uncontested append failed: {result:?}"),
        }
    }
    assert_eq!(n_contested_wins, 1);
    assert_eq!(store.head().await.expect("head").position, 2 + 20);
    verify_events(all_events(&*store).await).expect("the log verifies");
}

pub async fn read_all_pages_through_the_log(fixture: Arc<dyn Fixture>) {
    let store = fixture.store();
    for index in 0..25 {
        append_ok(&*store, request_to(&format!("s-{}", index % 4), ExpectedVersion::Any, 1)).await;
    }
    let mut after = 0;
    let mut page_sizes = Vec::new();
    loop {
        let page = store.read_all(after, 10).await.expect("read_all");
        if page.is_empty() {
            break;
        }
        let positions: Vec<_> = page.iter().map(|event| event.global_position).collect();
        assert_eq!(positions, (after + 1..=after + page.len() as u64).collect::<Vec<_>>());
        page_sizes.push(page.len());
        after = positions[positions.len() - 1];
    }
    assert_eq!(page_sizes, [10, 10, 5]);
    assert!(store.read_all(25, 10).await.expect("read_all").is_empty());
    assert!(store.read_all(u64::MAX, 10).await.expect("read_all").is_empty());
    assert!(store.read_all(0, 0).await.expect("read_all").is_empty());
    assert_eq!(store.read_all(7, 1).await.expect("read_all")[0].global_position, 8);
}

pub async fn stream_stored_sends_the_range_in_chunks(fixture: Arc<dyn Fixture>) {
    let store = fixture.store();
    for index in 0..25 {
        append_ok(&*store, request_to(&format!("s-{}", index % 4), ExpectedVersion::Any, 1)).await;
    }
    let chunks_of = |after_position: u64, up_to_position: u64, chunk_size: usize| {
        let store = store.clone();
        async move {
            let (sender, mut receiver) = tokio::sync::mpsc::channel(100);
            store.stream_stored(after_position, up_to_position, chunk_size, sender).await.expect("stream_stored");
            let mut chunks = Vec::new();
            while let Some(chunk) = receiver.recv().await {
                chunks.push(chunk);
            }
            chunks
        }
    };

    let chunks = chunks_of(3, 20, 5).await;
    let positions: Vec<Vec<u64>> =
        chunks.iter().map(|chunk| chunk.iter().map(|event| event.global_position).collect()).collect();
    assert_eq!(positions, [vec![4, 5, 6, 7, 8], vec![9, 10, 11, 12, 13], vec![14, 15, 16, 17, 18], vec![19, 20]]);
    let streamed: Vec<_> = chunks.into_iter().flatten().collect();
    assert_eq!(streamed, store.read_all_stored(3, 17).await.expect("read_all_stored"));

    let whole: Vec<_> = chunks_of(0, u64::MAX, 10).await.iter().map(Vec::len).collect();
    assert_eq!(whole, [10, 10, 5]);
    assert!(chunks_of(25, 30, 10).await.is_empty());
    assert!(chunks_of(10, 10, 10).await.is_empty());

    // A receiver that is gone stops the reading without an error.
    let (sender, receiver) = tokio::sync::mpsc::channel(1);
    drop(receiver);
    store.stream_stored(0, 25, 1, sender).await.expect("a closed receiver is not an error");
}

pub async fn read_by_type_filters_in_position_order(fixture: Arc<dyn Fixture>) {
    let store = fixture.store();
    let types = ["PlanCreated", "TaskAdded", "ProgressReported", "TaskAdded", "ProgressReported", "TaskCompleted"];
    for event_type in types {
        let request = request_of(vec![StreamAppend {
            stream_id: stream("s"),
            expected_version: ExpectedVersion::Any,
            events: vec![new_event(event_type, json!({}))],
        }]);
        append_ok(&*store, request).await;
    }
    let read = |types: &'static [&'static str], after: u64, limit: usize| {
        let store = store.clone();
        async move {
            let events = store.read_by_type(types, after, limit).await.expect("read_by_type");
            events.iter().map(|event| (event.global_position, event.event_type.clone())).collect::<Vec<_>>()
        }
    };
    let owned = |pairs: &[(u64, &str)]| pairs.iter().map(|(p, t)| (*p, (*t).to_owned())).collect::<Vec<_>>();
    assert_eq!(
        read(&["TaskAdded", "TaskCompleted"], 0, 100).await,
        owned(&[(2, "TaskAdded"), (4, "TaskAdded"), (6, "TaskCompleted")])
    );
    assert_eq!(read(&["TaskAdded", "TaskCompleted"], 2, 1).await, owned(&[(4, "TaskAdded")]));
    assert_eq!(read(&["ProgressReported"], 3, 100).await, owned(&[(5, "ProgressReported")]));
    assert!(read(&["Unknown"], 0, 100).await.is_empty());
    assert!(read(&[], 0, 100).await.is_empty());
}

pub async fn head_names_the_last_event(fixture: Arc<dyn Fixture>) {
    let store = fixture.store();
    assert_eq!(store.head().await.expect("head"), LogHead { position: 0, hash: GENESIS_HASH.to_owned() });
    append_ok(&*store, request_to("a", ExpectedVersion::Any, 3)).await;
    append_ok(&*store, request_to("b", ExpectedVersion::Any, 2)).await;
    let last = all_events(&*store).await.pop().expect("five events");
    assert_eq!(store.head().await.expect("head"), LogHead { position: 5, hash: last.hash });
}

pub async fn hash_chain_verifies_after_many_appends(fixture: Arc<dyn Fixture>) {
    let store = fixture.store();
    let writers: Vec<_> = (0..8)
        .map(|writer| {
            let store = store.clone();
            tokio::spawn(async move {
                for index in 0..15 {
                    let n_events = 1 + (writer + index) % 3;
                    append_ok(&*store, request_to(&format!("s-{}", index % 5), ExpectedVersion::Any, n_events)).await;
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.expect("writer task");
    }
    let n_events = store.head().await.expect("head").position;
    assert_eq!(n_events, (0..8).flat_map(|w| (0..15).map(move |i| 1 + (w + i) % 3)).sum::<usize>() as u64);
    let report = verify_store(&*store, 17).await.expect("the chain verifies");
    assert_eq!((report.n_events, report.n_streams), (n_events, 5));
    assert_eq!(verify_events(all_events(&*store).await).expect("the chain verifies"), report);
}

pub async fn tampered_payload_is_detected(fixture: Arc<dyn Fixture>) {
    let store = fixture.store();
    for index in 0..10 {
        let request = request_of(vec![StreamAppend {
            stream_id: stream(&format!("task-{}", index % 3)),
            expected_version: ExpectedVersion::Any,
            events: vec![new_event("ProgressReported", json!({"achieved": 25, "index": index}))],
        }]);
        append_ok(&*store, request).await;
    }
    verify_store(&*store, 4).await.expect("the untouched chain verifies");

    fixture.replace_in_stored_payload(6, r#""achieved":25"#, r#""achieved":26"#).await;
    assert_eq!(store.read_all(5, 1).await.expect("read")[0].payload["achieved"], json!(26), "the tamper took");
    match verify_store(&*store, 4).await {
        Err(VerifyStoreError::Chain(VerifyError { position: 6, problem: VerifyProblem::HashMismatch { .. } })) => {}
        other => panic!("expected a hash mismatch at position 6, got {other:?}"),
    }
}

/// The key property of the log: while many writers append concurrently (some conflicting), a reader that follows
/// `read_all` from its last seen position sees every committed event once, in order, with no gap.
pub async fn concurrent_writers_and_a_follower_agree(fixture: Arc<dyn Fixture>) {
    const N_OWN_STREAM_WRITERS: usize = 12;
    const N_SHARED_STREAM_WRITERS: usize = 4;
    const N_ATTEMPTS: usize = 50;
    let store = fixture.store();
    let all_done = Arc::new(std::sync::atomic::AtomicBool::new(false));

    let follower = {
        let (store, all_done) = (store.clone(), all_done.clone());
        tokio::spawn(async move {
            let mut seen: Vec<RecordedEvent> = Vec::new();
            let mut last_position = 0;
            loop {
                // Read the flag before reading the log: once set, one more empty read means nothing is left.
                let finished = all_done.load(std::sync::atomic::Ordering::SeqCst);
                let page = store.read_all(last_position, 37).await.expect("read_all");
                for event in &page {
                    assert_eq!(event.global_position, last_position + 1, "the follower saw a gap or a repeat");
                    last_position = event.global_position;
                }
                let page_was_empty = page.is_empty();
                seen.extend(page);
                if page_was_empty {
                    if finished {
                        return seen;
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        })
    };

    let own_stream_writers = (0..N_OWN_STREAM_WRITERS).map(|writer| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut committed = Vec::new();
            for attempt in 0..N_ATTEMPTS {
                // Every fifth request also records an audit event on a stream all writers share, with `Any`.
                let mut request = request_to(&format!("own-{writer}"), ExpectedVersion::Exact(attempt as u64), 1);
                if attempt % 5 == 0 {
                    request.streams.push(StreamAppend {
                        stream_id: stream("audit"),
                        expected_version: ExpectedVersion::Any,
                        events: vec![new_event("Audited", json!({"writer": writer}))],
                    });
                }
                let event_ids = event_ids_of(&request);
                let outcome = append_ok(&*store, request).await;
                committed.push((outcome, event_ids));
            }
            (committed, 0usize)
        })
    });
    let shared_stream_writers = (0..N_SHARED_STREAM_WRITERS).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            let (mut committed, mut n_conflicts, mut known_version) = (Vec::new(), 0, 0);
            for _ in 0..N_ATTEMPTS {
                let request = request_to("shared", ExpectedVersion::Exact(known_version), 2);
                let event_ids = event_ids_of(&request);
                match store.append(request).await {
                    Ok(outcome) => {
                        known_version = outcome.subject_version;
                        committed.push((outcome, event_ids));
                    }
                    Err(AppendError::WrongExpectedVersion { actual, .. }) => {
                        n_conflicts += 1;
                        known_version = actual;
                    }
                    Err(error) => panic!("append failed: {error}"),
                }
            }
            (committed, n_conflicts)
        })
    });
    let writers: Vec<_> = own_stream_writers.chain(shared_stream_writers).collect();
    let mut committed_by_position: BTreeMap<u64, Uuid> = BTreeMap::new();
    let mut n_conflicts = 0;
    for writer in writers {
        let (committed, writer_conflicts) = writer.await.expect("writer task");
        n_conflicts += writer_conflicts;
        for (outcome, event_ids) in committed {
            let positions = outcome.first_position..=outcome.last_position;
            assert_eq!(positions.clone().count(), event_ids.len());
            for (position, event_id) in positions.zip(event_ids) {
                assert!(committed_by_position.insert(position, event_id).is_none(), "position {position} given twice");
            }
        }
    }
    all_done.store(true, std::sync::atomic::Ordering::SeqCst);
    let seen = follower.await.expect("follower task");

    // The four shared-stream writers all start at version 0, so at least three of them conflict.
    assert!(n_conflicts >= N_SHARED_STREAM_WRITERS - 1, "only {n_conflicts} conflicts");
    let n_committed = committed_by_position.len() as u64;
    assert_eq!(committed_by_position.keys().copied().collect::<Vec<_>>(), (1..=n_committed).collect::<Vec<_>>());
    let seen_by_position: BTreeMap<u64, Uuid> = seen.iter().map(|e| (e.global_position, e.event_id)).collect();
    assert_eq!(seen.len() as u64, n_committed, "the follower saw every committed event exactly once");
    assert_eq!(seen_by_position, committed_by_position, "the follower saw exactly what the writers were told");
    assert_eq!(seen.iter().map(|e| e.event_id).collect::<HashSet<_>>().len() as u64, n_committed);
    assert_eq!(store.head().await.expect("head").position, n_committed);
    verify_events(seen).expect("the followed log verifies");
}

pub async fn ping_answers(fixture: Arc<dyn Fixture>) {
    fixture.store().ping().await.expect("ping");
}

fn event_ids_of(request: &AppendRequest) -> Vec<Uuid> {
    request.streams.iter().flat_map(|stream| &stream.events).map(|event| event.event_id).collect()
}
