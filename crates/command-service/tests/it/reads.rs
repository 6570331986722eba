//! Reads: a task as of a date and as known at an instant, its history with provenance, and the service endpoints.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::sqlite_app;

#[tokio::test]
async fn history_names_who_reported_what_and_when() {
    let app = sqlite_app().await;
    let plan_id = app.create_plan().await;
    let task_id = app.assign_task(&plan_id).await;
    app.file_report(&task_id, "2024-04-15", "Đã khảo sát 25/25 doanh nghiệp").await;
    let answer = app.request(Method::GET, &format!("/v1/tasks/{task_id}/history"), Some(&app.reporter()), None).await;
    assert_eq!(answer.status, StatusCode::OK);
    let entries = answer.body.as_array().unwrap();
    assert_eq!(entries.len(), 2);
    let report = &entries[1];
    assert_eq!(report["event_type"], "ProgressReported");
    assert_eq!(report["actor"]["id"], "reporter.so-khcn");
    assert_eq!(report["actor"]["unit"], "SO-KHCN");
    assert_eq!(report["actor"]["role"], "reporter");
    assert_eq!(report["effective_date"], "2024-04-15");
    assert!(report["recorded_at"].as_str().unwrap().ends_with("+07:00"), "{}", report["recorded_at"]);
    assert_eq!(report["prev_hash"], entries[0]["hash"], "positions 3 and 4 are chained");
    assert_eq!(report["hash"].as_str().unwrap().len(), 64);
}

#[tokio::test]
async fn a_history_read_again_shows_what_was_appended_since_by_any_process() {
    let app = sqlite_app().await;
    let other = app.other_process();
    let plan_id = app.create_plan().await;
    let task_id = app.assign_task(&plan_id).await;
    async fn history(app: &crate::support::TestApp, task_id: &str) -> serde_json::Value {
        let uri = format!("/v1/tasks/{task_id}/history");
        app.request(Method::GET, &uri, Some(&app.reporter()), None).await.body
    }
    let first = history(&app, &task_id).await;
    assert_eq!(first.as_array().unwrap().len(), 1);
    assert_eq!(history(&app, &task_id).await, first, "nothing appended: the same answer");

    other.file_report(&task_id, "2024-04-15", "Đã khảo sát 25/25 doanh nghiệp").await;
    let second = history(&app, &task_id).await;
    let types: Vec<&str> =
        second.as_array().unwrap().iter().map(|entry| entry["event_type"].as_str().unwrap()).collect();
    assert_eq!(types, ["TaskAssigned", "ProgressReported"]);
    assert_eq!(second, history(&other, &task_id).await, "the same as a process that never read it before");
    let csv = app
        .send(Method::GET, &format!("/v1/tasks/{task_id}/history?format=csv"), Some(&app.reporter()), None, &[])
        .await;
    let csv = csv.body.as_str().expect("CSV text");
    assert_eq!(csv.lines().count(), 3, "{csv}");
}

#[tokio::test]
async fn known_at_shows_what_the_ledger_knew_then() {
    let app = sqlite_app().await;
    let plan_id = app.create_plan().await;
    let task_id = app.assign_task(&plan_id).await;
    let report = app.file_report(&task_id, "2024-04-15", "Đã khảo sát 25/25").await;
    let report_id = report.body["id"].as_str().unwrap().to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let between = time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let answer = app
        .request(
            Method::POST,
            &format!("/v1/tasks/{task_id}/reports/{report_id}/corrections"),
            Some(&app.reporter()),
            Some(json!({"reason": "Nhầm số liệu", "as_of": "2024-04-15", "summary": "Đã khảo sát 24/25"})),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED);

    let encoded = between.replace('+', "%2B").replace(':', "%3A");
    let then = app
        .request(
            Method::GET,
            &format!("/v1/tasks/{task_id}?as_of=2024-04-15&known_at={encoded}"),
            Some(&app.reporter()),
            None,
        )
        .await;
    assert_eq!(then.status, StatusCode::OK, "{:?}", then.body);
    assert_eq!(then.body["task"]["reports"][0]["current"]["summary"], "Đã khảo sát 25/25");
    let now =
        app.request(Method::GET, &format!("/v1/tasks/{task_id}?as_of=2024-04-15"), Some(&app.reporter()), None).await;
    assert_eq!(now.body["task"]["reports"][0]["current"]["summary"], "Đã khảo sát 24/25");
    assert_eq!(now.body["task"]["reports"][0]["versions"][1]["correction_reason"], "Nhầm số liệu");

    let before = app
        .request(
            Method::GET,
            &format!("/v1/tasks/{task_id}?known_at=2000-01-01T00%3A00%3A00Z"),
            Some(&app.reporter()),
            None,
        )
        .await;
    assert_eq!(before.status, StatusCode::NOT_FOUND);
    assert!(before.body["detail"].as_str().unwrap().contains("did not exist yet"));
}

#[tokio::test]
async fn a_plan_lists_its_registered_nodes() {
    let app = sqlite_app().await;
    let plan_id = app.create_plan().await;
    let task_id = app.assign_task(&plan_id).await;
    let plan = app.request(Method::GET, &format!("/v1/plans/{plan_id}"), Some(&app.reporter()), None).await;
    assert_eq!(plan.status, StatusCode::OK);
    assert_eq!(plan.body["nodes"][0]["task_id"], task_id.as_str());
    assert_eq!(plan.body["sections"][1]["code"], "II");
}

#[tokio::test]
async fn service_endpoints_answer() {
    let app = sqlite_app().await;
    assert_eq!(app.request(Method::GET, "/healthz", None, None).await.status, StatusCode::OK);
    let ready = app.request(Method::GET, "/readyz", None, None).await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.body["checks"]["event_store"], "ok");
    let openapi = app.request(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(openapi.status, StatusCode::OK);
    for path in [
        "/v1/plans",
        "/v1/plans/{plan_id}/tasks",
        "/v1/tasks/{task_id}/reports",
        "/v1/tasks/{task_id}/history",
        "/v1/tasks/{task_id}/diff",
        "/v1/plans/{plan_id}/history",
        "/v1/plans/{plan_id}/appendix/diff",
        "/v1/plans/{plan_id}/freeze",
        "/v1/plans/{plan_id}/unfreeze",
        "/v1/plans/{plan_id}/issued-reports",
        "/v1/plans/{plan_id}/issued-reports/{issued_report_id}/verification",
        "/v1/audit/events",
    ] {
        assert!(openapi.body["paths"].get(path).is_some(), "{path} missing from the OpenAPI document");
    }
    app.request(Method::GET, "/v1/tasks/00000000-0000-0000-0000-000000000000", Some(&app.reporter()), None).await;
    app.create_plan().await;
    let metrics = app.request(Method::GET, "/metrics", None, None).await;
    let text = metrics.body.as_str().unwrap_or_default().to_owned();
    assert!(text.contains("taskledger_http_requests_total"), "{text}");
    assert!(text.contains("taskledger_http_request_duration_seconds_bucket"), "{text}");
    assert!(text.contains("taskledger_append_batch_duration_seconds_bucket"), "{text}");
    assert!(text.contains("taskledger_append_batch_requests_bucket{le=\"1\"}"), "{text}");
}
