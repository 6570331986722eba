//! Given/when/then tests of every task command, through one harness: `given(events).when(actor, command)` then
//! `.then(events)` or `.then_error(error)`.

use time::macros::{date, datetime};
use uuid::Uuid;

use super::*;
use crate::plan::{self, CreatePlan, Plan, PlanEvent, Section};

struct Harness {
    history: Vec<TaskEvent>,
}

struct Outcome {
    result: Result<Vec<TaskEvent>, DomainError>,
}

fn given(history: Vec<TaskEvent>) -> Harness {
    Harness { history }
}

impl Harness {
    fn when(self, actor: &Actor, command: TaskCommand) -> Outcome {
        let recorded = recorded(1);
        let task =
            Task::fold(self.history.iter().map(|event| (event, &recorded))).expect("history starts with TaskAssigned");
        Outcome { result: decide(&task, command, actor) }
    }
}

impl Outcome {
    #[track_caller]
    fn then(self, expected: Vec<TaskEvent>) {
        assert_eq!(self.result, Ok(expected));
    }

    #[track_caller]
    fn then_error(self, matches: impl Fn(&DomainError) -> bool) {
        match self.result {
            Err(error) if matches(&error) => {}
            other => panic!("expected a matching error, got {other:?}"),
        }
    }
}

fn recorded(position: u64) -> Recorded {
    Recorded {
        position,
        recorded_at: datetime!(2024-04-16 09:00 +07:00),
        actor_id: "u".to_owned(),
        actor_name: "U".to_owned(),
        actor_unit: "SO-KHCN".to_owned(),
        actor_role: "reporter".to_owned(),
    }
}

fn actor(role: Role, unit: &str) -> Actor {
    Actor {
        id: format!("{role}-{unit}"), name: "Người dùng".to_owned(), unit: UnitCode::parse(unit).unwrap(), role
    }
}

fn reporter() -> Actor {
    actor(Role::Reporter, "SO-KHCN")
}

fn planner() -> Actor {
    actor(Role::Planner, "VP-UBND")
}

fn approver() -> Actor {
    actor(Role::Approver, "VP-UBND")
}

fn text(value: &str) -> NonEmptyText {
    NonEmptyText::parse(value, 1000).unwrap()
}

fn doc(value: &str) -> DocumentRef {
    DocumentRef::parse(value).unwrap()
}

const TASK: TaskId = TaskId(Uuid::from_u128(1));
const PLAN: PlanId = PlanId(Uuid::from_u128(2));
const REPORT: ReportId = ReportId(Uuid::from_u128(3));
const EXTENSION: ExtensionId = ExtensionId(Uuid::from_u128(4));

fn assigned() -> TaskEvent {
    TaskEvent::TaskAssigned(TaskAssigned {
        task_id: TASK,
        plan_id: PLAN,
        section: SectionCode::parse("I").unwrap(),
        number: TaskNumber::parse("1").unwrap(),
        parent_id: None,
        title: "Hỗ trợ 03 doanh nghiệp".to_owned(),
        target: None,
        deadline: Some(Deadline::parse_code("2024-11").unwrap()),
        lead_unit: UnitCode::parse("SO-KHCN").unwrap(),
        coordinating_units: vec![UnitCode::parse("SO-TC").unwrap()],
        basis: vec![],
    })
}

fn content(as_of: Date, summary: &str) -> ReportContent {
    ReportContent { as_of, summary: text(summary), measures: vec![], progress: None, evidence: vec![] }
}

fn reported() -> TaskEvent {
    TaskEvent::ProgressReported(ProgressReported {
        report_id: REPORT,
        content: content(date!(2024 - 04 - 15), "Đã khảo sát 25/25"),
    })
}

fn decision(reason: &str) -> Decision {
    Decision { reason: Some(text(reason)), basis: vec![], effective_on: date!(2024 - 05 - 01) }
}

fn extension_requested() -> TaskEvent {
    TaskEvent::DeadlineExtensionRequested(DeadlineExtensionRequested {
        extension_id: EXTENSION,
        current_deadline: Deadline::parse_code("2024-11").unwrap(),
        proposed_deadline: Deadline::parse_code("2024-12").unwrap(),
        reason: text("chờ đấu thầu"),
        basis: vec![],
        effective_on: date!(2024 - 05 - 01),
    })
}

