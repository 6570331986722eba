//! The append of one group-commit batch, by one of two paths.
//!
//! **One round trip** (the common case). The writer plans the batch in memory against what it learnt from its
//! previous batches ([`crate::writer_memory`]): the head, the versions of the streams it wrote lately, the store's
//! clock estimated from this process's, and no stored idempotency key or event id. It sends the plan as one
//! autocommit statement ([`APPEND_IF_UNCHANGED`]) that locks the head like every append, judges the assumptions
//! that the indexes cannot, and writes the plan only if they hold. Every assumption is checked before the plan
//! can commit:
//!
//! - the head (position and hash) and `recorded_at`, on the head row as locked;
//! - the version of a stream that the memory did not remember (guessed from a request's expectation, so it may be
//!   above the stored one) or that the plan writes no event to (an expectation alone, the subject of a refused
//!   request), by a lookup;
//! - the version of a remembered stream that the plan writes to, by the unique index on `(stream_id,
//!   stream_version)`: a remembered version is never above the stored one, so a stale one makes the plan's first
//!   event of that stream collide with a stored event;
//! - the absence of the batch's idempotency keys and event ids, by their unique indexes.
//!
//! A failed judgement writes nothing and names the assumption; a collision fails the statement, and its constraint
//! names the assumption. Either way the batch then takes the exact path. The one statement costs the database far
//! less than a PL/pgSQL call of one statement per check, which matters most for the small batches of a moderate
//! load (one or two commands each).
//!
//! **Exact**, in four round trips whatever the batch's size; the authority for replays, conflicts, other
//! processes' writes, unknown streams and the first batch:
//!
//! 1. `BEGIN` and the lock on the log head, sent together (one simple query);
//! 2. one lookup statement: the head, the clock, the current version of every stream the batch touches, the
//!    idempotency records of its keys and which of its event ids already exist;
//! 3. after [`event_store::batch::plan_batch`] has decided, one statement that inserts the events and the
//!    idempotency records and moves the head (a data-modifying `WITH`, `UNNEST` of arrays);
//! 4. `COMMIT`.
//!
//! Both paths plan with the same [`event_store::batch::plan_batch`], so hashes, positions and answers do not depend
//! on the path. Every statement is the same text for any batch, so sqlx keeps them prepared on each connection.
//! The exact lookup runs after the lock was granted, in its own statement, so that (in READ COMMITTED) its snapshot
//! includes everything the previous writer committed, and the clock it reads is later than that writer's; the
//! function gets the same from being VOLATILE (a fresh snapshot per statement).
//!
//! `recorded_at` on the one-round-trip path is this process's clock plus the offset to the store's clock measured
//! by the last exact batch, never before the head's; the function refuses it when it is before the head's or
//! further than [`RECORDED_AT_TOLERANCE`] from `clock_timestamp()` read under the lock.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use event_store::batch::{plan_batch, BatchLookups, BatchPlan, IdempotencyRecord, PreparedRequest, StoredState};
use event_store::group_commit::BatchAppender;
use event_store::{AppendError, AppendOutcome, LogHead, RecordedEvent, StoreError, StreamId};
use sqlx::postgres::{PgArguments, PgHasArrayType, PgPool, PgTypeInfo};
use sqlx::query::Query;
use sqlx::{Connection, PgConnection, Postgres, Row};
use time::{Date, OffsetDateTime};
use tokio::sync::Mutex;
use tracing::{debug, instrument};
use uuid::Uuid;

use crate::rows::{idempotency_record_from_parts, position_from_i64, store_error, to_i64};
use crate::writer_memory::{AssumedState, OneRoundTripRefusal, WriterMemory};

/// Opens the transaction and takes the head lock in one round trip. READ COMMITTED whatever the server's
/// default: after waiting for the lock, each later statement must see what the previous writer committed (a
/// REPEATABLE READ snapshot would fail on the head row instead).
const BEGIN_AND_LOCK_HEAD: &str =
    "BEGIN ISOLATION LEVEL READ COMMITTED; SELECT 1 FROM log_head WHERE id = 1 FOR UPDATE";

