//! Diffs between two points of one axis: a task field by field (`GET /v1/tasks/{task_id}/diff`) and, in
//! `appendix`, a plan's appendix row by row.
//!
//! **Axes.** `from` and `to` are both business dates (`YYYY-MM-DD`: the `as_of` axis, what was reported as of
//! each cut-off, as known now or at `known_at`) or both points of knowledge (an RFC 3339 instant or a global
//! position: the `known` axis, what the ledger knew then about the cut-off `as_of`, or about everything). The
//! values say which axis; `axis=as_of|known` may say it explicitly.
//!
//! **Who, when, why.** The events between the two points (recorded in between on the known axis; dated in
//! between on the as_of axis) are applied one by one, in log order (by date, then log order, on the as_of axis);
//! each field change names the events that changed that field, with their actor, `recorded_at`, reason and
//! documents.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::Json;
use domain::ids::TaskId;
use domain::task::{Recorded, Task, TaskEvent};
use event_store::RecordedEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::audit::{record_read, ReadRecord};
use crate::axes::{self, Axis, Point};
use crate::history::{self, HistoryEntry};
use crate::ledger::{effective, known, recorded_of, ViewFilter};
use crate::AppState;
use http_api::error::{ApiError, Problem};
use http_api::extract::{Authenticated, StrictQuery};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DiffQuery {
    /// The earlier point: a date `YYYY-MM-DD` (as_of axis), or an RFC 3339 instant or a global position (known axis).
    pub from: Option<String>,
    /// The later point, of the same axis.
    pub to: Option<String>,
    /// `as_of` or `known`; inferred from `from` and `to` when absent.
    pub axis: Option<String>,
    /// On the known axis: the business cut-off both sides are read as of (all dates when absent).
    pub as_of: Option<String>,
    /// On the as_of axis: what the ledger knew (an instant or a position; now when absent).
    pub known_at: Option<String>,
}

/// The two points of a diff and the other axis, fixed.
#[derive(Debug, Clone, Copy)]
pub struct DiffPoints {
    pub from: Point,
    pub to: Point,
    /// The filter both sides share (the fixed axis).
    pub base: ViewFilter,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TaskDiff {
    pub task_id: Uuid,
    /// `as_of` or `known`.
    pub axis: String,
    pub from: String,
    pub to: String,
    pub as_of: Option<String>,
    pub known_at: Option<String>,
    /// Whether the task existed at `from` (when not, every field is new).
    pub existed_at_from: bool,
    pub changes: Vec<FieldChange>,
    /// The events between the two points, in the order they were applied, each naming the fields it changed.
    pub events: Vec<ChangeEvent>,
}

/// One field that differs: its path in the task (`reports[<report_id>].current.summary`), both values and the
/// positions of the events that changed it.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldChange {
    pub field: String,
    #[schema(value_type = Object)]
    pub from: Value,
    #[schema(value_type = Object)]
    pub to: Value,
    pub changed_by: Vec<u64>,
}

/// An event between the two points: who, when, why, and what it changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeEvent {
    #[serde(flatten)]
    pub entry: HistoryEntry,
    pub changed_fields: Vec<String>,
}

