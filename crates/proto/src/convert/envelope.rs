//! Stored events (`event_store::RecordedEvent`) to `EventEnvelope` and back.
//!
//! The envelope carries the payload twice: `payload_json`, the exact stored text that the hash chain covers
//! (authoritative), and the typed payload case, decoded from that JSON into the domain event and converted by
//! `plan.rs` or `task.rs`. Decoding an envelope checks that the two agree, so that a consumer that reads only the
//! typed payload reads what was hashed.

use domain::access::AccessEvent;
use domain::plan::PlanEvent;
use domain::reminder::ReminderEvent;
use domain::task::TaskEvent;
use event_store::canonical::canonical_json;
use event_store::{Actor, RecordedEvent, StreamId};
use prost_types::Timestamp;
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::values::{
    date_to_proto, optional_date_from_proto, optional_uuid_from_proto, required, required_message, uuid_from_proto,
    uuid_to_proto,
};
use super::{domain_event_from_proto, domain_event_to_proto, ConvertError, DomainEvent};
use crate::pb;
use crate::subject::Aggregate;

/// The envelope of a stored event. The payload is decoded into its domain event (the stream id says of which
/// aggregate), which fails for a stream that is not `plan-`, `task-`, `access-` or `reminders-<uuid>` and for a
/// payload that the domain does not read; `payload_json` is the payload's canonical (RFC 8785) text, which is how
/// the store keeps it.
pub fn envelope_from_recorded(event: &RecordedEvent) -> Result<pb::EventEnvelope, ConvertError> {
    let aggregate = aggregate_of_stream(&event.stream_id)?;
    let domain_event = domain_event_from_json(aggregate, &event.event_type, &event.payload)?;
    Ok(pb::EventEnvelope {
        global_position: event.global_position,
        event_id: uuid_to_proto(event.event_id),
        stream_id: event.stream_id.as_str().to_owned(),
        stream_version: event.stream_version,
        event_type: event.event_type.clone(),
        schema_version: event.schema_version,
        effective_date: event.effective_date.map(date_to_proto),
        recorded_at: Some(timestamp_to_proto(event.recorded_at)),
        actor: Some(pb::Actor {
            id: event.actor.id.clone(),
            name: event.actor.name.clone(),
            unit: event.actor.unit.clone(),
            role: event.actor.role.clone(),
        }),
        command_id: uuid_to_proto(event.command_id),
        correlation_id: uuid_to_proto(event.correlation_id),
        causation_id: event.causation_id.map(uuid_to_proto),
        payload_json: canonical_json(&event.payload),
        prev_hash: event.prev_hash.clone(),
        hash: event.hash.clone(),
        payload: Some(domain_event_to_proto(&domain_event)),
    })
}

/// The stored event an envelope carries, its payload read from `payload_json`.
///
/// When the typed payload is present, it must convert to the same domain event as `payload_json`, its event type
/// must be `event_type` and its aggregate the stream's. When it is absent, the envelope must be of an event type
/// that this build does not know (a producer with a newer contract, whose case was dropped as unknown): an event
/// type that this build reads must carry its typed payload.
pub fn recorded_from_envelope(envelope: &pb::EventEnvelope) -> Result<RecordedEvent, ConvertError> {
    let stream_id = StreamId(required(&envelope.stream_id, "stream_id")?.to_owned());
    let event_type = required(&envelope.event_type, "event_type")?;
    let payload_json = required(&envelope.payload_json, "payload_json")?;
    let payload: Value = serde_json::from_str(payload_json)
        .map_err(|error| ConvertError::invalid("payload_json", format!("not JSON: {error}")))?;
    check_typed_payload(envelope, &stream_id, event_type, &payload)?;
    let actor = required_message(envelope.actor.as_ref(), "actor")?;
    Ok(RecordedEvent {
        global_position: positive(envelope.global_position, "global_position")?,
        event_id: uuid_from_proto(&envelope.event_id, "event_id")?,
        stream_id,
        stream_version: positive(envelope.stream_version, "stream_version")?,
        event_type: event_type.to_owned(),
        schema_version: envelope.schema_version,
        effective_date: optional_date_from_proto(envelope.effective_date.as_deref(), "effective_date")?,
        recorded_at: timestamp_from_proto(required_message(envelope.recorded_at.as_ref(), "recorded_at")?)?,
        actor: Actor {
            id: actor.id.clone(),
            name: actor.name.clone(),
            unit: actor.unit.clone(),
            role: actor.role.clone(),
        },
        command_id: uuid_from_proto(&envelope.command_id, "command_id")?,
        correlation_id: uuid_from_proto(&envelope.correlation_id, "correlation_id")?,
        causation_id: optional_uuid_from_proto(envelope.causation_id.as_deref(), "causation_id")?,
        payload,
        prev_hash: required(&envelope.prev_hash, "prev_hash")?.to_owned(),
        hash: required(&envelope.hash, "hash")?.to_owned(),
    })
}

