//! [`AuditLog`]: the Merkle tree of the store's event log, with the log key, answering checkpoints and proofs.
//!
//! # Where the tree lives
//!
//! The tree is kept in memory (`transparency::merkle::Tree`: every leaf hash and every complete subtree, under
//! 64 bytes per event, 61 MiB per million), rebuilt when the process starts from the stored chain hashes
//! (`EventStore::read_hashes`, one narrow column, in pages) and fed with the events appended since before each
//! answer. A root at any size costs O(log n) hashes and a proof O(log² n) at worst, with no database read; only
//! the signed checkpoints are stored (`checkpoints` table, one row per signed tree size). Nothing derived from the
//! log is persisted beside it, so nothing can drift from it: a replica or a restart recomputes the same tree.
//!
//! Before signing, the log checks that its tree still has the root of the latest stored checkpoint: a process
//! never signs a log that contradicts what was signed before (a restored backup, a rewritten table).

use std::sync::{Arc, RwLock};

use event_store::{EventStore, StoreError, StoredCheckpoint};
use time::OffsetDateTime;
use transparency::checkpoint::{Checkpoint, CheckpointError, SigningKey, VerifierKey};
use transparency::merkle::{leaf_hash_for_event_hash, Hash, Tree, TreeError};
use uuid::Uuid;

/// How many chain hashes one read of the store returns while the tree catches up.
const READ_PAGE: usize = 50_000;

/// The tree of the store's log and the key that signs its checkpoints. Cheap to share behind an `Arc`.
pub struct AuditLog {
    store: Arc<dyn EventStore>,
    key: SigningKey,
    tree: RwLock<Tree>,
    /// Held while the tree catches up, so that two callers do not read the same events twice.
    catching_up: tokio::sync::Mutex<()>,
}

/// A stored checkpoint, opened with the log's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    pub note: String,
}

/// An inclusion proof of one event in the tree of `tree_size` events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    pub event_id: Uuid,
    pub global_position: u64,
    pub event_hash: String,
    pub leaf_hash: Hash,
    pub tree_size: u64,
    pub root: Hash,
    /// Deepest hash first.
    pub hashes: Vec<Hash>,
    /// The stored checkpoint of `tree_size`, when there is one.
    pub checkpoint: Option<SignedCheckpoint>,
}

/// A consistency proof between the trees of `from` and `to` events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyProof {
    pub from: u64,
    pub to: u64,
    pub from_root: Hash,
    pub to_root: Hash,
    pub hashes: Vec<Hash>,
    pub from_checkpoint: Option<SignedCheckpoint>,
    pub to_checkpoint: Option<SignedCheckpoint>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the stored hash of the event at position {position} is not a chain hash: {reason}")]
    CorruptHash { position: u64, reason: String },
    #[error("the store returned position {found} where {expected} was next")]
    PositionGap { expected: u64, found: u64 },
    #[error("the stored checkpoint of tree size {tree_size} does not open with the log key: {error}")]
    ForeignCheckpoint { tree_size: u64, error: CheckpointError },
    #[error(
        "the log no longer has the root of the checkpoint of tree size {tree_size} that it signed; \
         no checkpoint is signed until `taskledger verify` has been run and the store repaired"
    )]
    Diverged { tree_size: u64 },
    #[error("the log is empty: there is nothing to sign")]
    EmptyLog,
    #[error("no event has id {event_id}")]
    UnknownEvent { event_id: Uuid },
    #[error("{field}: {reason}")]
    OutOfRange { field: &'static str, reason: String },
}

impl AuditLog {
    /// Builds the tree of the store's whole log (one pass over the stored chain hashes).
    pub async fn open(store: Arc<dyn EventStore>, key: SigningKey) -> Result<Self, AuditError> {
        let log = AuditLog { store, key, tree: RwLock::new(Tree::new()), catching_up: tokio::sync::Mutex::new(()) };
        log.catch_up().await?;
        Ok(log)
    }

    pub fn origin(&self) -> &str {
        self.key.name()
    }

