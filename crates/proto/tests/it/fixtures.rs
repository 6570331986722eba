//! Domain events for the tests: one of every variant with every optional field filled (`*_full`), and one with
//! every optional field empty (`*_sparse`), plus the stored events (`RecordedEvent`) that carry them in a valid
//! hash chain, as the store would hand them to a publisher.

use domain::access::{AccessEvent, RecordsRead};
use domain::deadline::Deadline;
use domain::document_ref::DocumentRef;
use domain::ids::{ExtensionId, IssuedReportId, PlanId, ReportId, ReportRequestId, TaskId};
use domain::measure::{Measure, Target};
use domain::numbering::{SectionCode, TaskNumber};
use domain::plan::{
    PlanCreated, PlanEvent, PlanFrozen, PlanUnfrozen, ReportIssued, ReportRequestWithdrawn, ReportRequested, Section,
    TaskRegistered,
};
use domain::reminder::{reminder_stream_id, ReminderEvent, ReminderFailed, ReminderSent, ReminderSkipped, SkipReason};
use domain::status::ReportedProgress;
use domain::task::{
    CompletionReported, DeadlineExtensionApproved, DeadlineExtensionRejected, DeadlineExtensionRequested, Decision,
    ProgressReported, ReportContent, ReportCorrected, TaskAssigned, TaskEvent, TaskTransferred,
};
use domain::text::NonEmptyText;
use domain::unit_code::UnitCode;
use event_store::canonical::{canonical_bytes, canonical_json, chain_hash, GENESIS_HASH};
use event_store::{Actor, RecordedEvent, StreamId};
use proto::DomainEvent;
use time::macros::{date, datetime};
use time::Date;
use uuid::Uuid;

pub const PLAN_ID: PlanId = PlanId(Uuid::from_u128(0x0190f5c4_7a2b_7c3d_8e4f_5a6b7c8d9e01));
pub const TASK_ID: TaskId = TaskId(Uuid::from_u128(0x0190f5c4_7a2b_7c3d_8e4f_5a6b7c8d9e02));
pub const INDICATOR_ID: TaskId = TaskId(Uuid::from_u128(0x0190f5c4_7a2b_7c3d_8e4f_5a6b7c8d9e03));
pub const REPORT_ID: ReportId = ReportId(Uuid::from_u128(0x0190f5c4_7a2b_7c3d_8e4f_5a6b7c8d9e04));
pub const EXTENSION_ID: ExtensionId = ExtensionId(Uuid::from_u128(0x0190f5c4_7a2b_7c3d_8e4f_5a6b7c8d9e05));

/// The event types of every variant of `PlanEvent` and `TaskEvent`, in declaration order.
pub const ALL_EVENT_TYPES: [&str; 20] = [
    "PlanCreated",
    "TaskRegistered",
    "PlanFrozen",
    "PlanUnfrozen",
    "ReportIssued",
    "ReportRequested",
    "ReportRequestWithdrawn",
    "TaskAssigned",
    "ProgressReported",
    "ReportCorrected",
    "DeadlineExtensionRequested",
    "DeadlineExtensionApproved",
    "DeadlineExtensionRejected",
    "CompletionReported",
    "CompletionConfirmed",
    "CompletionRejected",
    "TaskSuspended",
    "TaskCancelled",
    "TaskTransferred",
    "TaskReopened",
];

pub fn text(value: &str) -> NonEmptyText {
    NonEmptyText::parse(value, 20_000).unwrap()
}

pub fn unit(value: &str) -> UnitCode {
    UnitCode::parse(value).unwrap()
}

pub fn document(value: &str) -> DocumentRef {
    DocumentRef::parse(value).unwrap()
}

