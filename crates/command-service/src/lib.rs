//! The command service: the HTTP API through which plans and tasks change, and (until the projection service
//! serves read models) the reads that fold streams directly.
//!
//! `router` builds the whole axum application from an [`AppState`]; the `taskledger` binary serves it and tests
//! call it directly. Errors become problem+json in `error`; the actor comes only from the verified token
//! (`extract::Authenticated`); every write goes through `ledger` into the event store.

pub mod commands;
pub mod demo;
pub mod dto;
pub mod error;
pub mod extract;
pub mod ledger;
pub mod observability;
pub mod openapi;
pub mod queries;

use std::sync::Arc;
use std::time::Duration;

use auth::TokenKey;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use event_store::EventStore;
use time::{Date, OffsetDateTime};

use crate::ledger::Ledger;

/// Tunables of the service.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Largest accepted request body.
    pub body_limit_bytes: usize,
    /// Warning window of the "due soon" timeliness, in calendar days.
    pub due_soon_days: i64,
    /// How long `/readyz` waits for the store.
    pub readiness_timeout: Duration,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            body_limit_bytes: 64 * 1024,
            due_soon_days: domain::status::DEFAULT_DUE_SOON_DAYS,
            readiness_timeout: Duration::from_secs(2),
        }
    }
}

/// The clock, injected so that tests control time.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> OffsetDateTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub ledger: Ledger,
    pub token_key: Arc<TokenKey>,
    pub clock: Arc<dyn Clock>,
    pub config: ServiceConfig,
    pub metrics: observability::Metrics,
}

impl AppState {
    pub fn new(store: Arc<dyn EventStore>, token_key: TokenKey, config: ServiceConfig) -> AppState {
        AppState {
            ledger: Ledger::new(store),
            token_key: Arc::new(token_key),
            clock: Arc::new(SystemClock),
            config,
            metrics: observability::Metrics::install(),
        }
    }

    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> AppState {
        self.clock = clock;
        self
    }

    /// Today in Vietnam.
    pub fn today(&self) -> Date {
        queries::today_at(self.clock.now())
    }
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.body_limit_bytes;
    let v1 = Router::new()
        .route("/plans", get(queries::list_plans).post(commands::create_plan))
        .route("/plans/{plan_id}", get(queries::get_plan))
        .route("/plans/{plan_id}/tasks", get(queries::list_plan_tasks).post(commands::assign_task))
        .route("/plans/{plan_id}/appendix", get(queries::get_appendix))
        .route("/tasks/{task_id}", get(queries::get_task))
        .route("/tasks/{task_id}/history", get(queries::get_history))
        .route("/tasks/{task_id}/reports", post(commands::file_report))
        .route("/tasks/{task_id}/reports/{report_id}/corrections", post(commands::correct_report))
        .route("/tasks/{task_id}/deadline-extensions", post(commands::request_extension))
        .route("/tasks/{task_id}/deadline-extensions/{extension_id}/approval", post(commands::approve_extension))
        .route("/tasks/{task_id}/deadline-extensions/{extension_id}/rejection", post(commands::reject_extension))
        .route("/tasks/{task_id}/completion", post(commands::report_completion))
        .route("/tasks/{task_id}/completion/confirmation", post(commands::confirm_completion))
        .route("/tasks/{task_id}/completion/rejection", post(commands::reject_completion))
        .route("/tasks/{task_id}/suspension", post(commands::suspend))
        .route("/tasks/{task_id}/cancellation", post(commands::cancel))
        .route("/tasks/{task_id}/transfer", post(commands::transfer))
        .route("/tasks/{task_id}/reopening", post(commands::reopen))
        .fallback(not_found);
    Router::new()
        .nest("/v1", v1)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(observability::metrics_endpoint))
        .route("/openapi.json", get(openapi::openapi_json))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn_with_state(state.clone(), observability::track_requests))
        .with_state(state)
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

async fn readyz(State(state): State<AppState>) -> Response {
    let ping = tokio::time::timeout(state.config.readiness_timeout, state.ledger.store().ping()).await;
    let (status, store) = match ping {
        Ok(Ok(())) => (StatusCode::OK, "ok".to_owned()),
        Ok(Err(error)) => (StatusCode::SERVICE_UNAVAILABLE, error.to_string()),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "timed out".to_owned()),
    };
    let ready = status == StatusCode::OK;
    (status, Json(serde_json::json!({ "ready": ready, "checks": { "event_store": store } }))).into_response()
}

async fn not_found() -> error::ApiError {
    error::ApiError::NotFound("no such route; see /openapi.json".to_owned())
}
