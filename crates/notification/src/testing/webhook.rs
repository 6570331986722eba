//! [`WebhookReceiver`]: an HTTP server on 127.0.0.1 that takes Standard Webhooks deliveries, for the webhook
//! channel's tests and benchmarks.
//!
//! Every POST, on any path, is checked with [`crate::channels::webhook::verify_signature`] against the receiver's
//! secret: a good one is recorded and answered 200, a bad one is counted and answered 401. A test can make the
//! next requests fail with a status of its choosing (they are not recorded, as a real endpoint that failed would
//! not have kept them) or make every answer wait. A benchmark takes this server's request rate as the raw limit,
//! so the path of a request is kept short: one lock, no allocation beyond the recorded body.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::post;
use axum::Router;
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};

use super::{wait_for_count, WaitTimedOut};
use crate::channels::payload::ReminderEvent;
use crate::channels::webhook::{
    verify_signature, SignatureHeaders, WebhookSecret, DEFAULT_TIMESTAMP_TOLERANCE, REDELIVERY_HEADER,
    WEBHOOK_ID_HEADER, WEBHOOK_SIGNATURE_HEADER, WEBHOOK_TIMESTAMP_HEADER,
};

/// A running webhook server. Stops when dropped.
pub struct WebhookReceiver {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    server_task: tokio::task::JoinHandle<()>,
}

/// One delivery the server accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedWebhook {
    /// The request's path: `/hooks/portal`.
    pub path: String,
    pub webhook_id: String,
    /// Unix seconds.
    pub webhook_timestamp: i64,
    /// The request said the sender may have sent it before (`taskledger-redelivery: true`).
    pub redelivery: bool,
    pub body: Bytes,
}

struct Shared {
    secret: WebhookSecret,
    state: Mutex<ReceiverState>,
    n_received: watch::Sender<usize>,
}

#[derive(Default)]
struct ReceiverState {
    deliveries: Vec<ReceivedWebhook>,
    webhook_ids: HashSet<String>,
    n_duplicates: usize,
    n_rejected: usize,
    n_requests: usize,
    /// The status to answer the next `n_failures_left` requests with.
    failure_status: Option<StatusCode>,
    n_failures_left: usize,
    delay: Duration,
}

impl ReceivedWebhook {
    /// The body read as the published JSON.
    pub fn event(&self) -> Result<ReminderEvent, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

impl WebhookReceiver {
    /// Listens on 127.0.0.1 on a port the system chooses, verifying signatures with `secret` and the Standard
    /// Webhooks tolerance of 5 minutes.
    pub async fn start(secret: WebhookSecret) -> std::io::Result<WebhookReceiver> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let local_addr = listener.local_addr()?;
        let shared =
            Arc::new(Shared { secret, state: Mutex::new(ReceiverState::default()), n_received: watch::Sender::new(0) });
        let router =
            Router::new().route("/", post(receive)).route("/{*path}", post(receive)).with_state(Arc::clone(&shared));
        let (stop, stopped) = oneshot::channel::<()>();
        let server_task = tokio::spawn(async move {
            let serving = axum::serve(listener, router).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(error) = serving.await {
                tracing::debug!(%error, "test webhook server stopped");
            }
        });
        Ok(WebhookReceiver { local_addr, shared, stop: Some(stop), server_task })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://127.0.0.1:<port><path>`; `path` starts with `/`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.local_addr)
    }

    /// Answers the next `n_requests` requests with `status` before looking at them.
    pub fn fail_next(&self, n_requests: usize, status: StatusCode) {
        let mut state = self.shared.lock();
        state.failure_status = Some(status);
        state.n_failures_left = n_requests;
    }

    /// Makes every answer wait `delay` first (zero: answer at once).
    pub fn set_delay(&self, delay: Duration) {
        self.shared.lock().delay = delay;
    }

    /// Every delivery accepted so far, in order of acceptance.
    pub fn deliveries(&self) -> Vec<ReceivedWebhook> {
        self.shared.lock().deliveries.clone()
    }

    /// Deliveries accepted with a `webhook-id` seen before.
    pub fn n_duplicates(&self) -> usize {
        self.shared.lock().n_duplicates
    }

    /// Requests refused for their signature or timestamp.
    pub fn n_rejected(&self) -> usize {
        self.shared.lock().n_rejected
    }

    /// Requests received, whatever their answer.
    pub fn n_requests(&self) -> usize {
        self.shared.lock().n_requests
    }

    /// Waits until `expected` deliveries have been accepted in all, then returns them all.
    pub async fn wait_for_deliveries(
        &self,
        expected: usize,
        timeout: Duration,
    ) -> Result<Vec<ReceivedWebhook>, WaitTimedOut> {
        wait_for_count(&self.shared.n_received, expected, timeout).await?;
        Ok(self.deliveries())
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.server_task.abort();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, ReceiverState> {
        // A test thread that panicked while holding the lock leaves the state as it was; keep serving it.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

async fn receive(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let (delay, failure) = {
        let mut state = shared.lock();
        state.n_requests += 1;
        let failure = match state.failure_status {
            Some(status) if state.n_failures_left > 0 => {
                state.n_failures_left -= 1;
                Some(status)
            }
            _ => None,
        };
        (state.delay, failure)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if let Some(status) = failure {
        return status;
    }

    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok()).unwrap_or_default();
    let signature_headers = SignatureHeaders {
        webhook_id: header(WEBHOOK_ID_HEADER),
        webhook_timestamp: header(WEBHOOK_TIMESTAMP_HEADER),
        webhook_signature: header(WEBHOOK_SIGNATURE_HEADER),
    };
    let verified = verify_signature(
        &shared.secret,
        signature_headers,
        &body,
        OffsetDateTime::now_utc(),
        DEFAULT_TIMESTAMP_TOLERANCE,
    );
    if let Err(error) = verified {
        tracing::debug!(%error, webhook_id = signature_headers.webhook_id, "test webhook server refused a signature");
        shared.lock().n_rejected += 1;
        return StatusCode::UNAUTHORIZED;
    }

    let delivery = ReceivedWebhook {
        path: uri.path().to_owned(),
        webhook_id: signature_headers.webhook_id.to_owned(),
        webhook_timestamp: signature_headers.webhook_timestamp.trim().parse().unwrap_or_default(),
        redelivery: header(REDELIVERY_HEADER) == "true",
        body,
    };
    {
        let mut state = shared.lock();
        if !state.webhook_ids.insert(delivery.webhook_id.clone()) {
            state.n_duplicates += 1;
        }
        state.deliveries.push(delivery);
    }
    shared.n_received.send_modify(|n_received| *n_received += 1);
    StatusCode::OK
}