#[test]
fn the_lead_unit_files_a_report() {
    let command = TaskCommand::FileReport {
        report_id: REPORT,
        content: content(date!(2024 - 04 - 15), "Đã khảo sát 25/25"),
    };
    given(vec![assigned()]).when(&reporter(), command).then(vec![reported()]);
}

#[test]
fn a_coordinating_unit_files_a_report() {
    let command = TaskCommand::FileReport {
        report_id: REPORT,
        content: content(date!(2024 - 04 - 15), "Đã khảo sát 25/25"),
    };
    given(vec![assigned()]).when(&actor(Role::Reporter, "SO-TC"), command).then(vec![reported()]);
}

#[test]
fn another_unit_may_not_report() {
    let command = TaskCommand::FileReport { report_id: REPORT, content: content(date!(2024 - 04 - 15), "x") };
    given(vec![assigned()])
        .when(&actor(Role::Reporter, "SO-NNPTNT"), command)
        .then_error(|error| matches!(error, DomainError::Forbidden { .. }));
}

#[test]
fn an_auditor_may_not_report() {
    let command = TaskCommand::FileReport { report_id: REPORT, content: content(date!(2024 - 04 - 15), "x") };
    given(vec![assigned()])
        .when(&actor(Role::Auditor, "SO-KHCN"), command)
        .then_error(|error| matches!(error, DomainError::Forbidden { .. }));
}

#[test]
fn a_cancelled_task_takes_no_report() {
    let command = TaskCommand::FileReport { report_id: REPORT, content: content(date!(2024 - 04 - 15), "x") };
    given(vec![assigned(), TaskEvent::TaskCancelled(decision("điều chỉnh kế hoạch"))])
        .when(&reporter(), command)
        .then_error(|error| matches!(error, DomainError::StateConflict { .. }));
}

#[test]
fn a_report_id_is_used_once() {
    let command = TaskCommand::FileReport { report_id: REPORT, content: content(date!(2024 - 04 - 16), "x") };
    given(vec![assigned(), reported()])
        .when(&reporter(), command)
        .then_error(|error| matches!(error, DomainError::StateConflict { .. }));
}

#[test]
fn a_correction_is_a_new_event_with_its_reason() {
    let corrected = content(date!(2024 - 04 - 15), "Đã khảo sát 24/25");
    let command =
        TaskCommand::CorrectReport {
            report_id: REPORT, reason: text("nhầm số liệu"), content: corrected.clone()
        };
    given(vec![assigned(), reported()]).when(&reporter(), command).then(vec![TaskEvent::ReportCorrected(
        ReportCorrected { report_id: REPORT, reason: text("nhầm số liệu"), content: corrected },
    )]);
}

#[test]
fn among_many_reports_each_is_found_and_a_correction_changes_only_its_own() {
    let report_id = |index: u128| ReportId(Uuid::from_u128(1_000 + index));
    let filed = |index: u128| {
        TaskEvent::ProgressReported(ProgressReported {
            report_id: report_id(index),
            content: content(date!(2024 - 04 - 15), &format!("báo cáo {index}")),
        })
    };
    let mut history: Vec<TaskEvent> = std::iter::once(assigned()).chain((0..300).map(filed)).collect();
    let correction = TaskCommand::CorrectReport {
        report_id: report_id(137),
        reason: text("nhầm số liệu"),
        content: content(date!(2024 - 04 - 15), "báo cáo 137, đã sửa"),
    };
    let corrected = given(history.clone()).when(&reporter(), correction).result.expect("the correction is accepted");
    history.extend(corrected);

    let recorded = recorded(1);
    let task = Task::fold(history.iter().map(|event| (event, &recorded))).expect("assigned");
    for index in 0..300 {
        let report = task.report(report_id(index)).expect("every filed report is found");
        assert_eq!(report.report_id, report_id(index));
        let expected = if index == 137 { "báo cáo 137, đã sửa".to_owned() } else { format!("báo cáo {index}") };
        assert_eq!(report.current.summary.as_str(), expected);
        assert_eq!(report.versions.len(), if index == 137 { 2 } else { 1 });
    }
    assert_eq!(task.report(report_id(300)), None);
    given(history)
        .when(
            &reporter(),
            TaskCommand::FileReport { report_id: report_id(299), content: content(date!(2024 - 04 - 16), "x") },
        )
        .then_error(|error| matches!(error, DomainError::StateConflict { .. }));
}

