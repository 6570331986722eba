//! The raw limit: what the same database on the same machine does with the simplest durable write of the same
//! data, one single-row `INSERT` per transaction (autocommit), from 1 and from N connections at once.
//!
//! The rows go into `bench_raw`, a copy of `events` with the same columns, constraints and indexes but no
//! trigger (PostgreSQL: `LIKE events INCLUDING ALL`; SQLite: the `CREATE TABLE` and `CREATE INDEX` statements of
//! `events`, renamed). Each row is a stored report event of the HTTP benchmark with fresh ids, positions and
//! hashes: the same payload, the same sizes. Connections use the store's durability settings (PostgreSQL's
//! server defaults, not touched; SQLite WAL, `synchronous = FULL`, the store's busy timeout).

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::Context;
use event_store::canonical::{canonical_json, format_effective_date, format_recorded_at};
use event_store::RecordedEvent;
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, PgConnection, Row, SqliteConnection};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::machine;
use crate::measure::{Figures, Tally, Window};
use crate::scratch::Scratch;

const PG_INSERT: &str = "INSERT INTO bench_raw (global_position, event_id, stream_id, stream_version, event_type, \
     schema_version, effective_date, recorded_at, actor_id, actor_name, actor_unit, actor_role, command_id, \
     correlation_id, causation_id, payload, prev_hash, hash) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)";

const SQLITE_INSERT: &str = "INSERT INTO bench_raw (global_position, event_id, stream_id, stream_version, \
     event_type, schema_version, effective_date, recorded_at, actor_id, actor_name, actor_unit, actor_role, \
     command_id, correlation_id, causation_id, payload, prev_hash, hash) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)";

/// Creates `bench_raw` next to `events` (the store has created `events` already).
pub(crate) async fn create_table(scratch: &Scratch) -> anyhow::Result<()> {
    match scratch {
        Scratch::Postgres { url, .. } => {
            let mut connection = PgConnection::connect(url).await?;
            sqlx::query("CREATE TABLE bench_raw (LIKE events INCLUDING ALL)").execute(&mut connection).await?;
            connection.close().await?;
        }
        Scratch::Sqlite { .. } => {
            let mut connection = sqlite_options(scratch).connect().await?;
            let statements: Vec<String> = sqlx::query_scalar(
                "SELECT sql FROM sqlite_master WHERE tbl_name = 'events' AND type IN ('table', 'index') \
                 AND sql IS NOT NULL ORDER BY type DESC",
            )
            .fetch_all(&mut connection)
            .await?;
            for statement in statements {
                let renamed = statement
                    .replacen("CREATE TABLE events", "CREATE TABLE bench_raw", 1)
                    .replacen(" ON events ", " ON bench_raw ", 1)
                    .replacen("CREATE INDEX events_", "CREATE INDEX bench_raw_", 1);
                sqlx::query(&renamed).execute(&mut connection).await?;
            }
            connection.close().await?;
        }
    }
    Ok(())
}

/// The durability settings the raw connections see, for the printed report.
pub(crate) async fn durability(scratch: &Scratch) -> anyhow::Result<String> {
    match scratch {
        Scratch::Postgres { url, .. } => {
            let mut connection = PgConnection::connect(url).await?;
            let mut settings = Vec::new();
            for name in ["server_version", "fsync", "synchronous_commit", "wal_sync_method", "commit_delay"] {
                let row = sqlx::query(&format!("SHOW {name}")).fetch_one(&mut connection).await?;
                settings.push(format!("{name}={}", row.try_get::<String, _>(0)?));
            }
            connection.close().await?;
            Ok(settings.join(" "))
        }
        Scratch::Sqlite { .. } => {
            let mut connection = sqlite_options(scratch).connect().await?;
            let version: String = sqlx::query_scalar("SELECT sqlite_version()").fetch_one(&mut connection).await?;
            let journal_mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut connection).await?;
            let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(&mut connection).await?;
            let synchronous = if synchronous == 2 { "FULL".to_owned() } else { synchronous.to_string() };
            connection.close().await?;
            Ok(format!("sqlite_version={version} journal_mode={journal_mode} synchronous={synchronous}"))
        }
    }
}

/// `connections` connections each looping single-row `INSERT` transactions of rows shaped like `template`.
pub(crate) async fn run(
    scratch: &Scratch,
    template: &RecordedEvent,
    connections: usize,
    window_of: impl FnOnce() -> Window,
) -> anyhow::Result<Figures> {
    let rows = Arc::new(RowSource::new(template, scratch).await?);
    let mut workers = Vec::with_capacity(connections);
    for _ in 0..connections {
        workers.push(Worker::connect(scratch).await?);
    }
    let window = window_of();
    let machine_busy = tokio::spawn(machine::busy_during(window));
    let mut tasks = tokio::task::JoinSet::new();
    for worker in workers {
        let rows = rows.clone();
        tasks.spawn(worker.run(rows, window));
    }
    let mut tally = Tally::new();
    while let Some(worker_tally) = tasks.join_next().await {
        tally.merge(&worker_tally.context("a raw insert worker panicked")?);
    }
    Ok(Figures { machine_busy: machine_busy.await.ok().flatten(), ..tally.figures(connections, window) })
}

