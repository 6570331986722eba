//! The SQLite backend of the event store, the embedded default: the [`event_store::EventStore`] contract in one
//! database file, with the schema in `migrations/`, which [`SqliteEventStore::open`] applies.
//!
//! # Gap-free order
//!
//! All appends of a store go through one writer connection, fed by one [`event_store::group_commit`] task that
//! batches concurrent appends into one `BEGIN IMMEDIATE` transaction. `BEGIN IMMEDIATE` takes SQLite's write lock
//! at the start, so even a second store on the same file (another process) waits for it (up to the busy timeout)
//! instead of interleaving: there is one writer at a time, each transaction reads the head it continues, and
//! commit order is position order. Reads go through a small pool of read-only connections; in WAL mode each
//! query sees a committed snapshot, which is always a prefix of the log, so a reader never sees a gap that is
//! filled later. `recorded_at` is the writer's clock, never earlier than the head's.
//!
//! The file is opened in WAL journal mode with `synchronous = FULL` (a committed append survives a power cut),
//! foreign keys on and a busy timeout.
//!
//! Code map: this file holds the store and its reads; `append.rs` the batched append transaction; `rows.rs` the
//! mapping between rows and events.

#[macro_use]
mod rows;
mod append;

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use event_store::group_commit::{GroupCommit, GroupCommitConfig, WriterStats};
use event_store::{
    AppendError, AppendOutcome, AppendRequest, EventStore, Idempotency, LogHead, PositionHash, RecordedEvent,
    StoreError, StoredCheckpoint, StoredText, StreamId,
};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::Row;
use uuid::Uuid;

use crate::append::SqliteBatchAppender;
use crate::rows::{
    event_from_row, idempotency_record_from_row, position_from_i64, store_error, stored_text_from_row, to_i64,
};

/// How long a writer waits for another process's write lock before its append fails as unavailable.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// An event store in one SQLite file.
#[derive(Debug)]
pub struct SqliteEventStore {
    readers: SqlitePool,
    writer_pool: SqlitePool,
    writer: GroupCommit,
}

impl SqliteEventStore {
    /// Opens the store in the file at `path`, creating the file if it is missing, applies the migrations and
    /// starts the writer. Must run inside a tokio runtime.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, GroupCommitConfig::default()).await
    }

    /// [`Self::open`] with explicit group-commit bounds.
    pub async fn open_with(path: &Path, group_commit: GroupCommitConfig) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let writer_pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone().create_if_missing(true))
            .await
            .map_err(store_error)?;
        sqlx::migrate!("./migrations")
            .run(&writer_pool)
            .await
            .map_err(|error| StoreError::Backend(format!("cannot apply the event store migrations: {error}")))?;
        let readers = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await
            .map_err(store_error)?;
        let writer = GroupCommit::spawn(SqliteBatchAppender { pool: writer_pool.clone() }, group_commit)
            .map_err(|error| StoreError::Backend(format!("cannot start the event store writer: {error}")))?;
        Ok(SqliteEventStore { readers, writer_pool, writer })
    }

    /// What this store's writer has done since it was opened.
    pub fn writer_stats(&self) -> WriterStats {
        self.writer.stats()
    }

    /// Answers the appends already queued, stops the writer and closes the file.
    pub async fn close(self) {
        self.writer.shutdown().await;
        self.writer_pool.close().await;
        self.readers.close().await;
    }
}

impl SqliteEventStore {
    /// The rows of at most `limit` events after `after_position`, in position order: what `read_all` and
    /// `read_all_stored` decode, each its own way.
    async fn log_rows(&self, after_position: u64, limit: usize) -> Result<Vec<SqliteRow>, StoreError> {
        sqlx::query(select_events!("WHERE global_position > ?1 ORDER BY global_position LIMIT ?2"))
            .bind(to_i64(after_position))
            .bind(to_i64(limit as u64))
            .fetch_all(&self.readers)
            .await
            .map_err(store_error)
    }
    /// The rows of one stream's events with `stream_version > after_version`, in version order: what `read_stream`
    /// and `read_stream_stored` decode, each its own way.
    async fn stream_rows(&self, stream_id: &StreamId, after_version: u64) -> Result<Vec<SqliteRow>, StoreError> {
        sqlx::query(select_events!("WHERE stream_id = ?1 AND stream_version > ?2 ORDER BY stream_version"))
            .bind(stream_id.as_str())
            .bind(to_i64(after_version))
            .fetch_all(&self.readers)
            .await
            .map_err(store_error)
    }
}

#[async_trait]
impl EventStore for SqliteEventStore {
    async fn append(&self, request: AppendRequest) -> Result<AppendOutcome, AppendError> {
        self.writer.append(request).await
    }

    async fn find_idempotent(&self, idempotency: &Idempotency) -> Result<Option<AppendOutcome>, AppendError> {
        let row = sqlx::query("SELECT key, fingerprint, outcome FROM idempotency_keys WHERE key = ?1")
            .bind(idempotency.key.to_string())
            .fetch_optional(&self.readers)
            .await
            .map_err(store_error)?;
        let Some(row) = row else { return Ok(None) };
        let (_, record) = idempotency_record_from_row(&row)?;
        record.replay(idempotency).map(Some)
    }

    async fn read_stream(&self, stream_id: &StreamId, after_version: u64) -> Result<Vec<RecordedEvent>, StoreError> {
        self.stream_rows(stream_id, after_version).await?.iter().map(event_from_row).collect()
    }

