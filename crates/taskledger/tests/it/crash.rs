//! SIGKILL during a burst of commands: every command that got a 201 is in the store after restart, the chain
//! verifies, and nothing is half-written.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use crate::support::{run_cli, Api, Backend, Server};

const N_CLIENTS: usize = 16;

async fn killed_during_a_burst_loses_no_acknowledged_command(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &backend).await;
    let planner = Api::new(&server, server.token("vp.an", "VP-UBND", "planner"));
    let reporter = Api::new(&server, server.token("khcn.binh", "SO-KHCN", "reporter"));
    let task_ids = planner.create_plan_with_tasks(N_CLIENTS).await;

    let acknowledged: Arc<Mutex<HashMap<String, HashSet<String>>>> = Arc::default();
    let mut clients = Vec::new();
    for task_id in task_ids.clone() {
        let reporter = reporter.clone();
        let acknowledged = acknowledged.clone();
        clients.push(tokio::spawn(async move {
            for index in 0.. {
                let body = json!({"as_of": "2024-04-15", "summary": format!("Báo cáo lần {index}: đã khảo sát 25/25 doanh nghiệp")});
                match reporter.post(&format!("/v1/tasks/{task_id}/reports"), &body).await {
                    Ok((201, answer)) => {
                        let report_id = answer["id"].as_str().unwrap().to_owned();
                        acknowledged.lock().unwrap().entry(task_id.clone()).or_default().insert(report_id);
                    }
                    Ok((status, answer)) => panic!("unexpected {status}: {answer}"),
                    Err(_) => return,
                }
            }
        }));
    }
    // Let the burst run, then kill the server in the middle of it.
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let n_acknowledged: usize = acknowledged.lock().unwrap().values().map(HashSet::len).sum();
        if n_acknowledged >= 200 {
            break;
        }
    }
    server.kill_9();
    for client in clients {
        client.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    let n_acknowledged: usize = acknowledged.values().map(HashSet::len).sum();
    assert!(n_acknowledged >= 200);

    let verify_args: Vec<&str> = match &backend {
        Backend::Sqlite => vec!["verify", "--data-dir"],
        Backend::Postgres { url } => vec!["verify", "--database-url", url, "--data-dir"],
    };
    let verified = run_cli(&verify_args, dir.path());
    assert!(verified.status.success(), "verify after SIGKILL: {}", String::from_utf8_lossy(&verified.stdout));

    let server = Server::start(dir.path(), &backend).await;
    let reader = Api::new(&server, server.token("thanhtra.an", "THANH-TRA", "auditor"));
    for task_id in &task_ids {
        let (status, task) = reader.get(&format!("/v1/tasks/{task_id}")).await;
        assert_eq!(status, 200, "{task}");
        let stored: HashSet<String> = task["task"]["reports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|report| report["report_id"].as_str().unwrap().to_owned())
            .collect();
        let expected = acknowledged.get(task_id).cloned().unwrap_or_default();
        let missing: Vec<&String> = expected.difference(&stored).collect();
        assert!(missing.is_empty(), "task {task_id} lost acknowledged reports {missing:?}");
        // At most the one request in flight per client may have committed without its answer arriving.
        assert!(
            stored.len() <= expected.len() + 1,
            "task {task_id}: {} stored, {} acknowledged",
            stored.len(),
            expected.len()
        );
        assert_eq!(task["task"]["version"], 1 + stored.len() as u64, "nothing half-written");
    }
    // The restarted server keeps appending on the same chain.
    let (status, _) = reporter_on(&server)
        .post(
            &format!("/v1/tasks/{}/reports", task_ids[0]),
            &json!({"as_of": "2024-04-16", "summary": "Sau khởi động lại"}),
        )
        .await
        .unwrap();
    assert_eq!(status, 201);
    drop(server);
    let verified = run_cli(&verify_args, dir.path());
    assert!(verified.status.success(), "verify after restart: {}", String::from_utf8_lossy(&verified.stdout));
}

fn reporter_on(server: &Server) -> Api {
    Api::new(server, server.token("khcn.binh", "SO-KHCN", "reporter"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_burst_on_sqlite() {
    killed_during_a_burst_loses_no_acknowledged_command(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_burst_on_postgres() {
    let database = event_store_postgres::testing::TestDatabase::create().await;
    killed_during_a_burst_loses_no_acknowledged_command(Backend::Postgres { url: database.url.clone() }).await;
    database.drop_database().await;
}
