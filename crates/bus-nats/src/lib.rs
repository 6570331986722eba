//! The event bus on NATS JetStream: [`NatsBus`] implements `bus::EventBus` (the trait and the in-process bus are
//! in the `bus` crate; the relay that calls `publish` is `bus::relay`).
//!
//! What goes on the wire is the published contract of `proto/README.md`: one `taskledger.v1.EventEnvelope` per
//! message (protobuf binary), on the subject `taskledger.events.<aggregate>.<id>`, with the headers `Nats-Msg-Id`
//! (the event id, so that JetStream drops an event republished within its duplicate window) and
//! `Taskledger-Position` (the global position, read back by [`EventBus::last_published_position`] without decoding
//! the envelope).
//!
//! Map of the crate:
//! - this file: [`NatsBus`]: connecting, making sure the stream exists as configured, publishing, the last
//!   published position, health;
//! - [`config`]: [`NatsBusConfig`], and the JetStream stream and consumer configurations derived from it
//!   (documented for operators in `deploy/nats/README.md`);
//! - `subscription`: the durable pull subscription behind [`EventBus::subscribe`], which survives a NATS restart
//!   and terminates messages that are not event envelopes.
//!
//! Invariant: the stream holds events in the order they were published, and `publish` sends in position order on
//! one connection, so the stream's last message carries the highest position this process published. With several
//! relays (one per process) the last message may hold a lower position than another message; the relay that reads
//! it then republishes a little, which the duplicate window drops, or (beyond the window) consumers skip by
//! position. A publish that fails in the middle of a batch may leave a later event stored before an earlier one
//! is retried; consumers see the gap, and fetch the missing positions from the store.

pub mod config;
mod subscription;

use std::collections::VecDeque;
use std::time::Instant;

use async_nats::jetstream::context::{PublishAckFuture, PublishError, PublishErrorKind};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::LastRawMessageErrorKind;
use async_nats::{HeaderMap, ServerAddr};
use async_trait::async_trait;
use bus::{BusError, EventBus, Subscription};
use event_store::RecordedEvent;
use prost::Message as _;
use tracing::Instrument as _;

pub use config::{ConsumerSettings, NatsBusConfig};

/// The header that carries the event's global position, in decimal.
pub const POSITION_HEADER: &str = "Taskledger-Position";

/// The header that carries the event id, for JetStream's duplicate detection.
pub const MESSAGE_ID_HEADER: &str = "Nats-Msg-Id";

/// An event bus on one JetStream stream. Cheap to clone: clones share the connection.
#[derive(Clone)]
pub struct NatsBus {
    config: NatsBusConfig,
    jetstream: async_nats::jetstream::Context,
    stream: async_nats::jetstream::stream::Stream,
}

impl std::fmt::Debug for NatsBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsBus").field("config", &self.config).finish_non_exhaustive()
    }
}

impl NatsBus {
    /// Connects to NATS at `url` (or several servers of a cluster, comma-separated:
    /// `nats://n1:4222,nats://n2:4222`) and creates the stream, or updates it where its configuration differs from
    /// `config`. Fails when NATS does not answer, when JetStream is not enabled, or when the stream cannot be made
    /// as configured (a storage type cannot be changed by an update, for instance).
    pub async fn connect(url: &str, config: NatsBusConfig) -> Result<NatsBus, BusError> {
        config.validate()?;
        let addresses = url
            .split(',')
            .map(|address| address.trim().parse::<ServerAddr>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| BusError::Backend(format!("invalid NATS url {:?}: {error}", redacted(url))))?;
        let client = async_nats::ConnectOptions::new()
            .name("taskledger")
            .connection_timeout(config.request_timeout)
            .request_timeout(Some(config.request_timeout))
            .connect(addresses)
            .await
            .map_err(|error| BusError::Unavailable(format!("cannot connect to NATS at {}: {error}", redacted(url))))?;
        let jetstream = async_nats::jetstream::ContextBuilder::new()
            .timeout(config.request_timeout)
            .max_ack_inflight(config.max_publishes_in_flight)
            .build(client);
        let stream = ensure_stream(&jetstream, &config).await?;
        tracing::info!(url = %redacted(url), stream = %config.stream_name, subjects = %config.all_events_filter(), "connected to NATS JetStream");
        Ok(NatsBus { config, jetstream, stream })
    }

    /// The configuration the bus was connected with.
    pub fn config(&self) -> &NatsBusConfig {
        &self.config
    }

