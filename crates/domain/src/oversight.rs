//! Oversight of a plan: freezing it for an inspection (every command on the plan and its tasks is refused until
//! it is unfrozen) and recording that a report was issued, with the SHA-256 of the appendix it contained, so that
//! an auditor can later check that the ledger still reproduces exactly what was issued.
//!
//! The events live on the plan stream (`plan::PlanEvent`); `Plan::evolve` folds them into `Plan::freeze` and
//! `Plan::issued_reports`. The hash itself is computed by the caller over the canonical form of the appendix rows
//! (the command service's `issued` module): the domain only checks its shape.

use serde::{Deserialize, Serialize};
use time::Date;

use crate::actor::{Actor, Role};
use crate::document_ref::DocumentRef;
use crate::error::DomainError;
use crate::ids::IssuedReportId;
use crate::plan::{require_role, Plan};
use crate::text::NonEmptyText;

#[cfg(test)]
mod tests;

/// Who may freeze and unfreeze a plan: the assigner's approvers (the director's office) and administrators.
pub const FREEZE_ROLES: [Role; 2] = [Role::Approver, Role::Admin];

/// Who may record an issued report: the approvers who sign reports, and administrators.
pub const ISSUE_ROLES: [Role; 2] = [Role::Approver, Role::Admin];

/// Freezes a plan for an inspection.
#[derive(Debug, Clone, PartialEq)]
pub struct FreezePlan {
    pub reason: NonEmptyText,
    pub basis: Vec<DocumentRef>,
    pub effective_on: Date,
}

/// Lifts the freeze in force.
#[derive(Debug, Clone, PartialEq)]
pub struct UnfreezePlan {
    pub reason: NonEmptyText,
    pub basis: Vec<DocumentRef>,
    pub effective_on: Date,
}

/// Records an issued report. `appendix_sha256` and `known_at_position` come from the caller, which computed the
/// appendix as of `cut_off` from every event up to `known_at_position`.
#[derive(Debug, Clone, PartialEq)]
pub struct IssueReport {
    pub issued_report_id: IssuedReportId,
    /// The document's number as printed: "Số 74/BC-KHCN".
    pub number: NonEmptyText,
    pub cut_off: Date,
    /// Who signed it: "Giám đốc Nguyễn Văn Bình".
    pub signer: NonEmptyText,
    pub issued_on: Date,
    pub known_at_position: u64,
    pub appendix_sha256: String,
    pub n_rows: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanFrozen {
    pub reason: NonEmptyText,
    pub basis: Vec<DocumentRef>,
    pub effective_on: Date,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanUnfrozen {
    pub reason: NonEmptyText,
    pub basis: Vec<DocumentRef>,
    pub effective_on: Date,
}

/// A report was issued with this appendix content (its hash) as of its cut-off, as the ledger knew it up to
/// `known_at_position`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportIssued {
    pub issued_report_id: IssuedReportId,
    pub number: NonEmptyText,
    pub cut_off: Date,
    pub signer: NonEmptyText,
    pub issued_on: Date,
    pub known_at_position: u64,
    /// Lowercase hex SHA-256 of the canonical appendix rows.
    pub appendix_sha256: String,
    pub n_rows: u32,
}

/// The freeze in force on a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Freeze {
    pub reason: NonEmptyText,
    pub basis: Vec<DocumentRef>,
    pub effective_on: Date,
}

/// A report issued on a plan, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IssuedReport {
    pub issued_report_id: IssuedReportId,
    pub number: NonEmptyText,
    pub cut_off: Date,
    pub signer: NonEmptyText,
    pub issued_on: Date,
    pub known_at_position: u64,
    pub appendix_sha256: String,
    pub n_rows: u32,
}

/// Decides a freeze: refused when the plan is already frozen.
pub fn freeze_plan(plan: &Plan, command: FreezePlan, actor: &Actor) -> Result<PlanFrozen, DomainError> {
    require_role(actor, &FREEZE_ROLES, "freeze plans")?;
    if let Some(freeze) = &plan.freeze {
        return Err(DomainError::state_conflict(format!(
            "plan {} is already frozen since {} ({})",
            plan.plan_id,
            freeze.effective_on,
            freeze.reason.as_str()
        )));
    }
    require_basis(&command.basis)?;
    Ok(PlanFrozen { reason: command.reason, basis: command.basis, effective_on: command.effective_on })
}

