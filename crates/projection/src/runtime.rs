//! The projection runtime: applies committed events to each read model exactly once.
//!
//! Each read model has a checkpoint (the last global position applied) in `rm_projections`, updated in the same
//! transaction as the model's rows, under a lock on that row (PostgreSQL `FOR UPDATE`; SQLite's write
//! transaction), so that several replicas never apply an event twice. Deliveries at or below the checkpoint are
//! duplicates and skipped; a delivery beyond `checkpoint + 1` reveals a gap, filled from the store, which is the
//! authority. An event a model cannot apply is parked with its error (`rm_parked`), counted and logged, and the
//! model moves on; it never crash-loops. Deliveries are acknowledged only after their transaction committed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bus::{BusError, Delivery, EventBus};
use event_store::{EventStore, RecordedEvent, StoreError};
use sqlx::Row;
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::db::{DbError, ReadDb};
use crate::models::{ApplyError, ReadModel};

#[derive(Debug, Clone)]
pub struct ProjectorConfig {
    /// Most events applied in one transaction.
    pub batch_size: usize,
    /// How long deliveries are gathered into one batch after the first one arrived: a longer wait makes fewer,
    /// larger transactions; it adds to the lag of the first event of each batch.
    pub batch_window: Duration,
    /// How often an idle projector checks the store for events the bus did not bring.
    pub idle_poll: Duration,
    /// Wait before retrying after the database or the store failed.
    pub retry_delay: Duration,
}

impl Default for ProjectorConfig {
    fn default() -> Self {
        ProjectorConfig {
            batch_size: 2_000,
            batch_window: Duration::from_millis(5),
            idle_poll: Duration::from_secs(1),
            retry_delay: Duration::from_millis(500),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("cannot read the event store: {0}")]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ProjectionError {
    fn from(error: sqlx::Error) -> Self {
        ProjectionError::Db(DbError::Sql(error))
    }
}

/// One read model's projector.
pub struct Projector {
    model: Arc<dyn ReadModel>,
    db: ReadDb,
    store: Arc<dyn EventStore>,
    config: ProjectorConfig,
    checkpoint: watch::Sender<u64>,
}

/// An event parked because its read model could not apply it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Parked {
    pub model: String,
    pub global_position: u64,
    pub event_id: String,
    pub event_type: String,
    pub error: String,
    pub parked_at: String,
}

impl Projector {
    /// Prepares the model's tables and reads its checkpoint.
    pub async fn new(
        model: Arc<dyn ReadModel>,
        db: ReadDb,
        store: Arc<dyn EventStore>,
        config: ProjectorConfig,
    ) -> Result<Projector, ProjectionError> {
        let (_, checkpoint) = db.ensure_model(model.name(), &model.create_tables(1)).await?;
        let (sender, _) = watch::channel(checkpoint as u64);
        Ok(Projector { model, db, store, config, checkpoint: sender })
    }

    pub fn name(&self) -> &'static str {
        self.model.name()
    }

    pub fn model(&self) -> &Arc<dyn ReadModel> {
        &self.model
    }

    /// The event store this projector follows.
    pub fn store(&self) -> &Arc<dyn EventStore> {
        &self.store
    }

    /// The checkpoint as this process last saw it; changes after every commit here.
    pub fn watch_checkpoint(&self) -> watch::Receiver<u64> {
        self.checkpoint.subscribe()
    }

    /// The checkpoint as stored (another replica may have moved it).
    pub async fn stored_checkpoint(&self) -> Result<u64, ProjectionError> {
        let (_, checkpoint) = self.db.active(self.name()).await?.unwrap_or((1, 0));
        self.checkpoint.send_if_modified(|seen| {
            let changed = *seen < checkpoint as u64;
            *seen = (*seen).max(checkpoint as u64);
            changed
        });
        Ok(checkpoint as u64)
    }

