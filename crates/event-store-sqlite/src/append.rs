//! The append transaction: one `BEGIN IMMEDIATE` transaction per group-commit batch on the single writer
//! connection. Reads what the batch needs to be judged in one statement, lets [`event_store::batch::plan_batch`]
//! decide, and writes the plan with multi-row `INSERT`s and the head's `UPDATE`, sent together as one query.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use event_store::batch::{plan_batch, BatchLookups, BatchPlan, IdempotencyRecord, PreparedRequest, StoredState};
use event_store::canonical::{format_effective_date, format_recorded_at, parse_recorded_at};
use event_store::group_commit::BatchAppender;
use event_store::{AppendError, AppendOutcome, LogHead, RecordedEvent, StoreError, StreamId};
use sqlx::sqlite::{Sqlite, SqlitePool};
use sqlx::{QueryBuilder, Row, SqliteConnection};
use time::OffsetDateTime;
use tracing::instrument;
use uuid::Uuid;

use crate::rows::{idempotency_record_from_parts, position_from_i64, store_error, to_i64};

/// Rows per `INSERT` statement: 18 columns × 200 rows stays far below SQLite's limit of bound parameters.
const ROWS_PER_INSERT: usize = 200;

pub(crate) struct SqliteBatchAppender {
    /// A pool of exactly one connection: the writer.
    pub(crate) pool: SqlitePool,
}

#[async_trait]
impl BatchAppender for SqliteBatchAppender {
    #[instrument(level = "debug", skip_all, fields(n_requests = batch.len(), n_events = tracing::field::Empty))]
    async fn append_batch(
        &self,
        batch: Vec<PreparedRequest>,
    ) -> Result<Vec<Result<AppendOutcome, AppendError>>, StoreError> {
        let lookups = BatchLookups::of(&batch);
        let mut transaction = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(store_error)?;
        let state = read_stored_state(&mut transaction, &lookups).await?;
        let plan = plan_batch(&batch, state)?;
        tracing::Span::current().record("n_events", plan.events.len());
        if plan.writes_anything() {
            write_plan(&mut transaction, &plan).await?;
        }
        transaction.commit().await.map_err(store_error)?;
        Ok(plan.replies)
    }
}

/// Everything a batch is judged against, in one statement, as rows of one shape told apart by `kind`:
/// 0 the head, 1 a stream's current version (`NULL` for a stream without events), 2 an idempotency record,
/// 3 an existing event id. A stream's version is `max()` over its `(stream_id, stream_version)` index, which
/// SQLite answers from the end of the index, whatever the stream's length (a `GROUP BY` would read it all).
const LOOKUP: &str = "\
    SELECT 0 AS kind, NULL AS id, position AS number, hash AS text, NULL AS outcome, recorded_at \
    FROM log_head WHERE id = 1 \
    UNION ALL \
    SELECT 1, streams.value, (SELECT max(stream_version) FROM events WHERE stream_id = streams.value), \
           NULL, NULL, NULL \
    FROM json_each(?1) AS streams \
    UNION ALL \
    SELECT 2, key, NULL, fingerprint, outcome, NULL FROM idempotency_keys \
    WHERE key IN (SELECT value FROM json_each(?2)) \
    UNION ALL \
    SELECT 3, event_id, NULL, NULL, NULL, NULL FROM events WHERE event_id IN (SELECT value FROM json_each(?3))";

async fn read_stored_state(
    connection: &mut SqliteConnection,
    lookups: &BatchLookups,
) -> Result<StoredState, StoreError> {
    let stream_ids: Vec<&str> = lookups.stream_ids.iter().map(StreamId::as_str).collect();
    let rows = sqlx::query(LOOKUP)
        .bind(json_array(&stream_ids)?)
        .bind(json_array(&lookups.idempotency_keys)?)
        .bind(json_array(&lookups.event_ids)?)
        .fetch_all(&mut *connection)
        .await
        .map_err(store_error)?;

    let mut head = None;
    let mut stream_versions = HashMap::with_capacity(lookups.stream_ids.len());
    let mut idempotency_records: HashMap<Uuid, IdempotencyRecord> = HashMap::new();
    let mut existing_event_ids = HashSet::new();
    for row in rows {
        let kind: i64 = row.try_get("kind").map_err(store_error)?;
        match kind {
            0 => {
                let log_head = LogHead {
                    position: position_from_i64(row.try_get("number").map_err(store_error)?)?,
                    hash: row.try_get("text").map_err(store_error)?,
                };
                let recorded_at: Option<String> = row.try_get("recorded_at").map_err(store_error)?;
                let recorded_at = recorded_at
                    .map(|text| {
                        parse_recorded_at(&text).map_err(|error| StoreError::Corrupt {
                            position: log_head.position,
                            reason: format!("head recorded_at {text:?}: {error}"),
                        })
                    })
                    .transpose()?;
                head = Some((log_head, recorded_at));
            }
            1 => {
                let version: Option<i64> = row.try_get("number").map_err(store_error)?;
                if let Some(version) = version {
                    let stream_id = StreamId(row.try_get("id").map_err(store_error)?);
                    stream_versions.insert(stream_id, position_from_i64(version)?);
                }
            }
            2 => {
                let key: String = row.try_get("id").map_err(store_error)?;
                let fingerprint: String = row.try_get("text").map_err(store_error)?;
                let outcome: String = row.try_get("outcome").map_err(store_error)?;
                let (key, record) = idempotency_record_from_parts(&key, fingerprint, &outcome)?;
                idempotency_records.insert(key, record);
            }
            _ => {
                let text: String = row.try_get("id").map_err(store_error)?;
                let event_id = Uuid::parse_str(&text)
                    .map_err(|error| StoreError::Backend(format!("stored event id {text:?}: {error}")))?;
                existing_event_ids.insert(event_id);
            }
        }
    }
    let (head, head_recorded_at) = head.ok_or_else(|| StoreError::Backend("the log_head row is missing".to_owned()))?;
    Ok(StoredState {
        head,
        head_recorded_at,
        // Read under the write lock, after the head: later than every committed event's, unless the clock stepped
        // back, which `plan_batch` makes up for.
        now: OffsetDateTime::now_utc(),
        stream_versions,
        idempotency_records,
        existing_event_ids,
    })
}