#[test]
fn a_correction_of_an_unknown_report_is_not_found() {
    let command = TaskCommand::CorrectReport {
        report_id: ReportId(Uuid::from_u128(99)),
        reason: text("x"),
        content: content(date!(2024 - 04 - 15), "y"),
    };
    given(vec![assigned(), reported()])
        .when(&reporter(), command)
        .then_error(|error| matches!(error, DomainError::NotFound { .. }));
}

#[test]
fn a_correction_that_changes_nothing_is_refused() {
    let command = TaskCommand::CorrectReport {
        report_id: REPORT,
        reason: text("x"),
        content: content(date!(2024 - 04 - 15), "Đã khảo sát 25/25"),
    };
    given(vec![assigned(), reported()])
        .when(&reporter(), command)
        .then_error(|error| matches!(error, DomainError::Invalid { .. }));
}

#[test]
fn the_folded_report_keeps_every_version() {
    let corrected = TaskEvent::ReportCorrected(ReportCorrected {
        report_id: REPORT,
        reason: text("nhầm số liệu"),
        content: content(date!(2024 - 04 - 15), "Đã khảo sát 24/25"),
    });
    let events = [assigned(), reported(), corrected];
    let recorded = recorded(1);
    let task = Task::fold(events.iter().map(|event| (event, &recorded))).unwrap();
    let report = task.report(REPORT).unwrap();
    assert_eq!(report.versions.len(), 2);
    assert_eq!(report.current.summary.as_str(), "Đã khảo sát 24/25");
    assert_eq!(report.versions[0].content.summary.as_str(), "Đã khảo sát 25/25");
    assert_eq!(task.version, 3);
    assert_eq!(task.progress(), Progress::InProgress);
}

#[test]
fn an_extension_is_requested_with_the_current_deadline_kept() {
    let command = TaskCommand::RequestExtension {
        extension_id: EXTENSION,
        proposed_deadline: Deadline::parse_code("2024-12").unwrap(),
        reason: text("chờ đấu thầu"),
        basis: vec![],
        effective_on: date!(2024 - 05 - 01),
    };
    given(vec![assigned()]).when(&reporter(), command).then(vec![extension_requested()]);
}

#[test]
fn an_extension_must_move_the_deadline_later() {
    let command = TaskCommand::RequestExtension {
        extension_id: EXTENSION,
        proposed_deadline: Deadline::parse_code("2024-10").unwrap(),
        reason: text("x"),
        basis: vec![],
        effective_on: date!(2024 - 05 - 01),
    };
    given(vec![assigned()])
        .when(&reporter(), command)
        .then_error(|error| matches!(error, DomainError::Invalid { field, .. } if field == "proposed_deadline"));
}

#[test]
fn only_one_extension_is_pending_at_a_time() {
    let command = TaskCommand::RequestExtension {
        extension_id: ExtensionId(Uuid::from_u128(5)),
        proposed_deadline: Deadline::parse_code("2025").unwrap(),
        reason: text("x"),
        basis: vec![],
        effective_on: date!(2024 - 05 - 02),
    };
    given(vec![assigned(), extension_requested()])
        .when(&reporter(), command)
        .then_error(|error| matches!(error, DomainError::StateConflict { .. }));
}

#[test]
fn the_assigner_approves_an_extension_citing_a_document() {
    let basis = vec![doc("Công văn số 1941/UBND-TH ngày 06/3/2024")];
    let command = TaskCommand::ApproveExtension {
        extension_id: EXTENSION,
        new_deadline: None,
        basis: basis.clone(),
        note: None,
        effective_on: date!(2024 - 05 - 03),
    };
    let approved = TaskEvent::DeadlineExtensionApproved(DeadlineExtensionApproved {
        extension_id: EXTENSION,
        new_deadline: Deadline::parse_code("2024-12").unwrap(),
        basis,
        note: None,
        effective_on: date!(2024 - 05 - 03),
    });
    given(vec![assigned(), extension_requested()]).when(&approver(), command).then(vec![approved.clone()]);

    let recorded = recorded(1);
    let events = [assigned(), extension_requested(), approved];
    let task = Task::fold(events.iter().map(|event| (event, &recorded))).unwrap();
    assert_eq!(task.deadline, Some(Deadline::parse_code("2024-12").unwrap()));
    assert_eq!(task.original_deadline, Some(Deadline::parse_code("2024-11").unwrap()));
}

