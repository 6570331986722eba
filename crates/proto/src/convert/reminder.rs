//! Reminder events (`domain::reminder::ReminderEvent`) to their payload cases (`reminder.proto`) and back.
//! Instants travel as RFC 3339 text with their offset, as the store keeps them, so that the round trip is exact.

use domain::reminder::{ReminderEvent, ReminderFailed, ReminderSent, ReminderSkipped, SkipReason};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::values::required;
use super::ConvertError;
use crate::pb;
use crate::pb::event_envelope::Payload;

pub(super) fn to_proto(event: &ReminderEvent) -> Payload {
    match event {
        ReminderEvent::ReminderSent(sent) => Payload::ReminderSent(pb::ReminderSent {
            occurrence_key: sent.occurrence_key.clone(),
            rule: sent.rule.clone(),
            kind: sent.kind.clone(),
            channel: sent.channel.clone(),
            recipient: sent.recipient.clone(),
            address: sent.address.clone(),
            attempt: sent.attempt,
            late: sent.late,
            digest: sent.digest,
            due_at: instant_to_proto(sent.due_at),
            detail: sent.detail.clone(),
        }),
        ReminderEvent::ReminderFailed(failed) => Payload::ReminderFailed(pb::ReminderFailed {
            occurrence_key: failed.occurrence_key.clone(),
            rule: failed.rule.clone(),
            kind: failed.kind.clone(),
            channel: failed.channel.clone(),
            recipient: failed.recipient.clone(),
            address: failed.address.clone(),
            attempt: failed.attempt,
            error: failed.error.clone(),
            permanent: failed.permanent,
            retry_at: failed.retry_at.map(instant_to_proto),
            dead_lettered: failed.dead_lettered,
            due_at: instant_to_proto(failed.due_at),
        }),
        ReminderEvent::ReminderSkipped(skipped) => Payload::ReminderSkipped(pb::ReminderSkipped {
            occurrence_key: skipped.occurrence_key.clone(),
            rule: skipped.rule.clone(),
            kind: skipped.kind.clone(),
            recipient: skipped.recipient.clone(),
            reason: skip_reason_to_proto(skipped.reason) as i32,
            detail: skipped.detail.clone(),
            due_at: instant_to_proto(skipped.due_at),
        }),
    }
}

/// `None` when the payload is not the case of a reminder event.
pub(super) fn from_proto(payload: &Payload) -> Option<Result<ReminderEvent, ConvertError>> {
    match payload {
        Payload::ReminderSent(message) => Some(reminder_sent(message).map(ReminderEvent::ReminderSent)),
        Payload::ReminderFailed(message) => Some(reminder_failed(message).map(ReminderEvent::ReminderFailed)),
        Payload::ReminderSkipped(message) => Some(reminder_skipped(message).map(ReminderEvent::ReminderSkipped)),
        _ => None,
    }
}

fn reminder_sent(message: &pb::ReminderSent) -> Result<ReminderSent, ConvertError> {
    const FIELD: &str = "reminder_sent";
    Ok(ReminderSent {
        occurrence_key: message.occurrence_key.clone(),
        rule: message.rule.clone(),
        kind: message.kind.clone(),
        channel: message.channel.clone(),
        recipient: message.recipient.clone(),
        address: message.address.clone(),
        attempt: message.attempt,
        late: message.late,
        digest: message.digest,
        due_at: instant_from_proto(&message.due_at, &format!("{FIELD}.due_at"))?,
        detail: message.detail.clone(),
    })
}

fn reminder_failed(message: &pb::ReminderFailed) -> Result<ReminderFailed, ConvertError> {
    const FIELD: &str = "reminder_failed";
    let retry_at = match message.retry_at.as_deref() {
        None => None,
        Some(retry_at) => Some(instant_from_proto(retry_at, &format!("{FIELD}.retry_at"))?),
    };
    Ok(ReminderFailed {
        occurrence_key: message.occurrence_key.clone(),
        rule: message.rule.clone(),
        kind: message.kind.clone(),
        channel: message.channel.clone(),
        recipient: message.recipient.clone(),
        address: message.address.clone(),
        attempt: message.attempt,
        error: message.error.clone(),
        permanent: message.permanent,
        retry_at,
        dead_lettered: message.dead_lettered,
        due_at: instant_from_proto(&message.due_at, &format!("{FIELD}.due_at"))?,
    })
}

