//! Events for the tests, made through the domain so that every payload is one the envelope conversion reads: plans
//! of the seed's shape (a plan, then for each task its registration in the plan, its assignment and a progress
//! report as of 15/4/2024), either as stored events in a valid hash chain or as append requests for a real store.

use domain::deadline::Deadline;
use domain::document_ref::DocumentRef;
use domain::ids::{PlanId, ReportId, ReportRequestId, TaskId};
use domain::measure::{Measure, Target};
use domain::numbering::{SectionCode, TaskNumber};
use domain::plan::{PlanCreated, PlanEvent, ReportRequested, Section, TaskRegistered};
use domain::reminder::{reminder_stream_id, ReminderEvent, ReminderSent, ReminderSkipped, SkipReason};
use domain::status::ReportedProgress;
use domain::task::{ProgressReported, ReportContent, TaskAssigned, TaskEvent};
use domain::text::NonEmptyText;
use domain::unit_code::UnitCode;
use event_store::canonical::{canonical_bytes, canonical_json, chain_hash, truncate_to_micros, GENESIS_HASH};
use event_store::testing::{request_of, test_actor};
use event_store::{AppendRequest, ExpectedVersion, NewEvent, RecordedEvent, StreamAppend, StreamId};
use serde::Serialize;
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

/// Tasks per plan in [`domain_events`]; each plan is `1 + 3 * TASKS_PER_PLAN` events.
const TASKS_PER_PLAN: usize = 3;

/// The first `n_events` events of a run of plans, each with its stream.
pub fn domain_events(n_events: usize) -> Vec<(StreamId, NewEvent)> {
    let mut events = Vec::with_capacity(n_events);
    while events.len() < n_events {
        events.extend(plan_with_tasks(TASKS_PER_PLAN));
    }
    events.truncate(n_events);
    events
}

/// The stored events of `events`, at positions `first_position`, `first_position + 1` …, chained from
/// `prev_hash`, as the store would hand them to the relay. Stream versions count from 1 within `events`.
pub fn recorded(events: &[(StreamId, NewEvent)], first_position: u64, prev_hash: &str) -> Vec<RecordedEvent> {
    let mut prev_hash = prev_hash.to_owned();
    let mut stream_versions = std::collections::HashMap::<StreamId, u64>::new();
    let correlation_id = Uuid::now_v7();
    let recorded_at = truncate_to_micros(OffsetDateTime::now_utc());
    let mut recorded = Vec::with_capacity(events.len());
    for (index, (stream_id, event)) in events.iter().enumerate() {
        let stream_version = stream_versions.entry(stream_id.clone()).or_default();
        *stream_version += 1;
        let mut stored = RecordedEvent {
            global_position: first_position + index as u64,
            event_id: event.event_id,
            stream_id: stream_id.clone(),
            stream_version: *stream_version,
            event_type: event.event_type.clone(),
            schema_version: event.schema_version,
            effective_date: event.effective_date,
            recorded_at,
            actor: test_actor(),
            command_id: Uuid::now_v7(),
            correlation_id,
            causation_id: None,
            payload: serde_json::from_str(&canonical_json(&event.payload)).unwrap(),
            prev_hash: prev_hash.clone(),
            hash: String::new(),
        };
        stored.hash = chain_hash(&prev_hash, &canonical_bytes(&stored));
        prev_hash = stored.hash.clone();
        recorded.push(stored);
    }
    recorded
}

/// `n_events` stored events from position 1.
pub fn recorded_events(n_events: usize) -> Vec<RecordedEvent> {
    recorded(&domain_events(n_events), 1, GENESIS_HASH)
}

/// A report request on a plan and the reminder log of one of its tasks: a reminder sent, then one skipped
/// because the report was filed.
pub fn report_request_and_reminders() -> Vec<(StreamId, NewEvent)> {
    let plan_id = PlanId(Uuid::now_v7());
    let task_id = TaskId(Uuid::now_v7());
    let requested = PlanEvent::ReportRequested(ReportRequested {
        request_id: ReportRequestId(Uuid::now_v7()),
        cut_off: date!(2024 - 04 - 15),
        due_on: date!(2024 - 04 - 18),
        units: vec![UnitCode::parse("KHCN-QLCN").unwrap()],
        basis: vec![document("Công văn số 1941/UBND-TH ngày 06/3/2023")],
        note: "Báo cáo kết quả thực hiện đến 15/4/2024".to_owned(),
    });
    let occurrence_key = format!("report:{task_id}:2024-04-15:d-3");
    let sent = ReminderEvent::ReminderSent(ReminderSent {
        occurrence_key: occurrence_key.clone(),
        rule: "report-due-3-days".to_owned(),
        kind: "report_due".to_owned(),
        channel: "email".to_owned(),
        recipient: "KHCN-QLCN".to_owned(),
        address: "qlcn@skhcn.bacgiang.gov.vn".to_owned(),
        attempt: 1,
        late: false,
        digest: false,
        due_at: datetime!(2024-04-12 08:00 +07:00),
        detail: "Nhắc báo cáo đến 15/4/2024".to_owned(),
    });
    let skipped = ReminderEvent::ReminderSkipped(ReminderSkipped {
        occurrence_key: format!("report:{task_id}:2024-04-15:due"),
        rule: "report-due-today".to_owned(),
        kind: "report_due".to_owned(),
        recipient: Some("KHCN-QLCN".to_owned()),
        reason: SkipReason::ReportFiled,
        detail: String::new(),
        due_at: datetime!(2024-04-15 08:00 +07:00),
    });
    let reminders = StreamId(reminder_stream_id(task_id));
    vec![
        (StreamId(plan_id.stream_name()), new_event(&requested, None)),
        (reminders.clone(), new_event(&sent, None)),
        (reminders, new_event(&skipped, None)),
    ]
}

