//! The appendix (Phụ lục) computed from the event store itself, for what must not depend on a read model: the
//! content of an issued report (and its hash), its later verification, and the row-by-row diff of an appendix
//! between two points (`GET /v1/plans/{plan_id}/appendix/diff`). The projection service serves the same rows from
//! its read models for everyday reads.
//!
//! **Canonical form.** The content hash of an appendix is the lowercase hex SHA-256 of the UTF-8 bytes of the
//! RFC 8785 (JCS) serialisation of a JSON array holding, for each row in order, the object
//! `{"content", "deadline_text", "kind", "result_text", "target_text", "tt"}` (the printed columns; `kind` is
//! `section`, `task` or `indicator`). Status columns, computed for a date with a configurable warning window, are
//! left out. See `docs/issued-reports.md`.

use axum::extract::{Path, State};
use axum::Json;
use domain::appendix::{self, AppendixRow};
use domain::ids::PlanId;
use domain::plan::Plan;
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use time::Date;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::audit::{record_read, ReadRecord};
use crate::axes::Point;
use crate::diff::{axis_name, diff_query, parse_points, DiffPoints, DiffQuery};
use crate::history::HistoryEntry;
use crate::ledger::ViewFilter;
use crate::AppState;
use http_api::error::{ApiError, Problem};
use http_api::extract::{Authenticated, StrictQuery};

/// The appendix of a plan as of `cut_off` under `filter` (its known axis), or `None` when the plan did not exist.
pub async fn compute(
    state: &AppState,
    plan_id: PlanId,
    cut_off: Date,
    filter: ViewFilter,
) -> Result<Option<(Plan, Vec<AppendixRow>)>, ApiError> {
    let filter = ViewFilter { as_of: Some(cut_off), ..filter };
    let Some((plan, _)) = state.ledger.load_plan(plan_id, filter).await? else {
        return Ok(None);
    };
    let tasks = state.ledger.load_plan_tasks(&plan, filter).await?;
    let rows = appendix::build(&plan, &tasks, cut_off, state.config.due_soon_days);
    Ok(Some((plan, rows)))
}

/// The canonical text of the rows that the content hash covers.
pub fn canonical_rows(rows: &[AppendixRow]) -> String {
    let rows: Vec<Value> = rows
        .iter()
        .map(|row| {
            json!({
                "tt": row.tt,
                "kind": row.kind,
                "content": row.content,
                "target_text": row.target_text,
                "deadline_text": row.deadline_text,
                "result_text": row.result_text,
            })
        })
        .collect();
    event_store::canonical::canonical_json(&Value::Array(rows))
}

