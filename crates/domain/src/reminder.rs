//! The reminder log of a task: every decision and delivery attempt of the notification service about one task —
//! a reminder sent, a delivery that failed, a reminder skipped and why — recorded as events of the task's own
//! reminder stream `reminders-<task_id>` ([`reminder_stream_id`]), with the system actor
//! (`actor::Actor::notification_service`).
//!
//! The events are pure data: what was decided or attempted is the notification service's business (the
//! `notification` crate), the domain only fixes their shape, which is a compatibility contract like every stored
//! event. They live on a stream of their own, not on the task stream, so that recording a reminder never changes
//! the task's version (clients send it back in `If-Match`). The task's history shows both streams, in global
//! order.
//!
//! Reminder events carry no business date: they say what happened at an instant (`due_at` is when the reminder
//! was due to go out; the store's `recorded_at` when it was recorded).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::TaskId;

#[cfg(test)]
mod tests;

/// The prefix of every reminder stream id: `reminders-<task_id>`.
pub const REMINDER_STREAM_PREFIX: &str = "reminders-";

/// The kinds of reminder, as recorded in `kind`.
pub const REMINDER_KINDS: [&str; 5] = ["deadline_approaching", "due_today", "overdue", "escalation", "report_due"];

/// The channels a reminder goes out on, as recorded in `channel`.
pub const REMINDER_CHANNELS: [&str; 4] = ["email", "webhook", "nats", "feed"];

/// Events of a reminder stream. Stored as `event_type` + `payload`; the JSON of each is a compatibility contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event_type", content = "payload")]
pub enum ReminderEvent {
    ReminderSent(ReminderSent),
    ReminderFailed(ReminderFailed),
    ReminderSkipped(ReminderSkipped),
}

/// A reminder went out: the channel's far side took it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReminderSent {
    /// The occurrence this delivery is for, unique across replicas: the same key is never sent twice.
    pub occurrence_key: String,
    /// The rule that produced the occurrence.
    pub rule: String,
    /// One of [`REMINDER_KINDS`].
    pub kind: String,
    /// One of [`REMINDER_CHANNELS`].
    pub channel: String,
    /// Who was reminded: a unit code or a user id.
    pub recipient: String,
    /// Where it went: an e-mail address, a webhook URL, a NATS subject, a feed.
    pub address: String,
    /// The attempt that succeeded, from 1.
    pub attempt: u32,
    /// Sent after the instant it was due (caught up after an outage).
    pub late: bool,
    /// Sent inside a digest that gathers several occurrences.
    pub digest: bool,
    /// When the reminder was due to go out.
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
    /// What was said, in short (the subject line); may be empty.
    pub detail: String,
}

/// A delivery attempt failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReminderFailed {
    pub occurrence_key: String,
    pub rule: String,
    pub kind: String,
    pub channel: String,
    pub recipient: String,
    pub address: String,
    /// The attempt that failed, from 1.
    pub attempt: u32,
    /// What the channel answered.
    pub error: String,
    /// Trying again cannot help (an address refused, a webhook answering 4xx).
    pub permanent: bool,
    /// When the next attempt is planned; `None` when there will be none.
    #[serde(with = "time::serde::rfc3339::option")]
    pub retry_at: Option<OffsetDateTime>,
    /// The occurrence was given up and set aside for an operator.
    pub dead_lettered: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
}

/// A reminder was not sent, on purpose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReminderSkipped {
    pub occurrence_key: String,
    pub rule: String,
    pub kind: String,
    /// Who would have been reminded, when known.
    pub recipient: Option<String>,
    pub reason: SkipReason,
    /// More about the reason (the digest it was folded into, the new deadline); may be empty.
    pub detail: String,
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
}

/// Why a reminder was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// The task is done (or awaits the confirmation of its completion).
    TaskCompleted,
    TaskCancelled,
    TaskTransferred,
    /// The deadline the reminder was for is no longer in force (an extension was approved).
    DeadlineChanged,
    /// The report the reminder asked for was filed.
    ReportFiled,
    /// Due too long ago to be worth sending when caught up after an outage.
    TooOld,
    /// Sent inside a digest instead of on its own.
    FoldedIntoDigest,
    /// The channel's endpoint is disabled.
    EndpointDisabled,
    /// Nobody to remind: no address for the unit.
    NoRecipient,
    /// A later reminder of the same series fell due too (after an outage): only the latest is sent.
    Superseded,
    /// The task is suspended: it is not chased until it is reopened.
    TaskSuspended,
    /// The report request the reminder was for was withdrawn.
    RequestWithdrawn,
}

