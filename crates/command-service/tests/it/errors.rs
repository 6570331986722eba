//! Bad input gets the right status and a problem+json naming the field, and changes nothing.

use axum::http::{header, Method, StatusCode};
use domain::actor::Role;
use serde_json::json;

use crate::support::{report_body, sqlite_app, task_body, Answer};

#[track_caller]
fn assert_problem(answer: &Answer, status: StatusCode, field: Option<&str>) {
    assert_eq!(answer.status, status, "{:?}", answer.body);
    assert_eq!(answer.headers[header::CONTENT_TYPE], "application/problem+json");
    assert_eq!(answer.body["status"], status.as_u16());
    assert!(answer.body["detail"].as_str().is_some_and(|detail| !detail.is_empty()));
    if let Some(field) = field {
        assert_eq!(answer.body["field"], field, "{:?}", answer.body);
    }
}

#[tokio::test]
async fn requests_without_a_valid_token_are_401() {
    let app = sqlite_app().await;
    let answer = app.request(Method::GET, "/v1/tasks/00000000-0000-0000-0000-000000000000", None, None).await;
    assert_problem(&answer, StatusCode::UNAUTHORIZED, None);
    assert_eq!(answer.headers[header::WWW_AUTHENTICATE], "Bearer");
    let answer =
        app.request(Method::GET, "/v1/tasks/00000000-0000-0000-0000-000000000000", Some("not-a-token"), None).await;
    assert_problem(&answer, StatusCode::UNAUTHORIZED, None);
    let other_key = auth::TokenKey::generate();
    let actor = domain::actor::Actor {
        id: "x".into(),
        name: "X".into(),
        unit: domain::unit_code::UnitCode::parse("VP-UBND").unwrap(),
        role: Role::Admin,
    };
    let forged = auth::mint(&other_key, &actor, time::OffsetDateTime::now_utc(), time::Duration::hours(1)).unwrap();
    let answer = app.request(Method::POST, "/v1/plans", Some(&forged), Some(crate::support::plan_body())).await;
    assert_problem(&answer, StatusCode::UNAUTHORIZED, None);
    assert_eq!(app.head_position().await, 0);
}

#[tokio::test]
async fn roles_that_may_not_are_403() {
    let app = sqlite_app().await;
    let auditor = app.token(Role::Auditor, "THANH-TRA");
    let answer = app.request(Method::POST, "/v1/plans", Some(&auditor), Some(crate::support::plan_body())).await;
    assert_problem(&answer, StatusCode::FORBIDDEN, None);
    let plan_id = app.create_plan().await;
    let task_id = app.assign_task(&plan_id).await;
    let head = app.head_position().await;
    let other_unit = app.token(Role::Reporter, "SO-NNPTNT");
    let answer = app
        .request(
            Method::POST,
            &format!("/v1/tasks/{task_id}/reports"),
            Some(&other_unit),
            Some(report_body("2024-04-15", "x")),
        )
        .await;
    assert_problem(&answer, StatusCode::FORBIDDEN, None);
    assert!(answer.body["detail"].as_str().unwrap().contains("SO-NNPTNT"));
    assert_eq!(app.head_position().await, head);
}

