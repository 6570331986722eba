//! The task board: the current state of every task and indicator (`tasks`), every version of every report
//! (`reports`), and every change of lifecycle or deadline with its business date (`changes`) — enough to answer
//! the board now and the appendix as of any cut-off date without folding streams.
//!
//! A batch is applied in memory first (rows loaded once, events folded into them), then written with a few
//! multi-row statements, so that replaying a million events costs thousands of statements, not millions.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use domain::deadline::Deadline;
use domain::measure::Target;
use domain::numbering::TaskNumber;
use domain::task::{Lifecycle, ReportContent, TaskEvent};
use domain::text::fold_for_search;
use event_store::canonical::format_recorded_at;
use event_store::RecordedEvent;
use sqlx::{Any, Row, Transaction};

use super::{aggregate_of, decode, json_text, ApplyError, ReadModel};
use crate::db::{placeholders, table, values_rows};

pub const NAME: &str = "tasks";

/// Rows per multi-row statement (well under SQLite's limit of bound parameters).
const ROWS_PER_STATEMENT: usize = 300;

#[derive(Debug, Default)]
pub struct TasksModel;

/// One row of `tasks`.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRow {
    pub task_id: String,
    pub plan_id: String,
    pub section: String,
    pub section_rank: i64,
    pub number: String,
    pub number_key: String,
    pub parent_id: Option<String>,
    pub title: String,
    pub search_text: String,
    pub target_text: String,
    pub lead_unit: String,
    /// JSON array of unit codes.
    pub coordinating_units: String,
    pub original_deadline: Option<String>,
    pub deadline: Option<String>,
    pub due_date: Option<String>,
    pub lifecycle: String,
    pub completed_on: Option<String>,
    pub n_reports: i64,
    pub last_report_as_of: Option<String>,
    pub last_report_filed: Option<i64>,
    /// `not_started`, `in_progress`, `none` (a report that stated none), or NULL without any report.
    pub last_report_progress: Option<String>,
    pub version: i64,
    pub position: i64,
    /// When the assignment was recorded (canonical UTC text), for `known_at` reads.
    pub assigned_at: String,
}

/// One version of one report.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRow {
    pub report_id: String,
    pub version_no: i64,
    pub task_id: String,
    pub plan_id: String,
    pub as_of: String,
    pub summary: String,
    pub progress: Option<String>,
    pub recorded_at: String,
    pub position: i64,
    pub filed_position: i64,
    pub actor_id: String,
    pub actor_name: String,
    pub actor_unit: String,
    pub correction_reason: Option<String>,
}

/// A change of lifecycle or deadline, with its business date.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeRow {
    pub position: i64,
    pub task_id: String,
    pub plan_id: String,
    pub kind: String,
    pub lifecycle: Option<String>,
    pub deadline: Option<String>,
    pub completed_on: Option<String>,
    pub effective_on: String,
    pub recorded_at: String,
}

pub const TASK_COLUMNS: &str = "task_id, plan_id, section, section_rank, number, number_key, parent_id, title, \
    search_text, target_text, lead_unit, coordinating_units, original_deadline, deadline, due_date, lifecycle, \
    completed_on, n_reports, last_report_as_of, last_report_filed, last_report_progress, version, position, assigned_at";

const REPORT_COLUMNS: &str = "report_id, version_no, task_id, plan_id, as_of, summary, progress, recorded_at, \
    position, filed_position, actor_id, actor_name, actor_unit, correction_reason";

const N_TASK_COLUMNS: usize = 24;
const N_REPORT_COLUMNS: usize = 14;
const N_CHANGE_COLUMNS: usize = 9;

const CHANGE_COLUMNS: &str =
    "position, task_id, plan_id, kind, lifecycle, deadline, completed_on, effective_on, recorded_at";