/// The reminder stream of a task: `reminders-<task_id>`.
pub fn reminder_stream_id(task_id: TaskId) -> String {
    format!("{REMINDER_STREAM_PREFIX}{task_id}")
}

/// The task of a reminder stream id; `None` for any other stream id.
pub fn task_of_reminder_stream(stream_id: &str) -> Option<TaskId> {
    let id = stream_id.strip_prefix(REMINDER_STREAM_PREFIX)?;
    uuid::Uuid::try_parse(id).ok().map(TaskId)
}

impl ReminderEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            ReminderEvent::ReminderSent(_) => "ReminderSent",
            ReminderEvent::ReminderFailed(_) => "ReminderFailed",
            ReminderEvent::ReminderSkipped(_) => "ReminderSkipped",
        }
    }

    /// The occurrence the event is about.
    pub fn occurrence_key(&self) -> &str {
        match self {
            ReminderEvent::ReminderSent(sent) => &sent.occurrence_key,
            ReminderEvent::ReminderFailed(failed) => &failed.occurrence_key,
            ReminderEvent::ReminderSkipped(skipped) => &skipped.occurrence_key,
        }
    }

    /// When the reminder was due to go out.
    pub fn due_at(&self) -> OffsetDateTime {
        match self {
            ReminderEvent::ReminderSent(sent) => sent.due_at,
            ReminderEvent::ReminderFailed(failed) => failed.due_at,
            ReminderEvent::ReminderSkipped(skipped) => skipped.due_at,
        }
    }
}

impl SkipReason {
    pub const ALL: [SkipReason; 12] = [
        SkipReason::TaskCompleted,
        SkipReason::TaskCancelled,
        SkipReason::TaskTransferred,
        SkipReason::DeadlineChanged,
        SkipReason::ReportFiled,
        SkipReason::TooOld,
        SkipReason::FoldedIntoDigest,
        SkipReason::EndpointDisabled,
        SkipReason::NoRecipient,
        SkipReason::Superseded,
        SkipReason::TaskSuspended,
        SkipReason::RequestWithdrawn,
    ];

    /// The stored name: "task_completed", "too_old", …
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::TaskCompleted => "task_completed",
            SkipReason::TaskCancelled => "task_cancelled",
            SkipReason::TaskTransferred => "task_transferred",
            SkipReason::DeadlineChanged => "deadline_changed",
            SkipReason::ReportFiled => "report_filed",
            SkipReason::TooOld => "too_old",
            SkipReason::FoldedIntoDigest => "folded_into_digest",
            SkipReason::EndpointDisabled => "endpoint_disabled",
            SkipReason::NoRecipient => "no_recipient",
            SkipReason::Superseded => "superseded",
            SkipReason::TaskSuspended => "task_suspended",
            SkipReason::RequestWithdrawn => "request_withdrawn",
        }
    }

    pub fn parse(input: &str) -> Option<SkipReason> {
        SkipReason::ALL.into_iter().find(|reason| reason.as_str() == input)
    }

    /// The reason in Vietnamese, as the task's history shows it.
    pub fn vietnamese(self) -> &'static str {
        match self {
            SkipReason::TaskCompleted => "nhiệm vụ đã hoàn thành",
            SkipReason::TaskCancelled => "nhiệm vụ đã bị huỷ",
            SkipReason::TaskTransferred => "nhiệm vụ đã được điều chuyển",
            SkipReason::DeadlineChanged => "thời hạn đã thay đổi",
            SkipReason::ReportFiled => "đã có báo cáo",
            SkipReason::TooOld => "đã quá lâu so với thời điểm cần nhắc",
            SkipReason::FoldedIntoDigest => "đã gộp vào bản tổng hợp",
            SkipReason::EndpointDisabled => "kênh nhận đã bị tắt",
            SkipReason::NoRecipient => "không có người nhận",
            SkipReason::Superseded => "đã có lời nhắc mới hơn",
            SkipReason::TaskSuspended => "nhiệm vụ đang tạm hoãn",
            SkipReason::RequestWithdrawn => "yêu cầu báo cáo đã được rút lại",
        }
    }
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
