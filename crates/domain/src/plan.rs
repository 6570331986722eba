//! The plan aggregate (danh mục nhiệm vụ): an agency's list of tasks for a year, split into sections, with its
//! legal basis. The plan stream also registers every task and indicator, which is what keeps numbering unique:
//! assigning a task appends to the plan stream and to the new task's stream in one transaction (see `task`).

use serde::{Deserialize, Serialize};

use crate::actor::{Actor, Role};
use crate::document_ref::DocumentRef;
use crate::error::DomainError;
use crate::ids::{PlanId, ReportRequestId, TaskId};
use crate::numbering::{SectionCode, TaskNumber};
pub use crate::oversight::{Freeze, IssuedReport, PlanFrozen, PlanUnfrozen, ReportIssued};
pub use crate::report_request::{ReportRequest, ReportRequestWithdrawn, ReportRequested};
use crate::task::{Task, TaskAssigned};
use crate::text::NonEmptyText;
use crate::unit_code::UnitCode;

/// A section of a plan: "I" "NHIỆM VỤ TRỌNG TÂM".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    pub code: SectionCode,
    pub title: NonEmptyText,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreatePlan {
    pub plan_id: PlanId,
    pub agency: UnitCode,
    pub year: i32,
    pub title: NonEmptyText,
    pub basis: Vec<DocumentRef>,
    pub sections: Vec<Section>,
}

/// Events of a plan stream. Stored as `event_type` + `payload`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event_type", content = "payload")]
pub enum PlanEvent {
    PlanCreated(PlanCreated),
    TaskRegistered(TaskRegistered),
    PlanFrozen(PlanFrozen),
    PlanUnfrozen(PlanUnfrozen),
    ReportIssued(ReportIssued),
    ReportRequested(ReportRequested),
    ReportRequestWithdrawn(ReportRequestWithdrawn),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanCreated {
    pub plan_id: PlanId,
    pub agency: UnitCode,
    pub year: i32,
    pub title: NonEmptyText,
    pub basis: Vec<DocumentRef>,
    pub sections: Vec<Section>,
}

/// A task or indicator took a number in the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRegistered {
    pub task_id: TaskId,
    pub section: SectionCode,
    pub number: TaskNumber,
    pub parent_id: Option<TaskId>,
}

/// A plan as its events leave it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub plan_id: PlanId,
    pub agency: UnitCode,
    pub year: i32,
    pub title: NonEmptyText,
    pub basis: Vec<DocumentRef>,
    pub sections: Vec<Section>,
    /// Every registered node, in registration order.
    pub nodes: Vec<TaskRegistered>,
    /// The freeze in force, if the plan is frozen (see `oversight`).
    pub freeze: Option<Freeze>,
    /// Every report issued on the plan, in issue order.
    pub issued_reports: Vec<IssuedReport>,
    /// Every report request on the plan, withdrawn ones included, in request order (see `report_request`).
    pub report_requests: Vec<ReportRequest>,
}

/// Years a plan may be made for.
pub const PLAN_YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// Decides `CreatePlan` against the plan stream's current state (`None` when the stream is empty).
pub fn create_plan(existing: Option<&Plan>, command: CreatePlan, actor: &Actor) -> Result<Vec<PlanEvent>, DomainError> {
    require_role(actor, &[Role::Planner, Role::Admin], "create plans")?;
    if existing.is_some() {
        return Err(DomainError::state_conflict(format!("plan {} already exists", command.plan_id)));
    }
    if !PLAN_YEARS.contains(&command.year) {
        return Err(DomainError::invalid("year", "must be a year from 2000 to 2100"));
    }
    if command.sections.is_empty() {
        return Err(DomainError::invalid("sections", "a plan needs at least one section"));
    }
    for (index, section) in command.sections.iter().enumerate() {
        if command.sections[..index].iter().any(|earlier| earlier.code == section.code) {
            return Err(DomainError::invalid(
                format!("sections[{index}].code"),
                format!("section {} appears twice", section.code),
            ));
        }
    }
    Ok(vec![PlanEvent::PlanCreated(PlanCreated {
        plan_id: command.plan_id,
        agency: command.agency,
        year: command.year,
        title: command.title,
        basis: command.basis,
        sections: command.sections,
    })])
}