/// Everything a batch is judged against, as rows of one shape told apart by `kind`:
/// 0 the head and the clock, 1 a stream's current version, 2 an idempotency record, 3 an existing event id.
///
/// Every lookup is one probe of a unique index per value (`LATERAL … LIMIT 1`), whatever the size of the tables.
/// The plain form `WHERE event_id = ANY($1)` is avoided on purpose: sqlx keeps statements prepared, PostgreSQL
/// settles on a generic plan after a few executions, and a generic plan made while `events` was small is a
/// sequential scan that then runs on every batch, slower and slower as the log grows.
const LOOKUP: &str = "\
    SELECT 0 AS kind, NULL::text AS stream_id, position AS number, hash AS text, NULL::text AS outcome, \
           NULL::uuid AS id, recorded_at, clock_timestamp() AS now \
    FROM log_head WHERE id = 1 \
    UNION ALL \
    SELECT 1, streams.stream_id, last.stream_version, NULL, NULL, NULL, NULL, NULL \
    FROM unnest($1::text[]) AS streams(stream_id) \
    CROSS JOIN LATERAL (SELECT stream_version FROM events WHERE events.stream_id = streams.stream_id \
                        ORDER BY stream_version DESC LIMIT 1) AS last \
    UNION ALL \
    SELECT 2, NULL, NULL, record.fingerprint, record.outcome, record.key, NULL, NULL \
    FROM unnest($2::uuid[]) AS keys(key) \
    CROSS JOIN LATERAL (SELECT key, fingerprint, outcome FROM idempotency_keys \
                        WHERE idempotency_keys.key = keys.key LIMIT 1) AS record \
    UNION ALL \
    SELECT 3, NULL, NULL, NULL, NULL, stored.event_id, NULL, NULL \
    FROM unnest($3::uuid[]) AS ids(event_id) \
    CROSS JOIN LATERAL (SELECT event_id FROM events WHERE events.event_id = ids.event_id LIMIT 1) AS stored";

/// Inserts the plan's events and idempotency records and moves the head, in one statement: `$1` the events as an
/// `event_row[]`, `$2` the records as an `idempotency_row[]` ([`PlanRows`]), then the new head.
const WRITE: &str = "\
    WITH new_events AS ( \
        INSERT INTO events (global_position, event_id, stream_id, stream_version, event_type, schema_version, \
            effective_date, recorded_at, actor_id, actor_name, actor_unit, actor_role, command_id, correlation_id, \
            causation_id, payload, prev_hash, hash) \
        SELECT * FROM UNNEST($1::event_row[]) \
    ), new_idempotency_keys AS ( \
        INSERT INTO idempotency_keys (key, fingerprint, outcome) \
        SELECT * FROM UNNEST($2::idempotency_row[]) \
    ) \
    UPDATE log_head SET position = $3, hash = $4, recorded_at = $5 WHERE id = 1";

/// The writer's session settings. Every lookup of an append (stream versions, idempotency keys and event ids in the
/// exact path's `LOOKUP`, stream versions in [`APPEND_IF_UNCHANGED`]) is meant as one probe of a unique index per
/// value; but a plan is cached for the connection's life (sqlx's prepared statements), and a plan made while a
/// table was analysed empty (`idempotency_keys` of a ledger loaded without keys, any table of a new deployment) is
/// a sequential scan, run again on every batch as the table grows: seen as most of the machine's CPU in a
/// benchmark.
/// With sequential scans off, the planner takes the index whatever the statistics; the writer runs no other query.
const WRITER_SESSION: [&str; 2] =
    ["SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED", "SET enable_seqscan = off"];

/// How far the `recorded_at` proposed on the one-round-trip path may be from the store's clock read under the head
/// lock. It covers the error of the clock offset estimate (half a round trip at most), the time from planning to
/// the lock (a round trip, and the wait for another process's transaction) and the drift between two exact
/// batches; a batch beyond it takes the exact path, which uses the store's clock itself.
const RECORDED_AT_TOLERANCE: Duration = Duration::from_millis(100);

