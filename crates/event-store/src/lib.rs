//! The event store contract: the one trait that the command service writes through and every reader follows,
//! and the types that cross it.
//!
//! Backends live in their own crates (`event-store-postgres`, `event-store-sqlite`) and pass the same contract
//! suite (`testing`). Hashing of stored events (`canonical`) is defined here, once, so that every backend and the
//! `taskledger verify` command compute the chain the same way.
//!
//! Map of the crate:
//! - this file: the [`EventStore`] trait and the types that cross it;
//! - [`canonical`]: the canonical bytes of a stored event and the hash chain over them
//!   (specified for third parties in `docs/event-hash-chain.md`);
//! - [`verify`]: recomputes the chain over a sequence of events or a whole store;
//! - [`batch`]: the decisions of one append transaction (expected versions, idempotency, positions, hashes),
//!   made in memory once so that every backend makes them the same way;
//! - [`group_commit`]: one writer task that batches concurrent appends into one transaction;
//! - `testing` (cargo feature `testing`): the contract suite every backend instantiates.

pub mod batch;
pub mod canonical;
pub mod group_commit;
#[cfg(feature = "testing")]
pub mod testing;
pub mod verify;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use tokio::sync::mpsc;
use uuid::Uuid;

/// Who did it, as taken from a verified token. Never from a request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub id: String,
    pub name: String,
    pub unit: String,
    pub role: String,
}

/// A stream name such as `task-0190f5c4-…`. Any non-empty string up to 200 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StreamId(pub String);

impl StreamId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the writer expects the stream's version to be before its events are appended.
/// A stream's version is the number of events in it; a stream that does not exist has version 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExpectedVersion {
    /// Append whatever the current version is.
    Any,
    /// The stream must not exist yet (version 0).
    NoStream,
    /// The stream must be exactly at this version.
    Exact(u64),
}

/// One event as the command side hands it to the store. Position, version, time and hash are the store's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    /// UUID v7, chosen by the caller so that a retried request can be recognised.
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: u32,
    /// The business date the event speaks of (a report's cut-off date), where one applies.
    pub effective_date: Option<Date>,
    pub payload: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamAppend {
    pub stream_id: StreamId,
    pub expected_version: ExpectedVersion,
    pub events: Vec<NewEvent>,
}

/// Makes a command safe to retry: the same key with the same fingerprint returns the first outcome and appends
/// nothing; the same key with another fingerprint is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Idempotency {
    pub key: Uuid,
    /// A digest of the request (route and body) chosen by the caller.
    pub fingerprint: String,
}

/// Everything one command writes, atomically: all streams or none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppendRequest {
    pub command_id: Uuid,
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
    pub actor: Actor,
    pub idempotency: Option<Idempotency>,
    /// The id the command's answer names (a task id, a report id), kept with the idempotency record so that
    /// a replay answers with the same id.
    pub subject_id: String,
    /// The stream whose version the command's answer reports.
    pub subject_stream: StreamId,
    pub streams: Vec<StreamAppend>,
}

/// What a successful append answers, and what an idempotent replay answers again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendOutcome {
    pub subject_id: String,
    /// The subject stream's version after the append.
    pub subject_version: u64,
    /// Global positions of the first and last appended events (equal when one event was appended).
    pub first_position: u64,
    pub last_position: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
    /// True when this answer is a replay of an earlier append with the same idempotency key.
    pub replayed: bool,
}

/// An event as stored: the caller's event plus the store's provenance and chain hash.
///
/// The payload is decoded JSON (`RecordedEvent`, what every reader but the verifier wants), or the exact stored
/// text ([`StoredText`]), which is the payload's canonical text that the hash covers: verification hashes it as it
/// is, without decoding and re-encoding it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedEvent<P = serde_json::Value> {
    /// 1-based, gap-free, in commit order.
    pub global_position: u64,
    pub event_id: Uuid,
    pub stream_id: StreamId,
    /// 1-based version of this event inside its stream.
    pub stream_version: u64,
    pub event_type: String,
    pub schema_version: u32,
    pub effective_date: Option<Date>,
    /// Set by the store, truncated to microseconds, UTC.
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
    pub actor: Actor,
    pub command_id: Uuid,
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
    pub payload: P,
    /// The previous event's `hash` (64 zeros before the first event) — see `canonical`.
    pub prev_hash: String,
    /// Lowercase hex SHA-256 of `prev_hash` (as 32 raw bytes) followed by this event's canonical bytes.
    pub hash: String,
}

impl<P> RecordedEvent<P> {
    /// The same event with its payload turned into another form.
    pub fn map_payload<Q>(self, payload_of: impl FnOnce(P) -> Q) -> RecordedEvent<Q> {
        RecordedEvent {
            global_position: self.global_position,
            event_id: self.event_id,
            stream_id: self.stream_id,
            stream_version: self.stream_version,
            event_type: self.event_type,
            schema_version: self.schema_version,
            effective_date: self.effective_date,
            recorded_at: self.recorded_at,
            actor: self.actor,
            command_id: self.command_id,
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            payload: payload_of(self.payload),
            prev_hash: self.prev_hash,
            hash: self.hash,
        }
    }
}

/// An event whose payload is the text the store holds, byte for byte (see [`EventStore::read_all_stored`]).
pub type StoredText = RecordedEvent<String>;

/// The end of the log: the last position and its hash (position 0 and 64 zeros for an empty log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogHead {
    pub position: u64,
    pub hash: String,
}

/// One event's position and chain hash: all the transparency log's tree needs of it (its leaf is the hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionHash {
    pub global_position: u64,
    pub hash: String,
}

