//! Queries on the read models: the plan catalogue, the task board with its filters, the appendix of a plan as of
//! any cut-off date (and as known at an instant), and statistics. Status dimensions are computed here, for the
//! date asked, with the domain's own rules (`progress_of`, `Timeliness::compute`, `appendix::deadline_text`).

use std::collections::HashMap;

use domain::appendix::{deadline_text, node_content, section_row, AppendixRow, RowKind};
use domain::deadline::Deadline;
use domain::numbering::TaskNumber;
use domain::plan::Section;
use domain::status::{Progress, ReportedProgress, Timeliness};
use domain::task::{progress_of, Lifecycle};
use domain::text::fold_for_search;
use serde::Serialize;
use sqlx::Row;
use time::{Date, OffsetDateTime};
use utoipa::ToSchema;

use crate::db::{table, DbError, ReadDb};
use crate::models::tasks::{task_row, TaskRow, TASK_COLUMNS};
use crate::models::{plans, tasks};

/// A plan in the catalogue.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanSummary {
    pub plan_id: String,
    pub agency: String,
    pub year: i64,
    pub title: String,
    pub n_nodes: i64,
    /// ISO 8601 with +07:00.
    pub created_at: String,
    pub created_by: String,
    #[serde(skip)]
    pub sections: Vec<Section>,
}

/// A row of the task board.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BoardTask {
    pub task_id: String,
    pub plan_id: String,
    pub section: String,
    pub number: String,
    pub parent_id: Option<String>,
    pub title: String,
    pub content: String,
    pub target_text: String,
    pub lead_unit: String,
    pub coordinating_units: Vec<String>,
    pub deadline: Option<String>,
    pub deadline_text: String,
    pub original_deadline: Option<String>,
    pub due_date: Option<String>,
    #[schema(value_type = String)]
    pub progress: Progress,
    #[schema(value_type = Object)]
    pub timeliness: Timeliness,
    pub n_reports: i64,
    pub last_report_as_of: Option<String>,
    pub version: i64,
}

/// Filters of the task board; every one is optional.
#[derive(Debug, Clone, Default)]
pub struct BoardFilter {
    pub section: Option<String>,
    pub lead_unit: Option<String>,
    pub progress: Option<Progress>,
    /// A timeliness code: `on_time`, `due_soon`, `overdue`, `done_on_time`, `done_late`, `no_deadline`, `not_applicable`.
    pub timeliness: Option<String>,
    pub deadline_from: Option<Date>,
    pub deadline_to: Option<Date>,
    /// Text that must appear in the number, title, target or lead unit, ignoring case and diacritics.
    pub text: Option<String>,
}

/// Counts of a plan's or a unit's tasks on a date.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Statistics {
    pub n_nodes: u64,
    pub by_timeliness: HashMap<String, u64>,
    pub by_progress: HashMap<String, u64>,
    /// Done on time / all done, when anything is done.
    pub on_time_completion_rate: Option<f64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UnitStatistics {
    pub unit: String,
    #[serde(flatten)]
    pub statistics: Statistics,
}