#[async_trait]
impl ReadModel for TasksModel {
    fn name(&self) -> &'static str {
        NAME
    }

    fn create_tables(&self, generation: i64) -> Vec<String> {
        let tasks = table("tasks", generation);
        let reports = table("reports", generation);
        let changes = table("changes", generation);
        vec![
            format!(
                "CREATE TABLE IF NOT EXISTS {tasks} (
                    task_id TEXT PRIMARY KEY, plan_id TEXT NOT NULL, section TEXT NOT NULL,
                    section_rank BIGINT NOT NULL, number TEXT NOT NULL, number_key TEXT NOT NULL, parent_id TEXT,
                    title TEXT NOT NULL, search_text TEXT NOT NULL, target_text TEXT NOT NULL,
                    lead_unit TEXT NOT NULL, coordinating_units TEXT NOT NULL, original_deadline TEXT,
                    deadline TEXT, due_date TEXT, lifecycle TEXT NOT NULL, completed_on TEXT,
                    n_reports BIGINT NOT NULL, last_report_as_of TEXT, last_report_filed BIGINT,
                    last_report_progress TEXT, version BIGINT NOT NULL, position BIGINT NOT NULL,
                    assigned_at TEXT NOT NULL
                )"
            ),
            format!("CREATE INDEX IF NOT EXISTS {tasks}_plan ON {tasks} (plan_id, section_rank, number_key)"),
            format!(
                "CREATE TABLE IF NOT EXISTS {reports} (
                    report_id TEXT NOT NULL, version_no BIGINT NOT NULL, task_id TEXT NOT NULL,
                    plan_id TEXT NOT NULL, as_of TEXT NOT NULL, summary TEXT NOT NULL, progress TEXT,
                    recorded_at TEXT NOT NULL, position BIGINT NOT NULL, filed_position BIGINT NOT NULL,
                    actor_id TEXT NOT NULL, actor_name TEXT NOT NULL, actor_unit TEXT NOT NULL,
                    correction_reason TEXT,
                    PRIMARY KEY (report_id, version_no)
                )"
            ),
            format!("CREATE INDEX IF NOT EXISTS {reports}_plan ON {reports} (plan_id, task_id)"),
            format!(
                "CREATE TABLE IF NOT EXISTS {changes} (
                    position BIGINT PRIMARY KEY, task_id TEXT NOT NULL, plan_id TEXT NOT NULL, kind TEXT NOT NULL,
                    lifecycle TEXT, deadline TEXT, completed_on TEXT, effective_on TEXT NOT NULL,
                    recorded_at TEXT NOT NULL
                )"
            ),
            format!("CREATE INDEX IF NOT EXISTS {changes}_plan ON {changes} (plan_id)"),
        ]
    }

    fn tables(&self, generation: i64) -> Vec<String> {
        vec![table("tasks", generation), table("reports", generation), table("changes", generation)]
    }

    async fn apply(
        &self,
        transaction: &mut Transaction<'static, Any>,
        generation: i64,
        events: &[RecordedEvent],
    ) -> Result<(), ApplyError> {
        let task_events: Vec<(&RecordedEvent, TaskEvent)> = events
            .iter()
            .filter(|event| aggregate_of(event) == "task")
            .map(|event| decode::<TaskEvent>(event).map(|decoded| (event, decoded)))
            .collect::<Result<_, _>>()?;
        if task_events.is_empty() {
            return Ok(());
        }
        let mut batch = Batch::load(transaction, generation, &task_events).await?;
        for (event, decoded) in &task_events {
            batch.apply(event, decoded)?;
        }
        batch.write(transaction, generation).await
    }
}

/// The rows a batch touches, in memory.
struct Batch {
    tasks: BTreeMap<String, TaskRow>,
    /// Reports whose rows already exist: (last version number, filed position).
    known_reports: HashMap<String, (i64, i64)>,
    new_reports: Vec<ReportRow>,
    new_changes: Vec<ChangeRow>,
    /// Tasks whose latest report must be recomputed from all current versions (after a correction).
    recompute_latest: Vec<String>,
}

