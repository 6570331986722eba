//! The access log: reads and exports made by auditors are themselves recorded, as events of an access stream, so
//! that the audit trail also says who looked at what and when (and an audit search finds those reads).
//!
//! A read that concerns a plan (the plan, its tasks, their history, diffs, appendices, issued reports) is recorded
//! in the plan's access stream `access-<plan_id>`; a read that concerns no one plan (an audit search over the whole
//! log) in [`GLOBAL_ACCESS_STREAM`]. Access streams are appended with any expected version: a read never conflicts
//! with another.

use serde::{Deserialize, Serialize};

use crate::ids::PlanId;

/// The access stream of reads that concern no one plan.
pub const GLOBAL_ACCESS_STREAM: &str = "access-00000000-0000-0000-0000-000000000000";

/// Events of an access stream. Stored as `event_type` + `payload`; the JSON of each is a compatibility contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event_type", content = "payload")]
pub enum AccessEvent {
    RecordsRead(RecordsRead),
}

/// An auditor read or exported records. Who read is the event's actor; when, its `recorded_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordsRead {
    /// The path read: "/v1/tasks/…/history".
    pub resource: String,
    /// The query string as given ("format=csv&known_at=…"), possibly empty.
    pub query: String,
    /// The plan the read concerns, if one.
    pub plan_id: Option<PlanId>,
    /// How many records (events, rows) the answer held.
    pub n_records: u64,
}

/// The access stream of a read: its plan's, or the global one.
pub fn access_stream(plan_id: Option<PlanId>) -> String {
    match plan_id {
        Some(plan_id) => format!("access-{plan_id}"),
        None => GLOBAL_ACCESS_STREAM.to_owned(),
    }
}

impl AccessEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            AccessEvent::RecordsRead(_) => "RecordsRead",
        }
    }
}