/// The one-round-trip append of a planned batch, as one autocommit statement. Parameters: the expected head
/// position and hash ($1, $2); the streams to look up and their assumed versions ($3, $4); the batch's
/// `recorded_at` and its tolerance ($5, $6); the new head position and hash ($7, $8); then the plan's events and
/// idempotency records ($9, $10, see [`PlanRows`]). It answers one word: `appended`, or the first assumption
/// found false (`isolation`, `head_moved`, `recorded_at`, `stream_version`), in which case nothing is written.
///
/// The head is locked first (`FOR UPDATE` in the `head` query, on which every write depends): writers of every
/// process stay serialised and commit order stays position order. In READ COMMITTED the locked row is the latest
/// committed one even when the lock had to wait. The stream lookups read the statement's snapshot, which may
/// predate that wait; but every append moves the head, so when the locked head is the expected one nothing was
/// appended after the snapshot, and the snapshot shows the stored versions.
pub(crate) const APPEND_IF_UNCHANGED: &str = "\
    WITH head AS ( \
        SELECT position, hash, recorded_at, clock_timestamp() AS store_clock FROM log_head WHERE id = 1 FOR UPDATE \
    ), verdict AS ( \
        SELECT CASE \
            WHEN current_setting('transaction_isolation') <> 'read committed' THEN 'isolation' \
            WHEN head.position <> $1 OR head.hash <> $2 THEN 'head_moved' \
            WHEN (head.recorded_at IS NOT NULL AND $5 < head.recorded_at) \
                OR $5 < head.store_clock - $6::interval OR $5 > head.store_clock + $6::interval THEN 'recorded_at' \
            WHEN EXISTS ( \
                SELECT 1 FROM unnest($3::text[], $4::bigint[]) AS assumed(stream_id, stream_version) \
                LEFT JOIN LATERAL (SELECT events.stream_version FROM events \
                                   WHERE events.stream_id = assumed.stream_id \
                                   ORDER BY events.stream_version DESC LIMIT 1) AS last ON TRUE \
                WHERE coalesce(last.stream_version, 0) <> assumed.stream_version) THEN 'stream_version' \
            ELSE 'appended' \
        END AS word \
        FROM head \
    ), new_events AS ( \
        INSERT INTO events (global_position, event_id, stream_id, stream_version, event_type, schema_version, \
            effective_date, recorded_at, actor_id, actor_name, actor_unit, actor_role, command_id, correlation_id, \
            causation_id, payload, prev_hash, hash) \
        SELECT * FROM UNNEST($9::event_row[]) \
        WHERE (SELECT word FROM verdict) = 'appended' \
    ), new_idempotency_keys AS ( \
        INSERT INTO idempotency_keys (key, fingerprint, outcome) \
        SELECT * FROM UNNEST($10::idempotency_row[]) \
        WHERE (SELECT word FROM verdict) = 'appended' \
    ), moved AS ( \
        UPDATE log_head SET position = $7, hash = $8, recorded_at = $5 \
        WHERE id = 1 AND (SELECT word FROM verdict) = 'appended' \
    ) \
    SELECT word FROM verdict";

/// How the batches of one store were appended since it was opened, for operations and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppendPathCounts {
    /// Batches written by one [`APPEND_IF_UNCHANGED`] statement.
    pub one_round_trip: u64,
    /// Batches that took the exact transaction (whether or not the one-round-trip path was tried first).
    pub exact: u64,
    /// Refusals of the one-round-trip path, by the assumption that failed.
    pub refused_isolation: u64,
    pub refused_head_moved: u64,
    pub refused_recorded_at: u64,
    pub refused_stream_version: u64,
    pub refused_idempotency_key: u64,
    pub refused_event_id: u64,
}

pub(crate) struct PostgresBatchAppender {
    pool: PgPool,
    /// One writer task calls the appender, so the lock is never contended; it only makes the appender `Sync`.
    writer: Mutex<WriterState>,
    counts: Arc<std::sync::Mutex<AppendPathCounts>>,
}

struct WriterState {
    /// The writer's own connection, taken out of the pool (detached) and kept from batch to batch, with the time it
    /// was last used: the pool would otherwise test it with an extra round trip on every checkout and every
    /// return. Dropped after a failed transaction, so that the next batch starts on a fresh connection.
    connection: Option<(PgConnection, Instant)>,
    memory: WriterMemory,
}