/// A signed checkpoint as stored: the tree size it covers and the signed note (`docs/transparency-log.md`).
/// The store keeps the note as given; whoever reads it opens it with the log's verifier key. A stored checkpoint
/// covers at least one event (`tree_size >= 1`): the empty log has nothing to attest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCheckpoint {
    pub tree_size: u64,
    pub note: String,
}

/// Why an append wrote nothing. Every variant but `Store` is about the request itself and is final: retrying the
/// same request gives the same answer. `Store` is about the store and may pass on retry (with an idempotency key,
/// a retry is safe even when the first attempt did commit).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppendError {
    #[error("stream {stream_id:?} is at version {actual}, expected {expected:?}")]
    WrongExpectedVersion { stream_id: StreamId, expected: ExpectedVersion, actual: u64 },
    #[error("idempotency key {key} was already used for a different request")]
    IdempotencyKeyReused { key: Uuid },
    #[error("an append must write at least one event")]
    Empty,
    #[error("stream id {stream_id:?} must be 1 to 200 bytes long and contain no NUL character")]
    InvalidStreamId { stream_id: StreamId },
    #[error("{field} must not contain a NUL character")]
    NulCharacter { field: &'static str },
    #[error("event id {event_id} is already used by another event")]
    DuplicateEventId { event_id: Uuid },
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("event store is unavailable: {0}")]
    Unavailable(String),
    #[error("stored event at position {position} cannot be read: {reason}")]
    Corrupt { position: u64, reason: String },
    #[error("event store error: {0}")]
    Backend(String),
}

#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// Appends all streams of the request in one transaction, or nothing.
    async fn append(&self, request: AppendRequest) -> Result<AppendOutcome, AppendError>;

    /// The outcome recorded for an idempotency key, if the key was used: `Ok(Some)` with `replayed = true` when the
    /// fingerprint matches, `Err(IdempotencyKeyReused)` when it does not.
    async fn find_idempotent(&self, idempotency: &Idempotency) -> Result<Option<AppendOutcome>, AppendError>;

    /// Events of one stream with `stream_version > after_version`, in version order.
    async fn read_stream(&self, stream_id: &StreamId, after_version: u64) -> Result<Vec<RecordedEvent>, StoreError>;

    /// [`EventStore::read_stream`] with each payload as the text stored, not decoded: for a reader that decodes the
    /// text straight into its own types, without a `serde_json::Value` in between.
    async fn read_stream_stored(&self, stream_id: &StreamId, after_version: u64)
        -> Result<Vec<StoredText>, StoreError>;

    /// [`EventStore::read_stream_stored`] of a whole stream without the events of `skipped_types`, except the
    /// stream's last event, which is always read so that the last version read is the stream's version. One
    /// snapshot, in version order: for a fold that some of a stream's events do not change.
    async fn read_stream_stored_except(
        &self,
        stream_id: &StreamId,
        skipped_types: &[&str],
    ) -> Result<Vec<StoredText>, StoreError>;

    /// At most `limit` events with `global_position > after_position`, in position order. A reader that follows
    /// the log with this call sees every committed event exactly once, never a gap that is filled later.
    async fn read_all(&self, after_position: u64, limit: usize) -> Result<Vec<RecordedEvent>, StoreError>;

    /// [`EventStore::read_all`] with each payload as the text stored, not decoded: what verification hashes.
    async fn read_all_stored(&self, after_position: u64, limit: usize) -> Result<Vec<StoredText>, StoreError>;

    /// The events after `after_position` up to `up_to_position` (included), read as [`EventStore::read_all_stored`]
    /// reads them, sent to `chunks` in position order, at most `chunk_size` at a time, while the next ones are read:
    /// the whole log, for verification, without waiting for one page to be handled before the next is asked for.
    /// Returns when every event was sent, at the first error, or as soon as the receiver is gone.
    ///
    /// The default pages through `read_all_stored`; a backend that can stream one query overrides it.
    async fn stream_stored(
        &self,
        after_position: u64,
        up_to_position: u64,
        chunk_size: usize,
        chunks: mpsc::Sender<Vec<StoredText>>,
    ) -> Result<(), StoreError> {
        let mut read_up_to = after_position;
        while read_up_to < up_to_position {
            let mut page = self.read_all_stored(read_up_to, chunk_size.max(1)).await?;
            page.retain(|event| event.global_position <= up_to_position);
            let Some(last) = page.last() else { break };
            read_up_to = last.global_position;
            if chunks.send(page).await.is_err() {
                break;
            }
        }
        Ok(())
    }

    /// Events of the given types, in position order, after a position, at most `limit`.
    async fn read_by_type(
        &self,
        event_types: &[&str],
        after_position: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError>;

    /// The last position and hash.
    async fn head(&self) -> Result<LogHead, StoreError>;

    /// At most `limit` positions and chain hashes after `after_position`, in position order: the leaves of the
    /// transparency log, read without the events' other columns.
    async fn read_hashes(&self, after_position: u64, limit: usize) -> Result<Vec<PositionHash>, StoreError>;

    /// The global position of the event with this id, if the log holds it.
    async fn position_of_event(&self, event_id: Uuid) -> Result<Option<u64>, StoreError>;

    /// Stores a signed checkpoint unless one of the same tree size is stored already (whose note is then kept:
    /// two processes that sign the same size at once both succeed). Answers whether this note was stored.
    async fn put_checkpoint(&self, checkpoint: &StoredCheckpoint) -> Result<bool, StoreError>;

    /// At most `limit` stored checkpoints with `tree_size > after_size`, smallest first.
    async fn checkpoints(&self, after_size: u64, limit: usize) -> Result<Vec<StoredCheckpoint>, StoreError>;

    /// The stored checkpoint of the largest tree size, if any.
    async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError>;

    /// A cheap round trip that tells whether the store answers (for `/readyz`).
    async fn ping(&self) -> Result<(), StoreError>;
}