impl Batch {
    async fn load(
        transaction: &mut Transaction<'static, Any>,
        generation: i64,
        events: &[(&RecordedEvent, TaskEvent)],
    ) -> Result<Batch, ApplyError> {
        let mut task_ids: Vec<String> = events.iter().map(|(event, _)| task_id_of(event)).collect();
        task_ids.sort();
        task_ids.dedup();
        let mut tasks = BTreeMap::new();
        for chunk in task_ids.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "SELECT {TASK_COLUMNS} FROM {} WHERE task_id IN ({})",
                table("tasks", generation),
                placeholders(1, chunk.len())
            );
            let mut query = sqlx::query(&sql);
            for task_id in chunk {
                query = query.bind(task_id.clone());
            }
            for row in query.fetch_all(&mut **transaction).await? {
                let task = task_row(&row)?;
                tasks.insert(task.task_id.clone(), task);
            }
        }
        let corrected: Vec<String> = events
            .iter()
            .filter_map(|(_, decoded)| match decoded {
                TaskEvent::ReportCorrected(corrected) => Some(corrected.report_id.to_string()),
                _ => None,
            })
            .collect();
        let mut known_reports = HashMap::new();
        for report_id in corrected {
            let row = sqlx::query(&format!(
                "SELECT max(version_no), min(filed_position) FROM {} WHERE report_id = $1",
                table("reports", generation)
            ))
            .bind(report_id.clone())
            .fetch_one(&mut **transaction)
            .await?;
            if let (Some(version_no), Some(filed)) =
                (row.try_get::<Option<i64>, _>(0)?, row.try_get::<Option<i64>, _>(1)?)
            {
                known_reports.insert(report_id, (version_no, filed));
            }
        }
        Ok(Batch {
            tasks,
            known_reports,
            new_reports: Vec::new(),
            new_changes: Vec::new(),
            recompute_latest: Vec::new(),
        })
    }

    fn apply(&mut self, event: &RecordedEvent, decoded: &TaskEvent) -> Result<(), ApplyError> {
        let position = event.global_position as i64;
        let poison = |reason: &str| ApplyError::Poison { position: event.global_position, reason: reason.to_owned() };
        if let TaskEvent::TaskAssigned(assigned) = decoded {
            let number = assigned.number.to_string();
            let target_text = assigned.target.as_ref().map(Target::text).unwrap_or_default().to_owned();
            let row = TaskRow {
                task_id: assigned.task_id.to_string(),
                plan_id: assigned.plan_id.to_string(),
                section: assigned.section.to_string(),
                section_rank: i64::from(assigned.section.value()),
                number_key: number_key(&assigned.number),
                search_text: search_text(&number, &assigned.title, &target_text, assigned.lead_unit.as_str(), None),
                number,
                parent_id: assigned.parent_id.map(|id| id.to_string()),
                title: assigned.title.clone(),
                target_text,
                lead_unit: assigned.lead_unit.to_string(),
                coordinating_units: json_text(&assigned.coordinating_units),
                original_deadline: assigned.deadline.map(|deadline| deadline.code()),
                deadline: assigned.deadline.map(|deadline| deadline.code()),
                due_date: assigned.deadline.map(|deadline| deadline.due_date().to_string()),
                lifecycle: Lifecycle::Open.as_str().to_owned(),
                completed_on: None,
                n_reports: 0,
                last_report_as_of: None,
                last_report_filed: None,
                last_report_progress: None,
                version: 1,
                position,
                assigned_at: format_recorded_at(event.recorded_at),
            };
            self.tasks.insert(row.task_id.clone(), row);
            return Ok(());
        }
        let task_id = task_id_of(event);
        let task = self.tasks.get_mut(&task_id).ok_or_else(|| poison("the task was never assigned"))?;
        task.version += 1;
        task.position = position;
        let recorded_at = format_recorded_at(event.recorded_at);
        let change = |kind: &str,
                      lifecycle: Option<Lifecycle>,
                      deadline: Option<&Deadline>,
                      completed_on: Option<String>,
                      effective_on: String| ChangeRow {
            position,
            task_id: task_id.clone(),
            plan_id: task.plan_id.clone(),
            kind: kind.to_owned(),
            lifecycle: lifecycle.map(|lifecycle| lifecycle.as_str().to_owned()),
            deadline: deadline.map(Deadline::code),
            completed_on,
            effective_on,
            recorded_at: recorded_at.clone(),
        };
        match decoded {
            TaskEvent::TaskAssigned(_) => unreachable!("handled above"),
            TaskEvent::ProgressReported(reported) => {
                let report_id = reported.report_id.to_string();
                let row = report_row(event, task, &report_id, 1, position, &reported.content, None);
                task.n_reports += 1;
                if latest_beats(task, &row.as_of, position) {
                    task.last_report_as_of = Some(row.as_of.clone());
                    task.last_report_filed = Some(position);
                    task.last_report_progress = Some(progress_text(&reported.content));
                    task.search_text = search_text(
                        &task.number,
                        &task.title,
                        &task.target_text,
                        &task.lead_unit,
                        Some(reported.content.summary.as_str()),
                    );
                }
                self.known_reports.insert(report_id, (1, position));
                self.new_reports.push(row);
            }
            TaskEvent::ReportCorrected(corrected) => {
                let report_id = corrected.report_id.to_string();
                let (last_version, filed) =
                    *self.known_reports.get(&report_id).ok_or_else(|| poison("the corrected report does not exist"))?;
                let reason = Some(corrected.reason.as_str().to_owned());
                let row = report_row(event, task, &report_id, last_version + 1, filed, &corrected.content, reason);
                self.known_reports.insert(report_id, (last_version + 1, filed));
                self.new_reports.push(row);
                self.recompute_latest.push(task_id.clone());
            }
            TaskEvent::DeadlineExtensionApproved(approved) => {
                task.deadline = Some(approved.new_deadline.code());
                task.due_date = Some(approved.new_deadline.due_date().to_string());
                let row =
                    change("deadline", None, Some(&approved.new_deadline), None, approved.effective_on.to_string());
                self.new_changes.push(row);
            }
            TaskEvent::DeadlineExtensionRequested(_) | TaskEvent::DeadlineExtensionRejected(_) => {}
            lifecycle_event => {
                let lifecycle = Lifecycle::after(lifecycle_event).ok_or_else(|| poison("not a lifecycle event"))?;
                let effective_on = lifecycle_event.effective_date().map(|date| date.to_string()).unwrap_or_default();
                let completed_on = match lifecycle_event {
                    TaskEvent::CompletionReported(reported) => Some(reported.as_of.to_string()),
                    _ if matches!(lifecycle, Lifecycle::Open) => None,
                    _ => task.completed_on.clone(),
                };
                let row = change("lifecycle", Some(lifecycle), None, completed_on.clone(), effective_on);
                task.lifecycle = lifecycle.as_str().to_owned();
                task.completed_on = completed_on;
                self.new_changes.push(row);
            }
        }
        Ok(())
    }

    async fn write(self, transaction: &mut Transaction<'static, Any>, generation: i64) -> Result<(), ApplyError> {
        let tasks: Vec<&TaskRow> = self.tasks.values().collect();
        for chunk in tasks.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO {} ({TASK_COLUMNS}) VALUES {} ON CONFLICT (task_id) DO UPDATE SET deadline = excluded.deadline, \
                 due_date = excluded.due_date, lifecycle = excluded.lifecycle, completed_on = excluded.completed_on, \
                 n_reports = excluded.n_reports, last_report_as_of = excluded.last_report_as_of, \
                 last_report_filed = excluded.last_report_filed, last_report_progress = excluded.last_report_progress, \
                 search_text = excluded.search_text, version = excluded.version, position = excluded.position",
                table("tasks", generation),
                values_rows(chunk.len(), N_TASK_COLUMNS)
            );
            let mut query = sqlx::query(&sql);
            for task in chunk {
                query = query
                    .bind(task.task_id.clone())
                    .bind(task.plan_id.clone())
                    .bind(task.section.clone())
                    .bind(task.section_rank)
                    .bind(task.number.clone())
                    .bind(task.number_key.clone())
                    .bind(task.parent_id.clone())
                    .bind(task.title.clone())
                    .bind(task.search_text.clone())
                    .bind(task.target_text.clone())
                    .bind(task.lead_unit.clone())
                    .bind(task.coordinating_units.clone())
                    .bind(task.original_deadline.clone())
                    .bind(task.deadline.clone())
                    .bind(task.due_date.clone())
                    .bind(task.lifecycle.clone())
                    .bind(task.completed_on.clone())
                    .bind(task.n_reports)
                    .bind(task.last_report_as_of.clone())
                    .bind(task.last_report_filed)
                    .bind(task.last_report_progress.clone())
                    .bind(task.version)
                    .bind(task.position)
                    .bind(task.assigned_at.clone());
            }
            query.execute(&mut **transaction).await?;
        }
        for chunk in self.new_reports.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO {} ({REPORT_COLUMNS}) VALUES {}",
                table("reports", generation),
                values_rows(chunk.len(), N_REPORT_COLUMNS)
            );
            let mut query = sqlx::query(&sql);
            for report in chunk {
                query = query
                    .bind(report.report_id.clone())
                    .bind(report.version_no)
                    .bind(report.task_id.clone())
                    .bind(report.plan_id.clone())
                    .bind(report.as_of.clone())
                    .bind(report.summary.clone())
                    .bind(report.progress.clone())
                    .bind(report.recorded_at.clone())
                    .bind(report.position)
                    .bind(report.filed_position)
                    .bind(report.actor_id.clone())
                    .bind(report.actor_name.clone())
                    .bind(report.actor_unit.clone())
                    .bind(report.correction_reason.clone());
            }
            query.execute(&mut **transaction).await?;
        }
        for chunk in self.new_changes.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO {} ({CHANGE_COLUMNS}) VALUES {}",
                table("changes", generation),
                values_rows(chunk.len(), N_CHANGE_COLUMNS)
            );
            let mut query = sqlx::query(&sql);
            for change in chunk {
                query = query
                    .bind(change.position)
                    .bind(change.task_id.clone())
                    .bind(change.plan_id.clone())
                    .bind(change.kind.clone())
                    .bind(change.lifecycle.clone())
                    .bind(change.deadline.clone())
                    .bind(change.completed_on.clone())
                    .bind(change.effective_on.clone())
                    .bind(change.recorded_at.clone());
            }
            query.execute(&mut **transaction).await?;
        }
        for task_id in dedup(self.recompute_latest) {
            recompute_latest_report(transaction, generation, &task_id).await?;
        }
        Ok(())
    }
}

