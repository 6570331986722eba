//! The decisions of one append transaction, made in memory so that every backend makes them the same way.
//!
//! A backend's `append_batch` (see [`crate::group_commit`]) runs one transaction for many requests:
//!
//! 1. lock the log head (this is what orders writers; how is the backend's business);
//! 2. read what [`BatchLookups::of`] asks for into a [`StoredState`]: the head, the clock, the current versions of
//!    the streams the batch touches, the idempotency records of its keys and which of its event ids already exist;
//! 3. call [`plan_batch`], which answers every request on its own and lays out the events to insert, with their
//!    positions, versions, `recorded_at` and chain hashes;
//!
//! Requests reach the writer as [`PreparedRequest`]s: checked, and with each payload already in the canonical text
//! that is stored and hashed, made on the caller's thread, so that the writer (one batch at a time) spends none of
//! its time on it.
//! 4. write [`BatchPlan::events`], [`BatchPlan::idempotency_records`] and [`BatchPlan::head`], commit, and only then
//!    hand out [`BatchPlan::replies`].
//!
//! A backend may instead plan against a [`StoredState`] it assumes from its previous batches, provided that it
//! writes the plan only after checking, under the head lock, that the stored state is the assumed one
//! (PostgreSQL's one-round-trip path, `event-store-postgres/src/append.rs`), and that the `now` it assumed is close
//! to the store's clock: the plan is then the one that the state read under the lock would have given.
//!
//! A request that fails a check gets its own error and leaves the rest of the batch alone: the plan tracks the
//! versions, keys and event ids written by earlier requests of the same batch, so a later request is judged exactly
//! as if the earlier ones had committed in transactions of their own.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use time::OffsetDateTime;
use uuid::Uuid;

use serde_json::Value;

use crate::canonical::{self, canonical_json, chain_hash, truncate_to_micros, write_canonical_envelope};
use crate::{
    AppendError, AppendOutcome, AppendRequest, ExpectedVersion, Idempotency, LogHead, RecordedEvent, StoreError,
    StreamId,
};

/// An append request as the writer takes it: checked by [`validate_request`], and with each event's payload turned
/// into its RFC 8785 text (what the backends store and the hash covers) on the caller's thread.
#[derive(Debug, Clone)]
pub struct PreparedRequest {
    /// The request, each event's payload left `null`: its text is in `canonical_payloads`.
    request: AppendRequest,
    /// One text per event, in the order of the request's streams and of their events; shared with the plans made
    /// of the request (a batch may be planned twice), never copied.
    canonical_payloads: Vec<Arc<str>>,
}

impl PreparedRequest {
    /// Checks `request` and canonicalises its payloads, dropping the values.
    pub fn new(mut request: AppendRequest) -> Result<Self, AppendError> {
        validate_request(&request)?;
        let canonical_payloads = request
            .streams
            .iter_mut()
            .flat_map(|stream| stream.events.iter_mut())
            .map(|event| {
                let text = Arc::from(canonical_json(&event.payload));
                event.payload = Value::Null;
                text
            })
            .collect();
        Ok(PreparedRequest { request, canonical_payloads })
    }

    /// The request; its events' payloads are `null` (see [`PreparedRequest::canonical_payloads`]).
    pub fn request(&self) -> &AppendRequest {
        &self.request
    }

    /// Each event's payload as canonical text, in the order of the request's streams and of their events.
    pub fn canonical_payloads(&self) -> &[Arc<str>] {
        &self.canonical_payloads
    }

    pub fn n_events(&self) -> usize {
        self.canonical_payloads.len()
    }
}

/// The longest stream id the store accepts, in bytes.
pub const MAX_STREAM_ID_BYTES: usize = 200;

/// What a backend reads inside the transaction before it can plan a batch.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BatchLookups {
    /// Every stream the batch appends to or reports as a subject, each once, sorted.
    pub stream_ids: Vec<StreamId>,
    /// Every idempotency key of the batch, each once, sorted.
    pub idempotency_keys: Vec<Uuid>,
    /// Every event id of the batch, each once, sorted.
    pub event_ids: Vec<Uuid>,
}