/// References of every form: administrative, công văn, legal-normative, party, and one without a date.
pub fn documents() -> Vec<DocumentRef> {
    vec![
        document("Kế hoạch số 409/KH-UBND ngày 30/8/2021 của UBND tỉnh"),
        document("Công văn số 1941/UBND-TH ngày 06/3/2023"),
        document("Nghị định 09/2019/NĐ-CP"),
        document("Chỉ thị số 26-CT/TU ngày 02/6/2023"),
        document("QĐ số 184/QĐ-UBND ngày 24/01/2024"),
    ]
}

pub fn plan_events_full() -> Vec<PlanEvent> {
    vec![
        PlanEvent::PlanCreated(PlanCreated {
            plan_id: PLAN_ID,
            agency: unit("KHCN"),
            year: 2024,
            title: text("Danh mục nhiệm vụ trọng tâm năm 2024 của Sở Khoa học và Công nghệ"),
            basis: documents(),
            sections: vec![
                Section { code: SectionCode::parse("I").unwrap(), title: text("NHIỆM VỤ TRỌNG TÂM") },
                Section { code: SectionCode::parse("II").unwrap(), title: text("NHIỆM VỤ CHẤP THUẬN") },
            ],
        }),
        PlanEvent::TaskRegistered(TaskRegistered {
            task_id: INDICATOR_ID,
            section: SectionCode::parse("II").unwrap(),
            number: TaskNumber::parse("2.1").unwrap(),
            parent_id: Some(TASK_ID),
        }),
        PlanEvent::PlanFrozen(PlanFrozen {
            reason: text("Thanh tra việc thực hiện nhiệm vụ năm 2024"),
            basis: documents(),
            effective_on: date!(2024 - 05 - 02),
        }),
        PlanEvent::PlanUnfrozen(PlanUnfrozen {
            reason: text("Kết thúc thanh tra"),
            basis: documents(),
            effective_on: date!(2024 - 06 - 01),
        }),
        PlanEvent::ReportIssued(issued_report()),
        PlanEvent::ReportRequested(report_requested()),
        PlanEvent::ReportRequestWithdrawn(ReportRequestWithdrawn {
            request_id: REPORT_REQUEST_ID,
            reason: text("Gộp vào báo cáo quý II"),
        }),
    ]
}

pub const REPORT_REQUEST_ID: ReportRequestId = ReportRequestId(Uuid::from_u128(0x0190f5c4_7a2b_7c3d_8e4f_5a6b7c8d9e07));

pub fn report_requested() -> ReportRequested {
    ReportRequested {
        request_id: REPORT_REQUEST_ID,
        cut_off: date!(2024 - 04 - 15),
        due_on: date!(2024 - 04 - 18),
        units: vec![unit("KHCN"), unit("SO-TC")],
        basis: documents(),
        note: "Báo cáo kết quả thực hiện đến 15/4/2024".to_owned(),
    }
}

pub fn issued_report() -> ReportIssued {
    ReportIssued {
        issued_report_id: IssuedReportId(Uuid::from_u128(0x0190f5c4_7a2b_7c3d_8e4f_5a6b7c8d9e06)),
        number: text("Số 74/BC-KHCN"),
        cut_off: date!(2024 - 04 - 15),
        signer: text("Giám đốc Nguyễn Văn Bình"),
        issued_on: date!(2024 - 04 - 16),
        known_at_position: 42,
        appendix_sha256: "0123456789abcdef".repeat(4),
        n_rows: 12,
    }
}

