//! The projection service: replays committed events into the read models people query — the task board, the
//! appendix (Phụ lục) of a plan as of any cut-off date, statistics — and serves them.
//!
//! `runtime` applies events exactly once per read model (the checkpoint is updated in the same transaction as the
//! rows), fetching from the store whatever the bus did not deliver; `models` holds the read models; `queries` and
//! `routes` answer HTTP; `rebuild` replays the store into a fresh generation of tables and switches to it
//! atomically while the old one keeps serving (on PostgreSQL writing the new rows with `COPY`, `bulk`).

pub mod bulk;
pub mod db;
pub mod models;
pub mod openapi;
pub mod queries;
pub mod rebuild;
pub mod render;
pub mod routes;
pub mod runtime;

use std::sync::Arc;

use bus::EventBus;
use event_store::EventStore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::db::ReadDb;
use crate::models::plans::PlansModel;
use crate::models::tasks::TasksModel;
use crate::models::ReadModel;
use crate::runtime::{ProjectionError, Projector, ProjectorConfig};

/// Every read model this service maintains.
pub fn read_models() -> Vec<Arc<dyn ReadModel>> {
    vec![Arc::new(PlansModel), Arc::new(TasksModel)]
}

/// The projectors of every read model, over one read database and one event store.
#[derive(Clone)]
pub struct ProjectionService {
    pub db: ReadDb,
    pub projectors: Arc<Vec<Arc<Projector>>>,
}

impl ProjectionService {
    pub async fn new(db: ReadDb, store: Arc<dyn EventStore>, config: ProjectorConfig) -> Result<Self, ProjectionError> {
        let mut projectors = Vec::new();
        for model in read_models() {
            projectors.push(Arc::new(Projector::new(model, db.clone(), store.clone(), config.clone()).await?));
        }
        Ok(ProjectionService { db, projectors: Arc::new(projectors) })
    }

    /// Applies everything the store holds; answers the number of events applied per model.
    pub async fn catch_up(&self) -> Result<Vec<(String, u64)>, ProjectionError> {
        let mut applied = Vec::new();
        for projector in self.projectors.iter() {
            applied.push((projector.name().to_owned(), projector.catch_up().await?));
        }
        Ok(applied)
    }

    /// Runs every projector on the bus until `cancel` fires.
    pub fn spawn(&self, bus: Arc<dyn EventBus>, cancel: CancellationToken, tasks: &mut JoinSet<()>) {
        for projector in self.projectors.iter() {
            tasks.spawn(projector.clone().run(bus.clone(), cancel.clone()));
        }
    }

    /// Events parked by any model (for `/readyz`).
    pub async fn n_parked(&self) -> Result<usize, ProjectionError> {
        let mut n_parked = 0;
        for projector in self.projectors.iter() {
            n_parked += projector.parked().await?.len();
        }
        Ok(n_parked)
    }
}
