//! What [`crate::NatsBus`] asks of JetStream: the stream that holds every event and the durable pull consumers
//! that deliver them, both derived from one [`NatsBusConfig`]. `deploy/nats/README.md` documents the same
//! configuration for operators; keep the two in step.

use std::time::Duration;

use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy};
use async_nats::jetstream::stream::{self, DiscardPolicy, RetentionPolicy, StorageType};
use bus::BusError;
use event_store::StreamId;

/// How the bus sets up and uses JetStream. Every value of every field is accepted except names that NATS
/// refuses and zero sizes, which [`crate::NatsBus::connect`] rejects with a message naming the field.
#[derive(Debug, Clone, PartialEq)]
pub struct NatsBusConfig {
    /// The JetStream stream that holds every committed event: `TASKLEDGER_EVENTS`.
    pub stream_name: String,
    /// The first tokens of every event subject: `taskledger.events` (see `proto::subject`). The stream takes
    /// `<subject_prefix>.>`. Only tests and side-by-side installations on one NATS change it, since two streams
    /// cannot share subjects.
    pub subject_prefix: String,
    /// How long JetStream remembers a `Nats-Msg-Id` and drops a republished event: 2 minutes. A relay that
    /// republishes after a longer outage stores duplicates, which consumers skip by position.
    pub duplicate_window: Duration,
    /// Copies of the stream (and of each consumer's state) in a JetStream cluster: 1 for one server, 3 for a
    /// three-node cluster.
    pub num_replicas: usize,
    /// Put before the name given to `subscribe` to name the durable consumer: `taskledger-` gives
    /// `taskledger-projections`.
    pub consumer_name_prefix: String,
    /// The longest wait for a JetStream API answer or a publish acknowledgement: 5 seconds.
    pub request_timeout: Duration,
    /// Publishes sent ahead of their acknowledgements: 1,024. `publish` sends this many, then waits for the oldest
    /// acknowledgement before sending the next.
    pub max_publishes_in_flight: usize,
    /// How subscriptions pull.
    pub consumer: ConsumerSettings,
}

/// The durable pull consumers that `subscribe` opens, and how their subscriptions pull.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerSettings {
    /// How long JetStream waits for an acknowledgement before it redelivers: 30 seconds.
    pub ack_wait: Duration,
    /// Deliveries a consumer may hold unacknowledged, across all its subscribers: 10,000.
    pub max_ack_pending: i64,
    /// Messages asked for by one pull request: 256.
    pub batch_size: usize,
    /// How long a pull request waits on the server before it expires and is renewed: 30 seconds.
    pub pull_expires: Duration,
    /// The server's heartbeat on an idle pull request: 5 seconds. Two missed heartbeats (a server restart, a lost
    /// connection) make the subscription open a new pull.
    pub idle_heartbeat: Duration,
    /// The wait before a failed pull is opened again: 500 ms.
    pub retry_delay: Duration,
}

/// The default stream name.
pub const DEFAULT_STREAM_NAME: &str = "TASKLEDGER_EVENTS";

/// The default durable consumer name prefix.
pub const DEFAULT_CONSUMER_NAME_PREFIX: &str = "taskledger-";

impl Default for NatsBusConfig {
    fn default() -> Self {
        NatsBusConfig {
            stream_name: DEFAULT_STREAM_NAME.to_owned(),
            subject_prefix: proto::subject::SUBJECT_PREFIX.to_owned(),
            duplicate_window: Duration::from_secs(120),
            num_replicas: 1,
            consumer_name_prefix: DEFAULT_CONSUMER_NAME_PREFIX.to_owned(),
            request_timeout: Duration::from_secs(5),
            max_publishes_in_flight: 1_024,
            consumer: ConsumerSettings::default(),
        }
    }
}

impl Default for ConsumerSettings {
    fn default() -> Self {
        ConsumerSettings {
            ack_wait: Duration::from_secs(30),
            max_ack_pending: 10_000,
            batch_size: 256,
            pull_expires: Duration::from_secs(30),
            idle_heartbeat: Duration::from_secs(5),
            retry_delay: Duration::from_millis(500),
        }
    }
}

impl NatsBusConfig {
    /// The filter that matches every event subject: `taskledger.events.>`.
    pub fn all_events_filter(&self) -> String {
        format!("{}.>", self.subject_prefix)
    }

    /// The subject of a stream's events under this prefix: `<subject_prefix>.task.<uuid>`. The tail after the
    /// prefix is `proto::subject::subject_for_stream`'s, so there is one definition of it. `None` for a stream
    /// that is not `plan-<uuid>` or `task-<uuid>`.
    pub fn subject_for_stream(&self, stream_id: &StreamId) -> Option<String> {
        let subject = proto::subject::subject_for_stream(stream_id)?;
        let tail = subject.strip_prefix(proto::subject::SUBJECT_PREFIX)?;
        Some(format!("{}{tail}", self.subject_prefix))
    }

