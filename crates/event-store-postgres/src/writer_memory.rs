//! What the append writer learnt from its last batches, so that the next batch can be planned without reading the
//! store first (the one-round-trip path of `append.rs`).
//!
//! Nothing kept here is trusted. Every value is an assumption that the one-round-trip statement checks before
//! anything it wrote can commit (see `append.rs`): the head (position and hash) and the proposed `recorded_at`
//! under the head lock; the version of each stream, by a lookup or by the unique index that a stale version
//! collides with; the absence of its idempotency keys and event ids, by their unique indexes. A batch whose
//! assumptions fail is appended by the exact transaction instead, which reads the truth and corrects what is kept
//! here. So a stale value costs a round trip, never a wrong append.
//!
//! Invariants: the head is `None` until an exact batch has read it, and after a failed transaction (the writer
//! then knows nothing about what was committed); a remembered stream version was read from the store or written
//! by a committed batch, so it is never above the stored version (versions only grow); stream versions are at most
//! [`STREAMS_REMEMBERED`] entries.

use std::collections::HashMap;
use std::mem;

use event_store::batch::{BatchLookups, BatchPlan, PreparedRequest, StoredState};
use event_store::{ExpectedVersion, LogHead, StreamId};
use time::OffsetDateTime;

/// At most this many stream versions are kept (two generations of half as many, so that the streams written
/// lately stay and the others go).
pub(crate) const STREAMS_REMEMBERED: usize = 32_768;

/// After a refusal because the head had moved (another process appends too), this many batches at most take the
/// exact path directly before the one-round-trip path is tried again; the count doubles from 1 on each refusal in
/// a row and falls back to 1 after a success, so two busy processes do not pay a refused round trip per batch.
pub(crate) const MAX_EXACT_BATCHES_AFTER_MOVED_HEAD: u32 = 64;

/// Why the one-round-trip statement wrote nothing: the first assumption it found false (or, for the unique
/// indexes, the one its collision proved false).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OneRoundTripRefusal {
    /// The transaction was not READ COMMITTED.
    Isolation,
    /// Another writer appended since this writer's last batch.
    HeadMoved,
    /// The proposed `recorded_at` was before the head's or beyond the tolerance from the store's clock.
    RecordedAt,
    /// A stream's current version was not the assumed one.
    StreamVersion,
    /// An idempotency key of the batch was used before (a retry).
    IdempotencyKey,
    /// An event id of the batch is already stored.
    EventId,
}

/// The writer's memory; see the module comment.
#[derive(Debug)]
pub(crate) struct WriterMemory {
    head: Option<KnownHead>,
    stream_versions: RecentStreamVersions,
    /// The store's clock minus this process's clock, as measured by the last exact batch.
    clock_offset: time::Duration,
    exact_batches_left: u32,
    exact_batches_after_next_moved_head: u32,
}

/// What a batch is planned against on the one-round-trip path.
#[derive(Debug, Clone)]
pub(crate) struct AssumedState {
    /// For [`event_store::batch::plan_batch`]: no stored idempotency record, no stored event id.
    pub(crate) state: StoredState,
    /// The assumed version of each of the lookups' streams, in the order of [`BatchLookups::stream_ids`].
    pub(crate) stream_versions: Vec<u64>,
    /// Whether each of those versions was remembered (learnt from the store or from a committed batch, so never
    /// above the stored version) rather than guessed from a request's expectation, in the same order.
    pub(crate) remembered: Vec<bool>,
}

#[derive(Debug, Clone)]
struct KnownHead {
    head: LogHead,
    recorded_at: Option<OffsetDateTime>,
}

/// A bounded map of stream versions: lookups search the current generation, then the previous one (moving the
/// entry found into the current); when the current is full it becomes the previous and the oldest is dropped.
#[derive(Debug, Default)]
struct RecentStreamVersions {
    current: HashMap<StreamId, u64>,
    previous: HashMap<StreamId, u64>,
}

impl WriterMemory {
    pub(crate) fn new() -> Self {
        WriterMemory {
            head: None,
            stream_versions: RecentStreamVersions::default(),
            clock_offset: time::Duration::ZERO,
            exact_batches_left: 0,
            exact_batches_after_next_moved_head: 1,
        }
    }

