//! The audit search over the whole log (`GET /v1/audit/events`) and the access log: every read or export made by
//! an auditor is recorded as a `RecordsRead` event (see `domain::access`) before it is answered, so that the audit
//! trail also says who looked at what, and the search finds those reads like any other event.
//!
//! The search reads only the streams it needs when it is narrowed to a task (with its indicators) or a plan;
//! otherwise it scans the log from the cursor, at most [`MAX_SCANNED`] events per page, and answers the cursor to
//! resume from, so that every page costs a bounded amount of work.

use axum::extract::State;
use axum::response::Response;
use domain::access::{access_stream, AccessEvent, RecordsRead};
use domain::actor::{Actor, Role};
use domain::ids::{PlanId, TaskId};
use event_store::{ExpectedVersion, RecordedEvent, StreamId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::history::{self, HistoryEntry};
use crate::ledger::{new_event, CommandContext, StreamWrite};
use crate::AppState;
use http_api::error::{ApiError, Problem};
use http_api::extract::{Authenticated, CommandHeaders, StrictQuery};

/// The most events one page of the search scans when it is not narrowed to a task or a plan.
pub const MAX_SCANNED: usize = 10_000;

/// The default and the largest page size.
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1_000;

/// Who may search the whole log.
pub const SEARCH_ROLES: [Role; 4] = [Role::Auditor, Role::Admin, Role::Approver, Role::Planner];

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// The actor's id.
    pub actor: Option<String>,
    /// The actor's unit code.
    pub unit: Option<String>,
    /// An event type: "ReportCorrected", "RecordsRead", "ReminderSkipped", …
    pub event_type: Option<String>,
    /// The kind of stream, the part of `stream_id` before the uuid: plan, task, access (auditors' reads) or
    /// reminders (the notification service's reminder logs).
    pub aggregate: Option<String>,
    /// A task: its events and those of its indicators.
    pub task_id: Option<Uuid>,
    /// A plan: its events, those of all its tasks and indicators, and its access log.
    pub plan_id: Option<Uuid>,
    /// Events recorded at or after this RFC 3339 instant.
    pub recorded_from: Option<String>,
    /// Events recorded at or before this RFC 3339 instant.
    pub recorded_to: Option<String>,
    /// The cursor: events after this global position (the `next_after` of the previous page).
    pub after: Option<u64>,
    /// Page size, 1 to 1000 (100 by default).
    pub limit: Option<usize>,
    /// json (default) or csv.
    pub format: Option<String>,
}

/// One page of the search.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub events: Vec<HistoryEntry>,
    /// Pass as `after` to read the next page; `null` when the log holds nothing further.
    pub next_after: Option<u64>,
    /// The last position this page looked at.
    pub scanned_to: u64,
}

/// What an auditor's read is recorded as.
#[derive(Debug, Clone)]
pub struct ReadRecord {
    pub resource: String,
    pub query: String,
    pub plan_id: Option<PlanId>,
    pub n_records: u64,
}

impl ReadRecord {
    pub fn new(resource: &str, query: String, plan_id: Option<PlanId>, n_records: usize) -> ReadRecord {
        ReadRecord { resource: resource.to_owned(), query, plan_id, n_records: n_records as u64 }
    }
}

/// Records a read if the reader is an auditor. A read that cannot be recorded is not answered.
pub async fn record_read(state: &AppState, actor: &Actor, read: ReadRecord) -> Result<(), ApiError> {
    if actor.role != Role::Auditor {
        return Ok(());
    }
    let event = AccessEvent::RecordsRead(RecordsRead {
        resource: read.resource,
        query: read.query,
        plan_id: read.plan_id,
        n_records: read.n_records,
    });
    let stream_id = StreamId(access_stream(read.plan_id));
    let context = CommandContext {
        actor: actor.clone(),
        headers: CommandHeaders {
            idempotency_key: None,
            if_match: None,
            correlation_id: Uuid::now_v7(),
            causation_id: None,
        },
        fingerprint: String::new(),
    };
    let write = StreamWrite {
        stream_id: stream_id.clone(),
        expected_version: ExpectedVersion::Any,
        events: vec![new_event(&event, None)?],
    };
    state.ledger.append(&context, stream_id.0.clone(), stream_id, vec![write]).await.map_err(|error| {
        tracing::warn!(%error, "an auditor's read could not be recorded");
        ApiError::Unavailable("the read could not be recorded in the access log; try again".to_owned())
    })?;
    Ok(())
}

/// Searches the whole log: by actor, unit, event type, aggregate, task (with its indicators and their reminder
/// logs), plan and recorded time, paginated by position. `format=csv` exports the page as CSV.
#[utoipa::path(get, path = "/v1/audit/events", tag = "audit", params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn search(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    StrictQuery(query): StrictQuery<AuditQuery>,
) -> Result<Response, ApiError> {
    if !SEARCH_ROLES.contains(&actor.role) {
        return Err(ApiError::Forbidden(format!(
            "role {} may not search the audit trail (allowed: auditor, admin, approver, planner)",
            actor.role
        )));
    }
    let format = history::parse_format(query.format.as_deref())?;
    let filter = EventFilter::parse(&query)?;
    let limit = match query.limit {
        None => DEFAULT_LIMIT,
        Some(limit @ 1..=MAX_LIMIT) => limit,
        Some(_) => return Err(ApiError::invalid("limit", format!("must be from 1 to {MAX_LIMIT}"))),
    };
    let after = query.after.unwrap_or(0);
    let (plan_id, page) = match (query.task_id, query.plan_id) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid("plan_id", "give a task_id or a plan_id, not both"));
        }
        (Some(task_id), None) => {
            let (plan_id, events) = history::task_with_indicators_events(&state, TaskId(task_id)).await?;
            (Some(plan_id), page_of(events, &filter, after, limit))
        }
        (None, Some(plan_id)) => {
            let plan_id = PlanId(plan_id);
            let mut events = history::plan_events(&state, plan_id).await?;
            events.extend(state.ledger.store().read_stream(&StreamId(access_stream(Some(plan_id))), 0).await?);
            events.sort_by_key(|event| event.global_position);
            (Some(plan_id), page_of(events, &filter, after, limit))
        }
        (None, None) => (None, scan(&state, &filter, after, limit).await?),
    };
    let resource = "/v1/audit/events";
    let query_text = query_text(&query);
    record_read(&state, &actor, ReadRecord::new(resource, query_text, plan_id, page.events.len())).await?;
    Ok(match format {
        history::Format::Json => axum::response::IntoResponse::into_response(axum::Json(page)),
        history::Format::Csv => history::export(page.events, format, "audit-events"),
    })
}