/// What every row shares, taken from a stored report event, and the next free position.
struct RowSource {
    event_type: String,
    schema_version: i64,
    effective_date: Option<time::Date>,
    actor: event_store::Actor,
    payload: String,
    next_position: AtomicU64,
}

impl RowSource {
    async fn new(template: &RecordedEvent, scratch: &Scratch) -> anyhow::Result<RowSource> {
        let last_position = match scratch {
            Scratch::Postgres { url, .. } => {
                let mut connection = PgConnection::connect(url).await?;
                let last: i64 = sqlx::query_scalar("SELECT coalesce(max(global_position), 0) FROM bench_raw")
                    .fetch_one(&mut connection)
                    .await?;
                connection.close().await?;
                last
            }
            Scratch::Sqlite { .. } => {
                let mut connection = sqlite_options(scratch).connect().await?;
                let last: i64 = sqlx::query_scalar("SELECT coalesce(max(global_position), 0) FROM bench_raw")
                    .fetch_one(&mut connection)
                    .await?;
                connection.close().await?;
                last
            }
        };
        Ok(RowSource {
            event_type: template.event_type.clone(),
            schema_version: i64::from(template.schema_version),
            effective_date: template.effective_date,
            actor: template.actor.clone(),
            payload: canonical_json(&template.payload),
            next_position: AtomicU64::new(u64::try_from(last_position).unwrap_or(0)),
        })
    }

    fn next_position(&self) -> i64 {
        i64::try_from(self.next_position.fetch_add(1, Ordering::Relaxed) + 1).unwrap_or(i64::MAX)
    }
}

/// One connection and the stream it writes to.
struct Worker {
    connection: WorkerConnection,
    stream_id: String,
    stream_version: i64,
    prev_hash: String,
}

enum WorkerConnection {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

impl Worker {
    async fn connect(scratch: &Scratch) -> anyhow::Result<Worker> {
        let connection = match scratch {
            Scratch::Postgres { url, .. } => {
                let options = PgConnectOptions::from_str(url)?.disable_statement_logging();
                WorkerConnection::Postgres(options.connect().await?)
            }
            Scratch::Sqlite { .. } => {
                WorkerConnection::Sqlite(sqlite_options(scratch).disable_statement_logging().connect().await?)
            }
        };
        Ok(Worker {
            connection,
            stream_id: format!("task-{}", Uuid::now_v7()),
            stream_version: 0,
            prev_hash: "0".repeat(64),
        })
    }

    async fn run(mut self, rows: Arc<RowSource>, window: Window) -> Tally {
        let mut tally = Tally::new();
        while let Some(started) = window.next_start() {
            let result = self.insert_one(&rows).await;
            tally.finish(window, started, result);
        }
        tally
    }

    async fn insert_one(&mut self, rows: &RowSource) -> Result<(), String> {
        self.stream_version += 1;
        let position = rows.next_position();
        let event_id = Uuid::now_v7();
        let command_id = Uuid::now_v7();
        let hash = format!("{}{}", event_id.simple(), command_id.simple());
        let recorded_at = OffsetDateTime::now_utc();
        let result = match &mut self.connection {
            WorkerConnection::Postgres(connection) => sqlx::query(PG_INSERT)
                .bind(position)
                .bind(event_id)
                .bind(&self.stream_id)
                .bind(self.stream_version)
                .bind(&rows.event_type)
                .bind(rows.schema_version)
                .bind(rows.effective_date)
                .bind(recorded_at)
                .bind(&rows.actor.id)
                .bind(&rows.actor.name)
                .bind(&rows.actor.unit)
                .bind(&rows.actor.role)
                .bind(command_id)
                .bind(command_id)
                .bind(None::<Uuid>)
                .bind(&rows.payload)
                .bind(&self.prev_hash)
                .bind(&hash)
                .execute(connection)
                .await
                .map(drop),
            WorkerConnection::Sqlite(connection) => sqlx::query(SQLITE_INSERT)
                .bind(position)
                .bind(event_id.to_string())
                .bind(&self.stream_id)
                .bind(self.stream_version)
                .bind(&rows.event_type)
                .bind(rows.schema_version)
                .bind(rows.effective_date.map(format_effective_date))
                .bind(format_recorded_at(recorded_at))
                .bind(&rows.actor.id)
                .bind(&rows.actor.name)
                .bind(&rows.actor.unit)
                .bind(&rows.actor.role)
                .bind(command_id.to_string())
                .bind(command_id.to_string())
                .bind(None::<String>)
                .bind(&rows.payload)
                .bind(&self.prev_hash)
                .bind(&hash)
                .execute(connection)
                .await
                .map(drop),
        };
        self.prev_hash = hash;
        result.map_err(|error| error.to_string())
    }
}

/// The store's connection settings (see `event_store_sqlite::SqliteEventStore::open`).
pub(crate) fn sqlite_options(scratch: &Scratch) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(scratch.sqlite_path())
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(event_store_sqlite::BUSY_TIMEOUT)
}
