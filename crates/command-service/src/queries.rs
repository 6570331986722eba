//! Read endpoints that fold streams directly, the authoritative answer for one aggregate: a plan with its
//! registered nodes, freeze and issued reports, and a task, each as of a cut-off date (`as_of`) and as known at an
//! instant or a global position (`known_at`, see `axes`). History is in `history`, diffs in `diff`; lists, the
//! board, the appendix and statistics come from the projection service.

use axum::extract::{Path, State};
use axum::Json;
use domain::deadline::{civil_date_at, VIETNAM_OFFSET};
use domain::ids::{PlanId, TaskId};
use domain::plan::Plan;
use domain::status::{Progress, Timeliness};
use domain::task::Task;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::audit::{record_read, ReadRecord};
use crate::ledger::ViewFilter;
use crate::AppState;
use http_api::error::{ApiError, Problem};
use http_api::extract::{Authenticated, StrictQuery};

/// `as_of` and `known_at`, the two axes of every read.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AsOfQuery {
    /// Business cut-off date, `YYYY-MM-DD` (years 2000 to 2100): events whose date is later are left out.
    pub as_of: Option<String>,
    /// What the ledger knew: an RFC 3339 instant (events recorded later are left out) or a plain integer, a
    /// global position (events at later positions are left out).
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

/// One plan with its sections, registered nodes, freeze and issued reports.
#[utoipa::path(get, path = "/v1/plans/{plan_id}", tag = "queries", params(("plan_id" = Uuid, Path), AsOfQuery),
    responses((status = 200, body = Object), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn get_plan(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(plan_id): Path<Uuid>,
    StrictQuery(query): StrictQuery<AsOfQuery>,
) -> Result<Json<Plan>, ApiError> {
    let filter = checked_filter(&state, &query).await?;
    let plan_id = PlanId(plan_id);
    let (plan, _) = load_plan(&state, plan_id, filter).await?;
    let resource = format!("/v1/plans/{plan_id}");
    record_read(&state, &actor, ReadRecord::new(&resource, as_of_query(&query), Some(plan_id), 1)).await?;
    Ok(Json(plan))
}

/// A task or indicator: its definition, reports (with who filed them and when), extensions and status.
#[utoipa::path(get, path = "/v1/tasks/{task_id}", tag = "queries", params(("task_id" = Uuid, Path), AsOfQuery),
    responses((status = 200, body = TaskView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn get_task(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(task_id): Path<Uuid>,
    StrictQuery(query): StrictQuery<AsOfQuery>,
) -> Result<Json<TaskView>, ApiError> {
    let filter = checked_filter(&state, &query).await?;
    let task = state.ledger.load_task(TaskId(task_id), filter).await?.ok_or_else(|| not_found_task(task_id, &query))?;
    let resource = format!("/v1/tasks/{task_id}");
    record_read(&state, &actor, ReadRecord::new(&resource, as_of_query(&query), Some(task.plan_id), 1)).await?;
    Ok(Json(task_view(&state, task, &query, filter)))
}

/// An instant in ISO 8601 with the Vietnam offset (+07:00).
pub fn vietnam_time(instant: OffsetDateTime) -> String {
    instant.to_offset(VIETNAM_OFFSET).format(&Rfc3339).unwrap_or_else(|_| instant.to_string())
}

/// The filter of a read; a position beyond the end of the log is refused.
pub async fn checked_filter(state: &AppState, query: &AsOfQuery) -> Result<ViewFilter, ApiError> {
    let filter = crate::axes::view_filter(query.as_of.as_deref(), query.known_at.as_deref())?;
    if filter.known_at_position.is_some() {
        crate::axes::check_position("known_at", filter, state.ledger.store().head().await?.position)?;
    }
    Ok(filter)
}

pub async fn load_plan(state: &AppState, plan_id: PlanId, filter: ViewFilter) -> Result<(Plan, u64), ApiError> {
    state.ledger.load_plan(plan_id, filter).await?.ok_or_else(|| match (filter.known_at, filter.known_at_position) {
        (Some(known_at), _) => {
            ApiError::NotFound(format!("plan {plan_id} did not exist yet at {}", vietnam_time(known_at)))
        }
        (None, Some(position)) => {
            ApiError::NotFound(format!("plan {plan_id} did not exist yet at position {position}"))
        }
        (None, None) => ApiError::NotFound(format!("plan {plan_id} not found")),
    })
}

fn not_found_task(task_id: Uuid, query: &AsOfQuery) -> ApiError {
    match &query.known_at {
        Some(known_at) => ApiError::NotFound(format!("task {task_id} did not exist yet at {known_at}")),
        None => ApiError::NotFound(format!("task {task_id} not found")),
    }
}

fn as_of_query(query: &AsOfQuery) -> String {
    let mut parts = Vec::new();
    if let Some(as_of) = &query.as_of {
        parts.push(format!("as_of={as_of}"));
    }
    if let Some(known_at) = &query.known_at {
        parts.push(format!("known_at={known_at}"));
    }
    parts.join("&")
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
