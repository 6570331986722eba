//! Task events (`domain::task::TaskEvent`) to their payload cases (`task.proto`) and back. The field paths in
//! errors start with the payload case's name, which is also the envelope's field name:
//! `progress_reported.content.measures[0].achieved`.
//!
//! The domain shares one `Decision` among five events; the contract gives each its own message (with the same
//! fields, so far) so that they can evolve apart.

use domain::ids::{ExtensionId, PlanId, ReportId, TaskId};
use domain::task::{
    CompletionReported, DeadlineExtensionApproved, DeadlineExtensionRejected, DeadlineExtensionRequested, Decision,
    ProgressReported, ReportContent, ReportCorrected, TaskAssigned, TaskEvent, TaskTransferred,
};

use super::values::{
    date_from_proto, date_to_proto, deadline_from_proto, deadline_to_proto, document_refs_from_proto,
    document_refs_to_proto, measure_to_proto, measures_from_proto, optional_text_from_proto, optional_text_to_proto,
    optional_uuid_from_proto, progress_from_proto, progress_to_proto, required_deadline_from_proto, required_message,
    section_from_proto, target_from_proto, target_to_proto, task_number_from_proto, text_from_proto,
    unit_code_from_proto, unit_codes_from_proto, unit_codes_to_proto, uuid_from_proto, uuid_to_proto,
};
use super::ConvertError;
use crate::pb;
use crate::pb::event_envelope::Payload;

/// The message of a decision event: the five such messages have the same fields.
macro_rules! decision_message {
    ($message:ident, $decision:expr) => {{
        let decision: &Decision = $decision;
        pb::$message {
            reason: optional_text_to_proto(decision.reason.as_ref()),
            basis: document_refs_to_proto(&decision.basis),
            effective_on: date_to_proto(decision.effective_on),
        }
    }};
}

pub(super) fn to_proto(event: &TaskEvent) -> Payload {
    match event {
        TaskEvent::TaskAssigned(assigned) => Payload::TaskAssigned(task_assigned_to_proto(assigned)),
        TaskEvent::ProgressReported(reported) => Payload::ProgressReported(pb::ProgressReported {
            report_id: uuid_to_proto(reported.report_id.0),
            content: Some(report_content_to_proto(&reported.content)),
        }),
        TaskEvent::ReportCorrected(corrected) => Payload::ReportCorrected(pb::ReportCorrected {
            report_id: uuid_to_proto(corrected.report_id.0),
            reason: corrected.reason.as_str().to_owned(),
            content: Some(report_content_to_proto(&corrected.content)),
        }),
        TaskEvent::DeadlineExtensionRequested(requested) => {
            Payload::DeadlineExtensionRequested(pb::DeadlineExtensionRequested {
                extension_id: uuid_to_proto(requested.extension_id.0),
                current_deadline: Some(deadline_to_proto(&requested.current_deadline)),
                proposed_deadline: Some(deadline_to_proto(&requested.proposed_deadline)),
                reason: requested.reason.as_str().to_owned(),
                basis: document_refs_to_proto(&requested.basis),
                effective_on: date_to_proto(requested.effective_on),
            })
        }
        TaskEvent::DeadlineExtensionApproved(approved) => {
            Payload::DeadlineExtensionApproved(pb::DeadlineExtensionApproved {
                extension_id: uuid_to_proto(approved.extension_id.0),
                new_deadline: Some(deadline_to_proto(&approved.new_deadline)),
                basis: document_refs_to_proto(&approved.basis),
                note: optional_text_to_proto(approved.note.as_ref()),
                effective_on: date_to_proto(approved.effective_on),
            })
        }
        TaskEvent::DeadlineExtensionRejected(rejected) => {
            Payload::DeadlineExtensionRejected(pb::DeadlineExtensionRejected {
                extension_id: uuid_to_proto(rejected.extension_id.0),
                reason: rejected.reason.as_str().to_owned(),
                basis: document_refs_to_proto(&rejected.basis),
                effective_on: date_to_proto(rejected.effective_on),
            })
        }
        TaskEvent::CompletionReported(reported) => Payload::CompletionReported(pb::CompletionReported {
            as_of: date_to_proto(reported.as_of),
            summary: reported.summary.as_str().to_owned(),
            evidence: document_refs_to_proto(&reported.evidence),
        }),
        TaskEvent::CompletionConfirmed(decision) => {
            Payload::CompletionConfirmed(decision_message!(CompletionConfirmed, decision))
        }
        TaskEvent::CompletionRejected(decision) => {
            Payload::CompletionRejected(decision_message!(CompletionRejected, decision))
        }
        TaskEvent::TaskSuspended(decision) => Payload::TaskSuspended(decision_message!(TaskSuspended, decision)),
        TaskEvent::TaskCancelled(decision) => Payload::TaskCancelled(decision_message!(TaskCancelled, decision)),
        TaskEvent::TaskTransferred(transferred) => Payload::TaskTransferred(pb::TaskTransferred {
            to_unit: transferred.to_unit.as_str().to_owned(),
            reason: transferred.reason.as_str().to_owned(),
            basis: document_refs_to_proto(&transferred.basis),
            effective_on: date_to_proto(transferred.effective_on),
        }),
        TaskEvent::TaskReopened(decision) => Payload::TaskReopened(decision_message!(TaskReopened, decision)),
    }
}

