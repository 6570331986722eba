//! [`NatsChannel`]: a delivery published as JSON ([`crate::channels::payload::ReminderEvent`]) to JetStream, for
//! other systems of the province to consume at their own pace.
//!
//! The subject is `taskledger.notifications.<recipient id>` ([`notification_subject`]), so that a consumer can
//! follow one user or one unit; the recipient id is escaped into one subject token ([`subject_token`]), and
//! [`Delivery::address`] is not read. The header
//! `Nats-Msg-Id` is the delivery id, so a delivery published again (a retry after a lost acknowledgement, another
//! replica) within the stream's duplicate window is dropped by JetStream; the receipt says so. A delivery is
//! taken only when JetStream has acknowledged it: the receipt carries the stream sequence.
//!
//! The stream `TASKLEDGER_NOTIFICATIONS` (file storage, subjects `taskledger.notifications.>`) is created on
//! construction, or updated where the fields this module owns differ. The event bus's stream
//! (`crates/bus-nats`) is another one, on other subjects.

use std::time::Duration;

use async_nats::jetstream::context::{PublishError, PublishErrorKind};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::{self, DiscardPolicy, RetentionPolicy, StorageType};
use async_trait::async_trait;
use bytes::Bytes;
use tracing::{debug, warn};

use crate::channel::{Channel, ChannelKind, Delivery, DeliveryError, Receipt};
use crate::channels::payload::ReminderEvent;

/// The default stream name.
pub const DEFAULT_STREAM_NAME: &str = "TASKLEDGER_NOTIFICATIONS";
/// The default first tokens of every notification subject.
pub const DEFAULT_SUBJECT_PREFIX: &str = "taskledger.notifications";
/// The header that carries the reminder's occurrence key, beside `Nats-Msg-Id`.
pub const OCCURRENCE_HEADER: &str = "Taskledger-Occurrence";
/// Present (`true`) on a delivery whose send may have happened before (`Delivery::redelivery`).
pub const REDELIVERY_HEADER: &str = "Taskledger-Redelivery";

/// How the channel sets up and uses its stream.
#[derive(Debug, Clone, PartialEq)]
pub struct NatsChannelConfig {
    /// `TASKLEDGER_NOTIFICATIONS`.
    pub stream_name: String,
    /// `taskledger.notifications`; the stream takes `<subject_prefix>.>`. Only tests and side-by-side
    /// installations on one NATS change it, since two streams cannot share subjects.
    pub subject_prefix: String,
    /// How long JetStream remembers a `Nats-Msg-Id` and drops a delivery published again: 24 hours, most of the
    /// retry ladder's span.
    pub duplicate_window: Duration,
    /// How long a notification stays in the stream: 30 days.
    pub max_age: Duration,
    /// Copies of the stream in a JetStream cluster: 1 for one server, 3 for a three-node cluster.
    pub num_replicas: usize,
    /// The longest wait for a JetStream API answer or a publish acknowledgement: 5 seconds.
    pub request_timeout: Duration,
}

/// Publishes deliveries to JetStream.
#[derive(Debug)]
pub struct NatsChannel {
    config: NatsChannelConfig,
    jetstream: async_nats::jetstream::Context,
}

/// Why the channel could not set up its stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NatsChannelError {
    #[error("cannot get or create JetStream stream {stream_name}: {reason}")]
    CreateStream { stream_name: String, reason: String },
    #[error("cannot update JetStream stream {stream_name} to the notification configuration: {reason}")]
    UpdateStream { stream_name: String, reason: String },
}

impl Default for NatsChannelConfig {
    fn default() -> Self {
        NatsChannelConfig {
            stream_name: DEFAULT_STREAM_NAME.to_owned(),
            subject_prefix: DEFAULT_SUBJECT_PREFIX.to_owned(),
            duplicate_window: Duration::from_secs(24 * 60 * 60),
            max_age: Duration::from_secs(30 * 24 * 60 * 60),
            num_replicas: 1,
            request_timeout: Duration::from_secs(5),
        }
    }
}

impl NatsChannelConfig {
    /// The stream as this channel wants it.
    pub fn stream_config(&self) -> stream::Config {
        stream::Config {
            name: self.stream_name.clone(),
            description: Some("taskledger notifications: reminders as JSON, one subject per recipient".to_owned()),
            subjects: vec![format!("{}.>", self.subject_prefix)],
            retention: RetentionPolicy::Limits,
            discard: DiscardPolicy::Old,
            storage: StorageType::File,
            num_replicas: self.num_replicas,
            duplicate_window: self.duplicate_window,
            max_age: self.max_age,
            ..stream::Config::default()
        }
    }
}

impl NatsChannel {
    /// Creates the stream, or updates the fields this channel owns (subjects, storage, duplicate window, age,
    /// replicas) where they differ, keeping any other setting an operator made.
    pub async fn connect(
        client: async_nats::Client,
        config: NatsChannelConfig,
    ) -> Result<NatsChannel, NatsChannelError> {
        let jetstream = async_nats::jetstream::ContextBuilder::new().timeout(config.request_timeout).build(client);
        let wanted = config.stream_config();
        let mut stream = jetstream.get_or_create_stream(wanted.clone()).await.map_err(|error| {
            NatsChannelError::CreateStream { stream_name: config.stream_name.clone(), reason: error.to_string() }
        })?;
        let current = stream.cached_info().config.clone();
        let owned_fields_match = current.subjects == wanted.subjects
            && current.storage == wanted.storage
            && current.duplicate_window == wanted.duplicate_window
            && current.max_age == wanted.max_age
            && current.num_replicas == wanted.num_replicas;
        if !owned_fields_match {
            let update = stream::Config {
                subjects: wanted.subjects,
                storage: wanted.storage,
                duplicate_window: wanted.duplicate_window,
                max_age: wanted.max_age,
                num_replicas: wanted.num_replicas,
                ..current
            };
            jetstream.update_stream(&update).await.map_err(|error| NatsChannelError::UpdateStream {
                stream_name: config.stream_name.clone(),
                reason: error.to_string(),
            })?;
            stream.info().await.map_err(|error| NatsChannelError::UpdateStream {
                stream_name: config.stream_name.clone(),
                reason: error.to_string(),
            })?;
        }
        tracing::info!(stream = %config.stream_name, subjects = %format!("{}.>", config.subject_prefix), "notification stream ready");
        Ok(NatsChannel { config, jetstream })
    }

