//! Every command through HTTP: 201 `{id, version, position}`, idempotent retries, expected versions.

use axum::http::{Method, StatusCode};
use command_service::ledger::TaskFold;
use domain::actor::Role;
use domain::ids::TaskId;
use serde_json::json;

use crate::support::{postgres_app, report_body, sqlite_app, task_body, TestApp};

#[tokio::test]
async fn a_command_answers_id_version_and_position() {
    let app = sqlite_app().await;
    let plan_id = app.create_plan().await;
    let task_id = app.assign_task(&plan_id).await;
    let answer = app.file_report(&task_id, "2024-04-15", "Đã khảo sát 25/25 doanh nghiệp").await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);
    assert_eq!(answer.body["version"], 2);
    assert_eq!(answer.body["position"], 4, "plan created, task registered + assigned, report");
    assert!(uuid::Uuid::parse_str(answer.body["id"].as_str().unwrap()).is_ok());
    assert_eq!(answer.headers["etag"], "\"2\"");
}

#[tokio::test]
async fn the_same_idempotency_key_answers_the_first_result() {
    let app = sqlite_app().await;
    let plan_id = app.create_plan().await;
    let task_id = app.assign_task(&plan_id).await;
    let key = uuid::Uuid::now_v7().to_string();
    let uri = format!("/v1/tasks/{task_id}/reports");
    let body = report_body("2024-04-15", "Đã khảo sát").to_string().into_bytes();
    let token = app.reporter();
    let first = app.send(Method::POST, &uri, Some(&token), Some(body.clone()), &[("idempotency-key", &key)]).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let head = app.head_position().await;
    let second = app.send(Method::POST, &uri, Some(&token), Some(body), &[("idempotency-key", &key)]).await;
    assert_eq!(second.status, StatusCode::CREATED);
    assert_eq!(second.body, first.body);
    assert_eq!(second.headers["idempotency-replayed"], "true");
    assert_eq!(app.head_position().await, head, "a replay appends nothing");

    let other_body = report_body("2024-04-15", "Nội dung khác").to_string().into_bytes();
    let third = app.send(Method::POST, &uri, Some(&token), Some(other_body), &[("idempotency-key", &key)]).await;
    assert_eq!(third.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(third.body["field"], "Idempotency-Key");
    assert_eq!(app.head_position().await, head);
}

#[tokio::test]
async fn a_stale_if_match_is_412() {
    let app = sqlite_app().await;
    let plan_id = app.create_plan().await;
    let task_id = app.assign_task(&plan_id).await;
    let uri = format!("/v1/tasks/{task_id}/reports");
    let token = app.reporter();
    let body = report_body("2024-04-15", "Lần 1").to_string().into_bytes();
    let answer = app.send(Method::POST, &uri, Some(&token), Some(body), &[("if-match", "\"1\"")]).await;
    assert_eq!(answer.status, StatusCode::CREATED);
    let head = app.head_position().await;
    let body = report_body("2024-04-15", "Lần 2").to_string().into_bytes();
    let answer = app.send(Method::POST, &uri, Some(&token), Some(body), &[("if-match", "\"1\"")]).await;
    assert_eq!(answer.status, StatusCode::PRECONDITION_FAILED, "{:?}", answer.body);
    assert_eq!(app.head_position().await, head);
}

#[tokio::test]
async fn concurrent_commands_on_one_task_never_both_apply_to_the_same_version() {
    let app = sqlite_app().await;
    let plan_id = app.create_plan().await;
    let task_id = app.assign_task(&plan_id).await;
    let mut handles = Vec::new();
    for index in 0..16 {
        let router = app.router.clone();
        let uri = format!("/v1/tasks/{task_id}/reports");
        let token = app.reporter();
        handles.push(tokio::spawn(async move {
            let body = report_body("2024-04-15", &format!("Báo cáo {index}")).to_string();
            let request = axum::http::Request::post(uri)
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json")
                .body(axum::body::Body::from(body))
                .unwrap();
            tower::ServiceExt::oneshot(router, request).await.unwrap().status()
        }));
    }
    let mut n_created = 0;
    for handle in handles {
        let status = handle.await.unwrap();
        assert!(status == StatusCode::CREATED || status == StatusCode::CONFLICT, "{status}");
        n_created += usize::from(status == StatusCode::CREATED);
    }
    let task = app.request(Method::GET, &format!("/v1/tasks/{task_id}"), Some(&app.reporter()), None).await;
    assert_eq!(task.body["task"]["reports"].as_array().unwrap().len(), n_created);
    assert_eq!(task.body["task"]["version"], 1 + n_created as u64);
}

#[tokio::test]
async fn the_whole_lifecycle_is_reachable() {
    let app = sqlite_app().await;
    let plan_id = app.create_plan().await;
    let task_id = app.assign_task(&plan_id).await;
    let reporter = app.reporter();
    let approver = app.token(Role::Approver, "VP-UBND");
    let planner = app.planner();
    let post = |uri: String, token: String, body: serde_json::Value| {
        let app = &app;
        async move { app.request(Method::POST, &uri, Some(&token), Some(body)).await }
    };

    let report = app.file_report(&task_id, "2024-04-15", "Đã khảo sát 25/25").await;
    let report_id = report.body["id"].as_str().unwrap().to_owned();
    let answer = post(
        format!("/v1/tasks/{task_id}/reports/{report_id}/corrections"),
        reporter.clone(),
        json!({"reason": "Nhầm số liệu", "as_of": "2024-04-15", "summary": "Đã khảo sát 24/25"}),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);
    assert_eq!(answer.body["id"], report_id);

    let answer = post(
        format!("/v1/tasks/{task_id}/deadline-extensions"),
        reporter.clone(),
        json!({"proposed_deadline": "2024-12", "reason": "Chờ kết quả đấu thầu"}),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);
    let extension_id = answer.body["id"].as_str().unwrap().to_owned();
    let answer = post(
        format!("/v1/tasks/{task_id}/deadline-extensions/{extension_id}/approval"),
        approver.clone(),
        json!({"basis": ["Công văn số 1941/UBND-TH ngày 06/3/2024"]}),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);

    let answer = post(
        format!("/v1/tasks/{task_id}/completion"),
        reporter.clone(),
        json!({"as_of": "2024-12-10", "summary": "Đã hỗ trợ 03 doanh nghiệp"}),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);
    let answer = post(format!("/v1/tasks/{task_id}/completion/confirmation"), approver.clone(), json!({})).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);

    // The confirmation takes effect today, so the task is done as of today, on time against December 2024.
    let task = app.request(Method::GET, &format!("/v1/tasks/{task_id}"), Some(&reporter), None).await;
    assert_eq!(task.body["progress"], "done");
    assert_eq!(task.body["timeliness"]["code"], "done_on_time");
    assert_eq!(task.body["task"]["original_deadline"], "2024-11");
    assert_eq!(task.body["task"]["deadline"], "2024-12");

    for (suffix, token) in
        [("reopening", planner.clone()), ("suspension", planner.clone()), ("reopening", planner.clone())]
    {
        let answer = post(format!("/v1/tasks/{task_id}/{suffix}"), token, json!({"reason": "Theo chỉ đạo"})).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{suffix}: {:?}", answer.body);
    }
    let answer = post(
        format!("/v1/tasks/{task_id}/transfer"),
        planner.clone(),
        json!({"to_unit": "SO-TTTT", "reason": "Đúng chức năng"}),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);

    let second =
        app.request(Method::POST, &format!("/v1/plans/{plan_id}/tasks"), Some(&planner), Some(task_body("2"))).await;
    let second_id = second.body["id"].as_str().unwrap().to_owned();
    let answer = post(
        format!("/v1/tasks/{second_id}/completion"),
        reporter.clone(),
        json!({"as_of": "2024-05-01", "summary": "Xong"}),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED);
    let answer =
        post(format!("/v1/tasks/{second_id}/completion/rejection"), approver.clone(), json!({"reason": "Thiếu hồ sơ"}))
            .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);
    let answer = post(
        format!("/v1/tasks/{second_id}/deadline-extensions"),
        reporter.clone(),
        json!({"proposed_deadline": "2025-Q1", "reason": "Thiếu kinh phí"}),
    )
    .await;
    let extension_id = answer.body["id"].as_str().unwrap().to_owned();
    let answer = post(
        format!("/v1/tasks/{second_id}/deadline-extensions/{extension_id}/rejection"),
        approver.clone(),
        json!({"reason": "Không đủ căn cứ"}),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);
    let answer =
        post(format!("/v1/tasks/{second_id}/cancellation"), planner.clone(), json!({"reason": "Điều chỉnh"})).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);

    for task_id in [&task_id, &second_id] {
        let (cached, stored) = app.cached_and_stored_task(task_id).await;
        assert_eq!(cached, stored, "the command path's fold is the store's");
    }
}

