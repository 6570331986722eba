//! The writer task's batching, failure and shutdown behaviour, over an in-memory appender that plans batches
//! exactly as the database backends do.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::*;
use crate::batch::{plan_batch, PreparedRequest, StoredState};
use crate::canonical::GENESIS_HASH;
use crate::{Actor, ExpectedVersion, LogHead, NewEvent, RecordedEvent, StreamAppend, StreamId};

/// Keeps the log in memory; each `append_batch` takes `delay`, so that requests pile up behind it.
#[derive(Default)]
struct MemoryAppender {
    log: Mutex<Vec<RecordedEvent>>,
    batch_sizes: Mutex<Vec<usize>>,
    delay: Duration,
    fail: bool,
}

#[async_trait]
impl BatchAppender for Arc<MemoryAppender> {
    async fn append_batch(
        &self,
        batch: Vec<PreparedRequest>,
    ) -> Result<Vec<Result<AppendOutcome, AppendError>>, StoreError> {
        self.batch_sizes.lock().expect("lock").push(batch.len());
        tokio::time::sleep(self.delay).await;
        if self.fail {
            return Err(StoreError::Unavailable("connection refused".to_owned()));
        }
        let mut log = self.log.lock().expect("lock");
        let mut stream_versions = HashMap::new();
        for event in log.iter() {
            stream_versions.insert(event.stream_id.clone(), event.stream_version);
        }
        let state = StoredState {
            head: log.last().map_or(LogHead { position: 0, hash: GENESIS_HASH.to_owned() }, |event| LogHead {
                position: event.global_position,
                hash: event.hash.clone(),
            }),
            head_recorded_at: log.last().map(|event| event.recorded_at),
            now: OffsetDateTime::now_utc(),
            stream_versions,
            idempotency_records: HashMap::new(),
            existing_event_ids: log.iter().map(|event| event.event_id).collect::<HashSet<_>>(),
        };
        let plan = plan_batch(&batch, state)?;
        log.extend(plan.recorded_events().map_err(|error| StoreError::Backend(error.to_string()))?);
        Ok(plan.replies)
    }
}

fn request(stream_id: &str, expected_version: ExpectedVersion, n_events: usize) -> AppendRequest {
    AppendRequest {
        command_id: Uuid::now_v7(),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        actor: Actor { id: "u".to_owned(), name: "n".to_owned(), unit: "u".to_owned(), role: "r".to_owned() },
        idempotency: None,
        subject_id: stream_id.to_owned(),
        subject_stream: StreamId(stream_id.to_owned()),
        streams: vec![StreamAppend {
            stream_id: StreamId(stream_id.to_owned()),
            expected_version,
            events: (0..n_events)
                .map(|_| NewEvent {
                    event_id: Uuid::now_v7(),
                    event_type: "Noted".to_owned(),
                    schema_version: 1,
                    effective_date: None,
                    payload: json!({}),
                })
                .collect(),
        }],
    }
}

async fn append_concurrently(
    writer: &Arc<GroupCommit>,
    requests: Vec<AppendRequest>,
) -> Vec<Result<AppendOutcome, AppendError>> {
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|request| {
            let writer = writer.clone();
            tokio::spawn(async move { writer.append(request).await })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("append task"));
    }
    results
}

