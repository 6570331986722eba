//! The append transaction: one per group-commit batch. Locks the log head, reads what the batch needs to be
//! judged, lets [`event_store::batch::plan_batch`] decide, and writes the plan with one multi-row `INSERT` per table
//! (`UNNEST` of arrays, so the statement is the same for any batch size and stays prepared).

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use event_store::batch::{plan_batch, BatchLookups, BatchPlan, IdempotencyRecord, StoredState};
use event_store::canonical::canonical_json;
use event_store::group_commit::BatchAppender;
use event_store::{AppendError, AppendOutcome, AppendRequest, LogHead, StoreError, StreamId};
use sqlx::postgres::PgPool;
use sqlx::{PgConnection, Row};
use time::{Date, OffsetDateTime};
use tracing::instrument;
use uuid::Uuid;

use crate::rows::{idempotency_record_from_row, position_from_i64, store_error, to_i64};

pub(crate) struct PostgresBatchAppender {
    pub(crate) pool: PgPool,
}

#[async_trait]
impl BatchAppender for PostgresBatchAppender {
    #[instrument(skip_all, fields(n_requests = batch.len(), n_events = tracing::field::Empty))]
    async fn append_batch(
        &self,
        batch: Vec<AppendRequest>,
    ) -> Result<Vec<Result<AppendOutcome, AppendError>>, StoreError> {
        let lookups = BatchLookups::of(&batch);
        // READ COMMITTED whatever the server's default: after waiting for the head lock, each statement must see
        // what the previous writer committed (a REPEATABLE READ snapshot would fail on the head row instead).
        let mut transaction =
            self.pool.begin_with("BEGIN ISOLATION LEVEL READ COMMITTED").await.map_err(store_error)?;
        let state = read_stored_state(&mut transaction, &lookups).await?;
        let plan = plan_batch(batch, state)?;
        tracing::Span::current().record("n_events", plan.events.len());
        if plan.writes_anything() {
            write_plan(&mut transaction, &plan).await?;
        }
        transaction.commit().await.map_err(store_error)?;
        Ok(plan.replies)
    }
}

/// Locks the head row (the serialisation point of all writers), then reads the clock and what the batch touches.
async fn read_stored_state(connection: &mut PgConnection, lookups: &BatchLookups) -> Result<StoredState, StoreError> {
    let head_row = sqlx::query("SELECT position, hash, recorded_at FROM log_head WHERE id = 1 FOR UPDATE")
        .fetch_one(&mut *connection)
        .await
        .map_err(store_error)?;
    let head = LogHead {
        position: position_from_i64(head_row.try_get("position").map_err(store_error)?)?,
        hash: head_row.try_get("hash").map_err(store_error)?,
    };
    let head_recorded_at: Option<OffsetDateTime> = head_row.try_get("recorded_at").map_err(store_error)?;
    // Read after the lock was granted, so that it is later than every committed event's.
    let now: OffsetDateTime =
        sqlx::query_scalar("SELECT clock_timestamp()").fetch_one(&mut *connection).await.map_err(store_error)?;

    let stream_ids: Vec<&str> = lookups.stream_ids.iter().map(StreamId::as_str).collect();
    let version_rows = sqlx::query(
        "SELECT stream_id, max(stream_version) AS version FROM events WHERE stream_id = ANY($1) GROUP BY stream_id",
    )
    .bind(&stream_ids)
    .fetch_all(&mut *connection)
    .await
    .map_err(store_error)?;
    let mut stream_versions = HashMap::with_capacity(version_rows.len());
    for row in version_rows {
        let version = position_from_i64(row.try_get("version").map_err(store_error)?)?;
        stream_versions.insert(StreamId(row.try_get("stream_id").map_err(store_error)?), version);
    }

    let mut idempotency_records: HashMap<Uuid, IdempotencyRecord> = HashMap::new();
    if !lookups.idempotency_keys.is_empty() {
        let rows = sqlx::query("SELECT key, fingerprint, outcome FROM idempotency_keys WHERE key = ANY($1)")
            .bind(&lookups.idempotency_keys)
            .fetch_all(&mut *connection)
            .await
            .map_err(store_error)?;
        for row in rows {
            let (key, record) = idempotency_record_from_row(&row)?;
            idempotency_records.insert(key, record);
        }
    }

    let existing_event_ids: HashSet<Uuid> = sqlx::query_scalar("SELECT event_id FROM events WHERE event_id = ANY($1)")
        .bind(&lookups.event_ids)
        .fetch_all(&mut *connection)
        .await
        .map_err(store_error)?
        .into_iter()
        .collect();

    Ok(StoredState { head, head_recorded_at, now, stream_versions, idempotency_records, existing_event_ids })
}

async fn write_plan(connection: &mut PgConnection, plan: &BatchPlan) -> Result<(), StoreError> {
    insert_events(connection, plan).await?;
    if !plan.idempotency_records.is_empty() {
        insert_idempotency_records(connection, plan).await?;
    }
    sqlx::query("UPDATE log_head SET position = $1, hash = $2, recorded_at = $3 WHERE id = 1")
        .bind(to_i64(plan.head.position))
        .bind(&plan.head.hash)
        .bind(plan.recorded_at)
        .execute(&mut *connection)
        .await
        .map_err(store_error)?;
    Ok(())
}