    /// The message for one event: its subject, its envelope and its headers.
    fn message_of(&self, event: &RecordedEvent) -> Result<(String, PublishMessage), BusError> {
        let cannot_publish = |reason: String| {
            BusError::Decode(format!(
                "event at position {} (stream {}) cannot be published: {reason}",
                event.global_position, event.stream_id
            ))
        };
        let subject = self
            .config
            .subject_for_stream(&event.stream_id)
            .ok_or_else(|| cannot_publish("its stream is not plan-, task- or access-<uuid>".to_owned()))?;
        let envelope = proto::envelope_from_recorded(event).map_err(|error| cannot_publish(error.to_string()))?;
        let mut headers = HeaderMap::new();
        headers.insert(MESSAGE_ID_HEADER, event.event_id.hyphenated().to_string());
        headers.insert(POSITION_HEADER, event.global_position.to_string());
        let publish = PublishMessage::build().payload(envelope.encode_to_vec().into()).headers(headers);
        Ok((subject, publish))
    }
}

#[async_trait]
impl EventBus for NatsBus {
    /// Sends every publish, up to `max_publishes_in_flight` ahead of their acknowledgements, and returns once each
    /// is acknowledged. Events are all converted before anything is sent, so an event that has no envelope
    /// publishes nothing (`BusError::Decode`, and the relay retries until a build that knows it runs).
    async fn publish(&self, events: &[RecordedEvent]) -> Result<(), BusError> {
        let (Some(first), Some(last)) = (events.first(), events.last()) else {
            return Ok(());
        };
        let span = tracing::info_span!(
            "bus_publish",
            stream = %self.config.stream_name,
            n_events = events.len(),
            first_position = first.global_position,
            last_position = last.global_position,
            n_duplicates = tracing::field::Empty,
        );
        async {
            let started = Instant::now();
            let messages = events.iter().map(|event| self.message_of(event)).collect::<Result<Vec<_>, _>>()?;
            let mut pending: VecDeque<(u64, PublishAckFuture)> = VecDeque::new();
            let mut n_duplicates = 0_u64;
            for (event, (subject, publish)) in events.iter().zip(messages) {
                if pending.len() >= self.config.max_publishes_in_flight {
                    let (position, acknowledgement) = pending.pop_front().expect("pending is not empty");
                    n_duplicates += u64::from(await_acknowledgement(position, acknowledgement).await?);
                }
                let acknowledgement = self
                    .jetstream
                    .send_publish(subject, publish)
                    .await
                    .map_err(|error| publish_error(event.global_position, &error))?;
                pending.push_back((event.global_position, acknowledgement));
            }
            for (position, acknowledgement) in pending {
                n_duplicates += u64::from(await_acknowledgement(position, acknowledgement).await?);
            }
            metrics::counter!("taskledger_bus_published_total").increment(events.len() as u64);
            metrics::counter!("taskledger_bus_publish_duplicates_total").increment(n_duplicates);
            metrics::histogram!("taskledger_bus_publish_duration_seconds").record(started.elapsed().as_secs_f64());
            tracing::Span::current().record("n_duplicates", n_duplicates);
            tracing::debug!("published");
            Ok(())
        }
        .instrument(span)
        .await
    }

    /// The `Taskledger-Position` of the stream's last message that has one; 0 for an empty stream.
    #[tracing::instrument(skip_all, fields(stream = %self.config.stream_name))]
    async fn last_published_position(&self) -> Result<u64, BusError> {
        let info = self.stream.get_info().await.map_err(|error| {
            BusError::Unavailable(format!("cannot read stream {}: {error}", self.config.stream_name))
        })?;
        let first_sequence = info.state.first_sequence.max(1);
        let mut sequence = info.state.last_sequence;
        let mut n_without_position = 0;
        while sequence >= first_sequence {
            match self.stream.get_raw_message(sequence).await {
                Ok(message) => match position_of(&message.headers) {
                    Some(position) => return Ok(position),
                    None => {
                        tracing::warn!(
                            sequence,
                            "message has no Taskledger-Position header; looking at the one before"
                        );
                        n_without_position += 1;
                        if n_without_position >= MAX_TRAILING_MESSAGES_WITHOUT_POSITION {
                            return Err(BusError::Backend(format!(
                                "the last {n_without_position} messages of stream {} carry no {POSITION_HEADER} header",
                                self.config.stream_name
                            )));
                        }
                    }
                },
                // Deleted by an operator: the one before tells as much.
                Err(error) if error.kind() == LastRawMessageErrorKind::NoMessageFound => {}
                Err(error) => {
                    return Err(BusError::Unavailable(format!(
                        "cannot read message {sequence} of stream {}: {error}",
                        self.config.stream_name
                    )))
                }
            }
            sequence -= 1;
        }
        Ok(0)
    }