/// The stored state a batch is planned against, read inside the transaction after the head was locked (or assumed,
/// then checked under the lock before the plan is written).
#[derive(Debug, Clone)]
pub struct StoredState {
    pub head: LogHead,
    /// `recorded_at` of the event at the head (`None` for an empty log). The plan never records an earlier time,
    /// so `recorded_at` never decreases along the log even if the clock steps back.
    pub head_recorded_at: Option<OffsetDateTime>,
    /// The store's clock, read once for the whole batch.
    pub now: OffsetDateTime,
    /// Current versions of the looked-up streams; a stream missing here has version 0.
    pub stream_versions: HashMap<StreamId, u64>,
    /// Records of the looked-up idempotency keys that were used before.
    pub idempotency_records: HashMap<Uuid, IdempotencyRecord>,
    /// The looked-up event ids that are already stored.
    pub existing_event_ids: HashSet<Uuid>,
}

/// What the store keeps for an idempotency key: the request's fingerprint and the outcome it was answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub fingerprint: String,
    /// The first answer, with `replayed = false`.
    pub outcome: AppendOutcome,
}

/// An idempotency record the batch writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIdempotencyRecord {
    pub key: Uuid,
    pub record: IdempotencyRecord,
}

/// Everything the transaction writes and then answers.
#[derive(Debug, Clone)]
pub struct BatchPlan {
    /// One reply per request, in request order. Hand them out only after the commit.
    pub replies: Vec<Result<AppendOutcome, AppendError>>,
    /// The events to insert, in position order, positions contiguous from the old head's position + 1; their
    /// payloads are in `canonical_payloads`.
    pub events: Vec<RecordedEvent<()>>,
    /// The RFC 8785 text of each event's payload, in the order of `events`: what the backends store, the very
    /// text the hash covers (computed once for both).
    pub canonical_payloads: Vec<Arc<str>>,
    pub idempotency_records: Vec<NewIdempotencyRecord>,
    /// The head after the batch (unchanged when no event is written).
    pub head: LogHead,
    /// `recorded_at` of the batch's events (all share it); the head's `recorded_at` after the batch.
    pub recorded_at: OffsetDateTime,
}

impl BatchLookups {
    /// What to read for `batch` (its requests were checked by [`validate_request`], so no value can make the
    /// lookup queries themselves fail).
    pub fn of(batch: &[PreparedRequest]) -> Self {
        let mut stream_ids = BTreeSet::new();
        let mut idempotency_keys = BTreeSet::new();
        let mut event_ids = BTreeSet::new();
        for request in batch.iter().map(PreparedRequest::request) {
            stream_ids.insert(&request.subject_stream);
            if let Some(idempotency) = &request.idempotency {
                idempotency_keys.insert(idempotency.key);
            }
            for stream in &request.streams {
                stream_ids.insert(&stream.stream_id);
                event_ids.extend(stream.events.iter().map(|event| event.event_id));
            }
        }
        BatchLookups {
            stream_ids: stream_ids.into_iter().cloned().collect(),
            idempotency_keys: idempotency_keys.into_iter().collect(),
            event_ids: event_ids.into_iter().collect(),
        }
    }
}

impl IdempotencyRecord {
    /// The answer to a request that reuses this record's key: the first outcome, marked as a replay, when the
    /// fingerprints match; `IdempotencyKeyReused` when they do not.
    pub fn replay(&self, idempotency: &Idempotency) -> Result<AppendOutcome, AppendError> {
        if self.fingerprint != idempotency.fingerprint {
            return Err(AppendError::IdempotencyKeyReused { key: idempotency.key });
        }
        Ok(AppendOutcome { replayed: true, ..self.outcome.clone() })
    }

    /// The outcome as both backends keep it: its JSON text (read back with `serde_json::from_str`).
    pub fn outcome_json(&self) -> Result<String, StoreError> {
        serde_json::to_string(&self.outcome)
            .map_err(|error| StoreError::Backend(format!("cannot serialise an append outcome: {error}")))
    }
}

impl BatchPlan {
    pub fn writes_anything(&self) -> bool {
        !self.events.is_empty()
    }