/// What the appendix is computed for.
#[derive(Debug, Clone, Copy)]
pub struct AppendixQuery {
    pub as_of: Date,
    pub known_at: Option<OffsetDateTime>,
    /// With `known_at` the instant of the event at this position: reports and changes recorded after the position
    /// are left out even when recorded in the same instant.
    pub known_at_position: Option<u64>,
    pub due_soon_days: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("{0} not found")]
    NotFound(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for QueryError {
    fn from(error: sqlx::Error) -> Self {
        QueryError::Db(DbError::Sql(error))
    }
}

pub async fn list_plans(db: &ReadDb) -> Result<Vec<PlanSummary>, QueryError> {
    let plans = table(plans::NAME, db.generation(plans::NAME).await?);
    let rows = sqlx::query(&format!(
        "SELECT plan_id, agency, year, title, n_nodes, created_at, created_by, sections FROM {plans} ORDER BY position"
    ))
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(plan_summary).collect()
}

pub async fn plan(db: &ReadDb, plan_id: &str) -> Result<PlanSummary, QueryError> {
    let plans = table(plans::NAME, db.generation(plans::NAME).await?);
    let row = sqlx::query(&format!(
        "SELECT plan_id, agency, year, title, n_nodes, created_at, created_by, sections FROM {plans} WHERE plan_id = $1"
    ))
    .bind(plan_id.to_owned())
    .fetch_optional(db.pool())
    .await?
    .ok_or_else(|| QueryError::NotFound(format!("plan {plan_id}")))?;
    plan_summary(&row)
}

/// The task board of a plan on a date.
pub async fn board(
    db: &ReadDb,
    plan_id: &str,
    filter: &BoardFilter,
    on: Date,
    due_soon_days: i64,
) -> Result<Vec<BoardTask>, QueryError> {
    plan(db, plan_id).await?;
    let tasks = plan_tasks(db, plan_id, None).await?;
    let has_children = parents(tasks.iter().map(|task| task.parent_id.as_ref()));
    let folded_text = filter.text.as_deref().map(fold_for_search);
    let board = tasks
        .iter()
        .filter(|task| filter.section.as_deref().is_none_or(|section| task.section.eq_ignore_ascii_case(section)))
        .filter(|task| filter.lead_unit.as_deref().is_none_or(|unit| task.lead_unit.eq_ignore_ascii_case(unit)))
        .filter(|task| in_deadline_range(task, filter))
        .filter(|task| folded_text.as_deref().is_none_or(|text| task.search_text.contains(text)))
        .map(|task| board_task(task, has_children.contains(&task.task_id), on, due_soon_days))
        .filter(|task| filter.progress.is_none_or(|progress| task.progress == progress))
        .filter(|task| filter.timeliness.as_deref().is_none_or(|code| task.timeliness.code() == code))
        .collect();
    Ok(board)
}

/// Statistics of a plan on a date: overall and per lead unit.
pub async fn plan_statistics(
    db: &ReadDb,
    plan_id: &str,
    on: Date,
    due_soon_days: i64,
) -> Result<(Statistics, Vec<UnitStatistics>), QueryError> {
    let board = board(db, plan_id, &BoardFilter::default(), on, due_soon_days).await?;
    Ok((statistics(board.iter()), per_unit(&board)))
}

/// Statistics per lead unit over every plan (or one), on a date.
pub async fn unit_statistics(
    db: &ReadDb,
    plan_id: Option<&str>,
    on: Date,
    due_soon_days: i64,
) -> Result<Vec<UnitStatistics>, QueryError> {
    let plan_ids: Vec<String> = match plan_id {
        Some(plan_id) => vec![plan_id.to_owned()],
        None => list_plans(db).await?.into_iter().map(|plan| plan.plan_id).collect(),
    };
    let mut board = Vec::new();
    for plan_id in plan_ids {
        board.extend(crate::queries::board(db, &plan_id, &BoardFilter::default(), on, due_soon_days).await?);
    }
    Ok(per_unit(&board))
}

/// The appendix of a plan as of a cut-off date, as known at an instant (now when `known_at` is absent).
pub async fn appendix(db: &ReadDb, plan_id: &str, query: AppendixQuery) -> Result<Vec<AppendixRow>, QueryError> {
    let plan = plan(db, plan_id).await?;
    let known_at = query.known_at.map(event_store::canonical::format_recorded_at);
    if let Some(known_at) = &known_at {
        let created = plan_created_at_utc(db, plan_id).await?;
        if created.as_str() > known_at.as_str() {
            return Err(QueryError::NotFound(format!("plan {plan_id} as known at {known_at} (it was created later)")));
        }
    }
    let generation = db.generation(tasks::NAME).await?;
    let as_of = query.as_of.to_string();
    // Three independent reads, each on a connection of its own: the answer waits for the slowest, not the sum.
    let (tasks, changes, latest) = tokio::try_join!(
        appendix_nodes(db, generation, plan_id, known_at.as_deref()),
        plan_changes(
            db,
            generation,
            plan_id,
            &as_of,
            Known { at: known_at.as_deref(), position: query.known_at_position }
        ),
        latest_reports(
            db,
            generation,
            plan_id,
            &as_of,
            Known { at: known_at.as_deref(), position: query.known_at_position }
        ),
    )?;
    let has_children = parents(tasks.iter().map(|task| task.parent_id.as_ref()));
    let mut rows = Vec::with_capacity(tasks.len() + plan.sections.len());
    for section in &plan.sections {
        rows.push(section_row(section));
        for task in tasks.iter().filter(|task| task.section == section.code.as_str()) {
            let changes = changes.get(&task.task_id).map(Vec::as_slice).unwrap_or_default();
            let state = AsOfState::fold(task.original_deadline.as_deref(), changes);
            let report = latest.get(&task.task_id);
            let progress = progress_of(state.lifecycle, report.map(|report| report.progress));
            let deadline = state.deadline;
            let timeliness =
                Timeliness::compute(deadline.as_ref(), progress, state.completed_on, query.as_of, query.due_soon_days);
            let number = TaskNumber::parse(&task.number).unwrap_or_else(|_| TaskNumber::parse("1").expect("valid"));
            rows.push(AppendixRow {
                tt: task.number.clone(),
                kind: if number.is_indicator() { RowKind::Indicator } else { RowKind::Task },
                task_id: uuid::Uuid::parse_str(&task.task_id).ok().map(domain::ids::TaskId),
                content: node_content(&number, &task.title),
                target_text: task.target_text.clone(),
                deadline_text: deadline_text(deadline.as_ref(), has_children.contains(&task.task_id)),
                result_text: report.map(|report| report.summary.clone()).unwrap_or_default(),
                progress: Some(progress),
                timeliness: Some(timeliness),
            });
        }
    }
    Ok(rows)
}

/// What the appendix shows of a task or an indicator as assigned; the rest comes from its changes and reports.
struct AppendixNode {
    task_id: String,
    section: String,
    number: String,
    parent_id: Option<String>,
    title: String,
    target_text: String,
    original_deadline: Option<String>,
}

/// A task's lifecycle, deadline and completion date as of the cut-off, from its changes.
struct AsOfState {
    lifecycle: Lifecycle,
    deadline: Option<Deadline>,
    completed_on: Option<Date>,
}

struct Change {
    lifecycle: Option<String>,
    deadline: Option<String>,
    completed_on: Option<String>,
}

struct LatestReport {
    summary: String,
    progress: Option<ReportedProgress>,
}

impl AsOfState {
    fn fold(original_deadline: Option<&str>, changes: &[Change]) -> AsOfState {
        let mut state = AsOfState {
            lifecycle: Lifecycle::Open,
            deadline: original_deadline.and_then(|code| Deadline::parse_code(code).ok()),
            completed_on: None,
        };
        for change in changes {
            if let Some(lifecycle) = change.lifecycle.as_deref().and_then(Lifecycle::parse) {
                // As the domain folds a task: the completion date is the one of a completion report in force at
                // the cut-off, cleared when the task opens again and kept by every other decision.
                match lifecycle {
                    Lifecycle::AwaitingConfirmation => {
                        state.completed_on =
                            change.completed_on.as_deref().and_then(|date| domain::deadline::parse_date_iso(date).ok());
                    }
                    Lifecycle::Open => state.completed_on = None,
                    _ => {}
                }
                state.lifecycle = lifecycle;
            }
            if let Some(deadline) = change.deadline.as_deref().and_then(|code| Deadline::parse_code(code).ok()) {
                state.deadline = Some(deadline);
            }
        }
        state
    }
}

async fn plan_tasks(db: &ReadDb, plan_id: &str, known_at: Option<&str>) -> Result<Vec<TaskRow>, QueryError> {
    let tasks = table("tasks", db.generation(tasks::NAME).await?);
    let known_clause = if known_at.is_some() { " AND assigned_at <= $2" } else { "" };
    let sql = format!(
        "SELECT {TASK_COLUMNS} FROM {tasks} WHERE plan_id = $1{known_clause} ORDER BY section_rank, number_key"
    );
    let mut query = sqlx::query(&sql).bind(plan_id.to_owned());
    if let Some(known_at) = known_at {
        query = query.bind(known_at.to_owned());
    }
    let rows = query.fetch_all(db.pool()).await?;
    Ok(rows.iter().map(task_row).collect::<Result<_, _>>()?)
}

/// The plan's tasks and indicators in numbering order, with only the columns the appendix shows.
async fn appendix_nodes(
    db: &ReadDb,
    generation: i64,
    plan_id: &str,
    known_at: Option<&str>,
) -> Result<Vec<AppendixNode>, QueryError> {
    let tasks = table("tasks", generation);
    let known_clause = if known_at.is_some() { " AND assigned_at <= $2" } else { "" };
    let sql = format!(
        "SELECT task_id, section, number, parent_id, title, target_text, original_deadline FROM {tasks}
         WHERE plan_id = $1{known_clause} ORDER BY section_rank, number_key"
    );
    let mut query = sqlx::query(&sql).bind(plan_id.to_owned());
    if let Some(known_at) = known_at {
        query = query.bind(known_at.to_owned());
    }
    let rows = query.fetch_all(db.pool()).await?;
    rows.iter()
        .map(|row| {
            Ok(AppendixNode {
                task_id: row.try_get(0)?,
                section: row.try_get(1)?,
                number: row.try_get(2)?,
                parent_id: row.try_get(3)?,
                title: row.try_get(4)?,
                target_text: row.try_get(5)?,
                original_deadline: row.try_get(6)?,
            })
        })
        .collect()
}

/// What the ledger knew, as `recorded_at` and `position` bounds on the rows of reports and changes.
#[derive(Clone, Copy)]
struct Known<'a> {
    at: Option<&'a str>,
    position: Option<u64>,
}

