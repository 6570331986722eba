//! The task board: the current state of every task and indicator (`tasks`), every version of every report
//! (`reports`), and every change of lifecycle or deadline with its business date (`changes`) — enough to answer
//! the board now and the appendix as of any cut-off date without folding streams.
//!
//! A batch is applied in memory first (rows loaded once, events folded into them), then written with a few
//! multi-row statements, so that replaying a million events costs thousands of statements, not millions.

// The maps of a batch are keyed by task and report ids and looked up for every event of a rebuild: `foldhash`, not
// the standard SipHash.
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use async_trait::async_trait;
use domain::deadline::Deadline;
use domain::ids::ReportId;
use domain::measure::Target;
use domain::numbering::TaskNumber;
use domain::status::{Progress, ReportedProgress};
use domain::task::{Lifecycle, TaskAssigned, TaskEvent};
use domain::text::fold_for_search;
use event_store::canonical::format_recorded_at;
use std::borrow::Cow;

use event_store::{RecordedEvent, StoredText};
use serde::de::IgnoredAny;
use serde::Deserialize;
use sqlx::{Any, Row, Transaction};
use time::Date;

use super::{aggregate_of, decode, json_text, ApplyError, ReadModel, Session, StoredPayload};
use crate::bulk::{BulkWriter, CopyJob, CopyRow, CopyText};
use crate::db::{placeholders, rows_per_statement, table, values_rows, DbError};

pub const NAME: &str = "tasks";

/// Ids per `IN (…)` list.
const IDS_PER_STATEMENT: usize = 1_000;

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

/// One version of one report, borrowing its texts from the batch's events (a rebuild writes nearly one per event:
/// each text copied is an allocation and a copy per event).
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRow<'e> {
    pub report_id: ReportId,
    pub version_no: i64,
    pub task_id: &'e str,
    pub plan_id: String,
    pub as_of: String,
    pub summary: &'e str,
    pub progress: Option<&'static str>,
    pub recorded_at: String,
    pub position: i64,
    pub filed_position: i64,
    pub actor_id: &'e str,
    pub actor_name: &'e str,
    pub actor_unit: &'e str,
    pub correction_reason: Option<&'e str>,
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

/// What a task row written again changes: everything but what its assignment fixed.
const TASK_UPSERT: &str = "ON CONFLICT (task_id) DO UPDATE SET deadline = excluded.deadline, \
    due_date = excluded.due_date, lifecycle = excluded.lifecycle, completed_on = excluded.completed_on, \
    n_reports = excluded.n_reports, last_report_as_of = excluded.last_report_as_of, \
    last_report_filed = excluded.last_report_filed, last_report_progress = excluded.last_report_progress, \
    search_text = excluded.search_text, version = excluded.version, position = excluded.position";

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

    fn session(&self, generation: i64) -> Box<dyn Session> {
        Box::new(TasksSession { generation, held: HashMap::new(), reports: HashMap::new(), bulk: None })
    }

    fn rebuild_session(&self, generation: i64, bulk: BulkWriter) -> Box<dyn Session> {
        Box::new(TasksSession { generation, held: HashMap::new(), reports: HashMap::new(), bulk: Some(bulk) })
    }
}

/// Task rows held in memory before they are written, at most this many: a rebuild writes each task once, unless
/// the store holds more tasks than this (then the rows are written and dropped whenever this many are held).
const MAX_HELD_TASKS: usize = 100_000;

/// Reports by id: (last version number, filed position).
type KnownReports = HashMap<ReportId, (i64, i64)>;

/// Reports a session remembers (last version and filing, for corrections), at most this many; beyond, it forgets
/// them all and reads the reports table again.
const MAX_KNOWN_REPORTS: usize = 2_000_000;

/// The tasks model applying batches to one generation. Report and change rows are written with each batch; task
/// rows stay in memory (`held`) until [`Session::flush`] writes them, so that a task touched by many batches of a
/// rebuild is loaded and written once.
///
/// A rebuild's session on PostgreSQL writes its rows through `bulk` (`COPY`, committed as each batch is written,
/// apart from the batch's transaction); the reads of the next batches, in their own transactions, see them.
struct TasksSession {
    generation: i64,
    held: HashMap<String, HeldTask>,
    /// Every report applied in this session.
    reports: KnownReports,
    bulk: Option<BulkWriter>,
}

