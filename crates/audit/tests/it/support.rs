//! A SQLite store in a temporary directory with a few events, and the log key of the tests.

use std::sync::Arc;

use event_store::testing::{new_event, request_of};
use event_store::{EventStore, ExpectedVersion, StreamAppend, StreamId};
use event_store_sqlite::SqliteEventStore;
use serde_json::json;
use transparency::checkpoint::SigningKey;

pub const ORIGIN: &str = "test.taskledger.example/log";

pub struct TestLog {
    pub store: Arc<dyn EventStore>,
    pub dir: tempfile::TempDir,
}

pub fn log_key() -> SigningKey {
    SigningKey::from_seed(ORIGIN, [42; 32]).expect("a valid key name")
}

/// A store with `n_events` events, one per append, over three streams.
pub async fn store_with_events(n_events: usize) -> TestLog {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store: Arc<dyn EventStore> =
        Arc::new(SqliteEventStore::open(&dir.path().join("events.db")).await.expect("the store opens"));
    append_events(store.as_ref(), 0, n_events).await;
    TestLog { store, dir }
}

pub async fn append_events(store: &dyn EventStore, first_index: usize, n_events: usize) {
    for index in first_index..first_index + n_events {
        let request = request_of(vec![StreamAppend {
            stream_id: StreamId(format!("task-{}", index % 3)),
            expected_version: ExpectedVersion::Any,
            events: vec![new_event("ProgressReported", json!({"achieved": 25, "index": index}))],
        }]);
        store.append(request).await.expect("append");
    }
}