    /// Creates the durable consumer `<consumer_name_prefix><consumer>`, or finds it; subscribers with the same
    /// name share its deliveries.
    #[tracing::instrument(skip_all, fields(stream = %self.config.stream_name, consumer = %consumer))]
    async fn subscribe(&self, consumer: &str) -> Result<Box<dyn Subscription>, BusError> {
        let consumer_name = self.config.consumer_name(consumer);
        if !config::is_valid_name(&consumer_name) {
            return Err(BusError::Backend(format!(
                "invalid consumer name {consumer_name:?}: must be non-empty without '.', '*', '>', '/', '\\' or whitespace"
            )));
        }
        let subscription = subscription::NatsSubscription::open(
            self.stream.clone(),
            consumer_name.clone(),
            self.config.consumer_config(&consumer_name),
            self.config.consumer.clone(),
        )
        .await?;
        tracing::info!(consumer_name = %consumer_name, "subscribed");
        Ok(Box::new(subscription))
    }

    /// A JetStream round trip that reads the stream's information: fails when NATS or JetStream does not answer,
    /// or the stream is gone. (Not the account information: async-nats 0.51 cannot read nats-server 2.9's.)
    async fn ping(&self) -> Result<(), BusError> {
        self.stream.get_info().await.map(|_| ()).map_err(|error| {
            BusError::Unavailable(format!(
                "NATS JetStream does not answer for stream {}: {error}",
                self.config.stream_name
            ))
        })
    }
}

/// How many messages at the end of the stream may lack a `Taskledger-Position` header (messages published by
/// something else than a taskledger relay) before [`EventBus::last_published_position`] gives up.
const MAX_TRAILING_MESSAGES_WITHOUT_POSITION: u64 = 1_000;

/// Gets the stream, creates it if it is missing, and updates the fields the configuration owns where they differ.
async fn ensure_stream(
    jetstream: &async_nats::jetstream::Context,
    config: &NatsBusConfig,
) -> Result<async_nats::jetstream::stream::Stream, BusError> {
    let stream_name = &config.stream_name;
    let mut stream = jetstream.get_or_create_stream(config.stream_config()).await.map_err(|error| {
        BusError::Unavailable(format!("cannot get or create JetStream stream {stream_name}: {error}"))
    })?;
    if let Some(update) = config.stream_update(&stream.cached_info().config) {
        tracing::info!(stream = %stream_name, "stream configuration differs from the bus configuration; updating it");
        jetstream.update_stream(&update).await.map_err(|error| {
            BusError::Backend(format!("cannot update JetStream stream {stream_name} to the bus configuration: {error}"))
        })?;
        stream.info().await.map_err(|error| {
            BusError::Unavailable(format!("cannot read JetStream stream {stream_name} after updating it: {error}"))
        })?;
    }
    Ok(stream)
}

/// Waits for one publish acknowledgement; true when JetStream dropped the message as a duplicate.
async fn await_acknowledgement(position: u64, acknowledgement: PublishAckFuture) -> Result<bool, BusError> {
    match acknowledgement.await {
        Ok(ack) => Ok(ack.duplicate),
        Err(error) => Err(publish_error(position, &error)),
    }
}

/// A failed publish: the bus is unavailable when NATS did not answer in time or has no stream for the subject;
/// anything else (a JetStream error answer) is a backend error.
fn publish_error(position: u64, error: &PublishError) -> BusError {
    let message = format!("cannot publish the event at position {position}: {error}");
    match error.kind() {
        PublishErrorKind::TimedOut
        | PublishErrorKind::BrokenPipe
        | PublishErrorKind::StreamNotFound
        | PublishErrorKind::MaxAckPending => BusError::Unavailable(message),
        _ => BusError::Backend(message),
    }
}

/// `url` without the user and password of any of its servers, for logs and errors.
fn redacted(url: &str) -> String {
    let servers = url.split(',').map(|server| match (server.find("://"), server.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => format!("{}://***{}", &server[..scheme_end], &server[at..]),
        (None, Some(at)) => format!("***{}", &server[at..]),
        _ => server.to_owned(),
    });
    servers.collect::<Vec<_>>().join(",")
}

/// The global position a message's header carries, if it carries a valid one.
fn position_of(headers: &HeaderMap) -> Option<u64> {
    headers.get(POSITION_HEADER).and_then(|value| value.as_str().parse().ok()).filter(|position| *position > 0)
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn urls_are_logged_without_credentials() {
        assert_eq!(redacted("nats://127.0.0.1:4222"), "nats://127.0.0.1:4222");
        assert_eq!(redacted("nats://user:secret@n1:4222,tls://token@n2:4222"), "nats://***@n1:4222,tls://***@n2:4222");
        assert_eq!(redacted("user:secret@n1:4222"), "***@n1:4222");
    }
}
