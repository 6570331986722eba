//! The NATS subjects that committed events go on: `taskledger.events.<aggregate>.<id>`, where the aggregate is
//! `plan`, `task`, `access` or `reminder` and the id is the aggregate's UUID, read from the stream id
//! (`task-<uuid>`, see `domain::ids`; `reminders-<task_id>`, see `domain::reminder`). Each message carries one `EventEnvelope` (see [`crate::convert`]) and the header `Nats-Msg-Id`
//! set to the event id, so that JetStream drops republished duplicates.

use event_store::StreamId;
use uuid::Uuid;

/// The first two tokens of every event subject.
pub const SUBJECT_PREFIX: &str = "taskledger.events";

/// The filter that matches every event subject, for a JetStream stream or a consumer that wants everything.
pub const ALL_EVENTS_FILTER: &str = "taskledger.events.>";

/// The aggregates whose events go on the bus; each has streams named `<stream prefix>-<uuid>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Aggregate {
    /// A plan (danh mục nhiệm vụ): streams `plan-<plan_id>`.
    Plan,
    /// A task or an indicator: streams `task-<task_id>`.
    Task,
    /// The access log of a plan (auditors' reads): streams `access-<plan_id>`, and `access-<nil uuid>` for reads
    /// that concern no one plan.
    Access,
    /// The reminder log of a task (the notification service's decisions and deliveries): streams
    /// `reminders-<task_id>`, subjects `taskledger.events.reminder.<task_id>`.
    Reminder,
}

impl Aggregate {
    pub const ALL: [Aggregate; 4] = [Aggregate::Plan, Aggregate::Task, Aggregate::Access, Aggregate::Reminder];

    /// The name used in subjects: "plan", "task", "access", "reminder".
    pub fn as_str(self) -> &'static str {
        match self {
            Aggregate::Plan => "plan",
            Aggregate::Task => "task",
            Aggregate::Access => "access",
            Aggregate::Reminder => "reminder",
        }
    }

    /// The name before the uuid in stream ids: the subject's name, but "reminders" for a task's reminder log
    /// (`domain::reminder::REMINDER_STREAM_PREFIX`).
    pub fn stream_prefix(self) -> &'static str {
        match self {
            Aggregate::Plan | Aggregate::Task | Aggregate::Access => self.as_str(),
            Aggregate::Reminder => "reminders",
        }
    }

    /// The aggregate and id of a stream named `plan-<uuid>`, `task-<uuid>`, `access-<uuid>` or `reminders-<uuid>`;
    /// `None` for any other stream id.
    pub fn of_stream(stream_id: &StreamId) -> Option<(Aggregate, Uuid)> {
        let (name, id) = stream_id.as_str().split_once('-')?;
        let aggregate = Aggregate::ALL.into_iter().find(|aggregate| aggregate.stream_prefix() == name)?;
        let id = Uuid::try_parse(id).ok()?;
        Some((aggregate, id))
    }

    /// The filter that matches the events of every aggregate of this kind: "taskledger.events.task.*".
    pub fn subject_filter(self) -> String {
        format!("{SUBJECT_PREFIX}.{}.*", self.as_str())
    }
}

/// The subject of the events of a stream: "task-0190f5c4-…" gives "taskledger.events.task.0190f5c4-…". `None`
/// for a stream id that is not `plan-`, `task-`, `access-` or `reminders-<uuid>`, which has no subject.
pub fn subject_for_stream(stream_id: &StreamId) -> Option<String> {
    let (aggregate, id) = Aggregate::of_stream(stream_id)?;
    Some(format!("{SUBJECT_PREFIX}.{}.{}", aggregate.as_str(), id.hyphenated()))
}