/// Field-level differences of a task between two points of one axis, with the events that made them.
#[utoipa::path(get, path = "/v1/tasks/{task_id}/diff", tag = "queries", params(("task_id" = Uuid, Path), DiffQuery),
    responses((status = 200, body = TaskDiff), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn task_diff(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(task_id): Path<Uuid>,
    StrictQuery(query): StrictQuery<DiffQuery>,
) -> Result<Json<TaskDiff>, ApiError> {
    let points = parse_points(&state, &query).await?;
    let events = state.ledger.task_events(TaskId(task_id)).await?;
    let diff = diff_task(&events, points)?;
    let Some(plan_id) = diff.to.as_ref().map(|task| task.plan_id) else {
        let to = query.to.as_deref().unwrap_or_default();
        return Err(ApiError::NotFound(format!("task {task_id} did not exist at {to}")));
    };
    let changes = field_changes(&diff);
    let view = TaskDiff {
        task_id,
        axis: axis_name(points.from.axis()).to_owned(),
        from: query.from.clone().unwrap_or_default(),
        to: query.to.clone().unwrap_or_default(),
        as_of: query.as_of.clone(),
        known_at: query.known_at.clone(),
        existed_at_from: diff.from.is_some(),
        changes,
        events: change_events(&events, &diff),
    };
    let resource = format!("/v1/tasks/{task_id}/diff");
    record_read(&state, &actor, ReadRecord::new(&resource, diff_query(&query), Some(plan_id), view.changes.len()))
        .await?;
    Ok(Json(view))
}

/// Parses `from`, `to`, `axis` and the fixed axis; refuses mixed axes, a `from` after `to` and a position beyond
/// the end of the log.
pub async fn parse_points(state: &AppState, query: &DiffQuery) -> Result<DiffPoints, ApiError> {
    let axis = axes::parse_axis(query.axis.as_deref())?;
    let from = query.from.as_deref().ok_or_else(|| ApiError::invalid("from", "is required"))?;
    let to = query.to.as_deref().ok_or_else(|| ApiError::invalid("to", "is required"))?;
    let from = axes::parse_point("from", from, axis)?;
    let to = axes::parse_point("to", to, axis.or(Some(from.axis())))?;
    match to.is_after(from) {
        None => {
            return Err(ApiError::invalid(
                "to",
                "must be of the same kind as from (two dates, two instants or two positions)",
            ))
        }
        Some(false) if from != to => return Err(ApiError::invalid("from", "must not be after to")),
        _ => {}
    }
    let base = match from.axis() {
        Axis::Known => {
            if query.known_at.is_some() {
                return Err(ApiError::invalid(
                    "known_at",
                    "on the known axis, from and to are the points of knowledge",
                ));
            }
            axes::view_filter(query.as_of.as_deref(), None)?
        }
        Axis::AsOf => {
            if query.as_of.is_some() {
                return Err(ApiError::invalid("as_of", "on the as_of axis, from and to are the dates"));
            }
            axes::view_filter(None, query.known_at.as_deref())?
        }
    };
    let head = state.ledger.store().head().await?.position;
    axes::check_position("from", from.filter(base), head)?;
    axes::check_position("to", to.filter(base), head)?;
    axes::check_position("known_at", base, head)?;
    Ok(DiffPoints { from, to, base })
}

/// A task at both points and the states in between, one per event applied.
pub struct Applied<'e> {
    pub from: Option<Task>,
    pub to: Option<Task>,
    /// Each event between the points with the fields it changed.
    pub steps: Vec<(&'e RecordedEvent, Vec<String>)>,
    from_fields: BTreeMap<String, Value>,
    to_fields: BTreeMap<String, Value>,
    field_events: BTreeMap<String, Vec<u64>>,
}

/// The most events a diff applies one by one (each step folds the task again, so the work grows with the square).
pub const MAX_EVENTS_BETWEEN: usize = 1_000;

/// Applies the events between the two points one by one; refuses more than [`MAX_EVENTS_BETWEEN`].
pub fn diff_task(events: &[(TaskEvent, RecordedEvent)], points: DiffPoints) -> Result<Applied<'_>, ApiError> {
    let from_filter = points.from.filter(points.base);
    let mut selected: Vec<bool> = events.iter().map(|(event, stored)| included(event, stored, from_filter)).collect();
    let between = between_indices(events, points);
    if between.len() > MAX_EVENTS_BETWEEN {
        return Err(ApiError::invalid(
            "from",
            format!(
                "{} events of one task lie between from and to; at most {MAX_EVENTS_BETWEEN} are diffed at once: \
                 narrow the range",
                between.len()
            ),
        ));
    }
    let from = fold_selected(events, &selected);
    let from_fields = flat(from.as_ref());
    let mut previous = from_fields.clone();
    let mut steps = Vec::new();
    let mut field_events: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for index in between {
        selected[index] = true;
        let fields = flat(fold_selected(events, &selected).as_ref());
        let changed = changed_fields(&previous, &fields);
        for field in &changed {
            field_events.entry(field.clone()).or_default().push(events[index].1.global_position);
        }
        steps.push((&events[index].1, changed));
        previous = fields;
    }
    let to = fold_selected(events, &selected);
    Ok(Applied { from, to_fields: previous, to, steps, from_fields, field_events })
}

