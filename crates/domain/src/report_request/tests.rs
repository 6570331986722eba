//! Given/when/then tests of report requests: `given(plan events).when(actor, command)` then the event or the
//! error; and the stored JSON of the two events.

use time::macros::date;
use uuid::Uuid;

use super::*;
use crate::numbering::SectionCode;
use crate::oversight::{self, FreezePlan};
use crate::plan::{self, CreatePlan, PlanEvent, Section};

const PLAN_ID: PlanId = PlanId(Uuid::from_u128(1));
const REQUEST_ID: ReportRequestId = ReportRequestId(Uuid::from_u128(0x0190f5c4_7a2b_7c3d_8e4f_5a6b7c8d9e11));

/// The plan's history before the command; `None` for a plan stream that does not exist.
struct Harness {
    plan: Option<Plan>,
}

enum Command {
    Request(RequestReport),
    Withdraw(WithdrawReportRequest),
}

struct Outcome {
    result: Result<PlanEvent, DomainError>,
}

fn given(history: Vec<PlanEvent>) -> Harness {
    let created = plan::create_plan(None, create_command(), &actor(Role::Planner)).expect("plan is created");
    Harness { plan: Plan::fold(created.iter().chain(history.iter())) }
}

fn given_no_plan() -> Harness {
    Harness { plan: None }
}

impl Harness {
    fn when(self, actor: &Actor, command: Command) -> Outcome {
        let result = match command {
            Command::Request(command) => {
                request_report(self.plan.as_ref(), command, actor).map(PlanEvent::ReportRequested)
            }
            Command::Withdraw(command) => {
                withdraw_report_request(self.plan.as_ref(), command, actor).map(PlanEvent::ReportRequestWithdrawn)
            }
        };
        Outcome { result }
    }
}

impl Outcome {
    #[track_caller]
    fn then(self, expected: PlanEvent) {
        assert_eq!(self.result, Ok(expected));
    }

    #[track_caller]
    fn then_error(self, matches: impl Fn(&DomainError) -> bool) {
        match self.result {
            Err(error) if matches(&error) => {}
            other => panic!("expected a matching error, got {other:?}"),
        }
    }

    #[track_caller]
    fn then_invalid(self, expected_field: &str) {
        self.then_error(|error| matches!(error, DomainError::Invalid { field, .. } if field == expected_field));
    }
}