async fn insert_events(connection: &mut PgConnection, plan: &BatchPlan) -> Result<(), StoreError> {
    let n_events = plan.events.len();
    let mut columns = EventColumns::with_capacity(n_events);
    for event in &plan.events {
        columns.global_position.push(to_i64(event.global_position));
        columns.event_id.push(event.event_id);
        columns.stream_id.push(event.stream_id.as_str());
        columns.stream_version.push(to_i64(event.stream_version));
        columns.event_type.push(&event.event_type);
        columns.schema_version.push(i64::from(event.schema_version));
        columns.effective_date.push(event.effective_date);
        columns.recorded_at.push(event.recorded_at);
        columns.actor_id.push(&event.actor.id);
        columns.actor_name.push(&event.actor.name);
        columns.actor_unit.push(&event.actor.unit);
        columns.actor_role.push(&event.actor.role);
        columns.command_id.push(event.command_id);
        columns.correlation_id.push(event.correlation_id);
        columns.causation_id.push(event.causation_id);
        columns.payload.push(canonical_json(&event.payload));
        columns.prev_hash.push(&event.prev_hash);
        columns.hash.push(&event.hash);
    }
    sqlx::query(
        "INSERT INTO events (global_position, event_id, stream_id, stream_version, event_type, schema_version, \
         effective_date, recorded_at, actor_id, actor_name, actor_unit, actor_role, command_id, correlation_id, \
         causation_id, payload, prev_hash, hash) \
         SELECT * FROM UNNEST($1::bigint[], $2::uuid[], $3::text[], $4::bigint[], $5::text[], $6::bigint[], \
         $7::date[], $8::timestamptz[], $9::text[], $10::text[], $11::text[], $12::text[], $13::uuid[], $14::uuid[], \
         $15::uuid[], $16::text[], $17::text[], $18::text[])",
    )
    .bind(columns.global_position)
    .bind(columns.event_id)
    .bind(columns.stream_id)
    .bind(columns.stream_version)
    .bind(columns.event_type)
    .bind(columns.schema_version)
    .bind(columns.effective_date)
    .bind(columns.recorded_at)
    .bind(columns.actor_id)
    .bind(columns.actor_name)
    .bind(columns.actor_unit)
    .bind(columns.actor_role)
    .bind(columns.command_id)
    .bind(columns.correlation_id)
    .bind(columns.causation_id)
    .bind(columns.payload)
    .bind(columns.prev_hash)
    .bind(columns.hash)
    .execute(&mut *connection)
    .await
    .map_err(store_error)?;
    Ok(())
}

async fn insert_idempotency_records(connection: &mut PgConnection, plan: &BatchPlan) -> Result<(), StoreError> {
    let mut keys = Vec::with_capacity(plan.idempotency_records.len());
    let mut fingerprints = Vec::with_capacity(plan.idempotency_records.len());
    let mut outcomes = Vec::with_capacity(plan.idempotency_records.len());
    for new_record in &plan.idempotency_records {
        keys.push(new_record.key);
        fingerprints.push(new_record.record.fingerprint.as_str());
        let outcome = serde_json::to_string(&new_record.record.outcome)
            .map_err(|error| StoreError::Backend(format!("cannot serialise an append outcome: {error}")))?;
        outcomes.push(outcome);
    }
    sqlx::query(
        "INSERT INTO idempotency_keys (key, fingerprint, outcome) SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[])",
    )
    .bind(keys)
    .bind(fingerprints)
    .bind(outcomes)
    .execute(&mut *connection)
    .await
    .map_err(store_error)?;
    Ok(())
}

/// The events of a plan as one array per column, for `UNNEST`.
struct EventColumns<'a> {
    global_position: Vec<i64>,
    event_id: Vec<Uuid>,
    stream_id: Vec<&'a str>,
    stream_version: Vec<i64>,
    event_type: Vec<&'a str>,
    schema_version: Vec<i64>,
    effective_date: Vec<Option<Date>>,
    recorded_at: Vec<OffsetDateTime>,
    actor_id: Vec<&'a str>,
    actor_name: Vec<&'a str>,
    actor_unit: Vec<&'a str>,
    actor_role: Vec<&'a str>,
    command_id: Vec<Uuid>,
    correlation_id: Vec<Uuid>,
    causation_id: Vec<Option<Uuid>>,
    payload: Vec<String>,
    prev_hash: Vec<&'a str>,
    hash: Vec<&'a str>,
}

impl EventColumns<'_> {
    fn with_capacity(n_events: usize) -> Self {
        EventColumns {
            global_position: Vec::with_capacity(n_events),
            event_id: Vec::with_capacity(n_events),
            stream_id: Vec::with_capacity(n_events),
            stream_version: Vec::with_capacity(n_events),
            event_type: Vec::with_capacity(n_events),
            schema_version: Vec::with_capacity(n_events),
            effective_date: Vec::with_capacity(n_events),
            recorded_at: Vec::with_capacity(n_events),
            actor_id: Vec::with_capacity(n_events),
            actor_name: Vec::with_capacity(n_events),
            actor_unit: Vec::with_capacity(n_events),
            actor_role: Vec::with_capacity(n_events),
            command_id: Vec::with_capacity(n_events),
            correlation_id: Vec::with_capacity(n_events),
            causation_id: Vec::with_capacity(n_events),
            payload: Vec::with_capacity(n_events),
            prev_hash: Vec::with_capacity(n_events),
            hash: Vec::with_capacity(n_events),
        }
    }
}