/// After a correction: the latest report of the task (latest cut-off, then latest filed) among current versions.
async fn recompute_latest_report(
    transaction: &mut Transaction<'static, Any>,
    generation: i64,
    task_id: &str,
) -> Result<(), ApplyError> {
    let reports = table("reports", generation);
    let latest = sqlx::query(&format!(
        "SELECT as_of, filed_position, progress, summary FROM {reports} r
         WHERE task_id = $1 AND version_no = (SELECT max(version_no) FROM {reports} v WHERE v.report_id = r.report_id)
         ORDER BY as_of DESC, filed_position DESC LIMIT 1"
    ))
    .bind(task_id.to_owned())
    .fetch_optional(&mut **transaction)
    .await?;
    let tasks = table("tasks", generation);
    let task = sqlx::query(&format!("SELECT {TASK_COLUMNS} FROM {tasks} WHERE task_id = $1"))
        .bind(task_id.to_owned())
        .fetch_one(&mut **transaction)
        .await?;
    let task = task_row(&task)?;
    if let Some(row) = latest {
        let progress: Option<String> = row.try_get(2)?;
        let summary: String = row.try_get(3)?;
        sqlx::query(&format!(
            "UPDATE {tasks} SET last_report_as_of = $1, last_report_filed = $2, last_report_progress = $3,
             search_text = $4 WHERE task_id = $5"
        ))
        .bind(row.try_get::<String, _>(0)?)
        .bind(row.try_get::<i64, _>(1)?)
        .bind(Some(progress.unwrap_or_else(|| "none".to_owned())))
        .bind(search_text(&task.number, &task.title, &task.target_text, &task.lead_unit, Some(&summary)))
        .bind(task_id.to_owned())
        .execute(&mut **transaction)
        .await?;
    }
    Ok(())
}

