//! The PostgreSQL backend of the event store, for deployments: the [`event_store::EventStore`] contract over the
//! schema in `migrations/`, which [`PostgresEventStore::connect`] applies.
//!
//! # Gap-free order across processes
//!
//! Every append first locks the single row of `log_head` (`SELECT … FOR UPDATE`). Writers, in this process or
//! any other, therefore run one after another: a writer checks or reads the head, takes the next positions, and
//! holds the lock until it commits, so the next writer's positions are taken only after those events are visible.
//! Commit order is position order, and a reader that follows `read_all` from its last seen position can never see
//! position *n + 1* before *n*: no event is ever skipped. `recorded_at` never decreases along the log: it is the
//! store's clock (`clock_timestamp()` read after the lock, or this process's clock corrected by the measured
//! offset and checked against it under the lock), truncated to microseconds, and never before the head's.
//!
//! The lock makes appends sequential; throughput comes from [`event_store::group_commit`]: each process's
//! concurrent appends are batched into one transaction, one lock round and one commit. A batch planned on what
//! the writer learnt from its previous batches is written by one statement, in one round trip, when those
//! assumptions still hold under the lock; otherwise by the exact transaction, in four round trips whatever the
//! batch's size (see `append.rs`).
//!
//! Code map: this file holds the store and its reads; `append.rs` the two paths of a batched append;
//! `writer_memory.rs` what the writer assumes between batches; `rows.rs` the mapping between rows and events;
//! `migrations/0003_append_function.sql` the earlier one-round-trip append, a PL/pgSQL function that processes of
//! an earlier release still call during a rolling upgrade (this release sends one statement instead).

#[macro_use]
mod rows;
mod append;
#[cfg(feature = "testing")]
pub mod testing;
mod writer_memory;

use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use event_store::batch::IdempotencyRecord;
use event_store::group_commit::{GroupCommit, GroupCommitConfig, WriterStats};
use event_store::{
    AppendError, AppendOutcome, AppendRequest, EventStore, Idempotency, LogHead, PositionHash, RecordedEvent,
    StoreError, StoredCheckpoint, StoredText, StreamId,
};
use futures_util::TryStreamExt;
use sqlx::postgres::PgRow;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, Row};
use tokio::sync::mpsc;
use uuid::Uuid;

pub use crate::append::AppendPathCounts;
use crate::append::PostgresBatchAppender;
use crate::rows::{
    event_from_row, idempotency_record_from_row, position_from_i64, store_error, stored_text_from_row, to_i64,
};

/// An event store in a PostgreSQL database. Appends go through one group-commit writer task per instance, on a
/// connection the writer keeps for itself; reads use the pool directly.
#[derive(Debug)]
pub struct PostgresEventStore {
    pool: PgPool,
    writer: GroupCommit,
    append_path_counts: Arc<Mutex<AppendPathCounts>>,
}

impl PostgresEventStore {
    /// Connects to `url` (`postgres://user@host:port/database`), applies the migrations, and starts the writer.
    /// Fails at once with [`StoreError::Unavailable`] when the server does not answer (the pool itself would keep
    /// retrying until its acquire timeout).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|error| StoreError::Backend(format!("invalid PostgreSQL URL: {error}")))?;
        let probe = PgConnection::connect_with(&options).await.map_err(store_error)?;
        // The probe only proved that the server answers; the pool makes its own connections.
        let _ = probe.close().await;
        // sqlx already tests every connection when it goes back into the pool; testing it again on checkout would
        // add a round trip to every read. The writer keeps a connection of its own, out of the pool (`append.rs`).
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(store_error)?;
        Self::from_pool(pool).await
    }

    /// Uses an existing pool: applies the migrations and starts the writer. Must run inside a tokio runtime.
    pub async fn from_pool(pool: PgPool) -> Result<Self, StoreError> {
        Self::from_pool_with(pool, GroupCommitConfig::default()).await
    }

    /// [`Self::from_pool`] with explicit group-commit bounds.
    pub async fn from_pool_with(pool: PgPool, group_commit: GroupCommitConfig) -> Result<Self, StoreError> {
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|error| StoreError::Backend(format!("cannot apply the event store migrations: {error}")))?;
        let append_path_counts = Arc::new(Mutex::new(AppendPathCounts::default()));
        let writer =
            GroupCommit::spawn(PostgresBatchAppender::new(pool.clone(), append_path_counts.clone()), group_commit)
                .map_err(|error| StoreError::Backend(format!("cannot start the event store writer: {error}")))?;
        Ok(PostgresEventStore { pool, writer, append_path_counts })
    }

    /// The pool the store reads and writes through, for operations and tests. Writing to the event tables
    /// through it bypasses the chain, and `taskledger verify` will say so.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// How this store's batches were appended since it was opened (see `append.rs`).
    pub fn append_path_counts(&self) -> AppendPathCounts {
        *self.append_path_counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What this store's writer has done since it was opened.
    pub fn writer_stats(&self) -> WriterStats {
        self.writer.stats()
    }

    /// Answers the appends already queued, stops the writer and closes the pool.
    pub async fn close(self) {
        self.writer.shutdown().await;
        self.pool.close().await;
    }
}