impl Known<'_> {
    /// ` AND recorded_at <= $3 AND position <= $4`, numbered from `first`, for the bounds given.
    fn clause(self, first: usize) -> String {
        let mut clause = String::new();
        let mut index = first;
        if self.at.is_some() {
            clause.push_str(&format!(" AND recorded_at <= ${index}"));
            index += 1;
        }
        if self.position.is_some() {
            clause.push_str(&format!(" AND position <= ${index}"));
        }
        clause
    }

    fn bind<'q>(
        self,
        mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        if let Some(at) = self.at {
            query = query.bind(at.to_owned());
        }
        if let Some(position) = self.position {
            query = query.bind(i64::try_from(position).unwrap_or(i64::MAX));
        }
        query
    }
}

async fn plan_changes(
    db: &ReadDb,
    generation: i64,
    plan_id: &str,
    as_of: &str,
    known: Known<'_>,
) -> Result<HashMap<String, Vec<Change>>, QueryError> {
    let changes = table("changes", generation);
    let known_clause = known.clause(3);
    let sql = format!(
        "SELECT task_id, lifecycle, deadline, completed_on FROM {changes}
         WHERE plan_id = $1 AND effective_on <= $2{known_clause} ORDER BY position"
    );
    let query = known.bind(sqlx::query(&sql).bind(plan_id.to_owned()).bind(as_of.to_owned()));
    let mut by_task: HashMap<String, Vec<Change>> = HashMap::new();
    for row in query.fetch_all(db.pool()).await? {
        by_task.entry(row.try_get(0)?).or_default().push(Change {
            lifecycle: row.try_get(1)?,
            deadline: row.try_get(2)?,
            completed_on: row.try_get(3)?,
        });
    }
    Ok(by_task)
}

