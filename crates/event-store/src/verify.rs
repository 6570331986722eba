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
//!
//! [`LogVerifier`] adds the transparency log (`transparency` crate, `docs/transparency-log.md`): it recomputes the
//! Merkle root as it goes and checks every signed checkpoint against it. A checkpoint catches what the chain alone
//! cannot: a log whose tail was cut together with its head row, or rewritten from some position on with every
//! later hash recomputed. [`verify_store_with_checkpoints`] runs it over a store and the checkpoints it keeps;
//! the offline verifier of an export bundle runs it over the bundle's files.

use std::collections::HashMap;

use time::OffsetDateTime;
use tokio::sync::mpsc;
use transparency::checkpoint::{Checkpoint, CheckpointError, VerifierKey};
use transparency::merkle::{leaf_hash, Frontier, Hash};

use crate::canonical::{canonical_json, chain_digest, format_recorded_at, write_canonical_envelope, GENESIS_HASH};
use crate::{EventStore, LogHead, RecordedEvent, StoreError, StoredCheckpoint, StoredText, StreamId};

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
    /// The first `tree_size` events do not hash to the root a signed checkpoint holds. The error's position is the
    /// first one after the largest checkpoint that did match: the change lies between the two.
    #[error(
        "the events up to position {tree_size} do not have the Merkle root of the signed checkpoint of tree size \
         {tree_size}; the log agrees with its checkpoints up to position {matched_size}"
    )]
    CheckpointRootMismatch { tree_size: u64, matched_size: u64 },
    /// A signed checkpoint covers more events than the log holds: its tail was removed (a rollback).
    #[error("the log ends at position {log_size}, but a signed checkpoint covers {tree_size} events")]
    ShorterThanCheckpoint { log_size: u64, tree_size: u64 },
}