pub fn task_row(row: &sqlx::any::AnyRow) -> Result<TaskRow, sqlx::Error> {
    Ok(TaskRow {
        task_id: row.try_get(0)?,
        plan_id: row.try_get(1)?,
        section: row.try_get(2)?,
        section_rank: row.try_get(3)?,
        number: row.try_get(4)?,
        number_key: row.try_get(5)?,
        parent_id: row.try_get(6)?,
        title: row.try_get(7)?,
        search_text: row.try_get(8)?,
        target_text: row.try_get(9)?,
        lead_unit: row.try_get(10)?,
        coordinating_units: row.try_get(11)?,
        original_deadline: row.try_get(12)?,
        deadline: row.try_get(13)?,
        due_date: row.try_get(14)?,
        lifecycle: row.try_get(15)?,
        completed_on: row.try_get(16)?,
        n_reports: row.try_get(17)?,
        last_report_as_of: row.try_get(18)?,
        last_report_filed: row.try_get(19)?,
        last_report_progress: row.try_get(20)?,
        version: row.try_get(21)?,
        position: row.try_get(22)?,
        assigned_at: row.try_get(23)?,
    })
}

fn report_row(
    event: &RecordedEvent,
    task: &TaskRow,
    report_id: &str,
    version_no: i64,
    filed_position: i64,
    content: &ReportContent,
    correction_reason: Option<String>,
) -> ReportRow {
    ReportRow {
        report_id: report_id.to_owned(),
        version_no,
        task_id: task.task_id.clone(),
        plan_id: task.plan_id.clone(),
        as_of: content.as_of.to_string(),
        summary: content.summary.as_str().to_owned(),
        progress: content.progress.map(|progress| json_text(&progress).trim_matches('"').to_owned()),
        recorded_at: format_recorded_at(event.recorded_at),
        position: event.global_position as i64,
        filed_position,
        actor_id: event.actor.id.clone(),
        actor_name: event.actor.name.clone(),
        actor_unit: event.actor.unit.clone(),
        correction_reason,
    }
}

