//! The demo plan loads through the API, once, on both backends (its appendix is checked by the projection tests).

use axum::http::{Method, StatusCode};

use crate::support::{postgres_app, sqlite_app, TestApp};

async fn demo_loads_once(app: TestApp) {
    let demo = command_service::demo::load(&app.state).await.expect("demo loads");
    assert!(demo.created);
    assert_eq!(demo.task_ids.len(), 10);
    let plan = app.request(Method::GET, &format!("/v1/plans/{}", demo.plan_id), Some(&app.reporter()), None).await;
    assert_eq!(plan.status, StatusCode::OK, "{:?}", plan.body);
    assert_eq!(plan.body["nodes"].as_array().unwrap().len(), 10);
    let task =
        app.request(Method::GET, &format!("/v1/tasks/{}", demo.task_ids["I.1"]), Some(&app.reporter()), None).await;
    assert_eq!(task.body["task"]["reports"][0]["filed"]["actor_name"], "Trần Thị Bích");

    // Loading again finds the plan and adds nothing.
    let head = app.head_position().await;
    let again = command_service::demo::load(&app.state).await.unwrap();
    assert!(!again.created);
    assert_eq!(again.plan_id, demo.plan_id);
    assert_eq!(app.head_position().await, head);
    app.teardown().await;
}

#[tokio::test]
async fn demo_loads_once_on_sqlite() {
    demo_loads_once(sqlite_app().await).await;
}

#[tokio::test]
async fn demo_loads_once_on_postgres() {
    demo_loads_once(postgres_app().await).await;
}
