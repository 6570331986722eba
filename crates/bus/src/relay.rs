//! The relay: publishes every committed event to the bus, in position order, and survives any crash without loss.
//!
//! It keeps no state of its own. On start it asks the bus for the last position it holds and reads the store from
//! there; after that it follows the store, woken by [`RelayHandle::notify`] after each local append and by a short
//! poll for appends made by other processes. A crash between commit and publish only delays the publish: the next
//! relay finds the event in the store. An event published twice is dropped by the bus (JetStream's
//! `Nats-Msg-Id`) or skipped by consumers (their checkpoint).

use std::sync::Arc;
use std::time::Duration;

use event_store::EventStore;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::{BusError, EventBus};

#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Events read and published per round.
    pub batch_size: usize,
    /// How often the store is polled when no local append woke the relay.
    pub poll_interval: Duration,
    /// How long to wait before retrying after the bus or the store failed.
    pub retry_delay: Duration,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            batch_size: 1_000,
            poll_interval: Duration::from_millis(200),
            retry_delay: Duration::from_millis(500),
        }
    }
}

/// Wakes the relay; cheap to clone and call after every append.
#[derive(Clone, Default)]
pub struct RelayHandle {
    wake: Arc<Notify>,
}

impl RelayHandle {
    pub fn notify(&self) {
        self.wake.notify_one();
    }
}

/// Runs the relay until `cancel` fires. Errors are logged and retried; the relay never gives up.
pub async fn run(
    store: Arc<dyn EventStore>,
    bus: Arc<dyn EventBus>,
    handle: RelayHandle,
    config: RelayConfig,
    cancel: CancellationToken,
) {
    let mut position = loop {
        match bus.last_published_position().await {
            Ok(position) => break position,
            Err(error) => {
                tracing::warn!(%error, "relay cannot read the bus's last position; retrying");
                if sleep_or_cancel(config.retry_delay, &cancel).await {
                    return;
                }
            }
        }
    };
    tracing::info!(position, "relay resumes after the bus's last position");
    while !cancel.is_cancelled() {
        match relay_once(store.as_ref(), bus.as_ref(), position, config.batch_size).await {
            Ok(Some(published_up_to)) => {
                position = published_up_to;
                metrics::gauge!("taskledger_relay_published_position").set(position as f64);
            }
            Ok(None) => {
                tokio::select! {
                    () = handle.wake.notified() => {}
                    () = tokio::time::sleep(config.poll_interval) => {}
                    () = cancel.cancelled() => return,
                }
            }
            Err(error) => {
                metrics::counter!("taskledger_relay_errors_total").increment(1);
                tracing::warn!(%error, position, "relay round failed; retrying");
                if sleep_or_cancel(config.retry_delay, &cancel).await {
                    return;
                }
            }
        }
    }
}

/// Publishes the events after `position`, one batch. `None` when there was nothing to publish.
pub async fn relay_once(
    store: &dyn EventStore,
    bus: &dyn EventBus,
    position: u64,
    batch_size: usize,
) -> Result<Option<u64>, RelayError> {
    let events = store.read_all(position, batch_size).await.map_err(|error| RelayError::Store(error.to_string()))?;
    let Some(last) = events.last() else {
        return Ok(None);
    };
    let last_position = last.global_position;
    bus.publish(&events).await?;
    metrics::counter!("taskledger_relay_published_total").increment(events.len() as u64);
    Ok(Some(last_position))
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("cannot read the store: {0}")]
    Store(String),
    #[error(transparent)]
    Bus(#[from] BusError),
}

/// Sleeps; true when cancelled meanwhile.
async fn sleep_or_cancel(duration: Duration, cancel: &CancellationToken) -> bool {
    tokio::select! {
        () = tokio::time::sleep(duration) => false,
        () = cancel.cancelled() => true,
    }
}