    /// The configuration the channel was connected with.
    pub fn config(&self) -> &NatsChannelConfig {
        &self.config
    }
}

#[async_trait]
impl Channel for NatsChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Nats
    }

    #[tracing::instrument(skip_all, fields(delivery_id = %delivery.delivery_id, attempt = delivery.attempt))]
    async fn deliver(&self, delivery: &Delivery) -> Result<Receipt, DeliveryError> {
        let subject = notification_subject(&self.config.subject_prefix, &delivery.recipient.id);
        let body = serde_json::to_vec(&ReminderEvent::from_delivery(delivery))
            .map_err(|error| DeliveryError::Permanent(format!("the reminder does not serialise: {error}")))?;
        let mut publish = PublishMessage::build()
            .message_id(&delivery.delivery_id)
            .header(OCCURRENCE_HEADER, delivery.reminder.occurrence_key.as_str());
        if delivery.redelivery {
            publish = publish.header(REDELIVERY_HEADER, "true");
        }
        let publish = publish.payload(Bytes::from(body));
        let outcome = match self.jetstream.send_publish(subject.clone(), publish).await {
            Ok(acknowledgement) => match acknowledgement.await {
                Ok(ack) => Ok(Receipt {
                    detail: if ack.duplicate {
                        format!("stream {} sequence {} (duplicate, already published)", ack.stream, ack.sequence)
                    } else {
                        format!("stream {} sequence {}", ack.stream, ack.sequence)
                    },
                }),
                Err(error) => Err(classify_publish_error(&subject, &error)),
            },
            Err(error) => Err(classify_publish_error(&subject, &error)),
        };
        match &outcome {
            Ok(receipt) => debug!(%subject, detail = %receipt.detail, "notification published"),
            Err(error) => warn!(%subject, %error, "notification not published"),
        }
        outcome
    }
}

/// `<prefix>.<recipient id as one token>`.
pub fn notification_subject(subject_prefix: &str, recipient_id: &str) -> String {
    format!("{subject_prefix}.{}", subject_token(recipient_id))
}

/// A text as one NATS subject token. A token cannot contain `.`, `*`, `>` or whitespace, nor be empty; those
/// characters (and `%`, and control characters) are written `%XX` with their UTF-8 bytes in hex, so that two
/// different ids never share a token and the id can be read back. Ids of letters, digits, `-` and `_` (user
/// ids, unit codes) are unchanged. The empty id is `%`, which no other id gives (every other `%` is followed by two
/// hex digits).
pub fn subject_token(text: &str) -> String {
    if text.is_empty() {
        return "%".to_owned();
    }
    let mut token = String::with_capacity(text.len());
    for character in text.chars() {
        let must_escape =
            matches!(character, '.' | '*' | '>' | '%') || character.is_whitespace() || character.is_control();
        if must_escape {
            let mut utf8 = [0_u8; 4];
            for byte in character.encode_utf8(&mut utf8).bytes() {
                token.push_str(&format!("%{byte:02X}"));
            }
        } else {
            token.push(character);
        }
    }
    token
}

/// A refused or unanswered publish: JetStream not answering, no stream for the subject (deleted by an operator)
/// and any JetStream error answer may pass; a message larger than the server takes never will.
fn classify_publish_error(subject: &str, error: &PublishError) -> DeliveryError {
    let detail = format!("publishing to {subject} failed: {error}");
    match error.kind() {
        PublishErrorKind::MaxPayloadExceeded
        | PublishErrorKind::WrongLastMessageId
        | PublishErrorKind::WrongLastSequence => DeliveryError::Permanent(detail),
        _ => DeliveryError::Transient(detail),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ids_are_their_own_token() {
        assert_eq!(subject_token("SKHCN"), "SKHCN");
        assert_eq!(subject_token("u-nguyen_van-an-01"), "u-nguyen_van-an-01");
        assert_eq!(notification_subject(DEFAULT_SUBJECT_PREFIX, "SKHCN"), "taskledger.notifications.SKHCN");
    }

    #[test]
    fn forbidden_characters_are_escaped_and_never_collide() {
        assert_eq!(subject_token("a.b"), "a%2Eb");
        assert_eq!(subject_token("*"), "%2A");
        assert_eq!(subject_token(">"), "%3E");
        assert_eq!(subject_token("tổ 1\tphòng\n"), "tổ%201%09phòng%0A");
        assert_eq!(subject_token("a%2Eb"), "a%252Eb");
        assert_eq!(subject_token("\u{3000}"), "%E3%80%80");
        assert_eq!(subject_token(""), "%");
        for id in ["a.b", "a b", "a*b", "a>b", "a%b", "", "ab"] {
            let token = subject_token(id);
            assert!(!token.is_empty());
            assert!(!token.contains(['.', '*', '>']) && !token.contains(char::is_whitespace), "{token:?}");
        }
    }
}
