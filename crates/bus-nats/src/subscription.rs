//! The subscription behind `NatsBus::subscribe` (in `lib.rs`): a durable JetStream pull consumer with explicit
//! acknowledgements, pulled in batches with an idle heartbeat.
//!
//! It never gives up. When a pull fails (NATS restarted, the connection dropped, heartbeats stopped, the consumer
//! was deleted), it waits `retry_delay`, creates the consumer again if it is gone (its configuration is the same,
//! so an existing one is found as it was) and pulls again; `next` only returns with a delivery. A message that is
//! not an event envelope is terminated (never redelivered), logged and counted, and `next` goes on with the one
//! after: a poisoned message cannot stop a consumer.

use async_nats::jetstream::consumer::pull;
use async_nats::jetstream::message::Acker;
use async_nats::jetstream::AckKind;
use async_trait::async_trait;
use bus::{Acknowledge, BusError, Delivery, Subscription};
use event_store::RecordedEvent;
use futures_util::StreamExt as _;
use prost::Message as _;

use crate::config::ConsumerSettings;

pub(crate) struct NatsSubscription {
    stream: async_nats::jetstream::stream::Stream,
    consumer_name: String,
    consumer_config: pull::Config,
    settings: ConsumerSettings,
    /// The current pull; `None` after it failed, until it is opened again.
    messages: Option<pull::Stream>,
}

impl NatsSubscription {
    /// Creates (or finds) the consumer and starts pulling. Fails when JetStream does not answer, so that a
    /// service finds out at start that its bus is missing.
    pub(crate) async fn open(
        stream: async_nats::jetstream::stream::Stream,
        consumer_name: String,
        consumer_config: pull::Config,
        settings: ConsumerSettings,
    ) -> Result<NatsSubscription, BusError> {
        let mut subscription = NatsSubscription { stream, consumer_name, consumer_config, settings, messages: None };
        subscription.messages = Some(subscription.pull().await?);
        Ok(subscription)
    }

    async fn pull(&self) -> Result<pull::Stream, BusError> {
        let consumer = self.stream.create_consumer(self.consumer_config.clone()).await.map_err(|error| {
            BusError::Unavailable(format!("cannot create or find consumer {}: {error}", self.consumer_name))
        })?;
        consumer
            .stream()
            .max_messages_per_batch(self.settings.batch_size)
            .expires(self.settings.pull_expires)
            .heartbeat(self.settings.idle_heartbeat)
            .messages()
            .await
            .map_err(|error| {
                BusError::Unavailable(format!("cannot pull from consumer {}: {error}", self.consumer_name))
            })
    }

    /// The delivery of a message, or `None` when it is not an event envelope (it is then terminated).
    async fn delivery_of(&self, message: async_nats::jetstream::Message) -> Option<Delivery> {
        let stream_sequence = message.info().map(|info| info.stream_sequence).ok();
        let (message, acker) = message.split();
        match decode(&message.payload) {
            Ok(event) => Some(Delivery::new(event, Box::new(NatsAcknowledgement { acker }))),
            Err(error) => {
                metrics::counter!("taskledger_bus_terminated_total", "consumer" => self.consumer_name.clone())
                    .increment(1);
                tracing::error!(
                    consumer = %self.consumer_name,
                    subject = %message.subject,
                    stream_sequence,
                    %error,
                    "terminating a message that is not an event envelope"
                );
                if let Err(error) = acker.ack_with(AckKind::Term).await {
                    tracing::warn!(consumer = %self.consumer_name, stream_sequence, %error, "cannot terminate message");
                }
                None
            }
        }
    }
}

#[async_trait]
impl Subscription for NatsSubscription {
    async fn next(&mut self) -> Result<Delivery, BusError> {
        loop {
            let messages = match self.messages.as_mut() {
                Some(messages) => messages,
                None => match self.pull().await {
                    Ok(messages) => self.messages.insert(messages),
                    Err(error) => {
                        tracing::warn!(consumer = %self.consumer_name, %error, "cannot pull; retrying");
                        tokio::time::sleep(self.settings.retry_delay).await;
                        continue;
                    }
                },
            };
            match messages.next().await {
                Some(Ok(message)) => {
                    if let Some(delivery) = self.delivery_of(message).await {
                        return Ok(delivery);
                    }
                }
                Some(Err(error)) => {
                    metrics::counter!("taskledger_bus_pull_errors_total", "consumer" => self.consumer_name.clone())
                        .increment(1);
                    tracing::warn!(consumer = %self.consumer_name, %error, "pull failed; pulling again");
                    self.messages = None;
                    tokio::time::sleep(self.settings.retry_delay).await;
                }
                None => {
                    tracing::warn!(consumer = %self.consumer_name, "pull ended; pulling again");
                    self.messages = None;
                }
            }
        }
    }
}

/// Acknowledges one delivery (`+ACK`) on its reply subject.
struct NatsAcknowledgement {
    acker: Acker,
}

#[async_trait]
impl Acknowledge for NatsAcknowledgement {
    async fn ack(self: Box<Self>) -> Result<(), BusError> {
        self.acker
            .ack_with(AckKind::Ack)
            .await
            .map_err(|error| BusError::Unavailable(format!("cannot acknowledge delivery: {error}")))
    }
}

/// The stored event an envelope carries.
fn decode(payload: &[u8]) -> Result<RecordedEvent, BusError> {
    let envelope = proto::pb::EventEnvelope::decode(payload)
        .map_err(|error| BusError::Decode(format!("not a protobuf EventEnvelope: {error}")))?;
    proto::recorded_from_envelope(&envelope)
        .map_err(|error| BusError::Decode(format!("envelope of event {:?}: {error}", envelope.event_id)))
}
