//! The contract suite every backend passes (cargo feature `testing`), on the model of quickwit's
//! `metastore_test_suite!`.
//!
//! A backend crate implements [`Fixture`] for a fresh, empty store (a new PostgreSQL database, a new SQLite file),
//! writes an `async fn` that creates one, and instantiates the suite in its integration tests:
//!
//! ```text
//! event_store::event_store_contract_suite!(crate::fixture::create);
//! ```
//!
//! which expands to one `#[tokio::test]` per function of [`suite`], each on its own fixture, torn down afterwards
//! whether the test passed or not.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{Actor, AppendRequest, EventStore, ExpectedVersion, Idempotency, NewEvent, StreamAppend, StreamId};

pub mod suite;
pub mod tamper;

/// A fresh, empty store of one backend, with the access behind its back that tamper tests need.
#[async_trait]
pub trait Fixture: Send + Sync + 'static {
    fn store(&self) -> Arc<dyn EventStore>;

    /// Rewrites the stored payload text of the event at `global_position`, replacing `from` by `to`, directly in
    /// the database, as an intruder with SQL access would.
    async fn replace_in_stored_payload(&self, global_position: u64, from: &str, to: &str);

    /// Runs SQL statements in one transaction with the append-only triggers out of the way, as an intruder with
    /// write access to the database would. The statements use only SQL that both backends accept.
    async fn run_as_intruder(&self, statements: &[String]);

    /// Releases what the fixture created (best effort; never fails the test).
    async fn teardown(&self);
}

/// How long one contract test may run before it is failed as hung.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(180);

/// Runs one suite function on `fixture`, tears the fixture down, then passes the test's panic on, if any.
pub async fn run_contract_test<F, Fut>(fixture: Arc<dyn Fixture>, test: F)
where
    F: FnOnce(Arc<dyn Fixture>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let outcome = tokio::time::timeout(TEST_TIMEOUT, tokio::spawn(test(fixture.clone()))).await;
    fixture.teardown().await;
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(join_error)) if join_error.is_panic() => std::panic::resume_unwind(join_error.into_panic()),
        Ok(Err(join_error)) => panic!("contract test was cancelled: {join_error}"),
        Err(_) => panic!("contract test did not finish within {TEST_TIMEOUT:?}"),
    }
}

/// Instantiates the contract suite: one `#[tokio::test]` per function of `event_store::testing::suite` and of
/// `event_store::testing::tamper`.
/// The argument is the path of an `async fn() -> Arc<dyn event_store::testing::Fixture>`.
#[macro_export]
macro_rules! event_store_contract_suite {
    ($create_fixture:path) => {
        $crate::event_store_contract_suite!(@tests $create_fixture; tamper;
            checkpoints_are_kept_once_per_size,
            hashes_and_event_positions_are_read_back,
            changed_byte_is_detected_at_its_position,
            respelt_payload_is_detected_at_its_position,
            deleted_event_is_detected_at_its_position,
            swapped_events_are_detected_at_the_first,
            forged_event_is_detected_at_its_position,
            rolled_back_tail_is_detected_by_a_checkpoint,
            rewritten_tail_is_detected_by_a_checkpoint,
            checkpoint_signed_by_another_key_is_rejected,
        );
        $crate::event_store_contract_suite!(@tests $create_fixture; suite;
            append_and_read_back_with_provenance,
            stream_versions_count_from_one,
            read_stream_stored_is_read_stream_with_the_payload_text,
            read_stream_stored_except_skips_types_but_keeps_the_last_event,
            expected_version_no_stream,
            expected_version_exact,
            expected_version_any,
            wrong_expected_version_writes_nothing,
            multi_stream_append_is_atomic,
            idempotent_retry_returns_the_first_outcome,
            idempotency_key_with_another_fingerprint_is_refused,
            concurrent_retries_append_once,
            find_idempotent_answers_like_a_retry,
            invalid_requests_are_rejected_and_write_nothing,
            conflicting_requests_in_one_batch_fail_alone,
            read_all_pages_through_the_log,
            stream_stored_sends_the_range_in_chunks,
            read_by_type_filters_in_position_order,
            head_names_the_last_event,
            hash_chain_verifies_after_many_appends,
            tampered_payload_is_detected,
            concurrent_writers_and_a_follower_agree,
            ping_answers,
        );
    };
    (@tests $create_fixture:path; $module:ident; $($test:ident),+ $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                let fixture: ::std::sync::Arc<dyn $crate::testing::Fixture> = $create_fixture().await;
                $crate::testing::run_contract_test(fixture, $crate::testing::$module::$test).await;
            }
        )+
    };
}

/// The actor the suite appends as.
pub fn test_actor() -> Actor {
    Actor {
        id: "u-0042".to_owned(),
        name: "Nguyễn Văn An".to_owned(),
        unit: "SKHCN".to_owned(),
        role: "staff".to_owned(),
    }
}

/// A new event with a fresh UUID v7 and no effective date.
pub fn new_event(event_type: &str, payload: Value) -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        event_type: event_type.to_owned(),
        schema_version: 1,
        effective_date: None,
        payload,
    }
}

/// A request appending `n_events` events of type `Noted` to one stream, which is also its subject.
pub fn request_to(stream_id: &str, expected_version: ExpectedVersion, n_events: usize) -> AppendRequest {
    let events = (0..n_events).map(|index| new_event("Noted", json!({ "index": index }))).collect();
    request_of(vec![StreamAppend { stream_id: StreamId(stream_id.to_owned()), expected_version, events }])
}

/// A request appending the given streams; the first is the subject.
pub fn request_of(streams: Vec<StreamAppend>) -> AppendRequest {
    let subject_stream = streams.first().map(|stream| stream.stream_id.clone()).unwrap_or(StreamId("none".to_owned()));
    AppendRequest {
        command_id: Uuid::now_v7(),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        actor: test_actor(),
        idempotency: None,
        subject_id: subject_stream.0.clone(),
        subject_stream,
        streams,
    }
}

/// `request` made retryable under `key` with `fingerprint`.
pub fn with_idempotency(request: AppendRequest, key: Uuid, fingerprint: &str) -> AppendRequest {
    AppendRequest { idempotency: Some(Idempotency { key, fingerprint: fingerprint.to_owned() }), ..request }
}
