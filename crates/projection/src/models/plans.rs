//! The plan catalogue: one row per plan with its agency, year, title, sections and number of nodes.

use async_trait::async_trait;
use domain::deadline::VIETNAM_OFFSET;
use domain::plan::PlanEvent;
use event_store::{RecordedEvent, StoredText};
use sqlx::{Any, Transaction};
use time::format_description::well_known::Rfc3339;

use super::{aggregate_of, decode, json_text, ApplyError, ReadModel, Session, StoredPayload};
use crate::db::table;

pub const NAME: &str = "plans";

#[derive(Debug, Default)]
pub struct PlansModel;

#[async_trait]
impl ReadModel for PlansModel {
    fn name(&self) -> &'static str {
        NAME
    }

    fn create_tables(&self, generation: i64) -> Vec<String> {
        vec![format!(
            "CREATE TABLE IF NOT EXISTS {} (
                plan_id TEXT PRIMARY KEY,
                agency TEXT NOT NULL,
                year BIGINT NOT NULL,
                title TEXT NOT NULL,
                basis TEXT NOT NULL,
                sections TEXT NOT NULL,
                n_nodes BIGINT NOT NULL,
                created_at TEXT NOT NULL,
                created_by TEXT NOT NULL,
                position BIGINT NOT NULL
            )",
            table(NAME, generation)
        )]
    }

    fn tables(&self, generation: i64) -> Vec<String> {
        vec![table(NAME, generation)]
    }

    fn session(&self, generation: i64) -> Box<dyn Session> {
        Box::new(PlansSession { plans: table(NAME, generation) })
    }
}

/// The plans model writes as it applies: a plan's row is small and batches touch few of them.
struct PlansSession {
    plans: String,
}

#[async_trait]
impl Session for PlansSession {
    async fn apply(
        &mut self,
        transaction: &mut Transaction<'static, Any>,
        events: &[RecordedEvent],
    ) -> Result<(), ApplyError> {
        self.apply_events(transaction, events).await
    }

    async fn apply_stored(
        &mut self,
        transaction: &mut Transaction<'static, Any>,
        events: &[StoredText],
    ) -> Result<(), ApplyError> {
        self.apply_events(transaction, events).await
    }

    async fn flush(&mut self, _transaction: &mut Transaction<'static, Any>) -> Result<(), ApplyError> {
        Ok(())
    }
}

impl PlansSession {
    /// Plan events only: the others are skipped by their stream's name, before anything is decoded.
    async fn apply_events<P: StoredPayload>(
        &mut self,
        transaction: &mut Transaction<'static, Any>,
        events: &[RecordedEvent<P>],
    ) -> Result<(), ApplyError> {
        let plans = &self.plans;
        // Registrations are counted per plan and written with one UPDATE each, in event order with the creations:
        // those registered so far are written before a plan is created.
        let mut registered: Vec<Registrations> = Vec::new();
        for event in events.iter().filter(|event| aggregate_of(event) == "plan") {
            let position = event.global_position as i64;
            match decode::<PlanEvent, _>(event)? {
                PlanEvent::PlanCreated(created) => {
                    write_registrations(transaction, plans, std::mem::take(&mut registered)).await?;
                    sqlx::query(&format!(
                        "INSERT INTO {plans} (plan_id, agency, year, title, basis, sections, n_nodes, created_at, created_by, position)
                         VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9) ON CONFLICT (plan_id) DO NOTHING"
                    ))
                    .bind(created.plan_id.to_string())
                    .bind(created.agency.to_string())
                    .bind(i64::from(created.year))
                    .bind(created.title.as_str().to_owned())
                    .bind(json_text(&created.basis))
                    .bind(json_text(&created.sections))
                    .bind(event.recorded_at.to_offset(VIETNAM_OFFSET).format(&Rfc3339).unwrap_or_default())
                    .bind(event.actor.name.clone())
                    .bind(position)
                    .execute(&mut **transaction)
                    .await?;
                }
                // Freezes, issued reports and report requests are read from the plan stream by the command and
                // notification services.
                PlanEvent::PlanFrozen(_)
                | PlanEvent::PlanUnfrozen(_)
                | PlanEvent::ReportIssued(_)
                | PlanEvent::ReportRequested(_)
                | PlanEvent::ReportRequestWithdrawn(_) => {}
                PlanEvent::TaskRegistered(_) => {
                    let plan_id = event.stream_id.0.trim_start_matches("plan-");
                    match registered.iter_mut().find(|registrations| registrations.plan_id == plan_id) {
                        Some(registrations) => {
                            registrations.n_nodes += 1;
                            registrations.position = position;
                        }
                        None => registered.push(Registrations { plan_id: plan_id.to_owned(), n_nodes: 1, position }),
                    }
                }
            }
        }
        write_registrations(transaction, plans, registered).await
    }
}

/// Nodes registered in a plan since the last write, and the position of the last registration.
struct Registrations {
    plan_id: String,
    n_nodes: i64,
    position: i64,
}

async fn write_registrations(
    transaction: &mut Transaction<'static, Any>,
    plans: &str,
    registered: Vec<Registrations>,
) -> Result<(), ApplyError> {
    for registrations in registered {
        sqlx::query(&format!("UPDATE {plans} SET n_nodes = n_nodes + $1, position = $2 WHERE plan_id = $3"))
            .bind(registrations.n_nodes)
            .bind(registrations.position)
            .bind(registrations.plan_id)
            .execute(&mut **transaction)
            .await?;
    }
    Ok(())
}
