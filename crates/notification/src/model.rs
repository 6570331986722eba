//! The consumer of plan and task events: a read model of the projection runtime (`projection::runtime::Projector`
//! applies it exactly once per event, with its checkpoint in the same transaction as its rows, across replicas),
//! named `notifications`.
//!
//! It keeps what deriving and addressing reminders needs (`notify_plans`, `notify_tasks`, `notify_task_reports`,
//! `notify_report_requests`) and derives occurrences with the [`Scheduler`]: a task assigned with a deadline (of any
//! granularity: `Deadline::due_date`), a deadline extension approved, a task reopened, a plan's periodic cut-offs
//! for each unit that leads a task in it, a report request. Deriving only ever adds occurrences (the store keeps
//! those it already has): what an event makes obsolete — reminders of a deadline that moved, of a task completed,
//! cancelled or transferred, of a report filed — is decided by the dispatcher when the occurrence falls due, on
//! the task's state read again from the event store, and recorded as a skipped reminder with its reason, so that
//! nothing is dropped silently.
//!
//! Occurrences are wanted from the event's instant on (`horizon`: the earlier of when it was recorded and the
//! business clock's now): a task assigned three days before its deadline gets no "14 working days before"
//! reminder, while one derived late (the service was down when the event was appended) still gets those that fell
//! due in between, for the catch-up policy to decide.
//!
//! Its tables have no generation: `tables()` is empty, so a rebuild of the read models never drops them (sent state
//! must survive), and the runtime's generation is ignored. The model is not among `projection::read_models()`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use domain::deadline::{format_date_iso, Deadline};
use domain::plan::PlanEvent;
use domain::task::{Lifecycle, TaskEvent};
use event_store::RecordedEvent;
use http_api::Clock;
use projection::models::{aggregate_of, decode, ApplyError, ReadModel, Session};
use sqlx::{Any, Row, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::schedule::{ReportCutOff, Scheduler, TaskFacts};
use crate::store::{NotifyStore, PlannedOccurrence};

/// The model's name in `rm_projections`.
pub const MODEL_NAME: &str = "notifications";

/// The notifications read model.
pub struct NotificationModel {
    scheduler: Arc<Scheduler>,
    clock: Arc<dyn Clock>,
}

impl NotificationModel {
    pub fn new(scheduler: Arc<Scheduler>, clock: Arc<dyn Clock>) -> NotificationModel {
        NotificationModel { scheduler, clock }
    }
}

#[async_trait]
impl ReadModel for NotificationModel {
    fn name(&self) -> &'static str {
        MODEL_NAME
    }

    fn create_tables(&self, _generation: i64) -> Vec<String> {
        crate::store::create_statements()
    }

    /// None: the notification tables are never dropped by a rebuild.
    fn tables(&self, _generation: i64) -> Vec<String> {
        Vec::new()
    }

    fn session(&self, _generation: i64) -> Box<dyn Session> {
        Box::new(NotificationSession {
            scheduler: self.scheduler.clone(),
            clock: self.clock.clone(),
            pending: Vec::new(),
            plan_years: HashMap::new(),
            units_with_cut_offs: HashSet::new(),
        })
    }
}

struct NotificationSession {
    scheduler: Arc<Scheduler>,
    clock: Arc<dyn Clock>,
    /// Occurrences derived and not yet written.
    pending: Vec<PlannedOccurrence>,
    plan_years: HashMap<Uuid, Option<i32>>,
    /// The `(plan, unit)` pairs whose periodic cut-offs this session derived already.
    units_with_cut_offs: HashSet<(Uuid, String)>,
}

#[async_trait]
impl Session for NotificationSession {
    async fn apply(
        &mut self,
        transaction: &mut Transaction<'static, Any>,
        events: &[RecordedEvent],
    ) -> Result<(), ApplyError> {
        let n_pending_before = self.pending.len();
        let result = self.apply_events(transaction, events).await;
        if result.is_err() {
            // As it was before the call: the caller rolls the transaction back.
            self.pending.truncate(n_pending_before);
            self.plan_years.clear();
            self.units_with_cut_offs.clear();
        }
        result
    }

    async fn flush(&mut self, transaction: &mut Transaction<'static, Any>) -> Result<(), ApplyError> {
        let pending = std::mem::take(&mut self.pending);
        NotifyStore::insert_occurrences(transaction, &pending).await.map_err(|error| match error {
            crate::store::StoreError::Db(error) => ApplyError::Db(error),
            crate::store::StoreError::Corrupt(reason) => ApplyError::Db(projection::db::DbError::Unavailable(reason)),
        })
    }
}