/// A task row in memory.
#[derive(Debug, Clone)]
struct HeldTask {
    row: TaskRow,
    /// Changed since it was read or written.
    dirty: bool,
    /// Whether `row.search_text` is to be computed when the row is written, from `latest_summary` (folding text
    /// for search is dear: it is done once per task and flush, not once per report).
    search_pending: bool,
    /// The latest report's summary, while `search_pending`.
    latest_summary: Option<String>,
}

#[async_trait]
impl Session for TasksSession {
    async fn apply(
        &mut self,
        transaction: &mut Transaction<'static, Any>,
        events: &[RecordedEvent],
    ) -> Result<(), ApplyError> {
        self.apply_events(transaction, events).await
    }

    async fn apply_stored(
        &mut self,
        transaction: &mut Transaction<'static, Any>,
        events: &[StoredText],
    ) -> Result<(), ApplyError> {
        self.apply_events(transaction, events).await
    }

    async fn flush(&mut self, transaction: &mut Transaction<'static, Any>) -> Result<(), ApplyError> {
        self.flush_held(transaction).await
    }
}

impl TasksSession {
    /// Task events only, decoded from whichever form the payloads come in; the others are skipped by their
    /// stream's name before anything is decoded.
    async fn apply_events<P: StoredPayload>(
        &mut self,
        transaction: &mut Transaction<'static, Any>,
        events: &[RecordedEvent<P>],
    ) -> Result<(), ApplyError> {
        let facts: Vec<(&RecordedEvent<P>, TaskFact)> = events
            .iter()
            .filter(|event| aggregate_of(event) == "task")
            .map(|event| TaskFact::decode(event).map(|fact| (event, fact)))
            .collect::<Result<_, _>>()?;
        if facts.is_empty() {
            return Ok(());
        }
        // The batch works on copies of the held rows, kept only once it succeeded: a failed batch leaves the
        // session as it was.
        let (mut batch, unread) = Batch::from_memory(&self.held, &self.reports, &facts);
        if !unread.is_empty() {
            // What is read must include what the bulk write in flight brings.
            if let Some(bulk) = &mut self.bulk {
                bulk.wait().await?;
            }
            batch.read(transaction, self.generation, unread).await?;
        }
        for (event, fact) in &facts {
            batch.apply(event, fact)?;
        }
        let new_reports = std::mem::take(&mut batch.new_reports);
        let new_changes = std::mem::take(&mut batch.new_changes);
        let (reports_table, changes_table) = (table("reports", self.generation), table("changes", self.generation));
        match &mut self.bulk {
            Some(bulk) => {
                let jobs = vec![
                    CopyJob::encode(reports_table, REPORT_COLUMNS, &new_reports),
                    CopyJob::encode(changes_table, CHANGE_COLUMNS, &new_changes),
                ];
                bulk.start(jobs).await?;
                if !batch.recompute_latest.is_empty() {
                    // Recomputing reads every current version of a report, this batch's included.
                    bulk.wait().await?;
                }
            }
            None => {
                insert_reports(transaction, &reports_table, new_reports).await?;
                insert_changes(transaction, &changes_table, new_changes).await?;
            }
        }
        let (tasks, reports) = batch.settle(transaction, self.generation).await?;
        if self.reports.len() + reports.len() > MAX_KNOWN_REPORTS {
            self.reports.clear();
        }
        self.reports.extend(reports);
        self.held.extend(tasks);
        if self.held.len() > MAX_HELD_TASKS {
            self.flush_held(transaction).await?;
        }
        Ok(())
    }

