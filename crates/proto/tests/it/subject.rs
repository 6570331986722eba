//! The NATS subjects events go on: `taskledger.events.<plan|task|access|reminder>.<uuid>`, read from the stream id.

use domain::reminder::reminder_stream_id;
use event_store::StreamId;
use proto::subject::{subject_for_stream, Aggregate, ALL_EVENTS_FILTER, SUBJECT_PREFIX};

use crate::fixtures::{PLAN_ID, TASK_ID};

#[test]
fn the_streams_of_plans_and_tasks_have_subjects() {
    assert_eq!(
        subject_for_stream(&StreamId(TASK_ID.stream_name())).as_deref(),
        Some("taskledger.events.task.0190f5c4-7a2b-7c3d-8e4f-5a6b7c8d9e02")
    );
    assert_eq!(
        subject_for_stream(&StreamId(PLAN_ID.stream_name())).as_deref(),
        Some("taskledger.events.plan.0190f5c4-7a2b-7c3d-8e4f-5a6b7c8d9e01")
    );
    assert_eq!(Aggregate::of_stream(&StreamId(TASK_ID.stream_name())), Some((Aggregate::Task, TASK_ID.0)));
}

#[test]
fn a_task_s_reminder_log_goes_on_the_reminder_subject_of_the_task() {
    let stream_id = StreamId(reminder_stream_id(TASK_ID));
    assert_eq!(
        subject_for_stream(&stream_id).as_deref(),
        Some("taskledger.events.reminder.0190f5c4-7a2b-7c3d-8e4f-5a6b7c8d9e02")
    );
    assert_eq!(Aggregate::of_stream(&stream_id), Some((Aggregate::Reminder, TASK_ID.0)));
    assert_eq!(Aggregate::Reminder.subject_filter(), "taskledger.events.reminder.*");
    let subject = subject_for_stream(&stream_id).unwrap();
    assert!(subject.starts_with(ALL_EVENTS_FILTER.trim_end_matches('>')), "{subject} is under {ALL_EVENTS_FILTER}");
    assert_eq!(subject_for_stream(&StreamId(format!("reminder-{TASK_ID}"))), None, "the stream prefix is plural");
}

#[test]
fn other_streams_have_none() {
    for stream_id in ["report-0190f5c4-7a2b-7c3d-8e4f-5a6b7c8d9e02", "task-", "task-42", "task", "", "plan-x.y"] {
        assert_eq!(subject_for_stream(&StreamId(stream_id.to_owned())), None, "{stream_id:?}");
    }
}

#[test]
fn the_filters_match_the_subjects() {
    assert_eq!(ALL_EVENTS_FILTER, format!("{SUBJECT_PREFIX}.>"));
    assert_eq!(Aggregate::Task.subject_filter(), "taskledger.events.task.*");
    assert_eq!(Aggregate::Plan.subject_filter(), "taskledger.events.plan.*");
}
