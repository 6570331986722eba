//! Delivery to the read models: many concurrent writers, no event missed or applied twice, and read models equal
//! to a fresh rebuild.

use std::time::Duration;

use crate::support::{eventually, task_body, Setup, TestNode};

const N_WRITERS: usize = 16;
const N_REPORTS_EACH: usize = 12;

async fn concurrent_writers_are_projected_exactly_once(setup: Setup) {
    let node = TestNode::start(setup).await;
    let plan_id = node.create_plan().await;
    let mut task_ids = Vec::new();
    for number in 1..=N_WRITERS {
        let (task_id, _) =
            node.assign(&plan_id, task_body("I", &number.to_string(), "Nhiệm vụ", Some("2024-12"), "SO-KHCN")).await;
        task_ids.push(task_id);
    }
    let mut writers = Vec::new();
    for task_id in task_ids.clone() {
        let client = node.client.clone();
        let base = node.base_url.clone();
        let token = node.token("reporter", "SO-KHCN");
        writers.push(tokio::spawn(async move {
            for index in 0..N_REPORTS_EACH {
                let body = serde_json::json!({"as_of": format!("2024-04-{:02}", index + 1), "summary": format!("Báo cáo {index}")});
                let response =
                    client.post(format!("{base}/v1/tasks/{task_id}/reports")).bearer_auth(&token).json(&body).send().await.unwrap();
                assert_eq!(response.status().as_u16(), 201);
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let head = node.state().ledger.store().head().await.unwrap().position;
    let auditor = node.token("auditor", "THANH-TRA");
    let (status, board) = node.get(&format!("/v1/plans/{plan_id}/tasks?min_position={head}"), &auditor).await;
    assert_eq!(status, 200, "{board}");
    for task in board.as_array().unwrap() {
        assert_eq!(task["n_reports"], N_REPORTS_EACH as u64, "{task}");
        assert_eq!(task["version"], 1 + N_REPORTS_EACH as u64);
        assert_eq!(task["last_report_as_of"], format!("2024-04-{:02}", N_REPORTS_EACH));
    }

    // The incrementally built read models equal a rebuild from zero.
    let projection = node.node.as_ref().unwrap().projection.clone().unwrap();
    assert!(
        eventually(Duration::from_secs(10), || async {
            let mut at_head = true;
            for projector in projection.projectors.iter() {
                at_head &= projector.stored_checkpoint().await.unwrap() >= head;
            }
            at_head
        })
        .await
    );
    let store = node.state().ledger.store().clone();
    for projector in projection.projectors.iter() {
        let model = projector.model().clone();
        let (before, _) = projection.db.active(model.name()).await.unwrap().unwrap();
        let incremental = projection::rebuild::snapshot(&projection.db, model.as_ref(), before).await.unwrap();
        let report = projection::rebuild::rebuild(&projection.db, store.as_ref(), model.clone(), 1_000).await.unwrap();
        assert_eq!(report.generation, before + 1);
        let rebuilt = projection::rebuild::snapshot(&projection.db, model.as_ref(), report.generation).await.unwrap();
        assert_eq!(incremental, rebuilt, "read model {} differs from its rebuild", model.name());
    }
    // The service keeps answering from the switched tables.
    let (status, board) = node.get(&format!("/v1/plans/{plan_id}/tasks"), &auditor).await;
    assert_eq!(status, 200);
    assert_eq!(board.as_array().unwrap().len(), N_WRITERS);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_writers_on_sqlite_are_projected_once() {
    concurrent_writers_are_projected_exactly_once(Setup::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_writers_on_postgres_and_nats_are_projected_once() {
    concurrent_writers_are_projected_exactly_once(Setup::Cluster).await;
}
