//! Random histories of valid commands, decided by the domain on the folded state: reports and corrections (which
//! may move a report's cut-off), deadline extensions requested, approved and rejected, completion reported,
//! confirmed and rejected, suspension, cancellation, transfer, reopening, and new tasks and indicators assigned
//! along the way. Business dates of decisions move forward with a clock; cut-offs of reports and completions fall
//! anywhere around it, as late and early filings do.
//!
//! The read models, applied in random batches while the history grows, equal a rebuild from zero. The appendix as
//! of random cut-offs (and as known at random instants) equals `domain::appendix::build` over the streams folded
//! with the same filter, and the board equals the domain's state of each task.

use command_service::ledger::ViewFilter;
use domain::actor::Actor;
use domain::ids::{ExtensionId, PlanId, ReportId, TaskId};
use domain::status::{ReportedProgress, DEFAULT_DUE_SOON_DAYS};
use domain::task::{ExtensionStatus, ReportContent, TaskCommand};
use domain::unit_code::UnitCode;
use event_store::EventStore;
use projection::queries::AppendixQuery;
use projection::ProjectionService;
use proptest::prelude::*;
use time::macros::date;
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

use crate::support::{
    approver, assert_same_models, board, document, planner, rebuild_all, reporter, service, snapshot_active, text,
    NodeSpec, TestLedger, TestStores,
};

/// One step of a random history: which command (`kind`), on which node (`target`), with which free choice
/// (`param`), and how many of the events not yet applied to apply afterwards (`apply`, 0 for none).
#[derive(Debug, Clone, Copy)]
struct Step {
    kind: u8,
    target: u8,
    param: u8,
    apply: u8,
}

#[derive(Debug, Clone)]
struct History {
    steps: Vec<Step>,
    /// The projector's batch size.
    batch_size: usize,
    /// Cut-offs to compare the appendix at: `(event, shift, known_at)`. The cut-off is the business date of the
    /// event at that index of the log moved by `shift` days (-3 to 3), where the edges are; days after 15/01/2024 for
    /// an event without one. `known_at` picks an event whose recorded instant the appendix is read as known at.
    cut_offs: Vec<(u16, i64, Option<u16>)>,
}

fn histories() -> impl Strategy<Value = History> {
    let step = (any::<u8>(), any::<u8>(), any::<u8>(), 0u8..8).prop_map(|(kind, target, param, apply)| Step {
        kind,
        target,
        param,
        apply,
    });
    (
        prop::collection::vec(step, 20..60),
        1usize..8,
        prop::collection::vec((any::<u16>(), -3i64..=3, prop::option::of(any::<u16>())), 12),
    )
        .prop_map(|(steps, batch_size, cut_offs)| History { steps, batch_size, cut_offs })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, max_shrink_iters: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_histories_project_as_the_domain_folds_them(history in histories()) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(check(history));
    }
}

/// The nodes of the plan and the business clock, as the generator knows them.
struct World {
    ledger: TestLedger,
    plan_id: PlanId,
    nodes: Vec<(TaskId, NodeSpec)>,
    today: Date,
    n_commands: usize,
}

async fn check(history: History) {
    let stores = TestStores::sqlite().await;
    let db = stores.sqlite_read_db("incremental").await;
    let service = service(&db, &stores.store, history.batch_size).await;
    let mut world = World::start(stores.ledger()).await;
    let mut applied_up_to = 0;
    for step in &history.steps {
        world.step(*step).await;
        if step.apply > 0 {
            applied_up_to = apply_some(&service, stores.store.as_ref(), applied_up_to, step).await;
        }
    }
    let events = stores.store.read_all(0, 100_000).await.unwrap();
    apply_in_batches(&service, &events[applied_up_to as usize..], 1 + history.steps.len() % 5).await;

    let incremental = snapshot_active(&db).await;
    rebuild_all(&db, stores.store.as_ref(), 1 + history.batch_size * 3).await;
    assert_same_models(&snapshot_active(&db).await, &incremental, "incremental model against a rebuild");

    for (index, shift, known_at_index) in &history.cut_offs {
        let as_of = match events[usize::from(*index) % events.len()].effective_date {
            Some(date) => date + Duration::days(*shift),
            None => date!(2024 - 01 - 15) + Duration::days(i64::from(index % 420)),
        };
        // An instant at which the plan was known: the recorded time of an event after its creation.
        let known_at = known_at_index.map(|index| events[1 + usize::from(index) % (events.len() - 1)].recorded_at);
        assert_appendix_as_the_domain(&world, &db, as_of, known_at).await;
    }
    assert_board_as_the_domain(&world, &db, date!(2024 - 09 - 01)).await;
    stores.teardown().await;
}

