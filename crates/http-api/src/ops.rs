//! The operational endpoints every process serves — `/healthz`, `/readyz`, `/metrics`, `/openapi.json` — and the
//! layers every router gets (request metrics, body limit, a problem+json 404).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use crate::error::ApiError;
use crate::observability;

/// One dependency `/readyz` asks: the event store, the read database, the bus, the projections.
#[async_trait]
pub trait ReadinessCheck: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    /// `Ok(detail)` when ready, `Err(detail)` when not.
    async fn check(&self) -> Result<String, String>;
}

/// `/healthz`, `/readyz` (every check within `timeout`), `/metrics`, `/openapi.json` and a 404 for anything else.
pub fn ops_router(
    openapi: utoipa::openapi::OpenApi,
    checks: Vec<Arc<dyn ReadinessCheck>>,
    timeout: Duration,
) -> Router {
    let openapi = Arc::new(openapi);
    let checks = Arc::new(checks);
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(move || readyz(checks.clone(), timeout)))
        .route("/metrics", get(observability::metrics_endpoint))
        .route("/openapi.json", get(move || async move { Json(openapi.as_ref().clone()) }))
        .fallback(not_found)
}

/// Adds the layers every service's router gets; call once on the complete router.
pub fn finish(router: Router, body_limit_bytes: usize) -> Router {
    observability::Metrics::install();
    router
        .layer(DefaultBodyLimit::max(body_limit_bytes))
        .layer(axum::middleware::from_fn(observability::track_requests))
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

async fn readyz(checks: Arc<Vec<Arc<dyn ReadinessCheck>>>, timeout: Duration) -> Response {
    let mut ready = true;
    let mut details = serde_json::Map::new();
    for check in checks.iter() {
        let detail = match tokio::time::timeout(timeout, check.check()).await {
            Ok(Ok(detail)) => detail,
            Ok(Err(detail)) => {
                ready = false;
                detail
            }
            Err(_) => {
                ready = false;
                "timed out".to_owned()
            }
        };
        details.insert(check.name().to_owned(), serde_json::Value::String(detail));
    }
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(serde_json::json!({ "ready": ready, "checks": details }))).into_response()
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such route; see /openapi.json".to_owned())
}