#[test]
fn an_approval_without_a_document_is_refused() {
    let command = TaskCommand::ApproveExtension {
        extension_id: EXTENSION,
        new_deadline: None,
        basis: vec![],
        note: None,
        effective_on: date!(2024 - 05 - 03),
    };
    given(vec![assigned(), extension_requested()])
        .when(&approver(), command)
        .then_error(|error| matches!(error, DomainError::Invalid { field, .. } if field == "basis"));
}

#[test]
fn an_approver_may_not_decide_on_its_own_units_task() {
    let command = TaskCommand::RejectExtension {
        extension_id: EXTENSION,
        reason: text("x"),
        basis: vec![],
        effective_on: date!(2024 - 05 - 03),
    };
    given(vec![assigned(), extension_requested()])
        .when(&actor(Role::Approver, "SO-KHCN"), command)
        .then_error(|error| matches!(error, DomainError::Forbidden { .. }));
}

#[test]
fn a_decision_cannot_take_effect_before_the_request() {
    let command = TaskCommand::RejectExtension {
        extension_id: EXTENSION,
        reason: text("không"),
        basis: vec![],
        effective_on: date!(2024 - 04 - 30),
    };
    given(vec![assigned(), extension_requested()])
        .when(&approver(), command)
        .then_error(|error| matches!(error, DomainError::Invalid { field, .. } if field == "effective_on"));
}

#[test]
fn a_reporter_may_not_approve_an_extension() {
    let command = TaskCommand::ApproveExtension {
        extension_id: EXTENSION,
        new_deadline: None,
        basis: vec![doc("Công văn số 1941/UBND-TH ngày 06/3/2024")],
        note: None,
        effective_on: date!(2024 - 05 - 03),
    };
    given(vec![assigned(), extension_requested()])
        .when(&reporter(), command)
        .then_error(|error| matches!(error, DomainError::Forbidden { .. }));
}

#[test]
fn a_rejected_extension_keeps_the_deadline() {
    let command = TaskCommand::RejectExtension {
        extension_id: EXTENSION,
        reason: text("không có căn cứ"),
        basis: vec![],
        effective_on: date!(2024 - 05 - 03),
    };
    let rejected = TaskEvent::DeadlineExtensionRejected(DeadlineExtensionRejected {
        extension_id: EXTENSION,
        reason: text("không có căn cứ"),
        basis: vec![],
        effective_on: date!(2024 - 05 - 03),
    });
    given(vec![assigned(), extension_requested()]).when(&approver(), command).then(vec![rejected.clone()]);
    let recorded = recorded(1);
    let events = [assigned(), extension_requested(), rejected];
    let task = Task::fold(events.iter().map(|event| (event, &recorded))).unwrap();
    assert_eq!(task.deadline, Some(Deadline::parse_code("2024-11").unwrap()));
}

#[test]
fn completion_is_reported_then_confirmed() {
    let completion = TaskEvent::CompletionReported(CompletionReported {
        as_of: date!(2024 - 10 - 20),
        summary: text("Đã hỗ trợ 03 doanh nghiệp"),
        evidence: vec![],
    });
    let command = TaskCommand::ReportCompletion {
        as_of: date!(2024 - 10 - 20),
        summary: text("Đã hỗ trợ 03 doanh nghiệp"),
        evidence: vec![],
    };
    given(vec![assigned()]).when(&reporter(), command).then(vec![completion.clone()]);

    let confirm = TaskCommand::ConfirmCompletion { basis: vec![], note: None, effective_on: date!(2024 - 10 - 25) };
    let confirmed =
        TaskEvent::CompletionConfirmed(Decision { reason: None, basis: vec![], effective_on: date!(2024 - 10 - 25) });
    given(vec![assigned(), completion.clone()]).when(&approver(), confirm).then(vec![confirmed.clone()]);

    let recorded = recorded(1);
    let events = [assigned(), completion, confirmed];
    let task = Task::fold(events.iter().map(|event| (event, &recorded))).unwrap();
    assert_eq!(task.progress(), Progress::Done);
    assert_eq!(task.timeliness(date!(2024 - 12 - 31), 7), Timeliness::DoneOnTime);
}

