//! Read endpoints that fold streams directly, the authoritative answer for one aggregate: a plan with its
//! registered nodes, a task (optionally as of a cut-off date and as known at an instant), and a task's history
//! with full provenance. Lists, the board, the appendix and statistics come from the projection service.

use axum::extract::{Path, State};
use axum::Json;
use domain::deadline::{civil_date_at, VIETNAM_OFFSET};
use domain::ids::{PlanId, TaskId};
use domain::plan::Plan;
use domain::status::{Progress, Timeliness};
use domain::task::Task;
use event_store::RecordedEvent;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::ledger::ViewFilter;
use crate::AppState;
use http_api::error::{ApiError, Problem};
use http_api::extract::{date_param, known_at_param, Authenticated, StrictQuery};

/// `as_of` and `known_at`, the two axes of every read.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AsOfQuery {
    /// Business cut-off date, `YYYY-MM-DD`: events whose date is later are left out.
    pub as_of: Option<String>,
    /// RFC 3339 instant: events recorded later are left out.
    pub known_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TaskView {
    #[schema(value_type = Object)]
    pub task: Task,
    #[schema(value_type = String)]
    pub progress: Progress,
    #[schema(value_type = Object)]
    pub timeliness: Timeliness,
    /// The date timeliness was computed for: `as_of`, or today in Vietnam.
    pub timeliness_on: String,
    pub as_of: Option<String>,
    pub known_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    pub position: u64,
    pub event_id: Uuid,
    pub stream_id: String,
    pub stream_version: u64,
    pub event_type: String,
    pub schema_version: u32,
    pub effective_date: Option<String>,
    /// ISO 8601 with +07:00.
    pub recorded_at: String,
    pub actor: HistoryActor,
    pub command_id: Uuid,
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryActor {
    pub id: String,
    pub name: String,
    pub unit: String,
    pub role: String,
}

/// One plan with its sections and registered nodes.
#[utoipa::path(get, path = "/v1/plans/{plan_id}", tag = "queries", params(("plan_id" = Uuid, Path), AsOfQuery),
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
pub async fn get_plan(
    State(state): State<AppState>,
    _: Authenticated,
    Path(plan_id): Path<Uuid>,
    StrictQuery(query): StrictQuery<AsOfQuery>,
) -> Result<Json<Plan>, ApiError> {
    let filter = view_filter(&query)?;
    let (plan, _) = load_plan(&state, PlanId(plan_id), filter).await?;
    Ok(Json(plan))
}

/// A task or indicator: its definition, reports (with who filed them and when), extensions and status.
#[utoipa::path(get, path = "/v1/tasks/{task_id}", tag = "queries", params(("task_id" = Uuid, Path), AsOfQuery),
    responses((status = 200, body = TaskView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn get_task(
    State(state): State<AppState>,
    _: Authenticated,
    Path(task_id): Path<Uuid>,
    StrictQuery(query): StrictQuery<AsOfQuery>,
) -> Result<Json<TaskView>, ApiError> {
    let filter = view_filter(&query)?;
    let task = state.ledger.load_task(TaskId(task_id), filter).await?.ok_or_else(|| not_found_task(task_id, &query))?;
    Ok(Json(task_view(&state, task, &query, filter)))
}

/// Every event of a task and of its indicators, in order, with provenance and hashes.
#[utoipa::path(get, path = "/v1/tasks/{task_id}/history", tag = "queries", params(("task_id" = Uuid, Path)),
    responses((status = 200, body = Vec<HistoryEntry>), (status = 404, body = Problem)))]
pub async fn get_history(
    State(state): State<AppState>,
    _: Authenticated,
    Path(task_id): Path<Uuid>,
) -> Result<Json<Vec<HistoryEntry>>, ApiError> {
    let task_id = TaskId(task_id);
    let events = state.ledger.task_events(task_id).await?;
    let task = crate::ledger::fold_task(&events, ViewFilter::default())
        .ok_or_else(|| ApiError::NotFound(format!("task {task_id} not found")))?;
    let mut stored: Vec<RecordedEvent> = events.into_iter().map(|(_, recorded)| recorded).collect();
    if let Some((plan, _)) = state.ledger.load_plan(task.plan_id, ViewFilter::default()).await? {
        for indicator in plan.nodes.iter().filter(|node| node.parent_id == Some(task_id)) {
            let indicator_events = state.ledger.task_events(indicator.task_id).await?;
            stored.extend(indicator_events.into_iter().map(|(_, recorded)| recorded));
        }
    }
    stored.sort_by_key(|event| event.global_position);
    Ok(Json(stored.into_iter().map(history_entry).collect()))
}

pub fn history_entry(event: RecordedEvent) -> HistoryEntry {
    HistoryEntry {
        position: event.global_position,
        event_id: event.event_id,
        stream_id: event.stream_id.0,
        stream_version: event.stream_version,
        event_type: event.event_type,
        schema_version: event.schema_version,
        effective_date: event.effective_date.map(|date| date.to_string()),
        recorded_at: vietnam_time(event.recorded_at),
        actor: HistoryActor {
            id: event.actor.id,
            name: event.actor.name,
            unit: event.actor.unit,
            role: event.actor.role,
        },
        command_id: event.command_id,
        correlation_id: event.correlation_id,
        causation_id: event.causation_id,
        payload: event.payload,
        prev_hash: event.prev_hash,
        hash: event.hash,
    }
}

/// An instant in ISO 8601 with the Vietnam offset (+07:00).
pub fn vietnam_time(instant: OffsetDateTime) -> String {
    instant.to_offset(VIETNAM_OFFSET).format(&Rfc3339).unwrap_or_else(|_| instant.to_string())
}

pub fn view_filter(query: &AsOfQuery) -> Result<ViewFilter, ApiError> {
    let as_of = query.as_of.as_deref().map(|value| date_param("as_of", value)).transpose()?;
    let known_at = query.known_at.as_deref().map(known_at_param).transpose()?;
    Ok(ViewFilter { as_of, known_at })
}

async fn load_plan(state: &AppState, plan_id: PlanId, filter: ViewFilter) -> Result<(Plan, u64), ApiError> {
    state.ledger.load_plan(plan_id, filter).await?.ok_or_else(|| match filter.known_at {
        Some(known_at) => ApiError::NotFound(format!("plan {plan_id} did not exist yet at {}", vietnam_time(known_at))),
        None => ApiError::NotFound(format!("plan {plan_id} not found")),
    })
}

fn not_found_task(task_id: Uuid, query: &AsOfQuery) -> ApiError {
    match &query.known_at {
        Some(known_at) => ApiError::NotFound(format!("task {task_id} did not exist yet at {known_at}")),
        None => ApiError::NotFound(format!("task {task_id} not found")),
    }
}

fn task_view(state: &AppState, task: Task, query: &AsOfQuery, filter: ViewFilter) -> TaskView {
    let on: Date = filter.as_of.unwrap_or_else(|| state.today());
    TaskView {
        progress: task.progress(),
        timeliness: task.timeliness(on, state.config.due_soon_days),
        timeliness_on: on.to_string(),
        as_of: query.as_of.clone(),
        known_at: query.known_at.clone(),
        task,
    }
}

/// Today in Vietnam.
pub fn today_at(now: OffsetDateTime) -> Date {
    civil_date_at(now)
}
