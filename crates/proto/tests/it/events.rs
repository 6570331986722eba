//! Every domain event variant, with its optional fields filled and empty, survives domain → message → bytes →
//! message → domain unchanged; the informative fields carry what the contract says.

use domain::deadline::Deadline;
use domain::plan::PlanEvent;
use domain::reminder::{ReminderEvent, ReminderSkipped, SkipReason};
use domain::task::TaskEvent;
use prost::Message;
use proto::convert::{domain_event_from_proto, domain_event_to_proto};
use proto::pb::event_envelope::Payload;
use proto::{pb, plan_event_from_proto, plan_event_to_proto, task_event_from_proto, task_event_to_proto};
use proto::{ConvertError, DomainEvent};

use crate::fixtures::{
    all_domain_events, plan_events_full, plan_events_sparse, reminder_events_full, reminder_events_sparse,
    report_content_full, task_events_full, task_events_sparse, ALL_EVENT_TYPES,
};

/// The payload on the wire and back: encoded inside an otherwise empty envelope, as it travels.
pub fn through_bytes(payload: Payload) -> Payload {
    let envelope = pb::EventEnvelope { payload: Some(payload), ..Default::default() };
    let bytes = envelope.encode_to_vec();
    pb::EventEnvelope::decode(bytes.as_slice()).unwrap().payload.unwrap()
}

pub fn plan_round_trip(event: &PlanEvent) -> PlanEvent {
    plan_event_from_proto(&through_bytes(plan_event_to_proto(event))).unwrap()
}

pub fn task_round_trip(event: &TaskEvent) -> TaskEvent {
    task_event_from_proto(&through_bytes(task_event_to_proto(event))).unwrap()
}

/// Stops compiling when a variant is added to the domain, so that `ALL_EVENT_TYPES` and the fixtures get it too.
fn _every_variant_is_in_the_fixtures(plan_event: &PlanEvent, task_event: &TaskEvent) {
    match plan_event {
        PlanEvent::PlanCreated(_)
        | PlanEvent::TaskRegistered(_)
        | PlanEvent::PlanFrozen(_)
        | PlanEvent::PlanUnfrozen(_)
        | PlanEvent::ReportIssued(_)
        | PlanEvent::ReportRequested(_)
        | PlanEvent::ReportRequestWithdrawn(_) => {}
    }
    match task_event {
        TaskEvent::TaskAssigned(_)
        | TaskEvent::ProgressReported(_)
        | TaskEvent::ReportCorrected(_)
        | TaskEvent::DeadlineExtensionRequested(_)
        | TaskEvent::DeadlineExtensionApproved(_)
        | TaskEvent::DeadlineExtensionRejected(_)
        | TaskEvent::CompletionReported(_)
        | TaskEvent::CompletionConfirmed(_)
        | TaskEvent::CompletionRejected(_)
        | TaskEvent::TaskSuspended(_)
        | TaskEvent::TaskCancelled(_)
        | TaskEvent::TaskTransferred(_)
        | TaskEvent::TaskReopened(_) => {}
    }
}

#[test]
fn the_fixtures_hold_every_variant_full_and_sparse() {
    for events in [
        plan_events_full()
            .iter()
            .map(PlanEvent::event_type)
            .chain(task_events_full().iter().map(TaskEvent::event_type))
            .collect::<Vec<_>>(),
        plan_events_sparse()
            .iter()
            .map(PlanEvent::event_type)
            .chain(task_events_sparse().iter().map(TaskEvent::event_type))
            .collect(),
    ] {
        assert_eq!(events, ALL_EVENT_TYPES);
    }
}

#[test]
fn every_plan_event_with_every_optional_field_filled_round_trips() {
    for event in plan_events_full() {
        assert_eq!(plan_round_trip(&event), event, "{}", event.event_type());
    }
}

#[test]
fn every_plan_event_with_optional_fields_empty_round_trips() {
    for event in plan_events_sparse() {
        assert_eq!(plan_round_trip(&event), event, "{}", event.event_type());
    }
}

#[test]
fn every_task_event_with_every_optional_field_filled_round_trips() {
    for event in task_events_full() {
        assert_eq!(task_round_trip(&event), event, "{}", event.event_type());
    }
}

#[test]
fn every_task_event_with_optional_fields_empty_round_trips() {
    for event in task_events_sparse() {
        assert_eq!(task_round_trip(&event), event, "{}", event.event_type());
    }
}

#[test]
fn every_event_of_either_aggregate_round_trips_as_a_domain_event() {
    for event in all_domain_events() {
        let back = domain_event_from_proto(&through_bytes(domain_event_to_proto(&event))).unwrap();
        assert_eq!(back, event);
    }
}

#[test]
fn the_payload_case_is_named_like_the_event_type() {
    for event in all_domain_events() {
        let case = format!("{:?}", domain_event_to_proto(&event));
        assert!(case.starts_with(&format!("{}(", event.event_type())), "{case}");
    }
}