/// For each task, the report in force at the cut-off, as the domain folds a task as of a date: a report exists
/// when its filing's cut-off is not after `as_of`, and reads as its latest version (as known) whose cut-off is not
/// after `as_of` (a correction dated later is left out, like every event dated after the cut-off). Among those,
/// the one with the latest cut-off wins, the later-filed one on a tie.
///
/// The ranking runs here over the keys of the plan's report versions (one narrow row each), and only the winners'
/// summaries are read, by primary key: sorting every version of a plan in SQL twice over (window functions) cost
/// several times more than reading the keys.
async fn latest_reports(
    db: &ReadDb,
    generation: i64,
    plan_id: &str,
    as_of: &str,
    known: Known<'_>,
) -> Result<HashMap<String, LatestReport>, QueryError> {
    let reports = table("reports", generation);
    let known_clause = known.clause(3);
    let sql = format!(
        "SELECT task_id, report_id, version_no, as_of, filed_position FROM {reports}
         WHERE plan_id = $1 AND as_of <= $2{known_clause}"
    );
    let query = known.bind(sqlx::query(&sql).bind(plan_id.to_owned()).bind(as_of.to_owned()));
    // Per report: whether its filing is in view, and its latest version in view.
    let mut versions: HashMap<String, (bool, ReportVersion)> = HashMap::new();
    for row in query.fetch_all(db.pool()).await? {
        let version = ReportVersion {
            task_id: row.try_get(0)?,
            version_no: row.try_get(2)?,
            as_of: row.try_get(3)?,
            filed_position: row.try_get(4)?,
        };
        let filing = version.version_no == 1;
        match versions.entry(row.try_get(1)?) {
            std::collections::hash_map::Entry::Vacant(entry) => {
                entry.insert((filing, version));
            }
            std::collections::hash_map::Entry::Occupied(mut entry) => {
                let (has_filing, latest) = entry.get_mut();
                *has_filing |= filing;
                if version.version_no > latest.version_no {
                    *latest = version;
                }
            }
        }
    }
    let mut in_force: HashMap<String, (String, ReportVersion)> = HashMap::new();
    for (report_id, (has_filing, version)) in versions {
        if !has_filing {
            continue;
        }
        let wins = in_force.get(&version.task_id).is_none_or(|(_, best)| {
            (version.as_of.as_str(), version.filed_position) > (best.as_of.as_str(), best.filed_position)
        });
        if wins {
            in_force.insert(version.task_id.clone(), (report_id, version));
        }
    }
    let winners: HashMap<(String, i64), String> = in_force
        .into_iter()
        .map(|(task_id, (report_id, version))| ((report_id, version.version_no), task_id))
        .collect();
    report_summaries(db, &reports, winners).await
}