#[tokio::test]
async fn a_decision_on_a_stale_cache_is_made_again_on_the_store() {
    let app = sqlite_app().await;
    let other = app.other_process();
    let plan_id = app.create_plan().await;
    let task_id = app.assign_task(&plan_id).await;
    let uri = format!("/v1/tasks/{task_id}/reports");
    assert_eq!(app.file_report(&task_id, "2024-04-15", "Lần 1").await.status, StatusCode::CREATED);
    let answer = other.file_report(&task_id, "2024-04-16", "Lần 2").await;
    assert_eq!(answer.body["version"], 3, "{:?}", answer.body);

    let answer = app.file_report(&task_id, "2024-04-17", "Lần 3").await;
    assert_eq!(answer.status, StatusCode::CREATED, "the other process's report is read, not a conflict");
    assert_eq!(answer.body["version"], 4);
    let body = report_body("2024-04-18", "Lần 4").to_string().into_bytes();
    let answer = other.send(Method::POST, &uri, Some(&other.reporter()), Some(body), &[("if-match", "\"4\"")]).await;
    assert_eq!(answer.status, StatusCode::CREATED, "If-Match is checked against the store: {:?}", answer.body);
    assert_eq!(answer.body["version"], 5);

    let cancellation = format!("/v1/tasks/{task_id}/cancellation");
    let answer =
        other.request(Method::POST, &cancellation, Some(&other.planner()), Some(json!({"reason": "Dừng"}))).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);
    let head = app.head_position().await;
    let answer = app.file_report(&task_id, "2024-04-19", "Lần 5").await;
    assert_eq!(answer.status, StatusCode::CONFLICT, "the cancellation is seen: {:?}", answer.body);
    assert_eq!(app.head_position().await, head);

    for process in [&app, &other] {
        let (cached, stored) = process.cached_and_stored_task(&task_id).await;
        assert_eq!(cached, stored);
        assert_eq!(cached.version, 6);
    }
}

