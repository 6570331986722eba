//! Metrics and request tracing: one Prometheus recorder per process, a middleware that times every request by
//! method, matched route and status, and the `/metrics` endpoint.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use event_store::group_commit::BATCH_REQUESTS_METRIC;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing::Instrument;

/// Latency buckets in seconds, fine below 25 ms where the targets are.
const LATENCY_BUCKETS: &[f64] = &[0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// Buckets of [`BATCH_REQUESTS_METRIC`], the requests sharing one append transaction.
const BATCH_SIZE_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// A handle on the process's Prometheus recorder.
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
}

impl Metrics {
    /// Installs the process-wide recorder once; later calls share it.
    pub fn install() -> Metrics {
        static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
        let handle = HANDLE
            .get_or_init(|| {
                let recorder = PrometheusBuilder::new()
                    .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), LATENCY_BUCKETS)
                    .expect("latency buckets are not empty")
                    .set_buckets_for_metric(Matcher::Full(BATCH_REQUESTS_METRIC.to_owned()), BATCH_SIZE_BUCKETS)
                    .expect("batch size buckets are not empty")
                    .build_recorder();
                let handle = recorder.handle();
                // Another recorder may already be installed (a test process); this one then still renders.
                let _ = metrics::set_global_recorder(recorder);
                handle
            })
            .clone();
        Metrics { handle }
    }

    pub fn render(&self) -> String {
        self.handle.render()
    }
}

/// Times and counts every request, inside a span carrying method, route and (once known) the actor.
pub async fn track_requests(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let span = tracing::info_span!("request", %method, route = %route, actor_id = tracing::field::Empty, status = tracing::field::Empty);
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    span.record("status", status);
    let elapsed = started.elapsed();
    let labels = [("method", method.to_string()), ("route", route.clone()), ("status", status.to_string())];
    metrics::counter!("taskledger_http_requests_total", &labels).increment(1);
    metrics::histogram!("taskledger_http_request_duration_seconds", &labels).record(elapsed.as_secs_f64());
    tracing::debug!(parent: &span, %method, route = %route, status, elapsed_ms = elapsed.as_secs_f64() * 1000.0, "request handled");
    response
}

/// `GET /metrics`: the process's metrics in the Prometheus text format.
pub async fn metrics_endpoint() -> Response {
    let body = Metrics::install().render();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response()
}