/// The indices of the events between the two points: included at `to`, not at `from`; in log order, or by
/// business date then log order on the as_of axis.
pub fn between_indices(events: &[(TaskEvent, RecordedEvent)], points: DiffPoints) -> Vec<usize> {
    let from_filter = points.from.filter(points.base);
    let to_filter = points.to.filter(points.base);
    let mut between: Vec<usize> = (0..events.len())
        .filter(|&index| {
            let (event, stored) = &events[index];
            !included(event, stored, from_filter) && included(event, stored, to_filter)
        })
        .collect();
    if points.from.axis() == Axis::AsOf {
        between.sort_by_key(|&index| (events[index].0.effective_date(), events[index].1.global_position));
    }
    between
}

fn included(event: &TaskEvent, stored: &RecordedEvent, filter: ViewFilter) -> bool {
    known(stored, filter) && effective(event, filter)
}

/// Every field whose value differs between the two points.
pub fn field_changes(applied: &Applied<'_>) -> Vec<FieldChange> {
    changed_fields(&applied.from_fields, &applied.to_fields)
        .into_iter()
        .map(|field| FieldChange {
            from: applied.from_fields.get(&field).cloned().unwrap_or(Value::Null),
            to: applied.to_fields.get(&field).cloned().unwrap_or(Value::Null),
            changed_by: applied.field_events.get(&field).cloned().unwrap_or_default(),
            field,
        })
        .collect()
}

/// The events between the two points as history entries (read against the whole stream, so that a correction
/// names the version it replaces), with the fields each changed.
pub fn change_events(events: &[(TaskEvent, RecordedEvent)], applied: &Applied<'_>) -> Vec<ChangeEvent> {
    let stored: Vec<RecordedEvent> = events.iter().map(|(_, stored)| stored.clone()).collect();
    let mut entries = history::entries(&stored);
    applied
        .steps
        .iter()
        .filter_map(|(event, changed_fields)| {
            let index = entries.iter().position(|entry| entry.position == event.global_position)?;
            Some(ChangeEvent { entry: entries.swap_remove(index), changed_fields: changed_fields.clone() })
        })
        .collect()
}

pub fn axis_name(axis: Axis) -> &'static str {
    match axis {
        Axis::AsOf => "as_of",
        Axis::Known => "known",
    }
}

pub fn diff_query(query: &DiffQuery) -> String {
    [
        ("from", &query.from),
        ("to", &query.to),
        ("axis", &query.axis),
        ("as_of", &query.as_of),
        ("known_at", &query.known_at),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.as_ref().map(|value| format!("{name}={value}")))
    .collect::<Vec<_>>()
    .join("&")
}

fn fold_selected(events: &[(TaskEvent, RecordedEvent)], selected: &[bool]) -> Option<Task> {
    let recorded: Vec<(&TaskEvent, Recorded)> = events
        .iter()
        .zip(selected)
        .filter(|(_, selected)| **selected)
        .map(|((event, stored), _)| (event, recorded_of(stored)))
        .collect();
    Task::fold(recorded.iter().map(|(event, recorded)| (*event, recorded)))
}

/// The task as leaf fields. Reports and extensions are keyed by their ids (`reports[<id>].current.summary`); the
/// fold's bookkeeping (`version`, and each report's `versions`, which history lists) is left out.
fn flat(task: Option<&Task>) -> BTreeMap<String, Value> {
    let mut fields = BTreeMap::new();
    if let Some(task) = task {
        if let Ok(value) = serde_json::to_value(task) {
            flatten("", &value, &mut fields);
        }
    }
    fields
}

fn flatten(prefix: &str, value: &Value, out: &mut BTreeMap<String, Value>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                if key == "version" || key == "versions" {
                    continue;
                }
                let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                flatten(&path, value, out);
            }
        }
        Value::Array(items) if !items.is_empty() && items.iter().all(|item| item_key(item).is_some()) => {
            for item in items {
                let key = item_key(item).unwrap_or_default();
                flatten(&format!("{prefix}[{key}]"), item, out);
            }
        }
        leaf => {
            out.insert(prefix.to_owned(), leaf.clone());
        }
    }
}

fn item_key(item: &Value) -> Option<&str> {
    item.get("report_id").or_else(|| item.get("extension_id")).and_then(Value::as_str)
}

fn changed_fields(before: &BTreeMap<String, Value>, after: &BTreeMap<String, Value>) -> Vec<String> {
    let mut fields: Vec<String> = after
        .iter()
        .filter(|(field, value)| before.get(*field) != Some(value))
        .map(|(field, _)| field.clone())
        .collect();
    fields.extend(before.keys().filter(|field| !after.contains_key(*field)).cloned());
    fields.sort();
    fields
}
