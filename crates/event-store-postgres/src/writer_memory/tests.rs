//! What the writer assumes from what it learnt, without a database.

use std::collections::{HashMap, HashSet};

use event_store::batch::{plan_batch, BatchLookups, PreparedRequest, StoredState};
use event_store::canonical::GENESIS_HASH;
use event_store::testing::request_to;
use event_store::{ExpectedVersion, LogHead, StreamId};
use time::OffsetDateTime;

use super::*;

fn prepared_to(stream_id: &str, expected_version: ExpectedVersion, n_events: usize) -> PreparedRequest {
    PreparedRequest::new(request_to(stream_id, expected_version, n_events)).expect("a valid request")
}

fn stream(name: &str) -> StreamId {
    StreamId(name.to_owned())
}

/// The state an exact batch reads on an empty log, with `versions` as the streams' current versions.
fn stored_state(versions: &[(&str, u64)], store_clock: OffsetDateTime) -> StoredState {
    StoredState {
        head: LogHead { position: 0, hash: GENESIS_HASH.to_owned() },
        head_recorded_at: None,
        now: store_clock,
        stream_versions: versions.iter().map(|(name, version)| (stream(name), *version)).collect(),
        idempotency_records: HashMap::new(),
        existing_event_ids: HashSet::new(),
    }
}

fn memory_that_read(versions: &[(&str, u64)]) -> WriterMemory {
    let mut memory = WriterMemory::new();
    let batch = vec![prepared_to("known", ExpectedVersion::Any, 1)];
    let lookups = BatchLookups {
        stream_ids: versions.iter().map(|(name, _)| stream(name)).collect(),
        ..BatchLookups::of(&batch)
    };
    let now = OffsetDateTime::now_utc();
    memory.learn_stored_state(&lookups, &stored_state(versions, now), now);
    memory
}

#[test]
fn nothing_is_assumed_before_an_exact_batch() {
    let batch = vec![prepared_to("a", ExpectedVersion::NoStream, 1)];
    assert!(WriterMemory::new().assume(&batch, &BatchLookups::of(&batch)).is_none());
}

#[test]
fn remembered_streams_keep_their_version_and_others_take_the_first_expectation() {
    let mut memory = memory_that_read(&[("known", 4)]);
    let batch = vec![
        prepared_to("known", ExpectedVersion::Exact(3), 1),
        prepared_to("exact", ExpectedVersion::Exact(7), 1),
        prepared_to("exact", ExpectedVersion::Exact(8), 1),
        prepared_to("new", ExpectedVersion::NoStream, 1),
    ];
    let lookups = BatchLookups::of(&batch);
    let assumed = memory.assume(&batch, &lookups).expect("every stream's version is known or guessed");

    assert_eq!(lookups.stream_ids, [stream("exact"), stream("known"), stream("new")]);
    assert_eq!(assumed.stream_versions, [7, 4, 0]);
    assert_eq!(assumed.state.stream_versions.get(&stream("known")), Some(&4));
    assert_eq!(assumed.state.head, LogHead { position: 0, hash: GENESIS_HASH.to_owned() });
    assert!(assumed.state.idempotency_records.is_empty() && assumed.state.existing_event_ids.is_empty());
}

#[test]
fn any_on_an_unknown_stream_takes_the_exact_path() {
    let mut memory = memory_that_read(&[("known", 4)]);
    let known = vec![prepared_to("known", ExpectedVersion::Any, 1)];
    assert!(memory.assume(&known, &BatchLookups::of(&known)).is_some());
    let unknown = vec![prepared_to("unknown", ExpectedVersion::Any, 1)];
    assert!(memory.assume(&unknown, &BatchLookups::of(&unknown)).is_none());
}

#[test]
fn a_committed_plan_moves_the_head_and_its_streams() {
    let mut memory = memory_that_read(&[("a", 0)]);
    let batch = vec![prepared_to("a", ExpectedVersion::NoStream, 3)];
    let lookups = BatchLookups::of(&batch);
    let assumed = memory.assume(&batch, &lookups).expect("assumed");
    let plan = plan_batch(&batch, assumed.state).expect("planned");
    memory.learn_committed_plan(&plan);

    let next = vec![prepared_to("a", ExpectedVersion::Exact(3), 1)];
    let assumed = memory.assume(&next, &BatchLookups::of(&next)).expect("assumed");
    assert_eq!(assumed.stream_versions, [3]);
    assert_eq!(assumed.state.head, plan.head);
    assert_eq!(assumed.state.head_recorded_at, Some(plan.recorded_at));
}

#[test]
fn the_store_clock_is_estimated_with_the_measured_offset() {
    let mut memory = WriterMemory::new();
    let batch = vec![prepared_to("a", ExpectedVersion::NoStream, 1)];
    let lookups = BatchLookups::of(&batch);
    let local_clock = OffsetDateTime::now_utc();
    memory.learn_stored_state(&lookups, &stored_state(&[], local_clock + time::Duration::seconds(5)), local_clock);

    let assumed = memory.assume(&batch, &lookups).expect("assumed");
    let estimate_ahead = assumed.state.now - OffsetDateTime::now_utc();
    assert!(estimate_ahead > time::Duration::milliseconds(4_900), "{estimate_ahead}");
    assert!(estimate_ahead < time::Duration::milliseconds(5_100), "{estimate_ahead}");
}

#[test]
fn a_moved_head_sends_more_and_more_batches_to_the_exact_path_until_a_success() {
    let mut memory = memory_that_read(&[("a", 0)]);
    let batch = vec![prepared_to("a", ExpectedVersion::NoStream, 1)];
    let lookups = BatchLookups::of(&batch);
    let mut exact_batches_after_refusal = Vec::new();
    for _ in 0..8 {
        memory.note_refusal(OneRoundTripRefusal::HeadMoved);
        let mut n_exact = 0;
        while memory.assume(&batch, &lookups).is_none() {
            n_exact += 1;
        }
        exact_batches_after_refusal.push(n_exact);
    }
    assert_eq!(exact_batches_after_refusal, [1, 2, 4, 8, 16, 32, 64, 64]);

    memory.note_one_round_trip();
    memory.note_refusal(OneRoundTripRefusal::HeadMoved);
    assert!(memory.assume(&batch, &lookups).is_none());
    assert!(memory.assume(&batch, &lookups).is_some());

    memory.note_refusal(OneRoundTripRefusal::IdempotencyKey);
    assert!(memory.assume(&batch, &lookups).is_some(), "only a moved head predicts the next batch");
}

#[test]
fn a_failed_transaction_forgets_the_head() {
    let mut memory = memory_that_read(&[("a", 0)]);
    memory.forget_head();
    let batch = vec![prepared_to("a", ExpectedVersion::NoStream, 1)];
    assert!(memory.assume(&batch, &BatchLookups::of(&batch)).is_none());
}

#[test]
fn stream_versions_are_bounded_and_keep_the_recent_ones() {
    let mut versions = RecentStreamVersions::default();
    let n_streams = STREAMS_REMEMBERED * 3;
    for index in 0..n_streams {
        versions.insert(stream(&format!("s-{index}")), index as u64);
        // A stream used all along stays.
        versions.insert(stream("hot"), index as u64);
        assert_eq!(versions.get(&stream("hot")), Some(index as u64));
    }
    assert!(versions.current.len() + versions.previous.len() <= STREAMS_REMEMBERED);
    let last = n_streams - 1;
    assert_eq!(versions.get(&stream(&format!("s-{last}"))), Some(last as u64));
    assert_eq!(versions.get(&stream("s-0")), None);
}
