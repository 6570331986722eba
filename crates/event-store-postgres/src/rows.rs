//! Rows of the `events` and `idempotency_keys` tables to the contract's types, and sqlx errors to
//! [`StoreError`]. A stored value that does not decode is corruption, reported with its position.

use event_store::batch::IdempotencyRecord;
use event_store::{Actor, AppendOutcome, RecordedEvent, StoreError, StoredText, StreamId};
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgRow, PgTypeInfo, PgValueRef};
use sqlx::{Decode, Postgres, Row, Type};
use time::{Date, OffsetDateTime};
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

pub(crate) fn event_from_row(row: &PgRow) -> Result<RecordedEvent, StoreError> {
    event_from_row_with(row, |payload| {
        serde_json::from_str(&payload).map_err(|error| format!("payload is not JSON: {error}"))
    })
}

/// An event with its payload as the stored text, undecoded (see `EventStore::read_all_stored`).
pub(crate) fn stored_text_from_row(row: &PgRow) -> Result<StoredText, StoreError> {
    event_from_row_with(row, Ok)
}

/// A row of `select_events!`, with the payload's stored text turned into `P` by `payload_from_text`.
fn event_from_row_with<P>(
    row: &PgRow,
    payload_from_text: impl FnOnce(String) -> Result<P, String>,
) -> Result<RecordedEvent<P>, StoreError> {
    let position = position_from_i64(row.try_get(0).map_err(store_error)?)?;
    let corrupt = |reason: String| StoreError::Corrupt { position, reason };
    let column = |name: &str, error: sqlx::Error| corrupt(format!("column {name}: {error}"));
    // By index, in `select_events!` order: a lookup by name searches the columns for every value of every row.
    macro_rules! get {
        ($index:literal, $name:literal) => {
            row.try_get($index).map_err(|error| column($name, error))?
        };
    }

    // Text columns are read as `Utf8Text`; they are the bulk of a row's bytes.
    macro_rules! text {
        ($index:literal, $name:literal) => {{
            let text: Utf8Text = get!($index, $name);
            text.0
        }};
    }

    let stream_version: i64 = get!(3, "stream_version");
    let schema_version: i64 = get!(5, "schema_version");
    let payload = text!(15, "payload");
    let effective_date: Option<Date> = get!(6, "effective_date");
    let recorded_at: OffsetDateTime = get!(7, "recorded_at");
    Ok(RecordedEvent {
        global_position: position,
        event_id: get!(1, "event_id"),
        stream_id: StreamId(text!(2, "stream_id")),
        stream_version: u64::try_from(stream_version)
            .map_err(|_| corrupt(format!("stream_version {stream_version}")))?,
        event_type: text!(4, "event_type"),
        schema_version: u32::try_from(schema_version)
            .map_err(|_| corrupt(format!("schema_version {schema_version}")))?,
        effective_date,
        recorded_at,
        actor: Actor {
            id: text!(8, "actor_id"),
            name: text!(9, "actor_name"),
            unit: text!(10, "actor_unit"),
            role: text!(11, "actor_role"),
        },
        command_id: get!(12, "command_id"),
        correlation_id: get!(13, "correlation_id"),
        causation_id: get!(14, "causation_id"),
        payload: payload_from_text(payload).map_err(corrupt)?,
        prev_hash: text!(16, "prev_hash"),
        hash: text!(17, "hash"),
    })
}

/// A text column as `String` decodes it, but with the UTF-8 check of `simdutf8`, several times faster than the
/// standard library's on text that is mostly not ASCII (Vietnamese payloads): that check was a tenth of the time
/// `taskledger verify` spent reading and hashing the log.
struct Utf8Text(String);

impl Type<Postgres> for Utf8Text {
    fn type_info() -> PgTypeInfo {
        <String as Type<Postgres>>::type_info()
    }

    fn compatible(type_info: &PgTypeInfo) -> bool {
        <String as Type<Postgres>>::compatible(type_info)
    }
}

impl Decode<'_, Postgres> for Utf8Text {
    fn decode(value: PgValueRef<'_>) -> Result<Self, BoxDynError> {
        Ok(Utf8Text(simdutf8::basic::from_utf8(value.as_bytes()?)?.to_owned()))
    }
}

/// A row of `idempotency_keys` (`key`, `fingerprint`, `outcome`).
pub(crate) fn idempotency_record_from_row(row: &PgRow) -> Result<(Uuid, IdempotencyRecord), StoreError> {
    let key: Uuid = row.try_get("key").map_err(store_error)?;
    let fingerprint: String = row.try_get("fingerprint").map_err(store_error)?;
    let outcome: String = row.try_get("outcome").map_err(store_error)?;
    Ok((key, idempotency_record_from_parts(key, fingerprint, &outcome)?))
}

/// An idempotency record from its stored fingerprint and outcome JSON.
pub(crate) fn idempotency_record_from_parts(
    key: Uuid,
    fingerprint: String,
    outcome: &str,
) -> Result<IdempotencyRecord, StoreError> {
    let outcome: AppendOutcome = serde_json::from_str(outcome).map_err(|error| {
        StoreError::Backend(format!("the outcome kept for idempotency key {key} cannot be read: {error}"))
    })?;
    Ok(IdempotencyRecord { fingerprint, outcome })
}

pub(crate) fn position_from_i64(position: i64) -> Result<u64, StoreError> {
    u64::try_from(position).map_err(|_| StoreError::Backend(format!("negative position {position} in the database")))
}

/// Positions, versions and limits as SQL `BIGINT`; values beyond it (only ever "everything") saturate.
pub(crate) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Connection trouble is `Unavailable` (worth a retry later); everything else is a `Backend` error.
pub(crate) fn store_error(error: sqlx::Error) -> StoreError {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(error.to_string()),
        other => StoreError::Backend(other.to_string()),
    }
}