/// Applies the next few events not yet applied, split into deliveries of up to `step.param % 4 + 1` events.
async fn apply_some(service: &ProjectionService, store: &dyn EventStore, applied_up_to: u64, step: &Step) -> u64 {
    let events = store.read_all(applied_up_to, usize::from(step.apply) * 2).await.unwrap();
    let Some(last) = events.last().map(|event| event.global_position) else {
        return applied_up_to;
    };
    apply_in_batches(service, &events, usize::from(step.param % 4) + 1).await;
    last
}

async fn apply_in_batches(service: &ProjectionService, events: &[event_store::RecordedEvent], batch: usize) {
    for chunk in events.chunks(batch) {
        for projector in service.projectors.iter() {
            projector.apply(chunk.to_vec()).await.expect("apply a delivery");
        }
    }
}

async fn assert_appendix_as_the_domain(
    world: &World,
    db: &projection::db::ReadDb,
    as_of: Date,
    known_at: Option<OffsetDateTime>,
) {
    let filter = ViewFilter { as_of: Some(as_of), known_at, known_at_position: None };
    let reader = world.ledger.reader();
    let (plan, _) = reader.load_plan(world.plan_id, filter).await.unwrap().expect("the plan was known");
    let tasks = reader.load_plan_tasks(&plan, filter).await.unwrap();
    let expected = domain::appendix::build(&plan, &tasks, as_of, DEFAULT_DUE_SOON_DAYS);
    let query = AppendixQuery { as_of, known_at, known_at_position: None, due_soon_days: DEFAULT_DUE_SOON_DAYS };
    let actual = projection::queries::appendix(db, &world.plan_id.to_string(), query).await.expect("the appendix");
    assert_eq!(actual.len(), expected.len(), "appendix as of {as_of}, known at {known_at:?}: rows");
    for (row, expected_row) in actual.iter().zip(&expected) {
        assert_eq!(
            row, expected_row,
            "appendix as of {as_of}, known at {known_at:?}: row {} ({:?})",
            expected_row.tt, expected_row.kind
        );
    }
}

async fn assert_board_as_the_domain(world: &World, db: &projection::db::ReadDb, on: Date) {
    let board = board(db, world.plan_id, on).await;
    assert_eq!(board.len(), world.nodes.len());
    for (task_id, _) in &world.nodes {
        let task = world.ledger.task(*task_id).await.expect("the task");
        let row = &board[&task_id.to_string()];
        assert_eq!(row.progress, task.progress(), "board progress of {}", task.number);
        assert_eq!(row.timeliness, task.timeliness(on, DEFAULT_DUE_SOON_DAYS), "board timeliness of {}", task.number);
        assert_eq!(row.n_reports, task.reports.len() as i64, "board reports of {}", task.number);
        assert_eq!(row.deadline, task.deadline.map(|deadline| deadline.code()), "board deadline of {}", task.number);
        assert_eq!(row.version, task.version as i64, "board version of {}", task.number);
    }
}

impl World {
    /// A plan with tasks in both sections, one of them grouping two indicators.
    async fn start(ledger: TestLedger) -> World {
        let plan_id = ledger.create_plan("Kế hoạch ngẫu nhiên").await;
        let mut world = World { ledger, plan_id, nodes: Vec::new(), today: date!(2024 - 02 - 01), n_commands: 0 };
        let task_2 = NodeSpec::task("I", 2, None, "SO-KHCN");
        world.assign(NodeSpec::task("I", 1, Some("2024-06"), "SO-KHCN")).await;
        let task_2_id = world.assign(task_2.clone()).await;
        world.assign(NodeSpec::indicator(&task_2, task_2_id, 1, Some("2024-Q3"))).await;
        world.assign(NodeSpec::indicator(&task_2, task_2_id, 2, Some("2024-09-30"))).await;
        world.assign(NodeSpec::task("II", 1, Some("2024"), "SO-TC")).await;
        world.assign(NodeSpec::task("II", 2, None, "SO-TC")).await;
        world
    }

    async fn assign(&mut self, node: NodeSpec) -> TaskId {
        let task_id = self.ledger.assign(self.plan_id, &node).await.expect("a valid assignment");
        self.nodes.push((task_id, node));
        task_id
    }