/// A held connection unused for longer than this is pinged before a batch uses it (the server may have closed
/// it meanwhile: a restart, an idle timeout), so that a batch does not fail for a connection that was known to be
/// old. Under load the connection is never that idle and never pinged.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

impl PostgresBatchAppender {
    pub(crate) fn new(pool: PgPool, counts: Arc<std::sync::Mutex<AppendPathCounts>>) -> Self {
        let writer = WriterState { connection: None, memory: WriterMemory::new() };
        PostgresBatchAppender { pool, writer: Mutex::new(writer), counts }
    }

    /// A connection of the writer's own, out of the pool, READ COMMITTED for its autocommit statements too whatever
    /// the server's default ([`APPEND_IF_UNCHANGED`] refuses to run otherwise), and planning its lookups as
    /// index probes whatever the tables' statistics say ([`WRITER_SESSION`]).
    async fn writer_connection(&self) -> Result<PgConnection, StoreError> {
        let mut connection = self.pool.acquire().await.map_err(store_error)?.detach();
        for setting in WRITER_SESSION {
            sqlx::query(setting).execute(&mut connection).await.map_err(store_error)?;
        }
        Ok(connection)
    }

    fn count(&self, update: impl FnOnce(&mut AppendPathCounts)) {
        update(&mut self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    }
}

#[async_trait]
impl BatchAppender for PostgresBatchAppender {
    #[instrument(
        level = "debug",
        skip_all,
        fields(n_requests = batch.len(), n_events = tracing::field::Empty, path = tracing::field::Empty)
    )]
    async fn append_batch(
        &self,
        batch: Vec<PreparedRequest>,
    ) -> Result<Vec<Result<AppendOutcome, AppendError>>, StoreError> {
        let mut writer = self.writer.lock().await;
        let WriterState { connection: held, memory } = &mut *writer;
        if let Some((connection, last_used)) = held.as_mut() {
            if last_used.elapsed() > PING_AFTER_IDLE && connection.ping().await.is_err() {
                *held = None;
            }
        }
        let (connection, last_used) = match held.as_mut() {
            Some(held) => held,
            None => held.insert((self.writer_connection().await?, Instant::now())),
        };
        let result = self.append_on(connection, memory, batch).await;
        *last_used = Instant::now();
        if result.is_err() {
            memory.forget_head();
            if let Some((connection, _)) = held.take() {
                let _ = connection.close().await;
            }
        }
        result
    }
}

impl PostgresBatchAppender {
    /// Tries the one-round-trip path when the memory allows it, and takes the exact path otherwise or after a
    /// refusal.
    async fn append_on(
        &self,
        connection: &mut PgConnection,
        memory: &mut WriterMemory,
        batch: Vec<PreparedRequest>,
    ) -> Result<Vec<Result<AppendOutcome, AppendError>>, StoreError> {
        let lookups = BatchLookups::of(&batch);
        if let Some(AssumedState { state, stream_versions, remembered }) = memory.assume(&batch, &lookups) {
            let expected_head = state.head.clone();
            let plan = plan_batch(&batch, state)?;
            // A plan that writes nothing answers only refusals, which the exact path decides on the stored state.
            if plan.writes_anything() {
                let looked_up = StreamsToLookUp::of(&lookups, &stream_versions, &remembered, &plan);
                match append_if_unchanged(connection, &expected_head, &looked_up, &plan).await? {
                    None => {
                        memory.learn_committed_plan(&plan);
                        memory.note_one_round_trip();
                        self.count(|counts| counts.one_round_trip += 1);
                        let span = tracing::Span::current();
                        span.record("n_events", plan.events.len());
                        span.record("path", "one_round_trip");
                        return Ok(plan.replies);
                    }
                    Some(refusal) => {
                        debug!(
                            ?refusal,
                            n_requests = batch.len(),
                            "one-round-trip append refused, taking the exact path"
                        );
                        memory.note_refusal(refusal);
                        self.count(|counts| count_refusal(counts, refusal));
                    }
                }
            }
        }
        tracing::Span::current().record("path", "exact");
        self.count(|counts| counts.exact += 1);
        append_in_transaction(connection, memory, &lookups, batch).await
    }
}

