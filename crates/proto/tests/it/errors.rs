//! What decoding refuses: every value goes through the domain's parser, and the error names the field at fault by
//! its path in the message, `Missing` for an absent required field and `Invalid` for a value the domain refuses.

use proto::convert::domain_event_from_proto;
use proto::pb::event_envelope::Payload;
use proto::{pb, plan_event_to_proto, task_event_to_proto, ConvertError};

use crate::fixtures::{plan_events_full, task_events_full};

/// The payload case of the full fixture event with this event type.
fn payload(event_type: &str) -> Payload {
    let plan = plan_events_full()
        .into_iter()
        .find(|event| event.event_type() == event_type)
        .map(|event| plan_event_to_proto(&event));
    plan.or_else(|| {
        task_events_full()
            .into_iter()
            .find(|event| event.event_type() == event_type)
            .map(|event| task_event_to_proto(&event))
    })
    .unwrap_or_else(|| panic!("no fixture of type {event_type}"))
}

fn task_assigned(change: impl FnOnce(&mut pb::TaskAssigned)) -> Payload {
    let Payload::TaskAssigned(mut message) = payload("TaskAssigned") else { unreachable!() };
    change(&mut message);
    Payload::TaskAssigned(message)
}

fn report_content(change: impl FnOnce(&mut pb::ReportContent)) -> Payload {
    let Payload::ProgressReported(mut message) = payload("ProgressReported") else { unreachable!() };
    change(message.content.as_mut().unwrap());
    Payload::ProgressReported(message)
}

fn missing(field: &str) -> Result<(), ConvertError> {
    Err(ConvertError::Missing { field: field.to_owned() })
}

/// The field named by the error, and whether it is missing (rather than invalid).
fn fault(payload: &Payload) -> (String, bool) {
    match domain_event_from_proto(payload) {
        Ok(event) => panic!("expected an error, decoded {event:?}"),
        Err(ConvertError::Missing { field }) => (field, true),
        Err(ConvertError::Invalid { field, .. }) => (field, false),
    }
}

#[test]
fn absent_required_fields_are_missing_and_named() {
    let cases = [
        ("task_assigned.task_id", task_assigned(|message| message.task_id.clear())),
        ("task_assigned.lead_unit", task_assigned(|message| message.lead_unit.clear())),
        ("task_assigned.basis[0].text", task_assigned(|message| message.basis[0].text.clear())),
        ("task_assigned.target.text", task_assigned(|message| message.target.as_mut().unwrap().text.clear())),
        ("task_assigned.deadline.code", task_assigned(|message| message.deadline.as_mut().unwrap().code.clear())),
        ("progress_reported.content.summary", report_content(|content| content.summary.clear())),
        ("progress_reported.content.as_of", report_content(|content| content.as_of.clear())),
        ("progress_reported.content.measures[2].label", report_content(|content| content.measures[2].label.clear())),
    ];
    for (field, payload) in cases {
        assert_eq!(fault(&payload), (field.to_owned(), true), "{field}");
    }
    let Payload::ProgressReported(mut reported) = payload("ProgressReported") else { unreachable!() };
    reported.content = None;
    assert_eq!(
        domain_event_from_proto(&Payload::ProgressReported(reported)).map(drop),
        missing("progress_reported.content")
    );
    let Payload::DeadlineExtensionRequested(mut requested) = payload("DeadlineExtensionRequested") else {
        unreachable!()
    };
    requested.current_deadline = None;
    assert_eq!(
        domain_event_from_proto(&Payload::DeadlineExtensionRequested(requested)).map(drop),
        missing("deadline_extension_requested.current_deadline")
    );
    let Payload::PlanCreated(mut created) = payload("PlanCreated") else { unreachable!() };
    created.title.clear();
    assert_eq!(domain_event_from_proto(&Payload::PlanCreated(created)).map(drop), missing("plan_created.title"));
}

