//! The command service: the HTTP API through which plans and tasks change, and (until the projection service
//! serves read models) the reads that fold streams directly.
//!
//! `router` builds the whole axum application from an [`AppState`]; the `taskledger` binary serves it and tests
//! call it directly. Errors become problem+json in `error`; the actor comes only from the verified token
//! (`extract::Authenticated`); every write goes through `ledger` into the event store.

pub mod appendix;
pub mod audit;
pub mod axes;
pub mod commands;
pub mod demo;
pub mod diff;
pub mod dto;
pub mod history;
pub mod history_cache;
pub mod ledger;
pub mod openapi;
pub mod oversight;
pub mod plan_cache;
pub mod queries;
pub mod report_requests;

use std::sync::Arc;
use std::time::Duration;

use auth::TokenKey;
use axum::routing::{get, post};
use axum::Router;
use event_store::EventStore;
use http_api::ops::{ops_router, ReadinessCheck};
pub use http_api::{Clock, SystemClock};
use time::{Date, OffsetDateTime};
use utoipa::OpenApi;

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

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub ledger: Ledger,
    /// Plans as the command path checks them (frozen or not).
    pub plans: plan_cache::PlanCache,
    /// Task histories as last read and rendered.
    pub histories: history_cache::HistoryCache,
    pub token_key: Arc<TokenKey>,
    pub clock: Arc<dyn Clock>,
    pub config: ServiceConfig,
}

impl http_api::ApiState for AppState {
    fn token_key(&self) -> &TokenKey {
        &self.token_key
    }

    fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    fn body_limit_bytes(&self) -> usize {
        self.config.body_limit_bytes
    }
}

impl AppState {
    pub fn new(store: Arc<dyn EventStore>, token_key: TokenKey, config: ServiceConfig) -> AppState {
        AppState {
            ledger: Ledger::new(store),
            plans: plan_cache::PlanCache::default(),
            histories: history_cache::HistoryCache::default(),
            token_key: Arc::new(token_key),
            clock: Arc::new(SystemClock),
            config,
        }
    }

    /// Wakes the relay after every append.
    pub fn with_relay(mut self, relay: bus::relay::RelayHandle) -> AppState {
        self.ledger = self.ledger.with_relay(relay);
        self
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

/// The whole HTTP application of the command service run alone: its API and the operational endpoints.
pub fn router(state: AppState) -> Router {
    let checks: Vec<Arc<dyn ReadinessCheck>> = vec![Arc::new(StoreReadiness(state.ledger.store().clone()))];
    let ops = ops_router(openapi::ApiDoc::openapi(), checks, state.config.readiness_timeout);
    let body_limit = state.config.body_limit_bytes;
    http_api::ops::finish(api_routes(state).merge(ops), body_limit)
}

/// The command service's `/v1` routes, to merge with other services' in one process.
pub fn api_routes(state: AppState) -> Router {
    Router::new()
        .route("/v1/plans", post(commands::create_plan))
        .route("/v1/plans/{plan_id}", get(queries::get_plan))
        .route("/v1/plans/{plan_id}/tasks", post(commands::assign_task))
        .route("/v1/tasks/{task_id}", get(queries::get_task))
        .route("/v1/plans/{plan_id}/history", get(history::get_plan_history))
        .route("/v1/plans/{plan_id}/appendix/diff", get(appendix::appendix_diff))
        .route("/v1/plans/{plan_id}/freeze", post(oversight::freeze))
        .route("/v1/plans/{plan_id}/unfreeze", post(oversight::unfreeze))
        .route("/v1/plans/{plan_id}/issued-reports", post(oversight::issue_report).get(oversight::list_issued_reports))
        .route(
            "/v1/plans/{plan_id}/report-requests",
            post(report_requests::request_reports).get(report_requests::list_report_requests),
        )
        .route(
            "/v1/plans/{plan_id}/report-requests/{request_id}/withdrawal",
            post(report_requests::withdraw_report_request),
        )
        .route(
            "/v1/plans/{plan_id}/issued-reports/{issued_report_id}/verification",
            get(oversight::verify_issued_report),
        )
        .route("/v1/tasks/{task_id}/history", get(history::get_task_history))
        .route("/v1/tasks/{task_id}/diff", get(diff::task_diff))
        .route("/v1/audit/events", get(audit::search))
        .route("/v1/tasks/{task_id}/reports", post(commands::file_report))
        .route("/v1/tasks/{task_id}/reports/{report_id}/corrections", post(commands::correct_report))
        .route("/v1/tasks/{task_id}/deadline-extensions", post(commands::request_extension))
        .route("/v1/tasks/{task_id}/deadline-extensions/{extension_id}/approval", post(commands::approve_extension))
        .route("/v1/tasks/{task_id}/deadline-extensions/{extension_id}/rejection", post(commands::reject_extension))
        .route("/v1/tasks/{task_id}/completion", post(commands::report_completion))
        .route("/v1/tasks/{task_id}/completion/confirmation", post(commands::confirm_completion))
        .route("/v1/tasks/{task_id}/completion/rejection", post(commands::reject_completion))
        .route("/v1/tasks/{task_id}/suspension", post(commands::suspend))
        .route("/v1/tasks/{task_id}/cancellation", post(commands::cancel))
        .route("/v1/tasks/{task_id}/transfer", post(commands::transfer))
        .route("/v1/tasks/{task_id}/reopening", post(commands::reopen))
        .with_state(state)
}

/// `/readyz` asks the event store for a round trip.
pub struct StoreReadiness(pub Arc<dyn EventStore>);

#[async_trait::async_trait]
impl ReadinessCheck for StoreReadiness {
    fn name(&self) -> &'static str {
        "event_store"
    }

    async fn check(&self) -> Result<String, String> {
        self.0.ping().await.map(|()| "ok".to_owned()).map_err(|error| error.to_string())
    }
}