    /// The events with their payloads parsed back from their canonical text, as a reader of the store gets them.
    pub fn recorded_events(&self) -> Result<Vec<RecordedEvent>, serde_json::Error> {
        self.events
            .iter()
            .zip(&self.canonical_payloads)
            .map(|(event, text)| {
                let payload: Value = serde_json::from_str(text)?;
                Ok(event.clone().map_payload(|()| payload))
            })
            .collect()
    }
}

/// Judges every request of the batch in order against `state` and what the earlier requests wrote, and lays out
/// the accepted requests' events. Fails only when the stored head is unusable (not a hash).
pub fn plan_batch(batch: &[PreparedRequest], state: StoredState) -> Result<BatchPlan, StoreError> {
    if !canonical::is_hash(&state.head.hash) {
        return Err(StoreError::Corrupt {
            position: state.head.position,
            reason: format!("head hash {:?} is not 64 lowercase hex digits", state.head.hash),
        });
    }
    let recorded_at = match state.head_recorded_at {
        Some(head_recorded_at) if head_recorded_at > state.now => head_recorded_at,
        _ => state.now,
    };
    let mut planner = Planner {
        recorded_at: truncate_to_micros(recorded_at),
        head: state.head,
        stream_versions: state.stream_versions,
        idempotency_records: state.idempotency_records,
        used_event_ids: state.existing_event_ids,
        events: Vec::new(),
        canonical_payloads: Vec::new(),
        new_idempotency_records: Vec::new(),
        envelope: String::new(),
    };
    let replies = batch.iter().map(|request| planner.plan_request(request)).collect();
    Ok(BatchPlan {
        replies,
        events: planner.events,
        canonical_payloads: planner.canonical_payloads,
        idempotency_records: planner.new_idempotency_records,
        head: planner.head,
        recorded_at: planner.recorded_at,
    })
}

/// Checks what can be checked without the store: something to write, well-formed stream ids, no NUL characters
/// in the texts that the backends keep as SQL text (payloads are kept as escaped JSON, so they may hold any).
pub fn validate_request(request: &AppendRequest) -> Result<(), AppendError> {
    if request.streams.iter().all(|stream| stream.events.is_empty()) {
        return Err(AppendError::Empty);
    }
    let stream_ids = request.streams.iter().map(|stream| &stream.stream_id);
    for stream_id in std::iter::once(&request.subject_stream).chain(stream_ids) {
        let length = stream_id.0.len();
        if length == 0 || length > MAX_STREAM_ID_BYTES || stream_id.0.contains('\0') {
            return Err(AppendError::InvalidStreamId { stream_id: stream_id.clone() });
        }
    }
    let actor = &request.actor;
    let mut texts = vec![
        ("actor.id", actor.id.as_str()),
        ("actor.name", actor.name.as_str()),
        ("actor.unit", actor.unit.as_str()),
        ("actor.role", actor.role.as_str()),
        ("subject_id", request.subject_id.as_str()),
    ];
    if let Some(idempotency) = &request.idempotency {
        texts.push(("idempotency.fingerprint", idempotency.fingerprint.as_str()));
    }
    let event_types = request.streams.iter().flat_map(|stream| &stream.events).map(|event| event.event_type.as_str());
    texts.extend(event_types.map(|event_type| ("event_type", event_type)));
    match texts.into_iter().find(|(_, text)| text.contains('\0')) {
        Some((field, _)) => Err(AppendError::NulCharacter { field }),
        None => Ok(()),
    }
}

/// The running state of one batch: the stored state plus what the requests accepted so far wrote.
struct Planner {
    recorded_at: OffsetDateTime,
    head: LogHead,
    stream_versions: HashMap<StreamId, u64>,
    idempotency_records: HashMap<Uuid, IdempotencyRecord>,
    used_event_ids: HashSet<Uuid>,
    events: Vec<RecordedEvent<()>>,
    canonical_payloads: Vec<Arc<str>>,
    new_idempotency_records: Vec<NewIdempotencyRecord>,
    /// The canonical envelope of the event being hashed, one buffer for the whole batch.
    envelope: String,
}