/// Decides lifting the freeze: refused when the plan is not frozen or the day is before the freeze's.
pub fn unfreeze_plan(plan: &Plan, command: UnfreezePlan, actor: &Actor) -> Result<PlanUnfrozen, DomainError> {
    require_role(actor, &FREEZE_ROLES, "unfreeze plans")?;
    let Some(freeze) = &plan.freeze else {
        return Err(DomainError::state_conflict(format!("plan {} is not frozen", plan.plan_id)));
    };
    if command.effective_on < freeze.effective_on {
        return Err(DomainError::invalid(
            "effective_on",
            format!("the plan cannot be unfrozen before it was frozen ({})", freeze.effective_on),
        ));
    }
    Ok(PlanUnfrozen { reason: command.reason, basis: command.basis, effective_on: command.effective_on })
}

/// Decides recording an issued report.
pub fn issue_report(plan: &Plan, command: IssueReport, actor: &Actor) -> Result<ReportIssued, DomainError> {
    require_role(actor, &ISSUE_ROLES, "record issued reports")?;
    require_not_frozen(plan)?;
    if command.cut_off > command.issued_on {
        return Err(DomainError::invalid(
            "cut_off",
            format!("a report issued on {} cannot report as of a later date", command.issued_on),
        ));
    }
    if !is_sha256_hex(&command.appendix_sha256) {
        return Err(DomainError::invalid("appendix_sha256", "must be 64 lowercase hexadecimal digits"));
    }
    if let Some(earlier) = plan.issued_reports.iter().find(|issued| issued.number == command.number) {
        return Err(DomainError::state_conflict(format!(
            "report {} was already issued on this plan (issued report {})",
            command.number.as_str(),
            earlier.issued_report_id
        )));
    }
    Ok(ReportIssued {
        issued_report_id: command.issued_report_id,
        number: command.number,
        cut_off: command.cut_off,
        signer: command.signer,
        issued_on: command.issued_on,
        known_at_position: command.known_at_position,
        appendix_sha256: command.appendix_sha256,
        n_rows: command.n_rows,
    })
}

/// Refuses every command on a frozen plan or on its tasks, naming the freeze and its reason.
pub fn require_not_frozen(plan: &Plan) -> Result<(), DomainError> {
    match &plan.freeze {
        None => Ok(()),
        Some(freeze) => Err(DomainError::state_conflict(format!(
            "plan {} is frozen since {}: {}{}; commands are refused until it is unfrozen",
            plan.plan_id,
            freeze.effective_on,
            freeze.reason.as_str(),
            basis_suffix(&freeze.basis)
        ))),
    }
}

impl From<&PlanFrozen> for Freeze {
    fn from(frozen: &PlanFrozen) -> Freeze {
        Freeze { reason: frozen.reason.clone(), basis: frozen.basis.clone(), effective_on: frozen.effective_on }
    }
}

impl From<&ReportIssued> for IssuedReport {
    fn from(issued: &ReportIssued) -> IssuedReport {
        IssuedReport {
            issued_report_id: issued.issued_report_id,
            number: issued.number.clone(),
            cut_off: issued.cut_off,
            signer: issued.signer.clone(),
            issued_on: issued.issued_on,
            known_at_position: issued.known_at_position,
            appendix_sha256: issued.appendix_sha256.clone(),
            n_rows: issued.n_rows,
        }
    }
}

fn require_basis(basis: &[DocumentRef]) -> Result<(), DomainError> {
    if basis.is_empty() {
        Err(DomainError::invalid("basis", "a freeze cites at least one document (the inspection decision)"))
    } else {
        Ok(())
    }
}

fn basis_suffix(basis: &[DocumentRef]) -> String {
    if basis.is_empty() {
        String::new()
    } else {
        let cited: Vec<&str> = basis.iter().map(DocumentRef::original).collect();
        format!(" (căn cứ: {})", cited.join("; "))
    }
}

fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
}