    /// Applies everything the store has after the checkpoint; answers how many events were applied.
    pub async fn catch_up(&self) -> Result<u64, ProjectionError> {
        let mut n_applied = 0;
        loop {
            let checkpoint = self.stored_checkpoint().await?;
            let events = self.store.read_all(checkpoint, self.config.batch_size).await?;
            if events.is_empty() {
                self.record_lag(checkpoint).await;
                return Ok(n_applied);
            }
            n_applied += events.len() as u64;
            self.apply(events).await?;
        }
    }

    /// Applies delivered events: duplicates skipped, gaps filled from the store.
    pub async fn apply(&self, mut events: Vec<RecordedEvent>) -> Result<(), ProjectionError> {
        events.sort_by_key(|event| event.global_position);
        events.dedup_by_key(|event| event.global_position);
        while !events.is_empty() {
            let started = Instant::now();
            let mut transaction = self.db.begin_apply().await?;
            let row = sqlx::query(&format!(
                "SELECT active_generation, checkpoint FROM rm_projections WHERE model = $1{}",
                self.db.for_update()
            ))
            .bind(self.name())
            .fetch_one(&mut *transaction)
            .await?;
            let generation: i64 = row.try_get(0)?;
            let checkpoint = row.try_get::<i64, _>(1)? as u64;
            events.retain(|event| event.global_position > checkpoint);
            let Some(last_delivered) = events.last().map(|event| event.global_position) else {
                transaction.rollback().await?;
                break;
            };
            let contiguous =
                events.iter().enumerate().all(|(index, event)| event.global_position == checkpoint + 1 + index as u64);
            let batch: Vec<RecordedEvent> = if contiguous {
                let n = events.len().min(self.config.batch_size);
                events.drain(..n).collect()
            } else {
                // A gap: the store has what the bus did not bring.
                metrics::counter!("taskledger_projection_gaps_filled_total", "model" => self.name()).increment(1);
                let limit = ((last_delivered - checkpoint) as usize).min(self.config.batch_size);
                let fetched = self.store.read_all(checkpoint, limit).await?;
                let fetched_up_to = fetched.last().map_or(checkpoint, |event| event.global_position);
                events.retain(|event| event.global_position > fetched_up_to);
                fetched
            };
            let Some(last) = batch.last().map(|event| event.global_position) else {
                transaction.rollback().await?;
                break;
            };
            match self.model.apply(&mut transaction, generation, &batch).await {
                Ok(()) => {
                    self.set_checkpoint(&mut transaction, last).await?;
                    transaction.commit().await?;
                    self.applied(&batch, started);
                }
                Err(ApplyError::Poison { position, reason }) => {
                    transaction.rollback().await?;
                    self.apply_around_poison(batch, position, &reason).await?;
                }
                Err(ApplyError::Db(error)) => return Err(error.into()),
            }
        }
        Ok(())
    }

