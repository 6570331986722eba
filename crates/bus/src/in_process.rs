//! The in-process bus of embedded mode: a broadcast channel. Every subscriber sees every event published after it
//! subscribed; one that falls behind by more than the channel's capacity is told it lagged and catches up from the
//! store. Nothing survives the process, and nothing needs to: consumers resume from their checkpoints.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use event_store::RecordedEvent;
use tokio::sync::broadcast;

use crate::{Acknowledge, BusError, Delivery, EventBus, Subscription};

/// How many events a subscriber may fall behind before it is told it lagged.
pub const DEFAULT_CAPACITY: usize = 16_384;

#[derive(Clone)]
pub struct InProcessBus {
    sender: broadcast::Sender<Arc<RecordedEvent>>,
    last_position: Arc<AtomicU64>,
}

impl InProcessBus {
    pub fn new(capacity: usize) -> InProcessBus {
        let (sender, _) = broadcast::channel(capacity);
        InProcessBus { sender, last_position: Arc::new(AtomicU64::new(0)) }
    }
}

impl Default for InProcessBus {
    fn default() -> Self {
        InProcessBus::new(DEFAULT_CAPACITY)
    }
}

#[async_trait]
impl EventBus for InProcessBus {
    async fn publish(&self, events: &[RecordedEvent]) -> Result<(), BusError> {
        for event in events {
            // No subscriber is not an error: consumers catch up from the store when they start.
            let _ = self.sender.send(Arc::new(event.clone()));
            self.last_position.fetch_max(event.global_position, Ordering::Relaxed);
        }
        Ok(())
    }

    async fn last_published_position(&self) -> Result<u64, BusError> {
        Ok(self.last_position.load(Ordering::Relaxed))
    }

    async fn subscribe(&self, _consumer: &str) -> Result<Box<dyn Subscription>, BusError> {
        Ok(Box::new(InProcessSubscription { receiver: self.sender.subscribe() }))
    }

    async fn ping(&self) -> Result<(), BusError> {
        Ok(())
    }
}

struct InProcessSubscription {
    receiver: broadcast::Receiver<Arc<RecordedEvent>>,
}

struct NoAcknowledgement;

#[async_trait]
impl Acknowledge for NoAcknowledgement {
    async fn ack(self: Box<Self>) -> Result<(), BusError> {
        Ok(())
    }
}

#[async_trait]
impl Subscription for InProcessSubscription {
    async fn next(&mut self) -> Result<Delivery, BusError> {
        match self.receiver.recv().await {
            Ok(event) => Ok(Delivery::new(Arc::unwrap_or_clone(event), Box::new(NoAcknowledgement))),
            Err(broadcast::error::RecvError::Lagged(n_missed)) => Err(BusError::Lagged(n_missed)),
            Err(broadcast::error::RecvError::Closed) => Err(BusError::Closed),
        }
    }
}