/// Decides the assignment of a task or indicator: checks numbering against the plan and the parent, and answers
/// the plan's registration event and the task's first event, which the caller appends atomically.
pub fn assign_task(
    plan: &Plan,
    parent: Option<&Task>,
    command: crate::task::AssignTask,
    actor: &Actor,
) -> Result<(PlanEvent, TaskAssigned), DomainError> {
    require_role(actor, &[Role::Planner, Role::Admin], "assign tasks")?;
    crate::oversight::require_not_frozen(plan)?;
    if !plan.sections.iter().any(|section| section.code == command.section) {
        let known: Vec<&str> = plan.sections.iter().map(|section| section.code.as_str()).collect();
        return Err(DomainError::invalid(
            "section",
            format!("plan has no section {} (it has {})", command.section, known.join(", ")),
        ));
    }
    if plan.nodes.iter().any(|node| node.task_id == command.task_id) {
        return Err(DomainError::state_conflict(format!("task {} already exists", command.task_id)));
    }
    if plan.nodes.iter().any(|node| node.section == command.section && node.number == command.number) {
        return Err(DomainError::state_conflict(format!(
            "section {} already has a node numbered {}",
            command.section, command.number
        )));
    }
    match (command.number.parent(), command.parent_id, parent) {
        (None, None, _) => {}
        (None, Some(_), _) => {
            return Err(DomainError::invalid(
                "parent_id",
                "a task numbered n has no parent; indicators are numbered n.m",
            ));
        }
        (Some(_), None, _) => {
            return Err(DomainError::invalid("parent_id", "an indicator (numbered n.m) needs the id of its task"));
        }
        (Some(_), Some(parent_id), None) => return Err(DomainError::not_found(format!("parent task {parent_id}"))),
        (Some(expected_parent_number), Some(_), Some(parent)) => {
            if parent.plan_id != plan.plan_id {
                return Err(DomainError::invalid("parent_id", "the parent task belongs to another plan"));
            }
            if parent.section != command.section || parent.number != expected_parent_number {
                return Err(DomainError::invalid(
                    "number",
                    format!(
                        "indicator {} does not belong to task {} of section {}",
                        command.number, parent.number, parent.section
                    ),
                ));
            }
        }
    }
    if command.number.is_indicator() && command.title.is_empty() {
        return Err(DomainError::invalid("title", "an indicator needs a title"));
    }
    if command.coordinating_units.contains(&command.lead_unit) {
        return Err(DomainError::invalid("coordinating_units", "the lead unit cannot also be a coordinating unit"));
    }
    for (index, unit) in command.coordinating_units.iter().enumerate() {
        if command.coordinating_units[..index].contains(unit) {
            return Err(DomainError::invalid(
                format!("coordinating_units[{index}]"),
                format!("unit {unit} appears twice"),
            ));
        }
    }
    let registered = TaskRegistered {
        task_id: command.task_id,
        section: command.section.clone(),
        number: command.number.clone(),
        parent_id: command.parent_id,
    };
    let assigned = TaskAssigned {
        task_id: command.task_id,
        plan_id: plan.plan_id,
        section: command.section,
        number: command.number,
        parent_id: command.parent_id,
        title: command.title,
        target: command.target,
        deadline: command.deadline,
        lead_unit: command.lead_unit,
        coordinating_units: command.coordinating_units,
        basis: command.basis,
    };
    Ok((PlanEvent::TaskRegistered(registered), assigned))
}