    /// Runs one step: the command it names, when the domain accepts it on the task as it stands.
    async fn step(&mut self, step: Step) {
        self.today += Duration::days(i64::from(step.param % 4));
        self.n_commands += 1;
        let (task_id, node) = self.nodes[usize::from(step.target) % self.nodes.len()].clone();
        let task = self.ledger.task(task_id).await.expect("the task");
        let unit = node.lead_unit;
        let param = i64::from(step.param);
        let today = self.today;
        let summary = format!("Kết quả lần {}", self.n_commands);
        let command: (TaskCommand, Actor) = match step.kind % 16 {
            0..=2 => {
                let as_of = today + Duration::days(param % 75 - 60);
                let content = content(as_of, &summary, step.param);
                (TaskCommand::FileReport { report_id: ReportId(Uuid::now_v7()), content }, reporter(unit))
            }
            3 => {
                let Some(report) = task.reports.get(usize::from(step.param) % task.reports.len().max(1)) else {
                    return;
                };
                let shift = if step.param % 2 == 1 { param % 41 - 20 } else { 0 };
                let content = content(report.current.as_of + Duration::days(shift), &summary, step.param / 2);
                let reason = text("Đính chính số liệu");
                (TaskCommand::CorrectReport { report_id: report.report_id, reason, content }, reporter(unit))
            }
            4 => {
                let Some(current) = task.deadline else { return };
                let proposed = domain::deadline::Deadline::Day(current.due_date() + Duration::days(5 + param % 90));
                let command = TaskCommand::RequestExtension {
                    extension_id: ExtensionId(Uuid::now_v7()),
                    proposed_deadline: proposed,
                    reason: text("Chờ bố trí kinh phí"),
                    basis: Vec::new(),
                    effective_on: today,
                };
                (command, reporter(unit))
            }
            5 | 6 => {
                let Some(pending) =
                    task.extensions.iter().find(|extension| extension.status == ExtensionStatus::Pending)
                else {
                    return;
                };
                let extension_id = pending.extension_id;
                let command = if step.kind % 16 == 5 {
                    let new_deadline = (step.param % 3 == 2).then(|| {
                        domain::deadline::Deadline::Day(pending.proposed_deadline.due_date() - Duration::days(1))
                    });
                    TaskCommand::ApproveExtension {
                        extension_id,
                        new_deadline,
                        basis: vec![document()],
                        note: None,
                        effective_on: today,
                    }
                } else {
                    TaskCommand::RejectExtension {
                        extension_id,
                        reason: text("Không đủ căn cứ"),
                        basis: vec![document()],
                        effective_on: today,
                    }
                };
                (command, approver())
            }
            7 => {
                let as_of = today + Duration::days(param % 30 - 15);
                (TaskCommand::ReportCompletion { as_of, summary: text(&summary), evidence: Vec::new() }, reporter(unit))
            }
            8 => (
                TaskCommand::ConfirmCompletion { basis: vec![document()], note: None, effective_on: today },
                approver(),
            ),
            9 => (
                TaskCommand::RejectCompletion { reason: text("Chưa đạt"), basis: Vec::new(), effective_on: today },
                approver(),
            ),
            10 => {
                (TaskCommand::Suspend { reason: text("Tạm dừng"), basis: Vec::new(), effective_on: today }, planner())
            }
            11 => (
                TaskCommand::Cancel { reason: text("Không còn phù hợp"), basis: Vec::new(), effective_on: today },
                planner(),
            ),
            12 => {
                let to_unit = UnitCode::parse(if unit == "SO-KHCN" { "SO-TC" } else { "SO-KHCN" }).unwrap();
                let command = TaskCommand::Transfer {
                    to_unit,
                    reason: text("Đúng chức năng"),
                    basis: vec![document()],
                    effective_on: today,
                };
                (command, planner())
            }
            13 => (
                TaskCommand::Reopen {
                    reason: text("Tiếp tục thực hiện"), basis: Vec::new(), effective_on: today
                },
                planner(),
            ),
            14 => {
                self.assign_random(step).await;
                return;
            }
            _ => {
                self.today += Duration::days(param % 30);
                return;
            }
        };
        let (command, actor) = command;
        // A command the domain refuses on this state is simply not part of the history.
        let _ = self.ledger.decide(task_id, command, &actor).await;
    }

