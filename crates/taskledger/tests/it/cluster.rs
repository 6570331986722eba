//! The services as separate processes on PostgreSQL and NATS JetStream (a stream of the test's own), killed with
//! SIGKILL while they work: the projection service in the middle of applying, the command service in the middle
//! of a burst of commands, and two projection services sharing one read database. Whatever happens, the read
//! models end equal to a rebuild from zero (`taskledger projections rebuild`, which switches to a new generation)
//! and count every report the command service acknowledged, exactly once.

use std::collections::HashSet;
use std::time::Duration;

use bus::EventBus;
use domain::ids::{ReportId, TaskId};
use domain::task::{ProgressReported, ReportContent, TaskEvent};
use event_store::{AppendRequest, EventStore, ExpectedVersion, StreamAppend, StreamId};
use projection::db::ReadDb;
use serde_json::Value;
use sqlx::Row;
use uuid::Uuid;

use crate::support::{wait_until, Acknowledged, Api, Burst, Cluster, Server};

/// Concurrent clients of a burst, one task each.
const N_CLIENTS: usize = 8;

/// How long the services get to catch up with the store before a test fails.
const CATCH_UP_LIMIT: Duration = Duration::from_secs(30);

/// Every table of every read model's active generation, as text.
type Snapshot = Vec<(String, Vec<(String, Vec<String>)>)>;

async fn snapshot_active(db: &ReadDb) -> Snapshot {
    let mut models = Vec::new();
    for model in projection::read_models() {
        let generation = db.generation(model.name()).await.expect("active generation");
        let tables = projection::rebuild::snapshot(db, model.as_ref(), generation).await.expect("snapshot");
        models.push((model.name().to_owned(), tables));
    }
    models
}

/// What clients read of a plan: the board, and the appendix as of two cut-offs.
async fn views(projections: &Api, plan_id: &str) -> Vec<Value> {
    let mut views = Vec::new();
    for path in [
        format!("/v1/plans/{plan_id}/tasks?on=2024-06-01"),
        format!("/v1/plans/{plan_id}/appendix?as_of=2024-04-10"),
        format!("/v1/plans/{plan_id}/appendix?as_of=2024-04-28"),
    ] {
        let (status, body) = projections.get(&path).await;
        assert_eq!(status, 200, "{path}: {body}");
        views.push(body);
    }
    views
}

/// The plan a task belongs to, as the command service tells it.
async fn plan_of(commands: &Api, task_id: &str) -> String {
    let (status, body) = commands.get(&format!("/v1/tasks/{task_id}")).await;
    assert_eq!(status, 200, "{body}");
    body["task"]["plan_id"].as_str().expect("plan_id").to_owned()
}

/// Waits until every read model of a projection service has applied `position`.
async fn wait_applied(projections: &Api, position: u64) {
    wait_until(&format!("{} has applied position {position}", projections.base_url), CATCH_UP_LIMIT, || async {
        projections.checkpoints().await.iter().all(|checkpoint| *checkpoint >= position)
    })
    .await;
    assert!(
        projections.checkpoints().await.iter().all(|checkpoint| *checkpoint == position),
        "nothing beyond the head was applied"
    );
}

/// SIGKILLs a projection service in the middle of a batch: as soon as PostgreSQL shows a transaction of another
/// connection open on the read models (the projector's, between its checkpoint lock and its commit).
async fn kill_while_applying(server: Server, db: &ReadDb) {
    let deadline = std::time::Instant::now() + CATCH_UP_LIMIT;
    while !read_model_transaction_open(db).await {
        assert!(std::time::Instant::now() < deadline, "the projection service was never seen applying");
    }
    server.kill_9();
}