fn create_command() -> CreatePlan {
    CreatePlan {
        plan_id: PLAN_ID,
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

fn unit(value: &str) -> UnitCode {
    UnitCode::parse(value).unwrap()
}

fn request_command() -> RequestReport {
    RequestReport {
        plan_id: PLAN_ID,
        request_id: REQUEST_ID,
        cut_off: date!(2024 - 04 - 15),
        due_on: date!(2024 - 04 - 18),
        units: vec![unit("SO-KHCN"), unit("SO-TC")],
        basis: vec![doc("Công văn số 1941/UBND-TH ngày 05/04/2024")],
        note: "Báo cáo kết quả thực hiện đến 15/4/2024".to_owned(),
    }
}

fn requested() -> ReportRequested {
    ReportRequested {
        request_id: REQUEST_ID,
        cut_off: date!(2024 - 04 - 15),
        due_on: date!(2024 - 04 - 18),
        units: vec![unit("SO-KHCN"), unit("SO-TC")],
        basis: vec![doc("Công văn số 1941/UBND-TH ngày 05/04/2024")],
        note: "Báo cáo kết quả thực hiện đến 15/4/2024".to_owned(),
    }
}

fn withdraw_command() -> WithdrawReportRequest {
    WithdrawReportRequest { plan_id: PLAN_ID, request_id: REQUEST_ID, reason: text("Gộp vào báo cáo quý II") }
}

fn withdrawn() -> ReportRequestWithdrawn {
    ReportRequestWithdrawn { request_id: REQUEST_ID, reason: text("Gộp vào báo cáo quý II") }
}

fn frozen() -> PlanEvent {
    let plan = given(vec![]).plan.expect("the plan exists");
    let freeze = FreezePlan {
        reason: text("Thanh tra việc thực hiện nhiệm vụ năm 2024"),
        basis: vec![doc("QĐ số 12/QĐ-TTr ngày 02/05/2024")],
        effective_on: date!(2024 - 05 - 02),
    };
    PlanEvent::PlanFrozen(oversight::freeze_plan(&plan, freeze, &actor(Role::Approver)).unwrap())
}

#[test]
fn a_planner_an_approver_or_an_admin_requests_reports_as_of_a_cut_off() {
    for role in REQUEST_ROLES {
        given(vec![])
            .when(&actor(role), Command::Request(request_command()))
            .then(PlanEvent::ReportRequested(requested()));
    }
}

#[test]
fn a_reporter_or_an_auditor_cannot_request_reports_nor_withdraw_them() {
    for role in [Role::Reporter, Role::Auditor, Role::System] {
        given(vec![])
            .when(&actor(role), Command::Request(request_command()))
            .then_error(|error| matches!(error, DomainError::Forbidden { .. }));
        given(vec![PlanEvent::ReportRequested(requested())])
            .when(&actor(role), Command::Withdraw(withdraw_command()))
            .then_error(|error| matches!(error, DomainError::Forbidden { .. }));
    }
}

#[test]
fn a_request_needs_its_plan() {
    given_no_plan()
        .when(&actor(Role::Planner), Command::Request(request_command()))
        .then_error(|error| *error == DomainError::not_found(format!("plan {PLAN_ID}")));
    given_no_plan()
        .when(&actor(Role::Planner), Command::Withdraw(withdraw_command()))
        .then_error(|error| *error == DomainError::not_found(format!("plan {PLAN_ID}")));
}

#[test]
fn a_frozen_plan_refuses_requests_and_withdrawals() {
    given(vec![frozen()])
        .when(&actor(Role::Planner), Command::Request(request_command()))
        .then_error(|error| matches!(error, DomainError::StateConflict { reason } if reason.contains("is frozen")));
    given(vec![PlanEvent::ReportRequested(requested()), frozen()])
        .when(&actor(Role::Planner), Command::Withdraw(withdraw_command()))
        .then_error(|error| matches!(error, DomainError::StateConflict { reason } if reason.contains("is frozen")));
}

#[test]
fn a_cut_off_falls_in_the_years_plans_cover() {
    for cut_off in [date!(1999 - 12 - 31), date!(2101 - 01 - 01)] {
        let command = RequestReport { cut_off, due_on: date!(2101 - 01 - 05), ..request_command() };
        given(vec![]).when(&actor(Role::Planner), Command::Request(command)).then_invalid("cut_off");
    }
    let command = RequestReport { cut_off: date!(2000 - 01 - 01), due_on: date!(2000 - 01 - 01), ..request_command() };
    let outcome = given(vec![]).when(&actor(Role::Planner), Command::Request(command));
    assert!(outcome.result.is_ok(), "{:?}", outcome.result);
}

#[test]
fn reports_are_due_on_or_after_their_cut_off() {
    let command = RequestReport { due_on: date!(2024 - 04 - 14), ..request_command() };
    given(vec![]).when(&actor(Role::Planner), Command::Request(command)).then_invalid("due_on");
    let command = RequestReport { due_on: date!(2024 - 04 - 15), ..request_command() };
    given(vec![])
        .when(&actor(Role::Planner), Command::Request(command))
        .then(PlanEvent::ReportRequested(ReportRequested { due_on: date!(2024 - 04 - 15), ..requested() }));
}

#[test]
fn a_unit_is_asked_once() {
    let command = RequestReport { units: vec![unit("SO-KHCN"), unit("SO-TC"), unit("so-khcn")], ..request_command() };
    given(vec![]).when(&actor(Role::Planner), Command::Request(command)).then_invalid("units[2]");
}

#[test]
fn a_request_id_is_used_once() {
    given(vec![PlanEvent::ReportRequested(requested())])
        .when(&actor(Role::Planner), Command::Request(request_command()))
        .then_error(|error| matches!(error, DomainError::StateConflict { .. }));
}

#[test]
fn the_note_is_normalised_and_may_be_empty() {
    let decomposed = "Ba\u{301}o ca\u{301}o  đến 15/4/2024 ";
    let command = RequestReport { note: decomposed.to_owned(), ..request_command() };
    given(vec![]).when(&actor(Role::Planner), Command::Request(command)).then(PlanEvent::ReportRequested(
        ReportRequested { note: "Báo cáo đến 15/4/2024".to_owned(), ..requested() },
    ));
    let command = RequestReport { note: String::new(), units: vec![], ..request_command() };
    given(vec![])
        .when(&actor(Role::Planner), Command::Request(command))
        .then(PlanEvent::ReportRequested(ReportRequested { note: String::new(), units: vec![], ..requested() }));
}

#[test]
fn a_standing_request_is_withdrawn_once() {
    given(vec![PlanEvent::ReportRequested(requested())])
        .when(&actor(Role::Approver), Command::Withdraw(withdraw_command()))
        .then(PlanEvent::ReportRequestWithdrawn(withdrawn()));
    given(vec![PlanEvent::ReportRequested(requested()), PlanEvent::ReportRequestWithdrawn(withdrawn())])
        .when(&actor(Role::Approver), Command::Withdraw(withdraw_command()))
        .then_error(
            |error| matches!(error, DomainError::StateConflict { reason } if reason.contains("already withdrawn")),
        );
}

#[test]
fn an_unknown_request_is_not_withdrawn() {
    given(vec![])
        .when(&actor(Role::Planner), Command::Withdraw(withdraw_command()))
        .then_error(|error| matches!(error, DomainError::NotFound { what } if what.contains("report request")));
}

#[test]
fn the_plan_keeps_every_request_and_whether_it_stands() {
    let second = ReportRequested { request_id: ReportRequestId(Uuid::from_u128(12)), units: vec![], ..requested() };
    let plan = given(vec![
        PlanEvent::ReportRequested(requested()),
        PlanEvent::ReportRequested(second.clone()),
        PlanEvent::ReportRequestWithdrawn(withdrawn()),
    ])
    .plan
    .expect("the plan exists");
    assert_eq!(plan.report_requests.len(), 2);
    let first = plan.report_request(REQUEST_ID).expect("the first request");
    assert!(!first.stands());
    assert_eq!(first.withdrawal_reason.as_ref().map(NonEmptyText::as_str), Some("Gộp vào báo cáo quý II"));
    let second = plan.report_request(second.request_id).expect("the second request");
    assert!(second.stands());
    let lead_units = [unit("SO-KHCN"), unit("SO-NV")];
    assert!(second.asks_unit(&unit("SO-NV"), &lead_units), "an empty list asks every lead unit");
    assert!(!second.asks_unit(&unit("SO-TC"), &lead_units));
    assert!(first.asks_unit(&unit("SO-TC"), &lead_units), "a listed unit is asked");
    assert!(!first.asks_unit(&unit("SO-NV"), &lead_units));
}

#[test]
fn stored_report_request_event_json_is_stable() {
    insta::assert_snapshot!(serde_json_of(&PlanEvent::ReportRequested(requested())));
    insta::assert_snapshot!(serde_json_of(&PlanEvent::ReportRequestWithdrawn(withdrawn())));
}

fn serde_json_of(value: &PlanEvent) -> String {
    let json = serde_json::to_string_pretty(value).unwrap();
    let back: PlanEvent = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, value, "stored JSON must decode to the same event");
    json
}
