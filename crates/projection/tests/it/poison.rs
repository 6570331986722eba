//! An event its read model cannot apply: a `task-<uuid>` stream holds a `ProgressReported` whose payload is not a
//! progress report. The tasks model parks exactly that position and moves on; the plans model, which never reads
//! task streams, is not disturbed; a rebuild parks it again and ends with the same rows.

use domain::ids::ReportId;
use domain::task::{ProgressReported, TaskEvent};
use event_store::StreamId;
use projection::db::ReadDb;
use serde_json::json;
use time::macros::date;
use uuid::Uuid;

use crate::support::{
    assert_same_models, board, projector, rebuild_all, report_content, reporter, service, snapshot_active, NodeSpec,
    TestStores,
};

/// How the projector meets the poison.
#[derive(Debug, Clone, Copy)]
struct Case {
    batch_size: usize,
    /// Catch up once before the poison is appended, so that it opens a later batch.
    catch_up_before_poison: bool,
}

async fn a_poisoned_event_is_parked_and_everything_else_applied(stores: &TestStores, db: ReadDb, case: Case) {
    let ledger = stores.ledger();
    let plan_a = ledger.create_plan("Kế hoạch A").await;
    let task_1 = ledger.assign(plan_a, &NodeSpec::task("I", 1, Some("2024-06"), "SO-KHCN")).await.unwrap();
    let task_2 = ledger.assign(plan_a, &NodeSpec::task("I", 2, None, "SO-TC")).await.unwrap();
    ledger.report(task_1, "SO-KHCN", date!(2024 - 04 - 15), "Đã khảo sát 10/25 doanh nghiệp").await;
    ledger.report(task_2, "SO-TC", date!(2024 - 04 - 15), "Đang lập dự toán").await;
    let service = service(&db, &stores.store, case.batch_size).await;
    if case.catch_up_before_poison {
        service.catch_up().await.expect("catch up before the poison");
    }

    let poison = ledger
        .append_raw(StreamId(task_1.stream_name()), "ProgressReported", json!({"nonsense": 1}), &reporter("SO-KHCN"))
        .await;
    let poison_position = poison.last_position;
    // Good events after it: on the same task, on another task, and a new plan with a task and a report.
    let after = TaskEvent::ProgressReported(ProgressReported {
        report_id: ReportId(Uuid::now_v7()),
        content: report_content(date!(2024 - 05 - 15), "Đã khảo sát 25/25 doanh nghiệp"),
    });
    ledger.append_event(task_1, &after, &reporter("SO-KHCN")).await;
    ledger.report(task_2, "SO-TC", date!(2024 - 05 - 15), "Đã trình dự toán").await;
    let plan_b = ledger.create_plan("Kế hoạch B").await;
    let task_b = ledger.assign(plan_b, &NodeSpec::task("II", 1, Some("2024-Q4"), "SO-KHCN")).await.unwrap();
    let (_, last) = ledger.report(task_b, "SO-KHCN", date!(2024 - 05 - 15), "Đã ký hợp đồng").await;
    let head = last.last_position;

    service.catch_up().await.expect("catch up over the poison");

    let tasks = projector(&service, "tasks");
    let plans = projector(&service, "plans");
    let parked = tasks.parked().await.unwrap();
    let parked_positions: Vec<u64> = parked.iter().map(|parked| parked.global_position).collect();
    assert_eq!(parked_positions, vec![poison_position], "{case:?}: exactly the poisoned position is parked");
    let poisoned = stores.store.read_all(poison_position - 1, 1).await.unwrap().remove(0);
    assert_eq!(parked[0].event_id, poisoned.event_id.to_string());
    assert_eq!(parked[0].event_type, "ProgressReported");
    assert!(!parked[0].error.is_empty(), "the error is kept for the operator");
    assert_eq!(tasks.stored_checkpoint().await.unwrap(), head, "{case:?}: the checkpoint passes the poison");
    assert!(plans.parked().await.unwrap().is_empty(), "{case:?}: the plans model parks nothing");
    assert_eq!(plans.stored_checkpoint().await.unwrap(), head, "{case:?}: the plans model applies everything");

    let on = date!(2024 - 06 - 01);
    let board_a = board(&db, plan_a, on).await;
    let row_1 = &board_a[&task_1.to_string()];
    assert_eq!(row_1.n_reports, 2, "{case:?}: the reports before and after the poison both count");
    assert_eq!(row_1.last_report_as_of.as_deref(), Some("2024-05-15"));
    assert_eq!(board_a[&task_2.to_string()].n_reports, 2);
    let plans_listed = projection::queries::list_plans(&db).await.unwrap();
    assert_eq!(plans_listed.len(), 2, "{case:?}: the plan created after the poison is listed");
    assert_eq!(plans_listed.iter().find(|plan| plan.plan_id == plan_b.to_string()).unwrap().n_nodes, 1);
    assert_eq!(plans_listed.iter().find(|plan| plan.plan_id == plan_a.to_string()).unwrap().n_nodes, 2);
    assert_eq!(board(&db, plan_b, on).await[&task_b.to_string()].n_reports, 1);

    assert_eq!(
        service.catch_up().await.unwrap(),
        vec![("plans".to_owned(), 0), ("tasks".to_owned(), 0)],
        "{case:?}: nothing is left to apply"
    );
    assert_eq!(tasks.parked().await.unwrap().len(), 1);

    let incremental = snapshot_active(&db).await;
    let reports = rebuild_all(&db, stores.store.as_ref(), 3).await;
    for report in &reports {
        let expected_parked = if report.model == "tasks" { 1 } else { 0 };
        assert_eq!(report.n_parked, expected_parked, "{case:?}: rebuild of {}", report.model);
        assert_eq!(report.checkpoint, head);
        assert_eq!(report.generation, 2);
    }
    let parked_after_rebuild: Vec<u64> =
        tasks.parked().await.unwrap().iter().map(|parked| parked.global_position).collect();
    assert_eq!(parked_after_rebuild, vec![poison_position]);
    assert_same_models(&snapshot_active(&db).await, &incremental, &format!("{case:?}: rebuild after the poison"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poisoned_task_event_is_parked_on_sqlite() {
    let cases = [
        Case { batch_size: 1_000, catch_up_before_poison: false },
        Case { batch_size: 1, catch_up_before_poison: true },
        Case { batch_size: 4, catch_up_before_poison: true },
        Case { batch_size: 3, catch_up_before_poison: false },
    ];
    for case in cases {
        let stores = TestStores::sqlite().await;
        let db = stores.sqlite_read_db("read").await;
        a_poisoned_event_is_parked_and_everything_else_applied(&stores, db, case).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poisoned_task_event_is_parked_on_postgres() {
    let stores = TestStores::postgres().await;
    let db = stores.postgres_read_db().await;
    a_poisoned_event_is_parked_and_everything_else_applied(
        &stores,
        db,
        Case { batch_size: 5, catch_up_before_poison: false },
    )
    .await;
    stores.teardown().await;
}