/// The key columns of one version of a report.
struct ReportVersion {
    task_id: String,
    version_no: i64,
    as_of: String,
    filed_position: i64,
}

/// Summary and progress of the given report versions, keyed by the task each stands for.
async fn report_summaries(
    db: &ReadDb,
    reports: &str,
    winners: HashMap<(String, i64), String>,
) -> Result<HashMap<String, LatestReport>, QueryError> {
    // A few hundred reports per statement keeps within every engine's limit on bound parameters.
    const CHUNK: usize = 500;
    let report_ids: Vec<&str> = winners.keys().map(|(report_id, _)| report_id.as_str()).collect();
    let mut latest = HashMap::with_capacity(winners.len());
    for chunk in report_ids.chunks(CHUNK) {
        let sql = format!(
            "SELECT report_id, version_no, summary, progress FROM {reports} WHERE report_id IN ({})",
            crate::db::placeholders(1, chunk.len())
        );
        let mut query = sqlx::query(&sql);
        for report_id in chunk {
            query = query.bind((*report_id).to_owned());
        }
        for row in query.fetch_all(db.pool()).await? {
            let key: (String, i64) = (row.try_get(0)?, row.try_get(1)?);
            let Some(task_id) = winners.get(&key) else { continue };
            let progress: Option<String> = row.try_get(3)?;
            latest.insert(
                task_id.clone(),
                LatestReport { summary: row.try_get(2)?, progress: progress.as_deref().and_then(reported_progress) },
            );
        }
    }
    Ok(latest)
}

async fn plan_created_at_utc(db: &ReadDb, plan_id: &str) -> Result<String, QueryError> {
    let plans = table(plans::NAME, db.generation(plans::NAME).await?);
    let created_at: String = sqlx::query(&format!("SELECT created_at FROM {plans} WHERE plan_id = $1"))
        .bind(plan_id.to_owned())
        .fetch_one(db.pool())
        .await?
        .try_get(0)?;
    let instant = OffsetDateTime::parse(&created_at, &time::format_description::well_known::Rfc3339)
        .map_err(|error| DbError::Unavailable(format!("stored created_at is not RFC 3339: {error}")))?;
    Ok(event_store::canonical::format_recorded_at(instant))
}

