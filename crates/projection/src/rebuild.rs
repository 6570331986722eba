//! Rebuilding a read model from zero while the service keeps answering.
//!
//! The store is replayed into the next generation of the model's tables (`rm_tasks_g4` while queries read
//! `rm_tasks_g3`), through one [`Session`] of the model, so that rows touched by many batches stay in memory and
//! are written once; the store is read a batch ahead of the batch being applied, by a task of its own, with
//! payloads as their stored text, so that a model decodes only the events it uses, once, straight from the text. Then, in one transaction holding the model's lock — the one the live projector takes for every
//! batch — the tail that arrived meanwhile is applied and the active generation switches. Queries resolve the
//! active generation per request, so they move to the new tables at once; the generation before the previous one
//! is dropped (the previous one stays, so that a query in flight never loses its tables).

use std::sync::Arc;
use std::time::Instant;

use event_store::{EventStore, StoredText};
use sqlx::{Any, Row, Transaction};
use tokio::sync::mpsc;

use crate::db::{DbError, ReadDb};
use crate::models::{ApplyError, ReadModel, Session};
use crate::runtime::ProjectionError;

/// What a rebuild did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RebuildReport {
    pub model: String,
    pub generation: i64,
    pub n_events: u64,
    pub n_parked: u64,
    pub checkpoint: u64,
    pub seconds: f64,
}

/// Rebuilds one read model into a new generation and switches to it.
pub async fn rebuild(
    db: &ReadDb,
    store: &dyn EventStore,
    model: Arc<dyn ReadModel>,
    batch_size: usize,
) -> Result<RebuildReport, ProjectionError> {
    let started = Instant::now();
    let (active, _) = db.ensure_model(model.name(), &model.create_tables(1)).await?;
    let next = active + 1;
    for statement in drop_statements(model.as_ref(), next) {
        sqlx::query(&statement).execute(db.pool()).await?;
    }
    // Secondary indexes are built once the bulk of the rows is in: one sort per index instead of an index update
    // per row. The primary keys stay (a session may update the rows it wrote).
    let (create_tables, create_indexes): (Vec<String>, Vec<String>) =
        model.create_tables(next).into_iter().partition(|statement| !is_create_index(statement));
    for statement in create_tables {
        sqlx::query(&statement).execute(db.pool()).await?;
    }
    tracing::info!(model = model.name(), generation = next, "rebuild started");

    // Off the lock: this task reads the store a batch ahead while a task of its own applies the batch before,
    // each batch in a transaction of its own, through one session of the model (which may hold rows in memory
    // until the end: nothing reads this generation yet).
    // On PostgreSQL the session writes the rows new to the generation with `COPY` on a connection of its own,
    // each committed when the batch is written; nothing reads the generation until the switch below, which comes
    // after the last of them.
    let session = match db.bulk_writer().await? {
        Some(bulk) => model.rebuild_session(next, bulk),
        None => model.session(next),
    };
    let (batches, received) = mpsc::channel::<Vec<StoredText>>(1);
    let applier = tokio::spawn(apply_batches(db.clone(), model.name(), session, received));
    let mut position = 0;
    let read = async {
        loop {
            let events = store.read_all_stored(position, batch_size).await?;
            let Some(last) = events.last().map(|event| event.global_position) else { break };
            position = last;
            if batches.send(events).await.is_err() {
                // The applier stopped; its error is the one to report.
                break;
            }
        }
        Ok::<(), ProjectionError>(())
    }
    .await;
    drop(batches);
    if let Err(error) = read {
        applier.abort();
        return Err(error);
    }
    let (mut session, mut counts) =
        applier.await.map_err(|error| DbError::Unavailable(format!("the rebuild's applier stopped: {error}")))??;
    // The rows held in memory go in before the indexes are built and before the lock is taken, so that the lock
    // covers only the tail.
    let mut transaction = db.begin_write().await?;
    session.flush(&mut transaction).await.map_err(apply_error)?;
    transaction.commit().await?;
    for statement in create_indexes {
        sqlx::query(&statement).execute(db.pool()).await?;
    }

    let mut transaction = db.begin_write().await?;
    let row = sqlx::query(&format!("SELECT active_generation FROM rm_projections WHERE model = $1{}", db.for_update()))
        .bind(model.name())
        .fetch_one(&mut *transaction)
        .await?;
    let active_now: i64 = row.try_get(0)?;
    if active_now != active {
        transaction.rollback().await?;
        return Err(DbError::Unavailable(format!(
            "another rebuild of {} switched to generation {active_now} meanwhile",
            model.name()
        ))
        .into());
    }
    loop {
        let events = store.read_all_stored(position, batch_size).await?;
        let Some(last) = events.last().map(|event| event.global_position) else { break };
        apply_parking(&mut transaction, session.as_mut(), model.name(), events, &mut counts).await?;
        position = last;
    }
    session.flush(&mut transaction).await.map_err(apply_error)?;
    sqlx::query("UPDATE rm_projections SET active_generation = $1, checkpoint = $2 WHERE model = $3")
        .bind(next)
        .bind(position as i64)
        .bind(model.name())
        .execute(&mut *transaction)
        .await?;
    transaction.commit().await?;
    for statement in drop_statements(model.as_ref(), active - 1) {
        sqlx::query(&statement).execute(db.pool()).await?;
    }
    let report = RebuildReport {
        model: model.name().to_owned(),
        generation: next,
        n_events: counts.n_events,
        n_parked: counts.n_parked,
        checkpoint: position,
        seconds: started.elapsed().as_secs_f64(),
    };
    tracing::info!(
        model = model.name(),
        generation = next,
        n_events = report.n_events,
        seconds = report.seconds,
        "rebuild switched"
    );
    Ok(report)
}