#[test]
fn a_rejected_completion_reopens_the_task() {
    let completion = TaskEvent::CompletionReported(CompletionReported {
        as_of: date!(2024 - 12 - 05),
        summary: text("xong"),
        evidence: vec![],
    });
    let command = TaskCommand::RejectCompletion {
        reason: text("thiếu hồ sơ"),
        basis: vec![],
        effective_on: date!(2024 - 12 - 06),
    };
    let rejected = TaskEvent::CompletionRejected(Decision {
        reason: Some(text("thiếu hồ sơ")),
        basis: vec![],
        effective_on: date!(2024 - 12 - 06),
    });
    given(vec![assigned(), completion.clone()]).when(&approver(), command).then(vec![rejected.clone()]);
    let recorded = recorded(1);
    let events = [assigned(), completion, rejected];
    let task = Task::fold(events.iter().map(|event| (event, &recorded))).unwrap();
    assert_eq!(task.progress(), Progress::NotStarted);
    assert_eq!(task.timeliness(date!(2024 - 12 - 06), 7), Timeliness::Overdue { days_overdue: 6 });
}

#[test]
fn confirmation_needs_a_reported_completion() {
    let command = TaskCommand::ConfirmCompletion { basis: vec![], note: None, effective_on: date!(2024 - 10 - 25) };
    given(vec![assigned()])
        .when(&approver(), command)
        .then_error(|error| matches!(error, DomainError::StateConflict { .. }));
}

#[test]
fn a_planner_suspends_cancels_transfers_and_reopens() {
    let suspend =
        TaskCommand::Suspend { reason: text("chờ kinh phí"), basis: vec![], effective_on: date!(2024 - 05 - 01) };
    given(vec![assigned()]).when(&planner(), suspend).then(vec![TaskEvent::TaskSuspended(Decision {
        reason: Some(text("chờ kinh phí")),
        basis: vec![],
        effective_on: date!(2024 - 05 - 01),
    })]);

    let cancel =
        TaskCommand::Cancel {
            reason: text("điều chỉnh kế hoạch"), basis: vec![], effective_on: date!(2024 - 05 - 01)
        };
    given(vec![assigned()])
        .when(&planner(), cancel)
        .then(vec![TaskEvent::TaskCancelled(decision("điều chỉnh kế hoạch"))]);

    let transfer = TaskCommand::Transfer {
        to_unit: UnitCode::parse("SO-TTTT").unwrap(),
        reason: text("đúng chức năng"),
        basis: vec![],
        effective_on: date!(2024 - 05 - 01),
    };
    given(vec![assigned()]).when(&planner(), transfer).then(vec![TaskEvent::TaskTransferred(TaskTransferred {
        to_unit: UnitCode::parse("SO-TTTT").unwrap(),
        reason: text("đúng chức năng"),
        basis: vec![],
        effective_on: date!(2024 - 05 - 01),
    })]);

    let reopen =
        TaskCommand::Reopen { reason: text("khôi phục"), basis: vec![], effective_on: date!(2024 - 05 - 01) };
    given(vec![assigned(), TaskEvent::TaskCancelled(decision("x"))])
        .when(&planner(), reopen)
        .then(vec![TaskEvent::TaskReopened(decision("khôi phục"))]);
}

#[test]
fn a_reporter_may_not_cancel() {
    let cancel = TaskCommand::Cancel { reason: text("x"), basis: vec![], effective_on: date!(2024 - 05 - 01) };
    given(vec![assigned()])
        .when(&reporter(), cancel)
        .then_error(|error| matches!(error, DomainError::Forbidden { .. }));
}

#[test]
fn an_open_task_is_not_reopened() {
    let reopen = TaskCommand::Reopen { reason: text("x"), basis: vec![], effective_on: date!(2024 - 05 - 01) };
    given(vec![assigned()])
        .when(&planner(), reopen)
        .then_error(|error| matches!(error, DomainError::StateConflict { .. }));
}

#[test]
fn a_transfer_goes_to_another_unit() {
    let transfer = TaskCommand::Transfer {
        to_unit: UnitCode::parse("SO-KHCN").unwrap(),
        reason: text("x"),
        basis: vec![],
        effective_on: date!(2024 - 05 - 01),
    };
    given(vec![assigned()])
        .when(&planner(), transfer)
        .then_error(|error| matches!(error, DomainError::Invalid { field, .. } if field == "to_unit"));
}

#[test]
fn timeliness_counts_days_overdue_and_due_soon() {
    let recorded = recorded(1);
    let events = [assigned()];
    let task = Task::fold(events.iter().map(|event| (event, &recorded))).unwrap();
    assert_eq!(task.timeliness(date!(2024 - 11 - 25), 7), Timeliness::DueSoon { days_left: 5 });
    assert_eq!(task.timeliness(date!(2024 - 04 - 15), 7), Timeliness::OnTime { days_left: 229 });
    assert_eq!(task.timeliness(date!(2024 - 12 - 10), 7), Timeliness::Overdue { days_overdue: 10 });
}