    pub fn verifier_key(&self) -> VerifierKey {
        self.key.verifier_key()
    }

    /// The number of events in the tree (the log's size when last caught up).
    pub fn size(&self) -> u64 {
        self.read_tree().size()
    }

    /// Feeds the tree with the events appended since it was last fed; answers the new size.
    pub async fn catch_up(&self) -> Result<u64, AuditError> {
        let _guard = self.catching_up.lock().await;
        loop {
            let size = self.size();
            let rows = self.store.read_hashes(size, READ_PAGE).await?;
            if rows.is_empty() {
                return Ok(size);
            }
            let mut leaves = Vec::with_capacity(rows.len());
            for (offset, row) in rows.iter().enumerate() {
                let expected = size + 1 + offset as u64;
                if row.global_position != expected {
                    return Err(AuditError::PositionGap { expected, found: row.global_position });
                }
                let leaf = leaf_hash_for_event_hash(&row.hash).map_err(|error| AuditError::CorruptHash {
                    position: row.global_position,
                    reason: error.to_string(),
                })?;
                leaves.push(leaf);
            }
            let mut tree = self.tree.write().unwrap_or_else(std::sync::PoisonError::into_inner);
            for leaf in leaves {
                tree.append(leaf);
            }
        }
    }

    /// Signs a checkpoint of the whole log as it is now and stores it; answers it and whether it is new (a
    /// checkpoint of the same size that was stored before is answered as it was signed then).
    pub async fn make_checkpoint(&self, now: OffsetDateTime) -> Result<(SignedCheckpoint, bool), AuditError> {
        // The latest checkpoint first, then the log: whoever signed it had read a prefix of what we read now.
        let latest = self.latest_checkpoint().await?;
        let size = self.catch_up().await?;
        if size == 0 {
            return Err(AuditError::EmptyLog);
        }
        if let Some(latest) = latest {
            let latest_size = latest.checkpoint.size();
            if latest_size > size || self.root_at(latest_size)? != *latest.checkpoint.root() {
                return Err(AuditError::Diverged { tree_size: latest_size });
            }
            if latest_size == size {
                return Ok((latest, false));
            }
        }
        let unix_seconds = u64::try_from(now.unix_timestamp()).unwrap_or(0);
        let checkpoint = Checkpoint::new(self.origin(), size, self.root_at(size)?)
            .expect("the origin is the key's name, a valid origin")
            .with_time(unix_seconds);
        let note = transparency::checkpoint::sign(&checkpoint, &self.key);
        let created = self.store.put_checkpoint(&StoredCheckpoint { tree_size: size, note: note.clone() }).await?;
        if !created {
            // Another process signed this size first: its note is the one on record.
            return Ok((self.checkpoint(size).await?.expect("a checkpoint of this size was stored"), false));
        }
        Ok((SignedCheckpoint { checkpoint, note }, true))
    }

    pub async fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>, AuditError> {
        self.store.latest_checkpoint().await?.map(|stored| self.open_stored(stored)).transpose()
    }

    /// The stored checkpoint of exactly `tree_size` events, if any.
    pub async fn checkpoint(&self, tree_size: u64) -> Result<Option<SignedCheckpoint>, AuditError> {
        let Some(after_size) = tree_size.checked_sub(1) else { return Ok(None) };
        let stored = self.store.checkpoints(after_size, 1).await?.into_iter().next();
        stored.filter(|stored| stored.tree_size == tree_size).map(|stored| self.open_stored(stored)).transpose()
    }

    /// At most `limit` stored checkpoints of more than `after_size` events, smallest first.
    pub async fn checkpoints(&self, after_size: u64, limit: usize) -> Result<Vec<SignedCheckpoint>, AuditError> {
        let stored = self.store.checkpoints(after_size, limit).await?;
        stored.into_iter().map(|stored| self.open_stored(stored)).collect()
    }

