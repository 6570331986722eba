//! The demo data: the seed report's plan (Sở KH&CN Bắc Giang, 2024) and its reports as of 15/4/2024, loaded
//! through the public HTTP API in-process, so that it passes every rule a client's commands pass.
//!
//! The fixture (`fixtures/demo-2024.json`) also holds the appendix rows the seed shows; tests compare the
//! product's appendix with them.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use domain::actor::{Actor, Role};
use domain::unit_code::UnitCode;
use serde::Deserialize;
use serde_json::Value;
use tower::ServiceExt;
use uuid::Uuid;

use crate::dto::CommandAccepted;
use crate::AppState;

/// The fixture, as shipped.
pub const FIXTURE_JSON: &str = include_str!("../fixtures/demo-2024.json");

#[derive(Debug, Deserialize)]
pub struct Fixture {
    pub plan: Value,
    pub planner: FixtureActor,
    pub reporter: FixtureActor,
    pub tasks: Vec<FixtureTask>,
    pub appendix: FixtureAppendix,
}

#[derive(Debug, Deserialize)]
pub struct FixtureActor {
    pub id: String,
    pub name: String,
    pub unit: String,
    pub role: String,
}

#[derive(Debug, Deserialize)]
pub struct FixtureTask {
    pub key: String,
    pub parent: Option<String>,
    pub body: Value,
    #[serde(default)]
    pub reports: Vec<Value>,
}

#[derive(Debug, Deserialize)]
pub struct FixtureAppendix {
    pub as_of: String,
    pub rows: Vec<Value>,
}

/// What loading the demo produced.
#[derive(Debug)]
pub struct DemoPlan {
    pub plan_id: Uuid,
    /// Task ids by fixture key ("I.2.1").
    pub task_ids: HashMap<String, Uuid>,
    /// False when the plan was already there (a restart with `--demo`).
    pub created: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("demo fixture is invalid: {0}")]
    Fixture(String),
    #[error("demo command {what} was refused with {status}: {body}")]
    Refused { what: String, status: StatusCode, body: String },
}

pub fn fixture() -> Result<Fixture, DemoError> {
    serde_json::from_str(FIXTURE_JSON).map_err(|error| DemoError::Fixture(error.to_string()))
}

/// Loads the demo plan unless a plan with the same agency, year and title exists.
pub async fn load(state: &AppState) -> Result<DemoPlan, DemoError> {
    let fixture = fixture()?;
    let planner = token(state, &fixture.planner)?;
    let reporter = token(state, &fixture.reporter)?;
    let app = crate::router(state.clone());

    let wanted_title = fixture.plan["title"].as_str().unwrap_or_default();
    if let Some(plan_id) = existing_plan(state, wanted_title).await? {
        return Ok(DemoPlan { plan_id, task_ids: HashMap::new(), created: false });
    }

    let plan_id = accepted_id(&call(&app, Method::POST, "/v1/plans", &planner, Some(&fixture.plan)).await?)?;
    let mut task_ids: HashMap<String, Uuid> = HashMap::new();
    for task in &fixture.tasks {
        let mut body = task.body.clone();
        if let Some(parent) = &task.parent {
            let parent_id = task_ids
                .get(parent)
                .ok_or_else(|| DemoError::Fixture(format!("task {} names parent {parent} before it", task.key)))?;
            body["parent_id"] = Value::String(parent_id.to_string());
        }
        let uri = format!("/v1/plans/{plan_id}/tasks");
        let task_id = accepted_id(&call(&app, Method::POST, &uri, &planner, Some(&body)).await?)?;
        task_ids.insert(task.key.clone(), task_id);
        for report in &task.reports {
            call(&app, Method::POST, &format!("/v1/tasks/{task_id}/reports"), &reporter, Some(report)).await?;
        }
    }
    tracing::info!(%plan_id, n_tasks = task_ids.len(), "demo plan loaded");
    Ok(DemoPlan { plan_id, task_ids, created: true })
}

/// The plan created with this title, if any: the demo is loaded once per store.
async fn existing_plan(state: &AppState, title: &str) -> Result<Option<Uuid>, DemoError> {
    let store = state.ledger.store();
    let mut after = 0;
    loop {
        let page = store
            .read_by_type(&["PlanCreated"], after, 500)
            .await
            .map_err(|error| DemoError::Fixture(format!("cannot read the store: {error}")))?;
        let Some(last) = page.last() else { return Ok(None) };
        after = last.global_position;
        if let Some(found) = page.iter().find(|event| event.payload["title"] == title) {
            let plan_id = found.payload["plan_id"].as_str().and_then(|id| Uuid::parse_str(id).ok());
            return Ok(plan_id);
        }
    }
}

fn token(state: &AppState, actor: &FixtureActor) -> Result<String, DemoError> {
    let actor = Actor {
        id: actor.id.clone(),
        name: actor.name.clone(),
        unit: UnitCode::parse(&actor.unit).map_err(|error| DemoError::Fixture(error.to_string()))?,
        role: Role::parse(&actor.role).ok_or_else(|| DemoError::Fixture(format!("unknown role {}", actor.role)))?,
    };
    auth::mint(&state.token_key, &actor, state.clock.now(), time::Duration::hours(1))
        .map_err(|error| DemoError::Fixture(error.to_string()))
}

async fn call(
    app: &axum::Router,
    method: Method,
    uri: &str,
    token: &str,
    body: Option<&Value>,
) -> Result<Value, DemoError> {
    let what = format!("{method} {uri}");
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header("idempotency-key", Uuid::now_v7().to_string());
    let body = match body {
        Some(value) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(serde_json::to_vec(value).map_err(|error| DemoError::Fixture(error.to_string()))?)
        }
        None => Body::empty(),
    };
    let request = request.body(body).map_err(|error| DemoError::Fixture(error.to_string()))?;
    let response = app.clone().oneshot(request).await.unwrap_or_else(|never| match never {});
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap_or_default();
    if !status.is_success() {
        return Err(DemoError::Refused { what, status, body: String::from_utf8_lossy(&bytes).into_owned() });
    }
    serde_json::from_slice(&bytes).map_err(|error| DemoError::Fixture(format!("{what} answered non-JSON: {error}")))
}

fn accepted_id(value: &Value) -> Result<Uuid, DemoError> {
    let accepted: CommandAccepted =
        serde_json::from_value(value.clone()).map_err(|error| DemoError::Fixture(error.to_string()))?;
    Uuid::parse_str(&accepted.id).map_err(|error| DemoError::Fixture(error.to_string()))
}