#[test]
fn values_the_domain_refuses_are_invalid_and_named() {
    let cases = [
        ("task_assigned.plan_id", task_assigned(|message| message.plan_id = "0190f5c4".to_owned())),
        ("task_assigned.parent_id", task_assigned(|message| message.parent_id = Some(String::new()))),
        ("task_assigned.section", task_assigned(|message| message.section = "IIII".to_owned())),
        ("task_assigned.number", task_assigned(|message| message.number = "1.2.3".to_owned())),
        ("task_assigned.lead_unit", task_assigned(|message| message.lead_unit = "KH&CN".to_owned())),
        (
            "task_assigned.coordinating_units[1]",
            task_assigned(|message| message.coordinating_units[1] = "SỞ".to_owned()),
        ),
        (
            "task_assigned.basis[1].text",
            task_assigned(|message| message.basis[1].text = "25/25 doanh nghiệp".to_owned()),
        ),
        (
            "task_assigned.target.quantity",
            task_assigned(|message| message.target.as_mut().unwrap().quantity = Some(-3.0)),
        ),
        (
            "task_assigned.target.unit",
            task_assigned(|message| message.target.as_mut().unwrap().unit = Some("\u{7}".to_owned())),
        ),
        (
            "task_assigned.deadline.code",
            task_assigned(|message| message.deadline.as_mut().unwrap().code = "2024-Q5".to_owned()),
        ),
        ("progress_reported.content.as_of", report_content(|content| content.as_of = "2024-02-30".to_owned())),
        ("progress_reported.content.summary", report_content(|content| content.summary = " \n ".to_owned())),
        ("progress_reported.content.progress", report_content(|content| content.progress = 7)),
        (
            "progress_reported.content.measures[0].achieved",
            report_content(|content| content.measures[0].achieved = f64::NAN),
        ),
        (
            "progress_reported.content.measures[1].target",
            report_content(|content| content.measures[1].target = Some(f64::INFINITY)),
        ),
        (
            "progress_reported.content.evidence[4].text",
            report_content(|content| content.evidence[4].text = "Kế hoạch".to_owned()),
        ),
    ];
    for (field, payload) in cases {
        assert_eq!(fault(&payload), (field.to_owned(), false), "{field}");
    }
}

#[test]
fn optional_texts_present_but_empty_are_invalid() {
    let Payload::DeadlineExtensionApproved(mut approved) = payload("DeadlineExtensionApproved") else { unreachable!() };
    approved.note = Some(String::new());
    assert_eq!(
        fault(&Payload::DeadlineExtensionApproved(approved)),
        ("deadline_extension_approved.note".to_owned(), false)
    );
    for event_type in ["CompletionConfirmed", "CompletionRejected", "TaskSuspended", "TaskCancelled", "TaskReopened"] {
        let broken = match payload(event_type) {
            Payload::CompletionConfirmed(mut message) => {
                message.reason = Some("  ".to_owned());
                Payload::CompletionConfirmed(message)
            }
            Payload::CompletionRejected(mut message) => {
                message.reason = Some("  ".to_owned());
                Payload::CompletionRejected(message)
            }
            Payload::TaskSuspended(mut message) => {
                message.reason = Some("  ".to_owned());
                Payload::TaskSuspended(message)
            }
            Payload::TaskCancelled(mut message) => {
                message.reason = Some("  ".to_owned());
                Payload::TaskCancelled(message)
            }
            Payload::TaskReopened(mut message) => {
                message.reason = Some("  ".to_owned());
                Payload::TaskReopened(message)
            }
            other => panic!("not a decision: {other:?}"),
        };
        let (field, is_missing) = fault(&broken);
        assert!(field.ends_with(".reason") && !is_missing, "{event_type}: {field}");
    }
}

#[test]
fn the_fields_of_plan_events_and_sections_are_named() {
    let Payload::PlanCreated(mut created) = payload("PlanCreated") else { unreachable!() };
    created.sections[1].code = "2".to_owned();
    assert_eq!(fault(&Payload::PlanCreated(created)), ("plan_created.sections[1].code".to_owned(), false));
    let Payload::TaskRegistered(mut registered) = payload("TaskRegistered") else { unreachable!() };
    registered.number = "0".to_owned();
    assert_eq!(fault(&Payload::TaskRegistered(registered)), ("task_registered.number".to_owned(), false));
    let Payload::TaskTransferred(mut transferred) = payload("TaskTransferred") else { unreachable!() };
    transferred.to_unit = "-X".to_owned();
    assert_eq!(fault(&Payload::TaskTransferred(transferred)), ("task_transferred.to_unit".to_owned(), false));
}

#[test]
fn messages_are_lowercase_and_carry_the_domain_rule() {
    let error = domain_event_from_proto(&task_assigned(|message| {
        message.deadline.as_mut().unwrap().code = "2024-Q5".to_owned()
    }))
    .unwrap_err();
    assert_eq!(error.to_string(), "task_assigned.deadline.code is invalid: quarter must be 1 to 4, got 5");
    let error = domain_event_from_proto(&report_content(|content| content.summary.clear())).unwrap_err();
    assert_eq!(error.to_string(), "progress_reported.content.summary is missing");
}

#[test]
fn the_informative_fields_of_a_deadline_are_not_read() {
    let expected = domain_event_from_proto(&payload("TaskAssigned")).unwrap();
    let decoded = domain_event_from_proto(&task_assigned(|message| {
        let deadline = message.deadline.as_mut().unwrap();
        deadline.granularity = pb::DeadlineGranularity::Day as i32;
        deadline.due_date.clear();
        deadline.vietnamese = "Thường xuyên".to_owned();
    }))
    .unwrap();
    assert_eq!(decoded, expected);
}