    /// A new task at the end of a section, or a new indicator under a task.
    async fn assign_random(&mut self, step: Step) {
        let deadline =
            ["2024-05", "2024-Q2", "2024-H2", "2024-08-15", "2025"].get(usize::from(step.param % 6)).copied();
        let section = if step.param % 2 == 1 { "II" } else { "I" };
        let node = if step.target % 3 == 2 {
            let parents: Vec<(TaskId, NodeSpec)> =
                self.nodes.iter().filter(|(_, node)| node.parent_id.is_none()).cloned().collect();
            let (parent_id, parent) = parents[usize::from(step.target) % parents.len()].clone();
            let n_indicators = self.nodes.iter().filter(|(_, node)| node.parent_id == Some(parent_id)).count();
            NodeSpec::indicator(&parent, parent_id, n_indicators as u16 + 1, deadline)
        } else {
            let n_tasks =
                self.nodes.iter().filter(|(_, node)| node.parent_id.is_none() && node.section == section).count();
            let unit = if step.target % 2 == 1 { "SO-TC" } else { "SO-KHCN" };
            NodeSpec::task(section, n_tasks as u16 + 1, deadline, unit)
        };
        self.assign(node).await;
    }
}

/// A report's content; `choice` picks the progress it states.
fn content(as_of: Date, summary: &str, choice: u8) -> ReportContent {
    let progress = match choice % 3 {
        0 => None,
        1 => Some(ReportedProgress::NotStarted),
        _ => Some(ReportedProgress::InProgress),
    };
    ReportContent { as_of, summary: text(summary), measures: Vec::new(), progress, evidence: Vec::new() }
}

/// Histories at the edges the random ones reach only now and then, on both engines: a correction that moves a
/// report's cut-off (later, then earlier), and a completion confirmed on a date before its own cut-off.
async fn edges_project_as_the_domain_folds_them(stores: TestStores, db: projection::db::ReadDb) {
    let service = service(&db, &stores.store, 100).await;
    let world = World::start(stores.ledger()).await;
    let (task_id, node) = world.nodes[0].clone();
    let reporter = reporter(node.lead_unit);
    let (report_id, _) = world.ledger.report(task_id, node.lead_unit, date!(2024 - 04 - 15), "Bản gốc").await;
    let later = TaskCommand::CorrectReport {
        report_id,
        reason: text("Nhầm ngày"),
        content: content(date!(2024 - 04 - 20), "Bản đính chính ngày 20/4", 1),
    };
    world.ledger.decide(task_id, later, &reporter).await.unwrap();
    let (other_id, node) = world.nodes[4].clone();
    let (early_id, _) = world.ledger.report(other_id, node.lead_unit, date!(2024 - 05 - 15), "Báo cáo tháng 5").await;
    let earlier = TaskCommand::CorrectReport {
        report_id: early_id,
        reason: text("Nhầm kỳ báo cáo"),
        content: content(date!(2024 - 04 - 10), "Báo cáo tháng 4", 2),
    };
    world.ledger.decide(other_id, earlier, &crate::support::reporter(node.lead_unit)).await.unwrap();
    // Task 1 is due 30/06/2024; its completion is reported as of 05/07 and confirmed effective 20/06.
    let completion =
        TaskCommand::ReportCompletion {
            as_of: date!(2024 - 07 - 05), summary: text("Đã xong"), evidence: Vec::new()
        };
    world.ledger.decide(task_id, completion, &reporter).await.unwrap();
    let confirmation =
        TaskCommand::ConfirmCompletion { basis: vec![document()], note: None, effective_on: date!(2024 - 06 - 20) };
    world.ledger.decide(task_id, confirmation, &approver()).await.unwrap();
    service.catch_up().await.unwrap();
    let cut_offs = [
        date!(2024 - 04 - 09),
        date!(2024 - 04 - 10),
        date!(2024 - 04 - 15),
        date!(2024 - 04 - 19),
        date!(2024 - 04 - 20),
        date!(2024 - 05 - 15),
        date!(2024 - 06 - 20),
        date!(2024 - 07 - 04),
        date!(2024 - 07 - 05),
    ];
    for as_of in cut_offs {
        assert_appendix_as_the_domain(&world, &db, as_of, None).await;
    }
    stores.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edges_project_as_the_domain_folds_them_on_sqlite() {
    let stores = TestStores::sqlite().await;
    let db = stores.sqlite_read_db("read").await;
    edges_project_as_the_domain_folds_them(stores, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edges_project_as_the_domain_folds_them_on_postgres() {
    let stores = TestStores::postgres().await;
    let db = stores.postgres_read_db().await;
    edges_project_as_the_domain_folds_them(stores, db).await;
}