    /// The inclusion proof of an event in the tree of `tree_size` events; without a size, in the tree of the latest
    /// checkpoint, or of a checkpoint signed now when the latest one does not cover the event yet.
    pub async fn inclusion_proof(
        &self,
        event_id: Uuid,
        tree_size: Option<u64>,
        now: OffsetDateTime,
    ) -> Result<InclusionProof, AuditError> {
        let position = self.store.position_of_event(event_id).await?.ok_or(AuditError::UnknownEvent { event_id })?;
        let log_size = self.catch_up().await?;
        let (tree_size, checkpoint) = match tree_size {
            Some(tree_size) => {
                if tree_size > log_size {
                    return Err(beyond_log("tree_size", tree_size, log_size));
                }
                if tree_size < position {
                    let reason = format!("the event is at position {position}, outside the tree of {tree_size} events");
                    return Err(AuditError::OutOfRange { field: "tree_size", reason });
                }
                (tree_size, self.checkpoint(tree_size).await?)
            }
            None => {
                let latest = self.latest_checkpoint().await?;
                let covering = match latest {
                    Some(latest) if latest.checkpoint.size() >= position => latest,
                    _ => self.make_checkpoint(now).await?.0,
                };
                (covering.checkpoint.size(), Some(covering))
            }
        };
        let (hashes, leaf_hash, root) = {
            let tree = self.read_tree();
            let hashes = tree.inclusion_proof(position - 1, tree_size).map_err(tree_error)?;
            let leaf_hash = tree.leaf_hash(position - 1).expect("the position is within the tree");
            (hashes, leaf_hash, tree.root_at(tree_size).map_err(tree_error)?)
        };
        let event_hash = self.store.read_hashes(position - 1, 1).await?.pop().map(|row| row.hash).unwrap_or_default();
        Ok(InclusionProof {
            event_id,
            global_position: position,
            event_hash,
            leaf_hash,
            tree_size,
            root,
            hashes,
            checkpoint,
        })
    }

    /// The consistency proof from the tree of `from` events to that of `to` (the latest checkpoint's size when
    /// absent, or the log's size when there is no checkpoint yet).
    pub async fn consistency_proof(&self, from: u64, to: Option<u64>) -> Result<ConsistencyProof, AuditError> {
        let log_size = self.catch_up().await?;
        let to = match to {
            Some(to) => to,
            None => self.latest_checkpoint().await?.map_or(log_size, |latest| latest.checkpoint.size()),
        };
        if to > log_size {
            return Err(beyond_log("to", to, log_size));
        }
        if from > to {
            return Err(AuditError::OutOfRange { field: "from", reason: format!("{from} is larger than to ({to})") });
        }
        let (hashes, from_root, to_root) = {
            let tree = self.read_tree();
            let hashes = tree.consistency_proof(from, to).map_err(tree_error)?;
            (hashes, tree.root_at(from).map_err(tree_error)?, tree.root_at(to).map_err(tree_error)?)
        };
        Ok(ConsistencyProof {
            from,
            to,
            from_root,
            to_root,
            hashes,
            from_checkpoint: self.checkpoint(from).await?,
            to_checkpoint: self.checkpoint(to).await?,
        })
    }

    fn root_at(&self, size: u64) -> Result<Hash, AuditError> {
        self.read_tree().root_at(size).map_err(tree_error)
    }

    fn read_tree(&self) -> std::sync::RwLockReadGuard<'_, Tree> {
        self.tree.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn open_stored(&self, stored: StoredCheckpoint) -> Result<SignedCheckpoint, AuditError> {
        let checkpoint = transparency::checkpoint::open(&stored.note, &self.verifier_key())
            .map_err(|error| AuditError::ForeignCheckpoint { tree_size: stored.tree_size, error })?;
        Ok(SignedCheckpoint { checkpoint, note: stored.note })
    }
}

fn beyond_log(field: &'static str, size: u64, log_size: u64) -> AuditError {
    AuditError::OutOfRange { field, reason: format!("{size} is beyond the log, which has {log_size} events") }
}

/// The sizes were checked against the tree before it was asked, so this is a bug if it happens.
fn tree_error(error: TreeError) -> AuditError {
    AuditError::OutOfRange { field: "tree_size", reason: error.to_string() }
}
