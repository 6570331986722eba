//! The relay (`bus::relay`) from a real SQLite event store to JetStream: everything committed arrives, and events
//! committed while no relay runs (a crash between commit and publish) are published by the next relay, which
//! resumes from the bus's last position, so a consumer that keeps its position applies each exactly once.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bus::relay::{RelayConfig, RelayHandle};
use bus::EventBus;
use event_store::{EventStore, RecordedEvent};
use event_store_sqlite::SqliteEventStore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::fixtures::{append_requests, domain_events};
use crate::{receive_deduplicated, TestStream};

#[tokio::test]
async fn the_relay_publishes_every_commit_and_a_new_relay_resumes_after_a_crash() {
    let stream = TestStream::on_shared_server();
    let directory = tempfile::tempdir().unwrap();
    let store: Arc<dyn EventStore> =
        Arc::new(SqliteEventStore::open(&directory.path().join("events.db")).await.unwrap());
    let mut events = domain_events(65).into_iter();
    append(store.as_ref(), events.by_ref().take(40).collect()).await;

    let first_relay = Relay::start(store.clone(), Arc::new(stream.connect().await));
    let mut subscription = stream.connect().await.subscribe("projections").await.unwrap();
    let mut applied = BTreeMap::new();
    receive_deduplicated(subscription.as_mut(), &mut applied, 40).await;
    first_relay.stop().await;

    // Committed while no relay runs: the process died between commit and publish.
    append(store.as_ref(), events.collect()).await;
    let second_relay = Relay::start(store.clone(), Arc::new(stream.connect().await));
    receive_deduplicated(subscription.as_mut(), &mut applied, 65).await;
    second_relay.stop().await;

    let stored = store.read_all(0, 1_000).await.unwrap();
    assert_eq!(stored.len(), 65);
    assert_eq!(applied.into_values().collect::<Vec<RecordedEvent>>(), stored);
    assert_eq!(stream.stream_info().await.state.messages, 65, "the new relay republished nothing");
}

async fn append(store: &dyn EventStore, events: Vec<(event_store::StreamId, event_store::NewEvent)>) {
    for request in append_requests(events) {
        store.append(request).await.unwrap();
    }
}

/// A relay running in a task until stopped.
struct Relay {
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

impl Relay {
    fn start(store: Arc<dyn EventStore>, bus: Arc<dyn EventBus>) -> Relay {
        let cancel = CancellationToken::new();
        let config = RelayConfig {
            batch_size: 16,
            poll_interval: Duration::from_millis(50),
            retry_delay: Duration::from_millis(100),
        };
        let task = tokio::spawn(bus::relay::run(store, bus, RelayHandle::default(), config, cancel.clone()));
        Relay { cancel, task }
    }

    async fn stop(self) {
        self.cancel.cancel();
        self.task.await.unwrap();
    }
}