    /// The durable consumer behind `subscribe(consumer)`.
    pub fn consumer_name(&self, consumer: &str) -> String {
        format!("{}{consumer}", self.consumer_name_prefix)
    }

    /// Refuses what NATS would refuse later, with a message that names the field.
    pub(crate) fn validate(&self) -> Result<(), BusError> {
        let invalid =
            |field: &str, reason: &str| Err(BusError::Backend(format!("invalid bus config: {field} {reason}")));
        if !is_valid_name(&self.stream_name) {
            return invalid("stream_name", "must be non-empty without '.', '*', '>', '/', '\\' or whitespace");
        }
        let valid_prefix = !self.subject_prefix.is_empty()
            && self.subject_prefix.split('.').all(|token| is_valid_name(token) && !token.is_empty());
        if !valid_prefix {
            return invalid("subject_prefix", "must be dot-separated non-empty tokens without wildcards or whitespace");
        }
        if !self.consumer_name_prefix.chars().all(is_valid_name_char) {
            return invalid("consumer_name_prefix", "must not contain '.', '*', '>', '/', '\\' or whitespace");
        }
        if self.num_replicas == 0 || self.num_replicas > 5 {
            return invalid("num_replicas", "must be 1 to 5");
        }
        if self.max_publishes_in_flight == 0 {
            return invalid("max_publishes_in_flight", "must be 1 or more");
        }
        if self.consumer.batch_size == 0 || self.consumer.max_ack_pending <= 0 {
            return invalid("consumer", "batch_size and max_ack_pending must be 1 or more");
        }
        if self.consumer.idle_heartbeat.is_zero() || self.consumer.idle_heartbeat * 2 > self.consumer.pull_expires {
            return invalid("consumer.idle_heartbeat", "must be more than zero and at most half of pull_expires");
        }
        Ok(())
    }

    /// The stream as this configuration wants it.
    pub(crate) fn stream_config(&self) -> stream::Config {
        stream::Config {
            name: self.stream_name.clone(),
            description: Some(STREAM_DESCRIPTION.to_owned()),
            subjects: vec![self.all_events_filter()],
            retention: RetentionPolicy::Limits,
            discard: DiscardPolicy::Old,
            storage: StorageType::File,
            num_replicas: self.num_replicas,
            duplicate_window: self.duplicate_window,
            max_age: Duration::ZERO,
            max_messages: -1,
            max_bytes: -1,
            max_messages_per_subject: -1,
            max_consumers: -1,
            ..stream::Config::default()
        }
    }

    /// `current` with the fields this configuration owns set as it wants them, or `None` when they already are.
    /// Every other field (limits an operator set by hand, placement, sources) is kept.
    pub(crate) fn stream_update(&self, current: &stream::Config) -> Option<stream::Config> {
        let wanted = self.stream_config();
        let owned_fields_match = current.subjects == wanted.subjects
            && current.duplicate_window == wanted.duplicate_window
            && current.storage == wanted.storage
            && current.max_age == wanted.max_age
            && current.num_replicas == wanted.num_replicas
            && current.retention == wanted.retention;
        if owned_fields_match {
            return None;
        }
        Some(stream::Config {
            subjects: wanted.subjects,
            duplicate_window: wanted.duplicate_window,
            storage: wanted.storage,
            max_age: wanted.max_age,
            num_replicas: wanted.num_replicas,
            retention: wanted.retention,
            ..current.clone()
        })
    }

    /// The durable pull consumer named `consumer_name`.
    pub(crate) fn consumer_config(&self, consumer_name: &str) -> pull::Config {
        pull::Config {
            durable_name: Some(consumer_name.to_owned()),
            description: Some(CONSUMER_DESCRIPTION.to_owned()),
            deliver_policy: DeliverPolicy::All,
            ack_policy: AckPolicy::Explicit,
            ack_wait: self.consumer.ack_wait,
            max_ack_pending: self.consumer.max_ack_pending,
            filter_subject: self.all_events_filter(),
            num_replicas: 0,
            ..pull::Config::default()
        }
    }
}

const STREAM_DESCRIPTION: &str = "taskledger: every committed event, one taskledger.v1.EventEnvelope per message";

const CONSUMER_DESCRIPTION: &str = "taskledger: a durable consumer of every committed event";

/// A NATS stream or consumer name: not empty, no subject separators, wildcards, path separators or whitespace.
pub(crate) fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(is_valid_name_char)
}

fn is_valid_name_char(character: char) -> bool {
    !matches!(character, '.' | '*' | '>' | '/' | '\\') && !character.is_whitespace() && !character.is_control()
}
