//! Plan events (`domain::plan::PlanEvent`) to their payload cases (`plan.proto`) and back. The field paths in
//! errors start with the payload case's name, which is also the envelope's field name: `plan_created.sections[0]`.

use domain::ids::{PlanId, TaskId};
use domain::plan::{PlanCreated, PlanEvent, Section, TaskRegistered};

use super::values::{
    document_refs_from_proto, document_refs_to_proto, optional_uuid_from_proto, section_from_proto,
    task_number_from_proto, text_from_proto, unit_code_from_proto, uuid_from_proto, uuid_to_proto,
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
    }
}

/// `None` when the payload is not the case of a plan event.
pub(super) fn from_proto(payload: &Payload) -> Option<Result<PlanEvent, ConvertError>> {
    match payload {
        Payload::PlanCreated(message) => Some(plan_created(message).map(PlanEvent::PlanCreated)),
        Payload::TaskRegistered(message) => Some(task_registered(message).map(PlanEvent::TaskRegistered)),
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

fn section_to_proto(section: &Section) -> pb::Section {
    pb::Section { code: section.code.as_str().to_owned(), title: section.title.as_str().to_owned() }
}

fn section_from_message(message: &pb::Section, field: &str) -> Result<Section, ConvertError> {
    Ok(Section {
        code: section_from_proto(&message.code, &format!("{field}.code"))?,
        title: text_from_proto(&message.title, &format!("{field}.title"))?,
    })
}