/// A stored checkpoint that the log's key does not vouch for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the checkpoint stored for tree size {tree_size} is rejected: {problem}")]
pub struct CheckpointRejected {
    pub tree_size: u64,
    pub problem: CheckpointProblem,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointProblem {
    /// Not signed by the key, badly signed or malformed.
    #[error(transparent)]
    Note(#[from] CheckpointError),
    #[error("its note signs tree size {signed}")]
    SizeMismatch { signed: u64 },
}

/// What a verification with checkpoints covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointedReport {
    pub chain: VerifyReport,
    /// The Merkle root of the whole verified log.
    pub root: Hash,
    pub n_checkpoints: u64,
    /// The largest checkpoint checked, if any.
    pub latest_checkpoint_size: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyStoreError {
    #[error(transparent)]
    Chain(#[from] VerifyError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointRejected),
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

/// Walks the store's log, `batch` events at a time, up to the head the store reported
/// when the verification started (events appended meanwhile are left for the next run).
pub async fn verify_store(store: &dyn EventStore, batch: usize) -> Result<VerifyReport, VerifyStoreError> {
    let mut verifier = LogVerifier::without_checkpoints();
    walk_store(store, batch, &mut verifier).await?;
    Ok(verifier.finish()?.chain)
}

/// [`verify_store`], and every checkpoint the store keeps: each must be signed by `key` and hold the Merkle root of
/// the log at its size, and none may cover more events than the log has.
pub async fn verify_store_with_checkpoints(
    store: &dyn EventStore,
    batch: usize,
    key: &VerifierKey,
) -> Result<CheckpointedReport, VerifyStoreError> {
    // Checkpoints first, the head after: every checkpoint read then covers at most the head read.
    let checkpoints = all_checkpoints(store).await?;
    let mut verifier = LogVerifier::new(&checkpoints, key)?;
    walk_store(store, batch, &mut verifier).await?;
    Ok(verifier.finish()?)
}

/// Every checkpoint the store keeps, smallest tree size first.
pub async fn all_checkpoints(store: &dyn EventStore) -> Result<Vec<StoredCheckpoint>, StoreError> {
    const PAGE: usize = 1_000;
    let mut checkpoints: Vec<StoredCheckpoint> = Vec::new();
    loop {
        let after_size = checkpoints.last().map_or(0, |checkpoint| checkpoint.tree_size);
        let page = store.checkpoints(after_size, PAGE).await?;
        if page.is_empty() {
            break;
        }
        checkpoints.extend(page);
    }
    Ok(checkpoints)
}

async fn walk_store(store: &dyn EventStore, batch: usize, verifier: &mut LogVerifier) -> Result<(), VerifyStoreError> {
    let head = store.head().await?;
    walk_log(store, batch.max(1), head.position, verifier).await?;
    let verified = verifier.chain.head();
    if verified.position < head.position {
        let problem = VerifyProblem::MissingEvents { head_position: head.position };
        return Err(VerifyError { position: verified.position + 1, problem }.into());
    }
    if verified.hash != head.hash {
        let event_hash = verified.hash;
        let problem = VerifyProblem::HeadHashMismatch { head_hash: head.hash, event_hash };
        return Err(VerifyError { position: head.position, problem }.into());
    }
    Ok(())
}

/// Pushes the log up to `head_position` into the verifier, with payloads as stored text (hashed as they are, never
/// decoded), streamed by the store (`stream_stored`) in chunks of `batch` events, or `MAX_CHUNK_EVENTS` if fewer.
/// Each chunk is checked on a blocking thread while the store reads the next ones, so that the database's work, the
/// reading and the hashing overlap.
async fn walk_log(
    store: &dyn EventStore,
    batch: usize,
    head_position: u64,
    verifier: &mut LogVerifier,
) -> Result<(), VerifyStoreError> {
    let (sender, mut receiver) = mpsc::channel(CHUNKS_IN_FLIGHT);
    let reading = store.stream_stored(0, head_position, batch.min(MAX_CHUNK_EVENTS), sender);
    // The receiver moves into the checking: when a check fails, it is dropped and the reading stops.
    let checking = async move {
        while let Some(chunk) = receiver.recv().await {
            let mut checker = std::mem::replace(&mut *verifier, LogVerifier::without_checkpoints());
            let checked = tokio::task::spawn_blocking(move || {
                let result = chunk.iter().try_for_each(|event| checker.push_stored(event));
                (checker, result)
            });
            let (checker, result) =
                checked.await.map_err(|error| StoreError::Backend(format!("verification stopped: {error}")))?;
            *verifier = checker;
            result?;
        }
        Ok::<(), VerifyStoreError>(())
    };
    let (read, checked) = tokio::join!(reading, checking);
    // A failed check names the first bad event, whatever the reading met after it.
    checked?;
    Ok(read?)
}

/// Chunks read ahead of the one being checked: enough to keep the store busy, few enough to bound memory.
const CHUNKS_IN_FLIGHT: usize = 2;

/// The largest chunk, whatever the batch: a chunk's rows, events and envelopes (about 2 kB an event) pass from one
/// thread to the next, and in chunks this small they are still in the processor's cache when they get there.
const MAX_CHUNK_EVENTS: usize = 1_000;

/// The hash chain, the Merkle tree over it, and signed checkpoints, checked in one pass over the events in
/// position order. Memory: the chain's per-stream versions and O(log n) hashes of the tree's right edge.
#[derive(Debug, Clone)]
pub struct LogVerifier {
    chain: ChainVerifier,
    frontier: Frontier,
    /// Opened checkpoints the log has not reached yet, largest tree size first.
    pending: Vec<Checkpoint>,
    /// The largest tree size whose checkpoint matched (0 before any).
    matched_size: u64,
    n_checkpoints: u64,
    latest_checkpoint_size: Option<u64>,
}

impl LogVerifier {
    /// A verifier of the chain and the tree alone.
    pub fn without_checkpoints() -> Self {
        LogVerifier {
            chain: ChainVerifier::new(),
            frontier: Frontier::new(),
            pending: Vec::new(),
            matched_size: 0,
            n_checkpoints: 0,
            latest_checkpoint_size: None,
        }
    }

    /// Opens every checkpoint with `key` first: one that the key does not vouch for is refused before any event is
    /// read. The order of `checkpoints` does not matter.
    pub fn new(checkpoints: &[StoredCheckpoint], key: &VerifierKey) -> Result<Self, CheckpointRejected> {
        let mut pending = Vec::with_capacity(checkpoints.len());
        for stored in checkpoints {
            let reject = |problem| CheckpointRejected { tree_size: stored.tree_size, problem };
            let checkpoint = transparency::checkpoint::open(&stored.note, key).map_err(|error| reject(error.into()))?;
            if checkpoint.size() != stored.tree_size {
                return Err(reject(CheckpointProblem::SizeMismatch { signed: checkpoint.size() }));
            }
            pending.push(checkpoint);
        }
        pending.sort_by_key(|checkpoint| std::cmp::Reverse(checkpoint.size()));
        Ok(LogVerifier {
            n_checkpoints: pending.len() as u64,
            latest_checkpoint_size: pending.first().map(Checkpoint::size),
            pending,
            ..Self::without_checkpoints()
        })
    }

    /// Checks the next event: its place in the chain, then the checkpoints of the size the log now has.
    pub fn push(&mut self, event: &RecordedEvent) -> Result<(), VerifyError> {
        self.push_with_payload(event, &canonical_json(&event.payload))
    }

    /// [`LogVerifier::push`] for an event read with its stored payload text, which is hashed as it is.
    pub fn push_stored(&mut self, event: &StoredText) -> Result<(), VerifyError> {
        self.push_with_payload(event, &event.payload)
    }

    fn push_with_payload<P>(&mut self, event: &RecordedEvent<P>, canonical_payload: &str) -> Result<(), VerifyError> {
        // Only a checkpoint of the empty log can be pending at the size before the first event.
        self.check_reached_checkpoints()?;
        // The leaf data is the event's chain hash as raw bytes (`docs/transparency-log.md`), as just recomputed.
        let chain_hash = self.chain.push_with_payload(event, canonical_payload)?;
        self.frontier.append(leaf_hash(&chain_hash));
        self.check_reached_checkpoints()
    }

    /// The report, once every event was pushed; fails if a checkpoint covers more events than were pushed.
    pub fn finish(mut self) -> Result<CheckpointedReport, VerifyError> {
        self.check_reached_checkpoints()?;
        let log_size = self.chain.head_position;
        if let Some(beyond) = self.pending.first() {
            let problem = VerifyProblem::ShorterThanCheckpoint { log_size, tree_size: beyond.size() };
            return Err(VerifyError { position: log_size + 1, problem });
        }
        Ok(CheckpointedReport {
            root: self.frontier.root(),
            n_checkpoints: self.n_checkpoints,
            latest_checkpoint_size: self.latest_checkpoint_size,
            chain: self.chain.finish(),
        })
    }

    fn check_reached_checkpoints(&mut self) -> Result<(), VerifyError> {
        while let Some(checkpoint) = self.pending.last() {
            let tree_size = checkpoint.size();
            if tree_size != self.frontier.size() {
                return Ok(());
            }
            let root = self.frontier.root();
            if root != *checkpoint.root() {
                let problem = VerifyProblem::CheckpointRootMismatch { tree_size, matched_size: self.matched_size };
                return Err(VerifyError { position: self.matched_size + 1, problem });
            }
            self.matched_size = tree_size;
            self.pending.pop();
        }
        Ok(())
    }
}

/// The streaming form of [`verify_events`]: push events in position order, starting at position 1.
/// After an error the verifier stays where it was; pushing more events is meaningless.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    head_position: u64,
    /// The head's hash as bytes, what the next event's hash is computed over.
    head_digest: Hash,
    /// The head's hash as lowercase hex, what the next event's `prev_hash` must be.
    head_hex: [u8; 64],
    last_recorded_at: Option<OffsetDateTime>,
    /// Each stream's last version. `foldhash`, not the standard SipHash: this map is looked up once per event, and
    /// its keys are seeded at random per verifier all the same.
    stream_versions: HashMap<StreamId, u64, foldhash::fast::RandomState>,
    /// The envelope of the event being checked, in a buffer that every event reuses.
    envelope: String,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self::new()
    }
}

impl ChainVerifier {
    pub fn new() -> Self {
        let mut head_hex = [0u8; 64];
        head_hex.copy_from_slice(GENESIS_HASH.as_bytes());
        ChainVerifier {
            head_position: 0,
            head_digest: [0; 32],
            head_hex,
            last_recorded_at: None,
            stream_versions: HashMap::default(),
            envelope: String::new(),
        }
    }

    pub fn push(&mut self, event: &RecordedEvent) -> Result<(), VerifyError> {
        self.push_with_payload(event, &canonical_json(&event.payload)).map(|_| ())
    }

    /// [`ChainVerifier::push`] for an event read with its stored payload text, which is hashed as it is: a payload
    /// whose text was changed in any byte fails, even if it still means the same JSON.
    pub fn push_stored(&mut self, event: &StoredText) -> Result<(), VerifyError> {
        self.push_with_payload(event, &event.payload).map(|_| ())
    }

    /// The report for the events pushed so far.
    pub fn finish(self) -> VerifyReport {
        VerifyReport { n_events: self.head_position, n_streams: self.stream_versions.len() as u64, head: self.head() }
    }

    /// The last verified position and its hash.
    fn head(&self) -> LogHead {
        LogHead { position: self.head_position, hash: hex_text(&self.head_hex) }
    }

    /// Checks the event and answers its chain hash as bytes.
    fn push_with_payload<P>(&mut self, event: &RecordedEvent<P>, canonical_payload: &str) -> Result<Hash, VerifyError> {
        self.check_link(event)?;
        self.envelope.clear();
        write_canonical_envelope(&mut self.envelope, event, canonical_payload);
        let digest = chain_digest(&self.head_digest, self.envelope.as_bytes());
        self.check_content_and_advance(event, digest)
    }

    /// Rules 1 and 2: the event's position and `prev_hash` follow the head.
    fn check_link<P>(&self, event: &RecordedEvent<P>) -> Result<(), VerifyError> {
        let fail = |problem| Err(VerifyError { position: event.global_position, problem });
        let expected_position = self.head_position + 1;
        if event.global_position != expected_position {
            return fail(VerifyProblem::PositionGap { expected: expected_position });
        }
        if event.prev_hash.as_bytes() != self.head_hex {
            return fail(VerifyProblem::PrevHashMismatch {
                expected: hex_text(&self.head_hex),
                found: event.prev_hash.clone(),
            });
        }
        Ok(())
    }

    /// Rules 3 to 5 for an event whose link to the head holds and whose hash recomputes to `digest`; the event
    /// becomes the head if they hold.
    fn check_content_and_advance<P>(&mut self, event: &RecordedEvent<P>, digest: Hash) -> Result<Hash, VerifyError> {
        let fail = |problem| Err(VerifyError { position: event.global_position, problem });
        let mut computed = [0u8; 64];
        hex::encode_to_slice(digest, &mut computed).expect("64 hex digits hold 32 bytes");
        if event.hash.as_bytes() != computed {
            return fail(VerifyProblem::HashMismatch { stored: event.hash.clone(), computed: hex_text(&computed) });
        }
        let known_version = self.stream_versions.get_mut(&event.stream_id);
        let expected_version = known_version.as_deref().copied().unwrap_or(0) + 1;
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

        match known_version {
            Some(version) => *version = event.stream_version,
            None => {
                self.stream_versions.insert(event.stream_id.clone(), event.stream_version);
            }
        }
        self.head_position = event.global_position;
        self.head_digest = digest;
        self.head_hex = computed;
        self.last_recorded_at = Some(event.recorded_at);
        Ok(digest)
    }
}

/// Hex digits as text (they are ASCII, so always UTF-8).
fn hex_text(digits: &[u8; 64]) -> String {
    String::from_utf8_lossy(digits).into_owned()
}

#[cfg(test)]
mod tests;
