//! Recomputes the hash chain of a log and checks its order: what `taskledger verify` and auditors run.
//!
//! The rules, checked on each event in position order and reported for the first event that breaks one:
//! 1. positions are 1, 2, 3, … with no gap and no repeat;
//! 2. `prev_hash` is the previous event's `hash` ([`GENESIS_HASH`] for position 1);
//! 3. `hash` recomputes from `prev_hash` and the canonical bytes ([`crate::canonical`]);
//! 4. inside each stream, versions are 1, 2, 3, … in position order;
//! 5. `recorded_at` never decreases.
//!
//! [`verify_store`] also checks that the log reaches the head the store reports and ends on its hash, so that
//! events cut from the end are noticed too.

use std::collections::HashMap;

use time::OffsetDateTime;

use crate::canonical::{canonical_bytes, chain_hash, format_recorded_at, GENESIS_HASH};
use crate::{EventStore, LogHead, RecordedEvent, StoreError, StreamId};

/// What a successful verification covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub n_events: u64,
    pub n_streams: u64,
    /// The last verified position and its hash (position 0 and [`GENESIS_HASH`] for an empty log).
    pub head: LogHead,
}

/// The first event that breaks a rule, and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event at position {position} fails verification: {problem}")]
pub struct VerifyError {
    pub position: u64,
    pub problem: VerifyProblem,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyProblem {
    /// The event's position is not the one after the previous event's (a gap, a repeat or a reordering).
    #[error("expected position {expected}")]
    PositionGap { expected: u64 },
    #[error("prev_hash is {found}, but the previous event's hash is {expected}")]
    PrevHashMismatch { expected: String, found: String },
    /// The event's content (or its `prev_hash`) is not what its hash was computed over.
    #[error("stored hash is {stored}, but the event hashes to {computed}")]
    HashMismatch { stored: String, computed: String },
    #[error("stream {stream_id:?} continues at version {found}, expected {expected}")]
    StreamVersionGap { stream_id: StreamId, expected: u64, found: u64 },
    #[error("recorded_at {found} is earlier than the previous event's {previous}")]
    RecordedAtDecreasing { previous: String, found: String },
    /// The log ends before the head the store reports (`position` is the first missing one).
    #[error("the log ends before the head at position {head_position}")]
    MissingEvents { head_position: u64 },
    /// The event at the head position is not the one the head names.
    #[error("the head names hash {head_hash}, but the event's hash is {event_hash}")]
    HeadHashMismatch { head_hash: String, event_hash: String },
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyStoreError {
    #[error(transparent)]
    Chain(#[from] VerifyError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks a whole log, given from position 1.
pub fn verify_events(events: impl IntoIterator<Item = RecordedEvent>) -> Result<VerifyReport, VerifyError> {
    let mut verifier = ChainVerifier::new();
    for event in events {
        verifier.push(&event)?;
    }
    Ok(verifier.finish())
}

/// Pages through the store's log with `read_all`, `batch` events at a time, up to the head the store reported
/// when the verification started (events appended meanwhile are left for the next run).
pub async fn verify_store(store: &dyn EventStore, batch: usize) -> Result<VerifyReport, VerifyStoreError> {
    let head = store.head().await?;
    let mut verifier = ChainVerifier::new();
    while verifier.head.position < head.position {
        let events = store.read_all(verifier.head.position, batch.max(1)).await?;
        if events.is_empty() {
            let problem = VerifyProblem::MissingEvents { head_position: head.position };
            return Err(VerifyError { position: verifier.head.position + 1, problem }.into());
        }
        for event in events.iter().take_while(|event| event.global_position <= head.position) {
            verifier.push(event)?;
        }
    }
    if verifier.head.hash != head.hash {
        let problem = VerifyProblem::HeadHashMismatch { head_hash: head.hash, event_hash: verifier.head.hash };
        return Err(VerifyError { position: head.position, problem }.into());
    }
    Ok(verifier.finish())
}

/// The streaming form of [`verify_events`]: push events in position order, starting at position 1.
/// After an error the verifier stays where it was; pushing more events is meaningless.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    head: LogHead,
    last_recorded_at: Option<OffsetDateTime>,
    stream_versions: HashMap<StreamId, u64>,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self::new()
    }
}

impl ChainVerifier {
    pub fn new() -> Self {
        ChainVerifier {
            head: LogHead { position: 0, hash: GENESIS_HASH.to_owned() },
            last_recorded_at: None,
            stream_versions: HashMap::new(),
        }
    }

    pub fn push(&mut self, event: &RecordedEvent) -> Result<(), VerifyError> {
        let fail = |problem| Err(VerifyError { position: event.global_position, problem });

        let expected_position = self.head.position + 1;
        if event.global_position != expected_position {
            return fail(VerifyProblem::PositionGap { expected: expected_position });
        }
        if event.prev_hash != self.head.hash {
            return fail(VerifyProblem::PrevHashMismatch {
                expected: self.head.hash.clone(),
                found: event.prev_hash.clone(),
            });
        }
        let computed = chain_hash(&self.head.hash, &canonical_bytes(event));
        if event.hash != computed {
            return fail(VerifyProblem::HashMismatch { stored: event.hash.clone(), computed });
        }
        let expected_version = self.stream_versions.get(&event.stream_id).copied().unwrap_or(0) + 1;
        if event.stream_version != expected_version {
            return fail(VerifyProblem::StreamVersionGap {
                stream_id: event.stream_id.clone(),
                expected: expected_version,
                found: event.stream_version,
            });
        }
        if let Some(previous) = self.last_recorded_at.filter(|previous| event.recorded_at < *previous) {
            return fail(VerifyProblem::RecordedAtDecreasing {
                previous: format_recorded_at(previous),
                found: format_recorded_at(event.recorded_at),
            });
        }

        self.head = LogHead { position: event.global_position, hash: computed };
        self.last_recorded_at = Some(event.recorded_at);
        self.stream_versions.insert(event.stream_id.clone(), event.stream_version);
        Ok(())
    }

    /// The report for the events pushed so far.
    pub fn finish(self) -> VerifyReport {
        VerifyReport { n_events: self.head.position, n_streams: self.stream_versions.len() as u64, head: self.head }
    }
}

#[cfg(test)]
mod tests;