fn count_refusal(counts: &mut AppendPathCounts, refusal: OneRoundTripRefusal) {
    let counter = match refusal {
        OneRoundTripRefusal::Isolation => &mut counts.refused_isolation,
        OneRoundTripRefusal::HeadMoved => &mut counts.refused_head_moved,
        OneRoundTripRefusal::RecordedAt => &mut counts.refused_recorded_at,
        OneRoundTripRefusal::StreamVersion => &mut counts.refused_stream_version,
        OneRoundTripRefusal::IdempotencyKey => &mut counts.refused_idempotency_key,
        OneRoundTripRefusal::EventId => &mut counts.refused_event_id,
    };
    *counter += 1;
}

/// The streams whose assumed versions the one-round-trip statement looks up: those the memory did not remember,
/// and those the plan writes no event to. The other versions are checked by the unique index on `(stream_id,
/// stream_version)` (see the module comment).
struct StreamsToLookUp<'a> {
    stream_ids: Vec<&'a str>,
    versions: Vec<i64>,
}

impl<'a> StreamsToLookUp<'a> {
    /// `assumed_versions` and `remembered` as [`AssumedState`] has them, in the order of the lookups' streams.
    fn of(lookups: &'a BatchLookups, assumed_versions: &[u64], remembered: &[bool], plan: &BatchPlan) -> Self {
        let written: HashSet<&StreamId> = plan.events.iter().map(|event| &event.stream_id).collect();
        let (stream_ids, versions) = lookups
            .stream_ids
            .iter()
            .zip(assumed_versions)
            .zip(remembered)
            .filter(|((stream_id, _), remembered)| !**remembered || !written.contains(stream_id))
            .map(|((stream_id, version), _)| (stream_id.as_str(), to_i64(*version)))
            .unzip();
        StreamsToLookUp { stream_ids, versions }
    }
}

/// Sends `plan` with its assumptions as [`APPEND_IF_UNCHANGED`]: `None` when it was written, else the assumption
/// that failed (nothing was written).
async fn append_if_unchanged(
    connection: &mut PgConnection,
    expected_head: &LogHead,
    looked_up: &StreamsToLookUp<'_>,
    plan: &BatchPlan,
) -> Result<Option<OneRoundTripRefusal>, StoreError> {
    let rows = PlanRows::of(plan)?;
    let query = sqlx::query(APPEND_IF_UNCHANGED)
        .bind(to_i64(expected_head.position))
        .bind(&expected_head.hash)
        .bind(&looked_up.stream_ids)
        .bind(&looked_up.versions)
        .bind(plan.recorded_at)
        .bind(RECORDED_AT_TOLERANCE)
        .bind(to_i64(plan.head.position))
        .bind(&plan.head.hash);
    let row = match rows.bind_to(query).fetch_one(&mut *connection).await {
        Ok(row) => row,
        Err(error) => return collision_refusal(&error).map(Some).ok_or_else(|| store_error(error)),
    };
    let verdict: String = row.try_get(0).map_err(store_error)?;
    match verdict.as_str() {
        "appended" => Ok(None),
        "isolation" => Ok(Some(OneRoundTripRefusal::Isolation)),
        "head_moved" => Ok(Some(OneRoundTripRefusal::HeadMoved)),
        "recorded_at" => Ok(Some(OneRoundTripRefusal::RecordedAt)),
        "stream_version" => Ok(Some(OneRoundTripRefusal::StreamVersion)),
        other => Err(StoreError::Backend(format!("the one-round-trip append answered {other:?}"))),
    }
}

