//! HTTP answers of the projection service: the plan catalogue, the task board, the appendix (JSON, CSV,
//! Markdown) and statistics. Every query accepts `min_position`: it waits, up to a bound, until the read models
//! have applied that global position (the `position` a command answered), so a client reads its own writes.

use std::sync::Arc;
use std::time::Duration;

use auth::TokenKey;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use domain::appendix::AppendixRow;
use domain::deadline::{civil_date_at, format_date_vn};
use domain::status::Progress;
use http_api::error::{ApiError, Problem};
use http_api::extract::{
    as_of_param, date_param, known_at_or_position_param, Authenticated, KnownAtParam, StrictQuery,
};
use http_api::{ApiState, Clock};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use utoipa::{IntoParams, ToSchema};

use crate::db::ReadDb;
use crate::queries::{
    self, AppendixQuery, BoardFilter, BoardTask, PlanSummary, QueryError, Statistics, UnitStatistics,
};
use crate::runtime::Projector;

/// What the projection service's handlers share.
#[derive(Clone)]
pub struct ProjectionState {
    pub db: ReadDb,
    pub projectors: Arc<Vec<Arc<Projector>>>,
    pub token_key: Arc<TokenKey>,
    pub clock: Arc<dyn Clock>,
    pub config: QueryConfig,
}

#[derive(Debug, Clone)]
pub struct QueryConfig {
    pub due_soon_days: i64,
    /// The longest a query waits for `min_position`.
    pub min_position_timeout: Duration,
}

impl Default for QueryConfig {
    fn default() -> Self {
        QueryConfig {
            due_soon_days: domain::status::DEFAULT_DUE_SOON_DAYS,
            min_position_timeout: Duration::from_secs(3),
        }
    }
}

impl ApiState for ProjectionState {
    fn token_key(&self) -> &TokenKey {
        &self.token_key
    }

    fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    fn body_limit_bytes(&self) -> usize {
        4 * 1024
    }
}