/// One append request per event (appends at any version), in order.
pub fn append_requests(events: Vec<(StreamId, NewEvent)>) -> Vec<AppendRequest> {
    events
        .into_iter()
        .map(|(stream_id, event)| {
            request_of(vec![StreamAppend { stream_id, expected_version: ExpectedVersion::Any, events: vec![event] }])
        })
        .collect()
}

/// A plan and its tasks, in the order the commands would append them.
fn plan_with_tasks(n_tasks: usize) -> Vec<(StreamId, NewEvent)> {
    let plan_id = PlanId(Uuid::now_v7());
    let plan_stream = StreamId(plan_id.stream_name());
    let mut events = vec![(plan_stream.clone(), plan_event(&plan_created(plan_id)))];
    for index in 0..n_tasks {
        let task_id = TaskId(Uuid::now_v7());
        let task_stream = StreamId(task_id.stream_name());
        let number = TaskNumber::parse(&(index + 1).to_string()).unwrap();
        let registered = TaskRegistered {
            task_id,
            section: SectionCode::parse("I").unwrap(),
            number: number.clone(),
            parent_id: None,
        };
        events.push((plan_stream.clone(), plan_event(&PlanEvent::TaskRegistered(registered))));
        events.push((task_stream.clone(), task_event(&task_assigned(plan_id, task_id, number), None)));
        let as_of = date!(2024 - 04 - 15);
        events.push((task_stream, task_event(&progress_reported(as_of), Some(as_of))));
    }
    events
}

fn plan_created(plan_id: PlanId) -> PlanEvent {
    PlanEvent::PlanCreated(PlanCreated {
        plan_id,
        agency: UnitCode::parse("KHCN").unwrap(),
        year: 2024,
        title: text("Danh mục nhiệm vụ trọng tâm năm 2024 của Sở Khoa học và Công nghệ"),
        basis: vec![document("QĐ số 184/QĐ-UBND ngày 24/01/2024")],
        sections: vec![
            Section { code: SectionCode::parse("I").unwrap(), title: text("NHIỆM VỤ TRỌNG TÂM") },
            Section { code: SectionCode::parse("II").unwrap(), title: text("NHIỆM VỤ CHẤP THUẬN") },
        ],
    })
}

fn task_assigned(plan_id: PlanId, task_id: TaskId, number: TaskNumber) -> TaskEvent {
    TaskEvent::TaskAssigned(TaskAssigned {
        task_id,
        plan_id,
        section: SectionCode::parse("I").unwrap(),
        number,
        parent_id: None,
        title: "Hỗ trợ doanh nghiệp đổi mới công nghệ".to_owned(),
        target: Some(Target::from_text("03 doanh nghiệp được hỗ trợ").unwrap()),
        deadline: Some(Deadline::try_quarter(2024, 4).unwrap()),
        lead_unit: UnitCode::parse("KHCN-QLCN").unwrap(),
        coordinating_units: vec![UnitCode::parse("SO-TC").unwrap()],
        basis: vec![document("Kế hoạch số 409/KH-UBND ngày 30/8/2021 của UBND tỉnh")],
    })
}

fn progress_reported(as_of: Date) -> TaskEvent {
    TaskEvent::ProgressReported(ProgressReported {
        report_id: ReportId(Uuid::now_v7()),
        content: ReportContent {
            as_of,
            summary: text("Đã hỗ trợ 25 doanh nghiệp; tổ chức 02 hội thảo"),
            measures: vec![
                Measure::parse_fraction("Doanh nghiệp được hỗ trợ", "25/25 doanh nghiệp").unwrap(),
                Measure::new("Chỉ số PCI", 46.51, Some(70.0), Some("điểm")).unwrap(),
            ],
            progress: Some(ReportedProgress::InProgress),
            evidence: vec![document("Công văn số 1941/UBND-TH ngày 06/3/2023")],
        },
    })
}

fn plan_event(event: &PlanEvent) -> NewEvent {
    new_event(event, None)
}

fn task_event(event: &TaskEvent, effective_date: Option<Date>) -> NewEvent {
    new_event(event, effective_date)
}

/// A domain event (adjacently tagged `{"event_type", "payload"}`) as the command side hands it to the store.
fn new_event(event: &impl Serialize, effective_date: Option<Date>) -> NewEvent {
    let mut tagged = serde_json::to_value(event).unwrap();
    let event_type = tagged["event_type"].as_str().unwrap().to_owned();
    NewEvent {
        event_id: Uuid::now_v7(),
        event_type,
        schema_version: 1,
        effective_date,
        payload: tagged["payload"].take(),
    }
}

fn text(value: &str) -> NonEmptyText {
    NonEmptyText::parse(value, 20_000).unwrap()
}

fn document(value: &str) -> DocumentRef {
    DocumentRef::parse(value).unwrap()
}