#[test]
fn sparse_events_leave_optional_message_fields_absent() {
    let Payload::TaskAssigned(assigned) = task_event_to_proto(&task_events_sparse()[0]) else {
        panic!("expected TaskAssigned");
    };
    assert_eq!(assigned.parent_id, None);
    assert_eq!(assigned.target, None);
    assert_eq!(assigned.deadline, None);
    assert!(assigned.coordinating_units.is_empty() && assigned.basis.is_empty());
    let Payload::ProgressReported(reported) = task_event_to_proto(&task_events_sparse()[1]) else {
        panic!("expected ProgressReported");
    };
    assert_eq!(reported.content.unwrap().progress, pb::ReportedProgress::Unspecified as i32);
}

#[test]
fn a_document_reference_carries_its_text_and_its_parsed_parts() {
    let Payload::PlanCreated(created) = plan_event_to_proto(&plan_events_full()[0]) else {
        panic!("expected PlanCreated");
    };
    assert_eq!(
        created.basis[0],
        pb::DocumentRef {
            text: "Kế hoạch số 409/KH-UBND ngày 30/8/2021 của UBND tỉnh".to_owned(),
            type_code: Some("KH".to_owned()),
            type_name: Some("Kế hoạch".to_owned()),
            number: "409".to_owned(),
            year: None,
            issuer: "UBND".to_owned(),
            symbol: "KH-UBND".to_owned(),
            issued_on: Some("2021-08-30".to_owned()),
            form: pb::DocumentRefForm::Administrative as i32,
        }
    );
    assert_eq!(created.basis[1].type_code, None, "a công văn has no type code");
    assert_eq!(created.basis[1].symbol, "UBND-TH");
    assert_eq!(created.basis[2].year, Some(2019));
    assert_eq!(created.basis[2].type_code.as_deref(), Some("NĐ"));
    assert_eq!(created.basis[2].form, pb::DocumentRefForm::LegalNormative as i32);
    assert_eq!(created.basis[3].form, pb::DocumentRefForm::Party as i32);
}

#[test]
fn the_parsed_parts_of_a_document_reference_are_informative() {
    let event = plan_events_full()[0].clone();
    let Payload::PlanCreated(mut created) = plan_event_to_proto(&event) else {
        panic!("expected PlanCreated");
    };
    for document in &mut created.basis {
        let text = std::mem::take(&mut document.text);
        *document = pb::DocumentRef { text, ..Default::default() };
    }
    assert_eq!(plan_event_from_proto(&Payload::PlanCreated(created)).unwrap(), event);
}

#[test]
fn a_deadline_carries_its_code_granularity_due_date_and_vietnamese_text() {
    let cases = [
        (Deadline::try_year(2024).unwrap(), "2024", pb::DeadlineGranularity::Year, "2024-12-31", "Năm 2024"),
        (
            Deadline::try_half_year(2024, 1).unwrap(),
            "2024-H1",
            pb::DeadlineGranularity::HalfYear,
            "2024-06-30",
            "6 tháng đầu năm 2024",
        ),
        (
            Deadline::try_quarter(2024, 4).unwrap(),
            "2024-Q4",
            pb::DeadlineGranularity::Quarter,
            "2024-12-31",
            "Quý IV/2024",
        ),
        (
            Deadline::try_month(2024, 2).unwrap(),
            "2024-02",
            pb::DeadlineGranularity::Month,
            "2024-02-29",
            "Tháng 02/2024",
        ),
        (
            Deadline::parse_code("2024-11-30").unwrap(),
            "2024-11-30",
            pb::DeadlineGranularity::Day,
            "2024-11-30",
            "30/11/2024",
        ),
    ];
    for (deadline, code, granularity, due_date, vietnamese) in cases {
        let mut assigned = match &task_events_full()[0] {
            TaskEvent::TaskAssigned(assigned) => assigned.clone(),
            other => panic!("expected TaskAssigned, got {other:?}"),
        };
        assigned.deadline = Some(deadline);
        let event = TaskEvent::TaskAssigned(assigned);
        let Payload::TaskAssigned(message) = task_event_to_proto(&event) else {
            panic!("expected TaskAssigned");
        };
        let expected = pb::Deadline {
            code: code.to_owned(),
            granularity: granularity as i32,
            due_date: due_date.to_owned(),
            vietnamese: vietnamese.to_owned(),
        };
        assert_eq!(message.deadline, Some(expected));
        assert_eq!(task_round_trip(&event), event);
    }
}

#[test]
fn measures_keep_their_numbers_to_the_bit() {
    let Payload::ProgressReported(reported) = task_event_to_proto(&task_events_full()[1]) else {
        panic!("expected ProgressReported");
    };
    let measures = reported.content.unwrap().measures;
    assert_eq!(
        measures[0],
        pb::Measure {
            label: "Doanh nghiệp được hỗ trợ".to_owned(),
            achieved: 25.0,
            target: Some(25.0),
            unit: Some("doanh nghiệp".to_owned())
        }
    );
    assert_eq!(measures[2].achieved.to_bits(), (0.1f64 + 0.2).to_bits());
    for achieved in [f64::MAX, f64::MIN_POSITIVE, 1e-300, 123_456_789.123_456_79] {
        let mut content = report_content_full();
        content.measures = vec![domain::measure::Measure::new("x", achieved, Some(achieved), None).unwrap()];
        let event = TaskEvent::ProgressReported(domain::task::ProgressReported {
            report_id: crate::fixtures::REPORT_ID,
            content,
        });
        assert_eq!(task_round_trip(&event), event);
    }
}