pub fn plan_events_sparse() -> Vec<PlanEvent> {
    vec![
        PlanEvent::PlanCreated(PlanCreated {
            plan_id: PLAN_ID,
            agency: unit("KHCN"),
            year: 2024,
            title: text("Kế hoạch"),
            basis: Vec::new(),
            sections: Vec::new(),
        }),
        PlanEvent::TaskRegistered(TaskRegistered {
            task_id: TASK_ID,
            section: SectionCode::parse("I").unwrap(),
            number: TaskNumber::parse("2").unwrap(),
            parent_id: None,
        }),
        PlanEvent::PlanFrozen(PlanFrozen {
            reason: text("Thanh tra"),
            basis: Vec::new(),
            effective_on: date!(2024 - 05 - 02),
        }),
        PlanEvent::PlanUnfrozen(PlanUnfrozen {
            reason: text("Kết thúc"),
            basis: Vec::new(),
            effective_on: date!(2024 - 05 - 02),
        }),
        PlanEvent::ReportIssued(ReportIssued { n_rows: 0, known_at_position: 0, ..issued_report() }),
        PlanEvent::ReportRequested(ReportRequested {
            due_on: date!(2024 - 04 - 15),
            units: Vec::new(),
            basis: Vec::new(),
            note: String::new(),
            ..report_requested()
        }),
        PlanEvent::ReportRequestWithdrawn(ReportRequestWithdrawn {
            request_id: REPORT_REQUEST_ID,
            reason: text("Huỷ"),
        }),
    ]
}

pub fn report_content_full() -> ReportContent {
    ReportContent {
        as_of: date!(2024 - 04 - 15),
        summary: text("Đã hỗ trợ 25 doanh nghiệp.\n- Tổ chức 02 hội thảo\n- Khảo sát nhu cầu"),
        measures: vec![
            Measure::parse_fraction("Doanh nghiệp được hỗ trợ", "25/25 doanh nghiệp").unwrap(),
            Measure::new("Chỉ số PCI", 46.51, Some(70.0), Some("điểm")).unwrap(),
            Measure::new("Tỷ lệ hoàn thành", 0.1 + 0.2, None, None).unwrap(),
        ],
        progress: Some(ReportedProgress::InProgress),
        evidence: documents(),
    }
}

pub fn report_content_sparse() -> ReportContent {
    ReportContent {
        as_of: date!(2024 - 04 - 15),
        summary: text("Đang thực hiện"),
        measures: Vec::new(),
        progress: None,
        evidence: Vec::new(),
    }
}

pub fn task_events_full() -> Vec<TaskEvent> {
    let decision =
        |reason: &str| Decision { reason: Some(text(reason)), basis: documents(), effective_on: date!(2024 - 12 - 31) };
    vec![
        TaskEvent::TaskAssigned(TaskAssigned {
            task_id: INDICATOR_ID,
            plan_id: PLAN_ID,
            section: SectionCode::parse("II").unwrap(),
            number: TaskNumber::parse("2.1").unwrap(),
            parent_id: Some(TASK_ID),
            title: "Hỗ trợ doanh nghiệp đổi mới công nghệ".to_owned(),
            target: Some(Target::from_text("03 doanh nghiệp được hỗ trợ").unwrap()),
            deadline: Some(Deadline::try_quarter(2024, 4).unwrap()),
            lead_unit: unit("KHCN-QLCN"),
            coordinating_units: vec![unit("SO-NNPTNT"), unit("VP_UBND"), unit("SO.TC")],
            basis: documents(),
        }),
        TaskEvent::ProgressReported(ProgressReported { report_id: REPORT_ID, content: report_content_full() }),
        TaskEvent::ReportCorrected(ReportCorrected {
            report_id: REPORT_ID,
            reason: text("Sửa số liệu doanh nghiệp"),
            content: ReportContent { progress: Some(ReportedProgress::NotStarted), ..report_content_full() },
        }),
        TaskEvent::DeadlineExtensionRequested(DeadlineExtensionRequested {
            extension_id: EXTENSION_ID,
            current_deadline: Deadline::try_month(2024, 11).unwrap(),
            proposed_deadline: Deadline::try_half_year(2025, 1).unwrap(),
            reason: text("Chờ kinh phí"),
            basis: documents(),
            effective_on: date!(2024 - 10 - 01),
        }),
        TaskEvent::DeadlineExtensionApproved(DeadlineExtensionApproved {
            extension_id: EXTENSION_ID,
            new_deadline: Deadline::try_day(date!(2025 - 03 - 31)).unwrap(),
            basis: documents(),
            note: Some(text("Đồng ý gia hạn đến 31/3/2025")),
            effective_on: date!(2024 - 10 - 15),
        }),
        TaskEvent::DeadlineExtensionRejected(DeadlineExtensionRejected {
            extension_id: EXTENSION_ID,
            reason: text("Không đủ căn cứ"),
            basis: documents(),
            effective_on: date!(2024 - 10 - 15),
        }),
        TaskEvent::CompletionReported(CompletionReported {
            as_of: date!(2024 - 12 - 20),
            summary: text("Đã hoàn thành"),
            evidence: documents(),
        }),
        TaskEvent::CompletionConfirmed(decision("Xác nhận hoàn thành")),
        TaskEvent::CompletionRejected(decision("Chưa đủ minh chứng")),
        TaskEvent::TaskSuspended(decision("Tạm hoãn theo chỉ đạo")),
        TaskEvent::TaskCancelled(decision("Huỷ theo Quyết định")),
        TaskEvent::TaskTransferred(TaskTransferred {
            to_unit: unit("SO-TTTT"),
            reason: text("Điều chuyển cho Sở Thông tin và Truyền thông"),
            basis: documents(),
            effective_on: date!(2024 - 06 - 30),
        }),
        TaskEvent::TaskReopened(decision("Mở lại")),
    ]
}

