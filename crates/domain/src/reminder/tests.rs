//! Tests of the reminder events: their stored JSON (a compatibility contract, pinned by snapshots), the stream id
//! and the stored names of the skip reasons.

use time::macros::datetime;
use uuid::Uuid;

use super::*;

const TASK_ID: TaskId = TaskId(Uuid::from_u128(0x0190f5c4_7a2b_7c3d_8e4f_5a6b7c8d9e02));

fn sent() -> ReminderEvent {
    ReminderEvent::ReminderSent(ReminderSent {
        occurrence_key: "deadline:0190f5c4-7a2b-7c3d-8e4f-5a6b7c8d9e02:2024-11-30:d-7".to_owned(),
        rule: "deadline-7-days".to_owned(),
        kind: "deadline_approaching".to_owned(),
        channel: "email".to_owned(),
        recipient: "SO-KHCN".to_owned(),
        address: "vanthu@skhcn.bacgiang.gov.vn".to_owned(),
        attempt: 1,
        late: false,
        digest: false,
        due_at: datetime!(2024-11-23 08:00 +07:00),
        detail: "Nhiệm vụ 2 sắp đến hạn (30/11/2024)".to_owned(),
    })
}

fn failed() -> ReminderEvent {
    ReminderEvent::ReminderFailed(ReminderFailed {
        occurrence_key: "deadline:0190f5c4-7a2b-7c3d-8e4f-5a6b7c8d9e02:2024-11-30:due".to_owned(),
        rule: "deadline-due-today".to_owned(),
        kind: "due_today".to_owned(),
        channel: "webhook".to_owned(),
        recipient: "SO-KHCN".to_owned(),
        address: "https://skhcn.example.vn/hooks/taskledger".to_owned(),
        attempt: 2,
        error: "HTTP 503 Service Unavailable".to_owned(),
        permanent: false,
        retry_at: Some(datetime!(2024-11-30 08:05 +07:00)),
        dead_lettered: false,
        due_at: datetime!(2024-11-30 08:00 +07:00),
    })
}

fn skipped() -> ReminderEvent {
    ReminderEvent::ReminderSkipped(ReminderSkipped {
        occurrence_key: "report:0190f5c4-7a2b-7c3d-8e4f-5a6b7c8d9e02:2024-04-15".to_owned(),
        rule: "report-due-3-days".to_owned(),
        kind: "report_due".to_owned(),
        recipient: None,
        reason: SkipReason::ReportFiled,
        detail: String::new(),
        due_at: datetime!(2024-04-12 08:00 +07:00),
    })
}

#[test]
fn stored_reminder_event_json_is_stable() {
    insta::assert_snapshot!(serde_json_of(&sent()));
    insta::assert_snapshot!(serde_json_of(&failed()));
    insta::assert_snapshot!(serde_json_of(&skipped()));
}

#[test]
fn a_failure_without_a_retry_stores_null() {
    let ReminderEvent::ReminderFailed(failure) = failed() else { unreachable!("failed() is a failure") };
    let final_failure = ReminderEvent::ReminderFailed(ReminderFailed {
        permanent: true,
        retry_at: None,
        dead_lettered: true,
        ..failure
    });
    let json = serde_json_of(&final_failure);
    assert!(json.contains("\"retry_at\": null"), "{json}");
    assert!(json.contains("\"dead_lettered\": true"), "{json}");
}

#[test]
fn instants_are_stored_in_rfc_3339_with_their_offset() {
    let json = serde_json::to_value(sent()).unwrap();
    assert_eq!(json["payload"]["due_at"], "2024-11-23T08:00:00+07:00");
    assert_eq!(json["event_type"], sent().event_type());
}

#[test]
fn the_reminder_stream_of_a_task_is_named_after_it() {
    let stream_id = reminder_stream_id(TASK_ID);
    assert_eq!(stream_id, "reminders-0190f5c4-7a2b-7c3d-8e4f-5a6b7c8d9e02");
    assert_eq!(task_of_reminder_stream(&stream_id), Some(TASK_ID));
    assert_eq!(task_of_reminder_stream(&TASK_ID.stream_name()), None);
    assert_eq!(task_of_reminder_stream("reminders-42"), None);
}

#[test]
fn skip_reasons_store_their_snake_case_names() {
    for reason in SkipReason::ALL {
        let json = serde_json::to_value(reason).unwrap();
        assert_eq!(json, reason.as_str());
        assert_eq!(SkipReason::parse(reason.as_str()), Some(reason));
        assert!(!reason.vietnamese().is_empty());
    }
    assert_eq!(SkipReason::TooOld.as_str(), "too_old");
    assert_eq!(SkipReason::parse("late"), None);
}

#[test]
fn every_event_names_its_occurrence_and_due_instant() {
    assert_eq!(skipped().occurrence_key(), "report:0190f5c4-7a2b-7c3d-8e4f-5a6b7c8d9e02:2024-04-15");
    assert_eq!(failed().due_at(), datetime!(2024-11-30 08:00 +07:00));
    let types: Vec<&str> = [sent(), failed(), skipped()].iter().map(ReminderEvent::event_type).collect();
    assert_eq!(types, ["ReminderSent", "ReminderFailed", "ReminderSkipped"]);
}

fn serde_json_of(value: &ReminderEvent) -> String {
    let json = serde_json::to_string_pretty(value).unwrap();
    let back: ReminderEvent = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, value, "stored JSON must decode to the same event");
    json
}