fn check_typed_payload(
    envelope: &pb::EventEnvelope,
    stream_id: &StreamId,
    event_type: &str,
    payload: &Value,
) -> Result<(), ConvertError> {
    let Some(typed_payload) = &envelope.payload else {
        let known = Aggregate::of_stream(stream_id)
            .is_some_and(|(aggregate, _)| domain_event_from_json(aggregate, event_type, payload).is_ok());
        return if known { Err(ConvertError::missing("payload")) } else { Ok(()) };
    };
    let typed = domain_event_from_proto(typed_payload)?;
    if typed.event_type() != event_type {
        return Err(ConvertError::invalid(
            "event_type",
            format!("{event_type:?} does not name the payload, which is a {}", typed.event_type()),
        ));
    }
    let aggregate = aggregate_of_stream(stream_id)?;
    if typed.aggregate() != aggregate {
        return Err(ConvertError::invalid(
            "stream_id",
            format!("a {} stream cannot hold a {} event", aggregate.as_str(), typed.event_type()),
        ));
    }
    let stored = domain_event_from_json(aggregate, event_type, payload)?;
    if stored != typed {
        return Err(ConvertError::invalid("payload_json", "does not match the typed payload"));
    }
    Ok(())
}

/// Reads a stored payload as the domain does: `{"event_type": …, "payload": …}` into the aggregate's event enum.
fn domain_event_from_json(
    aggregate: Aggregate,
    event_type: &str,
    payload: &Value,
) -> Result<DomainEvent, ConvertError> {
    let tagged = json!({ "event_type": event_type, "payload": payload });
    let event = match aggregate {
        Aggregate::Plan => serde_json::from_value::<PlanEvent>(tagged).map(DomainEvent::Plan),
        Aggregate::Task => serde_json::from_value::<TaskEvent>(tagged).map(DomainEvent::Task),
        Aggregate::Access => serde_json::from_value::<AccessEvent>(tagged).map(DomainEvent::Access),
        Aggregate::Reminder => serde_json::from_value::<ReminderEvent>(tagged).map(DomainEvent::Reminder),
    };
    event.map_err(|error| ConvertError::invalid("payload_json", format!("not a {event_type} payload: {error}")))
}

fn aggregate_of_stream(stream_id: &StreamId) -> Result<Aggregate, ConvertError> {
    Aggregate::of_stream(stream_id).map(|(aggregate, _)| aggregate).ok_or_else(|| {
        ConvertError::invalid(
            "stream_id",
            format!("{:?} is not plan-, task-, access- or reminders-<uuid>", stream_id.as_str()),
        )
    })
}

fn positive(value: u64, field: &str) -> Result<u64, ConvertError> {
    if value == 0 {
        Err(ConvertError::invalid(field, "must be 1 or more"))
    } else {
        Ok(value)
    }
}

/// Exact to the nanosecond; the offset is dropped (the store records UTC).
fn timestamp_to_proto(instant: OffsetDateTime) -> Timestamp {
    Timestamp { seconds: instant.unix_timestamp(), nanos: instant.nanosecond() as i32 }
}

/// The instant in UTC.
fn timestamp_from_proto(timestamp: &Timestamp) -> Result<OffsetDateTime, ConvertError> {
    let nanos = u32::try_from(timestamp.nanos)
        .ok()
        .filter(|nanos| *nanos < 1_000_000_000)
        .ok_or_else(|| ConvertError::invalid("recorded_at.nanos", "must be 0 to 999999999"))?;
    let seconds = OffsetDateTime::from_unix_timestamp(timestamp.seconds)
        .map_err(|error| ConvertError::invalid("recorded_at.seconds", error))?;
    seconds.replace_nanosecond(nanos).map_err(|error| ConvertError::invalid("recorded_at.nanos", error))
}
