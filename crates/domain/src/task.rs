//! The task aggregate: one task or indicator of a plan, with its reports, deadline extensions and lifecycle.
//!
//! `decide` answers the events a command produces (or why it is refused); `Task::evolve` folds events into state.
//! Both are pure. The command service loads the stream, decides, and appends with the stream's version as the
//! expected version, so that two concurrent commands on one task never both succeed on a stale state.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::actor::{Actor, Role};
use crate::deadline::Deadline;
use crate::document_ref::DocumentRef;
use crate::error::DomainError;
use crate::ids::{ExtensionId, PlanId, ReportId, TaskId};
use crate::measure::{Measure, Target};
use crate::numbering::{SectionCode, TaskNumber};
use crate::plan::require_role;
use crate::status::{Progress, ReportedProgress, Timeliness};
use crate::text::NonEmptyText;
use crate::unit_code::UnitCode;

#[cfg(test)]
mod tests;

/// Assigns a task (number `n`) or an indicator (number `n.m`, with `parent_id`). Decided by `plan::assign_task`.
#[derive(Debug, Clone, PartialEq)]
pub struct AssignTask {
    pub task_id: TaskId,
    pub section: SectionCode,
    pub number: TaskNumber,
    pub parent_id: Option<TaskId>,
    /// NFC-normalised. May be empty only for a task that merely groups indicators (the seed's "Nhiệm vụ 2:").
    pub title: String,
    pub target: Option<Target>,
    pub deadline: Option<Deadline>,
    pub lead_unit: UnitCode,
    pub coordinating_units: Vec<UnitCode>,
    pub basis: Vec<DocumentRef>,
}

/// What a report says: progress as of a cut-off date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportContent {
    pub as_of: Date,
    pub summary: NonEmptyText,
    pub measures: Vec<Measure>,
    pub progress: Option<ReportedProgress>,
    pub evidence: Vec<DocumentRef>,
}

/// The types of the events that change nothing of a task but its reports: a fold that skips them has every other
/// field as the whole fold has it (see [`Task::evolve`]), and its `version` once set to the stream's version.
pub const REPORT_EVENT_TYPES: [&str; 2] = ["ProgressReported", "ReportCorrected"];

/// The commands on an existing task.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskCommand {
    FileReport {
        report_id: ReportId,
        content: ReportContent,
    },
    CorrectReport {
        report_id: ReportId,
        reason: NonEmptyText,
        content: ReportContent,
    },
    RequestExtension {
        extension_id: ExtensionId,
        proposed_deadline: Deadline,
        reason: NonEmptyText,
        basis: Vec<DocumentRef>,
        effective_on: Date,
    },
    ApproveExtension {
        extension_id: ExtensionId,
        new_deadline: Option<Deadline>,
        basis: Vec<DocumentRef>,
        note: Option<NonEmptyText>,
        effective_on: Date,
    },
    RejectExtension {
        extension_id: ExtensionId,
        reason: NonEmptyText,
        basis: Vec<DocumentRef>,
        effective_on: Date,
    },
    ReportCompletion {
        as_of: Date,
        summary: NonEmptyText,
        evidence: Vec<DocumentRef>,
    },
    ConfirmCompletion {
        basis: Vec<DocumentRef>,
        note: Option<NonEmptyText>,
        effective_on: Date,
    },
    RejectCompletion {
        reason: NonEmptyText,
        basis: Vec<DocumentRef>,
        effective_on: Date,
    },
    Suspend {
        reason: NonEmptyText,
        basis: Vec<DocumentRef>,
        effective_on: Date,
    },
    Cancel {
        reason: NonEmptyText,
        basis: Vec<DocumentRef>,
        effective_on: Date,
    },
    Transfer {
        to_unit: UnitCode,
        reason: NonEmptyText,
        basis: Vec<DocumentRef>,
        effective_on: Date,
    },
    Reopen {
        reason: NonEmptyText,
        basis: Vec<DocumentRef>,
        effective_on: Date,
    },
}

