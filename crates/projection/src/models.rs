//! The read models and what they share: a name, their tables in a generation, and how a batch of events is
//! applied inside the runtime's transaction.

pub mod plans;
pub mod tasks;

use async_trait::async_trait;
use event_store::{RecordedEvent, StoredText};
use serde::de::{DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use sqlx::{Any, Transaction};

use crate::bulk::BulkWriter;
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

    /// A session that applies batches of events, in position order, to one generation (see [`Session`]).
    fn session(&self, generation: i64) -> Box<dyn Session>;

    /// A session of a rebuild, which may write the rows new to `generation` through `bulk` (`COPY`, committed
    /// apart from the caller's transactions: only a generation nothing reads yet may be written so). By default
    /// the model's ordinary session, which writes everything in the caller's transactions.
    fn rebuild_session(&self, generation: i64, bulk: BulkWriter) -> Box<dyn Session> {
        drop(bulk);
        self.session(generation)
    }

    /// Applies events, in position order, inside the caller's transaction, and writes every row they change
    /// before returning: a session of one batch. Events the model does not use are skipped. A `Poison` error
    /// names the event that cannot be applied.
    async fn apply(
        &self,
        transaction: &mut Transaction<'static, Any>,
        generation: i64,
        events: &[RecordedEvent],
    ) -> Result<(), ApplyError> {
        let mut session = self.session(generation);
        session.apply(transaction, events).await?;
        session.flush(transaction).await
    }
}

/// Batches applied one after the other to one generation, each inside a transaction of the caller's. A session
/// may hold rows in memory between batches and write them later — at the latest when [`Session::flush`] is called
/// — so that a rebuild, which applies the whole store to a generation nothing reads yet, loads and writes each
/// row once instead of once per batch. The live projector flushes after every batch ([`ReadModel::apply`]), so
/// both go through the same code.
///
/// After `apply` fails, the session is as it was before the call (the caller rolls the transaction back, or to
/// a savepoint, and may apply fewer events).
#[async_trait]
pub trait Session: Send {
    async fn apply(
        &mut self,
        transaction: &mut Transaction<'static, Any>,
        events: &[RecordedEvent],
    ) -> Result<(), ApplyError>;

    /// [`Session::apply`] for events read with their payloads as the stored text (a rebuild reads the store so,
    /// and a model decodes only the events it uses, straight from the text). By default each payload is parsed
    /// into JSON and the events are applied as decoded ones.
    async fn apply_stored(
        &mut self,
        transaction: &mut Transaction<'static, Any>,
        events: &[StoredText],
    ) -> Result<(), ApplyError> {
        let decoded: Vec<RecordedEvent> = events
            .iter()
            .map(|event| {
                let payload: serde_json::Value = event.payload.deserialize_payload().map_err(|error| {
                    ApplyError::Poison { position: event.global_position, reason: error.to_string() }
                })?;
                Ok(event.clone().map_payload(|_| payload))
            })
            .collect::<Result<_, ApplyError>>()?;
        self.apply(transaction, &decoded).await
    }

    /// Writes every row held in memory.
    async fn flush(&mut self, transaction: &mut Transaction<'static, Any>) -> Result<(), ApplyError>;
}

/// A stored event's payload as a model receives it: decoded JSON (from the bus) or the stored text (in a
/// rebuild). Models decode what they use from either, with the same serde types.
pub trait StoredPayload: Clone + Send + Sync + 'static {
    /// The payload alone, as `T`.
    fn deserialize_payload<'de, T: Deserialize<'de>>(&'de self) -> Result<T, serde_json::Error>;

    /// The payload under its event type, as an adjacently tagged event enum (see [`decode`]).
    fn deserialize_tagged<'de, T: Deserialize<'de>>(&'de self, event_type: &'de str) -> Result<T, serde_json::Error>;
}

impl StoredPayload for serde_json::Value {
    fn deserialize_payload<'de, T: Deserialize<'de>>(&'de self) -> Result<T, serde_json::Error> {
        T::deserialize(self)
    }

    fn deserialize_tagged<'de, T: Deserialize<'de>>(&'de self, event_type: &'de str) -> Result<T, serde_json::Error> {
        T::deserialize(Tagged { event_type, payload: PayloadRef::Value(self) })
    }
}

impl StoredPayload for String {
    fn deserialize_payload<'de, T: Deserialize<'de>>(&'de self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self)
    }