fn progress_text(content: &ReportContent) -> String {
    content.progress.map_or_else(|| "none".to_owned(), |progress| json_text(&progress).trim_matches('"').to_owned())
}

/// Whether a report (cut-off, filed position) is later than the task's latest so far.
fn latest_beats(task: &TaskRow, as_of: &str, filed: i64) -> bool {
    match (&task.last_report_as_of, task.last_report_filed) {
        (Some(last_as_of), Some(last_filed)) => (as_of, filed) > (last_as_of.as_str(), last_filed),
        _ => true,
    }
}

/// What the board's text query searches, folded: number, title, target, lead unit and the latest report.
fn search_text(number: &str, title: &str, target_text: &str, lead_unit: &str, latest_summary: Option<&str>) -> String {
    fold_for_search(&format!("{number} {title} {target_text} {lead_unit} {}", latest_summary.unwrap_or_default()))
}

/// "2.1" as "0002.0001", so that text order is numbering order.
pub fn number_key(number: &TaskNumber) -> String {
    number.to_string().split('.').map(|part| format!("{:0>4}", part)).collect::<Vec<_>>().join(".")
}

fn task_id_of(event: &RecordedEvent) -> String {
    event.stream_id.0.trim_start_matches("task-").to_owned()
}

fn dedup(mut values: Vec<String>) -> Vec<String> {
    values.sort();
    values.dedup();
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_counts_match_the_column_lists() {
        let count = |columns: &str| columns.split(',').count();
        assert_eq!(count(TASK_COLUMNS), N_TASK_COLUMNS);
        assert_eq!(count(REPORT_COLUMNS), N_REPORT_COLUMNS);
        assert_eq!(count(CHANGE_COLUMNS), N_CHANGE_COLUMNS);
    }

    #[test]
    fn number_keys_sort_in_numbering_order() {
        let key = |number: &str| number_key(&TaskNumber::parse(number).unwrap());
        assert!(key("2") < key("2.1"));
        assert!(key("2.9") < key("2.10"));
        assert!(key("9") < key("10"));
    }
}