impl Plan {
    /// Folds a plan stream. `None` until the stream has its `PlanCreated`.
    pub fn fold<'a>(events: impl IntoIterator<Item = &'a PlanEvent>) -> Option<Plan> {
        let mut plan: Option<Plan> = None;
        for event in events {
            plan = Plan::evolve(plan, event);
        }
        plan
    }

    pub fn evolve(state: Option<Plan>, event: &PlanEvent) -> Option<Plan> {
        match (state, event) {
            (_, PlanEvent::PlanCreated(created)) => Some(Plan {
                plan_id: created.plan_id,
                agency: created.agency.clone(),
                year: created.year,
                title: created.title.clone(),
                basis: created.basis.clone(),
                sections: created.sections.clone(),
                nodes: Vec::new(),
                freeze: None,
                issued_reports: Vec::new(),
                report_requests: Vec::new(),
            }),
            (Some(mut plan), PlanEvent::TaskRegistered(registered)) => {
                plan.nodes.push(registered.clone());
                Some(plan)
            }
            (Some(mut plan), PlanEvent::PlanFrozen(frozen)) => {
                plan.freeze = Some(Freeze::from(frozen));
                Some(plan)
            }
            (Some(mut plan), PlanEvent::PlanUnfrozen(_)) => {
                plan.freeze = None;
                Some(plan)
            }
            (Some(mut plan), PlanEvent::ReportIssued(issued)) => {
                plan.issued_reports.push(IssuedReport::from(issued));
                Some(plan)
            }
            (Some(mut plan), PlanEvent::ReportRequested(requested)) => {
                plan.report_requests.push(ReportRequest::from(requested));
                Some(plan)
            }
            (Some(mut plan), PlanEvent::ReportRequestWithdrawn(withdrawn)) => {
                if let Some(request) =
                    plan.report_requests.iter_mut().find(|request| request.request_id == withdrawn.request_id)
                {
                    request.withdrawal_reason = Some(withdrawn.reason.clone());
                }
                Some(plan)
            }
            (
                None,
                PlanEvent::TaskRegistered(_)
                | PlanEvent::PlanFrozen(_)
                | PlanEvent::PlanUnfrozen(_)
                | PlanEvent::ReportIssued(_)
                | PlanEvent::ReportRequested(_)
                | PlanEvent::ReportRequestWithdrawn(_),
            ) => None,
        }
    }

    /// The report request with this id, withdrawn or not.
    pub fn report_request(&self, request_id: ReportRequestId) -> Option<&ReportRequest> {
        self.report_requests.iter().find(|request| request.request_id == request_id)
    }
}

impl PlanEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            PlanEvent::PlanCreated(_) => "PlanCreated",
            PlanEvent::TaskRegistered(_) => "TaskRegistered",
            PlanEvent::PlanFrozen(_) => "PlanFrozen",
            PlanEvent::PlanUnfrozen(_) => "PlanUnfrozen",
            PlanEvent::ReportIssued(_) => "ReportIssued",
            PlanEvent::ReportRequested(_) => "ReportRequested",
            PlanEvent::ReportRequestWithdrawn(_) => "ReportRequestWithdrawn",
        }
    }

    /// The business date the event speaks of: the day a report was issued. `None` for the others (a report
    /// request's cut-off is what it asks about, not the day it was made).
    pub fn effective_date(&self) -> Option<time::Date> {
        match self {
            PlanEvent::ReportIssued(issued) => Some(issued.issued_on),
            PlanEvent::PlanCreated(_)
            | PlanEvent::TaskRegistered(_)
            | PlanEvent::PlanFrozen(_)
            | PlanEvent::PlanUnfrozen(_)
            | PlanEvent::ReportRequested(_)
            | PlanEvent::ReportRequestWithdrawn(_) => None,
        }
    }
}

/// Refuses unless the actor has one of the roles.
pub(crate) fn require_role(actor: &Actor, roles: &[Role], what: &str) -> Result<(), DomainError> {
    if roles.contains(&actor.role) {
        Ok(())
    } else {
        let allowed: Vec<&str> = roles.iter().map(|role| role.as_str()).collect();
        Err(DomainError::forbidden(format!("role {} may not {what} (allowed: {})", actor.role, allowed.join(", "))))
    }
}