    /// Applies the events before the poisoned one, parks it, and moves the checkpoint past it, in one transaction.
    async fn apply_around_poison(
        &self,
        batch: Vec<RecordedEvent>,
        position: u64,
        reason: &str,
    ) -> Result<(), ProjectionError> {
        let started = Instant::now();
        let mut transaction = self.db.begin_apply().await?;
        let row = sqlx::query(&format!(
            "SELECT active_generation, checkpoint FROM rm_projections WHERE model = $1{}",
            self.db.for_update()
        ))
        .bind(self.name())
        .fetch_one(&mut *transaction)
        .await?;
        let generation: i64 = row.try_get(0)?;
        let checkpoint = row.try_get::<i64, _>(1)? as u64;
        // The lock was released when the failed attempt rolled back: another replica may have applied part or all
        // of this batch since. Only what lies beyond the checkpoint is still to apply (or to park).
        let batch: Vec<RecordedEvent> = batch.into_iter().filter(|event| event.global_position > checkpoint).collect();
        if position <= checkpoint {
            transaction.rollback().await?;
            if !batch.is_empty() {
                Box::pin(self.apply(batch)).await?;
            }
            return Ok(());
        }
        let before: Vec<RecordedEvent> =
            batch.iter().filter(|event| event.global_position < position).cloned().collect();
        if !before.is_empty() {
            match self.model.apply(&mut transaction, generation, &before).await {
                Ok(()) => {}
                Err(ApplyError::Poison { position: earlier, reason: earlier_reason }) => {
                    transaction.rollback().await?;
                    return Box::pin(self.apply_around_poison(batch, earlier, &earlier_reason)).await;
                }
                Err(ApplyError::Db(error)) => return Err(error.into()),
            }
        }
        let poisoned = batch.iter().find(|event| event.global_position == position);
        sqlx::query(
            "INSERT INTO rm_parked (model, global_position, event_id, event_type, error, parked_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (model, global_position) DO NOTHING",
        )
        .bind(self.name())
        .bind(position as i64)
        .bind(poisoned.map(|event| event.event_id.to_string()).unwrap_or_default())
        .bind(poisoned.map(|event| event.event_type.clone()).unwrap_or_default())
        .bind(reason.to_owned())
        .bind(event_store::canonical::format_recorded_at(OffsetDateTime::now_utc()))
        .execute(&mut *transaction)
        .await?;
        self.set_checkpoint(&mut transaction, position).await?;
        transaction.commit().await?;
        metrics::counter!("taskledger_projection_parked_total", "model" => self.name()).increment(1);
        tracing::error!(model = self.name(), position, error = reason, "event parked: the read model cannot apply it");
        self.applied(&before, started);
        self.checkpoint.send_if_modified(|seen| {
            let changed = *seen < position;
            *seen = (*seen).max(position);
            changed
        });
        let after: Vec<RecordedEvent> = batch.into_iter().filter(|event| event.global_position > position).collect();
        if !after.is_empty() {
            Box::pin(self.apply(after)).await?;
        }
        Ok(())
    }

    async fn set_checkpoint(
        &self,
        transaction: &mut sqlx::Transaction<'static, sqlx::Any>,
        position: u64,
    ) -> Result<(), ProjectionError> {
        sqlx::query("UPDATE rm_projections SET checkpoint = $1 WHERE model = $2")
            .bind(position as i64)
            .bind(self.name())
            .execute(&mut **transaction)
            .await?;
        Ok(())
    }

    fn applied(&self, batch: &[RecordedEvent], started: Instant) {
        let Some(last) = batch.last() else { return };
        let model = self.name();
        metrics::counter!("taskledger_projection_applied_total", "model" => model).increment(batch.len() as u64);
        metrics::histogram!("taskledger_projection_batch_duration_seconds", "model" => model)
            .record(started.elapsed().as_secs_f64());
        metrics::gauge!("taskledger_projection_checkpoint", "model" => model).set(last.global_position as f64);
        let lag = (OffsetDateTime::now_utc() - last.recorded_at).as_seconds_f64().max(0.0);
        metrics::histogram!("taskledger_projection_lag_seconds", "model" => model).record(lag);
        self.checkpoint.send_if_modified(|seen| {
            let changed = *seen < last.global_position;
            *seen = (*seen).max(last.global_position);
            changed
        });
        tracing::debug!(model, n_events = batch.len(), position = last.global_position, "events applied");
    }

    async fn record_lag(&self, checkpoint: u64) {
        if let Ok(head) = self.store.head().await {
            metrics::gauge!("taskledger_projection_lag_events", "model" => self.name())
                .set(head.position.saturating_sub(checkpoint) as f64);
        }
    }

