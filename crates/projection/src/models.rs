//! The read models and what they share: a name, their tables in a generation, and how a batch of events is
//! applied inside the runtime's transaction.

pub mod plans;
pub mod tasks;

use async_trait::async_trait;
use event_store::RecordedEvent;
use serde::de::DeserializeOwned;
use sqlx::{Any, Transaction};

use crate::db::DbError;

/// A read model: tables built from events, in generations.
#[async_trait]
pub trait ReadModel: Send + Sync + 'static {
    /// The model's name, its key in `rm_projections` and in metrics.
    fn name(&self) -> &'static str;

    /// `CREATE TABLE IF NOT EXISTS …` and index statements for a generation.
    fn create_tables(&self, generation: i64) -> Vec<String>;

    /// The tables of a generation, for dropping and comparing.
    fn tables(&self, generation: i64) -> Vec<String>;

    /// Applies events, in position order, inside the caller's transaction. Events the model does not use are
    /// skipped. A `Poison` error names the event that cannot be applied.
    async fn apply(
        &self,
        transaction: &mut Transaction<'static, Any>,
        generation: i64,
        events: &[RecordedEvent],
    ) -> Result<(), ApplyError>;
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// This event cannot be applied, now or later: it is parked and the model moves on.
    #[error("event at position {position} cannot be applied: {reason}")]
    Poison { position: u64, reason: String },
    /// The database failed: the batch is retried.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for ApplyError {
    fn from(error: sqlx::Error) -> Self {
        ApplyError::Db(DbError::Sql(error))
    }
}

/// Decodes a stored event into a domain event enum (`PlanEvent`, `TaskEvent`).
pub fn decode<E: DeserializeOwned>(event: &RecordedEvent) -> Result<E, ApplyError> {
    let tagged = serde_json::json!({ "event_type": event.event_type, "payload": event.payload });
    serde_json::from_value(tagged)
        .map_err(|error| ApplyError::Poison { position: event.global_position, reason: error.to_string() })
}

/// The aggregate of a stream id: `plan`, `task`, or something else.
pub fn aggregate_of(event: &RecordedEvent) -> &str {
    event.stream_id.0.split_once('-').map_or("", |(aggregate, _)| aggregate)
}

/// JSON text of a value, for a TEXT column.
pub fn json_text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}