#[tokio::test]
async fn a_retry_answers_the_first_result_even_where_its_decision_no_longer_holds() {
    let app = sqlite_app().await;
    let plan_id = app.create_plan().await;
    let task_id = app.assign_task(&plan_id).await;
    let key = uuid::Uuid::now_v7().to_string();
    let uri = format!("/v1/tasks/{task_id}/reports");
    let body = report_body("2024-04-15", "Đã khảo sát").to_string().into_bytes();
    let headers = [("idempotency-key", key.as_str()), ("if-match", "\"1\"")];
    let first = app.send(Method::POST, &uri, Some(&app.reporter()), Some(body.clone()), &headers).await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    let head = app.head_position().await;
    let second = app.send(Method::POST, &uri, Some(&app.reporter()), Some(body), &headers).await;
    assert_eq!(second.status, StatusCode::CREATED, "If-Match \"1\" no longer holds: {:?}", second.body);
    assert_eq!(second.body, first.body);
    assert_eq!(second.headers["idempotency-replayed"], "true");
    assert_eq!(app.head_position().await, head);

    let completion = format!("/v1/tasks/{task_id}/completion");
    let body = json!({"as_of": "2024-05-01", "summary": "Xong"}).to_string().into_bytes();
    let key = uuid::Uuid::now_v7().to_string();
    let headers = [("idempotency-key", key.as_str())];
    let first = app.send(Method::POST, &completion, Some(&app.reporter()), Some(body.clone()), &headers).await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    let second = app.send(Method::POST, &completion, Some(&app.reporter()), Some(body), &headers).await;
    assert_eq!(second.status, StatusCode::CREATED, "completion is already reported: {:?}", second.body);
    assert_eq!(second.body, first.body);
}

#[tokio::test]
async fn an_indicator_is_numbered_under_its_task() {
    let app = sqlite_app().await;
    let plan_id = app.create_plan().await;
    let task_id = app.assign_task(&plan_id).await;
    let mut indicator = task_body("1.1");
    indicator["parent_id"] = json!(task_id);
    indicator["title"] = json!("Tổ chức chuyển giao sản phẩm");
    let uri = format!("/v1/plans/{plan_id}/tasks");
    let answer = app.request(Method::POST, &uri, Some(&app.planner()), Some(indicator.clone())).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);
    let answer = app.request(Method::POST, &uri, Some(&app.planner()), Some(indicator)).await;
    assert_eq!(answer.status, StatusCode::CONFLICT, "a number is taken once");
}