/// Lowercase hex SHA-256 of the rows' canonical text.
pub fn content_sha256(rows: &[AppendixRow]) -> String {
    hex::encode(Sha256::digest(canonical_rows(rows).as_bytes()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AppendixDiff {
    pub plan_id: Uuid,
    pub axis: String,
    pub from: String,
    pub to: String,
    pub as_of: Option<String>,
    pub known_at: Option<String>,
    pub from_sha256: String,
    pub to_sha256: String,
    /// Only the rows that differ, in the order of the later appendix (removed rows last).
    pub rows: Vec<RowDiff>,
}

/// One row that was added, removed or changed, with its changed columns and the events that changed its node.
#[derive(Debug, Serialize, ToSchema)]
pub struct RowDiff {
    pub tt: String,
    pub task_id: Option<Uuid>,
    /// `added`, `removed` or `changed`.
    pub change: String,
    pub columns: Vec<ColumnChange>,
    pub events: Vec<HistoryEntry>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ColumnChange {
    pub column: String,
    #[schema(value_type = Object)]
    pub from: Value,
    #[schema(value_type = Object)]
    pub to: Value,
}

/// Row-by-row differences of a plan's appendix between two points of one axis, each row with the events that
/// changed its task in between (who, when, why).
#[utoipa::path(get, path = "/v1/plans/{plan_id}/appendix/diff", tag = "queries",
    params(("plan_id" = Uuid, Path), DiffQuery),
    responses((status = 200, body = AppendixDiff), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn appendix_diff(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(plan_id): Path<Uuid>,
    StrictQuery(query): StrictQuery<DiffQuery>,
) -> Result<Json<AppendixDiff>, ApiError> {
    let points = parse_points(&state, &query).await?;
    let plan_id = PlanId(plan_id);
    let today = state.today();
    let side = |point: Point| {
        let filter = point.filter(points.base);
        (filter.as_of.unwrap_or(today), filter)
    };
    let (from_cut_off, from_filter) = side(points.from);
    let (to_cut_off, to_filter) = side(points.to);
    let from_rows =
        compute(&state, plan_id, from_cut_off, from_filter).await?.map(|(_, rows)| rows).unwrap_or_default();
    let (_, to_rows) = compute(&state, plan_id, to_cut_off, to_filter).await?.ok_or_else(|| {
        ApiError::NotFound(format!("plan {plan_id} did not exist at {}", query.to.as_deref().unwrap_or_default()))
    })?;
    let rows = row_diffs(&state, &from_rows, &to_rows, points).await?;
    let view = AppendixDiff {
        plan_id: plan_id.0,
        axis: axis_name(points.from.axis()).to_owned(),
        from: query.from.clone().unwrap_or_default(),
        to: query.to.clone().unwrap_or_default(),
        as_of: query.as_of.clone(),
        known_at: query.known_at.clone(),
        from_sha256: content_sha256(&from_rows),
        to_sha256: content_sha256(&to_rows),
        rows,
    };
    let resource = format!("/v1/plans/{plan_id}/appendix/diff");
    record_read(&state, &actor, ReadRecord::new(&resource, diff_query(&query), Some(plan_id), view.rows.len())).await?;
    Ok(Json(view))
}

/// The rows that differ. Rows are matched by task id (a section row by its numeral).
pub async fn row_diffs(
    state: &AppState,
    from_rows: &[AppendixRow],
    to_rows: &[AppendixRow],
    points: DiffPoints,
) -> Result<Vec<RowDiff>, ApiError> {
    let key = |row: &AppendixRow| match row.task_id {
        Some(task_id) => task_id.to_string(),
        None => format!("section {}", row.tt),
    };
    let mut diffs = Vec::new();
    for row in to_rows {
        let before = from_rows.iter().find(|other| key(other) == key(row));
        let columns = column_changes(before, Some(row));
        if columns.is_empty() {
            continue;
        }
        diffs.push(RowDiff {
            tt: row.tt.clone(),
            task_id: row.task_id.map(|task_id| task_id.0),
            change: if before.is_some() { "changed" } else { "added" }.to_owned(),
            columns,
            events: node_events(state, row, points).await?,
        });
    }
    for row in from_rows.iter().filter(|row| !to_rows.iter().any(|other| key(other) == key(row))) {
        diffs.push(RowDiff {
            tt: row.tt.clone(),
            task_id: row.task_id.map(|task_id| task_id.0),
            change: "removed".to_owned(),
            columns: column_changes(Some(row), None),
            events: node_events(state, row, points).await?,
        });
    }
    Ok(diffs)
}

fn column_changes(before: Option<&AppendixRow>, after: Option<&AppendixRow>) -> Vec<ColumnChange> {
    let columns = |row: Option<&AppendixRow>| -> Vec<(&'static str, Value)> {
        let value = |f: fn(&AppendixRow) -> Value| row.map(f).unwrap_or(Value::Null);
        vec![
            ("tt", value(|row| json!(row.tt))),
            ("content", value(|row| json!(row.content))),
            ("target_text", value(|row| json!(row.target_text))),
            ("deadline_text", value(|row| json!(row.deadline_text))),
            ("result_text", value(|row| json!(row.result_text))),
            ("progress", value(|row| json!(row.progress))),
            ("timeliness", value(|row| json!(row.timeliness))),
        ]
    };
    columns(before)
        .into_iter()
        .zip(columns(after))
        .filter(|((_, from), (_, to))| from != to)
        .map(|((column, from), (_, to))| ColumnChange { column: column.to_owned(), from, to })
        .collect()
}

/// The events of a row's task between the two points.
async fn node_events(state: &AppState, row: &AppendixRow, points: DiffPoints) -> Result<Vec<HistoryEntry>, ApiError> {
    let Some(task_id) = row.task_id else {
        return Ok(Vec::new());
    };
    let events = state.ledger.task_events(task_id).await?;
    let between = crate::diff::between_indices(&events, points);
    let stored: Vec<_> = events.iter().map(|(_, stored)| stored.clone()).collect();
    let mut entries = crate::history::entries(&stored);
    Ok(between
        .into_iter()
        .filter_map(|index| {
            let position = stored[index].global_position;
            entries.iter().position(|entry| entry.position == position).map(|found| entries.swap_remove(found))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use domain::appendix::RowKind;

    use super::*;

    fn row(tt: &str, kind: RowKind, content: &str, target: &str, deadline: &str, result: &str) -> AppendixRow {
        AppendixRow {
            tt: tt.to_owned(),
            kind,
            task_id: None,
            content: content.to_owned(),
            target_text: target.to_owned(),
            deadline_text: deadline.to_owned(),
            result_text: result.to_owned(),
            progress: None,
            timeliness: None,
        }
    }

    /// The worked example of `docs/issued-reports.md`.
    #[test]
    fn the_content_hash_is_the_documented_one() {
        let rows = [
            row("I", RowKind::Section, "NHIỆM VỤ TRỌNG TÂM", "", "", ""),
            row(
                "1",
                RowKind::Task,
                "Nhiệm vụ 1: Hỗ trợ 03 doanh nghiệp",
                "03 doanh nghiệp được hỗ trợ",
                "Tháng 11/2024",
                "Đã khảo sát 25/25 doanh nghiệp",
            ),
        ];
        assert_eq!(
            canonical_rows(&rows),
            r#"[{"content":"NHIỆM VỤ TRỌNG TÂM","deadline_text":"","kind":"section","result_text":"","target_text":"","tt":"I"},{"content":"Nhiệm vụ 1: Hỗ trợ 03 doanh nghiệp","deadline_text":"Tháng 11/2024","kind":"task","result_text":"Đã khảo sát 25/25 doanh nghiệp","target_text":"03 doanh nghiệp được hỗ trợ","tt":"1"}]"#
        );
        assert_eq!(content_sha256(&rows), "8b46c0452367b137dc0cbd2fcaf564f4257e71a333b6cbf3a57dd959b87ec07d");
    }
}