    async fn read_stream_stored(
        &self,
        stream_id: &StreamId,
        after_version: u64,
    ) -> Result<Vec<StoredText>, StoreError> {
        self.stream_rows(stream_id, after_version).await?.iter().map(stored_text_from_row).collect()
    }

    async fn read_stream_stored_except(
        &self,
        stream_id: &StreamId,
        skipped_types: &[&str],
    ) -> Result<Vec<StoredText>, StoreError> {
        let skipped_types = serde_json::to_string(skipped_types)
            .map_err(|error| StoreError::Backend(format!("cannot serialise event types: {error}")))?;
        let rows = sqlx::query(select_events!(
            "WHERE stream_id = ?1 AND (event_type NOT IN (SELECT value FROM json_each(?2)) \
             OR stream_version = (SELECT max(stream_version) FROM events WHERE stream_id = ?1)) \
             ORDER BY stream_version"
        ))
        .bind(stream_id.as_str())
        .bind(skipped_types)
        .fetch_all(&self.readers)
        .await
        .map_err(store_error)?;
        rows.iter().map(stored_text_from_row).collect()
    }

    async fn read_all(&self, after_position: u64, limit: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        self.log_rows(after_position, limit).await?.iter().map(event_from_row).collect()
    }

    async fn read_all_stored(&self, after_position: u64, limit: usize) -> Result<Vec<StoredText>, StoreError> {
        self.log_rows(after_position, limit).await?.iter().map(stored_text_from_row).collect()
    }

    async fn read_by_type(
        &self,
        event_types: &[&str],
        after_position: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        if event_types.is_empty() {
            return Ok(Vec::new());
        }
        let event_types = serde_json::to_string(event_types)
            .map_err(|error| StoreError::Backend(format!("cannot serialise event types: {error}")))?;
        let rows = sqlx::query(select_events!(
            "WHERE event_type IN (SELECT value FROM json_each(?1)) AND global_position > ?2 \
             ORDER BY global_position LIMIT ?3"
        ))
        .bind(event_types)
        .bind(to_i64(after_position))
        .bind(to_i64(limit as u64))
        .fetch_all(&self.readers)
        .await
        .map_err(store_error)?;
        rows.iter().map(event_from_row).collect()
    }

    async fn head(&self) -> Result<LogHead, StoreError> {
        let row = sqlx::query("SELECT position, hash FROM log_head WHERE id = 1")
            .fetch_one(&self.readers)
            .await
            .map_err(store_error)?;
        let position = position_from_i64(row.try_get("position").map_err(store_error)?)?;
        Ok(LogHead { position, hash: row.try_get("hash").map_err(store_error)? })
    }

    async fn read_hashes(&self, after_position: u64, limit: usize) -> Result<Vec<PositionHash>, StoreError> {
        let rows = sqlx::query(
            "SELECT global_position, hash FROM events WHERE global_position > ?1 ORDER BY global_position LIMIT ?2",
        )
        .bind(to_i64(after_position))
        .bind(to_i64(limit as u64))
        .fetch_all(&self.readers)
        .await
        .map_err(store_error)?;
        rows.iter()
            .map(|row| {
                let global_position = position_from_i64(row.try_get("global_position").map_err(store_error)?)?;
                Ok(PositionHash { global_position, hash: row.try_get("hash").map_err(store_error)? })
            })
            .collect()
    }

    async fn position_of_event(&self, event_id: Uuid) -> Result<Option<u64>, StoreError> {
        let position: Option<i64> = sqlx::query_scalar("SELECT global_position FROM events WHERE event_id = ?1")
            .bind(event_id.hyphenated().to_string())
            .fetch_optional(&self.readers)
            .await
            .map_err(store_error)?;
        position.map(position_from_i64).transpose()
    }

    async fn put_checkpoint(&self, checkpoint: &StoredCheckpoint) -> Result<bool, StoreError> {
        let inserted =
            sqlx::query("INSERT INTO checkpoints (tree_size, note) VALUES (?1, ?2) ON CONFLICT (tree_size) DO NOTHING")
                .bind(to_i64(checkpoint.tree_size))
                .bind(&checkpoint.note)
                .execute(&self.writer_pool)
                .await
                .map_err(store_error)?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn checkpoints(&self, after_size: u64, limit: usize) -> Result<Vec<StoredCheckpoint>, StoreError> {
        let rows =
            sqlx::query("SELECT tree_size, note FROM checkpoints WHERE tree_size > ?1 ORDER BY tree_size LIMIT ?2")
                .bind(to_i64(after_size))
                .bind(to_i64(limit as u64))
                .fetch_all(&self.readers)
                .await
                .map_err(store_error)?;
        rows.iter().map(checkpoint_from_row).collect()
    }

    async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        let row = sqlx::query("SELECT tree_size, note FROM checkpoints ORDER BY tree_size DESC LIMIT 1")
            .fetch_optional(&self.readers)
            .await
            .map_err(store_error)?;
        row.as_ref().map(checkpoint_from_row).transpose()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.readers).await.map_err(store_error)?;
        Ok(())
    }
}

fn checkpoint_from_row(row: &SqliteRow) -> Result<StoredCheckpoint, StoreError> {
    let tree_size = position_from_i64(row.try_get("tree_size").map_err(store_error)?)?;
    Ok(StoredCheckpoint { tree_size, note: row.try_get("note").map_err(store_error)? })
}