fn plan_with_sections() -> Plan {
    let command = CreatePlan {
        plan_id: PLAN,
        agency: UnitCode::parse("SO-KHCN").unwrap(),
        year: 2024,
        title: text("Nhiệm vụ trọng tâm năm 2024"),
        basis: vec![doc("QĐ số 184/QĐ-UBND ngày 24/01/2024")],
        sections: vec![
            Section { code: SectionCode::parse("I").unwrap(), title: text("NHIỆM VỤ TRỌNG TÂM") },
            Section { code: SectionCode::parse("II").unwrap(), title: text("NHIỆM VỤ CHẤP THUẬN") },
        ],
    };
    let events = plan::create_plan(None, command, &planner()).unwrap();
    Plan::fold(&events).unwrap()
}

fn assign(number: &str, parent_id: Option<TaskId>, task_id: u128) -> AssignTask {
    AssignTask {
        task_id: TaskId(Uuid::from_u128(task_id)),
        section: SectionCode::parse("I").unwrap(),
        number: TaskNumber::parse(number).unwrap(),
        parent_id,
        title: "Chỉ tiêu".to_owned(),
        target: None,
        deadline: None,
        lead_unit: UnitCode::parse("SO-KHCN").unwrap(),
        coordinating_units: vec![],
        basis: vec![],
    }
}

#[test]
fn a_plan_registers_tasks_and_keeps_numbers_unique() {
    let mut plan = plan_with_sections();
    let (registered, assigned) = plan::assign_task(&plan, None, assign("1", None, 10), &planner()).unwrap();
    assert_eq!(assigned.number.to_string(), "1");
    plan = Plan::evolve(Some(plan), &registered).unwrap();
    let duplicate = plan::assign_task(&plan, None, assign("1", None, 11), &planner());
    assert!(matches!(duplicate, Err(DomainError::StateConflict { .. })));
    let reporter_try = plan::assign_task(&plan, None, assign("2", None, 12), &reporter());
    assert!(matches!(reporter_try, Err(DomainError::Forbidden { .. })));
}

#[test]
fn an_indicator_needs_its_task() {
    let mut plan = plan_with_sections();
    let (registered, parent_assigned) = plan::assign_task(&plan, None, assign("2", None, 20), &planner()).unwrap();
    plan = Plan::evolve(Some(plan), &registered).unwrap();
    let recorded = recorded(1);
    let parent_event = TaskEvent::TaskAssigned(parent_assigned);
    let parent = Task::fold([(&parent_event, &recorded)]).unwrap();

    let orphan = plan::assign_task(&plan, None, assign("2.1", None, 21), &planner());
    assert!(matches!(orphan, Err(DomainError::Invalid { field, .. }) if field == "parent_id"));
    let wrong_number = plan::assign_task(&plan, Some(&parent), assign("3.1", Some(parent.task_id), 22), &planner());
    assert!(matches!(wrong_number, Err(DomainError::Invalid { field, .. }) if field == "number"));
    let (_, indicator) =
        plan::assign_task(&plan, Some(&parent), assign("2.1", Some(parent.task_id), 23), &planner()).unwrap();
    assert_eq!(indicator.parent_id, Some(parent.task_id));
}

#[test]
fn a_plan_section_must_exist() {
    let plan = plan_with_sections();
    let mut command = assign("1", None, 30);
    command.section = SectionCode::parse("III").unwrap();
    let result = plan::assign_task(&plan, None, command, &planner());
    assert!(matches!(result, Err(DomainError::Invalid { field, .. }) if field == "section"));
}

#[test]
fn stored_task_event_json_is_stable() {
    let json = serde_json_of(&assigned());
    insta::assert_snapshot!(json);
    let json = serde_json_of(&reported());
    insta::assert_snapshot!(json);
}

#[test]
fn stored_plan_event_json_is_stable() {
    let plan = plan_with_sections();
    let event = PlanEvent::PlanCreated(plan::PlanCreated {
        plan_id: plan.plan_id,
        agency: plan.agency,
        year: plan.year,
        title: plan.title,
        basis: plan.basis,
        sections: plan.sections,
    });
    insta::assert_snapshot!(serde_json_of(&event));
}

