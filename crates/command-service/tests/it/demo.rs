//! The demo plan reproduces the seed report's appendix as of 15/4/2024, row for row, on both backends.

use axum::http::{Method, StatusCode};
use serde_json::Value;

use crate::support::{postgres_app, sqlite_app, TestApp};

async fn demo_reproduces_the_seed_appendix(app: TestApp) {
    let demo = command_service::demo::load(&app.state).await.expect("demo loads");
    assert!(demo.created);
    let fixture = command_service::demo::fixture().unwrap();
    let uri = format!("/v1/plans/{}/appendix?as_of={}", demo.plan_id, fixture.appendix.as_of);
    let answer = app.request(Method::GET, &uri, Some(&app.reporter()), None).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    let rows = answer.body["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), fixture.appendix.rows.len());
    for (row, expected) in rows.iter().zip(&fixture.appendix.rows) {
        for column in ["tt", "kind", "content", "target_text", "deadline_text", "result_text"] {
            assert_eq!(row[column], expected[column], "row {} column {column}", expected["tt"]);
        }
    }
    assert_eq!(answer.body["as_of_text"], "15/04/2024");
    let first_task = &rows[1];
    assert_eq!(first_task["progress"], "in_progress");
    assert_eq!(first_task["timeliness"]["code"], "on_time");

    // Loading again finds the plan and adds nothing.
    let head = app.head_position().await;
    let again = command_service::demo::load(&app.state).await.unwrap();
    assert!(!again.created);
    assert_eq!(again.plan_id, demo.plan_id);
    assert_eq!(app.head_position().await, head);
    app.teardown().await;
}

#[tokio::test]
async fn demo_appendix_on_sqlite() {
    demo_reproduces_the_seed_appendix(sqlite_app().await).await;
}

#[tokio::test]
async fn demo_appendix_on_postgres() {
    demo_reproduces_the_seed_appendix(postgres_app().await).await;
}

#[tokio::test]
async fn before_the_cut_off_no_result_is_shown() {
    let app = sqlite_app().await;
    let demo = command_service::demo::load(&app.state).await.unwrap();
    let uri = format!("/v1/plans/{}/appendix?as_of=2024-04-14", demo.plan_id);
    let answer = app.request(Method::GET, &uri, Some(&app.reporter()), None).await;
    assert_eq!(answer.status, StatusCode::OK);
    let results: Vec<&Value> = answer.body["rows"].as_array().unwrap().iter().map(|row| &row["result_text"]).collect();
    assert!(results.iter().all(|text| text.as_str() == Some("")), "{results:?}");
}