/// Every row of a generation's tables as text, table by table in a stable order: to compare generations.
pub async fn snapshot(
    db: &ReadDb,
    model: &dyn ReadModel,
    generation: i64,
) -> Result<Vec<(String, Vec<String>)>, DbError> {
    let mut tables = Vec::new();
    for table in model.tables(generation) {
        let rows = sqlx::query(&format!("SELECT * FROM {table} ORDER BY 1, 2")).fetch_all(db.pool()).await?;
        let mut lines: Vec<String> = rows.iter().map(row_text).collect();
        lines.sort();
        let unsuffixed = table.rsplit_once("_g").map_or(table.clone(), |(name, _)| name.to_owned());
        tables.push((unsuffixed, lines));
    }
    Ok(tables)
}

#[derive(Debug, Default)]
struct Counts {
    n_events: u64,
    n_parked: u64,
}

/// Applies batches as they come, each in a transaction of its own; answers the session (with whatever it still
/// holds) and what was applied.
async fn apply_batches(
    db: ReadDb,
    model: &'static str,
    mut session: Box<dyn Session>,
    mut batches: mpsc::Receiver<Vec<StoredText>>,
) -> Result<(Box<dyn Session>, Counts), ProjectionError> {
    let mut counts = Counts::default();
    while let Some(events) = batches.recv().await {
        let mut transaction = db.begin_write().await?;
        apply_parking(&mut transaction, session.as_mut(), model, events, &mut counts).await?;
        transaction.commit().await?;
    }
    Ok((session, counts))
}

/// Applies a batch; a poisoned event is parked and the rest applied around it, all in `transaction`.
async fn apply_parking(
    transaction: &mut Transaction<'static, Any>,
    session: &mut dyn Session,
    model: &str,
    events: Vec<StoredText>,
    counts: &mut Counts,
) -> Result<(), ProjectionError> {
    let mut remaining = events;
    while !remaining.is_empty() {
        // A poison is found before anything is written (models decode and fold in memory first), except for
        // models that write per event; a savepoint keeps a partial batch out either way, and a session is left
        // as it was by a failed batch.
        sqlx::query("SAVEPOINT rebuild_batch").execute(&mut **transaction).await?;
        match session.apply_stored(transaction, &remaining).await {
            Ok(()) => {
                sqlx::query("RELEASE SAVEPOINT rebuild_batch").execute(&mut **transaction).await?;
                counts.n_events += remaining.len() as u64;
                return Ok(());
            }
            Err(ApplyError::Poison { position, reason }) => {
                sqlx::query("ROLLBACK TO SAVEPOINT rebuild_batch").execute(&mut **transaction).await?;
                sqlx::query("RELEASE SAVEPOINT rebuild_batch").execute(&mut **transaction).await?;
                let before: Vec<StoredText> =
                    remaining.iter().filter(|event| event.global_position < position).cloned().collect();
                if !before.is_empty() {
                    Box::pin(apply_parking(transaction, session, model, before, counts)).await?;
                }
                let poisoned = remaining.iter().find(|event| event.global_position == position);
                sqlx::query(
                    "INSERT INTO rm_parked (model, global_position, event_id, event_type, error, parked_at)
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (model, global_position) DO NOTHING",
                )
                .bind(model.to_owned())
                .bind(position as i64)
                .bind(poisoned.map(|event| event.event_id.to_string()).unwrap_or_default())
                .bind(poisoned.map(|event| event.event_type.clone()).unwrap_or_default())
                .bind(reason)
                .bind(event_store::canonical::format_recorded_at(time::OffsetDateTime::now_utc()))
                .execute(&mut **transaction)
                .await?;
                counts.n_parked += 1;
                remaining.retain(|event| event.global_position > position);
            }
            Err(ApplyError::Db(error)) => return Err(error.into()),
        }
    }
    Ok(())
}

/// A session's flush fails only on the database (there is nothing left to decode).
fn apply_error(error: ApplyError) -> ProjectionError {
    match error {
        ApplyError::Db(error) => error.into(),
        ApplyError::Poison { position, reason } => {
            DbError::Unavailable(format!("flushing found position {position} unusable: {reason}")).into()
        }
    }
}

fn is_create_index(statement: &str) -> bool {
    statement.trim_start().to_ascii_uppercase().starts_with("CREATE INDEX")
}

fn drop_statements(model: &dyn ReadModel, generation: i64) -> Vec<String> {
    if generation < 1 {
        return Vec::new();
    }
    model.tables(generation).into_iter().map(|table| format!("DROP TABLE IF EXISTS {table}")).collect()
}

fn row_text(row: &sqlx::any::AnyRow) -> String {
    let cells: Vec<String> = (0..row.len())
        .map(|index| {
            if let Ok(value) = row.try_get::<Option<i64>, _>(index) {
                value.map_or("NULL".to_owned(), |value| value.to_string())
            } else if let Ok(value) = row.try_get::<Option<String>, _>(index) {
                value.unwrap_or_else(|| "NULL".to_owned())
            } else if let Ok(value) = row.try_get::<Option<f64>, _>(index) {
                value.map_or("NULL".to_owned(), |value| value.to_string())
            } else {
                "?".to_owned()
            }
        })
        .collect();
    cells.join("\u{1f}")
}