/// The task event of a payload case. Called for every case that is not a plan event's.
pub(super) fn from_proto(payload: &Payload) -> Result<TaskEvent, ConvertError> {
    let event = match payload {
        Payload::PlanCreated(_)
        | Payload::TaskRegistered(_)
        | Payload::PlanFrozen(_)
        | Payload::PlanUnfrozen(_)
        | Payload::ReportIssued(_)
        | Payload::ReportRequested(_)
        | Payload::ReportRequestWithdrawn(_) => {
            return Err(ConvertError::invalid("payload", "a plan event is not a task event"));
        }
        Payload::RecordsRead(_) => {
            return Err(ConvertError::invalid("payload", "an access event is not a task event"));
        }
        Payload::ReminderSent(_) | Payload::ReminderFailed(_) | Payload::ReminderSkipped(_) => {
            return Err(ConvertError::invalid("payload", "a reminder event is not a task event"));
        }
        Payload::TaskAssigned(message) => TaskEvent::TaskAssigned(task_assigned(message)?),
        Payload::ProgressReported(message) => TaskEvent::ProgressReported(progress_reported(message)?),
        Payload::ReportCorrected(message) => TaskEvent::ReportCorrected(report_corrected(message)?),
        Payload::DeadlineExtensionRequested(message) => {
            TaskEvent::DeadlineExtensionRequested(deadline_extension_requested(message)?)
        }
        Payload::DeadlineExtensionApproved(message) => {
            TaskEvent::DeadlineExtensionApproved(deadline_extension_approved(message)?)
        }
        Payload::DeadlineExtensionRejected(message) => {
            TaskEvent::DeadlineExtensionRejected(deadline_extension_rejected(message)?)
        }
        Payload::CompletionReported(message) => TaskEvent::CompletionReported(completion_reported(message)?),
        Payload::CompletionConfirmed(message) => TaskEvent::CompletionConfirmed(decision(
            message.reason.as_deref(),
            &message.basis,
            &message.effective_on,
            "completion_confirmed",
        )?),
        Payload::CompletionRejected(message) => TaskEvent::CompletionRejected(decision(
            message.reason.as_deref(),
            &message.basis,
            &message.effective_on,
            "completion_rejected",
        )?),
        Payload::TaskSuspended(message) => TaskEvent::TaskSuspended(decision(
            message.reason.as_deref(),
            &message.basis,
            &message.effective_on,
            "task_suspended",
        )?),
        Payload::TaskCancelled(message) => TaskEvent::TaskCancelled(decision(
            message.reason.as_deref(),
            &message.basis,
            &message.effective_on,
            "task_cancelled",
        )?),
        Payload::TaskTransferred(message) => TaskEvent::TaskTransferred(task_transferred(message)?),
        Payload::TaskReopened(message) => TaskEvent::TaskReopened(decision(
            message.reason.as_deref(),
            &message.basis,
            &message.effective_on,
            "task_reopened",
        )?),
    };
    Ok(event)
}

