//! The JSON that a webhook delivery's body and a NATS notification carry: a published contract for receivers,
//! pinned by a snapshot test, so a change of it shows up in review.
//!
//! Its shape follows the Standard Webhooks payload, `{"type", "timestamp", "data"}`: `type` is
//! `reminder.<kind>`, `timestamp` the instant the occurrence fell due (RFC 3339 at +07:00; the same on every
//! attempt, so a retried body is byte for byte the first), and `data` the reminder's facts, its recipient and its
//! rendered message. Instants are RFC 3339 at +07:00 and dates `YYYY-MM-DD`, whatever serde form the internal
//! types in [`crate::channel`] have, so that the contract does not move when they do.

use domain::deadline::{format_date_iso, VIETNAM_OFFSET};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::channel::{Delivery, Message, Recipient, Reminder, ReminderKind, TaskRef};

/// One notification as receivers see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderEvent {
    /// `reminder.deadline_approaching`, `reminder.overdue` or `reminder.report_due`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// When the occurrence fell due, RFC 3339 at +07:00.
    pub timestamp: String,
    pub data: ReminderEventData,
}

/// The facts of a notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderEventData {
    /// The same on every attempt; also the `webhook-id` and `Nats-Msg-Id` headers.
    pub delivery_id: String,
    pub reminder: ReminderFacts,
    pub recipient: Recipient,
    pub message: Message,
}

/// A [`Reminder`] in the contract's form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderFacts {
    pub occurrence_key: String,
    pub rule: String,
    pub kind: ReminderKindFacts,
    pub tasks: Vec<TaskFacts>,
    /// RFC 3339 at +07:00.
    pub due_at: String,
    pub late: bool,
    pub critical: bool,
}

/// A [`ReminderKind`] in the contract's form: `{"kind": "report_due", "cut_off": "2024-04-15", …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReminderKindFacts {
    DeadlineApproaching {
        working_days_left: u32,
    },
    Overdue {
        days_overdue: u32,
        escalated: bool,
    },
    ReportDue {
        /// `YYYY-MM-DD`.
        cut_off: String,
        period: String,
    },
}

/// A [`TaskRef`] in the contract's form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskFacts {
    pub task_id: Uuid,
    pub plan_id: Uuid,
    pub plan_title: String,
    pub number: String,
    pub content: String,
    pub deadline_text: String,
    /// RFC 3339 at +07:00; absent for a task without a deadline.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub due_at: Option<String>,
    pub lead_unit: String,
}

impl ReminderEvent {
    /// The event a delivery carries.
    pub fn from_delivery(delivery: &Delivery) -> ReminderEvent {
        ReminderEvent {
            event_type: event_type(&delivery.reminder.kind).to_owned(),
            timestamp: rfc3339_in_vietnam(delivery.reminder.due_at),
            data: ReminderEventData {
                delivery_id: delivery.delivery_id.clone(),
                reminder: ReminderFacts::from_reminder(&delivery.reminder),
                recipient: delivery.recipient.clone(),
                message: delivery.message.clone(),
            },
        }
    }
}

impl ReminderFacts {
    pub fn from_reminder(reminder: &Reminder) -> ReminderFacts {
        ReminderFacts {
            occurrence_key: reminder.occurrence_key.clone(),
            rule: reminder.rule.clone(),
            kind: match &reminder.kind {
                ReminderKind::DeadlineApproaching { working_days_left } => {
                    ReminderKindFacts::DeadlineApproaching { working_days_left: *working_days_left }
                }
                ReminderKind::Overdue { days_overdue, escalated } => {
                    ReminderKindFacts::Overdue { days_overdue: *days_overdue, escalated: *escalated }
                }
                ReminderKind::ReportDue { cut_off, period } => {
                    ReminderKindFacts::ReportDue { cut_off: format_date_iso(*cut_off), period: period.clone() }
                }
            },
            tasks: reminder.tasks.iter().map(TaskFacts::from_task).collect(),
            due_at: rfc3339_in_vietnam(reminder.due_at),
            late: reminder.late,
            critical: reminder.critical,
        }
    }
}