pub fn task_events_sparse() -> Vec<TaskEvent> {
    let decision = || Decision { reason: None, basis: Vec::new(), effective_on: date!(2024 - 12 - 31) };
    vec![
        TaskEvent::TaskAssigned(TaskAssigned {
            task_id: TASK_ID,
            plan_id: PLAN_ID,
            section: SectionCode::parse("I").unwrap(),
            number: TaskNumber::parse("2").unwrap(),
            parent_id: None,
            title: String::new(),
            target: None,
            deadline: None,
            lead_unit: unit("KHCN"),
            coordinating_units: Vec::new(),
            basis: Vec::new(),
        }),
        TaskEvent::ProgressReported(ProgressReported { report_id: REPORT_ID, content: report_content_sparse() }),
        TaskEvent::ReportCorrected(ReportCorrected {
            report_id: REPORT_ID,
            reason: text("Sửa"),
            content: report_content_sparse(),
        }),
        TaskEvent::DeadlineExtensionRequested(DeadlineExtensionRequested {
            extension_id: EXTENSION_ID,
            current_deadline: Deadline::try_year(2024).unwrap(),
            proposed_deadline: Deadline::try_year(2025).unwrap(),
            reason: text("Chờ kinh phí"),
            basis: Vec::new(),
            effective_on: date!(2024 - 10 - 01),
        }),
        TaskEvent::DeadlineExtensionApproved(DeadlineExtensionApproved {
            extension_id: EXTENSION_ID,
            new_deadline: Deadline::try_year(2025).unwrap(),
            basis: Vec::new(),
            note: None,
            effective_on: date!(2024 - 10 - 15),
        }),
        TaskEvent::DeadlineExtensionRejected(DeadlineExtensionRejected {
            extension_id: EXTENSION_ID,
            reason: text("Không"),
            basis: Vec::new(),
            effective_on: date!(2024 - 10 - 15),
        }),
        TaskEvent::CompletionReported(CompletionReported {
            as_of: date!(2024 - 12 - 20),
            summary: text("Xong"),
            evidence: Vec::new(),
        }),
        TaskEvent::CompletionConfirmed(decision()),
        TaskEvent::CompletionRejected(decision()),
        TaskEvent::TaskSuspended(decision()),
        TaskEvent::TaskCancelled(decision()),
        TaskEvent::TaskTransferred(TaskTransferred {
            to_unit: unit("SO-TTTT"),
            reason: text("Điều chuyển"),
            basis: Vec::new(),
            effective_on: date!(2024 - 06 - 30),
        }),
        TaskEvent::TaskReopened(decision()),
    ]
}