/// The kinds of stream the search filters by (`aggregate=`): the part of a stream id before its uuid.
pub const AGGREGATES: [&str; 4] = ["plan", "task", "access", "reminders"];

/// The filters that apply to each event.
struct EventFilter {
    actor: Option<String>,
    unit: Option<String>,
    event_type: Option<String>,
    aggregate: Option<String>,
    recorded_from: Option<OffsetDateTime>,
    recorded_to: Option<OffsetDateTime>,
}

impl EventFilter {
    fn parse(query: &AuditQuery) -> Result<EventFilter, ApiError> {
        let instant = |field: &str, value: &Option<String>| {
            value
                .as_deref()
                .map(|value| {
                    OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339).map_err(|_| {
                        ApiError::invalid(field, "must be an RFC 3339 instant such as 2024-04-20T17:00:00+07:00")
                    })
                })
                .transpose()
        };
        if let Some(aggregate) = query.aggregate.as_deref() {
            if !AGGREGATES.contains(&aggregate) {
                return Err(ApiError::invalid(
                    "aggregate",
                    format!("\"{aggregate}\" is not one of {}", AGGREGATES.join(", ")),
                ));
            }
        }
        let filter = EventFilter {
            actor: query.actor.clone(),
            unit: query.unit.clone(),
            event_type: query.event_type.clone(),
            aggregate: query.aggregate.clone(),
            recorded_from: instant("recorded_from", &query.recorded_from)?,
            recorded_to: instant("recorded_to", &query.recorded_to)?,
        };
        if let (Some(from), Some(to)) = (filter.recorded_from, filter.recorded_to) {
            if from > to {
                return Err(ApiError::invalid("recorded_from", "must not be after recorded_to"));
            }
        }
        Ok(filter)
    }

    fn matches(&self, event: &RecordedEvent) -> bool {
        self.actor.as_deref().is_none_or(|actor| event.actor.id == actor)
            && self.unit.as_deref().is_none_or(|unit| event.actor.unit.eq_ignore_ascii_case(unit))
            && self.event_type.as_deref().is_none_or(|event_type| event.event_type == event_type)
            && self.aggregate.as_deref().is_none_or(|aggregate| {
                event.stream_id.as_str().split_once('-').is_some_and(|(prefix, _)| prefix == aggregate)
            })
            && self.recorded_from.is_none_or(|from| event.recorded_at >= from)
            && self.recorded_to.is_none_or(|to| event.recorded_at <= to)
    }
}

/// A page of events already read, in log order.
fn page_of(events: Vec<RecordedEvent>, filter: &EventFilter, after: u64, limit: usize) -> AuditPage {
    let scanned_to = events.last().map_or(after, |event| event.global_position.max(after));
    let mut matching: Vec<RecordedEvent> =
        events.into_iter().filter(|event| event.global_position > after && filter.matches(event)).collect();
    let more = matching.len() > limit;
    matching.truncate(limit);
    let next_after = if more { matching.last().map(|event| event.global_position) } else { None };
    AuditPage { events: history::entries(&matching), next_after, scanned_to }
}

/// Scans the log from `after`, at most [`MAX_SCANNED`] events, until `limit` events match.
async fn scan(state: &AppState, filter: &EventFilter, after: u64, limit: usize) -> Result<AuditPage, ApiError> {
    const BATCH: usize = 1_000;
    let mut matching = Vec::new();
    let mut position = after;
    let mut n_scanned = 0;
    while matching.len() < limit && n_scanned < MAX_SCANNED {
        let batch = state.ledger.store().read_all(position, BATCH).await?;
        let at_end = batch.len() < BATCH;
        for event in batch {
            n_scanned += 1;
            position = event.global_position;
            if filter.matches(&event) {
                matching.push(event);
                if matching.len() == limit {
                    break;
                }
            }
        }
        if at_end {
            break;
        }
    }
    let head = state.ledger.store().head().await?.position;
    let next_after = (position < head).then_some(position);
    Ok(AuditPage { events: history::entries(&matching), next_after, scanned_to: position })
}

fn query_text(query: &AuditQuery) -> String {
    let mut parts = Vec::new();
    let mut push = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            parts.push(format!("{name}={value}"));
        }
    };
    push("actor", query.actor.clone());
    push("unit", query.unit.clone());
    push("event_type", query.event_type.clone());
    push("aggregate", query.aggregate.clone());
    push("task_id", query.task_id.map(|id| id.to_string()));
    push("plan_id", query.plan_id.map(|id| id.to_string()));
    push("recorded_from", query.recorded_from.clone());
    push("recorded_to", query.recorded_to.clone());
    push("after", query.after.map(|after| after.to_string()));
    push("limit", query.limit.map(|limit| limit.to_string()));
    push("format", query.format.clone());
    parts.join("&")
}
