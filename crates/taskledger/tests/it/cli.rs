//! The command line as an operator uses it: tokens, `verify` on an intact and on a tampered store, checkpoints,
//! and an export bundle verified offline.

use serde_json::json;

use crate::support::{run_cli, Api, Backend, Server};

#[tokio::test]
async fn a_token_from_the_cli_is_accepted_and_a_bad_or_system_role_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &Backend::Sqlite).await;
    let api = Api::new(&server, server.token("vp.an", "VP-UBND", "planner"));
    let (status, _) = api.get("/v1/plans").await;
    assert_eq!(status, 200);
    let output = run_cli(
        &["token", "--user", "x", "--name", "X", "--unit", "VP-UBND", "--role", "boss", "--data-dir"],
        dir.path(),
    );
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--role"));
    let output = run_cli(
        &["token", "--user", "x", "--name", "X", "--unit", "HE-THONG", "--role", "system", "--data-dir"],
        dir.path(),
    );
    assert!(!output.status.success(), "no token is minted for the system role");
    assert!(String::from_utf8_lossy(&output.stderr).contains("--role must be one of planner"));
}

#[tokio::test]
async fn verify_names_the_first_tampered_position() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &Backend::Sqlite).await;
    let planner = Api::new(&server, server.token("vp.an", "VP-UBND", "planner"));
    let reporter = Api::new(&server, server.token("khcn.binh", "SO-KHCN", "reporter"));
    let task_ids = planner.create_plan_with_tasks(2).await;
    for task_id in &task_ids {
        let (status, _) = reporter
            .post(
                &format!("/v1/tasks/{task_id}/reports"),
                &json!({"as_of": "2024-04-15", "summary": "Đã khảo sát 25/25"}),
            )
            .await
            .unwrap();
        assert_eq!(status, 201);
    }
    drop(server);

    let output = run_cli(&["verify", "--data-dir"], dir.path());
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("7 events"), "{stdout}");

    // An intruder with write access to the file changes one digit of a report (position 6).
    let database = dir.path().join("taskledger.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", database.display())).await.unwrap();
    sqlx::query("DROP TRIGGER events_are_append_only_update").execute(&pool).await.unwrap();
    let changed =
        sqlx::query("UPDATE events SET payload = replace(payload, '25/25', '26/25') WHERE global_position = 6")
            .execute(&pool)
            .await
            .unwrap();
    assert_eq!(changed.rows_affected(), 1);
    pool.close().await;

    let output = run_cli(&["verify", "--data-dir"], dir.path());
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("position 6"), "{stdout}");
}

#[tokio::test]
async fn a_bundle_is_exported_and_verified_offline_against_the_published_key() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &Backend::Sqlite).await;
    let planner = Api::new(&server, server.token("vp.an", "VP-UBND", "planner"));
    let reporter = Api::new(&server, server.token("khcn.binh", "SO-KHCN", "reporter"));
    let auditor = Api::new(&server, server.token("thanhtra.dung", "TTR-TINH", "auditor"));
    let task_ids = planner.create_plan_with_tasks(2).await;
    for task_id in &task_ids {
        let body = json!({"as_of": "2024-04-15", "summary": "Đã khảo sát 25/25"});
        let (status, _) = reporter.post(&format!("/v1/tasks/{task_id}/reports"), &body).await.unwrap();
        assert_eq!(status, 201);
    }
    let (status, checkpoint) = auditor.post("/v1/audit/checkpoints", &json!({})).await.unwrap();
    assert_eq!((status, checkpoint["tree_size"].as_u64()), (201, Some(7)), "{checkpoint}");
    let (status, key) = auditor.get("/v1/audit/public-key").await;
    assert_eq!(status, 200);
    let key_file = dir.path().join("published.pub");
    std::fs::write(&key_file, key["verifier_key"].as_str().unwrap()).unwrap();
    drop(server);

    let output = run_cli(&["audit", "checkpoint", "--data-dir"], dir.path());
    let note = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{note}");
    assert!(note.starts_with("taskledger.local/log\n7\n"), "{note}");

    let bundle = dir.path().join("bundle");
    let bundle_arg = bundle.to_str().unwrap();
    let key_arg = key_file.to_str().unwrap();
    let output = run_cli(&["export", "--bundle", bundle_arg, "--data-dir"], dir.path());
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let output = run_cli(&["verify", "--bundle", bundle_arg, "--public-key", key_arg, "--data-dir"], dir.path());
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("7 events") && stdout.contains("1 signed checkpoints"), "{stdout}");
    let output = run_cli(&["verify", "--public-key", key_arg, "--data-dir"], dir.path());
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stdout));

    // The copy loses its last two events: the signed checkpoint of 7 events says so.
    let events = std::fs::read_to_string(bundle.join("events.jsonl")).unwrap();
    let kept: String = events.lines().take(5).map(|line| format!("{line}\n")).collect();
    std::fs::write(bundle.join("events.jsonl"), kept).unwrap();
    let output = run_cli(&["verify", "--bundle", bundle_arg, "--public-key", key_arg, "--data-dir"], dir.path());
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("position 6"), "{stdout}");
}
