//! The bus that carries committed events from the event store to the services: one trait, [`EventBus`], with an
//! in-process implementation here ([`in_process`]) and NATS JetStream in `bus-nats`; and the [`relay`] that
//! publishes what the store committed, resuming from the bus's own last position after a restart.
//!
//! Delivery is at least once. Consumers keep the last global position they applied and skip anything at or below
//! it; when they see a gap they fetch the missing positions from the store. So a lost or duplicated message never
//! changes a read model, and the bus only has to be fast, not perfect.

pub mod in_process;
pub mod relay;

use async_trait::async_trait;
use event_store::RecordedEvent;

/// An event delivered to a consumer, acknowledged once the consumer has applied it (or knows it need not).
pub struct Delivery {
    pub event: RecordedEvent,
    acknowledgement: Box<dyn Acknowledge>,
}

/// What a delivery's `ack` does on a particular bus.
#[async_trait]
pub trait Acknowledge: Send + Sync {
    async fn ack(self: Box<Self>) -> Result<(), BusError>;
}

/// A durable subscription: deliveries in the order the bus has them, redelivered when not acknowledged.
#[async_trait]
pub trait Subscription: Send {
    /// The next delivery; waits until there is one. `Err(BusError::Lagged)` tells the consumer that it missed
    /// deliveries and should catch up from the store.
    async fn next(&mut self) -> Result<Delivery, BusError>;
}

#[async_trait]
pub trait EventBus: Send + Sync + 'static {
    /// Publishes committed events, in position order; returns when the bus holds them (on JetStream, when every
    /// publish is acknowledged). Publishing an event twice has no effect on consumers.
    async fn publish(&self, events: &[RecordedEvent]) -> Result<(), BusError>;

    /// The highest global position the bus holds, where a relay resumes after a restart (0 for none).
    async fn last_published_position(&self) -> Result<u64, BusError>;

    /// Opens (or resumes) the durable consumer `consumer`. Several processes with the same consumer name share its
    /// deliveries.
    async fn subscribe(&self, consumer: &str) -> Result<Box<dyn Subscription>, BusError>;

    /// Whether the bus answers, for `/readyz`.
    async fn ping(&self) -> Result<(), BusError>;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BusError {
    #[error("bus is unavailable: {0}")]
    Unavailable(String),
    #[error("consumer missed {0} deliveries")]
    Lagged(u64),
    #[error("message cannot be decoded: {0}")]
    Decode(String),
    #[error("bus is closed")]
    Closed,
    #[error("bus error: {0}")]
    Backend(String),
}

impl Delivery {
    pub fn new(event: RecordedEvent, acknowledgement: Box<dyn Acknowledge>) -> Delivery {
        Delivery { event, acknowledgement }
    }

    pub async fn ack(self) -> Result<(), BusError> {
        self.acknowledgement.ack().await
    }
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery").field("global_position", &self.event.global_position).finish_non_exhaustive()
    }
}