/// The assumption that a unique violation of the one-round-trip statement proves false, by the constraint violated;
/// `None` for any other error. The statement failed as a whole, so nothing was written.
fn collision_refusal(error: &sqlx::Error) -> Option<OneRoundTripRefusal> {
    let sqlx::Error::Database(database_error) = error else { return None };
    if database_error.code().as_deref() != Some(UNIQUE_VIOLATION) {
        return None;
    }
    match database_error.constraint()? {
        "events_stream_id_stream_version_key" => Some(OneRoundTripRefusal::StreamVersion),
        "idempotency_keys_pkey" => Some(OneRoundTripRefusal::IdempotencyKey),
        "events_event_id_key" => Some(OneRoundTripRefusal::EventId),
        // A position already taken: another writer appended, which the head lock makes impossible, but the
        // exact path decides either way.
        "events_pkey" => Some(OneRoundTripRefusal::HeadMoved),
        _ => None,
    }
}

/// SQLSTATE `unique_violation`.
const UNIQUE_VIOLATION: &str = "23505";

/// The exact path: the whole transaction under the head lock, planned on what it reads. Teaches `memory` what it
/// read and wrote.
async fn append_in_transaction(
    connection: &mut PgConnection,
    memory: &mut WriterMemory,
    lookups: &BatchLookups,
    batch: Vec<PreparedRequest>,
) -> Result<Vec<Result<AppendOutcome, AppendError>>, StoreError> {
    let mut transaction = connection.begin_with(BEGIN_AND_LOCK_HEAD).await.map_err(store_error)?;
    let sent_at = OffsetDateTime::now_utc();
    let state = read_stored_state(&mut transaction, lookups).await?;
    let received_at = OffsetDateTime::now_utc();
    memory.learn_stored_state(lookups, &state, sent_at + (received_at - sent_at) / 2);
    let plan = plan_batch(&batch, state)?;
    tracing::Span::current().record("n_events", plan.events.len());
    if plan.writes_anything() {
        write_plan(&mut transaction, &plan).await?;
    }
    transaction.commit().await.map_err(store_error)?;
    memory.learn_committed_plan(&plan);
    Ok(plan.replies)
}

/// Reads, under the head lock, the head, the clock and what the batch touches.
async fn read_stored_state(connection: &mut PgConnection, lookups: &BatchLookups) -> Result<StoredState, StoreError> {
    let stream_ids: Vec<&str> = lookups.stream_ids.iter().map(StreamId::as_str).collect();
    let rows = sqlx::query(LOOKUP)
        .bind(&stream_ids)
        .bind(&lookups.idempotency_keys)
        .bind(&lookups.event_ids)
        .fetch_all(&mut *connection)
        .await
        .map_err(store_error)?;

    let mut head_and_clock = None;
    let mut stream_versions = HashMap::with_capacity(lookups.stream_ids.len());
    let mut idempotency_records: HashMap<Uuid, IdempotencyRecord> = HashMap::new();
    let mut existing_event_ids = HashSet::new();
    for row in rows {
        let kind: i32 = row.try_get("kind").map_err(store_error)?;
        match kind {
            0 => {
                let head = LogHead {
                    position: position_from_i64(row.try_get("number").map_err(store_error)?)?,
                    hash: row.try_get("text").map_err(store_error)?,
                };
                let head_recorded_at: Option<OffsetDateTime> = row.try_get("recorded_at").map_err(store_error)?;
                let now: OffsetDateTime = row.try_get("now").map_err(store_error)?;
                head_and_clock = Some((head, head_recorded_at, now));
            }
            1 => {
                let version = position_from_i64(row.try_get("number").map_err(store_error)?)?;
                stream_versions.insert(StreamId(row.try_get("stream_id").map_err(store_error)?), version);
            }
            2 => {
                let key: Uuid = row.try_get("id").map_err(store_error)?;
                let fingerprint: String = row.try_get("text").map_err(store_error)?;
                let outcome: String = row.try_get("outcome").map_err(store_error)?;
                idempotency_records.insert(key, idempotency_record_from_parts(key, fingerprint, &outcome)?);
            }
            _ => {
                existing_event_ids.insert(row.try_get::<Uuid, _>("id").map_err(store_error)?);
            }
        }
    }
    let (head, head_recorded_at, now) =
        head_and_clock.ok_or_else(|| StoreError::Backend("the log_head row is missing".to_owned()))?;
    Ok(StoredState { head, head_recorded_at, now, stream_versions, idempotency_records, existing_event_ids })
}