#[test]
fn a_plan_payload_is_not_a_task_event_nor_the_reverse() {
    let plan_payload = plan_event_to_proto(&plan_events_full()[0]);
    assert_eq!(
        task_event_from_proto(&plan_payload),
        Err(ConvertError::Invalid {
            field: "payload".to_owned(),
            reason: "PlanCreated is a plan event, expected a task event".to_owned()
        })
    );
    let task_payload = task_event_to_proto(&task_events_full()[0]);
    assert_eq!(plan_event_from_proto(&task_payload).unwrap_err().field(), "payload");
    assert!(matches!(domain_event_from_proto(&task_payload), Ok(DomainEvent::Task(_))));
}

/// Stops compiling when a reminder event or a skip reason is added, so that the fixtures get it too.
fn _every_reminder_variant_is_in_the_fixtures(event: &ReminderEvent, reason: SkipReason) {
    match event {
        ReminderEvent::ReminderSent(_) | ReminderEvent::ReminderFailed(_) | ReminderEvent::ReminderSkipped(_) => {}
    }
    match reason {
        SkipReason::TaskCompleted
        | SkipReason::TaskCancelled
        | SkipReason::TaskTransferred
        | SkipReason::DeadlineChanged
        | SkipReason::ReportFiled
        | SkipReason::TooOld
        | SkipReason::FoldedIntoDigest
        | SkipReason::EndpointDisabled
        | SkipReason::NoRecipient
        | SkipReason::Superseded
        | SkipReason::TaskSuspended
        | SkipReason::RequestWithdrawn => {}
    }
}

#[test]
fn every_reminder_event_round_trips_with_its_instants_and_their_offsets() {
    let events: Vec<ReminderEvent> = reminder_events_full().into_iter().chain(reminder_events_sparse()).collect();
    let types: std::collections::BTreeSet<&str> = events.iter().map(ReminderEvent::event_type).collect();
    assert_eq!(types.len(), 3, "{types:?}");
    for event in events {
        let payload = through_bytes(domain_event_to_proto(&DomainEvent::Reminder(event.clone())));
        let DomainEvent::Reminder(back) = domain_event_from_proto(&payload).unwrap() else {
            panic!("a reminder payload decodes to a reminder event");
        };
        assert_eq!(back, event);
        assert_eq!(serde_json::to_string(&back).unwrap(), serde_json::to_string(&event).unwrap(), "stored JSON");
    }
    let Payload::ReminderFailed(failed) =
        domain_event_to_proto(&DomainEvent::Reminder(reminder_events_full()[1].clone()))
    else {
        panic!("expected ReminderFailed");
    };
    assert_eq!(failed.due_at, "2024-11-30T08:00:00+07:00");
    assert_eq!(failed.retry_at.as_deref(), Some("2024-11-30T08:05:00.5+07:00"));
}

#[test]
fn every_skip_reason_has_the_enum_value_of_its_stored_name() {
    for reason in SkipReason::ALL {
        let event = ReminderEvent::ReminderSkipped(ReminderSkipped {
            occurrence_key: "k".to_owned(),
            rule: "r".to_owned(),
            kind: "overdue".to_owned(),
            recipient: None,
            reason,
            detail: String::new(),
            due_at: time::macros::datetime!(2024-12-01 08:00 +07:00),
        });
        let Payload::ReminderSkipped(message) = domain_event_to_proto(&DomainEvent::Reminder(event)) else {
            panic!("expected ReminderSkipped");
        };
        let name = pb::SkipReason::try_from(message.reason).unwrap().as_str_name();
        assert_eq!(name, format!("SKIP_REASON_{}", reason.as_str().to_uppercase()));
    }
}

#[test]
fn a_reminder_without_a_reason_or_with_a_bad_instant_is_refused_naming_the_field() {
    let Payload::ReminderSkipped(mut skipped) =
        domain_event_to_proto(&DomainEvent::Reminder(reminder_events_full()[2].clone()))
    else {
        panic!("expected ReminderSkipped");
    };
    skipped.reason = pb::SkipReason::Unspecified as i32;
    let error = domain_event_from_proto(&Payload::ReminderSkipped(skipped.clone())).unwrap_err();
    assert_eq!(error.field(), "reminder_skipped.reason");
    skipped.reason = pb::SkipReason::TooOld as i32;
    skipped.due_at = "30/11/2024 08:00".to_owned();
    let error = domain_event_from_proto(&Payload::ReminderSkipped(skipped)).unwrap_err();
    assert_eq!(error.field(), "reminder_skipped.due_at");
    let reminder_payload = domain_event_to_proto(&DomainEvent::Reminder(reminder_events_full()[0].clone()));
    assert_eq!(task_event_from_proto(&reminder_payload).unwrap_err().field(), "payload");
}
