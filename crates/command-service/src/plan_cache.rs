//! Plans as the command path needs them: whether a plan is frozen, for every command on the plan or its tasks.
//!
//! Like the ledger's task cache, each plan's last fold is kept in memory and brought up to date with only the
//! events appended to its stream since (one indexed read that usually returns nothing), so that checking a
//! freeze never folds a plan stream again. The store stays the authority: a freeze recorded by another process is
//! seen by the next command here. A task command does not even read that: it is decided on the last fold and its
//! append expects the plan's stream at that fold's version, so a plan that moved meanwhile refuses the append and
//! the command is decided again on the plan brought up to date.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use domain::ids::PlanId;
use domain::plan::{Plan, PlanEvent};
use event_store::{EventStore, StreamId};

use crate::ledger::decode_event;
use http_api::error::ApiError;

/// How many folded plans are kept; past it the cache starts over.
const MAX_CACHED_PLANS: usize = 10_000;

/// Each plan with the version of its stream it was folded up to.
type Folded = HashMap<PlanId, (Arc<Plan>, u64)>;

#[derive(Clone, Default)]
pub struct PlanCache {
    plans: Arc<Mutex<Folded>>,
}

impl PlanCache {
    /// The plan as it stands now with its stream version, or `None` when it does not exist.
    pub async fn current(
        &self,
        store: &Arc<dyn EventStore>,
        plan_id: PlanId,
    ) -> Result<Option<(Arc<Plan>, u64)>, ApiError> {
        let cached = self.locked().get(&plan_id).cloned();
        let after_version = cached.as_ref().map_or(0, |(_, version)| *version);
        let appended = store.read_stream(&StreamId(plan_id.stream_name()), after_version).await?;
        if appended.is_empty() {
            return Ok(cached);
        }
        let mut plan = cached.map(|(plan, _)| Arc::unwrap_or_clone(plan));
        for stored in &appended {
            let event: PlanEvent = decode_event(stored).map_err(|reason| {
                ApiError::internal(format!("event at position {} cannot be decoded: {reason}", stored.global_position))
            })?;
            plan = Plan::evolve(plan, &event);
        }
        let version = after_version + appended.len() as u64;
        let Some(plan) = plan.map(Arc::new) else {
            return Ok(None);
        };
        let mut plans = self.locked();
        if plans.len() >= MAX_CACHED_PLANS {
            plans.clear();
        }
        let newer = plans.get(&plan_id).is_none_or(|(_, cached_version)| *cached_version < version);
        if newer {
            plans.insert(plan_id, (plan.clone(), version));
        }
        Ok(Some((plan, version)))
    }

    /// The plan as last folded here with its stream version, without reading the store; the plan as it stands
    /// now when it was never folded. For decisions whose append expects the plan's stream at the returned version
    /// (see `ledger::Guard`), so that the store refuses them if the plan moved since.
    pub async fn last_known(
        &self,
        store: &Arc<dyn EventStore>,
        plan_id: PlanId,
    ) -> Result<Option<(Arc<Plan>, u64)>, ApiError> {
        if let Some(cached) = self.locked().get(&plan_id).cloned() {
            return Ok(Some(cached));
        }
        self.current(store, plan_id).await
    }

    fn locked(&self) -> MutexGuard<'_, Folded> {
        self.plans.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