    async fn flush_held(&mut self, transaction: &mut Transaction<'static, Any>) -> Result<(), ApplyError> {
        let mut dirty: Vec<TaskRow> = self
            .held
            .drain()
            .filter(|(_, task)| task.dirty)
            .map(|(_, task)| {
                let mut row = task.row;
                if task.search_pending {
                    let summary = task.latest_summary.as_deref();
                    row.search_text = search_text(&row.number, &row.title, &row.target_text, &row.lead_unit, summary);
                }
                row
            })
            .collect();
        dirty.sort_by(|a, b| a.task_id.cmp(&b.task_id));
        match &mut self.bulk {
            // Written after the rows in flight, and committed when this returns (as a flush promises).
            Some(bulk) => {
                let tasks = table("tasks", self.generation);
                bulk.copy_upsert(&tasks, TASK_COLUMNS, &dirty, TASK_UPSERT).await?;
                Ok(())
            }
            None => write_tasks(transaction, self.generation, dirty).await,
        }
    }
}

/// What the tasks model reads of a task event. Progress reports and their corrections — nearly every event of a
/// ledger — are read field by field from the stored payload ([`StoredReport`]): the model keeps their cut-off,
/// summary and progress, and skips the domain's parsing of what it does not keep (measures, evidence). The stored
/// payload is what the domain serialised when it decided the event, so it needs no normalising again. Every other
/// event is decoded whole, as the domain's `TaskEvent`.
enum TaskFact<'e> {
    Reported(StoredReport<'e>),
    Corrected(StoredReport<'e>),
    /// Boxed: a whole domain event is several times the size of a report's fields.
    Other(Box<TaskEvent>),
}

/// The fields of a `ProgressReported` or `ReportCorrected` payload the model keeps. `measures` and `evidence` must
/// be there, as the domain requires, but are not read.
#[derive(Deserialize)]
struct StoredReport<'e> {
    report_id: ReportId,
    /// Only in corrections.
    #[serde(default)]
    #[serde(borrow)]
    reason: Option<Cow<'e, str>>,
    as_of: Date,
    #[serde(borrow)]
    summary: Cow<'e, str>,
    progress: Option<ReportedProgress>,
    #[serde(rename = "measures")]
    _measures: IgnoredAny,
    #[serde(rename = "evidence")]
    _evidence: IgnoredAny,
}

impl<'e> TaskFact<'e> {
    /// The assignment, when this is a task's first event.
    fn assigned(&self) -> Option<&TaskAssigned> {
        match self {
            TaskFact::Other(event) => match event.as_ref() {
                TaskEvent::TaskAssigned(assigned) => Some(assigned),
                _ => None,
            },
            _ => None,
        }
    }

    fn decode<P: StoredPayload>(event: &'e RecordedEvent<P>) -> Result<TaskFact<'e>, ApplyError> {
        let poison = |reason: String| ApplyError::Poison { position: event.global_position, reason };
        let report = || -> Result<StoredReport<'e>, ApplyError> {
            let report =
                event.payload.deserialize_payload::<StoredReport>().map_err(|error| poison(error.to_string()))?;
            if report.summary.is_empty() {
                return Err(poison("summary: text is empty".to_owned()));
            }
            Ok(report)
        };
        match event.event_type.as_str() {
            "ProgressReported" => Ok(TaskFact::Reported(report()?)),
            "ReportCorrected" => {
                let corrected = report()?;
                if corrected.reason.as_deref().is_none_or(str::is_empty) {
                    return Err(poison("reason: a correction states its reason".to_owned()));
                }
                Ok(TaskFact::Corrected(corrected))
            }
            _ => Ok(TaskFact::Other(Box::new(decode::<TaskEvent, _>(event)?))),
        }
    }
}

/// What a batch needs from the generation's tables: task rows and corrected reports the session does not hold.
#[derive(Debug, Default)]
struct Unread {
    task_ids: Vec<String>,
    report_ids: Vec<String>,
}

impl Unread {
    fn is_empty(&self) -> bool {
        self.task_ids.is_empty() && self.report_ids.is_empty()
    }
}

/// The rows a batch touches, in memory; its new report rows borrow from the batch's events (`'e`).
struct Batch<'e> {
    tasks: HashMap<String, HeldTask>,
    /// Reports whose rows exist or are being written.
    known_reports: KnownReports,
    new_reports: Vec<ReportRow<'e>>,
    new_changes: Vec<ChangeRow>,
    /// Tasks whose latest report must be recomputed from all current versions (after a correction).
    recompute_latest: Vec<String>,
}