    fn deserialize_tagged<'de, T: Deserialize<'de>>(&'de self, event_type: &'de str) -> Result<T, serde_json::Error> {
        T::deserialize(Tagged { event_type, payload: PayloadRef::Text(self) })
    }
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

/// Decodes a stored event into a domain event enum (`PlanEvent`, `TaskEvent`), reading the payload where it lies:
/// the enums are adjacently tagged, and [`Tagged`] shows them the stored event as `{"event_type", "payload"}`
/// without building that object (which would copy every payload once more).
pub fn decode<E: DeserializeOwned, P: StoredPayload>(event: &RecordedEvent<P>) -> Result<E, ApplyError> {
    event
        .payload
        .deserialize_tagged(&event.event_type)
        .map_err(|error| ApplyError::Poison { position: event.global_position, reason: error.to_string() })
}

/// The aggregate of a stream id: `plan`, `task`, or something else.
pub fn aggregate_of<P>(event: &RecordedEvent<P>) -> &str {
    event.stream_id.0.split_once('-').map_or("", |(aggregate, _)| aggregate)
}

/// JSON text of a value, for a TEXT column.
pub fn json_text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// A stored event as the map `{"event_type": …, "payload": …}`, deserialised in place.
struct Tagged<'de> {
    event_type: &'de str,
    payload: PayloadRef<'de>,
}

/// Where a [`Tagged`] payload is read from.
enum PayloadRef<'de> {
    Value(&'de serde_json::Value),
    /// JSON text, parsed as it is read (and refused if anything follows the value).
    Text(&'de str),
}

/// The two entries of [`Tagged`], in order: the tag first, so that serde reads the payload straight into the
/// variant's type.
struct TaggedEntries<'de> {
    tagged: Tagged<'de>,
    n_read: u8,
}

impl<'de> Deserializer<'de> for Tagged<'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_map(TaggedEntries { tagged: self, n_read: 0 })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

impl<'de> MapAccess<'de> for TaggedEntries<'de> {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Self::Error> {
        let key = match self.n_read {
            0 => "event_type",
            1 => "payload",
            _ => return Ok(None),
        };
        seed.deserialize(IntoDeserializer::<serde_json::Error>::into_deserializer(key)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Self::Error> {
        self.n_read += 1;
        if self.n_read == 1 {
            seed.deserialize(IntoDeserializer::<serde_json::Error>::into_deserializer(self.tagged.event_type))
        } else {
            match self.tagged.payload {
                PayloadRef::Value(value) => seed.deserialize(value),
                PayloadRef::Text(text) => {
                    let mut deserializer = serde_json::Deserializer::from_str(text);
                    let value = seed.deserialize(&mut deserializer)?;
                    deserializer.end()?;
                    Ok(value)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use domain::plan::{PlanEvent, TaskRegistered};
    use event_store::{Actor, StreamId};
    use serde_json::json;
    use uuid::Uuid;

    use super::*;

    fn stored(event_type: &str, payload: serde_json::Value) -> RecordedEvent {
        RecordedEvent {
            global_position: 7,
            event_id: Uuid::now_v7(),
            stream_id: StreamId(format!("plan-{}", Uuid::now_v7())),
            stream_version: 2,
            event_type: event_type.to_owned(),
            schema_version: 1,
            effective_date: None,
            recorded_at: time::OffsetDateTime::UNIX_EPOCH,
            actor: Actor {
                id: "a".to_owned(),
                name: "A".to_owned(),
                unit: "VP-UBND".to_owned(),
                role: "planner".to_owned(),
            },
            command_id: Uuid::now_v7(),
            correlation_id: Uuid::now_v7(),
            causation_id: None,
            payload,
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    #[test]
    fn decodes_what_the_domain_serialised() {
        let event = PlanEvent::TaskRegistered(TaskRegistered {
            task_id: domain::ids::TaskId(Uuid::now_v7()),
            section: domain::numbering::SectionCode::parse("I").unwrap(),
            number: domain::numbering::TaskNumber::parse("2.1").unwrap(),
            parent_id: Some(domain::ids::TaskId(Uuid::now_v7())),
        });
        let mut tagged = serde_json::to_value(&event).unwrap();
        let stored = stored("TaskRegistered", tagged["payload"].take());
        assert_eq!(decode::<PlanEvent, _>(&stored).unwrap(), event);
    }

    #[test]
    fn decodes_the_stored_text_as_it_decodes_json() {
        let event = PlanEvent::TaskRegistered(TaskRegistered {
            task_id: domain::ids::TaskId(Uuid::now_v7()),
            section: domain::numbering::SectionCode::parse("II").unwrap(),
            number: domain::numbering::TaskNumber::parse("3").unwrap(),
            parent_id: None,
        });
        let mut tagged = serde_json::to_value(&event).unwrap();
        let as_json = stored("TaskRegistered", tagged["payload"].take());
        let as_text = as_json.clone().map_payload(|payload| payload.to_string());
        assert_eq!(decode::<PlanEvent, _>(&as_text).unwrap(), event);

        let trailing = as_json.clone().map_payload(|payload| format!("{payload} {{}}"));
        assert!(matches!(decode::<PlanEvent, _>(&trailing), Err(ApplyError::Poison { position: 7, .. })));
        let truncated = as_json.map_payload(|payload| payload.to_string()[..10].to_owned());
        assert!(matches!(decode::<PlanEvent, _>(&truncated), Err(ApplyError::Poison { position: 7, .. })));
    }

    #[test]
    fn an_unknown_type_or_a_wrong_payload_is_poison_at_its_position() {
        let unknown = stored("PlanRenamed", json!({}));
        assert!(matches!(decode::<PlanEvent, _>(&unknown), Err(ApplyError::Poison { position: 7, .. })));
        let wrong = stored("TaskRegistered", json!({"nonsense": 1}));
        let Err(ApplyError::Poison { reason, .. }) = decode::<PlanEvent, _>(&wrong) else { panic!("not poison") };
        assert!(reason.contains("missing field"), "{reason}");
    }
}