impl NotificationSession {
    async fn apply_events(
        &mut self,
        transaction: &mut Transaction<'static, Any>,
        events: &[RecordedEvent],
    ) -> Result<(), ApplyError> {
        for event in events {
            let horizon = event.recorded_at.min(self.clock.now());
            match aggregate_of(event) {
                "plan" => {
                    let plan_id = stream_uuid(event)?;
                    let plan_event: PlanEvent = decode(event)?;
                    self.apply_plan_event(transaction, plan_id, plan_event, horizon).await?;
                }
                "task" => {
                    let task_id = stream_uuid(event)?;
                    let task_event: TaskEvent = decode(event)?;
                    self.apply_task_event(transaction, task_id, task_event, horizon).await?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    async fn apply_plan_event(
        &mut self,
        transaction: &mut Transaction<'static, Any>,
        plan_id: Uuid,
        event: PlanEvent,
        horizon: OffsetDateTime,
    ) -> Result<(), ApplyError> {
        match event {
            PlanEvent::PlanCreated(created) => {
                sqlx::query(
                    "INSERT INTO notify_plans (plan_id, agency, year, title) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (plan_id) DO NOTHING",
                )
                .bind(plan_id.to_string())
                .bind(created.agency.to_string())
                .bind(i64::from(created.year))
                .bind(created.title.as_str().to_owned())
                .execute(&mut **transaction)
                .await?;
                self.plan_years.insert(plan_id, Some(created.year));
            }
            PlanEvent::ReportRequested(requested) => {
                sqlx::query(
                    "INSERT INTO notify_report_requests (request_id, plan_id, cut_off, due_on, withdrawn)
                     VALUES ($1, $2, $3, $4, 0) ON CONFLICT (request_id) DO NOTHING",
                )
                .bind(requested.request_id.0.to_string())
                .bind(plan_id.to_string())
                .bind(format_date_iso(requested.cut_off))
                .bind(format_date_iso(requested.due_on))
                .execute(&mut **transaction)
                .await?;
                let units: Vec<String> = if requested.units.is_empty() {
                    sqlx::query("SELECT DISTINCT lead_unit FROM notify_tasks WHERE plan_id = $1 ORDER BY lead_unit")
                        .bind(plan_id.to_string())
                        .fetch_all(&mut **transaction)
                        .await?
                        .iter()
                        .map(|row| row.try_get::<String, _>(0))
                        .collect::<Result<_, _>>()?
                } else {
                    requested.units.iter().map(|unit| unit.to_string()).collect()
                };
                let period_start = requested.cut_off - time::Duration::days(30);
                for unit in units {
                    let cut_off = ReportCutOff {
                        plan_id,
                        unit,
                        period_start,
                        cut_off: requested.cut_off,
                        reminded_before: requested.due_on,
                        period_label: format!("Báo cáo đến {}", domain::deadline::format_date_vn(requested.cut_off)),
                        request_id: Some(requested.request_id.0),
                    };
                    self.pending.extend(self.scheduler.report_occurrences(&cut_off, horizon));
                }
            }
            PlanEvent::ReportRequestWithdrawn(withdrawn) => {
                sqlx::query("UPDATE notify_report_requests SET withdrawn = 1 WHERE request_id = $1")
                    .bind(withdrawn.request_id.0.to_string())
                    .execute(&mut **transaction)
                    .await?;
            }
            PlanEvent::TaskRegistered(_)
            | PlanEvent::PlanFrozen(_)
            | PlanEvent::PlanUnfrozen(_)
            | PlanEvent::ReportIssued(_) => {}
        }
        Ok(())
    }

    async fn apply_task_event(
        &mut self,
        transaction: &mut Transaction<'static, Any>,
        task_id: Uuid,
        event: TaskEvent,
        horizon: OffsetDateTime,
    ) -> Result<(), ApplyError> {
        match &event {
            TaskEvent::TaskAssigned(assigned) => {
                sqlx::query(
                    "INSERT INTO notify_tasks (task_id, plan_id, parent_id, number, title, lead_unit, deadline,
                                               lifecycle, n_indicators)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0) ON CONFLICT (task_id) DO NOTHING",
                )
                .bind(task_id.to_string())
                .bind(assigned.plan_id.0.to_string())
                .bind(assigned.parent_id.map(|parent| parent.0.to_string()))
                .bind(assigned.number.to_string())
                .bind(assigned.title.clone())
                .bind(assigned.lead_unit.to_string())
                .bind(assigned.deadline.map(|deadline| deadline.code()))
                .bind(Lifecycle::Open.as_str())
                .execute(&mut **transaction)
                .await?;
                if let Some(parent) = assigned.parent_id {
                    sqlx::query("UPDATE notify_tasks SET n_indicators = n_indicators + 1 WHERE task_id = $1")
                        .bind(parent.0.to_string())
                        .execute(&mut **transaction)
                        .await?;
                }
                let facts = TaskFacts {
                    task_id,
                    plan_id: assigned.plan_id.0,
                    lead_unit: assigned.lead_unit.to_string(),
                    deadline: assigned.deadline,
                };
                self.pending.extend(self.scheduler.deadline_occurrences(&facts, horizon));
                let first_of_unit = self.units_with_cut_offs.insert((facts.plan_id, facts.lead_unit.clone()));
                let year = if first_of_unit { self.plan_year(transaction, facts.plan_id).await? } else { None };
                if let Some(year) = year {
                    for cut_off in self.scheduler.periodic_cut_offs(facts.plan_id, &facts.lead_unit, year) {
                        self.pending.extend(self.scheduler.report_occurrences(&cut_off, horizon));
                    }
                }
            }
            TaskEvent::ProgressReported(reported) => {
                self.record_report(transaction, task_id, reported.report_id.0, reported.content.as_of).await?;
            }
            TaskEvent::ReportCorrected(corrected) => {
                self.record_report(transaction, task_id, corrected.report_id.0, corrected.content.as_of).await?;
            }
            TaskEvent::DeadlineExtensionApproved(approved) => {
                sqlx::query("UPDATE notify_tasks SET deadline = $1 WHERE task_id = $2")
                    .bind(approved.new_deadline.code())
                    .bind(task_id.to_string())
                    .execute(&mut **transaction)
                    .await?;
                if let Some(facts) = self.task_facts(transaction, task_id).await? {
                    self.pending.extend(self.scheduler.deadline_occurrences(&facts, horizon));
                }
            }
            TaskEvent::DeadlineExtensionRequested(_) | TaskEvent::DeadlineExtensionRejected(_) => {}
            TaskEvent::CompletionReported(_)
            | TaskEvent::CompletionConfirmed(_)
            | TaskEvent::CompletionRejected(_)
            | TaskEvent::TaskSuspended(_)
            | TaskEvent::TaskCancelled(_)
            | TaskEvent::TaskTransferred(_)
            | TaskEvent::TaskReopened(_) => {
                if let Some(lifecycle) = Lifecycle::after(&event) {
                    sqlx::query("UPDATE notify_tasks SET lifecycle = $1 WHERE task_id = $2")
                        .bind(lifecycle.as_str())
                        .bind(task_id.to_string())
                        .execute(&mut **transaction)
                        .await?;
                }
                // A task open again is chased again: the reminders still to come, and the overdue series from now.
                if matches!(event, TaskEvent::TaskReopened(_) | TaskEvent::CompletionRejected(_)) {
                    if let Some(facts) = self.task_facts(transaction, task_id).await? {
                        self.pending.extend(self.scheduler.deadline_occurrences(&facts, horizon));
                    }
                }
            }
        }
        Ok(())
    }

    async fn record_report(
        &mut self,
        transaction: &mut Transaction<'static, Any>,
        task_id: Uuid,
        report_id: Uuid,
        as_of: time::Date,
    ) -> Result<(), ApplyError> {
        sqlx::query(
            "INSERT INTO notify_task_reports (task_id, report_id, as_of) VALUES ($1, $2, $3)
             ON CONFLICT (task_id, report_id) DO UPDATE SET as_of = excluded.as_of",
        )
        .bind(task_id.to_string())
        .bind(report_id.to_string())
        .bind(format_date_iso(as_of))
        .execute(&mut **transaction)
        .await?;
        Ok(())
    }

    async fn task_facts(
        &mut self,
        transaction: &mut Transaction<'static, Any>,
        task_id: Uuid,
    ) -> Result<Option<TaskFacts>, ApplyError> {
        let row = sqlx::query("SELECT plan_id, lead_unit, deadline FROM notify_tasks WHERE task_id = $1")
            .bind(task_id.to_string())
            .fetch_optional(&mut **transaction)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let plan_id: String = row.try_get(0)?;
        let deadline: Option<String> = row.try_get(2)?;
        Ok(Some(TaskFacts {
            task_id,
            plan_id: Uuid::parse_str(&plan_id).unwrap_or_default(),
            lead_unit: row.try_get(1)?,
            deadline: deadline.as_deref().and_then(|code| Deadline::parse_code(code).ok()),
        }))
    }

    async fn plan_year(
        &mut self,
        transaction: &mut Transaction<'static, Any>,
        plan_id: Uuid,
    ) -> Result<Option<i32>, ApplyError> {
        if let Some(year) = self.plan_years.get(&plan_id) {
            return Ok(*year);
        }
        let row = sqlx::query("SELECT year FROM notify_plans WHERE plan_id = $1")
            .bind(plan_id.to_string())
            .fetch_optional(&mut **transaction)
            .await?;
        let year = row.map(|row| row.try_get::<i64, _>(0)).transpose()?.map(|year| year as i32);
        self.plan_years.insert(plan_id, year);
        Ok(year)
    }
}

fn stream_uuid(event: &RecordedEvent) -> Result<Uuid, ApplyError> {
    let id = event.stream_id.0.split_once('-').map_or("", |(_, id)| id);
    Uuid::parse_str(id).map_err(|error| ApplyError::Poison {
        position: event.global_position,
        reason: format!("stream id {} does not end in a UUID: {error}", event.stream_id),
    })
}