fn serde_json_of<T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) -> String {
    let json = serde_json::to_string_pretty(value).unwrap();
    let back: T = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, value, "stored JSON must decode to the same event");
    json
}

mod fold_properties {
    //! Property tests of decide + fold: whatever sequence of commands arrives, the folded state keeps the
    //! invariants that reads rely on.

    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone)]
    enum Step {
        Report { day: u8 },
        Correct { which: usize, day: u8 },
        RequestExtension { months: u8 },
        ApproveExtension,
        RejectExtension,
        ReportCompletion { day: u8 },
        ConfirmCompletion,
        RejectCompletion,
        Suspend,
        Cancel,
        Reopen,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (1u8..28).prop_map(|day| Step::Report { day }),
            (0usize..5, 1u8..28).prop_map(|(which, day)| Step::Correct { which, day }),
            (1u8..6).prop_map(|months| Step::RequestExtension { months }),
            Just(Step::ApproveExtension),
            Just(Step::RejectExtension),
            (1u8..28).prop_map(|day| Step::ReportCompletion { day }),
            Just(Step::ConfirmCompletion),
            Just(Step::RejectCompletion),
            Just(Step::Suspend),
            Just(Step::Cancel),
            Just(Step::Reopen),
        ]
    }

    fn command(task: &Task, step: &Step, index: usize) -> (Actor, TaskCommand) {
        let day = |day: u8| Date::from_calendar_date(2024, time::Month::April, day).unwrap();
        let pending = task.extensions.iter().find(|extension| extension.status == ExtensionStatus::Pending);
        let pending_id = pending.map_or(ExtensionId(Uuid::from_u128(777)), |extension| extension.extension_id);
        match step {
            Step::Report { day: d } => (
                reporter(),
                TaskCommand::FileReport {
                    report_id: ReportId(Uuid::from_u128(1000 + index as u128)),
                    content: content(day(*d), &format!("Báo cáo {index}")),
                },
            ),
            Step::Correct { which, day: d } => {
                let report_id =
                    task.reports.get(*which).map_or(ReportId(Uuid::from_u128(999)), |report| report.report_id);
                (
                    reporter(),
                    TaskCommand::CorrectReport {
                        report_id,
                        reason: text("đính chính"),
                        content: content(day(*d), &format!("Đính chính {index}")),
                    },
                )
            }
            Step::RequestExtension { months } => {
                let current = task.deadline.map_or(date!(2024 - 11 - 30), |deadline| deadline.due_date());
                let proposed =
                    Deadline::Day(current.checked_add(time::Duration::days(30 * i64::from(*months))).unwrap());
                (
                    reporter(),
                    TaskCommand::RequestExtension {
                        extension_id: ExtensionId(Uuid::from_u128(2000 + index as u128)),
                        proposed_deadline: proposed,
                        reason: text("lý do"),
                        basis: vec![],
                        effective_on: day(20),
                    },
                )
            }
            Step::ApproveExtension => (
                approver(),
                TaskCommand::ApproveExtension {
                    extension_id: pending_id,
                    new_deadline: None,
                    basis: vec![doc("Công văn số 1941/UBND-TH ngày 06/3/2024")],
                    note: None,
                    effective_on: day(21),
                },
            ),
            Step::RejectExtension => (
                approver(),
                TaskCommand::RejectExtension {
                    extension_id: pending_id,
                    reason: text("không"),
                    basis: vec![],
                    effective_on: day(21),
                },
            ),
            Step::ReportCompletion { day: d } => {
                (reporter(), TaskCommand::ReportCompletion { as_of: day(*d), summary: text("xong"), evidence: vec![] })
            }
            Step::ConfirmCompletion => {
                (approver(), TaskCommand::ConfirmCompletion { basis: vec![], note: None, effective_on: day(25) })
            }
            Step::RejectCompletion => (
                approver(),
                TaskCommand::RejectCompletion { reason: text("thiếu"), basis: vec![], effective_on: day(25) },
            ),
            Step::Suspend => {
                (planner(), TaskCommand::Suspend { reason: text("hoãn"), basis: vec![], effective_on: day(26) })
            }
            Step::Cancel => {
                (planner(), TaskCommand::Cancel { reason: text("huỷ"), basis: vec![], effective_on: day(26) })
            }
            Step::Reopen => {
                (planner(), TaskCommand::Reopen { reason: text("mở lại"), basis: vec![], effective_on: day(27) })
            }
        }
    }

    proptest! {
        #[test]
        fn folding_accepted_events_keeps_the_invariants(steps in proptest::collection::vec(step(), 0..40)) {
            let recorded = recorded(1);
            let mut events = vec![assigned()];
            let mut n_reports_accepted = 0;
            for (index, step) in steps.iter().enumerate() {
                let task = Task::fold(events.iter().map(|event| (event, &recorded))).unwrap();
                let (actor, command) = command(&task, step, index);
                let is_report = matches!(command, TaskCommand::FileReport { .. });
                if let Ok(new_events) = decide(&task, command, &actor) {
                    n_reports_accepted += usize::from(is_report);
                    events.extend(new_events);
                }
                let task = Task::fold(events.iter().map(|event| (event, &recorded))).unwrap();
                // Every event is counted; reports are never lost or merged.
                prop_assert_eq!(task.version, events.len() as u64);
                prop_assert_eq!(task.reports.len(), n_reports_accepted);
                // The original deadline is never overwritten; the deadline in force never moves earlier.
                prop_assert_eq!(task.original_deadline, Some(Deadline::parse_code("2024-11").unwrap()));
                prop_assert!(task.deadline.unwrap().due_date() >= task.original_deadline.unwrap().due_date());
                // At most one extension awaits a decision.
                prop_assert!(task.extensions.iter().filter(|extension| extension.status == ExtensionStatus::Pending).count() <= 1);
                // Each report's current content is its last version.
                for report in &task.reports {
                    prop_assert_eq!(&report.current, &report.versions.last().unwrap().content);
                }
                // Stored JSON decodes to the same events.
                for event in &events {
                    let json = serde_json::to_string(event).unwrap();
                    let back: TaskEvent = serde_json::from_str(&json).unwrap();
                    prop_assert_eq!(&back, event);
                }
            }
        }
    }
}