impl Planner {
    fn plan_request(&mut self, prepared: &PreparedRequest) -> Result<AppendOutcome, AppendError> {
        let request = &prepared.request;
        if let Some(idempotency) = &request.idempotency {
            if let Some(record) = self.idempotency_records.get(&idempotency.key) {
                return record.replay(idempotency);
            }
        }
        self.check_expected_versions(request)?;
        self.check_event_ids(request)?;

        let first_position = self.head.position + 1;
        let mut canonical_payloads = prepared.canonical_payloads.iter();
        for stream in &request.streams {
            let mut stream_version = self.version_of(&stream.stream_id);
            for event in &stream.events {
                stream_version += 1;
                self.used_event_ids.insert(event.event_id);
                let mut recorded = RecordedEvent {
                    global_position: self.head.position + 1,
                    event_id: event.event_id,
                    stream_id: stream.stream_id.clone(),
                    stream_version,
                    event_type: event.event_type.clone(),
                    schema_version: event.schema_version,
                    effective_date: event.effective_date,
                    recorded_at: self.recorded_at,
                    actor: request.actor.clone(),
                    command_id: request.command_id,
                    correlation_id: request.correlation_id,
                    causation_id: request.causation_id,
                    payload: (),
                    prev_hash: self.head.hash.clone(),
                    hash: String::new(),
                };
                let canonical_payload =
                    canonical_payloads.next().expect("a prepared request has one payload text per event").clone();
                self.envelope.clear();
                write_canonical_envelope(&mut self.envelope, &recorded, &canonical_payload);
                recorded.hash = chain_hash(&recorded.prev_hash, self.envelope.as_bytes());
                self.head = LogHead { position: recorded.global_position, hash: recorded.hash.clone() };
                self.events.push(recorded);
                self.canonical_payloads.push(canonical_payload);
            }
            self.stream_versions.insert(stream.stream_id.clone(), stream_version);
        }

        let outcome = AppendOutcome {
            subject_id: request.subject_id.clone(),
            subject_version: self.version_of(&request.subject_stream),
            first_position,
            last_position: self.head.position,
            recorded_at: self.recorded_at,
            replayed: false,
        };
        if let Some(Idempotency { key, fingerprint }) = &request.idempotency {
            let record = IdempotencyRecord { fingerprint: fingerprint.clone(), outcome: outcome.clone() };
            self.idempotency_records.insert(*key, record.clone());
            self.new_idempotency_records.push(NewIdempotencyRecord { key: *key, record });
        }
        Ok(outcome)
    }

    /// Checks every stream's expected version, in request order (a stream named twice is checked the second time
    /// against its version after the first).
    fn check_expected_versions(&self, request: &AppendRequest) -> Result<(), AppendError> {
        let mut new_versions: Vec<(StreamId, u64)> = Vec::with_capacity(request.streams.len());
        for stream in &request.streams {
            let earlier_in_request = new_versions.iter().rev().find(|(stream_id, _)| *stream_id == stream.stream_id);
            let actual = match earlier_in_request {
                Some((_, version)) => *version,
                None => self.version_of(&stream.stream_id),
            };
            let expected = stream.expected_version;
            let matches = match expected {
                ExpectedVersion::Any => true,
                ExpectedVersion::NoStream => actual == 0,
                ExpectedVersion::Exact(version) => actual == version,
            };
            if !matches {
                return Err(AppendError::WrongExpectedVersion {
                    stream_id: stream.stream_id.clone(),
                    expected,
                    actual,
                });
            }
            new_versions.push((stream.stream_id.clone(), actual + stream.events.len() as u64));
        }
        Ok(())
    }

    fn check_event_ids(&self, request: &AppendRequest) -> Result<(), AppendError> {
        let mut in_request = HashSet::new();
        for event in request.streams.iter().flat_map(|stream| &stream.events) {
            if self.used_event_ids.contains(&event.event_id) || !in_request.insert(event.event_id) {
                return Err(AppendError::DuplicateEventId { event_id: event.event_id });
            }
        }
        Ok(())
    }

    fn version_of(&self, stream_id: &StreamId) -> u64 {
        self.stream_versions.get(stream_id).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests;
