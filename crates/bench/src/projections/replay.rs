//! Replay speed: `projection::rebuild::rebuild` of each read model over the whole store, beside the raw limit of
//! the same database — one plain `SELECT` of every column of every event, in position order, each column decoded
//! into its Rust type (the payload stays text: parsing it is the rebuild's work, not the database's).

use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use event_store::EventStore;
use futures_util::TryStreamExt;
use projection::db::ReadDb;
use projection::models::ReadModel;
use sqlx::{PgPool, Row};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::history::History;

/// How fast the rows came out of PostgreSQL.
#[derive(Debug, Clone)]
pub struct RawScan {
    pub n_rows: u64,
    pub seconds: f64,
    /// Bytes of text columns read (payloads, hashes, names), so that the scan cannot be optimised away.
    pub n_text_bytes: u64,
}

/// What the rebuild's two halves cost alone: reading the whole log through the store (which parses every
/// payload), and PostgreSQL inserting the tasks model's report rows (`INSERT … SELECT` of the rebuilt table into a
/// copy with the same indexes, no client involved).
#[derive(Debug, Clone)]
pub struct RebuildParts {
    pub n_events_read: u64,
    pub read_seconds: f64,
    pub n_rows_inserted: u64,
    pub insert_seconds: f64,
}

/// What one rebuild did and how fast.
#[derive(Debug, Clone)]
pub struct Rebuild {
    pub model: String,
    pub n_events: u64,
    pub seconds: f64,
    pub n_parked: u64,
}

impl RawScan {
    pub fn per_second(&self) -> f64 {
        self.n_rows as f64 / self.seconds.max(1e-9)
    }
}

impl RebuildParts {
    pub fn read_per_second(&self) -> f64 {
        self.n_events_read as f64 / self.read_seconds.max(1e-9)
    }

    pub fn insert_per_second(&self) -> f64 {
        self.n_rows_inserted as f64 / self.insert_seconds.max(1e-9)
    }
}

impl Rebuild {
    pub fn per_second(&self) -> f64 {
        self.n_events as f64 / self.seconds.max(1e-9)
    }
}

/// Scans the events table once, streaming: every column of every row.
pub(crate) async fn raw_scan(pool: &PgPool) -> anyhow::Result<RawScan> {
    let started = Instant::now();
    let mut rows = sqlx::query(
        "SELECT global_position, event_id, stream_id, stream_version, event_type, schema_version, effective_date, \
         recorded_at, actor_id, actor_name, actor_unit, actor_role, command_id, correlation_id, causation_id, \
         payload, prev_hash, hash FROM events ORDER BY global_position",
    )
    .fetch(pool);
    let mut n_rows = 0_u64;
    let mut n_text_bytes = 0_u64;
    while let Some(row) = rows.try_next().await.context("the raw scan failed")? {
        let _position: i64 = row.try_get(0)?;
        let _event_id: Uuid = row.try_get(1)?;
        let stream_id: String = row.try_get(2)?;
        let _stream_version: i64 = row.try_get(3)?;
        let event_type: String = row.try_get(4)?;
        let _schema_version: i64 = row.try_get(5)?;
        let _effective_date: Option<Date> = row.try_get(6)?;
        let _recorded_at: OffsetDateTime = row.try_get(7)?;
        let actor: [String; 4] = [row.try_get(8)?, row.try_get(9)?, row.try_get(10)?, row.try_get(11)?];
        let _ids: [Option<Uuid>; 3] = [row.try_get(12)?, row.try_get(13)?, row.try_get(14)?];
        let payload: String = row.try_get(15)?;
        let prev_hash: String = row.try_get(16)?;
        let hash: String = row.try_get(17)?;
        n_text_bytes += (stream_id.len()
            + event_type.len()
            + actor.iter().map(String::len).sum::<usize>()
            + payload.len()
            + prev_hash.len()
            + hash.len()) as u64;
        n_rows += 1;
    }
    Ok(RawScan { n_rows, seconds: started.elapsed().as_secs_f64(), n_text_bytes })
}

/// Reads the whole log through the store, `batch_size` events at a time, as the rebuild reads it.
pub(crate) async fn store_scan(store: &dyn EventStore, batch_size: usize) -> anyhow::Result<(u64, f64)> {
    let started = Instant::now();
    let mut position = 0;
    let mut n_events = 0_u64;
    loop {
        let events = store.read_all(position, batch_size).await.context("the store scan failed")?;
        let Some(last) = events.last() else { break };
        position = last.global_position;
        n_events += events.len() as u64;
    }
    Ok((n_events, started.elapsed().as_secs_f64()))
}

/// Copies a table into a new one with the same columns and indexes inside PostgreSQL, then drops the copy.
pub(crate) async fn insert_select(pool: &PgPool, table: &str) -> anyhow::Result<(u64, f64)> {
    let copy = format!("{table}_bench_copy");
    sqlx::query(&format!("DROP TABLE IF EXISTS {copy}")).execute(pool).await?;
    sqlx::query(&format!("CREATE TABLE {copy} (LIKE {table} INCLUDING ALL)")).execute(pool).await?;
    let started = Instant::now();
    let inserted = sqlx::query(&format!("INSERT INTO {copy} SELECT * FROM {table}")).execute(pool).await;
    let seconds = started.elapsed().as_secs_f64();
    sqlx::query(&format!("DROP TABLE IF EXISTS {copy}")).execute(pool).await?;
    Ok((inserted.context("the INSERT … SELECT failed")?.rows_affected(), seconds))
}

/// Rebuilds one read model over the whole store.
pub(crate) async fn rebuild(
    db: &ReadDb,
    store: &dyn EventStore,
    model: Arc<dyn ReadModel>,
    batch_size: usize,
) -> anyhow::Result<Rebuild> {
    let name = model.name().to_owned();
    let report = projection::rebuild::rebuild(db, store, model, batch_size)
        .await
        .with_context(|| format!("the rebuild of {name} failed"))?;
    Ok(Rebuild { model: name, n_events: report.n_events, seconds: report.seconds, n_parked: report.n_parked })
}

/// Checks the rebuilt tasks model against what was written: one row per node and per report version, nothing
/// parked. A fast replay that loses rows would be no figure at all.
pub(crate) async fn check_tasks_model(db: &ReadDb, history: &History, rebuilt: &Rebuild) -> anyhow::Result<String> {
    if rebuilt.n_parked > 0 {
        bail!("the rebuild of {} parked {} events", rebuilt.model, rebuilt.n_parked);
    }
    let generation = db.generation(projection::models::tasks::NAME).await?;
    let count = |table: &str| {
        let sql = format!("SELECT count(*) FROM {}", projection::db::table(table, generation));
        async move { anyhow::Ok(sqlx::query(&sql).fetch_one(db.pool()).await?.try_get::<i64, _>(0)? as u64) }
    };
    let (n_tasks, n_reports) = (count("tasks").await?, count("reports").await?);
    if n_tasks != history.n_nodes() || n_reports != history.n_report_versions() {
        bail!(
            "the rebuilt tasks model has {n_tasks} tasks and {n_reports} report versions; {} and {} were written",
            history.n_nodes(),
            history.n_report_versions()
        );
    }
    Ok(format!("{n_tasks} tasks and indicators, {n_reports} report versions, as written"))
}