impl TaskFacts {
    pub fn from_task(task: &TaskRef) -> TaskFacts {
        TaskFacts {
            task_id: task.task_id,
            plan_id: task.plan_id,
            plan_title: task.plan_title.clone(),
            number: task.number.clone(),
            content: task.content.clone(),
            deadline_text: task.deadline_text.clone(),
            due_at: task.due_at.map(rfc3339_in_vietnam),
            lead_unit: task.lead_unit.clone(),
        }
    }
}

/// `reminder.<kind>`: the event type of a reminder of that kind.
pub fn event_type(kind: &ReminderKind) -> &'static str {
    match kind {
        ReminderKind::DeadlineApproaching { .. } => "reminder.deadline_approaching",
        ReminderKind::Overdue { .. } => "reminder.overdue",
        ReminderKind::ReportDue { .. } => "reminder.report_due",
    }
}

/// An instant as RFC 3339 at +07:00: `2024-12-31T23:59:59+07:00`. Years outside 0 to 9999, which RFC 3339 cannot
/// write, fall back to the `time` crate's own form rather than fail.
pub fn rfc3339_in_vietnam(instant: OffsetDateTime) -> String {
    let local = instant.to_offset(VIETNAM_OFFSET);
    local.format(&Rfc3339).unwrap_or_else(|_| local.to_string())
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;
    use crate::channel::{ChannelKind, Language};

    fn report_due_delivery() -> Delivery {
        let task = TaskRef {
            task_id: Uuid::from_u128(3),
            plan_id: Uuid::from_u128(1),
            plan_title: "Nhiệm vụ trọng tâm của Giám đốc Sở KH&CN năm 2024".to_owned(),
            number: "3".to_owned(),
            content: "Nhiệm vụ 3: Nâng cao chất lượng xét đánh giá, công nhận sáng kiến cơ sở.".to_owned(),
            deadline_text: "Tháng 06/2024".to_owned(),
            due_at: Some(datetime!(2024-06-30 16:59:59 UTC)),
            lead_unit: "PQLKH".to_owned(),
        };
        let standing = TaskRef {
            task_id: Uuid::from_u128(4),
            due_at: None,
            deadline_text: "Thường xuyên".to_owned(),
            number: "4".to_owned(),
            ..task.clone()
        };
        Delivery {
            delivery_id: "dlv-report-due-2024-04-15-pqlkh-webhook".to_owned(),
            attempt: 2,
            redelivery: false,
            channel: ChannelKind::Webhook,
            address: "province-portal".to_owned(),
            recipient: Recipient {
                id: "PQLKH".to_owned(),
                name: "Phòng Quản lý khoa học".to_owned(),
                language: Language::Vi,
            },
            reminder: Reminder {
                occurrence_key: "report-monthly/PQLKH/2024-04-15".to_owned(),
                rule: "report-monthly".to_owned(),
                kind: ReminderKind::ReportDue { cut_off: date!(2024 - 04 - 15), period: "Tháng 4/2024".to_owned() },
                tasks: vec![task, standing],
                due_at: datetime!(2024-04-12 01:00 UTC),
                late: true,
                critical: false,
            },
            message: Message {
                language: Language::Vi,
                subject: "[Yêu cầu báo cáo] …".to_owned(),
                body: "Kính gửi: …".to_owned(),
            },
        }
    }

    #[test]
    fn the_event_json_is_the_published_contract() {
        let event = ReminderEvent::from_delivery(&report_due_delivery());
        insta::assert_json_snapshot!(event);
    }

    #[test]
    fn the_event_reads_back_as_it_was_written() {
        let event = ReminderEvent::from_delivery(&report_due_delivery());
        let json = serde_json::to_string(&event).expect("an event serialises");
        let read_back: ReminderEvent = serde_json::from_str(&json).expect("an event deserialises");
        assert_eq!(read_back, event);
    }

    #[test]
    fn each_kind_has_its_event_type() {
        assert_eq!(
            event_type(&ReminderKind::DeadlineApproaching { working_days_left: 0 }),
            "reminder.deadline_approaching"
        );
        assert_eq!(event_type(&ReminderKind::Overdue { days_overdue: 1, escalated: true }), "reminder.overdue");
        assert_eq!(
            event_type(&ReminderKind::ReportDue { cut_off: date!(2024 - 04 - 15), period: String::new() }),
            "reminder.report_due"
        );
    }
}
