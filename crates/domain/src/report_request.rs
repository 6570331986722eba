//! Report requests on a plan: the assigner asks the lead units to report as of a cut-off date, by a due day
//! (the seed's "báo cáo kết quả thực hiện đến 15/4/2024"). A periodic cut-off of Nghị định 09/2019 needs no
//! request; an ad-hoc one is recorded here, so that the notification service knows to remind the units whose
//! tasks have no report for that cut-off yet.
//!
//! The events live on the plan stream (`plan::PlanEvent`); `Plan::evolve` folds them into
//! `Plan::report_requests`. Who is reminded and when is the notification service's concern: the domain only
//! records what was asked, of whom, and whether the request still stands.

use serde::{Deserialize, Serialize};
use time::Date;

use crate::actor::{Actor, Role};
use crate::document_ref::DocumentRef;
use crate::error::DomainError;
use crate::ids::{PlanId, ReportRequestId};
use crate::oversight::require_not_frozen;
use crate::plan::{require_role, Plan, PLAN_YEARS};
use crate::text::{normalize, NonEmptyText};
use crate::unit_code::UnitCode;

#[cfg(test)]
mod tests;

/// Who may request reports and withdraw a request: the assigner's planners and approvers, and administrators.
pub const REQUEST_ROLES: [Role; 3] = [Role::Planner, Role::Approver, Role::Admin];

/// Asks for reports as of `cut_off`, expected by `due_on`.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestReport {
    pub plan_id: PlanId,
    pub request_id: ReportRequestId,
    /// The date reports are made as of ("đến 15/4/2024").
    pub cut_off: Date,
    /// The day reports are expected by; not before the cut-off.
    pub due_on: Date,
    /// The units asked; empty asks every lead unit of the plan.
    pub units: Vec<UnitCode>,
    pub basis: Vec<DocumentRef>,
    /// Free text for the units; may be empty. Normalised to NFC by the decision.
    pub note: String,
}

/// Withdraws a request that still stands.
#[derive(Debug, Clone, PartialEq)]
pub struct WithdrawReportRequest {
    pub plan_id: PlanId,
    pub request_id: ReportRequestId,
    pub reason: NonEmptyText,
}

/// Reports were requested as of `cut_off`, expected by `due_on`, of `units` (empty: every lead unit of the plan).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportRequested {
    pub request_id: ReportRequestId,
    pub cut_off: Date,
    pub due_on: Date,
    pub units: Vec<UnitCode>,
    pub basis: Vec<DocumentRef>,
    pub note: String,
}

/// A report request no longer stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportRequestWithdrawn {
    pub request_id: ReportRequestId,
    pub reason: NonEmptyText,
}

/// A report request as the plan's events leave it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportRequest {
    pub request_id: ReportRequestId,
    pub cut_off: Date,
    pub due_on: Date,
    /// Empty: every lead unit of the plan.
    pub units: Vec<UnitCode>,
    pub basis: Vec<DocumentRef>,
    pub note: String,
    /// Why the request was withdrawn; `None` while it stands.
    pub withdrawal_reason: Option<NonEmptyText>,
}

/// Decides a report request. `plan` is `None` when the plan stream is empty.
pub fn request_report(
    plan: Option<&Plan>,
    command: RequestReport,
    actor: &Actor,
) -> Result<ReportRequested, DomainError> {
    require_role(actor, &REQUEST_ROLES, "request reports")?;
    let plan = plan.ok_or_else(|| DomainError::not_found(format!("plan {}", command.plan_id)))?;
    require_not_frozen(plan)?;
    if !PLAN_YEARS.contains(&command.cut_off.year()) {
        return Err(DomainError::invalid(
            "cut_off",
            format!(
                "{} is outside the years plans cover; give a date from {}-01-01 to {}-12-31",
                command.cut_off,
                PLAN_YEARS.start(),
                PLAN_YEARS.end()
            ),
        ));
    }
    if command.due_on < command.cut_off {
        return Err(DomainError::invalid(
            "due_on",
            format!("reports cannot be due ({}) before their cut-off ({})", command.due_on, command.cut_off),
        ));
    }
    for (index, unit) in command.units.iter().enumerate() {
        if command.units[..index].contains(unit) {
            return Err(DomainError::invalid(format!("units[{index}]"), format!("unit {unit} appears twice")));
        }
    }
    if plan.report_request(command.request_id).is_some() {
        return Err(DomainError::state_conflict(format!("report request {} already exists", command.request_id)));
    }
    Ok(ReportRequested {
        request_id: command.request_id,
        cut_off: command.cut_off,
        due_on: command.due_on,
        units: command.units,
        basis: command.basis,
        note: normalize(&command.note),
    })
}

/// Decides withdrawing a report request: refused for a request the plan does not have or one already withdrawn.
pub fn withdraw_report_request(
    plan: Option<&Plan>,
    command: WithdrawReportRequest,
    actor: &Actor,
) -> Result<ReportRequestWithdrawn, DomainError> {
    require_role(actor, &REQUEST_ROLES, "withdraw report requests")?;
    let plan = plan.ok_or_else(|| DomainError::not_found(format!("plan {}", command.plan_id)))?;
    require_not_frozen(plan)?;
    let request = plan.report_request(command.request_id).ok_or_else(|| {
        DomainError::not_found(format!("report request {} of plan {}", command.request_id, plan.plan_id))
    })?;
    if let Some(reason) = &request.withdrawal_reason {
        return Err(DomainError::state_conflict(format!(
            "report request {} was already withdrawn ({})",
            command.request_id,
            reason.as_str()
        )));
    }
    Ok(ReportRequestWithdrawn { request_id: command.request_id, reason: command.reason })
}

impl ReportRequest {
    /// Whether the request still stands (it was not withdrawn).
    pub fn stands(&self) -> bool {
        self.withdrawal_reason.is_none()
    }

    /// Whether the request asks `unit`, given the lead units of the plan's tasks (an empty `units` asks them all).
    pub fn asks_unit(&self, unit: &UnitCode, plan_lead_units: &[UnitCode]) -> bool {
        if self.units.is_empty() {
            plan_lead_units.contains(unit)
        } else {
            self.units.contains(unit)
        }
    }
}

impl From<&ReportRequested> for ReportRequest {
    fn from(requested: &ReportRequested) -> ReportRequest {
        ReportRequest {
            request_id: requested.request_id,
            cut_off: requested.cut_off,
            due_on: requested.due_on,
            units: requested.units.clone(),
            basis: requested.basis.clone(),
            note: requested.note.clone(),
            withdrawal_reason: None,
        }
    }
}
