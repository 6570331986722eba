//! Rows of the `events` and `idempotency_keys` tables to the contract's types, and sqlx errors to
//! [`StoreError`]. SQLite keeps ids, dates and times as text in the chain's canonical formats; a stored value that
//! does not parse is corruption, reported with its position.

use event_store::batch::IdempotencyRecord;
use event_store::canonical::{parse_effective_date, parse_recorded_at};
use event_store::{Actor, AppendOutcome, RecordedEvent, StoreError, StoredText, StreamId};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use uuid::Uuid;

/// `SELECT <every column of events, in RecordedEvent order> FROM events <rest>`, as one static string.
macro_rules! select_events {
    ($rest:literal) => {
        concat!(
            "SELECT global_position, event_id, stream_id, stream_version, event_type, schema_version, ",
            "effective_date, recorded_at, actor_id, actor_name, actor_unit, actor_role, ",
            "command_id, correlation_id, causation_id, payload, prev_hash, hash FROM events ",
            $rest
        )
    };
}

pub(crate) fn event_from_row(row: &SqliteRow) -> Result<RecordedEvent, StoreError> {
    event_from_row_with(row, |payload| {
        serde_json::from_str(&payload).map_err(|error| format!("payload is not JSON: {error}"))
    })
}

/// An event with its payload as the stored text, undecoded (see `EventStore::read_all_stored`).
pub(crate) fn stored_text_from_row(row: &SqliteRow) -> Result<StoredText, StoreError> {
    event_from_row_with(row, Ok)
}

/// A row of `select_events!`, with the payload's stored text turned into `P` by `payload_from_text`.
fn event_from_row_with<P>(
    row: &SqliteRow,
    payload_from_text: impl FnOnce(String) -> Result<P, String>,
) -> Result<RecordedEvent<P>, StoreError> {
    let position = position_from_i64(row.try_get("global_position").map_err(store_error)?)?;
    let corrupt = |reason: String| StoreError::Corrupt { position, reason };
    let column = |name: &str, error: sqlx::Error| corrupt(format!("column {name}: {error}"));
    let uuid =
        |name: &str, text: &str| Uuid::parse_str(text).map_err(|error| corrupt(format!("column {name}: {error}")));
    macro_rules! get {
        ($name:literal) => {
            row.try_get($name).map_err(|error| column($name, error))?
        };
    }

    let stream_version: i64 = get!("stream_version");
    let schema_version: i64 = get!("schema_version");
    let effective_date: Option<String> = get!("effective_date");
    let recorded_at: String = get!("recorded_at");
    let causation_id: Option<String> = get!("causation_id");
    let payload: String = get!("payload");
    Ok(RecordedEvent {
        global_position: position,
        event_id: uuid("event_id", get!("event_id"))?,
        stream_id: StreamId(get!("stream_id")),
        stream_version: u64::try_from(stream_version)
            .map_err(|_| corrupt(format!("stream_version {stream_version}")))?,
        event_type: get!("event_type"),
        schema_version: u32::try_from(schema_version)
            .map_err(|_| corrupt(format!("schema_version {schema_version}")))?,
        effective_date: effective_date
            .map(|text| {
                parse_effective_date(&text).map_err(|error| corrupt(format!("effective_date {text:?}: {error}")))
            })
            .transpose()?,
        recorded_at: parse_recorded_at(&recorded_at)
            .map_err(|error| corrupt(format!("recorded_at {recorded_at:?}: {error}")))?,
        actor: Actor {
            id: get!("actor_id"),
            name: get!("actor_name"),
            unit: get!("actor_unit"),
            role: get!("actor_role"),
        },
        command_id: uuid("command_id", get!("command_id"))?,
        correlation_id: uuid("correlation_id", get!("correlation_id"))?,
        causation_id: causation_id.map(|text| uuid("causation_id", &text)).transpose()?,
        payload: payload_from_text(payload).map_err(corrupt)?,
        prev_hash: get!("prev_hash"),
        hash: get!("hash"),
    })
}

/// A row of `idempotency_keys` (`key`, `fingerprint`, `outcome`).
pub(crate) fn idempotency_record_from_row(row: &SqliteRow) -> Result<(Uuid, IdempotencyRecord), StoreError> {
    let key: String = row.try_get("key").map_err(store_error)?;
    let fingerprint: String = row.try_get("fingerprint").map_err(store_error)?;
    let outcome: String = row.try_get("outcome").map_err(store_error)?;
    idempotency_record_from_parts(&key, fingerprint, &outcome)
}

/// An idempotency record from its stored key text, fingerprint and outcome JSON.
pub(crate) fn idempotency_record_from_parts(
    key: &str,
    fingerprint: String,
    outcome: &str,
) -> Result<(Uuid, IdempotencyRecord), StoreError> {
    let key = Uuid::parse_str(key).map_err(|error| StoreError::Backend(format!("idempotency key {key:?}: {error}")))?;
    let outcome: AppendOutcome = serde_json::from_str(outcome).map_err(|error| {
        StoreError::Backend(format!("the outcome kept for idempotency key {key} cannot be read: {error}"))
    })?;
    Ok((key, IdempotencyRecord { fingerprint, outcome }))
}

pub(crate) fn position_from_i64(position: i64) -> Result<u64, StoreError> {
    u64::try_from(position).map_err(|_| StoreError::Backend(format!("negative position {position} in the database")))
}

/// Positions, versions and limits as SQLite integers; values beyond them (only ever "everything") saturate.
pub(crate) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Trouble reaching the file or its lock is `Unavailable` (worth a retry later); everything else is `Backend`.
pub(crate) fn store_error(error: sqlx::Error) -> StoreError {
    let busy = matches!(&error, sqlx::Error::Database(database) if database.message().contains("database is locked"));
    match error {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => {
            StoreError::Unavailable(error.to_string())
        }
        error if busy => StoreError::Unavailable(error.to_string()),
        other => StoreError::Backend(other.to_string()),
    }
}
