//! Plan events (`domain::plan::PlanEvent`) to their payload cases (`plan.proto`) and back. The field paths in
//! errors start with the payload case's name, which is also the envelope's field name: `plan_created.sections[0]`.

use domain::ids::{IssuedReportId, PlanId, ReportRequestId, TaskId};
use domain::plan::{
    PlanCreated, PlanEvent, PlanFrozen, PlanUnfrozen, ReportIssued, ReportRequestWithdrawn, ReportRequested, Section,
    TaskRegistered,
};

use super::values::{
    date_from_proto, date_to_proto, document_refs_from_proto, document_refs_to_proto, optional_uuid_from_proto,
    required, section_from_proto, task_number_from_proto, text_from_proto, unit_code_from_proto, unit_codes_from_proto,
    unit_codes_to_proto, uuid_from_proto, uuid_to_proto,
};
use super::ConvertError;
use crate::pb;
use crate::pb::event_envelope::Payload;

pub(super) fn to_proto(event: &PlanEvent) -> Payload {
    match event {
        PlanEvent::PlanCreated(created) => Payload::PlanCreated(pb::PlanCreated {
            plan_id: uuid_to_proto(created.plan_id.0),
            agency: created.agency.as_str().to_owned(),
            year: created.year,
            title: created.title.as_str().to_owned(),
            basis: document_refs_to_proto(&created.basis),
            sections: created.sections.iter().map(section_to_proto).collect(),
        }),
        PlanEvent::TaskRegistered(registered) => Payload::TaskRegistered(pb::TaskRegistered {
            task_id: uuid_to_proto(registered.task_id.0),
            section: registered.section.as_str().to_owned(),
            number: registered.number.to_string(),
            parent_id: registered.parent_id.map(|parent_id| uuid_to_proto(parent_id.0)),
        }),
        PlanEvent::PlanFrozen(frozen) => Payload::PlanFrozen(pb::PlanFrozen {
            reason: frozen.reason.as_str().to_owned(),
            basis: document_refs_to_proto(&frozen.basis),
            effective_on: date_to_proto(frozen.effective_on),
        }),
        PlanEvent::PlanUnfrozen(unfrozen) => Payload::PlanUnfrozen(pb::PlanUnfrozen {
            reason: unfrozen.reason.as_str().to_owned(),
            basis: document_refs_to_proto(&unfrozen.basis),
            effective_on: date_to_proto(unfrozen.effective_on),
        }),
        PlanEvent::ReportIssued(issued) => Payload::ReportIssued(pb::ReportIssued {
            issued_report_id: uuid_to_proto(issued.issued_report_id.0),
            number: issued.number.as_str().to_owned(),
            cut_off: date_to_proto(issued.cut_off),
            signer: issued.signer.as_str().to_owned(),
            issued_on: date_to_proto(issued.issued_on),
            known_at_position: issued.known_at_position,
            appendix_sha256: issued.appendix_sha256.clone(),
            n_rows: issued.n_rows,
        }),
        PlanEvent::ReportRequested(requested) => Payload::ReportRequested(pb::ReportRequested {
            request_id: uuid_to_proto(requested.request_id.0),
            cut_off: date_to_proto(requested.cut_off),
            due_on: date_to_proto(requested.due_on),
            units: unit_codes_to_proto(&requested.units),
            basis: document_refs_to_proto(&requested.basis),
            note: requested.note.clone(),
        }),
        PlanEvent::ReportRequestWithdrawn(withdrawn) => Payload::ReportRequestWithdrawn(pb::ReportRequestWithdrawn {
            request_id: uuid_to_proto(withdrawn.request_id.0),
            reason: withdrawn.reason.as_str().to_owned(),
        }),
    }
}

/// `None` when the payload is not the case of a plan event.
pub(super) fn from_proto(payload: &Payload) -> Option<Result<PlanEvent, ConvertError>> {
    match payload {
        Payload::PlanCreated(message) => Some(plan_created(message).map(PlanEvent::PlanCreated)),
        Payload::TaskRegistered(message) => Some(task_registered(message).map(PlanEvent::TaskRegistered)),
        Payload::PlanFrozen(message) => Some(plan_frozen(message).map(PlanEvent::PlanFrozen)),
        Payload::PlanUnfrozen(message) => Some(plan_unfrozen(message).map(PlanEvent::PlanUnfrozen)),
        Payload::ReportIssued(message) => Some(report_issued(message).map(PlanEvent::ReportIssued)),
        Payload::ReportRequested(message) => Some(report_requested(message).map(PlanEvent::ReportRequested)),
        Payload::ReportRequestWithdrawn(message) => {
            Some(report_request_withdrawn(message).map(PlanEvent::ReportRequestWithdrawn))
        }
        _ => None,
    }
}

