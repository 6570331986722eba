//! The task that signs checkpoints on its own: when the log has grown by `every_events` since the latest
//! checkpoint, or has grown at all and the latest is older than `every` (or there is none). Several processes on
//! one store may each run it; a size signed by two of them is stored once. A failure is logged when it first
//! happens (and again when it changes), not at every poll.

use std::sync::Arc;
use std::time::Duration;

use http_api::Clock;
use tokio_util::sync::CancellationToken;

use crate::log::AuditLog;

/// When to sign a checkpoint without being asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointPolicy {
    /// Sign once the log has this many events more than the latest checkpoint.
    pub every_events: u64,
    /// Sign once the latest checkpoint is this old and the log has grown since.
    pub every: Duration,
    /// How often the log is looked at.
    pub poll: Duration,
}

impl Default for CheckpointPolicy {
    fn default() -> Self {
        CheckpointPolicy { every_events: 10_000, every: Duration::from_secs(60), poll: Duration::from_secs(1) }
    }
}

/// Runs until `cancel` fires. Failures are logged and retried at the next poll.
pub async fn run(log: Arc<AuditLog>, policy: CheckpointPolicy, clock: Arc<dyn Clock>, cancel: CancellationToken) {
    let mut last_signed = tokio::time::Instant::now();
    let mut last_error: Option<String> = None;
    let mut latest_size = match log.latest_checkpoint().await {
        Ok(latest) => latest.map(|latest| latest.checkpoint.size()),
        Err(error) => {
            tracing::error!(%error, "cannot read the latest checkpoint");
            None
        }
    };
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(policy.poll) => {}
        }
        let size = match log.catch_up().await {
            Ok(size) => size,
            Err(error) => {
                tracing::error!(%error, "the checkpointer cannot read the log");
                continue;
            }
        };
        let signed_size = latest_size.unwrap_or(0);
        let grown_by = size.saturating_sub(signed_size);
        let due = grown_by >= policy.every_events
            || (grown_by > 0 && (latest_size.is_none() || last_signed.elapsed() >= policy.every));
        if !due {
            continue;
        }
        match log.make_checkpoint(clock.now()).await {
            Ok((signed, _)) => {
                tracing::info!(tree_size = signed.checkpoint.size(), "checkpoint signed");
                latest_size = Some(signed.checkpoint.size());
                last_signed = tokio::time::Instant::now();
            }
            Err(error) => {
                let error = error.to_string();
                if last_error.as_ref() != Some(&error) {
                    tracing::error!(%error, "cannot sign a checkpoint; retrying quietly");
                    last_error = Some(error);
                }
                continue;
            }
        }
        last_error = None;
    }
}
