//! Auditors' reads go on the bus like every event: the read models pass over them (nothing parked, nothing
//! stalled) on both setups, and the audit search finds them.

use serde_json::Value;

use crate::support::{Setup, TestNode};

async fn auditors_reads_flow_past_the_read_models(setup: Setup) {
    let node = TestNode::start(setup).await;
    let plan_id = node.create_plan().await;
    let auditor = node.token("auditor", "THANH-TRA");
    let (status, plan) = node.get(&format!("/v1/plans/{plan_id}"), &auditor).await;
    assert_eq!(status, 200, "{plan}");
    let (status, found) = node.get("/v1/audit/events?event_type=RecordsRead", &auditor).await;
    assert_eq!(status, 200, "{found}");
    let stream = format!("access-{plan_id}");
    assert!(found["events"].as_array().unwrap().iter().any(|event| event["stream_id"] == stream.as_str()), "{found}");

    // A command after the recorded reads: the read models reach it, so they applied (or skipped) the reads.
    let (task_id, position) =
        node.assign(&plan_id, crate::support::task_body("I", "1", "Khảo sát doanh nghiệp", None, "SO-KHCN")).await;
    let (status, board) = node.get(&format!("/v1/plans/{plan_id}/tasks?min_position={position}"), &auditor).await;
    assert_eq!(status, 200, "{board}");
    assert_eq!(board[0]["task_id"], task_id.as_str());
    let (_, projections) = node.get("/v1/projections", &auditor).await;
    for projection in projections.as_array().unwrap() {
        assert_eq!(projection["parked"], Value::Array(Vec::new()), "{projection}");
    }
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auditors_reads_flow_past_the_read_models_on_sqlite_and_the_in_process_bus() {
    auditors_reads_flow_past_the_read_models(Setup::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auditors_reads_flow_past_the_read_models_on_postgres_and_nats() {
    auditors_reads_flow_past_the_read_models(Setup::Cluster).await;
}