/// A report on a task this process has not kept folded is decided on the task read without its earlier reports
/// (a few events instead of all of them): same answers, same checks, and the fold it leaves is the store's.
async fn a_report_on_a_task_not_kept_folded_is_decided_without_the_earlier_reports(app: TestApp) {
    let plan_id = app.create_plan().await;
    let task_id = app.assign_task(&plan_id).await;
    let kept = |app: &TestApp| app.state.ledger.kept_fold(TaskId(uuid::Uuid::parse_str(&task_id).unwrap()));
    assert_eq!(kept(&app), None, "assigning a task writes it without folding it");
    let first = app.file_report(&task_id, "2024-03-15", "Lần 1").await;
    let first_id = first.body["id"].as_str().unwrap().to_owned();
    assert_eq!(kept(&app), Some(TaskFold::WithoutReports), "the first report reads the task without reports, once");
    for (as_of, summary) in [("2024-03-31", "Lần 2"), ("2024-04-15", "Lần 3")] {
        assert_eq!(app.file_report(&task_id, as_of, summary).await.status, StatusCode::CREATED);
    }
    let (fold, short) = app.state.ledger.kept_task(TaskId(uuid::Uuid::parse_str(&task_id).unwrap())).unwrap();
    assert_eq!((fold, short.version), (TaskFold::WithoutReports, 4), "the reports move the short fold's version");
    assert!(short.reports.len() <= 1, "the short fold does not gather the reports filed since: {:?}", short.reports);

    let cold = app.other_process();
    let body = report_body("2024-04-30", "Lần 4").to_string().into_bytes();
    let uri = format!("/v1/tasks/{task_id}/reports");
    let stale =
        cold.send(Method::POST, &uri, Some(&cold.reporter()), Some(body.clone()), &[("if-match", "\"3\"")]).await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED, "the version is the stream's: {:?}", stale.body);
    let other_unit = cold.token(Role::Reporter, "SO-NNPTNT");
    let forbidden = cold.request(Method::POST, &uri, Some(&other_unit), Some(report_body("2024-04-30", "x"))).await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN, "{:?}", forbidden.body);
    let filed = cold.send(Method::POST, &uri, Some(&cold.reporter()), Some(body), &[("if-match", "\"4\"")]).await;
    assert_eq!(filed.status, StatusCode::CREATED, "{:?}", filed.body);
    assert_eq!(filed.body["version"], 5);
    assert_eq!(kept(&cold), Some(TaskFold::WithoutReports), "the short fold is kept for the next report");
    let filed = cold.file_report(&task_id, "2024-05-10", "Lần 4b").await;
    assert_eq!((filed.status, filed.body["version"].as_u64()), (StatusCode::CREATED, Some(6)), "{:?}", filed.body);

    // A correction needs the earlier reports: the whole stream is read.
    let correction = json!({"reason": "Nhầm số liệu", "as_of": "2024-03-15", "summary": "Lần 1, đã sửa"});
    let corrections = format!("/v1/tasks/{task_id}/reports/{first_id}/corrections");
    let corrected = cold.request(Method::POST, &corrections, Some(&cold.reporter()), Some(correction)).await;
    assert_eq!(corrected.status, StatusCode::CREATED, "{:?}", corrected.body);
    assert_eq!(corrected.body["version"], 7);
    assert_eq!(kept(&cold), Some(TaskFold::Whole), "the whole fold replaces the short one");
    let (_, whole) = cold.state.ledger.kept_task(TaskId(uuid::Uuid::parse_str(&task_id).unwrap())).unwrap();
    assert_eq!(whole.reports.len(), 5, "the whole fold has every report");

    let cancellation = format!("/v1/tasks/{task_id}/cancellation");
    let cancelled =
        app.request(Method::POST, &cancellation, Some(&app.planner()), Some(json!({"reason": "Dừng"}))).await;
    assert_eq!(cancelled.status, StatusCode::CREATED, "{:?}", cancelled.body);
    let head = app.head_position().await;
    let refused = app.other_process().file_report(&task_id, "2024-05-15", "Lần 5").await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "a cancelled task takes no report: {:?}", refused.body);
    assert_eq!(app.head_position().await, head);

    let (cached, stored) = cold.cached_and_stored_task(&task_id).await;
    assert_eq!(cached, stored);
    assert_eq!((cached.version, cached.reports.len()), (8, 5));
    app.teardown().await;
}

#[tokio::test]
async fn a_report_on_a_task_not_kept_folded_is_decided_without_the_earlier_reports_on_sqlite() {
    a_report_on_a_task_not_kept_folded_is_decided_without_the_earlier_reports(sqlite_app().await).await;
}

#[tokio::test]
async fn a_report_on_a_task_not_kept_folded_is_decided_without_the_earlier_reports_on_postgres() {
    a_report_on_a_task_not_kept_folded_is_decided_without_the_earlier_reports(postgres_app().await).await;
}