#[tokio::test]
async fn a_lone_request_is_appended_at_once() {
    let appender = Arc::new(MemoryAppender::default());
    let writer = GroupCommit::spawn(appender.clone(), GroupCommitConfig::default()).unwrap();
    let outcome = writer.append(request("a", ExpectedVersion::NoStream, 2)).await.expect("append");
    assert_eq!((outcome.first_position, outcome.last_position), (1, 2));
    assert_eq!(*appender.batch_sizes.lock().expect("lock"), [1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_that_pile_up_share_a_batch_and_fail_alone() {
    let appender = Arc::new(MemoryAppender { delay: Duration::from_millis(20), ..MemoryAppender::default() });
    let writer = Arc::new(GroupCommit::spawn(appender.clone(), GroupCommitConfig::default()).unwrap());
    let requests = (0..64)
        .map(|index| request(if index % 2 == 0 { "shared" } else { "other" }, ExpectedVersion::NoStream, 1))
        .collect();
    let results = append_concurrently(&writer, requests).await;

    assert_eq!(results.iter().filter(|result| result.is_ok()).count(), 2, "one NoStream wins per stream");
    let batch_sizes = appender.batch_sizes.lock().expect("lock").clone();
    assert_eq!(batch_sizes.iter().sum::<usize>(), 64);
    assert!(batch_sizes.len() < 64, "requests were batched: {batch_sizes:?}");
    crate::verify::verify_events(appender.log.lock().expect("lock").clone()).expect("the log verifies");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_respect_their_bounds() {
    let appender = Arc::new(MemoryAppender { delay: Duration::from_millis(5), ..MemoryAppender::default() });
    let config = GroupCommitConfig { max_batch_requests: 4, max_batch_events: 6, queue_capacity: 8 };
    let writer = Arc::new(GroupCommit::spawn(appender.clone(), config).unwrap());
    let requests = (0..40).map(|index| request(&format!("s-{index}"), ExpectedVersion::Any, 1 + index % 3)).collect();
    let results = append_concurrently(&writer, requests).await;

    assert!(results.iter().all(Result::is_ok));
    let batch_sizes = appender.batch_sizes.lock().expect("lock").clone();
    assert!(batch_sizes.iter().all(|size| *size <= 4), "{batch_sizes:?}");
    let log = appender.log.lock().expect("lock");
    let mut events_per_batch: HashMap<OffsetDateTime, usize> = HashMap::new();
    for event in log.iter() {
        *events_per_batch.entry(event.recorded_at).or_default() += 1;
    }
    assert!(events_per_batch.values().all(|n_events| *n_events <= 6), "{events_per_batch:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_transaction_fails_every_request_of_the_batch() {
    let appender =
        Arc::new(MemoryAppender { delay: Duration::from_millis(5), fail: true, ..MemoryAppender::default() });
    let writer = Arc::new(GroupCommit::spawn(appender, GroupCommitConfig::default()).unwrap());
    let requests = (0..10).map(|index| request(&format!("s-{index}"), ExpectedVersion::Any, 1)).collect();
    for result in append_concurrently(&writer, requests).await {
        assert_eq!(result, Err(AppendError::Store(StoreError::Unavailable("connection refused".to_owned()))));
    }
}

#[tokio::test]
async fn shutdown_answers_what_is_queued_then_stops() {
    let appender = Arc::new(MemoryAppender { delay: Duration::from_millis(5), ..MemoryAppender::default() });
    let writer = GroupCommit::spawn(appender.clone(), GroupCommitConfig::default()).unwrap();
    let (reply, answer) = oneshot::channel();
    let request = PreparedRequest::new(request("a", ExpectedVersion::Any, 1)).expect("valid");
    writer.sender.send(Job { request, reply }).await.expect("queued");
    writer.shutdown().await;
    assert!(answer.await.expect("answered before the writer stopped").is_ok());
    assert_eq!(appender.log.lock().expect("lock").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_writer_counts_its_batches_requests_and_busy_time() {
    let delay = Duration::from_millis(10);
    let appender = Arc::new(MemoryAppender { delay, ..MemoryAppender::default() });
    let writer = Arc::new(GroupCommit::spawn(appender.clone(), GroupCommitConfig::default()).unwrap());
    assert_eq!(writer.stats(), WriterStats::default());

    let requests = (0..30).map(|index| request(&format!("s-{index}"), ExpectedVersion::Any, 1)).collect();
    let results = append_concurrently(&writer, requests).await;
    assert!(results.iter().all(Result::is_ok));

    // Every answer leaves after its batch was counted.
    let stats = writer.stats();
    let batch_sizes = appender.batch_sizes.lock().expect("lock").clone();
    assert_eq!(stats.batches, batch_sizes.len() as u64);
    assert_eq!(stats.requests, 30);
    assert!(stats.busy >= delay * u32::try_from(batch_sizes.len()).unwrap(), "{stats:?} for {batch_sizes:?}");
    let later = writer.append(request("later", ExpectedVersion::Any, 1)).await.expect("append");
    assert_eq!(later.first_position, 31);
    let since = writer.stats().since(&stats);
    assert_eq!((since.batches, since.requests), (1, 1));
    assert!(since.busy >= delay, "{since:?}");
}