/// Whether another connection is inside a writing transaction (it has a transaction id) whose last statement was
/// on the read models' tables: a projector between `SELECT … FOR UPDATE` on its checkpoint and its commit.
async fn read_model_transaction_open(db: &ReadDb) -> bool {
    let n_open: i64 = sqlx::query(
        "SELECT count(*) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL
           AND query LIKE '% rm\\_%'",
    )
    .fetch_one(db.pool())
    .await
    .expect("read pg_stat_activity")
    .try_get(0)
    .unwrap();
    n_open > 0
}

/// Each task's number of reports as the board of a projection service counts them.
async fn board_counts(projections: &Api, plan_id: &str) -> std::collections::HashMap<String, u64> {
    let (status, board) = projections.get(&format!("/v1/plans/{plan_id}/tasks?on=2024-06-01")).await;
    assert_eq!(status, 200, "{board}");
    board
        .as_array()
        .expect("board rows")
        .iter()
        .map(|row| (row["task_id"].as_str().unwrap().to_owned(), row["n_reports"].as_u64().unwrap()))
        .collect()
}

/// Every acknowledged report is counted once: the board's count per task equals what was acknowledged.
async fn assert_counted_exactly(projections: &Api, plan_id: &str, acknowledged: &Acknowledged) {
    let counts = board_counts(projections, plan_id).await;
    for (task_id, report_ids) in &acknowledged.report_ids {
        assert_eq!(counts[task_id], report_ids.len() as u64, "task {task_id}: reports counted");
    }
}