fn task_assigned_to_proto(assigned: &TaskAssigned) -> pb::TaskAssigned {
    pb::TaskAssigned {
        task_id: uuid_to_proto(assigned.task_id.0),
        plan_id: uuid_to_proto(assigned.plan_id.0),
        section: assigned.section.as_str().to_owned(),
        number: assigned.number.to_string(),
        parent_id: assigned.parent_id.map(|parent_id| uuid_to_proto(parent_id.0)),
        title: assigned.title.clone(),
        target: assigned.target.as_ref().map(target_to_proto),
        deadline: assigned.deadline.as_ref().map(deadline_to_proto),
        lead_unit: assigned.lead_unit.as_str().to_owned(),
        coordinating_units: unit_codes_to_proto(&assigned.coordinating_units),
        basis: document_refs_to_proto(&assigned.basis),
    }
}

fn report_content_to_proto(content: &ReportContent) -> pb::ReportContent {
    pb::ReportContent {
        as_of: date_to_proto(content.as_of),
        summary: content.summary.as_str().to_owned(),
        measures: content.measures.iter().map(measure_to_proto).collect(),
        progress: progress_to_proto(content.progress),
        evidence: document_refs_to_proto(&content.evidence),
    }
}

fn task_assigned(message: &pb::TaskAssigned) -> Result<TaskAssigned, ConvertError> {
    const FIELD: &str = "task_assigned";
    Ok(TaskAssigned {
        task_id: TaskId(uuid_from_proto(&message.task_id, &format!("{FIELD}.task_id"))?),
        plan_id: PlanId(uuid_from_proto(&message.plan_id, &format!("{FIELD}.plan_id"))?),
        section: section_from_proto(&message.section, &format!("{FIELD}.section"))?,
        number: task_number_from_proto(&message.number, &format!("{FIELD}.number"))?,
        parent_id: optional_uuid_from_proto(message.parent_id.as_deref(), &format!("{FIELD}.parent_id"))?.map(TaskId),
        // The title is the one text of the domain that may be empty, and is not re-normalised.
        title: message.title.clone(),
        target: message
            .target
            .as_ref()
            .map(|target| target_from_proto(target, &format!("{FIELD}.target")))
            .transpose()?,
        deadline: message
            .deadline
            .as_ref()
            .map(|deadline| deadline_from_proto(deadline, &format!("{FIELD}.deadline")))
            .transpose()?,
        lead_unit: unit_code_from_proto(&message.lead_unit, &format!("{FIELD}.lead_unit"))?,
        coordinating_units: unit_codes_from_proto(&message.coordinating_units, &format!("{FIELD}.coordinating_units"))?,
        basis: document_refs_from_proto(&message.basis, &format!("{FIELD}.basis"))?,
    })
}

fn progress_reported(message: &pb::ProgressReported) -> Result<ProgressReported, ConvertError> {
    const FIELD: &str = "progress_reported";
    Ok(ProgressReported {
        report_id: ReportId(uuid_from_proto(&message.report_id, &format!("{FIELD}.report_id"))?),
        content: report_content(message.content.as_ref(), &format!("{FIELD}.content"))?,
    })
}

fn report_corrected(message: &pb::ReportCorrected) -> Result<ReportCorrected, ConvertError> {
    const FIELD: &str = "report_corrected";
    Ok(ReportCorrected {
        report_id: ReportId(uuid_from_proto(&message.report_id, &format!("{FIELD}.report_id"))?),
        reason: text_from_proto(&message.reason, &format!("{FIELD}.reason"))?,
        content: report_content(message.content.as_ref(), &format!("{FIELD}.content"))?,
    })
}

fn report_content(message: Option<&pb::ReportContent>, field: &str) -> Result<ReportContent, ConvertError> {
    let message = required_message(message, field)?;
    Ok(ReportContent {
        as_of: date_from_proto(&message.as_of, &format!("{field}.as_of"))?,
        summary: text_from_proto(&message.summary, &format!("{field}.summary"))?,
        measures: measures_from_proto(&message.measures, &format!("{field}.measures"))?,
        progress: progress_from_proto(message.progress, &format!("{field}.progress"))?,
        evidence: document_refs_from_proto(&message.evidence, &format!("{field}.evidence"))?,
    })
}

