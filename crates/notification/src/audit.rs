//! Recording what the dispatcher decided and attempted as events: `ReminderSent`, `ReminderFailed` and
//! `ReminderSkipped` (`domain::reminder`) on the reminder stream of each task concerned (`reminders-<task_id>`),
//! with the system actor (`Actor::notification_service`), so that the task's history shows who was reminded, when
//! and how, and why a reminder was not sent.
//!
//! Each event's id is derived from the delivery, the attempt, the outcome and the stream ([`reminder_event_id`]),
//! so the store refuses to record the same outcome of the same attempt twice: a replica that recorded an outcome
//! and died before marking the delivery done leaves an event that the next claimant finds
//! ([`ReminderRecorder::recorded_event_ids`]) and does not repeat. A batch of outcomes is appended in one
//! transaction; if any of it was recorded already, each event is appended alone and the duplicates are dropped.

use std::collections::HashSet;
use std::sync::Arc;

use domain::actor::Actor;
use domain::ids::TaskId;
use domain::reminder::{reminder_stream_id, ReminderEvent};
use event_store::{
    AppendError, AppendRequest, EventStore, ExpectedVersion, NewEvent, StoreError, StreamAppend, StreamId,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// One outcome to record on one task's reminder stream.
#[derive(Debug, Clone, PartialEq)]
pub struct OutcomeRecord {
    pub task_id: Uuid,
    pub delivery_id: String,
    /// The attempt the outcome is about (1 for the first).
    pub attempt: u32,
    pub event: ReminderEvent,
}

/// Appends reminder events to the event store.
#[derive(Clone)]
pub struct ReminderRecorder {
    store: Arc<dyn EventStore>,
}

impl ReminderRecorder {
    pub fn new(store: Arc<dyn EventStore>) -> ReminderRecorder {
        ReminderRecorder { store }
    }

    /// Records every outcome; an outcome recorded before (same delivery, attempt and outcome) is not recorded again.
    pub async fn record(&self, records: &[OutcomeRecord]) -> Result<(), AppendError> {
        if records.is_empty() {
            return Ok(());
        }
        match self.store.append(append_request(records)?).await {
            Ok(_) => Ok(()),
            Err(AppendError::DuplicateEventId { .. }) => {
                for record in records {
                    match self.store.append(append_request(std::slice::from_ref(record))?).await {
                        Ok(_) | Err(AppendError::DuplicateEventId { .. }) => {}
                        Err(error) => return Err(error),
                    }
                }
                Ok(())
            }
            Err(error) => Err(error),
        }
    }

    /// The ids of the events on a task's reminder stream.
    pub async fn recorded_event_ids(&self, task_id: Uuid) -> Result<HashSet<Uuid>, StoreError> {
        let stream = StreamId(reminder_stream_id(TaskId(task_id)));
        Ok(self.store.read_stream(&stream, 0).await?.into_iter().map(|event| event.event_id).collect())
    }
}

/// The id of the event that records `event_type` for a delivery's attempt on a task's reminder stream.
pub fn reminder_event_id(delivery_id: &str, attempt: u32, event_type: &str, task_id: Uuid) -> Uuid {
    let mut hasher = Sha256::new();
    for part in [delivery_id, &attempt.to_string(), event_type, &task_id.to_string()] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

fn append_request(records: &[OutcomeRecord]) -> Result<AppendRequest, AppendError> {
    let actor = Actor::notification_service();
    let mut streams: Vec<StreamAppend> = Vec::new();
    for record in records {
        let stream_id = StreamId(reminder_stream_id(TaskId(record.task_id)));
        let event = new_event(record)?;
        match streams.iter_mut().find(|stream| stream.stream_id == stream_id) {
            Some(stream) => stream.events.push(event),
            None => {
                streams.push(StreamAppend { stream_id, expected_version: ExpectedVersion::Any, events: vec![event] })
            }
        }
    }
    let subject_stream = streams[0].stream_id.clone();
    Ok(AppendRequest {
        command_id: Uuid::now_v7(),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        actor: event_store::Actor {
            id: actor.id,
            name: actor.name,
            unit: actor.unit.to_string(),
            role: actor.role.as_str().to_owned(),
        },
        idempotency: None,
        subject_id: records[0].delivery_id.clone(),
        subject_stream,
        streams,
    })
}

fn new_event(record: &OutcomeRecord) -> Result<NewEvent, AppendError> {
    let mut value = serde_json::to_value(&record.event).map_err(|error| {
        AppendError::Store(StoreError::Backend(format!("a reminder event does not serialise: {error}")))
    })?;
    let event_type = record.event.event_type();
    let payload = value.get_mut("payload").map(serde_json::Value::take).unwrap_or(serde_json::Value::Null);
    Ok(NewEvent {
        event_id: reminder_event_id(&record.delivery_id, record.attempt, event_type, record.task_id),
        event_type: event_type.to_owned(),
        schema_version: domain::task::SCHEMA_VERSION,
        effective_date: None,
        payload,
    })
}
