//! Real local servers for the channels' tests and benchmarks (feature `testing`): [`smtp::SmtpReceiver`], a small
//! SMTP server, and [`webhook::WebhookReceiver`], an HTTP server that verifies Standard Webhooks signatures. Both
//! listen on 127.0.0.1 with a port the system chooses, record what they receive, count duplicates by the
//! delivery's idempotency handle (`Message-ID`, `webhook-id`), and can be told to fail the next requests, so that
//! tests see the channels' classification of real answers. A receiver stops when it is dropped.
//!
//! The channels they receive from are in [`crate::channels`]; the NATS channel is tested against the real NATS
//! server instead.

use std::time::Duration;

use tokio::sync::watch;

pub mod smtp;
pub mod webhook;

/// What a receiver had when a wait for more ran out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected} received within {timeout:?}, got {received}")]
pub struct WaitTimedOut {
    pub expected: usize,
    pub received: usize,
    pub timeout: Duration,
}

/// Waits until `count` reaches `expected`, or `timeout` passes.
async fn wait_for_count(count: &watch::Sender<usize>, expected: usize, timeout: Duration) -> Result<(), WaitTimedOut> {
    let mut receiver = count.subscribe();
    let reached = tokio::time::timeout(timeout, receiver.wait_for(|received| *received >= expected))
        .await
        .is_ok_and(|waited| waited.is_ok());
    if reached {
        Ok(())
    } else {
        Err(WaitTimedOut { expected, received: *count.borrow(), timeout })
    }
}
