//! Conversions between the domain and the messages of `taskledger.v1`, both ways and losslessly: converting a
//! domain event to its message and back gives an equal event, and so does a stored event through its envelope.
//!
//! Decoding trusts nothing: every value goes through the domain's own parser (`DocumentRef::parse`,
//! `Deadline::parse_code`, `NonEmptyText::parse`, …), exactly as deserialising the stored JSON does, so a message
//! decodes if and only if the same values would deserialise from the store. Errors name the field at fault by its
//! path in the message: `task_assigned.basis[1].text`, `progress_reported.content.measures[0].achieved`.
//!
//! Map of the module:
//! - this file: the public functions and [`ConvertError`];
//! - `values`: ids, dates, texts and the value messages (`DocumentRef`, `Deadline`, `Target`, `Measure`);
//! - `plan`, `task`, `access`, `reminder`: one pair of functions per event message;
//! - `envelope`: `RecordedEvent` ↔ `EventEnvelope`.

mod access;
mod envelope;
mod plan;
mod reminder;
mod task;
mod values;

use domain::access::AccessEvent;
use domain::plan::PlanEvent;
use domain::reminder::ReminderEvent;
use domain::task::TaskEvent;

use crate::pb::event_envelope::Payload;
use crate::subject::Aggregate;

pub use envelope::{envelope_from_recorded, recorded_from_envelope};

/// An event of any aggregate that goes on the bus.
#[derive(Debug, Clone, PartialEq)]
pub enum DomainEvent {
    Plan(PlanEvent),
    Task(TaskEvent),
    Access(AccessEvent),
    Reminder(ReminderEvent),
}

/// Why a message does not convert. Each variant names the field at fault by its path in the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// A required field is absent, or empty where it must not be.
    #[error("{field} is missing")]
    Missing { field: String },
    /// A field holds a value that the domain or the contract refuses.
    #[error("{field} is invalid: {reason}")]
    Invalid { field: String, reason: String },
}

/// The payload case of a plan event.
pub fn plan_event_to_proto(event: &PlanEvent) -> Payload {
    plan::to_proto(event)
}

/// The plan event of a payload case; an error naming `payload` if it is the case of a task event.
pub fn plan_event_from_proto(payload: &Payload) -> Result<PlanEvent, ConvertError> {
    match domain_event_from_proto(payload)? {
        DomainEvent::Plan(event) => Ok(event),
        other => Err(ConvertError::invalid("payload", format!("{} is not a plan event", other.event_type()))),
    }
}

/// The payload case of a task event.
pub fn task_event_to_proto(event: &TaskEvent) -> Payload {
    task::to_proto(event)
}

/// The task event of a payload case; an error naming `payload` if it is the case of a plan event.
pub fn task_event_from_proto(payload: &Payload) -> Result<TaskEvent, ConvertError> {
    match domain_event_from_proto(payload)? {
        DomainEvent::Task(event) => Ok(event),
        other => Err(ConvertError::invalid(
            "payload",
            format!("{} is a {} event, expected a task event", other.event_type(), other.aggregate().as_str()),
        )),
    }
}

/// The payload case of an event of any aggregate.
pub fn domain_event_to_proto(event: &DomainEvent) -> Payload {
    match event {
        DomainEvent::Plan(event) => plan::to_proto(event),
        DomainEvent::Task(event) => task::to_proto(event),
        DomainEvent::Access(event) => access::to_proto(event),
        DomainEvent::Reminder(event) => reminder::to_proto(event),
    }
}

/// The domain event of a payload case, whichever its aggregate.
pub fn domain_event_from_proto(payload: &Payload) -> Result<DomainEvent, ConvertError> {
    if let Some(result) = plan::from_proto(payload) {
        return result.map(DomainEvent::Plan);
    }
    if let Some(result) = access::from_proto(payload) {
        return result.map(DomainEvent::Access);
    }
    if let Some(result) = reminder::from_proto(payload) {
        return result.map(DomainEvent::Reminder);
    }
    task::from_proto(payload).map(DomainEvent::Task)
}

impl DomainEvent {
    /// The stored event type: "PlanCreated", "ProgressReported", …
    pub fn event_type(&self) -> &'static str {
        match self {
            DomainEvent::Plan(event) => event.event_type(),
            DomainEvent::Task(event) => event.event_type(),
            DomainEvent::Access(event) => event.event_type(),
            DomainEvent::Reminder(event) => event.event_type(),
        }
    }

    /// The aggregate whose stream holds the event.
    pub fn aggregate(&self) -> Aggregate {
        match self {
            DomainEvent::Plan(_) => Aggregate::Plan,
            DomainEvent::Task(_) => Aggregate::Task,
            DomainEvent::Access(_) => Aggregate::Access,
            DomainEvent::Reminder(_) => Aggregate::Reminder,
        }
    }
}

impl ConvertError {
    /// The path of the field at fault: `event_id`, `task_assigned.basis[1].text`.
    pub fn field(&self) -> &str {
        match self {
            ConvertError::Missing { field } | ConvertError::Invalid { field, .. } => field,
        }
    }

    pub(crate) fn missing(field: impl Into<String>) -> ConvertError {
        ConvertError::Missing { field: field.into() }
    }

    pub(crate) fn invalid(field: impl Into<String>, reason: impl ToString) -> ConvertError {
        ConvertError::Invalid { field: field.into(), reason: reason.to_string() }
    }
}