    /// The state to plan `batch` against without reading the store, or `None` when the batch should take the exact
    /// path: nothing is known yet, the path was refused lately because the head moved, or a stream's version
    /// cannot be guessed (a stream neither remembered nor given an `Exact` or `NoStream` expectation).
    ///
    /// A stream not remembered is assumed to be at the version that the batch's first request naming it expects:
    /// the caller usually knows it, and when it does not, the refusal leads to the exact path, which answers the
    /// conflict.
    pub(crate) fn assume(&mut self, batch: &[PreparedRequest], lookups: &BatchLookups) -> Option<AssumedState> {
        if self.exact_batches_left > 0 {
            self.exact_batches_left -= 1;
            return None;
        }
        let known_head = self.head.clone()?;
        let mut first_expectations: HashMap<&StreamId, ExpectedVersion> = HashMap::new();
        for stream in batch.iter().flat_map(|request| &request.request().streams) {
            first_expectations.entry(&stream.stream_id).or_insert(stream.expected_version);
        }
        let mut stream_versions = Vec::with_capacity(lookups.stream_ids.len());
        let mut remembered = Vec::with_capacity(lookups.stream_ids.len());
        let mut versions_by_stream = HashMap::with_capacity(lookups.stream_ids.len());
        for stream_id in &lookups.stream_ids {
            let (version, was_remembered) = match self.stream_versions.get(stream_id) {
                Some(version) => (version, true),
                None => match first_expectations.get(stream_id) {
                    Some(ExpectedVersion::Exact(version)) => (*version, false),
                    Some(ExpectedVersion::NoStream) => (0, false),
                    Some(ExpectedVersion::Any) | None => return None,
                },
            };
            stream_versions.push(version);
            remembered.push(was_remembered);
            if version > 0 {
                versions_by_stream.insert(stream_id.clone(), version);
            }
        }
        let state = StoredState {
            head: known_head.head,
            head_recorded_at: known_head.recorded_at,
            now: OffsetDateTime::now_utc() + self.clock_offset,
            stream_versions: versions_by_stream,
            idempotency_records: HashMap::new(),
            existing_event_ids: Default::default(),
        };
        Some(AssumedState { state, stream_versions, remembered })
    }

    /// Learns what the exact transaction read under the lock: the head, the versions of the looked-up streams
    /// (absent ones are at 0), and the store's clock read at `local_clock_at_read` by this process's clock.
    pub(crate) fn learn_stored_state(
        &mut self,
        lookups: &BatchLookups,
        state: &StoredState,
        local_clock_at_read: OffsetDateTime,
    ) {
        self.head = Some(KnownHead { head: state.head.clone(), recorded_at: state.head_recorded_at });
        for stream_id in &lookups.stream_ids {
            let version = state.stream_versions.get(stream_id).copied().unwrap_or(0);
            self.stream_versions.insert(stream_id.clone(), version);
        }
        self.clock_offset = state.now - local_clock_at_read;
    }

    /// Learns what a committed batch wrote: the new head and the new versions of its streams.
    pub(crate) fn learn_committed_plan(&mut self, plan: &BatchPlan) {
        if !plan.writes_anything() {
            return;
        }
        self.head = Some(KnownHead { head: plan.head.clone(), recorded_at: Some(plan.recorded_at) });
        for event in &plan.events {
            self.stream_versions.insert(event.stream_id.clone(), event.stream_version);
        }
    }

    /// Notes that a batch went through in one round trip.
    pub(crate) fn note_one_round_trip(&mut self) {
        self.exact_batches_after_next_moved_head = 1;
    }

    /// Notes a refusal; a moved head sends the next batches straight to the exact path (see
    /// [`MAX_EXACT_BATCHES_AFTER_MOVED_HEAD`]).
    pub(crate) fn note_refusal(&mut self, refusal: OneRoundTripRefusal) {
        if refusal == OneRoundTripRefusal::HeadMoved {
            self.exact_batches_left = self.exact_batches_after_next_moved_head;
            self.exact_batches_after_next_moved_head =
                (self.exact_batches_after_next_moved_head * 2).min(MAX_EXACT_BATCHES_AFTER_MOVED_HEAD);
        }
    }

    /// Forgets the head, after a failed transaction: the next batch takes the exact path.
    pub(crate) fn forget_head(&mut self) {
        self.head = None;
    }
}

impl RecentStreamVersions {
    const GENERATION_CAPACITY: usize = STREAMS_REMEMBERED / 2;

    fn get(&mut self, stream_id: &StreamId) -> Option<u64> {
        if let Some(version) = self.current.get(stream_id) {
            return Some(*version);
        }
        let (stream_id, version) = self.previous.remove_entry(stream_id)?;
        self.insert(stream_id, version);
        Some(version)
    }

    fn insert(&mut self, stream_id: StreamId, version: u64) {
        if self.current.len() >= Self::GENERATION_CAPACITY && !self.current.contains_key(&stream_id) {
            self.previous = mem::take(&mut self.current);
        } else {
            self.previous.remove(&stream_id);
        }
        self.current.insert(stream_id, version);
    }
}

#[cfg(test)]
mod tests;