fn reminder_skipped(message: &pb::ReminderSkipped) -> Result<ReminderSkipped, ConvertError> {
    const FIELD: &str = "reminder_skipped";
    Ok(ReminderSkipped {
        occurrence_key: message.occurrence_key.clone(),
        rule: message.rule.clone(),
        kind: message.kind.clone(),
        recipient: message.recipient.clone(),
        reason: skip_reason_from_proto(message.reason, &format!("{FIELD}.reason"))?,
        detail: message.detail.clone(),
        due_at: instant_from_proto(&message.due_at, &format!("{FIELD}.due_at"))?,
    })
}

fn instant_to_proto(instant: OffsetDateTime) -> String {
    instant.format(&Rfc3339).expect("an instant of the years 0 to 9999 formats as RFC 3339")
}

fn instant_from_proto(value: &str, field: &str) -> Result<OffsetDateTime, ConvertError> {
    OffsetDateTime::parse(required(value, field)?, &Rfc3339)
        .map_err(|error| ConvertError::invalid(field, format!("not an RFC 3339 instant: {error}")))
}

fn skip_reason_to_proto(reason: SkipReason) -> pb::SkipReason {
    match reason {
        SkipReason::TaskCompleted => pb::SkipReason::TaskCompleted,
        SkipReason::TaskCancelled => pb::SkipReason::TaskCancelled,
        SkipReason::TaskTransferred => pb::SkipReason::TaskTransferred,
        SkipReason::DeadlineChanged => pb::SkipReason::DeadlineChanged,
        SkipReason::ReportFiled => pb::SkipReason::ReportFiled,
        SkipReason::TooOld => pb::SkipReason::TooOld,
        SkipReason::FoldedIntoDigest => pb::SkipReason::FoldedIntoDigest,
        SkipReason::EndpointDisabled => pb::SkipReason::EndpointDisabled,
        SkipReason::NoRecipient => pb::SkipReason::NoRecipient,
        SkipReason::Superseded => pb::SkipReason::Superseded,
        SkipReason::TaskSuspended => pb::SkipReason::TaskSuspended,
        SkipReason::RequestWithdrawn => pb::SkipReason::RequestWithdrawn,
    }
}

/// `SKIP_REASON_UNSPECIFIED` and numbers this contract does not define are invalid: every skip has a reason.
fn skip_reason_from_proto(value: i32, field: &str) -> Result<SkipReason, ConvertError> {
    match pb::SkipReason::try_from(value) {
        Ok(pb::SkipReason::Unspecified) => Err(ConvertError::missing(field)),
        Ok(pb::SkipReason::TaskCompleted) => Ok(SkipReason::TaskCompleted),
        Ok(pb::SkipReason::TaskCancelled) => Ok(SkipReason::TaskCancelled),
        Ok(pb::SkipReason::TaskTransferred) => Ok(SkipReason::TaskTransferred),
        Ok(pb::SkipReason::DeadlineChanged) => Ok(SkipReason::DeadlineChanged),
        Ok(pb::SkipReason::ReportFiled) => Ok(SkipReason::ReportFiled),
        Ok(pb::SkipReason::TooOld) => Ok(SkipReason::TooOld),
        Ok(pb::SkipReason::FoldedIntoDigest) => Ok(SkipReason::FoldedIntoDigest),
        Ok(pb::SkipReason::EndpointDisabled) => Ok(SkipReason::EndpointDisabled),
        Ok(pb::SkipReason::NoRecipient) => Ok(SkipReason::NoRecipient),
        Ok(pb::SkipReason::Superseded) => Ok(SkipReason::Superseded),
        Ok(pb::SkipReason::TaskSuspended) => Ok(SkipReason::TaskSuspended),
        Ok(pb::SkipReason::RequestWithdrawn) => Ok(SkipReason::RequestWithdrawn),
        Err(_) => Err(ConvertError::invalid(field, format!("{value} is not a SkipReason value"))),
    }
}