    /// Events parked by this model.
    pub async fn parked(&self) -> Result<Vec<Parked>, ProjectionError> {
        let rows = sqlx::query(
            "SELECT model, global_position, event_id, event_type, error, parked_at FROM rm_parked
             WHERE model = $1 ORDER BY global_position",
        )
        .bind(self.name())
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Parked {
                    model: row.try_get(0)?,
                    global_position: row.try_get::<i64, _>(1)? as u64,
                    event_id: row.try_get(2)?,
                    event_type: row.try_get(3)?,
                    error: row.try_get(4)?,
                    parked_at: row.try_get(5)?,
                })
            })
            .collect()
    }

    /// Follows the bus until cancelled: subscribes, catches up from the store, then applies deliveries in batches,
    /// catching up again whenever the bus lagged or was quiet for `idle_poll`.
    pub async fn run(self: Arc<Self>, bus: Arc<dyn EventBus>, cancel: CancellationToken) {
        let consumer = format!("projection-{}", self.name());
        'subscribe: while !cancel.is_cancelled() {
            // Subscribe first, then catch up: an event committed in between arrives on the subscription and is
            // skipped as a duplicate, instead of waiting for the next idle poll.
            let mut subscription = match bus.subscribe(&consumer).await {
                Ok(subscription) => subscription,
                Err(error) => {
                    tracing::warn!(model = self.name(), %error, "cannot subscribe to the bus; retrying");
                    if sleep_or_cancel(self.config.retry_delay, &cancel).await {
                        return;
                    }
                    continue;
                }
            };
            if let Err(error) = self.catch_up().await {
                tracing::warn!(model = self.name(), %error, "catch-up failed; retrying");
                if sleep_or_cancel(self.config.retry_delay, &cancel).await {
                    return;
                }
                continue;
            }
            loop {
                let first = tokio::select! {
                    () = cancel.cancelled() => return,
                    next = tokio::time::timeout(self.config.idle_poll, subscription.next()) => next,
                };
                let mut deliveries: Vec<Delivery> = Vec::new();
                match first {
                    Err(_idle) => {
                        if let Err(error) = self.catch_up().await {
                            tracing::warn!(model = self.name(), %error, "idle catch-up failed");
                        }
                        continue;
                    }
                    Ok(Err(BusError::Lagged(n_missed))) => {
                        tracing::info!(model = self.name(), n_missed, "bus lagged; catching up from the store");
                        continue 'subscribe;
                    }
                    Ok(Err(error)) => {
                        tracing::warn!(model = self.name(), %error, "bus failed; resubscribing");
                        if sleep_or_cancel(self.config.retry_delay, &cancel).await {
                            return;
                        }
                        continue 'subscribe;
                    }
                    Ok(Ok(delivery)) => deliveries.push(delivery),
                }
                // More deliveries join the batch while they follow each other closely, within the window.
                let window_ends = tokio::time::Instant::now() + self.config.batch_window;
                while deliveries.len() < self.config.batch_size {
                    let wait = window_ends
                        .saturating_duration_since(tokio::time::Instant::now())
                        .min(Duration::from_millis(1));
                    match tokio::time::timeout(wait, subscription.next()).await {
                        Ok(Ok(delivery)) => deliveries.push(delivery),
                        _ => break,
                    }
                }
                let events: Vec<RecordedEvent> = deliveries.iter().map(|delivery| delivery.event.clone()).collect();
                match self.apply(events).await {
                    Ok(()) => {
                        for delivery in deliveries {
                            if let Err(error) = delivery.ack().await {
                                tracing::warn!(model = self.name(), %error, "ack failed; the event will be redelivered and skipped");
                            }
                        }
                    }
                    Err(error) => {
                        tracing::warn!(model = self.name(), %error, "apply failed; retrying from the checkpoint");
                        if sleep_or_cancel(self.config.retry_delay, &cancel).await {
                            return;
                        }
                        continue 'subscribe;
                    }
                }
            }
        }
    }
}

async fn sleep_or_cancel(duration: Duration, cancel: &CancellationToken) -> bool {
    tokio::select! {
        () = tokio::time::sleep(duration) => false,
        () = cancel.cancelled() => true,
    }
}