fn plan_created(message: &pb::PlanCreated) -> Result<PlanCreated, ConvertError> {
    const FIELD: &str = "plan_created";
    Ok(PlanCreated {
        plan_id: PlanId(uuid_from_proto(&message.plan_id, &format!("{FIELD}.plan_id"))?),
        agency: unit_code_from_proto(&message.agency, &format!("{FIELD}.agency"))?,
        year: message.year,
        title: text_from_proto(&message.title, &format!("{FIELD}.title"))?,
        basis: document_refs_from_proto(&message.basis, &format!("{FIELD}.basis"))?,
        sections: message
            .sections
            .iter()
            .enumerate()
            .map(|(index, section)| section_from_message(section, &format!("{FIELD}.sections[{index}]")))
            .collect::<Result<_, _>>()?,
    })
}

fn task_registered(message: &pb::TaskRegistered) -> Result<TaskRegistered, ConvertError> {
    const FIELD: &str = "task_registered";
    Ok(TaskRegistered {
        task_id: TaskId(uuid_from_proto(&message.task_id, &format!("{FIELD}.task_id"))?),
        section: section_from_proto(&message.section, &format!("{FIELD}.section"))?,
        number: task_number_from_proto(&message.number, &format!("{FIELD}.number"))?,
        parent_id: optional_uuid_from_proto(message.parent_id.as_deref(), &format!("{FIELD}.parent_id"))?.map(TaskId),
    })
}

fn plan_frozen(message: &pb::PlanFrozen) -> Result<PlanFrozen, ConvertError> {
    const FIELD: &str = "plan_frozen";
    Ok(PlanFrozen {
        reason: text_from_proto(&message.reason, &format!("{FIELD}.reason"))?,
        basis: document_refs_from_proto(&message.basis, &format!("{FIELD}.basis"))?,
        effective_on: date_from_proto(&message.effective_on, &format!("{FIELD}.effective_on"))?,
    })
}

fn plan_unfrozen(message: &pb::PlanUnfrozen) -> Result<PlanUnfrozen, ConvertError> {
    const FIELD: &str = "plan_unfrozen";
    Ok(PlanUnfrozen {
        reason: text_from_proto(&message.reason, &format!("{FIELD}.reason"))?,
        basis: document_refs_from_proto(&message.basis, &format!("{FIELD}.basis"))?,
        effective_on: date_from_proto(&message.effective_on, &format!("{FIELD}.effective_on"))?,
    })
}

fn report_issued(message: &pb::ReportIssued) -> Result<ReportIssued, ConvertError> {
    const FIELD: &str = "report_issued";
    Ok(ReportIssued {
        issued_report_id: IssuedReportId(uuid_from_proto(
            &message.issued_report_id,
            &format!("{FIELD}.issued_report_id"),
        )?),
        number: text_from_proto(&message.number, &format!("{FIELD}.number"))?,
        cut_off: date_from_proto(&message.cut_off, &format!("{FIELD}.cut_off"))?,
        signer: text_from_proto(&message.signer, &format!("{FIELD}.signer"))?,
        issued_on: date_from_proto(&message.issued_on, &format!("{FIELD}.issued_on"))?,
        known_at_position: message.known_at_position,
        appendix_sha256: required(&message.appendix_sha256, &format!("{FIELD}.appendix_sha256"))?.to_owned(),
        n_rows: message.n_rows,
    })
}

fn report_requested(message: &pb::ReportRequested) -> Result<ReportRequested, ConvertError> {
    const FIELD: &str = "report_requested";
    Ok(ReportRequested {
        request_id: ReportRequestId(uuid_from_proto(&message.request_id, &format!("{FIELD}.request_id"))?),
        cut_off: date_from_proto(&message.cut_off, &format!("{FIELD}.cut_off"))?,
        due_on: date_from_proto(&message.due_on, &format!("{FIELD}.due_on"))?,
        units: unit_codes_from_proto(&message.units, &format!("{FIELD}.units"))?,
        basis: document_refs_from_proto(&message.basis, &format!("{FIELD}.basis"))?,
        note: message.note.clone(),
    })
}

fn report_request_withdrawn(message: &pb::ReportRequestWithdrawn) -> Result<ReportRequestWithdrawn, ConvertError> {
    const FIELD: &str = "report_request_withdrawn";
    Ok(ReportRequestWithdrawn {
        request_id: ReportRequestId(uuid_from_proto(&message.request_id, &format!("{FIELD}.request_id"))?),
        reason: text_from_proto(&message.reason, &format!("{FIELD}.reason"))?,
    })
}

fn section_to_proto(section: &Section) -> pb::Section {
    pb::Section { code: section.code.as_str().to_owned(), title: section.title.as_str().to_owned() }
}

fn section_from_message(message: &pb::Section, field: &str) -> Result<Section, ConvertError> {
    Ok(Section {
        code: section_from_proto(&message.code, &format!("{field}.code"))?,
        title: text_from_proto(&message.title, &format!("{field}.title"))?,
    })
}