async fn write_plan(connection: &mut PgConnection, plan: &BatchPlan) -> Result<(), StoreError> {
    PlanRows::of(plan)?
        .bind_to(sqlx::query(WRITE))
        .bind(to_i64(plan.head.position))
        .bind(&plan.head.hash)
        .bind(plan.recorded_at)
        .execute(&mut *connection)
        .await
        .map_err(store_error)?;
    Ok(())
}

/// The events and idempotency records of a plan as two arrays of records (`event_row[]` and `idempotency_row[]`,
/// see the migration `0004_append_row_types.sql`), each read by one `UNNEST`, in the order of the parameters of
/// `WRITE` and of [`APPEND_IF_UNCHANGED`].
pub(crate) struct PlanRows<'a> {
    pub(crate) events: Vec<EventRow<'a>>,
    pub(crate) idempotency_records: Vec<IdempotencyRow<'a>>,
}

/// One event as an `event_row`: the columns of `events` in their order.
#[derive(sqlx::Encode)]
pub(crate) struct EventRow<'a> {
    global_position: i64,
    event_id: Uuid,
    stream_id: &'a str,
    stream_version: i64,
    event_type: &'a str,
    schema_version: i64,
    effective_date: Option<Date>,
    recorded_at: OffsetDateTime,
    actor_id: &'a str,
    actor_name: &'a str,
    actor_unit: &'a str,
    actor_role: &'a str,
    command_id: Uuid,
    correlation_id: Uuid,
    causation_id: Option<Uuid>,
    payload: &'a str,
    prev_hash: &'a str,
    hash: &'a str,
}

/// One idempotency record as an `idempotency_row`.
#[derive(sqlx::Encode)]
pub(crate) struct IdempotencyRow<'a> {
    key: Uuid,
    fingerprint: &'a str,
    outcome: String,
}

impl sqlx::Type<Postgres> for EventRow<'_> {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_name("event_row")
    }
}

impl PgHasArrayType for EventRow<'_> {
    fn array_type_info() -> PgTypeInfo {
        PgTypeInfo::with_name("_event_row")
    }
}

impl sqlx::Type<Postgres> for IdempotencyRow<'_> {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_name("idempotency_row")
    }
}

impl PgHasArrayType for IdempotencyRow<'_> {
    fn array_type_info() -> PgTypeInfo {
        PgTypeInfo::with_name("_idempotency_row")
    }
}

impl<'a> EventRow<'a> {
    pub(crate) fn of(event: &'a RecordedEvent<()>, canonical_payload: &'a str) -> Self {
        EventRow {
            global_position: to_i64(event.global_position),
            event_id: event.event_id,
            stream_id: event.stream_id.as_str(),
            stream_version: to_i64(event.stream_version),
            event_type: &event.event_type,
            schema_version: i64::from(event.schema_version),
            effective_date: event.effective_date,
            recorded_at: event.recorded_at,
            actor_id: &event.actor.id,
            actor_name: &event.actor.name,
            actor_unit: &event.actor.unit,
            actor_role: &event.actor.role,
            command_id: event.command_id,
            correlation_id: event.correlation_id,
            causation_id: event.causation_id,
            payload: canonical_payload,
            prev_hash: &event.prev_hash,
            hash: &event.hash,
        }
    }
}

impl<'a> PlanRows<'a> {
    fn of(plan: &'a BatchPlan) -> Result<Self, StoreError> {
        let events = plan
            .events
            .iter()
            .zip(&plan.canonical_payloads)
            .map(|(event, canonical_payload)| EventRow::of(event, canonical_payload))
            .collect();
        let idempotency_records = plan
            .idempotency_records
            .iter()
            .map(|new_record| {
                let outcome = new_record.record.outcome_json()?;
                Ok(IdempotencyRow { key: new_record.key, fingerprint: &new_record.record.fingerprint, outcome })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(PlanRows { events, idempotency_records })
    }

    /// Binds the two arrays, in order, as the next parameters of `query`.
    pub(crate) fn bind_to(self, query: Query<'a, Postgres, PgArguments>) -> Query<'a, Postgres, PgArguments> {
        query.bind(self.events).bind(self.idempotency_records)
    }
}