#[tokio::test]
async fn malformed_bodies_are_422_naming_the_field() {
    let app = sqlite_app().await;
    let plan_id = app.create_plan().await;
    let head = app.head_position().await;
    let uri = format!("/v1/plans/{plan_id}/tasks");
    let token = app.planner();

    let answer = app.send(Method::POST, &uri, Some(&token), Some(b"{\"section\": ".to_vec()), &[]).await;
    assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, None);
    assert!(answer.body["detail"].as_str().unwrap().contains("malformed JSON"));

    let mut wrong_type = task_body("1");
    wrong_type["lead_unit"] = json!(42);
    let answer = app.request(Method::POST, &uri, Some(&token), Some(wrong_type)).await;
    assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, Some("lead_unit"));

    let mut unknown = task_body("1");
    unknown["owner"] = json!("me");
    let answer = app.request(Method::POST, &uri, Some(&token), Some(unknown)).await;
    assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, None);
    assert!(answer.body["detail"].as_str().unwrap().contains("owner"));

    let mut bad_deadline = task_body("1");
    bad_deadline["deadline"] = json!("2024-13");
    let answer = app.request(Method::POST, &uri, Some(&token), Some(bad_deadline)).await;
    assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, Some("deadline"));

    let mut bad_basis = task_body("1");
    bad_basis["basis"] = json!(["Kế hoạch số 409/KH-UBND ngày 30/8/2021", "25/25 doanh nghiệp"]);
    let answer = app.request(Method::POST, &uri, Some(&token), Some(bad_basis)).await;
    assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, Some("basis[1]"));

    let mut bad_unit = task_body("1");
    bad_unit["coordinating_units"] = json!(["SO TC!"]);
    let answer = app.request(Method::POST, &uri, Some(&token), Some(bad_unit)).await;
    assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, Some("coordinating_units[0]"));

    let mut bad_section = task_body("1");
    bad_section["section"] = json!("IX");
    let answer = app.request(Method::POST, &uri, Some(&token), Some(bad_section)).await;
    assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, Some("section"));

    let answer = app
        .send(
            Method::POST,
            &uri,
            Some(&token),
            Some(task_body("1").to_string().into_bytes()),
            &[("content-type", "text/plain")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    assert_eq!(app.head_position().await, head, "bad input changed the store");
}

#[tokio::test]
async fn oversize_bodies_are_413() {
    let app = sqlite_app().await;
    let plan_id = app.create_plan().await;
    let task_id = app.assign_task(&plan_id).await;
    let head = app.head_position().await;
    let huge = "x".repeat(200 * 1024);
    let answer = app.file_report(&task_id, "2024-04-15", &huge).await;
    assert_problem(&answer, StatusCode::PAYLOAD_TOO_LARGE, None);
    assert_eq!(app.head_position().await, head);
}

#[tokio::test]
async fn reports_on_cancelled_tasks_are_409() {
    let app = sqlite_app().await;
    let plan_id = app.create_plan().await;
    let task_id = app.assign_task(&plan_id).await;
    let answer = app
        .request(
            Method::POST,
            &format!("/v1/tasks/{task_id}/cancellation"),
            Some(&app.planner()),
            Some(json!({"reason": "Điều chỉnh kế hoạch", "basis": ["Quyết định số 576/QĐ-UBND ngày 29/3/2024"]})),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);
    let head = app.head_position().await;
    let answer = app.file_report(&task_id, "2024-04-15", "Đã thực hiện").await;
    assert_problem(&answer, StatusCode::CONFLICT, None);
    assert!(answer.body["detail"].as_str().unwrap().contains("cancelled"));
    assert_eq!(app.head_position().await, head);
}

#[tokio::test]
async fn unknown_ids_are_404_and_bad_ids_are_4xx() {
    let app = sqlite_app().await;
    let unknown = uuid::Uuid::now_v7();
    let answer = app.file_report(&unknown.to_string(), "2024-04-15", "x").await;
    assert_problem(&answer, StatusCode::NOT_FOUND, None);
    let answer = app.request(Method::GET, &format!("/v1/tasks/{unknown}"), Some(&app.reporter()), None).await;
    assert_problem(&answer, StatusCode::NOT_FOUND, None);
    let answer = app.request(Method::GET, "/v1/tasks/not-a-uuid", Some(&app.reporter()), None).await;
    assert!(answer.status.is_client_error());
    let answer = app.request(Method::GET, "/v1/nothing-here", Some(&app.reporter()), None).await;
    assert_problem(&answer, StatusCode::NOT_FOUND, None);
}

#[tokio::test]
async fn invalid_query_parameters_are_422() {
    let app = sqlite_app().await;
    let plan_id = app.create_plan().await;
    let task_id = app.assign_task(&plan_id).await;
    let answer =
        app.request(Method::GET, &format!("/v1/tasks/{task_id}?as_of=15/04/2024"), Some(&app.reporter()), None).await;
    assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, Some("as_of"));
    let answer =
        app.request(Method::GET, &format!("/v1/tasks/{task_id}?known_at=yesterday"), Some(&app.reporter()), None).await;
    assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, Some("known_at"));
    let answer =
        app.request(Method::GET, &format!("/v1/tasks/{task_id}?colour=red"), Some(&app.reporter()), None).await;
    assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, None);
}