/// Every fixture event, full ones first, each with the stream it belongs to.
pub fn all_domain_events() -> Vec<DomainEvent> {
    let plan_events = plan_events_full().into_iter().chain(plan_events_sparse()).map(DomainEvent::Plan);
    let task_events = task_events_full().into_iter().chain(task_events_sparse()).map(DomainEvent::Task);
    let access_events = access_events().into_iter().map(DomainEvent::Access);
    let reminder_events = reminder_events_full().into_iter().chain(reminder_events_sparse()).map(DomainEvent::Reminder);
    plan_events.chain(task_events).chain(access_events).chain(reminder_events).collect()
}

/// One of every reminder event, with every optional field filled.
pub fn reminder_events_full() -> Vec<ReminderEvent> {
    vec![
        ReminderEvent::ReminderSent(reminder_sent()),
        ReminderEvent::ReminderFailed(ReminderFailed {
            occurrence_key: "deadline:0190f5c4-7a2b-7c3d-8e4f-5a6b7c8d9e02:2024-11-30:due".to_owned(),
            rule: "deadline-due-today".to_owned(),
            kind: "due_today".to_owned(),
            channel: "webhook".to_owned(),
            recipient: "KHCN".to_owned(),
            address: "https://khcn.example.vn/hooks/taskledger".to_owned(),
            attempt: 2,
            error: "HTTP 503 Service Unavailable".to_owned(),
            permanent: false,
            retry_at: Some(datetime!(2024-11-30 08:05:00.5 +07:00)),
            dead_lettered: false,
            due_at: datetime!(2024-11-30 08:00 +07:00),
        }),
        ReminderEvent::ReminderSkipped(ReminderSkipped {
            occurrence_key: "report:0190f5c4-7a2b-7c3d-8e4f-5a6b7c8d9e07:2024-04-15".to_owned(),
            rule: "report-due-3-days".to_owned(),
            kind: "report_due".to_owned(),
            recipient: Some("KHCN".to_owned()),
            reason: SkipReason::FoldedIntoDigest,
            detail: "Bản tổng hợp ngày 12/04/2024".to_owned(),
            due_at: datetime!(2024-04-12 08:00 +07:00),
        }),
    ]
}

/// One of every reminder event, with every optional field empty, and the other skip reasons.
pub fn reminder_events_sparse() -> Vec<ReminderEvent> {
    let skipped = |reason| {
        ReminderEvent::ReminderSkipped(ReminderSkipped {
            occurrence_key: "k".to_owned(),
            rule: String::new(),
            kind: "overdue".to_owned(),
            recipient: None,
            reason,
            detail: String::new(),
            due_at: datetime!(2024-12-01 00:00 UTC),
        })
    };
    let mut events = vec![
        ReminderEvent::ReminderSent(ReminderSent { detail: String::new(), attempt: 0, ..reminder_sent() }),
        ReminderEvent::ReminderFailed(ReminderFailed {
            occurrence_key: "k".to_owned(),
            rule: String::new(),
            kind: "escalation".to_owned(),
            channel: "nats".to_owned(),
            recipient: String::new(),
            address: String::new(),
            attempt: 5,
            error: "no responders".to_owned(),
            permanent: true,
            retry_at: None,
            dead_lettered: true,
            due_at: datetime!(2024-12-01 00:00 UTC),
        }),
    ];
    events.extend(SkipReason::ALL.into_iter().map(skipped));
    events
}

fn reminder_sent() -> ReminderSent {
    ReminderSent {
        occurrence_key: "deadline:0190f5c4-7a2b-7c3d-8e4f-5a6b7c8d9e02:2024-11-30:d-7".to_owned(),
        rule: "deadline-7-days".to_owned(),
        kind: "deadline_approaching".to_owned(),
        channel: "email".to_owned(),
        recipient: "KHCN".to_owned(),
        address: "vanthu@skhcn.bacgiang.gov.vn".to_owned(),
        attempt: 1,
        late: true,
        digest: true,
        due_at: datetime!(2024-11-23 08:00 +07:00),
        detail: "Nhiệm vụ 2 sắp đến hạn (30/11/2024)".to_owned(),
    }
}

