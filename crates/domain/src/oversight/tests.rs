//! Given/when/then tests of freezing a plan and recording issued reports: `given(plan events).when(decision)`
//! then the event or the error.

use time::macros::date;
use uuid::Uuid;

use super::*;
use crate::ids::{PlanId, TaskId};
use crate::numbering::{SectionCode, TaskNumber};
use crate::plan::{self, CreatePlan, PlanEvent, Section};
use crate::task::AssignTask;
use crate::unit_code::UnitCode;

fn given(history: Vec<PlanEvent>) -> Plan {
    let created = plan::create_plan(None, create_command(), &actor(Role::Planner)).expect("plan is created");
    Plan::fold(created.iter().chain(history.iter())).expect("the plan exists")
}

fn create_command() -> CreatePlan {
    CreatePlan {
        plan_id: PlanId(Uuid::from_u128(1)),
        agency: UnitCode::parse("SO-KHCN").unwrap(),
        year: 2024,
        title: text("Nhiệm vụ trọng tâm năm 2024"),
        basis: vec![doc("QĐ số 184/QĐ-UBND ngày 24/01/2024")],
        sections: vec![Section { code: SectionCode::parse("I").unwrap(), title: text("NHIỆM VỤ TRỌNG TÂM") }],
    }
}

fn actor(role: Role) -> Actor {
    Actor {
        id: format!("{role}.1"), name: "Người dùng".to_owned(), unit: UnitCode::parse("VP-UBND").unwrap(), role
    }
}

fn text(value: &str) -> NonEmptyText {
    NonEmptyText::parse(value, 1000).unwrap()
}

fn doc(value: &str) -> DocumentRef {
    DocumentRef::parse(value).unwrap()
}

fn freeze_command() -> FreezePlan {
    FreezePlan {
        reason: text("Thanh tra việc thực hiện nhiệm vụ năm 2024"),
        basis: vec![doc("QĐ số 12/QĐ-TTr ngày 02/05/2024")],
        effective_on: date!(2024 - 05 - 02),
    }
}

fn frozen() -> PlanEvent {
    PlanEvent::PlanFrozen(freeze_plan(&given(vec![]), freeze_command(), &actor(Role::Approver)).unwrap())
}

fn issue_command(number: &str) -> IssueReport {
    IssueReport {
        issued_report_id: IssuedReportId(Uuid::from_u128(7)),
        number: text(number),
        cut_off: date!(2024 - 04 - 15),
        signer: text("Giám đốc Nguyễn Văn Bình"),
        issued_on: date!(2024 - 04 - 16),
        known_at_position: 42,
        appendix_sha256: "ab".repeat(32),
        n_rows: 12,
    }
}

#[test]
fn an_approver_freezes_a_plan_with_its_reason_and_basis() {
    let event = freeze_plan(&given(vec![]), freeze_command(), &actor(Role::Approver)).unwrap();
    assert_eq!(event.reason.as_str(), "Thanh tra việc thực hiện nhiệm vụ năm 2024");
    let plan = given(vec![PlanEvent::PlanFrozen(event)]);
    assert_eq!(plan.freeze.as_ref().map(|freeze| freeze.effective_on), Some(date!(2024 - 05 - 02)));
}

#[test]
fn a_reporter_or_a_planner_cannot_freeze() {
    for role in [Role::Reporter, Role::Planner, Role::Auditor] {
        let error = freeze_plan(&given(vec![]), freeze_command(), &actor(role)).unwrap_err();
        assert!(matches!(error, DomainError::Forbidden { .. }), "{role}: {error:?}");
    }
}

#[test]
fn a_freeze_cites_a_document() {
    let command = FreezePlan { basis: vec![], ..freeze_command() };
    let error = freeze_plan(&given(vec![]), command, &actor(Role::Admin)).unwrap_err();
    assert_eq!(error, DomainError::invalid("basis", "a freeze cites at least one document (the inspection decision)"));
}

#[test]
fn a_frozen_plan_is_not_frozen_twice() {
    let error = freeze_plan(&given(vec![frozen()]), freeze_command(), &actor(Role::Approver)).unwrap_err();
    assert!(matches!(error, DomainError::StateConflict { .. }), "{error:?}");
}

