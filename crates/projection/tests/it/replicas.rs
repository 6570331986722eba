//! Several replicas of the projection service on one PostgreSQL read database: each catches up from the store and
//! applies bus-like deliveries (random windows of the log, shuffled and duplicated) while writers append, all at
//! once. The checkpoint row lock makes every event applied exactly once: each task counts exactly the reports filed
//! on it, and the rows equal a rebuild from zero. Poisoned events among them are parked once each, even when
//! two replicas meet the same one in the same batch.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use domain::ids::{ReportId, TaskId};
use domain::task::TaskCommand;
use event_store::StreamId;
use projection::ProjectionService;
use serde_json::json;
use time::macros::date;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::support::{
    assert_same_models, board, projector, rebuild_all, report_content, reporter, service, snapshot_active, text,
    NodeSpec, Rng, TestLedger, TestStores,
};

const N_TASKS: u16 = 6;
const N_REPORTS_PER_TASK: usize = 25;
const N_REPLICAS: usize = 2;

/// Files reports on one task (correcting every fourth), and appends a poisoned event after every sixth when
/// asked to; answers how many reports it filed.
async fn write_reports(ledger: TestLedger, task_id: TaskId, poison: bool) -> usize {
    for index in 0..N_REPORTS_PER_TASK {
        let as_of = date!(2024 - 04 - 15) + time::Duration::days(index as i64);
        let (report_id, _) = ledger.report(task_id, "SO-KHCN", as_of, &format!("Báo cáo lần {index}")).await;
        if index % 4 == 3 {
            correct(&ledger, task_id, report_id, index).await;
        }
        if poison && index % 6 == 5 {
            // On a task stream of its own: the writer keeps folding its task, which a poisoned event would stop.
            let stream = StreamId(TaskId(Uuid::now_v7()).stream_name());
            ledger.append_raw(stream, "TaskSuspended", json!({"why": "not a decision"}), &reporter("SO-KHCN")).await;
        }
    }
    N_REPORTS_PER_TASK
}

async fn correct(ledger: &TestLedger, task_id: TaskId, report_id: ReportId, index: usize) {
    let as_of = date!(2024 - 04 - 15) + time::Duration::days(index as i64);
    let correction = TaskCommand::CorrectReport {
        report_id,
        reason: text("Nhầm số liệu"),
        content: report_content(as_of, &format!("Báo cáo lần {index} (đính chính)")),
    };
    ledger.decide(task_id, correction, &reporter("SO-KHCN")).await.expect("the correction is accepted");
}

/// A replica's consumer: random windows of the log, shuffled and with duplicates, until the writers are done.
async fn deliver_randomly(
    replica: ProjectionService,
    store: Arc<dyn event_store::EventStore>,
    seed: u64,
    done: Arc<AtomicBool>,
) {
    let mut rng = Rng::seeded(seed);
    while !done.load(Ordering::Acquire) {
        let head = store.head().await.unwrap().position;
        let after = rng.below(head + 1);
        let mut events = store.read_all(after, 1 + rng.below(12) as usize).await.unwrap();
        for index in (1..events.len()).rev() {
            events.swap(index, rng.below(index as u64 + 1) as usize);
        }
        if let Some(duplicate) = events.first().cloned().filter(|_| rng.chance(30)) {
            events.push(duplicate);
        }
        for projector in replica.projectors.iter() {
            projector.apply(events.clone()).await.unwrap_or_else(|error| panic!("seed {seed}: apply failed: {error}"));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_on_one_postgres_read_database_apply_every_event_once() {
    let stores = TestStores::postgres().await;
    let ledger = stores.ledger();
    let plan_id = ledger.create_plan("Kế hoạch nhiều bản sao").await;
    let mut task_ids = Vec::new();
    for number in 1..=N_TASKS {
        task_ids.push(ledger.assign(plan_id, &NodeSpec::task("I", number, Some("2024-12"), "SO-KHCN")).await.unwrap());
    }
    let mut replicas = Vec::new();
    for _ in 0..N_REPLICAS {
        replicas.push(service(&stores.postgres_read_db().await, &stores.store, 7).await);
    }

    let done = Arc::new(AtomicBool::new(false));
    let mut consumers = JoinSet::new();
    for (index, replica) in replicas.iter().enumerate() {
        let catching_up = replica.clone();
        let catching_up_done = done.clone();
        consumers.spawn(async move {
            while !catching_up_done.load(Ordering::Acquire) {
                catching_up
                    .catch_up()
                    .await
                    .unwrap_or_else(|error| panic!("replica {index}: catch-up failed: {error}"));
            }
        });
        consumers.spawn(deliver_randomly(replica.clone(), stores.store.clone(), 17 + index as u64, done.clone()));
    }
    let mut writers = JoinSet::new();
    for (index, task_id) in task_ids.iter().enumerate() {
        let ledger = ledger.clone();
        let task_id = *task_id;
        writers.spawn(async move { (task_id, write_reports(ledger, task_id, index == 0).await) });
    }
    let mut n_filed: HashMap<String, i64> = HashMap::new();
    while let Some(written) = writers.join_next().await {
        let (task_id, n_reports) = written.expect("a writer");
        n_filed.insert(task_id.to_string(), n_reports as i64);
    }
    done.store(true, Ordering::Release);
    while let Some(consumer) = consumers.join_next().await {
        consumer.expect("a replica's consumer");
    }
    for replica in &replicas {
        replica.catch_up().await.expect("the last catch-up");
    }

    let head = stores.store.head().await.unwrap().position;
    let db = &replicas[0].db;
    for replica in &replicas {
        for projector in replica.projectors.iter() {
            assert_eq!(projector.stored_checkpoint().await.unwrap(), head, "model {}", projector.name());
        }
    }
    let parked = projector(&replicas[0], "tasks").parked().await.unwrap();
    assert_eq!(parked.len(), N_REPORTS_PER_TASK / 6, "each poisoned event is parked once: {parked:?}");
    assert!(projector(&replicas[0], "plans").parked().await.unwrap().is_empty());
    let board = board(db, plan_id, date!(2024 - 06 - 01)).await;
    for (task_id, n_reports) in &n_filed {
        assert_eq!(board[task_id].n_reports, *n_reports, "task {task_id}: reports counted once each");
    }
    let plans = projection::queries::list_plans(db).await.unwrap();
    assert_eq!(plans[0].n_nodes, i64::from(N_TASKS), "each registration counted once");

    let incremental = snapshot_active(db).await;
    rebuild_all(db, stores.store.as_ref(), 50).await;
    assert_same_models(&snapshot_active(db).await, &incremental, "replicas against a rebuild");
    stores.teardown().await;
}