impl PostgresEventStore {
    /// The rows of at most `limit` events after `after_position`, in position order: what `read_all` and
    /// `read_all_stored` decode, each its own way.
    async fn log_rows(&self, after_position: u64, limit: usize) -> Result<Vec<PgRow>, StoreError> {
        sqlx::query(select_events!("WHERE global_position > $1 ORDER BY global_position LIMIT $2"))
            .bind(to_i64(after_position))
            .bind(to_i64(limit as u64))
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)
    }
    /// The rows of one stream's events with `stream_version > after_version`, in version order: what `read_stream`
    /// and `read_stream_stored` decode, each its own way.
    async fn stream_rows(&self, stream_id: &StreamId, after_version: u64) -> Result<Vec<PgRow>, StoreError> {
        sqlx::query(select_events!("WHERE stream_id = $1 AND stream_version > $2 ORDER BY stream_version"))
            .bind(stream_id.as_str())
            .bind(to_i64(after_version))
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)
    }
}

#[async_trait]
impl EventStore for PostgresEventStore {
    async fn append(&self, request: AppendRequest) -> Result<AppendOutcome, AppendError> {
        self.writer.append(request).await
    }

    async fn find_idempotent(&self, idempotency: &Idempotency) -> Result<Option<AppendOutcome>, AppendError> {
        let row = sqlx::query("SELECT key, fingerprint, outcome FROM idempotency_keys WHERE key = $1")
            .bind(idempotency.key)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        let Some(row) = row else { return Ok(None) };
        let (_, record): (_, IdempotencyRecord) = idempotency_record_from_row(&row)?;
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
        let rows = sqlx::query(select_events!(
            "WHERE stream_id = $1 AND (event_type <> ALL($2) \
             OR stream_version = (SELECT max(stream_version) FROM events WHERE stream_id = $1)) \
             ORDER BY stream_version"
        ))
        .bind(stream_id.as_str())
        .bind(skipped_types)
        .fetch_all(&self.pool)
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

    /// One query over the whole range, its rows decoded as they arrive: the server sends the next rows while the
    /// receiver handles the last chunk, and sees one snapshot of the log.
    ///
    /// The query runs on a connection of its own, without sqlx's statement logging: reading a whole log takes
    /// seconds by design, and a warning about a slow statement would only be noise in `taskledger verify`'s output.
    async fn stream_stored(
        &self,
        after_position: u64,
        up_to_position: u64,
        chunk_size: usize,
        chunks: mpsc::Sender<Vec<StoredText>>,
    ) -> Result<(), StoreError> {
        let options = PgConnectOptions::clone(&self.pool.connect_options()).disable_statement_logging();
        let mut connection = PgConnection::connect_with(&options).await.map_err(store_error)?;
        let streamed = stream_stored_rows(&mut connection, after_position, up_to_position, chunk_size, chunks).await;
        // The rows are read (or the reading failed): closing politely is a courtesy to the server.
        let _ = connection.close().await;
        streamed
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
        let rows = sqlx::query(select_events!(
            "WHERE event_type = ANY($1) AND global_position > $2 ORDER BY global_position LIMIT $3"
        ))
        .bind(event_types)
        .bind(to_i64(after_position))
        .bind(to_i64(limit as u64))
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        rows.iter().map(event_from_row).collect()
    }

    async fn head(&self) -> Result<LogHead, StoreError> {
        let row = sqlx::query("SELECT position, hash FROM log_head WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(store_error)?;
        let position = position_from_i64(row.try_get("position").map_err(store_error)?)?;
        Ok(LogHead { position, hash: row.try_get("hash").map_err(store_error)? })
    }

    async fn read_hashes(&self, after_position: u64, limit: usize) -> Result<Vec<PositionHash>, StoreError> {
        let rows = sqlx::query(
            "SELECT global_position, hash FROM events WHERE global_position > $1 ORDER BY global_position LIMIT $2",
        )
        .bind(to_i64(after_position))
        .bind(to_i64(limit as u64))
        .fetch_all(&self.pool)
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
        let position: Option<i64> = sqlx::query_scalar("SELECT global_position FROM events WHERE event_id = $1")
            .bind(event_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        position.map(position_from_i64).transpose()
    }

    async fn put_checkpoint(&self, checkpoint: &StoredCheckpoint) -> Result<bool, StoreError> {
        let inserted =
            sqlx::query("INSERT INTO checkpoints (tree_size, note) VALUES ($1, $2) ON CONFLICT (tree_size) DO NOTHING")
                .bind(to_i64(checkpoint.tree_size))
                .bind(&checkpoint.note)
                .execute(&self.pool)
                .await
                .map_err(store_error)?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn checkpoints(&self, after_size: u64, limit: usize) -> Result<Vec<StoredCheckpoint>, StoreError> {
        let rows =
            sqlx::query("SELECT tree_size, note FROM checkpoints WHERE tree_size > $1 ORDER BY tree_size LIMIT $2")
                .bind(to_i64(after_size))
                .bind(to_i64(limit as u64))
                .fetch_all(&self.pool)
                .await
                .map_err(store_error)?;
        rows.iter().map(checkpoint_from_row).collect()
    }

    async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        let row = sqlx::query("SELECT tree_size, note FROM checkpoints ORDER BY tree_size DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.as_ref().map(checkpoint_from_row).transpose()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(store_error)?;
        Ok(())
    }
}

fn checkpoint_from_row(row: &PgRow) -> Result<StoredCheckpoint, StoreError> {
    let tree_size = position_from_i64(row.try_get("tree_size").map_err(store_error)?)?;
    Ok(StoredCheckpoint { tree_size, note: row.try_get("note").map_err(store_error)? })
}

/// The body of [`PostgresEventStore::stream_stored`], on the connection it opened. The rows of each chunk are
/// decoded on a blocking thread while the next chunk's rows are read, so that reading, decoding and the receiver's
/// work each have a thread.
async fn stream_stored_rows(
    connection: &mut PgConnection,
    after_position: u64,
    up_to_position: u64,
    chunk_size: usize,
    chunks: mpsc::Sender<Vec<StoredText>>,
) -> Result<(), StoreError> {
    let chunk_size = chunk_size.max(1);
    let mut rows =
        sqlx::query(select_events!("WHERE global_position > $1 AND global_position <= $2 ORDER BY global_position"))
            .bind(to_i64(after_position))
            .bind(to_i64(up_to_position))
            .fetch(connection);
    let mut decoding: Option<Decoding> = None;
    let mut chunk_rows = Vec::with_capacity(chunk_size);
    loop {
        let row = rows.try_next().await.map_err(store_error)?;
        let at_end = row.is_none();
        chunk_rows.extend(row);
        if chunk_rows.len() == chunk_size || (at_end && !chunk_rows.is_empty()) {
            let full = std::mem::replace(&mut chunk_rows, Vec::with_capacity(chunk_size));
            let next = tokio::task::spawn_blocking(move || full.iter().map(stored_text_from_row).collect());
            if let Some(previous) = decoding.replace(next) {
                if chunks.send(decoded(previous).await?).await.is_err() {
                    return Ok(());
                }
            }
        }
        if at_end {
            break;
        }
    }
    if let Some(last) = decoding {
        // A receiver gone at the end has nothing left to miss.
        let _ = chunks.send(decoded(last).await?).await;
    }
    Ok(())
}

/// A chunk of rows being decoded on a blocking thread.
type Decoding = tokio::task::JoinHandle<Result<Vec<StoredText>, StoreError>>;

async fn decoded(decoding: Decoding) -> Result<Vec<StoredText>, StoreError> {
    decoding.await.map_err(|error| StoreError::Backend(format!("decoding of stored events stopped: {error}")))?
}