/// Rebuilds every read model with the CLI and checks that nothing changes: not the tables (old generation against
/// new), not what clients read.
async fn assert_equal_to_a_rebuild(cluster: &Cluster, projections: &Api, plan_id: &str) {
    let db = cluster.read_db().await;
    let before = snapshot_active(&db).await;
    let views_before = views(projections, plan_id).await;
    let generation_before = db.generation("tasks").await.unwrap();
    let printed = cluster.rebuild_projections();
    assert!(printed.contains("rebuilt plans") && printed.contains("rebuilt tasks"), "{printed}");
    assert_eq!(db.generation("tasks").await.unwrap(), generation_before + 1, "the rebuild switched generation");
    let after = snapshot_active(&db).await;
    for ((model, tables), (_, tables_before)) in after.iter().zip(&before) {
        for ((table, rows), (_, rows_before)) in tables.iter().zip(tables_before) {
            let first_difference = rows.iter().zip(rows_before).find(|(row, row_before)| row != row_before);
            assert!(
                rows == rows_before,
                "model {model}, table {table}: {} rows rebuilt, {} before; first difference (rebuilt, before): \
                 {first_difference:?}",
                rows.len(),
                rows_before.len()
            );
        }
    }
    assert_eq!(views(projections, plan_id).await, views_before, "what clients read after the rebuild");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projection_service_killed_while_applying_resumes_to_a_rebuild() {
    let cluster = Cluster::create().await;
    let store = cluster.store().await;
    let db = cluster.read_db().await;
    let commands = Server::start_service("command-service", &cluster).await;
    let mut projections = Server::start_service("projection-service", &cluster).await;
    let planner = Api::new(&commands, commands.token("vp.an", "VP-UBND", "planner"));
    let reporter = Api::new(&commands, commands.token("khcn.binh", "SO-KHCN", "reporter"));
    let task_ids = planner.create_plan_with_tasks(N_CLIENTS).await;
    let plan_id = plan_of(&planner, &task_ids[0]).await;

    let burst = Burst::start(&reporter, &task_ids);
    for _ in 0..2 {
        burst.wait_for_more(80).await;
        kill_while_applying(projections, &db).await;
        // A backlog builds up while it is down; the next start catches up with it before serving.
        burst.wait_for_more(80).await;
        projections = Server::start_service("projection-service", &cluster).await;
    }
    burst.wait_for_more(40).await;
    let acknowledged = burst.finish().await;
    assert_eq!(store.head().await.unwrap().position, acknowledged.last_position, "every command was answered");

    let reader = Api::new(&projections, projections.token("thanhtra.an", "THANH-TRA", "auditor"));
    wait_applied(&reader, acknowledged.last_position).await;
    assert_counted_exactly(&reader, &plan_id, &acknowledged).await;
    assert_equal_to_a_rebuild(&cluster, &reader, &plan_id).await;
    drop((commands, projections));
    cluster.teardown().await;
}

/// Report ids in the read model, per task (the original filings).
async fn projected_report_ids(db: &ReadDb) -> std::collections::HashMap<String, HashSet<String>> {
    let reports = projection::db::table("reports", db.generation("tasks").await.unwrap());
    let rows = sqlx::query(&format!("SELECT task_id, report_id FROM {reports} WHERE version_no = 1"))
        .fetch_all(db.pool())
        .await
        .expect("read the reports");
    let mut by_task: std::collections::HashMap<String, HashSet<String>> = std::collections::HashMap::new();
    for row in rows {
        by_task.entry(row.try_get(0).unwrap()).or_default().insert(row.try_get(1).unwrap());
    }
    by_task
}

/// Commits a report straight into the store, as a command service that dies between commit and publish leaves it:
/// in the store, never on the bus.
async fn commit_unpublished_report(store: &dyn EventStore, task_id: &str) -> String {
    let report_id = ReportId(Uuid::now_v7());
    let event = TaskEvent::ProgressReported(ProgressReported {
        report_id,
        content: ReportContent {
            as_of: time::macros::date!(2024 - 04 - 29),
            summary: domain::text::NonEmptyText::parse("Đã cam kết, chưa phát hành", 100).unwrap(),
            measures: Vec::new(),
            progress: None,
            evidence: Vec::new(),
        },
    });
    let task_id = TaskId(Uuid::parse_str(task_id).unwrap());
    let stream_id = StreamId(task_id.stream_name());
    let request = AppendRequest {
        command_id: Uuid::now_v7(),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        actor: event_store::Actor {
            id: "khcn.binh".to_owned(),
            name: "Người dùng thử".to_owned(),
            unit: "SO-KHCN".to_owned(),
            role: "reporter".to_owned(),
        },
        idempotency: None,
        subject_id: report_id.to_string(),
        subject_stream: stream_id.clone(),
        streams: vec![StreamAppend {
            stream_id,
            expected_version: ExpectedVersion::Any,
            events: vec![command_service::ledger::new_event(&event, event.effective_date()).unwrap()],
        }],
    };
    store.append(request).await.expect("append");
    report_id.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_service_killed_during_a_burst_loses_nothing_on_the_bus() {
    let cluster = Cluster::create().await;
    let store = cluster.store().await;
    let db = cluster.read_db().await;
    let commands = Server::start_service("command-service", &cluster).await;
    let projections = Server::start_service("projection-service", &cluster).await;
    let planner = Api::new(&commands, commands.token("vp.an", "VP-UBND", "planner"));
    let reporter = Api::new(&commands, commands.token("khcn.binh", "SO-KHCN", "reporter"));
    let task_ids = planner.create_plan_with_tasks(N_CLIENTS).await;
    let plan_id = plan_of(&planner, &task_ids[0]).await;

    let burst = Burst::start(&reporter, &task_ids);
    burst.wait_for_more(150).await;
    commands.kill_9();
    let acknowledged = burst.finish().await;

    // What the dead process committed but never published: the relay of the next one must publish it.
    let mut unpublished = Vec::new();
    for task_id in &task_ids[..3] {
        unpublished.push((task_id.clone(), commit_unpublished_report(&store, task_id).await));
    }
    let bus = cluster.bus().await;
    let head = store.head().await.unwrap().position;
    assert!(bus.last_published_position().await.unwrap() < head, "committed events are missing from the bus");

    let commands = Server::start_service("command-service", &cluster).await;
    wait_until("the restarted relay has published up to the head", CATCH_UP_LIMIT, || async {
        bus.last_published_position().await.unwrap() == head
    })
    .await;
    assert_eq!(cluster.n_stream_messages().await, head, "every event on the bus exactly once");

    let reader = Api::new(&projections, projections.token("thanhtra.an", "THANH-TRA", "auditor"));
    wait_applied(&reader, head).await;
    let projected = projected_report_ids(&db).await;
    let counts = board_counts(&reader, &plan_id).await;
    for task_id in &task_ids {
        let stored = projected.get(task_id).cloned().unwrap_or_default();
        let mut expected = acknowledged.report_ids.get(task_id).cloned().unwrap_or_default();
        expected.extend(unpublished.iter().filter(|(task, _)| task == task_id).map(|(_, report_id)| report_id.clone()));
        let missing: Vec<&String> = expected.difference(&stored).collect();
        assert!(missing.is_empty(), "task {task_id}: acknowledged reports missing from the read model: {missing:?}");
        // At most the one request in flight per client may have committed without its answer arriving.
        assert!(
            stored.len() <= expected.len() + 1,
            "task {task_id}: {} projected, {} expected",
            stored.len(),
            expected.len()
        );
        let in_store = store
            .read_stream(&StreamId(format!("task-{task_id}")), 0)
            .await
            .unwrap()
            .iter()
            .filter(|event| event.event_type == "ProgressReported")
            .count();
        assert_eq!(counts[task_id], in_store as u64, "task {task_id}: the board counts each stored report once");
        assert_eq!(stored.len(), in_store, "task {task_id}: each stored report projected");
    }
    assert_equal_to_a_rebuild(&cluster, &reader, &plan_id).await;
    drop((commands, projections));
    cluster.teardown().await;
}

/// The sum of a Prometheus counter over its labels, from `GET /metrics`.
async fn counter(api: &Api, name: &str) -> f64 {
    let text = api.client.get(format!("{}/metrics", api.base_url)).send().await.unwrap().text().await.unwrap();
    text.lines()
        .filter(|line| line.starts_with(name))
        .filter_map(|line| line.rsplit(' ').next().and_then(|value| value.parse::<f64>().ok()))
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_projection_services_share_the_work_and_apply_each_event_once() {
    let cluster = Cluster::create().await;
    let commands = Server::start_service("command-service", &cluster).await;
    let replica_a = Server::start_service("projection-service", &cluster).await;
    let replica_b = Server::start_service("projection-service", &cluster).await;
    let planner = Api::new(&commands, commands.token("vp.an", "VP-UBND", "planner"));
    let reporter = Api::new(&commands, commands.token("khcn.binh", "SO-KHCN", "reporter"));
    let task_ids = planner.create_plan_with_tasks(N_CLIENTS).await;
    let plan_id = plan_of(&planner, &task_ids[0]).await;

    let burst = Burst::start(&reporter, &task_ids);
    burst.wait_for_more(300).await;
    let acknowledged = burst.finish().await;

    let token = replica_a.token("thanhtra.an", "THANH-TRA", "auditor");
    let (reader_a, reader_b) = (Api::new(&replica_a, token.clone()), Api::new(&replica_b, token));
    wait_applied(&reader_a, acknowledged.last_position).await;
    wait_applied(&reader_b, acknowledged.last_position).await;
    for reader in [&reader_a, &reader_b] {
        let applied = counter(reader, "taskledger_projection_applied_total").await;
        assert!(applied > 0.0, "{} applied nothing: both replicas take deliveries", reader.base_url);
    }
    assert_counted_exactly(&reader_a, &plan_id, &acknowledged).await;
    assert_eq!(views(&reader_a, &plan_id).await, views(&reader_b, &plan_id).await, "both replicas answer alike");
    assert_equal_to_a_rebuild(&cluster, &reader_b, &plan_id).await;
    drop((commands, replica_a, replica_b));
    cluster.teardown().await;
}