/// Writes the plan in one round trip to the connection's thread: one query of several statements (the events'
/// multi-row `INSERT`s, the idempotency records' and the head's `UPDATE`), whose positional parameters SQLite's
/// driver binds in order across the statements. The first failing statement ends the query, and the transaction
/// is rolled back as a whole.
async fn write_plan(connection: &mut SqliteConnection, plan: &BatchPlan) -> Result<(), StoreError> {
    let mut outcomes = Vec::with_capacity(plan.idempotency_records.len());
    for new_record in &plan.idempotency_records {
        let outcome = new_record.record.outcome_json()?;
        outcomes.push((new_record.key.to_string(), new_record.record.fingerprint.as_str(), outcome));
    }
    let mut write = QueryBuilder::<Sqlite>::new("");
    for (events, canonical_payloads) in
        plan.events.chunks(ROWS_PER_INSERT).zip(plan.canonical_payloads.chunks(ROWS_PER_INSERT))
    {
        push_insert_events(&mut write, events, canonical_payloads);
    }
    for chunk in outcomes.chunks(ROWS_PER_INSERT) {
        write.push("INSERT INTO idempotency_keys (key, fingerprint, outcome) ");
        write.push_values(chunk, |mut row, (key, fingerprint, outcome)| {
            row.push_bind(key.as_str()).push_bind(*fingerprint).push_bind(outcome.as_str());
        });
        write.push("; ");
    }
    write
        .push("UPDATE log_head SET position = ")
        .push_bind(to_i64(plan.head.position))
        .push(", hash = ")
        .push_bind(plan.head.hash.as_str())
        .push(", recorded_at = ")
        .push_bind(format_recorded_at(plan.recorded_at))
        .push(" WHERE id = 1");
    write.build().execute(&mut *connection).await.map_err(store_error)?;
    Ok(())
}

/// Adds the `INSERT` of `events` to `write`, each with its payload's canonical text from `canonical_payloads` (in
/// the same order).
fn push_insert_events<'a>(
    write: &mut QueryBuilder<'a, Sqlite>,
    events: &'a [RecordedEvent<()>],
    canonical_payloads: &'a [Arc<str>],
) {
    write.push(
        "INSERT INTO events (global_position, event_id, stream_id, stream_version, event_type, schema_version, \
         effective_date, recorded_at, actor_id, actor_name, actor_unit, actor_role, command_id, correlation_id, \
         causation_id, payload, prev_hash, hash) ",
    );
    write.push_values(events.iter().zip(canonical_payloads), |mut row, (event, canonical_payload)| {
        row.push_bind(to_i64(event.global_position))
            .push_bind(event.event_id.to_string())
            .push_bind(event.stream_id.as_str())
            .push_bind(to_i64(event.stream_version))
            .push_bind(event.event_type.as_str())
            .push_bind(i64::from(event.schema_version))
            .push_bind(event.effective_date.map(format_effective_date))
            .push_bind(format_recorded_at(event.recorded_at))
            .push_bind(event.actor.id.as_str())
            .push_bind(event.actor.name.as_str())
            .push_bind(event.actor.unit.as_str())
            .push_bind(event.actor.role.as_str())
            .push_bind(event.command_id.to_string())
            .push_bind(event.correlation_id.to_string())
            .push_bind(event.causation_id.map(|id| id.to_string()))
            .push_bind(&**canonical_payload)
            .push_bind(event.prev_hash.as_str())
            .push_bind(event.hash.as_str());
    });
    write.push("; ");
}

/// A JSON array of the values, for `IN (SELECT value FROM json_each(?))`: one parameter for any number of values.
fn json_array<T: serde::Serialize>(values: &[T]) -> Result<String, StoreError> {
    serde_json::to_string(values)
        .map_err(|error| StoreError::Backend(format!("cannot serialise lookup values: {error}")))
}