fn deadline_extension_requested(
    message: &pb::DeadlineExtensionRequested,
) -> Result<DeadlineExtensionRequested, ConvertError> {
    const FIELD: &str = "deadline_extension_requested";
    Ok(DeadlineExtensionRequested {
        extension_id: ExtensionId(uuid_from_proto(&message.extension_id, &format!("{FIELD}.extension_id"))?),
        current_deadline: required_deadline_from_proto(
            message.current_deadline.as_ref(),
            &format!("{FIELD}.current_deadline"),
        )?,
        proposed_deadline: required_deadline_from_proto(
            message.proposed_deadline.as_ref(),
            &format!("{FIELD}.proposed_deadline"),
        )?,
        reason: text_from_proto(&message.reason, &format!("{FIELD}.reason"))?,
        basis: document_refs_from_proto(&message.basis, &format!("{FIELD}.basis"))?,
        effective_on: date_from_proto(&message.effective_on, &format!("{FIELD}.effective_on"))?,
    })
}

fn deadline_extension_approved(
    message: &pb::DeadlineExtensionApproved,
) -> Result<DeadlineExtensionApproved, ConvertError> {
    const FIELD: &str = "deadline_extension_approved";
    Ok(DeadlineExtensionApproved {
        extension_id: ExtensionId(uuid_from_proto(&message.extension_id, &format!("{FIELD}.extension_id"))?),
        new_deadline: required_deadline_from_proto(message.new_deadline.as_ref(), &format!("{FIELD}.new_deadline"))?,
        basis: document_refs_from_proto(&message.basis, &format!("{FIELD}.basis"))?,
        note: optional_text_from_proto(message.note.as_deref(), &format!("{FIELD}.note"))?,
        effective_on: date_from_proto(&message.effective_on, &format!("{FIELD}.effective_on"))?,
    })
}

fn deadline_extension_rejected(
    message: &pb::DeadlineExtensionRejected,
) -> Result<DeadlineExtensionRejected, ConvertError> {
    const FIELD: &str = "deadline_extension_rejected";
    Ok(DeadlineExtensionRejected {
        extension_id: ExtensionId(uuid_from_proto(&message.extension_id, &format!("{FIELD}.extension_id"))?),
        reason: text_from_proto(&message.reason, &format!("{FIELD}.reason"))?,
        basis: document_refs_from_proto(&message.basis, &format!("{FIELD}.basis"))?,
        effective_on: date_from_proto(&message.effective_on, &format!("{FIELD}.effective_on"))?,
    })
}

fn completion_reported(message: &pb::CompletionReported) -> Result<CompletionReported, ConvertError> {
    const FIELD: &str = "completion_reported";
    Ok(CompletionReported {
        as_of: date_from_proto(&message.as_of, &format!("{FIELD}.as_of"))?,
        summary: text_from_proto(&message.summary, &format!("{FIELD}.summary"))?,
        evidence: document_refs_from_proto(&message.evidence, &format!("{FIELD}.evidence"))?,
    })
}

fn task_transferred(message: &pb::TaskTransferred) -> Result<TaskTransferred, ConvertError> {
    const FIELD: &str = "task_transferred";
    Ok(TaskTransferred {
        to_unit: unit_code_from_proto(&message.to_unit, &format!("{FIELD}.to_unit"))?,
        reason: text_from_proto(&message.reason, &format!("{FIELD}.reason"))?,
        basis: document_refs_from_proto(&message.basis, &format!("{FIELD}.basis"))?,
        effective_on: date_from_proto(&message.effective_on, &format!("{FIELD}.effective_on"))?,
    })
}

/// The fields shared by the five decision messages, `field` being the payload case's name.
fn decision(
    reason: Option<&str>,
    basis: &[pb::DocumentRef],
    effective_on: &str,
    field: &str,
) -> Result<Decision, ConvertError> {
    Ok(Decision {
        reason: optional_text_from_proto(reason, &format!("{field}.reason"))?,
        basis: document_refs_from_proto(basis, &format!("{field}.basis"))?,
        effective_on: date_from_proto(effective_on, &format!("{field}.effective_on"))?,
    })
}
