//! The NATS subjects that committed events go on: `taskledger.events.<aggregate>.<id>`, where the aggregate is
//! `plan`, `task` or `access` and the id is the aggregate's UUID, read from the stream id (`task-<uuid>`, see
//! `domain::ids`). Each message carries one `EventEnvelope` (see [`crate::convert`]) and the header `Nats-Msg-Id`
//! set to the event id, so that JetStream drops republished duplicates.

use event_store::StreamId;
use uuid::Uuid;

/// The first two tokens of every event subject.
pub const SUBJECT_PREFIX: &str = "taskledger.events";

/// The filter that matches every event subject, for a JetStream stream or a consumer that wants everything.
pub const ALL_EVENTS_FILTER: &str = "taskledger.events.>";

/// The aggregates whose events go on the bus; each has streams named `<name>-<uuid>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Aggregate {
    /// A plan (danh mục nhiệm vụ): streams `plan-<plan_id>`.
    Plan,
    /// A task or an indicator: streams `task-<task_id>`.
    Task,
    /// The access log of a plan (auditors' reads): streams `access-<plan_id>`, and `access-<nil uuid>` for reads
    /// that concern no one plan.
    Access,
}

impl Aggregate {
    pub const ALL: [Aggregate; 3] = [Aggregate::Plan, Aggregate::Task, Aggregate::Access];

    /// The name used in stream ids and subjects: "plan", "task".
    pub fn as_str(self) -> &'static str {
        match self {
            Aggregate::Plan => "plan",
            Aggregate::Task => "task",
            Aggregate::Access => "access",
        }
    }

    /// The aggregate and id of a stream named `plan-<uuid>`, `task-<uuid>` or `access-<uuid>`; `None` for any other stream id.
    pub fn of_stream(stream_id: &StreamId) -> Option<(Aggregate, Uuid)> {
        let (name, id) = stream_id.as_str().split_once('-')?;
        let aggregate = Aggregate::ALL.into_iter().find(|aggregate| aggregate.as_str() == name)?;
        let id = Uuid::try_parse(id).ok()?;
        Some((aggregate, id))
    }

    /// The filter that matches the events of every aggregate of this kind: "taskledger.events.task.*".
    pub fn subject_filter(self) -> String {
        format!("{SUBJECT_PREFIX}.{}.*", self.as_str())
    }
}

/// The subject of the events of a stream: "task-0190f5c4-…" gives "taskledger.events.task.0190f5c4-…". `None`
/// for a stream id that is not `plan-`, `task-` or `access-<uuid>`, which has no subject.
pub fn subject_for_stream(stream_id: &StreamId) -> Option<String> {
    let (aggregate, id) = Aggregate::of_stream(stream_id)?;
    Some(format!("{SUBJECT_PREFIX}.{}.{}", aggregate.as_str(), id.hyphenated()))
}