fn board_task(task: &TaskRow, has_children: bool, on: Date, due_soon_days: i64) -> BoardTask {
    let deadline = task.deadline.as_deref().and_then(|code| Deadline::parse_code(code).ok());
    let lifecycle = Lifecycle::parse(&task.lifecycle).unwrap_or(Lifecycle::Open);
    let last_progress = task.last_report_progress.as_deref().map(reported_progress);
    let progress = progress_of(lifecycle, last_progress);
    let completed_on = task.completed_on.as_deref().and_then(|date| domain::deadline::parse_date_iso(date).ok());
    let number = TaskNumber::parse(&task.number).unwrap_or_else(|_| TaskNumber::parse("1").expect("valid"));
    BoardTask {
        task_id: task.task_id.clone(),
        plan_id: task.plan_id.clone(),
        section: task.section.clone(),
        number: task.number.clone(),
        parent_id: task.parent_id.clone(),
        title: task.title.clone(),
        content: node_content(&number, &task.title),
        target_text: task.target_text.clone(),
        lead_unit: task.lead_unit.clone(),
        coordinating_units: serde_json::from_str(&task.coordinating_units).unwrap_or_default(),
        deadline_text: deadline_text(deadline.as_ref(), has_children),
        deadline: task.deadline.clone(),
        original_deadline: task.original_deadline.clone(),
        due_date: task.due_date.clone(),
        progress,
        timeliness: Timeliness::compute(deadline.as_ref(), progress, completed_on, on, due_soon_days),
        n_reports: task.n_reports,
        last_report_as_of: task.last_report_as_of.clone(),
        version: task.version,
    }
}

fn statistics<'a>(tasks: impl Iterator<Item = &'a BoardTask>) -> Statistics {
    let mut statistics = Statistics::default();
    let (mut n_done_on_time, mut n_done) = (0u64, 0u64);
    for task in tasks {
        statistics.n_nodes += 1;
        *statistics.by_timeliness.entry(task.timeliness.code().to_owned()).or_default() += 1;
        *statistics.by_progress.entry(task.progress.as_str().to_owned()).or_default() += 1;
        match task.timeliness {
            Timeliness::DoneOnTime => {
                n_done_on_time += 1;
                n_done += 1;
            }
            Timeliness::DoneLate { .. } => n_done += 1,
            _ => {}
        }
    }
    statistics.on_time_completion_rate = (n_done > 0).then(|| n_done_on_time as f64 / n_done as f64);
    statistics
}

fn per_unit(board: &[BoardTask]) -> Vec<UnitStatistics> {
    let mut units: Vec<String> = board.iter().map(|task| task.lead_unit.clone()).collect();
    units.sort();
    units.dedup();
    units
        .into_iter()
        .map(|unit| {
            let statistics = statistics(board.iter().filter(|task| task.lead_unit == unit));
            UnitStatistics { unit, statistics }
        })
        .collect()
}

/// The ids of tasks that have indicators, from every node's parent id.
fn parents<'a>(parent_ids: impl Iterator<Item = Option<&'a String>>) -> std::collections::HashSet<String> {
    parent_ids.flatten().cloned().collect()
}

fn in_deadline_range(task: &TaskRow, filter: &BoardFilter) -> bool {
    if filter.deadline_from.is_none() && filter.deadline_to.is_none() {
        return true;
    }
    let Some(due) = task.due_date.as_deref().and_then(|date| domain::deadline::parse_date_iso(date).ok()) else {
        return false;
    };
    filter.deadline_from.is_none_or(|from| due >= from) && filter.deadline_to.is_none_or(|to| due <= to)
}

/// What a stored report progress says: `None` for a report that stated none.
fn reported_progress(text: &str) -> Option<ReportedProgress> {
    match text {
        "not_started" => Some(ReportedProgress::NotStarted),
        "in_progress" => Some(ReportedProgress::InProgress),
        _ => None,
    }
}

fn plan_summary(row: &sqlx::any::AnyRow) -> Result<PlanSummary, QueryError> {
    let sections: String = row.try_get(7)?;
    Ok(PlanSummary {
        plan_id: row.try_get(0)?,
        agency: row.try_get(1)?,
        year: row.try_get(2)?,
        title: row.try_get(3)?,
        n_nodes: row.try_get(4)?,
        created_at: row.try_get(5)?,
        created_by: row.try_get(6)?,
        sections: serde_json::from_str(&sections)
            .map_err(|error| DbError::Unavailable(format!("stored sections are not JSON: {error}")))?,
    })
}