impl<'e> Batch<'e> {
    /// Copies the held rows the batch touches and the reports it corrects that the session knows; answers what
    /// is to be read from the generation's tables ([`Batch::read`]). A task assigned in the batch needs no row.
    fn from_memory<P>(
        held: &HashMap<String, HeldTask>,
        reports: &KnownReports,
        facts: &[(&RecordedEvent<P>, TaskFact<'_>)],
    ) -> (Batch<'e>, Unread) {
        let mut tasks = HashMap::new();
        let mut seen = HashSet::new();
        let mut unread = Unread::default();
        for (event, fact) in facts {
            let task_id = task_id_of(event);
            if !seen.insert(task_id) || fact.assigned().is_some() {
                continue;
            }
            match held.get(task_id) {
                Some(task) => {
                    tasks.insert(task_id.to_owned(), task.clone());
                }
                None => unread.task_ids.push(task_id.to_owned()),
            }
        }
        // Reports corrected in this batch but filed before it. A report filed in the batch is known from its
        // filing when its correction comes.
        let filed_here: HashSet<ReportId> = facts
            .iter()
            .filter_map(|(_, fact)| match fact {
                TaskFact::Reported(reported) => Some(reported.report_id),
                _ => None,
            })
            .collect();
        let mut known_reports = HashMap::new();
        for (_, fact) in facts {
            let TaskFact::Corrected(StoredReport { report_id, .. }) = fact else { continue };
            if filed_here.contains(report_id) {
                continue;
            }
            match reports.get(report_id) {
                Some(known) => {
                    known_reports.insert(*report_id, *known);
                }
                None => unread.report_ids.push(report_id.to_string()),
            }
        }
        unread.report_ids.sort();
        unread.report_ids.dedup();
        let batch = Batch {
            tasks,
            known_reports,
            new_reports: Vec::new(),
            new_changes: Vec::new(),
            recompute_latest: Vec::new(),
        };
        (batch, unread)
    }

    /// Reads the task rows and the corrected reports' last version and filing that the session does not hold, in
    /// a few statements.
    async fn read(
        &mut self,
        transaction: &mut Transaction<'static, Any>,
        generation: i64,
        unread: Unread,
    ) -> Result<(), ApplyError> {
        for chunk in unread.task_ids.chunks(IDS_PER_STATEMENT) {
            let sql = format!(
                "SELECT {TASK_COLUMNS} FROM {} WHERE task_id IN ({})",
                table("tasks", generation),
                placeholders(1, chunk.len())
            );
            let mut query = sqlx::query(&sql);
            for task_id in chunk {
                query = query.bind(task_id.as_str());
            }
            for row in query.fetch_all(&mut **transaction).await? {
                let row = task_row(&row)?;
                self.tasks.insert(
                    row.task_id.clone(),
                    HeldTask { row, dirty: false, search_pending: false, latest_summary: None },
                );
            }
        }
        for chunk in unread.report_ids.chunks(IDS_PER_STATEMENT) {
            let sql = format!(
                "SELECT report_id, max(version_no), min(filed_position) FROM {} WHERE report_id IN ({}) \
                 GROUP BY report_id",
                table("reports", generation),
                placeholders(1, chunk.len())
            );
            let mut query = sqlx::query(&sql);
            for report_id in chunk {
                query = query.bind(report_id.as_str());
            }
            for row in query.fetch_all(&mut **transaction).await? {
                let report_id: String = row.try_get(0)?;
                let report_id = uuid::Uuid::parse_str(&report_id)
                    .map_err(|error| DbError::Unavailable(format!("stored report id {report_id:?}: {error}")))?;
                self.known_reports.insert(ReportId(report_id), (row.try_get::<i64, _>(1)?, row.try_get::<i64, _>(2)?));
            }
        }
        Ok(())
    }

    fn apply<P>(&mut self, event: &'e RecordedEvent<P>, fact: &'e TaskFact<'_>) -> Result<(), ApplyError> {
        let position = event.global_position as i64;
        let poison = |reason: &str| ApplyError::Poison { position: event.global_position, reason: reason.to_owned() };
        if let Some(assigned) = fact.assigned() {
            self.assign(event, assigned);
            return Ok(());
        }
        let task_id = task_id_of(event);
        let held = self.tasks.get_mut(task_id).ok_or_else(|| poison("the task was never assigned"))?;
        held.dirty = true;
        let task = &mut held.row;
        task.version += 1;
        task.position = position;
        match fact {
            TaskFact::Reported(reported) => {
                let row = report_row(event, task, 1, position, reported);
                task.n_reports += 1;
                if latest_beats(task, &row.as_of, position) {
                    set_latest(held, &row.as_of, position, reported);
                }
                self.known_reports.insert(reported.report_id, (1, position));
                self.new_reports.push(row);
            }
            TaskFact::Corrected(corrected) => {
                let (last_version, filed) = *self
                    .known_reports
                    .get(&corrected.report_id)
                    .ok_or_else(|| poison("the corrected report does not exist"))?;
                let row = report_row(event, task, last_version + 1, filed, corrected);
                // The latest report is the greatest (cut-off, filed position) among current versions. A correction
                // that keeps or raises the latest report's cut-off, or lifts another report above it, settles it
                // here; one that lowers the latest report's cut-off needs every current version: recomputed after
                // the batch's reports are written.
                let was_latest = task.last_report_filed == Some(filed);
                let keeps_its_place = task.last_report_as_of.as_deref().is_none_or(|as_of| row.as_of.as_str() >= as_of);
                if was_latest && !keeps_its_place {
                    self.recompute_latest.push(task_id.to_owned());
                } else if was_latest || latest_beats(task, &row.as_of, filed) {
                    set_latest(held, &row.as_of, filed, corrected);
                }
                self.known_reports.insert(corrected.report_id, (last_version + 1, filed));
                self.new_reports.push(row);
            }
            TaskFact::Other(decoded) => self.apply_decision(event, task_id, decoded)?,
        }
        Ok(())
    }

    /// A task's first event: its row, from nothing.
    fn assign<P>(&mut self, event: &RecordedEvent<P>, assigned: &TaskAssigned) {
        let position = event.global_position as i64;
        let number = assigned.number.to_string();
        let target_text = assigned.target.as_ref().map(Target::text).unwrap_or_default().to_owned();
        let row = TaskRow {
            task_id: assigned.task_id.to_string(),
            plan_id: assigned.plan_id.to_string(),
            section: assigned.section.to_string(),
            section_rank: i64::from(assigned.section.value()),
            number_key: number_key(&assigned.number),
            search_text: String::new(),
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
        let task = HeldTask { row, dirty: true, search_pending: true, latest_summary: None };
        self.tasks.insert(task.row.task_id.clone(), task);
    }

    /// Extensions and lifecycle decisions: a change row each, and the task's deadline or lifecycle.
    fn apply_decision<P>(
        &mut self,
        event: &RecordedEvent<P>,
        task_id: &str,
        decoded: &TaskEvent,
    ) -> Result<(), ApplyError> {
        let position = event.global_position as i64;
        let poison = |reason: &str| ApplyError::Poison { position: event.global_position, reason: reason.to_owned() };
        let task = &mut self.tasks.get_mut(task_id).ok_or_else(|| poison("the task was never assigned"))?.row;
        let recorded_at = format_recorded_at(event.recorded_at);
        let change = |kind: &str,
                      lifecycle: Option<Lifecycle>,
                      deadline: Option<&Deadline>,
                      completed_on: Option<String>,
                      effective_on: String| ChangeRow {
            position,
            task_id: task_id.to_owned(),
            plan_id: task.plan_id.clone(),
            kind: kind.to_owned(),
            lifecycle: lifecycle.map(|lifecycle| lifecycle.as_str().to_owned()),
            deadline: deadline.map(Deadline::code),
            completed_on,
            effective_on,
            recorded_at: recorded_at.clone(),
        };
        match decoded {
            TaskEvent::TaskAssigned(_) => unreachable!("handled by apply"),
            TaskEvent::ProgressReported(_) | TaskEvent::ReportCorrected(_) => {
                unreachable!("reports are read as facts of their own")
            }
            TaskEvent::DeadlineExtensionApproved(approved) => {
                let row =
                    change("deadline", None, Some(&approved.new_deadline), None, approved.effective_on.to_string());
                task.deadline = Some(approved.new_deadline.code());
                task.due_date = Some(approved.new_deadline.due_date().to_string());
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

    /// Settles the latest report of tasks whose latest was corrected to an earlier cut-off (once the batch's report
    /// rows are written), and answers the task rows (written by the session's flush) and the reports known.
    async fn settle(
        mut self,
        transaction: &mut Transaction<'static, Any>,
        generation: i64,
    ) -> Result<(HashMap<String, HeldTask>, KnownReports), ApplyError> {
        for task_id in dedup(std::mem::take(&mut self.recompute_latest)) {
            if let Some(held) = self.tasks.get_mut(&task_id) {
                recompute_latest_report(transaction, generation, held).await?;
            }
        }
        Ok((self.tasks, self.known_reports))
    }
}

/// Inserts a batch's report rows into `reports` (the generation's table).
async fn insert_reports(
    transaction: &mut Transaction<'static, Any>,
    reports: &str,
    rows: Vec<ReportRow<'_>>,
) -> Result<(), ApplyError> {
    for chunk in chunks(rows, rows_per_statement(N_REPORT_COLUMNS)) {
        let sql =
            format!("INSERT INTO {reports} ({REPORT_COLUMNS}) VALUES {}", values_rows(chunk.len(), N_REPORT_COLUMNS));
        let mut query = sqlx::query(&sql);
        for report in chunk {
            query = query
                .bind(report.report_id.to_string())
                .bind(report.version_no)
                .bind(report.task_id)
                .bind(report.plan_id)
                .bind(report.as_of)
                .bind(report.summary)
                .bind(report.progress)
                .bind(report.recorded_at)
                .bind(report.position)
                .bind(report.filed_position)
                .bind(report.actor_id)
                .bind(report.actor_name)
                .bind(report.actor_unit)
                .bind(report.correction_reason);
        }
        query.execute(&mut **transaction).await?;
    }
    Ok(())
}

/// Inserts a batch's change rows into `changes` (the generation's table).
async fn insert_changes(
    transaction: &mut Transaction<'static, Any>,
    changes: &str,
    rows: Vec<ChangeRow>,
) -> Result<(), ApplyError> {
    for chunk in chunks(rows, rows_per_statement(N_CHANGE_COLUMNS)) {
        let sql =
            format!("INSERT INTO {changes} ({CHANGE_COLUMNS}) VALUES {}", values_rows(chunk.len(), N_CHANGE_COLUMNS));
        let mut query = sqlx::query(&sql);
        for change in chunk {
            query = query
                .bind(change.position)
                .bind(change.task_id)
                .bind(change.plan_id)
                .bind(change.kind)
                .bind(change.lifecycle)
                .bind(change.deadline)
                .bind(change.completed_on)
                .bind(change.effective_on)
                .bind(change.recorded_at);
        }
        query.execute(&mut **transaction).await?;
    }
    Ok(())
}

/// Writes task rows: inserted, or updated where they exist.
async fn write_tasks(
    transaction: &mut Transaction<'static, Any>,
    generation: i64,
    tasks: Vec<TaskRow>,
) -> Result<(), ApplyError> {
    for chunk in chunks(tasks, rows_per_statement(N_TASK_COLUMNS)) {
        let sql = format!(
            "INSERT INTO {} ({TASK_COLUMNS}) VALUES {} {TASK_UPSERT}",
            table("tasks", generation),
            values_rows(chunk.len(), N_TASK_COLUMNS)
        );
        let mut query = sqlx::query(&sql);
        for task in chunk {
            query = query
                .bind(task.task_id)
                .bind(task.plan_id)
                .bind(task.section)
                .bind(task.section_rank)
                .bind(task.number)
                .bind(task.number_key)
                .bind(task.parent_id)
                .bind(task.title)
                .bind(task.search_text)
                .bind(task.target_text)
                .bind(task.lead_unit)
                .bind(task.coordinating_units)
                .bind(task.original_deadline)
                .bind(task.deadline)
                .bind(task.due_date)
                .bind(task.lifecycle)
                .bind(task.completed_on)
                .bind(task.n_reports)
                .bind(task.last_report_as_of)
                .bind(task.last_report_filed)
                .bind(task.last_report_progress)
                .bind(task.version)
                .bind(task.position)
                .bind(task.assigned_at);
        }
        query.execute(&mut **transaction).await?;
    }
    Ok(())
}

/// After a correction moved the latest report to an earlier cut-off: the latest report of the task (latest
/// cut-off, then latest filed) among current versions, from the reports table.
async fn recompute_latest_report(
    transaction: &mut Transaction<'static, Any>,
    generation: i64,
    held: &mut HeldTask,
) -> Result<(), ApplyError> {
    let reports = table("reports", generation);
    let latest = sqlx::query(&format!(
        "SELECT as_of, filed_position, progress, summary FROM {reports} r
         WHERE task_id = $1 AND version_no = (SELECT max(version_no) FROM {reports} v WHERE v.report_id = r.report_id)
         ORDER BY as_of DESC, filed_position DESC LIMIT 1"
    ))
    .bind(held.row.task_id.clone())
    .fetch_optional(&mut **transaction)
    .await?;
    if let Some(row) = latest {
        let progress: Option<String> = row.try_get(2)?;
        held.row.last_report_as_of = Some(row.try_get(0)?);
        held.row.last_report_filed = Some(row.try_get(1)?);
        held.row.last_report_progress = Some(progress.unwrap_or_else(|| NO_PROGRESS.to_owned()));
        held.latest_summary = Some(row.try_get(3)?);
        held.search_pending = true;
    }
    Ok(())
}

impl CopyRow for TaskRow {
    /// In the order of [`TASK_COLUMNS`].
    fn write_fields(&self, text: &mut CopyText) {
        text.text(&self.task_id);
        text.text(&self.plan_id);
        text.text(&self.section);
        text.integer(self.section_rank);
        text.text(&self.number);
        text.text(&self.number_key);
        text.optional_text(self.parent_id.as_deref());
        text.text(&self.title);
        text.text(&self.search_text);
        text.text(&self.target_text);
        text.text(&self.lead_unit);
        text.text(&self.coordinating_units);
        text.optional_text(self.original_deadline.as_deref());
        text.optional_text(self.deadline.as_deref());
        text.optional_text(self.due_date.as_deref());
        text.text(&self.lifecycle);
        text.optional_text(self.completed_on.as_deref());
        text.integer(self.n_reports);
        text.optional_text(self.last_report_as_of.as_deref());
        text.optional_integer(self.last_report_filed);
        text.optional_text(self.last_report_progress.as_deref());
        text.integer(self.version);
        text.integer(self.position);
        text.text(&self.assigned_at);
    }
}

impl CopyRow for ReportRow<'_> {
    /// In the order of [`REPORT_COLUMNS`].
    fn write_fields(&self, text: &mut CopyText) {
        text.plain(self.report_id.0.hyphenated().encode_lower(&mut uuid::Uuid::encode_buffer()));
        text.integer(self.version_no);
        text.text(self.task_id);
        text.text(&self.plan_id);
        text.text(&self.as_of);
        text.text(self.summary);
        text.optional_text(self.progress);
        text.text(&self.recorded_at);
        text.integer(self.position);
        text.integer(self.filed_position);
        text.text(self.actor_id);
        text.text(self.actor_name);
        text.text(self.actor_unit);
        text.optional_text(self.correction_reason);
    }
}

impl CopyRow for ChangeRow {
    /// In the order of [`CHANGE_COLUMNS`].
    fn write_fields(&self, text: &mut CopyText) {
        text.integer(self.position);
        text.text(&self.task_id);
        text.text(&self.plan_id);
        text.text(&self.kind);
        text.optional_text(self.lifecycle.as_deref());
        text.optional_text(self.deadline.as_deref());
        text.optional_text(self.completed_on.as_deref());
        text.text(&self.effective_on);
        text.text(&self.recorded_at);
    }
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

/// A report's row; a correction's reason is in `report` (and a filing has none).
fn report_row<'e, P>(
    event: &'e RecordedEvent<P>,
    task: &TaskRow,
    version_no: i64,
    filed_position: i64,
    report: &'e StoredReport<'_>,
) -> ReportRow<'e> {
    ReportRow {
        report_id: report.report_id,
        version_no,
        task_id: task_id_of(event),
        plan_id: task.plan_id.clone(),
        as_of: report.as_of.to_string(),
        summary: &report.summary,
        progress: report.progress.map(|progress| Progress::from(progress).as_str()),
        recorded_at: format_recorded_at(event.recorded_at),
        position: event.global_position as i64,
        filed_position,
        actor_id: &event.actor.id,
        actor_name: &event.actor.name,
        actor_unit: &event.actor.unit,
        correction_reason: report.reason.as_deref(),
    }
}

/// The latest report's progress as stored on the task: a report that stated none says `none`.
const NO_PROGRESS: &str = "none";

/// Makes a report (its current version, its filing position) the task's latest. The texts are copied into the
/// strings the task holds already (a task's latest report changes with nearly every report on it).
fn set_latest(held: &mut HeldTask, as_of: &str, filed: i64, report: &StoredReport<'_>) {
    let task = &mut held.row;
    replace_text(&mut task.last_report_as_of, as_of);
    task.last_report_filed = Some(filed);
    let progress = report.progress.map_or(NO_PROGRESS, |progress| Progress::from(progress).as_str());
    replace_text(&mut task.last_report_progress, progress);
    replace_text(&mut held.latest_summary, &report.summary);
    held.search_pending = true;
}

/// Sets `slot` to `value`, reusing the string it holds.
fn replace_text(slot: &mut Option<String>, value: &str) {
    match slot {
        Some(text) => {
            text.clear();
            text.push_str(value);
        }
        None => *slot = Some(value.to_owned()),
    }
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

fn task_id_of<P>(event: &RecordedEvent<P>) -> &str {
    event.stream_id.0.trim_start_matches("task-")
}

/// `rows` in chunks of at most `max_size`, each moved out (their strings are bound without copying). Chunk sizes
/// are powers of two, so that the few statement texts they make stay prepared on the connection instead of a new
/// one being parsed for every batch's last chunk.
fn chunks<T>(rows: Vec<T>, max_size: usize) -> impl Iterator<Item = Vec<T>> {
    let largest = 1_usize << max_size.max(1).ilog2();
    let mut remaining = rows.len();
    let mut rows = rows.into_iter();
    std::iter::from_fn(move || {
        if remaining == 0 {
            return None;
        }
        let size = if remaining >= largest { largest } else { 1 << remaining.ilog2() };
        remaining -= size;
        Some(rows.by_ref().take(size).collect())
    })
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
    fn chunks_are_powers_of_two_in_order() {
        let sizes = |n: usize, max: usize| {
            chunks((0..n).collect(), max).map(|chunk: Vec<usize>| chunk.len()).collect::<Vec<_>>()
        };
        assert_eq!(sizes(0, 8), Vec::<usize>::new());
        assert_eq!(sizes(21, 8), vec![8, 8, 4, 1]);
        assert_eq!(sizes(5, 1_000), vec![4, 1]);
        assert_eq!(sizes(3, 1), vec![1, 1, 1]);
        assert_eq!(chunks((0..21).collect(), 6).flatten().collect::<Vec<usize>>(), (0..21).collect::<Vec<_>>());
    }

    #[test]
    fn number_keys_sort_in_numbering_order() {
        let key = |number: &str| number_key(&TaskNumber::parse(number).unwrap());
        assert!(key("2") < key("2.1"));
        assert!(key("2.9") < key("2.10"));
        assert!(key("9") < key("10"));
    }
}