#[test]
fn a_frozen_plan_refuses_commands_naming_the_freeze_and_its_reason() {
    let plan = given(vec![frozen()]);
    let DomainError::StateConflict { reason } = require_not_frozen(&plan).unwrap_err() else { panic!("conflict") };
    assert!(reason.contains("is frozen since 2024-05-02"), "{reason}");
    assert!(reason.contains("Thanh tra việc thực hiện nhiệm vụ năm 2024"), "{reason}");
    assert!(reason.contains("QĐ số 12/QĐ-TTr"), "{reason}");

    let assign = AssignTask {
        task_id: TaskId(Uuid::from_u128(9)),
        section: SectionCode::parse("I").unwrap(),
        number: TaskNumber::parse("1").unwrap(),
        parent_id: None,
        title: "Nhiệm vụ".to_owned(),
        target: None,
        deadline: None,
        lead_unit: UnitCode::parse("SO-KHCN").unwrap(),
        coordinating_units: vec![],
        basis: vec![],
    };
    let error = plan::assign_task(&plan, None, assign, &actor(Role::Planner)).unwrap_err();
    assert!(matches!(error, DomainError::StateConflict { .. }), "{error:?}");
    let error = issue_report(&plan, issue_command("Số 74/BC-KHCN"), &actor(Role::Approver)).unwrap_err();
    assert!(matches!(error, DomainError::StateConflict { .. }), "{error:?}");
}

#[test]
fn unfreezing_lifts_the_freeze() {
    let command =
        UnfreezePlan { reason: text("Kết thúc thanh tra"), basis: vec![], effective_on: date!(2024 - 06 - 01) };
    let event = unfreeze_plan(&given(vec![frozen()]), command, &actor(Role::Admin)).unwrap();
    let plan = given(vec![frozen(), PlanEvent::PlanUnfrozen(event)]);
    assert_eq!(plan.freeze, None);
    assert_eq!(require_not_frozen(&plan), Ok(()));
}

#[test]
fn only_a_frozen_plan_is_unfrozen_and_not_before_its_freeze() {
    let command =
        UnfreezePlan { reason: text("Kết thúc thanh tra"), basis: vec![], effective_on: date!(2024 - 05 - 01) };
    let error = unfreeze_plan(&given(vec![]), command.clone(), &actor(Role::Approver)).unwrap_err();
    assert!(matches!(error, DomainError::StateConflict { .. }), "{error:?}");
    let error = unfreeze_plan(&given(vec![frozen()]), command.clone(), &actor(Role::Approver)).unwrap_err();
    assert!(matches!(error, DomainError::Invalid { ref field, .. } if field == "effective_on"), "{error:?}");
    let error = unfreeze_plan(&given(vec![frozen()]), command, &actor(Role::Reporter)).unwrap_err();
    assert!(matches!(error, DomainError::Forbidden { .. }), "{error:?}");
}

#[test]
fn an_issued_report_is_recorded_once_per_number() {
    let event = issue_report(&given(vec![]), issue_command("Số 74/BC-KHCN"), &actor(Role::Approver)).unwrap();
    assert_eq!(event.appendix_sha256, "ab".repeat(32));
    let plan = given(vec![PlanEvent::ReportIssued(event)]);
    assert_eq!(plan.issued_reports.len(), 1);
    assert_eq!(plan.issued_reports[0].known_at_position, 42);
    let error = issue_report(&plan, issue_command("Số 74/BC-KHCN"), &actor(Role::Approver)).unwrap_err();
    assert!(matches!(error, DomainError::StateConflict { .. }), "{error:?}");
}

#[test]
fn an_issued_report_has_a_well_formed_hash_and_a_cut_off_not_after_its_issue() {
    let plan = given(vec![]);
    let command = IssueReport { appendix_sha256: "AB".repeat(32), ..issue_command("Số 1/BC-KHCN") };
    let error = issue_report(&plan, command, &actor(Role::Approver)).unwrap_err();
    assert!(matches!(error, DomainError::Invalid { ref field, .. } if field == "appendix_sha256"), "{error:?}");
    let command = IssueReport { cut_off: date!(2024 - 04 - 17), ..issue_command("Số 1/BC-KHCN") };
    let error = issue_report(&plan, command, &actor(Role::Approver)).unwrap_err();
    assert!(matches!(error, DomainError::Invalid { ref field, .. } if field == "cut_off"), "{error:?}");
    let error = issue_report(&plan, issue_command("Số 1/BC-KHCN"), &actor(Role::Reporter)).unwrap_err();
    assert!(matches!(error, DomainError::Forbidden { .. }), "{error:?}");
}

#[test]
fn stored_oversight_event_json_is_stable() {
    insta::assert_snapshot!(serde_json_of(&frozen()));
    let issued = issue_report(&given(vec![]), issue_command("Số 74/BC-KHCN"), &actor(Role::Approver)).unwrap();
    insta::assert_snapshot!(serde_json_of(&PlanEvent::ReportIssued(issued)));
    let read = crate::access::AccessEvent::RecordsRead(crate::access::RecordsRead {
        resource: "/v1/tasks/00000000-0000-0000-0000-000000000009/history".to_owned(),
        query: "format=csv".to_owned(),
        plan_id: Some(PlanId(Uuid::from_u128(1))),
        n_records: 12,
    });
    insta::assert_snapshot!(serde_json_of(&read));
}

fn serde_json_of<T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) -> String {
    let json = serde_json::to_string_pretty(value).unwrap();
    let back: T = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, value, "stored JSON must decode to the same event");
    json
}
