//! What the dispatcher hands a channel, and what a channel answers.
//!
//! A channel only carries a message: it keeps no state of its own about occurrences, retries or endpoints'
//! health (the dispatcher stores those, so that replicas share them). Its one duty beyond sending is to be
//! idempotent on the far side where the protocol allows it: a [`Delivery`]'s `delivery_id` is the same on every
//! attempt, and becomes the email's `Message-ID` and the webhook's `webhook-id`, so that a receiver can drop a
//! message it already has.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

/// How a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Email,
    Webhook,
    Nats,
    Feed,
}

/// The language a message is written in: Vietnamese unless the recipient asks otherwise.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    #[default]
    Vi,
    En,
}

/// What a reminder is about, and what is expected of its recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReminderKind {
    /// The deadline is `working_days_left` working days away (0: it falls due today).
    DeadlineApproaching { working_days_left: u32 },
    /// The deadline passed `days_overdue` calendar days ago; `escalated` when sent to the lead unit's approver.
    Overdue { days_overdue: u32, escalated: bool },
    /// A report is expected as of `cut_off` (a periodic cut-off or an ad-hoc report request), and these tasks
    /// have none for the period yet.
    ReportDue { cut_off: Date, period: String },
}

/// A task or indicator as the appendix shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRef {
    pub task_id: Uuid,
    pub plan_id: Uuid,
    pub plan_title: String,
    /// The appendix's "TT" column: "1", "2.1".
    pub number: String,
    /// The appendix's content: "Nhiệm vụ 1: …", "Chỉ tiêu 2.1: …".
    pub content: String,
    /// The deadline as the appendix shows it: "Tháng 11/2024", "30/11/2024", "Thường xuyên".
    pub deadline_text: String,
    /// When the deadline falls due, if it has one (23:59:59 +07:00 at the end of its period).
    pub due_at: Option<OffsetDateTime>,
    pub lead_unit: String,
}

/// One reminder for one recipient: the facts a message is rendered from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reminder {
    /// The occurrence this reminder sends: unique per rule, subject and due instant.
    pub occurrence_key: String,
    /// The rule's name in the rule file.
    pub rule: String,
    pub kind: ReminderKind,
    /// The tasks concerned: one for a deadline reminder, every task of the unit without a report for a report
    /// reminder.
    pub tasks: Vec<TaskRef>,
    /// When the occurrence fell due.
    pub due_at: OffsetDateTime,
    /// Sent after its time (the service was down or in quiet hours past the rule's catch-up window).
    pub late: bool,
    /// May bypass quiet hours.
    pub critical: bool,
}

/// Who receives a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    /// A user id (as in tokens) or a unit code.
    pub id: String,
    pub name: String,
    pub language: Language,
}

/// A message as its reader sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub language: Language,
    pub subject: String,
    /// Plain text.
    pub body: String,
}

/// One message to one recipient through one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// The same on every attempt of this occurrence for this recipient and channel; the far side's idempotency
    /// handle (email `Message-ID`, `webhook-id`, NATS `Nats-Msg-Id`).
    pub delivery_id: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// This attempt's send was started before, by a replica that died before recording what came of it: the far
    /// side may have the message already. Channels say so in a header (`Taskledger-Redelivery: true`, in email
    /// `X-Taskledger-Redelivery`); the idempotency handle is the same as the first time, so the far side can drop it.
    pub redelivery: bool,
    pub channel: ChannelKind,
    /// Where to, in the channel's terms: an email address, a webhook endpoint's name in the configuration, a NATS
    /// subject, a feed owner (user id or unit code).
    pub address: String,
    pub recipient: Recipient,
    pub reminder: Reminder,
    pub message: Message,
}

/// What the far side said when it took a delivery: an SMTP reply, an HTTP status, a JetStream sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub detail: String,
}

/// Why a delivery did not get through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum DeliveryError {
    /// Trying again later may work: a connection refused or timed out, a 5xx, a 429, an SMTP 4xx reply.
    #[error("delivery failed, will retry: {0}")]
    Transient(String),
    /// Trying again will not help: an SMTP 5xx reply, a 4xx other than 408/429, an address that is not one.
    #[error("delivery failed permanently: {0}")]
    Permanent(String),
}

/// A way of sending a message.
#[async_trait]
pub trait Channel: Send + Sync + 'static {
    fn kind(&self) -> ChannelKind;

    /// Sends one delivery; returns when the far side has taken it or refused it. Never panics on what the far side
    /// answers, and gives up on a silent far side after the channel's timeout (a `Transient` error).
    async fn deliver(&self, delivery: &Delivery) -> Result<Receipt, DeliveryError>;
}