/// Events of a task stream. Stored as `event_type` + `payload`; the JSON of each is a compatibility contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event_type", content = "payload")]
pub enum TaskEvent {
    TaskAssigned(TaskAssigned),
    ProgressReported(ProgressReported),
    ReportCorrected(ReportCorrected),
    DeadlineExtensionRequested(DeadlineExtensionRequested),
    DeadlineExtensionApproved(DeadlineExtensionApproved),
    DeadlineExtensionRejected(DeadlineExtensionRejected),
    CompletionReported(CompletionReported),
    CompletionConfirmed(Decision),
    CompletionRejected(Decision),
    TaskSuspended(Decision),
    TaskCancelled(Decision),
    TaskTransferred(TaskTransferred),
    TaskReopened(Decision),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskAssigned {
    pub task_id: TaskId,
    pub plan_id: PlanId,
    pub section: SectionCode,
    pub number: TaskNumber,
    pub parent_id: Option<TaskId>,
    pub title: String,
    pub target: Option<Target>,
    pub deadline: Option<Deadline>,
    pub lead_unit: UnitCode,
    pub coordinating_units: Vec<UnitCode>,
    pub basis: Vec<DocumentRef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgressReported {
    pub report_id: ReportId,
    #[serde(flatten)]
    pub content: ReportContent,
}

/// A new version of a report; the report's earlier versions stay in history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportCorrected {
    pub report_id: ReportId,
    pub reason: NonEmptyText,
    #[serde(flatten)]
    pub content: ReportContent,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadlineExtensionRequested {
    pub extension_id: ExtensionId,
    pub current_deadline: Deadline,
    pub proposed_deadline: Deadline,
    pub reason: NonEmptyText,
    pub basis: Vec<DocumentRef>,
    pub effective_on: Date,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadlineExtensionApproved {
    pub extension_id: ExtensionId,
    pub new_deadline: Deadline,
    pub basis: Vec<DocumentRef>,
    pub note: Option<NonEmptyText>,
    pub effective_on: Date,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadlineExtensionRejected {
    pub extension_id: ExtensionId,
    pub reason: NonEmptyText,
    pub basis: Vec<DocumentRef>,
    pub effective_on: Date,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompletionReported {
    pub as_of: Date,
    pub summary: NonEmptyText,
    pub evidence: Vec<DocumentRef>,
}

/// A lifecycle decision with its reason (or note) and the documents it rests on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub reason: Option<NonEmptyText>,
    pub basis: Vec<DocumentRef>,
    pub effective_on: Date,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskTransferred {
    pub to_unit: UnitCode,
    pub reason: NonEmptyText,
    pub basis: Vec<DocumentRef>,
    pub effective_on: Date,
}

/// Who recorded an event and when, as the store's provenance says. Folding keeps it beside what it recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recorded {
    pub position: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
    pub actor_id: String,
    pub actor_name: String,
    pub actor_unit: String,
    pub actor_role: String,
}

/// A task as its events leave it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Task {
    pub task_id: TaskId,
    pub plan_id: PlanId,
    pub section: SectionCode,
    pub number: TaskNumber,
    pub parent_id: Option<TaskId>,
    pub title: String,
    pub target: Option<Target>,
    /// The deadline as assigned; never changed by extensions.
    pub original_deadline: Option<Deadline>,
    /// The deadline in force: the original one or the last approved extension.
    pub deadline: Option<Deadline>,
    pub lead_unit: UnitCode,
    pub coordinating_units: Vec<UnitCode>,
    pub basis: Vec<DocumentRef>,
    pub lifecycle: Lifecycle,
    /// In filing order. Changed only by [`Task::evolve`], which keeps `report_positions` in step.
    pub reports: Vec<Report>,
    pub extensions: Vec<Extension>,
    pub completion: Option<Completion>,
    pub assigned: Recorded,
    /// The number of events folded (the stream version).
    pub version: u64,
    /// Where each report is in `reports`: a task followed for years gathers thousands of reports, and every
    /// filing or correction looks its report up.
    #[serde(skip)]
    report_positions: HashMap<ReportId, usize>,
}

/// Where the task stands apart from what reports say of progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Lifecycle {
    Open,
    AwaitingConfirmation,
    Done,
    Suspended,
    Cancelled,
    Transferred,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub report_id: ReportId,
    /// The content in force: the last correction's, or the original.
    pub current: ReportContent,
    pub filed: Recorded,
    pub versions: Vec<ReportVersion>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportVersion {
    pub content: ReportContent,
    /// `None` for the original filing.
    pub correction_reason: Option<NonEmptyText>,
    pub recorded: Recorded,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Extension {
    pub extension_id: ExtensionId,
    pub current_deadline: Deadline,
    pub proposed_deadline: Deadline,
    pub reason: NonEmptyText,
    pub basis: Vec<DocumentRef>,
    /// The business date of the request; a decision cannot take effect before it.
    pub requested_on: Date,
    pub requested: Recorded,
    pub status: ExtensionStatus,
    pub decided: Option<Recorded>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ExtensionStatus {
    Pending,
    Approved { new_deadline: Deadline, basis: Vec<DocumentRef> },
    Rejected { reason: NonEmptyText, basis: Vec<DocumentRef> },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Completion {
    pub as_of: Date,
    pub summary: NonEmptyText,
    pub evidence: Vec<DocumentRef>,
    pub reported: Recorded,
    pub confirmed: Option<Recorded>,
}

impl Lifecycle {
    /// The lifecycle an event leaves the task in, for the events that set it. Every such event sets it outright,
    /// so the lifecycle after a sequence of events is the one the last of them set.
    pub fn after(event: &TaskEvent) -> Option<Lifecycle> {
        match event {
            TaskEvent::CompletionReported(_) => Some(Lifecycle::AwaitingConfirmation),
            TaskEvent::CompletionConfirmed(_) => Some(Lifecycle::Done),
            TaskEvent::CompletionRejected(_) | TaskEvent::TaskReopened(_) => Some(Lifecycle::Open),
            TaskEvent::TaskSuspended(_) => Some(Lifecycle::Suspended),
            TaskEvent::TaskCancelled(_) => Some(Lifecycle::Cancelled),
            TaskEvent::TaskTransferred(_) => Some(Lifecycle::Transferred),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Lifecycle::Open => "open",
            Lifecycle::AwaitingConfirmation => "awaiting_confirmation",
            Lifecycle::Done => "done",
            Lifecycle::Suspended => "suspended",
            Lifecycle::Cancelled => "cancelled",
            Lifecycle::Transferred => "transferred",
        }
    }

    pub fn parse(input: &str) -> Option<Lifecycle> {
        [
            Lifecycle::Open,
            Lifecycle::AwaitingConfirmation,
            Lifecycle::Done,
            Lifecycle::Suspended,
            Lifecycle::Cancelled,
            Lifecycle::Transferred,
        ]
        .into_iter()
        .find(|lifecycle| lifecycle.as_str() == input)
    }
}

/// Reported progress from the lifecycle and the progress the latest report stated (`None` without any report;
/// `Some(None)` for a report that stated none, which counts as in progress).
pub fn progress_of(lifecycle: Lifecycle, latest_report_progress: Option<Option<ReportedProgress>>) -> Progress {
    match lifecycle {
        Lifecycle::AwaitingConfirmation => Progress::AwaitingConfirmation,
        Lifecycle::Done => Progress::Done,
        Lifecycle::Suspended => Progress::Suspended,
        Lifecycle::Cancelled => Progress::Cancelled,
        Lifecycle::Transferred => Progress::Transferred,
        Lifecycle::Open => match latest_report_progress {
            None => Progress::NotStarted,
            Some(stated) => stated.map(Progress::from).unwrap_or(Progress::InProgress),
        },
    }
}

impl TaskCommand {
    /// Whether deciding the command needs the task's earlier reports. Filing a report does not: its checks are on
    /// the task's units and lifecycle, and its id is new (a UUID v7 made for the command), so it can be decided on a
    /// fold that skipped the [`REPORT_EVENT_TYPES`].
    pub fn needs_reports(&self) -> bool {
        !matches!(self, TaskCommand::FileReport { .. })
    }
}

/// Decides a command on an existing task.
pub fn decide(task: &Task, command: TaskCommand, actor: &Actor) -> Result<Vec<TaskEvent>, DomainError> {
    let event = match command {
        TaskCommand::FileReport { report_id, content } => {
            require_task_unit(task, actor, "file reports on")?;
            require_accepts_reports(task)?;
            if task.report(report_id).is_some() {
                return Err(DomainError::state_conflict(format!("report {report_id} already exists")));
            }
            TaskEvent::ProgressReported(ProgressReported { report_id, content })
        }
        TaskCommand::CorrectReport { report_id, reason, content } => {
            require_task_unit(task, actor, "correct reports on")?;
            let report = task
                .report(report_id)
                .ok_or_else(|| DomainError::not_found(format!("report {report_id} of task {}", task.task_id)))?;
            if report.current == content {
                return Err(DomainError::invalid("summary", "a correction must change something in the report"));
            }
            TaskEvent::ReportCorrected(ReportCorrected { report_id, reason, content })
        }
        TaskCommand::RequestExtension { extension_id, proposed_deadline, reason, basis, effective_on } => {
            require_task_unit(task, actor, "request deadline extensions on")?;
            require_open(task, "request a deadline extension")?;
            let current_deadline =
                task.deadline.ok_or_else(|| DomainError::state_conflict("the task has no deadline to extend"))?;
            if proposed_deadline.due_date() <= current_deadline.due_date() {
                return Err(DomainError::invalid(
                    "proposed_deadline",
                    format!("must fall due after the current deadline ({})", current_deadline.vietnamese()),
                ));
            }
            if let Some(pending) = task.extensions.iter().find(|extension| extension.status == ExtensionStatus::Pending)
            {
                return Err(DomainError::state_conflict(format!(
                    "extension {} is still awaiting a decision",
                    pending.extension_id
                )));
            }
            if task.extensions.iter().any(|extension| extension.extension_id == extension_id) {
                return Err(DomainError::state_conflict(format!("extension {extension_id} already exists")));
            }
            TaskEvent::DeadlineExtensionRequested(DeadlineExtensionRequested {
                extension_id,
                current_deadline,
                proposed_deadline,
                reason,
                basis,
                effective_on,
            })
        }
        TaskCommand::ApproveExtension { extension_id, new_deadline, basis, note, effective_on } => {
            require_assigner_decision(task, actor, "decide on deadline extensions")?;
            let extension = pending_extension(task, extension_id)?;
            require_basis(&basis)?;
            require_not_before_request(extension, effective_on)?;
            let new_deadline = new_deadline.unwrap_or(extension.proposed_deadline);
            if new_deadline.due_date() <= extension.current_deadline.due_date() {
                return Err(DomainError::invalid(
                    "new_deadline",
                    format!("must fall due after the deadline in force ({})", extension.current_deadline.vietnamese()),
                ));
            }
            TaskEvent::DeadlineExtensionApproved(DeadlineExtensionApproved {
                extension_id,
                new_deadline,
                basis,
                note,
                effective_on,
            })
        }
        TaskCommand::RejectExtension { extension_id, reason, basis, effective_on } => {
            require_assigner_decision(task, actor, "decide on deadline extensions")?;
            let extension = pending_extension(task, extension_id)?;
            require_not_before_request(extension, effective_on)?;
            TaskEvent::DeadlineExtensionRejected(DeadlineExtensionRejected {
                extension_id,
                reason,
                basis,
                effective_on,
            })
        }
        TaskCommand::ReportCompletion { as_of, summary, evidence } => {
            require_task_unit(task, actor, "report completion of")?;
            require_open(task, "report completion")?;
            TaskEvent::CompletionReported(CompletionReported { as_of, summary, evidence })
        }
        TaskCommand::ConfirmCompletion { basis, note, effective_on } => {
            require_assigner_decision(task, actor, "confirm completion")?;
            require_lifecycle(task, Lifecycle::AwaitingConfirmation, "confirm completion")?;
            TaskEvent::CompletionConfirmed(Decision { reason: note, basis, effective_on })
        }
        TaskCommand::RejectCompletion { reason, basis, effective_on } => {
            require_assigner_decision(task, actor, "reject completion")?;
            require_lifecycle(task, Lifecycle::AwaitingConfirmation, "reject completion")?;
            TaskEvent::CompletionRejected(Decision { reason: Some(reason), basis, effective_on })
        }
        TaskCommand::Suspend { reason, basis, effective_on } => {
            require_role(actor, &[Role::Planner, Role::Admin], "suspend tasks")?;
            require_open(task, "suspend it")?;
            TaskEvent::TaskSuspended(Decision { reason: Some(reason), basis, effective_on })
        }
        TaskCommand::Cancel { reason, basis, effective_on } => {
            require_role(actor, &[Role::Planner, Role::Admin], "cancel tasks")?;
            require_not_closed(task, "cancel it")?;
            TaskEvent::TaskCancelled(Decision { reason: Some(reason), basis, effective_on })
        }
        TaskCommand::Transfer { to_unit, reason, basis, effective_on } => {
            require_role(actor, &[Role::Planner, Role::Admin], "transfer tasks")?;
            require_not_closed(task, "transfer it")?;
            if to_unit == task.lead_unit {
                return Err(DomainError::invalid(
                    "to_unit",
                    "a task is transferred to a unit other than its lead unit",
                ));
            }
            TaskEvent::TaskTransferred(TaskTransferred { to_unit, reason, basis, effective_on })
        }
        TaskCommand::Reopen { reason, basis, effective_on } => {
            require_role(actor, &[Role::Planner, Role::Approver, Role::Admin], "reopen tasks")?;
            if matches!(task.lifecycle, Lifecycle::Open | Lifecycle::AwaitingConfirmation) {
                return Err(DomainError::state_conflict(
                    "the task is open; only a done, suspended, cancelled or transferred task is reopened",
                ));
            }
            TaskEvent::TaskReopened(Decision { reason: Some(reason), basis, effective_on })
        }
    };
    Ok(vec![event])
}

impl Task {
    /// Folds a task stream. `None` until the stream has its `TaskAssigned`.
    pub fn fold<'a>(events: impl IntoIterator<Item = (&'a TaskEvent, &'a Recorded)>) -> Option<Task> {
        let mut task: Option<Task> = None;
        for (event, recorded) in events {
            task = Task::evolve(task, event, recorded);
        }
        task
    }

    /// Applies one event. Events that do not fit the state (which the decisions never produce) leave it unchanged,
    /// so that a read never fails on history.
    pub fn evolve(state: Option<Task>, event: &TaskEvent, recorded: &Recorded) -> Option<Task> {
        if let TaskEvent::TaskAssigned(assigned) = event {
            return Some(Task::assigned(assigned, recorded));
        }
        let mut task = state?;
        task.version += 1;
        match event {
            TaskEvent::TaskAssigned(_) => unreachable!("handled above"),
            TaskEvent::ProgressReported(reported) => {
                task.report_positions.insert(reported.report_id, task.reports.len());
                task.reports.push(Report {
                    report_id: reported.report_id,
                    current: reported.content.clone(),
                    filed: recorded.clone(),
                    versions: vec![ReportVersion {
                        content: reported.content.clone(),
                        correction_reason: None,
                        recorded: recorded.clone(),
                    }],
                });
            }
            TaskEvent::ReportCorrected(corrected) => {
                let position = task.report_positions.get(&corrected.report_id).copied();
                if let Some(report) = position.and_then(|position| task.reports.get_mut(position)) {
                    report.current = corrected.content.clone();
                    report.versions.push(ReportVersion {
                        content: corrected.content.clone(),
                        correction_reason: Some(corrected.reason.clone()),
                        recorded: recorded.clone(),
                    });
                }
            }
            TaskEvent::DeadlineExtensionRequested(requested) => task.extensions.push(Extension {
                extension_id: requested.extension_id,
                current_deadline: requested.current_deadline,
                proposed_deadline: requested.proposed_deadline,
                reason: requested.reason.clone(),
                basis: requested.basis.clone(),
                requested_on: requested.effective_on,
                requested: recorded.clone(),
                status: ExtensionStatus::Pending,
                decided: None,
            }),
            TaskEvent::DeadlineExtensionApproved(approved) => {
                if let Some(extension) = task.extension_mut(approved.extension_id) {
                    extension.status = ExtensionStatus::Approved {
                        new_deadline: approved.new_deadline,
                        basis: approved.basis.clone(),
                    };
                    extension.decided = Some(recorded.clone());
                    task.deadline = Some(approved.new_deadline);
                }
            }
            TaskEvent::DeadlineExtensionRejected(rejected) => {
                if let Some(extension) = task.extension_mut(rejected.extension_id) {
                    extension.status =
                        ExtensionStatus::Rejected { reason: rejected.reason.clone(), basis: rejected.basis.clone() };
                    extension.decided = Some(recorded.clone());
                }
            }
            TaskEvent::CompletionReported(reported) => {
                task.completion = Some(Completion {
                    as_of: reported.as_of,
                    summary: reported.summary.clone(),
                    evidence: reported.evidence.clone(),
                    reported: recorded.clone(),
                    confirmed: None,
                });
            }
            TaskEvent::CompletionConfirmed(_) => {
                if let Some(completion) = task.completion.as_mut() {
                    completion.confirmed = Some(recorded.clone());
                }
            }
            TaskEvent::CompletionRejected(_) | TaskEvent::TaskReopened(_) => task.completion = None,
            TaskEvent::TaskSuspended(_) | TaskEvent::TaskCancelled(_) | TaskEvent::TaskTransferred(_) => {}
        }
        if let Some(lifecycle) = Lifecycle::after(event) {
            task.lifecycle = lifecycle;
        }
        Some(task)
    }

    fn assigned(assigned: &TaskAssigned, recorded: &Recorded) -> Task {
        Task {
            task_id: assigned.task_id,
            plan_id: assigned.plan_id,
            section: assigned.section.clone(),
            number: assigned.number.clone(),
            parent_id: assigned.parent_id,
            title: assigned.title.clone(),
            target: assigned.target.clone(),
            original_deadline: assigned.deadline,
            deadline: assigned.deadline,
            lead_unit: assigned.lead_unit.clone(),
            coordinating_units: assigned.coordinating_units.clone(),
            basis: assigned.basis.clone(),
            lifecycle: Lifecycle::Open,
            reports: Vec::new(),
            extensions: Vec::new(),
            completion: None,
            assigned: recorded.clone(),
            version: 1,
            report_positions: HashMap::new(),
        }
    }

    pub fn report(&self, report_id: ReportId) -> Option<&Report> {
        self.report_positions.get(&report_id).and_then(|&position| self.reports.get(position))
    }

    fn extension_mut(&mut self, extension_id: ExtensionId) -> Option<&mut Extension> {
        self.extensions.iter_mut().find(|extension| extension.extension_id == extension_id)
    }

    /// The report in force for a cut-off date: the one with the latest `as_of` not after `cut_off`
    /// (the later-filed one when two share a date).
    pub fn latest_report_as_of(&self, cut_off: Date) -> Option<&Report> {
        self.reports
            .iter()
            .enumerate()
            .filter(|(_, report)| report.current.as_of <= cut_off)
            .max_by_key(|(index, report)| (report.current.as_of, *index))
            .map(|(_, report)| report)
    }

    /// Reported progress (tình trạng thực hiện).
    pub fn progress(&self) -> Progress {
        let latest_report = self.reports.iter().max_by_key(|report| report.current.as_of);
        progress_of(self.lifecycle, latest_report.map(|report| report.current.progress))
    }

    /// Timeliness on a date (tình trạng thời hạn).
    pub fn timeliness(&self, on: Date, due_soon_days: i64) -> Timeliness {
        let completed_on = self.completion.as_ref().map(|completion| completion.as_of);
        Timeliness::compute(self.deadline.as_ref(), self.progress(), completed_on, on, due_soon_days)
    }

    /// "Nhiệm vụ 2: …" or "Chỉ tiêu 1: …", as the appendix shows the node.
    pub fn content(&self) -> String {
        crate::appendix::node_content(&self.number, &self.title)
    }

    /// Whether the unit may report on this task (its lead or one of its coordinating units).
    pub fn involves_unit(&self, unit: &UnitCode) -> bool {
        &self.lead_unit == unit || self.coordinating_units.contains(unit)
    }
}

impl TaskEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            TaskEvent::TaskAssigned(_) => "TaskAssigned",
            TaskEvent::ProgressReported(_) => "ProgressReported",
            TaskEvent::ReportCorrected(_) => "ReportCorrected",
            TaskEvent::DeadlineExtensionRequested(_) => "DeadlineExtensionRequested",
            TaskEvent::DeadlineExtensionApproved(_) => "DeadlineExtensionApproved",
            TaskEvent::DeadlineExtensionRejected(_) => "DeadlineExtensionRejected",
            TaskEvent::CompletionReported(_) => "CompletionReported",
            TaskEvent::CompletionConfirmed(_) => "CompletionConfirmed",
            TaskEvent::CompletionRejected(_) => "CompletionRejected",
            TaskEvent::TaskSuspended(_) => "TaskSuspended",
            TaskEvent::TaskCancelled(_) => "TaskCancelled",
            TaskEvent::TaskTransferred(_) => "TaskTransferred",
            TaskEvent::TaskReopened(_) => "TaskReopened",
        }
    }

    /// The business date the event speaks of: a report's cut-off, a decision's effective day. `None` for the
    /// assignment, which holds at every cut-off.
    pub fn effective_date(&self) -> Option<Date> {
        match self {
            TaskEvent::TaskAssigned(_) => None,
            TaskEvent::ProgressReported(reported) => Some(reported.content.as_of),
            TaskEvent::ReportCorrected(corrected) => Some(corrected.content.as_of),
            TaskEvent::DeadlineExtensionRequested(requested) => Some(requested.effective_on),
            TaskEvent::DeadlineExtensionApproved(approved) => Some(approved.effective_on),
            TaskEvent::DeadlineExtensionRejected(rejected) => Some(rejected.effective_on),
            TaskEvent::CompletionReported(reported) => Some(reported.as_of),
            TaskEvent::CompletionConfirmed(decision)
            | TaskEvent::CompletionRejected(decision)
            | TaskEvent::TaskSuspended(decision)
            | TaskEvent::TaskCancelled(decision)
            | TaskEvent::TaskReopened(decision) => Some(decision.effective_on),
            TaskEvent::TaskTransferred(transferred) => Some(transferred.effective_on),
        }
    }
}

/// The schema version of every event type defined here.
pub const SCHEMA_VERSION: u32 = 1;

fn require_task_unit(task: &Task, actor: &Actor, what: &str) -> Result<(), DomainError> {
    match actor.role {
        Role::Admin => Ok(()),
        Role::Reporter | Role::Approver if task.involves_unit(&actor.unit) => Ok(()),
        Role::Reporter | Role::Approver => Err(DomainError::forbidden(format!(
            "unit {} may not {what} task {} (lead unit {})",
            actor.unit, task.number, task.lead_unit
        ))),
        role => Err(DomainError::forbidden(format!("role {role} may not {what} tasks"))),
    }
}

/// Decisions of the assigner: an approver may not decide on its own unit's task.
fn require_assigner_decision(task: &Task, actor: &Actor, what: &str) -> Result<(), DomainError> {
    require_role(actor, &[Role::Approver, Role::Admin], what)?;
    if actor.role == Role::Approver && task.involves_unit(&actor.unit) {
        return Err(DomainError::forbidden(format!("unit {} may not {what} on its own task", actor.unit)));
    }
    Ok(())
}

fn require_accepts_reports(task: &Task) -> Result<(), DomainError> {
    match task.lifecycle {
        Lifecycle::Done | Lifecycle::Cancelled | Lifecycle::Transferred => Err(DomainError::state_conflict(format!(
            "task {} is {}: it takes no reports until it is reopened",
            task.number,
            task.progress().as_str()
        ))),
        Lifecycle::Open | Lifecycle::AwaitingConfirmation | Lifecycle::Suspended => Ok(()),
    }
}

fn require_open(task: &Task, what: &str) -> Result<(), DomainError> {
    require_lifecycle(task, Lifecycle::Open, what)
}

fn require_lifecycle(task: &Task, expected: Lifecycle, what: &str) -> Result<(), DomainError> {
    if task.lifecycle == expected {
        Ok(())
    } else {
        Err(DomainError::state_conflict(format!("task {} is {}: cannot {what}", task.number, task.progress().as_str())))
    }
}

fn require_not_closed(task: &Task, what: &str) -> Result<(), DomainError> {
    if task.progress().is_closed() {
        Err(DomainError::state_conflict(format!(
            "task {} is already {}: cannot {what}",
            task.number,
            task.progress().as_str()
        )))
    } else {
        Ok(())
    }
}

fn require_basis(basis: &[DocumentRef]) -> Result<(), DomainError> {
    if basis.is_empty() {
        Err(DomainError::invalid("basis", "a decision cites at least one document"))
    } else {
        Ok(())
    }
}

fn require_not_before_request(extension: &Extension, effective_on: Date) -> Result<(), DomainError> {
    if effective_on < extension.requested_on {
        Err(DomainError::invalid(
            "effective_on",
            format!("a decision cannot take effect before the request it decides ({})", extension.requested_on),
        ))
    } else {
        Ok(())
    }
}

fn pending_extension(task: &Task, extension_id: ExtensionId) -> Result<&Extension, DomainError> {
    let extension = task
        .extensions
        .iter()
        .find(|extension| extension.extension_id == extension_id)
        .ok_or_else(|| DomainError::not_found(format!("extension {extension_id} of task {}", task.task_id)))?;
    if extension.status != ExtensionStatus::Pending {
        return Err(DomainError::state_conflict(format!("extension {extension_id} was already decided")));
    }
    Ok(extension)
}