/// An auditor's read of a plan's records, and one that concerns no plan.
pub fn access_events() -> Vec<AccessEvent> {
    vec![
        AccessEvent::RecordsRead(RecordsRead {
            resource: format!("/v1/tasks/{TASK_ID}/history"),
            query: "format=csv".to_owned(),
            plan_id: Some(PLAN_ID),
            n_records: 12,
        }),
        AccessEvent::RecordsRead(RecordsRead {
            resource: "/v1/audit/events".to_owned(),
            query: String::new(),
            plan_id: None,
            n_records: 0,
        }),
    ]
}

/// The stored events of `events`, positions 1, 2, 3 … in a valid hash chain, each payload as the store reads
/// it back (parsed from its canonical text). Every other event has the optional provenance fields empty.
pub fn recorded_chain(events: &[DomainEvent]) -> Vec<RecordedEvent> {
    let mut prev_hash = GENESIS_HASH.to_owned();
    let mut stream_versions = std::collections::HashMap::<String, u64>::new();
    let mut recorded = Vec::new();
    for (index, event) in events.iter().enumerate() {
        let position = index as u64 + 1;
        let stream_id = match event {
            DomainEvent::Plan(_) => PLAN_ID.stream_name(),
            DomainEvent::Task(_) => TASK_ID.stream_name(),
            DomainEvent::Access(_) => format!("access-{PLAN_ID}"),
            DomainEvent::Reminder(_) => reminder_stream_id(TASK_ID),
        };
        let stream_version = stream_versions.entry(stream_id.clone()).or_default();
        *stream_version += 1;
        let provenance_filled = index % 2 == 0;
        let mut stored = RecordedEvent {
            global_position: position,
            event_id: Uuid::from_u128(0x0190f5c4_0000_7000_8000_000000000000 + u128::from(position)),
            stream_id: StreamId(stream_id),
            stream_version: *stream_version,
            event_type: event.event_type().to_owned(),
            schema_version: 1,
            effective_date: provenance_filled.then_some(date!(2024 - 04 - 15)),
            recorded_at: datetime!(2024-04-16 08:30:15.123456 UTC) + time::Duration::seconds(position as i64),
            actor: Actor {
                id: "user-7".to_owned(),
                name: "Nguyễn Thị Hoà".to_owned(),
                unit: "KHCN".to_owned(),
                role: "reporter".to_owned(),
            },
            command_id: Uuid::from_u128(0x0190f5c4_1111_7000_8000_000000000000 + u128::from(position)),
            correlation_id: Uuid::from_u128(0x0190f5c4_2222_7000_8000_000000000000),
            causation_id: provenance_filled.then(|| Uuid::from_u128(0x0190f5c4_3333_7000_8000_000000000000)),
            payload: stored_payload(event),
            prev_hash: prev_hash.clone(),
            hash: String::new(),
        };
        stored.hash = chain_hash(&prev_hash, &canonical_bytes(&stored));
        prev_hash = stored.hash.clone();
        recorded.push(stored);
    }
    recorded
}

/// The payload as the store keeps it (canonical text) and reads it back.
pub fn stored_payload(event: &DomainEvent) -> serde_json::Value {
    let tagged = match event {
        DomainEvent::Plan(event) => serde_json::to_value(event).unwrap(),
        DomainEvent::Task(event) => serde_json::to_value(event).unwrap(),
        DomainEvent::Access(event) => serde_json::to_value(event).unwrap(),
        DomainEvent::Reminder(event) => serde_json::to_value(event).unwrap(),
    };
    serde_json::from_str(&canonical_json(&tagged["payload"])).unwrap()
}

/// A date that is not in any fixture, for tests that change one.
pub const OTHER_DATE: Date = date!(2030 - 01 - 01);
