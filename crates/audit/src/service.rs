//! Starting the audit endpoints in a process: the log key, the tree, the checkpointer task and the router.

use std::path::Path;
use std::sync::Arc;

use auth::TokenKey;
use axum::Router;
use event_store::EventStore;
use http_api::SystemClock;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::checkpointer::CheckpointPolicy;
use crate::key::{resolve_log_key, LogKeyError, CHECKPOINT_KEY_ENV, DEFAULT_ORIGIN};
use crate::log::{AuditError, AuditLog};
use crate::routes::{router, AuditState};

/// The log's name and when it signs checkpoints on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditConfig {
    /// The checkpoints' origin line and the log key's name.
    pub origin: String,
    pub policy: CheckpointPolicy,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig { origin: DEFAULT_ORIGIN.to_owned(), policy: CheckpointPolicy::default() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("could not load the checkpoint key: {0}")]
    Key(#[from] LogKeyError),
    #[error("could not build the Merkle tree of the log: {0}")]
    Log(#[from] AuditError),
}

/// Loads (or creates) the log key, builds the tree, spawns the checkpointer and answers the audit routes.
pub async fn start(
    store: Arc<dyn EventStore>,
    data_dir: &Path,
    config: &AuditConfig,
    token_key: TokenKey,
    body_limit_bytes: usize,
    cancel: CancellationToken,
    tasks: &mut JoinSet<()>,
) -> Result<Router, StartError> {
    let env_key = std::env::var(CHECKPOINT_KEY_ENV).ok();
    let key = resolve_log_key(env_key.as_deref(), data_dir, &config.origin)?;
    let log = Arc::new(AuditLog::open(store, key).await?);
    tasks.spawn(crate::checkpointer::run(log.clone(), config.policy, Arc::new(SystemClock), cancel));
    let state = AuditState { log, token_key: Arc::new(token_key), clock: Arc::new(SystemClock), body_limit_bytes };
    Ok(router(state))
}
