//! A read database made by the version before delivery attempts were marked started (commit e74ecdf): its tables,
//! with that version's exact DDL, lack `notify_deliveries.attempt_started` and `digest_id` and `notify_digests`.
//! The service starts on it, migrates it, and delivers a reminder, on SQLite and on PostgreSQL.

use domain::reminder::ReminderEvent;
use notification::store::{NotifyStore, SCHEMA_VERSION};

use crate::support::{at, date, reminder_events, Receivers};
use crate::world::{Backend, World};

/// `notification::store::create_statements()` as of commit e74ecdf.
const SCHEMA_OF_E74ECDF: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS notify_plans (
            plan_id TEXT PRIMARY KEY,
            agency TEXT NOT NULL,
            year BIGINT NOT NULL,
            title TEXT NOT NULL
        )",
    "CREATE TABLE IF NOT EXISTS notify_tasks (
            task_id TEXT PRIMARY KEY,
            plan_id TEXT NOT NULL,
            parent_id TEXT NULL,
            number TEXT NOT NULL,
            title TEXT NOT NULL,
            lead_unit TEXT NOT NULL,
            deadline TEXT NULL,
            lifecycle TEXT NOT NULL,
            n_indicators BIGINT NOT NULL
        )",
    "CREATE INDEX IF NOT EXISTS notify_tasks_by_plan ON notify_tasks (plan_id, lead_unit)",
    "CREATE TABLE IF NOT EXISTS notify_task_reports (
            task_id TEXT NOT NULL,
            report_id TEXT NOT NULL,
            as_of TEXT NOT NULL,
            PRIMARY KEY (task_id, report_id)
        )",
    "CREATE TABLE IF NOT EXISTS notify_report_requests (
            request_id TEXT PRIMARY KEY,
            plan_id TEXT NOT NULL,
            cut_off TEXT NOT NULL,
            due_on TEXT NOT NULL,
            withdrawn BIGINT NOT NULL
        )",
    "CREATE TABLE IF NOT EXISTS notify_occurrences (
            occurrence_key TEXT PRIMARY KEY,
            rule TEXT NOT NULL,
            kind TEXT NOT NULL,
            series TEXT NOT NULL,
            step BIGINT NOT NULL,
            task_id TEXT NULL,
            plan_id TEXT NOT NULL,
            unit TEXT NOT NULL,
            deadline TEXT NULL,
            cut_off TEXT NULL,
            period_start TEXT NULL,
            period TEXT NULL,
            due_at BIGINT NOT NULL,
            critical BIGINT NOT NULL,
            catch_up TEXT NOT NULL,
            n_deliveries BIGINT NOT NULL,
            created_at BIGINT NOT NULL
        )",
    "CREATE INDEX IF NOT EXISTS notify_occurrences_by_task ON notify_occurrences (task_id)",
    "CREATE TABLE IF NOT EXISTS notify_deliveries (
            delivery_id TEXT PRIMARY KEY,
            occurrence_key TEXT NOT NULL,
            series TEXT NOT NULL,
            recipient_id TEXT NOT NULL,
            recipient_name TEXT NOT NULL,
            language TEXT NOT NULL,
            audience TEXT NOT NULL,
            channel TEXT NOT NULL,
            address TEXT NOT NULL,
            due_at BIGINT NOT NULL,
            not_before BIGINT NOT NULL,
            status TEXT NOT NULL,
            attempts BIGINT NOT NULL,
            n_claims BIGINT NOT NULL DEFAULT 0,
            lease_owner TEXT NULL,
            lease_until BIGINT NULL,
            outcome TEXT NULL,
            finished_at BIGINT NULL
        )",
    "CREATE INDEX IF NOT EXISTS notify_deliveries_due ON notify_deliveries (status, not_before)",
    "CREATE INDEX IF NOT EXISTS notify_deliveries_series ON notify_deliveries (series, recipient_id, channel)",
    "CREATE INDEX IF NOT EXISTS notify_deliveries_by_occurrence ON notify_deliveries (occurrence_key)",
    "CREATE TABLE IF NOT EXISTS notify_feed (
            delivery_id TEXT PRIMARY KEY,
            audience TEXT NOT NULL,
            owner TEXT NOT NULL,
            occurrence_key TEXT NOT NULL,
            task_id TEXT NULL,
            plan_id TEXT NOT NULL,
            subject TEXT NOT NULL,
            body TEXT NOT NULL,
            due_at BIGINT NOT NULL,
            created_at BIGINT NOT NULL,
            late BIGINT NOT NULL
        )",
    "CREATE INDEX IF NOT EXISTS notify_feed_by_owner ON notify_feed (owner, created_at)",
    "CREATE TABLE IF NOT EXISTS notify_feed_reads (
            delivery_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            read_at BIGINT NOT NULL,
            PRIMARY KEY (delivery_id, user_id)
        )",
    "CREATE TABLE IF NOT EXISTS notify_endpoints (
            endpoint TEXT PRIMARY KEY,
            consecutive_failures BIGINT NOT NULL,
            disabled BIGINT NOT NULL,
            disabled_reason TEXT NULL
        )",
    "CREATE TABLE IF NOT EXISTS notify_dead_letters (
            delivery_id TEXT PRIMARY KEY,
            occurrence_key TEXT NOT NULL,
            channel TEXT NOT NULL,
            address TEXT NOT NULL,
            attempts BIGINT NOT NULL,
            last_error TEXT NOT NULL,
            dead_lettered_at TEXT NOT NULL
        )",
];

async fn delivers_on_a_database_of_the_previous_version(backend: Backend) {
    let receivers = Receivers::start().await;
    let config = receivers.config("[rules.reports]\nenabled = false");
    let mut world = World::start(backend, config.clone(), at(date("2024-06-01"), 7, 0), 0).await;
    let read_db = world.read_db().await;
    for statement in SCHEMA_OF_E74ECDF {
        sqlx::query(statement).execute(read_db.pool()).await.expect("the previous version's DDL runs");
    }
    let replica = world.replica(config.clone(), "replica-0").await;
    world.replicas.push(replica);
    let store = NotifyStore::open(read_db.clone()).await.expect("opening a migrated database again changes nothing");
    assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION);

    let (_, tasks) = world.plan_with_tasks(&["2024-06-28"]).await;
    world.step_to(at(date("2024-06-03"), 9, 0)).await;
    // One working day before 28/6: 27/6 at 08:00; the earlier ones are superseded.
    let report = world.step_to(at(date("2024-06-27"), 8, 5)).await;
    assert!(report.n_sent >= 1, "{report:?}");
    let webhooks = receivers.webhook_keys();
    assert!(webhooks.keys().any(|key| key.ends_with(":before-1")), "{webhooks:?}");
    let n_sent = reminder_events(world.events.as_ref(), tasks[0])
        .await
        .into_iter()
        .filter(|event| matches!(event, ReminderEvent::ReminderSent(_)))
        .count();
    assert_eq!(n_sent as u64, report.n_sent as u64, "one ReminderSent per delivery sent");
}

#[tokio::test]
async fn the_service_migrates_a_sqlite_database_of_the_previous_version_and_delivers() {
    delivers_on_a_database_of_the_previous_version(Backend::Sqlite).await;
}

#[tokio::test]
async fn the_service_migrates_a_postgres_database_of_the_previous_version_and_delivers() {
    delivers_on_a_database_of_the_previous_version(Backend::Postgres).await;
}