/// The event type a task event is stored under: its serde tag, as the command service stores it.
fn event_type(event: &TaskEvent) -> String {
    serde_json::to_value(event).expect("serialisable")["event_type"].as_str().expect("tagged").to_owned()
}

#[test]
fn a_fold_without_the_report_events_differs_only_in_the_reports() {
    let corrected = |summary: &str| {
        TaskEvent::ReportCorrected(ReportCorrected {
            report_id: REPORT,
            reason: text("nhầm số liệu"),
            content: content(date!(2024 - 04 - 15), summary),
        })
    };
    let completion = TaskEvent::CompletionReported(CompletionReported {
        as_of: date!(2024 - 10 - 20),
        summary: text("Đã hỗ trợ 03 doanh nghiệp"),
        evidence: vec![],
    });
    let approved = TaskEvent::DeadlineExtensionApproved(DeadlineExtensionApproved {
        extension_id: EXTENSION,
        new_deadline: Deadline::parse_code("2024-12").unwrap(),
        basis: vec![],
        note: None,
        effective_on: date!(2024 - 05 - 03),
    });
    let histories = [
        vec![assigned(), reported(), corrected("Đã khảo sát 24/25")],
        vec![assigned(), reported(), extension_requested(), approved, corrected("x"), completion.clone()],
        vec![assigned(), TaskEvent::TaskSuspended(decision("chờ")), reported(), TaskEvent::TaskReopened(decision("y"))],
        vec![assigned(), reported(), TaskEvent::TaskCancelled(decision("điều chỉnh")), corrected("z")],
        vec![assigned(), completion, reported()],
    ];
    assert_eq!(REPORT_EVENT_TYPES, [event_type(&reported()), event_type(&corrected("x"))]);
    for history in histories {
        let recorded = recorded(1);
        let whole = Task::fold(history.iter().map(|event| (event, &recorded))).expect("assigned");
        let kept = history.iter().filter(|event| !REPORT_EVENT_TYPES.contains(&event_type(event).as_str()));
        let mut without_reports = Task::fold(kept.map(|event| (event, &recorded))).expect("assigned");
        without_reports.version = whole.version;
        let whole_without_reports = Task { reports: Vec::new(), report_positions: HashMap::new(), ..whole.clone() };
        assert_eq!(without_reports, whole_without_reports, "{history:?}");
        if whole.lifecycle != Lifecycle::Open {
            assert_eq!(without_reports.progress(), whole.progress(), "a closed task's progress is its lifecycle's");
        }
    }
}