/// The projection service's routes (to be merged with the command service's in one process, or served alone).
pub fn router(state: ProjectionState) -> Router {
    Router::new()
        .route("/v1/plans", get(list_plans))
        .route("/v1/plans/{plan_id}/tasks", get(board))
        .route("/v1/plans/{plan_id}/appendix", get(appendix))
        .route("/v1/plans/{plan_id}/statistics", get(plan_statistics))
        .route("/v1/statistics/units", get(unit_statistics))
        .route("/v1/projections", get(projections))
        .with_state(state)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Wait until the read models have applied this global position.
    pub min_position: Option<u64>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct BoardQuery {
    pub section: Option<String>,
    pub lead_unit: Option<String>,
    /// not_started, in_progress, awaiting_confirmation, done, suspended, cancelled, transferred.
    pub progress: Option<String>,
    /// on_time, due_soon, overdue, done_on_time, done_late, no_deadline, not_applicable.
    pub timeliness: Option<String>,
    /// Tasks due on or after this date, `YYYY-MM-DD`.
    pub deadline_from: Option<String>,
    /// Tasks due on or before this date, `YYYY-MM-DD`.
    pub deadline_to: Option<String>,
    /// Text in the number, title, target or lead unit; case and diacritics are ignored ("khao sat" finds "khảo sát").
    pub q: Option<String>,
    /// The date timeliness is computed for, `YYYY-MM-DD`; today in Vietnam when absent.
    pub on: Option<String>,
    pub min_position: Option<u64>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AppendixParams {
    /// The cut-off date, `YYYY-MM-DD`; today in Vietnam when absent.
    pub as_of: Option<String>,
    /// What the ledger knew: an RFC 3339 instant, or a plain integer, a global position (the instant the event at
    /// that position was recorded); now when absent.
    pub known_at: Option<String>,
    /// json (default), csv or markdown.
    pub format: Option<String>,
    pub min_position: Option<u64>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatisticsQuery {
    pub on: Option<String>,
    pub plan_id: Option<String>,
    pub min_position: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AppendixView {
    pub plan_id: String,
    pub title: String,
    pub as_of: String,
    /// "dd/mm/yyyy", as the report's column head shows it.
    pub as_of_text: String,
    pub known_at: Option<String>,
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<AppendixRow>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlanStatistics {
    pub plan_id: String,
    pub on: String,
    #[serde(flatten)]
    pub statistics: Statistics,
    pub units: Vec<UnitStatistics>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectionStatus {
    pub model: String,
    pub checkpoint: u64,
    #[schema(value_type = Vec<Object>)]
    pub parked: Vec<crate::runtime::Parked>,
}

/// The plan catalogue.
#[utoipa::path(get, path = "/v1/plans", tag = "queries", params(ListQuery),
    responses((status = 200, body = Vec<PlanSummary>), (status = 503, body = Problem)))]
pub async fn list_plans(
    State(state): State<ProjectionState>,
    _: Authenticated,
    StrictQuery(query): StrictQuery<ListQuery>,
) -> Result<Json<Vec<PlanSummary>>, ApiError> {
    wait_for(&state, query.min_position).await?;
    Ok(Json(queries::list_plans(&state.db).await.map_err(query_error)?))
}

/// The task board of a plan: every task and indicator with progress and timeliness, filtered.
#[utoipa::path(get, path = "/v1/plans/{plan_id}/tasks", tag = "queries", params(("plan_id" = String, Path), BoardQuery),
    responses((status = 200, body = Vec<BoardTask>), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn board(
    State(state): State<ProjectionState>,
    _: Authenticated,
    Path(plan_id): Path<String>,
    StrictQuery(query): StrictQuery<BoardQuery>,
) -> Result<Json<Vec<BoardTask>>, ApiError> {
    let plan_id = plan_id_param(&plan_id)?;
    let filter = BoardFilter {
        section: query.section.clone(),
        lead_unit: query.lead_unit.clone(),
        progress: query.progress.as_deref().map(parse_progress).transpose()?,
        timeliness: query.timeliness.as_deref().map(parse_timeliness).transpose()?,
        deadline_from: query.deadline_from.as_deref().map(|value| date("deadline_from", value)).transpose()?,
        deadline_to: query.deadline_to.as_deref().map(|value| date("deadline_to", value)).transpose()?,
        text: query.q.clone().filter(|text| !text.trim().is_empty()),
    };
    let on = query.on.as_deref().map(|value| date("on", value)).transpose()?.unwrap_or_else(|| today(&state));
    wait_for(&state, query.min_position).await?;
    let board =
        queries::board(&state.db, &plan_id, &filter, on, state.config.due_soon_days).await.map_err(query_error)?;
    Ok(Json(board))
}

/// The appendix (Phụ lục) of a plan as of a cut-off date, as JSON, CSV or Markdown.
#[utoipa::path(get, path = "/v1/plans/{plan_id}/appendix", tag = "queries",
    params(("plan_id" = String, Path), AppendixParams),
    responses((status = 200, body = AppendixView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn appendix(
    State(state): State<ProjectionState>,
    _: Authenticated,
    Path(plan_id): Path<String>,
    StrictQuery(query): StrictQuery<AppendixParams>,
) -> Result<Response, ApiError> {
    let plan_id = plan_id_param(&plan_id)?;
    let format = match query.format.as_deref().unwrap_or("json") {
        format @ ("json" | "csv" | "markdown") => format,
        other => return Err(ApiError::invalid("format", format!("\"{other}\" is not one of json, csv, markdown"))),
    };
    let as_of =
        query.as_of.as_deref().map(|value| as_of_param("as_of", value)).transpose()?.unwrap_or_else(|| today(&state));
    let (known_at, known_at_position) = match query.known_at.as_deref() {
        Some(value) => {
            let (instant, position) = known_instant(&state, &plan_id, value).await?;
            (Some(instant), position)
        }
        None => (None, None),
    };
    wait_for(&state, query.min_position).await?;
    let plan = queries::plan(&state.db, &plan_id).await.map_err(query_error)?;
    let appendix_query =
        AppendixQuery { as_of, known_at, known_at_position, due_soon_days: state.config.due_soon_days };
    let rows = queries::appendix(&state.db, &plan_id, appendix_query).await.map_err(query_error)?;
    let view = AppendixView {
        plan_id,
        title: plan.title,
        as_of: as_of.to_string(),
        as_of_text: format_date_vn(as_of),
        known_at: query.known_at,
        rows,
    };
    Ok(match format {
        "csv" => text_response("text/csv; charset=utf-8", crate::render::csv(&view)),
        "markdown" => text_response("text/markdown; charset=utf-8", crate::render::markdown(&view)),
        _ => Json(view).into_response(),
    })
}

/// Counts of a plan's tasks by timeliness and progress, overall and per lead unit, on a date.
#[utoipa::path(get, path = "/v1/plans/{plan_id}/statistics", tag = "queries",
    params(("plan_id" = String, Path), StatisticsQuery),
    responses((status = 200, body = PlanStatistics), (status = 404, body = Problem)))]
pub async fn plan_statistics(
    State(state): State<ProjectionState>,
    _: Authenticated,
    Path(plan_id): Path<String>,
    StrictQuery(query): StrictQuery<StatisticsQuery>,
) -> Result<Json<PlanStatistics>, ApiError> {
    let plan_id = plan_id_param(&plan_id)?;
    if query.plan_id.is_some() {
        return Err(ApiError::invalid("plan_id", "the plan is in the path here"));
    }
    let on = query.on.as_deref().map(|value| date("on", value)).transpose()?.unwrap_or_else(|| today(&state));
    wait_for(&state, query.min_position).await?;
    let (statistics, units) =
        queries::plan_statistics(&state.db, &plan_id, on, state.config.due_soon_days).await.map_err(query_error)?;
    Ok(Json(PlanStatistics { plan_id, on: on.to_string(), statistics, units }))
}

/// Counts per lead unit, over every plan or one (`plan_id`), on a date.
#[utoipa::path(get, path = "/v1/statistics/units", tag = "queries", params(StatisticsQuery),
    responses((status = 200, body = Vec<UnitStatistics>)))]
pub async fn unit_statistics(
    State(state): State<ProjectionState>,
    _: Authenticated,
    StrictQuery(query): StrictQuery<StatisticsQuery>,
) -> Result<Json<Vec<UnitStatistics>>, ApiError> {
    let on = query.on.as_deref().map(|value| date("on", value)).transpose()?.unwrap_or_else(|| today(&state));
    let plan_id = query.plan_id.as_deref().map(plan_id_param).transpose()?;
    wait_for(&state, query.min_position).await?;
    let units = queries::unit_statistics(&state.db, plan_id.as_deref(), on, state.config.due_soon_days)
        .await
        .map_err(query_error)?;
    Ok(Json(units))
}

/// Each read model's checkpoint and parked events.
#[utoipa::path(get, path = "/v1/projections", tag = "queries", responses((status = 200, body = Vec<ProjectionStatus>)))]
pub async fn projections(
    State(state): State<ProjectionState>,
    _: Authenticated,
) -> Result<Json<Vec<ProjectionStatus>>, ApiError> {
    let mut statuses = Vec::new();
    for projector in state.projectors.iter() {
        statuses.push(ProjectionStatus {
            model: projector.name().to_owned(),
            checkpoint: projector.stored_checkpoint().await.map_err(ApiError::internal)?,
            parked: projector.parked().await.map_err(ApiError::internal)?,
        });
    }
    Ok(Json(statuses))
}

/// Waits until every read model has applied `min_position`, or answers 503 after the configured bound.
async fn wait_for(state: &ProjectionState, min_position: Option<u64>) -> Result<(), ApiError> {
    let Some(min_position) = min_position else {
        return Ok(());
    };
    let deadline = tokio::time::Instant::now() + state.config.min_position_timeout;
    for projector in state.projectors.iter() {
        let mut watch = projector.watch_checkpoint();
        loop {
            if *watch.borrow_and_update() >= min_position {
                break;
            }
            // Another replica may have applied it: the stored checkpoint is the truth.
            if projector.stored_checkpoint().await.map_err(ApiError::internal)? >= min_position {
                break;
            }
            let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
            if remaining.is_zero() {
                return Err(ApiError::Unavailable(format!(
                    "read model {} has not reached position {min_position} yet (at {}); retry shortly",
                    projector.name(),
                    *watch.borrow()
                )));
            }
            let _ = tokio::time::timeout(remaining.min(Duration::from_millis(50)), watch.changed()).await;
        }
    }
    Ok(())
}

fn today(state: &ProjectionState) -> Date {
    civil_date_at(state.clock.now())
}

/// The instant of a `known_at`: itself, or for a global position the instant the event at that position was
/// recorded, with the position (reports and changes are bounded by both; a task assigned in the same microsecond
/// just after the position would count as known).
async fn known_instant(
    state: &ProjectionState,
    plan_id: &str,
    value: &str,
) -> Result<(OffsetDateTime, Option<u64>), ApiError> {
    let position = match known_at_or_position_param("known_at", value)? {
        KnownAtParam::Instant(instant) => return Ok((instant, None)),
        KnownAtParam::Position(position) => position,
    };
    let store = state
        .projectors
        .first()
        .map(|projector| projector.store().clone())
        .ok_or_else(|| ApiError::Unavailable("no read model is running".to_owned()))?;
    let head = store.head().await.map_err(ApiError::internal)?.position;
    if position > head {
        return Err(ApiError::invalid(
            "known_at",
            format!("position {position} is beyond the end of the log (position {head})"),
        ));
    }
    let event = store
        .read_all(position.saturating_sub(1), 1)
        .await
        .map_err(ApiError::internal)?
        .into_iter()
        .next()
        .filter(|_| position > 0)
        .ok_or_else(|| ApiError::NotFound(format!("plan {plan_id} did not exist yet at position {position}")))?;
    Ok((event.recorded_at, Some(position)))
}

fn date(field: &str, value: &str) -> Result<Date, ApiError> {
    date_param(field, value)
}

fn plan_id_param(value: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(value)
        .map(|id| id.to_string())
        .map_err(|_| ApiError::invalid("plan_id", format!("\"{value}\" is not a UUID")))
}

fn parse_progress(value: &str) -> Result<Progress, ApiError> {
    serde_json::from_value(serde_json::Value::String(value.to_owned())).map_err(|_| {
        ApiError::invalid(
            "progress",
            "must be one of not_started, in_progress, awaiting_confirmation, done, suspended, cancelled, transferred",
        )
    })
}

fn parse_timeliness(value: &str) -> Result<String, ApiError> {
    const CODES: [&str; 7] =
        ["on_time", "due_soon", "overdue", "done_on_time", "done_late", "no_deadline", "not_applicable"];
    if CODES.contains(&value) {
        Ok(value.to_owned())
    } else {
        Err(ApiError::invalid("timeliness", format!("must be one of {}", CODES.join(", "))))
    }
}

fn query_error(error: QueryError) -> ApiError {
    match error {
        QueryError::NotFound(what) => ApiError::NotFound(format!("{what} not found")),
        QueryError::Db(error) => ApiError::internal(error),
    }
}

fn text_response(content_type: &'static str, body: String) -> Response {
    let mut response = body.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
